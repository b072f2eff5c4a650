/* checkpoint.c — check, sign, keep and export the log's checkpoints (checkpoint.h). */
#include "db/checkpoint.h"

#include "db/tlog.h"
#include "http/log.h"
#include "merkle.h"

#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct db_stmt db_checkpoint_statements[] = {
	{ "db_checkpoint_last",
	  "SELECT id, size, encode(root, 'hex') FROM log_checkpoints ORDER BY id DESC LIMIT 1" },
	{ "db_checkpoint_add", "SELECT bb_log_checkpoint_add($1, $2, $3)" },
	{ NULL, NULL },
};

static enum bb_err refuse(struct checkpoint_made *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum bb_err
refuse(struct checkpoint_made *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	log_warnx("ledger: not signing the log: %s", out->why);
	return BB_ECONFLICT;
}

/* Is the log as it stands (size, root) an extension of the last checkpoint kept? */
static enum bb_err
check_last(struct db_conn *c, uint64_t size, const mt_hash root, struct checkpoint_made *out)
{
	PGresult *res;
	enum bb_err err = db_exec(c, "db_checkpoint_last", 0, NULL, &res);
	int64_t last;
	mt_hash last_root;

	if (err != BB_OK)
		return err;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return BB_OK;
	}
	if (!bb_parse_int64(PQgetvalue(res, 0, 1), 0, INT64_MAX, &last) ||
	    bb_hex_decode(last_root, MT_HASH_LEN, PQgetvalue(res, 0, 2)) != 0) {
		PQclear(res);
		return BB_EINTERNAL;
	}
	PQclear(res);
	if ((uint64_t)last > size)
		return refuse(out,
		              "the log holds %" PRIu64 " entries, fewer than the %" PRIu64
		              " of the last checkpoint: entries were removed",
		              size, (uint64_t)last);
	if ((uint64_t)last == size) {
		if (sodium_memcmp(last_root, root, MT_HASH_LEN) != 0)
			return refuse(out,
			              "the log's root at %" PRIu64 " entries is not the last "
			              "checkpoint's (of %" PRIu64 "): entries were changed",
			              size, (uint64_t)last);
		memcpy(out->root, root, MT_HASH_LEN);
		return BB_OK; /* nothing new to sign */
	}
	if (last == 0)
		return BB_OK;
	struct mt_range ranges[MT_PROOF_MAX];
	unsigned char proof[MT_PROOF_MAX * MT_HASH_LEN];
	size_t n;
	if (mt_consistency_ranges((uint64_t)last, size, ranges, &n) != 0)
		return BB_EINTERNAL;
	if ((err = tlog_range_hashes(c, ranges, n, proof)) != BB_OK)
		return err;
	if (!mt_verify_consistency((uint64_t)last, size, last_root, root, proof, n))
		return refuse(out,
		              "the log of %" PRIu64 " entries does not extend the last "
		              "checkpoint's of %" PRIu64 ": entries it covers were changed",
		              size, (uint64_t)last);
	return BB_OK;
}

/* Write the note to DIR/<size>-<id>.checkpoint, never over a file. */
static void
export_note(const char *dir, const char *note, size_t len, struct checkpoint_made *out)
{
	snprintf(out->file, sizeof(out->file), "%s/%016" PRIu64 "-%lld.checkpoint", dir, out->size,
	         out->id);
	int fd = open(out->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0) {
		snprintf(out->why, sizeof(out->why), "cannot create %s: %s", out->file,
		         strerror(errno));
		log_warnx("ledger: checkpoint %lld not exported: %s", out->id, out->why);
		return;
	}
	ssize_t w = write(fd, note, len);
	int synced = fsync(fd);
	if (close(fd) != 0 || w != (ssize_t)len || synced != 0) {
		snprintf(out->why, sizeof(out->why), "cannot write %s: %s", out->file,
		         strerror(errno));
		log_warnx("ledger: checkpoint %lld not exported: %s", out->id, out->why);
		return;
	}
	out->exported = true;
}

enum bb_err
checkpoint_make(struct db_conn *c, const struct note_key *k, const char *dir,
                struct checkpoint_made *out)
{
	struct mt_range whole;
	mt_hash root;
	uint64_t size;
	enum bb_err err;

	memset(out, 0, sizeof(*out));
	/* Complete subtrees never change once stored: the size and then its
	 * subtrees are read consistently without a transaction. */
	if ((err = tlog_size(c, &size)) != BB_OK)
		return err;
	whole = mt_tree_range(size);
	if (size == 0) {
		mt_empty_root(out->root);
		return BB_OK; /* an empty log: nothing to sign (not fresh) */
	}
	if ((err = tlog_range_hashes(c, &whole, 1, root)) != BB_OK)
		return err;
	out->size = size;
	memcpy(out->root, root, MT_HASH_LEN);
	if ((err = check_last(c, size, root, out)) != BB_OK)
		return err;

	struct bb_buf text = { 0 }, note = { 0 };
	char size_s[24], root_hex[2 * MT_HASH_LEN + 1];
	PGresult *res;
	checkpoint_text(k->name, size, root, &text);
	note_sign(k, text.data, text.len, &note);
	bb_buf_free(&text);
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	bb_hex_encode(root_hex, root, MT_HASH_LEN);
	const char *params[] = { size_s, root_hex, note.data };
	if ((err = db_exec(c, "db_checkpoint_add", 3, params, &res)) != BB_OK) {
		bb_buf_free(&note);
		return err;
	}
	out->fresh = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	out->id = out->fresh ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (out->fresh && dir != NULL)
		export_note(dir, note.data, note.len, out);
	bb_buf_free(&note);
	return BB_OK;
}
