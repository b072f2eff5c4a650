/* test_server.c — the daemon's pure parts: routing, problem+json, configuration. */
#include "../harness.h"

#include "cmd/config.h"
#include "http/input.h"
#include "http/log.h"
#include "http/bind.h"
#include "http/reply.h"
#include "http/uri.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
routing(void)
{
	struct bb_arena a = { 0 };
	const char *params[ROUTE_PARAMS_MAX];
	bool path_ok;
	const struct route *rt;

	rt = route_match("GET", "/healthz", &a, params, &path_ok);
	ok(rt != NULL && strcmp(rt->pattern, "/healthz") == 0, "GET /healthz is routed");
	ok(rt != NULL && rt->roles == ROLES_PUBLIC, "  and needs no token");

	rt = route_match("HEAD", "/healthz", &a, params, &path_ok);
	ok(rt != NULL, "HEAD is answered like GET");

	rt = route_match("DELETE", "/healthz", &a, params, &path_ok);
	ok(rt == NULL && path_ok,
	   "a known path with another method: no route, but the path matched (405)");

	rt = route_match("GET", "/nowhere", &a, params, &path_ok);
	ok(rt == NULL && !path_ok, "an unknown path: no route, no path (404)");

	rt = route_match("GET", "/api/v1/specimens/ABCDEFGH/events", &a, params, &path_ok);
	ok(rt != NULL && strcmp(rt->pattern, "/api/v1/specimens/:id/events") == 0,
	   "a pattern with a parameter matches");
	is_str(params[0], "ABCDEFGH", "  and captures it");

	rt = route_match("GET", "/api/v1/specimens//events", &a, params, &path_ok);
	ok(rt == NULL, "an empty parameter does not match");
	rt = route_match("GET", "/api/v1/specimens/ABCDEFGH/events/", &a, params, &path_ok);
	ok(rt == NULL, "a trailing slash is another path");

	/* A final "*" takes the rest of the path: the bench page's files. */
	rt = route_match("GET", "/ui/js/app.js", &a, params, &path_ok);
	ok(rt != NULL && strcmp(rt->pattern, "/ui/*") == 0, "a final * matches several segments");
	is_str(params[0], "js/app.js", "  and captures the rest of the path");
	ok(rt != NULL && rt->roles == ROLES_PUBLIC, "  without a token");
	rt = route_match("GET", "/ui/style.css", &a, params, &path_ok);
	is_str(rt != NULL ? params[0] : NULL, "style.css", "a final * matches one segment");
	rt = route_match("GET", "/ui/", &a, params, &path_ok);
	ok(rt == NULL && !path_ok, "a final * needs at least one character");
	rt = route_match("GET", "/ui", &a, params, &path_ok);
	ok(rt == NULL, "  and its slash");
	rt = route_match("GET", "/uix/app.js", &a, params, &path_ok);
	ok(rt == NULL, "the segments before * match whole");
	rt = route_match("POST", "/ui/app.js", &a, params, &path_ok);
	ok(rt == NULL && path_ok, "another method on a * path is a 405");
	rt = route_match("GET", "/", &a, params, &path_ok);
	ok(rt != NULL && strcmp(rt->pattern, "/") == 0, "GET / is the bench page");

	/* Every route is well formed: a method, an absolute pattern, roles, and a body spec when it
	 * takes JSON. */
	bool sane = true;
	for (size_t i = 0; i < route_count; i++) {
		const struct route *r = &routes[i];

		if (r->method == NULL || r->pattern[0] != '/' || r->handler == NULL ||
		    (r->body == BODY_JSON && r->spec == NULL))
			sane = false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(routes[j].method, r->method) == 0 &&
			    strcmp(routes[j].pattern, r->pattern) == 0)
				sane = false;
	}
	ok(sane, "all %zu routes are well formed and unique", route_count);
	bb_arena_free(&a);
}

