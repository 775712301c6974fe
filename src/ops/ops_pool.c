/* MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (float32, NC + 1 to 3 spatial dims).

   Windows are normalised at prepare to three spatial dims (D, H, W; missing leading dims have
   size 1, kernel 1, stride 1, no padding), so one loop nest serves 1-D, 2-D and 3-D.
   Output sizes follow the ONNX formulas: floor or ceil((in + pads - dil*(k-1) - 1) / s) + 1,
   where with ceil_mode a last window that would start inside the right padding is dropped.
   AveragePool divides by the number of in-bounds elements (count_include_pad=0) or by the
   number of window positions inside the explicitly padded input (count_include_pad=1).
   MaxPool's optional Indices output (int64) holds the flat index of the maximum in the whole
   input tensor, row-major (storage_order=0) or column-major within each image plane (1).
   A NaN in a max window wins (its Indices: the window's last NaN), in every form (the SIMD
   rows, ConvMaxPool): docs/operator-notes.md, "NaN and Inf".

   The common 2x2 window with stride 2 and no padding (SimpleNet's pools) takes a SIMD path:
   two input rows are combined, then adjacent pairs; windows cut by ceil_mode at the right
   or bottom edge go through the general loop. Large tensors are split by output rows over
   the session's threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu_isa.h"
#include "ops/op.h"
#include "ops/op_geom.h"
#include "ops/rows.h"

typedef struct pool_priv {
    bool is_max;
    bool include_pad;
    bool col_major;            /* storage_order = 1 for Indices */
    int64_t NC;
    int64_t id[3], od[3], kd[3], st[3], dl[3], pb[3], pe[3];
    int64_t isp, osp;
    bool fast2;                /* 2-D, 2x2 window, stride 2, no pads, no dilation, no Indices */
    e2e_pool2_row_fn row2;     /* fast2: the instruction set's row kernel; NULL: plain C */
    int64_t full_h, full_w;    /* output rows / columns whose window lies inside the input */
} pool_priv;

/* elements of input from which a pool is split over the threads */
#define POOL_PAR_MIN 32768

#define POOL_LIMIT ((int64_t)1 << 40)

