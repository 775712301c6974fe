/* Normalisations (float32): BatchNormalization, InstanceNormalization, LRN, LayerNormalization.

   BatchNormalization: inference y = (x - mean) / sqrt(var + eps) * scale + B, folded into one
     multiply-add per channel (a, b precomputed at prepare when the four vectors are constant).
     training_mode=1 (opset 14+) normalises with the batch statistics and writes the running
     mean/var outputs: running = input * momentum + batch * (1 - momentum).
   InstanceNormalization: per (n, c) mean/variance over the spatial dims.
   LRN: across channels, window [c - floor((size-1)/2), c + ceil((size-1)/2)].
   LayerNormalization (opset 17): normalises over dims [axis, rank); Scale and B broadcast to
     those dims; optional Mean and InvStdDev outputs shaped like X with the normalised dims 1.
   Statistics are accumulated in double, two passes (LayerNormalization rows of up to 8192
   values with Scale/B per element: the SIMD row kernel, rows spread over the session's
   threads). The mean is subtracted before scaling, as the float pair mean = hi + lo
   ((x - hi) - lo, x - hi exact near the mean), so a large common offset (|x| ~ 1e4, std ~ 1)
   costs no precision: folding it into y = x * a + b would lose ulp(1e4) ~ 1e-3.
   BatchNormalization, InstanceNormalization and LayerNormalization may run in place (each
   output element depends on its own input element and on statistics read before the block
   is written). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu_isa.h"
#include "ops/op.h"
#include "ops/rows.h"

/* ---------------------------------------------------------------- BatchNormalization */

typedef struct bn_priv {
    int64_t N, C, sp;
    float eps, momentum;
    bool training;
    bool folded;        /* a, m, b valid */
    float *a, *m, *b;   /* per channel, when folded: y = (x - m) * a + b */
} bn_priv;

static void bn_release(void *v)
{
    bn_priv *p = v;
    if (!p)
        return;
    free(p->a);
    free(p);
}

static e2e_status bn_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 5, 5)))
        return st;
    for (int i = 0; i < 5; i++)
        if ((st = e2e_check_dtype(k, i, E2E_FLOAT, E2E_UNDEFINED)))
            return st;
    const e2e_shape *xs = &k->in[0]->shape;
    char s1[160], s2[160];
    if (xs->rank < 2)
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %s must have rank >= 2 (N, C, ...)",
                         e2e_shape_str(xs, s1, sizeof s1));
    float eps, momentum;
    int64_t training = 0, spatial = 1;
    if ((st = e2e_attr_float(k, "epsilon", 1e-5f, &eps)) ||
        (st = e2e_attr_float(k, "momentum", 0.9f, &momentum)) ||
        (st = e2e_attr_int(k, "training_mode", 0, &training)) ||
        (st = e2e_attr_int(k, "spatial", 1, &spatial)))
        return st;
    if (!spatial)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "spatial=0 (per-activation statistics) is not supported");
    int64_t C = xs->dims[1];
    static const char *names[] = {"X", "scale", "B", "mean", "var"};
    for (int i = 1; i < 5; i++)
        if (k->in[i]->numel != C)
            return e2e_kfail(k, E2E_ERR_SHAPE, "%s is %s, input %s has %lld channels", names[i],
                             e2e_shape_str(&k->in[i]->shape, s1, sizeof s1),
                             e2e_shape_str(xs, s2, sizeof s2), (long long)C);
    bool want_stats = false;
    for (int i = 1; i < k->n_out; i++)
        want_stats = want_stats || k->out[i];
    if (training && k->opset < 14)
        return e2e_kfail(k, E2E_ERR_INVALID, "training_mode needs opset 14 (model has %d)", k->opset);
    if (want_stats && !training)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED,
                         "the mean/variance outputs exist only in training mode (opset 14+: "
                         "training_mode=1); older training outputs are not supported");
    if (k->n_out > 3)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "%d outputs: saved mean/variance are not supported",
                         k->n_out);
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, xs)))
        return st;
    e2e_shape cs = {.rank = 1, .dims = {C}};
    if (training && ((st = e2e_out_set(k, 1, E2E_FLOAT, &cs)) || (st = e2e_out_set(k, 2, E2E_FLOAT, &cs))))
        return st;
    bn_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->N = xs->dims[0];
    p->C = C;
    p->sp = 1;
    for (int i = 2; i < xs->rank; i++)
        p->sp *= xs->dims[i];
    p->eps = eps;
    p->momentum = momentum;
    p->training = training != 0;
    k->priv = p;
    if (!p->training && k->in[1]->is_const && k->in[2]->is_const && k->in[3]->is_const &&
        k->in[4]->is_const) {
        p->a = malloc(sizeof(float) * (size_t)(3 * C + 1));
        if (!p->a)
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        p->m = p->a + C;
        p->b = p->m + C;
        const float *sc = k->in[1]->data, *bi = k->in[2]->data, *mu = k->in[3]->data,
                    *va = k->in[4]->data;
        for (int64_t c = 0; c < C; c++) {
            p->a[c] = sc[c] / sqrtf(va[c] + eps);
            p->m[c] = mu[c];
            p->b[c] = bi[c];
        }
        p->folded = true;
    }
    return E2E_OK;
}

