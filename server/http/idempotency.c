/*
 * idempotency.c — the request's transaction runner: a keyed POST's claim,
 * handler and stored answer as one retried unit; replay of POSTs sent
 * again with the same Idempotency-Key.
 */
#include "http/idempotency.h"

#include "cmd/config.h"
#include "http/log.h"
#include "http/reply.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt db_idempotency_statements[] = {
	/* A key whose answer expired (idempotency_ttl) is claimed afresh, as if it were new. */
	{ "db_idem_claim",
	  "INSERT INTO idempotency_keys AS k (user_id, key, request_hash)"
	  " VALUES ($1, $2, $3::bytea)"
	  " ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash,"
	  "   status = NULL, content_type = NULL, body = NULL, withheld = false, created_at = now()"
	  " WHERE k.created_at <= now() - make_interval(secs => $4::int)"
	  " RETURNING 1" },
	{ "db_idem_get", "SELECT encode(request_hash, 'hex'), status, content_type, body, withheld"
	                 "  FROM idempotency_keys WHERE user_id = $1 AND key = $2" },
	{ "db_idem_store",
	  "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5, withheld = $6"
	  " WHERE user_id = $1 AND key = $2" },
	{ NULL, NULL },
};

/* A length before each part, so that no two different requests hash the same parts. */
static void
hash_part(crypto_hash_sha256_state *st, const char *tag, const void *p, size_t n)
{
	unsigned char len[8];

	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	crypto_hash_sha256_update(st, (const unsigned char *)tag, 1);
	crypto_hash_sha256_update(st, len, sizeof(len));
	if (n > 0)
		crypto_hash_sha256_update(st, p, n);
}

static enum MHD_Result
hash_argument(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
              const char *value, size_t value_size)
{
	crypto_hash_sha256_state *st = cls;

	(void)kind;
	hash_part(st, "k", key, key_size);
	/* "?a" (no value) and "?a=" (an empty one) are told apart. */
	if (value != NULL)
		hash_part(st, "v", value, value_size);
	return MHD_YES;
}

/*
 * The body as it is hashed: as sent, unless the route's body has secret
 * fields (passwords, BB_JS_SECRET). Then it is the parsed body without
 * them, printed again (caller frees): an unsalted SHA-256 of a body that
 * holds a password would let whoever reads the table test guesses at the
 * speed of SHA-256 instead of Argon2id's. So a repeat that differs only in
 * a secret is the same request (and replays the first answer).
 */
static char *
hashed_body(struct srv_req *r, const char **data, size_t *len)
{
	const struct bb_js_spec *spec = r->route->spec;
	bool secret = false;

	*data = r->body.data;
	*len = r->body.len;
	for (size_t i = 0; spec != NULL && i < spec->count && !secret; i++)
		secret = spec->fields[i].name != NULL && (spec->fields[i].flags & BB_JS_SECRET);
	if (!secret || r->in_tree == NULL)
		return NULL;
	cJSON *copy = cJSON_Duplicate(r->in_tree, true);
	for (size_t i = 0; i < spec->count; i++)
		if (spec->fields[i].name != NULL && (spec->fields[i].flags & BB_JS_SECRET))
			cJSON_DeleteItemFromObjectCaseSensitive(copy, spec->fields[i].name);
	char *text = copy != NULL ? cJSON_PrintUnformatted(copy) : NULL;
	cJSON_Delete(copy);
	if (text == NULL) {
		fprintf(stderr, "fatal: out of memory printing a request body\n");
		abort();
	}
	*data = text;
	*len = strlen(text);
	return text;
}

/*
 * SHA-256 of the method, the path, the query and the body (hashed_body).
 *
 * The query is taken as the handlers read it: each argument in the order
 * received, name and value after percent-decoding ("?x=%31" is "?x=1"),
 * every part length-prefixed after a tag. The order counts (a handler that
 * reads a repeated name gets the first), so "?a=1&b=2" and "?b=2&a=1" are
 * different requests.
 *
 * Without a query the hash keeps the form of the keys stored before the
 * query counted, method NUL path NUL body (unambiguous: neither holds a
 * NUL), so that a client's retry across an upgrade still replays. The form
 * with a query begins with a byte no method begins with, so the two forms
 * never meet.
 */
/* A spooled body (BODY_FILE) is the body: the same key with another file is another request. */
static void
hash_spool(crypto_hash_sha256_state *st, FILE *f)
{
	unsigned char buf[65536];
	size_t n;

	rewind(f);
	crypto_hash_sha256_update(st, (const unsigned char *)"f", 1);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		crypto_hash_sha256_update(st, buf, n);
	rewind(f);
}

