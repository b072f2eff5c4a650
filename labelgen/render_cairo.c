/*
 * render_cairo.c — PNG, SVG and PDF from one drawing routine: barcodes from
 * zint's vector output (rectangles in modules, scaled to whole dots), text
 * shaped by Pango (font.c) exactly as the layout measured it. zint never
 * writes a file here, so its SVG writer and the process-wide setlocale() it
 * calls are never reached.
 */
#include "lbl_int.h"

#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <pango/pangocairo.h>
#include <stdio.h>
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

/* Draws one laid-out label with its top left corner at the origin, in dots. */
static enum bb_err
draw_label(cairo_t *cr, struct lbl_font *font, struct lbl_layout *lo, char why[LBL_WHY_MAX])
{
	enum bb_err err;

	cairo_save(cr);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_rectangle(cr, 0, 0, lo->w, lo->h);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);

	if ((err = vectorize(lo->dm, why)))
		goto out;
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
	for (const struct zint_vector_rect *r = lo->dm->vector->rectangles; r; r = r->next)
		cairo_rectangle(cr, lo->dm_x + r->x * lo->dm_mod, lo->dm_y + r->y * lo->dm_mod,
		                r->width * lo->dm_mod, r->height * lo->dm_mod);
	if (lo->bar) {
		if ((err = vectorize(lo->bar, why)))
			goto out;
		/* A linear symbol: every bar runs the full height we laid out. */
		for (const struct zint_vector_rect *r = lo->bar->vector->rectangles; r; r = r->next)
			cairo_rectangle(cr, lo->bar_x + r->x * lo->bar_mod, lo->bar_y,
			                r->width * lo->bar_mod, lo->bar_h);
	}
	cairo_fill(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);

	for (size_t i = 0; i < lo->nlines; i++) {
		const struct lbl_line *l = &lo->line[i];
		PangoLayout *lay = lbl_font_layout(font, l->text, l->size, l->bold);

		cairo_move_to(cr, l->x,
		              l->y + LBL_BASELINE * l->size -
		                  (double)pango_layout_get_baseline(lay) / PANGO_SCALE);
		pango_cairo_show_layout(cr, lay);
		g_object_unref(lay);
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

static enum bb_err
render_png(const struct lbl_job *job, const struct lbl_data *d, struct bb_buf *out,
           char why[LBL_WHY_MAX])
{
	struct lbl_font *font = lbl_font_open_family(job->tpl->font);
	cairo_surface_t *surface;
	cairo_t *cr;
	struct lbl_layout lo;
	size_t start = out->len;
	enum bb_err err = layout_one(&lo, job, job->tpl, d, 0, 1, font, why);

	if (err) {
		lbl_font_close(font);
		return err;
	}
	surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, lo.w, lo.h);
	cr = cairo_create(surface);
	err = draw_label(cr, font, &lo, why);
	lbl_layout_free(&lo);
	lbl_font_close(font);
	if (err == BB_OK) {
		cairo_surface_flush(surface);
		err = lbl_png_write(surface, job->dpi, out, why);
	}
	err = finish(cr, surface, err, why);
	if (err) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return err;
}

/* SVG and PDF: pages in points, drawing in dots scaled by 72/dpi. */
static enum bb_err
render_vector(const struct lbl_job *job, const struct lbl_data *labels, size_t n,
              struct bb_buf *out, char why[LBL_WHY_MAX])
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
	struct lbl_font *font;
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
	font = lbl_font_open_family(t->font);

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
			err = draw_label(cr, font, &lo, why);
			cairo_restore(cr);
		}
		lbl_layout_free(&lo);
	}
	lbl_font_close(font);
	err = finish(cr, surface, err, why);
	if (err) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return err;
}

enum bb_err
lbl_render_cairo(const struct lbl_job *job, const struct lbl_data *labels, size_t n,
                 struct bb_buf *out, char why[LBL_WHY_MAX])
{
	if (job->format == LBL_FMT_PNG)
		return render_png(job, labels, out, why);
	return render_vector(job, labels, n, out, why);
}
