/*
 * render_cairo.c — PNG, SVG and PDF from one drawing routine: barcodes from
 * zint's vector output (rectangles in modules, scaled to whole dots) for SVG
 * and PDF, set dot for dot from zint's bitmap for PNG; text shaped by Pango
 * (font.c) exactly as the layout measured it. zint never
 * writes a file here, so its SVG writer and the process-wide setlocale() it
 * calls are never reached.
 */
#include "lbl_int.h"

#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zint.h>

static const double PT_PER_IN = 72.0;

static cairo_status_t
write_buf(void *closure, const unsigned char *data, unsigned int len)
{
	bb_buf_append(closure, data, len);
	return CAIRO_STATUS_SUCCESS;
}

static enum bb_err
vectorize(struct zint_symbol *s, char why[LBL_WHY_MAX])
{
	if (s->vector == NULL && ZBarcode_Buffer_Vector(s, 0) >= ZINT_ERROR) {
		lbl_why(why, "zint vector output failed: %s", s->errtxt);
		return BB_EINTERNAL;
	}
	return BB_OK;
}

/* SVG and PDF: the symbols as zint's rectangles, scaled to whole dots. */
static enum bb_err
fill_symbols(cairo_t *cr, struct lbl_layout *lo, char why[LBL_WHY_MAX])
{
	enum bb_err err;

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_rectangle(cr, 0, 0, lo->w, lo->h);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	if ((err = vectorize(lo->dm, why)))
		return err;
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
	for (const struct zint_vector_rect *r = lo->dm->vector->rectangles; r; r = r->next)
		cairo_rectangle(cr, lo->dm_x + r->x * lo->dm_mod, lo->dm_y + r->y * lo->dm_mod,
		                r->width * lo->dm_mod, r->height * lo->dm_mod);
	if (lo->bar) {
		if ((err = vectorize(lo->bar, why)))
			return err;
		/* A linear symbol: every bar runs the full height we laid out. */
		for (const struct zint_vector_rect *r = lo->bar->vector->rectangles; r; r = r->next)
			cairo_rectangle(cr, lo->bar_x + r->x * lo->bar_mod, lo->bar_y,
			                r->width * lo->bar_mod, lo->bar_h);
	}
	cairo_fill(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	return BB_OK;
}

/*
 * PNG: a symbol from zint's own bitmap, one pixel a module at the scale
 * encode() sets, each module set as a mod x mod square of black dots (a
 * linear symbol's first row as bars bar_h dots tall): the dots the vector
 * path fills with antialiasing off, without a path to build and rasterize.
 */
static enum bb_err
blit_symbol(cairo_surface_t *surface, struct zint_symbol *s, int x0, int y0, int mod, int bar_h,
            char why[LBL_WHY_MAX])
{
	unsigned char *px = cairo_image_surface_get_data(surface);
	const int stride = cairo_image_surface_get_stride(surface);
	const int rows = bar_h > 0 ? 1 : s->rows, tall = bar_h > 0 ? bar_h : mod;

	if (s->bitmap == NULL && ZBarcode_Buffer(s, 0) >= ZINT_ERROR) {
		lbl_why(why, "zint raster output failed: %s", s->errtxt);
		return BB_EINTERNAL;
	}
	if (s->bitmap_width != s->width || s->bitmap_height < rows) {
		lbl_why(why, "zint drew a %dx%d bitmap of a %dx%d symbol", s->bitmap_width,
		        s->bitmap_height, s->width, rows);
		return BB_EINTERNAL;
	}
	for (int r = 0; r < rows; r++) {
		/* Three bytes a pixel, black (000000) on white. */
		const unsigned char *src = s->bitmap + (size_t)r * (size_t)s->bitmap_width * 3;

		for (int c = 0; c < s->width; c++) {
			if (src[(size_t)c * 3] != 0)
				continue;
			for (int y = y0 + r * mod; y < y0 + r * mod + tall; y++) {
				uint32_t *dot =
				    (uint32_t *)(px + (size_t)y * (size_t)stride) + x0 + c * mod;

				for (int x = 0; x < mod; x++)
					dot[x] = 0xFF000000u;
			}
		}
	}
	return BB_OK;
}

/* PNG: the surface painted white and the symbols set in it, dot by dot. */
static enum bb_err
set_symbols(cairo_surface_t *surface, struct lbl_layout *lo, char why[LBL_WHY_MAX])
{
	enum bb_err err;

	cairo_surface_flush(surface);
	memset(cairo_image_surface_get_data(surface), 0xFF,
	       (size_t)cairo_image_surface_get_stride(surface) * (size_t)lo->h);
	err = blit_symbol(surface, lo->dm, lo->dm_x, lo->dm_y, lo->dm_mod, 0, why);
	if (err == BB_OK && lo->bar)
		err = blit_symbol(surface, lo->bar, lo->bar_x, lo->bar_y, lo->bar_mod, lo->bar_h,
		                  why);
	cairo_surface_mark_dirty(surface);
	return err;
}

/* Draws one laid-out label with its top left corner at the origin, in dots:
 * into surface's own pixels when it is the PNG's image (else NULL), its
 * lines through the run's cache of drawn lines. */
static enum bb_err
draw_label(cairo_t *cr, cairo_surface_t *image, struct lbl_line_cache *lines, struct lbl_font *font,
           struct lbl_layout *lo, char why[LBL_WHY_MAX])
{
	enum bb_err err;

	cairo_save(cr);
	err = image ? set_symbols(image, lo, why) : fill_symbols(cr, lo, why);
	if (err)
		goto out;
	cairo_set_source_rgb(cr, 0, 0, 0);
	for (size_t i = 0; i < lo->nlines; i++) {
		const struct lbl_line *l = &lo->line[i];
		PangoLayout *lay;

		if (image) {
			lbl_line_draw(lines, cr, image, font, l);
			continue;
		}
		lay = lbl_font_line(font, l->text, l->size, l->bold);
		cairo_move_to(cr, l->x,
		              l->y + LBL_BASELINE * l->size -
		                  (double)pango_layout_get_baseline(lay) / PANGO_SCALE);
		pango_cairo_show_layout(cr, lay);
	}
out:
	cairo_restore(cr);
	return err;
}

static enum bb_err
layout_one(struct lbl_layout *lo, const struct lbl_job *job, const struct lbl_template *t,
           const struct lbl_data *d, size_t index, size_t n, struct lbl_font *font,
           char why[LBL_WHY_MAX])
{
	struct lbl_measure meas;
	enum bb_err err;

	lbl_measure_init(&meas, font);
	err = lbl_layout(lo, t, job->dpi, d, &meas, why);

	if (err)
		lbl_why_label(why, index, n);
	return err;
}

static enum bb_err
finish(cairo_t *cr, cairo_surface_t *surface, enum bb_err err, char why[LBL_WHY_MAX])
{
	cairo_status_t st = cairo_status(cr);

	cairo_destroy(cr);
	cairo_surface_finish(surface);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	if (err == BB_OK && st != CAIRO_STATUS_SUCCESS) {
		lbl_why(why, "cairo: %s", cairo_status_to_string(st));
		err = BB_EINTERNAL;
	}
	return err;
}

/* A PNG label's surface, kept from one label of a run to the next: every
 * label of a job has the stock's size, and each is painted white first. */
struct lbl_canvas {
	cairo_surface_t *surface;
	cairo_t *cr;
	struct lbl_png *png;
	struct lbl_line_cache *lines;
};

void
lbl_canvas_free(struct lbl_canvas *c)
{
	if (c == NULL)
		return;
	cairo_destroy(c->cr);
	cairo_surface_destroy(c->surface);
	lbl_png_free(c->png);
	lbl_line_cache_free(c->lines);
	free(c);
}

static struct lbl_canvas *
canvas_for(struct lbl_canvas **keep, int w, int h)
{
	struct lbl_canvas *c = *keep;

	if (c && cairo_image_surface_get_width(c->surface) == w &&
	    cairo_image_surface_get_height(c->surface) == h)
		return c;
	lbl_canvas_free(c);
	c = bb_calloc(1, sizeof(*c));
	c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	c->cr = cairo_create(c->surface);
	c->png = lbl_png_new();
	c->lines = lbl_line_cache_new();
	*keep = c;
	return c;
}

static enum bb_err
render_png(const struct lbl_job *job, struct lbl_font *font, struct lbl_canvas **keep,
           const struct lbl_data *d, struct bb_buf *out, char why[LBL_WHY_MAX])
{
	struct lbl_canvas *c;
	struct lbl_layout lo;
	cairo_status_t st;
	enum bb_err err = layout_one(&lo, job, job->tpl, d, 0, 1, font, why);

	if (err)
		return err;
	c = canvas_for(keep, lo.w, lo.h);
	err = draw_label(c->cr, c->surface, c->lines, font, &lo, why);
	lbl_layout_free(&lo);
	cairo_surface_flush(c->surface);
	st = cairo_status(c->cr);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(c->surface);
	if (err == BB_OK && st != CAIRO_STATUS_SUCCESS) {
		lbl_why(why, "cairo: %s", cairo_status_to_string(st));
		err = BB_EINTERNAL;
	}
	/* A context in error stays in error: the next label starts afresh. */
	if (st != CAIRO_STATUS_SUCCESS) {
		lbl_canvas_free(c);
		*keep = NULL;
	}
	if (err == BB_OK)
		err = lbl_png_write(c->png, c->surface, job->dpi, out, why);
	return err;
}

/* SVG and PDF: pages in points, drawing in dots scaled by 72/dpi. */
static enum bb_err
render_vector(const struct lbl_job *job, struct lbl_font *font, const struct lbl_data *labels,
              size_t n, struct bb_buf *out, char why[LBL_WHY_MAX])
{
	const struct lbl_template *sheet = lbl_template_is_sheet(job->tpl) ? job->tpl : NULL;
	const struct lbl_template *t = sheet ? lbl_sheet_cell(sheet) : job->tpl;
	double pw = (sheet ? sheet->page_w : t->w) * PT_PER_IN;
	double ph = (sheet ? sheet->page_h : t->h) * PT_PER_IN;
	double scale = PT_PER_IN / job->dpi;
	size_t start = out->len, cell = 0,
	       per_page = sheet ? (size_t)(sheet->cols * sheet->rows) : 1;
	cairo_surface_t *surface;
	cairo_t *cr;
	enum bb_err err = BB_OK;

	if (t == NULL) {
		lbl_why(why, "sheet %s names no known cell template", sheet->name);
		return BB_EINTERNAL;
	}
	if (job->format == LBL_FMT_SVG)
		surface = cairo_svg_surface_create_for_stream(write_buf, out, pw, ph);
	else
		surface = cairo_pdf_surface_create_for_stream(write_buf, out, pw, ph);
	if (job->format == LBL_FMT_SVG)
		cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PT);
	cr = cairo_create(surface);
	cairo_scale(cr, scale, scale);

	for (size_t i = 0; i < n && err == BB_OK; i++) {
		struct lbl_layout lo;

		if ((err = layout_one(&lo, job, t, &labels[i], i, n, font, why)))
			break;
		for (int c = 0; c < job->copies && err == BB_OK; c++, cell++) {
			if (cell > 0 && cell % per_page == 0)
				cairo_show_page(cr);
			cairo_save(cr);
			if (sheet) {
				size_t k = cell % per_page;
				double x = sheet->left +
				           (double)(k % (size_t)sheet->cols) * sheet->pitch_x;
				double y =
				    sheet->top + (double)(k / (size_t)sheet->cols) * sheet->pitch_y;

				cairo_translate(cr, x * job->dpi, y * job->dpi);
			}
			err = draw_label(cr, NULL, NULL, font, &lo, why);
			cairo_restore(cr);
		}
		lbl_layout_free(&lo);
	}
	err = finish(cr, surface, err, why);
	if (err) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return err;
}

enum bb_err
lbl_render_cairo(const struct lbl_job *job, struct lbl_font *font, struct lbl_canvas **canvas,
                 const struct lbl_data *labels, size_t n, struct bb_buf *out, char why[LBL_WHY_MAX])
{
	if (job->format == LBL_FMT_PNG)
		return render_png(job, font, canvas, labels, out, why);
	return render_vector(job, font, labels, n, out, why);
}
