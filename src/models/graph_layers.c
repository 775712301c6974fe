/* Layers of the graph models (ParticleNet, DGCNN, ParT): 1x1 convolutions, linear layers,
   reductions, BatchNorm as an affine map, and the kNN / EdgeConv layer stack. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/model_graph.h"

static void names(char *w, char *b, size_t n, const char *name)
{
    snprintf(w, n, "%s.weight", name);
    snprintf(b, n, "%s.bias", name);
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

void mg_bn_affine(mg *g, const char *name, int64_t c, const char **scale, const char **shift)
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
    const char *sd = MG_OP(g, "Sqrt", name, MG_OP(g, "Add", name, v, mg_const_f32(g, 1e-5f)));
    *scale = MG_OP(g, "Div", name, w, sd);
    *shift = MG_OP(g, "Sub", name, b, MG_OP(g, "Mul", name, m, *scale));
}

const char *mg_conv_matrix(mg *g, const char *name, int conv_rank, int64_t in, int64_t out,
                           const char *scale)
{
    char w[128];
    snprintf(w, sizeof w, "%s.weight", name);
    int64_t wd[4] = {out, in, 1, 1};
    mg_param_uniform(g, w, conv_rank, wd, 1.0 / sqrt((double)in));
    const int64_t shape[2] = {out, in}, t10[2] = {1, 0};
    const char *m = mg_transpose(g, name, MG_OP(g, "Reshape", name, w, mg_const_i64(g, 2, shape, 0)),
                                 2, t10);
    return scale ? MG_OP(g, "Mul", name, m, scale) : m;
}

const char *mg_knn(mg *g, const char *scope, const char *x, int64_t k, int skip_self)
{
    static const int64_t t021[3] = {0, 2, 1};
    /* One MatMul gives the whole distance: [2 xi, -|xi|², -1] · [xj, 1, |xj|²] (PyTorch
       computes -|xj|² - (-2 xi·xj) - |xi|²: the same up to rounding), so no elementwise pass
       over the P x P matrix is needed. */
    const char *xx = mg_reduce(g, "ReduceSum", scope, MG_OP(g, "Mul", scope, x, x), -1, 1);
    const char *ones = MG_OP(g, "ConstantOfShape", scope, MG_OP(g, "Shape", scope, xx));
    float one = 1.0f;
    e2e_ob_attr_tensor(g->b, g->last, "value",
                       e2e_ob_tensor(g->b, NULL, E2E_FLOAT, 1, (int64_t[]){1}, &one, sizeof one));
    const char *lhs = MG_OP(g, "Concat", scope, MG_OP(g, "Mul", scope, x, mg_const_f32(g, 2.0f)),
                            MG_OP(g, "Neg", scope, xx), MG_OP(g, "Neg", scope, ones));
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    const char *rhs = MG_OP(g, "Concat", scope, x, ones, xx);
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    const char *d = MG_OP(g, "MatMul", scope, lhs, mg_transpose(g, scope, rhs, 3, t021));
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

const char *mg_edge_mlp(mg *g, const char *scope, const char *x, const char *idx,
                        const char *base, int64_t in, int64_t k, int n, const int *w)
{
    char name[128], bn[128];
    const char *scale, *shift;
    snprintf(name, sizeof name, "%s.convs.0", scope);
    snprintf(bn, sizeof bn, "%s.bns.0", scope);
    mg_bn_affine(g, bn, w[0], &scale, &shift);
    const char *wm = mg_conv_matrix(g, name, 4, 2 * in, w[0], scale);
    const char *wa = mg_slice(g, name, wm, 0, 0, in), *wb = mg_slice(g, name, wm, 0, in, 2 * in);
    const char *a = MG_OP(g, "Add", name, MG_OP(g, "MatMul", name, x,
                                                MG_OP(g, "Sub", name, wa, wb)), shift);
    const char *bx = MG_OP(g, "MatMul", name, x, wb);
    const int64_t flat1[1] = {-1}, rows[2] = {-1, w[0]}, nb3[3] = {-1, k, w[0]},
                  one3[3] = {-1, 1, w[0]};
    const char *fi = MG_OP(g, "Reshape", scope, MG_OP(g, "Add", scope, idx, base),
                           mg_const_i64(g, 1, flat1, 0));
    const char *nb = MG_OP(g, "Gather", name,
                           MG_OP(g, "Reshape", name, bx, mg_const_i64(g, 2, rows, 0)), fi);
    e2e_ob_attr_int(g->b, g->last, "axis", 0);
    nb = MG_OP(g, "Reshape", name, nb, mg_const_i64(g, 3, nb3, 0));
    const char *e = MG_OP(g, "Add", name, nb, MG_OP(g, "Reshape", name, a, mg_const_i64(g, 3, one3, 0)));
    e = MG_OP(g, "Relu", name, e);
    for (int l = 1; l < n; l++) {
        snprintf(name, sizeof name, "%s.convs.%d", scope, l);
        snprintf(bn, sizeof bn, "%s.bns.%d", scope, l);
        mg_bn_affine(g, bn, w[l], &scale, &shift);
        wm = mg_conv_matrix(g, name, 4, w[l - 1], w[l], scale);
        e = MG_OP(g, "Relu", name, MG_OP(g, "Add", name, MG_OP(g, "MatMul", name, e, wm), shift));
    }
    return e;
}
