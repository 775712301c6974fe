/* Conv's AVX-512 kernels (16 lanes; conv_internal.h, the algorithms in ops_conv.c): the
   direct kernel's register tile is DIRECT_MB = 8 output channels by up to 3 vectors of 16
   pixels (24 accumulators); Winograd F(2x2, 3x3) uses the same tile for its products, 16 tiles
   per vector. Compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma. */
#include <immintrin.h>

#include "ops/conv_internal.h"
#include "ops/x86/simd_avx512.h"

#define ALWAYS_INLINE CONV_INLINE
/* the product buffer: DIRECT_MB channels by WINO_TV vectors of 16 tiles per xi */
#define WINO_BS (DIRECT_MB * WINO_TV * 16)

/* One padded row (conv_pad_rows) when the left padding is under 16: rows are short (a few
   hundred floats at most), so each vector of the padded row is written once, from a masked
   load of the source (the first vector expands the row's first floats into lanes nl..).
   Three library calls per row were ~10% of the jet conv1. */
static inline bool pad_row(float *d, const float *s, int64_t nl, int64_t nm, int64_t PW)
{
    if (nl >= 16)
        return false;
    const int64_t f = nm < 16 - nl ? nm : 16 - nl; /* source floats in vector 0 */
    const __mmask16 m0 = (__mmask16)(((1u << f) - 1) << nl);
    const __mmask16 w0 = PW >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << PW) - 1);
    _mm512_mask_storeu_ps(d, w0, _mm512_maskz_expandloadu_ps(m0, s));
    for (int64_t j = 16; j < PW; j += 16) {
        const int64_t o = j - nl, left = nm - o, room = PW - j;
        const __mmask16 lm = left >= 16 ? (__mmask16)0xFFFF
                             : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
        const __mmask16 wm = room >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << room) - 1);
        _mm512_mask_storeu_ps(d + j, wm, _mm512_maskz_loadu_ps(lm, left > 0 ? s + o : s));
    }
    return true;
}

static void pad_rows(const conv_priv *p, const float *x, float *slab, int64_t iy0, int64_t n,
                     int64_t cs)
{
    conv_pad_rows(p, x, slab, iy0, n, cs, pad_row);
}

/* acc[i][j] = sum over taps t of w[t][i] * base[j][off[t] + lane]: 8 output channels by NV
   vectors of 16 pixels. */
ALWAYS_INLINE void direct_kernel(int NV, const float *const *base, const int32_t *off, int64_t taps,
                                 const float *w, __m512 acc[DIRECT_MB][3])
{
#pragma GCC unroll 8
    for (int i = 0; i < DIRECT_MB; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            acc[i][j] = _mm512_setzero_ps();
    const float *b0 = base[0], *b1 = base[NV > 1 ? 1 : 0], *b2 = base[NV > 2 ? 2 : 0];
    for (int64_t t = 0; t < taps; t++, w += DIRECT_MB) {
        const int64_t o = off[t];
        __m512 v[3];
        v[0] = _mm512_loadu_ps(b0 + o);
        if (NV > 1)
            v[1] = _mm512_loadu_ps(b1 + o);
        if (NV > 2)
            v[2] = _mm512_loadu_ps(b2 + o);
#pragma GCC unroll 8
        for (int i = 0; i < DIRECT_MB; i++) {
            const __m512 wi = _mm512_set1_ps(w[i]);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++)
                acc[i][j] = _mm512_fmadd_ps(wi, v[j], acc[i][j]);
        }
    }
}

/* The activations done in registers (the others are applied to the stored values). */
ALWAYS_INLINE __m512 act_vec(e2e_act act, __m512 r, __m512 zero, __m512 lo, __m512 hi)
{
    switch (act) {
    case E2E_ACT_RELU:
        return _mm512_max_ps(zero, r); /* this order keeps a NaN in r */
    case E2E_ACT_LEAKY_RELU:
        return _mm512_mask_mul_ps(r, _mm512_cmp_ps_mask(r, zero, _CMP_LT_OQ), r, lo);
    case E2E_ACT_CLIP:
        return _mm512_min_ps(hi, _mm512_max_ps(lo, r)); /* = the Clip kernel's x < lo ? lo : x, then v > hi ? hi : v */
    default:
        return r;
    }
}

