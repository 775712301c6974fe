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

#endif
