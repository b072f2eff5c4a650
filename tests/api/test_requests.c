/*
 * test_requests.c — a specimen request end to end, from the users' actions:
 * a researcher files it (and mistypes it), another researcher guesses its
 * ID, a manager approves it (twice), allocation picks consented tubes with
 * the fewest thaws and keeps the last aliquot back, two allocations race,
 * a manager swaps tubes, a donor withdraws consent while tubes are
 * reserved, the technician scans the wrong tube at the bench, the tubes
 * ship in part, the recipient reports what it used, the rest is released.
 * Every refusal is checked for its code and for having left nothing behind.
 */
#include "world.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char rita[128], rob[128], sam[128], mona[128], max_[128], tom[128], ssc_manager[128];
/* Tubes by participant: base[i][0..1] baseline serum of P01i; m12 only for P010. */
static char base[8][2][16], m12[16];
static char r1[16];

static long countf(struct tenv *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long
countf(struct tenv *t, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return sql_int(t, sql);
}

/* What a refusal must leave as it was: requests, items, events, shipments, audit rows. */
static long
footprint(struct tenv *t)
{
	return sql_int(t,
	               "SELECT (SELECT count(*) FROM requests) * 1000000"
	               " + (SELECT count(*) FROM request_items) * 10000"
	               " + (SELECT count(*) FROM request_items WHERE picked_at IS NOT NULL) * 100"
	               " + (SELECT count(*) FROM events) + (SELECT count(*) FROM audit_log)"
	               " + (SELECT count(*) FROM shipments)");
}

/* A request refused with status and code, leaving nothing behind. */
static void
refused(struct tenv *t, const char *method, const char *path, const char *token, const char *body,
        long status, const char *code, const char *what)
{
	struct resp r;
	long before = footprint(t);

	api(t, method, path, token, body, &r);
	ok(is_problem(&r, status), "%s: %ld", what, status);
	is_str(jstr(&r, "code"), code, "  code %s", code);
	if (r.status != status)
		tap_diag("  %ld %s", r.status, r.body);
	is_int(footprint(t), before, "  nothing left behind");
	resp_free(&r);
}

static void
must(struct tenv *t, const char *method, const char *path, const char *token, const char *body,
     long status, struct resp *r)
{
	api(t, method, path, token, body, r);
	if (r->status != status)
		tap_diag("%s %s: %ld %s", method, path, r->status, r->body);
}

/* Register a tube of MASC/code at timepoint, 0.5 mL, stored at box pos. */
static void
tube(struct tenv *t, const char *code, const char *timepoint, const char *box, const char *pos,
     char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"%s\"},\"type\":\"serum\","
	         "\"timepoint\":\"%s\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	         "\"quantity\":{\"value\":0.5,\"unit\":\"mL\"}}",
	         code, timepoint);
	must(t, "POST", "/api/v1/specimens", t->admin_token, body, 201, &r);
	snprintf(id, 16, "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%s\"}", box, pos);
	world_act_quietly(t, id, "store", body);
}

static void
consent(struct tenv *t, const char *code, const char *scope, const char *status)
{
	char path[128], body[256];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/participants/MASC/%s/consents", code);
	snprintf(body, sizeof(body),
	         "{\"scope\":\"%s\",\"status\":\"%s\",\"date\":\"2026-01-05\",\"version\":\"v2\"}",
	         scope, status);
	must(t, "POST", path, t->admin_token, body, 201, &r);
	resp_free(&r);
}

static void
setup(struct tenv *t)
{
	world_make(t);
	/* A second freezer, whose name sorts after the first's, for the pick list order. */
	sql_exec(t,
	         "INSERT INTO locations (parent_id, kind, name, temperature_c)"
	         " SELECT id, 'freezer', 'Freezer 2', -150 FROM locations WHERE name = 'Main lab'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name)"
	            " SELECT id, 'rack', 'Rack 9' FROM locations WHERE name = 'Freezer 2'");
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT 'AAA-LN2', 9, 9, id FROM locations WHERE name = 'Rack 9'");
	sql_exec(t, "INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
	            " SELECT id, 'P01' || n, CASE WHEN n % 2 = 0 THEN 'female' ELSE 'male' END,"
	            " 1960 + n, CASE WHEN n = 7 THEN 'IBM' ELSE 'DM' END"
	            " FROM studies, generate_series(0, 7) n WHERE code = 'MASC'");
	make_user(t, "rita", "researcher", NULL, rita);
	make_user(t, "rob", "researcher", NULL, rob);
	make_user(t, "sam", "researcher", "[\"SSC\"]", sam);
	make_user(t, "mona", "manager", NULL, mona);
	make_user(t, "max", "manager", NULL, max_);
	make_user(t, "tom", "technician", NULL, tom);
	make_user(t, "mia", "manager", "[\"SSC\"]", ssc_manager);
	static const char *const rows = "ABCDEFGHI";
	for (int i = 0; i < 8; i++) {
		char code[8], pos[8];

		snprintf(code, sizeof(code), "P01%d", i);
		consent(t, code, "biobank", "given");
		if (i < 6)
			consent(t, code, "genetic", "given");
		/* The second tubes (those allocated) in two freezers, Freezer 1's box named
		 * after Freezer 2's: the pick list is sorted by freezer before box. */
		snprintf(pos, sizeof(pos), "%c%d", rows[i], 1);
		tube(t, code, "baseline", "BOX-A", pos, base[i][0]);
		snprintf(pos, sizeof(pos), "%c%d", rows[i], 2);
		tube(t, code, "baseline", i % 2 ? "BOX-B" : "AAA-LN2", pos, base[i][1]);
	}
	tube(t, "P010", "m12", "BOX-A", "I9", m12);
	/* Each participant's first tube thawed once: allocation takes the second. */
	for (int i = 0; i < 8; i++) {
		char body[96];

		world_act_quietly(t, base[i][0], "checkout", "{\"reason\":\"aliquoting\"}");
		snprintf(body, sizeof(body),
		         "{\"box\":\"BOX-A\",\"position\":\"%c1\",\"thawed\":true}", rows[i]);
		world_act_quietly(t, base[i][0], "return", body);
	}
	is_int(countf(t, "SELECT count(*) FROM specimens WHERE status = 'in_storage'"), 17,
	       "17 tubes in storage");
	is_int(countf(t, "SELECT count(*) FROM specimens WHERE freeze_thaw_count = 1"), 8,
	       "  8 of them thawed once");
}

static const char *const R1_BODY =
    "{\"title\":\"Baseline serum for GWAS follow-up\",\"project\":\"MYO-GEN\","
    "\"ethics_ref\":\"EPN 2026-0042\",\"mta_ref\":\"MTA-77\",\"purpose\":\"genetic\","
    "\"criteria\":{\"study\":\"MASC\",\"timepoints\":[\"baseline\"],\"types\":[\"serum\"],"
    "\"quantity\":{\"value\":0.4,\"unit\":\"mL\"},\"participants\":4,"
    "\"exclusions\":{\"diagnoses\":[\"IBM\"],\"max_freeze_thaw\":3}}}";

