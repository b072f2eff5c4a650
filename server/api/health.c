/* health.c — liveness, readiness and metrics: no token, no body. */
#include "api/api.h"

#include "http/conns.h"
#include "http/metrics.h"
#include "http/readpool.h"
#include "http/workpool.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdlib.h>

void
h_health_live(struct srv_req *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", "ok");
	reply_json(r, 200, o);
}

/* A node's place: host, port, role and a standby's lag (null when it cannot be told). */
static void
add_node(cJSON *o, const struct db_node_info *n)
{
	cJSON_AddStringToObject(o, "host", n->host);
	cJSON_AddStringToObject(o, "port", n->port);
	cJSON_AddStringToObject(o, "role", n->in_recovery ? "standby" : "primary");
	if (n->has_lag)
		cJSON_AddNumberToObject(o, "replay_lag_s", n->replay_lag_s);
	else
		cJSON_AddNullToObject(o, "replay_lag_s");
}

/*
 * The reports database (readpool.h): the node it is on, its lag, and where
 * reports read now. Its loss does not make the daemon unready: reports then
 * read from the primary.
 */
static void
ready_reports(struct srv_req *r, cJSON *o)
{
	struct readpool *rp = r->srv->reports;
	struct readpool_stats st;
	struct db_conn *c;
	struct db_node_info n;
	const char *fallback = "down";

	if (rp == NULL) {
		cJSON_AddNullToObject(o, "reports");
		return;
	}
	cJSON *rep = cJSON_AddObjectToObject(o, "reports");
	readpool_stats(rp, &st);
	if (db_acquire(readpool_pool(rp), &c) == BB_OK) {
		if (db_node(c, &n) == BB_OK) {
			add_node(rep, &n);
			free(n.standbys);
			fallback = n.in_recovery && (!n.has_lag || n.replay_lag_s > st.max_lag_s)
			               ? "lagging"
			               : NULL;
		}
		db_release(readpool_pool(rp), c);
	}
	cJSON_AddNumberToObject(rep, "max_lag_s", st.max_lag_s);
	cJSON_AddStringToObject(rep, "reads_from", fallback ? "primary" : "reports_database");
	if (fallback != NULL)
		cJSON_AddStringToObject(rep, "fallback", fallback);
	else
		cJSON_AddNullToObject(rep, "fallback");
	cJSON *reads = cJSON_AddObjectToObject(rep, "reads");
	for (int i = 0; i < READPOOL__MAX; i++)
		cJSON_AddNumberToObject(reads, readpool_route_name((enum readpool_route)i),
		                        (double)st.taken[i]);
	cJSON_AddNumberToObject(rep, "lost", (double)st.lost);
}

void
h_health_ready(struct srv_req *r)
{
	struct db_conn *db = req_db(r);

	if (db == NULL)
		return; /* req_db answered 503 */
	enum bb_err err = db_exec(db, "db_ping", 0, NULL, NULL);
	if (err != BB_OK) {
		reply_db_error(r, err == BB_EDBDOWN ? err : BB_EDBDOWN);
		return;
	}
	/* Which node the pool is on, after a failover too, and how far behind it is. */
	struct db_node_info n;
	if ((err = db_node(db, &n)) != BB_OK) {
		reply_db_error(r, err == BB_EDBDOWN ? err : BB_EDBDOWN);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "ready");
	cJSON *pool = cJSON_AddObjectToObject(o, "pool");
	add_node(pool, &n);
	cJSON *standbys = cJSON_Parse(n.standbys);
	cJSON_AddItemToObject(pool, "standbys", standbys ? standbys : cJSON_CreateArray());
	free(n.standbys);
	/* The primary's connection is given back first: this one is the reports database's. */
	req_db_release(r);
	ready_reports(r, o);
	reply_json(r, 200, o);
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void
label_value(struct bb_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			bb_buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			bb_buf_printf(b, "\\n");
		else
			bb_buf_printf(b, "%c", *s);
	}
}

/*
 * Audit coverage (docs/api-storage.md): boxes a rack-scan audit never
 * verified, or not within a year, per freezer. On a connection of its own,
 * so that a database that does not answer leaves the rest of the page.
 */
enum { COVERAGE_DAYS = 365 };

