/* Gemm and MatMul on OpenBLAS sgemm (float32).

   Gemm:   Y = alpha * op(A) * op(B) + beta * C, C unidirectionally broadcast to [M, N].
           C is written into Y first (scaled by beta), then the product accumulates onto it.
           Products are chosen at prepare: up to 4 rows of A (a Linear layer at batch 1-4)
           or fewer than 16 columns stream op(B) once with dot products over its rows
           (e2e_gemm_nt_rows; a constant B with transB = 0 is transposed at prepare);
           a constant B with more rows of A is packed at prepare for the mm_packed.c kernels
           (a bias C of shape [N] and the activation go into their epilogue); anything
           else (transA, B computed at run time) is an sgemm.
   MatMul: numpy semantics. 1-D operands are promoted (and the promoted dim dropped from the
           output); batch dims broadcast. When B carries no batch (all its batch dims are 1),
           the whole batched A is one (batch*M) x K matrix and one sgemm does the work;
           otherwise one sgemm per output batch, the operands found through broadcast strides.
   Both honour the fused activation k->act after the product.
   With e2e_session_options.precision = BF16 a constant B (Gemm without transA; MatMul without
   batch in B) of at least 16 x 16 (e2e_bf16_worth) is packed in bfloat16 instead and the product runs on the
   mm_bf16.c kernels (ops/mm_bf16.h), with C, bias, residual and activation in their epilogue. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "ops/blas.h"
#include "ops/cpu_isa.h"
#include "ops/mm_bf16.h"
#include "ops/mm_packed.h"
#include "ops/op.h"
#include "core/pack_cache.h"

/* ---------------------------------------------------------------- Gemm */

/* bfloat16 weights (--precision bf16). In an any_batch session M is the batch, so the method
   may not depend on it (a row's result would depend on its batch): only the widen tiles,
   which keep A in float32 and sum each output in one order, and no dot tiles (which round A
   to bfloat16), whatever M is (e2e_bf16_run's fixed_order). */
static bool bf16_worth(const e2e_kernel *k, int64_t M, int64_t K, int64_t N)
{
    if (k->ctx->any_batch)
        return N >= 16 && K >= 16;
    return e2e_bf16_worth(e2e_bf16_kernels_for(k->ctx->isa), M, K, N);
}

typedef struct gemm_priv {
    int M, N, K;
    bool ta, tb;
    float alpha, beta;
    bool has_c;
    int64_t c_sm, c_sn; /* element strides of C seen as [M, N]; 0 on broadcast dims */
    bool rows;          /* few rows of A: dot products over the rows of op(B) (blas.c) */
    float *bt;          /* op(B) as N x K rows when B is constant and not transposed, or NULL */
    float *packed;      /* constant op(B) packed for mm_packed.c (more rows of A), or NULL */
    uint16_t *bf;       /* constant op(B) packed in bfloat16 (precision BF16), or NULL */
    const e2e_bf16_kernels *bk; /* bf's kernels */
    bool shared;        /* packed (or bf) belongs to the model's pack cache */
    bool c_bias;        /* C is a row vector [N] (or [1, N]) added with beta = 1: the epilogue's bias */
} gemm_priv;

/* A product with at most this many rows of A (a small batch through a Linear layer) streams
   op(B) once with dot products instead of packing it for sgemm. */
#define GEMM_ROWS_MAX 4

/* The layout of e2e_mm_pack (mm_packed.h: panel q holds op(B)[k][q*NR + j] at
   P[(q*K + k)*NR + j], zero past N) from B given as N x K rows (transB = 1), transposed in
   64 x NR blocks so reads and writes both stay in cache (a 16 MB weight packs in a few ms). */
static void gemm_pack_bt(int NR, const float *B, int K, int N, float *P)
{
    for (int n0 = 0; n0 < N; n0 += NR) {
        float *panel = P + (size_t)(n0 / NR) * (size_t)K * NR;
        int nn = N - n0 < NR ? N - n0 : NR;
        for (int k0 = 0; k0 < K; k0 += 64) {
            int kk = K - k0 < 64 ? K - k0 : 64;
            for (int j = 0; j < NR; j++) {
                float *d = panel + (size_t)k0 * NR + j;
                if (j >= nn) {
                    for (int t = 0; t < kk; t++)
                        d[(size_t)t * NR] = 0.f;
                    continue;
                }
                const float *src = B + (size_t)(n0 + j) * K + k0;
                for (int t = 0; t < kk; t++)
                    d[(size_t)t * NR] = src[t];
            }
        }
    }
}