/* A request body for MASC serum: purpose, timepoint, participants, allow_last_aliquot. */
static const char *
body_for(char *buf, size_t cap, const char *purpose, const char *timepoint, int n, bool last)
{
	snprintf(buf, cap,
	         "{\"title\":\"t\",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
	         "\"purpose\":\"%s\",\"criteria\":{\"study\":\"MASC\",\"timepoints\":[\"%s\"],"
	         "\"types\":[\"serum\"],\"quantity\":{\"value\":0.1,\"unit\":\"mL\"},"
	         "\"participants\":%d,\"allow_last_aliquot\":%s}}",
	         purpose, timepoint, n, last ? "true" : "false");
	return buf;
}

/* File a request as token and return its id in id. */
static void
file(struct tenv *t, const char *token, const char *body, char id[16])
{
	struct resp r;

	must(t, "POST", "/api/v1/requests", token, body, 201, &r);
	snprintf(id, 16, "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
}

static void
act(struct tenv *t, const char *token, const char *id, const char *verb, const char *body,
    long status, struct resp *r)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/requests/%s/%s", id, verb);
	must(t, "POST", path, token, body, status, r);
}

static void
filing(struct tenv *t)
{
	struct resp r;

	api(t, "POST", "/api/v1/requests", rita, R1_BODY, &r);
	is_int(r.status, 201, "a researcher files a request");
	is_str(jstr(&r, "status"), "submitted", "  submitted");
	is_str(jstr(&r, "requester"), "rita", "  by rita");
	is_str(jstr(&r, "criteria.study"), "MASC", "  for MASC");
	ok(cJSON_GetObjectItem(r.json, "specimens") == NULL, "  a researcher's view has no tubes");
	snprintf(r1, sizeof(r1), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);

	static const struct {
		const char *body, *what, *code, *field;
	} bad[] = {
		{ "{\"title\":\"t\",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
		  "\"purpose\":\"cosmetic\",\"criteria\":{\"study\":\"MASC\",\"types\":[\"serum\"],"
		  "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"participants\":1}}",
		  "an unknown purpose", "invalid-input", "purpose" },
		{ "{\"title\":\"t\",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
		  "\"purpose\":\"genetic\",\"criteria\":{\"study\":\"MASC\","
		  "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"participants\":1}}",
		  "no types", "invalid-input", "criteria.types" },
		{ "{\"title\":\"t\",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
		  "\"purpose\":\"genetic\",\"criteria\":{\"study\":\"MASC\",\"types\":[\"serum\"],"
		  "\"quantity\":{\"value\":0,\"unit\":\"mL\"},\"participants\":1}}",
		  "a quantity of 0", NULL, "criteria.quantity.value" },
		{ "{\"title\":\"t\",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
		  "\"purpose\":\"genetic\",\"criteria\":{\"study\":\"MASC\",\"types\":[\"sperm\"],"
		  "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"participants\":1}}",
		  "an unknown type", "unknown-specimen-type", "criteria.types[0]" },
		{ "{\"title\":\"t\",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
		  "\"purpose\":\"genetic\",\"criteria\":{\"study\":\"NOPE\",\"types\":[\"serum\"],"
		  "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"participants\":1}}",
		  "an unknown study", "unknown-study", "criteria.study" },
		{ "{\"title\":\"t\",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
		  "\"purpose\":\"genetic\",\"criteria\":{\"study\":\"MASC\",\"types\":[\"serum\"],"
		  "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"participants\":1,"
		  "\"participant_codes\":[\"P010\"]}}",
		  "a participant-level criterion", NULL, "criteria.participant_codes" },
		{ "{\"title\":\"  \",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
		  "\"purpose\":\"genetic\",\"criteria\":{\"study\":\"MASC\",\"types\":[\"serum\"],"
		  "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"participants\":1}}",
		  "a blank title", "invalid-input", "title" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long before = footprint(t);

		api(t, "POST", "/api/v1/requests", rita, bad[i].body, &r);
		ok(is_problem(&r, 400), "%s: 400", bad[i].what);
		ok(problem_names_field(&r, bad[i].field), "  naming %s", bad[i].field);
		if (bad[i].code != NULL)
			is_str(jstr(&r, "code"), bad[i].code, "  code %s", bad[i].code);
		is_int(footprint(t), before, "  nothing left behind");
		resp_free(&r);
	}
	/* A researcher of SSC only: MASC does not exist for it. */
	api(t, "POST", "/api/v1/requests", sam, R1_BODY, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "criteria.study"),
	   "a researcher limited to SSC cannot ask for MASC tubes (400 naming criteria.study)");
	is_str(jstr(&r, "code"), "unknown-study", "  unknown-study");
	resp_free(&r);
}

/* Another researcher guesses IDs; researchers never read tubes or people. */
static void
guessing(struct tenv *t)
{
	struct resp r;
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/requests/%s", r1);
	refused(t, "GET", path, rob, NULL, 404, "request-not-found",
	        "another researcher guessing the request's ID");
	refused(t, "GET", "/api/v1/requests/999999", rob, NULL, 404, "request-not-found",
	        "  and an ID that does not exist: the same answer");
	api(t, "GET", "/api/v1/requests", rob, NULL, &r);
	is_int(r.status, 200, "rob lists requests");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0,
	       "  and sees none of rita's");
	resp_free(&r);
	api(t, "GET", "/api/v1/requests", rita, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 1, "rita sees her one");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s", base[0][0]);
	refused(t, "GET", path, rita, NULL, 403, "forbidden", "a researcher reading a specimen");
	refused(t, "GET", "/api/v1/specimens", rita, NULL, 403, "forbidden",
	        "a researcher listing specimens");
	refused(t, "GET", "/api/v1/participants", rita, NULL, 403, "forbidden",
	        "a researcher listing participants");
	refused(t, "GET", "/api/v1/participants/MASC/P010", rita, NULL, 403, "forbidden",
	        "a researcher reading a participant");
	snprintf(path, sizeof(path), "/api/v1/requests/%s/pick-list", r1);
	refused(t, "GET", path, rita, NULL, 403, "forbidden", "a researcher reading the pick list");
	snprintf(path, sizeof(path), "/api/v1/requests/%s/approve", r1);
	refused(t, "POST", path, rita, "{}", 403, "forbidden", "a researcher approving");
}

