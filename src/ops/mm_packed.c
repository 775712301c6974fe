/* Packed-B GEMM and fused attention (see mm_packed.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/mm_packed.h"
#include "ops/vmath.h"
#include "runtime/pack_cache.h"

#define NR E2E_MM_NR
#ifdef __AVX512F__
#define MR 12
#else
#define MR 6 /* 6 x 32 outputs, computed as two 6 x 16 halves (see tile) */
#endif

static inline int imin(int a, int b) { return a < b ? a : b; }

size_t e2e_mm_packed_floats(int64_t K, int64_t N) { return (size_t)((N + NR - 1) / NR) * NR * (size_t)K; }

#ifdef __AVX512F__
/* o[c] = column c of the 16 x 16 block r[0..15] (rows): 32-bit then 64-bit interleaves
   inside 128-bit lanes, then two rounds of lane shuffles. */
static inline void transpose16(const __m512 *r, __m512 *o)
{
    __m512 a[16], b[16];
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a0 = _mm512_castps_pd(a[4 * i]), a1 = _mm512_castps_pd(a[4 * i + 1]);
        __m512d a2 = _mm512_castps_pd(a[4 * i + 2]), a3 = _mm512_castps_pd(a[4 * i + 3]);
        b[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2)); /* column 4L + 0 of rows 4i.. */
        b[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
        b[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
        b[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    for (int c = 0; c < 4; c++) {
        __m512 x = _mm512_shuffle_f32x4(b[c], b[4 + c], 0x44), y = _mm512_shuffle_f32x4(b[c], b[4 + c], 0xEE);
        __m512 x2 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0x44);
        __m512 y2 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0xEE);
        o[c] = _mm512_shuffle_f32x4(x, x2, 0x88);
        o[4 + c] = _mm512_shuffle_f32x4(x, x2, 0xDD);
        o[8 + c] = _mm512_shuffle_f32x4(y, y2, 0x88);
        o[12 + c] = _mm512_shuffle_f32x4(y, y2, 0xDD);
    }
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define PACK_V8 1
/* o[c] = column c of the 8 x 8 block r[0..7] (rows): 32-bit and 64-bit interleaves inside
   128-bit lanes, then one lane exchange. */
static inline void transpose8(const __m256 *r, __m256 *o)
{
    __m256 a[8], b[8];
    for (int i = 0; i < 4; i++) {
        a[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        b[4 * i] = _mm256_shuffle_ps(a[4 * i], a[4 * i + 2], 0x44);
        b[4 * i + 1] = _mm256_shuffle_ps(a[4 * i], a[4 * i + 2], 0xEE);
        b[4 * i + 2] = _mm256_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0x44);
        b[4 * i + 3] = _mm256_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        o[c] = _mm256_permute2f128_ps(b[c], b[4 + c], 0x20);
        o[4 + c] = _mm256_permute2f128_ps(b[c], b[4 + c], 0x31);
    }
}
#endif

void e2e_mm_pack(const float *B, int64_t sk, int64_t sn, int K, int N, float *P)
{
    int np = (N + NR - 1) / NR;
    for (int p = 0; p < np; p++) {
        int n0 = p * NR, nn = imin(N - n0, NR);
        float *dst = P + (size_t)p * (size_t)K * NR;
#ifdef PACK_V8
        /* attention packs K^T and V per head at run: no library call per 64-byte row, and
           K^T (sk == 1) in 8 x 8 blocks transposed in registers, not column by column */
        if (sn == 1) {
            const __m256i m0 = e2e_lane_mask8(nn), m1 = e2e_lane_mask8(nn - 8);
            for (int k = 0; k < K; k++) {
                const float *s = B + k * sk + n0;
                float *d = dst + (size_t)k * NR;
                _mm256_storeu_ps(d, nn >= 8 ? _mm256_loadu_ps(s) : _mm256_maskload_ps(s, m0));
                _mm256_storeu_ps(d + 8, nn >= 16 ? _mm256_loadu_ps(s + 8)
                                                 : _mm256_maskload_ps(s + 8, m1));
            }
            continue;
        }
        if (sk == 1) {
            for (int g = 0; g < 2; g++) {
                const int nb = n0 + 8 * g, nv = imin(N - nb, 8); /* valid columns, may be <= 0 */
                for (int kb = 0; kb < K; kb += 8) {
                    const int kv = imin(K - kb, 8);
                    const __m256i mk = e2e_lane_mask8(kv);
                    __m256 r[8], o[8];
                    for (int j = 0; j < 8; j++)
                        r[j] = j < nv ? _mm256_maskload_ps(B + (int64_t)(nb + j) * sn + kb, mk)
                                      : _mm256_setzero_ps();
                    transpose8(r, o);
                    for (int kk = 0; kk < kv; kk++)
                        _mm256_storeu_ps(dst + (size_t)(kb + kk) * NR + 8 * g, o[kk]);
                }
            }
            continue;
        }
#endif
        if (sn == 1) {
            for (int k = 0; k < K; k++) {
                float *d = dst + (size_t)k * NR;
                memcpy(d, B + k * sk + n0, sizeof(float) * (size_t)nn);
                if (nn < NR)
                    memset(d + nn, 0, sizeof(float) * (size_t)(NR - nn));
            }
        }
#ifdef __AVX512F__
        else if (sk == 1) {
            /* a transposed operand (K^T of attention): 16 x 16 blocks transposed in registers */
            for (int g = 0; g < 2; g++) {
                const int nb = n0 + 16 * g, nv = imin(N - nb, 16); /* valid columns, may be <= 0 */
                for (int kb = 0; kb < K; kb += 16) {
                    const int kv = imin(K - kb, 16);
                    const __mmask16 mk = (__mmask16)((1u << kv) - 1);
                    __m512 r[16], o[16];
                    for (int j = 0; j < 16; j++)
                        r[j] = j < nv ? _mm512_maskz_loadu_ps(mk, B + (int64_t)(nb + j) * sn + kb)
                                      : _mm512_setzero_ps();
                    transpose16(r, o);
                    for (int kk = 0; kk < kv; kk++)
                        _mm512_storeu_ps(dst + (size_t)(kb + kk) * NR + 16 * g, o[kk]);
                }
            }
        }
#endif
        else {
            /* columns are strided (a transposed operand): walk each column along k */
            for (int j = 0; j < NR; j++) {
                if (j >= nn) {
                    for (int k = 0; k < K; k++)
                        dst[(size_t)k * NR + j] = 0.f;
                    continue;
                }
                const float *src = B + (int64_t)(n0 + j) * sn;
                for (int k = 0; k < K; k++)
                    dst[(size_t)k * NR + j] = src[k * sk];
            }
        }
    }
}

float *e2e_mm_pack_const(const e2e_kernel *k, const e2e_value *b, int64_t sk, int64_t sn, int K,
                         int N, void (*fn)(const float *, int64_t, int64_t, int, int, float *),
                         bool *shared)
{
    const size_t floats = e2e_mm_packed_floats(K, N);
    if ((*shared = k->packs && b->is_model))
        return (float *)e2e_pack_cache_get(k->packs, b->data, sk, sn, K, N, floats, fn);
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

/* ---------------------------------------------------------------- register tiles */

typedef void (*tile_fn)(int K, const float *A, int64_t lda, const float *P, float *C, int64_t ldc,
                        int n, const e2e_mm_epi *e, int64_t row, int col);

/* Activations other than ReLU and GELU, on a stored tile. */
static void tile_act_rest(int m, int n, float *C, int64_t ldc, const e2e_mm_epi *e)
{
    if (e->act == E2E_ACT_NONE || e->act == E2E_ACT_RELU || e->act == E2E_ACT_GELU)
        return;
    for (int i = 0; i < m; i++)
        e2e_act_apply(e->act, e->act_alpha, e->act_beta, C + i * ldc, n);
}

#ifdef __AVX512F__
/* m x 32 outputs: 2 zmm accumulators per row, B rows from the panel, A broadcast. nv = 1
   computes only the first 16 columns (a panel holding at most 16 valid columns). */
static inline __attribute__((always_inline)) void tile(const int m, const int nv, int K, const float *A,
                                                       int64_t lda, const float *P, float *C, int64_t ldc,
                                                       int n, const e2e_mm_epi *e, int64_t row, int col)
{
    __m512 c0[MR], c1[MR];
    const float *a[MR];
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
        a[i] = A + (i < m ? i : 0) * lda;
    }
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_loadu_ps(P), b1 = nv > 1 ? _mm512_loadu_ps(P + 16) : b0;
        /* B streams from L3 the first time a panel is used: fetch 8 KB ahead */
        _mm_prefetch((const char *)(P + 64 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(P + 64 * NR + 16), _MM_HINT_T0);
        P += NR;
        _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
        {
            if (i < m) {
                __m512 ai = _mm512_set1_ps(a[i][k]);
                c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
                if (nv > 1)
                    c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
            }
        }
    }
    __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1);
    const bool scaled = e->scale != 1.f;
    const __m512 s = _mm512_set1_ps(e->scale), zero = _mm512_setzero_ps();
    __m512 bb0 = zero, bb1 = zero;
    if (e->bias) {
        bb0 = _mm512_maskz_loadu_ps(k0, e->bias + col);
        bb1 = _mm512_maskz_loadu_ps(k1, e->bias + col + 16);
    }
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        if (i < m) {
            __m512 x0 = c0[i], x1 = c1[i];
            if (scaled) {
                x0 = _mm512_mul_ps(x0, s);
                x1 = _mm512_mul_ps(x1, s);
            }
            if (e->bias) {
                x0 = _mm512_add_ps(x0, bb0);
                x1 = _mm512_add_ps(x1, bb1);
            }
            if (e->res) {
                const float *r = e->res + (row + i) * e->ldr + col;
                x0 = _mm512_add_ps(_mm512_maskz_loadu_ps(k0, r), x0);
                if (nv > 1)
                    x1 = _mm512_add_ps(_mm512_maskz_loadu_ps(k1, r + 16), x1);
            }
            if (e->act == E2E_ACT_GELU) {
                x0 = e2e_vgelu(x0);
                if (nv > 1)
                    x1 = e2e_vgelu(x1);
            } else if (e->act == E2E_ACT_RELU) {
                x0 = _mm512_max_ps(x0, zero);
                x1 = _mm512_max_ps(x1, zero);
            }
            _mm512_mask_storeu_ps(C + i * ldc, k0, x0);
            if (nv > 1)
                _mm512_mask_storeu_ps(C + i * ldc + 16, k1, x1);
        }
    }
    tile_act_rest(m, n, C, ldc, e);
}
#else
/* Without AVX-512: m x 32 (m <= 6) with AVX2 + FMA intrinsics, or the compiler's generic
   vectors (SSE or scalar code). */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MM_V8 1
