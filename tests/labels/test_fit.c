/*
 * test_fit.c — one layout rule for the screen and the printer. For many
 * labels on every roll template at every resolution, the lines the ZPL
 * prints (read from its ^FO/^A0/^FD fields) are the lines the PDF preview
 * draws (read back by pdftotext -bbox, an outside reader), at the same
 * places; the ID and the participant are never shortened, so the two
 * HOSP-LYON donors print distinguishably or are refused, naming the field.
 */
#include "harness.h"
#include "label.h"
#include "util.h"

static const int dpis[] = { 203, 300, 600 };
static const char *const rolls[] = { "cryo-1.28x0.5in", "cryo-1x0.5in", "box-2x1in" };
static char *dir;

struct line {
	double x, y, size; /* points */
	char text[512];
};

/* The text of a ZPL label: font 0 fields ^FOx,y^A0N,h,w^FH_^FD...^FS, and
 * the ^FXx,y,h TEXT comment after each ^GF graphic of a line. */
static size_t
zpl_lines(const char *zpl, int dpi, struct line *out, size_t max)
{
	size_t n = 0;

	for (const char *p = zpl; (p = strchr(p, '^')) != NULL && n < max; p++) {
		int x, y, h, used = 0;
		const char *fd, *fs;
		size_t k = 0;

		if (sscanf(p, "^FX%d,%d,%d %n", &x, &y, &h, &used) == 3 && used > 0) {
			const char *nl = strchr(p + used, '\n');

			snprintf(out[n].text, sizeof(out[n].text), "%.*s", (int)(nl - (p + used)),
			         p + used);
			out[n].x = x * 72.0 / dpi;
			out[n].y = y * 72.0 / dpi;
			out[n].size = h * 72.0 / dpi;
			n++;
			continue;
		}
		if (sscanf(p, "^FO%d,%d^A0N,%d,%*d^FH_^FD%n", &x, &y, &h, &used) != 3 || used == 0)
			continue;
		fd = p + used;
		fs = strstr(fd, "^FS");
		for (const char *c = fd; c < fs && k + 1 < sizeof(out[n].text); c++) {
			unsigned int byte;

			if (*c == '_' && sscanf(c + 1, "%2x", &byte) == 1) {
				out[n].text[k++] = (char)byte;
				c += 2;
			} else {
				out[n].text[k++] = *c;
			}
		}
		out[n].text[k] = '\0';
		out[n].x = x * 72.0 / dpi;
		out[n].y = y * 72.0 / dpi;
		out[n].size = h * 72.0 / dpi;
		n++;
	}
	return n;
}

/* Collapses runs of spaces (pdftotext gives words, not the gaps between). */
static void
squeeze(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++)
		if (*r != ' ' || (w > s && w[-1] != ' '))
			*w++ = *r;
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

/*
 * The preview's words grouped by the ZPL line whose band holds their middle,
 * joined with single spaces; *x gets the leftmost word's left edge. Returns
 * false when a word falls in no band (text where the printer has none).
 */
static bool
pdf_lines(const char *bbox, const struct line *zl, size_t n, char got[][512], double *x)
{
	for (size_t i = 0; i < n; i++) {
		got[i][0] = '\0';
		x[i] = 1e9;
	}
	for (const char *p = bbox; (p = strstr(p, "<word ")) != NULL; p++) {
		double x0, y0, x1, y1, mid;
		int used = 0;
		size_t best = n;

		if (sscanf(p, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\">%n", &x0,
		           &y0, &x1, &y1, &used) != 4)
			continue;
		mid = (y0 + y1) / 2;
		for (size_t i = 0; i < n; i++)
			if (mid >= zl[i].y - 0.2 * zl[i].size && mid <= zl[i].y + 1.2 * zl[i].size)
				best = i;
		if (best == n)
			return false;
		const char *end = strstr(p + used, "</word>");
		size_t len = strlen(got[best]);

		snprintf(got[best] + len, 512 - len, "%s%.*s", len ? " " : "",
		         (int)(end - (p + used)), p + used);
		if (x0 < x[best])
			x[best] = x0;
	}
	return true;
}

