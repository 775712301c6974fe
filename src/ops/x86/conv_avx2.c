/* Conv's AVX2 + FMA kernels (8 lanes; conv_internal.h, the algorithms in ops_conv.c): the
   direct kernel's register tile is 6 output channels by up to 2 vectors of 8 pixels;
   Winograd F(2x2, 3x3) and, with optimize >= 2, F(4x4, 3x3) take 4 channels by 3 vectors of
   8 tiles. Compiled with -mavx2 -mfma -mf16c. */
#include <immintrin.h>

#include "ops/conv_internal.h"
#include "ops/x86/simd_avx2.h"

#define ALWAYS_INLINE CONV_INLINE
#define DIRECT_G 6
/* output channels per Winograd register tile, and the product buffer per xi */
#define WINO_G 4
#define WINO_BS (WINO_G * WINO_TV * 8)
/* fewest input channels for which the Winograd transforms pay (measured) */
#define WINO_MIN_C 4

/* One padded row (conv_pad_rows) of at most 256 floats: rows are short (tens of floats), so
   vector stores instead of three library calls. The zeros run up to 7 floats past the row,
   into the next row (written after this one), a gap or the slab's slack; no masked stores
   (slow on AMD). */
static inline bool pad_row(float *d, const float *s, int64_t nl, int64_t nm, int64_t PW)
{
    if (PW > 256)
        return false;
    const __m256 z = _mm256_setzero_ps();
    for (int64_t j = 0; j < PW; j += 8)
        _mm256_storeu_ps(d + j, z);
    int64_t j = 0;
    for (; j + 8 <= nm; j += 8)
        _mm256_storeu_ps(d + nl + j, _mm256_loadu_ps(s + j));
    for (; j < nm; j++)
        d[nl + j] = s[j];
    return true;
}

static void pad_rows(const conv_priv *p, const float *x, float *slab, int64_t iy0, int64_t n,
                     int64_t cs)
{
    conv_pad_rows(p, x, slab, iy0, n, cs, pad_row);
}

/* AVX2 + FMA (16 ymm registers): the register tile is TC = DIRECT_G output channels by up to
   TV vectors of 8 pixels (6 x 2: 12 accumulators, 2 input vectors, 1 broadcast). */
#define TC DIRECT_G
#define TV 2

