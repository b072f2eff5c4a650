/*
 * png_deflate.c — the zlib stream (RFC 1950/1951) of a PNG label's rows,
 * made for what a label is: long runs of white, each DataMatrix module
 * repeated for as many rows as it is dots tall, and a few antialiased
 * glyphs. Each position is coded as the longer of a run of the byte before
 * it (distance 1, all that zlib's Z_RLE looks for) and a copy of the row
 * above (distance one row), else as a literal; one block with Huffman codes
 * made for its own symbols.
 *
 * Why not zlib's deflate: for these rows it spent about 30 instructions a
 * byte (a label's 26,622 bytes of rows cost more than zint's whole symbol
 * and PNG) keeping up a window and hash chains that serve matches a label
 * does not have; here equal bytes are compared 8 at a time. Any inflater
 * reads the result (zlib's inflate checks every file in the tests), and the
 * copy of the row above makes the files smaller than Z_RLE's.
 */
#include "lbl_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum {
	NLITLEN = 286, /* literals 0-255, end of block 256, lengths 257-285 */
	NDIST = 30,
	NCLEN = 19,      /* the code-length alphabet */
	MAX_BITS = 15,   /* longest literal/length or distance code */
	MAX_CL_BITS = 7, /* longest code-length code */
	MIN_MATCH = 3,
	MAX_MATCH = 258,
	WINDOW = 32768, /* farthest a copy reaches back */
	END_BLOCK = 256,
	BLOCK = 1 << 16, /* tokens a block: the token buffer's size */
	/* Bytes a block may take: its header (316 code lengths of at most 14
	 * bits), at most 48 bits a token, the end, the empty stored block and
	 * the check value. */
	BLOCK_BOUND = 1024 + BLOCK * 6 + 16,
};

/* A token: a literal byte, or a copy (MATCH set) of `len` bytes from
 * 1 byte back or, with UP set, from a row back. */
#define MATCH 0x80000000u
#define UP    0x40000000u

