/*
 * test_sso.c — single sign-on (issue 20) against a real OpenID provider
 * (oidc-provider, tests/sso/provider.mjs) and a real LDAP directory
 * (slapd), both started here on loopback in a temporary folder.
 *
 * From what people and scripts do: a technician logs in on the page through
 * the hospital's provider (the whole code flow, driven here with the
 * browser's cookies); the provider's answer is replayed, or carried to
 * another browser; someone in no mapped group, and a provider account named
 * like the local break-glass admin, try to get in; a script calls the API
 * with the provider's access tokens; the person's groups change at the
 * provider, and the next token carries the new role; the person is disabled
 * at the provider and gets no next token; an admin here disables a
 * federated account; the provider rotates its RSA key, then signs with an
 * ES256 key; tokens with made-up key ids arrive in a burst; expired, not yet
 * valid, wrong-audience, other-issuer, unsigned, HMAC-with-the-public-key
 * and tampered tokens are sent. Then LDAP: a bind with groups, a wrong
 * password, a group change in the directory, the directory down (local
 * accounts still log in), and TLS refused to be skipped outside loopback.
 * Every login is looked for in the audit log.
 *
 * usage: test_sso BIOBANKD SSO_SOURCE_DIR
 * Skips (77) without node, tests/sso/node_modules or slapd.
 */
#include "../api/testlib.h"
#include "biobank.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct tenv t;
static struct daemon d2;
static char dir[64];
static const char *srcdir;

