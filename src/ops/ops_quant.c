/* Quantized operators: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
   MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv (int8 / uint8 data, int32 sums).

   Semantics (ONNX spec; ONNX Runtime does the same):
     quantize    y = saturate(round(x / scale) + zero_point), round half to even (nearbyintf in
                 the default rounding mode), saturate to the output type's range; NaN gives the
                 type's lowest value (as ONNX Runtime's x86 kernels do).
     dequantize  y = (x - zero_point) * scale, in float.
     integer products  sum (a - a_zero_point) * (b - b_zero_point), exact in int32.
     requantize (QLinear*)  y = saturate(round(float(sum + bias) * m) + y_zero_point) with
                 m = (a_scale * b_scale) / y_scale computed in float, per output channel when
                 the weight's scale is per channel.
   Scales and zero points are per tensor (a scalar or one value) or, where the spec allows,
   per axis (a 1-D tensor along `axis`, opset 13; QLinearConv/ConvInteger per output channel;
   MatMulInteger a_zero_point per row of A and b_zero_point per column of B). They are read at
   run, so they may be graph inputs. A missing zero point is 0 (QuantizeLinear: uint8 output).

   The generic products subtract the zero points into int16 copies (workspace) and multiply
   with e2e_qgemm_s16; the convolutions unfold the input (im2col) first, the padding being the
   zero point (0 after the subtraction). Faster integer kernels run the folded QDQ patterns
   (engine/passes/fuse_qdq.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv_internal.h"
#include "ops/cpu_isa.h"
#include "ops/ops_quant.h"
#include "ops/qgemm.h"

/* ---------------------------------------------------------------- helpers */

static inline int32_t q_load(const void *p, e2e_dtype dt, int64_t i)
{
    switch (dt) {
    case E2E_INT8: return ((const int8_t *)p)[i];
    case E2E_UINT8: return ((const uint8_t *)p)[i];
    default: return ((const int32_t *)p)[i];
    }
}

static inline float q_lo(e2e_dtype dt) { return dt == E2E_INT8 ? -128.f : 0.f; }
static inline float q_hi(e2e_dtype dt) { return dt == E2E_INT8 ? 127.f : 255.f; }

/* round half to even, add the zero point, saturate; NaN -> lo */
static inline int32_t q_round(float v, int32_t zp, float lo, float hi)
{
    float r = nearbyintf(v) + (float)zp;
    r = fmaxf(r, lo);
    return (int32_t)fminf(r, hi);
}

static inline void q_store(void *p, e2e_dtype dt, int64_t i, int32_t v)
{
    if (dt == E2E_INT8)
        ((int8_t *)p)[i] = (int8_t)v;
    else
        ((uint8_t *)p)[i] = (uint8_t)v;
}

void e2e_qgemm_s16(int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda,
                   const int16_t *B, int64_t ldb, int32_t *C, int64_t ldc)
{
    for (int64_t m = 0; m < M; m++) {
        int32_t *c = C + m * ldc;
        memset(c, 0, sizeof(int32_t) * (size_t)N);
        for (int64_t kk = 0; kk < K; kk++) {
            const int32_t a = A[m * lda + kk];
            const int16_t *b = B + kk * ldb;
            if (a)
                for (int64_t n = 0; n < N; n++)
                    c[n] += a * (int32_t)b[n];
        }
    }
}

const e2e_qgemm_kernels *e2e_qgemm_kernels_for(e2e_isa_level isa)
{
#ifdef E2E_X86
    const e2e_isa_level l = e2e_isa_select(isa);
    if (l == E2E_ISA_AVX512 && __builtin_cpu_supports("avx512vnni"))
        return &e2e_qgemm_avx512vnni;
    if (l >= E2E_ISA_AVX2)
        return e2e_cpu_avx_vnni() && e2e_qgemm_avxvnni.conv ? &e2e_qgemm_avxvnni : &e2e_qgemm_avx2;
#endif
    (void)isa;
    return NULL;
}

/* all values of an optional constant zero point are 0 */
static bool zp_all_zero(const e2e_kernel *k, int i)
{
    const e2e_value *v = i < k->n_in ? k->in[i] : NULL;
    if (!v)
        return true;
    if (!v->is_const)
        return false;
    for (int64_t j = 0; j < v->numel; j++)
        if (q_load(v->data, v->dtype, j))
            return false;
    return true;
}

/* Checks a scale (float) or zero point (int8/uint8/int32) input: a scalar or one value (per
   tensor, *nc = 1), or a 1-D tensor of `want` values when want > 0 (per axis, *nc = want). */
static e2e_status q_param(e2e_kernel *k, int i, const char *what, bool scale, int64_t want,
                          int64_t *nc)
{
    const e2e_value *v = i < k->n_in ? k->in[i] : NULL;
    if (!v) {
        *nc = 1;
        return E2E_OK;
    }
    if (scale ? v->dtype != E2E_FLOAT
              : v->dtype != E2E_INT8 && v->dtype != E2E_UINT8 && v->dtype != E2E_INT32)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "%s (input %d) has unsupported type %s", what, i,
                         e2e_dtype_name(v->dtype));
    if (v->numel == 1 && v->shape.rank <= 1) {
        *nc = 1;
        return E2E_OK;
    }
    if (want > 0 && v->shape.rank == 1 && v->shape.dims[0] == want) {
        *nc = want;
        return E2E_OK;
    }
    char b[160];
    if (want > 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "%s (input %d) is %s: a scalar or [%lld] is wanted", what,
                         i, e2e_shape_str(&v->shape, b, sizeof b), (long long)want);
    return e2e_kfail(k, E2E_ERR_SHAPE, "%s (input %d) is %s: a scalar is wanted", what, i,
                     e2e_shape_str(&v->shape, b, sizeof b));
}

/* zero point c of an optional input (0 when absent) */
static inline int32_t q_zp(const e2e_kernel *k, int i, int64_t c)
{
    const e2e_value *v = i < k->n_in ? k->in[i] : NULL;
    return v ? q_load(v->data, v->dtype, v->numel == 1 ? 0 : c) : 0;
}

static inline float q_scale(const e2e_kernel *k, int i, int64_t c)
{
    const e2e_value *v = k->in[i];
    return ((const float *)v->data)[v->numel == 1 ? 0 : c];
}

static void *q_alloc_priv(e2e_kernel *k, const void *p, size_t n)
{
    void *pp = malloc(n);
    if (pp)
        memcpy(pp, p, n);
    k->priv = pp;
    return pp;
}

/* bytes rounded up to a cache line, for workspace pieces */
static size_t q_ws(int64_t bytes) { return ((size_t)bytes + 63) & ~(size_t)63; }

/* ------------------------------------------------- QuantizeLinear, DequantizeLinear */

typedef struct qdq_priv {
    int64_t outer, C, inner; /* the input seen as [outer][C][inner], C the quantized axis (1:
                                per tensor) */
    const e2e_qgemm_kernels *qk; /* SIMD loops for float <-> int8/uint8, or NULL */
} qdq_priv;

