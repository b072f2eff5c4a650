/*
 * merkle.h — the Merkle tree of RFC 9162 (Certificate Transparency 2.0),
 * section 2.1, over the custody log: leaf = SHA-256(0x00 || data),
 * node = SHA-256(0x01 || left || right), the tree of n leaves split at the
 * largest power of two below n. Pure functions, shared by the sequencer
 * (which stores every complete subtree), the proofs the daemon answers, and
 * the verifiers that need no database (verify-bundle, the tests).
 *
 * A complete subtree is stored as (level, index): leaves
 * [index << level, (index + 1) << level). Every range a proof of RFC 9162
 * names is either such a subtree or ends at the tree's right edge, and the
 * hash of one at the right edge is made of at most 64 stored subtrees: a
 * proof reads O(log n) of them.
 */
#ifndef BB_MERKLE_H
#define BB_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	MT_HASH_LEN = 32,
	MT_LEVELS = 64,    /* a tree has fewer than 2^63 leaves */
	MT_PROOF_MAX = 64, /* hashes in one proof */
};

typedef unsigned char mt_hash[MT_HASH_LEN];

void mt_leaf_hash(const void *data, size_t n, mt_hash out);
void mt_node_hash(const mt_hash left, const mt_hash right, mt_hash out);
/* The root of the empty tree: SHA-256 of nothing. */
void mt_empty_root(mt_hash out);

struct mt_node {
	int level;
	uint64_t index;
};

/* Leaves [start, end). */
struct mt_range {
	uint64_t start, end;
};

/*
 * The right edge of a tree being appended to: hash[l] is the complete
 * subtree at level l that ends the tree, for each bit l set in size.
 */
struct mt_frontier {
	uint64_t size;
	mt_hash hash[MT_LEVELS];
};

/* The stored subtrees a frontier of size leaves is made of, smallest first;
 * returns their count. Load them into hash[level] to resume appending. */
size_t mt_frontier_nodes(uint64_t size, struct mt_node out[MT_LEVELS]);

/* Append one leaf: emit(arg, level, index, hash) is called for each
 * complete subtree it completes, the leaf itself (level 0) first; emit may be
 * NULL (only the root is wanted). */
typedef void (*mt_emit_fn)(void *arg, int level, uint64_t index, const mt_hash hash);
void mt_frontier_append(struct mt_frontier *f, const mt_hash leaf, mt_emit_fn emit, void *arg);

/* The root of the tree of f->size leaves. */
void mt_frontier_root(const struct mt_frontier *f, mt_hash out);

/*
 * The ranges whose hashes are the inclusion proof of leaf index in the tree
 * of size leaves (RFC 9162 2.1.3.1), and the consistency proof between the
 * trees of from and to leaves (2.1.4.1), in proof order. -1 when the
 * arguments name no proof (index >= size; from == 0 or from > to).
 */
int mt_inclusion_ranges(uint64_t index, uint64_t size, struct mt_range out[MT_PROOF_MAX],
                        size_t *n);
int mt_consistency_ranges(uint64_t from, uint64_t to, struct mt_range out[MT_PROOF_MAX], size_t *n);
/* The range of a whole tree of size leaves: its hash is the root. */
struct mt_range mt_tree_range(uint64_t size);

/*
 * The stored subtrees that make up a range, left to right; returns their
 * count, 0 when the range is not one a proof names (its start not aligned to
 * its size).
 */
size_t mt_range_nodes(struct mt_range r, struct mt_node out[MT_LEVELS]);
/* The range's hash from its n subtrees' hashes (back to back), in mt_range_nodes' order. */
void mt_range_hash(const unsigned char *nodes, size_t n, mt_hash out);

/*
 * RFC 9162 2.1.3.2: does proof (n hashes back to back) show leaf at index in
 * the tree of size leaves with root?
 */
bool mt_verify_inclusion(uint64_t index, uint64_t size, const mt_hash leaf,
                         const unsigned char *proof, size_t n, const mt_hash root);
/* RFC 9162 2.1.4.2: is the tree of from leaves with from_root a prefix of the one of to leaves? */
bool mt_verify_consistency(uint64_t from, uint64_t to, const mt_hash from_root,
                           const mt_hash to_root, const unsigned char *proof, size_t n);

#endif
