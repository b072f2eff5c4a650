/*
 * test_consent.c — what withdrawn biobank consent allows (docs/consent.md),
 * action by action through the API: every use of the material (checkout,
 * consume, aliquot, derive, ship) is 409 consent-withdrawn and writes
 * nothing; keeping the tube (store, move, placements, return, lost and
 * found, audits, labels) and destroying it still work; the tube stays on the
 * destruction worklist until it is destroyed. Genetic consent is recorded
 * but gates nothing.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

/* Register a 2 mL serum tube of MASC/P002 with a tube barcode. */
static bool
tube(struct tenv *t, const char *barcode, char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"P002\"},\"type\":\"serum\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	         "\"quantity\":{\"value\":2,\"unit\":\"mL\"},\"tube_barcode\":\"%s\"}",
	         barcode);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	bool made = r.status == 201 && jstr(&r, "id") != NULL;
	snprintf(id, 16, "%s", made ? jstr(&r, "id") : "");
	ok(made, "register tube %s of MASC/P002", barcode);
	if (!made)
		tap_diag("%ld %s", r.status, r.body);
	resp_free(&r);
	return made;
}

/* Everything the database holds about a specimen and its chain, as one string. */
static char *
snapshot(struct tenv *t, const char *id)
{
	char sql[1024];
	bool ok_sql;

	snprintf(sql, sizeof(sql),
	         "SELECT concat_ws('|', s.status, s.quantity, s.box_id, s.pos_row, s.pos_col,"
	         " s.ledger_seq, (SELECT count(*) FROM events e WHERE e.specimen_id = s.id),"
	         " (SELECT count(*) FROM specimens c WHERE c.parent_id = s.id),"
	         " (SELECT count(*) FROM shipment_items i WHERE i.specimen_id = s.id))"
	         " FROM specimens s WHERE s.id = '%s'",
	         id);
	char *v = sql_value(t, sql, &ok_sql);
	return v ? v : strdup("(none)");
}

static int
worklist_has(struct tenv *t, const char *id)
{
	struct resp r;
	int found = 0;

	api(t, "GET", "/api/v1/reports/consent-withdrawn?limit=1000", t->admin_token, NULL, &r);
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
	{
		const cJSON *sid = cJSON_GetObjectItem(it, "id");
		found += cJSON_IsString(sid) && strcmp(sid->valuestring, id) == 0;
	}
	resp_free(&r);
	return found;
}

/* One refused use: 409 consent-withdrawn naming the specimen, and nothing written. */
static void
refused(struct tenv *t, const char *id, const char *method, const char *path, const char *body,
        const char *what)
{
	struct resp r;
	char *before = snapshot(t, id);
	long events = sql_int(t, "SELECT count(*) FROM events");
	long specimens = sql_int(t, "SELECT count(*) FROM specimens");

	api(t, method, path, t->admin_token, body, &r);
	ok(is_problem(&r, 409), "%s of a withdrawn tube: 409", what);
	is_str(jstr(&r, "code"), "consent-withdrawn", "  code consent-withdrawn");
	ok(jstr(&r, "specimen") != NULL || strstr(r.body, id) != NULL, "  naming the specimen");
	resp_free(&r);
	char *after = snapshot(t, id);
	is_str(after, before, "  the specimen's row and chain are unchanged");
	is_int(sql_int(t, "SELECT count(*) FROM events"), events, "  no event written");
	is_int(sql_int(t, "SELECT count(*) FROM specimens"), specimens, "  no specimen made");
	free(before);
	free(after);
}

static void
allowed(struct tenv *t, const char *id, const char *action, const char *body, long want,
        const char *event)
{
	struct resp r;
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = '%s'", id, event);
	long before = sql_int(t, sql);
	world_act(t, id, action, body, NULL, &r);
	is_int(r.status, want, "%s of a withdrawn tube is allowed: %ld", action, want);
	if (r.status != want)
		tap_diag("%s", r.body);
	resp_free(&r);
	is_int(sql_int(t, sql), before + 1, "  with its %s event", event);
}

