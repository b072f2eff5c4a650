/*
 * test_storage_rules.c — container rules, nominal temperatures, box slots,
 * ?location= subtrees and capacity (issue 18), from what people do: a
 * technician puts DNA into the serum-only −20 °C box, a rack file mixes in
 * a tube the box refuses, a manager tightens a freezer's rule while tubes
 * that break it still stand there, someone types a location id wrong.
 * Every refusal answers with its code and leaves nothing behind.
 */
#include "world.h"

#include <stdarg.h>
#include <string.h>

static char tech[128];
static long site, freezer, rack, freezer2, rack2;

__attribute__((format(printf, 2, 3))) static long
intf(struct tenv *t, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return sql_int(t, sql);
}

/* What a refused placement must not have changed: positions, events, rules, boxes. */
static long
footprint(struct tenv *t)
{
	return sql_int(t, "SELECT (SELECT count(*) FROM events) * 1000000"
	                  " + (SELECT count(*) FROM specimens WHERE box_id IS NOT NULL) * 10000"
	                  " + (SELECT count(*) FROM boxes) * 100"
	                  " + (SELECT count(*) FROM audit_log)");
}

/* A request that must fail with status and code, leaving nothing behind; r is kept for more checks.
 */
static void
refused(struct tenv *t, const char *method, const char *path, const char *token, const char *json,
        long status, const char *code, const char *what, struct resp *r)
{
	long before = footprint(t);

	api(t, method, path, token ? token : t->admin_token, json, r);
	ok(is_problem(r, status) && jstr(r, "code") != NULL && strcmp(jstr(r, "code"), code) == 0,
	   "%s: %ld %s", what, status, code);
	if (jstr(r, "code") != NULL && strcmp(jstr(r, "code"), code) != 0)
		tap_diag("  code %s: %s", jstr(r, "code"), r->body);
	ok(r->body != NULL && strstr(r->body, "violates") == NULL &&
	       strstr(r->body, "ERROR") == NULL,
	   "  in our words, not PostgreSQL's");
	is_int(footprint(t), before, "  and leaves nothing behind");
}

static void
expect(struct tenv *t, const char *method, const char *path, const char *json, long status,
       const char *what, struct resp *r)
{
	api(t, method, path, t->admin_token, json, r);
	ok(r->status == status, "%s: %ld", what, status);
	if (r->status != status)
		tap_diag("  got %ld: %s", r->status, r->body ? r->body : "");
}

static void
setup(struct tenv *t)
{
	world_make(t);
	site = sql_int(t, "SELECT id FROM locations WHERE name = 'Main lab'");
	freezer = sql_int(t, "SELECT id FROM locations WHERE name = 'Freezer 1'");
	rack = sql_int(t, "SELECT id FROM locations WHERE name = 'Rack 1'");
	sql_exec(t,
	         "INSERT INTO locations (parent_id, kind, name, temperature_c)"
	         " SELECT id, 'freezer', 'Freezer 2', -80 FROM locations WHERE name = 'Main lab'");
	freezer2 = sql_int(t, "SELECT id FROM locations WHERE name = 'Freezer 2'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name)"
	            " SELECT id, 'rack', 'Rack 2' FROM locations WHERE name = 'Freezer 2'");
	rack2 = sql_int(t, "SELECT id FROM locations WHERE name = 'Rack 2'");
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT 'BOX-C', 9, 9, id FROM locations WHERE name = 'Rack 2'");
	is_int(make_user(t, "tess", "technician", NULL, tech), 0, "a technician logs in");
	ok(intf(t,
	        "SELECT count(*) FROM locations WHERE ancestors[1] = %ld AND "
	        "ancestors[cardinality(ancestors)] = id",
	        site) == 5,
	   "every location's ancestors run from the site to itself");
}