static void
request_hash(struct srv_req *r, char out[2 * crypto_hash_sha256_BYTES + 3])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];

	const char *body;
	size_t body_len;
	char *redacted = hashed_body(r, &body, &body_len);

	crypto_hash_sha256_init(&st);
	if (MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) == 0) {
		crypto_hash_sha256_update(&st, (const unsigned char *)r->method,
		                          strlen(r->method) + 1);
		crypto_hash_sha256_update(&st, (const unsigned char *)r->path, strlen(r->path) + 1);
		if (body_len > 0)
			crypto_hash_sha256_update(&st, (const unsigned char *)body, body_len);
	} else {
		crypto_hash_sha256_update(&st, (const unsigned char *)"\x01", 1);
		hash_part(&st, "m", r->method, strlen(r->method));
		hash_part(&st, "p", r->path, strlen(r->path));
		MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, hash_argument, &st);
		hash_part(&st, "b", body, body_len);
	}
	if (r->spool != NULL)
		hash_spool(&st, r->spool);
	cJSON_free(redacted);
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
	if (PQgetvalue(res, 0, 4)[0] == 't') {
		reply_problem_code(r, "secret-not-replayed", NULL,
		                   "the request with the Idempotency-Key \"%s\" was done (%s), but "
		                   "its answer held a secret that is shown once and never kept; "
		                   "send the request again with a new key",
		                   key, PQgetvalue(res, 0, 1));
		reply_header(r, "Idempotent-Replayed", "true");
		return;
	}
	unsigned status = (unsigned)atoi(PQgetvalue(res, 0, 1));
	const char *type = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
	const char *body = PQgetvalue(res, 0, 3);
	reply_raw(r, status, type ? bb_arena_strdup(&r->arena, type) : NULL, bb_strdup(body),
	          strlen(body));
	reply_header(r, "Idempotent-Replayed", "true");
}

static void
run_handler(struct srv_req *r)
{
	req_reads_begin(r);
	r->route->handler(r);
	if (req_reads_lost(r)) {
		/* The reports database went away under a read: the primary answers instead. */
		reply_reset(r);
		r->route->handler(r);
	}
	if (r->resp_body == NULL && r->stream == NULL) {
		log_warnx("%s: handler for %s %s gave no reply", __func__, r->method,
		          r->route->pattern);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
	}
}

/*
 * Keep r's answer under its key (params: user id, key). An answer that
 * holds a secret keeps only its status: the secret must not rest in the
 * database, and a repeat must not hand out a live token again.
 */
static enum bb_err
store_answer(struct db_conn *c, struct srv_req *r, const char *const params[2])
{
	const char *store[] = {
		params[0],
		params[1],
		bb_arena_printf(&r->arena, "%u", r->status),
		r->secret_answer ? NULL : r->resp_type,
		r->secret_answer ? NULL
		: r->resp_body   ? r->resp_body
		                 : "",
		r->secret_answer ? "true" : "false",
	};

	return db_exec(c, "db_idem_store", 6, store, NULL);
}

/* One keyed request, as db_txn runs it. */
struct unit {
	struct srv_req *r;
	const char *params[4]; /* user id, key, request hash ("\\x..." for bytea), ttl */
	int runs;
	bool settled; /* the reply stands: roll back and send it */
};

/* Any error but BB_ERETRY makes db_txn roll back and stop; settled keeps the reply. */
static enum bb_err
settle(struct unit *u)
{
	u->settled = true;
	return BB_ECONFLICT;
}

static enum bb_err
unit_run(struct db_conn *c, void *arg)
{
	struct unit *u = arg;
	struct srv_req *r = u->r;
	PGresult *res;
	enum bb_err err;

	u->settled = false;
	if (u->runs++ > 0) {
		reply_reset(r);
		if (r->side_effect) {
			/* The first run reached a device, then its transaction was lost
			 * (storing the answer, or at COMMIT): a second run would act twice. */
			reply_db_error(r, BB_ERETRY);
			return settle(u);
		}
	}
	/* A concurrent request with the same key holds the row: this waits for its outcome. */
	if ((err = db_exec(c, "db_idem_claim", 4, u->params, &res)) != BB_OK)
		return err;
	bool claimed = PQntuples(res) == 1;
	PQclear(res);
	if (!claimed) {
		if ((err = db_exec(c, "db_idem_get", 2, u->params, &res)) != BB_OK)
			return err;
		if (PQntuples(res) == 1)
			replay(r, u->params[1], u->params[2], res);
		else
			reply_problem(r, 409, NULL,
			              "the Idempotency-Key was released meanwhile; send again");
		PQclear(res);
		return settle(u);
	}
	run_handler(r);
	/* The handler answered the deadlock itself (503); the lost transaction
	 * was the whole unit's, so the whole unit runs again. */
	if (db_txn_retryable(c) && !r->side_effect && r->stream == NULL)
		return BB_ERETRY;
	if (r->status < 200 || r->status > 299 || r->stream != NULL) {
		/* A failed request leaves nothing behind, its key included; a
		 * stream's body is not known here, so it is not kept either. */
		return settle(u);
	}
	/* The answer stands only once COMMIT succeeds: not settled. */
	return store_answer(c, r, u->params);
}

