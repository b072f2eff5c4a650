/*
 * defer.h — running a request's slow work (req_defer, server.h) on a thread of
 * its own while its HTTP connection is suspended, so that neither a worker
 * thread nor a database connection waits on a device.
 */
#ifndef SRV_DEFER_H
#define SRV_DEFER_H

#include "http/server.h"

/*
 * After the handler: when r deferred work, give back its database
 * connection, suspend the connection and start the work's thread; true
 * then (the thread resumes the connection once r's reply is final).
 * False when r deferred nothing. Without a thread the work runs here, and
 * the connection resumes all the same.
 */
bool defer_start(struct srv_req *r);

/* Wait until no deferred work runs (before the HTTP daemon is stopped). */
void defer_drain(struct srv *s);

#endif
