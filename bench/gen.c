/*
 * gen.c — bench/gen.py in C: the benchmark's data set, byte for byte the same
 * files (or named pipes) for the same options. gen.py stays the reference
 * (what the data set is, and why, is written there); scripts/bench-load-test
 * compares the two outputs with diff -r, so neither can drift alone.
 *
 *   gen --participants P --out DIR [--pending N] [--freezers F] [--binary]
 *
 * --binary writes log_nodes.bin and events.bin, in COPY's binary format,
 * instead of log_nodes.csv and events.csv (the same rows): bench/load.sh uses
 * it, as PostgreSQL takes in the 9.8x10^7 nodes and 4.9x10^7 events of 10^7
 * specimens in about half the CPU that way (no CSV, hex, integer or
 * timestamp parsing; measured in docs/performance.md). Only the CSV is
 * compared with gen.py; the binary rows are checked once loaded.
 *
 * Why C: at 10^7 specimens bench/load.sh streams 4.9x10^7 events and 9.8x10^7
 * log nodes through named pipes into four COPYs, and gen.py's 7-8 CPU-us an
 * event (two SHA-256 and two formatted lines each, in Python) made it the
 * load's bottleneck (docs/performance.md, "Loading 10^7 specimens"). Here
 * every line is put together by hand (no printf per field), the hashes are
 * nettle's (the CPU's SHA instructions, as lib/merkle.c), and the log is the
 * sequencer's own frontier code (lib/merkle.c), IDs lib/ids.c's.
 *
 * Nothing is random: gen.py draws nothing (fates and thaws follow the
 * serial), so the same options give the same bytes.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "ids.h"
#include "merkle.h"

enum {
	TIMEPOINTS = 20,
	ALIQUOTS = 11, /* per derivative */
	BOX_ROWS = 9,
	BOX_COLS = 9,
	BOXES_PER_RACK = 20,
	SHELVES = 5,
	FREEZERS = 5,
	BENCH_BOXES = 16, /* move scenario: one box per client */
	RACK_TUBES = 96,  /* rack placement and audit scenarios */
	HEX_LEN = 2 * MT_HASH_LEN,
	OUT_BUF = 1 << 20,
	/* The largest line or canonical string an event makes (details of an
	 * aliquoting: 11 IDs), with room to spare; checked before each event. */
	LINE_MAX_LEN = 1024,
	/* 1 MB pipes: see out_open. */
	PIPE_SIZE = 1 << 20,
	/* Full buffers a pipe's writer may hold (struct writer): 16 MB. */
	QUEUE_BUFS = 16,
};

static const int64_t SEC = 1000000;
static const int64_t DAY = 86400LL * 1000000;
/* 2000-01-03 09:00 UTC: even a cohort of 5,000 ends in the past (gen.py). */
static const int64_t BASE = 946890000LL * 1000000;

static const char *const TIMEPOINT_NAMES[TIMEPOINTS] = {
	"baseline", "m6",  "m12", "y2",  "y3",  "y4",  "y5",  "y6",  "y7",  "y8",
	"y9",       "y10", "y11", "y12", "y13", "y14", "y15", "y16", "y17", "y18",
};
static const char *const DIAGNOSES[] = { "DM",  "PM",    "IBM",   "IMNM",   "ASyS",
	                                 "SSc", "dcSSc", "lcSSc", "control" };
enum { NDIAGNOSES = sizeof(DIAGNOSES) / sizeof(DIAGNOSES[0]) };
static const char ZERO_HEX[HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * A pipe's writer thread and its queue of full buffers. Written from the
 * generator's one thread, the four pipes took turns: while it waited for the
 * slowest COPY to drain its pipe, the others ran dry and their backends sat
 * idle (at 10^7 the copy phase kept 1.06 of the 2 cores busy, 2026-12-08).
 * With a thread each, the generator waits only when a pipe's QUEUE_BUFS
 * buffers are all full. Slot i owns buffer i; len[i] is 0 when it is free.
 */
struct writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int fd;
	int err;       /* the first write error (later buffers are dropped) */
	bool closing;  /* no more buffers will come */
	unsigned head; /* the next slot to write */
	char *buf[QUEUE_BUFS];
	size_t len[QUEUE_BUFS];
};

/*
 * One output file or pipe, written through its own 1 MB buffer (a pipe's
 * through its writer). A write error is kept (the first errno) and reported
 * when the file is closed, as stdio's ferror: checking after every row would
 * add a branch per field for nothing.
 */
struct out {
	int fd;
	int err;
	bool binary; /* in COPY's binary format */
	char *buf;
	size_t len;
	uint64_t rows;
	struct writer *w; /* a pipe's; NULL for a file */
	unsigned tail;    /* the writer's slot buf is */
	char path[4096];
};

/* write(2) all of len bytes; 0 or the errno. */
static int
write_all(int fd, const char *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		done += (size_t)n;
	}
	return 0;
}

static void *
writer_run(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->len[w->head] == 0 && !w->closing)
			pthread_cond_wait(&w->changed, &w->lock);
		size_t len = w->len[w->head];
		if (len == 0)
			break; /* closing, and nothing left */
		pthread_mutex_unlock(&w->lock);
		int err = w->err == 0 ? write_all(w->fd, w->buf[w->head], len) : 0;
		pthread_mutex_lock(&w->lock);
		if (err != 0)
			w->err = err;
		w->len[w->head] = 0;
		w->head = (w->head + 1) % QUEUE_BUFS;
		pthread_cond_broadcast(&w->changed);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* A writer for the pipe o has open, o's buffer its first slot; -1 and errno on failure. */
static int
writer_start(struct out *o)
{
	struct writer *w = calloc(1, sizeof(*w));
	int err;

	if (w == NULL)
		return -1;
	w->fd = o->fd;
	w->buf[0] = o->buf;
	for (int i = 1; i < QUEUE_BUFS; i++)
		if ((w->buf[i] = malloc(OUT_BUF)) == NULL)
			abort();
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);
	if ((err = pthread_create(&w->thread, NULL, writer_run, w)) != 0) {
		for (int i = 1; i < QUEUE_BUFS; i++)
			free(w->buf[i]);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->changed);
		free(w);
		errno = err;
		return -1;
	}
	o->w = w;
	o->tail = 0;
	return 0;
}

