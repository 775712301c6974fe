/* fp32 against bf16 of one model in thread CPU time (CLOCK_THREAD_CPUTIME_ID), so that other
   processes' share of a loaded machine does not count: one process holds an fp32 and a bf16
   session of MODEL at batch B (1 thread) and runs them alternately on the same inputs
   (uniform [0, 1), srand 7), 2 warm-up runs each, then R timed runs each. Prints the median
   CPU ms of each, the median of the per-run fp32/bf16 ratios and the largest |bf16 - fp32|
   output. Not part of the build:

       cc -O2 -Iinclude -o /tmp/bf16_cpu bench/bf16_cpu.c build/libe2e.a \
          -lopenblas -lprotobuf-c -lpng -lm -lpthread \
          -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5
       /tmp/bf16_cpu MODEL.onnx B [R]

   Results: docs/benchmarks.md, "bf16 convolutions". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "e2e.h"

#define MAX_RUNS 1000

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.onnx BATCH [RUNS]\n", argv[0]);
        return 2;
    }
    const int B = atoi(argv[2]), R = argc > 3 ? atoi(argv[3]) : 15;
    if (B < 1 || R < 1 || R > MAX_RUNS) {
        fprintf(stderr, "batch >= 1, runs 1 to %d\n", MAX_RUNS);
        return 2;
    }
    e2e_model *m;
    e2e_error err;
    if (e2e_model_load_file(argv[1], &m, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    e2e_session *s[2];
    for (int i = 0; i < 2; i++) {
        e2e_session_options o = e2e_session_options_default();
        o.default_batch = B;
        o.precision = i ? E2E_PRECISION_BF16 : E2E_PRECISION_FP32;
        if (e2e_session_create(m, &o, &s[i], &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
    }
    e2e_tensor_view in;
    e2e_session_input(s[0], 0, &in);
    const int64_t n = e2e_tensor_view_numel(&in);
    float *x = malloc(sizeof(float) * (size_t)n);
    if (!x)
        return 1;
    srand(7);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)rand() / (float)RAND_MAX;
    in.data = x;
    static double t[2][MAX_RUNS], ratio[MAX_RUNS];
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < 2; i++)
            if (e2e_session_run(s[i], &in, 1, &err)) {
                fprintf(stderr, "%s\n", err.message);
                return 1;
            }
    for (int r = 0; r < R; r++)
        for (int i = 0; i < 2; i++) {
            const double a = cpu_ms();
            if (e2e_session_run(s[i], &in, 1, &err)) {
                fprintf(stderr, "%s\n", err.message);
                return 1;
            }
            t[i][r] = cpu_ms() - a;
        }
    e2e_tensor_view o0, o1;
    e2e_session_output(s[0], 0, &o0);
    e2e_session_output(s[1], 0, &o1);
    double maxdiff = 0;
    for (int64_t i = 0; i < e2e_tensor_view_numel(&o0); i++) {
        double d = (double)((const float *)o0.data)[i] - ((const float *)o1.data)[i];
        maxdiff = d < 0 ? (-d > maxdiff ? -d : maxdiff) : (d > maxdiff ? d : maxdiff);
    }
    for (int r = 0; r < R; r++)
        ratio[r] = t[0][r] / t[1][r];
    qsort(t[0], (size_t)R, sizeof(double), cmp);
    qsort(t[1], (size_t)R, sizeof(double), cmp);
    qsort(ratio, (size_t)R, sizeof(double), cmp);
    printf("%s b%d fp32 %.3f bf16 %.3f ms CPU  ratio(med of per-run) %.3f  maxdiff %.2e\n",
           argv[1], B, t[0][R / 2], t[1][R / 2], ratio[R / 2], maxdiff);
    for (int i = 0; i < 2; i++)
        e2e_session_free(s[i]);
    e2e_model_free(m);
    free(x);
    return 0;
}
