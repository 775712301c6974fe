/* Hand-crafted ONNX files for the loader and session tests (protobuf-c structs directly, so
   malformed models can be made on purpose). */
#ifndef MODEL_CRAFT_H
#define MODEL_CRAFT_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

typedef struct mc_model {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[32];
    Onnx__ValueInfoProto *inputs[8], *outputs[8];
    Onnx__TensorProto *inits[8];
} mc_model;

void mc_init(mc_model *mm, int opset);
/* A float input/output with the given dims (-1 = dynamic "batch"). */
void mc_input(mc_model *mm, const char *name, int rank, const int64_t *dims);
void mc_output(mc_model *mm, const char *name);
/* Node with up to 4 inputs/outputs given as NULL-terminated lists. */
Onnx__NodeProto *mc_node(mc_model *mm, const char *op, const char *const *in, const char *const *out);
void mc_attr_int(Onnx__NodeProto *n, const char *name, int64_t v);
void mc_attr_float(Onnx__NodeProto *n, const char *name, float v);
/* Float initializer from raw bytes (nbytes may disagree with dims on purpose). */
Onnx__TensorProto *mc_init_raw(mc_model *mm, const char *name, int rank, const int64_t *dims,
                               const void *raw, size_t nbytes);
/* Serialises; caller frees *buf. */
size_t mc_pack(mc_model *mm, uint8_t **buf);
void mc_free(mc_model *mm);
/* Writes bytes to path; returns 0 on success. */
int mc_write(const char *path, const void *buf, size_t n);

#endif
