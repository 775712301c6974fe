/* The quantized operators (ops/ops_quant.c): rounding ties and saturation of QuantizeLinear,
   per-axis scales, DynamicQuantizeLinear's corner cases, and the integer products (ConvInteger,
   QLinearConv, MatMulInteger, QLinearMatMul) against naive loops on shapes with groups,
   strides, dilations, padding, per-channel zero points and scales, int8 and uint8 mixes; and
   the SIMD integer kernels (ops/qgemm.h: AVX512-VNNI, AVX-VNNI, plain AVX2, whichever this
   level and CPU take, AVX-VNNI both on and off) bit for bit against the generic level. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"
#include "ops/qgemm.h"

static void run1(oh_node *n, e2e_tensor_view *out)
{
    e2e_error err;
    if (oh_run(n, 1, out, &err))
        fail_msg("%s", err.message);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int rnd(int lo, int hi) /* [lo, hi] */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return lo + (int)(rng % (uint64_t)(hi - lo + 1));
}

static int32_t ld(const void *p, e2e_dtype dt, int64_t i)
{
    return dt == E2E_INT8 ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

static void fill_q(void *p, e2e_dtype dt, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (dt == E2E_INT8)
            ((int8_t *)p)[i] = (int8_t)rnd(-128, 127);
        else
            ((uint8_t *)p)[i] = (uint8_t)rnd(0, 255);
}

/* the reference's requantization: the spec's formula with the multiplier in float */
static int32_t requant(int64_t acc, float m, int32_t zp, e2e_dtype dt)
{
    float lo = dt == E2E_INT8 ? -128.f : 0.f, hi = dt == E2E_INT8 ? 127.f : 255.f;
    float r = nearbyintf((float)acc * m) + (float)zp;
    return (int32_t)(r < lo ? lo : r > hi ? hi : r);
}

static void test_quantize_ties_saturation(void **state)
{
    (void)state;
    const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 1000.f, -1000.f, NAN, 2.4f, 5.f};
    const float scale = 1.f;
    const uint8_t zu = 10;
    const int8_t zs = -3;
    const uint8_t ru[] = {10, 12, 12, 10, 8, 8, 255, 0, 0, 12, 15};
    const int8_t rs[] = {-3, -1, -1, -3, -5, -5, 127, -128, -128, -1, 2};
    const uint8_t rn[] = {0, 2, 2, 0, 0, 0, 255, 0, 0, 2, 5}; /* no zero point: uint8, zp 0 */
    for (int t = 0; t < 3; t++) {
        oh_node *n = oh_new("QuantizeLinear", 13);
        oh_input(n, E2E_FLOAT, 1, (int64_t[]){11}, x, false);
        oh_input(n, E2E_FLOAT, 0, NULL, &scale, t == 1);
        if (t == 0)
            oh_input(n, E2E_UINT8, 0, NULL, &zu, false);
        else if (t == 1)
            oh_input(n, E2E_INT8, 0, NULL, &zs, true);
        e2e_tensor_view y;
        run1(n, &y);
        assert_int_equal(y.dtype, t == 1 ? E2E_INT8 : E2E_UINT8);
        for (int i = 0; i < 11; i++) {
            int got = ld(y.data, y.dtype, i), want = t == 0 ? ru[i] : t == 1 ? rs[i] : rn[i];
            if (got != want)
                fail_msg("case %d: x=%g gave %d, expected %d", t, x[i], got, want);
        }
        oh_free(n);
    }
}

