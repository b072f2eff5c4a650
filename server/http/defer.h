/*
 * defer.h — a request's long work on the long-work pool (workpool.h) while
 * its HTTP connection is suspended, so that no request worker, nor a
 * database connection, waits on it: either the whole handler (a route
 * declared LONG_WORK, router.h) or the slow part a handler deferred after
 * answering (req_defer, server.h: a printer).
 */
#ifndef SRV_DEFER_H
#define SRV_DEFER_H

#include "http/server.h"

/*
 * Instead of running r's handler on this worker: give back its database
 * connection, suspend the connection and queue the handler (then any work
 * it defers) for the pool; true then (the pool thread resumes the
 * connection once r's reply is final). False after answering 503 with a
 * Retry-After when the pool's queue is full or the daemon is stopping.
 */
bool defer_long(struct srv_req *r);

/*
 * After the handler: when r deferred work, give back its database
 * connection, suspend the connection and queue the work for the pool;
 * true then. False when r deferred nothing.
 */
bool defer_start(struct srv_req *r);

#endif
