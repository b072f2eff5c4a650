/*
 * test_storage_care.c — storage that looks after its tubes (issue 18):
 * the −80 °C freezer whose door was left open (the shared logger file),
 * the monitoring export of three units (a −20 °C that alarms for two
 * hours, a sensor offline for two), the same export sent twice and one with
 * a bad line; every tube that was in the freezer meanwhile exposed (and
 * not the one checked out at the time), derived from where it was; the
 * tube checked out twice whose minutes out add up past its type's limit;
 * flags in lists, on the specimen, in its history, in FHIR and in the
 * report; maintenance due, done, done twice and overdue; a failed
 * freezer's evacuation planned under the rules, refused while a box has
 * nowhere to go, and executed as box moves.
 *
 * argv[1]: biobankd; argv[2]: the shared fixtures folder.
 */
#include "world.h"

#include "biobank.h"

#include <pthread.h>
#include <string.h>

static const char *fixtures;
static long freezer1, freezer2;
static char t1[16], t2[16], t3[16], t4[16];

static void
post_file(struct tenv *t, const char *path, const char *token, const char *body, struct resp *r)
{
	http(t->d.url, "POST", path, token, "text/csv", body, strlen(body), r);
}

static char *
fixture(const char *name)
{
	char path[1024];
	char *text = NULL;

	snprintf(path, sizeof(path), "%s/temperatures/%s", fixtures, name);
	if (bb_read_file(path, &text, NULL) != BB_OK) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	return text;
}

/* A tube's history rewritten to times of the past (events by seq), as the superuser. */
static void
set_times(struct tenv *t, const char *id, const char *times)
{
	char sql[1024];

	sql_exec(t, "ALTER TABLE events DISABLE TRIGGER USER");
	snprintf(sql, sizeof(sql),
	         "UPDATE events SET at = (ARRAY[%s]::timestamptz[])[seq] WHERE specimen_id = '%s'",
	         times, id);
	sql_exec(t, sql);
	sql_exec(t, "ALTER TABLE events ENABLE TRIGGER USER");
}

static bool
has_flag(const cJSON *flags, const char *limit)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, flags)
	{
		const cJSON *l = cJSON_GetObjectItem(f, "limit");
		if (cJSON_IsString(l) && strcmp(l->valuestring, limit) == 0)
			return true;
	}
	return false;
}

static const cJSON *
jpath(const struct resp *r, const char *key)
{
	return r->json ? cJSON_GetObjectItem(r->json, key) : NULL;
}

static void
make_world(struct tenv *t)
{
	world_make(t);
	freezer1 = sql_int(t, "SELECT id FROM locations WHERE name = 'Freezer 1'");
	sql_exec(t, "UPDATE locations SET barcode = 'FRZ-F80-07', nominal_temperature = '-80'"
	            " WHERE name = 'Freezer 1'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name, barcode, nominal_temperature)"
	            " SELECT id, 'freezer', 'Freezer 2', 'FRZ-F80-03', '-80'"
	            " FROM locations WHERE name = 'Main lab'");
	freezer2 = sql_int(t, "SELECT id FROM locations WHERE name = 'Freezer 2'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name, barcode, nominal_temperature)"
	            " SELECT id, 'freezer', 'Freezer -20', 'FRZ-F20-01', '-20'"
	            " FROM locations WHERE name = 'Main lab'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name, barcode, nominal_temperature)"
	            " SELECT id, 'freezer', 'LN2 tank', 'FRZ-LN2-1', '-196'"
	            " FROM locations WHERE name = 'Main lab'");
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT 'BOX-F2', 9, 9, id FROM locations WHERE name = 'Freezer 2'");
	/* The boxes stood where they stand since long before the excursions. */
	sql_exec(t, "UPDATE box_stays SET since = '2026-01-01T00:00:00Z'");
}

