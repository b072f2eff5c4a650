/*
 * test_scripts.c — labels for the sites we have: French, Chinese, Arabic and
 * Russian text shaped by Pango, checked without OCR by walking the glyphs
 * the label draws (every character of the expected string in a cluster with
 * a real glyph; Arabic right to left and joined), and a character no
 * installed font has refused by labelgen, naming the field and the
 * character, with exit status 6 and nothing written.
 */
#include "harness.h"
#include "label.h"
#include "util.h"
#include "../../labelgen/lbl_int.h"

#include <pango/pangocairo.h>

static char *dir;

/* Glyphs of one laid-out string, in visual order, with the byte offset of
 * the cluster each belongs to. */
struct shaped {
	PangoGlyph glyph[256];
	int cluster[256];
	size_t n;
	int unknown, rtl_runs, runs;
};

static void
shape(const char *s, bool bold, struct shaped *out)
{
	struct lbl_font *f = lbl_font_open();
	PangoLayout *lay = lbl_font_layout(f, s, 40, bold);
	PangoLayoutIter *it = pango_layout_get_iter(lay);

	memset(out, 0, sizeof(*out));
	out->unknown = pango_layout_get_unknown_glyphs_count(lay);
	do {
		PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);

		if (run == NULL)
			continue;
		out->runs++;
		out->rtl_runs += run->item->analysis.level % 2;
		for (int i = 0; i < run->glyphs->num_glyphs && out->n < 256; i++, out->n++) {
			out->glyph[out->n] = run->glyphs->glyphs[i].glyph;
			out->cluster[out->n] = run->item->offset + run->glyphs->log_clusters[i];
		}
	} while (pango_layout_iter_next_run(it));
	pango_layout_iter_free(it);
	g_object_unref(lay);
	lbl_font_close(f);
}

/* Every character of s lies in a cluster that has a glyph a font drew (a
 * ligature covers several characters with one glyph), and no glyph is the
 * empty box. Returns the first character left without one, or -1. */
static int
uncovered(const char *s, const struct shaped *sh)
{
	size_t len = strlen(s);

	for (size_t o = 0; o < len; o++) {
		int start = -1;
		bool drawn = false;

		if (((unsigned char)s[o] & 0xC0) == 0x80 || s[o] == ' ')
			continue;
		/* The cluster holding o starts at the largest cluster offset <= o. */
		for (size_t i = 0; i < sh->n; i++)
			if (sh->cluster[i] <= (int)o && sh->cluster[i] > start)
				start = sh->cluster[i];
		for (size_t i = 0; i < sh->n; i++)
			if (sh->cluster[i] == start && sh->glyph[i] != PANGO_GLYPH_EMPTY &&
			    !(sh->glyph[i] & PANGO_GLYPH_UNKNOWN_FLAG))
				drawn = true;
		if (!drawn)
			return (int)o;
	}
	return -1;
}

