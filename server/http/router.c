/* router.c — the routing table (router.h), and how a request finds its route. */
#include "http/bind.h"
#include "http/openapi.h"
#include "api/api.h"
#include "api/fhir.h"

#include <string.h>

/*
 * Route bindings (bind.h): where each parameter of the route's SQL function
 * comes from, in the function's order.
 */
#define END                                                                                        \
	{                                                                                          \
		ARG_END, 0, NULL                                                                   \
	}
#define PATH(i)                                                                                    \
	{                                                                                          \
		ARG_PATH, (i), NULL                                                                \
	}
#define ID(i, what)                                                                                \
	{                                                                                          \
		ARG_PATH_ID, (i), (what)                                                           \
	}
#define REF(i)                                                                                     \
	{                                                                                          \
		ARG_PATH_REF, (i), NULL                                                            \
	}
#define BODY(name)                                                                                 \
	{                                                                                          \
		ARG_BODY, 0, (name)                                                                \
	}
#define QUERY(name)                                                                                \
	{                                                                                          \
		ARG_QUERY, 0, (name)                                                               \
	}
#define CONST(v)                                                                                   \
	{                                                                                          \
		ARG_CONST, 0, (v)                                                                  \
	}
#define STUDIES                                                                                    \
	{                                                                                          \
		ARG_STUDIES, 0, NULL                                                               \
	}
#define ACTOR                                                                                      \
	{ ARG_ACTOR, 0, NULL },                                                                    \
	{                                                                                          \
		ARG_ACTOR_ID, 0, NULL                                                              \
	}
#define PAGE_SIZE                                                                                  \
	{                                                                                          \
		ARG_PAGE_SIZE, 0, NULL                                                             \
	}
#define CURSOR                                                                                     \
	{                                                                                          \
		ARG_CURSOR, 0, NULL                                                                \
	}
#define AFTER                                                                                      \
	{                                                                                          \
		ARG_AFTER, 0, NULL                                                                 \
	}
#define SQL(fn_, status_, ...)                                                                     \
	(&(const struct sql_call){ .fn = (fn_), .status = (status_), .args = { __VA_ARGS__ } })
/* A report over every specimen: no per-statement timeout (reply_from_report). */
#define REPORT(fn_, ...)                                                                           \
	(&(const struct sql_call){                                                                 \
	    .fn = (fn_), .status = 200, .whole_db = true, .args = { __VA_ARGS__ } })
/* A list: ?limit= and ?cursor= are checked as page_ says, then read by PAGE_SIZE, CURSOR, AFTER. */
#define LIST(fn_, page_, ...)                                                                      \
	(&(const struct sql_call){                                                                 \
	    .fn = (fn_), .status = 200, .paged = true, .page = (page_), .args = { __VA_ARGS__ } })
/*
 * A custody action on one specimen: one function, the action named by the
 * route; then box, position, from.box, from.position, reason, thawed, and
 * the quantity used (value, unit).
 */
#define ACT(action, ...)                                                                           \
	SQL("bb_specimen_act", 200, CONST(action), REF(0), STUDIES, ACTOR, __VA_ARGS__)
#define NONE                                                                                       \
	{                                                                                          \
		ARG_NULL, 0, NULL                                                                  \
	}
#define PLACE BODY("box"), BODY("position")

#define ADMIN    R(ROLE_ADMIN)
#define MANAGERS (R(ROLE_ADMIN) | R(ROLE_MANAGER))
#define BENCH    (MANAGERS | R(ROLE_TECHNICIAN)) /* who handles tubes */
#define READERS  (BENCH | R(ROLE_AUDITOR))       /* who may look */
#define AUDITORS (MANAGERS | R(ROLE_AUDITOR))    /* who checks the books */
#define RESEARCH (R(ROLE_RESEARCHER))            /* who asks for tubes */
#define ACTOR_ID                                                                                   \
	{                                                                                          \
		ARG_ACTOR_ID, 0, NULL                                                              \
	}

