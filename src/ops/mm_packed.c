/* Packed-B GEMM and fused attention (see mm_packed.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu_isa.h"
#include "ops/mm_bf16.h"
#include "ops/mm_packed.h"
#include "ops/vmath.h"
#include "core/pack_cache.h"


const e2e_mm_kernels *e2e_mm_kernels_for(e2e_isa_level isa)
{
#ifdef E2E_X86
    switch (e2e_isa_select(isa)) {
    case E2E_ISA_AVX512: return &e2e_mm_avx512;
    case E2E_ISA_AVX2: return &e2e_mm_avx2;
    default: break;
    }
#endif
    (void)isa;
    return &e2e_mm_generic;
}

void e2e_mm_pack_panel(int nr, const float *B, int64_t sk, int64_t sn, int K, int n0, int nn,
                       float *dst)
{
    if (sn == 1) {
        for (int k = 0; k < K; k++) {
            float *d = dst + (size_t)k * nr;
            memcpy(d, B + k * sk + n0, sizeof(float) * (size_t)nn);
            if (nn < nr)
                memset(d + nn, 0, sizeof(float) * (size_t)(nr - nn));
        }
        return;
    }
    /* columns are strided (a transposed operand): walk each column along k */
    for (int j = 0; j < nr; j++) {
        if (j >= nn) {
            for (int k = 0; k < K; k++)
                dst[(size_t)k * nr + j] = 0.f;
            continue;
        }
        const float *src = B + (int64_t)(n0 + j) * sn;
        for (int k = 0; k < K; k++)
            dst[(size_t)k * nr + j] = src[k * sk];
    }
}

size_t e2e_mm_packed_floats(const e2e_mm_kernels *mk, int64_t K, int64_t N)
{
    return (size_t)((N + mk->nr - 1) / mk->nr) * (size_t)mk->nr * (size_t)K;
}

float *e2e_mm_pack_const(const e2e_kernel *k, const e2e_value *b, int64_t sk, int64_t sn, int K,
                         int N, void (*fn)(const float *, int64_t, int64_t, int, int, float *),
                         bool *shared)
{
    const size_t floats = e2e_mm_packed_floats(e2e_mm_kernels_for(k->ctx->isa), K, N);
    if ((*shared = k->ctx->packs && b->is_model))
        return (float *)e2e_pack_cache_get(k->ctx->packs, b->data, sk, sn, K, N, floats, fn);
    float *p = e2e_aligned_alloc_uninit(sizeof(float) * floats); /* fn writes it all */
    if (p)
        fn(b->data, sk, sn, K, N, p);
    return p;
}

void e2e_mm_pack_release(float *packed, bool shared)
{
    if (!shared)
        e2e_aligned_free(packed);
}

/* ---------------------------------------------------------------- blocks and threads */

/* Work is cut into up to this many tasks per thread (claimed dynamically; task t always does
   the same work): a thread the OS preempts then holds back a small share only. */
#define TASKS_PER_THREAD 4

static int max_tasks(const e2e_pool *pool)
{
    int t = e2e_pool_threads(pool);
    return t > 1 ? TASKS_PER_THREAD * t : 1;
}

/* Rows [m0, m1) times panels [p0, p1). Rows are taken in chunks whose slice of A stays in
   cache while the chunk sweeps the panels. Long products (K > 2 KC: the patch embedding) go
   in blocks of KC along k, later blocks adding to C through the residual input of the
   epilogue; bias and residual come with the first block, the activation with the last. */
#define KC 512

