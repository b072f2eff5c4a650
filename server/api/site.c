/*
 * site.c — GET /api/v1/site: the settings of this installation that a page
 * needs to show things as they are here (the site's time zone, the printers
 * it may print to), so that it never asks a feature whether it exists by
 * trying it. Read from the configuration loaded at start-up: no query.
 */
#include "api/api.h"
#include "api/printers.h"
#include "cmd/config.h"

#include <cjson/cJSON.h>

void
h_site(struct srv_req *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *printers = cJSON_AddArrayToObject(o, "printers");

	cJSON_AddStringToObject(o, "timezone", r->srv->cfg->timezone);
	for (size_t i = 0; i < srv_printers_count(r->srv->printers); i++)
		cJSON_AddItemToArray(printers,
		                     cJSON_CreateString(srv_printers_name(r->srv->printers, i)));
	reply_json(r, 200, o);
}

/*
 * GET /api/v1/site/sign-in, for anyone: how a person may sign in here, so
 * that the login page offers the hospital account's sign-in when, and only
 * when, this daemon has an OpenID provider for the page (as GET
 * /api/v1/oidc/login would take it).
 */
void
h_site_sign_in(struct srv_req *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "oidc",
	                      r->srv->oidc != NULL && r->srv->cfg->oidc_client_id != NULL);
	reply_json(r, 200, o);
}
