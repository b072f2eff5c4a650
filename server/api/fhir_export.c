/*
 * fhir_export.c — FHIR Bulk Data export (Bulk Data Access IG 2.0):
 * GET /api/v1/fhir/$export and /api/v1/fhir/Group/{study}/$export kick off
 * a job, GET /api/v1/fhir/bulk/{job} polls it, DELETE cancels it, and
 * GET /api/v1/fhir/bulk/{job}/{type}/{part} downloads a file of NDJSON.
 *
 * Any daemon of a site may answer the polling and downloads: the job and
 * its output are rows (migration 0041, migrations/functions/fhir_export.sql).
 * The daemon that took the kick-off runs the job on its long-work pool: on
 * a connection of its own it opens one REPEATABLE READ transaction, so
 * that the export is one consistent snapshot, and has PostgreSQL write
 * each chunk of NDJSON lines (CHUNK resources) straight into the table;
 * nothing of the data passes through the daemon. With a reports database
 * fit to read (readpool.h) the snapshot is opened there instead, a hot
 * standby, and each chunk read there is kept on the primary by a pool
 * connection (bb_fhir_export_store); a failure, a standby lost under the
 * export included, ends the job failed with its chunks removed, as any
 * failure does. Between chunks it reports
 * its progress on a pool connection, which is also where it learns that
 * its owner cancelled it or that the daemon is stopping. A download sends
 * the file a chunk at a time, each fetched when the previous one is sent.
 */
#include "api/api.h"
#include "api/fhir.h"
#include "cmd/config.h"
#include "http/log.h"
#include "http/readpool.h"
#include "http/workpool.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* Prepared on every pool connection (db_pool_open). */
const struct db_stmt fhir_export_statements[] = {
	{ "db_fhir_group_get", "SELECT bb_fhir_group_get($1, $2::bigint[])::text" },
	{ "db_fhir_export_start",
	  "SELECT bb_fhir_export_start($1::bigint, $2::bigint[], $3, $4, $5, $6) ->> 'id'" },
	{ "db_fhir_export_claim", "SELECT study_id, studies::text, types, bb_rfc3339(since) FROM "
	                          "bb_fhir_export_claim($1::uuid)" },
	{ "db_fhir_export_progress",
	  "SELECT bb_fhir_export_progress($1::uuid, $2::bigint, $3::bigint, $4::timestamptz)" },
	{ "db_fhir_export_finish", "SELECT bb_fhir_export_finish($1::uuid, $2)" },
	{ "db_fhir_export_status",
	  "SELECT bb_fhir_export_status($1, $2::bigint, $3::bigint[])::text" },
	{ "db_fhir_export_delete", "SELECT bb_fhir_export_delete($1, $2::bigint, $3::bigint[])" },
	{ "db_fhir_export_lines",
	  "SELECT bb_fhir_export_lines($1, $2::bigint, $3::bigint[], $4, $5, $6::int)" },
	{ "db_fhir_export_store",
	  "SELECT bb_fhir_export_store($1::uuid, $2, $3::int, $4::int, $5)" },
	{ NULL, NULL },
};

