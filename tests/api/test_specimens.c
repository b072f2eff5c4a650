/* test_specimens.c — registration, lineage, custody actions and their events, lists, scoping. */
#include "world.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char parent[16], child1[16], tube[16];

static void
registration(struct tenv *t)
{
	struct resp r;

	api(t, "POST", "/api/v1/specimens", t->admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	    "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	    "\"quantity\":{\"value\":1.5,\"unit\":\"mL\"},\"tube_barcode\":\"FD06299901\","
	    "\"notes\":\"haemolysed slightly\",\"aliquots\":3}",
	    &r);
	is_int(r.status, 201, "a collection with 3 aliquots is registered");
	const char *id = jstr(&r, "id");
	ok(id != NULL && strlen(id) == 8, "  with an 8-character ID (%s)", id ? id : "");
	snprintf(parent, sizeof(parent), "%s", id ? id : "");
	is_str(jstr(&r, "status"), "consumed", "  consumed: the aliquots took all of it");
	is_str(jstr(&r, "tube_barcode"), "FD06299901", "  its tube barcode");
	is_str(jstr(&r, "participant.study"), "MASC", "  its participant's study");
	is_str(jstr(&r, "collected_at"), "2026-03-01T09:30:00Z", "  its collection time, as sent");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "aliquots")), 3, "  and 3 aliquots");
	is_str(jstr(&r, "aliquots.0.parent"), parent, "  whose parent is the collection");
	ok(jnum(&r, "aliquots.0.quantity.value", -1) == 0.5, "  each holding a third: 0.5 mL");
	ok(jnum(&r, "quantity.value", -1) == 0, "  leaving the parent empty");
	snprintf(child1, sizeof(child1), "%s",
	         jstr(&r, "aliquots.0.id") ? jstr(&r, "aliquots.0.id") : "");
	resp_free(&r);

	char path[64];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", parent);
	api(t, "GET", path, t->admin_token, NULL, &r);
	is_int(r.status, 200, "GET the specimen by ID");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "children")), 3,
	       "  lists its children");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "location")), "  and no location yet");
	resp_free(&r);

	char lower[16];
	for (int i = 0; parent[i]; i++)
		lower[i] = (char)tolower((unsigned char)parent[i]);
	lower[strlen(parent)] = '\0';
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", lower);
	api(t, "GET", path, t->admin_token, NULL, &r);
	is_str(jstr(&r, "id"), parent, "an ID typed in lower case is read");
	resp_free(&r);

	api(t, "GET", "/api/v1/specimens/FD06299901", t->admin_token, NULL, &r);
	is_str(jstr(&r, "id"), parent, "GET by tube barcode finds the specimen");
	resp_free(&r);

	/* One wrong character: the check character no longer matches. */
	char typo[16];
	snprintf(typo, sizeof(typo), "%s", parent);
	typo[3] = typo[3] == 'A' ? 'B' : 'A';
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", typo);
	api(t, "GET", path, t->admin_token, NULL, &r);
	ok(is_problem(&r, 400), "a mistyped ID is a 400 problem");
	ok(strstr(r.body, "check character does not match") != NULL,
	   "  saying the check character does not match");
	resp_free(&r);

	api(t, "GET", "/api/v1/specimens/NOSUCHTUBE", t->admin_token, NULL, &r);
	ok(is_problem(&r, 404), "an unknown tube barcode is a 404 problem");
	resp_free(&r);

	snprintf(tube, sizeof(tube), "%s", child1);

	/* The custody tests follow a collection that keeps some of its material. */
	api(t, "POST", "/api/v1/specimens", t->admin_token,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	    "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	    "\"quantity\":{\"value\":3,\"unit\":\"mL\"},\"tube_barcode\":\"FD06299902\"}",
	    &r);
	snprintf(parent, sizeof(parent), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/aliquots", parent);
	api(t, "POST", path, t->admin_token,
	    "{\"count\":3,\"quantity\":{\"value\":0.5,\"unit\":\"mL\"}}", &r);
	is_int(r.status, 201, "3 aliquots of 0.5 mL from a 3 mL collection");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens/FD06299902", t->admin_token, NULL, &r);
	ok(jnum(&r, "quantity.value", -1) == 1.5 && jstr(&r, "status") &&
	       strcmp(jstr(&r, "status"), "registered") == 0,
	   "  leave it registered with 1.5 mL");
	resp_free(&r);
}

