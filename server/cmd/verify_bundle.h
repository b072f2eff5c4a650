/*
 * verify_bundle.h — `biobankd verify-bundle FILE --key PUBKEY`: check a
 * specimen's history bundle (GET /api/v1/specimens/{id}/history-bundle)
 * with no database and no trust in the server that made it: the
 * checkpoint's signature by the key given, every event's hash in its own
 * format, the chain from the first event, and each event's inclusion proof
 * against the signed root (docs/ledger.md, "History bundles").
 */
#ifndef SRV_VERIFY_BUNDLE_H
#define SRV_VERIFY_BUNDLE_H

#include <stddef.h>
#include <stdio.h>

/*
 * key: a verifier key file (ledger.pub) or the key's text; witnesses[0..n):
 * the keys of witnesses whose cosignature of the bundle's checkpoint is
 * required too. Returns 0 when the bundle holds, 1 when something in it
 * does not (one line each on out), 2 when the file or a key cannot be read.
 */
int verify_bundle(const char *path, const char *key, const char *const *witnesses, size_t n,
                  FILE *out, FILE *err);

#endif
