/*
 * import_progress.h — how far a named import is, for whichever daemon the
 * client's polling reaches (docs/import.md, "Progress"). The import's own
 * transaction is seen by nobody until it commits, so its progress goes to
 * the table import_progress on a connection of its own, one short
 * statement at a time. The checks and the commit, inside that transaction,
 * tell their steps as NOTICEs (bb_import_step, functions/imports.sql),
 * which a receiver on the import's connection forwards.
 */
#ifndef SRV_IMPORT_PROGRESS_H
#define SRV_IMPORT_PROGRESS_H

#include "db/db.h"

struct import_progress;

/* A name the client gives its import: 8 to 64 letters, digits, '.', '_' or '-'. */
bool import_progress_name_ok(const char *name);

/*
 * Connect to conninfo and start the progress of owner's import name (a
 * dry run or not, of a file of bytes). BB_OK with *out; BB_ECONFLICT when
 * an import of that name still runs (import-in-progress); else the
 * connection's failure. why (why_len bytes) says what failed, for the log.
 */
enum bb_err import_progress_start(const char *conninfo, const char *owner_id, const char *name,
                                  bool dry_run, long long bytes, struct import_progress **out,
                                  char *why, size_t why_len);

/*
 * The phase ("reading", "checking", "writing"), done of total, and the rows
 * read so far (-1: as before). Written when the phase changes, when the
 * phase is through, and otherwise at most every 100 ms. A failure to write
 * is logged and forgotten: progress never fails an import.
 */
void import_progress_note(struct import_progress *p, const char *phase, long long done,
                          long long total, long long rows);

/* Forward bb_import_step's notices that arrive on c to p, until unhooked. */
void import_progress_hook(struct import_progress *p, struct db_conn *c);
void import_progress_unhook(struct import_progress *p, struct db_conn *c);

/*
 * The import ended: done (code NULL) or failed with the problem code its
 * answer carried; outcome (JSON text or NULL) holds the counts of that
 * answer. Then disconnects and frees p. NULL p: nothing.
 */
void import_progress_end(struct import_progress *p, const char *code, const char *outcome);

#endif