#endif
typedef float mm_v8 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) void tile(const int m, const int nv, int K, const float *A,
                                                       int64_t lda, const float *P, float *C, int64_t ldc,
                                                       int n, const e2e_mm_epi *e, int64_t row, int col)
{
    (void)nv;
    mm_v8 c[MR][NR / 8];
    const float *a[MR];
#ifdef MM_V8
    /* MR x 16 per pass: 12 accumulators, 2 B vectors and one broadcast (15 of the 16 ymm
       registers); with NR = 16 one pass covers the panel */
    _Pragma("GCC unroll 6") for (int i = 0; i < MR; i++) a[i] = A + (i < m ? i : 0) * lda;
    for (int h = 0; h < NR / 16; h++) {
        if (h > 0 && n <= 16 * h)
            break;
        __m256 acc[MR][2];
        _Pragma("GCC unroll 6") for (int i = 0; i < MR; i++)
        {
            acc[i][0] = _mm256_setzero_ps();
            acc[i][1] = _mm256_setzero_ps();
        }
        const float *pb = P + 16 * h;
        for (int k = 0; k < K; k++, pb += NR) {
            const __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
            _Pragma("GCC unroll 6") for (int i = 0; i < MR; i++)
            {
                if (i < m) {
                    const __m256 ai = _mm256_broadcast_ss(a[i] + k);
                    acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
                }
            }
        }
        /* epilogue of columns [16h, 16h + nh), in the scalar path's order of operations */
        const int c0 = 16 * h, nh = imin(n - c0, 16);
        const __m256 sc = _mm256_set1_ps(e->scale), zero = _mm256_setzero_ps();
        _Pragma("GCC unroll 6") for (int i = 0; i < MR; i++)
        {
            if (i >= m)
                break;
            float *y = C + i * ldc + c0;
            const float *r = e->res ? e->res + (row + i) * e->ldr + col + c0 : NULL;
            const float *bi = e->bias ? e->bias + col + c0 : NULL;
            _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++)
            {
                const int nv = nh - 8 * v;
                if (nv <= 0)
                    break;
                const __m256i mk = e2e_lane_mask8(nv);
                __m256 x = acc[i][v];
                if (e->scale != 1.f)
                    x = _mm256_mul_ps(x, sc);
                if (bi)
                    x = _mm256_add_ps(x, nv >= 8 ? _mm256_loadu_ps(bi + 8 * v) : _mm256_maskload_ps(bi + 8 * v, mk));
                if (r)
                    x = _mm256_add_ps(nv >= 8 ? _mm256_loadu_ps(r + 8 * v) : _mm256_maskload_ps(r + 8 * v, mk), x);
                if (e->act == E2E_ACT_RELU)
                    x = _mm256_max_ps(x, zero);
                else if (e->act == E2E_ACT_GELU)
                    x = e2e_vgelu8(x);
                if (nv >= 8)
                    _mm256_storeu_ps(y + 8 * v, x);
                else
                    _mm256_maskstore_ps(y + 8 * v, mk, x);
            }
        }
    }
    (void)c;
    tile_act_rest(m, n, C, ldc, e);
