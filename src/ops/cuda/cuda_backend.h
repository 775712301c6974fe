/* The CUDA backend's internals, shared by the .cu files of src/ops/cuda (C++, nvcc only).

   A CUDA session is the CPU session's plan run on the device:
     - the device arena mirrors the host arena byte for byte (same offsets, plan offset[root]),
       so aliasing and in-place decisions carry over unchanged;
     - constants read by a kernel (initializers, folded values, Shape outputs) are uploaded
       once at init into one device block; graph inputs get one device block each;
     - every kernel of the plan becomes a cu_node: its device in/out pointers and an
       op-specific parameter block are resolved at init, and `run` is a function pointer
       chosen at init (no string compares at run time);
     - one cudaStream_t and one cuBLAS handle per session; run copies the inputs in, launches
       every node, copies the graph outputs into their host arena slots and synchronises once.
   Kernels that could meet a bad index computed at run time (Gather with non-constant
   indices) record the first failing node in a device word that is read after the one
   synchronisation, so no kernel needs the host in between. */
#ifndef E2E_CUDA_BACKEND_H
#define E2E_CUDA_BACKEND_H

/* The library is linked by the C compiler, without libstdc++. The host stub nvcc writes for
   every __global__ function initialises function-local statics, which g++ guards with
   __cxa_guard_* (and their exception cleanup with __gxx_personality_v0), both in libstdc++.
   Without thread-safe statics the stubs need neither; the only effect is that two threads
   launching the same kernel for the very first time at the same instant may both look up its
   handle (same result). Must come before any code. */
#pragma nv_diag_suppress 1675
#pragma GCC optimize("no-threadsafe-statics")
#pragma nv_diag_default 1675

#include <math.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#ifndef E2E_HAVE_CUDA
#define E2E_HAVE_CUDA 1 /* the hook prototypes in engine/backend.h */
#endif

extern "C" {
#include "ops/op.h"
#include "ops/op_geom.h"
#include "ops/shape_internal.h"
#include "engine/backend.h"
}

struct cu_state;
struct cu_node;

typedef e2e_status (*cu_run_fn)(cu_state *S, cu_node *n);
typedef e2e_status (*cu_prepare_fn)(cu_state *S, cu_node *n);

/* One kernel of the session on the device. */
struct cu_node {
    e2e_kernel *k;
    int index;              /* position in s->kernels (reported by the error word) */
    cu_run_fn run;
    int n_in, n_out;
    void **in, **out;       /* device pointers; NULL for an omitted optional input/output */
    void *p;                /* op parameters (calloc'ed at prepare, freed at session free) */
    void *dev;              /* op-owned device memory (cudaFree'd at session free) */
    size_t ws;              /* device workspace wanted by run, bytes */
    /* what the error word means when this node sets it (Gather: a bad index) */
    e2e_status flag_status;
    const char *flag_reason;
};

struct cu_state {
    e2e_plan_view plan;     /* the engine's CPU plan (engine/backend.h) */
    const e2e_plan_view *s; /* = &plan */
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    char *d_arena;          /* mirrors s->arena */
    char *d_ws;             /* shared device workspace */
    size_t ws_bytes;
    char *d_consts;         /* every constant read by a kernel */
    size_t *const_off;      /* per value: offset in d_consts, SIZE_MAX if not uploaded */
    char *d_inputs;         /* graph inputs given at run */
    size_t *input_off;      /* per value: offset in d_inputs, SIZE_MAX if not an input */
    int *d_flag;            /* error word: 0, or 1 + index of the first failing node */
    int *h_flag;            /* pinned host copy */
    bool flag_used;
    bool host_registered;   /* s->arena is page-locked for the output copies */
    int n_nodes;
    cu_node *nodes;
    void **ptrs;            /* storage of the nodes' in/out pointer arrays */
    /* copies at run: host<->device pairs */
    int n_up, n_down;
    struct cu_copy {
        void *host;         /* down: the host arena slot */
        void *dev;
        size_t bytes;
        int value;          /* up: the graph input's value id (its data is the caller's) */
    } *up, *down;
};

/* ---- helpers (cuda_session.cu) ---- */