static void mm_block(const e2e_mm_kernels *mk, int m0, int m1, int p0, int p1, int N, int K,
                     const float *A, int64_t lda, const float *P, float *C, int64_t ldc,
                     const e2e_mm_epi *e)
{
    const int mr = mk->mr, nr = mk->nr;
    const int kc = K > 2 * KC ? KC : K;
    int64_t mc = (int64_t)(128 * 1024) / ((int64_t)(kc > 0 ? kc : 1) * (int64_t)sizeof(float));
    mc = mc / mr * mr;
    if (mc < mr)
        mc = mr;
    for (int mb = m0; mb < m1; mb += (int)mc) {
        int me = (int)(mb + mc < m1 ? mb + mc : m1);
        for (int k0 = 0; k0 < K || k0 == 0; k0 += kc) {
            const int kk = e2e_mm_imin(kc, K - k0);
            e2e_mm_epi eb = *e;
            if (k0 > 0) { /* accumulate */
                eb.bias = NULL;
                eb.res = C;
                eb.ldr = ldc;
            }
            if (k0 + kk < K)
                eb.act = E2E_ACT_NONE;
            for (int p = p0; p < p1; p++) {
                int col = p * nr, n = e2e_mm_imin(N - col, nr);
                const float *Pp = P + ((size_t)p * (size_t)K + (size_t)k0) * nr;
                for (int i = mb; i < me; i += mr) {
                    int m = e2e_mm_imin(me - i, mr);
                    mk->tiles[m](kk, A + i * lda + k0, lda, Pp, C + i * ldc + col, ldc, n, &eb, i, col);
                }
            }
            if (kk <= 0)
                break;
        }
    }
}

void e2e_mm_epilogue(int M, int N, float *C, int64_t ldc, const e2e_mm_epi *e)
{
    if (!e->bias && !e->res && e->act == E2E_ACT_NONE)
        return;
    for (int i = 0; i < M; i++) {
        float *y = C + i * ldc;
        if (e->bias)
            for (int j = 0; j < N; j++)
                y[j] += e->bias[j];
        if (e->res) {
            const float *r = e->res + i * e->ldr;
            for (int j = 0; j < N; j++)
                y[j] = r[j] + y[j];
        }
        if (e->act == E2E_ACT_GELU)
            e2e_gelu_f32(y, y, N);
        else
            e2e_act_apply(e->act, e->act_alpha, e->act_beta, y, N);
    }
}

void e2e_mm_run(const e2e_mm_kernels *mk, int M, int N, int K, const float *A, int64_t lda,
                const float *P, float *C, int64_t ldc, const e2e_mm_epi *e)
{
    if (M <= 0 || N <= 0)
        return;
    mm_block(mk, 0, M, 0, (N + mk->nr - 1) / mk->nr, N, K, A, lda, P, C, ldc, e);
}

typedef struct mm_job {
    const e2e_mm_kernels *mk;
    int M, N, K, units, by_rows;
    const float *A, *P;
    int64_t lda, ldc;
    float *C;
    const e2e_mm_epi *e;
} mm_job;

static void mm_task(void *ctx, int t, int nt)
{
    const mm_job *j = ctx;
    int u0 = (int)((int64_t)j->units * t / nt), u1 = (int)((int64_t)j->units * (t + 1) / nt);
    if (u1 <= u0)
        return;
    const int mr = j->mk->mr, nr = j->mk->nr;
    if (j->by_rows)
        mm_block(j->mk, u0 * mr, e2e_mm_imin(u1 * mr, j->M), 0, (j->N + nr - 1) / nr, j->N, j->K, j->A,
                 j->lda, j->P, j->C, j->ldc, j->e);
    else
        mm_block(j->mk, 0, j->M, u0, u1, j->N, j->K, j->A, j->lda, j->P, j->C, j->ldc, j->e);
}

void e2e_mm_run_pool(const e2e_mm_kernels *mk, e2e_pool *pool, int M, int N, int K,
                     const float *A, int64_t lda, const float *P, float *C, int64_t ldc,
                     const e2e_mm_epi *e)
{
    if (M <= 0 || N <= 0)
        return;
    const int mr = mk->mr, nr = mk->nr;
    int threads = e2e_pool_threads(pool);
    int np = (N + nr - 1) / nr, mt = (M + mr - 1) / mr;
    if (threads <= 1 || 2.0 * M * N * K < 2e5 || (np < 2 && mt < 2)) {
        mm_block(mk, 0, M, 0, np, N, K, A, lda, P, C, ldc, e);
        return;
    }
    /* cut the larger operand: rows of A (each thread reads all of B) or panels of B */
    bool by_rows = (M > N && mt >= threads) || np < threads;
    mm_job j = {mk, M, N, K, by_rows ? mt : np, by_rows, A, P, lda, ldc, C, e};
    e2e_pool_run(pool, mm_task, &j, e2e_mm_imin(j.units, max_tasks(pool)));
}

/* ---------------------------------------------------------------- fused attention */

#define ATT_RB 48 /* query rows per block: the block's scores stay in L1/L2 */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

