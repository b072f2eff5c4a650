/*
 * test_templates.c — label templates as JSON layout files: the built-in ones
 * are read from the same format and lay labels out as before; a site's own
 * file prints what it says (its fields, the DataMatrix on the side it names);
 * broken files are refused when read, naming the member and the problem; and
 * labelgen finds a site's templates beside the built-in ones.
 */
#include "harness.h"
#include "label.h"
#include "util.h"
#include "../../labelgen/lbl_int.h"

#include <math.h>
#include <sys/stat.h>

static const char *labelgen;
static char *dir;

static const char good[] = "{\n"
                           "  \"name\": \"freezer-box-right\",\n"
                           "  \"summary\": \"2 x 1 in, symbol at the right, no type\",\n"
                           "  \"stock\": {\"width_mm\": 50.8, \"height_in\": 1.0, \"margin_in\": "
                           "0.06},\n"
                           "  \"font\": {\"family\": \"DejaVu Sans\", \"size_pt\": 9},\n"
                           "  \"datamatrix\": {\"module_in\": 0.02, \"side\": \"right\"},\n"
                           "  \"fields\": [\"participant\", \"collected\"]\n"
                           "}\n";

static void
test_builtins(void)
{
	/* The values the templates had as C rows before they were JSON. */
	static const struct {
		const char *name;
		double w, h, margin, pt, module, bar;
	} rolls[] = {
		{ "cryo-1.28x0.5in", 1.28, 0.5, 0.04, 6, 0.015, 0.1 },
		{ "cryo-1x0.5in", 1.0, 0.5, 0.04, 6, 0.015, 0.1 },
		{ "box-2x1in", 2.0, 1.0, 0.06, 8, 0.02, 0.22 },
	};
	for (size_t i = 0; i < sizeof(rolls) / sizeof(rolls[0]); i++) {
		const struct lbl_template *t = lbl_template_find(rolls[i].name);

		ok(t && t->w == rolls[i].w && t->h == rolls[i].h && t->margin == rolls[i].margin &&
		       t->text_pt == rolls[i].pt && t->dm_module == rolls[i].module &&
		       t->bar_h == rolls[i].bar && t->dm_max_frac == 0.45 && !t->dm_right &&
		       t->nfields == 0,
		   "built-in %s, read from its JSON, is the stock it was", rolls[i].name);
	}
	const struct lbl_template *a4 = lbl_template_find("a4-cryo-4x20");
	ok(a4 && fabs(a4->page_w - 210 / 25.4) < 1e-12 && fabs(a4->pitch_y - 13.5 / 25.4) < 1e-12 &&
	       a4->cols == 4 && a4->rows == 20 && strcmp(a4->cell, "cryo-1.28x0.5in") == 0,
	   "built-in a4-cryo-4x20 in millimetres");
	ok(lbl_template_is_sheet(lbl_template_find("letter-cryo-5x17")),
	   "letter-cryo-5x17 a sheet");
	ok(lbl_template_at(5) == NULL, "five built-in templates");
}

static void
test_site_template(void)
{
	char why[LBL_WHY_MAX];
	struct lbl_template *t = NULL;
	struct bb_buf zpl = { 0 };
	const struct lbl_data d = { .id = "KRVQKEB8",
		                    .type = "serum",
		                    .participant = "MASC/0042",
		                    .timepoint = "baseline",
		                    .collected = "2026-03-02" };

	is_int(lbl_template_parse(good, strlen(good), "freezer.json", &t, why), BB_OK,
	       "a site's template is read: %s", t ? "" : why);
	if (t == NULL)
		return;
	ok(fabs(t->w - 2.0) < 1e-9 && t->dm_right && t->nfields == 2 && t->text_pt == 9 &&
	       strcmp(t->font, "DejaVu Sans") == 0,
	   "  with its stock (50.8 mm = 2 in), font, fields and side");
	struct lbl_job job = { t, 300, 1, LBL_FMT_ZPL };
	is_int(lbl_render(&job, &d, 1, &zpl, why), BB_OK, "  a label renders with it: %s",
	       zpl.len ? "" : why);
	const char *z = zpl.data ? zpl.data : "";
	ok(strstr(z, "^FDMASC/0042^FS") && strstr(z, "^FD2026-03-02^FS"),
	   "  printing the participant and the date");
	ok(!strstr(z, "serum") && !strstr(z, "baseline"), "  and not the type or timepoint");
	/* The symbol's ^FO is right of the text's. */
	const char *bx = strstr(z, "^BX"), *fo_dm = NULL, *fo_txt = strstr(z, "^FO");
	for (const char *p = z; (p = strstr(p, "^FO")) != NULL && p < bx; p++)
		fo_dm = p;
	int dm_x = fo_dm ? atoi(fo_dm + 3) : -1, txt_x = fo_txt ? atoi(fo_txt + 3) : -1;
	if (fo_txt == fo_dm) {
		const char *next = strstr(bx ? bx : z, "^FO");
		txt_x = next ? atoi(next + 3) : -1;
	}
	ok(dm_x > txt_x && txt_x >= 0,
	   "  the DataMatrix at the right (x %d), text at the left (x %d)", dm_x, txt_x);
	bb_buf_free(&zpl);
	/* Label data with only explicit lines still prints them. */
	const char *lines[] = { "line one" };
	const struct lbl_data only = { .id = "KRVQKEB8", .lines = lines, .nlines = 1 };
	is_int(lbl_render(&job, &only, 1, &zpl, why), BB_OK, "  data with only lines renders");
	ok(zpl.data && strstr(zpl.data, "^FDline one^FS"), "  printing its lines");
	bb_buf_free(&zpl);
	lbl_template_free(t);
}

