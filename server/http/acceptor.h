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
 * over the workers. At the connection limit the acceptor stops accepting,
 * so that clients wait in the kernel's queue, as with libmicrohttpd's own
 * listening socket, instead of being closed.
 */
#ifndef SRV_ACCEPTOR_H
#define SRV_ACCEPTOR_H

#include <stdbool.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct acceptor;

/* A listening TCP socket bound to sa, to hold at most limit connections;
 * false (errno set) when it cannot be made. */
bool acceptor_open(const struct sockaddr *sa, socklen_t len, unsigned limit, struct acceptor **out);

/* For MHD_OPTION_NOTIFY_CONNECTION, with the acceptor as its argument. */
void acceptor_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                     enum MHD_ConnectionNotificationCode code);

/* Start accepting for d, which must have been started with
 * MHD_USE_NO_LISTEN_SOCKET, the same limit and acceptor_notify. */
bool acceptor_start(struct acceptor *a, struct MHD_Daemon *d);

/* True once the listening socket failed for good; the acceptor then raised
 * SIGTERM so that the daemon stops (and exits non-zero) instead of running deaf. */
bool acceptor_failed(struct acceptor *a);

/* Stop accepting and close the socket; connections already handed over stay. */
void acceptor_stop(struct acceptor *a);

/* After the daemon has stopped (it reports closed connections to the acceptor). */
void acceptor_free(struct acceptor *a);

#endif
