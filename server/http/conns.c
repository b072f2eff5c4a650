/* conns.c — the table of client connections (see conns.h for the rules it keeps). */
#include "http/conns.h"

#include "biobank.h"
#include "http/log.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A client: an IPv4 address (family 4) or an IPv6 /64 (family 6). */
struct client {
	unsigned char key[9]; /* family, then 4 or 8 bytes of address */
	unsigned count;
	struct client *next; /* in its bucket */
};

enum slot_state {
	SLOT_HANDED,  /* accepted, not yet started by libmicrohttpd */
	SLOT_WAITING, /* started, waiting for a request head */
	SLOT_BUSY,    /* a request is being read, run or answered */
};

struct slot {
	struct conns *t;
	int fd;
	struct client *client;
	enum slot_state state;
	bool trusted;       /* a request on it was authenticated */
	bool closing;       /* shut down by us; libmicrohttpd will report it closed */
	bool listed;        /* on the waiting list */
	long long since_ms; /* waiting for a head since (accept, or the end of the last answer) */
	struct slot *prev, *next;
};

struct conns {
	struct conns_limits lim;
	pthread_mutex_t lock;
	pthread_cond_t room; /* a connection closed or became displaceable, or stopping */
	struct slot **by_fd;
	unsigned nfd;
	struct client **buckets;
	unsigned nbuckets;                  /* a power of two */
	struct slot *wait_head, *wait_tail; /* waiting for a head, oldest first */
	unsigned open, closing, waiting;
	unsigned long long head_timeouts, displaced, client_full;
	bool stopping;
};

struct conns *
conns_new(const struct conns_limits *lim, unsigned fd_limit)
{
	struct conns *t = bb_calloc(1, sizeof(*t));

	t->lim = *lim;
	t->nfd = fd_limit;
	t->by_fd = bb_calloc(fd_limit, sizeof(*t->by_fd));
	t->nbuckets = 256;
	while (t->nbuckets < 2 * lim->max && t->nbuckets < (1u << 20))
		t->nbuckets *= 2;
	t->buckets = bb_calloc(t->nbuckets, sizeof(*t->buckets));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->room, NULL);
	return t;
}

