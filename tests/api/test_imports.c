/*
 * test_imports.c — inventory imports (issue 16, docs/import.md) from what a
 * biobank does with them: each legacy spreadsheet of the shared fixtures
 * dry-run, committed, verified and sent again; the file of ten mistakes;
 * the French Excel file sent without its encoding; a box with one row
 * missing, then the whole file; two overlapping files at once; and a
 * hostile client (a million columns, 100 MB, a NUL byte, formula cells).
 *
 * argv[1]: biobankd; argv[2]: the shared fixtures' imports/ folder.
 */
#include "testlib.h"

#include "biobank.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;
static char mgr[128], tech[128], limited[128];

static char *
fixture(const char *name, size_t *len)
{
	char path[1024], *data = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (bb_read_file(path, &data, len) != BB_OK)
		tap_bail("cannot read a fixture");
	return data;
}

/* POST /api/v1/imports?QUERY with body as text/csv, as token. */
static int
post_file(struct tenv *t, const char *token, const char *query, const char *body, size_t len,
          struct resp *r)
{
	char path[512];

	snprintf(path, sizeof(path), "/api/v1/imports%s%s", query[0] ? "?" : "", query);
	return http(t->d.url, "POST", path, token, "text/csv", body, len, r);
}

/* Everything an import writes, as one number that must not move on a refusal. */
static long
written(struct tenv *t)
{
	return sql_int(t, "SELECT (SELECT count(*) FROM specimens) + (SELECT count(*) FROM events)"
	                  " + (SELECT count(*) FROM participants) + (SELECT count(*) FROM boxes)"
	                  " + (SELECT count(*) FROM locations) + (SELECT count(*) FROM imports)"
	                  " + (SELECT count(*) FROM consents)");
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

static void
ledger_clean(struct tenv *t, const char *what)
{
	char *out = NULL;

	if (!ok(verify_ledger(t, &out) == 0, "%s: verify-ledger is clean", what))
		tap_diag("  %s", out ? out : "");
	free(out);
}

static size_t
jlen(const struct resp *r, const char *field)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->json, field);

	return cJSON_IsArray(j) ? (size_t)cJSON_GetArraySize(j) : 0;
}

