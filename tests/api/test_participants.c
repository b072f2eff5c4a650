/*
 * test_participants.c — studies, participants, consent (withdrawal flags
 * specimens and writes their events), specimen types, diagnoses, the audit
 * log, list paging and study scoping. Every refused request is checked to
 * have left nothing behind.
 */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char manager[128], tech[128], auditor[128], printer[128], masc_tech[128], masc_manager[128];

static int
items_count(const struct resp *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "items"));
}

static void
studies(struct tenv *t)
{
	struct resp r;

	api(t, "POST", "/api/v1/studies", t->admin_token,
	    "{\"code\":\"MASC\",\"name\":\"Myositis and systemic sclerosis cohort\"}", &r);
	is_int(r.status, 201, "admin creates study MASC: 201");
	is_str(jstr(&r, "code"), "MASC", "  with its code");
	is_str(jstr(&r, "name"), "Myositis and systemic sclerosis cohort", "  and name");
	ok(jnum(&r, "id", 0) > 0, "  and an id");
	ok(jstr(&r, "created_at") != NULL && strlen(jstr(&r, "created_at")) >= 20,
	   "  and created_at (%s)", jstr(&r, "created_at") ? jstr(&r, "created_at") : "null");
	resp_free(&r);

	api(t, "POST", "/api/v1/studies", manager, "{\"code\":\"SSC-2\",\"name\":\"Scleroderma\"}",
	    &r);
	is_int(r.status, 201, "a manager creates study SSC-2");
	resp_free(&r);

	api(t, "POST", "/api/v1/studies", manager, "{\"code\":\"MASC\",\"name\":\"Again\"}", &r);
	ok(is_problem(&r, 409), "a duplicate study code is 409");
	ok(r.body != NULL && strstr(r.body, "MASC") != NULL, "  naming the code");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM studies WHERE name = 'Again'"), 0,
	       "  and nothing was written");

	const char *bad[] = {
		"{\"code\":\"masc\",\"name\":\"lower\"}", "{\"code\":\"MA SC\",\"name\":\"space\"}",
		"{\"code\":\"-MASC\",\"name\":\"dash first\"}",
		"{\"code\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\",\"name\":\"33 long\"}",
		"{\"code\":\"\",\"name\":\"empty\"}"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api(t, "POST", "/api/v1/studies", manager, bad[i], &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, "code"),
		   "study code refused with 400 naming code: %s", bad[i]);
		resp_free(&r);
	}
	api(t, "POST", "/api/v1/studies", manager, "{\"code\":\"X1\",\"name\":\"\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "name"),
	   "an empty name is 400 naming name");
	resp_free(&r);
	api(t, "POST", "/api/v1/studies", manager,
	    "{\"code\":\"X2\",\"name\":\"n\",\"pi\":\"Dr X\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "pi"),
	   "an unknown field is 400 naming it");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM studies"), 2, "  the refused studies left nothing");

	api(t, "POST", "/api/v1/studies", tech, "{\"code\":\"TECH\",\"name\":\"n\"}", &r);
	ok(is_problem(&r, 403), "a technician may not create studies: 403");
	resp_free(&r);
	api(t, "POST", "/api/v1/studies", auditor, "{\"code\":\"AUD\",\"name\":\"n\"}", &r);
	ok(is_problem(&r, 403), "an auditor may not create studies: 403");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM studies"), 2, "  and neither wrote anything");

	api(t, "GET", "/api/v1/studies", auditor, NULL, &r);
	is_int(r.status, 200, "an auditor lists studies");
	is_int(items_count(&r), 2, "  both of them");
	is_str(jstr(&r, "items.0.code"), "MASC", "  ordered by code");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next_cursor")), "  next_cursor null");
	resp_free(&r);

	api(t, "GET", "/api/v1/studies", printer, NULL, &r);
	ok(is_problem(&r, 403), "a printer may not list studies: 403");
	resp_free(&r);

	api(t, "GET", "/api/v1/studies/MASC", tech, NULL, &r);
	is_int(r.status, 200, "GET /studies/MASC");
	is_str(jstr(&r, "name"), "Myositis and systemic sclerosis cohort", "  is the study");
	is_int((long)jnum(&r, "participants", -1), 0, "  with 0 participants");
	resp_free(&r);

	api(t, "GET", "/api/v1/studies/NOPE", tech, NULL, &r);
	ok(is_problem(&r, 404), "an unknown study is 404");
	resp_free(&r);
}

