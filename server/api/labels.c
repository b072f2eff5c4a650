/*
 * labels.c — tube labels: the label data labelgen prints from, previews
 * rendered by the label library for the bench page, prints recorded as
 * label_printed custody events, and printing through the printers named in
 * the daemon's configuration as print jobs.
 */
#include "cmd/config.h"
#include "api/api.h"

#include "ids.h"
#include "label.h"
#include "http/log.h"
#include "api/printers.h"
#include "api/label_templates.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt labels_statements[] = {
	{ "db_labels_get", "SELECT bb_labels_get($1::text[], $2::bigint[], $3)::text" },
	{ "db_label_get", "SELECT bb_label_get($1, $2::bigint[], $3)::text" },
	{ "db_label_printed",
	  "SELECT bb_label_printed($1, $2, $3::int, $4::bigint[], $5, $6::bigint)::text" },
	{ "db_print_job_create",
	  "SELECT bb_print_job_create($1::text[], $2, $3::int, $4, $5::int, $6::int, $7::bigint[], "
	  "$8, $9::bigint, $10)::text" },
	{ "db_print_job_retry", "SELECT bb_print_job_retry($1::bigint, $2::int, $3::bigint[], $4, "
	                        "$5::bigint, $6)::text" },
	{ "db_print_job_finish", "SELECT bb_print_job_finish($1::bigint, $2::int, $3::boolean, $4, "
	                         "$5, $6::bigint)::text" },
	{ "db_print_job_hold",
	  "SELECT bb_print_job_hold($1::bigint, $2::int, $3, $4, $5::bigint)::text" },
	{ "db_print_jobs_list", "SELECT bb_print_jobs_list($1, $2::int, $3, $4::bigint[])::text" },
	{ NULL, NULL },
};

static const char *const DEFAULT_TEMPLATE = "cryo-1.28x0.5in";
enum {
	PREVIEW_DPI = 300, /* the bench page shows previews at this resolution */
	PRINT_DPI = 203,   /* labelgen's default: most Zebra desktop printers */
};

/* The roll templates, for telling a client which names it may use. */
static const char *
template_names(struct srv_req *r)
{
	struct bb_buf b = { 0 };
	const struct lbl_template *t;

	for (size_t i = 0; (t = lbl_template_at(i)) != NULL; i++)
		if (!lbl_template_is_sheet(t))
			bb_buf_printf(&b, "%s%s", b.len ? ", " : "", lbl_template_name(t));
	for (size_t i = 0; (t = srv_template_at(r->srv->tpls, i)) != NULL; i++)
		if (!lbl_template_is_sheet(t))
			bb_buf_printf(&b, "%s%s", b.len ? ", " : "", lbl_template_name(t));
	char *s = bb_arena_strdup(&r->arena, b.data ? b.data : "");
	bb_buf_free(&b);
	return s;
}

/* A roll template by name, built in or the site's (a sheet prints only as
 * PDF); NULL after replying 400. */
static const struct lbl_template *
template_read(struct srv_req *r, const char *field, const char *name)
{
	const struct lbl_template *t = srv_template_find(r->srv->tpls, name);

	if (t == NULL) {
		reply_invalid_field(r, field, "\"%.64s\" is not a label template; use one of %s",
		                    name, template_names(r));
		return NULL;
	}
	if (lbl_template_is_sheet(t)) {
		reply_invalid_field(
		    r, field,
		    "%s is a sheet of labels for office printers (PDF only); use one "
		    "of %s",
		    name, template_names(r));
		return NULL;
	}
	return t;
}

/* The site's time zone (setting timezone, checked at start-up): labels carry
 * the collection's date there, not in UTC. */
static const char *
site_zone(const struct srv_req *r)
{
	const char *tz = r->srv->cfg->timezone;

	return tz && tz[0] ? tz : "UTC";
}

/* The resolutions the library lays labels out for (203, 300, 600 dpi). */
static bool
dpi_ok(int64_t dpi)
{
	return dpi > 0 && dpi <= 1200 && lbl_dpi_supported((int)dpi);
}

