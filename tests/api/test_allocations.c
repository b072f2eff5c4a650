/*
 * test_allocations.c — allocation across boxes (issue 18): each strategy's
 * proposal, proposals that write nothing, the rules obeyed, a manager
 * accepting a proposal gone stale, two acceptances racing for one box, and
 * every refusal with its code and nothing left behind.
 */
#include "world.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

static char mgr[128];
static long freezer1, freezer2;

__attribute__((format(printf, 2, 3))) static long
intf(struct tenv *t, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return sql_int(t, sql);
}

static long
footprint(struct tenv *t)
{
	return sql_int(t, "SELECT (SELECT count(*) FROM events) * 10000"
	                  " + (SELECT count(*) FROM specimens WHERE box_id IS NOT NULL)");
}

/* Register n specimens of participant of type; their IDs into ids. */
static void
register_n(struct tenv *t, const char *participant, const char *type, int n, char ids[][16])
{
	for (int i = 0; i < n; i++)
		if (!world_register(t, "MASC", participant, type, ids[i]))
			tap_diag("cannot register");
}

/* "\"A\",\"B\"" for a JSON list of IDs. */
static const char *
id_list(char ids[][16], int n)
{
	static char buf[2048];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\"%s\"", i ? "," : "",
		                        ids[i]);
	return buf;
}

static void
propose(struct tenv *t, const char *body, struct resp *r)
{
	long before = footprint(t);

	api(t, "POST", "/api/v1/allocations", mgr, body, r);
	is_int(footprint(t), before, "  the proposal writes nothing");
}

/* The placements of a proposal as an accept body (caller frees). */
static char *
accept_body(const struct resp *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "placements",
	                      cJSON_Duplicate(cJSON_GetObjectItem(r->json, "placements"), 1));
	/* path is the answer's, not the request's: the accept body takes three fields. */
	cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(o, "placements"))
	    cJSON_DeleteItemFromObject(p, "path");
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static void
setup(struct tenv *t)
{
	world_make(t);
	freezer1 = sql_int(t, "SELECT id FROM locations WHERE name = 'Freezer 1'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name)"
	            " SELECT id, 'freezer', 'Freezer 2' FROM locations WHERE name = 'Main lab'");
	freezer2 = sql_int(t, "SELECT id FROM locations WHERE name = 'Freezer 2'");
	sql_exec(t, "INSERT INTO locations (parent_id, kind, name)"
	            " SELECT id, 'rack', 'Rack 2' FROM locations WHERE name = 'Freezer 2'");
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT 'BOX-C', 9, 9, id FROM locations WHERE name = 'Rack 2'");
	is_int(make_user(t, "maria", "manager", NULL, mgr), 0, "a manager logs in");

	/* BOX-B holds five tubes, so that it is fuller than BOX-A and BOX-C. */
	char filled[5][16], body[1024];
	register_n(t, "P002", "plasma", 5, filled);
	snprintf(
	    body, sizeof(body),
	    "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"%s\"},"
	    "{\"position\":\"A2\",\"specimen\":\"%s\"},{\"position\":\"A3\",\"specimen\":\"%s\"},"
	    "{\"position\":\"A4\",\"specimen\":\"%s\"},{\"position\":\"A5\",\"specimen\":\"%s\"}]}",
	    filled[0], filled[1], filled[2], filled[3], filled[4]);
	struct resp r;
	api(t, "POST", "/api/v1/boxes/BOX-B/placements", t->admin_token, body, &r);
	is_int(r.status, 200, "BOX-B is given five tubes");
	resp_free(&r);
}

