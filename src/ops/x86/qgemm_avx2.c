/* AVX2 kernels of the quantized products (ops/qgemm.h), for the AVX2 level and for AVX-512
   CPUs without AVX512-VNNI: the products of x86/qgemm_avx2_body.h in a plain-AVX2 copy and an
   AVX-VNNI copy (vpdpbusd on 256-bit vectors, when the CPU has it: e2e_cpu_avx_vnni), the
   requantization and QuantizeLinear / DequantizeLinear loops, and the packing of the operands
   into u8 quads, which is SSE2 code shared with the AVX512-VNNI kernels. Compiled with the
   AVX2 flags (Makefile); the AVX-VNNI copy under a target pragma, so nothing else in the file
   can use its instructions. */
#include <immintrin.h>
#include <string.h>

#include "ops/qgemm.h"

void e2e_qgemm_vnni_pack_cols(int64_t K4, int64_t P64, const uint8_t *rows, uint8_t *colq)
{
    for (int64_t kq = 0; kq < K4; kq++) {
        const uint8_t *r0 = rows + (4 * kq) * P64, *r1 = r0 + P64, *r2 = r1 + P64, *r3 = r2 + P64;
        for (int64_t pb = 0; pb < P64 / 16; pb++) {
            __m128i a0 = _mm_loadu_si128((const __m128i *)(r0 + 16 * pb));
            __m128i a1 = _mm_loadu_si128((const __m128i *)(r1 + 16 * pb));
            __m128i a2 = _mm_loadu_si128((const __m128i *)(r2 + 16 * pb));
            __m128i a3 = _mm_loadu_si128((const __m128i *)(r3 + 16 * pb));
            __m128i lo01 = _mm_unpacklo_epi8(a0, a1), hi01 = _mm_unpackhi_epi8(a0, a1);
            __m128i lo23 = _mm_unpacklo_epi8(a2, a3), hi23 = _mm_unpackhi_epi8(a2, a3);
            uint8_t *d = colq + (pb * K4 + kq) * 64;
            _mm_storeu_si128((__m128i *)d, _mm_unpacklo_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(d + 16), _mm_unpackhi_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(d + 32), _mm_unpacklo_epi16(hi01, hi23));
            _mm_storeu_si128((__m128i *)(d + 48), _mm_unpackhi_epi16(hi01, hi23));
        }
    }
}

/* Unfold and pack in one step for a stride-1 2-D convolution whose output rows are whole
   blocks of 16 pixels (OW a multiple of 16): xp is the image padded with its zero point ([C][PH][PW], every tap of
   every output inside), off[k] the offset of tap k (c, ky, kx) in it, -1 past kdim. */
void e2e_qgemm_vnni_pack_conv(int64_t K4, int64_t pb0, int64_t pb1, int64_t osp, int64_t OW,
                              int64_t PW, const int32_t *off, const uint8_t *xp, uint8_t *colq)
{
    const __m128i z = _mm_setzero_si128();
    for (int64_t pb = pb0; pb < pb1; pb++) {
        const int64_t p0 = 16 * pb, base = (p0 / OW) * PW + p0 % OW;
        uint8_t *dq = colq + (pb - pb0) * K4 * 64;
        if (p0 >= osp) { /* blocks past the output: computed and dropped */
            memset(dq, 0, (size_t)(K4 * 64));
            continue;
        }
        for (int64_t kq = 0; kq < K4; kq++) {
            const int32_t *o = off + 4 * kq;
            __m128i a0 = o[0] >= 0 ? _mm_loadu_si128((const __m128i *)(xp + o[0] + base)) : z;
            __m128i a1 = o[1] >= 0 ? _mm_loadu_si128((const __m128i *)(xp + o[1] + base)) : z;
            __m128i a2 = o[2] >= 0 ? _mm_loadu_si128((const __m128i *)(xp + o[2] + base)) : z;
            __m128i a3 = o[3] >= 0 ? _mm_loadu_si128((const __m128i *)(xp + o[3] + base)) : z;
            __m128i lo01 = _mm_unpacklo_epi8(a0, a1), hi01 = _mm_unpackhi_epi8(a0, a1);
            __m128i lo23 = _mm_unpacklo_epi8(a2, a3), hi23 = _mm_unpackhi_epi8(a2, a3);
            uint8_t *d = dq + kq * 64;
            _mm_storeu_si128((__m128i *)d, _mm_unpacklo_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(d + 16), _mm_unpackhi_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(d + 32), _mm_unpacklo_epi16(hi01, hi23));
            _mm_storeu_si128((__m128i *)(d + 48), _mm_unpackhi_epi16(hi01, hi23));
        }
    }
}

/* The image as channel quads: xq [C4][PH][PW][4] from xp [C][PH][PW] (channels past C: the
   zero point). Rows are interleaved 16 bytes at a time like the packed columns. */
