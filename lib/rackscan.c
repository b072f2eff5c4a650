/* rackscan.c — parse rack-scanner exports (see rackscan.h). */
#include "rackscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FIELDS_MAX = 16 };

/* A line of nothing but these is blank (rackscan.h). */
#define BLANK_LINE_CHARS " \t,;\""

struct field {
	char *s; /* NUL-terminated, unquoted and trimmed, inside the line copy */
	size_t len;
};

/* Everything one parse needs; lives on the caller's stack, so no globals. */
struct parser {
	struct bb_rs_scan *scan;
	const char *expected_rack;
	int rows, cols;
	char *why;
	unsigned line;

	char sep;                   /* 0 until the first row shows it */
	int ncols;                  /* 0 until a header or the first row fixes it */
	int c_rack, c_well, c_code; /* column indexes; c_rack -1 without one */
	bool header_columns;        /* ncols came from a column header line */
	bool fluidx_meta, trakmate; /* header lines seen, for the dialect */
	unsigned rack_line;         /* where the file first named its rack */
	long tube_count;            /* -1 when the file gives none */
	unsigned tube_count_line;
	unsigned seen[BB_RS_ROWS_MAX][BB_RS_COLS_MAX]; /* line of each position, 0: unseen */
};

static const char *const dialect_names[BB_RS_DIALECT__MAX] = {
	[BB_RS_FLUIDX] = "fluidx",
	[BB_RS_RACK_WELL_BARCODE] = "rack-well-barcode",
	[BB_RS_WELL_BARCODE] = "well-barcode",
	[BB_RS_TRAKMATE] = "trakmate",
};

static const char *const state_names[BB_RS_STATE__MAX] = {
	[BB_RS_TUBE] = "tube",
	[BB_RS_EMPTY] = "empty",
	[BB_RS_NO_READ] = "no-read",
};

const char *
bb_rs_dialect_name(enum bb_rs_dialect d)
{
	return (unsigned)d < BB_RS_DIALECT__MAX ? dialect_names[d] : "unknown";
}

const char *
bb_rs_state_name(enum bb_rs_state s)
{
	return (unsigned)s < BB_RS_STATE__MAX ? state_names[s] : "unknown";
}

__attribute__((format(printf, 2, 3))) static enum bb_err
fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->why, BB_RS_WHY_LEN, "line %u: ", p->line);

	va_start(ap, fmt);
	vsnprintf(p->why + n, BB_RS_WHY_LEN - (size_t)n, fmt, ap);
	va_end(ap);
	return BB_EINVAL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char
upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Case-insensitive equality that also treats runs of blanks as one space. */
static bool
same_words(const char *s, const char *word)
{
	while (*s && *word) {
		if (is_blank(*s) && *word == ' ') {
			while (is_blank(*s))
				s++;
			word++;
			continue;
		}
		if (upper(*s) != upper(*word))
			return false;
		s++;
		word++;
	}
	return *s == '\0' && *word == '\0';
}

static bool
is_any(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
		if (same_words(s, *words))
			return true;
	return false;
}

static const char *const rack_keys[] = { "Rack ID", "Rack", "Rack Barcode", "Rack Base Name",
	                                 NULL };
static const char *const well_words[] = { "Well", "Position", "Tube Position", NULL };
static const char *const code_words[] = { "2D Barcode", "Barcode", "Tube Barcode",
	                                  "Tube ID",    "Tube",    NULL };
static const char *const empty_marks[] = { "NO TUBE", "NOTUBE", "No TrakMate", NULL };
static const char *const no_read_marks[] = { "NO READ", "NOREAD", NULL };

/* "A1", "a01", "P24": 0 on success with row and col from 0, -1 otherwise. */
static int
parse_pos(const char *s, int *row, int *col)
{
	char r = upper(s[0]);
	int c = 0, digits = 0;

	if (r < 'A' || r > 'Z')
		return -1;
	for (s++; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 3) /* before the sum can overflow */
			return -1;
		c = c * 10 + (*s - '0');
	}
	if (*s != '\0' || digits == 0)
		return -1;
	*row = r - 'A';
	*col = c - 1;
	return 0;
}

/* Printable ASCII, within the length limit; spaces only when allowed. */
static const char *
code_problem(const char *s, size_t len, bool spaces)
{
	if (len == 0)
		return "is empty";
	if (len > BB_RS_CODE_MAX)
		return "is longer than 64 characters";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7F)
			return "contains a control character";
		if (c == ' ' && !spaces)
			return "contains a space";
		if (c > 0x7E)
			return "contains a character that is not printable ASCII";
	}
	return NULL;
}

