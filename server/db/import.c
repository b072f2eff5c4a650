/* import.c — an inventory file into the database (import.h, docs/import.md). */
#include "db/import.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt db_import_statements[] = {
	{ "db_import_begin", "SELECT bb_import_begin()" },
	/* bb_import_step's notices, for this transaction (import_progress.h) */
	{ "db_import_progress_on", "SELECT set_config('bb.import_progress', 'on', true)" },
	{ "db_import_check", "SELECT bb_import_check($1::bytea, $2, $3::bigint[], $4::boolean)" },
	{ "db_import_commit",
	  "SELECT bb_import_commit($1::bytea, $2, $3, $4::jsonb, $5, $6::bigint)" },
	{ NULL, NULL },
};

/* The staging table's columns in the order the rows are copied (bb_import_begin). */
static const char copy_sql[] =
    "COPY pg_temp.import_stage (row_no, key, study, participant, sex, birth_year, diagnosis, "
    "consent_scope, consent_status, consent_date, consent_version, type, timepoint, "
    "collected_at, quantity, unit, tube_barcode, parent, location_path, box_barcode, box_grid, "
    "position, status, freeze_thaw, legacy_id, notes, box_rows, box_cols, pos_row, pos_col, "
    "problems) FROM STDIN";

/* PROGRESS_EVERY_ROWS: how often reading looks at the clock; IMPORT_CHECK_STEPS: the steps
 * bb_import_check tells (functions/imports.sql). */
enum { COPY_CHUNK = 256 * 1024, PROGRESS_EVERY_ROWS = 256, IMPORT_CHECK_STEPS = 10 };

static void file_bad(struct import_result *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
file_bad(struct import_result *out, const char *code, const char *fmt, ...)
{
	va_list ap;

	out->outcome = IMPORT_FILE_BAD;
	out->code = code;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
}

static cJSON *
problems_json(const struct bb_imp_row *row, long row_no)
{
	cJSON *list = cJSON_CreateArray();

	for (size_t i = 0; i < row->nproblems; i++) {
		const struct bb_imp_problem *p = &row->problems[i];
		cJSON *o = cJSON_CreateObject();

		if (row_no > 0)
			cJSON_AddNumberToObject(o, "row", (double)row_no);
		if (p->col >= 0)
			cJSON_AddStringToObject(o, "column", bb_imp_column_name(p->col));
		cJSON_AddStringToObject(o, "code", p->code);
		cJSON_AddStringToObject(o, "message", p->message);
		cJSON_AddItemToArray(list, o);
	}
	return list;
}

/* Appends one staged row to the COPY data. */
static void
copy_row(struct bb_buf *b, long row_no, const struct bb_imp_row *row)
{
	bb_buf_printf(b, "%ld", row_no);
	for (int c = 0; c < IO__MAX; c++) {
		bb_buf_append(b, "\t", 1);
		bb_imp_copy_field(b, row->out[c]);
	}
	bb_buf_append(b, "\t", 1);
	if (row->nproblems == 0) {
		bb_imp_copy_field(b, NULL);
	} else {
		cJSON *list = problems_json(row, 0);
		char *text = cJSON_PrintUnformatted(list);

		bb_imp_copy_field(b, text);
		free(text);
		cJSON_Delete(list);
	}
	bb_buf_append(b, "\n", 1);
}

static bool
blank_record(const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fields[i][strspn(fields[i], " \t")] != '\0')
			return false;
	return true;
}

enum stage_result { STAGE_OK, STAGE_FILE_BAD, STAGE_HEADER_BAD, STAGE_DB_ERROR };

/*
 * Copies the file's rows into the staging table; the header's problems, if
 * any, in *header (then nothing is staged).
 */