void e2e_qgemm_vnni_quads(int64_t C, int64_t PHW, const uint8_t *xp, uint8_t zp, uint8_t *xq)
{
    const __m128i vz = _mm_set1_epi8((char)zp);
    for (int64_t cq = 0; cq < (C + 3) / 4; cq++) {
        const uint8_t *r[4];
        for (int j = 0; j < 4; j++)
            r[j] = 4 * cq + j < C ? xp + (4 * cq + j) * PHW : NULL;
        uint8_t *d = xq + cq * PHW * 4;
        int64_t i = 0;
        for (; i + 16 <= PHW; i += 16) {
            __m128i a0 = r[0] ? _mm_loadu_si128((const __m128i *)(r[0] + i)) : vz;
            __m128i a1 = r[1] ? _mm_loadu_si128((const __m128i *)(r[1] + i)) : vz;
            __m128i a2 = r[2] ? _mm_loadu_si128((const __m128i *)(r[2] + i)) : vz;
            __m128i a3 = r[3] ? _mm_loadu_si128((const __m128i *)(r[3] + i)) : vz;
            __m128i lo01 = _mm_unpacklo_epi8(a0, a1), hi01 = _mm_unpackhi_epi8(a0, a1);
            __m128i lo23 = _mm_unpacklo_epi8(a2, a3), hi23 = _mm_unpackhi_epi8(a2, a3);
            _mm_storeu_si128((__m128i *)(d + 4 * i), _mm_unpacklo_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(d + 4 * i + 16), _mm_unpackhi_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(d + 4 * i + 32), _mm_unpacklo_epi16(hi01, hi23));
            _mm_storeu_si128((__m128i *)(d + 4 * i + 48), _mm_unpackhi_epi16(hi01, hi23));
        }
        for (; i < PHW; i++)
            for (int j = 0; j < 4; j++)
                d[4 * i + j] = r[j] ? r[j][i] : zp;
    }
}

#define QVNNI 0
#define QNAME(f) f##_avx2
#include "ops/x86/qgemm_avx2_body.h"
#undef QVNNI
#undef QNAME

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define E2E_QGEMM_AVXVNNI 1
#pragma GCC push_options
#pragma GCC target("avxvnni")
#define QVNNI 1
#define QNAME(f) f##_avxvnni
#include "ops/x86/qgemm_avx2_body.h"
#undef QVNNI
#undef QNAME
#pragma GCC pop_options
#endif

/* 8 int32 within the output type's range -> 8 bytes (the packs cannot saturate) */
static inline __m128i q_pack8(__m256i r, bool s8)
{
    __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    return s8 ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
}

/* as e2e_qgemm_vnni_requant: clamp in float to [lo - zp, hi - zp], convert (half to even),
   add zp */
static inline __m128i requant8(const int32_t *acc, __m256i cv, __m256 mv, __m256 flo, __m256 fhi,
                               __m256i vzp, bool s8)
{
    __m256i s = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)acc), cv);
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(s), mv);
    v = _mm256_min_ps(_mm256_max_ps(v, flo), fhi);
    return q_pack8(_mm256_add_epi32(_mm256_cvtps_epi32(v), vzp), s8);
}

/* the last n % 8 values go through a zero-padded copy */
static void requant_avx2(int64_t n, const int32_t *acc, const int32_t *corr, int cs,
                         const float *mult, int ms, int32_t zp, int32_t lo, int32_t hi, bool s8,
                         void *dst)
{
    const __m256 flo = _mm256_set1_ps((float)(lo - zp)), fhi = _mm256_set1_ps((float)(hi - zp));
    const __m256i vzp = _mm256_set1_epi32(zp);
    uint8_t *d = dst;
    int64_t i = 0;
    if (!cs && !ms) { /* one channel's run: corr and mult are scalars */
        const __m256i cv = _mm256_set1_epi32(corr[0]);
        const __m256 mv = _mm256_set1_ps(mult[0]);
        for (; i + 8 <= n; i += 8)
            _mm_storel_epi64((__m128i *)(d + i), requant8(acc + i, cv, mv, flo, fhi, vzp, s8));
    }
    for (; i < n; i += 8) {
        int32_t ta[8] = {0}, tc[8] = {0};
        float tm[8] = {0};
        const int64_t r = n - i < 8 ? n - i : 8;
        memcpy(ta, acc + i, sizeof(int32_t) * (size_t)r);
        if (cs)
            memcpy(tc, corr + i, sizeof(int32_t) * (size_t)r);
        if (ms)
            memcpy(tm, mult + i, sizeof(float) * (size_t)r);
        const __m256i cv = cs ? _mm256_loadu_si256((const __m256i *)tc) : _mm256_set1_epi32(corr[0]);
        const __m256 mv = ms ? _mm256_loadu_ps(tm) : _mm256_set1_ps(mult[0]);
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)t, requant8(ta, cv, mv, flo, fhi, vzp, s8));
        memcpy(d + i, t, (size_t)r);
    }
}

