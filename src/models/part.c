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
    mg_gelu_consts gelu;
    const char *c_qscale; /* [3E], 1/√D then 1 */
} part_ctx;

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
    const char *parts[3];
    mg_qkv_split(g, scope, qkv, v->H, v->D, parts);
    static const int64_t t0132[4] = {0, 1, 3, 2};
    const char *a = MG_OP(g, "MatMul", scope, parts[0], mg_transpose(g, scope, parts[1], 4, t0132));
    a = MG_OP(g, "Add", scope, a, bias);
    a = MG_OP(g, "Softmax", scope, a);
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    return mg_heads_merge(g, scope, MG_OP(g, "MatMul", scope, a, parts[2]), v->E);
}

void e2e_part_graph(mg *g, const e2e_model_config *c, const char *output)
{
    part_ctx v = {g, c->embed, c->heads, c->embed / c->heads, c->mlp, {NULL, NULL, NULL}, NULL};
    v.gelu = mg_gelu_consts_make(g);
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
    const char *mb = MG_OP(g, "Mul", "pair", MG_OP(g, "Sub", "pair", "mask", v.gelu.one),
                           mg_const_f32(g, 1e9f));
    const char *bias = MG_OP(g, "Add", "pair", u, mg_unsqueeze(g, "pair", mb, 1));

    for (int i = 0; i < c->depth; i++) {
        char scope[64], name[96];
        snprintf(scope, sizeof scope, "blocks.%d", i);
        snprintf(name, sizeof name, "%s.norm1", scope);
        const char *h = mg_layer_norm(g, x, name, v.E, 1e-5f);
        snprintf(name, sizeof name, "%s.attn", scope);
        x = MG_OP(g, "Add", scope, x, attention(&v, h, bias, name));
        snprintf(name, sizeof name, "%s.norm2", scope);
        h = mg_layer_norm(g, x, name, v.E, 1e-5f);
        snprintf(name, sizeof name, "%s.mlp", scope);
        x = MG_OP(g, "Add", scope, x, mg_gelu_mlp(g, h, name, v.E, v.M, &v.gelu));
    }
    x = mg_layer_norm(g, x, "norm", v.E, 1e-5f);
    x = MG_OP(g, "Mul", "pool", x, mg_transpose(g, "pool", "mask", 3, t021));
    x = MG_OP(g, "Div", "pool", mg_reduce(g, "ReduceSum", "pool", x, 1, 0), counts);
    x = mg_linear_gemm(g, x, "head", v.E, 1);
    const char *o[1] = {output};
    g->last = e2e_ob_node(g->b, "Sigmoid", "sigmoid", 1, &x, 1, o);
}
