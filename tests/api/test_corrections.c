/*
 * test_corrections.c — corrections that keep the original (issue 16,
 * 21 CFR 11.10(e)): a technician fixes a mistyped timepoint and the
 * history shows the registration as recorded and the correction with
 * before and after; every refusal a technician or a hostile client can
 * reach, with its code, and nothing left behind; a correction racing a
 * move loses neither; a participant's correction in the audit log with its
 * reason, a birth year refused naming the specimens it would put before
 * birth; a specimen entered in error kept in the ledger but left out of
 * lists, counts, CSV and FHIR searches unless asked for; verify-ledger
 * clean afterwards.
 */
#include "world.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char tech[128], manager[128], auditor[128];

static void
patch(struct tenv *t, const char *id, const char *token, const char *body, struct resp *r)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/specimens/%s", id);
	api(t, "PATCH", path, token, body, r);
}

/* Register a specimen of MASC/P001 at timepoint (with aliquots children); its ID in id. */
static bool
register_tp(struct tenv *t, const char *participant, const char *timepoint, const char *collected,
            int aliquots, char id[16], struct resp *out)
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"%s\"},\"type\":\"plasma\","
	         "\"timepoint\":\"%s\",\"collected_at\":\"%s\","
	         "\"quantity\":{\"value\":4,\"unit\":\"mL\"},\"aliquots\":%d}",
	         participant, timepoint, collected, aliquots);
	api(t, "POST", "/api/v1/specimens", tech, body, &r);
	bool done = r.status == 201 && jstr(&r, "id") != NULL;
	if (done)
		snprintf(id, 16, "%s", jstr(&r, "id"));
	else
		tap_diag("register failed: %ld %s", r.status, r.body);
	if (out != NULL)
		*out = r;
	else
		resp_free(&r);
	return done;
}

