/* Reductions (ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
   ReduceSumSquare, ReduceLogSum, ReduceLogSumExp) and Softmax / LogSoftmax.

   Reduce*: the axes come from the attribute (before opset 18; ReduceSum before 13) or from
   the optional second input (constant at session creation). Empty axes reduce everything,
   unless noop_with_empty_axes=1 makes each output reduce its own element (a copy for Sum,
   Mean, Max, Min, Prod). At prepare the input shape is
   simplified: dims of size 1 are dropped and neighbouring dims that are all reduced or all
   kept are merged. Three loops follow from the merged pattern:
     ROWS  [kept?][reduced]         each output reduces one contiguous row
     COLS  [kept?][reduced][kept]   rows of `inner` values are accumulated into a workspace
     GEN   anything else            per output, an odometer walks the reduced dims
   float accumulates in double; int32/int64/int8/uint8 in int64 (bool: Max/Min only).
   A reduction over an empty set gives the identity: 0 for sums, 1 for Prod, -inf/+inf for
   Max/Min (the type's limits for integers), -inf for LogSum/LogSumExp, NaN for Mean.
   A NaN among the reduced values makes Max and Min NaN (numpy's max, PyTorch's amax; the
   elementwise Max/Min do the same).

   Softmax/LogSoftmax: opset < 13 views the input as 2-D [prod(dims[:axis]), prod(dims[axis:])]
   (axis default 1) and normalises each row; opset >= 13 normalises along one axis (default
   -1). Both become [outer, n, inner]; inner == 1 (the last axis: attention rows) is the fast
   path, otherwise the maxima and sums of `inner` columns live in the workspace. The maximum
   is subtracted before exp. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* ------------------------------------------------------------------------------------------ */
/* Reduce*                                                                                     */

typedef enum rkind {
    RK_SUM, RK_MEAN, RK_MAX, RK_MIN, RK_PROD, RK_L1, RK_L2, RK_SUMSQ, RK_LOGSUM, RK_LOGSUMEXP
} rkind;

enum { PATH_COPY, PATH_ROWS, PATH_COLS, PATH_GEN };

typedef struct red_priv {
    rkind kind;
    int path;
    e2e_dtype dt;
    int64_t count;              /* input elements per output element */
    int64_t outer, inner;       /* ROWS / COLS: [outer, count, inner] */
    int nk, nr;                 /* GEN: merged kept / reduced dims and their input strides */
    int64_t kd[E2E_MAX_RANK], ks[E2E_MAX_RANK];
    int64_t rd[E2E_MAX_RANK], rs[E2E_MAX_RANK];
} red_priv;