/* A fixture dry-run (nothing written), committed (ledger clean), then sent again (no change). */
static void
round_trip(struct tenv *t, const char *name, const char *query, long rows, long stored)
{
	size_t len;
	char *data = fixture(name, &len);
	struct resp r;
	char q[256];
	long before = written(t);

	post_file(t, mgr, query, data, len, &r);
	is_int(r.status, 200, "%s: the dry run answers 200", name);
	is_int(jnum(&r, "problem_count", -1), 0, "%s: no problem", name);
	is_int(jnum(&r, "summary.specimens", -1), rows, "%s: %ld specimens would be made", name,
	       rows);
	is_int(jnum(&r, "summary.stored", -1), stored, "%s: %ld of them at a position", name,
	       stored);
	ok(jstr(&r, "encoding") != NULL, "%s: the answer names the encoding read (%s)", name,
	   jstr(&r, "encoding") ? jstr(&r, "encoding") : "none");
	is_int(written(t), before, "%s: a dry run writes nothing", name);
	resp_free(&r);

	snprintf(q, sizeof(q), "%s%scommit=true", query, query[0] ? "&" : "");
	post_file(t, mgr, q, data, len, &r);
	is_int(r.status, 201, "%s: the commit answers 201", name);
	if (r.status != 201)
		tap_diag("  %s", r.body ? r.body : "");
	is_int(jnum(&r, "import.summary.specimens", -1), rows, "%s: %ld specimens made", name,
	       rows);
	long import_id = (long)jnum(&r, "import.id", 0);
	resp_free(&r);
	is_int(
	    sql_intf(t, "SELECT count(*) FROM import_specimens WHERE import_id = %ld", import_id),
	    rows, "%s: each row's specimen is recorded", name);
	/* Every specimen's first event is imported, with the file, the row and the legacy ID. */
	is_int(
	    sql_intf(t,
	             "SELECT count(*) FROM import_specimens i JOIN events e ON e.specimen_id ="
	             " i.specimen_id AND e.seq = 1 AND e.type = 'imported'"
	             " JOIN imports m ON m.id = i.import_id"
	             " WHERE i.import_id = %ld AND e.details ->> 'sha256' = encode(m.sha256, 'hex')"
	             " AND (e.details ->> 'row')::int = i.row_no"
	             " AND e.details ->> 'legacy_id' IS NOT DISTINCT FROM i.legacy_id",
	             import_id),
	    rows, "%s: each first event is imported with the SHA-256, row and legacy ID", name);
	is_int(sql_intf(t,
	                "SELECT count(*) FROM import_specimens i JOIN events e ON e.specimen_id ="
	                " i.specimen_id AND e.seq = 2 AND e.type = 'stored'"
	                " JOIN specimens s ON s.id = i.specimen_id JOIN boxes b ON b.id = s.box_id"
	                " WHERE i.import_id = %ld AND e.to_box = b.barcode"
	                " AND e.to_pos = bb_position_name(s.pos_row, s.pos_col)",
	                import_id),
	       stored, "%s: each tube at a position has its stored event there", name);
	ledger_clean(t, name);

	long after = written(t);
	post_file(t, mgr, q, data, len, &r);
	is_int(r.status, 200, "%s: the same file again answers 200", name);
	ok(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "already_imported")),
	   "%s: ... saying it is already imported", name);
	is_int(jnum(&r, "import.id", 0), import_id, "%s: ... naming the first import", name);
	is_int(written(t), after, "%s: ... and changes nothing", name);
	resp_free(&r);
	free(data);
}

static void
test_template(struct tenv *t)
{
	struct resp r;

	http(t->d.url, "GET", "/api/v1/imports/template", tech, NULL, NULL, 0, &r);
	is_int(r.status, 200, "the template is there for a technician too");
	ok(strncmp(r.content_type, "text/csv", 8) == 0, "the template is CSV");
	static const char header[] =
	    "key,study,participant_code,sex,birth_year,diagnosis,consent_scope,"
	    "consent_status,consent_date,consent_version,specimen_type,timepoint,"
	    "collected_at,quantity,unit,tube_barcode,parent,location_path,box_barcode,"
	    "box_grid,position,status,freeze_thaw_count,legacy_id,notes\r\n";
	ok(r.body != NULL && strncmp(r.body, header, sizeof(header) - 1) == 0,
	   "the template's header names every column in order");
	resp_free(&r);
	/* The template's own example rows import cleanly (dry run). */
	http(t->d.url, "GET", "/api/v1/imports/template", tech, NULL, NULL, 0, &r);
	struct resp d;
	post_file(t, mgr, "", r.body, r.len, &d);
	is_int(d.status, 200, "the template's example dry-runs");
	is_int(jnum(&d, "problem_count", -1), 0, "... without a problem");
	if (jnum(&d, "problem_count", -1) != 0)
		tap_diag("  %s", d.body);
	resp_free(&d);
	resp_free(&r);
}

