/* router.c — the routing table: method, path pattern, roles, handler, body. */
#include "handlers.h"

#include <string.h>

#define ADMIN R(ROLE_ADMIN)

const struct route routes[] = {
	{ "GET", "/healthz", ROLES_PUBLIC, h_health_live, BODY_NONE, NULL },
	{ "GET", "/readyz", ROLES_PUBLIC, h_health_ready, BODY_NONE, NULL },
	{ "GET", "/metrics", ROLES_PUBLIC, h_health_metrics, BODY_NONE, NULL },

	{ "POST", "/api/v1/sessions", ROLES_PUBLIC, h_sessions_create, BODY_JSON,
	  &h_sessions_create_spec },
	{ "GET", "/api/v1/sessions/current", ROLES_ALL, h_sessions_current, BODY_NONE, NULL },
	{ "DELETE", "/api/v1/sessions/current", ROLES_ALL, h_sessions_delete, BODY_NONE, NULL },

	{ "POST", "/api/v1/users", ADMIN, h_users_create, BODY_JSON, &h_users_create_spec },
	{ "GET", "/api/v1/users", ADMIN, h_users_list, BODY_NONE, NULL },
	{ "POST", "/api/v1/tokens", ADMIN, h_tokens_create, BODY_JSON, &h_tokens_create_spec },
};

const size_t route_count = sizeof(routes) / sizeof(routes[0]);

/* Match one pattern; captured segments are copied into the arena. */
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
