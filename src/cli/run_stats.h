/* e2e run's per-stage timing: a fixed log-spaced histogram per stage (100 bins per decade,
   1e-4..1e5 ms) instead of per-event samples, so that memory stays flat and the parts of a
   sharded job can be combined exactly: adding the bins of the parts gives the histogram one
   run over all the events would have built, hence the same p50/p99 (e2e merge).
   Not thread-safe: one stage belongs to the thread that times it. */
#ifndef E2E_CLI_RUN_STATS_H
#define E2E_CLI_RUN_STATS_H

#include <stdint.h>
#include <stdio.h>

#define HB_DECADES 9
#define HB_PER_DEC 100
#define HB_BINS (HB_DECADES * HB_PER_DEC)
#define HB_MIN_LOG (-4.0)

typedef struct stage {
    const char *name;
    double sum_ms, max_ms;
    uint64_t n;
    uint32_t bins[HB_BINS + 1]; /* last: zero / underflow */
} stage;

void stage_add(stage *s, double ms);
/* the q-quantile (0..1) from the bins: the bin's centre, at most max_ms */
double stage_pct(const stage *s, double q);
double stage_mean(const stage *s);
/* {"stage": NAME, "mean_ms", "p50_ms", "p99_ms", "max_ms", then what e2e merge needs:
   "n", "sum_ms" (full precision) and "hist": [[bin, count], ...] (the non-empty bins)} */
void stage_json(FILE *f, const stage *s);

#endif
