/* libFuzzer target: a .npy file from bytes (format 1.0/2.0, the dtypes e2e reads). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/npy.h"

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    e2e_tensor t;
    e2e_error err;
    if (e2e_npy_read_buffer(data, size, "fuzz.npy", &t, &err) == E2E_OK) {
        int64_t n = e2e_shape_numel(&t.shape);
        if (n < 0 || t.nbytes != (size_t)n * e2e_dtype_size(t.dtype) || (t.nbytes && !t.data))
            abort();
        uint8_t acc = 0;
        for (size_t i = 0; i < t.nbytes; i++)
            acc ^= ((const uint8_t *)t.data)[i];
        sink = acc;
    }
    e2e_tensor_clear(&t);
    return 0;
}