static e2e_status bn_run(e2e_kernel *k)
{
    const bn_priv *p = k->priv;
    const float *X = k->in[0]->data, *sc = k->in[1]->data, *bi = k->in[2]->data;
    const float *mu = k->in[3]->data, *va = k->in[4]->data;
    float *Y = k->out[0]->data;
    const int64_t C = p->C, sp = p->sp, N = p->N;
    for (int64_t c = 0; c < C; c++) {
        float a, b, mh, ml = 0.f;
        if (p->folded) {
            a = p->a[c];
            mh = p->m[c];
            b = p->b[c];
        } else if (!p->training) {
            a = sc[c] / sqrtf(va[c] + p->eps);
            mh = mu[c];
            b = bi[c];
        } else {
            double s = 0, s2 = 0;
            int64_t cnt = N * sp;
            for (int64_t n = 0; n < N; n++) {
                const float *x = X + (n * C + c) * sp;
                for (int64_t i = 0; i < sp; i++)
                    s += x[i];
            }
            double mean = cnt ? s / (double)cnt : 0;
            for (int64_t n = 0; n < N; n++) {
                const float *x = X + (n * C + c) * sp;
                for (int64_t i = 0; i < sp; i++)
                    s2 += (x[i] - mean) * (x[i] - mean);
            }
            double var = cnt ? s2 / (double)cnt : 0;
            a = (float)(sc[c] / sqrt(var + p->eps));
            b = bi[c];
            mh = (float)mean;
            ml = (float)(mean - mh);
            if (k->n_out > 1 && k->out[1])
                ((float *)k->out[1]->data)[c] =
                    (float)(mu[c] * p->momentum + mean * (1.0 - p->momentum));
            if (k->n_out > 2 && k->out[2])
                ((float *)k->out[2]->data)[c] =
                    (float)(va[c] * p->momentum + var * (1.0 - p->momentum));
        }
        for (int64_t n = 0; n < N; n++) {
            const float *x = X + (n * C + c) * sp;
            float *y = Y + (n * C + c) * sp;
            for (int64_t i = 0; i < sp; i++)
                y[i] = ((x[i] - mh) - ml) * a + b;
        }
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- InstanceNormalization */

typedef struct in_priv {
    int64_t N, C, sp;
    float eps;
} in_priv;

static e2e_status inorm_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 3, 3)))
        return st;
    for (int i = 0; i < 3; i++)
        if ((st = e2e_check_dtype(k, i, E2E_FLOAT, E2E_UNDEFINED)))
            return st;
    const e2e_shape *xs = &k->in[0]->shape;
    char s1[160], s2[160];
    if (xs->rank < 3)
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %s must have rank >= 3 (N, C, D1, ...)",
                         e2e_shape_str(xs, s1, sizeof s1));
    float eps;
    if ((st = e2e_attr_float(k, "epsilon", 1e-5f, &eps)))
        return st;
    for (int i = 1; i < 3; i++)
        if (k->in[i]->numel != xs->dims[1])
            return e2e_kfail(k, E2E_ERR_SHAPE, "%s is %s, input %s has %lld channels",
                             i == 1 ? "scale" : "B", e2e_shape_str(&k->in[i]->shape, s1, sizeof s1),
                             e2e_shape_str(xs, s2, sizeof s2), (long long)xs->dims[1]);
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, xs)))
        return st;
    in_priv *p = malloc(sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->N = xs->dims[0];
    p->C = xs->dims[1];
    p->sp = 1;
    for (int i = 2; i < xs->rank; i++)
        p->sp *= xs->dims[i];
    p->eps = eps;
    k->priv = p;
    return E2E_OK;
}

