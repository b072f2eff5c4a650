/* ids.c — Crockford base-32 specimen IDs with a Luhn mod 32 check character. */
#include "ids.h"

#include <string.h>

const char bb_id_alphabet[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

enum {
	RADIX = 32,
	BODY_LEN = BB_ID_LEN - 1,
	SERIAL_BITS = 5 * BODY_LEN,
};

/* An odd multiplier makes serial → serial * K mod 2^35 a bijection. */
static const uint64_t SCRAMBLE = 0x4F1BBCDCBULL; /* < 2^35, odd */

static int
value_of(char c)
{
	const char *p = strchr(bb_id_alphabet, c);

	return (c != '\0' && p != NULL) ? (int)(p - bb_id_alphabet) : -1;
}

/* Crockford's reading rules: lower case, and I, L, O typed for 1, 1, 0. */
static char
canonical(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == 'I' || c == 'L')
		return '1';
	if (c == 'O')
		return '0';
	return c;
}

char
bb_id_check_char(const char *body, size_t n)
{
	int sum = 0;
	bool dbl = true; /* the character just left of the check is doubled */

	for (size_t i = n; i-- > 0;) {
		int v = value_of(body[i]);

		if (dbl) {
			v *= 2;
			v = v / RADIX + v % RADIX;
		}
		sum += v;
		dbl = !dbl;
	}
	return bb_id_alphabet[(RADIX - sum % RADIX) % RADIX];
}

static bool
normalize(const char *s, char out[BB_ID_LEN + 1])
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '-' || *s == ' ')
			continue;
		char c = canonical(*s);
		if (n == BB_ID_LEN || value_of(c) < 0)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == BB_ID_LEN;
}

bool
bb_id_shaped(const char *s)
{
	char tmp[BB_ID_LEN + 1];

	return normalize(s, tmp);
}

enum bb_err
bb_id_parse(const char *s, char out[BB_ID_LEN + 1], const char **why)
{
	char tmp[BB_ID_LEN + 1];

	if (!normalize(s, tmp)) {
		*why = "a specimen ID is 8 characters of 0-9 and A-Z without I, L, O and U";
		return BB_EINVAL;
	}
	if (bb_id_check_char(tmp, BODY_LEN) != tmp[BODY_LEN]) {
		*why = "check character does not match: the ID was mistyped or misread";
		return BB_EINVAL;
	}
	memcpy(out, tmp, sizeof(tmp));
	return BB_OK;
}

enum bb_err
bb_ref_read(const char *s, char id[BB_ID_LEN + 1], bool *is_id, const char **why)
{
	*is_id = bb_id_shaped(s);
	if (!*is_id)
		return BB_OK;
	return bb_id_parse(s, id, why);
}

bool
bb_id_from_serial(uint64_t serial, char out[BB_ID_LEN + 1])
{
	const uint64_t mask = (1ULL << SERIAL_BITS) - 1;
	char id[BB_ID_LEN + 1];

	if (serial == 0 || serial > mask)
		return false;
	uint64_t v = (serial * SCRAMBLE) & mask;
	for (int i = BODY_LEN - 1; i >= 0; i--) {
		id[i] = bb_id_alphabet[v % RADIX];
		v /= RADIX;
	}
	id[BODY_LEN] = bb_id_check_char(id, BODY_LEN);
	id[BB_ID_LEN] = '\0';
	for (int i = 0; i + 1 < BB_ID_LEN; i++) {
		char a = id[i], b = id[i + 1];

		if ((a == '0' && b == 'Z') || (a == 'Z' && b == '0'))
			return false;
	}
	memcpy(out, id, sizeof(id));
	return true;
}