static void
test_coverage(void)
{
	static const struct {
		const char *what, *text;
	} cases[] = {
		{ "a French site's type and timepoint", "Sérum · J0 · prélevé le 14/03" },
		{ "a Chinese site's type and timepoint", "血清 · 基线" },
		{ "an Arabic name", "محمد عبد الله" },
		{ "a Russian type", "Сыворотка · исходно" },
		{ "a decomposed accent", "Se\xCC\x81rum" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct shaped sh;
		int at;

		shape(cases[i].text, false, &sh);
		is_int(sh.unknown, 0, "%s (%s): no empty boxes", cases[i].what, cases[i].text);
		at = uncovered(cases[i].text, &sh);
		ok(at < 0, "  every character is drawn by a glyph%s%s", at < 0 ? "" : ", not at ",
		   at < 0 ? "" : cases[i].text + at);
	}
}

static void
test_arabic_shaped(void)
{
	struct shaped alone, word, name;

	/* BEH alone, then three BEHs: initial, medial and final forms. */
	shape("\xD8\xA8", false, &alone);
	shape("\xD8\xA8\xD8\xA8\xD8\xA8", false, &word);
	is_int(word.rtl_runs, word.runs, "Arabic is laid out right to left");
	if (!ok(alone.n == 1 && word.n == 3, "one glyph per letter (got %zu and %zu)", alone.n,
	        word.n))
		return;
	/* Visual order: the glyph drawn leftmost is the last letter typed. */
	ok(word.cluster[0] > word.cluster[2], "  the first letter typed is drawn rightmost");
	ok(word.glyph[0] != alone.glyph[0] && word.glyph[1] != alone.glyph[0] &&
	       word.glyph[2] != alone.glyph[0],
	   "  joined: no letter of the word keeps its isolated form");
	ok(word.glyph[0] != word.glyph[2], "  the final and initial forms differ");

	/* LAM + ALEF is one required ligature in an Arabic font. */
	shape("\xD9\x84\xD8\xA7", false, &name);
	is_int(name.n, 1, "lam-alef is drawn as one ligature");
	is_int(uncovered("\xD9\x84\xD8\xA7", &name), -1, "  covering both letters");
}

static void
test_render_scripts(void)
{
	const struct lbl_data d[] = {
		{ .id = "KRVQKEB8",
		  .type = "Sérum",
		  .participant = "MASC/P001",
		  .timepoint = "J0 · prélevé le 14/03",
		  .collected = "2026-03-14" },
		{ .id = "KRVQKEB8",
		  .type = "血清",
		  .participant = "MASC/P002",
		  .timepoint = "基线",
		  .collected = "2026-03-14" },
		{ .id = "KRVQKEB8", .participant = "محمد عبد الله", .type = "serum" },
	};
	static const enum lbl_format formats[] = { LBL_FMT_PNG, LBL_FMT_SVG, LBL_FMT_PDF };

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		for (size_t k = 0; k < 3; k++) {
			struct lbl_job job = { lbl_template_find("box-2x1in"), 300, 1, formats[k] };
			struct bb_buf out = { 0 };
			char why[LBL_WHY_MAX];
			enum bb_err err = lbl_render(&job, &d[i], 1, &out, why);

			if (!ok(err == BB_OK && out.len > 0, "%s label %zu renders",
			        lbl_format_name(formats[k]), i + 1))
				tap_diag("  %s", why);
			bb_buf_free(&out);
		}
	}
}

/* Runs labelgen with only DejaVu (Latin, Greek, Cyrillic, Arabic; no CJK)
 * visible to fontconfig. */
static void
test_missing_font(void)
{
	const char *labelgen = getenv("LABELGEN");
	char conf[512], csv[512], png[512];
	char *out;
	int rc;

	if (!ok(labelgen != NULL, "LABELGEN names the labelgen binary"))
		return;
	snprintf(conf, sizeof(conf), "%s/fonts.conf", dir);
	snprintf(csv, sizeof(csv), "%s/zh.csv", dir);
	snprintf(png, sizeof(png), "%s/zh.png", dir);
	char *xml = bb_asprintf("<?xml version=\"1.0\"?>\n"
	                        "<!DOCTYPE fontconfig SYSTEM \"urn:fontconfig:fonts.dtd\">\n"
	                        "<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir>"
	                        "<cachedir>%s/fc-cache</cachedir></fontconfig>\n",
	                        dir);
	static const char rows[] = "id,type,participant,timepoint,collected_at\n"
	                           "KRVQKEB8,serum,CHN/P001,血清 · 基线,2026-03-14\n";
	write_file(conf, xml, strlen(xml));
	write_file(csv, rows, sizeof(rows) - 1);
	free(xml);

	out = run_capture("FONTCONFIG_FILE='%s' '%s' --input '%s' --format png --output '%s' 2>&1; "
	                  "echo \"rc=$?\"",
	                  conf, labelgen, csv, png);
	rc = strstr(out, "rc=") ? atoi(strstr(out, "rc=") + 3) : -1;
	is_int(rc, 6, "a Chinese timepoint with no CJK font installed: exit status 6");
	ok(strstr(out, "timepoint \"血清 · 基线\": no installed font has U+8840 '血'") != NULL,
	   "  the message names the field and the character: %s", out);
	ok(access(png, F_OK) != 0, "  and no PNG is written");
	free(out);

	out = run_capture("FONTCONFIG_FILE='%s' '%s' --input '%s' --format zpl 2>&1 >/dev/null; "
	                  "echo \"rc=$?\"",
	                  conf, labelgen, csv);
	ok(strstr(out, "rc=6") != NULL, "  ZPL is refused the same way: %s", out);
	free(out);
}

int
main(void)
{
	dir = scratch_dir();
	test_coverage();
	test_arabic_shaped();
	test_render_scripts();
	test_missing_font();
	remove_dir(dir);
	free(dir);
	return tap_done();
}