/* Adds the bias, applies the activation and stores the outputs of channels m0.. (< M). */
ALWAYS_INLINE void direct_store(const e2e_kernel *k, const conv_priv *p, int NV, __m512 acc[DIRECT_MB][3],
                                int64_t m0, float *y, const int64_t *pos, const __mmask16 *mask)
{
    const __m512 zero = _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(k->act_alpha), hi = _mm512_set1_ps(k->act_beta);
    const int64_t mend = p->M - m0 < DIRECT_MB ? p->M - m0 : DIRECT_MB;
    for (int64_t i = 0; i < mend; i++) {
        const __m512 b = _mm512_set1_ps(p->bias[m0 + i]);
        float *ym = y + (m0 + i) * p->ysp;
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            __m512 r = act_vec(k->act, _mm512_add_ps(acc[i][j], b), zero, lo, hi);
            _mm512_mask_storeu_ps(ym + pos[j], mask[j], r);
            if (k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU)
                e2e_act_apply(k->act, k->act_alpha, k->act_beta, ym + pos[j],
                              __builtin_popcount(mask[j]));
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
    const int64_t vpr = (OW + 15) / 16, nv = (oy1 - oy0) * vpr, taps = p->kdim;
    for (int64_t m0 = 0; m0 < p->M; m0 += DIRECT_MB) {
        const float *w = p->wp + (m0 / DIRECT_MB) * taps * DIRECT_MB;
        for (int64_t v = 0; v < nv; v += 3) {
            const int cnt = nv - v < 3 ? (int)(nv - v) : 3;
            const float *base[3];
            int64_t pos[3];
            __mmask16 mask[3];
            for (int j = 0; j < cnt; j++) {
                int64_t row = (v + j) / vpr, x0 = ((v + j) % vpr) * 16;
                base[j] = slab + row * PW + x0;
                pos[j] = (oy0 + row) * OW + x0;
                mask[j] = OW - x0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (OW - x0)) - 1);
            }
            __m512 acc[DIRECT_MB][3];
            if (cnt == 3) {
                direct_kernel(3, base, p->off, taps, w, acc);
                direct_store(k, p, 3, acc, m0, y, pos, mask);
            } else if (cnt == 2) {
                direct_kernel(2, base, p->off, taps, w, acc);
                direct_store(k, p, 2, acc, m0, y, pos, mask);
            } else {
                direct_kernel(1, base, p->off, taps, w, acc);
                direct_store(k, p, 1, acc, m0, y, pos, mask);
            }
        }
    }
}

/* V = B^T d B for the tiles of tile rows [0, rows) of the slab, channel by channel: tile
   (r, tx) lands at V[xi][c][r * twp + tx]. A vector holds 16 tiles of one tile row, or with
   twp = 8 tiles 0-7 of two tile rows (the second half of the columns is then read two input
   rows further down instead of 16 columns to the right). */
static void wino_input(const conv_priv *p, const float *slab, float *V, int64_t rows, int64_t cs)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t PW = p->pw, TW = p->twp, TP = p->tpad, xs = p->vxs;
    const bool pairs = p->twp == 8;
    const int64_t half = pairs ? 2 * PW : 16, rstep = pairs ? 2 : 1;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t r = 0; r < rows; r += rstep)
            for (int64_t t0 = 0; t0 < TW; t0 += 16) {
                const float *q = slab + c * cs + 2 * r * PW + 2 * t0;
                __m512 d[4][4];
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    const float *qi = q + i * PW;
                    __m512 a0 = _mm512_loadu_ps(qi), a1 = _mm512_loadu_ps(qi + half);
                    __m512 b0 = _mm512_loadu_ps(qi + 2), b1 = _mm512_loadu_ps(qi + half + 2);
                    __m512 e0 = _mm512_permutex2var_ps(a0, ev, a1), o0 = _mm512_permutex2var_ps(a0, od, a1);
                    __m512 e2 = _mm512_permutex2var_ps(b0, ev, b1), o2 = _mm512_permutex2var_ps(b0, od, b1);
                    /* d B: columns 0-2, 1+2, 2-1, 1-3 */
                    d[i][0] = _mm512_sub_ps(e0, e2);
                    d[i][1] = _mm512_add_ps(o0, e2);
                    d[i][2] = _mm512_sub_ps(e2, o0);
                    d[i][3] = _mm512_sub_ps(o0, o2);
                }
                const int64_t left = pairs ? 16 : TW - t0;
                const __mmask16 mk = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                float *v = V + c * TP + r * TW + t0;
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    /* B^T (d B): rows 0-2, 1+2, 2-1, 1-3 */
                    _mm512_mask_storeu_ps(v + (0 * 4 + j) * xs, mk, _mm512_sub_ps(d[0][j], d[2][j]));
                    _mm512_mask_storeu_ps(v + (1 * 4 + j) * xs, mk, _mm512_add_ps(d[1][j], d[2][j]));
                    _mm512_mask_storeu_ps(v + (2 * 4 + j) * xs, mk, _mm512_sub_ps(d[2][j], d[1][j]));
                    _mm512_mask_storeu_ps(v + (3 * 4 + j) * xs, mk, _mm512_sub_ps(d[1][j], d[3][j]));
                }
            }
}

