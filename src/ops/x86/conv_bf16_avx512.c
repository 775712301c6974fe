/* Convolutions with bfloat16 weights, AVX-512 BF16 (conv_internal.h, CONV_BF16): the padded
   input rows become 32-bit channel pairs (VCVTNEPS2BF16, round to nearest even, NaN kept),
   and a register tile of 8 output channels by 3 vectors of 16 flat positions (24
   accumulators) takes one VDPBF16PS per channel, vector and pair tap: twice the products of
   the float32 direct kernel's FMA. Only reached on CPUs with AVX512_BF16 (e2e_conv_bf16_for);
   compiled with the AVX-512 flags and -mavx512bf16. */
#include <immintrin.h>

#include "ops/conv_internal.h"
#include "ops/x86/simd_avx512.h"

#define MR E2E_CONV_BF16_MR

static inline __mmask16 lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* Cache lines to prefetch, a few per register tile: n streams of len bytes, stride apart
   (the next chunk's input rows per channel, then its output rows per channel). */
typedef struct pf_cursor {
    const char *base[2];
    int64_t len[2], stride[2], n[2];
    int64_t q;          /* lines per tile */
    int part, s;        /* stream part and index */
    int64_t off;        /* byte offset of the next line in the stream */
} pf_cursor;

static inline void pf_step(pf_cursor *c)
{
    for (int64_t i = 0; i < c->q && c->part < 2; i++) {
        if (c->s >= c->n[c->part]) {
            c->part++;
            c->s = 0;
            c->off = 0;
            i--;
            continue;
        }
        const char *b = c->base[c->part] + c->s * c->stride[c->part];
        if (c->off == 0)
            c->off = -(int64_t)((uintptr_t)b & 63); /* from the line holding the first byte */
        _mm_prefetch(b + c->off, _MM_HINT_T0);
        c->off += 64;
        if (c->off >= c->len[c->part]) {
            c->s++;
            c->off = 0;
        }
    }
}

/* a and b rounded to bfloat16 (VCVTNE2PS2BF16: halves 0-15 a, 16-31 b) and interleaved: lane
   i holds a[i] in its low and b[i] in its high half */
static inline __m512i pair16(__m512 a, __m512 b)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                         24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                         16, 0);
    return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(b, a));
}

/* Columns [j, j + 16) of one padded input row (nl zeros, nm floats of s, zeros after). */
static inline __m512 padded16(const float *s, int64_t j, int64_t nl, int64_t nm)
{
    if (j >= nl) {
        const int64_t o = j - nl, left = nm - o;
        if (left <= 0)
            return _mm512_setzero_ps();
        const __mmask16 lm = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        return _mm512_maskz_loadu_ps(lm, s + o);
    }
    const int64_t sh = nl - j; /* < 16 when j >= nl - 15 */
    if (sh >= 16)
        return _mm512_setzero_ps();
    const int64_t f = nm < 16 - sh ? nm : 16 - sh;
    if (f <= 0)
        return _mm512_setzero_ps();
    return _mm512_maskz_expandloadu_ps((__mmask16)(((1u << f) - 1) << sh), s);
}

/* Input rows [iy0, iy0 + n) of channels 2c, 2c + 1 as bfloat16 pairs, pw per row. */
static void fill_slab(const conv_priv *p, const float *x, uint32_t *slab, int64_t iy0, int64_t n)
{
    const int64_t IH = p->id[1], IW = p->id[2], PW = p->pw;
    const int64_t nl = p->pad_l < PW ? p->pad_l : PW;
    const int64_t nm = IW < PW - nl ? IW : PW - nl;
    for (int64_t c = 0; c < p->cp; c++) {
        const bool two = 2 * c + 1 < p->C;
        for (int64_t sr = 0; sr < n; sr++) {
            const int64_t iy = iy0 + sr;
            uint32_t *d = slab + c * p->cs + sr * PW;
            if (iy < 0 || iy >= IH) {
                memset(d, 0, sizeof(uint32_t) * (size_t)PW);
                continue;
            }
            const float *s0 = x + 2 * c * p->isp + iy * IW, *s1 = s0 + p->isp;
            for (int64_t j = 0; j < PW; j += 16) {
                const __m512 a = padded16(s0, j, nl, nm);
                const __m512 b = two ? padded16(s1, j, nl, nm) : _mm512_setzero_ps();
                const __m512i v = pair16(a, b);
                const int64_t room = PW - j;
                const __mmask16 wm = room >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << room) - 1);
                _mm512_mask_storeu_epi32(d + j, wm, v);
            }
        }
    }
}

