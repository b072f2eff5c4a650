/*
 * test_openapi.c — the OpenAPI document covers what the code has: every
 * route as an operation with its path, query parameters and body fields,
 * every problem code under its status, and route_doc.c names only routes.
 */
#include "../harness.h"

#include "http/bind.h"
#include "http/openapi.h"
#include "http/reply.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static cJSON *doc;

static char *
template_of(const char *pattern)
{
	static char out[512];
	size_t n = 0;

	for (const char *p = pattern; *p != '\0' && n < sizeof(out) - 16; p++) {
		if (p[0] == ':' && p[-1] == '/') {
			out[n++] = '{';
			while (*++p != '\0' && *p != '/')
				out[n++] = *p;
			out[n++] = '}';
			p--;
		} else if (p[0] == '*') {
			memcpy(out + n, "{path}", 6);
			n += 6;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return out;
}

static const cJSON *
operation(const struct route *rt)
{
	char method[16];

	snprintf(method, sizeof(method), "%s", rt->method);
	for (char *m = method; *m != '\0'; m++)
		*m = (char)(*m - 'A' + 'a');
	return cJSON_GetObjectItem(cJSON_GetObjectItemCaseSensitive(
	                               cJSON_GetObjectItem(doc, "paths"), template_of(rt->pattern)),
	                           method);
}

static bool
has_param(const cJSON *op, const char *name, const char *in)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(op, "parameters"))
	{
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), name) == 0 &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "in")), in) == 0)
			return true;
	}
	return false;
}

static void
every_route(void)
{
	size_t missing = 0, params = 0, bodies = 0, public_secured = 0;

	for (size_t i = 0; i < route_count; i++) {
		const struct route *rt = &routes[i];
		const cJSON *op = operation(rt);

		if (op == NULL) {
			tap_diag("%s %s has no operation", rt->method, rt->pattern);
			missing++;
			continue;
		}
		for (const char *p = rt->pattern; *p != '\0'; p++)
			if (p[0] == '/' && p[1] == ':') {
				char name[64];
				snprintf(name, sizeof(name), "%.*s", (int)strcspn(p + 2, "/"),
				         p + 2);
				if (!has_param(op, name, "path")) {
					tap_diag("%s %s: no path parameter %s", rt->method,
					         rt->pattern, name);
					params++;
				}
			}
		const char *q =
		    rt->query != NULL && strcmp(rt->query, QUERY_ANY) != 0 ? rt->query : "";
		while (*q != '\0') {
			char name[64];
			size_t len = strcspn(q, " ");
			if (len >= sizeof(name))
				len = sizeof(name) - 1;
			memcpy(name, q, len);
			name[len] = '\0';
			if (len > 0 && name[len - 1] == '+') /* may repeat (router.h) */
				name[len - 1] = '\0';
			if (!has_param(op, name, "query")) {
				tap_diag("%s %s: no query parameter %s", rt->method, rt->pattern,
				         name);
				params++;
			}
			q += strcspn(q, " ");
			q += *q == ' ';
		}
		const cJSON *props = cJSON_GetObjectItem(
		    cJSON_GetObjectItem(
		        cJSON_GetObjectItem(
		            cJSON_GetObjectItem(cJSON_GetObjectItem(op, "requestBody"), "content"),
		            "application/json"),
		        "schema"),
		    "properties");
		for (size_t k = 0; rt->spec != NULL && k < rt->spec->count; k++)
			if (rt->spec->fields[k].name != NULL &&
			    cJSON_GetObjectItemCaseSensitive(props, rt->spec->fields[k].name) ==
			        NULL) {
				tap_diag("%s %s: no body field %s", rt->method, rt->pattern,
				         rt->spec->fields[k].name);
				bodies++;
			}
		const cJSON *sec = cJSON_GetObjectItem(op, "security");
		if ((rt->roles == ROLES_PUBLIC) != (sec != NULL && cJSON_GetArraySize(sec) == 0))
			public_secured++;
	}
	ok(missing == 0, "every route of routes[] is an operation (%zu missing)", missing);
	ok(params == 0, "every path and query parameter is described (%zu missing)", params);
	ok(bodies == 0, "every field of every body spec is in its schema (%zu missing)", bodies);
	ok(public_secured == 0, "exactly the public routes need no bearer token");

	size_t ops = 0;
	const cJSON *item, *op;
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(doc, "paths"))
	{
		cJSON_ArrayForEach(op, item) ops++;
	}
	ok(ops == route_count, "no operation beyond the routes (%zu for %zu routes)", ops,
	   route_count);
}