static e2e_status reduce_prepare(e2e_kernel *k, rkind kind)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 2)))
        return st;
    bool minmax = kind == RK_MAX || kind == RK_MIN;
    if (minmax)
        st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT64, E2E_INT32, E2E_INT8, E2E_UINT8, E2E_BOOL,
                             E2E_UNDEFINED);
    else
        st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT64, E2E_INT32, E2E_INT8, E2E_UINT8,
                             E2E_UNDEFINED);
    if (st)
        return st;
    int64_t keepdims, noop;
    if ((st = e2e_attr_int(k, "keepdims", 1, &keepdims)) ||
        (st = e2e_attr_int(k, "noop_with_empty_axes", 0, &noop)))
        return st;

    /* axes: an input from opset 18 (ReduceSum: 13), an attribute before; either form is
       accepted at any opset, but not both at once */
    int64_t axes[E2E_MAX_RANK];
    int na = 0;
    const int64_t *aattr;
    int naattr;
    if ((st = e2e_attr_ints(k, "axes", &aattr, &naattr)))
        return st;
    bool have_input = k->n_in >= 2 && k->in[1];
    if (have_input && naattr)
        return e2e_kfail(k, E2E_ERR_INVALID, "axes are given both as attribute and as input");
    if (have_input) {
        if (k->in[1]->numel > 0 && (st = e2e_input_ints(k, 1, axes, E2E_MAX_RANK, &na)))
            return st;
    } else if (naattr) {
        if (naattr > E2E_MAX_RANK)
            return e2e_kfail(k, E2E_ERR_INVALID, "%d axes given for rank at most %d", naattr,
                             E2E_MAX_RANK);
        memcpy(axes, aattr, (size_t)naattr * sizeof *axes);
        na = naattr;
    }

    const e2e_shape *xs = &k->in[0]->shape;
    int r = xs->rank;
    bool red[E2E_MAX_RANK] = {false};
    red_priv p = {.kind = kind, .dt = k->in[0]->dtype};
    { /* (a block of its own: the variables below end with it) */
        for (int i = 0; i < na; i++) {
            int a;
            if ((st = e2e_axis(k, axes[i], r, &a)))
                return st;
            if (r == 0)
                continue; /* a scalar: axis 0/-1 means "everything" */
            if (red[a])
                return e2e_kfail(k, E2E_ERR_INVALID, "axis %lld is listed twice",
                                 (long long)axes[i]);
            red[a] = true;
        }
        /* no axes: all of them, unless noop_with_empty_axes=1 asks for a reduction over the
           empty set of axes, each output of its own input element: Sum/Mean/Max/Min/Prod
           copy (PATH_COPY below) while L1, L2, SumSquare, LogSum and LogSumExp still apply
           their element function (|x|, x*x, log x), as ONNX Runtime and onnx.reference do */
        if (na == 0 && !noop)
            for (int i = 0; i < r; i++)
                red[i] = true;
        e2e_shape ys = {.rank = 0};
        for (int i = 0; i < r; i++) {
            if (!red[i])
                ys.dims[ys.rank++] = xs->dims[i];
            else if (keepdims)
                ys.dims[ys.rank++] = 1;
        }
        if ((st = e2e_out_set(k, 0, p.dt, &ys)))
            return st;

        /* merge: drop size-1 dims, join neighbours of the same kind */
        int64_t md[E2E_MAX_RANK];
        bool mr[E2E_MAX_RANK];
        int nm = 0;
        p.count = 1;
        for (int i = 0; i < r; i++) {
            if (red[i])
                p.count *= xs->dims[i];
            if (xs->dims[i] == 1)
                continue;
            if (nm > 0 && mr[nm - 1] == red[i])
                md[nm - 1] *= xs->dims[i];
            else {
                md[nm] = xs->dims[i];
                mr[nm++] = red[i];
            }
        }
        int ngr = 0;
        for (int i = 0; i < nm; i++)
            ngr += mr[i];
        if (ngr == 0) {
            p.path = PATH_COPY; /* only size-1 dims are reduced */
            if (kind != RK_SUM && kind != RK_MEAN && kind != RK_MAX && kind != RK_MIN &&
                kind != RK_PROD)
                p.path = PATH_ROWS, p.outer = k->in[0]->numel, p.inner = 1;
        } else if (mr[nm - 1] && (nm == 1 || (nm == 2 && !mr[0]))) {
            p.path = PATH_ROWS;
            p.outer = nm == 2 ? md[0] : 1;
            p.inner = 1;
        } else if (nm <= 3 && ngr == 1 && !mr[nm - 1] && mr[nm - 2]) {
            p.path = PATH_COLS;
            p.outer = nm == 3 ? md[0] : 1;
            p.inner = md[nm - 1];
        } else {
            p.path = PATH_GEN;
        }
        if (p.dt != E2E_FLOAT && p.path != PATH_COPY)
            p.path = PATH_GEN; /* integer reductions are shape arithmetic: one simple loop */
        if (p.path == PATH_GEN) {
            int64_t s = 1;
            for (int i = nm - 1; i >= 0; i--) {
                if (mr[i]) {
                    p.rd[p.nr] = md[i];
                    p.rs[p.nr++] = s;
                } else {
                    p.kd[p.nk] = md[i];
                    p.ks[p.nk++] = s;
                }
                s *= md[i];
            }
            /* stored innermost first; reverse into row-major order */
            for (int i = 0; i < p.nr / 2; i++) {
                int64_t t = p.rd[i]; p.rd[i] = p.rd[p.nr - 1 - i]; p.rd[p.nr - 1 - i] = t;
                t = p.rs[i]; p.rs[i] = p.rs[p.nr - 1 - i]; p.rs[p.nr - 1 - i] = t;
            }
            for (int i = 0; i < p.nk / 2; i++) {
                int64_t t = p.kd[i]; p.kd[i] = p.kd[p.nk - 1 - i]; p.kd[p.nk - 1 - i] = t;
                t = p.ks[i]; p.ks[i] = p.ks[p.nk - 1 - i]; p.ks[p.nk - 1 - i] = t;
            }
        }
        if (p.path == PATH_COLS)
            k->ws_size = (size_t)p.inner * sizeof(double);
    }
    red_priv *pp = malloc(sizeof *pp);
    if (!pp)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    *pp = p;
    k->priv = pp;
    return E2E_OK;
}

