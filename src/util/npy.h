/* .npy files (NumPy format 1.0/2.0, little-endian, C order): float32, int64, int32, bool,
   uint8, int8; float64 is converted to float32 on read. */
#ifndef E2E_NPY_H
#define E2E_NPY_H

#include "core/ir.h"

e2e_status e2e_npy_read(const char *path, e2e_tensor *out, e2e_error *err);
/* name is used in messages. */
e2e_status e2e_npy_read_buffer(const void *buf, size_t size, const char *name, e2e_tensor *out,
                               e2e_error *err);
e2e_status e2e_npy_write(const char *path, e2e_dtype dt, int rank, const int64_t *dims,
                         const void *data, e2e_error *err);

#endif
