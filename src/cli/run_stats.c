/* Per-stage timing histograms of e2e run and e2e merge (see run_stats.h). */
#include "cli/run_stats.h"

#include <math.h>

void stage_add(stage *s, double ms)
{
    s->sum_ms += ms;
    if (ms > s->max_ms)
        s->max_ms = ms;
    s->n++;
    int b;
    if (!(ms > 1e-4))
        b = HB_BINS;
    else {
        b = (int)floor((log10(ms) - HB_MIN_LOG) * HB_PER_DEC);
        if (b >= HB_BINS)
            b = HB_BINS - 1;
    }
    s->bins[b]++;
}

double stage_pct(const stage *s, double q)
{
    if (!s->n)
        return 0;
    uint64_t want = (uint64_t)ceil(q * s->n), acc = s->bins[HB_BINS];
    if (want == 0)
        want = 1;
    if (acc >= want)
        return 0;
    for (int b = 0; b < HB_BINS; b++) {
        acc += s->bins[b];
        if (acc >= want) {
            double v = pow(10, HB_MIN_LOG + (b + 0.5) / HB_PER_DEC);
            return v > s->max_ms ? s->max_ms : v;
        }
    }
    return s->max_ms;
}

double stage_mean(const stage *s) { return s->n ? s->sum_ms / s->n : 0; }

void stage_json(FILE *f, const stage *s)
{
    fprintf(f, "{\"stage\": \"%s\", \"mean_ms\": %.6f, \"p50_ms\": %.6f, \"p99_ms\": %.6f, "
            "\"max_ms\": %.6f, \"n\": %llu, \"sum_ms\": %.17g, \"hist\": [",
            s->name, stage_mean(s), stage_pct(s, 0.5), stage_pct(s, 0.99), s->max_ms,
            (unsigned long long)s->n, s->sum_ms);
    int k = 0;
    for (int b = 0; b <= HB_BINS; b++)
        if (s->bins[b])
            fprintf(f, "%s[%d, %u]", k++ ? ", " : "", b, s->bins[b]);
    fprintf(f, "]}");
}
