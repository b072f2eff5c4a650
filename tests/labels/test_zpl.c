/*
 * test_zpl.c — ZPL as a printer would take it: each roll template at each
 * resolution rendered by zpl-renderer-js (a WebAssembly ZPL emulator, no
 * network) and decoded by dmtxread and zbarimg; and golden files holding the
 * exact bytes of a few labels, so any change to what printers receive is
 * deliberate. LBL_GOLDEN_UPDATE=1 rewrites the golden files.
 *
 * Text font 0 cannot print (accents, Chinese, Arabic) travels as ^GF
 * graphics: the emulator's rendering of them is compared dot by dot with
 * the PNG preview of the same label, and the barcodes beside them must
 * still decode.
 */
#include "harness.h"
#include "ids.h"
#include "label.h"
#include "util.h"

#include <png.h>

static const int dpis[] = { 203, 300, 600 };
static char *dir;
static const char *srcdir;

static int
dpmm(int dpi)
{
	return dpi == 203 ? 8 : dpi == 300 ? 12 : 24;
}

static int
zpl_number(const char *zpl, const char *cmd)
{
	const char *p = strstr(zpl, cmd);

	return p ? atoi(p + strlen(cmd)) : -1;
}

static void
check_emulated(const struct lbl_template *t, int dpi, const struct lbl_data *d, size_t sample,
               bool want_bar)
{
	struct lbl_job job = { t, dpi, 1, LBL_FMT_ZPL };
	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX], zpl[512], prefix[512];
	const char *name = lbl_template_name(t);

	if (!ok(lbl_render(&job, d, 1, &out, why) == BB_OK, "%s %d dpi ZPL for sample %zu", name,
	        dpi, sample)) {
		tap_diag("  %s", why);
		bb_buf_free(&out);
		return;
	}
	snprintf(zpl, sizeof(zpl), "%s/%s-%d-%zu.zpl", dir, name, dpi, sample);
	snprintf(prefix, sizeof(prefix), "%s/%s-%d-%zu", dir, name, dpi, sample);
	write_file(zpl, out.data, out.len);
	double w_mm = zpl_number(out.data, "^PW") / (double)dpmm(dpi);
	double h_mm = zpl_number(out.data, "^LL") / (double)dpmm(dpi);
	char *count = run_capture("node '%s/zpl2png.mjs' '%s' %.3f %.3f %d '%s' 2>&1", srcdir, zpl,
	                          w_mm, h_mm, dpmm(dpi), prefix);
	is_str(count, "1", "%s %d dpi: the emulator renders one label", name, dpi);
	free(count);
	char *dm = run_capture("dmtxread -n -N1 -m 20000 '%s-1.png' 2>/dev/null", prefix);
	is_str(dm, d->id, "%s %d dpi sample %zu: dmtxread reads the printer's DataMatrix", name,
	       dpi, sample);
	free(dm);
	char *bar = run_capture(
	    "zbarimg -q --raw -Sdisable -Scode128.enable '%s-1.png' 2>/dev/null", prefix);
	if (want_bar)
		is_str(bar, d->id, "%s %d dpi sample %zu: zbarimg reads the printer's Code 128",
		       name, dpi, sample);
	else
		is_str(bar, "", "%s %d dpi sample %zu: no Code 128", name, dpi, sample);
	free(bar);
	bb_buf_free(&out);
}

static bool
black_at(const unsigned char *px, int w, int h, int x, int y)
{
	return x >= 0 && y >= 0 && x < w && y < h && px[y * w + x] < 128;
}

/* Black within one dot of (x, y): where antialiasing crosses the threshold,
 * two faithful rasterizations of a stroke may differ by one dot. */
static bool
black_near(const unsigned char *px, int w, int h, int x, int y)
{
	for (int dy = -1; dy <= 1; dy++)
		for (int dx = -1; dx <= 1; dx++)
			if (black_at(px, w, h, x + dx, y + dy))
				return true;
	return false;
}

/* A PNG as 8-bit grey, or NULL; the caller frees it. */
static unsigned char *
read_grey(const char *path, int *w, int *h)
{
	png_image img = { .version = PNG_IMAGE_VERSION };
	unsigned char *px;

	if (!png_image_begin_read_from_file(&img, path))
		return NULL;
	img.format = PNG_FORMAT_GRAY;
	px = bb_malloc(PNG_IMAGE_SIZE(img));
	if (!png_image_finish_read(&img, NULL, px, 0, NULL)) {
		free(px);
		return NULL;
	}
	*w = (int)img.width;
	*h = (int)img.height;
	return px;
}

