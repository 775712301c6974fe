/* Convolutions with bfloat16 weights (precision BF16, conv_internal.h): the choice of kernels,
   the packing at prepare, and the plain C kernel (the reference of the AVX-512 BF16 one in
   x86/conv_bf16_avx512.c: the same pairs, the same order of the sums). */
#include <stdlib.h>
#include <string.h>

#include "ops/conv_internal.h"
#include "ops/cpu_isa.h"
#include "ops/mm_bf16.h"

/* bytes of slab and product buffer aimed for per slot */
#define BF16_SLOT_TARGET ((int64_t)256 << 10)

const e2e_conv_bf16_kernels *e2e_conv_bf16_for(e2e_isa_level isa)
{
    const char *env = getenv("E2E_BF16_CONV");
    if (env && !strcmp(env, "0"))
        return NULL;
    if (env && !strcmp(env, "c"))
        return &e2e_conv_bf16_generic;
#ifdef E2E_X86
    if (e2e_isa_select(isa) == E2E_ISA_AVX512 && e2e_cpu_avx512_bf16())
        return &e2e_conv_bf16_avx512;
#endif
    (void)isa;
    return NULL;
}

/* p's packed weights (nw pairs, zeroed), bias (nb floats, zeroed), tap offsets (no) and the
   kernel's copy of p (*pp); on failure none of them. */
static e2e_status alloc_packs(e2e_kernel *k, conv_priv *p, int64_t nw, int64_t nb, int64_t no,
                              conv_priv **pp)
{
    p->wpb = calloc((size_t)nw, sizeof(uint32_t));
    p->bias = calloc((size_t)nb, sizeof(float));
    p->off = malloc(sizeof(int32_t) * (size_t)no);
    *pp = malloc(sizeof **pp);
    if (p->wpb && p->bias && p->off && *pp)
        return E2E_OK;
    free(*pp);
    free(p->wpb);
    free(p->bias);
    free(p->off);
    return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
}

/* bytes of transformed input (16 xi, channel pairs) of a bwino chunk's tile rows: sets the
   tile rows per chunk (V itself holds one segment: wino_prepare) */
#define BF16_WINO_V_TARGET ((int64_t)192 << 10)

static bool wino_fits(const conv_priv *p, const e2e_conv_bf16_kernels *bk, bool pooled)
{
    const char *env = getenv("E2E_BF16_WINO");
    if (env && !strcmp(env, "0"))
        return false;
    /* 16 channels and more: the transforms cost about what the 2.25x fewer products save at 8 */
    return bk->wino_chunk && pooled && p->kd[1] == 3 && p->kd[2] == 3 && p->dl[1] == 1 &&
           p->dl[2] == 1 && p->C >= 16 && p->od[1] >= 2 && p->od[1] % 2 == 0 &&
           p->od[2] % 2 == 0 && p->od[2] >= 32;
}

/* CONV_BF16 with bwino: U = G g G^T per filter (in double, as CONV_WINOGRAD), rounded to
   bfloat16 channel pairs. */
static e2e_status wino_prepare(e2e_kernel *k, conv_priv *p)
{
    const int64_t C = p->C, MR = E2E_CONV_BF16_MR;
    p->bwino = true;
    p->wf = 2;
    p->tw = p->od[2] / 2;
    p->th = p->od[1] / 2;
    p->twp = (p->tw + 15) & ~(int64_t)15;
    p->pw = 2 * p->twp + 2; /* a vector of 16 tiles reads 34 columns */
    int64_t r = BF16_WINO_V_TARGET / (16 * p->cp * p->twp * 4);
    if (r < 1)
        r = 1;
    if (r > p->th)
        r = p->th;
    p->rows = r;
    p->units = p->th;
    /* V holds one segment: WINO_SEG vectors of 16 tiles, all pairs (AVX-512 kernel) */
    p->tpad = E2E_CONV_BF16_WINO_SEG * 16;
    p->v_at = (C * (2 * r + 4) * p->pw + 32 + 15) & ~(int64_t)15;
    p->vxs = p->cp * p->tpad + 16;
    p->buf_at = p->v_at + 16 * p->vxs + 16;
    p->slab = p->buf_at + 16 * E2E_CONV_BF16_WINO_BS;
    if (p->slab > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "padded input rows exceed the int32 range");
    k->ws_size = (size_t)(p->slab * p->slots) * sizeof(float);
    const int64_t nb = (p->M + MR - 1) / MR;
    conv_priv *pp;
    e2e_status st = alloc_packs(k, p, nb * 16 * p->cp * MR, nb * MR, p->cp, &pp);
    if (st)
        return st;
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    const float *W = k->in[1]->data;
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = W + (m * C + c) * 9;
            double t[4][3];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 3; j++)
                    t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    const double u = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
                    const uint32_t h = e2e_bf16_from_f32((float)u);
                    p->wpb[(((m / MR) * 16 + i * 4 + j) * p->cp + c / 2) * MR + m % MR] |=
                        h << (16 * (c & 1));
                }
        }
    if (k->n_in > 2 && k->in[2])
        memcpy(p->bias, k->in[2]->data, sizeof(float) * (size_t)p->M);
    for (int64_t c = 0; c < p->cp; c++)
        p->off[c] = (int32_t)(c * p->tpad);
    *pp = *p;
    k->priv = pp;
    return E2E_OK;
}

