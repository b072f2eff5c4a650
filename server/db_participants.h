/*
 * db_participants.h — statements for studies, participants, consent,
 * specimen types, diagnoses and the audit log. Each runs one SQL function
 * of migrations/functions/participants.sql that returns the API's JSON, so a
 * handler is one round trip through reply_from_function(); each statement
 * is named after the handler (h_participants.c) that runs it.
 */
#ifndef SRV_DB_PARTICIPANTS_H
#define SRV_DB_PARTICIPANTS_H

#include "db.h"

extern const struct db_stmt db_participants_statements[];

#endif
