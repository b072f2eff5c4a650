/*
 * test_scoping.c — study limits on writes and in what answers tell
 * (issue 23, findings 1 and 2), as a study-limited user meets them in a
 * box that two studies share.
 *
 * Box MIX holds MASC tubes at A1 (M1, tube barcode MX-0001) and A3 (M2),
 * SSC tubes at A2 (S1) and A4 (S2); M3 is a MASC tube in BOX-B. Users:
 * sscmgr and masmgr, managers limited to SSC and to MASC; ssctech, an SSC
 * technician.
 *
 * 1. An SSC manager's audit of MIX covers SSC only: MASC tubes scanned
 *    show as "another study's tube" (never found, unexpected or named),
 *    an unreadable code at a MASC tube's place names nothing, and closing
 *    writes no event on a MASC tube. A MASC tube in a resolution is "not
 *    part of the audit" whether or not it sits in the box. An audit
 *    started by an admin is not found by a limited user.
 * 2. No refusal names a MASC tube or a shipment the SSC user cannot see:
 *    a bulk placement onto a MASC tube's position, a tube barcode that a
 *    MASC tube carries, a resolution moving an SSC tube onto a MASC tube's
 *    position, a tube already on another study's draft; closed audits'
 *    resolutions are not shown; an empty draft is seen only by its
 *    opener's studies.
 */
#include "world.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char ssc_mgr[128], masc_mgr[128], ssc_tech[128];
static char m1[16], m2[16], m3[16], m4[16], s1[16], s2[16];

/* A specimen of study/participant, with a tube barcode or none; bails out on failure. */
static void
reg(struct tenv *t, const char *study, const char *participant, const char *barcode, char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"%s\",\"code\":\"%s\"},\"type\":\"serum\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	         "\"quantity\":{\"value\":2,\"unit\":\"mL\"}%s%s%s}",
	         study, participant, barcode ? ",\"tube_barcode\":\"" : "", barcode ? barcode : "",
	         barcode ? "\"" : "");
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	if (r.status != 201 || jstr(&r, "id") == NULL) {
		printf("Bail out! cannot register a %s tube: %ld %s\n", study, r.status, r.body);
		exit(1);
	}
	snprintf(id, 16, "%s", jstr(&r, "id"));
	resp_free(&r);
}

static void
store(struct tenv *t, const char *id, const char *box, const char *pos)
{
	char body[128];
	struct resp r;

	snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%s\"}", box, pos);
	world_act(t, id, "store", body, NULL, &r);
	if (r.status != 200) {
		printf("Bail out! cannot store %s at %s %s: %ld %s\n", id, box, pos, r.status,
		       r.body);
		exit(1);
	}
	resp_free(&r);
}

/* True when the answer names none of the MASC tubes (ID or barcode) nor their other box. */
static bool
names_no_masc(const struct resp *r)
{
	const char *const masc[] = { m1, m2, m3, m4, "MX-0001", "BOX-B" };

	for (size_t i = 0; i < sizeof(masc) / sizeof(masc[0]); i++)
		if (r->body != NULL && strstr(r->body, masc[i]) != NULL) {
			tap_diag("  the answer names %s: %.400s", masc[i], r->body);
			return false;
		}
	return true;
}

/* Events on the MASC tubes so far. */
static long
masc_events(struct tenv *t)
{
	return sql_intf(t, "SELECT count(*) FROM events WHERE specimen_id IN ('%s','%s','%s','%s')",
	                m1, m2, m3, m4);
}

/* The discrepancy of a kind at a position, or NULL. */
static const cJSON *
disc_at(const struct resp *r, const char *kind, const char *found)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, cJSON_GetObjectItem(r->json, "discrepancies"))
	{
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(d, "kind"));
		const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(d, "found"));

		if (k != NULL && strcmp(k, kind) == 0 && f != NULL && strcmp(f, found) == 0)
			return d;
	}
	return NULL;
}

static long
summary(const struct resp *r, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "summary.%s", name);
	return (long)jnum(r, path, -1);
}