static void
deciding(struct tenv *t)
{
	struct resp r;
	char path[128], r2[16], r3[16];

	snprintf(path, sizeof(path), "/api/v1/requests/%s/allocate", r1);
	refused(t, "POST", path, mona, NULL, 409, "request-state",
	        "allocating a request not approved yet");
	long audit = countf(t,
	                    "SELECT count(*) FROM audit_log WHERE entity = 'request'"
	                    " AND entity_id = '%s'",
	                    r1);
	act(t, mona, r1, "approve", "{\"reason\":\"ethics checked\"}", 200, &r);
	is_int(r.status, 200, "a manager approves");
	is_str(jstr(&r, "status"), "approved", "  approved");
	is_str(jstr(&r, "decision.by"), "mona", "  by mona");
	resp_free(&r);
	is_int(countf(t,
	              "SELECT count(*) FROM audit_log WHERE entity = 'request'"
	              " AND entity_id = '%s' AND after ->> 'status' = 'approved'",
	              r1),
	       1, "  in the audit log");
	ok(audit >= 1, "  after its filing");
	snprintf(path, sizeof(path), "/api/v1/audit-log?entity=request&entity_id=%s", r1);
	api(t, "GET", path, mona, NULL, &r);
	ok(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")) >= 2,
	   "  a manager reads the request's audit log");
	resp_free(&r);
	api(t, "GET", path, ssc_manager, NULL, &r);
	ok(r.status == 200 && cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")) == 0,
	   "  a manager of SSC only does not see a MASC request's entries");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/requests/%s", r1);
	refused(t, "GET", path, ssc_manager, NULL, 404, "request-not-found",
	        "  nor the request itself");
	snprintf(path, sizeof(path), "/api/v1/requests/%s/approve", r1);
	refused(t, "POST", path, max_, "{}", 409, "request-state", "a manager approving twice");
	snprintf(path, sizeof(path), "/api/v1/requests/%s/reject", r1);
	refused(t, "POST", path, max_, "{\"reason\":\"late\"}", 409, "request-state",
	        "rejecting an approved request");

	file(t, rob, R1_BODY, r2);
	snprintf(path, sizeof(path), "/api/v1/requests/%s/reject", r2);
	refused(t, "POST", path, mona, "{}", 400, "invalid-input", "a rejection without a reason");
	act(t, mona, r2, "reject", "{\"reason\":\"no MTA on file\"}", 200, &r);
	is_str(jstr(&r, "status"), "rejected", "rejected with a reason");
	is_str(jstr(&r, "decision.reason"), "no MTA on file", "  the reason kept");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/requests/%s/allocate", r2);
	refused(t, "POST", path, mona, NULL, 409, "request-state", "allocating a rejected request");

	file(t, mona, R1_BODY, r3);
	snprintf(path, sizeof(path), "/api/v1/requests/%s/approve", r3);
	refused(t, "POST", path, mona, "{}", 409, "own-request",
	        "a manager approving a request she filed");
	snprintf(path, sizeof(path), "/api/v1/requests/%s/reject", r3);
	act(t, max_, r3, "reject", "{\"reason\":\"duplicate\"}", 200, &r);
	resp_free(&r);
}

static void
allocating(struct tenv *t)
{
	struct resp r;
	char path[128], r4[16], r5[16], buf[1024];

	long events = countf(t, "SELECT count(*) FROM events WHERE type = 'reserved'");
	act(t, mona, r1, "allocate", NULL, 200, &r);
	is_int(r.status, 200, "allocation");
	is_str(jstr(&r, "status"), "allocated", "  allocated");
	is_int((long)jnum(&r, "allocation.specimens", -1), 4, "  4 tubes");
	is_int((long)jnum(&r, "allocation.participants", -1), 4, "  of 4 participants");
	resp_free(&r);
	is_int(countf(t, "SELECT count(*) FROM events WHERE type = 'reserved'") - events, 4,
	       "  a reserved event each");
	is_int(
	    countf(
	        t,
	        "SELECT count(*) FROM request_items i JOIN specimens s ON s.id = i.specimen_id"
	        " WHERE i.request_id = %s AND s.freeze_thaw_count = 0 AND s.status = 'in_storage'"
	        " AND s.timepoint = 'baseline'",
	        r1),
	    4, "  the never-thawed baseline tubes, still in storage");
	is_int(
	    countf(t,
	           "SELECT count(*) FROM request_items i JOIN specimens s ON s.id = i.specimen_id"
	           " JOIN participants p ON p.id = s.participant_id"
	           " WHERE i.request_id = %s AND p.code IN ('P016', 'P017')",
	           r1),
	    0, "  none of donors without genetic consent");
	is_int(countf(t,
	              "SELECT count(*) FROM events WHERE type = 'reserved'"
	              " AND details ->> 'request' = '%s'",
	              r1),
	       4, "  the events name the request");

	/* P010's only m12 tube is the last of its timepoint. */
	file(t, rita, body_for(buf, sizeof(buf), "non-genetic", "m12", 1, false), r4);
	act(t, mona, r4, "approve", "{}", 200, &r);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/requests/%s/allocate", r4);
	refused(t, "POST", path, mona, NULL, 409, "nothing-to-allocate",
	        "the last aliquot of a timepoint is kept back");
	/* The study's setting: off, the same request allocates; back on for what follows. */
	refused(t, "PUT", "/api/v1/studies/MASC/last-aliquot", rita, "{\"keep\":false}", 403,
	        "forbidden", "a researcher changing the study's last-aliquot rule");
	refused(t, "PUT", "/api/v1/studies/NOPE/last-aliquot", mona, "{\"keep\":false}", 404,
	        "study-not-found", "the rule of a study that does not exist");
	must(t, "PUT", "/api/v1/studies/MASC/last-aliquot", mona, "{\"keep\":false}", 200, &r);
	resp_free(&r);
	act(t, mona, r4, "allocate", NULL, 200, &r);
	is_str(jstr(&r, "specimens.0.id"), m12,
	       "a study that does not keep last aliquots: allocated");
	resp_free(&r);
	is_int(countf(t, "SELECT count(*) FROM audit_log WHERE entity = 'study'"
	                 " AND after ->> 'keep_last_aliquot' = 'false'"),
	       1, "  the setting's change in the audit log");
	act(t, mona, r4, "close", "{}", 200, &r);
	resp_free(&r);
	must(t, "PUT", "/api/v1/studies/MASC/last-aliquot", mona, "{\"keep\":true}", 200, &r);
	resp_free(&r);
	file(t, rita, body_for(buf, sizeof(buf), "non-genetic", "m12", 1, true), r5);
	act(t, max_, r5, "approve", "{\"reason\":\"last aliquot agreed with the PI\"}", 200, &r);
	resp_free(&r);
	act(t, mona, r5, "allocate", NULL, 200, &r);
	is_str(jstr(&r, "specimens.0.id"), m12, "unless the request says so, and it is approved");
	resp_free(&r);
	act(t, mona, r5, "release", "{\"reason\":\"PI changed her mind\"}", 200, &r);
	is_str(jstr(&r, "status"), "approved", "release: back to approved");
	is_str(jstr(&r, "specimens.0.state"), "released", "  the tube released");
	resp_free(&r);
	is_int(countf(t,
	              "SELECT count(*) FROM events WHERE type = 'released' AND specimen_id = '%s'",
	              m12),
	       2, "  with a released event (after the one of closing the first)");
	snprintf(path, sizeof(path), "/api/v1/requests/%s/release", r5);
	refused(t, "POST", path, mona, "{}", 409, "request-state", "releasing twice");
}

struct race {
	struct tenv *t;
	const char *token; /* the manager allocating */
	char id[16];
	long status;
};

