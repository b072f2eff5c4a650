/* test_idempotency.c — Idempotency-Key: a replay has no second effect, also when concurrent. */
#include "world.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const body =
    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
    "\"timepoint\":\"m12\",\"collected_at\":\"2026-03-01T09:30:00Z\",\"aliquots\":2}";

static int
specimens(struct tenv *t)
{
	return (int)sql_int(t, "SELECT count(*) FROM specimens");
}

static void
post_key(struct tenv *t, const char *token, const char *path, const char *key, const char *json,
         struct resp *r)
{
	char h[300];

	snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
	const char *headers[] = { h, NULL };
	http_h(t->d.url, "POST", path, token, NULL, json, strlen(json), headers, r);
}

struct racer {
	struct tenv *t;
	long status;
	char id[16];
};

static void *
race(void *arg)
{
	struct racer *rc = arg;
	struct resp r;

	post_key(rc->t, rc->t->admin_token, "/api/v1/specimens", "race-key-1", body, &r);
	rc->status = r.status;
	snprintf(rc->id, sizeof(rc->id), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	resp_free(&r);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct resp r;
	char first[16] = "";

	tenv_setup(&t, "idempotency", argc, argv);
	world_make(&t);
	int before = specimens(&t);

	post_key(&t, t.admin_token, "/api/v1/specimens", "collect-2026-03-01-P001", body, &r);
	is_int(r.status, 201, "a registration with an Idempotency-Key");
	snprintf(first, sizeof(first), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	char *first_body = strdup(r.body);
	resp_free(&r);
	is_int(specimens(&t), before + 3, "  makes the specimen and its 2 aliquots");

	post_key(&t, t.admin_token, "/api/v1/specimens", "collect-2026-03-01-P001", body, &r);
	is_int(r.status, 201, "the same request again answers 201");
	is_str(r.body, first_body, "  with exactly the first answer");
	resp_free(&r);
	free(first_body);
	is_int(specimens(&t), before + 3, "  and makes nothing more");

	const char *other =
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P002\"},\"type\":\"serum\","
	    "\"timepoint\":\"m12\",\"collected_at\":\"2026-03-01T09:30:00Z\"}";
	post_key(&t, t.admin_token, "/api/v1/specimens", "collect-2026-03-01-P001", other, &r);
	ok(is_problem(&r, 422), "the same key with another body is a 422 problem");
	resp_free(&r);
	is_int(specimens(&t), before + 3, "  which makes nothing");

	/* The query string is part of the request: ?box= changes what a scan is about. */
	struct resp ar;
	api(&t, "POST", "/api/v1/audits", t.admin_token, "{\"box\":\"BOX-A\"}", &ar);
	char scans[80];
	snprintf(scans, sizeof(scans), "/api/v1/audits/%.0f/scans", jnum(&ar, "id", 0));
	resp_free(&ar);
	const char *hand = "{\"scans\":[{\"position\":\"A1\",\"barcode\":\"QUERY-TUBE-1\"}]}";
	char scan_path[160];
	snprintf(scan_path, sizeof(scan_path), "%s?box=BOX-A", scans);
	post_key(&t, t.admin_token, scan_path, "query-key", hand, &r);
	is_int(r.status, 200, "a keyed hand scan with ?box=BOX-A answers 200");
	resp_free(&r);
	long with_query = sql_int(&t, "SELECT count(*) FROM audit_scans");
	snprintf(scan_path, sizeof(scan_path), "%s?box=BOX-B", scans);
	post_key(&t, t.admin_token, scan_path, "query-key", hand, &r);
	ok(is_problem(&r, 422), "  the same key and body with ?box=BOX-B is a 422 problem");
	resp_free(&r);
	post_key(&t, t.admin_token, scans, "query-key", hand, &r);
	ok(is_problem(&r, 422), "  and so is the same key and body without a query");
	resp_free(&r);
	snprintf(scan_path, sizeof(scan_path), "%s?box=BOX%%2DA", scans);
	post_key(&t, t.admin_token, scan_path, "query-key", hand, &r);
	ok(r.status == 200 && strcmp(r.replayed, "true") == 0,
	   "  ?box=BOX%%2DA is ?box=BOX-A decoded: a replay (status %ld)", r.status);
	resp_free(&r);
	is_int(sql_int(&t, "SELECT count(*) FROM audit_scans"), with_query,
	       "  none of which scanned anything again");

	/* A key stored before the query counted (method NUL path NUL body) still replays. */
	bool ok_sql;
	char old[1024];
	snprintf(old, sizeof(old),
	         "INSERT INTO idempotency_keys (user_id, key, request_hash, status, content_type,"
	         " body) SELECT id, 'stored-by-0.x', sha256('POST'::bytea || '\\x00'::bytea"
	         " || '/api/v1/specimens'::bytea || '\\x00'::bytea || convert_to('%s', 'UTF8')),"
	         " 201, 'application/json', '{\"id\":\"OLDANSWR\"}' FROM users"
	         " WHERE username = 'admin'",
	         body);
	free(sql_value(&t, old, &ok_sql));
	post_key(&t, t.admin_token, "/api/v1/specimens", "stored-by-0.x", body, &r);
	ok(ok_sql && r.status == 201 && strcmp(r.replayed, "true") == 0 && jstr(&r, "id") &&
	       strcmp(jstr(&r, "id"), "OLDANSWR") == 0,
	   "a key stored by an earlier version replays its answer (status %ld)", r.status);
	resp_free(&r);

	/* Eight at once with one key: one effect, eight identical answers. */
	struct racer rc[8];
	pthread_t th[8];
	int mid = specimens(&t);
	for (int i = 0; i < 8; i++) {
		rc[i] = (struct racer){ &t, 0, "" };
		pthread_create(&th[i], NULL, race, &rc[i]);
	}
	bool same = true;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		same = same && rc[i].status == 201 && strcmp(rc[i].id, rc[0].id) == 0;
	}
	ok(same, "eight concurrent replays all answer 201 with the same specimen (%s)", rc[0].id);
	is_int(specimens(&t), mid + 3, "  and only one registration happened");

	/* A failed request does not use up its key. */
	post_key(&t, t.admin_token, "/api/v1/specimens", "retry-after-fix",
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"nope\","
	         "\"timepoint\":\"m12\",\"collected_at\":\"2026-03-01T09:30:00Z\"}",
	         &r);
	is_int(r.status, 400, "a failing request with a key answers 400");
	resp_free(&r);
	post_key(&t, t.admin_token, "/api/v1/specimens", "retry-after-fix", body, &r);
	is_int(r.status, 201, "  and the corrected request may use the key");
	resp_free(&r);

	/* A custody action replayed writes one event. */
	char path[96], q[160];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", first);
	for (int i = 0; i < 3; i++) {
		post_key(&t, t.admin_token, path, "store-once",
		         "{\"box\":\"BOX-A\",\"position\":\"E5\"}", &r);
		if (i == 2)
			is_int(r.status, 200, "a store sent three times answers 200 each time");
		resp_free(&r);
	}
	snprintf(q, sizeof(q),
	         "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = 'stored'", first);
	char *n = sql_value(&t, q, &ok_sql);
	is_str(n, "1", "  and writes one event");
	free(n);

	char longkey[260];
	memset(longkey, 'k', 201);
	longkey[201] = '\0';
	post_key(&t, t.admin_token, "/api/v1/specimens", longkey, body, &r);
	ok(is_problem(&r, 400), "a key over 200 characters is a 400");
	resp_free(&r);
	/* A client library that sends raw bytes: answered in our words, nothing stored. */
	post_key(&t, t.admin_token, "/api/v1/specimens", "k\xff\xfe-1", body, &r);
	ok(is_problem(&r, 400) && strstr(r.body, "printable ASCII") != NULL &&
	       strstr(r.body, "UTF8") == NULL && strstr(r.body, "byte sequence") == NULL,
	   "a key that is not ASCII is a 400 in our words, not PostgreSQL's");
	resp_free(&r);

	/* Keys belong to their user. */
	char tech[128];
	api(&t, "POST", "/api/v1/users", t.admin_token,
	    "{\"username\":\"tina\",\"password\":\"bench-password\",\"role\":\"technician\"}", &r);
	resp_free(&r);
	login(&t, "tina", "bench-password", tech);
	post_key(&t, tech, "/api/v1/specimens", "collect-2026-03-01-P001", body, &r);
	ok(r.status == 201 && jstr(&r, "id") && strcmp(jstr(&r, "id"), first) != 0,
	   "another user's same key is another request");
	resp_free(&r);

	tenv_teardown(&t);
	return tap_done();
}
