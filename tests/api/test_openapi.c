/*
 * test_openapi.c — GET /api/v1/openapi.json: an integration engine reads
 * the contract without a token, and it is the document `biobankd openapi`
 * prints (both generated from routes[]). That every answer of every API
 * test matches the document is checked by testlib (openapi_check.c).
 */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	struct tenv t;
	struct resp r;

	tenv_setup(&t, "openapi", argc, argv);

	http(t.d.url, "GET", "/api/v1/openapi.json", NULL, NULL, NULL, 0, &r);
	ok(r.status == 200, "an integration engine reads the document without a token (%ld)",
	   r.status);
	ok(strncmp(r.content_type, "application/json", 16) == 0, "  as application/json (%s)",
	   r.content_type);
	const char *cmd[] = { t.biobankd, "openapi", NULL };
	char *out = NULL;
	cJSON *printed = run_cmd(cmd, NULL, NULL, &out) == 0 ? cJSON_Parse(out) : NULL;
	ok(printed != NULL && r.json != NULL && cJSON_Compare(printed, r.json, true),
	   "  the same document as biobankd openapi prints");
	ok(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "paths"), "/api/v1/openapi.json") !=
	       NULL,
	   "  which describes itself");
	cJSON_Delete(printed);
	free(out);
	resp_free(&r);

	/* A mistyped URL beside it is the ordinary 404, which the check above accepts
	 * only as a problem with a listed code. */
	http(t.d.url, "GET", "/api/v1/openapi.yaml", NULL, NULL, NULL, 0, &r);
	ok(is_problem(&r, 404) && jstr(&r, "code") != NULL &&
	       strcmp(jstr(&r, "code"), "no-route") == 0,
	   "GET /api/v1/openapi.yaml: 404 no-route");
	resp_free(&r);
	http(t.d.url, "POST", "/api/v1/openapi.json", NULL, NULL, "{}", 2, &r);
	ok(is_problem(&r, 405), "POST /api/v1/openapi.json: 405 (%ld)", r.status);
	resp_free(&r);

	tenv_teardown(&t);
	return tap_done();
}