/* Hand the buffer to the writer and take the next free one. */
static void
writer_put(struct out *o)
{
	struct writer *w = o->w;

	pthread_mutex_lock(&w->lock);
	w->len[o->tail] = o->len;
	pthread_cond_broadcast(&w->changed);
	o->tail = (o->tail + 1) % QUEUE_BUFS;
	while (w->len[o->tail] != 0)
		pthread_cond_wait(&w->changed, &w->lock);
	if (w->err != 0 && o->err == 0)
		o->err = w->err;
	pthread_mutex_unlock(&w->lock);
	o->buf = w->buf[o->tail];
}

/* Wait until the writer has written everything, end it; o's buffer is then its own again. */
static void
writer_stop(struct out *o)
{
	struct writer *w = o->w;

	pthread_mutex_lock(&w->lock);
	w->closing = true;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	if (w->err != 0 && o->err == 0)
		o->err = w->err;
	for (int i = 0; i < QUEUE_BUFS; i++)
		if (i != (int)o->tail)
			free(w->buf[i]);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->changed);
	free(w);
	o->w = NULL;
}

static void
out_flush(struct out *o)
{
	if (o->len > 0 && o->w != NULL)
		writer_put(o);
	else if (o->len > 0 && o->err == 0)
		o->err = write_all(o->fd, o->buf, o->len);
	o->len = 0;
}

/* Room for one more line: flushes when less than LINE_MAX_LEN is left. */
static inline char *
out_room(struct out *o)
{
	if (OUT_BUF - o->len < LINE_MAX_LEN)
		out_flush(o);
	return o->buf + o->len;
}

static inline void
out_done(struct out *o, char *end)
{
	o->len = (size_t)(end - o->buf);
}

