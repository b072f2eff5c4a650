/*
 * purge.h — what expires in the database, removed by every daemon: the
 * answers kept for Idempotency-Keys older than idempotency_ttl, login
 * counts that are forgotten anyway and addresses no longer known. A thread
 * of its own with a connection of its own, every purge_interval seconds, a
 * batch at a time, skipping rows another transaction holds: any number of
 * daemons may purge one database at once without waiting on each other or
 * on the requests that use those rows.
 */
#ifndef SRV_PURGE_H
#define SRV_PURGE_H

#include "db/accounts.h"
#include "db/db.h"

extern const struct db_stmt db_purge_statements[];

struct purge_settings {
	const char *conninfo; /* NULL: libpq's PG* variables */
	unsigned interval;    /* seconds between purges */
	unsigned idempotency_ttl;
	struct login_limits login;
};

/* Run one purge on c: everything expired, in batches; *removed how many rows. */
enum bb_err db_purge(struct db_conn *c, const struct purge_settings *s, long *removed);

/* The purging thread: started after the pool, stopped before it closes. s is copied. */
struct purge *purge_start(const struct purge_settings *s);
void purge_stop(struct purge *p);

#endif