/* Serum tubes with a history in the past (stored 1 October 2026). */
static void
make_tubes(struct tenv *t)
{
	struct resp r;

	if (!world_register(t, "MASC", "P001", "serum", t1) ||
	    !world_register(t, "MASC", "P001", "serum", t2) ||
	    !world_register(t, "MASC", "P002", "serum", t3) ||
	    !world_register(t, "SSC", "S001", "serum", t4)) {
		printf("Bail out! cannot register the tubes\n");
		exit(1);
	}
	world_act_quietly(t, t1, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}");
	world_act_quietly(t, t2, "store", "{\"box\":\"BOX-A\",\"position\":\"A2\"}");
	world_act_quietly(t, t3, "store", "{\"box\":\"BOX-B\",\"position\":\"A1\"}");
	world_act_quietly(t, t4, "store", "{\"box\":\"BOX-F2\",\"position\":\"A1\"}");
	/* T2 is out for three hours around the excursion, and thawed. */
	world_act_quietly(t, t2, "checkout", "{\"reason\":\"ELISA\"}");
	world_act(t, t2, "return",
	          "{\"box\":\"BOX-A\",\"position\":\"A2\",\"thawed\":true,\"reason\":\"back\"}",
	          NULL, &r);
	is_int(r.status, 200, "a tube checked out comes back thawed");
	resp_free(&r);
	/* T3 is checked out twice: 30 then 40 minutes, neither alone past an hour. */
	world_act_quietly(t, t3, "checkout", "{\"reason\":\"aliquot\"}");
	world_act_quietly(t, t3, "return",
	                  "{\"box\":\"BOX-B\",\"position\":\"A1\",\"thawed\":false}");
	world_act_quietly(t, t3, "checkout", "{\"reason\":\"aliquot again\"}");
	world_act_quietly(t, t3, "return",
	                  "{\"box\":\"BOX-B\",\"position\":\"A1\",\"thawed\":false}");
	set_times(t, t1, "'2026-10-01T08:00Z', '2026-10-01T08:05Z'");
	set_times(t, t2,
	          "'2026-10-01T08:00Z', '2026-10-01T08:05Z', '2026-11-03T12:00Z', "
	          "'2026-11-03T15:00Z'");
	set_times(t, t3,
	          "'2026-10-01T08:00Z', '2026-10-01T08:05Z', '2026-11-05T10:00Z', "
	          "'2026-11-05T10:30Z', '2026-11-05T11:00Z', '2026-11-05T11:40Z'");
	set_times(t, t4, "'2026-10-01T08:00Z', '2026-10-01T08:05Z'");
}

