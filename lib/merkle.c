/* merkle.c — RFC 9162's Merkle tree: hashing, appending, proofs and their verification. */
#include "merkle.h"

#include <nettle/sha2.h>
#include <sodium.h>
#include <string.h>

/* nettle's SHA-256: the CPU's SHA instructions where it has them (libsodium's is portable C). */
void
mt_leaf_hash(const void *data, size_t n, mt_hash out)
{
	static const unsigned char prefix = 0x00;
	struct sha256_ctx st;

	sha256_init(&st);
	sha256_update(&st, 1, &prefix);
	sha256_update(&st, n, data);
	sha256_digest(&st, MT_HASH_LEN, out);
}

void
mt_node_hash(const mt_hash left, const mt_hash right, mt_hash out)
{
	unsigned char buf[1 + 2 * MT_HASH_LEN];
	struct sha256_ctx st;

	buf[0] = 0x01;
	memcpy(buf + 1, left, MT_HASH_LEN);
	memcpy(buf + 1 + MT_HASH_LEN, right, MT_HASH_LEN);
	sha256_init(&st);
	sha256_update(&st, sizeof(buf), buf);
	sha256_digest(&st, MT_HASH_LEN, out);
}

void
mt_empty_root(mt_hash out)
{
	struct sha256_ctx st;

	sha256_init(&st);
	sha256_digest(&st, MT_HASH_LEN, out);
}

size_t
mt_frontier_nodes(uint64_t size, struct mt_node out[MT_LEVELS])
{
	size_t n = 0;

	for (int l = 0; l < MT_LEVELS; l++)
		if ((size >> l) & 1) {
			out[n].level = l;
			/* The last complete subtree of level l: it ends where the tree's
			 * higher subtrees leave off. */
			out[n].index = (size >> l) - 1;
			n++;
		}
	return n;
}

void
mt_frontier_append(struct mt_frontier *f, const mt_hash leaf, mt_emit_fn emit, void *arg)
{
	uint64_t idx = f->size;
	mt_hash h;
	int l = 0;

	memcpy(h, leaf, MT_HASH_LEN);
	if (emit != NULL)
		emit(arg, 0, idx, h);
	/* While the new subtree is a right child, it completes its parent. */
	while ((idx >> l) & 1) {
		mt_node_hash(f->hash[l], h, h);
		l++;
		if (emit != NULL)
			emit(arg, l, idx >> l, h);
	}
	memcpy(f->hash[l], h, MT_HASH_LEN);
	f->size++;
}

void
mt_frontier_root(const struct mt_frontier *f, mt_hash out)
{
	bool any = false;

	/* The smallest subtree is the rightmost: fold right to left. */
	for (int l = 0; l < MT_LEVELS; l++) {
		if (((f->size >> l) & 1) == 0)
			continue;
		if (any) {
			mt_node_hash(f->hash[l], out, out);
		} else {
			memcpy(out, f->hash[l], MT_HASH_LEN);
			any = true;
		}
	}
	if (!any)
		mt_empty_root(out);
}

