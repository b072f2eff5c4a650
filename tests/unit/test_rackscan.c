/*
 * test_rackscan.c — the rack-scan parser against the shared fixtures (as
 * they are, and re-encoded in memory: CRLF, BOM, ';') and against small
 * buffers for every dialect and every rejection. argv[1]: the fixtures folder.
 */
#include "rackscan.h"

#include "../harness.h"

#include <errno.h>
#include <sys/stat.h>

static const struct bb_rs_options sbs96 = { 8, 12, NULL };

/* A fixture of the rack-scans folder, or NULL (said). */
static char *
fixture(const char *dir, const char *name, size_t *len)
{
	char path[4096], *buf;

	snprintf(path, sizeof(path), "%s/rack-scans/%s", dir, name);
	if (bb_read_file(path, &buf, len) != BB_OK)
		tap_diag("cannot read %s: %s", path, strerror(errno));
	return buf;
}

static struct bb_rs_scan *
parse_mem(const char *buf, size_t len, const struct bb_rs_options *opt, const char *name)
{
	struct bb_rs_scan *scan;
	char why[BB_RS_WHY_LEN];
	enum bb_err err = bb_rs_parse(buf, len, opt, &scan, why);

	if (!ok(err == BB_OK && scan != NULL, "%s: parses", name))
		tap_diag("  %s: %s", bb_strerror(err), why);
	return scan;
}

static struct bb_rs_scan *
parse_ok(const char *text, const struct bb_rs_options *opt, const char *name)
{
	return parse_mem(text, strlen(text), opt, name);
}

/* Rejected with BB_EINVAL, the message starting with prefix and holding part. */
static void
rejects_mem(const char *buf, size_t len, const struct bb_rs_options *opt, const char *prefix,
            const char *part, const char *name)
{
	struct bb_rs_scan *scan = (struct bb_rs_scan *)1;
	char why[BB_RS_WHY_LEN];
	enum bb_err err = bb_rs_parse(buf, len, opt, &scan, why);

	if (!ok(err == BB_EINVAL && scan == NULL && strncmp(why, prefix, strlen(prefix)) == 0 &&
	            strstr(why, part) != NULL,
	        "%s: rejected with \"%s...%s\"", name, prefix, part))
		tap_diag("  got %s: \"%s\"", bb_strerror(err), why);
	if (err == BB_OK)
		bb_rs_free(scan);
}

static void
rejects(const char *text, const struct bb_rs_options *opt, const char *prefix, const char *part,
        const char *name)
{
	rejects_mem(text, strlen(text), opt, prefix, part, name);
}

static void
well_is(const struct bb_rs_scan *scan, const char *pos, enum bb_rs_state state, const char *barcode,
        unsigned line)
{
	const struct bb_rs_well *w = scan != NULL ? bb_rs_well_at(scan, pos) : NULL;

	if (!ok(w != NULL, "well %s is listed", pos))
		return;
	is_int(w->state, state, "well %s is %s", pos, bb_rs_state_name(state));
	if (barcode != NULL)
		is_str(w->barcode, barcode, "well %s holds %s", pos, barcode);
	else
		ok(w->barcode == NULL, "well %s has no barcode", pos);
	if (line != 0)
		is_int(w->line, line, "well %s is on line %u", pos, line);
}

static void
counts_are(const struct bb_rs_scan *s, size_t tubes, size_t empty, size_t no_read, const char *name)
{
	if (s == NULL)
		return;
	is_int(s->n_tubes, tubes, "%s: %zu tubes", name, tubes);
	is_int(s->n_empty, empty, "%s: %zu empty", name, empty);
	is_int(s->n_no_read, no_read, "%s: %zu unreadable", name, no_read);
	is_int(s->n_wells, tubes + empty + no_read, "%s: %zu wells", name, tubes + empty + no_read);
}

/* Every LF becomes CRLF; optionally a BOM first and ';' for ','. */
static char *
reencode(const char *in, size_t len, bool bom, bool semicolons, size_t *outlen)
{
	struct bb_buf b = { 0 };

	if (bom)
		bb_buf_puts(&b, "\xEF\xBB\xBF");
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n')
			bb_buf_puts(&b, "\r\n");
		else
			bb_buf_append(&b, semicolons && in[i] == ',' ? ";" : &in[i], 1);
	}
	*outlen = b.len;
	return bb_buf_steal(&b);
}

