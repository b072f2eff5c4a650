/*
 * purge.h — what expires in the database, removed by every daemon: the
 * answers kept for Idempotency-Keys older than idempotency_ttl, login
 * counts that are forgotten anyway and addresses no longer known. A thread
 * of its own, every purge_interval seconds on a connection borrowed from
 * the pool, a batch at a time, skipping rows another transaction holds:
 * any number of daemons may purge one database at once without waiting on
 * each other or on the requests that use those rows.
 */
#ifndef SRV_PURGE_H
#define SRV_PURGE_H

#include "db/accounts.h"
#include "db/db.h"

struct purge_settings {
	struct db_pool *pool; /* the daemon's; it outlives the purge */
	unsigned interval;    /* seconds between purges */
	unsigned idempotency_ttl;
	struct login_limits login;
};

/* Run one purge on c (with db_accounts_statements): everything expired, in batches;
 * *removed how many rows. */
enum bb_err db_purge(struct db_conn *c, const struct purge_settings *s, long *removed);

/* The purging thread: started after the pool, stopped before it closes. s is copied. */
struct purge *purge_start(const struct purge_settings *s);
void purge_stop(struct purge *p);

#endif
