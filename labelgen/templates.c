/*
 * templates.c — the label stocks we print on, as JSON layout files
 * (docs/label-templates.md): the built-in ones below are written exactly as a
 * site writes its own, and read by the same code. Layout rules live in
 * label.c and apply to every template. A file is checked whole when it is
 * read; every problem is reported naming the member and what is wrong, and a
 * template that is read is one the layout can use.
 */
#include "lbl_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const builtin_json[] = {
	"{\"name\": \"cryo-1.28x0.5in\","
	" \"summary\": \"cryo tube label 1.28 x 0.5 in (2 ml cryovials)\","
	" \"stock\": {\"width_in\": 1.28, \"height_in\": 0.5, \"margin_in\": 0.04},"
	" \"font\": {\"size_pt\": 6},"
	" \"datamatrix\": {\"module_in\": 0.015, \"max_width\": 0.45, \"side\": \"left\"},"
	" \"code128\": {\"height_in\": 0.1}}",

	"{\"name\": \"cryo-1x0.5in\","
	" \"summary\": \"cryo tube label 1 x 0.5 in (microtubes, 0.5-1.5 ml)\","
	" \"stock\": {\"width_in\": 1.0, \"height_in\": 0.5, \"margin_in\": 0.04},"
	" \"font\": {\"size_pt\": 6},"
	" \"datamatrix\": {\"module_in\": 0.015, \"max_width\": 0.45, \"side\": \"left\"},"
	" \"code128\": {\"height_in\": 0.1}}",

	"{\"name\": \"box-2x1in\","
	" \"summary\": \"box or bag label 2 x 1 in, with a Code 128\","
	" \"stock\": {\"width_in\": 2.0, \"height_in\": 1.0, \"margin_in\": 0.06},"
	" \"font\": {\"size_pt\": 8},"
	" \"datamatrix\": {\"module_in\": 0.02, \"max_width\": 0.45, \"side\": \"left\"},"
	" \"code128\": {\"height_in\": 0.22}}",

	"{\"name\": \"letter-cryo-5x17\","
	" \"summary\": \"US Letter sheet of 5 x 17 cryo labels 1.28 x 0.5 in (PDF)\","
	" \"sheet\": {\"cell\": \"cryo-1.28x0.5in\", \"page_width_in\": 8.5, \"page_height_in\": "
	"11,"
	" \"left_in\": 0.61, \"top_in\": 0.75, \"pitch_x_in\": 1.5, \"pitch_y_in\": 0.5625,"
	" \"columns\": 5, \"rows\": 17}}",

	"{\"name\": \"a4-cryo-4x20\","
	" \"summary\": \"A4 sheet of 4 x 20 cryo labels 1.28 x 0.5 in (PDF)\","
	" \"sheet\": {\"cell\": \"cryo-1.28x0.5in\", \"page_width_mm\": 210, \"page_height_mm\": "
	"297,"
	" \"left_mm\": 21.25, \"top_mm\": 13.9, \"pitch_x_mm\": 45, \"pitch_y_mm\": 13.5,"
	" \"columns\": 4, \"rows\": 20}}",
};
enum { NBUILTIN = sizeof(builtin_json) / sizeof(builtin_json[0]) };

/* Parsed once, then only read: the daemon's threads share them. */
static struct lbl_template *builtins[NBUILTIN];
static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;

/* What a template may print under the ID, by the names a file uses. */
static const char *const field_names[LBL_FIELD__MAX] = {
	[LBL_FIELD_PARTICIPANT] = "participant", [LBL_FIELD_TYPE] = "type",
	[LBL_FIELD_TIMEPOINT] = "timepoint",     [LBL_FIELD_TYPE_TIMEPOINT] = "type+timepoint",
	[LBL_FIELD_COLLECTED] = "collected",
};

/* Bounds a file is held to: what the layout and a thermal printer can do. */
static const double TEXT_PT_MIN = 5, TEXT_PT_MAX = 36;
static const double STOCK_IN_MAX = 12;
static const double MODULE_IN_MIN = 0.0075, MODULE_IN_MAX = 0.1;
static const double DM_QUIET_MODULES = 2 * 2, DM_SMALLEST = 10;
static const double TEXT_ROOM_IN = 0.1; /* a line beside the symbol needs some */

