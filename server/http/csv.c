/*
 * csv.c — CSV answers (RFC 4180): Accept negotiation, field quoting with
 * formula neutralising, rows of a libpq result written as CSV lines, and a
 * statement's rows answered as a CSV file spooled through a temporary file.
 */
#include "http/csv.h"

#include "http/log.h"
#include "http/reply.h"
#include "http/tmpdir.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* What makes an answer a download: its file's name. */
static void
attachment_name(struct srv_req *r, const char *filename)
{
	reply_header(r, "Content-Disposition",
	             bb_arena_printf(&r->arena, "attachment; filename=\"%s\"", filename));
}

void
reply_attachment(struct srv_req *r, const char *type, const char *filename, struct bb_buf *body)
{
	size_t len = body->len;

	attachment_name(r, filename);
	reply_raw(r, 200, type, bb_buf_steal(body), len);
}

/* Lines are written to the spool file a block at a time. */
enum { SPOOL_BLOCK = 64 * 1024 };

/* A CSV answer on its way to its spool file. */
struct csv_spool {
	int fd;
	struct bb_buf buf; /* lines not written yet: a block, and the row that passed it */
	size_t size;       /* bytes written */
	bool header;       /* the header line is in buf or written */
	int error;         /* errno of the write that failed; 0: none */
};

static enum bb_err
spool_flush(struct csv_spool *s)
{
	for (size_t off = 0; off < s->buf.len;) {
		ssize_t n = write(s->fd, s->buf.data + off, s->buf.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->error = n < 0 ? errno : ENOSPC;
			return BB_EIO;
		}
		off += (size_t)n;
	}
	s->size += s->buf.len;
	s->buf.len = 0;
	return BB_OK;
}

/* db_row_fn: the header with the first result, then each row as its line. */
static enum bb_err
spool_row(void *arg, const PGresult *res)
{
	struct csv_spool *s = arg;

	if (!s->header) {
		csv_header(&s->buf, res, 0);
		s->header = true;
	}
	csv_rows(&s->buf, res, 0);
	/* The end (a result of no row) writes what is left. */
	return s->buf.len >= SPOOL_BLOCK || PQntuples(res) == 0 ? spool_flush(s) : BB_OK;
}

/* The temporary directory is full or cannot be written: an operator's matter, not the
 * client's, and not over in a second. */
static void
reply_no_spool(struct srv_req *r)
{
	reply_header(r, "Retry-After", "30");
	reply_problem_code(r, "spool-unavailable", NULL,
	                   "the server cannot write the file now (its temporary directory "
	                   "is full or unusable); try again later");
}

/*
 * The rows of a set-returning function can be many (a completeness grid of
 * 792,000 lines, 38 MB): they are taken one at a time (db_exec_rows) and
 * written as CSV lines, a block at a time, to an unnamed file in the
 * temporary directory, which libmicrohttpd then sends (sendfile(2) on plain
 * HTTP). The daemon holds a block and one row, whatever the size; the
 * connection is given back when the handler returns, before the first byte
 * goes out, so a slow client holds a file, not the database. The status
 * line is only decided once the file is whole: a failure at any row is a
 * problem, never a 200 with part of a file.
 */
void
reply_csv_rows(struct srv_req *r, const char *stmt, int nparams, const char *const *params,
               const char *filename)
{
	struct db_conn *db = req_db(r);
	struct csv_spool s = { 0 };

	if (db == NULL)
		return;
	s.fd = tmpdir_file();
	if (s.fd < 0) {
		log_warn("%s: no file for the CSV in %s", __func__, tmpdir_path());
		reply_no_spool(r);
		return;
	}
	enum bb_err err = db_exec_rows(db, stmt, nparams, params, spool_row, &s);
	bb_buf_free(&s.buf);
	if (err != BB_OK) {
		close(s.fd);
		if (s.error == 0) {
			reply_db_error(r, err);
			return;
		}
		errno = s.error;
		log_warn("%s: the CSV could not be written past %zu bytes in %s", __func__, s.size,
		         tmpdir_path());
		reply_no_spool(r);
		return;
	}
	/* Takes the descriptor: closed, and so the file gone, with the response. */
	struct MHD_Response *resp = MHD_create_response_from_fd(s.size, s.fd);
	if (resp == NULL) {
		close(s.fd);
		log_warnx("%s: cannot make a response of a %zu-byte file", __func__, s.size);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		return;
	}
	r->stream = resp;
	r->status = 200;
	r->resp_type = CSV_MEDIA_TYPE;
	attachment_name(r, filename);
}
