/* metrics.h — request counters and latency histograms, in Prometheus text format. */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include "biobank.h"

struct metrics;

/* One series set per route, plus one for requests that matched no route. */
struct metrics *metrics_new(size_t nroutes);
void metrics_free(struct metrics *m);
/* route == SIZE_MAX: no route matched. Lock-free: called on every request. */
void metrics_observe(struct metrics *m, size_t route, unsigned status, double seconds);
void metrics_render(struct metrics *m, struct bb_buf *out);

#endif