/* shared prepare: input 0 x, scale in[1], zero point in[2] */
static e2e_status qdq_prepare(e2e_kernel *k, bool quantize)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 3)))
        return st;
    if (quantize ? (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT32, E2E_UNDEFINED))
                 : (st = e2e_check_dtype(k, 0, E2E_INT8, E2E_UINT8, E2E_INT32, E2E_UNDEFINED)))
        return st;
    const e2e_shape *xs = &k->in[0]->shape;
    int64_t axis_attr;
    int axis = 0;
    if ((st = e2e_attr_int(k, "axis", 1, &axis_attr)))
        return st;
    int64_t nch = 0; /* per-axis length allowed (opset 13) */
    const e2e_value *sv = k->in[1];
    if (k->opset >= 13 && xs->rank > 0 && !(sv->numel == 1 && sv->shape.rank <= 1)) {
        if ((st = e2e_axis(k, axis_attr, xs->rank, &axis)))
            return st;
        nch = xs->dims[axis];
    }
    int64_t nc, nz;
    if ((st = q_param(k, 1, quantize ? "y_scale" : "x_scale", true, nch, &nc)) ||
        (st = q_param(k, 2, quantize ? "y_zero_point" : "x_zero_point", false, nch, &nz)))
        return st;
    const e2e_value *zp = k->n_in > 2 ? k->in[2] : NULL;
    if (zp && nz != nc && nz != 1)
        return e2e_kfail(k, E2E_ERR_SHAPE, "scale and zero point have different lengths");
    if (zp && k->in[2]->numel != k->in[1]->numel)
        return e2e_kfail(k, E2E_ERR_SHAPE, "scale has %lld values, zero point %lld",
                         (long long)k->in[1]->numel, (long long)k->in[2]->numel);
    if (!quantize && zp && zp->dtype != k->in[0]->dtype)
        return e2e_kfail(k, E2E_ERR_INVALID, "x is %s but x_zero_point is %s",
                         e2e_dtype_name(k->in[0]->dtype), e2e_dtype_name(zp->dtype));
    if (quantize && zp && zp->dtype == E2E_INT32)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "y_zero_point must be int8 or uint8, not int32");
    qdq_priv p = {.outer = 1, .C = 1, .inner = k->in[0]->numel};
    if (nc > 1) {
        p.C = nc;
        p.inner = 1;
        for (int d = 0; d < axis; d++)
            p.outer *= xs->dims[d];
        for (int d = axis + 1; d < xs->rank; d++)
            p.inner *= xs->dims[d];
    }
    e2e_dtype ot = !quantize ? E2E_FLOAT : zp ? zp->dtype : E2E_UINT8;
#ifdef E2E_X86
    p.qk = k->in[0]->dtype != E2E_INT32 ? e2e_qgemm_kernels_for(k->ctx->isa) : NULL;
#endif
    if ((st = e2e_out_set(k, 0, ot, xs)))
        return st;
    if (!q_alloc_priv(k, &p, sizeof p))
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    return E2E_OK;
}

static e2e_status quantize_prepare(e2e_kernel *k) { return qdq_prepare(k, true); }
static e2e_status dequantize_prepare(e2e_kernel *k) { return qdq_prepare(k, false); }

static e2e_status quantize_run(e2e_kernel *k)
{
    const qdq_priv *p = k->priv;
    const e2e_value *x = k->in[0];
    const e2e_dtype ot = k->out[0]->dtype;
    const float lo = q_lo(ot), hi = q_hi(ot);
    void *y = k->out[0]->data;
    int64_t i = 0;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t c = 0; c < p->C; c++) {
            const float s = q_scale(k, 1, c);
            const int32_t zp = q_zp(k, 2, c);
#ifdef E2E_X86
            if (p->qk) {
                p->qk->quant(p->inner, (const float *)x->data + i, s, zp, ot == E2E_INT8,
                             (uint8_t *)y + i);
                i += p->inner;
                continue;
            }
#endif
            if (x->dtype == E2E_FLOAT) {
                const float *xf = (const float *)x->data + i;
                for (int64_t j = 0; j < p->inner; j++)
                    q_store(y, ot, i + j, q_round(xf[j] / s, zp, lo, hi));
            } else {
                const int32_t *xi = (const int32_t *)x->data + i;
                for (int64_t j = 0; j < p->inner; j++)
                    q_store(y, ot, i + j, q_round((float)xi[j] / s, zp, lo, hi));
            }
            i += p->inner;
        }
    return E2E_OK;
}

static e2e_status dequantize_run(e2e_kernel *k)
{
    const qdq_priv *p = k->priv;
    const e2e_value *x = k->in[0];
    float *y = k->out[0]->data;
    int64_t i = 0;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t c = 0; c < p->C; c++) {
            const float s = q_scale(k, 1, c);
            const int64_t zp = q_zp(k, 2, c);
#ifdef E2E_X86
            if (p->qk) {
                p->qk->dequant(p->inner, (const uint8_t *)x->data + i, x->dtype == E2E_INT8,
                               (int32_t)zp, s, y + i);
                i += p->inner;
                continue;
            }
#endif
            for (int64_t j = 0; j < p->inner; j++, i++)
                y[i] = (float)((int64_t)q_load(x->data, x->dtype, i) - zp) * s;
        }
    return E2E_OK;
}

/* ---------------------------------------------------------------- DynamicQuantizeLinear */

static e2e_status dynq_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)) || (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_UNDEFINED)))
        return st;
    e2e_shape scalar = {.rank = 0};
    if ((st = e2e_out_set(k, 0, E2E_UINT8, &k->in[0]->shape)) ||
        (st = e2e_out_set(k, 1, E2E_FLOAT, &scalar)) ||
        (st = e2e_out_set(k, 2, E2E_UINT8, &scalar)))
        return st;
    return E2E_OK;
}

/* The spec's formula in float32: range [min(0, min x), max(0, max x)] over 255 steps, zero
   point round(-min / scale) saturated to [0, 255]. All zeros: scale 0, zero point 0, y 0. */
static e2e_status dynq_run(e2e_kernel *k)
{
    const float *x = k->in[0]->data;
    const int64_t n = k->in[0]->numel;
    float mn = 0.f, mx = 0.f;
    for (int64_t i = 0; i < n; i++) {
        mn = fminf(mn, x[i]);
        mx = fmaxf(mx, x[i]);
    }
    const float s = (mx - mn) / 255.f;
    uint8_t *y = k->out[0]->data;
    int32_t zp = 0;
    if (s > 0.f)
        zp = q_round(-mn / s, 0, 0.f, 255.f);
    for (int64_t i = 0; i < n; i++)
        y[i] = s > 0.f ? (uint8_t)q_round(x[i] / s, zp, 0.f, 255.f) : 0;
    if (k->n_out > 1 && k->out[1])
        *(float *)k->out[1]->data = s;
    if (k->n_out > 2 && k->out[2])
        *(uint8_t *)k->out[2]->data = (uint8_t)zp;
    return E2E_OK;
}

/* ---------------------------------------------------------------- MatMulInteger, QLinearMatMul */