#else
    memset(c, 0, sizeof c);
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) a[i] = A + (i < m ? i : 0) * lda;
    for (int k = 0; k < K; k++) {
        mm_v8 b[NR / 8];
        memcpy(b, P, sizeof b);
        P += NR;
        _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)
        {
            if (i < m) {
                const float av = a[i][k];
                const mm_v8 ai = {av, av, av, av, av, av, av, av};
                _Pragma("GCC unroll 4") for (int v = 0; v < NR / 8; v++) c[i][v] += ai * b[v];
            }
        }
    }
    for (int i = 0; i < m; i++) {
        float t[NR];
        memcpy(t, c[i], sizeof t);
        float *y = C + i * ldc;
        const float *r = e->res ? e->res + (row + i) * e->ldr + col : NULL;
        for (int j = 0; j < n; j++) {
            float x = t[j];
            if (e->scale != 1.f)
                x *= e->scale;
            if (e->bias)
                x += e->bias[col + j];
            if (r)
                x = r[j] + x;
            if (e->act == E2E_ACT_RELU)
                x = x > 0.f ? x : 0.f;
            y[j] = x;
        }
        if (e->act == E2E_ACT_GELU)
            e2e_gelu_f32(y, y, n);
    }
    tile_act_rest(m, n, C, ldc, e);
