/* The packed GEMM's register tiles, B packing and the attention softmax in AVX-512
   (mm_packed.h): 12 x 32 tiles (2 zmm accumulators per row), panels of 32 columns, K^T packed
   in 16 x 16 register transposes. Compiled with the AVX-512 flags (Makefile). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "ops/mm_packed.h"
#include "ops/x86/mm_epi_avx512.h"
#include "ops/x86/simd_avx512.h"

#define MR E2E_MM_TILE_ROWS
#define NR 32


static void pack(const float *B, int64_t sk, int64_t sn, int K, int N, float *P)
{
    int np = (N + NR - 1) / NR;
    for (int p = 0; p < np; p++) {
        int n0 = p * NR, nn = e2e_mm_imin(N - n0, NR);
        float *dst = P + (size_t)p * (size_t)K * NR;
        if (sn != 1 && sk == 1) {
            /* a transposed operand (K^T of attention): 16 x 16 blocks transposed in registers */
            for (int g = 0; g < 2; g++) {
                const int nb = n0 + 16 * g, nv = e2e_mm_imin(N - nb, 16); /* valid columns, may be <= 0 */
                for (int kb = 0; kb < K; kb += 16) {
                    const int kv = e2e_mm_imin(K - kb, 16);
                    const __mmask16 mk = (__mmask16)((1u << kv) - 1);
                    __m512 r[16], o[16];
                    for (int j = 0; j < 16; j++)
                        r[j] = j < nv ? _mm512_maskz_loadu_ps(mk, B + (int64_t)(nb + j) * sn + kb)
                                      : _mm512_setzero_ps();
                    e2e_transpose16_avx512(r, o);
                    for (int kk = 0; kk < kv; kk++)
                        _mm512_storeu_ps(dst + (size_t)(kb + kk) * NR + 16 * g, o[kk]);
                }
            }
            continue;
        }
        e2e_mm_pack_panel(NR, B, sk, sn, K, n0, nn, dst);
    }
}

/* m x 32 outputs: 2 zmm accumulators per row, B rows from the panel, A broadcast. nv = 1
   computes only the first 16 columns (a panel holding at most 16 valid columns). */
static inline __attribute__((always_inline)) void tile(const int m, const int nv, int K, const float *A,
                                                       int64_t lda, const float *P, float *C, int64_t ldc,
                                                       int n, const e2e_mm_epi *e, int64_t row, int col)
{
    __m512 c0[MR], c1[MR];
    const float *a[MR];
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
    {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
        a[i] = A + (i < m ? i : 0) * lda;
    }
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_loadu_ps(P), b1 = nv > 1 ? _mm512_loadu_ps(P + 16) : b0;
        /* B streams from L3 the first time a panel is used: fetch 8 KB ahead */
        _mm_prefetch((const char *)(P + 64 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(P + 64 * NR + 16), _MM_HINT_T0);
        P += NR;
        _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++)
        {
            if (i < m) {
                __m512 ai = _mm512_set1_ps(a[i][k]);
                c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
                if (nv > 1)
                    c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
            }
        }
    }
    e2e_mm_store_tile_avx512(m, nv, c0, c1, C, ldc, n, e, row, col);
}

#include "ops/mm_tiles.h"

/* Row softmax in place over n values. */
static void softmax_row(float *x, int n)
{
    float m = -INFINITY;
    int j = 0;
    __m512 vm = _mm512_set1_ps(-INFINITY);
    __mmask16 un = 0; /* lanes that saw a NaN */
    for (; j + 16 <= n; j += 16) {
        __m512 v = _mm512_loadu_ps(x + j);
        un |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        vm = _mm512_max_ps(vm, v);
    }
    if (j < n) {
        __mmask16 k = (__mmask16)((1u << (n - j)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(k, x + j);
        un |= _mm512_mask_cmp_ps_mask(k, v, v, _CMP_UNORD_Q);
        vm = _mm512_mask_max_ps(vm, k, vm, v);
    }
    m = un ? NAN : _mm512_reduce_max_ps(vm);
    if (e2e_mm_softmax_masked(x, n, m))
        return;
    float sum;
    __m512 vs = _mm512_setzero_ps(), mv = _mm512_set1_ps(m);
    for (j = 0; j + 16 <= n; j += 16) {
        __m512 v = e2e_vexp_neg(_mm512_sub_ps(_mm512_loadu_ps(x + j), mv));
        _mm512_storeu_ps(x + j, v);
        vs = _mm512_add_ps(vs, v);
    }
    if (j < n) {
        __mmask16 k = (__mmask16)((1u << (n - j)) - 1);
        __m512 v = e2e_vexp_neg(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), mv));
        v = _mm512_maskz_mov_ps(k, v);
        _mm512_mask_storeu_ps(x + j, k, v);
        vs = _mm512_add_ps(vs, v);
    }
    sum = _mm512_reduce_add_ps(vs);
    __m512 inv = _mm512_set1_ps(1.f / sum);
    for (j = 0; j + 16 <= n; j += 16)
        _mm512_storeu_ps(x + j, _mm512_mul_ps(_mm512_loadu_ps(x + j), inv));
    if (j < n) {
        __mmask16 k = (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(x + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + j), inv));
    }
}

/* count pieces of n floats, piece i from src + i * n to dst + i * ldd: 16 lanes at a time,
   the rest of a piece under a mask. */
static void split_row(const float *src, int n, int count, float *dst, int64_t ldd)
{
    const __mmask16 tail = (__mmask16)((1u << (n & 15)) - 1);
    for (int i = 0; i < count; i++, src += n, dst += ldd) {
        int j = 0;
        for (; j + 16 <= n; j += 16)
            _mm512_storeu_ps(dst + j, _mm512_loadu_ps(src + j));
        if (j < n)
            _mm512_mask_storeu_ps(dst + j, tail, _mm512_maskz_loadu_ps(tail, src + j));
    }
}

const e2e_mm_kernels e2e_mm_avx512 = {MR, NR, pack, tiles, softmax_row, split_row};
