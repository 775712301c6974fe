/* Row kernels of the instruction sets (src/ops/x86/rows_avx2.c, rows_avx512.c) for the
   operators that keep their plain C form in their own file: the operator picks one at
   prepare by its kernel's level (e2e_kernel.isa). */
#ifndef E2E_ROWS_H
#define E2E_ROWS_H

#include <stdbool.h>
#include <stdint.h>

/* LayerNorm of one row of n floats: y = (x - mean) * inv * S + B (B may be NULL), inv =
   1 / sqrt(var + eps); *mean and *inv receive the statistics. */
typedef void (*e2e_ln_row_fn)(const float *x, const float *S, const float *B, float *y, int64_t n,
                              float eps, float *mean, float *inv);
void e2e_ln_row_avx2(const float *x, const float *S, const float *B, float *y, int64_t n, float eps,
                     float *mean, float *inv);
void e2e_ln_row_avx512(const float *x, const float *S, const float *B, float *y, int64_t n,
                       float eps, float *mean, float *inv);

/* y[i] = max (or mean) of the 2x2 windows at r0[2i], r1[2i] for i < n; returns how many
   outputs it wrote (a prefix; the caller does the rest). */
typedef int64_t (*e2e_pool2_row_fn)(bool is_max, const float *r0, const float *r1, float *y,
                                    int64_t n);
int64_t e2e_pool2_row_avx2(bool is_max, const float *r0, const float *r1, float *y, int64_t n);
int64_t e2e_pool2_row_avx512(bool is_max, const float *r0, const float *r1, float *y, int64_t n);

#endif
