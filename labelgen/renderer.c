/*
 * renderer.c — a run of labels of one job: the checks every call makes, and
 * what the calls of a run share. Opening the fonts (a Pango context, the
 * measure's advance tables) and making a drawing surface cost more than a
 * label, so a run made of one call per label (a folder of PNG files) keeps
 * them; lbl_render is a run of one call.
 */
#include "lbl_int.h"

#include <stdlib.h>

struct lbl_renderer {
	struct lbl_job job;
	struct lbl_font *font;     /* the family of the stock the labels are drawn on */
	struct lbl_canvas *canvas; /* PNG: the surface the last label was drawn on */
};

static enum bb_err
check_job(const struct lbl_job *job, char why[LBL_WHY_MAX])
{
	if (job->tpl == NULL || !lbl_dpi_supported(job->dpi)) {
		lbl_why(why, "resolution %d dpi is not one of 203, 300, 600", job->dpi);
		return BB_EINVAL;
	}
	if (job->copies < 1 || job->copies > LBL_COPIES_MAX) {
		lbl_why(why, "copies must be 1 to %d", LBL_COPIES_MAX);
		return BB_EINVAL;
	}
	if (lbl_template_is_sheet(job->tpl) && job->format != LBL_FMT_PDF) {
		lbl_why(why, "template %s is a sheet: it prints as PDF only", job->tpl->name);
		return BB_EINVAL;
	}
	if ((unsigned)job->format >= LBL_FMT__MAX) {
		lbl_why(why, "unknown format");
		return BB_EINVAL;
	}
	return BB_OK;
}

enum bb_err
lbl_renderer_new(const struct lbl_job *job, struct lbl_renderer **out, char why[LBL_WHY_MAX])
{
	const struct lbl_template *t;
	struct lbl_renderer *r;
	enum bb_err err;

	why[0] = '\0';
	*out = NULL;
	if ((err = check_job(job, why)))
		return err;
	/* A sheet's labels are its cell's; a sheet naming no known cell is refused
	 * when drawn (render_cairo.c). */
	t = lbl_template_is_sheet(job->tpl) ? lbl_sheet_cell(job->tpl) : job->tpl;
	r = bb_calloc(1, sizeof(*r));
	r->job = *job;
	r->font = lbl_font_open_family(t ? t->font : NULL);
	*out = r;
	return BB_OK;
}

void
lbl_renderer_free(struct lbl_renderer *r)
{
	if (r == NULL)
		return;
	lbl_canvas_free(r->canvas);
	lbl_font_close(r->font);
	free(r);
}

enum bb_err
lbl_renderer_render(struct lbl_renderer *r, const struct lbl_data *labels, size_t n,
                    struct bb_buf *out, char why[LBL_WHY_MAX])
{
	const struct lbl_job *job = &r->job;
	enum bb_err err;

	why[0] = '\0';
	if (n == 0) {
		lbl_why(why, "no labels to render");
		return BB_EINVAL;
	}
	if ((job->format == LBL_FMT_PNG || job->format == LBL_FMT_SVG) && n != 1) {
		lbl_why(why, "%s holds one label; got %zu", lbl_format_name(job->format), n);
		return BB_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((err = lbl_check(&labels[i], why))) {
			lbl_why_label(why, i, n);
			return err;
		}
	}
	if (job->format == LBL_FMT_ZPL)
		return lbl_render_zpl(job, r->font, labels, n, out, why);
	return lbl_render_cairo(job, r->font, &r->canvas, labels, n, out, why);
}

enum bb_err
lbl_render(const struct lbl_job *job, const struct lbl_data *labels, size_t n, struct bb_buf *out,
           char why[LBL_WHY_MAX])
{
	struct lbl_renderer *r;
	enum bb_err err;

	if ((err = lbl_renderer_new(job, &r, why)))
		return err;
	err = lbl_renderer_render(r, labels, n, out, why);
	lbl_renderer_free(r);
	return err;
}