static void
logger_file(struct tenv *t, char *logger, char *tech)
{
	struct resp r;
	char path[96];

	snprintf(path, sizeof(path), "/api/v1/locations/%ld/temperatures", freezer1);
	post_file(t, path, tech, logger, &r);
	is_int(r.status, 200, "the logger's file of the -80 freezer is taken");
	is_int((long)jnum(&r, "readings", -1), 288, "  288 readings, titles and header left out");
	is_int((long)jnum(&r, "stored", -1), 288, "  all stored");
	is_int((long)jnum(&r, "locations.0.limit_c", 0), -70,
	       "  the limit is the -80 class's default, -70 °C");
	const cJSON *xs = cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "locations"), 0), "excursions");
	is_int(cJSON_GetArraySize(xs), 1, "  one excursion: the door left open");
	is_str(jstr(&r, "locations.0.excursions.0.started_at"), "2026-11-03T13:20:00Z",
	       "  from the first reading above -70 °C (14:20 local, UTC+1)");
	is_str(jstr(&r, "locations.0.excursions.0.ended_at"), "2026-11-03T13:45:00Z",
	       "  to the first back below");
	is_int((long)jnum(&r, "locations.0.excursions.0.peak_c", 0), -55, "  peak -55 °C");
	is_int((long)jnum(&r, "locations.0.excursions.0.minutes", 0), 25, "  25 minutes");
	resp_free(&r);

	post_file(t, path, tech, logger, &r);
	ok(r.status == 200 && jnum(&r, "stored", -1) == 0 && jnum(&r, "unchanged", -1) == 288,
	   "the same file again: nothing new, 288 unchanged");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM excursions"), 1, "  and still one excursion");

	/* A hand-edited copy: one value mistyped. */
	char *bad = strdup(logger);
	char *at = strstr(bad, "-73.8");
	memcpy(at, "-7x.8", 5);
	post_file(t, path, tech, bad, &r);
	ok(is_problem(&r, 400) && strcmp(jstr(&r, "code"), "temperature-file-refused") == 0 &&
	       strstr(jstr(&r, "detail"), "line ") != NULL,
	   "a file with a mistyped value: 400 naming the line (%s)", jstr(&r, "detail"));
	resp_free(&r);
	free(bad);

	/* A reading by hand that contradicts the logger. */
	api(t, "POST", path, tech, "{\"at\":\"2026-11-03T13:30:00Z\",\"temperature_c\":-80}", &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "reading-conflict") == 0,
	   "a reading by hand at a time the logger has another: 409 reading-conflict");
	resp_free(&r);
	api(t, "POST", path, tech, "{\"at\":\"2999-01-01T00:00:00Z\",\"temperature_c\":-80}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "at"),
	   "a reading in the future (a logger's clock): 400 naming at");
	resp_free(&r);
	api(t, "POST", path, tech,
	    "{\"readings\":[{\"at\":\"2026-11-10T00:00:00Z\",\"temperature_c\":-80},"
	    "{\"at\":\"2026-11-10T00:00:00Z\",\"temperature_c\":-60}]}",
	    &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "readings[1]"),
	   "one time twice with two values: 400 naming readings[1]");
	resp_free(&r);
	api(t, "POST", path, tech, "{\"temperature_c\":-80}", &r);
	ok(is_problem(&r, 400), "a reading without its time: 400");
	resp_free(&r);
	post_file(t, path, tech, "\"Date/Time\",\"No.1\"\r\n\"2026-11-03 00:00:00\",-80.3\r\n", &r);
	ok(is_problem(&r, 400) && strstr(jstr(&r, "detail"), "line 1") != NULL,
	   "local times without a zone: 400 at line 1, not guessed");
	resp_free(&r);
	post_file(t, path, tech, "time,temperature_c\n\"2026-11-03T00:00:00Z,-80\n", &r);
	ok(is_problem(&r, 400) && strstr(jstr(&r, "detail"), "line 2") != NULL,
	   "an unterminated quote: 400 at line 2");
	resp_free(&r);
	is_int(sql_int(t, "SELECT count(*) FROM temperature_readings"), 288,
	       "nothing refused was stored");
}