static void
registration_errors(struct tenv *t)
{
	static const struct {
		const char *body, *what, *field;
		long status;
	} cases[] = {
		{ "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"blood_"
		  "orange\","
		  "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\"}",
		  "an unknown type", "type", 400 },
		{ "{\"participant\":{\"study\":\"MASC\",\"code\":\"P999\"},\"type\":\"serum\","
		  "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\"}",
		  "an unknown participant", "participant.code", 400 },
		{ "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
		  "\"timepoint\":\"baseline\"}",
		  "a missing collection time", "collected_at", 400 },
		{ "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
		  "\"timepoint\":\"baseline\",\"collected_at\":\"01/03/2026\"}",
		  "a collection time not in RFC 3339", "collected_at", 400 },
		{ "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\",\"name\":\"Jane Doe\"},"
		  "\"type\":\"serum\",\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:"
		  "30:00Z\"}",
		  "a participant name", "participant.name", 400 },
		{ "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
		  "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
		  "\"aliquots\":-1}",
		  "a negative aliquot count", "aliquots", 400 },
		{ "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
		  "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
		  "\"tube_barcode\":\"FD06299901\"}",
		  "a tube barcode already registered", NULL, 409 },
	};
	int before = sql_int(t, "SELECT count(*) FROM specimens");
	int events = sql_int(t, "SELECT count(*) FROM events");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resp r;

		api(t, "POST", "/api/v1/specimens", t->admin_token, cases[i].body, &r);
		ok(is_problem(&r, cases[i].status), "%s is a %ld problem", cases[i].what,
		   cases[i].status);
		if (cases[i].field)
			ok(problem_names_field(&r, cases[i].field), "  naming %s", cases[i].field);
		resp_free(&r);
	}
	is_int(sql_int(t, "SELECT count(*) FROM specimens"), before,
	       "  and no specimen was left behind");
	is_int(sql_int(t, "SELECT count(*) FROM events"), events, "  nor any event");
}

