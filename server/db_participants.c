/* db_participants.c — studies, participants, consent, reference lists, audit log. */
#include "db.h"

#include <stddef.h>

const struct db_stmt db_participants_statements[] = {
	{ "h_studies_create", "SELECT bb_study_create($1, $2, $3, $4::bigint)" },
	{ "h_studies_list", "SELECT bb_studies_list($1::bigint[])" },
	{ "h_studies_get", "SELECT bb_study_get($1, $2::bigint[])" },
	{ "h_participants_create", "SELECT bb_participant_create($1, $2, $3, $4::integer, $5, "
	                           "$6::bigint[], $7, $8::bigint)" },
	{ "h_participants_get", "SELECT bb_participant_get($1, $2, $3::bigint[])" },
	{ "h_participants_list", "SELECT bb_participants_list($1, $2::integer, $3, $4::bigint[])" },
	{ "h_consents_create",
	  "SELECT bb_consent_record($1, $2, $3, $4, $5::date, $6, $7::bigint[], $8, $9::bigint)" },
	{ "h_specimen_types_create", "SELECT bb_specimen_type_create($1, $2, $3, $4::bigint)" },
	{ "h_specimen_types_list", "SELECT bb_specimen_types_list()" },
	{ "h_diagnoses_list", "SELECT bb_diagnoses_list()" },
	{ "h_audit_log_list",
	  "SELECT bb_audit_log_list($1, $2, $3, $4::timestamptz, $5::integer, $6, $7::bigint[])" },
	{ NULL, NULL },
};
