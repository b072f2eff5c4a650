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
 * evenly over the workers.
 */
#ifndef SRV_ACCEPTOR_H
#define SRV_ACCEPTOR_H

#include <stdbool.h>
#include <sys/socket.h>

struct MHD_Daemon;
struct acceptor;

/* A listening TCP socket bound to sa; false (errno set) when that fails. */
bool acceptor_listen(const struct sockaddr *sa, socklen_t len, int *out_fd);

/* Start accepting on fd for d; the acceptor owns fd from here on. */
bool acceptor_start(struct MHD_Daemon *d, int fd, struct acceptor **out);

/* Stop accepting and close the socket; connections already handed over stay. */
void acceptor_stop(struct acceptor *a);

#endif
