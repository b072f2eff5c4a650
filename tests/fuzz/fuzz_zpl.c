/*
 * fuzz_zpl.c — libFuzzer target for the ZPL renderer's text escaping
 * (labelgen/render_zpl.c). The input picks a roll template and resolution
 * and gives a label's fields, '\n' between them; whatever they hold, the
 * ZPL that comes out must be commands only where we put them:
 *   - no '~' anywhere (a tilde command would run on the printer);
 *   - every '^' starts one of the commands the renderer writes;
 *   - the data of each ^FH_ text field is printable text where '_' starts
 *     exactly two hex digits, and decoded it is one of the label's texts,
 *     or a shortened start of one followed by "...";
 *   - a line the printer's font cannot print is a ^GFA graphic (hex digits
 *     and ZPL's compression characters only) followed by a ^FX comment
 *     holding its text, with ^ and ~ made '?';
 *   - the barcodes' ^FD carry the ID unchanged;
 *   - one ^XA ... ^XZ per label; a refused label leaves no output.
 */
#include "fuzz.h"
#include "label.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FIELDS_MAX = 1 + 4 + LBL_LINES_MAX };

static const char *const commands[] = { "XA", "CI", "PW", "LL", "LH", "FW", "FO", "BX", "FD", "FS",
	                                "BY", "BC", "A0", "FH", "PQ", "XZ", "GF", "FX", NULL };

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The texts a line may show: the ID, the lines given, or the fields joined
 * as the layout joins them. */
static size_t
candidates(const struct lbl_data *d, char out[][LBL_TEXT_MAX * 2 + 8], size_t max)
{
	size_t n = 0;

	snprintf(out[n++], sizeof(out[0]), "%s", d->id);
	if (d->nlines > 0) {
		for (size_t i = 0; i < d->nlines && n < max; i++)
			snprintf(out[n++], sizeof(out[0]), "%s", d->lines[i]);
		return n;
	}
	const char *single[] = { d->participant, d->collected, d->type, d->timepoint };
	for (size_t i = 0; i < 4; i++)
		if (single[i] && single[i][0])
			snprintf(out[n++], sizeof(out[0]), "%s", single[i]);
	if (d->type && d->type[0] && d->timepoint && d->timepoint[0])
		snprintf(out[n++], sizeof(out[0]), "%s \xC2\xB7 %s", d->type, d->timepoint);
	return n;
}

/* Decoded text equals a candidate, or is a start of one (trailing spaces
 * dropped) followed by the ellipsis. */
static int
text_allowed(const char *text, char cand[][LBL_TEXT_MAX * 2 + 8], size_t ncand)
{
	size_t len = strlen(text);

	for (size_t i = 0; i < ncand; i++) {
		if (strcmp(text, cand[i]) == 0)
			return 1;
		if (len >= 3 && strcmp(text + len - 3, "...") == 0 &&
		    strncmp(text, cand[i], len - 3) == 0)
			return 1;
	}
	return 0;
}

/* A ^GFA graphic's data up to its ^FS: three numbers, then hex digits, runs
 * (G-Y, g-z), ':' (row as the last) and ',' (rest of the row zero). */
static void
check_graphic(const char *p)
{
	const char *e = strstr(p, "^FS");

	require(strncmp(p, "^GFA,", 5) == 0 && e != NULL);
	for (const char *s = p + 5; s < e; s++)
		require((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= 'g' && *s <= 'z') || *s == ',' || *s == ':');
}

/* The ^FX after a graphic: "^FXx,y,size " and the line's text, ^ and ~ as '?'. */
static void
check_comment(const char *p, char cand[][LBL_TEXT_MAX * 2 + 8], size_t ncand)
{
	char masked[FIELDS_MAX + 2][LBL_TEXT_MAX * 2 + 8], text[LBL_TEXT_MAX * 2 + 16];
	const char *s = strchr(p, ' '), *e = strchr(p, '\n');

	require(s != NULL && e != NULL && s < e && (size_t)(e - s - 1) < sizeof(text));
	memcpy(text, s + 1, (size_t)(e - s - 1));
	text[e - s - 1] = '\0';
	for (size_t i = 0; i < ncand; i++) {
		snprintf(masked[i], sizeof(masked[i]), "%s", cand[i]);
		for (char *c = masked[i]; *c; c++)
			if (*c == '^' || *c == '~')
				*c = '?';
	}
	require(text_allowed(text, masked, ncand));
}