/* The first value of a query as the superuser, in buf ("" when none). */
static const char *sql_text(struct tenv *t, char buf[256], const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *
sql_text(struct tenv *t, char buf[256], const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	bool done;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	char *v = sql_value(t, sql, &done);
	snprintf(buf, 256, "%s", v != NULL ? v : "");
	free(v);
	return buf;
}

static long
events_of(struct tenv *t, const char *id)
{
	return sql_intf(t, "SELECT count(*) FROM events WHERE specimen_id = '%s'", id);
}

/* A refusal: status, code, the field named (NULL: none checked), and no event added. */
static void
refused(struct tenv *t, const char *id, const char *token, const char *body, long status,
        const char *code, const char *field, const char *what)
{
	struct resp r;
	long before = events_of(t, id);
	char row_before[256], row_after[256];
	static const char row_sql[] =
	    "SELECT row(type, timepoint, collected_at, quantity, unit, notes,"
	    " status, box_id, pos_row, pos_col)::text FROM specimens"
	    " WHERE id = '%s'";

	sql_text(t, row_before, row_sql, id);
	patch(t, id, token, body, &r);
	ok(is_problem(&r, status), "%s: %ld", what, status);
	if (code != NULL)
		is_str(jstr(&r, "code"), code, "  code %s", code);
	if (field != NULL)
		ok(problem_names_field(&r, field), "  names %s", field);
	is_int(events_of(t, id), before, "  no event written");
	is_str(sql_text(t, row_after, row_sql, id), row_before, "  the specimen is unchanged");
	if (r.status != status)
		tap_diag("  %s", r.body);
	resp_free(&r);
}

/* The event of type in a specimen's history as the API shows it (index in items), or -1. */
static int
event_index(const struct resp *r, const char *type, int from)
{
	char path[64];

	for (int i = from; i < 100; i++) {
		snprintf(path, sizeof(path), "items.%d.type", i);
		const char *ty = jstr(r, path);
		if (ty == NULL)
			return -1;
		if (strcmp(ty, type) == 0)
			return i;
	}
	return -1;
}

static const char *
event_str(const struct resp *r, int i, const char *member)
{
	char path[128];

	snprintf(path, sizeof(path), "items.%d.%s", i, member);
	return jstr(r, path);
}

static void
mistyped_timepoint(struct tenv *t)
{
	char id[16], path[128];
	struct resp r, h;

	if (!register_tp(t, "P001", "m3", "2026-03-01T09:30:00Z", 2, id, NULL))
		return;
	patch(t, id, tech, "{\"timepoint\":\"M6\",\"reason\":\"typed m3 for the month-6 visit\"}",
	      &r);
	is_int(r.status, 200, "a technician corrects a mistyped timepoint");
	is_str(jstr(&r, "timepoint"), "m6", "  the answer shows it corrected (one spelling)");
	ok(jnum(&r, "ledger_seq", 0) > 1, "  and the specimen's ledger_seq");
	const char *child = jstr(&r, "children.0");
	ok(child != NULL &&
	       cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "lineage_corrected"), child) != NULL,
	   "  its aliquots follow (lineage_corrected names them)");
	char kid[16] = "";
	if (child != NULL)
		snprintf(kid, sizeof(kid), "%s", child);
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/events", id);
	api(t, "GET", path, tech, NULL, &h);
	is_int(h.status, 200, "the history answers");
	is_str(event_str(&h, 0, "type"), "registered", "  it starts with the registration");
	is_str(event_str(&h, 0, "details.participant"), "P001", "  as it was recorded");
	int c = event_index(&h, "corrected", 0);
	ok(c > 0, "  and holds a corrected event");
	is_str(event_str(&h, c, "details.before.timepoint"), "m3", "  before: m3, as typed");
	is_str(event_str(&h, c, "details.after.timepoint"), "m6", "  after: m6");
	is_str(event_str(&h, c, "reason"), "typed m3 for the month-6 visit", "  with the reason");
	is_str(event_str(&h, c, "actor"), "tech", "  by the technician");
	ok(event_str(&h, c, "details.before.type") == NULL,
	   "  only the field that changed is in before/after");
	resp_free(&h);
	is_int(sql_intf(t,
	                "SELECT count(*) FROM specimens WHERE timepoint = 'm3' AND (id = '%s'"
	                " OR parent_id = '%s')",
	                id, id),
	       0, "  no m3 left in the collection or its aliquots");
	if (*kid) {
		snprintf(path, sizeof(path), "/api/v1/specimens/%s/events", kid);
		api(t, "GET", path, tech, NULL, &h);
		c = event_index(&h, "corrected", 0);
		ok(c > 0, "  the aliquot has its own corrected event");
		is_str(event_str(&h, c, "details.with"), id, "  naming the collection corrected");
		resp_free(&h);
		refused(t, kid, tech, "{\"timepoint\":\"m9\",\"reason\":\"x\"}", 409,
		        "inherited-from-parent", "timepoint",
		        "an aliquot's timepoint is corrected on its collection");
		refused(t, kid, tech, "{\"type\":\"serum\",\"reason\":\"x\"}", 409,
		        "inherited-from-parent", "type", "so is an aliquot's type");
	}

	/* The same values again: nothing to correct, no event (a retried PATCH is harmless). */
	long n = events_of(t, id);
	patch(t, id, tech, "{\"timepoint\":\"m6\",\"reason\":\"again\"}", &r);
	is_int(r.status, 200, "a PATCH that changes nothing answers 200");
	is_int(events_of(t, id), n, "  and writes no event");
	resp_free(&r);
}

