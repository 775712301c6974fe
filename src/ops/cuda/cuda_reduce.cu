/* Pools, normalisations and reductions on the GPU (float32), with the CPU kernels' rules
   (src/ops/ops_pool.c, ops_norm.c, ops_reduce.c):
     MaxPool (with the optional Indices output), AveragePool (count_include_pad), 1 to 3
       spatial dims, ceil_mode, dilations, auto_pad: one thread per output element
     GlobalAveragePool, GlobalMaxPool, Softmax, LogSoftmax (both axis semantics),
       LayerNormalization (with Mean/InvStdDev outputs), Reduce* (float): one block of 256
       threads per output row, tree reductions in float
     BatchNormalization (inference): one multiply-add per element.
   The CPU accumulates statistics in double and the GPU in float with a different summation
   order: results agree to rounding, not bit for bit (docs/gpu.md gives the tolerance). */
#include <stdint.h>
#include <string.h>

#include "ops/cuda/cuda_backend.h"

#define ROW_THREADS 256

/* ---------------------------------------------------------------- MaxPool, AveragePool */

struct pool_geo {
    bool is_max, include_pad, col_major;
    int64_t NC;
    int64_t id[3], od[3], kd[3], st[3], dl[3], pb[3], pe[3];
    int64_t isp, osp;
};

/* Taps t in [lo, hi) of a window start whose input positions are inside [0, in); hp: the end
   of those inside the padded extent (see taps() in ops_pool.c). */
static __device__ __forceinline__ void taps(int64_t o, int64_t s, int64_t pb, int64_t pe, int64_t d,
                                            int64_t kern, int64_t in, int64_t *lo, int64_t *hi,
                                            int64_t *hp)
{
    int64_t start = o * s - pb;
    int64_t l = start >= 0 ? 0 : (-start + d - 1) / d;
    int64_t h = in - start <= 0 ? 0 : (in - start - 1) / d + 1;
    int64_t p = in + pe - start <= 0 ? 0 : (in + pe - start - 1) / d + 1;
    if (h > kern)
        h = kern;
    if (p > kern)
        p = kern;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
    *hp = p;
}

__global__ void k_pool(const float *__restrict__ X, float *__restrict__ Y, int64_t *__restrict__ I,
                       pool_geo g)
{
    const int64_t total = g.NC * g.osp;
    CU_LOOP(t, total) {
        int64_t q = t % g.osp, nc = t / g.osp;
        int64_t ow = q % g.od[2], oh = (q / g.od[2]) % g.od[1], od = q / (g.od[2] * g.od[1]);
        int64_t d0, d1, dp, h0, h1, hp, w0, w1, wp;
        taps(od, g.st[0], g.pb[0], g.pe[0], g.dl[0], g.kd[0], g.id[0], &d0, &d1, &dp);
        taps(oh, g.st[1], g.pb[1], g.pe[1], g.dl[1], g.kd[1], g.id[1], &h0, &h1, &hp);
        taps(ow, g.st[2], g.pb[2], g.pe[2], g.dl[2], g.kd[2], g.id[2], &w0, &w1, &wp);
        const int64_t zs = od * g.st[0] - g.pb[0], ys = oh * g.st[1] - g.pb[1], xs = ow * g.st[2] - g.pb[2];
        const float *x = X + nc * g.isp;
        if (g.is_max) {
            float m = -INFINITY;
            int64_t at = -1;
            for (int64_t a = d0; a < d1; a++) {
                int64_t iz = zs + a * g.dl[0];
                for (int64_t b = h0; b < h1; b++) {
                    int64_t iy = ys + b * g.dl[1];
                    const float *xr = x + (iz * g.id[1] + iy) * g.id[2];
                    for (int64_t c = w0; c < w1; c++) {
                        int64_t iw = xs + c * g.dl[2];
                        if (xr[iw] > m || at < 0) {
                            m = xr[iw];
                            at = g.col_major ? (iw * g.id[1] + iy) * g.id[0] + iz
                                             : (iz * g.id[1] + iy) * g.id[2] + iw;
                        }
                    }
                }
            }
            Y[t] = m;
            if (I)
                I[t] = at < 0 ? -1 : nc * g.isp + at;
        } else {
            float s = 0.f;
            for (int64_t a = d0; a < d1; a++) {
                int64_t iz = zs + a * g.dl[0];
                for (int64_t b = h0; b < h1; b++) {
                    const float *xr = x + (iz * g.id[1] + ys + b * g.dl[1]) * g.id[2];
                    for (int64_t c = w0; c < w1; c++)
                        s += xr[xs + c * g.dl[2]];
                }
            }
            int64_t cnt = g.include_pad ? dp * hp * wp : (d1 - d0) * (h1 - h0) * (w1 - w0);
            Y[t] = cnt > 0 ? s / (float)cnt : 0.f;
        }
    }
}

