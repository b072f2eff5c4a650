/*
 * test_catalogue.c — what a researcher may learn from counts: the
 * catalogue per study, timepoint, type and purpose, and the MIABIS report,
 * each with every count below the threshold shown as "<5". A researcher
 * trying participant-level filters to single someone out is refused, a
 * filtered answer is a subset of the unfiltered one cell for cell (so two
 * answers cannot be subtracted), no total is given, and no answer names a
 * participant or a tube. The threshold is a setting.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

static char rita[128], sara[128], tom[128];

static void
tube(struct tenv *t, const char *study, const char *code, const char *type, const char *timepoint,
     const char *pos, char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"%s\",\"code\":\"%s\"},\"type\":\"%s\","
	         "\"timepoint\":\"%s\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	         "\"quantity\":{\"value\":1,\"unit\":\"mL\"}}",
	         study, code, type, timepoint);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	snprintf(id, 16, "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	if (r.status != 201)
		tap_diag("register: %ld %s", r.status, r.body);
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"box\":\"BOX-A\",\"position\":\"%s\"}", pos);
	world_act_quietly(t, id, "store", body);
}

static void
consent(struct tenv *t, const char *study, const char *code, const char *scope, const char *status)
{
	char path[128], body[256];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/participants/%s/%s/consents", study, code);
	snprintf(body, sizeof(body),
	         "{\"scope\":\"%s\",\"status\":\"%s\",\"date\":\"2026-01-05\",\"version\":\"v2\"}",
	         scope, status);
	api(t, "POST", path, t->admin_token, body, &r);
	if (r.status != 201)
		tap_diag("consent: %ld %s", r.status, r.body);
	resp_free(&r);
}

static char ids[12][16];

static void
setup(struct tenv *t)
{
	world_make(t);
	sql_exec(t, "INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
	            " SELECT id, 'P02' || n, CASE WHEN n % 2 = 0 THEN 'female' ELSE 'male' END,"
	            " 1950 + n, 'DM' FROM studies, generate_series(0, 8) n WHERE code = 'MASC'");
	make_user(t, "rita", "researcher", NULL, rita);
	make_user(t, "sara", "researcher", "[\"SSC\"]", sara);
	make_user(t, "tom", "technician", NULL, tom);
	int k = 0;
	/* Six donors with biobank and genetic consent, a baseline serum tube each. */
	for (int i = 0; i < 6; i++, k++) {
		char code[8], pos[8];

		snprintf(code, sizeof(code), "P02%d", i);
		snprintf(pos, sizeof(pos), "A%d", i + 1);
		consent(t, "MASC", code, "biobank", "given");
		consent(t, "MASC", code, "genetic", "given");
		tube(t, "MASC", code, "serum", "baseline", pos, ids[k]);
	}
	/* Two with commercial consent, an m12 PBMC tube each. */
	for (int i = 6; i < 8; i++, k++) {
		char code[8], pos[8];

		snprintf(code, sizeof(code), "P02%d", i);
		snprintf(pos, sizeof(pos), "B%d", i);
		consent(t, "MASC", code, "biobank", "given");
		consent(t, "MASC", code, "commercial", "given");
		tube(t, "MASC", code, "pbmc", "m12", pos, ids[k]);
	}
	/* One who withdrew: a tube still held (MIABIS), but never requestable. */
	consent(t, "MASC", "P028", "biobank", "given");
	tube(t, "MASC", "P028", "serum", "baseline", "C1", ids[k++]);
	consent(t, "MASC", "P028", "biobank", "withdrawn");
	/* P001 has no consent recorded: held, not requestable. */
	tube(t, "MASC", "P001", "serum", "baseline", "C2", ids[k++]);
	consent(t, "SSC", "S001", "biobank", "given");
	tube(t, "SSC", "S001", "serum", "baseline", "C3", ids[k++]);
}

/* The cell of the answer, or NULL. */
static const cJSON *
cell(const cJSON *root, const char *study, const char *timepoint, const char *type,
     const char *purpose)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cells"))
	{
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(c, "study"));
		const char *tp = cJSON_GetStringValue(cJSON_GetObjectItem(c, "timepoint"));
		const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(c, "type"));
		const char *pu = cJSON_GetStringValue(cJSON_GetObjectItem(c, "purpose"));

		if (s && tp && ty && pu && !strcmp(s, study) && !strcmp(tp, timepoint) &&
		    !strcmp(ty, type) && !strcmp(pu, purpose))
			return c;
	}
	return NULL;
}

/* A count as text: "6", or "<5". */
static const char *
count_text(const cJSON *c, const char *name, char buf[32])
{
	const cJSON *v = c ? cJSON_GetObjectItem(c, name) : NULL;

	if (cJSON_IsNumber(v))
		snprintf(buf, 32, "%d", v->valueint);
	else
		snprintf(buf, 32, "%s",
		         cJSON_GetStringValue(v) ? cJSON_GetStringValue(v) : "(none)");
	return buf;
}