static void
problems(void)
{
	struct bb_arena a = { 0 };
	struct bb_js_errors errs = { 0 };

	char *text = problem_json(404, NULL, "no specimen X", NULL);
	cJSON *j = cJSON_Parse(text);
	is_str(cJSON_GetObjectItem(j, "type")->valuestring, "/problems/not-found",
	       "a 404 problem has its type");
	is_str(cJSON_GetObjectItem(j, "title")->valuestring, "Not found", "  a title");
	is_int(cJSON_GetObjectItem(j, "status")->valueint, 404, "  the status");
	is_str(cJSON_GetObjectItem(j, "detail")->valuestring, "no specimen X", "  the detail");
	ok(cJSON_GetObjectItem(j, "errors") == NULL, "  and no errors list");
	cJSON_Delete(j);
	free(text);

	bb_js_error_add(&errs, &a, "participant.code", "is required");
	bb_js_error_add(&errs, &a, "type", "must be a string");
	text = problem_json(400, NULL, "2 fields are invalid", &errs);
	j = cJSON_Parse(text);
	cJSON *list = cJSON_GetObjectItem(j, "errors");
	is_int(cJSON_GetArraySize(list), 2, "a 400 problem lists every field");
	is_str(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "field")->valuestring,
	       "participant.code", "  by its path");
	is_str(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "message")->valuestring,
	       "must be a string", "  with its message");
	cJSON_Delete(j);
	free(text);

	/* Past problem_errors_max the errors are counted, not listed. */
	struct bb_js_errors many = { 0 };
	bb_js_set_errors_max(2);
	for (int i = 0; i < 5; i++)
		bb_js_error_add(&many, &a, "x", "is not a known field");
	text = problem_json(400, NULL, "5 fields are invalid", &many);
	j = cJSON_Parse(text);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(j, "errors")), 2,
	       "limit 2: a problem lists two errors");
	ok(cJSON_IsNumber(cJSON_GetObjectItem(j, "errors_omitted")) &&
	       cJSON_GetObjectItem(j, "errors_omitted")->valueint == 3,
	   "  and says three more were omitted");
	cJSON_Delete(j);
	free(text);
	text = problem_json(400, NULL, "2 fields are invalid", &errs);
	ok(strstr(text, "errors_omitted") == NULL, "  a list within the limit says nothing of it");
	free(text);
	bb_js_set_errors_max(BB_JS_ERRORS_MAX_DEFAULT);

	text = problem_json(418, "Teapot", "short and stout", NULL);
	j = cJSON_Parse(text);
	is_str(cJSON_GetObjectItem(j, "title")->valuestring, "Teapot", "a given title is kept");
	cJSON_Delete(j);
	free(text);
	bb_arena_free(&a);
}

/* The table of codes: each once, each status with a generic code first. */
static void
problem_codes(void)
{
	bool unique = true, known_status = true;
	size_t n = 0;

	for (const struct problem_code *pc; (pc = problem_code_at(n)) != NULL; n++) {
		for (size_t j = 0; j < n; j++)
			if (strcmp(problem_code_at(j)->code, pc->code) == 0)
				unique = false;
		if (problem_code_generic(pc->status)->status != pc->status)
			known_status = false;
	}
	ok(n > 40 && unique, "%zu problem codes, each once", n);
	ok(known_status, "  every status has a generic code");
	is_str(problem_code_generic(409)->code, "conflict", "  409's is conflict");
	ok(problem_code_find("position-occupied") != NULL &&
	       problem_code_find("position-occupied")->status == 409,
	   "  position-occupied is a 409");

	char *text = problem_json(404, NULL, "no specimen X", NULL);
	cJSON *j = cJSON_Parse(text);
	is_str(cJSON_GetObjectItem(j, "code")->valuestring, "not-found",
	       "a problem without a code of its own has its status's generic code");
	cJSON_Delete(j);
	free(text);
}

static cJSON *
from_db(const char *state, const char *message, const char *column, const char *constraint,
        const char *detail)
{
	struct db_diag d = { { 0 }, { 0 }, detail ? strdup(detail) : NULL };

	snprintf(d.column, sizeof(d.column), "%s", column);
	snprintf(d.constraint, sizeof(d.constraint), "%s", constraint);
	cJSON *o = problem_from_db(state, message, &d);
	free(d.detail);
	return o;
}

