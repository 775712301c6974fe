#include "ops/blas.h"
#include "ops/blas_nt.h"
#include "ops/cpu_isa.h"

#include <stdint.h>
#include <stdatomic.h>

/* OpenBLAS's pthread build (weak: absent from a serial build or another BLAS) */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void e2e_blas_single_thread(void)
{
    static atomic_int done;
    if (atomic_exchange(&done, 1))
        return;
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) /* its workers exit; a later threaded call starts them again */
        blas_thread_shutdown_();
}

typedef struct gemm_job {
    enum CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc, by_rows;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

/* Slices are multiples of 16 columns (or 4 rows) so each stays on whole SIMD tiles. */
static void slice(int total, int task, int n, int quantum, int *lo, int *hi)
{
    int units = (total + quantum - 1) / quantum;
    int a = (int)((long)units * task / n), b = (int)((long)units * (task + 1) / n);
    *lo = a * quantum < total ? a * quantum : total;
    *hi = b * quantum < total ? b * quantum : total;
}

static void gemm_task(void *ctx, int task, int n)
{
    const gemm_job *j = ctx;
    int lo, hi;
    if (j->by_rows) {
        slice(j->M, task, n, 4, &lo, &hi);
        if (hi <= lo)
            return;
        const float *A = j->ta == CblasNoTrans ? j->A + (long)lo * j->lda : j->A + lo;
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, hi - lo, j->N, j->K, j->alpha, A, j->lda, j->B, j->ldb,
                    j->beta, j->C + (long)lo * j->ldc, j->ldc);
    } else {
        slice(j->N, task, n, 16, &lo, &hi);
        if (hi <= lo)
            return;
        const float *B = j->tb == CblasNoTrans ? j->B + lo : j->B + (long)lo * j->ldb;
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, j->M, hi - lo, j->K, j->alpha, j->A, j->lda, B, j->ldb,
                    j->beta, j->C + lo, j->ldc);
    }
}

void e2e_sgemm(e2e_pool *pool, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    int threads = e2e_pool_threads(pool);
    double flops = 2.0 * M * N * K;
    /* below ~200 kFLOP a second thread costs more than it saves */
    if (threads <= 1 || flops < 2e5 || (M < 8 && N < 64)) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_job j = {ta, tb, M, N, K, lda, ldb, ldc, 0, alpha, beta, A, B, C};
    j.by_rows = N < 16 * threads || (M >= 4 * threads && M > N);
    e2e_pool_run(pool, gemm_task, &j, threads);
}

/* ---------------------------------------------------------------- A * W^T, few rows of A */

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* out[m][r] = dot(A row m, W row r) for m < MR, r < NR, over K: plain C (the vector forms are
   in x86/rows_avx2.c and rows_avx512.c). */
ALWAYS_INLINE void dots(int MR, int NR, int K, const float *A, int lda, const float *W, int ldw,
                        float out[4][8])
{
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++) {
            float s = 0.f;
            for (int k = 0; k < K; k++)
                s += A[(long)m * lda + k] * W[(long)r * ldw + k];
            out[m][r] = s;
        }
}

#define NT_ROWS e2e_nt_rows_generic
#include "ops/blas_nt_rows.h"

typedef struct nt_run {
    e2e_nt_job j;
    void (*rows)(const e2e_nt_job *j, int n0, int n1); /* the instruction set's */
} nt_run;

static void nt_task(void *ctx, int task, int n)
{
    const nt_run *r = ctx;
    int lo, hi;
    slice(r->j.N, task, n, 8, &lo, &hi);
    if (hi > lo)
        r->rows(&r->j, lo, hi);
}

void e2e_gemm_nt_rows(e2e_isa_level isa, e2e_pool *pool, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *W, int ldw, float beta, float *C,
                      int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    nt_run r = {{M, N, K, lda, ldw, ldc, alpha, beta, A, W, C}, e2e_nt_rows_generic};
#ifdef E2E_X86
    switch (e2e_isa_select(isa)) {
    case E2E_ISA_AVX512: r.rows = e2e_nt_rows_avx512; break;
    case E2E_ISA_AVX2: r.rows = e2e_nt_rows_avx2; break;
    default: break;
    }
#endif
    (void)isa;
    int threads = e2e_pool_threads(pool);
    /* a second thread pays off from about 64K multiply-adds (256 KB of W) */
    if (threads <= 1 || (double)N * K * M < 65536.0 || N < 16) {
        r.rows(&r.j, 0, N);
        return;
    }
    if (threads > N / 8)
        threads = N / 8;
    e2e_pool_run(pool, nt_task, &r, threads);
}
