/*
 * test_merkle.c — lib/merkle.c against RFC 9162 written out again here, from
 * its recursive definitions of MTH, PATH and PROOF (section 2.1), computing
 * every hash from all the leaves. The library appends leaves one at a time,
 * stores the complete subtrees it emits, and answers proofs from those alone;
 * for every tree size up to 1100 its root must be the recomputed one, and
 * for many leaves and sizes its proofs must be RFC 9162's, hash for hash,
 * verify, and stop verifying when anything about them is changed.
 */
#include "merkle.h"

#include "../harness.h"
#include "../rfc9162.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { LEAVES = 1100, ALL_BELOW = 70 };

static unsigned char leaves[LEAVES][32];

/* ---- the library's side: a store of the subtrees it emitted ---- */

static unsigned char *store[MT_LEVELS]; /* store[l][i * 32]: subtree (l, i) */
static uint64_t stored[MT_LEVELS];      /* how many of each level */
static bool missing_node;

static void
emit(void *arg, int level, uint64_t index, const mt_hash hash)
{
	(void)arg;
	if (index != stored[level])
		missing_node = true; /* subtrees of a level come in order */
	store[level] = realloc(store[level], (size_t)(index + 1) * 32);
	memcpy(store[level] + index * 32, hash, 32);
	stored[level] = index + 1;
}

/* A proof from the library's ranges and the stored subtrees only; false when
 * a range needs a subtree not stored (not complete) or is not a subtree sum. */
static bool
lib_proof(const struct mt_range *ranges, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		struct mt_node nodes[MT_LEVELS];
		unsigned char hashes[MT_LEVELS * 32];
		size_t k = mt_range_nodes(ranges[i], nodes);

		if (k == 0)
			return false;
		for (size_t j = 0; j < k; j++) {
			if (nodes[j].index >= stored[nodes[j].level])
				return false;
			memcpy(hashes + j * 32, store[nodes[j].level] + nodes[j].index * 32, 32);
		}
		mt_range_hash(hashes, k, out + i * 32);
	}
	return true;
}

