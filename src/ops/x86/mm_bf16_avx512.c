/* bfloat16-weight tiles in AVX-512 (ops/mm_bf16.h): the widen tile (12 x 32, weights widened to
   float32 by a 16-bit shift, FMA with float32 A) for the AVX-512 level, and the dot tile
   (12 x 32, VDPBF16PS on bfloat16 pairs of A and B) with the conversion of A to pairs, for
   CPUs with AVX512_BF16. Compiled with the AVX-512 flags (Makefile); only the functions marked
   BF16 below use the AVX512_BF16 instructions, so the widen table runs on any AVX-512 CPU. */
#include <immintrin.h>
#include <string.h>

#include "ops/mm_bf16.h"
#include "ops/x86/mm_epi_avx512.h"
#include "ops/x86/simd_avx512.h"

#define MR E2E_MM_TILE_ROWS
#define NR E2E_BF16_NR
#define INLINE static inline __attribute__((always_inline))
#define BF16 __attribute__((target("avx512bf16")))

/* The epilogue of an m x 32 tile held in c0, c1 (mm_bf16.h), the float32 tile's. */
INLINE void store_tile(const int m, const __m512 *c0, const __m512 *c1, float *C, int64_t ldc,
                       int n, const e2e_mm_epi *e, int64_t row, int col)
{
    e2e_mm_store_tile_avx512(m, n > 16 ? 2 : 1, c0, c1, C, ldc, n, e, row, col);
}

INLINE void widen_t(const int m, const bool sp, int K, const float *A, int64_t lda, const uint16_t *P, float *C,
                    int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    /* few rows: the odd k go to accumulators of their own (d0, d1), so that each one's
       chain of dependent FMAs is half as long and the weight streams at the memory's pace */
    const bool split = sp && m <= 6;
    __m512 c0[MR], c1[MR], d0[6], d1[6];
    const float *a[MR];
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
        if (i < 6)
            d0[i] = d1[i] = _mm512_setzero_ps();
        a[i] = A + (i < m ? i : 0) * lda;
    }
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    const int Q2 = K / 2;
    for (int q = 0; q < Q2; q++) {
        const __m512i w0 = _mm512_loadu_si512(P), w1 = _mm512_loadu_si512(P + 32);
        /* a panel streams once per row block, from memory at batch 1: ask for it 8 KB ahead
           (1 KB ahead: ~18% slower with the weight in DRAM, equal from L3) */
        _mm_prefetch((const char *)(P + 4096), _MM_HINT_T0);
        _mm_prefetch((const char *)(P + 4096 + 32), _MM_HINT_T0);
        P += 2 * NR;
        const __m512 e0 = _mm512_castsi512_ps(_mm512_slli_epi32(w0, 16));
        const __m512 o0 = _mm512_castsi512_ps(_mm512_and_si512(w0, hi));
        const __m512 e1 = _mm512_castsi512_ps(_mm512_slli_epi32(w1, 16));
        const __m512 o1 = _mm512_castsi512_ps(_mm512_and_si512(w1, hi));
        _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
        {
            if (i < m) {
                const __m512 x = _mm512_set1_ps(a[i][2 * q]), y = _mm512_set1_ps(a[i][2 * q + 1]);
                c0[i] = _mm512_fmadd_ps(x, e0, c0[i]);
                c1[i] = _mm512_fmadd_ps(x, e1, c1[i]);
                if (split && i < 6) {
                    d0[i] = _mm512_fmadd_ps(y, o0, d0[i]);
                    d1[i] = _mm512_fmadd_ps(y, o1, d1[i]);
                } else {
                    c0[i] = _mm512_fmadd_ps(y, o0, c0[i]);
                    c1[i] = _mm512_fmadd_ps(y, o1, c1[i]);
                }
            }
        }
    }
    if (K & 1) { /* the last k alone: its partner is padding, A has no element there */
        const __m512i w0 = _mm512_loadu_si512(P), w1 = _mm512_loadu_si512(P + 32);
        const __m512 e0 = _mm512_castsi512_ps(_mm512_slli_epi32(w0, 16));
        const __m512 e1 = _mm512_castsi512_ps(_mm512_slli_epi32(w1, 16));
        _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
        {
            if (i < m) {
                const __m512 x = _mm512_set1_ps(a[i][K - 1]);
                c0[i] = _mm512_fmadd_ps(x, e0, c0[i]);
                c1[i] = _mm512_fmadd_ps(x, e1, c1[i]);
            }
        }
    }
    if (split)
        _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++) if (i < m)
        {
            c0[i] = _mm512_add_ps(c0[i], d0[i]);
            c1[i] = _mm512_add_ps(c1[i], d1[i]);
        }
    store_tile(m, c0, c1, C, ldc, n, e, row, col);
}