ALWAYS_INLINE void direct_kernel(int NV, const float *const *base, const int32_t *off, int64_t taps,
                                 const float *w, __m256 acc[TC][TV])
{
    /* a local tile: acc escapes to the caller's loops, and GCC would store it every tap */
    __m256 c[TC][TV];
#pragma GCC unroll 8
    for (int i = 0; i < TC; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            c[i][j] = _mm256_setzero_ps();
    const float *b0 = base[0], *b1 = base[NV > 1 ? 1 : 0], *b2 = base[NV > 2 ? 2 : 0];
    for (int64_t t = 0; t < taps; t++, w += DIRECT_MB) {
        const int64_t o = off[t];
        __m256 v[3];
        v[0] = _mm256_loadu_ps(b0 + o);
        if (NV > 1)
            v[1] = _mm256_loadu_ps(b1 + o);
        if (NV > 2)
            v[2] = _mm256_loadu_ps(b2 + o);
#pragma GCC unroll 8
        for (int i = 0; i < TC; i++) {
            const __m256 wi = _mm256_broadcast_ss(w + i);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++)
                c[i][j] = _mm256_fmadd_ps(wi, v[j], c[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < TC; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            acc[i][j] = c[i][j];
}

ALWAYS_INLINE __m256 act_vec(e2e_act act, __m256 r, __m256 zero, __m256 lo, __m256 hi)
{
    switch (act) {
    case E2E_ACT_RELU:
        return _mm256_max_ps(zero, r); /* this order keeps a NaN in r */
    case E2E_ACT_LEAKY_RELU:
        return _mm256_blendv_ps(r, _mm256_mul_ps(r, lo), _mm256_cmp_ps(r, zero, _CMP_LT_OQ));
    case E2E_ACT_CLIP:
        return _mm256_min_ps(hi, _mm256_max_ps(lo, r)); /* = the Clip kernel's x < lo ? lo : x, then v > hi ? hi : v */
    default:
        return r;
    }
}

/* Applies the activations that have no register form (sigmoid, GELU) to n <= 16 vectors,
   through the library's row function. */
ALWAYS_INLINE void act_late8(const e2e_kernel *k, __m256 *v, int n)
{
    float t[16][8];
    for (int i = 0; i < n; i++)
        _mm256_storeu_ps(t[i], v[i]);
    e2e_act_apply(k->act, k->act_alpha, k->act_beta, t[0], 8 * n);
    for (int i = 0; i < n; i++)
        v[i] = _mm256_loadu_ps(t[i]);
}

/* Bias, activation and (masked) stores of channels m0 .. m0 + TC (< M). */
ALWAYS_INLINE void direct_store(const e2e_kernel *k, const conv_priv *p, int NV, __m256 acc[TC][TV],
                                int64_t m0, float *y, const int64_t *pos, const int64_t *cnt)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    const int64_t mend = p->M - m0 < TC ? p->M - m0 : TC;
    /* unrolled with constant indices: acc stays in registers */
#pragma GCC unroll 8
    for (int i = 0; i < TC; i++) {
        if (i >= mend)
            break;
        const __m256 b = _mm256_broadcast_ss(p->bias + m0 + i);
        float *ym = y + (m0 + i) * p->ysp;
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            __m256 r = act_vec(k->act, _mm256_add_ps(acc[i][j], b), zero, lo, hi);
            if (cnt[j] >= 8)
                _mm256_storeu_ps(ym + pos[j], r);
            else
                _mm256_maskstore_ps(ym + pos[j], e2e_lane_mask8(cnt[j]), r);
            if (k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU)
                e2e_act_apply(k->act, k->act_alpha, k->act_beta, ym + pos[j], cnt[j] < 8 ? cnt[j] : 8);
        }
    }
}

/* Output rows [oy0, oy1) of one image: x is its input (C planes), y its output (M planes). */
static void direct_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                         float *slab, int64_t oy0, int64_t oy1)
{
    const int64_t OW = p->od[2], PW = p->pw;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    pad_rows(p, x, slab, oy0 - p->pad_t, oy1 - oy0 + halo, p->cs);
    const int64_t vpr = (OW + 7) / 8, nv = (oy1 - oy0) * vpr, taps = p->kdim;
    for (int64_t m0 = 0; m0 < p->M; m0 += TC) {
        const float *w = p->wp + (m0 / TC) * taps * DIRECT_MB;
        for (int64_t v = 0; v < nv; v += TV) {
            const int cnt = nv - v < TV ? (int)(nv - v) : TV;
            const float *base[3];
            int64_t pos[3], n[3];
            for (int j = 0; j < cnt; j++) {
                int64_t row = (v + j) / vpr, x0 = ((v + j) % vpr) * 8;
                base[j] = slab + row * PW + x0;
                pos[j] = (oy0 + row) * OW + x0;
                n[j] = OW - x0;
            }
            __m256 acc[TC][TV];
            if (cnt == 2) {
                direct_kernel(2, base, p->off, taps, w, acc);
                direct_store(k, p, 2, acc, m0, y, pos, n);
            } else {
                direct_kernel(1, base, p->off, taps, w, acc);
                direct_store(k, p, 1, acc, m0, y, pos, n);
            }
        }
    }
}

/* Whether pool_c1 takes this ConvMaxPool: one input channel, a 3x3 kernel without dilation,
   pooled rows of whole vectors. */
static bool pool_c1_fits(const conv_priv *p)
{
    return p->C == 1 && p->kd[1] == 3 && p->kd[2] == 3 && p->dl[1] == 1 && p->dl[2] == 1 &&
           (p->od[2] / 2) % 8 == 0;
}

/* ConvMaxPool with one input channel and a 3x3 kernel (the E/Gamma SimpleNet's first layer).
   Its sums are only 9 taps long, so the general kernel's 6-channel tile spends about as long
   in broadcasts and its epilogue as in the sums. Here one channel's 9 weights stay in
   registers and a step does two rows by 16 columns: 4 accumulators, 24 input loads and 36
   FMAs, pooled into 8 outputs by in-lane shuffles. Steps are independent, so the core
   overlaps their chains. The same sums in the same order (taps by row, then column, from
   zero), bias, activation and pooling order as direct_chunk_pool: the same bits. */
static void pool_c1(const e2e_kernel *k, const conv_priv *p, const float *slab, float *y, int64_t q0,
                    int64_t q1)
{
    const int64_t PW = p->pw, PWo = p->od[2] / 2;
    const __m256 zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    for (int64_t m = 0; m < p->M; m++) {
        const float *wm = p->wp + (m / DIRECT_G) * 9 * DIRECT_MB + m % DIRECT_G;
        __m256 w[9];
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
            w[t] = _mm256_broadcast_ss(wm + t * DIRECT_MB);
        const __m256 b = _mm256_broadcast_ss(p->bias + m);
        float *ym = y + m * p->ysp + q0 * PWo;
        for (int64_t q = 0; q < q1 - q0; q++) {
            const float *s = slab + 2 * q * PW;
            for (int64_t x0 = 0; x0 < 2 * PWo; x0 += 16) {
                __m256 a[2][2] = {{zero, zero}, {zero, zero}}; /* [row of the pair][8 columns] */
#pragma GCC unroll 4
                for (int r = 0; r < 4; r++)
#pragma GCC unroll 3
                    for (int dx = 0; dx < 3; dx++) {
                        const float *sr = s + r * PW + x0 + dx;
                        const __m256 v0 = _mm256_loadu_ps(sr), v1 = _mm256_loadu_ps(sr + 8);
                        if (r <= 2) {
                            a[0][0] = _mm256_fmadd_ps(w[r * 3 + dx], v0, a[0][0]);
                            a[0][1] = _mm256_fmadd_ps(w[r * 3 + dx], v1, a[0][1]);
                        }
                        if (r >= 1) {
                            a[1][0] = _mm256_fmadd_ps(w[(r - 1) * 3 + dx], v0, a[1][0]);
                            a[1][1] = _mm256_fmadd_ps(w[(r - 1) * 3 + dx], v1, a[1][1]);
                        }
                    }
                __m256 v[2][2];
#pragma GCC unroll 2
                for (int i = 0; i < 2; i++)
#pragma GCC unroll 2
                    for (int j = 0; j < 2; j++)
                        v[i][j] = act_vec(k->act, _mm256_add_ps(a[i][j], b), zero, lo, hi);
                if (late)
                    act_late8(k, v[0], 4);
                /* rows, then even columns against odd ones; the lanes come out as pooled
                   outputs 0 1 4 5 2 3 6 7, and one 64-bit permute puts them in order */
                const __m256 m0 = _mm256_max_ps(v[0][0], v[1][0]), m1 = _mm256_max_ps(v[0][1], v[1][1]);
                const __m256 h = _mm256_max_ps(_mm256_shuffle_ps(m0, m1, 0x88), _mm256_shuffle_ps(m0, m1, 0xDD));
                _mm256_storeu_ps(ym + q * PWo + x0 / 2,
                                 _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(h), 0xD8)));
            }
        }
    }
}

