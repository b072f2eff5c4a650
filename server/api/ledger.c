/* ledger.c — GET /api/v1/ledger/verify: the ledger checked by the daemon's own code. */
#include "api/api.h"

#include "db/ledger_verify.h"

#include <cjson/cJSON.h>

void
h_ledger_verify(struct srv_req *r)
{
	struct db_conn *db = req_db(r);
	struct ledger_report rep;

	if (db == NULL)
		return;
	enum bb_err err = ledger_verify(db, &rep);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", rep.ok);
	cJSON_AddNumberToObject(o, "specimens_checked", (double)rep.specimens);
	cJSON_AddNumberToObject(o, "events_checked", (double)rep.events);
	if (rep.ok) {
		cJSON_AddNullToObject(o, "first_bad");
	} else {
		cJSON *list = cJSON_CreateArray();
		for (size_t i = 0; i < rep.nbreaks; i++) {
			const struct ledger_break *lb = &rep.breaks[i];
			cJSON *b = cJSON_CreateObject();

			cJSON_AddStringToObject(b, "specimen", lb->specimen);
			cJSON_AddNumberToObject(b, "seq", lb->seq);
			cJSON_AddStringToObject(b, "reason", lb->reason);
			cJSON_AddStringToObject(b, "detail", lb->detail);
			cJSON_AddItemToArray(list, b);
		}
		cJSON_AddItemToObject(o, "first_bad",
		                      cJSON_Duplicate(cJSON_GetArrayItem(list, 0), true));
		cJSON_AddNumberToObject(o, "broken_chains", (double)rep.broken);
		cJSON_AddItemToObject(o, "broken", list);
	}
	reply_json(r, 200, o);
}
