/*
 * input.c — the page of a list and specimen references, read one way for
 * every resource (see input.h).
 */
#include "http/input.h"

#include "ids.h"

#include <sodium.h>
#include <string.h>

enum { CURSOR_MAX = 512 }; /* characters of a cursor; ours are far shorter */

static const struct {
	const char *kind;      /* written into the cursor */
	bool sql_reads_cursor; /* the SQL function reads the cursor (bb_cursor_read) */
	const char *limit_name, *cursor_name;
} lists[PAGE__MAX] = {
	[PAGE_PARTICIPANTS] = { "participants", true, "limit", "cursor" },
	[PAGE_AUDIT_LOG] = { "audit-log", true, "limit", "cursor" },
	[PAGE_SHIPMENTS] = { "shipments", true, "limit", "cursor" },
	[PAGE_SPECIMENS] = { "specimens", false, "limit", "cursor" },
	[PAGE_CONSENT_WITHDRAWN] = { "consent-withdrawn", false, "limit", "cursor" },
	[PAGE_LOCATIONS] = { "locations", false, "limit", "cursor" },
	[PAGE_BOXES] = { "boxes", false, "limit", "cursor" },
	[PAGE_FHIR_SPECIMENS] = { "fhir-specimens", false, "_count", "_cursor" },
	[PAGE_PRINT_JOBS] = { "print-jobs", true, "limit", "cursor" },
	[PAGE_REQUESTS] = { "requests", true, "limit", "cursor" },
	[PAGE_AUDITS] = { "audits", true, "limit", "cursor" },
	[PAGE_NONE] = { NULL, false, "limit", "cursor" },
};

