/* sgemm through the session's threads: OpenBLAS itself stays single-threaded (it would
   allocate per call and oversubscribe a host running several sessions); the product is cut
   into column (or row) slices, one cblas_sgemm per slice, the same cut for the same thread
   count so results are reproducible. Row-major only. */
#ifndef E2E_BLAS_H
#define E2E_BLAS_H

#include <cblas.h>

#include "e2e.h"
#include "core/pool.h"

/* OpenBLAS single-threaded, its thread pool stopped: the pthread build starts one worker
   per core when it is loaded, and they spin (~0.1 s after start and after each threaded
   call) while e2e calls it from one thread (the session's pool splits the products), taking
   a core from the process on a small machine. Once per process (later calls return at once);
   a build against a serial OpenBLAS or another BLAS only sets nothing. Thread-safe. */
void e2e_blas_single_thread(void);

void e2e_sgemm(e2e_pool *pool, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
               int ldc);

/* C = alpha * A * W^T + beta * C for a few rows of A (M small, e.g. batch 1 of a Linear
   layer): A is M x K (row stride lda), W is N x K with contiguous rows (row stride ldw), C is
   M x N (row stride ldc). The rows of W are streamed once for up to four rows of A, with
   SIMD dot products; the rows of W are split across the pool's threads when the product is
   large enough to pay for it. beta = 0 ignores C's previous content. The dot products are
   those of level isa (E2E_ISA_AUTO: the process's). */
void e2e_gemm_nt_rows(e2e_isa_level isa, e2e_pool *pool, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *W, int ldw, float beta, float *C,
                      int ldc);

#endif
