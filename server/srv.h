/*
 * srv.h — the daemon's core: the server, the per-request context, the
 * routing table and the reply helpers every handler uses.
 */
#ifndef SRV_H
#define SRV_H

#include "biobank.h"
#include "config.h"
#include "db.h"
#include "json_spec.h"

#include <signal.h>
#include <stdatomic.h>
#include <time.h>

struct MHD_Connection;
struct MHD_Response;
struct cJSON;
struct auth_cache;
struct metrics;
struct srv_printers;
struct sql_call;

enum role { ROLE_ADMIN, ROLE_MANAGER, ROLE_TECHNICIAN, ROLE_AUDITOR, ROLE_PRINTER, ROLE__MAX };

#define R(role) (1u << (role))
#define ROLES_ALL                                                                                  \
	(R(ROLE_ADMIN) | R(ROLE_MANAGER) | R(ROLE_TECHNICIAN) | R(ROLE_AUDITOR) | R(ROLE_PRINTER))
#define ROLES_PUBLIC 0u /* no token needed */
/*
 * Beside the roles of a route: what it reads or writes is limited to the
 * caller's studies. Only such a route may ask for them (req_studies); the
 * bindings of bind.h that pass STUDIES must be, and the authorization sweep
 * checks every route it limits by study is.
 */
#define STUDY_LIMITED (1u << 31)

const char *role_name(enum role r);
int role_parse(const char *name, enum role *out);

/* The authenticated caller. studies is a PostgreSQL array literal of study
 * ids ("{1,4}"), or empty when the user may see every study. */
struct auth_user {
	int64_t id;
	int64_t token_id;
	char username[65];
	enum role role;
	char studies[1024];
	time_t expires_at; /* 0: never */
};

/* Everything that lives for the daemon's life; made at start-up, then shared read-only
 * (the pool, cache and metrics lock internally). */
struct srv {
	const struct srv_config *cfg;
	struct db_pool *pool;
	struct auth_cache *auth;
	struct metrics *metrics;
	const struct srv_printers *printers; /* POST /api/v1/print (printers.c); NULL: none */
	atomic_bool stopping;                /* set on SIGTERM: answer with Connection: close */
	atomic_int active;                   /* requests begun and not yet completed */
	atomic_int deferring;                /* threads running deferred work (defer.c) */
	char dummy_hash[128];                /* verified against when a login names no user */
};

enum body_kind {
	BODY_NONE,     /* a body is ignored */
	BODY_JSON,     /* application/json, validated against the route's spec */
	BODY_JSON_CSV, /* JSON (validated), or text/csv or text/plain (raw, for the handler) */
};

struct srv_req;
typedef void (*handler_fn)(struct srv_req *r);
/* Deferred work (req_defer): the slow part, then the outcome recorded. */
typedef void (*req_work_fn)(void *arg);
typedef enum bb_err (*req_done_fn)(struct srv_req *r, void *arg);

struct route {
	const char *method;
	const char *pattern; /* "/api/v1/participants/:study/:code" */
	unsigned roles;      /* bitmask of R(role) (ROLES_PUBLIC needs no token), | STUDY_LIMITED */
	handler_fn handler;
	enum body_kind body;
	const struct bb_js_spec *spec;
	/*
	 * The query parameters the route reads, separated by spaces ("study
	 * limit cursor"); NULL: none; QUERY_ANY: not checked (static files). The
	 * dispatcher answers 400 naming every other one, so a mistyped filter
	 * never silently widens a list.
	 */
	const char *query;
	/* The SQL function it calls, when that is all it does (bind.h); handler is then NULL. */
	const struct sql_call *sql;
};

#define QUERY_ANY "*"

extern const struct route routes[];
extern const size_t route_count;

enum { ROUTE_PARAMS_MAX = 4 };

/* Whether name is one of the query parameters rt declares (route->query). */
bool route_reads_query(const struct route *rt, const char *name);

/* Find the route for method and path; *path_matched tells 404 from 405. */
const struct route *route_match(const char *method, const char *path, struct bb_arena *a,
                                const char **params, bool *path_matched);

/* The per-request context: created on the first callback, freed in one place. */
struct srv_req {
	struct srv *srv;
	struct MHD_Connection *conn;
	struct bb_arena arena;
	char id[17];
	const char *method;
	const char *path;
	const char *raw_uri; /* the request target as sent, before percent-decoding */
	const char *version; /* "HTTP/1.1" */
	struct timespec started;
	char client_addr[64];

	/* body */
	struct bb_buf body;
	bool body_too_large;
	const char *content_type;