e2e_status e2e_conv_bf16_prepare(e2e_kernel *k, conv_priv *p, const e2e_conv_bf16_kernels *bk,
                                 bool pooled)
{
    const int64_t KH = p->kd[1], KW = p->kd[2], dh = p->dl[1], dw = p->dl[2], OH = p->od[1];
    const int64_t halo = (KH - 1) * dh, MR = E2E_CONV_BF16_MR, NT = E2E_CONV_BF16_NT;
    p->algo = CONV_BF16;
    p->bk = bk;
    p->cp = (p->C + 1) / 2;
    p->pw = p->od[2] + (KW - 1) * dw;
    p->pad_t = p->pb[1];
    p->pad_l = p->pb[2];
    p->ysp = p->osp;
    p->threads = e2e_pool_threads(k->ctx->pool);
    p->slots = p->threads > 1 ? p->threads : 1;
    if (wino_fits(p, bk, pooled))
        return wino_prepare(k, p);
    /* odd C: the lone channel's taps in pairs of rows (ky, ky + 1), then of the last row's
       columns, then the last one alone (3x3: 5 pair taps instead of 9) */
    const bool lone = (p->C & 1) && KH * KW > 1;
    p->lone_v = lone && KH >= 2;
    p->lone_h = lone && (KH & 1) && KW >= 2;
    p->nreg = p->cp + p->lone_v + p->lone_h;
    const int64_t KK = KH * KW, nl = (KH / 2) * KW + (KH & 1) * ((KW + 1) / 2);
    p->ntap = lone ? (p->cp - 1) * KK + nl : p->cp * KK;
    int64_t r = BF16_SLOT_TARGET / ((p->nreg + MR) * p->pw * 4) - halo;
    if (r < 4)
        r = 4;
    if (r > OH)
        r = OH;
    p->rows = r;
    p->units = OH;
    p->cs = (r + halo) * p->pw;
    /* about 512 positions per group (8 channels: 16 KB of products), an even number of rows */
    p->grp = ((512 + p->pw - 1) / p->pw + 1) & ~(int64_t)1;
    p->ldt = (p->grp * p->pw + 15) & ~(int64_t)15;
    /* the last tile of a chunk reads up to NT - 1 positions and (KW-1)*dw columns past the
       last region's rows */
    p->out_at = (p->nreg * p->cs + NT + (KW - 1) * dw + 16 + 15) & ~(int64_t)15;
    p->slab = p->out_at + MR * p->ldt;
    if (p->slab > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "padded input rows exceed the int32 range");
    k->ws_size = (size_t)(p->slab * p->slots) * sizeof(float);
    const int64_t nb = (p->M + MR - 1) / MR, PW = p->pw, cs = p->cs;
    conv_priv *pp;
    e2e_status st = alloc_packs(k, p, nb * p->ntap * MR, nb * MR, p->ntap, &pp);
    if (st)
        return st;
    const float *W = k->in[1]->data;
    const int64_t paired = lone ? p->C - 1 : p->C; /* channels taken in channel pairs */
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t c = 0; c < paired; c++)
            for (int64_t s = 0; s < KK; s++) {
                const int64_t t = (c / 2) * KK + s;
                const uint32_t h = e2e_bf16_from_f32(W[(m * p->C + c) * KK + s]);
                p->wpb[((m / MR) * p->ntap + t) * MR + m % MR] |= h << (16 * (c & 1));
            }
    for (int64_t c = 0, t = 0; c < (paired + 1) / 2; c++)
        for (int64_t ky = 0; ky < KH; ky++)
            for (int64_t kx = 0; kx < KW; kx++, t++)
                p->off[t] = (int32_t)(c * cs + ky * dh * PW + kx * dw);
    if (lone) {
        /* tap t: region, the taps (ky, kx) of its low and high halves (s1 < 0: zero) */
        int64_t t = (p->cp - 1) * KK;
        const float *Wl = W + (p->C - 1) * KK;
        for (int64_t ky = 0; ky < KH; ky++)
            for (int64_t kx = 0; kx < KW; kx++) {
                int64_t reg, s1;
                if (ky & 1)
                    continue; /* the high half of row ky - 1's pairs */
                if (ky + 1 < KH)
                    reg = p->cp, s1 = (ky + 1) * KW + kx;
                else if (kx & 1)
                    continue; /* the high half of column kx - 1's pair */
                else if (kx + 1 < KW)
                    reg = p->cp + p->lone_v, s1 = ky * KW + kx + 1;
                else
                    reg = p->cp - 1, s1 = -1;
                p->off[t] = (int32_t)(reg * cs + ky * dh * PW + kx * dw);
                for (int64_t m = 0; m < p->M; m++) {
                    const float *wm = Wl + m * p->C * KK;
                    uint32_t h = e2e_bf16_from_f32(wm[ky * KW + kx]);
                    if (s1 >= 0)
                        h |= (uint32_t)e2e_bf16_from_f32(wm[s1]) << 16;
                    p->wpb[((m / MR) * p->ntap + t) * MR + m % MR] = h;
                }
                t++;
            }
    }
    if (k->n_in > 2 && k->in[2])
        memcpy(p->bias, k->in[2]->data, sizeof(float) * (size_t)p->M);
    *pp = *p;
    k->priv = pp;
    return E2E_OK;
}

