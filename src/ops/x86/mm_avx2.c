/* The packed GEMM's register tiles, B packing and the attention softmax in AVX2 + FMA
   (mm_packed.h): 6 x 16 tiles (12 ymm accumulators), panels of 16 columns, K^T packed in
   8 x 8 register transposes. Compiled with the AVX2 flags (Makefile). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "ops/mm_packed.h"
#include "ops/x86/simd_avx2.h"

#define MR 6
#define NR 16 /* one 6 x 16 tile covers a panel: K x 64 bytes, streamed in order */


/* o[c] = column c of the 8 x 8 block r[0..7] (rows): 32-bit and 64-bit interleaves inside
   128-bit lanes, then one lane exchange. */
static inline void transpose8(const __m256 *r, __m256 *o)
{
    __m256 a[8], b[8];
    for (int i = 0; i < 4; i++) {
        a[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        b[4 * i] = _mm256_shuffle_ps(a[4 * i], a[4 * i + 2], 0x44);
        b[4 * i + 1] = _mm256_shuffle_ps(a[4 * i], a[4 * i + 2], 0xEE);
        b[4 * i + 2] = _mm256_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0x44);
        b[4 * i + 3] = _mm256_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        o[c] = _mm256_permute2f128_ps(b[c], b[4 + c], 0x20);
        o[4 + c] = _mm256_permute2f128_ps(b[c], b[4 + c], 0x31);
    }
}

static void pack(const float *B, int64_t sk, int64_t sn, int K, int N, float *P)
{
    int np = (N + NR - 1) / NR;
    for (int p = 0; p < np; p++) {
        int n0 = p * NR, nn = e2e_mm_imin(N - n0, NR);
        float *dst = P + (size_t)p * (size_t)K * NR;
        /* attention packs K^T and V per head at run: no library call per 64-byte row, and
           K^T (sk == 1) in 8 x 8 blocks transposed in registers, not column by column */
        if (sn == 1) {
            const __m256i m0 = e2e_lane_mask8(nn), m1 = e2e_lane_mask8(nn - 8);
            for (int k = 0; k < K; k++) {
                const float *s = B + k * sk + n0;
                float *d = dst + (size_t)k * NR;
                _mm256_storeu_ps(d, nn >= 8 ? _mm256_loadu_ps(s) : _mm256_maskload_ps(s, m0));
                _mm256_storeu_ps(d + 8, nn >= 16 ? _mm256_loadu_ps(s + 8)
                                                 : _mm256_maskload_ps(s + 8, m1));
            }
            continue;
        }
        if (sk == 1) {
            for (int g = 0; g < 2; g++) {
                const int nb = n0 + 8 * g, nv = e2e_mm_imin(N - nb, 8); /* valid columns, may be <= 0 */
                for (int kb = 0; kb < K; kb += 8) {
                    const int kv = e2e_mm_imin(K - kb, 8);
                    const __m256i mk = e2e_lane_mask8(kv);
                    __m256 r[8], o[8];
                    for (int j = 0; j < 8; j++)
                        r[j] = j < nv ? _mm256_maskload_ps(B + (int64_t)(nb + j) * sn + kb, mk)
                                      : _mm256_setzero_ps();
                    transpose8(r, o);
                    for (int kk = 0; kk < kv; kk++)
                        _mm256_storeu_ps(dst + (size_t)(kb + kk) * NR + 8 * g, o[kk]);
                }
            }
            continue;
        }
        e2e_mm_pack_panel(NR, B, sk, sn, K, n0, nn, dst);
    }
}