static void *
race_allocate(void *arg)
{
	struct race *w = arg;
	char path[128];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/requests/%s/allocate", w->id);
	http(w->t->d.url, "POST", path, w->token, NULL, NULL, 0, &r);
	w->status = r.status;
	resp_free(&r);
	return NULL;
}

/* Two requests that each want every free tube, allocated at the same moment by two managers. */
static void
racing(struct tenv *t, char loser_out[16], char winner_out[16])
{
	struct race w[2] = { { .t = t, .token = mona }, { .t = t, .token = max_ } };
	pthread_t th[2];
	char buf[1024];
	struct resp r;

	for (int i = 0; i < 2; i++) {
		file(t, rob, body_for(buf, sizeof(buf), "non-genetic", "baseline", 8, false),
		     w[i].id);
		act(t, mona, w[i].id, "approve", "{}", 200, &r);
		resp_free(&r);
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, race_allocate, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ok((w[0].status == 200 || w[0].status == 409) &&
	       (w[1].status == 200 || w[1].status == 409) &&
	       (w[0].status == 200 || w[1].status == 200),
	   "two managers allocate two requests at once: %ld and %ld", w[0].status, w[1].status);
	is_int(countf(t, "SELECT count(*) FROM (SELECT specimen_id FROM request_items"
	                 " WHERE state = 'reserved' GROUP BY 1 HAVING count(*) > 1) x"),
	       0, "  never share a tube");
	is_int(
	    countf(t, "SELECT count(*) FROM request_items WHERE request_id IN (%s, %s)", w[0].id,
	           w[1].id),
	    countf(t,
	           "SELECT count(*) FROM events WHERE type = 'reserved' AND details ->> 'request'"
	           " IN ('%s', '%s')",
	           w[0].id, w[1].id),
	    "  one reserved event per reservation");
	/* Four donors' second tubes are on R1; their first tubes (thawed) and the other four's
	 * are free, but the first of each pair is then the last of its timepoint. */
	ok(countf(t, "SELECT count(*) FROM request_items WHERE request_id IN (%s, %s)", w[0].id,
	          w[1].id) > 0,
	   "  and tubes were allocated");
	int win = w[0].status == 200 ? 0 : 1;
	snprintf(winner_out, 16, "%s", w[win].id);
	snprintf(loser_out, 16, "%s", w[1 - win].id);
}

static void
swapping(struct tenv *t, const char *other)
{
	struct resp r;
	char path[160], body[160];
	char *dropped = sql_value(
	    t, "SELECT min(specimen_id) FROM request_items WHERE request_id = 1", &(bool){ false });
	char *foreign = NULL;
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT min(specimen_id) FROM request_items WHERE request_id = %s AND state = "
	         "'reserved'",
	         other);
	foreign = sql_value(t, sql, &(bool){ false });

	snprintf(path, sizeof(path), "/api/v1/requests/%s/specimens/%s", r1, dropped);
	must(t, "DELETE", path, mona, NULL, 200, &r);
	is_int((long)jnum(&r, "allocation.specimens", -1), 3, "a manager drops a tube: 3 left");
	resp_free(&r);
	refused(t, "DELETE", path, mona, NULL, 404, "specimen-not-on-request", "dropping it twice");

	snprintf(path, sizeof(path), "/api/v1/requests/%s/specimens", r1);
	/* P016 gave no genetic consent. */
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", base[6][0]);
	refused(t, "POST", path, mona, body, 409, "criteria-unmet",
	        "adding a tube whose donor gave no genetic consent");
	if (foreign != NULL) {
		snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", foreign);
		refused(t, "POST", path, mona, body, 409, "specimen-reserved",
		        "adding a tube reserved for another request");
	}
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", dropped);
	must(t, "POST", path, mona, body, 200, &r);
	is_int((long)jnum(&r, "allocation.specimens", -1), 4, "  and takes it back: a swap");
	resp_free(&r);
	free(dropped);
	free(foreign);
}

static void
withdrawing(struct tenv *t)
{
	struct resp r;
	char path[128];
	/* A donor on R1 withdraws genetic consent (biobank consent stands). */
	char *code = sql_value(t,
	                       "SELECT min(p.code) FROM request_items i JOIN specimens s ON s.id = "
	                       "i.specimen_id JOIN participants p ON p.id = s.participant_id"
	                       " WHERE i.request_id = 1 AND i.state = 'reserved'",
	                       &(bool){ false });

	consent(t, code, "genetic", "withdrawn");
	snprintf(path, sizeof(path), "/api/v1/requests/%s", r1);
	api(t, "GET", path, mona, NULL, &r);
	is_int((long)jnum(&r, "allocation.specimens", -1), 3,
	       "a genetic withdrawal takes the donor's tube off the genetic request");
	is_str(jstr(&r, "notices.0.code"), "consent-withdrawn", "  with a notice on it");
	ok(jstr(&r, "notices.0.specimens.0") != NULL, "  naming the tube to staff");
	resp_free(&r);
	api(t, "GET", path, rita, NULL, &r);
	is_str(jstr(&r, "notices.0.code"), "consent-withdrawn", "  the researcher sees the notice");
	ok(jstr(&r, "notices.0.specimens.0") == NULL && strstr(r.body, code) == NULL,
	   "  without a tube ID or the donor's code");
	resp_free(&r);
	is_int(countf(t,
	              "SELECT count(*) FROM events e JOIN specimens s ON s.id = e.specimen_id"
	              " JOIN participants p ON p.id = s.participant_id"
	              " WHERE e.type = 'released' AND p.code = '%s' AND e.details ? 'consent'",
	              code),
	       1, "  and a released event");
	free(code);
}

