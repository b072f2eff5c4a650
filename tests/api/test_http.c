/* test_http.c — the HTTP layer: health, routing, limits, content types, bad bodies. */
#include "testlib.h"

#include <cjson/cJSON.h>

#include <stdlib.h>
#include <string.h>

static void
health(struct tenv *t)
{
	struct resp r;

	api(t, "GET", "/healthz", NULL, NULL, &r);
	is_int(r.status, 200, "GET /healthz answers 200");
	is_str(jstr(&r, "status"), "ok", "healthz says ok");
	resp_free(&r);

	api(t, "GET", "/readyz", NULL, NULL, &r);
	is_int(r.status, 200, "GET /readyz answers 200 while the database is up");
	/* An operator after a failover asks which node the daemon writes to. */
	const char *pg = getenv("BIOBANK_TEST_PG"), *at = pg ? strstr(pg, "port=") : NULL;
	char port[16] = "";
	if (at != NULL)
		snprintf(port, sizeof(port), "%.*s", (int)strcspn(at + 5, " "), at + 5);
	is_str(jstr(&r, "pool.port"), port, "readyz names the port of the node the pool is on");
	ok(jstr(&r, "pool.host") != NULL && *jstr(&r, "pool.host") != '\0',
	   "readyz names the node's host");
	is_str(jstr(&r, "pool.role"), "primary", "readyz says the pool is on a primary");
	cJSON *ready = cJSON_Parse(r.body ? r.body : "");
	const cJSON *pool = cJSON_GetObjectItemCaseSensitive(ready, "pool");
	const cJSON *standbys = cJSON_GetObjectItemCaseSensitive(pool, "standbys");
	ok(cJSON_IsArray(standbys) && cJSON_GetArraySize(standbys) == 0,
	   "a lone server has no standbys");
	ok(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(pool, "replay_lag_s")),
	   "a primary has no replay lag");
	cJSON_Delete(ready);
	resp_free(&r);

	api(t, "GET", "/metrics", NULL, NULL, &r);
	ok(is_problem(&r, 401), "GET /metrics needs a token");
	resp_free(&r);
	api(t, "GET", "/metrics", t->admin_token, NULL, &r);
	is_int(r.status, 200, "GET /metrics answers 200");
	ok(strncmp(r.content_type, "text/plain", 10) == 0, "metrics are text/plain");
	ok(strstr(
	       r.body,
	       "biobank_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}") !=
	       NULL,
	   "metrics count requests by route and status");
	ok(strstr(r.body, "biobank_http_request_duration_seconds_bucket{method=\"GET\",route=\"/"
	                  "healthz\",le=\"+Inf\"}") != NULL,
	   "metrics have a latency histogram");
	/* testlib's --threads=4, and the default two long-work threads. */
	ok(strstr(r.body, "biobank_db_pool_connections{state=\"size\"} 6") != NULL,
	   "metrics show the pool size");
	resp_free(&r);
}

