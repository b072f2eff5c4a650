/*
 * test_fhir_export.c — FHIR Bulk Data export as a bulk client uses it:
 * kick-off (Prefer: respond-async, 202 and Content-Location), polling until
 * the manifest, each NDJSON file downloaded; polled and downloaded from a
 * second daemon too (the job lives in the database); _type and _since;
 * cancellation; a job that fails and one whose daemon died; and who may
 * not: another user, a researcher, a user of the other study. Every
 * resource of the files is checked with Medplum's validator.
 *
 * usage: test_api_fhir_export BIOBANKD FHIR_TEST_DIR
 */
#include "fhir_validate.h"
#include "world.h"

#include <stdlib.h>
#include <string.h>

static cJSON *pairs;

static const char *const async[] = { "Prefer: respond-async", "Accept: application/fhir+json",
	                             NULL };

/* The path of an absolute URL of the daemon ("http://host:port/api/v1/..."), or "". */
static const char *
path_of(const char *url)
{
	const char *p = url != NULL ? strstr(url, "/api/v1/") : NULL;

	return p != NULL ? p : "";
}

/* Kick off path as token: the status path into status (empty when not 202). */
static long
kick_off(struct tenv *t, const char *path, const char *token, char status[256])
{
	struct resp r;

	http_h(t->d.url, "GET", path, token, NULL, NULL, 0, async, &r);
	long code = r.status;
	snprintf(status, 256, "%s", code == 202 ? path_of(r.content_location) : "");
	if (code != 202)
		tap_diag("kick-off %s: %ld %.300s", path, r.status, r.body);
	resp_free(&r);
	return code;
}

/*
 * Poll base's status path as token until it is no longer 202 (at most
 * 60 s); the last answer in r. progressed: a 202 carried X-Progress and
 * Retry-After.
 */
static void
poll_until_done(const char *base, const char *path, const char *token, struct resp *r,
                bool *progressed)
{
	long long until = mono_ms() + 60000;

	*progressed = false;
	for (;;) {
		http(base, "GET", path, token, NULL, NULL, 0, r);
		if (r->status != 202 || mono_ms() > until)
			return;
		*progressed |= r->progress[0] != '\0' && r->retry_after[0] != '\0';
		resp_free(r);
		msleep(100);
	}
}

/* The manifest's output file of type, or NULL. */
static const cJSON *
output_of(const struct resp *r, const char *type)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItem(r->json, "output"))
	{
		const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(o, "type"));
		if (ty != NULL && strcmp(ty, type) == 0)
			return o;
	}
	return NULL;
}

/*
 * Download every file of the manifest in r from base as token; each line
 * must be a resource of the file's type (kept for the validator, named
 * with label). The resource ids, "Type/id" each, go into ids.
 */
static bool
download_all(const char *base, const struct resp *r, const char *token, const char *label,
             cJSON *ids)
{
	const cJSON *o;
	bool good = true;

	cJSON_ArrayForEach(o, cJSON_GetObjectItem(r->json, "output"))
	{
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(o, "type"));
		const char *url = cJSON_GetStringValue(cJSON_GetObjectItem(o, "url"));
		int count = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "count")), lines = 0;
		struct resp f;

		http(base, "GET", path_of(url), token, NULL, NULL, 0, &f);
		bool ndjson =
		    f.status == 200 && strncmp(f.content_type, "application/fhir+ndjson", 23) == 0;
		for (char *line = f.body, *end; ndjson && line != NULL && *line != '\0';
		     line = end != NULL ? end + 1 : NULL) {
			end = strchr(line, '\n');
			if (end != NULL)
				*end = '\0';
			cJSON *res = cJSON_Parse(line);
			const char *rt =
			    cJSON_GetStringValue(cJSON_GetObjectItem(res, "resourceType"));
			const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(res, "id"));
			if (rt == NULL || id == NULL || type == NULL || strcmp(rt, type) != 0) {
				good = false;
			} else {
				char name[128];
				snprintf(name, sizeof(name), "%s: %s/%s", label, rt, id);
				fhir_keep(pairs, name, res);
				snprintf(name, sizeof(name), "%s/%s", rt, id);
				cJSON_AddTrueToObject(ids, name);
			}
			cJSON_Delete(res);
			lines++;
		}
		if (!ndjson || lines != count) {
			tap_diag("%s %s: %ld %s, %d lines of %d", type, url, f.status,
			         f.content_type, lines, count);
			good = false;
		}
		resp_free(&f);
	}
	return good;
}

static bool
has(const cJSON *ids, const char *type, const char *id)
{
	char key[96];

	snprintf(key, sizeof(key), "%s/%s", type, id);
	return cJSON_GetObjectItem(ids, key) != NULL;
}

