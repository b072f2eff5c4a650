/*
 * font.c — label text through Pango: HarfBuzz shapes it (Arabic joined and
 * right to left, combining marks placed), fontconfig finds a font for every
 * script the primary font lacks, and a character no installed font has is
 * reported instead of being drawn as an empty box.
 *
 * Measuring and drawing use one layout made here, without a cairo context,
 * hinting off: the widths the layout fits text with are the widths drawn at
 * any resolution and in PNG, SVG and PDF alike.
 */
#include "lbl_int.h"

#include <pango/pangocairo.h>
#include <string.h>

/* Condensed fits more of a participant code on a cryo label; fontconfig
 * falls back to plain DejaVu Sans (or any sans) where it is not installed,
 * and to a font of the script for CJK, Arabic and the rest. */
static const char *const FAMILY = "DejaVu Sans Condensed";

/*
 * Printable ASCII (IDs, dates, most codes) is measured from a table of
 * advances taken once per weight at REF_SIZE and scaled: with hinting off
 * advances scale linearly, and with kerning and ligatures off for such text
 * (here and when drawn) a line is the sum of its advances. Laying out every
 * ID through HarfBuzz cost ten times the rest of a ZPL batch.
 */
enum { ASCII_FIRST = 0x20, ASCII_N = 0x7F - 0x20, CACHE_N = 64 };
static const double REF_SIZE = 1000;
static const char *const PLAIN_FEATURES = "kern 0, liga 0, clig 0";

struct ascii_table {
	bool ready[ASCII_N];   /* measured: a run measures the characters it meets */
	bool missing[ASCII_N]; /* no font has it */
	double adv[ASCII_N];   /* advance at REF_SIZE */
	double over[ASCII_N];  /* ink past the advance, at REF_SIZE */
};

/* Other text: the last widths and coverage asked for, by hash (batches
 * repeat lines); size 0 holds a coverage answer in missing. The same
 * entries, in a table of their own, hold the lines drawn (layout): a run's
 * labels repeat their participant, type and date lines, which are then
 * shaped once. */
struct width_entry {
	char *text;
	double size, width;
	unsigned long missing;
	bool bold;
	PangoLayout *layout;
};

struct entry_cache {
	struct width_entry e[CACHE_N];
	unsigned evict; /* which way a full set gives up next */
};

struct lbl_font {
	PangoContext *ctx;
	PangoFontDescription *desc[2]; /* regular, bold */
	PangoLayout *layout;           /* reused for every measurement */
	PangoAttrList *plain;          /* kerning and ligatures off */
	struct ascii_table ascii[2];
	struct entry_cache widths, lines;
};

static bool
is_plain(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < ASCII_FIRST || (unsigned char)s[i] >= 0x7F)
			return false;
	return true;
}

struct lbl_font *
lbl_font_open(void)
{
	return lbl_font_open_family(NULL);
}