static e2e_status pool_run(cu_state *S, cu_node *n)
{
    const pool_geo *g = (const pool_geo *)n->p;
    const int64_t total = g->NC * g->osp;
    if (!total)
        return E2E_OK;
    int64_t *I = n->n_out > 1 ? (int64_t *)n->out[1] : NULL;
    k_pool<<<cu_blocks(total), CU_THREADS, 0, S->stream>>>((const float *)n->in[0], (float *)n->out[0], I, *g);
    return E2E_OK;
}

e2e_status cu_prep_pool(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    const bool is_max = !strcmp(k->node->op_type, "MaxPool");
    if (k->n_in != 1 || !k->in[0] || !k->out[0] || k->in[0]->dtype != E2E_FLOAT)
        return cu_unsupported(n, "this form of %s", k->node->op_type);
    const e2e_shape *xs = &k->in[0]->shape, *ys = &k->out[0]->shape;
    const int nsp = xs->rank - 2;
    if (nsp < 1 || nsp > 3 || ys->rank != xs->rank)
        return cu_unsupported(n, "%s with %d spatial dims", k->node->op_type, nsp);
    e2e_window_geom wg; /* decoded once by the CPU operator's prepare (ops/op_geom.h) */
    if (!e2e_pool_geom_of(k, &wg))
        return cu_unsupported(n, "a %s without its decoded geometry", k->node->op_type);
    pool_geo *g = (pool_geo *)cu_params(n, sizeof(pool_geo));
    if (!g)
        return E2E_ERR_NOMEM;
    g->is_max = is_max;
    g->include_pad = wg.include_pad;
    g->col_major = wg.col_major;
    g->NC = wg.N * wg.C;
    for (int i = 0; i < 3; i++) {
        g->id[i] = wg.id[i];
        g->od[i] = wg.od[i];
        g->kd[i] = wg.kd[i];
        g->st[i] = wg.st[i];
        g->dl[i] = wg.dl[i];
        g->pb[i] = wg.pb[i];
        g->pe[i] = wg.pe[i];
    }
    g->isp = wg.isp;
    g->osp = wg.osp;
    if (k->n_out > 1 && k->out[1] && (!is_max || k->out[1]->dtype != E2E_INT64))
        return cu_unsupported(n, "this second output of %s", k->node->op_type);
    n->run = pool_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- global pools */

struct gpool_params {
    bool is_max;
    int64_t rows, sp;
};

__global__ void k_gpool(const float *__restrict__ X, float *__restrict__ Y, int64_t sp, bool is_max)
{
    __shared__ float sh[32];
    const float *x = X + (int64_t)blockIdx.x * sp;
    float v = is_max ? -INFINITY : 0.f;
    for (int64_t j = threadIdx.x; j < sp; j += blockDim.x)
        v = is_max ? fmaxf(v, x[j]) : v + x[j];
    v = is_max ? cu_block_max(v, sh) : cu_block_sum(v, sh);
    if (threadIdx.x == 0)
        Y[blockIdx.x] = is_max ? v : v / (float)sp;
}

static e2e_status gpool_run(cu_state *S, cu_node *n)
{
    const gpool_params *p = (const gpool_params *)n->p;
    if (!p->rows)
        return E2E_OK;
    k_gpool<<<(unsigned)p->rows, ROW_THREADS, 0, S->stream>>>((const float *)n->in[0], (float *)n->out[0],
                                                               p->sp, p->is_max);
    return E2E_OK;
}

e2e_status cu_prep_gpool(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in != 1 || !k->in[0] || !k->out[0] || k->in[0]->dtype != E2E_FLOAT || k->in[0]->shape.rank < 2)
        return cu_unsupported(n, "this form of %s", k->node->op_type);
    gpool_params *p = (gpool_params *)cu_params(n, sizeof(gpool_params));
    if (!p)
        return E2E_ERR_NOMEM;
    const e2e_shape *xs = &k->in[0]->shape;
    p->is_max = !strcmp(k->node->op_type, "GlobalMaxPool");
    p->rows = xs->dims[0] * xs->dims[1];
    p->sp = p->rows ? k->in[0]->numel / p->rows : 0;
    if (p->rows > INT32_MAX)
        return cu_unsupported(n, "%lld rows", (long long)p->rows);
    n->run = gpool_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- Softmax, LogSoftmax */

struct sm_params {
    bool log;
    int64_t outer, n, inner;
};

/* One block per row (o, i): the n values x[(o*n + r)*inner + i]. Every output element is
   written by the thread that read it last, so the kernel may run in place. */
__global__ void k_softmax(const float *x, float *y, int64_t n, int64_t inner, bool lg)
{
    __shared__ float sh[32];
    const int64_t row = blockIdx.x, o = row / inner, i = row % inner;
    const float *xr = x + o * n * inner + i;
    float *yr = y + o * n * inner + i;
    float m = -INFINITY;
    for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
        m = fmaxf(m, xr[r * inner]);
    m = cu_block_max(m, sh);
    if (isinf(m) && m < 0.f) {
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
            yr[r * inner] = NAN; /* a fully masked row: 0/0 in the reference */
        return;
    }
    float s = 0.f;
    for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
        s += expf(xr[r * inner] - m);
    s = cu_block_sum(s, sh);
    if (lg) {
        const float ls = logf(s);
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
            yr[r * inner] = (xr[r * inner] - m) - ls;
    } else {
        const float inv = 1.f / s;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
            yr[r * inner] = expf(xr[r * inner] - m) * inv;
    }
}

static e2e_status softmax_run(cu_state *S, cu_node *n)
{
    const sm_params *p = (const sm_params *)n->p;
    const int64_t rows = p->outer * p->inner;
    if (!rows || !p->n)
        return E2E_OK;
    k_softmax<<<(unsigned)rows, ROW_THREADS, 0, S->stream>>>((const float *)n->in[0], (float *)n->out[0],
                                                              p->n, p->inner, p->log);
    return E2E_OK;
}

e2e_status cu_prep_softmax(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in != 1 || !k->in[0] || !k->out[0] || k->in[0]->dtype != E2E_FLOAT)
        return cu_unsupported(n, "this form of %s", k->node->op_type);
    const bool legacy = k->opset > 0 && k->opset < 13;
    int64_t axis;
    e2e_status st;
    if ((st = e2e_attr_int(k, "axis", legacy ? 1 : -1, &axis)))
        return st;
    sm_params *p = (sm_params *)cu_params(n, sizeof(sm_params));
    if (!p)
        return E2E_ERR_NOMEM;
    const e2e_shape *xs = &k->in[0]->shape;
    p->log = !strcmp(k->node->op_type, "LogSoftmax");
    p->outer = p->n = p->inner = 1;
    if (xs->rank > 0) {
        int a;
        if ((st = e2e_axis(k, axis, xs->rank, &a)))
            return st;
        for (int i = 0; i < a; i++)
            p->outer *= xs->dims[i];
        if (legacy) {
            for (int i = a; i < xs->rank; i++)
                p->n *= xs->dims[i];
        } else {
            p->n = xs->dims[a];
            for (int i = a + 1; i < xs->rank; i++)
                p->inner *= xs->dims[i];
        }
    }
    if (p->outer * p->inner > INT32_MAX)
        return cu_unsupported(n, "%lld rows", (long long)(p->outer * p->inner));
    n->run = softmax_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- LayerNormalization,
   InstanceNormalization (rows = N x C images, scale and B per channel) */

/* How Scale or B maps onto the normalised block: its own index, one value, or broadcast
   strides over the block's dims. */
struct ln_map {
    int mode; /* 0 absent, 1 per element, 2 scalar, 3 strided, 4 per channel (row % chan) */
    int rank;
    int64_t chan;
    int64_t dims[CU_MAXR], st[CU_MAXR];
};

struct ln_params {
    int64_t outer, inner;
    float eps;
    ln_map s, b;
};

static __device__ __forceinline__ float ln_get(const float *v, const ln_map &m, int64_t j, int64_t row,
                                               float def)
{
    switch (m.mode) {
    case 4: return v[row % m.chan];
    case 1: return v[j];
    case 2: return v[0];
    case 3: {
        int64_t off = 0;
        for (int d = m.rank - 1; d >= 0; d--) {
            off += (j % m.dims[d]) * m.st[d];
            j /= m.dims[d];
        }
        return v[off];
    }
    default: return def;
    }
}

__global__ void k_layernorm(const float *X, const float *Sc, const float *B,
                            float *Y, float *Mo, float *Io, ln_params p)
{
    __shared__ float sh[32];
    const int64_t o = blockIdx.x, n = p.inner;
    const float *x = X + o * n;
    float *y = Y + o * n;
    float s = 0.f;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
        s += x[j];
    const float mean = n ? cu_block_sum(s, sh) / (float)n : 0.f;
    float s2 = 0.f;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        float d = x[j] - mean;
        s2 += d * d;
    }
    s2 = cu_block_sum(s2, sh);
    const float inv = 1.f / sqrtf((n ? s2 / (float)n : 0.f) + p.eps);
    if (threadIdx.x == 0) {
        if (Mo)
            Mo[o] = mean;
        if (Io)
            Io[o] = inv;
    }
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
        y[j] = (x[j] - mean) * inv * ln_get(Sc, p.s, j, o, 1.f) + ln_get(B, p.b, j, o, 0.f);
}