/* Opens DIR/NAME (created, or the named pipe bench/load.sh made). 0, or -1 with errno. */
static int
out_open(struct out *o, const char *dir, const char *name)
{
	struct stat st;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (snprintf(o->path, sizeof(o->path), "%s/%s", dir, name) >= (int)sizeof(o->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	o->buf = malloc(OUT_BUF);
	if (o->buf == NULL)
		return -1;
	/* (A named pipe: blocks until its COPY opens it.) */
	o->fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o->fd < 0)
		return -1;
	/*
	 * A named pipe holds 64 KB by default: the generator and the COPY reading
	 * it then hand each other 16 pages at a time, each waking the other, and
	 * at 10^7 gen.py and the four backends left the machine 35-40% idle that
	 * way. 1 MB (the default /proc/sys/fs/pipe-max-size) lets each side run
	 * longer between switches. The system may refuse (a user over
	 * pipe-user-pages-soft, a smaller pipe-max-size): the default still
	 * works, only slower, so the refusal is ignored.
	 */
	if (fstat(o->fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
		(void)fcntl(o->fd, F_SETPIPE_SZ, PIPE_SIZE);
		return writer_start(o);
	}
	return 0;
}

/* Flushes and closes; 0, or -1 with errno the first error writing or closing. */
static int
out_close(struct out *o)
{
	int rc = 0;

	if (o->fd >= 0) {
		out_flush(o);
		if (o->w != NULL)
			writer_stop(o);
		if (close(o->fd) != 0 && o->err == 0)
			o->err = errno;
		o->fd = -1;
	}
	free(o->buf);
	o->buf = NULL;
	if (o->err != 0) {
		errno = o->err;
		rc = -1;
	}
	return rc;
}

/* --- formatting by hand ---------------------------------------------------- */

static inline char *
put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static inline char *
put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static inline char *
put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

/* v in at least width digits, zero-padded (printf's %0*d). */
static inline char *
put_pad(char *p, uint64_t v, int width)
{
	int n = 1;

	for (uint64_t x = v; x >= 10; x /= 10)
		n++;
	if (n < width)
		n = width;
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

static void
hex_of(const unsigned char h[MT_HASH_LEN], char out[HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < MT_HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[HEX_LEN] = '\0';
}

/* A field of the canonical bytes of version 2: "LEN:VALUE;", NULL "-;" (lib/ledger.c). */
static inline char *
put_v2(char *p, const char *value)
{
	if (value == NULL)
		return put_str(p, "-;");
	size_t n = strlen(value);
	p = put_u64(p, n);
	*p++ = ':';
	memcpy(p, value, n);
	p += n;
	*p++ = ';';
	return p;
}

/* The proleptic Gregorian date of a day number since 1970-01-01 (H. Hinnant's
 * days_from_civil inverted), as datetime computes it. */
static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* gen.py's ts(): "YYYY-MM-DD HH:MM:SS.ffffff+00" (29 characters), times >= 1970. */
enum { TS_LEN = 29 };
static char *
put_ts(char *p, int64_t micros)
{
	int64_t days = micros / DAY, r = micros % DAY;
	int64_t s = r / SEC, us = r % SEC;
	int y, m, d;

	civil_from_days(days, &y, &m, &d);
	p = put_pad(p, (uint64_t)y, 4);
	*p++ = '-';
	p = put_pad(p, (uint64_t)m, 2);
	*p++ = '-';
	p = put_pad(p, (uint64_t)d, 2);
	*p++ = ' ';
	p = put_pad(p, (uint64_t)(s / 3600), 2);
	*p++ = ':';
	p = put_pad(p, (uint64_t)(s / 60 % 60), 2);
	*p++ = ':';
	p = put_pad(p, (uint64_t)(s % 60), 2);
	*p++ = '.';
	p = put_pad(p, (uint64_t)us, 6);
	return put_str(p, "+00");
}

/* gen.py's csv_field: quoted when it holds a comma, quote or line break, or is ''. */
static char *
put_csv(char *p, const char *s)
{
	if (s == NULL)
		return p;
	if (*s != '\0' && strpbrk(s, ",\"\n\r") == NULL)
		return put_str(p, s);
	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"')
			*p++ = '"';
		*p++ = *s;
	}
	*p++ = '"';
	return p;
}

/* A row of small-table fields (NULL: empty), gen.py's Writer.row. Every field
 * is short (a location's path is the longest). */
static void
out_row(struct out *o, const char *const *fields, size_t n)
{
	char *p = out_room(o);

	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		p = put_csv(p, fields[i]);
	}
	*p++ = '\n';
	out_done(o, p);
	o->rows++;
}

/* --- the log and the queue -------------------------------------------------- */

/* An event waiting in log_pending (the last --pending ones). */
struct queued {
	char sid[BB_ID_LEN + 1];
	uint32_t seq;
	mt_hash leaf;
};

enum {
	OUT_ENTRIES,
	OUT_NODES,
	OUT_STUDIES,
	OUT_PARTICIPANTS,
	OUT_CONSENTS,
	OUT_LOCATIONS,
	OUT_BOXES,
	OUT_SPECIMENS,
	OUT_EVENTS,
	OUT__MAX
};
/* In gen.py's order of opening (the log's two first): with named pipes the order
 * only matters if a reader were missing, and then it waits either way. */
static const char *const OUT_NAMES[OUT__MAX] = {
	"log_entries.csv", "log_nodes.csv", "studies.csv",   "participants.csv", "consents.csv",
	"locations.csv",   "boxes.csv",     "specimens.csv", "events.csv",
};

/* log_nodes levels: the tree of at most 2^63 leaves has 64. */
enum { LEVELS = 64 };

struct gen {
	struct out out[OUT__MAX];
	/* The nodes above the leaves, one spill file a level (emit_node says why). */
	struct out upper[LEVELS];
	const char *dir;
	struct mt_frontier log;
	/* The queue: a ring of pending slots, the oldest at head. */
	struct queued *queue;
	size_t pending, head, queued;
	uint64_t serial;
};

/* Big-endian, as COPY's binary format has its integers. */
static inline char *
put_be(char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		p[i] = (char)(v & 0xff);
		v >>= 8;
	}
	return p + bytes;
}

/* COPY's binary format: the signature, no flags, no header extension. */
static void
out_binary_header(struct out *o)
{
	static const char signature[11] = "PGCOPY\n\377\r\n";
	char *p = out_room(o);

	memcpy(p, signature, sizeof(signature));
	p = put_be(p + sizeof(signature), 0, 4);
	p = put_be(p, 0, 4);
	out_done(o, p);
}

/* One log_nodes row (level smallint, idx bigint, hash bytea), binary: three
 * fields, each its length and its bytes. */
static void
emit_node_binary(struct out *o, int level, uint64_t index, const mt_hash hash)
{
	char *p = out_room(o);

	p = put_be(p, 3, 2);
	p = put_be(p, 2, 4);
	p = put_be(p, (uint64_t)level, 2);
	p = put_be(p, 8, 4);
	p = put_be(p, index, 8);
	p = put_be(p, MT_HASH_LEN, 4);
	memcpy(p, hash, MT_HASH_LEN);
	out_done(o, p + MT_HASH_LEN);
	o->rows++;
}

/* A level's spill file: made and unlinked at once, so that nothing is left behind. */
static void
spill_open(struct gen *g, int level)
{
	struct out *u = &g->upper[level];

	u->binary = g->out[OUT_NODES].binary;
	if (snprintf(u->path, sizeof(u->path), "%s/log_nodes.%d.spill", g->dir, level) >=
	    (int)sizeof(u->path)) {
		fprintf(stderr, "gen: %s: the path is too long\n", g->dir);
		exit(1);
	}
	u->fd = open(u->path, O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, 0600);
	if (u->fd < 0 || unlink(u->path) != 0 || (u->buf = malloc(OUT_BUF)) == NULL) {
		fprintf(stderr, "gen: %s: %s\n", u->path, strerror(errno));
		exit(1);
	}
}

/*
 * The nodes go out in (level, idx) order, log_nodes' primary key: the leaves
 * as they come, each higher level into its own spill file, appended after
 * the leaves (nodes_finish). PostgreSQL's sort first checks whether its input
 * is in order already, so the key is then built without sorting: 6.2 s
 * instead of 19.7 s for the 9.8x10^6 nodes of 10^6 specimens (2026-12-08).
 */
static void
emit_node(void *arg, int level, uint64_t index, const mt_hash hash)
{
	struct gen *g = arg;
	struct out *o = &g->out[OUT_NODES];
	char hex[HEX_LEN + 1];

	if (level > 0) {
		if (g->upper[level].buf == NULL)
			spill_open(g, level);
		o = &g->upper[level];
	}
	if (o->binary) {
		emit_node_binary(o, level, index, hash);
		return;
	}
	char *p = out_room(o);
	hex_of(hash, hex);
	p = put_u64(p, (uint64_t)level);
	*p++ = ',';
	p = put_u64(p, index);
	p = put_str(p, ",\\x");
	memcpy(p, hex, HEX_LEN);
	p += HEX_LEN;
	*p++ = '\n';
	out_done(o, p);
	o->rows++;
}

/* Each level's spill file after the leaves, level by level; -1 and errno on failure. */
static int
nodes_finish(struct gen *g)
{
	struct out *o = &g->out[OUT_NODES];
	int err = 0;

	for (int level = 1; level < LEVELS; level++) {
		struct out *u = &g->upper[level];

		if (u->buf == NULL)
			continue;
		out_flush(u);
		if (u->err == 0 && lseek(u->fd, 0, SEEK_SET) != 0)
			u->err = errno;
		out_flush(o);
		while (u->err == 0 && o->err == 0) {
			ssize_t n = read(u->fd, o->buf, OUT_BUF);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				u->err = errno;
			if (n <= 0)
				break;
			o->len = (size_t)n;
			out_flush(o);
		}
		o->rows += u->rows;
		if (out_close(u) != 0 && err == 0)
			err = errno;
	}
	if (err == 0 && o->err != 0)
		err = o->err;
	errno = err;
	return err == 0 ? 0 : -1;
}

/* gen.py's Log.append: the entry, the leaf and every subtree it completes. */
static void
log_append(struct gen *g, const char *sid, uint32_t seq, const mt_hash leaf)
{
	struct out *o = &g->out[OUT_ENTRIES];
	char *p = out_room(o);

	p = put_u64(p, g->log.size);
	*p++ = ',';
	p = put_str(p, sid);
	*p++ = ',';
	p = put_u64(p, seq);
	*p++ = '\n';
	out_done(o, p);
	o->rows++;
	mt_frontier_append(&g->log, leaf, emit_node, g);
}

/* An event made: to the log, or to the queue whose oldest then goes to the log. */
static void
log_or_queue(struct gen *g, const char *sid, uint32_t seq, const mt_hash leaf)
{
	if (g->pending == 0) {
		log_append(g, sid, seq, leaf);
		return;
	}
	if (g->queued == g->pending) {
		struct queued *old = &g->queue[g->head];

		log_append(g, old->sid, old->seq, old->leaf);
		g->head = (g->head + 1) % g->pending;
		g->queued--;
	}
	struct queued *q = &g->queue[(g->head + g->queued) % g->pending];
	memcpy(q->sid, sid, sizeof(q->sid));
	q->seq = seq;
	memcpy(q->leaf, leaf, MT_HASH_LEN);
	g->queued++;
}

/* --- the custody chains --------------------------------------------------- */

/* One specimen's ledger: its ID, its last seq and head (hex). */
struct chain {
	char sid[BB_ID_LEN + 1];
	uint32_t seq;
	char head[HEX_LEN + 1];
	mt_hash head_raw; /* (for the binary format) */
};

/* One event's fields (NULL: none); actor is always tech1, details "{}" unless given. */
struct ev {
	const char *type;
	int64_t at;
	const char *from_box, *from_pos, *to_box, *to_pos, *reason, *details;
};

static void
chain_init(struct chain *c, const char *sid)
{
	memcpy(c->sid, sid, sizeof(c->sid));
	c->seq = 0;
	memcpy(c->head, ZERO_HEX, sizeof(c->head));
	memset(c->head_raw, 0, sizeof(c->head_raw));
}

/* The event's row as gen.py writes it (only reason and details can need quotes). */
static void
event_csv(struct out *o, const struct chain *c, const struct ev *e, const char *actor,
          const char *details, const char *digest)
{
	char *w = out_room(o);

	w = put_str(w, c->sid);
	*w++ = ',';
	w = put_u64(w, c->seq);
	*w++ = ',';
	w = put_str(w, e->type);
	*w++ = ',';
	w = put_ts(w, e->at);
	*w++ = ',';
	w = put_str(w, actor);
	*w++ = ',';
	*w++ = ',';
	w = put_str(w, e->from_box != NULL ? e->from_box : "");
	*w++ = ',';
	w = put_str(w, e->from_pos != NULL ? e->from_pos : "");
	*w++ = ',';
	w = put_str(w, e->to_box != NULL ? e->to_box : "");
	*w++ = ',';
	w = put_str(w, e->to_pos != NULL ? e->to_pos : "");
	*w++ = ',';
	w = put_csv(w, e->reason);
	*w++ = ',';
	*w++ = '"';
	for (const char *s = details; *s != '\0'; s++) {
		if (*s == '"')
			*w++ = '"';
		*w++ = *s;
	}
	w = put_str(w, "\",\\x");
	memcpy(w, c->head, HEX_LEN);
	w += HEX_LEN;
	w = put_str(w, ",\\x");
	memcpy(w, digest, HEX_LEN);
	w += HEX_LEN;
	w = put_str(w, ",2\n");
	out_done(o, w);
	o->rows++;
}

/* A binary field: its length and bytes; NULL (s == NULL) is length -1. */
static inline char *
put_bin(char *p, const void *s, size_t n)
{
	if (s == NULL)
		return put_be(p, 0xffffffff, 4);
	p = put_be(p, n, 4);
	memcpy(p, s, n);
	return p + n;
}

static inline char *
put_bin_str(char *p, const char *s)
{
	return put_bin(p, s, s != NULL ? strlen(s) : 0);
}

/* The same row in COPY's binary format, the columns bench/load.sh names:
 * specimen_id, seq, type, at, actor, actor_id, from_box, from_pos, to_box,
 * to_pos, reason, details, prev_hash, hash, format. */
static void
event_binary(struct out *o, const struct chain *c, const struct ev *e, const char *actor,
             const char *details, const mt_hash digest)
{
	/* timestamptz: microseconds since 2000-01-01 00:00 UTC. */
	static const int64_t PG_EPOCH = 946684800LL * 1000000;
	size_t n = strlen(details);
	char *w = out_room(o);

	w = put_be(w, 15, 2);
	w = put_bin_str(w, c->sid);
	w = put_be(w, 4, 4);
	w = put_be(w, c->seq, 4);
	w = put_bin_str(w, e->type);
	w = put_be(w, 8, 4);
	w = put_be(w, (uint64_t)(e->at - PG_EPOCH), 8);
	w = put_bin_str(w, actor);
	w = put_bin(w, NULL, 0); /* actor_id */
	w = put_bin_str(w, e->from_box);
	w = put_bin_str(w, e->from_pos);
	w = put_bin_str(w, e->to_box);
	w = put_bin_str(w, e->to_pos);
	w = put_bin_str(w, e->reason);
	/* jsonb: a version byte (1), then the text. */
	w = put_be(w, n + 1, 4);
	*w++ = 1;
	memcpy(w, details, n);
	w += n;
	w = put_bin(w, c->head_raw, MT_HASH_LEN);
	w = put_bin(w, digest, MT_HASH_LEN);
	w = put_be(w, 2, 4);
	w = put_be(w, 2, 2); /* format */
	out_done(o, w);
	o->rows++;
}

/* gen.py's Chain.add: the event row, hashed as bb_event_digest_v2, then logged or queued. */
static void
chain_add(struct gen *g, struct chain *c, const struct ev *e)
{
	static const char actor[] = "tech1";
	const char *details = e->details != NULL ? e->details : "{}";
	char canon[LINE_MAX_LEN], digest[HEX_LEN + 1];
	char *p = canon;
	unsigned char h[MT_HASH_LEN];
	struct sha256_ctx st;
	char ats[24];
	char *ae = put_i64(ats, e->at);

	*ae = '\0';
	c->seq++;
	p = put_str(p, "1:2;");
	p = put_v2(p, c->sid);
	char seqs[12];
	*put_u64(seqs, c->seq) = '\0';
	p = put_v2(p, seqs);
	p = put_v2(p, e->type);
	p = put_v2(p, ats);
	p = put_v2(p, actor);
	p = put_v2(p, e->from_box);
	p = put_v2(p, e->from_pos);
	p = put_v2(p, e->to_box);
	p = put_v2(p, e->to_pos);
	p = put_v2(p, e->reason);
	p = put_v2(p, details);
	p = put_str(p, "64:");
	memcpy(p, c->head, HEX_LEN);
	p += HEX_LEN;
	*p++ = ';';
	size_t n = (size_t)(p - canon);

	sha256_init(&st);
	sha256_update(&st, n, (const uint8_t *)canon);
	sha256_digest(&st, MT_HASH_LEN, h);
	hex_of(h, digest);

	if (g->out[OUT_EVENTS].binary)
		event_binary(&g->out[OUT_EVENTS], c, e, actor, details, h);
	else
		event_csv(&g->out[OUT_EVENTS], c, e, actor, details, digest);
	memcpy(c->head, digest, sizeof(c->head));
	memcpy(c->head_raw, h, MT_HASH_LEN);

	mt_leaf_hash(canon, n, h);
	log_or_queue(g, c->sid, c->seq, h);
}

/* --- the data set ----------------------------------------------------------- */

/* The next serial that has an ID (bb_id_for_serial skips a few). */
static uint64_t
next_id(struct gen *g, char id[BB_ID_LEN + 1])
{
	do
		g->serial++;
	while (!bb_id_from_serial(g->serial, id));
	return g->serial;
}

struct opts {
	long participants, pending, freezers;
	bool binary;
	const char *out;
};

struct storage {
	uint64_t nboxes;
	long next_loc;
	long bench_rack;
	long *rack_ids;
	size_t nracks;
};

/* One location row: its path (JSON) and ancestors ("{1,2}") from its chain of
 * names and ids, depth entries long. */
static void
location(struct gen *g, long lid, long parent, const char *kind, const char *const names[],
         const long ids[], int depth, const char *temperature, const char *barcode)
{
	char lids[24], parents[24], path[512], anc[256];
	char *p = path, *a = anc;

	snprintf(lids, sizeof(lids), "%ld", lid);
	snprintf(parents, sizeof(parents), "%ld", parent);
	*p++ = '[';
	*a++ = '{';
	for (int i = 0; i < depth; i++) {
		if (i > 0) {
			*p++ = ',';
			*a++ = ',';
		}
		*p++ = '"';
		p = put_str(p, names[i]);
		*p++ = '"';
		a = put_i64(a, ids[i]);
	}
	*p++ = ']';
	*p = '\0';
	*a++ = '}';
	*a = '\0';
	const char *f[] = { lids,        parent > 0 ? parents : NULL,
		            kind,        names[depth - 1],
		            temperature, barcode,
		            path,        anc };
	out_row(&g->out[OUT_LOCATIONS], f, 8);
}

/* The site, the room, the freezers, shelves and racks; the racks' ids in s. */
static int
storage_write(struct gen *g, const struct opts *o, uint64_t aliquots, struct storage *s)
{
	uint64_t nboxes = (aliquots + BOX_ROWS * BOX_COLS - 1) / (BOX_ROWS * BOX_COLS);
	uint64_t racks = (nboxes + BOXES_PER_RACK - 1) / BOXES_PER_RACK;
	uint64_t per_shelf =
	    (racks + (uint64_t)o->freezers * SHELVES - 1) / ((uint64_t)o->freezers * SHELVES);
	const char *names[5];
	long ids[5];
	char fname[32], sname[32], rname[32], fbar[32];

	s->nboxes = nboxes;
	s->nracks = 0;
	s->rack_ids = calloc((size_t)(o->freezers * SHELVES * (long)per_shelf) + 1, sizeof(long));
	if (s->rack_ids == NULL)
		return -1;
	names[0] = "Main site";
	ids[0] = 1;
	location(g, 1, 0, "site", names, ids, 1, NULL, NULL);
	names[1] = "Freezer room";
	ids[1] = 2;
	location(g, 2, 1, "room", names, ids, 2, NULL, NULL);
	long next = 3;
	for (long f = 0; f < o->freezers; f++) {
		long fid = next++;
		snprintf(fname, sizeof(fname), "Freezer %ld", f + 1);
		snprintf(fbar, sizeof(fbar), "FZ-%ld", f + 1);
		names[2] = fname;
		ids[2] = fid;
		location(g, fid, 2, "freezer", names, ids, 3, f < 4 ? "-80" : "-150", fbar);
		for (long sh = 0; sh < SHELVES; sh++) {
			long sid = next++;
			snprintf(sname, sizeof(sname), "Shelf %ld", sh + 1);
			names[3] = sname;
			ids[3] = sid;
			location(g, sid, fid, "shelf", names, ids, 4, NULL, NULL);
			if (f == 0 && sh == 0) {
				s->bench_rack = next++;
				names[4] = "Bench rack";
				ids[4] = s->bench_rack;
				location(g, s->bench_rack, sid, "rack", names, ids, 5, NULL, NULL);
			}
			for (uint64_t r = 0; r < per_shelf; r++) {
				snprintf(rname, sizeof(rname), "Rack %" PRIu64, r + 1);
				names[4] = rname;
				ids[4] = next;
				s->rack_ids[s->nracks++] = next;
				location(g, next, sid, "rack", names, ids, 5, NULL, NULL);
				next++;
			}
		}
	}
	s->next_loc = next;
	return 0;
}

static void
boxes_write(struct gen *g, const struct storage *s)
{
	char id[24], bc[32], rack[24];
	const char *f[] = { id, bc, "9", "9", rack };

	for (uint64_t b = 0; b < s->nboxes; b++) {
		snprintf(id, sizeof(id), "%" PRIu64, b + 1);
		snprintf(bc, sizeof(bc), "BX%06" PRIu64, b + 1);
		snprintf(rack, sizeof(rack), "%ld", s->rack_ids[b / BOXES_PER_RACK]);
		out_row(&g->out[OUT_BOXES], f, 5);
	}
	snprintf(rack, sizeof(rack), "%ld", s->bench_rack);
	for (int c = 0; c < BENCH_BOXES; c++) {
		snprintf(id, sizeof(id), "%" PRIu64, s->nboxes + 1 + (uint64_t)c);
		snprintf(bc, sizeof(bc), "BM-B-%02d", c);
		out_row(&g->out[OUT_BOXES], f, 5);
	}
	const char *rp[] = { id, bc, "8", "12", rack };
	for (int c = 1; c <= 2; c++) {
		snprintf(id, sizeof(id), "%" PRIu64, s->nboxes + BENCH_BOXES + (uint64_t)c);
		snprintf(bc, sizeof(bc), "RP-%d", c);
		out_row(&g->out[OUT_BOXES], rp, 5);
	}
}

/* What one participant's specimens share. */
struct donor {
	long pid;
	int study_id;
	const char *study;
	char code[24];
};

/* The common head of a specimen row: ID,serial,study,participant,type,timepoint,collected. */
static char *
spec_head(char *p, const char *id, uint64_t serial, const struct donor *d, const char *type,
          const char *tp, const char *tcollected)
{
	p = put_str(p, id);
	*p++ = ',';
	p = put_u64(p, serial);
	*p++ = ',';
	p = put_u64(p, (uint64_t)d->study_id);
	*p++ = ',';
	p = put_u64(p, (uint64_t)d->pid);
	*p++ = ',';
	p = put_str(p, type);
	*p++ = ',';
	p = put_str(p, tp);
	*p++ = ',';
	return put_str(p, tcollected);
}

/* The tail of a specimen row: created_at,ledger_seq,\xledger_head. */
static char *
spec_tail(char *p, int64_t created, const struct chain *c)
{
	p = put_ts(p, created);
	*p++ = ',';
	p = put_u64(p, c->seq);
	p = put_str(p, ",\\x");
	memcpy(p, c->head, HEX_LEN);
	p += HEX_LEN;
	*p++ = '\n';
	return p;
}

/* One aliquot: its chain, stored in the next slot, then its fate by its serial. */
static void
aliquot(struct gen *g, const struct donor *d, const char *kid, uint64_t kserial, const char *did,
        const char *dtype, const char *tp, const char *tcollected, int64_t at, uint64_t slot)
{
	enum { PROTECTED = BENCH_BOXES * BOX_ROWS * BOX_COLS + RACK_TUBES };
	struct chain c;
	char bc[24], pos[8], *p;
	uint64_t b = slot / (BOX_ROWS * BOX_COLS) + 1;
	unsigned k = (unsigned)(slot % (BOX_ROWS * BOX_COLS));
	unsigned row = k / BOX_COLS + 1, col = k % BOX_COLS + 1;

	memcpy(bc, "BX", 2);
	*put_pad(bc + 2, b, 6) = '\0';
	pos[0] = (char)(64 + row);
	*put_u64(pos + 1, col) = '\0';
	chain_init(&c, kid);
	char details[64];
	p = put_str(details, "{\"parent\": \"");
	p = put_str(p, did);
	strcpy(p, "\", \"derivation\": \"aliquot\"}");
	chain_add(g, &c, &(struct ev){ .type = "registered", .at = at, .details = details });
	chain_add(g, &c,
	          &(struct ev){ .type = "label_printed",
	                        .at = at + 30 * SEC,
	                        .details = "{\"copies\": 1, \"printer\": \"bench-1\"}" });
	chain_add(
	    g, &c,
	    &(struct ev){ .type = "stored", .at = at + 900 * SEC, .to_box = bc, .to_pos = pos });
	unsigned thaws = (unsigned)(kserial % 3);
	int64_t when = at + 30 * DAY;
	for (unsigned i = 0; i < thaws; i++) {
		chain_add(g, &c,
		          &(struct ev){ .type = "checked_out",
		                        .at = when,
		                        .from_box = bc,
		                        .from_pos = pos,
		                        .reason = "assay" });
		chain_add(g, &c,
		          &(struct ev){ .type = "returned",
		                        .at = when + 4 * 3600 * SEC,
		                        .to_box = bc,
		                        .to_pos = pos,
		                        .details = "{\"thawed\": true}" });
		when += 200 * DAY;
	}
	unsigned fate = slot >= PROTECTED ? (unsigned)(kserial % 100) : 99;
	const char *status = "in_storage";
	if (fate < 4) {
		status = "shipped";
		chain_add(g, &c,
		          &(struct ev){ .type = "shipped",
		                        .at = when,
		                        .from_box = bc,
		                        .from_pos = pos,
		                        .reason = "proteomics core",
		                        .details = "{\"conditions\": \"dry ice\"}" });
	} else if (fate < 10) {
		/* Taken out for an assay; fates 4 to 6 were used up in it. */
		status = fate < 7 ? "consumed" : "checked_out";
		chain_add(g, &c,
		          &(struct ev){ .type = "checked_out",
		                        .at = when,
		                        .from_box = bc,
		                        .from_pos = pos,
		                        .reason = "assay" });
		if (fate < 7)
			chain_add(g, &c,
			          &(struct ev){ .type = "consumed",
			                        .at = when + 3600 * SEC,
			                        .reason = "used up in assay" });
	}
	struct out *o = &g->out[OUT_SPECIMENS];
	p = spec_head(out_room(o), kid, kserial, d, dtype, tp, tcollected);
	p = put_str(p, ",0.5,mL,");
	p = put_str(p, did);
	p = put_str(p, ",aliquot,FX");
	p = put_pad(p, kserial, 8);
	*p++ = ',';
	p = put_str(p, status);
	*p++ = ',';
	p = put_u64(p, thaws);
	p = put_str(p, ",f,");
	if (strcmp(status, "in_storage") == 0) {
		p = put_u64(p, b);
		*p++ = ',';
		p = put_u64(p, row);
		*p++ = ',';
		p = put_u64(p, col);
	} else {
		p = put_str(p, ",,");
	}
	p = put_str(p, ",,");
	p = spec_tail(p, at, &c);
	out_done(o, p);
	o->rows++;
}

/* One collection: the whole-blood tube, its serum and plasma, their 22 aliquots. */
static void
collection(struct gen *g, const struct donor *d, const char *tp, int64_t collected, uint64_t *slot)
{
	static const char *const DTYPES[2] = { "serum", "plasma" };
	int64_t t = collected + 3600 * SEC;
	char root[BB_ID_LEN + 1], did[2][BB_ID_LEN + 1], tcollected[TS_LEN + 1], details[256];
	uint64_t root_serial = next_id(g, root), dserial[2];
	struct chain rc;
	struct out *o = &g->out[OUT_SPECIMENS];
	char *p;

	*put_ts(tcollected, collected) = '\0';
	chain_init(&rc, root);
	snprintf(details, sizeof(details), "{\"study\": \"%s\", \"participant\": \"%s\"}", d->study,
	         d->code);
	chain_add(g, &rc, &(struct ev){ .type = "registered", .at = t, .details = details });
	for (int i = 0; i < 2; i++) {
		dserial[i] = next_id(g, did[i]);
		snprintf(details, sizeof(details), "{\"type\": \"%s\", \"child\": \"%s\"}",
		         DTYPES[i], did[i]);
		chain_add(
		    g, &rc,
		    &(struct ev){ .type = "derived", .at = t + 60 * SEC, .details = details });
	}
	chain_add(g, &rc,
	          &(struct ev){ .type = "consumed",
	                        .at = t + 120 * SEC,
	                        .reason = "processed into serum and plasma" });
	p = spec_head(out_room(o), root, root_serial, d, "whole_blood", tp, tcollected);
	p = put_str(p, ",10,mL,,,,consumed,0,f,,,,,");
	p = spec_tail(p, t, &rc);
	out_done(o, p);
	o->rows++;

	for (int i = 0; i < 2; i++) {
		struct chain dc;
		char kids[ALIQUOTS][BB_ID_LEN + 1];
		uint64_t kserial[ALIQUOTS];
		int64_t dt = t + 60 * SEC;

		chain_init(&dc, did[i]);
		snprintf(details, sizeof(details),
		         "{\"parent\": \"%s\", \"derivation\": \"derivative\"}", root);
		chain_add(g, &dc,
		          &(struct ev){ .type = "registered", .at = dt, .details = details });
		p = put_str(details, "{\"count\": 11, \"children\": [");
		for (int k = 0; k < ALIQUOTS; k++) {
			kserial[k] = next_id(g, kids[k]);
			if (k > 0)
				p = put_str(p, ", ");
			*p++ = '"';
			p = put_str(p, kids[k]);
			*p++ = '"';
		}
		strcpy(p, "], \"quantity_each\": 0.5}");
		chain_add(
		    g, &dc,
		    &(struct ev){ .type = "aliquoted", .at = dt + 600 * SEC, .details = details });
		chain_add(g, &dc,
		          &(struct ev){ .type = "consumed",
		                        .at = dt + 660 * SEC,
		                        .reason = "aliquoted in full" });
		p = spec_head(out_room(o), did[i], dserial[i], d, DTYPES[i], tp, tcollected);
		p = put_str(p, ",0,mL,");
		p = put_str(p, root);
		p = put_str(p, ",derivative,,consumed,0,f,,,,,");
		p = spec_tail(p, dt, &dc);
		out_done(o, p);
		o->rows++;
		for (int k = 0; k < ALIQUOTS; k++)
			aliquot(g, d, kids[k], kserial[k], did[i], DTYPES[i], tp, tcollected,
			        dt + 600 * SEC, (*slot)++);
	}
}

static void
participant(struct gen *g, const struct opts *o, long p, long sscr, uint64_t *consent,
            uint64_t *slot)
{
	struct donor d;
	char pid[24], sid[8], year[8], cid[24], date[TS_LEN + 1];

	d.pid = p + 1;
	d.study_id = p >= o->participants - sscr ? 2 : 1;
	d.study = d.study_id == 2 ? "SSCR" : "MASC";
	snprintf(d.code, sizeof(d.code), "P%05ld", d.pid);
	snprintf(pid, sizeof(pid), "%ld", d.pid);
	snprintf(sid, sizeof(sid), "%d", d.study_id);
	snprintf(year, sizeof(year), "%ld", 1940 + p % 60);
	const char *prow[] = { pid,    sid,
		               d.code, p % 3 == 0 ? "male" : "female",
		               year,   d.study_id == 2 ? "SSc" : DIAGNOSES[p % NDIAGNOSES] };
	out_row(&g->out[OUT_PARTICIPANTS], prow, 6);
	*put_ts(date, BASE + p * DAY) = '\0';
	date[10] = '\0';
	static const char *const SCOPES[2] = { "study", "biobank" };
	for (int i = 0; i < 2; i++) {
		snprintf(cid, sizeof(cid), "%" PRIu64, ++*consent);
		const char *crow[] = { cid, pid, SCOPES[i], "given", date, "v2.1", "loader" };
		out_row(&g->out[OUT_CONSENTS], crow, 7);
	}
	for (int ti = 0; ti < TIMEPOINTS; ti++) {
		int64_t collected = BASE + p * DAY + ti * 182 * DAY + (p % 7) * 3600 * SEC;
		collection(g, &d, TIMEPOINT_NAMES[ti], collected, slot);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: gen --participants P --out DIR [--pending N] [--freezers F] "
	                "[--binary]\n");
	exit(2);
}

/* A whole number in [min, max], or usage. */
static long
number(const char *name, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "gen: %s: a whole number from %ld to %ld\n", name, min, max);
		exit(2);
	}
	return v;
}