/* Mean and 1/sqrt(var + eps) of n floats, two passes in double. */
static void moments(const float *x, int64_t n, float eps, double *mean, double *inv)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    double m = n ? s / (double)n : 0;
    for (int64_t i = 0; i < n; i++)
        s2 += (x[i] - m) * (x[i] - m);
    *mean = m;
    *inv = 1.0 / sqrt((n ? s2 / (double)n : 0) + eps);
}

static e2e_status inorm_run(e2e_kernel *k)
{
    const in_priv *p = k->priv;
    const float *X = k->in[0]->data, *sc = k->in[1]->data, *bi = k->in[2]->data;
    float *Y = k->out[0]->data;
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t c = 0; c < p->C; c++) {
            const float *x = X + (n * p->C + c) * p->sp;
            float *y = Y + (n * p->C + c) * p->sp;
            double mean, inv;
            moments(x, p->sp, p->eps, &mean, &inv);
            const float a = (float)(sc[c] * inv), b = bi[c];
            const float mh = (float)mean, ml = (float)(mean - mh);
            for (int64_t i = 0; i < p->sp; i++)
                y[i] = ((x[i] - mh) - ml) * a + b;
        }
    return E2E_OK;
}

/* ---------------------------------------------------------------- LRN */

typedef struct lrn_priv {
    int64_t N, C, sp, before, after;
    float alpha, beta, bias;
    int64_t size;
} lrn_priv;

static e2e_status lrn_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)) || (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_UNDEFINED)))
        return st;
    const e2e_shape *xs = &k->in[0]->shape;
    char s1[160];
    if (xs->rank < 2)
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %s must have rank >= 2 (N, C, ...)",
                         e2e_shape_str(xs, s1, sizeof s1));
    float alpha, beta, bias;
    int64_t size;
    if ((st = e2e_attr_float(k, "alpha", 1e-4f, &alpha)) ||
        (st = e2e_attr_float(k, "beta", 0.75f, &beta)) ||
        (st = e2e_attr_float(k, "bias", 1.0f, &bias)) || (st = e2e_attr_int(k, "size", 0, &size)))
        return st;
    if (size < 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "attribute size must be given and >= 1 (got %lld)",
                         (long long)size);
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, xs)))
        return st;
    lrn_priv *p = malloc(sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->N = xs->dims[0];
    p->C = xs->dims[1];
    p->sp = 1;
    for (int i = 2; i < xs->rank; i++)
        p->sp *= xs->dims[i];
    p->before = (size - 1) / 2;
    p->after = size - 1 - p->before;
    p->alpha = alpha;
    p->beta = beta;
    p->bias = bias;
    p->size = size;
    k->priv = p;
    return E2E_OK;
}

static e2e_status lrn_run(e2e_kernel *k)
{
    const lrn_priv *p = k->priv;
    const float *X = k->in[0]->data;
    float *Y = k->out[0]->data;
    const float scale = p->alpha / (float)p->size;
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t c = 0; c < p->C; c++) {
            int64_t c0 = c - p->before < 0 ? 0 : c - p->before;
            int64_t c1 = c + p->after >= p->C ? p->C - 1 : c + p->after;
            const float *xn = X + n * p->C * p->sp;
            float *y = Y + (n * p->C + c) * p->sp;
            for (int64_t i = 0; i < p->sp; i++) {
                float s = 0.f;
                for (int64_t j = c0; j <= c1; j++) {
                    float v = xn[j * p->sp + i];
                    s += v * v;
                }
                y[i] = xn[c * p->sp + i] / powf(p->bias + scale * s, p->beta);
            }
        }
    return E2E_OK;
}

/* ---------------------------------------------------------------- LayerNormalization */

