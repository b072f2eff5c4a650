/* reply.c — JSON and problem+json (RFC 9457) answers, from one place. */
#include "srv.h"

#include "log.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	unsigned status;
	const char *slug;
	const char *title;
} problems[] = {
	{ 400, "invalid-input", "Invalid input" },
	{ 401, "unauthorized", "Authentication required" },
	{ 403, "forbidden", "Not allowed for this role" },
	{ 404, "not-found", "Not found" },
	{ 405, "method-not-allowed", "Method not allowed" },
	{ 409, "conflict", "State conflict" },
	{ 413, "body-too-large", "Request body too large" },
	{ 414, "uri-too-long", "URI too long" },
	{ 415, "unsupported-media-type", "Unsupported media type" },
	{ 422, "idempotency-key-reused", "Idempotency key reused with another body" },
	{ 429, "too-many-attempts", "Too many attempts" },
	{ 500, "internal-error", "Internal error" },
	{ 502, "bad-gateway", "A device behind the service failed" },
	{ 503, "unavailable", "Service unavailable" },
};

static void
problem_lookup(unsigned status, const char **slug, const char **title)
{
	for (size_t i = 0; i < sizeof(problems) / sizeof(problems[0]); i++) {
		if (problems[i].status == status) {
			*slug = problems[i].slug;
			*title = problems[i].title;
			return;
		}
	}
	*slug = "error";
	*title = "Error";
}

char *
problem_json(unsigned status, const char *title, const char *detail,
             const struct bb_js_errors *errs)
{
	const char *slug, *def_title;
	cJSON *o = cJSON_CreateObject();

	problem_lookup(status, &slug, &def_title);
	char type[64];
	snprintf(type, sizeof(type), "/problems/%s", slug);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "title", title ? title : def_title);
	cJSON_AddNumberToObject(o, "status", status);
	cJSON_AddStringToObject(o, "detail", detail ? detail : "");
	if (errs != NULL && errs->n > 0) {
		cJSON *list = cJSON_AddArrayToObject(o, "errors");

		for (size_t i = 0; i < errs->n; i++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "field", errs->list[i].field);
			cJSON_AddStringToObject(e, "message", errs->list[i].message);
			cJSON_AddItemToArray(list, e);
		}
	}
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL) {
		fprintf(stderr, "fatal: out of memory printing a problem\n");
		abort();
	}
	return text;
}

static void
set_body(struct srv_req *r, unsigned status, const char *type, char *data, size_t len)
{
	if (r->resp_body != NULL || r->stream != NULL) {
		/* Two replies to one request is a bug in a handler: keep the first. */
		log_warnx("%s: request %s %s answered twice (%u then %u)", __func__, r->method,
		          r->path, r->status, status);
		free(data);
		return;
	}
	r->status = status;
	r->resp_type = type;
	r->resp_body = data;
	r->resp_len = len;
}

void
reply_raw(struct srv_req *r, unsigned status, const char *type, char *data, size_t len)
{
	set_body(r, status, type, data, len);
}

void
reply_json(struct srv_req *r, unsigned status, cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);

	cJSON_Delete(body);
	if (text == NULL) {
		fprintf(stderr, "fatal: out of memory printing a reply\n");
		abort();
	}
	set_body(r, status, "application/json", text, strlen(text));
}

void
reply_empty(struct srv_req *r, unsigned status)
{
	set_body(r, status, NULL, bb_strdup(""), 0);
}

static void
reply_problem_errs(struct srv_req *r, unsigned status, const char *title, const char *detail,
                   const struct bb_js_errors *errs)
{
	char *text = problem_json(status, title, detail, errs);

	set_body(r, status, "application/problem+json", text, strlen(text));
}

void
reply_problem(struct srv_req *r, unsigned status, const char *title, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	reply_problem_errs(r, status, title, detail, NULL);
}

