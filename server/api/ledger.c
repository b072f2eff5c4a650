/*
 * ledger.c — the ledger's routes: GET /api/v1/ledger/verify (the chains
 * checked by the daemon's own code), the transparency log's key and
 * checkpoints (docs/ledger.md).
 */
#include "api/api.h"

#include "db/ledger_verify.h"
#include "note.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

const struct db_stmt ledger_statements[] = {
	{ "ledger_checkpoint_last",
	  "SELECT size, encode(root, 'base64'), note, bb_rfc3339(made_at) FROM log_checkpoints"
	  " ORDER BY id DESC LIMIT 1" },
	{ NULL, NULL },
};

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

void
h_ledger_key(struct srv_req *r)
{
	const struct note_key *k = r->srv->ledger_key;
	struct bb_buf vkey = { 0 };
	char id[16];

	if (k == NULL) {
		reply_problem_code(r, "ledger-key-missing", NULL,
		                   "this server signs no checkpoints: it has no ledger_key");
		return;
	}
	note_key_text(k, false, &vkey);
	snprintf(id, sizeof(id), "%08x", (unsigned)k->id);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "origin", k->name);
	cJSON_AddStringToObject(o, "algorithm", "ed25519");
	cJSON_AddStringToObject(o, "key_id", id);
	cJSON_AddStringToObject(o, "verifier_key", vkey.data);
	bb_buf_free(&vkey);
	reply_json(r, 200, o);
}

void
h_ledger_checkpoint(struct srv_req *r)
{
	PGresult *res;
	struct db_conn *db = req_db(r);

	if (db == NULL)
		return;
	enum bb_err err = db_exec(db, "ledger_checkpoint_last", 0, NULL, &res);
	if (err != BB_OK) {
		reply_db_error(r, err);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		reply_problem_code(r, "checkpoint-not-found", NULL,
		                   "the ledger has no signed checkpoint yet");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "size", strtod(PQgetvalue(res, 0, 0), NULL));
	cJSON_AddStringToObject(o, "root", PQgetvalue(res, 0, 1));
	cJSON_AddStringToObject(o, "note", PQgetvalue(res, 0, 2));
	cJSON_AddStringToObject(o, "made_at", PQgetvalue(res, 0, 3));
	PQclear(res);
	reply_json(r, 200, o);
}
