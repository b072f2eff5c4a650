/*
 * db_audits.c — the freezer audit statements: each calls one SQL function of
 * migrations/functions/audits.sql that does the whole step, reconciliation included.
 */
#include "db.h"

const struct db_stmt db_audits_statements[] = {
	{ "db_audit_create",
	  "SELECT bb_audit_create($1, $2::bigint, $3::bigint[], $4, $5::bigint)::text" },
	{ "db_audit_box_grid", "SELECT box, rows, cols FROM bb_audit_box_grid($1::bigint, $2)" },
	{ "db_audit_scan",
	  "SELECT bb_audit_scan($1::bigint, $2, $3::text[], $4::text[], $5::text[], $6::text[],"
	  " $7::integer[], $8::bigint[], $9, $10::bigint)::text" },
	{ "db_audit_close",
	  "SELECT bb_audit_close($1::bigint, $2::text[], $3::text[], $4::text[], $5::text[],"
	  " $6::bigint[], $7, $8::bigint)::text" },
	{ "db_box_grid", "SELECT rows, cols FROM boxes WHERE barcode = $1" },
	{ NULL, NULL },
};