/* ConvMaxPool: row pairs [q0, q1) of one image, the same 8 columns of both rows of a pair per
   step, pooled in registers (4 pooled outputs per channel and step). */
static void direct_chunk_pool(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                              float *slab, int64_t q0, int64_t q1)
{
    const int64_t OW = p->od[2], PW = p->pw, PWo = OW / 2;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    pad_rows(p, x, slab, 2 * q0 - p->pad_t, 2 * (q1 - q0) + halo, p->cs);
    if (pool_c1_fits(p)) {
        pool_c1(k, p, slab, y, q0, q1);
        return;
    }
    const __m256i eo = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256 zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    const int64_t taps = p->kdim;
    for (int64_t m0 = 0; m0 < p->M; m0 += TC) {
        const float *w = p->wp + (m0 / TC) * taps * DIRECT_MB;
        const int64_t mend = p->M - m0 < TC ? p->M - m0 : TC;
        for (int64_t q = 0; q < q1 - q0; q++)
            for (int64_t x0 = 0; x0 < 2 * PWo; x0 += 8) {
                const float *base[3] = {slab + 2 * q * PW + x0, slab + (2 * q + 1) * PW + x0, NULL};
                __m256 acc[TC][TV];
                direct_kernel(2, base, p->off, taps, w, acc);
                const int64_t n = PWo - x0 / 2 < 4 ? PWo - x0 / 2 : 4;
                float *d0 = y + m0 * p->ysp + (q0 + q) * PWo + x0 / 2;
                /* unrolled with constant indices: acc stays in registers */
#pragma GCC unroll 8
                for (int i = 0; i < TC; i++) {
                    if (i >= mend)
                        break;
                    const __m256 b = _mm256_broadcast_ss(p->bias + m0 + i);
                    __m256 r[2] = {act_vec(k->act, _mm256_add_ps(acc[i][0], b), zero, lo, hi),
                                   act_vec(k->act, _mm256_add_ps(acc[i][1], b), zero, lo, hi)};
                    if (late)
                        act_late8(k, r, 2);
                    /* rows, then the column pairs: even lanes against odd lanes */
                    const __m256 v = _mm256_permutevar8x32_ps(_mm256_max_ps(r[0], r[1]), eo);
                    const __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
                    float *d = d0 + i * p->ysp;
                    if (n == 4)
                        _mm_storeu_ps(d, h);
                    else
                        _mm_maskstore_ps(d, _mm256_castsi256_si128(e2e_lane_mask8(n)), h);
                }
            }
    }
}

