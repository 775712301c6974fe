/* A small particle transformer (models/torch/gnn.py ParT):
 *
 *   points, features *= mask;  counts = max(Σ mask, 1)
 *   x = cat(points, features)ᵀ -> embed.0 (2 + C -> E) -> Relu -> embed.2 (E -> E)     N x P x E
 *   pair features u = ln max(ΔR_ij, 1e-8), ln max(min(e_i, e_j)·ΔR_ij, 1e-8) (e = channel 0)
 *   bias = Conv 1x1 pair_embed.0 (2 -> pair) -> Relu -> pair_embed.2 (-> heads)
 *          + (mask_j - 1)·1e9                                                      N x H x P x P
 *   depth x pre-norm blocks (LayerNorm eps 1e-5): x += proj(softmax(q kᵀ/√D + bias) v)
 *                                                 (1/√D applied to q's weight and bias);
 *                                                 x += fc2(GELU(fc1(LN(x))))
 *   LayerNorm -> * mask -> Σ over nodes / counts -> Gemm head -> Sigmoid
 *
 * Linear layers on tokens are MatMul + Add with the weight stored [in, out] (as the ViT);
 * the head is Gemm(transB = 1); the pair embedding is Conv with PyTorch's layout.
 */
#include <math.h>
#include <stdio.h>

#include "models/model_graph.h"

typedef struct part_ctx {
    mg *g;
    int64_t E, H, D, M;
    const char *c_one, *c_half, *c_sqrt2, *c_qscale; /* c_qscale: [3E], 1/√D then 1 */
} part_ctx;

static const char *layer_norm(part_ctx *v, const char *x, const char *name)
{
    char w[128], b[128];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    int64_t d[1] = {v->E};
    mg_param_fill(v->g, w, 1, d, 1.0f);
    mg_param_fill(v->g, b, 1, d, 0.0f);
    const char *y = MG_OP(v->g, "LayerNormalization", name, x, w, b);
    e2e_ob_attr_int(v->g->b, v->g->last, "axis", -1);
    e2e_ob_attr_float(v->g->b, v->g->last, "epsilon", 1e-5f);
    return y;
}

static const char *attention(part_ctx *v, const char *x, const char *bias, const char *scope)
{
    mg *g = v->g;
    char name[128];
    /* q·kᵀ/√D as (q/√D)·kᵀ: the q columns of the qkv weight and bias scaled in the graph
       (folded at session creation), so no pass over the H x P x P logits is needed for it */
    char w[160], b[160];
    snprintf(name, sizeof name, "%s.qkv", scope);
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    double bound = 1.0 / sqrt((double)v->E);
    int64_t wd[2] = {v->E, 3 * v->E}, bd[1] = {3 * v->E};
    mg_param_uniform(g, w, 2, wd, bound);
    mg_param_uniform(g, b, 1, bd, bound);
    const char *qkv = MG_OP(g, "MatMul", name, x, MG_OP(g, "Mul", name, w, v->c_qscale));
    qkv = MG_OP(g, "Add", name, qkv, MG_OP(g, "Mul", name, b, v->c_qscale));
    const int64_t shape5[5] = {0, -1, 3, v->H, v->D}, p5[5] = {2, 0, 3, 1, 4};
    qkv = MG_OP(g, "Reshape", scope, qkv, mg_const_i64(g, 5, shape5, 0));
    qkv = mg_transpose(g, scope, qkv, 5, p5);
    const char *parts[3];
    for (int64_t i = 0; i < 3; i++) {
        parts[i] = MG_OP(g, "Gather", scope, qkv, mg_const_i64(g, 1, &i, 1));
        e2e_ob_attr_int(g->b, g->last, "axis", 0);
    }
    static const int64_t t0132[4] = {0, 1, 3, 2}, t0213[4] = {0, 2, 1, 3};
    const char *a = MG_OP(g, "MatMul", scope, parts[0], mg_transpose(g, scope, parts[1], 4, t0132));
    a = MG_OP(g, "Add", scope, a, bias);
    a = MG_OP(g, "Softmax", scope, a);
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    a = mg_transpose(g, scope, MG_OP(g, "MatMul", scope, a, parts[2]), 4, t0213);
    const int64_t shape3[3] = {0, 0, v->E};
    a = MG_OP(g, "Reshape", scope, a, mg_const_i64(g, 3, shape3, 0));
    snprintf(name, sizeof name, "%s.proj", scope);
    return mg_linear_matmul(g, a, name, v->E, v->E);
}

