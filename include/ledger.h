/*
 * ledger.h — the custody ledger's hash, computed independently of the
 * database that stores it. An event's canonical bytes are its fields, in
 * this order, each written as "<byte length>:<text>;":
 *   specimen id, seq, type, time (microseconds since 1970, UTC), actor,
 *   from box, from position, to box, to position, reason,
 *   details (PostgreSQL's jsonb text), previous hash (64 lower-case hex digits)
 * (absent values are empty text). hash = SHA-256 of those bytes.
 * PostgreSQL computes the same in bb_event_digest(); see docs/ledger.md.
 */
#ifndef BB_LEDGER_H
#define BB_LEDGER_H

#include "biobank.h"

enum { BB_HASH_LEN = 32 };

struct bb_event {
	const char *specimen_id;
	int seq;
	const char *type;
	long long at_us;
	const char *actor;
	const char *from_box, *from_pos, *to_box, *to_pos; /* NULL when absent */
	const char *reason;                                /* NULL when absent */
	const char *details;                               /* jsonb text */
	unsigned char prev_hash[BB_HASH_LEN];
};

void bb_event_digest(const struct bb_event *e, unsigned char out[BB_HASH_LEN]);

#endif
