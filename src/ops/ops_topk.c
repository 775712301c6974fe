/* Selection along one axis: TopK, ArgMax, ArgMin (float32, int32, int64 data).

   Order. Every element gets an unsigned key whose order is the wanted one (larger key =
   selected first), and ties go to the lower index, so the result is unique:
   - float: -0 and +0 are equal; NaN (any payload) counts as larger than +Inf, as PyTorch's
     topk and numpy's sort order it. So TopK largest=1 puts NaNs first, largest=0 last;
     ArgMax returns the first NaN of its row, ArgMin ignores NaNs unless the row is all NaN.
   - The selected values are copied from the input (NaN payloads and the sign of zero kept).
   TopK's sorted=0 leaves the order free: the output is sorted anyway.

   TopK is a partial selection, not a sort: a row keeps its best k in a sorted buffer with
   insertion (k <= TOPK_INSERT_MAX; typical for kNN, k = 7..16) or in a heap of the worst
   at the root (larger k). A row of N costs N compares with the worst kept key, plus an
   update (O(k) insertion, O(log k) heap) for each element that beats it: about
   k ln(N/k) of them on random data. Rows are spread over the session's threads when
   there are many. */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

#define TOPK_INSERT_MAX 32

typedef struct sel {
    uint64_t key;
    int64_t idx;
} sel;

/* Element i of x as an order key: larger is better when largest, smaller otherwise. */
static inline uint64_t elem_key(const void *x, e2e_dtype dt, int64_t i, bool largest)
{
    uint64_t u;
    if (dt == E2E_FLOAT) {
        uint32_t b;
        memcpy(&b, (const float *)x + i, 4);
        if ((b & 0x7fffffffu) > 0x7f800000u)
            b = 0x7fc00000u; /* every NaN: one value above +Inf */
        else if (b == 0x80000000u)
            b = 0; /* -0 == +0 */
        u = (b & 0x80000000u) ? (uint32_t)~b : (b | 0x80000000u);
    } else if (dt == E2E_INT32) {
        u = (uint32_t)((const int32_t *)x)[i] ^ 0x80000000u;
    } else {
        u = (uint64_t)((const int64_t *)x)[i] ^ ((uint64_t)1 << 63);
    }
    return largest ? u : ~u;
}

/* a is worse than b: smaller key, or the same key and a later index */
static inline bool sel_worse(sel a, sel b) { return a.key < b.key || (a.key == b.key && a.idx > b.idx); }

static void heap_down(sel *h, int64_t i, int64_t n)
{
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && sel_worse(h[c + 1], h[c]))
            c++;
        if (!sel_worse(h[c], h[i]))
            return;
        sel t = h[c];
        h[c] = h[i];
        h[i] = t;
        i = c;
    }
}

/* buf[0..j] with key inserted at its place among buf[0..j), after equal keys (their
   indices are lower); entries from j on are dropped. */
static inline void insert_at(sel *buf, int64_t j, uint64_t key, int64_t i)
{
    while (j > 0 && buf[j - 1].key < key) {
        buf[j] = buf[j - 1];
        j--;
    }
    buf[j] = (sel){key, i};
}

/* The best k of the n elements x[off + i*stride] into buf[0..k), best first. Always
   inlined: callers pass dt and largest as constants, so each gets its own loop. */
static inline __attribute__((always_inline)) void
select_row(const void *x, e2e_dtype dt, int64_t off, int64_t stride, int64_t n, int64_t k,
           bool largest, sel *buf)
{
    if (k <= 0)
        return;
    int64_t cnt = 0;
    if (k <= TOPK_INSERT_MAX) {
        for (int64_t i = 0; i < k; i++) /* the first k all go in */
            insert_at(buf, i, elem_key(x, dt, off + i * stride, largest), i);
        /* then in index order: an element equal to the worst kept one comes later, so it
           loses. (Tried on fresh random rows of 128, k = 16: a branch-free insertion and
           a branch-free block prefilter were no faster than this.) */
        uint64_t worst = buf[k - 1].key;
        for (int64_t i = k; i < n; i++) {
            const uint64_t key = elem_key(x, dt, off + i * stride, largest);
            if (key > worst) {
                insert_at(buf, k - 1, key, i);
                worst = buf[k - 1].key;
            }
        }
        return;
    }
    /* heap with the worst kept element at the root, then heapsort it best-first */
    for (int64_t i = 0; i < n; i++) {
        uint64_t key = elem_key(x, dt, off + i * stride, largest);
        if (cnt < k) {
            int64_t j = cnt++;
            buf[j] = (sel){key, i};
            while (j > 0 && sel_worse(buf[j], buf[(j - 1) / 2])) {
                sel t = buf[j];
                buf[j] = buf[(j - 1) / 2];
                buf[(j - 1) / 2] = t;
                j = (j - 1) / 2;
            }
        } else if (key > buf[0].key) {
            buf[0] = (sel){key, i};
            heap_down(buf, 0, k);
        }
    }
    for (int64_t end = cnt - 1; end > 0; end--) {
        sel t = buf[0];
        buf[0] = buf[end];
        buf[end] = t;
        heap_down(buf, 0, end);
    }
}

