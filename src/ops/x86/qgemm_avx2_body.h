/* The AVX2 integer products of ops/qgemm.h, written once and included twice by
   x86/qgemm_avx2.c: with QVNNI 0 (plain AVX2) and QVNNI 1 (AVX-VNNI, under
   #pragma GCC target("avxvnni")). QNAME(f) names the copy's functions.

   Operands are the AVX-512 kernels' layouts (u8 quads [pixel or row][4 k] against s8 quads),
   8 int32 lanes to a vector. A step multiplies 4 u8 by 4 s8 and adds the 4 products to a lane:
     AVX-VNNI    vpdpbusd (the sums fit in int32: no saturation)
     plain AVX2  each 16-bit half of a lane split into its bytes, zero-extended (u8: k 0, 2 and
                 k 1, 3) and sign-extended (s8), then two vpmaddwd: every product and pair sum
                 fits in int32 (|u8 x s8| <= 32640), so the result is exact too. (vpmaddubsw
                 would saturate the pair sums at int16.)
   Either way the int32 sums are the generic path's, bit for bit. */

#if QVNNI
typedef __m256i QNAME(qu);
typedef __m256i QNAME(qs);
static inline __m256i QNAME(qu_make)(__m256i r) { return r; }
static inline __m256i QNAME(qs_make)(__m256i r) { return r; }
static inline __m256i QNAME(qdot)(__m256i acc, __m256i u, __m256i s)
{
    return _mm256_dpbusd_avx_epi32(acc, u, s);
}
#else
typedef struct { __m256i l, h; } QNAME(qu); /* bytes 0, 2 and 1, 3 of each lane as int16 */
typedef struct { __m256i l, h; } QNAME(qs);
static inline QNAME(qu) QNAME(qu_make)(__m256i r)
{
    QNAME(qu) u = {_mm256_and_si256(r, _mm256_set1_epi16(0xff)), _mm256_srli_epi16(r, 8)};
    return u;
}
static inline QNAME(qs) QNAME(qs_make)(__m256i r)
{
    QNAME(qs) s = {_mm256_srai_epi16(_mm256_slli_epi16(r, 8), 8), _mm256_srai_epi16(r, 8)};
    return s;
}
static inline __m256i QNAME(qdot)(__m256i acc, QNAME(qu) u, QNAME(qs) s)
{
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(u.l, s.l));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(u.h, s.h));
}
#endif

static inline __m256i QNAME(bcast4)(const void *p)
{
    int32_t q;
    memcpy(&q, p, 4);
    return _mm256_set1_epi32(q);
}

/* 4 channels x 16 pixels (one packed block, two vectors) per register tile */
static void QNAME(conv)(int64_t M4, int64_t P64, int64_t K4, const int8_t *w,
                        const uint8_t *colq, int32_t *acc, int64_t ldacc)
{
    const int64_t ldw = 4 * K4;
    for (int64_t p = 0; p < P64; p += 16)
        for (int64_t m = 0; m < M4; m += 4) {
            __m256i c[4][2];
            #pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                c[i][0] = c[i][1] = _mm256_setzero_si256();
            const uint8_t *b = colq + (p / 16) * K4 * 64;
            const int8_t *wm = w + m * ldw;
            for (int64_t kq = 0; kq < K4; kq++) {
                QNAME(qu) x0 = QNAME(qu_make)(_mm256_loadu_si256((const __m256i *)(b + kq * 64)));
                QNAME(qu) x1 = QNAME(qu_make)(_mm256_loadu_si256((const __m256i *)(b + kq * 64 + 32)));
                #pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    QNAME(qs) wb = QNAME(qs_make)(QNAME(bcast4)(wm + i * ldw + 4 * kq));
                    c[i][0] = QNAME(qdot)(c[i][0], x0, wb);
                    c[i][1] = QNAME(qdot)(c[i][1], x1, wb);
                }
            }
            #pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                #pragma GCC unroll 2
                for (int j = 0; j < 2; j++)
                    _mm256_storeu_si256((__m256i *)(acc + (m + i) * ldacc + p + 8 * j), c[i][j]);
        }
}

/* nc (2, 4 or 6) channels x one block of 16 pixels of the direct convolution: AVX-VNNI keeps 12
   accumulators (vpdpbusd's latency wants more than 8 chains); plain AVX2 has no registers
   left for more than 8 (its operands take two registers each) */