/* On the job's own connection, inside its snapshot. */
static const struct db_stmt snapshot_statements[] = {
	{ "db_fhir_export_isolation", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ" },
	{ "db_fhir_export_count",
	  "SELECT total, bb_rfc3339(transaction_time) FROM bb_fhir_export_count($1::bigint,"
	  " $2::bigint[], $3, $4::timestamptz)" },
	{ "db_fhir_export_chunk",
	  "SELECT last, written FROM bb_fhir_export_chunk($1::uuid, $2, $3::int, $4::bigint,"
	  " $5::int, $6::bigint, $7::bigint[], $8::timestamptz)" },
	/* On a hot standby: the chunk read there, kept on the primary (db_fhir_export_store). */
	{ "db_fhir_export_read",
	  "SELECT last, written, lines FROM bb_fhir_export_read($1, $2::bigint, $3::int,"
	  " $4::bigint, $5::bigint[], $6::timestamptz)" },
	{ NULL, NULL },
};

/* Resources per chunk: a chunk is one statement's work and one piece of a download. */
enum { CHUNK = 1000, BLOCK_SIZE = 64 * 1024 };

#define FHIR_JSON   "application/fhir+json; fhirVersion=4.0"
#define FHIR_NDJSON "application/fhir+ndjson"
/* Seconds a poller is asked to wait between polls. */
#define POLL_RETRY "2"

/* A job handed to the long-work pool; it outlives the kick-off request. */
struct job {
	struct srv *srv;
	char id[40];
	bool standby; /* its snapshot is on the reports database: chunks are kept by pooled() */
};

/* One statement on a pool connection taken for it alone. */
static enum bb_err
pooled(struct srv *s, const char *stmt, int n, const char *const *params, PGresult **res)
{
	struct db_conn *c;
	enum bb_err err = db_acquire(s->pool, &c);

	if (res != NULL)
		*res = NULL;
	if (err != BB_OK)
		return err;
	err = db_exec(c, stmt, n, params, res);
	db_release(s->pool, c);
	return err;
}

/* The job's end, done (why NULL) or failed; logged when even that cannot be written. */
static void
job_finish(struct job *j, const char *why)
{
	const char *params[] = { j->id, why };

	if (pooled(j->srv, "db_fhir_export_finish", 2, params, NULL) != BB_OK)
		log_warnx("FHIR export %s: its end (%s) could not be recorded", j->id,
		          why != NULL ? why : "done");
}

static void
job_cancel(void *arg)
{
	struct job *j = arg;

	job_finish(j, "the server stopped before the export began; kick it off again");
	free(j);
}

/* The job's scope and choices, as claimed. */
struct scope {
	char *study, *studies, *types, *since;
};

static void
scope_free(struct scope *sc)
{
	free(sc->study);
	free(sc->studies);
	free(sc->types);
	free(sc->since);
}

static char *
value_or_null(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : bb_strdup(PQgetvalue(res, 0, col));
}

/* Progress and heartbeat; *wanted false when the owner cancelled the job. */
static enum bb_err
job_progress(struct job *j, long long done, const char *total, const char *ttime, bool *wanted)
{
	char d[24];
	PGresult *res;

	snprintf(d, sizeof(d), "%lld", done);
	const char *params[] = { j->id, d, total, ttime };
	enum bb_err err = pooled(j->srv, "db_fhir_export_progress", 4, params, &res);
	*wanted = err == BB_OK && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return err;
}

/*
 * A chunk read in a standby's snapshot, then kept on the primary: params are
 * db_fhir_export_chunk's; *res has its columns (last, written).
 */
static enum bb_err
job_chunk_standby(struct job *j, struct db_conn *snap, const char *const *params, PGresult **res)
{
	const char *rd[] = { params[1], params[3], params[4], params[5], params[6], params[7] };
	enum bb_err err = db_exec(snap, "db_fhir_export_read", 6, rd, res);
	if (err != BB_OK)
		return err;
	const char *keep[] = { params[0], params[1], params[2], PQgetvalue(*res, 0, 1),
		               PQgetisnull(*res, 0, 2) ? NULL : PQgetvalue(*res, 0, 2) };
	err = pooled(j->srv, "db_fhir_export_store", 5, keep, NULL);
	if (err != BB_OK) {
		PQclear(*res);
		*res = NULL;
	}
	return err;
}

/*
 * Every chunk of every type, in the snapshot of snap's transaction. Sets
 * *why (static text) when the export is to fail, *cancelled when its owner
 * cancelled it.
 */
static enum bb_err
job_write(struct job *j, struct db_conn *snap, const struct scope *sc, const char **why,
          bool *cancelled)
{
	PGresult *res = NULL;
	bool wanted = true;
	long long done = 0;
	char lim[16];

	snprintf(lim, sizeof(lim), "%d", CHUNK);
	const char *cparams[] = { sc->study, sc->studies, sc->types, sc->since };
	enum bb_err err = db_exec(snap, "db_fhir_export_count", 4, cparams, &res);
	if (err != BB_OK || PQntuples(res) != 1) {
		PQclear(res);
		return err != BB_OK ? err : BB_EINTERNAL;
	}
	char *total = bb_strdup(PQgetvalue(res, 0, 0)), *ttime = bb_strdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	res = NULL;
	err = job_progress(j, 0, total, ttime, &wanted);
	char *types = bb_strdup(sc->types), *save = NULL;
	for (char *type = strtok_r(types, ",", &save); err == BB_OK && wanted && type != NULL;
	     type = strtok_r(NULL, ",", &save)) {
		char after[24] = "0";
		for (int n = 0; err == BB_OK && wanted; n++) {
			char nn[16];
			snprintf(nn, sizeof(nn), "%d", n);
			const char *params[] = { j->id, type,      nn,          after,
				                 lim,   sc->study, sc->studies, sc->since };
			res = NULL;
			err = j->standby ? job_chunk_standby(j, snap, params, &res)
			                 : db_exec(snap, "db_fhir_export_chunk", 8, params, &res);
			if (err != BB_OK)
				break;
			long written = strtol(PQgetvalue(res, 0, 1), NULL, 10);
			if (written > 0)
				snprintf(after, sizeof(after), "%s", PQgetvalue(res, 0, 0));
			PQclear(res);
			res = NULL;
			done += written;
			err = job_progress(j, done, NULL, NULL, &wanted);
			if (atomic_load(&j->srv->stopping)) {
				*why = "the server stopped during the export; kick it off again";
				break;
			}
			if (written < CHUNK)
				break;
		}
		if (*why != NULL)
			break;
	}
	PQclear(res);
	free(types);
	free(total);
	free(ttime);
	*cancelled = err == BB_OK && !wanted;
	return err;
}

static void
job_run(void *arg)
{
	struct job *j = arg;
	struct scope sc = { 0 };
	PGresult *res = NULL;
	const char *params[] = { j->id };

	log_request_begin(j->id);
	enum bb_err err = pooled(j->srv, "db_fhir_export_claim", 1, params, &res);
	if (err != BB_OK || PQntuples(res) != 1) {
		/* Gone or cancelled before it began: its end is recorded like any. */
		PQclear(res);
		job_finish(j,
		           err != BB_OK ? "the export could not begin; kick it off again" : NULL);
		log_request_end();
		free(j);
		return;
	}
	sc.study = value_or_null(res, 0);
	sc.studies = value_or_null(res, 1);
	sc.types = value_or_null(res, 2);
	sc.since = value_or_null(res, 3);
	PQclear(res);

	/* A connection of its own: the snapshot's transaction lasts as long as the export. */
	const struct db_stmt *const sets[] = { snapshot_statements, NULL };
	struct db_conn *snap = NULL;
	char reason[256] = "";
	const char *why = NULL;
	bool cancelled = false;
	/* Long reading: on the reports database when it is fit (readpool.h). Its chunks
	 * are then kept on the primary one by one; a failure removes them (job_finish). */
	j->standby = readpool_fit(j->srv->reports);
	err =
	    db_connect_quiet(j->standby ? j->srv->cfg->reports_database : j->srv->cfg->database_url,
	                     sets, &snap, reason, sizeof(reason));
	if (err == BB_OK)
		err = db_begin(snap);
	if (err == BB_OK)
		err = db_exec(snap, "db_fhir_export_isolation", 0, NULL, NULL);
	if (err == BB_OK)
		err = db_long_statements(snap, 0);
	if (err == BB_OK)
		err = job_write(j, snap, &sc, &why, &cancelled);
	if (err != BB_OK && snap != NULL)
		snprintf(reason, sizeof(reason), "%s", db_error_message(snap));
	if (snap != NULL && (err != BB_OK || why != NULL || cancelled))
		db_rollback(snap);
	else if (snap != NULL)
		err = db_commit(snap);
	if (err != BB_OK) {
		/* PostgreSQL's words go to the log, not to the client. */
		log_warnx("FHIR export %s failed: %s: %s", j->id, bb_strerror(err), reason);
		why = "the export failed on the server; kick it off again";
	}
	db_disconnect(snap);
	job_finish(j, why);
	log_request_end();
	scope_free(&sc);
	free(j);
}

/* ?_outputFormat: NDJSON, by any of the names the IG allows. */
static bool
output_format_ok(const char *f)
{
	return f == NULL || strcmp(f, "application/fhir+ndjson") == 0 ||
	       strcmp(f, "application/ndjson") == 0 || strcmp(f, "ndjson") == 0;
}

/* An informational OperationOutcome, for the 202 answers that have no resource to send. */
static void
reply_information(struct srv_req *r, unsigned status, const char *text)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "resourceType", "OperationOutcome");
	cJSON *is = cJSON_CreateObject();
	cJSON_AddStringToObject(is, "severity", "information");
	cJSON_AddStringToObject(is, "code", "informational");
	cJSON_AddStringToObject(is, "diagnostics", text);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "issue"), is);
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (body == NULL)
		abort();
	reply_raw(r, status, FHIR_JSON, body, strlen(body));
}

