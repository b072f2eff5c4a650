/*
 * test_pages.c — what the web pages read (docs/api-ui.md): the site's
 * settings, and a box's grid in one answer. From the bench: a technician
 * opens a 9×9 box where two tubes are stored and one of them was checked
 * out for an ELISA run, a tube of another study sits beside them, and a
 * tube checked out from another box must not show here; a study-limited
 * technician sees the other study's tube as occupied without its ID; a
 * mistyped box barcode is 404. The site answers its time zone and its
 * printers, as configured at start-up, to any user, and nothing without a
 * token.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

static char masc_token[128];

/* The checked_out entry of a grid answer at position pos, or NULL. */
static const cJSON *
home_at(const struct resp *r, const char *pos)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(r->json, "checked_out"))
	{
		const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(e, "position"));
		if (p != NULL && strcmp(p, pos) == 0)
			return e;
	}
	return NULL;
}

static const char *
field(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
}

static void
grid(struct tenv *t)
{
	char kept[16], out[16], other[16], away[16];
	struct resp r;

	if (!world_register(t, "MASC", "P001", "serum", kept) ||
	    !world_register(t, "MASC", "P002", "plasma", out) ||
	    !world_register(t, "SSC", "S001", "serum", other) ||
	    !world_register(t, "MASC", "P001", "serum", away)) {
		ok(false, "the tubes are registered");
		return;
	}
	world_act(t, kept, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}", NULL, &r);
	resp_free(&r);
	world_act(t, out, "store", "{\"box\":\"BOX-A\",\"position\":\"B2\"}", NULL, &r);
	resp_free(&r);
	world_act(t, other, "store", "{\"box\":\"BOX-A\",\"position\":\"C3\"}", NULL, &r);
	resp_free(&r);
	world_act(t, away, "store", "{\"box\":\"BOX-B\",\"position\":\"A1\"}", NULL, &r);
	resp_free(&r);
	world_act(t, out, "checkout", "{\"reason\":\"ELISA run\"}", NULL, &r);
	is_int(r.status, 200, "check out the tube at BOX-A B2");
	resp_free(&r);
	world_act(t, away, "checkout", "{\"reason\":\"PCR\"}", NULL, &r);
	resp_free(&r);

	api(t, "GET", "/api/v1/boxes/BOX-A/grid", t->admin_token, NULL, &r);
	is_int(r.status, 200, "GET /boxes/BOX-A/grid answers 200");
	is_int((long)jnum(&r, "rows", 0) * (long)jnum(&r, "cols", 0), 81,
	       "  with the box's shape (9×9)");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "positions")), 81,
	       "  and all 81 positions");
	is_int((long)jnum(&r, "used", -1), 2,
	       "  two of them used (the checked-out tube's is free)");
	is_str(jstr(&r, "positions.0.specimen"), kept, "  A1 names the tube stored there");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "checked_out")), 1,
	       "  one checked-out tube has its home here (not the one from BOX-B)");
	const cJSON *h = home_at(&r, "B2");
	ok(h != NULL, "  its home is B2");
	if (h != NULL) {
		is_str(field(h, "specimen"), out, "  it names the tube");
		is_str(field(h, "actor"), "admin", "  who checked it out");
		is_str(field(h, "reason"), "ELISA run", "  why");
		const char *at = field(h, "at");
		ok(at != NULL && strlen(at) >= 20 && at[10] == 'T' && at[strlen(at) - 1] == 'Z',
		   "  and when, in RFC 3339 UTC");
	}
	resp_free(&r);

	/* The tube returned: it is stored again and no longer listed as out. */
	world_act(t, out, "return", "{\"box\":\"BOX-A\",\"position\":\"B2\",\"thawed\":false}",
	          NULL, &r);
	resp_free(&r);
	api(t, "GET", "/api/v1/boxes/BOX-A/grid", t->admin_token, NULL, &r);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "checked_out")), 0,
	       "returned, the tube is no longer listed as out");
	resp_free(&r);
	world_act(t, out, "checkout", "{\"reason\":\"second run\"}", NULL, &r);
	resp_free(&r);

	/* A study-limited technician: SSC's tube occupied, unnamed; MASC's home listed. */
	api(t, "GET", "/api/v1/boxes/BOX-A/grid", masc_token, NULL, &r);
	is_int(r.status, 200, "a MASC-limited technician reads the grid");
	const cJSON *c3 = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "positions"), 2 * 9 + 2);
	ok(c3 != NULL && cJSON_IsTrue(cJSON_GetObjectItem(c3, "occupied")) &&
	       cJSON_IsNull(cJSON_GetObjectItem(c3, "specimen")),
	   "  the SSC tube at C3 shows as occupied without its ID");
	ok(strstr(r.body, other) == NULL, "  and its ID appears nowhere in the answer");
	ok(home_at(&r, "B2") != NULL, "  the MASC tube checked out from B2 is listed");
	resp_free(&r);

	world_act(t, other, "checkout", "{\"reason\":\"SSC assay\"}", NULL, &r);
	resp_free(&r);
	api(t, "GET", "/api/v1/boxes/BOX-A/grid", masc_token, NULL, &r);
	ok(home_at(&r, "C3") == NULL && strstr(r.body, other) == NULL,
	   "an SSC tube checked out from C3 is not listed to the MASC technician");
	resp_free(&r);
	api(t, "GET", "/api/v1/boxes/BOX-A/grid", t->admin_token, NULL, &r);
	ok(home_at(&r, "C3") != NULL, "  but is to an administrator of every study");
	resp_free(&r);

	api(t, "GET", "/api/v1/boxes/BOX-Q/grid", t->admin_token, NULL, &r);
	ok(is_problem(&r, 404), "a mistyped box barcode is 404");
	is_str(jstr(&r, "code"), "box-not-found", "  code box-not-found");
	resp_free(&r);
	api(t, "GET", "/api/v1/boxes/BOX-A/grid", NULL, NULL, &r);
	ok(is_problem(&r, 401), "without a token: 401");
	resp_free(&r);
}

