/* router.c — the routing table: method, path pattern, roles, handler, body. */
#include "handlers.h"

#include <string.h>

#define ADMIN    R(ROLE_ADMIN)
#define MANAGERS (R(ROLE_ADMIN) | R(ROLE_MANAGER))
#define BENCH    (MANAGERS | R(ROLE_TECHNICIAN)) /* who handles tubes */
#define READERS  (BENCH | R(ROLE_AUDITOR))       /* who may look */
#define AUDITORS (MANAGERS | R(ROLE_AUDITOR))    /* who checks the books */

const struct route routes[] = {
	{ "GET", "/healthz", ROLES_PUBLIC, h_health_live, BODY_NONE, NULL },
	{ "GET", "/readyz", ROLES_PUBLIC, h_health_ready, BODY_NONE, NULL },
	/* Not a health check: any valid token (e.g. a scraper's service token). */
	{ "GET", "/metrics", ROLES_ALL, h_health_metrics, BODY_NONE, NULL },

	{ "POST", "/api/v1/sessions", ROLES_PUBLIC, h_sessions_create, BODY_JSON,
	  &h_sessions_create_spec },
	{ "GET", "/api/v1/sessions/current", ROLES_ALL, h_sessions_current, BODY_NONE, NULL },
	{ "DELETE", "/api/v1/sessions/current", ROLES_ALL, h_sessions_delete, BODY_NONE, NULL },

	{ "POST", "/api/v1/users", ADMIN, h_users_create, BODY_JSON, &h_users_create_spec },
	{ "GET", "/api/v1/users", ADMIN, h_users_list, BODY_NONE, NULL },
	{ "POST", "/api/v1/tokens", ADMIN, h_tokens_create, BODY_JSON, &h_tokens_create_spec },

	/* studies, participants, consent, reference lists, audit log (h_participants.c) */
	{ "POST", "/api/v1/studies", MANAGERS, h_studies_create, BODY_JSON,
	  &h_studies_create_spec },
	{ "GET", "/api/v1/studies", READERS, h_studies_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/studies/:code", READERS, h_studies_get, BODY_NONE, NULL },
	{ "POST", "/api/v1/participants", BENCH, h_participants_create, BODY_JSON,
	  &h_participants_create_spec },
	{ "GET", "/api/v1/participants", READERS, h_participants_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/participants/:study/:code", READERS, h_participants_get, BODY_NONE,
	  NULL },
	{ "POST", "/api/v1/participants/:study/:code/consents", MANAGERS, h_consents_create,
	  BODY_JSON, &h_consents_create_spec },
	{ "POST", "/api/v1/specimen-types", MANAGERS, h_specimen_types_create, BODY_JSON,
	  &h_specimen_types_create_spec },
	{ "GET", "/api/v1/specimen-types", ROLES_ALL, h_specimen_types_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/diagnoses", ROLES_ALL, h_diagnoses_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/audit-log", AUDITORS, h_audit_log_list, BODY_NONE, NULL },

	/* specimens (h_specimens.c) */
	{ "POST", "/api/v1/specimens", BENCH, h_specimens_create, BODY_JSON,
	  &h_specimens_create_spec },
	{ "GET", "/api/v1/specimens", READERS, h_specimens_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/specimens/:id", READERS, h_specimens_get, BODY_NONE, NULL },
	{ "GET", "/api/v1/specimens/:id/events", READERS, h_specimens_events, BODY_NONE, NULL },
	{ "POST", "/api/v1/specimens/:id/aliquots", BENCH, h_specimens_aliquot, BODY_JSON,
	  &h_specimens_aliquot_spec },
	{ "POST", "/api/v1/specimens/:id/derivatives", BENCH, h_specimens_derive, BODY_JSON,
	  &h_specimens_derive_spec },
	{ "POST", "/api/v1/specimens/:id/store", BENCH, h_specimens_act, BODY_JSON,
	  &h_specimens_store_spec },
	{ "POST", "/api/v1/specimens/:id/move", BENCH, h_specimens_act, BODY_JSON,
	  &h_specimens_move_spec },
	{ "POST", "/api/v1/specimens/:id/checkout", BENCH, h_specimens_act, BODY_JSON,
	  &h_specimens_reason_spec },
	{ "POST", "/api/v1/specimens/:id/return", BENCH, h_specimens_act, BODY_JSON,
	  &h_specimens_return_spec },
	{ "POST", "/api/v1/specimens/:id/consume", BENCH, h_specimens_act, BODY_JSON,
	  &h_specimens_consume_spec },
	{ "POST", "/api/v1/specimens/:id/lost", BENCH, h_specimens_act, BODY_JSON,
	  &h_specimens_reason_spec },
	{ "POST", "/api/v1/specimens/:id/found", BENCH, h_specimens_act, BODY_JSON,
	  &h_specimens_found_spec },
	{ "POST", "/api/v1/specimens/:id/destroy", MANAGERS, h_specimens_act, BODY_JSON,
	  &h_specimens_reason_spec },
	{ "POST", "/api/v1/boxes/:barcode/placements", BENCH, h_boxes_place, BODY_JSON_CSV,
	  &h_boxes_place_spec },
	{ "GET", "/api/v1/ledger/verify", AUDITORS, h_ledger_verify, BODY_NONE, NULL },

	/* freezer audits (h_audits.c) */
	{ "POST", "/api/v1/audits", MANAGERS, h_audits_create, BODY_JSON, &h_audits_create_spec },
	{ "GET", "/api/v1/audits/:id", AUDITORS, h_audits_get, BODY_NONE, NULL },
	{ "POST", "/api/v1/audits/:id/scans", MANAGERS, h_audits_scan, BODY_JSON_CSV,
	  &h_audits_scan_spec },
	{ "POST", "/api/v1/audits/:id/close", MANAGERS, h_audits_close, BODY_JSON,
	  &h_audits_close_spec },

	/* storage (h_storage.c) */
	{ "POST", "/api/v1/locations", MANAGERS, h_locations_create, BODY_JSON,
	  &h_locations_create_spec },
	{ "GET", "/api/v1/locations", READERS, h_locations_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/locations/:id", READERS, h_locations_get, BODY_NONE, NULL },
	{ "POST", "/api/v1/boxes", MANAGERS, h_boxes_create, BODY_JSON, &h_boxes_create_spec },
	{ "GET", "/api/v1/boxes", READERS, h_boxes_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/boxes/:barcode", READERS, h_boxes_get, BODY_NONE, NULL },
	{ "GET", "/api/v1/boxes/:barcode/free", READERS, h_boxes_free, BODY_NONE, NULL },
	{ "GET", "/api/v1/scan/:value", READERS, h_scan, BODY_NONE, NULL },

	/* shipments, reports, FHIR (h_shipments.c, h_reports.c, h_fhir.c) */
	{ "POST", "/api/v1/shipments", MANAGERS, h_shipments_create, BODY_JSON,
	  &h_shipments_create_spec },
	{ "GET", "/api/v1/shipments", READERS, h_shipments_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/shipments/:id", READERS, h_shipments_get, BODY_NONE, NULL },
	{ "POST", "/api/v1/shipments/:id/specimens", MANAGERS, h_shipments_add, BODY_JSON,
	  &h_shipments_add_spec },
	{ "DELETE", "/api/v1/shipments/:id/specimens/:specimen", MANAGERS, h_shipments_remove,
	  BODY_NONE, NULL },
	{ "POST", "/api/v1/shipments/:id/dispatch", MANAGERS, h_shipments_dispatch, BODY_NONE,
	  NULL },
	{ "POST", "/api/v1/shipments/:id/receipt", MANAGERS, h_shipments_receive, BODY_JSON,
	  &h_shipments_receipt_spec },
	{ "GET", "/api/v1/reports/inventory", READERS, h_reports_inventory, BODY_NONE, NULL },
	{ "GET", "/api/v1/reports/occupancy", READERS, h_reports_occupancy, BODY_NONE, NULL },
	{ "GET", "/api/v1/reports/consent-withdrawn", READERS, h_reports_consent_withdrawn,
	  BODY_NONE, NULL },
	{ "POST", "/api/v1/reports/consent-withdrawn/destroy", MANAGERS, h_reports_destroy,
	  BODY_JSON, &h_reports_destroy_spec },
	{ "GET", "/api/v1/specimens/:id/fhir", READERS, h_fhir_specimen_get, BODY_NONE, NULL },
	{ "GET", "/api/v1/fhir/Specimen", READERS, h_fhir_specimen_search, BODY_NONE, NULL },
	{ "GET", "/api/v1/fhir/Specimen/:id", READERS, h_fhir_specimen_get, BODY_NONE, NULL },

	/* the bench web page (h_static.c) */
	{ "GET", "/", ROLES_PUBLIC, h_static_index, BODY_NONE, NULL },
	{ "GET", "/ui/*", ROLES_PUBLIC, h_static_file, BODY_NONE, NULL },

	/* labels (h_labels.c) */
	{ "GET", "/api/v1/labels", BENCH | R(ROLE_PRINTER), h_labels_list, BODY_NONE, NULL },
	{ "GET", "/api/v1/specimens/:id/label.png", READERS | R(ROLE_PRINTER), h_labels_preview,
	  BODY_NONE, NULL },
	{ "GET", "/api/v1/specimens/:id/label.svg", READERS | R(ROLE_PRINTER), h_labels_preview,
	  BODY_NONE, NULL },
	{ "POST", "/api/v1/specimens/:id/label-printed", BENCH | R(ROLE_PRINTER), h_labels_printed,
	  BODY_JSON, &h_labels_printed_spec },
	{ "POST", "/api/v1/print", BENCH, h_labels_print, BODY_JSON, &h_labels_print_spec },
};

const size_t route_count = sizeof(routes) / sizeof(routes[0]);

/* Match one pattern; captured segments (and a final "*"'s rest of the path) are
 * copied into the arena. */
static bool
pattern_match(const char *pattern, const char *path, struct bb_arena *a, const char **params)
{
	const char *p = pattern, *s = path;
	int n = 0;

	while (*p != '\0' && *s != '\0') {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		/* A final "*" takes the rest of the path, one segment or more. */
		if (p[0] == '*' && p[1] == '\0') {
			if (*s == '\0' || n == ROUTE_PARAMS_MAX)
				return false;
			params[n++] = bb_arena_strdup(a, s);
			return true;
		}
		size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
		if (*p == ':') {
			if (slen == 0 || n == ROUTE_PARAMS_MAX)
				return false;
			params[n++] = bb_arena_strndup(a, s, slen);
		} else if (plen != slen || strncmp(p, s, plen) != 0) {
			return false;
		}
		p += plen;
		s += slen;
	}
	return *p == '\0' && *s == '\0';
}

const struct route *
route_match(const char *method, const char *path, struct bb_arena *a, const char **params,
            bool *path_matched)
{
	*path_matched = false;
	for (size_t i = 0; i < route_count; i++) {
		const char *tmp[ROUTE_PARAMS_MAX] = { 0 };

		if (!pattern_match(routes[i].pattern, path, a, tmp))
			continue;
		*path_matched = true;
		/* HEAD is answered like GET (MHD drops the body). */
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
			memcpy(params, tmp, sizeof(tmp));
			return &routes[i];
		}
	}
	return NULL;
}
