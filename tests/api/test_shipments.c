/*
 * test_shipments.c — shipments: drafts, manifests (JSON and CSV), refusals
 * naming every offending specimen (status, withdrawn consent, another
 * draft), dispatch re-checking under locks, receipt, lists, roles and study
 * scoping. Every refused request is checked to have left nothing behind.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

static char manager[128], tech[128], auditor[128], masc_manager[128];
static char sa[16], sb[16], sc[16], sd[16], se[16], sf[16];
static char ship1[24], ship2[24];

static char *sqlf(struct tenv *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *
sqlf(struct tenv *t, const char *fmt, ...)
{
	char sql[1024];
	bool ok_sql;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return sql_value(t, sql, &ok_sql);
}

static int
manifest_size(const struct resp *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "specimens"));
}

static void
store(struct tenv *t, const char *id, const char *pos)
{
	char path[96], body[96];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", id);
	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%s\"}", pos);
	api(t, "POST", path, t->admin_token, body, &r);
	if (r.status != 200)
		tap_diag("store %s: %ld %s", id, r.status, r.body);
	resp_free(&r);
}

static void
setup(struct tenv *t)
{
	struct resp r;

	world_make(t);
	make_user(t, "mona", "manager", NULL, manager);
	make_user(t, "tom", "technician", NULL, tech);
	make_user(t, "aude", "auditor", NULL, auditor);
	make_user(t, "mia", "manager", "[\"MASC\"]", masc_manager);
	ok(world_register(t, "MASC", "P001", "serum", sa) &&
	       world_register(t, "MASC", "P001", "plasma", sc) &&
	       world_register(t, "MASC", "P001", "serum", sd) &&
	       world_register(t, "MASC", "P002", "serum", se) &&
	       world_register(t, "SSC", "S001", "serum", sf),
	   "specimens registered");
	api(t, "POST", "/api/v1/specimens", t->admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"dna\","
	    "\"timepoint\":\"m12\",\"collected_at\":\"2026-03-02T10:00:00Z\",\"tube_barcode\":\"FX-"
	    "00042\"}",
	    &r);
	snprintf(sb, sizeof(sb), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	resp_free(&r);
	store(t, sa, "A1");
	store(t, sb, "A2");
	store(t, sc, "A3");
	store(t, se, "A5");
	store(t, sf, "A6");
	/* sd stays registered (not in storage). */
}

static void
create(struct tenv *t)
{
	struct resp r;

	api(t, "POST", "/api/v1/shipments", manager,
	    "{\"destination\":\"Proteomics core, Uppsala\",\"conditions\":\"dry_ice\","
	    "\"requester\":\"Dr. Lind, project MYO-7\",\"notes\":\"Box of 3\"}",
	    &r);
	is_int(r.status, 201, "a manager opens a shipment");
	is_str(jstr(&r, "status"), "draft", "  as a draft");
	is_str(jstr(&r, "conditions"), "dry_ice", "  with its conditions");
	is_str(jstr(&r, "created_by"), "mona", "  made by mona");
	is_int(manifest_size(&r), 0, "  and an empty manifest");
	snprintf(ship1, sizeof(ship1), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);

	api(t, "POST", "/api/v1/shipments", t->admin_token,
	    "{\"destination\":\"Sequencing lab\",\"conditions\":\"ln2_dry_shipper\"}", &r);
	is_int(r.status, 201, "the admin opens another");
	snprintf(ship2, sizeof(ship2), "%.0f", jnum(&r, "id", 0));
	ok(jstr(&r, "requester") == NULL, "  requester is optional");
	resp_free(&r);

	static const struct {
		const char *body, *what, *field;
	} bad[] = {
		{ "{\"conditions\":\"dry_ice\"}", "no destination", "destination" },
		{ "{\"destination\":\"X\",\"conditions\":\"warm\"}", "unknown conditions",
		  "conditions" },
		{ "{\"destination\":\"\",\"conditions\":\"ambient\"}", "an empty destination",
		  "destination" },
		{ "{\"destination\":\"   \",\"conditions\":\"ambient\"}", "a blank destination",
		  "destination" },
		{ "{\"destination\":\"X\",\"conditions\":\"ambient\",\"courier\":\"DHL\"}",
		  "an unknown field", "courier" },
	};
	long before = sql_int(t, "SELECT count(*) FROM shipments");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api(t, "POST", "/api/v1/shipments", manager, bad[i].body, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "%s is a 400 naming %s", bad[i].what, bad[i].field);
		resp_free(&r);
	}
	api(t, "POST", "/api/v1/shipments", tech,
	    "{\"destination\":\"X\",\"conditions\":\"ambient\"}", &r);
	ok(is_problem(&r, 403), "a technician may not open a shipment (403)");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM shipments"), before,
	       "  the refusals left no shipment");
}