static e2e_status layernorm_run(cu_state *S, cu_node *n)
{
    const ln_params *p = (const ln_params *)n->p;
    if (!p->outer)
        return E2E_OK;
    float *Mo = n->n_out > 1 ? (float *)n->out[1] : NULL, *Io = n->n_out > 2 ? (float *)n->out[2] : NULL;
    k_layernorm<<<(unsigned)p->outer, ROW_THREADS, 0, S->stream>>>(
        (const float *)n->in[0], (const float *)n->in[1], p->b.mode ? (const float *)n->in[2] : NULL,
        (float *)n->out[0], Mo, Io, *p);
    return E2E_OK;
}

static e2e_status ln_plan_map(cu_node *n, int i, const e2e_shape *block, int64_t inner, ln_map *m)
{
    const e2e_value *v = n->k->in[i];
    memset(m, 0, sizeof *m);
    if (!v)
        return E2E_OK;
    if (v->dtype != E2E_FLOAT)
        return cu_unsupported(n, "%s of type %s", i == 1 ? "Scale" : "B", e2e_dtype_name(v->dtype));
    if (v->shape.rank > block->rank)
        return cu_fail(n, E2E_ERR_SHAPE, "%s does not broadcast to the normalised shape",
                       i == 1 ? "Scale" : "B");
    if (v->numel == inner) {
        m->mode = 1;
    } else if (v->numel == 1) {
        m->mode = 2;
    } else {
        m->mode = 3;
        m->rank = block->rank;
        memcpy(m->dims, block->dims, sizeof(int64_t) * (size_t)block->rank);
        e2e_broadcast_strides(&v->shape, block, m->st);
    }
    return E2E_OK;
}

