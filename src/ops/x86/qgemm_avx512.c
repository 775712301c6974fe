/* AVX512-VNNI kernels of the quantized products (ops/qgemm.h): vpdpbusd multiplies 4
   unsigned bytes by 4 signed bytes and adds the 4 products to an int32 lane, exactly (no
   saturation: the pairs' sums fit). Compiled with -mavx512vnni (Makefile) and used only when
   the CPU has it (e2e_qgemm_kernels_for); x86/qgemm_avx2.c packs the operands. */
#include <immintrin.h>
#include <string.h>

#include "ops/qgemm.h"

/* 4 channels x 4 vectors of 16 pixels per register tile; pixel blocks outside, so one block
   of packed columns (K4 * 256 bytes) stays in L1 while every channel passes over it */
static void e2e_qgemm_vnni_conv(int64_t M4, int64_t P64, int64_t K4, const int8_t *w,
                         const uint8_t *colq, int32_t *acc, int64_t ldacc)
{
    const int64_t ldw = 4 * K4;
    for (int64_t p = 0; p < P64; p += 64)
        for (int64_t m = 0; m < M4; m += 4) {
            __m512i c[4][4];
            #pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                #pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    c[i][j] = _mm512_setzero_si512();
            const uint8_t *b = colq + (p / 16) * K4 * 64;
            const int8_t *wm = w + m * ldw;
            for (int64_t kq = 0; kq < K4; kq++) {
                __m512i x0 = _mm512_loadu_si512(b + kq * 64);
                __m512i x1 = _mm512_loadu_si512(b + (K4 + kq) * 64);
                __m512i x2 = _mm512_loadu_si512(b + (2 * K4 + kq) * 64);
                __m512i x3 = _mm512_loadu_si512(b + (3 * K4 + kq) * 64);
                #pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    int32_t q;
                    memcpy(&q, wm + i * ldw + 4 * kq, 4);
                    __m512i wb = _mm512_set1_epi32(q);
                    c[i][0] = _mm512_dpbusd_epi32(c[i][0], x0, wb);
                    c[i][1] = _mm512_dpbusd_epi32(c[i][1], x1, wb);
                    c[i][2] = _mm512_dpbusd_epi32(c[i][2], x2, wb);
                    c[i][3] = _mm512_dpbusd_epi32(c[i][3], x3, wb);
                }
            }
            #pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                #pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    _mm512_storeu_si512(acc + (m + i) * ldacc + p + 16 * j, c[i][j]);
        }
}

/* 4 rows of A by 4 vectors (64 columns) per register tile: B streams once per 4 rows. Rows
   past M repeat the last one (their sums are dropped). */
static void rows4(int64_t M, int64_t m, int64_t N16, int64_t K4, const uint8_t *a, int64_t lda,
                  const int8_t *bq, int32_t *c, int64_t ldc)
{
    const uint8_t *ar[4];
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++)
        ar[r] = a + (m + r < M ? m + r : M - 1) * lda;
    for (int64_t n = 0; n < N16; n += 64) {
        const int nv = (int)((N16 - n) / 16 < 4 ? (N16 - n) / 16 : 4);
        __m512i s[4][4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                s[r][j] = _mm512_setzero_si512();
        const int8_t *b = bq + (n / 16) * K4 * 64;
        for (int64_t kq = 0; kq < K4; kq++) {
            __m512i bv[4];
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                bv[j] = j < nv ? _mm512_loadu_si512(b + (j * K4 + kq) * 64) : _mm512_setzero_si512();
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                int32_t q;
                memcpy(&q, ar[r] + 4 * kq, 4);
                __m512i ab = _mm512_set1_epi32(q);
                #pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    s[r][j] = _mm512_dpbusd_epi32(s[r][j], ab, bv[j]);
            }
        }
        for (int r = 0; r < 4 && m + r < M; r++)
            for (int j = 0; j < nv; j++)
                _mm512_storeu_si512(c + (m + r) * ldc + n + 16 * j, s[r][j]);
    }
}

/* up to 8 vectors (128 columns) of one row of A per register tile (batch 1); more rows go
   4 at a time through rows4 */
static void e2e_qgemm_vnni_rows(int64_t M, int64_t N16, int64_t K4, const uint8_t *a, int64_t lda,
                         const int8_t *bq, int32_t *c, int64_t ldc)
{
    int64_t m0 = 0;
    for (; M - m0 >= 2; m0 += 4)
        rows4(M, m0, N16, K4, a, lda, bq, c, ldc);
    for (int64_t m = m0; m < M; m++) {
        const uint8_t *am = a + m * lda;
        for (int64_t n = 0; n < N16; n += 128) {
            const int nv = (int)((N16 - n) / 16 < 8 ? (N16 - n) / 16 : 8);
            __m512i s[8];
            #pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                s[j] = _mm512_setzero_si512();
            const int8_t *b = bq + (n / 16) * K4 * 64;
            if (nv == 8) {
                for (int64_t kq = 0; kq < K4; kq++) {
                    int32_t q;
                    memcpy(&q, am + 4 * kq, 4);
                    __m512i ab = _mm512_set1_epi32(q);
                    #pragma GCC unroll 8
                    for (int j = 0; j < 8; j++)
                        s[j] = _mm512_dpbusd_epi32(s[j], ab, _mm512_loadu_si512(b + (j * K4 + kq) * 64));
                }
            } else {
                for (int64_t kq = 0; kq < K4; kq++) {
                    int32_t q;
                    memcpy(&q, am + 4 * kq, 4);
                    __m512i ab = _mm512_set1_epi32(q);
                    for (int j = 0; j < nv; j++)
                        s[j] = _mm512_dpbusd_epi32(s[j], ab, _mm512_loadu_si512(b + (j * K4 + kq) * 64));
                }
            }
            for (int j = 0; j < nv; j++)
                _mm512_storeu_si512(c + m * ldc + n + 16 * j, s[j]);
        }
    }
}