static inline __attribute__((always_inline)) void
QNAME(direct_tile)(const int nc, int64_t K4, const int8_t *wm, int64_t ldw, const int32_t *offq,
                   const uint8_t *base, int32_t *out, int64_t ldacc)
{
    __m256i c[6][2];
#pragma GCC unroll 6
    for (int i = 0; i < nc; i++)
        c[i][0] = c[i][1] = _mm256_setzero_si256();
    for (int64_t kq = 0; kq < K4; kq++) {
        const uint8_t *xb = base + offq[kq];
        QNAME(qu) x0 = QNAME(qu_make)(_mm256_loadu_si256((const __m256i *)xb));
        QNAME(qu) x1 = QNAME(qu_make)(_mm256_loadu_si256((const __m256i *)(xb + 32)));
#pragma GCC unroll 6
        for (int i = 0; i < nc; i++) {
            QNAME(qs) wb = QNAME(qs_make)(QNAME(bcast4)(wm + i * ldw + 4 * kq));
            c[i][0] = QNAME(qdot)(c[i][0], x0, wb);
            c[i][1] = QNAME(qdot)(c[i][1], x1, wb);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < nc; i++) {
        _mm256_storeu_si256((__m256i *)(out + i * ldacc), c[i][0]);
        _mm256_storeu_si256((__m256i *)(out + i * ldacc + 8), c[i][1]);
    }
}

#if !QVNNI
/* plain AVX2 only: 4 channels' weights split once into int16 pairs wp [K4][4][2] (k 0, 2 and
   k 1, 3 of each quad, sign-extended), so that a step is two broadcasts and two vpmaddwd */
#define QWP_MAX 512
static inline void QNAME(split_w4)(int64_t K4, const int8_t *wm, int64_t ldw, int32_t *wp)
{
    for (int64_t kq = 0; kq < K4; kq++)
        for (int i = 0; i < 4; i++) {
            const int8_t *q = wm + i * ldw + 4 * kq;
            wp[(kq * 4 + i) * 2] = (int32_t)((uint32_t)(uint16_t)q[0] | (uint32_t)(uint16_t)q[2] << 16);
            wp[(kq * 4 + i) * 2 + 1] = (int32_t)((uint32_t)(uint16_t)q[1] | (uint32_t)(uint16_t)q[3] << 16);
        }
}

static inline void QNAME(direct_tile_wp)(int64_t K4, const int32_t *wp, const int32_t *offq,
                                         const uint8_t *base, int32_t *out, int64_t ldacc)
{
    __m256i c[4][2];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
        c[i][0] = c[i][1] = _mm256_setzero_si256();
    for (int64_t kq = 0; kq < K4; kq++) {
        const uint8_t *xb = base + offq[kq];
        QNAME(qu) x0 = QNAME(qu_make)(_mm256_loadu_si256((const __m256i *)xb));
        QNAME(qu) x1 = QNAME(qu_make)(_mm256_loadu_si256((const __m256i *)(xb + 32)));
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            QNAME(qs) wb = {_mm256_set1_epi32(wp[(kq * 4 + i) * 2]), _mm256_set1_epi32(wp[(kq * 4 + i) * 2 + 1])};
            c[i][0] = QNAME(qdot)(c[i][0], x0, wb);
            c[i][1] = QNAME(qdot)(c[i][1], x1, wb);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_si256((__m256i *)(out + i * ldacc), c[i][0]);
        _mm256_storeu_si256((__m256i *)(out + i * ldacc + 8), c[i][1]);
    }
}
#endif

/* direct convolution on channel quads (see qgemm_avx512.c): one block of 16 pixels at a time */
static void QNAME(conv_direct)(int64_t M4, int64_t pb0, int64_t pb1, int64_t nblk, int64_t K4,
                               const int8_t *w, const int32_t *offq, const uint8_t *xq,
                               int64_t OW, int64_t PW, int32_t *acc, int64_t ldacc)
{
    const int64_t ldw = 4 * K4;
#if !QVNNI
    if (K4 <= QWP_MAX) { /* channels outside: each 4 channels' weights split once */
        int32_t wp[QWP_MAX * 8];
        for (int64_t m = 0; m < M4; m += 4) {
            QNAME(split_w4)(K4, w + m * ldw, ldw, wp);
            for (int64_t pb = pb0; pb < pb1; pb++) {
                const int64_t p = 16 * (pb < nblk ? pb : 0);
                QNAME(direct_tile_wp)(K4, wp, offq, xq + ((p / OW) * PW + p % OW) * 4,
                                      acc + m * ldacc + 16 * (pb - pb0), ldacc);
            }
        }
        return;
    }
#endif
    for (int64_t pb = pb0; pb < pb1; pb++) {
        const int64_t p = 16 * (pb < nblk ? pb : 0);
        const uint8_t *base = xq + ((p / OW) * PW + p % OW) * 4;
        int32_t *out = acc + 16 * (pb - pb0);
        int64_t m = 0;
        if (QVNNI) /* M4, a multiple of 4, leaves 0, 2 or 4 channels after the 6-channel tiles */
            for (; m + 6 <= M4; m += 6)
                QNAME(direct_tile)(6, K4, w + m * ldw, ldw, offq, base, out + m * ldacc, ldacc);
        for (; m + 4 <= M4; m += 4)
            QNAME(direct_tile)(4, K4, w + m * ldw, ldw, offq, base, out + m * ldacc, ldacc);
        if (m < M4)
            QNAME(direct_tile)(2, K4, w + m * ldw, ldw, offq, base, out + m * ldacc, ldacc);
    }
}

/* 4 rows of A x 16 columns per register tile; rows past M repeat the last (dropped) */
static void QNAME(rows4)(int64_t M, int64_t m, int64_t N16, int64_t K4, const uint8_t *a,
                         int64_t lda, const int8_t *bq, int32_t *c, int64_t ldc)
{
    const uint8_t *ar[4];
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++)
        ar[r] = a + (m + r < M ? m + r : M - 1) * lda;
    for (int64_t n = 0; n < N16; n += 16) {
        __m256i s[4][2];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            s[r][0] = s[r][1] = _mm256_setzero_si256();
        const int8_t *b = bq + (n / 16) * K4 * 64;
        for (int64_t kq = 0; kq < K4; kq++) {
            QNAME(qs) b0 = QNAME(qs_make)(_mm256_loadu_si256((const __m256i *)(b + kq * 64)));
            QNAME(qs) b1 = QNAME(qs_make)(_mm256_loadu_si256((const __m256i *)(b + kq * 64 + 32)));
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                QNAME(qu) ab = QNAME(qu_make)(QNAME(bcast4)(ar[r] + 4 * kq));
                s[r][0] = QNAME(qdot)(s[r][0], ab, b0);
                s[r][1] = QNAME(qdot)(s[r][1], ab, b1);
            }
        }
        for (int r = 0; r < 4 && m + r < M; r++)
            #pragma GCC unroll 2
            for (int j = 0; j < 2; j++)
                _mm256_storeu_si256((__m256i *)(c + (m + r) * ldc + n + 8 * j), s[r][j]);
    }
}

