/*
 * imports.c — inventory imports (docs/import.md): POST /api/v1/imports takes
 * the file itself as the body (spooled to a temporary file by server.c, read
 * twice from there, never whole in memory), a dry run unless ?commit=true;
 * with ?progress=NAME, how far it is goes to import_progress as it runs
 * (db/import_progress.h; GET /api/v1/imports/NAME/progress is bound to SQL
 * in router.c). GET /api/v1/imports/template is the template as CSV.
 */
#include "api/api.h"
#include "cmd/config.h"
#include "db/import.h"
#include "http/log.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The template: the columns in order, then one example row of each kind (docs/import.md). */
static const char template_csv[] =
    "key,study,participant_code,sex,birth_year,diagnosis,consent_scope,consent_status,"
    "consent_date,consent_version,specimen_type,timepoint,collected_at,quantity,unit,"
    "tube_barcode,parent,location_path,box_barcode,box_grid,position,status,"
    "freeze_thaw_count,legacy_id,notes\r\n"
    "R1,MASC,MASC-0007,F,1961,DM,biobank,given,2016-03-02,v2.1,whole_blood,M0,"
    "2016-03-14T08:40:00+01:00,10,mL,,,,,,,consumed,0,OLD-00001,tube principal\r\n"
    "R2,MASC,MASC-0007,,,,,,,,serum,M0,2016-03-14T09:15:00+01:00,0.5,mL,FD00000002,R1,"
    "Site / Room / Freezer -80 / Shelf 2,BOX-017,9x9,A1,in_storage,1,OLD-00002,\r\n";

void
h_imports_template(struct srv_req *r)
{
	reply_header(r, "Content-Disposition",
	             "attachment; filename=\"biobank-import-template.csv\"");
	reply_raw(r, 200, "text/csv; charset=utf-8", bb_strdup(template_csv), strlen(template_csv));
}

/* ?commit=: true or false only, so that a typo never commits. */
static bool
read_commit(struct srv_req *r, bool *commit)
{
	const char *v = req_query(r, "commit");

	*commit = false;
	if (v == NULL || strcmp(v, "false") == 0)
		return true;
	if (strcmp(v, "true") == 0) {
		*commit = true;
		return true;
	}
	reply_invalid_field(r, "commit", "must be true (write) or false (a dry run, the default)");
	return false;
}

static bool
read_separator(struct srv_req *r, char *sep)
{
	const char *v = req_query(r, "separator");

	*sep = 0;
	if (v == NULL)
		return true;
	if (strcmp(v, ",") == 0 || strcasecmp(v, "comma") == 0)
		*sep = ',';
	else if (strcmp(v, ";") == 0 || strcasecmp(v, "semicolon") == 0)
		*sep = ';';
	else if (strcmp(v, "\t") == 0 || strcasecmp(v, "tab") == 0)
		*sep = '\t';
	else {
		reply_invalid_field(r, "separator", "must be comma, semicolon or tab");
		return false;
	}
	return true;
}

static int
this_year(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	return tm.tm_year + 1900;
}

/* The answer's problem code: a failed import's progress names it. */
static char *
answer_code(const struct srv_req *r)
{
	cJSON *j = r->resp_body ? cJSON_ParseWithLength(r->resp_body, r->resp_len) : NULL;
	const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(j, "code"));
	char *out = bb_strdup(code ? code : "internal-error");

	cJSON_Delete(j);
	return out;
}

/* The counts of a finished import's report, for its progress (docs/import.md, "Progress"). */
static char *
outcome_counts(const char *report)
{
	static const char *const keep[] = { "rows",           "problem_count",
		                            "existing_count", "already_imported",
		                            "summary",        NULL };
	cJSON *j = cJSON_Parse(report), *out = cJSON_CreateObject();

	for (int i = 0; keep[i] != NULL; i++) {
		cJSON *v = cJSON_GetObjectItem(j, keep[i]);
		if (v != NULL)
			cJSON_AddItemToObject(out, keep[i], cJSON_Duplicate(v, true));
	}
	cJSON *imp = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "import"), "id");
	if (imp != NULL)
		cJSON_AddItemToObject(out, "import_id", cJSON_Duplicate(imp, true));
	char *text = cJSON_PrintUnformatted(out);

	cJSON_Delete(out);
	cJSON_Delete(j);
	return text;
}