/* Users limited to MASC; made after the studies exist. */
static void
scoped_users(struct tenv *t)
{
	make_user(t, "mtech", "technician", "[\"MASC\"]", masc_tech);
	make_user(t, "mman", "manager", "[\"MASC\"]", masc_manager);

	struct resp r;
	api(t, "GET", "/api/v1/studies", masc_tech, NULL, &r);
	is_int(items_count(&r), 1, "a MASC-only technician lists one study");
	is_str(jstr(&r, "items.0.code"), "MASC", "  MASC");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/SSC-2", masc_tech, NULL, &r);
	ok(is_problem(&r, 404), "  and SSC-2 is 404 for it");
	ok(r.body != NULL && strstr(r.body, "no study SSC-2") != NULL,
	   "  worded as for a study that does not exist");
	resp_free(&r);
	api(t, "GET", "/api/v1/studies/SSC-2", tech, NULL, &r);
	is_int(r.status, 200, "  while an unlimited technician reads SSC-2");
	resp_free(&r);
}

static void
participants(struct tenv *t)
{
	struct resp r;

	api(t, "POST", "/api/v1/participants", tech,
	    "{\"study\":\"MASC\",\"code\":\"P-001\",\"sex\":\"F\",\"birth_year\":1961,"
	    "\"diagnosis\":\"ibm\"}",
	    &r);
	is_int(r.status, 201, "a technician registers participant MASC/P-001: 201");
	is_str(jstr(&r, "study"), "MASC", "  in study MASC");
	is_str(jstr(&r, "code"), "P-001", "  with its code");
	is_str(jstr(&r, "sex"), "female", "  F is stored as female");
	is_int((long)jnum(&r, "birth_year", 0), 1961, "  birth_year 1961");
	is_str(jstr(&r, "diagnosis"), "IBM", "  diagnosis ibm matched to IBM");
	ok(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "consent"), "biobank")),
	   "  no consent recorded yet");
	resp_free(&r);
	is_int(sql_int(t,
	               "SELECT count(*) FROM participants WHERE code = 'P-001' AND sex = 'female'"
	               " AND diagnosis = 'IBM'"),
	       1, "  and it is in the database as such");

	const char *more[] = {
		"{\"study\":\"MASC\",\"code\":\"P-002\",\"sex\":\"male\",\"diagnosis\":\"SSc\"}",
		"{\"study\":\"MASC\",\"code\":\"P-003\",\"sex\":\"U\",\"birth_year\":null,"
		"\"diagnosis\":\"dcssc\"}",
		"{\"study\":\"SSC-2\",\"code\":\"P-001\",\"sex\":\"other\",\"birth_year\":1990,"
		"\"diagnosis\":\"control\"}",
	};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		api(t, "POST", "/api/v1/participants", manager, more[i], &r);
		is_int(r.status, 201, "participant registered: %s", more[i]);
		resp_free(&r);
	}
	bool ok_sql;
	char *stored =
	    sql_value(t,
	              "SELECT string_agg(sex || '/' || diagnosis || '/' ||"
	              " COALESCE(birth_year::text, '-'), ',' ORDER BY id) FROM participants",
	              &ok_sql);
	is_str(stored, "female/IBM/1961,male/SSc/-,unknown/dcSSc/-,other/control/1990",
	       "  sexes stored long, diagnoses canonical, birth_year optional");
	free(stored);

	api(t, "POST", "/api/v1/participants", manager,
	    "{\"study\":\"MASC\",\"code\":\"P-001\",\"sex\":\"male\",\"diagnosis\":\"DM\"}", &r);
	ok(is_problem(&r, 409), "the same code in the same study is 409");
	resp_free(&r);

	/* Identifying fields are refused by name, and so is every other bad input. */
	struct {
		const char *body, *field, *what;
	} bad[] = {
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"diagnosis\":\"DM\","
		  "\"name\":\"Jane Doe\"}",
		  "name", "a name" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"diagnosis\":\"DM\",\"birth_"
		  "date\":\"1960-02-03\"}",
		  "birth_date", "a birth date" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"diagnosis\":\"DM\","
		  "\"email\":\"j@x.org\"}",
		  "email", "an email address" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"diagnosis\":\"DM\","
		  "\"address\":\"1 Main St\"}",
		  "address", "an address" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"diagnosis\":\"DM\","
		  "\"phone\":\"+41 1\"}",
		  "phone", "a phone number" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"woman\",\"diagnosis\":\"DM\"}",
		  "sex", "an unknown sex" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"f\",\"diagnosis\":\"DM\"}", "sex",
		  "a lower-case f" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"diagnosis\":\"flu\"}",
		  "diagnosis", "an unknown diagnosis" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"birth_year\":1899,"
		  "\"diagnosis\":\"DM\"}",
		  "birth_year", "birth_year 1899" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"birth_year\":3000,"
		  "\"diagnosis\":\"DM\"}",
		  "birth_year", "birth_year in the future" },
		{ "{\"study\":\"MASC\",\"code\":\"P-9\",\"sex\":\"F\",\"birth_year\":\"1960\","
		  "\"diagnosis\":\"DM\"}",
		  "birth_year", "birth_year as a string" },
		{ "{\"study\":\"MASC\",\"code\":\"P 9\",\"sex\":\"F\",\"diagnosis\":\"DM\"}",
		  "code", "a code with a space" },
		{ "{\"study\":\"MASC\",\"sex\":\"F\",\"diagnosis\":\"DM\"}", "code", "no code" },
		{ "{\"study\":\"NOPE\",\"code\":\"P-9\",\"sex\":\"F\",\"diagnosis\":\"DM\"}",
		  "study", "an unknown study" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api(t, "POST", "/api/v1/participants", manager, bad[i].body, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "%s is 400 naming %s", bad[i].what, bad[i].field);
		if (strcmp(bad[i].field, "diagnosis") == 0)
			ok(r.body != NULL && strstr(r.body, "IBM") &&
			       strstr(r.body, "drug-induced"),
			   "  and the message lists the allowed codes");
		if (strcmp(bad[i].what, "birth_year in the future") == 0) {
			char want[16];
			time_t now = time(NULL);
			struct tm tm;

			gmtime_r(&now, &tm);
			snprintf(want, sizeof(want), "%d", tm.tm_year + 1900);
			ok(r.body != NULL && strstr(r.body, want) != NULL,
			   "  and the message names the current year");
		}
		resp_free(&r);
	}
	is_int(sql_int(t, "SELECT count(*) FROM participants"), 4,
	       "the refused participants left nothing behind");
	is_int(sql_int(t, "SELECT count(*) FROM audit_log WHERE entity = 'participant'"), 4,
	       "  not even an audit row");

	/* Scoping: a study outside the caller's reads like one that does not exist. */
	api(t, "POST", "/api/v1/participants", masc_tech,
	    "{\"study\":\"SSC-2\",\"code\":\"P-8\",\"sex\":\"F\",\"diagnosis\":\"DM\"}", &r);
	char *out_of_scope = r.body ? strdup(r.body) : NULL;
	ok(is_problem(&r, 400) && problem_names_field(&r, "study"),
	   "a MASC-only technician cannot register in SSC-2: 400 naming study");
	resp_free(&r);
	api(t, "POST", "/api/v1/participants", masc_tech,
	    "{\"study\":\"SSC-9\",\"code\":\"P-8\",\"sex\":\"F\",\"diagnosis\":\"DM\"}", &r);
	/* The same bytes, but for the study code itself. */
	for (char *p = r.body ? strstr(r.body, "SSC-9") : NULL; p != NULL; p = strstr(p, "SSC-9"))
		p[4] = '2';
	ok(out_of_scope != NULL && r.body != NULL && strcmp(out_of_scope, r.body) == 0,
	   "  the same answer as for a study that does not exist");
	resp_free(&r);
	free(out_of_scope);
	is_int(sql_int(t, "SELECT count(*) FROM participants WHERE code = 'P-8'"), 0,
	       "  and nothing was written");

	api(t, "POST", "/api/v1/participants", auditor,
	    "{\"study\":\"MASC\",\"code\":\"P-7\",\"sex\":\"F\",\"diagnosis\":\"DM\"}", &r);
	ok(is_problem(&r, 403), "an auditor may not register participants: 403");
	resp_free(&r);
	api(t, "POST", "/api/v1/participants", printer,
	    "{\"study\":\"MASC\",\"code\":\"P-7\",\"sex\":\"F\",\"diagnosis\":\"DM\"}", &r);
	ok(is_problem(&r, 403), "nor may a printer: 403");
	resp_free(&r);

	api(t, "GET", "/api/v1/participants/MASC/P-001", auditor, NULL, &r);
	is_int(r.status, 200, "an auditor reads MASC/P-001");
	is_str(jstr(&r, "diagnosis"), "IBM", "  its diagnosis");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "consents")), 0, "  no consents yet");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "specimen_counts")), 0,
	       "  no specimens yet");
	resp_free(&r);

	api(t, "GET", "/api/v1/participants/SSC-2/P-001", masc_tech, NULL, &r);
	ok(is_problem(&r, 404), "a MASC-only user gets 404 for SSC-2/P-001");
	resp_free(&r);
	api(t, "GET", "/api/v1/participants/MASC/P-404", tech, NULL, &r);
	ok(is_problem(&r, 404), "an unknown participant is 404");
	resp_free(&r);
	api(t, "GET", "/api/v1/participants/MASC/P-001", printer, NULL, &r);
	ok(is_problem(&r, 403), "a printer may not read participants: 403");
	resp_free(&r);
}

