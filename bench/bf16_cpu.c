/* fp32 against --precision bf16 in thread CPU time: one process, one session per precision
   of each model, run alternately (fp32, bf16, fp32, ...) on the same seeded input, 1 thread;
   prints per model and batch the median CPU ms of each, the ratio of the medians, the median
   of the per-run fp32/bf16 ratios and the largest |bf16 - fp32| output. CPU time of the
   calling thread leaves out the time other processes hold the core (wall-clock medians on a
   shared machine scatter by tens of percent); caches and memory bandwidth are still shared.
   Not part of the build:

       cc -O2 -Iinclude -o /tmp/bf16_cpu bench/bf16_cpu.c build/libe2e.a -lopenblas \
          -lprotobuf-c -lpng -lm -lpthread
       /tmp/bf16_cpu RUNS BATCH MODEL.onnx...

   Results: docs/benchmarks.md, "bf16 weights" and "bf16 convolutions". */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "e2e.h"

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s RUNS BATCH MODEL.onnx...\n", argv[0]);
        return 2;
    }
    const int runs = atoi(argv[1]), batch = atoi(argv[2]);
    if (runs < 1 || runs > 1000 || batch < 1) {
        fprintf(stderr, "bad RUNS or BATCH\n");
        return 2;
    }
    double *t[2] = {malloc(sizeof(double) * (size_t)runs), malloc(sizeof(double) * (size_t)runs)};
    double *ratio = malloc(sizeof(double) * (size_t)runs);
    for (int a = 3; a < argc; a++) {
        e2e_error err;
        e2e_model *m = NULL;
        e2e_tensor_view in;
        if (e2e_model_load_file(argv[a], &m, &err) || e2e_model_input(m, 0, &in)) {
            fprintf(stderr, "%s: %s\n", argv[a], err.message);
            return 1;
        }
        int64_t n = 1;
        for (int d = 0; d < in.rank; d++) {
            if (in.dims[d] < 0)
                in.dims[d] = batch;
            n *= in.dims[d];
        }
        float *x = malloc(sizeof(float) * (size_t)n);
        uint32_t r = 42;
        for (int64_t i = 0; i < n; i++) {
            r = r * 1664525u + 1013904223u;
            x[i] = (float)(r >> 8) * 0x1p-24f;
        }
        in.data = x;
        e2e_session *s[2] = {NULL, NULL};
        for (int p = 0; p < 2; p++) {
            e2e_session_options o = e2e_session_options_default();
            o.threads = 1;
            o.default_batch = batch;
            o.precision = p ? E2E_PRECISION_BF16 : E2E_PRECISION_FP32;
            if (e2e_session_create(m, &o, &s[p], &err) || e2e_session_run(s[p], &in, 1, &err)) {
                fprintf(stderr, "%s: %s\n", argv[a], err.message);
                return 1;
            }
        }
        for (int i = 0; i < runs; i++)
            for (int p = 0; p < 2; p++) {
                double t0 = cpu_ms();
                if (e2e_session_run(s[p], &in, 1, &err)) {
                    fprintf(stderr, "%s: %s\n", argv[a], err.message);
                    return 1;
                }
                t[p][i] = cpu_ms() - t0;
            }
        e2e_tensor_view o[2];
        double maxdiff = 0;
        if (!e2e_session_output(s[0], 0, &o[0]) && !e2e_session_output(s[1], 0, &o[1]))
            for (int64_t i = 0; i < e2e_tensor_view_numel(&o[0]); i++) {
                const double d = fabs((double)((const float *)o[0].data)[i] -
                                      (double)((const float *)o[1].data)[i]);
                maxdiff = d > maxdiff ? d : maxdiff;
            }
        for (int i = 0; i < runs; i++)
            ratio[i] = t[0][i] / t[1][i];
        const double f = median(t[0], runs), b = median(t[1], runs);
        printf("%s batch %d: fp32 %.3f ms, bf16 %.3f ms CPU (median of %d): %.2fx, per-run "
               "ratios' median %.3f, max |diff| %.2e\n",
               argv[a], batch, f, b, runs, f / b, median(ratio, runs), maxdiff);
        fflush(stdout);
        for (int p = 0; p < 2; p++)
            e2e_session_free(s[p]);
        e2e_model_free(m);
        free(x);
    }
    free(t[0]);
    free(t[1]);
    free(ratio);
    return 0;
}
