/*
 * fhir_metadata.c — GET /api/v1/fhir/metadata, the CapabilityStatement
 * (fhir.h). The resources and interactions come from the FHIR routes of
 * routes[], the search parameters from the query list the search route
 * declares (the dispatcher refuses any other), described by the table below.
 */
#include "api/fhir.h"

#include "api/api.h"
#include "cmd/config.h"
#include "http/server.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *name, *type, *definition, *doc;
} search_params[] = {
	{ "subject", "reference", "http://hl7.org/fhir/SearchParameter/Specimen-subject",
	  "The participant as STUDY/CODE, e.g. MASC/P001 (pseudonymous)." },
	{ "patient", "reference", "http://hl7.org/fhir/SearchParameter/clinical-patient",
	  "The Patient as Patient/ID or ID (Specimen.subject.reference)." },
	{ "type", "token", "http://hl7.org/fhir/SearchParameter/Specimen-type",
	  "Our type code, urn:biobank:specimen-type|code, or http://snomed.info/sct|code." },
	{ "status", "token", "http://hl7.org/fhir/SearchParameter/Specimen-status",
	  "available, unavailable, unsatisfactory or entered-in-error." },
	{ "collected", "date", "http://hl7.org/fhir/SearchParameter/Specimen-collected",
	  "A date (a whole UTC day) or date-time, with an optional prefix eq, gt, ge, lt or le." },
	{ "identifier", "token", "http://hl7.org/fhir/SearchParameter/clinical-identifier",
	  "The specimen ID, alone or as urn:biobank:specimen|ID." },
	{ "container-id", "token", "http://hl7.org/fhir/SearchParameter/Specimen-container-id",
	  "The tube barcode, alone or as urn:biobank:tube-barcode|barcode." },
	{ "include_in_error", "token", NULL,
	  "true: specimens entered in error are searched too; true or false." },
	{ "_count", "number", NULL, "Page size, 1 to 1000 (default 50)." },
	{ "_cursor", "special", NULL, "Continuation, as given in a Bundle's next link." },
};

static const struct route *
route_of(handler_fn h)
{
	for (size_t i = 0; i < route_count; i++)
		if (routes[i].handler == h)
			return &routes[i];
	return NULL;
}

static bool
param_entry(const char *name, size_t len, size_t *at)
{
	if (len > 0 && name[len - 1] == '+') /* may be given more than once (router.h) */
		len--;
	for (size_t i = 0; i < sizeof(search_params) / sizeof(search_params[0]); i++)
		if (strlen(search_params[i].name) == len &&
		    strncmp(search_params[i].name, name, len) == 0) {
			*at = i;
			return true;
		}
	return false;
}

int
fhir_search_params_check(FILE *err)
{
	const struct route *rt = route_of(h_fhir_specimen_search);
	int problems = 0;
	size_t at;

	for (const char *q = rt != NULL && rt->query != NULL ? rt->query : ""; *q != '\0';) {
		size_t n = strcspn(q, " ");
		if (!param_entry(q, n, &at)) {
			fprintf(err, "fhir_metadata.c: search parameter %.*s is not described\n",
			        (int)n, q);
			problems++;
		}
		q += n;
		q += *q == ' ';
	}
	return problems;
}

/* An operation (FHIR Bulk Data's $export) on a resource or the whole server. */
static void
add_operation(cJSON *on, const char *name, const char *definition)
{
	cJSON *op = cJSON_CreateObject();

	cJSON_AddStringToObject(op, "name", name);
	cJSON_AddStringToObject(op, "definition", definition);
	cJSON *ops = cJSON_GetObjectItem(on, "operation");
	if (ops == NULL)
		ops = cJSON_AddArrayToObject(on, "operation");
	cJSON_AddItemToArray(ops, op);
}

