/* Session internals, shared by the runtime files, the CLI (info, bench profile) and tests. */
#ifndef E2E_SESSION_H
#define E2E_SESSION_H

#include "ops/op.h"

struct e2e_session {
    const e2e_model *model;
    e2e_session_options opt;        /* pointers inside refer to the copies below */
    e2e_shape_binding *bindings;    /* owned copies */
    int64_t *binding_dims;
    e2e_tensor *fixed;              /* owned copies of fixed inputs */
    int n_fixed;

    int n_values;                   /* = model graph values */
    e2e_value *values;
    void **owned;                   /* per value: heap data of folded constants */
    int *deferred;                  /* per value, while building: 1 + the kernel of a constant
                                       DequantizeLinear left unfolded (session.c, defer_dq) */
    int *root;                      /* per value: value whose arena block it uses (alias/in-place) */
    size_t *offset;                 /* per value: arena offset of a root, SIZE_MAX if none */

    int n_kernels;                  /* active kernels in execution order */
    e2e_kernel *kernels;
    e2e_kernel_ctx kctx;            /* what every kernel shares (its ctx), filled by build */
    e2e_value **ptrs;               /* storage for the kernels' in/out pointer arrays */
    e2e_error kernel_err;           /* where prepare-time kernel messages land */

    void *arena;
    size_t arena_bytes;
    void *ws;
    size_t ws_bytes;
    int n_folded, n_fused, n_aliased;
    size_t folded_bytes;            /* heap held by folded constants */

    void *fuse_state;               /* synthetic nodes of pattern fusions (fuse.c) */
    e2e_pool *pool;                 /* compute threads beyond the caller's */
    e2e_device device;              /* CPU or CUDA, never AUTO */
    char device_note[256];
    void *cuda;                     /* the device backend's state (engine/backend.h), NULL on CPU */
    /* any_batch: sub[b - 1] is the plan for batch b < batch (NULL for b = batch: this one);
       they borrow this session's pool, arena and workspace. */
    int64_t batch;                  /* dim 0 bound for any_batch, 0 otherwise */
    e2e_session **sub;
    bool gated;                     /* kernels of If branches decided at run: the optimizing
                                       passes are skipped (passes.c) */
    const e2e_session *last;        /* the plan of the last run (this one or a sub) */
    bool borrowed;                  /* a sub: arena and workspace are the parent's */
    bool pool_borrowed;             /* a sub: the pool is the parent's */
};

/* At run, whether the If branch of gate (a kernel's k->gate, > 0) is taken: every condition
   on its chain chooses it, outermost first, so a condition computed inside a skipped branch
   is never read. Kernels with a gate that is not open are skipped. (The CUDA backend has no
   If: such sessions fail at its init, naming the node.) */
bool e2e_session_gate_open(const e2e_session *s, int gate);

/* Removes a kernel from the list: releases its state, op = NULL (the compaction drops the
   slot). The one way a pass takes a kernel out. */
void e2e_kernel_remove(e2e_kernel *k);

/* E2E_ERR_UNSUPPORTED naming every operator type without a kernel (once each, with its
   first node) unless the registry has them all (support.c). e2e_session_create asks it first. */
e2e_status e2e_model_check_support(const e2e_model *m, e2e_error *err);

/* FLOPs of one prepared kernel (multiply-add = 2); 0 for data movement. */
double e2e_kernel_flops(const e2e_kernel *k);

#endif
