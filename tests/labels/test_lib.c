/*
 * test_lib.c — the label library's promises that need no outside reader:
 * clear errors for bad input with nothing half-written, text shortened only
 * between characters, the PNG's resolution, identical output from many
 * threads at once, a run through one renderer drawing each label as alone,
 * and ZPL for 10,000 labels in well under a second.
 */
#include "harness.h"
#include "ids.h"
#include "label.h"
#include "../../labelgen/lbl_int.h"

#include <pthread.h>
#include <time.h>

static char id8[BB_ID_LEN + 1];

static struct lbl_data
sample(void)
{
	return (struct lbl_data){ .id = id8,
		                  .type = "serum",
		                  .participant = "Müller-Lyon",
		                  .timepoint = "baseline",
		                  .collected = "2024-03-05" };
}

static enum bb_err
render(const char *tpl, int dpi, enum lbl_format f, const struct lbl_data *d, size_t n,
       struct bb_buf *out, char why[LBL_WHY_MAX])
{
	struct lbl_job job = { lbl_template_find(tpl), dpi, 1, f };

	return lbl_render(&job, d, n, out, why);
}

static void
test_errors(void)
{
	char why[LBL_WHY_MAX], longid[LBL_ID_MAX + 1];
	struct bb_buf out = { 0 };
	struct lbl_data d = sample();

	ok(lbl_template_find("cryo-9x9in") == NULL, "an unknown template is not found");
	is_int(render("cryo-1x0.5in", 150, LBL_FMT_ZPL, &d, 1, &out, why), BB_EINVAL,
	       "150 dpi is refused");
	ok(strstr(why, "150 dpi") != NULL, "the message names the resolution: %s", why);

	for (int i = 0; i < LBL_ID_MAX; i++)
		longid[i] = (char)('A' + i % 26);
	longid[LBL_ID_MAX] = '\0';
	d.id = longid;
	is_int(render("cryo-1x0.5in", 203, LBL_FMT_ZPL, &d, 1, &out, why), BB_EINVAL,
	       "a %d-character ID does not fit a 1 x 0.5 in label at 203 dpi", LBL_ID_MAX);
	ok(strstr(why, "cryo-1x0.5in at 203 dpi") != NULL, "the message names the size: %s", why);
	/* Its DataMatrix fits the box label, its text does not: the ID is never
	 * shortened (test_fit), so that label is refused too. */
	is_int(render("box-2x1in", 203, LBL_FMT_ZPL, &d, 1, &out, why), BB_EINVAL,
	       "the same ID's text does not fit the box label");
	bb_buf_free(&out);

	d = sample();
	d.id = "KRVQ KEB8";
	is_int(render("box-2x1in", 203, LBL_FMT_ZPL, &d, 1, &out, why), BB_EINVAL,
	       "a space in an ID is refused");
	d.id = "KRVQ^KEB8";
	is_int(render("box-2x1in", 203, LBL_FMT_ZPL, &d, 1, &out, why), BB_EINVAL,
	       "a caret in an ID is refused: %s", why);
	d.id = "";
	is_int(render("box-2x1in", 203, LBL_FMT_ZPL, &d, 1, &out, why), BB_EINVAL,
	       "an empty ID is refused");
	d = sample();
	d.participant = "M\xC3\x28ller";
	is_int(render("box-2x1in", 203, LBL_FMT_PNG, &d, 1, &out, why), BB_EINVAL,
	       "invalid UTF-8 is refused");
	ok(strstr(why, "participant is not valid UTF-8") != NULL, "the message names the field: %s",
	   why);
	d.participant = "tab\there";
	is_int(render("box-2x1in", 203, LBL_FMT_PNG, &d, 1, &out, why), BB_EINVAL,
	       "a control character is refused");
	is_int(render("box-2x1in", 203, LBL_FMT_ZPL, &d, 0, &out, why), BB_EINVAL,
	       "no labels is an error");
	is_int(render("letter-cryo-5x17", 300, LBL_FMT_PNG, &d, 1, &out, why), BB_EINVAL,
	       "a sheet is PDF only: %s", why);
	is_int(out.len, 0, "nothing was written by any failed call");

	/* A batch whose second label is bad leaves what was there untouched. */
	struct lbl_data batch[2] = { sample(), sample() };
	batch[1].id = longid;
	bb_buf_puts(&out, "before");
	for (int f = 0; f < LBL_FMT__MAX; f++) {
		if (f == LBL_FMT_PNG || f == LBL_FMT_SVG)
			continue;
		is_int(render("cryo-1x0.5in", 203, (enum lbl_format)f, batch, 2, &out, why),
		       BB_EINVAL, "%s batch with a bad second label fails", lbl_format_name(f));
		is_str(out.data, "before", "  and leaves the output as it was");
		ok(strncmp(why, "label 2: ", 9) == 0, "  and names the label: %s", why);
	}
	bb_buf_free(&out);
}

