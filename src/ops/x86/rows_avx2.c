/* Row kernels in AVX2 + FMA (GELU; more in later sections): the forms the ISA-neutral
   operators dispatch to (e2e_isa_level). */
#include "ops/x86/simd_avx2.h"

void e2e_gelu_f32_avx2(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, e2e_vgelu8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++)
        y[i] = e2e_gelu1(x[i]);
}