static void
add(struct tenv *t)
{
	char path[96], body[256];
	struct resp r;

	/* Withdraw P002's biobank consent: se is flagged. */
	api(t, "POST", "/api/v1/participants/MASC/P002/consents", t->admin_token,
	    "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2026-03-10\",\"version\":"
	    "\"v2\"}",
	    &r);
	is_int(r.status, 201, "P002 withdraws biobank consent");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/shipments/%s/specimens", ship1);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\",\"%s\",\"%s\"]}", sa, sd, se);
	api(t, "POST", path, manager, body, &r);
	ok(is_problem(&r, 409), "adding a registered and a withdrawn specimen is a 409");
	const char *d = jstr(&r, "detail");
	ok(d && strstr(d, sd) && strstr(d, "registered, not in_storage"),
	   "  naming %s and its status", sd);
	ok(d && strstr(d, se) && strstr(d, "withdrew biobank consent"),
	   "  naming %s and the withdrawal", se);
	ok(d && strstr(d, "2 of the specimens"), "  counting both offenders");
	ok(d && !strstr(d, sa), "  but not the good one");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM shipment_items"), 0, "  and nothing was added");

	char typo[16];
	snprintf(typo, sizeof(typo), "%s", sa);
	typo[2] = typo[2] == 'A' ? 'B' : 'A';
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\",\"%s\"]}", sa, typo);
	api(t, "POST", path, manager, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimens[1]"),
	   "a mistyped ID is a 400 naming specimens[1]");
	resp_free(&r);
	api(t, "POST", path, manager, "{\"specimens\":[\"NO-SUCH-TUBE\"]}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimens[0]"),
	   "an unknown tube barcode is a 400 naming specimens[0]");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\",\"%s\"]}", sa, sa);
	api(t, "POST", path, manager, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimens[1]"),
	   "a specimen listed twice is a 400");
	resp_free(&r);
	api(t, "POST", path, manager, "{\"specimens\":[]}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimens"), "an empty list is a 400");
	resp_free(&r);
	api(t, "POST", path, manager, "{\"specimens\":[\"\"]}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimens[0]"),
	   "an empty reference is a 400");
	resp_free(&r);
	api(t, "POST", "/api/v1/shipments/999999/specimens", manager, body, &r);
	ok(is_problem(&r, 404), "adding to an unknown shipment is a 404");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", sa);
	api(t, "POST", path, tech, body, &r);
	ok(is_problem(&r, 403), "a technician may not add (403)");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM shipment_items"), 0,
	       "  none of these added anything");

	/* By ID, by tube barcode, in lower case. */
	char lower[16];
	for (size_t i = 0; i <= strlen(sc); i++)
		lower[i] = (char)(sc[i] >= 'A' && sc[i] <= 'Z' ? sc[i] + 32 : sc[i]);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\",\"FX-00042\",\"%s\"]}", sa, lower);
	api(t, "POST", path, manager, body, &r);
	is_int(r.status, 200, "three stored specimens are added (ID, tube barcode, lower case)");
	is_int(manifest_size(&r), 3, "  the manifest lists 3");
	is_str(jstr(&r, "specimens.0.id"), sa, "  in issue order");
	is_str(jstr(&r, "specimens.0.from.box"), "BOX-A", "  with the box they will leave");
	is_str(jstr(&r, "specimens.0.from.position"), "A1", "  and the position");
	is_str(jstr(&r, "specimens.0.participant.code"), "P001", "  the participant");
	is_str(jstr(&r, "specimens.2.tube_barcode"), "FX-00042", "  the tube barcode");
	is_str(jstr(&r, "specimens.2.timepoint"), "m12", "  the timepoint");
	ok(jnum(&r, "specimens.0.quantity.value", 0) == 2, "  and the quantity");
	resp_free(&r);

	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", sa);
	api(t, "POST", path, manager, body, &r);
	is_int(r.status, 200, "adding one already on it again is harmless");
	is_int(manifest_size(&r), 3, "  the manifest still lists 3");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/shipments/%s/specimens", ship2);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", sa);
	api(t, "POST", path, t->admin_token, body, &r);
	ok(is_problem(&r, 409) && strstr(r.body, "already on draft shipment"),
	   "a specimen on another draft is a 409 naming that shipment");
	resp_free(&r);

	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", sf);
	api(t, "POST", path, masc_manager, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimens[0]"),
	   "a MASC-only manager cannot name an SSC specimen");
	resp_free(&r);
	api(t, "POST", path, t->admin_token, body, &r);
	is_int(r.status, 200, "the admin puts the SSC specimen on shipment 2");
	resp_free(&r);
}

