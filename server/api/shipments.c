/*
 * shipments.c — shipments of specimens to analysis labs: the draft
 * manifest, dispatch ('shipped' events, positions freed), receipt
 * ('received' events), the manifest as JSON or CSV, and the list. Each
 * handler validates what the URL carries and makes one call of a SQL
 * function of migrations/functions/shipments.sql, which does the whole action.
 */
#include "http/csv.h"
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt shipments_statements[] = {
	{ "db_shipment_get", "SELECT bb_shipment_get($1::bigint, $2::bigint[])::text" },
	{ "db_shipment_manifest_rows",
	  "SELECT shipment, destination, conditions, shipment_status, specimen, tube_barcode, type,"
	  " study, participant, timepoint, collected_at, quantity, unit, status, from_box, "
	  "from_position"
	  " FROM bb_shipment_manifest_rows($1::bigint, $2::bigint[])" },
	{ "db_shipments_list", "SELECT bb_shipments_list($1, $2::int, $3, $4::bigint[])::text" },
	{ "db_shipment_add",
	  "SELECT bb_shipment_add($1::bigint, $2::text[], $3::bigint[], $4, $5::bigint)::text" },
	{ "db_shipment_remove",
	  "SELECT bb_shipment_remove($1::bigint, $2, $3::bigint[], $4, $5::bigint)::text" },
	{ NULL, NULL },
};

/* A shipment id from the path, or NULL after replying 404 (no such shipment can exist). */
static const char *
shipment_id(struct srv_req *r)
{
	return req_id_param(r, 0, "shipment");
}

static const char *const conditions_choices[] = { "dry_ice", "ln2_dry_shipper", "cold_pack",
	                                          "ambient", NULL };

enum { SH_DESTINATION, SH_CONDITIONS, SH_REQUESTER, SH_NOTES, SH__MAX };
static const struct bb_js_field create_fields[SH__MAX] = {
	[SH_DESTINATION] = { "destination", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
	[SH_CONDITIONS] = { "conditions", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, conditions_choices },
	[SH_REQUESTER] = { "requester", BB_JS_STRING, BB_JS_NULLABLE, 1, 200 },
	[SH_NOTES] = { "notes", BB_JS_STRING, BB_JS_NULLABLE, 0, 2000 },
};
const struct bb_js_spec h_shipments_create_spec = BB_JS_SPEC(create_fields);

/* The manifest as CSV: one header row, one row per specimen. */
static void
shipment_csv(struct srv_req *r, const char *id)
{
	const char *params[] = { id, req_studies(r) };

	reply_csv_rows(r, "db_shipment_manifest_rows", 2, params,
	               bb_arena_printf(&r->arena, "shipment-%s.csv", id));
}

void
h_shipments_get(struct srv_req *r)
{
	const char *id = shipment_id(r);

	if (id == NULL)
		return;
	if (csv_wanted(r)) {
		shipment_csv(r, id);
		return;
	}
	const char *params[] = { id, req_studies(r) };
	reply_from_function(r, 200, "db_shipment_get", 2, params);
}

static const char *const status_choices[] = { "draft", "dispatched", "received", NULL };

void
h_shipments_list(struct srv_req *r)
{
	const char *status = req_query(r, "status");
	struct page pg;

	if (status != NULL && *status == '\0')
		status = NULL;
	if (status != NULL) {
		bool known = false;

		for (const char *const *c = status_choices; *c; c++)
			known = known || strcmp(*c, status) == 0;
		if (!known) {
			reply_invalid_field(r, "status",
			                    "must be one of: draft, dispatched, received");
			return;
		}
	}
	if (!req_page(r, PAGE_SHIPMENTS, &pg))
		return;
	const char *params[] = { status, pg.limit, pg.cursor, req_studies(r) };
	reply_from_function(r, 200, "db_shipments_list", 4, params);
}

enum { ADD_SPECIMENS, ADD__MAX };
static const struct bb_js_field add_fields[ADD__MAX] = {
	[ADD_SPECIMENS] = { "specimens", BB_JS_ARRAY, BB_JS_REQUIRED, 1, 1000, NULL, NULL,
	                    BB_JS_STRING },
};
const struct bb_js_spec h_shipments_add_spec = BB_JS_SPEC(add_fields);

void
h_shipments_add(struct srv_req *r)
{
	const char *id = shipment_id(r);

	if (id == NULL)
		return;
	const char *refs = specimen_refs_param(r, &r->in[ADD_SPECIMENS], "specimens");
	if (refs == NULL)
		return;
	const char *params[] = { id, refs, req_studies(r), req_actor(r), req_actor_id(r) };
	reply_from_function(r, 200, "db_shipment_add", 5, params);
}

void
h_shipments_remove(struct srv_req *r)
{
	const char *id = shipment_id(r), *ref;

	if (id == NULL || (ref = req_specimen_ref(r, r->params[1], NULL)) == NULL)
		return;
	const char *params[] = { id, ref, req_studies(r), req_actor(r), req_actor_id(r) };
	reply_from_function(r, 200, "db_shipment_remove", 5, params);
}

static const char *const condition_choices[] = { "good", "thawed", "damaged", NULL };

enum { RC_RECEIVED_AT, RC_CONDITION, RC_NOTES, RC__MAX };
static const struct bb_js_field receipt_fields[RC__MAX] = {
	[RC_RECEIVED_AT] = { "received_at", BB_JS_TIME, BB_JS_REQUIRED },
	[RC_CONDITION] = { "condition", BB_JS_STRING, BB_JS_NULLABLE, 0, 0, condition_choices },
	[RC_NOTES] = { "notes", BB_JS_STRING, BB_JS_NULLABLE, 0, 2000 },
};
const struct bb_js_spec h_shipments_receipt_spec = BB_JS_SPEC(receipt_fields);