/* The largest power of two below n (n >= 2): where RFC 9162 splits a tree. */
static uint64_t
split(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

static void
add(struct mt_range *out, size_t *n, uint64_t start, uint64_t end)
{
	out[*n].start = start;
	out[*n].end = end;
	(*n)++;
}

/* PATH(m, D[start:end]) of RFC 9162 2.1.3.1, m an absolute leaf index. */
static void
path(uint64_t m, uint64_t start, uint64_t end, struct mt_range *out, size_t *n)
{
	if (end - start <= 1)
		return;
	uint64_t k = split(end - start);
	if (m - start < k) {
		path(m, start, start + k, out, n);
		add(out, n, start + k, end);
	} else {
		path(m, start + k, end, out, n);
		add(out, n, start, start + k);
	}
}

int
mt_inclusion_ranges(uint64_t index, uint64_t size, struct mt_range out[MT_PROOF_MAX], size_t *n)
{
	*n = 0;
	if (index >= size || size > (UINT64_C(1) << 62))
		return -1;
	path(index, 0, size, out, n);
	return 0;
}

/* SUBPROOF(m, D[start:end], b) of RFC 9162 2.1.4.1, m counted from start. */
static void
subproof(uint64_t m, uint64_t start, uint64_t end, bool b, struct mt_range *out, size_t *n)
{
	if (m == end - start) {
		if (!b)
			add(out, n, start, end);
		return;
	}
	uint64_t k = split(end - start);
	if (m <= k) {
		subproof(m, start, start + k, b, out, n);
		add(out, n, start + k, end);
	} else {
		subproof(m - k, start + k, end, false, out, n);
		add(out, n, start, start + k);
	}
}

int
mt_consistency_ranges(uint64_t from, uint64_t to, struct mt_range out[MT_PROOF_MAX], size_t *n)
{
	*n = 0;
	if (from == 0 || from > to || to > (UINT64_C(1) << 62))
		return -1;
	subproof(from, 0, to, true, out, n);
	return 0;
}

struct mt_range
mt_tree_range(uint64_t size)
{
	return (struct mt_range){ 0, size };
}

size_t
mt_range_nodes(struct mt_range r, struct mt_node out[MT_LEVELS])
{
	uint64_t len = r.end - r.start, pos = r.start;
	size_t n = 0;

	if (r.end <= r.start)
		return 0;
	for (int l = MT_LEVELS - 1; l >= 0; l--) {
		if (((len >> l) & 1) == 0)
			continue;
		if (pos & ((UINT64_C(1) << l) - 1))
			return 0; /* not aligned: no stored subtree starts here */
		out[n].level = l;
		out[n].index = pos >> l;
		n++;
		pos += UINT64_C(1) << l;
	}
	return n;
}

void
mt_range_hash(const unsigned char *nodes, size_t n, mt_hash out)
{
	if (n == 0) {
		mt_empty_root(out);
		return;
	}
	memcpy(out, nodes + (n - 1) * MT_HASH_LEN, MT_HASH_LEN);
	for (size_t i = n - 1; i-- > 0;)
		mt_node_hash(nodes + i * MT_HASH_LEN, out, out);
}

bool
mt_verify_inclusion(uint64_t index, uint64_t size, const mt_hash leaf, const unsigned char *proof,
                    size_t n, const mt_hash root)
{
	if (index >= size)
		return false;
	uint64_t fn = index, sn = size - 1;
	mt_hash r;

	memcpy(r, leaf, MT_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = proof + i * MT_HASH_LEN;

		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			mt_node_hash(p, r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			mt_node_hash(r, p, r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && sodium_memcmp(r, root, MT_HASH_LEN) == 0;
}

bool
mt_verify_consistency(uint64_t from, uint64_t to, const mt_hash from_root, const mt_hash to_root,
                      const unsigned char *proof, size_t n)
{
	if (from == 0 || from > to)
		return false;
	if (from == to)
		return n == 0 && sodium_memcmp(from_root, to_root, MT_HASH_LEN) == 0;
	if (n == 0)
		return false;
	/* A first tree of a power of two leaves is itself a subtree of the second:
	 * the proof leaves its root out. */
	bool pow2 = (from & (from - 1)) == 0;
	const unsigned char *first = pow2 ? from_root : proof;
	size_t i = pow2 ? 0 : 1;
	uint64_t fn = from - 1, sn = to - 1;
	mt_hash fr, sr;

	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, first, MT_HASH_LEN);
	memcpy(sr, first, MT_HASH_LEN);
	for (; i < n; i++) {
		const unsigned char *c = proof + i * MT_HASH_LEN;

		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			mt_node_hash(c, fr, fr);
			mt_node_hash(c, sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			mt_node_hash(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && sodium_memcmp(fr, from_root, MT_HASH_LEN) == 0 &&
	       sodium_memcmp(sr, to_root, MT_HASH_LEN) == 0;
}