/* A process of ours (provider, slapd), stopped by its id. */
static pid_t
spawn(const char *const *argv, const char *logfile)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* Gone with the test even when it dies (a sanitizer's abort skips the cleanup). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		FILE *f = fopen(logfile, "w");
		if (f != NULL) {
			dup2(fileno(f), 1);
			dup2(fileno(f), 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void
stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* Wait until logfile holds needle (the process said it serves). */
static bool
wait_for(const char *logfile, const char *needle, int timeout_ms)
{
	for (long long end = mono_ms() + timeout_ms; mono_ms() < end; msleep(100)) {
		char *text = NULL;
		FILE *f = fopen(logfile, "r");
		if (f == NULL)
			continue;
		size_t cap = 0;
		ssize_t n = getdelim(&text, &cap, '\0', f);
		fclose(f);
		bool found = n > 0 && strstr(text, needle) != NULL;
		free(text);
		if (found)
			return true;
	}
	return false;
}

/* A browser: one curl handle with its cookies, redirects followed by hand. */
struct page {
	long status;
	char location[4096];
	struct bb_buf body;
};

static size_t
on_body(char *p, size_t s, size_t n, void *arg)
{
	bb_buf_append(arg, p, s * n);
	return s * n;
}

static size_t
on_header(char *p, size_t s, size_t n, void *arg)
{
	struct page *pg = arg;

	if (s * n > 9 && strncasecmp(p, "Location:", 9) == 0) {
		const char *v = p + 9;
		while (*v == ' ')
			v++;
		snprintf(pg->location, sizeof(pg->location), "%.*s", (int)strcspn(v, "\r\n"), v);
	}
	return s * n;
}

static CURL *
browser(void)
{
	CURL *h = curl_easy_init();

	curl_easy_setopt(h, CURLOPT_COOKIEFILE, ""); /* the cookie engine, in memory */
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	return h;
}

/* One request; form: POST it (urlencoded), else GET. */
static long
fetch(CURL *h, const char *url, const char *form, struct page *pg)
{
	bb_buf_free(&pg->body);
	pg->location[0] = '\0';
	pg->status = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &pg->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, pg);
	if (form != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &pg->status);
	return pg->status;
}

/* url's origin ("http://127.0.0.1:PORT") joined with a Location that is a path. */
static void
absolute(const char *base, const char *loc, char *out, size_t n)
{
	if (loc[0] != '/') {
		snprintf(out, n, "%s", loc);
		return;
	}
	const char *p = strstr(base, "://");
	size_t origin = p != NULL ? (size_t)(strchr(p + 3, '/') ? strchr(p + 3, '/') - base
	                                                        : (long)strlen(base))
	                          : 0;
	snprintf(out, n, "%.*s%s", (int)origin, base, loc);
}

/*
 * Follow redirects from url until an answer that is not one (the login
 * page of the provider, a problem), or a Location beginning with stop
 * (not fetched). The last URL in cur.
 */
static long
walk(CURL *h, const char *url, const char *stop_at, struct page *pg, char *cur, size_t curlen)
{
	snprintf(cur, curlen, "%s", url);
	for (int i = 0; i < 12; i++) {
		fetch(h, cur, NULL, pg);
		if (pg->status < 300 || pg->status >= 400 || pg->location[0] == '\0')
			return pg->status;
		char next[4096];
		absolute(cur, pg->location, next, sizeof(next));
		if (stop_at != NULL && strncmp(next, stop_at, strlen(stop_at)) == 0) {
			snprintf(cur, curlen, "%s", next);
			return pg->status;
		}
		snprintf(cur, curlen, "%s", next);
	}
	return pg->status;
}

/* At the provider's login page: post the person's name and password, then follow on. */
static long
provider_login(CURL *h, const char *interaction_url, const char *user, const char *pw,
               const char *stop_at, struct page *pg, char *cur, size_t curlen)
{
	char url[4200], form[256];

	snprintf(url, sizeof(url), "%s/login", interaction_url);
	snprintf(form, sizeof(form), "username=%s&password=%s", user, pw);
	if (fetch(h, url, form, pg) != 303)
		return pg->status;
	char next[4096];
	absolute(interaction_url, pg->location, next, sizeof(next));
	return walk(h, next, stop_at, pg, cur, curlen);
}

static char issuer[64], issuer_b[64], callback[128];
static pid_t prov_a, prov_b, slapd;

/*
 * The page's login as user: GET /api/v1/oidc/login, the provider's login
 * page, its redirect back. The session token (from the final Location's
 * fragment) in token, or "" and the last answer in pg.
 */
static long
page_login(CURL *h, const char *user, const char *pw, char token[128], struct page *pg)
{
	char url[256], cur[4096];

	token[0] = '\0';
	snprintf(url, sizeof(url), "%s/api/v1/oidc/login", d2.url);
	if (walk(h, url, NULL, pg, cur, sizeof(cur)) != 200 || strstr(cur, "/interaction/") == NULL)
		return -1;
	char inter[4096];
	snprintf(inter, sizeof(inter), "%.*s", (int)strcspn(cur, "?"), cur);
	long st = provider_login(h, inter, user, pw, callback, pg, cur, sizeof(cur));
	if (st != 303 && st != 302)
		return st;
	/* The provider sends the browser back to the daemon's callback. */
	fetch(h, cur, NULL, pg);
	const char *frag = strstr(pg->location, "#session=");
	if (pg->status == 302 && frag != NULL)
		snprintf(token, 128, "%s", frag + 9);
	return pg->status;
}

/* A request with a bearer token of any length (testlib's header line is shorter than JWTs). */
static long
bearer(const char *token, const char *path, struct resp *r)
{
	char *auth = bb_asprintf("Authorization: Bearer %s", token != NULL ? token : "");
	const char *headers[] = { auth, NULL };

	http_h(d2.url, "GET", path, NULL, NULL, NULL, 0, headers, r);
	free(auth);
	return r->status;
}

static bool
has_code(const struct resp *r, long status, const char *code)
{
	bool good = r->status == status && jstr(r, "code") && strcmp(jstr(r, "code"), code) == 0;

	if (!good)
		tap_diag("  want %ld %s, got %ld %s", status, code, r->status,
		         r->body ? r->body : "");
	return good;
}

/* The detail of a problem, or "". */
static const char *
detail(const struct resp *r)
{
	return jstr(r, "detail") ? jstr(r, "detail") : "";
}

static long
audit_logins(const char *user, const char *method, const char *outcome)
{
	return sql_intf(&t,
	                "SELECT count(*) FROM audit_log WHERE entity = 'login' AND entity_id = '%s'"
	                " AND after->>'method' = '%s' AND after->>'outcome' = '%s'",
	                user, method, outcome);
}

/* A call to a provider's test routes (never through http(): its answers are not ours to
 * check against the daemon's OpenAPI document). The body, malloc'd. */
static char *
provider_json(const char *base, const char *path, const char *json)
{
	char url[256];
	struct page pg = { 0 };
	CURL *h = browser();

	snprintf(url, sizeof(url), "%s%s", base, path);
	fetch(h, url, json, &pg);
	curl_easy_cleanup(h);
	char *out = bb_strdup(pg.body.data != NULL ? pg.body.data : "");
	bb_buf_free(&pg.body);
	return out;
}

/* A token the provider signs with chosen claims (provider.mjs /test/sign). */
static char *
signed_token(const char *base, const char *json)
{
	char *text = provider_json(base, "/test/sign", json);
	cJSON *o = cJSON_Parse(text);
	const char *tok = cJSON_GetStringValue(cJSON_GetObjectItem(o, "token"));
	char *out = bb_strdup(tok != NULL ? tok : "");

	cJSON_Delete(o);
	free(text);
	return out;
}

static long
jwks_fetches(void)
{
	char *text = provider_json(issuer, "/test/jwks-fetches", NULL);
	cJSON *o = cJSON_Parse(text);
	const cJSON *n = cJSON_GetObjectItem(o, "count");
	long count = cJSON_IsNumber(n) ? (long)n->valuedouble : -1;

	cJSON_Delete(o);
	free(text);
	return count;
}

/*
 * A script's tokens, as a site would have a person authorize it once: the
 * code flow of the public client "script" with PKCE, resource urn:biobank
 * and offline_access; the access token (a JWT for this service) and the
 * refresh token from the provider's token endpoint.
 */
static bool
script_tokens(const char *user, const char *pw, char **access, char **refresh)
{
	static const char verifier[] = "a-verifier-of-forty-three-characters-or-more-0123";
	/* base64url(SHA-256(verifier)), computed by the provider's rules below */
	unsigned char digest[32];
	char challenge[64], url[1024], cur[4096];
	struct page pg = { 0 };
	CURL *h = browser();
	bool good = false;

	*access = *refresh = NULL;
	/* SHA-256 through the daemon's own dependency would be circular: ask node. */
	const char *argv[] = { "/usr/bin/env",
		               "node",
		               "-e",
		               "process.stdout.write(require('crypto').createHash('sha256')"
		               ".update(process.argv[1]).digest('base64url'))",
		               verifier,
		               NULL };
	char *out = NULL;
	if (run_cmd(argv, NULL, NULL, &out) != 0 || out == NULL)
		goto done;
	snprintf(challenge, sizeof(challenge), "%s", out);
	free(out);
	(void)digest;
	snprintf(
	    url, sizeof(url),
	    "%s/auth?client_id=script&response_type=code&redirect_uri=http%%3A%%2F%%2F127.0.0.1"
	    "%%2Fcb&scope=openid%%20offline_access&prompt=consent&resource=urn%%3Abiobank"
	    "&code_challenge=%s&code_challenge_method=S256",
	    issuer, challenge);
	if (walk(h, url, NULL, &pg, cur, sizeof(cur)) != 200 ||
	    strstr(cur, "/interaction/") == NULL)
		goto done;
	char inter[4096];
	snprintf(inter, sizeof(inter), "%.*s", (int)strcspn(cur, "?"), cur);
	provider_login(h, inter, user, pw, "http://127.0.0.1/cb", &pg, cur, sizeof(cur));
	const char *code = strstr(cur, "code=");
	if (code == NULL)
		goto done;
	char form[1024];
	snprintf(
	    form, sizeof(form),
	    "grant_type=authorization_code&client_id=script&code=%.*s&redirect_uri=http%%3A%%2F%%2F"
	    "127.0.0.1%%2Fcb&code_verifier=%s&resource=urn%%3Abiobank",
	    (int)strcspn(code + 5, "&"), code + 5, verifier);
	snprintf(url, sizeof(url), "%s/token", issuer);
	fetch(h, url, form, &pg);
	cJSON *o = cJSON_Parse(pg.body.data != NULL ? pg.body.data : "");
	const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(o, "access_token"));
	const char *rt = cJSON_GetStringValue(cJSON_GetObjectItem(o, "refresh_token"));
	if (a != NULL && rt != NULL) {
		*access = bb_strdup(a);
		*refresh = bb_strdup(rt);
		good = true;
	} else {
		tap_diag("  token endpoint: %ld %s", pg.status, pg.body.data ? pg.body.data : "");
	}
	cJSON_Delete(o);
done:
	bb_buf_free(&pg.body);
	curl_easy_cleanup(h);
	return good;
}

/* The next access token from a refresh token: NULL when the provider refuses (*status). */
static char *
refreshed(const char *refresh, long *status)
{
	char url[256], form[1024];
	struct page pg = { 0 };
	CURL *h = browser();
	char *out = NULL;

	snprintf(url, sizeof(url), "%s/token", issuer);
	snprintf(
	    form, sizeof(form),
	    "grant_type=refresh_token&client_id=script&refresh_token=%s&resource=urn%%3Abiobank",
	    refresh);
	*status = fetch(h, url, form, &pg);
	cJSON *o = cJSON_Parse(pg.body.data != NULL ? pg.body.data : "");
	const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(o, "access_token"));
	if (a != NULL)
		out = bb_strdup(a);
	cJSON_Delete(o);
	bb_buf_free(&pg.body);
	curl_easy_cleanup(h);
	return out;
}

