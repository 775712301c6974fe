/* The benchmark tagger models: SimpleNet and ViT-Ti (images) and ParticleNet-Lite, DGCNN
   and a small particle transformer (graphs) for the four taggers, built in C with seeded
   random weights (see models/README.md). */
#ifndef E2E_MODELS_H
#define E2E_MODELS_H

#include <stdint.h>

#include "e2e.h"

typedef enum e2e_arch {
    E2E_ARCH_SIMPLENET = 0,
    E2E_ARCH_VIT = 1,
    E2E_ARCH_PNET = 2,      /* ParticleNet-Lite */
    E2E_ARCH_DGCNN = 3,
    E2E_ARCH_PART = 4,      /* ParT-like transformer */
    E2E_ARCH_PNET_FULL = 5, /* ParticleNet at full size (not written by default) */
} e2e_arch;
#define E2E_ARCH_COUNT 6
/* The architectures e2e_models_write_all writes (all but pnet_full). */
#define E2E_ARCH_DEFAULT_COUNT 5

/* Graph models take float inputs points [N, 2, P] (Δη, Δφ from the seed), features
   [N, C, P], mask [N, 1, P] (1 real node, 0 padding) and, DGCNN only, seed [N, 3] (the
   seed's pT, η, φ); output modelOutput [N, 1]. */
static inline int e2e_arch_is_graph(e2e_arch a) { return a >= E2E_ARCH_PNET; }

/* Tagger input geometry: eg 1x32x32, qg 5x128x128, top 8x128x128, tau 8x128x128. */
typedef struct e2e_tagger_spec {
    const char *name;   /* "eg", "qg", "top", "tau" */
    int channels, height, width;
} e2e_tagger_spec;

extern const e2e_tagger_spec e2e_tagger_specs[4];

/* Nodes per graph of a tagger's graph models: 64 for E/Gamma, 128 for the jet taggers. */
int e2e_tagger_graph_points(const e2e_tagger_spec *t);

/* Writes <dir>/<tagger>_<arch>.onnx for one model (dynamic batch). */
e2e_status e2e_model_write(const char *dir, const char *tagger, e2e_arch arch, uint64_t seed,
                           e2e_error *err);
/* Writes the 20 default models (4 taggers x simplenet, vit, pnet, dgcnn, part); skips files
   that already exist when only_missing is 1. */
e2e_status e2e_models_write_all(const char *dir, uint64_t seed, int only_missing, e2e_error *err);

/* ---- any size of any architecture (tests use small ones) ---- */

typedef struct e2e_model_config {
    e2e_arch arch;
    int channels, height, width;  /* input C x H x W */
    /* ViT only: patch size (divides H and W), embedding, blocks, heads (divide embed),
       MLP hidden width. */
    int patch, embed, depth, heads, mlp;
    const char *name;             /* graph name and RNG stream key, e.g. "qg_vit" */
    /* Graph models (channels = C; height, width unused): nodes per graph P and neighbours k;
       EdgeConv widths, edge[b][l] for block b, layer l, 0 ending each list and an empty
       block ending the blocks (pnet: any number of blocks; dgcnn: exactly 2); fc: the
       hidden width of the head. ParT: embed, depth, heads, mlp above, pair: the width of
       the pair embedding. */
    int points, k;
    int edge[4][4];
    int fc, pair;
} e2e_model_config;

/* The benchmark configuration of a tagger: SimpleNet as in models/README.md; ViT-Ti
   (192/12/3/768), patch 16, or 4 when the image is at most 32 pixels high; ParticleNet-Lite
   (k 7, 32/64, FC 128), full ParticleNet (k 16, 64/128/256, FC 256), DGCNN (k 7, (64, 64),
   (128), FC 128), ParT (64 wide, 3 blocks, 4 heads, MLP 256, pair 16); P from
   e2e_tagger_graph_points. */
e2e_model_config e2e_model_config_for(const e2e_tagger_spec *t, e2e_arch arch);
/* Checks the numbers (E2E_ERR_ARGUMENT with the reason). */
e2e_status e2e_model_config_check(const e2e_model_config *c, e2e_error *err);
/* Float parameters the model will have, from the architecture. */
int64_t e2e_model_config_params(const e2e_model_config *c);
const e2e_tagger_spec *e2e_tagger_find(const char *name);
/* "simplenet", "vit", "pnet", "dgcnn", "part", "pnet_full"; e2e_arch_find: -1 if unknown. */
const char *e2e_arch_name(e2e_arch a);
int e2e_arch_find(const char *name);

/* Builds the ONNX model (opset 17, input "modelInput" [batch,C,H,W] or the graph inputs,
   output "modelOutput" [batch,1]) with weights drawn from `seed`. To a file, or to a
   malloc'ed buffer. */
e2e_status e2e_model_build_file(const e2e_model_config *c, uint64_t seed, const char *path,
                                e2e_error *err);
e2e_status e2e_model_build_buffer(const e2e_model_config *c, uint64_t seed, uint8_t **buf,
                                  size_t *size, e2e_error *err);

#define E2E_MODELS_DEFAULT_SEED 2024u

#endif