static const char *
member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* The answers for database errors, ours (bb_fail) and PostgreSQL's own. */
static void
problems_from_db(void)
{
	cJSON *o = from_db("BB409", "position A1 of box B is taken by specimen QJ3FJKHF", "", "",
	                   "{\"code\":\"position-occupied\",\"box\":\"B\",\"position\":\"A1\","
	                   "\"occupant\":\"QJ3FJKHF\",\"status\":\"in_storage\"}");
	is_str(member(o, "code"), "position-occupied", "a raised code is the problem's code");
	is_int(cJSON_GetObjectItem(o, "status")->valueint, 409, "  with its status");
	is_str(member(o, "occupant"), "QJ3FJKHF", "  facts are members");
	ok(cJSON_IsNumber(cJSON_GetObjectItem(o, "status")),
	   "  a fact never replaces a member of RFC 9457");
	cJSON_Delete(o);

	o = from_db("BB400", "\"Q\" is not a position such as A1", "placements[2].position", "",
	            "{\"code\":\"position-invalid\"}");
	is_str(member(o, "detail"), "placements[2].position \"Q\" is not a position such as A1",
	       "a raised field leads the detail");
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "errors"), 0);
	is_str(member(e, "field"), "placements[2].position", "  and is errors[0].field");
	cJSON_Delete(o);

	/* A function's list of refused items (bb_fail_list) is cut to the limit too. */
	bb_js_set_errors_max(2);
	o = from_db("BB400", "4 items are refused: see errors", "placements[0].position", "",
	            "{\"code\":\"position-invalid\",\"errors_omitted\":0,\"errors\":["
	            "{\"field\":\"placements[0].position\",\"message\":\"a\",\"item\":0},"
	            "{\"field\":\"placements[1].position\",\"message\":\"b\",\"item\":1},"
	            "{\"field\":\"placements[2].position\",\"message\":\"c\",\"item\":2},"
	            "{\"field\":\"placements[3].position\",\"message\":\"d\",\"item\":3}]}");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(o, "errors")), 2,
	       "limit 2: four refused items from the database, two listed");
	is_str(member(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "errors"), 1), "field"),
	       "placements[1].position", "  the first two");
	ok(cJSON_IsNumber(cJSON_GetObjectItem(o, "errors_omitted")) &&
	       cJSON_GetObjectItem(o, "errors_omitted")->valueint == 2,
	   "  errors_omitted 2 (a fact cannot set it)");
	is_str(member(o, "detail"), "4 items are refused: see errors", "  the detail counts all");
	cJSON_Delete(o);
	bb_js_set_errors_max(1);
	o = from_db("BB400", "2 items are refused: see errors", "placements[0].position", "",
	            "{\"code\":\"position-invalid\",\"errors\":["
	            "{\"field\":\"placements[0].position\",\"message\":\"a\",\"item\":0},"
	            "{\"field\":\"placements[1].position\",\"message\":\"b\",\"item\":1}]}");
	is_str(member(o, "detail"), "2 items are refused: see errors",
	       "limit 1: one item listed, yet the detail does not speak of one alone");
	cJSON_Delete(o);
	bb_js_set_errors_max(BB_JS_ERRORS_MAX_DEFAULT);

	o = from_db("BB409", "something", "", "", "{\"code\":\"no-such-code\"}");
	is_str(member(o, "code"), "conflict",
	       "a raised code missing from the table: the generic code of its status");
	cJSON_Delete(o);
	o = from_db("BB404", "no specimen X", "", "", NULL);
	is_str(member(o, "code"), "not-found", "no DETAIL at all: the generic code");
	cJSON_Delete(o);

	static const struct {
		const char *state, *constraint, *column, *code, *field;
		unsigned status;
	} pg[] = {
		{ "23505", "boxes_barcode_key", "", "already-exists", "barcode", 409 },
		{ "23505", "some_new_key", "", "already-exists", NULL, 409 },
		{ "23514", "specimens_notes_check", "", "invalid-value", "notes", 400 },
		{ "23514", "some_new_check", "", "invalid-value", NULL, 400 },
		{ "23503", "specimens_box_id_fkey", "", "invalid-reference", NULL, 400 },
		{ "23502", "", "unit", "value-required", "unit", 400 },
		{ "22003", "", "", "value-out-of-range", NULL, 400 },
		{ "22008", "", "", "invalid-value", NULL, 400 },
		{ "22001", "", "", "invalid-value", NULL, 400 },
		{ "22P02", "", "", "invalid-value", NULL, 400 },
	};
	for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++) {
		o = from_db(pg[i].state,
		            "new row for relation \"specimens\" violates check constraint \"x\"",
		            pg[i].column, pg[i].constraint, "Failing row contains (1, 2).");
		char *text = cJSON_PrintUnformatted(o);
		e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "errors"), 0);
		ok(strcmp(member(o, "code"), pg[i].code) == 0 &&
		       cJSON_GetObjectItem(o, "status")->valueint == (int)pg[i].status &&
		       strstr(text, "violates") == NULL && strstr(text, "relation") == NULL &&
		       strstr(text, "Failing row") == NULL &&
		       (pg[i].field == NULL ? e == NULL
		                            : strcmp(member(e, "field"), pg[i].field) == 0),
		   "SQLSTATE %s %s: %u %s%s%s, in our words (%s)", pg[i].state, pg[i].constraint,
		   pg[i].status, pg[i].code, pg[i].field ? " naming " : "",
		   pg[i].field ? pg[i].field : "", member(o, "detail"));
		free(text);
		cJSON_Delete(o);
	}
}

