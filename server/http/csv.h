/*
 * csv.h — CSV answers (RFC 4180): content negotiation, field quoting, rows
 * of a libpq result written as CSV lines, and a statement's rows as a file.
 */
#ifndef SRV_CSV_H
#define SRV_CSV_H

#include "http/server.h"

#define CSV_MEDIA_TYPE "text/csv; charset=utf-8"

/* True when the request's Accept header lists text/csv (with a q above 0). */
bool csv_wanted(struct srv_req *r);
/* The same for any media type, e.g. "application/pdf". */
bool accept_wanted(struct srv_req *r, const char *type);

/*
 * Append one field, quoted when it holds a comma, quote, CR or LF (quotes
 * doubled). A field a spreadsheet would run as a formula (it starts with
 * = + - @, TAB or CR and is not a plain number such as -12) is written
 * quoted with an apostrophe first: "'=HYPERLINK(...)" (docs/api.md, CSV).
 */
void csv_field(struct bb_buf *b, const char *s);

/* Append the header line: the result's column names from column first on. */
void csv_header(struct bb_buf *b, const PGresult *res, int first);

/* Append every row of res as a CRLF-terminated line, columns first onwards; NULL is empty. */
void csv_rows(struct bb_buf *b, const PGresult *res, int first);

/* Answer 200 with body (its data taken) as a download named filename, of media type type. */
void reply_attachment(struct srv_req *r, const char *type, const char *filename,
                      struct bb_buf *body);

/*
 * Run the prepared statement stmt (one that only reads) on the request's
 * connection and answer its rows as a CSV download named filename, of any
 * size: the rows are taken one at a time and written to an unnamed file in
 * the temporary directory (http/tmpdir.h), which is then sent. A problem
 * when the statement fails, at any row; 503 spool-unavailable when the
 * file cannot be made or written (a full disk).
 */
void reply_csv_rows(struct srv_req *r, const char *stmt, int nparams, const char *const *params,
                    const char *filename);

#endif