static void
paging(struct tenv *t)
{
	struct resp r;
	char path[512], cursor[256] = "";
	int seen = 0, pages = 0;
	bool dup = false, order = true;
	char last[64] = "";

	/* 23 more in MASC: 26 in all with P-001..P-003. */
	for (int i = 0; i < 23; i++) {
		char body[200];

		snprintf(body, sizeof(body),
		         "{\"study\":\"MASC\",\"code\":\"Q-%03d\",\"sex\":\"unknown\","
		         "\"diagnosis\":\"DM\"}",
		         i);
		api(t, "POST", "/api/v1/participants", tech, body, &r);
		resp_free(&r);
	}
	is_int(sql_int(t, "SELECT count(*) FROM participants"), 27, "27 participants in all");

	api(t, "GET", "/api/v1/participants", tech, NULL, &r);
	is_int(items_count(&r), 27, "the list without a limit holds all 27 (default 50)");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next_cursor")), "  and no next cursor");
	resp_free(&r);

	/* Page through MASC by 5 while new participants arrive between pages. */
	do {
		snprintf(path, sizeof(path), "/api/v1/participants?study=MASC&limit=5%s%s",
		         *cursor ? "&cursor=" : "", cursor);
		api(t, "GET", path, tech, NULL, &r);
		if (r.status != 200) {
			tap_diag("page %d: %ld %s", pages, r.status, r.body);
			resp_free(&r);
			break;
		}
		pages++;
		cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
		{
			const char *code = cJSON_GetObjectItem(it, "code")->valuestring;

			if (strcmp(code, last) == 0)
				dup = true;
			else if (strcmp(code, last) < 0)
				order = false;
			snprintf(last, sizeof(last), "%s", code);
			seen++;
		}
		const cJSON *nc = cJSON_GetObjectItem(r.json, "next_cursor");
		snprintf(cursor, sizeof(cursor), "%s", cJSON_IsString(nc) ? nc->valuestring : "");
		resp_free(&r);
		if (pages == 2) {
			/* One sorts before the cursor (not shown), one after (shown). */
			api(t, "POST", "/api/v1/participants", tech,
			    "{\"study\":\"MASC\",\"code\":\"A-000\",\"sex\":\"F\",\"diagnosis\":"
			    "\"DM\"}",
			    &r);
			resp_free(&r);
			api(t, "POST", "/api/v1/participants", tech,
			    "{\"study\":\"MASC\",\"code\":\"Z-999\",\"sex\":\"F\",\"diagnosis\":"
			    "\"DM\"}",
			    &r);
			resp_free(&r);
		}
	} while (*cursor && pages < 20);
	is_int(pages, 6, "26 MASC participants and one added later come in 6 pages of 5");
	is_int(seen, 27, "  every one exactly once (the one added before the cursor is not shown)");
	ok(order && !dup, "  in code order, without repeats");
	is_str(last, "Z-999", "  the one added after the cursor is on the last page");

	api(t, "GET", "/api/v1/participants?study=SSC-2", tech, NULL, &r);
	is_int(items_count(&r), 1, "?study=SSC-2 lists only its participant");
	resp_free(&r);
	api(t, "GET", "/api/v1/participants?limit=1000", masc_tech, NULL, &r);
	is_int(items_count(&r), 28, "a MASC-only user lists only MASC's 28 (limit=1000 allowed)");
	resp_free(&r);
	api(t, "GET", "/api/v1/participants?study=SSC-2", masc_tech, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "study"),
	   "  and ?study=SSC-2 is 400, as for a study that does not exist");
	resp_free(&r);

	const char *bad_limits[] = { "0", "1001", "-5", "ten", "5x", "" };
	for (size_t i = 0; i < sizeof(bad_limits) / sizeof(bad_limits[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/participants?limit=%s", bad_limits[i]);
		api(t, "GET", path, tech, NULL, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, "limit"),
		   "limit=%s is 400 naming limit", bad_limits[i]);
		resp_free(&r);
	}
	const char *bad_cursors[] = { "garbage", "cGFydGljaXBhbnRzOm5vdGpzb24",
		                      /* an audit-log cursor: "audit-log:[5]" */
		                      "YXVkaXQtbG9nOls1XQ" };
	for (size_t i = 0; i < sizeof(bad_cursors) / sizeof(bad_cursors[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/participants?cursor=%s", bad_cursors[i]);
		api(t, "GET", path, tech, NULL, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, "cursor"),
		   "cursor %s is 400 naming cursor", bad_cursors[i]);
		resp_free(&r);
	}
}

/* A specimen registered straight in SQL (the specimen API is not this test's subject). */
static bool
add_specimen(struct tenv *t, const char *code, const char *type, const char *timepoint,
             const char *status)
{
	char sql[1024];
	bool ok_sql;

	snprintf(sql, sizeof(sql),
	         "DO $$ DECLARE n record; BEGIN"
	         " SELECT * INTO n FROM bb_new_specimen_id();"
	         " INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint,"
	         "   collected_at, status)"
	         " SELECT n.id, n.serial, p.study_id, p.id, '%s', '%s', now(), '%s'"
	         "   FROM participants p JOIN studies st ON st.id = p.study_id"
	         "  WHERE st.code = 'MASC' AND p.code = '%s';"
	         " INSERT INTO events (specimen_id, type) VALUES (n.id, 'registered');"
	         " END $$",
	         type, timepoint, status, code);
	free(sql_value(t, sql, &ok_sql));
	return ok_sql;
}

static void
consent(struct tenv *t)
{
	struct resp r;

	bool made = true;
	for (int i = 0; i < 3; i++)
		made &= add_specimen(t, "P-001", "serum", "baseline", "registered");
	made &= add_specimen(t, "P-001", "serum", "m12", "consumed");
	made &= add_specimen(t, "P-001", "dna", "baseline", "registered");
	made &= add_specimen(t, "P-002", "serum", "baseline", "registered");
	ok(made, "specimens registered in SQL");
	is_int(sql_int(t, "SELECT count(*) FROM specimens"), 6, "6 specimens, 5 of them P-001's");

	api(t, "POST", "/api/v1/participants/MASC/P-001/consents", manager,
	    "{\"scope\":\"biobank\",\"status\":\"given\",\"date\":\"2024-01-10\",\"version\":\"v1."
	    "0\"}",
	    &r);
	is_int(r.status, 201, "a manager records biobank consent given: 201");
	is_str(jstr(&r, "scope"), "biobank", "  scope");
	is_str(jstr(&r, "status"), "given", "  status");
	is_str(jstr(&r, "date"), "2024-01-10", "  date");
	is_str(jstr(&r, "version"), "v1.0", "  version");
	is_str(jstr(&r, "recorded_by"), "mgr", "  recorded by the API user");
	ok(jstr(&r, "recorded_at") != NULL, "  recorded_at");
	is_int((long)jnum(&r, "specimens_flagged", -1), 0, "  flags nothing");
	resp_free(&r);

	api(t, "POST", "/api/v1/participants/MASC/P-001/consents", manager,
	    "{\"scope\":\"genetic\",\"status\":\"given\",\"date\":\"2024-01-10\",\"version\":"
	    "\"g2\"}",
	    &r);
	is_int(r.status, 201, "genetic consent given: 201");
	resp_free(&r);

	/* Every bad consent, and every refused caller, leaves no row and flags nothing. */
	char future[16];
	time_t later = time(NULL) + 3 * 86400;
	struct tm tm;
	gmtime_r(&later, &tm);
	strftime(future, sizeof(future), "%Y-%m-%d", &tm);
	char future_body[200];
	snprintf(
	    future_body, sizeof(future_body),
	    "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"%s\",\"version\":\"v1\"}",
	    future);
	struct {
		const char *body, *field, *what;
	} bad[] = {
		{ future_body, "date", "a date three days ahead" },
		{ "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2024-02-30\","
		  "\"version\":\"v1\"}",
		  "date", "February 30" },
		{ "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"10.01.2024\","
		  "\"version\":\"v1\"}",
		  "date", "a date not in ISO form" },
		{ "{\"scope\":\"storage\",\"status\":\"withdrawn\",\"date\":\"2024-02-01\","
		  "\"version\":\"v1\"}",
		  "scope", "an unknown scope" },
		{ "{\"scope\":\"biobank\",\"status\":\"revoked\",\"date\":\"2024-02-01\","
		  "\"version\":\"v1\"}",
		  "status", "an unknown status" },
		{ "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2024-02-01\","
		  "\"version\":\"\"}",
		  "version", "an empty version" },
		{ "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2024-02-01\"}",
		  "version", "no version" },
		{ "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2024-02-01\","
		  "\"version\":\"v1\",\"signed_by\":\"Jane\"}",
		  "signed_by", "an unknown field" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api(t, "POST", "/api/v1/participants/MASC/P-001/consents", manager, bad[i].body,
		    &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "consent with %s is 400 naming %s", bad[i].what, bad[i].field);
		resp_free(&r);
	}
	const char *withdraw = "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2024-03-"
	                       "01\",\"version\":\"v1.0\"}";
	api(t, "POST", "/api/v1/participants/MASC/P-001/consents", tech, withdraw, &r);
	ok(is_problem(&r, 403), "a technician may not record consent: 403");
	resp_free(&r);
	api(t, "POST", "/api/v1/participants/MASC/P-404/consents", manager, withdraw, &r);
	ok(is_problem(&r, 404), "consent for an unknown participant is 404");
	resp_free(&r);
	api(t, "POST", "/api/v1/participants/SSC-2/P-001/consents", masc_manager, withdraw, &r);
	ok(is_problem(&r, 404), "consent for a participant outside the caller's studies is 404");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM consents"), 2, "the refused consents left no row");
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE consent_withdrawn"), 0,
	       "  flagged nothing");
	is_int(sql_int(t, "SELECT count(*) FROM events WHERE type = 'consent_withdrawn'"), 0,
	       "  and wrote no event");

	api(t, "POST", "/api/v1/participants/MASC/P-001/consents", manager, withdraw, &r);
	is_int(r.status, 201, "a manager records the biobank withdrawal: 201");
	is_int((long)jnum(&r, "specimens_flagged", -1), 5, "  flagging P-001's 5 specimens");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens s JOIN participants p ON p.id = "
	                  "s.participant_id WHERE s.consent_withdrawn AND p.code = 'P-001'"),
	       5, "  all five are flagged in the database");
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE consent_withdrawn"), 5,
	       "  and no one else's");
	is_int(sql_int(t, "SELECT count(*) FROM events WHERE type = 'consent_withdrawn'"
	                  " AND actor = 'mgr' AND seq = 2 AND reason IS NOT NULL"
	                  " AND details ->> 'version' = 'v1.0'"),
	       5, "  one consent_withdrawn event each, by the manager, chained after registration");
	is_int(sql_int(t, "SELECT count(*) FROM events e JOIN events p ON p.specimen_id ="
	                  " e.specimen_id AND p.seq = e.seq - 1 WHERE e.type = 'consent_withdrawn'"
	                  " AND e.prev_hash = p.hash"),
	       5, "  each hash-chained to the event before it");
	is_int(sql_int(t, "SELECT count(*) FROM audit_log WHERE entity = 'consent' AND actor ="
	                  " 'mgr'"),
	       3, "the audit log has the three consents, by the manager");

	api(t, "POST", "/api/v1/participants/MASC/P-001/consents", manager, withdraw, &r);
	is_int((long)jnum(&r, "specimens_flagged", -1), 0, "withdrawing again flags nothing new");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM events WHERE type = 'consent_withdrawn'"), 5,
	       "  and writes no second event");

	/* A new specimen for the withdrawn participant is refused by the database. */
	ok(!add_specimen(t, "P-001", "plasma", "y5", "registered"),
	   "the database refuses a new specimen of the withdrawn participant");
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE type = 'plasma'"), 0,
	       "no new specimen can be added once biobank consent is withdrawn");

	api(t, "POST", "/api/v1/participants/MASC/P-001/consents", manager,
	    "{\"scope\":\"biobank\",\"status\":\"given\",\"date\":\"2024-04-01\",\"version\":\"v2."
	    "0\"}",
	    &r);
	is_int(r.status, 201, "consent given again later: 201");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE consent_withdrawn"), 5,
	       "  does not unflag the specimens (destruction workflow started)");

	api(t, "GET", "/api/v1/participants/MASC/P-001", tech, NULL, &r);
	is_int(r.status, 200, "GET MASC/P-001");
	cJSON *cs = cJSON_GetObjectItem(r.json, "consents");
	is_int(cJSON_GetArraySize(cs), 5, "  lists all 5 decisions");
	is_str(jstr(&r, "consents.0.version"), "v1.0", "  oldest first");
	is_str(jstr(&r, "consents.2.status"), "withdrawn", "  the withdrawal third");
	is_str(jstr(&r, "consents.4.version"), "v2.0", "  the re-consent last");
	is_str(jstr(&r, "consents.0.recorded_by"), "mgr", "  each with recorded_by");
	is_str(jstr(&r, "consent.biobank"), "given", "  biobank consent in force: given");
	is_str(jstr(&r, "consent.genetic"), "given", "  genetic: given");
	ok(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "consent"), "study")),
	   "  study: null, never recorded");
	cJSON *counts = cJSON_GetObjectItem(r.json, "specimen_counts");
	is_int(cJSON_GetArraySize(counts), 3, "  specimen counts in 3 groups");
	is_str(jstr(&r, "specimen_counts.0.type"), "dna", "  dna first");
	is_str(jstr(&r, "specimen_counts.1.timepoint"), "baseline", "  then serum baseline");
	is_int((long)jnum(&r, "specimen_counts.1.count", 0), 3, "  3 serum at baseline");
	is_int((long)jnum(&r, "specimen_counts.1.by_status.registered", 0), 3, "  all registered");
	is_str(jstr(&r, "specimen_counts.2.timepoint"), "m12", "  serum m12");
	is_int((long)jnum(&r, "specimen_counts.2.by_status.consumed", 0), 1,
	       "  counts a consumed tube too");
	is_int((long)jnum(&r, "specimen_counts.2.consent_withdrawn", 0), 1,
	       "  and says how many are flagged");
	resp_free(&r);

	api(t, "GET", "/api/v1/participants?study=MASC&limit=50", tech, NULL, &r);
	cJSON *it;
	const char *p1_biobank = NULL;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
	{
		if (strcmp(cJSON_GetObjectItem(it, "code")->valuestring, "P-001") == 0)
			p1_biobank =
			    cJSON_GetObjectItem(cJSON_GetObjectItem(it, "consent"), "biobank")
			        ->valuestring;
	}
	is_str(p1_biobank, "given", "the list shows the consent in force too");
	resp_free(&r);
}

