/*
 * test_input_rules.c — what people type (issue 14, defect 6): a collection
 * time in the future or before the donor's birth is refused naming
 * collected_at; participant codes are unique within a study ignoring case
 * (and 0017 refuses a database that already holds such a pair, naming it);
 * text loses the blanks around it and timepoints have one spelling, so that
 * "M12", "m12 " and "month 12 " are one row of the inventory.
 */
#include "testlib.h"
#include "world.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char tech[128];

/* An RFC 3339 UTC time offset seconds from now. */
static void
time_from_now(long offset, char out[32])
{
	time_t when = time(NULL) + offset;
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Run SQL as the superuser; true when it succeeded. */
static bool
exec_sql(struct tenv *t, const char *sql)
{
	bool done;

	free(sql_value(t, sql, &done));
	return done;
}

static int
register_at(struct tenv *t, const char *participant, const char *timepoint, const char *collected,
            const char *notes, struct resp *r)
{
	char body[512];

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"%s\"},\"type\":\"plasma\","
	         "\"timepoint\":\"%s\",\"collected_at\":\"%s\"%s%s%s}",
	         participant, timepoint, collected, notes ? ",\"notes\":\"" : "",
	         notes ? notes : "", notes ? "\"" : "");
	return api(t, "POST", "/api/v1/specimens", tech, body, r);
}

static void
collection_time(struct tenv *t)
{
	struct resp r;
	char when[32];
	long before = sql_int(t, "SELECT count(*) FROM specimens");

	time_from_now(86400, when);
	register_at(t, "P001", "baseline", when, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "collected_at"),
	   "a collection tomorrow is 400 naming collected_at");
	is_str(jstr(&r, "code"), "date-out-of-range", "  code date-out-of-range");
	resp_free(&r);

	time_from_now(600, when);
	register_at(t, "P001", "baseline", when, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "collected_at"),
	   "ten minutes ahead is refused too");
	resp_free(&r);

	/* P001 was born in 1968. */
	register_at(t, "P001", "baseline", "1967-06-30T10:00:00Z", NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "collected_at"),
	   "a collection before the participant's birth year is 400 naming collected_at");
	ok(r.body != NULL && strstr(r.body, "1968") != NULL, "  saying the birth year");
	resp_free(&r);
	ok(exec_sql(t, "INSERT INTO participants (study_id, code, sex, diagnosis)"
	               " SELECT id, 'NOYEAR', 'unknown', 'DM' FROM studies WHERE code = 'MASC'"),
	   "participant MASC/NOYEAR, birth year unknown");
	register_at(t, "NOYEAR", "baseline", "1899-12-01T00:00:00Z", NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "collected_at"),
	   "without a birth year, a collection before 1900 is refused");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens"), before,
	       "  the refusals wrote nothing");

	time_from_now(120, when);
	register_at(t, "P001", "baseline", when, NULL, &r);
	is_int(r.status, 201, "two minutes ahead (a bench clock a little fast) is accepted");
	resp_free(&r);
	register_at(t, "P001", "baseline", "1968-01-01T00:00:00Z", NULL, &r);
	is_int(r.status, 201, "a collection in the birth year is accepted");
	char parent[16] = "";
	if (jstr(&r, "id") != NULL)
		snprintf(parent, sizeof(parent), "%s", jstr(&r, "id"));
	resp_free(&r);

	/* Aliquots and derivatives take the parent's collection time: nothing to check. */
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/aliquots", parent);
	api(t, "POST", path, tech, "{\"count\":2}", &r);
	is_str(jstr(&r, "items.0.collected_at"), "1968-01-01T00:00:00Z",
	       "an aliquot carries its parent's collection time");
	resp_free(&r);
}