typedef struct qmm_priv {
    bool qlinear;
    int ia, ib;             /* input indices of A and B */
    int iaz, ibz;           /* their zero points (-1: none) */
    int64_t M, N, K;
    int64_t batch;          /* output matrices */
    int nb;                 /* broadcast batch rank */
    int64_t bdims[E2E_MAX_RANK], sa[E2E_MAX_RANK], sb[E2E_MAX_RANK]; /* in matrices */
    int64_t nza, nzb;       /* zero point lengths: 1, or M (per row of A) / N (per column of B) */
    int64_t nsb;            /* QLinearMatMul: b_scale values (1 or N) */
    size_t ws_a, ws_b;      /* workspace offsets: A16, B16; acc after */
    size_t ws_acc;
    /* folded QDQ pattern (engine/passes/fuse_qdq.c): B is constant, stored [N][K] when transb (a
       Gemm's transB = 1), in[8] an int32 bias [N], relu clamps at y_zero_point */
    bool fused, transb, relu;
    int16_t *b16;           /* constant B minus its zero points, [K][N] */
    /* SIMD integer kernels qk (u8 A, constant s8 B with zero points 0, QLinearMatMul): rows =
       all rows of A (B has no batch), B packed [N16/16][K4][16][4] with its column sums */
    const e2e_qgemm_kernels *qk;
    int64_t K4, N16, rows;
    int8_t *bq;
    int32_t *colsum;
    size_t ws_apad, ws_vacc, ws_corr, ws_mult;
} qmm_priv;

static void qmm_release(void *v)
{
    qmm_priv *p = v;
    if (p) {
        e2e_aligned_free(p->b16);
        e2e_aligned_free(p->bq);
        free(p->colsum);
    }
    free(p);
}

static e2e_status qmm_prepare_common(e2e_kernel *k, qmm_priv *p)
{
    e2e_status st;
    const e2e_shape *as = &k->in[p->ia]->shape;
    e2e_shape bt = k->in[p->ib]->shape;
    if (p->transb && bt.rank == 2) {
        bt.dims[0] = bt.dims[1];
        bt.dims[1] = k->in[p->ib]->shape.dims[0];
    }
    const e2e_shape *bs = &bt;
    if ((st = e2e_check_dtype(k, p->ia, E2E_INT8, E2E_UINT8, E2E_UNDEFINED)) ||
        (st = e2e_check_dtype(k, p->ib, E2E_INT8, E2E_UINT8, E2E_UNDEFINED)))
        return st;
    e2e_matmul_shape sh;
    if ((st = e2e_matmul_shape_of(k, as, bs, &sh)))
        return st;
    p->M = sh.M;
    p->K = sh.K;
    p->N = sh.N;
    const e2e_shape ab = sh.ab, bb = sh.bb, ob = sh.ob, ys = sh.ys;
    p->nb = ob.rank;
    p->batch = e2e_shape_numel(&ob);
    memcpy(p->bdims, ob.dims, sizeof(int64_t) * (size_t)ob.rank);
    e2e_broadcast_strides(&ab, &ob, p->sa);
    e2e_broadcast_strides(&bb, &ob, p->sb);
    if ((st = q_param(k, p->iaz, "a_zero_point", false, p->qlinear ? 0 : p->M, &p->nza)) ||
        (st = q_param(k, p->ibz, "b_zero_point", false, p->N, &p->nzb)))
        return st;
    for (int z = 0; z < 2; z++) {
        int zi = z ? p->ibz : p->iaz, oi = z ? p->ib : p->ia;
        if (zi < k->n_in && k->in[zi] && k->in[zi]->dtype != k->in[oi]->dtype)
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d is %s but its zero point is %s", oi,
                             e2e_dtype_name(k->in[oi]->dtype), e2e_dtype_name(k->in[zi]->dtype));
    }
    e2e_dtype ot = E2E_INT32;
    if (p->qlinear) {
        int64_t n1;
        if ((st = q_param(k, 1, "a_scale", true, 0, &n1)) ||
            (st = q_param(k, 4, "b_scale", true, p->N, &p->nsb)) ||
            (st = q_param(k, 6, "y_scale", true, 0, &n1)) ||
            (st = q_param(k, 7, "y_zero_point", false, 0, &n1)))
            return st;
        ot = k->n_in > 7 && k->in[7] ? k->in[7]->dtype : E2E_UINT8;
        if (ot == E2E_INT32)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "y_zero_point must be int8 or uint8");
    }
    if (p->fused) {
        const e2e_value *b = k->n_in > 8 ? k->in[8] : NULL;
        if (!k->in[p->ib]->is_const || (k->in[p->ibz] && !k->in[p->ibz]->is_const) || p->batch != 1 ||
            (b && (b->dtype != E2E_INT32 || b->numel != p->N || !b->is_const)))
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "not a foldable QDQ product");
    }
    if ((st = e2e_out_set(k, 0, ot, &ys)))
        return st;
    p->ws_a = 0;
    p->ws_b = q_ws(p->M * p->K * 2);
    p->ws_acc = p->ws_b + q_ws(p->K * p->N * 2);
    k->ws_size = p->ws_acc + (p->qlinear ? q_ws(p->M * p->N * 4) : 0);
    qmm_priv *pp = q_alloc_priv(k, p, sizeof *p);
    if (!pp)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    const e2e_qgemm_kernels *qk = p->qlinear ? e2e_qgemm_kernels_for(k->ctx->isa) : NULL;
    if (qk && k->in[p->ia]->dtype == E2E_UINT8 &&
        k->in[p->ib]->dtype == E2E_INT8 && k->in[p->ib]->is_const && k->in[p->ib]->shape.rank == 2 &&
        zp_all_zero(k, p->ibz) && p->K > 0 && p->N > 0) {
        const e2e_value *B = k->in[p->ib];
        const int64_t K = p->K, N = p->N, K4 = (K + 3) / 4, N16 = (N + 15) / 16 * 16;
        pp->qk = qk;
        pp->K4 = K4;
        pp->N16 = N16;
        pp->rows = k->in[p->ia]->numel / K;
        pp->ws_apad = 0;
        pp->ws_vacc = K % 4 ? q_ws(pp->rows * 4 * K4) : 0;
        pp->ws_corr = pp->ws_vacc + q_ws(pp->rows * N16 * 4);
        pp->ws_mult = pp->ws_corr + q_ws(N * 4);
        k->ws_size = pp->ws_mult + q_ws(N * 4);
        /* zero-filled (the padding columns and rows stay 0); a large one in huge pages */
        pp->bq = e2e_aligned_alloc((size_t)(N16 * K4 * 4));
        pp->colsum = calloc((size_t)N, sizeof(int32_t));
        if (!pp->bq || !pp->colsum)
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        const int8_t *b = B->data;
        /* bq holds B[kk][n] at ((n / 16) * K4 + kk / 4) * 64 + (n % 16) * 4 + kk % 4: written
           one 64-byte block (16 columns x 4 rows) at a time, B read in its own order (byte by
           byte with the index computed per element, this took ~5 ms of the session creation
           of an int8 SimpleNet with a 4 MB dense layer) */
        int8_t *q = pp->bq;
        if (p->transb) {
            for (int64_t n = 0; n < N; n++) {
                int32_t sum = 0; /* not pp->colsum[n]: a store through it may alias b */
                for (int64_t kk = 0; kk < K; kk++)
                    sum += b[n * K + kk];
                pp->colsum[n] = sum;
            }
            for (int64_t n0 = 0; n0 < N; n0 += 16) {
                const int64_t nn = N - n0 < 16 ? N - n0 : 16;
                int8_t *blk = q + (n0 / 16) * K4 * 64;
                int64_t k0 = 0;
                for (; k0 + 4 <= K; k0 += 4, blk += 64)
                    for (int64_t j = 0; j < nn; j++)
                        memcpy(blk + j * 4, b + (n0 + j) * K + k0, 4);
                for (int64_t j = 0; k0 < K && j < nn; j++)
                    memcpy(blk + j * 4, b + (n0 + j) * K + k0, (size_t)(K - k0));
            }
        } else {
            for (int64_t kk = 0; kk < K; kk++)
                for (int64_t n = 0; n < N; n++)
                    pp->colsum[n] += b[kk * N + n];
            for (int64_t k0 = 0; k0 < K; k0 += 4) {
                const int64_t kn = K - k0 < 4 ? K - k0 : 4;
                for (int64_t n0 = 0; n0 < N; n0 += 16) {
                    int8_t *blk = q + ((n0 / 16) * K4 + k0 / 4) * 64;
                    const int64_t nn = N - n0 < 16 ? N - n0 : 16;
                    for (int64_t t = 0; t < kn; t++)
                        for (int64_t j = 0; j < nn; j++)
                            blk[j * 4 + t] = b[(k0 + t) * N + n0 + j];
                }
            }
        }
        return E2E_OK;
    }
    if (p->fused) {
        const e2e_value *B = k->in[p->ib];
        const int64_t K = p->K, N = p->N;
        if (!(pp->b16 = e2e_aligned_alloc_uninit(sizeof(int16_t) * (size_t)(K * N) + 1)))
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        for (int64_t kk = 0; kk < K; kk++)
            for (int64_t n = 0; n < N; n++)
                pp->b16[kk * N + n] = (int16_t)(q_load(B->data, B->dtype, p->transb ? n * K + kk : kk * N + n) -
                                                q_zp(k, p->ibz, n));
    }
    return E2E_OK;
}

