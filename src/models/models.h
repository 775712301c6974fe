/* The benchmark tagger models: SimpleNet and ViT-Ti for the four taggers, built in C with
   seeded random weights (see models/README.md). */
#ifndef E2E_MODELS_H
#define E2E_MODELS_H

#include <stdint.h>

#include "e2e.h"

typedef enum e2e_arch { E2E_ARCH_SIMPLENET = 0, E2E_ARCH_VIT = 1 } e2e_arch;

/* Tagger input geometry: eg 1x32x32, qg 5x128x128, top 8x128x128, tau 8x128x128. */
typedef struct e2e_tagger_spec {
    const char *name;   /* "eg", "qg", "top", "tau" */
    int channels, height, width;
} e2e_tagger_spec;

extern const e2e_tagger_spec e2e_tagger_specs[4];

/* Writes <dir>/<tagger>_<arch>.onnx for one model (dynamic batch). */
e2e_status e2e_model_write(const char *dir, const char *tagger, e2e_arch arch, uint64_t seed,
                           e2e_error *err);
/* Writes all eight; skips files that already exist when only_missing is 1. */
e2e_status e2e_models_write_all(const char *dir, uint64_t seed, int only_missing, e2e_error *err);

/* ---- any size of either architecture (tests use small ones) ---- */

typedef struct e2e_model_config {
    e2e_arch arch;
    int channels, height, width;  /* input C x H x W */
    /* ViT only: patch size (divides H and W), embedding, blocks, heads (divide embed),
       MLP hidden width. */
    int patch, embed, depth, heads, mlp;
    const char *name;             /* graph name and RNG stream key, e.g. "qg_vit" */
} e2e_model_config;

/* The benchmark configuration of a tagger: SimpleNet as in models/README.md; ViT-Ti
   (192/12/3/768), patch 16, or 4 when the image is at most 32 pixels high. */
e2e_model_config e2e_model_config_for(const e2e_tagger_spec *t, e2e_arch arch);
/* Checks the numbers (E2E_ERR_ARGUMENT with the reason). */
e2e_status e2e_model_config_check(const e2e_model_config *c, e2e_error *err);
/* Float parameters the model will have, from the architecture. */
int64_t e2e_model_config_params(const e2e_model_config *c);
const e2e_tagger_spec *e2e_tagger_find(const char *name);
const char *e2e_arch_name(e2e_arch a);  /* "simplenet", "vit" */

/* Builds the ONNX model (opset 17, input "modelInput" [batch,C,H,W], output "modelOutput"
   [batch,1]) with weights drawn from `seed`. To a file, or to a malloc'ed buffer. */
e2e_status e2e_model_build_file(const e2e_model_config *c, uint64_t seed, const char *path,
                                e2e_error *err);
e2e_status e2e_model_build_buffer(const e2e_model_config *c, uint64_t seed, uint8_t **buf,
                                  size_t *size, e2e_error *err);

#define E2E_MODELS_DEFAULT_SEED 2024u

#endif
