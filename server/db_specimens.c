/* db_specimens.c — the specimen statements: each calls one SQL function that does the whole action.
 */
#include "db.h"

const struct db_stmt db_specimens_statements[] = {
	{ "db_specimen_register",
	  "SELECT bb_specimen_register($1, $2, $3, $4, $5::timestamptz, $6::numeric, $7, $8, $9,"
	  " $10::int, $11::text[], $12::bigint[], $13, $14::bigint)::text" },
	{ "db_specimen_get", "SELECT bb_specimen_get($1, $2::bigint[])::text" },
	{ "db_specimen_events", "SELECT bb_specimen_events($1, $2::bigint[])::text" },
	{ "db_specimen_list", "SELECT bb_specimen_list($1, $2, $3, $4, $5, $6, $7::bigint[], "
	                      "$8::bigint, $9::int)::text" },
	{ "db_specimen_aliquot", "SELECT bb_specimen_aliquot($1, $2::int, $3::numeric, $4, "
	                         "$5::bigint[], $6, $7::bigint)::text" },
	{ "db_specimen_derive", "SELECT bb_specimen_derive($1, $2, $3::numeric, $4, $5::bigint[], "
	                        "$6, $7::bigint)::text" },
	{ "db_specimen_act",
	  "SELECT bb_specimen_act($1, $2, $3::bigint[], $4, $5::bigint, $6, $7, $8, $9, $10,"
	  " $11::boolean, $12::numeric, $13)::text" },
	{ "db_box_place",
	  "SELECT bb_box_place($1, $2::text[], $3::text[], $4::bigint[], $5, $6::bigint)::text" },
	{ NULL, NULL },
};