static e2e_status matmulint_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 4)))
        return st;
    qmm_priv p = {.ia = 0, .ib = 1, .iaz = 2, .ibz = 3};
    return qmm_prepare_common(k, &p);
}

static e2e_status qlinearmm_prepare(e2e_kernel *k)
{
    e2e_status st;
    qmm_priv p = {.qlinear = true, .ia = 0, .ib = 3, .iaz = 2, .ibz = 5};
    if (k->priv) { /* handed over by engine/passes/fuse_qdq.c */
        const qmm_priv *h = k->priv;
        p.fused = true;
        p.transb = h->transb;
        p.relu = h->relu;
        qmm_release(k->priv);
        k->priv = NULL;
    }
    if ((st = e2e_check_inputs(k, 8, p.fused ? 9 : 8)))
        return st;
    return qmm_prepare_common(k, &p);
}

/* n values of src (dtype dt) minus zero points into int16: zp per element block of `per`
   values (per = 0: one zero point z0) */
static void to_s16(const void *src, e2e_dtype dt, int64_t off, int64_t n, int32_t z0,
                   int16_t *dst)
{
    if (dt == E2E_INT8) {
        const int8_t *s = (const int8_t *)src + off;
        for (int64_t i = 0; i < n; i++)
            dst[i] = (int16_t)(s[i] - z0);
    } else {
        const uint8_t *s = (const uint8_t *)src + off;
        for (int64_t i = 0; i < n; i++)
            dst[i] = (int16_t)(s[i] - z0);
    }
}

#ifdef E2E_X86
static e2e_status qmm_run_vnni(e2e_kernel *k, const qmm_priv *p)
{
    const int64_t K = p->K, N = p->N, K4 = p->K4, N16 = p->N16, R = p->rows;
    const uint8_t *a = k->in[p->ia]->data;
    int64_t lda = K;
    if (K % 4) { /* rows padded to whole blocks of 4 */
        uint8_t *ap = (uint8_t *)k->ws + p->ws_apad;
        for (int64_t r = 0; r < R; r++) {
            memcpy(ap + r * 4 * K4, a + r * K, (size_t)K);
            memset(ap + r * 4 * K4 + K, 0, (size_t)(4 * K4 - K));
        }
        a = ap;
        lda = 4 * K4;
    }
    int32_t *acc = (int32_t *)((char *)k->ws + p->ws_vacc);
    int32_t *corr = (int32_t *)((char *)k->ws + p->ws_corr);
    float *mult = (float *)((char *)k->ws + p->ws_mult);
    const int32_t azp = q_zp(k, p->iaz, 0), yzp = q_zp(k, 7, 0);
    const float asc = q_scale(k, 1, 0), ysc = q_scale(k, 6, 0);
    const int32_t *bias = p->fused && k->n_in > 8 && k->in[8] ? k->in[8]->data : NULL;
    for (int64_t n = 0; n < N; n++) {
        corr[n] = (bias ? bias[n] : 0) - azp * p->colsum[n];
        mult[n] = asc * q_scale(k, 4, n) / ysc;
    }
    const e2e_dtype ot = k->out[0]->dtype;
    int32_t lo = (int32_t)q_lo(ot), hi = (int32_t)q_hi(ot);
    if (p->relu && yzp > lo)
        lo = yzp;
    p->qk->rows(R, N16, K4, a, lda, p->bq, acc, N16);
    for (int64_t r = 0; r < R; r++)
        p->qk->requant(N, acc + r * N16, corr, 1, mult, 1, yzp, lo, hi, ot == E2E_INT8,
                               (uint8_t *)k->out[0]->data + r * N);
    return E2E_OK;
}
#endif

