/* Integer matrix products of the quantized operators (ops_quant.c) and of the folded QDQ
   patterns (runtime/fuse_qdq.c).

   e2e_qgemm_s16 is the exact generic product: operands already have their zero points
   subtracted (int16, |v| <= 255), int32 accumulation. The sums are exact as long as they fit in
   int32 (K < 33000 for any values); ONNX Runtime accumulates in int32 too. */
#ifndef E2E_QGEMM_H
#define E2E_QGEMM_H

#include <stdint.h>

/* C[m][n] = sum_k A[m][k] * B[k][n], row-major with leading dimensions lda, ldb, ldc. */
void e2e_qgemm_s16(int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda,
                   const int16_t *B, int64_t ldb, int32_t *C, int64_t ldc);

#endif