static void
monitoring_export(struct tenv *t, char *tech)
{
	struct resp r;
	char *csv = fixture("monitoring-export.csv");

	/* A line of a unit nobody registered: the whole export is refused, naming it. */
	size_t len = strlen(csv);
	char *bad = malloc(len + 64);
	snprintf(bad, len + 64, "%sS-X,FRZ-NONE,2026-11-04T23:30:00Z,-80.0,\n", csv);
	post_file(t, "/api/v1/temperatures", tech, bad, &r);
	ok(is_problem(&r, 400) && strcmp(jstr(&r, "code"), "unknown-location") == 0 &&
	       problem_names_field(&r, "line 142"),
	   "an export with a unit not registered: 400 unknown-location naming line 142");
	resp_free(&r);
	free(bad);

	post_file(t, "/api/v1/temperatures", tech, csv, &r);
	is_int(r.status, 200, "the monitoring export of three units is taken");
	is_int((long)jnum(&r, "stored", -1), 140, "  140 readings");
	const cJSON *locs = jpath(&r, "locations");
	const cJSON *l;
	int seen = 0;
	cJSON_ArrayForEach(l, locs)
	{
		const char *code =
		    cJSON_GetObjectItem(cJSON_GetObjectItem(l, "location"), "barcode")->valuestring;
		const cJSON *xs = cJSON_GetObjectItem(l, "excursions");
		const cJSON *gaps = cJSON_GetObjectItem(l, "gaps");
		if (strcmp(code, "FRZ-F20-01") == 0) {
			const cJSON *x = cJSON_GetArrayItem(xs, 0);
			ok(cJSON_GetArraySize(xs) == 1 &&
			       strcmp(cJSON_GetObjectItem(x, "started_at")->valuestring,
			              "2026-11-04T15:00:00Z") == 0 &&
			       strcmp(cJSON_GetObjectItem(x, "ended_at")->valuestring,
			              "2026-11-04T17:00:00Z") == 0 &&
			       cJSON_GetObjectItem(x, "peak_c")->valuedouble == -9.0,
			   "  the -20 freezer: one excursion 15:00-17:00, peak -9 °C");
			seen++;
		} else if (strcmp(code, "FRZ-F80-03") == 0) {
			ok(cJSON_GetArraySize(xs) == 0 && cJSON_GetArraySize(gaps) == 1 &&
			       cJSON_GetObjectItem(cJSON_GetArrayItem(gaps, 0), "minutes")
			               ->valuedouble == 150,
			   "  the -80 sensor offline: a gap of 150 minutes reported, no excursion");
			seen++;
		} else if (strcmp(code, "FRZ-LN2-1") == 0) {
			ok(cJSON_GetArraySize(xs) == 0 && cJSON_GetArraySize(gaps) == 0,
			   "  the LN2 tank: nothing to report");
			seen++;
		}
	}
	is_int(seen, 3, "  each unit is answered for");
	resp_free(&r);
	free(csv);

	char path[96];
	snprintf(path, sizeof(path), "/api/v1/locations/%ld/temperatures", freezer1);
	post_file(
	    t, path, tech,
	    "sensor,location_barcode,time,temperature_c\nS,FRZ-F80-03,2026-11-06T00:00:00Z,-80\n",
	    &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "line 2"),
	   "another unit's line posted to Freezer 1: 400 naming line 2");
	resp_free(&r);
}

