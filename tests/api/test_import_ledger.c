/*
 * test_import_ledger.c — the ledger an import writes in bulk (issue 16,
 * migrations/0034_ledger_bulk.sql): a file of a few thousand tubes, as a
 * cohort's spreadsheet has them (a whole-blood tube and nine aliquots per
 * participant, 81 to a box), committed; then every event verifies with
 * biobankd verify-ledger, every one is queued for the transparency log, the
 * fast digest makes the bytes of version 2 to the byte, and an event that
 * brings its own hash is refused unless it chains.
 *
 * argv[1]: biobankd.
 */
#include "testlib.h"

#include "biobank.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { PARTICIPANTS = 300, ALIQUOTS = 9 };

static char mgr[128];

static void add(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
add(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < *cap - *len)
			break;
		*cap = *cap * 2 + (size_t)n + 1;
		*buf = bb_realloc(*buf, *cap);
	}
	*len += (size_t)n;
}

/* The file: per participant a consumed whole-blood tube and its aliquots in boxes. */
static char *
cohort_file(size_t *len)
{
	size_t cap = 4096;
	char *f = bb_malloc(cap);
	int stored = 0;

	*len = 0;
	add(&f, len, &cap, "%s",
	    "key,study,participant_code,sex,birth_year,diagnosis,consent_scope,consent_status,"
	    "consent_date,consent_version,specimen_type,timepoint,collected_at,quantity,unit,"
	    "tube_barcode,parent,location_path,box_barcode,box_grid,position,status,"
	    "freeze_thaw_count,legacy_id,notes\r\n");
	for (int p = 1; p <= PARTICIPANTS; p++) {
		add(&f, len, &cap,
		    "W%d,MASC,P-%05d,%c,%d,DM,biobank,given,2015-03-01,v1,whole_blood,baseline,"
		    "2016-03-01T08:00:00+01:00,10,mL,,,,,,,consumed,0,LEG-W%d,\r\n",
		    p, p, p % 2 ? 'F' : 'M', 1940 + p % 60, p);
		for (int a = 0; a < ALIQUOTS; a++, stored++) {
			int slot = stored % 81;
			add(&f, len, &cap,
			    "S%d-%d,MASC,P-%05d,,,,,,,,serum,baseline,2016-03-01T09:%02d:00+01:00,"
			    "0.5,mL,TL%07d,W%d,Ledger site / Room 1 / Freezer "
			    "1,LEDGER-BOX-%04d,9x9,"
			    "%c%d,in_storage,%d,LEG-%d-%d,\"hémolysé, \"\"léger\"\"\"\r\n",
			    p, a, p, a, stored, p, stored / 81, 'A' + slot / 9, slot % 9 + 1, a % 3,
			    p, a);
		}
	}
	return f;
}

static int
verify_ledger(struct tenv *t, char **out)
{
	char dburl[600];
	const char *argv[] = { t->biobankd, "verify-ledger", NULL };

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->conninfo);
	const char *env[] = { dburl, NULL };
	return run_cmd(argv, env, NULL, out);
}

/* The SQLSTATE a statement fails with as superuser ("" when it succeeds; caller frees). */
static char *
sqlstate_of(struct tenv *t, const char *sql)
{
	PGconn *c = PQconnectdb(t->super_conninfo);
	PGresult *r = PQexec(c, sql);
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	char *out = strdup(st != NULL ? st : "");

	PQclear(r);
	PQfinish(c);
	return out;
}

