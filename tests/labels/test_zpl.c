/*
 * test_zpl.c — ZPL as a printer would take it: each roll template at each
 * resolution rendered by zpl-renderer-js (a WebAssembly ZPL emulator, no
 * network) and decoded by dmtxread and zbarimg; and golden files holding the
 * exact bytes of a few labels, so any change to what printers receive is
 * deliberate. LBL_GOLDEN_UPDATE=1 rewrites the golden files.
 */
#include "harness.h"
#include "ids.h"
#include "label.h"
#include "util.h"

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
	if (getenv("LBL_TEST_KEEP"))
		tap_diag("renderings kept in %s", dir);
	else
		remove_dir(dir);
	free(dir);
	return tap_done();
}
