/* AVX-512 loops of QuantizeLinear and DequantizeLinear (ops/ops_quant.c) over a run of values
   sharing one scale and zero point, with the scalar code's results: x / scale by division,
   clamped to [lo - zp, hi - zp] (NaN -> lo, as fmaxf), rounded half to even (MXCSR default),
   plus zp; (x - zp) * scale for the way back. */
#include <immintrin.h>

#include "ops/qgemm.h"

void e2e_quant_f32_avx512(int64_t n, const float *x, float s, int32_t zp, bool s8, void *y)
{
    const float lo = s8 ? -128.f : 0.f, hi = s8 ? 127.f : 255.f;
    const __m512 vs = _mm512_set1_ps(s), flo = _mm512_set1_ps(lo - (float)zp),
                 fhi = _mm512_set1_ps(hi - (float)zp);
    const __m512i vzp = _mm512_set1_epi32(zp);
    uint8_t *d = y;
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mk = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(mk, x + i), vs);
        v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi); /* max first: NaN -> lo */
        __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(v), vzp);
        if (s8)
            _mm512_mask_cvtsepi32_storeu_epi8(d + i, mk, r);
        else
            _mm512_mask_cvtusepi32_storeu_epi8(d + i, mk, r);
    }
}

void e2e_dequant_avx512(int64_t n, const void *x, bool s8, int32_t zp, float s, float *y)
{
    const __m512 vs = _mm512_set1_ps(s);
    const __m512i vzp = _mm512_set1_epi32(zp);
    const uint8_t *b = x;
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mk = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m128i q = _mm_maskz_loadu_epi8(mk, b + i);
        __m512i v = s8 ? _mm512_cvtepi8_epi32(q) : _mm512_cvtepu8_epi32(q);
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, vzp)), vs);
        _mm512_mask_storeu_ps(y + i, mk, f);
    }
}