static void
scoping_and_lists(struct tenv *t)
{
	char path[96];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/shipments/%s", ship1);
	api(t, "GET", path, masc_manager, NULL, &r);
	is_int(r.status, 200, "the MASC-only manager sees the all-MASC shipment");
	resp_free(&r);
	api(t, "GET", path, auditor, NULL, &r);
	is_int(r.status, 200, "an auditor reads a shipment");
	is_int(manifest_size(&r), 3, "  with its manifest");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s", ship2);
	api(t, "GET", path, masc_manager, NULL, &r);
	ok(is_problem(&r, 404), "a shipment holding SSC specimens is a 404 for her");
	resp_free(&r);
	api(t, "GET", "/api/v1/shipments", masc_manager, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 1,
	       "  and left out of her list");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/dispatch", ship2);
	api(t, "POST", path, masc_manager, NULL, &r);
	ok(is_problem(&r, 404), "  nor can she dispatch it");
	resp_free(&r);

	api(t, "GET", "/api/v1/shipments", auditor, NULL, &r);
	is_int(r.status, 200, "the list");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2,
	       "  holds both shipments");
	ok(jnum(&r, "items.0.id", 0) > jnum(&r, "items.1.id", 0), "  newest first");
	ok(jnum(&r, "items.1.specimen_count", 0) == 3, "  with specimen counts");
	resp_free(&r);
	api(t, "GET", "/api/v1/shipments?limit=1", auditor, NULL, &r);
	const char *cur = jstr(&r, "next_cursor");
	ok(cur != NULL, "limit=1 gives a next_cursor");
	char next[256];
	snprintf(next, sizeof(next), "/api/v1/shipments?limit=1&cursor=%s", cur ? cur : "");
	resp_free(&r);
	api(t, "GET", next, auditor, NULL, &r);
	ok(r.status == 200 && jnum(&r, "items.0.id", 0) == atof(ship1) &&
	       jstr(&r, "next_cursor") == NULL,
	   "  which leads to the last page");
	resp_free(&r);
	api(t, "GET", "/api/v1/shipments?status=shipped", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "status"),
	   "an unknown status filter is a 400");
	resp_free(&r);
	api(t, "GET", "/api/v1/shipments?cursor=bogus", auditor, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "cursor"), "a forged cursor is a 400");
	resp_free(&r);
	api(t, "GET", "/api/v1/shipments?status=draft", auditor, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2,
	       "status=draft lists both");
	resp_free(&r);
	api(t, "GET", "/api/v1/shipments/999999", auditor, NULL, &r);
	ok(is_problem(&r, 404), "an unknown shipment is a 404");
	resp_free(&r);
	api(t, "GET", "/api/v1/shipments/abc", auditor, NULL, &r);
	ok(is_problem(&r, 404), "a non-numeric shipment id is a 404");
	resp_free(&r);
}