static void
participant_codes(struct tenv *t)
{
	struct resp r;

	api(t, "POST", "/api/v1/participants", tech,
	    "{\"study\":\"MASC\",\"code\":\"MASC-101\",\"sex\":\"F\",\"birth_year\":1961,"
	    "\"diagnosis\":\"DM\"}",
	    &r);
	is_int(r.status, 201, "participant MASC/MASC-101 registered");
	resp_free(&r);
	api(t, "POST", "/api/v1/participants", tech,
	    "{\"study\":\"MASC\",\"code\":\"masc-101\",\"sex\":\"F\",\"birth_year\":1961,"
	    "\"diagnosis\":\"DM\"}",
	    &r);
	ok(is_problem(&r, 409), "masc-101 beside MASC-101 is 409");
	is_str(jstr(&r, "code"), "already-exists", "  code already-exists");
	is_str(jstr(&r, "existing"), "MASC-101", "  naming the code that holds it");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM participants WHERE lower(code) = 'masc-101'"), 1,
	       "  and nothing was written");
	api(t, "POST", "/api/v1/participants", tech,
	    "{\"study\":\"SSC\",\"code\":\"masc-101\",\"sex\":\"F\",\"diagnosis\":\"DM\"}", &r);
	is_int(r.status, 201, "the same code in another study is another participant");
	resp_free(&r);

	/* Lookups stay exact: the code is written as it was registered. */
	api(t, "GET", "/api/v1/participants/MASC/MASC-101", tech, NULL, &r);
	is_int(r.status, 200, "GET by the registered code");
	resp_free(&r);
	api(t, "GET", "/api/v1/participants/MASC/masc-101", tech, NULL, &r);
	ok(is_problem(&r, 404), "GET by another case is 404 (lookups are exact)");
	resp_free(&r);

	api(t, "POST", "/api/v1/participants", tech,
	    "{\"study\":\"MASC\",\"code\":\" P-77\\t\",\"sex\":\"M\",\"diagnosis\":\"DM\"}", &r);
	is_int(r.status, 201, "a code with blanks around it is registered");
	is_str(jstr(&r, "code"), "P-77", "  without them");
	resp_free(&r);
}

static long
inventory_count(struct tenv *t, const char *timepoint)
{
	struct resp r;
	long n = -1;
	cJSON *it;

	api(t, "GET", "/api/v1/reports/inventory?study=MASC", tech, NULL, &r);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
	{
		const char *tp = cJSON_GetStringValue(cJSON_GetObjectItem(it, "timepoint"));
		const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(it, "type"));
		if (tp != NULL && ty != NULL && strcmp(tp, timepoint) == 0 &&
		    strcmp(ty, "plasma") == 0)
			n = (n < 0 ? 0 : n) +
			    (long)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "count"));
	}
	resp_free(&r);
	return n;
}

static void
free_text(struct tenv *t)
{
	struct resp r;
	const char *spellings[] = { "M12", "m12 ", "month 12 ", " Month  12", "\\tm12" };
	char id[16] = "";

	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		register_at(t, "P002", spellings[i], "2026-03-01T09:30:00Z",
		            i == 0 ? "  spilt a little \\n" : NULL, &r);
		is_int(r.status, 201, "timepoint \"%s\" registered", spellings[i]);
		is_str(jstr(&r, "timepoint"), "m12", "  stored as m12");
		if (i == 0) {
			is_str(jstr(&r, "notes"), "spilt a little",
			       "  notes without blanks around");
			snprintf(id, sizeof(id), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
		}
		resp_free(&r);
	}
	register_at(t, "P002", " Year 5", "2026-03-01T09:30:00Z", NULL, &r);
	is_str(jstr(&r, "timepoint"), "y5", "\" Year 5\" is y5");
	resp_free(&r);
	register_at(t, "P002", "FLARE ", "2026-03-01T09:30:00Z", NULL, &r);
	is_str(jstr(&r, "timepoint"), "flare", "\"FLARE \" is flare");
	resp_free(&r);
	register_at(t, "P002", " Visit A ", "2026-03-01T09:30:00Z", NULL, &r);
	is_str(jstr(&r, "timepoint"), "Visit A", "a site's own label is kept as typed, trimmed");
	resp_free(&r);
	register_at(t, "P002", "   ", "2026-03-01T09:30:00Z", NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "timepoint"),
	   "a blank timepoint is 400 naming timepoint");
	resp_free(&r);

	is_int(inventory_count(t, "m12"), 5,
	       "the inventory counts the five spellings as one m12 row");
	is_int(inventory_count(t, "M12"), -1, "  and has no M12 row");
	api(t, "GET", "/api/v1/specimens?study=MASC&timepoint=M12", tech, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 5,
	       "the list filter ?timepoint=M12 reads the same rule");
	resp_free(&r);

	char path[96];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/consume", id);
	api(t, "POST", path, tech, "{\"reason\":\" used up in assay  \"}", &r);
	is_int(r.status, 200, "consume with a reason between blanks");
	resp_free(&r);
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "SELECT reason FROM events WHERE specimen_id = '%s' AND type = 'consumed'", id);
	bool done;
	char *reason = sql_value(t, sql, &done);
	is_str(reason, "used up in assay", "  the reason is stored without them");
	free(reason);

	api(t, "POST", "/api/v1/studies", t->admin_token,
	    "{\"code\":\"TRIM\",\"name\":\"  Trimmed cohort \"}", &r);
	is_str(jstr(&r, "name"), "Trimmed cohort", "a study name is stored without blanks around");
	resp_free(&r);
}

