/* The E2E group's DGCNN (models/torch/gnn.py DGCNN):
 *
 *   x = cat(points, features) * mask;  shift = (1 - mask) * 1e9;  counts = max(Σ mask, 1)
 *   conv1, conv2 (DynamicEdgeConv, max aggregation):
 *       idx = TopK(k) of the pairwise distance of x + shift (the node is its own neighbour)
 *       e = cat(x_i, x_j - x_i) -> [1x1 Conv, BN, Relu] x layers -> max over k;  x = e * mask
 *   h = cat(x1, x2);  cat(Σ h / counts, max h, log max(pT, 1), η, φ)
 *   Gemm fc.0 -> Relu -> Gemm fc.2 -> Sigmoid
 *
 * The max readout needs no mask: every node value is a Relu output and padded nodes are 0.
 * Written in token layout with BatchNorm folded and the first EdgeConv layer per node, as
 * pnet.c explains (mg_edge_mlp).
 * Default: k 7, conv1 (64, 64), conv2 (128), FC 128. Names: gnn.py's state_dict.
 */
#include <stdio.h>

#include "models/model_graph.h"

static const char *dyn_edge_conv(mg *g, const e2e_model_config *c, int blk, const char *x,
                                 const char *shift, const char *base, int64_t in, int64_t *out)
{
    char scope[64];
    snprintf(scope, sizeof scope, "conv%d", blk + 1);
    int n = 0;
    while (n < 4 && c->edge[blk][n])
        n++;
    const char *idx = mg_knn(g, scope, MG_OP(g, "Add", scope, x, shift), c->k, 0);
    const char *e = mg_edge_mlp(g, scope, x, idx, base, in, c->k, n, c->edge[blk]);
    *out = c->edge[blk][n - 1];
    const int64_t shape[3] = {-1, c->points, *out};
    return MG_OP(g, "Reshape", scope, mg_reduce(g, "ReduceMax", scope, e, 1, 0),
                 mg_const_i64(g, 3, shape, 0));
}

void e2e_dgcnn_graph(mg *g, const e2e_model_config *c, const char *output)
{
    static const int64_t t021[3] = {0, 2, 1};
    /* token layout [N, P, C] inside, as in pnet.c */
    const char *mask_t = mg_transpose(g, "input", "mask", 3, t021);
    const char *x = MG_OP(g, "Concat", "input", "points", "features");
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    x = mg_transpose(g, "input", MG_OP(g, "Mul", "input", x, "mask"), 3, t021);
    const char *shift = MG_OP(g, "Mul", "input",
                              MG_OP(g, "Sub", "input", mg_const_f32(g, 1.0f), mask_t),
                              mg_const_f32(g, 1e9f));
    const char *counts = mg_clip_min(g, "input", mg_reduce(g, "ReduceSum", "input", "mask", -1, 0),
                                     1.0f);
    const char *base = mg_batch_offsets(g, "features", c->points);
    int64_t w1, w2;
    const char *x1 = dyn_edge_conv(g, c, 0, x, shift, base, 2 + c->channels, &w1);
    x1 = MG_OP(g, "Mul", "conv1", x1, mask_t);
    const char *x2 = dyn_edge_conv(g, c, 1, x1, shift, base, w1, &w2);
    x2 = MG_OP(g, "Mul", "conv2", x2, mask_t);
    const char *h = MG_OP(g, "Concat", "readout", x1, x2);
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    const char *mean = MG_OP(g, "Div", "readout", mg_reduce(g, "ReduceSum", "readout", h, 1, 0),
                             counts);
    const char *mx = mg_reduce(g, "ReduceMax", "readout", h, 1, 0);
    const char *pt = MG_OP(g, "Log", "seed", mg_clip_min(g, "seed", mg_slice(g, "seed", "seed", 1, 0, 1),
                                                         1.0f));
    const char *etaphi = mg_slice(g, "seed", "seed", 1, 1, 3);
    const char *z = MG_OP(g, "Concat", "head", mean, mx, pt, etaphi);
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    z = MG_OP(g, "Relu", "fc", mg_linear_gemm(g, z, "fc.0", 2 * (w1 + w2) + 3, c->fc));
    z = mg_linear_gemm(g, z, "fc.2", c->fc, 1);
    const char *o[1] = {output};
    g->last = e2e_ob_node(g->b, "Sigmoid", "sigmoid", 1, &z, 1, o);
}
