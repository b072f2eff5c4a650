/*
 * test_decode.c — every roll template at every resolution, as PNG, SVG and
 * PDF, and every sheet as PDF: the DataMatrix read back by dmtxread and the
 * Code 128 by zbarimg must give exactly the ID. SVG is rasterized by
 * rsvg-convert and PDF by pdftoppm, never by our own code.
 */
#include "harness.h"
#include "ids.h"
#include "label.h"
#include "util.h"

static const int dpis[] = { 203, 300, 600 };
static const enum lbl_format formats[] = { LBL_FMT_PNG, LBL_FMT_SVG, LBL_FMT_PDF };

static char *dir;

/* Writes the rendering, turns it into a PNG with an outside tool, returns that path. */
static bool
to_png(const struct lbl_job *job, const struct bb_buf *out, const char *stem, char *png, size_t cap)
{
	char src[512];
	char *res;

	snprintf(src, sizeof(src), "%s/%s.%s", dir, stem, lbl_format_name(job->format));
	snprintf(png, cap, "%s/%s.png", dir, stem);
	if (!write_file(src, out->data, out->len))
		return false;
	switch (job->format) {
	case LBL_FMT_PNG:
		return true;
	case LBL_FMT_SVG:
		res = run_capture("rsvg-convert -d %d -p %d -b white -o '%s' '%s' 2>&1", job->dpi,
		                  job->dpi, png, src);
		break;
	default:
		res = run_capture("pdftoppm -r %d -png -singlefile '%s' '%s/%s' 2>&1", job->dpi,
		                  src, dir, stem);
		break;
	}
	if (res[0])
		tap_diag("converter: %s", res);
	free(res);
	return access(png, R_OK) == 0;
}

static void
check_roll(const struct lbl_template *t, int dpi, enum lbl_format f, const struct lbl_data *d,
           size_t sample, bool want_bar)
{
	struct lbl_job job = { t, dpi, 1, f };
	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX], stem[256], png[512];
	enum bb_err err = lbl_render(&job, d, 1, &out, why);
	const char *name = lbl_template_name(t);

	if (!ok(err == BB_OK, "%s %d dpi %s renders %s", name, dpi, lbl_format_name(f), d->id)) {
		tap_diag("  %s", why);
		bb_buf_free(&out);
		return;
	}
	snprintf(stem, sizeof(stem), "%s-%d-%s-id%zu", name, dpi, lbl_format_name(f), sample);
	if (!ok(to_png(&job, &out, stem, png, sizeof(png)), "%s converts to PNG", stem)) {
		bb_buf_free(&out);
		return;
	}
	char *dm = run_capture("dmtxread -n -N1 -m 20000 '%s' 2>/dev/null", png);
	is_str(dm, d->id, "%s: dmtxread reads the ID", stem);
	free(dm);
	char *bar =
	    run_capture("zbarimg -q --raw -Sdisable -Scode128.enable '%s' 2>/dev/null", png);
	if (want_bar)
		is_str(bar, d->id, "%s: zbarimg reads the Code 128", stem);
	else
		is_str(bar, "", "%s: no Code 128 on a label this narrow", stem);
	free(bar);
	bb_buf_free(&out);
}

static void
check_sheet(const struct lbl_template *t, int dpi, const struct lbl_data *d, size_t n)
{
	struct lbl_job job = { t, dpi, 2, LBL_FMT_PDF };
	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX], stem[256], png[512];
	const char *name = lbl_template_name(t);
	enum bb_err err = lbl_render(&job, d, n, &out, why);

	if (!ok(err == BB_OK, "%s %d dpi renders %zu labels x 2 copies", name, dpi, n)) {
		tap_diag("  %s", why);
		bb_buf_free(&out);
		return;
	}
	snprintf(stem, sizeof(stem), "%s-%d", name, dpi);
	if (!ok(to_png(&job, &out, stem, png, sizeof(png)), "%s converts to PNG", stem)) {
		bb_buf_free(&out);
		return;
	}
	/* Each ID twice (copies), in sheet order. */
	char *got = run_capture("dmtxread -n -N%zu -m 60000 '%s' 2>/dev/null | sort", 2 * n, png);
	struct bb_buf want = { 0 };
	char *ids[8];

	for (size_t i = 0; i < n; i++)
		ids[i] = (char *)d[i].id;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(ids[j], ids[i]) < 0) {
				char *tmp = ids[i];
				ids[i] = ids[j];
				ids[j] = tmp;
			}
	for (size_t i = 0; i < n; i++)
		bb_buf_printf(&want, "%s%s\n%s", i ? "\n" : "", ids[i], ids[i]);
	is_str(got, want.data, "%s: dmtxread reads every label on the sheet", stem);
	free(got);
	bb_buf_free(&want);
	bb_buf_free(&out);
}

int
main(void)
{
	char id8[BB_ID_LEN + 1], id8b[BB_ID_LEN + 1];

	if (!have_tool("dmtxread") || !have_tool("zbarimg") || !have_tool("pdftoppm") ||
	    !have_tool("rsvg-convert"))
		tap_skip_all("needs dmtxread, zbarimg, pdftoppm and rsvg-convert");
	dir = scratch_dir();
	bb_id_from_serial(1, id8);
	bb_id_from_serial(123456789, id8b);

	/* A real ID; the longest the design allows (12); one as long with every
	 * allowed punctuation mark. Longer IDs still fit the DataMatrix, but their
	 * text, never shortened, does not fit a cryo label (test_fit). */
	static const char longest[] = "AB-./+:0129Z";
	const struct lbl_data samples[] = {
		{ .id = id8,
		  .type = "serum",
		  .participant = "Müller-Lyon",
		  .timepoint = "baseline",
		  .collected = "2024-03-05" },
		{ .id = "0123456789AB",
		  .type = "muscle_biopsy",
		  .participant = "MASC-0042",
		  .timepoint = "m12",
		  .collected = "2031-12-31" },
		{ .id = longest, .type = "dna", .participant = "Ærø ŁÓDŹ", .timepoint = "flare" },
	};

	/* The box label carries a Code 128 of every ID here. */
	for (size_t ti = 0; lbl_template_at(ti); ti++) {
		const struct lbl_template *t = lbl_template_at(ti);
		bool wide = strncmp(lbl_template_name(t), "box-", 4) == 0;

		if (lbl_template_is_sheet(t))
			continue;
		for (size_t di = 0; di < sizeof(dpis) / sizeof(dpis[0]); di++)
			for (size_t fi = 0; fi < sizeof(formats) / sizeof(formats[0]); fi++)
				for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++)
					check_roll(t, dpis[di], formats[fi], &samples[s], s,
					           wide && strlen(samples[s].id) <= 12);
	}

	const struct lbl_data sheet_labels[] = {
		{ .id = id8,
		  .type = "serum",
		  .participant = "Müller-Lyon",
		  .timepoint = "baseline",
		  .collected = "2024-03-05" },
		{ .id = id8b,
		  .type = "plasma",
		  .participant = "MASC-0042",
		  .timepoint = "y5",
		  .collected = "2024-03-06" },
	};
	for (size_t ti = 0; lbl_template_at(ti); ti++) {
		const struct lbl_template *t = lbl_template_at(ti);

		if (!lbl_template_is_sheet(t))
			continue;
		for (size_t di = 0; di < sizeof(dpis) / sizeof(dpis[0]); di++)
			check_sheet(t, dpis[di], sheet_labels, 2);
	}
	if (getenv("LBL_TEST_KEEP"))
		tap_diag("renderings kept in %s", dir);
	else
		remove_dir(dir);
	free(dir);
	return tap_done();
}