static e2e_status qmm_run(e2e_kernel *k)
{
    const qmm_priv *p = k->priv;
#ifdef E2E_X86
    if (p->qk)
        return qmm_run_vnni(k, p);
#endif
    const e2e_value *A = k->in[p->ia], *B = k->in[p->ib];
    const int64_t M = p->M, N = p->N, K = p->K, mk = M * K, kn = K * N, mn = M * N;
    int16_t *a16 = (int16_t *)((char *)k->ws + p->ws_a);
    int16_t *b16 = (int16_t *)((char *)k->ws + p->ws_b);
    int32_t *acc = p->qlinear ? (int32_t *)((char *)k->ws + p->ws_acc) : NULL;
    float ysc = 0.f, asc = 0.f, ylo = 0.f, yhi = 0.f;
    int32_t yzp = 0;
    e2e_dtype ot = k->out[0]->dtype;
    if (p->qlinear) {
        asc = q_scale(k, 1, 0);
        ysc = q_scale(k, 6, 0);
        yzp = q_zp(k, 7, 0);
        ylo = q_lo(ot);
        yhi = q_hi(ot);
        if (p->relu)
            ylo = fmaxf(ylo, (float)yzp);
    }
    const int32_t *bias = p->fused && k->n_in > 8 && k->in[8] ? k->in[8]->data : NULL;
    int64_t idx[E2E_MAX_RANK] = {0};
    int64_t oa = 0, ob = 0;
    for (int64_t t = 0; t < p->batch; t++) {
        for (int64_t m = 0; m < M; m++)
            to_s16(A->data, A->dtype, oa * mk + m * K, K, q_zp(k, p->iaz, m), a16 + m * K);
        for (int64_t kk = 0; kk < K && !p->b16; kk++)
            if (p->nzb == 1)
                to_s16(B->data, B->dtype, ob * kn + kk * N, N, q_zp(k, p->ibz, 0), b16 + kk * N);
            else
                for (int64_t n = 0; n < N; n++)
                    b16[kk * N + n] =
                        (int16_t)(q_load(B->data, B->dtype, ob * kn + kk * N + n) - q_zp(k, p->ibz, n));
        if (!p->qlinear) {
            e2e_qgemm_s16(M, N, K, a16, K, b16, N, (int32_t *)k->out[0]->data + t * mn, N);
        } else {
            e2e_qgemm_s16(M, N, K, a16, K, p->b16 ? p->b16 : b16, N, acc, N);
            void *y = k->out[0]->data;
            for (int64_t n = 0; n < N; n++) {
                const float mlt = asc * q_scale(k, 4, n) / ysc;
                const int32_t b = bias ? bias[n] : 0;
                for (int64_t m = 0; m < M; m++)
                    q_store(y, ot, t * mn + m * N + n,
                            q_round((float)(acc[m * N + n] + b) * mlt, yzp, ylo, yhi));
            }
        }
        for (int d = p->nb - 1; d >= 0; d--) {
            if (++idx[d] < p->bdims[d]) {
                oa += p->sa[d];
                ob += p->sb[d];
                break;
            }
            oa -= p->sa[d] * (p->bdims[d] - 1);
            ob -= p->sb[d] * (p->bdims[d] - 1);
            idx[d] = 0;
        }
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- ConvInteger, QLinearConv */

typedef struct qconv_priv {
    conv_priv g;            /* geometry (e2e_conv_geometry) */
    bool qlinear;
    int ix, iw, ixz, iwz;   /* inputs: x, w, their zero points */
    int ib;                 /* QLinearConv's bias (-1: none) */
    int64_t nzw, nsw;       /* weight zero points / scales: 1 or M */
    int16_t *w16;           /* constant weights minus zero points [M][kdim], or NULL */
    size_t ws_col, ws_w, ws_acc;
    bool fused, relu;       /* folded QDQ pattern (engine/passes/fuse_qdq.c): geometry handed over
                               (the node has no attributes), relu clamps at y_zero_point */
    /* SIMD integer kernels qk (QLinearConv, u8 x, constant s8 w with zero points 0, group 1):
       w8 [M4][4 K4] zero padded and its row sums; per image the unfolded input as u8 rows
       [4 K4][P64] (padding = x_zero_point), packed, multiplied, requantized per channel */
    const e2e_qgemm_kernels *qk;
    int64_t K4, M4, P64;
    int8_t *w8;
    int32_t *wsum;
    size_t ws_rows, ws_colq, ws_vacc, ws_corr, ws_mult;
    /* stride 1, 2-D, OW % 16 == 0: the image padded with its zero point (ws_rows, [C][PH][PW])
       is unfolded and packed in one step; off: tap offsets in it */
    int32_t *off;
    int64_t PH, PW;
    /* ... and with 4 or more input channels, direct: the padded image as channel quads
       (ws_colq), each tap a contiguous 64-byte load (qk->conv_direct); off: the
       taps' byte offsets, K4 = ceil(C/4) KH KW */
    bool direct;
} qconv_priv;

static void qconv_release(void *v)
{
    qconv_priv *p = v;
    if (p) {
        free(p->w16);
        free(p->w8);
        free(p->wsum);
        free(p->off);
    }
    free(p);
}

static void qconv_weights(const e2e_kernel *k, const qconv_priv *p, int16_t *w16)
{
    const e2e_value *W = k->in[p->iw];
    const int64_t kd = p->g.kdim;
    for (int64_t m = 0; m < p->g.M; m++)
        to_s16(W->data, W->dtype, m * kd, kd, q_zp(k, p->iwz, m), w16 + m * kd);
}

static e2e_status qconv_prepare_common(e2e_kernel *k, qconv_priv *p)
{
    e2e_status st;
    if ((st = e2e_check_dtype(k, p->ix, E2E_INT8, E2E_UINT8, E2E_UNDEFINED)) ||
        (st = e2e_check_dtype(k, p->iw, E2E_INT8, E2E_UINT8, E2E_UNDEFINED)))
        return st;
    e2e_shape ys = k->out[0]->shape;
    if (!p->fused && (st = e2e_conv_geometry(k, p->ix, p->iw, p->ib, &p->g, &ys)))
        return st;
    if (p->fused && (!k->in[p->iw]->is_const || k->in[p->iw]->numel != p->g.M * p->g.kdim ||
                     (k->n_in > 8 && k->in[8] && (k->in[8]->numel != p->g.M || !k->in[8]->is_const))))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "not a foldable QDQ convolution");
    int64_t n1;
    if ((st = q_param(k, p->ixz, "x_zero_point", false, 0, &n1)) ||
        (st = q_param(k, p->iwz, "w_zero_point", false, p->g.M, &p->nzw)))
        return st;
    for (int z = 0; z < 2; z++) {
        int zi = z ? p->iwz : p->ixz, oi = z ? p->iw : p->ix;
        if (zi < k->n_in && k->in[zi] && k->in[zi]->dtype != k->in[oi]->dtype)
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d is %s but its zero point is %s", oi,
                             e2e_dtype_name(k->in[oi]->dtype), e2e_dtype_name(k->in[zi]->dtype));
    }
    e2e_dtype ot = E2E_INT32;
    if (p->qlinear) {
        if ((st = q_param(k, 1, "x_scale", true, 0, &n1)) ||
            (st = q_param(k, 4, "w_scale", true, p->g.M, &p->nsw)) ||
            (st = q_param(k, 6, "y_scale", true, 0, &n1)) ||
            (st = q_param(k, 7, "y_zero_point", false, 0, &n1)) ||
            (st = e2e_check_dtype(k, 8, E2E_INT32, E2E_UNDEFINED)))
            return st;
        ot = k->in[7] ? k->in[7]->dtype : k->in[0]->dtype;
        if (ot == E2E_INT32)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "y_zero_point must be int8 or uint8");
    }
    if ((st = e2e_out_set(k, 0, ot, &ys)))
        return st;
    const conv_priv *g = &p->g;
    p->ws_col = 0;
    p->ws_w = q_ws(g->kdim * g->osp * 2);
    p->ws_acc = p->ws_w;
    bool wconst = k->in[p->iw]->is_const && (p->iwz >= k->n_in || !k->in[p->iwz] ||
                                              k->in[p->iwz]->is_const);
    if (!wconst)
        p->ws_acc += q_ws(g->M * g->kdim * 2);
    k->ws_size = p->ws_acc + (p->qlinear ? q_ws(g->Mg * g->osp * 4) : 0);
    const e2e_qgemm_kernels *qk = p->qlinear && wconst ? e2e_qgemm_kernels_for(k->ctx->isa) : NULL;
    if (qk && g->G == 1 &&
        k->in[p->ix]->dtype == E2E_UINT8 && k->in[p->iw]->dtype == E2E_INT8 &&
        zp_all_zero(k, p->iwz) && g->kdim > 0 && g->osp > 0 && g->M > 0) {
        const bool s1 = g->id[0] == 1 && g->kd[0] == 1 && g->st[1] == 1 && g->st[2] == 1 &&
                        g->od[2] % 16 == 0;
        const bool direct = s1 && g->C >= 4;
        const int64_t C4 = (g->C + 3) / 4, KHW = g->kd[1] * g->kd[2];
        const int64_t K4 = direct ? C4 * KHW : (g->kdim + 3) / 4, M4 = (g->M + 3) / 4 * 4,
                      P64 = (g->osp + 63) / 64 * 64;
        qconv_priv *pp = q_alloc_priv(k, p, sizeof *p);
        if (!pp)
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        pp->qk = qk;
        pp->direct = direct;
        pp->K4 = K4;
        pp->M4 = M4;
        pp->P64 = P64;
        pp->ws_rows = 0;
        int64_t colq = 4 * K4 * P64, rows = 4 * K4 * P64;
        if (s1) {
            pp->PH = g->od[1] + (g->kd[1] - 1) * g->dl[1];
            pp->PW = g->od[2] + (g->kd[2] - 1) * g->dl[2];
            rows = g->C * pp->PH * pp->PW;
            if (direct)
                colq = C4 * pp->PH * pp->PW * 4;
            if (!(pp->off = malloc(sizeof(int32_t) * (size_t)(4 * K4))))
                return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
            int64_t t = 0;
            if (direct) /* byte offsets of the taps (channel quad, ky, kx) in the quads */
                for (int64_t cq = 0; cq < C4; cq++)
                    for (int64_t ky = 0; ky < g->kd[1]; ky++)
                        for (int64_t kx = 0; kx < g->kd[2]; kx++)
                            pp->off[t++] = (int32_t)(((cq * pp->PH + ky * g->dl[1]) * pp->PW +
                                                      kx * g->dl[2]) * 4);
            else /* offsets of the taps (c, ky, kx) in the padded image */
                for (int64_t c = 0; c < g->C; c++)
                    for (int64_t ky = 0; ky < g->kd[1]; ky++)
                        for (int64_t kx = 0; kx < g->kd[2]; kx++)
                            pp->off[t++] = (int32_t)((c * pp->PH + ky * g->dl[1]) * pp->PW + kx * g->dl[2]);
            for (; t < 4 * K4; t++)
                pp->off[t] = -1;
        }
        pp->ws_colq = q_ws(rows);
        pp->ws_vacc = pp->ws_colq + q_ws(colq);
        pp->ws_corr = pp->ws_vacc + q_ws(M4 * P64 * 4);
        pp->ws_mult = pp->ws_corr + q_ws(g->M * 4);
        k->ws_size = pp->ws_mult + q_ws(g->M * 4);
        pp->w8 = calloc((size_t)(M4 * 4 * K4), 1);
        pp->wsum = calloc((size_t)g->M, sizeof(int32_t));
        if (!pp->w8 || !pp->wsum)
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        const int8_t *w = k->in[p->iw]->data;
        for (int64_t m = 0; m < g->M; m++)
            for (int64_t kk = 0; kk < g->kdim; kk++) {
                int64_t at = kk;
                if (direct) { /* kk = (c, ky, kx) -> quad tap (c / 4, ky, kx), byte c % 4 */
                    const int64_t c = kk / KHW, tap = kk % KHW;
                    at = ((c / 4) * KHW + tap) * 4 + c % 4;
                }
                pp->w8[m * 4 * K4 + at] = w[m * g->kdim + kk];
                pp->wsum[m] += w[m * g->kdim + kk];
            }
        return E2E_OK;
    }
    qconv_priv *pp = q_alloc_priv(k, p, sizeof *p);
    if (!pp)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    if (wconst) {
        pp->w16 = malloc(sizeof(int16_t) * (size_t)(g->M * g->kdim) + 1);
        if (!pp->w16)
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        qconv_weights(k, pp, pp->w16);
    }
    return E2E_OK;
}