struct reader {
	const char *origin; /* the file, for messages */
	char *why;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void
bad(struct reader *rd, const char *fmt, ...)
{
	char msg[LBL_WHY_MAX];
	va_list ap;

	if (rd->failed)
		return; /* the first problem is the one reported */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lbl_why(rd->why, "%.100s: %s", rd->origin, msg);
	rd->failed = true;
}

/* Every member of o is one of the names allowed, or the file is refused naming it. */
static void
only_members(struct reader *rd, const cJSON *o, const char *where, const char *const *allowed)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, o)
	{
		bool known = false;

		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, m->string) == 0;
		if (!known)
			bad(rd, "%s%s\"%.40s\": unknown member", where, where[0] ? "." : "",
			    m->string);
	}
}

static const cJSON *
object(struct reader *rd, const cJSON *o, const char *name, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL && required)
		bad(rd, "%s: missing", name);
	else if (v != NULL && !cJSON_IsObject(v))
		bad(rd, "%s: must be an object", name);
	return cJSON_IsObject(v) ? v : NULL;
}

/*
 * A length, in inches as NAME_in or in millimetres as NAME_mm (one of them):
 * within [min, max] inches; *out unchanged when absent and not required.
 */
static void
length(struct reader *rd, const cJSON *o, const char *where, const char *name, bool required,
       double min, double max, double *out)
{
	char in_name[48], mm_name[48];
	const cJSON *in, *mm, *v;
	double k;

	snprintf(in_name, sizeof(in_name), "%s_in", name);
	snprintf(mm_name, sizeof(mm_name), "%s_mm", name);
	in = cJSON_GetObjectItemCaseSensitive(o, in_name);
	mm = cJSON_GetObjectItemCaseSensitive(o, mm_name);
	if (in && mm) {
		bad(rd, "%s.%s and %s: give one of them", where, in_name, mm_name);
		return;
	}
	v = in ? in : mm;
	k = in ? 1 : 1 / 25.4;
	if (v == NULL) {
		if (required)
			bad(rd, "%s.%s (or %s): missing", where, in_name, mm_name);
		return;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
		bad(rd, "%s.%s: must be a number", where, v->string);
		return;
	}
	if (v->valuedouble * k < min || v->valuedouble * k > max) {
		bad(rd, "%s.%s: %g is out of range (%g to %g in)", where, v->string, v->valuedouble,
		    min, max);
		return;
	}
	*out = v->valuedouble * k;
}

static void
number(struct reader *rd, const cJSON *o, const char *where, const char *name, bool required,
       double min, double max, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL) {
		if (required)
			bad(rd, "%s.%s: missing", where, name);
		return;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
		bad(rd, "%s.%s: must be a number", where, name);
		return;
	}
	if (v->valuedouble < min || v->valuedouble > max) {
		bad(rd, "%s.%s: %g is out of range (%g to %g)", where, name, v->valuedouble, min,
		    max);
		return;
	}
	*out = v->valuedouble;
}

static char *
string(struct reader *rd, const cJSON *o, const char *where, const char *name, bool required,
       size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL) {
		if (required)
			bad(rd, "%s%s%s: missing", where, where[0] ? "." : "", name);
		return NULL;
	}
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > max ||
	    !bb_utf8_valid(v->valuestring, strlen(v->valuestring))) {
		bad(rd, "%s%s%s: must be a string of 1 to %zu bytes", where, where[0] ? "." : "",
		    name, max);
		return NULL;
	}
	return bb_strdup(v->valuestring);
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void
read_fields(struct reader *rd, const cJSON *a, struct lbl_template *t)
{
	const cJSON *f;
	size_t i = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 ||
	    cJSON_GetArraySize(a) > LBL_LINES_MAX) {
		bad(rd, "fields: must be a list of 1 to %d field names", LBL_LINES_MAX);
		return;
	}
	cJSON_ArrayForEach(f, a)
	{
		int k = -1;

		for (int j = 0; j < LBL_FIELD__MAX && cJSON_IsString(f); j++)
			if (strcmp(field_names[j], f->valuestring) == 0)
				k = j;
		if (k < 0) {
			bad(rd,
			    "fields[%zu]: unknown field %s%.40s%s; use participant, type, "
			    "timepoint, type+timepoint or collected",
			    i, cJSON_IsString(f) ? "\"" : "",
			    cJSON_IsString(f) ? f->valuestring : "(not a string)",
			    cJSON_IsString(f) ? "\"" : "");
			return;
		}
		t->fields[i++] = (enum lbl_field)k;
	}
	t->nfields = i;
}