static e2e_status pool_prepare_common(e2e_kernel *k, bool is_max)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)) || (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_UNDEFINED)))
        return st;
    const e2e_shape *xs = &k->in[0]->shape;
    char s1[160];
    int nsp = xs->rank - 2;
    if (nsp < 1 || nsp > 3)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "input %s: only 1 to 3 spatial dims are supported",
                         e2e_shape_str(xs, s1, sizeof s1));
    const char *auto_pad;
    const int64_t *kshape, *pads, *strides, *dils;
    int nk, np, ns, nd;
    int64_t ceil_mode, cip = 0, order = 0;
    if ((st = e2e_attr_string(k, "auto_pad", "NOTSET", &auto_pad)) ||
        (st = e2e_attr_ints(k, "kernel_shape", &kshape, &nk)) ||
        (st = e2e_attr_ints(k, "pads", &pads, &np)) ||
        (st = e2e_attr_ints(k, "strides", &strides, &ns)) ||
        (st = e2e_attr_ints(k, "dilations", &dils, &nd)) ||
        (st = e2e_attr_int(k, "ceil_mode", 0, &ceil_mode)))
        return st;
    if (!is_max && (st = e2e_attr_int(k, "count_include_pad", 0, &cip)))
        return st;
    if (is_max && (st = e2e_attr_int(k, "storage_order", 0, &order)))
        return st;
    if (!nk)
        return e2e_kfail(k, E2E_ERR_INVALID, "attribute kernel_shape is required");
    if (nk != nsp || (np && np != 2 * nsp) || (ns && ns != nsp) || (nd && nd != nsp))
        return e2e_kfail(k, E2E_ERR_INVALID,
                         "kernel_shape/pads/strides/dilations lengths (%d/%d/%d/%d) do not match "
                         "%d spatial dims", nk, np, ns, nd, nsp);
    bool same = !strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER");
    bool valid = !strcmp(auto_pad, "VALID");
    if (!same && !valid && strcmp(auto_pad, "NOTSET"))
        return e2e_kfail(k, E2E_ERR_INVALID, "unknown auto_pad \"%s\"", auto_pad);

    pool_priv p = {.is_max = is_max, .include_pad = cip != 0, .col_major = order != 0,
                   .NC = xs->dims[0] * xs->dims[1]};
    e2e_shape ys = *xs;
    int off = 3 - nsp;
    for (int i = 0; i < 3; i++) {
        p.id[i] = p.od[i] = p.kd[i] = p.st[i] = p.dl[i] = 1;
        p.pb[i] = p.pe[i] = 0;
    }
    for (int i = 0; i < nsp; i++) {
        int64_t in = xs->dims[2 + i], kern = kshape[i], s = ns ? strides[i] : 1;
        int64_t d = nd ? dils[i] : 1, pb = np ? pads[i] : 0, pe = np ? pads[i + nsp] : 0, o;
        if (kern < 1 || s < 1 || d < 1 || pb < 0 || pe < 0)
            return e2e_kfail(k, E2E_ERR_INVALID,
                             "spatial dim %d: kernel %lld, stride %lld, dilation %lld, pads %lld/%lld "
                             "are not valid", i, (long long)kern, (long long)s, (long long)d,
                             (long long)pb, (long long)pe);
        /* beyond 2^40 these are certainly corrupt; within it the arithmetic cannot overflow */
        if (s > POOL_LIMIT || d > POOL_LIMIT || pb > POOL_LIMIT || pe > POOL_LIMIT ||
            kern - 1 > POOL_LIMIT / d)
            return e2e_kfail(k, E2E_ERR_SHAPE,
                             "spatial dim %d: kernel %lld, stride %lld, dilation %lld, pads %lld/%lld "
                             "are out of range", i, (long long)kern, (long long)s, (long long)d,
                             (long long)pb, (long long)pe);
        int64_t ext = d * (kern - 1) + 1;
        if (same) {
            o = (in + s - 1) / s;
            int64_t tot = (o - 1) * s + ext - in;
            if (tot < 0)
                tot = 0;
            pb = auto_pad[5] == 'U' ? tot / 2 : tot - tot / 2;
            pe = tot - pb;
        } else {
            if (valid)
                pb = pe = 0;
            int64_t span = in + pb + pe - ext;
            if (span < 0)
                return e2e_kfail(k, E2E_ERR_SHAPE,
                                 "spatial dim %d: the window (%lld, dilation %lld) is larger than the "
                                 "padded input (%lld + %lld + %lld)", i, (long long)kern,
                                 (long long)d, (long long)in, (long long)pb, (long long)pe);
            o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
            if (ceil_mode && (o - 1) * s >= in + pb)
                o--; /* the last window would start in the right padding */
        }
        p.id[off + i] = in;
        p.od[off + i] = o;
        p.kd[off + i] = kern;
        p.st[off + i] = s;
        p.dl[off + i] = d;
        p.pb[off + i] = pb;
        p.pe[off + i] = pe;
        ys.dims[2 + i] = o;
    }
    p.isp = p.id[0] * p.id[1] * p.id[2];
    p.osp = p.od[0] * p.od[1] * p.od[2];
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, &ys)))
        return st;
    bool indices = k->n_out > 1 && k->out[1];
    if (indices) {
        if (!is_max)
            return e2e_kfail(k, E2E_ERR_INVALID, "AveragePool has a single output");
        if ((st = e2e_out_set(k, 1, E2E_INT64, &ys)))
            return st;
    }
    p.fast2 = !indices && p.od[0] == 1 && p.kd[0] == 1;
    for (int i = 1; i < 3; i++)
        p.fast2 = p.fast2 && p.kd[i] == 2 && p.st[i] == 2 && p.dl[i] == 1 && p.pb[i] == 0 &&
                  p.pe[i] == 0;
    p.full_h = p.id[1] / 2 < p.od[1] ? p.id[1] / 2 : p.od[1];
    p.full_w = p.id[2] / 2 < p.od[2] ? p.id[2] / 2 : p.od[2];
#ifdef E2E_X86
    switch (e2e_isa_select(k->ctx->isa)) {
    case E2E_ISA_AVX512: p.row2 = e2e_pool2_row_avx512; break;
    case E2E_ISA_AVX2: p.row2 = e2e_pool2_row_avx2; break;
    default: break;
    }
#endif
    pool_priv *pp = malloc(sizeof *pp);
    if (!pp)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    *pp = p;
    k->priv = pp;
    return E2E_OK;
}

static e2e_status maxpool_prepare(e2e_kernel *k) { return pool_prepare_common(k, true); }
static e2e_status avgpool_prepare(e2e_kernel *k) { return pool_prepare_common(k, false); }

/* First kernel tap index t in [0, kern) whose input position o*s - pb + t*d is >= 0, and the
   end (exclusive) of those < in; also the end of the taps inside the padded extent. */
static void taps(int64_t o, int64_t s, int64_t pb, int64_t pe, int64_t d, int64_t kern, int64_t in,
                 int64_t *lo, int64_t *hi, int64_t *hi_pad)
{
    int64_t start = o * s - pb;
    int64_t l = start >= 0 ? 0 : (-start + d - 1) / d;
    int64_t h = in - start <= 0 ? 0 : (in - start - 1) / d + 1;
    int64_t hp = in + pe - start <= 0 ? 0 : (in + pe - start - 1) / d + 1;
    if (h > kern)
        h = kern;
    if (hp > kern)
        hp = kern;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
    *hi_pad = hp;
}