/* ---- float ---- */

static inline double f_init(rkind kind)
{
    switch (kind) {
    case RK_MAX: return -INFINITY;
    case RK_MIN: return INFINITY;
    case RK_PROD: return 1.0;
    default: return 0.0;
    }
}

static inline double f_step(rkind kind, double a, double x, double m)
{
    switch (kind) {
    case RK_SUM: case RK_MEAN: case RK_LOGSUM: return a + x;
    case RK_MAX: return x > a || isnan(x) ? x : a; /* a NaN wins (numpy, PyTorch) */
    case RK_MIN: return x < a || isnan(x) ? x : a;
    case RK_PROD: return a * x;
    case RK_L1: return a + fabs(x);
    case RK_L2: case RK_SUMSQ: return a + x * x;
    case RK_LOGSUMEXP: return a + exp(x - m);
    }
    return a;
}

static inline float f_post(rkind kind, double a, int64_t n, double m)
{
    switch (kind) {
    case RK_MEAN: return (float)(a / (double)n);
    case RK_L2: return (float)sqrt(a);
    case RK_LOGSUM: return (float)log(a);
    case RK_LOGSUMEXP: return isinf(m) ? (float)m : (float)(m + log(a));
    default: return (float)a;
    }
}

/* One contiguous row: 8 independent partial sums for the common kinds. */
static float f_row(rkind kind, const float *x, int64_t n)
{
    if (kind == RK_SUM || kind == RK_MEAN) {
        double s[8] = {0};
        int64_t j = 0;
        for (; j + 8 <= n; j += 8)
            for (int l = 0; l < 8; l++)
                s[l] += x[j + l];
        double t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
        for (; j < n; j++)
            t += x[j];
        return f_post(kind, t, n, 0);
    }
    if (kind == RK_MAX || kind == RK_MIN) {
        float m = kind == RK_MAX ? -INFINITY : INFINITY;
        if (kind == RK_MAX)
            for (int64_t j = 0; j < n; j++)
                m = x[j] > m || isnan(x[j]) ? x[j] : m;
        else
            for (int64_t j = 0; j < n; j++)
                m = x[j] < m || isnan(x[j]) ? x[j] : m;
        return m;
    }
    double m = 0;
    if (kind == RK_LOGSUMEXP) {
        m = -INFINITY;
        for (int64_t j = 0; j < n; j++)
            m = x[j] > m ? x[j] : m;
    }
    double a = f_init(kind);
    for (int64_t j = 0; j < n; j++)
        a = f_step(kind, a, x[j], m);
    return f_post(kind, a, n, m);
}