/* one row of A x up to 64 columns (8 vectors) per register tile (batch 1) */
static void QNAME(rows)(int64_t M, int64_t N16, int64_t K4, const uint8_t *a, int64_t lda,
                        const int8_t *bq, int32_t *c, int64_t ldc)
{
    int64_t m0 = 0;
    for (; M - m0 >= 2; m0 += 4)
        QNAME(rows4)(M, m0, N16, K4, a, lda, bq, c, ldc);
    for (int64_t m = m0; m < M; m++) {
        const uint8_t *am = a + m * lda;
        int64_t n = 0;
        for (; n + 64 <= N16; n += 64) {
            __m256i s[8];
            #pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                s[j] = _mm256_setzero_si256();
            const int8_t *b = bq + (n / 16) * K4 * 64;
            for (int64_t kq = 0; kq < K4; kq++) {
                QNAME(qu) ab = QNAME(qu_make)(QNAME(bcast4)(am + 4 * kq));
                #pragma GCC unroll 8
                for (int j = 0; j < 8; j++) {
                    const int8_t *bj = b + ((j / 2) * K4 + kq) * 64 + (j % 2) * 32;
                    s[j] = QNAME(qdot)(s[j], ab, QNAME(qs_make)(_mm256_loadu_si256((const __m256i *)bj)));
                }
            }
            #pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                _mm256_storeu_si256((__m256i *)(c + m * ldc + n + 8 * j), s[j]);
        }
        for (; n < N16; n += 16) { /* the last 1 to 3 blocks */
            __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
            const int8_t *b = bq + (n / 16) * K4 * 64;
            for (int64_t kq = 0; kq < K4; kq++) {
                QNAME(qu) ab = QNAME(qu_make)(QNAME(bcast4)(am + 4 * kq));
                s0 = QNAME(qdot)(s0, ab, QNAME(qs_make)(_mm256_loadu_si256((const __m256i *)(b + kq * 64))));
                s1 = QNAME(qdot)(s1, ab, QNAME(qs_make)(_mm256_loadu_si256((const __m256i *)(b + kq * 64 + 32))));
            }
            _mm256_storeu_si256((__m256i *)(c + m * ldc + n), s0);
            _mm256_storeu_si256((__m256i *)(c + m * ldc + n + 8), s1);
        }
    }
}
