/* EdgeGatherAdd (ops_edgeconv.c), the kernel behind the EdgeConv fusion of
   engine/passes/fuse_edge.c. The pass fills the sizes and passes them as the kernel's priv
   (malloc'd; released with free). */
#ifndef E2E_OPS_EDGECONV_H
#define E2E_OPS_EDGECONV_H

#include "ops/op.h"

typedef struct e2e_edge_gather_priv {
    int64_t m, k, c;    /* nodes, neighbours per node, channels */
    int reduce;         /* 1: max over the k neighbours, output [M, C]; 0: output [M, K, C] */
    e2e_act act;        /* E2E_ACT_NONE, _RELU or _LEAKY_RELU */
    float alpha;        /* LeakyRelu's slope */
} e2e_edge_gather_priv;

extern const e2e_op_def e2e_op_edge_gather_add;

#endif