/* Winograd F(2x2, 3x3) in 8 lanes. V = B^T d B for the tiles of tile rows [0, rows) of the
   slab, 8 tiles of one tile row per vector (twp is a multiple of 8). The even/odd columns
   come from in-lane shuffles, so the tiles of a vector are in the order 0 1 4 5 2 3 6 7:
   every later step is lane-wise, and the output transform's unpack (or one permute) puts
   them back in order. */
static void wino_input(const conv_priv *p, const float *slab, float *V, int64_t rows, int64_t cs)
{
    const int64_t PW = p->pw, TW = p->twp, TP = p->tpad, xs = p->vxs;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t t0 = 0; t0 < TW; t0 += 8) {
                const float *q = slab + c * cs + 2 * r * PW + 2 * t0;
                __m256 d[4][4];
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    const float *qi = q + i * PW;
                    __m256 a0 = _mm256_loadu_ps(qi), a1 = _mm256_loadu_ps(qi + 8);
                    __m256 b0 = _mm256_loadu_ps(qi + 2), b1 = _mm256_loadu_ps(qi + 10);
                    __m256 e0 = _mm256_shuffle_ps(a0, a1, 0x88), o0 = _mm256_shuffle_ps(a0, a1, 0xDD);
                    __m256 e2 = _mm256_shuffle_ps(b0, b1, 0x88), o2 = _mm256_shuffle_ps(b0, b1, 0xDD);
                    /* d B: columns 0-2, 1+2, 2-1, 1-3 */
                    d[i][0] = _mm256_sub_ps(e0, e2);
                    d[i][1] = _mm256_add_ps(o0, e2);
                    d[i][2] = _mm256_sub_ps(e2, o0);
                    d[i][3] = _mm256_sub_ps(o0, o2);
                }
                float *v = V + c * TP + r * TW + t0;
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    /* B^T (d B): rows 0-2, 1+2, 2-1, 1-3 */
                    _mm256_storeu_ps(v + (0 * 4 + j) * xs, _mm256_sub_ps(d[0][j], d[2][j]));
                    _mm256_storeu_ps(v + (1 * 4 + j) * xs, _mm256_add_ps(d[1][j], d[2][j]));
                    _mm256_storeu_ps(v + (2 * 4 + j) * xs, _mm256_sub_ps(d[2][j], d[1][j]));
                    _mm256_storeu_ps(v + (3 * 4 + j) * xs, _mm256_sub_ps(d[1][j], d[3][j]));
                }
            }
}

/* The products of one xi: bx[i][j] = sum over the C channels c of w[c][i] * base[j][c * cstride]
   for WINO_G output channels by NV vectors of 8 tiles. */
