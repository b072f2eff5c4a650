/*
 * label.c — checking label data and laying a label out in printer dots: the
 * DataMatrix at the left inside its quiet zone, the lines beside it, and a
 * Code 128 along the bottom when the stock is wide and tall enough for one
 * at a module size scanners read.
 */
#include "lbl_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zint.h>

/* Scanners need modules of about 7.5 mil (0.19 mm) or more, and a thermal
 * head needs two dots to print a module reliably. */
static const double MIN_MODULE_IN = 0.0075;
static const double GAP_IN = 0.03;    /* between barcode, text and bar */
static const double LINE_PITCH = 1.2; /* of the font height */
static const double BAR_MODULE_MAX_IN = 0.015;
enum { STD_LINES = 4 }; /* ID, participant, type and timepoint, date */
/* Smallest text the layout shrinks a line to: about 1.8 mm capitals, what a
 * technician still reads on a frosted tube. */
static const double LBL_TEXT_MIN_PT = 5;

/* ECC 200 square sizes and their data codewords, smallest first. */
static const struct {
	int size, capacity;
} dm_sizes[] = {
	{ 10, 3 },  { 12, 5 },   { 14, 8 },   { 16, 12 },  { 18, 18 },
	{ 20, 22 }, { 22, 30 },  { 24, 36 },  { 26, 44 },  { 32, 62 },
	{ 36, 86 }, { 40, 114 }, { 44, 144 }, { 48, 174 }, { 52, 204 },
};

const struct lbl_template *
lbl_template_find(const char *name)
{
	return lbl_builtin_find(name);
}

const struct lbl_template *
lbl_template_at(size_t i)
{
	return lbl_builtin_at(i);
}

const char *
lbl_template_name(const struct lbl_template *t)
{
	return t->name;
}

const char *
lbl_template_summary(const struct lbl_template *t)
{
	return t->summary;
}

bool
lbl_template_is_sheet(const struct lbl_template *t)
{
	return t->cell != NULL;
}

const struct lbl_template *
lbl_sheet_cell(const struct lbl_template *sheet)
{
	return lbl_builtin_find(sheet->cell);
}

bool
lbl_dpi_supported(int dpi)
{
	return dpi == 203 || dpi == 300 || dpi == 600;
}

static const char *const format_names[LBL_FMT__MAX] = {
	[LBL_FMT_ZPL] = "zpl",
	[LBL_FMT_PNG] = "png",
	[LBL_FMT_SVG] = "svg",
	[LBL_FMT_PDF] = "pdf",
};

enum bb_err
lbl_format_parse(const char *s, enum lbl_format *out)
{
	for (int f = 0; f < LBL_FMT__MAX; f++) {
		if (strcmp(s, format_names[f]) == 0) {
			*out = (enum lbl_format)f;
			return BB_OK;
		}
	}
	return BB_EINVAL;
}

const char *
lbl_format_name(enum lbl_format f)
{
	return (unsigned)f < LBL_FMT__MAX ? format_names[f] : "?";
}

/* Only characters that every printer font, ZPL field and reader treat alike. */
static bool
id_char_ok(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c == '-' || c == '.' || c == '/' || c == '+' || c == ':';
}

static enum bb_err
check_text(const char *what, const char *s, char why[LBL_WHY_MAX])
{
	size_t len;

	if (s == NULL)
		return BB_OK;
	len = strlen(s);
	if (len > LBL_TEXT_MAX) {
		lbl_why(why, "%s is longer than %d bytes", what, LBL_TEXT_MAX);
		return BB_EINVAL;
	}
	if (!bb_utf8_valid(s, len)) {
		lbl_why(why, "%s is not valid UTF-8", what);
		return BB_EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7F) {
			lbl_why(why, "%s holds a control character (0x%02X)", what, c);
			return BB_EINVAL;
		}
	}
	return BB_OK;
}

