/* The epilogue of the AVX-512 register tiles (12 rows x 32 columns in two zmm per row), shared
   by the float32 tile (mm_avx512.c) and the bfloat16 tiles (mm_bf16_avx512.c): scale, bias,
   residual, ReLU/GELU in registers (other activations on the stored rows), masked stores of
   the first n columns. nv = 1: only the first 16 columns are held (c1 is not read). Included
   by files compiled with the AVX-512 flags only. */
#ifndef E2E_OPS_X86_MM_EPI_AVX512_H
#define E2E_OPS_X86_MM_EPI_AVX512_H

#include <immintrin.h>
#include <stdbool.h>

#include "ops/mm_packed.h"
#include "ops/x86/simd_avx512.h"

#define E2E_MM_TILE_ROWS 12

static inline __attribute__((always_inline)) void
e2e_mm_store_tile_avx512(const int m, const int nv, const __m512 *c0, const __m512 *c1, float *C,
                         int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col)
{
    __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1);
    const bool scaled = e->scale != 1.f;
    const __m512 s = _mm512_set1_ps(e->scale), zero = _mm512_setzero_ps();
    __m512 bb0 = zero, bb1 = zero;
    if (e->bias) {
        bb0 = _mm512_maskz_loadu_ps(k0, e->bias + col);
        bb1 = _mm512_maskz_loadu_ps(k1, e->bias + col + 16);
    }
    _Pragma("GCC unroll 12") for (int i = 0; i < E2E_MM_TILE_ROWS; i++)
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
                x0 = _mm512_max_ps(zero, x0);
                x1 = _mm512_max_ps(zero, x1);
            }
            _mm512_mask_storeu_ps(C + i * ldc, k0, x0);
            if (nv > 1)
                _mm512_mask_storeu_ps(C + i * ldc + 16, k1, x1);
        }
    }
    e2e_mm_act_rest(m, n, C, ldc, e);
}

#endif
