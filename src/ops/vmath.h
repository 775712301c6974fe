/* Vector math for the transformer kernels (GELU epilogues, attention softmax, LayerNorm):
   16 floats at a time with AVX-512 (GELU also 8 with AVX2), a scalar path otherwise.
   Header-only, static inline.

   e2e_vexp_neg: exp(x) for x <= 0 (softmax after subtracting the row maximum): Cody-
     Waite reduction x = n ln2 + r, the Cephes degree-6 polynomial for exp(r), 2^n applied
     with vscalefps (no overflow/underflow handling needed: arguments are clamped at -87.3,
     which gives ~1e-38 instead of a denormal). Relative error ~2e-7.
   e2e_vgelu: GELU 0.5 x (1 + erf(x / sqrt 2)) with erf(z) = z P(z^2) / Q(z^2), a (5, 5)
     rational fitted here (Lawson-weighted Sanathanan-Koerner iterations in double) to the
     minimax error 1.6e-8 on |z| <= 3.92, and GELU = x or 0 beyond (1 - erf(3.92) = 3e-8).
     Evaluated in float the absolute error of erf is below 4e-7, so GELU is within
     2e-7 |x| + 1 ulp: the accuracy of the unfused graph (Div, Erf, Add 1, Mul, Mul), whose
     1 + erf already rounds to 1.2e-7. About 24 vector operations per 16 values. */
#ifndef E2E_VMATH_H
#define E2E_VMATH_H

#include <math.h>
#include <stdint.h>

/* erf(z) ~ z P(z^2) / Q(z^2) on |z| <= 3.92 */
#define E2E_GELU_P0 1.128379022e+00f
#define E2E_GELU_P1 1.927638797e-01f
#define E2E_GELU_P2 5.306044656e-02f
#define E2E_GELU_P3 3.868316700e-03f
#define E2E_GELU_P4 2.874786860e-04f
#define E2E_GELU_P5 2.034730400e-06f
#define E2E_GELU_Q1 5.041642070e-01f
#define E2E_GELU_Q2 1.150845356e-01f
#define E2E_GELU_Q3 1.517227487e-02f
#define E2E_GELU_Q4 1.188111678e-03f
#define E2E_GELU_Q5 3.807055665e-05f

#ifdef __AVX512F__
#include <immintrin.h>

static inline __m512 e2e_vexp_neg(__m512 v)
{
    v = _mm512_max_ps(v, _mm512_set1_ps(-87.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), v);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
    return _mm512_scalef_ps(p, n);
}

static inline __m512 e2e_vgelu(__m512 x)
{
    /* z = x / sqrt 2 clamped to +-3.92, erf(z) = z P(z^2) / Q(z^2); beyond the clamp the
       result is x or 0 exactly, as erf rounds to +-1 there */
    const __m512 lim = _mm512_set1_ps(3.92f), nlim = _mm512_set1_ps(-3.92f);
    __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
    __mmask16 hi = _mm512_cmp_ps_mask(z, lim, _CMP_GT_OQ), lo = _mm512_cmp_ps_mask(z, nlim, _CMP_LT_OQ);
    z = _mm512_max_ps(_mm512_min_ps(z, lim), nlim);
    __m512 w = _mm512_mul_ps(z, z);
    __m512 p = _mm512_set1_ps(E2E_GELU_P5);
    p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(E2E_GELU_P4));
    p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(E2E_GELU_P3));
    p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(E2E_GELU_P2));
    p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(E2E_GELU_P1));
    p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(E2E_GELU_P0));
    __m512 q = _mm512_set1_ps(E2E_GELU_Q5);
    q = _mm512_fmadd_ps(q, w, _mm512_set1_ps(E2E_GELU_Q4));
    q = _mm512_fmadd_ps(q, w, _mm512_set1_ps(E2E_GELU_Q3));
    q = _mm512_fmadd_ps(q, w, _mm512_set1_ps(E2E_GELU_Q2));
    q = _mm512_fmadd_ps(q, w, _mm512_set1_ps(E2E_GELU_Q1));
    q = _mm512_fmadd_ps(q, w, _mm512_set1_ps(1.f));
    __m512 r = _mm512_rcp14_ps(q);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(2.f))); /* one Newton step */
    __m512 erf = _mm512_mul_ps(_mm512_mul_ps(z, p), r);
    __m512 hx = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    __m512 y = _mm512_mask_mov_ps(_mm512_fmadd_ps(hx, erf, hx), hi, x);
    return _mm512_mask_mov_ps(y, lo, _mm512_setzero_ps());
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

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
    v = _mm256_max_ps(v, _mm256_set1_ps(-87.3f));
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
    return _mm256_blendv_ps(y, _mm256_setzero_ps(), lo);
}
#endif

/* Scalar twin (same formula). */
static inline float e2e_gelu1(float x)
{
    float z = x * 0.70710678118654752f;
    if (z > 3.92f)
        return x;
    if (z < -3.92f)
        return 0.f;
    float w = z * z;
    float p = ((((E2E_GELU_P5 * w + E2E_GELU_P4) * w + E2E_GELU_P3) * w + E2E_GELU_P2) * w + E2E_GELU_P1) * w +
              E2E_GELU_P0;
    float q = ((((E2E_GELU_Q5 * w + E2E_GELU_Q4) * w + E2E_GELU_Q3) * w + E2E_GELU_Q2) * w + E2E_GELU_Q1) * w + 1.f;
    float hx = 0.5f * x;
    return hx + hx * (z * p / q);
}

/* y[i] = gelu(x[i]); y may equal x. */
static inline void e2e_gelu_f32(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
#ifdef __AVX512F__
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, e2e_vgelu(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, e2e_vgelu(_mm512_maskz_loadu_ps(m, x + i)));
        return;
    }
#elif defined(__AVX2__) && defined(__FMA__)
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, e2e_vgelu8(_mm256_loadu_ps(x + i)));
#endif
    for (; i < n; i++)
        y[i] = e2e_gelu1(x[i]);
}

#endif
