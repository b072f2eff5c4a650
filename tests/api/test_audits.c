/*
 * test_audits.c — freezer audits against the shared rack-scanner fixtures:
 * bulk placement from a scanner file, tubes removed, added, swapped and
 * relabelled behind the database's back, an audit with the FluidX file and
 * hand scans reporting every kind of discrepancy, closing with resolutions
 * and the events it writes, an audit of a location with several boxes, a
 * tube moved through the API while an audit is open, every refusal of the
 * scanner-file parser reaching the API as a 400 naming the line, and the
 * time a 96-tube reconciliation takes.
 *
 * argv[1]: biobankd; argv[2]: the shared fixtures folder.
 */
#include "biobank.h"
#include "world.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *fixtures;
static char *fluidx;     /* fixtures/rack-scans/fluidx-with-header.csv */
static char *headerless; /* fixtures/rack-scans/headerless-with-rack.csv */
static char tech_token[128], auditor_token[128];

/* The first value of a query, copied into out. */
static void
value(struct tenv *t, char *out, size_t len, const char *sql)
{
	bool ok_sql;
	char *v = sql_value(t, sql, &ok_sql);

	snprintf(out, len, "%s", (ok_sql && v != NULL) ? v : "");
	if (!ok_sql)
		tap_diag("SQL failed: %s", sql);
	free(v);
}

static void
post_csv(struct tenv *t, const char *path, const char *token, const char *csv, struct resp *r)
{
	http(t->d.url, "POST", path, token ? token : t->admin_token, "text/csv", csv, strlen(csv),
	     r);
}

/* The discrepancy of a kind about a specimen (or, with spec NULL, a barcode), or NULL. */
static const cJSON *
disc(const struct resp *r, const char *kind, const char *spec, const char *barcode)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, cJSON_GetObjectItem(r->json, "discrepancies"))
	{
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(d, "kind"));
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(d, "specimen"));
		const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(d, "barcode"));

		if (k == NULL || strcmp(k, kind) != 0)
			continue;
		if (spec != NULL && s != NULL && strcmp(s, spec) == 0)
			return d;
		if (spec == NULL && barcode != NULL && b != NULL && strcmp(b, barcode) == 0)
			return d;
	}
	return NULL;
}

static const char *
dstr(const cJSON *d, const char *name)
{
	const char *s = d ? cJSON_GetStringValue(cJSON_GetObjectItem(d, name)) : NULL;
	return s ? s : "";
}

static long
summary(const struct resp *r, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "summary.%s", name);
	return (long)jnum(r, path, -1);
}

/* The specimen ID of a tube barcode. */
static void
id_of(struct tenv *t, const char *barcode, char id[16])
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT id FROM specimens WHERE tube_barcode = '%s'", barcode);
	value(t, id, 16, sql);
}

static void
make_users(struct tenv *t)
{
	static const char *const users[][2] = { { "tech", "technician" }, { "aud", "auditor" } };
	char body[256], password[64];
	struct resp r;

	for (size_t i = 0; i < 2; i++) {
		snprintf(body, sizeof(body),
		         "{\"username\":\"%s\",\"password\":\"password-%s-long\",\"role\":\"%s\"}",
		         users[i][0], users[i][0], users[i][1]);
		api(t, "POST", "/api/v1/users", t->admin_token, body, &r);
		if (r.status != 201) {
			printf("Bail out! cannot add user %s: %ld %s\n", users[i][0], r.status,
			       r.body);
			exit(1);
		}
		resp_free(&r);
		snprintf(password, sizeof(password), "password-%s-long", users[i][0]);
		if (login(t, users[i][0], password, i == 0 ? tech_token : auditor_token) != 0) {
			printf("Bail out! cannot log in as %s\n", users[i][0]);
			exit(1);
		}
	}
}

/*
 * The fixture's tubes: 94 specimens with tube barcodes FD06299901..94 and
 * the 8x12 rack FR00004821. The fixture itself cannot be placed (its D7 is
 * NO READ); the same tubes without that well can, and D7's tube goes in by
 * JSON.
 */
