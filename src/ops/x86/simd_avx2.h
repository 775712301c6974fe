/* AVX2 + FMA helpers for the kernel files compiled for AVX2 (*_avx2.c): lane masks,
   horizontal sums, vector exp and GELU (accuracy and method: ops/vmath.h). */
#ifndef E2E_SIMD_AVX2_H
#define E2E_SIMD_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#include "ops/vmath.h"

/* Lanes [0, n) set (n clamped to 0..8): the mask of maskload/maskstore for a partial vector. */
static inline __m256i e2e_lane_mask8(int64_t n)
{
    static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(ones + 8 - (n < 0 ? 0 : n < 8 ? n : 8)));
}

/* Sum of the 8 lanes. */
static inline float e2e_hsum8(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* Largest of the 8 lanes. */
static inline float e2e_hmax8(__m256 v)
{
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* e2e_vexp_neg on 8 floats: 2^n is built in the exponent field (n >= -126 after the clamp). */
static inline __m256 e2e_vexp_neg8(__m256 v)
{
    v = _mm256_max_ps(_mm256_set1_ps(-87.3f), v); /* this order keeps a NaN in v */
    __m256 n = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
/* The same GELU on 8 floats (AVX2 + FMA builds). */
static inline __m256 e2e_vgelu8(__m256 x)
{
    const __m256 lim = _mm256_set1_ps(3.92f), nlim = _mm256_set1_ps(-3.92f);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    __m256 hi = _mm256_cmp_ps(z, lim, _CMP_GT_OQ), lo = _mm256_cmp_ps(z, nlim, _CMP_LT_OQ);
    z = _mm256_max_ps(_mm256_min_ps(z, lim), nlim);
    __m256 w = _mm256_mul_ps(z, z);
    __m256 p = _mm256_set1_ps(E2E_GELU_P5);
    p = _mm256_fmadd_ps(p, w, _mm256_set1_ps(E2E_GELU_P4));
    p = _mm256_fmadd_ps(p, w, _mm256_set1_ps(E2E_GELU_P3));
    p = _mm256_fmadd_ps(p, w, _mm256_set1_ps(E2E_GELU_P2));
    p = _mm256_fmadd_ps(p, w, _mm256_set1_ps(E2E_GELU_P1));
    p = _mm256_fmadd_ps(p, w, _mm256_set1_ps(E2E_GELU_P0));
    __m256 q = _mm256_set1_ps(E2E_GELU_Q5);
    q = _mm256_fmadd_ps(q, w, _mm256_set1_ps(E2E_GELU_Q4));
    q = _mm256_fmadd_ps(q, w, _mm256_set1_ps(E2E_GELU_Q3));
    q = _mm256_fmadd_ps(q, w, _mm256_set1_ps(E2E_GELU_Q2));
    q = _mm256_fmadd_ps(q, w, _mm256_set1_ps(E2E_GELU_Q1));
    q = _mm256_fmadd_ps(q, w, _mm256_set1_ps(1.f));
    /* 1/q from the 12-bit estimate and one Newton step: a division would be the slowest
       instruction of the epilogue */
    __m256 r = _mm256_rcp_ps(q);
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(q, r, _mm256_set1_ps(2.f)));
    __m256 erf = _mm256_mul_ps(_mm256_mul_ps(z, p), r);
    __m256 hx = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    __m256 y = _mm256_blendv_ps(_mm256_fmadd_ps(hx, erf, hx), x, hi);
    /* x * 0 there: -0, or NaN for -Inf as the unfused graph's -Inf * (1 + erf) = -Inf * 0 */
    return _mm256_blendv_ps(y, _mm256_mul_ps(x, _mm256_setzero_ps()), lo);
}

/* max(a, b) where a NaN in either wins (as the plain MaxPool): vmaxps alone returns b when
   either is NaN, so the lanes where the pair is unordered are set to all ones (a NaN). */
static inline __m256 e2e_vmax_nan8(__m256 a, __m256 b)
{
    return _mm256_or_ps(_mm256_max_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
}
static inline __m128 e2e_vmax_nan4(__m128 a, __m128 b)
{
    return _mm_or_ps(_mm_max_ps(a, b), _mm_cmpunord_ps(a, b));
}

#endif