/* How many of ids are of type. */
static int
count_of(const cJSON *ids, const char *type)
{
	const cJSON *i;
	int n = 0;
	size_t k = strlen(type);

	cJSON_ArrayForEach(i, ids)
	{
		n += strncmp(i->string, type, k) == 0 && i->string[k] == '/';
	}
	return n;
}

/* A FHIR client's mistake or a refusal: status, as an OperationOutcome carrying code. */
static void
refused(const struct resp *r, long status, const char *code, const char *what)
{
	const char *got = jstr(r, "issue.0.details.coding.0.code");

	ok(r->status == status && got != NULL && strcmp(got, code) == 0 &&
	       strncmp(r->content_type, "application/fhir+json", 21) == 0,
	   "%s: %ld %s as an OperationOutcome (%ld %s)", what, status, code, r->status,
	   got != NULL ? got : r->content_type);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	struct resp r;
	char masc1[16], masc2[16], masc3[16], ssc1[16], status[256], path[512];
	bool progressed;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BIOBANKD FHIR_TEST_DIR\n", argv[0]);
		return 2;
	}
	tenv_setup(&t, "fhir_export", argc, argv);
	world_make(&t);
	pairs = cJSON_CreateArray();
	bool made = world_register(&t, "MASC", "P001", "serum", masc1) &&
	            world_register(&t, "MASC", "P001", "plasma", masc2) &&
	            world_register(&t, "MASC", "P002", "serum", masc3) &&
	            world_register(&t, "SSC", "S001", "serum", ssc1);
	ok(made, "three specimens of MASC and one of SSC");
	if (!made) {
		tenv_teardown(&t);
		return tap_done();
	}
	world_act_quietly(&t, masc1, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}");
	long masc = sql_int(&t, "SELECT id FROM studies WHERE code = 'MASC'");
	long ssc = sql_int(&t, "SELECT id FROM studies WHERE code = 'SSC'");

	/* Kick-off: asynchronous only. */
	snprintf(path, sizeof(path), "/api/v1/fhir/Group/%ld/$export", masc);
	const char *sync[] = { "Prefer: respond-sync", NULL };
	http_h(t.d.url, "GET", path, t.admin_token, NULL, NULL, 0, sync, &r);
	refused(&r, 400, "value-not-allowed", "a kick-off asking for a synchronous answer");
	resp_free(&r);
	http_h(t.d.url, "GET", path, t.admin_token, NULL, NULL, 0, async, &r);
	is_int(r.status, 202, "GET %s with Prefer: respond-async: 202", path);
	ok(strncmp(r.content_location, "http://", 7) == 0 &&
	       strstr(r.content_location, "/api/v1/fhir/bulk/") != NULL,
	   "  Content-Location is the absolute status URL (%s)", r.content_location);
	snprintf(status, sizeof(status), "%s", path_of(r.content_location));
	resp_free(&r);

	poll_until_done(t.d.url, status, t.admin_token, &r, &progressed);
	is_int(r.status, 200, "polling ends with 200 and the manifest");
	ok(jstr(&r, "transactionTime") != NULL && r.json != NULL &&
	       cJSON_IsTrue(cJSON_GetObjectItem(r.json, "requiresAccessToken")) &&
	       cJSON_IsArray(cJSON_GetObjectItem(r.json, "error")),
	   "  with transactionTime, requiresAccessToken and an error list");
	ok(jstr(&r, "request") != NULL && strstr(jstr(&r, "request"), path) != NULL,
	   "  and the kick-off request (%s)", jstr(&r, "request"));
	ok(output_of(&r, "Specimen") != NULL && output_of(&r, "Patient") != NULL &&
	       output_of(&r, "Group") != NULL && output_of(&r, "ResearchStudy") != NULL,
	   "  a file each of Specimen, Patient, Group and ResearchStudy");
	char since[64];
	snprintf(since, sizeof(since), "%s",
	         jstr(&r, "transactionTime") ? jstr(&r, "transactionTime") : "");
	cJSON *ids = cJSON_CreateObject();
	ok(download_all(t.d.url, &r, t.admin_token, "Group export", ids),
	   "every file downloads as NDJSON, one resource of its type a line, as many as counted");
	ok(has(ids, "Specimen", masc1) && has(ids, "Specimen", masc2) &&
	       has(ids, "Specimen", masc3) && !has(ids, "Specimen", ssc1) &&
	       count_of(ids, "Specimen") == 3,
	   "  the Specimen file holds MASC's three specimens, and not SSC's");
	ok(count_of(ids, "Patient") == 2 && count_of(ids, "Group") == 1 &&
	       count_of(ids, "ResearchStudy") == 1,
	   "  MASC's two participants, its Group and its ResearchStudy");
	cJSON_Delete(ids);

	/* Another daemon of the site answers the polling and the downloads. */
	struct daemon other;
	if (daemon_start(&t, &other, NULL) == 0) {
		struct resp r2;
		http(other.url, "GET", status, t.admin_token, NULL, NULL, 0, &r2);
		is_int(r2.status, 200, "a second daemon answers the polling with the manifest");
		ids = cJSON_CreateObject();
		ok(download_all(other.url, &r2, t.admin_token, "from the second daemon", ids) &&
		       count_of(ids, "Specimen") == 3,
		   "  and serves the same files");
		cJSON_Delete(ids);
		resp_free(&r2);
		daemon_stop(&other);
	} else {
		ok(false, "a second daemon starts");
	}

	/* Only its owner, and nobody without its studies. */
	char tech[128], ssc_tech[128], rita[128];
	bool users = make_user(&t, "tech", "technician", NULL, tech) == 0 &&
	             make_user(&t, "ssc-tech", "technician", "[\"SSC\"]", ssc_tech) == 0 &&
	             make_user(&t, "rita", "researcher", NULL, rita) == 0;
	ok(users, "a technician of every study, one of SSC only, and a researcher");
	struct resp o;
	http(t.d.url, "GET", status, tech, NULL, NULL, 0, &o);
	refused(&o, 404, "export-not-found", "another user polls the admin's export");
	resp_free(&o);
	const cJSON *spec = output_of(&r, "Specimen");
	const char *file = path_of(cJSON_GetStringValue(cJSON_GetObjectItem(spec, "url")));
	http(t.d.url, "GET", file, tech, NULL, NULL, 0, &o);
	refused(&o, 404, "export-not-found", "another user downloads the admin's Specimen file");
	resp_free(&o);
	http(t.d.url, "GET", file, NULL, NULL, NULL, 0, &o);
	is_int(o.status, 401, "a download without a token: 401");
	resp_free(&o);
	http(t.d.url, "DELETE", status, tech, NULL, NULL, 0, &o);
	refused(&o, 404, "export-not-found", "another user cancels the admin's export");
	resp_free(&o);
	resp_free(&r);

	http_h(t.d.url, "GET", "/api/v1/fhir/$export", rita, NULL, NULL, 0, async, &r);
	refused(&r, 403, "forbidden", "a researcher kicks off an export");
	resp_free(&r);
	http_h(t.d.url, "GET", path, ssc_tech, NULL, NULL, 0, async, &r);
	refused(&r, 404, "study-not-found", "a technician of SSC exports MASC's Group");
	resp_free(&r);
	long ssc_rows = sql_int(&t, "SELECT count(*) FROM fhir_exports");
	is_int(ssc_rows, 1, "  and no job is left behind by the refusals");
	if (kick_off(&t, "/api/v1/fhir/$export", ssc_tech, status) == 202) {
		poll_until_done(t.d.url, status, ssc_tech, &r, &progressed);
		ids = cJSON_CreateObject();
		ok(r.status == 200 &&
		       download_all(t.d.url, &r, ssc_tech, "SSC's system export", ids),
		   "a technician of SSC: the system-level export, downloaded");
		char ssc_group[32];
		snprintf(ssc_group, sizeof(ssc_group), "%ld", ssc);
		ok(count_of(ids, "Specimen") == 1 && has(ids, "Specimen", ssc1) &&
		       count_of(ids, "Patient") == 1 && count_of(ids, "Group") == 1 &&
		       has(ids, "Group", ssc_group),
		   "  holds SSC's specimen, participant and Group only, nothing of MASC");
		cJSON_Delete(ids);
		resp_free(&r);
	} else {
		ok(false, "a technician of SSC kicks off the system-level export");
	}

	/* _type and _since: an incremental export of what changed. */
	snprintf(path, sizeof(path), "/api/v1/fhir/Group/%ld/$export?_type=Specimen", masc);
	if (kick_off(&t, path, t.admin_token, status) == 202) {
		poll_until_done(t.d.url, status, t.admin_token, &r, &progressed);
		ok(r.status == 200 &&
		       cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "output")) == 1 &&
		       output_of(&r, "Specimen") != NULL,
		   "_type=Specimen: a Specimen file only");
		resp_free(&r);
	}
	world_act_quietly(&t, masc2, "store", "{\"box\":\"BOX-A\",\"position\":\"A2\"}");
	snprintf(path, sizeof(path), "/api/v1/fhir/Group/%ld/$export?_since=%s", masc, since);
	if (kick_off(&t, path, t.admin_token, status) == 202) {
		poll_until_done(t.d.url, status, t.admin_token, &r, &progressed);
		ids = cJSON_CreateObject();
		ok(r.status == 200 && download_all(t.d.url, &r, t.admin_token, "since", ids),
		   "_since the first export's transactionTime (%s)", since);
		ok(count_of(ids, "Specimen") == 1 && has(ids, "Specimen", masc2) &&
		       count_of(ids, "Patient") == 0 && count_of(ids, "Group") == 0,
		   "  holds only the specimen stored since, and no unchanged participant");
		cJSON_Delete(ids);
		resp_free(&r);
	}
	static const struct {
		const char *query, *code, *what;
	} bad[] = {
		{ "_type=Observation", "value-not-allowed", "a type we do not export" },
		{ "_type=Specimen,", "value-not-allowed", "an empty type in the list" },
		{ "_since=yesterday", "invalid-input", "a _since that is no instant" },
		{ "_since=2026-03-01", "invalid-input", "a _since without a time" },
		{ "_outputFormat=text/csv", "invalid-input", "an output format we do not write" },
		{ "_typeFilter=Specimen%3Fstatus%3Davailable", "invalid-input", "a _typeFilter" },
		{ "patient=Patient/1", "invalid-input", "a patient parameter" },
		{ "_type=Specimen&_type=Patient", "invalid-input", "_type given twice" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/fhir/Group/%ld/$export?%s", masc,
		         bad[i].query);
		http_h(t.d.url, "GET", path, t.admin_token, NULL, NULL, 0, async, &r);
		refused(&r, 400, bad[i].code, bad[i].what);
		resp_free(&r);
	}

	/* Cancelled: the status URL is gone, and so is everything it wrote. */
	snprintf(path, sizeof(path), "/api/v1/fhir/Group/%ld/$export", masc);
	if (kick_off(&t, path, t.admin_token, status) == 202) {
		char job[256];
		snprintf(job, sizeof(job), "%s", status + strlen("/api/v1/fhir/bulk/"));
		http(t.d.url, "DELETE", status, t.admin_token, NULL, NULL, 0, &r);
		is_int(r.status, 202, "DELETE on the status URL: 202");
		resp_free(&r);
		http(t.d.url, "GET", status, t.admin_token, NULL, NULL, 0, &r);
		refused(&r, 404, "export-not-found", "polling a cancelled export");
		resp_free(&r);
		long left = 1;
		for (long long until = mono_ms() + 10000; left != 0 && mono_ms() < until;
		     msleep(100))
			left = sql_intf(&t,
			                "SELECT (SELECT count(*) FROM fhir_exports WHERE id = '%s')"
			                " + (SELECT count(*) FROM fhir_export_chunks"
			                " WHERE export_id = '%s')",
			                job, job);
		is_int(left, 0, "  the job and its chunks are removed");
	}

	/* A job that fails: the poll says so as an OperationOutcome, and no file remains. */
	sql_exec(&t,
	         "ALTER TABLE fhir_export_chunks ADD CONSTRAINT broken CHECK (false) NOT VALID");
	if (kick_off(&t, path, t.admin_token, status) == 202) {
		poll_until_done(t.d.url, status, t.admin_token, &r, &progressed);
		refused(&r, 500, "export-failed", "an export whose chunks cannot be written");
		ok(jstr(&r, "issue.0.diagnostics") != NULL &&
		       strstr(jstr(&r, "issue.0.diagnostics"), "constraint") == NULL,
		   "  saying so in our words, not PostgreSQL's (%s)",
		   jstr(&r, "issue.0.diagnostics"));
		resp_free(&r);
	}
	sql_exec(&t, "ALTER TABLE fhir_export_chunks DROP CONSTRAINT broken");
	/* A job whose daemon died: silent for minutes, failed by the next poll. */
	sql_exec(&t,
	         "INSERT INTO fhir_exports (id, owner_id, types, request, status, heartbeat_at)"
	         " SELECT '00000000-0000-4000-8000-000000000001', id, '{Specimen}', 'x',"
	         " 'running', now() - interval '3 minutes' FROM users WHERE username = 'admin'");
	http(t.d.url, "GET", "/api/v1/fhir/bulk/00000000-0000-4000-8000-000000000001",
	     t.admin_token, NULL, NULL, 0, &r);
	refused(&r, 500, "export-failed", "a running export whose daemon stopped long ago");
	resp_free(&r);
	http(t.d.url, "GET", "/api/v1/fhir/bulk/not-a-job", t.admin_token, NULL, NULL, 0, &r);
	refused(&r, 404, "export-not-found", "a status URL that is none");
	resp_free(&r);

	fhir_validate(pairs, argv[2]);
	cJSON_Delete(pairs);
	tenv_teardown(&t);
	return tap_done();
}
