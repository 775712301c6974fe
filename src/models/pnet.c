/* ParticleNet (weaver's layout; models/torch/gnn.py ParticleNet), for one sigmoid output:
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

static const char *edge_conv(mg *g, const e2e_model_config *c, int blk, const char *pts,
                             const char *fts, const char *base, int64_t in)
{
    char scope[64], name[96];
    snprintf(scope, sizeof scope, "edge_convs.%d", blk);
    const char *idx = mg_knn(g, scope, pts, c->k, 1);
    const char *e = mg_edge_features(g, scope, fts, idx, base, in, c->points, c->k);
    int64_t w = 2 * in;
    for (int l = 0; l < 4 && c->edge[blk][l]; l++) {
        snprintf(name, sizeof name, "%s.convs.%d", scope, l);
        e = mg_conv1x1(g, e, name, 4, w, c->edge[blk][l], 0);
        snprintf(name, sizeof name, "%s.bns.%d", scope, l);
        e = MG_OP(g, "Relu", scope, mg_batchnorm(g, e, name, c->edge[blk][l]));
        w = c->edge[blk][l];
    }
    e = mg_reduce(g, "ReduceMean", scope, e, -1, 0);
    const char *sc = fts;
    if (w != in) {
        snprintf(name, sizeof name, "%s.sc", scope);
        sc = mg_conv1x1(g, fts, name, 3, in, w, 0);
        snprintf(name, sizeof name, "%s.sc_bn", scope);
        sc = mg_batchnorm(g, sc, name, w);
    }
    return MG_OP(g, "Relu", scope, MG_OP(g, "Add", scope, sc, e));
}

void e2e_pnet_graph(mg *g, const e2e_model_config *c, const char *output)
{
    const char *points = MG_OP(g, "Mul", "input", "points", "mask");
    const char *features = MG_OP(g, "Mul", "input", "features", "mask");
    const char *shift = MG_OP(g, "Mul", "input",
                              MG_OP(g, "Sub", "input", mg_const_f32(g, 1.0f), "mask"),
                              mg_const_f32(g, 1e9f));
    const char *counts = mg_clip_min(g, "input", mg_reduce(g, "ReduceSum", "input", "mask", -1, 0),
                                     1.0f);
    const char *base = mg_batch_offsets(g, "features", c->points);
    const char *fts = MG_OP(g, "Mul", "bn_fts", mg_batchnorm(g, features, "bn_fts", c->channels),
                            "mask");
    const char *outs[4];
    int n = 0;
    int64_t in = c->channels, cat = 0;
    for (int b = 0; b < 4 && c->edge[b][0]; b++) {
        const char *pts = MG_OP(g, "Add", "edge_convs", b ? fts : points, shift);
        fts = edge_conv(g, c, b, pts, fts, base, in);
        fts = MG_OP(g, "Mul", "edge_convs", fts, "mask");
        outs[n++] = fts;
        int l = 0;
        while (l < 4 && c->edge[b][l])
            l++;
        in = c->edge[b][l - 1];
        cat += in;
    }
    const char *x = mg_op(g, "Concat", "fusion_block", n, outs);
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    int64_t fw = e2e_pnet_fusion_width(c);
    x = mg_conv1x1(g, x, "fusion_block.0", 3, cat, fw, 0);
    x = MG_OP(g, "Relu", "fusion_block", mg_batchnorm(g, x, "fusion_block.1", fw));
    x = MG_OP(g, "Mul", "fusion_block", x, "mask");
    x = MG_OP(g, "Div", "pool", mg_reduce(g, "ReduceSum", "pool", x, -1, 0), counts);
    x = MG_OP(g, "Relu", "fc", mg_linear_gemm(g, x, "fc.0.0", fw, c->fc));
    x = mg_linear_gemm(g, x, "fc.1", c->fc, 1);
    const char *o[1] = {output};
    g->last = e2e_ob_node(g->b, "Sigmoid", "sigmoid", 1, &x, 1, o);
}
