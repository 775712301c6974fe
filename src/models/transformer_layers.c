/* Layers of the transformer models (ViT, ParT): pre-norm LayerNorm, the GELU MLP, and the
   head split/merge around attention, written once so both models build them alike. */
#include <math.h>
#include <stdio.h>

#include "models/model_graph.h"

mg_gelu_consts mg_gelu_consts_make(mg *g)
{
    mg_gelu_consts c;
    c.one = mg_const_f32(g, 1.0f);
    c.half = mg_const_f32(g, 0.5f);
    c.sqrt2 = mg_const_f32(g, (float)sqrt(2.0));
    return c;
}

const char *mg_layer_norm(mg *g, const char *x, const char *name, int64_t e, float eps)
{
    char w[128], b[128];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    int64_t d[1] = {e};
    mg_param_fill(g, w, 1, d, 1.0f);
    mg_param_fill(g, b, 1, d, 0.0f);
    const char *y = MG_OP(g, "LayerNormalization", name, x, w, b);
    e2e_ob_attr_int(g->b, g->last, "axis", -1);
    e2e_ob_attr_float(g->b, g->last, "epsilon", eps);
    return y;
}

const char *mg_gelu_mlp(mg *g, const char *x, const char *scope, int64_t e, int64_t m,
                        const mg_gelu_consts *c)
{
    char name[128];
    snprintf(name, sizeof name, "%s.fc1", scope);
    const char *h = mg_linear_matmul(g, x, name, e, m);
    /* exact GELU, as exported by PyTorch: ((erf(h / sqrt 2) + 1) * h) * 0.5 */
    const char *t = MG_OP(g, "Div", scope, h, c->sqrt2);
    t = MG_OP(g, "Erf", scope, t);
    t = MG_OP(g, "Add", scope, t, c->one);
    t = MG_OP(g, "Mul", scope, h, t);
    t = MG_OP(g, "Mul", scope, t, c->half);
    snprintf(name, sizeof name, "%s.fc2", scope);
    return mg_linear_matmul(g, t, name, m, e);
}

void mg_qkv_split(mg *g, const char *scope, const char *qkv, int64_t heads, int64_t d,
                  const char *parts[3])
{
    static const int64_t p5[5] = {2, 0, 3, 1, 4};
    const int64_t shape5[5] = {0, -1, 3, heads, d};
    qkv = MG_OP(g, "Reshape", scope, qkv, mg_const_i64(g, 5, shape5, 0));
    qkv = mg_transpose(g, scope, qkv, 5, p5);
    for (int64_t i = 0; i < 3; i++) {
        parts[i] = MG_OP(g, "Gather", scope, qkv, mg_const_i64(g, 1, &i, 1));
        e2e_ob_attr_int(g->b, g->last, "axis", 0);
    }
}

const char *mg_heads_merge(mg *g, const char *scope, const char *a, int64_t e)
{
    static const int64_t t0213[4] = {0, 2, 1, 3};
    char name[128];
    a = mg_transpose(g, scope, a, 4, t0213);
    const int64_t shape3[3] = {0, 0, e};
    a = MG_OP(g, "Reshape", scope, a, mg_const_i64(g, 3, shape3, 0));
    snprintf(name, sizeof name, "%s.proj", scope);
    return mg_linear_matmul(g, a, name, e, e);
}