static void
make_world(struct tenv *t)
{
	bool ok_sql;

	world_make(t);
	free(sql_value(t,
	               "INSERT INTO boxes (barcode, rows, cols, location_id)"
	               " SELECT 'MIX', 9, 9, id FROM locations WHERE name = 'Rack 1'",
	               &ok_sql));
	reg(t, "MASC", "P001", "MX-0001", m1);
	reg(t, "MASC", "P001", NULL, m2);
	reg(t, "MASC", "P002", NULL, m3);
	reg(t, "MASC", "P002", NULL, m4);
	reg(t, "SSC", "S001", NULL, s1);
	reg(t, "SSC", "S001", NULL, s2);
	store(t, m1, "MIX", "A1");
	store(t, s1, "MIX", "A2");
	store(t, m2, "MIX", "A3");
	store(t, s2, "MIX", "A4");
	store(t, m3, "BOX-B", "A1");
	store(t, m4, "BOX-B", "A2");
	if (make_user(t, "sscmgr", "manager", "[\"SSC\"]", ssc_mgr) != 0 ||
	    make_user(t, "masmgr", "manager", "[\"MASC\"]", masc_mgr) != 0 ||
	    make_user(t, "ssctech", "technician", "[\"SSC\"]", ssc_tech) != 0)
		tap_bail("cannot make the study-limited users");
}

/* POST /api/v1/audits of MIX as token: the audit's id, or "" after a failed check. */
static void
start_audit(struct tenv *t, const char *token, char aid[32])
{
	struct resp r;

	api(t, "POST", "/api/v1/audits", token, "{\"box\":\"MIX\"}", &r);
	snprintf(aid, 32, "%.0f", jnum(&r, "id", 0));
	if (r.status != 201)
		tap_diag("starting an audit of MIX: %ld %s", r.status, r.body);
	resp_free(&r);
}

/* Finding 1: an SSC manager audits the shared box; MASC tubes stay out of it. */
static void
audit_of_shared_box(struct tenv *t)
{
	char aid[32], path[96], body[1024];
	struct resp r;
	long before = masc_events(t);

	api(t, "POST", "/api/v1/audits", ssc_mgr, "{\"box\":\"MIX\"}", &r);
	is_int(r.status, 201, "an SSC manager starts an audit of MIX, shared with MASC");
	snprintf(aid, sizeof(aid), "%.0f", jnum(&r, "id", 0));
	is_int((long)jnum(&r, "expected", -1), 2, "  expecting the 2 SSC tubes only");
	is_str(jstr(&r, "studies.0"), "SSC", "  covering study SSC");
	ok(names_no_masc(&r), "  naming no MASC tube");
	resp_free(&r);

	/* M1 at its place, S1 and S2 at theirs, M2 not seen, M3 (of BOX-B) in A6. */
	snprintf(path, sizeof(path), "/api/v1/audits/%s/scans", aid);
	snprintf(
	    body, sizeof(body),
	    "{\"scans\":[{\"position\":\"A1\",\"barcode\":\"%s\"},"
	    "{\"position\":\"A2\",\"barcode\":\"%s\"},{\"position\":\"A3\",\"barcode\":null},"
	    "{\"position\":\"A4\",\"barcode\":\"%s\"},{\"position\":\"A6\",\"barcode\":\"%s\"}]}",
	    m1, s1, s2, m3);
	api(t, "POST", path, ssc_mgr, body, &r);
	is_int(r.status, 200, "scans of MIX, two MASC tubes among them");
	is_int(summary(&r, "found"), 2,
	       "  found: the 2 SSC tubes; a MASC tube at its place is not 'found'");
	is_int(summary(&r, "other_study"), 2, "  other_study: the 2 MASC tubes scanned");
	is_int(summary(&r, "missing"), 0, "  the MASC tube not seen is not missing");
	is_int(summary(&r, "unexpected"), 0, "  the MASC tube from BOX-B is not unexpected");
	const cJSON *d1 = disc_at(&r, "other_study", "A1"), *d6 = disc_at(&r, "other_study", "A6");
	ok(d1 != NULL && d6 != NULL, "  A1 and A6 hold another study's tube");
	ok(d1 != NULL && cJSON_GetObjectItem(d1, "specimen") == NULL &&
	       cJSON_GetObjectItem(d1, "barcode") == NULL &&
	       cJSON_GetObjectItem(d1, "expected") == NULL,
	   "  with neither ID, barcode nor where the database has it");
	ok(names_no_masc(&r), "  the answer names no MASC tube nor BOX-B");
	resp_free(&r);

	/* A MASC tube in a resolution: the same refusal whether or not it sits in MIX. */
	snprintf(path, sizeof(path), "/api/v1/audits/%s/close", aid);
	snprintf(body, sizeof(body),
	         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"confirm\"}]}", m1);
	api(t, "POST", path, ssc_mgr, body, &r);
	ok(is_problem(&r, 400) && strcmp(jstr(&r, "code"), "specimen-not-in-audit") == 0,
	   "a resolution naming the MASC tube in MIX: 400 specimen-not-in-audit (%ld %s)", r.status,
	   jstr(&r, "code") ? jstr(&r, "code") : "");
	resp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"confirm\"}]}", m4);
	api(t, "POST", path, ssc_mgr, body, &r);
	ok(is_problem(&r, 400) && strcmp(jstr(&r, "code"), "specimen-not-in-audit") == 0,
	   "  as for a MASC tube elsewhere: the refusal does not tell where MASC tubes are");
	resp_free(&r);

	api(t, "POST", path, ssc_mgr, "{\"resolutions\":[]}", &r);
	is_int(r.status, 200, "the SSC manager closes the audit");
	ok(names_no_masc(&r), "  the closed record names no MASC tube");
	resp_free(&r);
	is_int(masc_events(t), before,
	       "  no event on any MASC tube: neither confirmed nor flagged");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM events WHERE details->>'audit' = '%s'"
	                " AND type = 'audit_confirmed' AND specimen_id IN ('%s', '%s')",
	                aid, s1, s2),
	       2, "  the 2 SSC tubes are confirmed");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM audits WHERE id = %s AND (report::text ~ '%s|%s|%s'"
	                " OR resolutions::text ~ '%s|%s|%s')",
	                aid, m1, m2, m3, m1, m2, m3),
	       0, "  the stored record and resolutions name no MASC tube");

	snprintf(path, sizeof(path), "/api/v1/audits/%s", aid);
	api(t, "GET", path, t->admin_token, NULL, &r);
	is_int(r.status, 200, "an admin reads the SSC audit");
	is_int(summary(&r, "other_study"), 2, "  as it was closed: 2 tubes of another study");
	resp_free(&r);
	api(t, "GET", path, masc_mgr, NULL, &r);
	ok(is_problem(&r, 404), "a MASC manager does not find the SSC audit");
	resp_free(&r);
}