/*
 * A label item of the API (bb_label_json) as the label library takes it,
 * the way labelgen reads the same item: the lines the server sent replace
 * the fields under the ID. Strings borrow from item; lines come from a.
 */
static bool
label_from_json(struct bb_arena *a, const cJSON *item, struct lbl_data *d)
{
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(item, "lines"), *ln;
	size_t n = 0;

	memset(d, 0, sizeof(*d));
	d->id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "id"));
	d->type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "type"));
	d->participant =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "participant"));
	d->timepoint = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "timepoint"));
	const char *coll =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "collected_on"));
	d->collected = coll ? bb_arena_strdup(a, coll) : NULL;
	d->zone = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "timezone"));
	d->zone_offset = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "utc_offset"));
	if (d->id == NULL || !cJSON_IsArray(lines))
		return false;
	const char **arr =
	    bb_arena_alloc(a, ((size_t)cJSON_GetArraySize(lines) + 1) * sizeof(*arr));
	cJSON_ArrayForEach(ln, lines)
	{
		if (!cJSON_IsString(ln))
			return false;
		arr[n++] = ln->valuestring;
	}
	d->lines = arr;
	d->nlines = n;
	return true;
}

/* Labels from an {"items":[...]} answer; NULL (and *n = 0) when it has another shape. */
static struct lbl_data *
labels_from_json(struct bb_arena *a, const cJSON *root, size_t *n)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items"), *it;
	struct lbl_data *labels;
	size_t k = 0;

	*n = 0;
	if (!cJSON_IsArray(items) || cJSON_GetArraySize(items) == 0)
		return NULL;
	labels = bb_arena_alloc(a, (size_t)cJSON_GetArraySize(items) * sizeof(*labels));
	cJSON_ArrayForEach(it, items)
	{
		if (!label_from_json(a, it, &labels[k++]))
			return NULL;
	}
	*n = k;
	return labels;
}

struct fetch {
	const char *stmt;
	int nparams;
	const char *const *params;
	PGresult *res;
};

static enum bb_err
fetch_run(struct db_conn *c, void *arg)
{
	struct fetch *f = arg;

	PQclear(f->res);
	f->res = NULL;
	return db_exec(c, f->stmt, f->nparams, f->params, &f->res);
}

/* Runs a statement returning one JSON value and parses it; NULL after replying. */
static cJSON *
fetch_json(struct srv_req *r, const char *stmt, int nparams, const char *const *params)
{
	struct fetch f = { stmt, nparams, params, NULL };
	struct db_conn *db = req_db(r);
	cJSON *root = NULL;

	if (db == NULL)
		return NULL;
	enum bb_err err = db_txn_implicit(db, fetch_run, &f);
	if (err != BB_OK)
		reply_db_error(r, err);
	else if (PQntuples(f.res) != 1 || PQgetisnull(f.res, 0, 0))
		reply_problem(r, 404, NULL, "no such object");
	else if ((root = cJSON_Parse(PQgetvalue(f.res, 0, 0))) == NULL)
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
	PQclear(f.res);
	return root;
}

/* GET /api/v1/labels?ids=ID,ID,... */
void
h_labels_list(struct srv_req *r)
{
	const char *ids = req_query(r, "ids");
	struct bb_js_errors errs = { 0 };
	size_t n = 1;

	if (ids == NULL || *ids == '\0') {
		reply_invalid_field(r, "ids", "is required: specimen IDs separated by commas");
		return;
	}
	for (const char *p = ids; *p; p++)
		n += *p == ',';
	if (n > BB_LIST_LIMIT_MAX) {
		reply_invalid_field(r, "ids", "lists %zu IDs; at most %d are answered at once", n,
		                    BB_LIST_LIMIT_MAX);
		return;
	}
	const char **list = bb_arena_alloc(&r->arena, n * sizeof(*list));
	const char *p = ids;
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(p, ",");
		char *raw = bb_arena_strndup(&r->arena, p, len);
		char *field = bb_arena_printf(&r->arena, "ids[%zu]", i);

		if (len == 0)
			bb_js_error_add(&errs, &r->arena, field, "is empty");
		else
			list[i] = specimen_ref_read(r, raw, field, true, &errs);
		p += len + (p[len] == ',');
	}
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return;
	}
	const char *params[] = { db_array_literal(&r->arena, list, n), req_studies(r),
		                 site_zone(r) };
	reply_from_function(r, 200, "db_labels_get", 3, params);
}

