/*
 * test_conns.c — the table of client connections (server/http/conns.c)
 * driven as the acceptor and libmicrohttpd drive it, with socket pairs
 * standing for connections: what a client is (an IPv4 address, an IPv6
 * /64, an IPv4 client on a dual-stack socket), the per-client limit, which
 * connection is displaced at the limit, and the deadline for a request
 * head. A connection the table closes shows as end of stream on the
 * pair's other end. The IPv6 cases run here because a loopback test
 * cannot connect from two addresses of one /64.
 */
#include "../harness.h"

#include "http/conns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd, peer; /* fd: the daemon's end; peer: the client's */
	void *entry;
};

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &in6->sin6_addr);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		inet_pton(AF_INET, text, &in->sin_addr);
	}
	return ss;
}

/* A connection from text, admitted (and started, as libmicrohttpd would) or not. */
static enum conns_verdict
connect_from(struct conns *t, const char *text, struct conn *c)
{
	int sv[2];
	struct sockaddr_storage ss = addr(text);
	socklen_t len =
	    ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	c->entry = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return CONNS_NO_SLOT;
	c->fd = sv[0];
	c->peer = sv[1];
	enum conns_verdict v = conns_admit(t, c->fd, (struct sockaddr *)&ss, len);
	if (v == CONNS_ADMITTED) {
		c->entry = conns_started(t, c->fd);
	} else {
		close(c->fd); /* as the acceptor does */
		c->fd = -1;
	}
	return v;
}

/* The daemon's side closes c (libmicrohttpd, once it sees the end). */
static void
hang_up(struct conns *t, struct conn *c)
{
	if (c->fd >= 0) {
		conns_closed(t, c->entry);
		close(c->fd);
		c->fd = -1;
	}
	if (c->peer >= 0) {
		close(c->peer);
		c->peer = -1;
	}
}