static void
read_roll(struct reader *rd, const cJSON *root, struct lbl_template *t)
{
	static const char *const stock_m[] = { "width_in",  "width_mm",  "height_in", "height_mm",
		                               "margin_in", "margin_mm", NULL };
	static const char *const font_m[] = { "family", "size_pt", NULL };
	static const char *const dm_m[] = { "module_in", "module_mm", "max_width", "side", NULL };
	static const char *const bar_m[] = { "height_in", "height_mm", NULL };
	const cJSON *stock = object(rd, root, "stock", true),
	            *font = object(rd, root, "font", true);
	const cJSON *dm = object(rd, root, "datamatrix", false);
	const cJSON *bar = object(rd, root, "code128", false), *fields;

	if (rd->failed)
		return;
	if (dm == NULL) {
		bad(rd, "datamatrix: missing: every label carries the ID's DataMatrix");
		return;
	}
	only_members(rd, stock, "stock", stock_m);
	only_members(rd, font, "font", font_m);
	only_members(rd, dm, "datamatrix", dm_m);
	if (bar)
		only_members(rd, bar, "code128", bar_m);
	length(rd, stock, "stock", "width", true, 0.2, STOCK_IN_MAX, &t->w);
	length(rd, stock, "stock", "height", true, 0.2, STOCK_IN_MAX, &t->h);
	length(rd, stock, "stock", "margin", true, 0, STOCK_IN_MAX, &t->margin);
	t->font = string(rd, font, "font", "family", false, 100);
	number(rd, font, "font", "size_pt", true, TEXT_PT_MIN, TEXT_PT_MAX, &t->text_pt);
	length(rd, dm, "datamatrix", "module", true, MODULE_IN_MIN, MODULE_IN_MAX, &t->dm_module);
	t->dm_max_frac = 0.45;
	number(rd, dm, "datamatrix", "max_width", false, 0.1, 0.9, &t->dm_max_frac);
	char *side = string(rd, dm, "datamatrix", "side", false, 8);
	if (side && strcmp(side, "left") != 0 && strcmp(side, "right") != 0)
		bad(rd, "datamatrix.side: \"%s\" is neither \"left\" nor \"right\"", side);
	t->dm_right = side && strcmp(side, "right") == 0;
	free(side);
	if (bar)
		length(rd, bar, "code128", "height", true, 0.05, STOCK_IN_MAX, &t->bar_h);
	if ((fields = cJSON_GetObjectItemCaseSensitive(root, "fields")) != NULL)
		read_fields(rd, fields, t);
	if (rd->failed)
		return;
	/* What cannot fit the stock at all is refused now, not at the first label. */
	double dm_min = (DM_SMALLEST + DM_QUIET_MODULES) * fmax(t->dm_module, MODULE_IN_MIN);
	double need_w = 2 * t->margin + dm_min + TEXT_ROOM_IN;
	double need_h = 2 * t->margin + fmax(dm_min, t->text_pt * 1.2 / 72) + t->bar_h;
	if (need_w > t->w)
		bad(rd,
		    "stock: the template is wider than its stock: margins (2 x %g in), the "
		    "smallest "
		    "DataMatrix (%.3g in at %g in a module) and a line of text need %.3g in; the "
		    "stock is %g in wide",
		    t->margin, dm_min, t->dm_module, need_w, t->w);
	else if (need_h > t->h)
		bad(rd,
		    "stock: the template is taller than its stock: margins, the smallest "
		    "DataMatrix "
		    "and the Code 128 need %.3g in; the stock is %g in high",
		    need_h, t->h);
	else if (dm_min > (t->w - 2 * t->margin) * t->dm_max_frac)
		bad(rd,
		    "datamatrix.max_width: %g of the %.3g in inside the margins is less than the "
		    "smallest DataMatrix (%.3g in)",
		    t->dm_max_frac, t->w - 2 * t->margin, dm_min);
}

