/*
 * test_audit_coverage.c — audit coverage (issue 18): each box's last
 * verification by a rack-scan audit, the report of boxes never verified or
 * not within N days per freezer, and the same figure as a gauge in /metrics.
 */
#include "world.h"

#include <stdarg.h>
#include <string.h>

static long freezer1, freezer2;

static void
audit_box(struct tenv *t, const char *box)
{
	struct resp r;
	char body[128], path[96];

	snprintf(body, sizeof(body), "{\"box\":\"%s\"}", box);
	api(t, "POST", "/api/v1/audits", t->admin_token, body, &r);
	long id = (long)jnum(&r, "id", 0);
	ok(r.status == 201 && id > 0, "an audit of %s starts", box);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%ld/scans", id);
	api(t, "POST", path, t->admin_token, "{\"scans\":[{\"position\":\"A1\",\"barcode\":null}]}",
	    &r);
	is_int(r.status, 200, "  its rack scan is sent");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%ld/close", id);
	api(t, "POST", path, t->admin_token, "{\"resolutions\":[]}", &r);
	is_int(r.status, 200, "  and it is closed");
	resp_free(&r);
}

/* The item of the report for a location id, or NULL. */
static const cJSON *
item_for(const struct resp *r, long loc)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r->json, "items"))
	{
		const cJSON *l = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "location"), "id");
		if (cJSON_IsNumber(l) && (long)l->valuedouble == loc)
			return it;
	}
	return NULL;
}

static long
num(const cJSON *o, const char *k)
{
	const cJSON *v = o ? cJSON_GetObjectItem(o, k) : NULL;
	return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct resp r;
	char aud[128], line[256];

	tenv_setup(&t, "audit_coverage", argc, argv);
	world_make(&t);
	freezer1 = sql_int(&t, "SELECT id FROM locations WHERE name = 'Freezer 1'");
	sql_exec(&t,
	         "INSERT INTO locations (parent_id, kind, name)"
	         " SELECT id, 'freezer', 'Freezer \"2\"' FROM locations WHERE name = 'Main lab'");
	freezer2 = sql_int(&t, "SELECT id FROM locations WHERE name = 'Freezer \"2\"'");
	sql_exec(&t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	             " SELECT 'BOX-C', 9, 9, id FROM locations WHERE name = 'Freezer \"2\"'");
	is_int(make_user(&t, "ada", "auditor", NULL, aud), 0, "an auditor logs in");

	api(&t, "GET", "/api/v1/reports/audit-coverage", aud, NULL, &r);
	is_int(r.status, 200, "the coverage report before any audit");
	is_int((long)jnum(&r, "totals.never", -1), 4, "  four boxes never verified");
	is_int((long)jnum(&r, "days", -1), 365, "  within 365 days unless asked");
	resp_free(&r);

	audit_box(&t, "BOX-A");
	api(&t, "GET", "/api/v1/reports/audit-coverage", aud, NULL, &r);
	{
		const cJSON *f1 = item_for(&r, freezer1), *f2 = item_for(&r, freezer2);
		is_int(num(f1, "boxes"), 3, "Freezer 1 has three boxes");
		is_int(num(f1, "verified"), 1, "  one verified by the rack scan");
		is_int(num(f1, "never"), 2, "  two never");
		char *listed =
		    f1 ? cJSON_PrintUnformatted(cJSON_GetObjectItem(f1, "unverified")) : NULL;
		ok(listed != NULL && strstr(listed, "BOX-A") == NULL,
		   "  BOX-A is not listed as unverified");
		free(listed);
		is_int(num(f2, "never"), 1, "Freezer \"2\": its box never verified");
	}
	resp_free(&r);

	/* A year and a month later, BOX-A's audit is stale. */
	sql_exec(&t, "ALTER TABLE audits DISABLE TRIGGER USER");
	sql_exec(&t, "UPDATE audits SET closed_at = closed_at - interval '400 days',"
	             " started_at = started_at - interval '400 days'");
	sql_exec(&t, "ALTER TABLE audits ENABLE TRIGGER USER");
	api(&t, "GET", "/api/v1/reports/audit-coverage", aud, NULL, &r);
	is_int(num(item_for(&r, freezer1), "stale"), 1, "400 days on, BOX-A is stale");
	is_str(jstr(&r, "items.0.unverified.2.state"), "stale",
	       "  listed after the never-verified");
	resp_free(&r);
	api(&t, "GET", "/api/v1/reports/audit-coverage?days=500", aud, NULL, &r);
	is_int(num(item_for(&r, freezer1), "verified"), 1, "  but verified within 500 days");
	resp_free(&r);

	const char *bad[] = { "0", "abc", "3651", "-5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[96];
		snprintf(path, sizeof(path), "/api/v1/reports/audit-coverage?days=%s", bad[i]);
		api(&t, "GET", path, aud, NULL, &r);
		ok(is_problem(&r, 400) && strcmp(jstr(&r, "code"), "value-out-of-range") == 0 &&
		       problem_names_field(&r, "days"),
		   "days=%s: 400 value-out-of-range naming days", bad[i]);
		resp_free(&r);
	}
	api(&t, "GET", "/api/v1/reports/audit-coverage?day=30", aud, NULL, &r);
	ok(is_problem(&r, 400), "a mistyped parameter (day=): 400");
	resp_free(&r);

	api(&t, "GET", "/metrics", aud, NULL, &r);
	snprintf(
	    line, sizeof(line),
	    "biobank_boxes_unverified{location=\"%ld\",freezer=\"Freezer 1\",state=\"never\"} 2",
	    freezer1);
	ok(r.body && strstr(r.body, line) != NULL, "/metrics: %s", line);
	snprintf(
	    line, sizeof(line),
	    "biobank_boxes_unverified{location=\"%ld\",freezer=\"Freezer 1\",state=\"stale\"} 1",
	    freezer1);
	ok(r.body && strstr(r.body, line) != NULL, "  %s", line);
	snprintf(line, sizeof(line),
	         "biobank_boxes_unverified{location=\"%ld\",freezer=\"Freezer \\\"2\\\"\","
	         "state=\"never\"} 1",
	         freezer2);
	ok(r.body && strstr(r.body, line) != NULL, "  a quote in a name escaped: %s", line);
	resp_free(&r);

	tenv_teardown(&t);
	return tap_done();
}
