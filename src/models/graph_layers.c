/* Layers of the graph models (ParticleNet, DGCNN, ParT): BatchNorm, 1x1 convolutions,
   linear layers, reductions, and the kNN / edge-feature construction of EdgeConv, written as
   the ops PyTorch exports for models/torch/gnn.py. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/model_graph.h"

static void names(char *w, char *b, size_t n, const char *name)
{
    snprintf(w, n, "%s.weight", name);
    snprintf(b, n, "%s.bias", name);
}

const char *mg_batchnorm(mg *g, const char *x, const char *name, int64_t c)
{
    char w[128], b[128], m[128], v[128];
    names(w, b, sizeof w, name);
    snprintf(m, sizeof m, "%s.running_mean", name);
    snprintf(v, sizeof v, "%s.running_var", name);
    int64_t d[1] = {c};
    mg_param_fill(g, w, 1, d, 1.0f);
    mg_param_fill(g, b, 1, d, 0.0f);
    mg_param_fill(g, m, 1, d, 0.0f);
    mg_param_fill(g, v, 1, d, 1.0f);
    const char *y = MG_OP(g, "BatchNormalization", name, x, w, b, m, v);
    e2e_ob_attr_float(g->b, g->last, "epsilon", 1e-5f);
    return y;
}

const char *mg_conv1x1(mg *g, const char *x, const char *name, int conv_rank, int64_t in,
                       int64_t out, int bias)
{
    char w[128], b[128];
    names(w, b, sizeof w, name);
    double bound = 1.0 / sqrt((double)in);
    int64_t wd[4] = {out, in, 1, 1}, bd[1] = {out};
    int spatial = conv_rank - 2;
    mg_param_uniform(g, w, conv_rank, wd, bound);
    const char *y;
    if (bias) {
        mg_param_uniform(g, b, 1, bd, bound);
        y = MG_OP(g, "Conv", name, x, w, b);
    } else {
        y = MG_OP(g, "Conv", name, x, w);
    }
    e2e_ob_attr_ints(g->b, g->last, "kernel_shape", spatial, (int64_t[]){1, 1});
    return y;
}

const char *mg_linear_gemm(mg *g, const char *x, const char *name, int64_t in, int64_t out)
{
    char w[128], b[128];
    names(w, b, sizeof w, name);
    double bound = 1.0 / sqrt((double)in);
    int64_t wd[2] = {out, in}, bd[1] = {out};
    mg_param_uniform(g, w, 2, wd, bound);
    mg_param_uniform(g, b, 1, bd, bound);
    const char *y = MG_OP(g, "Gemm", name, x, w, b);
    e2e_ob_attr_int(g->b, g->last, "transB", 1);
    return y;
}

const char *mg_linear_matmul(mg *g, const char *x, const char *name, int64_t in, int64_t out)
{
    char w[128], b[128];
    names(w, b, sizeof w, name);
    double bound = 1.0 / sqrt((double)in);
    int64_t wd[2] = {in, out}, bd[1] = {out};
    mg_param_uniform(g, w, 2, wd, bound);
    mg_param_uniform(g, b, 1, bd, bound);
    return MG_OP(g, "Add", name, MG_OP(g, "MatMul", name, x, w), b);
}

const char *mg_reduce(mg *g, const char *op, const char *scope, const char *x, int64_t axis,
                      int keepdims)
{
    const char *y;
    if (!strcmp(op, "ReduceSum")) {
        y = MG_OP(g, op, scope, x, mg_const_i64(g, 1, &axis, 0));
    } else {
        y = MG_OP(g, op, scope, x);
        e2e_ob_attr_ints(g->b, g->last, "axes", 1, &axis);
    }
    e2e_ob_attr_int(g->b, g->last, "keepdims", keepdims);
    return y;
}

const char *mg_transpose(mg *g, const char *scope, const char *x, int rank, const int64_t *perm)
{
    const char *y = MG_OP(g, "Transpose", scope, x);
    e2e_ob_attr_ints(g->b, g->last, "perm", rank, perm);
    return y;
}

const char *mg_unsqueeze(mg *g, const char *scope, const char *x, int64_t axis)
{
    return MG_OP(g, "Unsqueeze", scope, x, mg_const_i64(g, 1, &axis, 0));
}

const char *mg_slice(mg *g, const char *scope, const char *x, int64_t axis, int64_t start,
                     int64_t end)
{
    return MG_OP(g, "Slice", scope, x, mg_const_i64(g, 1, &start, 0), mg_const_i64(g, 1, &end, 0),
                 mg_const_i64(g, 1, &axis, 0));
}

const char *mg_clip_min(mg *g, const char *scope, const char *x, float lo)
{
    return MG_OP(g, "Clip", scope, x, mg_const_f32(g, lo));
}

const char *mg_knn(mg *g, const char *scope, const char *x, int64_t k, int skip_self)
{
    static const int64_t t021[3] = {0, 2, 1};
    const char *inner = MG_OP(g, "MatMul", scope, mg_transpose(g, scope, x, 3, t021), x);
    inner = MG_OP(g, "Mul", scope, inner, mg_const_f32(g, -2.0f));
    const char *xx = mg_reduce(g, "ReduceSum", scope, MG_OP(g, "Mul", scope, x, x), 1, 1);
    /* -xx - inner - xxᵀ, in PyTorch's order of evaluation */
    const char *d = MG_OP(g, "Sub", scope, MG_OP(g, "Neg", scope, xx), inner);
    d = MG_OP(g, "Sub", scope, d, mg_transpose(g, scope, xx, 3, t021));
    int64_t kk = k + (skip_self ? 1 : 0);
    char vals[160], idx[160];
    snprintf(vals, sizeof vals, "%s/TopK_%d.values", scope, g->counter);
    snprintf(idx, sizeof idx, "%s/TopK_%d.indices", scope, g->counter);
    char node[160];
    snprintf(node, sizeof node, "%s/TopK_%d", scope, g->counter++);
    const char *in[2] = {d, mg_const_i64(g, 1, &kk, 0)}, *out[2] = {vals, idx};
    g->last = e2e_ob_node(g->b, "TopK", node, 2, in, 2, out);
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    e2e_ob_attr_int(g->b, g->last, "largest", 1);
    e2e_ob_attr_int(g->b, g->last, "sorted", 1);
    const char *indices = g->last ? g->last->output[1] : "";
    return skip_self ? mg_slice(g, scope, indices, 2, 1, kk) : indices;
}

