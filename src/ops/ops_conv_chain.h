/* ConvChain (ops_conv_chain.c): two bfloat16 ConvMaxPool kernels, the second reading only the
   first's output, run image by image: the first's output for one image goes to the workspace
   and the second reads it from cache instead of from a batch-sized tensor in memory. Made by
   the pattern pass engine/passes/fuse_conv_chain.c. */
#ifndef E2E_OPS_CONV_CHAIN_H
#define E2E_OPS_CONV_CHAIN_H

#include <stdbool.h>

#include "ops/op.h"

typedef struct e2e_conv_chain {
    e2e_kernel a, b;  /* the two ConvMaxPool kernels as prepared (b reads a->out[0]) */
    bool owns;        /* a.priv and b.priv are the chain's (released with it) */
    size_t mid_at;    /* byte offset of one image's intermediate in the workspace */
    int64_t mid_floats;
} e2e_conv_chain;

extern const e2e_op_def e2e_op_conv_chain;

/* Whether prepared kernels a -> b can run as a chain: both ConvMaxPool on the bfloat16
   kernels (CONV_BF16), b's input a's output, the same batch. */
bool e2e_conv_chain_fits(const e2e_kernel *a, const e2e_kernel *b);

#endif