static void
placement_from_file(struct tenv *t)
{
	struct resp r;

	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT 'FR00004821', 8, 12, id FROM locations WHERE name = 'Rack 1'");
	sql_exec(
	    t, "SELECT count(bb_specimen_register('MASC', 'P001', 'serum', 'baseline',"
	       " '2026-03-01T09:30:00Z', 1, 'mL', 'FD062999' || lpad(g::text, 2, '0'), NULL, NULL,"
	       " NULL, NULL, 'setup', NULL)) FROM generate_series(1, 94) g");
	long events0 = sql_intf(t, "SELECT count(*) FROM events");

	post_csv(t, "/api/v1/boxes/FR00004821/placements", NULL, fluidx, &r);
	ok(is_problem(&r, 400), "placing the FluidX fixture as it is: 400 (it has a NO READ well)");
	ok(strstr(r.body, "line 46") != NULL && strstr(r.body, "D7") != NULL,
	   "  naming line 46 and well D7 (%s)", jstr(&r, "detail") ? jstr(&r, "detail") : r.body);
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM events"), events0, "  and nothing is stored");

	post_csv(t, "/api/v1/boxes/FR00004821/placements", NULL, headerless, &r);
	ok(is_problem(&r, 400), "a file of rack FR00004822 into box FR00004821: 400");
	ok(strstr(r.body, "line 1") != NULL && strstr(r.body, "FR00004822") != NULL,
	   "  naming line 1 and the file's rack (%s)",
	   jstr(&r, "detail") ? jstr(&r, "detail") : "");
	resp_free(&r);

	post_csv(t, "/api/v1/boxes/FR00004821/placements", NULL,
	         "FR00004821,A1,FD06299901\nFR00004821,A2,NOSUCHTUBE\n", &r);
	ok(is_problem(&r, 400) && strstr(r.body, "line 2") != NULL &&
	       strstr(r.body, "NOSUCHTUBE") != NULL,
	   "an unknown tube in a file: 400 naming line 2 and the code");
	resp_free(&r);
	post_csv(t, "/api/v1/boxes/FR00004821/placements", NULL, "FR00004821,A1,NO TUBE\n", &r);
	ok(is_problem(&r, 400) && strstr(r.body, "no tube") != NULL,
	   "a file of empty wells only: 400");
	resp_free(&r);
	post_csv(t, "/api/v1/boxes/NOBOX/placements", NULL, "NOBOX,A1,FD06299901\n", &r);
	ok(is_problem(&r, 404), "a file for a box that does not exist: 404");
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM events"), events0,
	       "  none of them stored anything");

	/* The fixture's rows without the NO READ well, as a headerless rack,well,barcode file. */
	size_t cap = strlen(fluidx) + 1, used = 0;
	char *csv = calloc(1, cap), *copy = strdup(fluidx), *save = NULL;
	for (char *line = strtok_r(copy, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (strncmp(line, "FR00004821,", 11) != 0 || strstr(line, "NO READ") != NULL ||
		    strstr(line, "NO TUBE") != NULL)
			continue;
		used += (size_t)snprintf(csv + used, cap - used, "%s\n", line);
	}
	free(copy);
	post_csv(t, "/api/v1/boxes/FR00004821/placements", tech_token, csv, &r);
	is_int(r.status, 200, "the fixture's 93 readable tubes placed from a scanner file");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "placed")), 93, "  93 placements");
	is_str(jstr(&r, "placed.0.event"), "stored", "  each a stored event");
	resp_free(&r);
	free(csv);
	api(t, "POST", "/api/v1/boxes/FR00004821/placements", t->admin_token,
	    "{\"placements\":[{\"position\":\"D7\",\"specimen\":\"FD06299943\"}]}", &r);
	is_int(r.status, 200, "D7's tube placed by JSON");
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                   " WHERE b.barcode = 'FR00004821' AND s.status = 'in_storage'"),
	       94, "the box holds the fixture's 94 tubes");
	is_int(sql_intf(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                   " WHERE b.barcode = 'FR00004821' AND s.tube_barcode = 'FD06299956'"
	                   " AND s.pos_row = 5 AND s.pos_col = 8"),
	       1, "  FD06299956 at E8, as the file says");
	is_int(
	    sql_intf(
	        t,
	        "SELECT count(*) FROM events WHERE type = 'stored' AND reason = 'bulk placement'"),
	    94, "  each with its stored event");
}

static void
create_errors(struct tenv *t)
{
	static const struct {
		const char *body, *what, *field;
	} cases[] = {
		{ "{}", "neither box nor location", "box" },
		{ "{\"box\":\"FR00004821\",\"location\":1}", "both box and location", "location" },
		{ "{\"box\":\"NOBOX\"}", "an unknown box", "box" },
		{ "{\"location\":999999}", "an unknown location", "location" },
		{ "{\"box\":\"FR00004821\",\"colour\":\"red\"}", "an unknown field", "colour" },
		{ "{\"location\":\"one\"}", "a location that is not a number", "location" },
	};
	struct resp r;
	long audits0 = sql_intf(t, "SELECT count(*) FROM audits");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		api(t, "POST", "/api/v1/audits", t->admin_token, cases[i].body, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, cases[i].field),
		   "starting an audit with %s: 400 naming %s", cases[i].what, cases[i].field);
		resp_free(&r);
	}
	api(t, "POST", "/api/v1/audits", tech_token, "{\"box\":\"FR00004821\"}", &r);
	ok(is_problem(&r, 403), "a technician may not start an audit: 403");
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM audits"), audits0,
	       "  no audit was made by any of them");
	api(t, "GET", "/api/v1/audits/999999", t->admin_token, NULL, &r);
	ok(is_problem(&r, 404), "GET an audit that does not exist: 404");
	resp_free(&r);
	api(t, "GET", "/api/v1/audits/abc", t->admin_token, NULL, &r);
	ok(is_problem(&r, 404), "GET an audit id that is not a number: 404");
	resp_free(&r);
}

/* Every way the parser refuses a file reaches the API as a 400 naming the line. */
static void
parser_refusals(struct tenv *t, const char *aid)
{
	static const struct {
		const char *query, *csv, *what, *line;
	} cases[] = {
		{ "", "FR00004821,A1,XT000001\nFR00004822,A2,XT000002\n", "two racks in one file",
		  "line 2" },
		{ "", "FR00004821,I1,XT000001\n", "a well off the 8x12 rack", "line 1" },
		{ "?box=FR00004821", "A1,XT000001\nA01,XT000002\n", "a well listed twice",
		  "line 2" },
		{ "?box=FR00004821", "A1,XT000001\nA2,XT000001\n", "a tube listed twice",
		  "line 2" },
		{ "",
		  "Rack ID,FR00004821,,\nTube Count,3,,\nRack ID,Well,2D Barcode,\n"
		  "FR00004821,A1,XT000001,\nFR00004821,A2,XT000002,\n",
		  "a tube count that disagrees with the rows", "line" },
		{ "?box=FR00004821", "A1,XT 0001\n", "a barcode with a space", "line 1" },
		{ "?box=FR00004821", "{\"scans\":[]}\n", "JSON sent as text/csv", "line 1" },
		{ "?box=FR00004821", "", "an empty file", "line 1" },
		{ "?box=FR00004821", "FR00004822,A1,XT000001\n",
		  "a file of another rack than ?box=", "line 1" },
		{ "?box=FR00004821", "A1,XT000001\nthis is not a scan\n",
		  "a line that is not a row", "line 2" },
	};
	char path[128];
	struct resp r;
	long scans0 = sql_intf(t, "SELECT count(*) FROM audit_scans WHERE audit_id = %s", aid);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/audits/%s/scans%s", aid, cases[i].query);
		post_csv(t, path, NULL, cases[i].csv, &r);
		const char *detail = jstr(&r, "detail");
		ok(is_problem(&r, 400) && detail != NULL && strstr(detail, cases[i].line) != NULL,
		   "%s: 400 with \"%s\" (%s)", cases[i].what, cases[i].line,
		   detail ? detail : r.body);
		resp_free(&r);
	}
	snprintf(path, sizeof(path), "/api/v1/audits/%s/scans", aid);
	post_csv(t, path, NULL, headerless, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "box") && strstr(r.body, "FR00004822"),
	   "the headerless fixture (rack FR00004822, no such box): 400 naming the box");
	resp_free(&r);
	http(t->d.url, "POST", path, t->admin_token, "application/octet-stream", "A1,X\n", 5, &r);
	ok(is_problem(&r, 415), "a scan sent as application/octet-stream: 415");
	resp_free(&r);
	post_csv(t, path, auditor_token, fluidx, &r);
	ok(is_problem(&r, 403), "an auditor may not feed scans: 403");
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM audit_scans WHERE audit_id = %s", aid), scans0,
	       "  none of these stored a scan");
}