static void
refusals(struct tenv *t)
{
	char id[16], ssc[16], path[128];
	struct resp r;

	if (!register_tp(t, "P001", "baseline", "2026-03-01T09:30:00Z", 0, id, NULL) ||
	    !world_register(t, "SSC", "S001", "serum", ssc))
		return;
	refused(t, id, tech, "{\"timepoint\":\"m6\"}", 400, "invalid-input", "reason", "no reason");
	refused(t, id, tech, "{\"timepoint\":\"m6\",\"reason\":\"\"}", 400, NULL, "reason",
	        "an empty reason");
	refused(t, id, tech, "{\"timepoint\":\"m6\",\"status\":\"consumed\",\"reason\":\"x\"}", 400,
	        NULL, "status", "an unknown field (status is not corrected)");
	refused(t, id, tech,
	        "{\"participant\":{\"study\":\"MASC\",\"code\":\"P002\"},\"reason\":\"x\"}", 400,
	        NULL, "participant", "an unknown field (participant)");
	refused(t, id, tech, "{\"reason\":\"nothing named\"}", 400, "value-required", NULL,
	        "a reason and nothing to correct");
	refused(t, id, tech, "{\"timepoint\":null,\"reason\":\"x\"}", 400, NULL, "timepoint",
	        "a null timepoint");
	refused(t, id, tech, "{\"collected_at\":\"2099-01-01T00:00:00Z\",\"reason\":\"x\"}", 400,
	        "date-out-of-range", "collected_at", "a collection time in the future");
	refused(t, id, tech, "{\"collected_at\":\"1960-01-01T00:00:00Z\",\"reason\":\"x\"}", 400,
	        "date-out-of-range", "collected_at", "a collection time before the birth year");
	refused(t, id, tech, "{\"collected_at\":\"yesterday\",\"reason\":\"x\"}", 400, NULL,
	        "collected_at", "a collection time that is no time");
	refused(t, id, tech, "{\"type\":\"unicorn\",\"reason\":\"x\"}", 400,
	        "unknown-specimen-type", "type", "an unknown type");
	refused(t, id, tech,
	        "{\"type\":\"unicorn\",\"collected_at\":\"2099-01-01T00:00:00Z\","
	        "\"reason\":\"x\"}",
	        400, NULL, "collected_at", "two slips at once: both named");
	refused(t, id, tech, "{\"quantity\":{\"value\":0,\"unit\":\"mL\"},\"reason\":\"x\"}", 400,
	        "value-out-of-range", "quantity.value", "a quantity of 0 (consume it instead)");
	refused(t, id, tech, "{\"quantity\":{\"value\":2},\"reason\":\"x\"}", 400, NULL,
	        "quantity.unit", "a quantity without its unit");
	refused(t, id, tech, "{\"notes\":\"x\",\"expected_ledger_seq\":99,\"reason\":\"x\"}", 409,
	        "specimen-changed", NULL, "a correction made on a stale view");
	refused(t, ssc, tech, "{\"timepoint\":\"m6\",\"reason\":\"x\"}", 404, "specimen-not-found",
	        NULL, "another study's specimen reads as no specimen");
	refused(t, "ZZZZZZZZ", tech, "{\"timepoint\":\"m6\",\"reason\":\"x\"}", 400, NULL, NULL,
	        "a mistyped ID");
	refused(t, id, auditor, "{\"timepoint\":\"m6\",\"reason\":\"x\"}", 403, "forbidden", NULL,
	        "an auditor may not correct");
	refused(t, id, NULL, "{\"timepoint\":\"m6\",\"reason\":\"x\"}", 401, NULL, NULL,
	        "no token");

	snprintf(path, sizeof(path), "/api/v1/specimens/%s", id);
	http(t->d.url, "PATCH", path, tech, "text/plain", "timepoint=m6", 12, &r);
	ok(is_problem(&r, 415), "a body that is not JSON: 415");
	resp_free(&r);

	/* Quantity and notes: what the tube holds now; "" clears the notes. */
	patch(t, id, tech,
	      "{\"quantity\":{\"value\":3.5,\"unit\":\"mL\"},\"notes\":\"haemolysed\","
	      "\"reason\":\"measured again\",\"expected_ledger_seq\":1}",
	      &r);
	is_int(r.status, 200, "quantity and notes corrected with the ledger_seq read");
	is_str(jstr(&r, "notes"), "haemolysed", "  notes set");
	ok(jnum(&r, "quantity.value", 0) == 3.5, "  quantity 3.5");
	resp_free(&r);
	char buf[256];
	is_str(
	    sql_text(t, buf,
	             "SELECT details->'before'->'quantity'->>'value' FROM events"
	             " WHERE specimen_id = '%s' AND type = 'corrected' ORDER BY seq DESC LIMIT 1",
	             id),
	    "4", "  the event keeps the quantity before");
	patch(t, id, tech, "{\"notes\":\"\",\"reason\":\"wrong tube\"}", &r);
	is_int(r.status, 200, "notes \"\" clears the notes");
	ok(jstr(&r, "notes") == NULL, "  they are gone");
	resp_free(&r);

	/* A consumed tube keeps what it had: no quantity correction; its notes can be. */
	world_act_quietly(t, id, "consume", "{\"reason\":\"assay\"}");
	refused(t, id, tech, "{\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"reason\":\"x\"}", 409,
	        "status-forbids", "quantity", "the quantity of a consumed tube");
	patch(t, id, tech, "{\"notes\":\"used for ELISA\",\"reason\":\"note added late\"}", &r);
	is_int(r.status, 200, "a consumed tube's notes can still be corrected");
	resp_free(&r);
}