static void
custody(struct tenv *t)
{
	struct resp r;
	char other[16];

	world_act(t, parent, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}", NULL, &r);
	is_int(r.status, 200, "store into BOX-A A1");
	is_str(jstr(&r, "status"), "in_storage", "  status in_storage");
	is_str(jstr(&r, "location.position"), "A1", "  at A1");
	is_str(jstr(&r, "location.path.0"), "Main lab", "  path starts at the site");
	is_str(jstr(&r, "location.path.3"), "BOX-A", "  and ends at the box");
	resp_free(&r);

	world_act(t, parent, "store", "{\"box\":\"BOX-A\",\"position\":\"A2\"}", NULL, &r);
	ok(is_problem(&r, 409) && strstr(r.body, "in_storage") != NULL,
	   "storing it again is a 409 naming its status");
	resp_free(&r);

	world_act(t, child1, "store", "{\"box\":\"BOX-A\",\"position\":\"a01\"}", NULL, &r);
	ok(is_problem(&r, 409), "another tube into the taken A1 is a 409");
	ok(strstr(r.body, parent) != NULL, "  naming the occupant %s", parent);
	resp_free(&r);

	world_act(t, child1, "store", "{\"box\":\"BOX-A\",\"position\":\"J1\"}", NULL, &r);
	ok(is_problem(&r, 400), "a position outside the 9x9 box is a 400");
	resp_free(&r);
	world_act(t, child1, "store", "{\"box\":\"BOX-A\",\"position\":\"1A\"}", NULL, &r);
	ok(is_problem(&r, 400), "a malformed position is a 400");
	resp_free(&r);
	world_act(t, child1, "store", "{\"box\":\"NO-BOX\",\"position\":\"A1\"}", NULL, &r);
	ok(is_problem(&r, 400), "an unknown box is a 400");
	resp_free(&r);
	world_act(t, child1, "store", "{\"box\":\"BOX-A\"}", NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "position"),
	   "store without a position is a 400");
	resp_free(&r);

	world_act(t, child1, "store", "{\"box\":\"BOX-A\",\"position\":\"B1\"}", NULL, &r);
	is_int(r.status, 200, "the aliquot goes into B1");
	resp_free(&r);

	world_act(t, parent, "move",
	          "{\"box\":\"BOX-B\",\"position\":\"C3\",\"from\":{\"box\":\"BOX-A\",\"position\":"
	          "\"A1\"}}",
	          NULL, &r);
	is_int(r.status, 200, "move with the right 'from'");
	is_str(jstr(&r, "location.box"), "BOX-B", "  to BOX-B");
	resp_free(&r);

	world_act(t, parent, "move",
	          "{\"box\":\"BOX-A\",\"position\":\"A1\",\"from\":{\"box\":\"BOX-A\",\"position\":"
	          "\"A1\"}}",
	          NULL, &r);
	ok(is_problem(&r, 409) && strstr(r.body, "no longer at") != NULL,
	   "move with a stale 'from' is a 409");
	resp_free(&r);

	world_act(t, parent, "move", "{\"box\":\"BOX-B\",\"position\":\"C3\"}", NULL, &r);
	ok(is_problem(&r, 409), "moving to where it already is is a 409");
	resp_free(&r);

	world_act(t, parent, "checkout", "{}", NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "reason"),
	   "checkout without a reason is a 400");
	resp_free(&r);
	world_act(t, parent, "checkout", "{\"reason\":\"ELISA run 14\"}", NULL, &r);
	is_int(r.status, 200, "checkout");
	is_str(jstr(&r, "status"), "checked_out", "  status checked_out");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "location")), "  and its position is freed");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens WHERE box_id IS NOT NULL AND pos_row = 3 "
	                  "AND pos_col = 3"),
	       0, "  C3 of BOX-B is free in the database");

	world_act(t, parent, "checkout", "{\"reason\":\"again\"}", NULL, &r);
	ok(is_problem(&r, 409), "checking out a checked-out tube is a 409");
	resp_free(&r);

	world_act(t, parent, "return", "{\"box\":\"BOX-B\",\"position\":\"C3\",\"thawed\":true}",
	          NULL, &r);
	is_int(r.status, 200, "return, thawed");
	is_int(jnum(&r, "freeze_thaw_count", -1), 1, "  counts one thaw");
	resp_free(&r);
	world_act(t, parent, "checkout", "{\"reason\":\"aliquot more\"}", NULL, &r);
	resp_free(&r);
	world_act(t, parent, "return", "{\"box\":\"BOX-B\",\"position\":\"C3\",\"thawed\":false}",
	          NULL, &r);
	is_int(jnum(&r, "freeze_thaw_count", -1), 1, "return not thawed leaves the count");
	resp_free(&r);

	/* lost and found */
	world_act(t, child1, "lost", "{\"reason\":\"not in B1 at the audit\"}", NULL, &r);
	is_str(jstr(&r, "status"), "lost", "a tube is marked lost");
	resp_free(&r);
	world_act(t, child1, "checkout", "{\"reason\":\"x\"}", NULL, &r);
	ok(is_problem(&r, 409), "a lost tube cannot be checked out");
	resp_free(&r);
	world_act(t, child1, "found",
	          "{\"box\":\"BOX-A\",\"position\":\"B2\",\"reason\":\"was in B2\"}", NULL, &r);
	is_str(jstr(&r, "status"), "in_storage", "found puts it back in storage");
	is_str(jstr(&r, "location.position"), "B2", "  where it was found");
	resp_free(&r);

	/* consume and destroy */
	if (world_register(t, "MASC", "P002", "plasma", other)) {
		world_act(t, other, "consume", "{\"reason\":\"used up in assay\"}", NULL, &r);
		is_str(jstr(&r, "status"), "consumed", "consume");
		resp_free(&r);
		world_act(t, other, "store", "{\"box\":\"BOX-A\",\"position\":\"I9\"}", NULL, &r);
		ok(is_problem(&r, 409), "a consumed tube cannot be stored");
		resp_free(&r);
		world_act(t, other, "destroy", "{\"reason\":\"x\"}", NULL, &r);
		ok(is_problem(&r, 409), "a consumed tube cannot be destroyed");
		resp_free(&r);
	}
	char tech[128];
	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"tina\",\"password\":\"bench-password\",\"role\":\"technician\"}", &r);
	resp_free(&r);
	login(t, "tina", "bench-password", tech);
	world_act(t, child1, "destroy", "{\"reason\":\"consent\"}", tech, &r);
	ok(is_problem(&r, 403), "a technician may not destroy: 403");
	resp_free(&r);
	world_act(t, child1, "move", "{\"box\":\"BOX-A\",\"position\":\"B3\"}", tech, &r);
	is_int(r.status, 200, "a technician may move");
	resp_free(&r);
	world_act(t, child1, "destroy", "{\"reason\":\"end of study\"}", NULL, &r);
	is_str(jstr(&r, "status"), "destroyed", "a manager or admin destroys");
	ok(cJSON_IsNull(cJSON_GetObjectItem(r.json, "location")), "  and the position is freed");
	resp_free(&r);
}

