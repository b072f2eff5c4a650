/*
 * idempotency.h — Idempotency-Key on POST: the first answer is kept in
 * PostgreSQL, in the same transaction as the request's effect, and replayed
 * for a repeat; the same key with another request is 422. Concurrent
 * repeats wait on the key's row and then replay.
 */
#ifndef SRV_IDEMPOTENCY_H
#define SRV_IDEMPOTENCY_H

#include "srv.h"

extern const struct db_stmt db_idempotency_statements[];

enum idem_state {
	IDEM_NONE,  /* no key: run the handler as usual */
	IDEM_FRESH, /* a new key: a transaction is open; run the handler, then idem_finish() */
	IDEM_DONE,  /* answered already (a replay, 422, or an error) */
};

enum idem_state idem_begin(struct srv_req *r);
void idem_finish(struct srv_req *r);

#endif