typedef struct attn_dims {
    int r;                  /* rank of the views */
    int T, D, S, Dv;
    int64_t ldS;
    size_t kp, vp, sb, qt, ot; /* float offsets inside a slot */
    size_t qb, pb;          /* bf16: Q's and the probabilities' pairs (ATT_RB rows each) */
    int QD, QS;             /* bf16: pairs per row of Q and of the probabilities */
} attn_dims;

static void attn_geometry(const e2e_attn_cfg *c, attn_dims *g)
{
    int r = c->q.rank;
    g->r = r;
    g->T = (int)c->q.dims[r - 2];
    g->D = (int)c->q.dims[r - 1];
    g->S = (int)c->kt.dims[r - 1];
    g->Dv = (int)c->v.dims[r - 1];
    g->ldS = (int64_t)round16((size_t)g->S);
    g->QD = (g->D + 1) / 2;
    g->QS = (g->S + 1) / 2;
    size_t off = 0;
    g->kp = off;
    off += round16(c->bk ? e2e_bf16_packed_floats(g->D, g->S) : e2e_mm_packed_floats(c->mk, g->D, g->S));
    g->vp = off;
    off += round16(c->bk ? e2e_bf16_packed_floats(g->S, g->Dv) : e2e_mm_packed_floats(c->mk, g->S, g->Dv));
    g->qb = g->pb = off;
    if (c->bk) {
        off += round16((size_t)ATT_RB * (size_t)g->QD);
        g->pb = off;
        off += round16((size_t)ATT_RB * (size_t)g->QS);
    }
    g->sb = off;
    off += (size_t)ATT_RB * (size_t)g->ldS;
    g->qt = off;
    if (c->q.strides[r - 1] != 1)
        off += round16((size_t)ATT_RB * (size_t)g->D);
    g->ot = off;
    if (c->o.strides[r - 1] != 1)
        off += round16((size_t)ATT_RB * (size_t)g->Dv);
    (void)off;
}

static size_t attn_slot(const e2e_attn_cfg *c)
{
    attn_dims g;
    attn_geometry(c, &g);
    size_t n = g.ot;
    if (c->o.strides[g.r - 1] != 1)
        n += round16((size_t)ATT_RB * (size_t)g.Dv);
    return n;
}

static e2e_status attn_prepare(e2e_kernel *k)
{
    e2e_attn_cfg *c = k->priv;
    if (!c || k->n_in != 3 + c->has_bias || k->n_out != 1 || !k->in[0] || !k->in[1] || !k->in[2] ||
        (c->has_bias && !k->in[3]) || !k->out[0])
        return e2e_kfail(k, E2E_ERR_INVALID, "fused attention without its configuration");
    for (int i = 0; i < k->n_in; i++)
        if (k->in[i]->dtype != E2E_FLOAT)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "fused attention on %s",
                             e2e_dtype_name(k->in[i]->dtype));
    int r = c->q.rank;
    if (r < 2 || c->kt.rank != r || c->v.rank != r || c->o.rank != r)
        return e2e_kfail(k, E2E_ERR_SHAPE, "fused attention views differ in rank");
    c->batch = 1;
    for (int d = 0; d < r - 2; d++) {
        if (c->kt.dims[d] != c->q.dims[d] || c->v.dims[d] != c->q.dims[d] || c->o.dims[d] != c->q.dims[d])
            return e2e_kfail(k, E2E_ERR_SHAPE, "fused attention views differ in batch dims");
        c->batch *= c->q.dims[d];
    }
    if (c->has_bias) {
        if (c->bias.rank != r)
            return e2e_kfail(k, E2E_ERR_SHAPE, "fused attention bias view differs in rank");
        for (int d = 0; d < r; d++)
            if (c->bias.dims[d] != (d < r - 1 ? c->q.dims[d] : c->kt.dims[d]))
                return e2e_kfail(k, E2E_ERR_SHAPE, "fused attention bias view is not of the scores' shape");
    }
    if (c->kt.dims[r - 2] != c->q.dims[r - 1] || c->v.dims[r - 2] != c->kt.dims[r - 1] ||
        c->o.dims[r - 2] != c->q.dims[r - 2] || c->o.dims[r - 1] != c->v.dims[r - 1])
        return e2e_kfail(k, E2E_ERR_SHAPE, "fused attention views do not chain");
    for (int d = r - 2; d < r; d++)
        if (c->q.dims[d] > INT32_MAX / 64 || c->kt.dims[d] > INT32_MAX / 64 || c->v.dims[d] > INT32_MAX / 64)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "fused attention dims too large");
    int threads = e2e_pool_threads(k->ctx->pool);
    int64_t T = c->q.dims[r - 2];
    c->mk = e2e_mm_kernels_for(k->ctx->isa);
    c->bk = NULL;
    if (k->ctx->precision == E2E_PRECISION_BF16 && !k->ctx->any_batch) {
        /* both products by the dot tiles where they exist (the products of a head do not
           depend on the batch, but any_batch sessions keep float32 activations throughout) */
        const e2e_bf16_kernels *bk = e2e_bf16_kernels_for(k->ctx->isa);
        if (bk->dot && bk->pack_run && e2e_bf16_worth(bk, T, c->q.dims[r - 1], c->kt.dims[r - 1]) &&
            e2e_bf16_worth(bk, T, c->kt.dims[r - 1], c->v.dims[r - 1]))
            c->bk = bk;
    }
    c->qchunks = 1;
    while (c->batch * c->qchunks < 2 * threads && T / (c->qchunks + 1) >= c->mk->mr)
        c->qchunks++;
    c->slot_floats = attn_slot(c);
    k->ws_size = sizeof(float) * c->slot_floats * (size_t)max_tasks(k->ctx->pool); /* a slot per task */
    return E2E_OK;
}