static void
fill_first(struct tenv *t)
{
	char ids[3][16], body[1024];
	struct resp r;

	register_n(t, "P001", "serum", 3, ids);
	snprintf(body, sizeof(body), "{\"specimens\":[%s],\"strategy\":\"fill-first\"}",
	         id_list(ids, 3));
	propose(t, body, &r);
	is_int(r.status, 200, "fill-first: a proposal");
	is_str(jstr(&r, "placements.0.box"), "TINY", "  the box with least room first: TINY A1");
	is_str(jstr(&r, "placements.0.position"), "A1", "  ...A1");
	is_str(jstr(&r, "placements.1.box"), "TINY", "  then TINY A2");
	is_str(jstr(&r, "placements.2.box"), "BOX-B", "  then the fullest 9x9 box, BOX-B");
	is_str(jstr(&r, "placements.2.position"), "A6", "  at its first free position, A6");
	resp_free(&r);

	/* Rules: TINY takes DNA only; then the serum goes to BOX-B, all three. */
	sql_exec(t, "UPDATE boxes SET accept_types = '{dna}' WHERE barcode = 'TINY'");
	propose(t, body, &r);
	is_str(jstr(&r, "placements.0.box"), "BOX-B", "  with TINY DNA-only, serum goes to BOX-B");
	is_str(jstr(&r, "placements.2.position"), "A8", "  A6, A7, A8");
	resp_free(&r);
	sql_exec(t, "UPDATE boxes SET accept_types = NULL WHERE barcode = 'TINY'");
}

static void
keep_together(struct tenv *t)
{
	char p1[3][16], p2[2][16], body[1024], list[512];
	struct resp r;

	register_n(t, "P001", "rna", 3, p1);
	register_n(t, "P002", "rna", 2, p2);
	snprintf(list, sizeof(list), "%s,", id_list(p1, 3));
	snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s", id_list(p2, 2));
	snprintf(body, sizeof(body), "{\"specimens\":[%s],\"strategy\":\"keep-together\"}", list);
	propose(t, body, &r);
	is_int(r.status, 200, "keep-together: a proposal");
	is_str(jstr(&r, "placements.0.box"), "BOX-B",
	       "  P001's three do not fit TINY: the fullest box that takes all three");
	ok(strcmp(jstr(&r, "placements.1.box"), "BOX-B") == 0 &&
	       strcmp(jstr(&r, "placements.2.box"), "BOX-B") == 0,
	   "  all three in BOX-B");
	is_str(jstr(&r, "placements.3.box"), "TINY", "  P002's two fill TINY");
	is_str(jstr(&r, "placements.4.box"), "TINY", "  both");
	resp_free(&r);
}

static void
split(struct tenv *t)
{
	char ids[4][16], body[1024];
	struct resp r;

	register_n(t, "P001", "bal_fluid", 4, ids);
	snprintf(body, sizeof(body), "{\"specimens\":[%s],\"strategy\":\"split\"}",
	         id_list(ids, 4));
	propose(t, body, &r);
	is_int(r.status, 200, "split: a proposal");
	is_int((long)jnum(&r, "freezers", 0), 2, "  one participant's timepoint over two freezers");
	{
		int in_c = 0;
		for (int i = 0; i < 4; i++) {
			char k[32];
			snprintf(k, sizeof(k), "placements.%d.box", i);
			in_c += strcmp(jstr(&r, k), "BOX-C") == 0;
		}
		is_int(in_c, 2, "  two of the four in Freezer 2 (BOX-C), two in Freezer 1");
	}
	resp_free(&r);

	long before = footprint(t);
	snprintf(body, sizeof(body), "{\"specimens\":[%s],\"strategy\":\"split\",\"location\":%ld}",
	         id_list(ids, 4), freezer1);
	api(t, "POST", "/api/v1/allocations", mgr, body, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "no-room") == 0,
	   "split within one freezer: 409 no-room");
	is_str(jstr(&r, "participant.code"), "P001", "  naming the participant");
	resp_free(&r);
	is_int(footprint(t), before, "  and leaves nothing behind");
}

static void
recent(struct tenv *t)
{
	char ids[2][16], one[1][16], body[1024], path[96];
	struct resp r;

	register_n(t, "P001", "pbmc", 1, one);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/store", one[0]);
	api(t, "POST", path, mgr, "{\"box\":\"BOX-C\",\"position\":\"I9\"}", &r);
	is_int(r.status, 200, "a tube went into BOX-C last");
	resp_free(&r);
	register_n(t, "P001", "pbmc", 2, ids);
	snprintf(body, sizeof(body), "{\"specimens\":[%s],\"strategy\":\"recent\"}",
	         id_list(ids, 2));
	propose(t, body, &r);
	is_int(r.status, 200, "recent: a proposal");
	is_str(jstr(&r, "placements.0.box"), "BOX-C", "  the box used most recently: BOX-C");
	is_str(jstr(&r, "placements.1.box"), "BOX-C", "  both");
	resp_free(&r);
}