/* Kick-off of either export: study is the Group's id, NULL for the system-level export. */
static void
export_kick_off(struct srv_req *r, const char *study)
{
	const char *prefer = req_header(r, "Prefer");
	const char *since = req_query(r, "_since"), *type = req_query(r, "_type");

	/* An export is only ever asynchronous: no Prefer is taken as respond-async, another
	 * preference (respond-sync) is refused rather than ignored. */
	if (prefer != NULL && strstr(prefer, "respond-async") == NULL) {
		reply_problem_code(
		    r, "value-not-allowed", NULL,
		    "Prefer: only respond-async: a bulk export runs in the background "
		    "and is polled (FHIR Bulk Data)");
		return;
	}
	if (!output_format_ok(req_query(r, "_outputFormat"))) {
		reply_invalid_field(
		    r, "_outputFormat",
		    "must be application/fhir+ndjson (or application/ndjson, ndjson)");
		return;
	}
	if (since != NULL && !bb_is_rfc3339(since)) {
		reply_invalid_field(
		    r, "_since", "must be an instant with its offset, e.g. 2026-03-01T00:00:00Z");
		return;
	}
	if (type != NULL && *type == '\0')
		type = NULL;
	const char *base = fhir_base_url(r);
	const char *request = bb_arena_printf(&r->arena, "%s%s", base, r->raw_uri);
	const char *params[] = { req_actor_id(r), req_studies(r), study, type, since, request };
	struct db_conn *db = req_db(r);
	if (db == NULL)
		return;
	PGresult *res = NULL;
	enum bb_err err = db_exec(db, "db_fhir_export_start", 6, params, &res);
	if (err != BB_OK || PQntuples(res) != 1) {
		PQclear(res);
		reply_db_error(r, err != BB_OK ? err : BB_EINTERNAL);
		return;
	}
	struct job *j = bb_calloc(1, sizeof(*j));
	j->srv = r->srv;
	snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	const char *where = bb_arena_printf(&r->arena, "%s/api/v1/fhir/bulk/%s", base, j->id);
	if (!workpool_submit(r->srv->work, job_run, job_cancel, NULL, j, false)) {
		job_finish(j, "the server was too busy to begin the export; kick it off again");
		free(j);
		reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER,
		             bb_arena_printf(&r->arena, "%u", workpool_retry_after(r->srv->work)));
		reply_problem(r, 503, NULL,
		              "too much long work is running or waiting; kick the export off "
		              "again later");
		return;
	}
	reply_header(r, MHD_HTTP_HEADER_CONTENT_LOCATION, where);
	reply_information(r, 202, "the export is running; poll the Content-Location");
}