static void
rules_set_and_inherited(struct tenv *t)
{
	struct resp r;
	char path[128];

	/* The −20 °C freezer; its rack inherits the temperature. */
	snprintf(path, sizeof(path), "/api/v1/locations/%ld/rules", freezer);
	expect(t, "PUT", path, "{\"nominal_temperature\":\"-20\"}", 200,
	       "a freezer is declared -20", &r);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/locations/%ld/rules", rack);
	api(t, "GET", path, tech, NULL, &r);
	is_int(r.status, 200, "a technician reads the rack's rules");
	is_str(jstr(&r, "in_force.nominal_temperature.value"), "-20",
	       "  the rack is at -20 (inherited)");
	is_str(jstr(&r, "in_force.nominal_temperature.set_by.name"), "Freezer 1",
	       "  set by its freezer");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "nominal_temperature")),
	   "  and has none of its own");
	resp_free(&r);
	ok(intf(t, "SELECT count(*) FROM audit_log WHERE entity = 'location' AND action = 'update'"
	           " AND after ->> 'nominal_temperature' = '-20'") == 1,
	   "the audit log holds the change");

	/* BOX-A is for serum only. */
	expect(t, "PUT", "/api/v1/boxes/BOX-A/rules", "{\"types\":[\"serum\"]}", 200,
	       "BOX-A is made serum-only", &r);
	is_str(jstr(&r, "types.0"), "serum", "  its own rule reads back");
	is_str(jstr(&r, "in_force.rules.0.set_by.barcode"), "BOX-A", "  set by the box");
	resp_free(&r);
}

static void
dna_into_serum_box(struct tenv *t)
{
	struct resp r;
	char dna[16], serum[16], dna2[16];

	ok(world_register(t, "MASC", "P001", "dna", dna), "a DNA tube is registered");
	ok(world_register(t, "MASC", "P001", "serum", serum), "a serum tube is registered");
	ok(world_register(t, "MASC", "P002", "dna", dna2), "another DNA tube is registered");

	char path[64];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", dna);
	refused(t, "POST", path, tech, "{\"box\":\"BOX-A\",\"position\":\"A1\"}", 409,
	        "rule-specimen-type", "DNA stored into the serum-only box", &r);
	is_str(jstr(&r, "container.kind"), "box", "  the problem names the box that set the rule");
	is_str(jstr(&r, "container.barcode"), "BOX-A", "  BOX-A");
	is_str(jstr(&r, "rule"), "specimen-type", "  and the rule");
	is_str(jstr(&r, "specimen"), dna, "  and the tube");
	resp_free(&r);
	is_int(intf(t, "SELECT count(*) FROM specimens WHERE id = '%s' AND status = 'registered'",
	            dna),
	       1, "  the DNA tube is still only registered");

	/* A rack file (placements) with one tube the box refuses stores none of them. */
	char body[256];
	snprintf(body, sizeof(body),
	         "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"},"
	         "{\"position\":\"A2\",\"specimen\":\"%s\"}]}",
	         serum, dna);
	refused(t, "POST", "/api/v1/boxes/BOX-A/placements", tech, body, 409, "rule-specimen-type",
	        "a placement list mixing DNA into the serum box", &r);
	is_str(jstr(&r, "position"), "A2", "  naming the position of the refused tube");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", serum);
	api(t, "POST", path, tech, "{\"box\":\"BOX-A\",\"position\":\"A1\"}", &r);
	is_int(r.status, 200, "serum goes into the serum box");
	resp_free(&r);

	/* DNA is kept at -80 or colder: the -20 freezer refuses it in any box. */
	expect(t, "PUT", "/api/v1/specimen-types/dna/storage",
	       "{\"temperatures\":[\"-80\",\"-196\"]}", 200, "DNA is declared a -80/-196 type", &r);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", dna);
	refused(t, "POST", path, tech, "{\"box\":\"BOX-B\",\"position\":\"A1\"}", 409,
	        "rule-temperature", "DNA stored in the -20 freezer", &r);
	is_str(jstr(&r, "container.name"), "Freezer 1", "  naming the freezer that set -20");
	is_str(jstr(&r, "nominal_temperature"), "-20", "  and its temperature");
	resp_free(&r);

	/* Freezer 2 is -80, its rack for SSC only. */
	char lpath[64];
	snprintf(lpath, sizeof(lpath), "/api/v1/locations/%ld/rules", freezer2);
	expect(t, "PUT", lpath, "{\"nominal_temperature\":\"-80\"}", 200, "Freezer 2 is -80", &r);
	resp_free(&r);
	snprintf(lpath, sizeof(lpath), "/api/v1/locations/%ld/rules", rack2);
	expect(t, "PUT", lpath, "{\"studies\":[\"SSC\"]}", 200, "Rack 2 takes SSC only", &r);
	resp_free(&r);
	refused(t, "POST", path, tech, "{\"box\":\"BOX-C\",\"position\":\"A1\"}", 409, "rule-study",
	        "a MASC tube into the SSC rack", &r);
	is_str(jstr(&r, "container.name"), "Rack 2", "  naming the rack");
	resp_free(&r);
	expect(t, "PUT", lpath, "{\"studies\":[\"SSC\",\"MASC\"]}", 200, "Rack 2 takes MASC too",
	       &r);
	resp_free(&r);
	api(t, "POST", path, tech, "{\"box\":\"BOX-C\",\"position\":\"A1\"}", &r);
	is_int(r.status, 200, "DNA goes into the -80 freezer");
	resp_free(&r);

	/* A box moved whole obeys where it goes: BOX-C (DNA) into the -20 freezer. */
	snprintf(body, sizeof(body), "{\"to\":%ld}", rack);
	refused(t, "POST", "/api/v1/boxes/BOX-C/move", NULL, body, 409, "rule-temperature",
	        "the DNA box moved into the -20 freezer", &r);
	resp_free(&r);
	is_int(intf(t, "SELECT count(*) FROM boxes WHERE barcode = 'BOX-C' AND location_id = %ld",
	            rack2),
	       1, "  the box stays in Rack 2");

	/* A rule the stored tubes break is refused. */
	refused(t, "PUT", lpath, NULL, "{\"studies\":[\"SSC\"]}", 409, "rule-broken-by-contents",
	        "Rack 2 made SSC-only while a MASC tube stands in it", &r);
	is_str(jstr(&r, "breaks"), "rule-study", "  naming the rule it would break");
	is_str(jstr(&r, "specimen"), dna, "  and the tube");
	resp_free(&r);
	refused(t, "PUT", "/api/v1/specimen-types/dna/storage", NULL,
	        "{\"temperatures\":[\"-196\"]}", 409, "rule-broken-by-contents",
	        "DNA made LN2-only while a tube stands at -80", &r);
	resp_free(&r);
	(void)dna2;
}

