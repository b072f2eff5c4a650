/*
 * test_import.c — an inventory file's bytes, records and fields
 * (lib/import.c): the scan (SHA-256, UTF-8, NUL, separator), records in
 * every dialect spreadsheets write, windows-1252 converted, headers and
 * aliases, and each field's rules (dates day-first or not, decimal commas,
 * positions, grids, statuses, units).
 */
#include "inventory.h"

#include "../harness.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static FILE *
mem(const char *s, size_t n)
{
	FILE *f = tmpfile();

	fwrite(s, 1, n, f);
	rewind(f);
	return f;
}

/* All records of s joined as "a|b|c\n", in encoding. */
static char *
records(const char *s, size_t n, const char *encoding, char sep, int *rc)
{
	FILE *f = mem(s, n);
	struct bb_imp_reader *rd;
	struct bb_buf out = { 0 };
	const char *const *fields;
	size_t nf;
	long line;
	const char *why;

	bb_imp_reader_open(f, encoding, sep, &rd);
	while ((*rc = bb_imp_next(rd, &fields, &nf, &line, &why)) == 1) {
		for (size_t i = 0; i < nf; i++)
			bb_buf_printf(&out, "%s%s", i ? "|" : "", fields[i]);
		bb_buf_puts(&out, "\n");
	}
	if (*rc < 0)
		bb_buf_printf(&out, "ERROR line %ld: %s", line, why);
	bb_imp_reader_free(rd);
	fclose(f);
	return out.data ? bb_buf_steal(&out) : bb_strdup("");
}

static void
test_scan(void)
{
	struct bb_imp_scan sc;
	unsigned char want[32];
	static const char bom[] = "\xEF\xBB\xBFkey;study\r\nR1;MASC\r\n";
	FILE *f = mem(bom, sizeof(bom) - 1);

	bb_imp_scan(f, &sc);
	crypto_hash_sha256(want, (const unsigned char *)bom, sizeof(bom) - 1);
	ok(memcmp(sc.sha256, want, 32) == 0, "scan: the SHA-256 of the bytes as sent");
	ok(sc.bom && sc.bad_utf8_line == 0 && sc.separator == ';', "scan: BOM, UTF-8, ';'");
	fclose(f);
	static const char cp[] = "a,b\nH\xF4pital,x\n";
	f = mem(cp, sizeof(cp) - 1);
	bb_imp_scan(f, &sc);
	is_int(sc.bad_utf8_line, 2, "scan: windows-1252 is not UTF-8 from line 2");
	fclose(f);
	static const char tab[] = "a\tb\t\"x,y,z\"\n";
	f = mem(tab, sizeof(tab) - 1);
	bb_imp_scan(f, &sc);
	ok(sc.separator == '\t', "scan: TAB wins over commas inside quotes");
	fclose(f);
	static const char nul[] = "a,b\nc,d\ne\0f\n";
	f = mem(nul, sizeof(nul) - 1);
	bb_imp_scan(f, &sc);
	is_int(sc.nul_line, 3, "scan: the NUL byte's line");
	fclose(f);
	static const char cut[] = "a,b\n\xC3";
	f = mem(cut, sizeof(cut) - 1);
	bb_imp_scan(f, &sc);
	is_int(sc.bad_utf8_line, 2, "scan: a character cut at the end is not UTF-8");
	fclose(f);
}