static void
lineage(struct tenv *t)
{
	struct resp r;
	char pbmc[16], path[96];

	if (!world_register(t, "MASC", "P001", "pbmc", pbmc))
		return;
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/derivatives", pbmc);
	api(t, "POST", path, t->admin_token,
	    "{\"type\":\"dna\",\"quantity\":{\"value\":20,\"unit\":\"ug\"}}", &r);
	is_int(r.status, 201, "derive DNA from PBMC");
	is_str(jstr(&r, "type"), "dna", "  of type dna");
	is_str(jstr(&r, "parent"), pbmc, "  with the PBMC as parent");
	is_str(jstr(&r, "derivation"), "derivative", "  as a derivative");
	resp_free(&r);
	api(t, "POST", path, t->admin_token, "{\"type\":\"unobtainium\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "type"),
	   "deriving an unknown type is a 400");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/aliquots", pbmc);
	api(t, "POST", path, t->admin_token,
	    "{\"count\":2,\"quantity\":{\"value\":0.5,\"unit\":\"mL\"}}", &r);
	is_int(r.status, 201, "two aliquots of 0.5 mL");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2, "  listed as items");
	resp_free(&r);
	api(t, "POST", path, t->admin_token,
	    "{\"count\":2,\"quantity\":{\"value\":0.5,\"unit\":\"ug\"}}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "quantity.unit"),
	   "aliquots in another unit are a 400");
	resp_free(&r);
	api(t, "POST", path, t->admin_token,
	    "{\"count\":10,\"quantity\":{\"value\":1,\"unit\":\"mL\"}}", &r);
	ok(is_problem(&r, 409), "more than the tube holds is a 409");
	resp_free(&r);
	api(t, "POST", path, t->admin_token, "{\"count\":0}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "count"), "zero aliquots is a 400");
	resp_free(&r);
}

static void
events(struct tenv *t)
{
	struct resp r;
	char path[96];

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/events", parent);
	api(t, "GET", path, t->admin_token, NULL, &r);
	is_int(r.status, 200, "GET the specimen's events");
	cJSON *items = cJSON_GetObjectItem(r.json, "items");
	/* registered, aliquoted, stored, moved, checked_out, returned, checked_out, returned */
	is_int(cJSON_GetArraySize(items), 8, "  one event per change");
	static const char *const types[] = {
		"registered",  "aliquoted", "stored",      "moved",
		"checked_out", "returned",  "checked_out", "returned"
	};
	bool order = true, chained = true;
	const char *prev = "0000000000000000000000000000000000000000000000000000000000000000";
	for (int i = 0; i < cJSON_GetArraySize(items) && i < 8; i++) {
		cJSON *e = cJSON_GetArrayItem(items, i);
		const char *type = cJSON_GetObjectItem(e, "type")->valuestring;

		order = order && strcmp(type, types[i]) == 0 &&
		        cJSON_GetObjectItem(e, "seq")->valueint == i + 1;
		chained = chained &&
		          strcmp(cJSON_GetObjectItem(e, "prev_hash")->valuestring, prev) == 0 &&
		          strlen(cJSON_GetObjectItem(e, "hash")->valuestring) == 64;
		prev = cJSON_GetObjectItem(e, "hash")->valuestring;
	}
	ok(order, "  oldest first, numbered from 1");
	ok(chained, "  each naming the previous one's hash");
	is_str(jstr(&r, "items.0.actor"), "admin", "  with the actor");
	is_str(jstr(&r, "items.3.from.box"), "BOX-A", "  where it came from");
	is_str(jstr(&r, "items.3.to.position"), "C3", "  and where it went");
	is_str(jstr(&r, "items.4.reason"), "ELISA run 14", "  and why");
	ok(cJSON_IsTrue(cJSON_GetObjectItem(
	       cJSON_GetObjectItem(cJSON_GetArrayItem(items, 5), "details"), "thawed")),
	   "  and that it thawed");
	resp_free(&r);

	bool ok_sql;
	char *v = sql_value(t, "UPDATE events SET reason = 'rewritten'", &ok_sql);
	ok(!ok_sql, "UPDATE on events fails inside PostgreSQL (even for a superuser)");
	free(v);
	v = sql_value(t, "DELETE FROM events", &ok_sql);
	ok(!ok_sql, "DELETE on events fails");
	free(v);
	v = sql_value(t, "TRUNCATE events CASCADE", &ok_sql);
	ok(!ok_sql, "TRUNCATE on events fails");
	free(v);
	/* The daemon's own role, too. */
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "psql -q \"%s\" -c \"DELETE FROM events\" >/dev/null 2>&1",
	         t->conninfo);
	ok(system(cmd) != 0, "and for the daemon's role");
}

