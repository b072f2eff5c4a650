/*
 * specimens_csv.c — the streamed CSV export of the specimen list
 * (GET /api/v1/specimens with Accept: text/csv).
 *
 * The export never holds the whole list, nor a database connection while
 * bytes go out: libmicrohttpd pulls the body through a callback, which
 * fetches the next chunk of rows by keyset (serial > last, CHUNK_ROWS at a
 * time) on a pool connection taken and given back for that chunk alone.
 * The request context is freed when the request completes, so the
 * callback's state lives in its own struct export, freed by the response.
 */
#include "api/api.h"
#include "http/csv.h"
#include "http/log.h"
#include "http/readpool.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt specimens_csv_statements[] = {
	{ "db_specimen_csv_rows",
	  "SELECT serial, id, tube_barcode, type, study, participant, timepoint, collected_at, "
	  "status,"
	  " quantity, unit, parent, derivation, freeze_thaw_count, consent_withdrawn::text AS"
	  " consent_withdrawn, box, box_position AS position, location, notes, created_at, sprec,"
	  " protocol_version"
	  " FROM bb_specimen_csv_rows($1, $2, $3, $4, $5, $6, $7::bigint[], $8::bigint, $9::int,"
	  " $10, $11::bigint, $12::jsonb)" },
	{ NULL, NULL },
};

enum { CHUNK_ROWS = 1000, BLOCK_SIZE = 64 * 1024 };

/* The export's own state: it outlives the request that started it. */
struct export
{
	struct srv *srv;
	bool reports;      /* the request reads from the reports database when fit (readpool.h) */
	char *filters[10]; /* study, participant, type, timepoint, status, box, studies,
	                      include_in_error, location, sprec */
	long long after;   /* serial of the last row sent */
	bool done;         /* the last chunk came: nothing more to fetch */
	struct bb_buf buf;
	size_t off; /* bytes of buf already handed to MHD */
	unsigned long long rows;
	char req_id[17]; /* the request's, for the log: it is freed before the stream ends */
	struct workpool_lease *slot; /* the long-work slot the export holds until it ends */
};
_Static_assert(sizeof(((struct export *)0)->req_id) == sizeof(((struct srv_req *)0)->id),
               "a copy of the whole request id");

static void
export_free(void *cls)
{
	struct export *x = cls;

	for (size_t i = 0; i < sizeof(x->filters) / sizeof(x->filters[0]); i++)
		free(x->filters[i]);
	bb_buf_free(&x->buf);
	req_slot_release(x->slot);
	free(x);
}

/* Fetch the next chunk into x->buf (the header first when header). */
static enum bb_err
export_fetch(struct export *x, struct db_conn *c, bool header)
{
	char after[24], limit[16];
	const char *params[12];
	PGresult *res = NULL;

	snprintf(after, sizeof(after), "%lld", x->after);
	snprintf(limit, sizeof(limit), "%d", CHUNK_ROWS);
	for (size_t i = 0; i < 7; i++)
		params[i] = x->filters[i];
	params[7] = after;
	params[8] = limit;
	params[9] = x->filters[7];
	params[10] = x->filters[8];
	params[11] = x->filters[9];
	enum bb_err err = db_exec(c, "db_specimen_csv_rows", 12, params, &res);
	if (err != BB_OK) {
		PQclear(res);
		return err;
	}
	if (header)
		csv_header(&x->buf, res, 1);
	csv_rows(&x->buf, res, 1);
	int n = PQntuples(res);
	if (n > 0)
		x->after = strtoll(PQgetvalue(res, n - 1, 0), NULL, 10);
	x->rows += (unsigned long long)n;
	x->done = n < CHUNK_ROWS;
	PQclear(res);
	return BB_OK;
}

/*
 * The next chunk on a connection taken for it alone. A chunk is one
 * statement by keyset: when it fails on the reports database (lost, or a
 * statement cancelled by a conflict with its recovery), the same chunk is
 * read again from the primary and the file goes on whole.
 */
static enum bb_err
export_chunk(struct export *x, char *why, size_t why_len)
{
	struct readpool *rp = x->reports ? x->srv->reports : NULL;

	for (int attempt = 0;; attempt++) {
		struct db_conn *c;
		struct db_pool *from;
		enum bb_err err = readpool_take(rp, x->srv->pool, &c, &from);
		if (err != BB_OK)
			return err;
		size_t len = x->buf.len;
		err = export_fetch(x, c, false);
		/* The reason goes with the connection: keep it for the log. */
		if (err != BB_OK)
			snprintf(why, why_len, ": %s", db_error_message(c));
		bool again = err != BB_OK && readpool_owns(rp, from);
		bool lost = again && !db_connected(c);
		db_release(from, c);
		if (!again || attempt > 0)
			return err;
		if (lost)
			readpool_lost(rp);
		x->buf.len = len;
		rp = NULL;
	}
}

static ssize_t
export_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct export *x = cls;

	(void)pos;
	while (x->off == x->buf.len) {
		if (x->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		x->buf.len = 0;
		x->off = 0;
		/* Still serving the request, outside its handler: log.h's mark by hand. */
		log_request_begin(x->req_id);
		char why[256] = "";
		enum bb_err err = export_chunk(x, why, sizeof(why));
		if (err != BB_OK) {
			/* The status line went out long ago: all we can do is cut the stream short.
			 */
			log_warnx("%s: CSV export stopped after %llu rows: %s%s", __func__, x->rows,
			          bb_strerror(err), why);
			log_request_end();
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		log_request_end();
	}
	size_t n = x->buf.len - x->off;
	if (n > max)
		n = max;
	memcpy(out, x->buf.data + x->off, n);
	x->off += n;
	return (ssize_t)n;
}

void
h_specimens_csv(struct srv_req *r)
{
	const char *filters[SPECIMEN_FILTERS + 1];

	if (!specimen_list_filters(r, filters))
		return;
	/* The SQL function takes the studies after the six filters, then include_in_error,
	 * location and the SPREC filter. */
	filters[9] = filters[8];
	filters[8] = filters[7];
	filters[7] = filters[6];
	filters[6] = req_studies(r);

	struct db_conn *db = req_db(r);
	if (db == NULL)
		return;
	struct export *x = bb_calloc(1, sizeof(*x));
	x->srv = r->srv;
	x->reports = r->reads_reports;
	memcpy(x->req_id, r->id, sizeof(x->req_id));
	for (size_t i = 0; i < 10; i++)
		x->filters[i] = filters[i] ? bb_strdup(filters[i]) : NULL;
	/* The first chunk comes now, on the request's connection, so that a failing
	 * database is still a problem with a status rather than a cut stream. */
	enum bb_err err = export_fetch(x, db, true);
	if (err != BB_OK) {
		export_free(x);
		reply_db_error(r, err);
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_SIZE,
	                                                              export_read, x, export_free);
	if (resp == NULL) {
		export_free(x);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		return;
	}
	/* Exports run a few at a time (LONG_CSV), counted until their last byte. */
	x->slot = req_keep_slot(r);
	r->stream = resp;
	r->status = 200;
	r->resp_type = CSV_MEDIA_TYPE;
	reply_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
	             "attachment; filename=\"specimens.csv\"");
}
