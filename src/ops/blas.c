#include "ops/blas.h"

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
