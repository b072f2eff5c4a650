/* bind.c — the one handler of routes bound to a SQL function (bind.h). */
#include "http/bind.h"

#include "db/db.h"

#include <stdio.h>
#include <string.h>

/*
 * The body field name ("a", or "a.b" inside the object a) as text for SQL,
 * written as its type says; NULL when absent or null.
 */
static const char *
body_text(struct srv_req *r, const char *name)
{
	const struct bb_js_spec *spec = r->route->spec;
	const struct bb_js_value *vals = r->in;

	while (spec != NULL && vals != NULL) {
		size_t len = strcspn(name, "."), k = 0;

		while (k < spec->count &&
		       (spec->fields[k].name == NULL || strlen(spec->fields[k].name) != len ||
		        strncmp(spec->fields[k].name, name, len) != 0))
			k++;
		if (k == spec->count || !vals[k].present)
			return NULL;
		if (name[len] != '\0') {
			spec = spec->fields[k].sub;
			vals = vals[k].obj;
			name += len + 1;
			continue;
		}
		const struct bb_js_value *v = &vals[k];
		switch (spec->fields[k].type) {
		case BB_JS_INT:
			return bb_arena_printf(&r->arena, "%lld", (long long)v->i);
		case BB_JS_NUMBER:
			/* 15 digits: what a person typed (0.1) comes back as typed. */
			return bb_arena_printf(&r->arena, "%.15g", v->d);
		case BB_JS_BOOL:
			return v->b ? "true" : "false";
		default:
			return v->s;
		}
	}
	return NULL;
}

static const char *
query_text(struct srv_req *r, const char *name)
{
	const char *s = req_query(r, name);

	return s != NULL && *s != '\0' ? s : NULL;
}

void
h_sql(struct srv_req *r)
{
	const struct sql_call *c = r->route->sql;
	const char *params[SQL_ARGS_MAX];
	struct page pg = { 0 };
	int n;

	if (c->paged && !req_page(r, c->page, &pg))
		return;
	for (n = 0; n < SQL_ARGS_MAX && c->args[n].from != ARG_END; n++) {
		const struct sql_arg *a = &c->args[n];

		switch (a->from) {
		case ARG_PATH:
			params[n] = r->params[a->i];
			break;
		case ARG_PATH_ID:
			if ((params[n] = req_id_param(r, a->i, a->name)) == NULL)
				return;
			break;
		case ARG_PATH_REF:
			if ((params[n] = req_specimen_ref(r, r->params[a->i], NULL)) == NULL)
				return;
			break;
		case ARG_BODY:
			params[n] = body_text(r, a->name);
			break;
		case ARG_QUERY:
			params[n] = query_text(r, a->name);
			break;
		case ARG_STUDIES:
			params[n] = req_studies(r);
			break;
		case ARG_ACTOR:
			params[n] = req_actor(r);
			break;
		case ARG_ACTOR_ID:
			params[n] = req_actor_id(r);
			break;
		case ARG_CONST:
			params[n] = a->name;
			break;
		case ARG_NULL:
			params[n] = NULL;
			break;
		case ARG_PAGE_SIZE:
			params[n] = pg.limit;
			break;
		case ARG_CURSOR:
			params[n] = pg.cursor;
			break;
		case ARG_AFTER:
			params[n] = pg.after != NULL ? pg.after : "0";
			break;
		case ARG_END:
			break;
		}
	}
	if (c->paged)
		reply_page(r, c->page, c->fn, n, params);
	else if (c->whole_db)
		reply_from_report(r, c->status, c->fn, n, params);
	else if (strcmp(r->route->method, "GET") == 0)
		/* A GET's function only reads (bind.h): it may be sent again. */
		reply_from_read(r, c->status, c->fn, n, params);
	else
		reply_from_function(r, c->status, c->fn, n, params);
}

/* Whether spec (walking into objects) has the field name ("a" or "a.b"). */
static bool
spec_has(const struct bb_js_spec *spec, const char *name)
{
	while (spec != NULL) {
		size_t len = strcspn(name, ".");
		const struct bb_js_field *f = NULL;

		for (size_t k = 0; k < spec->count && f == NULL; k++)
			if (spec->fields[k].name != NULL && strlen(spec->fields[k].name) == len &&
			    strncmp(spec->fields[k].name, name, len) == 0)
				f = &spec->fields[k];
		if (f == NULL)
			return false;
		if (name[len] == '\0')
			return true;
		spec = f->sub;
		name += len + 1;
	}
	return false;
}