/* Odometer step over dims d (row-major) with strides s; off follows. */
static inline void odo_next(int n, const int64_t *d, const int64_t *s, int64_t *idx, int64_t *off)
{
    for (int j = n - 1; j >= 0; j--) {
        if (++idx[j] < d[j]) {
            *off += s[j];
            return;
        }
        *off -= s[j] * (d[j] - 1);
        idx[j] = 0;
    }
}

static double f_gen_acc(const red_priv *p, rkind kind, const float *x, double m)
{
    int64_t idx[E2E_MAX_RANK] = {0}, off = 0;
    double a = f_init(kind);
    for (int64_t t = 0; t < p->count; t++) {
        a = f_step(kind, a, x[off], m);
        odo_next(p->nr, p->rd, p->rs, idx, &off);
    }
    return a;
}

static void f_cols(const red_priv *p, const float *x, float *y, double *acc)
{
    int64_t R = p->count, inner = p->inner;
    rkind kind = p->kind;
    for (int64_t o = 0; o < p->outer; o++) {
        const float *xo = x + o * R * inner;
        float *yo = y + o * inner;
        if (kind == RK_LOGSUMEXP) {
            /* maxima into y, then sums of exp(x - max) */
            for (int64_t i = 0; i < inner; i++)
                yo[i] = -INFINITY;
            for (int64_t r = 0; r < R; r++)
                for (int64_t i = 0; i < inner; i++)
                    yo[i] = xo[r * inner + i] > yo[i] ? xo[r * inner + i] : yo[i];
            for (int64_t i = 0; i < inner; i++)
                acc[i] = 0;
            for (int64_t r = 0; r < R; r++)
                for (int64_t i = 0; i < inner; i++)
                    acc[i] += exp((double)xo[r * inner + i] - yo[i]);
            for (int64_t i = 0; i < inner; i++)
                yo[i] = f_post(kind, acc[i], R, yo[i]);
            continue;
        }
        double a0 = f_init(kind);
        for (int64_t i = 0; i < inner; i++)
            acc[i] = a0;
        for (int64_t r = 0; r < R; r++) {
            const float *xr = xo + r * inner;
            switch (kind) {
            case RK_SUM: case RK_MEAN: case RK_LOGSUM:
                for (int64_t i = 0; i < inner; i++)
                    acc[i] += xr[i];
                break;
            case RK_MAX:
                for (int64_t i = 0; i < inner; i++)
                    acc[i] = xr[i] > acc[i] || isnan(xr[i]) ? xr[i] : acc[i];
                break;
            case RK_MIN:
                for (int64_t i = 0; i < inner; i++)
                    acc[i] = xr[i] < acc[i] || isnan(xr[i]) ? xr[i] : acc[i];
                break;
            case RK_L2: case RK_SUMSQ:
                for (int64_t i = 0; i < inner; i++)
                    acc[i] += (double)xr[i] * xr[i];
                break;
            default:
                for (int64_t i = 0; i < inner; i++)
                    acc[i] = f_step(kind, acc[i], xr[i], 0);
                break;
            }
        }
        for (int64_t i = 0; i < inner; i++)
            yo[i] = f_post(kind, acc[i], R, 0);
    }
}

static void f_reduce(const red_priv *p, const float *x, float *y, int64_t ny, double *ws)
{
    if (p->count == 0) {
        for (int64_t i = 0; i < ny; i++)
            y[i] = f_post(p->kind, f_init(p->kind), 0, -INFINITY);
        return;
    }
    switch (p->path) {
    case PATH_ROWS:
        for (int64_t o = 0; o < p->outer; o++)
            y[o] = f_row(p->kind, x + o * p->count, p->count);
        break;
    case PATH_COLS:
        f_cols(p, x, y, ws);
        break;
    default: {
        int64_t kidx[E2E_MAX_RANK] = {0}, base = 0;
        for (int64_t o = 0; o < ny; o++) {
            double m = 0;
            if (p->kind == RK_LOGSUMEXP)
                m = f_gen_acc(p, RK_MAX, x + base, 0);
            y[o] = f_post(p->kind, f_gen_acc(p, p->kind, x + base, m), p->count, m);
            odo_next(p->nk, p->kd, p->ks, kidx, &base);
        }
    }
    }
}

