/*
 * fuzz_template.c — libFuzzer target for lbl_template_parse(): a site's
 * template file is whatever someone typed. It is refused with a reason, or
 * read into a template the layout can use: a label then lays out or is
 * refused, never crashes.
 */
#include "fuzz.h"
#include "label.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[LBL_WHY_MAX] = "";
	struct lbl_template *t = NULL;
	struct bb_buf out = { 0 };

	if (size > 4096)
		return 0;
	enum bb_err err = lbl_template_parse((const char *)data, size, "fuzz.json", &t, why);
	require(err == BB_OK || err == BB_EINVAL);
	require((err == BB_OK) == (t != NULL));
	require(err == BB_OK || (why[0] != '\0' && strlen(why) < LBL_WHY_MAX));
	if (t != NULL && !lbl_template_is_sheet(t)) {
		const struct lbl_data d = { .id = "KRVQKEB8",
			                    .participant = "MASC/0042",
			                    .type = "serum",
			                    .timepoint = "baseline",
			                    .collected = "2026-03-02" };
		struct lbl_job job = { t, 203, 1, LBL_FMT_ZPL };

		err = lbl_render(&job, &d, 1, &out, why);
		require(err == BB_OK || err == BB_EINVAL);
		bb_buf_free(&out);
	}
	lbl_template_free(t);
	return 0;
}
