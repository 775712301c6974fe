/* ViT (timm's VisionTransformer layout, pre-norm), see models/README.md:
 *
 *   Conv(P x P, stride P) -> Reshape (0, E, -1) -> Transpose (0, 2, 1)        patch tokens
 *   Concat(Expand(cls_token, [B, 1, 1]), tokens) + pos_embed                   B x T x E
 *   depth x [ x += proj(attention(LN1(x)));  x += fc2(GELU(fc1(LN2(x)))) ]
 *   LN -> Gather(axis 1, index 0) -> Gemm(E -> 1, transB) -> Sigmoid
 *
 * attention: qkv = x W + b -> Reshape (0, -1, 3, H, D) -> Transpose (2, 0, 3, 1, 4) ->
 * Gather 0/1/2 -> softmax(q kᵀ · D^-1/2) v -> Transpose (0, 2, 1, 3) -> Reshape (0, 0, E).
 * GELU is written out exactly as PyTorch exports it below opset 20:
 * x · 0.5 · (1 + erf(x / √2)).  LayerNorm: LayerNormalization (axis -1, eps 1e-6).
 *
 * Initializer names are timm's state_dict names. Linear layers inside the blocks feed MatMul
 * and are stored [in, out] (the transpose of PyTorch's weight); the head feeds Gemm(transB=1)
 * and keeps PyTorch's [out, in]. Init: conv/linear PyTorch defaults (U(±1/sqrt(fan_in)) for
 * weight and bias), cls_token and pos_embed N(0, 0.02) truncated at ±2σ, LayerNorm 1 and 0.
 */
#include <math.h>
#include <stdio.h>

#include "models/model_graph.h"

typedef struct vit_ctx {
    mg *g;
    int64_t E, H, D, M;
    mg_gelu_consts gelu;
    const char *c_scale;
} vit_ctx;

static const char *attention(vit_ctx *v, const char *x, const char *scope)
{
    mg *g = v->g;
    char name[128];
    snprintf(name, sizeof name, "%s.qkv", scope);
    const char *parts[3];
    mg_qkv_split(g, scope, mg_linear_matmul(g, x, name, v->E, 3 * v->E), v->H, v->D, parts);
    static const int64_t t0132[4] = {0, 1, 3, 2};
    const char *a = MG_OP(g, "MatMul", scope, parts[0], mg_transpose(g, scope, parts[1], 4, t0132));
    a = MG_OP(g, "Mul", scope, a, v->c_scale);
    a = MG_OP(g, "Softmax", scope, a);
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    return mg_heads_merge(g, scope, MG_OP(g, "MatMul", scope, a, parts[2]), v->E);
}

void e2e_vit_graph(mg *g, const e2e_model_config *c, const char *input, const char *output)
{
    vit_ctx v = {g, c->embed, c->heads, c->embed / c->heads, c->mlp, {NULL, NULL, NULL}, NULL};
    int64_t P = c->patch, E = v.E;
    int64_t tokens = (int64_t)(c->height / c->patch) * (c->width / c->patch) + 1;
    v.gelu = mg_gelu_consts_make(g);
    v.c_scale = mg_const_f32(g, (float)(1.0 / sqrt((double)v.D)));

    /* patch embedding */
    double bound = 1.0 / sqrt((double)(c->channels * P * P));
    int64_t wd[4] = {E, c->channels, P, P}, bd[1] = {E};
    mg_param_uniform(g, "patch_embed.proj.weight", 4, wd, bound);
    mg_param_uniform(g, "patch_embed.proj.bias", 1, bd, bound);
    const char *x = MG_OP(g, "Conv", "patch_embed", input, "patch_embed.proj.weight",
                          "patch_embed.proj.bias");
    e2e_ob_attr_ints(g->b, g->last, "kernel_shape", 2, (int64_t[]){P, P});
    e2e_ob_attr_ints(g->b, g->last, "strides", 2, (int64_t[]){P, P});
    const int64_t flat[3] = {0, E, -1};
    x = MG_OP(g, "Reshape", "patch_embed", x, mg_const_i64(g, 3, flat, 0));
    x = MG_OP(g, "Transpose", "patch_embed", x);
    e2e_ob_attr_ints(g->b, g->last, "perm", 3, (int64_t[]){0, 2, 1});

    /* class token, expanded to the batch: Expand(cls [1,1,E], Concat(Shape(x)[0:1], [1, 1])) */
    int64_t cd[3] = {1, 1, E}, pd[3] = {1, tokens, E};
    mg_param_trunc_normal(g, "cls_token", 3, cd, 0.02);
    mg_param_trunc_normal(g, "pos_embed", 3, pd, 0.02);
    const int64_t zero = 0, ones[2] = {1, 1};
    const char *batch = MG_OP(g, "Shape", "cls", input);
    batch = MG_OP(g, "Gather", "cls", batch, mg_const_i64(g, 1, &zero, 0));
    e2e_ob_attr_int(g->b, g->last, "axis", 0);
    const char *eshape = MG_OP(g, "Concat", "cls", batch, mg_const_i64(g, 2, ones, 0));
    e2e_ob_attr_int(g->b, g->last, "axis", 0);
    const char *cls = MG_OP(g, "Expand", "cls", "cls_token", eshape);
    x = MG_OP(g, "Concat", "cls", cls, x);
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    x = MG_OP(g, "Add", "pos_embed", x, "pos_embed");

    for (int i = 0; i < c->depth; i++) {
        char scope[64], name[96];
        snprintf(scope, sizeof scope, "blocks.%d", i);
        snprintf(name, sizeof name, "%s.norm1", scope);
        const char *h = mg_layer_norm(g, x, name, E, 1e-6f);
        snprintf(name, sizeof name, "%s.attn", scope);
        x = MG_OP(g, "Add", scope, x, attention(&v, h, name));
        snprintf(name, sizeof name, "%s.norm2", scope);
        h = mg_layer_norm(g, x, name, E, 1e-6f);
        snprintf(name, sizeof name, "%s.mlp", scope);
        x = MG_OP(g, "Add", scope, x, mg_gelu_mlp(g, h, name, E, v.M, &v.gelu));
    }
    x = mg_layer_norm(g, x, "norm", E, 1e-6f);
    const int64_t first = 0;
    x = MG_OP(g, "Gather", "head", x, mg_const_i64(g, 1, &first, 1));
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    bound = 1.0 / sqrt((double)E);
    int64_t hw[2] = {1, E}, hb[1] = {1};
    mg_param_uniform(g, "head.weight", 2, hw, bound);
    mg_param_uniform(g, "head.bias", 1, hb, bound);
    x = MG_OP(g, "Gemm", "head", x, "head.weight", "head.bias");
    e2e_ob_attr_int(g->b, g->last, "transB", 1);
    const char *outs[1] = {output};
    g->last = e2e_ob_node(g->b, "Sigmoid", "sigmoid", 1, &x, 1, outs);
}
