/* health.c — liveness, readiness and metrics: no token, no body. */
#include "api/api.h"

#include "http/metrics.h"

#include <cjson/cJSON.h>

void
h_health_live(struct srv_req *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", "ok");
	reply_json(r, 200, o);
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
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "ready");
	reply_json(r, 200, o);
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
	size_t len = b.len;
	reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", bb_buf_steal(&b), len);
}