/* True when the table closed c: its client sees the end of the stream. */
static bool
closed(const struct conn *c)
{
	char b;
	ssize_t n = recv(c->peer, &b, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
clients(void)
{
	struct conns_limits lim = { 100, 2, 10000 };
	struct conns *t = conns_new(&lim, 4096);
	struct conn c[16];
	int n = 0;

	ok(connect_from(t, "10.0.0.1", &c[n++]) == CONNS_ADMITTED &&
	       connect_from(t, "10.0.0.1", &c[n++]) == CONNS_ADMITTED,
	   "an IPv4 address holds two connections (per_client 2)");
	ok(connect_from(t, "10.0.0.1", &c[n++]) == CONNS_CLIENT_FULL, "  not a third");
	ok(connect_from(t, "::ffff:10.0.0.1", &c[n++]) == CONNS_CLIENT_FULL,
	   "  nor from the same address on a dual-stack socket (::ffff:10.0.0.1)");
	ok(connect_from(t, "10.0.0.2", &c[n++]) == CONNS_ADMITTED, "another address has its own");

	ok(connect_from(t, "2001:db8:1:2::1", &c[n++]) == CONNS_ADMITTED &&
	       connect_from(t, "2001:db8:1:2:ffff:ffff:ffff:9", &c[n++]) == CONNS_ADMITTED,
	   "two addresses of one IPv6 /64 hold two connections");
	ok(connect_from(t, "2001:db8:1:2:1234::77", &c[n++]) == CONNS_CLIENT_FULL,
	   "  a third address of that /64 gets none: the /64 is the client");
	ok(connect_from(t, "2001:db8:1:3::1", &c[n++]) == CONNS_ADMITTED,
	   "  the next /64 is another client");

	struct conns_stats st;
	conns_stats(t, &st);
	is_int(st.client_full, 3, "three refusals counted");
	hang_up(t, &c[0]);
	ok(connect_from(t, "10.0.0.1", &c[n++]) == CONNS_ADMITTED,
	   "once one of its connections closes, 10.0.0.1 may open another");
	for (int i = 0; i < n; i++)
		hang_up(t, &c[i]);
	conns_stats(t, &st);
	is_int(st.open, 0, "every connection closed: none counted");
	conns_free(t);
}

static void
displacement(void)
{
	struct conns_limits lim = { 4, 64, 60000 };
	struct conns *t = conns_new(&lim, 4096);
	struct conn busy, trusted, old, young, next, last;

	connect_from(t, "10.0.1.1", &busy);
	connect_from(t, "10.0.1.2", &trusted);
	connect_from(t, "10.0.1.3", &old);
	sleep_ms(5);
	connect_from(t, "10.0.1.4", &young);
	/* busy has a request in progress; trusted's last one was authenticated. */
	conns_head_in(busy.entry);
	conns_head_in(trusted.entry);
	conns_request_done(trusted.entry, true);
	ok(conns_wait_room(t, 10), "at the limit with connections waiting for a head: room");

	ok(connect_from(t, "10.0.1.5", &next) == CONNS_ADMITTED, "a fifth connection is admitted");
	ok(closed(&old), "  displacing the one that waited longest for a head");
	ok(!closed(&busy) && !closed(&trusted) && !closed(&young), "  and no other");
	hang_up(t, &old);

	ok(connect_from(t, "10.0.1.6", &last) == CONNS_ADMITTED, "a sixth");
	ok(closed(&young), "  displaces the next unauthenticated one");
	ok(!closed(&trusted) && !closed(&busy), "  before the authenticated idle one");
	hang_up(t, &young);

	/* Now: busy (in progress), trusted (idle), next and last (waiting). */
	conns_head_in(next.entry);
	conns_head_in(last.entry);
	struct conn extra;
	ok(connect_from(t, "10.0.1.7", &extra) == CONNS_ADMITTED && closed(&trusted),
	   "with only the authenticated one waiting, it is the one displaced");
	hang_up(t, &trusted);
	conns_head_in(extra.entry);
	ok(!conns_wait_room(t, 50), "every connection busy: no room, the acceptor waits");
	ok(!closed(&busy) && !closed(&next) && !closed(&last) && !closed(&extra),
	   "  and a request in progress is never displaced");
	conns_request_done(extra.entry, false);
	ok(conns_wait_room(t, 10), "an answer ends: its connection may be displaced again");

	struct conns_stats st;
	conns_stats(t, &st);
	is_int(st.displaced, 3, "three displacements counted");
	hang_up(t, &busy);
	hang_up(t, &next);
	hang_up(t, &last);
	hang_up(t, &extra);
	conns_free(t);
}

static void
deadline(void)
{
	struct conns_limits lim = { 100, 64, 200 };
	struct conns *t = conns_new(&lim, 4096);
	struct conn silent, working, authed, idle;

	connect_from(t, "10.0.2.1", &silent);
	connect_from(t, "10.0.2.2", &working);
	connect_from(t, "10.0.2.3", &authed);
	connect_from(t, "10.0.2.4", &idle);
	conns_head_in(working.entry);
	conns_head_in(authed.entry);
	conns_request_done(authed.entry, true);
	conns_head_in(idle.entry);
	conns_request_done(idle.entry, false);
	conns_sweep(t);
	ok(!closed(&silent), "before head_timeout (200 ms) nothing is closed");
	sleep_ms(300);
	conns_sweep(t);
	ok(closed(&silent), "after it, a connection that sent no request head is closed");
	ok(closed(&idle), "  and so is an idle one whose last request had no token");
	ok(!closed(&working), "  not one whose request is in progress");
	ok(!closed(&authed), "  nor an authenticated client's idle one");

	struct conns_stats st;
	conns_stats(t, &st);
	is_int(st.head_timeouts, 2, "two closed for want of a head in time");
	conns_stop(t);
	ok(closed(&authed), "on stopping, every idle connection is closed");
	ok(!closed(&working), "  but not one whose request is in progress");
	conns_request_done(working.entry, false);
	ok(closed(&working), "  which is closed once its answer ends");
	ok(!conns_wait_room(t, 10), "stopping: no more connections");
	hang_up(t, &silent);
	hang_up(t, &working);
	hang_up(t, &authed);
	hang_up(t, &idle);
	conns_free(t);
}

static void
stale(void)
{
	struct conns_limits lim = { 100, 1, 60000 };
	struct conns *t = conns_new(&lim, 4096);
	struct sockaddr_storage ss = addr("10.0.3.1");
	int sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	ok(conns_admit(t, sv[0], (struct sockaddr *)&ss, sizeof(struct sockaddr_in)) ==
	       CONNS_ADMITTED,
	   "a connection handed to libmicrohttpd, which never starts it");
	/* libmicrohttpd closed it; accept(2) returns the same number for a new client. */
	ok(conns_admit(t, sv[0], (struct sockaddr *)&ss, sizeof(struct sockaddr_in)) ==
	       CONNS_ADMITTED,
	   "  its number reused: the lost one is forgotten, not counted against its client");
	conns_refused(t, sv[0]);
	struct conns_stats st;
	conns_stats(t, &st);
	is_int(st.open, 0, "  and one refused by libmicrohttpd is forgotten too");
	ok(conns_admit(t, 5000, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)) ==
	       CONNS_NO_SLOT,
	   "a descriptor beyond the table is refused");
	close(sv[0]);
	close(sv[1]);
	conns_free(t);
}

int
main(void)
{
	clients();
	displacement();
	deadline();
	stale();
	return tap_done();
}
