/*
 * fuzz_ids.c — libFuzzer target for bb_id_parse() and bb_id_from_serial().
 * Whatever is typed, an accepted ID is canonical, re-parses to itself and
 * carries a valid check character; every issued ID parses.
 */
#include "fuzz.h"
#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[BB_ID_LEN + 1], again[BB_ID_LEN + 1];
	const char *why = NULL;

	if (size > 256)
		return 0;
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	enum bb_err err = bb_id_parse(s, out, &why);
	require(err == BB_OK || err == BB_EINVAL);
	if (err == BB_OK) {
		require(strlen(out) == BB_ID_LEN);
		for (int i = 0; i < BB_ID_LEN; i++)
			require(strchr(bb_id_alphabet, out[i]) != NULL && out[i] != '\0');
		require(bb_id_check_char(out, BB_ID_LEN - 1) == out[BB_ID_LEN - 1]);
		require(bb_id_parse(out, again, &why) == BB_OK && strcmp(out, again) == 0);
		require(bb_id_shaped(s));
	} else {
		require(why != NULL && why[0] != '\0');
	}

	if (size >= 8) {
		uint64_t serial;

		memcpy(&serial, data, sizeof(serial));
		serial &= (1ULL << 36) - 1; /* a little past the range, on purpose */
		if (bb_id_from_serial(serial, out)) {
			require(serial >= 1 && serial < (1ULL << 35));
			require(bb_id_parse(out, again, &why) == BB_OK && strcmp(out, again) == 0);
		}
	}
	free(s);
	return 0;
}
