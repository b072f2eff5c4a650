/*
 * test_boxes.c — whole boxes moved and renamed, as the bench does it: a
 * 96-tube rack carried to another freezer (positions kept, a moved event
 * for every tube naming the box move), the tired technician who moves it
 * into the freezer it is already in, a box in an open audit, a box holding
 * another study's tube, a location that holds no boxes; a box relabelled
 * (old events keep the old barcode, verify-ledger agrees with the new);
 * and a failing freezer emptied at night: 100 boxes in one request, first
 * with mistakes (every one named, nothing moved), then corrected.
 */
#include "biobank.h"
#include "world.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char tech_token[128], masc_token[128];

static long
count_sql(struct tenv *t, const char *sql)
{
	return sql_int(t, sql);
}

static long
events_now(struct tenv *t)
{
	return count_sql(t, "SELECT count(*) FROM events");
}

static long
location_id(struct tenv *t, const char *name)
{
	return sql_intf(t, "SELECT id FROM locations WHERE name = '%s'", name);
}

static void
ledger_clean(struct tenv *t, const char *when)
{
	struct resp r;

	api(t, "GET", "/api/v1/ledger/verify", t->admin_token, NULL, &r);
	if (!ok(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "ok")), "the ledger verifies %s", when))
		tap_diag("%s", r.body);
	resp_free(&r);
}

static bool
names_with_code(const struct resp *r, const char *field, const char *code)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(r->json, "errors"))
	{
		const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(e, "field"));
		const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));

		if (f != NULL && strcmp(f, field) == 0 && c != NULL && strcmp(c, code) == 0)
			return true;
	}
	return false;
}

/*
 * A box of rows x cols in location loc holding n new MASC tubes at its first
 * n positions (registered with their aliquots, placed in one request).
 */
static bool
full_box(struct tenv *t, const char *barcode, int rows, int cols, long loc, int n)
{
	char sql[256], body[256];
	struct resp r;
	struct bb_buf b = { 0 };

	snprintf(sql, sizeof(sql),
	         "INSERT INTO boxes (barcode, rows, cols, location_id) VALUES ('%s', %d, %d, %ld)",
	         barcode, rows, cols, loc);
	sql_exec(t, sql);
	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"plasma\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	         "\"quantity\":{\"value\":%d,\"unit\":\"mL\"},\"aliquots\":%d}",
	         n, n);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	if (r.status != 201) {
		ok(false, "register %d aliquots for %s: %ld %s", n, barcode, r.status, r.body);
		resp_free(&r);
		return false;
	}
	const cJSON *items = cJSON_GetObjectItem(r.json, "aliquots");
	bb_buf_puts(&b, "{\"placements\":[");
	for (int i = 0; i < n; i++) {
		const char *id =
		    cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(items, i), "id"));
		bb_buf_printf(&b, "%s{\"position\":\"%c%d\",\"specimen\":\"%s\"}", i ? "," : "",
		              'A' + i / cols, i % cols + 1, id ? id : "");
	}
	bb_buf_puts(&b, "]}");
	resp_free(&r);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/boxes/%s/placements", barcode);
	api(t, "POST", path, t->admin_token, b.data, &r);
	bb_buf_free(&b);
	bool placed = r.status == 200;
	if (!placed)
		ok(false, "place %d tubes in %s: %ld %s", n, barcode, r.status, r.body);
	resp_free(&r);
	return placed;
}

static void
move_box(struct tenv *t, const char *box, const char *body, const char *token, struct resp *r)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/boxes/%s/move", box);
	api(t, "POST", path, token ? token : t->admin_token, body, r);
}

static void
rename_box(struct tenv *t, const char *box, const char *body, const char *token, struct resp *r)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/boxes/%s/rename", box);
	api(t, "POST", path, token ? token : t->admin_token, body, r);
}

