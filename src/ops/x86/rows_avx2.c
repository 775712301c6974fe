/* Row kernels in AVX2 + FMA (rows.h): GELU, a LayerNorm row, a row of 2x2 pooling, and the
   dot products of the few-row GEMM (blas.c). Compiled with the AVX2 flags (Makefile). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "ops/blas_nt.h"
#include "ops/rows.h"
#include "ops/x86/simd_avx2.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

void e2e_gelu_f32_avx2(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, e2e_vgelu8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++)
        y[i] = e2e_gelu1(x[i]);
}

void e2e_ln_row_avx2(const float *x, const float *S, const float *B, float *y, int64_t n, float eps,
                     float *mean, float *inv)
{
    float m, iv;
    /* statistics in float over 8 lanes: whole vectors, then the masked tail (zeros past the
       row); two accumulators, so the sums are not one chain of dependent adds. The mean is
       that of x - x[0], plus x[0]: with a large common offset (|x| ~ 1e3, std ~ 1) the
       differences are exact and small, so their sum rounds far less than the sum of x did
       (~1e-4 in the mean, in every output); then the centred variance */
    const __m256i k = e2e_lane_mask8(n % 8);
    const __m256 km = _mm256_castsi256_ps(k);
    const int64_t nf = n - n % 8;
    const float c = x[0];
    const __m256 vc = _mm256_set1_ps(c);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= nf; i += 16) {
        a0 = _mm256_add_ps(a0, _mm256_sub_ps(_mm256_loadu_ps(x + i), vc));
        a1 = _mm256_add_ps(a1, _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vc));
    }
    if (i < nf)
        a0 = _mm256_add_ps(a0, _mm256_sub_ps(_mm256_loadu_ps(x + i), vc));
    if (nf < n)
        a1 = _mm256_add_ps(a1, _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nf, k), vc), km));
    /* centred values as x - m with the mean m rounded to float, as the spec's function body
       does (stash_type 1: Mean is a float32 tensor) and ONNX Runtime and PyTorch do
       (docs/operator-notes.md) */
    const float ms = e2e_hsum8(_mm256_add_ps(a0, a1)) / (float)n;
    m = c + ms;
    const __m256 vm = _mm256_set1_ps(m);
    a0 = a1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= nf; i += 16) {
        const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
        a0 = _mm256_fmadd_ps(d0, d0, a0);
        a1 = _mm256_fmadd_ps(d1, d1, a1);
    }
    if (i < nf) {
        const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        a0 = _mm256_fmadd_ps(d, d, a0);
    }
    if (nf < n) {
        const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nf, k), vm), km);
        a1 = _mm256_fmadd_ps(d, d, a1);
    }
    iv = 1.f / sqrtf(e2e_hsum8(_mm256_add_ps(a0, a1)) / (float)n + eps);
    const __m256 vi = _mm256_set1_ps(iv);
    for (i = 0; i < nf; i += 8) {
        const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi);
        const __m256 b = B ? _mm256_loadu_ps(B + i) : _mm256_setzero_ps();
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(S + i), b));
    }
    if (nf < n) {
        const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nf, k), vm), vi);
        const __m256 b = B ? _mm256_maskload_ps(B + nf, k) : _mm256_setzero_ps();
        _mm256_maskstore_ps(y + nf, k, _mm256_fmadd_ps(d, _mm256_maskload_ps(S + nf, k), b));
    }
    *mean = m;
    *inv = iv;
}

/* Whole vectors of 8 outputs; returns how many (the caller does the rest). */
int64_t e2e_pool2_row_avx2(bool is_max, const float *r0, const float *r1, float *y, int64_t n)
{
    int64_t i = 0;
    const __m256 q = _mm256_set1_ps(0.25f);
    for (; i + 8 <= n; i += 8) {
        __m256 a0 = _mm256_loadu_ps(r0 + 2 * i), a1 = _mm256_loadu_ps(r1 + 2 * i);
        __m256 b0 = _mm256_loadu_ps(r0 + 2 * i + 8), b1 = _mm256_loadu_ps(r1 + 2 * i + 8);
        __m256 a = is_max ? e2e_vmax_nan8(a0, a1) : _mm256_add_ps(a0, a1);
        __m256 b = is_max ? e2e_vmax_nan8(b0, b1) : _mm256_add_ps(b0, b1);
        /* even / odd lanes of (a, b), within 128-bit halves, then fix the half order */
        __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
        __m256 r = is_max ? e2e_vmax_nan8(e, o) : _mm256_mul_ps(_mm256_add_ps(e, o), q);
        r = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(r), 0xD8));
        _mm256_storeu_ps(y + i, r);
    }
    return i;
}

/* out[m][r] = dot(A row m, W row r) for m < MR, r < NR, over K. */
static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

ALWAYS_INLINE void dots(int MR, int NR, int K, const float *A, int lda, const float *W, int ldw,
                        float out[4][8])
{
    __m256 acc[4][8];
#pragma GCC unroll 4
    for (int m = 0; m < MR; m++)
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            acc[m][r] = _mm256_setzero_ps();
    /* as the AVX-512 version: the first floats up to W's next 32-byte boundary one by one
       (added at the end), then whole-line loads */
    const int head0 = (ldw & 7) == 0 ? (int)(((32 - ((uintptr_t)W & 31)) & 31) >> 2) : 0;
    const int head = head0 < K ? head0 : 0;
    int k = head;
    for (; k + 8 <= K; k += 8) {
        __m256 a[4];
#pragma GCC unroll 4
        for (int m = 0; m < MR; m++)
            a[m] = _mm256_loadu_ps(A + (long)m * lda + k);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m256 w = _mm256_loadu_ps(W + (long)r * ldw + k);
#pragma GCC unroll 4
            for (int m = 0; m < MR; m++)
                acc[m][r] = _mm256_fmadd_ps(a[m], w, acc[m][r]);
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < MR; m++)
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            float s = hsum256(acc[m][r]);
            for (int kk = k; kk < K; kk++)
                s += A[(long)m * lda + kk] * W[(long)r * ldw + kk];
            for (int kk = 0; kk < head; kk++)
                s += A[(long)m * lda + kk] * W[(long)r * ldw + kk];
            out[m][r] = s;
        }
}

#define NT_ROWS e2e_nt_rows_avx2
#include "ops/blas_nt_rows.h"
