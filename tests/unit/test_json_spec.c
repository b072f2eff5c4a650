/*
 * test_json_spec.c — request-body validation against a field table shaped
 * like a real one (a specimen with a participant and placements), plus the
 * RFC 3339 and date checks.
 */
#include "json_spec.h"

#include "../harness.h"

#include <cjson/cJSON.h>
#include <math.h>

enum { PT_CODE, PT_CONSENTED, PT__MAX };
static const struct bb_js_field participant_fields[PT__MAX] = {
	[PT_CODE] = { "code", BB_JS_STRING, BB_JS_REQUIRED, 3, 12 },
	[PT_CONSENTED] = { "consented", BB_JS_BOOL, BB_JS_REQUIRED },
};
static const struct bb_js_spec participant_spec = BB_JS_SPEC(participant_fields);

enum { PL_POSITION, PL_VOLUME, PL__MAX };
static const struct bb_js_field placement_fields[PL__MAX] = {
	[PL_POSITION] = { "position", BB_JS_STRING, BB_JS_REQUIRED, 2, 3 },
	[PL_VOLUME] = { "volume_ul", BB_JS_NUMBER, 0, 0, 10000 },
};
static const struct bb_js_spec placement_spec = BB_JS_SPEC(placement_fields);

static const char *const kinds[] = { "blood", "plasma", "serum", NULL };
static const char *const tag_words[] = { "urgent", "fragile", "study-x", NULL };