const char *mg_batch_offsets(mg *g, const char *like, int64_t p)
{
    const int64_t zero = 0, one = 1, shape[3] = {-1, 1, 1};
    const char *n = MG_OP(g, "Gather", "offsets", MG_OP(g, "Shape", "offsets", like),
                          mg_const_i64(g, 1, &zero, 1));
    e2e_ob_attr_int(g->b, g->last, "axis", 0);
    const char *r = MG_OP(g, "Range", "offsets", mg_const_i64(g, 1, &zero, 1), n,
                          mg_const_i64(g, 1, &one, 1));
    r = MG_OP(g, "Mul", "offsets", r, mg_const_i64(g, 1, &p, 1));
    return MG_OP(g, "Reshape", "offsets", r, mg_const_i64(g, 3, shape, 0));
}

const char *mg_edge_features(mg *g, const char *scope, const char *x, const char *idx,
                             const char *base, int64_t c, int64_t p, int64_t k)
{
    static const int64_t t021[3] = {0, 2, 1}, t0312[4] = {0, 3, 1, 2};
    const int64_t flat1[1] = {-1}, flat2[2] = {-1, c}, nb4[4] = {-1, p, k, c};
    const int64_t reps[4] = {1, 1, 1, k};
    const char *fi = MG_OP(g, "Reshape", scope, MG_OP(g, "Add", scope, idx, base),
                           mg_const_i64(g, 1, flat1, 0));
    const char *xt = MG_OP(g, "Reshape", scope, mg_transpose(g, scope, x, 3, t021),
                           mg_const_i64(g, 2, flat2, 0));
    const char *nb = MG_OP(g, "Gather", scope, xt, fi);
    e2e_ob_attr_int(g->b, g->last, "axis", 0);
    nb = MG_OP(g, "Reshape", scope, nb, mg_const_i64(g, 4, nb4, 0));
    nb = mg_transpose(g, scope, nb, 4, t0312);
    const char *xi = MG_OP(g, "Tile", scope, mg_unsqueeze(g, scope, x, 3),
                           mg_const_i64(g, 4, reps, 0));
    const char *e = MG_OP(g, "Concat", scope, xi, MG_OP(g, "Sub", scope, nb, xi));
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    return e;
}