static void
set_accounts(const char *json)
{
	free(provider_json(issuer, "/test/accounts", json));
}

#define ACCOUNTS_FMT                                                                               \
	"{\"alice\":{\"password\":\"alice-pw\",\"groups\":[\"bb-admins\"]},"                       \
	"\"tom\":{\"password\":\"tom-pw\",\"groups\":[%s],\"disabled\":%s},"                       \
	"\"rita\":{\"password\":\"rita-pw\",\"groups\":[\"staff\",\"masc-readers\"]},"             \
	"\"nobody\":{\"password\":\"nobody-pw\",\"groups\":[\"visitors\"]},"                       \
	"\"admin\":{\"password\":\"x-pw\",\"groups\":[\"bb-admins\"]}}"

static void
accounts(const char *tom_groups, bool tom_disabled)
{
	char json[1024];

	snprintf(json, sizeof(json), ACCOUNTS_FMT, tom_groups, tom_disabled ? "true" : "false");
	set_accounts(json);
}

static void
page_flow(void)
{
	struct page pg = { 0 };
	char tok[128];
	struct resp r;
	CURL *h = browser();

	long st = page_login(h, "alice", "alice-pw", tok, &pg);
	ok(st == 302 && strncmp(tok, "bb_", 3) == 0,
	   "alice logs in on the page through the provider: 302 to the page with a session (%ld)",
	   st);
	bearer(tok, "/api/v1/sessions/current", &r);
	is_str(jstr(&r, "user.username"), "alice", "  the session is alice's");
	is_str(jstr(&r, "user.role"), "admin", "  with the role of her group bb-admins");
	resp_free(&r);
	is_int(audit_logins("alice", "oidc", "ok"), 1, "  the login is in the audit log");
	ok(strncmp(pg.location, "/#session=", 10) == 0, "  back to the page it began from (%s)",
	   strncmp(pg.location, "/#", 2) == 0 ? "/#session=..." : pg.location);
	is_int(sql_int(&t, "SELECT count(*) FROM oidc_logins"), 0,
	       "  the login under way is used up");
	curl_easy_cleanup(h);

	/* The provider's answer carried to another browser, then replayed in the first. */
	h = browser();
	char url[256], cur[4096];
	snprintf(url, sizeof(url), "%s/api/v1/oidc/login", d2.url);
	walk(h, url, NULL, &pg, cur, sizeof(cur));
	char inter[4096];
	snprintf(inter, sizeof(inter), "%.*s", (int)strcspn(cur, "?"), cur);
	provider_login(h, inter, "alice", "alice-pw", callback, &pg, cur, sizeof(cur));
	char answer[4096];
	snprintf(answer, sizeof(answer), "%s", cur);
	CURL *other = browser();
	fetch(other, answer, NULL, &pg);
	ok(pg.status == 400 && strstr(pg.body.data ? pg.body.data : "", "sso-login-expired") &&
	       strstr(pg.body.data, "another browser"),
	   "the provider's answer opened in another browser: 400 sso-login-expired (%ld)",
	   pg.status);
	curl_easy_cleanup(other);
	fetch(h, answer, NULL, &pg);
	ok(pg.status == 400 && strstr(pg.body.data ? pg.body.data : "", "sso-login-expired"),
	   "  and then in the browser that began it: refused too, the login was used (%ld)",
	   pg.status);
	curl_easy_cleanup(h);

	snprintf(
	    url, sizeof(url),
	    "%s/api/v1/oidc/callback?code=abc&state=0123456789012345678901234567890123456789012",
	    d2.url);
	h = browser();
	fetch(h, url, NULL, &pg);
	is_int(pg.status, 400, "a callback with a state we never sent: 400");
	/* The same opened by a person in the browser's address bar: the page says it. */
	struct curl_slist *nav = curl_slist_append(NULL, "Sec-Fetch-Mode: navigate");
	nav = curl_slist_append(nav, "Accept: text/html,application/xhtml+xml,*/*;q=0.8");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, nav);
	fetch(h, url, NULL, &pg);
	ok(pg.status == 302 && strcmp(pg.location, "/#sso-error=sso-login-expired") == 0,
	   "  opened by hand in a browser: 302 to the page, which says why (%ld %s)", pg.status,
	   pg.location);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(nav);
	snprintf(url, sizeof(url), "%s/api/v1/oidc/login?return_to=https://evil.example/", d2.url);
	fetch(h, url, NULL, &pg);
	is_int(pg.status, 400, "a login asked to return to another site: 400 (no open redirect)");
	curl_easy_cleanup(h);

	/* Two tabs of one browser each begin a login; the second finishes first. */
	h = browser();
	char inter1[4096], inter2[4096];
	snprintf(url, sizeof(url), "%s/api/v1/oidc/login", d2.url);
	walk(h, url, NULL, &pg, cur, sizeof(cur));
	snprintf(inter1, sizeof(inter1), "%.*s", (int)strcspn(cur, "?"), cur);
	walk(h, url, NULL, &pg, cur, sizeof(cur));
	snprintf(inter2, sizeof(inter2), "%.*s", (int)strcspn(cur, "?"), cur);
	provider_login(h, inter2, "alice", "alice-pw", callback, &pg, cur, sizeof(cur));
	fetch(h, cur, NULL, &pg);
	ok(pg.status == 302 && strstr(pg.location, "#session=bb_") != NULL,
	   "two logins under way in one browser: the second tab's finishes (%ld)", pg.status);
	provider_login(h, inter1, "alice", "alice-pw", callback, &pg, cur, sizeof(cur));
	fetch(h, cur, NULL, &pg);
	ok(pg.status == 302 && strstr(pg.location, "#session=bb_") != NULL,
	   "  and then the first tab's, begun earlier, finishes too (%ld %.80s)", pg.status,
	   pg.body.data ? pg.body.data : "");
	curl_easy_cleanup(h);

	http(d2.url, "GET", "/api/v1/site/sign-in", NULL, NULL, NULL, 0, &r);
	ok(r.status == 200 && cJSON_IsTrue(cJSON_GetObjectItem(r.json, "oidc")),
	   "the login page learns that the hospital sign-in is offered (site/sign-in: oidc true)");
	resp_free(&r);

	h = browser();
	st = page_login(h, "rita", "rita-pw", tok, &pg);
	bearer(tok, "/api/v1/sessions/current", &r);
	ok(st == 302 && jstr(&r, "user.role") && strcmp(jstr(&r, "user.role"), "researcher") == 0 &&
	       jstr(&r, "user.studies.0") && strcmp(jstr(&r, "user.studies.0"), "MASC") == 0 &&
	       jstr(&r, "user.studies.1") == NULL,
	   "rita (groups staff, masc-readers) logs in as a researcher of MASC only");
	resp_free(&r);
	curl_easy_cleanup(h);

	h = browser();
	st = page_login(h, "nobody", "nobody-pw", tok, &pg);
	ok(st == 403 && strstr(pg.body.data ? pg.body.data : "", "no-mapped-group") && tok[0] == 0,
	   "someone in no mapped group: 403 no-mapped-group, no session (%ld)", st);
	is_int(audit_logins("nobody", "oidc", "no-mapped-group"), 1,
	       "  the refusal is in the audit log");
	curl_easy_cleanup(h);

	h = browser();
	long admins = sql_int(&t, "SELECT count(*) FROM users WHERE username = 'admin'");
	st = page_login(h, "admin", "x-pw", tok, &pg);
	ok(st == 409 && strstr(pg.body.data ? pg.body.data : "", "username-taken") && tok[0] == 0,
	   "a provider account named like the local break-glass admin: 409 username-taken (%ld)",
	   st);
	is_int(
	    sql_int(&t, "SELECT count(*) FROM users WHERE username = 'admin' AND source = 'local'"),
	    admins, "  the local admin stays local");
	curl_easy_cleanup(h);

	char local[128];
	ok(login(&t, "admin", "admin-password", local) == 0,
	   "the local admin still logs in with a password (break-glass)");
	ok(audit_logins("admin", "local", "ok") >= 1, "  local logins are in the audit log too");
	struct resp w;
	api(&t, "POST", "/api/v1/sessions", NULL,
	    "{\"username\":\"alice\",\"password\":\"alice-pw\"}", &w);
	is_int(w.status, 401, "alice's provider password is no password here: 401");
	resp_free(&w);
	bb_buf_free(&pg.body);
}