static int
load(struct srv_config *cfg, const char *const *args, char *errbuf, size_t errlen)
{
	char *argv[16];
	int argc = 0, rest;

	for (; args[argc] != NULL; argc++)
		argv[argc] = (char *)args[argc];
	FILE *err = fmemopen(errbuf, errlen, "w");
	int n = config_load(cfg, argc, argv, &rest, err);
	fclose(err);
	return n;
}

static void
configuration(void)
{
	struct srv_config cfg;
	char err[2048];

	unsetenv("BIOBANK_THREADS");
	unsetenv("BIOBANK_LISTEN");
	const char *none[] = { NULL };
	is_int(load(&cfg, none, err, sizeof(err)), 0, "the defaults are a valid configuration");
	is_str(cfg.listen_host, "127.0.0.1", "  listening on loopback");
	is_int(cfg.listen_port, 8080, "  port 8080");
	is_int(cfg.threads, 8, "  8 threads");
	is_int(cfg.body_limit, 1048576, "  1 MiB bodies");
	config_free(&cfg);

	setenv("BIOBANK_THREADS", "3", 1);
	const char *flag[] = { "--threads", "5", "--listen=[::1]:9000", NULL };
	is_int(load(&cfg, flag, err, sizeof(err)), 0, "flags and environment together");
	is_int(cfg.threads, 5, "  a flag wins over the environment");
	is_str(cfg.listen_host, "::1", "  an IPv6 loopback address");
	is_int(cfg.listen_port, 9000, "  and its port");
	config_free(&cfg);
	is_int(load(&cfg, none, err, sizeof(err)), 0, "the environment alone");
	is_int(cfg.threads, 3, "  is read");
	config_free(&cfg);
	unsetenv("BIOBANK_THREADS");

	const char *bad[] = { "--threads=999", "--listen=localhost:0", "--allow-plain-http=maybe",
		              NULL };
	/* Numbers are read by bb_parse_int64: digits only. */
	static const char *const signed_numbers[] = { "--threads=+4", "--threads= 4",
		                                      "--threads=4 ", "--listen=127.0.0.1:+80" };
	for (size_t i = 0; i < sizeof(signed_numbers) / sizeof(signed_numbers[0]); i++) {
		const char *one[] = { signed_numbers[i], NULL };

		is_int(load(&cfg, one, err, sizeof(err)), 1, "%s is refused", signed_numbers[i]);
		config_free(&cfg);
	}
	is_int(load(&cfg, bad, err, sizeof(err)), 3, "three bad settings are three problems");
	ok(strstr(err, "--threads") && strstr(err, "port from 1 to 65535") &&
	       strstr(err, "--allow-plain-http"),
	   "  each reported");
	config_free(&cfg);

	is_int(load(&cfg, none, err, sizeof(err)), 0, "the defaults again");
	is_int(cfg.log_format, LOG_FORMAT_TEXT, "the log format is text by default");
	is_int(cfg.problem_errors_max, 100, "a problem lists 100 errors by default");
	config_free(&cfg);
	const char *fmt[] = { "--log-format=json", "--problem-errors-max=7", NULL };
	is_int(load(&cfg, fmt, err, sizeof(err)), 0, "--log-format=json --problem-errors-max=7");
	ok(cfg.log_format == LOG_FORMAT_JSON && cfg.problem_errors_max == 7, "  are read");
	config_free(&cfg);
	const char *badfmt[] = { "--log-format=xml", "--problem-errors-max=0", NULL };
	is_int(load(&cfg, badfmt, err, sizeof(err)), 2, "--log-format=xml and a limit of 0");
	ok(strstr(err, "not text or json") != NULL, "  are refused (%s)", err);
	config_free(&cfg);

	const char *remote[] = { "--listen=0.0.0.0:8443", "--allow-plain-http", NULL };
	is_int(load(&cfg, remote, err, sizeof(err)), 0,
	       "a public address with allow_plain_http is accepted");
	config_free(&cfg);

	const char *rest[] = { "--threads=2", "extra", NULL };
	char *argv[] = { (char *)rest[0], (char *)rest[1] };
	int at;
	FILE *e = fmemopen(err, sizeof(err), "w");
	is_int(config_load(&cfg, 2, argv, &at, e), 0, "options stop at the first argument");
	fclose(e);
	is_int(at, 1, "  whose index is returned");
	config_free(&cfg);
}