/* errors.csv: one mistake per row after E1; E9 is fine (E10 repeats its barcode). */
static void
test_errors(struct tenv *t)
{
	static const struct {
		int row;
		const char *key, *column, *code;
	} want[] = {
		{ 3, "E2", "specimen_type", "unknown-specimen-type" },
		{ 4, "E3", "collected_at", "value-malformed" },
		{ 5, "E4", "position", "position-outside-box" },
		{ 6, "E5", "position", "listed-twice" },
		{ 7, "E6", "quantity", "value-out-of-range" },
		{ 8, "E7", "unit", "value-not-allowed" },
		{ 9, "E8", "parent", "unknown-parent" },
		{ 11, "E10", "tube_barcode", "listed-twice" },
		{ 12, "E11", "collected_at", "date-out-of-range" },
		{ 13, "E12", "status", "value-not-allowed" },
	};
	size_t len, n = sizeof(want) / sizeof(want[0]);
	char *data = fixture("errors.csv", &len);
	long before = written(t);
	struct resp r;

	for (int commit = 0; commit < 2; commit++) {
		post_file(t, mgr, commit ? "commit=true" : "", data, len, &r);
		if (commit) {
			ok(is_problem(&r, 422), "errors.csv: a commit is refused 422");
			is_str(jstr(&r, "code"), "import-invalid", "... code import-invalid");
		} else {
			is_int(r.status, 200, "errors.csv: the dry run answers its report");
		}
		is_int(jnum(&r, "problem_count", -1), (long)n,
		       "errors.csv: exactly %zu problems (%s)", n, commit ? "commit" : "dry run");
		is_int(jlen(&r, "problems"), n, "... all listed");
		for (size_t i = 0; i < n; i++) {
			char p[64];
			snprintf(p, sizeof(p), "problems.%zu.", i);
			char k[80];
			snprintf(k, sizeof(k), "%srow", p);
			bool row_ok = jnum(&r, k, 0) == want[i].row;
			snprintf(k, sizeof(k), "%skey", p);
			bool key_ok = jstr(&r, k) && strcmp(jstr(&r, k), want[i].key) == 0;
			snprintf(k, sizeof(k), "%scolumn", p);
			bool col_ok = jstr(&r, k) && strcmp(jstr(&r, k), want[i].column) == 0;
			snprintf(k, sizeof(k), "%scode", p);
			bool code_ok = jstr(&r, k) && strcmp(jstr(&r, k), want[i].code) == 0;
			snprintf(k, sizeof(k), "%smessage", p);
			ok(row_ok && key_ok && col_ok && code_ok && jstr(&r, k) && *jstr(&r, k),
			   "errors.csv: row %d (%s) is named at %s as %s", want[i].row, want[i].key,
			   want[i].column, want[i].code);
		}
		resp_free(&r);
	}
	is_int(written(t), before, "errors.csv: nothing is written");
	free(data);
}

static void
test_french_excel(struct tenv *t)
{
	size_t len;
	char *data = fixture("masc-excel-fr-cp1252.csv", &len);
	long before = written(t);
	struct resp r;

	post_file(t, mgr, "commit=true", data, len, &r);
	ok(is_problem(&r, 400), "French Excel without its encoding: 400, never guessed");
	is_str(jstr(&r, "code"), "encoding-unknown", "... code encoding-unknown");
	ok(jstr(&r, "detail") && strstr(jstr(&r, "detail"), "encoding=windows-1252"),
	   "... and the detail says how to name it");
	resp_free(&r);
	is_int(written(t), before, "... nothing written");

	/* Its encoding named but not its locale: the dates and commas are listed, not guessed. */
	post_file(t, mgr, "encoding=windows-1252", data, len, &r);
	is_int(r.status, 200, "with its encoding but no locale: a report");
	is_int(jnum(&r, "problem_count", -1), 80,
	       "... every day-first date and decimal comma is a problem (40 + 30 + 10)");
	resp_free(&r);
	free(data);
	round_trip(t, "masc-excel-fr-cp1252.csv",
	           "encoding=windows-1252&locale=fr-FR&timezone=Europe/Paris", 40, 30);
	char *note = sql_value(t,
	                       "SELECT notes FROM specimens s JOIN import_specimens i ON "
	                       "i.specimen_id = s.id WHERE i.legacy_id = 'BB00028'",
	                       &(bool){ false });
	is_str(note, "lipémique ; à recontrôler",
	       "the quoted note with ';' and accents reads back");
	free(note);
	is_int(sql_int(t, "SELECT count(*) FROM specimens s JOIN import_specimens i ON"
	                  " i.specimen_id = s.id WHERE i.legacy_id = 'BB00001' AND s.collected_at ="
	                  " '2016-03-14 08:40 Europe/Paris' AND s.status = 'consumed'"),
	       1, "14/03/2016 08:40 is read day-first in Paris time; the whole blood is consumed");
	is_int(sql_int(t, "SELECT count(*) FROM specimens s JOIN import_specimens i ON"
	                  " i.specimen_id = s.id JOIN import_specimens pi ON pi.specimen_id ="
	                  " s.parent_id WHERE i.legacy_id = 'BB00004' AND pi.legacy_id = 'BB00001'"
	                  " AND s.quantity = 0.45 AND s.freeze_thaw_count = 0"),
	       1, "R4's parent is R1's tube, and 0,45 is 0.45");
	is_int(sql_int(t, "SELECT count(*) FROM locations WHERE path = '[\"Hôpital "
	                  "Pitié-Salpêtrière\", \"Congélateur -80 n°3\", \"Étagère 2\"]'"),
	       1, "the location path with accents was created");
}