static void
disable_here(void)
{
	struct page pg = { 0 };
	char tok[128];
	struct resp r;
	CURL *h = browser();

	page_login(h, "rita", "rita-pw", tok, &pg);
	curl_easy_cleanup(h);
	api(&t, "PATCH", "/api/v1/users/rita", t.admin_token, "{\"disabled\":true}", &r);
	is_int(r.status, 200, "an admin here disables the federated account rita");
	resp_free(&r);
	msleep(300);
	bearer(tok, "/api/v1/sessions/current", &r);
	is_int(r.status, 401, "  her page session stops");
	resp_free(&r);
	h = browser();
	long st = page_login(h, "rita", "rita-pw", tok, &pg);
	ok(st == 401 && strstr(pg.body.data ? pg.body.data : "", "account-disabled"),
	   "  and her next login through the provider: 401 account-disabled (%ld)", st);
	is_int(audit_logins("rita", "oidc", "account-disabled"), 1, "  which the audit log shows");
	curl_easy_cleanup(h);
	api(&t, "PUT", "/api/v1/users/rita/password", t.admin_token,
	    "{\"password\":\"a-local-password\"}", &r);
	ok(has_code(&r, 409, "federated-account"),
	   "an admin cannot give the federated account a local password: 409 federated-account");
	resp_free(&r);
	bb_buf_free(&pg.body);
}

