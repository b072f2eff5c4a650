/* json_spec.c — validate JSON bodies against field tables (see json_spec.h). */
#include "json_spec.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { DEPTH_MAX = 16 };

/* Written once by bb_js_set_errors_max() before threads start, read-only afterwards. */
static size_t errors_max = BB_JS_ERRORS_MAX_DEFAULT;

void
bb_js_set_errors_max(size_t max)
{
	errors_max = max > 0 ? max : 1;
}

size_t
bb_js_errors_max(void)
{
	return errors_max;
}

/* Whether the next error is kept: only then is its path worth making. */
static bool
listing(const struct bb_js_errors *e)
{
	return e->n < errors_max;
}

void
bb_js_error_add(struct bb_js_errors *e, struct bb_arena *a, const char *field, const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	if (!listing(e)) {
		e->omitted++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		struct bb_js_error *list = bb_arena_alloc(a, cap * sizeof(*list));

		if (e->n > 0)
			memcpy(list, e->list, e->n * sizeof(*list));
		e->list = list;
		e->cap = cap;
	}
	e->list[e->n].field = bb_arena_strdup(a, field);
	e->list[e->n].message = bb_arena_strdup(a, msg);
	e->n++;
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static bool
valid_ymd(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	int max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max;
}

bool
bb_is_date(const char *s)
{
	if (strlen(s) != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2))
		return false;
	return valid_ymd(num(s, 4), num(s + 5, 2), num(s + 8, 2));
}

bool
bb_is_rfc3339(const char *s)
{
	char date[11];

	if (strlen(s) < 20)
		return false;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!bb_is_date(date) || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return false;
	const char *t = s + 11;
	if (!digits(t, 2) || t[2] != ':' || !digits(t + 3, 2) || t[5] != ':' || !digits(t + 6, 2))
		return false;
	if (num(t, 2) > 23 || num(t + 3, 2) > 59 || num(t + 6, 2) > 60)
		return false;
	t += 8;
	if (*t == '.') {
		t++;
		if (!digits(t, 1))
			return false;
		while (*t >= '0' && *t <= '9')
			t++;
	}
	if ((*t == 'Z' || *t == 'z') && t[1] == '\0')
		return true;
	if ((*t == '+' || *t == '-') && digits(t + 1, 2) && t[3] == ':' && digits(t + 4, 2) &&
	    t[6] == '\0')
		return num(t + 1, 2) <= 23 && num(t + 4, 2) <= 59;
	return false;
}

static const char *const type_names[BB_JS_TYPE__MAX] = {
	[BB_JS_STRING] = "a string",
	[BB_JS_INT] = "an integer",
	[BB_JS_NUMBER] = "a number",
	[BB_JS_BOOL] = "true or false",
	[BB_JS_TIME] = "an RFC 3339 date-time such as 2026-03-01T09:30:00Z",
	[BB_JS_DATE] = "a date such as 2026-03-01",
	[BB_JS_OBJECT] = "an object",
	[BB_JS_ARRAY] = "an array",
};

/*
 * People type and paste blanks around text ("M12 ", " Plasma spill"); a
 * stored value with them reads as another value (a separate inventory row,
 * a note that looks empty). Leading and trailing ASCII blanks are removed
 * here, the one place every body string passes, before lengths and choices
 * are checked. Returns s itself when there is nothing to remove.
 */
static const char *
trim_blanks(const char *s, struct bb_arena *a)
{
	static const char blanks[] = " \t\r\n\v\f";
	size_t len;

	s += strspn(s, blanks);
	len = strlen(s);
	while (len > 0 && strchr(blanks, s[len - 1]) != NULL)
		len--;
	return s[len] == '\0' ? s : bb_arena_strndup(a, s, len);
}

static void validate_object(const cJSON *obj, const struct bb_js_spec *spec, struct bb_arena *a,
                            const char *path, int depth, struct bb_js_value *vals,
                            struct bb_js_errors *errs);

static bool
check_choices(const struct bb_js_field *f, const char *s)
{
	if (f->choices == NULL)
		return true;
	for (const char *const *c = f->choices; *c != NULL; c++)
		if (strcmp(*c, s) == 0)
			return true;
	return false;
}

static void
choices_text(const struct bb_js_field *f, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (const char *const *c = f->choices; *c != NULL && used < outlen; c++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		                         c == f->choices ? "" : ", ", *c);
}