static void
picking(struct tenv *t)
{
	struct resp r;
	char path[128], body[256], first[16] = "", second[16] = "";

	snprintf(path, sizeof(path), "/api/v1/requests/%s/pick-list", r1);
	must(t, "GET", path, tom, NULL, 200, &r);
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items"));
	is_int(n, 3, "the pick list holds the 3 reserved tubes");
	snprintf(first, sizeof(first), "%s",
	         jstr(&r, "items.0.specimen") ? jstr(&r, "items.0.specimen") : "");
	snprintf(second, sizeof(second), "%s",
	         jstr(&r, "items.1.specimen") ? jstr(&r, "items.1.specimen") : "");
	bool sorted = true;
	char prev[96] = "";
	for (int i = 0; i < n; i++) {
		char key[96], k1[32], k2[32];

		snprintf(k1, sizeof(k1), "items.%d.box", i);
		snprintf(k2, sizeof(k2), "items.%d.position", i);
		char k0[32];

		snprintf(k0, sizeof(k0), "items.%d.freezer", i);
		snprintf(key, sizeof(key), "%s|%s|%s", jstr(&r, k0), jstr(&r, k1), jstr(&r, k2));
		sorted = sorted && strcmp(prev, key) <= 0;
		snprintf(prev, sizeof(prev), "%s", key);
	}
	ok(sorted, "  sorted by freezer, box and position");
	is_str(jstr(&r, "items.0.freezer"), "Freezer 1", "  Freezer 1's tubes first");
	is_str(jstr(&r, "items.2.freezer"), "Freezer 2",
	       "  then Freezer 2's, though its box sorts first");
	resp_free(&r);

	const char *csv_hdr[] = { "Accept: text/csv", NULL };
	http_h(t->d.url, "GET", path, tom, NULL, NULL, 0, csv_hdr, &r);
	is_int(r.status, 200, "the pick list as CSV");
	ok(strncmp(r.body, "line,freezer,temperature_c,location,box,position,specimen", 57) == 0,
	   "  with its header");
	ok(strstr(r.body, first) != NULL && strstr(r.body, first) < strstr(r.body, second),
	   "  the tubes in the same order");
	resp_free(&r);

	const char *pdf_hdr[] = { "Accept: application/pdf", NULL };
	http_h(t->d.url, "GET", path, tom, NULL, NULL, 0, pdf_hdr, &r);
	is_int(r.status, 200, "the pick list as PDF");
	ok(r.len > 5 && memcmp(r.body, "%PDF-", 5) == 0, "  is a PDF");
	is_str(r.content_type, "application/pdf", "  of its type");
	char file[] = "/tmp/bb-pick-XXXXXX";
	int fd = mkstemp(file);
	if (fd >= 0 && write(fd, r.body, r.len) == (ssize_t)r.len) {
		const char *argv[] = { "/usr/bin/pdftotext", "-layout", file, "-", NULL };
		char *text = NULL;

		/* poppler-utils is among the test dependencies: a PDF it cannot read fails. */
		bool read = run_cmd(argv, NULL, NULL, &text) == 0 && text != NULL;
		ok(read, "  pdftotext reads it");
		ok(read && strstr(text, first) != NULL && strstr(text, second) != NULL &&
		       strstr(text, first) < strstr(text, second),
		   "  the tubes in picking order");
		ok(read && (strstr(text, "AAA-LN2") != NULL || strstr(text, "BOX-A") != NULL),
		   "  with their boxes");
		ok(read && strstr(text, "Freezer") != NULL, "  under their freezer");
		free(text);
	}
	if (fd >= 0) {
		close(fd);
		unlink(file);
	}
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/requests/%s/picks", r1);
	snprintf(body, sizeof(body), "{\"specimen\":\"%s\"}", base[7][0]);
	api(t, "POST", path, tom, body, &r);
	ok(is_problem(&r, 409), "the wrong tube scanned at the bench: 409");
	is_str(jstr(&r, "code"), "wrong-tube", "  wrong-tube");
	is_str(jstr(&r, "expected.specimen"), first, "  naming the tube expected");
	resp_free(&r);
	long before = footprint(t);
	/* The technician says where she took it from: the list's tube there is expected. */
	char *where = NULL;
	{
		char sql[256];

		snprintf(
		    sql, sizeof(sql),
		    "SELECT b.barcode || ' ' || chr(64 + s.pos_row) || s.pos_col FROM specimens s"
		    " JOIN boxes b ON b.id = s.box_id WHERE s.id = '%s'",
		    second);
		where = sql_value(t, sql, &(bool){ false });
	}
	char box[32] = "", pos[8] = "";
	if (where != NULL)
		sscanf(where, "%31s %7s", box, pos);
	snprintf(body, sizeof(body), "{\"specimen\":\"%s\",\"box\":\"%s\",\"position\":\"%s\"}",
	         first, box, pos);
	api(t, "POST", path, tom, body, &r);
	is_str(jstr(&r, "code"), "wrong-tube", "a list tube taken from another tube's place");
	is_str(jstr(&r, "expected.specimen"), second, "  names the tube of that place");
	resp_free(&r);
	is_int(footprint(t), before, "  nothing picked");
	free(where);
	char misread[16];
	snprintf(misread, sizeof(misread), "%s", first);
	misread[7] = misread[7] == '0' ? '1' : '0';
	snprintf(body, sizeof(body), "{\"specimen\":\"%s\"}", misread);
	api(t, "POST", path, tom, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimen"),
	   "a misread ID (check character): 400 naming specimen");
	resp_free(&r);

	snprintf(body, sizeof(body), "{\"specimen\":\"%s\"}", first);
	api(t, "POST", path, tom, body, &r);
	is_int(r.status, 200, "the right tube scanned");
	is_int((long)jnum(&r, "remaining", -1), 2, "  2 to go");
	resp_free(&r);
	refused(t, "POST", path, tom, body, 409, "already-picked", "the same tube scanned twice");
	snprintf(body, sizeof(body), "{\"specimen\":\"%s\"}", second);
	api(t, "POST", path, tom, body, &r);
	is_int(r.status, 200, "the second tube scanned");
	resp_free(&r);
}