#endif
}
#endif

#define TILE(M_)                                                                                 \
    static void tile_##M_(int K, const float *A, int64_t lda, const float *P, float *C, int64_t ldc, \
                          int n, const e2e_mm_epi *e, int64_t row, int col)                        \
    {                                                                                            \
        if (n > 16)                                                                              \
            tile(M_, 2, K, A, lda, P, C, ldc, n, e, row, col);                                   \
        else                                                                                     \
            tile(M_, 1, K, A, lda, P, C, ldc, n, e, row, col);                                   \
    }
TILE(1)
TILE(2)
#if MR > 6
TILE(3)
TILE(4)
TILE(5)
TILE(6)
TILE(7)
TILE(8)
TILE(9)
TILE(10)
TILE(11)
TILE(12)
static const tile_fn tiles[MR + 1] = {NULL,   tile_1, tile_2, tile_3,  tile_4,  tile_5, tile_6,
                                      tile_7, tile_8, tile_9, tile_10, tile_11, tile_12};
#else
TILE(3)
TILE(4)
TILE(5)
TILE(6)
static const tile_fn tiles[MR + 1] = {NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6};
#endif

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

static void mm_block(int m0, int m1, int p0, int p1, int N, int K, const float *A, int64_t lda,
                     const float *P, float *C, int64_t ldc, const e2e_mm_epi *e)
{
    const int kc = K > 2 * KC ? KC : K;
    int64_t mc = (int64_t)(128 * 1024) / ((int64_t)(kc > 0 ? kc : 1) * (int64_t)sizeof(float));
    mc = mc / MR * MR;
    if (mc < MR)
        mc = MR;
    for (int mb = m0; mb < m1; mb += (int)mc) {
        int me = (int)(mb + mc < m1 ? mb + mc : m1);
        for (int k0 = 0; k0 < K || k0 == 0; k0 += kc) {
            const int kk = imin(kc, K - k0);
            e2e_mm_epi eb = *e;
            if (k0 > 0) { /* accumulate */
                eb.bias = NULL;
                eb.res = C;
                eb.ldr = ldc;
            }
            if (k0 + kk < K)
                eb.act = E2E_ACT_NONE;
            for (int p = p0; p < p1; p++) {
                int col = p * NR, n = imin(N - col, NR);
                const float *Pp = P + ((size_t)p * (size_t)K + (size_t)k0) * NR;
                for (int i = mb; i < me; i += MR) {
                    int m = imin(me - i, MR);
                    tiles[m](kk, A + i * lda + k0, lda, Pp, C + i * ldc + col, ldc, n, &eb, i, col);
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

void e2e_mm_run(int M, int N, int K, const float *A, int64_t lda, const float *P, float *C,
                int64_t ldc, const e2e_mm_epi *e)
{
    if (M <= 0 || N <= 0)
        return;
    mm_block(0, M, 0, (N + NR - 1) / NR, N, K, A, lda, P, C, ldc, e);
}

typedef struct mm_job {
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
    if (j->by_rows)
        mm_block(u0 * MR, imin(u1 * MR, j->M), 0, (j->N + NR - 1) / NR, j->N, j->K, j->A, j->lda, j->P,
                 j->C, j->ldc, j->e);
    else
        mm_block(0, j->M, u0, u1, j->N, j->K, j->A, j->lda, j->P, j->C, j->ldc, j->e);
}

void e2e_mm_run_pool(e2e_pool *pool, int M, int N, int K, const float *A, int64_t lda,
                     const float *P, float *C, int64_t ldc, const e2e_mm_epi *e)
{
    if (M <= 0 || N <= 0)
        return;
    int threads = e2e_pool_threads(pool);
    int np = (N + NR - 1) / NR, mt = (M + MR - 1) / MR;
    if (threads <= 1 || 2.0 * M * N * K < 2e5 || (np < 2 && mt < 2)) {
        mm_block(0, M, 0, np, N, K, A, lda, P, C, ldc, e);
        return;
    }
    /* cut the larger operand: rows of A (each thread reads all of B) or panels of B */
    bool by_rows = (M > N && mt >= threads) || np < threads;
    mm_job j = {M, N, K, by_rows ? mt : np, by_rows, A, P, lda, ldc, C, e};
    e2e_pool_run(pool, mm_task, &j, imin(j.units, max_tasks(pool)));
}

/* ---------------------------------------------------------------- fused attention */

/* Row softmax in place over n values. */
static void softmax_row(float *x, int n)
{
    float m = -INFINITY;
    int j = 0;
#ifdef __AVX512F__
    __m512 vm = _mm512_set1_ps(-INFINITY);
    for (; j + 16 <= n; j += 16)
        vm = _mm512_max_ps(vm, _mm512_loadu_ps(x + j));
    if (j < n)
        vm = _mm512_mask_max_ps(vm, (__mmask16)((1u << (n - j)) - 1), vm, _mm512_loadu_ps(x + j));
    m = _mm512_reduce_max_ps(vm);
#elif defined(MM_V8)
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (; j + 8 <= n; j += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + j));
    if (j < n) {
        const __m256i k = e2e_lane_mask8(n - j);
        vm = _mm256_max_ps(vm, _mm256_blendv_ps(vm, _mm256_maskload_ps(x + j, k), _mm256_castsi256_ps(k)));
    }
    m = e2e_hmax8(vm);
#else
    for (; j < n; j++)
        m = x[j] > m ? x[j] : m;
#endif
    if (isinf(m) && m < 0) {
        for (j = 0; j < n; j++)
            x[j] = NAN; /* a fully masked row: 0/0 */
        return;
    }
    float sum;
#ifdef __AVX512F__
    __m512 vs = _mm512_setzero_ps(), mv = _mm512_set1_ps(m);
    for (j = 0; j + 16 <= n; j += 16) {
        __m512 v = e2e_vexp_neg(_mm512_sub_ps(_mm512_loadu_ps(x + j), mv));
        _mm512_storeu_ps(x + j, v);
        vs = _mm512_add_ps(vs, v);
    }
    if (j < n) {
        __mmask16 k = (__mmask16)((1u << (n - j)) - 1);
        __m512 v = e2e_vexp_neg(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), mv));
        v = _mm512_maskz_mov_ps(k, v);
        _mm512_mask_storeu_ps(x + j, k, v);
        vs = _mm512_add_ps(vs, v);
    }
    sum = _mm512_reduce_add_ps(vs);
    __m512 inv = _mm512_set1_ps(1.f / sum);
    for (j = 0; j + 16 <= n; j += 16)
        _mm512_storeu_ps(x + j, _mm512_mul_ps(_mm512_loadu_ps(x + j), inv));
    if (j < n) {
        __mmask16 k = (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(x + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + j), inv));
    }
#elif defined(MM_V8)
    __m256 vs = _mm256_setzero_ps(), mv = _mm256_set1_ps(m);
    for (j = 0; j + 8 <= n; j += 8) {
        const __m256 v = e2e_vexp_neg8(_mm256_sub_ps(_mm256_loadu_ps(x + j), mv));
        _mm256_storeu_ps(x + j, v);
        vs = _mm256_add_ps(vs, v);
    }
    const __m256i k = e2e_lane_mask8(n - j);
    if (j < n) {
        __m256 v = e2e_vexp_neg8(_mm256_sub_ps(_mm256_maskload_ps(x + j, k), mv));
        v = _mm256_and_ps(v, _mm256_castsi256_ps(k));
        _mm256_maskstore_ps(x + j, k, v);
        vs = _mm256_add_ps(vs, v);
    }
    sum = e2e_hsum8(vs);
    const __m256 inv = _mm256_set1_ps(1.f / sum);
    for (j = 0; j + 8 <= n; j += 8)
        _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), inv));
    if (j < n)
        _mm256_maskstore_ps(x + j, k, _mm256_mul_ps(_mm256_maskload_ps(x + j, k), inv));