void
h_fhir_export_system(struct srv_req *r)
{
	export_kick_off(r, NULL);
}

void
h_fhir_export_group(struct srv_req *r)
{
	export_kick_off(r, r->params[0]);
}

/* GET /api/v1/fhir/Group/{id}: a study's participants (docs/fhir.md). */
void
h_fhir_group_get(struct srv_req *r)
{
	const char *params[] = { r->params[0], req_studies(r) };
	struct db_conn *db = req_db(r);
	PGresult *res = NULL;

	if (db == NULL)
		return;
	enum bb_err err = db_exec(db, "db_fhir_group_get", 2, params, &res);
	if (err != BB_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		reply_db_error(r, err != BB_OK ? err : BB_ENOTFOUND);
		return;
	}
	size_t len = (size_t)PQgetlength(res, 0, 0);
	reply_raw(r, 200, FHIR_JSON, bb_strndup(PQgetvalue(res, 0, 0), len), len);
	PQclear(res);
}

/* The manifest of a finished export (Bulk Data IG, "Complete Status"). */
static void
reply_manifest(struct srv_req *r, const cJSON *st)
{
	const char *base = fhir_base_url(r);
	cJSON *m = cJSON_CreateObject();
	const cJSON *f;

	cJSON_AddItemToObject(m, "transactionTime",
	                      cJSON_Duplicate(cJSON_GetObjectItem(st, "transaction_time"), false));
	cJSON_AddItemToObject(m, "request",
	                      cJSON_Duplicate(cJSON_GetObjectItem(st, "request"), false));
	cJSON_AddTrueToObject(m, "requiresAccessToken");
	cJSON *out = cJSON_AddArrayToObject(m, "output");
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(st, "output"))
	{
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(f, "type"));
		cJSON *o = cJSON_CreateObject();
		char url[512];

		snprintf(url, sizeof(url), "%s/api/v1/fhir/bulk/%s/%s/%d", base, r->params[0],
		         type != NULL ? type : "",
		         (int)cJSON_GetNumberValue(cJSON_GetObjectItem(f, "part")));
		cJSON_AddStringToObject(o, "type", type != NULL ? type : "");
		cJSON_AddStringToObject(o, "url", url);
		cJSON_AddNumberToObject(o, "count",
		                        cJSON_GetNumberValue(cJSON_GetObjectItem(f, "count")));
		cJSON_AddItemToArray(out, o);
	}
	/* Nothing is left out of a finished export: no OperationOutcome files. */
	cJSON_AddArrayToObject(m, "error");
	reply_json(r, 200, m);
}

