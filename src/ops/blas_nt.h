/* The few-row GEMM C = alpha A W^T + beta C (e2e_gemm_nt_rows, blas.c): its job and the
   row-block function of each instruction set (blas.c, x86/rows_avx2.c, x86/rows_avx512.c),
   each instantiated from blas_nt_rows.h with its own dot products. */
#ifndef E2E_BLAS_NT_H
#define E2E_BLAS_NT_H

typedef struct e2e_nt_job {
    int M, N, K, lda, ldw, ldc;
    float alpha, beta;
    const float *A, *W;
    float *C;
} e2e_nt_job;

/* Rows [n0, n1) of W against all rows of A. */
void e2e_nt_rows_generic(const e2e_nt_job *j, int n0, int n1);
void e2e_nt_rows_avx2(const e2e_nt_job *j, int n0, int n1);
void e2e_nt_rows_avx512(const e2e_nt_job *j, int n0, int n1);

#endif