static void
check_fluidx(const struct bb_rs_scan *s, const char *name)
{
	if (s == NULL)
		return;
	is_str(s->rack_id, "FR00004821", "%s: rack ID", name);
	is_int(s->dialect, BB_RS_FLUIDX, "%s: dialect fluidx", name);
	counts_are(s, 93, 2, 1, name);
	well_is(s, "A1", BB_RS_TUBE, "FD06299901", 4);
	well_is(s, "D6", BB_RS_TUBE, "FD06299942", 45);
	well_is(s, "D7", BB_RS_NO_READ, NULL, 46);
	well_is(s, "H10", BB_RS_TUBE, "FD06299994", 97);
	well_is(s, "H11", BB_RS_EMPTY, NULL, 98);
	well_is(s, "H12", BB_RS_EMPTY, NULL, 99);
	is_str(s->wells[0].pos, "A1", "%s: first well in file order is A1", name);
	is_str(s->wells[95].pos, "H12", "%s: last well is H12", name);
	is_int(s->wells[95].row * 100 + s->wells[95].col, 711, "%s: H12 is row 7, column 11", name);
}

static void
test_fixtures(const char *dir)
{
	size_t len, len2;
	char *fx = fixture(dir, "fluidx-with-header.csv", &len);
	char *hl = fixture(dir, "headerless-with-rack.csv", &len2);
	struct bb_rs_scan *s;

	if (!ok(fx != NULL && hl != NULL, "fixtures are readable"))
		goto out;

	s = parse_mem(fx, len, &sbs96, "fluidx fixture");
	check_fluidx(s, "fluidx fixture");
	bb_rs_free(s);

	s = parse_mem(fx, len, NULL, "fluidx fixture, no geometry");
	check_fluidx(s, "fluidx fixture, no geometry");
	bb_rs_free(s);

	struct bb_rs_options right = { 8, 12, "FR00004821" };
	s = parse_mem(fx, len, &right, "fluidx fixture, expected rack");
	check_fluidx(s, "fluidx fixture, expected rack");
	bb_rs_free(s);

	struct bb_rs_options wrong = { 8, 12, "FR00004822" };
	rejects_mem(fx, len, &wrong, "line 1: ", "not of rack FR00004822",
	            "fluidx fixture, other rack expected");
	struct bb_rs_options narrow = { 8, 11, NULL };
	rejects_mem(fx, len, &narrow, "line 15: ", "A12 is outside the 8x11 rack",
	            "fluidx fixture on an 8x11 rack");
	struct bb_rs_options short_rack = { 7, 12, NULL };
	rejects_mem(fx, len, &short_rack, "line 88: ", "H1 is outside the 7x12 rack",
	            "fluidx fixture on a 7x12 rack");

	/* The same export as Windows tools pass it on. */
	size_t n;
	char *crlf = reencode(fx, len, true, false, &n);
	s = parse_mem(crlf, n, &sbs96, "fluidx fixture, BOM + CRLF");
	check_fluidx(s, "fluidx fixture, BOM + CRLF");
	bb_rs_free(s);
	free(crlf);
	char *semi = reencode(fx, len, false, true, &n);
	s = parse_mem(semi, n, &sbs96, "fluidx fixture, ';' + CRLF");
	check_fluidx(s, "fluidx fixture, ';' + CRLF");
	bb_rs_free(s);
	free(semi);

	/* Cut short: the Tube Count line catches a truncated file. */
	const char *cut = strstr(fx, "FR00004821,H1,");
	rejects_mem(fx, (size_t)(cut - fx), &sbs96, "line 2: ", "Tube Count says 94",
	            "fluidx fixture truncated after G12");

	s = parse_mem(hl, len2, &sbs96, "headerless fixture");
	if (s != NULL) {
		is_str(s->rack_id, "FR00004822", "headerless: rack ID");
		is_int(s->dialect, BB_RS_RACK_WELL_BARCODE, "headerless: dialect %s",
		       bb_rs_dialect_name(s->dialect));
		counts_are(s, 24, 0, 0, "headerless");
		well_is(s, "A1", BB_RS_TUBE, "FD07100001", 1);
		well_is(s, "B12", BB_RS_TUBE, "FD07100024", 24);
		ok(bb_rs_well_at(s, "C1") == NULL, "headerless: C1 is not listed");
	}
	bb_rs_free(s);
	struct bb_rs_options hl_wrong = { 8, 12, "FR00004821" };
	rejects_mem(hl, len2, &hl_wrong, "line 1: ", "scan of rack FR00004822",
	            "headerless fixture, other rack expected");

	/* Two files pasted together name two racks. */
	struct bb_buf both = { 0 };
	bb_buf_append(&both, hl, len2);
	bb_buf_append(&both, fx, len);
	rejects_mem(both.data, both.len, NULL, "line 25: ", "two racks",
	            "headerless + fluidx concatenated");
	bb_buf_free(&both);
out:
	free(fx);
	free(hl);
}