static void
exposure(struct tenv *t, char *aud, char *masc)
{
	struct resp r;
	char path[128];

	api(t, "PUT", "/api/v1/specimen-types/serum/limits", t->admin_token,
	    "{\"max_freeze_thaw\":3,\"max_minutes_out\":60,\"max_excursion_minutes\":20}", &r);
	is_int(r.status, 200, "serum tolerates 3 thaws, an hour out, 20 minutes of excursion");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/exposure", t1);
	api(t, "GET", path, aud, NULL, &r);
	is_int(r.status, 200, "T1, in the freezer all along:");
	is_int((long)jnum(&r, "excursion_minutes", -1), 25, "  25 minutes of excursion");
	ok(has_flag(jpath(&r, "flags"), "excursion-minutes"), "  flagged past 20");
	is_str(jstr(&r, "exposures.0.box"), "BOX-A", "  exposed in BOX-A");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/events", t1);
	api(t, "GET", path, aud, NULL, &r);
	ok(r.status == 200 && jnum(&r, "exposures.0.exposed_minutes", -1) == 25 &&
	       strcmp(jstr(&r, "exposures.0.type"), "exposure") == 0,
	   "its history shows the exposure");
	resp_free(&r);
	is_int(sql_intf(t, "SELECT count(*) FROM events WHERE specimen_id = '%s'", t1), 2,
	       "  derived, not written: still two events");

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/exposure", t2);
	api(t, "GET", path, aud, NULL, &r);
	ok(r.status == 200 && jnum(&r, "excursion_minutes", -1) == 0,
	   "T2, checked out during the excursion: not exposed");
	is_int((long)jnum(&r, "minutes_out_of_storage", -1), 180, "  180 minutes out");
	ok(has_flag(jpath(&r, "flags"), "minutes-out") &&
	       !has_flag(jpath(&r, "flags"), "freeze-thaw"),
	   "  flagged for time out, not for its one thaw");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/exposure", t3);
	api(t, "GET", path, aud, NULL, &r);
	is_int((long)jnum(&r, "minutes_out_of_storage", -1), 70,
	       "T3, checked out twice: 30 + 40 = 70 minutes");
	ok(has_flag(jpath(&r, "flags"), "minutes-out"), "  flagged: the sum passes the hour");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s", t4);
	api(t, "GET", path, aud, NULL, &r);
	ok(r.status == 200 && jpath(&r, "flags") == NULL,
	   "T4, in another freezer: no flags at all");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens?location=%ld", freezer1);
	api(t, "GET", path, aud, NULL, &r);
	{
		int flagged = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, jpath(&r, "items")) flagged +=
		    cJSON_GetObjectItem(it, "flags") != NULL;
		is_int(flagged, 3, "the list of Freezer 1 shows its three flagged tubes");
	}
	resp_free(&r);

	long xid = sql_int(t, "SELECT id FROM excursions WHERE peak_c = -55");
	snprintf(path, sizeof(path), "/api/v1/excursions/%ld", xid);
	api(t, "GET", path, aud, NULL, &r);
	{
		char *tubes = cJSON_PrintUnformatted(jpath(&r, "tubes"));
		ok(r.status == 200 && cJSON_GetArraySize(jpath(&r, "tubes")) == 2 &&
		       strstr(tubes, t1) && strstr(tubes, t3) && !strstr(tubes, t2),
		   "the excursion lists T1 and T3, not T2 (out at the time)");
		free(tubes);
	}
	resp_free(&r);
	api(t, "GET", "/api/v1/excursions/999999", aud, NULL, &r);
	ok(is_problem(&r, 404) && strcmp(jstr(&r, "code"), "excursion-not-found") == 0,
	   "an excursion that is not: 404");
	resp_free(&r);

	api(t, "GET", "/api/v1/reports/exposure", aud, NULL, &r);
	is_int((long)jnum(&r, "count", -1), 3, "the exposure report lists the three tubes");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/reports/exposure?location=%ld", freezer2);
	api(t, "GET", path, aud, NULL, &r);
	is_int((long)jnum(&r, "count", -1), 0, "  none below Freezer 2");
	resp_free(&r);
	api(t, "GET", "/api/v1/reports/exposure?location=abc", aud, NULL, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "location"),
	   "  ?location=abc: 400 naming location");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", t1);
	api(t, "GET", path, aud, NULL, &r);
	is_str(jstr(&r, "condition.0.coding.0.code"), "past-limit-excursion-minutes",
	       "FHIR: the exposed tube has a condition saying so");
	resp_free(&r);

	/* A study-limited manager sees the tubes of its study only. */
	api(t, "GET", "/api/v1/reports/exposure", masc, NULL, &r);
	is_int((long)jnum(&r, "count", -1), 3, "a MASC user: the three tubes are MASC's");
	resp_free(&r);

	/* The limit raised to 30 minutes: T1 is no longer past it. */
	api(t, "PUT", "/api/v1/specimen-types/serum/limits", t->admin_token,
	    "{\"max_freeze_thaw\":3,\"max_minutes_out\":60,\"max_excursion_minutes\":30}", &r);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", t1);
	api(t, "GET", path, aud, NULL, &r);
	ok(jpath(&r, "flags") == NULL, "a limit of 30 minutes: T1 no longer flagged");
	resp_free(&r);
	api(t, "PUT", "/api/v1/specimen-types/plasma2/limits", t->admin_token,
	    "{\"max_freeze_thaw\":3}", &r);
	ok(is_problem(&r, 404), "limits of an unknown type: 404");
	resp_free(&r);
	api(t, "PUT", "/api/v1/specimen-types/serum/limits", t->admin_token,
	    "{\"max_freeze_thaw\":-1}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "max_freeze_thaw"),
	   "a negative limit: 400 naming it");
	resp_free(&r);

	/* A stricter alarm of its own for Freezer 1: the excursion is found again. */
	snprintf(path, sizeof(path), "/api/v1/locations/%ld/temperature-limit", freezer1);
	api(t, "PUT", path, t->admin_token, "{\"alarm_above_c\":-75,\"excursion_minutes\":5}", &r);
	ok(r.status == 200 && jnum(&r, "limit.in_force_c", 0) == -75,
	   "Freezer 1 alarms above -75 °C from now on");
	is_str(jstr(&r, "excursions.0.started_at"), "2026-11-03T13:15:00Z",
	       "  its excursion now starts at the first reading above -75");
	resp_free(&r);
}

