/* ledger.c — an event's canonical bytes and their SHA-256 (see ledger.h). */
#include "ledger.h"

#include <nettle/sha2.h>
#include <string.h>

/*
 * Where the canonical bytes go: appended to a buffer, or into up to two
 * SHA-256 states — the verifier hashes 10^7 events, and building each one's
 * bytes on the heap (and formatting its lengths with printf) cost more than
 * hashing them. The ~40 small pieces of an event gather in `pend` and reach
 * the states in one update: nettle's SHA-256 (the CPU's SHA instructions,
 * where it has them) is fast enough that a call per piece would show.
 */
struct sink {
	struct bb_buf *buf;
	struct sha256_ctx *st[2];
	size_t npend;
	unsigned char pend[512];
};

static void
flush(struct sink *k)
{
	for (int i = 0; i < 2; i++)
		if (k->st[i] != NULL)
			sha256_update(k->st[i], k->npend, k->pend);
	k->npend = 0;
}

static void
put(struct sink *k, const void *p, size_t n)
{
	if (k->buf != NULL)
		bb_buf_append(k->buf, p, n);
	if (k->st[0] == NULL)
		return;
	if (n > sizeof(k->pend) - k->npend)
		flush(k);
	if (n >= sizeof(k->pend)) {
		for (int i = 0; i < 2; i++)
			if (k->st[i] != NULL)
				sha256_update(k->st[i], n, p);
		return;
	}
	memcpy(k->pend + k->npend, p, n);
	k->npend += n;
}

/* v in decimal, as printf's %lld writes it; returns its length (at most 20). */
static size_t
decimal(char *out, long long v)
{
	char rev[24];
	size_t n = 0, len = 0;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do {
		rev[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		out[len++] = '-';
	while (n > 0)
		out[len++] = rev[--n];
	return len;
}

/* "<n>:<text>;"; version 1 writes NULL as the empty text, version 2 as "-;". */
static void
field(struct sink *k, const char *text, size_t n)
{
	char head[24];
	size_t h = decimal(head, (long long)n);

	head[h++] = ':';
	put(k, head, h);
	put(k, text, n);
	put(k, ";", 1);
}

static void
text_v1(struct sink *k, const char *text)
{
	field(k, text ? text : "", text ? strlen(text) : 0);
}

/* The text is UTF-8 already: every connection of ours asks PostgreSQL for UTF8. */
static void
text_v2(struct sink *k, const char *text)
{
	if (text == NULL)
		put(k, "-;", 2);
	else
		field(k, text, strlen(text));
}

static void
number(struct sink *k, long long v)
{
	char num[24];

	field(k, num, decimal(num, v));
}

static void
bytes_v1(const struct bb_event *e, struct sink *k)
{
	char prev[2 * BB_HASH_LEN + 1];

	text_v1(k, e->specimen_id);
	number(k, e->seq);
	text_v1(k, e->type);
	number(k, e->at_us);
	text_v1(k, e->actor);
	text_v1(k, e->from_box);
	text_v1(k, e->from_pos);
	text_v1(k, e->to_box);
	text_v1(k, e->to_pos);
	text_v1(k, e->reason);
	text_v1(k, e->details);
	bb_hex_encode(prev, e->prev_hash, BB_HASH_LEN);
	text_v1(k, prev);
}

static void
bytes_v2(const struct bb_event *e, struct sink *k)
{
	char prev[2 * BB_HASH_LEN + 1];

	number(k, e->format);
	text_v2(k, e->specimen_id);
	number(k, e->seq);
	text_v2(k, e->type);
	number(k, e->at_us);
	text_v2(k, e->actor);
	text_v2(k, e->from_box);
	text_v2(k, e->from_pos);
	text_v2(k, e->to_box);
	text_v2(k, e->to_pos);
	text_v2(k, e->reason);
	text_v2(k, e->details);
	bb_hex_encode(prev, e->prev_hash, BB_HASH_LEN);
	text_v2(k, prev);
}

void
bb_event_bytes_v2(const struct bb_event *e, struct bb_buf *out)
{
	struct sink k = { .buf = out };

	bytes_v2(e, &k);
}

static const unsigned char leaf_prefix = 0x00; /* RFC 9162, 2.1.1 */

int
bb_event_hashes(const struct bb_event *e, unsigned char digest[BB_HASH_LEN],
                unsigned char leaf[BB_HASH_LEN])
{
	struct sha256_ctx d, l;
	struct sink k = { 0 };
	int n = 0;

	if (leaf != NULL) {
		sha256_init(&l);
		sha256_update(&l, 1, &leaf_prefix);
		k.st[n++] = &l;
	}
	if (digest != NULL && e->format == BB_EVENT_FORMAT_V2) {
		sha256_init(&d);
		k.st[n++] = &d; /* its own bytes are the leaf's: one pass feeds both */
	}
	if (n > 0) {
		bytes_v2(e, &k);
		flush(&k);
	}
	if (leaf != NULL)
		sha256_digest(&l, BB_HASH_LEN, leaf);
	if (digest == NULL)
		return 0;
	switch (e->format) {
	case BB_EVENT_FORMAT_V1: {
		struct sink v1 = { .st = { &d, NULL } };
		sha256_init(&d);
		bytes_v1(e, &v1);
		flush(&v1);
		sha256_digest(&d, BB_HASH_LEN, digest);
		return 0;
	}
	case BB_EVENT_FORMAT_V2:
		sha256_digest(&d, BB_HASH_LEN, digest);
		return 0;
	default:
		memset(digest, 0, BB_HASH_LEN);
		return -1;
	}
}

int
bb_event_digest(const struct bb_event *e, unsigned char out[BB_HASH_LEN])
{
	return bb_event_hashes(e, out, NULL);
}

void
bb_event_leaf(const struct bb_event *e, unsigned char out[BB_HASH_LEN])
{
	bb_event_hashes(e, NULL, out);
}