static enum stage_result
stage(struct db_conn *c, const struct import_request *rq, const char *encoding, char sep,
      long long bytes, struct import_result *out, struct bb_imp_row *row, cJSON **header,
      long *nrows)
{
	PGconn *pg = db_pgconn(c);
	struct bb_imp_reader *rd;
	const char *const *fields;
	size_t n;
	long line, row_no = 1;
	const char *why;
	int map[BB_IMP_COLUMNS_MAX];
	struct bb_buf b = { 0 };
	enum stage_result res = STAGE_OK;
	int got;

	*nrows = 0;
	if (bb_imp_reader_open(rq->file, encoding, sep, &rd) != BB_OK) {
		file_bad(out, "encoding-unknown", "the encoding %s cannot be read here", encoding);
		return STAGE_FILE_BAD;
	}
	got = bb_imp_next(rd, &fields, &n, &line, &why);
	if (got <= 0) {
		if (got == 0)
			file_bad(out, "file-malformed",
			         "the file is empty: it needs a header line");
		else
			file_bad(out, "file-malformed", "line %ld: %s", line, why);
		bb_imp_reader_free(rd);
		return STAGE_FILE_BAD;
	}
	row->nproblems = 0;
	bb_imp_header(fields, n, map, row);
	for (size_t i = n; i < BB_IMP_COLUMNS_MAX; i++)
		map[i] = -1;
	if (row->nproblems > 0) {
		*header = problems_json(row, 1);
		bb_imp_reader_free(rd);
		return STAGE_HEADER_BAD;
	}
	PGresult *r = PQexec(pg, copy_sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		db_result_error(c, "db_import_copy", r);
		bb_imp_reader_free(rd);
		return STAGE_DB_ERROR;
	}
	PQclear(r);
	while ((got = bb_imp_next(rd, &fields, &n, &line, &why)) == 1) {
		row_no++;
		if (blank_record(fields, n))
			continue;
		if (*nrows == IMPORT_ROWS_MAX) {
			file_bad(out, "file-too-large", "the file has more than %d rows; split it",
			         IMPORT_ROWS_MAX);
			res = STAGE_FILE_BAD;
			break;
		}
		(*nrows)++;
		if (rq->progress != NULL && *nrows % PROGRESS_EVERY_ROWS == 0)
			import_progress_note(rq->progress, "reading", ftell(rq->file), bytes,
			                     *nrows);
		bb_imp_row_read(map, fields, n, &rq->opts, row);
		copy_row(&b, row_no, row);
		if (b.len >= COPY_CHUNK) {
			if (PQputCopyData(pg, b.data, (int)b.len) != 1) {
				res = STAGE_DB_ERROR;
				break;
			}
			b.len = 0;
		}
	}
	if (got < 0) {
		file_bad(out, "file-malformed", "line %ld: %s", line, why);
		res = STAGE_FILE_BAD;
	}
	if (res == STAGE_OK && b.len > 0 && PQputCopyData(pg, b.data, (int)b.len) != 1)
		res = STAGE_DB_ERROR;
	if (res == STAGE_OK && rq->progress != NULL)
		import_progress_note(rq->progress, "reading", bytes, bytes, *nrows);
	bb_buf_free(&b);
	bb_imp_reader_free(rd);
	PQputCopyEnd(pg, res == STAGE_OK ? NULL : "the import stopped");
	while ((r = PQgetResult(pg)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (res == STAGE_OK) {
				db_result_error(c, "db_import_copy", r);
				res = STAGE_DB_ERROR;
				continue;
			}
		}
		PQclear(r);
	}
	return res;
}

static void
add_facts(cJSON *report, const struct import_request *rq, const unsigned char *sha,
          const char *encoding, char sep, bool utf8_accents)
{
	char hex[2 * BB_IMP_HASH_LEN + 1];

	bb_hex_encode(hex, sha, BB_IMP_HASH_LEN);
	cJSON_AddBoolToObject(report, "dry_run", !rq->commit);
	cJSON_AddStringToObject(report, "sha256", hex);
	cJSON_AddStringToObject(report, "encoding", encoding);
	cJSON_AddStringToObject(report, "separator", sep == '\t' ? "tab" : sep == ';' ? ";" : ",");
	if (rq->filename != NULL)
		cJSON_AddStringToObject(report, "filename", rq->filename);
	if (strcmp(encoding, "UTF-8") != 0 && utf8_accents)
		cJSON_AddStringToObject(report, "encoding_warning",
		                        "the file is also valid UTF-8 with accents: if its letters "
		                        "look wrong, send it again without encoding");
}

static char *
finish(cJSON *report)
{
	char *text = cJSON_PrintUnformatted(report);

	cJSON_Delete(report);
	return text;
}

