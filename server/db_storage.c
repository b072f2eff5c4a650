/* db_storage.c — the storage statements: each calls one SQL function of
 * migrations/functions/storage.sql that answers with the API's JSON. */
#include "db.h"

const struct db_stmt db_storage_statements[] = {
	{ "db_location_create",
	  "SELECT bb_location_create($1, $2, $3::bigint, $4::numeric, $5, $6, $7::bigint)::text" },
	{ "db_location_list", "SELECT bb_location_list($1::bigint, $2::int)::text" },
	{ "db_box_create",
	  "SELECT bb_box_create($1, $2::int, $3::int, $4::bigint, $5, $6::bigint)::text" },
	{ "db_box_free", "SELECT bb_box_free($1, $2::int)::text" },
	{ "db_box_list", "SELECT bb_box_list($1::bigint, $2::bigint, $3::int)::text" },
	{ "db_scan", "SELECT bb_scan($1, $2, $3::bigint[])::text" },
	{ NULL, NULL },
};