static void
lists(struct tenv *t)
{
	struct resp r;

	api(t, "GET", "/api/v1/specimens?study=MASC&participant=P001&limit=2", t->admin_token, NULL,
	    &r);
	is_int(r.status, 200, "list with filters");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2, "  two per page");
	const char *cursor = jstr(&r, "next_cursor");
	ok(cursor != NULL, "  and a cursor to the next page");
	char path[160], seen[4][16];
	snprintf(seen[0], 16, "%s", jstr(&r, "items.0.id"));
	snprintf(seen[1], 16, "%s", jstr(&r, "items.1.id"));
	snprintf(path, sizeof(path),
	         "/api/v1/specimens?study=MASC&participant=P001&limit=2&cursor=%s",
	         cursor ? cursor : "");
	resp_free(&r);
	api(t, "GET", path, t->admin_token, NULL, &r);
	is_int(r.status, 200, "the next page");
	ok(jstr(&r, "items.0.id") && strcmp(jstr(&r, "items.0.id"), seen[0]) != 0 &&
	       strcmp(jstr(&r, "items.0.id"), seen[1]) != 0,
	   "  holds other specimens");
	resp_free(&r);

	int all = sql_int(t, "SELECT count(*) FROM specimens s JOIN participants p ON p.id = "
	                     "s.participant_id WHERE p.code = 'P001'");
	int total = 0;
	char cur[64] = "";
	for (int page = 0; page < 50; page++) {
		snprintf(path, sizeof(path), "/api/v1/specimens?participant=P001&limit=3%s%s",
		         *cur ? "&cursor=" : "", cur);
		api(t, "GET", path, t->admin_token, NULL, &r);
		total += cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items"));
		const char *c = jstr(&r, "next_cursor");
		snprintf(cur, sizeof(cur), "%s", c ? c : "");
		resp_free(&r);
		if (!*cur)
			break;
	}
	is_int(total, all, "paging through all of P001's specimens sees each once (%d)", all);

	api(t, "GET", "/api/v1/specimens?status=in_storage&box=BOX-B", t->admin_token, NULL, &r);
	ok(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")) == 1 &&
	       jstr(&r, "items.0.id") && strcmp(jstr(&r, "items.0.id"), parent) == 0,
	   "filter by status and box");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?limit=5000", t->admin_token, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "limit"), "a limit over 1000 is a 400");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?status=melted", t->admin_token, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "status"), "an unknown status is a 400");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens?cursor=garbage", t->admin_token, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "cursor"), "a forged cursor is a 400");
	resp_free(&r);
}

