/* import.c — an inventory file's bytes, records and fields (inventory.h, docs/import.md). */
#include "inventory.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const column_names[IC__MAX] = {
	[IC_KEY] = "key",
	[IC_STUDY] = "study",
	[IC_PARTICIPANT] = "participant_code",
	[IC_SEX] = "sex",
	[IC_BIRTH_YEAR] = "birth_year",
	[IC_DIAGNOSIS] = "diagnosis",
	[IC_CONSENT_SCOPE] = "consent_scope",
	[IC_CONSENT_STATUS] = "consent_status",
	[IC_CONSENT_DATE] = "consent_date",
	[IC_CONSENT_VERSION] = "consent_version",
	[IC_TYPE] = "specimen_type",
	[IC_TIMEPOINT] = "timepoint",
	[IC_COLLECTED_AT] = "collected_at",
	[IC_QUANTITY] = "quantity",
	[IC_UNIT] = "unit",
	[IC_TUBE_BARCODE] = "tube_barcode",
	[IC_PARENT] = "parent",
	[IC_LOCATION_PATH] = "location_path",
	[IC_BOX_BARCODE] = "box_barcode",
	[IC_BOX_GRID] = "box_grid",
	[IC_POSITION] = "position",
	[IC_STATUS] = "status",
	[IC_FREEZE_THAW] = "freeze_thaw_count",
	[IC_LEGACY_ID] = "legacy_id",
	[IC_NOTES] = "notes",
};

/* Other names spreadsheets give the same columns (after folding: lower case, '_' for blanks). */
static const struct {
	const char *alias;
	enum bb_imp_col col;
} aliases[] = {
	{ "row_key", IC_KEY },
	{ "participant", IC_PARTICIPANT },
	{ "participant_id", IC_PARTICIPANT },
	{ "patient_code", IC_PARTICIPANT },
	{ "gender", IC_SEX },
	{ "year_of_birth", IC_BIRTH_YEAR },
	{ "consent", IC_CONSENT_SCOPE },
	{ "type", IC_TYPE },
	{ "sample_type", IC_TYPE },
	{ "material", IC_TYPE },
	{ "visit", IC_TIMEPOINT },
	{ "collection_time", IC_COLLECTED_AT },
	{ "collection_date", IC_COLLECTED_AT },
	{ "collected", IC_COLLECTED_AT },
	{ "volume", IC_QUANTITY },
	{ "amount", IC_QUANTITY },
	{ "barcode", IC_TUBE_BARCODE },
	{ "tube", IC_TUBE_BARCODE },
	{ "2d_barcode", IC_TUBE_BARCODE },
	{ "parent_key", IC_PARENT },
	{ "location", IC_LOCATION_PATH },
	{ "box", IC_BOX_BARCODE },
	{ "rack", IC_BOX_BARCODE },
	{ "grid", IC_BOX_GRID },
	{ "box_size", IC_BOX_GRID },
	{ "well", IC_POSITION },
	{ "freeze_thaw", IC_FREEZE_THAW },
	{ "freeze_thaw_cycles", IC_FREEZE_THAW },
	{ "legacy", IC_LEGACY_ID },
	{ "old_id", IC_LEGACY_ID },
	{ "note", IC_NOTES },
	{ "comment", IC_NOTES },
	{ "comments", IC_NOTES },
};

static const enum bb_imp_col required[] = { IC_STUDY, IC_PARTICIPANT, IC_TYPE, IC_TIMEPOINT,
	                                    IC_COLLECTED_AT };

const char *
bb_imp_column_name(enum bb_imp_col c)
{
	return c >= 0 && c < IC__MAX ? column_names[c] : "";
}

/* ---- options -------------------------------------------------------------------------- */

static const struct {
	const char *prefix; /* a language, or language-REGION */
	enum bb_imp_dates dates;
	bool comma;
} locales[] = {
	{ "en-us", BB_IMP_DATES_MDY, false }, { "en", BB_IMP_DATES_DMY, false },
	{ "fr", BB_IMP_DATES_DMY, true },     { "de", BB_IMP_DATES_DMY, true },
	{ "es", BB_IMP_DATES_DMY, true },     { "it", BB_IMP_DATES_DMY, true },
	{ "nl", BB_IMP_DATES_DMY, true },     { "pt", BB_IMP_DATES_DMY, true },
	{ "da", BB_IMP_DATES_DMY, true },     { "sv", BB_IMP_DATES_ISO, true },
	{ "zh", BB_IMP_DATES_ISO, false },    { "ja", BB_IMP_DATES_ISO, false },
};