/* GET /api/v1/specimens/{id}/label.png and label.svg: the label as the bench page previews it. */
static void
preview(struct srv_req *r, enum lbl_format format)
{
	const char *tpl_name = req_query(r, "template"), *size = req_query(r, "size");
	const char *dpi_text = req_query(r, "dpi");
	struct lbl_job job = { NULL, PREVIEW_DPI, 1, format };
	char why[LBL_WHY_MAX];

	if (tpl_name != NULL && size != NULL && strcmp(tpl_name, size) != 0) {
		reply_invalid_field(r, "size", "is another name for template; give one of them");
		return;
	}
	if ((job.tpl = template_read(r,
	                             tpl_name ? "template"
	                             : size   ? "size"
	                                      : "template",
	                             tpl_name ? tpl_name
	                             : size   ? size
	                                      : DEFAULT_TEMPLATE)) == NULL)
		return;
	if (dpi_text != NULL) {
		int64_t dpi;

		if (!bb_parse_int64(dpi_text, 1, 1200, &dpi) || !dpi_ok(dpi)) {
			reply_invalid_field(r, "dpi", "\"%.16s\" is not one of 203, 300, 600",
			                    dpi_text);
			return;
		}
		job.dpi = (int)dpi;
	}
	const char *ref = req_specimen_ref(r, r->params[0], NULL);
	if (ref == NULL)
		return;
	const char *params[] = { ref, req_studies(r), site_zone(r) };
	cJSON *root = fetch_json(r, "db_label_get", 3, params);
	if (root == NULL)
		return;
	struct lbl_data label;
	struct bb_buf out = { 0 };
	enum bb_err err = BB_EINTERNAL;
	if (label_from_json(&r->arena, root, &label))
		err = lbl_render(&job, &label, 1, &out, why);
	else
		snprintf(why, sizeof(why), "the database answered with no label data");
	cJSON_Delete(root);
	if (err == BB_EINVAL) {
		reply_problem(r, 400, NULL, "%s", why);
	} else if (err != BB_OK) {
		log_warnx("%s: cannot render %s: %s", __func__, ref, why);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
	} else {
		size_t len = out.len;

		reply_raw(r, 200, format == LBL_FMT_SVG ? "image/svg+xml" : "image/png",
		          bb_buf_steal(&out), len);
	}
	bb_buf_free(&out);
}

/* The route says which format (router.c); the path is not read again. */
void
h_labels_preview_png(struct srv_req *r)
{
	preview(r, LBL_FMT_PNG);
}

void
h_labels_preview_svg(struct srv_req *r)
{
	preview(r, LBL_FMT_SVG);
}