/* No participant code and no specimen ID of the world in the answer. */
static bool
names_nobody(const struct resp *r)
{
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (ids[i][0] && strstr(r->body, ids[i]) != NULL)
			return false;
	return strstr(r->body, "P0") == NULL && strstr(r->body, "S001") == NULL;
}

/* Every count named in keys anywhere in v: a number at least min, or "<min". */
static bool
all_suppressed(const cJSON *v, int min)
{
	static const char *const keys[] = { "samples", "donors", "participants", "specimens" };
	char lt[16];
	const cJSON *c;

	snprintf(lt, sizeof(lt), "<%d", min);
	cJSON_ArrayForEach(c, v)
	{
		for (size_t k = 0; c->string && k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strcmp(c->string, keys[k]) &&
			    !((cJSON_IsNumber(c) && c->valueint >= min) ||
			      (cJSON_IsString(c) && !strcmp(c->valuestring, lt))))
				return false;
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && !all_suppressed(c, min))
			return false;
	}
	return true;
}

static void
catalogue(struct tenv *t)
{
	struct resp all, r;
	char a[32], b[32];

	api(t, "GET", "/api/v1/catalogue", rita, NULL, &all);
	is_int(all.status, 200, "a researcher reads the catalogue");
	is_int((long)jnum(&all, "min_cell", 0), 5, "  the threshold is 5");
	const cJSON *g = cell(all.json, "MASC", "baseline", "serum", "genetic");
	is_str(count_text(g, "participants", a), "6",
	       "  6 donors of baseline serum for genetic research");
	is_str(count_text(g, "specimens", b), "6", "  6 tubes");
	const cJSON *c = cell(all.json, "MASC", "m12", "pbmc", "commercial");
	is_str(count_text(c, "participants", a), "<5", "  2 commercial donors shown as <5");
	is_str(count_text(c, "specimens", b), "<5", "  and their 2 tubes");
	ok(cell(all.json, "MASC", "m12", "pbmc", "genetic") == NULL,
	   "  no cell where no donor consented");
	is_str(count_text(cell(all.json, "MASC", "baseline", "serum", "non-genetic"),
	                  "participants", a),
	       "6", "  the withdrawn donor and the one without consent are not counted");
	ok(all_suppressed(all.json, 5), "  every count is at least 5 or \"<5\"");
	ok(names_nobody(&all), "  no participant code or tube ID");
	is_int(cJSON_GetArraySize(all.json), 2, "  nothing but min_cell and cells: no totals");

	/* Filters pick whole cells: each filtered cell is the unfiltered one. */
	static const char *const filters[] = { "?type=serum", "?timepoint=m12",
		                               "?purpose=commercial", "?study=MASC&type=pbmc" };
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		char path[96];
		bool same = true;
		int n = 0;
		const cJSON *x;

		snprintf(path, sizeof(path), "/api/v1/catalogue%s", filters[i]);
		api(t, "GET", path, rita, NULL, &r);
		cJSON_ArrayForEach(x, cJSON_GetObjectItem(r.json, "cells"))
		{
			const char *f[4] = {
				cJSON_GetStringValue(cJSON_GetObjectItem(x, "study")),
				cJSON_GetStringValue(cJSON_GetObjectItem(x, "timepoint")),
				cJSON_GetStringValue(cJSON_GetObjectItem(x, "type")),
				cJSON_GetStringValue(cJSON_GetObjectItem(x, "purpose")),
			};
			const cJSON *u = cell(all.json, f[0], f[1], f[2], f[3]);
			char p1[32], p2[32], s1[32], s2[32];

			same =
			    same && u != NULL &&
			    !strcmp(count_text(x, "participants", p1),
			            count_text(u, "participants", p2)) &&
			    !strcmp(count_text(x, "specimens", s1), count_text(u, "specimens", s2));
			n++;
		}
		ok(r.status == 200 && n > 0 && same,
		   "%s: %d cells, each as in the unfiltered catalogue", filters[i], n);
		resp_free(&r);
	}

	/* Trying to single someone out. */
	static const struct {
		const char *query, *field, *code;
	} bad[] = {
		{ "?participant=P020", "participant", "invalid-input" },
		{ "?sex=female", "sex", "invalid-input" },
		{ "?diagnosis=DM", "diagnosis", "invalid-input" },
		{ "?birth_year=1950", "birth_year", "invalid-input" },
		{ "?purpose=cosmetic", "purpose", "value-not-allowed" },
		{ "?study=NOPE", "study", "unknown-study" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[96];

		snprintf(path, sizeof(path), "/api/v1/catalogue%s", bad[i].query);
		api(t, "GET", path, rita, NULL, &r);
		ok(is_problem(&r, 400) && problem_names_field(&r, bad[i].field),
		   "a filter %s: 400 naming %s", bad[i].query, bad[i].field);
		const char *code = jstr(&r, "code");
		ok(code != NULL &&
		       (!strcmp(code, bad[i].code) || !strcmp(bad[i].code, "invalid-input")),
		   "  code %s (got %s)", bad[i].code, code ? code : "(none)");
		resp_free(&r);
	}

	api(t, "GET", "/api/v1/catalogue", sara, NULL, &r);
	ok(r.status == 200 && strstr(r.body, "MASC") == NULL && strstr(r.body, "SSC") != NULL,
	   "a researcher of SSC sees SSC's cells only");
	resp_free(&r);
	api(t, "GET", "/api/v1/catalogue?study=MASC", sara, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "study"),
	   "  and MASC does not exist for her (400 naming study)");
	resp_free(&r);
	api(t, "GET", "/api/v1/catalogue", tom, NULL, &r);
	is_int(r.status, 200, "staff read the catalogue too");
	resp_free(&r);
	resp_free(&all);
}

