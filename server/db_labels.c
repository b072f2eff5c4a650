/* db_labels.c — the label statements: label data, and prints recorded as custody events. */
#include "db.h"

const struct db_stmt db_labels_statements[] = {
	{ "db_labels_get", "SELECT bb_labels_get($1::text[], $2::bigint[])::text" },
	{ "db_label_get", "SELECT bb_label_get($1, $2::bigint[])::text" },
	{ "db_label_printed",
	  "SELECT bb_label_printed($1, $2, $3::int, $4::bigint[], $5, $6::bigint)::text" },
	{ "db_labels_print", "SELECT bb_labels_print($1::text[], $2, $3::int, $4, $5::bigint[], "
	                     "$6, $7::bigint)::text" },
	{ NULL, NULL },
};
