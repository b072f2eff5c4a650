/* openapi.c — the OpenAPI 3.1 document, generated from routes[] (openapi.h). */
#include "http/openapi.h"

#include "api/fhir.h"
#include "http/bind.h"
#include "http/reply.h"
#include "http/server.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* The statuses a problem can carry, in the order the document lists them. */
/* 405 is no operation's: a method a path does not list (x-problem-codes has its code). */
static const unsigned problem_statuses[] = { 400, 401, 403, 404, 409, 413, 414,
	                                     415, 422, 429, 500, 502, 503 };

static cJSON *
add_obj(cJSON *parent, const char *name)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		abort();
	if (name != NULL)
		cJSON_AddItemToObject(parent, name, o);
	else
		cJSON_AddItemToArray(parent, o);
	return o;
}

static cJSON *
add_arr(cJSON *parent, const char *name)
{
	cJSON *a = cJSON_CreateArray();

	if (a == NULL)
		abort();
	cJSON_AddItemToObject(parent, name, a);
	return a;
}

static void
add_str(cJSON *o, const char *name, const char *s)
{
	if (cJSON_AddStringToObject(o, name, s) == NULL)
		abort();
}

/* The next word of a space-separated list into out; false at the end. */
static bool
next_word(const char **list, char *out, size_t cap)
{
	const char *p = *list;

	while (*p == ' ')
		p++;
	size_t n = strcspn(p, " ");
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	*list = p + n;
	return true;
}

static bool
in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p != NULL && *p != '\0'; p += strcspn(p, " "), p += *p == ' ')
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* The "{a}" form of a pattern: ":a" segments named, a final "*" as {path}. */
static char *
template_of(const char *pattern)
{
	struct bb_buf b = { 0 };

	for (const char *p = pattern; *p != '\0';) {
		size_t seg = strcspn(p + 1, "/") + 1; /* "/name" */
		if (p[1] == ':')
			bb_buf_printf(&b, "/{%.*s}", (int)(seg - 2), p + 2);
		else if (p[1] == '*')
			bb_buf_puts(&b, "/{path}");
		else
			bb_buf_append(&b, p, seg);
		p += seg;
	}
	if (b.data == NULL)
		bb_buf_puts(&b, "");
	return bb_buf_steal(&b);
}

/* "get_api_v1_specimens_id_events": unique, as method and pattern are. */
static char *
operation_id(const struct route *rt)
{
	struct bb_buf b = { 0 };

	for (const char *m = rt->method; *m != '\0'; m++)
		bb_buf_printf(&b, "%c", *m - 'A' + 'a');
	for (const char *p = rt->pattern; *p != '\0'; p++) {
		char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			bb_buf_printf(&b, "%c", c);
		else if (c == '/' || c == '-' || c == '.')
			bb_buf_puts(&b, "_");
		else if (c == '*')
			bb_buf_puts(&b, "path");
	}
	return bb_buf_steal(&b);
}

/* ---- request bodies: a JSON Schema from a field spec ---- */

static cJSON *schema_of_spec(const struct bb_js_spec *spec);

static const char *
scalar_type(enum bb_js_type t)
{
	switch (t) {
	case BB_JS_INT:
		return "integer";
	case BB_JS_NUMBER:
		return "number";
	case BB_JS_BOOL:
		return "boolean";
	case BB_JS_OBJECT:
		return "object";
	case BB_JS_ARRAY:
		return "array";
	default:
		return "string";
	}
}

static void
set_type(cJSON *s, const char *type, bool nullable)
{
	if (!nullable) {
		add_str(s, "type", type);
		return;
	}
	cJSON *t = add_arr(s, "type");
	cJSON_AddItemToArray(t, cJSON_CreateString(type));
	cJSON_AddItemToArray(t, cJSON_CreateString("null"));
}

static void
add_bounds(cJSON *s, enum bb_js_type t, const struct bb_js_field *f)
{
	if (f->min == 0 && f->max == 0)
		return;
	const char *lo = NULL, *hi = NULL;
	switch (t) {
	case BB_JS_STRING:
		lo = "minLength", hi = "maxLength";
		break;
	case BB_JS_INT:
	case BB_JS_NUMBER:
		lo = "minimum", hi = "maximum";
		break;
	case BB_JS_ARRAY:
		lo = "minItems", hi = "maxItems";
		break;
	default:
		return;
	}
	cJSON_AddNumberToObject(s, lo, (double)f->min);
	cJSON_AddNumberToObject(s, hi, (double)f->max);
}