static void
refused(const char *what, const char *text, const char *const *says)
{
	char why[LBL_WHY_MAX] = "";
	struct lbl_template *t = NULL;
	bool all = true;

	is_int(lbl_template_parse(text, strlen(text), "site.json", &t, why), BB_EINVAL,
	       "%s is refused", what);
	for (const char *const *s = says; *s; s++)
		all = all && strstr(why, *s) != NULL;
	ok(all && strncmp(why, "site.json", 9) == 0 && t == NULL, "  naming the file and %s: %s",
	   says[0], why);
	lbl_template_free(t);
}

static void
test_broken(void)
{
	refused("a template wider than its stock",
	        "{\"name\":\"x\",\"stock\":{\"width_in\":0.5,\"height_in\":0.5,\"margin_in\":0.15},"
	        "\"font\":{\"size_pt\":6},\"datamatrix\":{\"module_in\":0.015}}",
	        (const char *const[]){ "stock", "wider than its stock", "0.5 in wide", NULL });
	refused("a sheet wider than its page",
	        "{\"name\":\"x\",\"sheet\":{\"cell\":\"cryo-1.28x0.5in\",\"page_width_in\":8.5,"
	        "\"page_height_in\":11,\"left_in\":0.61,\"top_in\":0.75,\"pitch_x_in\":1.5,"
	        "\"pitch_y_in\":0.5625,\"columns\":6,\"rows\":17}}",
	        (const char *const[]){ "sheet", "wider than its stock", "6 columns", NULL });
	refused("an unknown field",
	        "{\"name\":\"x\",\"stock\":{\"width_in\":2,\"height_in\":1,\"margin_in\":0.06},"
	        "\"font\":{\"size_pt\":8},\"datamatrix\":{\"module_in\":0.02},"
	        "\"fields\":[\"participant\",\"weight\"]}",
	        (const char *const[]){ "fields[1]", "unknown field \"weight\"", NULL });
	refused("an unknown member",
	        "{\"name\":\"x\",\"stock\":{\"width_in\":2,\"height_in\":1,\"margin_in\":0.06,"
	        "\"colour\":\"red\"},\"font\":{\"size_pt\":8},\"datamatrix\":{\"module_in\":0.02}}",
	        (const char *const[]){ "stock.\"colour\"", "unknown member", NULL });
	refused("a template without a barcode",
	        "{\"name\":\"x\",\"stock\":{\"width_in\":2,\"height_in\":1,\"margin_in\":0.06},"
	        "\"font\":{\"size_pt\":8},\"code128\":{\"height_in\":0.2}}",
	        (const char *const[]){ "datamatrix", "missing", NULL });
	refused("a font size of 0",
	        "{\"name\":\"x\",\"stock\":{\"width_in\":2,\"height_in\":1,\"margin_in\":0.06},"
	        "\"font\":{\"size_pt\":0},\"datamatrix\":{\"module_in\":0.02}}",
	        (const char *const[]){ "font.size_pt", "0 is out of range", NULL });
	refused("trailing garbage",
	        "{\"name\":\"x\",\"stock\":{\"width_in\":2,\"height_in\":1,\"margin_in\":0.06},\n"
	        "\"font\":{\"size_pt\":8},\"datamatrix\":{\"module_in\":0.02}}\n}x\n",
	        (const char *const[]){ ":3:1", "trailing characters", NULL });
	refused("a file that is not JSON", "{\"name\": \"x\",\n  \"stock\": {width_in: 2}}",
	        (const char *const[]){ ":2:", "not valid JSON", NULL });
	refused("a built-in's name",
	        "{\"name\":\"box-2x1in\",\"stock\":{\"width_in\":2,\"height_in\":1,\"margin_in\":"
	        "0.06},\"font\":{\"size_pt\":8},\"datamatrix\":{\"module_in\":0.02}}",
	        (const char *const[]){ "name", "built-in", NULL });
	refused("a length in inches and millimetres at once",
	        "{\"name\":\"x\",\"stock\":{\"width_in\":2,\"width_mm\":50,\"height_in\":1,"
	        "\"margin_in\":0.06},\"font\":{\"size_pt\":8},\"datamatrix\":{\"module_in\":0.02}}",
	        (const char *const[]){ "stock.width_in and width_mm", NULL });
	refused("a sheet of an unknown cell",
	        "{\"name\":\"x\",\"sheet\":{\"cell\":\"cryo-9x9\",\"page_width_in\":8.5,"
	        "\"page_height_in\":11,\"left_in\":0.6,\"top_in\":0.7,\"pitch_x_in\":1.5,"
	        "\"pitch_y_in\":0.6,\"columns\":2,\"rows\":2}}",
	        (const char *const[]){ "sheet.cell", "cryo-9x9", NULL });
	refused("a DataMatrix on a third side",
	        "{\"name\":\"x\",\"stock\":{\"width_in\":2,\"height_in\":1,\"margin_in\":0.06},"
	        "\"font\":{\"size_pt\":8},\"datamatrix\":{\"module_in\":0.02,\"side\":\"top\"}}",
	        (const char *const[]){ "datamatrix.side", "\"top\"", NULL });
}