typedef struct attn_job {
    const e2e_kernel *k;
    const e2e_attn_cfg *c;
    attn_dims g;
} attn_job;

/* Asks for part `part` of `parts` of the rows of Q, K and V of batch/head b ahead of their
   use (with a large batch they come from L3 or memory, in rows far apart); spread over the
   softmax rows of the unit before, so that the requests do not queue up all at once. */
static void attn_prefetch(const e2e_attn_cfg *c, const attn_dims *g, const float *Q, const float *KT,
                          const float *V, int64_t b, int part, int parts)
{
    const int r = g->r;
    int64_t oq = c->q.offset, ok = c->kt.offset, ov = c->v.offset, rem = b;
    for (int d = r - 3; d >= 0; d--) {
        int64_t i = rem % c->q.dims[d];
        rem /= c->q.dims[d];
        oq += i * c->q.strides[d];
        ok += i * c->kt.strides[d];
        ov += i * c->v.strides[d];
    }
    const int t0 = g->T * part / parts, t1 = g->T * (part + 1) / parts;
    const int s0 = g->S * part / parts, s1 = g->S * (part + 1) / parts;
    if (c->q.strides[r - 1] == 1)
        for (int t = t0; t < t1; t++)
            for (int d = 0; d < g->D; d += 16)
                __builtin_prefetch(Q + oq + t * c->q.strides[r - 2] + d);
    if (c->kt.strides[r - 2] == 1)
        for (int s = s0; s < s1; s++)
            for (int d = 0; d < g->D; d += 16)
                __builtin_prefetch(KT + ok + s * c->kt.strides[r - 1] + d);
    if (c->v.strides[r - 1] == 1)
        for (int s = s0; s < s1; s++)
            for (int d = 0; d < g->Dv; d += 16)
                __builtin_prefetch(V + ov + s * c->v.strides[r - 2] + d);
}

/* Sb[i][s] += bias[r0 + i][s] for the rb rows of a block (B at the unit's batch offset). */
static void attn_add_bias(const e2e_attn_cfg *c, const attn_dims *g, const float *B, int r0, int rb,
                          float *Sb)
{
    const int64_t bt = c->bias.strides[g->r - 2], bs = c->bias.strides[g->r - 1];
    for (int i = 0; i < rb; i++) {
        const float *b = B + (int64_t)(r0 + i) * bt;
        float *s = Sb + (size_t)i * (size_t)g->ldS;
        if (bs == 1)
            for (int j = 0; j < g->S; j++)
                s[j] += b[j];
        else
            for (int j = 0; j < g->S; j++)
                s[j] += b[j * bs];
    }
}

