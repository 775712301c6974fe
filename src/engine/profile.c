/* Kernel-by-kernel timing and the cblas_sgemm yardstick behind `e2e bench --profile`. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "engine/profile.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double e2e_median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= d[i];
    return p;
}

int e2e_kernel_gemm_shape(const e2e_kernel *k, e2e_gemm_shape *g)
{
    const char *t = k->node->op_type;
    const e2e_value *y = k->n_out ? k->out[0] : NULL;
    const e2e_value *a = k->n_in > 0 ? k->in[0] : NULL, *b = k->n_in > 1 ? k->in[1] : NULL;
    memset(g, 0, sizeof *g);
    if (!y || !a || !b || y->numel <= 0)
        return 0;
    if (!strcmp(t, "Conv")) {
        if (b->shape.rank < 3 || y->shape.rank != b->shape.rank || b->shape.dims[0] <= 0)
            return 0;
        const e2e_attr *ga = e2e_node_attr(k->node, "group");
        int64_t group = ga && ga->type == E2E_ATTR_INT && ga->i > 0 ? ga->i : 1;
        g->m = b->shape.dims[0] / group;
        g->n = y->shape.dims[0] * prod(y->shape.dims, 2, y->shape.rank); /* the whole batch */
        g->k = prod(b->shape.dims, 1, b->shape.rank);
        g->count = group;
    } else if (!strcmp(t, "Gemm")) {
        if (a->shape.rank != 2 || y->shape.rank != 2)
            return 0;
        const e2e_attr *ta = e2e_node_attr(k->node, "transA");
        g->m = y->shape.dims[0];
        g->n = y->shape.dims[1];
        g->k = a->shape.dims[ta && ta->type == E2E_ATTR_INT && ta->i ? 0 : 1];
        g->count = 1;
    } else if (!strcmp(t, "MatMul")) {
        int ra = a->shape.rank, rb = b->shape.rank;
        if (ra < 1 || rb < 1)
            return 0;
        g->k = a->shape.dims[ra - 1];
        g->n = rb >= 2 ? b->shape.dims[rb - 1] : 1;
        g->m = ra >= 2 ? a->shape.dims[ra - 2] : 1;
        if (g->m * g->n <= 0)
            return 0;
        g->count = y->numel / (g->m * g->n);
        if (rb == 2 && g->count > 1) { /* [.., M, K] x [K, N]: one GEMM with the batch in M */
            g->m *= g->count;
            g->count = 1;
        }
    } else
        return 0;
    return g->m > 0 && g->n > 0 && g->k > 0 && g->count > 0;
}

e2e_status e2e_session_run_profiled(e2e_session *s, const e2e_tensor_view *inputs, int n_inputs,
                                    double *kernel_ms, e2e_error *err)
{
    e2e_error local;
    if (!err)
        err = &local;
    if (!s || !kernel_ms)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "e2e_session_run_profiled: NULL argument");
    if (s->device != E2E_DEVICE_CPU)
        return e2e_fail(err, E2E_ERR_DEVICE, "%s: kernel profiling is for CPU sessions only",
                        s->model->name);
    if (inputs) {
        e2e_status st = e2e_session_run(s, inputs, n_inputs, err);
        if (st)
            return st;
    }
    /* as e2e_session_run: OpenBLAS single-threaded, the session's pool splits the products */
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
    for (int i = 0; i < s->n_kernels; i++) {
        e2e_kernel *k = &s->kernels[i];
        if (k->gate && !e2e_session_gate_open(s, k->gate))
            continue; /* in the If branch not taken this run */
        k->ws = s->ws;
        k->err = err;
        double t0 = now_ms();
        e2e_status st = k->op->run(k);
        kernel_ms[i] += now_ms() - t0;
        if (st) {
            if (err->status != st)
                e2e_kfail(k, st, "failed at run time");
            return st;
        }
    }
    return E2E_OK;
}

double e2e_sgemm_ms(int64_t m, int64_t n, int64_t k, int threads, int runs)
{
    if (m <= 0 || n <= 0 || k <= 0 || m > (1 << 24) || n > (1 << 24) || k > (1 << 24) ||
        (double)m * (double)k + (double)k * (double)n + (double)m * (double)n > 4e8)
        return -1;
    if (runs < 1)
        runs = 1;
    float *A = e2e_aligned_alloc(sizeof(float) * (size_t)(m * k));
    float *B = e2e_aligned_alloc(sizeof(float) * (size_t)(k * n));
    float *C = e2e_aligned_alloc(sizeof(float) * (size_t)(m * n));
    double *samples = malloc(sizeof(double) * (size_t)runs);
    double result = -1;
    if (!A || !B || !C || !samples)
        goto done;
    uint32_t x = 12345u;
    for (int64_t i = 0; i < m * k; i++) {
        x = x * 1664525u + 1013904223u;
        A[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
    }
    for (int64_t i = 0; i < k * n; i++) {
        x = x * 1664525u + 1013904223u;
        B[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
    }
    if (threads < 1)
        threads = 1;
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(threads);
    /* warm-up, and the repeat count that makes one sample last >= 0.05 ms */
    double t0 = now_ms();
    for (int i = 0; i < 3; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, A,
                    (int)k, B, (int)n, 0.0f, C, (int)n);
    double one = (now_ms() - t0) / 3;
    int reps = one >= 0.05 ? 1 : (int)(0.05 / (one > 1e-6 ? one : 1e-6)) + 1;
    if (reps > 10000)
        reps = 10000;
    for (int r = 0; r < runs; r++) {
        t0 = now_ms();
        for (int i = 0; i < reps; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, A,
                        (int)k, B, (int)n, 0.0f, C, (int)n);
        samples[r] = (now_ms() - t0) / reps;
    }
    result = e2e_median(samples, runs);
    openblas_set_num_threads(saved);
done:
    e2e_aligned_free(A);
    e2e_aligned_free(B);
    e2e_aligned_free(C);
    free(samples);
    return result;
}
