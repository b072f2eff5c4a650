/*
 * input.h — request input that every resource reads the same way: the page
 * of a list (?limit= and ?cursor=) and specimen references. Whole numbers are
 * read by bb_parse_int64 (biobank.h), path ids by req_id_param (server.h), IDs
 * and tube barcodes by bb_ref_read (ids.h); these wrap them with the replies.
 */
#ifndef SRV_INPUT_H
#define SRV_INPUT_H

#include "http/reply.h"

/*
 * The lists that page, by the kind written into their cursors. A cursor is
 * base64url (no padding) of "KIND:KEY", KEY a JSON array — the format of
 * bb_cursor_make in SQL. Lists marked sql_reads_cursor pass the cursor to
 * their SQL function (which reads it with bb_cursor_read); the others page
 * by one number (a serial or an id) that C reads out of the cursor, and
 * their SQL answers are rewritten so that they hand out the same format.
 */
enum page_list {
	PAGE_PARTICIPANTS,
	PAGE_AUDIT_LOG,
	PAGE_SHIPMENTS,
	PAGE_SPECIMENS,
	PAGE_CONSENT_WITHDRAWN,
	PAGE_LOCATIONS,
	PAGE_BOXES,
	PAGE_FHIR_SPECIMENS,
	PAGE_PRINT_JOBS,
	PAGE_REQUESTS,
	PAGE_AUDITS,
	PAGE_NONE, /* a list answered whole: no cursor is ever one of its own */
	PAGE__MAX
};

struct page {
	const char *limit;  /* the page size, as text for SQL */
	const char *cursor; /* the cursor as given (checked to be this list's), or NULL */
	const char *after;  /* a one-number list's key from the cursor, as text; NULL: none */
};

/*
 * Reads ?limit= (digits only, 1 to BB_LIST_LIMIT_MAX, BB_LIST_LIMIT_DEFAULT
 * when absent) and ?cursor= (absent or empty: the first page) of list.
 * FHIR names them _count and _cursor. False after replying 400 naming the
 * parameter.
 */
bool req_page(struct srv_req *r, enum page_list list, struct page *out);

/*
 * reply_from_function for a list of one number's key: the next_cursor of
 * the SQL answer (or, for FHIR, the _cursor of its next link) is handed out
 * in the one cursor format.
 */
void reply_page(struct srv_req *r, enum page_list list, const char *stmt, int nparams,
                const char *const *params);

/* The SQL answer json of a one-number list as reply_page sends it (arena memory, or json). */
const char *page_answer(struct srv_req *r, enum page_list list, const char *json);

/* The cursor of list after key, as it is handed out (arena memory). Also for the tests. */
const char *page_cursor_make(struct bb_arena *a, enum page_list list, int64_t key);
/*
 * Checks that cursor is one of list's (true), and for a one-number list
 * writes its key to *key (may be NULL for the others).
 */
bool page_cursor_read(const char *cursor, enum page_list list, int64_t *key);

/* How a mistyped ID is told, wherever it was sent: bb_ref_read's sentence, then the value. */
#define REF_PROBLEM "%s (%.64s)"

/*
 * A specimen reference (an ID, or a tube barcode) read with bb_ref_read:
 * the canonical ID or the barcode as given. On a mistyped ID adds a problem
 * naming field to errs and returns NULL. ids_only refuses barcodes too.
 */
const char *specimen_ref_read(struct srv_req *r, const char *value, const char *field,
                              bool ids_only, struct bb_js_errors *errs);
/*
 * The same for one value, replying 400 itself (NULL then); field NULL for a
 * path segment (the problem names the value).
 */
const char *req_specimen_ref(struct srv_req *r, const char *value, const char *field);
/* A body's list of specimen references as a text[] literal; NULL after replying 400
 * naming field[i]. */
const char *specimen_refs_param(struct srv_req *r, const struct bb_js_value *list,
                                const char *field);

#endif