/* One value of type t (a field, or an array's items described by the same field). */
static cJSON *
schema_of_value(enum bb_js_type t, const struct bb_js_field *f, bool nullable, bool item)
{
	cJSON *s = cJSON_CreateObject();

	if (s == NULL)
		abort();
	if (t == BB_JS_OBJECT) {
		cJSON_Delete(s);
		s = schema_of_spec(f->sub);
		if (nullable) {
			cJSON_DeleteItemFromObject(s, "type");
			set_type(s, "object", true);
		}
		return s;
	}
	set_type(s, scalar_type(t), nullable);
	if (t == BB_JS_TIME)
		add_str(s, "format", "date-time");
	else if (t == BB_JS_DATE)
		add_str(s, "format", "date");
	if (t == BB_JS_ARRAY) {
		cJSON_AddItemToObject(
		    s, "items",
		    schema_of_value(f->sub != NULL ? BB_JS_OBJECT : f->item, f, false, true));
		add_bounds(s, t, f);
		return s;
	}
	/* An array's items share the field's bounds only when they are the strings listed. */
	if (!item)
		add_bounds(s, t, f);
	if (f->choices != NULL) {
		cJSON *e = add_arr(s, "enum");
		for (const char *const *c = f->choices; *c != NULL; c++)
			cJSON_AddItemToArray(e, cJSON_CreateString(*c));
	}
	if (f->flags & BB_JS_SECRET)
		add_str(s, "format", "password"), cJSON_AddTrueToObject(s, "writeOnly");
	return s;
}

static cJSON *
schema_of_field(const struct bb_js_field *f)
{
	bool nullable = (f->flags & BB_JS_NULLABLE) != 0;

	if (f->type == BB_JS_INT && (f->flags & BB_JS_OR_LIST)) {
		/* A count, or the list of what is counted (json_spec.h). */
		cJSON *s = cJSON_CreateObject(), *one = add_arr(s, "oneOf");
		cJSON *n = add_obj(one, NULL);
		set_type(n, "integer", false);
		add_bounds(n, BB_JS_INT, f);
		cJSON *list = add_obj(one, NULL);
		add_str(list, "type", "array");
		cJSON_AddItemToObject(list, "items", schema_of_spec(f->sub));
		add_bounds(list, BB_JS_ARRAY, f);
		if (nullable)
			cJSON_AddItemToArray(one, cJSON_Parse("{\"type\":\"null\"}"));
		return s;
	}
	return schema_of_value(f->type, f, nullable, false);
}

static cJSON *
schema_of_spec(const struct bb_js_spec *spec)
{
	cJSON *s = cJSON_CreateObject(), *props, *req = NULL;

	if (s == NULL)
		abort();
	add_str(s, "type", "object");
	props = add_obj(s, "properties");
	for (size_t i = 0; spec != NULL && i < spec->count; i++) {
		const struct bb_js_field *f = &spec->fields[i];

		if (f->name == NULL)
			continue;
		cJSON_AddItemToObject(props, f->name, schema_of_field(f));
		if (f->flags & BB_JS_REQUIRED) {
			if (req == NULL)
				req = cJSON_CreateArray();
			cJSON_AddItemToArray(req, cJSON_CreateString(f->name));
		}
	}
	if (req != NULL)
		cJSON_AddItemToObject(s, "required", req);
	/* Unknown fields are refused (json_spec.h). */
	cJSON_AddFalseToObject(s, "additionalProperties");
	return s;
}

/* ---- one operation ---- */

static void
add_param(cJSON *params, const char *name, const char *in, bool required, const char *type,
          const char *description)
{
	cJSON *p = add_obj(params, NULL);

	add_str(p, "name", name);
	add_str(p, "in", in);
	if (required)
		cJSON_AddTrueToObject(p, "required");
	if (description != NULL)
		add_str(p, "description", description);
	cJSON *s = add_obj(p, "schema");
	add_str(s, "type", type);
	if (strcmp(name, "limit") == 0)
		cJSON_AddNumberToObject(s, "minimum", 1);
}

