/*
 * fuzz_json_spec.c — libFuzzer target for bb_js_parse() with a spec shaped
 * like a real request (nested object, array of objects, every field type).
 * Checks the contract: BB_OK with values and no errors, or BB_EINVAL with
 * at least one error, each with a field path and a message.
 */
#include "fuzz.h"
#include "json_spec.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct bb_js_spec node_spec;
static const struct bb_js_field node_fields[] = {
	{ "child", BB_JS_OBJECT, 0, .sub = &node_spec },
	{ "list", BB_JS_ARRAY, 0, .sub = &node_spec, .item = BB_JS_OBJECT },
	{ "n", BB_JS_INT, BB_JS_NULLABLE, -5, 5 },
};
static const struct bb_js_spec node_spec = BB_JS_SPEC(node_fields);

static const struct bb_js_field participant_fields[] = {
	{ "code", BB_JS_STRING, BB_JS_REQUIRED, 3, 12 },
	{ "consented", BB_JS_BOOL, BB_JS_REQUIRED },
};
static const struct bb_js_spec participant_spec = BB_JS_SPEC(participant_fields);

static const struct bb_js_field placement_fields[] = {
	{ "position", BB_JS_STRING, BB_JS_REQUIRED, 2, 3 },
	{ "volume_ul", BB_JS_NUMBER, 0, 0, 10000 },
};
static const struct bb_js_spec placement_spec = BB_JS_SPEC(placement_fields);

static const char *const kinds[] = { "blood", "plasma", "serum", NULL };

static const struct bb_js_field specimen_fields[] = {
	{ "kind", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, kinds },
	{ "external_id", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	{ "count", BB_JS_INT, 0, 1, 96 },
	{ "volume", BB_JS_NUMBER, 0, 0, 5000 },
	{ "ratio", BB_JS_NUMBER },
	{ "big", BB_JS_INT },
	{ "frozen", BB_JS_BOOL },
	{ "collected_at", BB_JS_TIME, BB_JS_REQUIRED },
	{ "collected_on", BB_JS_DATE },
	{ "participant", BB_JS_OBJECT, BB_JS_REQUIRED, .sub = &participant_spec },
	{ "placements", BB_JS_ARRAY, 0, 1, 3, .sub = &placement_spec, .item = BB_JS_OBJECT },
	{ "tags", BB_JS_ARRAY, 0, 0, 4, kinds, .item = BB_JS_STRING },
	{ "note", BB_JS_STRING, BB_JS_NULLABLE | BB_JS_REQUIRED },
	{ "tree", BB_JS_OBJECT, 0, .sub = &node_spec },
};
static const struct bb_js_spec specimen_spec = BB_JS_SPEC(specimen_fields);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bb_arena a = { 0 };
	struct bb_js_errors errs = { 0 };
	struct bb_js_value *v = NULL;
	cJSON *tree = NULL;

	enum bb_err err =
	    bb_js_parse((const char *)data, size, &specimen_spec, &a, &tree, &v, &errs);
	if (err == BB_OK) {
		require(v != NULL && errs.n == 0);
		/* Indexes as in specimen_fields: kind, collected_at, participant, placements. */
		require(v[0].present && v[0].s != NULL);
		require(v[7].present && bb_is_rfc3339(v[7].s));
		require(v[9].present && v[9].obj != NULL && v[9].obj[0].s != NULL);
		for (size_t i = 0; i < v[10].n; i++)
			require(v[10].items[i].obj != NULL && v[10].items[i].obj[0].s != NULL);
	} else {
		require(err == BB_EINVAL && errs.n > 0);
		for (size_t i = 0; i < errs.n; i++)
			require(errs.list[i].field != NULL && errs.list[i].message != NULL &&
			        errs.list[i].message[0] != '\0');
	}
	cJSON_Delete(tree);
	bb_arena_free(&a);
	return 0;
}
