/* FLOP estimates for e2e info and the profiles (a multiply-add counts 2). */
#include <string.h>

#include "ops/mm_packed.h"
#include "ops/ops_conv_chain.h"
#include "engine/session.h"

double e2e_kernel_flops(const e2e_kernel *k)
{
    const char *t = k->node->op_type;
    const e2e_value *y = k->n_out ? k->out[0] : NULL;
    if (!y)
        return 0;
    if (!strcmp(t, "Conv") && k->n_in > 1 && k->in[1] && k->in[1]->shape.rank >= 1) {
        double per_out = (double)k->in[1]->numel / (double)k->in[1]->shape.dims[0];
        return 2.0 * (double)y->numel * per_out;
    }
    if (!strcmp(t, "ConvMaxPool") && k->in[1] && k->in[1]->shape.rank >= 1) {
        /* out[0] is pooled 2x2: four convolution outputs per element */
        double per_out = (double)k->in[1]->numel / (double)k->in[1]->shape.dims[0];
        return 2.0 * 4.0 * (double)y->numel * per_out;
    }
    if (!strcmp(t, "ConvChain") && k->priv) {
        const e2e_conv_chain *ch = k->priv;
        return e2e_kernel_flops(&ch->a) + e2e_kernel_flops(&ch->b);
    }
    if (!strcmp(t, "Gemm") && k->in[0] && k->in[0]->shape.rank == 2) {
        const e2e_attr *ta = e2e_node_attr(k->node, "transA");
        int64_t kdim = k->in[0]->shape.dims[ta && ta->i ? 0 : 1];
        return 2.0 * (double)y->numel * (double)kdim;
    }
    if (!strcmp(t, "Attention") && k->priv) { /* fused: softmax(Q K^T) V */
        const e2e_attn_cfg *c = k->priv;
        int r = c->q.rank;
        return 2.0 * (double)c->batch * (double)c->q.dims[r - 2] * (double)c->kt.dims[r - 1] *
               (double)(c->q.dims[r - 1] + c->v.dims[r - 1]);
    }
    if (!strcmp(t, "PatchEmbed") && k->priv) {
        const e2e_patch_cfg *c = k->priv;
        return 2.0 * (double)y->numel * (double)c->C * c->Ph * c->Pw;
    }
    if (!strcmp(t, "MatMul") && k->in[0] && k->in[0]->shape.rank >= 1)
        return 2.0 * (double)y->numel * (double)k->in[0]->shape.dims[k->in[0]->shape.rank - 1];
    static const char *moves[] = {"Reshape", "Flatten", "Transpose", "Concat", "Slice", "Split", "Gather",
                                  "Squeeze", "Unsqueeze", "Identity", "Expand", "Tile", "Pad", "Cast",
                                  "Shape", "Size", "Dropout", "Constant", "ConstantOfShape", "Range"};
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
        if (!strcmp(t, moves[i]))
            return 0;
    return (double)y->numel;
}