/* The same box, once without one row in its middle, then the whole file. */
static void
test_lone_row(struct tenv *t)
{
	const char *header =
	    "key,study,participant_code,sex,birth_year,diagnosis,specimen_type,timepoint,"
	    "collected_at,quantity,unit,parent,location_path,box_barcode,box_grid,position,"
	    "legacy_id\n";
	struct bb_buf all = { 0 }, gap = { 0 };
	struct resp r;

	bb_buf_puts(&all, header);
	bb_buf_puts(&gap, header);
	bb_buf_puts(&all, "P,MASC,MASC-0900,M,1980,PM,whole_blood,baseline,2019-05-01T08:00:00Z,"
	                  "4,mL,,,,,,LONE-P\n");
	bb_buf_puts(&gap, "P,MASC,MASC-0900,M,1980,PM,whole_blood,baseline,2019-05-01T08:00:00Z,"
	                  "4,mL,,,,,,LONE-P\n");
	for (int i = 1; i <= 9; i++) {
		char line[256];
		snprintf(line, sizeof(line),
		         "K%d,MASC,MASC-0900,,,,serum,baseline,2019-05-01T09:00:00Z,0.5,mL,P,"
		         "Lone site / Lone freezer,LONE-BOX,9x9,B%d,LONE-%d\n",
		         i, i, i);
		bb_buf_puts(&all, line);
		if (i != 5)
			bb_buf_puts(&gap, line);
	}
	post_file(t, mgr, "commit=true", gap.data, gap.len, &r);
	is_int(r.status, 201, "a box with B5 missing imports");
	resp_free(&r);
	ledger_clean(t, "the box with a gap");
	post_file(t, mgr, "", all.data, all.len, &r);
	is_int(jnum(&r, "existing_count", -1), 9, "the whole file: 9 rows already exist");
	is_int(jnum(&r, "summary.specimens", -1), 1, "... and one would be made");
	resp_free(&r);
	post_file(t, mgr, "commit=true", all.data, all.len, &r);
	is_int(r.status, 201, "the whole file commits the lone row");
	is_int(jlen(&r, "existing"), 9, "... listing the 9 rows that exist");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                  " JOIN import_specimens i ON i.specimen_id = s.id"
	                  " JOIN import_specimens pi ON pi.specimen_id = s.parent_id"
	                  " WHERE b.barcode = 'LONE-BOX' AND s.pos_row = 2 AND s.pos_col = 5"
	                  " AND i.legacy_id = 'LONE-5' AND pi.legacy_id = 'LONE-P'"),
	       1, "B5 is filled, its parent the tube imported before");
	is_int(sql_int(t, "SELECT count(*) FROM import_specimens WHERE legacy_id LIKE 'LONE-%'"),
	       10, "no row was made twice");
	ledger_clean(t, "the lone row");
	bb_buf_free(&all);
	bb_buf_free(&gap);
}

