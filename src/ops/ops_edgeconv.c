/* EdgeGatherAdd: the neighbour step of an EdgeConv written per node (engine/passes/fuse_edge.c
   makes it from Gather(rows, indices, axis 0) -> Reshape [M, K, C] -> Add [M, 1, C] ->
   Relu | LeakyRelu [-> ReduceMax(axis 1, keepdims 0)]):

     y[m, j, c] = act(rows[idx[m K + j], c] + a[m, c])          (no reduction)
     y[m, c]    = max_j act(rows[idx[m K + j], c] + a[m, c])    (ReduceMax)

   Inputs: rows [R, C] float, indices (int64 or int32, M K values, negative ones count from
   the end as Gather's), a (float, M C values). The [M, K, C] edge tensor is never written
   when the maximum is taken. Semantics are the plain graph's: the sum is one float add, the
   activation the Relu/LeakyRelu kernels' (ops_unary.c: a NaN stays NaN), the maximum starts
   at -Inf and takes v when v > max or v is NaN (as ReduceMax: a NaN wins).
   An index out of range is an error naming the node, as Gather's. Rows of m are spread over
   the session's threads. */
#include <math.h>
#include <stdlib.h>

#include "ops/op.h"
#include "ops/ops_edgeconv.h"
#include "core/pool.h"

static e2e_status edge_prepare(e2e_kernel *k)
{
    const e2e_edge_gather_priv *p = k->priv;
    e2e_status st;
    if (!p || (st = e2e_check_inputs(k, 3, 3)))
        return p ? st : e2e_kfail(k, E2E_ERR_INVALID, "EdgeGatherAdd made without its sizes");
    const e2e_value *rows = k->in[0], *ix = k->in[1], *a = k->in[2];
    if (rows->dtype != E2E_FLOAT || a->dtype != E2E_FLOAT ||
        (ix->dtype != E2E_INT64 && ix->dtype != E2E_INT32))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "needs float rows and a, int64/int32 indices");
    if (rows->shape.rank != 2 || rows->shape.dims[1] != p->c || ix->numel != p->m * p->k ||
        a->numel != p->m * p->c || p->k < 1)
        return e2e_kfail(k, E2E_ERR_SHAPE, "operand sizes do not match M %lld, K %lld, C %lld",
                         (long long)p->m, (long long)p->k, (long long)p->c);
    if (p->act != E2E_ACT_NONE && p->act != E2E_ACT_RELU && p->act != E2E_ACT_LEAKY_RELU)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "activation %d is not supported", (int)p->act);
    e2e_shape os = {.rank = p->reduce ? 2 : 3, .dims = {p->m, p->reduce ? p->c : p->k, p->c}};
    return e2e_out_set(k, 0, E2E_FLOAT, &os);
}

typedef struct edge_job {
    const e2e_edge_gather_priv *p;
    const float *rows, *a;
    const int64_t *i64;
    const int32_t *i32;
    int64_t nrows;
    float *y;
} edge_job;

static inline int64_t edge_index(const edge_job *j, int64_t t)
{
    int64_t v = j->i64 ? j->i64[t] : j->i32[t];
    return v < 0 ? v + j->nrows : v;
}

static inline __attribute__((always_inline)) float edge_act(float v, e2e_act act, float alpha)
{
    /* the Relu and LeakyRelu kernels' formulas (ops_unary.c): NaN stays NaN */
    if (act == E2E_ACT_RELU)
        return v < 0.f ? 0.f : v;
    if (act == E2E_ACT_LEAKY_RELU)
        return v < 0.f ? alpha * v : v;
    return v;
}

/* y = act(r + a), and y = max(y, act(r + a)), over n channels: blocks of 8 in fixed-length
   loops (GCC vectorises them at -O2), then the rest. Inlined with a constant act, so each
   activation gets its own loops. */
static inline __attribute__((always_inline)) void
row_add_act(float *restrict y, const float *restrict r, const float *restrict a, int64_t n,
            e2e_act act, float alpha)
{
    int64_t c = 0;
    for (; c + 8 <= n; c += 8)
        for (int l = 0; l < 8; l++)
            y[c + l] = edge_act(r[c + l] + a[c + l], act, alpha);
    for (; c < n; c++)
        y[c] = edge_act(r[c] + a[c], act, alpha);
}

