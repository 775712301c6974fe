/* Row kernels in AVX-512 (GELU; more in later sections): the forms the ISA-neutral operators
   dispatch to (e2e_isa_level). */
#include "ops/x86/simd_avx512.h"

void e2e_gelu_f32_avx512(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, e2e_vgelu(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, e2e_vgelu(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
