/* ParticleNet (weaver's layout; models/torch/gnn.py ParticleNet), for one sigmoid output:
 *
 * As PyTorch computes it (models/torch/gnn.py):
 *
 *   points, features *= mask;  shift = (1 - mask) * 1e9;  counts = max(Σ mask, 1)
 *   fts = BN(features) * mask                                              bn_fts
 *   block i: pts = (points if i = 0 else fts) + shift
 *            idx = TopK(k + 1) of the pairwise distance of pts, first dropped
 *            e = cat(fts_i, fts_j - fts_i) -> [1x1 Conv, BN, Relu] x layers -> mean over k
 *            fts = Relu(BN(Conv1d(fts)) + e) * mask    (shortcut Conv only if widths differ)
 *   Relu(BN(Conv1d(cat(block outputs)))) * mask -> Σ over nodes / counts     fusion_block
 *   Gemm fc.0.0 -> Relu -> Gemm fc.1 -> Sigmoid
 *
 * Lite: k 7, blocks (32, 32, 32), (64, 64, 64), fusion 128, FC 128. Full: k 16, (64)x3,
 * (128)x3, (256)x3, fusion 384, FC 256. Initializer names are gnn.py's state_dict names.
 *
 * As written here, the same function in a form that runs faster: the nodes in token layout
 * [N, P, C] (the inputs transposed once), every 1x1 Conv a MatMul by the [in, out] matrix of
 * its weight with the following BatchNorm folded in (computed in the graph from the
 * initializers, so folded to constants at session creation), and the first layer of each
 * EdgeConv computed per node, (Wa - Wb) x_i + Wb x_j, with only Wb x_j gathered for the k
 * neighbours (mg_edge_mlp). Differences to PyTorch are rounding only.
 */
#include <stdio.h>

#include "models/model_graph.h"

int e2e_pnet_fusion_width(const e2e_model_config *c)
{
    int in = 0;
    for (int b = 0; b < 4 && c->edge[b][0]; b++) {
        int l = 0;
        while (l < 4 && c->edge[b][l])
            l++;
        in += c->edge[b][l - 1];
    }
    int out = in / 128 * 128;
    return out < 128 ? 128 : out > 1024 ? 1024 : out;
}

static int block_width(const e2e_model_config *c, int b)
{
    int l = 0;
    while (l < 4 && c->edge[b][l])
        l++;
    return c->edge[b][l - 1];
}

/* One EdgeConv block on fts [N, P, in] (token layout), kNN on pts [N, P, D]. */
static const char *edge_conv(mg *g, const e2e_model_config *c, int blk, const char *pts,
                             const char *fts, const char *base, int64_t in)
{
    char scope[64], name[96];
    snprintf(scope, sizeof scope, "edge_convs.%d", blk);
    int n = 0;
    while (n < 4 && c->edge[blk][n])
        n++;
    const char *idx = mg_knn(g, scope, pts, c->k, 1);
    const char *e = mg_edge_mlp(g, scope, fts, idx, base, in, c->k, n, c->edge[blk]);
    int64_t w = c->edge[blk][n - 1];
    const int64_t shape[3] = {-1, c->points, w};
    e = MG_OP(g, "Reshape", scope, mg_reduce(g, "ReduceMean", scope, e, 1, 0),
              mg_const_i64(g, 3, shape, 0));
    const char *sc = fts;
    if (w != in) {
        const char *scale, *shift;
        snprintf(name, sizeof name, "%s.sc_bn", scope);
        mg_bn_affine(g, name, w, &scale, &shift);
        snprintf(name, sizeof name, "%s.sc", scope);
        sc = MG_OP(g, "Add", name, MG_OP(g, "MatMul", name, fts, mg_conv_matrix(g, name, 3, in, w, scale)),
                   shift);
    }
    return MG_OP(g, "Relu", scope, MG_OP(g, "Add", scope, sc, e));
}

void e2e_pnet_graph(mg *g, const e2e_model_config *c, const char *output)
{
    static const int64_t t021[3] = {0, 2, 1};
    /* token layout [N, P, C] inside: 1x1 convolutions become MatMul on constant weights */
    const char *mask_t = mg_transpose(g, "input", "mask", 3, t021);
    const char *points = mg_transpose(g, "input", MG_OP(g, "Mul", "input", "points", "mask"), 3, t021);
    const char *features = mg_transpose(g, "input", MG_OP(g, "Mul", "input", "features", "mask"), 3,
                                        t021);
    const char *shift = MG_OP(g, "Mul", "input",
                              MG_OP(g, "Sub", "input", mg_const_f32(g, 1.0f), mask_t),
                              mg_const_f32(g, 1e9f));
    const char *counts = mg_clip_min(g, "input", mg_reduce(g, "ReduceSum", "input", "mask", -1, 0),
                                     1.0f);
    const char *base = mg_batch_offsets(g, "features", c->points);
    const char *scale, *bshift;
    mg_bn_affine(g, "bn_fts", c->channels, &scale, &bshift);
    const char *fts = MG_OP(g, "Add", "bn_fts", MG_OP(g, "Mul", "bn_fts", features, scale), bshift);
    fts = MG_OP(g, "Mul", "bn_fts", fts, mask_t);
    const char *outs[4];
    int n = 0;
    int64_t in = c->channels, cat = 0;
    for (int b = 0; b < 4 && c->edge[b][0]; b++) {
        const char *pts = MG_OP(g, "Add", "edge_convs", b ? fts : points, shift);
        fts = edge_conv(g, c, b, pts, fts, base, in);
        fts = MG_OP(g, "Mul", "edge_convs", fts, mask_t);
        outs[n++] = fts;
        in = block_width(c, b);
        cat += in;
    }
    const char *x = mg_op(g, "Concat", "fusion_block", n, outs);
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    int64_t fw = e2e_pnet_fusion_width(c);
    mg_bn_affine(g, "fusion_block.1", fw, &scale, &bshift);
    x = MG_OP(g, "MatMul", "fusion_block", x, mg_conv_matrix(g, "fusion_block.0", 3, cat, fw, scale));
    x = MG_OP(g, "Relu", "fusion_block", MG_OP(g, "Add", "fusion_block", x, bshift));
    x = MG_OP(g, "Mul", "fusion_block", x, mask_t);
    x = MG_OP(g, "Div", "pool", mg_reduce(g, "ReduceSum", "pool", x, 1, 0), counts);
    x = MG_OP(g, "Relu", "fc", mg_linear_gemm(g, x, "fc.0.0", fw, c->fc));
    x = mg_linear_gemm(g, x, "fc.1", c->fc, 1);
    const char *o[1] = {output};
    g->last = e2e_ob_node(g->b, "Sigmoid", "sigmoid", 1, &x, 1, o);
}