static bool
same(const struct ref_proof *ref, const unsigned char *got, size_t n)
{
	if (ref->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (memcmp(ref->h[i], got + i * 32, 32) != 0)
			return false;
	return true;
}

static bool
check_inclusion(uint64_t m, uint64_t size, const unsigned char root[32])
{
	struct mt_range ranges[MT_PROOF_MAX];
	unsigned char proof[MT_PROOF_MAX * 32], bad[MT_PROOF_MAX * 32];
	struct ref_proof ref = { .n = 0 };
	size_t n;

	if (mt_inclusion_ranges(m, size, ranges, &n) != 0 || !lib_proof(ranges, n, proof))
		return false;
	ref_path(leaves, m, 0, size, &ref);
	if (!same(&ref, proof, n))
		return false;
	if (!mt_verify_inclusion(m, size, leaves[m], proof, n, root))
		return false;
	/* Anything changed, and it no longer verifies. */
	memcpy(bad, proof, n * 32);
	if (n > 0) {
		bad[(m % n) * 32 + 7] ^= 0x40;
		if (mt_verify_inclusion(m, size, leaves[m], bad, n, root))
			return false;
		if (mt_verify_inclusion(m, size, leaves[m], proof, n - 1, root))
			return false;
	}
	if (size > 1 &&
	    mt_verify_inclusion((m ^ 1) < size ? m ^ 1 : m - 1, size, leaves[m], proof, n, root))
		return false;
	/* (A tree one leaf larger may have the same path: the size is bound by the
	 * signed checkpoint that carries it with the root, not by the proof.) */
	if (mt_verify_inclusion(size, size, leaves[m], proof, n, root))
		return false;
	unsigned char other[32];
	memcpy(other, leaves[m], 32);
	other[0] ^= 1;
	return !mt_verify_inclusion(m, size, other, proof, n, root);
}

static bool
check_consistency(uint64_t from, uint64_t to, const unsigned char *roots)
{
	struct mt_range ranges[MT_PROOF_MAX];
	unsigned char proof[MT_PROOF_MAX * 32];
	struct ref_proof ref = { .n = 0 };
	size_t n;
	const unsigned char *r1 = roots + from * 32, *r2 = roots + to * 32;

	if (mt_consistency_ranges(from, to, ranges, &n) != 0 || !lib_proof(ranges, n, proof))
		return false;
	if (from < to)
		ref_subproof(leaves, from, 0, to, true, &ref);
	if (!same(&ref, proof, n))
		return false;
	if (!mt_verify_consistency(from, to, r1, r2, proof, n))
		return false;
	if (n > 0) {
		unsigned char bad[MT_PROOF_MAX * 32];
		memcpy(bad, proof, n * 32);
		bad[((from + to) % n) * 32] ^= 0x80;
		if (mt_verify_consistency(from, to, r1, r2, bad, n) ||
		    mt_verify_consistency(from, to, r1, r2, proof, n - 1))
			return false;
	}
	/* Another first tree (one leaf fewer or more) is not proven by this proof. */
	if (from > 1 && mt_verify_consistency(from, to, roots + (from - 1) * 32, r2, proof, n))
		return false;
	if (from < to && mt_verify_consistency(from, to, r1, roots + (to - 1) * 32, proof, n))
		return false;
	return true;
}

int
main(void)
{
	struct mt_frontier f = { .size = 0 };
	unsigned char *roots = malloc((LEAVES + 1) * 32);
	long roots_ok = 0, incl = 0, incl_ok = 0, cons = 0, cons_ok = 0;

	if (sodium_init() < 0 || roots == NULL)
		tap_bail("set-up");
	for (int i = 0; i < LEAVES; i++) {
		char text[32];
		int n = snprintf(text, sizeof(text), "event %d", i);
		mt_leaf_hash(text, (size_t)n, leaves[i]);
	}
	unsigned char want[32], prefixed[40] = { 0 };
	memcpy(prefixed + 1, "event 0", 7);
	crypto_hash_sha256(want, prefixed, 8);
	ok(memcmp(want, leaves[0], 32) == 0, "a leaf is SHA-256(0x00 || data)");
	mt_frontier_root(&f, roots);
	crypto_hash_sha256(want, NULL, 0);
	ok(memcmp(want, roots, 32) == 0, "the empty tree's root is SHA-256 of nothing");

	for (uint64_t size = 1; size <= LEAVES; size++) {
		mt_frontier_append(&f, leaves[size - 1], emit, NULL);
		mt_frontier_root(&f, roots + size * 32);
		ref_mth(leaves, 0, size, want);
		roots_ok += memcmp(want, roots + size * 32, 32) == 0;

		/* The stored subtrees alone give the root too (what a checkpoint reads). */
		struct mt_range whole = mt_tree_range(size);
		unsigned char from_store[32];
		if (lib_proof(&whole, 1, from_store) && memcmp(from_store, want, 32) != 0)
			roots_ok--;

		/* Proofs in every small tree and in larger ones of sizes around
		 * powers of two and a spread (the reference recomputes every hash). */
		bool pow2ish = ((size & (size - 1)) == 0) || (((size - 1) & (size - 2)) == 0) ||
		               (((size + 1) & size) == 0);
		if (size > ALL_BELOW && !pow2ish && size % 89 != 0 && size != LEAVES)
			continue;
		/* Every leaf of the small trees; of the larger, the edges and a spread. */
		for (uint64_t m = 0; m < size; m++) {
			if (size > ALL_BELOW && m > 2 && m + 3 < size && m % 97 != 0 &&
			    (m & (m - 1)) != 0)
				continue;
			incl++;
			incl_ok += check_inclusion(m, size, roots + size * 32);
		}
		for (uint64_t from = 1; from <= size; from++) {
			if (size > ALL_BELOW && from > 3 && from + 2 < size && from % 61 != 0 &&
			    (from & (from - 1)) != 0)
				continue;
			cons++;
			cons_ok += check_consistency(from, size, roots);
		}
	}
	is_int(roots_ok, LEAVES,
	       "the root of every tree size 1..%d is MTH recomputed from all its leaves", LEAVES);
	ok(!missing_node, "the subtrees of each level are emitted once each, in order");
	is_int(incl_ok, incl,
	       "%ld inclusion proofs from stored subtrees are RFC 9162's PATH, verify, and fail "
	       "when a hash, the index, the leaf or the length changes",
	       incl);
	is_int(cons_ok, cons,
	       "%ld consistency proofs are RFC 9162's PROOF, verify, and fail when a hash, the "
	       "length or either root changes",
	       cons);

	/* Arguments that name no proof. */
	struct mt_range r[MT_PROOF_MAX];
	size_t n;
	ok(mt_inclusion_ranges(5, 5, r, &n) == -1 && mt_consistency_ranges(0, 5, r, &n) == -1 &&
	       mt_consistency_ranges(6, 5, r, &n) == -1,
	   "no proof for a leaf past the tree, from an empty tree or to a smaller one");
	ok(!mt_verify_consistency(0, 5, roots, roots + 5 * 32, NULL, 0) &&
	       !mt_verify_consistency(3, 5, roots + 3 * 32, roots + 5 * 32, NULL, 0) &&
	       mt_verify_consistency(5, 5, roots + 5 * 32, roots + 5 * 32, NULL, 0) &&
	       !mt_verify_consistency(5, 5, roots + 5 * 32, roots + 4 * 32, NULL, 0),
	   "an empty consistency proof proves only a tree consistent with itself");
	struct mt_node nodes[MT_LEVELS];
	ok(mt_range_nodes((struct mt_range){ 3, 7 }, nodes) == 0,
	   "a range that starts off its subtrees' grid has no stored subtrees");

	struct mt_node fn[MT_LEVELS];
	size_t k = mt_frontier_nodes(11, fn);
	ok(k == 3 && fn[0].level == 0 && fn[0].index == 10 && fn[1].level == 1 &&
	       fn[1].index == 4 && fn[2].level == 3 && fn[2].index == 0,
	   "a tree of 11 leaves ends in subtrees (0,10), (1,4) and (3,0)");

	for (int l = 0; l < MT_LEVELS; l++)
		free(store[l]);
	free(roots);
	return tap_done();
}