bool
bb_imp_opts_read(struct bb_imp_opts *o, const char *date_format, const char *decimal,
                 const char *locale, const char **bad)
{
	o->dates = BB_IMP_DATES_ISO;
	o->decimal_comma = false;
	if (locale != NULL) {
		char l[16];
		size_t n = strlen(locale), i;
		bool found = false;

		if (n == 0 || n >= sizeof(l)) {
			*bad = "locale";
			return false;
		}
		for (i = 0; i < n; i++)
			l[i] = locale[i] == '_' ? '-' : (char)tolower((unsigned char)locale[i]);
		l[n] = '\0';
		for (i = 0; i < sizeof(locales) / sizeof(locales[0]) && !found; i++) {
			size_t pn = strlen(locales[i].prefix);
			if (strncmp(l, locales[i].prefix, pn) == 0 &&
			    (l[pn] == '\0' || l[pn] == '-')) {
				o->dates = locales[i].dates;
				o->decimal_comma = locales[i].comma;
				found = true;
			}
		}
		if (!found) {
			*bad = "locale";
			return false;
		}
	}
	if (date_format != NULL) {
		if (strcasecmp(date_format, "iso") == 0 ||
		    strcasecmp(date_format, "yyyy-mm-dd") == 0)
			o->dates = BB_IMP_DATES_ISO;
		else if (strcasecmp(date_format, "dd/mm/yyyy") == 0 ||
		         strcasecmp(date_format, "dmy") == 0)
			o->dates = BB_IMP_DATES_DMY;
		else if (strcasecmp(date_format, "mm/dd/yyyy") == 0 ||
		         strcasecmp(date_format, "mdy") == 0)
			o->dates = BB_IMP_DATES_MDY;
		else {
			*bad = "date_format";
			return false;
		}
	}
	if (decimal != NULL) {
		if (strcasecmp(decimal, "point") == 0 || strcmp(decimal, ".") == 0)
			o->decimal_comma = false;
		else if (strcasecmp(decimal, "comma") == 0 || strcmp(decimal, ",") == 0)
			o->decimal_comma = true;
		else {
			*bad = "decimal";
			return false;
		}
	}
	return true;
}

/* ---- the first pass ------------------------------------------------------------------- */

/* Incremental UTF-8 check (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
struct utf8_state {
	int need;             /* continuation bytes still expected */
	unsigned char lo, hi; /* the range of the next continuation byte */
};

static bool
utf8_step(struct utf8_state *s, unsigned char c)
{
	if (s->need > 0) {
		if (c < s->lo || c > s->hi)
			return false;
		s->lo = 0x80;
		s->hi = 0xBF;
		s->need--;
		return true;
	}
	s->lo = 0x80;
	s->hi = 0xBF;
	if (c < 0x80)
		return true;
	if (c >= 0xC2 && c <= 0xDF)
		s->need = 1;
	else if (c >= 0xE0 && c <= 0xEF) {
		s->need = 2;
		if (c == 0xE0)
			s->lo = 0xA0;
		if (c == 0xED)
			s->hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		s->need = 3;
		if (c == 0xF0)
			s->lo = 0x90;
		if (c == 0xF4)
			s->hi = 0x8F;
	} else
		return false;
	return true;
}

enum bb_err
bb_imp_scan(FILE *f, struct bb_imp_scan *out)
{
	unsigned char buf[65536];
	crypto_hash_sha256_state st;
	struct utf8_state u = { 0, 0x80, 0xBF };
	long line = 1;
	size_t n;
	bool first_line = true, quoted = false;
	long counts[3] = { 0, 0, 0 }; /* , ; TAB */

	memset(out, 0, sizeof(*out));
	rewind(f);
	crypto_hash_sha256_init(&st);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		size_t i = 0;

		if (out->bytes == 0 && n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
			out->bom = true;
		crypto_hash_sha256_update(&st, buf, n);
		for (i = 0; i < n; i++) {
			unsigned char c = buf[i];

			if (c >= 0x80)
				out->non_ascii = true;
			if (c == 0 && out->nul_line == 0)
				out->nul_line = line;
			if (out->bad_utf8_line == 0 && !utf8_step(&u, c))
				out->bad_utf8_line = line;
			if (first_line) {
				if (c == '"')
					quoted = !quoted;
				else if (!quoted && c == ',')
					counts[0]++;
				else if (!quoted && c == ';')
					counts[1]++;
				else if (!quoted && c == '\t')
					counts[2]++;
			}
			if (c == '\n') {
				line++;
				if (!quoted)
					first_line = false;
			}
		}
		out->bytes += (long long)n;
	}
	if (ferror(f))
		return BB_EIO;
	if (u.need > 0 && out->bad_utf8_line == 0)
		out->bad_utf8_line = line; /* cut in the middle of a character */
	crypto_hash_sha256_final(&st, out->sha256);
	out->separator = counts[1] > counts[0] && counts[1] >= counts[2]  ? ';'
	                 : counts[2] > counts[0] && counts[2] > counts[1] ? '\t'
	                                                                  : ',';
	rewind(f);
	return BB_OK;
}