e2e_conv_bf16_next e2e_conv_bf16_next_of(const conv_priv *p, const float *x, float *y,
                                         int64_t u0, int64_t u1)
{
    const int64_t step = p->pool2 ? 2 : 1, OH = p->od[1], IH = p->id[1], IW = p->id[2];
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    const int64_t oy0 = u0 * step, oy1 = u1 * step < OH ? u1 * step : OH;
    int64_t iy0 = oy0 - p->pad_t, iy1 = oy1 + halo - p->pad_t;
    iy0 = iy0 < 0 ? 0 : iy0;
    iy1 = iy1 > IH ? IH : iy1;
    const int64_t orow = p->pool2 ? p->od[2] / 2 : p->od[2];
    const int64_t or0 = p->pool2 ? oy0 / 2 : oy0, or1 = p->pool2 ? oy1 / 2 : oy1;
    e2e_conv_bf16_next nx = {{0}, {0}, {0}, {0}};
    if (iy1 > iy0) {
        nx.base[0] = (const char *)(x + iy0 * IW);
        nx.n[0] = p->C;
        nx.stride[0] = p->isp * (int64_t)sizeof(float);
        nx.len[0] = (iy1 - iy0) * IW * (int64_t)sizeof(float);
    }
    if (or1 > or0) {
        nx.base[1] = (const char *)(y + or0 * orow);
        nx.n[1] = p->M;
        nx.stride[1] = p->ysp * (int64_t)sizeof(float);
        nx.len[1] = (or1 - or0) * orow * (int64_t)sizeof(float);
    }
    return nx;
}

/* ---------------------------------------------------------------- plain C */

static float lo_f(uint32_t u) { return e2e_bf16_to_f32((uint16_t)(u & 0xffffu)); }
static float hi_f(uint32_t u) { return e2e_bf16_to_f32((uint16_t)(u >> 16)); }

static void generic_group(const e2e_kernel *k, const conv_priv *p, const uint32_t *slab, float *y,
                          float *T, int64_t oy0, int64_t r);

