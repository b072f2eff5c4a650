/*
 * test_ledger.c — the canonical bytes of a custody event as docs/ledger.md
 * writes them out, byte for byte, in both formats; what each format tells
 * apart; and the transparency log's leaf.
 */
#include "ledger.h"

#include "../harness.h"

#include <sodium.h>
#include <string.h>

static struct bb_event
sample(int format)
{
	struct bb_event e = {
		.format = format,
		.specimen_id = "2WAP17QY",
		.seq = 2,
		.type = "stored",
		.at_us = 1772357400123456LL,
		.actor = "anna",
		.to_box = "BOX-B",
		.to_pos = "I9",
		.reason = "f\xc3\xbcr \xe2\x9c\x93", /* "für ✓": 8 UTF-8 bytes */
		.details = "{}",
	};
	memset(e.prev_hash, 0xab, sizeof(e.prev_hash));
	return e;
}

static void
sha256_text(const char *text, size_t n, unsigned char out[BB_HASH_LEN])
{
	crypto_hash_sha256(out, (const unsigned char *)text, n);
}

int
main(void)
{
	unsigned char d[BB_HASH_LEN], want[BB_HASH_LEN];
	char prev[65];
	struct bb_buf b = { 0 };

	if (sodium_init() < 0)
		tap_bail("libsodium");
	memset(prev, 'a', 64);
	for (int i = 1; i < 64; i += 2)
		prev[i] = 'b';
	prev[64] = '\0';

	/* Version 2, written out by hand from docs/ledger.md. */
	struct bb_event e = sample(BB_EVENT_FORMAT_V2);
	char expect[512];
	int n = snprintf(expect, sizeof(expect),
	                 "1:2;8:2WAP17QY;1:2;6:stored;16:1772357400123456;4:anna;-;-;5:BOX-B;2:I9;"
	                 "8:f\xc3\xbcr \xe2\x9c\x93;2:{};64:%s;",
	                 prev);
	bb_event_bytes_v2(&e, &b);
	ok(b.len == (size_t)n && memcmp(b.data, expect, b.len) == 0,
	   "version 2: the format first, UTF-8 byte lengths, NULL as \"-;\"");
	if (b.len != (size_t)n || memcmp(b.data, expect, b.len) != 0)
		tap_diag("got %s", b.data);
	is_int(bb_event_digest(&e, d), 0, "an event of format 2 has a digest");
	sha256_text(expect, (size_t)n, want);
	ok(memcmp(d, want, BB_HASH_LEN) == 0, "  SHA-256 of those bytes");

	/* The leaf hashes the same bytes after one zero byte (RFC 9162). */
	unsigned char leaf[BB_HASH_LEN];
	char prefixed[513];
	prefixed[0] = '\0';
	memcpy(prefixed + 1, expect, (size_t)n);
	bb_event_leaf(&e, leaf);
	sha256_text(prefixed, (size_t)n + 1, want);
	ok(memcmp(leaf, want, BB_HASH_LEN) == 0, "the log's leaf is SHA-256(0x00 || bytes)");

	/* NULL and '' differ in version 2, not in version 1. */
	unsigned char none[BB_HASH_LEN], empty[BB_HASH_LEN];
	e.reason = NULL;
	bb_event_digest(&e, none);
	e.reason = "";
	bb_event_digest(&e, empty);
	ok(memcmp(none, empty, BB_HASH_LEN) != 0, "version 2 tells no reason from an empty one");
	struct bb_event v1 = sample(BB_EVENT_FORMAT_V1);
	v1.reason = NULL;
	bb_event_digest(&v1, none);
	v1.reason = "";
	bb_event_digest(&v1, empty);
	ok(memcmp(none, empty, BB_HASH_LEN) == 0,
	   "version 1 does not (why version 2 exists): events of format 1 verify as before");

	/* Version 1, written out by hand: no format, NULL as "0:;". */
	v1 = sample(BB_EVENT_FORMAT_V1);
	n = snprintf(expect, sizeof(expect),
	             "8:2WAP17QY;1:2;6:stored;16:1772357400123456;4:anna;0:;0:;5:BOX-B;2:I9;"
	             "8:f\xc3\xbcr \xe2\x9c\x93;2:{};64:%s;",
	             prev);
	bb_event_digest(&v1, d);
	sha256_text(expect, (size_t)n, want);
	ok(memcmp(d, want, BB_HASH_LEN) == 0, "version 1: the bytes of docs/ledger.md");

	/* A leaf of a version 1 event says so: its bytes begin with "1:1;". */
	bb_buf_free(&b);
	bb_event_bytes_v2(&v1, &b);
	ok(strncmp(b.data, "1:1;8:2WAP17QY;", 15) == 0 && strstr(b.data, ";-;-;5:BOX-B;") != NULL,
	   "the log hashes a version 1 event in version 2's bytes, with its format 1");

	struct bb_event bad = sample(3);
	is_int(bb_event_digest(&bad, d), -1, "a format that does not exist has no digest");
	bb_buf_free(&b);
	return tap_done();
}