enum { LP_PRINTER, LP_COPIES, LP__MAX };
static const struct bb_js_field lp_fields[LP__MAX] = {
	[LP_PRINTER] = { "printer", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
	[LP_COPIES] = { "copies", BB_JS_INT, BB_JS_NULLABLE, 1, LBL_COPIES_MAX },
};
const struct bb_js_spec h_labels_printed_spec = BB_JS_SPEC(lp_fields);

/* POST /api/v1/specimens/{id}/label-printed: a print made by labelgen, recorded. */
void
h_labels_printed(struct srv_req *r)
{
	const char *ref = req_specimen_ref(r, r->params[0], NULL);

	if (ref == NULL)
		return;
	const char *params[] = {
		ref,
		r->in[LP_PRINTER].s,
		r->in[LP_COPIES].present
		    ? bb_arena_printf(&r->arena, "%lld", (long long)r->in[LP_COPIES].i)
		    : "1",
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 201, "db_label_printed", 6, params);
}

enum { PR_IDS, PR_PRINTER, PR_COPIES, PR_TEMPLATE, PR_DPI, PR__MAX };
static const struct bb_js_field pr_fields[PR__MAX] = {
	[PR_IDS] = { "ids", BB_JS_ARRAY, BB_JS_REQUIRED, 1, BB_LIST_LIMIT_MAX, NULL, NULL,
	             BB_JS_STRING },
	[PR_PRINTER] = { "printer", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[PR_COPIES] = { "copies", BB_JS_INT, BB_JS_NULLABLE, 1, LBL_COPIES_MAX },
	[PR_TEMPLATE] = { "template", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[PR_DPI] = { "dpi", BB_JS_INT, BB_JS_NULLABLE, 1, 100000 },
};
const struct bb_js_spec h_labels_print_spec = BB_JS_SPEC(pr_fields);

/*
 * A print goes in three steps, none of which waits on a printer while
 * holding anything shared:
 *  1. one short transaction checks the specimens and records a pending
 *     print job (or a retry's new attempt); the labels are rendered from
 *     the label data it returns and the request answers, provisionally,
 *     202 with the pending job;
 *  2. with no transaction and no pooled connection, on a thread of its own
 *     (req_defer), the ZPL goes to the printer;
 *  3. a second transaction records the outcome: the label_printed events
 *     and the job sent, or the job failed with the printer's error. The
 *     answer becomes 200 with the job and its events, or 502.
 * A crash between 1 and 3 leaves the job pending, visible at
 * GET /api/v1/print-jobs?state=pending and sent again by
 * POST /api/v1/print-jobs/{id}/retry.
 */

/* One attempt at a job: what the thread sends and what the printer did. */
struct print_send {
	char *job_id, *attempt, *printer; /* from the job, arena memory */
	const char *uri;
	char *zpl; /* arena memory: a forgotten deferral leaks nothing */
	size_t zpl_len;
	int timeout_ms;
	size_t count;    /* labels in the job */
	enum bb_err err; /* the printer's answer: BB_OK when it took the labels */
	char why[LBL_WHY_MAX];
};

enum print_failure {
	PRINT_OK,
	PRINT_RENDER,
	PRINT_PRINTER_GONE,
	PRINT_TEMPLATE_GONE,
	PRINT_INTERNAL
};

/* Step 1 as db_txn runs it: the statement that records the attempt, then the rendering. */
struct print_begin {
	struct srv_req *r;
	const char *stmt;
	int nparams;
	const char *const *params;
	struct print_send *ps; /* filled in on success */
	cJSON *job;            /* the pending job, for the provisional answer */
	enum print_failure failure;
	char why[LBL_WHY_MAX];
};

static int
print_timeout_ms(const struct srv_req *r)
{
	return (int)r->srv->cfg->print_timeout * 1000;
}

/*
 * How long after its send began a pending job may still be printing: the
 * connect, the writes (a job is a few writes at most) and the printer's
 * confirmation each get the timeout.
 */
static const char *
print_lease_s(struct srv_req *r)
{
	return bb_arena_printf(&r->arena, "%u", 3 * r->srv->cfg->print_timeout + 5);
}

static char *
json_text(struct bb_arena *a, const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsString(v))
		return bb_arena_strdup(a, v->valuestring);
	if (cJSON_IsNumber(v))
		return bb_arena_printf(a, "%lld", (long long)v->valuedouble);
	return NULL;
}

static enum bb_err
print_begin_txn(struct db_conn *c, void *arg)
{
	struct print_begin *pb = arg;
	struct bb_arena *a = &pb->r->arena;
	PGresult *res = NULL;
	enum bb_err err = db_exec(c, pb->stmt, pb->nparams, pb->params, &res);

	cJSON_Delete(pb->job);
	pb->job = NULL;
	pb->failure = PRINT_OK;
	if (err != BB_OK)
		return err;
	cJSON *root = PQntuples(res) == 1 ? cJSON_Parse(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	cJSON *job = cJSON_GetObjectItemCaseSensitive(root, "job");
	struct print_send *ps = bb_arena_alloc(a, sizeof(*ps));
	size_t n = 0;
	struct lbl_data *labels = labels_from_json(a, root, &n);
	const char *tpl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "template"));
	struct lbl_job lj = {
		tpl ? srv_template_find(pb->r->srv->tpls, tpl) : NULL,
		(int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(job, "dpi")),
		(int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(job, "copies")),
		LBL_FMT_ZPL
	};
	struct bb_buf zpl = { 0 };

	memset(ps, 0, sizeof(*ps));
	ps->job_id = json_text(a, job, "id");
	ps->attempt = json_text(a, job, "attempts");
	ps->printer = json_text(a, job, "printer");
	ps->timeout_ms = print_timeout_ms(pb->r);
	ps->count = n;
	if (tpl != NULL && lj.tpl == NULL) {
		/* A retry of a job whose site template left the label_templates folder. */
		snprintf(pb->why, sizeof(pb->why),
		         "print job %s uses label template %s, which this server no longer has",
		         ps->job_id ? ps->job_id : "?", tpl);
		pb->failure = PRINT_TEMPLATE_GONE;
		err = BB_ECONFLICT;
	} else if (labels == NULL || lj.tpl == NULL || ps->job_id == NULL || ps->attempt == NULL ||
	           ps->printer == NULL) {
		snprintf(pb->why, sizeof(pb->why), "the database answered with no print job");
		pb->failure = PRINT_INTERNAL;
		err = BB_EINTERNAL;
	} else if ((ps->uri = srv_printers_uri(pb->r->srv->printers, ps->printer)) == NULL) {
		/* A retry of a job whose printer left the configuration. */
		snprintf(pb->why, sizeof(pb->why),
		         "print job %s goes to printer %s, which this server no longer has",
		         ps->job_id, ps->printer);
		pb->failure = PRINT_PRINTER_GONE;
		err = BB_ECONFLICT;
	} else if ((err = lbl_render(&lj, labels, n, &zpl, pb->why)) != BB_OK) {
		pb->failure = PRINT_RENDER;
	} else {
		ps->zpl_len = zpl.len;
		ps->zpl = bb_arena_alloc(a, zpl.len + 1);
		memcpy(ps->zpl, zpl.data, zpl.len);
		pb->ps = ps;
		pb->job = cJSON_DetachItemFromObjectCaseSensitive(root, "job");
	}
	bb_buf_free(&zpl);
	cJSON_Delete(root);
	return err;
}

/* Step 2, on the deferred work's thread: nothing but the printer. */
static void
print_work(void *arg)
{
	struct print_send *ps = arg;

	ps->err = lbl_printer_send(ps->uri, ps->zpl, ps->zpl_len, ps->timeout_ms, ps->why);
}

/*
 * A 502 with the failed job in it, so that the client can retry it by its
 * id; or a 503 printer-not-ready when the printer said it cannot print, the
 * job still pending.
 */
static void
reply_printer_failed(struct srv_req *r, const struct print_send *ps, cJSON *job)
{
	bool held = ps->err == BB_ECONFLICT;
	const struct problem_code *pc = problem_code_find("printer-not-ready");
	char *detail =
	    held ? bb_arena_printf(&r->arena,
	                           "printer %s: %s. Print job %s stays pending: retry it "
	                           "(POST /api/v1/print-jobs/%s/retry) once the printer is ready",
	                           ps->printer, ps->why, ps->job_id, ps->job_id)
	         : bb_arena_printf(&r->arena, "printer %s failed: %s (print job %s)", ps->printer,
	                           ps->why, ps->job_id);
	unsigned status = held && pc ? pc->status : 502;
	char *text = problem_json(status, held && pc ? pc->title : "Printer failed", detail, NULL);
	cJSON *o = cJSON_Parse(text);

	free(text);
	if (held && pc)
		cJSON_ReplaceItemInObjectCaseSensitive(o, "code", cJSON_CreateString(pc->code));
	cJSON_AddItemToObject(o, "job", job);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	reply_raw(r, status, "application/problem+json", text, strlen(text));
}

/* Step 3, after the send (on the same thread): the outcome recorded, the final answer. */
static enum bb_err
print_done(struct srv_req *r, void *arg)
{
	struct print_send *ps = arg;
	bool sent = ps->err == BB_OK, held = ps->err == BB_ECONFLICT;
	const char *params[] = {
		ps->job_id,   ps->attempt,     sent ? "true" : "false", sent ? NULL : ps->why,
		req_actor(r), req_actor_id(r),
	};
	const char *hold_params[] = { ps->job_id, ps->attempt, ps->why, req_actor(r),
		                      req_actor_id(r) };
	/* A printer that said it cannot print was given nothing: the job waits. */
	struct fetch f = held ? (struct fetch){ "db_print_job_hold", 5, hold_params, NULL }
	                      : (struct fetch){ "db_print_job_finish", 6, params, NULL };
	struct db_conn *db = req_db(r);
	enum bb_err err;

	if (!sent)
		log_info("request %s: printer %s failed (job %s): %s", r->id, ps->printer,
		         ps->job_id, ps->why);
	if (db == NULL)
		return BB_EDBDOWN;
	if ((err = db_txn(db, fetch_run, &f)) != BB_OK) {
		PQclear(f.res);
		if (err == BB_ECONFLICT || err == BB_ENOTFOUND) {
			reply_db_error(r, err);
		} else {
			log_warnx(
			    "%s: print job %s: printer %s %s, but the outcome is not recorded",
			    __func__, ps->job_id, ps->printer, sent ? "took it" : "failed");
			reply_problem_code(r, "unavailable", NULL,
			                   "printer %s %s, but the outcome could not be recorded: "
			                   "print job %s stays pending (GET /api/v1/print-jobs/%s)",
			                   ps->printer, sent ? "took the labels" : "failed",
			                   ps->job_id, ps->job_id);
		}
		return err;
	}
	cJSON *root = cJSON_Parse(PQgetvalue(f.res, 0, 0));
	PQclear(f.res);
	cJSON *job = cJSON_DetachItemFromObjectCaseSensitive(root, "job");
	if (job == NULL) {
		cJSON_Delete(root);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		return BB_EINTERNAL;
	}
	if (!sent) {
		cJSON_Delete(root);
		reply_printer_failed(r, ps, job);
		return BB_OK;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "printed", (double)ps->count);
	cJSON_AddStringToObject(o, "printer", ps->printer);
	cJSON_AddItemToObject(o, "job", job);
	cJSON_AddItemToObject(o, "events", cJSON_DetachItemFromObjectCaseSensitive(root, "events"));
	cJSON_Delete(root);
	reply_json(r, 200, o);
	return BB_OK;
}

/*
 * Step 1 for a new job or a retry: record the attempt, render, answer 202
 * with the pending job and defer steps 2 and 3. Replies itself on failure.
 */
static void
print_begin(struct srv_req *r, const char *stmt, int nparams, const char *const *params)
{
	struct print_begin pb = { .r = r, .stmt = stmt, .nparams = nparams, .params = params };
	struct db_conn *db = req_db(r);

	if (db == NULL)
		return;
	enum bb_err err = db_txn(db, print_begin_txn, &pb);
	if (err == BB_OK) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, "job", pb.job);
		reply_json(r, 202, o);
		req_defer(r, print_work, print_done, pb.ps);
		return;
	}
	cJSON_Delete(pb.job);
	switch (pb.failure) {
	case PRINT_RENDER:
		reply_problem(r, 400, NULL, "%s", pb.why);
		break;
	case PRINT_PRINTER_GONE:
		reply_problem_code(r, "printer-not-configured", NULL, "%s", pb.why);
		break;
	case PRINT_TEMPLATE_GONE:
		reply_problem(r, 409, NULL, "%s", pb.why);
		break;
	case PRINT_INTERNAL:
		log_warnx("%s: %s", __func__, pb.why);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		break;
	case PRINT_OK:
		reply_db_error(r, err);
		break;
	}
}