/* Check one JSON value of type t (with f's bounds) and store it in v. */
static void
validate_value(const cJSON *j, const struct bb_js_field *f, enum bb_js_type t, struct bb_arena *a,
               const char *path, int depth, struct bb_js_value *v, struct bb_js_errors *errs)
{
	bool bounded = f->min != 0 || f->max != 0;

	switch (t) {
	case BB_JS_STRING:
	case BB_JS_TIME:
	case BB_JS_DATE: {
		if (!cJSON_IsString(j) || j->valuestring == NULL) {
			bb_js_error_add(errs, a, path, "must be %s", type_names[t]);
			return;
		}
		const char *s = j->valuestring;
		if (t == BB_JS_STRING && !(f->flags & BB_JS_VERBATIM))
			s = trim_blanks(s, a);
		if (t == BB_JS_TIME && !bb_is_rfc3339(s)) {
			bb_js_error_add(errs, a, path, "must be %s", type_names[t]);
			return;
		}
		if (t == BB_JS_DATE && !bb_is_date(s)) {
			bb_js_error_add(errs, a, path, "must be %s", type_names[t]);
			return;
		}
		size_t n = utf8_chars(s);
		if (bounded && ((int64_t)n < f->min || (int64_t)n > f->max)) {
			if (f->min == f->max)
				bb_js_error_add(errs, a, path, "must be %lld characters long",
				                (long long)f->min);
			else if (f->min > 0 && n == 0)
				bb_js_error_add(errs, a, path, "must not be empty");
			else
				bb_js_error_add(errs, a, path,
				                "must be %lld to %lld characters long",
				                (long long)f->min, (long long)f->max);
			return;
		}
		if (!check_choices(f, s)) {
			char list[512];

			choices_text(f, list, sizeof(list));
			bb_js_error_add(errs, a, path, "must be one of: %s", list);
			return;
		}
		v->s = s;
		break;
	}
	case BB_JS_INT:
	case BB_JS_NUMBER: {
		if (t == BB_JS_INT && (f->flags & BB_JS_OR_LIST) && cJSON_IsArray(j)) {
			validate_value(j, f, BB_JS_ARRAY, a, path, depth, v, errs);
			return;
		}
		if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble)) {
			if (t == BB_JS_INT && (f->flags & BB_JS_OR_LIST))
				bb_js_error_add(errs, a, path, "must be an integer or an array");
			else
				bb_js_error_add(errs, a, path, "must be %s", type_names[t]);
			return;
		}
		double d = j->valuedouble;
		/* Past 2^53 a double no longer holds every integer: 2^53 + 1 reads as 2^53. */
		if (t == BB_JS_INT && (d != floor(d) || fabs(d) >= 9007199254740992.0)) {
			bb_js_error_add(errs, a, path, "must be %s", type_names[t]);
			return;
		}
		if (bounded && (d < (double)f->min || d > (double)f->max)) {
			bb_js_error_add(errs, a, path, "must be between %lld and %lld",
			                (long long)f->min, (long long)f->max);
			return;
		}
		v->d = d;
		/* Converting a double out of int64_t's range is undefined behaviour. */
		if (t == BB_JS_INT)
			v->i = (int64_t)d;
		break;
	}
	case BB_JS_BOOL:
		if (!cJSON_IsBool(j)) {
			bb_js_error_add(errs, a, path, "must be %s", type_names[t]);
			return;
		}
		v->b = cJSON_IsTrue(j);
		break;
	case BB_JS_OBJECT:
		if (!cJSON_IsObject(j)) {
			bb_js_error_add(errs, a, path, "must be %s", type_names[t]);
			return;
		}
		if (depth >= DEPTH_MAX) {
			bb_js_error_add(errs, a, path, "is nested too deeply");
			return;
		}
		v->obj = bb_arena_alloc(a, f->sub->count * sizeof(*v->obj));
		validate_object(j, f->sub, a, path, depth + 1, v->obj, errs);
		break;
	case BB_JS_ARRAY: {
		if (!cJSON_IsArray(j)) {
			bb_js_error_add(errs, a, path, "must be %s", type_names[t]);
			return;
		}
		size_t n = (size_t)cJSON_GetArraySize(j);
		if (bounded && ((int64_t)n < f->min || (int64_t)n > f->max)) {
			bb_js_error_add(errs, a, path, "must have %lld to %lld items",
			                (long long)f->min, (long long)f->max);
			return;
		}
		if (depth >= DEPTH_MAX) {
			bb_js_error_add(errs, a, path, "is nested too deeply");
			return;
		}
		/* Items carry the field's choices and sub-spec but not its count bounds. */
		struct bb_js_field item = *f;
		item.min = item.max = 0;
		v->items = bb_arena_alloc(a, (n ? n : 1) * sizeof(*v->items));
		v->n = n;
		size_t i = 0;
		for (const cJSON *c = j->child; c != NULL; c = c->next, i++) {
			const char *ipath =
			    listing(errs) ? bb_arena_printf(a, "%s[%zu]", path, i) : "";

			v->items[i].present = true;
			validate_value(c, &item, f->item, a, ipath, depth + 1, &v->items[i], errs);
		}
		break;
	}
	case BB_JS_TYPE__MAX:
		bb_js_error_add(errs, a, path, "has no valid type in its specification");
		return;
	}
	v->present = true;
}