static int
arg_count(const struct sql_call *c)
{
	int n = 0;

	while (n < SQL_ARGS_MAX && c->args[n].from != ARG_END)
		n++;
	return n;
}

struct db_stmt *
bind_statements(struct bb_arena *a)
{
	struct db_stmt *list = bb_arena_alloc(a, (route_count + 1) * sizeof(*list));
	size_t n = 0;

	for (size_t i = 0; i < route_count; i++) {
		const struct sql_call *c = routes[i].sql;
		bool known = false;

		for (size_t k = 0; c != NULL && k < n && !known; k++)
			known = strcmp(list[k].name, c->fn) == 0;
		if (c == NULL || known)
			continue;
		struct bb_buf sql = { 0 };
		bb_buf_printf(&sql, "SELECT %s(", c->fn);
		for (int k = 1; k <= arg_count(c); k++)
			bb_buf_printf(&sql, "%s$%d", k > 1 ? ", " : "", k);
		bb_buf_puts(&sql, ")::text");
		list[n].name = c->fn;
		list[n].sql = bb_arena_strdup(a, sql.data);
		bb_buf_free(&sql);
		n++;
	}
	list[n].name = NULL;
	list[n].sql = NULL;
	return list;
}

int
bind_check(FILE *err)
{
	int problems = 0;

	for (size_t i = 0; i < route_count; i++) {
		const struct route *rt = &routes[i];
		const struct sql_call *c = rt->sql;
		int path_params = 0;

		for (const char *p = rt->pattern; *p != '\0'; p++)
			path_params += *p == ':';
		if ((c != NULL) != (rt->handler == h_sql)) {
			fprintf(err, "%s %s: h_sql goes with a binding, and a binding with h_sql\n",
			        rt->method, rt->pattern);
			problems++;
		}
		bool passes_studies = false;
		for (int k = 0; c != NULL && k < SQL_ARGS_MAX && c->args[k].from != ARG_END; k++)
			passes_studies |= c->args[k].from == ARG_STUDIES;
		if (c != NULL && (rt->roles & STUDY_LIMITED) && !passes_studies) {
			fprintf(err,
			        "%s %s: STUDY_LIMITED, but its binding does not pass STUDIES\n",
			        rt->method, rt->pattern);
			problems++;
		}
		/* One statement per function: every route binding it passes as many arguments. */
		for (size_t j = 0; c != NULL && j < i; j++)
			if (routes[j].sql != NULL && strcmp(routes[j].sql->fn, c->fn) == 0 &&
			    arg_count(routes[j].sql) != arg_count(c)) {
				fprintf(err, "%s %s: %s takes %d arguments at %s %s\n", rt->method,
				        rt->pattern, c->fn, arg_count(routes[j].sql),
				        routes[j].method, routes[j].pattern);
				problems++;
			}
		for (int k = 0; c != NULL && k < SQL_ARGS_MAX && c->args[k].from != ARG_END; k++) {
			const struct sql_arg *a = &c->args[k];
			const char *why = NULL;

			if ((a->from == ARG_PATH || a->from == ARG_PATH_ID ||
			     a->from == ARG_PATH_REF) &&
			    a->i >= path_params)
				why = "reads a path parameter the pattern does not have";
			else if (a->from == ARG_BODY && !spec_has(rt->spec, a->name))
				why = "reads a body field its spec does not have";
			else if (a->from == ARG_QUERY &&
			         (rt->query == NULL || strstr(rt->query, a->name) == NULL))
				why = "reads a query parameter the route does not declare";
			else if (a->from == ARG_STUDIES && !(rt->roles & STUDY_LIMITED))
				why = "passes the caller's studies on a route not STUDY_LIMITED";
			else if ((a->from == ARG_PAGE_SIZE || a->from == ARG_CURSOR ||
			          a->from == ARG_AFTER) &&
			         !c->paged)
				why = "reads the page of a route that is not a list";
			if (why != NULL) {
				fprintf(err, "%s %s: parameter %d %s\n", rt->method, rt->pattern,
				        k + 1, why);
				problems++;
			}
		}
	}
	return problems;
}