static void
compare(const struct lbl_data *d, const char *what, const char *tpl, int dpi, int *mismatches)
{
	struct lbl_job zj = { lbl_template_find(tpl), dpi, 1, LBL_FMT_ZPL };
	struct lbl_job pj = { lbl_template_find(tpl), dpi, 1, LBL_FMT_PDF };
	struct bb_buf zpl = { 0 }, pdf = { 0 };
	char zwhy[LBL_WHY_MAX], pwhy[LBL_WHY_MAX], path[512], got[LBL_LINES_MAX + 1][512];
	struct line zl[LBL_LINES_MAX + 1];
	double x[LBL_LINES_MAX + 1];
	enum bb_err ze = lbl_render(&zj, d, 1, &zpl, zwhy), pe = lbl_render(&pj, d, 1, &pdf, pwhy);
	size_t n;

	if (ze != BB_OK || pe != BB_OK) {
		if (ze != pe || strcmp(zwhy, pwhy) != 0) {
			tap_diag("%s on %s at %d: ZPL says %s; PDF says %s", what, tpl, dpi, zwhy,
			         pwhy);
			(*mismatches)++;
		}
		goto out;
	}
	n = zpl_lines(zpl.data, dpi, zl, LBL_LINES_MAX + 1);
	snprintf(path, sizeof(path), "%s/label.pdf", dir);
	write_file(path, pdf.data, pdf.len);
	char *bbox = run_capture("pdftotext -bbox '%s' - 2>&1", path);
	if (!pdf_lines(bbox, zl, n, got, x)) {
		tap_diag("%s on %s at %d: the preview has text where the ZPL has none", what, tpl,
		         dpi);
		(*mismatches)++;
	}
	for (size_t i = 0; i < n; i++) {
		squeeze(zl[i].text);
		if (strcmp(got[i], zl[i].text) != 0 || x[i] < zl[i].x - 0.3 ||
		    x[i] > zl[i].x + 0.15 * zl[i].size + 0.5) {
			tap_diag("%s on %s at %d, line %zu: ZPL \"%s\" at x %.1f pt; preview "
			         "\"%s\" at x %.1f pt",
			         what, tpl, dpi, i + 1, zl[i].text, zl[i].x, got[i], x[i]);
			(*mismatches)++;
		}
	}
	free(bbox);
out:
	bb_buf_free(&zpl);
	bb_buf_free(&pdf);
}

static void
test_same_lines(void)
{
	static const char *const server_lines[] = { "MASC/P001", "serum · baseline", "2026-03-02",
		                                    "aliquot 3 of 12", "freezer B, rack 4" };
	const struct {
		const char *what;
		struct lbl_data d;
	} cases[] = {
		{ "a plain label",
		  { "KRVQKEB8", "serum", "MASC/P001", "baseline", "2026-03-02", NULL, 0 } },
		{ "HOSP-LYON -A",
		  { "KRVQKEB8", "serum", "MASC/HOSP-LYON-2026-000123-A", "baseline", "2026-03-02",
		    NULL, 0 } },
		{ "HOSP-LYON -B",
		  { "7HQF6WPE", "serum", "MASC/HOSP-LYON-2026-000123-B", "baseline", "2026-03-02",
		    NULL, 0 } },
		{ "a French label",
		  { "KRVQKEB8", "Sérum", "LYON/P017", "J0 · prélevé le 14/03", "2026-03-14", NULL,
		    0 } },
		{ "a Chinese label",
		  { "KRVQKEB8", "血清", "SH/P002", "基线", "2026-03-14", NULL, 0 } },
		{ "a long timepoint",
		  { "KRVQKEB8", "serum", "MASC/P001",
		    "follow-up visit twelve months after baseline", "2026-03-02", NULL, 0 } },
		{ "a long type",
		  { "KRVQKEB8", "peripheral blood mononuclear cells", "MASC/P001", "baseline",
		    "2026-03-02", NULL, 0 } },
		{ "more lines than fit",
		  { "KRVQKEB8", "serum", "MASC/P001", "baseline", "2026-03-02", server_lines, 5 } },
	};
	int mismatches = 0, compared = 0;

	if (!have_tool("pdftotext")) {
		ok(true, "# SKIP pdftotext (poppler-utils) is not installed");
		return;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t t = 0; t < 3; t++)
			for (size_t k = 0; k < 3; k++, compared++)
				compare(&cases[c].d, cases[c].what, rolls[t], dpis[k], &mismatches);
	is_int(mismatches, 0,
	       "%d labels: the preview draws the lines the printer prints, where it prints them",
	       compared);
}