/* Finding 1: an unreadable code where a MASC tube is names nothing and flags nothing. */
static void
unreadable_at_masc_tube(struct tenv *t)
{
	char aid[32], path[96], csv[256];
	struct resp r;
	long before = masc_events(t);

	start_audit(t, ssc_mgr, aid);
	snprintf(path, sizeof(path), "/api/v1/audits/%s/scans", aid);
	snprintf(csv, sizeof(csv), "A1,NO READ\nA2,%s\nA3,%s\nA4,%s\n", s1, m2, s2);
	http(t->d.url, "POST", path, ssc_mgr, "text/csv", csv, strlen(csv), &r);
	is_int(r.status, 200, "a rack file of MIX with NO READ where the MASC tube M1 is");
	const cJSON *d = disc_at(&r, "unreadable", "A1");
	ok(d != NULL && cJSON_GetObjectItem(d, "specimen") == NULL &&
	       strstr(cJSON_GetStringValue(cJSON_GetObjectItem(d, "detail")), "another study"),
	   "  A1 unreadable: the database has a tube of another study there, unnamed");
	ok(names_no_masc(&r), "  the answer names no MASC tube");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%s/close", aid);
	api(t, "POST", path, ssc_mgr, "{\"resolutions\":[]}", &r);
	is_int(r.status, 200, "  closed");
	resp_free(&r);
	is_int(masc_events(t), before,
	       "  without flagging the MASC tube behind the unreadable code");
}

/* Finding 2: a resolution putting an SSC tube where a MASC tube is: the clash names it not. */
static void
resolution_clash(struct tenv *t)
{
	char aid[32], path[96], body[512];
	struct resp r;
	long before = masc_events(t);

	start_audit(t, ssc_mgr, aid);
	snprintf(path, sizeof(path), "/api/v1/audits/%s/scans", aid);
	snprintf(body, sizeof(body), "{\"scans\":[{\"position\":\"A3\",\"barcode\":\"%s\"}]}", s1);
	api(t, "POST", path, ssc_mgr, body, &r);
	is_int(r.status, 200, "S1 scanned at A3, where the database has the MASC tube M2");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%s/close", aid);
	snprintf(body, sizeof(body),
	         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"accept_scan\"}]}", s1);
	api(t, "POST", path, ssc_mgr, body, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "position-occupied") == 0,
	   "  accepting that scan: 409 position-occupied");
	ok(names_no_masc(&r) && strstr(r.body, "another study") != NULL,
	   "  saying a tube of another study holds it, without naming it");
	resp_free(&r);
	is_int(masc_events(t), before, "  and nothing is written");
}

