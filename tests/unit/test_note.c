/*
 * test_note.c — signed notes and checkpoints (lib/note.c) against the
 * example of Go's golang.org/x/mod/sumdb/note, the format's reference: the
 * same keys must give byte for byte the same signed note (Ed25519 is
 * deterministic), and what is changed must stop verifying.
 */
#include "note.h"

#include "../harness.h"

#include <sodium.h>
#include <string.h>

static const char SKEY[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char TEXT[] = "If you think cryptography is the answer to your problem,\n"
                           "then you don't know what your problem is.\n";
static const char SIGNED[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static bool
opens(const char *note, const struct note_key *k)
{
	size_t n;
	const char *why;

	return note_open(note, strlen(note), k, &n, &why) == 0;
}

int
main(void)
{
	struct note_key signer, verifier, other;
	struct bb_buf b = { 0 };
	const char *why = NULL;
	size_t n;

	if (sodium_init() < 0)
		tap_bail("libsodium");
	is_int(note_key_read(SKEY, &signer, &why), 0, "Go's example signer key reads");
	ok(signer.secret && signer.id == 0xc74f20a3 && strcmp(signer.name, "PeterNeumann") == 0,
	   "  named PeterNeumann, id c74f20a3");
	is_int(note_key_read(VKEY, &verifier, &why), 0, "its verifier key reads");
	ok(!verifier.secret && memcmp(verifier.pub, signer.pub, 32) == 0,
	   "  and is the signer's public key");
	note_key_text(&signer, false, &b);
	is_str(b.data, VKEY, "the verifier text is written as Go writes it");
	bb_buf_free(&b);
	note_key_text(&signer, true, &b);
	is_str(b.data, SKEY, "so is the signer text");
	bb_buf_free(&b);

	note_sign(&signer, TEXT, strlen(TEXT), &b);
	is_str(b.data, SIGNED, "signing Go's example text gives Go's signed note, byte for byte");
	bb_buf_free(&b);
	ok(note_open(SIGNED, strlen(SIGNED), &verifier, &n, &why) == 0 && n == strlen(TEXT),
	   "the signed note opens with the verifier key; its text is the two lines");

	char changed[sizeof(SIGNED)];
	memcpy(changed, SIGNED, sizeof(SIGNED));
	changed[3] = 'U'; /* "If You think" */
	ok(!opens(changed, &verifier), "a changed text does not verify");
	memcpy(changed, SIGNED, sizeof(SIGNED));
	changed[strlen(SIGNED) - 10] ^= 1;
	ok(!opens(changed, &verifier), "nor does a changed signature");
	note_key_generate("PeterNeumann", &other);
	ok(!opens(SIGNED, &other), "another key of the same name does not open it");
	ok(!opens(TEXT, &verifier), "text without signatures is not a signed note");

	/* A second signature, by another key, is allowed and does not disturb the first. */
	note_sign(&other, TEXT, strlen(TEXT), &b);
	bb_buf_puts(&b, SIGNED + strlen(TEXT) + 1);
	ok(opens(b.data, &verifier) && opens(b.data, &other),
	   "a note signed by two keys opens with either");
	bb_buf_free(&b);

	/* Keys that are not keys. */
	static const char *const bad_keys[] = {
		"PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		"Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		"PeterNeumann+0xf20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		"PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+AAAA",
		"",
	};
	int refused = 0;
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
		refused += note_key_read(bad_keys[i], &other, &why) != 0;
	is_int(refused, 6,
	       "a wrong id, a name with a space, 0x in the id, a short key, trailing "
	       "data and nothing are refused");

	/* Checkpoints. */
	struct note_key log;
	unsigned char root[32];
	struct checkpoint cp;
	for (int i = 0; i < 32; i++)
		root[i] = (unsigned char)(i * 7);
	note_key_generate("biobank.example.org/ledger", &log);
	checkpoint_text(log.name, 1234567, root, &b);
	is_str(
	    b.data,
	    "biobank.example.org/ledger\n1234567\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n",
	    "a checkpoint's text: origin, size, base64 root");
	struct bb_buf signed_cp = { 0 };
	note_sign(&log, b.data, b.len, &signed_cp);
	ok(checkpoint_open(signed_cp.data, signed_cp.len, &log, &cp, &why) == 0 &&
	       cp.size == 1234567 && memcmp(cp.root, root, 32) == 0 &&
	       strcmp(cp.origin, log.name) == 0,
	   "a signed checkpoint opens and reads back");
	bb_buf_free(&b);
	note_key_generate("another.example/log", &other);
	note_sign(&other, "another.example/log\n5\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n",
	          64, &b);
	ok(checkpoint_open(b.data, b.len, &log, &cp, &why) != 0,
	   "one signed by another log's key does not open with ours");
	bb_buf_free(&b);
	bb_buf_free(&signed_cp);

	static const char *const bad_cps[] = {
		"o\n012\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n",
		"o\n12a\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n",
		"o\n12\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0g==\n",
		"o\n12\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk\n",
		"o\n12\n",
		"\n12\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n",
		"o\n99999999999999999999\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n",
	};
	refused = 0;
	for (size_t i = 0; i < sizeof(bad_cps) / sizeof(bad_cps[0]); i++)
		refused += checkpoint_parse(bad_cps[i], strlen(bad_cps[i]), &cp, &why) != 0;
	is_int(refused, 7,
	       "checkpoints with a leading zero, a letter in the size, a 31-byte or unpadded root, "
	       "a missing line, no origin or a size past 64 bits are refused");
	ok(checkpoint_parse("o\n0\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\next\n", 50, &cp,
	                    &why) == 0 &&
	       cp.size == 0,
	   "size 0 and an extension line are allowed");
	return tap_done();
}