#define CASES(F, ...)                                                                              \
    switch (m) {                                                                                   \
    case 1: F(1, __VA_ARGS__); break;                                                              \
    case 2: F(2, __VA_ARGS__); break;                                                              \
    case 3: F(3, __VA_ARGS__); break;                                                              \
    case 4: F(4, __VA_ARGS__); break;                                                              \
    case 5: F(5, __VA_ARGS__); break;                                                              \
    case 6: F(6, __VA_ARGS__); break;                                                              \
    case 7: F(7, __VA_ARGS__); break;                                                              \
    case 8: F(8, __VA_ARGS__); break;                                                              \
    case 9: F(9, __VA_ARGS__); break;                                                              \
    case 10: F(10, __VA_ARGS__); break;                                                            \
    case 11: F(11, __VA_ARGS__); break;                                                            \
    default: F(12, __VA_ARGS__); break;                                                            \
    }

static void widen(int m, int K, const void *A, int64_t lda, const uint16_t *P, float *C,
                  int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    CASES(widen_t, true, K, (const float *)A, lda, P, C, ldc, n, e, row, col)
}

static void widen_seq(int m, int K, const void *A, int64_t lda, const uint16_t *P, float *C,
                      int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    CASES(widen_t, false, K, (const float *)A, lda, P, C, ldc, n, e, row, col)
}

/* ---------------------------------------------------------------- AVX512_BF16 */

/* One pair of k for the tile's m rows: each row's pair of A (broadcast) times the panel's
   pairs b0 (columns 0-15) and b1 (16-31), added to the float32 sums c0, c1. */
BF16 INLINE void dot_rows(const int m, const int nv, const uint32_t *const *a, int q, __m512bh b0,
                          __m512bh b1, __m512 *c0, __m512 *c1)
{
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        if (i < m) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[i][q]);
            c0[i] = _mm512_dpbf16_ps(c0[i], x, b0);
            if (nv > 1)
                c1[i] = _mm512_dpbf16_ps(c1[i], x, b1);
        }
    }
}

/* nv = 1: only the panel's first 16 columns (n <= 16: attention's last key, the class token,
   alone in a panel of 32) */
BF16 INLINE void dot_t(const int m, const int nv, int K, const uint32_t *A, int64_t lda, const uint16_t *P,
                       float *C, int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    __m512 c0[MR], c1[MR];
    const uint32_t *a[MR];
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
        a[i] = A + (i < m ? i : 0) * lda;
    }
    /* the output's and the residual's lines come from L3 or memory: ask for them now, the
       products hide the wait */
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        if (i < m) {
            _mm_prefetch((const char *)(C + i * ldc), _MM_HINT_ET0);
            if (nv > 1)
                _mm_prefetch((const char *)(C + i * ldc + 16), _MM_HINT_ET0);
            if (e->res) {
                const float *r = e->res + (row + i) * e->ldr + col;
                _mm_prefetch((const char *)r, _MM_HINT_T0);
                if (nv > 1)
                    _mm_prefetch((const char *)(r + 16), _MM_HINT_T0);
            }
        }
    }
    const int Q = (K + 1) / 2;
    for (int q = 0; q < Q; q++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(P);
        const __m512bh b1 = nv > 1 ? (__m512bh)_mm512_loadu_si512(P + 32) : b0;
        _mm_prefetch((const char *)(P + 1024), _MM_HINT_T0);
        if (nv > 1)
            _mm_prefetch((const char *)(P + 1024 + 32), _MM_HINT_T0);
        P += 2 * NR;
        dot_rows(m, nv, a, q, b0, b1, c0, c1);
    }
    e2e_mm_store_tile_avx512(m, nv, c0, c1, C, ldc, n, e, row, col);
}