static void
shipping(struct tenv *t)
{
	struct resp r;
	char path[128], body[512], ship[16];
	char *unpicked = sql_value(t,
	                           "SELECT specimen_id FROM request_items WHERE request_id = 1 AND"
	                           " state = 'reserved' AND picked_at IS NULL LIMIT 1",
	                           &(bool){ false });

	snprintf(path, sizeof(path), "/api/v1/requests/%s/shipments", r1);
	snprintf(
	    body, sizeof(body),
	    "{\"destination\":\"Genomics core\",\"conditions\":\"dry_ice\",\"specimens\":[\"%s\"]}",
	    unpicked ? unpicked : "");
	refused(t, "POST", path, mona, body, 409, "not-picked", "shipping a tube not picked");
	snprintf(
	    body, sizeof(body),
	    "{\"destination\":\"Genomics core\",\"conditions\":\"dry_ice\",\"specimens\":[\"%s\"]}",
	    base[7][0]);
	refused(t, "POST", path, mona, body, 400, "not-on-request",
	        "shipping a tube of no request");

	/* A hand-made shipment may not take a tube held for a request. */
	api(t, "POST", "/api/v1/shipments", mona,
	    "{\"destination\":\"Elsewhere\",\"conditions\":\"dry_ice\"}", &r);
	char other[16];
	snprintf(other, sizeof(other), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	char opath[96];
	snprintf(opath, sizeof(opath), "/api/v1/shipments/%s/specimens", other);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", unpicked ? unpicked : "");
	refused(t, "POST", opath, mona, body, 409, "status-forbids",
	        "a reserved tube put on another shipment by hand");

	must(t, "POST", path, mona,
	     "{\"destination\":\"Genomics core\",\"conditions\":\"dry_ice\"}", 201, &r);
	is_int(r.status, 201, "the picked tubes become a shipment");
	is_int((long)jnum(&r, "request", 0), atol(r1), "  naming the request");
	is_int((long)jnum(&r, "specimen_count", 0), 2, "  with the 2 picked tubes (partial)");
	snprintf(ship, sizeof(ship), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/requests/%s", r1);
	api(t, "GET", path, rita, NULL, &r);
	is_str(jstr(&r, "status"), "shipped", "the request is shipped");
	is_int((long)jnum(&r, "allocation.shipped", -1), 2, "  2 tubes shipped");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/requests/%s/returns", r1);
	char *sent = sql_value(t,
	                       "SELECT min(specimen_id) FROM request_items WHERE request_id = 1"
	                       " AND state = 'shipped'",
	                       &(bool){ false });
	snprintf(body, sizeof(body), "{\"items\":[{\"specimen\":\"%s\",\"consumed\":0.3}]}", sent);
	refused(t, "POST", path, mona, body, 409, "shipment-state",
	        "a return reported before the shipment left");
	char dpath[96];
	snprintf(dpath, sizeof(dpath), "/api/v1/shipments/%s/dispatch", ship);
	must(t, "POST", dpath, mona, NULL, 200, &r);
	resp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"items\":[{\"specimen\":\"%s\",\"consumed\":0.4,\"returned\":0.3}]}", sent);
	refused(t, "POST", path, mona, body, 400, "value-out-of-range",
	        "more reported used and returned than the tube held");
	snprintf(body, sizeof(body), "{\"items\":[{\"specimen\":\"%s\"}]}", sent);
	refused(t, "POST", path, mona, body, 400, "invalid-input", "a return with no amount");
	snprintf(body, sizeof(body),
	         "{\"items\":[{\"specimen\":\"%s\",\"consumed\":0.3,\"returned\":0.2}]}", sent);
	must(t, "POST", path, mona, body, 200, &r);
	is_int(r.status, 200, "consumed and returned amounts recorded");
	resp_free(&r);
	is_int(countf(t,
	              "SELECT count(*) FROM request_items WHERE specimen_id = '%s'"
	              " AND consumed = 0.3 AND returned = 0.2",
	              sent),
	       1, "  on the tube's line");
	free(sent);
	free(unpicked);
}

static void
closing(struct tenv *t, const char *loser, const char *winner)
{
	struct resp r;
	char path[128];

	long released = countf(t, "SELECT count(*) FROM events WHERE type = 'released'");
	act(t, mona, r1, "close", "{\"reason\":\"project complete\"}", 200, &r);
	is_str(jstr(&r, "status"), "closed", "closing the request");
	resp_free(&r);
	is_int(countf(t,
	              "SELECT count(*) FROM request_items WHERE request_id = %s"
	              " AND state = 'reserved'",
	              r1),
	       0, "  releases its unshipped tube");
	is_int(countf(t, "SELECT count(*) FROM events WHERE type = 'released'") - released, 1,
	       "  with an event");
	snprintf(path, sizeof(path), "/api/v1/requests/%s/close", r1);
	refused(t, "POST", path, mona, "{}", 409, "request-state", "closing twice");
	snprintf(path, sizeof(path), "/api/v1/requests/%s/picks", r1);
	char body[64];
	snprintf(body, sizeof(body), "{\"specimen\":\"%s\"}", base[0][0]);
	refused(t, "POST", path, tom, body, 409, "request-state", "picking for a closed request");
	act(t, mona, winner, "release", "{}", 200, &r);
	is_str(jstr(&r, "status"), "approved", "the race's winner releases its tubes");
	resp_free(&r);
	is_int(countf(t, "SELECT count(*) FROM request_items WHERE state = 'reserved'"), 0,
	       "  no tube is reserved any more");
	(void)loser;
	is_int(
	    countf(t,
	           "SELECT count(*) FROM specimens WHERE status NOT IN ('in_storage', 'shipped')"),
	    0, "  every tube in storage or shipped, as the ledger says");
}

/* Register a serum tube of MASC/code at m3 with a SPREC code, stored in BOX-B at pos. */
static void
sprec_tube(struct tenv *t, const char *code, const char *sprec, const char *pos, char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"%s\"},\"type\":\"serum\","
	         "\"timepoint\":\"m3\",\"collected_at\":\"2026-06-01T09:30:00Z\","
	         "\"quantity\":{\"value\":0.5,\"unit\":\"mL\"},\"sprec\":\"%s\"}",
	         code, sprec);
	must(t, "POST", "/api/v1/specimens", t->admin_token, body, 201, &r);
	snprintf(id, 16, "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"box\":\"BOX-B\",\"position\":\"%s\"}", pos);
	world_act_quietly(t, id, "store", body);
}

/* A request body for m3 serum of 3 donors with criteria.sprec as given. */
static const char *
sprec_body(char *buf, size_t cap, const char *sprec)
{
	snprintf(
	    buf, cap,
	    "{\"title\":\"Fast-spun "
	    "serum\",\"project\":\"p\",\"ethics_ref\":\"e\",\"mta_ref\":\"m\","
	    "\"purpose\":\"non-genetic\",\"criteria\":{\"study\":\"MASC\",\"timepoints\":[\"m3\"],"
	    "\"types\":[\"serum\"],\"quantity\":{\"value\":0.1,\"unit\":\"mL\"},"
	    "\"participants\":3,\"allow_last_aliquot\":true,\"sprec\":%s}}",
	    sprec);
	return buf;
}

/*
 * A researcher asks for serum spun within 2 hours of collection: only tubes
 * whose SPREC pre-centrifugation delay is under 2 h are allocated; a code
 * list picks by code; a code that does not exist, an element of tissue
 * codes and an empty criterion are refused, naming the field.
 */