static void
audit_coverage_gauge(struct srv_req *r, struct bb_buf *b)
{
	struct db_conn *c;
	PGresult *res = NULL;
	char days[16];
	const char *params[] = { days };

	snprintf(days, sizeof(days), "%d", COVERAGE_DAYS);
	if (db_acquire(r->srv->pool, &c) != BB_OK)
		return;
	if (db_exec(c, "db_audit_coverage_gauge", 1, params, &res) == BB_OK) {
		bb_buf_printf(b,
		              "# HELP biobank_boxes_unverified Boxes no rack-scan audit verified "
		              "(state never) or none within %d days (state stale), per freezer.\n"
		              "# TYPE biobank_boxes_unverified gauge\n",
		              COVERAGE_DAYS);
		for (int i = 0; i < PQntuples(res); i++) {
			bb_buf_printf(b, "biobank_boxes_unverified{location=\"%s\",freezer=\"",
			              PQgetvalue(res, i, 0));
			label_value(b, PQgetvalue(res, i, 1));
			bb_buf_printf(b, "\",state=\"%s\"} %s\n", PQgetvalue(res, i, 2),
			              PQgetvalue(res, i, 3));
		}
	}
	PQclear(res);
	db_release(r->srv->pool, c);
}

void
h_health_metrics(struct srv_req *r)
{
	struct bb_buf b = { 0 };
	unsigned in_use, size;

	metrics_render(r->srv->metrics, &b);
	db_pool_usage(r->srv->pool, &in_use, &size);
	bb_buf_printf(&b,
	              "# HELP biobank_db_pool_connections Database connections in the pool.\n"
	              "# TYPE biobank_db_pool_connections gauge\n"
	              "biobank_db_pool_connections{state=\"in_use\"} %u\n"
	              "biobank_db_pool_connections{state=\"size\"} %u\n"
	              "# HELP biobank_requests_in_flight Requests begun and not yet answered.\n"
	              "# TYPE biobank_requests_in_flight gauge\n"
	              "biobank_requests_in_flight %d\n",
	              in_use, size, atomic_load(&r->srv->active));
	struct conns_stats cs = { 0 };
	struct workpool_stats ws = { 0 };
	if (r->srv->conns != NULL)
		conns_stats(r->srv->conns, &cs);
	if (r->srv->work != NULL)
		workpool_stats(r->srv->work, &ws);
	bb_buf_printf(&b,
	              "# HELP biobank_connections Client connections held, and those waiting for "
	              "a request head.\n"
	              "# TYPE biobank_connections gauge\n"
	              "biobank_connections{state=\"open\"} %u\n"
	              "biobank_connections{state=\"waiting\"} %u\n"
	              "# HELP biobank_connections_closed_total Connections closed or refused by "
	              "the flood rules.\n"
	              "# TYPE biobank_connections_closed_total counter\n"
	              "biobank_connections_closed_total{reason=\"head_timeout\"} %llu\n"
	              "biobank_connections_closed_total{reason=\"displaced\"} %llu\n"
	              "biobank_connections_closed_total{reason=\"client_limit\"} %llu\n"
	              "# HELP biobank_long_work Long-work pool: slots, slots taken, requests "
	              "waiting.\n"
	              "# TYPE biobank_long_work gauge\n"
	              "biobank_long_work{state=\"slots\"} %u\n"
	              "biobank_long_work{state=\"busy\"} %u\n"
	              "biobank_long_work{state=\"queued\"} %u\n"
	              "# HELP biobank_long_work_refused_total Long requests answered 503 (queue "
	              "full).\n"
	              "# TYPE biobank_long_work_refused_total counter\n"
	              "biobank_long_work_refused_total %llu\n",
	              cs.open, cs.waiting, cs.head_timeouts, cs.displaced, cs.client_full, ws.slots,
	              ws.busy, ws.queued, ws.refused);
	if (r->srv->reports != NULL) {
		struct readpool_stats st;
		readpool_stats(r->srv->reports, &st);
		bb_buf_printf(&b,
		              "# HELP biobank_report_reads_total Connections taken by the "
		              "reading routes: from the reports database (standby), or from the "
		              "primary because it was down or lagging.\n"
		              "# TYPE biobank_report_reads_total counter\n");
		for (int i = 0; i < READPOOL__MAX; i++)
			bb_buf_printf(&b, "biobank_report_reads_total{route=\"%s\"} %llu\n",
			              readpool_route_name((enum readpool_route)i), st.taken[i]);
		bb_buf_printf(&b,
		              "# HELP biobank_report_reads_lost_total Reads whose reports database "
		              "was lost under them (answered again from the primary).\n"
		              "# TYPE biobank_report_reads_lost_total counter\n"
		              "biobank_report_reads_lost_total %llu\n",
		              st.lost);
	}
	audit_coverage_gauge(r, &b);
	size_t len = b.len;
	reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", bb_buf_steal(&b), len);
}