/* Message naming the node: "<model>: node "<name>" (<op>): <reason>". */
e2e_status cu_fail(cu_node *n, e2e_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A CUDA runtime error (cudaErrorMemoryAllocation -> E2E_ERR_NOMEM, others E2E_ERR_DEVICE). */
e2e_status cu_fail_cuda(cu_node *n, cudaError_t e, const char *what);
e2e_status cu_fail_blas(cu_node *n, cublasStatus_t e, const char *what);
/* "<reason>: not implemented on CUDA" with E2E_ERR_UNSUPPORTED. */
e2e_status cu_unsupported(cu_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks the launches just made (cudaGetLastError). */
e2e_status cu_check_launch(cu_node *n);
/* calloc'ed parameter block owned by the node. */
void *cu_params(cu_node *n, size_t bytes);
/* Device memory owned by the node (one block per node), copied from host now, on the
   session's stream, and waited for (init only). */
e2e_status cu_node_upload(cu_state *S, cu_node *n, const void *host, size_t bytes, void **dev);
/* A device copy of n bytes (D2D on the stream) unless the pointers are equal. */
e2e_status cu_copy_d2d(cu_state *S, cu_node *n, void *dst, const void *src, size_t bytes);

static inline size_t cu_esize(const e2e_value *v) { return e2e_dtype_size(v->dtype); }

/* Threads per block of the elementwise kernels and the grid for n elements (grid-stride). */
#define CU_THREADS 256
static inline unsigned cu_blocks(int64_t n)
{
    int64_t b = (n + CU_THREADS - 1) / CU_THREADS;
    if (b < 1)
        b = 1;
    if (b > (1 << 20))
        b = 1 << 20;
    return (unsigned)b;
}
#define CU_LOOP(t, n)                                                                              \
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < (n);                      \
         t += (int64_t)blockDim.x * gridDim.x)

/* The CPU's e2e_sigmoidf (op.h): the Sigmoid kernel's and every fused Sigmoid's formula. */
static __device__ __forceinline__ float cu_sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

/* Fused activation (k->act), the same formulas as e2e_act_apply (Relu keeps a NaN, as the
   CPU's x < 0 ? 0 : x does). */
static __device__ __forceinline__ float cu_act(int act, float alpha, float beta, float x)
{
    switch (act) {
    case E2E_ACT_RELU: return x < 0.f ? 0.f : x;
    case E2E_ACT_LEAKY_RELU: return x >= 0.f ? x : alpha * x;
    case E2E_ACT_SIGMOID: return cu_sigmoid(x);
    case E2E_ACT_CLIP: return x < alpha ? alpha : x > beta ? beta : x;
    case E2E_ACT_GELU: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    default: return x;
    }
}

/* Block-wide reductions for blocks of a multiple of 32 threads (at most 1024); every thread
   gets the result. sh: 32 floats of shared memory. */
static __device__ __forceinline__ float cu_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
static __device__ __forceinline__ float cu_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
static __device__ __forceinline__ float cu_block_sum(float v, float *sh)
{
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = cu_warp_sum(v);
    __syncthreads(); /* sh may still be read from a previous call */
    if (lane == 0)
        sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.f;
    return cu_warp_sum(v);
}
static __device__ __forceinline__ float cu_block_max(float v, float *sh)
{
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = cu_warp_max(v);
    __syncthreads();
    if (lane == 0)
        sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : -INFINITY;
    return cu_warp_max(v);
}

/* Broadcast iteration of up to 3 operands against an output (like the CPU plan: unit dims
   dropped, neighbours contiguous in every operand merged). Offsets in elements. */
#define CU_MAXR E2E_MAX_RANK
struct cu_bcast {
    int rank, nin;
    int64_t n;
    int64_t dims[CU_MAXR];
    int64_t st[3][CU_MAXR];
};
void cu_bcast_plan(cu_bcast *b, const e2e_shape *out, const e2e_shape *const *ins, int nin);

template <int NIN>
static __device__ __forceinline__ void cu_bcast_offsets(const cu_bcast &b, int64_t t, int64_t *o)
{
    for (int j = 0; j < NIN; j++)
        o[j] = 0;
    for (int d = b.rank - 1; d >= 0; d--) {
        int64_t i = t % b.dims[d];
        t /= b.dims[d];
        for (int j = 0; j < NIN; j++)
            o[j] += i * b.st[j][d];
    }
}

/* ---- op families: prepare functions (resolve parameters, pick run) ---- */

/* cuda_elementwise.cu */
e2e_status cu_prep_unary(cu_state *S, cu_node *n);      /* Relu ... Gelu, Not */
e2e_status cu_prep_binary(cu_state *S, cu_node *n);     /* Add ... PRelu, Min/Max/Sum/Mean */
e2e_status cu_prep_where(cu_state *S, cu_node *n);
e2e_status cu_prep_cast(cu_state *S, cu_node *n);
e2e_status cu_prep_view(cu_state *S, cu_node *n);       /* Reshape, Flatten, (Un)Squeeze, Identity */
e2e_status cu_prep_dropout(cu_state *S, cu_node *n);
e2e_status cu_prep_const_out(cu_state *S, cu_node *n);  /* Shape, Size: output known at init */
/* cuda_layout.cu */
e2e_status cu_prep_xcopy(cu_state *S, cu_node *n);      /* Transpose, Slice, Expand, Tile */
e2e_status cu_prep_concat(cu_state *S, cu_node *n);
e2e_status cu_prep_split(cu_state *S, cu_node *n);
e2e_status cu_prep_gather(cu_state *S, cu_node *n);
/* cuda_gemm.cu */
e2e_status cu_prep_conv(cu_state *S, cu_node *n);
e2e_status cu_prep_gemm(cu_state *S, cu_node *n);
e2e_status cu_prep_matmul(cu_state *S, cu_node *n);
/* cuda_reduce.cu */
e2e_status cu_prep_pool(cu_state *S, cu_node *n);       /* MaxPool, AveragePool */
e2e_status cu_prep_gpool(cu_state *S, cu_node *n);      /* GlobalAveragePool, GlobalMaxPool */
e2e_status cu_prep_softmax(cu_state *S, cu_node *n);    /* Softmax, LogSoftmax */
e2e_status cu_prep_layernorm(cu_state *S, cu_node *n);  /* and InstanceNormalization */
e2e_status cu_prep_lrn(cu_state *S, cu_node *n);
e2e_status cu_prep_batchnorm(cu_state *S, cu_node *n);
e2e_status cu_prep_reduce(cu_state *S, cu_node *n);     /* Reduce* (float) */

#endif
