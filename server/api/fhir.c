/*
 * fhir.c — FHIR R4 read-only views: a specimen as a Specimen resource and
 * a search answering a searchset Bundle, as application/fhir+json. The
 * resources are built by SQL functions of migrations/functions/reports.sql; the
 * mapping is documented in docs/fhir.md. Errors stay problem+json, like
 * every other error of the API.
 */
#include "cmd/config.h"
#include "api/api.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt fhir_statements[] = {
	{ "db_fhir_specimen_get", "SELECT bb_fhir_specimen_get($1, $2::bigint[])::text" },
	{ "db_fhir_specimen_search",
	  "SELECT bb_fhir_specimen_search($1, $2, $3, $4, $5::bigint[], $6::bigint, $7::int, $8,"
	  " $9, $10)::text" },
	{ NULL, NULL },
};

#define FHIR_MEDIA_TYPE "application/fhir+json; fhirVersion=4.0"

/* Run a statement answering one FHIR JSON value and reply with it. */
static void
reply_fhir(struct srv_req *r, const char *stmt, int nparams, const char *const *params)
{
	struct db_conn *db = req_db(r);
	PGresult *res = NULL;

	if (db == NULL)
		return;
	enum bb_err err = db_exec(db, stmt, nparams, params, &res);
	if (err != BB_OK) {
		PQclear(res);
		reply_db_error(r, err);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		reply_problem(r, 404, NULL, "no such resource");
		return;
	}
	/* A searchset's next link carries the one cursor format (input.c). */
	const char *json = page_answer(r, PAGE_FHIR_SPECIMENS, PQgetvalue(res, 0, 0));
	size_t len = strlen(json);
	reply_raw(r, 200, FHIR_MEDIA_TYPE, bb_strndup(json, len), len);
	PQclear(res);
}

void
h_fhir_specimen_get(struct srv_req *r)
{
	const char *ref = req_specimen_ref(r, r->params[0], NULL);

	if (ref == NULL)
		return;
	const char *params[] = { ref, req_studies(r) };
	reply_fhir(r, "db_fhir_specimen_get", 2, params);
}

/*
 * The absolute base URL for fullUrl and links: the Host the client used when
 * it is a plain host[:port], else the address the daemon listens on.
 */
static const char *
base_url(struct srv_req *r)
{
	const char *host = req_header(r, MHD_HTTP_HEADER_HOST);
	const char *scheme = r->srv->cfg->tls_cert != NULL ? "https" : "http";

	if (host == NULL || *host == '\0' || strlen(host) > 255 ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
	        strlen(host))
		host = r->srv->cfg->listen;
	return bb_arena_printf(&r->arena, "%s://%s", scheme, host);
}

/* Percent-encode a query value for the Bundle's links. */
static void
query_append(struct bb_buf *b, const char *name, const char *value)
{
	bb_buf_puts(b, b->len == 0 ? "?" : "&");
	bb_buf_puts(b, name);
	bb_buf_puts(b, "=");
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			bb_buf_append(b, p, 1);
		else
			bb_buf_printf(b, "%%%02X", *p);
	}
}

void
h_fhir_specimen_search(struct srv_req *r)
{
	const char *subject = req_query(r, "subject"), *type = req_query(r, "type");
	const char *status = req_query(r, "status"), *count = req_query(r, "_count");
	const char *in_error = req_query(r, "include_in_error");
	const char *type_system = NULL, *type_code = NULL;
	struct bb_buf q = { 0 };
	struct page pg;

	if (subject != NULL && *subject == '\0')
		subject = NULL;
	if (status != NULL && *status == '\0')
		status = NULL;
	if (in_error != NULL && *in_error == '\0')
		in_error = NULL;
	if (!req_page(r, PAGE_FHIR_SPECIMENS, &pg))
		return;
	/* A FHIR token: "code" or "system|code". */
	if (type != NULL && *type != '\0') {
		const char *bar = strchr(type, '|');

		if (bar == NULL) {
			type_code = type;
		} else {
			type_system = bar == type
			                  ? NULL
			                  : bb_arena_strndup(&r->arena, type, (size_t)(bar - type));
			type_code = bar + 1;
		}
		if (*type_code == '\0') {
			reply_invalid_field(r, "type", "must be a code or system|code");
			return;
		}
	}
	if (subject != NULL)
		query_append(&q, "subject", subject);
	if (type != NULL && *type != '\0')
		query_append(&q, "type", type);
	if (status != NULL)
		query_append(&q, "status", status);
	if (in_error != NULL)
		query_append(&q, "include_in_error", in_error);
	if (count != NULL)
		query_append(&q, "_count", count);
	const char *params[] = {
		subject,  type_system,    type_code,
		status,   req_studies(r), pg.after ? pg.after : "0",
		pg.limit, base_url(r),    bb_arena_strdup(&r->arena, q.data ? q.data : ""),
		in_error,
	};
	bb_buf_free(&q);
	reply_fhir(r, "db_fhir_specimen_search", 10, params);
}