/* GET /api/v1/fhir/bulk/{job}: 202 while it runs, the manifest when done, an error when failed. */
void
h_fhir_export_status(struct srv_req *r)
{
	const char *params[] = { r->params[0], req_actor_id(r), req_studies(r) };
	struct db_conn *db = req_db(r);
	PGresult *res = NULL;

	if (db == NULL)
		return;
	enum bb_err err = db_exec(db, "db_fhir_export_status", 3, params, &res);
	if (err != BB_OK || PQntuples(res) != 1) {
		PQclear(res);
		reply_db_error(r, err != BB_OK ? err : BB_EINTERNAL);
		return;
	}
	cJSON *st = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(st, "status"));
	if (status == NULL) {
		cJSON_Delete(st);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		return;
	}
	if (strcmp(status, "done") == 0) {
		reply_manifest(r, st);
	} else if (strcmp(status, "failed") == 0) {
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(st, "error"));
		reply_problem_code(r, "export-failed", NULL, "%s",
		                   why != NULL ? why : "the export failed");
	} else {
		double done = cJSON_GetNumberValue(cJSON_GetObjectItem(st, "done"));
		const cJSON *total = cJSON_GetObjectItem(st, "total");
		const char *progress =
		    cJSON_IsNumber(total)
		        ? bb_arena_printf(&r->arena, "%s: %.0f of %.0f resources (%.0f%%)", status,
		                          done, total->valuedouble,
		                          total->valuedouble > 0 ? 100 * done / total->valuedouble
		                                                 : 0.0)
		        : status;
		reply_header(r, "X-Progress", progress);
		reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, POLL_RETRY);
		reply_information(r, 202, progress);
	}
	cJSON_Delete(st);
}

