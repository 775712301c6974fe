/*
 * e2e.h — the engine: load an ONNX model once, create a session per thread, run it.
 *
 *   e2e_error err;
 *   e2e_model *m = NULL;
 *   if (e2e_model_load_file("eg.onnx", &m, &err)) { fprintf(stderr, "%s\n", err.message); ... }
 *   e2e_session_options o = e2e_session_options_default();
 *   int64_t dims[4] = {4, 1, 32, 32};            // bind the dynamic batch to 4
 *   e2e_shape_binding b = {"modelInput", 4, dims};
 *   o.shapes = &b; o.n_shapes = 1;
 *   e2e_session *s = NULL;
 *   e2e_session_create(m, &o, &s, &err);         // shapes, folding, memory plan: done here
 *   e2e_tensor_view in = e2e_tensor_view_f32("modelInput", frames, 4, dims);
 *   e2e_session_run(s, &in, 1, &err);            // no heap allocation inside
 *   e2e_tensor_view out; e2e_session_output(s, 0, &out);   // points into the session
 *   e2e_session_free(s); e2e_model_free(m);
 *
 * Errors: every call returns an e2e_status; E2E_OK is 0. When `err` is not NULL it receives
 * the status and a message naming the file, the node, the operator and the reason.
 * The library never exits or aborts on bad input.
 *
 * Ownership and threads:
 *  - e2e_model is immutable after loading; one model may be shared by any number of threads
 *    and sessions. Free it after every session made from it. Its sessions share the weights
 *    packed for the GEMM kernels (packed by the first session that needs them, under a lock).
 *  - e2e_session belongs to one thread at a time. Sessions of one model may run in parallel.
 *  - Buffers passed in (inputs, model bytes) stay owned by the caller. Output views point
 *    into the session and stay valid until the next run, reshape or free of that session.
 */
#ifndef E2E_H
#define E2E_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define E2E_VERSION "0.1.0"
#define E2E_MAX_RANK 8

typedef enum e2e_status {
    E2E_OK = 0,
    E2E_ERR_IO = 1,          /* a file could not be read or written */
    E2E_ERR_PARSE = 2,       /* not ONNX / truncated / malformed content */
    E2E_ERR_UNSUPPORTED = 3, /* operator, attribute or data type not implemented */
    E2E_ERR_INVALID = 4,     /* a model that breaks the ONNX rules (bad attribute, cycle, ...) */
    E2E_ERR_SHAPE = 5,       /* inconsistent or impossible shapes */
    E2E_ERR_ARGUMENT = 6,    /* the caller passed something wrong (input size, type, name) */
    E2E_ERR_NOMEM = 7,       /* out of memory */
    E2E_ERR_LIMIT = 8,       /* a configured limit (arena, model size) would be exceeded */
    E2E_ERR_DYNAMIC = 9,     /* a shape depends on input values not known at session creation */
    E2E_ERR_DEVICE = 10      /* the requested device is not available */
} e2e_status;

typedef struct e2e_error {
    e2e_status status;
    char message[1024];
} e2e_error;

/* Element types; the numbers are ONNX's TensorProto.DataType. */
typedef enum e2e_dtype {
    E2E_UNDEFINED = 0,
    E2E_FLOAT = 1,
    E2E_UINT8 = 2,
    E2E_INT8 = 3,
    E2E_INT32 = 6,
    E2E_INT64 = 7,
    E2E_BOOL = 9
} e2e_dtype;

/* A non-owning description of a tensor (row-major, contiguous). */
typedef struct e2e_tensor_view {
    const char *name;   /* graph input/output name; NULL means "by position" for inputs */
    e2e_dtype dtype;
    int rank;
    int64_t dims[E2E_MAX_RANK];
    void *data;
} e2e_tensor_view;

typedef struct e2e_model e2e_model;
typedef struct e2e_session e2e_session;

const char *e2e_status_name(e2e_status s);
const char *e2e_dtype_name(e2e_dtype t);
size_t e2e_dtype_size(e2e_dtype t);
/* Number of elements of a view; -1 if a dimension is negative or the product overflows. */
int64_t e2e_tensor_view_numel(const e2e_tensor_view *v);
e2e_tensor_view e2e_tensor_view_f32(const char *name, float *data, int rank, const int64_t *dims);

