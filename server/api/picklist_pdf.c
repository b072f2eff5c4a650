/*
 * picklist_pdf.c — the pick list as a PDF for the bench (picklist_pdf.h).
 * A4 portrait, in points; every line of text one Pango layout, so that any
 * script in a location's name is drawn, not boxed.
 */
#include "api/picklist_pdf.h"

#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <string.h>

enum {
	COL_LINE,
	COL_FREEZER,
	COL_TEMP,
	COL_LOCATION,
	COL_BOX,
	COL_POS,
	COL_SPECIMEN,
	COL_BARCODE,
	COL_TYPE,
	COL_TIMEPOINT,
	COL_QTY,
	COL_UNIT,
	COL_PICKED,
	COL__MAX
};

static const double PAGE_W = 595.276, PAGE_H = 841.890, MARGIN = 40, ROW_H = 15;
static const double FONT_PT = 8.5, HEAD_PT = 13;

/* The table's columns: heading, x from the margin, and the result column. */
static const struct {
	const char *head;
	double x;
	int col;
} cols[] = {
	{ "#", 0, COL_LINE },
	{ "Box", 22, COL_BOX },
	{ "Pos", 112, COL_POS },
	{ "Specimen", 142, COL_SPECIMEN },
	{ "Tube barcode", 200, COL_BARCODE },
	{ "Type", 290, COL_TYPE },
	{ "Timepoint", 350, COL_TIMEPOINT },
	{ "Amount", 415, COL_QTY },
	{ "Picked", 470, COL_PICKED },
};

struct page {
	cairo_t *cr;
	PangoLayout *lay;
	PangoFontDescription *font;
	double y;
	int number;
};

static cairo_status_t
write_buf(void *closure, const unsigned char *data, unsigned int len)
{
	bb_buf_append(closure, data, len);
	return CAIRO_STATUS_SUCCESS;
}

/* Draw text at x, y (its top), bold or not, at size points, cut to width (0: no limit). */
static void
text(struct page *p, double x, double y, const char *s, bool bold, double size, double width)
{
	pango_font_description_set_weight(p->font, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_font_description_set_absolute_size(p->font, size * PANGO_SCALE);
	pango_layout_set_font_description(p->lay, p->font);
	pango_layout_set_width(p->lay, width > 0 ? (int)(width * PANGO_SCALE) : -1);
	pango_layout_set_ellipsize(p->lay, width > 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
	pango_layout_set_text(p->lay, s, -1);
	cairo_move_to(p->cr, MARGIN + x, y);
	pango_cairo_show_layout(p->cr, p->lay);
}

static void
rule(struct page *p, double y)
{
	cairo_move_to(p->cr, MARGIN, y);
	cairo_line_to(p->cr, PAGE_W - MARGIN, y);
	cairo_set_line_width(p->cr, 0.5);
	cairo_stroke(p->cr);
}

static void
column_heads(struct page *p)
{
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		text(p, cols[i].x, p->y, cols[i].head, true, FONT_PT, 0);
	p->y += ROW_H;
	rule(p, p->y - 3);
}

/* A new page (not before the first), with the title and page number on top. */
static void
page_start(struct page *p, const char *title)
{
	char num[32];

	if (p->number > 0)
		cairo_show_page(p->cr);
	p->number++;
	p->y = MARGIN;
	text(p, 0, p->y, title, true, HEAD_PT, PAGE_W - 2 * MARGIN - 60);
	snprintf(num, sizeof(num), "page %d", p->number);
	text(p, PAGE_W - 2 * MARGIN - 40, p->y + 3, num, false, FONT_PT, 0);
	p->y += 2 * ROW_H;
}

/* A freezer's heading, e.g. "Freezer 1 (-80 °C) — Main lab / Freezer 1 / Rack 1". */
static void
section(struct page *p, const PGresult *rows, int i)
{
	char head[512];
	const char *temp = PQgetvalue(rows, i, COL_TEMP);

	snprintf(head, sizeof(head), "%s%s%s%s — %s",
	         PQgetisnull(rows, i, COL_FREEZER) ? "No freezer"
	                                           : PQgetvalue(rows, i, COL_FREEZER),
	         *temp ? " (" : "", temp, *temp ? " °C)" : "", PQgetvalue(rows, i, COL_LOCATION));
	p->y += ROW_H / 2;
	text(p, 0, p->y, head, true, FONT_PT + 1.5, PAGE_W - 2 * MARGIN);
	p->y += ROW_H + 2;
	column_heads(p);
}

static void
row(struct page *p, const PGresult *rows, int i)
{
	char amount[64];

	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
		double next =
		    c + 1 < sizeof(cols) / sizeof(cols[0]) ? cols[c + 1].x : PAGE_W - 2 * MARGIN;
		const char *v = PQgetvalue(rows, i, cols[c].col);

		if (cols[c].col == COL_QTY) {
			snprintf(amount, sizeof(amount), "%s %s", v, PQgetvalue(rows, i, COL_UNIT));
			v = *PQgetvalue(rows, i, COL_QTY) ? amount : "";
		}
		if (cols[c].col == COL_PICKED) {
			/* An empty square to tick by hand, or the time the scan matched. */
			if (*v == '\0') {
				cairo_rectangle(p->cr, MARGIN + cols[c].x, p->y + 1, 9, 9);
				cairo_set_line_width(p->cr, 0.7);
				cairo_stroke(p->cr);
				continue;
			}
			v = "scanned";
		}
		text(p, cols[c].x, p->y, v, false, FONT_PT, next - cols[c].x - 4);
	}
	p->y += ROW_H;
}

enum bb_err
picklist_pdf(const char *title, const PGresult *rows, struct bb_buf *out)
{
	size_t start = out->len;
	cairo_surface_t *surface =
	    cairo_pdf_surface_create_for_stream(write_buf, out, PAGE_W, PAGE_H);
	struct page p = { 0 };
	int n = PQntuples(rows);

	p.cr = cairo_create(surface);
	p.lay = pango_cairo_create_layout(p.cr);
	p.font = pango_font_description_from_string("DejaVu Sans Condensed");
	cairo_set_source_rgb(p.cr, 0, 0, 0);
	page_start(&p, title);
	if (n == 0)
		text(&p, 0, p.y, "No tube is reserved for this request.", false, FONT_PT + 1, 0);
	for (int i = 0; i < n; i++) {
		bool new_freezer = i == 0 || strcmp(PQgetvalue(rows, i, COL_LOCATION),
		                                    PQgetvalue(rows, i - 1, COL_LOCATION)) != 0;
		/* Room for a section head and a row, or a row. */
		if (p.y + (new_freezer ? 3.5 : 1) * ROW_H > PAGE_H - MARGIN) {
			page_start(&p, title);
			if (!new_freezer)
				column_heads(&p);
		}
		if (new_freezer)
			section(&p, rows, i);
		row(&p, rows, i);
	}
	g_object_unref(p.lay);
	pango_font_description_free(p.font);
	cairo_destroy(p.cr);
	cairo_surface_finish(surface);
	cairo_status_t st = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	if (st != CAIRO_STATUS_SUCCESS) {
		out->len = start;
		return BB_EINTERNAL;
	}
	return BB_OK;
}