ALWAYS_INLINE void wino_gemm(int NV, const float *base, int64_t cstride, int64_t C, const float *w,
                             float *bx)
{
    __m256 c[WINO_G][WINO_TV];
#pragma GCC unroll 4
    for (int i = 0; i < WINO_G; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            c[i][j] = _mm256_setzero_ps();
    for (int64_t t = 0; t < C; t++, w += WINO_G, base += cstride) {
        __m256 v[WINO_TV];
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            v[j] = _mm256_loadu_ps(base + 8 * j);
            /* keeps v[j] in a register: GCC would fold the load into each of the WINO_G
               FMAs, and the loads, not the FMAs, would set the pace */
            __asm__("" : "+x"(v[j]));
        }
#pragma GCC unroll 4
        for (int i = 0; i < WINO_G; i++) {
            const __m256 wi = _mm256_broadcast_ss(w + i);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++)
                c[i][j] = _mm256_fmadd_ps(wi, v[j], c[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < WINO_G; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            _mm256_storeu_ps(bx + (i * WINO_TV + j) * 8, c[i][j]);
}

/* The nx products of one register tile: cnt vectors of tiles from V (xi planes xs apart,
   channels TP apart) by the WINO_G channels of the packed weights w, into buf. Not inlined:
   the 12 accumulators, 3 inputs and the broadcast take all 16 ymm registers, and inside
   wino_chunk GCC kept one accumulator on the stack (a store and a load every step). */
static __attribute__((noinline)) void wino_products(int cnt, int nx, const float *V, int64_t xs,
                                                    int64_t TP, int64_t C, const float *w, float *buf)
{
    for (int xi = 0; xi < nx; xi++, V += xs, w += C * WINO_G, buf += WINO_BS) {
        if (cnt == 3)
            wino_gemm(3, V, TP, C, w, buf);
        else if (cnt == 2)
            wino_gemm(2, V, TP, C, w, buf);
        else
            wino_gemm(1, V, TP, C, w, buf);
    }
}

/* Output transform of the 8 tiles ty, tx .. tx + 7 (tile row, first column) for channel m from
   the 16 products in buf: bias, activation, stores. */
ALWAYS_INLINE void wino_output(const e2e_kernel *k, const conv_priv *p, const float *buf, int64_t m,
                               float *y, int64_t ty, int64_t tx)
{
    const int64_t OW = p->od[2], OH = p->od[1];
    __m256 s0[4], s1[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m256 m0 = _mm256_loadu_ps(buf + (0 * 4 + j) * WINO_BS), m1 = _mm256_loadu_ps(buf + (1 * 4 + j) * WINO_BS);
        __m256 m2 = _mm256_loadu_ps(buf + (2 * 4 + j) * WINO_BS), m3 = _mm256_loadu_ps(buf + (3 * 4 + j) * WINO_BS);
        s0[j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
        s1[j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
    }
    const __m256 b = _mm256_set1_ps(p->bias[m]), zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    __m256 y00 = _mm256_add_ps(_mm256_add_ps(s0[0], s0[1]), s0[2]);
    __m256 y01 = _mm256_sub_ps(_mm256_sub_ps(s0[1], s0[2]), s0[3]);
    __m256 y10 = _mm256_add_ps(_mm256_add_ps(s1[0], s1[1]), s1[2]);
    __m256 y11 = _mm256_sub_ps(_mm256_sub_ps(s1[1], s1[2]), s1[3]);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    float *ym = y + m * p->ysp;
    if (p->pool2) {
        /* each tile is one pooling window: rows ty < OH/2 and columns tx < OW/2 are kept */
        const int64_t PWo = OW / 2, n = PWo - tx < 8 ? PWo - tx : 8;
        if (ty >= OH / 2 || n <= 0)
            return;
        __m256 mx;
        if (k->act == E2E_ACT_NONE || k->act == E2E_ACT_RELU) {
            /* x -> x + b and ReLU never reverse an order (rounding included), so the bias
               and the activation go after the maximum: the same bits for finite values */
            mx = _mm256_max_ps(_mm256_max_ps(y00, y01), _mm256_max_ps(y10, y11));
            mx = act_vec(k->act, _mm256_add_ps(mx, b), zero, lo, hi);
        } else {
            __m256 yv[4] = {y00, y01, y10, y11};
            for (int i = 0; i < 4; i++)
                yv[i] = act_vec(k->act, _mm256_add_ps(yv[i], b), zero, lo, hi);
            if (late)
                act_late8(k, yv, 4);
            mx = _mm256_max_ps(_mm256_max_ps(yv[0], yv[1]), _mm256_max_ps(yv[2], yv[3]));
        }
        /* tiles 0 1 4 5 2 3 6 7 -> 0 .. 7 */
        mx = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mx), 0xD8));
        float *d = ym + ty * PWo + tx;
        if (n == 8)
            _mm256_storeu_ps(d, mx);
        else
            _mm256_maskstore_ps(d, e2e_lane_mask8(n), mx);
        return;
    }
    if (2 * ty >= OH || 2 * tx >= OW)
        return;
    y00 = _mm256_add_ps(y00, b);
    y01 = _mm256_add_ps(y01, b);
    y10 = _mm256_add_ps(y10, b);
    y11 = _mm256_add_ps(y11, b);
    /* unpacking the column pairs also undoes the tile order: columns 0-7, then 8-15 */
    const int64_t n = OW - 2 * tx < 16 ? OW - 2 * tx : 16;
    __m256 r[2][2] = {{_mm256_unpacklo_ps(y00, y01), _mm256_unpackhi_ps(y00, y01)},
                      {_mm256_unpacklo_ps(y10, y11), _mm256_unpackhi_ps(y10, y11)}};
    for (int i = 0; i < 2 && 2 * ty + i < OH; i++) {
        float *d = ym + (2 * ty + i) * OW + 2 * tx;
        for (int h = 0; h < 2; h++) {
            const int64_t c = n - 8 * h;
            const __m256 v = act_vec(k->act, r[i][h], zero, lo, hi);
            if (c >= 8)
                _mm256_storeu_ps(d + 8 * h, v);
            else if (c > 0)
                _mm256_maskstore_ps(d + 8 * h, e2e_lane_mask8(c), v);
        }
        if (late)
            e2e_act_apply(k->act, k->act_alpha, k->act_beta, d, n);
    }
}

/* Winograd F(4x4, 3x3) in 8 lanes (wf = 4): 6x6 input tiles at a stride of 4, 36 products per
   4x4 outputs (2.25 per output instead of F(2x2)'s 4; the transforms cost about the same per
   output). B^T, G and A^T are the usual ones for the points 0, +-1, +-2 (Lavin & Gray).
   Vectors hold 8 tiles of one tile row in the order 0 2 4 6 1 3 5 7, which is what an
   in-lane 4x4 transpose of 32 consecutive floats gives, and what its inverse puts back. */

/* The 1-D input transform B^T d of 6 vectors. */
ALWAYS_INLINE void wino4_bt(const __m256 d[6], __m256 o[6])
{
    const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f);
    const __m256 a = _mm256_fnmadd_ps(four, d[2], d[4]), b = _mm256_fnmadd_ps(four, d[1], d[3]);
    const __m256 c = _mm256_sub_ps(d[4], d[2]), e = _mm256_sub_ps(d[3], d[1]);
    o[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
    o[1] = _mm256_add_ps(a, b);
    o[2] = _mm256_sub_ps(a, b);
    o[3] = _mm256_fmadd_ps(two, e, c);
    o[4] = _mm256_fnmadd_ps(two, e, c);
    o[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

/* The 1-D output transform A^T m of 6 vectors. */
ALWAYS_INLINE void wino4_at(const __m256 m[6], __m256 o[4])
{
    const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), d34, d12);
    o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), s34, s12);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), d34, d12), m[5]);
}