/* ---- integers and bool (generic loop) ---- */

static inline int64_t i_load(e2e_dtype dt, const void *x, int64_t i)
{
    switch (dt) {
    case E2E_INT64: return ((const int64_t *)x)[i];
    case E2E_INT32: return ((const int32_t *)x)[i];
    case E2E_INT8: return ((const int8_t *)x)[i];
    case E2E_UINT8: return ((const uint8_t *)x)[i];
    default: return ((const uint8_t *)x)[i] != 0; /* bool */
    }
}

static inline void i_store(e2e_dtype dt, void *y, int64_t i, int64_t v)
{
    switch (dt) {
    case E2E_INT64: ((int64_t *)y)[i] = v; break;
    case E2E_INT32: ((int32_t *)y)[i] = (int32_t)v; break;
    case E2E_INT8: ((int8_t *)y)[i] = (int8_t)v; break;
    case E2E_UINT8: ((uint8_t *)y)[i] = (uint8_t)v; break;
    default: ((uint8_t *)y)[i] = v != 0; break;
    }
}

static int64_t i_limit(e2e_dtype dt, bool max)
{
    switch (dt) {
    case E2E_INT64: return max ? INT64_MAX : INT64_MIN;
    case E2E_INT32: return max ? INT32_MAX : INT32_MIN;
    case E2E_INT8: return max ? INT8_MAX : INT8_MIN;
    case E2E_UINT8: return max ? UINT8_MAX : 0;
    default: return max ? 1 : 0;
    }
}

static int64_t i_reduce_one(const red_priv *p, const void *x, int64_t base)
{
    int64_t idx[E2E_MAX_RANK] = {0}, off = base;
    rkind kind = p->kind;
    e2e_dtype dt = p->dt;
    int64_t n = p->count;
    if (kind == RK_L2 || kind == RK_LOGSUM || kind == RK_LOGSUMEXP) {
        double m = 0, a = 0;
        if (kind == RK_LOGSUMEXP) {
            m = -INFINITY;
            int64_t off2 = base, idx2[E2E_MAX_RANK] = {0};
            for (int64_t t = 0; t < n; t++) {
                double v = (double)i_load(dt, x, off2);
                m = v > m ? v : m;
                odo_next(p->nr, p->rd, p->rs, idx2, &off2);
            }
        }
        for (int64_t t = 0; t < n; t++) {
            a = f_step(kind, a, (double)i_load(dt, x, off), m);
            odo_next(p->nr, p->rd, p->rs, idx, &off);
        }
        double r = f_post(kind, a, n, m);
        return isfinite(r) ? (int64_t)r : 0;
    }
    uint64_t a; /* unsigned: wraps like the fixed-width types instead of overflowing */
    switch (kind) {
    case RK_MAX: a = (uint64_t)i_limit(dt, false); break;
    case RK_MIN: a = (uint64_t)i_limit(dt, true); break;
    case RK_PROD: a = 1; break;
    default: a = 0; break;
    }
    for (int64_t t = 0; t < n; t++) {
        int64_t v = i_load(dt, x, off);
        switch (kind) {
        case RK_MAX: if (v > (int64_t)a) a = (uint64_t)v; break;
        case RK_MIN: if (v < (int64_t)a) a = (uint64_t)v; break;
        case RK_PROD: a *= (uint64_t)v; break;
        case RK_L1: a += (uint64_t)(v < 0 ? -v : v); break;
        case RK_SUMSQ: a += (uint64_t)v * (uint64_t)v; break;
        default: a += (uint64_t)v; break;
        }
        odo_next(p->nr, p->rd, p->rs, idx, &off);
    }
    if (kind == RK_MEAN)
        return n ? (int64_t)a / n : 0;
    return (int64_t)a;
}