/*
 * Why one unit: the claim must be in the transaction that makes the
 * effect (a crash between them would either lose the effect's answer or
 * keep a key for an effect that never happened), and the handler's
 * statements run inside it, where a deadlock or serialization failure
 * aborts everything, the claim included. So the retry belongs to this
 * outermost unit, through the same loop (db_txn) as every other
 * transaction: each run starts with a fresh transaction and an empty
 * reply, claims again, runs the handler again from its validated input and
 * stores the new answer. Handlers that must not run twice are guarded:
 * one that acted outside the database sets r->side_effect and is never
 * re-run; a streamed answer (CSV export, GET only, so never keyed) is not
 * kept and not re-run. Both keep the old behaviour: the failure is
 * answered (503).
 *
 * A request whose effect needs a device (a printer) does not act inside
 * the unit at all: it records its intent (a print job) and defers the
 * device's part (req_defer). Its unit commits the claim, the intent and a
 * provisional answer (202, the job pending) together, so the work is only
 * begun for a claim that stands and a repeat, meanwhile or after a crash,
 * replays the provisional answer instead of acting again. idem_finish then
 * records the outcome and the final answer in a second unit; if that one
 * is lost, the key keeps the provisional answer, which is still true.
 */
/* 1 to BB_IDEMPOTENCY_KEY_MAX printable ASCII characters: a header value is
 * ASCII, and other bytes would reach PostgreSQL as broken text. */
static bool
key_sound(const char *key)
{
	size_t n = 0;

	for (; key[n] != '\0'; n++)
		if ((unsigned char)key[n] < 0x20 || (unsigned char)key[n] > 0x7E)
			return false;
	return n >= 1 && n <= BB_IDEMPOTENCY_KEY_MAX;
}

void
idem_run(struct srv_req *r)
{
	const char *key = req_header(r, "Idempotency-Key");
	char hash[2 * crypto_hash_sha256_BYTES + 3];
	struct db_conn *db;

	if (key == NULL || strcmp(r->method, "POST") != 0 || !r->authenticated) {
		/* The handler's own db_txn calls retry its transactions. */
		run_handler(r);
		return;
	}
	if (!key_sound(key)) {
		reply_problem(r, 400, NULL,
		              "Idempotency-Key must be 1 to %d printable ASCII characters",
		              BB_IDEMPOTENCY_KEY_MAX);
		return;
	}
	if ((db = req_db(r)) == NULL)
		return;
	request_hash(r, hash);
	struct unit u = {
		.r = r,
		.params = { req_actor_id(r), key, hash,
		            bb_arena_printf(&r->arena, "%u", r->srv->cfg->idempotency_ttl) },
	};
	r->keyed_unit = true;
	enum bb_err err = db_txn(db, unit_run, &u);
	if (err != BB_OK && !u.settled) {
		/* The effect was not committed: the client must not be told it was. */
		reply_reset(r);
		reply_db_error(r, err);
	}
}

/* The second half of a keyed request with deferred work, as db_txn runs it. */
struct finish {
	struct srv_req *r;
	const char *params[2]; /* user id, key */
	req_done_fn done;
	void *arg;
	bool done_ok; /* done's outcome is to commit: a failure after it is ours */
};

static enum bb_err
finish_run(struct db_conn *c, void *arg)
{
	struct finish *f = arg;
	struct srv_req *r = f->r;
	enum bb_err err;

	f->done_ok = false;
	reply_reset(r);
	if ((err = f->done(r, f->arg)) != BB_OK)
		return err; /* rolled back; done has answered, the key keeps the provisional answer
		             */
	f->done_ok = true;
	/* Whatever done answered (a printer's failure too) is the outcome recorded. */
	return store_answer(c, r, f->params);
}

void
idem_finish(struct srv_req *r, req_done_fn done, void *arg)
{
	struct db_conn *db;

	if (!r->keyed_unit) {
		reply_reset(r);
		done(r, arg); /* its own transaction */
		return;
	}
	reply_reset(r);
	if ((db = req_db(r)) == NULL)
		return;
	struct finish f = { .r = r,
		            .params = { req_actor_id(r), req_header(r, "Idempotency-Key") },
		            .done = done,
		            .arg = arg };
	enum bb_err err = db_txn(db, finish_run, &f);
	if (err != BB_OK && f.done_ok) {
		/* The outcome was not committed: the client must not be told it was. */
		reply_reset(r);
		reply_db_error(r, err);
	}
}
