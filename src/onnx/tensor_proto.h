/* onnx.TensorProto -> e2e_tensor (initializers, Constant values, .pb test files). */
#ifndef E2E_TENSOR_PROTO_H
#define E2E_TENSOR_PROTO_H

#include "core/ir.h"

struct Onnx__TensorProto;

/* base_dir: folder for external data (NULL: external data refused). `what` names the tensor's
   place in messages (e.g. "model.onnx: initializer \"w\""). */
e2e_status e2e_tensor_from_proto(const struct Onnx__TensorProto *tp, const char *base_dir,
                                 const char *what, e2e_tensor *out, e2e_error *err);

/* Reads a serialized TensorProto file (.pb, the backend-test layout) or buffer. */
/* e2e_tensor_from_proto that moves a large raw_data block into the tensor instead of copying
   it (tp loses it); for the loader, which frees the message right after. */
e2e_status e2e_tensor_take_proto(struct Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                 e2e_tensor *out, e2e_error *err);
e2e_status e2e_tensor_read_pb(const char *path, e2e_tensor *out, e2e_error *err);
e2e_status e2e_tensor_read_pb_buffer(const void *buf, size_t size, const char *name,
                                     e2e_tensor *out, e2e_error *err);

/* Whole file into memory (caller frees); fails cleanly above max_bytes when max_bytes > 0. */
e2e_status e2e_file_read(const char *path, size_t max_bytes, void **data, size_t *size,
                         e2e_error *err);
/* The same, read-only, mapped when the file is a regular non-empty file (*mapped = 1: no copy
   and no fresh pages; a model file is then read straight from the page cache), else read.
   Release with e2e_file_release. */
e2e_status e2e_file_map(const char *path, size_t max_bytes, const void **data, size_t *size,
                        int *mapped, e2e_error *err);
void e2e_file_release(const void *data, size_t size, int mapped);

#endif