static void
miabis(struct tenv *t)
{
	struct resp r;
	char a[32];

	api(t, "GET", "/api/v1/reports/miabis", rita, NULL, &r);
	is_int(r.status, 200, "a researcher reads the MIABIS report");
	is_str(jstr(&r, "collections.0.acronym"), "MASC", "  MASC is a collection");
	is_str(jstr(&r, "collections.0.id"), "bbmri:collection:MASC", "  with a directory id");
	const cJSON *masc = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "collections"), 0);
	const cJSON *size = cJSON_GetObjectItem(masc, "size");
	is_str(count_text(size, "samples", a), "10", "  10 tubes held (consent or not)");
	is_str(count_text(size, "donors", a), "10", "  of 10 donors");
	is_int(cJSON_GetObjectItem(size, "order_of_magnitude")->valueint, 1, "  size 10^1");
	ok(strstr(r.body, "\"material_type\": \"SERUM\"") ||
	       strstr(r.body, "\"material_type\":\"SERUM\""),
	   "  serum as MIABIS SERUM");
	ok(strstr(r.body, "PERIPHERAL_BLOOD_CELLS") != NULL, "  PBMC as PERIPHERAL_BLOOD_CELLS");
	ok(strstr(r.body, "temperature-60to-85") != NULL, "  a -80 freezer as temperature-60to-85");
	ok(strstr(r.body, "BIOLOGICAL_SAMPLES") != NULL, "  data categories");
	ok(strstr(r.body, "\"age_ranges\"") != NULL && strstr(r.body, "\"sex\"") != NULL,
	   "  sex and age ranges");
	ok(all_suppressed(r.json, 5), "  every count is at least 5 or \"<5\"");
	ok(names_nobody(&r), "  no participant code or tube ID");
	ok(strstr(r.body, "\"SSC\"") != NULL, "  SSC too");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/miabis?participant=P020", rita, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "participant"),
	   "a participant filter on the report: 400");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/miabis", sara, NULL, &r);
	ok(r.status == 200 && strstr(r.body, "MASC") == NULL, "a researcher of SSC: SSC only");
	resp_free(&r);
}

/* small_cell_min is a setting: 7 makes the 6-donor cells "<7"; below 2 is refused. */
static void
threshold(struct tenv *t)
{
	struct daemon d2 = { 0 };
	const char *extra[] = { "--small-cell-min=7", NULL };
	struct resp r;
	char a[32];

	if (daemon_start(t, &d2, extra) != 0) {
		ok(false, "a daemon with --small-cell-min=7 starts");
		return;
	}
	http(d2.url, "GET", "/api/v1/catalogue", rita, NULL, NULL, 0, &r);
	is_int((long)jnum(&r, "min_cell", 0), 7, "with small_cell_min 7");
	is_str(count_text(cell(r.json, "MASC", "baseline", "serum", "genetic"), "participants", a),
	       "<7", "  the 6 donors read <7");
	ok(all_suppressed(r.json, 7), "  every count is at least 7 or \"<7\"");
	resp_free(&r);
	daemon_stop(&d2);

	char *out = NULL;
	const char *argv[] = { t->biobankd, "--small-cell-min=1", "config", NULL };
	int rc = run_cmd(argv, NULL, NULL, &out);
	ok(rc != 0 && out != NULL && strstr(out, "small") != NULL,
	   "a threshold of 1 (no suppression) is refused at start-up");
	free(out);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "catalogue", argc, argv);
	setup(&t);
	catalogue(&t);
	miabis(&t);
	threshold(&t);
	tenv_teardown(&t);
	return tap_done();
}