static void
scripts(void)
{
	char *access, *refresh, *next;
	struct resp r;
	long st;

	accounts("\"lab-techs\"", false);
	if (!ok(script_tokens("tom", "tom-pw", &access, &refresh),
	        "a script gets tom's access and refresh tokens from the provider")) {
		free(access);
		free(refresh);
		return;
	}
	bearer(access, "/api/v1/sessions/current", &r);
	ok(r.status == 200 && jstr(&r, "user.role") &&
	       strcmp(jstr(&r, "user.role"), "technician") == 0,
	   "  its access token (RS256) works here: tom, technician (%ld)", r.status);
	resp_free(&r);
	is_int(audit_logins("tom", "bearer", "ok"), 1, "  its first use is in the audit log");
	bearer(access, "/api/v1/sessions/current", &r);
	resp_free(&r);
	is_int(audit_logins("tom", "bearer", "ok"), 1, "  once: the token is then known (cached)");

	accounts("\"masc-readers\"", false);
	next = refreshed(refresh, &st);
	bearer(next, "/api/v1/sessions/current", &r);
	ok(r.status == 200 && jstr(&r, "user.role") &&
	       strcmp(jstr(&r, "user.role"), "researcher") == 0 && jstr(&r, "user.studies.0") &&
	       strcmp(jstr(&r, "user.studies.0"), "MASC") == 0,
	   "tom moved to masc-readers at the provider: the next token makes him a MASC researcher");
	resp_free(&r);
	ok(sql_int(&t, "SELECT count(*) FROM audit_log WHERE entity = 'user' AND entity_id = 'tom'"
	               " AND action = 'update' AND after->>'role' = 'researcher'") == 1,
	   "  the role change is in the audit log");
	free(next);

	accounts("\"lab-techs\"", true);
	next = refreshed(refresh, &st);
	ok(next == NULL && st == 400, "tom disabled at the provider: it gives no next token (%ld)",
	   st);
	free(next);
	struct page pg = { 0 };
	char tok[128];
	CURL *h = browser();
	st = page_login(h, "tom", "tom-pw", tok, &pg);
	ok(tok[0] == '\0' && st == 403, "  nor a page login (%ld at its login page)", st);
	curl_easy_cleanup(h);
	bb_buf_free(&pg.body);
	accounts("\"lab-techs\"", false);
	free(access);
	free(refresh);

	/* Key rotation: the provider's RSA key is replaced; the old one leaves its JWKS. */
	char *unseen = signed_token(issuer, "{\"claims\":{\"sub\":\"tom\",\"preferred_username\":"
	                                    "\"tom\",\"groups\":[\"lab-techs\"]}}");
	free(provider_json(issuer, "/test/rotate", "{\"alg\":\"RS256\"}"));
	msleep(2100); /* oidc_jwks_min_interval=2 */
	long before = jwks_fetches();
	if (script_tokens("tom", "tom-pw", &access, &refresh)) {
		bearer(access, "/api/v1/sessions/current", &r);
		is_int(r.status, 200,
		       "the provider rotates its RSA key: a token signed with the new one works");
		resp_free(&r);
		is_int(jwks_fetches() - before, 1, "  after one fetch of its keys");
		free(access);
		free(refresh);
	}
	bearer(unseen, "/api/v1/sessions/current", &r);
	ok(has_code(&r, 401, "token-rejected") && strstr(detail(&r), "key"),
	   "  a token of the old key, never seen before: 401 (%s)", detail(&r));
	resp_free(&r);
	free(unseen);

	free(provider_json(issuer, "/test/rotate", "{\"alg\":\"ES256\"}"));
	msleep(2100);
	if (script_tokens("tom", "tom-pw", &access, &refresh)) {
		bool es = strncmp(access, "eyJhbGciOiJFUzI1NiI", 19) == 0;
		bearer(access, "/api/v1/sessions/current", &r);
		ok(es && r.status == 200,
		   "the provider signs with an ES256 key: its tokens work too (%ld)", r.status);
		resp_free(&r);
		free(access);
		free(refresh);
	}

	/* A burst of tokens naming keys nobody has. */
	before = jwks_fetches();
	int refused = 0;
	for (int i = 0; i < 6; i++) {
		char json[256];
		snprintf(json, sizeof(json),
		         "{\"claims\":{\"sub\":\"tom\",\"preferred_username\":\"tom\"},"
		         "\"header\":{\"kid\":\"made-up-%d\"}}",
		         i);
		char *tk = signed_token(issuer, json);
		bearer(tk, "/api/v1/sessions/current", &r);
		refused += r.status == 401;
		resp_free(&r);
		free(tk);
	}
	long burst = jwks_fetches() - before;
	ok(refused == 6 && burst <= 1,
	   "6 tokens with made-up key ids at once: all 401, the keys fetched %ld time(s) (at most "
	   "1)",
	   burst);
}

struct bad {
	const char *what, *json, *reason;
	bool other_issuer;
};

static void
bad_tokens(void)
{
	time_t now = time(NULL);
	char json[8][512];
	const struct bad cases[] = {
		{ "an expired token", json[0], "expired", false },
		{ "a token not valid yet (nbf)", json[1], "not valid yet", false },
		{ "a token for another service (aud)", json[2], "not meant for this service",
		  false },
		{ "a token of our provider's key naming another issuer", json[3], "another issuer",
		  false },
		{ "a token from another provider", json[4], "key", true },
		{ "an unsigned token (alg none)", json[5], "algorithm", false },
		{ "HS256 keyed with the provider's RSA public key", json[6], "algorithm", false },
		{ "a token without an expiry", json[7], "expired", false },
	};
	const char *who =
	    "\"sub\":\"alice\",\"preferred_username\":\"alice\",\"groups\":[\"bb-admins\"]";
	snprintf(json[0], 512, "{\"claims\":{%s,\"iat\":%ld,\"exp\":%ld}}", who, (long)now - 4000,
	         (long)now - 3600);
	snprintf(json[1], 512, "{\"claims\":{%s,\"nbf\":%ld}}", who, (long)now + 3600);
	snprintf(json[2], 512, "{\"claims\":{%s,\"aud\":\"urn:other\"}}", who);
	snprintf(json[3], 512, "{\"claims\":{%s,\"iss\":\"%s\"}}", who, issuer_b);
	snprintf(json[4], 512, "{\"claims\":{%s}}", who);
	snprintf(json[5], 512, "{\"claims\":{%s},\"alg\":\"none\"}", who);
	snprintf(json[6], 512, "{\"claims\":{%s},\"alg\":\"HS256-public\"}", who);
	snprintf(json[7], 512, "{\"claims\":{%s,\"exp\":null}}", who);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tk = signed_token(cases[i].other_issuer ? issuer_b : issuer, cases[i].json);
		struct resp r;

		bearer(tk, "/api/v1/sessions/current", &r);
		ok(tk[0] != '\0' && has_code(&r, 401, "token-rejected") &&
		       strstr(detail(&r), cases[i].reason) != NULL,
		   "%s: 401 token-rejected (%s)", cases[i].what, detail(&r));
		resp_free(&r);
		free(tk);
	}
	/* A good token with its payload changed: the groups of an admin claimed. */
	char *tk =
	    signed_token(issuer, "{\"claims\":{\"sub\":\"tom\",\"preferred_username\":\"tom\","
	                         "\"groups\":[\"lab-techs\"]},\"alg\":\"ES256\"}");
	char *dot1 = strchr(tk, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot2 != NULL) {
		char *forged = bb_asprintf(
		    "%.*s.%s%s", (int)(dot1 - tk), tk,
		    "eyJpc3MiOiJ4Iiwic3ViIjoidG9tIiwiZ3JvdXBzIjpbImJiLWFkbWlucyJdfQ", dot2);
		struct resp r;
		bearer(forged, "/api/v1/sessions/current", &r);
		ok(has_code(&r, 401, "token-rejected") && strstr(detail(&r), "signature"),
		   "a token whose claims were changed after signing: 401 (%s)", detail(&r));
		resp_free(&r);
		free(forged);
	}
	free(tk);
}