static inline __attribute__((always_inline)) void
row_add_act_max(float *restrict y, const float *restrict r, const float *restrict a, int64_t n,
                e2e_act act, float alpha)
{
    int64_t c = 0;
    for (; c + 8 <= n; c += 8)
        for (int l = 0; l < 8; l++) {
            float v = edge_act(r[c + l] + a[c + l], act, alpha);
            y[c + l] = v > y[c + l] || isnan(v) ? v : y[c + l];
        }
    for (; c < n; c++) {
        float v = edge_act(r[c] + a[c], act, alpha);
        y[c] = v > y[c] || isnan(v) ? v : y[c];
    }
}

static inline __attribute__((always_inline)) void
edge_node(const edge_job *j, int64_t m, e2e_act act, float alpha)
{
    const int64_t K = j->p->k, C = j->p->c;
    const float *am = j->a + m * C;
    if (j->p->reduce) {
        float *y = j->y + m * C;
        for (int64_t c = 0; c < C; c++)
            y[c] = -INFINITY;
        for (int64_t t = 0; t < K; t++)
            row_add_act_max(y, j->rows + edge_index(j, m * K + t) * C, am, C, act, alpha);
        return;
    }
    for (int64_t t = 0; t < K; t++)
        row_add_act(j->y + (m * K + t) * C, j->rows + edge_index(j, m * K + t) * C, am, C, act,
                    alpha);
}

static void edge_rows(const edge_job *j, int64_t m0, int64_t m1)
{
    const float alpha = j->p->alpha;
    switch (j->p->act) {
    case E2E_ACT_RELU:
        for (int64_t m = m0; m < m1; m++)
            edge_node(j, m, E2E_ACT_RELU, alpha);
        break;
    case E2E_ACT_LEAKY_RELU:
        for (int64_t m = m0; m < m1; m++)
            edge_node(j, m, E2E_ACT_LEAKY_RELU, alpha);
        break;
    default:
        for (int64_t m = m0; m < m1; m++)
            edge_node(j, m, E2E_ACT_NONE, alpha);
        break;
    }
}

static void edge_task(void *ctx, int t, int nt)
{
    const edge_job *j = ctx;
    edge_rows(j, j->p->m * t / nt, j->p->m * (t + 1) / nt);
}

static e2e_status edge_run(e2e_kernel *k)
{
    const e2e_edge_gather_priv *p = k->priv;
    const e2e_value *ix = k->in[1];
    edge_job j = {p, k->in[0]->data, k->in[2]->data,
                  ix->dtype == E2E_INT64 ? ix->data : NULL, ix->dtype == E2E_INT32 ? ix->data : NULL,
                  k->in[0]->shape.dims[0], k->out[0]->data};
    /* every index checked first, so no task reads out of bounds */
    for (int64_t t = 0; t < p->m * p->k; t++) {
        int64_t i = edge_index(&j, t);
        if (i < 0 || i >= j.nrows) {
            int64_t v = j.i64 ? j.i64[t] : j.i32[t];
            return e2e_kfail(k, ix->is_const ? E2E_ERR_INVALID : E2E_ERR_ARGUMENT,
                             "index %lld (at position %lld of the indices) is out of range "
                             "[%lld, %lld] for axis 0", (long long)v, (long long)t,
                             (long long)-j.nrows, (long long)j.nrows - 1);
        }
    }
    const int threads = e2e_pool_threads(k->ctx->pool);
    int64_t tasks = p->m * p->k * p->c >= 65536 && threads > 1 ? 2 * threads : 1;
    if (tasks > p->m)
        tasks = p->m;
    if (tasks > 1)
        e2e_pool_run(k->ctx->pool, edge_task, &j, (int)tasks);
    else
        edge_rows(&j, 0, p->m);
    return E2E_OK;
}

const e2e_op_def e2e_op_edge_gather_add = {"EdgeGatherAdd", edge_prepare, edge_run, free, 0};
