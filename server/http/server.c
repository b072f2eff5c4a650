/*
 * server.c — libmicrohttpd glue: accept a request, collect its body within
 * the cap, route, authenticate, validate, run the handler, reply, log, and
 * free everything the request owned in one place.
 */
#include "cmd/config.h"
#include "http/acceptor.h"
#include "http/auth.h"
#include "api/api.h"
#include "api/fhir.h"
#include "http/conns.h"
#include "http/csv.h"
#include "http/defer.h"
#include "http/idempotency.h"
#include "http/log.h"
#include "http/metrics.h"
#include "http/readpool.h"
#include "http/reply.h"
#include "http/shutdown.h"
#include "http/uri.h"
#include "http/workpool.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

/*
 * Memory libmicrohttpd gives each connection for its request head, the
 * parsed headers and query parameters, and the answer's head. Every
 * request within our limits fits: a target of BB_URL_LIMIT (16 KiB), its
 * URI_PARAMS_MAX parameters at 64 bytes of bookkeeping each (4 KiB), and
 * headers up to some 40 KiB. A larger head is refused by libmicrohttpd
 * itself (414 or 431) as soon as it outgrows this. Its default (32 KiB)
 * was too small for our own URL limit, and 600 parameters of a 4 KiB
 * query used it up (see on_uri).
 */
#define CONNECTION_MEMORY (64u * 1024u)

const char *
req_query(struct srv_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
req_header(struct srv_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
req_id_param(struct srv_req *r, int i, const char *what)
{
	int64_t id;

	/* At most 2^53 - 1, so that every id stays exact as a JSON number; one
	 * spelling per object, so no leading zero. */
	if (r->params[i][0] == '0' || !bb_parse_int64(r->params[i], 1, 9007199254740991LL, &id)) {
		reply_problem(r, 404, NULL, "no %s %s", what, r->params[i]);
		return NULL;
	}
	return bb_arena_printf(&r->arena, "%lld", (long long)id);
}

const char *
req_studies(struct srv_req *r)
{
	if (r->route == NULL || !(r->route->roles & STUDY_LIMITED)) {
		log_warnx("%s: %s %s reads the caller's studies but is not STUDY_LIMITED in "
		          "router.c: nothing is shown",
		          __func__, r->method, r->route ? r->route->pattern : r->path);
		return "{}";
	}
	return r->user.studies[0] ? r->user.studies : NULL;
}

const char *
req_actor(struct srv_req *r)
{
	return r->user.username;
}

const char *
req_actor_id(struct srv_req *r)
{
	return bb_arena_printf(&r->arena, "%lld", (long long)r->user.id);
}

struct db_conn *
req_db(struct srv_req *r)
{
	enum bb_err err;

	if (r->db != NULL)
		return r->db;
	if (r->reads_reports) {
		err = readpool_take(r->srv->reports, r->srv->pool, &r->db, &r->db_from);
	} else {
		r->db_from = r->srv->pool;
		err = db_acquire(r->srv->pool, &r->db);
	}
	if (err != BB_OK) {
		r->db = NULL;
		reply_db_error(r, BB_EDBDOWN);
		return NULL;
	}
	return r->db;
}

void
req_db_release(struct srv_req *r)
{
	if (r->db == NULL)
		return;
	db_release(r->db_from, r->db);
	r->db = NULL;
}

/*
 * The one decision of what may be read from the reports database: a GET of
 * a route marked READS_STANDBY, and of a route that is long only as CSV
 * (the specimen list), only its CSV export (the list itself is read right
 * after the bench's writes, and must show them).
 */
static bool
route_reads_reports(struct srv_req *r)
{
	unsigned f = r->route->roles;

	if (r->srv->reports == NULL || !(f & READS_STANDBY) ||
	    (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0))
		return false;
	return !(f & LONG_CSV) || csv_wanted(r);
}

void
req_reads_begin(struct srv_req *r)
{
	if (!route_reads_reports(r))
		return;
	req_db_release(r);
	r->reads_reports = true;
}

bool
req_reads_lost(struct srv_req *r)
{
	if (!r->reads_reports || r->db == NULL || r->stream != NULL ||
	    !readpool_owns(r->srv->reports, r->db_from) || db_connected(r->db))
		return false;
	readpool_lost(r->srv->reports);
	req_db_release(r);
	r->reads_reports = false;
	return true;
}

static double
seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/*
 * libmicrohttpd calls this first, with the request target as the client sent
 * it (MHD_OPTION_URI_LOG_CALLBACK): the request context starts here so that
 * the raw target can be checked once the headers are in (uri.c).
 */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct srv_req *r = bb_calloc(1, sizeof(*r));

	(void)cls;
	(void)conn;
	r->raw_uri = bb_arena_strdup(&r->arena, uri);
	r->uri_refused = uri_over_limits(uri, &r->uri_length, &r->uri_params);
	/*
	 * libmicrohttpd 0.9.75 stores each query parameter in the connection's
	 * memory right after this callback, and when that memory runs out it
	 * queues a 431 and then loses it (parse_initial_message_line carries on
	 * as if all went well): the connection hung until its timeout. A target
	 * over our limits is refused anyway (dispatch), so its query is cut
	 * here, in the buffer libmicrohttpd is about to parse, and no parameter
	 * is stored. The target as sent was copied above. Guarded by
	 * tests/reliability/test_limits.c (a newer libmicrohttpd must pass it too).
	 */
	if (r->uri_refused != 0) {
		char *q = strchr((char *)(uintptr_t)uri, '?');

		if (q != NULL)
			q[1] = '\0';
	}
	return r;
}

_Static_assert(sizeof(((struct srv *)0)->request_key) == crypto_shorthash_KEYBYTES,
               "request_key is a SipHash key");

/* Fill in the context on the first callback of a request. */
static struct srv_req *
req_start(struct srv_req *r, struct srv *s, struct MHD_Connection *conn, const char *url,
          const char *method, const char *version)
{
	unsigned char rid[crypto_shorthash_BYTES];
	uint64_t n;

	if (r == NULL)
		r = bb_calloc(1, sizeof(*r));

	clock_gettime(CLOCK_MONOTONIC, &r->started);
	r->srv = s;
	r->conn = conn;
	n = atomic_fetch_add(&s->request_count, 1);
	crypto_shorthash(rid, (const unsigned char *)&n, sizeof(n), s->request_key);
	bb_hex_encode(r->id, rid, sizeof(rid));
	r->method = bb_arena_strdup(&r->arena, method);
	r->path = bb_arena_strdup(&r->arena, url);
	r->version = bb_arena_strdup(&r->arena, version);
	r->content_type = req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
			          &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			          r->client_addr, sizeof(r->client_addr));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			          &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			          r->client_addr, sizeof(r->client_addr));
	}
	atomic_fetch_add(&s->active, 1);
	return r;
}