static e2e_status convint_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 4)))
        return st;
    qconv_priv p = {.ix = 0, .iw = 1, .ixz = 2, .iwz = 3, .ib = -1};
    return qconv_prepare_common(k, &p);
}

static e2e_status qlinearconv_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 8, 9)))
        return st;
    qconv_priv p = {.qlinear = true, .ix = 0, .iw = 3, .ixz = 2, .iwz = 5, .ib = 8};
    if (k->priv) { /* handed over by engine/passes/fuse_qdq.c */
        const qconv_priv *h = k->priv;
        p.g = h->g;
        p.fused = true;
        p.relu = h->relu;
        qconv_release(k->priv);
        k->priv = NULL;
    }
    return qconv_prepare_common(k, &p);
}

/* The unfolded input of one image group, minus its zero point: col[kdim][osp], padding 0. */
static void qconv_im2col(const conv_priv *p, const void *x, e2e_dtype dt, int64_t xoff,
                         int32_t zp, int16_t *col)
{
    const int64_t ID = p->id[0], IH = p->id[1], IW = p->id[2];
    const int64_t OD = p->od[0], OH = p->od[1], OW = p->od[2];
    int16_t *d = col;
    for (int64_t c = 0; c < p->Cg; c++)
        for (int64_t a = 0; a < p->kd[0]; a++)
            for (int64_t b = 0; b < p->kd[1]; b++)
                for (int64_t e = 0; e < p->kd[2]; e++)
                    for (int64_t oz = 0; oz < OD; oz++) {
                        const int64_t iz = oz * p->st[0] + a * p->dl[0] - p->pb[0];
                        for (int64_t oy = 0; oy < OH; oy++) {
                            const int64_t iy = oy * p->st[1] + b * p->dl[1] - p->pb[1];
                            const bool rowin = iz >= 0 && iz < ID && iy >= 0 && iy < IH;
                            const int64_t base = xoff + c * p->isp + (iz * IH + iy) * IW;
                            for (int64_t ox = 0; ox < OW; ox++) {
                                const int64_t ix = ox * p->st[2] + e * p->dl[2] - p->pb[2];
                                *d++ = rowin && ix >= 0 && ix < IW
                                           ? (int16_t)(q_load(x, dt, base + ix) - zp)
                                           : 0;
                            }
                        }
                    }
}

#ifdef E2E_X86
/* pixels per chunk of the one-step unfold (a multiple of 64) */
#define QCONV_CHUNK 256

/* The unfolded input of one image as u8 rows [4 K4][P64]: padding and the pixels past osp are
   the zero point, the rows past kdim zeros (their weights are 0). */