/* m x 16 (m <= 6): MR x 16 per pass with FMA, then the epilogue in the scalar path's order. */
static inline __attribute__((always_inline)) void tile(const int m, const int nv, int K, const float *A,
                                                       int64_t lda, const float *P, float *C, int64_t ldc,
                                                       int n, const e2e_mm_epi *e, int64_t row, int col)
{
    (void)nv;
    const float *a[MR];
    /* MR x 16 per pass: 12 accumulators, 2 B vectors and one broadcast (15 of the 16 ymm
       registers); with NR = 16 one pass covers the panel */
    _Pragma("GCC unroll 6") for (int i = 0; i < MR; i++) a[i] = A + (i < m ? i : 0) * lda;
    for (int h = 0; h < NR / 16; h++) {
        if (h > 0 && n <= 16 * h)
            break;
        __m256 acc[MR][2];
        _Pragma("GCC unroll 6") for (int i = 0; i < MR; i++)
        {
            acc[i][0] = _mm256_setzero_ps();
            acc[i][1] = _mm256_setzero_ps();
        }
        const float *pb = P + 16 * h;
        for (int k = 0; k < K; k++, pb += NR) {
            const __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
            _Pragma("GCC unroll 6") for (int i = 0; i < MR; i++)
            {
                if (i < m) {
                    const __m256 ai = _mm256_broadcast_ss(a[i] + k);
                    acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
                }
            }
        }
        /* epilogue of columns [16h, 16h + nh), in the scalar path's order of operations */
        const int c0 = 16 * h, nh = e2e_mm_imin(n - c0, 16);
        const __m256 sc = _mm256_set1_ps(e->scale), zero = _mm256_setzero_ps();
        _Pragma("GCC unroll 6") for (int i = 0; i < MR; i++)
        {
            if (i >= m)
                break;
            float *y = C + i * ldc + c0;
            const float *r = e->res ? e->res + (row + i) * e->ldr + col + c0 : NULL;
            const float *bi = e->bias ? e->bias + col + c0 : NULL;
            _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++)
            {
                const int nv = nh - 8 * v;
                if (nv <= 0)
                    break;
                const __m256i mk = e2e_lane_mask8(nv);
                __m256 x = acc[i][v];
                if (e->scale != 1.f)
                    x = _mm256_mul_ps(x, sc);
                if (bi)
                    x = _mm256_add_ps(x, nv >= 8 ? _mm256_loadu_ps(bi + 8 * v) : _mm256_maskload_ps(bi + 8 * v, mk));
                if (r)
                    x = _mm256_add_ps(nv >= 8 ? _mm256_loadu_ps(r + 8 * v) : _mm256_maskload_ps(r + 8 * v, mk), x);
                if (e->act == E2E_ACT_RELU)
                    x = _mm256_max_ps(zero, x);
                else if (e->act == E2E_ACT_GELU)
                    x = e2e_vgelu8(x);
                if (nv >= 8)
                    _mm256_storeu_ps(y + 8 * v, x);
                else
                    _mm256_maskstore_ps(y + 8 * v, mk, x);
            }
        }
    }
    e2e_mm_act_rest(m, n, C, ldc, e);
}

#include "ops/mm_tiles.h"

/* Row softmax in place over n values. */
static void softmax_row(float *x, int n)
{
    float m = -INFINITY;
    int j = 0;
    __m256 vm = _mm256_set1_ps(-INFINITY), un = _mm256_setzero_ps(); /* un: lanes that saw a NaN */
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        un = _mm256_or_ps(un, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        vm = _mm256_max_ps(vm, v);
    }
    if (j < n) {
        const __m256i k = e2e_lane_mask8(n - j);
        __m256 v = _mm256_blendv_ps(vm, _mm256_maskload_ps(x + j, k), _mm256_castsi256_ps(k));
        un = _mm256_or_ps(un, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        vm = _mm256_max_ps(vm, v);
    }
    m = _mm256_movemask_ps(un) ? NAN : e2e_hmax8(vm);
    if (e2e_mm_softmax_masked(x, n, m))
        return;
    float sum;
    __m256 vs = _mm256_setzero_ps(), mv = _mm256_set1_ps(m);
    for (j = 0; j + 8 <= n; j += 8) {
        const __m256 v = e2e_vexp_neg8(_mm256_sub_ps(_mm256_loadu_ps(x + j), mv));
        _mm256_storeu_ps(x + j, v);
        vs = _mm256_add_ps(vs, v);
    }
    const __m256i k = e2e_lane_mask8(n - j);
    if (j < n) {
        __m256 v = e2e_vexp_neg8(_mm256_sub_ps(_mm256_maskload_ps(x + j, k), mv));
        v = _mm256_and_ps(v, _mm256_castsi256_ps(k));
        _mm256_maskstore_ps(x + j, k, v);
        vs = _mm256_add_ps(vs, v);
    }
    sum = e2e_hsum8(vs);
    const __m256 inv = _mm256_set1_ps(1.f / sum);
    for (j = 0; j + 8 <= n; j += 8)
        _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), inv));
    if (j < n)
        _mm256_maskstore_ps(x + j, k, _mm256_mul_ps(_mm256_maskload_ps(x + j, k), inv));
}

/* count pieces of n floats, piece i from src + i * n to dst + i * ldd: 8 lanes at a time,
   the rest of a piece under a mask. */
static void split_row(const float *src, int n, int count, float *dst, int64_t ldd)
{
    const __m256i tail = e2e_lane_mask8(n & 7);
    for (int i = 0; i < count; i++, src += n, dst += ldd) {
        int j = 0;
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
        if (j < n)
            _mm256_maskstore_ps(dst + j, tail, _mm256_maskload_ps(src + j, tail));
    }
}

const e2e_mm_kernels e2e_mm_avx2 = {MR, NR, pack, tiles, softmax_row, split_row};
