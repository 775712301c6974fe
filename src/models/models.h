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

#endif
