/* libFuzzer target: a serialized onnx.TensorProto (.pb, the backend-test layout) from bytes.
   A decoded tensor must be consistent: data sized by its shape and dtype. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/tensor_proto.h"

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    e2e_tensor t;
    memset(&t, 0, sizeof t);
    e2e_error err;
    if (e2e_tensor_read_pb_buffer(data, size, "fuzz.pb", &t, &err) == E2E_OK) {
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