/* A correction and a move of one tube at the same moment: both happen, in some order. */
struct racer {
	struct tenv *t;
	const char *method, *path, *body;
	long status;
};

static void *
race(void *arg)
{
	struct racer *x = arg;
	struct resp r;

	http(x->t->d.url, x->method, x->path, tech, NULL, x->body, strlen(x->body), &r);
	x->status = r.status;
	if (r.status != 200)
		tap_diag("%s %s: %ld %s", x->method, x->path, r.status, r.body);
	resp_free(&r);
	return NULL;
}

static void
correction_races_move(struct tenv *t)
{
	enum { ROUNDS = 12 };
	char id[16], fix[128], move[128], fixbody[128], movebody[128];
	int both = 0, stale = 0, good = 0;

	if (!register_tp(t, "P002", "baseline", "2026-03-01T09:30:00Z", 0, id, NULL))
		return;
	world_act_quietly(t, id, "store", "{\"box\":\"BOX-B\",\"position\":\"I1\"}");
	snprintf(fix, sizeof(fix), "/api/v1/specimens/%s", id);
	snprintf(move, sizeof(move), "/api/v1/specimens/%s/move", id);
	for (int i = 0; i < ROUNDS; i++) {
		/* Half the rounds say which ledger_seq they read: then one of the two may lose. */
		long seq = sql_intf(t, "SELECT ledger_seq FROM specimens WHERE id = '%s'", id);
		if (i % 2)
			snprintf(fixbody, sizeof(fixbody),
			         "{\"timepoint\":\"m%d\",\"reason\":\"visit "
			         "%d\",\"expected_ledger_seq\":%ld}",
			         i + 1, i + 1, seq);
		else
			snprintf(fixbody, sizeof(fixbody),
			         "{\"timepoint\":\"m%d\",\"reason\":\"visit %d\"}", i + 1, i + 1);
		snprintf(movebody, sizeof(movebody), "{\"box\":\"BOX-B\",\"position\":\"I%d\"}",
		         i % 2 ? 1 : 2);
		struct racer a = { t, "PATCH", fix, fixbody, 0 },
		             b = { t, "POST", move, movebody, 0 };
		pthread_t ta, tb;
		pthread_create(&ta, NULL, race, &a);
		pthread_create(&tb, NULL, race, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		char want_tp[8], want_pos[8];
		snprintf(want_tp, sizeof(want_tp), "m%d", i + 1);
		snprintf(want_pos, sizeof(want_pos), "I%d", i % 2 ? 1 : 2);
		bool tp =
		    sql_intf(t,
		             "SELECT count(*) FROM specimens WHERE id = '%s' AND timepoint = '%s'",
		             id, want_tp) == 1;
		bool at = sql_intf(t,
		                   "SELECT count(*) FROM specimens WHERE id = '%s' AND pos_row = 9"
		                   " AND pos_col = %d",
		                   id, i % 2 ? 1 : 2) == 1;
		if (a.status == 200 && b.status == 200 && tp && at)
			both++;
		else if (i % 2 && a.status == 409 && b.status == 200 && at)
			stale++; /* the move came first: the correction saw a stale seq and said so
			          */
		if ((a.status == 200) == tp && (b.status == 200) == at)
			good++;
	}
	tap_diag("correction racing a move: %d rounds, %d both applied, %d refused as stale",
	         ROUNDS, both, stale);
	is_int(both + stale, ROUNDS, "a correction racing a move: neither is lost");
	is_int(good, ROUNDS, "  each answer says what the record shows");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = 'moved'",
	                id),
	       ROUNDS, "  one moved event per move");
	is_int(sql_intf(
	           t, "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = 'corrected'",
	           id),
	       both, "  one corrected event per correction applied");
	is_int(
	    sql_intf(t,
	             "SELECT count(*) FROM events WHERE specimen_id = '%s'"
	             " AND type = 'corrected' AND seq > 1 AND details->'before'->>'timepoint'"
	             " IS DISTINCT FROM (SELECT e.details->'after'->>'timepoint' FROM events e"
	             " WHERE e.specimen_id = '%s' AND e.type = 'corrected' AND e.seq < events.seq"
	             " ORDER BY e.seq DESC LIMIT 1) AND EXISTS (SELECT 1 FROM events e WHERE"
	             " e.specimen_id = '%s' AND e.type = 'corrected' AND e.seq < events.seq)",
	             id, id, id),
	    0, "  each correction's before is the previous one's after (none on a stale row)");
}

