/*
 * ledger_keys.h — the transparency log's signing key in its files, outside
 * the database: `biobankd keygen` makes them, the ledger_key setting names
 * the secret one (docs/ledger.md, "Signed checkpoints").
 */
#ifndef SRV_LEDGER_KEYS_H
#define SRV_LEDGER_KEYS_H

#include "note.h"

#include <stdio.h>

/* The file names keygen writes in its folder. */
#define LEDGER_KEY_FILE "ledger.key"
#define LEDGER_PUB_FILE "ledger.pub"

/*
 * Make a key pair named origin (NULL: "<host name>/biobank-ledger") and
 * write DIR/ledger.key (the signer key, mode 0600) and DIR/ledger.pub (the
 * verifier key); never over an existing file. Returns 0, or 1 after saying
 * why on err.
 */
int ledger_keygen(const char *dir, const char *origin, FILE *out, FILE *err);

/*
 * Read the signer key from path: a regular file that only its owner may
 * read, holding PRIVATE+KEY+... Returns 0, or -1 after one line on err
 * ("biobankd: ledger_key: ...").
 */
int ledger_key_load(const char *path, struct note_key *k, FILE *err);

/* Read a verifier (or signer) key from a file, or from the text itself when
 * arg is no file; -1 after one line on err. For verify-bundle --key. */
int ledger_pub_load(const char *arg, struct note_key *k, FILE *err);

/*
 * The verifier keys of the logs this server witnesses: list is FILE[,FILE...]
 * (witness_logs). Returns the number of problems (one line each on err);
 * *out (caller frees) holds the keys read.
 */
int ledger_witnessed_load(const char *list, struct note_key **out, size_t *n, FILE *err);

#endif