/* DELETE /api/v1/fhir/bulk/{job}: cancelled (a running job stops) or removed. */
void
h_fhir_export_delete(struct srv_req *r)
{
	const char *params[] = { r->params[0], req_actor_id(r), req_studies(r) };
	struct db_conn *db = req_db(r);

	if (db == NULL)
		return;
	enum bb_err err = db_exec(db, "db_fhir_export_delete", 3, params, NULL);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	reply_information(r, 202, "the export is cancelled and its files removed");
}

/* A download's own state: it outlives the request that started it (as specimens_csv.c). */
struct download {
	struct db_pool *pool;
	char *job, *owner, *studies, *type, *part;
	int next; /* the chunk to fetch next */
	bool done;
	char *chunk; /* the chunk being sent */
	size_t len, off;
	char req_id[17];
	struct workpool_lease *slot;
};

static void
download_free(void *cls)
{
	struct download *d = cls;

	free(d->job);
	free(d->owner);
	free(d->studies);
	free(d->type);
	free(d->part);
	free(d->chunk);
	req_slot_release(d->slot);
	free(d);
}

/* The next chunk into d->chunk; d->done when there is none. */
static enum bb_err
download_fetch(struct download *d, struct db_conn *c)
{
	char k[16];
	PGresult *res = NULL;

	snprintf(k, sizeof(k), "%d", d->next);
	const char *params[] = { d->job, d->owner, d->studies, d->type, d->part, k };
	enum bb_err err = db_exec(c, "db_fhir_export_lines", 6, params, &res);
	if (err != BB_OK) {
		PQclear(res);
		return err;
	}
	free(d->chunk);
	d->chunk = NULL;
	d->len = d->off = 0;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		d->done = true;
	} else {
		d->len = (size_t)PQgetlength(res, 0, 0);
		d->chunk = bb_strndup(PQgetvalue(res, 0, 0), d->len);
		d->next++;
	}
	PQclear(res);
	return BB_OK;
}

static ssize_t
download_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct download *d = cls;

	(void)pos;
	while (d->off == d->len) {
		if (d->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		log_request_begin(d->req_id);
		struct db_conn *c;
		enum bb_err err = db_acquire(d->pool, &c);
		char why[256] = "";
		if (err == BB_OK) {
			err = download_fetch(d, c);
			if (err != BB_OK)
				snprintf(why, sizeof(why), ": %s", db_error_message(c));
			db_release(d->pool, c);
		}
		if (err != BB_OK) {
			log_warnx("%s: FHIR export download stopped at chunk %d: %s%s", __func__,
			          d->next, bb_strerror(err), why);
			log_request_end();
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		log_request_end();
	}
	size_t n = d->len - d->off;
	if (n > max)
		n = max;
	memcpy(out, d->chunk + d->off, n);
	d->off += n;
	return (ssize_t)n;
}

/* GET /api/v1/fhir/bulk/{job}/{type}/{part}: one NDJSON file, streamed chunk by chunk. */
void
h_fhir_export_file(struct srv_req *r)
{
	struct db_conn *db = req_db(r);

	if (db == NULL)
		return;
	const char *studies = req_studies(r);
	struct download *d = bb_calloc(1, sizeof(*d));
	d->pool = r->srv->pool;
	d->job = bb_strdup(r->params[0]);
	d->owner = bb_strdup(req_actor_id(r));
	d->studies = studies != NULL ? bb_strdup(studies) : NULL;
	d->type = bb_strdup(r->params[1]);
	d->part = bb_strdup(r->params[2]);
	memcpy(d->req_id, r->id, sizeof(d->req_id));
	/* The first chunk now, so that an unknown file is a 404 rather than a cut stream. */
	enum bb_err err = download_fetch(d, db);
	if (err != BB_OK) {
		download_free(d);
		reply_db_error(r, err);
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, BLOCK_SIZE, download_read, d, download_free);
	if (resp == NULL) {
		download_free(d);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		return;
	}
	d->slot = req_keep_slot(r);
	r->stream = resp;
	r->status = 200;
	r->resp_type = FHIR_NDJSON;
}