static void
rack96(struct tenv *t)
{
	long shelf = location_id(t, "Shelf 2"), room = location_id(t, "Room 9");
	char body[256];
	struct resp r;

	if (!full_box(t, "R96", 8, 12, location_id(t, "Rack 1"), 96))
		return;
	char *one = sql_value(t,
	                      "SELECT s.id FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                      " WHERE b.barcode = 'R96' AND s.pos_row = 3 AND s.pos_col = 7",
	                      &(bool){ false });
	long events = events_now(t);

	snprintf(body, sizeof(body), "{\"to\":%ld,\"reason\":\"freezer 1 alarm\"}", shelf);
	move_box(t, "R96", body, tech_token, &r);
	is_int(r.status, 200, "a technician moves a 96-tube rack to another freezer: 200");
	const cJSON *path = cJSON_GetObjectItem(r.json, "path");
	is_str(cJSON_GetStringValue(cJSON_GetArrayItem(path, 1)), "Freezer 2",
	       "  it is in Freezer 2");
	is_str(cJSON_GetStringValue(cJSON_GetArrayItem(path, 2)), "Shelf 2", "  on Shelf 2");
	is_int((long)jnum(&r, "moved.tubes", -1), 96, "  96 tubes moved with it");
	is_int((long)jnum(&r, "used", -1), 96, "  every position still used");
	resp_free(&r);
	is_int(events_now(t) - events, 96, "  96 events written");
	is_int(count_sql(t,
	                 "SELECT count(*) FROM events WHERE type = 'moved' AND from_box = 'R96'"
	                 " AND to_box = 'R96' AND from_pos = to_pos AND reason = 'freezer 1 alarm'"
	                 " AND details->'box_move'->'from'->>1 = 'Freezer 1'"
	                 " AND details->'box_move'->'to'->>2 = 'Shelf 2'"),
	       96, "  each a moved event: same box and position, the box move in its details");
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	         " WHERE s.id = '%s' AND b.barcode = 'R96' AND s.pos_row = 3 AND s.pos_col = 7",
	         one ? one : "");
	is_int(count_sql(t, sql), 1, "  a tube at C7 is still at C7");
	snprintf(sql, sizeof(sql), "/api/v1/specimens/%s", one ? one : "");
	api(t, "GET", sql, t->admin_token, NULL, &r);
	is_str(jstr(&r, "location.path.1"), "Freezer 2", "  and its location says Freezer 2");
	resp_free(&r);

	/* The tired technician: into the freezer it is already in. */
	events = events_now(t);
	move_box(t, "R96", body, tech_token, &r);
	ok(is_problem(&r, 409), "the same move again: 409");
	is_str(jstr(&r, "code"), "already-there", "  code already-there");
	ok(problem_names_field(&r, "to"), "  naming to");
	resp_free(&r);
	move_box(t, "R96", "{\"to\":999999}", tech_token, &r);
	ok(is_problem(&r, 400), "a location that does not exist: 400");
	is_str(jstr(&r, "code"), "unknown-location", "  code unknown-location");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"to\":%ld}", room);
	move_box(t, "R96", body, tech_token, &r);
	ok(is_problem(&r, 400), "a room, which holds no boxes: 400");
	is_str(jstr(&r, "code"), "location-nesting", "  code location-nesting");
	resp_free(&r);
	move_box(t, "R69", body, tech_token, &r);
	ok(is_problem(&r, 404), "a mistyped box: 404");
	is_str(jstr(&r, "code"), "box-not-found", "  code box-not-found");
	resp_free(&r);
	move_box(t, "R96", "{\"to\":\"Shelf 2\"}", tech_token, &r);
	ok(is_problem(&r, 400), "a location by name, not id: 400");
	resp_free(&r);
	is_int(events_now(t), events, "  no event written by any refusal");

	/* An open audit of the box holds it where it is. */
	api(t, "POST", "/api/v1/audits", t->admin_token, "{\"box\":\"R96\"}", &r);
	long audit = (long)jnum(&r, "id", -1);
	is_int(r.status, 201, "an audit of the rack opens");
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"to\":%ld}", location_id(t, "Rack 1"));
	move_box(t, "R96", body, tech_token, &r);
	ok(is_problem(&r, 409), "moving a box in an open audit: 409");
	is_str(jstr(&r, "code"), "box-in-audit", "  code box-in-audit");
	is_int((long)jnum(&r, "audit", -1), audit, "  naming the audit");
	resp_free(&r);
	rename_box(t, "R96", "{\"barcode\":\"R96-B\"}", NULL, &r);
	ok(is_problem(&r, 409), "renaming it: 409");
	is_str(jstr(&r, "code"), "box-in-audit", "  code box-in-audit");
	resp_free(&r);
	is_int(events_now(t), events, "  nothing written");
	snprintf(sql, sizeof(sql),
	         "UPDATE audits SET status = 'closed', closed_at = now(), report = '{}'"
	         " WHERE id = %ld",
	         audit);
	sql_exec(t, sql);

	/* A new barcode: the tubes do not move, the ledger follows the label. */
	rename_box(t, "R96", "{\"barcode\":\"R96-B\",\"reason\":\"label torn\"}", tech_token, &r);
	is_int(r.status, 403, "a technician renames a box: 403");
	resp_free(&r);
	rename_box(t, "R96", "{\"barcode\":\"BOX-B\"}", NULL, &r);
	ok(is_problem(&r, 409), "another box's barcode: 409");
	is_str(jstr(&r, "code"), "already-exists", "  code already-exists");
	resp_free(&r);
	rename_box(t, "R96", "{\"barcode\":\"R96\"}", NULL, &r);
	ok(is_problem(&r, 409), "its own barcode: 409");
	resp_free(&r);
	rename_box(t, "R96", "{\"barcode\":\"7HQF6WPE\"}", NULL, &r);
	ok(is_problem(&r, 400), "a barcode shaped like a specimen ID: 400");
	ok(problem_names_field(&r, "barcode"), "  naming barcode");
	resp_free(&r);
	is_int(events_now(t), events, "  nothing written");
	long stored_as_r96 = count_sql(t, "SELECT count(*) FROM events WHERE to_box = 'R96'");
	rename_box(t, "R96", "{\"barcode\":\"R96-B\",\"reason\":\"label torn\"}", NULL, &r);
	is_int(r.status, 200, "a manager gives the rack a new barcode: 200");
	is_str(jstr(&r, "barcode"), "R96-B", "  the box answers with it");
	is_int((long)jnum(&r, "renamed.tubes", -1), 96, "  96 tubes inside");
	resp_free(&r);
	is_int(count_sql(t, "SELECT count(*) FROM events WHERE type = 'moved' AND from_box = 'R96'"
	                    " AND to_box = 'R96-B' AND from_pos = to_pos"
	                    " AND details->'box_renamed'->>'to' = 'R96-B'"),
	       96, "  each tube a moved event from R96 to R96-B at its position");
	is_int(count_sql(t, "SELECT count(*) FROM events WHERE to_box = 'R96'"), stored_as_r96,
	       "  the events written before keep the barcode R96");
	is_int(count_sql(t, "SELECT count(*) FROM audit_log WHERE entity = 'box'"
	                    " AND action = 'update' AND before->>'barcode' = 'R96'"
	                    " AND after->>'barcode' = 'R96-B'"),
	       1, "  the audit log has the change, before and after");
	api(t, "GET", "/api/v1/boxes/R96", t->admin_token, NULL, &r);
	is_int(r.status, 404, "  GET /boxes/R96: 404");
	resp_free(&r);
	snprintf(sql, sizeof(sql), "/api/v1/specimens/%s", one ? one : "");
	api(t, "GET", sql, t->admin_token, NULL, &r);
	is_str(jstr(&r, "location.box"), "R96-B", "  a tube inside is in R96-B");
	is_str(jstr(&r, "location.position"), "C7", "  at C7 as before");
	resp_free(&r);
	free(one);
	ledger_clean(t, "after the move and the new barcode");
}