static void
bad_input(struct tenv *t)
{
	struct resp r;
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/locations/%ld/rules", freezer);
	refused(t, "PUT", path, NULL, "{\"types\":[\"serum\",\"plasmma\"]}", 400,
	        "unknown-specimen-type", "a mistyped specimen type in a rule", &r);
	ok(problem_names_field(&r, "types[1]"), "  naming types[1]");
	resp_free(&r);
	refused(t, "PUT", path, NULL, "{\"studies\":[\"MSAC\"]}", 400, "unknown-study",
	        "a mistyped study in a rule", &r);
	resp_free(&r);
	refused(t, "PUT", path, NULL, "{\"nominal_temperature\":\"-70\"}", 400, "invalid-input",
	        "a nominal temperature that is no class", &r);
	ok(problem_names_field(&r, "nominal_temperature"), "  naming nominal_temperature");
	resp_free(&r);
	refused(t, "PUT", path, NULL, "{\"types\":[]}", 400, "invalid-input",
	        "an empty type list (null means no rule)", &r);
	ok(problem_names_field(&r, "types"), "  naming types");
	resp_free(&r);
	refused(t, "PUT", path, tech, "{\"types\":[\"serum\"]}", 403, "forbidden",
	        "a technician setting rules", &r);
	resp_free(&r);
	refused(t, "PUT", "/api/v1/locations/12x/rules", NULL, "{}", 404, "not-found",
	        "a mistyped location id in the URL", &r);
	resp_free(&r);
	refused(t, "PUT", "/api/v1/locations/999999/rules", NULL, "{}", 404, "location-not-found",
	        "a location id that names nothing", &r);
	resp_free(&r);
	refused(t, "PUT", "/api/v1/boxes/NO-SUCH/rules", NULL, "{\"types\":[\"dna\"]}", 404,
	        "box-not-found", "rules for a box that does not exist", &r);
	resp_free(&r);
	refused(t, "PUT", "/api/v1/specimen-types/dnaa/storage", NULL,
	        "{\"temperatures\":[\"-80\"]}", 404, "specimen-type-not-found",
	        "storage of a mistyped specimen type", &r);
	resp_free(&r);
	refused(t, "PUT", "/api/v1/specimen-types/dna/storage", NULL,
	        "{\"temperatures\":[\"-80\",\"minus 80\"]}", 400, "invalid-input",
	        "a temperature that is no class", &r);
	ok(problem_names_field(&r, "temperatures[1]"), "  naming temperatures[1]");
	resp_free(&r);
	refused(t, "PUT", path, NULL, "{\"types\":[\"serum\"],\"colour\":\"red\"}", 400,
	        "invalid-input", "an unknown field", &r);
	resp_free(&r);
}

