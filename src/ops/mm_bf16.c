/* Products by a bfloat16 weight (mm_bf16.h): packing, the plain C tile, blocks and threads. */
#include <stdlib.h>
#include <string.h>

#include "ops/cpu_isa.h"
#include "ops/mm_bf16.h"
#include "ops/vmath.h"
#include "core/pack_cache.h"

static inline int imin(int a, int b) { return a < b ? a : b; }

#define NR E2E_BF16_NR
/* rows up to which the widen tiles run even where dot tiles exist: a product this thin reads
   the weight once and is bound by memory, and keeping A in float32 rounds less */
#define DOT_MIN_ROWS 5
/* k per block of a long product (even): later blocks add to C through the residual */
#define KC 1024
/* a long product on the dot tiles (K > LONG_K) goes in sub-blocks of KB k (even) and chunks of
   MC rows: the chunk's slice of A in pairs (MC x KB / 2 words, 18 KB) and a panel's slice of
   the weight (KB / 2 x 128 bytes, 16 KB) stay in L1 while every row tile of the chunk meets
   them, and the weight streams from memory once per chunk */
#define LONG_K (2 * KC)
#define KB 256
#define KB_LINES_SHIFT 4 /* KB floats of a row: 16 cache lines */
#define MC 36

const e2e_bf16_kernels *e2e_bf16_kernels_for(e2e_isa_level isa)
{
#ifdef E2E_X86
    switch (e2e_isa_select(isa)) {
    case E2E_ISA_AVX512: return e2e_cpu_avx512_bf16() ? &e2e_bf16_avx512_dot : &e2e_bf16_avx512;
    case E2E_ISA_AVX2: return &e2e_bf16_avx2;
    default: break;
    }
#endif
    (void)isa;
    return &e2e_bf16_generic;
}

size_t e2e_bf16_packed_floats(int64_t K, int64_t N)
{
    /* per panel: Q pairs x 32 columns x 2 bfloat16 = Q * 32 floats' bytes */
    return (size_t)((N + NR - 1) / NR) * (size_t)((K + 1) / 2) * NR;
}

void e2e_bf16_pack(const float *B, int64_t sk, int64_t sn, int K, int N, float *Pf)
{
    uint16_t *P = (uint16_t *)Pf;
    const int64_t Q = (K + 1) / 2;
    memset(P, 0, sizeof(float) * e2e_bf16_packed_floats(K, N));
    for (int n0 = 0; n0 < N; n0 += NR) {
        uint16_t *d = P + (size_t)(n0 / NR) * (size_t)Q * NR * 2;
        const int nn = imin(N - n0, NR);
        if (sn == 1) { /* rows of B along n */
            for (int k = 0; k < K; k++) {
                const float *s = B + k * sk + n0;
                uint16_t *o = d + (size_t)(k / 2) * NR * 2 + (k & 1);
                for (int j = 0; j < nn; j++)
                    o[2 * j] = e2e_bf16_from_f32(s[j]);
            }
        } else { /* columns of B along k (a transposed operand: Gemm's transB) */
            for (int j = 0; j < nn; j++) {
                const float *s = B + (int64_t)(n0 + j) * sn;
                uint16_t *o = d + 2 * j;
                for (int k = 0; k < K; k++)
                    o[(size_t)(k / 2) * NR * 2 + (k & 1)] = e2e_bf16_from_f32(s[k * sk]);
            }
        }
    }
}

uint16_t *e2e_bf16_pack_const(const e2e_kernel *k, const e2e_value *b, int64_t sk, int64_t sn,
                              int K, int N, bool *shared)
{
    const size_t floats = e2e_bf16_packed_floats(K, N);
    if ((*shared = k->ctx->packs && b->is_model))
        return (uint16_t *)e2e_pack_cache_get(k->ctx->packs, b->data, sk, sn, K, N, floats, e2e_bf16_pack);
    float *p = e2e_aligned_alloc_uninit(sizeof(float) * floats);
    if (p)
        e2e_bf16_pack(b->data, sk, sn, K, N, p);
    return (uint16_t *)p;
}

/* ---------------------------------------------------------------- plain C kernels */

#define GMR 4