/* Finding 1: a limited user neither sees nor works on an audit started by an admin. */
static void
admin_audit(struct tenv *t)
{
	char aid[32], path[96], body[512];
	struct resp r;
	long events = sql_int(t, "SELECT count(*) FROM events");

	start_audit(t, t->admin_token, aid);
	snprintf(path, sizeof(path), "/api/v1/audits/%s/close", aid);
	snprintf(body, sizeof(body),
	         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"confirm\"}]}", m1);
	api(t, "POST", path, t->admin_token, body, &r);
	is_int(r.status, 200, "an admin closes an audit of MIX confirming the MASC tube M1");
	resp_free(&r);
	events = sql_int(t, "SELECT count(*) FROM events");

	snprintf(path, sizeof(path), "/api/v1/audits/%s", aid);
	api(t, "GET", path, ssc_mgr, NULL, &r);
	ok(is_problem(&r, 404) && names_no_masc(&r),
	   "the SSC manager does not find it: its resolutions name M1");
	resp_free(&r);

	start_audit(t, t->admin_token, aid);
	snprintf(path, sizeof(path), "/api/v1/audits/%s/scans", aid);
	snprintf(body, sizeof(body), "{\"scans\":[{\"position\":\"A1\",\"barcode\":\"%s\"}]}", m1);
	api(t, "POST", path, ssc_mgr, body, &r);
	ok(is_problem(&r, 404), "nor scans into an open one");
	resp_free(&r);
	http(t->d.url, "POST", path, ssc_mgr, "text/csv", "A1,NO READ\n", 11, &r);
	ok(is_problem(&r, 404), "  not even a rack file");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%s/close", aid);
	api(t, "POST", path, ssc_mgr, "{\"resolutions\":[]}", &r);
	ok(is_problem(&r, 404), "  nor closes it");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM events"), events, "  and nothing is written");
	is_int(sql_intf(t, "SELECT count(*) FROM audit_scans WHERE audit_id = %s", aid), 0,
	       "  no scan stored");
}

/* Finding 2: a bulk placement onto a MASC tube's position names it not. */
static void
placement_conflict(struct tenv *t)
{
	char s3[16], body[256];
	struct resp r;

	reg(t, "SSC", "S001", NULL, s3);
	snprintf(body, sizeof(body), "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"}]}",
	         s3);
	api(t, "POST", "/api/v1/boxes/MIX/placements", ssc_tech, body, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "position-occupied") == 0,
	   "an SSC technician places S3 at MIX A1, held by M1: 409 position-occupied");
	ok(names_no_masc(&r) && strstr(r.body, "another study") != NULL,
	   "  saying a specimen of another study is there, without naming it");
	resp_free(&r);
	api(t, "POST", "/api/v1/boxes/MIX/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 409) && strstr(r.body, m1) != NULL, "  an admin is told it is M1");
	resp_free(&r);
}

/* Finding 2: a tube barcode a MASC tube carries names it not. */
static void
duplicate_barcode(struct tenv *t)
{
	struct resp r;
	const char *body =
	    "{\"participant\":{\"study\":\"SSC\",\"code\":\"S001\"},\"type\":\"serum\","
	    "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	    "\"tube_barcode\":\"MX-0001\"}";

	api(t, "POST", "/api/v1/specimens", ssc_mgr, body, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "already-exists") == 0,
	   "an SSC tube registered with MASC M1's tube barcode: 409 already-exists");
	ok(r.body != NULL && strstr(r.body, m1) == NULL && strstr(r.body, "another study") != NULL,
	   "  saying a tube of another study has it, without naming it");
	resp_free(&r);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	ok(is_problem(&r, 409) && strstr(r.body, m1) != NULL, "  an admin is told it is M1");
	resp_free(&r);
}

/* Does the shipments list as token show shipment id? */
static bool
listed(struct tenv *t, const char *token, double id)
{
	struct resp r;
	const cJSON *it;
	bool seen = false;

	api(t, "GET", "/api/v1/shipments?limit=1000", token, NULL, &r);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
	{
		seen = seen || cJSON_GetNumberValue(cJSON_GetObjectItem(it, "id")) == id;
	}
	resp_free(&r);
	return seen;
}

static double
open_draft(struct tenv *t, const char *token, const char *destination)
{
	char body[256];
	struct resp r;

	snprintf(body, sizeof(body), "{\"destination\":\"%s\",\"conditions\":\"dry_ice\"}",
	         destination);
	api(t, "POST", "/api/v1/shipments", token, body, &r);
	double id = jnum(&r, "id", 0);
	if (r.status != 201)
		tap_diag("opening a draft: %ld %s", r.status, r.body);
	resp_free(&r);
	return id;
}

