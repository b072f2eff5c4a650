/*
 * csv.c — CSV answers (RFC 4180): Accept negotiation, field quoting with
 * formula neutralising, and rows of a libpq result written as CSV lines.
 */
#include "http/csv.h"

#include "http/reply.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
accept_wanted(struct srv_req *r, const char *type)
{
	size_t tlen = strlen(type);
	const char *accept = req_header(r, MHD_HTTP_HEADER_ACCEPT);

	while (accept != NULL && *accept != '\0') {
		size_t len = strcspn(accept, ",");
		const char *p = accept;

		while (*p == ' ' || *p == '\t')
			p++;
		if (p < accept + len && (size_t)(accept + len - p) >= tlen &&
		    strncasecmp(p, type, tlen) == 0 &&
		    (p[tlen] == ',' || p[tlen] == ';' || p[tlen] == ' ' || p[tlen] == '\0')) {
			/* A parameter q=0 (or 0.0...) refuses the type. */
			const char *q = p + tlen;
			bool refused = false;

			while (q < accept + len) {
				q += strspn(q, "; \t");
				if (strncasecmp(q, "q=", 2) == 0) {
					double v = strtod(q + 2, NULL);
					refused = v <= 0;
				}
				q += strcspn(q, ";,");
			}
			if (!refused)
				return true;
		}
		accept += len;
		if (*accept == ',')
			accept++;
	}
	return false;
}

bool
csv_wanted(struct srv_req *r)
{
	return accept_wanted(r, "text/csv");
}

/* -12, +3.5: a spreadsheet reads these as numbers, never as formulas. */
static bool
plain_number(const char *s)
{
	s += *s == '-' || *s == '+';
	if (*s < '0' || *s > '9')
		return false;
	s += strspn(s, "0123456789");
	if (*s == '.' && s[1] >= '0' && s[1] <= '9')
		s += 1 + strspn(s + 1, "0123456789");
	return *s == '\0';
}

/*
 * A cell that Excel or LibreOffice would run as a formula: one that starts
 * with = + - @, TAB or CR (OWASP, "CSV injection"), unless it is a plain
 * number. Such text came from a person (a note, a name, a barcode).
 */
static bool
formula_like(const char *s)
{
	return strchr("=+-@\t\r", *s) != NULL && !plain_number(s);
}

void
csv_field(struct bb_buf *b, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	bool formula = formula_like(s);
	if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
		bb_buf_puts(b, s);
		return;
	}
	bb_buf_append(b, "\"", 1);
	/* The apostrophe makes the spreadsheet show the text as text; it stays visible. */
	if (formula)
		bb_buf_append(b, "'", 1);
	for (const char *p = s; *p != '\0';) {
		size_t n = strcspn(p, "\"");

		bb_buf_append(b, p, n);
		p += n;
		if (*p == '"') {
			bb_buf_append(b, "\"\"", 2);
			p++;
		}
	}
	bb_buf_append(b, "\"", 1);
}

void
csv_header(struct bb_buf *b, const PGresult *res, int first)
{
	for (int c = first; c < PQnfields(res); c++) {
		if (c > first)
			bb_buf_append(b, ",", 1);
		csv_field(b, PQfname(res, c));
	}
	bb_buf_append(b, "\r\n", 2);
}

void
csv_rows(struct bb_buf *b, const PGresult *res, int first)
{
	int nf = PQnfields(res);

	for (int row = 0; row < PQntuples(res); row++) {
		for (int c = first; c < nf; c++) {
			if (c > first)
				bb_buf_append(b, ",", 1);
			if (!PQgetisnull(res, row, c))
				csv_field(b, PQgetvalue(res, row, c));
		}
		bb_buf_append(b, "\r\n", 2);
	}
}

void
reply_attachment(struct srv_req *r, const char *type, const char *filename, struct bb_buf *body)
{
	size_t len = body->len;

	reply_header(r, "Content-Disposition",
	             bb_arena_printf(&r->arena, "attachment; filename=\"%s\"", filename));
	reply_raw(r, 200, type, bb_buf_steal(body), len);
}

void
reply_csv_rows(struct srv_req *r, const char *stmt, int nparams, const char *const *params,
               const char *filename)
{
	struct db_conn *db = req_db(r);
	PGresult *res = NULL;
	struct bb_buf b = { 0 };

	if (db == NULL)
		return;
	enum bb_err err = db_exec(db, stmt, nparams, params, &res);
	if (err != BB_OK) {
		PQclear(res);
		reply_db_error(r, err);
		return;
	}
	csv_header(&b, res, 0);
	csv_rows(&b, res, 0);
	PQclear(res);
	reply_attachment(r, CSV_MEDIA_TYPE, filename, &b);
}