static void
test_records(void)
{
	int rc;
	char *r;
	static const char q[] = "a,\"b,\"\"c\"\"\r\nd\",e\r\n\r\nf,,\n";

	r = records(q, sizeof(q) - 1, "UTF-8", ',', &rc);
	is_str(r, "a|b,\"c\"\r\nd|e\n\nf||\n",
	       "records: quotes with the separator, doubled quotes and CRLF inside; an empty line");
	free(r);
	static const char bom[] = "\xEF\xBB\xBFk;s\nR1;M\n";
	r = records(bom, sizeof(bom) - 1, "UTF-8", ';', &rc);
	is_str(r, "k|s\nR1|M\n", "records: the BOM is not part of the first name");
	free(r);
	static const char cp[] = "k;n\r\nR1;H\xF4pital \x80 \x9C\r\n";
	r = records(cp, sizeof(cp) - 1, "windows-1252", ';', &rc);
	is_str(r, "k|n\nR1|Hôpital € œ\n", "records: windows-1252 converted (ô, €, œ)");
	free(r);
	static const char open[] = "a,\"b\nc\n";
	r = records(open, sizeof(open) - 1, "UTF-8", ',', &rc);
	ok(rc < 0 && strstr(r, "ERROR line 1: a quoted field is not closed"),
	   "records: an unclosed quote is refused naming its line");
	free(r);
	struct bb_buf wide = { 0 };
	for (int i = 0; i < 100; i++)
		bb_buf_puts(&wide, "x,");
	r = records(wide.data, wide.len, "UTF-8", ',', &rc);
	ok(rc < 0 && strstr(r, "more than 64 columns"), "records: 100 columns are refused");
	free(r);
	bb_buf_free(&wide);
	char *big = malloc(70000);
	memset(big, 'x', 69999);
	big[69999] = '\n';
	r = records(big, 70000, "UTF-8", ',', &rc);
	ok(rc < 0 && strstr(r, "longer than 65536"), "records: a 70 KB record is refused");
	free(r);
	free(big);
}

static void
read_row(const char *header, const char *line, const struct bb_imp_opts *o, struct bb_imp_row *row)
{
	char *h = bb_strdup(header), *l = bb_strdup(line);
	const char *hf[BB_IMP_COLUMNS_MAX], *lf[BB_IMP_COLUMNS_MAX];
	size_t nh = 0, nl = 0;
	int map[BB_IMP_COLUMNS_MAX];

	for (char *p = h, *s; (s = strsep(&p, "|")) != NULL;)
		hf[nh++] = s;
	for (char *p = l, *s; (s = strsep(&p, "|")) != NULL;)
		lf[nl++] = s;
	row->nproblems = 0;
	bb_imp_header(hf, nh, map, row);
	for (size_t i = nh; i < BB_IMP_COLUMNS_MAX; i++)
		map[i] = -1;
	if (row->nproblems == 0) /* as import_run: a bad header stops before the rows */
		bb_imp_row_read(map, lf, nl, o, row);
	free(h);
	free(l);
}

static const char *
problem_at(const struct bb_imp_row *row, int col)
{
	for (size_t i = 0; i < row->nproblems; i++)
		if (row->problems[i].col == col)
			return row->problems[i].code;
	return NULL;
}