void e2e_bf16_store(int m, int n, const float *t, int ldt, float *C, int64_t ldc,
                    const e2e_mm_epi *e, int64_t row, int col)
{
    const float *bias = e->bias ? e->bias + col : NULL;
    for (int i = 0; i < m; i++) {
        float *y = C + i * ldc;
        const float *x = t + i * ldt;
        const float *res = e->res ? e->res + (row + i) * e->ldr + col : NULL;
        for (int c = 0; c < n; c++) {
            float v = e->scale == 1.f ? x[c] : x[c] * e->scale;
            if (bias)
                v = v + bias[c];
            y[c] = res ? res[c] + v : v; /* res may be C itself (a later KC block) */
        }
        if (e->act == E2E_ACT_GELU)
            e2e_gelu_f32(y, y, n);
        else if (e->act != E2E_ACT_NONE)
            e2e_act_apply(e->act, e->act_alpha, e->act_beta, y, n);
    }
}

static void widen_generic(int m, int K, const void *Av, int64_t lda, const uint16_t *P, float *C,
                          int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    const float *A = Av;
    float acc[GMR][NR];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < K; k++) {
        const uint16_t *w = P + (size_t)(k / 2) * NR * 2 + (k & 1);
        float b[NR];
        for (int j = 0; j < NR; j++)
            b[j] = e2e_bf16_to_f32(w[2 * j]);
        for (int i = 0; i < m; i++) {
            const float a = A[i * lda + k];
            for (int j = 0; j < NR; j++)
                acc[i][j] += a * b[j];
        }
    }
    e2e_bf16_store(m, n, acc[0], NR, C, ldc, e, row, col);
}

static void to_pairs_generic(int m, int K, const float *A, int64_t lda, uint32_t *D, int64_t ldd)
{
    for (int i = 0; i < m; i++) {
        uint16_t *d = (uint16_t *)(D + i * ldd);
        for (int k = 0; k < K; k++)
            d[k] = e2e_bf16_from_f32(A[i * lda + k]);
        if (K & 1)
            d[K] = 0;
    }
}

const e2e_bf16_kernels e2e_bf16_generic = {"generic", GMR, widen_generic, 0, NULL, to_pairs_generic,
                                           NULL, NULL, NULL};

/* ---------------------------------------------------------------- blocks and threads */

/* Whether the dot tiles run a product in k sub-blocks (bf_block_long). */
static bool long_k(const e2e_bf16_kernels *bk, int64_t K) { return bk->dot_acc && K > LONG_K; }

size_t e2e_bf16_ws_bytes(const e2e_bf16_kernels *bk, int64_t M, int64_t K, int64_t N)
{
    if (!bk->dot || M < DOT_MIN_ROWS)
        return 0;
    /* A in pairs; a long K also the partial sums T, M x N in whole panels */
    const size_t sums = long_k(bk, K) ? (size_t)M * (size_t)((N + NR - 1) / NR * NR) : 0;
    return sizeof(uint32_t) * ((size_t)M * (size_t)((K + 1) / 2) + sums);
}

void e2e_bf16_run_pairs(const e2e_bf16_kernels *bk, int M, int N, int K, const uint32_t *A,
                        int64_t lda, const uint16_t *P, float *C, int64_t ldc, const e2e_mm_epi *e)
{
    const size_t panel = (size_t)((K + 1) / 2) * NR * 2;
    for (int col = 0; col < N; col += NR) {
        const int n = imin(N - col, NR);
        const uint16_t *Pp = P + (size_t)(col / NR) * panel;
        for (int i = 0; i < M; i += bk->dot_mr)
            bk->dot(imin(M - i, bk->dot_mr), K, A + i * lda, lda, Pp, C + i * ldc + col, ldc, n, e,
                    i, col);
    }
}

typedef struct bf_job {
    const e2e_bf16_kernels *bk;
    int M, N, K, units, by_rows, dot, mr, seq;
    int own_pairs;          /* dot: each block converts its rows of A to pairs itself */
    int lng;                /* dot over a long K: bf_block_long */
    const float *A;
    uint32_t *A2;           /* dot: A as pairs, Q per row (the workspace) */
    float *T;               /* lng: partial sums, M x N in whole panels (after A2) */
    int64_t lda, ldc;
    const uint16_t *P;
    float *C;
    const e2e_mm_epi *e;
} bf_job;

static void bf_block_long(const bf_job *j, int m0, int m1, int p0, int p1);