static e2e_status prep_instancenorm(cu_node *n)
{
    e2e_kernel *k = n->k;
    if (k->n_in != 3 || !k->in[0] || !k->in[1] || !k->in[2] || !k->out[0] || k->in[0]->dtype != E2E_FLOAT ||
        k->in[1]->dtype != E2E_FLOAT || k->in[2]->dtype != E2E_FLOAT || k->in[0]->shape.rank < 3)
        return cu_unsupported(n, "this form of InstanceNormalization");
    ln_params *p = (ln_params *)cu_params(n, sizeof(ln_params));
    if (!p)
        return E2E_ERR_NOMEM;
    e2e_status st;
    if ((st = e2e_attr_float(k, "epsilon", 1e-5f, &p->eps)))
        return st;
    const e2e_shape *xs = &k->in[0]->shape;
    const int64_t C = xs->dims[1];
    p->outer = xs->dims[0] * C;
    p->inner = p->outer ? k->in[0]->numel / p->outer : 0;
    if (k->in[1]->numel != C || k->in[2]->numel != C)
        return cu_fail(n, E2E_ERR_SHAPE, "scale and B need %lld values", (long long)C);
    if (p->outer > INT32_MAX)
        return cu_unsupported(n, "%lld rows", (long long)p->outer);
    p->s.mode = p->b.mode = 4;
    p->s.chan = p->b.chan = C;
    n->run = layernorm_run;
    return E2E_OK;
}