#define MANIFEST_HEAD                                                                              \
	"shipment,destination,conditions,shipment_status,specimen,tube_barcode,type,study,"        \
	"participant,timepoint,collected_at,quantity,unit,status,from_box,from_position\r\n"

static void
remove_and_csv(struct tenv *t)
{
	char path[128];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/shipments/%s/specimens/%s", ship1, sc);
	api(t, "DELETE", path, tech, NULL, &r);
	ok(is_problem(&r, 403), "a technician may not remove (403)");
	resp_free(&r);
	api(t, "DELETE", path, manager, NULL, &r);
	is_int(r.status, 200, "removing a specimen from the draft");
	is_int(manifest_size(&r), 2, "  leaves 2");
	resp_free(&r);
	api(t, "DELETE", path, manager, NULL, &r);
	ok(is_problem(&r, 404) && strstr(r.body, "is not on shipment"),
	   "removing it again is a 404");
	resp_free(&r);
	char typo[16];
	snprintf(typo, sizeof(typo), "%s", sc);
	typo[1] = typo[1] == 'A' ? 'B' : 'A';
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/specimens/%s", ship1, typo);
	api(t, "DELETE", path, manager, NULL, &r);
	ok(is_problem(&r, 400), "removing by a mistyped ID is a 400");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/specimens/NO-SUCH", ship1);
	api(t, "DELETE", path, manager, NULL, &r);
	ok(is_problem(&r, 404), "removing an unknown tube is a 404");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM audit_log WHERE entity = 'shipment_item' AND "
	                  "action = 'delete'"),
	       1, "the removal is in the audit log");

	snprintf(path, sizeof(path), "/api/v1/shipments/%s", ship1);
	const char *hdr[] = { "Accept: text/csv", NULL };
	http_h(t->d.url, "GET", path, manager, NULL, NULL, 0, hdr, &r);
	is_int(r.status, 200, "the manifest as CSV");
	ok(strncmp(r.content_type, "text/csv", 8) == 0, "  is text/csv (%s)", r.content_type);
	ok(r.body && strncmp(r.body, MANIFEST_HEAD, strlen(MANIFEST_HEAD)) == 0,
	   "  with a header row");
	int lines = 0;
	for (const char *p = r.body; p && *p; p++)
		lines += *p == '\n';
	is_int(lines, 3, "  and one line per specimen");
	ok(r.body && strstr(r.body, "\"Proteomics core, Uppsala\"") != NULL, "  quoting a comma");
	ok(r.body && strstr(r.body, "FX-00042") && strstr(r.body, ",BOX-A,A2\r\n"),
	   "  with box and position");
	resp_free(&r);
	http_h(t->d.url, "GET", "/api/v1/shipments/999999", manager, NULL, NULL, 0, hdr, &r);
	ok(is_problem(&r, 404), "an unknown shipment as CSV is a 404 problem");
	resp_free(&r);
}

