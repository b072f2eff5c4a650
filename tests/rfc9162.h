/*
 * rfc9162.h — RFC 9162 section 2.1 written out from its recursive
 * definitions (MTH, PATH, SUBPROOF), computing every hash from all the
 * leaves: slow and plain on purpose, the reference lib/merkle.c
 * (tests/unit/test_merkle.c) and the proofs the API answers
 * (tests/api/test_proofs.c) are held to. Header-only, for one test program
 * each; libsodium hashes.
 */
#ifndef BB_TEST_RFC9162_H
#define BB_TEST_RFC9162_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef const unsigned char (*ref_leaves)[32]; /* D[0..n): leaf hashes */

struct ref_proof {
	unsigned char h[64][32];
	size_t n;
};

/* The largest power of two smaller than n (n > 1). */
static inline uint64_t
ref_k(uint64_t n)
{
	uint64_t k = 1;
	while (2 * k < n)
		k *= 2;
	return k;
}

/* MTH(D[start:start+n]) */
static inline void
ref_mth(ref_leaves d, uint64_t start, uint64_t n, unsigned char out[32])
{
	if (n == 0) {
		crypto_hash_sha256(out, NULL, 0);
	} else if (n == 1) {
		memcpy(out, d[start], 32);
	} else {
		unsigned char buf[65] = { 1 };
		uint64_t k = ref_k(n);
		ref_mth(d, start, k, buf + 1);
		ref_mth(d, start + k, n - k, buf + 33);
		crypto_hash_sha256(out, buf, 65);
	}
}

static inline void
ref_push(ref_leaves d, struct ref_proof *p, uint64_t start, uint64_t n)
{
	ref_mth(d, start, n, p->h[p->n++]);
}

/* PATH(m, D[start:start+n]), m relative to start */
static inline void
ref_path(ref_leaves d, uint64_t m, uint64_t start, uint64_t n, struct ref_proof *p)
{
	if (n <= 1)
		return;
	uint64_t k = ref_k(n);
	if (m < k) {
		ref_path(d, m, start, k, p);
		ref_push(d, p, start + k, n - k);
	} else {
		ref_path(d, m - k, start + k, n - k, p);
		ref_push(d, p, start, k);
	}
}

/* SUBPROOF(m, D[start:start+n], b) */
static inline void
ref_subproof(ref_leaves d, uint64_t m, uint64_t start, uint64_t n, bool b, struct ref_proof *p)
{
	if (m == n) {
		if (!b)
			ref_push(d, p, start, n);
		return;
	}
	uint64_t k = ref_k(n);
	if (m <= k) {
		ref_subproof(d, m, start, k, b, p);
		ref_push(d, p, start + k, n - k);
	} else {
		ref_subproof(d, m - k, start + k, n - k, false, p);
		ref_push(d, p, start, k);
	}
}

#endif