	/* routing and input */
	const struct route *route;
	const char *params[ROUTE_PARAMS_MAX];
	struct bb_js_value *in; /* validated body, indexed like route->spec */
	struct cJSON *in_tree;
	bool authenticated;
	struct auth_user user;

	/* database */
	struct db_conn *db;

	/* response */
	unsigned status;
	char *resp_body; /* owned, freed with the request */
	size_t resp_len;
	const char *resp_type;
	const char *resp_headers[8]; /* name, value pairs, NULL-terminated; arena or static */
	struct MHD_Response *stream; /* a handler-built response (streaming), or NULL */
	bool side_effect; /* something left the process (a printer took labels): never re-run */
	bool keyed_unit;  /* ran as an Idempotency-Key's unit (idempotency.c) */

	/* deferred work (defer.c): set by req_defer, started once the answer stands */
	req_work_fn defer_work;
	req_done_fn defer_done;
	void *defer_arg;
	bool deferred; /* suspended: the work's thread owns the request until it resumes it */
};

/* Replies: each handler calls exactly one of these. */
void reply_json(struct srv_req *r, unsigned status, struct cJSON *body); /* takes body */
void reply_empty(struct srv_req *r, unsigned status);
void reply_raw(struct srv_req *r, unsigned status, const char *type, char *data, size_t len);
void reply_problem(struct srv_req *r, unsigned status, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A problem with a code of the table in reply.c (status and title from the table). */
void reply_problem_code(struct srv_req *r, const char *code, const char *title, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
void reply_invalid(struct srv_req *r, const struct bb_js_errors *errs);
void reply_invalid_field(struct srv_req *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The answer for a failed database call: 503, 409, 404, 400 or 500 as err
 * says. A refusal of our SQL functions answers with its code, field
 * (errors[].field) and facts (extension members); an error of PostgreSQL's
 * own with a code and words of ours, never PostgreSQL's message.
 */
void reply_db_error(struct srv_req *r, enum bb_err err);
/* The same, with title, telling the items of a refused list by names[item] (e.g. the lines of a
 * file) instead of their fields in the JSON body. */
void reply_db_error_items(struct srv_req *r, enum bb_err err, const char *title,
                          const char *const *names, size_t n);
void reply_header(struct srv_req *r, const char *name, const char *value);
/* Forget the reply, its headers included, before a handler is run again (idempotency.c). */
void reply_reset(struct srv_req *r);

/* Build the JSON text of a problem, with the generic code of its status (also used by the unit
 * tests). */
char *problem_json(unsigned status, const char *title, const char *detail,
                   const struct bb_js_errors *errs);

/* The stable problem codes: code, HTTP status, default title (reply.c; docs/api.md). */
struct problem_code {
	const char *code;
	unsigned status;
	const char *title;
};
const struct problem_code *problem_code_find(const char *code);   /* NULL: not in the table */
const struct problem_code *problem_code_generic(unsigned status); /* e.g. 404: not-found */
const struct problem_code *problem_code_at(size_t i);             /* NULL past the end */

/* The problem object for a database error (state, message and diagnostic fields); the caller
 * owns it. No PostgreSQL message text reaches it. */
struct cJSON *problem_from_db(const char *state, const char *message, const struct db_diag *d);

/* The caller's studies as a SQL parameter: NULL (all studies) or "{1,4}". On a
 * route not declared STUDY_LIMITED this is our bug: logged, and "{}" (no study,
 * nothing visible) is returned so that it fails closed. */
const char *req_studies(struct srv_req *r);
/* The caller's user name and id, as SQL parameters for the ledger and audit log. */
const char *req_actor(struct srv_req *r);
const char *req_actor_id(struct srv_req *r);

/* Reply with JSON text made elsewhere (e.g. by PostgreSQL); the text is copied. */
void reply_json_text(struct srv_req *r, unsigned status, const char *json);

/*
 * Run one statement that returns one JSON value (a SQL function doing a
 * whole action) and reply with it as status; errors become problems.
 * Retries serialization failures. The common body of most write handlers.
 */
/*
 * The same call without the reply: the result, holding one non-NULL value,
 * which the caller PQclear()s; NULL after replying with the problem.
 */
PGresult *function_answer(struct srv_req *r, const char *stmt, int nparams,
                          const char *const *params);
void reply_from_function(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                         const char *const *params);
/* The same for a report that reads every specimen: in a transaction of its
 * own without the per-statement timeout (db_long_statements). */
void reply_from_report(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                       const char *const *params);

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

/* The request's database connection, acquired on first use. On failure
 * replies 503 itself and returns NULL. */
struct db_conn *req_db(struct srv_req *r);

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