/*
 * Behind the database's back (SQL as the superuser, no events):
 *   A2's tube is marked checked out; A5 and A6 swap places; A10's tube loses
 *   its barcode; C6's tube is marked lost; a tube EXTRA-1 is put into H11
 *   (the scanner shows it empty). Elsewhere, a tube without a barcode in
 *   BOX-B A1 that the hand scan will find in H12, by its ID.
 * While the audit is open, B8's tube moves to BOX-A through the API.
 */
static void
box_audit(struct tenv *t)
{
	char path[128], aid[32], id02[16], id05[16], id06[16], id10[16], id20[16], id30[16],
	    id43[16], extra[16], stray[16], other[16];
	struct resp r;

	/* What the database believes is set up with custody events, as the
	 * daemon would write them: verify-ledger replays every specimen's
	 * events and reports a row changed without one. */
	sql_exec(t, "SELECT bb_specimen_act('checkout', 'FD06299902', NULL, 'setup', NULL, NULL,"
	            " NULL, NULL, NULL, NULL, NULL)");
	sql_exec(t, "DO $$ DECLARE a specimens; b specimens; bx text; BEGIN"
	            " SELECT * INTO a FROM specimens WHERE tube_barcode = 'FD06299905';"
	            " SELECT * INTO b FROM specimens WHERE tube_barcode = 'FD06299906';"
	            " SELECT barcode INTO bx FROM boxes WHERE id = a.box_id;"
	            " PERFORM bb_specimen_act('move', a.id, NULL, 'setup', NULL, bx, 'H12', NULL,"
	            "  NULL, NULL, NULL);"
	            " PERFORM bb_specimen_act('move', b.id, NULL, 'setup', NULL, bx,"
	            "  bb_position_name(a.pos_row, a.pos_col), NULL, NULL, NULL, NULL);"
	            " PERFORM bb_specimen_act('move', a.id, NULL, 'setup', NULL, bx,"
	            "  bb_position_name(b.pos_row, b.pos_col), NULL, NULL, NULL, NULL);"
	            " END $$");
	sql_exec(t, "UPDATE specimens SET tube_barcode = 'FD06299910-OLD' WHERE tube_barcode = "
	            "'FD06299910'");
	sql_exec(t, "SELECT bb_specimen_act('lost', 'FD06299930', NULL, 'setup', NULL, NULL, NULL,"
	            " NULL, NULL, NULL, NULL)");
	sql_exec(
	    t,
	    "SELECT bb_specimen_register('MASC', 'P002', 'plasma', 'baseline',"
	    " '2026-03-01T09:30:00Z', 1, 'mL', 'EXTRA-1', NULL, NULL, NULL, NULL, 'setup', NULL)");
	sql_exec(t, "SELECT bb_specimen_act('store', 'EXTRA-1', NULL, 'setup', NULL, 'FR00004821',"
	            " 'H11', NULL, NULL, NULL, NULL)");
	if (!world_register(t, "MASC", "P002", "dna", stray))
		exit(1);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", stray);
	api(t, "POST", path, t->admin_token, "{\"box\":\"BOX-B\",\"position\":\"A1\"}", &r);
	resp_free(&r);
	id_of(t, "FD06299902", id02);
	id_of(t, "FD06299905", id05);
	id_of(t, "FD06299906", id06);
	id_of(t, "FD06299910-OLD", id10);
	id_of(t, "FD06299920", id20);
	id_of(t, "FD06299930", id30);
	id_of(t, "FD06299943", id43);
	id_of(t, "EXTRA-1", extra);

	api(t, "POST", "/api/v1/audits", t->admin_token, "{\"box\":\"FR00004821\"}", &r);
	is_int(r.status, 201, "an audit of box FR00004821 starts");
	is_str(jstr(&r, "status"), "open", "  open");
	ok(jnum(&r, "expected", -1) == 93, "  expecting 93 tubes (%g)", jnum(&r, "expected", -1));
	is_str(jstr(&r, "boxes.0.box"), "FR00004821", "  in its one box");
	snprintf(aid, sizeof(aid), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM audit_expected WHERE audit_id = %s", aid), 93,
	       "  the snapshot holds 93 rows");
	is_int(sql_intf(
	           t,
	           "SELECT count(*) FROM audit_expected WHERE audit_id = %s AND specimen_id = '%s'"
	           " AND pos_row = 1 AND pos_col = 6",
	           aid, id05),
	       1, "  with A5's tube where the database has it: A6");

	parser_refusals(t, aid);

	/* The tube moves through the API while the audit is open. */
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/move", id20);
	api(t, "POST", path, tech_token, "{\"box\":\"BOX-A\",\"position\":\"A1\"}", &r);
	is_int(r.status, 200, "B8's tube moves to BOX-A A1 through the API during the audit");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/audits/%s/scans", aid);
	post_csv(t, path, NULL, fluidx, &r);
	is_int(r.status, 200, "the FluidX fixture is fed as the box's scan");
	resp_free(&r);
	post_csv(t, path, NULL, fluidx, &r);
	is_int(r.status, 200, "  and fed again");
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM audit_scans WHERE audit_id = %s", aid), 96,
	       "  the re-scan replaced the first: 96 wells stored, not 192");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM audit_scans WHERE audit_id = %s AND state = 'no_read'"
	                " AND pos_row = 4 AND pos_col = 7 AND line = 46",
	                aid),
	       1, "  D7 stored as NO READ from line 46");

	/* Hand scans: refusals first, then H12 with the stray tube's ID. */
	static const struct {
		const char *body, *what, *field;
	} bad[] = {
		{ "{\"scans\":[{\"position\":\"Z99\",\"barcode\":\"X\"}]}",
		  "an impossible position", "scans[0].position" },
		{ "{\"scans\":[{\"position\":\"I1\",\"barcode\":\"X\"}]}",
		  "a position off the rack", "scans[0].position" },
		{ "{\"scans\":[{\"box\":\"BOX-A\",\"position\":\"A1\",\"barcode\":\"X\"}]}",
		  "a box outside the audit", "scans[0].box" },
		{ "{\"scans\":[{\"position\":\"H12\"}]}", "no barcode key", "scans[0].barcode" },
		{ "{\"scans\":[{\"position\":\"H12\",\"barcode\":\"A B\"}]}",
		  "a barcode with a space", "scans[0].barcode" },
		{ "{\"scans\":[{\"position\":\"H12\",\"barcode\":\"\"},{\"position\":\"h12\","
		  "\"barcode\":\"\"}]}",
		  "one position twice", "scans[1].position" },
		{ "{\"scans\":[]}", "no scans", "scans" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api(t, "POST", path, t->admin_token, bad[i].body, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "hand scans with %s: 400 naming %s", bad[i].what, bad[i].field);
		resp_free(&r);
	}
	is_int(sql_intf(t,
	                "SELECT count(*) FROM audit_scans WHERE audit_id = %s AND source = 'hand'",
	                aid),
	       0, "  none stored");
	char body[1024];
	snprintf(body, sizeof(body), "{\"scans\":[{\"position\":\"H12\",\"barcode\":\"%s\"}]}",
	         stray);
	api(t, "POST", path, t->admin_token, body, &r);
	is_int(r.status, 200, "a hand scan of H12 finds a tube by its specimen ID");
	resp_free(&r);
	is_int(sql_intf(t,
	                "SELECT count(*) FROM audit_scans WHERE audit_id = %s AND source = 'hand'"
	                " AND specimen_id = '%s' AND pos_row = 8 AND pos_col = 12",
	                aid, stray),
	       1, "  H12 now holds the hand scan");

	struct timespec t0, t1;
	snprintf(path, sizeof(path), "/api/v1/audits/%s", aid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	api(t, "GET", path, auditor_token, NULL, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tap_diag("reconciling the 96-well rack (GET over loopback): %.1f ms",
	         (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	is_int(r.status, 200, "an auditor reads the report");
	is_str(jstr(&r, "scope.box"), "FR00004821", "  scope: the box");
	ok(jstr(&r, "started_at") != NULL, "  with its start time");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "closed_at")), "  and no closing time");
	is_int(summary(&r, "expected"), 93, "  summary: 93 expected");
	is_int(summary(&r, "found"), 87, "  87 found where expected");
	is_int(summary(&r, "missing"), 2, "  2 missing");
	is_int(summary(&r, "unexpected"), 4, "  4 unexpected");
	is_int(summary(&r, "misplaced"), 2, "  2 misplaced");
	is_int(summary(&r, "unreadable"), 1, "  1 unreadable");
	is_int(summary(&r, "moved_during_audit"), 1, "  1 moved during the audit");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "discrepancies")), 10,
	       "  10 discrepancies listed");

	const cJSON *d = disc(&r, "missing", extra, NULL);
	ok(d != NULL && strcmp(dstr(d, "expected"), "H11") == 0 &&
	       strcmp(dstr(d, "box"), "FR00004821") == 0,
	   "missing: EXTRA-1, expected at H11 (the scanner saw no tube)");
	d = disc(&r, "missing", id10, NULL);
	ok(d != NULL && strcmp(dstr(d, "expected"), "A10") == 0,
	   "missing: the relabelled tube, expected at A10");
	d = disc(&r, "unexpected", NULL, "FD06299910");
	ok(d != NULL && strcmp(dstr(d, "found"), "A10") == 0 &&
	       strstr(dstr(d, "detail"), "no specimen"),
	   "unexpected: barcode FD06299910 at A10, known to no specimen (%s)", dstr(d, "detail"));
	d = disc(&r, "unexpected", id02, NULL);
	ok(d != NULL && strcmp(dstr(d, "found"), "A2") == 0 &&
	       strstr(dstr(d, "detail"), "checked_out"),
	   "unexpected: A2's tube, which the database has checked out (%s)", dstr(d, "detail"));
	d = disc(&r, "unexpected", id30, NULL);
	ok(d != NULL && strcmp(dstr(d, "found"), "C6") == 0 && strstr(dstr(d, "detail"), "lost"),
	   "unexpected: C6's tube, which the database has lost (%s)", dstr(d, "detail"));
	d = disc(&r, "unexpected", stray, NULL);
	ok(d != NULL && strcmp(dstr(d, "found"), "H12") == 0 &&
	       strstr(dstr(d, "detail"), "BOX-B at A1"),
	   "unexpected: the hand-scanned tube, which the database has in BOX-B A1 (%s)",
	   dstr(d, "detail"));
	d = disc(&r, "misplaced", id05, NULL);
	ok(d != NULL && strcmp(dstr(d, "expected"), "A6") == 0 &&
	       strcmp(dstr(d, "found"), "A5") == 0,
	   "misplaced: FD06299905 expected at A6, found at A5");
	is_str(dstr(d, "barcode"), "FD06299905", "  with its tube barcode");
	d = disc(&r, "misplaced", id06, NULL);
	ok(d != NULL && strcmp(dstr(d, "expected"), "A5") == 0 &&
	       strcmp(dstr(d, "found"), "A6") == 0,
	   "misplaced: FD06299906 expected at A5, found at A6");
	d = disc(&r, "unreadable", id43, NULL);
	ok(d != NULL && strcmp(dstr(d, "found"), "D7") == 0,
	   "unreadable: D7, where the database expects FD06299943");
	d = disc(&r, "moved", id20, NULL);
	ok(d != NULL && strcmp(dstr(d, "expected"), "B8") == 0 &&
	       strstr(dstr(d, "detail"), "BOX-A"),
	   "moved: B8's tube, moved to BOX-A during the audit, not reported missing (%s)",
	   dstr(d, "detail"));
	ok(disc(&r, "missing", id20, NULL) == NULL && disc(&r, "unexpected", id20, NULL) == NULL,
	   "  and not as missing or unexpected");
	resp_free(&r);

	/* Closing: refusals leave the audit open and the ledger as it was. */
	snprintf(path, sizeof(path), "/api/v1/audits/%s/close", aid);
	/* A specimen that is neither expected nor scanned in this audit. */
	if (!world_register(t, "MASC", "P001", "serum", other))
		exit(1);
	long events0 = sql_intf(t, "SELECT count(*) FROM events");
	{
		char bodies[5][256];
		static const char *const fields[5] = { "resolutions[0].specimen",
			                               "resolutions[0].action",
			                               "resolutions[1].specimen",
			                               "resolutions[0].position",
			                               "resolutions[0].position" };
		snprintf(bodies[0], sizeof(bodies[0]),
		         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"confirm\"}]}", other);
		snprintf(bodies[1], sizeof(bodies[1]),
		         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"shrug\"}]}", id05);
		snprintf(bodies[2], sizeof(bodies[2]),
		         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"lost\"},"
		         "{\"specimen\":\"%s\",\"action\":\"confirm\"}]}",
		         id10, id10);
		snprintf(bodies[3], sizeof(bodies[3]),
		         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"accept_scan\"}]}",
		         extra);
		snprintf(bodies[4], sizeof(bodies[4]),
		         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"accept_scan\","
		         "\"box\":\"FR00004821\",\"position\":\"B1\"}]}",
		         id05);
		for (size_t i = 0; i < 5; i++) {
			api(t, "POST", path, t->admin_token, bodies[i], &r);
			ok(is_problem(&r, 400) && problem_names_field(&r, fields[i]),
			   "closing with a bad resolution: 400 naming %s (%s)", fields[i],
			   jstr(&r, "errors.0.message") ? jstr(&r, "errors.0.message") : r.body);
			resp_free(&r);
		}
	}
	snprintf(body, sizeof(body),
	         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"found\"}]}", id05);
	api(t, "POST", path, t->admin_token, body, &r);
	ok(is_problem(&r, 409), "found for a tube that is not lost: 409");
	resp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"resolutions\":[{\"specimen\":\"%s\",\"action\":\"accept_scan\"}]}", id05);
	api(t, "POST", path, t->admin_token, body, &r);
	ok(is_problem(&r, 409) && strstr(r.body, id06) != NULL,
	   "accepting one half of a swap only: 409 naming the tube still in the way");
	resp_free(&r);
	api(t, "POST", path, tech_token, "{}", &r);
	ok(is_problem(&r, 403), "a technician may not close an audit: 403");
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM events"), events0,
	       "  the refusals wrote no event");
	is_int(sql_intf(t, "SELECT count(*) FROM audits WHERE id = %s AND status = 'open'", aid), 1,
	       "  and the audit is still open");

	snprintf(body, sizeof(body),
	         "{\"resolutions\":["
	         "{\"specimen\":\"%s\",\"action\":\"accept_scan\"},"
	         "{\"specimen\":\"FD06299906\",\"action\":\"accept_scan\"},"
	         "{\"specimen\":\"%s\",\"action\":\"lost\"},"
	         "{\"specimen\":\"%s\",\"action\":\"confirm\"},"
	         "{\"specimen\":\"%s\",\"action\":\"accept_scan\"},"
	         "{\"specimen\":\"%s\",\"action\":\"found\",\"box\":\"FR00004821\",\"position\":"
	         "\"C6\"}]}",
	         id05, id10, id43, id02, id30);
	api(t, "POST", path, t->admin_token, body, &r);
	is_int(r.status, 200, "the audit closes with six resolutions");
	is_str(jstr(&r, "status"), "closed", "  status closed");
	ok(jstr(&r, "closed_at") != NULL, "  with its closing time");
	is_int(summary(&r, "found"), 87, "  the report kept: 87 found");
	ok(jnum(&r, "events.audit_confirmed", -1) == 87, "  87 tubes confirmed where expected");
	ok(jnum(&r, "events.audit_flagged", -1) == 2, "  2 left unresolved are flagged");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "resolutions")), 6,
	       "  6 resolutions recorded");
	resp_free(&r);

	is_int(sql_intf(t,
	                "SELECT count(*) FROM events WHERE type = 'audit_confirmed'"
	                " AND details->>'audit' = '%s'",
	                aid),
	       88, "88 audit_confirmed events: 87 found and 1 confirmed by hand");
	is_int(
	    sql_intf(
	        t,
	        "SELECT count(*) FROM events WHERE type = 'audit_confirmed' AND specimen_id = '%s'"
	        " AND details->>'resolution' = 'confirm'",
	        id43),
	    1, "  the unreadable D7 tube confirmed by its resolution");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM events e JOIN specimens s ON s.id = e.specimen_id"
	                " WHERE e.type = 'moved' AND e.reason = 'audit' AND s.id IN ('%s', '%s')"
	                " AND e.to_box = 'FR00004821'",
	                id05, id06),
	       2, "the swapped tubes got moved events, reason audit");
	is_int(sql_intf(
	           t,
	           "SELECT count(*) FROM specimens WHERE id = '%s' AND pos_row = 1 AND pos_col = 5",
	           id05),
	       1, "  FD06299905 now at A5, where the scanner saw it");
	is_int(sql_intf(t, "SELECT count(*) FROM specimens WHERE id = '%s' AND pos_col = 6", id06),
	       1, "  FD06299906 now at A6");
	is_int(
	    sql_intf(t,
	             "SELECT count(*) FROM specimens s JOIN events e ON e.specimen_id = s.id"
	             " AND e.seq = s.ledger_seq WHERE s.id = '%s' AND s.status = 'lost' AND e.type "
	             "= 'lost'"
	             " AND e.reason = 'audit' AND e.from_pos = 'A10'",
	             id10),
	    1, "the relabelled tube is lost ('lost' event, reason audit, from A10)");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM specimens s JOIN events e ON e.specimen_id = s.id"
	                " AND e.seq = s.ledger_seq WHERE s.id = '%s' AND s.status = 'in_storage'"
	                " AND e.type = 'returned' AND e.to_pos = 'A2' AND e.reason = 'audit'",
	                id02),
	       1, "A2's tube, checked out in the database, is returned to A2");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM specimens s JOIN events e ON e.specimen_id = s.id"
	                " AND e.seq = s.ledger_seq WHERE s.id = '%s' AND s.status = 'in_storage'"
	                " AND e.type = 'found' AND e.to_pos = 'C6'",
	                id30),
	       1, "the lost tube seen at C6 is found there ('found' event)");
	is_int(sql_intf(
	           t,
	           "SELECT count(*) FROM events WHERE type = 'audit_flagged' AND specimen_id = '%s'"
	           " AND details->>'kind' = 'missing'",
	           extra),
	       1, "EXTRA-1, unresolved, is flagged: missing");
	is_int(sql_intf(
	           t,
	           "SELECT count(*) FROM events WHERE type = 'audit_flagged' AND specimen_id = '%s'"
	           " AND details->>'kind' = 'unexpected'",
	           stray),
	       1, "the stray tube, unresolved, is flagged: unexpected");
	is_int(
	    sql_intf(
	        t,
	        "SELECT count(*) FROM events WHERE specimen_id = '%s' AND seq > ("
	        "SELECT ledger_seq FROM audit_expected WHERE specimen_id = '%s' AND audit_id = %s)"
	        " AND type LIKE 'audit%%'",
	        id20, id20, aid),
	    0, "the tube moved during the audit got no audit event");

	api(t, "POST", path, t->admin_token, "{}", &r);
	ok(is_problem(&r, 409), "closing twice: 409");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%s/scans", aid);
	post_csv(t, path, NULL, fluidx, &r);
	ok(is_problem(&r, 409), "a scan for a closed audit: 409");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/audits/%s", aid);
	api(t, "GET", path, t->admin_token, NULL, &r);
	is_str(jstr(&r, "status"), "closed", "GET a closed audit: closed");
	is_int(summary(&r, "moved_during_audit"), 1, "  its report as it stood at closing");
	resp_free(&r);

	/* The ledger still verifies after all of it. */
	api(t, "GET", "/api/v1/ledger/verify", t->admin_token, NULL, &r);
	if (!ok(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "ok")),
	        "the ledger verifies after the audit"))
		tap_diag("%s", r.body);
	resp_free(&r);
}

