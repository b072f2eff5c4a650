/*
 * json_spec.h — declarative validation of JSON request bodies.
 *
 * A body is described by a table of fields indexed by an enum of the
 * handler's own. bb_js_validate() checks the whole body against the table,
 * collects every problem (field path and message; the first
 * bb_js_errors_max() of them, the rest counted) and fills an array of
 * values indexed the same way, so handlers only ever see validated values.
 * Unknown fields are errors. All memory comes from the caller's arena.
 */
#ifndef BB_JSON_SPEC_H
#define BB_JSON_SPEC_H

#include "biobank.h"

struct cJSON;

enum bb_js_type {
	BB_JS_STRING, /* UTF-8 text, min/max in characters */
	BB_JS_INT,    /* integer, min/max inclusive */
	BB_JS_NUMBER, /* any finite number, min/max inclusive */
	BB_JS_BOOL,
	BB_JS_TIME,   /* RFC 3339 date-time with offset */
	BB_JS_DATE,   /* YYYY-MM-DD */
	BB_JS_OBJECT, /* nested object described by .sub */
	BB_JS_ARRAY,  /* array of .item values, min/max items */
	BB_JS_TYPE__MAX
};

enum {
	BB_JS_REQUIRED = 1 << 0,
	BB_JS_NULLABLE = 1 << 1, /* JSON null is accepted and reads as absent */
	/* STRING: kept exactly as sent (passwords); other strings lose leading and
	 * trailing blanks (space, tab, CR, LF, VT, FF) before they are checked. */
	BB_JS_VERBATIM = 1 << 2,
	/* A secret (a password): never kept, so left out of the fingerprint of an
	 * Idempotency-Key's request (server/http/idempotency.c). Top-level fields only. */
	BB_JS_SECRET = 1 << 3,
	/* INT: an array of .item values (.sub objects) is accepted instead, its
	 * number of items within min..max ("aliquots": 4, or a list of tubes).
	 * The value then has items and n; an integer has none. */
	BB_JS_OR_LIST = 1 << 4,
};

struct bb_js_spec;

struct bb_js_field {
	const char
	    *name; /* NULL: this index is not part of the body (tables shared by several bodies) */
	enum bb_js_type type;
	unsigned flags;
	int64_t min, max;             /* both 0: no bound */
	const char *const *choices;   /* NULL-terminated allowed strings, or NULL */
	const struct bb_js_spec *sub; /* OBJECT: its fields; ARRAY of objects: theirs */
	enum bb_js_type item;         /* ARRAY: the type of its items */
};

struct bb_js_spec {
	const struct bb_js_field *fields;
	size_t count;
};

#define BB_JS_SPEC(table)                                                                          \
	{                                                                                          \
		(table), sizeof(table) / sizeof((table)[0])                                        \
	}

struct bb_js_value {
	bool present;
	const char *s;             /* STRING, TIME, DATE */
	int64_t i;                 /* INT */
	double d;                  /* NUMBER (and INT) */
	bool b;                    /* BOOL */
	struct bb_js_value *obj;   /* OBJECT: values indexed like its spec */
	struct bb_js_value *items; /* ARRAY */
	size_t n;                  /* ARRAY: number of items */
};

struct bb_js_error {
	const char *field; /* dotted path, e.g. "participant.code" or "placements[2].position" */
	const char *message;
};

/*
 * A list keeps at most bb_js_errors_max() errors; past that each further
 * error is only counted in omitted, without its text being made, so that a
 * body of 170,000 bad fields costs a count and not 170,000 messages (nor an
 * answer of megabytes). n > 0 whenever any error was added.
 */
struct bb_js_errors {
	struct bb_js_error *list;
	size_t n, cap;
	size_t omitted; /* errors counted but not kept */
};

enum { BB_JS_ERRORS_MAX_DEFAULT = 100 };

/* Set once at start-up, before any thread starts (at least 1). */
void bb_js_set_errors_max(size_t max);
size_t bb_js_errors_max(void);

/* Every error added, kept or not. */
static inline size_t
bb_js_errors_total(const struct bb_js_errors *e)
{
	return e->n + e->omitted;
}

void bb_js_error_add(struct bb_js_errors *e, struct bb_arena *a, const char *field, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/*
 * Parse body (len bytes, need not be NUL-terminated) and validate it against
 * spec. On success returns BB_OK and sets *out to an array of spec->count
 * values. On any problem returns BB_EINVAL with every problem in errs.
 * The parsed tree is owned by the arena's owner through *tree, which the
 * caller frees with cJSON_Delete() after it is done with the values
 * (strings in the values point into it).
 */
enum bb_err bb_js_parse(const char *body, size_t len, const struct bb_js_spec *spec,
                        struct bb_arena *a, struct cJSON **tree, struct bb_js_value **out,
                        struct bb_js_errors *errs);

/* Validate an already parsed object against spec (same contract). */
enum bb_err bb_js_validate(const struct cJSON *obj, const struct bb_js_spec *spec,
                           struct bb_arena *a, struct bb_js_value **out, struct bb_js_errors *errs);

/* Strict RFC 3339 checks (shape and ranges, leap days included). */
bool bb_is_rfc3339(const char *s);
bool bb_is_date(const char *s);

#endif
