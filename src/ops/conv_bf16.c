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

e2e_status e2e_conv_bf16_prepare(e2e_kernel *k, conv_priv *p, const e2e_conv_bf16_kernels *bk)
{
    const int64_t KH = p->kd[1], KW = p->kd[2], dh = p->dl[1], dw = p->dl[2], OH = p->od[1];
    const int64_t halo = (KH - 1) * dh, MR = E2E_CONV_BF16_MR, NT = E2E_CONV_BF16_NT;
    p->algo = CONV_BF16;
    p->bk = bk;
    p->cp = (p->C + 1) / 2;
    p->pw = p->od[2] + (KW - 1) * dw;
    p->pad_t = p->pb[1];
    p->pad_l = p->pb[2];
    int64_t r = BF16_SLOT_TARGET / ((p->cp + MR) * p->pw * 4) - halo;
    if (r < 4)
        r = 4;
    if (r > OH)
        r = OH;
    p->rows = r;
    p->units = OH;
    p->ysp = p->osp;
    p->threads = e2e_pool_threads(k->ctx->pool);
    p->slots = p->threads > 1 ? p->threads : 1;
    p->cs = (r + halo) * p->pw;
    /* about 512 positions per group (8 channels: 16 KB of products), an even number of rows */
    p->grp = ((512 + p->pw - 1) / p->pw + 1) & ~(int64_t)1;
    p->ldt = (p->grp * p->pw + 15) & ~(int64_t)15;
    /* the last tile of a chunk reads up to NT - 1 positions and (KW-1)*dw columns past the
       last plane's rows */
    p->out_at = (p->cp * p->cs + NT + (KW - 1) * dw + 16 + 15) & ~(int64_t)15;
    p->slab = p->out_at + MR * p->ldt;
    if (p->slab > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "padded input rows exceed the int32 range");
    k->ws_size = (size_t)(p->slab * p->slots) * sizeof(float);
    const int64_t nb = (p->M + MR - 1) / MR, kp = p->cp * KH * KW;
    p->wpb = calloc((size_t)(nb * kp * MR), sizeof(uint32_t));
    p->bias = calloc((size_t)(nb * MR), sizeof(float));
    p->off = malloc(sizeof(int32_t) * (size_t)kp);
    conv_priv *pp = malloc(sizeof *pp);
    if (!p->wpb || !p->bias || !p->off || !pp) {
        free(pp);
        free(p->wpb);
        free(p->bias);
        free(p->off);
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    }
    const float *W = k->in[1]->data;
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t c = 0; c < p->C; c++)
            for (int64_t s = 0; s < KH * KW; s++) {
                const int64_t t = (c / 2) * KH * KW + s;
                const uint32_t h = e2e_bf16_from_f32(W[(m * p->C + c) * KH * KW + s]);
                p->wpb[((m / MR) * kp + t) * MR + m % MR] |= h << (16 * (c & 1));
            }
    if (k->n_in > 2 && k->in[2])
        memcpy(p->bias, k->in[2]->data, sizeof(float) * (size_t)p->M);
    for (int64_t c = 0, t = 0; c < p->cp; c++)
        for (int64_t ky = 0; ky < KH; ky++)
            for (int64_t kx = 0; kx < KW; kx++, t++)
                p->off[t] = (int32_t)(c * p->cs + ky * dh * p->pw + kx * dw);
    *pp = *p;
    k->priv = pp;
    return E2E_OK;
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
    memset(slab + p->cp * p->cs, 0, sizeof(float) * (size_t)(p->out_at - p->cp * p->cs));
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
    const int64_t taps = p->cp * p->kd[1] * p->kd[2], F = r * PW;
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

const e2e_conv_bf16_kernels e2e_conv_bf16_generic = {"generic", generic_chunk};