enum bb_err
lbl_check(const struct lbl_data *d, char why[LBL_WHY_MAX])
{
	size_t len = d->id ? strlen(d->id) : 0;
	enum bb_err err;

	if (len == 0) {
		lbl_why(why, "a label needs an ID");
		return BB_EINVAL;
	}
	if (len > LBL_ID_MAX) {
		lbl_why(why, "ID is %zu characters; at most %d fit a label", len, LBL_ID_MAX);
		return BB_EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (!id_char_ok(d->id[i])) {
			lbl_why(why, "ID \"%.*s\" holds '%c': only letters, digits and - . / + :",
			        LBL_ID_MAX, d->id,
			        (d->id[i] >= 0x20 && d->id[i] < 0x7F) ? d->id[i] : '?');
			return BB_EINVAL;
		}
	}
	if ((err = check_text("type", d->type, why)) ||
	    (err = check_text("participant", d->participant, why)) ||
	    (err = check_text("timepoint", d->timepoint, why)) ||
	    (err = check_text("collection date", d->collected, why)) ||
	    (err = check_text("time zone", d->zone, why)) ||
	    (err = check_text("time zone offset", d->zone_offset, why)))
		return err;
	if (d->nlines > LBL_LINES_MAX) {
		lbl_why(why, "%zu lines; a label holds at most %d", d->nlines, LBL_LINES_MAX);
		return BB_EINVAL;
	}
	for (size_t i = 0; i < d->nlines; i++)
		if ((err = check_text("a line", d->lines[i], why)))
			return err;
	return BB_OK;
}

/*
 * The symbol size is chosen for the costliest encodation (ASCII, digit pairs
 * aside) rather than left to the encoder, so that a printer's own ^BX encoder
 * fits the data in the very size we laid out.
 */
static int
dm_size_index(const char *id)
{
	int cw = 0;

	for (size_t i = 0; id[i]; i++, cw++)
		if (id[i] >= '0' && id[i] <= '9' && id[i + 1] >= '0' && id[i + 1] <= '9')
			i++;
	for (size_t k = 0; k < sizeof(dm_sizes) / sizeof(dm_sizes[0]); k++)
		if (dm_sizes[k].capacity >= cw)
			return (int)k;
	return -1;
}

static int
dots(double inches, int dpi)
{
	return (int)lround(inches * dpi);
}

static int
min_module(int dpi)
{
	int m = (int)ceil(MIN_MODULE_IN * dpi - 1e-9);

	return m < 2 ? 2 : m;
}

static enum bb_err
encode(struct zint_symbol **out, int symbology, int option_2, const char *id, char why[LBL_WHY_MAX])
{
	struct zint_symbol *s = ZBarcode_Create();
	int rc;

	if (s == NULL)
		bb_malloc((size_t)-1); /* zint ran out of memory: our policy is to abort */
	s->symbology = symbology;
	s->input_mode = DATA_MODE;
	s->option_2 = option_2;
	if (symbology == BARCODE_DATAMATRIX)
		s->option_3 = DM_SQUARE;
	s->show_hrt = 0;
	/* Vector coordinates in modules: the renderers scale them to dots. */
	s->scale = 0.5f;
	rc = ZBarcode_Encode(s, (const unsigned char *)id, (int)strlen(id));
	if (rc >= ZINT_ERROR) {
		lbl_why(why, "cannot encode \"%s\": %s", id, s->errtxt);
		ZBarcode_Delete(s);
		return BB_EINVAL;
	}
	*out = s;
	return BB_OK;
}

/* The lines of a template's own fields, empty ones left out. */
static size_t
template_lines(const struct lbl_template *t, const struct lbl_data *d,
               char buf[][LBL_TEXT_MAX * 2 + 8], const char **field, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nfields && n < max; i++) {
		bool has_type = d->type && d->type[0], has_tp = d->timepoint && d->timepoint[0];
		const char *s = NULL;

		switch (t->fields[i]) {
		case LBL_FIELD_PARTICIPANT:
			s = d->participant, field[n] = "participant";
			break;
		case LBL_FIELD_TYPE:
			s = d->type, field[n] = "type";
			break;
		case LBL_FIELD_TIMEPOINT:
			s = d->timepoint, field[n] = "timepoint";
			break;
		case LBL_FIELD_COLLECTED:
			s = d->collected, field[n] = "collection date";
			break;
		case LBL_FIELD_TYPE_TIMEPOINT:
			if (!has_type && !has_tp)
				continue;
			field[n] = "type or timepoint";
			snprintf(buf[n++], sizeof(buf[0]), "%s%s%s", has_type ? d->type : "",
			         has_type && has_tp ? " \xC2\xB7 " : "",
			         has_tp ? d->timepoint : "");
			continue;
		case LBL_FIELD__MAX:
			continue;
		}
		if (s && s[0])
			snprintf(buf[n++], sizeof(buf[0]), "%s", s);
	}
	return n;
}

/* Lines under the ID: the template's fields when it names them, else the
 * server's own lines when it sent them, else the fields; field[i] names each
 * for errors. */
