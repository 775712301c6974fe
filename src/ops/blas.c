#include "ops/blas.h"

#include <stdint.h>

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

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* out[m][r] = dot(A row m, W row r) for m < MR, r < NR, over K. */
#if defined(__AVX512F__)
ALWAYS_INLINE void dots(int MR, int NR, int K, const float *A, int lda, const float *W, int ldw,
                        float out[4][8])
{
    __m512 acc[4][8];
#pragma GCC unroll 4
    for (int m = 0; m < MR; m++)
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            acc[m][r] = _mm512_setzero_ps();
    int k = 0;
    /* Rows of W that share one alignment (ldw a multiple of 16) start with a masked step up
       to the next 64-byte boundary, so that every later load of W is one cache line: from L2
       (the E/Gamma fc1, 1 MB) split loads made the product ~1.5x slower, from L3 ~5%. */
    const int head = (ldw & 15) == 0 ? (int)(((64 - ((uintptr_t)W & 63)) & 63) >> 2) : 0;
    if (head > 0 && head < K) {
        const __mmask16 mk = (__mmask16)((1u << head) - 1);
        __m512 a[4];
#pragma GCC unroll 4
        for (int m = 0; m < MR; m++)
            a[m] = _mm512_maskz_loadu_ps(mk, A + (long)m * lda);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m512 w = _mm512_maskz_loadu_ps(mk, W + (long)r * ldw);
#pragma GCC unroll 4
            for (int m = 0; m < MR; m++)
                acc[m][r] = _mm512_fmadd_ps(a[m], w, acc[m][r]);
        }
        k = head;
    }
    for (; k + 16 <= K; k += 16) {
        __m512 a[4];
#pragma GCC unroll 4
        for (int m = 0; m < MR; m++)
            a[m] = _mm512_loadu_ps(A + (long)m * lda + k);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m512 w = _mm512_loadu_ps(W + (long)r * ldw + k);
#pragma GCC unroll 4
            for (int m = 0; m < MR; m++)
                acc[m][r] = _mm512_fmadd_ps(a[m], w, acc[m][r]);
        }
    }
    if (k < K) {
        __mmask16 mk = (__mmask16)((1u << (K - k)) - 1);
        __m512 a[4];
#pragma GCC unroll 4
        for (int m = 0; m < MR; m++)
            a[m] = _mm512_maskz_loadu_ps(mk, A + (long)m * lda + k);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m512 w = _mm512_maskz_loadu_ps(mk, W + (long)r * ldw + k);
#pragma GCC unroll 4
            for (int m = 0; m < MR; m++)
                acc[m][r] = _mm512_fmadd_ps(a[m], w, acc[m][r]);
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < MR; m++)
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            out[m][r] = _mm512_reduce_add_ps(acc[m][r]);
}
#elif defined(__AVX2__)
static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

ALWAYS_INLINE void dots(int MR, int NR, int K, const float *A, int lda, const float *W, int ldw,
                        float out[4][8])
{
    __m256 acc[4][8];
#pragma GCC unroll 4
    for (int m = 0; m < MR; m++)
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            acc[m][r] = _mm256_setzero_ps();
    /* as the AVX-512 version: the first floats up to W's next 32-byte boundary one by one
       (added at the end), then whole-line loads */
    const int head0 = (ldw & 7) == 0 ? (int)(((32 - ((uintptr_t)W & 31)) & 31) >> 2) : 0;
    const int head = head0 < K ? head0 : 0;
    int k = head;
    for (; k + 8 <= K; k += 8) {
        __m256 a[4];
#pragma GCC unroll 4
        for (int m = 0; m < MR; m++)
            a[m] = _mm256_loadu_ps(A + (long)m * lda + k);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m256 w = _mm256_loadu_ps(W + (long)r * ldw + k);
#pragma GCC unroll 4
            for (int m = 0; m < MR; m++)
                acc[m][r] = _mm256_fmadd_ps(a[m], w, acc[m][r]);
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < MR; m++)
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            float s = hsum256(acc[m][r]);
            for (int kk = k; kk < K; kk++)
                s += A[(long)m * lda + kk] * W[(long)r * ldw + kk];
            for (int kk = 0; kk < head; kk++)
                s += A[(long)m * lda + kk] * W[(long)r * ldw + kk];
            out[m][r] = s;
        }
}
#else
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
#endif

typedef struct nt_job {
    int M, N, K, lda, ldw, ldc;
    float alpha, beta;
    const float *A, *W;
    float *C;
} nt_job;

ALWAYS_INLINE void nt_store(const nt_job *j, int m0, int n0, int mr, int nr, float out[4][8])
{
    for (int m = 0; m < mr; m++) {
        float *c = j->C + (long)(m0 + m) * j->ldc + n0;
        for (int r = 0; r < nr; r++)
            c[r] = j->alpha * out[m][r] + (j->beta != 0.f ? j->beta * c[r] : 0.f);
    }
}

/* Rows [n0, n1) of W against all rows of A. */
static void nt_rows(const nt_job *j, int n0, int n1)
{
    float out[4][8];
    const int K = j->K;
    for (int m0 = 0; m0 < j->M; m0 += 4) {
        const float *A = j->A + (long)m0 * j->lda;
        int mr = j->M - m0 < 4 ? j->M - m0 : 4;
        int n = n0;
        switch (mr) {
        case 1:
            for (; n + 8 <= n1; n += 8) {
                dots(1, 8, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out);
                nt_store(j, m0, n, 1, 8, out);
            }
            break;
        case 2:
            for (; n + 4 <= n1; n += 4) {
                dots(2, 4, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out);
                nt_store(j, m0, n, 2, 4, out);
            }
            break;
        case 3:
            for (; n + 4 <= n1; n += 4) {
                dots(3, 4, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out);
                nt_store(j, m0, n, 3, 4, out);
            }
            break;
        default:
            for (; n + 4 <= n1; n += 4) {
                dots(4, 4, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out);
                nt_store(j, m0, n, 4, 4, out);
            }
            break;
        }
        for (; n < n1; n++) { /* leftover rows of W, one at a time */
            switch (mr) {
            case 1: dots(1, 1, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out); break;
            case 2: dots(2, 1, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out); break;
            case 3: dots(3, 1, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out); break;
            default: dots(4, 1, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out); break;
            }
            nt_store(j, m0, n, mr, 1, out);
        }
    }
}

static void nt_task(void *ctx, int task, int n)
{
    const nt_job *j = ctx;
    int lo, hi;
    slice(j->N, task, n, 8, &lo, &hi);
    if (hi > lo)
        nt_rows(j, lo, hi);
}

void e2e_gemm_nt_rows(e2e_pool *pool, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *W, int ldw, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    nt_job j = {M, N, K, lda, ldw, ldc, alpha, beta, A, W, C};
    int threads = e2e_pool_threads(pool);
    /* a second thread pays off from about 64K multiply-adds (256 KB of W) */
    if (threads <= 1 || (double)N * K * M < 65536.0 || N < 16) {
        nt_rows(&j, 0, N);
        return;
    }
    if (threads > N / 8)
        threads = N / 8;
    e2e_pool_run(pool, nt_task, &j, threads);
}