/* ---- model (immutable, shareable) ---- */

typedef struct e2e_model_options {
    size_t max_model_bytes; /* 0 = no limit; larger files fail with E2E_ERR_LIMIT */
} e2e_model_options;

e2e_status e2e_model_load_file(const char *path, e2e_model **out, e2e_error *err);
/* `name` is used in messages and is the folder base for external data (NULL: no external data). */
e2e_status e2e_model_load_buffer(const void *data, size_t size, const char *name,
                                 e2e_model **out, e2e_error *err);
e2e_status e2e_model_load_file_ex(const char *path, const e2e_model_options *opt,
                                  e2e_model **out, e2e_error *err);
void e2e_model_free(e2e_model *m);

const char *e2e_model_name(const e2e_model *m);
int e2e_model_input_count(const e2e_model *m);   /* graph inputs that are not initializers */
int e2e_model_output_count(const e2e_model *m);
/* Declared shape of input/output i; dynamic dimensions are reported as -1. */
e2e_status e2e_model_input(const e2e_model *m, int i, e2e_tensor_view *decl);
e2e_status e2e_model_output(const e2e_model *m, int i, e2e_tensor_view *decl);
int64_t e2e_model_parameter_count(const e2e_model *m);
int e2e_model_opset(const e2e_model *m);          /* default-domain opset */

/* ---- session (one thread at a time) ---- */

typedef enum e2e_device { E2E_DEVICE_CPU = 0, E2E_DEVICE_CUDA = 1, E2E_DEVICE_AUTO = 2 } e2e_device;

typedef struct e2e_shape_binding {
    const char *name;       /* graph input name */
    int rank;
    const int64_t *dims;
} e2e_shape_binding;

/* Instruction-set level of the CPU kernels: each level's SIMD kernels are in the one library
   and chosen at run time (docs/instruction-sets.md). */
typedef enum e2e_isa_level {
    E2E_ISA_AUTO = 0,       /* the best the CPU supports (capped by the environment's E2E_ISA) */
    E2E_ISA_GENERIC = 1,    /* plain C */
    E2E_ISA_AVX2 = 2,       /* AVX2 + FMA + F16C */
    E2E_ISA_AVX512 = 3      /* AVX-512 F, BW, DQ, VL */
} e2e_isa_level;

/* The level this CPU supports (cpuid and the OS's register state; thread-safe, read once). */
e2e_isa_level e2e_cpu_isa(void);
/* The level sessions use by default: the CPU's, capped by the environment variable E2E_ISA
   (generic, avx2 or avx512) as it was at the first call of any of these functions. */
e2e_isa_level e2e_isa_default(void);
/* "generic", "avx2", "avx512" ("auto" for E2E_ISA_AUTO). */
const char *e2e_isa_name(e2e_isa_level isa);

/* Storage of the weights of matrix products and convolutions (docs/api.md, "bf16"). */
typedef enum e2e_precision {
    E2E_PRECISION_FP32 = 0, /* float32 everywhere (default) */
    /* Gemm/MatMul with a constant weight store it in bfloat16 (rounded to nearest even):
       AVX-512 BF16 dot products where the CPU has them (activations rounded to bfloat16 too,
       sums in float32); products of at most 4 rows widen the bfloat16 weights to float32
       (half the bytes read), on any CPU; without AVX512_BF16 larger products stay float32.
       2-D Conv (stride 1, group 1, constant weights; also fused with a 2x2 MaxPool) runs on
       bfloat16 weights and inputs with float32 sums where the CPU has AVX512_BF16 (AVX-512
       level), else float32. Scores move by a few 1e-3 (docs/benchmarks.md, bf16). Other
       operators stay float32. */
    E2E_PRECISION_BF16 = 1
} e2e_precision;
/* "fp32", "bf16". */
const char *e2e_precision_name(e2e_precision p);