/* Writes floats [2*l0, 2*l1) of the interleaved pair (e0 = tiles 0-7, e1 = tiles 8-15), at
   most n of them, to dst. */
ALWAYS_INLINE void wino_put(float *dst, __m512 e0, __m512 e1, int l0, int l1, int n)
{
    int a = 2 * l0, b = 2 * l1;
    if (b - a > n)
        b = a + n;
    if (a < 16) {
        int e = b < 16 ? b : 16;
        __mmask16 m = (__mmask16)(((1u << e) - 1) & ~((1u << a) - 1));
        __m512 v = a ? _mm512_maskz_compress_ps(m, e0) : e0;
        _mm512_mask_storeu_ps(dst, (__mmask16)((1u << (e - a)) - 1), v);
        dst += e - a;
        a = e;
    }
    if (b > 16) {
        a -= 16;
        b -= 16;
        __mmask16 m = (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1));
        __m512 v = a ? _mm512_maskz_compress_ps(m, e1) : e1;
        _mm512_mask_storeu_ps(dst, (__mmask16)((1u << (b - a)) - 1), v);
    }
}

/* Output transform of one vector of 16 flat tiles [f0, f0 + 16) for channel m from the 16
   products in buf (stride WINO_BS floats between xi): bias, activation, stores. */
ALWAYS_INLINE void wino_output(const e2e_kernel *k, const conv_priv *p, const float *buf, int64_t m,
                               float *y, int64_t ty0, int64_t f0, int64_t nt)
{
    const int64_t bs = WINO_BS, OW = p->od[2], OH = p->od[1], TW = p->twp;
    const __m512 b = _mm512_set1_ps(p->bias[m]), zero = _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(k->act_alpha), hi = _mm512_set1_ps(k->act_beta);
    __m512 q[4];
    e2e_wino_out16(buf, bs, b, q);
    __m512 y00 = q[0], y01 = q[1], y10 = q[2], y11 = q[3];
    y00 = act_vec(k->act, y00, zero, lo, hi);
    y01 = act_vec(k->act, y01, zero, lo, hi);
    y10 = act_vec(k->act, y10, zero, lo, hi);
    y11 = act_vec(k->act, y11, zero, lo, hi);
    if (p->pool2) {
        /* each tile is one pooling window: rows ty < OH/2 and columns tx < OW/2 are kept */
        if (k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU) {
            float t[4][16];
            _mm512_storeu_ps(t[0], y00);
            _mm512_storeu_ps(t[1], y01);
            _mm512_storeu_ps(t[2], y10);
            _mm512_storeu_ps(t[3], y11);
            e2e_act_apply(k->act, k->act_alpha, k->act_beta, t[0], 64);
            y00 = _mm512_loadu_ps(t[0]);
            y01 = _mm512_loadu_ps(t[1]);
            y10 = _mm512_loadu_ps(t[2]);
            y11 = _mm512_loadu_ps(t[3]);
        }
        const __m512 mx = _mm512_max_ps(_mm512_max_ps(y00, y01), _mm512_max_ps(y10, y11));
        const int64_t PWo = OW / 2, PHo = OH / 2;
        float *yp = y + m * p->ysp;
        for (int64_t l = 0; l < 16 && f0 + l < nt;) {
            int64_t f = f0 + l, ty = ty0 + f / TW, tx = f % TW;
            int64_t run = TW - tx;
            if (run > 16 - l)
                run = 16 - l;
            if (run > nt - f)
                run = nt - f;
            int64_t n = PWo - tx < run ? PWo - tx : run;
            if (n > 0 && ty < PHo) {
                __mmask16 sel = (__mmask16)(((1u << (l + n)) - 1) & ~((1u << l) - 1));
                __m512 v = l ? _mm512_maskz_compress_ps(sel, mx) : mx;
                _mm512_mask_storeu_ps(yp + ty * PWo + tx, (__mmask16)((1u << n) - 1), v);
            }
            l += run;
        }
        return;
    }
    const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ih = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    __m512 a0 = _mm512_permutex2var_ps(y00, il, y01), a1 = _mm512_permutex2var_ps(y00, ih, y01);
    __m512 b0 = _mm512_permutex2var_ps(y10, il, y11), b1 = _mm512_permutex2var_ps(y10, ih, y11);
    float *ym = y + m * p->ysp;
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    /* the tiles of the vector, tile row by tile row */
    for (int64_t l = 0; l < 16 && f0 + l < nt;) {
        int64_t f = f0 + l, ty = ty0 + f / TW, tx = f % TW;
        int64_t run = TW - tx;
        if (run > 16 - l)
            run = 16 - l;
        if (run > nt - f)
            run = nt - f;
        int n = (int)(OW - 2 * tx < 2 * run ? OW - 2 * tx : 2 * run);
        if (n <= 0 || 2 * ty >= OH) { /* tiles past the row's end (twp > tw) */
            l += run;
            continue;
        }
        float *d0 = ym + 2 * ty * OW + 2 * tx;
        wino_put(d0, a0, a1, (int)l, (int)(l + run), n);
        if (late)
            e2e_act_apply(k->act, k->act_alpha, k->act_beta, d0, n);
        if (2 * ty + 1 < OH) {
            wino_put(d0 + OW, b0, b1, (int)l, (int)(l + run), n);
            if (late)
                e2e_act_apply(k->act, k->act_alpha, k->act_beta, d0 + OW, n);
        }
        l += run;
    }
}