static void
check_zpl(const char *z, size_t len, const struct lbl_data *d)
{
	char cand[FIELDS_MAX + 2][LBL_TEXT_MAX * 2 + 8], text[LBL_TEXT_MAX * 2 + 16];
	size_t ncand = candidates(d, cand, FIELDS_MAX + 2);
	int starts = 0, ends = 0;
	bool hex_next = false;

	require(strlen(z) == len);
	require(strchr(z, '~') == NULL);
	for (const char *p = strchr(z, '^'); p != NULL; p = strchr(p + 1, '^')) {
		bool known = false;

		for (size_t i = 0; commands[i] && !known; i++)
			known = strncmp(p + 1, commands[i], 2) == 0;
		require(known);
		starts += strncmp(p, "^XA", 3) == 0;
		ends += strncmp(p, "^XZ", 3) == 0;
		if (strncmp(p, "^GF", 3) == 0) {
			check_graphic(p);
			continue;
		}
		if (strncmp(p, "^FX", 3) == 0) {
			check_comment(p, cand, ncand);
			continue;
		}
		if (strncmp(p, "^FH_", 4) == 0) {
			hex_next = true;
			continue;
		}
		if (strncmp(p, "^FD", 3) != 0)
			continue;
		const char *s = p + 3, *e = strstr(s, "^FS");
		require(e != NULL);
		if (!hex_next) {
			/* A barcode: the ID as it is (Code 128 after its >: start). */
			if (strncmp(s, ">:", 2) == 0)
				s += 2;
			require((size_t)(e - s) == strlen(d->id) &&
			        strncmp(s, d->id, (size_t)(e - s)) == 0);
			continue;
		}
		hex_next = false;
		size_t o = 0;
		for (; s < e; s++) {
			unsigned char c = (unsigned char)*s;

			require(c >= 0x20 && c != 0x7F && c != '^' && c != '~');
			if (c == '_') {
				int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

				require(hi >= 0 && lo >= 0);
				c = (unsigned char)(hi * 16 + lo);
				require(c == '^' || c == '~' || c == '_');
				s += 2;
			}
			require(o + 1 < sizeof(text));
			text[o++] = (char)c;
		}
		text[o] = '\0';
		require(text_allowed(text, cand, ncand));
	}
	require(starts == 1 && ends == 1);
	require(strncmp(z, "^XA", 3) == 0 && len >= 4 && strcmp(z + len - 4, "^XZ\n") == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tpls[] = { "cryo-1.28x0.5in", "cryo-1x0.5in", "box-2x1in" };
	static const int dpis[] = { 203, 300, 600 };
	const char *field[FIELDS_MAX] = { 0 };
	size_t nfield = 0;

	if (size < 2 || size > 4096)
		return 0;
	char *s = malloc(size - 1);
	if (s == NULL)
		return 0;
	memcpy(s, data + 2, size - 2);
	s[size - 2] = '\0';
	/* Fields split at '\n'; a NUL inside ends the last one early, as in C. */
	for (char *p = s; nfield < FIELDS_MAX; p++) {
		field[nfield++] = p;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		*p = '\0';
	}

	struct lbl_job job = {
		.tpl = lbl_template_find(tpls[data[0] % 3]),
		.dpi = dpis[(data[0] / 3) % 3],
		.copies = 1 + data[1] % 3,
		.format = LBL_FMT_ZPL,
	};
	struct lbl_data d = { .id = field[0] };
	bool explicit_lines = data[0] & 0x80;
	if (explicit_lines) {
		d.lines = nfield > 1 ? &field[1] : NULL;
		d.nlines = nfield > 1 ? nfield - 1 : 0;
	} else {
		d.type = nfield > 1 ? field[1] : NULL;
		d.participant = nfield > 2 ? field[2] : NULL;
		d.timepoint = nfield > 3 ? field[3] : NULL;
		d.collected = nfield > 4 ? field[4] : NULL;
	}
	require(job.tpl != NULL);

	struct bb_buf out = { 0 };
	char why[LBL_WHY_MAX];
	enum bb_err err = lbl_render(&job, &d, 1, &out, why);
	if (err == BB_OK) {
		require(out.data != NULL);
		check_zpl(out.data, out.len, &d);
		char pq[16];
		snprintf(pq, sizeof(pq), "^PQ%d\n", job.copies);
		require(strstr(out.data, pq) != NULL);
	} else {
		require(out.len == 0);
		require(why[0] != '\0');
	}
	bb_buf_free(&out);
	free(s);
	return 0;
}