void
conns_free(struct conns *t)
{
	if (t == NULL)
		return;
	/* Left over only when libmicrohttpd never started a connection we handed it. */
	for (unsigned i = 0; i < t->nfd; i++)
		free(t->by_fd[i]);
	for (unsigned i = 0; i < t->nbuckets; i++)
		for (struct client *c = t->buckets[i], *next; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
	free(t->buckets);
	free(t->by_fd);
	pthread_cond_destroy(&t->room);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The client a peer address belongs to; false for an address family we do not count. */
static bool
client_key(const struct sockaddr *sa, socklen_t len, unsigned char key[9])
{
	memset(key, 0, 9);
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		key[0] = 4;
		memcpy(key + 1, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const unsigned char *a = in6->sin6_addr.s6_addr;

		/* An IPv4 client on a dual-stack socket (::ffff:a.b.c.d) is that IPv4 address. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8); /* the /64: one host, one LAN, one customer */
		}
		return true;
	}
	return false;
}

static unsigned
key_hash(const unsigned char key[9])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (int i = 0; i < 9; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* The client's entry, made when missing (locked). */
static struct client *
client_get(struct conns *t, const unsigned char key[9])
{
	unsigned b = key_hash(key) & (t->nbuckets - 1);

	for (struct client *c = t->buckets[b]; c != NULL; c = c->next)
		if (memcmp(c->key, key, 9) == 0)
			return c;
	struct client *c = bb_calloc(1, sizeof(*c));
	memcpy(c->key, key, 9);
	c->next = t->buckets[b];
	t->buckets[b] = c;
	return c;
}

/* One connection fewer for c; the entry goes with its last (locked). */
static void
client_put(struct conns *t, struct client *c)
{
	if (c == NULL || --c->count > 0)
		return;
	struct client **p = &t->buckets[key_hash(c->key) & (t->nbuckets - 1)];
	while (*p != c)
		p = &(*p)->next;
	*p = c->next;
	free(c);
}

static void
list_add(struct conns *t, struct slot *s)
{
	s->prev = t->wait_tail;
	s->next = NULL;
	if (t->wait_tail != NULL)
		t->wait_tail->next = s;
	else
		t->wait_head = s;
	t->wait_tail = s;
	s->listed = true;
	t->waiting++;
}

static void
list_del(struct conns *t, struct slot *s)
{
	if (!s->listed)
		return;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		t->wait_head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	else
		t->wait_tail = s->prev;
	s->prev = s->next = NULL;
	s->listed = false;
	t->waiting--;
}

/*
 * Close s (locked). shutdown(2), not close(2): the descriptor stays
 * libmicrohttpd's, which sees the end of the stream, closes it and reports
 * it (conns_notify) before the number can be reused. Only a started
 * connection is closed this way, so that report is certain to come.
 */
static void
slot_close(struct conns *t, struct slot *s)
{
	list_del(t, s);
	if (s->closing)
		return;
	s->closing = true;
	t->closing++;
	shutdown(s->fd, SHUT_RDWR);
}

/* Forget s (locked); the caller frees it. */
static void
slot_forget(struct conns *t, struct slot *s)
{
	list_del(t, s);
	if (s->closing)
		t->closing--;
	client_put(t, s->client);
	t->open--;
	if (s->fd >= 0 && (unsigned)s->fd < t->nfd && t->by_fd[s->fd] == s)
		t->by_fd[s->fd] = NULL;
	pthread_cond_broadcast(&t->room);
}

/* The connection to displace at the limit: the longest waiting, unauthenticated first. */
static struct slot *
victim(struct conns *t)
{
	struct slot *trusted = NULL;

	for (struct slot *s = t->wait_head; s != NULL; s = s->next) {
		if (!s->trusted)
			return s;
		if (trusted == NULL)
			trusted = s;
	}
	return trusted;
}

static bool
has_room(struct conns *t)
{
	return t->open - t->closing < t->lim.max || t->wait_head != NULL;
}

enum conns_verdict
conns_admit(struct conns *t, int fd, const struct sockaddr *sa, socklen_t len)
{
	unsigned char key[9];
	bool counted = client_key(sa, len, key);

	if (fd < 0 || (unsigned)fd >= t->nfd)
		return CONNS_NO_SLOT;
	pthread_mutex_lock(&t->lock);
	/* A slot still here was handed over and never started: libmicrohttpd
	 * gave up on it and closed the descriptor, which accept(2) now reuses. */
	struct slot *stale = t->by_fd[fd];
	if (stale != NULL) {
		slot_forget(t, stale);
		free(stale);
	}
	struct client *c = counted ? client_get(t, key) : NULL;
	if (c != NULL && c->count >= t->lim.per_client) {
		t->client_full++;
		c->count++;
		client_put(t, c); /* frees an entry just made */
		pthread_mutex_unlock(&t->lock);
		return CONNS_CLIENT_FULL;
	}
	if (t->open - t->closing >= t->lim.max) {
		struct slot *v = victim(t);

		if (v != NULL) {
			t->displaced++;
			slot_close(t, v);
		}
		/* Without one the acceptor waited for room and lost a race: one over, briefly. */
	}
	struct slot *s = bb_calloc(1, sizeof(*s));
	s->t = t;
	s->fd = fd;
	s->client = c;
	s->state = SLOT_HANDED;
	s->since_ms = bb_monotonic_ms();
	if (c != NULL)
		c->count++;
	t->open++;
	t->by_fd[fd] = s;
	pthread_mutex_unlock(&t->lock);
	return CONNS_ADMITTED;
}

void
conns_refused(struct conns *t, int fd)
{
	if (fd < 0 || (unsigned)fd >= t->nfd)
		return;
	pthread_mutex_lock(&t->lock);
	struct slot *s = t->by_fd[fd];
	if (s != NULL && s->state == SLOT_HANDED) {
		slot_forget(t, s);
		free(s);
	}
	pthread_mutex_unlock(&t->lock);
}

bool
conns_wait_room(struct conns *t, int timeout_ms)
{
	struct timespec until = bb_deadline_after_ms(timeout_ms);
	bool room;

	pthread_mutex_lock(&t->lock);
	while (!t->stopping && !has_room(t) &&
	       pthread_cond_timedwait(&t->room, &t->lock, &until) == 0)
		;
	room = !t->stopping && has_room(t);
	pthread_mutex_unlock(&t->lock);
	return room;
}

void
conns_sweep(struct conns *t)
{
	long long now = bb_monotonic_ms();

	pthread_mutex_lock(&t->lock);
	for (struct slot *s = t->wait_head, *next; s != NULL; s = next) {
		next = s->next;
		if (!s->trusted && now - s->since_ms >= (long long)t->lim.head_timeout_ms) {
			t->head_timeouts++;
			slot_close(t, s);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

void
conns_stop(struct conns *t)
{
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	while (t->wait_head != NULL)
		slot_close(t, t->wait_head);
	pthread_cond_broadcast(&t->room);
	pthread_mutex_unlock(&t->lock);
}

void
conns_stats(struct conns *t, struct conns_stats *out)
{
	pthread_mutex_lock(&t->lock);
	out->open = t->open;
	out->waiting = t->waiting;
	out->head_timeouts = t->head_timeouts;
	out->displaced = t->displaced;
	out->client_full = t->client_full;
	pthread_mutex_unlock(&t->lock);
}

void *
conns_started(struct conns *t, int fd)
{
	struct slot *s = NULL;

	if (fd < 0 || (unsigned)fd >= t->nfd)
		return NULL;
	pthread_mutex_lock(&t->lock);
	if (t->by_fd[fd] != NULL && t->by_fd[fd]->state == SLOT_HANDED) {
		s = t->by_fd[fd];
		s->state = SLOT_WAITING;
		if (t->stopping)
			slot_close(t, s);
		else
			list_add(t, s); /* its time runs from the accept */
	}
	pthread_mutex_unlock(&t->lock);
	return s;
}

void
conns_closed(struct conns *t, void *entry)
{
	struct slot *s = entry;

	if (s == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	slot_forget(t, s);
	pthread_mutex_unlock(&t->lock);
	free(s);
}

void
conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
             enum MHD_ConnectionNotificationCode code)
{
	struct conns *t = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		*socket_context = ci != NULL ? conns_started(t, ci->connect_fd) : NULL;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* Reported before libmicrohttpd closes the descriptor (daemon.c, 0.9.75). */
		conns_closed(t, *socket_context);
		*socket_context = NULL;
	}
}

void
conns_head_in(void *entry)
{
	struct slot *s = entry;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->t->lock);
	list_del(s->t, s);
	s->state = SLOT_BUSY;
	pthread_mutex_unlock(&s->t->lock);
}

void
conns_request_done(void *entry, bool authenticated)
{
	struct slot *s = entry;

	if (s == NULL)
		return;
	struct conns *t = s->t;
	pthread_mutex_lock(&t->lock);
	s->trusted = s->trusted || authenticated;
	if (s->state == SLOT_BUSY && !s->closing) {
		s->state = SLOT_WAITING;
		s->since_ms = bb_monotonic_ms();
		if (t->stopping)
			slot_close(t, s);
		else
			list_add(t, s);
		pthread_cond_broadcast(&t->room);
	}
	pthread_mutex_unlock(&t->lock);
}
