/*
 * world.h — a small biobank for the specimen tests, made with SQL as the
 * superuser so that these tests do not depend on the storage and
 * participant endpoints they do not test: studies MASC and SSC, participants
 * MASC/P001, MASC/P002 and SSC/S001, a site with a −80 °C freezer and a
 * rack holding 9×9 boxes BOX-A and BOX-B, and a 1×2 box TINY.
 */
#ifndef BB_TEST_WORLD_H
#define BB_TEST_WORLD_H

#include "testlib.h"

__attribute__((unused)) static void
world_make(struct tenv *t)
{
	static const char *const sql[] = {
		"INSERT INTO studies (code, name) VALUES ('MASC', 'Myositis cohort'),"
		" ('SSC', 'Systemic sclerosis cohort')",
		"INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
		" SELECT id, 'P001', 'female', 1968, 'DM' FROM studies WHERE code = 'MASC'",
		"INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
		" SELECT id, 'P002', 'male', 1975, 'IBM' FROM studies WHERE code = 'MASC'",
		"INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
		" SELECT id, 'S001', 'female', 1981, 'SSc' FROM studies WHERE code = 'SSC'",
		"INSERT INTO locations (kind, name) VALUES ('site', 'Main lab')",
		"INSERT INTO locations (parent_id, kind, name, temperature_c)"
		" SELECT id, 'freezer', 'Freezer 1', -80 FROM locations WHERE name = 'Main lab'",
		"INSERT INTO locations (parent_id, kind, name)"
		" SELECT id, 'rack', 'Rack 1' FROM locations WHERE name = 'Freezer 1'",
		"INSERT INTO boxes (barcode, rows, cols, location_id)"
		" SELECT b, 9, 9, (SELECT id FROM locations WHERE name = 'Rack 1')"
		" FROM unnest(ARRAY['BOX-A', 'BOX-B']) b",
		"INSERT INTO boxes (barcode, rows, cols, location_id)"
		" SELECT 'TINY', 1, 2, id FROM locations WHERE name = 'Rack 1'",
	};
	bool ok_sql;

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		free(sql_value(t, sql[i], &ok_sql));
		if (!ok_sql) {
			printf("Bail out! cannot make the test world: %s\n", sql[i]);
			exit(1);
		}
	}
}

/* Register one specimen of MASC/P001 (or the given participant); returns its ID in id. */
__attribute__((unused)) static bool
world_register(struct tenv *t, const char *study, const char *participant, const char *type,
               char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"%s\",\"code\":\"%s\"},\"type\":\"%s\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	         "\"quantity\":{\"value\":2,\"unit\":\"mL\"}}",
	         study, participant, type);
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	bool ok = r.status == 201 && jstr(&r, "id") != NULL;
	if (ok)
		snprintf(id, 16, "%s", jstr(&r, "id"));
	else
		tap_diag("register failed: %ld %s", r.status, r.body);
	resp_free(&r);
	return ok;
}

/* POST /api/v1/specimens/{id}/{action} with body, as token (NULL: the admin); r is the answer. */
__attribute__((unused)) static void
world_act(struct tenv *t, const char *id, const char *action, const char *body, const char *token,
          struct resp *r)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/%s", id, action);
	api(t, "POST", path, token ? token : t->admin_token, body, r);
}

/* The same when only its success matters to the test: a refusal is shown, not counted. */
__attribute__((unused)) static void
world_act_quietly(struct tenv *t, const char *id, const char *action, const char *body)
{
	struct resp r;

	world_act(t, id, action, body, NULL, &r);
	if (r.status != 200 && r.status != 201)
		tap_diag("%s %s: %ld %s", action, id, r.status, r.body);
	resp_free(&r);
}

#endif