/* A box two studies share: a technician of one study does not move the other's tube. */
static void
shared_box(struct tenv *t)
{
	char m[16], s[16], body[128];
	struct resp r;

	if (!world_register(t, "MASC", "P001", "plasma", m) ||
	    !world_register(t, "SSC", "S001", "plasma", s))
		return;
	world_act(t, m, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}", NULL, &r);
	resp_free(&r);
	world_act(t, s, "store", "{\"box\":\"BOX-A\",\"position\":\"A2\"}", NULL, &r);
	resp_free(&r);
	long events = events_now(t);
	snprintf(body, sizeof(body), "{\"to\":%ld}", location_id(t, "Shelf 2"));
	move_box(t, "BOX-A", body, masc_token, &r);
	ok(is_problem(&r, 409), "a MASC technician moves a box holding an SSC tube: 409");
	is_str(jstr(&r, "code"), "box-holds-other-studies", "  code box-holds-other-studies");
	ok(r.body != NULL && strstr(r.body, s) == NULL, "  without naming the other study's tube");
	resp_free(&r);
	is_int(events_now(t), events, "  nothing written");
	move_box(t, "BOX-A", body, tech_token, &r);
	is_int(r.status, 200, "a technician of every study moves it: 200");
	resp_free(&r);
	move_box(t, "TINY", body, masc_token, &r);
	is_int(r.status, 200, "the MASC technician moves an empty box: 200");
	resp_free(&r);
}