/* The lone channel's row pairs (lone_v) and column pairs (lone_h) from its (C - 1, zero) pairs
   in region cp - 1: d[i] = s[i] | s[i + sh] << 16, the high half zero past len. */
static void lone_pairs(const conv_priv *p, uint32_t *slab, int64_t len)
{
    const uint32_t *s = slab + (p->cp - 1) * p->cs;
    for (int v = 0; v < p->lone_v + p->lone_h; v++) {
        uint32_t *d = slab + (p->cp + v) * p->cs;
        const int64_t sh = v < p->lone_v ? p->dl[1] * p->pw : p->dl[2];
        for (int64_t i = 0; i < len; i += 16) {
            const __mmask16 m = lanes(len - i), mh = i + sh < len ? lanes(len - i - sh) : 0;
            const __m512i lo = _mm512_maskz_loadu_epi32(m, s + i);
            const __m512i hi = _mm512_maskz_loadu_epi32(mh, s + i + sh);
            _mm512_mask_storeu_epi32(d + i, m, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
    }
}

/* acc[i][j] = sum over pair taps t of w[t][i] . base[off[t] + 16 j + lane] */
static inline __attribute__((always_inline)) void tile(int NV, const uint32_t *base,
                                                      const int32_t *off, int64_t taps,
                                                      const uint32_t *w, float *T, int64_t ldt)
{
    __m512 acc[MR][3];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            acc[i][j] = _mm512_setzero_ps();
    for (int64_t t = 0; t < taps; t++, w += MR) {
        const uint32_t *b = base + off[t];
        __m512bh v[3];
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            v[j] = (__m512bh)_mm512_loadu_si512(b + 16 * j);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const __m512bh wv = (__m512bh)_mm512_set1_epi32((int)w[i]);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++)
                acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv, v[j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            _mm512_storeu_ps(T + i * ldt + 16 * j, acc[i][j]);
}


/* Row t[0..n) += b, then the activation (Relu in the vector loop, the others by
   e2e_act_apply). */
static void bias_act_row(const e2e_kernel *k, float *t, int64_t n, float b)
{
    const __m512 vb = _mm512_set1_ps(b), zero = _mm512_setzero_ps();
    const bool relu = k->act == E2E_ACT_RELU;
    for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 m = lanes(n - j);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, t + j), vb);
        if (relu)
            v = _mm512_max_ps(zero, v); /* a NaN in the second operand stays */
        _mm512_mask_storeu_ps(t + j, m, v);
    }
    if (!relu && k->act != E2E_ACT_NONE)
        e2e_act_apply(k->act, k->act_alpha, k->act_beta, t, n);
}

/* max(a, b) with a NaN in either operand winning, as e2e_fmax_nan (vmaxps alone returns b
   when a is NaN) */
static inline __m512 max_nan(__m512 a, __m512 b)
{
    return _mm512_mask_mov_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
}

/* Rows a and c = a + PW (activated) pooled 2x2 into yo[0..PWo), NaN-propagating like MaxPool
   (so, unlike the float32 pooled kernels, chunks with NaN or Inf inputs need no exact sums).
   fused: a and c still lack the bias b and Relu (relu) or nothing (!relu), which are applied
   after the maximum (both are non-decreasing, so the maximum is the same: 16 outputs per
   iteration take one addition instead of four). */