typedef struct ln_priv {
    int64_t outer, inner;
    float eps;
    /* index of Scale/B for each position of the normalised block; NULL when contiguous
       (numel == inner); a single value when numel == 1 */
    int64_t *smap, *bmap;
    int64_t sn, bn;
    e2e_ln_row_fn row;      /* the instruction set's row kernel (rows.h); NULL: plain C */
} ln_priv;

static void ln_release(void *v)
{
    ln_priv *p = v;
    if (!p)
        return;
    free(p->smap);
    free(p->bmap);
    free(p);
}

/* Builds the broadcast index map of a Scale/B tensor onto the normalised block. */
static e2e_status ln_map(e2e_kernel *k, int i, const e2e_shape *block, int64_t inner, int64_t **map)
{
    const e2e_shape *s = &k->in[i]->shape;
    char s1[160], s2[160];
    bool ok = s->rank <= block->rank;
    for (int d = 0; ok && d < s->rank; d++) {
        int64_t want = block->dims[d + block->rank - s->rank];
        ok = s->dims[d] == 1 || s->dims[d] == want;
    }
    if (!ok)
        return e2e_kfail(k, E2E_ERR_SHAPE, "%s %s does not broadcast to the normalised shape %s",
                         i == 1 ? "Scale" : "B", e2e_shape_str(s, s1, sizeof s1),
                         e2e_shape_str(block, s2, sizeof s2));
    *map = NULL;
    if (k->in[i]->numel == inner || k->in[i]->numel == 1)
        return E2E_OK;
    int64_t str[E2E_MAX_RANK];
    e2e_broadcast_strides(s, block, str);
    int64_t *m = malloc(sizeof(int64_t) * (size_t)(inner + 1));
    if (!m)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    for (int64_t j = 0; j < inner; j++) {
        int64_t rem = j, off = 0;
        for (int d = block->rank - 1; d >= 0; d--) {
            off += (rem % block->dims[d]) * str[d];
            rem /= block->dims[d];
        }
        m[j] = off;
    }
    *map = m;
    return E2E_OK;
}

static e2e_status ln_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 3)))
        return st;
    for (int i = 0; i < 3; i++)
        if ((st = e2e_check_dtype(k, i, E2E_FLOAT, E2E_UNDEFINED)))
            return st;
    const e2e_shape *xs = &k->in[0]->shape;
    int64_t axis_attr, stash;
    float eps;
    int axis;
    if ((st = e2e_attr_int(k, "axis", -1, &axis_attr)) ||
        (st = e2e_attr_float(k, "epsilon", 1e-5f, &eps)) ||
        (st = e2e_attr_int(k, "stash_type", 1, &stash)) || (st = e2e_axis(k, axis_attr, xs->rank, &axis)))
        return st;
    if (stash != 1)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "stash_type=%lld (only 1, float32, is supported)",
                         (long long)stash);
    e2e_shape block = {.rank = xs->rank - axis}, ms = *xs;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < xs->rank; d++) {
        if (d < axis) {
            outer *= xs->dims[d];
        } else {
            inner *= xs->dims[d];
            block.dims[d - axis] = xs->dims[d];
            ms.dims[d] = 1;
        }
    }
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, xs)) || (st = e2e_out_set(k, 1, E2E_FLOAT, &ms)) ||
        (st = e2e_out_set(k, 2, E2E_FLOAT, &ms)))
        return st;
    ln_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->outer = outer;
    p->inner = inner;
    p->eps = eps;
#ifdef E2E_X86
    switch (e2e_isa_select(k->ctx->isa)) {
    case E2E_ISA_AVX512: p->row = e2e_ln_row_avx512; break;
    case E2E_ISA_AVX2: p->row = e2e_ln_row_avx2; break;
    default: break;
    }
#endif
    p->sn = k->in[1]->numel;
    p->bn = k->n_in > 2 && k->in[2] ? k->in[2]->numel : 0;
    if ((st = ln_map(k, 1, &block, inner, &p->smap)))
        return st;
    if (p->bn && (st = ln_map(k, 2, &block, inner, &p->bmap)))
        return st;
    return E2E_OK;
}

/* The common case, Scale and B holding one value per element of a row of at most
   LN_FAST_MAX floats: the instruction set's row kernel (statistics in float over 16 or 8
   lanes) or plain C (in double), rows spread over the session's threads. */
#define LN_FAST_MAX 8192