/* Packing for Gemm: a transposed B (N x K rows) through the blocked transpose above. */
static void gemm_pack_with(const e2e_mm_kernels *mk, const float *B, int64_t sk, int64_t sn,
                           int K, int N, float *P)
{
    if (sk == 1 && sn == K)
        gemm_pack_bt(mk->nr, B, K, N, P);
    else
        mk->pack(B, sk, sn, K, N, P);
}

/* The e2e_pack_fn of each instruction set's kernels (the pack cache keys on the function). */
static void gemm_pack_generic(const float *B, int64_t sk, int64_t sn, int K, int N, float *P)
{
    gemm_pack_with(&e2e_mm_generic, B, sk, sn, K, N, P);
}
#ifdef E2E_X86
static void gemm_pack_avx2(const float *B, int64_t sk, int64_t sn, int K, int N, float *P)
{
    gemm_pack_with(&e2e_mm_avx2, B, sk, sn, K, N, P);
}
static void gemm_pack_avx512(const float *B, int64_t sk, int64_t sn, int K, int N, float *P)
{
    gemm_pack_with(&e2e_mm_avx512, B, sk, sn, K, N, P);
}
#endif

static e2e_pack_fn gemm_pack_for(const e2e_mm_kernels *mk)
{
#ifdef E2E_X86
    if (mk == &e2e_mm_avx512)
        return gemm_pack_avx512;
    if (mk == &e2e_mm_avx2)
        return gemm_pack_avx2;
#endif
    (void)mk;
    return gemm_pack_generic;
}

static void gemm_release(void *priv)
{
    gemm_priv *p = priv;
    if (p) {
        e2e_aligned_free(p->bt);
        e2e_mm_pack_release(p->packed, p->shared);
        e2e_mm_pack_release((float *)p->bf, p->shared);
    }
    free(p);
}