static void
box_slots(struct tenv *t)
{
	struct resp r;
	char path[128], body[256];

	snprintf(path, sizeof(path), "/api/v1/locations/%ld/rules", rack);
	refused(t, "PUT", path, NULL, "{\"box_slots\":2}", 409, "box-slots-taken",
	        "two slots for a rack that holds three boxes", &r);
	resp_free(&r);
	expect(t, "PUT", path, "{\"box_slots\":4}", 200, "Rack 1 has four box slots", &r);
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"barcode\":\"BOX-D\",\"rows\":9,\"cols\":9,\"parent\":%ld}",
	         rack);
	expect(t, "POST", "/api/v1/boxes", body, 201, "a fourth box fills the rack", &r);
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"barcode\":\"BOX-E\",\"rows\":9,\"cols\":9,\"parent\":%ld}",
	         rack);
	refused(t, "POST", "/api/v1/boxes", NULL, body, 409, "box-slots-full",
	        "a fifth box into the full rack", &r);
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"to\":%ld}", rack);
	refused(t, "POST", "/api/v1/boxes/BOX-C/move", NULL, body, 409, "box-slots-full",
	        "a box moved into the full rack", &r);
	resp_free(&r);
}

static void
subtree_lists(struct tenv *t)
{
	struct resp r;
	char path[160];
	long in_f1 = intf(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                     " JOIN locations l ON l.id = b.location_id WHERE l.name = 'Rack 1'");

	ok(in_f1 >= 1, "Freezer 1 holds tubes");
	snprintf(path, sizeof(path), "/api/v1/specimens?location=%ld", freezer);
	api(t, "GET", path, tech, NULL, &r);
	is_int(r.status, 200, "the tubes in Freezer 1 (its racks and boxes)");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), in_f1,
	       "  every one of them");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens?location=%ld", site);
	api(t, "GET", path, tech, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")),
	       intf(t, "SELECT count(*) FROM specimens WHERE box_id IS NOT NULL"),
	       "  the site's are every stored tube");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens?location=%ld&type=dna", freezer);
	api(t, "GET", path, tech, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0,
	       "  with the other filters too (no DNA in Freezer 1)");
	resp_free(&r);

	api(t, "GET", "/api/v1/specimens?location=12x", tech, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "location"),
	   "a mistyped location id in the filter: 400 naming location");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?location=999999", tech, NULL, &r);
	ok(is_problem(&r, 400) && strcmp(jstr(&r, "code"), "unknown-location") == 0,
	   "a location id that names nothing: 400 unknown-location");
	resp_free(&r);

	const char *csv[] = { "Accept: text/csv", NULL };
	snprintf(path, sizeof(path), "/api/v1/specimens?location=%ld", freezer2);
	http_h(t->d.url, "GET", path, tech, NULL, NULL, 0, csv, &r);
	{
		int lines = 0;
		for (const char *p = r.body; p && *p; p++)
			lines += *p == '\n';
		is_int(lines, 2, "the CSV export of Freezer 2: the header and its one tube");
	}
	resp_free(&r);
	http_h(t->d.url, "GET", "/api/v1/specimens?location=999999", tech, NULL, NULL, 0, csv, &r);
	ok(is_problem(&r, 400), "  the CSV export refuses an unknown location as a problem");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/reports/inventory?location=%ld", freezer2);
	api(t, "GET", path, tech, NULL, &r);
	is_int((long)jnum(&r, "total", -1), 1, "the inventory of Freezer 2 counts its one tube");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/inventory?location=F1", tech, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "location"),
	   "  a mistyped location id: 400 naming location");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/boxes?location=%ld", freezer);
	api(t, "GET", path, tech, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 4,
	       "the boxes anywhere in Freezer 1");
	resp_free(&r);
}