static void
parse(int argc, char **argv, struct opts *o)
{
	o->participants = -1;
	o->pending = 0;
	o->freezers = FREEZERS;
	o->out = NULL;
	o->binary = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val;
		if (strcmp(arg, "--binary") == 0) {
			o->binary = true;
			continue;
		}
		const char *eq = strchr(arg, '=');
		char name[32];
		size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

		if (n >= sizeof(name))
			usage();
		memcpy(name, arg, n);
		name[n] = '\0';
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			usage();
		/* 2^35 serials at most (lib/ids.c): 4x10^7 participants is far beyond. */
		if (strcmp(name, "--participants") == 0)
			o->participants = number(name, val, 0, 40000000);
		else if (strcmp(name, "--pending") == 0)
			o->pending = number(name, val, 0, 100000000);
		else if (strcmp(name, "--freezers") == 0)
			o->freezers = number(name, val, 1, 100000);
		else if (strcmp(name, "--out") == 0)
			o->out = val;
		else
			usage();
	}
	if (o->participants < 0 || o->out == NULL)
		usage();
	if (o->participants < 10) {
		fprintf(stderr, "gen: at least 10 participants\n");
		exit(1);
	}
}

/* log_pending.csv and counts.txt, once every event is made. */
static int
finish(struct gen *g, const struct opts *o, long sscr, const struct storage *s)
{
	struct out pend, counts;
	mt_hash root;
	char hex[HEX_LEN + 1];

	if (out_open(&pend, o->out, "log_pending.csv") != 0)
		return -1;
	for (size_t i = 0; i < g->queued; i++) {
		const struct queued *q = &g->queue[(g->head + i) % g->pending];
		char *p = out_room(&pend);
		p = put_str(p, q->sid);
		*p++ = ',';
		p = put_u64(p, q->seq);
		*p++ = '\n';
		out_done(&pend, p);
	}
	if (out_close(&pend) != 0)
		return -1;
	mt_frontier_root(&g->log, root);
	hex_of(root, hex);
	if (out_open(&counts, o->out, "counts.txt") != 0)
		return -1;
	counts.len = (size_t)snprintf(
	    counts.buf, OUT_BUF,
	    "participants=%ld\nspecimens=%" PRIu64 "\nevents=%" PRIu64 "\nboxes=%" PRIu64
	    "\nlocations=%ld\nmax_serial=%" PRIu64 "\nsscr_specimens=%ld\nfreezers=%ld\n"
	    "last_box=%" PRIu64 "\nlog_size=%" PRIu64 "\nlog_root=%s\nlog_pending=%zu\n",
	    o->participants, g->out[OUT_SPECIMENS].rows, g->out[OUT_EVENTS].rows,
	    s->nboxes + BENCH_BOXES + 2, s->next_loc - 1, g->serial, sscr * TIMEPOINTS * 25,
	    o->freezers, s->nboxes, g->log.size, hex, g->queued);
	return out_close(&counts);
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct storage s = { 0 };
	struct gen *g;
	int rc = 0;

	parse(argc, argv, &o);
	if (mkdir(o.out, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		abort();
	for (int i = 0; i < OUT__MAX; i++)
		g->out[i].fd = -1;
	for (int i = 0; i < LEVELS; i++)
		g->upper[i].fd = -1;
	g->dir = o.out;
	g->pending = (size_t)o.pending;
	if (g->pending > 0 && (g->queue = calloc(g->pending, sizeof(*g->queue))) == NULL)
		abort();
	for (int i = 0; i < OUT__MAX && rc == 0; i++) {
		bool binary = (i == OUT_NODES || i == OUT_EVENTS) && o.binary;
		const char *name = !binary          ? OUT_NAMES[i]
		                   : i == OUT_NODES ? "log_nodes.bin"
		                                    : "events.bin";
		if (out_open(&g->out[i], o.out, name) != 0) {
			fprintf(stderr, "gen: %s: %s\n", g->out[i].path, strerror(errno));
			rc = 1;
		}
		g->out[i].binary = binary;
		if (rc == 0 && binary)
			out_binary_header(&g->out[i]);
	}
	long sscr = o.participants / 10 < 200 ? o.participants / 10 : 200;
	if (rc == 0) {
		const char *s1[] = { "1", "MASC", "Myositis and systemic sclerosis cohort" };
		const char *s2[] = { "2", "SSCR", "Systemic sclerosis registry" };
		out_row(&g->out[OUT_STUDIES], s1, 3);
		out_row(&g->out[OUT_STUDIES], s2, 3);
		uint64_t aliquots = (uint64_t)o.participants * TIMEPOINTS * 2 * ALIQUOTS;
		if (storage_write(g, &o, aliquots, &s) != 0)
			abort();
		boxes_write(g, &s);
		uint64_t consent = 0, slot = 0;
		for (long p = 0; p < o.participants; p++)
			participant(g, &o, p, sscr, &consent, &slot);
	}
	if (nodes_finish(g) != 0 && rc == 0) {
		fprintf(stderr, "gen: log_nodes: %s\n", strerror(errno));
		rc = 1;
	}
	/* The tables first (closing the pipes ends the COPYs), then the queue and counts. */
	for (int i = 0; i < OUT__MAX; i++) {
		if (rc == 0 && g->out[i].binary) {
			char *p = out_room(&g->out[i]);
			out_done(&g->out[i], put_be(p, 0xffff, 2)); /* the trailer: -1 fields */
		}
		if (out_close(&g->out[i]) != 0 && rc == 0) {
			fprintf(stderr, "gen: %s: %s\n", g->out[i].path, strerror(errno));
			rc = 1;
		}
	}
	if (rc == 0 && finish(g, &o, sscr, &s) != 0) {
		fprintf(stderr, "gen: %s: %s\n", o.out, strerror(errno));
		rc = 1;
	}
	free(s.rack_ids);
	free(g->queue);
	free(g);
	return rc;
}
