/*
 * server.h — the daemon's HTTP core: the server's lasting state, the
 * per-request context, and what a handler asks of its request (database
 * connection, parameters, caller, deferred work). server.c holds the
 * libmicrohttpd glue that dispatches each request.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include "biobank.h"
#include "db/db.h"
#include "http/router.h"
#include "json_spec.h"

#include <signal.h>
#include <stdatomic.h>
#include <time.h>

struct MHD_Connection;
struct srv_config;
struct MHD_Response;
struct cJSON;
struct auth_cache;
struct metrics;
struct srv_printers;
struct srv_templates;
struct workpool;
struct workpool_lease;
struct conns;
struct note_key;
struct oidc;
struct group_map;
struct readpool;

/* The authenticated caller. studies is a PostgreSQL array literal of study
 * ids ("{1,4}"), or empty when the user may see every study. */
struct auth_user {
	int64_t id;
	int64_t token_id;
	char username[65];
	enum role role;
	char studies[1024];
	time_t expires_at; /* 0: never */
	/* A session of an account whose password an admin set: it may only change it
	 * (route_open_before_password_change). Service tokens never carry it. */
	bool password_change_required;
};

/* Everything that lives for the daemon's life; made at start-up, then shared read-only
 * (the pool, cache and metrics lock internally). */
struct srv {
	const struct srv_config *cfg;
	struct db_pool *pool;
	struct readpool *reports; /* reports_database's pool (http/readpool.h); NULL: none */
	struct auth_cache *auth;
	struct metrics *metrics;
	const struct srv_printers *printers; /* POST /api/v1/print (printers.c); NULL: none */
	const struct srv_templates *tpls;    /* the site's label templates; NULL: none */
	const struct note_key *ledger_key;   /* the log's signing key (ledger_key); NULL: none */
	const struct note_key *witnessed;    /* the logs this server witnesses (witness_logs) */
	size_t nwitnessed;                   /* how many */
	atomic_bool stopping;                /* set on SIGTERM: answer with Connection: close */
	atomic_int active;                   /* requests begun and not yet completed */
	atomic_int anonymous;                /* requests without a token running a handler */
	struct workpool *work;               /* long work (defer.c, workpool.h); made by srv_run */
	struct conns *conns;                 /* client connections (conns.h); made by srv_run */
	char dummy_hash[128];                /* verified against when a login names no user */
	struct oidc *oidc;                   /* the OpenID provider (http/oidc.h); NULL: none */
	const struct group_map *groups;      /* single sign-on's group map; NULL: none */
	/* Request IDs: the SipHash of a count under a key drawn at start-up, unique and
	 * unguessable without a getrandom(2) per request (one syscall in ten). */
	atomic_uint_fast64_t request_count;
	unsigned char request_key[16];
};

struct srv_req;
/* Deferred work (req_defer): the slow part, then the outcome recorded. */
typedef void (*req_work_fn)(void *arg);
typedef enum bb_err (*req_done_fn)(struct srv_req *r, void *arg);

/* The per-request context: created on the first callback, freed in one place. */
struct srv_req {
	struct srv *srv;
	struct MHD_Connection *conn;
	struct bb_arena arena;
	char id[17];
	const char *method;
	const char *path;
	const char *raw_uri;  /* the request target as sent, before percent-decoding */
	unsigned uri_refused; /* 414 or 400 when the target is over our limits (uri_over_limits) */
	size_t uri_length, uri_params;
	const char *version; /* "HTTP/1.1" */
	struct timespec started;
	char client_addr[64];

	/* body */
	struct bb_buf body;
	bool body_too_large;
	const char *content_type;
	/* A BODY_FILE route's body, written to an unlinked temporary file as it
	 * arrives (import_limit bytes at most), never held in memory. */
	FILE *spool;
	size_t spool_len;

	/* routing and input */
	const struct route *route;
	const char *params[ROUTE_PARAMS_MAX];
	struct bb_js_value *in; /* validated body, indexed like route->spec */
	struct cJSON *in_tree;
	bool authenticated;
	struct auth_user user;

	/* database */
	struct db_conn *db;
	struct db_pool *db_from; /* the pool db is given back to */
	/* The handler runs on a READS_STANDBY route: req_db takes from the reports
	 * database when it is fit (readpool.h). */
	bool reads_reports;