static void
test_dialects(void)
{
	struct bb_rs_scan *s;
	struct bb_rs_options rack = { 8, 12, "RK0001" };

	s = parse_ok("A1,T0001\nA2,NO TUBE\nA3,NO READ\nB1,T0002\n", &rack, "two columns");
	if (s != NULL) {
		is_str(s->rack_id, "RK0001", "two columns: rack from the caller");
		is_int(s->dialect, BB_RS_WELL_BARCODE, "two columns: dialect");
		counts_are(s, 2, 1, 1, "two columns");
		well_is(s, "A2", BB_RS_EMPTY, NULL, 2);
		well_is(s, "A3", BB_RS_NO_READ, NULL, 3);
		well_is(s, "B1", BB_RS_TUBE, "T0002", 4);
	}
	bb_rs_free(s);

	s = parse_ok("Well,Barcode\nA1,T0001\n", NULL, "two columns, no rack anywhere");
	if (s != NULL) {
		ok(s->rack_id == NULL, "two columns: rack ID stays NULL");
		well_is(s, "A1", BB_RS_TUBE, "T0001", 2);
	}
	bb_rs_free(s);

	s = parse_ok("RK7;A01;T1\nRK7;B02;T2\nRK7;h12;T3\n", &sbs96, "';' and zero-padded wells");
	if (s != NULL) {
		is_str(s->rack_id, "RK7", "';': rack ID");
		is_str(s->wells[0].pos, "A1", "A01 reads as A1");
		is_str(s->wells[1].pos, "B2", "B02 reads as B2");
		is_str(s->wells[2].pos, "H12", "h12 reads as H12");
		is_int(s->wells[2].row, 7, "H is row 7");
		is_int(s->wells[2].col, 11, "12 is column 11");
	}
	bb_rs_free(s);

	s = parse_ok("\xEF\xBB\xBFRack ID,RK8,,\r\nTube Count,2,,\r\nRack ID,Well,2D Barcode,\r\n"
	             "RK8,A01,T1,\r\nRK8,A02,NO TUBE,\r\nRK8,A03,NO READ,\r\n",
	             &sbs96, "fluidx with BOM and CRLF");
	if (s != NULL) {
		is_int(s->dialect, BB_RS_FLUIDX, "BOM + CRLF: fluidx");
		is_str(s->rack_id, "RK8", "BOM + CRLF: rack ID has no BOM or CR");
		well_is(s, "A1", BB_RS_TUBE, "T1", 4);
		well_is(s, "A3", BB_RS_NO_READ, NULL, 6);
	}
	bb_rs_free(s);

	s = parse_ok("Rack Base Name: 1034990001\r\nDate: 2024-02-29\r\nTime: 10:22:01\r\n"
	             "A01; 1034998087\r\nA02; No TrakMate\r\nA03; 1034998089\r\nA04; NO READ\r\n",
	             &sbs96, "trakmate");
	if (s != NULL) {
		is_int(s->dialect, BB_RS_TRAKMATE, "trakmate: dialect %s",
		       bb_rs_dialect_name(s->dialect));
		is_str(s->rack_id, "1034990001", "trakmate: rack base name");
		counts_are(s, 2, 1, 1, "trakmate");
		well_is(s, "A1", BB_RS_TUBE, "1034998087", 4);
		well_is(s, "A2", BB_RS_EMPTY, NULL, 5);
		well_is(s, "A4", BB_RS_NO_READ, NULL, 7);
	}
	bb_rs_free(s);

	s = parse_ok(
	    "\n  \"RK9\" , \"A1\" , \"T1\" ,\n\n\t RK9,a2,T2 ,,\n \"RK9\",\"A3\",\"NO TUBE\"\n\n",
	    &sbs96, "quotes, blanks, lowercase, trailing separators");
	if (s != NULL) {
		is_str(s->rack_id, "RK9", "liberal: rack ID unquoted");
		well_is(s, "A1", BB_RS_TUBE, "T1", 2);
		well_is(s, "A2", BB_RS_TUBE, "T2", 4);
		well_is(s, "A3", BB_RS_EMPTY, NULL, 5);
	}
	bb_rs_free(s);

	s = parse_ok("\"R,1\",A1,T1\n", NULL, "separator inside quotes");
	if (s != NULL)
		is_str(s->rack_id, "R,1", "quoted rack ID keeps its comma");
	bb_rs_free(s);

	s = parse_ok("RK1\tA1\tT1\nRK1\tA2\tT2\n", NULL, "tab-separated");
	if (s != NULL)
		well_is(s, "A2", BB_RS_TUBE, "T2", 2);
	bb_rs_free(s);

	s = parse_ok("A1,T1\rA2,T2\r", NULL, "lone CR line ends");
	if (s != NULL)
		well_is(s, "A2", BB_RS_TUBE, "T2", 2);
	bb_rs_free(s);

	s = parse_ok("Well,Rack ID,Barcode\nA1,RK2,T1\n", NULL, "columns in another order");
	if (s != NULL) {
		is_str(s->rack_id, "RK2", "reordered: rack ID");
		well_is(s, "A1", BB_RS_TUBE, "T1", 2);
	}
	bb_rs_free(s);

	struct bb_rs_options r9 = { 9, 9, NULL };
	s = parse_ok("A1,T1\nI9,T2\n", &r9, "9x9 rack corner");
	if (s != NULL)
		well_is(s, "I9", BB_RS_TUBE, "T2", 2);
	bb_rs_free(s);

	s = parse_ok("P24,T1\n", NULL, "P24 without geometry");
	if (s != NULL)
		is_int(s->wells[0].row * 100 + s->wells[0].col, 1523, "P24 is row 15, column 23");
	bb_rs_free(s);

	char code64[65];
	memset(code64, 'X', 64);
	code64[64] = '\0';
	char *text = bb_asprintf("A1,%s\n", code64);
	s = parse_ok(text, NULL, "a 64-character barcode");
	if (s != NULL)
		is_int(strlen(s->wells[0].barcode), 64, "64-character barcode kept whole");
	bb_rs_free(s);
	free(text);

	/* The file names the rack the caller expects: fine. */
	struct bb_rs_options same = { 0, 0, "RK3" };
	s = parse_ok("RK3,A1,T1\n", &same, "expected rack agrees");
	bb_rs_free(s);

	for (int d = 0; d < BB_RS_DIALECT__MAX; d++)
		ok(strcmp(bb_rs_dialect_name((enum bb_rs_dialect)d), "unknown") != 0,
		   "dialect %d has a name (%s)", d, bb_rs_dialect_name((enum bb_rs_dialect)d));
	is_str(bb_rs_dialect_name(BB_RS_DIALECT__MAX), "unknown", "sentinel has no name");
	is_str(bb_rs_state_name(BB_RS_NO_READ), "no-read", "NO_READ's name");
}

