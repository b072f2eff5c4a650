/*
 * openapi_check.c — every answer an API test receives, checked against the
 * OpenAPI document biobankd generates (GET /api/v1/openapi.json, here from
 * `biobankd openapi`): the operation's documented statuses, the media type
 * of the answer, and a problem's code among those its status may carry.
 * Violations are counted and named; tenv_teardown() reports them as one
 * check of each program, as it does for PostgreSQL's text.
 */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static cJSON *doc;
static long checked, violations;

bool
openapi_load(const char *biobankd)
{
	const char *argv[] = { biobankd, "openapi", NULL };
	char *out = NULL;

	/* A program with two environments (two sites) loads it once. */
	if (doc != NULL)
		return true;
	if (run_cmd(argv, NULL, NULL, &out) == 0)
		doc = cJSON_Parse(out);
	free(out);
	return doc != NULL && cJSON_GetObjectItem(doc, "paths") != NULL;
}

bool
openapi_loaded(void)
{
	return doc != NULL;
}

long
openapi_checked(void)
{
	return __atomic_load_n(&checked, __ATOMIC_RELAXED);
}

long
openapi_violations(void)
{
	return __atomic_load_n(&violations, __ATOMIC_RELAXED);
}

/* Whether the path (no query) fits the template; "{path}" last takes the rest. */
static bool
template_fits(const char *tmpl, const char *path)
{
	const char *t = tmpl, *p = path;

	while (*t != '\0' && *p != '\0') {
		if (*t != '/' || *p != '/')
			return false;
		t++, p++;
		size_t tl = strcspn(t, "/"), pl = strcspn(p, "/");
		if (strncmp(t, "{path}", 6) == 0 && t[6] == '\0')
			return *p != '\0';
		if (*t == '{') {
			if (pl == 0)
				return false;
		} else if (tl != pl || strncmp(t, p, tl) != 0) {
			return false;
		}
		t += tl, p += pl;
	}
	return *t == '\0' && *p == '\0';
}

static const cJSON *
deref(const cJSON *o)
{
	const char *ref = cJSON_GetStringValue(cJSON_GetObjectItem(o, "$ref"));

	if (ref == NULL || strncmp(ref, "#/", 2) != 0)
		return o;
	const cJSON *at = doc;
	char part[128];
	for (const char *p = ref + 2; *p != '\0' && at != NULL;) {
		size_t n = strcspn(p, "/");
		snprintf(part, sizeof(part), "%.*s", (int)n, p);
		at = cJSON_GetObjectItemCaseSensitive(at, part);
		p += n + (p[n] == '/');
	}
	return at;
}

static void
violation(const char *method, const char *path, const struct resp *r, const char *why)
{
	char body[201];
	size_t n = 0;

	/* On one line: a diagnostic's next line would not be TAP (a CSV body has many). */
	for (const char *b = r->body; b != NULL && *b != '\0' && n < sizeof(body) - 1; b++)
		body[n++] = (unsigned char)*b < 0x20 ? ' ' : *b;
	body[n] = '\0';
	__atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
	tap_diag("OpenAPI: %s %s answered %ld (%s): %s; body %s", method, path, r->status,
	         r->content_type, why, body);
}

/* A problem's code is one the document lists for that status (x-problem-codes). */
static bool
code_listed(const char *code, long status)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "x-problem-codes"))
	{
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "code")), code) == 0)
			return (long)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "status")) ==
			       status;
	}
	return false;
}

/* The answer of a path no operation has (404 no-route, 405, or refused before routing). */
static void
check_unrouted(const char *method, const char *path, const struct resp *r)
{
	const char *code = jstr(r, "code");

	if (r->status < 400 || code == NULL || !code_listed(code, r->status))
		violation(method, path, r,
		          "no operation has this path and method, and the answer is not a "
		          "problem with a listed code");
}

static void
check_operation(const char *method, const char *path, const cJSON *op, const struct resp *r)
{
	char status[8], media[128];

	snprintf(status, sizeof(status), "%ld", r->status);
	const cJSON *resp = cJSON_GetObjectItem(cJSON_GetObjectItem(op, "responses"), status);
	if (resp == NULL) {
		violation(method, path, r, "status not documented for the operation");
		return;
	}
	resp = deref(resp);
	const cJSON *content = cJSON_GetObjectItem(resp, "content");
	if (content == NULL) {
		if (r->len > 0 && strcmp(method, "HEAD") != 0)
			violation(method, path, r, "a body where the document has none");
		return;
	}
	snprintf(media, sizeof(media), "%.*s", (int)strcspn(r->content_type, "; "),
	         r->content_type);
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(content, media);
	if (mt == NULL) {
		violation(method, path, r, "media type not documented for the status");
		return;
	}
	const cJSON *schema = deref(cJSON_GetObjectItem(mt, "schema"));
	const cJSON *all = cJSON_GetObjectItem(schema, "allOf");
	if (strcmp(method, "HEAD") == 0)
		return;
	if (all != NULL) {
		/* ProblemNNN: the code among that status's. */
		const cJSON *codes = cJSON_GetObjectItem(
		    cJSON_GetObjectItem(
		        cJSON_GetObjectItem(cJSON_GetArrayItem(all, 1), "properties"), "code"),
		    "enum");
		const char *code = jstr(r, "code");
		bool found = false;
		const cJSON *c;
		cJSON_ArrayForEach(c, codes)
		{
			found |= code != NULL && strcmp(cJSON_GetStringValue(c), code) == 0;
		}
		if (!found)
			violation(method, path, r, "problem code not documented for the status");
		else if ((long)jnum(r, "status", -1) != r->status)
			violation(method, path, r, "problem status member differs from the status");
		return;
	}
	if (r->status >= 400 && strcmp(media, "application/fhir+json") == 0) {
		/* An OperationOutcome: the problem code in its first issue's coding. */
		const char *code = jstr(r, "issue.0.details.coding.0.code");
		if (code == NULL || !code_listed(code, r->status))
			violation(method, path, r,
			          "OperationOutcome without a code listed for the status");
		return;
	}
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(schema, "type"));
	if (type != NULL && strcmp(type, "object") == 0 && !cJSON_IsObject(r->json))
		violation(method, path, r, "not a JSON object");
}

void
openapi_check(const char *method_in, const char *path_in, const struct resp *r)
{
	char path[4096], method[16];

	if (doc == NULL || r->status == 0)
		return;
	__atomic_add_fetch(&checked, 1, __ATOMIC_RELAXED);
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(path_in, "?#"), path_in);
	/* HEAD is answered as GET is (router.c). */
	snprintf(method, sizeof(method), "%s", strcmp(method_in, "HEAD") == 0 ? "GET" : method_in);
	for (char *m = method; *m != '\0'; m++)
		*m = (char)(*m >= 'A' && *m <= 'Z' ? *m - 'A' + 'a' : *m);

	/* The first template that fits and has the method, as route_match() goes. */
	const cJSON *item;
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(doc, "paths"))
	{
		if (!template_fits(item->string, path))
			continue;
		const cJSON *op = cJSON_GetObjectItem(item, method);
		if (op != NULL) {
			check_operation(method_in, path_in, op, r);
			return;
		}
	}
	check_unrouted(method_in, path_in, r);
}