static enum bb_err
set_rack(struct parser *p, const struct field *f)
{
	const char *why = code_problem(f->s, f->len, true);
	struct bb_rs_scan *scan = p->scan;

	if (why != NULL)
		return fail(p, "the rack ID %s", why);
	if (scan->rack_id != NULL) {
		if (strcmp(scan->rack_id, f->s) != 0)
			return fail(p, "the file names two racks: %s (line %u) and %s",
			            scan->rack_id, p->rack_line, f->s);
		return BB_OK;
	}
	if (p->expected_rack != NULL && strcmp(p->expected_rack, f->s) != 0)
		return fail(p, "the file is a scan of rack %s, not of rack %s", f->s,
		            p->expected_rack);
	scan->rack_id = bb_arena_strndup(&scan->mem, f->s, f->len);
	p->rack_line = p->line;
	return BB_OK;
}

/* Whether sep occurs outside CSV quotes; codes never hold a quote, so quotes are CSV's. */
static bool
has_separator(const char *s, char sep)
{
	bool quoted = false;

	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == sep && !quoted)
			return true;
	}
	return false;
}

static void
trim(struct field *f)
{
	while (f->len > 0 && is_blank(f->s[0])) {
		f->s++;
		f->len--;
	}
	while (f->len > 0 && is_blank(f->s[f->len - 1]))
		f->len--;
	f->s[f->len] = '\0';
}

/*
 * Split a mutable line into fields at sep, honouring CSV quotes ("" inside
 * quotes is one quote). Trailing empty fields are dropped: several exports
 * end every row with a separator. Returns the count or -1 after fail().
 */
static int
split(struct parser *p, char *line, struct field *f)
{
	int n = 0;
	char *r = line;

	for (;;) {
		char *w, *start;

		while (is_blank(*r))
			r++;
		if (n == FIELDS_MAX)
			return fail(p, "more than %d fields", FIELDS_MAX), -1;
		start = w = r;
		if (*r == '"') {
			for (r++;; r++) {
				if (*r == '\0')
					return fail(p, "a quoted field is not closed"), -1;
				if (*r == '"') {
					if (r[1] != '"')
						break;
					r++;
				}
				*w++ = *r;
			}
			r++;
			while (is_blank(*r))
				r++;
			if (*r != '\0' && *r != p->sep)
				return fail(p, "text after a quoted field"), -1;
		} else {
			while (*r != '\0' && *r != p->sep) {
				if (*r == '"')
					return fail(p, "a quote inside an unquoted field"), -1;
				*w++ = *r++;
			}
		}
		char end = *r;
		*w = '\0';
		f[n].s = start;
		f[n].len = (size_t)(w - start);
		trim(&f[n]);
		n++;
		if (end == '\0')
			break;
		r++;
	}
	while (n > 0 && f[n - 1].len == 0)
		n--;
	return n;
}

/*
 * "Key: value" and "Key = value" lines of scanner headers ("Rack Base Name:
 * 1034990001", "Date & time of Trace = 14/03/2026 10:23:45"). The key starts
 * with a letter, holds no separator, quote or TAB and is not a position, so
 * that a row is never taken for a header: "A1<TAB>AB:12" and "A01: ..." stay
 * rows (a row mistaken for a header would vanish from the scan).
 */
static bool
key_value(char *line, char **key, char **value)
{
	size_t klen = strcspn(line, ":=");
	char kbuf[48];
	int row, col;

	if (line[klen] == '\0' || !(upper(line[0]) >= 'A' && upper(line[0]) <= 'Z'))
		return false;
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c > 0x7E || strchr(",;\"", c) != NULL)
			return false;
	}
	while (klen > 0 && line[klen - 1] == ' ')
		klen--;
	if (klen >= sizeof(kbuf))
		return false;
	memcpy(kbuf, line, klen);
	kbuf[klen] = '\0';
	if (parse_pos(kbuf, &row, &col) == 0)
		return false;
	*value = line + strcspn(line, ":=") + 1;
	line[klen] = '\0';
	*key = line;
	while (is_blank(**value))
		(*value)++;
	return true;
}

