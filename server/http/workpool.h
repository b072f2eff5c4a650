/*
 * workpool.h — a few threads of their own for long work (a whole-ledger
 * check, a report or export over every specimen, a bulk import, a label
 * printer), with a bounded queue in front.
 *
 * Why: libmicrohttpd's workers each serve hundreds of connections one
 * request at a time, so a request that holds its worker for seconds holds
 * every connection placed on it (eight prints to a slow printer once left
 * /healthz waiting 16 s). Long work runs here instead, while its
 * connection is suspended; at most `slots` pieces of it run at once, at
 * most queue_max wait, and beyond that the caller answers 503 with a
 * Retry-After from workpool_retry_after(). A job may keep its slot after
 * it returns (workpool_keep_slot), for an answer that goes on working as
 * it is sent (a streamed export), so that those count against the bound too.
 */
#ifndef SRV_WORKPOOL_H
#define SRV_WORKPOOL_H

#include <stdbool.h>

struct workpool;
struct workpool_lease;

typedef void (*workpool_fn)(void *arg);

/* slots threads, and a queue of at most queue_max jobs waiting for one. */
struct workpool *workpool_new(unsigned slots, unsigned queue_max);

/*
 * Queue run(arg) for a pool thread; false when the queue is full (unless
 * force: work whose intent is already committed must not be dropped) or
 * the pool is stopping. On success admitted(arg) is called first, before
 * any thread can take the job (to suspend the request's connection);
 * cancel(arg) instead of run(arg) if the pool stops before the job starts.
 */
bool workpool_submit(struct workpool *p, workpool_fn run, workpool_fn cancel, workpool_fn admitted,
                     void *arg, bool force);

/* Seconds a refused caller should wait before trying again (at least 1). */
unsigned workpool_retry_after(struct workpool *p);

/*
 * Called by a running job: its slot stays taken after it returns, until
 * workpool_lease_end. NULL when the calling thread runs no job of p.
 */
struct workpool_lease *workpool_keep_slot(struct workpool *p);
void workpool_lease_end(struct workpool_lease *l);

struct workpool_stats {
	unsigned slots, busy, queued;
	unsigned long long done, refused;
};
void workpool_stats(struct workpool *p, struct workpool_stats *out);

/* Stop taking jobs: every queued job is cancelled (on this thread). */
void workpool_stop(struct workpool *p);
/* Wait until no slot is taken, at most until deadline_ms (CLOCK_MONOTONIC); true when idle. */
bool workpool_wait_idle(struct workpool *p, long long deadline_ms);
/* Join the threads and free p; only once idle (a job still running keeps its thread). */
void workpool_free(struct workpool *p);

#endif