static void
reference_lists(struct tenv *t)
{
	struct resp r;

	api(t, "GET", "/api/v1/specimen-types", printer, NULL, &r);
	is_int(r.status, 200, "even a printer lists specimen types");
	is_int(items_count(&r), 10, "  the 10 seeded ones");
	is_str(jstr(&r, "items.0.code"), "bal_fluid", "  by code");
	resp_free(&r);

	api(t, "POST", "/api/v1/specimen-types", manager,
	    "{\"code\":\"csf\",\"name\":\"Cerebrospinal fluid\"}", &r);
	is_int(r.status, 201, "a manager adds specimen type csf: 201");
	is_str(jstr(&r, "code"), "csf", "  code");
	is_str(jstr(&r, "name"), "Cerebrospinal fluid", "  name");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimen-types", tech, NULL, &r);
	is_int(items_count(&r), 11, "  and it is listed");
	resp_free(&r);

	api(t, "POST", "/api/v1/specimen-types", manager, "{\"code\":\"serum\",\"name\":\"Dup\"}",
	    &r);
	ok(is_problem(&r, 409), "a duplicate type code is 409");
	resp_free(&r);
	api(t, "POST", "/api/v1/specimen-types", manager, "{\"code\":\"Urine\",\"name\":\"U\"}",
	    &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "code"),
	   "an upper-case type code is 400 naming code");
	resp_free(&r);
	api(t, "POST", "/api/v1/specimen-types", manager, "{\"code\":\"urine\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "name"), "a type without name is 400");
	resp_free(&r);
	api(t, "POST", "/api/v1/specimen-types", tech, "{\"code\":\"urine\",\"name\":\"Urine\"}",
	    &r);
	ok(is_problem(&r, 403), "a technician may not add types: 403");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimen_types"), 11,
	       "  the refused types left nothing");

	api(t, "GET", "/api/v1/diagnoses", auditor, NULL, &r);
	is_int(r.status, 200, "GET /diagnoses");
	is_int(items_count(&r), 14, "  all 14");
	is_str(jstr(&r, "items.0.code"), "ASyS", "  by code ignoring case");
	ok(jstr(&r, "items.0.name") != NULL, "  with names");
	resp_free(&r);
}