static const struct {
	const char *name, *canon, *iconv;
} encodings[] = {
	{ "utf-8", "UTF-8", NULL },
	{ "utf8", "UTF-8", NULL },
	{ "windows-1252", "windows-1252", "WINDOWS-1252" },
	{ "cp1252", "windows-1252", "WINDOWS-1252" },
	{ "iso-8859-1", "ISO-8859-1", "ISO-8859-1" },
	{ "latin1", "ISO-8859-1", "ISO-8859-1" },
	{ "iso-8859-15", "ISO-8859-15", "ISO-8859-15" },
	{ "latin9", "ISO-8859-15", "ISO-8859-15" },
};

static const char *
encoding_iconv(const char *canon)
{
	for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++)
		if (strcmp(encodings[i].canon, canon) == 0)
			return encodings[i].iconv;
	return NULL;
}

bool
bb_imp_encoding(const char *name, const char **canon)
{
	for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++)
		if (strcasecmp(encodings[i].name, name) == 0) {
			*canon = encodings[i].canon;
			return true;
		}
	return false;
}

/* ---- records -------------------------------------------------------------------------- */

struct bb_imp_reader {
	FILE *f;
	iconv_t cd; /* (iconv_t)-1: the bytes are UTF-8 already */
	char sep;
	char raw[32768];
	char conv[32768 * 4]; /* a single-byte character is at most 3 bytes of UTF-8 */
	char *p, *end;        /* what is left to read of the current chunk */
	bool eof;
	long line;
	bool started;
	char rec[BB_IMP_RECORD_MAX + 1];
	size_t reclen;
	size_t starts[BB_IMP_COLUMNS_MAX];
	const char *fields[BB_IMP_COLUMNS_MAX];
};

enum bb_err
bb_imp_reader_open(FILE *f, const char *encoding, char separator, struct bb_imp_reader **out)
{
	struct bb_imp_reader *rd = bb_calloc(1, sizeof(*rd));
	const char *from = encoding_iconv(encoding);

	rd->f = f;
	rd->sep = separator;
	rd->cd = (iconv_t)-1;
	rd->line = 1;
	if (from != NULL) {
		rd->cd = iconv_open("UTF-8", from);
		if (rd->cd == (iconv_t)-1) {
			free(rd);
			return BB_EINTERNAL;
		}
	}
	rewind(f);
	*out = rd;
	return BB_OK;
}

void
bb_imp_reader_free(struct bb_imp_reader *rd)
{
	if (rd == NULL)
		return;
	if (rd->cd != (iconv_t)-1)
		iconv_close(rd->cd);
	free(rd);
}

/* Fill the chunk; false at the end of the file. */
static bool
refill(struct bb_imp_reader *rd)
{
	if (rd->eof)
		return false;
	size_t n = fread(rd->raw, 1, sizeof(rd->raw), rd->f);
	if (n == 0) {
		rd->eof = true;
		return false;
	}
	if (rd->cd == (iconv_t)-1) {
		rd->p = rd->raw;
		rd->end = rd->raw + n;
	} else {
		/* Single-byte encodings: a chunk never ends inside a character. */
		char *in = rd->raw, *o = rd->conv;
		size_t inleft = n, outleft = sizeof(rd->conv);

		if (iconv(rd->cd, &in, &inleft, &o, &outleft) == (size_t)-1) {
			/* A byte the encoding leaves undefined (0x81 in windows-1252). */
			*o = '\0';
			rd->eof = true;
			rd->p = rd->conv;
			rd->end = o;
			return o > rd->conv;
		}
		rd->p = rd->conv;
		rd->end = o;
	}
	if (!rd->started) {
		rd->started = true;
		if (rd->end - rd->p >= 3 && memcmp(rd->p, "\xEF\xBB\xBF", 3) == 0)
			rd->p += 3;
	}
	return true;
}

static int
next_char(struct bb_imp_reader *rd)
{
	if (rd->p == rd->end && !refill(rd))
		return EOF;
	if (rd->p == rd->end)
		return EOF;
	return (unsigned char)*rd->p++;
}

static int
peek_char(struct bb_imp_reader *rd)
{
	if (rd->p == rd->end && !refill(rd))
		return EOF;
	if (rd->p == rd->end)
		return EOF;
	return (unsigned char)*rd->p;
}