/* y[i] = saturate(round((acc[i] + corr[i]) * mult[i]) + zp): the float value is clamped to
   [lo - zp, hi - zp] before the conversion (rounds half to even in the default MXCSR mode),
   so out-of-range values saturate like the scalar q_round. NaN cannot occur (finite int32
   times a finite multiplier). corr/mult: one value (stride 0) or one per element (stride 1). */
static void e2e_qgemm_vnni_requant(int64_t n, const int32_t *acc, const int32_t *corr, int cs,
                            const float *mult, int ms, int32_t zp, int32_t lo, int32_t hi,
                            bool s8, void *dst)
{
    const __m512 flo = _mm512_set1_ps((float)(lo - zp)), fhi = _mm512_set1_ps((float)(hi - zp));
    const __m512i vzp = _mm512_set1_epi32(zp);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i cv = cs ? _mm512_loadu_si512(corr + i) : _mm512_set1_epi32(corr[0]);
        __m512 mv = ms ? _mm512_loadu_ps(mult + i) : _mm512_set1_ps(mult[0]);
        __m512i a = _mm512_add_epi32(_mm512_loadu_si512(acc + i), cv);
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(a), mv);
        v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi);
        __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(v), vzp);
        __m128i b = s8 ? _mm512_cvtsepi32_epi8(r) : _mm512_cvtusepi32_epi8(r);
        _mm_storeu_si128((__m128i *)((uint8_t *)dst + i), b);
    }
    if (i < n) {
        const __mmask16 mk = (__mmask16)((1u << (n - i)) - 1);
        __m512i cv = cs ? _mm512_maskz_loadu_epi32(mk, corr + i) : _mm512_set1_epi32(corr[0]);
        __m512 mv = ms ? _mm512_maskz_loadu_ps(mk, mult + i) : _mm512_set1_ps(mult[0]);
        __m512i a = _mm512_add_epi32(_mm512_maskz_loadu_epi32(mk, acc + i), cv);
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(a), mv);
        v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi);
        __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(v), vzp);
        if (s8)
            _mm512_mask_cvtsepi32_storeu_epi8((uint8_t *)dst + i, mk, r);
        else
            _mm512_mask_cvtusepi32_storeu_epi8((uint8_t *)dst + i, mk, r);
    }
}

/* Direct stride-1 2-D convolution on channel quads: the 16 pixels of a vector are 16
   neighbours of one output row (OW % 16 == 0), so for tap kq (channel quad, ky, kx) they are
   64 contiguous bytes of xq at offq[kq] + (oy PW + ox) 4. Pixel blocks [pb0, pb1) (a multiple
   of 4 blocks; blocks at or past nblk, the image's, are computed on block 0 and dropped by the
   caller); acc rows ldacc apart, block pb at column 16 (pb - pb0). */
static void e2e_qgemm_vnni_conv_direct(int64_t M4, int64_t pb0, int64_t pb1, int64_t nblk, int64_t K4,
                                const int8_t *w, const int32_t *offq, const uint8_t *xq,
                                int64_t OW, int64_t PW, int32_t *acc, int64_t ldacc)
{
    const int64_t ldw = 4 * K4;
    for (int64_t pb = pb0; pb < pb1; pb += 4) {
        const uint8_t *base[4];
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const int64_t b = pb + j < nblk ? pb + j : 0, p = 16 * b;
            base[j] = xq + ((p / OW) * PW + p % OW) * 4;
        }
        for (int64_t m = 0; m < M4; m += 4) {
            __m512i c[4][4];
            #pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                #pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    c[i][j] = _mm512_setzero_si512();
            const int8_t *wm = w + m * ldw;
            for (int64_t kq = 0; kq < K4; kq++) {
                const int32_t o = offq[kq];
                __m512i x0 = _mm512_loadu_si512(base[0] + o);
                __m512i x1 = _mm512_loadu_si512(base[1] + o);
                __m512i x2 = _mm512_loadu_si512(base[2] + o);
                __m512i x3 = _mm512_loadu_si512(base[3] + o);
                #pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    int32_t q;
                    memcpy(&q, wm + i * ldw + 4 * kq, 4);
                    __m512i wb = _mm512_set1_epi32(q);
                    c[i][0] = _mm512_dpbusd_epi32(c[i][0], x0, wb);
                    c[i][1] = _mm512_dpbusd_epi32(c[i][1], x1, wb);
                    c[i][2] = _mm512_dpbusd_epi32(c[i][2], x2, wb);
                    c[i][3] = _mm512_dpbusd_epi32(c[i][3], x3, wb);
                }
            }
            #pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                #pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    _mm512_storeu_si512(acc + (m + i) * ldacc + 16 * (pb - pb0 + j), c[i][j]);
        }
    }
}

const e2e_qgemm_kernels e2e_qgemm_avx512vnni = {
    "avx512-vnni", e2e_qgemm_vnni_conv, e2e_qgemm_vnni_conv_direct, e2e_qgemm_vnni_rows,
    e2e_qgemm_vnni_requant, e2e_quant_f32_avx512, e2e_dequant_avx512, e2e_qmaxpool_row_avx2,
};