/* One output of the general window loop: image plane nc, output position (od, oh, ow). */
static void pool_one(const pool_priv *p, const float *x, int64_t nc, int64_t od, int64_t oh,
                     int64_t ow, float *y, int64_t *ix)
{
    const int64_t ID = p->id[0], IH = p->id[1], IW = p->id[2];
    int64_t d0, d1, dp, h0, h1, hp, w0, w1, wp;
    taps(od, p->st[0], p->pb[0], p->pe[0], p->dl[0], p->kd[0], ID, &d0, &d1, &dp);
    taps(oh, p->st[1], p->pb[1], p->pe[1], p->dl[1], p->kd[1], IH, &h0, &h1, &hp);
    taps(ow, p->st[2], p->pb[2], p->pe[2], p->dl[2], p->kd[2], IW, &w0, &w1, &wp);
    int64_t zs = od * p->st[0] - p->pb[0], ys = oh * p->st[1] - p->pb[1];
    int64_t xs = ow * p->st[2] - p->pb[2];
    if (p->is_max) {
        float m = -INFINITY;
        int64_t at = -1;
        for (int64_t a = d0; a < d1; a++) {
            int64_t iz = zs + a * p->dl[0];
            for (int64_t b = h0; b < h1; b++) {
                int64_t iy = ys + b * p->dl[1];
                const float *xr = x + (iz * IH + iy) * IW;
                for (int64_t c = w0; c < w1; c++) {
                    int64_t iw = xs + c * p->dl[2];
                    if (xr[iw] > m || at < 0 || isnan(xr[iw])) { /* a NaN wins */
                        m = xr[iw];
                        at = p->col_major ? (iw * IH + iy) * ID + iz : (iz * IH + iy) * IW + iw;
                    }
                }
            }
        }
        *y = m;
        if (ix)
            *ix = at < 0 ? -1 : nc * p->isp + at;
    } else {
        float s = 0.f;
        for (int64_t a = d0; a < d1; a++) {
            int64_t iz = zs + a * p->dl[0];
            for (int64_t b = h0; b < h1; b++) {
                int64_t iy = ys + b * p->dl[1];
                const float *xr = x + (iz * IH + iy) * IW;
                for (int64_t c = w0; c < w1; c++)
                    s += xr[xs + c * p->dl[2]];
            }
        }
        /* with padding counted: the taps inside [-pb, in + pe) (a window never starts before
           -pb, so they are the first dp, hp, wp taps) */
        int64_t cnt = p->include_pad ? dp * hp * wp : (d1 - d0) * (h1 - h0) * (w1 - w0);
        *y = cnt > 0 ? s / (float)cnt : 0.f;
    }
}

/* y[0..n) = max (or mean) of the 2x2 windows starting at r0[2i], r1[2i]: the instruction
   set's row kernel (rows.h) for a prefix, plain C for the rest. */
static void pool2_row(const pool_priv *p, const float *r0, const float *r1, float *y, int64_t n)
{
    const bool is_max = p->is_max;
    int64_t i = p->row2 ? p->row2(is_max, r0, r1, y, n) : 0;
    for (; i < n; i++) {
        float a = r0[2 * i], b = r0[2 * i + 1], c = r1[2 * i], d = r1[2 * i + 1];
        if (is_max) {
            y[i] = e2e_fmax_nan(e2e_fmax_nan(a, b), e2e_fmax_nan(c, d));
        } else {
            y[i] = (a + b + c + d) * 0.25f;
        }
    }
}

typedef struct pool_job {
    const pool_priv *p;
    const float *X;
    float *Y;
    int64_t *I;
} pool_job;

/* Output rows [r0, r1) of all image planes, rows counted over NC * OD * OH. */
static void pool_rows(const pool_job *j, int64_t r0, int64_t r1)
{
    const pool_priv *p = j->p;
    const int64_t OD = p->od[0], OH = p->od[1], OW = p->od[2];
    for (int64_t r = r0; r < r1; r++) {
        int64_t oh = r % OH, od = (r / OH) % OD, nc = r / (OH * OD);
        const float *x = j->X + nc * p->isp;
        float *y = j->Y + nc * p->osp + (od * OH + oh) * OW;
        int64_t *ix = j->I ? j->I + nc * p->osp + (od * OH + oh) * OW : NULL;
        int64_t ow = 0;
        if (p->fast2 && oh < p->full_h) {
            const float *x0 = x + 2 * oh * p->id[2];
            pool2_row(p, x0, x0 + p->id[2], y, p->full_w);
            ow = p->full_w;
        }
        for (; ow < OW; ow++)
            pool_one(p, x, nc, od, oh, ow, y + ow, ix ? ix + ow : NULL);
    }
}