	/* response */
	unsigned status;
	char *resp_body; /* owned, freed with the request */
	size_t resp_len;
	const char *resp_type;
	/* name, value pairs (5 at most), NULL-terminated; arena or static */
	const char *resp_headers[12];
	struct MHD_Response *stream; /* a handler-built response (streaming), or NULL */
	bool side_effect; /* something left the process (a printer took labels): never re-run */
	bool keyed_unit;  /* ran as an Idempotency-Key's unit (idempotency.c) */
	/* The answer holds a secret (a new token, auth_token_issue): never kept for replay. */
	bool secret_answer;

	/* deferred work (defer.c): set by req_defer, started once the answer stands */
	req_work_fn defer_work;
	req_done_fn defer_done;
	void *defer_arg;
	bool deferred;     /* suspended: the work's thread owns the request until it resumes it */
	bool long_pending; /* a LONG_WORK route's handler, still to run on the long-work pool */
};

/* The caller's studies as a SQL parameter: NULL (all studies) or "{1,4}". On a
 * route not declared STUDY_LIMITED this is our bug: logged, and "{}" (no study,
 * nothing visible) is returned so that it fails closed. */
const char *req_studies(struct srv_req *r);
/* The caller's user name and id, as SQL parameters for the ledger and audit log. */
const char *req_actor(struct srv_req *r);
const char *req_actor_id(struct srv_req *r);

/*
 * Slow work off the worker threads — a printer's network I/O — so that it
 * holds neither a worker nor a database connection nor a transaction.
 * After the handler returns, and only if its answer stands (its
 * transaction, and a keyed request's whole unit, committed; reply_reset
 * forgets the work), the request's database connection is given back, the
 * HTTP connection suspended and a thread runs work(arg), which touches
 * neither the database nor the request. Then, on that thread, done(r, arg)
 * records the outcome and replies afresh (the handler's reply is the
 * provisional answer, which an Idempotency-Key keeps until done's is
 * stored); it returns BB_OK when its writes are to commit, with the new
 * answer stored under the key in the same transaction. Then the
 * connection resumes and the answer goes out. done runs whether or not the
 * client is still there, so an outcome is never left unrecorded for want
 * of a listener.
 */
void req_defer(struct srv_req *r, req_work_fn work, req_done_fn done, void *arg);

/*
 * For a handler on the long-work pool (a LONG_WORK route) whose answer goes
 * on working after it returns, as it is sent (a streamed export): the
 * pool's slot stays taken until req_slot_release(lease), so that such
 * answers count against the pool's bound. NULL (nothing to release) when
 * the handler does not run on the pool.
 */
struct workpool_lease *req_keep_slot(struct srv_req *r);
void req_slot_release(struct workpool_lease *lease);

/* The request's database connection, acquired on first use. On failure
 * replies 503 itself and returns NULL. */
struct db_conn *req_db(struct srv_req *r);
/* Give the request's connection back, if it holds one (to the pool it came from). */
void req_db_release(struct srv_req *r);

/*
 * Around a handler (idempotency.c's run_handler, the one place handlers
 * run). req_reads_begin decides where the handler reads: on a route marked
 * READS_STANDBY (router.h), with a reports database set, the primary's
 * connection (the token's check) is given back and req_db takes from the
 * reports database. req_reads_lost is true when the reports database was
 * lost under the handler and nothing has gone out: the answer is to be
 * reset and the handler run again, on the primary (it only reads).
 */
void req_reads_begin(struct srv_req *r);
bool req_reads_lost(struct srv_req *r);

/*
 * The path parameter i as a positive whole number (an object's id), as text
 * for a SQL parameter; NULL after answering 404 "no WHAT ..." when it is not one
 * (no such object can exist).
 */
const char *req_id_param(struct srv_req *r, int i, const char *what);

/* A query parameter, or NULL. */
const char *req_query(struct srv_req *r, const char *name);
/* A request header, or NULL. */
const char *req_header(struct srv_req *r, const char *name);

/*
 * Signals reach the daemon only through sigwait() in srv_run(): call this
 * before starting any thread, so that every thread inherits the mask.
 */
void srv_block_signals(sigset_t *sigs);

/* Serve until SIGTERM or SIGINT, then drain requests in flight (server.c). */
int srv_run(struct srv *s);

#endif