/* 3 a.m.: Freezer 3 fails; its 100 boxes go to Freezer 4 and Rack 1 in one request. */
static void
evacuation(struct tenv *t)
{
	long rack3 = location_id(t, "Rack 3A"), shelf4 = location_id(t, "Shelf 4A");
	long rack1 = location_id(t, "Rack 1"), room = location_id(t, "Room 9");
	char code[16];
	struct bb_buf ok_body = { 0 }, bad = { 0 };
	struct resp r;

	for (int i = 1; i <= 100; i++) {
		snprintf(code, sizeof(code), "EV%03d", i);
		if (!full_box(t, code, 9, 9, rack3, 10))
			return;
	}
	bb_buf_puts(&ok_body, "{\"reason\":\"freezer 3 failed\",\"moves\":[");
	bb_buf_puts(&bad, "{\"reason\":\"freezer 3 failed\",\"moves\":[");
	for (int i = 1; i <= 100; i++) {
		bb_buf_printf(&ok_body, "%s{\"box\":\"EV%03d\",\"to\":%ld}", i > 1 ? "," : "", i,
		              i <= 60 ? shelf4 : rack1);
		if (i <= 97)
			bb_buf_printf(&bad, "%s{\"box\":\"EV%03d\",\"to\":%ld}", i > 1 ? "," : "",
			              i, i <= 60 ? shelf4 : rack1);
	}
	/* Written at 3 a.m.: the last three lines of the list are wrong. */
	bb_buf_printf(&bad,
	              ",{\"box\":\"EV007\",\"to\":%ld},{\"box\":\"EV999\",\"to\":%ld},"
	              "{\"box\":\"BOX-B\",\"to\":%ld}]}",
	              shelf4, shelf4, room);
	bb_buf_puts(&ok_body, "]}");

	long events = events_now(t);
	api(t, "POST", "/api/v1/box-moves", tech_token, bad.data, &r);
	ok(is_problem(&r, 400), "100 moves, three of them wrong: 400");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "errors")), 3, "  all three named");
	ok(names_with_code(&r, "moves[97].box", "listed-twice"), "  EV007 listed twice");
	ok(names_with_code(&r, "moves[98].box", "unknown-box"), "  EV999 unknown");
	ok(names_with_code(&r, "moves[99].to", "location-nesting"), "  a room holds no boxes");
	resp_free(&r);
	is_int(events_now(t), events, "  no event written");
	is_int(sql_intf(t, "SELECT count(*) FROM boxes WHERE location_id = %ld", rack3), 100,
	       "  every box still in Freezer 3");

	long long t0 = mono_ms();
	api(t, "POST", "/api/v1/box-moves", tech_token, ok_body.data, &r);
	long long ms = mono_ms() - t0;
	is_int(r.status, 200, "the corrected request: 200");
	is_int((long)jnum(&r, "boxes", -1), 100, "  100 boxes moved");
	is_int((long)jnum(&r, "tubes", -1), 1000, "  with their 1000 tubes");
	is_str(jstr(&r, "items.0.to.2"), "Shelf 4A", "  EV001 to Shelf 4A");
	is_str(jstr(&r, "items.99.to.2"), "Rack 1", "  EV100 to Rack 1");
	ok(ms < 30000, "  in one transaction of %lld ms", ms);
	resp_free(&r);
	is_int(events_now(t) - events, 1000, "  1000 events");
	is_int(count_sql(t, "SELECT count(*) FROM events WHERE type = 'moved'"
	                    " AND details->'box_move'->'from'->>1 = 'Freezer 3'"
	                    " AND reason = 'freezer 3 failed'"),
	       1000, "  each naming the box move out of Freezer 3");
	is_int(sql_intf(t, "SELECT count(*) FROM boxes WHERE location_id = %ld", shelf4), 60,
	       "  60 boxes on Shelf 4A");

	events = events_now(t);
	api(t, "POST", "/api/v1/box-moves", tech_token, ok_body.data, &r);
	ok(is_problem(&r, 409), "the same request sent again: 409");
	is_str(jstr(&r, "code"), "already-there", "  code already-there");
	resp_free(&r);
	is_int(events_now(t), events, "  nothing written");

	struct bb_buf big = { 0 };
	bb_buf_puts(&big, "{\"moves\":[");
	for (int i = 0; i < 101; i++)
		bb_buf_printf(&big, "%s{\"box\":\"EV%03d\",\"to\":%ld}", i ? "," : "", i % 100 + 1,
		              rack3);
	bb_buf_puts(&big, "]}");
	api(t, "POST", "/api/v1/box-moves", tech_token, big.data, &r);
	ok(is_problem(&r, 400), "101 moves in one request: 400");
	ok(problem_names_field(&r, "moves"), "  naming moves");
	resp_free(&r);
	bb_buf_free(&big);
	bb_buf_free(&ok_body);
	bb_buf_free(&bad);
	ledger_clean(t, "after the evacuation");
}