#else
    sum = 0.f;
    for (j = 0; j < n; j++) {
        x[j] = expf(x[j] - m);
        sum += x[j];
    }
    float inv = 1.f / sum;
    for (j = 0; j < n; j++)
        x[j] *= inv;
#endif
}

#define ATT_RB 48 /* query rows per block: the block's scores stay in L1/L2 */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

typedef struct attn_dims {
    int r;                  /* rank of the views */
    int T, D, S, Dv;
    int64_t ldS;
    size_t kp, vp, sb, qt, ot; /* float offsets inside a slot */
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
    size_t off = 0;
    g->kp = off;
    off += round16(e2e_mm_packed_floats(g->D, g->S));
    g->vp = off;
    off += round16(e2e_mm_packed_floats(g->S, g->Dv));
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
    if (!c || k->n_in != 3 || k->n_out != 1 || !k->in[0] || !k->in[1] || !k->in[2] || !k->out[0])
        return e2e_kfail(k, E2E_ERR_INVALID, "fused attention without its configuration");
    for (int i = 0; i < 3; i++)
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
    if (c->kt.dims[r - 2] != c->q.dims[r - 1] || c->v.dims[r - 2] != c->kt.dims[r - 1] ||
        c->o.dims[r - 2] != c->q.dims[r - 2] || c->o.dims[r - 1] != c->v.dims[r - 1])
        return e2e_kfail(k, E2E_ERR_SHAPE, "fused attention views do not chain");
    for (int d = r - 2; d < r; d++)
        if (c->q.dims[d] > INT32_MAX / 64 || c->kt.dims[d] > INT32_MAX / 64 || c->v.dims[d] > INT32_MAX / 64)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "fused attention dims too large");
    int threads = e2e_pool_threads(k->pool);
    int64_t T = c->q.dims[r - 2];
    c->qchunks = 1;
    while (c->batch * c->qchunks < 2 * threads && T / (c->qchunks + 1) >= MR)
        c->qchunks++;
    c->slot_floats = attn_slot(c);
    k->ws_size = sizeof(float) * c->slot_floats * (size_t)max_tasks(k->pool); /* a slot per task */
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