static bool
is_column_header(const struct field *f, int n)
{
	bool well = false;

	for (int i = 0; i < n; i++) {
		if (is_any(f[i].s, well_words))
			well = true;
		else if (!is_any(f[i].s, rack_keys) && !is_any(f[i].s, code_words))
			return false;
	}
	return well && n >= 2;
}

static enum bb_err
column_header(struct parser *p, const struct field *f, int n)
{
	if (p->ncols != 0)
		return fail(p, "a column header after the first row");
	p->c_rack = p->c_well = p->c_code = -1;
	for (int i = 0; i < n; i++) {
		int *slot = is_any(f[i].s, well_words)  ? &p->c_well
		            : is_any(f[i].s, rack_keys) ? &p->c_rack
		                                        : &p->c_code;
		if (*slot != -1)
			return fail(p, "the column header names a column twice");
		*slot = i;
	}
	if (p->c_code == -1)
		return fail(p, "the column header has no barcode column");
	if (p->c_rack != -1 && same_words(f[p->c_rack].s, "Rack ID"))
		p->fluidx_meta = true;
	p->ncols = n;
	p->header_columns = true;
	return BB_OK;
}

static enum bb_err
tube_count(struct parser *p, const struct field *f, int n)
{
	int64_t v;

	if (n != 2 || !bb_parse_int64(f[1].s, 0, BB_RS_ROWS_MAX * BB_RS_COLS_MAX, &v))
		return fail(p, "Tube Count must be one number from 0 to %d",
		            BB_RS_ROWS_MAX * BB_RS_COLS_MAX);
	if (p->tube_count >= 0 && p->tube_count != v)
		return fail(p, "a second Tube Count that disagrees with line %u",
		            p->tube_count_line);
	p->tube_count = v;
	p->tube_count_line = p->line;
	p->fluidx_meta = true;
	return BB_OK;
}

static enum bb_err
data_row(struct parser *p, struct field *f, int n)
{
	struct bb_rs_scan *scan = p->scan;
	int row, col;
	enum bb_err err;

	if (p->ncols == 0) {
		if (n == 3) {
			p->c_rack = 0;
			p->c_well = 1;
			p->c_code = 2;
		} else if (n == 2) {
			p->c_rack = -1;
			p->c_well = 0;
			p->c_code = 1;
		} else {
			return fail(p,
			            "not a rack-scan row: expected well%cbarcode or "
			            "rack%cwell%cbarcode",
			            p->sep, p->sep, p->sep);
		}
		p->ncols = n;
	}
	if (n != p->ncols) {
		/* Only the barcode missing: say so, it is the likely mistake. */
		if (n == p->ncols - 1 && p->c_code == n &&
		    parse_pos(f[p->c_well].s, &row, &col) == 0 && row < p->rows && col >= 0 &&
		    col < p->cols)
			return fail(p,
			            "no barcode for well %.20s (expected a code, NO TUBE or "
			            "NO READ)",
			            f[p->c_well].s);
		return fail(p, "%d fields where the file has %d", n, p->ncols);
	}
	if (parse_pos(f[p->c_well].s, &row, &col) != 0)
		return fail(p, "\"%.20s\" is not a well position", f[p->c_well].s);
	if (row >= p->rows || col < 0 || col >= p->cols)
		return fail(p, "well %.20s is outside the %dx%d rack", f[p->c_well].s, p->rows,
		            p->cols);
	if (p->seen[row][col] != 0)
		return fail(p, "well %.20s is listed twice (also on line %u)", f[p->c_well].s,
		            p->seen[row][col]);
	if (p->c_rack >= 0) {
		if ((err = set_rack(p, &f[p->c_rack])) != BB_OK)
			return err;
	}

	struct bb_rs_well *w = &scan->wells[scan->n_wells];
	const struct field *code = &f[p->c_code];

	w->row = row;
	w->col = col;
	w->pos[0] = (char)('A' + row);
	w->pos[1] = (char)(col + 1 >= 10 ? '0' + (col + 1) / 10 : '0' + col + 1);
	w->pos[2] = col + 1 >= 10 ? (char)('0' + (col + 1) % 10) : '\0';
	w->pos[3] = '\0';
	w->line = p->line;
	if (is_any(code->s, empty_marks)) {
		w->state = BB_RS_EMPTY;
		scan->n_empty++;
	} else if (is_any(code->s, no_read_marks)) {
		w->state = BB_RS_NO_READ;
		scan->n_no_read++;
	} else {
		const char *why = code_problem(code->s, code->len, false);

		if (why != NULL)
			return fail(p, "the barcode for well %s %s", w->pos, why);
		for (size_t i = 0; i < scan->n_wells; i++)
			if (scan->wells[i].barcode != NULL &&
			    strcmp(scan->wells[i].barcode, code->s) == 0)
				return fail(p, "tube %s is listed twice (also in %s on line %u)",
				            code->s, scan->wells[i].pos, scan->wells[i].line);
		w->state = BB_RS_TUBE;
		w->barcode = bb_arena_strndup(&scan->mem, code->s, code->len);
		scan->n_tubes++;
	}
	p->seen[row][col] = p->line;
	scan->n_wells++;
	return BB_OK;
}