static void
consent_gates(struct tenv *t)
{
	char stored[16], fresh[16], out[16], lost[16], doomed[16], shipping[16];
	char path[128], body[256];
	struct resp r;

	if (!tube(t, "CW-1001", stored) || !tube(t, "CW-1002", fresh) || !tube(t, "CW-1003", out) ||
	    !tube(t, "CW-1004", lost) || !tube(t, "CW-1005", doomed) ||
	    !tube(t, "CW-1006", shipping))
		return;
	world_act(t, stored, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}", NULL, &r);
	resp_free(&r);
	world_act(t, out, "store", "{\"box\":\"BOX-A\",\"position\":\"A2\"}", NULL, &r);
	resp_free(&r);
	world_act(t, out, "checkout", "{\"reason\":\"assay\"}", NULL, &r);
	resp_free(&r);
	world_act(t, lost, "store", "{\"box\":\"BOX-B\",\"position\":\"A1\"}", NULL, &r);
	resp_free(&r);
	world_act(t, shipping, "store", "{\"box\":\"BOX-A\",\"position\":\"A3\"}", NULL, &r);
	resp_free(&r);
	/* A draft shipment holding one tube before the withdrawal, another to add to after it. */
	api(t, "POST", "/api/v1/shipments", t->admin_token,
	    "{\"destination\":\"Partner lab\",\"conditions\":\"dry_ice\"}", &r);
	long ship_a = (long)jnum(&r, "id", -1);
	resp_free(&r);
	api(t, "POST", "/api/v1/shipments", t->admin_token,
	    "{\"destination\":\"Partner lab\",\"conditions\":\"dry_ice\"}", &r);
	long ship_b = (long)jnum(&r, "id", -1);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%ld/specimens", ship_a);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", shipping);
	api(t, "POST", path, t->admin_token, body, &r);
	is_int(r.status, 200, "before the withdrawal a tube goes on a draft shipment");
	resp_free(&r);

	api(t, "POST", "/api/v1/participants/MASC/P002/consents", t->admin_token,
	    "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2026-04-01\","
	    "\"version\":\"v1\"}",
	    &r);
	is_int(r.status, 201, "P002 withdraws biobank consent");
	resp_free(&r);
	ok(worklist_has(t, stored) == 1, "the stored tube is on the consent-withdrawn worklist");

	/* Every use of the material is refused. */
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/checkout", stored);
	refused(t, stored, "POST", path, "{\"reason\":\"assay\"}", "checkout");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/consume", stored);
	refused(t, stored, "POST", path, "{\"reason\":\"used up in assay\"}", "consume");
	refused(t, stored, "POST", path,
	        "{\"reason\":\"assay\",\"quantity\":{\"value\":0.5,\"unit\":\"mL\"}}",
	        "partial consume");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/consume", out);
	refused(t, out, "POST", path, "{\"reason\":\"used up in assay\"}",
	        "consume (of a checked-out tube)");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/aliquots", stored);
	refused(t, stored, "POST", path, "{\"count\":2}", "aliquot");
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/derivatives", stored);
	refused(t, stored, "POST", path, "{\"type\":\"dna\"}", "derive");
	snprintf(path, sizeof(path), "/api/v1/shipments/%ld/specimens", ship_b);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", stored);
	refused(t, stored, "POST", path, body, "reserving on a shipment");
	snprintf(path, sizeof(path), "/api/v1/shipments/%ld/dispatch", ship_a);
	refused(t, shipping, "POST", path, NULL, "shipping (dispatch of a draft holding it)");
	ok(worklist_has(t, stored) == 1, "after the refusals the tube is still on the worklist");

	/* Keeping the tube and accounting for it stay allowed. */
	allowed(t, stored, "move", "{\"box\":\"BOX-A\",\"position\":\"B1\"}", 200, "moved");
	allowed(t, fresh, "store", "{\"box\":\"BOX-A\",\"position\":\"B2\"}", 200, "stored");
	allowed(t, out, "return", "{\"box\":\"BOX-A\",\"position\":\"A2\",\"thawed\":false}", 200,
	        "returned");
	snprintf(body, sizeof(body), "{\"placements\":[{\"position\":\"C1\",\"specimen\":\"%s\"}]}",
	         stored);
	long moves = sql_int(t, "SELECT count(*) FROM events WHERE type = 'moved'");
	api(t, "POST", "/api/v1/boxes/BOX-A/placements", t->admin_token, body, &r);
	is_int(r.status, 200, "a bulk placement of a withdrawn tube is allowed: 200");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM events WHERE type = 'moved'"), moves + 1,
	       "  with its moved event");
	allowed(t, lost, "lost", "{\"reason\":\"not in its box\"}", 200, "lost");
	allowed(t, lost, "found", "{\"box\":\"BOX-B\",\"position\":\"A1\"}", 200, "found");
	allowed(t, stored, "label-printed", "{\"printer\":\"bench-1\",\"copies\":1}", 201,
	        "label_printed");

	/* An audit of the box holding a withdrawn tube confirms it. */
	api(t, "POST", "/api/v1/audits", t->admin_token, "{\"box\":\"BOX-B\"}", &r);
	is_int(r.status, 201, "an audit of BOX-B (a withdrawn tube at A1) starts");
	long audit = (long)jnum(&r, "id", -1);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%ld/scans", audit);
	api(t, "POST", path, t->admin_token,
	    "{\"scans\":[{\"position\":\"A1\",\"barcode\":\"CW-1004\"}]}", &r);
	is_int(r.status, 200, "  its scan is taken");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%ld/close", audit);
	api(t, "POST", path, t->admin_token, "{\"resolutions\":[]}", &r);
	is_int(r.status, 200, "  and it closes");
	resp_free(&r);
	snprintf(
	    body, sizeof(body),
	    "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = 'audit_confirmed'",
	    lost);
	is_int(sql_int(t, body), 1, "  confirming the withdrawn tube");

	/* Destruction takes it off the worklist. */
	ok(worklist_has(t, doomed) == 1, "the tube to destroy is on the worklist");
	allowed(t, doomed, "destroy", "{\"reason\":\"consent withdrawn\"}", 200, "destroyed");
	ok(worklist_has(t, doomed) == 0, "  and off it once destroyed");
	ok(worklist_has(t, stored) == 1, "the kept tube stays on the worklist");
}

/* Genetic consent is recorded and shown; it does not gate custody actions (docs/consent.md). */
static void
genetic_scope(struct tenv *t)
{
	char id[16];
	struct resp r;
	char path[128];

	if (!world_register(t, "MASC", "P001", "pbmc", id))
		return;
	api(t, "POST", "/api/v1/participants/MASC/P001/consents", t->admin_token,
	    "{\"scope\":\"genetic\",\"status\":\"withdrawn\",\"date\":\"2026-04-01\","
	    "\"version\":\"v1\"}",
	    &r);
	is_int(r.status, 201, "P001 withdraws genetic consent");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", id);
	api(t, "GET", path, t->admin_token, NULL, &r);
	ok(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "consent_withdrawn")),
	   "  the tube is not flagged (biobank consent stands)");
	resp_free(&r);
	world_act(t, id, "derivatives", "{\"type\":\"dna\"}", NULL, &r);
	is_int(r.status, 201, "  a derivative is still made: genetic consent gates no action");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "consent", argc, argv);
	world_make(&t);
	consent_gates(&t);
	genetic_scope(&t);
	tenv_teardown(&t);
	return tap_done();
}
