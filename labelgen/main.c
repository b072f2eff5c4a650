/*
 * main.c — the labelgen command: label data from biobankd or a file, rendered
 * by the label library, written to files or standard output or sent to a
 * printer, and each print recorded back as a custody event.
 */
#define _GNU_SOURCE /* syncfs(2): one flush for a folder of labels */
#include "cli.h"
#include "ids.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Kept identical to the SYNOPSIS of docs/labelgen.1. */
static const char usage_text[] =
    "usage:\n"
    "labelgen [--server URL] [--token-file FILE] [--allow-plain-http]\n"
    "         [--input FILE] [--format zpl|png|svg|pdf]\n"
    "         [--template NAME] [--dpi N] [--copies N]\n"
    "         [--printer URI|NAME] [--printers FILE]\n"
    "         [--output PATH] [--timeout SECONDS] [--timezone ZONE] [ID ...]\n"
    "labelgen --list-templates\n";

static const char *const DEFAULT_TEMPLATE = "cryo-1.28x0.5in";
static const char *const DEFAULT_PRINTERS = "/etc/biobank/printers.conf";
static const char *const DEFAULT_TEMPLATES = "/etc/biobank/templates";
enum { DEFAULT_DPI = 203, DEFAULT_TIMEOUT_S = 10, PRINT_CHUNK = 50 };

struct opts {
	const char *server, *token_file, *input, *format, *tpl, *printer, *printers, *output, *tz;
	int dpi, copies, timeout_s;
	bool list, allow_plain_http;
};

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