/* Finding 2: an empty draft is seen by its opener's studies; a full one by its tubes'. */
static void
empty_drafts(struct tenv *t)
{
	char path[96], body[256];
	struct resp r;
	double masc = open_draft(t, masc_mgr, "MASC proteomics core");
	double ssc = open_draft(t, ssc_mgr, "SSC sequencing core");
	double adm = open_draft(t, t->admin_token, "Biobank central");

	ok(!listed(t, ssc_mgr, masc),
	   "the SSC manager's list leaves out the MASC manager's empty draft");
	snprintf(path, sizeof(path), "/api/v1/shipments/%.0f", masc);
	api(t, "GET", path, ssc_mgr, NULL, &r);
	ok(is_problem(&r, 404) && strstr(r.body, "proteomics") == NULL, "  and does not find it");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%.0f/specimens", masc);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", s1);
	api(t, "POST", path, ssc_mgr, body, &r);
	ok(is_problem(&r, 404), "  nor adds a tube to it");
	resp_free(&r);
	ok(listed(t, masc_mgr, masc), "the MASC manager lists it");
	ok(listed(t, t->admin_token, masc), "  so does an admin");
	ok(listed(t, ssc_mgr, ssc) && !listed(t, masc_mgr, ssc),
	   "the SSC manager's empty draft: listed for SSC, not for MASC");
	ok(listed(t, ssc_mgr, adm) && listed(t, masc_mgr, adm),
	   "an admin's empty draft (every study): listed for both");

	/* S2 on the admin's draft beside MASC M4: the SSC manager may not see that draft. */
	snprintf(path, sizeof(path), "/api/v1/shipments/%.0f/specimens", adm);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\",\"%s\"]}", s2, m4);
	api(t, "POST", path, t->admin_token, body, &r);
	is_int(r.status, 200, "an admin puts S2 and MASC M4 on the central draft");
	resp_free(&r);
	ok(!listed(t, ssc_mgr, adm), "  which the SSC manager then no longer lists");
	snprintf(path, sizeof(path), "/api/v1/shipments/%.0f/specimens", ssc);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", s2);
	api(t, "POST", path, ssc_mgr, body, &r);
	char adm_text[64];
	snprintf(adm_text, sizeof(adm_text), "shipment %.0f", adm);
	ok(is_problem(&r, 409) && strstr(r.body, adm_text) == NULL &&
	       strstr(r.body, "another study") != NULL,
	   "S2 onto the SSC draft: 409, saying it is on another study's draft, not which");
	resp_free(&r);
	api(t, "POST", path, t->admin_token, body, &r);
	ok(is_problem(&r, 409) && strstr(r.body, adm_text) != NULL, "  an admin is told which");
	resp_free(&r);
}

/*
 * The whole ledger's verification names the broken chains of every study:
 * an SSC manager asking for it gets 403 every-study-only, not MASC's IDs.
 * (A tube's own history and proofs are theirs to check.)
 */
static void
ledger_verify(struct tenv *t)
{
	struct resp r;

	sql_exec(t, "ALTER TABLE events DISABLE TRIGGER USER");
	char sql[200];
	snprintf(sql, sizeof(sql), "UPDATE events SET reason = 'forged' WHERE specimen_id = '%s'",
	         m1);
	sql_exec(t, sql);
	sql_exec(t, "ALTER TABLE events ENABLE TRIGGER USER");
	api(t, "GET", "/api/v1/ledger/verify", ssc_mgr, NULL, &r);
	ok(is_problem(&r, 403), "an SSC manager verifying the whole ledger: 403");
	is_str(jstr(&r, "code"), "every-study-only", "  code every-study-only");
	ok(names_no_masc(&r), "  naming no MASC tube");
	resp_free(&r);
	api(t, "GET", "/api/v1/ledger/verify", t->admin_token, NULL, &r);
	ok(r.status == 200 && strstr(r.body, m1) != NULL,
	   "  the admin of every study is told of %s", m1);
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "scoping", argc, argv);
	make_world(&t);
	audit_of_shared_box(&t);
	unreadable_at_masc_tube(&t);
	resolution_clash(&t);
	admin_audit(&t);
	placement_conflict(&t);
	duplicate_barcode(&t);
	empty_drafts(&t);
	ledger_verify(&t);
	tenv_teardown(&t);
	return tap_done();
}