/* A freezer with a shelf, a rack and two boxes: the audit takes every box below it. */
static void
location_audit(struct tenv *t)
{
	char loc[32], a1[16], a2[16], b3[16], aid[32], path[128], body[512];
	struct resp r;

	sql_exec(t,
	         "INSERT INTO locations (parent_id, kind, name, temperature_c)"
	         " SELECT id, 'freezer', 'Freezer 2', -150 FROM locations WHERE name = 'Main lab'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name)"
	            " SELECT id, 'shelf', 'Shelf 2.1' FROM locations WHERE name = 'Freezer 2'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name)"
	            " SELECT id, 'rack', 'Rack 2.1.1' FROM locations WHERE name = 'Shelf 2.1'");
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT b, 9, 9, (SELECT id FROM locations WHERE name = 'Rack 2.1.1')"
	            " FROM unnest(ARRAY['LOC-1', 'LOC-2']) b");
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT 'LOC-SHELF', 10, 10, id FROM locations WHERE name = 'Shelf 2.1'");
	value(t, loc, sizeof(loc), "SELECT id FROM locations WHERE name = 'Freezer 2'");
	const char *where[][2] = { { "LOC-1", "A1" }, { "LOC-1", "A2" }, { "LOC-2", "B3" } };
	char *ids[] = { a1, a2, b3 };
	for (int i = 0; i < 3; i++) {
		if (!world_register(t, "SSC", "S001", "serum", ids[i]))
			exit(1);
		snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", ids[i]);
		snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%s\"}", where[i][0],
		         where[i][1]);
		api(t, "POST", path, t->admin_token, body, &r);
		resp_free(&r);
	}

	snprintf(body, sizeof(body), "{\"location\":%s}", loc);
	api(t, "POST", "/api/v1/audits", t->admin_token, body, &r);
	is_int(r.status, 201, "an audit of a freezer starts");
	ok(jnum(&r, "expected", -1) == 3, "  expecting its 3 tubes");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "boxes")), 3,
	       "  in its 3 boxes, on the shelf and in the rack below it");
	snprintf(aid, sizeof(aid), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/audits/%s/scans", aid);
	api(t, "POST", path, t->admin_token,
	    "{\"scans\":[{\"position\":\"A1\",\"barcode\":\"X\"}]}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "scans[0].box"),
	   "a hand scan without a box in a several-box audit: 400 naming scans[0].box");
	resp_free(&r);
	post_csv(t, path, NULL, "A1,XT000001\n", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "box"),
	   "a file without a rack ID or ?box= in a several-box audit: 400 naming box");
	resp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"scans\":[{\"box\":\"LOC-1\",\"position\":\"A1\",\"barcode\":\"%s\"},"
	         "{\"box\":\"LOC-1\",\"position\":\"A2\",\"barcode\":null},"
	         "{\"box\":\"LOC-2\",\"position\":\"B3\",\"barcode\":\"%s\"}]}",
	         a1, a2);
	api(t, "POST", path, t->admin_token, body, &r);
	is_int(r.status, 200, "hand scans of two boxes");
	is_int(summary(&r, "expected"), 3, "  summary: 3 expected");
	is_int(summary(&r, "found"), 1, "  1 found");
	is_int(summary(&r, "missing"), 1, "  1 missing");
	is_int(summary(&r, "unexpected"), 1, "  1 unexpected");
	const cJSON *d = disc(&r, "unexpected", a2, NULL);
	ok(d != NULL && strcmp(dstr(d, "box"), "LOC-2") == 0 &&
	       strstr(dstr(d, "detail"), "LOC-1 at A2"),
	   "  LOC-1's A2 tube seen in LOC-2 B3, the database having it in LOC-1 A2 (%s)",
	   dstr(d, "detail"));
	d = disc(&r, "missing", b3, NULL);
	ok(d != NULL && strcmp(dstr(d, "box"), "LOC-2") == 0, "  LOC-2's B3 tube missing");
	ok(disc(&r, "missing", a2, NULL) == NULL, "  the tube seen elsewhere is not also missing");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/audits/%s/close", aid);
	api(t, "POST", path, t->admin_token, "{\"resolutions\":[]}", &r);
	is_int(r.status, 200, "the freezer audit closes without resolutions");
	resp_free(&r);
	is_int(sql_intf(t,
	                "SELECT count(*) FROM events WHERE details->>'audit' = '%s'"
	                " AND type = 'audit_confirmed' AND specimen_id = '%s'",
	                aid, a1),
	       1, "  the tube found is confirmed");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM events WHERE details->>'audit' = '%s'"
	                " AND type = 'audit_flagged'",
	                aid),
	       2, "  the other two are flagged");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM specimens WHERE id IN ('%s', '%s', '%s')"
	                " AND status = 'in_storage'",
	                a1, a2, b3),
	       3, "  and no tube changed place or status");
}

