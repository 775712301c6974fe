/* ConvMaxPool -> ConvMaxPool, both on the bfloat16 kernels, the first's output read only by
   the second  =>  ConvChain (ops/ops_conv_chain.c): the pair runs image by image, so the
   intermediate of one image (the jet SimpleNets: 256 KB) stays in cache between the two
   instead of a batch-sized tensor (8 MB at batch 32) going out to memory and back. After
   "conv-pool" (which makes the ConvMaxPool kernels and sets their activations). Float32
   sessions keep the layer-by-layer order. */
#include <stdlib.h>

#include "engine/passes/fuse_internal.h"
#include "ops/ops_conv_chain.h"

bool e2e_fuse_conv_chain(e2e_fuse_ctx *c, e2e_kernel *k1)
{
    if (!k1->op || k1->ctx->precision != E2E_PRECISION_BF16 || !k1->out[0] ||
        !e2e_fuse_float_temp(k1->out[0]))
        return false;
    e2e_kernel *k2 = e2e_fuse_sole_consumer(c, k1->out[0]);
    if (!k2 || !e2e_conv_chain_fits(k1, k2))
        return false;
    e2e_conv_chain *ch = calloc(1, sizeof *ch);
    if (!ch)
        return false;
    ch->a = *k1;
    ch->b = *k2;
    e2e_value *in[5] = {k1->in[0], k1->in[1], k1->n_in > 2 ? k1->in[2] : NULL, k2->in[1],
                        k2->n_in > 2 ? k2->in[2] : NULL};
    e2e_kernel k;
    if (!e2e_fuse_make_kernel(c, k2, &e2e_op_conv_chain, "ConvChain", in, 5, k2->out, 1, ch, &k))
        return false;
    /* the chain owns the two prepared kernels' state from here */
    ch->owns = true;
    k1->priv = NULL;
    k2->priv = NULL;
    e2e_kernel *drop[] = {k1};
    e2e_fuse_install(c, &k, k2, drop, 1);
    return true;
}
