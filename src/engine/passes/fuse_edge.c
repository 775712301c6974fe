/* EdgeGather fusion (listed in passes.c): the neighbour step of an EdgeConv written per node
   (src/models/graph_layers.c mg_edge_mlp, as ParticleNet and DGCNN are built):

     Gather(rows [R, C], indices, axis 0) -> Reshape [M, K, C] -> Add(., a [M, 1, C])
     -> Relu | LeakyRelu [-> ReduceMax(axes [1] or [-2], keepdims 0)]

   becomes one EdgeGatherAdd kernel (ops/ops_edgeconv.c) that reads the neighbours' rows
   where they are: the gathered [M K, C] copy is never made, nor (with the maximum) the
   [M, K, C] edge tensor. The Add may take its operands in either order; the gathered rows,
   the reshaped copy, the sum and the activation must have no other consumer. */
#include <stdlib.h>
#include <string.h>

#include "ops/ops_edgeconv.h"
#include "engine/passes/fuse_internal.h"

/* A ReduceMax over axis 1 of a rank-3 input without keepdims. */
static bool is_max_over_neighbours(e2e_kernel *r)
{
    if (!e2e_fuse_is_op(r, "ReduceMax") || r->in[0]->shape.rank != 3 || r->out[0]->shape.rank != 2)
        return false;
    int64_t keep = 1, axis;
    const int64_t *ax = NULL;
    int na = 0;
    if (e2e_attr_int(r, "keepdims", 1, &keep) || keep != 0 || e2e_attr_ints(r, "axes", &ax, &na))
        return false;
    if (na == 1)
        axis = ax[0];
    else if (na == 0 && r->n_in >= 2 && r->in[1] && r->in[1]->is_const && r->in[1]->numel == 1 &&
             r->in[1]->dtype == E2E_INT64)
        axis = *(const int64_t *)r->in[1]->data;
    else
        return false;
    return axis == 1 || axis == -2;
}

bool e2e_fuse_edge_gather(e2e_fuse_ctx *c, e2e_kernel *add)
{
    if (!e2e_fuse_is_op(add, "Add") || add->n_in != 2 || add->act != E2E_ACT_NONE)
        return false;
    /* which operand is the reshaped gather */
    e2e_kernel *rs = NULL, *g = NULL;
    int gi = -1;
    for (int i = 0; i < 2 && gi < 0; i++) {
        e2e_kernel *r = e2e_fuse_producer(c, add->in[i]);
        if (!e2e_fuse_is_op(r, "Reshape") || e2e_fuse_sole_consumer(c, add->in[i]) != add)
            continue;
        e2e_kernel *gg = e2e_fuse_producer(c, r->in[0]);
        if (!e2e_fuse_is_op(gg, "Gather") || e2e_fuse_sole_consumer(c, r->in[0]) != r)
            continue;
        rs = r;
        g = gg;
        gi = i;
    }
    if (gi < 0)
        return false;
    const e2e_value *rows = g->in[0], *idx = g->in[1], *a = add->in[1 - gi];
    const e2e_shape *es = &add->in[gi]->shape;
    int64_t axis = 0;
    if (e2e_attr_int(g, "axis", 0, &axis) || axis != 0 || rows->dtype != E2E_FLOAT ||
        rows->shape.rank != 2 || idx->shape.rank != 1 || es->rank != 3 || a->dtype != E2E_FLOAT ||
        a->shape.rank != 3 || add->out[0]->dtype != E2E_FLOAT)
        return false;
    const int64_t M = es->dims[0], K = es->dims[1], C = es->dims[2];
    if (C != rows->shape.dims[1] || M * K != idx->numel || a->shape.dims[0] != M ||
        a->shape.dims[1] != 1 || a->shape.dims[2] != C || !e2e_shape_equal(&add->out[0]->shape, es))
        return false;
    /* the activation, then perhaps the maximum over the neighbours */
    e2e_kernel *act = e2e_fuse_sole_consumer(c, add->out[0]);
    e2e_edge_gather_priv p = {M, K, C, 0, E2E_ACT_NONE, 0.f};
    if (e2e_fuse_is_op(act, "Relu"))
        p.act = E2E_ACT_RELU;
    else if (e2e_fuse_is_op(act, "LeakyRelu")) {
        const e2e_attr *at = e2e_node_attr(act->node, "alpha");
        p.act = E2E_ACT_LEAKY_RELU;
        p.alpha = at && at->type == E2E_ATTR_FLOAT ? at->f : 0.01f;
    }
    if (p.act == E2E_ACT_NONE || act->in[0] != add->out[0] || act->out[0]->dtype != E2E_FLOAT)
        return false;
    e2e_kernel *last = act, *mx = e2e_fuse_sole_consumer(c, act->out[0]);
    if (mx && is_max_over_neighbours(mx) && mx->in[0] == act->out[0]) {
        p.reduce = 1;
        last = mx;
    }
    e2e_edge_gather_priv *pp = malloc(sizeof *pp);
    if (!pp)
        return false;
    *pp = p;
    e2e_value *in[3] = {g->in[0], g->in[1], add->in[1 - gi]};
    e2e_kernel k;
    if (!e2e_fuse_make_kernel(c, last, &e2e_op_edge_gather_add, "EdgeGatherAdd", in, 3, last->out, 1,
                              pp, &k))
        return false;
    e2e_kernel *drop[] = {g, rs, add, act};
    e2e_fuse_install(c, &k, last, drop, 4);
    return true;
}
