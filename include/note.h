/*
 * note.h — signed notes (C2SP signed-note, the format of Go's checksum
 * database) with Ed25519 keys, and the transparency log's checkpoints in
 * them (C2SP tlog-checkpoint).
 *
 * A key is named (the log's origin, e.g. "biobank.example.org/ledger") and
 * identified by the first four bytes of SHA-256(name || "\n" || 0x01 ||
 * public key). Its texts: "<name>+<id, 8 hex>+<base64(0x01 || public key)>"
 * for the verifier key, published; "PRIVATE+KEY+<name>+<id>+<base64(0x01 ||
 * seed)>" for the signer key, kept secret.
 *
 * A signed note is its text (ending in a newline), a blank line, then one
 * line per signature: "— <name> <base64(id || Ed25519 signature of the
 * text)>". A checkpoint's text is three lines: origin, tree size in
 * decimal, root hash in base64 (RFC 4648, padded).
 */
#ifndef BB_NOTE_H
#define BB_NOTE_H

#include "biobank.h"

#include <stdint.h>

enum { NOTE_NAME_MAX = 200, NOTE_HASH_LEN = 32 };

struct note_key {
	char name[NOTE_NAME_MAX + 1];
	uint32_t id;
	unsigned char pub[32];
	unsigned char sec[64]; /* libsodium's secret key: seed || public key */
	bool secret;           /* sec is set: the key signs */
};

/* Non-empty, printable ASCII without spaces or '+'. */
bool note_name_valid(const char *name);

/* A new key pair named name; -1 when the name is not valid. */
int note_key_generate(const char *name, struct note_key *k);

/*
 * Read a signer or a verifier key from its text (surrounding blanks and a
 * final newline ignored). -1 with *why set when it is neither, or its id
 * does not belong to its key.
 */
int note_key_read(const char *text, struct note_key *k, const char **why);

/* The key's verifier text, or its signer text when secret (which needs k->secret). */
void note_key_text(const struct note_key *k, bool secret, struct bb_buf *out);

/* text (len bytes, ending in '\n') as a note signed by k, appended to out. */
void note_sign(const struct note_key *k, const char *text, size_t len, struct bb_buf *out);
/* Only k's signature line of text ("— name base64\n"), appended to out: a
 * cosignature, added to a note another key signed. */
void note_signature_line(const struct note_key *k, const char *text, size_t len,
                         struct bb_buf *out);

/*
 * Check that note carries a valid signature of k; *text_len is then the
 * length of its text (with its final newline). Signatures by other keys
 * are allowed and ignored. -1 with *why set otherwise.
 */
int note_open(const char *note, size_t len, const struct note_key *k, size_t *text_len,
              const char **why);

struct checkpoint {
	char origin[NOTE_NAME_MAX + 1];
	uint64_t size;
	unsigned char root[NOTE_HASH_LEN];
};

/* A checkpoint's text, appended to out. */
void checkpoint_text(const char *origin, uint64_t size, const unsigned char root[NOTE_HASH_LEN],
                     struct bb_buf *out);
/* Read a checkpoint's text (extension lines after the third are allowed); -1 with *why. */
int checkpoint_parse(const char *text, size_t len, struct checkpoint *out, const char **why);
/* A signed checkpoint: signed by k, whose name must be its origin; -1 with *why. */
int checkpoint_open(const char *note, size_t len, const struct note_key *k, struct checkpoint *out,
                    const char **why);

/* Base64 (RFC 4648, padded) of n bytes, appended to out; and back: -1 unless exactly want bytes. */
void note_base64(const unsigned char *in, size_t n, struct bb_buf *out);
int note_unbase64(const char *in, size_t len, unsigned char *out, size_t want);

#endif
