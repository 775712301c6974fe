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

/* Architectures (simplenet.c, vit.c): add the graph body between input and output names. */
void e2e_simplenet_graph(mg *g, const e2e_model_config *c, const char *input, const char *output);
void e2e_vit_graph(mg *g, const e2e_model_config *c, const char *input, const char *output);

#endif