static size_t
body_lines(const struct lbl_template *t, const struct lbl_data *d, char buf[][LBL_TEXT_MAX * 2 + 8],
           const char **field, size_t max)
{
	size_t n = 0;
	bool has_fields = (d->participant && d->participant[0]) || (d->type && d->type[0]) ||
	                  (d->timepoint && d->timepoint[0]) || (d->collected && d->collected[0]);

	/* A template that says what it prints prints it from the fields. */
	if (t->nfields > 0 && has_fields)
		return template_lines(t, d, buf, field, max);
	if (d->nlines > 0) {
		for (size_t i = 0; i < d->nlines && n < max; i++) {
			if (!d->lines[i] || !d->lines[i][0])
				continue;
			field[n] = d->participant && strcmp(d->lines[i], d->participant) == 0
			               ? "participant"
			           : d->collected && strcmp(d->lines[i], d->collected) == 0
			               ? "collection date"
			               : "a line";
			snprintf(buf[n++], sizeof(buf[0]), "%s", d->lines[i]);
		}
		return n;
	}
	if (d->participant && d->participant[0]) {
		field[n] = "participant";
		snprintf(buf[n++], sizeof(buf[0]), "%s", d->participant);
	}
	bool has_type = d->type && d->type[0], has_tp = d->timepoint && d->timepoint[0];
	if (has_type || has_tp) {
		field[n] = has_type && has_tp ? "type or timepoint"
		           : has_type         ? "type"
		                              : "timepoint";
		snprintf(buf[n++], sizeof(buf[0]), "%s%s%s", has_type ? d->type : "",
		         has_type && has_tp ? " \xC2\xB7 " : "", has_tp ? d->timepoint : "");
	}
	if (d->collected && d->collected[0]) {
		field[n] = "collection date";
		snprintf(buf[n++], sizeof(buf[0]), "%s", d->collected);
	}
	return n;
}

/* The character at cp as UTF-8, for a message. */
static void
utf8_put(unsigned long cp, char out[5])
{
	if (cp < 0x80) {
		out[0] = (char)cp, out[1] = 0;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), out[2] = 0;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F)), out[3] = 0;
	} else {
		out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F));
		out[4] = 0;
	}
}

/* A character drawn as an empty box would print a label nobody can read:
 * refused, naming the field and the character. */
static enum bb_err
check_glyphs(const struct lbl_measure *meas, const char *field, const char *text, bool bold,
             char why[LBL_WHY_MAX])
{
	unsigned long cp;
	char ch[5];

	if (meas->font == NULL || !lbl_font_missing(meas->font, text, bold, &cp))
		return BB_OK;
	utf8_put(cp, ch);
	lbl_why(why, "%s \"%.60s\": no installed font has U+%04lX '%s'", field, text, cp, ch);
	return BB_ENOTFOUND;
}

/* Each field on its own first, so the message names the one to fix. */
static enum bb_err
check_fields(const struct lbl_measure *meas, const struct lbl_data *d, char why[LBL_WHY_MAX])
{
	const struct {
		const char *name, *text;
	} f[] = {
		{ "participant", d->participant },
		{ "type", d->type },
		{ "timepoint", d->timepoint },
		{ "collection date", d->collected },
	};
	char name[32];
	enum bb_err err;

	for (size_t i = 0; i < d->nlines; i++) {
		snprintf(name, sizeof(name), "line %zu", i + 1);
		if (d->lines[i] && (err = check_glyphs(meas, name, d->lines[i], false, why)))
			return err;
	}
	if (d->nlines > 0)
		return BB_OK;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].text && f[i].text[0] &&
		    (err = check_glyphs(meas, f[i].name, f[i].text, false, why)))
			return err;
	return BB_OK;
}

static int
min_text_size(int dpi)
{
	return dots(LBL_TEXT_MIN_PT / 72.0, dpi);
}

/*
 * One rule for every renderer: text shrinks from the template's size down to
 * LBL_TEXT_MIN_PT to fit the width. The ID and the participant (whole) are
 * never shortened, since two labels differing only in their last character
 * must not print alike: what cannot fit is refused, naming the field. Other
 * lines are then shortened with an ellipsis; more marks that lines were left
 * out below this one.
 */