static void
test_bulk_import(struct tenv *t)
{
	size_t len;
	char *file = cohort_file(&len);
	struct resp r;
	long rows = PARTICIPANTS * (1 + ALIQUOTS), stored = PARTICIPANTS * ALIQUOTS;

	http(t->d.url, "POST", "/api/v1/imports", mgr, "text/csv", file, len, &r);
	is_int(r.status, 200, "the cohort's file dry-runs");
	is_int(jnum(&r, "problem_count", -1), 0, "... without a problem");
	if (jnum(&r, "problem_count", -1) != 0)
		tap_diag("  %.2000s", r.body ? r.body : "");
	resp_free(&r);
	http(t->d.url, "POST", "/api/v1/imports?commit=true", mgr, "text/csv", file, len, &r);
	is_int(r.status, 201, "the cohort's file is committed");
	is_int(jnum(&r, "import.summary.specimens", -1), rows, "... %ld specimens made", rows);
	resp_free(&r);
	free(file);

	is_int(sql_int(t, "SELECT count(*) FROM events"), rows + stored,
	       "one imported event per specimen and one stored event per tube at a position");
	is_int(sql_int(t, "SELECT count(*) FROM events e JOIN specimens s ON s.id = e.specimen_id"
	                  " WHERE e.format = 2 AND e.actor = 'mgr' AND e.at >= s.created_at"
	                  " AND e.at <= clock_timestamp()"),
	       rows + stored, "each is of format 2, by the importing user, timed by the database");
	is_int(sql_int(t, "SELECT count(*) FROM events e WHERE e.seq = 2 AND e.type = 'stored'"
	                  " AND e.prev_hash = (SELECT p.hash FROM events p WHERE p.specimen_id ="
	                  " e.specimen_id AND p.seq = 1 AND p.type = 'imported')"),
	       stored, "each stored event links to its specimen's imported one");
	is_int(sql_int(t, "SELECT count(*) FROM specimens s WHERE s.ledger_head IS DISTINCT FROM"
	                  " (SELECT e.hash FROM events e WHERE e.specimen_id = s.id"
	                  " AND e.seq = s.ledger_seq)"
	                  " OR s.ledger_seq <> (SELECT max(e.seq) FROM events e WHERE"
	                  " e.specimen_id = s.id)"),
	       0, "each specimen's head names its last event");
	is_int(sql_int(t,
	               "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM log_pending"
	               " p WHERE p.specimen_id = e.specimen_id AND p.seq = e.seq) AND NOT EXISTS"
	               " (SELECT 1 FROM log_entries l WHERE l.specimen_id = e.specimen_id AND"
	               " l.seq = e.seq)"),
	       0, "every event is queued for the transparency log (or in it already)");
	is_int(sql_int(t, "SELECT count(*) FROM events WHERE format = 2 AND hash IS DISTINCT FROM"
	                  " sha256(bb_event_bytes_v2(format, specimen_id, seq, type, at, actor,"
	                  " from_box, from_pos, to_box, to_pos, reason, details, prev_hash))"),
	       0, "every hash is SHA-256 of the canonical bytes of version 2");
	ok(log_sequenced(t, 60000), "the sequencer logs every imported event");
	char *out = NULL;
	if (!ok(verify_ledger(t, &out) == 0, "verify-ledger finds every chain and the log good"))
		tap_diag("  %s", out ? out : "");
	free(out);
}

/* The fast digest against the nested functions of 0020, on the fields that are hard to encode. */
static void
test_digest_bytes(struct tenv *t)
{
	is_int(
	    sql_int(t,
	            "SELECT count(*) FROM (VALUES"
	            " ('0123456X', 1, 'imported', '2026-12-07 05:00:00.123456+00'::timestamptz,"
	            "  'mgr', NULL, NULL, NULL, NULL, NULL, '{\"row\": 2}'::jsonb,"
	            "  decode(repeat('00', 32), 'hex')),"
	            " ('0123456X', 2, 'moved', '1969-12-31 23:59:59.999999+00', 'für Jürgen',"
	            "  '', 'A1', 'BOX-É', 'I9', '', '{}', decode(repeat('ab', 32), 'hex')),"
	            " ('0123456X', 3, 'corrected', '1900-01-01 00:00:00+00', '第12周', 'x;y:z',"
	            "  NULL, NULL, NULL, 'raison: « erreur »', '{\"a\": [1, \"ü\"], \"b\": null}',"
	            "  NULL)"
	            ") v (s, q, ty, at, ac, fb, fp, tb, tp, re, de, ph)"
	            " WHERE bb_event_digest_v2(s, q, ty, at, ac, fb, fp, tb, tp, re, de, ph)"
	            " IS DISTINCT FROM sha256(bb_event_bytes_v2(2::smallint, s, q, ty, at, ac, fb,"
	            " fp, tb, tp, re, de, ph))"),
	    0, "the digest is SHA-256 of the bytes of version 2 (NULL, '', accents, CJK, 1969)");
}

