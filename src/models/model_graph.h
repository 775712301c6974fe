/* Internal to src/models: a thin layer over the ONNX builder for writing architectures as
   code (value names generated, seeded weights, constants as Constant nodes so that only real
   parameters are float initializers). */
#ifndef E2E_MODEL_GRAPH_H
#define E2E_MODEL_GRAPH_H

#include <stdint.h>

#include "models/models.h"
#include "onnx/onnx_build.h"

typedef struct mg {
    e2e_ob *b;
    const char *model;      /* RNG stream key: the model's name */
    uint64_t seed;
    int counter;            /* for generated value names */
    Onnx__NodeProto *last;  /* the node made by the last mg_op */
} mg;

/* Deterministic generator (splitmix64): one stream per (seed, model, tensor name), so a
   tensor's values do not depend on the order the graph is built in. */
typedef struct mg_rng {
    uint64_t s;
} mg_rng;
mg_rng mg_rng_for(uint64_t seed, const char *model, const char *tensor);
uint64_t mg_rng_next(mg_rng *r);
double mg_rng_uniform(mg_rng *r);   /* [0, 1) */
double mg_rng_normal(mg_rng *r);    /* N(0, 1) */

/* A node with one output, named "<scope>/<op>_<k>"; returns the output name (owned by the
   model). Attributes go on g->last. n_in inputs from in[]. */
const char *mg_op(mg *g, const char *op, const char *scope, int n_in, const char *const *in);
#define MG_OP(g, op, scope, ...) \
    mg_op((g), (op), (scope), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
          (const char *[]){__VA_ARGS__})

/* Constant nodes. */
const char *mg_const_f32(mg *g, float v);                              /* scalar */
const char *mg_const_i64(mg *g, int n, const int64_t *v, int scalar);  /* 1-D, or rank 0 */

/* Float parameters (initializers named like the PyTorch state_dict). */
const char *mg_param_uniform(mg *g, const char *name, int rank, const int64_t *dims,
                             double bound);
const char *mg_param_trunc_normal(mg *g, const char *name, int rank, const int64_t *dims,
                                  double std);
const char *mg_param_fill(mg *g, const char *name, int rank, const int64_t *dims, float v);

/* Layers shared by the graph models (graph_layers.c), initialised like PyTorch's defaults:
   weights U(±1/sqrt(fan_in)), BatchNorm weight 1, bias 0, running mean 0, variance 1. */
/* 1x1 Conv, Conv2d (rank 4 weight [out, in, 1, 1]) or Conv1d (rank 3); bias optional. */
const char *mg_conv1x1(mg *g, const char *x, const char *name, int conv_rank, int64_t in,
                       int64_t out, int bias);
/* Linear as Gemm(transB = 1): <name>.weight [out, in] (PyTorch's layout), <name>.bias. */
const char *mg_linear_gemm(mg *g, const char *x, const char *name, int64_t in, int64_t out);
/* Linear on [.., in] as MatMul + Add: <name>.weight stored [in, out] (transposed). */
const char *mg_linear_matmul(mg *g, const char *x, const char *name, int64_t in, int64_t out);
/* Reductions over one axis (ReduceSum's axes as an input, the others' as an attribute). */
const char *mg_reduce(mg *g, const char *op, const char *scope, const char *x, int64_t axis,
                      int keepdims);
const char *mg_transpose(mg *g, const char *scope, const char *x, int rank, const int64_t *perm);
const char *mg_unsqueeze(mg *g, const char *scope, const char *x, int64_t axis);
const char *mg_slice(mg *g, const char *scope, const char *x, int64_t axis, int64_t start,
                     int64_t end);
/* Clip(x, min) with no upper bound. */
const char *mg_clip_min(mg *g, const char *scope, const char *x, float lo);

/* Graph-model layers in token layout ([N, P, C], channels last; graph_layers.c). */

/* BatchNorm <name> (eval) as an affine map x * scale + shift, scale = weight / sqrt(var +
   1e-5), shift = bias - mean * scale: computed in the graph from the four initializers
   (folded to constants at session creation). */