__attribute__((format(printf, 1, 2))) static void
warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("labelgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool
parse_int(const char *s, int min, int max, int *out)
{
	int64_t v;

	if (!bb_parse_int64(s, min, max, &v))
		return false;
	*out = (int)v;
	return true;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 'k' },
		{ "input", required_argument, NULL, 'i' },
		{ "format", required_argument, NULL, 'f' },
		{ "template", required_argument, NULL, 't' },
		{ "dpi", required_argument, NULL, 'd' },
		{ "copies", required_argument, NULL, 'c' },
		{ "printer", required_argument, NULL, 'p' },
		{ "printers", required_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "timezone", required_argument, NULL, 'z' },
		{ "list-templates", no_argument, NULL, 'L' },
		{ "allow-plain-http", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*o = (struct opts){ .tpl = DEFAULT_TEMPLATE,
		            .dpi = DEFAULT_DPI,
		            .copies = 1,
		            .timeout_s = DEFAULT_TIMEOUT_S };
	o->server = getenv("BIOBANK_SERVER");
	o->printers = getenv("BIOBANK_PRINTERS") ? getenv("BIOBANK_PRINTERS") : DEFAULT_PRINTERS;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->server = optarg;
			break;
		case 'k':
			o->token_file = optarg;
			break;
		case 'i':
			o->input = optarg;
			break;
		case 'f':
			o->format = optarg;
			break;
		case 't':
			o->tpl = optarg;
			break;
		case 'p':
			o->printer = optarg;
			break;
		case 'P':
			o->printers = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'z':
			o->tz = optarg;
			break;
		case 'L':
			o->list = true;
			break;
		case 'A':
			o->allow_plain_http = true;
			break;
		case 'd':
			if (!parse_int(optarg, 1, 10000, &o->dpi) || !lbl_dpi_supported(o->dpi)) {
				warnx("--dpi %s: use 203, 300 or 600", optarg);
				return -1;
			}
			break;
		case 'c':
			if (!parse_int(optarg, 1, LBL_COPIES_MAX, &o->copies)) {
				warnx("--copies %s: use 1 to %d", optarg, LBL_COPIES_MAX);
				return -1;
			}
			break;
		case 'T':
			if (!parse_int(optarg, 1, 3600, &o->timeout_s)) {
				warnx("--timeout %s: use 1 to 3600 seconds", optarg);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	return optind;
}

static char *
read_token(const struct opts *o)
{
	char line[4096];
	FILE *f;

	if (o->token_file == NULL) {
		const char *env = getenv("BIOBANK_TOKEN");

		return env && env[0] ? bb_strdup(env) : NULL;
	}
	if ((f = fopen(o->token_file, "r")) == NULL) {
		warnx("--token-file %s: %s", o->token_file, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0') {
		warnx("--token-file %s is empty", o->token_file);
		return NULL;
	}
	return bb_strdup(line);
}

/* IDs from the arguments, else whitespace-separated on standard input. */
static int
collect_ids(int argc, char **argv, char ***ids, size_t *n)
{
	struct bb_buf in = { 0 };
	char *words = NULL, *save = NULL, *w;
	size_t cap = 0;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	if (argc == 0) {
		char chunk[4096];
		size_t k;

		while ((k = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			bb_buf_append(&in, chunk, k);
		bb_buf_puts(&in, "");
		words = in.data;
	}
	for (int i = 0;; i++) {
		const char *raw, *why;
		char id[BB_ID_LEN + 1];

		if (argc > 0) {
			if (i == argc)
				break;
			raw = argv[i];
		} else {
			w = strtok_r(i == 0 ? words : NULL, " \t\r\n,", &save);
			if (w == NULL)
				break;
			raw = w;
		}
		if (bb_id_parse(raw, id, &why) != BB_OK) {
			warnx("\"%.40s\" is not a specimen ID: %s", raw, why);
			rc = -1;
			break;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*ids = bb_realloc(*ids, cap * sizeof(**ids));
		}
		(*ids)[(*n)++] = bb_strdup(id);
	}
	bb_buf_free(&in);
	return rc;
}

static void
free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/*
 * A file appears whole or not at all: written under a temporary name, then
 * renamed. With flush it is on disk before the rename; a folder of labels
 * is flushed once at the end instead (sync_folder), since a flush per file
 * cost more than drawing the label.
 */
static int
write_atomic(const char *path, const void *data, size_t len, bool flush)
{
	char *tmp = bb_asprintf("%s.XXXXXX", path);
	int fd = mkstemp(tmp), rc = -1;
	const char *p = data;

	if (fd < 0) {
		warnx("%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		p += w;
		len -= (size_t)w;
	}
	if (len == 0 && fchmod(fd, 0644) == 0 && (!flush || fsync(fd) == 0) && close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0)
			rc = 0;
	}
	if (rc < 0) {
		warnx("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* Everything written into dir, and the names, reach the disk before we exit 0. */
static int
sync_folder(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || syncfs(fd) != 0 || fsync(fd) != 0) {
		warnx("%s: %s", dir, strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static bool
is_dir_path(const char *path)
{
	struct stat st;
	size_t len = strlen(path);

	return (len > 0 && path[len - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

static enum lbl_format
default_format(const struct opts *o)
{
	enum lbl_format f = LBL_FMT_ZPL;
	const char *dot = o->output && !o->printer ? strrchr(o->output, '.') : NULL;

	if (dot && lbl_format_parse(dot + 1, &f) == BB_OK)
		return f;
	return LBL_FMT_ZPL;
}

/* The exit status for a label the library would not render. */
static int
render_status(enum bb_err err)
{
	return err == BB_ENOTFOUND ? EXIT_FONT : EXIT_RENDER;
}

/* Renders every label before writing any, so bad input leaves no files. */
static int
write_outputs(const struct opts *o, const struct lbl_job *job, const struct rec_list *l)
{
	char why[LBL_WHY_MAX];
	bool dir = o->output && is_dir_path(o->output);
	struct progress pr;
	enum bb_err err;
	int rc = 0;

	if (!dir) {
		struct bb_buf out = { 0 };

		if ((job->format == LBL_FMT_PNG || job->format == LBL_FMT_SVG) && l->n > 1) {
			warnx("%zu labels do not go into one %s file: give --output a directory",
			      l->n, lbl_format_name(job->format));
			return EXIT_USAGE;
		}
		if ((err = lbl_render(job, l->items, l->n, &out, why)) != BB_OK) {
			warnx("%s", why);
			bb_buf_free(&out);
			return render_status(err);
		}
		if (o->output)
			rc = write_atomic(o->output, out.data, out.len, true) ? EXIT_OUTPUT : 0;
		else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)
			rc = EXIT_OUTPUT;
		bb_buf_free(&out);
		return rc;
	}

	struct lbl_renderer *r;

	if ((err = lbl_renderer_new(job, &r, why)) != BB_OK) {
		warnx("%s", why);
		return render_status(err);
	}
	struct bb_buf *bufs = bb_calloc(l->n, sizeof(*bufs));
	progress_start(&pr, "rendering", l->n);
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		if ((err = lbl_renderer_render(r, &l->items[i], 1, &bufs[i], why)) != BB_OK) {
			progress_end(&pr);
			warnx("label %zu (%s): %s", i + 1, l->items[i].id, why);
			rc = render_status(err);
		}
		progress_step(&pr, 1);
	}
	progress_end(&pr);
	lbl_renderer_free(r);
	if (rc == 0 && mkdir(o->output, 0755) < 0 && errno != EEXIST) {
		warnx("%s: %s", o->output, strerror(errno));
		rc = EXIT_OUTPUT;
	}
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		char *path = bb_asprintf("%s/%s.%s", o->output, l->items[i].id,
		                         lbl_format_name(job->format));

		/* IDs may hold '/', which must not make a path. */
		for (char *c = path + strlen(o->output) + 1; *c; c++)
			if (*c == '/')
				*c = '_';
		if (write_atomic(path, bufs[i].data, bufs[i].len, false))
			rc = EXIT_OUTPUT;
		free(path);
	}
	if (rc == 0 && sync_folder(o->output) != 0)
		rc = EXIT_OUTPUT;
	for (size_t i = 0; i < l->n; i++)
		bb_buf_free(&bufs[i]);
	free(bufs);
	return rc;
}

static void
job_key(char out[33])
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(rand() ^ getpid());
	bb_hex_encode(out, r, sizeof(r));
}

/*
 * Prints in jobs of PRINT_CHUNK labels so a batch of thousands shows
 * progress and a failure stops early; each label of a job that the printer
 * took is recorded (when it came from the server).
 */
static int
print_labels(const struct opts *o, const struct lbl_job *job, const struct rec_list *l,
             const struct client *cl)
{
	char why[LBL_WHY_MAX], key[33];
	char *uri = NULL;
	struct bb_buf all = { 0 };
	struct progress pr;
	size_t unrecorded = 0;
	enum bb_err err;
	int rc = 0;

	if (strstr(o->printer, "://") || strncmp(o->printer, "file:", 5) == 0) {
		uri = bb_strdup(o->printer);
	} else if (printers_lookup(o->printers, o->printer, &uri, why) != BB_OK) {
		warnx("%s", why);
		return EXIT_USAGE;
	}
	/* Lay out everything first: a bad label stops the batch before any print. */
	if ((err = lbl_render(job, l->items, l->n, &all, why)) != BB_OK) {
		warnx("%s", why);
		free(uri);
		bb_buf_free(&all);
		return render_status(err);
	}
	bb_buf_free(&all);
	job_key(key);
	progress_start(&pr, "printing", l->n);
	for (size_t at = 0; at < l->n && rc == 0; at += PRINT_CHUNK) {
		size_t k = l->n - at < PRINT_CHUNK ? l->n - at : PRINT_CHUNK;
		struct bb_buf out = { 0 };

		if (lbl_render(job, l->items + at, k, &out, why) != BB_OK ||
		    lbl_printer_send(uri, out.data, out.len, o->timeout_s * 1000, why) != BB_OK) {
			progress_end(&pr);
			/* The name the technician knows the printer by, beside its address. */
			if (strcmp(uri, o->printer) != 0)
				warnx("%s: %s", o->printer, why);
			else
				warnx("%s", why);
			if (at > 0)
				warnx("labels 1 to %zu were printed; %zu to %zu were not", at,
				      at + 1, l->n);
			rc = EXIT_OUTPUT;
		}
		bb_buf_free(&out);
		for (size_t i = at; i < at + k && rc == 0 && cl; i++) {
			if (client_record_printed(cl, l->items[i].id, o->printer, job->copies, key,
			                          why) != BB_OK) {
				progress_end(&pr);
				warnx("%s printed but not recorded: %s", l->items[i].id, why);
				unrecorded++;
			}
		}
		if (rc == 0)
			progress_step(&pr, k);
	}
	progress_end(&pr);
	free(uri);
	if (rc == 0 && unrecorded) {
		warnx("%zu of %zu prints were not recorded on the server", unrecorded, l->n);
		rc = EXIT_RECORD;
	}
	return rc;
}

/* Where a site's own templates live: NAME.json each. */
static const char *
templates_dir(void)
{
	const char *d = getenv("BIOBANK_TEMPLATES");

	return d && d[0] ? d : DEFAULT_TEMPLATES;
}

/*
 * A built-in template, else a site's: a path (with '/' or ending in .json),
 * or NAME.json in the templates folder. *own is what the caller frees.
 */
static int
template_open(const char *name, const struct lbl_template **t, struct lbl_template **own)
{
	char why[LBL_WHY_MAX];
	size_t len = strlen(name);
	char *path;

	*own = NULL;
	if ((*t = lbl_template_find(name)) != NULL)
		return 0;
	if (strchr(name, '/') || (len > 5 && strcmp(name + len - 5, ".json") == 0))
		path = bb_strdup(name);
	else
		path = bb_asprintf("%s/%s.json", templates_dir(), name);
	if (access(path, F_OK) != 0 && !strchr(name, '/') &&
	    !(len > 5 && strcmp(name + len - 5, ".json") == 0)) {
		warnx("unknown template \"%s\"; --list-templates shows them", name);
		free(path);
		return EXIT_USAGE;
	}
	if (lbl_template_load(path, own, why) != BB_OK) {
		warnx("%s", why);
		free(path);
		return EXIT_USAGE;
	}
	free(path);
	*t = *own;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The built-in templates, then the site's, each checked: a broken file is
 * named with its problem, and the listing exits 1. */
static int
list_templates(void)
{
	const char *dir = templates_dir();
	char why[LBL_WHY_MAX], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *dp;
	int rc = 0;

	for (size_t i = 0; lbl_template_at(i); i++)
		printf("%-18s %s\n", lbl_template_name(lbl_template_at(i)),
		       lbl_template_summary(lbl_template_at(i)));
	if ((dp = opendir(dir)) == NULL)
		return 0; /* no site templates: the folder is optional */
	while ((e = readdir(dp)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = bb_realloc(names, cap * sizeof(*names));
		}
		names[n++] = bb_strdup(e->d_name);
	}
	closedir(dp);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *path = bb_asprintf("%s/%s", dir, names[i]);
		struct lbl_template *t;

		if (lbl_template_load(path, &t, why) == BB_OK) {
			printf("%-18s %s (%s)\n", lbl_template_name(t), lbl_template_summary(t),
			       path);
			lbl_template_free(t);
		} else {
			warnx("%s", why);
			rc = EXIT_USAGE;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
run_with(int argc, char **argv, const struct opts *o, const struct lbl_job *jobp)
{
	struct rec_list recs = { 0 };
	struct lbl_job job = *jobp;
	struct client cl = { o->server, NULL, (long)o->timeout_s * 1000 };
	char why[LBL_WHY_MAX];
	char **ids = NULL;
	size_t nids = 0;
	int rc = 0;

	if (o->format && lbl_format_parse(o->format, &job.format) != BB_OK) {
		warnx("--format %s: use zpl, png, svg or pdf", o->format);
		return EXIT_USAGE;
	}
	/* A sheet is a page of labels: PDF, by default too; any other format is a wrong option. */
	if (lbl_template_is_sheet(job.tpl) && !o->format && job.format == LBL_FMT_ZPL &&
	    !(o->output && strrchr(o->output, '.')))
		job.format = LBL_FMT_PDF;
	if (lbl_template_is_sheet(job.tpl) && job.format != LBL_FMT_PDF) {
		warnx("template %s is a sheet: it prints as PDF only (--format pdf, or an --output "
		      "ending in .pdf)",
		      o->tpl);
		return EXIT_USAGE;
	}
	if (o->printer && o->output) {
		warnx("give --printer or --output, not both");
		return EXIT_USAGE;
	}
	if (o->printer && job.format != LBL_FMT_ZPL && strncmp(o->printer, "file:", 5) != 0) {
		warnx("printers take ZPL; --format %s is for files", lbl_format_name(job.format));
		return EXIT_USAGE;
	}
	if (o->tz && !o->input) {
		warnx("--timezone is for --input files: biobankd dates its label data in the "
		      "site's zone (its timezone setting)");
		return EXIT_USAGE;
	}
	if (o->input) {
		if (argc > 0) {
			warnx("give IDs or --input, not both");
			return EXIT_USAGE;
		}
		if (o->tz && zone_use(o->tz, why) != BB_OK) {
			warnx("%s", why);
			return EXIT_USAGE;
		}
		recs.tz = o->tz;
		if (recs_read_file(&recs, o->input, why) != BB_OK) {
			warnx("%s", why);
			recs_free(&recs);
			return EXIT_USAGE;
		}
	} else {
		if (o->server == NULL || o->server[0] == '\0') {
			warnx(
			    "no label data: give --server URL (or BIOBANK_SERVER) or --input FILE");
			return EXIT_USAGE;
		}
		if (collect_ids(argc, argv, &ids, &nids) < 0) {
			free_ids(ids, nids);
			return EXIT_USAGE;
		}
		if (nids == 0) {
			warnx("no specimen IDs given");
			free(ids);
			return EXIT_USAGE;
		}
		if (client_check_transport(&cl, o->allow_plain_http, why) != BB_OK) {
			warnx("%s", why);
			free_ids(ids, nids);
			return EXIT_USAGE;
		}
		if ((cl.token = read_token(o)) == NULL) {
			if (o->token_file == NULL)
				warnx("no token: set BIOBANK_TOKEN or give --token-file");
			free_ids(ids, nids);
			return EXIT_USAGE;
		}
		if (client_fetch_labels(&cl, ids, nids, &recs, why) != BB_OK) {
			warnx("%s", why);
			rc = EXIT_SERVER;
		}
		free_ids(ids, nids);
	}
	if (rc == 0 && o->printer)
		rc = print_labels(o, &job, &recs, o->input ? NULL : &cl);
	else if (rc == 0)
		rc = write_outputs(o, &job, &recs);
	recs_free(&recs);
	free((char *)cl.token);
	return rc;
}

static int
run(int argc, char **argv, const struct opts *o)
{
	struct lbl_job job = { NULL, o->dpi, o->copies, default_format(o) };
	struct lbl_template *own = NULL;
	int rc;

	if ((rc = template_open(o->tpl, &job.tpl, &own)) != 0)
		return rc;
	rc = run_with(argc, argv, o, &job);
	lbl_template_free(own);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int first = parse_args(argc, argv, &o);

	if (first < 0)
		return EXIT_USAGE;
	if (o.list)
		return list_templates();
	/* libcurl is loaded and started when a request or a printer needs it
	 * (curl_load.c). */
	return run(argc - first, argv + first, &o);
}