/* In-lane 4x4 transposes: rows r[0..3] of 8 floats -> columns. */
ALWAYS_INLINE void wino4_transpose(const __m256 r[4], __m256 o[4])
{
    const __m256 u0 = _mm256_unpacklo_ps(r[0], r[1]), u1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 u2 = _mm256_unpacklo_ps(r[2], r[3]), u3 = _mm256_unpackhi_ps(r[2], r[3]);
    o[0] = _mm256_shuffle_ps(u0, u2, 0x44);
    o[1] = _mm256_shuffle_ps(u0, u2, 0xEE);
    o[2] = _mm256_shuffle_ps(u1, u3, 0x44);
    o[3] = _mm256_shuffle_ps(u1, u3, 0xEE);
}

/* V = B^T d B for the tiles of tile rows [0, rows) of the slab. */
static void wino4_input(const conv_priv *p, const float *slab, float *V, int64_t rows, int64_t cs)
{
    const int64_t PW = p->pw, TW = p->twp, TP = p->tpad, xs = p->vxs;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t t0 = 0; t0 < TW; t0 += 8) {
                const float *q = slab + c * cs + 4 * r * PW + 4 * t0;
                __m256 e[6][6]; /* e[k][i]: column k of row i of d B */
                for (int i = 0; i < 6; i++) {
                    const float *qi = q + i * PW;
                    __m256 l[4], h[4], d[6], o[6];
#pragma GCC unroll 4
                    for (int u = 0; u < 4; u++) {
                        l[u] = _mm256_loadu_ps(qi + 8 * u);
                        h[u] = _mm256_loadu_ps(qi + 8 * u + 4);
                    }
                    wino4_transpose(l, d);
                    const __m256 u0 = _mm256_unpacklo_ps(h[0], h[1]), u2 = _mm256_unpacklo_ps(h[2], h[3]);
                    d[4] = _mm256_shuffle_ps(u0, u2, 0x44);
                    d[5] = _mm256_shuffle_ps(u0, u2, 0xEE);
                    wino4_bt(d, o);
#pragma GCC unroll 6
                    for (int k = 0; k < 6; k++)
                        e[k][i] = o[k];
                }
                float *v = V + c * TP + r * TW + t0;
                for (int k = 0; k < 6; k++) {
                    __m256 o[6];
                    wino4_bt(e[k], o);
#pragma GCC unroll 6
                    for (int i = 0; i < 6; i++)
                        _mm256_storeu_ps(v + (i * 6 + k) * xs, o[i]);
                }
            }
}