/* Pick the separator from the first row that is not a "Key: value" line. */
static enum bb_err
choose_separator(struct parser *p, const char *line)
{
	static const char candidates[] = { ',', ';', '\t' };

	for (size_t i = 0; i < sizeof(candidates); i++) {
		if (has_separator(line, candidates[i])) {
			p->sep = candidates[i];
			return BB_OK;
		}
	}
	return fail(p, "not a rack-scan row: no ',', ';' or TAB separates its fields");
}

static enum bb_err
parse_line(struct parser *p, const char *s, size_t len)
{
	char copy[BB_RS_LINE_MAX + 1];
	struct field f[FIELDS_MAX];
	char *key, *value;
	int n;

	if (len > BB_RS_LINE_MAX)
		return fail(p, "longer than %d bytes: not a rack-scan row", BB_RS_LINE_MAX);
	if (!bb_utf8_valid(s, len))
		return fail(p, "not valid UTF-8 text: not a rack-scan export");
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F)
			return fail(p, "control character 0x%02X: not a rack-scan export",
			            (unsigned char)s[i]);
	memcpy(copy, s, len);
	copy[len] = '\0';

	struct field whole = { copy, len };
	trim(&whole);
	if (whole.len == 0)
		return BB_OK; /* Say what it is when it is plainly something else. */
	if (whole.s[0] == '{' || whole.s[0] == '[' || whole.s[0] == '<')
		return fail(p, "looks like JSON, XML or HTML: not a rack-scan export");
	/* A spreadsheet's empty row (",,," or ";;") holds nothing: blank too. */
	if (whole.s[strspn(whole.s, BLANK_LINE_CHARS)] == '\0')
		return BB_OK;
	if (key_value(whole.s, &key, &value)) {
		p->scan->n_header_lines++;
		if (!is_any(key, rack_keys))
			return p->scan->n_wells == 0 ? BB_OK
			                             : fail(p, "a header line after the first row");
		if (same_words(key, "Rack Base Name"))
			p->trakmate = true;
		struct field v = { value, strlen(value) };
		return set_rack(p, &v);
	}
	if (p->sep == 0 && choose_separator(p, whole.s) != BB_OK)
		return BB_EINVAL;
	if ((n = split(p, whole.s, f)) < 0)
		return BB_EINVAL;
	if (n == 0) /* cannot happen after the blank test; never drop a line unseen */
		return fail(p, "a line without fields");
	if (is_column_header(f, n)) {
		p->scan->n_header_lines++;
		return column_header(p, f, n);
	}
	if (same_words(f[0].s, "Tube Count")) {
		p->scan->n_header_lines++;
		return tube_count(p, f, n);
	}
	if (is_any(f[0].s, rack_keys) && !p->header_columns) {
		if (n != 2)
			return fail(p, "a rack line must hold the rack ID only");
		p->fluidx_meta = true;
		p->scan->n_header_lines++;
		return set_rack(p, &f[1]);
	}
	return data_row(p, f, n);
}

static enum bb_err
finish(struct parser *p)
{
	struct bb_rs_scan *scan = p->scan;

	if (scan->n_wells == 0)
		return fail(p, "end of the file without a single well: not a rack-scan export");
	if (p->tube_count >= 0 && (size_t)p->tube_count != scan->n_tubes + scan->n_no_read) {
		p->line = p->tube_count_line;
		return fail(p,
		            "Tube Count says %ld but the rows list %zu tubes (%zu read, %zu "
		            "unreadable)",
		            p->tube_count, scan->n_tubes + scan->n_no_read, scan->n_tubes,
		            scan->n_no_read);
	}
	if (scan->rack_id == NULL && p->expected_rack != NULL)
		scan->rack_id = bb_arena_strdup(&scan->mem, p->expected_rack);
	if (p->trakmate)
		scan->dialect = BB_RS_TRAKMATE;
	else if (p->fluidx_meta)
		scan->dialect = BB_RS_FLUIDX;
	else if (p->c_rack >= 0)
		scan->dialect = BB_RS_RACK_WELL_BARCODE;
	else
		scan->dialect = BB_RS_WELL_BARCODE;
	return BB_OK;
}

