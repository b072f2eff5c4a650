/*
 * witnesses.h — the witnesses this site's log is sent to (the witnesses
 * setting names a file of them): other sites' biobankd that cosign each
 * checkpoint consistent with the last one they cosigned (docs/ledger.md,
 * "Witnesses"). One per line, blanks between the fields, # for comments:
 *
 *   URL  KEY_FILE  TOKEN_FILE
 *
 * URL: the witness's POST /api/v1/witness/checkpoints (http:// or https://);
 * KEY_FILE: its verifier key (its ledger.pub), which checks the cosignature
 * it answers; TOKEN_FILE: a token of the witness site allowed to post there,
 * a file only its owner may read.
 */
#ifndef SRV_WITNESSES_H
#define SRV_WITNESSES_H

#include "note.h"

#include <stdio.h>

enum { WITNESS_URL_MAX = 1000, WITNESS_TOKEN_MAX = 200 };

struct witness {
	char url[WITNESS_URL_MAX + 1];
	struct note_key key; /* the public half only */
	char token[WITNESS_TOKEN_MAX + 1];
};

/*
 * Read the witnesses file at path (NULL: none). own: this log's key, which
 * no witness may share. Returns the number of problems (one line each on
 * err); *out (caller frees with witnesses_free) holds the witnesses read.
 */
int witnesses_load(const char *path, const struct note_key *own, struct witness **out, size_t *n,
                   FILE *err);
/* Forget the tokens and free the list. */
void witnesses_free(struct witness *list, size_t n);

#endif