/* POST /api/v1/print: render ZPL and send it to a configured printer, recording each print. */
void
h_labels_print(struct srv_req *r)
{
	const struct bb_js_value *in = r->in, *ids = &in[PR_IDS];
	const char *printer = in[PR_PRINTER].s;
	struct lbl_job job = { NULL, PRINT_DPI, 1, LBL_FMT_ZPL };
	struct bb_js_errors errs = { 0 };
	const char **list = bb_arena_alloc(&r->arena, ids->n * sizeof(*list));

	for (size_t i = 0; i < ids->n; i++) {
		char *field = bb_arena_printf(&r->arena, "ids[%zu]", i);

		list[i] = specimen_ref_read(r, ids->items[i].s, field, true, &errs);
		for (size_t k = 0; list[i] != NULL && k < i; k++) {
			if (list[k] != NULL && strcmp(list[k], list[i]) == 0) {
				bb_js_error_add(
				    &errs, &r->arena, field,
				    "%s is listed twice (as ids[%zu]); use copies for more "
				    "labels",
				    list[i], k);
				break;
			}
		}
	}
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return;
	}
	if (srv_printers_uri(r->srv->printers, printer) == NULL) {
		struct bb_buf names = { 0 };

		for (size_t i = 0; i < srv_printers_count(r->srv->printers); i++)
			bb_buf_printf(&names, "%s%s", i ? ", " : "",
			              srv_printers_name(r->srv->printers, i));
		if (names.len > 0)
			reply_invalid_field(r, "printer",
			                    "\"%s\" is not a configured printer; known: %s",
			                    printer, names.data);
		else
			reply_invalid_field(
			    r, "printer",
			    "\"%s\" is not a configured printer; this server has none "
			    "configured",
			    printer);
		bb_buf_free(&names);
		return;
	}
	const char *tpl_name = in[PR_TEMPLATE].present ? in[PR_TEMPLATE].s : DEFAULT_TEMPLATE;
	if ((job.tpl = template_read(r, "template", tpl_name)) == NULL)
		return;
	if (in[PR_DPI].present) {
		if (!dpi_ok(in[PR_DPI].i)) {
			reply_invalid_field(r, "dpi", "%lld is not one of 203, 300, 600",
			                    (long long)in[PR_DPI].i);
			return;
		}
		job.dpi = (int)in[PR_DPI].i;
	}
	if (in[PR_COPIES].present)
		job.copies = (int)in[PR_COPIES].i;

	const char *params[] = {
		db_array_literal(&r->arena, list, ids->n),
		printer,
		bb_arena_printf(&r->arena, "%d", job.copies),
		lbl_template_name(job.tpl),
		bb_arena_printf(&r->arena, "%d", job.dpi),
		print_lease_s(r),
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
		site_zone(r),
	};
	print_begin(r, "db_print_job_create", 10, params);
}