/*
 * An audit started by a user of every study covers every study: a user
 * limited to SSC finds no such audit (it holds MASC tubes), as any object
 * of another study; tests/api/test_scoping.c has the audits such a user
 * starts.
 */
/*
 * The manager's audit list (GET /api/v1/audits), as the page reads it after
 * the audits above: every audit newest first, the closed ones with the
 * summary and the discrepancies and resolutions they kept; a page at a time;
 * a status filter; a mistyped status or a cursor of another list refused.
 */
static void
audit_list(struct tenv *t)
{
	char want[64], path[700], cursor[512];
	struct resp r;

	api(t, "GET", "/api/v1/audits", t->admin_token, NULL, &r);
	is_int(r.status, 200, "the audit list answers");
	openapi_check("GET", "/api/v1/audits", &r);
	value(t, want, sizeof(want), "SELECT max(id) FROM audits");
	is_int((long)jnum(&r, "items.0.id", -1), atol(want), "  the newest audit first");
	is_int(sql_intf(t, "SELECT count(*) FROM audits"),
	       cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), "  every audit is listed");
	resp_free(&r);

	api(t, "GET", "/api/v1/audits?status=closed", t->admin_token, NULL, &r);
	value(t, want, sizeof(want), "SELECT max(id) FROM audits WHERE status = 'closed'");
	is_int((long)jnum(&r, "items.0.id", -1), atol(want),
	       "?status=closed: the last closed one first");
	ok(jstr(&r, "items.0.closed_at") != NULL && jstr(&r, "items.0.closed_by") != NULL,
	   "  with who closed it and when");
	snprintf(path, sizeof(path),
	         "SELECT jsonb_array_length(report -> 'discrepancies') || ' ' ||"
	         " jsonb_array_length(resolutions) || ' ' || (report #>> '{summary,missing}')"
	         " FROM audits WHERE id = %s",
	         want);
	value(t, want, sizeof(want), path);
	snprintf(path, sizeof(path), "%ld %ld %ld", (long)jnum(&r, "items.0.discrepancies", -1),
	         (long)jnum(&r, "items.0.resolutions", -1),
	         (long)jnum(&r, "items.0.summary.missing", -1));
	is_str(path, want, "  its discrepancies, resolutions and summary as the stored record");
	bool all_closed = true;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r.json, "items"))
	{
		const cJSON *st = cJSON_GetObjectItem(it, "status");
		all_closed =
		    all_closed && cJSON_IsString(st) && strcmp(st->valuestring, "closed") == 0;
	}
	ok(all_closed, "  and no open audit");
	resp_free(&r);

	api(t, "GET", "/api/v1/audits?limit=1", auditor_token, NULL, &r);
	is_int(r.status, 200, "an auditor reads the list a page at a time");
	const char *next = jstr(&r, "next_cursor");
	long first = (long)jnum(&r, "items.0.id", -1);
	snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
	resp_free(&r);
	ok(*cursor != '\0', "  a page of one has a next cursor");
	snprintf(path, sizeof(path), "/api/v1/audits?limit=1&cursor=%s", cursor);
	api(t, "GET", path, auditor_token, NULL, &r);
	value(t, want, sizeof(want),
	      "SELECT max(id) FROM audits WHERE id < (SELECT max(id) FROM audits)");
	ok(r.status == 200 && first > 0 && (long)jnum(&r, "items.0.id", -1) == atol(want),
	   "  the next page starts with the audit before");
	resp_free(&r);

	api(t, "GET", "/api/v1/audits?status=shut", t->admin_token, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "status"),
	   "a mistyped status is a 400 naming status, not an empty list");
	resp_free(&r);
	api(t, "GET", "/api/v1/audits?cursor=cmVxdWVzdHM6WzFd", t->admin_token, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "cursor"),
	   "a cursor of another list (requests) is a 400 naming cursor");
	resp_free(&r);
	api(t, "GET", "/api/v1/audits", tech_token, NULL, &r);
	is_int(r.status, 403, "a technician may not read the audit list");
	resp_free(&r);
}

