/* libFuzzer target: an ONNX model from bytes -> load, plan a session (batch 1, arena capped
   at 64 MB), run once on zero inputs, read every output, free everything.
   Errors are expected and fine; crashes, leaks, sanitizer reports, allocations above
   libFuzzer's -malloc_limit_mb and hangs are findings. Built by `make fuzz` (mk/fuzz.mk). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "engine/session.h"

#define MAX_MODEL_BYTES (1u << 20)     /* the "small max size" of the loader */
#define MAX_ARENA_BYTES (64u << 20)
#define MAX_INPUT_BYTES (64u << 20)
#define MAX_RUN_FLOPS 5e7              /* skip the run of a (valid) model that is just slow */

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_MODEL_BYTES)
        return 0;
    e2e_error err;
    e2e_model *m = NULL;
    if (e2e_model_load_buffer(data, size, "fuzz.onnx", &m, &err) != E2E_OK) {
        if (m)
            abort(); /* a failed load must not hand out a model */
        return 0;
    }
    /* the queries must work on any model that loaded */
    e2e_tensor_view decl;
    for (int i = 0; i < e2e_model_input_count(m); i++)
        e2e_model_input(m, i, &decl);
    for (int i = 0; i < e2e_model_output_count(m); i++)
        e2e_model_output(m, i, &decl);
    (void)e2e_model_parameter_count(m);

    e2e_session_options o = e2e_session_options_default();
    o.default_batch = 1;
    o.max_arena_bytes = MAX_ARENA_BYTES;
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, &err) != E2E_OK) {
        if (s)
            abort();
        e2e_model_free(m);
        return 0;
    }
    double flops = 0;
    for (int i = 0; i < s->n_kernels; i++)
        flops += e2e_kernel_flops(&s->kernels[i]);

    int n_in = e2e_session_input_count(s);
    e2e_tensor_view *in = calloc((size_t)(n_in > 0 ? n_in : 1), sizeof *in);
    size_t total = 0;
    int ok = in != NULL && flops <= MAX_RUN_FLOPS;
    for (int i = 0; ok && i < n_in; i++) {
        e2e_session_input(s, i, &in[i]);
        int64_t n = e2e_tensor_view_numel(&in[i]);
        size_t es = e2e_dtype_size(in[i].dtype);
        if (n < 0 || !es || (uint64_t)n > MAX_INPUT_BYTES / es ||
            total + (size_t)n * es > MAX_INPUT_BYTES) {
            ok = 0;
            break;
        }
        total += (size_t)n * es;
        in[i].data = calloc((size_t)n * es + 1, 1);
        if (!in[i].data)
            ok = 0;
    }
    if (ok && e2e_session_run(s, in, n_in, &err) == E2E_OK) {
        /* every output byte is readable (ASan checks the extent) */
        uint8_t acc = 0;
        for (int i = 0; i < e2e_session_output_count(s); i++) {
            e2e_tensor_view out;
            if (e2e_session_output(s, i, &out) != E2E_OK)
                abort();
            int64_t n = e2e_tensor_view_numel(&out);
            size_t bytes = n > 0 ? (size_t)n * e2e_dtype_size(out.dtype) : 0;
            if (bytes && !out.data)
                abort();
            for (size_t b = 0; b < bytes; b++)
                acc ^= ((const uint8_t *)out.data)[b];
        }
        sink = acc;
    }
    if (in)
        for (int i = 0; i < n_in; i++)
            free(in[i].data);
    free(in);
    e2e_session_free(s);
    e2e_model_free(m);
    return 0;
}
