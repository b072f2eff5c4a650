/*
 * httpload.c — an HTTP/1.1 keep-alive load generator that costs about what
 * pgbench's client costs per transaction, for scripts/bench's GET figure.
 *
 *   httpload -c CONNECTIONS -t THREADS -d SECONDS -H 'Name: value' ...
 *            [-i IDS_FILE] HOST:PORT PATH
 *
 * Each connection sends one request, reads the whole answer, checks it and
 * sends the next (no pipelining), like a client waiting for each answer and
 * like pgbench's clients. PATH's "{id}" is replaced by a line of IDS_FILE
 * drawn at random for each request. An answer is read as any HTTP/1.1
 * client reads it: the status line, every header, the body by its
 * Content-Length or its chunks; a status other than 2xx counts under
 * non2xx, a malformed answer or a closed connection under socket_errors
 * (the connection is then opened again). The time of each request is from
 * just before its write to the end of its answer.
 *
 * Why not wrk: with a Lua request() it spent ~100 us of CPU a request on
 * this 2-core machine, three times pgbench's ~30 us, and on a machine
 * shared by client, daemon and database that CPU is taken from the daemon
 * (docs/performance.md, "GET by ID"). The system calls per request are
 * the difference: wrk arms and disarms its socket for writing through
 * epoll_ctl around every request (a wait, a read, two epoll_ctl, a second
 * wait, a write); this client writes as soon as an answer is complete
 * (a wait shared by its ready connections, a read, a write), as pgbench
 * does (a poll, a recv, a send).
 *
 * Prints name=value lines: requests, seconds, rps, p50_ms, p99_ms, max_ms,
 * non2xx, socket_errors (the names bench/wrk/report.lua prints).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BUF_CAP = 1 << 16, HEAD_CAP = 8192, HEADERS_MAX = 16 };

struct options {
	unsigned conns, threads, seconds;
	const char *headers[HEADERS_MAX];
	unsigned nheaders;
	const char *ids_file;
	char host[256], port[16];
	const char *path;
};

struct ids {
	char **v;
	size_t n;
};

/* One answer being read. */
struct reader {
	enum { R_HEAD, R_BODY, R_CHUNK_SIZE, R_CHUNK_DATA, R_CHUNK_END, R_TRAILER } state;
	char head[HEAD_CAP];
	size_t head_len;
	int status;
	bool chunked, close;
	long long remaining; /* body or chunk bytes still to come */
};

struct conn {
	int fd;
	struct reader rd;
	struct timespec sent;
};

struct thread {
	pthread_t tid;
	const struct options *o;
	const struct ids *ids;
	unsigned first, count; /* its connections */
	uint64_t rng;
	long long deadline_ns;
	uint32_t *lat_us; /* one per answered request */
	size_t nlat, cap;
	unsigned long non2xx, errors;
};

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
die(const char *msg)
{
	fprintf(stderr, "httpload: %s\n", msg);
	exit(2);
}