static void
read_sheet(struct reader *rd, const cJSON *sheet, struct lbl_template *t,
           const struct lbl_template *(*find)(const char *))
{
	static const char *const sheet_m[] = {
		"cell",           "page_width_in", "page_width_mm", "page_height_in",
		"page_height_mm", "left_in",       "left_mm",       "top_in",
		"top_mm",         "pitch_x_in",    "pitch_x_mm",    "pitch_y_in",
		"pitch_y_mm",     "columns",       "rows",          NULL,
	};
	double cols = 0, rows = 0;
	const struct lbl_template *cell;

	only_members(rd, sheet, "sheet", sheet_m);
	t->cell = string(rd, sheet, "sheet", "cell", true, 64);
	length(rd, sheet, "sheet", "page_width", true, 1, 20, &t->page_w);
	length(rd, sheet, "sheet", "page_height", true, 1, 20, &t->page_h);
	length(rd, sheet, "sheet", "left", true, 0, 20, &t->left);
	length(rd, sheet, "sheet", "top", true, 0, 20, &t->top);
	length(rd, sheet, "sheet", "pitch_x", true, 0.1, 20, &t->pitch_x);
	length(rd, sheet, "sheet", "pitch_y", true, 0.1, 20, &t->pitch_y);
	number(rd, sheet, "sheet", "columns", true, 1, 50, &cols);
	number(rd, sheet, "sheet", "rows", true, 1, 100, &rows);
	if (rd->failed)
		return;
	if (cols != floor(cols) || rows != floor(rows)) {
		bad(rd, "sheet.columns and sheet.rows: must be whole numbers");
		return;
	}
	t->cols = (int)cols;
	t->rows = (int)rows;
	if ((cell = find(t->cell)) == NULL || lbl_template_is_sheet(cell)) {
		bad(rd, "sheet.cell: \"%.64s\" is not a built-in roll template", t->cell);
		return;
	}
	double right = t->left + (t->cols - 1) * t->pitch_x + cell->w;
	double bottom = t->top + (t->rows - 1) * t->pitch_y + cell->h;
	if (cell->w > t->pitch_x || cell->h > t->pitch_y)
		bad(rd, "sheet: %s cells (%g x %g in) overlap at a pitch of %g x %g in", t->cell,
		    cell->w, cell->h, t->pitch_x, t->pitch_y);
	else if (right > t->page_w + 1e-9)
		bad(rd,
		    "sheet: the template is wider than its stock: %d columns from %g in end at "
		    "%.4g "
		    "in; the page is %.4g in wide",
		    t->cols, t->left, right, t->page_w);
	else if (bottom > t->page_h + 1e-9)
		bad(rd,
		    "sheet: the template is taller than its stock: %d rows from %g in end at %.4g "
		    "in; the page is %.4g in high",
		    t->rows, t->top, bottom, t->page_h);
}

/* Line and column of a position in text, for a message a person can act on. */
static void
where_in(const char *text, const char *at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n')
			(*line)++, *col = 1;
		else
			(*col)++;
	}
}