/* The list, CSV, report, participant and FHIR answers leave an entry in error out. */
static void
left_out(struct tenv *t, const char *id)
{
	struct resp r;
	const char *csv[] = { "Accept: text/csv", NULL };
	char url[256];

	api(t, "GET", "/api/v1/specimens?study=MASC&limit=1000", manager, NULL, &r);
	ok(r.status == 200 && strstr(r.body, id) == NULL, "the specimen list leaves it out");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?study=MASC&limit=1000&include_in_error=true", manager,
	    NULL, &r);
	ok(r.status == 200 && strstr(r.body, id) != NULL, "  include_in_error=true lists it");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?status=entered_in_error", manager, NULL, &r);
	ok(r.status == 200 && strstr(r.body, id) != NULL, "  so does status=entered_in_error");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?include_in_error=yes", manager, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "include_in_error"),
	   "  include_in_error=yes: 400 naming it");
	resp_free(&r);

	http_h(t->d.url, "GET", "/api/v1/specimens?study=MASC", manager, NULL, NULL, 0, csv, &r);
	ok(r.status == 200 && r.body != NULL && strstr(r.body, id) == NULL,
	   "the CSV export leaves it out");
	resp_free(&r);
	http_h(t->d.url, "GET", "/api/v1/specimens?study=MASC&include_in_error=true", manager, NULL,
	       NULL, 0, csv, &r);
	ok(r.status == 200 && r.body != NULL && strstr(r.body, id) != NULL &&
	       strstr(r.body, "entered_in_error") != NULL,
	   "  and has it with include_in_error=true, its status said");
	resp_free(&r);

	long held =
	    sql_int(t, "SELECT count(*) FROM specimens s JOIN studies st ON st.id ="
	               " s.study_id WHERE st.code = 'MASC' AND status <> 'entered_in_error'");
	api(t, "GET", "/api/v1/reports/inventory?study=MASC", manager, NULL, &r);
	is_int((long)jnum(&r, "total", -1), held, "the inventory report does not count it");
	ok(strstr(r.body ? r.body : "", "entered_in_error") == NULL, "  nor shows its status");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/inventory?study=MASC&include_in_error=true", manager, NULL,
	    &r);
	is_int((long)jnum(&r, "total", -1), held + 1, "  include_in_error=true counts it");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/inventory?include_in_error=1", manager, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "include_in_error"),
	   "  include_in_error=1: 400 naming it");
	resp_free(&r);

	api(t, "GET", "/api/v1/participants/MASC/P001", manager, NULL, &r);
	ok(r.status == 200 && strstr(r.body, "entered_in_error") == NULL,
	   "the participant's specimen counts leave it out");
	resp_free(&r);
	api(t, "GET", "/api/v1/participants/MASC/P001?include_in_error=true", manager, NULL, &r);
	ok(r.status == 200 && strstr(r.body, "entered_in_error") != NULL,
	   "  include_in_error=true counts it");
	resp_free(&r);

	snprintf(url, sizeof(url), "/api/v1/fhir/Specimen?subject=MASC/P001&_count=1000");
	api(t, "GET", url, manager, NULL, &r);
	ok(r.status == 200 && strstr(r.body, id) == NULL, "a FHIR search leaves it out");
	resp_free(&r);
	snprintf(url, sizeof(url),
	         "/api/v1/fhir/Specimen?subject=MASC/P001&_count=1000&include_in_error=true");
	api(t, "GET", url, manager, NULL, &r);
	ok(r.status == 200 && strstr(r.body, id) != NULL &&
	       strstr(r.body, "\"entered-in-error\"") != NULL,
	   "  include_in_error=true finds it, FHIR status entered-in-error");
	resp_free(&r);
	api(t, "GET", "/api/v1/fhir/Specimen?status=entered-in-error", manager, NULL, &r);
	ok(r.status == 200 && strstr(r.body, id) != NULL, "  so does status=entered-in-error");
	resp_free(&r);
	snprintf(url, sizeof(url), "/api/v1/specimens/%s", id);
	api(t, "GET", url, manager, NULL, &r);
	is_str(jstr(&r, "status"), "entered_in_error", "it is still there by its ID");
	resp_free(&r);
}

