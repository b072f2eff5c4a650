/*
 * acceptor.h — the daemon's listening socket and the one thread that
 * accepts on it, handing each connection to libmicrohttpd's thread pool.
 *
 * Left to itself, the pool lets whichever worker wakes first accept up to
 * ten connections in a row, and a worker serves its connections one request
 * at a time: with 16 clients one worker was seen holding 8 while others held
 * none, and requests queued behind each other (docs/performance.md). Added
 * through MHD_add_connection, a connection goes to the worker its
 * descriptor number selects, which spreads clients that connect together
 * over the workers. On the way in it keeps the rules of conns.h (a limit
 * per client, a deadline for each request head, a newcomer displacing the
 * connection that has waited longest at the limit); when the limit is
 * reached with nothing to displace, it stops accepting, so that clients
 * wait in the kernel's queue instead of being closed.
 */
#ifndef SRV_ACCEPTOR_H
#define SRV_ACCEPTOR_H

#include <stdbool.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "http/conns.h"

struct acceptor;

/* A listening TCP socket bound to sa, its connections kept in conns (which
 * must outlive the acceptor); false (errno set) when it cannot be made. */
bool acceptor_open(const struct sockaddr *sa, socklen_t len, struct conns *conns,
                   struct acceptor **out);

/* Start accepting for d, which must have been started with
 * MHD_USE_NO_LISTEN_SOCKET and conns_notify on the same table. */
bool acceptor_start(struct acceptor *a, struct MHD_Daemon *d);

/* True once the listening socket failed for good; the acceptor then raised
 * SIGTERM so that the daemon stops (and exits non-zero) instead of running deaf. */
bool acceptor_failed(struct acceptor *a);

/* Stop accepting and close the socket; connections already handed over stay. */
void acceptor_stop(struct acceptor *a);

void acceptor_free(struct acceptor *a);

#endif
