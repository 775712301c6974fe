/* A small ONNX writer over the protoc-c structs: the model builder (src/models/) and tests
 * that need hand-made or deliberately malformed models use it.
 *
 *   e2e_ob *b = e2e_ob_new(17, "simplenet");            // ir_version 8, producer "e2e"
 *   int64_t in_dims[4] = {-1, 1, 32, 32};                // -1: dim_param "batch"
 *   e2e_ob_input(b, "x", E2E_FLOAT, 4, in_dims);
 *   e2e_ob_init_f32(b, "w", 4, wdims, w);                // copied
 *   Onnx__NodeProto *n = e2e_ob_node(b, "Conv", NULL, 2, (const char *[]){"x", "w"}, 1,
 *                                    (const char *[]){"y"});
 *   e2e_ob_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
 *   e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);           // rank -1: no shape declared
 *   e2e_ob_write_file(b, "m.onnx", &err);
 *   e2e_ob_free(b);
 *
 * Errors are sticky: an allocation failure inside any call marks the builder, later calls
 * become no-ops, and e2e_ob_pack / e2e_ob_write_file report E2E_ERR_NOMEM. So building code
 * needs no checks between calls. Nothing is validated: graphs that break the ONNX rules can be
 * written on purpose. Every string and array passed in is copied.
 */
#ifndef E2E_ONNX_BUILD_H
#define E2E_ONNX_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"
#include "onnx.pb-c.h"

typedef struct e2e_ob e2e_ob;

/* A model with one default-domain opset import, IR version 8, producer "e2e". NULL when out
   of memory. */
e2e_ob *e2e_ob_new(int opset, const char *graph_name);
void e2e_ob_free(e2e_ob *b);

/* The protobuf being built, for changes the helpers do not cover (ir_version, extra opset
   imports, doc strings...). Whatever is set directly must be malloc'ed (e2e_ob_free frees it),
   and a repeated field replaced by hand must not be appended to through the helpers again
   (they assume capacities of 4, 8, 16, ...). */
Onnx__ModelProto *e2e_ob_proto(e2e_ob *b);
/* Sets the model's ir_version / producer / adds an opset import for a domain. */
void e2e_ob_set_ir_version(e2e_ob *b, int64_t v);
void e2e_ob_add_opset(e2e_ob *b, const char *domain, int64_t version);

/* Graph inputs / outputs. rank -1 declares no shape; dims[i] < 0 declares dim_param "batch"
   (the name can be changed with e2e_ob_dim_param). */
Onnx__ValueInfoProto *e2e_ob_input(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                   const int64_t *dims);
Onnx__ValueInfoProto *e2e_ob_output(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                    const int64_t *dims);
/* Adds a graph.value_info entry (intermediate shape annotation). */
Onnx__ValueInfoProto *e2e_ob_value_info(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                        const int64_t *dims);
/* Renames the dim_param used for negative dims in later declarations ("batch" by default). */
void e2e_ob_dim_param(e2e_ob *b, const char *name);

/* Initializers, data copied into raw_data (little-endian host assumed). numel is taken from
   dims. e2e_ob_init_raw copies nbytes as given, even if they disagree with dims. A NULL data
   pointer gives zeros, to be filled in place through the returned tensor's raw_data. */
Onnx__TensorProto *e2e_ob_init_f32(e2e_ob *b, const char *name, int rank, const int64_t *dims,
                                   const float *data);
Onnx__TensorProto *e2e_ob_init_i64(e2e_ob *b, const char *name, int rank, const int64_t *dims,
                                   const int64_t *data);
Onnx__TensorProto *e2e_ob_init_raw(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                   const int64_t *dims, const void *raw, size_t nbytes);
/* A free-standing tensor (for Constant's value attribute); owned by the caller until passed
   to e2e_ob_attr_tensor, which takes it over. */
Onnx__TensorProto *e2e_ob_tensor(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                 const int64_t *dims, const void *raw, size_t nbytes);

/* Appends a node. name NULL: "<op>_<index>". Inputs may be "" (omitted optional input). */
Onnx__NodeProto *e2e_ob_node(e2e_ob *b, const char *op_type, const char *name, int n_in,
                             const char *const *in, int n_out, const char *const *out);
void e2e_ob_node_domain(e2e_ob *b, Onnx__NodeProto *n, const char *domain);

/* Attributes; n may be NULL (after a failed e2e_ob_node), then nothing happens. */
void e2e_ob_attr_int(e2e_ob *b, Onnx__NodeProto *n, const char *name, int64_t v);
void e2e_ob_attr_float(e2e_ob *b, Onnx__NodeProto *n, const char *name, float v);
void e2e_ob_attr_string(e2e_ob *b, Onnx__NodeProto *n, const char *name, const char *v);
void e2e_ob_attr_ints(e2e_ob *b, Onnx__NodeProto *n, const char *name, int count,
                      const int64_t *v);
void e2e_ob_attr_floats(e2e_ob *b, Onnx__NodeProto *n, const char *name, int count,
                        const float *v);
void e2e_ob_attr_tensor(e2e_ob *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);
/* A GRAPH attribute (If's then_branch/else_branch): the graph built in `body` (its nodes,
   initializers and outputs; its inputs, opset and name as built) is taken over and `body`
   is freed, in every case. */
void e2e_ob_attr_graph(e2e_ob *b, Onnx__NodeProto *n, const char *name, e2e_ob *body);

/* Serialises. e2e_ob_pack: *buf is malloc'ed, the caller frees it. */
e2e_status e2e_ob_pack(e2e_ob *b, uint8_t **buf, size_t *size, e2e_error *err);
e2e_status e2e_ob_write_file(e2e_ob *b, const char *path, e2e_error *err);
/* Serialised size in bytes (0 after an allocation failure). */
size_t e2e_ob_packed_size(e2e_ob *b);
/* Number of float elements in the initializers (what e2e_model_parameter_count reports). */
int64_t e2e_ob_parameter_count(const e2e_ob *b);

#endif