static void
routing(struct tenv *t)
{
	struct resp r;

	api(t, "GET", "/api/v1/no-such-thing", t->admin_token, NULL, &r);
	ok(is_problem(&r, 404), "an unknown path is a 404 problem");
	resp_free(&r);

	api(t, "PUT", "/healthz", NULL, NULL, &r);
	ok(is_problem(&r, 405), "a known path with the wrong method is a 405 problem");
	resp_free(&r);

	api(t, "GET", "/api/v1/users", NULL, NULL, &r);
	ok(is_problem(&r, 401), "no token: 401");
	resp_free(&r);

	api(t, "GET", "/api/v1/users", "bb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, &r);
	ok(is_problem(&r, 401), "an unknown token of the right shape: 401");
	resp_free(&r);

	api(t, "GET", "/api/v1/users", "garbage", NULL, &r);
	ok(is_problem(&r, 401), "a malformed token: 401");
	resp_free(&r);

	api(t, "GET", "/api/v1/users", t->admin_token, NULL, &r);
	is_int(r.status, 200, "with the admin's token: 200");
	resp_free(&r);
}

static void
limits(struct tenv *t)
{
	struct resp r;
	size_t big = 1024 * 1024 + 10;
	char *body = malloc(big + 1);

	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	body[big] = '\0';
	http(t->d.url, "POST", "/api/v1/users", t->admin_token, NULL, body, big, &r);
	ok(is_problem(&r, 413), "a body over 1 MiB is a 413 problem");
	resp_free(&r);

	/* Chunked: no Content-Length, so the cap is found while reading. */
	const char *chunked[] = { "Transfer-Encoding: chunked", NULL };
	http_h(t->d.url, "POST", "/api/v1/users", t->admin_token, NULL, body, big, chunked, &r);
	ok(is_problem(&r, 413), "a chunked body over 1 MiB is a 413 problem");
	resp_free(&r);
	free(body);

	/* A client that sends its whole body without waiting (no Expect: 100-continue), a
	 * few MB over the limit: the 413 must reach it, not a connection reset (a CI run
	 * saw a 1.1 MB PUT in test_protocols end with no status; not reproduced here). */
	size_t over = 6u << 20;
	char *pasted = malloc(over);
	memset(pasted, 'x', over);
	pasted[0] = '"';
	pasted[over - 1] = '"';
	const char *no_expect[] = { "Expect:", NULL };
	for (int i = 0; i < 3; i++) {
		http_h(t->d.url, "POST", "/api/v1/users", t->admin_token, NULL, pasted, over,
		       no_expect, &r);
		ok(is_problem(&r, 413),
		   "a 6 MB body sent whole: a 413 problem it can read (%ld%s%s)", r.status,
		   r.status ? "" : ": ", r.status ? "" : r.error);
		resp_free(&r);
	}
	free(pasted);

	char *path = malloc(20000);
	strcpy(path, "/api/v1/users?q=");
	memset(path + strlen(path), 'a', 17000);
	path[16 + 17000] = '\0';
	api(t, "GET", path, t->admin_token, NULL, &r);
	ok(is_problem(&r, 414), "a URL over 16 KiB is a 414 problem");
	resp_free(&r);
	free(path);

	const char *login = "{\"username\":\"admin\",\"password\":\"admin-password\"}";
	http(t->d.url, "POST", "/api/v1/sessions", NULL, "text/plain", login, strlen(login), &r);
	ok(is_problem(&r, 415), "a JSON route given text/plain is a 415 problem");
	resp_free(&r);

	http(t->d.url, "POST", "/api/v1/sessions", NULL, "application/json; charset=utf-8", login,
	     strlen(login), &r);
	is_int(r.status, 201, "application/json with a charset parameter is accepted");
	resp_free(&r);
}

static void
bad_bodies(struct tenv *t)
{
	static const struct {
		const char *body;
		size_t len;
		const char *what;
		const char *field; /* expected in errors, or NULL */
	} cases[] = {
		{ "{\"username\":\"admin\",", 0, "truncated JSON", NULL },
		{ "[1,2,3]", 0, "an array instead of an object", NULL },
		{ "", 0, "an empty body", NULL },
		{ "{\"username\":\"ad\xffmin\",\"password\":\"x\"}", 0, "invalid UTF-8", NULL },
		{ "{\"username\":\"\xc0\xaf\",\"password\":\"x\"}", 0, "an overlong UTF-8 sequence",
		  NULL },
		{ "{\"username\":\"a\\u0000b\",\"password\":\"x\"}", 0, "an escaped NUL", NULL },
		{ "{\"username\":\"admin\",\"password\":\"x\"} trailing", 0, "data after the JSON",
		  NULL },
		{ "{\"username\":42,\"password\":\"x\"}", 0, "a number for a string", "username" },
		{ "{\"password\":\"x\"}", 0, "a missing field", "username" },
		{ "{\"username\":\"a\",\"password\":\"x\",\"name\":\"Jane\"}", 0,
		  "an unknown field", "name" },
		{ "{\"username\":\"a\",\"username\":\"b\",\"password\":\"x\"}", 0,
		  "a repeated field", "username" },
		{ "{\"username\":null,\"password\":\"x\"}", 0, "null for a required field",
		  "username" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resp r;

		http(t->d.url, "POST", "/api/v1/sessions", NULL, "application/json", cases[i].body,
		     strlen(cases[i].body), &r);
		ok(is_problem(&r, 400), "%s is a 400 problem", cases[i].what);
		if (cases[i].field != NULL)
			ok(problem_names_field(&r, cases[i].field), "  and names the field %s",
			   cases[i].field);
		resp_free(&r);
	}

	/* Every bad field is listed, not just the first. */
	struct resp r;
	api(t, "POST", "/api/v1/users", t->admin_token,
	    "{\"username\":\"\",\"password\":\"short\",\"role\":\"wizard\",\"studies\":[1]}", &r);
	ok(is_problem(&r, 400), "a user with four bad fields is a 400 problem");
	ok(problem_names_field(&r, "username") && problem_names_field(&r, "password") &&
	       problem_names_field(&r, "role") && problem_names_field(&r, "studies[0]"),
	   "  listing every bad field");
	resp_free(&r);

	bool ok_sql;
	char *n = sql_value(t, "SELECT count(*) FROM users", &ok_sql);
	is_str(n, "1", "bad requests left no user behind");
	free(n);
}

/*
 * What a mistyped or hostile URL carries: a NUL (%00) that once cut a value
 * short (QJ3FJKHF%00zz read as QJ3FJKHF, ?study=%00 dropped the filter), a
 * control character, bytes that are not UTF-8 (?study=%FF answered with
 * PostgreSQL's own message), a broken escape; and a request without Host.
 */
static void
raw_targets(struct tenv *t)
{
	static const struct {
		const char *path, *field, *why;
	} cases[] = {
		{ "/api/v1/specimens/QJ3FJKHF%00zz", "path", "a NUL in the path" },
		{ "/api/v1/specimens?study=%00", "study", "a NUL as a filter value" },
		{ "/api/v1/specimens?study=MASC%00x", "study", "a NUL inside a filter value" },
		{ "/api/v1/specimens?study=%FF", "study", "a filter value that is not UTF-8" },
		{ "/api/v1/specimens?study=%0A", "study", "a line feed in a filter value" },
		{ "/api/v1/specimens?study=%E2%82", "study", "a cut UTF-8 sequence" },
		{ "/api/v1/specimens?%00=1", "query", "a NUL as a parameter name" },
		{ "/api/v1/boxes/BOX%1FA", "path", "a control character in the path" },
		{ "/api/v1/boxes/BOX%zzA", "path", "a broken escape in the path" },
		{ "/api/v1/specimens?study=%C3%28", "study", "an invalid UTF-8 pair" },
	};
	struct resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http(t->d.url, "GET", cases[i].path, t->admin_token, NULL, NULL, 0, &r);
		if (!ok(is_problem(&r, 400) && problem_names_field(&r, cases[i].field),
		        "%s: 400 naming %s", cases[i].why, cases[i].field))
			tap_diag("  %s -> %ld %s", cases[i].path, r.status, r.body);
		ok(strstr(r.body, "ERROR") == NULL &&
		       strstr(r.body, "invalid byte sequence") == NULL,
		   "  in our words, not PostgreSQL's");
		resp_free(&r);
	}
	http(t->d.url, "GET", "/api/v1/specimens?study=M%C3%A9lanie&type=serum", t->admin_token,
	     NULL, NULL, 0, &r);
	is_int(r.status, 200, "an escaped UTF-8 value is read as it should be");
	resp_free(&r);

	const char *no_host[] = { "Host:", NULL };
	http_h(t->d.url, "GET", "/api/v1/specimens", t->admin_token, NULL, NULL, 0, no_host, &r);
	ok(is_problem(&r, 400) && strstr(r.body, "Host") != NULL,
	   "an HTTP/1.1 request without Host: 400 saying so");
	resp_free(&r);
}

/*
 * A mistyped or foreign filter once returned the whole biobank's first page
 * (?location=8, ?freezer=, ?q=; FHIR ?patient= gave every specimen): every
 * parameter a route does not read is now 400 naming it.
 */
static void
unknown_parameters(struct tenv *t)
{
	static const struct {
		const char *path, *field;
	} cases[] = {
		{ "/api/v1/specimens?location=8", "location" },
		{ "/api/v1/specimens?freezer=", "freezer" },
		{ "/api/v1/specimens?q=P001", "q" },
		{ "/api/v1/specimens?Study=MASC", "Study" },
		{ "/api/v1/participants?q=P0", "q" },
		{ "/api/v1/studies?sort=code", "sort" },
		{ "/api/v1/audit-log?user=admin", "user" },
		{ "/api/v1/locations?kind=freezer", "kind" },
		{ "/api/v1/boxes?barcode=BOX-A", "barcode" },
		{ "/api/v1/shipments?destination=x", "destination" },
		{ "/api/v1/reports/inventory?type=serum", "type" },
		{ "/api/v1/reports/occupancy?box=BOX-A", "box" },
		{ "/api/v1/reports/consent-withdrawn?study=MASC", "study" },
		/* FHIR's are refused as OperationOutcome resources: test_fhir.c. */
		{ "/api/v1/specimen-types?x=1", "x" },
		{ "/api/v1/ledger/verify?fast=1", "fast" },
		{ "/api/v1/specimens?study=MASC&study=SSC", "study" },
	};
	struct resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http(t->d.url, "GET", cases[i].path, t->admin_token, NULL, NULL, 0, &r);
		if (!ok(is_problem(&r, 400) && problem_names_field(&r, cases[i].field),
		        "%s: 400 naming %s", cases[i].path, cases[i].field))
			tap_diag("  %ld %s", r.status, r.body);
		resp_free(&r);
	}
	http(t->d.url, "GET", "/api/v1/specimens?study=MASC&type=serum&limit=5", t->admin_token,
	     NULL, NULL, 0, &r);
	is_int(r.status, 200, "the parameters a list reads still work");
	resp_free(&r);
	http(t->d.url, "GET", "/api/v1/fhir/Specimen?subject=MASC/P001&_count=5", t->admin_token,
	     NULL, NULL, 0, &r);
	is_int(r.status, 200, "  and FHIR's");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "http", argc, argv);
	health(&t);
	routing(&t);
	limits(&t);
	bad_bodies(&t);
	raw_targets(&t);
	unknown_parameters(&t);
	tenv_teardown(&t);
	return tap_done();
}