static void
maintenance(struct tenv *t, char *tech, char *aud)
{
	struct resp r;
	char path[96];

	snprintf(path, sizeof(path), "/api/v1/locations/%ld/maintenance", freezer1);
	api(t, "POST", path, t->admin_token,
	    "{\"kind\":\"defrost\",\"due_on\":\"2020-01-15\",\"notes\":\"ice on the door seal\"}",
	    &r);
	is_int(r.status, 201, "a defrost scheduled (long ago)");
	long defrost = (long)jnum(&r, "id", 0);
	ok(jpath(&r, "overdue") && cJSON_IsTrue(jpath(&r, "overdue")), "  it is overdue");
	resp_free(&r);
	api(t, "POST", path, t->admin_token,
	    "{\"kind\":\"alarm_test\",\"due_on\":\"2020-02-01\",\"every_days\":90}", &r);
	long alarm = (long)jnum(&r, "id", 0);
	resp_free(&r);
	api(t, "POST", path, tech, "{\"kind\":\"service\",\"due_on\":\"2030-01-01\"}", &r);
	ok(is_problem(&r, 403), "a technician does not schedule: 403");
	resp_free(&r);
	api(t, "POST", path, t->admin_token, "{\"kind\":\"repaint\",\"due_on\":\"2030-01-01\"}",
	    &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "kind"), "an unknown kind: 400");
	resp_free(&r);
	api(t, "POST", path, t->admin_token, "{\"kind\":\"service\",\"due_on\":\"2030-02-30\"}",
	    &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "due_on"),
	   "30 February: 400 naming due_on");
	resp_free(&r);
	api(t, "POST", "/api/v1/locations/999999/maintenance", t->admin_token,
	    "{\"kind\":\"service\",\"due_on\":\"2030-01-01\"}", &r);
	ok(is_problem(&r, 404), "maintenance of a location that is not: 404");
	resp_free(&r);

	api(t, "GET", "/api/v1/maintenance/overdue", aud, NULL, &r);
	is_int((long)jnum(&r, "count", -1), 2, "two tasks overdue");
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/maintenance/%ld/done", defrost);
	api(t, "POST", path, tech, "{\"notes\":\"defrosted, seal cleaned\"}", &r);
	ok(r.status == 200 && strcmp(jstr(&r, "done_by"), "tech") == 0,
	   "the technician defrosted it: done by tech");
	resp_free(&r);
	api(t, "POST", path, tech, "{}", &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "task-done") == 0,
	   "done twice (a double click): 409 task-done");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/maintenance/%ld/done", alarm);
	api(t, "POST", path, tech, "{\"done_at\":\"2999-01-01T00:00:00Z\"}", &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "done_at"), "done in the future: 400");
	resp_free(&r);
	api(t, "POST", path, tech, "{}", &r);
	ok(r.status == 200 && jnum(&r, "next.every_days", 0) == 90 &&
	       cJSON_IsFalse(cJSON_GetObjectItem(jpath(&r, "next"), "overdue")),
	   "the recurring alarm test done: the next one is scheduled in 90 days");
	resp_free(&r);
	api(t, "POST", "/api/v1/maintenance/999999/done", tech, "{}", &r);
	ok(is_problem(&r, 404), "a task that is not: 404");
	resp_free(&r);

	api(t, "GET", "/api/v1/maintenance/overdue", aud, NULL, &r);
	is_int((long)jnum(&r, "count", -1), 0, "nothing overdue any more");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/locations/%ld/maintenance", freezer1);
	api(t, "GET", path, aud, NULL, &r);
	ok(r.status == 200 && cJSON_GetArraySize(jpath(&r, "items")) == 3 &&
	       jstr(&r, "items.0.done_at") == NULL,
	   "Freezer 1's tasks: three, the open one first");
	resp_free(&r);
}

