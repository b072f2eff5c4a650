/*
 * fhir.h — what the FHIR R4 routes share beyond their handlers (api.h):
 * the CapabilityStatement, and errors as OperationOutcome resources.
 */
#ifndef SRV_API_FHIR_H
#define SRV_API_FHIR_H

#include "db/db.h"
#include "http/router.h"

#include <stdio.h>

struct srv_req;

/* GET /api/v1/fhir/metadata: the CapabilityStatement, made from routes[] (fhir_metadata.c). */
void h_fhir_metadata(struct srv_req *r);

/* GET /api/v1/fhir/Patient/:id: a participant as a pseudonymous Patient (fhir.c). */
void h_fhir_patient_get(struct srv_req *r);
/* GET /api/v1/fhir/Location/:id and /api/v1/fhir/ResearchStudy/:id (fhir.c). */
void h_fhir_location_get(struct srv_req *r);
void h_fhir_research_study_get(struct srv_req *r);

/* GET /api/v1/fhir/Group/:id: a study's participants as a pseudonymous Group (fhir_export.c). */
void h_fhir_group_get(struct srv_req *r);

/*
 * FHIR Bulk Data export (fhir_export.c): the kick-offs (GET .../$export,
 * Prefer: respond-async), the job's status (GET /api/v1/fhir/bulk/:job),
 * its cancellation (DELETE) and its NDJSON files (GET .../:job/:type/:part).
 */
void h_fhir_export_system(struct srv_req *r);
void h_fhir_export_group(struct srv_req *r);
void h_fhir_export_status(struct srv_req *r);
void h_fhir_export_delete(struct srv_req *r);
void h_fhir_export_file(struct srv_req *r);
extern const struct db_stmt fhir_export_statements[];

/* The absolute base URL (scheme://host) for fullUrl, links and export URLs (fhir.c). */
const char *fhir_base_url(struct srv_req *r);

/* Whether rt is one of the FHIR routes: its errors are OperationOutcome resources. */
bool fhir_route(const struct route *rt);

/*
 * A FHIR route's problem+json answer, rewritten as the OperationOutcome a
 * FHIR client reads (fhir_outcome.c): one issue per error, the problem's
 * code kept as details.coding (system urn:biobank:problem) so that clients
 * still switch on it. Any other answer is left as it is.
 */
void fhir_outcome_apply(struct srv_req *r);

/*
 * The search parameters of FHIR Specimen search as the CapabilityStatement
 * lists them; every one the route declares must have an entry: print each
 * missing to err and return how many.
 */
int fhir_search_params_check(FILE *err);

#endif
