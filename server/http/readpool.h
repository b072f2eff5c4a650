/*
 * readpool.h — where the long read-only work (reports, exports, searches:
 * the routes marked READS_STANDBY in router.c) reads: a pool of its own on
 * reports_database, a hot standby, while it answers and is no more than
 * reports_max_lag seconds behind; otherwise the primary's pool, as when no
 * reports_database is set. Writes never go there: its connections are
 * read-only (db_pool_open_reader).
 */
#ifndef SRV_READPOOL_H
#define SRV_READPOOL_H

#include "db/db.h"

struct readpool;

struct readpool_opts {
	const char *conninfo; /* reports_database */
	unsigned size;        /* connections at most */
	double max_lag_s;     /* reports_max_lag */
	const struct db_stmt *const *sets;
};

/* NULL conninfo: no reports database (*out NULL); every take is the primary's. */
void readpool_new(const struct readpool_opts *o, struct readpool **out);
void readpool_free(struct readpool *rp);

/* Why a take went to the primary (for /readyz and /metrics). */
enum readpool_route {
	READPOOL_STANDBY, /* the reports database took it */
	READPOOL_DOWN,    /* it did not answer, or was lost a moment ago */
	READPOOL_LAGGING, /* it answered but was too far behind (or could not tell) */
	READPOOL__MAX
};
const char *readpool_route_name(enum readpool_route why);

/*
 * A connection for read-only work: the reports database's when rp is set
 * and it is fit, else primary's. *from is the pool to give it back to
 * (db_release). Fails only as db_acquire on the primary does.
 */
enum bb_err readpool_take(struct readpool *rp, struct db_pool *primary, struct db_conn **out,
                          struct db_pool **from);

/*
 * Whether a take now would go to the reports database (false when rp is
 * NULL): for work that opens a connection of its own there (a FHIR export's
 * snapshot).
 */
bool readpool_fit(struct readpool *rp);

/* Whether pool is rp's (a connection from it is on the reports database). */
bool readpool_owns(const struct readpool *rp, const struct db_pool *pool);

/* A connection of rp's was lost under a statement: the primary takes the reads for a
 * few seconds before the reports database is tried again. */
void readpool_lost(struct readpool *rp);

struct readpool_stats {
	unsigned long long taken[READPOOL__MAX]; /* takes, by where they went */
	unsigned long long lost;                 /* connections lost under a statement */
	double max_lag_s;
};
void readpool_stats(struct readpool *rp, struct readpool_stats *out);
struct db_pool *readpool_pool(struct readpool *rp);

#endif