static const uint16_t LEN_BASE[29] = { 3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
	                               15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
	                               67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t LEN_EXTRA[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
	                               2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t DIST_BASE[NDIST] = { 1,    2,    3,    4,     5,     7,    9,    13,
	                                   17,   25,   33,   49,    65,    97,   129,  193,
	                                   257,  385,  513,  769,   1025,  1537, 2049, 3073,
	                                   4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t DIST_EXTRA[NDIST] = { 0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
	                                   6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };
/* The order the code-length code's lengths are sent in. */
static const uint8_t CLEN_ORDER[NCLEN] = { 16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
	                                   11, 4,  12, 3, 13, 2, 14, 1, 15 };

struct huff {
	uint8_t len[NLITLEN];
	uint16_t code[NLITLEN]; /* bit-reversed: deflate sends codes from their top bit */
};

struct lbl_deflate {
	uint32_t *tok; /* BLOCK of them */
	unsigned char *out;
	size_t out_cap;
	uint8_t len_code[MAX_MATCH + 1]; /* length -> index into LEN_BASE */
};

struct lbl_deflate *
lbl_deflate_new(void)
{
	struct lbl_deflate *z = bb_calloc(1, sizeof(*z));

	for (int c = 0, l = MIN_MATCH; l <= MAX_MATCH; l++) {
		while (c < 28 && l >= LEN_BASE[c + 1])
			c++;
		z->len_code[l] = (uint8_t)c;
	}
	return z;
}

void
lbl_deflate_free(struct lbl_deflate *z)
{
	if (z == NULL)
		return;
	free(z->tok);
	free(z->out);
	free(z);
}

/* How many of a[0..max) equal b[0..max), 8 bytes a step; a and b may
 * overlap (b = a - 1 measures a run). */
static size_t
same_len(const unsigned char *a, const unsigned char *b, size_t max)
{
	size_t k = 0;

	while (k + 8 <= max) {
		uint64_t x, y;

		memcpy(&x, a + k, 8);
		memcpy(&y, b + k, 8);
		if (x != y) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return k + (size_t)__builtin_ctzll(x ^ y) / 8;
#else
			return k + (size_t)__builtin_clzll(x ^ y) / 8;
#endif
		}
		k += 8;
	}
	while (k < max && a[k] == b[k])
		k++;
	return k;
}

/* The tokens of raw[*at..len), up to BLOCK of them, and how often each
 * symbol occurs; *at moves past them. Copies reach back into the bytes
 * before *at, which earlier blocks sent. */
static size_t
tokenize(struct lbl_deflate *z, const unsigned char *raw, size_t *at, size_t len, size_t row,
         int up_code, uint32_t lfreq[NLITLEN], uint32_t dfreq[NDIST])
{
	size_t n = 0, i = *at;

	while (i < len && n < BLOCK) {
		size_t max = len - i < MAX_MATCH ? len - i : MAX_MATCH, run = 0, up = 0;

		/* Most positions start neither: three bytes tell before a scan. */
		if (i > 0 && max >= MIN_MATCH && raw[i] == raw[i - 1] && raw[i + 1] == raw[i] &&
		    raw[i + 2] == raw[i])
			run = MIN_MATCH + same_len(raw + i + 3, raw + i + 2, max - MIN_MATCH);
		if (up_code >= 0 && i >= row && run < max && max >= MIN_MATCH &&
		    raw[i] == raw[i - row] && raw[i + 1] == raw[i + 1 - row] &&
		    raw[i + 2] == raw[i + 2 - row])
			up = MIN_MATCH + same_len(raw + i + 3, raw + i + 3 - row, max - MIN_MATCH);
		if (run >= MIN_MATCH || up >= MIN_MATCH) {
			bool is_up = up > run;
			size_t l = is_up ? up : run;

			z->tok[n++] = MATCH | (is_up ? UP : 0) | (uint32_t)l;
			lfreq[257 + z->len_code[l]]++;
			dfreq[is_up ? up_code : 0]++;
			i += l;
		} else {
			z->tok[n++] = raw[i];
			lfreq[raw[i]]++;
			i++;
		}
	}
	lfreq[END_BLOCK]++;
	*at = i;
	return n;
}

/* A symbol in the code builder: its frequency, then (in place) tree links
 * and depths. */
struct sym {
	uint32_t key;
	uint16_t sym;
};

/* keys[0..n) sorted, rising: the radix sort of 32-bit keys, a byte a pass
 * (no pass for bytes all keys have zero). */
static void
sort_keys(uint32_t *keys, uint32_t *tmp, int n)
{
	uint32_t all = 0;

	for (int i = 0; i < n; i++)
		all |= keys[i];
	for (int shift = 0; shift < 32 && (all >> shift) != 0; shift += 8) {
		int count[257] = { 0 };

		for (int i = 0; i < n; i++)
			count[((keys[i] >> shift) & 0xFF) + 1]++;
		for (int b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (int i = 0; i < n; i++)
			tmp[count[(keys[i] >> shift) & 0xFF]++] = keys[i];
		memcpy(keys, tmp, (size_t)n * sizeof(*keys));
	}
}

/*
 * Huffman code lengths for a[0..n), sorted by rising frequency, computed in
 * place (Moffat and Katajainen's method: a[i].key becomes the depth of the
 * i-th symbol), then made to fit `limit` bits as zlib and miniz do: the
 * overlong codes are cut to the limit and the code made whole again by
 * lengthening the longest ones that can take it. n >= 2.
 */
static void
code_lengths(struct sym *a, int n, int limit, uint8_t *len)
{
	int count[64] = { 0 }, root = 0, leaf = 2, avbl = 1, used = 0, depth = 0, next;
	uint32_t total = 0;

	a[0].key += a[1].key;
	for (next = 1; next < n - 1; next++) {
		if (leaf >= n || a[root].key < a[leaf].key) {
			a[next].key = a[root].key;
			a[root++].key = (uint32_t)next;
		} else {
			a[next].key = a[leaf++].key;
		}
		if (leaf >= n || (root < next && a[root].key < a[leaf].key)) {
			a[next].key += a[root].key;
			a[root++].key = (uint32_t)next;
		} else {
			a[next].key += a[leaf++].key;
		}
	}
	a[n - 2].key = 0;
	for (next = n - 3; next >= 0; next--)
		a[next].key = a[a[next].key].key + 1;
	root = n - 2;
	next = n - 1;
	while (avbl > 0) {
		while (root >= 0 && (int)a[root].key == depth) {
			used++;
			root--;
		}
		while (avbl > used) {
			a[next--].key = (uint32_t)depth;
			avbl--;
		}
		avbl = 2 * used;
		depth++;
		used = 0;
	}
	/* a[i].key is now the length of the i-th symbol: the rarest are longest. */
	for (int i = 0; i < n; i++)
		count[a[i].key < 63 ? a[i].key : 63]++;
	for (int l = limit + 1; l < 64; l++) {
		count[limit] += count[l];
		count[l] = 0;
	}
	for (int l = limit; l > 0; l--)
		total += (uint32_t)count[l] << (limit - l);
	while (total != 1u << limit) {
		count[limit]--;
		for (int l = limit - 1; l > 0; l--) {
			if (count[l]) {
				count[l]--;
				count[l + 1] += 2;
				break;
			}
		}
		total--;
	}
	for (int l = 1, j = n; l <= limit; l++)
		for (int k = count[l]; k > 0; k--)
			len[a[--j].sym] = (uint8_t)l;
}

/* The low `bits` bits of code, last bit first. */
static uint16_t
reverse(uint32_t code, int bits)
{
	code = ((code & 0x5555u) << 1) | ((code >> 1) & 0x5555u);
	code = ((code & 0x3333u) << 2) | ((code >> 2) & 0x3333u);
	code = ((code & 0x0F0Fu) << 4) | ((code >> 4) & 0x0F0Fu);
	code = ((code & 0x00FFu) << 8) | ((code >> 8) & 0x00FFu);
	return (uint16_t)(code >> (16 - bits));
}

/* A whole (canonical) prefix code for freq[0..n), each code at most limit
 * bits; a code needs two symbols, so one is added when fewer occur. */
static void
build(struct huff *h, uint32_t *freq, int n, int limit)
{
	struct sym a[NLITLEN];
	uint32_t keys[NLITLEN], tmp[NLITLEN];
	uint16_t next[MAX_BITS + 2] = { 0 }, c = 0;
	int used = 0, blc[MAX_BITS + 1] = { 0 };

	for (int s = 0; s < n && used < 2; s++)
		used += freq[s] > 0;
	for (int s = 0; used < 2; s++) {
		if (freq[s] == 0) {
			freq[s] = 1;
			used++;
		}
	}
	/* By frequency, then symbol: a frequency is at most BLOCK + 1 (17 bits)
	 * and a symbol 9 bits, so one 32-bit key sorts both. */
	used = 0;
	for (int s = 0; s < n; s++)
		if (freq[s] > 0)
			keys[used++] = freq[s] << 9 | (uint32_t)s;
	sort_keys(keys, tmp, used);
	for (int i = 0; i < used; i++)
		a[i] = (struct sym){ keys[i] >> 9, (uint16_t)(keys[i] & 0x1FF) };
	memset(h->len, 0, sizeof(h->len));
	code_lengths(a, used, limit, h->len);
	for (int s = 0; s < n; s++)
		blc[h->len[s]]++;
	blc[0] = 0;
	for (int l = 1; l <= limit; l++) {
		c = (uint16_t)((c + blc[l - 1]) << 1);
		next[l] = c;
	}
	for (int s = 0; s < n; s++)
		if (h->len[s])
			h->code[s] = reverse(next[h->len[s]]++, h->len[s]);
}

/* Bits go out from the lowest; whole 32-bit words are stored as they fill. */
struct bits {
	uint64_t acc;
	int n;
	unsigned char *p;
};

static inline void
put(struct bits *b, uint32_t v, int n)
{
	b->acc |= (uint64_t)v << b->n;
	b->n += n;
	if (b->n >= 32) {
		b->p[0] = (unsigned char)b->acc;
		b->p[1] = (unsigned char)(b->acc >> 8);
		b->p[2] = (unsigned char)(b->acc >> 16);
		b->p[3] = (unsigned char)(b->acc >> 24);
		b->p += 4;
		b->acc >>= 32;
		b->n -= 32;
	}
}

/* The code lengths of both codes as one run-length coded sequence (symbols
 * 16: repeat the last 3-6 times, 17: 3-10 zeros, 18: 11-138 zeros); each
 * entry is symbol | extra bits << 8. */
static int
clen_tokens(const uint8_t *seq, int n, uint16_t *out, uint32_t freq[NCLEN])
{
	int k = 0;

	for (int i = 0; i < n;) {
		int l = seq[i], run = 1, r;

		while (i + run < n && seq[i + run] == l)
			run++;
		i += run;
		if (l == 0) {
			for (r = run; r >= 11; r -= r < 138 ? r : 138) {
				int take = r < 138 ? r : 138;

				out[k++] = (uint16_t)(18 | (take - 11) << 8);
				freq[18]++;
			}
			if (r >= 3) {
				out[k++] = (uint16_t)(17 | (r - 3) << 8);
				freq[17]++;
				r = 0;
			}
		} else {
			out[k++] = (uint16_t)l;
			freq[l]++;
			for (r = run - 1; r >= 3; r -= r < 6 ? r : 6) {
				int take = r < 6 ? r : 6;

				out[k++] = (uint16_t)(16 | (take - 3) << 8);
				freq[16]++;
			}
		}
		for (; r > 0; r--) {
			out[k++] = (uint16_t)l;
			freq[l]++;
		}
	}
	return k;
}

/* The block header: BFINAL, dynamic codes, then the two codes' lengths. */
static void
put_header(struct bits *b, const struct huff *lit, const struct huff *dist, bool last)
{
	uint8_t seq[NLITLEN + NDIST];
	uint16_t cl[NLITLEN + NDIST];
	uint32_t cfreq[NCLEN] = { 0 };
	struct huff clh;
	int nlit = NLITLEN, ndist = NDIST, nclen = NCLEN, ncl;

	while (nlit > 257 && lit->len[nlit - 1] == 0)
		nlit--;
	while (ndist > 1 && dist->len[ndist - 1] == 0)
		ndist--;
	memcpy(seq, lit->len, (size_t)nlit);
	memcpy(seq + nlit, dist->len, (size_t)ndist);
	ncl = clen_tokens(seq, nlit + ndist, cl, cfreq);
	build(&clh, cfreq, NCLEN, MAX_CL_BITS);
	while (nclen > 4 && clh.len[CLEN_ORDER[nclen - 1]] == 0)
		nclen--;
	put(b, (last ? 1u : 0u) | 2u << 1, 3); /* dynamic Huffman codes */
	put(b, (uint32_t)(nlit - 257), 5);
	put(b, (uint32_t)(ndist - 1), 5);
	put(b, (uint32_t)(nclen - 4), 4);
	for (int i = 0; i < nclen; i++)
		put(b, clh.len[CLEN_ORDER[i]], 3);
	for (int i = 0; i < ncl; i++) {
		int s = cl[i] & 0xFF, extra = cl[i] >> 8;

		put(b, clh.code[s], clh.len[s]);
		if (s == 16)
			put(b, (uint32_t)extra, 2);
		else if (s == 17)
			put(b, (uint32_t)extra, 3);
		else if (s == 18)
			put(b, (uint32_t)extra, 7);
	}
}

static int
dist_code(size_t d)
{
	int c = 0;

	while (c < NDIST - 1 && d >= DIST_BASE[c + 1])
		c++;
	return c;
}

const unsigned char *
lbl_deflate_rows(struct lbl_deflate *z, const unsigned char *raw, size_t len, size_t row,
                 size_t *out_len)
{
	const uint32_t adler = (uint32_t)adler32(1L, raw, (uInt)len);
	/* A row longer than the window cannot be copied; runs still are. */
	const int up_code = row <= WINDOW ? dist_code(row) : -1;
	size_t at = 0, used = 2;

	if (z->tok == NULL)
		z->tok = bb_malloc(BLOCK * sizeof(*z->tok));
	if (z->out_cap < BLOCK_BOUND) {
		free(z->out);
		z->out_cap = BLOCK_BOUND + len / 4;
		z->out = bb_malloc(z->out_cap);
	}
	/* CMF: deflate with a 32 KB window; FLG: no dictionary, check bits. */
	z->out[0] = 0x78;
	z->out[1] = 0x01;
	do {
		uint32_t lfreq[NLITLEN] = { 0 }, dfreq[NDIST] = { 0 };
		struct huff lit, dist;
		size_t ntok = tokenize(z, raw, &at, len, row, up_code, lfreq, dfreq);
		struct bits b;

		if (z->out_cap - used < BLOCK_BOUND) {
			z->out_cap = 2 * z->out_cap + BLOCK_BOUND;
			z->out = bb_realloc(z->out, z->out_cap);
		}
		build(&lit, lfreq, NLITLEN, MAX_BITS);
		build(&dist, dfreq, NDIST, MAX_BITS);
		/* Each block ends on a whole byte (an empty stored block after a
		 * block that is not the last), so the next starts afresh. */
		b = (struct bits){ 0, 0, z->out + used };
		put_header(&b, &lit, &dist, at == len);
		for (size_t i = 0; i < ntok; i++) {
			uint32_t t = z->tok[i];

			if (!(t & MATCH)) {
				put(&b, lit.code[t], lit.len[t]);
				continue;
			}
			uint32_t l = t & 0x1FF;
			int lc = z->len_code[l], dc = t & UP ? up_code : 0;

			put(&b, lit.code[257 + lc], lit.len[257 + lc]);
			put(&b, l - LEN_BASE[lc], LEN_EXTRA[lc]);
			put(&b, dist.code[dc], dist.len[dc]);
			if (t & UP)
				put(&b, (uint32_t)(row - DIST_BASE[dc]), DIST_EXTRA[dc]);
		}
		put(&b, lit.code[END_BLOCK], lit.len[END_BLOCK]);
		if (at < len) {
			put(&b, 0, 3); /* a stored block: not the last */
			put(&b, 0, (32 - b.n) & 7);
			put(&b, 0xFFFF0000u, 32); /* its length 0 and the complement */
		}
		while (b.n > 0) {
			*b.p++ = (unsigned char)b.acc;
			b.acc >>= 8;
			b.n = b.n > 8 ? b.n - 8 : 0;
		}
		used = (size_t)(b.p - z->out);
	} while (at < len);
	for (int i = 3; i >= 0; i--)
		z->out[used++] = (unsigned char)(adler >> (8 * i));
	*out_len = used;
	return z->out;
}