enum {
	F_KIND,
	F_EXTERNAL,
	F_COUNT,
	F_VOLUME,
	F_RATIO,
	F_FROZEN,
	F_COLLECTED_AT,
	F_COLLECTED_ON,
	F_PARTICIPANT,
	F_PLACEMENTS,
	F_TAGS,
	F_NOTE,
	F__MAX
};
static const struct bb_js_field specimen_fields[F__MAX] = {
	[F_KIND] = { "kind", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, kinds },
	[F_EXTERNAL] = { "external_id", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[F_COUNT] = { "count", BB_JS_INT, 0, 1, 96 },
	[F_VOLUME] = { "volume", BB_JS_NUMBER, 0, 0, 5000 },
	[F_RATIO] = { "ratio", BB_JS_NUMBER },
	[F_FROZEN] = { "frozen", BB_JS_BOOL },
	[F_COLLECTED_AT] = { "collected_at", BB_JS_TIME, BB_JS_REQUIRED },
	[F_COLLECTED_ON] = { "collected_on", BB_JS_DATE },
	[F_PARTICIPANT] = { "participant", BB_JS_OBJECT, BB_JS_REQUIRED, .sub = &participant_spec },
	[F_PLACEMENTS] = { "placements", BB_JS_ARRAY, 0, 1, 3, .sub = &placement_spec,
	                   .item = BB_JS_OBJECT },
	[F_TAGS] = { "tags", BB_JS_ARRAY, 0, 0, 4, tag_words, .item = BB_JS_STRING },
	[F_NOTE] = { "note", BB_JS_STRING, BB_JS_NULLABLE | BB_JS_REQUIRED, 0, 0 },
};
static const struct bb_js_spec specimen_spec = BB_JS_SPEC(specimen_fields);

/* A self-nesting spec, to reach the depth limit. */
static const struct bb_js_spec node_spec;
static const struct bb_js_field node_fields[] = {
	{ "child", BB_JS_OBJECT, 0, .sub = &node_spec },
	{ "list", BB_JS_ARRAY, 0, .sub = &node_spec, .item = BB_JS_OBJECT },
};
static const struct bb_js_spec node_spec = BB_JS_SPEC(node_fields);

struct run {
	struct bb_arena arena;
	cJSON *tree;
	struct bb_js_value *v;
	struct bb_js_errors errs;
	enum bb_err err;
};

static void
run_spec(struct run *r, const struct bb_js_spec *spec, const char *body, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->err = bb_js_parse(body, len, spec, &r->arena, &r->tree, &r->v, &r->errs);
}

static void
run(struct run *r, const char *body)
{
	run_spec(r, &specimen_spec, body, strlen(body));
}

static void
done(struct run *r)
{
	cJSON_Delete(r->tree);
	bb_arena_free(&r->arena);
}

static void
show(const struct run *r)
{
	for (size_t i = 0; i < r->errs.n; i++)
		tap_diag("  [%s] %s", r->errs.list[i].field, r->errs.list[i].message);
}

static bool
has_error(const struct run *r, const char *field, const char *part)
{
	for (size_t i = 0; i < r->errs.n; i++)
		if (strcmp(r->errs.list[i].field, field) == 0 &&
		    strstr(r->errs.list[i].message, part) != NULL)
			return true;
	return false;
}

/* The body with one base field set to a JSON fragment (or dropped when NULL). */
static const char *const base_fields[][2] = {
	{ "kind", "\"plasma\"" },
	{ "collected_at", "\"2024-02-29T09:30:00Z\"" },
	{ "participant", "{\"code\":\"P-0042\",\"consented\":true}" },
	{ "note", "null" },
};

static char *
body_with(const char *name, const char *fragment)
{
	struct bb_buf b = { 0 };
	bool replaced = false;
	const char *sep = "{";

	for (size_t i = 0; i < sizeof(base_fields) / sizeof(base_fields[0]); i++) {
		const char *val = base_fields[i][1];

		if (strcmp(base_fields[i][0], name) == 0) {
			replaced = true;
			if (fragment == NULL)
				continue;
			val = fragment;
		}
		bb_buf_printf(&b, "%s\"%s\":%s", sep, base_fields[i][0], val);
		sep = ",";
	}
	if (!replaced && fragment != NULL)
		bb_buf_printf(&b, "%s\"%s\":%s", sep, name, fragment);
	bb_buf_puts(&b, "}");
	return bb_buf_steal(&b);
}

/* Exactly one error, on field, containing part. */
static void
one_error(const char *name, const char *fragment, const char *field, const char *part)
{
	struct run r;
	char *body = body_with(name, fragment);

	run(&r, body);
	if (!ok(r.err == BB_EINVAL && r.errs.n == 1 && has_error(&r, field, part),
	        "%s = %s: one error on \"%s\" saying \"%s\"", name,
	        fragment ? fragment : "(absent)", field, part))
		show(&r);
	done(&r);
	free(body);
}

static void
accepted(const char *name, const char *fragment)
{
	struct run r;
	char *body = body_with(name, fragment);

	run(&r, body);
	if (!ok(r.err == BB_OK, "%s = %s is accepted", name, fragment))
		show(&r);
	done(&r);
	free(body);
}

static void
test_valid(void)
{
	struct run r;

	run(&r,
	    "{\"kind\":\"plasma\",\"external_id\":\"EXT-1\",\"count\":12,\"volume\":2.5,"
	    "\"ratio\":-1e300,\"frozen\":true,\"collected_at\":\"2024-02-29T09:30:00.250+01:00\","
	    "\"collected_on\":\"2024-02-29\","
	    "\"participant\":{\"code\":\"P-0042\",\"consented\":false},"
	    "\"placements\":[{\"position\":\"A1\",\"volume_ul\":250},{\"position\":\"B12\"}],"
	    "\"tags\":[\"urgent\",\"study-x\"],\"note\":\"h\xC3\xA9molys\xC3\xA9\"}");
	if (!ok(r.err == BB_OK && r.v != NULL, "a full valid body is accepted")) {
		show(&r);
		done(&r);
		return;
	}
	struct bb_js_value *v = r.v;
	is_str(v[F_KIND].s, "plasma", "kind");
	is_str(v[F_EXTERNAL].s, "EXT-1", "external_id");
	ok(v[F_COUNT].present && v[F_COUNT].i == 12, "count is 12");
	ok(v[F_VOLUME].present && v[F_VOLUME].d == 2.5, "volume is 2.5");
	ok(v[F_RATIO].present && v[F_RATIO].d == -1e300, "ratio is -1e300 (unbounded number)");
	ok(v[F_FROZEN].present && v[F_FROZEN].b, "frozen is true");
	is_str(v[F_COLLECTED_AT].s, "2024-02-29T09:30:00.250+01:00", "collected_at");
	is_str(v[F_COLLECTED_ON].s, "2024-02-29", "collected_on");
	struct bb_js_value *p = v[F_PARTICIPANT].obj;
	ok(v[F_PARTICIPANT].present && p != NULL, "participant is an object");
	if (p != NULL) {
		is_str(p[PT_CODE].s, "P-0042", "participant.code");
		ok(p[PT_CONSENTED].present && !p[PT_CONSENTED].b, "participant.consented is false");
	}
	is_int(v[F_PLACEMENTS].n, 2, "two placements");
	if (v[F_PLACEMENTS].n == 2) {
		struct bb_js_value *a = v[F_PLACEMENTS].items[0].obj,
		                   *b = v[F_PLACEMENTS].items[1].obj;
		is_str(a[PL_POSITION].s, "A1", "placements[0].position");
		ok(a[PL_VOLUME].present && a[PL_VOLUME].d == 250, "placements[0].volume_ul");
		is_str(b[PL_POSITION].s, "B12", "placements[1].position");
		ok(!b[PL_VOLUME].present, "placements[1].volume_ul is absent");
	}
	is_int(v[F_TAGS].n, 2, "two tags");
	if (v[F_TAGS].n == 2)
		is_str(v[F_TAGS].items[1].s, "study-x", "tags[1]");
	is_str(v[F_NOTE].s, "h\xC3\xA9molys\xC3\xA9", "note keeps its UTF-8");
	done(&r);

	char *minimal = body_with("", NULL);
	run(&r, minimal);
	if (!ok(r.err == BB_OK, "the minimal body is accepted"))
		show(&r);
	else
		ok(!r.v[F_NOTE].present && !r.v[F_COUNT].present && !r.v[F_PLACEMENTS].present,
		   "absent and null fields read as absent");
	done(&r);
	free(minimal);
}

static void
test_missing_unknown(void)
{
	one_error("kind", NULL, "kind", "is required");
	one_error("collected_at", NULL, "collected_at", "is required");
	one_error("participant", "{\"consented\":true}", "participant.code", "is required");
	one_error("participant", "{\"code\":\"P-1\",\"consented\":true,\"age\":40}",
	          "participant.age", "is not a known field");
	one_error("placements", "[{\"position\":\"A1\"},{\"volume_ul\":3}]",
	          "placements[1].position", "is required");
	one_error("placements", "[{\"position\":\"A1\",\"tube\":\"x\"}]", "placements[0].tube",
	          "is not a known field");
	one_error("colour", "\"red\"", "colour", "is not a known field");
	one_error("Kind", "\"blood\"", "Kind", "is not a known field");
	one_error("", "1", "", "is not a known field");
	one_error("note", NULL, "note", "is required");

	/* Every problem is reported, not just the first. */
	struct run r;
	run(&r, "{\"kind\":\"urine\",\"count\":0,\"extra\":1,\"participant\":{}}");
	if (!ok(r.err == BB_EINVAL && r.errs.n == 7, "seven problems, seven errors (%zu)",
	        r.errs.n))
		show(&r);
	ok(has_error(&r, "kind", "one of") && has_error(&r, "count", "between") &&
	       has_error(&r, "extra", "known") && has_error(&r, "participant.code", "required") &&
	       has_error(&r, "participant.consented", "required") &&
	       has_error(&r, "collected_at", "required") && has_error(&r, "note", "required"),
	   "each of them is named");
	done(&r);
}

static void
test_types(void)
{
	one_error("kind", "5", "kind", "must be a string");
	one_error("count", "\"5\"", "count", "must be an integer");
	one_error("count", "2.5", "count", "must be an integer");
	one_error("count", "1e20", "count", "must be an integer");
	one_error("volume", "\"2.5\"", "volume", "must be a number");
	one_error("volume", "true", "volume", "must be a number");
	one_error("frozen", "1", "frozen", "must be true or false");
	one_error("frozen", "\"true\"", "frozen", "must be true or false");
	one_error("collected_at", "\"yesterday\"", "collected_at", "RFC 3339");
	one_error("collected_at", "1709198400", "collected_at", "RFC 3339");
	one_error("collected_on", "\"2024-13-01\"", "collected_on", "a date");
	one_error("collected_on", "\"2023-02-29\"", "collected_on", "a date");
	one_error("participant", "[]", "participant", "must be an object");
	one_error("participant", "\"P-1\"", "participant", "must be an object");
	one_error("placements", "{\"position\":\"A1\"}", "placements", "must be an array");
	one_error("tags", "[\"urgent\",5]", "tags[1]", "must be a string");
	one_error("placements", "[{\"position\":\"A1\"},\"B2\"]", "placements[1]",
	          "must be an object");
	one_error("participant", "{\"code\":\"P-1\",\"consented\":\"yes\"}",
	          "participant.consented", "true or false");
	accepted("count", "96");
	accepted("count", "1");
	accepted("ratio", "1e308");
}

static void
test_bounds(void)
{
	one_error("count", "0", "count", "between 1 and 96");
	one_error("count", "97", "count", "between 1 and 96");
	one_error("count", "-9007199254740993", "count", "must be an integer");
	one_error("volume", "5000.5", "volume", "between 0 and 5000");
	one_error("volume", "-0.1", "volume", "between 0 and 5000");
	accepted("volume", "0");
	accepted("volume", "5000");
	one_error("external_id", "\"\"", "external_id", "must not be empty");
	char *long_id = bb_asprintf("\"%065d\"", 7);
	one_error("external_id", long_id, "external_id", "1 to 64 characters");
	free(long_id);
	/* Length is in characters: 64 two-byte characters are 64, not 128. */
	struct bb_buf b = { 0 };
	bb_buf_puts(&b, "\"");
	for (int i = 0; i < 64; i++)
		bb_buf_puts(&b, "\xC3\xA9");
	bb_buf_puts(&b, "\"");
	accepted("external_id", b.data);
	bb_buf_free(&b);
	one_error("participant", "{\"code\":\"P1\",\"consented\":true}", "participant.code",
	          "3 to 12 characters");
	one_error("placements", "[]", "placements", "1 to 3 items");
	one_error("placements",
	          "[{\"position\":\"A1\"},{\"position\":\"A2\"},{\"position\":\"A3\"},"
	          "{\"position\":\"A4\"}]",
	          "placements", "1 to 3 items");
	one_error("placements", "[{\"position\":\"A1\",\"volume_ul\":10001}]",
	          "placements[0].volume_ul", "between 0 and 10000");
	one_error("tags", "[\"urgent\",\"urgent\",\"urgent\",\"urgent\",\"urgent\"]", "tags",
	          "0 to 4 items");
	accepted("tags", "[]");
}

static void
test_choices(void)
{
	one_error("kind", "\"urine\"", "kind", "must be one of: blood, plasma, serum");
	one_error("kind", "\"Plasma\"", "kind", "must be one of");
	accepted("kind", "\"serum\"");
	one_error("tags", "[\"urgent\",\"later\"]", "tags[1]", "must be one of: urgent");
}

static void
test_duplicates_nulls(void)
{
	one_error("kind", "\"blood\",\"kind\":\"serum\"", "kind", "appears more than once");
	one_error("participant", "{\"code\":\"P-1\",\"consented\":true,\"code\":\"P-2\"}",
	          "participant.code", "appears more than once");
	/* A null first must not hide the second value. */
	one_error("external_id", "null,\"external_id\":\"EXT-2\"", "external_id",
	          "appears more than once");
	one_error("note", "null,\"note\":null", "note", "appears more than once");
	one_error("kind", "null", "kind", "must not be null");
	one_error("count", "null", "count", "must not be null");
	one_error("participant", "null", "participant", "must not be null");
	accepted("external_id", "null");
}

static void
expect_body_error(const char *body, size_t len, const char *part, const char *name)
{
	struct run r;

	run_spec(&r, &specimen_spec, body, len);
	/* A body that is JSON but not an object still hands back its tree to free. */
	bool parsed = strstr(part, "JSON object") != NULL;
	if (!ok(r.err == BB_EINVAL && r.errs.n == 1 && has_error(&r, "", part) &&
	            (r.tree == NULL) == !parsed,
	        "%s: rejected saying \"%s\"", name, part))
		show(&r);
	done(&r);
}

static void
test_bodies(void)
{
	const char *good =
	    "{\"kind\":\"plasma\",\"collected_at\":\"2024-02-29T09:30:00Z\","
	    "\"participant\":{\"code\":\"P-0042\",\"consented\":true},\"note\":null}";
	char buf[512];

	expect_body_error("", 0, "empty", "empty body");
	expect_body_error("{}", 0, "empty", "zero length");
	expect_body_error("{\"kind\":\"\xC3\x28\"}", 13, "not valid UTF-8", "invalid UTF-8");
	expect_body_error("{\"kind\":\"\xED\xA0\x80\"}", 14, "not valid UTF-8",
	                  "UTF-8 encoded surrogate");
	expect_body_error("{\"kind\":\"a\0b\"}", 14, "NUL byte", "raw NUL");
	expect_body_error("{\"kind\":\"a\\u0000b\"}", 19, "\\u0000", "escaped NUL");
	expect_body_error("{\"kind\\u0000\":\"a\"}", 18, "\\u0000", "escaped NUL in a key");
	expect_body_error("{\"kind\":", 8, "not valid JSON", "cut short");
	expect_body_error("{'kind':'plasma'}", 17, "not valid JSON", "single quotes");

	snprintf(buf, sizeof(buf), "%s x", good);
	expect_body_error(buf, strlen(buf), "after the JSON value", "trailing garbage");
	snprintf(buf, sizeof(buf), "%s%s", good, good);
	expect_body_error(buf, strlen(buf), "after the JSON value", "two objects");
	expect_body_error("[]", 2, "must be a JSON object", "an array body");
	expect_body_error("42", 2, "must be a JSON object", "a number body");
	expect_body_error("null", 4, "must be a JSON object", "null body");

	struct run r;
	snprintf(buf, sizeof(buf), " \r\n\t%s \r\n\t", good);
	run_spec(&r, &specimen_spec, buf, strlen(buf));
	ok(r.err == BB_OK, "whitespace around the object is fine");
	done(&r);

	/* The body need not be NUL-terminated: only len bytes are read. */
	snprintf(buf, sizeof(buf), "%sGARBAGE", good);
	run_spec(&r, &specimen_spec, buf, strlen(good));
	ok(r.err == BB_OK, "bytes past len are not read");
	done(&r);

	/* An escaped backslash before u0000 is text, not a NUL. */
	run(&r,
	    "{\"kind\":\"plasma\",\"collected_at\":\"2024-02-29T09:30:00Z\","
	    "\"participant\":{\"code\":\"P-0042\",\"consented\":true},\"note\":\"a\\\\u0000\"}");
	ok(r.err == BB_OK && r.v != NULL && strcmp(r.v[F_NOTE].s, "a\\u0000") == 0,
	   "\\\\u0000 is a backslash and text");
	done(&r);
	run(&r, "{\"kind\":\"plasma\",\"collected_at\":\"2024-02-29T09:30:00Z\","
	        "\"participant\":{\"code\":\"P-0042\",\"consented\":true},\"note\":"
	        "\"\\u00e9\\u0001\"}");
	ok(r.err == BB_OK && r.v != NULL && strcmp(r.v[F_NOTE].s, "\xC3\xA9\x01") == 0,
	   "other escapes decode");
	done(&r);

	/* Depth is capped before the stack is at risk. */
	struct bb_buf deep = { 0 };
	for (int i = 0; i < 40; i++)
		bb_buf_puts(&deep, "{\"child\":");
	bb_buf_puts(&deep, "{}");
	for (int i = 0; i < 40; i++)
		bb_buf_puts(&deep, "}");
	run_spec(&r, &node_spec, deep.data, deep.len);
	ok(r.err == BB_EINVAL && r.errs.n == 1 && strstr(r.errs.list[0].message, "too deeply"),
	   "40 nested objects: nested too deeply");
	if (r.errs.n == 1)
		ok(strncmp(r.errs.list[0].field, "child.child.child.child", 23) == 0,
		   "the path names where (%.40s...)", r.errs.list[0].field);
	done(&r);
	bb_buf_free(&deep);
	const char *nested = "{\"list\":[{\"child\":{\"list\":[{},{\"x\":1}]}}]}";
	run_spec(&r, &node_spec, nested, strlen(nested));
	ok(r.err == BB_EINVAL && r.errs.n == 1 && has_error(&r, "list[0].child.list[1].x", "known"),
	   "indexed and dotted paths compose");
	done(&r);

	struct bb_arena a = { 0 };
	struct bb_js_errors errs = { 0 };
	struct bb_js_value *out = NULL;
	cJSON *arr = cJSON_CreateArray();
	ok(bb_js_validate(arr, &specimen_spec, &a, &out, &errs) == BB_EINVAL && errs.n == 1 &&
	       out == NULL,
	   "bb_js_validate refuses a non-object");
	cJSON_Delete(arr);
	bb_arena_free(&a);
}

/*
 * A list keeps bb_js_errors_max() errors and counts the rest: the same seven
 * problems with a limit of 3 are 3 kept (the first three, in order) and 4
 * omitted; nested errors past the limit are counted too; and errors a caller
 * adds after validation (a handler's own checks) obey the same limit.
 */
static void
test_errors_max(void)
{
	struct run r;

	is_int(bb_js_errors_max(), BB_JS_ERRORS_MAX_DEFAULT, "the default limit is %d",
	       BB_JS_ERRORS_MAX_DEFAULT);
	bb_js_set_errors_max(3);
	run(&r, "{\"kind\":\"urine\",\"count\":0,\"extra\":1,\"participant\":{}}");
	ok(r.err == BB_EINVAL && r.errs.n == 3 && r.errs.omitted == 4 &&
	       bb_js_errors_total(&r.errs) == 7,
	   "limit 3: seven problems are three kept and four counted (%zu + %zu)", r.errs.n,
	   r.errs.omitted);
	ok(strcmp(r.errs.list[0].field, "kind") == 0 && strcmp(r.errs.list[2].field, "extra") == 0,
	   "  the first three, in the body's order");
	done(&r);

	run(&r, "{\"a\":1,\"b\":2,\"c\":3,\"placements\":[{},{},{}],\"kind\":\"blood\","
	        "\"collected_at\":\"2026-03-01T09:30:00Z\",\"note\":\"n\","
	        "\"participant\":{\"code\":\"P-1\",\"consented\":true}}");
	ok(r.err == BB_EINVAL && r.errs.n == 3 && r.errs.omitted == 3,
	   "errors nested past the limit are counted (%zu + %zu)", r.errs.n, r.errs.omitted);
	done(&r);

	/* A full list still refuses the body: an error past the limit is an error. */
	struct bb_arena a = { 0 };
	struct bb_js_errors errs = { 0 };
	struct bb_js_value *out = NULL;
	cJSON *ok_body =
	    cJSON_Parse("{\"kind\":\"blood\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	                "\"note\":\"n\",\"participant\":{\"code\":\"P-1\","
	                "\"consented\":true}}");
	for (int i = 0; i < 3; i++)
		bb_js_error_add(&errs, &a, "earlier", "an earlier check's error %d", i);
	cJSON *bad = cJSON_Parse("{\"kind\":\"urine\"}");
	ok(bb_js_validate(bad, &specimen_spec, &a, &out, &errs) == BB_EINVAL && errs.n == 3 &&
	       errs.omitted > 0 && out == NULL,
	   "a body bad only past the limit is still refused (%zu omitted)", errs.omitted);
	struct bb_js_errors none = { 0 };
	ok(bb_js_validate(ok_body, &specimen_spec, &a, &out, &none) == BB_OK && out != NULL,
	   "  and a good one still passes");
	cJSON_Delete(bad);
	cJSON_Delete(ok_body);
	bb_arena_free(&a);

	/* 100,000 unknown members: the limit's worth of errors, each of the rest counted. */
	struct bb_buf big = { 0 };
	bb_js_set_errors_max(BB_JS_ERRORS_MAX_DEFAULT);
	bb_buf_puts(&big, "{");
	for (int i = 0; i < 100000; i++)
		bb_buf_puts(&big, i ? ",\"x\":1" : "\"x\":1");
	bb_buf_puts(&big, "}");
	run_spec(&r, &specimen_spec, big.data, big.len);
	ok(r.err == BB_EINVAL && r.errs.n == 100 && bb_js_errors_total(&r.errs) == 100000 + 4,
	   "100,000 unknown members and 4 missing fields: 100 kept, %zu counted in all",
	   bb_js_errors_total(&r.errs));
	done(&r);
	bb_buf_free(&big);
}

static void
test_times(void)
{
	static const char *const good_times[] = {
		"2024-02-29T09:30:00Z",
		"2000-02-29T00:00:00z",
		"2024-02-29t23:59:59.123456+05:30",
		"2024-12-31 23:59:60-00:00",
		"1970-01-01T00:00:00.0Z",
		"0001-01-01T00:00:00+23:59",
	};
	static const char *const bad_times[] = {
		"",
		"2024-02-29",
		"2024-02-29T09:30:00",
		"2023-02-29T09:30:00Z",
		"1900-02-29T09:30:00Z",
		"2024-04-31T09:30:00Z",
		"2024-01-01T24:00:00Z",
		"2024-01-01T23:60:00Z",
		"2024-01-01T23:59:61Z",
		"2024-01-01T10:00:00.Z",
		"2024-01-01T10:00:00+0530",
		"2024-01-01T10:00:00+24:00",
		"2024-01-01T10:00:00+05:60",
		"2024-1-01T10:00:00Z",
		"2024-01-01T1:00:00Z",
		"2024-01-01X10:00:00Z",
		"2024-01-01T10:00:00ZZ",
		"2024-01-01T10:00:00Z ",
		" 2024-01-01T10:00:00Z",
		"0000-01-01T00:00:00Z",
		"2024-01-01T10:00:00+05:30:00",
		"2024-01-01T10:00:00.123",
	};

	for (size_t i = 0; i < sizeof(good_times) / sizeof(good_times[0]); i++)
		ok(bb_is_rfc3339(good_times[i]), "RFC 3339: %s", good_times[i]);
	for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++)
		ok(!bb_is_rfc3339(bad_times[i]), "not RFC 3339: \"%s\"", bad_times[i]);

	static const char *const good_dates[] = { "2024-02-29", "2000-02-29", "2023-02-28",
		                                  "1999-12-31", "2024-01-31", "2024-04-30" };
	static const char *const bad_dates[] = { "2023-02-29", "1900-02-29",  "2100-02-29",
		                                 "2024-02-30", "2024-04-31",  "2024-00-10",
		                                 "2024-13-01", "2024-12-32",  "2024-12-00",
		                                 "0000-01-01", "2024-1-1",    "2024/01/01",
		                                 "20240101",   "2024-01-01T", "" };
	for (size_t i = 0; i < sizeof(good_dates) / sizeof(good_dates[0]); i++)
		ok(bb_is_date(good_dates[i]), "date: %s", good_dates[i]);
	for (size_t i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++)
		ok(!bb_is_date(bad_dates[i]), "not a date: \"%s\"", bad_dates[i]);
	/* Every day of a leap year and a common year. */
	int leap = 0, common = 0;
	for (int m = 1; m <= 12; m++)
		for (int d = 1; d <= 31; d++) {
			char s[16];
			snprintf(s, sizeof(s), "2024-%02d-%02d", m, d);
			leap += bb_is_date(s);
			snprintf(s, sizeof(s), "2023-%02d-%02d", m, d);
			common += bb_is_date(s);
		}
	is_int(leap, 366, "2024 has 366 valid dates");
	is_int(common, 365, "2023 has 365 valid dates");
}