static void
parent_aliquots(struct tenv *t)
{
	struct resp r;
	char body[1024];

	api(t, "POST", "/api/v1/specimens", mgr,
	    "{\"participant\":{\"study\":\"MASC\",\"code\":\"P002\"},\"type\":\"serum\","
	    "\"timepoint\":\"m6\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	    "\"quantity\":{\"value\":3,\"unit\":\"mL\"},\"aliquots\":3}",
	    &r);
	is_int(r.status, 201, "a parent with three aliquots");
	char parent[16];
	snprintf(parent, sizeof(parent), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	resp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"parent\":\"%s\",\"strategy\":\"fill-first\",\"location\":%ld}", parent,
	         freezer2);
	propose(t, body, &r);
	is_int(r.status, 200, "the parent's new aliquots: a proposal");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "placements")), 3, "  for all three");
	is_str(jstr(&r, "placements.0.box"), "BOX-C", "  inside the location asked for");
	char *acc = accept_body(&r);
	resp_free(&r);
	api(t, "POST", "/api/v1/allocations/accept", mgr, acc, &r);
	is_int(r.status, 200, "the proposal accepted");
	is_int((long)jnum(&r, "placed", 0), 3, "  three placed");
	resp_free(&r);
	free(acc);
	is_int(intf(t,
	            "SELECT count(*) FROM specimens s JOIN events e ON e.specimen_id = s.id"
	            " WHERE s.parent_id = '%s' AND s.status = 'in_storage' AND e.type = 'stored'"
	            " AND e.to_box = 'BOX-C'",
	            parent),
	       3, "  each with its stored event into BOX-C");

	snprintf(body, sizeof(body), "{\"parent\":\"%s\",\"strategy\":\"fill-first\"}", parent);
	long before = footprint(t);
	api(t, "POST", "/api/v1/allocations", mgr, body, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "nothing-to-allocate") == 0,
	   "the same parent again: 409 nothing-to-allocate");
	resp_free(&r);
	is_int(footprint(t), before, "  and leaves nothing behind");
}

static void
stale_proposal(struct tenv *t)
{
	char a[2][16], b[2][16], body[1024];
	struct resp r1, r2, r;

	/* Two proposals for the same empty positions, made before either is accepted. */
	sql_exec(t, "UPDATE boxes SET accept_types = '{stool}' WHERE barcode = 'TINY'");
	register_n(t, "P001", "stool", 2, a);
	register_n(t, "P002", "stool", 2, b);
	snprintf(body, sizeof(body), "{\"specimens\":[%s],\"strategy\":\"fill-first\"}",
	         id_list(a, 2));
	propose(t, body, &r1);
	snprintf(body, sizeof(body), "{\"specimens\":[%s],\"strategy\":\"fill-first\"}",
	         id_list(b, 2));
	propose(t, body, &r2);
	is_str(jstr(&r2, "placements.0.box"), "TINY", "two proposals both name TINY A1");
	char *acc1 = accept_body(&r1), *acc2 = accept_body(&r2);
	resp_free(&r1);
	resp_free(&r2);

	api(t, "POST", "/api/v1/allocations/accept", mgr, acc1, &r);
	is_int(r.status, 200, "the first is accepted");
	resp_free(&r);
	long before = footprint(t);
	api(t, "POST", "/api/v1/allocations/accept", mgr, acc2, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "position-occupied") == 0,
	   "the manager accepts the stale one: 409 position-occupied");
	ok(strstr(r.body, "taken since the proposal") != NULL, "  saying it was taken since");
	is_str(jstr(&r, "errors.0.position"), "A1", "  naming A1");
	is_str(jstr(&r, "errors.1.position"), "A2", "  and A2");
	resp_free(&r);
	is_int(footprint(t), before, "  and stores none of it");
	is_int(
	    intf(
	        t,
	        "SELECT count(*) FROM specimens WHERE id IN ('%s', '%s') AND status = 'registered'",
	        b[0], b[1]),
	    2, "  both its tubes still wait for a place");

	/* The first proposal again: its tubes were placed since. */
	before = footprint(t);
	api(t, "POST", "/api/v1/allocations/accept", mgr, acc1, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "specimen-changed") == 0,
	   "a proposal accepted twice: 409 specimen-changed");
	resp_free(&r);
	is_int(footprint(t), before, "  and leaves nothing behind");
	free(acc1);
	free(acc2);
	sql_exec(t, "UPDATE boxes SET accept_types = NULL WHERE barcode = 'TINY'");
}