/* What log_escape makes of s equals want. */
static void
escapes(const char *s, const char *want, const char *what)
{
	char out[256];

	log_escape(s, out, sizeof(out));
	is_str(out, want, "log: %s", what);
}

/* Lines logged by f in format, as written to standard error (caller frees). */
static char *
captured(enum log_format format, void (*f)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	struct bb_buf b = { 0 };
	char chunk[4096];
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	log_init(LOG_LEVEL_INFO, format);
	f();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	rewind(tmp);
	while ((n = fread(chunk, 1, sizeof(chunk), tmp)) > 0)
		bb_buf_append(&b, chunk, n);
	fclose(tmp);
	bb_buf_puts(&b, "");
	return bb_buf_steal(&b);
}

static void
forged(void)
{
	log_request_begin("00c0ffee00c0ffee");
	log_info("login failed for \"%s\" from %s", "eve\r\n2026-01-01T00:00:00Z warn x",
	         "10.0.0.1");
	log_request_end();
	log_request_line(&(struct log_request){ .req = "00c0ffee00c0ffee",
	                                        .method = "GET",
	                                        .path = "/a\n{\"level\":\"warn\"}\x1b[2J",
	                                        .status = 400,
	                                        .ms = 1.25,
	                                        .addr = "127.0.0.1" });
}

static void
long_line(void)
{
	char big[3000];

	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warnx("%s", big);
	log_request_line(&(struct log_request){
	    .req = "1", .method = "GET", .path = big, .status = 414, .addr = "::1" });
}

/* Lines in text, the number of them, each a JSON object in the JSON format. */
static int
line_count(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static bool
all_json(char *s)
{
	bool all = true;

	for (char *line = strtok(s, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		cJSON *j = cJSON_Parse(line);

		all = all && cJSON_IsObject(j) && cJSON_GetObjectItem(j, "msg") != NULL;
		cJSON_Delete(j);
	}
	return all;
}

/*
 * Log lines hold no control character from what they tell (log injection):
 * one place escapes every value, in both formats.
 */
static void
logging(void)
{
	escapes("plain text, é and 漢字", "plain text, é and 漢字", "text and UTF-8 are kept");
	escapes("a\nb\rc\td", "a\\nb\\rc\\td", "\\n \\r \\t");
	escapes("x\x1b[31m\x7f\x01", "x\\x1B[31m\\x7F\\x01", "other controls as \\xNN");
	escapes("back\\slash", "back\\\\slash", "a backslash is doubled, so escapes read one way");
	escapes("\xc2\x85 \xe2\x80\xa8 \xe2\x80\xae", "\\u0085 \\u2028 \\u202E",
	        "C1 NEL, the line separator and a bidi override as \\uNNNN");
	escapes("\xff\xc3(\xed\xa0\x80\xc0\xaf", "\\xFF\\xC3(\\xED\\xA0\\x80\\xC0\\xAF",
	        "bytes that are not UTF-8 (overlong, surrogate, cut) as \\xNN");

	char *text = captured(LOG_FORMAT_TEXT, forged);
	is_int(line_count(text), 2, "text: two messages with newlines are two lines");
	ok(strstr(text, " info req=00c0ffee00c0ffee login failed for \"eve\\r\\n2026") != NULL,
	   "  the login name escaped on its line");
	ok(strstr(text, "req=00c0ffee00c0ffee GET /a\\n{\"level\":\"warn\"}\\x1B[2J 400 1.2ms "
	                "user=- addr=127.0.0.1\n") != NULL,
	   "  the request line as before, its path escaped");
	free(text);

	char *json = captured(LOG_FORMAT_JSON, forged);
	is_int(line_count(json), 2, "json: two lines");
	char *second = strchr(json, '\n') + 1;
	cJSON *j = cJSON_Parse(second);
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "req")), "00c0ffee00c0ffee",
	       "  the request line: req");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "path")),
	       "/a\\n{\"level\":\"warn\"}\\x1B[2J", "  path, escaped once decoded");
	ok(cJSON_GetObjectItem(j, "status") && cJSON_GetObjectItem(j, "status")->valueint == 400 &&
	       cJSON_GetObjectItem(j, "ms") && cJSON_GetObjectItem(j, "user") == NULL,
	   "  status and ms as numbers, no user when there is none");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")), "info", "  level");
	cJSON_Delete(j);
	ok(all_json(json), "  every line parses");
	free(json);

	text = captured(LOG_FORMAT_TEXT, long_line);
	is_int(line_count(text), 2, "text: 3,000 newlines and a 3,000-byte path are two lines");
	ok(strlen(text) < 2 * 8192 && strstr(text, "...") != NULL, "  cut, and saying so");
	free(text);
	json = captured(LOG_FORMAT_JSON, long_line);
	is_int(line_count(json), 2, "json: also two lines");
	ok(all_json(json), "  still valid JSON once cut");
	free(json);
}