/* Output transform of the 8 tiles ty, tx .. tx + 7 for channel m from the 36 products in
   buf: bias, activation, pooling or not, stores. */
static void wino4_output(const e2e_kernel *k, const conv_priv *p, const float *buf, int64_t m,
                         float *y, int64_t ty, int64_t tx)
{
    const int64_t OW = p->od[2], OH = p->od[1];
    __m256 u[4][6]; /* u[c][a] = (m A)[a][c] */
    for (int a = 0; a < 6; a++) {
        __m256 r[6], o[4];
#pragma GCC unroll 6
        for (int b = 0; b < 6; b++)
            r[b] = _mm256_loadu_ps(buf + (a * 6 + b) * WINO_BS);
        wino4_at(r, o);
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
            u[c][a] = o[c];
    }
    const __m256 bias = _mm256_set1_ps(p->bias[m]), zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    __m256 yv[4][4]; /* yv[row][col] */
    for (int c = 0; c < 4; c++) {
        __m256 o[4];
        wino4_at(u[c], o);
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            yv[r][c] = act_vec(k->act, _mm256_add_ps(o[r], bias), zero, lo, hi);
    }
    float *ym = y + m * p->ysp;
    if (p->pool2) {
        const int64_t PWo = OW / 2, PHo = OH / 2, n = PWo - 2 * tx < 16 ? PWo - 2 * tx : 16;
        if (n <= 0)
            return;
        if (late)
            act_late8(k, yv[0], 16);
        for (int r = 0; r < 2 && 2 * ty + r < PHo; r++) {
            const __m256 p0 = _mm256_max_ps(_mm256_max_ps(yv[2 * r][0], yv[2 * r][1]),
                                            _mm256_max_ps(yv[2 * r + 1][0], yv[2 * r + 1][1]));
            const __m256 p1 = _mm256_max_ps(_mm256_max_ps(yv[2 * r][2], yv[2 * r][3]),
                                            _mm256_max_ps(yv[2 * r + 1][2], yv[2 * r + 1][3]));
            /* pairs of pooled columns per tile, tiles 0 2 1 3 and 4 6 5 7 -> in order */
            const __m256 a = _mm256_castpd_ps(
                _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_unpacklo_ps(p0, p1)), 0xD8));
            const __m256 b = _mm256_castpd_ps(
                _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_unpackhi_ps(p0, p1)), 0xD8));
            float *d = ym + (2 * ty + r) * PWo + 2 * tx;
            if (n == 16) {
                _mm256_storeu_ps(d, a);
                _mm256_storeu_ps(d + 8, b);
            } else {
                _mm256_maskstore_ps(d, e2e_lane_mask8(n), a);
                if (n > 8)
                    _mm256_maskstore_ps(d + 8, e2e_lane_mask8(n - 8), b);
            }
        }
        return;
    }
    const int64_t n = OW - 4 * tx < 32 ? OW - 4 * tx : 32;
    if (n <= 0)
        return;
    for (int r = 0; r < 4 && 4 * ty + r < OH; r++) {
        __m256 z[4];
        wino4_transpose(yv[r], z);
        float *d = ym + (4 * ty + r) * OW + 4 * tx;
#pragma GCC unroll 4
        for (int h = 0; h < 4; h++) {
            const int64_t cnt = n - 8 * h;
            if (cnt >= 8)
                _mm256_storeu_ps(d + 8 * h, z[h]);
            else if (cnt > 0)
                _mm256_maskstore_ps(d + 8 * h, e2e_lane_mask8(cnt), z[h]);
        }
        if (late)
            e2e_act_apply(k->act, k->act_alpha, k->act_beta, d, n);
    }
}