const struct route routes[] = {
	{ "GET", "/healthz", ROLES_PUBLIC, h_health_live, BODY_NONE, NULL },
	{ "GET", "/readyz", ROLES_PUBLIC, h_health_ready, BODY_NONE, NULL },
	/* Not a health check: any valid token (e.g. a scraper's service token). */
	{ "GET", "/metrics", ROLES_ALL, h_health_metrics, BODY_NONE, NULL },
	/* This API's OpenAPI document, generated from this table (http/openapi.c). */
	{ "GET", "/api/v1/openapi.json", ROLES_PUBLIC, h_openapi, BODY_NONE, NULL },

	{ "POST", "/api/v1/sessions", ROLES_PUBLIC, h_sessions_create, BODY_JSON,
	  &h_sessions_create_spec },
	{ "GET", "/api/v1/sessions/current", ROLES_ALL, h_sessions_current, BODY_NONE, NULL },
	/* this installation's settings a page shows things by (api/site.c) */
	{ "GET", "/api/v1/site", ROLES_ALL, h_site, BODY_NONE, NULL },
	/* how one signs in here, for the login page before anyone has (api/site.c) */
	{ "GET", "/api/v1/site/sign-in", ROLES_PUBLIC, h_site_sign_in, BODY_NONE, NULL },
	/* single sign-on: the page's login through the OpenID provider (sso.c) */
	{ "GET", "/api/v1/oidc/login", ROLES_PUBLIC, h_oidc_login, BODY_NONE, NULL, "return_to" },
	{ "GET", "/api/v1/oidc/callback", ROLES_PUBLIC, h_oidc_callback, BODY_NONE, NULL,
	  "code state iss error error_description session_state" },
	{ "DELETE", "/api/v1/sessions/current", ROLES_ALL, h_sessions_delete, BODY_NONE, NULL },
	{ "PUT", "/api/v1/sessions/current/password", ROLES_ALL, h_sessions_password, BODY_JSON,
	  &h_sessions_password_spec },

	{ "POST", "/api/v1/users", ADMIN | EVERY_STUDY, h_users_create, BODY_JSON,
	  &h_users_create_spec },
	{ "GET", "/api/v1/users", ADMIN | EVERY_STUDY, h_users_list, BODY_NONE, NULL,
	  "limit cursor" },
	{ "PUT", "/api/v1/users/:username/password", ADMIN | EVERY_STUDY, h_users_password,
	  BODY_JSON, &h_users_password_spec },
	{ "DELETE", "/api/v1/users/:username/tokens", ADMIN | EVERY_STUDY, h_users_end_sessions,
	  BODY_NONE, NULL },
	{ "POST", "/api/v1/tokens", ADMIN | EVERY_STUDY, h_tokens_create, BODY_JSON,
	  &h_tokens_create_spec },
	/* account administration (api/users.c; docs/api-accounts.md) */
	{ "GET", "/api/v1/users/:username", ADMIN | EVERY_STUDY, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_user_get", 200, PATH(0)) },
	{ "PATCH", "/api/v1/users/:username", ADMIN | EVERY_STUDY, h_users_update, BODY_JSON,
	  &h_users_update_spec },
	{ "GET", "/api/v1/tokens", ADMIN | EVERY_STUDY, h_tokens_list, BODY_NONE, NULL,
	  "username limit cursor" },
	{ "DELETE", "/api/v1/tokens/:id", ADMIN | EVERY_STUDY, h_tokens_revoke, BODY_NONE, NULL },

	/* studies, participants, consent, reference lists, audit log (api/participants.c) */
	{ "POST", "/api/v1/studies", MANAGERS, h_sql, BODY_JSON, &h_studies_create_spec, NULL,
	  SQL("bb_study_create", 201, BODY("code"), BODY("name"), ACTOR) },
	{ "GET", "/api/v1/studies", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL, "limit cursor",
	  LIST("bb_studies_list", PAGE_NONE, STUDIES) },
	{ "GET", "/api/v1/studies/:code", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_study_get", 200, PATH(0), STUDIES) },
	{ "POST", "/api/v1/participants", BENCH | STUDY_LIMITED, h_participants_create, BODY_JSON,
	  &h_participants_create_spec },
	{ "GET", "/api/v1/participants", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL,
	  "study limit cursor",
	  LIST("bb_participants_list", PAGE_PARTICIPANTS, QUERY("study"), PAGE_SIZE, CURSOR,
	       STUDIES) },
	{ "GET", "/api/v1/participants/:study/:code", READERS | STUDY_LIMITED, h_sql, BODY_NONE,
	  NULL, "include_in_error",
	  SQL("bb_participant_get", 200, PATH(0), PATH(1), STUDIES, QUERY("include_in_error")) },
	/* corrections with a reason, kept in the audit log (api/corrections.c) */
	{ "PATCH", "/api/v1/participants/:study/:code", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_participants_correct_spec, NULL,
	  SQL("bb_participant_correct", 200, PATH(0), PATH(1), BODY("sex"), BODY("birth_year"),
	      BODY("diagnosis"), BODY("reason"), STUDIES, ACTOR) },
	{ "POST", "/api/v1/participants/:study/:code/consents", MANAGERS | STUDY_LIMITED, h_sql,
	  BODY_JSON, &h_consents_create_spec, NULL,
	  SQL("bb_consent_record", 201, PATH(0), PATH(1), BODY("scope"), BODY("status"),
	      BODY("date"), BODY("version"), STUDIES, ACTOR) },
	{ "POST", "/api/v1/specimen-types", MANAGERS, h_sql, BODY_JSON,
	  &h_specimen_types_create_spec, NULL,
	  SQL("bb_specimen_type_create", 201, BODY("code"), BODY("name"), ACTOR) },
	{ "GET", "/api/v1/specimen-types", ROLES_ALL, h_sql, BODY_NONE, NULL, "limit cursor",
	  LIST("bb_specimen_types_list", PAGE_NONE, END) },
	{ "GET", "/api/v1/diagnoses", ROLES_ALL, h_sql, BODY_NONE, NULL, "limit cursor",
	  LIST("bb_diagnoses_list", PAGE_NONE, END) },
	{ "GET", "/api/v1/audit-log", AUDITORS | STUDY_LIMITED, h_audit_log_list, BODY_NONE, NULL,
	  "entity entity_id actor since limit cursor" },

	/* protocols, visits, completeness, SPREC (api/protocols.c, docs/api-protocols.md) */
	{ "GET", "/api/v1/studies/:code/protocol", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL,
	  NULL, SQL("bb_protocol_get", 200, PATH(0), NONE, STUDIES) },
	{ "PUT", "/api/v1/studies/:code/protocol", MANAGERS | STUDY_LIMITED, h_protocol_put,
	  BODY_JSON, &h_protocol_put_spec },
	{ "GET", "/api/v1/studies/:code/protocol/versions", READERS | STUDY_LIMITED, h_sql,
	  BODY_NONE, NULL, NULL, SQL("bb_protocol_versions", 200, PATH(0), STUDIES) },
	{ "GET", "/api/v1/studies/:code/protocol/versions/:version", READERS | STUDY_LIMITED, h_sql,
	  BODY_NONE, NULL, NULL,
	  SQL("bb_protocol_get", 200, PATH(0), ID(1, "protocol version"), STUDIES) },
	{ "POST", "/api/v1/studies/:code/timepoint-mappings", MANAGERS | STUDY_LIMITED,
	  h_timepoints_map, BODY_JSON, &h_timepoints_map_spec },
	{ "GET", "/api/v1/studies/:code/completeness",
	  READERS | STUDY_LIMITED | LONG_WORK | READS_STANDBY, h_completeness, BODY_NONE, NULL,
	  "site timepoint type state format" },
	{ "GET", "/api/v1/participants/:study/:code/visits", READERS | STUDY_LIMITED, h_sql,
	  BODY_NONE, NULL, NULL, SQL("bb_visits_list", 200, PATH(0), PATH(1), STUDIES) },
	{ "POST", "/api/v1/participants/:study/:code/visits/:timepoint", BENCH | STUDY_LIMITED,
	  h_sql, BODY_JSON, &h_visit_set_spec, NULL,
	  SQL("bb_visit_set", 200, PATH(0), PATH(1), PATH(2), BODY("status"), BODY("reason"),
	      STUDIES, ACTOR) },
	{ "PUT", "/api/v1/participants/:study/:code/enrolment", BENCH | STUDY_LIMITED, h_sql,
	  BODY_JSON, &h_enrolment_spec, NULL,
	  SQL("bb_participant_enrol", 200, PATH(0), PATH(1), BODY("date"), BODY("reason"), STUDIES,
	      ACTOR) },
	{ "GET", "/api/v1/sprec-codes", ROLES_ALL, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_sprec_codes_list", 200, { ARG_END }) },

	/* specimens (api/specimens.c) */
	{ "POST", "/api/v1/specimens", BENCH | STUDY_LIMITED, h_specimens_create, BODY_JSON,
	  &h_specimens_create_spec },
	{ "GET", "/api/v1/specimens", READERS | STUDY_LIMITED | LONG_CSV | READS_STANDBY,
	  h_specimens_list, BODY_NONE, NULL,
	  "study participant type timepoint status box include_in_error location limit cursor"
	  " sprec_sample_type sprec_container sprec_pre_centrifugation sprec_centrifugation"
	  " sprec_second_centrifugation sprec_post_centrifugation sprec_storage"
	  " sprec_pre_centrifugation_max_hours sprec_post_centrifugation_max_hours" },
	{ "GET", "/api/v1/specimens/:id", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_specimen_get", 200, REF(0), STUDIES) },
	{ "GET", "/api/v1/specimens/:id/events", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL,
	  NULL, SQL("bb_specimen_events", 200, REF(0), STUDIES) },
	/* corrections that keep the original: a corrected event (api/corrections.c) */
	{ "PATCH", "/api/v1/specimens/:id", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_correct_spec, NULL,
	  SQL("bb_specimen_correct", 200, REF(0), BODY("type"), BODY("timepoint"),
	      BODY("collected_at"), BODY("quantity.value"), BODY("quantity.unit"), BODY("notes"),
	      BODY("reason"), BODY("expected_ledger_seq"), STUDIES, ACTOR) },
	/* A specimen registered by mistake: kept, left out by default (as destroy: managers). */
	{ "POST", "/api/v1/specimens/:id/entered-in-error", MANAGERS | STUDY_LIMITED, h_sql,
	  BODY_JSON, &h_specimens_reason_spec, NULL,
	  SQL("bb_specimen_enter_in_error", 200, REF(0), BODY("reason"), STUDIES, ACTOR) },
	/* JSON (a count, or a list of pre-barcoded tubes), or a rack-scanner file (api/tubes.c) */
	{ "POST", "/api/v1/specimens/:id/aliquots", BENCH | STUDY_LIMITED, h_specimens_aliquot,
	  BODY_JSON_CSV, &h_specimens_aliquot_spec, "box count quantity unit" },
	{ "POST", "/api/v1/specimens/:id/derivatives", BENCH | STUDY_LIMITED, h_specimens_derive,
	  BODY_JSON, &h_specimens_derive_spec },
	{ "POST", "/api/v1/specimens/:id/tube-barcode", BENCH | STUDY_LIMITED,
	  h_specimens_barcode_set, BODY_JSON, &h_specimens_barcode_spec },
	{ "POST", "/api/v1/specimens/:id/store", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_store_spec, NULL,
	  ACT("store", PLACE, NONE, NONE, BODY("reason"), NONE, NONE, NONE) },
	{ "POST", "/api/v1/specimens/:id/move", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_move_spec, NULL,
	  ACT("move", PLACE, BODY("from.box"), BODY("from.position"), BODY("reason"), NONE, NONE,
	      NONE) },
	{ "POST", "/api/v1/specimens/:id/checkout", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_reason_spec, NULL,
	  ACT("checkout", NONE, NONE, NONE, NONE, BODY("reason"), NONE, NONE, NONE) },
	{ "POST", "/api/v1/specimens/:id/return", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_return_spec, NULL,
	  ACT("return", PLACE, NONE, NONE, BODY("reason"), BODY("thawed"), NONE, NONE) },
	{ "POST", "/api/v1/specimens/:id/consume", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_consume_spec, NULL,
	  ACT("consume", NONE, NONE, NONE, NONE, BODY("reason"), NONE, BODY("quantity.value"),
	      BODY("quantity.unit")) },
	{ "POST", "/api/v1/specimens/:id/lost", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_reason_spec, NULL,
	  ACT("lost", NONE, NONE, NONE, NONE, BODY("reason"), NONE, NONE, NONE) },
	{ "POST", "/api/v1/specimens/:id/found", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_found_spec, NULL,
	  ACT("found", PLACE, NONE, NONE, BODY("reason"), NONE, NONE, NONE) },
	{ "POST", "/api/v1/specimens/:id/destroy", MANAGERS | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_specimens_reason_spec, NULL,
	  ACT("destroy", NONE, NONE, NONE, NONE, BODY("reason"), NONE, NONE, NONE) },
	{ "POST", "/api/v1/boxes/:barcode/placements", BENCH | STUDY_LIMITED | LONG_WORK,
	  h_boxes_place, BODY_JSON_CSV, &h_boxes_place_spec },
	{ "GET", "/api/v1/ledger/verify", AUDITORS | EVERY_STUDY | LONG_WORK, h_ledger_verify,
	  BODY_NONE, NULL },
	/* the transparency log (api/ledger.c, docs/ledger.md) */
	{ "GET", "/api/v1/ledger/key", ROLES_ALL, h_ledger_key, BODY_NONE, NULL },
	{ "GET", "/api/v1/ledger/checkpoint", READERS, h_ledger_checkpoint, BODY_NONE, NULL },
	{ "GET", "/api/v1/ledger/witnesses", READERS, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_log_witnesses", 200, { ARG_END }) },
	{ "GET", "/api/v1/ledger/proof/inclusion", READERS | STUDY_LIMITED,
	  h_ledger_proof_inclusion, BODY_NONE, NULL, "specimen seq size" },
	{ "GET", "/api/v1/ledger/proof/consistency", READERS, h_ledger_proof_consistency, BODY_NONE,
	  NULL, "from to" },
	{ "GET", "/api/v1/specimens/:id/history-bundle", READERS | STUDY_LIMITED,
	  h_specimens_history_bundle, BODY_NONE, NULL },
	/* this server as another site's witness (api/witness.c) */
	/* Site-level, as accounts are: for managers of every study. */
	{ "POST", "/api/v1/witness/checkpoints", MANAGERS | EVERY_STUDY, h_witness_checkpoint,
	  BODY_JSON, &h_witness_checkpoint_spec },

	/* inventory imports (api/imports.c, docs/import.md) */
	{ "POST", "/api/v1/imports", MANAGERS | STUDY_LIMITED | LONG_WORK, h_imports_create,
	  BODY_FILE, NULL,
	  "commit encoding separator date_format decimal locale timezone filename progress" },
	{ "GET", "/api/v1/imports/template", READERS, h_imports_template, BODY_NONE, NULL },
	/* how far the caller's import named :id is, from any daemon (functions/imports.sql) */
	{ "GET", "/api/v1/imports/:id/progress", MANAGERS, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_import_progress", 200, PATH(0), ACTOR_ID) },

	/* freezer audits (api/audits.c) */
	{ "POST", "/api/v1/audits", MANAGERS | STUDY_LIMITED, h_audits_create, BODY_JSON,
	  &h_audits_create_spec },
	/* the manager's audit list, newest first (functions/audits.sql) */
	{ "GET", "/api/v1/audits", AUDITORS | STUDY_LIMITED, h_sql, BODY_NONE, NULL,
	  "status limit cursor",
	  LIST("bb_audits_list", PAGE_AUDITS, QUERY("status"), PAGE_SIZE, CURSOR, STUDIES) },
	{ "GET", "/api/v1/audits/:id", AUDITORS | STUDY_LIMITED, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_audit_report", 200, ID(0, "audit"), STUDIES) },
	{ "POST", "/api/v1/audits/:id/scans", MANAGERS | STUDY_LIMITED | LONG_WORK, h_audits_scan,
	  BODY_JSON_CSV, &h_audits_scan_spec, "box" },
	{ "POST", "/api/v1/audits/:id/close", MANAGERS | STUDY_LIMITED, h_audits_close, BODY_JSON,
	  &h_audits_close_spec },

	/* storage (api/storage.c) */
	{ "POST", "/api/v1/locations", MANAGERS, h_locations_create, BODY_JSON,
	  &h_locations_create_spec },
	{ "GET", "/api/v1/locations", READERS, h_locations_list, BODY_NONE, NULL, "limit cursor" },
	{ "GET", "/api/v1/locations/:id", READERS, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_location_get", 200, ID(0, "location")) },
	{ "POST", "/api/v1/boxes", MANAGERS, h_boxes_create, BODY_JSON, &h_boxes_create_spec },
	{ "GET", "/api/v1/boxes", READERS, h_boxes_list, BODY_NONE, NULL, "location limit cursor" },
	{ "GET", "/api/v1/boxes/:barcode", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_box_get", 200, PATH(0), STUDIES) },
	/* the box as the bench page's grid draws it, in one answer (functions/pages.sql) */
	{ "GET", "/api/v1/boxes/:barcode/grid", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_box_grid", 200, PATH(0), STUDIES) },
	{ "GET", "/api/v1/boxes/:barcode/free", READERS, h_boxes_free, BODY_NONE, NULL, "count" },
	/* whole boxes: a technician empties a failing freezer; a manager relabels a box */
	{ "POST", "/api/v1/boxes/:barcode/move", BENCH | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_boxes_move_spec, NULL,
	  SQL("bb_box_move", 200, PATH(0), BODY("to"), BODY("reason"), STUDIES, ACTOR) },
	{ "POST", "/api/v1/box-moves", BENCH | STUDY_LIMITED | LONG_WORK, h_box_moves, BODY_JSON,
	  &h_box_moves_spec },
	{ "POST", "/api/v1/boxes/:barcode/rename", MANAGERS | STUDY_LIMITED, h_boxes_rename,
	  BODY_JSON, &h_boxes_rename_spec },
	/* container rules and capacity (api/storage_plan.c; docs/api-storage.md) */
	{ "GET", "/api/v1/locations/:id/rules", READERS, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_location_rules_get", 200, ID(0, "location")) },
	{ "PUT", "/api/v1/locations/:id/rules", MANAGERS | EVERY_STUDY, h_location_rules_put,
	  BODY_JSON, &h_location_rules_put_spec },
	{ "GET", "/api/v1/boxes/:barcode/rules", READERS, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_box_rules_get", 200, PATH(0)) },
	{ "PUT", "/api/v1/boxes/:barcode/rules", MANAGERS | EVERY_STUDY, h_box_rules_put, BODY_JSON,
	  &h_box_rules_put_spec },
	{ "PUT", "/api/v1/specimen-types/:code/storage", MANAGERS | EVERY_STUDY,
	  h_specimen_type_storage_put, BODY_JSON, &h_specimen_type_storage_spec },
	{ "GET", "/api/v1/locations/:id/capacity", READERS, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_location_capacity", 200, ID(0, "location")) },
	{ "GET", "/api/v1/capacity", READERS, h_capacity_search, BODY_NONE, NULL,
	  "grid boxes type study" },
	{ "POST", "/api/v1/allocations", BENCH | STUDY_LIMITED, h_allocations_create, BODY_JSON,
	  &h_allocations_create_spec },
	{ "POST", "/api/v1/allocations/accept", BENCH | STUDY_LIMITED | LONG_WORK,
	  h_allocations_accept, BODY_JSON, &h_allocations_accept_spec },
	/* temperatures, exposure, maintenance, evacuation (api/storage_care.c, temperatures.c) */
	{ "POST", "/api/v1/locations/:id/temperatures", BENCH, h_temperatures_post, BODY_JSON_CSV,
	  &h_temperatures_post_spec },
	{ "POST", "/api/v1/temperatures", BENCH, h_temperatures_post, BODY_JSON_CSV,
	  &h_temperatures_post_spec },
	{ "GET", "/api/v1/locations/:id/temperatures", READERS, h_sql, BODY_NONE, NULL, "since",
	  SQL("bb_location_temperatures", 200, ID(0, "location"), QUERY("since")) },
	{ "PUT", "/api/v1/locations/:id/temperature-limit", MANAGERS | EVERY_STUDY, h_sql,
	  BODY_JSON, &h_temperature_limit_spec, NULL,
	  SQL("bb_location_limit_set", 200, ID(0, "location"), BODY("alarm_above_c"),
	      BODY("excursion_minutes"), BODY("reading_gap_minutes"), ACTOR) },
	{ "GET", "/api/v1/excursions/:id", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_excursion_get", 200, ID(0, "excursion"), STUDIES) },
	{ "GET", "/api/v1/specimens/:id/exposure", READERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL,
	  NULL, SQL("bb_specimen_exposure", 200, REF(0), STUDIES) },
	{ "PUT", "/api/v1/specimen-types/:code/limits", MANAGERS | EVERY_STUDY, h_sql, BODY_JSON,
	  &h_specimen_type_limits_spec, NULL,
	  SQL("bb_specimen_type_limits_set", 200, PATH(0), BODY("max_freeze_thaw"),
	      BODY("max_minutes_out"), BODY("max_excursion_minutes"), ACTOR) },
	{ "POST", "/api/v1/locations/:id/maintenance", MANAGERS, h_sql, BODY_JSON,
	  &h_maintenance_create_spec, NULL,
	  SQL("bb_maintenance_create", 201, ID(0, "location"), BODY("kind"), BODY("due_on"),
	      BODY("every_days"), BODY("notes"), ACTOR) },
	{ "GET", "/api/v1/locations/:id/maintenance", READERS, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_location_maintenance", 200, ID(0, "location")) },
	{ "POST", "/api/v1/maintenance/:id/done", BENCH, h_sql, BODY_JSON, &h_maintenance_done_spec,
	  NULL,
	  SQL("bb_maintenance_done", 200, ID(0, "maintenance task"), BODY("notes"), BODY("done_at"),
	      ACTOR) },
	{ "GET", "/api/v1/maintenance/overdue", READERS, h_sql, BODY_NONE, NULL, "location",
	  SQL("bb_maintenance_overdue", 200, QUERY("location")) },
	{ "GET", "/api/v1/locations/:id/evacuation", READERS, h_evacuation_get, BODY_NONE, NULL },
	{ "POST", "/api/v1/locations/:id/evacuation", BENCH | STUDY_LIMITED | LONG_WORK, h_evacuate,
	  BODY_JSON, &h_evacuate_spec },
	{ "GET", "/api/v1/scan/:value", READERS | STUDY_LIMITED, h_scan, BODY_NONE, NULL },

	/* shipments, reports, FHIR (api/shipments.c, api/reports.c, api/fhir.c) */
	/* The draft keeps the caller's studies: who may see it while it is empty. */
	{ "POST", "/api/v1/shipments", MANAGERS | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_shipments_create_spec, NULL,
	  SQL("bb_shipment_create", 201, BODY("destination"), BODY("conditions"), BODY("requester"),
	      BODY("notes"), STUDIES, ACTOR) },
	{ "GET", "/api/v1/shipments", READERS | STUDY_LIMITED, h_shipments_list, BODY_NONE, NULL,
	  "status limit cursor" },
	{ "GET", "/api/v1/shipments/:id", READERS | STUDY_LIMITED, h_shipments_get, BODY_NONE,
	  NULL },
	{ "POST", "/api/v1/shipments/:id/specimens", MANAGERS | STUDY_LIMITED, h_shipments_add,
	  BODY_JSON, &h_shipments_add_spec },
	{ "DELETE", "/api/v1/shipments/:id/specimens/:specimen", MANAGERS | STUDY_LIMITED,
	  h_shipments_remove, BODY_NONE, NULL },
	{ "POST", "/api/v1/shipments/:id/dispatch", MANAGERS | STUDY_LIMITED, h_sql, BODY_NONE,
	  NULL, NULL, SQL("bb_shipment_dispatch", 200, ID(0, "shipment"), STUDIES, ACTOR) },
	{ "POST", "/api/v1/shipments/:id/receipt", MANAGERS | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_shipments_receipt_spec, NULL,
	  SQL("bb_shipment_receive", 200, ID(0, "shipment"), BODY("received_at"), BODY("condition"),
	      BODY("notes"), STUDIES, ACTOR) },
	{ "GET", "/api/v1/reports/inventory", READERS | STUDY_LIMITED | LONG_WORK | READS_STANDBY,
	  h_sql, BODY_NONE, NULL, "study include_in_error location",
	  REPORT("bb_report_inventory", QUERY("study"), STUDIES, QUERY("include_in_error"),
	         QUERY("location")) },
	{ "GET", "/api/v1/reports/audit-coverage", READERS | LONG_WORK | READS_STANDBY, h_sql,
	  BODY_NONE, NULL, "days", REPORT("bb_report_audit_coverage", QUERY("days")) },
	{ "GET", "/api/v1/reports/exposure", READERS | STUDY_LIMITED | LONG_WORK | READS_STANDBY,
	  h_sql, BODY_NONE, NULL, "location",
	  REPORT("bb_report_exposure", QUERY("location"), STUDIES) },
	{ "GET", "/api/v1/reports/occupancy", READERS | LONG_WORK | READS_STANDBY,
	  h_reports_occupancy, BODY_NONE, NULL, "location" },
	{ "GET", "/api/v1/reports/consent-withdrawn", READERS | STUDY_LIMITED | READS_STANDBY,
	  h_sql, BODY_NONE, NULL, "limit cursor",
	  LIST("bb_report_consent_withdrawn", PAGE_CONSENT_WITHDRAWN, STUDIES, AFTER, PAGE_SIZE) },
	{ "POST", "/api/v1/reports/consent-withdrawn/destroy", MANAGERS | STUDY_LIMITED | LONG_WORK,
	  h_reports_destroy, BODY_JSON, &h_reports_destroy_spec },
	{ "GET", "/api/v1/specimens/:id/fhir", READERS | STUDY_LIMITED, h_fhir_specimen_get,
	  BODY_NONE, NULL },
	{ "GET", "/api/v1/fhir/Specimen", READERS | STUDY_LIMITED | READS_STANDBY,
	  h_fhir_specimen_search, BODY_NONE, NULL,
	  "subject patient type status collected+ identifier container-id include_in_error _count "
	  "_cursor" },
	{ "GET", "/api/v1/fhir/Patient/:id", READERS | STUDY_LIMITED, h_fhir_patient_get, BODY_NONE,
	  NULL },
	{ "GET", "/api/v1/fhir/Location/:id", READERS, h_fhir_location_get, BODY_NONE, NULL },
	{ "GET", "/api/v1/fhir/ResearchStudy/:id", READERS | STUDY_LIMITED,
	  h_fhir_research_study_get, BODY_NONE, NULL },
	/* What the FHIR routes support, for a FHIR client (api/fhir_metadata.c). */
	{ "GET", "/api/v1/fhir/metadata", ROLES_PUBLIC, h_fhir_metadata, BODY_NONE, NULL },
	{ "GET", "/api/v1/fhir/Specimen/:id", READERS | STUDY_LIMITED, h_fhir_specimen_get,
	  BODY_NONE, NULL },
	/* A study's participants, and FHIR Bulk Data export (api/fhir_export.c, docs/fhir.md). */
	{ "GET", "/api/v1/fhir/Group/:id", READERS | STUDY_LIMITED, h_fhir_group_get, BODY_NONE,
	  NULL },
	{ "GET", "/api/v1/fhir/Group/:id/$export", READERS | STUDY_LIMITED, h_fhir_export_group,
	  BODY_NONE, NULL, "_type _since _outputFormat" },
	{ "GET", "/api/v1/fhir/$export", READERS | STUDY_LIMITED, h_fhir_export_system, BODY_NONE,
	  NULL, "_type _since _outputFormat" },
	{ "GET", "/api/v1/fhir/bulk/:job", READERS | STUDY_LIMITED, h_fhir_export_status,
	  BODY_NONE, NULL },
	{ "DELETE", "/api/v1/fhir/bulk/:job", READERS | STUDY_LIMITED, h_fhir_export_delete,
	  BODY_NONE, NULL },
	/* An NDJSON file, streamed: long work that keeps its slot until sent (as CSV exports). */
	{ "GET", "/api/v1/fhir/bulk/:job/:type/:part", READERS | STUDY_LIMITED | LONG_WORK,
	  h_fhir_export_file, BODY_NONE, NULL },

	/* the catalogue, specimen requests, MIABIS (api/requests.c, docs/api-requests.md) */
	{ "GET", "/api/v1/catalogue",
	  (READERS | RESEARCH) | STUDY_LIMITED | LONG_WORK | READS_STANDBY, h_catalogue, BODY_NONE,
	  NULL, "study timepoint type purpose" },
	{ "GET", "/api/v1/reports/miabis",
	  (READERS | RESEARCH) | STUDY_LIMITED | LONG_WORK | READS_STANDBY, h_reports_miabis,
	  BODY_NONE, NULL, "study" },
	/* Whether allocation keeps the last tube of a participant's timepoint back (default true).
	 */
	{ "PUT", "/api/v1/studies/:code/last-aliquot", MANAGERS | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_studies_last_aliquot_spec, NULL,
	  SQL("bb_study_keep_last_aliquot", 200, PATH(0), BODY("keep"), STUDIES, ACTOR) },
	{ "POST", "/api/v1/requests", (MANAGERS | RESEARCH) | STUDY_LIMITED, h_requests_create,
	  BODY_JSON, &h_requests_create_spec },
	/* A researcher sees its own requests only (bb_request_visible). */
	{ "GET", "/api/v1/requests", (READERS | RESEARCH) | STUDY_LIMITED, h_sql, BODY_NONE, NULL,
	  "status limit cursor",
	  LIST("bb_requests_list", PAGE_REQUESTS, QUERY("status"), PAGE_SIZE, CURSOR, STUDIES,
	       ACTOR_ID) },
	{ "GET", "/api/v1/requests/:id", (READERS | RESEARCH) | STUDY_LIMITED, h_sql, BODY_NONE,
	  NULL, NULL, SQL("bb_request_get", 200, ID(0, "request"), STUDIES, ACTOR_ID) },
	{ "POST", "/api/v1/requests/:id/approve", MANAGERS | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_requests_reason_spec, NULL,
	  SQL("bb_request_decide", 200, ID(0, "request"), CONST("approved"), BODY("reason"),
	      STUDIES, ACTOR) },
	{ "POST", "/api/v1/requests/:id/reject", MANAGERS | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_requests_reject_spec, NULL,
	  SQL("bb_request_decide", 200, ID(0, "request"), CONST("rejected"), BODY("reason"),
	      STUDIES, ACTOR) },
	{ "POST", "/api/v1/requests/:id/allocate", MANAGERS | STUDY_LIMITED, h_sql, BODY_NONE, NULL,
	  NULL, SQL("bb_request_allocate", 200, ID(0, "request"), STUDIES, ACTOR) },
	{ "POST", "/api/v1/requests/:id/specimens", MANAGERS | STUDY_LIMITED, h_requests_add,
	  BODY_JSON, &h_requests_add_spec },
	{ "DELETE", "/api/v1/requests/:id/specimens/:specimen", MANAGERS | STUDY_LIMITED,
	  h_requests_drop, BODY_NONE, NULL },
	{ "POST", "/api/v1/requests/:id/release", MANAGERS | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_requests_reason_spec, NULL,
	  SQL("bb_request_finish", 200, ID(0, "request"), CONST("release"), BODY("reason"), STUDIES,
	      ACTOR) },
	{ "POST", "/api/v1/requests/:id/close", MANAGERS | STUDY_LIMITED, h_sql, BODY_JSON,
	  &h_requests_reason_spec, NULL,
	  SQL("bb_request_finish", 200, ID(0, "request"), CONST("close"), BODY("reason"), STUDIES,
	      ACTOR) },
	{ "GET", "/api/v1/requests/:id/pick-list", BENCH | STUDY_LIMITED, h_requests_pick_list,
	  BODY_NONE, NULL },
	{ "POST", "/api/v1/requests/:id/picks", BENCH | STUDY_LIMITED, h_requests_pick, BODY_JSON,
	  &h_requests_pick_spec },
	{ "POST", "/api/v1/requests/:id/shipments", MANAGERS | STUDY_LIMITED, h_requests_ship,
	  BODY_JSON, &h_requests_ship_spec },
	{ "POST", "/api/v1/requests/:id/returns", MANAGERS | STUDY_LIMITED, h_requests_returns,
	  BODY_JSON, &h_requests_returns_spec },

	/* the bench web page (api/static.c) */
	{ "GET", "/", ROLES_PUBLIC, h_static_index, BODY_NONE, NULL, QUERY_ANY },
	{ "GET", "/ui/*", ROLES_PUBLIC, h_static_file, BODY_NONE, NULL, QUERY_ANY },

	/* labels (api/labels.c) */
	{ "GET", "/api/v1/labels", (BENCH | R(ROLE_PRINTER)) | STUDY_LIMITED, h_labels_list,
	  BODY_NONE, NULL, "ids" },
	{ "GET", "/api/v1/specimens/:id/label.png", (READERS | R(ROLE_PRINTER)) | STUDY_LIMITED,
	  h_labels_preview_png, BODY_NONE, NULL, "template size dpi" },
	{ "GET", "/api/v1/specimens/:id/label.svg", (READERS | R(ROLE_PRINTER)) | STUDY_LIMITED,
	  h_labels_preview_svg, BODY_NONE, NULL, "template size dpi" },
	{ "POST", "/api/v1/specimens/:id/label-printed", (BENCH | R(ROLE_PRINTER)) | STUDY_LIMITED,
	  h_labels_printed, BODY_JSON, &h_labels_printed_spec },
	{ "POST", "/api/v1/print", BENCH | STUDY_LIMITED | LONG_WORK, h_labels_print, BODY_JSON,
	  &h_labels_print_spec },
	{ "GET", "/api/v1/print-jobs", BENCH | STUDY_LIMITED, h_print_jobs_list, BODY_NONE, NULL,
	  "state limit cursor" },
	{ "GET", "/api/v1/print-jobs/:id", BENCH | STUDY_LIMITED, h_sql, BODY_NONE, NULL, NULL,
	  SQL("bb_print_job_get", 200, ID(0, "print job"), STUDIES) },
	{ "POST", "/api/v1/print-jobs/:id/retry", BENCH | STUDY_LIMITED | LONG_WORK,
	  h_print_jobs_retry, BODY_NONE, NULL },
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

bool
route_open_before_password_change(const struct route *rt)
{
	return rt->handler == h_sessions_current || rt->handler == h_sessions_delete ||
	       rt->handler == h_sessions_password;
}

/* The declaration of name in rt->query ("name" or "name+"), or NULL. */
static const char *
query_declared(const struct route *rt, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = rt->query; p != NULL && *p != '\0';
	     p += strcspn(p, " "), p += *p == ' ')
		if (strncmp(p, name, n) == 0 &&
		    (p[n] == ' ' || p[n] == '\0' ||
		     (p[n] == '+' && (p[n + 1] == ' ' || p[n + 1] == '\0'))))
			return p;
	return NULL;
}

bool
route_reads_query(const struct route *rt, const char *name)
{
	return query_declared(rt, name) != NULL;
}

bool
route_query_repeats(const struct route *rt, const char *name)
{
	const char *p = query_declared(rt, name);

	return p != NULL && p[strlen(name)] == '+';
}

static const char *const role_names[ROLE__MAX] = {
	[ROLE_ADMIN] = "admin",     [ROLE_MANAGER] = "manager", [ROLE_TECHNICIAN] = "technician",
	[ROLE_AUDITOR] = "auditor", [ROLE_PRINTER] = "printer", [ROLE_RESEARCHER] = "researcher",
};

const char *
role_name(enum role r)
{
	return (unsigned)r < ROLE__MAX ? role_names[r] : "unknown";
}

int
role_parse(const char *name, enum role *out)
{
	for (int i = 0; i < ROLE__MAX; i++) {
		if (strcmp(name, role_names[i]) == 0) {
			*out = (enum role)i;
			return 0;
		}
	}
	return -1;
}