static void
site(struct tenv *t)
{
	struct resp r;

	api(t, "GET", "/api/v1/site", masc_token, NULL, &r);
	is_int(r.status, 200, "GET /site answers any user");
	is_str(jstr(&r, "timezone"), "UTC", "  the time zone by default: UTC");
	const cJSON *p = cJSON_GetObjectItem(r.json, "printers");
	ok(cJSON_IsArray(p) && cJSON_GetArraySize(p) == 0,
	   "  no printer configured: an empty list");
	resp_free(&r);
	api(t, "GET", "/api/v1/site", NULL, NULL, &r);
	ok(is_problem(&r, 401), "  without a token: 401");
	resp_free(&r);
	/* The login page asks before anyone has signed in. */
	api(t, "GET", "/api/v1/site/sign-in", NULL, NULL, &r);
	is_int(r.status, 200, "GET /site/sign-in answers without a token");
	ok(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "oidc")),
	   "  no OpenID provider set: no hospital sign-in offered (oidc false)");
	ok(strstr(r.body, "timezone") == NULL && strstr(r.body, "printers") == NULL,
	   "  and nothing of the site's settings for users");
	resp_free(&r);

	/* A site in Paris with two label printers. */
	struct daemon paris = { 0 };
	const char *args[] = { "--timezone=Europe/Paris",
		               "--printers=bench-1=tcp://127.0.0.1:9,cold-room=file:/dev/null",
		               NULL };
	if (!ok(daemon_start(t, &paris, args) == 0,
	        "a daemon configured for Paris with two printers"))
		return;
	http(paris.url, "GET", "/api/v1/site", masc_token, NULL, NULL, 0, &r);
	is_str(jstr(&r, "timezone"), "Europe/Paris", "  its site says Europe/Paris");
	is_str(jstr(&r, "printers.0"), "bench-1", "  and names its printers in order");
	is_str(jstr(&r, "printers.1"), "cold-room", "  (both)");
	ok(strstr(r.body, "tcp://") == NULL && strstr(r.body, "/dev/null") == NULL,
	   "  without their addresses");
	resp_free(&r);
	daemon_stop(&paris);
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "pages", argc, argv);
	world_make(&t);
	if (make_user(&t, "masc-tech", "technician", "[\"MASC\"]", masc_token) != 0) {
		ok(false, "make the MASC technician");
		tenv_teardown(&t);
		return tap_done();
	}
	site(&t);
	grid(&t);
	tenv_teardown(&t);
	return tap_done();
}