typedef struct ln_job {
    const ln_priv *p;
    const float *X, *S, *B;
    float *Y, *Mo, *Io;
} ln_job;

static void ln_rows_fast(const ln_job *j, int64_t o0, int64_t o1)
{
    const int64_t n = j->p->inner;
    const float *S = j->S, *B = j->B;
    for (int64_t o = o0; o < o1; o++) {
        const float *x = j->X + o * n;
        float *y = j->Y + o * n;
        float m, iv;
        if (j->p->row) {
            j->p->row(x, S, B, y, n, j->p->eps, &m, &iv);
        } else {
            double mean, inv;
            moments(x, n, j->p->eps, &mean, &inv);
            m = (float)mean; /* the spec's float32 Mean, as below */
            iv = (float)inv;
            for (int64_t i = 0; i < n; i++)
                y[i] = (x[i] - m) * iv * S[i] + (B ? B[i] : 0.f);
        }
        if (j->Mo)
            j->Mo[o] = m;
        if (j->Io)
            j->Io[o] = iv;
    }
}

static void ln_task(void *ctx, int t, int nt)
{
    const ln_job *j = ctx;
    int64_t outer = j->p->outer;
    ln_rows_fast(j, outer * t / nt, outer * (t + 1) / nt);
}

static e2e_status ln_run(e2e_kernel *k)
{
    const ln_priv *p = k->priv;
    const float *X = k->in[0]->data, *S = k->in[1]->data;
    const float *B = p->bn ? k->in[2]->data : NULL;
    float *Y = k->out[0]->data;
    float *Mo = k->n_out > 1 && k->out[1] ? k->out[1]->data : NULL;
    float *Io = k->n_out > 2 && k->out[2] ? k->out[2]->data : NULL;
    const int64_t inner = p->inner;
    if (inner > 0 && inner <= LN_FAST_MAX && !p->smap && p->sn == inner &&
        (!B || (!p->bmap && p->bn == inner))) {
        ln_job j = {p, X, S, B, Y, Mo, Io};
        int threads = e2e_pool_threads(k->ctx->pool);
        /* a few tasks per thread: a preempted thread holds back a small share only */
        int64_t tasks = p->outer * inner >= 32768 && threads > 1 ? 4 * threads : 1;
        if (tasks > p->outer)
            tasks = p->outer;
        if (tasks > 1)
            e2e_pool_run(k->ctx->pool, ln_task, &j, (int)tasks);
        else
            ln_rows_fast(&j, 0, p->outer);
        return E2E_OK;
    }
    for (int64_t o = 0; o < p->outer; o++) {
        const float *x = X + o * inner;
        float *y = Y + o * inner;
        double mean, inv;
        moments(x, inner, p->eps, &mean, &inv);
        /* the mean in double, rounded once to float: the spec's function body makes Mean a
           float32 tensor (stash_type 1) and centres with it, as ONNX Runtime and PyTorch do */
        const float m = (float)mean, iv = (float)inv;
        if (Mo)
            Mo[o] = m;
        if (Io)
            Io[o] = iv;
        if (!p->smap && p->sn == inner && (!B || (!p->bmap && p->bn == inner))) {
            if (B)
                for (int64_t j = 0; j < inner; j++)
                    y[j] = (x[j] - m) * iv * S[j] + B[j];
            else
                for (int64_t j = 0; j < inner; j++)
                    y[j] = (x[j] - m) * iv * S[j];
            continue;
        }
        for (int64_t j = 0; j < inner; j++) {
            float s = p->smap ? S[p->smap[j]] : p->sn == 1 ? S[0] : S[j];
            float b = !B ? 0.f : p->bmap ? B[p->bmap[j]] : p->bn == 1 ? B[0] : B[j];
            y[j] = (x[j] - m) * iv * s + b;
        }
    }
    return E2E_OK;
}

const e2e_op_def e2e_ops_norm[] = {
    {"BatchNormalization", bn_prepare, bn_run, bn_release, E2E_OP_INPLACE},
    {"InstanceNormalization", inorm_prepare, inorm_run, free, E2E_OP_INPLACE},
    {"LRN", lrn_prepare, lrn_run, free, 0},
    {"LayerNormalization", ln_prepare, ln_run, ln_release, E2E_OP_INPLACE},
    {0},
};