/* ---------------------------------------------------------------- TopK */

/* The shape as [outer, dims[a], inner]. */
static void axis_split(const e2e_shape *s, int a, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < a; i++)
        *outer *= s->dims[i];
    for (int i = a + 1; i < s->rank; i++)
        *inner *= s->dims[i];
}

typedef struct topk_priv {
    int64_t outer, n, inner, k;
    bool largest;
    int slots;      /* workspace buffers of k entries: one per thread */
} topk_priv;

static e2e_status topk_prepare(e2e_kernel *k)
{
    e2e_status st;
    const bool attr_k = k->opset < 10;
    if ((st = e2e_check_inputs(k, attr_k ? 1 : 2, attr_k ? 1 : 2)) ||
        (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT32, E2E_INT64, E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    int64_t axis, largest = 1, sorted = 1, kk;
    if ((st = e2e_attr_int(k, "axis", -1, &axis)))
        return st;
    if (k->opset >= 11 && ((st = e2e_attr_int(k, "largest", 1, &largest)) ||
                           (st = e2e_attr_int(k, "sorted", 1, &sorted))))
        return st;
    if (r == 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the input is a scalar; TopK needs an axis");
    int a;
    if ((st = e2e_axis(k, axis, r, &a)))
        return st;
    if (attr_k) {
        if (!e2e_node_attr(k->node, "k"))
            return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'k' is required");
        if ((st = e2e_attr_int(k, "k", 0, &kk)))
            return st;
    } else {
        int n;
        if (k->in[1]->numel != 1)
            return e2e_kfail(k, E2E_ERR_INVALID, "input 1 (K) must hold one value, it has %lld",
                             (long long)k->in[1]->numel);
        if ((st = e2e_input_ints(k, 1, &kk, 1, &n)))
            return st;
    }
    const int64_t n = x->shape.dims[a];
    if (kk < 0 || kk > n) {
        char b[160];
        return e2e_kfail(k, E2E_ERR_INVALID, "k = %lld is outside [0, %lld] (axis %d of %s)",
                         (long long)kk, (long long)n, a, e2e_shape_str(&x->shape, b, sizeof b));
    }
    topk_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    axis_split(&x->shape, a, &p->outer, &p->inner);
    p->n = n;
    p->k = kk;
    p->largest = largest != 0;
    p->slots = e2e_pool_threads(k->ctx->pool);
    k->ws_size = (size_t)p->slots * (size_t)(kk ? kk : 1) * sizeof(sel);
    e2e_shape os = x->shape;
    os.dims[a] = kk;
    if ((st = e2e_out_set(k, 0, x->dtype, &os)) || (st = e2e_out_set(k, 1, E2E_INT64, &os)))
        return st;
    return E2E_OK;
}

typedef struct topk_job {
    const topk_priv *p;
    const void *x;
    e2e_dtype dt;
    void *vals;       /* NULL when the output is not wanted */
    int64_t *idx;
    sel *ws;
} topk_job;

static void topk_rows(const topk_job *j, int64_t r0, int64_t r1)
{
    const topk_priv *p = j->p;
    const int64_t n = p->n, kk = p->k, inner = p->inner;
    const size_t esz = e2e_dtype_size(j->dt);
    int slot = e2e_pool_thread_index();
    if (slot >= p->slots)
        slot = 0; /* a pool larger than at prepare cannot happen; stay in bounds anyway */
    sel *buf = j->ws + (size_t)slot * (size_t)kk;
    for (int64_t row = r0; row < r1; row++) {
        const int64_t o = row / inner, in = row % inner;
        const int64_t xoff = o * n * inner + in, yoff = o * kk * inner + in;
        /* one specialised loop per data type and direction */
        switch ((int)j->dt * 2 + p->largest) {
        case E2E_FLOAT * 2 + 1: select_row(j->x, E2E_FLOAT, xoff, inner, n, kk, true, buf); break;
        case E2E_FLOAT * 2: select_row(j->x, E2E_FLOAT, xoff, inner, n, kk, false, buf); break;
        case E2E_INT32 * 2 + 1: select_row(j->x, E2E_INT32, xoff, inner, n, kk, true, buf); break;
        case E2E_INT32 * 2: select_row(j->x, E2E_INT32, xoff, inner, n, kk, false, buf); break;
        case E2E_INT64 * 2 + 1: select_row(j->x, E2E_INT64, xoff, inner, n, kk, true, buf); break;
        default: select_row(j->x, E2E_INT64, xoff, inner, n, kk, false, buf); break;
        }
        for (int64_t t = 0; t < kk; t++) {
            const int64_t yi = yoff + t * inner;
            if (j->idx)
                j->idx[yi] = buf[t].idx;
            if (j->vals)
                memcpy((char *)j->vals + (size_t)yi * esz,
                       (const char *)j->x + (size_t)(xoff + buf[t].idx * inner) * esz, esz);
        }
    }
}

static void topk_task(void *ctx, int t, int nt)
{
    const topk_job *j = ctx;
    const int64_t rows = j->p->outer * j->p->inner;
    topk_rows(j, rows * t / nt, rows * (t + 1) / nt);
}

static e2e_status topk_run(e2e_kernel *k)
{
    const topk_priv *p = k->priv;
    topk_job j = {p, k->in[0]->data, k->in[0]->dtype, k->out[0] ? k->out[0]->data : NULL,
                  k->n_out > 1 && k->out[1] ? k->out[1]->data : NULL, k->ws};
    const int64_t rows = p->outer * p->inner;
    if (!p->k || !rows)
        return E2E_OK;
    const int threads = e2e_pool_threads(k->ctx->pool);
    int64_t tasks = rows * p->n >= 16384 && threads > 1 ? 4 * threads : 1;
    if (tasks > rows)
        tasks = rows;
    if (tasks > 1)
        e2e_pool_run(k->ctx->pool, topk_task, &j, (int)tasks);
    else
        topk_rows(&j, 0, rows);
    return E2E_OK;
}

/* ---------------------------------------------------------------- ArgMax, ArgMin */

typedef struct arg_priv {
    int64_t outer, n, inner;
    bool largest, last;
} arg_priv;

static e2e_status arg_prepare(e2e_kernel *k, bool largest)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)) ||
        (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT32, E2E_INT64, E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    int64_t axis, keepdims, last = 0;
    if ((st = e2e_attr_int(k, "axis", 0, &axis)) || (st = e2e_attr_int(k, "keepdims", 1, &keepdims)))
        return st;
    if (k->opset >= 12 && (st = e2e_attr_int(k, "select_last_index", 0, &last)))
        return st;
    if (r == 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the input is a scalar; an axis is needed");
    int a;
    if ((st = e2e_axis(k, axis, r, &a)))
        return st;
    if (x->shape.dims[a] == 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "axis %d is empty: there is no element to select", a);
    arg_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    axis_split(&x->shape, a, &p->outer, &p->inner);
    p->n = x->shape.dims[a];
    p->largest = largest;
    p->last = last != 0;
    e2e_shape os = {.rank = 0};
    for (int i = 0; i < r; i++) {
        if (i != a)
            os.dims[os.rank++] = x->shape.dims[i];
        else if (keepdims)
            os.dims[os.rank++] = 1;
    }
    return e2e_out_set(k, 0, E2E_INT64, &os);
}

static e2e_status argmax_prepare(e2e_kernel *k) { return arg_prepare(k, true); }
static e2e_status argmin_prepare(e2e_kernel *k) { return arg_prepare(k, false); }

static e2e_status arg_run(e2e_kernel *k)
{
    const arg_priv *p = k->priv;
    const void *x = k->in[0]->data;
    const e2e_dtype dt = k->in[0]->dtype;
    int64_t *y = k->out[0]->data;
    const int64_t n = p->n, inner = p->inner;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const int64_t off = o * n * inner + in;
            uint64_t best = elem_key(x, dt, off, p->largest);
            int64_t bi = 0;
            for (int64_t i = 1; i < n; i++) {
                uint64_t key = elem_key(x, dt, off + i * inner, p->largest);
                if (key > best || (p->last && key == best)) {
                    best = key;
                    bi = i;
                }
            }
            y[o * inner + in] = bi;
        }
    return E2E_OK;
}

/* ---------------------------------------------------------------- table */

const e2e_op_def e2e_ops_topk[] = {
    {"TopK", topk_prepare, topk_run, free, 0},
    {"ArgMax", argmax_prepare, arg_run, free, 0},
    {"ArgMin", argmin_prepare, arg_run, free, 0},
    {0},
};