static void qconv_rows_u8(const qconv_priv *q, const uint8_t *x, uint8_t zp, uint8_t *rows)
{
    const conv_priv *p = &q->g;
    const int64_t ID = p->id[0], IH = p->id[1], IW = p->id[2];
    const int64_t OD = p->od[0], OH = p->od[1], OW = p->od[2], P64 = q->P64;
    int64_t k = 0;
    for (int64_t c = 0; c < p->Cg; c++)
        for (int64_t a = 0; a < p->kd[0]; a++)
            for (int64_t b = 0; b < p->kd[1]; b++)
                for (int64_t e = 0; e < p->kd[2]; e++, k++) {
                    uint8_t *d = rows + k * P64;
                    const int64_t ix0 = e * p->dl[2] - p->pb[2], sx = p->st[2];
                    /* outputs ox with 0 <= ox*sx + ix0 < IW: [lo, hi) */
                    int64_t lo = ix0 >= 0 ? 0 : (-ix0 + sx - 1) / sx;
                    int64_t hi = IW - ix0 <= 0 ? 0 : (IW - ix0 - 1) / sx + 1;
                    if (hi > OW)
                        hi = OW;
                    if (lo > hi)
                        lo = hi;
                    for (int64_t oz = 0; oz < OD; oz++) {
                        const int64_t iz = oz * p->st[0] + a * p->dl[0] - p->pb[0];
                        for (int64_t oy = 0; oy < OH; oy++, d += OW) {
                            const int64_t iy = oy * p->st[1] + b * p->dl[1] - p->pb[1];
                            if (iz < 0 || iz >= ID || iy < 0 || iy >= IH) {
                                memset(d, zp, (size_t)OW);
                                continue;
                            }
                            const uint8_t *s = x + c * p->isp + (iz * IH + iy) * IW + ix0;
                            memset(d, zp, (size_t)lo);
                            if (sx == 1)
                                memcpy(d + lo, s + lo, (size_t)(hi - lo));
                            else
                                for (int64_t ox = lo; ox < hi; ox++)
                                    d[ox] = s[ox * sx];
                            memset(d + hi, zp, (size_t)(OW - hi));
                        }
                    }
                    memset(rows + k * P64 + p->osp, zp, (size_t)(P64 - p->osp));
                }
    memset(rows + k * P64, 0, (size_t)((4 * q->K4 - k) * P64));
}

static e2e_status qconv_run_vnni(e2e_kernel *k, const qconv_priv *p)
{
    const conv_priv *g = &p->g;
    uint8_t *rows = (uint8_t *)k->ws + p->ws_rows, *colq = (uint8_t *)k->ws + p->ws_colq;
    int32_t *acc = (int32_t *)((char *)k->ws + p->ws_vacc);
    int32_t *corr = (int32_t *)((char *)k->ws + p->ws_corr);
    float *mult = (float *)((char *)k->ws + p->ws_mult);
    const int32_t xzp = q_zp(k, p->ixz, 0), yzp = q_zp(k, 7, 0);
    const float xs = q_scale(k, 1, 0), ys = q_scale(k, 6, 0);
    const int32_t *bias = k->n_in > 8 && k->in[8] ? k->in[8]->data : NULL;
    for (int64_t m = 0; m < g->M; m++) {
        corr[m] = (bias ? bias[m] : 0) - xzp * p->wsum[m];
        mult[m] = xs * q_scale(k, 4, m) / ys;
    }
    const e2e_dtype ot = k->out[0]->dtype;
    int32_t lo = (int32_t)q_lo(ot), hi = (int32_t)q_hi(ot);
    if (p->relu && yzp > lo)
        lo = yzp;
    const uint8_t *x = k->in[p->ix]->data;
    uint8_t *y = k->out[0]->data;
    for (int64_t n = 0; n < g->N; n++) {
        if (p->off) { /* pad with the zero point, then unfold and pack together */
            const int64_t IH = g->id[1], IW = g->id[2], PH = p->PH, PW = p->PW;
            const int64_t pt = g->pb[1], pl = g->pb[2];
            const int64_t c0 = pl < PW ? pl : PW, nc = IW < PW - c0 ? IW : PW - c0;
            for (int64_t c = 0; c < g->C; c++)
                for (int64_t r = 0; r < PH; r++) {
                    uint8_t *d = rows + (c * PH + r) * PW;
                    const int64_t iy = r - pt;
                    if (iy < 0 || iy >= IH) {
                        memset(d, xzp, (size_t)PW);
                        continue;
                    }
                    memset(d, xzp, (size_t)c0);
                    memcpy(d + c0, x + (n * g->C + c) * g->isp + iy * IW, (size_t)nc);
                    memset(d + c0 + nc, xzp, (size_t)(PW - c0 - nc));
                }
            /* chunks of QCONV_CHUNK pixels: packed columns and sums stay in L1/L2 */
            const int64_t ch = p->P64 < QCONV_CHUNK ? p->P64 : QCONV_CHUNK; /* fits the workspace */
            if (p->direct) {
                e2e_qgemm_vnni_quads(g->C, PH * PW, rows, (uint8_t)xzp, colq);
                for (int64_t p0 = 0; p0 < p->P64; p0 += ch) {
                    const int64_t np = p->P64 - p0 < ch ? p->P64 - p0 : ch;
                    p->qk->conv_direct(p->M4, p0 / 16, (p0 + np) / 16, g->osp / 16, p->K4,
                                               p->w8, p->off, colq, g->od[2], PW, acc, ch);
                    const int64_t cnt = g->osp - p0 < np ? g->osp - p0 : np;
                    for (int64_t m = 0; m < g->M && cnt > 0; m++)
                        p->qk->requant(cnt, acc + m * ch, corr + m, 0, mult + m, 0, yzp, lo,
                                               hi, ot == E2E_INT8, y + (n * g->M + m) * g->osp + p0);
                }
                continue;
            }
            for (int64_t p0 = 0; p0 < p->P64; p0 += ch) {
                const int64_t np = p->P64 - p0 < ch ? p->P64 - p0 : ch;
                e2e_qgemm_vnni_pack_conv(p->K4, p0 / 16, (p0 + np) / 16, g->osp, g->od[2], PW, p->off,
                                         rows, colq);
                p->qk->conv(p->M4, np, p->K4, p->w8, colq, acc, ch);
                const int64_t cnt = g->osp - p0 < np ? g->osp - p0 : np;
                for (int64_t m = 0; m < g->M && cnt > 0; m++)
                    p->qk->requant(cnt, acc + m * ch, corr + m, 0, mult + m, 0, yzp,
                                           lo, hi, ot == E2E_INT8, y + (n * g->M + m) * g->osp + p0);
            }
            continue;
        }
        qconv_rows_u8(p, x + n * g->C * g->isp, (uint8_t)xzp, rows);
        e2e_qgemm_vnni_pack_cols(p->K4, p->P64, rows, colq);
        p->qk->conv(p->M4, p->P64, p->K4, p->w8, colq, acc, p->P64);
        for (int64_t m = 0; m < g->M; m++)
            p->qk->requant(g->osp, acc + m * p->P64, corr + m, 0, mult + m, 0, yzp, lo, hi,
                                   ot == E2E_INT8, y + (n * g->M + m) * g->osp);
    }
    return E2E_OK;
}
#endif