struct racer {
	struct tenv *t;
	const char *body;
	size_t len;
	struct resp r;
};

static void *
race(void *arg)
{
	struct racer *x = arg;

	post_file(x->t, mgr, "commit=true", x->body, x->len, &x->r);
	return NULL;
}

/* Two overlapping files committed at once: one wins, the other names the rows that exist. */
static void
test_overlap(struct tenv *t)
{
	const char *header =
	    "study,participant_code,sex,diagnosis,specimen_type,timepoint,"
	    "collected_at,tube_barcode,location_path,box_barcode,box_grid,position\n";
	struct bb_buf a = { 0 }, b = { 0 };

	bb_buf_puts(&a, header);
	bb_buf_puts(&b, header);
	for (int i = 1; i <= 60; i++) {
		char line[256];
		snprintf(
		    line, sizeof(line),
		    "MASC,MASC-0950,F,DM,serum,m3,2020-02-02T10:00:00Z,RACE%03d,Race site / Race "
		    "freezer,RACE-BOX,8x12,%c%d\n",
		    i, 'A' + (i - 1) / 12, (i - 1) % 12 + 1);
		if (i <= 40)
			bb_buf_puts(&a, line);
		if (i > 20)
			bb_buf_puts(&b, line);
	}
	struct racer x = { t, a.data, a.len, { 0 } }, y = { t, b.data, b.len, { 0 } };
	pthread_t tx, ty;
	pthread_create(&tx, NULL, race, &x);
	pthread_create(&ty, NULL, race, &y);
	pthread_join(tx, NULL);
	pthread_join(ty, NULL);
	is_int(x.r.status, 201, "overlapping file 1 commits");
	is_int(y.r.status, 201, "overlapping file 2 commits");
	long ex = (long)jnum(&x.r, "existing_count", -1),
	     ey = (long)jnum(&y.r, "existing_count", -1);
	ok((ex == 0 && ey == 20) || (ex == 20 && ey == 0),
	   "one wins; the other reports the 20 rows that exist (%ld, %ld)", ex, ey);
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE tube_barcode LIKE 'RACE%'"), 60,
	       "60 tubes, none twice");
	is_int(sql_int(t, "SELECT count(*) FROM participants WHERE code = 'MASC-0950'"), 1,
	       "one participant");
	is_int(sql_int(t, "SELECT count(*) FROM boxes WHERE barcode = 'RACE-BOX'"), 1, "one box");
	resp_free(&x.r);
	resp_free(&y.r);
	ledger_clean(t, "after the race");
	bb_buf_free(&a);
	bb_buf_free(&b);
}