static e2e_status reduce_run(e2e_kernel *k)
{
    const red_priv *p = k->priv;
    const e2e_value *xv = k->in[0];
    e2e_value *yv = k->out[0];
    if (p->path == PATH_COPY) {
        if (yv->data != xv->data)
            memcpy(yv->data, xv->data, (size_t)xv->numel * e2e_dtype_size(xv->dtype));
        return E2E_OK;
    }
    if (p->dt == E2E_FLOAT) {
        f_reduce(p, xv->data, yv->data, yv->numel, k->ws);
        return E2E_OK;
    }
    int64_t kidx[E2E_MAX_RANK] = {0}, base = 0;
    for (int64_t o = 0; o < yv->numel; o++) {
        i_store(p->dt, yv->data, o, p->count ? i_reduce_one(p, xv->data, base) :
                (p->kind == RK_MAX || p->kind == RK_MIN) ? i_limit(p->dt, p->kind == RK_MIN) :
                p->kind == RK_PROD ? 1 : 0);
        if (p->count)
            odo_next(p->nk, p->kd, p->ks, kidx, &base);
    }
    return E2E_OK;
}

#define REDUCE_OP(fn, kind) \
    static e2e_status fn(e2e_kernel *k) { return reduce_prepare(k, kind); }
REDUCE_OP(rsum_prepare, RK_SUM)
REDUCE_OP(rmean_prepare, RK_MEAN)
REDUCE_OP(rmax_prepare, RK_MAX)
REDUCE_OP(rmin_prepare, RK_MIN)
REDUCE_OP(rprod_prepare, RK_PROD)
REDUCE_OP(rl1_prepare, RK_L1)
REDUCE_OP(rl2_prepare, RK_L2)
REDUCE_OP(rsumsq_prepare, RK_SUMSQ)
REDUCE_OP(rlogsum_prepare, RK_LOGSUM)
REDUCE_OP(rlse_prepare, RK_LOGSUMEXP)

/* ------------------------------------------------------------------------------------------ */
/* Softmax, LogSoftmax                                                                         */

typedef struct sm_priv {
    bool log;
    int64_t outer, n, inner;
} sm_priv;

static e2e_status softmax_prepare_common(e2e_kernel *k, bool log)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)) || (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_UNDEFINED)))
        return st;
    bool legacy = k->opset > 0 && k->opset < 13;
    int64_t axis;
    if ((st = e2e_attr_int(k, "axis", legacy ? 1 : -1, &axis)))
        return st;
    const e2e_shape *xs = &k->in[0]->shape;
    sm_priv p = {.log = log, .outer = 1, .n = 1, .inner = 1};
    if (xs->rank > 0) {
        int a;
        if ((st = e2e_axis(k, axis, xs->rank, &a)))
            return st;
        for (int i = 0; i < a; i++)
            p.outer *= xs->dims[i];
        if (legacy) {
            for (int i = a; i < xs->rank; i++)
                p.n *= xs->dims[i];
        } else {
            p.n = xs->dims[a];
            for (int i = a + 1; i < xs->rank; i++)
                p.inner *= xs->dims[i];
        }
    }
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, xs)))
        return st;
    if (p.inner > 1)
        k->ws_size = 2 * (size_t)p.inner * sizeof(float);
    sm_priv *pp = malloc(sizeof *pp);
    if (!pp)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    *pp = p;
    k->priv = pp;
    return E2E_OK;
}

static e2e_status softmax_prepare(e2e_kernel *k) { return softmax_prepare_common(k, false); }
static e2e_status logsoftmax_prepare(e2e_kernel *k) { return softmax_prepare_common(k, true); }

