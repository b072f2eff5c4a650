/*
 * migrate.h — the schema, compiled in: numbered migrations (tables, indexes,
 * data changes), applied once each in order, then the repeatable function
 * files, applied again whenever their text changes (docs/architecture.md).
 */
#ifndef SRV_MIGRATE_H
#define SRV_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

struct migration {
	const char *name; /* NNNN_what.sql, or functions/AREA.sql */
	const char *sql;
	size_t len;
};

extern const struct migration migrations[]; /* numbered, sorted by name */
extern const size_t migration_count;
extern const struct migration repeatables[]; /* in the order they are applied */
extern const size_t repeatable_count;

/*
 * Under an advisory lock (concurrent runs are safe): apply every numbered
 * migration not yet recorded in schema_migrations, each in its own
 * transaction; then, in one transaction, every repeatable file whose
 * checksum differs from the one recorded in schema_functions.
 * A database built from the landed files 0001-0011 is recognised by their
 * checksums and upgraded in place (0012_baseline.sql is recorded, not run).
 * Refuses, applying nothing, when a recorded migration's checksum differs
 * from the compiled-in file or a recorded migration is unknown.
 * Progress to out, problems to err. Returns 0 on success, 1 on failure.
 */
int migrate_run(const char *conninfo, FILE *out, FILE *err);

#endif
