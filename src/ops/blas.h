/* sgemm through the session's threads: OpenBLAS itself stays single-threaded (it would
   allocate per call and oversubscribe a host running several sessions); the product is cut
   into column (or row) slices, one cblas_sgemm per slice, the same cut for the same thread
   count so results are reproducible. Row-major only. */
#ifndef E2E_BLAS_H
#define E2E_BLAS_H

#include <cblas.h>

#include "runtime/pool.h"

void e2e_sgemm(e2e_pool *pool, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
               int ldc);

#endif