/*
 * A box renamed while a technician moves one of its tubes to another box,
 * and moved while another tube is checked out: whichever comes first, the
 * ledger's replay agrees with where every tube is.
 */
struct job {
	struct tenv *t;
	const char *path, *body;
	long status;
};

static void *
run_job(void *arg)
{
	struct job *j = arg;
	struct resp r;

	api(j->t, "POST", j->path, j->t->admin_token, j->body, &r);
	j->status = r.status;
	resp_free(&r);
	return NULL;
}

static void
races(struct tenv *t)
{
	char body[128], path_a[96], path_b[96], ids[2][16];
	struct resp r;

	if (!full_box(t, "RACE-1", 9, 9, location_id(t, "Rack 1"), 20))
		return;
	for (int k = 0; k < 2; k++) {
		char *v =
		    sql_value(t,
		              k == 0 ? "SELECT s.id FROM specimens s JOIN boxes b ON b.id ="
		                       " s.box_id WHERE b.barcode = 'RACE-1' AND s.pos_row = 1"
		                       " AND s.pos_col = 1"
		                     : "SELECT s.id FROM specimens s JOIN boxes b ON b.id ="
		                       " s.box_id WHERE b.barcode = 'RACE-1' AND s.pos_row = 1"
		                       " AND s.pos_col = 2",
		              &(bool){ false });
		snprintf(ids[k], sizeof(ids[k]), "%s", v ? v : "");
		free(v);
	}
	snprintf(path_a, sizeof(path_a), "/api/v1/specimens/%s/move", ids[0]);
	struct job jobs[2] = {
		{ t, "/api/v1/boxes/RACE-1/rename", "{\"barcode\":\"RACE-2\"}", 0 },
		{ t, path_a, "{\"box\":\"BOX-B\",\"position\":\"I9\"}", 0 },
	};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, run_job, &jobs[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ok(jobs[0].status == 200 && jobs[1].status == 200,
	   "a rename racing a tube's move out of the box: both done (%ld, %ld)", jobs[0].status,
	   jobs[1].status);
	is_int(count_sql(t, "SELECT count(*) FROM specimens s JOIN boxes b ON b.id = s.box_id"
	                    " WHERE b.barcode = 'RACE-2'"),
	       19, "  19 tubes in the renamed box");

	snprintf(path_b, sizeof(path_b), "/api/v1/specimens/%s/checkout", ids[1]);
	snprintf(body, sizeof(body), "{\"to\":%ld}", location_id(t, "Shelf 4A"));
	struct job jobs2[2] = {
		{ t, "/api/v1/boxes/RACE-2/move", body, 0 },
		{ t, path_b, "{\"reason\":\"assay\"}", 0 },
	};
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, run_job, &jobs2[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ok(jobs2[0].status == 200 && jobs2[1].status == 200,
	   "a box move racing a checkout from it: both done (%ld, %ld)", jobs2[0].status,
	   jobs2[1].status);
	api(t, "GET", "/api/v1/boxes/RACE-2", t->admin_token, NULL, &r);
	is_int((long)jnum(&r, "used", -1), 18, "  18 tubes moved with the box");
	resp_free(&r);
	ledger_clean(t, "after the races");
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "boxes", argc, argv);
	world_make(&t);
	static const char *const sql[] = {
		"INSERT INTO locations (parent_id, kind, name, temperature_c)"
		" SELECT id, 'freezer', f, -80 FROM locations, unnest(ARRAY['Freezer 2', 'Freezer "
		"3',"
		" 'Freezer 4']) f WHERE name = 'Main lab'",
		"INSERT INTO locations (parent_id, kind, name) SELECT id, 'shelf', 'Shelf 2'"
		" FROM locations WHERE name = 'Freezer 2'",
		"INSERT INTO locations (parent_id, kind, name) SELECT id, 'rack', 'Rack 3A'"
		" FROM locations WHERE name = 'Freezer 3'",
		"INSERT INTO locations (parent_id, kind, name) SELECT id, 'shelf', 'Shelf 4A'"
		" FROM locations WHERE name = 'Freezer 4'",
		"INSERT INTO locations (parent_id, kind, name) SELECT id, 'room', 'Room 9'"
		" FROM locations WHERE name = 'Main lab'",
	};
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		sql_exec(&t, sql[i]);
	if (make_user(&t, "tech", "technician", NULL, tech_token) != 0 ||
	    make_user(&t, "masc-tech", "technician", "[\"MASC\"]", masc_token) != 0)
		tap_bail("cannot make the users");
	rack96(&t);
	shared_box(&t);
	evacuation(&t);
	races(&t);
	tenv_teardown(&t);
	return tap_done();
}