static enum bb_err
parse_lines(struct parser *p, const char *s, size_t len)
{
	const char *end = s + len;

	/* A byte-order mark says nothing in UTF-8; some Windows tools write one. */
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (s < end) {
		const char *eol = s;

		while (eol < end && *eol != '\n' && *eol != '\r')
			eol++;
		if (++p->line > BB_RS_LINES_MAX)
			return fail(p, "more than %d lines: not a rack-scan export",
			            BB_RS_LINES_MAX);
		enum bb_err err = parse_line(p, s, (size_t)(eol - s));
		if (err != BB_OK)
			return err;
		/* LF, CRLF, and the lone CR of old Mac exports all end a line. */
		if (eol < end && *eol == '\r')
			eol++;
		else if (eol < end)
			eol++; /* the LF */
		if (eol < end && eol[-1] == '\r' && *eol == '\n')
			eol++;
		s = eol;
	}
	return finish(p);
}

enum bb_err
bb_rs_parse(const void *buf, size_t len, const struct bb_rs_options *opt, struct bb_rs_scan **out,
            char why[BB_RS_WHY_LEN])
{
	struct parser *p;
	struct bb_rs_scan *scan;
	enum bb_err err;
	int rows = opt != NULL ? opt->rows : 0, cols = opt != NULL ? opt->cols : 0;

	*out = NULL;
	why[0] = '\0';
	if (rows == 0 && cols == 0) {
		rows = BB_RS_ROWS_MAX;
		cols = BB_RS_COLS_MAX;
	}
	if (rows < 1 || rows > BB_RS_ROWS_MAX || cols < 1 || cols > BB_RS_COLS_MAX) {
		snprintf(why, BB_RS_WHY_LEN, "a rack has 1 to %d rows and 1 to %d columns",
		         BB_RS_ROWS_MAX, BB_RS_COLS_MAX);
		return BB_EINVAL;
	}
	if (opt != NULL && opt->rack_id != NULL &&
	    code_problem(opt->rack_id, strlen(opt->rack_id), true) != NULL) {
		snprintf(why, BB_RS_WHY_LEN, "the expected rack ID %s",
		         code_problem(opt->rack_id, strlen(opt->rack_id), true));
		return BB_EINVAL;
	}
	if (len > BB_RS_SIZE_MAX) {
		snprintf(why, BB_RS_WHY_LEN, "the file is larger than %d bytes: not a rack scan",
		         BB_RS_SIZE_MAX);
		return BB_EINVAL;
	}
	if (len == 0) {
		snprintf(why, BB_RS_WHY_LEN, "line 1: the file is empty");
		return BB_EINVAL;
	}

	scan = bb_calloc(1, sizeof(*scan));
	scan->wells = bb_arena_alloc(&scan->mem, (size_t)(rows * cols) * sizeof(*scan->wells));
	p = bb_calloc(1, sizeof(*p));
	p->scan = scan;
	p->expected_rack = opt != NULL ? opt->rack_id : NULL;
	p->rows = rows;
	p->cols = cols;
	p->why = why;
	p->tube_count = -1;
	p->c_rack = -1;
	err = parse_lines(p, buf, len);
	free(p);
	if (err != BB_OK) {
		bb_rs_free(scan);
		return err;
	}
	*out = scan;
	return BB_OK;
}

void
bb_rs_free(struct bb_rs_scan *scan)
{
	if (scan == NULL)
		return;
	bb_arena_free(&scan->mem);
	free(scan);
}

const struct bb_rs_well *
bb_rs_well_at(const struct bb_rs_scan *scan, const char *pos)
{
	int row, col;

	if (parse_pos(pos, &row, &col) != 0)
		return NULL;
	for (size_t i = 0; i < scan->n_wells; i++)
		if (scan->wells[i].row == row && scan->wells[i].col == col)
			return &scan->wells[i];
	return NULL;
}