void
reply_invalid(struct srv_req *r, const struct bb_js_errors *errs)
{
	char detail[512];

	if (errs->n == 1)
		snprintf(detail, sizeof(detail), "%s%s%s", errs->list[0].field,
		         *errs->list[0].field ? " " : "", errs->list[0].message);
	else
		snprintf(detail, sizeof(detail), "%zu fields are invalid: see errors", errs->n);
	reply_problem_errs(r, 400, NULL, detail, errs);
}

void
reply_invalid_field(struct srv_req *r, const char *field, const char *fmt, ...)
{
	struct bb_js_errors errs = { 0 };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bb_js_error_add(&errs, &r->arena, field, "%s", msg);
	reply_invalid(r, &errs);
}

void
reply_db_error(struct srv_req *r, enum bb_err err)
{
	const char *msg = r->db ? db_error_message(r->db) : "";

	switch (err) {
	case BB_EDBDOWN:
		reply_header(r, "Retry-After", "1");
		reply_problem(r, 503, NULL, "the database is unavailable; try again shortly");
		break;
	case BB_ECONFLICT:
		reply_problem(r, 409, NULL, "%s",
		              *msg ? msg : "the request conflicts with the current state");
		break;
	case BB_ENOTFOUND:
		reply_problem(r, 404, NULL, "%s", *msg ? msg : "no such object");
		break;
	case BB_EINVAL: {
		/* "field: message" from the database names the field, like the validator does. */
		size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz_.[]0123456789");
		if (n > 0 && msg[n] == ':' && msg[n + 1] == ' ') {
			reply_invalid_field(r, bb_arena_strndup(&r->arena, msg, n), "%s",
			                    msg + n + 2);
			break;
		}
		reply_problem(r, 400, NULL, "%s", *msg ? msg : "the request was not valid");
		break;
	}
	case BB_ERETRY:
		reply_header(r, "Retry-After", "1");
		reply_problem(r, 503, NULL,
		              "the database was too busy to complete the request; try again");
		break;
	default:
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		break;
	}
}

void
reply_header(struct srv_req *r, const char *name, const char *value)
{
	size_t i = 0;

	while (i + 2 < sizeof(r->resp_headers) / sizeof(r->resp_headers[0]) &&
	       r->resp_headers[i] != NULL)
		i += 2;
	if (i + 2 >= sizeof(r->resp_headers) / sizeof(r->resp_headers[0]))
		return;
	r->resp_headers[i] = bb_arena_strdup(&r->arena, name);
	r->resp_headers[i + 1] = bb_arena_strdup(&r->arena, value);
}

void
reply_reset(struct srv_req *r)
{
	free(r->resp_body);
	r->resp_body = NULL;
	r->resp_len = 0;
	r->resp_type = NULL;
	r->status = 0;
	if (r->stream != NULL)
		MHD_destroy_response(r->stream);
	r->stream = NULL;
	/* The strings live in the request's arena and go with it. */
	memset(r->resp_headers, 0, sizeof(r->resp_headers));
}

void
reply_json_text(struct srv_req *r, unsigned status, const char *json)
{
	set_body(r, status, "application/json", bb_strdup(json), strlen(json));
}

struct fn_call {
	const char *stmt;
	int nparams;
	const char *const *params;
	PGresult *res;
};

static enum bb_err
fn_call_run(struct db_conn *c, void *arg)
{
	struct fn_call *f = arg;

	PQclear(f->res);
	f->res = NULL;
	return db_exec(c, f->stmt, f->nparams, f->params, &f->res);
}

void
reply_from_function(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                    const char *const *params)
{
	struct fn_call f = { stmt, nparams, params, NULL };
	struct db_conn *db = req_db(r);

	if (db == NULL)
		return;
	enum bb_err err = db_txn_implicit(db, fn_call_run, &f);
	if (err != BB_OK) {
		PQclear(f.res);
		reply_db_error(r, err);
		return;
	}
	if (PQntuples(f.res) != 1 || PQgetisnull(f.res, 0, 0)) {
		PQclear(f.res);
		reply_problem(r, 404, NULL, "no such object");
		return;
	}
	reply_json_text(r, status, PQgetvalue(f.res, 0, 0));
	PQclear(f.res);
}