typedef struct e2e_session_options {
    int threads;                 /* compute threads for this session (default 1) */
    size_t max_arena_bytes;      /* 0 = no limit; a plan needing more fails with E2E_ERR_LIMIT */
    e2e_device device;
    const e2e_shape_binding *shapes; /* concrete shapes for inputs with dynamic dims */
    int n_shapes;
    int64_t default_batch;       /* value for dynamic dims not bound above (default 1) */
    /* Inputs whose values are fixed for the session's life: they are folded like constants.
       Needed when an input decides a shape (Reshape's shape, Range's limits). */
    const e2e_tensor_view *fixed_inputs;
    int n_fixed_inputs;
    /* 1 (default): fusions and fast kernels that stay within float rounding of the plain
       graph; 0: run the graph as written; 2: also kernels that trade precision for speed
       (AVX2 level: 3x3 convolutions by Winograd F(4x4, 3x3), about 20% faster than F(2x2),
       errors up to ~1e-5 of the layer's output scale instead of ~1e-6; docs/api.md) */
    int optimize;
    /* E2E_ISA_AUTO (default): the best level the CPU supports; a lower level makes the
       session's kernels use that one (a higher one than the CPU has is ignored). The
       environment's E2E_ISA caps every session of the process the same way. The level used:
       e2e_session_isa. */
    e2e_isa_level isa;
    /* 1: the session also runs any batch b from 1 to B, where B is dim 0 of the inputs as
       bound: e2e_session_run takes inputs whose dim 0 is b instead of B (every input bound
       with dim 0 = B must then have the same b) and its outputs have dim 0 = b. Each b has its
       own plan, made here (creation costs about B sessions' preparation), and all plans share
       one arena and workspace sized for the largest; run makes no allocation, and the
       outputs are row by row those of the session at B: a sample's result does not depend on
       the batch it runs in (no kernel chooses by dim 0; docs/api.md). CPU only. Default 0. */
    int any_batch;
    /* E2E_PRECISION_FP32 (default) or E2E_PRECISION_BF16 (above). */
    e2e_precision precision;
} e2e_session_options;

e2e_session_options e2e_session_options_default(void);
/* sizeof(e2e_session_options) in this library: a binding that mirrors the struct (python/e2e.py)
   checks its copy against it, since fields are added at the end and a short copy would make
   e2e_session_create read the missing ones from whatever follows it. */
size_t e2e_session_options_size(void);

e2e_status e2e_session_create(const e2e_model *m, const e2e_session_options *opt,
                              e2e_session **out, e2e_error *err);
/* Bind new input shapes (allocates; not for the hot path). */
e2e_status e2e_session_reshape(e2e_session *s, const e2e_shape_binding *shapes, int n,
                               e2e_error *err);
void e2e_session_free(e2e_session *s);

/* Run once. Inputs are matched by name, or by position when name is NULL; their dtype and
   shape must equal the bound ones. Makes no heap allocation. */
e2e_status e2e_session_run(e2e_session *s, const e2e_tensor_view *inputs, int n_inputs,
                           e2e_error *err);
int e2e_session_input_count(const e2e_session *s);
int e2e_session_output_count(const e2e_session *s);
/* Bound shape of input i (data = NULL). */
e2e_status e2e_session_input(const e2e_session *s, int i, e2e_tensor_view *v);
/* Output i of the last run; data points into the session. */
e2e_status e2e_session_output(const e2e_session *s, int i, e2e_tensor_view *v);
/* Batch of the last run (dim 0 of its inputs; the bound one before any run). */
int64_t e2e_session_batch(const e2e_session *s);
size_t e2e_session_arena_bytes(const e2e_session *s);
size_t e2e_session_workspace_bytes(const e2e_session *s);
int e2e_session_node_count(const e2e_session *s); /* nodes left to run after folding/fusion */
/* The device the session runs on (never AUTO), and why when AUTO fell back to the CPU
   (empty string otherwise). */
e2e_device e2e_session_device(const e2e_session *s);
const char *e2e_session_device_note(const e2e_session *s);
/* The instruction-set level the session's CPU kernels use (never E2E_ISA_AUTO). */
e2e_isa_level e2e_session_isa(const e2e_session *s);
/* The precision the session was created with (e2e_session_options.precision). */
e2e_precision e2e_session_precision(const e2e_session *s);
/* Number of usable CUDA devices (0 in a CPU-only build or without a GPU); `why` receives
   the reason when 0. */
int e2e_cuda_device_count(char *why, size_t n);

#ifdef __cplusplus
}
#endif
#endif
