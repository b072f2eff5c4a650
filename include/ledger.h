/*
 * ledger.h — the custody ledger's hashes, computed independently of the
 * database that stores them (docs/ledger.md, "What is hashed").
 *
 * An event's canonical bytes, version 1 (events written before migration
 * 0020): its fields, each as "<byte length>:<text>;", absent ones as empty
 * text, in this order:
 *   specimen id, seq, type, time (microseconds since 1970, UTC), actor,
 *   from box, from position, to box, to position, reason,
 *   details (PostgreSQL's jsonb text), previous hash (64 lower-case hex digits)
 * Version 2: the format's number ("2", or "1" when the transparency log
 * hashes a version 1 event), then the same fields, each as
 * "<UTF-8 byte length>:<UTF-8 bytes>;", an absent one as "-;".
 * hash = SHA-256 of the bytes of the event's own format. PostgreSQL
 * computes the same in bb_event_digest() and bb_event_digest_v2().
 */
#ifndef BB_LEDGER_H
#define BB_LEDGER_H

#include "biobank.h"

enum { BB_HASH_LEN = 32 };

/* The formats of the canonical bytes (events.format). */
enum { BB_EVENT_FORMAT_V1 = 1, BB_EVENT_FORMAT_V2 = 2 };

struct bb_event {
	int format; /* BB_EVENT_FORMAT_V1 or _V2 */
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

/* The event's hash in its own format; -1 when the format is neither 1 nor 2. */
int bb_event_digest(const struct bb_event *e, unsigned char out[BB_HASH_LEN]);

/* The canonical bytes of version 2 (with the event's own format number), appended to out. */
void bb_event_bytes_v2(const struct bb_event *e, struct bb_buf *out);

/* The event's leaf in the transparency log: SHA-256(0x00 || its bytes of version 2). */
void bb_event_leaf(const struct bb_event *e, unsigned char out[BB_HASH_LEN]);

/* Both at once (either may be NULL), in one pass over the bytes where the formats agree;
 * -1 as bb_event_digest. */
int bb_event_hashes(const struct bb_event *e, unsigned char digest[BB_HASH_LEN],
                    unsigned char leaf[BB_HASH_LEN]);

#endif