static enum bb_err
parse(const char *text, size_t len, const char *origin,
      const struct lbl_template *(*find)(const char *), struct lbl_template **out, char *why)
{
	static const char *const top_m[] = { "name",    "summary", "stock", "font", "datamatrix",
		                             "code128", "fields",  "sheet", NULL };
	struct reader rd = { origin, why, false };
	const char *end = NULL;
	cJSON *root;
	int line, col;

	*out = NULL;
	if (memchr(text, '\0', len) != NULL) {
		lbl_why(why, "%.100s: holds a NUL byte", origin);
		return BB_EINVAL;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (root == NULL) {
		const char *at = cJSON_GetErrorPtr();

		where_in(text, at && at >= text && at <= text + len ? at : text + len, &line, &col);
		lbl_why(why, "%.100s:%d:%d: not valid JSON", origin, line, col);
		return BB_EINVAL;
	}
	end += strspn(end, " \t\r\n");
	if (end < text + len) {
		where_in(text, end, &line, &col);
		lbl_why(why, "%.100s:%d:%d: trailing characters after the template", origin, line,
		        col);
		cJSON_Delete(root);
		return BB_EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		lbl_why(why, "%.100s: a template is a JSON object", origin);
		cJSON_Delete(root);
		return BB_EINVAL;
	}
	struct lbl_template *t = bb_calloc(1, sizeof(*t));
	only_members(&rd, root, "", top_m);
	t->name = string(&rd, root, "", "name", true, 64);
	t->summary = string(&rd, root, "", "summary", false, 200);
	if (t->name && !name_ok(t->name))
		bad(&rd, "name: \"%.64s\" may hold only letters, digits, '.', '_' and '-'",
		    t->name);
	if (!t->summary)
		t->summary = bb_strdup(t->name ? t->name : "");
	const cJSON *sheet = object(&rd, root, "sheet", false);
	if (sheet) {
		for (const char *const *m = top_m; *m; m++)
			if (strcmp(*m, "name") && strcmp(*m, "summary") && strcmp(*m, "sheet") &&
			    cJSON_GetObjectItemCaseSensitive(root, *m))
				bad(&rd, "%s: a sheet takes its layout from its cell template", *m);
		if (!rd.failed)
			read_sheet(&rd, sheet, t, find);
	} else if (!rd.failed) {
		read_roll(&rd, root, t);
	}
	cJSON_Delete(root);
	if (rd.failed) {
		lbl_template_free(t);
		return BB_EINVAL;
	}
	*out = t;
	return BB_OK;
}

static const struct lbl_template *
builtin_find(const char *name)
{
	for (size_t i = 0; i < NBUILTIN; i++)
		if (builtins[i] && strcmp(builtins[i]->name, name) == 0)
			return builtins[i];
	return NULL;
}

static void
builtins_load(void)
{
	char why[LBL_WHY_MAX];

	for (size_t i = 0; i < NBUILTIN; i++) {
		if (parse(builtin_json[i], strlen(builtin_json[i]), "built-in template",
		          builtin_find, &builtins[i], why) != BB_OK) {
			fprintf(stderr, "label library: %s\n", why);
			abort(); /* a bug in the text above, caught by every test */
		}
	}
}

const struct lbl_template *
lbl_builtin_at(size_t i)
{
	pthread_once(&builtins_once, builtins_load);
	return i < NBUILTIN ? builtins[i] : NULL;
}

const struct lbl_template *
lbl_builtin_find(const char *name)
{
	pthread_once(&builtins_once, builtins_load);
	return builtin_find(name);
}

enum bb_err
lbl_template_parse(const char *text, size_t len, const char *origin, struct lbl_template **out,
                   char why[LBL_WHY_MAX])
{
	/* The parser's messages scan the text as a string: give it one. */
	char *copy = bb_malloc(len + 1);
	enum bb_err err;

	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_once(&builtins_once, builtins_load);
	err = parse(copy, len, origin, builtin_find, out, why);
	free(copy);
	if (err != BB_OK)
		return err;
	if (builtin_find((*out)->name) != NULL) {
		lbl_why(why, "%.100s: name: %s is a built-in template; choose another name", origin,
		        (*out)->name);
		lbl_template_free(*out);
		*out = NULL;
		return BB_EINVAL;
	}
	return BB_OK;
}

enum bb_err
lbl_template_load(const char *path, struct lbl_template **out, char why[LBL_WHY_MAX])
{
	char *text = NULL;
	size_t len = 0;
	enum bb_err err;

	*out = NULL;
	if ((err = bb_read_file(path, &text, &len)) != BB_OK) {
		lbl_why(why, "%.100s: %s", path,
		        err == BB_ENOTFOUND ? "cannot be opened" : "cannot be read");
		return err;
	}
	err = lbl_template_parse(text, len, path, out, why);
	free(text);
	return err;
}

void
lbl_template_free(struct lbl_template *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->summary);
	free(t->font);
	free(t->cell);
	free(t);
}
