/* note.c — C2SP signed notes with Ed25519, and checkpoints (note.h). */
#include "note.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum { ALG_ED25519 = 1 };

/* "— " : an em dash (U+2014) and a space begin every signature line. */
static const char SIG_PREFIX[] = "\xe2\x80\x94 ";

bool
note_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NOTE_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '+')
			return false;
	return true;
}

static uint32_t
key_id(const char *name, const unsigned char pub[32])
{
	crypto_hash_sha256_state st;
	unsigned char alg = ALG_ED25519, h[32];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, &alg, 1);
	crypto_hash_sha256_update(&st, pub, 32);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

void
note_base64(const unsigned char *in, size_t n, struct bb_buf *out)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b = bb_malloc(cap);

	sodium_bin2base64(b, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
	bb_buf_puts(out, b);
	free(b);
}

int
note_unbase64(const char *in, size_t len, unsigned char *out, size_t want)
{
	unsigned char buf[128];
	size_t got = 0;
	const char *end = NULL;

	if (want > sizeof(buf) || len == 0)
		return -1;
	if (sodium_base642bin(buf, sizeof(buf), in, len, NULL, &got, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != in + len || got != want)
		return -1;
	memcpy(out, buf, want);
	return 0;
}

int
note_key_generate(const char *name, struct note_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!note_name_valid(name))
		return -1;
	snprintf(k->name, sizeof(k->name), "%s", name);
	crypto_sign_keypair(k->pub, k->sec);
	k->id = key_id(name, k->pub);
	k->secret = true;
	return 0;
}

/* The next '+'-separated part of *s (which moves past it), copied into out; -1 when too long. */
static int
part(const char **s, const char *end, char *out, size_t cap)
{
	const char *plus = memchr(*s, '+', (size_t)(end - *s));
	const char *stop = plus ? plus : end;
	size_t n = (size_t)(stop - *s);

	if (n >= cap)
		return -1;
	memcpy(out, *s, n);
	out[n] = '\0';
	*s = plus ? plus + 1 : end;
	return 0;
}

int
note_key_read(const char *text, struct note_key *k, const char **why)
{
	const char *s = text, *end;
	char a[16] = "", b[16] = "", hex[16] = "", data[128] = "";
	unsigned char raw[33];
	bool secret;

	memset(k, 0, sizeof(*k));
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	secret = (size_t)(end - s) > 12 && strncmp(s, "PRIVATE+KEY+", 12) == 0;
	if (secret && (part(&s, end, a, sizeof(a)) != 0 || part(&s, end, b, sizeof(b)) != 0)) {
		*why = "not a key";
		return -1;
	}
	/* The data is the rest: base64 holds '+' too. */
	if (part(&s, end, k->name, sizeof(k->name)) != 0 || part(&s, end, hex, sizeof(hex)) != 0 ||
	    (size_t)(end - s) >= sizeof(data) || s == end) {
		*why = "not a key: NAME+ID+DATA or PRIVATE+KEY+NAME+ID+DATA";
		return -1;
	}
	memcpy(data, s, (size_t)(end - s));
	data[end - s] = '\0';
	if (!note_name_valid(k->name)) {
		*why =
		    "the key's name is empty or holds a space, a '+' or a character beyond ASCII";
		return -1;
	}
	uint32_t id = 0;
	for (size_t i = 0; i < 8; i++) {
		int v = bb_hex_value(hex[i]);

		if (v < 0 || hex[8] != '\0') {
			*why = "the key's id is not 8 hexadecimal digits";
			return -1;
		}
		id = id << 4 | (uint32_t)v;
	}
	if (note_unbase64(data, strlen(data), raw, sizeof(raw)) != 0 || raw[0] != ALG_ED25519) {
		*why = "the key's data is not an Ed25519 key (base64 of 0x01 and 32 bytes)";
		return -1;
	}
	if (secret) {
		crypto_sign_seed_keypair(k->pub, k->sec, raw + 1);
		k->secret = true;
	} else {
		memcpy(k->pub, raw + 1, 32);
	}
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(data, sizeof(data));
	k->id = key_id(k->name, k->pub);
	if (k->id != id) {
		sodium_memzero(k->sec, sizeof(k->sec));
		*why = "the key's id does not belong to its name and key";
		return -1;
	}
	return 0;
}

void
note_key_text(const struct note_key *k, bool secret, struct bb_buf *out)
{
	unsigned char raw[33];

	raw[0] = ALG_ED25519;
	if (secret)
		memcpy(raw + 1, k->sec, 32); /* the seed */
	else
		memcpy(raw + 1, k->pub, 32);
	bb_buf_printf(out, "%s%s+%08x+", secret ? "PRIVATE+KEY+" : "", k->name, (unsigned)k->id);
	note_base64(raw, sizeof(raw), out);
	sodium_memzero(raw, sizeof(raw));
}