/* Tile rows [ty0, ty1) of one image. */
static void wino_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y, float *ws,
                       int64_t ty0, int64_t ty1)
{
    const int64_t rows = ty1 - ty0, cs = (2 * p->rows + 4) * p->pw, C = p->C;
    float *V = ws + p->v_at, *buf = ws + p->buf_at;
    pad_rows(p, x, ws, 2 * ty0 - p->pad_t, 2 * rows + 2, cs);
    wino_input(p, ws, V, rows, cs);
    const int64_t nt = rows * p->twp, nv = (nt + 15) / 16, xs = p->vxs;
    const int64_t bs = WINO_BS;
    for (int64_t m0 = 0; m0 < p->M; m0 += DIRECT_MB) {
        const int64_t mend = p->M - m0 < DIRECT_MB ? p->M - m0 : DIRECT_MB;
        for (int64_t v = 0; v < nv; v += 3) {
            const int cnt = nv - v < 3 ? (int)(nv - v) : 3;
            for (int xi = 0; xi < 16; xi++) {
                const float *w = p->wp + ((m0 / DIRECT_MB) * 16 + xi) * C * DIRECT_MB;
                const float *base[3];
                for (int j = 0; j < cnt; j++)
                    base[j] = V + xi * xs + (v + j) * 16;
                __m512 acc[DIRECT_MB][3];
                float *bx = buf + xi * bs;
                if (cnt == 3) {
                    direct_kernel(3, base, p->off, C, w, acc);
#pragma GCC unroll 8
                    for (int i = 0; i < DIRECT_MB; i++)
#pragma GCC unroll 3
                        for (int j = 0; j < 3; j++)
                            _mm512_storeu_ps(bx + (i * 3 + j) * 16, acc[i][j]);
                } else if (cnt == 2) {
                    direct_kernel(2, base, p->off, C, w, acc);
#pragma GCC unroll 8
                    for (int i = 0; i < DIRECT_MB; i++)
#pragma GCC unroll 2
                        for (int j = 0; j < 2; j++)
                            _mm512_storeu_ps(bx + (i * 3 + j) * 16, acc[i][j]);
                } else {
                    direct_kernel(1, base, p->off, C, w, acc);
#pragma GCC unroll 8
                    for (int i = 0; i < DIRECT_MB; i++)
                        _mm512_storeu_ps(bx + i * 3 * 16, acc[i][0]);
                }
            }
            for (int64_t i = 0; i < mend; i++)
                for (int j = 0; j < cnt; j++)
                    wino_output(k, p, buf + (i * 3 + j) * 16, m0 + i, y, ty0, (v + j) * 16, nt);
        }
    }
}