static enum bb_err
run_once(struct db_conn *c, const struct import_request *rq, const struct bb_imp_scan *scan,
         const char *encoding, char sep, struct import_result *out)
{
	char shahex[2 + 2 * BB_IMP_HASH_LEN + 1] = "\\x";
	struct bb_imp_row *row = bb_malloc(sizeof(*row));
	cJSON *header = NULL, *report = NULL;
	PGresult *res = NULL;
	long nrows;
	enum bb_err err;

	bb_hex_encode(shahex + 2, scan->sha256, BB_IMP_HASH_LEN);
	if ((err = db_begin(c)) != BB_OK)
		goto fail;
	/* 10^5 rows take longer than a request's per-statement limit. */
	if ((err = db_long_statements(c, 0)) != BB_OK ||
	    (err = db_exec(c, "db_import_begin", 0, NULL, NULL)) != BB_OK)
		goto fail;
	if (rq->progress != NULL) {
		if ((err = db_exec(c, "db_import_progress_on", 0, NULL, NULL)) != BB_OK)
			goto fail;
		import_progress_note(rq->progress, "reading", 0, scan->bytes, 0);
	}
	switch (stage(c, rq, encoding, sep, scan->bytes, out, row, &header, &nrows)) {
	case STAGE_OK:
		break;
	case STAGE_FILE_BAD:
		db_rollback(c);
		free(row);
		return BB_OK;
	case STAGE_DB_ERROR:
		err = BB_EINTERNAL;
		goto fail;
	case STAGE_HEADER_BAD:
		db_rollback(c);
		report = cJSON_CreateObject();
		cJSON_AddNumberToObject(report, "rows", 0);
		cJSON_AddNumberToObject(report, "problem_count", cJSON_GetArraySize(header));
		cJSON_AddItemToObject(report, "problems", header);
		add_facts(report, rq, scan->sha256, encoding, sep,
		          scan->bad_utf8_line == 0 && scan->non_ascii);
		out->outcome = rq->commit ? IMPORT_REFUSED : IMPORT_REPORT;
		out->json = finish(report);
		free(row);
		return BB_OK;
	}
	const char *check[] = { shahex, rq->timezone, rq->studies, rq->commit ? "true" : "false" };
	if (rq->progress != NULL)
		import_progress_note(rq->progress, "checking", 0, IMPORT_CHECK_STEPS, nrows);
	if ((err = db_exec(c, "db_import_check", 4, check, &res)) != BB_OK)
		goto fail;
	report = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (report == NULL) {
		err = BB_EINTERNAL;
		goto fail;
	}
	add_facts(report, rq, scan->sha256, encoding, sep,
	          scan->bad_utf8_line == 0 && scan->non_ascii);
	if (cJSON_IsTrue(cJSON_GetObjectItem(report, "already_imported"))) {
		db_rollback(c);
		out->outcome = IMPORT_UNCHANGED;
		out->json = finish(report);
		free(row);
		return BB_OK;
	}
	cJSON_AddBoolToObject(report, "already_imported", false);
	double problems = cJSON_GetNumberValue(cJSON_GetObjectItem(report, "problem_count"));
	cJSON *summary = cJSON_GetObjectItem(report, "summary");
	double fresh = cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "specimens"));
	if (problems > 0 || !rq->commit || fresh == 0) {
		db_rollback(c);
		out->outcome = problems > 0  ? (rq->commit ? IMPORT_REFUSED : IMPORT_REPORT)
		               : !rq->commit ? IMPORT_REPORT
		                             : IMPORT_UNCHANGED;
		out->json = finish(report);
		free(row);
		return BB_OK;
	}
	char *report_text = cJSON_PrintUnformatted(report);
	const char *commit[] = { shahex,      rq->filename, encoding,
		                 report_text, rq->actor,    rq->actor_id };
	err = db_exec(c, "db_import_commit", 6, commit, &res);
	free(report_text);
	if (err != BB_OK)
		goto fail;
	cJSON_AddItemToObject(report, "import", cJSON_Parse(PQgetvalue(res, 0, 0)));
	PQclear(res);
	res = NULL;
	if ((err = db_commit(c)) != BB_OK)
		goto fail;
	out->outcome = IMPORT_DONE;
	out->json = finish(report);
	free(row);
	return BB_OK;
fail:
	PQclear(res);
	cJSON_Delete(report);
	if (db_in_txn(c))
		db_rollback(c);
	free(row);
	return err;
}

enum bb_err
import_run(struct db_conn *c, const struct import_request *rq, struct import_result *out)
{
	struct bb_imp_scan scan;
	const char *encoding = rq->encoding;
	enum bb_err err;

	memset(out, 0, sizeof(*out));
	if (bb_imp_scan(rq->file, &scan) != BB_OK) {
		file_bad(out, "file-malformed", "the file cannot be read");
		return BB_OK;
	}
	if (scan.nul_line != 0) {
		file_bad(
		    out, "file-malformed",
		    "line %ld holds a NUL byte: this is not a text file as a spreadsheet saves "
		    "it",
		    scan.nul_line);
		return BB_OK;
	}
	/* Never guessed: UTF-8 (BOM or not) when it is that, else the caller says. */
	if (encoding == NULL || strcmp(encoding, "UTF-8") == 0) {
		if (scan.bad_utf8_line != 0) {
			file_bad(out, "encoding-unknown",
			         "line %ld is not UTF-8: say which encoding the file was saved in, "
			         "e.g. encoding=windows-1252 (Excel on Windows) or iso-8859-1",
			         scan.bad_utf8_line);
			return BB_OK;
		}
		encoding = "UTF-8";
	}
	char sep = rq->separator != 0 ? rq->separator : scan.separator;
	if (rq->progress != NULL)
		import_progress_hook(rq->progress, c);
	/* A deadlock with another writer: the whole import again, from the file. */
	for (int attempt = 0;; attempt++) {
		err = run_once(c, rq, &scan, encoding, sep, out);
		if (err != BB_ERETRY || attempt == 2)
			break;
	}
	if (rq->progress != NULL)
		import_progress_unhook(rq->progress, c);
	return err;
}