static void test_per_axis(void **state)
{
    (void)state;
    /* x [2, 3, 2], axis 1: scales 1, 2, 4; zero points 0, 1, -1 */
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i * 3 - 17);
    const float s[3] = {1.f, 2.f, 4.f};
    const int8_t z[3] = {0, 1, -1};
    oh_node *n = oh_new("QuantizeLinear", 13);
    oh_input(n, E2E_FLOAT, 3, (int64_t[]){2, 3, 2}, x, false);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){3}, s, true);
    oh_input(n, E2E_INT8, 1, (int64_t[]){3}, z, true);
    e2e_tensor_view y;
    run1(n, &y);
    /* x: -17 -14 | -11 -8 | -5 -2 | 1 4 | 7 10 | 13 16 */
    /* -5.5 -> -6 and 3.5 -> 4 (ties to even), -1.25 -> -1, -0.5 -> -0, 3.25 -> 3 */
    const int8_t want[12] = {-17, -14, -6 + 1, -4 + 1, -1 - 1, 0 - 1, 1, 4, 4 + 1, 5 + 1, 3 - 1, 4 - 1};
    assert_memory_equal(y.data, want, 12);
    /* and back: DequantizeLinear with the same axis */
    oh_node *d = oh_new("DequantizeLinear", 13);
    oh_input(d, E2E_INT8, 3, (int64_t[]){2, 3, 2}, want, false);
    oh_input(d, E2E_FLOAT, 1, (int64_t[]){3}, s, true);
    oh_input(d, E2E_INT8, 1, (int64_t[]){3}, z, true);
    e2e_tensor_view back;
    run1(d, &back);
    const float wantf[12] = {-17, -14, -12, -8, -4, 0, 1, 4, 8, 10, 12, 16};
    for (int i = 0; i < 12; i++)
        assert_float_equal(((const float *)back.data)[i], wantf[i], 0.f);
    oh_free(d);
    oh_free(n);
    /* opset 10 has per-tensor parameters only; a wrong length is refused with the reason */
    n = oh_new("DequantizeLinear", 10);
    oh_input(n, E2E_INT8, 3, (int64_t[]){2, 3, 2}, want, false);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){3}, s, true);
    e2e_error err;
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_ERR_SHAPE);
    assert_non_null(strstr(err.message, "x_scale"));
    oh_free(n);
}

static void test_dynamic_quantize(void **state)
{
    (void)state;
    /* all zeros: scale 0, zero point 0; only negatives: zero point 255 */
    const float zeros[4] = {0}, neg[4] = {-1.f, -2.f, -0.5f, -4.f};
    for (int t = 0; t < 2; t++) {
        oh_node *n = oh_new("DynamicQuantizeLinear", 11);
        oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, t ? neg : zeros, false);
        e2e_tensor_view o[3];
        e2e_error err;
        if (oh_run(n, 3, o, &err))
            fail_msg("%s", err.message);
        const uint8_t *y = o[0].data;
        float sc = *(const float *)o[1].data;
        uint8_t zp = *(const uint8_t *)o[2].data;
        if (!t) {
            assert_float_equal(sc, 0.f, 0.f);
            assert_int_equal(zp, 0);
            for (int i = 0; i < 4; i++)
                assert_int_equal(y[i], 0);
        } else {
            assert_float_equal(sc, 4.f / 255.f, 0.f);
            assert_int_equal(zp, 255);
            assert_int_equal(y[3], 0);
            assert_int_equal(y[1], 255 - (int)nearbyintf(2.f / sc));
        }
        oh_free(n);
    }
}

