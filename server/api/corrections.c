/*
 * corrections.c — the bodies of corrections (docs/api.md, "Corrections"):
 * PATCH /api/v1/specimens/{id} and PATCH /api/v1/participants/{study}/{code}.
 * The routes are bound to their SQL functions (router.c), which check what
 * a spec cannot (the record's state, the lineage, the birth year) and write
 * the change with its trail in one statement. A field left out is not
 * corrected; every field present is a new value, so none takes null (notes
 * "" clears the notes), and a reason is always required.
 */
#include "api/api.h"

enum { QTY_VALUE, QTY_UNIT, QTY__MAX };
static const struct bb_js_field qty_fields[QTY__MAX] = {
	[QTY_VALUE] = { "value", BB_JS_NUMBER, BB_JS_REQUIRED, 0, 1000000000 },
	[QTY_UNIT] = { "unit", BB_JS_STRING, BB_JS_REQUIRED, 1, 16 },
};
static const struct bb_js_spec qty_spec = BB_JS_SPEC(qty_fields);

enum {
	FIX_TYPE,
	FIX_TIMEPOINT,
	FIX_COLLECTED_AT,
	FIX_QUANTITY,
	FIX_NOTES,
	FIX_REASON,
	FIX_EXPECTED_SEQ,
	FIX__MAX
};
static const struct bb_js_field fix_fields[FIX__MAX] = {
	[FIX_TYPE] = { "type", BB_JS_STRING, 0, 1, 32 },
	[FIX_TIMEPOINT] = { "timepoint", BB_JS_STRING, 0, 1, 40 },
	[FIX_COLLECTED_AT] = { "collected_at", BB_JS_TIME, 0 },
	[FIX_QUANTITY] = { "quantity", BB_JS_OBJECT, 0, 0, 0, NULL, &qty_spec },
	[FIX_NOTES] = { "notes", BB_JS_STRING, 0, 0, 2000 },
	[FIX_REASON] = { "reason", BB_JS_STRING, BB_JS_REQUIRED, 1, 1000 },
	/* The ledger_seq the client last saw: a specimen changed since is not corrected. */
	[FIX_EXPECTED_SEQ] = { "expected_ledger_seq", BB_JS_INT, 0, 1, 2147483647 },
};
const struct bb_js_spec h_specimens_correct_spec = BB_JS_SPEC(fix_fields);

/* The long forms are stored; the one-letter forms are read too (as at registration). */
static const char *const sex_choices[] = { "female", "male", "other", "unknown", "F",
	                                   "M",      "O",    "U",     NULL };

enum { PFIX_SEX, PFIX_BIRTH_YEAR, PFIX_DIAGNOSIS, PFIX_REASON, PFIX__MAX };
static const struct bb_js_field pfix_fields[PFIX__MAX] = {
	[PFIX_SEX] = { "sex", BB_JS_STRING, 0, 0, 0, sex_choices },
	/* Bounded by this year, which the SQL function knows. */
	[PFIX_BIRTH_YEAR] = { "birth_year", BB_JS_INT, 0, 1, 9999 },
	[PFIX_DIAGNOSIS] = { "diagnosis", BB_JS_STRING, 0, 1, 32 },
	[PFIX_REASON] = { "reason", BB_JS_STRING, BB_JS_REQUIRED, 1, 1000 },
};
const struct bb_js_spec h_participants_correct_spec = BB_JS_SPEC(pfix_fields);