/* LDAP ---------------------------------------------------------------------- */

static int ldap_port;

static bool
ldap_modify(const char *ldif)
{
	char url[64], file[128];

	snprintf(url, sizeof(url), "ldap://127.0.0.1:%d", ldap_port);
	snprintf(file, sizeof(file), "%s/change.ldif", dir);
	FILE *f = fopen(file, "w");
	if (f == NULL)
		return false;
	fputs(ldif, f);
	fclose(f);
	const char *argv[] = {
		"/usr/bin/env", "ldapmodify", "-x", "-H", url, "-D", "cn=admin,dc=example,dc=org",
		"-w",           "secret",     "-f", file, NULL
	};
	char *out = NULL;
	int rc = run_cmd(argv, NULL, NULL, &out);
	if (rc != 0)
		tap_diag("ldapmodify: %s", out ? out : "");
	free(out);
	return rc == 0;
}

static bool
start_slapd(void)
{
	char conf[128], ldif[128], db[128], log[128], url[64];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/slapd.conf", dir);
	snprintf(ldif, sizeof(ldif), "%s/data.ldif", dir);
	snprintf(db, sizeof(db), "%s/ldapdb", dir);
	snprintf(log, sizeof(log), "%s/slapd.log", dir);
	mkdir(db, 0700);
	/* A certificate of its own for StartTLS, for 127.0.0.1 (the daemon checks the name). */
	char key[128], cert[128];
	snprintf(key, sizeof(key), "%s/ldap-key.pem", dir);
	snprintf(cert, sizeof(cert), "%s/ldap-cert.pem", dir);
	const char *gen[] = { "/usr/bin/env",
		              "openssl",
		              "req",
		              "-x509",
		              "-newkey",
		              "rsa:2048",
		              "-nodes",
		              "-keyout",
		              key,
		              "-out",
		              cert,
		              "-days",
		              "2",
		              "-subj",
		              "/CN=127.0.0.1",
		              "-addext",
		              "subjectAltName=IP:127.0.0.1",
		              NULL };
	char *gout = NULL;
	if (run_cmd(gen, NULL, NULL, &gout) != 0)
		tap_diag("openssl req: %s", gout ? gout : "");
	free(gout);
	if ((f = fopen(conf, "w")) == NULL)
		return false;
	fprintf(f,
	        "include /etc/ldap/schema/core.schema\n"
	        "include /etc/ldap/schema/cosine.schema\n"
	        "include /etc/ldap/schema/inetorgperson.schema\n"
	        "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
	        "pidfile %s/slapd.pid\n"
	        "TLSCertificateFile %s\nTLSCertificateKeyFile %s\n"
	        "database mdb\nmaxsize 10485760\nsuffix \"dc=example,dc=org\"\n"
	        "rootdn \"cn=admin,dc=example,dc=org\"\nrootpw secret\ndirectory %s\n"
	        "access to attrs=userPassword by self read by anonymous auth by * none\n"
	        "access to * by users read by * none\n",
	        dir, cert, key, db);
	fclose(f);
	if ((f = fopen(ldif, "w")) == NULL)
		return false;
	fputs("dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\n"
	      "dc: example\no: Example hospital\n\n"
	      "dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n"
	      "dn: ou=groups,dc=example,dc=org\nobjectClass: organizationalUnit\nou: groups\n\n"
	      "dn: uid=lena,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: lena\n"
	      "cn: Lena\nsn: Lab\nuserPassword: lena-pw\n\n"
	      "dn: uid=lars,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: lars\n"
	      "cn: Lars\nsn: Visitor\nuserPassword: lars-pw\n\n"
	      "dn: cn=lab-techs,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\n"
	      "cn: lab-techs\nmember: uid=lena,ou=people,dc=example,dc=org\n"
	      "member: cn=admin,dc=example,dc=org\n\n"
	      "dn: cn=masc-readers,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\n"
	      "cn: masc-readers\nmember: cn=admin,dc=example,dc=org\n",
	      f);
	fclose(f);
	const char *add[] = { "/usr/bin/env", "slapadd", "-f", conf, "-l", ldif, NULL };
	char *out = NULL;
	int rc = run_cmd(add, NULL, NULL, &out);
	if (rc != 0)
		tap_diag("slapadd: %s", out ? out : "");
	free(out);
	if (rc != 0)
		return false;
	snprintf(url, sizeof(url), "ldap://127.0.0.1:%d/", ldap_port);
	/* -d: in the foreground, so that it is our child and stops by its id. */
	const char *argv[] = { "/usr/sbin/slapd", "-f", conf, "-h", url, "-d", "0", NULL };
	slapd = spawn(argv, log);
	for (long long end = mono_ms() + 15000; mono_ms() < end; msleep(100)) {
		const char *w[] = { "/usr/bin/env", "ldapwhoami", "-x", "-H", url, NULL };
		char *o = NULL;
		int wrc = run_cmd(w, NULL, NULL, &o);
		free(o);
		if (wrc == 0)
			return true;
	}
	return false;
}

