/*
 * test_upgrade.c — a database built from the landed migrations 0001-0011
 * (as every deployed biobank's is) upgrades in place to the baseline and the
 * repeatable function files, and the API then answers exactly as the old
 * functions did, byte for byte, on a fixed data set.
 *
 * The fixture (tests/api/fixtures/legacy-0011.sql.gz, made by
 * make-legacy-fixture.sh) is a pg_dump of such a database after a day of
 * bench work through the API: two studies, consent given and withdrawn,
 * aliquots and derivatives, stores, moves, thaws, lost and found, consumed,
 * destroyed, a bulk placement, a closed audit, shipments dispatched and
 * received, CJK and accented text.
 *
 * Before the upgrade every answer is read from the old functions in SQL;
 * after it, the same resources are read through the daemon's HTTP API.
 */
#include "testlib.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* One kind of resource: the SQL that answered it before, the path that answers it now. */
struct probe {
	const char *list_sql; /* the keys, one or two columns per row; NULL: one answer */
	const char *sql;      /* $1 (and $2) from the keys */
	const char *path;     /* printf format taking the same keys */
};

static const struct probe probes[] = {
	{ "SELECT id FROM specimens ORDER BY serial", "SELECT bb_specimen_get($1, NULL)::text",
	  "/api/v1/specimens/%s" },
	{ "SELECT id FROM specimens ORDER BY serial", "SELECT bb_specimen_events($1, NULL)::text",
	  "/api/v1/specimens/%s/events" },
	/* Less what labels gained since (their date in the site's zone), which the
	 * old functions had no way to say. */
	{ "SELECT id FROM specimens ORDER BY serial",
	  "SELECT (bb_label_get($1, NULL)::jsonb - 'collected_on' - 'timezone' - "
	  "'utc_offset')::text",
	  NULL },
	{ "SELECT barcode FROM boxes ORDER BY id", "SELECT bb_box_get($1, NULL)::text",
	  "/api/v1/boxes/%s" },
	{ "SELECT barcode FROM boxes ORDER BY id", "SELECT bb_box_free($1, 5)::text",
	  "/api/v1/boxes/%s/free?count=5" },
	{ "SELECT id FROM locations ORDER BY id", "SELECT bb_location_get($1::bigint)::text",
	  "/api/v1/locations/%s" },
	{ "SELECT s.code, p.code FROM participants p JOIN studies s ON s.id = p.study_id"
	  " ORDER BY p.id",
	  "SELECT bb_participant_get($1, $2, NULL)::text", "/api/v1/participants/%s/%s" },
	{ "SELECT code FROM studies ORDER BY id", "SELECT bb_study_get($1, NULL)::text",
	  "/api/v1/studies/%s" },
	{ "SELECT id FROM shipments ORDER BY id", "SELECT bb_shipment_get($1::bigint, NULL)::text",
	  "/api/v1/shipments/%s" },
	{ "SELECT id FROM audits ORDER BY id", "SELECT bb_audit_report($1::bigint, NULL)::text",
	  "/api/v1/audits/%s" },
	{ NULL, "SELECT bb_specimen_list(NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 1000)::text",
	  "/api/v1/specimens?limit=1000" },
	/* Whole lists: the API writes next_cursor in its own format (input.c) over the SQL's. */
	{ NULL,
	  "SELECT bb_specimen_list('SSC5', NULL, NULL, NULL, NULL, NULL, NULL, 0, 1000)::text",
	  "/api/v1/specimens?study=SSC5&limit=1000" },
	{ NULL, "SELECT bb_participants_list(NULL, 50, NULL, NULL)::text", "/api/v1/participants" },
	{ NULL, "SELECT bb_studies_list(NULL)::text", "/api/v1/studies" },
	{ NULL, "SELECT bb_specimen_types_list()::text", "/api/v1/specimen-types" },
	{ NULL, "SELECT bb_diagnoses_list()::text", "/api/v1/diagnoses" },
	{ NULL, "SELECT bb_report_inventory(NULL, NULL)::text", "/api/v1/reports/inventory" },
	{ NULL, "SELECT bb_report_occupancy(NULL)::text", "/api/v1/reports/occupancy" },
	{ NULL, "SELECT bb_report_consent_withdrawn(NULL, 0, 50)::text",
	  "/api/v1/reports/consent-withdrawn" },
	{ NULL, "SELECT bb_shipments_list(NULL, 50, NULL, NULL)::text", "/api/v1/shipments" },
	{ NULL, "SELECT bb_location_list(NULL, 50)::text", "/api/v1/locations" },
	{ NULL, "SELECT bb_box_list(NULL, NULL, 50)::text", "/api/v1/boxes" },
	/* Not the whole audit log: logging in to ask adds a token to it. */
	{ NULL, "SELECT bb_audit_log_list('location', NULL, NULL, NULL, 1000, NULL, NULL)::text",
	  "/api/v1/audit-log?entity=location&limit=1000" },
	{ NULL, "SELECT bb_audit_log_list(NULL, NULL, 'admin', NULL, 1000, NULL, NULL)::text",
	  "/api/v1/audit-log?actor=admin&limit=1000" },
};
enum { PROBES = sizeof(probes) / sizeof(probes[0]) };