static void
add_parameters(cJSON *op, const struct route *rt)
{
	cJSON *params = cJSON_CreateArray();

	for (const char *p = rt->pattern; *p != '\0'; p++) {
		if (p[0] == '/' && p[1] == ':') {
			size_t n = strcspn(p + 2, "/");
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)n, p + 2);
			add_param(params, name, "path", true, "string", NULL);
		} else if (p[0] == '/' && p[1] == '*') {
			add_param(params, "path", "path", true, "string",
			          "the rest of the path, one segment or more");
		}
	}
	const char *q = rt->query != NULL && strcmp(rt->query, QUERY_ANY) != 0 ? rt->query : "";
	for (char name[64]; next_word(&q, name, sizeof(name));) {
		size_t n = strlen(name);
		if (name[n - 1] != '+') {
			add_param(params, name, "query", false,
			          strcmp(name, "limit") == 0 ? "integer" : "string", NULL);
			continue;
		}
		/* "name+": given once or more (router.h), each value a string. */
		name[n - 1] = '\0';
		add_param(params, name, "query", false, "array", "may be given more than once");
		cJSON *last = cJSON_GetArrayItem(params, cJSON_GetArraySize(params) - 1);
		add_str(add_obj(cJSON_GetObjectItem(last, "schema"), "items"), "type", "string");
	}
	if (rt->roles != ROLES_PUBLIC && strcmp(rt->method, "POST") == 0)
		add_param(params, "Idempotency-Key", "header", false, "string",
		          "done once: the same key and body answer as the first time "
		          "(docs/api.md)");
	if (cJSON_GetArraySize(params) > 0)
		cJSON_AddItemToObject(op, "parameters", params);
	else
		cJSON_Delete(params);
}

static void
add_request_body(cJSON *op, const struct route *rt)
{
	if (rt->body == BODY_NONE)
		return;
	cJSON *rb = add_obj(op, "requestBody"), *content;
	cJSON_AddTrueToObject(rb, "required");
	content = add_obj(rb, "content");
	if (rt->body == BODY_JSON || rt->body == BODY_JSON_CSV)
		cJSON_AddItemToObject(add_obj(content, "application/json"), "schema",
		                      schema_of_spec(rt->spec));
	static const char *const text_json_csv[] = { "text/csv", "text/plain", NULL };
	static const char *const text_file[] = { "text/csv", "text/plain",
		                                 "text/tab-separated-values", NULL };
	const char *const *text = rt->body == BODY_FILE       ? text_file
	                          : rt->body == BODY_JSON_CSV ? text_json_csv
	                                                      : NULL;
	for (size_t i = 0; text != NULL && text[i] != NULL; i++)
		add_str(add_obj(add_obj(content, text[i]), "schema"), "type", "string");
}

static const char *
status_words(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted: the work goes on";
	case 204:
		return "No content";
	case 302:
		return "Found: the browser goes on to the Location";
	case 304:
		return "Not modified: the copy the client holds is current";
	default:
		return "Answered";
	}
}

/*
 * The error statuses a route can answer by its kind: what the dispatcher,
 * authentication, body checks and Idempotency-Key answer before or around
 * any handler (server/http/server.c, idempotency.c).
 */
static bool
route_may_answer(const struct route *rt, const struct route_doc *d, unsigned status)
{
	bool has_path_param = strchr(rt->pattern, ':') != NULL || strchr(rt->pattern, '*') != NULL;
	bool keyed_post = rt->roles != ROLES_PUBLIC && strcmp(rt->method, "POST") == 0;
	char word[8];

	snprintf(word, sizeof(word), "%u", status);
	if (d != NULL && in_list(d->errors, word))
		return true;
	switch (status) {
	case 400: /* the URL's shape and query: every route */
	case 414:
	case 500:
	case 503: /* the database, the long-work pool, stopping */
		return true;
	case 401:
	case 403:
		return rt->roles != ROLES_PUBLIC;
	case 404:
		return has_path_param;
	case 409: /* the data's state forbids the change (and a key's request in progress) */
		return rt->roles != ROLES_PUBLIC && strcmp(rt->method, "GET") != 0;
	case 422:
		return keyed_post;
	case 413:
	case 415:
		return rt->body != BODY_NONE;
	default:
		return false;
	}
}

