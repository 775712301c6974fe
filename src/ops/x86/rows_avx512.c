/* Row kernels in AVX-512 (rows.h): GELU, a LayerNorm row, a row of 2x2 pooling, and the dot
   products of the few-row GEMM (blas.c). Compiled with the AVX-512 flags (Makefile). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "ops/blas_nt.h"
#include "ops/rows.h"
#include "ops/x86/simd_avx512.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

void e2e_gelu_f32_avx512(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, e2e_vgelu(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, e2e_vgelu(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

/* Statistics in float over 16 lanes: the mean of the differences from x[0], then the centred
   variance (two passes), then the outputs. */
void e2e_ln_row_avx512(const float *x, const float *S, const float *B, float *y, int64_t n, float eps,
                       float *mean, float *inv)
{
    float m, iv;
    /* the mean of x - x[0], plus x[0]: with a large common offset (|x| ~ 1e3, std ~ 1) the
       differences are exact and small, so their sum rounds far less than the sum of x did
       (~1e-4 in the mean, in every output) */
    const float c = x[0];
    const __m512 vc = _mm512_set1_ps(c);
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        acc = _mm512_add_ps(acc, _mm512_sub_ps(_mm512_loadu_ps(x + i), vc));
    __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
    if (i < n)
        acc = _mm512_add_ps(acc, _mm512_maskz_sub_ps(tail, _mm512_maskz_loadu_ps(tail, x + i), vc));
    /* centred values as x - m with the mean m rounded to float, as the spec's function body
       does (stash_type 1: Mean is a float32 tensor) and ONNX Runtime and PyTorch do
       (docs/operator-notes.md) */
    const float ms = _mm512_reduce_add_ps(acc) / (float)n;
    m = c + ms;
    const __m512 vm = _mm512_set1_ps(m);
    acc = _mm512_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), vm);
        acc = _mm512_fmadd_ps(d, d, acc);
    }
    if (i < n) {
        __m512 d = _mm512_maskz_sub_ps(tail, _mm512_maskz_loadu_ps(tail, x + i), vm);
        acc = _mm512_fmadd_ps(d, d, acc);
    }
    iv = 1.f / sqrtf(_mm512_reduce_add_ps(acc) / (float)n + eps);
    const __m512 vi = _mm512_set1_ps(iv);
    for (i = 0; i + 16 <= n; i += 16) {
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), vi);
        __m512 b = B ? _mm512_loadu_ps(B + i) : _mm512_setzero_ps();
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(d, _mm512_loadu_ps(S + i), b));
    }
    if (i < n) {
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), vm), vi);
        __m512 b = B ? _mm512_maskz_loadu_ps(tail, B + i) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(y + i, tail, _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(tail, S + i), b));
    }
    *mean = m;
    *inv = iv;
}

int64_t e2e_pool2_row_avx512(bool is_max, const float *r0, const float *r1, float *y, int64_t n)
{
    int64_t i = 0;
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 q = _mm512_set1_ps(0.25f);
    for (; i < n; i += 16) {
        int64_t left = n - i;
        __m512 a, b;
        if (left >= 16) {
            if (is_max) {
                a = e2e_vmax_nan(_mm512_loadu_ps(r0 + 2 * i), _mm512_loadu_ps(r1 + 2 * i));
                b = e2e_vmax_nan(_mm512_loadu_ps(r0 + 2 * i + 16), _mm512_loadu_ps(r1 + 2 * i + 16));
            } else {
                a = _mm512_add_ps(_mm512_loadu_ps(r0 + 2 * i), _mm512_loadu_ps(r1 + 2 * i));
                b = _mm512_add_ps(_mm512_loadu_ps(r0 + 2 * i + 16), _mm512_loadu_ps(r1 + 2 * i + 16));
            }
        } else {
            /* 2*left input columns: the first min(16, 2*left) in a, the rest in b */
            __mmask16 ma = left >= 8 ? (__mmask16)0xFFFF : (__mmask16)((1u << (2 * left)) - 1);
            __mmask16 mb = left > 8 ? (__mmask16)((1u << (2 * left - 16)) - 1) : 0;
            __m512 a0 = _mm512_maskz_loadu_ps(ma, r0 + 2 * i), a1 = _mm512_maskz_loadu_ps(ma, r1 + 2 * i);
            __m512 b0 = _mm512_maskz_loadu_ps(mb, r0 + 2 * i + 16);
            __m512 b1 = _mm512_maskz_loadu_ps(mb, r1 + 2 * i + 16);
            a = is_max ? e2e_vmax_nan(a0, a1) : _mm512_add_ps(a0, a1);
            b = is_max ? e2e_vmax_nan(b0, b1) : _mm512_add_ps(b0, b1);
        }
        __m512 e = _mm512_permutex2var_ps(a, ev, b), o = _mm512_permutex2var_ps(a, od, b);
        __m512 r = is_max ? e2e_vmax_nan(e, o) : _mm512_mul_ps(_mm512_add_ps(e, o), q);
        if (left >= 16)
            _mm512_storeu_ps(y + i, r);
        else
            _mm512_mask_storeu_ps(y + i, (__mmask16)((1u << left) - 1), r);
    }
    return n;
}

/* out[m][r] = dot(A row m, W row r) for m < MR, r < NR, over K. */
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

#define NT_ROWS e2e_nt_rows_avx512
#include "ops/blas_nt_rows.h"
