/* ledger.c — an event's canonical bytes and their SHA-256 (see ledger.h). */
#include "ledger.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void
field(crypto_hash_sha256_state *st, const char *text)
{
	char len[24];
	size_t n = text ? strlen(text) : 0;

	snprintf(len, sizeof(len), "%zu:", n);
	crypto_hash_sha256_update(st, (const unsigned char *)len, strlen(len));
	if (n > 0)
		crypto_hash_sha256_update(st, (const unsigned char *)text, n);
	crypto_hash_sha256_update(st, (const unsigned char *)";", 1);
}

void
bb_event_digest(const struct bb_event *e, unsigned char out[BB_HASH_LEN])
{
	crypto_hash_sha256_state st;
	char seq[16], at[24], prev[2 * BB_HASH_LEN + 1];

	snprintf(seq, sizeof(seq), "%d", e->seq);
	snprintf(at, sizeof(at), "%lld", e->at_us);
	bb_hex_encode(prev, e->prev_hash, BB_HASH_LEN);
	crypto_hash_sha256_init(&st);
	field(&st, e->specimen_id);
	field(&st, seq);
	field(&st, e->type);
	field(&st, at);
	field(&st, e->actor);
	field(&st, e->from_box);
	field(&st, e->from_pos);
	field(&st, e->to_box);
	field(&st, e->to_pos);
	field(&st, e->reason);
	field(&st, e->details);
	field(&st, prev);
	crypto_hash_sha256_final(&st, out);
}