/* ConvInteger and QLinearConv on random 2-D geometries against a direct loop */
static void test_conv_random(void **state)
{
    (void)state;
    /* from it = 24 on x is uint8, w int8 with zero points 0 (symmetric weights): with group 1 QLinearConv takes the AVX512-VNNI kernel where the CPU has it */
    for (int it = 0; it < 64; it++) {
        const bool ql = it & 1;
        const bool sym = it >= 24; /* uint8 x, int8 w with zero points 0 */
        const e2e_dtype xt = !sym && (it & 2) ? E2E_INT8 : E2E_UINT8;
        const e2e_dtype wt = !sym && (it & 4) ? E2E_UINT8 : E2E_INT8;
        const e2e_dtype yt = it & 8 ? E2E_INT8 : E2E_UINT8;
        /* from it = 40 on: group 1, stride 1 and 16 outputs per row (the VNNI kernel's one-step
           unfold) */
        const bool wide = it >= 40;
        /* from it = 48 on: 4 to 6 input channels (the kernel on channel quads) */
        const int G = wide ? 1 : rnd(1, 2), Cg = it >= 48 ? rnd(4, 6) : rnd(1, 3), Mg = rnd(1, 3), C = G * Cg, M = G * Mg, N = rnd(1, 2);
        const int KH = rnd(1, 3), KW = rnd(1, 3), sh = wide ? 1 : rnd(1, 2), sw = wide ? 1 : rnd(1, 2),
                  dh = rnd(1, 2), dw = 1, pt = rnd(0, 2), pl = rnd(0, 1), pbm = rnd(0, 2), pr = rnd(0, 1);
        const int H = rnd((KH - 1) * dh + 1, 9), W = wide ? 16 - pl - pr + (KW - 1) * dw : rnd(KW, 9);
        const int OH = (H + pt + pbm - (KH - 1) * dh - 1) / sh + 1, OW = (W + pl + pr - (KW - 1) * dw - 1) / sw + 1;
        uint8_t x[2 * 6 * 9 * 18], w[6 * 3 * 9], xz, wz[6];
        int32_t bias[6];
        float ws[6], xs = 0.02f, ys = 0.5f + 0.1f * (float)it;
        fill_q(x, xt, N * C * H * W);
        fill_q(w, wt, M * Cg * KH * KW);
        fill_q(&xz, xt, 1);
        const bool per_ch = it % 3 == 0;
        fill_q(wz, wt, per_ch ? M : 1);
        if (sym)
            memset(wz, 0, sizeof wz);
        uint8_t yz;
        fill_q(&yz, yt, 1);
        for (int m = 0; m < M; m++) {
            bias[m] = rnd(-3000, 3000);
            ws[m] = 0.01f * (float)rnd(1, 9);
        }
        oh_node *n = oh_new(ql ? "QLinearConv" : "ConvInteger", 10);
        oh_attr_int(n, "group", G);
        oh_attr_ints(n, "strides", (int64_t[]){sh, sw}, 2);
        oh_attr_ints(n, "dilations", (int64_t[]){dh, dw}, 2);
        oh_attr_ints(n, "pads", (int64_t[]){pt, pl, pbm, pr}, 4);
        oh_input(n, xt, 4, (int64_t[]){N, C, H, W}, x, false);
        const bool wconst = it % 5 != 0; /* weights as a graph input: converted at run */
        if (!ql) { /* x, w, x_zero_point, w_zero_point */
            oh_input(n, wt, 4, (int64_t[]){M, Cg, KH, KW}, w, wconst);
            oh_input(n, xt, 0, NULL, &xz, false);
            oh_input(n, wt, per_ch ? 1 : 0, (int64_t[]){M}, wz, true);
        } else { /* x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B */
            oh_input(n, E2E_FLOAT, 0, NULL, &xs, true);
            oh_input(n, xt, 0, NULL, &xz, false);
            oh_input(n, wt, 4, (int64_t[]){M, Cg, KH, KW}, w, wconst);
            oh_input(n, E2E_FLOAT, per_ch ? 1 : 0, (int64_t[]){M}, ws, true);
            oh_input(n, wt, per_ch ? 1 : 0, (int64_t[]){M}, wz, true);
            oh_input(n, E2E_FLOAT, 0, NULL, &ys, true);
            oh_input(n, yt, 0, NULL, &yz, true);
            oh_input(n, E2E_INT32, 1, (int64_t[]){M}, bias, true);
        }
        e2e_tensor_view y;
        run1(n, &y);
        assert_int_equal(y.dims[2], OH);
        assert_int_equal(y.dims[3], OW);
        for (int b = 0; b < N; b++)
            for (int m = 0; m < M; m++)
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        const int g = m / Mg;
                        int64_t acc = 0;
                        for (int c = 0; c < Cg; c++)
                            for (int ky = 0; ky < KH; ky++)
                                for (int kx = 0; kx < KW; kx++) {
                                    int iy = oy * sh + ky * dh - pt, ix = ox * sw + kx * dw - pl;
                                    int32_t xv = iy >= 0 && iy < H && ix >= 0 && ix < W
                                                     ? ld(x, xt, ((b * C + g * Cg + c) * H + iy) * W + ix)
                                                     : ld(&xz, xt, 0);
                                    int32_t wv = ld(w, wt, ((m * Cg + c) * KH + ky) * KW + kx);
                                    acc += (int64_t)(xv - ld(&xz, xt, 0)) * (wv - ld(wz, wt, per_ch ? m : 0));
                                }
                        const int64_t o = ((b * M + m) * OH + oy) * OW + ox;
                        int64_t got, want;
                        if (ql) {
                            got = ld(y.data, yt, o);
                            want = requant(acc + bias[m], xs * ws[per_ch ? m : 0] / ys, ld(&yz, yt, 0), yt);
                        } else {
                            got = ((const int32_t *)y.data)[o];
                            want = acc;
                        }
                        if (got != want)
                            fail_msg("it %d (%s, G %d, C %d, M %d, %dx%d k %dx%d s %d,%d d %d pads %d %d %d %d): "
                                     "output %lld is %lld, expected %lld", it, ql ? "QLinearConv" : "ConvInteger",
                                     G, C, M, H, W, KH, KW, sh, sw, dh, pt, pl, pbm, pr, (long long)o,
                                     (long long)got, (long long)want);
                    }
        oh_free(n);
    }
}