static void
req_free(struct srv_req *r)
{
	req_db_release(r);
	if (r->stream != NULL)
		MHD_destroy_response(r->stream);
	cJSON_Delete(r->in_tree);
	bb_buf_free(&r->body);
	if (r->spool != NULL)
		fclose(r->spool);
	free(r->resp_body);
	bb_arena_free(&r->arena);
	free(r);
}

static bool
media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

struct query_check {
	struct srv_req *r;
	struct bb_js_errors errs;
};

static enum MHD_Result
check_query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_check *q = cls;
	const struct route *rt = q->r->route;
	size_t seen = 0;

	(void)kind;
	(void)value;
	if (!route_reads_query(rt, key)) {
		bb_js_error_add(&q->errs, &q->r->arena, key, "is not a parameter of %s %s%s%s",
		                rt->method, rt->pattern, rt->query ? " (it takes: " : "",
		                rt->query ? bb_arena_printf(&q->r->arena, "%s)", rt->query) : "");
		return MHD_YES;
	}
	for (size_t i = 0; i < q->errs.n; i++)
		seen += strcmp(q->errs.list[i].field, key) == 0;
	/* A second value would be ignored: refuse it rather than guess which was meant. */
	if (seen == 0 && !route_query_repeats(rt, key) &&
	    MHD_lookup_connection_value(q->r->conn, MHD_GET_ARGUMENT_KIND, key) != value)
		bb_js_error_add(&q->errs, &q->r->arena, key, "is given more than once");
	return MHD_YES;
}

/* Every query parameter must be one the route reads (route->query): 400 naming the others. */
static bool
query_known(struct srv_req *r)
{
	struct query_check q = { r, { 0 } };

	if (r->route->query != NULL && strcmp(r->route->query, QUERY_ANY) == 0)
		return true;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_query_arg, &q);
	if (q.errs.n == 0)
		return true;
	reply_invalid(r, &q.errs);
	return false;
}