void mg_bn_affine(mg *g, const char *name, int64_t c, const char **scale, const char **shift);
/* The weight of the 1x1 convolution <name> (PyTorch layout [out, in, 1(, 1)], conv_rank 3
   or 4) as an [in, out] matrix with its columns multiplied by `scale` (NULL: not). */
const char *mg_conv_matrix(mg *g, const char *name, int conv_rank, int64_t in, int64_t out,
                           const char *scale);
/* The indices [N, P, k] of the k nearest points of x [N, P, D] by TopK on the pairwise
   distance -|xj|^2 + 2 xi.xj - |xi|^2 (as weaver's, here one MatMul); skip_self takes k + 1 and
   drops the first (ParticleNet), otherwise the point is its own first neighbour (PyG). */
const char *mg_knn(mg *g, const char *scope, const char *x, int64_t k, int skip_self);
/* arange(N) * P as [N, 1, 1], N the batch of `like`. */
const char *mg_batch_offsets(mg *g, const char *like, int64_t p);
/* An EdgeConv layer stack on x [N, P, in] with neighbours idx [N, P, k], returning
   [N * P, k, width] after the last Relu (the caller reduces over axis 1). Layer l is the 1x1
   Conv <scope>.convs.l (no bias) + BatchNorm <scope>.bns.l + Relu, widths w[0..n-1]. The
   first layer, on cat(x_i, x_j - x_i), is computed per node as (Wa - Wb) x_i + Wb x_j (W =
   [Wa | Wb]), Wb x_j gathered for the neighbours by a flat Gather with the batch offsets
   `base`; the others are MatMul on [N * P, k, width] with BatchNorm folded into the weight. */
const char *mg_edge_mlp(mg *g, const char *scope, const char *x, const char *idx,
                        const char *base, int64_t in, int64_t k, int n, const int *w);

/* Transformer layers (transformer_layers.c), shared by the ViT and ParT. */
/* The GELU's constants (1, 0.5, sqrt 2), made once per model as Constant nodes. */
typedef struct mg_gelu_consts {
    const char *one, *half, *sqrt2;
} mg_gelu_consts;
mg_gelu_consts mg_gelu_consts_make(mg *g);
/* LayerNormalization over the last axis: <name>.weight 1, <name>.bias 0, both [e]. */
const char *mg_layer_norm(mg *g, const char *x, const char *name, int64_t e, float eps);
/* <scope>.fc2(GELU(<scope>.fc1(x))), e -> m -> e, with the exact GELU PyTorch exports. */
const char *mg_gelu_mlp(mg *g, const char *x, const char *scope, int64_t e, int64_t m,
                        const mg_gelu_consts *c);
/* [N, T, 3 heads d] -> q, k, v, each [N, heads, T, d] (Reshape, Transpose, three Gathers). */
void mg_qkv_split(mg *g, const char *scope, const char *qkv, int64_t heads, int64_t d,
                  const char *parts[3]);
/* Attention output [N, heads, T, d] -> [N, T, e] -> <scope>.proj (MatMul + Add). */
const char *mg_heads_merge(mg *g, const char *scope, const char *a, int64_t e);

/* Architectures (simplenet.c, vit.c, pnet.c, dgcnn.c, part.c): add the graph body between
   input and output names (graph models read the inputs "points", "features", "mask" and, for
   DGCNN, "seed"). */
void e2e_simplenet_graph(mg *g, const e2e_model_config *c, const char *input, const char *output);
void e2e_vit_graph(mg *g, const e2e_model_config *c, const char *input, const char *output);
int e2e_pnet_fusion_width(const e2e_model_config *c); /* clamp(Σ last widths // 128 * 128, 128, 1024) */
void e2e_pnet_graph(mg *g, const e2e_model_config *c, const char *output);
void e2e_dgcnn_graph(mg *g, const e2e_model_config *c, const char *output);
void e2e_part_graph(mg *g, const e2e_model_config *c, const char *output);

#endif