/* One answer: what the old function said, and where the API says it now. */
struct answer {
	char *path; /* NULL: compared in SQL only */
	const char *sql;
	const char *k1, *k2;
	char *before;
};

static PGresult *
query(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
		tap_diag("%s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	return r;
}

static char *
answer_text(PGconn *c, const struct answer *a)
{
	const char *params[] = { a->k1, a->k2 };
	PGresult *r = query(c, a->sql, a->k2 ? 2 : (a->k1 ? 1 : 0), params);
	char *text = NULL;

	if (r != NULL && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		text = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return text;
}

/* Every probe, for every key the fixture holds. */
static size_t
collect(PGconn *c, struct answer **out)
{
	size_t n = 0, cap = 64;
	struct answer *list = calloc(cap, sizeof(*list));

	for (size_t p = 0; p < PROBES; p++) {
		PGresult *keys = probes[p].list_sql ? query(c, probes[p].list_sql, 0, NULL) : NULL;
		int rows = keys ? PQntuples(keys) : 1;

		for (int i = 0; i < rows; i++) {
			if (n == cap)
				list = realloc(list, (cap *= 2) * sizeof(*list));
			struct answer *a = &list[n++];
			memset(a, 0, sizeof(*a));
			a->sql = probes[p].sql;
			if (keys != NULL) {
				a->k1 = strdup(PQgetvalue(keys, i, 0));
				a->k2 = PQnfields(keys) > 1 ? strdup(PQgetvalue(keys, i, 1)) : NULL;
			}
			if (probes[p].path != NULL) {
				char path[300];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
				snprintf(path, sizeof(path), probes[p].path, a->k1, a->k2);
#pragma GCC diagnostic pop
				a->path = strdup(path);
			}
		}
		PQclear(keys);
	}
	*out = list;
	return n;
}

__attribute__((noreturn, format(printf, 1, 2))) static void
bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static int
restore_fixture(const char *fixture, const char *conninfo)
{
	char script[2048];

	snprintf(
	    script, sizeof(script),
	    "set -o pipefail; gzip -dc '%s' | psql -X -q -v ON_ERROR_STOP=1 -d '%s' >/dev/null",
	    fixture, conninfo);
	const char *argv[] = { "/bin/bash", "-c", script, NULL };
	char *out = NULL;
	int rc = run_cmd(argv, NULL, NULL, &out);
	if (rc != 0)
		tap_diag("restoring %s: %s", fixture, out ? out : "");
	free(out);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char admin[600], legacy[600], sql[200], *out = NULL;
	struct answer *answers = NULL;
	size_t n;

	tenv_setup(&t, "upgrade", argc, argv);
	if (argc < 3)
		bail("usage: test_api_upgrade BIOBANKD FIXTURE");

	/* The fixture restored into a database of its own. */
	const char *pg = getenv("BIOBANK_TEST_PG");
	snprintf(admin, sizeof(admin), "%s dbname=postgres", pg);
	snprintf(legacy, sizeof(legacy), "%s dbname=%s_legacy", pg, t.dbname);
	PGconn *c = PQconnectdb(admin);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s_legacy", t.dbname);
	PQclear(PQexec(c, sql));
	PQfinish(c);
	if (restore_fixture(argv[2], legacy) != 0)
		bail("cannot restore the legacy fixture %s", argv[2]);
	c = PQconnectdb(legacy);
	ok(PQstatus(c) == CONNECTION_OK, "a database built from 0001-0011, with a day's data");
	PGresult *r = query(c,
	                    "SELECT count(*) FILTER (WHERE version < '0012'), count(*)"
	                    " FROM schema_migrations",
	                    0, NULL);
	ok(r != NULL && strcmp(PQgetvalue(r, 0, 0), "11") == 0 &&
	       strcmp(PQgetvalue(r, 0, 1), "11") == 0,
	   "  it records the 11 landed migrations and nothing else");
	PQclear(r);

	n = collect(c, &answers);
	size_t missing = 0;
	for (size_t i = 0; i < n; i++)
		missing += (answers[i].before = answer_text(c, &answers[i])) == NULL;
	ok(n > 150 && missing == 0, "the old functions answer %zu questions about it", n);

	/* The upgrade: recognised, recorded, the functions replaced in place. */
	char dburl[700];
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", legacy);
	const char *env[] = { dburl, NULL };
	const char *mig[] = { t.biobankd, "migrate", NULL };
	is_int(run_cmd(mig, env, NULL, &out), 0, "biobankd migrate upgrades it");
	ok(out != NULL && strstr(out, "recognised a database built from 0001-0011") != NULL,
	   "  recognising the landed migrations by their checksums");
	ok(out != NULL && strstr(out, "applied 0012_baseline.sql") == NULL,
	   "  without running the baseline over the existing tables");
	ok(out != NULL && strstr(out, "applied functions/specimens.sql") != NULL,
	   "  applying the function files");
	free(out);
	r = query(c, "SELECT count(*) FROM schema_functions", 0, NULL);
	ok(r != NULL && atoi(PQgetvalue(r, 0, 0)) >= 10, "  and recording their checksums");
	PQclear(r);
	is_int(run_cmd(mig, env, NULL, &out), 0, "migrating it again succeeds");
	ok(out != NULL && strstr(out, " 0 applied now") != NULL, "  and applies nothing");
	free(out);

	/* The same questions, through the daemon now. */
	struct daemon d = { 0 };
	char dbflag[700];
	snprintf(dbflag, sizeof(dbflag), "--database-url=%s", legacy);
	const char *extra[] = { dbflag, NULL };
	if (daemon_start(&t, &d, extra) != 0)
		bail("the daemon does not start on the upgraded database");
	struct resp lr;
	char token[128] = "";
	const char *creds = "{\"username\":\"admin\",\"password\":\"admin-password\"}";
	if (http(d.url, "POST", "/api/v1/sessions", NULL, NULL, creds, strlen(creds), &lr) == 0 &&
	    lr.status == 201)
		snprintf(token, sizeof(token), "%s", jstr(&lr, "token"));
	resp_free(&lr);
	ok(token[0] != '\0', "the fixture's admin logs in after the upgrade");

	size_t same_api = 0, same_sql = 0, asked_api = 0;
	for (size_t i = 0; i < n; i++) {
		struct answer *a = &answers[i];
		char *after = answer_text(c, a);

		if (after != NULL && a->before != NULL && strcmp(after, a->before) == 0)
			same_sql++;
		else
			tap_diag("SQL %s (%s): before %.300s / after %.300s", a->sql,
			         a->k1 ? a->k1 : "", a->before ? a->before : "(none)",
			         after ? after : "(none)");
		free(after);
		if (a->path == NULL)
			continue;
		struct resp hr;
		asked_api++;
		if (http(d.url, "GET", a->path, token, NULL, NULL, 0, &hr) == 0 &&
		    hr.status == 200 && a->before != NULL && hr.len == strlen(a->before) &&
		    memcmp(hr.body, a->before, hr.len) == 0)
			same_api++;
		else
			tap_diag("GET %s: %ld, %.300s / expected %.300s", a->path, hr.status,
			         hr.body ? hr.body : "", a->before ? a->before : "(none)");
		resp_free(&hr);
	}
	is_int((long)same_sql, (long)n, "every function answers as before the upgrade (%zu)", n);
	is_int((long)same_api, (long)asked_api,
	       "every API answer is the old function's, byte for byte (%zu GETs)", asked_api);

	/* The chains the old triggers wrote still verify under the new layout. */
	const char *verify[] = { t.biobankd, "verify-ledger", NULL };
	is_int(run_cmd(verify, env, NULL, &out), 0,
	       "verify-ledger passes on the upgraded database");
	free(out);

	/* And it keeps working: a write through the new functions, checked in the ledger. */
	struct resp w;
	const char *p900 = "{\"study\":\"MASC\",\"code\":\"P900\",\"sex\":\"female\","
	                   "\"birth_year\":1980,\"diagnosis\":\"DM\"}";
	http(d.url, "POST", "/api/v1/participants", token, NULL, p900, strlen(p900), &w);
	is_int(w.status, 201, "a participant registered after the upgrade");
	resp_free(&w);
	/* Old events keep the canonical bytes of version 1, new ones get version 2 (0020). */
	const char *tube = "{\"participant\":{\"study\":\"MASC\",\"code\":\"P900\"},"
	                   "\"type\":\"serum\",\"timepoint\":\"baseline\","
	                   "\"collected_at\":\"2026-03-01T09:30:00Z\"}";
	http(d.url, "POST", "/api/v1/specimens", token, NULL, tube, strlen(tube), &w);
	if (!ok(w.status == 201, "a tube registered after the upgrade"))
		tap_diag("%s", w.body);
	resp_free(&w);
	r = query(c,
	          "SELECT count(*) FILTER (WHERE format = 1), count(*) FILTER (WHERE format = 2)"
	          "  FROM events",
	          0, NULL);
	ok(r != NULL && atoi(PQgetvalue(r, 0, 0)) > 100 && strcmp(PQgetvalue(r, 0, 1), "1") == 0,
	   "  the fixture's events are of format 1 (%s), the new one of format 2",
	   r ? PQgetvalue(r, 0, 0) : "?");
	PQclear(r);
	is_int(run_cmd(verify, env, NULL, &out), 0, "verify-ledger checks both formats");
	if (out != NULL && strstr(out, "ledger OK") == NULL)
		tap_diag("%s", out);
	free(out);
	/*
	 * The transparency log (0021) takes in the events stored before it
	 * existed: the sequencer backfills them in (specimen, seq) order, then
	 * the ones queued since.
	 */
	long long deadline = mono_ms() + 30000;
	bool logged = false;
	while (!logged && mono_ms() < deadline) {
		r = query(c,
		          "SELECT (SELECT backfilled AND size = (SELECT count(*) FROM events)"
		          "        FROM log_state)::int",
		          0, NULL);
		logged = r != NULL && strcmp(PQgetvalue(r, 0, 0), "1") == 0;
		PQclear(r);
		if (!logged)
			msleep(50);
	}
	ok(logged, "the sequencer backfills every event stored before the log into it");
	r = query(c,
	          "SELECT count(*) FROM (SELECT l.idx, e.format, row_number() OVER"
	          "   (ORDER BY l.specimen_id, l.seq) - 1 AS rank"
	          "  FROM log_entries l JOIN events e USING (specimen_id, seq)"
	          " WHERE e.format = 1) x WHERE idx <> rank",
	          0, NULL);
	ok(r != NULL && strcmp(PQgetvalue(r, 0, 0), "0") == 0,
	   "  the old events first, in (specimen, seq) order");
	PQclear(r);
	r = query(c,
	          "SELECT count(*) FROM log_entries l JOIN events e USING (specimen_id, seq)"
	          "  JOIN log_nodes n ON n.level = 0 AND n.idx = l.idx"
	          " WHERE n.hash = sha256('\\x00'::bytea || bb_event_bytes_v2(e.format,"
	          "   e.specimen_id, e.seq, e.type, e.at, e.actor, e.from_box, e.from_pos,"
	          "   e.to_box, e.to_pos, e.reason, e.details, e.prev_hash))",
	          0, NULL);
	PGresult *all = query(c, "SELECT count(*) FROM events", 0, NULL);
	ok(r != NULL && all != NULL && strcmp(PQgetvalue(r, 0, 0), PQgetvalue(all, 0, 0)) == 0,
	   "  each under the leaf PostgreSQL computes from its bytes (%s of %s)",
	   r ? PQgetvalue(r, 0, 0) : "?", all ? PQgetvalue(all, 0, 0) : "?");
	PQclear(r);
	PQclear(all);
	is_int(daemon_stop(&d), 0, "the daemon on the upgraded database stops cleanly");

	for (size_t i = 0; i < n; i++) {
		free(answers[i].path);
		free(answers[i].before);
		free((char *)answers[i].k1);
		free((char *)answers[i].k2);
	}
	free(answers);
	PQfinish(c);
	c = PQconnectdb(admin);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s_legacy WITH (FORCE)", t.dbname);
	PQclear(PQexec(c, sql));
	PQfinish(c);
	tenv_teardown(&t);
	return tap_done();
}