/* POST /api/v1/print-jobs/{id}/retry: send a failed job, or one a crash left pending, again. */
void
h_print_jobs_retry(struct srv_req *r)
{
	const char *id = req_id_param(r, 0, "print job");

	if (id == NULL)
		return;
	const char *params[] = { id,           print_lease_s(r), req_studies(r),
		                 req_actor(r), req_actor_id(r),  site_zone(r) };
	print_begin(r, "db_print_job_retry", 6, params);
}

/* GET /api/v1/print-jobs?state=pending|sent|failed */
void
h_print_jobs_list(struct srv_req *r)
{
	static const char *const states[] = { "pending", "sent", "failed", NULL };
	const char *state = req_query(r, "state");
	struct page pg;

	if (state != NULL && *state == '\0')
		state = NULL;
	if (state != NULL) {
		bool known = false;

		for (const char *const *c = states; *c; c++)
			known = known || strcmp(*c, state) == 0;
		if (!known) {
			reply_invalid_field(r, "state", "must be one of: pending, sent, failed");
			return;
		}
	}
	if (!req_page(r, PAGE_PRINT_JOBS, &pg))
		return;
	const char *params[] = { state, pg.limit, pg.cursor, req_studies(r) };
	reply_from_function(r, 200, "db_print_jobs_list", 4, params);
}