e2e_status cu_prep_layernorm(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (!strcmp(k->node->op_type, "InstanceNormalization"))
        return prep_instancenorm(n);
    if (k->n_in < 2 || k->n_in > 3 || !k->in[0] || !k->in[1] || !k->out[0] || k->in[0]->dtype != E2E_FLOAT)
        return cu_unsupported(n, "this form of LayerNormalization");
    const e2e_shape *xs = &k->in[0]->shape;
    int64_t axis_attr, stash;
    int axis;
    ln_params *p = (ln_params *)cu_params(n, sizeof(ln_params));
    if (!p)
        return E2E_ERR_NOMEM;
    e2e_status st;
    if ((st = e2e_attr_int(k, "axis", -1, &axis_attr)) || (st = e2e_attr_float(k, "epsilon", 1e-5f, &p->eps)) ||
        (st = e2e_attr_int(k, "stash_type", 1, &stash)) || (st = e2e_axis(k, axis_attr, xs->rank, &axis)))
        return st;
    if (stash != 1)
        return cu_unsupported(n, "stash_type=%lld", (long long)stash);
    e2e_shape block;
    block.rank = xs->rank - axis;
    p->outer = p->inner = 1;
    for (int d = 0; d < xs->rank; d++) {
        if (d < axis)
            p->outer *= xs->dims[d];
        else {
            p->inner *= xs->dims[d];
            block.dims[d - axis] = xs->dims[d];
        }
    }
    if (p->outer > INT32_MAX)
        return cu_unsupported(n, "%lld rows", (long long)p->outer);
    if ((st = ln_plan_map(n, 1, &block, p->inner, &p->s)) ||
        (st = ln_plan_map(n, 2, &block, p->inner, &p->b)))
        return st;
    n->run = layernorm_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- LRN */

struct lrn_params {
    int64_t N, C, sp, before, after;
    float scale, beta, bias;
};

__global__ void k_lrn(const float *__restrict__ X, float *__restrict__ Y, lrn_params p)
{
    const int64_t total = p.N * p.C * p.sp;
    CU_LOOP(t, total) {
        int64_t i = t % p.sp, c = (t / p.sp) % p.C, n = t / (p.sp * p.C);
        int64_t c0 = c - p.before < 0 ? 0 : c - p.before;
        int64_t c1 = c + p.after >= p.C ? p.C - 1 : c + p.after;
        const float *xn = X + n * p.C * p.sp;
        float s = 0.f;
        for (int64_t j = c0; j <= c1; j++) {
            float v = xn[j * p.sp + i];
            s += v * v;
        }
        Y[t] = xn[c * p.sp + i] / powf(p.bias + p.scale * s, p.beta);
    }
}

static e2e_status lrn_run(cu_state *S, cu_node *n)
{
    const lrn_params *p = (const lrn_params *)n->p;
    const int64_t total = p->N * p->C * p->sp;
    if (!total)
        return E2E_OK;
    k_lrn<<<cu_blocks(total), CU_THREADS, 0, S->stream>>>((const float *)n->in[0], (float *)n->out[0], *p);
    return E2E_OK;
}

e2e_status cu_prep_lrn(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in != 1 || !k->in[0] || !k->out[0] || k->in[0]->dtype != E2E_FLOAT || k->in[0]->shape.rank < 2)
        return cu_unsupported(n, "this form of LRN");
    float alpha;
    int64_t size;
    lrn_params *p = (lrn_params *)cu_params(n, sizeof(lrn_params));
    if (!p)
        return E2E_ERR_NOMEM;
    e2e_status st;
    if ((st = e2e_attr_float(k, "alpha", 1e-4f, &alpha)) || (st = e2e_attr_float(k, "beta", 0.75f, &p->beta)) ||
        (st = e2e_attr_float(k, "bias", 1.0f, &p->bias)) || (st = e2e_attr_int(k, "size", 0, &size)))
        return st;
    if (size < 1)
        return cu_fail(n, E2E_ERR_INVALID, "attribute size must be >= 1");
    const e2e_shape *xs = &k->in[0]->shape;
    p->N = xs->dims[0];
    p->C = xs->dims[1];
    p->sp = p->N * p->C != 0 ? k->in[0]->numel / (p->N * p->C) : 0;
    p->before = (size - 1) / 2;
    p->after = size - 1 - p->before;
    p->scale = alpha / (float)size;
    n->run = lrn_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- BatchNormalization */

struct bn_params {
    int64_t C, sp, total;
    float eps;
};

__global__ void k_batchnorm(const float *X, const float *sc, const float *bi,
                            const float *mu, const float *va, float *Y, bn_params p)
{
    CU_LOOP(t, p.total) {
        int64_t c = (t / p.sp) % p.C;
        float a = sc[c] / sqrtf(va[c] + p.eps);
        Y[t] = X[t] * a + (bi[c] - mu[c] * a);
    }
}

static e2e_status batchnorm_run(cu_state *S, cu_node *n)
{
    const bn_params *p = (const bn_params *)n->p;
    if (!p->total)
        return E2E_OK;
    k_batchnorm<<<cu_blocks(p->total), CU_THREADS, 0, S->stream>>>(
        (const float *)n->in[0], (const float *)n->in[1], (const float *)n->in[2], (const float *)n->in[3],
        (const float *)n->in[4], (float *)n->out[0], *p);
    return E2E_OK;
}

e2e_status cu_prep_batchnorm(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in != 5 || !k->out[0] || k->in[0]->shape.rank < 2)
        return cu_unsupported(n, "this form of BatchNormalization");
    for (int i = 0; i < 5; i++)
        if (!k->in[i] || k->in[i]->dtype != E2E_FLOAT)
            return cu_unsupported(n, "this form of BatchNormalization");
    int64_t training = 0;
    bn_params *p = (bn_params *)cu_params(n, sizeof(bn_params));
    if (!p)
        return E2E_ERR_NOMEM;
    e2e_status st;
    if ((st = e2e_attr_float(k, "epsilon", 1e-5f, &p->eps)) || (st = e2e_attr_int(k, "training_mode", 0, &training)))
        return st;
    bool stats = false;
    for (int i = 1; i < k->n_out; i++)
        stats = stats || k->out[i];
    if (training || stats)
        return cu_unsupported(n, "training mode");
    const e2e_shape *xs = &k->in[0]->shape;
    p->C = xs->dims[1];
    p->sp = 1;
    for (int i = 2; i < xs->rank; i++)
        p->sp *= xs->dims[i];
    p->total = k->in[0]->numel;
    for (int i = 1; i < 5; i++)
        if (k->in[i]->numel != p->C)
            return cu_fail(n, E2E_ERR_SHAPE, "input %d does not have %lld values", i, (long long)p->C);
    n->run = batchnorm_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- Reduce* */

enum { RK_SUM, RK_MEAN, RK_MAX, RK_MIN, RK_PROD, RK_L1, RK_L2, RK_SUMSQ, RK_LOGSUM, RK_LOGSUMEXP };

struct red_params {
    int kind;
    bool copy;              /* noop_with_empty_axes and no axes: the output is the input */
    int64_t n_out, count;
    int nk, nr;             /* kept / reduced dims (row-major) and their input strides */
    int64_t kd[CU_MAXR], ks[CU_MAXR], rd[CU_MAXR], rs[CU_MAXR];
};

__global__ void k_reduce(const float *__restrict__ X, float *__restrict__ Y, red_params p)
{
    __shared__ float sh[32];
    int64_t t = blockIdx.x, base = 0;
    for (int d = p.nk - 1; d >= 0; d--) {
        base += (t % p.kd[d]) * p.ks[d];
        t /= p.kd[d];
    }
    const int kind = p.kind;
    float mx = -INFINITY;
    if (kind == RK_LOGSUMEXP) {
        for (int64_t j = threadIdx.x; j < p.count; j += blockDim.x) {
            int64_t r = j, off = base;
            for (int d = p.nr - 1; d >= 0; d--) {
                off += (r % p.rd[d]) * p.rs[d];
                r /= p.rd[d];
            }
            mx = fmaxf(mx, X[off]);
        }
        mx = cu_block_max(mx, sh);
    }
    float acc = kind == RK_MAX ? -INFINITY : kind == RK_MIN ? INFINITY : kind == RK_PROD ? 1.f : 0.f;
    for (int64_t j = threadIdx.x; j < p.count; j += blockDim.x) {
        int64_t r = j, off = base;
        for (int d = p.nr - 1; d >= 0; d--) {
            off += (r % p.rd[d]) * p.rs[d];
            r /= p.rd[d];
        }
        float v = X[off];
        switch (kind) {
        case RK_MAX: acc = (v > acc || v != v) ? v : acc; break;
        case RK_MIN: acc = (v < acc || v != v) ? v : acc; break;
        case RK_PROD: acc *= v; break;
        case RK_L1: acc += fabsf(v); break;
        case RK_L2: case RK_SUMSQ: acc += v * v; break;
        case RK_LOGSUMEXP: acc += expf(v - mx); break;
        default: acc += v; break;
        }
    }
    if (kind == RK_MAX) {
        acc = cu_block_max(acc, sh);
    } else if (kind == RK_MIN) {
        acc = -cu_block_max(-acc, sh);
    } else if (kind == RK_PROD) {
        /* product: through the warp, then the warps' partials */
        for (int o = 16; o > 0; o >>= 1)
            acc *= __shfl_xor_sync(0xffffffffu, acc, o);
        __syncthreads();
        if ((threadIdx.x & 31) == 0)
            sh[threadIdx.x >> 5] = acc;
        __syncthreads();
        acc = 1.f;
        for (int w = 0; w < (int)(blockDim.x >> 5); w++)
            acc *= sh[w];
    } else {
        acc = cu_block_sum(acc, sh);
    }
    if (threadIdx.x == 0) {
        float r = acc;
        switch (kind) {
        case RK_MEAN: r = acc / (float)p.count; break;
        case RK_L2: r = sqrtf(acc); break;
        case RK_LOGSUM: r = logf(acc); break;
        case RK_LOGSUMEXP: r = p.count ? mx + logf(acc) : -INFINITY; break;
        default: break;
        }
        Y[blockIdx.x] = r;
    }
}

static e2e_status reduce_run(cu_state *S, cu_node *n)
{
    const red_params *p = (const red_params *)n->p;
    if (p->copy)
        return cu_copy_d2d(S, n, n->out[0], n->in[0], sizeof(float) * (size_t)p->n_out);
    if (!p->n_out)
        return E2E_OK;
    k_reduce<<<(unsigned)p->n_out, ROW_THREADS, 0, S->stream>>>((const float *)n->in[0], (float *)n->out[0], *p);
    return E2E_OK;
}

e2e_status cu_prep_reduce(cu_state *S, cu_node *n)
{
    (void)S;
    static const struct {
        const char *name;
        int kind;
    } names[] = {
        {"ReduceSum", RK_SUM}, {"ReduceMean", RK_MEAN}, {"ReduceMax", RK_MAX}, {"ReduceMin", RK_MIN},
        {"ReduceProd", RK_PROD}, {"ReduceL1", RK_L1}, {"ReduceL2", RK_L2},
        {"ReduceSumSquare", RK_SUMSQ}, {"ReduceLogSum", RK_LOGSUM}, {"ReduceLogSumExp", RK_LOGSUMEXP},
    };
    e2e_kernel *k = n->k;
    int kind = -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].name, k->node->op_type))
            kind = names[i].kind;
    if (kind < 0 || k->n_in < 1 || !k->in[0] || !k->out[0])
        return cu_unsupported(n, "this form of %s", k->node->op_type);
    if (k->in[0]->dtype != E2E_FLOAT)
        return cu_unsupported(n, "%s of %s", k->node->op_type, e2e_dtype_name(k->in[0]->dtype));
    int64_t noop = 0, axes[E2E_MAX_RANK];
    int na = 0;
    e2e_status st;
    if ((st = e2e_attr_int(k, "noop_with_empty_axes", 0, &noop)))
        return st;
    const int64_t *aattr;
    int naattr;
    if ((st = e2e_attr_ints(k, "axes", &aattr, &naattr)))
        return st;
    if (k->n_in >= 2 && k->in[1]) {
        if (k->in[1]->numel > 0 && (st = e2e_input_ints(k, 1, axes, E2E_MAX_RANK, &na)))
            return st;
    } else if (naattr) {
        if (naattr > E2E_MAX_RANK)
            return cu_fail(n, E2E_ERR_INVALID, "%d axes", naattr);
        memcpy(axes, aattr, sizeof(int64_t) * (size_t)naattr);
        na = naattr;
    }
    red_params *p = (red_params *)cu_params(n, sizeof(red_params));
    if (!p)
        return E2E_ERR_NOMEM;
    p->kind = kind;
    p->n_out = k->out[0]->numel;
    if (na == 0 && noop) {
        p->copy = true;
        n->run = reduce_run;
        return E2E_OK;
    }
    const e2e_shape *xs = &k->in[0]->shape;
    const int r = xs->rank;
    bool red[E2E_MAX_RANK] = {false};
    for (int i = 0; i < na; i++) {
        int a;
        if ((st = e2e_axis(k, axes[i], r, &a)))
            return st;
        if (r)
            red[a] = true;
    }
    if (na == 0)
        for (int i = 0; i < r; i++)
            red[i] = true;
    int64_t s[E2E_MAX_RANK], m = 1;
    for (int i = r - 1; i >= 0; i--) {
        s[i] = m;
        m *= xs->dims[i];
    }
    p->count = 1;
    for (int i = 0; i < r; i++) {
        if (red[i])
            p->count *= xs->dims[i];
        if (xs->dims[i] == 1)
            continue;
        if (red[i]) {
            p->rd[p->nr] = xs->dims[i];
            p->rs[p->nr++] = s[i];
        } else {
            p->kd[p->nk] = xs->dims[i];
            p->ks[p->nk++] = s[i];
        }
    }
    int64_t kept = 1;
    for (int i = 0; i < p->nk; i++)
        kept *= p->kd[i];
    if (kept != p->n_out)
        return cu_fail(n, E2E_ERR_SHAPE, "the output size does not match the kept dims");
    if (p->n_out > INT32_MAX)
        return cu_unsupported(n, "%lld outputs", (long long)p->n_out);
    n->run = reduce_run;
    return E2E_OK;
}
