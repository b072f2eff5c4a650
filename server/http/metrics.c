/* metrics.c — atomic counters rendered as Prometheus text exposition format 0.0.4. */
#include "http/metrics.h"

#include "http/server.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

static const unsigned statuses[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409,
	                             413, 414, 415, 422, 429, 500, 503, 0 /* other */ };
static const double buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5
};

enum {
	NSTATUS = sizeof(statuses) / sizeof(statuses[0]),
	NBUCKET = sizeof(buckets) / sizeof(buckets[0]),
};

struct series {
	atomic_uint_fast64_t count[NSTATUS];
	atomic_uint_fast64_t bucket[NBUCKET + 1]; /* the last is +Inf */
	atomic_uint_fast64_t micros;              /* sum of latencies */
};

struct metrics {
	size_t nroutes;
	struct series *s; /* routes + 1 */
};

struct metrics *
metrics_new(size_t nroutes)
{
	struct metrics *m = bb_calloc(1, sizeof(*m));

	m->nroutes = nroutes;
	m->s = bb_calloc(nroutes + 1, sizeof(*m->s));
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->s);
	free(m);
}

void
metrics_observe(struct metrics *m, size_t route, unsigned status, double seconds)
{
	struct series *s = &m->s[route < m->nroutes ? route : m->nroutes];
	size_t k = 0, b = 0;

	while (k + 1 < NSTATUS && statuses[k] != status)
		k++;
	atomic_fetch_add(&s->count[k], 1);
	while (b < NBUCKET && seconds > buckets[b])
		b++;
	atomic_fetch_add(&s->bucket[b], 1);
	atomic_fetch_add(&s->micros, (uint_fast64_t)(seconds * 1e6));
}

static void
route_label(struct metrics *m, size_t i, struct bb_buf *out)
{
	if (i == m->nroutes)
		bb_buf_puts(out, "method=\"\",route=\"unmatched\"");
	else
		bb_buf_printf(out, "method=\"%s\",route=\"%s\"", routes[i].method,
		              routes[i].pattern);
}

void
metrics_render(struct metrics *m, struct bb_buf *out)
{
	bb_buf_puts(
	    out, "# HELP biobank_http_requests_total HTTP requests answered, by route and status.\n"
	         "# TYPE biobank_http_requests_total counter\n");
	for (size_t i = 0; i <= m->nroutes; i++) {
		for (size_t k = 0; k < NSTATUS; k++) {
			uint_fast64_t n = atomic_load(&m->s[i].count[k]);

			if (n == 0)
				continue;
			bb_buf_puts(out, "biobank_http_requests_total{");
			route_label(m, i, out);
			if (statuses[k])
				bb_buf_printf(out, ",status=\"%u\"} %llu\n", statuses[k],
				              (unsigned long long)n);
			else
				bb_buf_printf(out, ",status=\"other\"} %llu\n",
				              (unsigned long long)n);
		}
	}
	bb_buf_puts(out, "# HELP biobank_http_request_duration_seconds Time from the request's "
	                 "first byte to its reply.\n"
	                 "# TYPE biobank_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= m->nroutes; i++) {
		uint_fast64_t cum = 0;

		for (size_t b = 0; b <= NBUCKET; b++)
			cum += atomic_load(&m->s[i].bucket[b]);
		if (cum == 0)
			continue;
		cum = 0;
		for (size_t b = 0; b <= NBUCKET; b++) {
			cum += atomic_load(&m->s[i].bucket[b]);
			bb_buf_puts(out, "biobank_http_request_duration_seconds_bucket{");
			route_label(m, i, out);
			if (b < NBUCKET)
				bb_buf_printf(out, ",le=\"%g\"} %llu\n", buckets[b],
				              (unsigned long long)cum);
			else
				bb_buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		bb_buf_puts(out, "biobank_http_request_duration_seconds_sum{");
		route_label(m, i, out);
		bb_buf_printf(out, "} %.6f\n", (double)atomic_load(&m->s[i].micros) / 1e6);
		bb_buf_puts(out, "biobank_http_request_duration_seconds_count{");
		route_label(m, i, out);
		bb_buf_printf(out, "} %llu\n", (unsigned long long)cum);
	}
}
