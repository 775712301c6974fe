/* Per-kernel profiling for `e2e bench --profile`: run a session kernel by kernel with a
   clock around each run(), and time cblas_sgemm alone on the GEMM shape of a Conv, Gemm or
   MatMul node so a kernel's throughput can be read as a share of the BLAS's. */
#ifndef E2E_PROFILE_H
#define E2E_PROFILE_H

#include "engine/session.h"

/* The matrix product a kernel performs: `count` GEMMs of C[m x n] = A[m x k] * B[k x n].
   Conv: m = out channels / group, n = batch * output pixels (an im2col over the whole
   batch), k = C / group * kernel pixels, count = group. Gemm: one GEMM. MatMul: one per
   broadcast batch entry (one GEMM with the batch folded into m when B is a plain 2-D
   matrix). */
typedef struct e2e_gemm_shape {
    int64_t m, n, k, count;
} e2e_gemm_shape;

/* 1 and fills g when k is a Conv, Gemm or MatMul (fused or not) with a known shape; else 0. */
int e2e_kernel_gemm_shape(const e2e_kernel *k, e2e_gemm_shape *g);

/* Runs the session once, kernel by kernel, and adds each kernel's wall time in ms to
   kernel_ms[i] (i in execution order, s->n_kernels entries). With inputs != NULL the inputs
   are first bound (and checked) by an ordinary e2e_session_run, which is not timed; with
   inputs == NULL the inputs of the previous run are used. CPU sessions only. */
e2e_status e2e_session_run_profiled(e2e_session *s, const e2e_tensor_view *inputs, int n_inputs,
                                    double *kernel_ms, e2e_error *err);

/* Median ms of one row-major cblas_sgemm (NoTrans, NoTrans) of shape m,n,k on `threads`
   OpenBLAS threads (plain OpenBLAS threading, not the session's pool; the previous OpenBLAS
   thread count is restored), over `runs` samples after warm-up (random operands).
   < 0 on failure. */
double e2e_sgemm_ms(int64_t m, int64_t n, int64_t k, int threads, int runs);

/* Median of n doubles (sorts v in place). */
double e2e_median(double *v, int n);

#endif