/* MatMulInteger (per-row / per-column zero points, batch broadcast) and QLinearMatMul
   (per-column b_scale) against a naive loop */
static void test_matmul_random(void **state)
{
    (void)state;
    /* from it = 16 on A is uint8, B int8 with zero points 0: QLinearMatMul takes the
       AVX512-VNNI kernel where the CPU has it */
    for (int it = 0; it < 32; it++) {
        const bool ql = it & 1;
        const bool sym = it >= 16; /* uint8 A, int8 B with zero points 0 */
        const e2e_dtype at = !sym && (it & 2) ? E2E_INT8 : E2E_UINT8;
        const e2e_dtype bt = !sym && (it & 4) ? E2E_UINT8 : E2E_INT8;
        const e2e_dtype yt = it & 8 ? E2E_INT8 : E2E_UINT8;
        const int Bt = rnd(1, 3), M = rnd(1, 5), K = rnd(1, 40), N = rnd(1, 7);
        const bool bbatch = it % 3 == 0;
        uint8_t a[3 * 5 * 40], b[3 * 40 * 7], az[5], bz[7], yz;
        float as = 0.03f, bs[7], ys = 0.7f;
        fill_q(a, at, Bt * M * K);
        fill_q(b, bt, (bbatch ? Bt : 1) * K * N);
        const bool per = !ql && (it & 4);
        fill_q(az, at, per ? M : 1);
        fill_q(bz, bt, per || ql ? N : 1);
        if (sym)
            memset(bz, 0, sizeof bz);
        fill_q(&yz, yt, 1);
        for (int j = 0; j < N; j++)
            bs[j] = 0.01f * (float)rnd(1, 9);
        oh_node *n = oh_new(ql ? "QLinearMatMul" : "MatMulInteger", 10);
        oh_input(n, at, 3, (int64_t[]){Bt, M, K}, a, false);
        if (ql) {
            oh_input(n, E2E_FLOAT, 0, NULL, &as, true);
            oh_input(n, at, 0, NULL, az, true);
        }
        if (bbatch)
            oh_input(n, bt, 3, (int64_t[]){Bt, K, N}, b, true);
        else
            oh_input(n, bt, 2, (int64_t[]){K, N}, b, true);
        if (ql) {
            oh_input(n, E2E_FLOAT, 1, (int64_t[]){N}, bs, true);
            oh_input(n, bt, 1, (int64_t[]){N}, bz, true);
            oh_input(n, E2E_FLOAT, 0, NULL, &ys, true);
            oh_input(n, yt, 0, NULL, &yz, true);
        } else {
            oh_input(n, at, per ? 1 : 0, (int64_t[]){M}, az, false);
            oh_input(n, bt, per ? 1 : 0, (int64_t[]){N}, bz, true);
        }
        e2e_tensor_view y;
        run1(n, &y);
        for (int t = 0; t < Bt; t++)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    int64_t acc = 0;
                    const int zb = ld(bz, bt, per || ql ? j : 0);
                    for (int kk = 0; kk < K; kk++)
                        acc += (int64_t)(ld(a, at, (t * M + i) * K + kk) - ld(az, at, per ? i : 0)) *
                               (ld(b, bt, ((bbatch ? t : 0) * K + kk) * N + j) - zb);
                    const int64_t o = (t * M + i) * N + j;
                    int64_t got = ql ? ld(y.data, yt, o) : ((const int32_t *)y.data)[o];
                    int64_t want = ql ? requant(acc, as * bs[j] / ys, ld(&yz, yt, 0), yt) : acc;
                    if (got != want)
                        fail_msg("it %d: [%d,%d,%d] is %lld, expected %lld", it, t, i, j,
                                 (long long)got, (long long)want);
                }
        oh_free(n);
    }
}