__attribute__((format(printf, 2, 3))) static int
cli(char **out, const char *fmt, ...)
{
	char args[1024];
	va_list ap;
	char *res, *rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	res = run_capture("cd '%s' && BIOBANK_TEMPLATES='%s/tpl' timeout -k 5 120 '%s' %s 2>&1; "
	                  "echo \"rc=$?\"",
	                  dir, dir, labelgen, args);
	rc = strrchr(res, '=');
	int status = rc ? atoi(rc + 1) : -1;
	if (rc)
		rc[-2] = '\0';
	*out = res;
	return status;
}

static void
test_labelgen(void)
{
	char path[512], *out;
	int rc;

	snprintf(path, sizeof(path), "%s/tpl", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/tpl/freezer-box-right.json", dir);
	write_file(path, good, strlen(good));
	snprintf(path, sizeof(path), "%s/in.csv", dir);
	write_file(path, "id,participant,type\nKRVQKEB8,MASC/0042,serum\n", 44);

	rc = cli(&out, "--input in.csv --template freezer-box-right");
	ok(rc == 0 && strstr(out, "^FDMASC/0042^FS") && !strstr(out, "serum"),
	   "labelgen --template NAME finds a site's template in BIOBANK_TEMPLATES");
	free(out);
	rc = cli(&out, "--input in.csv --template tpl/freezer-box-right.json --output x.png");
	ok(rc == 0, "  and takes one by its path: %s", out);
	free(out);
	rc = cli(&out, "--list-templates");
	ok(rc == 0 && strstr(out, "box-2x1in") && strstr(out, "freezer-box-right"),
	   "--list-templates lists the built-in templates and the site's");
	free(out);
	snprintf(path, sizeof(path), "%s/tpl/broken.json", dir);
	write_file(path, "{\"name\":\"broken\"} trailing", 26);
	rc = cli(&out, "--list-templates");
	ok(rc == 1 && strstr(out, "broken.json:1:19: trailing characters") &&
	       strstr(out, "freezer-box-right"),
	   "  a broken one is named with its problem, exit 1: %s", out);
	free(out);
	rc = cli(&out, "--input in.csv --template broken");
	ok(rc == 1 && strstr(out, "trailing characters"), "printing with it: exit 1: %s", out);
	free(out);
	rc = cli(&out, "--input in.csv --template nosuch");
	ok(rc == 1 && strstr(out, "unknown template \"nosuch\""), "an unknown name: %s", out);
	free(out);
}

int
main(void)
{
	labelgen = getenv("LABELGEN");
	dir = scratch_dir();
	test_builtins();
	test_site_template();
	test_broken();
	if (labelgen && access(labelgen, X_OK) == 0)
		test_labelgen();
	else
		tap_diag("LABELGEN does not name the labelgen binary: labelgen not run");
	remove_dir(dir);
	free(dir);
	return tap_done();
}
