/* defer.c — a request's long work on the long-work pool, its connection suspended meanwhile. */
#include "http/defer.h"

#include "http/idempotency.h"
#include "http/log.h"
#include "http/reply.h"
#include "http/workpool.h"

#include <microhttpd.h>

void
req_defer(struct srv_req *r, req_work_fn work, req_done_fn done, void *arg)
{
	r->defer_work = work;
	r->defer_done = done;
	r->defer_arg = arg;
}

struct workpool_lease *
req_keep_slot(struct srv_req *r)
{
	return workpool_keep_slot(r->srv->work);
}

void
req_slot_release(struct workpool_lease *lease)
{
	workpool_lease_end(lease);
}

/* On a pool thread: the handler if it is still to run, then deferred work. */
static void
job_run(void *arg)
{
	struct srv_req *r = arg;
	struct MHD_Connection *conn = r->conn;

	/* This thread's log lines belong to the request too (log.h). */
	log_request_begin(r->id);
	if (r->long_pending) {
		r->long_pending = false;
		idem_run(r);
	}
	if (r->defer_work != NULL) {
		req_work_fn work = r->defer_work;
		req_done_fn done = r->defer_done;
		void *warg = r->defer_arg;

		/* The work must hold no pooled connection (nor, with it, a transaction). */
		req_db_release(r);
		r->defer_work = NULL;
		work(warg);
		/* The outcome recorded, in the key's unit if any; it replies afresh. */
		idem_finish(r, done, warg);
	}
	req_db_release(r);
	log_request_end();
	/* From here r belongs to the worker that sends the reply: not touched again. */
	MHD_resume_connection(conn);
}

/* The pool stopped before the job began: whatever was answered so far stands. */
static void
job_cancel(void *arg)
{
	struct srv_req *r = arg;

	log_request_begin(r->id);
	if (r->long_pending) {
		r->long_pending = false;
		reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
		reply_problem(r, 503, NULL, "the service is stopping; try again");
	} else if (r->defer_work != NULL) {
		/* A print whose job stays pending: GET /api/v1/print-jobs?state=pending. */
		log_info("stopping: deferred work of request %s not begun; its answer stands",
		         r->id);
		r->defer_work = NULL;
	}
	log_request_end();
	MHD_resume_connection(r->conn);
}

static void
job_admitted(void *arg)
{
	struct srv_req *r = arg;

	r->deferred = true;
	MHD_suspend_connection(r->conn);
}

static void
give_back_db(struct srv_req *r)
{
	req_db_release(r);
}

bool
defer_long(struct srv_req *r)
{
	struct srv *s = r->srv;

	give_back_db(r);
	if (workpool_submit(s->work, job_run, job_cancel, job_admitted, r, false))
		return true;
	r->long_pending = false;
	reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER,
	             bb_arena_printf(&r->arena, "%u", workpool_retry_after(s->work)));
	if (atomic_load(&s->stopping))
		reply_problem(r, 503, NULL, "the service is stopping; try again");
	else
		reply_problem(r, 503, NULL,
		              "too much long work is running or waiting (verifications, reports, "
		              "exports, imports, prints); try again later");
	return false;
}

bool
defer_start(struct srv_req *r)
{
	if (r->defer_work == NULL)
		return false;
	give_back_db(r);
	/* Its intent is committed (a pending print job): queued even past the bound. */
	if (workpool_submit(r->srv->work, job_run, job_cancel, job_admitted, r, true))
		return true;
	/* Only when stopping: the job stays pending, and the answer says so. */
	r->defer_work = NULL;
	return false;
}