/* ---- SIMD kernels against the generic level, bit for bit ----
   A case is built twice (the harness builds a node once) and run once at the generic level
   and once at the process's level; the outputs must be identical. */

typedef struct qcase {
    int kind; /* 0 QLinearConv, 1 QLinearMatMul, 2 QuantizeLinear, 3 DequantizeLinear */
    int N, C, M, H, W, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr; /* conv */
    int R, K, Nc;                                               /* matmul [R, K] x [K, Nc] */
    int n;                                                      /* quantize, dequantize */
    e2e_dtype yt;
    uint8_t xz, yz;
    float xs, ys, ws[128];
    uint8_t *x, *w;
    float *xf;
    int32_t *bias;
    bool per_ch;
} qcase;

static oh_node *qcase_node(const qcase *c)
{
    oh_node *n = NULL;
    const int8_t yzs = (int8_t)(c->yz - 128);
    const void *yz = c->yt == E2E_INT8 ? (const void *)&yzs : (const void *)&c->yz;
    if (c->kind == 0) {
        n = oh_new("QLinearConv", 10);
        oh_attr_ints(n, "strides", (int64_t[]){c->sh, c->sw}, 2);
        oh_attr_ints(n, "dilations", (int64_t[]){c->dh, c->dw}, 2);
        oh_attr_ints(n, "pads", (int64_t[]){c->pt, c->pl, c->pb, c->pr}, 4);
        oh_input(n, E2E_UINT8, 4, (int64_t[]){c->N, c->C, c->H, c->W}, c->x, false);
        oh_input(n, E2E_FLOAT, 0, NULL, &c->xs, true);
        oh_input(n, E2E_UINT8, 0, NULL, &c->xz, true);
        oh_input(n, E2E_INT8, 4, (int64_t[]){c->M, c->C, c->KH, c->KW}, c->w, true);
        oh_input(n, E2E_FLOAT, c->per_ch ? 1 : 0, (int64_t[]){c->M}, c->ws, true);
        static const int8_t wz[128];
        oh_input(n, E2E_INT8, c->per_ch ? 1 : 0, (int64_t[]){c->M}, wz, true);
        oh_input(n, E2E_FLOAT, 0, NULL, &c->ys, true);
        oh_input(n, c->yt, 0, NULL, yz, true);
        oh_input(n, E2E_INT32, 1, (int64_t[]){c->M}, c->bias, true);
    } else if (c->kind == 1) {
        n = oh_new("QLinearMatMul", 10);
        oh_input(n, E2E_UINT8, 2, (int64_t[]){c->R, c->K}, c->x, false);
        oh_input(n, E2E_FLOAT, 0, NULL, &c->xs, true);
        oh_input(n, E2E_UINT8, 0, NULL, &c->xz, true);
        oh_input(n, E2E_INT8, 2, (int64_t[]){c->K, c->Nc}, c->w, true);
        oh_input(n, E2E_FLOAT, c->per_ch ? 1 : 0, (int64_t[]){c->Nc}, c->ws, true);
        static const int8_t wz[128];
        oh_input(n, E2E_INT8, c->per_ch ? 1 : 0, (int64_t[]){c->Nc}, wz, true);
        oh_input(n, E2E_FLOAT, 0, NULL, &c->ys, true);
        oh_input(n, c->yt, 0, NULL, yz, true);
    } else if (c->kind == 2) {
        n = oh_new("QuantizeLinear", 13);
        oh_input(n, E2E_FLOAT, 1, (int64_t[]){c->n}, c->xf, false);
        oh_input(n, E2E_FLOAT, 0, NULL, &c->ys, true);
        oh_input(n, c->yt, 0, NULL, yz, true);
    } else {
        n = oh_new("DequantizeLinear", 13);
        oh_input(n, c->yt, 1, (int64_t[]){c->n}, c->x, false);
        oh_input(n, E2E_FLOAT, 0, NULL, &c->xs, true);
        oh_input(n, c->yt, 0, NULL, yz, true);
    }
    return n;
}

