/* defer.c — a request's slow work on a thread of its own, its connection suspended meanwhile. */
#include "http/defer.h"

#include "http/idempotency.h"
#include "http/log.h"

#include <microhttpd.h>
#include <pthread.h>
#include <time.h>

void
req_defer(struct srv_req *r, req_work_fn work, req_done_fn done, void *arg)
{
	r->defer_work = work;
	r->defer_done = done;
	r->defer_arg = arg;
}

/* The work, then its outcome recorded (in the key's unit if any); r->db is given back after. */
static void
run(struct srv_req *r)
{
	req_work_fn work = r->defer_work;
	req_done_fn done = r->defer_done;
	void *arg = r->defer_arg;

	/* This thread's log lines belong to the request too (log.h). */
	log_request_begin(r->id);
	work(arg);
	idem_finish(r, done, arg);
	if (r->db != NULL) {
		db_release(r->srv->pool, r->db);
		r->db = NULL;
	}
	log_request_end();
}

static void *
defer_main(void *arg)
{
	struct srv_req *r = arg;
	struct srv *s = r->srv;
	struct MHD_Connection *conn = r->conn;

	run(r);
	/* From here r belongs to the worker that sends the reply: not touched again. */
	MHD_resume_connection(conn);
	atomic_fetch_sub(&s->deferring, 1);
	return NULL;
}

bool
defer_start(struct srv_req *r)
{
	pthread_attr_t attr;
	pthread_t th;

	if (r->defer_work == NULL)
		return false;
	/* The work must hold no pooled connection (nor, with it, a transaction). */
	if (r->db != NULL) {
		db_release(r->srv->pool, r->db);
		r->db = NULL;
	}
	atomic_fetch_add(&r->srv->deferring, 1);
	r->deferred = true;
	MHD_suspend_connection(r->conn);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&th, &attr, defer_main, r);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return true;
	/* The same steps on this worker: slower for everyone, but the outcome is recorded. */
	log_warnx("%s: no thread for request %s (error %d): its work runs on the worker", __func__,
	          r->id, rc);
	defer_main(r);
	return true;
}

void
defer_drain(struct srv *s)
{
	bool said = false;

	/* Each piece of work is bounded (a printer gets its timeouts), so this ends. */
	while (atomic_load(&s->deferring) > 0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (!said)
			log_info("waiting for %d deferred requests (printers) to finish",
			         atomic_load(&s->deferring));
		said = true;
		nanosleep(&ts, NULL);
	}
}