struct racer {
	struct tenv *t;
	char *body;
	long status;
	char code[64];
};

static void *
race_accept(void *arg)
{
	struct racer *x = arg;
	struct resp r;

	api(x->t, "POST", "/api/v1/allocations/accept", mgr, x->body, &r);
	x->status = r.status;
	snprintf(x->code, sizeof(x->code), "%s", jstr(&r, "code") ? jstr(&r, "code") : "");
	resp_free(&r);
	return NULL;
}

static void
racing(struct tenv *t)
{
	for (int round = 0; round < 3; round++) {
		char a[3][16], b[3][16], body[1024];
		struct resp r1, r2;

		register_n(t, "P001", "whole_blood", 3, a);
		register_n(t, "P002", "whole_blood", 3, b);
		snprintf(body, sizeof(body),
		         "{\"specimens\":[%s],\"strategy\":\"fill-first\","
		         "\"location\":%ld}",
		         id_list(a, 3), freezer2);
		api(t, "POST", "/api/v1/allocations", mgr, body, &r1);
		snprintf(body, sizeof(body),
		         "{\"specimens\":[%s],\"strategy\":\"fill-first\","
		         "\"location\":%ld}",
		         id_list(b, 3), freezer2);
		api(t, "POST", "/api/v1/allocations", mgr, body, &r2);
		struct racer x[2] = { { t, accept_body(&r1), 0, "" },
			              { t, accept_body(&r2), 0, "" } };
		resp_free(&r1);
		resp_free(&r2);
		pthread_t th[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, race_accept, &x[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		ok((x[0].status == 200) != (x[1].status == 200),
		   "round %d: two acceptances race for BOX-C: one wins", round + 1);
		ok((x[0].status == 409 && strcmp(x[0].code, "position-occupied") == 0) ||
		       (x[1].status == 409 && strcmp(x[1].code, "position-occupied") == 0),
		   "  the other is 409 position-occupied (%ld %s, %ld %s)", x[0].status, x[0].code,
		   x[1].status, x[1].code);
		is_int(
		    intf(
		        t,
		        "SELECT count(*) FROM specimens WHERE id IN ('%s','%s','%s','%s','%s','%s')"
		        " AND status = 'in_storage'",
		        a[0], a[1], a[2], b[0], b[1], b[2]),
		    3, "  three tubes stored, not four or six");
		free(x[0].body);
		free(x[1].body);
	}
	is_int(sql_int(t, "SELECT count(*) FROM (SELECT box_id, pos_row, pos_col FROM specimens"
	                  " WHERE box_id IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1) x"),
	       0, "no position holds two tubes");
}

/* tmpl with every {id} replaced by id. */
static void
subst(char *out, size_t n, const char *tmpl, const char *id)
{
	size_t off = 0;

	for (const char *p = tmpl; *p && off + 1 < n;) {
		if (strncmp(p, "{id}", 4) == 0) {
			off += (size_t)snprintf(out + off, n - off, "%s", id);
			p += 4;
		} else {
			out[off++] = *p++;
		}
	}
	out[off < n ? off : n - 1] = '\0';
}

static void
refusals(struct tenv *t)
{
	char ids[1][16], body[512];
	struct resp r;
	struct {
		const char *body, *code, *field, *what;
		long status;
	} cases[] = {
		{ "{\"specimens\":[\"{id}\"],\"strategy\":\"closest\"}", "invalid-input",
		  "strategy", "an unknown strategy", 400 },
		{ "{\"strategy\":\"fill-first\"}", "invalid-input", "specimens",
		  "neither specimens nor parent", 400 },
		{ "{\"specimens\":[\"{id}\"],\"strategy\":\"split\",\"location\":999999}",
		  "unknown-location", "location", "a location that names nothing", 400 },
		{ "{\"specimens\":[\"NOSUCHTUBE\"],\"strategy\":\"split\"}", "unknown-specimen",
		  "specimens[0]", "a tube no one knows", 400 },
	};

	register_n(t, "P001", "skin_biopsy", 1, ids);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long before = footprint(t);

		subst(body, sizeof(body), cases[i].body, ids[0]);
		api(t, "POST", "/api/v1/allocations", mgr, body, &r);
		ok(is_problem(&r, cases[i].status) &&
		       strcmp(jstr(&r, "code"), cases[i].code) == 0 &&
		       (jstr(&r, "errors.0.field") == NULL ||
		        problem_names_field(&r, cases[i].field)),
		   "%s: %ld %s", cases[i].what, cases[i].status, cases[i].code);
		resp_free(&r);
		is_int(footprint(t), before, "  and leaves nothing behind");
	}
	/* A mistyped ID (one character off) is caught by its check character. */
	char typo[16];
	snprintf(typo, sizeof(typo), "%s", ids[0]);
	typo[7] = typo[7] == 'A' ? 'B' : 'A';
	snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"],\"strategy\":\"recent\"}", typo);
	api(t, "POST", "/api/v1/allocations", mgr, body, &r);
	ok(is_problem(&r, 400) && problem_names_field(&r, "specimens[0]"),
	   "a mistyped specimen ID: 400 naming specimens[0]");
	resp_free(&r);

	const char *accepts[][3] = {
		{ "{\"placements\":[{\"specimen\":\"{id}\",\"box\":\"NO-BOX\",\"position\":\"A1\"}]"
		  "}",
		  "unknown-box", "an unknown box" },
		{ "{\"placements\":[{\"specimen\":\"{id}\",\"box\":\"BOX-C\",\"position\":\"Z99\"}]"
		  "}",
		  "position-invalid", "a position off the box" },
		{ "{\"placements\":[{\"specimen\":\"{id}\",\"box\":\"BOX-C\",\"position\":\"H1\"},"
		  "{\"specimen\":\"{id}\",\"box\":\"BOX-C\",\"position\":\"H2\"}]}",
		  "listed-twice", "a tube listed twice" },
	};
	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		long before = footprint(t);

		subst(body, sizeof(body), accepts[i][0], ids[0]);
		api(t, "POST", "/api/v1/allocations/accept", mgr, body, &r);
		ok(is_problem(&r, 400) && strcmp(jstr(&r, "code"), accepts[i][1]) == 0,
		   "accepting %s: 400 %s", accepts[i][2], accepts[i][1]);
		resp_free(&r);
		is_int(footprint(t), before, "  and leaves nothing behind");
	}
	/* The rules changed since the proposal: the accept obeys them still. */
	sql_exec(t, "INSERT INTO boxes (barcode, rows, cols, location_id)"
	            " SELECT 'BOX-D', 9, 9, id FROM locations WHERE name = 'Rack 2'");
	sql_exec(t, "UPDATE boxes SET accept_types = '{dna}' WHERE barcode = 'BOX-D'");
	long before = footprint(t);
	snprintf(body, sizeof(body),
	         "{\"placements\":[{\"specimen\":\"%s\",\"box\":\"BOX-D\",\"position\":\"H1\"}]}",
	         ids[0]);
	api(t, "POST", "/api/v1/allocations/accept", mgr, body, &r);
	ok(is_problem(&r, 409) && strcmp(jstr(&r, "code"), "rule-specimen-type") == 0,
	   "accepting into a box made DNA-only since: 409 rule-specimen-type");
	resp_free(&r);
	is_int(footprint(t), before, "  and leaves nothing behind");
}

int
main(int argc, char **argv)
{
	struct tenv t;

	tenv_setup(&t, "allocations", argc, argv);
	setup(&t);
	fill_first(&t);
	keep_together(&t);
	split(&t);
	recent(&t);
	parent_aliquots(&t);
	stale_proposal(&t);
	racing(&t);
	refusals(&t);
	tenv_teardown(&t);
	return tap_done();
}