static void
test_hosp_pair(void)
{
	struct lbl_data a = { "KRVQKEB8", "serum",      "MASC/HOSP-LYON-2026-000123-A",
		              "baseline", "2026-03-02", NULL,
		              0 };
	struct lbl_data b = a;

	b.participant = "MASC/HOSP-LYON-2026-000123-B";
	for (size_t t = 0; t < 3; t++) {
		for (size_t k = 0; k < 3; k++) {
			struct lbl_job job = { lbl_template_find(rolls[t]), dpis[k], 1,
				               LBL_FMT_ZPL };
			struct bb_buf za = { 0 }, zb = { 0 };
			char wa[LBL_WHY_MAX], wb[LBL_WHY_MAX];
			enum bb_err ea = lbl_render(&job, &a, 1, &za, wa);
			enum bb_err eb = lbl_render(&job, &b, 1, &zb, wb);

			if (ea == BB_OK && eb == BB_OK) {
				ok(strstr(za.data, "^FDMASC/HOSP-LYON-2026-000123-A^FS") &&
				       strstr(zb.data, "^FDMASC/HOSP-LYON-2026-000123-B^FS"),
				   "%s at %d dpi: both donors print their whole code", rolls[t],
				   dpis[k]);
			} else {
				ok(ea == BB_EINVAL && eb == BB_EINVAL &&
				       strstr(wa,
				              "participant \"MASC/HOSP-LYON-2026-000123-A\" does "
				              "not fit") &&
				       strstr(wb,
				              "participant \"MASC/HOSP-LYON-2026-000123-B\" does "
				              "not fit"),
				   "%s at %d dpi: both refused, naming the participant: %s",
				   rolls[t], dpis[k], ea ? wa : wb);
			}
			bb_buf_free(&za);
			bb_buf_free(&zb);
		}
	}
}

static void
test_shrink(void)
{
	struct lbl_data d = { "KRVQKEB8", "serum", "MASC/P001", "baseline visit", "2026-03-02",
		              NULL,       0 };
	struct lbl_job job = { lbl_template_find("cryo-1.28x0.5in"), 300, 1, LBL_FMT_ZPL };
	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX];
	const char *p;
	int size = 0;

	/* 6 pt at 300 dpi is 25 dots; the line shrinks rather than lose "visit". */
	lbl_render(&job, &d, 1, &out, why);
	/* Not ASCII (the middle dot): a graphic, described by its ^FXx,y,size. */
	p = strstr(out.data, " serum \xC2\xB7 baseline visit\n");
	ok(p != NULL, "a timepoint a little too long is kept whole...");
	if (p) {
		while (p > out.data && *p != ',')
			p--;
		size = atoi(p + 1);
	}
	ok(size >= 21 && size < 25, "  at a smaller size, not under 5 pt (%d dots)", size);
	bb_buf_free(&out);

	/* The ID is never cut: a 100-character one is refused where the DataMatrix fits. */
	char longid[LBL_ID_MAX + 1];
	for (int i = 0; i < LBL_ID_MAX; i++)
		longid[i] = (char)('A' + i % 26);
	longid[LBL_ID_MAX] = '\0';
	d.id = longid;
	job.tpl = lbl_template_find("box-2x1in");
	is_int(lbl_render(&job, &d, 1, &out, why), BB_EINVAL,
	       "a 100-character ID whose text cannot fit is refused...");
	ok(strncmp(why, "ID \"ABCDEF", 10) == 0 && strstr(why, "does not fit box-2x1in"),
	   "  naming the field and the label: %s", why);
	is_int(out.len, 0, "  with nothing written");
	bb_buf_free(&out);
}

int
main(void)
{
	dir = scratch_dir();
	test_hosp_pair();
	test_shrink();
	test_same_lines();
	remove_dir(dir);
	free(dir);
	return tap_done();
}