static void
study_scope(struct tenv *t)
{
	char token[128], aid[32], path[64];
	struct resp r;

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"sscmgr\",\"password\":\"password-sscmgr-long\",\"role\":\"manager\","
	    "\"studies\":[\"SSC\"]}",
	    &r);
	resp_free(&r);
	if (login(t, "sscmgr", "password-sscmgr-long", token) != 0) {
		ok(false, "log in as a study-limited manager");
		return;
	}
	value(t, aid, sizeof(aid), "SELECT min(id) FROM audits");
	snprintf(path, sizeof(path), "/api/v1/audits/%s", aid);
	api(t, "GET", path, token, NULL, &r);
	ok(is_problem(&r, 404) && strcmp(jstr(&r, "code"), "audit-not-found") == 0,
	   "a manager limited to SSC does not find the FR00004821 audit, started by an admin");
	ok(r.body != NULL && strstr(r.body, "misplaced") == NULL, "  and learns nothing of it");
	resp_free(&r);
	api(t, "GET", "/api/v1/audits", token, NULL, &r);
	ok(r.status == 200 && cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")) == 0,
	   "  nor in the audit list, which is empty for them");
	resp_free(&r);
}

/* Register a MASC/P001 serum tube with a manufacturer's barcode. */
static void
tube(struct tenv *t, const char *barcode)
{
	char body[400];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	         "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"tube_barcode\":\"%s\"}",
	         barcode);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	if (r.status != 201) {
		printf("Bail out! cannot register tube %s: %ld %s\n", barcode, r.status, r.body);
		exit(1);
	}
	resp_free(&r);
}

