/* Operator interface. One file per operator family under src/ops/; each exports a table
   `const e2e_op_def e2e_ops_<family>[]` ended by an entry with op_type NULL, listed in
   registry.c.

   Life of a kernel in a session:
     prepare(k)  once at session creation (and re-bind): validate attributes and input
                 types, set every output's dtype and shape, request workspace
                 (k->ws_size), build k->priv (may allocate; packed weights go here).
                 Inputs with is_const have their data; others have only dtype/shape.
     run(k)      every session run; data pointers are set; must not allocate.
                 When all inputs are constant the session runs the kernel once at
                 prepare time and the node disappears (constant folding).
     release(p)  frees priv.
   Kernels never see protobuf structs and never compare strings in run(). */
#ifndef E2E_OP_H
#define E2E_OP_H

#include <math.h>

#include "core/ir.h"
#include "core/pool.h"

/* A tensor slot inside a session. */
typedef struct e2e_value {
    e2e_dtype dtype;
    e2e_shape shape;
    int64_t numel;
    void *data;         /* arena, caller input, or constant data */
    bool is_const;      /* value known at prepare time */
    bool is_input;      /* caller's memory: never written */
    bool is_model;      /* data is one of the model's initializers (same in every session) */
} e2e_value;

/* Activation fused into a producer's epilogue (Conv, Gemm, MatMul, ...). */
typedef enum e2e_act {
    E2E_ACT_NONE = 0,
    E2E_ACT_RELU,
    E2E_ACT_LEAKY_RELU,   /* alpha */
    E2E_ACT_SIGMOID,
    E2E_ACT_CLIP,         /* alpha = min, beta = max */
    E2E_ACT_GELU          /* exact, erf */
} e2e_act;

struct e2e_op_def;

/* What every kernel of a session shares: the session's settings, filled once by the session
   (engine/session.c build) and pointed to by each of its kernels, fused ones included
   (read-only for kernels; it lives as long as the session). */
typedef struct e2e_kernel_ctx {
    const char *model_name;
    int threads;
    e2e_pool *pool;         /* the session's threads (NULL = one); see core/pool.h */
    size_t max_bytes;       /* session's arena limit (0 = none): e2e_out_set refuses larger outputs */
    struct e2e_pack_cache *packs; /* the model's shared packed weights, or NULL (pack_cache.h) */
    int optimize;           /* the session's e2e_session_options.optimize (2: faster, less exact
                               kernels allowed) */
    e2e_isa_level isa;      /* the session's instruction-set level (ops/cpu_isa.h): prepare
                               picks the kernels' entry points for it */
    int any_batch;          /* a plan of an any_batch session (the bound batch's or a smaller
                               one's): prepare makes no choice on dim 0, so that a row's
                               result does not depend on the batch it runs in */
    e2e_precision precision; /* the session's: BF16 lets Gemm/MatMul and Conv keep constant
                                weights in bfloat16 (ops/mm_bf16.h, ops/conv_internal.h) */
} e2e_kernel_ctx;

typedef struct e2e_kernel {
    const e2e_node *node;
    const struct e2e_op_def *op;
    const e2e_kernel_ctx *ctx; /* the session's settings (above) */
    int opset;              /* the model's opset for the node's domain */
    int n_in, n_out;
    e2e_value **in;         /* in[i] is NULL for an omitted optional input */
    e2e_value **out;
    void *priv;
    size_t ws_size;         /* bytes of shared workspace wanted by run() */
    void *ws;
    e2e_act act;            /* fused epilogue, set by passes before prepare */
    float act_alpha, act_beta;
    e2e_error *err;
    int gate;               /* 1 + index into the graph's gates: the kernel belongs to an If
                               branch chosen at run and is skipped when not taken; 0: always runs */
} e2e_kernel;

typedef struct e2e_op_def {
    const char *op_type;
    e2e_status (*prepare)(e2e_kernel *k);
    e2e_status (*run)(e2e_kernel *k);
    void (*release)(void *priv);
    unsigned flags;         /* E2E_OP_* below */
} e2e_op_def;

enum {
    E2E_OP_INPLACE = 1u << 0,     /* out[0] may reuse in[0]'s memory (same size) */
    E2E_OP_FUSES_ACT = 1u << 1,   /* honours k->act */
    E2E_OP_ALIAS = 1u << 2        /* out[0] is in[0]'s bytes reinterpreted (Reshape, Flatten,
                                     Squeeze, Unsqueeze, Identity, Dropout): run may be a no-op
                                     when the session aliases them */
};