static enum bb_err
fit_line(struct lbl_line *l, const struct lbl_measure *meas, const char *text, const char *field,
         bool whole, bool more, int size, int min, int tw, const char *where, char why[LBL_WHY_MAX])
{
	size_t len = strlen(text);

	/* A whole line takes no ellipsis even when lines below it go. */
	for (l->size = size; l->size >= min && (whole || !more); l->size--) {
		if (len < sizeof(l->text) &&
		    meas->width(meas->ctx, text, len, l->size, l->bold) <= tw) {
			memcpy(l->text, text, len + 1);
			return BB_OK;
		}
	}
	if (whole) {
		lbl_why(why,
		        "%s \"%.60s\" does not fit %s: %.0f dots wide at the smallest text size "
		        "(%g pt), %d dots of room",
		        field, text, where, meas->width(meas->ctx, text, len, min, l->bold),
		        LBL_TEXT_MIN_PT, tw);
		return BB_EINVAL;
	}
	/* At the template's size when it only shows that lines below were left out. */
	l->size = more ? size : min;
	if (!lbl_fit_text(meas, text, l->size, l->bold, tw, more, l->text, sizeof(l->text)))
		l->text[0] = '\0';
	return BB_OK;
}

/*
 * The date line names its zone when the template has room for it at its own
 * text size: a date shrunk to make room for its zone would be harder to
 * read than one whose zone the site knows anyway. The name is tried first,
 * then the offset.
 */
static void
date_with_zone(const struct lbl_measure *meas, const struct lbl_data *d, const char *date, int size,
               int tw, char *out, size_t cap)
{
	const char *zones[] = { d->zone, d->zone_offset };

	snprintf(out, cap, "%s", date);
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		char cand[LBL_TEXT_MAX * 2 + 16];

		if (zones[i] == NULL || zones[i][0] == '\0')
			continue;
		snprintf(cand, sizeof(cand), "%s %s", date, zones[i]);
		if (meas->width(meas->ctx, cand, strlen(cand), size, false) <= tw) {
			snprintf(out, cap, "%s", cand);
			return;
		}
	}
}

/* Adds a Code 128 band at the bottom when the width holds it at a readable
 * module and the band still leaves room for the DataMatrix and the lines. */
static void
place_bar(struct lbl_layout *lo, const struct lbl_template *t, const char *id, int m, int cw,
          int *ch, int dm_side, int pitch)
{
	char ignored[LBL_WHY_MAX];
	struct zint_symbol *bar;
	int gap = dots(GAP_IN, lo->dpi), mod, modules, bar_h = dots(t->bar_h, lo->dpi);

	/* Decide on height first: encoding a symbol only to drop it is most of
	 * the cost of a cryo label. */
	if (t->bar_h <= 0 || *ch - bar_h - gap < dm_side || *ch - bar_h - gap < STD_LINES * pitch)
		return;
	if (encode(&bar, BARCODE_CODE128B, 0, id, ignored) != BB_OK)
		return;
	modules = bar->width + 2 * LBL_BAR_QUIET;
	mod = cw / modules;
	if (mod > dots(BAR_MODULE_MAX_IN, lo->dpi))
		mod = dots(BAR_MODULE_MAX_IN, lo->dpi);
	if (mod < min_module(lo->dpi)) {
		ZBarcode_Delete(bar);
		return;
	}
	lo->bar = bar;
	lo->bar_mod = mod;
	lo->bar_modules = bar->width;
	lo->bar_h = bar_h;
	lo->bar_x = m + (cw - modules * mod) / 2 + LBL_BAR_QUIET * mod;
	lo->bar_y = m + *ch - bar_h;
	*ch -= bar_h + gap;
}

