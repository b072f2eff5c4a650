/*
 * fuzz_rackscan.c — libFuzzer target for bb_rs_parse(). Besides crashes it
 * checks what a caller relies on: counts add up, positions are normalized
 * and unique, barcodes are short printable codes, nothing is dropped (wells
 * plus header lines are the non-blank lines, counted here independently),
 * and giving geometry and an expected rack only ever turns an accepted file
 * into a rejected one.
 */
#include "fuzz.h"
#include "rackscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
check(const struct bb_rs_scan *s, int rows, int cols)
{
	bool seen[BB_RS_ROWS_MAX][BB_RS_COLS_MAX] = { { false } };
	size_t tubes = 0, empty = 0, no_read = 0;

	require((unsigned)s->dialect < BB_RS_DIALECT__MAX);
	require(s->n_wells > 0 && s->n_wells <= (size_t)(rows * cols));
	for (size_t i = 0; i < s->n_wells; i++) {
		const struct bb_rs_well *w = &s->wells[i];
		char pos[8];

		require(w->row >= 0 && w->row < rows && w->col >= 0 && w->col < cols);
		require(!seen[w->row][w->col]);
		seen[w->row][w->col] = true;
		snprintf(pos, sizeof(pos), "%c%d", 'A' + w->row, w->col + 1);
		require(strcmp(pos, w->pos) == 0);
		require(bb_rs_well_at(s, w->pos) == w);
		require(w->line >= 1 && w->line <= BB_RS_LINES_MAX);
		switch (w->state) {
		case BB_RS_TUBE: {
			tubes++;
			require(w->barcode != NULL);
			size_t n = strlen(w->barcode);
			require(n >= 1 && n <= BB_RS_CODE_MAX);
			for (size_t k = 0; k < n; k++)
				require(w->barcode[k] > 0x20 && w->barcode[k] < 0x7F);
			for (size_t j = 0; j < i; j++)
				require(s->wells[j].barcode == NULL ||
				        strcmp(s->wells[j].barcode, w->barcode) != 0);
			break;
		}
		case BB_RS_EMPTY:
			empty++;
			require(w->barcode == NULL);
			break;
		case BB_RS_NO_READ:
			no_read++;
			require(w->barcode == NULL);
			break;
		default:
			require(!"a well state out of range");
		}
	}
	require(tubes == s->n_tubes && empty == s->n_empty && no_read == s->n_no_read);
	if (s->rack_id != NULL)
		require(strlen(s->rack_id) >= 1 && strlen(s->rack_id) <= BB_RS_CODE_MAX);
}

/* Lines ended by LF, CRLF or CR that hold more than blanks, separators and quotes. */
static size_t
non_blank_lines(const uint8_t *data, size_t size)
{
	size_t n = 0, i = 0;

	if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < size) {
		bool blank = true;

		for (; i < size && data[i] != '\n' && data[i] != '\r'; i++)
			if (strchr(" \t,;\"", data[i]) == NULL || data[i] == '\0')
				blank = false;
		n += !blank;
		if (i < size && data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
			i++;
		i++;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bb_rs_options sbs = { 8, 12, "FR00004821" };
	struct bb_rs_scan *any, *narrow;
	char why[BB_RS_WHY_LEN];

	enum bb_err e1 = bb_rs_parse(data, size, NULL, &any, why);
	require(e1 == BB_OK || e1 == BB_EINVAL);
	require(e1 == BB_OK ? any != NULL : (any == NULL && why[0] != '\0'));
	if (e1 == BB_OK) {
		check(any, BB_RS_ROWS_MAX, BB_RS_COLS_MAX);
		require(any->n_wells + any->n_header_lines == non_blank_lines(data, size));
	}

	enum bb_err e2 = bb_rs_parse(data, size, &sbs, &narrow, why);
	require(e2 == BB_OK || e2 == BB_EINVAL);
	if (e2 == BB_OK) {
		require(e1 == BB_OK);
		check(narrow, 8, 12);
		require(narrow->n_wells == any->n_wells && narrow->dialect == any->dialect);
		require(narrow->rack_id != NULL && strcmp(narrow->rack_id, "FR00004821") == 0);
	}
	bb_rs_free(any);
	bb_rs_free(narrow);
	return 0;
}