static bool
method_reads(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/*
 * A reserve of workers for authenticated requests: a request that needs no
 * token and does work (a login's password hash, some 50 ms of a worker)
 * runs on at most half the workers at once; beyond that 503. Reads that
 * need no token (health checks, the bench page's files) are cheap and are
 * not counted. Without this a login flood from many addresses kept every
 * worker hashing, and every connection placed on them waited.
 */
static bool
anonymous_admit(struct srv_req *r)
{
	struct srv *s = r->srv;
	int cap = s->cfg->threads > 1 ? (int)s->cfg->threads / 2 : 1;

	if (r->route->roles != ROLES_PUBLIC || method_reads(r->method))
		return true;
	if (atomic_fetch_add(&s->anonymous, 1) < cap)
		return true;
	atomic_fetch_sub(&s->anonymous, 1);
	reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	reply_problem(r, 503, NULL,
	              "too many requests without a token are running; try again in a second");
	return false;
}

static void
dispatch(struct srv_req *r)
{
	struct srv *s = r->srv;
	bool path_matched;

	if (r->uri_refused == 414) {
		reply_problem(r, 414, NULL, "the URL is %zu bytes long; the limit is %d",
		              r->uri_length, BB_URL_LIMIT);
		return;
	}
	if (r->uri_refused != 0) {
		reply_problem(r, 400, NULL, "the query has %zu parameters; the limit is %d",
		              r->uri_params, URI_PARAMS_MAX);
		return;
	}
	if (r->body_too_large) {
		reply_problem(r, 413, NULL, "the request body is larger than %u bytes",
		              r->spool != NULL ? s->cfg->import_limit : s->cfg->body_limit);
		return;
	}
	/* HTTP/1.1 requires it (RFC 9112, 3.2); a proxy would route by it. */
	if (strcmp(r->version, MHD_HTTP_VERSION_1_1) == 0 &&
	    req_header(r, MHD_HTTP_HEADER_HOST) == NULL) {
		reply_problem(r, 400, NULL, "an HTTP/1.1 request must carry a Host header");
		return;
	}
	struct bb_js_errors uri_errs = { 0 };
	if (r->raw_uri != NULL && !uri_check(r->raw_uri, &r->arena, &uri_errs)) {
		reply_invalid(r, &uri_errs);
		return;
	}
	r->route = route_match(r->method, r->path, &r->arena, r->params, &path_matched);
	if (r->route == NULL) {
		if (path_matched)
			reply_problem(r, 405, NULL, "%s is not allowed on %s", r->method, r->path);
		else
			reply_problem_code(r, "no-route", NULL, "there is no resource at %s",
			                   r->path);
		return;
	}
	if (r->route->roles != ROLES_PUBLIC) {
		enum bb_err err = auth_request(r);

		if (r->resp_body != NULL)
			return;
		if (err == BB_ECONFLICT) {
			reply_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
			reply_problem_code(
			    r, "account-disabled", NULL,
			    "this account is disabled: an administrator can enable it");
			return;
		}
		if (err == BB_EINVAL) {
			reply_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
			reply_problem(
			    r, 401, NULL,
			    "a valid bearer token is required (Authorization: Bearer ...)");
			return;
		}
		if (err != BB_OK) {
			reply_db_error(r, err);
			return;
		}
		if (r->user.password_change_required &&
		    !route_open_before_password_change(r->route)) {
			reply_problem_code(
			    r, "password-change-required", NULL,
			    "an administrator set this account's password: change it "
			    "first (PUT /api/v1/sessions/current/password)");
			return;
		}
		if (!(r->route->roles & R(r->user.role))) {
			reply_problem(r, 403, NULL, "the role %s may not %s %s",
			              role_name(r->user.role), r->method, r->route->pattern);
			return;
		}
		if ((r->route->roles & EVERY_STUDY) && r->user.studies[0] != '\0') {
			reply_problem_code(r, "every-study-only", NULL,
			                   "%s %s is for users of every study: yours is limited",
			                   r->method, r->route->pattern);
			return;
		}
	}
	if (!query_known(r))
		return;
	bool json = media_type_is(r->content_type, "application/json");
	/* Scanner software saves its exports as .csv or .txt: both are the same text. */
	bool csv = media_type_is(r->content_type, "text/csv") ||
	           media_type_is(r->content_type, "text/plain");
	if (r->route->body == BODY_FILE && !csv &&
	    !media_type_is(r->content_type, "text/tab-separated-values")) {
		reply_problem(r, 415, NULL,
		              "the body must be the file itself as text/csv, text/plain or "
		              "text/tab-separated-values");
		return;
	}
	if (r->route->body == BODY_FILE && r->spool == NULL) {
		reply_problem(r, 500, NULL, "the file could not be kept for reading");
		return;
	}
	if (r->route->body == BODY_JSON || (r->route->body == BODY_JSON_CSV && !csv)) {
		if (!json) {
			reply_problem(r, 415, NULL, "the body must be application/json%s",
			              r->route->body == BODY_JSON_CSV ? ", text/csv or text/plain"
			                                              : "");
			return;
		}
		struct bb_js_errors errs = { 0 };
		if (bb_js_parse(r->body.data ? r->body.data : "", r->body.len, r->route->spec,
		                &r->arena, &r->in_tree, &r->in, &errs) != BB_OK) {
			reply_invalid(r, &errs);
			return;
		}
	}
	if ((r->route->roles & LONG_WORK) || ((r->route->roles & LONG_CSV) && csv_wanted(r))) {
		r->long_pending = true; /* on_request hands it to the long-work pool */
		return;
	}
	if (!anonymous_admit(r))
		return;
	idem_run(r);
	if (r->route->roles == ROLES_PUBLIC && !method_reads(r->method))
		atomic_fetch_sub(&s->anonymous, 1);
}

static enum MHD_Result
queue_reply(struct srv_req *r)
{
	struct MHD_Response *resp = r->stream;

	/* A FHIR client reads errors as OperationOutcome resources (api/fhir.h). */
	fhir_outcome_apply(r);
	if (resp == NULL) {
		resp = MHD_create_response_from_buffer(r->resp_len, r->resp_body,
		                                       MHD_RESPMEM_MUST_FREE);
		r->resp_body = NULL; /* MHD frees it now */
	}
	r->stream = NULL;
	if (r->resp_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->resp_type);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	/* API answers are never cached; a handler that says otherwise (static files) is kept. */
	if (MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL) == NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (size_t i = 0; r->resp_headers[i] != NULL; i += 2)
		MHD_add_response_header(resp, r->resp_headers[i], r->resp_headers[i + 1]);
	if (atomic_load(&r->srv->stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The connection's entry in the table of conns.h, kept as its socket context. */
static void *
conn_entry(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/*
 * A route whose body is a file (BODY_FILE) gets it in an unlinked temporary
 * file as it arrives, so that a 60 MB inventory never sits in memory. True
 * when r's route is one (its body limit is then import_limit).
 */
static bool
spool_open(struct srv_req *r)
{
	const char *params[ROUTE_PARAMS_MAX];
	bool path_matched;
	struct bb_arena scratch = { 0 };
	const struct route *rt = route_match(r->method, r->path, &scratch, params, &path_matched);
	bool file = rt != NULL && rt->body == BODY_FILE;

	bb_arena_free(&scratch);
	if (!file)
		return false;
	r->spool = tmpfile();
	if (r->spool == NULL)
		log_warn("%s: cannot make a temporary file for the body", __func__);
	return true;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct srv *s = cls;
	struct srv_req *r = *con_cls;

	if (r == NULL || r->method == NULL) {
		/* The head is in: no longer subject to the deadline for one (conns.h). */
		conns_head_in(conn_entry(conn));
		r = req_start(r, s, conn, url, method, version);
		*con_cls = r;
		bool file = spool_open(r);
		unsigned limit = file ? s->cfg->import_limit : s->cfg->body_limit;
		/* A file is written to disk as it arrives: not for a client without a token. */
		if (file && req_header(r, MHD_HTTP_HEADER_AUTHORIZATION) == NULL) {
			reply_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
			reply_problem(r, 401, NULL,
			              "a valid bearer token is required (Authorization: Bearer ...)");
			return queue_reply(r);
		}
		/* Refuse a declared oversized body before reading a byte of it. */
		const char *cl = req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t len;
		if (cl != NULL && bb_parse_int64(cl, 0, INT64_MAX, &len) && len > (int64_t)limit) {
			reply_problem(r, 413, NULL,
			              "the request body is %lld bytes; the limit is %u",
			              (long long)len, limit);
			return queue_reply(r);
		}
		return MHD_YES;
	}
	if (*upload_size > 0 && r->spool != NULL) {
		if (!r->body_too_large) {
			if (r->spool_len + *upload_size > s->cfg->import_limit ||
			    fwrite(upload_data, 1, *upload_size, r->spool) != *upload_size) {
				r->body_too_large = true;
				/* The bytes go now; the file itself with the request. */
				if (ftruncate(fileno(r->spool), 0) != 0)
					log_warn("%s: cannot empty the spool file", __func__);
			} else {
				r->spool_len += *upload_size;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!r->body_too_large) {
			if (r->body.len + *upload_size > s->cfg->body_limit) {
				r->body_too_large = true;
				bb_buf_free(&r->body);
			} else {
				bb_buf_append(&r->body, upload_data, *upload_size);
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->deferred) {
		/* Resumed: the work's thread has recorded the outcome and replied. */
		r->deferred = false;
		return queue_reply(r);
	}
	if (r->status != 0)
		return MHD_YES; /* already answered (413 up front) */
	/* log.h: what this thread logs until the end carries the request's id. */
	log_request_begin(r->id);
	dispatch(r);
	bool suspended = r->long_pending ? defer_long(r) : defer_start(r);
	log_request_end();
	if (suspended)
		return MHD_YES; /* until its work is done on the long-work pool */
	/* Give the connection back before the bytes go out to a possibly slow client. */
	req_db_release(r);
	return queue_reply(r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct srv *s = cls;
	struct srv_req *r = *con_cls;

	/* Waiting for its next request head from now on (conns.h). */
	conns_request_done(conn_entry(conn), r != NULL && r->authenticated);
	if (r == NULL)
		return;
	if (r->method == NULL) { /* the connection ended before its headers were in */
		bb_arena_free(&r->arena);
		free(r);
		*con_cls = NULL;
		return;
	}
	double secs = seconds_since(&r->started);
	size_t route = r->route ? (size_t)(r->route - routes) : SIZE_MAX;
	metrics_observe(s->metrics, route, r->status, secs);
	log_request_line(&(struct log_request){
	    .req = r->id,
	    .method = r->method,
	    .path = r->route ? r->route->pattern : r->path,
	    .status = r->status,
	    .ms = secs * 1000,
	    .user = r->authenticated ? r->user.username : NULL,
	    .addr = r->client_addr,
	    .closed_early = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK,
	});
	atomic_fetch_sub(&s->active, 1);
	req_free(r);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) LOG_PRINTF(2, 0);

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_info("http: %s", msg);
}

void
srv_block_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	/* A terminal's hang-up or an operator's habit of "reload" must not kill
	 * the daemon (SIGHUP's default action): srv_run takes it and carries on. */
	sigaddset(sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Descriptors for max_connections: two per connection at worst (one
 * displaced and not yet closed, one new), plus each worker's epoll and
 * wake-up descriptors, the database connections, the listening socket and
 * a margin. The soft limit is raised towards the hard one as needed; a
 * limit that cannot be had lowers the number of connections, with a
 * warning. Returns the limit in force (the table of conns.c has one entry
 * per descriptor).
 */
static unsigned
descriptor_budget(const struct srv_config *cfg, unsigned *max_conns)
{
	const rlim_t cap = 1u << 20;
	unsigned overhead = 4 * cfg->threads + 2 * cfg->long_workers + 64;
	rlim_t want = 2 * (rlim_t)cfg->max_connections + overhead;
	struct rlimit rl;

	*max_conns = cfg->max_connections;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur > cap) {
		/* accept(2) then never returns a descriptor beyond the table. */
		rl.rlim_cur = cap;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want) {
		rlim_t room = rl.rlim_cur > overhead + 2 ? (rl.rlim_cur - overhead) / 2 : 1;

		*max_conns = (unsigned)room;
		log_warnx("max_connections %u needs %llu descriptors and only %llu may be open "
		          "(ulimit -n, LimitNOFILE=): serving %u connections at most",
		          cfg->max_connections, (unsigned long long)want,
		          (unsigned long long)rl.rlim_cur, *max_conns);
	}
	return (unsigned)rl.rlim_cur;
}

/* The stop (shutdown.h); returns only when everything ended in time. */
static void
stop(struct srv *s, struct MHD_Daemon *d, struct acceptor *acceptor)
{
	long long t0 = stop_now_ms();
	long long deadline = t0 + (long long)s->cfg->shutdown_timeout * 1000;

	atomic_store(&s->stopping, true);
	struct stop_watch *watch = stop_watch_arm(s, deadline);
	acceptor_stop(acceptor);
	/* Connections that carry no request go now; the others after their answer. */
	conns_stop(s->conns);
	/* Long work not yet begun is answered 503 and its connection resumed. */
	workpool_stop(s->work);
	while (atomic_load(&s->active) > 0 && stop_now_ms() < deadline) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	/* A suspended connection at MHD_stop_daemon is libmicrohttpd's panic: none may be left. */
	if (atomic_load(&s->active) > 0 || !workpool_wait_idle(s->work, deadline))
		stop_abandon(s);
	MHD_stop_daemon(d);
	workpool_free(s->work);
	s->work = NULL;
	stop_watch_disarm(watch);
	log_info("stopped in %.2f s", (double)(stop_now_ms() - t0) / 1000.0);
}

int
srv_run(struct srv *s)
{
	const struct srv_config *cfg = s->cfg;
	struct sockaddr_in sin = { 0 };
	struct sockaddr_in6 sin6 = { 0 };
	struct sockaddr *sa;
	socklen_t salen;
	struct acceptor *acceptor;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
	                 MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_SUSPEND_RESUME;
	char *cert = NULL, *key = NULL;
	sigset_t sigs;
	int sig;

	if (inet_pton(AF_INET, cfg->listen_host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)cfg->listen_port);
		sa = (struct sockaddr *)&sin;
		salen = sizeof(sin);
	} else {
		inet_pton(AF_INET6, cfg->listen_host, &sin6.sin6_addr);
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)cfg->listen_port);
		sa = (struct sockaddr *)&sin6;
		salen = sizeof(sin6);
	}
	if (cfg->tls_cert != NULL) {
		bb_read_file(cfg->tls_cert, &cert, NULL);
		bb_read_file(cfg->tls_key, &key, NULL);
		if (cert == NULL || key == NULL) {
			log_warnx("cannot read %s or %s", cfg->tls_cert, cfg->tls_key);
			free(cert);
			free(key);
			return 1;
		}
		flags |= MHD_USE_TLS;
	}

	srv_block_signals(&sigs);

	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, key },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned max_conns;
	unsigned fd_limit = descriptor_budget(cfg, &max_conns);
	struct conns_limits lim = { max_conns, cfg->per_ip_connections,
		                    cfg->header_timeout * 1000 };
	s->conns = conns_new(&lim, fd_limit);
	if (!acceptor_open(sa, salen, s->conns, &acceptor)) {
		log_warn("cannot listen on %s", cfg->listen);
		conns_free(s->conns);
		s->conns = NULL;
		free(cert);
		free(key);
		return 1;
	}
	s->work = workpool_new(cfg->long_workers, cfg->long_queue);
	/*
	 * libmicrohttpd splits its connection limit evenly over the workers and
	 * places a connection by descriptor number, so one worker may get more
	 * than its share: conns.c keeps the real limit, this is only a ceiling
	 * (each worker may hold them all, displaced ones included).
	 */
	unsigned mhd_limit = 2 * max_conns * cfg->threads;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
	    mhd_limit, MHD_OPTION_NOTIFY_CONNECTION, conns_notify, s->conns,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
	    MHD_OPTION_ARRAY, cert != NULL ? tls_opts : &tls_opts[2], MHD_OPTION_END);
	if (d == NULL || !acceptor_start(acceptor, d)) {
		log_warnx("cannot serve on %s", cfg->listen);
		if (d != NULL)
			MHD_stop_daemon(d);
		acceptor_free(acceptor);
		workpool_free(s->work);
		s->work = NULL;
		conns_free(s->conns);
		s->conns = NULL;
		free(cert);
		free(key);
		return 1;
	}
	log_info("biobankd %s listening on %s://%s with %u threads, %u for long work, %u "
	         "connections",
	         BB_VERSION, cert ? "https" : "http", cfg->listen, cfg->threads, cfg->long_workers,
	         max_conns);

	/* Logs go to standard error and the configuration is read once: a
	 * SIGHUP has nothing to reopen or reload. */
	while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
		log_info("signal %d (SIGHUP): nothing to reload; still serving", sig);
	log_info("signal %d: finishing requests in flight, then stopping", sig);
	bool deaf = acceptor_failed(acceptor);
	stop(s, d, acceptor);
	acceptor_free(acceptor);
	conns_free(s->conns);
	s->conns = NULL;
	free(cert);
	free(key);
	if (deaf) {
		log_warnx("stopped: could no longer accept connections");
		return 1;
	}
	return 0;
}