BF16 static void dot(int m, int K, const void *A, int64_t lda, const uint16_t *P, float *C,
                     int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    if (n > 16)
        CASES(dot_t, 2, K, (const uint32_t *)A, lda, P, C, ldc, n, e, row, col)
    else
        CASES(dot_t, 1, K, (const uint32_t *)A, lda, P, C, ldc, n, e, row, col)
}

/* The dot tile of a long product cut into k sub-blocks (mm_bf16.c): the sums start from the
   previous sub-block's, read back from T (row stride ldt, 32 columns a panel, the padding
   columns too), or from zero (first); they go back to T (C == NULL) or, with the last
   sub-block, through the epilogue to C. A float32 store and load are exact, so an output is
   the same sequential sum over k as one dot tile over the whole K. */
BF16 INLINE void dot_acc_t(const int m, const int nv, int K, const uint32_t *A, int64_t lda,
                           const uint16_t *P, float *T, int ldt, bool first, float *C, int64_t ldc,
                           int n, const e2e_mm_epi *e, int64_t row, int col,
                           const e2e_bf16_ahead *ah)
{
    __m512 c0[MR], c1[MR];
    const uint32_t *a[MR];
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        c0[i] = c1[i] = _mm512_setzero_ps();
        if (i < m && !first) {
            c0[i] = _mm512_loadu_ps(T + i * ldt);
            if (nv > 1)
                c1[i] = _mm512_loadu_ps(T + i * ldt + 16);
        }
        a[i] = A + (i < m ? i : 0) * lda;
    }
    const int Q = (K + 1) / 2;
    /* the next sub-block's lines, asked for one (or two) per pair: from memory or L3 they
       arrive while this sub-block's products run, where the hardware's prefetchers, with
       dozens of short streams, left each tile waiting at its start */
    const char *pb = ah->b, *pa = ah->a;
    const int64_t plda = ah->lda;
    const int nb = ah->nb, na = ah->na, sh = ah->a_shift, lmask = (1 << sh) - 1;
    for (int q = 0; q < Q; q++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(P);
        const __m512bh b1 = nv > 1 ? (__m512bh)_mm512_loadu_si512(P + 32) : b0;
        if (q < nb)
            _mm_prefetch(pb + 64 * q, _MM_HINT_T0);
        if (q + Q < nb)
            _mm_prefetch(pb + 64 * (q + Q), _MM_HINT_T0);
        if (q < na)
            _mm_prefetch(pa + (q >> sh) * plda + 64 * (q & lmask), _MM_HINT_T0);
        if (q + Q < na)
            _mm_prefetch(pa + ((q + Q) >> sh) * plda + 64 * ((q + Q) & lmask), _MM_HINT_T0);
        P += 2 * NR;
        dot_rows(m, nv, a, q, b0, b1, c0, c1);
    }
    if (C) {
        e2e_mm_store_tile_avx512(m, nv, c0, c1, C, ldc, n, e, row, col);
        return;
    }
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        if (i < m) {
            _mm512_storeu_ps(T + i * ldt, c0[i]);
            if (nv > 1)
                _mm512_storeu_ps(T + i * ldt + 16, c1[i]);
        }
    }
}

BF16 static void dot_acc(int m, int K, const uint32_t *A, int64_t lda, const uint16_t *P, float *T,
                         int ldt, bool first, float *C, int64_t ldc, int n, const e2e_mm_epi *e,
                         int64_t row, int col, const e2e_bf16_ahead *ah)
{
    if (n > 16)
        CASES(dot_acc_t, 2, K, A, lda, P, T, ldt, first, C, ldc, n, e, row, col, ah)
    else
        CASES(dot_acc_t, 1, K, A, lda, P, T, ldt, first, C, ldc, n, e, row, col, ah)
}