/* runs the case at the generic level and at the process's; fails on any differing byte */
static void qcase_compare(const qcase *c, int it, const char *set)
{
    oh_node *ng = qcase_node(c), *ns = qcase_node(c);
    e2e_session_options og = e2e_session_options_default();
    og.isa = E2E_ISA_GENERIC;
    e2e_tensor_view yg, ysimd;
    e2e_error err;
    if (oh_run_opt(ng, 1, &yg, &og, &err) || oh_run(ns, 1, &ysimd, &err))
        fail_msg("case %d (kind %d): %s", it, c->kind, err.message);
    int64_t n = 1;
    for (int d = 0; d < yg.rank; d++)
        n *= yg.dims[d];
    assert_int_equal(yg.dtype, ysimd.dtype);
    const size_t bytes = (size_t)n * (yg.dtype == E2E_FLOAT ? 4 : 1);
    if (memcmp(yg.data, ysimd.data, bytes)) {
        int64_t i = 0;
        while (((const uint8_t *)yg.data)[i * (int64_t)bytes / n] ==
               ((const uint8_t *)ysimd.data)[i * (int64_t)bytes / n])
            i++;
        fail_msg("case %d (kind %d, %s kernels; conv C %d M %d %dx%d k %dx%d s %d,%d d %d,%d pads "
                 "%d %d %d %d; matmul %dx%dx%d; n %d; x_zp %d y_zp %d): element %lld differs",
                 it, c->kind, set, c->C, c->M, c->H, c->W, c->KH, c->KW, c->sh, c->sw, c->dh,
                 c->dw, c->pt, c->pl, c->pb, c->pr, c->R, c->K, c->Nc, c->n, c->xz, c->yz,
                 (long long)i);
    }
    oh_free(ng);
    oh_free(ns);
}

static void simd_cases(const char *set)
{
    static const uint8_t zps[3] = {0, 128, 255};
    uint8_t x[2 * 9 * 40 * 40], w[70 * 128]; /* conv: M C KH KW <= 9 * 9 * 9; matmul: K Nc <= 70 * 128 */
    float xf[80];
    int32_t bias[64];
    for (int it = 0; it < 120; it++) {
        qcase c = {.kind = it % 4 == 3 ? 2 + it / 4 % 2 : it % 4 == 2 ? 1 : 0};
        c.x = x;
        c.w = w;
        c.xf = xf;
        c.bias = bias;
        c.xz = zps[it % 3];
        c.yz = zps[(it / 3) % 3];
        c.yt = it & 8 ? E2E_INT8 : E2E_UINT8;
        c.per_ch = it % 5 != 0;
        c.xs = 0.02f;
        /* now and then a small y_scale: most outputs saturate */
        c.ys = it % 7 == 0 ? 0.002f : 0.3f + 0.05f * (float)rnd(0, 20);
        for (int i = 0; i < 128; i++)
            c.ws[i] = 0.005f * (float)rnd(1, 9);
        if (c.kind == 0) {
            /* a third each: stride 1 with 16-pixel rows and >= 4 channels (direct on channel
               quads), stride 1 with 16-pixel rows and fewer channels (one-step unfold), any
               geometry (unfold + pack) */
            const int form = it / 4 % 3;
            c.N = rnd(1, 2);
            c.C = form == 1 ? rnd(1, 3) : rnd(1, 9);
            if (form == 0)
                c.C = rnd(4, 9);
            c.M = rnd(1, 9);
            c.KH = rnd(1, 3);
            c.KW = rnd(1, 3);
            c.sh = form == 2 ? rnd(1, 2) : 1;
            c.sw = form == 2 ? rnd(1, 2) : 1;
            c.dh = rnd(1, 2);
            c.dw = form == 2 ? rnd(1, 2) : rnd(1, 2);
            c.pt = rnd(0, 2);
            c.pb = rnd(0, 2);
            c.pl = rnd(0, 1);
            c.pr = rnd(0, 1);
            c.H = rnd((c.KH - 1) * c.dh + 1, 12);
            if (form == 2)
                c.W = rnd((c.KW - 1) * c.dw + 1, 21);
            else /* OW = 16 or 32 */
                c.W = 16 * rnd(1, 2) - c.pl - c.pr + (c.KW - 1) * c.dw;
            fill_q(x, E2E_UINT8, c.N * c.C * c.H * c.W);
            fill_q(w, E2E_INT8, c.M * c.C * c.KH * c.KW);
            for (int m = 0; m < c.M; m++)
                bias[m] = rnd(-20000, 20000);
        } else if (c.kind == 1) {
            c.R = rnd(1, 6);
            c.K = rnd(1, 70);
            c.Nc = rnd(1, 64) + (it % 16 == 2 ? 64 : 0);
            fill_q(x, E2E_UINT8, c.R * c.K);
            fill_q(w, E2E_INT8, c.K * c.Nc);
        } else {
            c.n = rnd(1, 80);
            c.xs = c.ys = 0.01f * (float)rnd(1, 50);
            fill_q(x, c.yt, c.n);
            for (int i = 0; i < c.n; i++) /* ties, out of range values, NaN, Inf */
                xf[i] = c.ys * ((float)rnd(-600, 600) / 2.f) + (i % 9 == 0 ? c.ys * 1e3f : 0.f);
            if (c.n > 3) {
                xf[1] = NAN;
                xf[2] = -INFINITY;
                xf[3] = INFINITY;
            }
        }
        qcase_compare(&c, it, set);
    }
}