static uint64_t
next_random(uint64_t *s)
{
	/* xorshift64*: per thread, no lock, no system call */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int
open_conn(const struct options *o)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	int fd = -1, one = 1;

	if (getaddrinfo(o->host, o->port, &hints, &ai) != 0)
		return -1;
	for (struct addrinfo *a = ai; a != NULL && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* The request for a random ID into buf; its length. */
static size_t
make_request(struct thread *t, char *buf, size_t cap)
{
	const struct options *o = t->o;
	const char *id = t->ids->n > 0 ? t->ids->v[next_random(&t->rng) % t->ids->n] : "";
	const char *mark = strstr(o->path, "{id}");
	int n;

	if (mark != NULL)
		n = snprintf(buf, cap, "GET %.*s%s%s HTTP/1.1\r\nHost: %s:%s\r\n",
		             (int)(mark - o->path), o->path, id, mark + 4, o->host, o->port);
	else
		n = snprintf(buf, cap, "GET %s HTTP/1.1\r\nHost: %s:%s\r\n", o->path, o->host,
		             o->port);
	for (unsigned i = 0; i < o->nheaders && n > 0 && (size_t)n < cap; i++)
		n += snprintf(buf + n, cap - (size_t)n, "%s\r\n", o->headers[i]);
	if (n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, "\r\n");
	if (n <= 0 || (size_t)n >= cap)
		die("request too long");
	return (size_t)n;
}

static bool
send_request(struct thread *t, struct conn *c)
{
	char req[4096];
	size_t len = make_request(t, req, sizeof(req));

	memset(&c->rd, 0, sizeof(c->rd));
	clock_gettime(CLOCK_MONOTONIC, &c->sent);
	/* A few hundred bytes into an empty socket buffer: written whole or the socket failed. */
	return send(c->fd, req, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* The status line and headers, once whole: 0, or -1 when malformed. */
static int
parse_head(struct reader *rd)
{
	char *line = rd->head, *end;
	bool has_length = false;

	rd->head[rd->head_len] = '\0';
	if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12)
		return -1;
	rd->status = atoi(line + 9);
	if (rd->status < 100 || rd->status > 599)
		return -1;
	while ((end = strstr(line, "\r\n")) != NULL && end != line) {
		line = end + 2;
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			char *e;
			rd->remaining = strtoll(line + 15, &e, 10);
			has_length = rd->remaining >= 0 && (*e == '\r' || *e == ' ');
		} else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
			rd->chunked = strstr(line, "chunked") != NULL;
		} else if (strncasecmp(line, "Connection:", 11) == 0) {
			rd->close = strcasestr(line, "close") != NULL;
		}
	}
	if (rd->chunked) {
		rd->state = R_CHUNK_SIZE;
		rd->head_len = 0;
		return 0;
	}
	/* 1xx, 204 and 304 have no body; anything else needs a length (keep-alive). */
	if (rd->status < 200 || rd->status == 204 || rd->status == 304)
		rd->remaining = 0;
	else if (!has_length)
		return -1;
	rd->state = R_BODY;
	return 0;
}

/*
 * Take n bytes of the answer: 1 when it is complete, 0 when more is needed,
 * -1 when malformed or when bytes come after its end (nothing was pipelined).
 */
static int
feed(struct reader *rd, const char *p, size_t n)
{
	while (n > 0 || rd->state == R_BODY) {
		switch (rd->state) {
		case R_HEAD:
		case R_CHUNK_SIZE:
		case R_CHUNK_END:
		case R_TRAILER: {
			/* Line-wise: copy up to the line's end (the head up to the empty line). */
			size_t k = 0;
			bool done = false;
			while (k < n && !done) {
				if (rd->head_len + 1 >= HEAD_CAP)
					return -1;
				rd->head[rd->head_len++] = p[k++];
				if (rd->state == R_HEAD)
					done =
					    rd->head_len >= 4 &&
					    memcmp(rd->head + rd->head_len - 4, "\r\n\r\n", 4) == 0;
				else
					done = rd->head_len >= 2 &&
					       memcmp(rd->head + rd->head_len - 2, "\r\n", 2) == 0;
			}
			p += k;
			n -= k;
			if (!done)
				return 0;
			if (rd->state == R_HEAD) {
				if (parse_head(rd) != 0)
					return -1;
			} else if (rd->state == R_CHUNK_SIZE) {
				char *e;
				rd->head[rd->head_len] = '\0';
				rd->remaining = strtoll(rd->head, &e, 16);
				if (e == rd->head || rd->remaining < 0)
					return -1;
				rd->state = rd->remaining == 0 ? R_TRAILER : R_CHUNK_DATA;
				rd->head_len = 0;
			} else if (rd->state == R_CHUNK_END) {
				if (rd->head_len != 2)
					return -1;
				rd->state = R_CHUNK_SIZE;
				rd->head_len = 0;
			} else { /* a trailer line; the empty one ends the answer */
				bool empty = rd->head_len == 2;
				rd->head_len = 0;
				if (empty)
					return n == 0 ? 1 : -1;
			}
			break;
		}
		case R_BODY:
			if ((long long)n > rd->remaining)
				return -1;
			rd->remaining -= (long long)n;
			n = 0;
			return rd->remaining == 0 ? 1 : 0;
		case R_CHUNK_DATA: {
			size_t k = (long long)n < rd->remaining ? n : (size_t)rd->remaining;
			rd->remaining -= (long long)k;
			p += k;
			n -= k;
			if (rd->remaining == 0)
				rd->state = R_CHUNK_END;
			break;
		}
		}
	}
	return 0;
}

static void
record(struct thread *t, const struct conn *c, long long end_ns)
{
	long long us =
	    (end_ns - ((long long)c->sent.tv_sec * 1000000000LL + c->sent.tv_nsec)) / 1000;

	if (t->nlat == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 65536;
		t->lat_us = realloc(t->lat_us, t->cap * sizeof(*t->lat_us));
		if (t->lat_us == NULL)
			die("out of memory");
	}
	t->lat_us[t->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Replace c's socket after an error or a close; false when the server cannot be reached. */
static bool
reopen(struct thread *t, int ep, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	close(c->fd); /* also takes it out of the epoll set */
	c->fd = open_conn(t->o);
	if (c->fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		return false;
	return send_request(t, c);
}

static void *
run(void *arg)
{
	struct thread *t = arg;
	struct conn *conns = calloc(t->count, sizeof(*conns));
	struct epoll_event evs[64];
	char buf[BUF_CAP]; /* read into, parsed at once, never kept */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned live = 0;

	if (conns == NULL || ep < 0)
		die("out of memory or descriptors");
	for (unsigned i = 0; i < t->count; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };

		conns[i].fd = open_conn(t->o);
		if (conns[i].fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0)
			die("cannot connect");
		if (!send_request(t, &conns[i]))
			die("cannot send");
		live++;
	}
	while (live > 0) {
		int n = epoll_wait(ep, evs, 64, 1000);
		if (n < 0 && errno != EINTR)
			die("epoll_wait failed");
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t got = recv(c->fd, buf, sizeof(buf), 0);
			int r = got > 0 ? feed(&c->rd, buf, (size_t)got) : -1;

			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r == 0)
				continue;
			long long end = now_ns();
			if (r < 0) {
				t->errors++;
			} else {
				record(t, c, end);
				if (c->rd.status < 200 || c->rd.status > 299)
					t->non2xx++;
			}
			if (end >= t->deadline_ns) {
				close(c->fd);
				c->fd = -1;
				live--;
			} else if (r < 0 || c->rd.close) {
				/* A broken answer, or the server closing after its answer: anew. */
				if (!reopen(t, ep, c))
					die("the server went away");
			} else if (!send_request(t, c)) {
				t->errors++;
				if (!reopen(t, ep, c))
					die("the server went away");
			}
		}
	}
	close(ep);
	free(conns);
	return NULL;
}

static void
read_ids(const char *path, struct ids *ids)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 0;

	if (f == NULL)
		die("cannot open the IDs file");
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (ids->n == cap) {
			cap = cap ? 2 * cap : 1024;
			ids->v = realloc(ids->v, cap * sizeof(*ids->v));
			if (ids->v == NULL)
				die("out of memory");
		}
		ids->v[ids->n++] = strdup(line);
	}
	fclose(f);
	if (ids->n == 0)
		die("the IDs file is empty");
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: httpload -c CONNECTIONS -t THREADS -d SECONDS [-H 'Name: value']... "
	        "[-i IDS_FILE] HOST:PORT PATH\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct options o = { .conns = 16, .threads = 2, .seconds = 10 };
	struct ids ids = { 0 };
	int opt;

	while ((opt = getopt(argc, argv, "c:t:d:H:i:")) != -1) {
		switch (opt) {
		case 'c':
			o.conns = (unsigned)atoi(optarg);
			break;
		case 't':
			o.threads = (unsigned)atoi(optarg);
			break;
		case 'd':
			o.seconds = (unsigned)atoi(optarg);
			break;
		case 'H':
			if (o.nheaders == HEADERS_MAX)
				die("too many headers");
			o.headers[o.nheaders++] = optarg;
			break;
		case 'i':
			o.ids_file = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || o.conns == 0 || o.threads == 0 || o.seconds == 0)
		usage();
	const char *colon = strrchr(argv[optind], ':');
	if (colon == NULL || (size_t)(colon - argv[optind]) >= sizeof(o.host))
		usage();
	snprintf(o.host, sizeof(o.host), "%.*s", (int)(colon - argv[optind]), argv[optind]);
	snprintf(o.port, sizeof(o.port), "%s", colon + 1);
	o.path = argv[optind + 1];
	if (o.threads > o.conns)
		o.threads = o.conns;
	if (o.ids_file != NULL)
		read_ids(o.ids_file, &ids);

	struct thread *ts = calloc(o.threads, sizeof(*ts));
	long long start = now_ns();
	unsigned first = 0;
	for (unsigned i = 0; i < o.threads; i++) {
		ts[i].o = &o;
		ts[i].ids = &ids;
		ts[i].first = first;
		ts[i].count = o.conns / o.threads + (i < o.conns % o.threads);
		first += ts[i].count;
		ts[i].rng = (uint64_t)start ^ (0x9E3779B97F4A7C15ULL * (i + 1));
		ts[i].deadline_ns = start + (long long)o.seconds * 1000000000LL;
		if (pthread_create(&ts[i].tid, NULL, run, &ts[i]) != 0)
			die("cannot start a thread");
	}
	size_t total = 0;
	unsigned long non2xx = 0, errors = 0;
	for (unsigned i = 0; i < o.threads; i++) {
		pthread_join(ts[i].tid, NULL);
		total += ts[i].nlat;
		non2xx += ts[i].non2xx;
		errors += ts[i].errors;
	}
	double secs = (double)(now_ns() - start) / 1e9;
	uint32_t *all = malloc((total ? total : 1) * sizeof(*all));
	size_t k = 0;
	for (unsigned i = 0; i < o.threads; i++) {
		memcpy(all + k, ts[i].lat_us, ts[i].nlat * sizeof(*all));
		k += ts[i].nlat;
		free(ts[i].lat_us);
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	double p50 = total ? all[total / 2] / 1000.0 : 0;
	double p99 = total ? all[(size_t)((double)total * 0.99)] / 1000.0 : 0;
	double max = total ? all[total - 1] / 1000.0 : 0;
	printf("requests=%zu\nseconds=%.3f\nrps=%.1f\np50_ms=%.3f\np99_ms=%.3f\nmax_ms=%.3f\n"
	       "non2xx=%lu\nsocket_errors=%lu\n",
	       total, secs, (double)total / secs, p50, p99, max, non2xx, errors);
	free(all);
	free(ts);
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	return 0;
}