/* Tile rows [ty0, ty1) of one image, F(2x2) or F(4x4) (p->wf): input transform into V, then
   per WINO_G output channels and WINO_TV vectors of tiles the 16 or 36 products over the
   channels, then the output transform. */
static void wino_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y, float *ws,
                       int64_t ty0, int64_t ty1)
{
    const int wf = p->wf, nx = (wf + 2) * (wf + 2);
    const int64_t rows = ty1 - ty0, cs = (wf * p->rows + 4) * p->pw, C = p->C;
    float *V = ws + p->v_at, *buf = ws + p->buf_at;
    pad_rows(p, x, ws, wf * ty0 - p->pad_t, wf * rows + 2, cs);
    if (wf == 4)
        wino4_input(p, ws, V, rows, cs);
    else
        wino_input(p, ws, V, rows, cs);
    const int64_t nv = rows * p->twp / 8, xs = p->vxs, TP = p->tpad;
    for (int64_t m0 = 0; m0 < p->M; m0 += WINO_G) {
        const int64_t mend = p->M - m0 < WINO_G ? p->M - m0 : WINO_G;
        for (int64_t v = 0; v < nv; v += WINO_TV) {
            const int cnt = nv - v < WINO_TV ? (int)(nv - v) : WINO_TV;
            wino_products(cnt, nx, V + v * 8, xs, TP, C, p->wp + (m0 / WINO_G) * nx * C * WINO_G, buf);
            /* tile row and column of each vector's first tile: one division per vector, not
               per channel (a 64-bit division takes tens of cycles) */
            int64_t ty[WINO_TV], tx[WINO_TV];
            for (int j = 0; j < cnt; j++) {
                ty[j] = ty0 + (v + j) * 8 / p->twp;
                tx[j] = (v + j) * 8 % p->twp;
            }
            for (int64_t i = 0; i < mend; i++)
                for (int j = 0; j < cnt; j++) {
                    const float *b = buf + (i * WINO_TV + j) * 8;
                    if (wf == 4)
                        wino4_output(k, p, b, m0 + i, y, ty[j], tx[j]);
                    else
                        wino_output(k, p, b, m0 + i, y, ty[j], tx[j]);
                }
        }
    }
}
#undef TC
#undef TV

/* 8 tiles of one tile row per vector: Winograd where at least 60% of the lanes hold tiles;
   F(4x4) with optimize >= 2 where rows hold enough 4-wide tiles. */
static int wino_tile(const e2e_kernel *k, const conv_priv *p, bool pooled)
{
    (void)pooled;
    if (p->C < WINO_MIN_C || p->M < 8)
        return 0;
    const int64_t t4 = (p->od[2] + 3) / 4, t2 = (p->od[2] + 1) / 2;
    if (k->ctx->optimize >= 2 && p->od[1] >= 4 && t4 * 10 >= ((t4 + 7) & ~(int64_t)7) * 6)
        return 4;
    return t2 * 10 >= ((t2 + 7) & ~(int64_t)7) * 6 ? 2 : 0;
}

/* No NaN or Inf in x[0..n): x - x is 0 for finite x, NaN otherwise. */
static bool all_finite(const float *x, int64_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
        a0 = _mm256_add_ps(a0, _mm256_sub_ps(v0, v0));
        a1 = _mm256_add_ps(a1, _mm256_sub_ps(v1, v1));
    }
    for (; i < n; i += 8) {
        const __m256 v = _mm256_maskload_ps(x + i, e2e_lane_mask8(n - i));
        a0 = _mm256_add_ps(a0, _mm256_sub_ps(v, v));
    }
    a0 = _mm256_add_ps(a0, a1);
    return _mm256_movemask_ps(_mm256_cmp_ps(a0, a0, _CMP_UNORD_Q)) == 0;
}

const e2e_conv_kernels e2e_conv_avx2 = {8, DIRECT_G, WINO_G, wino_tile, direct_chunk,
                                        direct_chunk_pool, wino_chunk, all_finite};