/* Whole numbers from outside: digits and nothing else. */
static void
whole_numbers(void)
{
	static const char *const bad[] = { "",
		                           "+1",
		                           "-1",
		                           " 1",
		                           "1 ",
		                           "1\t",
		                           "\t1",
		                           "0x1",
		                           "1e2",
		                           "1.0",
		                           "1_000",
		                           "１",
		                           "++1",
		                           "1+",
		                           "9223372036854775808",
		                           "99999999999999999999" };
	int64_t v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!bb_parse_int64(bad[i], 0, INT64_MAX, &v), "\"%s\" is not a whole number",
		   bad[i]);
	ok(bb_parse_int64("9223372036854775807", 0, INT64_MAX, &v) && v == INT64_MAX,
	   "INT64_MAX is read");
	ok(bb_parse_int64("0", 0, 5, &v) && v == 0, "0 is read");
	ok(!bb_parse_int64("6", 0, 5, &v) && !bb_parse_int64("0", 1, 5, &v),
	   "numbers out of range are refused");
	ok(!bb_parse_int64(NULL, 0, 5, &v), "NULL is refused");
}

/* The one cursor format: base64url of "KIND:[KEY]", the same as SQL's bb_cursor_make. */
static void
cursors(void)
{
	struct bb_arena a = { 0 };
	int64_t key = 0;

	/* encode(convert_to('specimens:[123]', 'UTF8'), 'base64') without padding */
	is_str(page_cursor_make(&a, PAGE_SPECIMENS, 123), "c3BlY2ltZW5zOlsxMjNd",
	       "a specimens cursor is bb_cursor_make('specimens', '[123]')");
	ok(page_cursor_read("c3BlY2ltZW5zOlsxMjNd", PAGE_SPECIMENS, &key) && key == 123,
	   "  and reads back as 123");
	ok(!page_cursor_read("c3BlY2ltZW5zOlsxMjNd", PAGE_BOXES, &key),
	   "  but is not a boxes cursor");
	ok(!page_cursor_read("c123", PAGE_SPECIMENS, &key) &&
	       !page_cursor_read("123", PAGE_LOCATIONS, &key),
	   "the old \"c123\" and \"123\" forms are not cursors");
	/* "specimens:[+1]" and "specimens:[1, 2]" */
	ok(!page_cursor_read("c3BlY2ltZW5zOlsrMV0", PAGE_SPECIMENS, &key) &&
	       !page_cursor_read("c3BlY2ltZW5zOlsxLCAyXQ", PAGE_SPECIMENS, &key),
	   "a one-number list's key is one whole number");
	/* "participants:[1, \"P-001\"]", as made by SQL, is checked and passed on */
	ok(page_cursor_read("cGFydGljaXBhbnRzOlsxLCAiUC0wMDEiXQ", PAGE_PARTICIPANTS, NULL),
	   "a participants cursor is a participants cursor");
	ok(!page_cursor_read("cGFydGljaXBhbnRzOlsxLCAiUC0wMDEiXQ", PAGE_AUDIT_LOG, NULL),
	   "  and not an audit-log cursor");
	ok(!page_cursor_read("cGFydGljaXBhbnRzOlsxLCAiUC0wMDEiXQ", PAGE_NONE, NULL),
	   "a list answered whole has no cursor");
	ok(!page_cursor_read("cGFydGljaXBhbnRzOlsxLCAiUC0wMDEiXQ==", PAGE_PARTICIPANTS, NULL),
	   "padding is not part of the format");
	bb_arena_free(&a);
}

