/*
 * route_doc.c — what routes[] does not say about a route's answers, for the
 * OpenAPI document (openapi.h): a handler's own success statuses, the media
 * types it answers with, and the error statuses beyond those its kind
 * implies. Only routes that differ from the defaults are listed. The API
 * tests check every answer they get against the document, so a status or
 * type missing here fails a test; route_doc_check() finds entries whose
 * route is gone.
 */
#include "http/openapi.h"

#include <string.h>

#define STATIC_MEDIA                                                                               \
	"text/html text/javascript text/css application/json image/svg+xml image/png "             \
	"image/x-icon text/plain application/manifest+json application/octet-stream"

static const struct route_doc docs[] = {
	{ "GET", "/readyz", NULL, NULL, "503" },
	{ "GET", "/metrics", NULL, "text/plain", NULL },
	/* 401 wrong password or disabled; 429 too many failures (sessions.c); a directory
	 * login: 403 in no mapped group or a name not usable, 409 the name is a local account's */
	{ "POST", "/api/v1/sessions", "201", NULL, "401 403 409 429" },
	{ "DELETE", "/api/v1/sessions/current", "204", NULL, NULL },
	/* 302 to the provider, or back to the page with a session (sso.c) */
	{ "GET", "/api/v1/oidc/login", "302", NULL, "404 503" },
	{ "GET", "/api/v1/oidc/callback", "302", NULL, "401 403 404 409 503" },
	/* 403 wrong current password; 429 too many failures, as at login */
	{ "PUT", "/api/v1/sessions/current/password", NULL, NULL, "429" },
	{ "POST", "/api/v1/users", "201", NULL, NULL },
	{ "POST", "/api/v1/tokens", "201", NULL, NULL },
	{ "POST", "/api/v1/participants", "201", NULL, NULL },
	{ "POST", "/api/v1/specimens", "201", NULL, NULL },
	{ "POST", "/api/v1/specimens/:id/aliquots", "201", NULL, NULL },
	{ "POST", "/api/v1/specimens/:id/derivatives", "201", NULL, NULL },
	{ "POST", "/api/v1/specimens/:id/label-printed", "201", NULL, NULL },
	{ "POST", "/api/v1/audits", "201", NULL, NULL },
	{ "POST", "/api/v1/locations", "201", NULL, NULL },
	{ "POST", "/api/v1/boxes", "201", NULL, NULL },
	/* 200: checked only; 201: committed. 413/422: too many rows, rows refused. */
	{ "POST", "/api/v1/imports", "200 201", NULL, NULL },
	/* 404: no signing key, no checkpoint yet, no such event; 409: not sequenced yet */
	{ "GET", "/api/v1/ledger/key", NULL, NULL, "404" },
	{ "GET", "/api/v1/ledger/checkpoint", NULL, NULL, "404" },
	{ "GET", "/api/v1/ledger/proof/inclusion", NULL, NULL, "404 409" },
	/* 404: a key or log this server does not have (witness.c) */
	{ "POST", "/api/v1/witness/checkpoints", NULL, NULL, "404" },
	/* 404: the location filtered on, or a tube listed, is not there */
	{ "GET", "/api/v1/boxes", NULL, NULL, "404" },
	{ "GET", "/api/v1/labels", NULL, NULL, "404" },
	{ "GET", "/api/v1/imports/template", NULL, "text/csv", NULL },
	{ "GET", "/api/v1/shipments/:id", NULL, "application/json text/csv", NULL },
	{ "GET", "/api/v1/specimens/:id/label.png", NULL, "image/png", NULL },
	{ "GET", "/api/v1/specimens/:id/label.svg", NULL, "image/svg+xml", NULL },
	{ "GET", "/api/v1/specimens/:id/fhir", NULL, "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/Specimen", NULL, "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/Specimen/:id", NULL, "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/metadata", NULL, "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/Patient/:id", NULL, "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/Location/:id", NULL, "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/ResearchStudy/:id", NULL, "application/fhir+json", NULL },
	/* FHIR Bulk Data (fhir_export.c): 202 kicked off, running, cancelled; 500 the job failed */
	{ "GET", "/api/v1/fhir/Group/:id", NULL, "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/Group/:id/$export", "202", "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/$export", "202", "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/bulk/:job", "200 202", "application/json application/fhir+json",
	  NULL },
	{ "DELETE", "/api/v1/fhir/bulk/:job", "202", "application/fhir+json", NULL },
	{ "GET", "/api/v1/fhir/bulk/:job/:type/:part", NULL, "application/fhir+ndjson", NULL },
	/* study protocols (protocols.c) */
	{ "GET", "/api/v1/studies/:code/completeness", NULL, "application/json text/csv", NULL },
	/* specimen requests (requests.c) */
	{ "POST", "/api/v1/requests", "201", NULL, NULL },
	{ "POST", "/api/v1/requests/:id/shipments", "201", NULL, NULL },
	{ "GET", "/api/v1/requests/:id/pick-list", NULL,
	  "application/json text/csv application/pdf", NULL },
	/* 202: queued for a printer that did not answer; 502: the printer refused;
	 * 503: the printer said it cannot print (paper out...), the job waits */
	{ "POST", "/api/v1/print", "200 202", NULL, "404 502 503" },
	{ "POST", "/api/v1/print-jobs/:id/retry", "200 202", NULL, "502 503" },
	/* temperatures, maintenance, evacuation (storage_care.c, temperatures.c) */
	{ "POST", "/api/v1/locations/:id/maintenance", "201", NULL, NULL },
	{ "GET", "/api/v1/locations/:id/evacuation", NULL, "application/json text/csv", NULL },
	/* The bench page: revalidated with If-None-Match (static.c). */
	{ "GET", "/", "200 304", "text/html", NULL },
	{ "GET", "/ui/*", "200 304", STATIC_MEDIA, NULL },
};

const struct route_doc *
route_doc_find(const struct route *rt)
{
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (strcmp(docs[i].method, rt->method) == 0 &&
		    strcmp(docs[i].pattern, rt->pattern) == 0)
			return &docs[i];
	return NULL;
}

int
route_doc_check(FILE *err)
{
	int problems = 0;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		bool found = false;

		for (size_t k = 0; k < route_count && !found; k++)
			found = strcmp(docs[i].method, routes[k].method) == 0 &&
			        strcmp(docs[i].pattern, routes[k].pattern) == 0;
		if (!found) {
			fprintf(err, "route_doc.c: %s %s is no route\n", docs[i].method,
			        docs[i].pattern);
			problems++;
		}
	}
	return problems;
}
