/*
 * import.h — an inventory file into the database (docs/import.md): read it
 * (lib/import.c), copy its rows into the transaction's staging table, check
 * them (functions/imports.sql) and, when asked and when nothing is wrong,
 * commit them; for the API (api/imports.c) and `biobankd import` alike.
 */
#ifndef SRV_DB_IMPORT_H
#define SRV_DB_IMPORT_H

#include "db/db.h"
#include "db/import_progress.h"
#include "inventory.h"

#include <stdio.h>

extern const struct db_stmt db_import_statements[];

enum { IMPORT_ROWS_MAX = 1000000 };

struct import_request {
	FILE *file;           /* read twice from its start; stays the caller's */
	const char *filename; /* as the client named it; NULL: unnamed */
	const char *encoding; /* canonical (bb_imp_encoding); NULL: UTF-8 or refused */
	char separator;       /* ',' ';' '\t'; 0: the first line's */
	struct bb_imp_opts opts;
	const char *timezone;             /* of times without an offset */
	bool commit;                      /* false: a dry run, nothing written */
	const char *actor, *actor_id;     /* NULL: the database role acts */
	const char *studies;              /* the caller's studies as an array literal; NULL: all */
	struct import_progress *progress; /* where to tell how far it is; NULL: nowhere */
};

enum import_outcome {
	IMPORT_REPORT,    /* a dry run's report (problems or none) */
	IMPORT_REFUSED,   /* a commit refused for the problems the report lists */
	IMPORT_DONE,      /* committed */
	IMPORT_UNCHANGED, /* the same file again, or every row already exists: nothing written */
	IMPORT_FILE_BAD,  /* the bytes cannot be read as rows: code and message say why */
};

struct import_result {
	enum import_outcome outcome;
	char *json;        /* the report, for every outcome but FILE_BAD; free() it */
	const char *code;  /* FILE_BAD: the problem code */
	char message[320]; /* FILE_BAD: the sentence, naming the line */
};

/*
 * Run an import on c (outside any transaction). BB_OK with *out filled, or
 * the database's error (its message kept on c) after rolling back.
 */
enum bb_err import_run(struct db_conn *c, const struct import_request *rq,
                       struct import_result *out);

#endif