static void
add_responses(cJSON *op, const struct route *rt, const struct route_doc *d)
{
	cJSON *responses = add_obj(op, "responses");
	char success_default[8];

	snprintf(success_default, sizeof(success_default), "%u",
	         rt->sql != NULL ? rt->sql->status : 200);
	const char *success = d != NULL && d->success != NULL ? d->success : success_default;
	for (char key[8]; next_word(&success, key, sizeof(key));) {
		unsigned status = (unsigned)strtoul(key, NULL, 10);
		cJSON *resp = add_obj(responses, key);
		add_str(resp, "description", status_words(status));
		if (status == 204 || status == 302 || status == 304)
			continue;
		cJSON *content = add_obj(resp, "content");
		const char *media = d != NULL && d->media != NULL ? d->media : "application/json";
		for (char type[64]; next_word(&media, type, sizeof(type));) {
			cJSON *s = add_obj(add_obj(content, type), "schema");
			/* NDJSON is lines of objects, one string to a schema. */
			if (strstr(type, "json") != NULL && strstr(type, "ndjson") == NULL)
				add_str(s, "type", "object");
			else
				add_str(s, "type", "string");
		}
		/* An export of a list: CSV when the Accept header asks for it. */
		if ((rt->roles & LONG_CSV) && cJSON_GetObjectItem(content, "text/csv") == NULL)
			add_str(add_obj(add_obj(content, "text/csv"), "schema"), "type", "string");
	}
	for (size_t i = 0; i < sizeof(problem_statuses) / sizeof(problem_statuses[0]); i++) {
		unsigned st = problem_statuses[i];
		char key[8], ref[64];

		if (!route_may_answer(rt, d, st))
			continue;
		snprintf(key, sizeof(key), "%u", st);
		snprintf(ref, sizeof(ref), "#/components/responses/%s%u",
		         fhir_route(rt) ? "OperationOutcome" : "Problem", st);
		add_str(add_obj(responses, key), "$ref", ref);
	}
	/* A route that only redirects (the browser's single sign-on, sso.c) answers no 2xx:
	 * what it answers besides the redirect is a problem document. */
	bool redirect_only = d != NULL && d->success != NULL && d->success[0] == '3' &&
	                     strchr(d->success, ' ') == NULL;
	if (redirect_only) {
		cJSON *def = add_obj(responses, "default");
		add_str(def, "description", "Not redirected: a problem document (RFC 9457)");
		add_str(
		    add_obj(add_obj(add_obj(def, "content"), "application/problem+json"), "schema"),
		    "$ref", "#/components/schemas/Problem");
	}
}

/* The area of a route, its tag: "specimens" for /api/v1/specimens/..., else the
 * bench page (/ and /ui/...) or the service (health, metrics). */
static void
tag_of(const struct route *rt, char *tag, size_t cap)
{
	static const char prefix[] = "/api/v1/";
	const char *p = rt->pattern;

	if (strncmp(p, prefix, sizeof(prefix) - 1) == 0) {
		p += sizeof(prefix) - 1;
		snprintf(tag, cap, "%.*s", (int)strcspn(p, "/"), p);
	} else {
		snprintf(tag, cap, "%s",
		         strcmp(p, "/") == 0 || strncmp(p, "/ui/", 4) == 0 ? "bench page"
		                                                           : "service");
	}
}

static void
add_tag(cJSON *op, cJSON *tags, const struct route *rt)
{
	char tag[64];

	tag_of(rt, tag, sizeof(tag));
	cJSON_AddItemToArray(add_arr(op, "tags"), cJSON_CreateString(tag));
	cJSON *t;
	cJSON_ArrayForEach(t, tags)
	{
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")), tag) == 0)
			return;
	}
	cJSON *nt = add_obj(tags, NULL);
	add_str(nt, "name", tag);
	add_str(nt, "description", "routes of this area (docs/api.md lists their pages)");
}