void
note_signature_line(const struct note_key *k, const char *text, size_t len, struct bb_buf *out)
{
	unsigned char sig[4 + crypto_sign_BYTES];

	sig[0] = (unsigned char)(k->id >> 24);
	sig[1] = (unsigned char)(k->id >> 16);
	sig[2] = (unsigned char)(k->id >> 8);
	sig[3] = (unsigned char)k->id;
	crypto_sign_detached(sig + 4, NULL, (const unsigned char *)text, len, k->sec);
	bb_buf_printf(out, "%s%s ", SIG_PREFIX, k->name);
	note_base64(sig, sizeof(sig), out);
	bb_buf_puts(out, "\n");
}

void
note_sign(const struct note_key *k, const char *text, size_t len, struct bb_buf *out)
{
	bb_buf_append(out, text, len);
	bb_buf_puts(out, "\n");
	note_signature_line(k, text, len, out);
}

int
note_open(const char *note, size_t len, const struct note_key *k, size_t *text_len,
          const char **why)
{
	const char *split = NULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)note[i];
		if (ch < 0x20 && ch != '\n') {
			*why = "the note holds a control character";
			return -1;
		}
	}
	/* The text ends at the last blank line: signatures hold no newline. */
	for (size_t i = len; i-- > 1;)
		if (note[i] == '\n' && note[i - 1] == '\n') {
			split = note + i;
			break;
		}
	if (split == NULL || split == note + 1 || len == 0 || note[len - 1] != '\n') {
		*why = "not a signed note: text, a blank line, signature lines";
		return -1;
	}
	size_t tlen = (size_t)(split - note);
	bool found = false;
	for (const char *line = split + 1; line < note + len;) {
		const char *nl = memchr(line, '\n', (size_t)(note + len - line));
		size_t n = (size_t)(nl - line), plen = sizeof(SIG_PREFIX) - 1;

		if (n < plen || memcmp(line, SIG_PREFIX, plen) != 0) {
			*why = "a signature line does not begin with an em dash";
			return -1;
		}
		const char *name = line + plen, *space = memchr(name, ' ', (size_t)(nl - name));
		if (space == NULL) {
			*why = "a signature line has no signature";
			return -1;
		}
		unsigned char sig[4 + crypto_sign_BYTES];
		size_t nlen = (size_t)(space - name);
		if (nlen == strlen(k->name) && memcmp(name, k->name, nlen) == 0 &&
		    note_unbase64(space + 1, (size_t)(nl - space - 1), sig, sizeof(sig)) == 0 &&
		    ((uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 |
		     sig[3]) == k->id) {
			if (crypto_sign_verify_detached(sig + 4, (const unsigned char *)note, tlen,
			                                k->pub) != 0) {
				*why = "the key's signature does not verify: the note was changed";
				return -1;
			}
			found = true;
		}
		line = nl + 1;
	}
	if (!found) {
		*why = "the note carries no signature of this key";
		return -1;
	}
	*text_len = tlen;
	return 0;
}

void
checkpoint_text(const char *origin, uint64_t size, const unsigned char root[NOTE_HASH_LEN],
                struct bb_buf *out)
{
	bb_buf_printf(out, "%s\n%llu\n", origin, (unsigned long long)size);
	note_base64(root, NOTE_HASH_LEN, out);
	bb_buf_puts(out, "\n");
}

int
checkpoint_parse(const char *text, size_t len, struct checkpoint *out, const char **why)
{
	const char *lines[3], *p = text, *end = text + len;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 3; i++) {
		const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;

		if (nl == NULL || nl == p) {
			*why = "a checkpoint has three lines: origin, tree size, root hash";
			return -1;
		}
		lines[i] = p;
		p = nl + 1;
	}
	size_t olen = (size_t)(strchr(lines[0], '\n') - lines[0]);
	if (olen > NOTE_NAME_MAX) {
		*why = "the checkpoint's origin is too long";
		return -1;
	}
	memcpy(out->origin, lines[0], olen);
	out->origin[olen] = '\0';
	const char *s = lines[1];
	size_t slen = (size_t)(strchr(s, '\n') - s);
	if (slen > 19 || (slen > 1 && s[0] == '0')) {
		*why = "the checkpoint's tree size is not a decimal number without leading zeros";
		return -1;
	}
	for (size_t i = 0; i < slen; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*why = "the checkpoint's tree size is not a decimal number without leading "
			       "zeros";
			return -1;
		}
		out->size = out->size * 10 + (uint64_t)(s[i] - '0');
	}
	const char *r = lines[2];
	if (note_unbase64(r, (size_t)(strchr(r, '\n') - r), out->root, NOTE_HASH_LEN) != 0) {
		*why = "the checkpoint's root hash is not base64 of 32 bytes";
		return -1;
	}
	/* Extension lines may follow; none is empty (the text holds no blank line). */
	return 0;
}

int
checkpoint_open(const char *note, size_t len, const struct note_key *k, struct checkpoint *out,
                const char **why)
{
	size_t tlen;

	if (note_open(note, len, k, &tlen, why) != 0 || checkpoint_parse(note, tlen, out, why) != 0)
		return -1;
	if (strcmp(out->origin, k->name) != 0) {
		*why = "the checkpoint's origin is not the key's name";
		return -1;
	}
	return 0;
}
