/*
 * router.h — the routing table: every route's method, path pattern, roles,
 * handler or SQL binding, body spec and query parameters (router.c), and
 * how a request finds its route.
 */
#ifndef SRV_ROUTER_H
#define SRV_ROUTER_H

#include "biobank.h"
#include "json_spec.h"

struct srv_req;
struct sql_call;

/* A researcher sees the catalogue and its own requests, never a specimen or a participant. */
enum role {
	ROLE_ADMIN,
	ROLE_MANAGER,
	ROLE_TECHNICIAN,
	ROLE_AUDITOR,
	ROLE_PRINTER,
	ROLE_RESEARCHER,
	ROLE__MAX
};

#define R(role) (1u << (role))
#define ROLES_ALL                                                                                  \
	(R(ROLE_ADMIN) | R(ROLE_MANAGER) | R(ROLE_TECHNICIAN) | R(ROLE_AUDITOR) |                  \
	 R(ROLE_PRINTER) | R(ROLE_RESEARCHER))
#define ROLES_PUBLIC 0u /* no token needed */
/*
 * Beside the roles of a route: what it reads or writes is limited to the
 * caller's studies. Only such a route may ask for them (req_studies); the
 * bindings of bind.h that pass STUDIES must be, and the authorization sweep
 * checks every route it limits by study is.
 */
#define STUDY_LIMITED (1u << 31)
/*
 * Beside the roles of a route: only a caller who sees every study may use
 * it; a study-limited caller gets 403 every-study-only. The routes that grant
 * access (accounts, passwords, tokens): through them a limited admin could
 * otherwise make or become an account of every study.
 */
#define EVERY_STUDY (1u << 30)
/*
 * Beside the roles too: the route's work may take long (it grows with the
 * whole database, or waits on a device), so its handler runs on the
 * long-work pool (http/defer.c), never on a request worker, and at most a
 * bounded number of such requests run or wait at once; beyond that, 503
 * with a Retry-After. LONG_CSV: only when the answer asked for is CSV (an export).
 */
#define LONG_WORK (1u << 29)
#define LONG_CSV  (1u << 28)
/*
 * Beside the roles too: a GET that only reads, whose answer may be a moment
 * old (reports, exports, searches). With a reports database set
 * (reports_database), its handler reads there, a hot standby, so that long
 * reading never slows the bench's writes; the primary when it is down or
 * further behind than reports_max_lag (server.c, route_reads_reports; with
 * LONG_CSV only the CSV export). Never on a route that writes: the reports
 * database's connections are read-only.
 */
#define READS_STANDBY (1u << 27)

const char *role_name(enum role r);
int role_parse(const char *name, enum role *out);

enum body_kind {
	BODY_NONE,     /* a body is ignored */
	BODY_JSON,     /* application/json, validated against the route's spec */
	BODY_JSON_CSV, /* JSON (validated), or text/csv or text/plain (raw, for the handler) */
	BODY_FILE,     /* text/csv, text/plain or text/tab-separated-values, spooled to r->spool */
};

typedef void (*handler_fn)(struct srv_req *r);

struct route {
	const char *method;
	const char *pattern; /* "/api/v1/participants/:study/:code" */
	unsigned
	    roles; /* bitmask of R(role) (ROLES_PUBLIC needs no token), | STUDY_LIMITED, LONG_* */
	handler_fn handler;
	enum body_kind body;
	const struct bb_js_spec *spec;
	/*
	 * The query parameters the route reads, separated by spaces ("study
	 * limit cursor"); NULL: none; QUERY_ANY: not checked (static files). The
	 * dispatcher answers 400 naming every other one, so a mistyped filter
	 * never silently widens a list. A parameter given twice is refused too,
	 * unless its name ends in '+' here ("collected+": FHIR's date range,
	 * ?collected=ge...&collected=lt...).
	 */
	const char *query;
	/* The SQL function it calls, when that is all it does (bind.h); handler is then NULL. */
	const struct sql_call *sql;
};

#define QUERY_ANY "*"

extern const struct route routes[];
extern const size_t route_count;

enum { ROUTE_PARAMS_MAX = 4 };

/*
 * Whether a session that must change its password first (an admin set it:
 * auth_user.password_change_required) may use rt: only to see who it is,
 * log out and change the password. Every other route answers 403
 * password-change-required.
 */
bool route_open_before_password_change(const struct route *rt);

/* Whether name is one of the query parameters rt declares (route->query). */
bool route_reads_query(const struct route *rt, const char *name);
/* Whether rt declares name as one that may be given more than once ("name+"). */
bool route_query_repeats(const struct route *rt, const char *name);

/* Find the route for method and path; *path_matched tells 404 from 405. */
const struct route *route_match(const char *method, const char *path, struct bb_arena *a,
                                const char **params, bool *path_matched);

#endif
