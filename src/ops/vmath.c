/* The GELU row function (vmath.h): plain C, or the process's instruction set's. */
#include "ops/cpu_isa.h"
#include "ops/vmath.h"

void e2e_gelu_f32_generic(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = e2e_gelu1(x[i]);
}

void e2e_gelu_f32(const float *x, float *y, int64_t n)
{
#ifdef E2E_X86
    switch (e2e_isa_default()) {
    case E2E_ISA_AVX512:
        e2e_gelu_f32_avx512(x, y, n);
        return;
    case E2E_ISA_AVX2:
        e2e_gelu_f32_avx2(x, y, n);
        return;
    default:
        break;
    }
#endif
    e2e_gelu_f32_generic(x, y, n);
}