BF16 static void to_pairs(int m, int K, const float *A, int64_t lda, uint32_t *D, int64_t ldd)
{
    for (int i = 0; i < m; i++) {
        const float *s = A + i * lda;
        uint32_t *d = D + i * ldd;
        int k = 0;
        for (; k + 32 <= K; k += 32)
            _mm512_storeu_si512(d + k / 2, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + k + 16),
                                                                      _mm512_loadu_ps(s + k)));
        if (k < K) {
            const int t = K - k, lo = t < 16 ? t : 16, hi = t - lo;
            const __m512 x0 = _mm512_maskz_loadu_ps((__mmask16)((1u << lo) - 1), s + k);
            const __m512 x1 = _mm512_maskz_loadu_ps((__mmask16)((1u << hi) - 1), s + k + 16);
            _mm512_mask_storeu_epi32(d + k / 2, (__mmask16)((1u << ((t + 1) / 2)) - 1),
                                     (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
        }
    }
}

/* e2e_bf16_pack at run (attention packs K^T and V per head). sk == 1 (K^T: each column's k
   contiguous, a row of K): a column's pairs come from one cvtne2ps and are scattered down
   the panel, 32 words apart. sn == 1 (V: rows along n): rows 2q and 2q + 1 are rounded
   together and interleaved into pairs. The rounding is VCVTNE2PS2BF16's, as to_pairs' (to
   nearest even, NaN stays NaN; it also flushes subnormals to zero, unlike the plain C pack). */
BF16 static void pack_run(const float *B, int64_t sk, int64_t sn, int K, int N, uint16_t *P)
{
    if (sk != 1 && sn != 1) {
        e2e_bf16_pack(B, sk, sn, K, N, (float *)P);
        return;
    }
    const int Q = (K + 1) / 2;
    uint32_t *W = (uint32_t *)P;
    for (int col = 0; col < N; col += NR) {
        uint32_t *d = W + (size_t)(col / NR) * (size_t)Q * NR;
        const int nn = N - col < NR ? N - col : NR;
        if (sk == 1) {
            /* 16 columns at a time: each one's 16 pairs from a cvtne2ps (a row of the block),
               the block transposed so that a pair's 16 columns are one vector */
            for (int g = 0; g < 2; g++) {
                const int nb = col + 16 * g, nv = N - nb < 16 ? N - nb : 16; /* may be <= 0 */
                for (int k = 0; k < K; k += 32) {
                    const int t = K - k < 32 ? K - k : 32, lo = t < 16 ? t : 16, hi = t - lo;
                    const __mmask16 m0 = (__mmask16)((1u << lo) - 1), m1 = (__mmask16)((1u << hi) - 1);
                    __m512 r[16], o[16];
                    for (int j = 0; j < 16; j++) {
                        const float *s = B + (int64_t)(nb + j) * sn + k;
                        r[j] = j < nv ? (__m512)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, s + 16),
                                                                   _mm512_maskz_loadu_ps(m0, s))
                                      : _mm512_setzero_ps();
                    }
                    e2e_transpose16_avx512(r, o);
                    for (int q = 0; q < (t + 1) / 2; q++)
                        _mm512_storeu_ps((float *)d + (size_t)(k / 2 + q) * NR + 16 * g, o[q]);
                }
            }
        } else {
            /* word j of pair q: bf16(B[2q][j]) low, bf16(B[2q + 1][j]) high */
            const __m512i mix = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
                                                 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3,
                                                 18, 2, 17, 1, 16, 0);
            for (int q = 0; q < Q; q++) {
                const float *r0 = B + (int64_t)(2 * q) * sk + col, *r1 = r0 + sk;
                const bool odd = 2 * q + 1 < K;
                for (int c = 0; c < NR; c += 16) {
                    const int cnt = nn - c <= 0 ? 0 : nn - c < 16 ? nn - c : 16;
                    const __mmask16 m = (__mmask16)((1u << cnt) - 1);
                    const __m512 x0 = _mm512_maskz_loadu_ps(m, r0 + c);
                    const __m512 x1 = odd ? _mm512_maskz_loadu_ps(m, r1 + c) : _mm512_setzero_ps();
                    const __m512i w = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
                    _mm512_storeu_si512(d + (size_t)q * NR + c, _mm512_permutexvar_epi16(mix, w));
                }
            }
        }
    }
}

const e2e_bf16_kernels e2e_bf16_avx512 = {"avx512", MR, widen, 0, NULL, NULL, widen_seq, NULL, NULL};
const e2e_bf16_kernels e2e_bf16_avx512_dot = {"avx512-bf16", MR, widen, MR, dot, to_pairs, widen_seq,
                                               pack_run, dot_acc};
