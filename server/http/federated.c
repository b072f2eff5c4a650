/* federated.c — federated accounts through the group map, and the login record. */
#include "http/federated.h"

#include "http/groupmap.h"
#include "http/log.h"
#include "http/reply.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* users.username's CHECK: a name the database would refuse is refused here, clearly. */
bool
username_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

void
login_record(struct srv_req *r, const char *username, const char *method, const char *outcome,
             const cJSON *detail)
{
	struct db_conn *db = r->db;
	char *d = detail != NULL ? cJSON_PrintUnformatted(detail) : NULL;
	const char *params[] = { username, method, r->client_addr, outcome, d };

	/* The request's answer stands whatever happens here: a missed record is logged. */
	if (db == NULL || db_exec(db, "db_login_record", 5, params, NULL) != BB_OK)
		log_warnx("login of \"%s\" (%s, %s) from %s not in the audit log", username, method,
		          outcome, r->client_addr);
	free(d);
}

enum bb_err
federated_login(struct srv_req *r, const struct fed_login *f, struct auth_user *u)
{
	const char *role, *studies, *group;
	char name[65];
	size_t i;

	for (i = 0; f->username != NULL && f->username[i] != '\0' && i < sizeof(name) - 1; i++)
		name[i] = (char)tolower((unsigned char)f->username[i]);
	name[i] = '\0';
	if (f->username == NULL || f->username[i] != '\0' || !username_valid(name)) {
		log_info("%s login refused: user name \"%.80s\" is not one this service takes",
		         f->method, f->username != NULL ? f->username : "");
		reply_problem_code(r, "username-invalid", NULL,
		                   "the provider's user name is missing or not made of lower case "
		                   "letters, digits, dot, dash and underscore (64 at most)");
		return BB_EINVAL;
	}
	if (req_db(r) == NULL)
		return BB_EDBDOWN;
	if (group_map_find(r->srv->groups, f->groups, f->ngroups, &role, &studies, &group) != 0) {
		login_record(r, name, f->method, "no-mapped-group", f->detail);
		reply_problem_code(r, "no-mapped-group", NULL,
		                   "%s is in none of the groups this service gives a role to "
		                   "(group_map)",
		                   name);
		return BB_EINVAL;
	}
	const char *params[] = { f->source, f->external_id, name, role, studies };
	PGresult *res = function_answer(r, "db_federated_login", 5, params);
	if (res == NULL) {
		login_record(r, name, f->method, "refused", f->detail);
		return BB_ECONFLICT;
	}
	cJSON *o = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	const cJSON *id = cJSON_GetObjectItem(o, "id");
	const char *uname = cJSON_GetStringValue(cJSON_GetObjectItem(o, "username"));
	const char *urole = cJSON_GetStringValue(cJSON_GetObjectItem(o, "role"));
	const char *ustudies = cJSON_GetStringValue(cJSON_GetObjectItem(o, "studies"));
	memset(u, 0, sizeof(*u));
	if (!cJSON_IsNumber(id) || uname == NULL || urole == NULL || ustudies == NULL ||
	    role_parse(urole, &u->role) != 0 || strlen(ustudies) >= sizeof(u->studies)) {
		cJSON_Delete(o);
		reply_problem(r, 500, NULL, "the account could not be read back");
		return BB_EINTERNAL;
	}
	u->id = (int64_t)id->valuedouble;
	snprintf(u->username, sizeof(u->username), "%s", uname);
	snprintf(u->studies, sizeof(u->studies), "%s", ustudies);
	bool disabled = cJSON_IsTrue(cJSON_GetObjectItem(o, "disabled"));
	cJSON_Delete(o);
	cJSON *detail = f->detail != NULL ? cJSON_Duplicate(f->detail, true) : cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "group", group);
	login_record(r, u->username, f->method, disabled ? "account-disabled" : "ok", detail);
	cJSON_Delete(detail);
	if (disabled) {
		memset(u, 0, sizeof(*u));
		reply_header(r, "WWW-Authenticate", "Bearer");
		reply_problem_code(r, "account-disabled", NULL,
		                   "this account is disabled here: an administrator can enable it");
		return BB_ECONFLICT;
	}
	return BB_OK;
}