/* Each code point one unit wide, the ellipsis one unit. */
static double
unit_width(void *ctx, const char *s, size_t len, double size, bool bold)
{
	double n = 0;

	(void)ctx, (void)size, (void)bold;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static void
test_fit(void)
{
	const struct lbl_measure m = { unit_width, NULL, "~" };
	char out[64];

	ok(lbl_fit_text(&m, "short", 10, false, 5, false, out, sizeof(out)), "text that fits...");
	is_str(out, "short", "  is kept whole");
	lbl_fit_text(&m, "Müller-Lyon", 10, false, 5, false, out, sizeof(out));
	is_str(out, "Müll~", "too long: shortened with an ellipsis at a character boundary");
	/* "e" + COMBINING ACUTE: never print the e without its accent. */
	lbl_fit_text(&m, "abce\xCC\x81xyz", 10, false, 5, false, out, sizeof(out));
	is_str(out, "abc~", "a combining mark stays with its letter");
	lbl_fit_text(&m, "ab   cdefgh", 10, false, 5, false, out, sizeof(out));
	is_str(out, "ab~", "spaces before the ellipsis are dropped");
	lbl_fit_text(&m, "fits", 10, false, 5, true, out, sizeof(out));
	is_str(out, "fits~", "a line that fits still shows that more lines were cut");
	ok(!lbl_fit_text(&m, "abc", 10, false, 0.5, false, out, sizeof(out)) && out[0] == '\0',
	   "nothing fits in no room");
}

static void
test_png_dpi(void)
{
	static const int dpis[] = { 203, 300, 600 };

	for (size_t i = 0; i < 3; i++) {
		struct lbl_data d = sample();
		struct bb_buf out = { 0 };
		char why[LBL_WHY_MAX];
		const unsigned char *p;
		unsigned long ppm;

		render("cryo-1.28x0.5in", dpis[i], LBL_FMT_PNG, &d, 1, &out, why);
		p = (const unsigned char *)out.data;
		ok(out.len > 60 && memcmp(p + 1, "PNG", 3) == 0 && memcmp(p + 37, "pHYs", 4) == 0,
		   "%d dpi PNG has a pHYs chunk after IHDR", dpis[i]);
		ppm = (unsigned long)p[41] << 24 | (unsigned long)p[42] << 16 |
		      (unsigned long)p[43] << 8 | p[44];
		is_int(ppm, (long)(dpis[i] / 0.0254 + 0.5), "  holding %d dpi in pixels per metre",
		       dpis[i]);
		is_int(p[49], 1, "  with the unit: metre");
		bb_buf_free(&out);
	}
}

struct worker {
	const struct bb_buf *want_zpl, *want_png;
	int mismatches;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct lbl_data d = sample();

	for (int i = 0; i < 20; i++) {
		struct bb_buf zpl = { 0 }, png = { 0 };
		char why[LBL_WHY_MAX];

		render("box-2x1in", 300, LBL_FMT_ZPL, &d, 1, &zpl, why);
		render("box-2x1in", 300, LBL_FMT_PNG, &d, 1, &png, why);
		if (zpl.len != w->want_zpl->len || memcmp(zpl.data, w->want_zpl->data, zpl.len) ||
		    png.len != w->want_png->len || memcmp(png.data, w->want_png->data, png.len))
			w->mismatches++;
		bb_buf_free(&zpl);
		bb_buf_free(&png);
	}
	return NULL;
}

static void
test_threads(void)
{
	enum { NTHREADS = 8 };
	struct bb_buf zpl = { 0 }, png = { 0 };
	struct lbl_data d = sample();
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	char why[LBL_WHY_MAX];
	int bad = 0;

	render("box-2x1in", 300, LBL_FMT_ZPL, &d, 1, &zpl, why);
	render("box-2x1in", 300, LBL_FMT_PNG, &d, 1, &png, why);
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ &zpl, &png, 0 };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].mismatches;
	}
	is_int(bad, 0, "%d threads rendering at once produce the same bytes as one", NTHREADS);
	bb_buf_free(&zpl);
	bb_buf_free(&png);
}

/*
 * A run of labels through one renderer (what labelgen --output DIR does:
 * its fonts, line layouts and PNG surface kept from label to label) gives
 * each label the very bytes lbl_render gives it alone: more labels than
 * the line cache holds, lines in several scripts, repeated and not; a bad
 * label in the middle is refused alone, leaving its buffer as it was, and
 * the labels after it are still right.
 */