static void
test_rejections(void)
{
	struct bb_rs_options r99 = { 9, 9, NULL };
	struct bb_rs_options rack = { 8, 12, "RK1" };

	rejects("RK1,A1,T1\nRK1,A2,T2\nRK2,A3,T3\n", NULL, "line 3: ", "two racks",
	        "two racks in the rows");
	rejects("Rack ID,RK1,,\nRack ID,Well,2D Barcode,\nRK1,A1,T1,\nRK2,A2,T2,\n", NULL,
	        "line 4: ", "RK1 (line 1) and RK2", "row disagrees with the Rack ID line");
	rejects("Rack Base Name: 111\nA01; 1\nRack Base Name: 222\n", NULL, "line 3: ", "two racks",
	        "two Rack Base Name lines");
	rejects("RK2,A1,T1\n", &rack, "line 1: ", "scan of rack RK2, not of rack RK1",
	        "file disagrees with the caller's rack");
	rejects("Rack Base Name: 777\nA01; 1\n", &rack, "line 1: ", "rack 777",
	        "trakmate rack disagrees with the caller's");

	rejects("A1,T1\nA10,T2\n", &r99, "line 2: ", "A10 is outside the 9x9 rack",
	        "column outside a 9x9 rack");
	rejects("A1,T1\nB2,T2\nJ1,T3\n", &r99, "line 3: ", "J1 is outside the 9x9 rack",
	        "row outside a 9x9 rack");
	rejects("A1,T1\nI1,T2\n", &sbs96, "line 2: ", "outside the 8x12 rack",
	        "row I on an SBS 96 rack");
	rejects("A1,T1\nQ1,T2\n", NULL, "line 2: ", "outside the 16x24 rack",
	        "row Q without geometry");
	rejects("A25,T1\n", NULL, "line 1: ", "outside the 16x24 rack", "column 25");
	rejects("A1,T1\nA0,T2\n", NULL, "line 2: ", "outside", "column 0");
	rejects("A1,T1\n1A,T2\n", NULL, "line 2: ", "not a well position", "1A");
	rejects("A1,T1\nA1B,T2\n", NULL, "line 2: ", "not a well position", "A1B");
	/* Found by fuzz_rackscan: a long column number overflowed int while parsing. */
	rejects("K1\tA103499808826\tT4\r", NULL, "line 1: ", "not a well position",
	        "fuzz regression: 12-digit column");
	rejects("A1,T1\nA99999999999999999999,T2\n", NULL, "line 2: ", "not a well position",
	        "a 20-digit column");
	rejects("A1,T1\nA0001,T2\n", NULL, "line 2: ", "not a well position", "four-digit column");

	rejects("A1,T1\nA2,T2\nA01,T3\n", NULL, "line 3: ", "listed twice (also on line 1)",
	        "the same well twice");
	rejects("A1,T1\nA2,NO TUBE\nA2,NO TUBE\n", NULL, "line 3: ", "A2 is listed twice",
	        "the same empty well twice");
	rejects("A1,T1\nA2,T2\nB7,T1\n", NULL, "line 3: ", "tube T1 is listed twice",
	        "the same tube twice");

	static const unsigned char jpeg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J',  'F',
		                              'I',  'F',  0x00, 0x01, 0x01, 0x00, 0x00, 0x01 };
	rejects_mem((const char *)jpeg, sizeof(jpeg), NULL, "line 1: ", "not valid UTF-8",
	            "a JPEG");
	static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0 };
	rejects_mem((const char *)png, sizeof(png), NULL, "line 1: ", "UTF-8", "a PNG");
	rejects("{\"rack\": \"RK1\", \"wells\": [{\"A1\": \"T1\"}]}\n", NULL,
	        "line 1: ", "not a rack-scan export", "JSON");
	rejects("{\n  \"rack\": \"RK1\",\n  \"well\": \"A1\"\n}\n", NULL,
	        "line 1: ", "not a rack-scan export", "pretty JSON");
	rejects("Lorem ipsum dolor sit amet\nconsectetur adipiscing\n", NULL,
	        "line 1: ", "not a rack-scan row", "random text");
	rejects("Dear lab, please find attached\n", NULL, "line 1: ", "not a well position",
	        "random text with a comma");
	rejects("Subject: samples\nFrom: someone\n", NULL, "line 2: ", "without a single well",
	        "mail headers");
	rejects("", NULL, "line 1: ", "empty", "empty file");
	rejects("\n\r\n  \n", NULL, "line 3: ", "without a single well", "blank lines only");
	rejects("Rack ID,RK1,,\nTube Count,0,,\nRack ID,Well,2D Barcode,\n", NULL,
	        "line 3: ", "without a single well", "header without rows");

	rejects("A1,T1\nA2,T2\nA3,T\xC3\x28\n", NULL, "line 3: ", "not valid UTF-8",
	        "invalid UTF-8 on line 3");
	rejects("A1,T1\nA2,T\xED\xA0\x80\n", NULL, "line 2: ", "not valid UTF-8",
	        "a UTF-16 surrogate in UTF-8");
	rejects_mem("A1,T1\nA2,T\0002\n", 13, NULL, "line 2: ", "control character 0x00",
	            "a NUL in a barcode");
	rejects("A1,T1\nA2,T\x1B[2J\n", NULL, "line 2: ", "control character 0x1B",
	        "an escape sequence in a barcode");
	rejects("A1,T1\nA2,T\tX\n", NULL, "line 2: ", "barcode for well A2 contains a control",
	        "a tab inside a barcode");
	rejects("A1,T1\nA2,T\xC2\x85X\n", NULL, "line 2: ", "not printable ASCII",
	        "a C1 control (NEL) in a barcode");
	rejects("A1,T1\nA2,T 2\n", NULL, "line 2: ", "contains a space", "a space in a barcode");

	char code65[66];
	memset(code65, 'X', 65);
	code65[65] = '\0';
	char *text = bb_asprintf("A1,T1\nA2,T2\nA3,%s\n", code65);
	rejects(text, NULL, "line 3: ", "longer than 64", "a 65-character barcode");
	free(text);
	text = bb_asprintf("Rack ID,%s,,\nA1,T1\n", code65);
	rejects(text, NULL, "line 1: ", "rack ID is longer than 64", "a 65-character rack ID");
	free(text);

	rejects("Rack ID,RK1,,\nTube Count,3,,\nRack ID,Well,2D Barcode,\nRK1,A1,T1,\n"
	        "RK1,A2,NO TUBE,\nRK1,A3,NO READ,\n",
	        NULL, "line 2: ", "Tube Count says 3 but the rows list 2", "tube count mismatch");
	rejects("Rack ID,RK1,,\nTube Count,many,,\n", NULL, "line 2: ", "Tube Count must be",
	        "tube count not a number");
	rejects("Rack ID,Well,2D Barcode,\nRK1,A1,,\n", NULL, "line 2: ", "no barcode for well A1",
	        "an empty barcode field");
	rejects("A1,T1\nRK1,A2,T2\n", NULL, "line 2: ", "3 fields where the file has 2",
	        "rows of two shapes");
	rejects("RK1,A1,T1\nA2,T2\n", NULL, "line 2: ", "2 fields where the file has 3",
	        "a short row in a three-column file");
	rejects("A1,\"T1\nA2,T2\n", NULL, "line 1: ", "not closed", "an unclosed quote");
	rejects("A1,T\"1\n", NULL, "line 1: ", "quote inside", "a stray quote");
	rejects("A1,T1\nA2,T2\nWell,Barcode\n", NULL, "line 3: ", "column header after",
	        "a column header after the rows");
	rejects("A1,T1\nNote: rescanned\n", NULL, "line 2: ", "header line after",
	        "a note after the rows");
	rejects("A,B,C,D\n", NULL, "line 1: ", "not a rack-scan row", "four fields");

	/* Limits: size, lines, geometry. */
	size_t big = BB_RS_SIZE_MAX + 1;
	char *huge = bb_malloc(big);
	memset(huge, '\n', big);
	rejects_mem(huge, big, NULL, "the file is larger", "", "more than 1 MiB");
	rejects_mem(huge, BB_RS_LINES_MAX + 10, NULL, "line 2049: ", "more than 2048 lines",
	            "more than 2048 lines");
	free(huge);
	char longline[BB_RS_LINE_MAX + 8];
	memset(longline, ' ', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	longline[0] = 'A';
	rejects(longline, NULL, "line 1: ", "longer than 1024 bytes", "a 1031-byte line");
	struct bb_rs_options bad = { 17, 12, NULL };
	rejects("A1,T1\n", &bad, "a rack has", "", "17 rows");
	struct bb_rs_options half = { 8, 0, NULL };
	rejects("A1,T1\n", &half, "a rack has", "", "rows without columns");
	struct bb_rs_options badrack = { 0, 0, "RK\x01" };
	rejects("A1,T1\n", &badrack, "the expected rack ID", "control", "a bad expected rack");
}