static void pool_rows(const float *a, const float *c, float *yo, int64_t PWo, bool fused,
                      bool relu, float b)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 vb = _mm512_set1_ps(b), zero = _mm512_setzero_ps();
    for (int64_t x0 = 0; x0 < 2 * PWo; x0 += 32) {
        const int64_t left = 2 * PWo - x0;
        const __mmask16 l0 = lanes(left), l1 = left > 16 ? lanes(left - 16) : 0;
        const __m512 m0 = max_nan(_mm512_maskz_loadu_ps(l0, a + x0),
                                  _mm512_maskz_loadu_ps(l0, c + x0));
        const __m512 m1 = max_nan(_mm512_maskz_loadu_ps(l1, a + x0 + 16),
                                  _mm512_maskz_loadu_ps(l1, c + x0 + 16));
        __m512 h = max_nan(_mm512_permutex2var_ps(m0, ev, m1), _mm512_permutex2var_ps(m0, od, m1));
        if (fused) {
            h = _mm512_add_ps(h, vb);
            if (relu)
                h = _mm512_max_ps(zero, h); /* a NaN in the second operand stays */
        }
        _mm512_mask_storeu_ps(yo + x0 / 2, lanes(left / 2), h);
    }
}

/* Output rows [oy0, oy0 + r) of all channels from the slab at the group's first row. */
static void group(const e2e_kernel *k, const conv_priv *p, const uint32_t *slab, float *y,
                  float *T, int64_t oy0, int64_t r, pf_cursor *pf)
{
    const int64_t OW = p->od[2], PW = p->pw, ldt = p->ldt;
    const int64_t taps = p->ntap, nv = (r * PW + 15) / 16;
    const bool simple = k->act == E2E_ACT_RELU || k->act == E2E_ACT_NONE;
    for (int64_t m0 = 0; m0 < p->M; m0 += MR) {
        const uint32_t *w = p->wpb + (m0 / MR) * taps * MR;
        const int64_t mend = p->M - m0 < MR ? p->M - m0 : MR;
        int64_t v = 0;
        for (; v + 3 <= nv; v += 3) {
            tile(3, slab + 16 * v, p->off, taps, w, T + 16 * v, ldt);
            pf_step(pf);
        }
        if (nv - v == 2)
            tile(2, slab + 16 * v, p->off, taps, w, T + 16 * v, ldt);
        else if (nv - v == 1)
            tile(1, slab + 16 * v, p->off, taps, w, T + 16 * v, ldt);
        for (int64_t i = 0; i < mend; i++) {
            float *t = T + i * ldt, *ym = y + (m0 + i) * p->ysp;
            const float b = p->bias[m0 + i];
            if (p->pool2) {
                const int64_t PWo = OW / 2;
                for (int64_t rr = 0; rr + 1 < r; rr += 2) {
                    if (!simple) {
                        bias_act_row(k, t + rr * PW, OW, b);
                        bias_act_row(k, t + (rr + 1) * PW, OW, b);
                    }
                    pool_rows(t + rr * PW, t + (rr + 1) * PW, ym + (oy0 + rr) / 2 * PWo, PWo,
                              simple, k->act == E2E_ACT_RELU, b);
                }
                continue;
            }
            for (int64_t rr = 0; rr < r; rr++) {
                float *d = ym + (oy0 + rr) * OW;
                memcpy(d, t + rr * PW, sizeof(float) * (size_t)OW);
                bias_act_row(k, d, OW, b);
            }
        }
    }
}

/* next's lines spread over `tiles` calls of pf_step. */
static pf_cursor pf_plan(const e2e_conv_bf16_next *next, int64_t tiles)
{
    pf_cursor c = {0};
    if (!next)
        return c;
    int64_t lines = 0;
    for (int i = 0; i < 2; i++) {
        c.base[i] = next->base[i];
        c.n[i] = next->base[i] ? next->n[i] : 0;
        c.stride[i] = next->stride[i];
        c.len[i] = next->len[i];
        lines += c.n[i] * (c.len[i] / 64 + 2);
    }
    c.q = lines / (tiles > 0 ? tiles : 1) + 1;
    return c;
}

