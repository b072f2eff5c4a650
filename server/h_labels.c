/*
 * h_labels.c — tube labels: the label data labelgen prints from, previews
 * rendered by the label library for the bench page, prints recorded as
 * label_printed custody events, and printing through the printers named in
 * the daemon's configuration.
 */
#include "handlers.h"

#include "ids.h"
#include "label.h"
#include "log.h"
#include "printers.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const DEFAULT_TEMPLATE = "cryo-1.28x0.5in";
enum {
	PREVIEW_DPI = 300, /* the bench page shows previews at this resolution */
	PRINT_DPI = 203,   /* labelgen's default: most Zebra desktop printers */
	PRINT_TIMEOUT_MS = 10000,
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
	char *s = bb_arena_strdup(&r->arena, b.data ? b.data : "");
	bb_buf_free(&b);
	return s;
}

/* A roll template by name (a sheet prints only as PDF); NULL after replying 400. */
static const struct lbl_template *
template_read(struct srv_req *r, const char *field, const char *name)
{
	const struct lbl_template *t = lbl_template_find(name);

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
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "collected_at"));
	d->collected = coll ? bb_arena_strndup(a, coll, 10) : NULL;
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
	const char *params[] = { db_array_literal(&r->arena, list, n), req_studies(r) };
	reply_from_function(r, 200, "db_labels_get", 2, params);
}

/* GET /api/v1/specimens/{id}/label.png and label.svg: the label as the bench page previews it. */
void
h_labels_preview(struct srv_req *r)
{
	const char *ext = strrchr(r->path, '.');
	enum lbl_format format = strcmp(ext, ".svg") == 0 ? LBL_FMT_SVG : LBL_FMT_PNG;
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
	const char *params[] = { ref, req_studies(r) };
	cJSON *root = fetch_json(r, "db_label_get", 2, params);
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

enum print_failure { PRINT_OK, PRINT_RENDER, PRINT_PRINTER };

struct print_run {
	struct srv_req *r;
	const char *const *params;
	const char *uri;
	struct lbl_job job;
	bool sent; /* the printer took the labels: a retry only records */
	enum print_failure failure;
	char why[LBL_WHY_MAX];
};

/*
 * In one transaction: lock the specimens and write their events
 * (bb_labels_print), render the labels it returns and send them. A printer
 * that fails rolls the events back; a retried transaction does not print
 * twice.
 */
static enum bb_err
print_txn(struct db_conn *c, void *arg)
{
	struct print_run *pr = arg;
	PGresult *res = NULL;
	enum bb_err err = db_exec(c, "db_labels_print", 7, pr->params, &res);

	if (err != BB_OK || pr->sent) {
		PQclear(res);
		return err;
	}
	cJSON *root = PQntuples(res) == 1 ? cJSON_Parse(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	size_t n;
	struct lbl_data *labels = labels_from_json(&pr->r->arena, root, &n);
	struct bb_buf zpl = { 0 };

	if (labels == NULL) {
		snprintf(pr->why, sizeof(pr->why), "the database answered with no label data");
		err = BB_EINTERNAL;
	} else if ((err = lbl_render(&pr->job, labels, n, &zpl, pr->why)) != BB_OK) {
		pr->failure = PRINT_RENDER;
	} else {
		/* From here labels may be on paper even when the send fails (the printer
		 * took them, then the connection timed out): the request's runner must not
		 * run this handler again, whatever happens to the transaction. */
		pr->r->side_effect = true;
		if ((err = lbl_printer_send(pr->uri, zpl.data, zpl.len, PRINT_TIMEOUT_MS,
		                            pr->why)) != BB_OK) {
			pr->failure = PRINT_PRINTER;
			err = BB_EIO;
		} else {
			pr->sent = true;
		}
	}
	bb_buf_free(&zpl);
	cJSON_Delete(root);
	return err;
}

/* POST /api/v1/print: render ZPL and send it to a configured printer, recording each print. */
void
h_labels_print(struct srv_req *r)
{
	const struct bb_js_value *in = r->in, *ids = &in[PR_IDS];
	const char *printer = in[PR_PRINTER].s;
	struct print_run pr = { .r = r, .job = { NULL, PRINT_DPI, 1, LBL_FMT_ZPL } };
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
	if ((pr.uri = srv_printers_uri(r->srv->printers, printer)) == NULL) {
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
	if ((pr.job.tpl = template_read(r, "template", tpl_name)) == NULL)
		return;
	if (in[PR_DPI].present) {
		if (!dpi_ok(in[PR_DPI].i)) {
			reply_invalid_field(r, "dpi", "%lld is not one of 203, 300, 600",
			                    (long long)in[PR_DPI].i);
			return;
		}
		pr.job.dpi = (int)in[PR_DPI].i;
	}
	if (in[PR_COPIES].present)
		pr.job.copies = (int)in[PR_COPIES].i;

	struct db_conn *db = req_db(r);
	if (db == NULL)
		return;
	const char *params[] = {
		db_array_literal(&r->arena, list, ids->n),
		printer,
		bb_arena_printf(&r->arena, "%d", pr.job.copies),
		lbl_template_name(pr.job.tpl),
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	pr.params = params;
	enum bb_err err = db_txn(db, print_txn, &pr);
	if (err == BB_OK) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "printed", (double)ids->n);
		cJSON_AddStringToObject(o, "printer", printer);
		reply_json(r, 200, o);
	} else if (pr.failure == PRINT_PRINTER) {
		log_info("printer %s failed: %s", printer, pr.why);
		reply_problem(r, 502, "Printer failed", "printer %s failed: %s", printer, pr.why);
	} else if (pr.failure == PRINT_RENDER) {
		reply_problem(r, 400, NULL, "%s", pr.why);
	} else if (err == BB_EINTERNAL && pr.why[0]) {
		log_warnx("%s: %s", __func__, pr.why);
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
	} else {
		reply_db_error(r, err);
	}
}
