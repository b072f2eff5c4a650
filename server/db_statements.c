/* db_statements.c — every module's statements, prepared on each connection. */
#include "db.h"

const struct db_stmt *const db_statement_sets[] = {
	db_accounts_statements,    db_specimens_statements,
	db_storage_statements,     db_ledger_statements,
	db_idempotency_statements, db_participants_statements,
	db_audits_statements,      db_labels_statements,
	db_shipments_statements,   NULL,
};
