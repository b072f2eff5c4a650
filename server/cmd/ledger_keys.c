/* ledger_keys.c — the log's key files (ledger_keys.h). */
#include "cmd/ledger_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KEY_FILE_MAX = 1024 };

/* Create path with mode, never over a file, holding text and a newline. */
static int
write_new(const char *path, mode_t mode, const char *text, FILE *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0) {
		fprintf(err, "biobankd: keygen: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = strlen(text);
	bool ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	if (close(fd) != 0 || !ok) {
		fprintf(err, "biobankd: keygen: cannot write %s: %s\n", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
ledger_keygen(const char *dir, const char *origin, FILE *out, FILE *err)
{
	char name[NOTE_NAME_MAX + 1], host[256], key_path[PATH_MAX], pub_path[PATH_MAX];
	struct note_key k;
	struct bb_buf secret = { 0 }, pub = { 0 };
	int rc = 1;

	if (origin == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(name, sizeof(name), "%.150s/biobank-ledger", host);
	} else {
		snprintf(name, sizeof(name), "%s", origin);
	}
	if (note_key_generate(name, &k) != 0) {
		fprintf(err,
		        "biobankd: keygen: \"%s\" is not a log's name: printable ASCII without "
		        "spaces or '+', at most %d characters (e.g. biobank.example.org/ledger)\n",
		        name, NOTE_NAME_MAX);
		return 2;
	}
	snprintf(key_path, sizeof(key_path), "%s/%s", dir, LEDGER_KEY_FILE);
	snprintf(pub_path, sizeof(pub_path), "%s/%s", dir, LEDGER_PUB_FILE);
	note_key_text(&k, true, &secret);
	note_key_text(&k, false, &pub);
	if (write_new(key_path, 0600, secret.data, err) == 0) {
		if (write_new(pub_path, 0644, pub.data, err) == 0) {
			fprintf(out,
			        "wrote %s (the signing key: keep it secret, set ledger_key to it)\n"
			        "wrote %s (the verifier key: publish it)\n%s\n",
			        key_path, pub_path, pub.data);
			rc = 0;
		} else {
			unlink(key_path);
		}
	}
	sodium_memzero(secret.data, secret.len);
	sodium_memzero(&k, sizeof(k));
	bb_buf_free(&secret);
	bb_buf_free(&pub);
	return rc;
}

/* The whole of a small file into buf; -1 after a line on err. */
static int
read_small(const char *path, const char *what, char *buf, size_t cap, FILE *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		fprintf(err, "biobankd: %s: cannot read %s: %s\n", what, path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0 || (size_t)n == cap - 1) {
		fprintf(err, "biobankd: %s: %s is not a key file\n", what, path);
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

int
ledger_key_load(const char *path, struct note_key *k, FILE *err)
{
	struct stat st;
	char buf[KEY_FILE_MAX];
	const char *why;

	if (stat(path, &st) != 0) {
		fprintf(err, "biobankd: ledger_key: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(err, "biobankd: ledger_key: %s is not a file\n", path);
		return -1;
	}
	if (read_small(path, "ledger_key", buf, sizeof(buf), err) != 0)
		return -1;
	int rc = note_key_read(buf, k, &why);
	sodium_memzero(buf, sizeof(buf));
	if (rc != 0) {
		fprintf(err, "biobankd: ledger_key: %s: %s\n", path, why);
		return -1;
	}
	if (!k->secret) {
		fprintf(err,
		        "biobankd: ledger_key: %s holds the verifier key; give the signing key "
		        "(%s)\n",
		        path, LEDGER_KEY_FILE);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		sodium_memzero(k, sizeof(*k));
		fprintf(err,
		        "biobankd: ledger_key: %s may be read by others than its owner: chmod 600 "
		        "it\n",
		        path);
		return -1;
	}
	return 0;
}

int
ledger_pub_load(const char *arg, struct note_key *k, FILE *err)
{
	char buf[KEY_FILE_MAX];
	const char *why;
	struct stat st;

	if (stat(arg, &st) == 0) {
		if (read_small(arg, "--key", buf, sizeof(buf), err) != 0)
			return -1;
	} else {
		snprintf(buf, sizeof(buf), "%s", arg);
	}
	int rc = note_key_read(buf, k, &why);
	sodium_memzero(buf, sizeof(buf));
	if (rc != 0) {
		fprintf(err, "biobankd: --key: %s: %s\n", arg, why);
		return -1;
	}
	/* Only the public half is needed. */
	sodium_memzero(k->sec, sizeof(k->sec));
	k->secret = false;
	return 0;
}

int
ledger_witnessed_load(const char *list, struct note_key **out, size_t *n, FILE *err)
{
	int problems = 0;

	*out = NULL;
	*n = 0;
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");
		char path[PATH_MAX];
		struct note_key k;

		snprintf(path, sizeof(path), "%.*s", (int)len, p);
		p += len + (p[len] == ',');
		if (path[0] == '\0')
			continue;
		if (ledger_pub_load(path, &k, err) != 0) {
			fprintf(err, "biobankd: witness_logs: %s is not a log's verifier key\n",
			        path);
			problems++;
			continue;
		}
		bool twice = false;
		for (size_t i = 0; i < *n; i++)
			twice = twice || strcmp((*out)[i].name, k.name) == 0;
		if (twice) {
			fprintf(err, "biobankd: witness_logs: two keys of the log %s\n", k.name);
			problems++;
			continue;
		}
		*out = bb_realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = k;
	}
	return problems;
}