static void
dispatch_and_receive(struct tenv *t)
{
	char path[128], body[256];
	struct resp r;

	/* sb leaves its box after the manifest was built: dispatch must notice. */
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/checkout", sb);
	api(t, "POST", path, t->admin_token, "{\"reason\":\"aliquot for ELISA\"}", &r);
	is_int(r.status, 200, "a manifest specimen is checked out meanwhile");
	resp_free(&r);
	long events = sql_int(t, "SELECT count(*) FROM events");
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/dispatch", ship1);
	api(t, "POST", path, manager, NULL, &r);
	ok(is_problem(&r, 409) && strstr(r.body, sb) && strstr(r.body, "checked_out"),
	   "dispatch is a 409 naming %s and its status", sb);
	ok(!strstr(r.body, sa), "  but not the good one");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM events"), events, "  no event was written");
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM specimens WHERE id = '%s' AND status = 'in_storage'", sa);
	is_int(sql_int(t, sql), 1, "  and nothing shipped");
	is_int(sql_int(t, "SELECT count(*) FROM shipments WHERE status = 'draft'"), 2,
	       "  the shipment is still a draft");

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/return", sb);
	api(t, "POST", path, t->admin_token,
	    "{\"box\":\"BOX-A\",\"position\":\"B2\",\"thawed\":false}", &r);
	is_int(r.status, 200, "it comes back to B2");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/shipments/%s/dispatch", ship1);
	api(t, "POST", path, tech, NULL, &r);
	ok(is_problem(&r, 403), "a technician may not dispatch (403)");
	resp_free(&r);
	api(t, "POST", path, manager, NULL, &r);
	is_int(r.status, 200, "dispatch");
	is_str(jstr(&r, "status"), "dispatched", "  the shipment is dispatched");
	is_str(jstr(&r, "dispatched_by"), "mona", "  by mona");
	ok(jstr(&r, "dispatched_at") != NULL, "  at a time");
	is_str(jstr(&r, "specimens.1.from.position"), "B2", "  the manifest keeps where each left");
	is_str(jstr(&r, "specimens.0.status"), "shipped", "  each specimen is shipped");
	resp_free(&r);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM specimens WHERE id IN ('%s', '%s') AND status = 'shipped'"
	         " AND box_id IS NULL",
	         sa, sb);
	is_int(sql_int(t, sql), 2, "  in the database: shipped, positions freed");
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE type = 'shipped' AND specimen_id = '%s' AND "
	         "from_box = 'BOX-A'"
	         " AND from_pos = 'A1' AND details ->> 'shipment' = '%s'"
	         " AND details ->> 'destination' = 'Proteomics core, Uppsala' AND actor = 'mona'",
	         sa, ship1);
	is_int(sql_int(t, sql), 1,
	       "  a shipped event from BOX-A A1 with the shipment and destination");
	is_int(sql_int(t, "SELECT count(*) FROM events WHERE type = 'shipped'"), 2,
	       "  one per specimen");
	api(t, "GET", "/api/v1/boxes/BOX-A/free?count=1", t->admin_token, NULL, &r);
	is_str(jstr(&r, "positions.0"), "A1", "  A1 is free again");
	resp_free(&r);

	api(t, "POST", path, manager, NULL, &r);
	ok(is_problem(&r, 409), "dispatching again is a 409");
	is_str(jstr(&r, "code"), "shipment-state", "  code shipment-state");
	is_str(jstr(&r, "shipment_status"), "dispatched", "  saying it is dispatched");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/specimens", ship1);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", sc);
	api(t, "POST", path, manager, body, &r);
	ok(is_problem(&r, 409), "adding to a dispatched shipment is a 409");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/specimens/%s", ship1, sa);
	api(t, "DELETE", path, manager, NULL, &r);
	ok(is_problem(&r, 409), "removing from it is a 409");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/shipments/%s/dispatch", ship2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE specimen_id = '%s'", sf);
	long f_events = sql_int(t, sql);
	snprintf(body, sizeof(body), "/api/v1/specimens/%s/lost", sf);
	api(t, "POST", body, t->admin_token, "{\"reason\":\"not in A6\"}", &r);
	resp_free(&r);
	api(t, "POST", path, t->admin_token, NULL, &r);
	ok(is_problem(&r, 409) && strstr(r.body, sf) && strstr(r.body, "lost"),
	   "dispatching a shipment whose specimen got lost is a 409 naming it");
	resp_free(&r);
	is_int(sql_int(t, sql), f_events + 1, "  (only the lost event was written)");

	snprintf(path, sizeof(path), "/api/v1/shipments/%s/receipt", ship2);
	api(t, "POST", path, t->admin_token, "{\"received_at\":\"2026-03-20T10:00:00Z\"}", &r);
	ok(is_problem(&r, 409), "a receipt for a draft is a 409");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/shipments/%s/receipt", ship1);
	static const struct {
		const char *body, *what, *field;
	} bad[] = {
		{ "{\"condition\":\"good\"}", "no received_at", "received_at" },
		{ "{\"received_at\":\"yesterday\"}", "a malformed received_at", "received_at" },
		{ "{\"received_at\":\"2020-01-01T00:00:00Z\"}", "a receipt before the dispatch",
		  "received_at" },
		{ "{\"received_at\":\"2099-01-01T00:00:00Z\"}", "a receipt in the future",
		  "received_at" },
		{ "{\"received_at\":\"2099-01-01T00:00:00Z\",\"condition\":\"melted\"}",
		  "an unknown condition", "condition" },
	};
	events = sql_int(t, "SELECT count(*) FROM events");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api(t, "POST", path, manager, bad[i].body, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "%s is a 400 naming %s", bad[i].what, bad[i].field);
		resp_free(&r);
	}
	is_int(sql_int(t, "SELECT count(*) FROM events"), events, "  no event was written");
	is_int(sql_int(t, "SELECT count(*) FROM shipments WHERE status = 'received'"), 0,
	       "  nothing received");

	char now[64], rbody[160];
	char *ts = sqlf(t, "SELECT to_char((now() + interval '1 minute') AT TIME ZONE 'UTC', "
	                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
	snprintf(now, sizeof(now), "%s", ts ? ts : "");
	free(ts);
	snprintf(rbody, sizeof(rbody),
	         "{\"received_at\":\"%s\",\"condition\":\"good\",\"notes\":\"dry ice left\"}", now);
	api(t, "POST", path, manager, rbody, &r);
	is_int(r.status, 200, "the receipt");
	is_str(jstr(&r, "status"), "received", "  the shipment is received");
	is_str(jstr(&r, "receipt.condition"), "good", "  in good condition");
	is_str(jstr(&r, "receipt.received_at"), now, "  at the time given");
	is_str(jstr(&r, "specimens.0.status"), "shipped", "  the specimens stay shipped");
	resp_free(&r);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE type = 'received' AND details ->> 'condition' "
	         "= 'good'"
	         " AND details ->> 'shipment' = '%s'",
	         ship1);
	is_int(sql_int(t, sql), 2, "  one received event per specimen, with the condition");
	api(t, "POST", path, manager, rbody, &r);
	ok(is_problem(&r, 409), "a second receipt is a 409");
	resp_free(&r);

	api(t, "GET", "/api/v1/shipments?status=received", auditor, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 1,
	       "status=received lists it");
	resp_free(&r);
	api(t, "GET", "/api/v1/ledger/verify", auditor, NULL, &r);
	ok(r.json && cJSON_IsTrue(cJSON_GetObjectItem(r.json, "ok")),
	   "every hash chain still verifies");
	resp_free(&r);
}