static char *
roles_text(const struct route *rt, cJSON *op)
{
	struct bb_buf b = { 0 };

	if (rt->roles == ROLES_PUBLIC) {
		bb_buf_puts(&b, "Open to anyone, no token needed.");
		return bb_buf_steal(&b);
	}
	cJSON *list = add_arr(op, "x-biobank-roles");
	bb_buf_puts(&b, "Roles:");
	for (int i = 0; i < ROLE__MAX; i++)
		if (rt->roles & R(i)) {
			bb_buf_printf(&b, " %s", role_name((enum role)i));
			cJSON_AddItemToArray(list, cJSON_CreateString(role_name((enum role)i)));
		}
	bb_buf_puts(&b, ".");
	if (rt->roles & STUDY_LIMITED)
		bb_buf_puts(&b, " Limited to the caller's studies.");
	if (rt->roles & EVERY_STUDY)
		bb_buf_puts(&b, " Only for users of every study.");
	if (rt->roles & LONG_WORK)
		bb_buf_puts(&b, " Long work: bounded, 503 with Retry-After when the pool is full.");
	if (rt->roles & LONG_CSV)
		bb_buf_puts(&b, " As CSV (Accept: text/csv) it is long work.");
	if (rt->roles & READS_STANDBY)
		bb_buf_puts(&b, " May be read from the reports database, a hot standby: up to "
		                "reports_max_lag seconds old.");
	return bb_buf_steal(&b);
}

static void
add_operation(cJSON *paths, cJSON *tags, const struct route *rt)
{
	char *tmpl = template_of(rt->pattern);
	char method[16];
	cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, tmpl);

	if (item == NULL)
		item = add_obj(paths, tmpl);
	snprintf(method, sizeof(method), "%s", rt->method);
	for (char *m = method; *m != '\0'; m++)
		*m = (char)(*m - 'A' + 'a');
	cJSON *op = add_obj(item, method);
	struct bb_buf summary = { 0 };
	bb_buf_printf(&summary, "%s %s", rt->method, rt->pattern);
	add_str(op, "summary", summary.data);
	bb_buf_free(&summary);
	char *id = operation_id(rt);
	add_str(op, "operationId", id);
	free(id);
	char *roles = roles_text(rt, op);
	add_str(op, "description", roles);
	free(roles);
	add_tag(op, tags, rt);
	if (rt->roles == ROLES_PUBLIC)
		add_arr(op, "security");
	if (rt->sql != NULL)
		add_str(op, "x-biobank-sql", rt->sql->fn);
	add_parameters(op, rt);
	add_request_body(op, rt);
	add_responses(op, rt, route_doc_find(rt));
	free(tmpl);
}

/* ---- the problem schema, one response per status ---- */