/* Eight floats at a time through the compiler's generic vectors (GCC/Clang extension; SSE
   in the portable build: docs/instruction-sets.md). Vectors never cross a
   function boundary by value, so the code does not depend on the vector ABI. */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
#define V8_SELECT(mask, a, b) ((v8f)(((mask) & (v8i)(a)) | (~(mask) & (v8i)(b)))) /* mask ? a : b */

/* out[l] = exp(x[l] - sub) for 8 values, meant for x - sub <= 0 (softmax after subtracting
   the maximum): Cody-Waite range reduction x = n ln2 + r, a degree-6 polynomial for exp(r)
   (the Cephes expf coefficients), 2^n built in the exponent bits. Arguments below -87.3 give
   ~1e-38 instead of a denormal or 0; NaN stays NaN. Relative error ~1.2e-7. out may be x. */
static inline void exp_neg8(const float *x, float sub, float *out)
{
    const v8f lo = (v8f){0} - 87.3f, zero = {0};
    v8f v;
    memcpy(&v, x, sizeof v);
    v -= sub;
    v = V8_SELECT(v < lo, lo, v);
    v = V8_SELECT(v > zero, zero, v);
    v8f z = v * 1.44269504088896341f + 0.5f;
    v8i zi = __builtin_convertvector(z, v8i);
    zi += (v8i)(__builtin_convertvector(zi, v8f) > z); /* floor: truncation went up by 1 */
    v8f n = __builtin_convertvector(zi, v8f);
    v8f r = v - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    v8f p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.f;
    p *= (v8f)((zi + 127) << 23);
    memcpy(out, &p, sizeof p);
}

static inline float exp_neg(float x)
{
    float b[8] = {x};
    exp_neg8(b, 0.f, b);
    return b[0];
}

static float row_max(const float *x, int64_t n)
{
    float m = -INFINITY;
    int64_t j = 0;
    if (n >= 8) {
        v8f vm, v;
        memcpy(&vm, x, sizeof vm);
        for (j = 8; j + 8 <= n; j += 8) {
            memcpy(&v, x + j, sizeof v);
            vm = V8_SELECT(v > vm, v, vm);
        }
        for (int l = 0; l < 8; l++)
            m = vm[l] > m ? vm[l] : m;
    }
    for (; j < n; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

/* sum of exp(x[j] - m); writes the terms to y when y is not NULL (y may equal x). */
static float exp_sum(const float *x, float m, float *y, int64_t n)
{
    v8f acc = {0}, e;
    float t[8];
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        exp_neg8(x + j, m, y ? y + j : t);
        memcpy(&e, y ? y + j : t, sizeof e);
        acc += e;
    }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < n; j++) {
        float ej = exp_neg(x[j] - m);
        if (y)
            y[j] = ej;
        s += ej;
    }
    return s;
}

/* One contiguous row; y may equal x. */
static void softmax_row(const float *x, float *y, int64_t n, bool log)
{
    float m = row_max(x, n);
    if (isinf(m) && m < 0) {
        /* every value is -inf (a fully masked row): 0/0 in the reference */
        for (int64_t j = 0; j < n; j++)
            y[j] = NAN;
        return;
    }
    int64_t j = 0;
    if (log) {
        float ls = logf(exp_sum(x, m, NULL, n));
        for (; j + 8 <= n; j += 8) {
            v8f v;
            memcpy(&v, x + j, sizeof v);
            v = (v - m) - ls;
            memcpy(y + j, &v, sizeof v);
        }
        for (; j < n; j++)
            y[j] = (x[j] - m) - ls;
    } else {
        float inv = 1.f / exp_sum(x, m, y, n);
        for (; j + 8 <= n; j += 8) {
            v8f v;
            memcpy(&v, y + j, sizeof v);
            v *= inv;
            memcpy(y + j, &v, sizeof v);
        }
        for (; j < n; j++)
            y[j] *= inv;
    }
}