/* Rows [m0, m1) times panels [p0, p1), in KC blocks of k, as mm_packed.c's blocks: the first
   block's tiles write epi(product) with bias and residual (the residual may be C itself:
   Gemm's beta * C), later blocks add to C through the residual, the activation comes with the
   last. */
static void bf_block(const bf_job *j, int m0, int m1, int p0, int p1)
{
    if (j->lng) {
        bf_block_long(j, m0, m1, p0, p1);
        return;
    }
    const int K = j->K, Q = (K + 1) / 2, mr = j->mr;
    const int kc = K > 2 * KC ? KC : K;
    const e2e_bf16_tile_fn tile = j->dot ? j->bk->dot
                                 : j->seq && j->bk->widen_seq ? j->bk->widen_seq : j->bk->widen;
    /* rows in chunks whose slice of A (a KC block of it) stays in L2 while it meets every panel */
    int64_t mc = (int64_t)(128 * 1024) / ((int64_t)kc * (j->dot ? 2 : 4));
    mc = mc / mr * mr;
    if (mc < mr)
        mc = mr;
    for (int mb = m0; mb < m1; mb += (int)mc) {
    const int me = (int)(mb + mc < m1 ? mb + mc : m1);
    if (j->own_pairs) /* just before its use, so that the pairs are still in L2 */
        j->bk->to_pairs(me - mb, K, j->A + mb * j->lda, j->lda, j->A2 + (int64_t)mb * Q, Q);
    for (int k0 = 0; k0 < K; k0 += kc) {
        const int kk = imin(kc, K - k0);
        e2e_mm_epi eb = *j->e;
        if (k0 > 0) { /* accumulate */
            eb.bias = NULL;
            eb.res = j->C;
            eb.ldr = j->ldc;
        }
        if (k0 + kk < K)
            eb.act = E2E_ACT_NONE;
        for (int p = p0; p < p1; p++) {
            const int col = p * NR, n = imin(j->N - col, NR);
            const uint16_t *Pp = j->P + ((size_t)p * (size_t)Q + (size_t)(k0 / 2)) * NR * 2;
            for (int i = mb; i < me; i += mr) {
                const int m = imin(me - i, mr);
                float *C = j->C + i * j->ldc + col;
                if (j->dot)
                    tile(m, kk, j->A2 + (int64_t)i * Q + k0 / 2, Q, Pp, C, j->ldc, n, &eb, i, col);
                else
                    tile(m, kk, j->A + i * j->lda + k0, j->lda, Pp, C, j->ldc, n, &eb, i, col);
            }
        }
    }
    }
}

/* bf_block for a long K on the dot tiles: k in sub-blocks of KB, rows in chunks of MC (own
   pairs: the chunk's slice of A converted to pairs just before, at A2 with stride KB / 2 in
   the chunk's rows; else read from the pairs of all A, stride Q); each tile carries its sums
   through T, the epilogue comes with the last sub-block. */