static void
test_hostile(struct tenv *t)
{
	long before = written(t);
	struct resp r;
	char *note;

	/* A million columns in the header. */
	size_t n = 1000000;
	char *wide = malloc(2 * n + 2);
	for (size_t i = 0; i < n; i++) {
		wide[2 * i] = 'x';
		wide[2 * i + 1] = ',';
	}
	wide[2 * n] = '\n';
	wide[2 * n + 1] = '\0';
	post_file(t, mgr, "", wide, 2 * n + 1, &r);
	ok(is_problem(&r, 400), "a million columns: 400");
	is_str(jstr(&r, "code"), "file-malformed", "... file-malformed");
	ok(jstr(&r, "detail") && strstr(jstr(&r, "detail"), "line 1"), "... naming line 1");
	resp_free(&r);
	free(wide);

	/* 100 MB: over import_limit. */
	size_t big = 100u << 20;
	char *huge = malloc(big);
	memset(huge, 'a', big);
	post_file(t, mgr, "", huge, big, &r);
	is_int(r.status, 413, "a 100 MB body: 413");
	resp_free(&r);
	free(huge);

	/* A NUL byte in a row. */
	static const char nul[] = "study,participant_code,specimen_type,timepoint,collected_at\n"
	                          "MASC,MASC-0960,serum,m0,2020-01-01\n"
	                          "MASC,MASC-0960,ser\0um,m0,2020-01-01\n";
	post_file(t, mgr, "commit=true", nul, sizeof(nul) - 1, &r);
	ok(is_problem(&r, 400), "a NUL byte: 400");
	ok(jstr(&r, "detail") && strstr(jstr(&r, "detail"), "line 3"), "... naming line 3");
	resp_free(&r);

	/* Not a file type: JSON, or a form. */
	http(t->d.url, "POST", "/api/v1/imports", mgr, "application/json", "{}", 2, &r);
	is_int(r.status, 415, "a JSON body: 415");
	resp_free(&r);
	post_file(t, mgr, "commit=yes", "a", 1, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "commit"),
	   "commit=yes: 400 naming commit");
	resp_free(&r);
	post_file(t, mgr, "encoding=ebcdic", "a", 1, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "encoding"),
	   "an unknown encoding: 400 naming encoding");
	resp_free(&r);
	post_file(t, mgr, "date_format=yyyy/dd/mm", "a", 1, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "date_format"),
	   "an unknown date_format: 400 naming it");
	resp_free(&r);
	static const char one[] = "study,participant_code,sex,diagnosis,specimen_type,timepoint,"
	                          "collected_at\nMASC,MASC-0961,F,DM,serum,m0,2020-01-01 10:00\n";
	post_file(t, mgr, "timezone=Mars/Olympus", one, sizeof(one) - 1, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "timezone"),
	   "an unknown time zone: 400 naming timezone");
	resp_free(&r);
	post_file(t, mgr, "", "", 0, &r);
	ok(is_problem(&r, 400), "an empty file: 400");
	resp_free(&r);
	static const char unknown_col[] = "study,participant_code,specimen_type,timepoint,"
	                                  "collected_at,colour\nMASC,X,serum,m0,2020-01-01,red\n";
	post_file(t, mgr, "commit=true", unknown_col, sizeof(unknown_col) - 1, &r);
	ok(is_problem(&r, 422), "an unknown column: 422");
	ok(jstr(&r, "problems.0.message") && strstr(jstr(&r, "problems.0.message"), "colour"),
	   "... naming it");
	resp_free(&r);
	post_file(t, NULL, "", one, sizeof(one) - 1, &r);
	is_int(r.status, 401, "without a token: 401");
	resp_free(&r);
	post_file(t, tech, "", one, sizeof(one) - 1, &r);
	is_int(r.status, 403, "a technician: 403 (imports are a manager's)");
	resp_free(&r);
	post_file(t, limited, "", one, sizeof(one) - 1, &r);
	is_str(jstr(&r, "problems.0.code"), "unknown-study",
	       "a manager limited to another study: MASC is unknown to them");
	resp_free(&r);
	is_int(written(t), before, "the hostile requests wrote nothing");

	/* Formula cells are notes like any other: stored as text, exported defused. */
	static const char formula[] =
	    "study,participant_code,sex,diagnosis,specimen_type,timepoint,collected_at,"
	    "tube_barcode,notes\n"
	    "MASC,MASC-0962,F,DM,serum,m0,2020-01-01T10:00:00Z,FORMULA-1,\"=cmd|' /C calc'!A0\"\n"
	    "MASC,MASC-0962,F,DM,serum,m0,2020-01-01T10:00:00Z,FORMULA-2,@SUM(1+1)*cmd|' /C "
	    "calc'!A0\n";
	post_file(t, mgr, "commit=true", formula, sizeof(formula) - 1, &r);
	is_int(r.status, 201, "formula cells in notes import");
	resp_free(&r);
	note = sql_value(t, "SELECT notes FROM specimens WHERE tube_barcode = 'FORMULA-1'",
	                 &(bool){ false });
	is_str(note, "=cmd|' /C calc'!A0", "... stored as the text they are");
	free(note);
	const char *hdr[] = { "Accept: text/csv", NULL };
	http_h(t->d.url, "GET", "/api/v1/specimens?participant=MASC-0962", mgr, NULL, NULL, 0, hdr,
	       &r);
	ok(r.body && strstr(r.body, "\"'=cmd|' /C calc'!A0\"") != NULL &&
	       strstr(r.body, ",=cmd") == NULL && strstr(r.body, ",@SUM") == NULL,
	   "... and the CSV export defuses them");
	resp_free(&r);
	ledger_clean(t, "after the formula cells");
}

