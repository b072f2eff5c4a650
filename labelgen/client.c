/*
 * client.c — labelgen's side of the biobankd API: label data in
 * (GET /api/v1/labels) and prints recorded (POST .../label-printed). TLS
 * peers are verified (libcurl's default, never turned off here).
 */
#include "cli.h"
#include "curl_load.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { IDS_PER_REQUEST = 1000, RECORD_ATTEMPTS = 4 };

static size_t
collect(char *p, size_t size, size_t n, void *ud)
{
	bb_buf_append(ud, p, size * n);
	return size * n;
}

/* The problem+json detail (or title) when the server sent one. */
static void
describe_failure(long status, const struct bb_buf *resp, const char *what, char why[LBL_WHY_MAX])
{
	cJSON *root = resp->data ? cJSON_Parse(resp->data) : NULL;
	const cJSON *detail = cJSON_GetObjectItemCaseSensitive(root, "detail");
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(root, "title");
	const char *msg = cJSON_IsString(detail)  ? detail->valuestring
	                  : cJSON_IsString(title) ? title->valuestring
	                                          : "";

	if (status == 401)
		snprintf(why, LBL_WHY_MAX, "%s: the server refused the token (401)%s%.150s", what,
		         msg[0] ? ": " : "", msg);
	else
		snprintf(why, LBL_WHY_MAX, "%s: HTTP %ld%s%.150s", what, status, msg[0] ? ": " : "",
		         msg);
	cJSON_Delete(root);
}

/* 127.0.0.0/8, ::1 or localhost: a host name as libcurl's URL parser gives it. */
static bool
is_loopback(const char *host)
{
	unsigned char a[16];
	char v6[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (n > 2 && n - 2 < sizeof(v6) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(v6, host + 1, n - 2);
		v6[n - 2] = '\0';
		return inet_pton(AF_INET6, v6, a) == 1 &&
		       memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	}
	return false;
}

enum bb_err
client_check_transport(const struct client *c, bool allow_plain_http, char why[LBL_WHY_MAX])
{
	const struct lbl_curl *cu = lbl_curl(why);
	char *scheme = NULL, *host = NULL;
	enum bb_err err = BB_OK;
	CURLU *u;

	if (cu == NULL)
		return BB_EINTERNAL;
	if ((u = cu->url()) == NULL)
		bb_malloc((size_t)-1); /* libcurl could not allocate: abort per policy */
	/* Read as the request will read it: no scheme means http (libcurl guesses). */
	if (cu->url_set(u, CURLUPART_URL, c->base, CURLU_GUESS_SCHEME) != CURLUE_OK ||
	    cu->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    cu->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, LBL_WHY_MAX, "--server %.200s is not a URL such as https://HOST",
		         c->base);
		err = BB_EINVAL;
	} else if (strcmp(scheme, "http") == 0 && !is_loopback(host) && !allow_plain_http) {
		snprintf(why, LBL_WHY_MAX,
		         "refusing to send the token over plain HTTP to %.60s, where anyone on the "
		         "way could read it: use https://, or --allow-plain-http if the link is "
		         "protected otherwise (a VPN, an SSH tunnel)",
		         host);
		err = BB_EINVAL;
	}
	cu->free(scheme);
	cu->free(host);
	cu->url_cleanup(u);
	return err;
}

/* One request; *status is 0 when no HTTP answer came back. */
static enum bb_err
request(const struct client *c, const char *path, const char *body, const char *idem_key,
        long *status, struct bb_buf *resp, char why[LBL_WHY_MAX])
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	char *url = bb_asprintf("%s%s", c->base, path);
	char *auth = c->token ? bb_asprintf("Authorization: Bearer %s", c->token) : NULL;
	char *idem = idem_key ? bb_asprintf("Idempotency-Key: %s", idem_key) : NULL;
	const struct lbl_curl *cu = lbl_curl(why);
	CURLcode rc;
	CURL *h;

	*status = 0;
	if (cu == NULL) {
		free(url);
		free(auth);
		free(idem);
		return BB_EINTERNAL;
	}
	if ((h = cu->easy_init()) == NULL)
		bb_malloc((size_t)-1); /* libcurl could not allocate: abort per policy */
	hdr = cu->slist_append(hdr, "Accept: application/json");
	if (auth)
		hdr = cu->slist_append(hdr, auth);
	if (idem)
		hdr = cu->slist_append(hdr, idem);
	if (body) {
		hdr = cu->slist_append(hdr, "Content-Type: application/json");
		cu->easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	cu->easy_setopt(h, CURLOPT_URL, url);
	cu->easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
	cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	cu->easy_setopt(h, CURLOPT_WRITEDATA, resp);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = cu->easy_perform(h);
	if (rc == CURLE_OK)
		cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	else
		snprintf(why, LBL_WHY_MAX, "cannot reach %.120s: %.120s", c->base,
		         errbuf[0] ? errbuf : cu->easy_strerror(rc));
	bb_buf_puts(resp, "");
	cu->easy_cleanup(h);
	cu->slist_free_all(hdr);
	free(url);
	free(auth);
	free(idem);
	return rc == CURLE_OK ? BB_OK : BB_EIO;
}