static e2e_status gemm_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 3)))
        return st;
    for (int i = 0; i < 3; i++)
        if ((st = e2e_check_dtype(k, i, E2E_FLOAT, E2E_UNDEFINED)))
            return st;
    int64_t ta, tb;
    float alpha, beta;
    if ((st = e2e_attr_int(k, "transA", 0, &ta)) || (st = e2e_attr_int(k, "transB", 0, &tb)) ||
        (st = e2e_attr_float(k, "alpha", 1.f, &alpha)) || (st = e2e_attr_float(k, "beta", 1.f, &beta)))
        return st;
    const e2e_shape *a = &k->in[0]->shape, *b = &k->in[1]->shape;
    char s1[160], s2[160];
    if (a->rank != 2 || b->rank != 2)
        return e2e_kfail(k, E2E_ERR_SHAPE, "A (%s) and B (%s) must both be 2-D",
                         e2e_shape_str(a, s1, sizeof s1), e2e_shape_str(b, s2, sizeof s2));
    int64_t M = ta ? a->dims[1] : a->dims[0], KA = ta ? a->dims[0] : a->dims[1];
    int64_t KB = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (KA != KB)
        return e2e_kfail(k, E2E_ERR_SHAPE,
                         "inner dimensions differ: A is %s (transA=%d), B is %s (transB=%d): %lld != %lld",
                         e2e_shape_str(a, s1, sizeof s1), (int)ta, e2e_shape_str(b, s2, sizeof s2),
                         (int)tb, (long long)KA, (long long)KB);
    if (M > INT32_MAX || N > INT32_MAX || KA > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "matrix dimensions exceed the BLAS int range");
    e2e_shape ys = {.rank = 2, .dims = {M, N}};
    gemm_priv p = {.M = (int)M, .N = (int)N, .K = (int)KA, .ta = ta != 0, .tb = tb != 0,
                   .alpha = alpha, .beta = beta};
    const e2e_value *c = k->n_in > 2 ? k->in[2] : NULL;
    if (c) {
        const e2e_shape *cs = &c->shape;
        bool ok = cs->rank <= 2;
        for (int i = 0; ok && i < cs->rank; i++) {
            int64_t want = ys.dims[i + 2 - cs->rank];
            ok = cs->dims[i] == 1 || cs->dims[i] == want;
        }
        if (!ok)
            return e2e_kfail(k, E2E_ERR_SHAPE, "C (%s) does not broadcast to the output %s",
                             e2e_shape_str(cs, s1, sizeof s1), e2e_shape_str(&ys, s2, sizeof s2));
        int64_t str[2];
        e2e_broadcast_strides(cs, &ys, str);
        p.has_c = true;
        p.c_sm = str[0];
        p.c_sn = str[1];
    }
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, &ys)))
        return st;
    if (k->ctx->precision == E2E_PRECISION_BF16 && !p.ta && k->in[1]->is_const && k->in[1]->data &&
        bf16_worth(k, p.M, p.K, p.N)) {
        p.bk = e2e_bf16_kernels_for(k->ctx->isa);
        p.bf = e2e_bf16_pack_const(k, k->in[1], p.tb ? 1 : p.N, p.tb ? p.K : 1, p.K, p.N, &p.shared);
        if (!p.bf)
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        p.c_bias = p.has_c && p.beta == 1.f && p.c_sm == 0 && p.c_sn == 1;
        k->ws_size = e2e_bf16_ws_bytes(p.bk, p.M, p.K, p.N);
    }
    /* few rows: not in an any_batch session, where M is the batch and each batch size would
       otherwise sum in its own order (a tagger's score would depend on its event's slots) */
    p.rows = !p.bf && !p.ta && ((p.M <= GEMM_ROWS_MAX && !k->ctx->any_batch) || p.N < 16) &&
             (p.tb || k->in[1]->is_const);
    if (p.rows && !p.tb && (int64_t)p.N * p.K > 0) {
        /* B is K x N: keep its transpose so each output is one contiguous dot product;
           64-byte aligned, as the row kernels' summation order follows W's alignment (from
           malloc the bits would depend on the heap's layout) */
        p.bt = e2e_aligned_alloc_uninit(sizeof(float) * (size_t)p.N * (size_t)p.K);
        if (!p.bt)
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        const float *B = k->in[1]->data;
        for (int64_t kk = 0; kk < p.K; kk++)
            for (int64_t n = 0; n < p.N; n++)
                p.bt[n * p.K + kk] = B[kk * p.N + n];
    }
    if (!p.bf && !p.rows && !p.ta && k->in[1]->is_const && p.N >= 16 && p.K > 0 && p.M > 0) {
        /* pack op(B) once; sgemm would repack it at every run */
        p.packed = e2e_mm_pack_const(k, k->in[1], p.tb ? 1 : p.N, p.tb ? p.K : 1, p.K, p.N,
                                     gemm_pack_for(e2e_mm_kernels_for(k->ctx->isa)), &p.shared);
        if (!p.packed)
            return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
        p.c_bias = p.has_c && p.beta == 1.f && p.c_sm == 0 && p.c_sn == 1;
    }
    gemm_priv *pp = malloc(sizeof *pp);
    if (!pp) {
        e2e_aligned_free(p.bt);
        e2e_mm_pack_release(p.packed, p.shared);
        e2e_mm_pack_release((float *)p.bf, p.shared);
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    }
    *pp = p;
    k->priv = pp;
    return E2E_OK;
}