static void
idempotent_dispatch(struct tenv *t)
{
	struct resp r;
	char path[96], body[128], id[24];

	api(t, "POST", "/api/v1/shipments", manager,
	    "{\"destination\":\"Single-cell core\",\"conditions\":\"ln2_dry_shipper\"}", &r);
	snprintf(id, sizeof(id), "%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/specimens", id);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", sc);
	api(t, "POST", path, manager, body, &r);
	is_int(r.status, 200, "a third shipment with one specimen");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/dispatch", id);
	const char *hdr[] = { "Idempotency-Key: dispatch-3", NULL };
	http_h(t->d.url, "POST", path, manager, NULL, NULL, 0, hdr, &r);
	is_int(r.status, 200, "dispatched with an Idempotency-Key");
	resp_free(&r);
	http_h(t->d.url, "POST", path, manager, NULL, NULL, 0, hdr, &r);
	is_int(r.status, 200, "  the replay answers the first 200");
	resp_free(&r);
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events WHERE type = 'shipped' AND specimen_id = '%s'", sc);
	is_int(sql_int(t, sql), 1, "  with no second effect");
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "shipments", argc, argv);
	setup(&t);
	create(&t);
	add(&t);
	scoping_and_lists(&t);
	remove_and_csv(&t);
	dispatch_and_receive(&t);
	idempotent_dispatch(&t);
	tenv_teardown(&t);
	return tap_done();
}