static void
entered_in_error(struct tenv *t)
{
	char parent[16], lone[16], shipped[16], path[128];
	struct resp r;

	if (!register_tp(t, "P001", "baseline", "2026-03-02T09:30:00Z", 1, parent, NULL) ||
	    !register_tp(t, "P001", "baseline", "2026-03-02T09:30:00Z", 0, lone, NULL) ||
	    !register_tp(t, "P001", "baseline", "2026-03-02T09:30:00Z", 0, shipped, NULL))
		return;
	world_act_quietly(t, lone, "store", "{\"box\":\"BOX-A\",\"position\":\"H9\"}");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/entered-in-error", lone);

	long n = events_of(t, lone);
	api(t, "POST", path, tech, "{\"reason\":\"registered twice\"}", &r);
	ok(is_problem(&r, 403), "a technician may not enter a specimen in error (managers do)");
	resp_free(&r);
	api(t, "POST", path, manager, "{}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "reason"), "  without a reason: 400");
	resp_free(&r);
	is_int(events_of(t, lone), n, "  nothing written");

	api(t, "POST", path, manager, "{\"reason\":\"registered twice\"}", &r);
	is_int(r.status, 200, "a manager enters a specimen registered twice in error");
	is_str(jstr(&r, "status"), "entered_in_error", "  its status says so");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "location")), "  it is nowhere now");
	resp_free(&r);
	char buf[256];
	is_str(sql_text(t, buf,
	                "SELECT type || ' ' || from_box || ' ' || from_pos || ' ' || reason"
	                " FROM events WHERE specimen_id = '%s' ORDER BY seq DESC LIMIT 1",
	                lone),
	       "entered_in_error BOX-A H9 registered twice",
	       "  an entered_in_error event with where it was and why");
	is_int(events_of(t, lone), n + 1, "  kept in the ledger: one event more");
	world_act(t, shipped, "store", "{\"box\":\"BOX-A\",\"position\":\"H9\"}", NULL, &r);
	is_int(r.status, 200, "  its position is free for another tube");
	resp_free(&r);

	api(t, "POST", path, manager, "{\"reason\":\"again\"}", &r);
	ok(is_problem(&r, 409), "entering it in error twice: 409");
	is_str(jstr(&r, "code"), "status-forbids", "  status-forbids");
	resp_free(&r);
	world_act(t, lone, "store", "{\"box\":\"BOX-A\",\"position\":\"H8\"}", NULL, &r);
	ok(is_problem(&r, 409), "it cannot be stored again");
	resp_free(&r);
	patch(t, lone, manager, "{\"notes\":\"x\",\"reason\":\"x\"}", &r);
	ok(is_problem(&r, 409), "nor corrected");
	is_str(jstr(&r, "code"), "status-forbids", "  status-forbids");
	resp_free(&r);

	char status_before[256];
	sql_text(t, status_before, "SELECT status FROM specimens WHERE id = '%s'", parent);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/entered-in-error", parent);
	api(t, "POST", path, manager, "{\"reason\":\"wrong donor\"}", &r);
	ok(is_problem(&r, 409), "a parent whose aliquots are not in error: 409");
	is_str(jstr(&r, "code"), "has-children", "  has-children");
	ok(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "children")) == 1, "  naming them");
	resp_free(&r);
	is_str(sql_text(t, buf, "SELECT status FROM specimens WHERE id = '%s'", parent),
	       status_before, "  the parent is untouched");

	/* A shipped tube is the receiver's: not entered in error here. */
	api(t, "POST", "/api/v1/shipments", manager,
	    "{\"destination\":\"Lab B\",\"conditions\":\"dry_ice\"}", &r);
	if (r.status != 201)
		tap_diag("shipment: %ld %s", r.status, r.body);
	char ship[32];
	snprintf(ship, sizeof(ship), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	char body[128], spath[128];
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", shipped);
	snprintf(spath, sizeof(spath), "/api/v1/shipments/%s/specimens", ship);
	api(t, "POST", spath, manager, body, &r);
	is_int(r.status, 200, "  (a tube put on a draft shipment)");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/entered-in-error", shipped);
	api(t, "POST", path, manager, "{\"reason\":\"x\"}", &r);
	ok(is_problem(&r, 409), "a tube on a draft shipment: 409");
	is_str(jstr(&r, "code"), "on-draft-shipment", "  on-draft-shipment");
	resp_free(&r);
	snprintf(spath, sizeof(spath), "/api/v1/shipments/%s/dispatch", ship);
	api(t, "POST", spath, manager, NULL, &r);
	is_int(r.status, 200, "  (the shipment dispatched)");
	resp_free(&r);
	api(t, "POST", path, manager, "{\"reason\":\"x\"}", &r);
	ok(is_problem(&r, 409), "a shipped tube: 409");
	is_str(jstr(&r, "code"), "status-forbids", "  status-forbids");
	resp_free(&r);

	left_out(t, lone);
}