/* QuantizeLinear's loop as e2e_quant_f32_avx512 (x / s, max first so NaN -> lo) */
static void quant_f32_avx2(int64_t n, const float *x, float s, int32_t zp, bool s8, void *y)
{
    const float lo = s8 ? -128.f : 0.f, hi = s8 ? 127.f : 255.f;
    const __m256 vs = _mm256_set1_ps(s), flo = _mm256_set1_ps(lo - (float)zp),
                 fhi = _mm256_set1_ps(hi - (float)zp);
    const __m256i vzp = _mm256_set1_epi32(zp);
    uint8_t *d = y;
    for (int64_t i = 0; i < n; i += 8) {
        float t[8] = {0};
        const float *xs = x + i;
        if (n - i < 8) {
            memcpy(t, xs, sizeof(float) * (size_t)(n - i));
            xs = t;
        }
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(xs), vs);
        v = _mm256_min_ps(_mm256_max_ps(v, flo), fhi);
        __m128i b = q_pack8(_mm256_add_epi32(_mm256_cvtps_epi32(v), vzp), s8);
        if (n - i >= 8) {
            _mm_storel_epi64((__m128i *)(d + i), b);
        } else {
            uint8_t tb[16];
            _mm_storeu_si128((__m128i *)tb, b);
            memcpy(d + i, tb, (size_t)(n - i));
        }
    }
}

/* DequantizeLinear's loop: (x - zp) * s */
static void dequant_avx2(int64_t n, const void *x, bool s8, int32_t zp, float s, float *y)
{
    const __m256 vs = _mm256_set1_ps(s);
    const __m256i vzp = _mm256_set1_epi32(zp);
    const uint8_t *b = x;
    for (int64_t i = 0; i < n; i += 8) {
        uint8_t t[8] = {0};
        const uint8_t *bs = b + i;
        if (n - i < 8) {
            memcpy(t, bs, (size_t)(n - i));
            bs = t;
        }
        __m128i q = _mm_loadl_epi64((const __m128i *)bs);
        __m256i v = s8 ? _mm256_cvtepi8_epi32(q) : _mm256_cvtepu8_epi32(q);
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, vzp)), vs);
        if (n - i >= 8) {
            _mm256_storeu_ps(y + i, f);
        } else {
            float tf[8];
            _mm256_storeu_ps(tf, f);
            memcpy(y + i, tf, sizeof(float) * (size_t)(n - i));
        }
    }
}

/* 16 outputs a step: the vertical maximum bytewise, then the horizontal one of each byte pair
   in 16-bit lanes; int8 through the order-preserving flip to uint8 (x ^ 0x80) */
void e2e_qmaxpool_row_avx2(int64_t OW, const uint8_t *a, const uint8_t *b, bool s8, uint8_t *y)
{
    const __m256i flip = _mm256_set1_epi8(s8 ? (char)0x80 : 0), lo = _mm256_set1_epi16(0xff);
    int64_t x = 0;
    for (; x + 16 <= OW; x += 16) {
        __m256i va = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + 2 * x)), flip);
        __m256i vb = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(b + 2 * x)), flip);
        __m256i m = _mm256_max_epu8(va, vb);
        __m256i h = _mm256_max_epi16(_mm256_and_si256(m, lo), _mm256_srli_epi16(m, 8));
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi16(h, h), 0xD8);
        _mm_storeu_si128((__m128i *)(y + x), _mm_xor_si128(_mm256_castsi256_si128(p),
                                                           _mm256_castsi256_si128(flip)));
    }
    const uint8_t f = s8 ? 0x80 : 0;
    for (; x < OW; x++) {
        uint8_t m0 = (a[2 * x] ^ f) > (a[2 * x + 1] ^ f) ? a[2 * x] : a[2 * x + 1];
        uint8_t m1 = (b[2 * x] ^ f) > (b[2 * x + 1] ^ f) ? b[2 * x] : b[2 * x + 1];
        y[x] = (m0 ^ f) > (m1 ^ f) ? m0 : m1;
    }
}

const e2e_qgemm_kernels e2e_qgemm_avx2 = {
    "avx2", conv_avx2, conv_direct_avx2, rows_avx2, requant_avx2, quant_f32_avx2, dequant_avx2,
    e2e_qmaxpool_row_avx2,
};

#ifdef E2E_QGEMM_AVXVNNI
const e2e_qgemm_kernels e2e_qgemm_avxvnni = {
    "avx-vnni", conv_avxvnni, conv_direct_avxvnni, rows_avxvnni, requant_avx2, quant_f32_avx2,
    dequant_avx2, e2e_qmaxpool_row_avx2,
};
#else
const e2e_qgemm_kernels e2e_qgemm_avxvnni = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
#endif
