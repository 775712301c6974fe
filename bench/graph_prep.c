/* One graph tagger's e2e_tagger_prepare_graphs (its GraphFrames row) timed alone, in thread
   CPU time: per event DetFrames is built for every channel and the tagger's seeds prepared,
   then PASSES times: read and write EVICT MB (48: the caches as cold as e2e run leaves them,
   the harness then matches its GraphFrames (top) row; 0: warm),
   time e2e_tagger_prepare_graphs. Prints the median and mean over events of each event's
   fastest pass, and a checksum of the graph frames (FNV-1a of points, features, mask, knn)
   so that two builds can be checked to give the same frames. Not part of the build:

       cc -O2 -Iinclude -o /tmp/graph_prep bench/graph_prep.c build/libe2e.a -lopenblas \
          -lprotobuf-c -lpng -lm -lpthread
       /tmp/graph_prep TAGGER MODEL.onnx EVENTS [PASSES=5] [EVICT_MB=48] [MAX_EVENTS]

   Two builds are compared by running their binaries alternately (docs/graph-frames.md,
   section 7). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e.h"
#include "e2e_frames.h"

static double cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return 1e6 * (double)t.tv_sec + 1e-3 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s TAGGER MODEL.onnx EVENTS [PASSES] [EVICT_MB] [MAX_EVENTS]\n",
                argv[0]);
        return 2;
    }
    const int passes = argc > 4 ? atoi(argv[4]) : 5;
    const size_t evict = (size_t)(argc > 5 ? atoi(argv[5]) : 48) << 20;
    const long max_ev = argc > 6 ? atol(argv[6]) : -1;
    e2e_error err;
    e2e_model *m = NULL;
    e2e_tagger *t = NULL;
    e2e_event_reader *rd = NULL;
    e2e_event *ev = NULL;
    e2e_detframes *df = NULL;
    e2e_tagger_config cfg;
    if (e2e_model_load_file(argv[2], &m, &err) ||
        e2e_tagger_config_default(argv[1], &cfg, &err) ||
        e2e_tagger_create(&cfg, m, NULL, &t, &err) ||
        e2e_event_reader_open(argv[3], &rd, &err) || e2e_event_create(&ev, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    e2e_detframes_options dopt = e2e_detframes_options_default();
    dopt.z0_pv_cut = e2e_event_reader_z0_pv_cut(rd);
    if (e2e_detframes_create(&dopt, &df, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    unsigned char *junk = evict ? calloc(evict, 1) : NULL;
    size_t cap = 1024, n = 0;
    double *best = malloc(cap * sizeof *best);
    uint64_t h = 0xcbf29ce484222325ull;
    int got;
    while (max_ev < 0 || (long)n < max_ev) {
        if (e2e_event_reader_next(rd, ev, &got, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        if (!got)
            break;
        if (e2e_detframes_build(df, ev, &err) || e2e_tagger_prepare_seeds(t, ev, df, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        double b = 1e30;
        for (int p = 0; p < passes; p++) {
            if (junk) { /* a read and a write per line (a large memset's stores bypass
                           the caches) */
                for (size_t i = 0; i < evict; i += 64)
                    junk[i] += (unsigned char)p;
                __asm__ volatile("" : : "r"(junk) : "memory");
            }
            const double t0 = cpu_us();
            if (e2e_tagger_prepare_graphs(t, df, &err)) {
                fprintf(stderr, "%s\n", err.message);
                return 1;
            }
            const double dt = cpu_us() - t0;
            b = dt < b ? dt : b;
        }
        e2e_graph_frames g;
        if (e2e_tagger_graph_frames(t, &g, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        h = fnv(h, g.points, g.n * 2 * (size_t)g.P * sizeof(float));
        h = fnv(h, g.features, g.n * (size_t)g.C * g.P * sizeof(float));
        h = fnv(h, g.mask, g.n * (size_t)g.P * sizeof(float));
        if (g.knn)
            h = fnv(h, g.knn, g.n * (size_t)g.P * g.k * sizeof(int64_t));
        if (n == cap)
            best = realloc(best, (cap *= 2) * sizeof *best);
        best[n++] = b;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += best[i];
    qsort(best, n, sizeof *best, cmp);
    printf("%s: %zu events, min of %d passes (evict %zu MB): median %.2f us, mean %.2f us, "
           "p90 %.2f us; frames fnv %016llx\n", argv[1], n, passes, evict >> 20,
           n ? best[n / 2] : 0.0, n ? sum / (double)n : 0.0, n ? best[n * 9 / 10] : 0.0,
           (unsigned long long)h);
    free(best);
    free(junk);
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_event_reader_close(rd);
    e2e_tagger_free(t);
    e2e_model_free(m);
    return 0;
}