/* The raw request target (uri.c): what is sound passes, each bad part is named. */
static void
raw_targets(void)
{
	static const struct {
		const char *uri, *field; /* field NULL: sound */
	} cases[] = {
		{ "/api/v1/specimens", NULL },
		{ "/api/v1/specimens?", NULL },
		{ "/api/v1/specimens?study=MASC&&type=serum&", NULL },
		{ "/api/v1/specimens?flag", NULL },
		{ "/api/v1/specimens?q=a+b%20c%2B", NULL },
		{ "/api/v1/boxes/%E6%9D%BF", NULL },
		{ "/x?a=1#frag%00", NULL },
		{ "/x%00", "path" },
		{ "/x%0", "path" },
		{ "/x%", "path" },
		{ "/x?a=%", "a" },
		{ "/x?a=%7F", "a" },
		{ "/x?a=%C0%AF", "a" },
		{ "/x?%FF=1", "query" },
		{ "/x?a=%09", "a" },
	};
	struct bb_arena a = { 0 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bb_js_errors errs = { 0 };
		bool sound = uri_check(cases[i].uri, &a, &errs);

		if (cases[i].field == NULL)
			ok(sound && errs.n == 0, "%s is sound", cases[i].uri);
		else
			ok(!sound && errs.n == 1 && strcmp(errs.list[0].field, cases[i].field) == 0,
			   "%s: one error, naming %s (%s)", cases[i].uri, cases[i].field,
			   errs.n ? errs.list[0].message : "none");
	}
	struct bb_js_errors errs = { 0 };
	ok(!uri_check("/x%00?a=%00&b=%FF", &a, &errs) && errs.n == 3,
	   "every bad part is listed, not the first");
	bb_arena_free(&a);
}

/* The size of a raw target, counted before libmicrohttpd stores its query. */
static void
target_limits(void)
{
	char *big = malloc(BB_URL_LIMIT + 2);
	size_t len, params;

	is_int(uri_over_limits("/api/v1/specimens", &len, &params), 0,
	       "a path alone is within limits");
	is_int(params, 0, "  with no parameters");
	is_int(uri_over_limits("/x?", &len, &params), 0, "an empty query");
	is_int(params, 0, "  has no parameters (libmicrohttpd stores none)");
	is_int(uri_over_limits("/x?a=1&&b", &len, &params), 0, "\"a=1&&b\"");
	is_int(params, 3, "  is three parameters, as libmicrohttpd splits it");
	memset(big, 'a', BB_URL_LIMIT + 1);
	big[0] = '/';
	big[BB_URL_LIMIT] = '\0';
	is_int(uri_over_limits(big, &len, &params), 0, "a target of exactly BB_URL_LIMIT bytes");
	big[BB_URL_LIMIT] = 'a';
	big[BB_URL_LIMIT + 1] = '\0';
	is_int(uri_over_limits(big, &len, &params), 414, "  one byte more is 414");
	is_int(len, BB_URL_LIMIT + 1, "  its length counted");
	struct bb_buf b = { 0 };
	bb_buf_printf(&b, "/x?p0");
	for (int i = 1; i < URI_PARAMS_MAX; i++)
		bb_buf_printf(&b, "&p%d", i);
	is_int(uri_over_limits(b.data, &len, &params), 0, "%d parameters are within limits",
	       URI_PARAMS_MAX);
	bb_buf_printf(&b, "&x");
	is_int(uri_over_limits(b.data, &len, &params), 400, "  one more is 400");
	is_int(params, URI_PARAMS_MAX + 1, "  counted");
	bb_buf_free(&b);
	free(big);
}

int
main(void)
{
	routing();
	target_limits();
	problems();
	problem_codes();
	problems_from_db();
	configuration();
	whole_numbers();
	cursors();
	raw_targets();
	logging();
	is_int(bind_check(stdout), 0, "every route binding reads only what its route has");
	return tap_done();
}
