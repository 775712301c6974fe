/* bfloat16-weight tile in AVX2 + FMA (ops/mm_bf16.h): 2 x 32 outputs (8 ymm accumulators),
   weights widened to float32 by a 16-bit shift, float32 A. Compiled with the AVX2 flags. */
#include <immintrin.h>
#include <stdbool.h>

#include "ops/mm_bf16.h"

#define MR 2
#define NR E2E_BF16_NR
#define INLINE static inline __attribute__((always_inline))

INLINE void widen_t(const int m, const bool split, int K, const float *A, int64_t lda, const uint16_t *P, float *C,
                    int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    __m256 c[MR][4];
    const float *a[MR];
    _Pragma("GCC unroll 2") for (int i = 0; i < MR; i++) {
        _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)
            c[i][v] = _mm256_setzero_ps();
        a[i] = A + (i < m ? i : 0) * lda;
    }
    const __m256i hi = _mm256_set1_epi32((int)0xFFFF0000u);
    const int Q2 = K / 2;
    for (int q = 0; q < Q2; q++) {
        _mm_prefetch((const char *)(P + 512), _MM_HINT_T0);
        _mm_prefetch((const char *)(P + 512 + 32), _MM_HINT_T0);
        __m256 x[MR], y[MR];
        _Pragma("GCC unroll 2") for (int i = 0; i < MR; i++) {
            x[i] = _mm256_broadcast_ss(a[i] + 2 * q);
            y[i] = _mm256_broadcast_ss(a[i] + 2 * q + 1);
        }
        _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) {
            const __m256i w = _mm256_loadu_si256((const __m256i *)(P + 16 * v));
            const __m256 e = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
            const __m256 o = _mm256_castsi256_ps(_mm256_and_si256(w, hi));
            if (split && m == 1) { /* row 1's accumulators take the odd k: half as long chains */
                c[0][v] = _mm256_fmadd_ps(x[0], e, c[0][v]);
                c[1][v] = _mm256_fmadd_ps(y[0], o, c[1][v]);
            } else
                _Pragma("GCC unroll 2") for (int i = 0; i < MR; i++) {
                    c[i][v] = _mm256_fmadd_ps(x[i], e, c[i][v]);
                    c[i][v] = _mm256_fmadd_ps(y[i], o, c[i][v]);
                }
        }
        P += 2 * NR;
    }
    if (K & 1) {
        _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) {
            const __m256i w = _mm256_loadu_si256((const __m256i *)(P + 16 * v));
            const __m256 e = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
            _Pragma("GCC unroll 2") for (int i = 0; i < MR; i++)
                if (i < m)
                    c[i][v] = _mm256_fmadd_ps(_mm256_broadcast_ss(a[i] + K - 1), e, c[i][v]);
        }
    }
    if (split && m == 1)
        _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)
            c[0][v] = _mm256_add_ps(c[0][v], c[1][v]);
    /* sums to a buffer, then the plain C epilogue (few rows: the weight's bytes are the cost) */
    float t[MR * NR];
    _Pragma("GCC unroll 2") for (int i = 0; i < MR; i++) {
        if (i >= m)
            break;
        _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++)
            _mm256_storeu_ps(t + i * NR + 8 * v, c[i][v]);
    }
    e2e_bf16_store(m, n, t, NR, C, ldc, e, row, col);
}

static void widen(int m, int K, const void *A, int64_t lda, const uint16_t *P, float *C,
                  int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    if (m == 1)
        widen_t(1, true, K, A, lda, P, C, ldc, n, e, row, col);
    else
        widen_t(2, true, K, A, lda, P, C, ldc, n, e, row, col);
}

static void widen_seq(int m, int K, const void *A, int64_t lda, const uint16_t *P, float *C,
                      int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    if (m == 1)
        widen_t(1, false, K, A, lda, P, C, ldc, n, e, row, col);
    else
        widen_t(2, false, K, A, lda, P, C, ldc, n, e, row, col);
}

const e2e_bf16_kernels e2e_bf16_avx2 = {"avx2", MR, widen, 0, NULL, NULL, widen_seq, NULL, NULL};