/*
 * A database that already holds MASC/DUP-1 and MASC/dup-1 (written before
 * the rule): 0017 refuses it, naming the pair, and applies nothing; once one
 * is renamed it applies, and the timepoints stored before take one spelling.
 */
static void
migration(struct tenv *t)
{
	char dburl[600], *out = NULL;
	const char *argv[] = { t->biobankd, "migrate", NULL };
	bool ok_sql;

	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->owner_conninfo);
	const char *env[] = { dburl, NULL };

	free(sql_value(
	    t,
	    "DROP INDEX participants_study_code_ci;"
	    " DELETE FROM schema_migrations WHERE version = '0017_input_rules.sql';"
	    " INSERT INTO participants (study_id, code, sex, diagnosis)"
	    " SELECT id, c, 'unknown', 'DM' FROM studies, unnest(ARRAY['DUP-1', 'dup-1']) c"
	    " WHERE code = 'MASC';"
	    " UPDATE specimens SET timepoint = ' Month 12' WHERE timepoint = 'm12';"
	    " SELECT 1",
	    &ok_sql));
	ok(ok_sql, "a database from before 0017 holding DUP-1 and dup-1 in MASC");
	is_int(run_cmd(argv, env, NULL, &out), 1, "migrate refuses it");
	ok(out != NULL && strstr(out, "differ only in case") != NULL &&
	       strstr(out, "study MASC: DUP-1, dup-1") != NULL,
	   "  naming the pair");
	if (out != NULL && strstr(out, "study MASC: DUP-1, dup-1") == NULL)
		tap_diag("%s", out);
	free(out);
	is_int(sql_int(t, "SELECT count(*) FROM pg_indexes WHERE indexname = "
	                  "'participants_study_code_ci'"),
	       0, "  and applied nothing");
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE timepoint = ' Month 12'"), 5,
	       "  (the timepoints are as they were)");

	ok(exec_sql(t, "UPDATE participants SET code = 'DUP-2' WHERE code = 'dup-1'"),
	   "one of the pair renamed");
	is_int(run_cmd(argv, env, NULL, &out), 0, "with one renamed, migrate applies 0017");
	free(out);
	is_int(sql_int(t, "SELECT count(*) FROM pg_indexes WHERE indexname = "
	                  "'participants_study_code_ci'"),
	       1, "  the index is in place");
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE timepoint = 'm12'"), 5,
	       "  and the stored ' Month 12' rows read m12");
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "input_rules", argc, argv);
	world_make(&t);
	make_user(&t, "tina", "technician", NULL, tech);
	collection_time(&t);
	participant_codes(&t);
	free_text(&t);
	migration(&t);
	tenv_teardown(&t);
	return tap_done();
}
