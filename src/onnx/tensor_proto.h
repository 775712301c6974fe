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
/* The same into a 64-byte aligned block, released with e2e_aligned_free: a large file lands in
   huge pages (core/region.h), where reading it costs a fraction of the 4 KB page faults of a
   mapping or a malloc'd buffer. Read, not mapped: a file truncated or rewritten meanwhile
   gives a short read or the old bytes, never a SIGBUS. */
e2e_status e2e_file_read_aligned(const char *path, size_t max_bytes, void **data, size_t *size,
                                 e2e_error *err);

#endif
