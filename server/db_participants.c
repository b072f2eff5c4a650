/* db_participants.c — studies, participants, consent, reference lists, audit log. */
#include "db.h"

#include <stddef.h>

const struct db_stmt db_participants_statements[] = {
	{ "h_participants_create", "SELECT bb_participant_create($1, $2, $3, $4::integer, $5, "
	                           "$6::bigint[], $7, $8::bigint)" },
	{ "h_audit_log_list",
	  "SELECT bb_audit_log_list($1, $2, $3, $4::timestamptz, $5::integer, $6, $7::bigint[])" },
	{ NULL, NULL },
};
