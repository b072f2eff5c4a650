/*
 * fuzz.h — what every libFuzzer target here shares: the entry point's
 * prototype, and require(), which aborts (a crash libFuzzer keeps the input
 * of) when an invariant of the code under test breaks.
 */
#ifndef BB_FUZZ_H
#define BB_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define require(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant broken: %s\n", #cond);                          \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