/*
 * "path.name", made only while errors are kept: once the list is full every
 * later error, nested ones included, is only counted, and a body of 170,000
 * members does not cost 170,000 paths.
 */
static const char *
member_path(struct bb_arena *a, const struct bb_js_errors *errs, const char *path, const char *name)
{
	if (!listing(errs))
		return "";
	return *path ? bb_arena_printf(a, "%s.%s", path, name) : bb_arena_strdup(a, name);
}

static void
validate_object(const cJSON *obj, const struct bb_js_spec *spec, struct bb_arena *a,
                const char *path, int depth, struct bb_js_value *vals, struct bb_js_errors *errs)
{
	/* Seen, not present: a null value reads as absent but still counts once. */
	bool *seen = bb_arena_alloc(a, spec->count ? spec->count : 1);

	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		const char *name = c->string ? c->string : "";
		const char *fpath = member_path(a, errs, path, name);
		size_t k;

		for (k = 0; k < spec->count; k++)
			if (spec->fields[k].name != NULL && strcmp(spec->fields[k].name, name) == 0)
				break;
		if (k == spec->count) {
			bb_js_error_add(errs, a, fpath, "is not a known field");
			continue;
		}
		const struct bb_js_field *f = &spec->fields[k];
		if (seen[k]) {
			bb_js_error_add(errs, a, fpath, "appears more than once");
			continue;
		}
		seen[k] = true;
		if (cJSON_IsNull(c)) {
			if (!(f->flags & BB_JS_NULLABLE))
				bb_js_error_add(errs, a, fpath, "must not be null");
			continue;
		}
		validate_value(c, f, f->type, a, fpath, depth, &vals[k], errs);
		/* A bad value still counts as seen, so it is not also "missing". */
		vals[k].present = true;
	}
	for (size_t k = 0; k < spec->count; k++) {
		if (spec->fields[k].name != NULL && (spec->fields[k].flags & BB_JS_REQUIRED) &&
		    !vals[k].present) {
			bool is_null = cJSON_IsNull(
			    cJSON_GetObjectItemCaseSensitive(obj, spec->fields[k].name));
			if (!is_null)
				bb_js_error_add(errs, a,
				                member_path(a, errs, path, spec->fields[k].name),
				                "is required");
		}
	}
}

enum bb_err
bb_js_validate(const cJSON *obj, const struct bb_js_spec *spec, struct bb_arena *a,
               struct bb_js_value **out, struct bb_js_errors *errs)
{
	struct bb_js_value *vals =
	    bb_arena_alloc(a, (spec->count ? spec->count : 1) * sizeof(*vals));
	size_t before = bb_js_errors_total(errs);

	if (!cJSON_IsObject(obj)) {
		bb_js_error_add(errs, a, "", "the body must be a JSON object");
		return BB_EINVAL;
	}
	validate_object(obj, spec, a, "", 0, vals, errs);
	if (bb_js_errors_total(errs) != before)
		return BB_EINVAL;
	*out = vals;
	return BB_OK;
}

/* cJSON would cut a string at an escaped NUL; find one before it can. */
static bool
has_escaped_nul(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"') {
			in_string = !in_string;
		} else if (in_string && s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
				return true;
			i++;
		}
	}
	return false;
}

enum bb_err
bb_js_parse(const char *body, size_t len, const struct bb_js_spec *spec, struct bb_arena *a,
            cJSON **tree, struct bb_js_value **out, struct bb_js_errors *errs)
{
	const char *end = NULL;

	*tree = NULL;
	if (len == 0) {
		bb_js_error_add(errs, a, "", "the body is empty; a JSON object is expected");
		return BB_EINVAL;
	}
	if (!bb_utf8_valid(body, len)) {
		bb_js_error_add(errs, a, "", "the body is not valid UTF-8");
		return BB_EINVAL;
	}
	if (memchr(body, '\0', len) != NULL) {
		bb_js_error_add(errs, a, "", "the body contains a NUL byte");
		return BB_EINVAL;
	}
	if (has_escaped_nul(body, len)) {
		bb_js_error_add(errs, a, "",
		                "the body contains an escaped NUL character (\\u0000)");
		return BB_EINVAL;
	}
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (root == NULL) {
		/* end, not the global cJSON_GetErrorPtr(), which threads would share. */
		const char *at = end;
		size_t off =
		    (at != NULL && at >= body && at <= body + len) ? (size_t)(at - body) : 0;

		bb_js_error_add(errs, a, "", "the body is not valid JSON (near byte %zu)", off);
		return BB_EINVAL;
	}
	/* Trailing garbage after the value is as malformed as a missing brace. */
	while (end != NULL && end < body + len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end != NULL && end < body + len) {
		cJSON_Delete(root);
		bb_js_error_add(errs, a, "", "the body has data after the JSON value (byte %zu)",
		                (size_t)(end - body));
		return BB_EINVAL;
	}
	*tree = root;
	return bb_js_validate(root, spec, a, out, errs);
}