static void pool_task(void *ctx, int t, int n)
{
    const pool_job *j = ctx;
    int64_t rows = j->p->NC * j->p->od[0] * j->p->od[1];
    pool_rows(j, rows * t / n, rows * (t + 1) / n);
}

static e2e_status pool_run(e2e_kernel *k)
{
    const pool_priv *p = k->priv;
    pool_job j = {p, k->in[0]->data, k->out[0]->data,
                  k->n_out > 1 && k->out[1] ? k->out[1]->data : NULL};
    int64_t rows = p->NC * p->od[0] * p->od[1];
    int threads = e2e_pool_threads(k->ctx->pool);
    if (threads > 1 && p->NC * p->isp >= POOL_PAR_MIN && rows >= threads)
        e2e_pool_run(k->ctx->pool, pool_task, &j, threads);
    else
        pool_rows(&j, 0, rows);
    return E2E_OK;
}

/* ---------------------------------------------------------------- global pools */

typedef struct gpool_priv {
    int64_t NC, sp;
} gpool_priv;

static e2e_status gpool_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)) || (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_UNDEFINED)))
        return st;
    const e2e_shape *xs = &k->in[0]->shape;
    char s1[160];
    if (xs->rank < 2)
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %s must have rank >= 2 (N, C, ...)",
                         e2e_shape_str(xs, s1, sizeof s1));
    e2e_shape ys = *xs;
    int64_t sp = 1;
    for (int i = 2; i < xs->rank; i++) {
        sp *= xs->dims[i];
        ys.dims[i] = 1;
    }
    if (sp == 0 && xs->dims[0] * xs->dims[1] > 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %s has an empty spatial extent",
                         e2e_shape_str(xs, s1, sizeof s1));
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, &ys)))
        return st;
    gpool_priv *pp = malloc(sizeof *pp);
    if (!pp)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    pp->NC = xs->dims[0] * xs->dims[1];
    pp->sp = sp;
    k->priv = pp;
    return E2E_OK;
}

static e2e_status gavg_run(e2e_kernel *k)
{
    const gpool_priv *p = k->priv;
    const float *X = k->in[0]->data;
    float *Y = k->out[0]->data;
    for (int64_t i = 0; i < p->NC; i++) {
        const float *x = X + i * p->sp;
        float s = 0.f;
        for (int64_t j = 0; j < p->sp; j++)
            s += x[j];
        Y[i] = s / (float)p->sp;
    }
    return E2E_OK;
}

static e2e_status gmax_run(e2e_kernel *k)
{
    const gpool_priv *p = k->priv;
    const float *X = k->in[0]->data;
    float *Y = k->out[0]->data;
    for (int64_t i = 0; i < p->NC; i++) {
        const float *x = X + i * p->sp;
        float m = x[0];
        for (int64_t j = 1; j < p->sp; j++)
            m = e2e_fmax_nan(m, x[j]);
        Y[i] = m;
    }
    return E2E_OK;
}

const e2e_op_def e2e_ops_pool[] = {
    {"MaxPool", maxpool_prepare, pool_run, free, 0},
    {"AveragePool", avgpool_prepare, pool_run, free, 0},
    {"GlobalAveragePool", gpool_prepare, gavg_run, free, 0},
    {"GlobalMaxPool", gpool_prepare, gmax_run, free, 0},
    {0},
};

bool e2e_pool_geom_of(const e2e_kernel *k, e2e_window_geom *g)
{
    const pool_priv *p = k->priv;
    if (!k->op || (k->op->prepare != maxpool_prepare && k->op->prepare != avgpool_prepare) || !p)
        return false;
    *g = (e2e_window_geom){.N = k->in[0]->shape.dims[0], .C = k->in[0]->shape.dims[1],
                           .M = k->in[0]->shape.dims[1], .G = 1, .isp = p->isp, .osp = p->osp,
                           .ksp = p->kd[0] * p->kd[1] * p->kd[2], .include_pad = p->include_pad,
                           .col_major = p->col_major};
    for (int i = 0; i < 3; i++) {
        g->id[i] = p->id[i];
        g->od[i] = p->od[i];
        g->kd[i] = p->kd[i];
        g->st[i] = p->st[i];
        g->dl[i] = p->dl[i];
        g->pb[i] = p->pb[i];
        g->pe[i] = p->pe[i];
    }
    return true;
}