/*
 * Files as scanners write them, sent as a technician's script would: a TAB
 * export whose first barcode holds a colon (its row once vanished as a
 * "Key: value" header and the placement answered 200 without that tube), and
 * a Matrix/TrakMate .txt export with its trace-time line, sent as text/plain
 * (refused with 415, and at line 1).
 */
static void
scanner_text_files(struct tenv *t)
{
	struct resp r;

	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT b, 8, 12, id FROM locations, (VALUES ('TXT1'), ('TXT2')) v (b)"
	            " WHERE name = 'Rack 1'");
	tube(t, "AB:12");
	tube(t, "XY34");
	tube(t, "TM0001");

	post_csv(t, "/api/v1/boxes/TXT1/placements", NULL, "A1\tAB:12\nA2\tXY34\n", &r);
	is_int(r.status, 200, "a TAB-separated rack file is placed");
	resp_free(&r);
	is_int(sql_intf(t,
	                "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                " WHERE b.barcode = 'TXT1' AND ((s.tube_barcode = 'AB:12' AND s.pos_row = 1"
	                " AND s.pos_col = 1) OR (s.tube_barcode = 'XY34' AND s.pos_row = 1"
	                " AND s.pos_col = 2))"),
	       2, "  both tubes are where the file puts them, the colon in AB:12 included");

	const char *trakmate = "Date & time of Trace = 14/03/2026 10:23:45\r\n"
	                       "Rack Base Name: TXT2\r\n"
	                       "A01; TM0001\r\n"
	                       "A02; No TrakMate\r\n";
	http(t->d.url, "POST", "/api/v1/boxes/TXT2/placements", t->admin_token, "text/plain",
	     trakmate, strlen(trakmate), &r);
	is_int(r.status, 200, "a TrakMate .txt export sent as text/plain is placed");
	if (r.status != 200)
		tap_diag("%s", r.body);
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                   " WHERE b.barcode = 'TXT2' AND s.tube_barcode = 'TM0001'"
	                   " AND s.pos_row = 1 AND s.pos_col = 1"),
	       1, "  its tube is at A1");

	http(t->d.url, "POST", "/api/v1/boxes/TXT2/placements", t->admin_token, "image/png",
	     trakmate, strlen(trakmate), &r);
	is_int(r.status, 415, "a body that is neither JSON nor text is still 415");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char path[1024];

	fixtures = argc > 2 ? argv[2] : NULL;
	if (fixtures == NULL)
		tap_bail("no fixtures folder given");
	snprintf(path, sizeof(path), "%s/rack-scans/fluidx-with-header.csv", fixtures);
	bb_read_file(path, &fluidx, NULL);
	snprintf(path, sizeof(path), "%s/rack-scans/headerless-with-rack.csv", fixtures);
	bb_read_file(path, &headerless, NULL);
	if (fluidx == NULL || headerless == NULL)
		tap_bail(
		    "the shared rack-scan fixtures (../shared/fixtures/rack-scans) are absent");

	tenv_setup(&t, "audits", argc, argv);
	world_make(&t);
	make_users(&t);
	placement_from_file(&t);
	scanner_text_files(&t);
	create_errors(&t);
	box_audit(&t);
	location_audit(&t);
	audit_list(&t);
	study_scope(&t);
	tenv_teardown(&t);
	free(fluidx);
	free(headerless);
	return tap_done();
}