static e2e_status qconv_run(e2e_kernel *k)
{
    const qconv_priv *p = k->priv;
#ifdef E2E_X86
    if (p->qk)
        return qconv_run_vnni(k, p);
#endif
    const conv_priv *g = &p->g;
    const e2e_value *X = k->in[p->ix];
    int16_t *col = (int16_t *)((char *)k->ws + p->ws_col);
    int16_t *w16 = p->w16;
    if (!w16) {
        w16 = (int16_t *)((char *)k->ws + p->ws_w);
        qconv_weights(k, p, w16);
    }
    int32_t *acc = (int32_t *)((char *)k->ws + p->ws_acc);
    const int32_t xzp = q_zp(k, p->ixz, 0);
    const e2e_dtype ot = k->out[0]->dtype;
    float xs = 0.f, ys = 0.f, lo = 0.f, hi = 0.f;
    int32_t yzp = 0;
    const int32_t *bias = NULL;
    if (p->qlinear) {
        xs = q_scale(k, 1, 0);
        ys = q_scale(k, 6, 0);
        yzp = q_zp(k, 7, 0);
        lo = q_lo(ot);
        hi = q_hi(ot);
        if (p->relu)
            lo = fmaxf(lo, (float)yzp);
        if (k->n_in > 8 && k->in[8])
            bias = k->in[8]->data;
    }
    const int64_t osp = g->osp;
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t gi = 0; gi < g->G; gi++) {
            qconv_im2col(g, X->data, X->dtype, (n * g->C + gi * g->Cg) * g->isp, xzp, col);
            const int64_t m0 = gi * g->Mg, yoff = (n * g->M + m0) * osp;
            if (!p->qlinear) {
                e2e_qgemm_s16(g->Mg, osp, g->kdim, w16 + m0 * g->kdim, g->kdim, col, osp,
                              (int32_t *)k->out[0]->data + yoff, osp);
                continue;
            }
            e2e_qgemm_s16(g->Mg, osp, g->kdim, w16 + m0 * g->kdim, g->kdim, col, osp, acc, osp);
            for (int64_t m = 0; m < g->Mg; m++) {
                const float mlt = xs * q_scale(k, 4, m0 + m) / ys;
                const int32_t b = bias ? bias[m0 + m] : 0;
                for (int64_t i = 0; i < osp; i++)
                    q_store(k->out[0]->data, ot, yoff + m * osp + i,
                            q_round((float)(acc[m * osp + i] + b) * mlt, yzp, lo, hi));
            }
        }
    return E2E_OK;
}

/* ---------------------------------------------------------------- QMaxPool2x2 */

/* MaxPool 2x2, stride 2, no padding, on int8/uint8 [N][C][H][W] (floor): what
   DequantizeLinear -> MaxPool -> QuantizeLinear with one scale and zero point computes, made
   by engine/passes/fuse_qdq.c. Attribute flatten = a (>= 0): the output is Flatten(axis a) of
   the pooled tensor (the same bytes; a Flatten between the MaxPool and the QuantizeLinear). */
static e2e_status qmaxpool_prepare(e2e_kernel *k)
{
    e2e_status st;
    int64_t fa;
    if ((st = e2e_check_inputs(k, 1, 1)) || (st = e2e_check_dtype(k, 0, E2E_INT8, E2E_UINT8, E2E_UNDEFINED)) ||
        (st = e2e_attr_int(k, "flatten", -1, &fa)))
        return st;
    const e2e_shape *xs = &k->in[0]->shape;
    if (xs->rank != 4 || xs->dims[2] < 2 || xs->dims[3] < 2 || fa > 4)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "a 2x2 pooling of [N, C, H, W] with H, W >= 2 is wanted");
    e2e_shape ys = *xs;
    ys.dims[2] /= 2;
    ys.dims[3] /= 2;
    if (fa >= 0) {
        int64_t a = 1, b = 1;
        for (int d = 0; d < 4; d++)
            *(d < fa ? &a : &b) *= ys.dims[d];
        ys.rank = 2;
        ys.dims[0] = a;
        ys.dims[1] = b;
    }
    /* the SIMD set's row function (every set has one); NULL: the loops below */
    k->priv = (void *)e2e_qgemm_kernels_for(k->ctx->isa);
    return e2e_out_set(k, 0, k->in[0]->dtype, &ys);
}

static e2e_status qmaxpool_run(e2e_kernel *k)
{
    const e2e_shape *xs = &k->in[0]->shape;
    const int64_t planes = xs->dims[0] * xs->dims[1], H = xs->dims[2], W = xs->dims[3];
    const int64_t OH = H / 2, OW = W / 2;
    const bool s8 = k->in[0]->dtype == E2E_INT8;
    const e2e_qgemm_kernels *qk = k->priv;
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t oy = 0; oy < OH; oy++) {
            const int64_t r0 = (pl * H + 2 * oy) * W, o = (pl * OH + oy) * OW;
            if (qk) {
                const uint8_t *a = (const uint8_t *)k->in[0]->data + r0;
                qk->maxpool_row(OW, a, a + W, s8, (uint8_t *)k->out[0]->data + o);
            } else if (s8) {
                const int8_t *a = (const int8_t *)k->in[0]->data + r0, *b = a + W;
                int8_t *y = (int8_t *)k->out[0]->data + o;
                for (int64_t x = 0; x < OW; x++) {
                    int8_t m0 = a[2 * x] > a[2 * x + 1] ? a[2 * x] : a[2 * x + 1];
                    int8_t m1 = b[2 * x] > b[2 * x + 1] ? b[2 * x] : b[2 * x + 1];
                    y[x] = m0 > m1 ? m0 : m1;
                }
            } else {
                const uint8_t *a = (const uint8_t *)k->in[0]->data + r0, *b = a + W;
                uint8_t *y = (uint8_t *)k->out[0]->data + o;
                for (int64_t x = 0; x < OW; x++) {
                    uint8_t m0 = a[2 * x] > a[2 * x + 1] ? a[2 * x] : a[2 * x + 1];
                    uint8_t m1 = b[2 * x] > b[2 * x + 1] ? b[2 * x] : b[2 * x + 1];
                    y[x] = m0 > m1 ? m0 : m1;
                }
            }
        }
    return E2E_OK;
}

const e2e_op_def e2e_op_qmaxpool2x2 = {"QMaxPool2x2", qmaxpool_prepare, qmaxpool_run, NULL, 0};

void *e2e_qlinearconv_handover(const conv_priv *g, bool relu)
{
    qconv_priv *p = calloc(1, sizeof *p);
    if (p) {
        p->g = *g;
        p->g.ck = NULL; /* the Conv's own buffers stay the Conv's */
        p->g.wp = p->g.bias = NULL;
        p->g.off = NULL;
        p->relu = relu;
    }
    return p;
}

void *e2e_qlinearmatmul_handover(bool transb, bool relu)
{
    qmm_priv *p = calloc(1, sizeof *p);
    if (p) {
        p->transb = transb;
        p->relu = relu;
    }
    return p;
}

const e2e_op_def e2e_ops_quant[] = {
    {"QuantizeLinear", quantize_prepare, quantize_run, free, 0},
    {"DequantizeLinear", dequantize_prepare, dequantize_run, free, 0},
    {"DynamicQuantizeLinear", dynq_prepare, dynq_run, NULL, 0},
    {"MatMulInteger", matmulint_prepare, qmm_run, qmm_release, 0},
    {"QLinearMatMul", qlinearmm_prepare, qmm_run, qmm_release, 0},
    {"ConvInteger", convint_prepare, qconv_run, qconv_release, 0},
    {"QLinearConv", qlinearconv_prepare, qconv_run, qconv_release, 0},
    {NULL, NULL, NULL, NULL, 0},
};
