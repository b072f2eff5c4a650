/*
 * fhir.c — FHIR R4 read-only views: a specimen as a Specimen resource and
 * a search answering a searchset Bundle, as application/fhir+json. The
 * resources are built by SQL functions of migrations/functions/reports.sql; the
 * mapping is documented in docs/fhir.md. Errors stay problem+json, like
 * every other error of the API.
 */
#include "cmd/config.h"
#include "api/api.h"
#include "api/fhir.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt fhir_statements[] = {
	{ "db_fhir_specimen_get", "SELECT bb_fhir_specimen_get($1, $2::bigint[])::text" },
	{ "db_fhir_specimen_search",
	  "SELECT bb_fhir_specimen_search($1, $2, $3, $4, $5::bigint[], $6::bigint, $7::int, $8,"
	  " $9, $10, $11::text[], $12::text[], $13, $14, $15, $16, $17::bigint)::text" },
	{ "db_fhir_patient_get", "SELECT bb_fhir_patient_get($1, $2::bigint[])::text" },
	{ "db_fhir_location_get", "SELECT bb_fhir_location_get($1)::text" },
	{ "db_fhir_research_study_get",
	  "SELECT bb_fhir_research_study_get($1, $2::bigint[])::text" },
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

/* GET /api/v1/fhir/Patient/{id}: a participant, pseudonymous (docs/fhir.md). */
void
h_fhir_patient_get(struct srv_req *r)
{
	const char *params[] = { r->params[0], req_studies(r) };

	reply_fhir(r, "db_fhir_patient_get", 2, params);
}

/* GET /api/v1/fhir/Location/{id}: a storage location (docs/fhir.md). */
void
h_fhir_location_get(struct srv_req *r)
{
	const char *params[] = { r->params[0] };

	reply_fhir(r, "db_fhir_location_get", 1, params);
}

/* GET /api/v1/fhir/ResearchStudy/{id}: a study (docs/fhir.md). */
void
h_fhir_research_study_get(struct srv_req *r)
{
	const char *params[] = { r->params[0], req_studies(r) };

	reply_fhir(r, "db_fhir_research_study_get", 2, params);
}

/*
 * ?patient=Patient/ID or ID: the participant's id as text, NULL after
 * answering 400 when it is not one.
 */
static const char *
patient_id(struct srv_req *r, const char *in)
{
	const char *id = strncmp(in, "Patient/", 8) == 0 ? in + 8 : in;
	int64_t n;

	if (!bb_parse_int64(id, 1, INT64_MAX, &n)) {
		reply_problem_code(r, "value-malformed", NULL,
		                   "patient: must be Patient/ID or ID, the id of a Patient "
		                   "(Specimen.subject.reference), e.g. Patient/17");
		return NULL;
	}
	return id;
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

const char *
fhir_base_url(struct srv_req *r)
{
	return base_url(r);
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

/* A FHIR token, "code", "system|code" or "|code": false when the code is empty. */
static bool
token_split(struct srv_req *r, const char *token, const char **system, const char **code)
{
	const char *bar = strchr(token, '|');

	*system = NULL;
	*code = token;
	if (bar != NULL) {
		*system =
		    bar == token ? NULL : bb_arena_strndup(&r->arena, token, (size_t)(bar - token));
		*code = bar + 1;
	}
	return **code != '\0';
}

/*
 * ?collected=[prefix]date|date-time: the prefix (eq when none) and the value,
 * NULL after answering 400 when either is not one we search by.
 */
static bool
collected_split(struct srv_req *r, const char *in, const char **op, const char **value)
{
	static const char *const prefixes[] = { "eq", "gt", "ge", "lt", "le" };

	*op = "eq";
	*value = in;
	if (in[0] >= 'a' && in[0] <= 'z') {
		bool known = false;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (strncmp(in, prefixes[i], 2) == 0) {
				*op = prefixes[i];
				known = true;
			}
		if (!known) {
			reply_problem_code(
			    r, "value-not-allowed", NULL,
			    "collected: the prefix \"%.2s\" is not supported; use eq, "
			    "gt, ge, lt or le",
			    in);
			return false;
		}
		*value = in + 2;
	}
	if (!bb_is_date(*value) && !bb_is_rfc3339(*value)) {
		reply_invalid_field(r, "collected",
		                    "must be a date (2026-03-01) or a date-time with an offset, "
		                    "after an optional prefix eq, gt, ge, lt or le");
		return false;
	}
	return true;
}

enum { COLLECTED_MAX = 4 };

struct collected {
	struct srv_req *r;
	const char *in[COLLECTED_MAX];
	size_t n, given;
};

static enum MHD_Result
collected_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct collected *c = cls;

	(void)kind;
	if (strcmp(key, "collected") != 0 || value == NULL || *value == '\0')
		return MHD_YES;
	if (c->n < COLLECTED_MAX)
		c->in[c->n++] = value;
	c->given++;
	return MHD_YES;
}

/*
 * Every ?collected= (each a bound, all of them together: a range), as the
 * PostgreSQL arrays of their prefixes and values; false after answering 400.
 */
static bool
collected_bounds(struct srv_req *r, struct bb_buf *q, const char **ops, const char **values)
{
	struct collected c = { .r = r };
	struct bb_buf o = { 0 }, v = { 0 };

	*ops = *values = NULL;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collected_one, &c);
	if (c.given > COLLECTED_MAX) {
		reply_invalid_field(r, "collected", "is given %zu times; at most %d bounds",
		                    c.given, COLLECTED_MAX);
		return false;
	}
	for (size_t i = 0; i < c.n; i++) {
		const char *op, *value;

		if (!collected_split(r, c.in[i], &op, &value)) {
			bb_buf_free(&o);
			bb_buf_free(&v);
			return false;
		}
		/* Checked as a date or date-time: nothing to quote in an array literal. */
		bb_buf_printf(&o, "%s%s", i == 0 ? "{" : ",", op);
		bb_buf_printf(&v, "%s%s", i == 0 ? "{" : ",", value);
		query_append(q, "collected", c.in[i]);
	}
	if (c.n > 0) {
		bb_buf_puts(&o, "}");
		bb_buf_puts(&v, "}");
		*ops = bb_arena_strdup(&r->arena, o.data);
		*values = bb_arena_strdup(&r->arena, v.data);
	}
	bb_buf_free(&o);
	bb_buf_free(&v);
	return true;
}