/* Strings lose the blanks around them before their bounds and choices are
 * checked; a BB_JS_VERBATIM string (a password) keeps them. */
enum { TR_NAME, TR_SECRET, TR_TAGS, TR__MAX };
static const struct bb_js_field trim_fields[TR__MAX] = {
	[TR_NAME] = { "name", BB_JS_STRING, BB_JS_REQUIRED, 1, 4 },
	[TR_SECRET] = { "secret", BB_JS_STRING, BB_JS_VERBATIM, 1, 40 },
	[TR_TAGS] = { "tags", BB_JS_ARRAY, 0, 0, 4, tag_words, .item = BB_JS_STRING },
};
static const struct bb_js_spec trim_spec = BB_JS_SPEC(trim_fields);

static void
test_trim(void)
{
	struct run r;
	const char *body = "{\"name\":\" \\tm12 \\r\\n\",\"secret\":\" pass word \","
	                   "\"tags\":[\"urgent \",\" fragile\"]}";

	run_spec(&r, &trim_spec, body, strlen(body));
	if (!ok(r.err == BB_OK, "a 4-character name between blanks fits its 4-character bound"))
		show(&r);
	if (r.err == BB_OK) {
		is_str(r.v[TR_NAME].s, "m12", "  the name without blanks around");
		is_str(r.v[TR_SECRET].s, " pass word ", "  a verbatim string kept as sent");
		ok(r.v[TR_TAGS].n == 2 && strcmp(r.v[TR_TAGS].items[0].s, "urgent") == 0 &&
		       strcmp(r.v[TR_TAGS].items[1].s, "fragile") == 0,
		   "  array items trimmed before their choices are checked");
	}
	done(&r);

	body = "{\"name\":\"  \\t \"}";
	run_spec(&r, &trim_spec, body, strlen(body));
	ok(r.err == BB_EINVAL && has_error(&r, "name", "must not be empty"),
	   "a name of blanks only is empty");
	done(&r);
	body = "{\"name\":\"a  b\"}";
	run_spec(&r, &trim_spec, body, strlen(body));
	ok(r.err == BB_OK && strcmp(r.v[TR_NAME].s, "a  b") == 0, "blanks inside are kept");
	done(&r);
}