static void
capacity(struct tenv *t)
{
	struct resp r;
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/locations/%ld/capacity", freezer);
	api(t, "GET", path, tech, NULL, &r);
	is_int(r.status, 200, "Freezer 1's capacity");
	is_str(jstr(&r, "children.0.name"), "Rack 1", "  per child");
	is_str(jstr(&r, "children.0.positions.0.grid"), "1x2", "  by box grid: 1x2");
	is_str(jstr(&r, "children.0.positions.1.grid"), "9x9", "  and 9x9");
	is_int((long)jnum(&r, "children.0.positions.1.boxes", -1), 3, "  three 9x9 boxes");
	is_int((long)jnum(&r, "children.0.positions.1.free", -1), 3 * 81 - 1,
	       "  one position used");
	is_int((long)jnum(&r, "children.0.box_slots.free", -1), 0, "  no box slot free");
	resp_free(&r);
	api(t, "GET", "/api/v1/locations/12x/capacity", tech, NULL, &r);
	ok(is_problem(&r, 404), "a mistyped location id: 404");
	resp_free(&r);

	/* Rack 2 gets slots: one -80 place that takes serum of any study listed. */
	snprintf(path, sizeof(path), "/api/v1/locations/%ld/rules", rack2);
	expect(t, "PUT", path, "{\"studies\":[\"SSC\",\"MASC\"],\"box_slots\":21}", 200,
	       "Rack 2 has 21 slots", &r);
	resp_free(&r);
	api(t, "GET", "/api/v1/capacity?grid=9x9&boxes=20&type=serum", tech, NULL, &r);
	is_int(r.status, 200, "which locations take 20 more 9x9 boxes of serum?");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 1, "  one");
	is_str(jstr(&r, "items.0.name"), "Freezer 2", "  Freezer 2");
	is_int((long)jnum(&r, "items.0.free_box_slots", -1), 20, "  with 20 free slots");
	resp_free(&r);
	api(t, "GET", "/api/v1/capacity?grid=9x9&boxes=21&type=serum", tech, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0, "  none takes 21");
	resp_free(&r);
	expect(t, "PUT", "/api/v1/specimen-types/serum/storage", "{\"temperatures\":[\"-20\"]}",
	       200, "serum declared a -20 type", &r);
	resp_free(&r);
	api(t, "GET", "/api/v1/capacity?grid=9x9&boxes=1&type=serum", tech, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0,
	       "  then the -80 freezer is no place for serum");
	resp_free(&r);
	api(t, "GET", "/api/v1/capacity?grid=9x9&boxes=1&type=serum&study=NOPE", tech, NULL, &r);
	ok(is_problem(&r, 400) && strcmp(jstr(&r, "code"), "unknown-study") == 0,
	   "an unknown study: 400 unknown-study");
	resp_free(&r);
	api(t, "GET", "/api/v1/capacity?grid=9by9", tech, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "grid"),
	   "a grid not RxC: 400 naming grid");
	resp_free(&r);
	api(t, "GET", "/api/v1/capacity?grid=9x9&boxes=-1", tech, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "boxes"), "boxes=-1: 400 naming boxes");
	resp_free(&r);
	api(t, "GET", "/api/v1/capacity?boxes=2", tech, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "grid"), "no grid: 400 naming grid");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "storage_rules", argc, argv);
	setup(&t);
	rules_set_and_inherited(&t);
	dna_into_serum_box(&t);
	bad_input(&t);
	box_slots(&t);
	subtree_lists(&t);
	capacity(&t);
	tenv_teardown(&t);
	return tap_done();
}
