/* db_shipments.c — statements of shipments, reports, the CSV export and FHIR: each calls
 * one SQL function of migrations/functions/shipments.sql or reports.sql. */
#include "db.h"

const struct db_stmt db_shipments_statements[] = {
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
	{ "db_report_occupancy", "SELECT bb_report_occupancy($1::bigint)::text" },
	{ "db_consent_withdrawn_destroy", "SELECT bb_consent_withdrawn_destroy($1::text[], $2, "
	                                  "$3::bigint[], $4, $5::bigint)::text" },
	{ "db_specimen_csv_rows",
	  "SELECT serial, id, tube_barcode, type, study, participant, timepoint, collected_at, "
	  "status,"
	  " quantity, unit, parent, derivation, freeze_thaw_count, consent_withdrawn::text AS"
	  " consent_withdrawn, box, box_position AS position, location, notes, created_at"
	  " FROM bb_specimen_csv_rows($1, $2, $3, $4, $5, $6, $7::bigint[], $8::bigint, $9::int)" },
	{ "db_fhir_specimen_get", "SELECT bb_fhir_specimen_get($1, $2::bigint[])::text" },
	{ "db_fhir_specimen_search",
	  "SELECT bb_fhir_specimen_search($1, $2, $3, $4, $5::bigint[], $6::bigint, $7::int, $8,"
	  " $9)::text" },
	{ NULL, NULL },
};
