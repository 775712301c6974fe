/* Vector math for the transformer kernels (GELU epilogues, attention softmax, LayerNorm):
   the constants and scalar forms here; the vector forms, 16 floats at a time with AVX-512 and
   8 with AVX2, in src/ops/x86/simd_avx512.h and simd_avx2.h (static inline, for the kernel
   files compiled for those instruction sets).

   e2e_vexp_neg: exp(x) for x <= 0 (softmax after subtracting the row maximum): Cody-
     Waite reduction x = n ln2 + r, the Cephes degree-6 polynomial for exp(r), 2^n applied
     with vscalefps (no overflow/underflow handling needed: arguments are clamped at -87.3,
     which gives ~1e-38 instead of a denormal). Relative error ~2e-7.
   e2e_vgelu: GELU 0.5 x (1 + erf(x / sqrt 2)) with erf(z) = z P(z^2) / Q(z^2), a (5, 5)
     rational fitted here (Lawson-weighted Sanathanan-Koerner iterations in double) to the
     minimax error 1.6e-8 on |z| <= 3.92, and GELU = x or x * 0 beyond (1 - erf(3.92) = 3e-8;
     x * 0 is -0, or NaN for -Inf as in the unfused graph: docs/operator-notes.md).
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

/* Scalar twin (same formula). */
static inline float e2e_gelu1(float x)
{
    float z = x * 0.70710678118654752f;
    if (z > 3.92f)
        return x;
    if (z < -3.92f)
        return x * 0.f; /* -0, or NaN for -Inf as the unfused graph (-Inf * (1 + erf) = -Inf * 0) */
    float w = z * z;
    float p = ((((E2E_GELU_P5 * w + E2E_GELU_P4) * w + E2E_GELU_P3) * w + E2E_GELU_P2) * w + E2E_GELU_P1) * w +
              E2E_GELU_P0;
    float q = ((((E2E_GELU_Q5 * w + E2E_GELU_Q4) * w + E2E_GELU_Q3) * w + E2E_GELU_Q2) * w + E2E_GELU_Q1) * w + 1.f;
    float hx = 0.5f * x;
    return hx + hx * (z * p / q);
}

/* y[i] = gelu(x[i]); y may equal x. Vector code of the process's instruction-set level
   (e2e_isa_default: the CPU's, capped by E2E_ISA; the row function has no session). */
void e2e_gelu_f32(const float *x, float *y, int64_t n);
/* The plain C form and the ISA forms it dispatches to (src/ops/x86/rows_*.c). */
void e2e_gelu_f32_generic(const float *x, float *y, int64_t n);
void e2e_gelu_f32_avx2(const float *x, float *y, int64_t n);
void e2e_gelu_f32_avx512(const float *x, float *y, int64_t n);

#endif