static void
test_fields(void)
{
	struct bb_imp_opts iso, fr;
	struct bb_imp_row *row = malloc(sizeof(*row));
	const char *bad = NULL;
	const char *head = "Study|Participant|Type|Visit|Collected|Quantity|Unit|Well|Box|Grid|"
	                   "Status|Legacy ID";

	bb_imp_opts_read(&iso, NULL, NULL, NULL, &bad);
	iso.this_year = 2026;
	ok(bb_imp_opts_read(&fr, NULL, NULL, "fr-FR", &bad) && fr.dates == BB_IMP_DATES_DMY &&
	       fr.decimal_comma,
	   "options: fr-FR is day-first with commas");
	fr.this_year = 2026;
	ok(!bb_imp_opts_read(&(struct bb_imp_opts){ 0 }, "yyyy/dd/mm", NULL, NULL, &bad) &&
	       strcmp(bad, "date_format") == 0,
	   "options: an unknown date_format is named");

	read_row(head,
	         "masc|P-1|Serum|M0|2016-03-14T08:40:00+01:00|0.5|ml|a01|B1|9x9|in storage|L1",
	         &iso, row);
	is_int(row->nproblems, 0, "fields: aliases and a clean ISO row");
	is_str(row->out[IC_STUDY], "MASC", "fields: study in upper case");
	is_str(row->out[IC_TYPE], "serum", "fields: type in lower case");
	is_str(row->out[IC_COLLECTED_AT], "2016-03-14 08:40:00+01:00",
	       "fields: ISO time kept with its offset");
	is_str(row->out[IC_UNIT], "mL", "fields: unit spelt mL");
	is_str(row->out[IC_POSITION], "A1", "fields: A01 is A1");
	ok(row->out[IO_POS_ROW] && strcmp(row->out[IO_POS_ROW], "1") == 0 &&
	       row->out[IO_BOX_COLS] && strcmp(row->out[IO_BOX_COLS], "9") == 0,
	   "fields: position and grid as numbers");
	is_str(row->out[IC_STATUS], "in_storage", "fields: 'in storage' is in_storage");
	is_str(row->out[IC_LEGACY_ID], "L1", "fields: 'Legacy ID' is legacy_id");

	read_row(head, "MASC|P-1|serum|M0|14/03/2016 08:40|0.45|mL|A1|B1|9x9||", &iso, row);
	ok(problem_at(row, IC_COLLECTED_AT) != NULL,
	   "fields: a day-first date without date_format is a problem, never guessed");
	read_row(head, "MASC|P-1|serum|M0|14/03/2016 08:40|0,45|mL|A1|B1|9x9||", &fr, row);
	is_str(row->out[IC_COLLECTED_AT], "2016-03-14 08:40:00", "fields: fr-FR reads 14/03/2016");
	is_str(row->out[IC_QUANTITY], "0.45", "fields: 0,45 is 0.45 under fr-FR");
	read_row("Study|Participant|Type|Visit|Collected|Quantity|Unit",
	         "MASC|P-1|serum|M0|2016-01-01|0.5|mL", &fr, row);
	ok(problem_at(row, IC_QUANTITY) != NULL,
	   "fields: a decimal point under decimal=comma is a problem");
	read_row(head, "MASC|P-1|serum|M0|31/02/2020|-1|cups|J1|B1|27x9|lost in space|", &fr, row);
	ok(problem_at(row, IC_COLLECTED_AT) && problem_at(row, IC_QUANTITY) &&
	       problem_at(row, IC_UNIT) && problem_at(row, IC_BOX_GRID) &&
	       problem_at(row, IC_STATUS),
	   "fields: 31 February, -1, cups, 27 rows and 'lost in space' each named");
	is_str(problem_at(row, IC_QUANTITY), "value-out-of-range", "fields: -1 is out of range");
	read_row(head, "MASC|P-1|serum|M0|2020-02-29T24:00:00Z|||A49||9x9||", &iso, row);
	ok(problem_at(row, IC_COLLECTED_AT) && problem_at(row, IC_POSITION),
	   "fields: hour 24 and column 49 are problems; a position without a box too");
	read_row("Study|Participant|Type|Visit|Collected|Colour", "MASC|P|serum|M0|2020-01-01|red",
	         &iso, row);
	is_str(problem_at(row, -1), "unknown-column", "header: an unknown column is named");
	read_row("Study|Type|Visit|Collected", "MASC|serum|M0|2020-01-01", &iso, row);
	is_str(problem_at(row, IC_PARTICIPANT), "column-missing",
	       "header: a required column missing");
	free(row);

	struct bb_buf b = { 0 };
	bb_imp_copy_field(&b, "a\tb\\c\nd");
	bb_buf_puts(&b, "|");
	bb_imp_copy_field(&b, NULL);
	is_str(b.data, "a\\tb\\\\c\\nd|\\N",
	       "COPY: tab, backslash and newline escaped, NULL as \\N");
	bb_buf_free(&b);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_scan();
	test_records();
	test_fields();
	return tap_done();
}