static void
participants(struct tenv *t)
{
	struct resp r;
	char early[16];
	long audit = sql_int(t, "SELECT count(*) FROM audit_log");

	api(t, "PATCH", "/api/v1/participants/MASC/P002", tech,
	    "{\"birth_year\":1976,\"diagnosis\":\"dm\",\"reason\":\"transcribed from the wrong "
	    "form\"}",
	    &r);
	is_int(r.status, 200, "a technician corrects a participant's birth year and diagnosis");
	ok(jnum(&r, "birth_year", 0) == 1976, "  birth year 1976");
	is_str(jstr(&r, "diagnosis"), "DM", "  diagnosis DM (matched ignoring case)");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM audit_log") - audit, 1, "  one audit-log row");
	api(t, "GET", "/api/v1/audit-log?entity=participant&entity_id=MASC/P002", manager, NULL,
	    &r);
	ok(jnum(&r, "items.0.before.birth_year", 0) == 1975 &&
	       jnum(&r, "items.0.after.birth_year", 0) == 1976,
	   "  the audit log holds before (1975) and after (1976)");
	is_str(jstr(&r, "items.0.before.diagnosis"), "IBM", "  and the diagnosis before");
	is_str(jstr(&r, "items.0.reason"), "transcribed from the wrong form", "  and the reason");
	is_str(jstr(&r, "items.0.actor"), "tech", "  and who");
	resp_free(&r);

	audit = sql_int(t, "SELECT count(*) FROM audit_log");
	api(t, "PATCH", "/api/v1/participants/MASC/P002", tech, "{\"sex\":\"M\",\"reason\":\"x\"}",
	    &r);
	is_int(r.status, 200, "the same sex again (M is male): 200");
	is_int(sql_int(t, "SELECT count(*) FROM audit_log"), audit, "  no audit-log row");
	resp_free(&r);

	/* A tube collected in 2020: a birth year of 2021 would put it before birth. */
	if (register_tp(t, "P002", "baseline", "2020-05-01T08:00:00Z", 0, early, NULL)) {
		api(t, "PATCH", "/api/v1/participants/MASC/P002", tech,
		    "{\"birth_year\":2021,\"reason\":\"x\"}", &r);
		ok(is_problem(&r, 409), "a birth year after a collection: 409");
		is_str(jstr(&r, "code"), "collected-before-birth", "  collected-before-birth");
		ok(r.body != NULL && strstr(r.body, early) != NULL, "  naming the specimen");
		resp_free(&r);
		is_int(sql_int(t, "SELECT birth_year FROM participants WHERE code = 'P002'"), 1976,
		       "  the birth year is unchanged");
	}
	struct {
		const char *path, *body;
		long status;
		const char *field, *what;
	} bad[] = {
		{ "MASC/P002", "{\"birth_year\":1980}", 400, "reason", "no reason" },
		{ "MASC/P002", "{\"name\":\"Jane\",\"reason\":\"x\"}", 400, "name",
		  "an unknown field (no names are kept)" },
		{ "MASC/P002", "{\"sex\":\"X\",\"reason\":\"x\"}", 400, "sex", "an unknown sex" },
		{ "MASC/P002", "{\"birth_year\":1800,\"reason\":\"x\"}", 400, "birth_year",
		  "a birth year before 1900" },
		{ "MASC/P002", "{\"birth_year\":2999,\"reason\":\"x\"}", 400, "birth_year",
		  "a birth year to come" },
		{ "MASC/P002", "{\"diagnosis\":\"flu\",\"reason\":\"x\"}", 400, "diagnosis",
		  "an unknown diagnosis" },
		{ "MASC/P002", "{\"reason\":\"x\"}", 400, NULL, "nothing to correct" },
		{ "SSC/S001", "{\"sex\":\"male\",\"reason\":\"x\"}", 404, NULL,
		  "another study's participant reads as none" },
		{ "MASC/P999", "{\"sex\":\"male\",\"reason\":\"x\"}", 404, NULL,
		  "no such participant" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[96];

		audit = sql_int(t, "SELECT count(*) FROM audit_log");
		snprintf(path, sizeof(path), "/api/v1/participants/%s", bad[i].path);
		api(t, "PATCH", path, tech, bad[i].body, &r);
		ok(is_problem(&r, bad[i].status), "participant: %s: %ld", bad[i].what,
		   bad[i].status);
		if (bad[i].field != NULL)
			ok(problem_names_field(&r, bad[i].field), "  names %s", bad[i].field);
		is_int(sql_int(t, "SELECT count(*) FROM audit_log"), audit, "  no audit-log row");
		resp_free(&r);
	}
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "corrections", argc, argv);
	world_make(&t);
	if (make_user(&t, "tech", "technician", "[\"MASC\"]", tech) != 0 ||
	    make_user(&t, "boss", "manager", "[\"MASC\"]", manager) != 0 ||
	    make_user(&t, "reader", "auditor", NULL, auditor) != 0)
		return tap_done();
	mistyped_timepoint(&t);
	refusals(&t);
	correction_races_move(&t);
	entered_in_error(&t);
	participants(&t);

	char dburl[600], *out = NULL;
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *env[] = { dburl, NULL };
	const char *args[] = { t.biobankd, "verify-ledger", NULL };
	is_int(run_cmd(args, env, NULL, &out), 0, "verify-ledger is clean after the corrections");
	for (char *line = out ? strtok(out, "\n") : NULL; line != NULL; line = strtok(NULL, "\n"))
		tap_diag("  %s", line);
	free(out);
	tenv_teardown(&t);
	return tap_done();
}