/* Tell the progress how the import ended, from the answer given. */
static void
progress_end(struct srv_req *r, struct import_progress *p, enum bb_err err,
             const struct import_result *res)
{
	char *code = NULL, *outcome = NULL;

	if (p == NULL)
		return;
	if (err != BB_OK || res->outcome == IMPORT_FILE_BAD || res->outcome == IMPORT_REFUSED)
		code = answer_code(r);
	if (err == BB_OK && res->json != NULL)
		outcome = outcome_counts(res->json);
	import_progress_end(p, code, outcome);
	free(code);
	free(outcome);
}

/* ?progress=NAME: the client's name for this import; *p NULL without one. False: answered. */
static bool
progress_start(struct srv_req *r, bool commit, struct import_progress **p)
{
	const char *name = req_query(r, "progress");
	char why[256] = "";

	*p = NULL;
	if (name == NULL)
		return true;
	if (!import_progress_name_ok(name)) {
		reply_invalid_field(r, "progress",
		                    "must be 8 to 64 letters, digits, '.', '_' or '-' (a name the "
		                    "page makes, such as a UUID)");
		return false;
	}
	enum bb_err err =
	    import_progress_start(r->srv->cfg->database_url, req_actor_id(r), name, !commit,
	                          (long long)r->spool_len, p, why, sizeof(why));
	if (err == BB_ECONFLICT) {
		reply_problem_code(r, "import-in-progress", NULL,
		                   "your import named %s is still running: wait for it to end, or "
		                   "name this one otherwise",
		                   name);
		return false;
	}
	if (err != BB_OK) {
		/* PostgreSQL's words go to the log, not to the client. */
		log_warnx("import %s: its progress cannot be started: %s", name, why);
		reply_problem(r, 503, NULL, "the import cannot be followed now; send it again");
		return false;
	}
	return true;
}

void
h_imports_create(struct srv_req *r)
{
	struct import_request rq = { 0 };
	struct import_result res;
	const char *bad = NULL, *enc = req_query(r, "encoding");
	struct db_conn *c;

	if (!read_commit(r, &rq.commit) || !read_separator(r, &rq.separator))
		return;
	if (!bb_imp_opts_read(&rq.opts, req_query(r, "date_format"), req_query(r, "decimal"),
	                      req_query(r, "locale"), &bad)) {
		reply_invalid_field(r, bad,
		                    strcmp(bad, "date_format") == 0
		                        ? "must be iso, dd/mm/yyyy or mm/dd/yyyy"
		                    : strcmp(bad, "decimal") == 0
		                        ? "must be point or comma"
		                        : "is not a locale this import knows (docs/import.md)");
		return;
	}
	rq.opts.this_year = this_year();
	if (enc != NULL && !bb_imp_encoding(enc, &rq.encoding)) {
		reply_invalid_field(r, "encoding",
		                    "must be utf-8, windows-1252, iso-8859-1 or iso-8859-15");
		return;
	}
	rq.timezone = req_query(r, "timezone") ? req_query(r, "timezone") : "UTC";
	rq.filename = req_query(r, "filename");
	if (rq.filename != NULL &&
	    (strlen(rq.filename) > 255 || !bb_utf8_valid(rq.filename, strlen(rq.filename)))) {
		reply_invalid_field(r, "filename", "must be at most 255 bytes of UTF-8");
		return;
	}
	rq.file = r->spool;
	rq.actor = req_actor(r);
	rq.actor_id = req_actor_id(r);
	rq.studies = req_studies(r);
	if ((c = req_db(r)) == NULL || !progress_start(r, rq.commit, &rq.progress))
		return;
	enum bb_err err = import_run(c, &rq, &res);
	if (err != BB_OK) {
		reply_db_error(r, err);
		progress_end(r, rq.progress, err, &res);
		return;
	}
	switch (res.outcome) {
	case IMPORT_FILE_BAD:
		reply_problem_code(r, res.code, NULL, "%s", res.message);
		break;
	case IMPORT_REFUSED: {
		cJSON *facts = cJSON_Parse(res.json);
		double n = cJSON_GetNumberValue(cJSON_GetObjectItem(facts, "problem_count"));
		reply_problem_facts(
		    r, "import-invalid", facts,
		    "%.0f problem%s in the file: nothing was written (each is listed "
		    "in problems by row and column)",
		    n, n == 1 ? "" : "s");
		break;
	}
	case IMPORT_DONE:
		reply_json_text(r, 201, res.json);
		break;
	case IMPORT_REPORT:
	case IMPORT_UNCHANGED:
		reply_json_text(r, 200, res.json);
		break;
	}
	progress_end(r, rq.progress, BB_OK, &res);
	free(res.json);
}
