/* PointwiseMLP (ops_pointwise.c), the kernel behind the fusion of engine/passes/fuse_pointwise.c:
   Conv 1x1 -> Relu -> Conv 1x1 on few channels. Inputs x, w1, b1, w2, b2 (b1, b2 may be
   NULL); the channel counts must be within the limits below. */
#ifndef E2E_OPS_POINTWISE_H
#define E2E_OPS_POINTWISE_H

#include "ops/op.h"

#define E2E_POINTWISE_MAX_IN 8
#define E2E_POINTWISE_MAX_HIDDEN 64
#define E2E_POINTWISE_MAX_OUT 16

extern const e2e_op_def e2e_op_pointwise_mlp;

/* The weights as the block kernels read them: w1 [ch][ci], b1 [ch], w2 [co][ch], b2 [co]. */
typedef struct e2e_pw_weights {
    int ci, ch, co;
    const float *w1, *b1, *w2, *b2;
} e2e_pw_weights;

/* One block of positions (8, or 16 for AVX-512) starting at x, channel stride s, into y. */
typedef void (*e2e_pw_block_fn)(const e2e_pw_weights *w, const float *x, float *y, int64_t s);
void e2e_pw_block_avx2(const e2e_pw_weights *w, const float *x, float *y, int64_t s);   /* 8 */
void e2e_pw_block_avx512(const e2e_pw_weights *w, const float *x, float *y, int64_t s); /* 16 */

#endif