/* ConvMaxPool on the direct kernel: row pairs [q0, q1) of one image (output rows 2*q0 ..),
   two vectors per step (the same 16 columns of both rows of a pair), pooled in registers. */
static void direct_chunk_pool(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                              float *slab, int64_t q0, int64_t q1)
{
    const int64_t OW = p->od[2], PW = p->pw, PWo = OW / 2;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    pad_rows(p, x, slab, 2 * q0 - p->pad_t, 2 * (q1 - q0) + halo, p->cs);
    const __m512i pe = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i po = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512 zero = _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(k->act_alpha), hi = _mm512_set1_ps(k->act_beta);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    const int64_t taps = p->kdim;
    for (int64_t m0 = 0; m0 < p->M; m0 += DIRECT_MB) {
        const float *w = p->wp + (m0 / DIRECT_MB) * taps * DIRECT_MB;
        const int64_t mend = p->M - m0 < DIRECT_MB ? p->M - m0 : DIRECT_MB;
        for (int64_t q = 0; q < q1 - q0; q++)
            for (int64_t x0 = 0; x0 < 2 * PWo; x0 += 16) {
                const float *base[3] = {slab + 2 * q * PW + x0, slab + (2 * q + 1) * PW + x0, NULL};
                __m512 acc[DIRECT_MB][3];
                direct_kernel(2, base, p->off, taps, w, acc);
                const int64_t n = PWo - x0 / 2 < 8 ? PWo - x0 / 2 : 8;
                const __mmask16 sm = (__mmask16)((1u << n) - 1);
                for (int64_t i = 0; i < mend; i++) {
                    const __m512 b = _mm512_set1_ps(p->bias[m0 + i]);
                    __m512 r0 = act_vec(k->act, _mm512_add_ps(acc[i][0], b), zero, lo, hi);
                    __m512 r1 = act_vec(k->act, _mm512_add_ps(acc[i][1], b), zero, lo, hi);
                    if (late) {
                        float t[2][16];
                        _mm512_storeu_ps(t[0], r0);
                        _mm512_storeu_ps(t[1], r1);
                        e2e_act_apply(k->act, k->act_alpha, k->act_beta, t[0], 32);
                        r0 = _mm512_loadu_ps(t[0]);
                        r1 = _mm512_loadu_ps(t[1]);
                    }
                    const __m512 v = _mm512_max_ps(r0, r1);
                    const __m512 h = _mm512_max_ps(_mm512_permutexvar_ps(pe, v), _mm512_permutexvar_ps(po, v));
                    _mm512_mask_storeu_ps(y + (m0 + i) * p->ysp + (q0 + q) * PWo + x0 / 2, sm, h);
                }
            }
    }
}

/* Per output channel and 64 outputs the direct kernel spends ~18*C cycles; Winograd ~8*C on
   the products plus, measured, ~1.9 * (40*C/M + 30) on the transforms. Fused with the 2x2 max
   pool the output transform stores a quarter of the values: the jet conv1 (8 -> 16, 128x128)
   is ~10% faster with Winograd (paired runs, Sapphire Rapids-class Xeon), the same layer
   without the pool ~5% slower, 8 -> 8 with the pool ~20% slower. F(4x4) is not used here. */
static int wino_tile(const e2e_kernel *k, const conv_priv *p, bool pooled)
{
    (void)k;
    const int64_t C = p->C, M = p->M;
    const int64_t out_cost = pooled ? 30 : 57;
    return C >= 8 && M >= 8 && p->od[2] >= 4 && 10 * C * M > 76 * C + out_cost * M ? 2 : 0;
}

/* No NaN or Inf in x[0..n): x - x is 0 for finite x, NaN otherwise. */
static bool all_finite(const float *x, int64_t n)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
        a0 = _mm512_add_ps(a0, _mm512_sub_ps(v0, v0));
        a1 = _mm512_add_ps(a1, _mm512_sub_ps(v1, v1));
    }
    for (; i < n; i += 16) {
        const __m512 v = _mm512_maskz_loadu_ps(n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1), x + i);
        a0 = _mm512_add_ps(a0, _mm512_sub_ps(v, v));
    }
    a0 = _mm512_add_ps(a0, a1);
    return _mm512_cmp_ps_mask(a0, a0, _CMP_UNORD_Q) == 0;
}

const e2e_conv_kernels e2e_conv_avx512 = {16, DIRECT_MB, DIRECT_MB, wino_tile, direct_chunk,
                                          direct_chunk_pool, wino_chunk, all_finite};
