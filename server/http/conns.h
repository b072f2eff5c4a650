/*
 * conns.h — every client connection the daemon holds, kept between the
 * acceptor (acceptor.c) and libmicrohttpd: how many each client holds, how
 * long each has waited for a request head, and which to close.
 *
 * Why not libmicrohttpd's own limits: its connection timeout (0.9.75) is an
 * idle timeout, so a client that sends a byte now and then ("slowloris")
 * holds its connection for ever; its per-address limit counts whole IPv6
 * addresses, of which one host may have 2^64; and at its connection limit
 * it closes the newcomer, or (with our acceptor) leaves it in the kernel's
 * queue, behind whatever holds the slots. Here:
 *
 *   - a client is an IPv4 address or an IPv6 /64, and holds at most
 *     per_client connections; more are closed at once;
 *   - a connection must deliver a whole request head within head_timeout
 *     of being accepted, and again after each answer; one that does not is
 *     closed. Once a request on it has been authenticated, an idle
 *     connection is left to libmicrohttpd's idle timeout instead (a client
 *     with a token that trickles is the operator's to revoke);
 *   - at max connections, a newcomer displaces the connection that has
 *     waited longest for a request head, unauthenticated ones first; a
 *     connection whose request is being read, run or answered is never
 *     displaced. So a flood of connections that send nothing, or next to
 *     nothing, can hold every slot only until someone else connects.
 *
 * Thread safety: one lock; the acceptor and every worker call in.
 */
#ifndef SRV_CONNS_H
#define SRV_CONNS_H

#include <stdbool.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct conns;

struct conns_limits {
	unsigned max;             /* connections held at once */
	unsigned per_client;      /* by one IPv4 address or IPv6 /64 */
	unsigned head_timeout_ms; /* to deliver a request head */
};

/* What happened to connections, for /metrics and the log. */
struct conns_stats {
	unsigned open;    /* held now (libmicrohttpd's, or being handed to it) */
	unsigned waiting; /* of those, waiting for a request head */
	unsigned long long head_timeouts, displaced, client_full;
};

/* A table for descriptors below fd_limit (a descriptor above is refused). */
struct conns *conns_new(const struct conns_limits *lim, unsigned fd_limit);
/* After libmicrohttpd has stopped (it reports every closed connection). */
void conns_free(struct conns *t);

/* The acceptor's side. */
enum conns_verdict {
	CONNS_ADMITTED,    /* hand fd to libmicrohttpd */
	CONNS_CLIENT_FULL, /* the client holds per_client already: close fd */
	CONNS_NO_SLOT,     /* descriptor beyond the table: close fd */
};
/* Record a connection just accepted; at max, displace one (see above). */
enum conns_verdict conns_admit(struct conns *t, int fd, const struct sockaddr *sa, socklen_t len);
/* MHD_add_connection refused fd (and closed it): forget it. */
void conns_refused(struct conns *t, int fd);
/* Wait up to timeout_ms until a connection may be accepted: below max, or
 * one to displace. True when one may; false on timeout or when stopping. */
bool conns_wait_room(struct conns *t, int timeout_ms);
/* Close the connections whose time to deliver a request head is up. */
void conns_sweep(struct conns *t);
/* On shutdown: close every connection waiting for a request head (none of
 * them has one in flight), and from now on each one as its answer ends. */
void conns_stop(struct conns *t);
void conns_stats(struct conns *t, struct conns_stats *out);

/*
 * libmicrohttpd's side: MHD_OPTION_NOTIFY_CONNECTION with the table as
 * argument. It keeps each connection's entry as the connection's socket
 * context (MHD_CONNECTION_INFO_SOCKET_CONTEXT), which the calls below take.
 */
void conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                  enum MHD_ConnectionNotificationCode code);
/* What conns_notify does: the connection on fd started (its entry, or NULL
 * when the acceptor did not admit it), and the entry's connection closed. */
void *conns_started(struct conns *t, int fd);
void conns_closed(struct conns *t, void *entry);
/* A whole request head has arrived (the first call of the request handler). */
void conns_head_in(void *entry);
/* The request is over; authenticated when a token was accepted on it. */
void conns_request_done(void *entry, bool authenticated);

#endif