static void
consent_and_scope(struct tenv *t)
{
	struct resp r;
	char ssc[16], masc[16], token[128], path[96];

	if (!world_register(t, "SSC", "S001", "serum", ssc) ||
	    !world_register(t, "MASC", "P002", "serum", masc))
		return;
	world_act(t, ssc, "store", "{\"box\":\"BOX-A\",\"position\":\"I1\"}", NULL, &r);
	resp_free(&r);
	world_act(t, masc, "store", "{\"box\":\"BOX-A\",\"position\":\"I2\"}", NULL, &r);
	resp_free(&r);

	bool ok_sql;
	free(sql_value(t,
	               "UPDATE specimens SET consent_withdrawn = true WHERE participant_id = "
	               "(SELECT id FROM participants WHERE code = 'S001')",
	               &ok_sql));
	world_act(t, ssc, "checkout", "{\"reason\":\"assay\"}", NULL, &r);
	ok(is_problem(&r, 409) && strstr(r.body, "consent") != NULL,
	   "a specimen whose donor withdrew consent cannot be checked out: 409");
	resp_free(&r);

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"sam\",\"password\":\"ssc-password\",\"role\":\"technician\","
	    "\"studies\":[\"SSC\"]}",
	    &r);
	resp_free(&r);
	login(t, "sam", "ssc-password", token);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", masc);
	api(t, "GET", path, token, NULL, &r);
	ok(is_problem(&r, 404), "a user limited to SSC gets 404 for a MASC specimen");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", ssc);
	api(t, "GET", path, token, NULL, &r);
	is_int(r.status, 200, "  and sees the SSC one");
	resp_free(&r);
	world_act(t, masc, "move", "{\"box\":\"BOX-A\",\"position\":\"I5\"}", token, &r);
	ok(is_problem(&r, 404), "  cannot move the MASC one (404)");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/events", masc);
	api(t, "GET", path, token, NULL, &r);
	ok(is_problem(&r, 404), "  nor read its events");
	resp_free(&r);
	api(t, "GET", "/api/v1/specimens", token, NULL, &r);
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items"));
	ok(n == 1 && strcmp(jstr(&r, "items.0.id"), ssc) == 0, "  and lists only SSC specimens");
	resp_free(&r);
	world_act(t, ssc, "move", "{\"box\":\"BOX-A\",\"position\":\"I2\"}", token, &r);
	ok(is_problem(&r, 409) && strstr(r.body, "another study") != NULL &&
	       strstr(r.body, masc) == NULL,
	   "  a position taken by a MASC tube is a 409 that does not name it");
	resp_free(&r);
}