static void
check_graphic_text(const struct lbl_template *t, int dpi, const struct lbl_data *d,
                   const char *what)
{
	struct lbl_job zj = { t, dpi, 1, LBL_FMT_ZPL }, pj = { t, dpi, 1, LBL_FMT_PNG };
	struct bb_buf zpl = { 0 }, png = { 0 };
	char why[LBL_WHY_MAX], zpath[512], prefix[512], ppath[512], epath[600];
	const char *name = lbl_template_name(t);
	bool ascii = true;
	int graphics = 0, black = 0, wrong = 0;

	if (!ok(lbl_render(&zj, d, 1, &zpl, why) == BB_OK && lbl_render(&pj, d, 1, &png, why) == 0,
	        "%s, %s at %d dpi: ZPL and PNG render", what, name, dpi)) {
		tap_diag("  %s", why);
		goto out;
	}
	/* Font 0 never gets a byte it cannot print: only comments hold UTF-8. */
	for (const char *l = zpl.data; *l; l = strchr(l, '\n') + 1) {
		for (const char *c = l; *c != '\n' && strncmp(l, "^FX", 3) != 0; c++)
			if ((unsigned char)*c >= 0x80)
				ascii = false;
		if (strchr(l, '\n') == NULL)
			break;
	}
	ok(ascii, "  the printer gets only ASCII outside comments");
	snprintf(zpath, sizeof(zpath), "%s/gf-%s-%d.zpl", dir, name, dpi);
	snprintf(prefix, sizeof(prefix), "%s/gf-%s-%d", dir, name, dpi);
	snprintf(ppath, sizeof(ppath), "%s/gf-%s-%d-preview.png", dir, name, dpi);
	snprintf(epath, sizeof(epath), "%s-1.png", prefix);
	write_file(zpath, zpl.data, zpl.len);
	write_file(ppath, png.data, png.len);
	char *count =
	    run_capture("node '%s/zpl2png.mjs' '%s' %.3f %.3f %d '%s' 2>&1", srcdir, zpath,
	                zpl_number(zpl.data, "^PW") / (double)dpmm(dpi),
	                zpl_number(zpl.data, "^LL") / (double)dpmm(dpi), dpmm(dpi), prefix);
	is_str(count, "1", "  the emulator renders it");
	free(count);
	char *dm = run_capture("dmtxread -n -N1 -m 20000 '%s' 2>/dev/null", epath);
	is_str(dm, d->id, "  dmtxread reads the printer's DataMatrix beside the graphics");
	free(dm);

	int ew, eh, pw, ph;
	unsigned char *emu = read_grey(epath, &ew, &eh), *pre = read_grey(ppath, &pw, &ph);

	if (!ok(emu && pre, "  both images read"))
		goto free_images;
	/* Each graphic's line, dot by dot: black in one and white in the other.
	 * Only the rows of its own line (its ^FX says which): the box reaches
	 * into its neighbours', which font 0 and the preview's font draw apart. */
	for (const char *p = zpl.data; (p = strstr(p, "^FO")) != NULL; p++) {
		int x, y, bytes, bpr, fx, fy, fsize, used = 0;
		const char *fxp;

		if (sscanf(p, "^FO%d,%d^GFA,%d,%*d,%d,%n", &x, &y, &bytes, &bpr, &used) != 4 ||
		    used == 0 || (fxp = strstr(p, "^FX")) == NULL ||
		    sscanf(fxp, "^FX%d,%d,%d", &fx, &fy, &fsize) != 3)
			continue;
		graphics++;
		for (int r = fy; r < fy + fsize && r < y + bytes / bpr; r++) {
			for (int c = x; c < x + bpr * 8; c++) {
				bool e = black_at(emu, ew, eh, c, r),
				     q = black_at(pre, pw, ph, c, r);

				black += q;
				wrong += (e && !black_near(pre, pw, ph, c, r)) ||
				         (q && !black_near(emu, ew, eh, c, r));
			}
		}
	}
	ok(graphics > 0 && black > 0, "  the text went as %d graphic(s), %d dots black", graphics,
	   black);
	/* A glyph missing or moved by two dots would leave hundreds. */
	ok(wrong * 50 <= black,
	   "  the printer prints the preview's text: %d of %d dots more than a dot off", wrong,
	   black);
free_images:
	free(emu);
	free(pre);
out:
	bb_buf_free(&zpl);
	bb_buf_free(&png);
}

static void
check_golden(const char *file, const char *tpl, int dpi, int copies, const struct lbl_data *d,
             size_t n)
{
	struct lbl_job job = { lbl_template_find(tpl), dpi, copies, LBL_FMT_ZPL };
	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX], path[512];
	char *want;

	if (!ok(lbl_render(&job, d, n, &out, why) == BB_OK, "golden %s renders", file))
		tap_diag("  %s", why);
	snprintf(path, sizeof(path), "%s/golden/%s", srcdir, file);
	if (getenv("LBL_GOLDEN_UPDATE"))
		write_file(path, out.data, out.len);
	bb_read_file(path, &want, NULL);
	is_str(out.data, want, "ZPL matches golden/%s byte for byte", file);
	free(want);
	bb_buf_free(&out);
}

