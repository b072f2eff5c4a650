/* db_labels.c — the label statements: label data, prints recorded as custody events, print jobs. */
#include "db.h"

const struct db_stmt db_labels_statements[] = {
	{ "db_labels_get", "SELECT bb_labels_get($1::text[], $2::bigint[])::text" },
	{ "db_label_get", "SELECT bb_label_get($1, $2::bigint[])::text" },
	{ "db_label_printed",
	  "SELECT bb_label_printed($1, $2, $3::int, $4::bigint[], $5, $6::bigint)::text" },
	{ "db_print_job_create",
	  "SELECT bb_print_job_create($1::text[], $2, $3::int, $4, $5::int, $6::int, $7::bigint[], "
	  "$8, $9::bigint)::text" },
	{ "db_print_job_retry",
	  "SELECT bb_print_job_retry($1::bigint, $2::int, $3::bigint[], $4, $5::bigint)::text" },
	{ "db_print_job_finish", "SELECT bb_print_job_finish($1::bigint, $2::int, $3::boolean, $4, "
	                         "$5, $6::bigint)::text" },
	{ "db_print_jobs_list", "SELECT bb_print_jobs_list($1, $2::int, $3, $4::bigint[])::text" },
	{ NULL, NULL },
};
