/*
 * api.h — the areas of the API: each file of server/api/ answers one area's
 * routes (its handlers' names start with h_) and prepares its statements
 * (<area>_statements, gathered in cmd/main.c). Routes that only call one SQL
 * function have no handler here: router.c binds them (http/bind.h).
 */
#ifndef SRV_API_H
#define SRV_API_H

#include "http/input.h"
#include "http/reply.h"

/* Each area's statements (NULL-terminated), prepared on every connection. */
extern const struct db_stmt audits_statements[], fhir_statements[], labels_statements[],
    participants_statements[], reports_statements[], shipments_statements[], specimens_statements[],
    specimens_csv_statements[], storage_statements[], ledger_statements[], witness_statements[],
    requests_statements[];

/* health.c */
void h_health_live(struct srv_req *r);
void h_health_ready(struct srv_req *r);
void h_health_metrics(struct srv_req *r);

/* site.c */
void h_site(struct srv_req *r);
void h_site_sign_in(struct srv_req *r);

/* sessions.c */
extern const struct bb_js_spec h_sessions_create_spec, h_sessions_password_spec;
void h_sessions_create(struct srv_req *r);
void h_sessions_password(struct srv_req *r);
void h_sessions_delete(struct srv_req *r);
void h_sessions_current(struct srv_req *r);
/* sso.c: the page's login through the OpenID provider */
void h_oidc_login(struct srv_req *r);
void h_oidc_callback(struct srv_req *r);

/* users.c */
extern const struct bb_js_spec h_users_create_spec;
extern const struct bb_js_spec h_tokens_create_spec;
extern const struct bb_js_spec h_users_password_spec;
void h_users_create(struct srv_req *r);
void h_users_list(struct srv_req *r);
void h_users_password(struct srv_req *r);
void h_users_end_sessions(struct srv_req *r);
void h_tokens_create(struct srv_req *r);
extern const struct bb_js_spec h_users_update_spec;
void h_users_update(struct srv_req *r);
void h_tokens_list(struct srv_req *r);
void h_tokens_revoke(struct srv_req *r);

/* participants.c */
extern const struct bb_js_spec h_studies_create_spec, h_participants_create_spec,
    h_consents_create_spec, h_specimen_types_create_spec;
void h_participants_create(struct srv_req *r);
void h_audit_log_list(struct srv_req *r);

/* specimens.c */
extern const struct bb_js_spec h_specimens_create_spec, h_specimens_aliquot_spec,
    h_specimens_derive_spec, h_specimens_store_spec, h_specimens_move_spec, h_specimens_return_spec,
    h_specimens_reason_spec, h_specimens_consume_spec, h_specimens_found_spec, h_boxes_place_spec;
void h_specimens_create(struct srv_req *r);
void h_specimens_list(struct srv_req *r);
void h_specimens_aliquot(struct srv_req *r);
void h_specimens_derive(struct srv_req *r);
void h_boxes_place(struct srv_req *r);

/* corrections.c: the bodies of the corrections (their routes are bound to SQL) */
extern const struct bb_js_spec h_specimens_correct_spec, h_participants_correct_spec;

/* storage.c */
extern const struct bb_js_spec h_locations_create_spec, h_boxes_create_spec;
void h_locations_create(struct srv_req *r);
void h_locations_list(struct srv_req *r);
void h_boxes_create(struct srv_req *r);
void h_boxes_free(struct srv_req *r);
void h_boxes_list(struct srv_req *r);
void h_scan(struct srv_req *r);
extern const struct bb_js_spec h_boxes_move_spec, h_boxes_rename_spec, h_box_moves_spec;
void h_boxes_rename(struct srv_req *r);
void h_box_moves(struct srv_req *r);

/* storage_plan.c: container rules, storage temperatures, capacity (issue 18) */
extern const struct bb_js_spec h_location_rules_put_spec, h_box_rules_put_spec,
    h_specimen_type_storage_spec;
void h_location_rules_put(struct srv_req *r);
void h_box_rules_put(struct srv_req *r);
void h_specimen_type_storage_put(struct srv_req *r);
void h_capacity_search(struct srv_req *r);
extern const struct bb_js_spec h_allocations_create_spec, h_allocations_accept_spec;
void h_allocations_create(struct srv_req *r);
void h_allocations_accept(struct srv_req *r);
/* storage_care.c, temperatures.c: temperatures, exposure, maintenance, evacuation (issue 18) */
extern const struct db_stmt storage_care_statements[], temperatures_statements[];
extern const struct bb_js_spec h_temperatures_post_spec, h_temperature_limit_spec,
    h_specimen_type_limits_spec, h_maintenance_create_spec, h_maintenance_done_spec,
    h_evacuate_spec;
void h_temperatures_post(struct srv_req *r);
void h_evacuation_get(struct srv_req *r);
void h_evacuate(struct srv_req *r);

/* tubes.c: pre-barcoded tubes */
extern const struct bb_js_spec h_specimens_barcode_spec;
void h_aliquots_rack(struct srv_req *r); /* the text/csv body of h_specimens_aliquot */
void h_specimens_barcode_set(struct srv_req *r);
/*
 * A manufacturer's tube barcode as given to a new tube: printable ASCII
 * without spaces (what a scanner reads), and not shaped like a specimen ID
 * (a scan would read it as one). The code, or NULL after adding a problem
 * naming field to errs.
 */
