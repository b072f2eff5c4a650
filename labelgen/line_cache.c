/*
 * line_cache.c — a PNG run's text lines drawn by Pango once per distinct
 * line and place, then copied. A batch's labels repeat their participant,
 * type and timepoint and date lines, each at the same dots; shaping and
 * rasterizing such a line cost ~100 times copying its dots.
 *
 * The copy is the drawing itself: the dots of a line's box (its ink
 * extents and a margin) as Pango left them on an earlier label, kept only
 * when that box was all white before the line was drawn and its edge still
 * is after (the ink stayed inside), and put back only where the box is all
 * white again. Drawing black on white at the same place in the same
 * surface gives the same dots, so the label is the same dot for dot; a line
 * whose box meets a symbol or another line is drawn by Pango as before.
 */
#include "lbl_int.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>

enum {
	SLOTS = 16, /* a label's 3 repeated lines, several labels' worth */
	SEEN = 32,  /* lines drawn once, remembered by hash */
	MARGIN = 2, /* dots round the ink extents */
};

/* The surface's white: set by memset(0xFF), every byte. */
#define WHITE 0xFFFFFFFFu

struct slot {
	char *text;
	int size, x, y;
	bool bold;
	int bx, by, bw, bh; /* the box, in the surface's dots */
	uint32_t *dots;     /* bw x bh, as drawn */
	unsigned long used, hits;
};

/* A line is kept the second time it is drawn: an ID, on one label only,
 * costs no copy and takes no slot. */
struct lbl_line_cache {
	struct slot s[SLOTS];
	uint64_t seen[SEEN];
	unsigned seen_next;
	unsigned long clock;
};

struct lbl_line_cache *
lbl_line_cache_new(void)
{
	return bb_calloc(1, sizeof(struct lbl_line_cache));
}

void
lbl_line_cache_free(struct lbl_line_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < SLOTS; i++) {
		free(c->s[i].text);
		free(c->s[i].dots);
	}
	free(c);
}

static uint32_t *
dot_at(cairo_surface_t *surface, int x, int y)
{
	return (uint32_t *)(void *)(cairo_image_surface_get_data(surface) +
	                            (size_t)y * (size_t)cairo_image_surface_get_stride(surface)) +
	       x;
}

static bool
all_white(cairo_surface_t *surface, int x, int y, int w, int h)
{
	for (int r = y; r < y + h; r++) {
		const uint32_t *d = dot_at(surface, x, r);

		for (int i = 0; i < w; i++)
			if (d[i] != WHITE)
				return false;
	}
	return true;
}

/* The box's outermost dots: white when the ink stayed well inside it. */
static bool
edge_white(cairo_surface_t *surface, int x, int y, int w, int h)
{
	return all_white(surface, x, y, w, 1) && all_white(surface, x, y + h - 1, w, 1) &&
	       all_white(surface, x, y, 1, h) && all_white(surface, x + w - 1, y, 1, h);
}

static struct slot *
find(struct lbl_line_cache *c, const struct lbl_line *l)
{
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &c->s[i];

		if (s->dots && s->x == l->x && s->y == l->y && s->size == l->size &&
		    s->bold == l->bold && strcmp(s->text, l->text) == 0)
			return s;
	}
	return NULL;
}

static uint64_t
line_hash(const struct lbl_line *l)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = l->text; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ (uint64_t)(unsigned)l->x) * 1099511628211ULL;
	h = (h ^ (uint64_t)(unsigned)l->y) * 1099511628211ULL;
	return (h ^ (uint64_t)(unsigned)(l->size * 2 + l->bold)) * 1099511628211ULL;
}

/* True when l was drawn before (by hash); else remembers it. */
static bool
seen_before(struct lbl_line_cache *c, const struct lbl_line *l)
{
	uint64_t h = line_hash(l);

	for (int i = 0; i < SEEN; i++)
		if (c->seen[i] == h)
			return true;
	c->seen[c->seen_next++ % SEEN] = h;
	return false;
}

/* A slot for a new line: one never copied (an ID) before one that was, then
 * the one unused longest. */
static struct slot *
victim(struct lbl_line_cache *c)
{
	struct slot *v = &c->s[0];

	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &c->s[i];

		if (s->dots == NULL)
			return s;
		if ((s->hits == 0) != (v->hits == 0) ? s->hits == 0 : s->used < v->used)
			v = s;
	}
	return v;
}

void
lbl_line_draw(struct lbl_line_cache *c, cairo_t *cr, cairo_surface_t *surface,
              struct lbl_font *font, const struct lbl_line *l)
{
	const int sw = cairo_image_surface_get_width(surface);
	const int sh = cairo_image_surface_get_height(surface);
	struct slot *s = find(c, l);
	PangoLayout *lay;
	PangoRectangle ink;
	int bx, by, bw, bh;
	double top;
	bool keep;

	c->clock++;
	cairo_surface_flush(surface);
	if (s && all_white(surface, s->bx, s->by, s->bw, s->bh)) {
		for (int r = 0; r < s->bh; r++)
			memcpy(dot_at(surface, s->bx, s->by + r),
			       s->dots + (size_t)r * (size_t)s->bw,
			       (size_t)s->bw * sizeof(uint32_t));
		cairo_surface_mark_dirty(surface);
		s->used = c->clock;
		s->hits++;
		return;
	}
	lay = lbl_font_line(font, l->text, l->size, l->bold);
	top = l->y + LBL_BASELINE * l->size - (double)pango_layout_get_baseline(lay) / PANGO_SCALE;
	if (s == NULL && !seen_before(c, l)) {
		cairo_move_to(cr, l->x, top);
		pango_cairo_show_layout(cr, lay);
		return;
	}
	pango_layout_get_extents(lay, &ink, NULL);
	bx = (int)floor(l->x + (double)ink.x / PANGO_SCALE) - MARGIN;
	by = (int)floor(top + (double)ink.y / PANGO_SCALE) - MARGIN;
	bw = (int)ceil(l->x + (double)(ink.x + ink.width) / PANGO_SCALE) + MARGIN - bx;
	bh = (int)ceil(top + (double)(ink.y + ink.height) / PANGO_SCALE) + MARGIN - by;
	keep = s == NULL && ink.width > 0 && ink.height > 0 && bx >= 0 && by >= 0 &&
	       bx + bw <= sw && by + bh <= sh && all_white(surface, bx, by, bw, bh);
	cairo_move_to(cr, l->x, top);
	pango_cairo_show_layout(cr, lay);
	cairo_surface_flush(surface);
	if (!keep || cairo_status(cr) != CAIRO_STATUS_SUCCESS ||
	    !edge_white(surface, bx, by, bw, bh))
		return;
	s = victim(c);
	free(s->text);
	free(s->dots);
	*s = (struct slot){ .text = bb_strdup(l->text),
		            .size = l->size,
		            .x = l->x,
		            .y = l->y,
		            .bold = l->bold,
		            .bx = bx,
		            .by = by,
		            .bw = bw,
		            .bh = bh,
		            .dots = bb_malloc((size_t)bw * (size_t)bh * sizeof(uint32_t)),
		            .used = c->clock };
	for (int r = 0; r < bh; r++)
		memcpy(s->dots + (size_t)r * (size_t)bw, dot_at(surface, bx, by + r),
		       (size_t)bw * sizeof(uint32_t));
}