/*
 * An event inserted with its own hash (only the schema owner can insert at
 * all) skips the row trigger; the statement trigger must refuse it unless
 * it chains as the trigger would have chained it.
 */
static void
test_forged_prechained(struct tenv *t)
{
	bool ok_sql;
	char *sid = sql_value(
	    t, "SELECT id FROM specimens WHERE ledger_seq = 2 ORDER BY serial LIMIT 1", &ok_sql);
	char sql[2048], *st;
	long events = sql_int(t, "SELECT count(*) FROM events");

	if (!ok(sid != NULL, "a specimen with two events to forge a third on"))
		return;
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO events (specimen_id, seq, type, actor, prev_hash, hash)"
	    " SELECT id, 3, 'label_printed', 'mgr', ledger_head, decode(repeat('00', 32), 'hex')"
	    " FROM specimens WHERE id = '%s'",
	    sid);
	st = sqlstate_of(t, sql);
	is_str(st, "BB409", "an event with a hash that is not its digest is refused");
	free(st);
	/* The right digest, but linked to nothing. */
	snprintf(sql, sizeof(sql),
	         "INSERT INTO events (specimen_id, seq, type, at, actor, prev_hash, hash)"
	         " SELECT id, 3, 'label_printed', now(), 'mgr', decode(repeat('11', 32), 'hex'),"
	         " bb_event_digest_v2(id, 3, 'label_printed', now(), 'mgr', NULL, NULL, NULL, NULL,"
	         " NULL, '{}', decode(repeat('11', 32), 'hex')) FROM specimens WHERE id = '%s'",
	         sid);
	st = sqlstate_of(t, sql);
	is_str(st, "BB409",
	       "an event whose digest is right but which links to no event is refused");
	free(st);
	/* Right digest and link, but the specimen's head left behind. */
	snprintf(sql, sizeof(sql),
	         "INSERT INTO events (specimen_id, seq, type, at, actor, prev_hash, hash)"
	         " SELECT id, 3, 'label_printed', now(), 'mgr', ledger_head,"
	         " bb_event_digest_v2(id, 3, 'label_printed', now(), 'mgr', NULL, NULL, NULL, NULL,"
	         " NULL, '{}', ledger_head) FROM specimens WHERE id = '%s'",
	         sid);
	st = sqlstate_of(t, sql);
	is_str(st, "BB409", "an event past the specimen's head (ledger_seq) is refused");
	free(st);
	is_int(sql_int(t, "SELECT count(*) FROM events"), events, "none of them was written");

	/* The row trigger still chains what comes without a hash, next to the imported events. */
	snprintf(sql, sizeof(sql),
	         "INSERT INTO events (specimen_id, type, actor, reason) VALUES ('%s',"
	         " 'label_printed', 'mgr', 'reprinted')",
	         sid);
	st = sqlstate_of(t, sql);
	is_str(st, "", "an event without a hash is chained by the row trigger");
	free(st);
	is_int(sql_intf(t, "SELECT ledger_seq FROM specimens WHERE id = '%s'", sid), 3,
	       "... after the imported and stored events");
	free(sid);
	ok(log_sequenced(t, 60000), "the sequencer logs it too");
	char *out = NULL;
	if (!ok(verify_ledger(t, &out) == 0, "verify-ledger is still clean"))
		tap_diag("  %s", out ? out : "");
	free(out);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "import_ledger", argc, argv);
	sql_exec(&t, "INSERT INTO studies (code, name) VALUES ('MASC', 'Myositis')");
	if (make_user(&t, "mgr", "manager", NULL, mgr) != 0)
		tap_bail("cannot make the user");
	test_digest_bytes(&t);
	test_bulk_import(&t);
	test_forged_prechained(&t);
	tenv_teardown(&t);
	return tap_done();
}