enum bb_err
lbl_layout(struct lbl_layout *lo, const struct lbl_template *t, int dpi, const struct lbl_data *d,
           const struct lbl_measure *meas, char why[LBL_WHY_MAX])
{
	char body[LBL_LINES_MAX][LBL_TEXT_MAX * 2 + 8];
	const char *text[LBL_LINES_MAX + 1], *field[LBL_LINES_MAX + 1];
	char where[64];
	int k, side, mod, pref, dm_max, gap, size, pitch, m, cw, ch, tx, tw, fit;
	size_t n;
	enum bb_err err;

	memset(lo, 0, sizeof(*lo));
	lo->dpi = dpi;
	lo->w = dots(t->w, dpi);
	lo->h = dots(t->h, dpi);
	m = dots(t->margin, dpi);
	cw = lo->w - 2 * m;
	ch = lo->h - 2 * m;
	gap = dots(GAP_IN, dpi);
	size = dots(t->text_pt / 72.0, dpi);
	pitch = (int)lround(size * LINE_PITCH);

	k = dm_size_index(d->id);
	if (k < 0) {
		lbl_why(why, "ID \"%s\" is too long for a DataMatrix", d->id);
		return BB_EINVAL;
	}
	lo->dm_size = dm_sizes[k].size;
	side = lo->dm_size + 2 * LBL_DM_QUIET;
	pref = dots(t->dm_module, dpi);
	if (pref < min_module(dpi))
		pref = min_module(dpi);
	dm_max = (int)(cw * t->dm_max_frac);
	if (dm_max > ch)
		dm_max = ch;
	for (mod = pref; mod > min_module(dpi) && mod * side > dm_max; mod--)
		;
	if (mod * side > dm_max) {
		lbl_why(why,
		        "ID \"%s\" needs a %dx%d DataMatrix, %d dots wide with its quiet zone at "
		        "%d dots a module, but %s at %d dpi has room for %d",
		        d->id, lo->dm_size, lo->dm_size, mod * side, mod, t->name, dpi, dm_max);
		return BB_EINVAL;
	}
	lo->dm_mod = mod;
	if ((err = encode(&lo->dm, BARCODE_DATAMATRIX, k + 1, d->id, why)))
		return err;
	if (lo->dm->width != lo->dm_size) {
		lbl_why(why, "zint chose a %dx%d DataMatrix, not %dx%d", lo->dm->width,
		        lo->dm->rows, lo->dm_size, lo->dm_size);
		lbl_layout_free(lo);
		return BB_EINTERNAL;
	}

	place_bar(lo, t, d->id, m, cw, &ch, mod * side, pitch);
	lo->dm_x =
	    t->dm_right ? lo->w - m - mod * side + LBL_DM_QUIET * mod : m + LBL_DM_QUIET * mod;
	lo->dm_y = m + (ch - mod * side) / 2 + LBL_DM_QUIET * mod;

	text[0] = d->id;
	field[0] = "ID";
	n = 1 + body_lines(t, d, body, field + 1, LBL_LINES_MAX);
	for (size_t i = 1; i < n; i++)
		text[i] = body[i - 1];
	if ((err = check_fields(meas, d, why)))
		goto fail;
	for (size_t i = 0; i < n; i++) /* the separators and anything composed */
		if ((err = check_glyphs(meas, field[i], text[i], i == 0, why)))
			goto fail;
	tx = t->dm_right ? m : m + mod * side + gap;
	tw = t->dm_right ? lo->w - m - mod * side - gap - tx : lo->w - m - tx;
	fit = ch / pitch;
	snprintf(where, sizeof(where), "%s at %d dpi", t->name, dpi);
	for (size_t i = 0; i < n && (int)i < fit; i++) {
		struct lbl_line *l = &lo->line[lo->nlines];
		/* The last line that fits says, with its ellipsis, that more was cut. */
		bool more = (int)i == fit - 1 && i + 1 < n;
		bool whole = i == 0 || strcmp(field[i], "participant") == 0;
		char dated[LBL_TEXT_MAX * 2 + 16];
		const char *line = text[i];

		l->bold = i == 0;
		l->x = tx;
		if (!more && strcmp(field[i], "collection date") == 0 &&
		    (d->zone || d->zone_offset)) {
			date_with_zone(meas, d, text[i], size, tw, dated, sizeof(dated));
			if ((err = check_glyphs(meas, "time zone", dated, false, why)))
				goto fail;
			line = dated;
		}
		if ((err = fit_line(l, meas, line, field[i], whole, more, size, min_text_size(dpi),
		                    tw, where, why)))
			goto fail;
		l->y = m + (int)i * pitch + (pitch - l->size) / 2;
		if (l->text[0])
			lo->nlines++;
	}
	/* Lines past the last slot may go (the ellipsis says so), but never the
	 * ID or the participant. */
	for (size_t i = (size_t)(fit > 0 ? fit : 0); i < n; i++) {
		if (i == 0 || strcmp(field[i], "participant") == 0) {
			lbl_why(why, "%s \"%.60s\" has no line left on %s", field[i], text[i],
			        where);
			err = BB_EINVAL;
			goto fail;
		}
	}
	return BB_OK;
fail:
	lbl_layout_free(lo);
	return err;
}

void
lbl_layout_free(struct lbl_layout *lo)
{
	if (lo->dm)
		ZBarcode_Delete(lo->dm);
	if (lo->bar)
		ZBarcode_Delete(lo->bar);
	lo->dm = lo->bar = NULL;
}
