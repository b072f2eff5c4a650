/*
 * idempotency.h — the request's transaction runner. A POST with an
 * Idempotency-Key runs as one unit: the key is claimed, the handler runs
 * and its first answer is kept in PostgreSQL, all in one transaction, which
 * is run again whole after a serialization failure or deadlock. A repeat
 * replays the kept answer; the same key with another request is 422;
 * concurrent repeats wait on the key's row and then replay. A request that
 * defers slow work (a print) keeps a provisional answer at its first
 * commit and its final one when the work's outcome is recorded.
 */
#ifndef SRV_IDEMPOTENCY_H
#define SRV_IDEMPOTENCY_H

#include "http/server.h"

extern const struct db_stmt db_idempotency_statements[];

/* Run r's route handler (after authentication and validation); it always leaves a reply. */
void idem_run(struct srv_req *r);

/*
 * The second half of a request that deferred work (req_defer): run done,
 * which replies afresh, and for a keyed request store its answer under the
 * key in done's transaction (replacing the provisional answer kept when
 * the handler's unit committed), retried as a unit like the first half.
 */
void idem_finish(struct srv_req *r, req_done_fn done, void *arg);

#endif