static void
add_components(cJSON *doc)
{
	cJSON *comp = add_obj(doc, "components");
	cJSON *sec = add_obj(add_obj(comp, "securitySchemes"), "bearer");
	add_str(sec, "type", "http");
	add_str(sec, "scheme", "bearer");
	add_str(sec, "description",
	        "a session token (POST /api/v1/sessions) or a service token (POST /api/v1/tokens)");

	cJSON *schemas = add_obj(comp, "schemas");
	cJSON *problem = cJSON_Parse(
	    "{\"type\":\"object\",\"description\":\"RFC 9457 problem details; clients switch "
	    "on code, never on detail\",\"required\":[\"type\",\"title\",\"status\",\"code\"],"
	    "\"properties\":{\"type\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
	    "\"status\":{\"type\":\"integer\"},\"detail\":{\"type\":\"string\"},"
	    "\"instance\":{\"type\":\"string\"},\"code\":{\"type\":\"string\"},"
	    "\"errors\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":"
	    "[\"field\",\"message\"],\"properties\":{\"field\":{\"type\":\"string\"},"
	    "\"message\":{\"type\":\"string\"}}}},\"errors_omitted\":{\"type\":\"integer\"}}}");
	if (problem == NULL)
		abort();
	cJSON_AddItemToObject(schemas, "Problem", problem);
	cJSON *outcome = cJSON_Parse(
	    "{\"type\":\"object\",\"description\":\"A FHIR R4 OperationOutcome; "
	    "issue[].details.coding (system urn:biobank:problem) carries the problem code\","
	    "\"required\":[\"resourceType\",\"issue\"],\"properties\":{\"resourceType\":"
	    "{\"const\":\"OperationOutcome\"},\"issue\":{\"type\":\"array\",\"minItems\":1,"
	    "\"items\":{\"type\":\"object\"}}}}");
	if (outcome == NULL)
		abort();
	cJSON_AddItemToObject(schemas, "OperationOutcome", outcome);

	cJSON *responses = add_obj(comp, "responses");
	for (size_t i = 0; i < sizeof(problem_statuses) / sizeof(problem_statuses[0]); i++) {
		unsigned st = problem_statuses[i];
		char name[32];

		snprintf(name, sizeof(name), "Problem%u", st);
		cJSON *s = add_obj(schemas, name), *all = add_arr(s, "allOf");
		add_str(add_obj(all, NULL), "$ref", "#/components/schemas/Problem");
		cJSON *props = add_obj(add_obj(all, NULL), "properties");
		cJSON_AddNumberToObject(add_obj(props, "status"), "const", st);
		cJSON *codes = add_arr(add_obj(props, "code"), "enum");
		const struct problem_code *pc;
		for (size_t k = 0; (pc = problem_code_at(k)) != NULL; k++)
			if (pc->status == st)
				cJSON_AddItemToArray(codes, cJSON_CreateString(pc->code));

		/* The same errors on a FHIR route: an OperationOutcome, the code in its coding. */
		bool fhir_answers = false;
		for (size_t k = 0; k < route_count; k++)
			fhir_answers |=
			    fhir_route(&routes[k]) &&
			    route_may_answer(&routes[k], route_doc_find(&routes[k]), st);
		if (fhir_answers) {
			char oo_name[48];
			snprintf(oo_name, sizeof(oo_name), "OperationOutcome%u", st);
			cJSON *oo = add_obj(responses, oo_name);
			add_str(oo, "description", problem_code_generic(st)->title);
			add_str(add_obj(add_obj(add_obj(oo, "content"), "application/fhir+json"),
			                "schema"),
			        "$ref", "#/components/schemas/OperationOutcome");
		}

		cJSON *r = add_obj(responses, name);
		add_str(r, "description", problem_code_generic(st)->title);
		char ref[64];
		snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
		add_str(
		    add_obj(add_obj(add_obj(r, "content"), "application/problem+json"), "schema"),
		    "$ref", ref);
	}
}

cJSON *
openapi_document(void)
{
	cJSON *doc = cJSON_CreateObject();

	if (doc == NULL)
		abort();
	add_str(doc, "openapi", "3.1.0");
	cJSON *info = add_obj(doc, "info");
	add_str(info, "title", "biobankd");
	add_str(info, "version", BB_VERSION);
	add_str(info, "description",
	        "Biobank sample tracking. Generated by biobankd from its routing table, body "
	        "specs and problem codes; docs/api.md describes each area in words. Every "
	        "error is RFC 9457 problem+json with a stable code (x-problem-codes lists "
	        "them all); a path not listed answers 404 no-route, a method a path does not "
	        "list 405 method-not-allowed.");
	cJSON *license = add_obj(info, "license");
	add_str(license, "name", "proprietary");
	add_str(license, "identifier", "LicenseRef-proprietary");
	add_str(add_obj(add_arr(doc, "servers"), NULL), "url", "/");
	/* Every operation needs a bearer token unless it says otherwise (security: []). */
	add_arr(add_obj(add_arr(doc, "security"), NULL), "bearer");
	cJSON *tags = add_arr(doc, "tags");
	cJSON *paths = add_obj(doc, "paths");
	for (size_t i = 0; i < route_count; i++)
		add_operation(paths, tags, &routes[i]);
	add_components(doc);
	/* Every code a problem can carry, the one table clients switch on (reply.c). */
	cJSON *codes = add_arr(doc, "x-problem-codes");
	const struct problem_code *pc;
	for (size_t k = 0; (pc = problem_code_at(k)) != NULL; k++) {
		cJSON *c = add_obj(codes, NULL);
		add_str(c, "code", pc->code);
		cJSON_AddNumberToObject(c, "status", pc->status);
		add_str(c, "title", pc->title);
	}
	return doc;
}

void
h_openapi(struct srv_req *r)
{
	cJSON *doc = openapi_document();
	char *text = cJSON_PrintUnformatted(doc);

	cJSON_Delete(doc);
	if (text == NULL)
		abort();
	/* reply_raw takes a malloc'd body; cJSON's allocator is malloc here. */
	reply_raw(r, 200, "application/json", text, strlen(text));
}
