/*
 * openapi.h — the OpenAPI 3.1 description of the API, generated from the
 * routing table (router.c), the body field specs (json_spec.h) and the
 * table of problem codes (reply.c), so that it cannot drift from the code.
 * What those tables do not say (a handler's own success statuses, answer
 * media types, statuses beyond those every route of its kind can answer)
 * comes from route_doc.c, which a test keeps in step with routes[].
 */
#ifndef SRV_OPENAPI_H
#define SRV_OPENAPI_H

#include "http/router.h"

#include <stdio.h>

struct cJSON;
struct srv_req;

/* The whole document; the caller owns it (cJSON_Delete). Never NULL (aborts on OOM). */
struct cJSON *openapi_document(void);

/* GET /api/v1/openapi.json */
void h_openapi(struct srv_req *r);

/*
 * What routes[] cannot say about one route's answers (route_doc.c). Every
 * field is a space-separated list; NULL means the default written beside it.
 */
struct route_doc {
	const char *method, *pattern;
	const char *success; /* statuses of a success; NULL: the binding's, else "200" */
	const char *media;   /* media types of a 200/201/202; NULL: "application/json" */
	const char *errors;  /* statuses beyond those the route's kind implies (openapi.c) */
};

/* The route's entry, or NULL when the defaults hold. */
const struct route_doc *route_doc_find(const struct route *rt);

/* Entries naming no route (a route renamed or removed): print each to err, return how many. */
int route_doc_check(FILE *err);

#endif
