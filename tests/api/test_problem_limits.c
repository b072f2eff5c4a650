/*
 * test_problem_limits.c — a problem document lists at most problem_errors_max
 * errors (default 100) and says in errors_omitted how many more there were,
 * so that a small request cannot buy a huge answer (response amplification).
 * Driven by what an attacker and a bench do: an anonymous 1 MiB login body
 * of 170,000 fields, a placement list of 150 bad items, a rack-scanner file
 * with more unknown tubes than a daemon is set to list.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

enum { FIELDS = 170000, LIST = 150 };

static int
errs_count(const struct resp *r)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->json, "errors");

	return cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
}

/* POST /api/v1/sessions, no token, with {"x":1,"x":1,...}: every field unknown. */
static void
login_flood(struct tenv *t)
{
	size_t cap = 6 * FIELDS + 16, len = 0;
	char *body = malloc(cap);
	struct resp r;

	body[len++] = '{';
	for (int i = 0; i < FIELDS; i++) {
		memcpy(body + len, "\"x\":1,", 6);
		len += 6;
	}
	body[len - 1] = '}';
	ok(len <= 1048576, "a login body of %zu bytes (within body_limit) with %d fields", len,
	   FIELDS);
	long long t0 = mono_ms();
	http(t->d.url, "POST", "/api/v1/sessions", NULL, NULL, body, len, &r);
	tap_diag("answered in %lld ms with %zu bytes", mono_ms() - t0, r.len);
	ok(is_problem(&r, 400), "an anonymous client gets 400");
	is_int(errs_count(&r), 100, "  listing 100 errors (problem_errors_max)");
	/* Every "x" is unknown, and username and password are missing. */
	is_int((long)jnum(&r, "errors_omitted", -1), FIELDS + 2 - 100,
	       "  errors_omitted counts the rest");
	ok(jstr(&r, "detail") != NULL && strstr(jstr(&r, "detail"), "170002") != NULL,
	   "  the detail gives the whole count (%s)", jstr(&r, "detail"));
	ok(r.len < 16384, "  the answer is small (%zu bytes, not megabytes)", r.len);
	is_str(jstr(&r, "errors.0.field"), "x", "  the first errors are listed as ever");
	resp_free(&r);
	free(body);

	/* At the limit nothing is omitted, and the member is absent. */
	api(t, "POST", "/api/v1/sessions", NULL, "{\"username\":\"a\",\"password\":\"b\",\"c\":1}",
	    &r);
	ok(is_problem(&r, 400) && errs_count(&r) == 1 && jnum(&r, "errors_omitted", -1) == -1,
	   "one bad field: one error and no errors_omitted");
	resp_free(&r);
}

/* 150 placements outside a 9x9 box: the database refuses every item. */
static void
placement_list(struct tenv *t)
{
	char body[64 * LIST];
	size_t len = (size_t)snprintf(body, sizeof(body), "{\"placements\":[");
	struct resp r;

	for (int i = 0; i < LIST; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len,
		                        "%s{\"position\":\"Z%d\",\"specimen\":\"NOSUCHTUBE%d\"}",
		                        i ? "," : "", i % 40 + 1, i);
	snprintf(body + len, sizeof(body) - len, "]}");
	api(t, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, body, &r);
	ok(is_problem(&r, 400), "%d placements outside the box: 400", LIST);
	is_int(errs_count(&r), 100, "  100 items listed");
	is_int((long)jnum(&r, "errors_omitted", -1), LIST - 100, "  %d omitted", LIST - 100);
	is_str(jstr(&r, "errors.99.field"), "placements[99].position", "  in the list's order");
	ok(jstr(&r, "detail") != NULL && strstr(jstr(&r, "detail"), "150") != NULL,
	   "  the detail counts all %d (%s)", LIST, jstr(&r, "detail"));
	resp_free(&r);
}

/* A daemon set to list 2: a body with 5 bad fields, a file with 4 unknown tubes. */
static void
smaller_limit(struct tenv *t)
{
	const char *args[] = { "--problem-errors-max=2", NULL };
	struct daemon d = { 0 };
	struct resp r;

	if (!ok(daemon_start(t, &d, args) == 0, "a daemon with --problem-errors-max=2 starts"))
		return;
	http(d.url, "POST", "/api/v1/sessions", NULL, NULL, "{\"a\":1,\"b\":2,\"c\":3}", 19, &r);
	ok(is_problem(&r, 400) && errs_count(&r) == 2 && jnum(&r, "errors_omitted", -1) == 3,
	   "five bad fields: two listed, three omitted (%s)", r.body);
	resp_free(&r);

	const char *file = "BOX-B,A1,NOSUCHTUBE1\nBOX-B,A2,NOSUCHTUBE2\n"
	                   "BOX-B,A3,NOSUCHTUBE3\nBOX-B,A4,NOSUCHTUBE4\n";
	http(d.url, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, "text/csv", file,
	     strlen(file), &r);
	ok(is_problem(&r, 400), "a rack file with four unknown tubes: 400");
	is_int(errs_count(&r), 2, "  two listed");
	is_int((long)jnum(&r, "errors_omitted", -1), 2, "  two omitted");
	is_str(jstr(&r, "errors.1.field"), "line 2", "  told by the file's lines");
	resp_free(&r);
	is_int(daemon_stop(&d), 0, "that daemon stops cleanly");
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "problem_limits", argc, argv);
	world_make(&t);
	login_flood(&t);
	placement_list(&t);
	smaller_limit(&t);
	tenv_teardown(&t);
	return tap_done();
}