static void
test_renderer(void)
{
	static const char *const people[] = { "Müller-Lyon", "MASC/P00017", "患者-0042", "مريض-٧",
		                              "SSCR/P01999" };
	static const char *const types[] = { "serum", "plasma", "whole_blood" };
	static const struct {
		const char *tpl;
		int dpi;
		enum lbl_format f;
	} jobs[] = {
		{ "cryo-1.28x0.5in", 203, LBL_FMT_PNG },
		{ "box-2x1in", 300, LBL_FMT_PNG },
		{ "cryo-1x0.5in", 600, LBL_FMT_ZPL },
		/* Not SVG: cairo names each SVG surface by a process-wide counter, so
		 * no two SVGs drawn in one process are the same bytes. */
	};
	enum { N = 150, BAD = 77 };
	char(*ids)[BB_ID_LEN + 1] = bb_calloc(N, sizeof(*ids));
	char dates[N][16];
	struct lbl_data d[N];
	char why[LBL_WHY_MAX];
	struct lbl_renderer *r;
	size_t n = 0;

	for (uint64_t serial = 1; n < N; serial++) {
		if (!bb_id_from_serial(serial, ids[n]))
			continue;
		snprintf(dates[n], sizeof(dates[n]), "2024-%02zu-%02zu", 1 + n % 12, 1 + n % 28);
		d[n] = (struct lbl_data){ .id = ids[n],
			                  .type = types[n % 3],
			                  .participant = people[(n / 7) % 5],
			                  .timepoint = n % 2 ? "baseline" : "month 3",
			                  .collected = dates[n] };
		n++;
	}
	d[BAD].id = "NOT AN ID";
	for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++) {
		struct lbl_job job = { lbl_template_find(jobs[j].tpl), jobs[j].dpi, 1, jobs[j].f };
		int same = 0, refused = 0;

		if (!ok(lbl_renderer_new(&job, &r, why) == BB_OK, "a renderer for %s at %d dpi, %s",
		        jobs[j].tpl, jobs[j].dpi, lbl_format_name(jobs[j].f)))
			continue;
		for (size_t i = 0; i < N; i++) {
			struct bb_buf run = { 0 }, alone = { 0 };
			enum bb_err e1 = lbl_renderer_render(r, &d[i], 1, &run, why);
			enum bb_err e2 = lbl_render(&job, &d[i], 1, &alone, why);

			if (i == BAD)
				refused = e1 == BB_EINVAL && e2 == BB_EINVAL && run.len == 0;
			else if (e1 == BB_OK && e2 == BB_OK && run.len == alone.len &&
			         memcmp(run.data, alone.data, run.len) == 0)
				same++;
			bb_buf_free(&run);
			bb_buf_free(&alone);
		}
		is_int(same, N - 1, "  each of %d labels as lbl_render draws it alone", N - 1);
		ok(refused, "  the bad label in the middle is refused, nothing written");
		lbl_renderer_free(r);
	}

	struct lbl_job bad_dpi = { lbl_template_find("cryo-1x0.5in"), 100, 1, LBL_FMT_PNG };
	struct lbl_job sheet_png = { lbl_template_find("a4-cryo-4x20"), 300, 1, LBL_FMT_PNG };

	r = (struct lbl_renderer *)1;
	ok(lbl_renderer_new(&bad_dpi, &r, why) == BB_EINVAL && r == NULL && strstr(why, "100 dpi"),
	   "a renderer for 100 dpi is refused: %s", why);
	ok(lbl_renderer_new(&sheet_png, &r, why) == BB_EINVAL && r == NULL &&
	       strstr(why, "PDF only"),
	   "a renderer for a sheet as PNG is refused: %s", why);
	free(ids);
}

static void
test_speed(void)
{
	enum { N = 10000 };
	struct lbl_data *d = bb_calloc(N, sizeof(*d));
	char(*ids)[BB_ID_LEN + 1] = bb_calloc(N, sizeof(*ids));
	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX];
	struct timespec a, b;
	size_t n = 0;
	double secs;

	for (uint64_t serial = 1; n < N; serial++) {
		if (!bb_id_from_serial(serial, ids[n]))
			continue;
		d[n] = sample();
		d[n].id = ids[n];
		n++;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	enum bb_err err = render("cryo-1.28x0.5in", 203, LBL_FMT_ZPL, d, N, &out, why);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	is_int(err, BB_OK, "ZPL for %d labels renders", N);
	/* Not a speed budget (a busy machine under the sanitizers is no measure of
	 * one): the bound only catches work that grows with the square of the
	 * batch. The time is in the log for whoever compares. */
	tap_diag("ZPL for %d labels in %.3f s", N, secs);
	ok(secs < 60.0, "ZPL for %d labels in %.3f s (bound 60 s: linear, not quadratic)", N, secs);
	bb_buf_free(&out);
	free(ids);
	free(d);
}

int
main(void)
{
	bb_id_from_serial(1, id8);
	test_errors();
	test_fit();
	test_png_dpi();
	test_threads();
	test_renderer();
	test_speed();
	return tap_done();
}