struct lbl_font *
lbl_font_open_family(const char *family)
{
	/* The default font map is per thread: the daemon renders from several
	 * at once without sharing Pango objects. */
	PangoFontMap *fm = pango_cairo_font_map_get_default();
	struct lbl_font *f = bb_calloc(1, sizeof(*f));
	cairo_font_options_t *fo = cairo_font_options_create();

	f->ctx = pango_font_map_create_context(fm);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	pango_cairo_context_set_font_options(f->ctx, fo);
	cairo_font_options_destroy(fo);
	pango_context_set_round_glyph_positions(f->ctx, FALSE);
	for (int b = 0; b < 2; b++) {
		f->desc[b] = pango_font_description_from_string(family ? family : FAMILY);
		pango_font_description_set_weight(f->desc[b],
		                                  b ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	}
	f->layout = pango_layout_new(f->ctx);
	f->plain = pango_attr_list_new();
	pango_attr_list_insert(f->plain, pango_attr_font_features_new(PLAIN_FEATURES));
	return f;
}

void
lbl_font_close(struct lbl_font *f)
{
	if (f == NULL)
		return;
	g_object_unref(f->layout);
	pango_attr_list_unref(f->plain);
	for (size_t i = 0; i < CACHE_N; i++) {
		free(f->widths.e[i].text);
		free(f->lines.e[i].text);
		if (f->lines.e[i].layout)
			g_object_unref(f->lines.e[i].layout);
	}
	for (int b = 0; b < 2; b++)
		pango_font_description_free(f->desc[b]);
	g_object_unref(f->ctx);
	free(f);
}

static void
set_layout(struct lbl_font *f, PangoLayout *lay, bool bold, const char *s, size_t len, double size)
{
	PangoFontDescription *desc = f->desc[bold];

	/* Sizes are in dots; the context's unit is one device unit. */
	pango_font_description_set_absolute_size(desc, size * PANGO_SCALE);
	pango_layout_set_font_description(lay, desc);
	pango_layout_set_attributes(lay, is_plain(s, len) ? f->plain : NULL);
	pango_layout_set_text(lay, s, (int)len);
}

PangoLayout *
lbl_font_layout(struct lbl_font *f, const char *s, double size, bool bold)
{
	PangoLayout *lay = pango_layout_new(f->ctx);

	set_layout(f, lay, bold, s, strlen(s), size);
	return lay;
}

/* How far the laid-out text reaches to the right; *over: ink past the advance. */
static double
layout_right(PangoLayout *lay, double *over)
{
	PangoRectangle ink, logical;
	int adv, right;

	pango_layout_get_extents(lay, &ink, &logical);
	/* The ink may reach past the advance (accents, overhangs). */
	adv = right = logical.x + logical.width;
	if (ink.x + ink.width > right)
		right = ink.x + ink.width;
	if (over)
		*over = (double)(right - adv) / PANGO_SCALE;
	return (double)right / PANGO_SCALE;
}

/* The table of one weight with the characters of s[0..len) measured: each
 * alone in a layout, once per font; a run of labels meets a few dozen of the
 * 95 (an ID's alphabet, digits, a date's dash). */
static struct ascii_table *
ascii_table(struct lbl_font *f, bool bold, const char *s, size_t len)
{
	struct ascii_table *t = &f->ascii[bold];

	for (size_t k = 0; k < len; k++) {
		int i = (unsigned char)s[k] - ASCII_FIRST;
		double over;

		if (t->ready[i])
			continue;
		set_layout(f, f->layout, bold, &s[k], 1, REF_SIZE);
		t->adv[i] = layout_right(f->layout, &over) - over;
		t->over[i] = over;
		t->missing[i] = pango_layout_get_unknown_glyphs_count(f->layout) > 0;
		t->ready[i] = true;
	}
	return t;
}

static uint64_t
hash(const char *s, size_t len, double size, bool bold)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(size * 64) ^ (bold ? 0x9E37 : 0);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* A few slots per hash, so the lines of a batch do not evict each other. */
enum { CACHE_WAYS = 4 };

static struct width_entry *
cached(struct entry_cache *c, const char *s, size_t len, double size, bool bold)
{
	uint64_t h = hash(s, len, size, bold);

	for (uint64_t k = 0; k < CACHE_WAYS; k++) {
		struct width_entry *e = &c->e[(h + k) % CACHE_N];

		if (e->text && e->size == size && e->bold == bold && strlen(e->text) == len &&
		    memcmp(e->text, s, len) == 0)
			return e;
	}
	return NULL;
}

static struct width_entry *
cache_put(struct entry_cache *c, const char *s, size_t len, double size, bool bold)
{
	uint64_t h = hash(s, len, size, bold);
	struct width_entry *e = &c->e[(h + c->evict++ % CACHE_WAYS) % CACHE_N];

	for (uint64_t k = 0; k < CACHE_WAYS; k++) {
		if (c->e[(h + k) % CACHE_N].text == NULL) {
			e = &c->e[(h + k) % CACHE_N];
			break;
		}
	}
	free(e->text);
	if (e->layout)
		g_object_unref(e->layout);
	*e = (struct width_entry){ .text = bb_strndup(s, len), .size = size, .bold = bold };
	return e;
}

PangoLayout *
lbl_font_line(struct lbl_font *f, const char *s, double size, bool bold)
{
	size_t len = strlen(s);
	struct width_entry *e = cached(&f->lines, s, len, size, bold);

	if (e == NULL) {
		e = cache_put(&f->lines, s, len, size, bold);
		e->layout = pango_layout_new(f->ctx);
		set_layout(f, e->layout, bold, s, len, size);
	}
	return e->layout;
}

double
lbl_font_width(void *ctx, const char *s, size_t len, double size, bool bold)
{
	struct lbl_font *f = ctx;
	struct width_entry *e;

	if (len > 0 && is_plain(s, len)) {
		const struct ascii_table *t = ascii_table(f, bold, s, len);
		double w = 0;

		for (size_t i = 0; i < len; i++)
			w += t->adv[s[i] - ASCII_FIRST];
		return (w + t->over[s[len - 1] - ASCII_FIRST]) * size / REF_SIZE;
	}
	if ((e = cached(&f->widths, s, len, size, bold)) != NULL)
		return e->width;
	set_layout(f, f->layout, bold, s, len, size);
	e = cache_put(&f->widths, s, len, size, bold);
	e->width = layout_right(f->layout, NULL);
	return e->width;
}

bool
lbl_font_missing(struct lbl_font *f, const char *s, bool bold, unsigned long *cp)
{
	size_t len = strlen(s);
	struct width_entry *e;
	PangoLayoutIter *it;
	bool found = false;

	if (is_plain(s, len)) {
		const struct ascii_table *t = ascii_table(f, bold, s, len);

		for (size_t k = 0; k < len; k++) {
			if (t->missing[(unsigned char)s[k] - ASCII_FIRST]) {
				*cp = (unsigned char)s[k];
				return true;
			}
		}
		return false;
	}
	if ((e = cached(&f->widths, s, len, 0, bold)) != NULL) {
		*cp = e->missing;
		return *cp != 0;
	}
	set_layout(f, f->layout, bold, s, len, 10);
	e = cache_put(&f->widths, s, len, 0, bold);
	if (pango_layout_get_unknown_glyphs_count(f->layout) == 0)
		return false;
	/* An unknown glyph carries the code point it stands for. */
	it = pango_layout_get_iter(f->layout);
	do {
		PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);

		for (int i = 0; run && i < run->glyphs->num_glyphs && !found; i++) {
			PangoGlyph g = run->glyphs->glyphs[i].glyph;

			if (g != PANGO_GLYPH_EMPTY && (g & PANGO_GLYPH_UNKNOWN_FLAG)) {
				*cp = g & ~PANGO_GLYPH_UNKNOWN_FLAG;
				found = true;
			}
		}
	} while (!found && pango_layout_iter_next_run(it));
	pango_layout_iter_free(it);
	if (!found)
		*cp = 0xFFFD;
	e->missing = *cp;
	return true;
}