static void test_simd_vs_generic(void **state)
{
    (void)state;
    const e2e_qgemm_kernels *qk = e2e_qgemm_kernels_for(E2E_ISA_AUTO);
    if (!qk) {
        printf("note: generic level (E2E_ISA=%s): no SIMD integer kernels to compare\n",
               e2e_isa_name(e2e_isa_default()));
        return;
    }
    simd_cases(qk->name);
    /* QMaxPool2x2's row (made by the QDQ folding, no node of its own) against the plain max */
    for (int it = 0; it < 64; it++) {
        const bool s8 = it & 1;
        const int OW = rnd(1, 48);
        uint8_t a[96], b[96], y[48];
        for (int i = 0; i < 2 * OW; i++) { /* often the extremes: 0, 127, 128, 255 */
            a[i] = (uint8_t)(it % 3 ? rnd(0, 255) : (rnd(0, 3) * 85 + 0x7f) & 0xff);
            b[i] = (uint8_t)(it % 3 ? rnd(0, 255) : (rnd(0, 3) * 85 + 0x80) & 0xff);
        }
        qk->maxpool_row(OW, a, b, s8, y);
        for (int x = 0; x < OW; x++) {
            int m = -1000;
            for (int j = 0; j < 4; j++) {
                const uint8_t v = (j < 2 ? a : b)[2 * x + j % 2];
                const int vi = s8 ? (int8_t)v : v;
                m = vi > m ? vi : m;
            }
            if ((s8 ? (int8_t)y[x] : y[x]) != m)
                fail_msg("maxpool row %d (OW %d, %s): output %d is %d, expected %d", it, OW,
                         s8 ? "int8" : "uint8", x, s8 ? (int8_t)y[x] : y[x], m);
        }
    }
    if (qk == &e2e_qgemm_avxvnni) { /* and the plain AVX2 set on the same CPU */
        setenv("E2E_AVX_VNNI", "0", 1);
        const e2e_qgemm_kernels *plain = e2e_qgemm_kernels_for(E2E_ISA_AUTO);
        assert_ptr_equal(plain, &e2e_qgemm_avx2);
        simd_cases(plain->name);
        unsetenv("E2E_AVX_VNNI");
    } else if (qk == &e2e_qgemm_avx2) {
        printf("note: no AVX-VNNI (or E2E_AVX_VNNI=0): only the plain AVX2 kernels compared\n");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_ties_saturation),
        cmocka_unit_test(test_per_axis),
        cmocka_unit_test(test_dynamic_quantize),
        cmocka_unit_test(test_conv_random),
        cmocka_unit_test(test_matmul_random),
        cmocka_unit_test(test_simd_vs_generic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
