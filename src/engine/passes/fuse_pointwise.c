/* Pointwise fusion (listed in passes.c): Conv 1x1 -> Relu -> Conv 1x1 on few channels (at most
   E2E_POINTWISE_MAX_IN in, _HIDDEN between, _OUT out; ParT's pair embedding) becomes one
   PointwiseMLP kernel (ops/ops_pointwise.c) that keeps the hidden channels in registers
   instead of writing and reading them through memory. Both Convs: group 1, kernel 1 in
   every spatial dimension, strides and dilations 1, no padding, constant weights (and
   biases); the first Conv's output and the Relu's must have no other consumer. */
#include <string.h>

#include "ops/ops_pointwise.h"
#include "engine/passes/fuse_internal.h"

/* An ints attribute absent or all equal to v (n values expected). */
static bool ints_all(e2e_kernel *k, const char *name, int n, int64_t v)
{
    const int64_t *a = NULL;
    int na = 0;
    if (e2e_attr_ints(k, name, &a, &na))
        return false;
    if (na == 0)
        return true;
    if (na != n)
        return false;
    for (int i = 0; i < na; i++)
        if (a[i] != v)
            return false;
    return true;
}

static bool is_conv1x1(e2e_kernel *k)
{
    if (!e2e_fuse_is_op(k, "Conv") || k->n_in < 2 || !k->in[0] || !k->in[1] ||
        k->in[0]->dtype != E2E_FLOAT || !k->in[1]->is_const || k->act != E2E_ACT_NONE)
        return false;
    const int r = k->in[0]->shape.rank, sp = r - 2;
    if (r < 3 || k->in[1]->shape.rank != r)
        return false;
    for (int d = 2; d < r; d++)
        if (k->in[1]->shape.dims[d] != 1)
            return false;
    if (k->n_in > 2 && k->in[2] && !k->in[2]->is_const)
        return false;
    int64_t group = 1;
    const e2e_attr *ap = e2e_node_attr(k->node, "auto_pad");
    if (ap && !(ap->type == E2E_ATTR_STRING && (!strcmp(ap->s, "NOTSET") || !strcmp(ap->s, "VALID"))))
        return false;
    return !e2e_attr_int(k, "group", 1, &group) && group == 1 && ints_all(k, "kernel_shape", sp, 1) &&
           ints_all(k, "strides", sp, 1) && ints_all(k, "dilations", sp, 1) &&
           ints_all(k, "pads", 2 * sp, 0);
}

bool e2e_fuse_pointwise_mlp(e2e_fuse_ctx *c, e2e_kernel *c1)
{
    if (!is_conv1x1(c1) || c1->in[1]->shape.dims[1] > E2E_POINTWISE_MAX_IN ||
        c1->in[1]->shape.dims[0] > E2E_POINTWISE_MAX_HIDDEN)
        return false;
    e2e_kernel *r = e2e_fuse_sole_consumer(c, c1->out[0]);
    if (!e2e_fuse_is_op(r, "Relu") || r->in[0] != c1->out[0])
        return false;
    e2e_kernel *c2 = e2e_fuse_sole_consumer(c, r->out[0]);
    if (!is_conv1x1(c2) || c2->in[0] != r->out[0] || c2->in[1]->shape.dims[0] > E2E_POINTWISE_MAX_OUT)
        return false;
    e2e_value *in[5] = {c1->in[0], c1->in[1], c1->n_in > 2 ? c1->in[2] : NULL, c2->in[1],
                        c2->n_in > 2 ? c2->in[2] : NULL};
    e2e_kernel k;
    if (!e2e_fuse_make_kernel(c, c2, &e2e_op_pointwise_mlp, "PointwiseMLP", in, 5, c2->out, 1, NULL,
                              &k))
        return false;
    e2e_kernel *drop[] = {c1, r};
    e2e_fuse_install(c, &k, c2, drop, 2);
    return true;
}
