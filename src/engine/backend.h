/* The interface between the engine and a device backend (src/ops/cuda, built with CUDA=1):
   the one engine header a backend includes. The engine plans a session on the CPU (kernels
   prepared, passes run, memory planned) and hands the backend a read-only view of that plan;
   the backend mirrors it on the device and keeps its own state, which the engine holds as an
   opaque pointer. Operator parameters the backend needs come from the operators' shared
   decoders in src/ops (e.g. e2e_layout_xcopy for Transpose/Slice/Expand/Tile), never from a
   CPU kernel's private state. */
#ifndef E2E_BACKEND_H
#define E2E_BACKEND_H

#include "ops/op.h"

/* A session's CPU plan as a backend sees it. The pointers stay valid until the backend's
   state is freed (the engine frees it before it rebuilds or frees the plan); values' data of
   graph inputs are re-bound by the engine before each run. */
typedef struct e2e_plan_view {
    const char *model_name;     /* for messages */
    const e2e_graph *graph;     /* names; inputs and outputs */
    int n_values;
    e2e_value *values;          /* per value id: dtype, shape, data (constants, bound inputs) */
    const int *root;            /* per value: the value whose arena block it uses */
    const size_t *offset;       /* per root: arena offset, SIZE_MAX if none */
    int n_kernels;
    e2e_kernel *kernels;        /* in execution order */
    void *arena;                /* the host arena (outputs are copied back into it) */
    size_t arena_bytes;
    size_t max_bytes;           /* the session's arena limit, 0 = none */
} e2e_plan_view;

#ifdef E2E_HAVE_CUDA
/* Uploads weights and mirrors the arena on the device: *state on success (and on failure,
   for e2e_cuda_free). */
e2e_status e2e_cuda_init(const e2e_plan_view *plan, void **state, e2e_error *err);
/* Runs the plan on the device's stream and copies the outputs into the host arena. */
e2e_status e2e_cuda_run(void *state, e2e_error *err);
void e2e_cuda_free(void *state);
int e2e_cuda_count_devices(char *why, size_t n);
#endif

#endif