static const char *mlp(part_ctx *v, const char *x, const char *scope)
{
    mg *g = v->g;
    char name[128];
    snprintf(name, sizeof name, "%s.fc1", scope);
    const char *h = mg_linear_matmul(g, x, name, v->E, v->M);
    /* exact GELU, as exported by PyTorch: ((erf(h / sqrt 2) + 1) * h) * 0.5 */
    const char *t = MG_OP(g, "Div", scope, h, v->c_sqrt2);
    t = MG_OP(g, "Erf", scope, t);
    t = MG_OP(g, "Add", scope, t, v->c_one);
    t = MG_OP(g, "Mul", scope, h, t);
    t = MG_OP(g, "Mul", scope, t, v->c_half);
    snprintf(name, sizeof name, "%s.fc2", scope);
    return mg_linear_matmul(g, t, name, v->M, v->E);
}

void e2e_part_graph(mg *g, const e2e_model_config *c, const char *output)
{
    part_ctx v = {g, c->embed, c->heads, c->embed / c->heads, c->mlp, NULL, NULL, NULL, NULL};
    v.c_one = mg_const_f32(g, 1.0f);
    v.c_half = mg_const_f32(g, 0.5f);
    v.c_sqrt2 = mg_const_f32(g, (float)sqrt(2.0));
    {
        Onnx__TensorProto *t = e2e_ob_tensor(g->b, NULL, E2E_FLOAT, 1, (int64_t[]){3 * v.E}, NULL,
                                             sizeof(float) * (size_t)(3 * v.E));
        if (t) {
            float *qs = (float *)t->raw_data.data;
            for (int64_t i = 0; i < 3 * v.E; i++)
                qs[i] = i < v.E ? (float)(1.0 / sqrt((double)v.D)) : 1.0f;
        }
        v.c_qscale = mg_op(g, "Constant", NULL, 0, NULL);
        e2e_ob_attr_tensor(g->b, g->last, "value", t);
    }
    static const int64_t t021[3] = {0, 2, 1};

    const char *pts = MG_OP(g, "Mul", "input", "points", "mask");
    const char *fts = MG_OP(g, "Mul", "input", "features", "mask");
    const char *counts = mg_clip_min(g, "input", mg_reduce(g, "ReduceSum", "input", "mask", -1, 0),
                                     1.0f);
    const char *x = MG_OP(g, "Concat", "embed", pts, fts);
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    x = mg_transpose(g, "embed", x, 3, t021);
    x = MG_OP(g, "Relu", "embed", mg_linear_matmul(g, x, "embed.0", 2 + c->channels, v.E));
    x = mg_linear_matmul(g, x, "embed.2", v.E, v.E);

    /* pair features */
    const char *d = MG_OP(g, "Sub", "pair", mg_unsqueeze(g, "pair", pts, 3),
                          mg_unsqueeze(g, "pair", pts, 2));
    const char *dr = MG_OP(g, "Sqrt", "pair",
                           mg_reduce(g, "ReduceSum", "pair", MG_OP(g, "Mul", "pair", d, d), 1, 1));
    const char *e = mg_slice(g, "pair", fts, 1, 0, 1);
    const char *kt = MG_OP(g, "Min", "pair", mg_unsqueeze(g, "pair", e, 3), mg_unsqueeze(g, "pair", e, 2));
    kt = MG_OP(g, "Mul", "pair", kt, dr);
    const char *u = MG_OP(g, "Concat", "pair", dr, kt);
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    u = MG_OP(g, "Log", "pair", mg_clip_min(g, "pair", u, 1e-8f));
    u = MG_OP(g, "Relu", "pair", mg_conv1x1(g, u, "pair_embed.0", 4, 2, c->pair, 1));
    u = mg_conv1x1(g, u, "pair_embed.2", 4, c->pair, v.H, 1);
    const char *mb = MG_OP(g, "Mul", "pair", MG_OP(g, "Sub", "pair", "mask", v.c_one),
                           mg_const_f32(g, 1e9f));
    const char *bias = MG_OP(g, "Add", "pair", u, mg_unsqueeze(g, "pair", mb, 1));

    for (int i = 0; i < c->depth; i++) {
        char scope[64], name[96];
        snprintf(scope, sizeof scope, "blocks.%d", i);
        snprintf(name, sizeof name, "%s.norm1", scope);
        const char *h = layer_norm(&v, x, name);
        snprintf(name, sizeof name, "%s.attn", scope);
        x = MG_OP(g, "Add", scope, x, attention(&v, h, bias, name));
        snprintf(name, sizeof name, "%s.norm2", scope);
        h = layer_norm(&v, x, name);
        snprintf(name, sizeof name, "%s.mlp", scope);
        x = MG_OP(g, "Add", scope, x, mlp(&v, h, name));
    }
    x = layer_norm(&v, x, "norm");
    x = MG_OP(g, "Mul", "pool", x, mg_transpose(g, "pool", "mask", 3, t021));
    x = MG_OP(g, "Div", "pool", mg_reduce(g, "ReduceSum", "pool", x, 1, 0), counts);
    x = mg_linear_gemm(g, x, "head", v.E, 1);
    const char *o[1] = {output};
    g->last = e2e_ob_node(g->b, "Sigmoid", "sigmoid", 1, &x, 1, o);
}
