/* fhir_outcome.c — a FHIR route's errors as OperationOutcome resources (fhir.h). */
#include "api/fhir.h"

#include "api/api.h"
#include "http/server.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define FHIR_MEDIA_TYPE "application/fhir+json; fhirVersion=4.0"

bool
fhir_route(const struct route *rt)
{
	return rt != NULL &&
	       (rt->handler == h_fhir_specimen_get || rt->handler == h_fhir_specimen_search ||
	        rt->handler == h_fhir_metadata || rt->handler == h_fhir_patient_get ||
	        rt->handler == h_fhir_location_get || rt->handler == h_fhir_research_study_get ||
	        rt->handler == h_fhir_group_get || rt->handler == h_fhir_export_system ||
	        rt->handler == h_fhir_export_group || rt->handler == h_fhir_export_status ||
	        rt->handler == h_fhir_export_delete || rt->handler == h_fhir_export_file);
}

/* FHIR's IssueType for an HTTP status (http://hl7.org/fhir/issue-type). */
static const char *
issue_type(unsigned status)
{
	switch (status) {
	case 401:
		return "login";
	case 403:
		return "forbidden";
	case 404:
		return "not-found";
	case 409:
		return "conflict";
	case 413:
	case 414:
		return "too-costly";
	case 415:
		return "not-supported";
	case 429:
		return "throttled";
	case 503:
		return "transient";
	default:
		return status >= 500 ? "exception" : "invalid";
	}
}

static cJSON *
issue_new(cJSON *issues, unsigned status, const char *code, const char *title,
          const char *diagnostics)
{
	cJSON *is = cJSON_CreateObject();

	cJSON_AddStringToObject(is, "severity", status >= 500 ? "fatal" : "error");
	cJSON_AddStringToObject(is, "code", issue_type(status));
	cJSON *details = cJSON_AddObjectToObject(is, "details");
	cJSON *coding = cJSON_CreateObject();
	cJSON_AddStringToObject(coding, "system", "urn:biobank:problem");
	cJSON_AddStringToObject(coding, "code", code);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(details, "coding"), coding);
	if (title != NULL && *title != '\0')
		cJSON_AddStringToObject(details, "text", title);
	/* FHIR strings are never empty (ele-1). */
	if (diagnostics != NULL && *diagnostics != '\0')
		cJSON_AddStringToObject(is, "diagnostics", diagnostics);
	cJSON_AddItemToArray(issues, is);
	return is;
}

void
fhir_outcome_apply(struct srv_req *r)
{
	if (!fhir_route(r->route) || r->status < 400 || r->resp_body == NULL ||
	    r->resp_type == NULL || strcmp(r->resp_type, "application/problem+json") != 0)
		return;
	cJSON *p = cJSON_ParseWithLength(r->resp_body, r->resp_len);
	const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "code"));
	if (code == NULL) {
		cJSON_Delete(p);
		return;
	}
	const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "title"));
	const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail"));
	cJSON *o = cJSON_CreateObject(), *issues;

	cJSON_AddStringToObject(o, "resourceType", "OperationOutcome");
	issues = cJSON_AddArrayToObject(o, "issue");
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(p, "errors"), *e;
	cJSON_ArrayForEach(e, errs)
	{
		const char *field = cJSON_GetStringValue(cJSON_GetObjectItem(e, "field"));
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
		const char *ecode = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
		struct bb_buf b = { 0 };

		bb_buf_printf(&b, "%s %s", field != NULL ? field : "", msg != NULL ? msg : "");
		issue_new(issues, r->status, ecode != NULL ? ecode : code, title, b.data);
		bb_buf_free(&b);
	}
	if (cJSON_GetArraySize(issues) == 0)
		issue_new(issues, r->status, code, title, detail);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	cJSON_Delete(p);
	if (text == NULL)
		abort();
	free(r->resp_body);
	r->resp_body = text;
	r->resp_len = strlen(text);
	r->resp_type = FHIR_MEDIA_TYPE;
}