/*
 * Nothing is dropped silently (DESIGN.md, invariant 8): what scanners and
 * people really send, each line accounted for.
 */
static void
test_nothing_dropped(const char *dir)
{
	static const char *const fixtures[] = { "fluidx-with-header.csv",
		                                "headerless-with-rack.csv" };
	struct bb_rs_scan *s;

	/* The fixtures: every non-blank line is a well or a header line. */
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		size_t len, lines = 0;
		char *buf = fixture(dir, fixtures[i], &len);

		if (!ok(buf != NULL, "%s is readable", fixtures[i]))
			continue;
		for (char *line = strtok(buf, "\r\n"); line != NULL; line = strtok(NULL, "\r\n"))
			lines += line[strspn(line, " \t,;\"")] != '\0';
		free(buf);
		buf = fixture(dir, fixtures[i], &len);
		s = parse_mem(buf, len, NULL, fixtures[i]);
		if (s != NULL)
			is_int(s->n_wells + s->n_header_lines, lines,
			       "%s: wells and header lines are its %zu non-blank lines",
			       fixtures[i], lines);
		bb_rs_free(s);
		free(buf);
	}

	/* A TAB-separated scan whose barcode holds a colon: the first row once
	 * read as a "Key: value" header and vanished, the file still accepted. */
	s = parse_ok("A1\tAB:12\nA2\tXY34\n", &sbs96, "TAB-separated, a colon in a barcode");
	if (s != NULL) {
		counts_are(s, 2, 0, 0, "TAB-separated");
		well_is(s, "A1", BB_RS_TUBE, "AB:12", 1);
		well_is(s, "A2", BB_RS_TUBE, "XY34", 2);
		is_int(s->n_header_lines, 0, "TAB-separated: no header lines");
	}
	bb_rs_free(s);

	/* A Matrix/TrakMate text export opens with its trace time, "Key = value". */
	s = parse_ok("Date & time of Trace = 14/03/2026 10:23:45\r\n"
	             "Rack Base Name: 1034990001\r\n"
	             "A01; 1034998087\r\nA02; No TrakMate\r\nA03; 1034998089\r\n",
	             &sbs96, "TrakMate export with its trace-time line");
	if (s != NULL) {
		is_int(s->dialect, BB_RS_TRAKMATE, "  read as TrakMate");
		is_str(s->rack_id, "1034990001", "  the rack base name");
		counts_are(s, 2, 1, 0, "TrakMate with trace time");
		is_int(s->n_header_lines, 2, "  two header lines");
	}
	bb_rs_free(s);

	/* Other "Key: value" lines a scanner writes before its rows are headers. */
	s = parse_ok("Operator: M. Dupont\nScanner = VisionMate SR #2\nA1,FD001\nA2,NO TUBE\n",
	             &sbs96, "operator and scanner lines before the rows");
	if (s != NULL) {
		counts_are(s, 1, 1, 0, "operator lines");
		is_int(s->n_header_lines, 2, "  counted as two header lines");
	}
	bb_rs_free(s);

	/* A spreadsheet's empty rows are blank lines, not rows. */
	s = parse_ok("A1,FD001\n,,\n ; \nA2,FD002\n", &sbs96, "empty spreadsheet rows");
	if (s != NULL)
		counts_are(s, 2, 0, 0, "empty spreadsheet rows");
	bb_rs_free(s);

	/* What is neither a row, a header nor blank is an error naming its line. */
	rejects("A1,FD001\nA2\tFD002\n", &sbs96, "line 2: ", "", "a row with another separator");
	rejects("Operator: M. Dupont\nA1,FD001\nChecked by: J. Li\n", &sbs96,
	        "line 3: ", "header line after the first row", "a header line after the rows");
	rejects("A1\tAB:12\nA2\n", &sbs96, "line 2: ", "", "a TAB file's row without a barcode");
}

int
main(int argc, char **argv)
{
	struct stat st;

	if (argc < 2 || stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode))
		tap_bail("the shared fixtures folder (../shared/fixtures) is absent");
	test_fixtures(argv[1]);
	test_dialects();
	test_rejections();
	test_nothing_dropped(argv[1]);
	return tap_done();
}