static long
ldap_login(const char *user, const char *pw, struct resp *r)
{
	char json[256];

	snprintf(json, sizeof(json), "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
	http(d2.url, "POST", "/api/v1/sessions", NULL, NULL, json, strlen(json), r);
	return r->status;
}

/* A daemon of its own speaking StartTLS to slapd, trusting ca (NULL: the system's CAs). */
static long
starttls_login(const char *ca)
{
	struct daemon d3 = { 0 };
	char url[64], ca_arg[160], map_arg[160];
	struct resp r;

	snprintf(url, sizeof(url), "--ldap-url=ldap://127.0.0.1:%d", ldap_port);
	snprintf(ca_arg, sizeof(ca_arg), "--ldap-ca-file=%s", ca != NULL ? ca : "");
	snprintf(map_arg, sizeof(map_arg), "--group-map=%s/groups.map", dir);
	const char *extra[] = { url,
		                "--ldap-starttls",
		                "--ldap-user-dn=uid=%s,ou=people,dc=example,dc=org",
		                "--ldap-group-base=ou=groups,dc=example,dc=org",
		                map_arg,
		                ca != NULL ? ca_arg : NULL,
		                NULL };
	if (daemon_start(&t, &d3, extra) != 0 || !daemon_wait_healthy(&d3, 30000))
		return -1;
	http(d3.url, "POST", "/api/v1/sessions", NULL, NULL,
	     "{\"username\":\"lena\",\"password\":\"lena-pw\"}", 40, &r);
	long st = r.status;
	resp_free(&r);
	daemon_stop(&d3);
	return st;
}

static void
starttls(void)
{
	char cert[128];

	snprintf(cert, sizeof(cert), "%s/ldap-cert.pem", dir);
	long st = starttls_login(cert);
	is_int(st, 201,
	       "a daemon speaking StartTLS to the directory, trusting its certificate: "
	       "lena logs in");
	st = starttls_login(NULL);
	is_int(st, 503,
	       "  and one that does not trust the certificate refuses to send the "
	       "password: 503");
}

static void
ldap_tests(void)
{
	struct resp r;

	ldap_login("lena", "lena-pw", &r);
	ok(r.status == 201 && jstr(&r, "user.role") &&
	       strcmp(jstr(&r, "user.role"), "technician") == 0,
	   "lena logs in with her directory password: a session as technician (%ld)", r.status);
	resp_free(&r);
	ok(sql_int(&t,
	           "SELECT count(*) FROM audit_log WHERE entity = 'login' AND entity_id = 'lena'"
	           " AND after->>'method' = 'ldap' AND after->>'outcome' = 'ok'"
	           " AND after->'groups' ? 'lab-techs'") == 1,
	   "  the login is in the audit log with her groups");
	ldap_login("lena", "not-her-password", &r);
	is_int(r.status, 401, "a wrong directory password: 401");
	resp_free(&r);
	is_int(audit_logins("lena", "ldap", "wrong-password"), 1, "  in the audit log too");
	ldap_login("lena", "", &r);
	is_int(r.status, 400, "an empty password (an anonymous bind) never logs in");
	resp_free(&r);
	ldap_login("lars", "lars-pw", &r);
	ok(has_code(&r, 403, "no-mapped-group"), "lars, in no mapped group: 403 no-mapped-group");
	resp_free(&r);
	ldap_login("nosuchperson", "whatever", &r);
	is_int(r.status, 401, "a name the directory does not know: 401");
	resp_free(&r);

	ok(ldap_modify("dn: cn=masc-readers,ou=groups,dc=example,dc=org\nchangetype: modify\n"
	               "add: member\nmember: uid=lena,ou=people,dc=example,dc=org\n\n"
	               "dn: cn=lab-techs,ou=groups,dc=example,dc=org\nchangetype: modify\n"
	               "delete: member\nmember: uid=lena,ou=people,dc=example,dc=org\n"),
	   "the directory moves lena from lab-techs to masc-readers");
	ldap_login("lena", "lena-pw", &r);
	ok(r.status == 201 && jstr(&r, "user.role") &&
	       strcmp(jstr(&r, "user.role"), "researcher") == 0 && jstr(&r, "user.studies.0") &&
	       strcmp(jstr(&r, "user.studies.0"), "MASC") == 0,
	   "  her next login makes her a MASC researcher");
	char tok[128];
	snprintf(tok, sizeof(tok), "%s", jstr(&r, "token") ? jstr(&r, "token") : "");
	resp_free(&r);
	http(d2.url, "PUT", "/api/v1/sessions/current/password", tok, NULL,
	     "{\"current_password\":\"lena-pw\",\"new_password\":\"a-new-password\"}", 62, &r);
	ok(has_code(&r, 409, "federated-account"),
	   "lena cannot set a password here: it is the directory's (409 federated-account)");
	resp_free(&r);

	starttls();
	stop(slapd);
	slapd = 0;
	ldap_login("lena", "lena-pw", &r);
	ok(has_code(&r, 503, "directory-unavailable"), "the directory down: lena gets 503");
	resp_free(&r);
	char local[128];
	ok(login(&t, "admin", "admin-password", local) == 0,
	   "  and the local admin still logs in (break-glass)");
}

/* Settings refused at start-up (biobankd config checks them as serve does). */
static void
refused_settings(const char *map, const char *secret)
{
	struct {
		const char *what, *a, *b, *c, *needle;
	} cases[] = {
		{ "an issuer over plain http off loopback", "--oidc-issuer=http://idp.example",
		  "--oidc-audience=x", NULL, "not https" },
		{ "LDAP off loopback without TLS", "--ldap-url=ldap://10.1.2.3",
		  "--ldap-user-dn=uid=%s,dc=x", "--ldap-group-base=dc=x", "ldap_starttls" },
		{ "a client secret others may read", "--oidc-issuer=https://idp.example",
		  "--oidc-audience=x", NULL, "read by others" },
		{ "SSO without a group map", "--oidc-issuer=https://idp.example",
		  "--oidc-audience=x", NULL, "group_map" },
	};
	char secret_arg[160], map_arg[160];
	snprintf(secret_arg, sizeof(secret_arg), "--oidc-client-secret-file=%s.open", secret);
	snprintf(map_arg, sizeof(map_arg), "--group-map=%s", map);
	FILE *f = fopen(secret_arg + 26, "w");
	if (f != NULL) {
		fputs("s\n", f);
		fclose(f);
		chmod(secret_arg + 26, 0644);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[10];
		int n = 0;
		argv[n++] = t.biobankd;
		argv[n++] = "config";
		argv[n++] = cases[i].a;
		argv[n++] = cases[i].b;
		if (cases[i].c != NULL)
			argv[n++] = cases[i].c;
		if (i == 2)
			argv[n++] = secret_arg;
		if (i != 3)
			argv[n++] = map_arg;
		argv[n] = NULL;
		char *out = NULL;
		int rc = run_cmd(argv, NULL, NULL, &out);
		ok(rc != 0 && out != NULL && strstr(out, cases[i].needle) != NULL,
		   "refused at start-up: %s", cases[i].what);
		if (rc == 0 || out == NULL || strstr(out, cases[i].needle) == NULL)
			tap_diag("  %s", out ? out : "");
		free(out);
	}
}

int
main(int argc, char **argv)
{
	char path[512];

	if (argc < 3) {
		fprintf(stderr, "usage: test_sso BIOBANKD SSO_SOURCE_DIR\n");
		return 2;
	}
	srcdir = argv[2];
	snprintf(path, sizeof(path), "%s/node_modules/oidc-provider", srcdir);
	if (access(path, R_OK) != 0)
		tap_skip_all("no tests/sso/node_modules (npm ci --prefix tests/sso)");
	if (access("/usr/sbin/slapd", X_OK) != 0)
		tap_skip_all("no slapd (Debian package slapd)");
	tenv_setup(&t, "sso", argc, argv);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	snprintf(dir, sizeof(dir), "/tmp/bb-sso.XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	struct resp r;
	api(&t, "POST", "/api/v1/studies", t.admin_token,
	    "{\"code\":\"MASC\",\"name\":\"Myositis\"}", &r);
	resp_free(&r);

	char map[128], secret[128], script[600], plog[128], plog_b[128];
	snprintf(map, sizeof(map), "%s/groups.map", dir);
	FILE *f = fopen(map, "w");
	fputs("# GROUP ROLE STUDIES: the first line that names a group of the person decides\n"
	      "bb-admins     admin       *\n"
	      "lab-techs     technician  *\n"
	      "masc-readers  researcher  MASC\n",
	      f);
	fclose(f);
	snprintf(secret, sizeof(secret), "%s/client.secret", dir);
	f = fopen(secret, "w");
	fputs("biobank-client-secret\n", f);
	fclose(f);
	chmod(secret, 0600);
	refused_settings(map, secret);

	d2.want_port = free_port();
	int pa = free_port(), pb = free_port();
	ldap_port = free_port();
	snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d", pa);
	snprintf(issuer_b, sizeof(issuer_b), "http://127.0.0.1:%d", pb);
	snprintf(callback, sizeof(callback), "http://127.0.0.1:%d/api/v1/oidc/callback",
	         d2.want_port);
	snprintf(script, sizeof(script), "%s/provider.mjs", srcdir);
	snprintf(plog, sizeof(plog), "%s/provider-a.log", dir);
	snprintf(plog_b, sizeof(plog_b), "%s/provider-b.log", dir);
	char port_a[16], port_b[16];
	snprintf(port_a, sizeof(port_a), "%d", pa);
	snprintf(port_b, sizeof(port_b), "%d", pb);
	const char *pa_argv[] = { "node", script, port_a, callback, NULL };
	const char *pb_argv[] = { "node", script, port_b, callback, NULL };
	prov_a = spawn(pa_argv, plog);
	prov_b = spawn(pb_argv, plog_b);
	bool providers = wait_for(plog, "listening", 60000) && wait_for(plog_b, "listening", 60000);
	bool directory = start_slapd();
	if (!ok(providers, "two OpenID providers serve on loopback") ||
	    !ok(directory, "slapd serves a directory on loopback"))
		goto out;
	accounts("\"lab-techs\"", false);

	char a_issuer[96], a_secret[160], a_redirect[192], a_map[160], a_ldap[64];
	snprintf(a_issuer, sizeof(a_issuer), "--oidc-issuer=%s", issuer);
	snprintf(a_secret, sizeof(a_secret), "--oidc-client-secret-file=%s", secret);
	snprintf(a_redirect, sizeof(a_redirect), "--oidc-redirect-uri=%s", callback);
	snprintf(a_map, sizeof(a_map), "--group-map=%s", map);
	snprintf(a_ldap, sizeof(a_ldap), "--ldap-url=ldap://127.0.0.1:%d", ldap_port);
	const char *extra[] = { a_issuer,
		                "--oidc-client-id=biobank",
		                a_secret,
		                a_redirect,
		                "--oidc-audience=urn:biobank",
		                "--oidc-scopes=openid profile groups",
		                "--oidc-jwks-min-interval=2",
		                "--oidc-clock-skew=5",
		                a_map,
		                a_ldap,
		                "--ldap-user-dn=uid=%s,ou=people,dc=example,dc=org",
		                "--ldap-group-base=ou=groups,dc=example,dc=org",
		                "--ldap-group-filter=(&(objectClass=groupOfNames)(member=%s))",
		                NULL };
	if (!ok(daemon_start(&t, &d2, extra) == 0 && daemon_wait_healthy(&d2, 30000),
	        "biobankd starts with OpenID Connect and LDAP set"))
		goto out;

	page_flow();
	disable_here();
	scripts();
	bad_tokens();
	ldap_tests();
	is_int(daemon_stop(&d2), 0, "the SSO daemon stops with exit status 0");
out:
	stop(prov_a);
	stop(prov_b);
	stop(slapd);
	if (getenv("BIOBANK_TEST_KEEP") == NULL) {
		const char *rm[] = { "/usr/bin/env", "rm", "-rf", dir, NULL };
		char *o = NULL;
		run_cmd(rm, NULL, NULL, &o);
		free(o);
	}
	tenv_teardown(&t);
	curl_global_cleanup();
	return tap_done();
}