static void
sprec_criteria_allocation(struct tenv *t)
{
	static const char *const fast = "SER-SST-A-B-N-B-A", *const slow = "SER-SST-C-B-N-B-A";
	char ids[3][2][16], q[16], buf[1024], path[128];
	struct resp r;

	sql_exec(t, "INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
	            " SELECT id, 'P02' || n, 'female', 1970, 'DM'"
	            " FROM studies, generate_series(0, 2) n WHERE code = 'MASC'");
	for (int i = 0; i < 3; i++) {
		char code[8], pos[2][8];

		snprintf(code, sizeof(code), "P02%d", i);
		consent(t, code, "biobank", "given");
		snprintf(pos[0], sizeof(pos[0]), "%c5", "ABC"[i]);
		snprintf(pos[1], sizeof(pos[1]), "%c6", "ABC"[i]);
		/* P020: both spun fast; P021: both slow; P022: one of each. */
		sprec_tube(t, code, i == 1 ? slow : fast, pos[0], ids[i][0]);
		sprec_tube(t, code, i == 0 ? fast : slow, pos[1], ids[i][1]);
	}

	file(t, rita, sprec_body(buf, sizeof(buf), "{\"pre_centrifugation_max_hours\":2}"), q);
	snprintf(path, sizeof(path), "/api/v1/requests/%s", q);
	must(t, "GET", path, rita, NULL, 200, &r);
	is_int((long)jnum(&r, "criteria.sprec.pre_centrifugation_max_hours", -1), 2,
	       "a request for serum spun within 2 h keeps its SPREC criterion");
	resp_free(&r);
	act(t, mona, q, "approve", "{}", 200, &r);
	resp_free(&r);
	act(t, max_, q, "allocate", NULL, 200, &r);
	is_int((long)jnum(&r, "allocation.participants", -1), 2,
	       "  allocation finds 2 donors with such a tube, not the one whose were spun late");
	resp_free(&r);
	is_int(
	    countf(t,
	           "SELECT count(*) FROM request_items i JOIN specimens s ON s.id = i.specimen_id"
	           " WHERE i.request_id = %s AND s.sprec = '%s'",
	           q, fast),
	    2, "  both tubes spun within 2 h (pre-centrifugation code A)");
	is_int(
	    countf(
	        t,
	        "SELECT count(*) FROM request_items WHERE request_id = %s AND specimen_id = '%s'",
	        q, ids[2][0]),
	    1, "  the mixed donor's fast tube, not its slow one");
	act(t, mona, q, "close", "{}", 200, &r);
	resp_free(&r);

	/* By code, in lower case as typed: the slow tubes. */
	file(t, rita, sprec_body(buf, sizeof(buf), "{\"pre_centrifugation\":[\"c\"]}"), q);
	act(t, mona, q, "approve", "{}", 200, &r);
	resp_free(&r);
	act(t, max_, q, "allocate", NULL, 200, &r);
	is_int((long)jnum(&r, "allocation.participants", -1), 2,
	       "a request by pre-centrifugation code C gets the 2 donors with a slow tube");
	resp_free(&r);
	is_int(
	    countf(t,
	           "SELECT count(*) FROM request_items i JOIN specimens s ON s.id = i.specimen_id"
	           " WHERE i.request_id = %s AND s.sprec = '%s'",
	           q, slow),
	    2, "  both of code C");
	act(t, mona, q, "close", "{}", 200, &r);
	resp_free(&r);

	static const struct {
		const char *sprec, *what, *field;
	} bad[] = {
		{ "{\"pre_centrifugation\":[\"A\",\"Q\"]}",
		  "a pre-centrifugation code that does not exist",
		  "criteria.sprec.pre_centrifugation[1]" },
		{ "{}", "SPREC criteria that name nothing", "criteria.sprec" },
		{ "{\"warm_ischemia\":[\"A\"]}", "an element of the tissue code",
		  "criteria.sprec.warm_ischemia" },
		{ "{\"pre_centrifugation_max_hours\":-1}", "a negative delay",
		  "criteria.sprec.pre_centrifugation_max_hours" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long before = footprint(t);

		api(t, "POST", "/api/v1/requests", rita, sprec_body(buf, sizeof(buf), bad[i].sprec),
		    &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "%s: 400 naming %s", bad[i].what, bad[i].field);
		if (r.status != 400)
			tap_diag("  %ld %s", r.status, r.body);
		is_int(footprint(t), before, "  nothing left behind");
		resp_free(&r);
	}
	api(t, "POST", "/api/v1/requests", rita,
	    sprec_body(buf, sizeof(buf), "{\"pre_centrifugation\":[\"Q\"]}"), &r);
	is_str(jstr(&r, "code"), "sprec-invalid", "an unknown code is sprec-invalid");
	resp_free(&r);
}

/*
 * A request shipped in two parts: the first part leaves, the second waits
 * as a draft when a donor withdraws biobank consent; the donor's tube comes
 * off the draft shipment with a released event and a notice, the rest
 * leaves, and the recipient reports on what it got.
 */
static void
two_shipments(struct tenv *t)
{
	struct resp r;
	char q[16], path[160], body[512], s1[16], s2[16], buf[1024];

	file(t, rob, body_for(buf, sizeof(buf), "non-genetic", "baseline", 3, true), q);
	act(t, mona, q, "approve", "{}", 200, &r);
	resp_free(&r);
	act(t, max_, q, "allocate", NULL, 200, &r);
	int n = (int)jnum(&r, "allocation.specimens", 0);
	resp_free(&r);
	ok(n == 3, "a third request: 3 tubes allocated (%d)", n);
	snprintf(path, sizeof(path), "/api/v1/requests/%s/pick-list", q);
	must(t, "GET", path, tom, NULL, 200, &r);
	char ids[3][16] = { "", "", "" };
	for (int i = 0; i < 3 && i < n; i++) {
		char key[32];

		snprintf(key, sizeof(key), "items.%d.specimen", i);
		snprintf(ids[i], 16, "%s", jstr(&r, key) ? jstr(&r, key) : "");
	}
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/requests/%s/picks", q);
	for (int i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"specimen\":\"%s\"}", ids[i]);
		must(t, "POST", path, tom, body, 200, &r);
		resp_free(&r);
	}

	snprintf(path, sizeof(path), "/api/v1/requests/%s/shipments", q);
	snprintf(body, sizeof(body),
	         "{\"destination\":\"Lab A\",\"conditions\":\"dry_ice\",\"specimens\":[\"%s\"]}",
	         ids[0]);
	must(t, "POST", path, mona, body, 201, &r);
	is_int((long)jnum(&r, "specimen_count", 0), 1, "the first part ships: 1 tube");
	snprintf(s1, sizeof(s1), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	snprintf(buf, sizeof(buf), "/api/v1/shipments/%s/dispatch", s1);
	must(t, "POST", buf, mona, NULL, 200, &r);
	resp_free(&r);
	must(t, "POST", path, mona, "{\"destination\":\"Lab A\",\"conditions\":\"dry_ice\"}", 201,
	     &r);
	is_int((long)jnum(&r, "specimen_count", 0), 2, "the rest follows on a second shipment");
	snprintf(s2, sizeof(s2), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	snprintf(buf, sizeof(buf), "/api/v1/requests/%s", q);
	must(t, "GET", buf, rob, NULL, 200, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "shipments")), 2,
	       "  the request names both shipments");
	is_int((long)jnum(&r, "allocation.shipped", -1), 3, "  3 tubes shipped");
	resp_free(&r);

	/* The donor of a tube on the draft second shipment withdraws biobank consent. */
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT p.code FROM specimens s JOIN participants p ON p.id = s.participant_id"
	         " WHERE s.id = '%s'",
	         ids[1]);
	char *code = sql_value(t, sql, &(bool){ false });
	long released = countf(t,
	                       "SELECT count(*) FROM events WHERE type = 'released'"
	                       " AND specimen_id = '%s'",
	                       ids[1]);
	consent(t, code ? code : "", "biobank", "withdrawn");
	must(t, "GET", buf, mona, NULL, 200, &r);
	is_str(jstr(&r, "notices.0.code"), "consent-withdrawn",
	       "a biobank withdrawal while the tube waits on a draft shipment: a notice");
	is_str(jstr(&r, "notices.0.specimens.0"), ids[1], "  naming the tube to staff");
	is_int((long)jnum(&r, "allocation.shipped", -1), 2, "  2 tubes shipped now");
	resp_free(&r);
	is_int(countf(t,
	              "SELECT count(*) FROM events WHERE type = 'released' AND specimen_id = '%s'",
	              ids[1]) -
	           released,
	       1, "  the tube has a released event");
	is_int(countf(t, "SELECT count(*) FROM shipment_items WHERE shipment_id = %s", s2), 1,
	       "  and is off the draft shipment");
	is_int(countf(t,
	              "SELECT count(*) FROM request_items WHERE specimen_id = '%s' AND state = "
	              "'removed'",
	              ids[1]),
	       1, "  and off the request");
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/dispatch", s2);
	must(t, "POST", path, mona, NULL, 200, &r);
	is_int(r.status, 200, "the second shipment leaves with the other tube");
	resp_free(&r);
	is_int(countf(t, "SELECT count(*) FROM specimens WHERE id = '%s' AND status = 'in_storage'",
	              ids[1]),
	       1, "  the withdrawn donor's tube stays in storage");

	snprintf(path, sizeof(path), "/api/v1/requests/%s/returns", q);
	snprintf(body, sizeof(body),
	         "{\"items\":[{\"specimen\":\"%s\",\"consumed\":0.25,\"returned\":0.25},"
	         "{\"specimen\":\"%s\",\"consumed\":0.5}]}",
	         ids[0], ids[2]);
	must(t, "POST", path, mona, body, 200, &r);
	is_int(r.status, 200, "the recipient reports on both parts in one go");
	resp_free(&r);
	is_int(countf(t,
	              "SELECT count(*) FROM request_items WHERE request_id = %s AND"
	              " ((specimen_id = '%s' AND consumed = 0.25 AND returned = 0.25) OR"
	              " (specimen_id = '%s' AND consumed = 0.5 AND returned IS NULL))",
	              q, ids[0], ids[2]),
	       2, "  each amount on its tube's line");
	snprintf(body, sizeof(body), "{\"items\":[{\"specimen\":\"%s\",\"consumed\":0.1}]}",
	         ids[1]);
	refused(t, "POST", path, mona, body, 400, "not-on-request",
	        "a return for the tube taken off by the withdrawal");
	free(code);
}