/*
 * ?_count and ?_cursor. FHIR lets a server return fewer than asked for, so
 * a _count above BB_LIST_LIMIT_MAX is served as that many (the links say
 * so) rather than refused; _count=0 asks for the total alone. Anything but
 * digits is 400, as is a cursor that is not one of this search's.
 */
static bool
fhir_page(struct srv_req *r, struct page *pg)
{
	const char *count = req_query(r, "_count"), *cursor = req_query(r, "_cursor");
	int64_t n = BB_LIST_LIMIT_DEFAULT, key;

	pg->cursor = pg->after = NULL;
	if (count != NULL) {
		size_t len = strlen(count);
		if (len == 0 || strspn(count, "0123456789") != len) {
			reply_invalid_field(
			    r, "_count",
			    "must be a whole number: 0 for the total alone, at most "
			    "%d a page (more is served as %d)",
			    BB_LIST_LIMIT_MAX, BB_LIST_LIMIT_MAX);
			return false;
		}
		if (len > 9 || !bb_parse_int64(count, 0, BB_LIST_LIMIT_MAX, &n))
			n = BB_LIST_LIMIT_MAX;
	}
	if (cursor != NULL && *cursor != '\0') {
		if (!page_cursor_read(cursor, PAGE_FHIR_SPECIMENS, &key)) {
			reply_invalid_field(
			    r, "_cursor",
			    "is not a cursor of this search (pass the next link back "
			    "unchanged)");
			return false;
		}
		pg->cursor = cursor;
		pg->after = bb_arena_printf(&r->arena, "%lld", (long long)key);
	}
	pg->limit = bb_arena_printf(&r->arena, "%lld", (long long)n);
	return true;
}

/*
 * FHIR's OR list (type=serum,plasma) is not supported: refused rather than
 * searched for as one value that matches nothing.
 */
static bool
single_values(struct srv_req *r)
{
	static const char *const names[] = { "subject",         "patient",    "type",
		                             "status",          "identifier", "container-id",
		                             "include_in_error" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = req_query(r, names[i]);
		if (v != NULL && strchr(v, ',') != NULL) {
			reply_problem_code(
			    r, "value-not-allowed", NULL,
			    "%s: a list of values (a,b) is not supported; search once "
			    "per value",
			    names[i]);
			return false;
		}
	}
	return true;
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
	if (!fhir_page(r, &pg) || !single_values(r))
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
	const char *coll_ops = NULL, *coll_values = NULL;
	const char *ident = req_query(r, "identifier"), *ident_system = NULL, *ident_value = NULL;
	const char *cont = req_query(r, "container-id"), *cont_system = NULL, *cont_value = NULL;
	const char *patient = req_query(r, "patient"), *pid = NULL;
	if (patient != NULL && *patient != '\0' && (pid = patient_id(r, patient)) == NULL)
		return;
	if (ident != NULL && *ident != '\0' &&
	    !token_split(r, ident, &ident_system, &ident_value)) {
		reply_invalid_field(r, "identifier", "must be an ID or system|ID");
		return;
	}
	if (cont != NULL && *cont != '\0' && !token_split(r, cont, &cont_system, &cont_value)) {
		reply_invalid_field(r, "container-id", "must be a barcode or system|barcode");
		return;
	}
	if (subject != NULL)
		query_append(&q, "subject", subject);
	if (type != NULL && *type != '\0')
		query_append(&q, "type", type);
	if (status != NULL)
		query_append(&q, "status", status);
	if (in_error != NULL)
		query_append(&q, "include_in_error", in_error);
	if (pid != NULL)
		query_append(&q, "patient", patient);
	if (!collected_bounds(r, &q, &coll_ops, &coll_values)) {
		bb_buf_free(&q);
		return;
	}
	if (ident_value != NULL)
		query_append(&q, "identifier", ident);
	if (cont_value != NULL)
		query_append(&q, "container-id", cont);
	/* The page size served, which a _count above the largest is not. */
	if (count != NULL)
		query_append(&q, "_count", pg.limit);
	const char *params[] = {
		subject,
		type_system,
		type_code,
		status,
		req_studies(r),
		pg.after ? pg.after : "0",
		pg.limit,
		base_url(r),
		bb_arena_strdup(&r->arena, q.data ? q.data : ""),
		in_error,
		coll_ops,
		coll_values,
		ident_system,
		ident_value,
		cont_system,
		cont_value,
		pid,
	};
	bb_buf_free(&q);
	reply_fhir(r, "db_fhir_specimen_search", 17, params);
}