/* The daemon's role copies the file's columns into the staging table, and nothing the checks
 * compute. */
static void
test_staging_rights(struct tenv *t)
{
	PGconn *pg = PQconnectdb(t->conninfo);
	PGresult *r;

	PQclear(PQexec(pg, "BEGIN"));
	PQclear(PQexec(pg, "SELECT bb_import_begin()"));
	r = PQexec(pg, "INSERT INTO pg_temp.import_stage (row_no, study) VALUES (2, 'MASC')");
	ok(PQresultStatus(r) == PGRES_COMMAND_OK, "the daemon's role may stage a file's column");
	PQclear(r);
	/* What the checks compute is no column of the staged rows: bb_import_check adds it. */
	r = PQexec(pg,
	           "INSERT INTO pg_temp.import_stage (row_no, existing_id, parent_id) VALUES (3, "
	           "'AAAAAAAA', 'BBBBBBBB')");
	ok(PQresultStatus(r) == PGRES_FATAL_ERROR,
	   "... but not an existing specimen or a parent the checks would compute (%s)",
	   PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE)
	                                           : "none");
	PQclear(r);
	PQclear(PQexec(pg, "ROLLBACK"));
	PQfinish(pg);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	size_t len;

	tenv_setup(&t, "imports", argc, argv);
	if (argc < 3)
		tap_bail("usage: test_api_imports BIOBANKD FIXTURES/imports");
	dir = argv[2];
	sql_exec(&t, "INSERT INTO studies (code, name) VALUES ('MASC', 'Myositis'), ('SCLERO', "
	             "'Scleroderma'), ('ABADM', 'Anti-body DM'), ('OTHER', 'Other')");
	if (make_user(&t, "mgr", "manager", NULL, mgr) != 0 ||
	    make_user(&t, "tech", "technician", NULL, tech) != 0 ||
	    make_user(&t, "limited", "manager", "[\"OTHER\"]", limited) != 0)
		tap_bail("cannot make the users");

	test_template(&t);
	test_staging_rights(&t);
	test_errors(&t);
	test_french_excel(&t);
	round_trip(&t, "sclero-utf8-bom.csv", "", 15, 12);
	is_int(sql_int(&t, "SELECT count(*) FROM specimens WHERE tube_barcode = 'FD40000004' AND"
	                   " notes = E'peau scléreuse, avant-bras\\nOCT'"),
	       1, "sclero: the note with a newline reads back, CRLF kept out");
	round_trip(&t, "abadm-libreoffice.tsv", "", 6, 6);
	is_int(sql_int(&t, "SELECT count(*) FROM specimens WHERE timepoint = '第12周'"), 3,
	       "abadm: Chinese timepoints read back");
	char *data = fixture("abadm-libreoffice.tsv", &len);
	struct resp r;
	post_file(&t, mgr, "separator=comma", data, len, &r);
	ok(r.status == 422 || (r.status == 200 && jnum(&r, "problem_count", 0) > 0),
	   "the TSV read with the wrong separator is refused, not half-read");
	resp_free(&r);
	free(data);
	test_lone_row(&t);
	test_overlap(&t);
	test_hostile(&t);
	tenv_teardown(&t);
	return tap_done();
}