static bool
has_id(const struct rec_list *l, size_t from, const char *id)
{
	for (size_t i = from; i < l->n; i++)
		if (strcmp(l->items[i].id, id) == 0)
			return true;
	return false;
}

static enum bb_err
fetch_chunk(const struct client *c, char *const *ids, size_t n, struct rec_list *out,
            char why[LBL_WHY_MAX])
{
	struct bb_buf path = { 0 }, resp = { 0 };
	size_t first = out->n;
	long status;
	enum bb_err err;
	cJSON *root = NULL;
	const cJSON *items, *it;

	bb_buf_puts(&path, "/api/v1/labels?ids=");
	for (size_t i = 0; i < n; i++)
		bb_buf_printf(&path, "%s%s", i ? "," : "", ids[i]);
	if ((err = request(c, path.data, NULL, NULL, &status, &resp, why)))
		goto out;
	if (status != 200) {
		describe_failure(status, &resp, "fetching labels", why);
		err = status == 401 || status == 403 || status == 404 ? BB_EINVAL : BB_EIO;
		goto out;
	}
	root = cJSON_Parse(resp.data);
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsArray(items)) {
		snprintf(why, LBL_WHY_MAX, "fetching labels: the answer holds no \"items\" array");
		err = BB_EINTERNAL;
		goto out;
	}
	cJSON_ArrayForEach(it, items)
	{
		if ((err = recs_add_json(out, it, false, why)))
			goto out;
	}
	/* The server answers only for what it knows: say which are missing. */
	for (size_t i = 0; i < n; i++) {
		if (!has_id(out, first, ids[i])) {
			snprintf(why, LBL_WHY_MAX, "the server has no label for %s", ids[i]);
			err = BB_ENOTFOUND;
			goto out;
		}
	}
out:
	cJSON_Delete(root);
	bb_buf_free(&path);
	bb_buf_free(&resp);
	return err;
}

enum bb_err
client_fetch_labels(const struct client *c, char *const *ids, size_t n, struct rec_list *out,
                    char why[LBL_WHY_MAX])
{
	for (size_t at = 0; at < n; at += IDS_PER_REQUEST) {
		size_t k = n - at < IDS_PER_REQUEST ? n - at : IDS_PER_REQUEST;
		enum bb_err err = fetch_chunk(c, ids + at, k, out, why);

		if (err)
			return err;
	}
	return BB_OK;
}

/*
 * Retried with backoff, under one Idempotency-Key, so a retry after a lost
 * answer cannot record the print twice. Client errors (4xx but 429) are not
 * retried: they will not get better.
 */
enum bb_err
client_record_printed(const struct client *c, const char *id, const char *printer, int copies,
                      const char *job_key, char why[LBL_WHY_MAX])
{
	cJSON *body = cJSON_CreateObject();
	char *json, *path = bb_asprintf("/api/v1/specimens/%s/label-printed", id);
	char *key = bb_asprintf("%s-%s", job_key, id);
	enum bb_err err = BB_EIO;

	cJSON_AddStringToObject(body, "printer", printer);
	cJSON_AddNumberToObject(body, "copies", copies);
	json = cJSON_PrintUnformatted(body);
	for (int attempt = 0; attempt < RECORD_ATTEMPTS; attempt++) {
		struct bb_buf resp = { 0 };
		long status;

		if (attempt > 0) {
			struct timespec ts = { 0, 200000000L << (attempt - 1) };

			while (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			nanosleep(&ts, NULL);
		}
		err = request(c, path, json, key, &status, &resp, why);
		if (err == BB_OK && status >= 200 && status < 300) {
			bb_buf_free(&resp);
			break;
		}
		if (err == BB_OK) {
			describe_failure(status, &resp, "recording the print", why);
			err = BB_EIO;
		}
		bb_buf_free(&resp);
		if (status >= 400 && status < 500 && status != 429)
			break;
	}
	free(json);
	cJSON_Delete(body);
	free(path);
	free(key);
	return err;
}