static void chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y, float *ws,
                  int64_t u0, int64_t u1, const e2e_conv_bf16_next *next)
{
    const int64_t step = p->pool2 ? 2 : 1, OH = p->od[1], PW = p->pw;
    const int64_t oy0 = u0 * step, oy1 = u1 * step < OH ? u1 * step : OH, r = oy1 - oy0;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    uint32_t *slab = (uint32_t *)ws;
    fill_slab(p, x, slab, oy0 - p->pad_t, r + halo);
    if (p->lone_v + p->lone_h)
        lone_pairs(p, slab, (r + halo) * PW);
    memset(slab + p->nreg * p->cs, 0, sizeof(float) * (size_t)(p->out_at - p->nreg * p->cs));
    /* the register tiles of the chunk: row groups x channel blocks x vector triples */
    pf_cursor pf = pf_plan(next, ((r + p->grp - 1) / p->grp) * ((p->M + MR - 1) / MR) *
                                     ((p->grp * p->pw + 47) / 48));
    for (int64_t g0 = 0; g0 < r; g0 += p->grp) {
        const int64_t gr = r - g0 < p->grp ? r - g0 : p->grp;
        group(k, p, slab + g0 * PW, y, ws + p->out_at, oy0 + g0, gr, &pf);
    }
}

/* ---------------------------------------------------------------- Winograd F(2x2, 3x3) */

/* v[xi] = (B^T d B)[xi] for 16 tiles of one tile row from the padded rows at q (float32,
   the same sums as the float32 Winograd kernel's input transform) */
static inline __attribute__((always_inline)) void wino_in16(const float *q, int64_t PW, __m512 v[16])
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 d[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        const float *qi = q + i * PW;
        const __m512 a0 = _mm512_loadu_ps(qi), a1 = _mm512_loadu_ps(qi + 16);
        const __m512 b0 = _mm512_loadu_ps(qi + 2), b1 = _mm512_loadu_ps(qi + 18);
        const __m512 e0 = _mm512_permutex2var_ps(a0, ev, a1), o0 = _mm512_permutex2var_ps(a0, od, a1);
        const __m512 e2 = _mm512_permutex2var_ps(b0, ev, b1), o2 = _mm512_permutex2var_ps(b0, od, b1);
        d[i][0] = _mm512_sub_ps(e0, e2);
        d[i][1] = _mm512_add_ps(o0, e2);
        d[i][2] = _mm512_sub_ps(e2, o0);
        d[i][3] = _mm512_sub_ps(o0, o2);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        v[0 * 4 + j] = _mm512_sub_ps(d[0][j], d[2][j]);
        v[1 * 4 + j] = _mm512_add_ps(d[1][j], d[2][j]);
        v[2 * 4 + j] = _mm512_sub_ps(d[2][j], d[1][j]);
        v[3 * 4 + j] = _mm512_sub_ps(d[1][j], d[3][j]);
    }
}

/* V[xi][pair c][16 j + lane] as bfloat16 channel pairs for the vectors v + j (j < cnt) of 16
   tiles of the chunk (tile row v * 16 / twp) from the padded rows in slab */
static void wino_input_seg(const conv_priv *p, const float *slab, uint32_t *V, int64_t v,
                           int cnt, int64_t cs)
{
    const int64_t PW = p->pw, TW = p->twp, TP = p->tpad, xs = p->vxs;
    for (int j = 0; j < cnt; j++) {
        const int64_t r = (v + j) * 16 / TW, t0 = (v + j) * 16 % TW;
        for (int64_t c = 0; c < p->cp; c++) {
            const float *q = slab + 2 * c * cs + 2 * r * PW + 2 * t0;
            __m512 a[16], b[16];
            wino_in16(q, PW, a);
            if (2 * c + 1 < p->C)
                wino_in16(q + cs, PW, b);
            else
                for (int i = 0; i < 16; i++)
                    b[i] = _mm512_setzero_ps();
            uint32_t *d = V + c * TP + 16 * j;
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                _mm512_storeu_si512(d + i * xs, pair16(a[i], b[i]));
        }
    }
}