const char *tube_barcode_check(struct srv_req *r, const char *code, const char *field,
                               struct bb_js_errors *errs);

/* ledger.c */
void h_ledger_verify(struct srv_req *r);
void h_ledger_key(struct srv_req *r);
void h_ledger_checkpoint(struct srv_req *r);
void h_ledger_proof_inclusion(struct srv_req *r);
void h_ledger_proof_consistency(struct srv_req *r);
void h_specimens_history_bundle(struct srv_req *r);

/* witness.c */
extern const struct bb_js_spec h_witness_checkpoint_spec;
void h_witness_checkpoint(struct srv_req *r);

/* imports.c */
void h_imports_create(struct srv_req *r);
void h_imports_template(struct srv_req *r);

/* audits.c */
extern const struct bb_js_spec h_audits_create_spec, h_audits_scan_spec, h_audits_close_spec;
void h_audits_create(struct srv_req *r);
void h_audits_scan(struct srv_req *r);
void h_audits_close(struct srv_req *r);
void h_boxes_place_csv(struct srv_req *r); /* the text/csv body of h_boxes_place */
/* The request's rack-scanner file read against a rows x cols grid of rack (bb_rs_parse);
 * NULL after replying 400 with the parser's words. The caller bb_rs_free()s it. */
struct bb_rs_scan *rack_parse_body(struct srv_req *r, int rows, int cols, const char *rack);
/* Whether a box's grid fits what a rack scanner reads; otherwise replies 400. */
bool rack_grid_fits(struct srv_req *r, const char *box, int rows, int cols);

/* static.c */
void h_static_index(struct srv_req *r);
void h_static_file(struct srv_req *r);

/* labels.c */
extern const struct bb_js_spec h_labels_printed_spec, h_labels_print_spec;
void h_labels_list(struct srv_req *r);
void h_labels_preview_png(struct srv_req *r);
void h_labels_preview_svg(struct srv_req *r);
void h_labels_printed(struct srv_req *r);
void h_labels_print(struct srv_req *r);
void h_print_jobs_list(struct srv_req *r);
void h_print_jobs_retry(struct srv_req *r);

/* shipments.c, reports.c, fhir.c, specimens_csv.c */
extern const struct bb_js_spec h_shipments_create_spec, h_shipments_add_spec,
    h_shipments_receipt_spec, h_reports_destroy_spec;
void h_shipments_list(struct srv_req *r);
void h_shipments_get(struct srv_req *r);
void h_shipments_add(struct srv_req *r);
void h_shipments_remove(struct srv_req *r);
void h_reports_occupancy(struct srv_req *r);
void h_reports_destroy(struct srv_req *r);
void h_fhir_specimen_get(struct srv_req *r);
void h_fhir_specimen_search(struct srv_req *r);
void h_specimens_csv(struct srv_req *r); /* GET /api/v1/specimens with Accept: text/csv */

/* requests.c: the catalogue, specimen requests, the MIABIS report (docs/api-requests.md) */
extern const struct bb_js_spec h_requests_create_spec, h_requests_reason_spec,
    h_requests_reject_spec, h_requests_add_spec, h_requests_ship_spec, h_requests_returns_spec,
    h_requests_pick_spec, h_studies_last_aliquot_spec;
/* Counts below n are shown as "<n" (config small_cell_min); called once at start-up. */
void requests_set_small_cell_min(unsigned n);
void h_catalogue(struct srv_req *r);
void h_reports_miabis(struct srv_req *r);
void h_requests_create(struct srv_req *r);
void h_requests_add(struct srv_req *r);
void h_requests_drop(struct srv_req *r);
void h_requests_ship(struct srv_req *r);
void h_requests_returns(struct srv_req *r);
void h_requests_pick(struct srv_req *r);
void h_requests_pick_list(struct srv_req *r);

/* The list filters of GET /api/v1/specimens (study, participant, type, timepoint,
 * status, box, include_in_error, location — a whole subtree (issue 18) — and the
 * sprec_* filters as one JSON object; NULL when absent), shared by its JSON and CSV
 * answers. Returns false after answering 400. */
enum { SPECIMEN_FILTERS = 9 };
bool specimen_list_filters(struct srv_req *r, const char *filters[SPECIMEN_FILTERS]);

/* protocols.c: study protocols, timepoint mappings, visits, completeness, SPREC */
extern const struct db_stmt protocols_statements[];
extern const struct bb_js_spec h_protocol_put_spec, h_timepoints_map_spec, h_visit_set_spec,
    h_enrolment_spec;
void h_protocol_put(struct srv_req *r);
void h_timepoints_map(struct srv_req *r);
void h_completeness(struct srv_req *r);
/* The sprec_* query parameters of the specimen list as the JSON object bb_sprec_matches
 * reads, in *out (NULL when none was given); false after answering 400. */
bool sprec_filter(struct srv_req *r, const char **out);

#endif
