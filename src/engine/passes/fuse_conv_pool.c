/* Conv + MaxPool (pass table: passes.c): Conv [-> Relu | LeakyRelu | Sigmoid] -> MaxPool
   2x2, stride 2, no padding, dilation 1, floor, no Indices  =>  ConvMaxPool (ops/ops_conv.c):
   the pooled output is written straight from the convolution's registers (when the Conv
   takes the direct or Winograd kernel; otherwise the pattern is left alone). */
#include <string.h>
#include "engine/passes/fuse_internal.h"

extern const e2e_op_def e2e_op_conv_maxpool; /* ops/ops_conv.c */

/* MaxPool over 2-D images with a 2x2 window, stride 2, no padding, floor rounding, no Indices. */
static bool is_pool2x2(const e2e_kernel *k)
{
    static const int64_t two[2] = {2, 2}, one[2] = {1, 1}, zero[4] = {0, 0, 0, 0};
    if (!e2e_fuse_is_op(k, "MaxPool") || k->in[0]->shape.rank != 4 || (k->n_out > 1 && k->out[1]))
        return false;
    const e2e_attr *cm = e2e_node_attr(k->node, "ceil_mode"), *ap = e2e_node_attr(k->node, "auto_pad");
    if (!e2e_node_attr(k->node, "kernel_shape") || !e2e_fuse_attr_ints_are(k, "kernel_shape", 2, two, 0) ||
        !e2e_fuse_attr_ints_are(k, "strides", 2, two, 1) || !e2e_fuse_attr_ints_are(k, "pads", 4, zero, 0) ||
        !e2e_fuse_attr_ints_are(k, "dilations", 2, one, 1))
        return false;
    if (cm && (cm->type != E2E_ATTR_INT || cm->i != 0))
        return false;
    return !ap || (ap->type == E2E_ATTR_STRING && (!strcmp(ap->s, "NOTSET") || !strcmp(ap->s, "VALID")));
}

bool e2e_fuse_conv_pool(e2e_fuse_ctx *c, e2e_kernel *conv)
{
    if (!e2e_fuse_is_op(conv, "Conv") || conv->act != E2E_ACT_NONE || !e2e_fuse_float_temp(conv->out[0]))
        return false;
    e2e_kernel *a = e2e_fuse_sole_consumer(c, conv->out[0]), *pool = a;
    e2e_act act = E2E_ACT_NONE;
    float alpha = 0.f;
    if (e2e_fuse_is_op(a, "Relu"))
        act = E2E_ACT_RELU;
    else if (e2e_fuse_is_op(a, "Sigmoid"))
        act = E2E_ACT_SIGMOID;
    else if (e2e_fuse_is_op(a, "LeakyRelu")) {
        const e2e_attr *at = e2e_node_attr(a->node, "alpha");
        act = E2E_ACT_LEAKY_RELU;
        alpha = at && at->type == E2E_ATTR_FLOAT ? at->f : 0.01f;
    }
    if (act != E2E_ACT_NONE) {
        if (a->in[0] != conv->out[0] || !e2e_fuse_float_temp(a->out[0]))
            return false;
        pool = e2e_fuse_sole_consumer(c, a->out[0]);
    }
    if (!is_pool2x2(pool) || pool->in[0] != (act != E2E_ACT_NONE ? a->out[0] : conv->out[0]))
        return false;
    e2e_kernel k;
    if (!e2e_fuse_make_kernel_attrs(c, conv, &e2e_op_conv_maxpool, "ConvMaxPool", conv->in, conv->n_in, pool->out, 1,
                     conv->node->attrs, conv->node->n_attrs, NULL, &k))
        return false;
    k.act = act;
    k.act_alpha = alpha;
    e2e_kernel *drop[] = {conv, a};
    e2e_fuse_install(c, &k, pool, drop, act != E2E_ACT_NONE ? 2 : 1);
    return true;
}