const e2e_op_def *e2e_op_find(const char *domain, const char *op_type);

/* ---- helpers for kernels (src/ops/op_util.c) ---- */

/* Writes "<model>: node \"<name>\" (<op>): <reason>" to k->err; returns st. */
e2e_status e2e_kfail(e2e_kernel *k, e2e_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Attribute getters: absent -> default (returns E2E_OK); wrong type -> E2E_ERR_INVALID. */
e2e_status e2e_attr_int(e2e_kernel *k, const char *name, int64_t def, int64_t *out);
e2e_status e2e_attr_float(e2e_kernel *k, const char *name, float def, float *out);
/* *vals points into the node (do not free); *n = 0 and *vals = NULL when absent. */
e2e_status e2e_attr_ints(e2e_kernel *k, const char *name, const int64_t **vals, int *n);
e2e_status e2e_attr_floats(e2e_kernel *k, const char *name, const float **vals, int *n);
e2e_status e2e_attr_string(e2e_kernel *k, const char *name, const char *def, const char **out);
e2e_status e2e_attr_tensor(e2e_kernel *k, const char *name, const e2e_tensor **out);

/* Checks the input count range and that required inputs are present. */
e2e_status e2e_check_inputs(e2e_kernel *k, int min, int max);
/* Fails unless in[i] has one of the allowed dtypes (terminate list with E2E_UNDEFINED). */
e2e_status e2e_check_dtype(e2e_kernel *k, int i, ...);

/* Reads a constant integer input (int64 or int32) of at most max elements as int64.
   Not constant -> E2E_ERR_DYNAMIC. */
e2e_status e2e_input_ints(e2e_kernel *k, int i, int64_t *buf, int max, int *n);
/* Reads a constant float input. */
e2e_status e2e_input_floats(e2e_kernel *k, int i, float *buf, int max, int *n);

/* Sets out[i]'s dtype and shape (computes numel; fails on overflow). */
e2e_status e2e_out_set(e2e_kernel *k, int i, e2e_dtype dt, const e2e_shape *s);

/* Normalises axis into [0, rank) (rank+1 when allow_end); fails with a message otherwise. */
e2e_status e2e_axis(e2e_kernel *k, int64_t axis, int rank, int *out);

/* numpy multidirectional broadcast of a and b into out. */
e2e_status e2e_broadcast(e2e_kernel *k, const e2e_shape *a, const e2e_shape *b, e2e_shape *out);
/* Element strides of `in` seen with out's rank: 0 on broadcast dims. */
void e2e_broadcast_strides(const e2e_shape *in, const e2e_shape *out, int64_t *strides);

/* MatMul's shapes (numpy matmul) for A as and B bs: a rank-1 A is [1, K], a rank-1 B [K, 1];
   M, K, N; the batch shapes of A and B (ab, bb: all but the last two dims) and their
   broadcast ob; the output shape ys (without the promoted unit dims). Fails naming both shapes
   on a rank 0 operand, differing inner dimensions or a too large output rank. Shared by MatMul,
   MatMulInteger and QLinearMatMul. */
typedef struct e2e_matmul_shape {
    int64_t M, K, N;
    e2e_shape ab, bb, ob, ys;
} e2e_matmul_shape;
e2e_status e2e_matmul_shape_of(e2e_kernel *k, const e2e_shape *as, const e2e_shape *bs,
                               e2e_matmul_shape *out);

/* Applies a fused activation to n floats in place. */
void e2e_act_apply(e2e_act act, float alpha, float beta, float *x, int64_t n);

/* max(a, b) where a NaN in either wins: MaxPool's rule (docs/operator-notes.md, "NaN and
   Inf"); the SIMD forms are e2e_vmax_nan in src/ops/x86/simd_*.h. */
static inline float e2e_fmax_nan(float a, float b) { return a != a || a > b ? a : b; }

/* The logistic function, the one formula of the Sigmoid kernel and of every fused Sigmoid
   (e2e_act_apply), so that fused and plain graphs give the same bits: 1 / (1 + exp(-x)),
   PyTorch's formula and the one the fused epilogues always used. Below x = -88.7 exp(-x)
   overflows to Inf and the result is +0 (the true value is under 1e-38). */
static inline float e2e_sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

#endif
