/* AVX-512 helpers for the kernel files compiled for AVX-512 (*_avx512.c): vector exp and GELU
   (accuracy and method: ops/vmath.h). */
#ifndef E2E_SIMD_AVX512_H
#define E2E_SIMD_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#include "ops/vmath.h"

static inline __m512 e2e_vexp_neg(__m512 v)
{
    v = _mm512_max_ps(_mm512_set1_ps(-87.3f), v); /* this order keeps a NaN in v */
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
    /* x * 0 there: -0, or NaN for -Inf as the unfused graph's -Inf * (1 + erf) = -Inf * 0 */
    return _mm512_mask_mul_ps(y, lo, x, _mm512_setzero_ps());
}

/* max(a, b) where a NaN in either wins (as the plain MaxPool): vmaxps alone returns b when
   either is NaN, so a's NaN is put back. */
static inline __m512 e2e_vmax_nan(__m512 a, __m512 b)
{
    return _mm512_mask_mov_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
}

/* o[c] = column c of the 16 x 16 block r[0..15] (rows): 32-bit then 64-bit interleaves
   inside 128-bit lanes, then two rounds of lane shuffles. */
static inline void e2e_transpose16_avx512(const __m512 *r, __m512 *o)
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

/* Winograd F(2x2, 3x3)'s output transform (A^T M A) of 16 tiles at once: the products m_ij of
   the 4x4 transformed positions at buf + (4 i + j) * bs give each tile's outputs y[0..3] =
   (0,0), (0,1), (1,0), (1,1) before the bias. Shared by the float32 and bfloat16 Winograd
   kernels so that both round alike. */
static inline __attribute__((always_inline)) void e2e_wino_sums16(const float *buf, int64_t bs,
                                                                  __m512 y[4])
{
    __m512 s0[4], s1[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        const __m512 m0 = _mm512_loadu_ps(buf + (0 * 4 + j) * bs), m1 = _mm512_loadu_ps(buf + (1 * 4 + j) * bs);
        const __m512 m2 = _mm512_loadu_ps(buf + (2 * 4 + j) * bs), m3 = _mm512_loadu_ps(buf + (3 * 4 + j) * bs);
        s0[j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
        s1[j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    y[0] = _mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]);
    y[1] = _mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]);
    y[2] = _mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]);
    y[3] = _mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3]);
}

/* e2e_wino_sums16 plus the bias b. */
static inline __attribute__((always_inline)) void e2e_wino_out16(const float *buf, int64_t bs,
                                                                 __m512 b, __m512 y[4])
{
    e2e_wino_sums16(buf, bs, y);
    y[0] = _mm512_add_ps(y[0], b);
    y[1] = _mm512_add_ps(y[1], b);
    y[2] = _mm512_add_ps(y[2], b);
    y[3] = _mm512_add_ps(y[3], b);
}

#endif