static void attn_task(void *ctx, int t, int nt)
{
    const attn_job *j = ctx;
    const e2e_attn_cfg *c = j->c;
    const attn_dims *g = &j->g;
    const int r = g->r;
    float *slot = (float *)j->k->ws + (size_t)t * c->slot_floats;
    float *Kp = slot + g->kp, *Vp = slot + g->vp, *Sb = slot + g->sb, *Qt = slot + g->qt, *Ot = slot + g->ot;
    uint32_t *Qb = (uint32_t *)(slot + g->qb), *Pb = (uint32_t *)(slot + g->pb);
    const float *Q = j->k->in[0]->data, *KT = j->k->in[1]->data, *V = j->k->in[2]->data;
    const float *Bias = c->has_bias ? j->k->in[3]->data : NULL;
    float *O = j->k->out[0]->data;
    int64_t units = c->batch * c->qchunks;
    int64_t u0 = units * t / nt, u1 = units * (t + 1) / nt;
    int64_t packed_b = -1;
    const e2e_mm_epi scale = {.scale = c->scale}, plain = {.scale = 1.f};
    const int64_t qt = c->q.strides[r - 2], qd = c->q.strides[r - 1];
    const int64_t ot = c->o.strides[r - 2], oe = c->o.strides[r - 1];
    for (int64_t u = u0; u < u1; u++) {
        int64_t b = u / c->qchunks, ch = u % c->qchunks;
        /* batch offsets of the four views */
        int64_t oq = c->q.offset, ok = c->kt.offset, ov = c->v.offset, oo = c->o.offset, rem = b;
        int64_t obias = c->bias.offset;
        for (int d = r - 3; d >= 0; d--) {
            int64_t i = rem % c->q.dims[d];
            rem /= c->q.dims[d];
            oq += i * c->q.strides[d];
            obias += i * c->bias.strides[d];
            ok += i * c->kt.strides[d];
            ov += i * c->v.strides[d];
            oo += i * c->o.strides[d];
        }
        const bool ahead = u + 1 < u1 && (u + 1) / c->qchunks != b; /* prefetch the next head */
        if (packed_b != b) {
            if (c->bk) {
                c->bk->pack_run(KT + ok, c->kt.strides[r - 2], c->kt.strides[r - 1], g->D, g->S,
                                (uint16_t *)Kp);
                c->bk->pack_run(V + ov, c->v.strides[r - 2], c->v.strides[r - 1], g->S, g->Dv,
                                (uint16_t *)Vp);
            } else {
                c->mk->pack(KT + ok, c->kt.strides[r - 2], c->kt.strides[r - 1], g->D, g->S, Kp);
                c->mk->pack(V + ov, c->v.strides[r - 2], c->v.strides[r - 1], g->S, g->Dv, Vp);
            }
            packed_b = b;
        }
        int rs = (int)((int64_t)g->T * ch / c->qchunks), re = (int)((int64_t)g->T * (ch + 1) / c->qchunks);
        for (int r0 = rs; r0 < re; r0 += ATT_RB) {
            int rb = e2e_mm_imin(ATT_RB, re - r0);
            const float *A = Q + oq + r0 * qt;
            int64_t lda = qt;
            if (qd != 1) {
                for (int i = 0; i < rb; i++)
                    for (int d = 0; d < g->D; d++)
                        Qt[(size_t)i * g->D + d] = A[i * qt + d * qd];
                A = Qt;
                lda = g->D;
            }
            if (c->bk) {
                c->bk->to_pairs(rb, g->D, A, lda, Qb, g->QD);
                e2e_bf16_run_pairs(c->bk, rb, g->S, g->D, Qb, g->QD, (const uint16_t *)Kp, Sb,
                                   g->ldS, &scale);
            } else {
                e2e_mm_run(c->mk, rb, g->S, g->D, A, lda, Kp, Sb, g->ldS, &scale);
            }
            if (c->has_bias)
                attn_add_bias(c, g, Bias + obias, r0, rb, Sb);
            for (int i = 0; i < rb; i++) {
                c->mk->softmax_row(Sb + i * g->ldS, g->S);
                if (ahead)
                    attn_prefetch(c, g, Q, KT, V, b + 1, r0 + i - rs, re - rs);
            }
            float *Y = O + oo + r0 * ot;
            if (c->bk) {
                c->bk->to_pairs(rb, g->S, Sb, g->ldS, Pb, g->QS);
                float *Yd = oe == 1 ? Y : Ot;
                const int64_t ldy = oe == 1 ? ot : g->Dv;
                e2e_bf16_run_pairs(c->bk, rb, g->Dv, g->S, Pb, g->QS, (const uint16_t *)Vp, Yd, ldy,
                                   &plain);
                if (oe != 1)
                    for (int i = 0; i < rb; i++)
                        for (int d = 0; d < g->Dv; d++)
                            Y[i * ot + d * oe] = Ot[(size_t)i * g->Dv + d];
            } else if (oe == 1) {
                e2e_mm_run(c->mk, rb, g->Dv, g->S, Sb, g->ldS, Vp, Y, ot, &plain);
            } else {
                e2e_mm_run(c->mk, rb, g->Dv, g->S, Sb, g->ldS, Vp, Ot, g->Dv, &plain);
                for (int i = 0; i < rb; i++)
                    for (int d = 0; d < g->Dv; d++)
                        Y[i * ot + d * oe] = Ot[(size_t)i * g->Dv + d];
            }
        }
    }
}

