/* ledger.c — an event's canonical bytes and their SHA-256 (see ledger.h). */
#include "ledger.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Version 1: NULL is written as the empty text, "0:;". */
static void
field_v1(crypto_hash_sha256_state *st, const char *text)
{
	char len[24];
	size_t n = text ? strlen(text) : 0;

	snprintf(len, sizeof(len), "%zu:", n);
	crypto_hash_sha256_update(st, (const unsigned char *)len, strlen(len));
	if (n > 0)
		crypto_hash_sha256_update(st, (const unsigned char *)text, n);
	crypto_hash_sha256_update(st, (const unsigned char *)";", 1);
}

static void
digest_v1(const struct bb_event *e, unsigned char out[BB_HASH_LEN])
{
	crypto_hash_sha256_state st;
	char seq[16], at[24], prev[2 * BB_HASH_LEN + 1];

	snprintf(seq, sizeof(seq), "%d", e->seq);
	snprintf(at, sizeof(at), "%lld", e->at_us);
	bb_hex_encode(prev, e->prev_hash, BB_HASH_LEN);
	crypto_hash_sha256_init(&st);
	field_v1(&st, e->specimen_id);
	field_v1(&st, seq);
	field_v1(&st, e->type);
	field_v1(&st, at);
	field_v1(&st, e->actor);
	field_v1(&st, e->from_box);
	field_v1(&st, e->from_pos);
	field_v1(&st, e->to_box);
	field_v1(&st, e->to_pos);
	field_v1(&st, e->reason);
	field_v1(&st, e->details);
	field_v1(&st, prev);
	crypto_hash_sha256_final(&st, out);
}

/* Version 2: NULL is "-;", distinct from the empty text "0:;". The text is
 * UTF-8 already: every connection of ours asks PostgreSQL for UTF8. */
static void
field_v2(struct bb_buf *b, const char *text)
{
	if (text == NULL) {
		bb_buf_append(b, "-;", 2);
		return;
	}
	size_t n = strlen(text);
	bb_buf_printf(b, "%zu:", n);
	bb_buf_append(b, text, n);
	bb_buf_append(b, ";", 1);
}

void
bb_event_bytes_v2(const struct bb_event *e, struct bb_buf *out)
{
	char num[24], prev[2 * BB_HASH_LEN + 1];

	snprintf(num, sizeof(num), "%d", e->format);
	field_v2(out, num);
	field_v2(out, e->specimen_id);
	snprintf(num, sizeof(num), "%d", e->seq);
	field_v2(out, num);
	field_v2(out, e->type);
	snprintf(num, sizeof(num), "%lld", e->at_us);
	field_v2(out, num);
	field_v2(out, e->actor);
	field_v2(out, e->from_box);
	field_v2(out, e->from_pos);
	field_v2(out, e->to_box);
	field_v2(out, e->to_pos);
	field_v2(out, e->reason);
	field_v2(out, e->details);
	bb_hex_encode(prev, e->prev_hash, BB_HASH_LEN);
	field_v2(out, prev);
}

int
bb_event_digest(const struct bb_event *e, unsigned char out[BB_HASH_LEN])
{
	struct bb_buf b = { 0 };

	switch (e->format) {
	case BB_EVENT_FORMAT_V1:
		digest_v1(e, out);
		return 0;
	case BB_EVENT_FORMAT_V2:
		bb_event_bytes_v2(e, &b);
		crypto_hash_sha256(out, (const unsigned char *)b.data, b.len);
		bb_buf_free(&b);
		return 0;
	default:
		memset(out, 0, BB_HASH_LEN);
		return -1;
	}
}

void
bb_event_leaf(const struct bb_event *e, unsigned char out[BB_HASH_LEN])
{
	struct bb_buf b = { 0 };

	static const unsigned char leaf_prefix = 0x00; /* RFC 9162, 2.1.1 */

	bb_buf_append(&b, &leaf_prefix, 1);
	bb_event_bytes_v2(e, &b);
	crypto_hash_sha256(out, (const unsigned char *)b.data, b.len);
	bb_buf_free(&b);
}