static e2e_status gemm_run(e2e_kernel *k)
{
    const gemm_priv *p = k->priv;
    const float *A = k->in[0]->data, *B = k->in[1]->data;
    float *Y = k->out[0]->data;
    int M = p->M, N = p->N, K = p->K;
    float beta = 0.f;
    if ((p->packed || p->bf) && p->c_bias) {
        e2e_mm_epi e = {.scale = p->alpha, .bias = k->in[2]->data, .act = k->act,
                        .act_alpha = k->act_alpha, .act_beta = k->act_beta};
        if (p->bf)
            e2e_bf16_run(p->bk, k->ctx->pool, M, N, K, A, K, p->bf, Y, N, &e, k->ws, k->ctx->any_batch);
        else
            e2e_mm_run_pool(e2e_mm_kernels_for(k->ctx->isa), k->ctx->pool, M, N, K, A, K, p->packed, Y, N, &e);
        return E2E_OK;
    }
    if (p->has_c && p->beta != 0.f) {
        const float *C = k->in[2]->data;
        for (int i = 0; i < M; i++) {
            float *y = Y + (int64_t)i * N;
            const float *c = C + i * p->c_sm;
            if (p->c_sn)
                for (int j = 0; j < N; j++)
                    y[j] = p->beta * c[j];
            else
                for (int j = 0; j < N; j++)
                    y[j] = p->beta * c[0];
        }
        beta = 1.f;
    }
    if (p->bf) {
        /* Y holds beta * C when C is not the bias: the product adds to it as a residual */
        e2e_mm_epi e = {.scale = p->alpha, .res = beta != 0.f ? Y : NULL, .ldr = N, .act = k->act,
                        .act_alpha = k->act_alpha, .act_beta = k->act_beta};
        e2e_bf16_run(p->bk, k->ctx->pool, M, N, K, A, K, p->bf, Y, N, &e, k->ws, k->ctx->any_batch);
        return E2E_OK;
    }
    if (M > 0 && N > 0) {
        if (K > 0 && p->rows)
            e2e_gemm_nt_rows(k->ctx->isa, k->ctx->pool, M, N, K, p->alpha, A, K, p->tb ? B : p->bt, K, beta, Y, N);
        else if (p->packed && beta == 0.f) {
            e2e_mm_epi e = {.scale = p->alpha};
            e2e_mm_run_pool(e2e_mm_kernels_for(k->ctx->isa), k->ctx->pool, M, N, K, A, K, p->packed, Y, N, &e);
        } else if (p->packed) {
            /* Y holds beta * C: add the product through the epilogue's residual */
            e2e_mm_epi e = {.scale = p->alpha, .res = Y, .ldr = N};
            e2e_mm_run_pool(e2e_mm_kernels_for(k->ctx->isa), k->ctx->pool, M, N, K, A, K, p->packed, Y, N, &e);
        }
        else if (K > 0)
            e2e_sgemm(k->ctx->pool, p->ta ? CblasTrans : CblasNoTrans,
                        p->tb ? CblasTrans : CblasNoTrans, M, N, K, p->alpha, A, p->ta ? M : K, B,
                        p->tb ? K : N, beta, Y, N);
        else if (beta == 0.f)
            memset(Y, 0, sizeof(float) * (size_t)M * (size_t)N);
    }
    e2e_act_apply(k->act, k->act_alpha, k->act_beta, Y, (int64_t)M * N);
    return E2E_OK;
}

/* ---------------------------------------------------------------- MatMul */

/* MatMul by a constant B without batch (the Linear layers of a transformer): B is packed once
   at prepare and the product runs on the packed-B kernels of mm_packed.c, which also apply
   the epilogue fused by engine/passes/fuse_bias.c: in[2] = bias [N] (MatMul + Add), in[3] = residual
   shaped like the output (+ Add), and the activation k->act. Other MatMuls use sgemm and
   apply the same epilogue afterwards. */

typedef struct matmul_priv {
    int M, N, K;
    int64_t batch;         /* output batch count (1 with the single-sgemm path) */
    int nb;                /* batch rank of the output */
    int64_t bdims[E2E_MAX_RANK];
    int64_t sa[E2E_MAX_RANK], sb[E2E_MAX_RANK]; /* batch strides in matrices; 0 = broadcast */
    float *packed;         /* B packed for the mm_packed kernels, or NULL */
    uint16_t *bf;          /* B packed in bfloat16 (precision BF16), or NULL */
    const e2e_bf16_kernels *bk;
    bool shared;           /* packed (or bf) belongs to the model's pack cache */
} matmul_priv;

static void matmul_release(void *v)
{
    matmul_priv *p = v;
    if (p) {
        e2e_mm_pack_release(p->packed, p->shared);
        e2e_mm_pack_release((float *)p->bf, p->shared);
    }
    free(p);
}

