/*
 * zpl_graphic.c — a line of text the printer's font 0 cannot print (accents,
 * Chinese, Arabic, anything not printable ASCII) sent as a ^GF graphic,
 * drawn by Pango exactly as the preview draws it and thresholded to the
 * printer's one bit a dot. The hex rows travel with ZPL's ASCII compression
 * (repeat counts G..Y and g..z, ',' for a row ending in white, ':' for a row
 * like the one before); a batch repeats the same lines, so the encoded
 * graphics are kept for the length of one render call.
 */
#include "lbl_int.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <string.h>

enum { GF_CACHE_N = 64, GF_WAYS = 4 };

struct gf_entry {
	char *text;
	int size;
	bool bold;
	int top; /* rows above the line's top */
	char *gf;
};

struct lbl_gf_cache {
	struct gf_entry e[GF_CACHE_N];
	unsigned evict;
};

struct lbl_gf_cache *
lbl_gf_cache_new(void)
{
	return bb_calloc(1, sizeof(struct lbl_gf_cache));
}

void
lbl_gf_cache_free(struct lbl_gf_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < GF_CACHE_N; i++) {
		free(c->e[i].text);
		free(c->e[i].gf);
	}
	free(c);
}

bool
lbl_text_is_plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7F)
			return false;
	return true;
}

/* n copies of hex digit c: a count (g..z: 20..400 by 20, G..Y: 1..19), then c. */
static void
put_run(struct bb_buf *b, char c, int n)
{
	while (n > 0) {
		int k = n > 419 ? 419 : n;
		char pre[2];
		size_t np = 0;

		if (k >= 20)
			pre[np++] = (char)('g' + k / 20 - 1);
		if (k % 20 > 1 || (k % 20 == 1 && np > 0))
			pre[np++] = (char)('G' + k % 20 - 1);
		bb_buf_append(b, pre, np);
		bb_buf_append(b, &c, 1);
		n -= k;
	}
}

static void
put_row(struct bb_buf *b, const char *hex, size_t len)
{
	size_t end = len;

	while (end > 0 && hex[end - 1] == '0')
		end--;
	for (size_t i = 0; i < end;) {
		size_t j = i;

		while (j < end && hex[j] == hex[i])
			j++;
		put_run(b, hex[i], (int)(j - i));
		i = j;
	}
	if (end < len)
		bb_buf_puts(b, ",");
}

/*
 * Draws s at size dots into a one-bit bitmap whose row `top` is the line's
 * top, and encodes it as ^GFA,... (without ^FO and ^FS). The baseline sits
 * where render_cairo.c puts it.
 */
static char *
encode(struct lbl_font *font, const char *s, int size, bool bold, int top)
{
	PangoLayout *lay = lbl_font_layout(font, s, size, bold);
	int w = (int)ceil(lbl_font_width(font, s, strlen(s), size, bold)) + 1;
	int h = top + (int)ceil(size * 1.3);
	int bpr = (w + 7) / 8;
	cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_A8, bpr * 8, h);
	cairo_t *cr = cairo_create(sf);
	const unsigned char *px;
	struct bb_buf out = { 0 };
	char *hex = bb_malloc((size_t)bpr * 2 + 1), *prev = bb_malloc((size_t)bpr * 2 + 1);
	int stride;

	cairo_move_to(cr, 0,
	              top + LBL_BASELINE * size -
	                  (double)pango_layout_get_baseline(lay) / PANGO_SCALE);
	pango_cairo_show_layout(cr, lay);
	cairo_destroy(cr);
	g_object_unref(lay);
	cairo_surface_flush(sf);
	px = cairo_image_surface_get_data(sf);
	stride = cairo_image_surface_get_stride(sf);

	bb_buf_printf(&out, "^GFA,%d,%d,%d,", bpr * h, bpr * h, bpr);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < bpr; x++) {
			unsigned byte = 0;

			for (int bit = 0; bit < 8; bit++)
				if (px[y * stride + x * 8 + bit] >= 128)
					byte |= 0x80u >> bit;
			snprintf(hex + 2 * x, 3, "%02X", byte);
		}
		if (y > 0 && memcmp(hex, prev, (size_t)bpr * 2) == 0)
			bb_buf_puts(&out, ":");
		else
			put_row(&out, hex, (size_t)bpr * 2);
		memcpy(prev, hex, (size_t)bpr * 2);
	}
	cairo_surface_destroy(sf);
	free(hex);
	free(prev);
	return bb_buf_steal(&out);
}

static uint64_t
hash(const char *s, int size, bool bold, int top)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)size ^ ((uint64_t)top << 16) ^ bold;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

const char *
lbl_gf_line(struct lbl_gf_cache *c, struct lbl_font *font, const char *s, int size, bool bold,
            int top)
{
	uint64_t h = hash(s, size, bold, top);
	struct gf_entry *e;

	for (uint64_t k = 0; k < GF_WAYS; k++) {
		e = &c->e[(h + k) % GF_CACHE_N];
		if (e->text && e->size == size && e->bold == bold && e->top == top &&
		    strcmp(e->text, s) == 0)
			return e->gf;
	}
	e = &c->e[(h + c->evict++ % GF_WAYS) % GF_CACHE_N];
	for (uint64_t k = 0; k < GF_WAYS; k++) {
		if (c->e[(h + k) % GF_CACHE_N].text == NULL) {
			e = &c->e[(h + k) % GF_CACHE_N];
			break;
		}
	}
	free(e->text);
	free(e->gf);
	*e = (struct gf_entry){ bb_strdup(s), size, bold, top, encode(font, s, size, bold, top) };
	return e->gf;
}
