/* migrate.h — the schema: numbered SQL files compiled in, applied in order. */
#ifndef SRV_MIGRATE_H
#define SRV_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

struct migration {
	const char *name; /* NNNN_what.sql */
	const char *sql;
	size_t len;
};

extern const struct migration migrations[];
extern const size_t migration_count;

/*
 * Apply every migration not yet recorded in schema_migrations, each in its
 * own transaction, under an advisory lock so that concurrent runs are safe.
 * Refuses (and applies nothing) when a recorded migration's checksum differs
 * from the compiled-in file. Progress to out, problems to err.
 * Returns 0 on success, 1 on failure.
 */
int migrate_run(const char *conninfo, FILE *out, FILE *err);

#endif