static void
placements(struct tenv *t)
{
	struct resp r;
	char a[16], b[16], c[16], body[512];

	if (!world_register(t, "MASC", "P002", "serum", a) ||
	    !world_register(t, "MASC", "P002", "serum", b) ||
	    !world_register(t, "MASC", "P002", "serum", c))
		return;
	snprintf(
	    body, sizeof(body),
	    "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"},"
	    "{\"position\":\"A2\",\"specimen\":\"%s\"},{\"position\":\"A3\",\"specimen\":\"%s\"}]}",
	    a, b, c);
	api(t, "POST", "/api/v1/boxes/TINY/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 400), "placing into A3 of a 1x2 box is a 400");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id WHERE "
	                  "b.barcode = 'TINY'"),
	       0, "  and nothing was placed");

	snprintf(body, sizeof(body),
	         "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"},{\"position\":\"A2\","
	         "\"specimen\":\"%s\"}]}",
	         a, b);
	api(t, "POST", "/api/v1/boxes/TINY/placements", t->admin_token, body, &r);
	is_int(r.status, 200, "two tubes placed in one request");
	is_str(jstr(&r, "placed.1.event"), "stored", "  each stored");
	resp_free(&r);

	snprintf(body, sizeof(body),
	         "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"},{\"position\":\"A2\","
	         "\"specimen\":\"%s\"}]}",
	         b, a);
	api(t, "POST", "/api/v1/boxes/TINY/placements", t->admin_token, body, &r);
	is_int(r.status, 200, "the two swap places in one request");
	is_str(jstr(&r, "placed.0.event"), "moved", "  each moved");
	resp_free(&r);

	/* bb_box_place chains the events of a rack itself: each links to the tube's
	 * previous event, and the tube's row names the new one as its head. */
	char chk[400];
	snprintf(
	    chk, sizeof(chk),
	    "SELECT count(*) FROM specimens s JOIN events e ON e.specimen_id = s.id "
	    "JOIN events p ON p.specimen_id = s.id AND p.seq = e.seq - 1 "
	    "WHERE s.id IN ('%s', '%s') AND e.reason = 'bulk placement' AND e.prev_hash = p.hash "
	    "AND e.format = 2 AND e.actor = 'admin'",
	    a, b);
	is_int(sql_int(t, chk), 4, "  their four events each link to the tube's previous event");
	snprintf(chk, sizeof(chk),
	         "SELECT count(*) FROM specimens s JOIN events e ON e.specimen_id = s.id "
	         "AND e.seq = s.ledger_seq AND e.hash = s.ledger_head "
	         "WHERE s.id IN ('%s', '%s') AND e.type = 'moved' "
	         "AND s.ledger_seq = (SELECT max(x.seq) FROM events x WHERE x.specimen_id = s.id)",
	         a, b);
	is_int(sql_int(t, chk), 2, "  and each tube's head is its last event");

	world_act(t, a, "checkout", "{\"reason\":\"aliquoting\"}", t->admin_token, &r);
	is_int(r.status, 200, "a placed tube checked out");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"placements\":[{\"position\":\"A2\",\"specimen\":\"%s\"}]}",
	         a);
	api(t, "POST", "/api/v1/boxes/TINY/placements", t->admin_token, body, &r);
	is_str(jstr(&r, "placed.0.event"), "returned", "  placed back: returned");
	resp_free(&r);
	snprintf(chk, sizeof(chk),
	         "SELECT count(*) FROM events e JOIN specimens s ON s.id = e.specimen_id "
	         "AND s.ledger_seq = e.seq AND s.ledger_head = e.hash "
	         "WHERE e.specimen_id = '%s' AND e.type = 'returned' AND e.details = '{\"thawed\": "
	         "false}'",
	         a);
	is_int(sql_int(t, chk), 1, "  its event says it did not thaw, and is its head");

	snprintf(body, sizeof(body), "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"}]}",
	         c);
	api(t, "POST", "/api/v1/boxes/TINY/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 409), "placing onto an occupied position is a 409");
	resp_free(&r);
	char q[200];
	snprintf(q, sizeof(q), "SELECT status FROM specimens WHERE id = '%s'", c);
	bool ok_sql;
	char *st = sql_value(t, q, &ok_sql);
	is_str(st, "registered", "  and the third tube stayed where it was");
	free(st);

	snprintf(body, sizeof(body),
	         "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"},{\"position\":\"a01\","
	         "\"specimen\":\"%s\"}]}",
	         b, c);
	api(t, "POST", "/api/v1/boxes/TINY/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 400), "the same position twice is a 400");
	resp_free(&r);
}

static void
ledger(struct tenv *t)
{
	struct resp r;
	char aud[128];

	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"audrey\",\"password\":\"audit-password\",\"role\":\"auditor\"}", &r);
	resp_free(&r);
	login(t, "audrey", "audit-password", aud);
	api(t, "GET", "/api/v1/ledger/verify", aud, NULL, &r);
	is_int(r.status, 200, "an auditor verifies the ledger");
	ok(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "ok")), "  every chain verifies");
	is_int(jnum(&r, "events_checked", -1), sql_int(t, "SELECT count(*) FROM events"),
	       "  every event was checked");
	is_int(jnum(&r, "specimens_checked", -1), sql_int(t, "SELECT count(*) FROM specimens"),
	       "  every specimen was checked");
	resp_free(&r);
	world_act(t, parent, "checkout", "{\"reason\":\"x\"}", aud, &r);
	ok(is_problem(&r, 403), "an auditor may not change anything: 403");
	resp_free(&r);

	char dburl[600], *out = NULL;
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t->conninfo);
	const char *env[] = { dburl, NULL };
	const char *argv[] = { t->biobankd, "verify-ledger", NULL };
	is_int(run_cmd(argv, env, NULL, &out), 0, "biobankd verify-ledger exits 0");
	ok(out && strstr(out, "ledger OK") != NULL, "  and says so");
	free(out);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "specimens", argc, argv);
	world_make(&t);
	registration(&t);
	registration_errors(&t);
	custody(&t);
	lineage(&t);
	events(&t);
	lists(&t);
	consent_and_scope(&t);
	placements(&t);
	ledger(&t);
	tenv_teardown(&t);
	return tap_done();
}
