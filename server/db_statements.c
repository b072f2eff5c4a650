/* db_statements.c — every module's statements, prepared on each connection. */
#include "db.h"

#include "db_accounts.h"

const struct db_stmt *const db_statement_sets[] = {
	db_accounts_statements,
	NULL,
};
