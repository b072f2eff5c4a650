/* idempotency.c — replay of POSTs sent again with the same Idempotency-Key. */
#include "idempotency.h"

#include "log.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt db_idempotency_statements[] = {
	{ "db_idem_claim",
	  "INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3::bytea)"
	  " ON CONFLICT DO NOTHING RETURNING 1" },
	{ "db_idem_get",
	  "SELECT encode(request_hash, 'hex'), status, content_type, body FROM idempotency_keys"
	  " WHERE user_id = $1 AND key = $2" },
	{ "db_idem_store", "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5"
	                   " WHERE user_id = $1 AND key = $2" },
	{ NULL, NULL },
};

static void
request_hash(struct srv_req *r, char out[2 * crypto_hash_sha256_BYTES + 3])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)r->method, strlen(r->method) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)r->path, strlen(r->path) + 1);
	if (r->body.len > 0)
		crypto_hash_sha256_update(&st, (const unsigned char *)r->body.data, r->body.len);
	crypto_hash_sha256_final(&st, h);
	out[0] = '\\';
	out[1] = 'x';
	bb_hex_encode(out + 2, h, sizeof(h));
}

static void
replay(struct srv_req *r, const char *key, const char *hash_hex, PGresult *res)
{
	if (strcmp(PQgetvalue(res, 0, 0), hash_hex + 2) != 0) {
		reply_problem(r, 422, NULL,
		              "the Idempotency-Key \"%s\" was used for another request", key);
		return;
	}
	if (PQgetisnull(res, 0, 1)) {
		/* Only answered requests keep their key; this cannot be seen committed. */
		reply_problem(r, 409, NULL, "the request with this Idempotency-Key is in progress");
		return;
	}
	unsigned status = (unsigned)atoi(PQgetvalue(res, 0, 1));
	const char *type = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
	const char *body = PQgetvalue(res, 0, 3);
	reply_raw(r, status, type ? bb_arena_strdup(&r->arena, type) : NULL, bb_strdup(body),
	          strlen(body));
	reply_header(r, "Idempotent-Replayed", "true");
}

enum idem_state
idem_begin(struct srv_req *r)
{
	const char *key = req_header(r, "Idempotency-Key");
	char hash[2 * crypto_hash_sha256_BYTES + 3];
	struct db_conn *db;
	PGresult *res;
	enum bb_err err;

	if (key == NULL || strcmp(r->method, "POST") != 0 || !r->authenticated)
		return IDEM_NONE;
	if (*key == '\0' || strlen(key) > BB_IDEMPOTENCY_KEY_MAX) {
		reply_problem(r, 400, NULL, "Idempotency-Key must be 1 to %d characters",
		              BB_IDEMPOTENCY_KEY_MAX);
		return IDEM_DONE;
	}
	if ((db = req_db(r)) == NULL)
		return IDEM_DONE;
	request_hash(r, hash);
	const char *uid = req_actor_id(r);
	const char *params[] = { uid, key, hash };
	if ((err = db_begin(db)) != BB_OK) {
		reply_db_error(r, err);
		return IDEM_DONE;
	}
	/* A concurrent request with the same key holds the row: this waits for its outcome. */
	if ((err = db_exec(db, "db_idem_claim", 3, params, &res)) != BB_OK) {
		db_rollback(db);
		reply_db_error(r, err);
		return IDEM_DONE;
	}
	bool claimed = PQntuples(res) == 1;
	PQclear(res);
	if (claimed)
		return IDEM_FRESH;
	err = db_exec(db, "db_idem_get", 2, params, &res);
	db_rollback(db);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return IDEM_DONE;
	}
	if (PQntuples(res) == 1)
		replay(r, key, hash, res);
	else
		reply_problem(r, 409, NULL,
		              "the Idempotency-Key was released meanwhile; send again");
	PQclear(res);
	return IDEM_DONE;
}

void
idem_finish(struct srv_req *r)
{
	struct db_conn *db = r->db;
	enum bb_err err;

	if (db == NULL || !db_in_txn(db))
		return;
	if (r->status < 200 || r->status > 299 || r->stream != NULL) {
		/* A failed request leaves nothing behind, its key included. */
		db_rollback(db);
		return;
	}
	const char *params[] = {
		req_actor_id(r),
		req_header(r, "Idempotency-Key"),
		bb_arena_printf(&r->arena, "%u", r->status),
		r->resp_type,
		r->resp_body ? r->resp_body : "",
	};
	err = db_exec(db, "db_idem_store", 5, params, NULL);
	if (err == BB_OK)
		err = db_commit(db);
	else
		db_rollback(db);
	if (err != BB_OK) {
		/* The effect was not committed: the client must not be told it was. */
		free(r->resp_body);
		r->resp_body = NULL;
		r->status = 0;
		reply_db_error(r, err);
	}
}