int
bb_imp_next(struct bb_imp_reader *rd, const char *const **fields, size_t *n, long *line,
            const char **why)
{
	size_t nf = 0;
	bool quoted = false, was_quoted = false, any = false;
	int c;

	rd->reclen = 0;
	rd->starts[0] = 0;
	*line = rd->line;
	for (;;) {
		c = next_char(rd);
		if (c == EOF) {
			if (quoted) {
				*why = "a quoted field is not closed before the end of the file";
				return -1;
			}
			if (!any)
				return 0;
			break;
		}
		any = true;
		if (c == '\0') {
			*why = "the file holds a NUL byte";
			return -1;
		}
		if (c == '\n')
			rd->line++;
		if (quoted) {
			if (c == '"') {
				if (peek_char(rd) == '"')
					next_char(rd);
				else {
					quoted = false;
					continue;
				}
			}
		} else if (c == '"' && !was_quoted && rd->reclen == rd->starts[nf]) {
			quoted = was_quoted = true;
			continue;
		} else if (c == (unsigned char)rd->sep) {
			rd->rec[rd->reclen++] = '\0';
			if (++nf == BB_IMP_COLUMNS_MAX) {
				*why = "a record has more than 64 columns";
				return -1;
			}
			rd->starts[nf] = rd->reclen;
			was_quoted = false;
			continue;
		} else if (c == '\r' && peek_char(rd) == '\n') {
			continue;
		} else if (c == '\n' || c == '\r') {
			if (c == '\r')
				rd->line++;
			break;
		}
		if (rd->reclen >= BB_IMP_RECORD_MAX - 1) {
			*why = "a record is longer than 65536 bytes";
			return -1;
		}
		rd->rec[rd->reclen++] = (char)c;
	}
	rd->rec[rd->reclen] = '\0';
	nf++;
	for (size_t i = 0; i < nf; i++)
		rd->fields[i] = rd->rec + rd->starts[i];
	*fields = rd->fields;
	*n = nf;
	return 1;
}

/* ---- the header ----------------------------------------------------------------------- */

static void problem(struct bb_imp_row *row, int col, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
problem(struct bb_imp_row *row, int col, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (row->nproblems == BB_IMP_ROW_ERRORS_MAX)
		return;
	struct bb_imp_problem *p = &row->problems[row->nproblems++];
	p->col = col;
	p->code = code;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
}

/* A header name folded: trimmed, lower case, blanks, dashes and dots as '_'. */
static void
fold(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s && n + 1 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		out[n++] = (c == ' ' || c == '-' || c == '.' || c == '/') ? '_' : (char)tolower(c);
	}
	while (n > 0 && out[n - 1] == '_')
		n--;
	out[n] = '\0';
}

void
bb_imp_header(const char *const *fields, size_t n, int map[BB_IMP_COLUMNS_MAX],
              struct bb_imp_row *row)
{
	bool seen[IC__MAX] = { false };

	for (size_t i = 0; i < n && i < BB_IMP_COLUMNS_MAX; i++) {
		char name[80];
		int col = -1;

		fold(fields[i], name, sizeof(name));
		map[i] = -1;
		if (name[0] == '\0')
			continue; /* an empty trailing column, as spreadsheets add */
		for (int c = 0; c < IC__MAX && col < 0; c++)
			if (strcmp(name, column_names[c]) == 0)
				col = c;
		for (size_t a = 0; a < sizeof(aliases) / sizeof(aliases[0]) && col < 0; a++)
			if (strcmp(name, aliases[a].alias) == 0)
				col = (int)aliases[a].col;
		if (col < 0) {
			problem(
			    row, -1, "unknown-column",
			    "column %zu \"%.60s\" is not a column of the template (docs/import.md)",
			    i + 1, fields[i]);
			continue;
		}
		if (seen[col]) {
			problem(row, col, "listed-twice", "column %s is given twice",
			        column_names[col]);
			continue;
		}
		seen[col] = true;
		map[i] = col;
	}
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++)
		if (!seen[required[r]])
			problem(row, (int)required[r], "column-missing",
			        "the file has no %s column, which every row needs",
			        column_names[required[r]]);
}

/* ---- fields --------------------------------------------------------------------------- */

/* Copy s trimmed of blanks into row->buf; NULL when nothing is left. */
static const char *
keep(struct bb_imp_row *row, size_t *used, const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
	                   s[len - 1] == '\n'))
		len--;
	if (len == 0 || *used + len + 1 > sizeof(row->buf))
		return NULL;
	char *out = row->buf + *used;
	memcpy(out, s, len);
	out[len] = '\0';
	*used += len + 1;
	return out;
}