static void
evacuation(struct tenv *t, char *tech)
{
	struct resp r;
	char path[96], body[512];

	/* Serum only at -80; Freezer 2 has one free slot; the -20 has room but not for serum. */
	api(t, "PUT", "/api/v1/specimen-types/serum/storage", t->admin_token,
	    "{\"temperatures\":[\"-80\"]}", &r);
	resp_free(&r);
	sql_exec(t, "UPDATE locations SET box_slots = 2 WHERE name = 'Freezer 2'");
	sql_exec(t, "UPDATE locations SET box_slots = 10 WHERE name = 'Freezer -20'");
	snprintf(path, sizeof(path), "/api/v1/locations/%ld/evacuation", freezer1);
	api(t, "GET", path, tech, NULL, &r);
	is_int(r.status, 200, "the evacuation plan of Freezer 1");
	is_int((long)jnum(&r, "boxes", -1), 3, "  three boxes");
	is_int((long)jnum(&r, "unplaced", -1), 1, "  one with nowhere to go under the rules");
	ok(jnum(&r, "items.0.to.id", 0) == freezer2, "  BOX-A to Freezer 2, its one free slot");
	is_str(jstr(&r, "items.1.problem"), "no-room",
	       "  BOX-B (serum): no-room, the -20 freezer does not take serum");
	is_str(jstr(&r, "items.2.to.path.1"), "Freezer -20", "  the empty TINY may go to the -20");
	resp_free(&r);

	api(t, "POST", path, tech, "{\"reason\":\"compressor failed\"}", &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "no-room") == 0 &&
	       strcmp(jstr(&r, "box"), "BOX-B") == 0,
	   "evacuating now: 409 no-room naming BOX-B");
	resp_free(&r);
	is_int(sql_intf(t,
	                "SELECT count(*) FROM boxes b JOIN locations l ON l.id = b.location_id"
	                " WHERE l.ancestors @> ARRAY[%ld::bigint]",
	                freezer1),
	       3, "  nothing moved");

	sql_exec(
	    t,
	    "INSERT INTO locations (parent_id, kind, name, nominal_temperature, box_slots)"
	    " SELECT id, 'freezer', 'Freezer 5', '-80', 4 FROM locations WHERE name = 'Main lab'");
	long freezer5 = sql_int(t, "SELECT id FROM locations WHERE name = 'Freezer 5'");
	struct resp csv;
	const char *accept[] = { "Accept: text/csv", NULL };
	http_h(t->d.url, "GET", path, tech, NULL, NULL, 0, accept, &csv);
	ok(csv.status == 200 && strncmp(csv.body, "step,box,tubes,from_path,to_location", 36) == 0,
	   "the pick list as CSV for the bench");
	resp_free(&csv);

	/* A hand-made list that forgets a box. */
	snprintf(body, sizeof(body), "{\"moves\":[{\"box\":\"BOX-A\",\"to\":%ld}]}", freezer5);
	api(t, "POST", path, tech, body, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "evacuation-incomplete") == 0,
	   "moves that leave boxes behind: 409 evacuation-incomplete");
	resp_free(&r);

	api(t, "POST", path, tech, "{\"reason\":\"compressor failed\"}", &r);
	is_int(r.status, 200, "with Freezer 5 there, the plan is executed");
	is_int((long)jnum(&r, "boxes", -1), 3, "  three boxes moved");
	is_int((long)jnum(&r, "tubes", -1), 3, "  with their three tubes");
	resp_free(&r);
	is_int(sql_intf(t,
	                "SELECT count(*) FROM boxes b JOIN locations l ON l.id = b.location_id"
	                " WHERE l.ancestors @> ARRAY[%ld::bigint]",
	                freezer1),
	       0, "Freezer 1 is empty");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM events WHERE specimen_id = '%s' AND type = 'moved'",
	                t1),
	       1, "  T1 has its moved event");
	char p2[96];
	snprintf(p2, sizeof(p2), "/api/v1/specimens/%s/exposure", t1);
	api(t, "GET", p2, tech, NULL, &r);
	is_int(cJSON_GetArraySize(jpath(&r, "places")), 2,
	       "  and its location history has the freezer it went to");
	resp_free(&r);
	api(t, "POST", path, tech, "{}", &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "nothing-to-move") == 0,
	   "evacuating the empty freezer again: 409 nothing-to-move");
	resp_free(&r);
}