static void bf_block_long(const bf_job *j, int m0, int m1, int p0, int p1)
{
    const int K = j->K, Q = (K + 1) / 2, mr = j->mr, np = (j->N + NR - 1) / NR, ldt = np * NR;
    for (int k0 = 0; k0 < K; k0 += KB) {
        const int kk = imin(KB, K - k0);
        const bool ahead = k0 + 2 * KB <= K; /* a whole sub-block follows: ask for it */
        for (int mb = m0; mb < m1; mb += MC) {
            const int me = imin(mb + MC, m1), nt = (me - mb + mr - 1) / mr;
            const uint32_t *Ab = j->A2 + (int64_t)mb * Q + k0 / 2;
            int64_t lda = Q;
            if (j->own_pairs) {
                uint32_t *d = j->A2 + (int64_t)mb * (KB / 2);
                j->bk->to_pairs(me - mb, kk, j->A + mb * j->lda + k0, j->lda, d, KB / 2);
                Ab = d;
                lda = KB / 2;
            }
            for (int p = p0; p < p1; p++) {
                const int col = p * NR, n = imin(j->N - col, NR);
                const uint16_t *Pp = j->P + ((size_t)p * (size_t)Q + (size_t)(k0 / 2)) * NR * 2;
                for (int t = 0; t < nt; t++) {
                    const int i = mb + t * mr, m = imin(me - i, mr);
                    /* what the next sub-block reads, shared out over the tiles: its slice of
                       this panel (KB lines) over the chunk's row tiles, after the last chunk;
                       the next KB floats of this tile's rows (own pairs) over the panels */
                    e2e_bf16_ahead ah = {0};
                    if (ahead && me == m1) {
                        const int l0 = t * KB / nt, l1 = (t + 1) * KB / nt;
                        ah.b = (const char *)(Pp + KB * NR) + 64 * l0;
                        ah.nb = imin(l1 - l0, KB);
                    }
                    if (ahead && j->own_pairs) {
                        const int per = (m + (p1 - p0) - 1) / (p1 - p0), r0 = i + (p - p0) * per;
                        const int r1 = imin(r0 + per, i + m);
                        if (r0 < r1) {
                            ah.a = (const char *)(j->A + r0 * j->lda + k0 + KB);
                            ah.lda = (int64_t)sizeof(float) * j->lda;
                            ah.a_shift = KB_LINES_SHIFT;
                            ah.na = imin((r1 - r0) << KB_LINES_SHIFT, KB);
                        }
                    }
                    j->bk->dot_acc(m, kk, Ab + (i - mb) * lda, lda, Pp, j->T + (int64_t)i * ldt + col,
                                   ldt, k0 == 0, k0 + kk < K ? NULL : j->C + i * j->ldc + col,
                                   j->ldc, n, j->e, i, col, &ah);
                }
            }
        }
    }
}

static void bf_task(void *ctx, int t, int nt)
{
    const bf_job *j = ctx;
    int u0 = (int)((int64_t)j->units * t / nt), u1 = (int)((int64_t)j->units * (t + 1) / nt);
    if (u1 <= u0)
        return;
    if (j->by_rows)
        bf_block(j, u0 * j->mr, imin(u1 * j->mr, j->M), 0, (j->N + NR - 1) / NR);
    else
        bf_block(j, 0, j->M, u0, u1);
}

static void pairs_task(void *ctx, int t, int nt)
{
    const bf_job *j = ctx;
    const int Q = (j->K + 1) / 2;
    int r0 = (int)((int64_t)j->M * t / nt), r1 = (int)((int64_t)j->M * (t + 1) / nt);
    if (r1 > r0)
        j->bk->to_pairs(r1 - r0, j->K, j->A + r0 * j->lda, j->lda, j->A2 + (int64_t)r0 * Q, Q);
}

void e2e_bf16_run(const e2e_bf16_kernels *bk, e2e_pool *pool, int M, int N, int K, const float *A,
                  int64_t lda, const uint16_t *P, float *C, int64_t ldc, const e2e_mm_epi *e,
                  void *ws, bool fixed_order)
{
    if (M <= 0 || N <= 0 || K <= 0) /* callers take this path for K >= 16 (e2e_bf16_worth) */
        return;
    const bool dot = bk->dot && M >= DOT_MIN_ROWS && ws && !fixed_order;
    bf_job j = {.bk = bk, .M = M, .N = N, .K = K, .dot = dot, .mr = dot ? bk->dot_mr : bk->mr,
                .seq = fixed_order, .lng = dot && long_k(bk, K), .A = A, .A2 = ws, .lda = lda,
                .ldc = ldc, .P = P, .C = C, .e = e};
    if (j.lng)
        j.T = (float *)(j.A2 + (int64_t)M * ((K + 1) / 2));
    const int threads = e2e_pool_threads(pool), np = (N + NR - 1) / NR, mt = (M + j.mr - 1) / j.mr;
    if (threads <= 1 || 2.0 * M * N * K < 2e5 || (np < 2 && mt < 2)) {
        j.own_pairs = dot;
        bf_block(&j, 0, M, 0, np);
        return;
    }
    j.by_rows = (M > N && mt >= threads) || np < threads;
    j.units = j.by_rows ? mt : np;
    /* split by rows, each task converts its own rows; by panels, every task reads all rows */
    j.own_pairs = dot && j.by_rows;
    if (dot && !j.by_rows)
        e2e_pool_run(pool, pairs_task, &j, M >= 2 * threads ? threads : 1);
    e2e_pool_run(pool, bf_task, &j, imin(j.units, 4 * threads));
}