static void attn_task(void *ctx, int t, int nt)
{
    const attn_job *j = ctx;
    const e2e_attn_cfg *c = j->c;
    const attn_dims *g = &j->g;
    const int r = g->r;
    float *slot = (float *)j->k->ws + (size_t)t * c->slot_floats;
    float *Kp = slot + g->kp, *Vp = slot + g->vp, *Sb = slot + g->sb, *Qt = slot + g->qt, *Ot = slot + g->ot;
    const float *Q = j->k->in[0]->data, *KT = j->k->in[1]->data, *V = j->k->in[2]->data;
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
        for (int d = r - 3; d >= 0; d--) {
            int64_t i = rem % c->q.dims[d];
            rem /= c->q.dims[d];
            oq += i * c->q.strides[d];
            ok += i * c->kt.strides[d];
            ov += i * c->v.strides[d];
            oo += i * c->o.strides[d];
        }
        const bool ahead = u + 1 < u1 && (u + 1) / c->qchunks != b; /* prefetch the next head */
        if (packed_b != b) {
            e2e_mm_pack(KT + ok, c->kt.strides[r - 2], c->kt.strides[r - 1], g->D, g->S, Kp);
            e2e_mm_pack(V + ov, c->v.strides[r - 2], c->v.strides[r - 1], g->S, g->Dv, Vp);
            packed_b = b;
        }
        int rs = (int)((int64_t)g->T * ch / c->qchunks), re = (int)((int64_t)g->T * (ch + 1) / c->qchunks);
        for (int r0 = rs; r0 < re; r0 += ATT_RB) {
            int rb = imin(ATT_RB, re - r0);
            const float *A = Q + oq + r0 * qt;
            int64_t lda = qt;
            if (qd != 1) {
                for (int i = 0; i < rb; i++)
                    for (int d = 0; d < g->D; d++)
                        Qt[(size_t)i * g->D + d] = A[i * qt + d * qd];
                A = Qt;
                lda = g->D;
            }
            e2e_mm_run(rb, g->S, g->D, A, lda, Kp, Sb, g->ldS, &scale);
            for (int i = 0; i < rb; i++) {
                softmax_row(Sb + i * g->ldS, g->S);
                if (ahead)
                    attn_prefetch(c, g, Q, KT, V, b + 1, r0 + i - rs, re - rs);
            }
            float *Y = O + oo + r0 * ot;
            if (oe == 1) {
                e2e_mm_run(rb, g->Dv, g->S, Sb, g->ldS, Vp, Y, ot, &plain);
            } else {
                e2e_mm_run(rb, g->Dv, g->S, Sb, g->ldS, Vp, Ot, g->Dv, &plain);
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
    int tasks = units < max_tasks(k->pool) ? (int)units : max_tasks(k->pool);
    e2e_pool_run(k->pool, attn_task, &j, tasks);
    return E2E_OK;
}

const e2e_op_def e2e_op_attention = {"Attention", attn_prepare, attn_run, free, 0};

/* ---------------------------------------------------------------- fused patch embedding */

static void patch_release(void *v)
{
    e2e_patch_cfg *c = v;
    if (c)
        e2e_mm_pack_release(c->packed, c->shared);
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
    int threads = e2e_pool_threads(k->pool);
    if (threads > 1 && chunk * threads > rows) /* enough steps for every thread */
        chunk = (rows + threads - 1) / threads;
    chunk = (chunk + MR - 1) / MR * MR;
    c->chunk = (int)(chunk < MR ? MR : chunk > rows ? (rows + MR - 1) / MR * MR : chunk);
    c->packed = e2e_mm_pack_const(k, w, 1, c->K, c->K, c->E, e2e_mm_pack, &c->shared); /* W^T */
    if (!c->packed)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory packing the patch weights");
    k->ws_size = sizeof(float) * (size_t)c->chunk * (size_t)c->K * (size_t)threads;
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
                    for (int64_t px = px0; px < px1; px++, a += c->K) {
                        const float *sp = src + px * c->Pw;
                        int j = 0;
#ifdef __AVX512F__
                        for (; j + 16 <= c->Pw; j += 16)
                            _mm512_storeu_ps(a + j, _mm512_loadu_ps(sp + j));
                        if (j < c->Pw) {
                            __mmask16 m = (__mmask16)((1u << (c->Pw - j)) - 1);
                            _mm512_mask_storeu_ps(a + j, m, _mm512_maskz_loadu_ps(m, sp + j));
                            j = c->Pw;
                        }
#endif
                        for (; j < c->Pw; j++) /* short pieces: no memcpy call each */
                            a[j] = sp[j];
                    }
                }
            r += px1 - px0;
        }
        e2e_mm_run((int)(r1 - r0), c->E, c->K, A, c->K, c->packed, Y + r0 * c->E, c->E, &e);
    }
}

static e2e_status patch_run(e2e_kernel *k)
{
    const e2e_patch_cfg *c = k->priv;
    int64_t rows = (int64_t)c->B * c->Hp * c->Wp;
    patch_job j = {k, c, (int)((rows + c->chunk - 1) / c->chunk)};
    int threads = e2e_pool_threads(k->pool);
    e2e_pool_run(k->pool, patch_task, &j, j.steps < threads ? j.steps : threads);
    return E2E_OK;
}

const e2e_op_def e2e_op_patch_embed = {"PatchEmbed", patch_prepare, patch_run, patch_release, 0};