static const char *keepf(struct bb_imp_row *row, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *
keepf(struct bb_imp_row *row, size_t *used, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	return keep(row, used, tmp, strlen(tmp));
}

static bool
digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

static int
num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int
days_in(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

struct when {
	int y, m, d, hh, mi, ss;
	char offset[8]; /* "+01:00", "+00:00" for Z; "" when none */
	bool has_time;
};

/*
 * A date, and a time after a 'T' or a blank: ISO 8601 (2016-03-14T08:40:00+01:00),
 * or dd/mm/yyyy or mm/dd/yyyy (also with '.' or '-') when the options say
 * so. Returns NULL or the reason it is not one.
 */
static const char *
when_read(const char *s, const struct bb_imp_opts *o, bool date_only, struct when *w)
{
	size_t n = strlen(s);
	const char *t;

	memset(w, 0, sizeof(*w));
	if (n >= 10 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
	    digits(s + 8, 2)) {
		w->y = num(s, 4);
		w->m = num(s + 5, 2);
		w->d = num(s + 8, 2);
		t = s + 10;
	} else {
		/* d/m/yyyy with one or two digit day and month */
		size_t a = 0, b;
		while (isdigit((unsigned char)s[a]))
			a++;
		if (a < 1 || a > 2 || (s[a] != '/' && s[a] != '.' && s[a] != '-'))
			return "is not a date (use yyyy-mm-dd, or say date_format=dd/mm/yyyy)";
		char sep = s[a];
		b = a + 1;
		while (isdigit((unsigned char)s[b]))
			b++;
		if (b - a - 1 < 1 || b - a - 1 > 2 || s[b] != sep || !digits(s + b + 1, 4) ||
		    isdigit((unsigned char)s[b + 5]))
			return "is not a date (use yyyy-mm-dd, or say date_format=dd/mm/yyyy)";
		if (o->dates == BB_IMP_DATES_ISO)
			return "is a date with slashes: say which comes first with "
			       "date_format=dd/mm/yyyy or mm/dd/yyyy (or a locale)";
		int first = num(s, a), second = num(s + a + 1, b - a - 1);
		w->y = num(s + b + 1, 4);
		w->d = o->dates == BB_IMP_DATES_DMY ? first : second;
		w->m = o->dates == BB_IMP_DATES_DMY ? second : first;
		t = s + b + 5;
	}
	if (w->m < 1 || w->m > 12)
		return "has no such month";
	if (w->d < 1 || w->d > days_in(w->y, w->m))
		return "has no such day in its month";
	if (*t == '\0')
		return NULL;
	if (date_only)
		return "must be a date without a time";
	if (*t != 'T' && *t != 't' && *t != ' ')
		return "has something after the date that is not a time";
	t++;
	if (!digits(t, 2) || t[2] != ':' || !digits(t + 3, 2))
		return "has a time that is not hh:mm";
	w->has_time = true;
	w->hh = num(t, 2);
	w->mi = num(t + 3, 2);
	t += 5;
	if (*t == ':') {
		if (!digits(t + 1, 2))
			return "has a time that is not hh:mm:ss";
		w->ss = num(t + 1, 2);
		t += 3;
		if (*t == '.' || *t == ',') {
			t++;
			if (!isdigit((unsigned char)*t))
				return "has a fraction of a second without digits";
			while (isdigit((unsigned char)*t))
				t++; /* kept to the second: legacy times never carry more */
		}
	}
	if (w->hh > 23 || w->mi > 59 || w->ss > 59)
		return "has no such time of day";
	if (*t == 'Z' || *t == 'z') {
		snprintf(w->offset, sizeof(w->offset), "+00:00");
		t++;
	} else if (*t == '+' || *t == '-') {
		char sign = *t++;
		if (digits(t, 2) && t[2] == ':' && digits(t + 3, 2)) {
			snprintf(w->offset, sizeof(w->offset), "%c%.2s:%.2s", sign, t, t + 3);
			t += 5;
		} else if (digits(t, 4)) {
			snprintf(w->offset, sizeof(w->offset), "%c%.2s:%.2s", sign, t, t + 2);
			t += 4;
		} else if (digits(t, 2) && !isdigit((unsigned char)t[2])) {
			snprintf(w->offset, sizeof(w->offset), "%c%.2s:00", sign, t);
			t += 2;
		} else
			return "has an offset that is not +hh:mm";
		if (num(w->offset + 1, 2) > 14 || num(w->offset + 4, 2) > 59)
			return "has an offset beyond 14 hours";
	}
	if (*t != '\0')
		return "has something after the time";
	return NULL;
}

/* A decimal number >= 0 in the file's spelling, written with a point into out. */
static const char *
number_read(const char *s, const struct bb_imp_opts *o, char *out, size_t cap)
{
	char dec = o->decimal_comma ? ',' : '.', other = o->decimal_comma ? '.' : ',';
	size_t n = 0, ndig = 0, nfrac = 0;
	bool point = false;

	if (*s == '-')
		return "must not be negative";
	if (*s == '+')
		s++;
	for (; *s; s++) {
		if (isdigit((unsigned char)*s)) {
			if (n + 2 >= cap)
				return "is too long a number";
			out[n++] = *s;
			if (point)
				nfrac++;
			else
				ndig++;
		} else if (*s == dec && !point) {
			point = true;
			out[n++] = '.';
		} else if (*s == other) {
			return o->decimal_comma
			           ? "has a decimal point, but the file was said to use decimal "
			             "commas"
			           : "has a decimal comma: say decimal=comma (or a locale such as "
			             "fr-FR)";
		} else
			return "is not a number";
	}
	out[n] = '\0';
	if (ndig == 0 && nfrac == 0)
		return "is not a number";
	if (ndig > 9 || nfrac > 3)
		return "must have at most 9 digits before the decimal mark and 3 after";
	return NULL;
}

/* The units a quantity may be in, in their stored spelling. */
static const char *
unit_read(const char *s)
{
	static const struct {
		const char *in, *out;
	} units[] = {
		{ "l", "L" },           { "ml", "mL" }, { "ul", "uL" }, { "µl", "uL" },
		{ "μl", "uL" },         { "g", "g" },   { "mg", "mg" }, { "ug", "ug" },
		{ "µg", "ug" },         { "μg", "ug" }, { "ng", "ng" }, { "cells", "cells" },
		{ "pieces", "pieces" },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(s, units[i].in) == 0)
			return units[i].out;
	return NULL;
}

static const char *
status_read(const char *s, char *out, size_t cap)
{
	static const char *const allowed[] = { "registered", "in_storage", "checked_out",
		                               "consumed",   "destroyed",  "lost" };
	size_t n = 0;

	for (; *s && n + 1 < cap; s++)
		out[n++] = (*s == ' ' || *s == '-') ? '_' : (char)tolower((unsigned char)*s);
	out[n] = '\0';
	if (strcmp(out, "stored") == 0)
		return "in_storage";
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strcmp(out, allowed[i]) == 0)
			return allowed[i];
	return NULL;
}

static bool
code_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* Characters (not bytes) of UTF-8 text. */
static size_t
chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

void
bb_imp_row_read(const int map[BB_IMP_COLUMNS_MAX], const char *const *fields, size_t n,
                const struct bb_imp_opts *o, struct bb_imp_row *row)
{
	const char *in[IC__MAX] = { NULL };
	size_t used = 0;
	char tmp[64];
	struct when w;
	const char *why;

	memset(row->out, 0, sizeof(row->out));
	row->nproblems = 0;
	for (size_t i = 0; i < n && i < BB_IMP_COLUMNS_MAX; i++) {
		if (map[i] < 0) {
			if (fields[i][0] != '\0' && strspn(fields[i], " \t") != strlen(fields[i]))
				problem(row, -1, "unknown-column",
				        "column %zu has a value but no name in the header", i + 1);
			continue;
		}
		if (strlen(fields[i]) > BB_IMP_FIELD_MAX) {
			problem(row, map[i], "value-too-long", "is longer than %d bytes",
			        BB_IMP_FIELD_MAX);
			continue;
		}
		in[map[i]] = keep(row, &used, fields[i], strlen(fields[i]));
	}
	/* Every column but the computed ones is kept as read, then checked. */
	for (int c = 0; c < IC__MAX; c++)
		row->out[c] = in[c];

	static const struct {
		enum bb_imp_col col;
		size_t max;
	} lengths[] = {
		{ IC_KEY, 64 },
		{ IC_STUDY, 32 },
		{ IC_DIAGNOSIS, 32 },
		{ IC_CONSENT_VERSION, 64 },
		{ IC_TYPE, 32 },
		{ IC_TIMEPOINT, 40 },
		{ IC_TUBE_BARCODE, 64 },
		{ IC_PARENT, 64 },
		{ IC_LOCATION_PATH, 600 },
		{ IC_BOX_BARCODE, 64 },
		{ IC_LEGACY_ID, 64 },
		{ IC_NOTES, 2000 },
	};
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
		if (in[lengths[i].col] != NULL && chars(in[lengths[i].col]) > lengths[i].max) {
			problem(row, lengths[i].col, "value-too-long",
			        "must be at most %zu characters", lengths[i].max);
			row->out[lengths[i].col] = NULL;
		}
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++)
		if (in[required[r]] == NULL)
			problem(row, (int)required[r], "value-missing", "is required on every row");

	if (in[IC_STUDY] != NULL) {
		char up[40];
		size_t k = 0;
		for (const char *s = in[IC_STUDY]; *s && k + 1 < sizeof(up); s++)
			up[k++] = (char)toupper((unsigned char)*s);
		up[k] = '\0';
		row->out[IC_STUDY] = keep(row, &used, up, k);
	}
	if (in[IC_PARTICIPANT] != NULL && !code_ok(in[IC_PARTICIPANT], 40)) {
		problem(row, IC_PARTICIPANT, "value-malformed",
		        "must be 1 to 40 letters, digits, '_', '.' or '-', starting with a letter "
		        "or digit");
		row->out[IC_PARTICIPANT] = NULL;
	}
	if (in[IC_SEX] != NULL) {
		static const char *const sexes[][2] = {
			{ "f", "female" },  { "female", "female" },  { "m", "male" },
			{ "male", "male" }, { "o", "other" },        { "other", "other" },
			{ "u", "unknown" }, { "unknown", "unknown" }
		};
		row->out[IC_SEX] = NULL;
		for (size_t i = 0; i < sizeof(sexes) / sizeof(sexes[0]); i++)
			if (strcasecmp(in[IC_SEX], sexes[i][0]) == 0)
				row->out[IC_SEX] = sexes[i][1];
		if (row->out[IC_SEX] == NULL)
			problem(row, IC_SEX, "value-not-allowed",
			        "must be one of: female, male, other, unknown (or F, M, O, U)");
	}
	if (in[IC_BIRTH_YEAR] != NULL) {
		int64_t y;
		if (!bb_parse_int64(in[IC_BIRTH_YEAR], 1900, o->this_year, &y)) {
			problem(row, IC_BIRTH_YEAR, "value-out-of-range",
			        "must be a year from 1900 to %d", o->this_year);
			row->out[IC_BIRTH_YEAR] = NULL;
		}
	}
	if (in[IC_CONSENT_SCOPE] != NULL) {
		const char *v = in[IC_CONSENT_SCOPE];
		row->out[IC_CONSENT_SCOPE] = strcasecmp(v, "study") == 0     ? "study"
		                             : strcasecmp(v, "biobank") == 0 ? "biobank"
		                             : strcasecmp(v, "genetic") == 0 ? "genetic"
		                                                             : NULL;
		if (row->out[IC_CONSENT_SCOPE] == NULL)
			problem(row, IC_CONSENT_SCOPE, "value-not-allowed",
			        "must be one of: study, biobank, genetic");
	}
	if (in[IC_CONSENT_STATUS] != NULL) {
		const char *v = in[IC_CONSENT_STATUS];
		row->out[IC_CONSENT_STATUS] = strcasecmp(v, "given") == 0       ? "given"
		                              : strcasecmp(v, "withdrawn") == 0 ? "withdrawn"
		                                                                : NULL;
		if (row->out[IC_CONSENT_STATUS] == NULL)
			problem(row, IC_CONSENT_STATUS, "value-not-allowed",
			        "must be one of: given, withdrawn");
	}
	if (in[IC_CONSENT_DATE] != NULL) {
		row->out[IC_CONSENT_DATE] = NULL;
		if ((why = when_read(in[IC_CONSENT_DATE], o, true, &w)) != NULL)
			problem(row, IC_CONSENT_DATE, "value-malformed", "\"%.40s\" %s",
			        in[IC_CONSENT_DATE], why);
		else
			row->out[IC_CONSENT_DATE] =
			    keepf(row, &used, "%04d-%02d-%02d", w.y, w.m, w.d);
	}
	if (in[IC_TYPE] != NULL) {
		char t[40];
		size_t k = 0;
		for (const char *s = in[IC_TYPE]; *s && k + 1 < sizeof(t); s++)
			t[k++] = (char)tolower((unsigned char)*s);
		row->out[IC_TYPE] = keep(row, &used, t, k);
	}
	if (in[IC_COLLECTED_AT] != NULL) {
		row->out[IC_COLLECTED_AT] = NULL;
		if ((why = when_read(in[IC_COLLECTED_AT], o, false, &w)) != NULL)
			problem(row, IC_COLLECTED_AT, "value-malformed", "\"%.40s\" %s",
			        in[IC_COLLECTED_AT], why);
		else
			row->out[IC_COLLECTED_AT] =
			    keepf(row, &used, "%04d-%02d-%02d %02d:%02d:%02d%s", w.y, w.m, w.d,
			          w.hh, w.mi, w.ss, w.offset);
	}
	if (in[IC_QUANTITY] != NULL) {
		row->out[IC_QUANTITY] = NULL;
		if ((why = number_read(in[IC_QUANTITY], o, tmp, sizeof(tmp))) != NULL)
			problem(row, IC_QUANTITY,
			        in[IC_QUANTITY][0] == '-' ? "value-out-of-range"
			                                  : "value-malformed",
			        "\"%.30s\" %s", in[IC_QUANTITY], why);
		else
			row->out[IC_QUANTITY] = keep(row, &used, tmp, strlen(tmp));
	}
	if (in[IC_UNIT] != NULL) {
		row->out[IC_UNIT] = unit_read(in[IC_UNIT]);
		if (row->out[IC_UNIT] == NULL)
			problem(
			    row, IC_UNIT, "value-not-allowed",
			    "\"%.20s\" is not a unit; use one of: L, mL, uL, g, mg, ug, ng, cells, "
			    "pieces",
			    in[IC_UNIT]);
	} else if (in[IC_QUANTITY] != NULL) {
		problem(row, IC_UNIT, "value-missing", "a quantity needs its unit");
	}
	if (in[IC_BOX_GRID] != NULL) {
		const char *g = in[IC_BOX_GRID];
		size_t a = strspn(g, "0123456789"), skip = 0;
		if (a > 0 && (g[a] == 'x' || g[a] == 'X' || g[a] == '*'))
			skip = 1;
		else if (a > 0 && strncmp(g + a, "×", strlen("×")) == 0)
			skip = strlen("×");
		int64_t rows, cols;
		char rs[8];
		if (skip == 0 || a >= sizeof(rs)) {
			problem(row, IC_BOX_GRID, "value-malformed",
			        "must be rows x columns, e.g. 9x9 or 8x12");
		} else {
			memcpy(rs, g, a);
			rs[a] = '\0';
			if (!bb_parse_int64(rs, 1, 26, &rows) ||
			    !bb_parse_int64(g + a + skip, 1, 48, &cols))
				problem(row, IC_BOX_GRID, "value-out-of-range",
				        "must be 1 to 26 rows x 1 to 48 columns");
			else {
				row->out[IO_BOX_ROWS] = keepf(row, &used, "%d", (int)rows);
				row->out[IO_BOX_COLS] = keepf(row, &used, "%d", (int)cols);
			}
		}
		row->out[IC_BOX_GRID] = NULL;
	}
	if (in[IC_POSITION] != NULL) {
		const char *p = in[IC_POSITION];
		const char *rest = p[0] != '\0' && p[1] == '0' && p[2] != '\0' ? p + 2 : p + 1;
		int64_t col;
		char up = (char)toupper((unsigned char)p[0]);
		if (up < 'A' || up > 'Z' || p[0] == '\0' || !bb_parse_int64(rest, 1, 48, &col))
			problem(row, IC_POSITION, "position-invalid",
			        "\"%.10s\" is not a position such as A1 or A01", p);
		else {
			row->out[IO_POS_ROW] = keepf(row, &used, "%d", up - 'A' + 1);
			row->out[IO_POS_COL] = keepf(row, &used, "%d", (int)col);
			row->out[IC_POSITION] = keepf(row, &used, "%c%d", up, (int)col);
		}
		if (in[IC_BOX_BARCODE] == NULL)
			problem(row, IC_POSITION, "value-missing",
			        "a position needs its box_barcode");
	}
	if (in[IC_STATUS] != NULL) {
		row->out[IC_STATUS] = status_read(in[IC_STATUS], tmp, sizeof(tmp));
		if (row->out[IC_STATUS] == NULL)
			problem(row, IC_STATUS, "value-not-allowed",
			        "\"%.30s\" is not a status; use one of: registered, in_storage, "
			        "checked_out, consumed, destroyed, lost",
			        in[IC_STATUS]);
	}
	if (in[IC_FREEZE_THAW] != NULL) {
		int64_t v;
		if (!bb_parse_int64(in[IC_FREEZE_THAW], 0, 1000, &v)) {
			problem(row, IC_FREEZE_THAW, "value-out-of-range",
			        "must be a whole number from 0 to 1000");
			row->out[IC_FREEZE_THAW] = NULL;
		}
	}
	for (int c = 0; c < IC__MAX; c++)
		if (row->out[c] != NULL && !bb_utf8_valid(row->out[c], strlen(row->out[c]))) {
			problem(row, c, "value-malformed",
			        "is not valid text in the file's encoding");
			row->out[c] = NULL;
		}
}

void
bb_imp_copy_field(struct bb_buf *b, const char *s)
{
	if (s == NULL) {
		bb_buf_append(b, "\\N", 2);
		return;
	}
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			bb_buf_append(b, "\\\\", 2);
			break;
		case '\t':
			bb_buf_append(b, "\\t", 2);
			break;
		case '\n':
			bb_buf_append(b, "\\n", 2);
			break;
		case '\r':
			bb_buf_append(b, "\\r", 2);
			break;
		default:
			bb_buf_append(b, s, 1);
		}
	}
}
