/*
 * shutdown.h — a stop that ends within shutdown_timeout, whatever is
 * happening. On SIGTERM srv_run stops accepting, closes the connections
 * that carry no request, cancels long work not yet begun, and waits for
 * the requests in flight; at the deadline, or if anything after it hangs
 * (libmicrohttpd's stop joins its workers, and a worker can be stuck in a
 * statement), the process logs what it abandons and exits with status 1.
 * PostgreSQL rolls back whatever an abandoned request had not committed.
 */
#ifndef SRV_SHUTDOWN_H
#define SRV_SHUTDOWN_H

#include "http/server.h"

struct stop_watch;

/* A thread that calls stop_abandon(s) at deadline_ms (CLOCK_MONOTONIC) unless disarmed first. */
struct stop_watch *stop_watch_arm(struct srv *s, long long deadline_ms);
void stop_watch_disarm(struct stop_watch *w);

/* Log what is still in flight and exit the process with status 1, at once. */
__attribute__((noreturn)) void stop_abandon(struct srv *s);

/* CLOCK_MONOTONIC in milliseconds. */
long long stop_now_ms(void);

#endif