const char *
page_cursor_make(struct bb_arena *a, enum page_list list, int64_t key)
{
	char *plain = bb_arena_printf(a, "%s:[%lld]", lists[list].kind, (long long)key);
	size_t n = strlen(plain);
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = bb_arena_alloc(a, len);

	sodium_bin2base64(out, len, (const unsigned char *)plain, n,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

bool
page_cursor_read(const char *cursor, enum page_list list, int64_t *key)
{
	const char *kind = lists[list].kind;
	unsigned char plain[CURSOR_MAX];
	size_t n, klen;

	if (kind == NULL || strlen(cursor) >= CURSOR_MAX)
		return false;
	if (sodium_base642bin(plain, sizeof(plain) - 1, cursor, strlen(cursor), NULL, &n, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	plain[n] = '\0';
	klen = strlen(kind);
	/* "KIND:[...]": a JSON array after the list's own kind. */
	if (n < klen + 3 || memcmp(plain, kind, klen) != 0 || plain[klen] != ':' ||
	    plain[klen + 1] != '[' || plain[n - 1] != ']' || strlen((char *)plain) != n)
		return false;
	if (lists[list].sql_reads_cursor)
		return true;
	/* One number: "[N]", N as bb_parse_int64 reads it. */
	char *digits = (char *)plain + klen + 2;
	int64_t v;
	plain[n - 1] = '\0';
	if (!bb_parse_int64(digits, 1, INT64_MAX, &v))
		return false;
	if (key != NULL)
		*key = v;
	return true;
}

bool
req_page(struct srv_req *r, enum page_list list, struct page *out)
{
	const char *lname = lists[list].limit_name, *cname = lists[list].cursor_name;
	const char *l = req_query(r, lname), *c = req_query(r, cname);
	int64_t limit = BB_LIST_LIMIT_DEFAULT, key;

	out->limit = out->cursor = out->after = NULL;
	if (l != NULL && !bb_parse_int64(l, 1, BB_LIST_LIMIT_MAX, &limit)) {
		reply_invalid_field(r, lname, "must be a whole number from 1 to %d",
		                    BB_LIST_LIMIT_MAX);
		return false;
	}
	if (c != NULL && *c != '\0') {
		if (!page_cursor_read(c, list, &key)) {
			reply_invalid_field(r, cname,
			                    "is not a cursor of this list (pass next_cursor back "
			                    "unchanged)");
			return false;
		}
		out->cursor = c;
		if (!lists[list].sql_reads_cursor)
			out->after = bb_arena_printf(&r->arena, "%lld", (long long)key);
	}
	out->limit = bb_arena_printf(&r->arena, "%lld", (long long)limit);
	return true;
}

/*
 * The SQL functions of one-number lists hand out the last key as text
 * ("c123" or "123") after marker: the last occurrence of marker is the one
 * (a string value cannot hold it unescaped, and the list's own key comes
 * last). Returns json with that key as a cursor, or json itself.
 */
static const char *
cursor_rewrite(struct bb_arena *a, enum page_list list, const char *json, const char *marker)
{
	const char *at = NULL, *p = json;
	int64_t key;

	while ((p = strstr(p, marker)) != NULL)
		at = p++;
	if (at == NULL)
		return json;
	const char *v = at + strlen(marker), *end = v + strcspn(v, "\"&");
	char *text = bb_arena_strndup(a, *v == 'c' ? v + 1 : v, (size_t)(end - v) - (*v == 'c'));
	if (!bb_parse_int64(text, 1, INT64_MAX, &key))
		return json;
	return bb_arena_printf(a, "%.*s%s%s", (int)(v - json), json, page_cursor_make(a, list, key),
	                       end);
}

const char *
page_answer(struct srv_req *r, enum page_list list, const char *json)
{
	if (lists[list].sql_reads_cursor || lists[list].kind == NULL)
		return json;
	return cursor_rewrite(&r->arena, list, json,
	                      list == PAGE_FHIR_SPECIMENS ? "_cursor=" : "\"next_cursor\": \"");
}

void
reply_page(struct srv_req *r, enum page_list list, const char *stmt, int nparams,
           const char *const *params)
{
	PGresult *res = function_answer(r, stmt, nparams, params);

	if (res == NULL)
		return;
	reply_json_text(r, 200, page_answer(r, list, PQgetvalue(res, 0, 0)));
	PQclear(res);
}

const char *
specimen_ref_read(struct srv_req *r, const char *value, const char *field, bool ids_only,
                  struct bb_js_errors *errs)
{
	char id[BB_ID_LEN + 1];
	const char *why;
	bool is_id;
	enum bb_err err = bb_ref_read(value, id, &is_id, &why);

	if (err == BB_OK && is_id)
		return bb_arena_strdup(&r->arena, id);
	if (err == BB_OK && !ids_only)
		return value; /* a tube barcode */
	if (err == BB_OK) {
		bb_id_parse(value, id, &why); /* for its sentence on the shape */
		bb_js_error_add(errs, &r->arena, field, "\"%.40s\" is not a specimen ID: %s", value,
		                why);
	} else {
		bb_js_error_add(errs, &r->arena, field, REF_PROBLEM, why, value);
	}
	return NULL;
}

const char *
req_specimen_ref(struct srv_req *r, const char *value, const char *field)
{
	char id[BB_ID_LEN + 1];
	const char *why;
	bool is_id;

	if (field != NULL) {
		struct bb_js_errors errs = { 0 };
		const char *ref = specimen_ref_read(r, value, field, false, &errs);

		if (ref == NULL)
			reply_invalid(r, &errs);
		return ref;
	}
	if (bb_ref_read(value, id, &is_id, &why) != BB_OK) {
		reply_problem_code(r, "check-character", NULL, REF_PROBLEM, why, value);
		return NULL;
	}
	return is_id ? bb_arena_strdup(&r->arena, id) : value;
}

const char *
specimen_refs_param(struct srv_req *r, const struct bb_js_value *list, const char *field)
{
	const char **refs = bb_arena_alloc(&r->arena, (list->n ? list->n : 1) * sizeof(*refs));
	struct bb_js_errors errs = { 0 };

	for (size_t i = 0; i < list->n; i++) {
		const char *s = list->items[i].s;
		const char *name = bb_arena_printf(&r->arena, "%s[%zu]", field, i);
		size_t len = strlen(s);

		if (len == 0 || len > 64)
			bb_js_error_add(
			    &errs, &r->arena, name,
			    "must be a specimen ID or tube barcode of 1 to 64 characters");
		else
			refs[i] = specimen_ref_read(r, s, name, false, &errs);
	}
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return NULL;
	}
	return db_array_literal(&r->arena, refs, list->n);
}