void
h_fhir_metadata(struct srv_req *r)
{
	cJSON *cs = cJSON_CreateObject();
	char date[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(cs, "resourceType", "CapabilityStatement");
	cJSON_AddStringToObject(cs, "status", "active");
	cJSON_AddStringToObject(cs, "date", date);
	cJSON_AddStringToObject(cs, "publisher", "biobankd");
	cJSON_AddStringToObject(cs, "kind", "instance");
	cJSON *sw = cJSON_AddObjectToObject(cs, "software");
	cJSON_AddStringToObject(sw, "name", "biobankd");
	cJSON_AddStringToObject(sw, "version", BB_VERSION);
	cJSON *impl = cJSON_AddObjectToObject(cs, "implementation");
	cJSON_AddStringToObject(impl, "description",
	                        "Read-only FHIR R4 views of a biobank's specimens (docs/fhir.md)");
	cJSON_AddStringToObject(cs, "fhirVersion", "4.0.1");
	if (route_of(h_fhir_export_system) != NULL)
		cJSON_AddItemToArray(
		    cJSON_AddArrayToObject(cs, "instantiates"),
		    cJSON_CreateString(
		        "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"));
	cJSON *fmt = cJSON_AddArrayToObject(cs, "format");
	cJSON_AddItemToArray(fmt, cJSON_CreateString("application/fhir+json"));

	cJSON *rest = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(cs, "rest"), rest);
	cJSON_AddStringToObject(rest, "mode", "server");
	cJSON_AddStringToObject(
	    rest, "documentation",
	    "Errors are OperationOutcome resources; issue.details.coding (system "
	    "urn:biobank:problem) carries the API's problem code. A search parameter not "
	    "listed here is refused with 400, never ignored.");
	cJSON *sec = cJSON_AddObjectToObject(rest, "security");
	cJSON_AddStringToObject(sec, "description",
	                        "Authorization: Bearer, a session token (POST /api/v1/sessions) "
	                        "or a service token; results are limited to the caller's studies.");
	cJSON *res = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(rest, "resource"), res);
	cJSON_AddStringToObject(res, "type", "Specimen");
	cJSON_AddStringToObject(res, "profile", "http://hl7.org/fhir/StructureDefinition/Specimen");
	cJSON *inter = cJSON_AddArrayToObject(res, "interaction");
	const struct route *search = route_of(h_fhir_specimen_search);
	for (int k = 0; k < 2; k++) {
		if ((k == 0 ? route_of(h_fhir_specimen_get) : search) == NULL)
			continue;
		cJSON *i = cJSON_CreateObject();
		cJSON_AddStringToObject(i, "code", k == 0 ? "read" : "search-type");
		cJSON_AddItemToArray(inter, i);
	}
	cJSON_AddStringToObject(res, "versioning", "no-version");
	cJSON_AddFalseToObject(res, "readHistory");
	/* The resources served by read only. */
	static const struct {
		handler_fn read;
		const char *type, *doc;
	} reads[] = {
		{ h_fhir_patient_get, "Patient",
		  "Pseudonymous: the id and identifier STUDY/CODE only." },
		{ h_fhir_location_get, "Location",
		  "The storage locations: sites, rooms, freezers." },
		{ h_fhir_research_study_get, "ResearchStudy", "The studies, within the caller's." },
		{ h_fhir_group_get, "Group",
		  "A study's participants (the id is the study's), members as Patient references "
		  "only; Group/{id}/$export exports them." },
	};
	for (size_t k = 0; k < sizeof(reads) / sizeof(reads[0]); k++) {
		if (route_of(reads[k].read) == NULL)
			continue;
		char profile[96];
		snprintf(profile, sizeof(profile), "http://hl7.org/fhir/StructureDefinition/%s",
		         reads[k].type);
		cJSON *rr = cJSON_CreateObject();
		cJSON_AddStringToObject(rr, "type", reads[k].type);
		cJSON_AddStringToObject(rr, "profile", profile);
		cJSON_AddStringToObject(rr, "documentation", reads[k].doc);
		cJSON *read = cJSON_CreateObject();
		cJSON_AddStringToObject(read, "code", "read");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(rr, "interaction"), read);
		cJSON_AddStringToObject(rr, "versioning", "no-version");
		if (reads[k].read == h_fhir_group_get && route_of(h_fhir_export_group) != NULL)
			add_operation(
			    rr, "export",
			    "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export");
		cJSON_AddItemToArray(cJSON_GetObjectItem(rest, "resource"), rr);
	}
	if (route_of(h_fhir_export_system) != NULL)
		add_operation(rest, "export",
		              "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export");
	cJSON *sp = cJSON_AddArrayToObject(res, "searchParam");
	for (const char *q = search != NULL && search->query != NULL ? search->query : "";
	     *q != '\0';) {
		size_t n = strcspn(q, " "), at;
		if (param_entry(q, n, &at)) {
			cJSON *p = cJSON_CreateObject();
			cJSON_AddStringToObject(p, "name", search_params[at].name);
			if (search_params[at].definition != NULL)
				cJSON_AddStringToObject(p, "definition",
				                        search_params[at].definition);
			cJSON_AddStringToObject(p, "type", search_params[at].type);
			cJSON_AddStringToObject(p, "documentation", search_params[at].doc);
			cJSON_AddItemToArray(sp, p);
		}
		q += n;
		q += *q == ' ';
	}
	char *text = cJSON_PrintUnformatted(cs);
	cJSON_Delete(cs);
	if (text == NULL)
		abort();
	reply_raw(r, 200, "application/fhir+json; fhirVersion=4.0", text, strlen(text));
}