/* conv_pad_rows for bwino with the driver's NaN / Inf check fused in (one pass over the
   input rows instead of two): false when a copied float is NaN or Inf (x - x is 0 exactly
   for every finite x, NaN otherwise). The padded rows hold whole image rows (bwino needs an
   even od[2], so pw = 2 twp + 2 >= od[2] + 2 = IW + pad_l + pad_r), so the copy sees every
   float of the rows the driver's check read (nm is IW; the clamp only keeps the copy in pw). */
static bool pad_rows_finite(const conv_priv *p, const float *x, float *slab, int64_t iy0,
                            int64_t n, int64_t cs)
{
    const int64_t IH = p->id[1], IW = p->id[2], PW = p->pw;
    const int64_t nl = p->pad_l < PW ? p->pad_l : PW, nm = IW < PW - nl ? IW : PW - nl;
    const __m512 zero = _mm512_setzero_ps();
    __m512 acc = zero;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t sr = 0; sr < n; sr++) {
            const int64_t iy = iy0 + sr;
            float *d = slab + c * cs + sr * PW;
            if (iy < 0 || iy >= IH) {
                for (int64_t i = 0; i < PW; i += 16)
                    _mm512_mask_storeu_ps(d + i, lanes(PW - i), zero);
                continue;
            }
            const float *s = x + c * p->isp + iy * IW;
            for (int64_t i = 0; i < nl; i += 16)
                _mm512_mask_storeu_ps(d + i, lanes(nl - i), zero);
            for (int64_t i = 0; i < nm; i += 16) {
                const __mmask16 mk = lanes(nm - i);
                const __m512 v = _mm512_maskz_loadu_ps(mk, s + i);
                acc = _mm512_add_ps(acc, _mm512_sub_ps(v, v));
                _mm512_mask_storeu_ps(d + nl + i, mk, v);
            }
            for (int64_t i = nl + nm; i < PW; i += 16)
                _mm512_mask_storeu_ps(d + i, lanes(PW - i), zero);
        }
    return _mm512_cmp_ps_mask(acc, zero, _CMP_NEQ_UQ) == 0;
}

/* Output transform of 16 tiles (one tile row: twp is a multiple of 16) of channel m from the
   products in buf (E2E_CONV_BF16_WINO_BS floats between xi): bias, activation, and the 2x2
   maximum of each tile, which is its pooling window, stored at dst (lanes mk). With Relu or
   no activation the maximum comes first, then the bias and Relu once: rounding is monotonic,
   so max(a + b, c + b) = max(a, c) + b, and Relu commutes with the maximum (the same bits,
   for 7 vector operations fewer of ~30). */
static inline __attribute__((always_inline)) void wino_out_pool(const e2e_kernel *k,
                                                               const conv_priv *p,
                                                               const float *buf, int64_t m,
                                                               float *dst, __mmask16 mk)
{
    const int64_t bs = E2E_CONV_BF16_WINO_BS;
    const __m512 b = _mm512_set1_ps(p->bias[m]), zero = _mm512_setzero_ps();
    __m512 q[4], mx;
    if (k->act == E2E_ACT_RELU || k->act == E2E_ACT_NONE) {
        e2e_wino_sums16(buf, bs, q);
        mx = _mm512_add_ps(_mm512_max_ps(_mm512_max_ps(q[0], q[1]), _mm512_max_ps(q[2], q[3])), b);
        if (k->act == E2E_ACT_RELU)
            mx = _mm512_max_ps(zero, mx);
    } else {
        float t[4][16];
        e2e_wino_out16(buf, bs, b, q);
        for (int i = 0; i < 4; i++)
            _mm512_storeu_ps(t[i], q[i]);
        e2e_act_apply(k->act, k->act_alpha, k->act_beta, t[0], 64);
        mx = _mm512_max_ps(_mm512_max_ps(_mm512_loadu_ps(t[0]), _mm512_loadu_ps(t[1])),
                           _mm512_max_ps(_mm512_loadu_ps(t[2]), _mm512_loadu_ps(t[3])));
    }
    /* (chunks whose input holds NaN or Inf take the driver's direct sums: no NaN here unless
       the transforms overflow, as in the float32 Winograd kernel) */
    _mm512_mask_storeu_ps(dst, mk, mx);
}