static e2e_status attn_run(e2e_kernel *k)
{
    const e2e_attn_cfg *c = k->priv;
    attn_job j = {k, c, {0}};
    attn_geometry(c, &j.g);
    int64_t units = c->batch * c->qchunks;
    int tasks = units < max_tasks(k->ctx->pool) ? (int)units : max_tasks(k->ctx->pool);
    e2e_pool_run(k->ctx->pool, attn_task, &j, tasks);
    return E2E_OK;
}

const e2e_op_def e2e_op_attention = {"Attention", attn_prepare, attn_run, free, 0};

/* ---------------------------------------------------------------- fused patch embedding */

static void patch_release(void *v)
{
    e2e_patch_cfg *c = v;
    if (c) {
        e2e_mm_pack_release(c->packed, c->shared);
        e2e_mm_pack_release((float *)c->bf, c->shared);
    }
    free(c);
}

static e2e_status patch_prepare(e2e_kernel *k)
{
    e2e_patch_cfg *c = k->priv;
    if (!c || k->n_in != 3 || k->n_out != 1 || !k->in[0] || !k->in[1] || !k->out[0])
        return e2e_kfail(k, E2E_ERR_INVALID, "fused patch embedding without its configuration");
    const e2e_value *x = k->in[0], *w = k->in[1], *b = k->in[2];
    if (x->dtype != E2E_FLOAT || w->dtype != E2E_FLOAT || !w->is_const || !w->data ||
        (b && (b->dtype != E2E_FLOAT || !b->is_const || b->numel != c->E)))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "fused patch embedding: unexpected operands");
    if (x->shape.rank != 4 || x->shape.dims[0] != c->B || x->shape.dims[1] != c->C ||
        x->shape.dims[2] != c->H || x->shape.dims[3] != c->W || w->numel != (int64_t)c->E * c->C * c->Ph * c->Pw ||
        k->out[0]->numel != (int64_t)c->B * c->Hp * c->Wp * c->E || c->Hp != c->H / c->Ph || c->Wp != c->W / c->Pw)
        return e2e_kfail(k, E2E_ERR_SHAPE, "fused patch embedding: shapes do not match");
    c->K = c->C * c->Ph * c->Pw;
    /* rows per step: a slice of patches of about 256 KB, whole register tiles */
    int64_t rows = (int64_t)c->B * c->Hp * c->Wp, chunk = (256 * 1024 / 4) / (c->K > 0 ? c->K : 1);
    int threads = e2e_pool_threads(k->ctx->pool);
    c->mk = e2e_mm_kernels_for(k->ctx->isa);
    const int mr = c->mk->mr;
    if (threads > 1 && chunk * threads > rows) /* enough steps for every thread */
        chunk = (rows + threads - 1) / threads;
    chunk = (chunk + mr - 1) / mr * mr;
    c->chunk = (int)(chunk < mr ? mr : chunk > rows ? (rows + mr - 1) / mr * mr : chunk);
    k->ws_size = sizeof(float) * (size_t)c->chunk * (size_t)c->K * (size_t)threads;
    if (k->ctx->precision == E2E_PRECISION_BF16 && !k->ctx->any_batch) {
        /* the product of a chunk of patch rows by W^T on the bfloat16 dot tiles, where they
           exist (any_batch: a row's result may not depend on the batch, float32 stays) */
        const e2e_bf16_kernels *bk = e2e_bf16_kernels_for(k->ctx->isa);
        const size_t ws = e2e_bf16_ws_bytes(bk, c->chunk, c->K, c->E);
        if (bk->dot && ws && e2e_bf16_worth(bk, c->chunk, c->K, c->E)) {
            c->bf = e2e_bf16_pack_const(k, w, 1, c->K, c->K, c->E, &c->shared); /* W^T */
            if (!c->bf)
                return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory packing the patch weights");
            c->bk = bk;
            k->ws_size += (size_t)threads * ((ws + 63) & ~(size_t)63);
            return E2E_OK;
        }
    }
    c->packed = e2e_mm_pack_const(k, w, 1, c->K, c->K, c->E, c->mk->pack, &c->shared); /* W^T */
    if (!c->packed)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory packing the patch weights");
    return E2E_OK;
}