/* Two technicians evacuate the same freezer at once (two pick lists printed). */
struct evacuator {
	struct tenv *t;
	const char *token, *path;
	long status;
	char code[64];
};

static void *
evacuate(void *arg)
{
	struct evacuator *e = arg;
	struct resp r;

	api(e->t, "POST", e->path, e->token, "{\"reason\":\"alarm at night\"}", &r);
	e->status = r.status;
	snprintf(e->code, sizeof(e->code), "%s", jstr(&r, "code") ? jstr(&r, "code") : "");
	resp_free(&r);
	return NULL;
}

static void
evacuation_race(struct tenv *t, char *tech, char *aud)
{
	char path[96];

	sql_exec(
	    t, "INSERT INTO locations (parent_id, kind, name, nominal_temperature)"
	       " SELECT id, 'freezer', 'Freezer 6', '-80' FROM locations WHERE name = 'Main lab'");
	long freezer6 = sql_int(t, "SELECT id FROM locations WHERE name = 'Freezer 6'");
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT b, 9, 9, (SELECT id FROM locations WHERE name = 'Freezer 6')"
	            " FROM unnest(ARRAY['BOX-R1', 'BOX-R2']) b");
	sql_exec(t, "UPDATE locations SET box_slots = 10 WHERE name = 'Freezer 5'");
	snprintf(path, sizeof(path), "/api/v1/locations/%ld/evacuation", freezer6);
	struct evacuator e[2] = { { t, tech, path, 0, "" }, { t, tech, path, 0, "" } };
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, evacuate, &e[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ok((e[0].status == 200) != (e[1].status == 200),
	   "two evacuations of Freezer 6 at once: one moves the boxes (%ld, %ld)", e[0].status,
	   e[1].status);
	ok(strcmp(e[0].status == 200 ? e[1].code : e[0].code, "nothing-to-move") == 0,
	   "  the other finds nothing left to move");
	is_int(sql_intf(t, "SELECT count(*) FROM boxes WHERE location_id = %ld", freezer6), 0,
	       "  Freezer 6 is empty");
	is_int(sql_intf(t,
	                "SELECT count(*) FROM box_stays s JOIN boxes b ON b.id = s.box_id"
	                " WHERE b.barcode IN ('BOX-R1', 'BOX-R2') AND s.location_id = %ld",
	                freezer6),
	       2, "  each box left Freezer 6 once");
	struct resp r;
	api(t, "POST", path, aud, "{}", &r);
	ok(is_problem(&r, 403), "an auditor does not evacuate: 403");
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char tech[128], aud[128], masc[128];

	fixtures = argc > 2 ? argv[2] : NULL;
	tenv_setup(&t, "storage_care", argc, argv);
	if (fixtures == NULL) {
		printf("Bail out! no fixtures folder\n");
		return 1;
	}
	make_world(&t);
	is_int(make_user(&t, "tech", "technician", NULL, tech), 0, "a technician logs in");
	is_int(make_user(&t, "ada", "auditor", NULL, aud), 0, "an auditor logs in");
	is_int(make_user(&t, "mia", "manager", "[\"MASC\"]", masc), 0, "a MASC manager logs in");
	make_tubes(&t);
	char *logger = fixture("logger-f80-07.csv");
	logger_file(&t, logger, tech);
	free(logger);
	monitoring_export(&t, tech);
	exposure(&t, aud, masc);
	maintenance(&t, tech, aud);
	evacuation(&t, tech);
	evacuation_race(&t, tech, aud);
	tenv_teardown(&t);
	return tap_done();
}