/*
 * Walk GET /api/v1/requests?QUERY&limit=LIMIT page by page as token: the
 * ids seen, newest first, in ids (at most cap); returns how many, or -1 on
 * a page that was not 200, out of order or seen twice. pages: how many.
 */
static int
walk(struct tenv *t, const char *token, const char *query, int limit, long *ids, int cap,
     int *pages, const char *requester)
{
	char path[512], cursor[256] = "";
	int n = 0;

	*pages = 0;
	for (;;) {
		struct resp r;

		snprintf(path, sizeof(path), "/api/v1/requests?%s%slimit=%d%s%s", query,
		         *query ? "&" : "", limit, *cursor ? "&cursor=" : "", cursor);
		api(t, "GET", path, token, NULL, &r);
		if (r.status != 200) {
			tap_diag("%s: %ld %s", path, r.status, r.body);
			resp_free(&r);
			return -1;
		}
		(*pages)++;
		const cJSON *items = cJSON_GetObjectItem(r.json, "items"), *it;
		if (cJSON_GetArraySize(items) > limit) {
			resp_free(&r);
			return -1;
		}
		cJSON_ArrayForEach(it, items)
		{
			long id = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "id"));
			const char *who =
			    cJSON_GetStringValue(cJSON_GetObjectItem(it, "requester"));

			if (n >= cap || (n > 0 && id >= ids[n - 1]) ||
			    (requester != NULL && (who == NULL || strcmp(who, requester) != 0))) {
				resp_free(&r);
				return -1;
			}
			ids[n++] = id;
		}
		const char *next = jstr(&r, "next_cursor");
		snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
		resp_free(&r);
		if (*cursor == '\0' || *pages > 50)
			return n;
	}
}

/* The requests list pages like every list: a manager, a researcher, a status, bad cursors. */
static void
paging(struct tenv *t)
{
	long ids[64];
	int pages;
	long total = countf(t, "SELECT count(*) FROM requests");
	long mine = countf(t, "SELECT count(*) FROM requests WHERE requester = 'rita'");
	long closed = countf(t, "SELECT count(*) FROM requests WHERE status = 'closed'");

	ok(total >= 7 && mine >= 2 && closed >= 2, "%ld requests, %ld of rita, %ld closed", total,
	   mine, closed);
	is_int(walk(t, mona, "", 2, ids, 64, &pages, NULL), total,
	       "a manager pages through every request, 2 a page, newest first, none twice");
	is_int(pages, (total + 1) / 2, "  in %ld pages, the last without next_cursor",
	       (total + 1) / 2);
	is_int(ids[0], countf(t, "SELECT max(id) FROM requests"), "  the newest first");
	is_int(walk(t, rita, "", 1, ids, 64, &pages, "rita"), mine,
	       "a researcher pages through her own requests only, one a page");
	is_int(walk(t, mona, "status=closed", 1, ids, 64, &pages, NULL), closed,
	       "a status filter pages too");

	/* A cursor of rita's list handed to rob: it is a position, not a key to her requests. */
	struct resp r;
	api(t, "GET", "/api/v1/requests?limit=1", rita, NULL, &r);
	char path[512];
	snprintf(path, sizeof(path), "/api/v1/requests?limit=50&cursor=%s",
	         jstr(&r, "next_cursor") ? jstr(&r, "next_cursor") : "");
	resp_free(&r);
	api(t, "GET", path, rob, NULL, &r);
	is_int(r.status, 200, "rob reuses rita's cursor");
	ok(r.body != NULL && strstr(r.body, "\"rita\"") == NULL, "  and still sees none of hers");
	resp_free(&r);

	/* Another list's cursor, a forged one, and limits out of range. */
	api(t, "GET", "/api/v1/shipments?limit=1", mona, NULL, &r);
	char shipcur[256];
	snprintf(shipcur, sizeof(shipcur), "%s",
	         jstr(&r, "next_cursor") ? jstr(&r, "next_cursor") : "c2hpcG1lbnRzOlsxXQ");
	resp_free(&r);
	char shippath[512];
	snprintf(shippath, sizeof(shippath), "/api/v1/requests?cursor=%s", shipcur);
	static const struct {
		const char *path, *what, *field;
	} bad[] = {
		{ NULL, "a shipments cursor on the requests list", "cursor" },
		{ "/api/v1/requests?cursor=cmVxdWVzdHM6eA", "a forged cursor (requests:x)",
		  "cursor" },
		{ "/api/v1/requests?limit=0", "limit=0", "limit" },
		{ "/api/v1/requests?limit=1001", "limit=1001", "limit" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api(t, "GET", bad[i].path ? bad[i].path : shippath, mona, NULL, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "%s: 400 naming %s", bad[i].what, bad[i].field);
		resp_free(&r);
	}
	refused(t, "GET", "/api/v1/requests?status=lost", mona, NULL, 400, "value-not-allowed",
	        "an unknown status");
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char loser[16], winner[16];

	tenv_setup(&t, "requests", argc, argv);
	setup(&t);
	filing(&t);
	guessing(&t);
	deciding(&t);
	allocating(&t);
	racing(&t, loser, winner);
	swapping(&t, winner);
	withdrawing(&t);
	picking(&t);
	shipping(&t);
	closing(&t, loser, winner);
	two_shipments(&t);
	sprec_criteria_allocation(&t);
	paging(&t);
	tenv_teardown(&t);
	return tap_done();
}