static void
every_code(void)
{
	const struct problem_code *pc;
	size_t unlisted = 0, misplaced = 0;
	const cJSON *schemas =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "components"), "schemas");

	for (size_t i = 0; (pc = problem_code_at(i)) != NULL; i++) {
		bool listed = false;
		const cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "x-problem-codes"))
		{
			listed |= strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "code")),
			                 pc->code) == 0 &&
			          (unsigned)cJSON_GetNumberValue(
			              cJSON_GetObjectItem(c, "status")) == pc->status;
		}
		unlisted += !listed;
		if (pc->status == 405)
			continue;
		char name[32];
		snprintf(name, sizeof(name), "Problem%u", pc->status);
		const cJSON *codes = cJSON_GetObjectItem(
		    cJSON_GetObjectItem(
		        cJSON_GetObjectItem(
		            cJSON_GetArrayItem(
		                cJSON_GetObjectItem(cJSON_GetObjectItem(schemas, name), "allOf"),
		                1),
		            "properties"),
		        "code"),
		    "enum");
		bool in_enum = false;
		cJSON_ArrayForEach(c, codes)
		{
			in_enum |= strcmp(cJSON_GetStringValue(c), pc->code) == 0;
		}
		if (!in_enum) {
			tap_diag("%s is not among the codes of %s", pc->code, name);
			misplaced++;
		}
	}
	ok(unlisted == 0, "every problem code is in x-problem-codes with its status");
	ok(misplaced == 0, "every problem code is in the problem schema of its status");
}

static void
answers(void)
{
	const struct route *login = NULL, *logout = NULL, *bound = NULL;

	for (size_t i = 0; i < route_count; i++) {
		if (strcmp(routes[i].pattern, "/api/v1/sessions") == 0)
			login = &routes[i];
		if (strcmp(routes[i].pattern, "/api/v1/sessions/current") == 0 &&
		    strcmp(routes[i].method, "DELETE") == 0)
			logout = &routes[i];
		if (strcmp(routes[i].pattern, "/api/v1/studies") == 0 &&
		    strcmp(routes[i].method, "POST") == 0)
			bound = &routes[i];
	}
	const cJSON *r = cJSON_GetObjectItem(operation(bound), "responses");
	ok(cJSON_GetObjectItem(r, "201") != NULL && cJSON_GetObjectItem(r, "200") == NULL,
	   "a route bound to SQL answers the binding's status (POST /api/v1/studies: 201)");
	ok(cJSON_GetObjectItem(r, "409") != NULL && cJSON_GetObjectItem(r, "401") != NULL,
	   "  and a keyed, authenticated POST may answer 409 and 401");
	r = cJSON_GetObjectItem(operation(login), "responses");
	/* It needs no role; its 403 is a directory login whose groups map to none (docs/sso.md). */
	ok(cJSON_GetObjectItem(r, "429") != NULL && cJSON_GetObjectItem(r, "403") != NULL,
	   "the login answers 429 and 403 (route_doc.c: throttled; an LDAP login in no mapped group)");
	r = cJSON_GetObjectItem(operation(logout), "responses");
	ok(cJSON_GetObjectItem(r, "204") != NULL &&
	       cJSON_GetObjectItem(cJSON_GetObjectItem(r, "204"), "content") == NULL,
	   "the logout answers 204 with no content");
	ok(route_doc_check(stderr) == 0, "route_doc.c names only routes");
}

int
main(void)
{
	doc = openapi_document();
	ok(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "openapi")), "3.1.0") == 0,
	   "an OpenAPI 3.1 document");
	every_route();
	every_code();
	answers();
	cJSON_Delete(doc);
	return tap_done();
}