typedef struct patch_job {
    const e2e_kernel *k;
    const e2e_patch_cfg *c;
    int steps;
} patch_job;

static void patch_task(void *ctx, int t, int nt)
{
    const patch_job *j = ctx;
    const e2e_patch_cfg *c = j->c;
    const float *X = j->k->in[0]->data;
    float *Y = j->k->out[0]->data;
    float *A = (float *)j->k->ws + (size_t)t * (size_t)c->chunk * (size_t)c->K;
    const e2e_mm_epi e = {.scale = 1.f, .bias = j->k->in[2] ? j->k->in[2]->data : NULL};
    const int64_t rows = (int64_t)c->B * c->Hp * c->Wp, np = (int64_t)c->Hp * c->Wp;
    for (int s = j->steps * t / nt; s < j->steps * (t + 1) / nt; s++) {
        int64_t r0 = (int64_t)s * c->chunk, r1 = r0 + c->chunk < rows ? r0 + c->chunk : rows;
        /* gather the patches: row (b, py, px) = X[b, :, py*Ph .. +Ph, px*Pw .. +Pw], a strip
           (b, py) at a time and image row by image row, so the image is read in order */
        for (int64_t r = r0; r < r1;) {
            const int64_t b = r / np, py = r % np / c->Wp, px0 = r % c->Wp;
            const int64_t px1 = px0 + (r1 - r) < c->Wp ? px0 + (r1 - r) : c->Wp;
            for (int ch = 0; ch < c->C; ch++)
                for (int i = 0; i < c->Ph; i++) {
                    const float *src = X + ((b * c->C + ch) * c->H + py * c->Ph + i) * c->W;
                    float *a = A + (r - r0) * c->K + (ch * c->Ph + i) * c->Pw;
                    /* vector copies in the ISA's width (compiled for the baseline, this loop
                       was a float at a time) */
                    c->mk->split_row(src + px0 * c->Pw, c->Pw, (int)(px1 - px0), a, c->K);
                }
            r += px1 - px0;
        }
        if (c->bf) { /* the pairs after every thread's gathered rows */
            const size_t ws = (e2e_bf16_ws_bytes(c->bk, c->chunk, c->K, c->E) + 63) & ~(size_t)63;
            const size_t gathered = sizeof(float) * (size_t)c->chunk * (size_t)c->K;
            char *pairs = (char *)j->k->ws + gathered * (size_t)e2e_pool_threads(j->k->ctx->pool) +
                          (size_t)t * ws;
            e2e_bf16_run(c->bk, NULL, (int)(r1 - r0), c->E, c->K, A, c->K, c->bf, Y + r0 * c->E,
                         c->E, &e, pairs, false);
        } else
            e2e_mm_run(c->mk, (int)(r1 - r0), c->E, c->K, A, c->K, c->packed, Y + r0 * c->E, c->E, &e);
    }
}

static e2e_status patch_run(e2e_kernel *k)
{
    const e2e_patch_cfg *c = k->priv;
    int64_t rows = (int64_t)c->B * c->Hp * c->Wp;
    patch_job j = {k, c, (int)((rows + c->chunk - 1) / c->chunk)};
    int threads = e2e_pool_threads(k->ctx->pool);
    e2e_pool_run(k->ctx->pool, patch_task, &j, j.steps < threads ? j.steps : threads);
    return E2E_OK;
}

const e2e_op_def e2e_op_patch_embed = {"PatchEmbed", patch_prepare, patch_run, patch_release, 0};