/* BB_JS_OR_LIST: a count, or a list of objects, bounded the same. */
enum { OL_TUBE, OL__MAX };
static const struct bb_js_field ol_tube_fields[OL__MAX] = {
	[OL_TUBE] = { "tube", BB_JS_STRING, BB_JS_REQUIRED, 1, 8 },
};
static const struct bb_js_spec ol_tube_spec = BB_JS_SPEC(ol_tube_fields);
enum { OL_ALIQUOTS, OLB__MAX };
static const struct bb_js_field ol_fields[OLB__MAX] = {
	[OL_ALIQUOTS] = { "aliquots", BB_JS_INT, BB_JS_OR_LIST, 0, 2, .sub = &ol_tube_spec,
	                  .item = BB_JS_OBJECT },
};
static const struct bb_js_spec ol_spec = BB_JS_SPEC(ol_fields);

static void
test_or_list(void)
{
	struct run r;
	const char *body = "{\"aliquots\":2}";

	run_spec(&r, &ol_spec, body, strlen(body));
	ok(r.err == BB_OK && r.v[OL_ALIQUOTS].i == 2 && r.v[OL_ALIQUOTS].items == NULL,
	   "an integer where a count or a list is allowed: the count");
	done(&r);
	body = "{\"aliquots\":[{\"tube\":\"FX1\"},{\"tube\":\"FX2\"}]}";
	run_spec(&r, &ol_spec, body, strlen(body));
	ok(r.err == BB_OK && r.v[OL_ALIQUOTS].n == 2 &&
	       strcmp(r.v[OL_ALIQUOTS].items[1].obj[OL_TUBE].s, "FX2") == 0,
	   "a list there: its items, validated by the sub-spec");
	done(&r);
	body = "{\"aliquots\":[{\"tube\":\"FX1\"},{\"tube\":\"FX2\"},{\"tube\":\"FX3\"}]}";
	run_spec(&r, &ol_spec, body, strlen(body));
	ok(r.err == BB_EINVAL && has_error(&r, "aliquots", "must have 0 to 2 items"),
	   "a list longer than the bound is refused as the integer would be");
	done(&r);
	body = "{\"aliquots\":[{\"tube\":\"\"}]}";
	run_spec(&r, &ol_spec, body, strlen(body));
	ok(r.err == BB_EINVAL && has_error(&r, "aliquots[0].tube", "must not be empty"),
	   "an item's field is named by its path");
	done(&r);
	body = "{\"aliquots\":\"4\"}";
	run_spec(&r, &ol_spec, body, strlen(body));
	ok(r.err == BB_EINVAL && has_error(&r, "aliquots", "must be an integer or an array"),
	   "a string is neither");
	done(&r);
}

int
main(void)
{
	test_valid();
	test_missing_unknown();
	test_types();
	test_bounds();
	test_choices();
	test_duplicates_nulls();
	test_bodies();
	test_errors_max();
	test_times();
	test_trim();
	test_or_list();
	(void)tap_skip_all; /* header-only harness: nothing here is skipped */
	return tap_done();
}
