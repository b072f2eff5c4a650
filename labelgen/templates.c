/*
 * templates.c — the label stocks we print on, as data. Adding a stock is a new
 * row here; layout rules live in label.c and apply to every row. Lengths are
 * inches (MM() converts metric stock).
 */
#include "lbl_int.h"

#define MM(x) ((x) / 25.4)

const struct lbl_template lbl_templates[] = {
	{
	    .name = "cryo-1.28x0.5in",
	    .summary = "cryo tube label 1.28 x 0.5 in (2 ml cryovials)",
	    .w = 1.28,
	    .h = 0.5,
	    .margin = 0.04,
	    .text_pt = 6,
	    .dm_module = 0.015,
	    .dm_max_frac = 0.45,
	    .bar_h = 0.1,
	},
	{
	    .name = "cryo-1x0.5in",
	    .summary = "cryo tube label 1 x 0.5 in (microtubes, 0.5-1.5 ml)",
	    .w = 1.0,
	    .h = 0.5,
	    .margin = 0.04,
	    .text_pt = 6,
	    .dm_module = 0.015,
	    .dm_max_frac = 0.45,
	    .bar_h = 0.1,
	},
	{
	    .name = "box-2x1in",
	    .summary = "box or bag label 2 x 1 in, with a Code 128",
	    .w = 2.0,
	    .h = 1.0,
	    .margin = 0.06,
	    .text_pt = 8,
	    .dm_module = 0.02,
	    .dm_max_frac = 0.45,
	    .bar_h = 0.22,
	},
	{
	    .name = "letter-cryo-5x17",
	    .summary = "US Letter sheet of 5 x 17 cryo labels 1.28 x 0.5 in (PDF)",
	    .cell = "cryo-1.28x0.5in",
	    .page_w = 8.5,
	    .page_h = 11,
	    .left = 0.61,
	    .top = 0.75,
	    .pitch_x = 1.5,
	    .pitch_y = 0.5625,
	    .cols = 5,
	    .rows = 17,
	},
	{
	    .name = "a4-cryo-4x20",
	    .summary = "A4 sheet of 4 x 20 cryo labels 1.28 x 0.5 in (PDF)",
	    .cell = "cryo-1.28x0.5in",
	    .page_w = MM(210),
	    .page_h = MM(297),
	    .left = MM(21.25),
	    .top = MM(13.9),
	    .pitch_x = MM(45),
	    .pitch_y = MM(13.5),
	    .cols = 4,
	    .rows = 20,
	},
};

const size_t lbl_ntemplates = sizeof(lbl_templates) / sizeof(lbl_templates[0]);