static void
audit_log(struct tenv *t)
{
	struct resp r;
	char path[600];

	api(t, "GET", "/api/v1/audit-log?entity=participant&entity_id=MASC/P-001", auditor, NULL,
	    &r);
	is_int(r.status, 200, "an auditor reads the audit log of MASC/P-001");
	is_int(items_count(&r), 1, "  one change: its creation");
	is_str(jstr(&r, "items.0.action"), "create", "  action create");
	is_str(jstr(&r, "items.0.actor"), "tech", "  by the technician");
	is_str(jstr(&r, "items.0.after.code"), "P-001", "  after holds the record");
	ok(cJSON_IsNull(cJSON_GetObjectItem(
	       cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"), 0), "before")),
	   "  before is null");
	ok(jstr(&r, "items.0.at") != NULL && jnum(&r, "items.0.id", 0) > 0, "  with at and id");
	resp_free(&r);

	api(t, "GET", "/api/v1/audit-log?entity=consent&actor=mgr", manager, NULL, &r);
	is_int(items_count(&r), 5, "the manager's 5 consent records");
	ok(jnum(&r, "items.0.id", 0) > jnum(&r, "items.4.id", 0), "  newest first");
	is_str(jstr(&r, "items.0.after.version"), "v2.0", "  the latest (re-consent) first");
	resp_free(&r);

	api(t, "GET", "/api/v1/audit-log?entity=user", auditor, NULL, &r);
	ok(items_count(&r) >= 7, "user accounts are in the log (%d)", items_count(&r));
	ok(r.body && strstr(r.body, "password_hash") == NULL && strstr(r.body, "$argon2") == NULL,
	   "  without password hashes");
	resp_free(&r);

	/* Paging: 3 at a time over everything, newest first, no repeats. */
	long total = sql_int(t, "SELECT count(*) FROM audit_log");
	char cursor[256] = "";
	double prev = 1e18;
	long seen = 0;
	bool desc = true;
	int pages = 0;
	do {
		snprintf(path, sizeof(path), "/api/v1/audit-log?limit=7%s%s",
		         *cursor ? "&cursor=" : "", cursor);
		api(t, "GET", path, manager, NULL, &r);
		if (r.status != 200) {
			resp_free(&r);
			break;
		}
		pages++;
		cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
		{
			double id = cJSON_GetObjectItem(it, "id")->valuedouble;

			if (id >= prev)
				desc = false;
			prev = id;
			seen++;
		}
		const cJSON *nc = cJSON_GetObjectItem(r.json, "next_cursor");
		snprintf(cursor, sizeof(cursor), "%s", cJSON_IsString(nc) ? nc->valuestring : "");
		resp_free(&r);
	} while (*cursor && pages < 100);
	is_int(seen, total, "paging by 7 shows all %ld audit rows", total);
	ok(desc, "  strictly newest first across pages");

	/* since: a time after everything so far gives nothing; then one new change shows. */
	char *now = sql_value(t, "SELECT bb_rfc3339(clock_timestamp())", &(bool){ 0 });
	api(t, "POST", "/api/v1/studies", manager, "{\"code\":\"LATE\",\"name\":\"Late study\"}",
	    &r);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audit-log?since=%s", now ? now : "");
	api(t, "GET", path, auditor, NULL, &r);
	is_int(items_count(&r), 1, "?since= shows only the change made after it");
	is_str(jstr(&r, "items.0.entity"), "study", "  the new study");
	is_str(jstr(&r, "items.0.entity_id"), "LATE", "  keyed by its code");
	is_str(jstr(&r, "items.0.actor"), "mgr", "  by the manager");
	resp_free(&r);
	free(now);

	/* A MASC-only manager sees MASC's records, shared ones, but no other study nor accounts. */
	char *masc_id =
	    sql_value(t, "SELECT id || '/' FROM studies WHERE code = 'MASC'", &(bool){ 0 });
	api(t, "GET", "/api/v1/audit-log?limit=1000", masc_manager, NULL, &r);
	bool leak = false, has_masc = false;
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
	{
		const char *e = cJSON_GetObjectItem(it, "entity")->valuestring;
		const char *id = cJSON_GetObjectItem(it, "entity_id")->valuestring;

		if (strcmp(e, "user") == 0 || strcmp(e, "token") == 0 ||
		    strcmp(e, "user_study") == 0 || (strcmp(e, "study") == 0 && strcmp(id, "MASC")))
			leak = true;
		if (strcmp(e, "participant") == 0 && masc_id != NULL &&
		    strncmp(id, masc_id, strlen(masc_id)) != 0)
			leak = true;
		if (strcmp(e, "participant") == 0)
			has_masc = true;
	}
	free(masc_id);
	ok(r.status == 200 && has_masc, "a MASC-only manager sees MASC's participants in the log");
	ok(!leak, "  and nothing of SSC-2, LATE, accounts or tokens");
	resp_free(&r);
	long ssc_part =
	    sql_int(t, "SELECT count(*) FROM audit_log WHERE entity = 'participant'"
	               " AND entity_id LIKE (SELECT id || '/%' FROM studies WHERE code = 'SSC-2')");
	is_int(ssc_part, 1, "  (the log does hold SSC-2's participant)");
	api(t, "GET", "/api/v1/audit-log?entity=participant&entity_id=SSC-2/P-001", masc_manager,
	    NULL, &r);
	is_int(items_count(&r), 0, "  asking for it by key gives nothing");
	resp_free(&r);

	const char *bad_since[] = { "yesterday", "2024-01-01", "2024-01-01T10:00:00" };
	for (size_t i = 0; i < sizeof(bad_since) / sizeof(bad_since[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/audit-log?since=%s", bad_since[i]);
		api(t, "GET", path, auditor, NULL, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, "since"),
		   "since=%s is 400 naming since", bad_since[i]);
		resp_free(&r);
	}
	api(t, "GET", "/api/v1/audit-log?limit=1001", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "limit"), "limit=1001 is 400");
	resp_free(&r);
	/* A participants cursor is not an audit-log cursor: "participants:[1, \"P-001\"]". */
	api(t, "GET", "/api/v1/audit-log?cursor=cGFydGljaXBhbnRzOlsxLCAiUC0wMDEiXQ", auditor, NULL,
	    &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "cursor"),
	   "another list's cursor is 400 naming cursor");
	resp_free(&r);
	api(t, "GET", "/api/v1/audit-log", tech, NULL, &r);
	ok(is_problem(&r, 403), "a technician may not read the audit log: 403");
	resp_free(&r);
	api(t, "GET", "/api/v1/audit-log", printer, NULL, &r);
	ok(is_problem(&r, 403), "nor may a printer: 403");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "participants", argc, argv);
	make_user(&t, "mgr", "manager", NULL, manager);
	make_user(&t, "tech", "technician", NULL, tech);
	make_user(&t, "aud", "auditor", NULL, auditor);
	make_user(&t, "zebra", "printer", NULL, printer);
	studies(&t);
	scoped_users(&t);
	participants(&t);
	paging(&t);
	consent(&t);
	reference_lists(&t);
	audit_log(&t);
	tenv_teardown(&t);
	return tap_done();
}