int
main(void)
{
	char id8[BB_ID_LEN + 1], id8b[BB_ID_LEN + 1], path[512];

	srcdir = getenv("LBL_TEST_SRCDIR");
	if (srcdir == NULL)
		srcdir = ".";
	bb_id_from_serial(1, id8);
	bb_id_from_serial(123456789, id8b);

	/* Golden files first: they need no outside tool. */
	const struct lbl_data golden[] = {
		{ .id = id8,
		  .type = "serum",
		  .participant = "Müller-Lyon",
		  .timepoint = "baseline",
		  .collected = "2024-03-05" },
		{ .id = id8b,
		  .type = "plasma",
		  .participant = "MASC-0042",
		  .timepoint = "m12",
		  .collected = "2024-03-06" },
	};
	const char *const odd_lines[] = { "x^XZ ~JA _5E", "a participant code far too long for any "
		                                          "cryo label" };
	const struct lbl_data odd = { .id = id8, .lines = odd_lines, .nlines = 2 };
	check_golden("cryo-1.28x0.5in-203.zpl", "cryo-1.28x0.5in", 203, 1, golden, 2);
	check_golden("cryo-1x0.5in-300.zpl", "cryo-1x0.5in", 300, 1, golden, 1);
	check_golden("box-2x1in-203-copies3.zpl", "box-2x1in", 203, 3, golden, 1);
	check_golden("escapes-cryo-1x0.5in-600.zpl", "cryo-1x0.5in", 600, 1, &odd, 1);

	/* Without the emulator or the readers, each check it would have made is
	 * reported as skipped (TAP "# SKIP", counted by scripts/test), so a missing
	 * install cannot pass unnoticed. */
	const char *missing = NULL;

	snprintf(path, sizeof(path), "%s/node_modules/zpl-renderer-js/package.json", srcdir);
	if (!have_tool("node"))
		missing = "node is not installed";
	else if (access(path, R_OK) != 0)
		missing = "zpl-renderer-js is not installed: run 'npm ci --prefix tests/labels'";
	else if (!have_tool("dmtxread"))
		missing = "dmtxread is not installed (dmtx-utils)";
	else if (!have_tool("zbarimg"))
		missing = "zbarimg is not installed (zbar-tools)";
	if (missing) {
		for (size_t ti = 0; lbl_template_at(ti); ti++) {
			const struct lbl_template *t = lbl_template_at(ti);

			if (lbl_template_is_sheet(t))
				continue;
			for (size_t di = 0; di < sizeof(dpis) / sizeof(dpis[0]); di++)
				ok(true, "%s %d dpi: emulated and decoded # SKIP %s",
				   lbl_template_name(t), dpis[di], missing);
		}
		return tap_done();
	}
	dir = scratch_dir();
	const struct lbl_data samples[] = {
		golden[0],
		{ .id = "0123456789AB",
		  .type = "muscle_biopsy",
		  .participant = "Ærø ~ ^ _",
		  .timepoint = "m12",
		  .collected = "2031-12-31" },
	};
	for (size_t ti = 0; lbl_template_at(ti); ti++) {
		const struct lbl_template *t = lbl_template_at(ti);
		bool wide = strncmp(lbl_template_name(t), "box-", 4) == 0;

		if (lbl_template_is_sheet(t))
			continue;
		for (size_t di = 0; di < sizeof(dpis) / sizeof(dpis[0]); di++)
			for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++)
				check_emulated(t, dpis[di], &samples[s], s, wide);
	}
	const struct lbl_data scripts[] = {
		{ .id = id8,
		  .type = "Sérum",
		  .participant = "LYON/P017",
		  .timepoint = "J0 · prélevé le 14/03",
		  .collected = "2026-03-14" },
		{ .id = id8b,
		  .type = "血清",
		  .participant = "SH/P002",
		  .timepoint = "基线",
		  .collected = "2026-03-14" },
		{ .id = id8, .type = "serum", .participant = "محمد عبد الله" },
	};
	static const char *const script_names[] = { "French", "Chinese", "Arabic" };
	for (size_t ti = 0; lbl_template_at(ti); ti++) {
		const struct lbl_template *t = lbl_template_at(ti);

		if (lbl_template_is_sheet(t))
			continue;
		for (size_t di = 0; di < 2; di++)
			for (size_t s = 0; s < sizeof(scripts) / sizeof(scripts[0]); s++)
				check_graphic_text(t, dpis[di], &scripts[s], script_names[s]);
	}
	if (getenv("LBL_TEST_KEEP"))
		tap_diag("renderings kept in %s", dir);
	else
		remove_dir(dir);
	free(dir);
	return tap_done();
}