static void generic_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                          float *ws, int64_t u0, int64_t u1, const e2e_conv_bf16_next *next)
{
    (void)next;
    const int64_t step = p->pool2 ? 2 : 1, OH = p->od[1], IH = p->id[1], IW = p->id[2],
                  PW = p->pw;
    const int64_t oy0 = u0 * step, oy1 = u1 * step < OH ? u1 * step : OH, r = oy1 - oy0;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    uint32_t *slab = (uint32_t *)ws;
    float *T = ws + p->out_at;
    for (int64_t c = 0; c < p->cp; c++)
        for (int64_t sr = 0; sr < r + halo; sr++) {
            const int64_t iy = oy0 - p->pad_t + sr;
            uint32_t *d = slab + c * p->cs + sr * PW;
            for (int64_t j = 0; j < PW; j++) {
                const int64_t ix = j - p->pad_l;
                uint32_t v = 0;
                if (iy >= 0 && iy < IH && ix >= 0 && ix < IW) {
                    v = e2e_bf16_from_f32(x[2 * c * p->isp + iy * IW + ix]);
                    if (2 * c + 1 < p->C)
                        v |= (uint32_t)e2e_bf16_from_f32(x[(2 * c + 1) * p->isp + iy * IW + ix]) << 16;
                }
                d[j] = v;
            }
        }
    /* the lone channel's row and column pairs from its (C - 1, zero) pairs */
    const uint32_t *S = slab + (p->cp - 1) * p->cs;
    const int64_t len = (r + halo) * PW;
    for (int v = 0; v < p->lone_v + p->lone_h; v++) {
        uint32_t *d = slab + (p->cp + v) * p->cs;
        const int64_t sh = v < p->lone_v ? p->dl[1] * PW : p->dl[2];
        for (int64_t i = 0; i < len; i++)
            d[i] = S[i] | (i + sh < len ? S[i + sh] << 16 : 0);
    }
    memset(slab + p->nreg * p->cs, 0, sizeof(float) * (size_t)(p->out_at - p->nreg * p->cs));
    for (int64_t g0 = 0; g0 < r; g0 += p->grp) {
        const int64_t gr = r - g0 < p->grp ? r - g0 : p->grp;
        generic_group(k, p, slab + g0 * PW, y, T, oy0 + g0, gr);
    }
}

/* Output rows [oy0, oy0 + r) from the slab at the group's first row. */
static void generic_group(const e2e_kernel *k, const conv_priv *p, const uint32_t *slab, float *y,
                          float *T, int64_t oy0, int64_t r)
{
    const int64_t OW = p->od[2], PW = p->pw, MR = E2E_CONV_BF16_MR;
    const int64_t taps = p->ntap, F = r * PW;
    for (int64_t m0 = 0; m0 < p->M; m0 += MR) {
        const uint32_t *w = p->wpb + (m0 / MR) * taps * MR;
        const int64_t mend = p->M - m0 < MR ? p->M - m0 : MR;
        for (int64_t i = 0; i < mend; i++) {
            float *t = T + i * p->ldt;
            for (int64_t f = 0; f < F; f++)
                t[f] = 0.f;
            for (int64_t tp = 0; tp < taps; tp++) {
                const float wl = lo_f(w[tp * MR + i]), wh = hi_f(w[tp * MR + i]);
                const uint32_t *s = slab + p->off[tp];
                for (int64_t f = 0; f < F; f++) {
                    float a = t[f] + wh * hi_f(s[f]);
                    t[f] = a + wl * lo_f(s[f]);
                }
            }
            /* bias and activation on the stored columns of each row */
            const float b = p->bias[m0 + i];
            for (int64_t rr = 0; rr < r; rr++) {
                float *row = t + rr * PW;
                for (int64_t ox = 0; ox < OW; ox++) {
                    const float v = row[ox] + b;
                    row[ox] = k->act == E2E_ACT_RELU ? (v < 0.f ? 0.f : v) : v;
                }
                if (k->act != E2E_ACT_RELU)
                    e2e_act_apply(k->act, k->act_alpha, k->act_beta, row, OW);
            }
            float *ym = y + (m0 + i) * p->ysp;
            if (!p->pool2) {
                for (int64_t rr = 0; rr < r; rr++)
                    memcpy(ym + (oy0 + rr) * OW, t + rr * PW, sizeof(float) * (size_t)OW);
                continue;
            }
            const int64_t PWo = OW / 2;
            for (int64_t rr = 0; rr + 1 < r; rr += 2)
                for (int64_t px = 0; px < PWo; px++) {
                    const float *a = t + rr * PW + 2 * px, *c = a + PW;
                    ym[(oy0 + rr) / 2 * PWo + px] =
                        e2e_fmax_nan(e2e_fmax_nan(a[0], a[1]), e2e_fmax_nan(c[0], c[1]));
                }
        }
    }
}

const e2e_conv_bf16_kernels e2e_conv_bf16_generic = {"generic", generic_chunk, NULL};