typedef struct sm_job {
    const sm_priv *p;
    const float *x;
    float *y;
} sm_job;

static void softmax_rows_task(void *ctx, int t, int nt)
{
    const sm_job *j = ctx;
    const int64_t n = j->p->n, o0 = j->p->outer * t / nt, o1 = j->p->outer * (t + 1) / nt;
    for (int64_t o = o0; o < o1; o++)
        softmax_row(j->x + o * n, j->y + o * n, n, j->p->log);
}

static e2e_status softmax_run(e2e_kernel *k)
{
    const sm_priv *p = k->priv;
    const float *x = k->in[0]->data;
    float *y = k->out[0]->data;
    int64_t n = p->n, inner = p->inner;
    if (inner == 1) {
        /* rows are independent: spread them over the session's threads when worth it */
        sm_job j = {p, x, y};
        int threads = e2e_pool_threads(k->ctx->pool);
        int tasks = p->outer * n >= 32768 && threads > 1 ? 4 * threads : 1;
        if (tasks > p->outer)
            tasks = (int)p->outer;
        e2e_pool_run(k->ctx->pool, softmax_rows_task, &j, tasks);
        return E2E_OK;
    }
    float *mx = k->ws, *sum = mx + inner;
    for (int64_t o = 0; o < p->outer; o++) {
        const float *xo = x + o * n * inner;
        float *yo = y + o * n * inner;
        for (int64_t i = 0; i < inner; i++) {
            mx[i] = -INFINITY;
            sum[i] = 0.f;
        }
        for (int64_t r = 0; r < n; r++)
            for (int64_t i = 0; i < inner; i++)
                mx[i] = xo[r * inner + i] > mx[i] ? xo[r * inner + i] : mx[i];
        if (p->log) {
            for (int64_t r = 0; r < n; r++)
                for (int64_t i = 0; i < inner; i++)
                    sum[i] += exp_neg(xo[r * inner + i] - mx[i]);
            for (int64_t i = 0; i < inner; i++)
                sum[i] = logf(sum[i]);
            for (int64_t r = 0; r < n; r++)
                for (int64_t i = 0; i < inner; i++)
                    yo[r * inner + i] = (xo[r * inner + i] - mx[i]) - sum[i];
        } else {
            for (int64_t r = 0; r < n; r++)
                for (int64_t i = 0; i < inner; i++) {
                    float e = exp_neg(xo[r * inner + i] - mx[i]);
                    yo[r * inner + i] = e;
                    sum[i] += e;
                }
            for (int64_t i = 0; i < inner; i++)
                sum[i] = 1.f / sum[i];
            for (int64_t r = 0; r < n; r++)
                for (int64_t i = 0; i < inner; i++)
                    yo[r * inner + i] *= sum[i];
        }
    }
    return E2E_OK;
}

const e2e_op_def e2e_ops_reduce[] = {
    {"ReduceSum", rsum_prepare, reduce_run, free, 0},
    {"ReduceMean", rmean_prepare, reduce_run, free, 0},
    {"ReduceMax", rmax_prepare, reduce_run, free, 0},
    {"ReduceMin", rmin_prepare, reduce_run, free, 0},
    {"ReduceProd", rprod_prepare, reduce_run, free, 0},
    {"ReduceL1", rl1_prepare, reduce_run, free, 0},
    {"ReduceL2", rl2_prepare, reduce_run, free, 0},
    {"ReduceSumSquare", rsumsq_prepare, reduce_run, free, 0},
    {"ReduceLogSum", rlogsum_prepare, reduce_run, free, 0},
    {"ReduceLogSumExp", rlse_prepare, reduce_run, free, 0},
    {"Softmax", softmax_prepare, softmax_run, free, E2E_OP_INPLACE},
    {"LogSoftmax", logsoftmax_prepare, softmax_run, free, E2E_OP_INPLACE},
    {0},
};