/* Tile rows [u0, u1) of one image (ConvMaxPool: pooled rows [u0, u1)), one segment of
   E2E_CONV_BF16_WINO_SEG vectors of 16 tiles at a time: its input transform into V, then per
   block of 8 channels its products and output transform, V and the products staying in L1
   (V of the whole chunk, 192 KB, went to L2 and came back once per block). */
static bool wino_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                       float *ws, int64_t u0, int64_t u1, const e2e_conv_bf16_next *next)
{
    const int64_t rows = u1 - u0, cs = (2 * p->rows + 4) * p->pw, taps = p->cp;
    const int64_t TW = p->twp, PWo = p->od[2] / 2;
    uint32_t *V = (uint32_t *)(ws + p->v_at);
    float *buf = ws + p->buf_at;
    if (!pad_rows_finite(p, x, ws, 2 * u0 - p->pad_t, 2 * rows + 2, cs))
        return false;
    const int64_t nt = rows * p->twp, nv = (nt + 15) / 16, bs = E2E_CONV_BF16_WINO_BS;
    const int SEG = E2E_CONV_BF16_WINO_SEG, LD = SEG * 16;
    pf_cursor pf = pf_plan(next, ((nv + SEG - 1) / SEG) * ((p->M + MR - 1) / MR));
    for (int64_t v = 0; v < nv; v += SEG) {
        const int cnt = nv - v < SEG ? (int)(nv - v) : SEG;
        wino_input_seg(p, ws, V, v, cnt, cs);
        /* where each vector's 16 pooled outputs go in a plane, and how many there are */
        int64_t yo[E2E_CONV_BF16_WINO_SEG];
        __mmask16 mk[E2E_CONV_BF16_WINO_SEG];
        for (int j = 0; j < cnt; j++) {
            const int64_t f0 = (v + j) * 16, tx = f0 % TW;
            int64_t n = PWo - tx < 16 ? PWo - tx : 16;
            if (n > nt - f0)
                n = nt - f0;
            yo[j] = (u0 + f0 / TW) * PWo + tx;
            mk[j] = n > 0 ? lanes(n) : 0;
        }
        for (int64_t m0 = 0; m0 < p->M; m0 += MR) {
            const int64_t mend = p->M - m0 < MR ? p->M - m0 : MR;
            const uint32_t *wm = p->wpb + (m0 / MR) * 16 * taps * MR;
            for (int xi = 0; xi < 16; xi++) {
                const uint32_t *base = V + xi * p->vxs, *w = wm + xi * taps * MR;
                float *T = buf + xi * bs;
                if (cnt == 3)
                    tile(3, base, p->off, taps, w, T, LD);
                else if (cnt == 2)
                    tile(2, base, p->off, taps, w, T, LD);
                else
                    tile(1, base, p->off, taps, w, T, LD);
            }
            pf_step(&pf);
            for (int64_t i = 0; i < mend; i++)
                for (int j = 0; j < cnt; j++)
                    wino_out_pool(k, p, buf + (i * SEG + j) * 16, m0 + i,
                                  y + (m0 + i) * p->ysp + yo[j], mk[j]);
        }
    }
    return true;
}

const e2e_conv_bf16_kernels e2e_conv_bf16_avx512 = {"avx512_bf16", chunk, wino_chunk};