static e2e_status matmul_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 2)) || (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_UNDEFINED)) ||
        (st = e2e_check_dtype(k, 1, E2E_FLOAT, E2E_UNDEFINED)))
        return st;
    e2e_matmul_shape sh;
    if ((st = e2e_matmul_shape_of(k, &k->in[0]->shape, &k->in[1]->shape, &sh)))
        return st;
    const int64_t M = sh.M, K = sh.K, N = sh.N;
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "matrix dimensions exceed the BLAS int range");
    const e2e_shape ab = sh.ab, bb = sh.bb, ob = sh.ob, ys = sh.ys;
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, &ys)))
        return st;

    matmul_priv p = {.M = (int)M, .N = (int)N, .K = (int)K, .nb = ob.rank};
    int64_t na = e2e_shape_numel(&ab), nbb = e2e_shape_numel(&bb), no = e2e_shape_numel(&ob);
    if (nbb == 1 && na == no && (int64_t)M * na <= INT32_MAX) {
        /* B has no batch: A is one (batch*M) x K matrix */
        p.M = (int)(M * na);
        p.batch = 1;
        p.nb = 0;
        /* a constant B (weights) is packed once; narrow products stay on sgemv/sgemm */
        if (k->ctx->precision == E2E_PRECISION_BF16 && k->in[1]->is_const && k->in[1]->data &&
            bf16_worth(k, p.M, K, N)) {
            p.bk = e2e_bf16_kernels_for(k->ctx->isa);
            p.bf = e2e_bf16_pack_const(k, k->in[1], N, 1, (int)K, (int)N, &p.shared);
            if (!p.bf)
                return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory packing B");
            k->ws_size = e2e_bf16_ws_bytes(p.bk, p.M, K, N);
        } else if (k->in[1]->is_const && N >= 16 && K > 0 && k->in[1]->data) {
            p.packed = e2e_mm_pack_const(k, k->in[1], N, 1, (int)K, (int)N,
                                         e2e_mm_kernels_for(k->ctx->isa)->pack, &p.shared);
            if (!p.packed)
                return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory packing B");
        }
    } else {
        p.batch = no;
        memcpy(p.bdims, ob.dims, sizeof(int64_t) * (size_t)ob.rank);
        e2e_broadcast_strides(&ab, &ob, p.sa);
        e2e_broadcast_strides(&bb, &ob, p.sb);
    }
    matmul_priv *pp = malloc(sizeof *pp);
    if (!pp) {
        e2e_mm_pack_release(p.packed, p.shared);
        e2e_mm_pack_release((float *)p.bf, p.shared);
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    }
    *pp = p;
    k->priv = pp;
    return E2E_OK;
}

static e2e_status matmul_run(e2e_kernel *k)
{
    const matmul_priv *p = k->priv;
    const float *A = k->in[0]->data, *B = k->in[1]->data;
    float *Y = k->out[0]->data;
    const int M = p->M, N = p->N, K = p->K;
    const int64_t mk = (int64_t)M * K, kn = (int64_t)K * N, mn = (int64_t)M * N;
    e2e_mm_epi e = {.scale = 1.f, .ldr = N, .act = k->act, .act_alpha = k->act_alpha,
                    .act_beta = k->act_beta};
    if (k->n_in > 2 && k->in[2])
        e.bias = k->in[2]->data; /* fused Add: [N] */
    if (k->n_in > 3 && k->in[3])
        e.res = k->in[3]->data;  /* fused residual Add: shaped like Y */
    if (mn == 0 || p->batch == 0)
        return E2E_OK;
    if (p->packed) {
        e2e_mm_run_pool(e2e_mm_kernels_for(k->ctx->isa), k->ctx->pool, M, N, K, A, K, p->packed, Y, N, &e);
        return E2E_OK;
    }
    if (p->bf) {
        e2e_bf16_run(p->bk, k->ctx->pool, M, N, K, A, K, p->bf, Y, N, &e, k->ws, k->ctx->any_batch);
        return E2E_OK;
    }
    if (K == 0) {
        memset(Y, 0, sizeof(float) * (size_t)(mn * p->batch));
    } else if (p->batch == 1 && p->nb == 0) {
        e2e_sgemm(k->ctx->pool, CblasNoTrans, CblasNoTrans, M, N, K, 1.f, A, K, B, N, 0.f, Y, N);
    } else {
        int64_t idx[E2E_MAX_RANK] = {0};
        int64_t oa = 0, ob = 0;
        for (int64_t t = 0; t < p->batch; t++) {
            if (M == 1)
                cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1.f, B + ob * kn, N, A + oa * mk, 1,
                            0.f, Y + t * mn, 1);
            else
                e2e_sgemm(k->ctx->pool, CblasNoTrans, CblasNoTrans, M, N, K, 1.f, A + oa * mk, K,
                            B + ob * kn, N, 0.f, Y + t * mn, N);
            /* advance the batch index (odometer) and the operand offsets */
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
    }
    e2e_mm_epilogue((int)(mn * p->batch / N), N, Y, N, &e);
    return E2E_OK;
}

const e2e_op_def e2e_ops_gemm[] = {
    {"Gemm", gemm_prepare, gemm_run, gemm_release, E2E_OP_FUSES_ACT},
    {"MatMul", matmul_prepare, matmul_run, matmul_release, E2E_OP_FUSES_ACT},
    {0},
};
