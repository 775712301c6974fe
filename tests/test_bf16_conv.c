/* Convolutions with bfloat16 weights (precision BF16, ops/conv_internal.h, CONV_BF16): against
   a double reference of the bfloat16-rounded weights and inputs (the kernels' only other error
   is the float32 sum: within 1e-5 of the sum of |terms|), for the kernels the session takes
   (AVX512_BF16 where the CPU has it at the AVX-512 level; elsewhere the convolutions stay
   float32, bit for bit) and for the plain C kernels (E2E_BF16_CONV=c) at every level;
   shapes with odd channel counts, partial channel blocks, dilation, no padding, several row
   groups and chunks, fused activations and ConvMaxPool; NaN, +Inf and -Inf where the plain
   float32 graph puts them; rows that do not depend on the batch (any_batch); two pooled
   convolutions run image by image (ConvChain) giving the bits of the two run one after the
   other, NaN and Inf included; odd channel counts, whose lone channel's taps are paired among
   themselves, with non-finite values in that channel alone. Run by
   tests/run_all.sh at every instruction-set level (E2E_ISA). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e2e.h"
#include "onnx/onnx_build.h"
#include "op_harness.h"
#include "engine/session.h"
#include "ops/conv_internal.h"
#include "ops/mm_bf16.h"

typedef struct conv_case {
    int C, M, H, W, K, pad, dil;
    const char *act; /* NULL, Relu, LeakyRelu, Sigmoid */
    bool pool;
    int N, threads;
} conv_case;

static int case_kw; /* kernel width when not K (0: K x K), for the case being run */

static int kw_of(const conv_case *c) { return case_kw ? case_kw : c->K; }

static float round_bf16(float x) { return e2e_bf16_to_f32(e2e_bf16_from_f32(x)); }

static int out_dim(const conv_case *c, int in, int k)
{
    return in + 2 * c->pad - c->dil * (k - 1);
}

static e2e_model *conv_model(const conv_case *c, const float *w, const float *bias)
{
    e2e_ob *b = e2e_ob_new(17, "conv_bf16");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){-1, c->C, c->H, c->W});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){c->M, c->C, c->K, kw_of(c)}, w);
    e2e_ob_init_f32(b, "b", 1, (int64_t[]){c->M}, bias);
    Onnx__NodeProto *n = e2e_ob_node(b, "Conv", "conv", 3, (const char *[]){"x", "w", "b"}, 1,
                                     (const char *[]){c->act || c->pool ? "c" : "y"});
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){c->K, kw_of(c)});
    e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){c->pad, c->pad, c->pad, c->pad});
    e2e_ob_attr_ints(b, n, "dilations", 2, (int64_t[]){c->dil, c->dil});
    const char *t = "c";
    if (c->act) {
        n = e2e_ob_node(b, c->act, "act", 1, (const char *[]){"c"}, 1,
                        (const char *[]){c->pool ? "a" : "y"});
        if (!strcmp(c->act, "LeakyRelu"))
            e2e_ob_attr_float(b, n, "alpha", 0.1f);
        t = "a";
    }
    if (c->pool) {
        n = e2e_ob_node(b, "MaxPool", "pool", 1, (const char *[]){t}, 1, (const char *[]){"y"});
        e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
        e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){2, 2});
    }
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = oh_model_pack(b, "conv_bf16.onnx");
    e2e_ob_free(b);
    return m;
}

/* Runs m on x [n, C, H, W] at precision p (optimize 1: the fusions); the output, malloc'ed. */
static float *run(const e2e_model *m, const conv_case *c, e2e_precision p, int optimize, int n,
                  const float *x, int any_batch, int64_t *ny)
{
    e2e_session_options o = e2e_session_options_default();
    o.precision = p;
    o.optimize = optimize;
    o.threads = c->threads;
    o.default_batch = any_batch ? c->N : n;
    o.any_batch = any_batch;
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    int64_t dims[4] = {n, c->C, c->H, c->W};
    e2e_tensor_view in = e2e_tensor_view_f32("x", (float *)x, 4, dims);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("%s", err.message);
    float *y = oh_output_copy(s, ny);
    e2e_session_free(s);
    return y;
}

static double act_d(const conv_case *c, double v)
{
    if (!c->act)
        return v;
    if (!strcmp(c->act, "Relu"))
        return v < 0 ? 0 : v;
    if (!strcmp(c->act, "LeakyRelu"))
        return v < 0 ? 0.1 * v : v;
    return 1.0 / (1.0 + exp(-v));
}

/* Activated output (m, oy, ox) of image img from the rounded operands, and its sum of |terms| */
static bool ref_exact; /* ref_at on the float32 operands (not rounded to bfloat16) */

static double ref_at(const conv_case *c, const float *x, const float *w, const float *bias,
                     int img, int m, int oy, int ox, double *mag)
{
    double s = bias[m], a = fabs(bias[m]);
    for (int ch = 0; ch < c->C; ch++)
        for (int ky = 0; ky < c->K; ky++)
            for (int kx = 0; kx < kw_of(c); kx++) {
                const int iy = oy + ky * c->dil - c->pad, ix = ox + kx * c->dil - c->pad;
                if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W)
                    continue;
                const float wv = w[((m * c->C + ch) * c->K + ky) * kw_of(c) + kx],
                            xv = x[((img * c->C + ch) * c->H + iy) * c->W + ix];
                const double t = ref_exact ? (double)wv * xv : (double)round_bf16(wv) * round_bf16(xv);
                s += t;
                a += fabs(t);
            }
    *mag = a;
    return act_d(c, s);
}

static double ref_tol = 1e-5; /* of the sum of |terms| */

/* Largest |y - reference| / (ref_tol |terms| + 1e-6) over the outputs (<= 1: within) */
static double check_against_ref(const conv_case *c, const float *x, const float *w,
                                const float *bias, const float *y)
{
    const int OH = out_dim(c, c->H, c->K), OW = out_dim(c, c->W, kw_of(c));
    const int YH = c->pool ? OH / 2 : OH, YW = c->pool ? OW / 2 : OW;
    double worst = 0;
    for (int img = 0; img < c->N; img++)
        for (int m = 0; m < c->M; m++)
            for (int py = 0; py < YH; py++)
                for (int px = 0; px < YW; px++) {
                    double want, mag;
                    if (c->pool) {
                        double mg[4];
                        want = -INFINITY;
                        mag = 0;
                        for (int q = 0; q < 4; q++) {
                            double v = ref_at(c, x, w, bias, img, m, 2 * py + q / 2, 2 * px + q % 2, &mg[q]);
                            want = v > want ? v : want;
                            mag = mg[q] > mag ? mg[q] : mag;
                        }
                    } else {
                        want = ref_at(c, x, w, bias, img, m, py, px, &mag);
                    }
                    const float got = y[((img * c->M + m) * YH + py) * YW + px];
                    const double r = fabs(got - want) / (ref_tol * mag + 1e-6);
                    if (!(r <= 1))
                        fail_msg("C %d M %d %dx%d K %d: y[%d][%d][%d][%d] = %.9g, want %.9g (|terms| %g)",
                                 c->C, c->M, c->H, c->W, c->K, img, m, py, px, got, want, mag);
                    worst = r > worst ? r : worst;
                }
    return worst;
}

/* mode 0: the bf16 convolutions as the CPU allows; 1: E2E_BF16_CONV=c (the plain C tile).
   Returns whether bf16 convolution kernels are used then. */
static bool set_conv_mode(int mode)
{
    if (mode)
        setenv("E2E_BF16_CONV", "c", 1);
    else
        unsetenv("E2E_BF16_CONV");
    return e2e_conv_bf16_for(E2E_ISA_AUTO) != NULL;
}

static const conv_case cases[] = {
    {5, 16, 13, 20, 3, 1, 1, "Relu", true, 3, 2},     /* the jet conv1, small */
    {16, 20, 9, 11, 3, 1, 1, NULL, false, 2, 1},      /* partial channel block, Winograd's size */
    {1, 8, 14, 17, 5, 4, 2, "Sigmoid", true, 2, 1},   /* one channel, dilation 2 */
    {3, 4, 40, 24, 3, 0, 1, "LeakyRelu", false, 2, 2}, /* no padding, several row groups */
    {2, 8, 64, 64, 3, 1, 1, "Relu", true, 2, 2},      /* several chunks */
};

/* Every case in bf16 against the reference, and that the session's choice is what it says. */
static void test_against_reference(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (int mode = 0; mode < 2; mode++) {
        const bool used = set_conv_mode(mode);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const conv_case *c = &cases[i];
            const int64_t nx = (int64_t)c->N * c->C * c->H * c->W, nw = (int64_t)c->M * c->C * c->K * c->K;
            float *x = oh_rand_buf(nx, &seed), *w = oh_rand_buf(nw, &seed), *b = oh_rand_buf(c->M, &seed);
            e2e_model *m = conv_model(c, w, b);
            int64_t n32, n16;
            float *y32 = run(m, c, E2E_PRECISION_FP32, 1, c->N, x, 0, &n32);
            float *y16 = run(m, c, E2E_PRECISION_BF16, 1, c->N, x, 0, &n16);
            assert_int_equal(n16, n32);
            if (used) {
                double r = check_against_ref(c, x, w, b, y16);
                printf("%s case %zu: bf16 conv, worst error %.3f of the tolerance\n",
                       mode ? "plain C" : "session's", i, r);
                double d = 0;
                for (int64_t j = 0; j < n32; j++)
                    d = fmax(d, fabs(y16[j] - y32[j]));
                assert_true(d > 0); /* it did round */
            } else {
                assert_memory_equal(y16, y32, sizeof(float) * (size_t)n32);
            }
            free(y32), free(y16), free(x), free(w), free(b);
            e2e_model_free(m);
        }
        if (!used)
            printf("at this level a bf16 session's convolutions stay float32 (no AVX512_BF16 at "
                   "the AVX-512 level): checked bit for bit against fp32\n");
    }
    unsetenv("E2E_BF16_CONV");
}

static int fclass(float v) { return isnan(v) ? 0 : isinf(v) ? (v > 0 ? 1 : 2) : 3; }

/* NaN, +Inf, -Inf every 37th input: the same outputs are NaN / +Inf / -Inf as in the plain
   float32 graph (optimize 0: Conv, activation, MaxPool one by one). */
static void test_nonfinite(void **state)
{
    (void)state;
    const conv_case nf[] = {
        {5, 16, 12, 32, 3, 1, 1, "Relu", true, 1, 1},
        {5, 16, 12, 32, 3, 1, 1, NULL, true, 1, 1},
        {4, 8, 10, 20, 3, 1, 1, NULL, false, 1, 1},
        {3, 8, 10, 20, 3, 1, 1, "Sigmoid", false, 1, 2},
    };
    uint64_t seed = 11;
    for (int mode = 0; mode < 2; mode++) {
        set_conv_mode(mode);
        for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++) {
            const conv_case *c = &nf[i];
            const int64_t nx = (int64_t)c->C * c->H * c->W, nw = (int64_t)c->M * c->C * 9;
            float *x = oh_rand_buf(nx, &seed), *w = oh_rand_buf(nw, &seed), *b = oh_rand_buf(c->M, &seed);
            const float bad[3] = {NAN, INFINITY, -INFINITY};
            for (int64_t j = 5, q = 0; j < nx; j += 37, q++)
                x[j] = bad[q % 3];
            e2e_model *m = conv_model(c, w, b);
            int64_t n32, n16;
            float *y32 = run(m, c, E2E_PRECISION_FP32, 0, 1, x, 0, &n32);
            float *y16 = run(m, c, E2E_PRECISION_BF16, 1, 1, x, 0, &n16);
            assert_int_equal(n16, n32);
            int64_t nonfinite = 0;
            for (int64_t j = 0; j < n32; j++) {
                if (fclass(y16[j]) != fclass(y32[j]))
                    fail_msg("case %zu (%s): y[%lld] = %g, the plain graph %g", i,
                             mode ? "plain C" : "session's", (long long)j, y16[j], y32[j]);
                nonfinite += fclass(y32[j]) != 3;
            }
            assert_true(nonfinite > 0);
            free(y32), free(y16), free(x), free(w), free(b);
            e2e_model_free(m);
        }
    }
    unsetenv("E2E_BF16_CONV");
}

/* any_batch: a row's output at batch 1 is the same bits as in the full batch. */
static void test_any_batch(void **state)
{
    (void)state;
    const conv_case c = {5, 16, 20, 24, 3, 1, 1, "Relu", true, 4, 2};
    uint64_t seed = 13;
    const int64_t per = (int64_t)c.C * c.H * c.W;
    float *x = oh_rand_buf(c.N * per, &seed), *w = oh_rand_buf((int64_t)c.M * c.C * 9, &seed),
          *b = oh_rand_buf(c.M, &seed);
    e2e_model *m = conv_model(&c, w, b);
    int64_t nall, n1;
    float *yall = run(m, &c, E2E_PRECISION_BF16, 1, c.N, x, 1, &nall);
    for (int img = 0; img < c.N; img++) {
        float *y1 = run(m, &c, E2E_PRECISION_BF16, 1, 1, x + img * per, 1, &n1);
        assert_int_equal(n1 * c.N, nall);
        assert_memory_equal(y1, yall + img * n1, sizeof(float) * (size_t)n1);
        free(y1);
    }
    free(yall), free(x), free(w), free(b);
    e2e_model_free(m);
}

static bool is_bwino(const e2e_kernel *k)
{
    const conv_priv *p = k->priv;
    return !strcmp(k->node->op_type, "ConvMaxPool") && p && p->algo == CONV_BF16 && p->bwino;
}

static bool is_chain(const e2e_kernel *k) { return !strcmp(k->node->op_type, "ConvChain"); }

/* Whether a bf16 session of m at batch n (threads) holds a kernel that match accepts. */
static bool runs_kernel(const e2e_model *m, int n, int threads, bool (*match)(const e2e_kernel *))
{
    e2e_session_options o = e2e_session_options_default();
    o.precision = E2E_PRECISION_BF16;
    o.default_batch = n;
    o.threads = threads;
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    bool found = false;
    for (int i = 0; i < s->n_kernels; i++)
        found = found || match(&s->kernels[i]);
    e2e_session_free(s);
    return found;
}

/* Pooled 3x3 convolutions of 16 input channels and more by Winograd F(2x2, 3x3) on bfloat16
   products (x86/conv_bf16_avx512.c, bwino): against the double reference of the float32
   operands within 1/128 of the sum of |terms| (the transformed inputs and filters are rounded
   to bfloat16: a few times the direct kernel's error, which is within 2^-8 of it); NaN, +Inf,
   -Inf where the plain graph has them; E2E_BF16_WINO=0 turns it off; any_batch rows equal
   batch-1 runs. */
static void test_wino(void **state)
{
    (void)state;
    const conv_case wc[] = {
        {16, 32, 12, 64, 3, 1, 1, "Relu", true, 2, 1},  /* the jet conv2's shape, 12 rows */
        {17, 12, 34, 36, 3, 1, 1, NULL, true, 2, 2},    /* odd C, partial block, tiles past tw */
        {16, 8, 40, 34, 3, 0, 1, "Sigmoid", true, 1, 1}, /* no padding, several chunks */
    };
    uint64_t seed = 23;
    unsetenv("E2E_BF16_CONV");
    const bool avail = e2e_conv_bf16_for(E2E_ISA_AUTO) != NULL;
    for (size_t i = 0; i < sizeof wc / sizeof wc[0]; i++) {
        const conv_case *c = &wc[i];
        const int64_t nx = (int64_t)c->N * c->C * c->H * c->W, nw = (int64_t)c->M * c->C * 9;
        float *x = oh_rand_buf(nx, &seed), *w = oh_rand_buf(nw, &seed), *b = oh_rand_buf(c->M, &seed);
        for (int64_t j = 0; j < nw; j++)
            w[j] -= 0.5f;
        e2e_model *m = conv_model(c, w, b);
        assert_true(runs_kernel(m, c->N, c->threads, is_bwino) == avail);
        if (!avail) {
            printf("case %zu: no bfloat16 Winograd at this level (no AVX512_BF16 at the AVX-512 "
                   "level): not run\n", i);
            free(x), free(w), free(b);
            e2e_model_free(m);
            continue;
        }
        setenv("E2E_BF16_WINO", "0", 1);
        assert_false(runs_kernel(m, c->N, c->threads, is_bwino));
        unsetenv("E2E_BF16_WINO");
        int64_t n16, n1;
        float *y16 = run(m, c, E2E_PRECISION_BF16, 1, c->N, x, 0, &n16);
        ref_exact = true;
        ref_tol = 1.0 / 128;
        const double r = check_against_ref(c, x, w, b, y16);
        ref_exact = false;
        ref_tol = 1e-5;
        printf("bf16 Winograd case %zu: worst error %.3f of 1/128 of the sum of |terms|\n", i, r);
        /* any_batch: each image's rows as at batch 1 */
        float *yall = run(m, c, E2E_PRECISION_BF16, 1, c->N, x, 1, &n16);
        assert_memory_equal(yall, y16, sizeof(float) * (size_t)n16);
        const int64_t per = (int64_t)c->C * c->H * c->W;
        for (int img = 0; img < c->N; img++) {
            float *y1 = run(m, c, E2E_PRECISION_BF16, 1, 1, x + img * per, 1, &n1);
            assert_memory_equal(y1, y16 + img * n1, sizeof(float) * (size_t)n1);
            free(y1);
        }
        /* NaN, +Inf, -Inf every 101st input: the classes of the plain float32 graph */
        const float bad[3] = {NAN, INFINITY, -INFINITY};
        for (int64_t j = 7, q = 0; j < nx; j += 101, q++)
            x[j] = bad[q % 3];
        int64_t n32;
        float *z32 = run(m, c, E2E_PRECISION_FP32, 0, c->N, x, 0, &n32);
        float *z16 = run(m, c, E2E_PRECISION_BF16, 1, c->N, x, 0, &n16);
        int64_t nonfinite = 0;
        for (int64_t j = 0; j < n32; j++) {
            if (fclass(z16[j]) != fclass(z32[j]))
                fail_msg("case %zu: y[%lld] = %g, the plain graph %g", i, (long long)j, z16[j], z32[j]);
            nonfinite += fclass(z32[j]) != 3;
        }
        assert_true(nonfinite > 0);
        free(y16), free(yall), free(z32), free(z16), free(x), free(w), free(b);
        e2e_model_free(m);
    }
}

/* x -> Conv+Relu+MaxPool (w1: M1 x C) -> Conv+Relu+MaxPool (w2: M2 x M1) -> y */
static e2e_model *chain_model(const conv_case *c1, int M2, const float *w1, const float *b1,
                              const float *w2, const float *b2)
{
    e2e_ob *b = e2e_ob_new(17, "conv_chain_bf16");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){-1, c1->C, c1->H, c1->W});
    e2e_ob_init_f32(b, "w1", 4, (int64_t[]){c1->M, c1->C, 3, 3}, w1);
    e2e_ob_init_f32(b, "b1", 1, (int64_t[]){c1->M}, b1);
    e2e_ob_init_f32(b, "w2", 4, (int64_t[]){M2, c1->M, 3, 3}, w2);
    e2e_ob_init_f32(b, "b2", 1, (int64_t[]){M2}, b2);
    const char *names[2][5] = {{"x", "w1", "b1", "c1", "a1"}, {"p1", "w2", "b2", "c2", "a2"}};
    for (int l = 0; l < 2; l++) {
        const char **nm = names[l];
        Onnx__NodeProto *n = e2e_ob_node(b, "Conv", l ? "conv2" : "conv1", 3, nm, 1, &nm[3]);
        e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){3, 3});
        e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
        e2e_ob_node(b, "Relu", l ? "relu2" : "relu1", 1, &nm[3], 1, &nm[4]);
        n = e2e_ob_node(b, "MaxPool", l ? "pool2" : "pool1", 1, &nm[4], 1,
                        (const char *[]){l ? "y" : "p1"});
        e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
        e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){2, 2});
    }
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = oh_model_pack(b, "conv_chain_bf16.onnx");
    e2e_ob_free(b);
    return m;
}

/* The two pooled convolutions chained give the bits of the two layers run as separate
   sessions, one after the other (NaN and Inf in the input included), at 1 and 2 threads; the
   chain is used exactly where the bf16 kernels are; any_batch rows equal batch-1 runs. */
static void test_chain(void **state)
{
    (void)state;
    uint64_t seed = 17;
    for (int mode = 0; mode < 2; mode++) {
        const bool used = set_conv_mode(mode);
        for (int threads = 1; threads <= 2; threads++) {
            const conv_case c1 = {5, 16, 20, 28, 3, 1, 1, "Relu", true, 3, threads};
            const conv_case c2 = {16, 12, 10, 14, 3, 1, 1, "Relu", true, 3, threads};
            const int64_t nx = (int64_t)c1.N * c1.C * c1.H * c1.W;
            float *x = oh_rand_buf(nx, &seed), *w1 = oh_rand_buf(16 * 5 * 9, &seed),
                  *b1 = oh_rand_buf(16, &seed), *w2 = oh_rand_buf(12 * 16 * 9, &seed),
                  *b2 = oh_rand_buf(12, &seed);
            for (int i = 0; i < 16 * 5 * 9; i++)
                w1[i] -= 0.5f; /* both signs, so that some outputs are Relu's zeros */
            const float bad[3] = {NAN, INFINITY, -INFINITY};
            if (threads == 2)
                for (int64_t j = 400, q = 0; j < nx; j += 997, q++)
                    x[j] = bad[q % 3];
            e2e_model *m = chain_model(&c1, 12, w1, b1, w2, b2), *ma = conv_model(&c1, w1, b1),
                      *mb = conv_model(&c2, w2, b2);
            assert_true(runs_kernel(m, c1.N, threads, is_chain) == used);
            int64_t ny, na, nb;
            float *y = run(m, &c1, E2E_PRECISION_BF16, 1, c1.N, x, 0, &ny);
            float *ya = run(ma, &c1, E2E_PRECISION_BF16, 1, c1.N, x, 0, &na);
            float *yb = run(mb, &c2, E2E_PRECISION_BF16, 1, c2.N, ya, 0, &nb);
            assert_int_equal(ny, nb);
            assert_memory_equal(y, yb, sizeof(float) * (size_t)ny);
            int64_t nonfinite = 0, zeros = 0;
            for (int64_t j = 0; j < ny; j++) {
                nonfinite += !isfinite(y[j]);
                zeros += y[j] == 0.f;
            }
            assert_true(threads == 1 || nonfinite > 0);
            float *yall = run(m, &c1, E2E_PRECISION_BF16, 1, c1.N, x, 1, &ny);
            assert_memory_equal(yall, y, sizeof(float) * (size_t)ny);
            const int64_t per = (int64_t)c1.C * c1.H * c1.W;
            /* (batch-1 rows checked where the chain runs: at the AVX2 level the float32
               convolutions of these shapes give batch-1 rows that differ in the last bits) */
            for (int img = 0; used && img < c1.N; img++) {
                int64_t n1;
                float *y1 = run(m, &c1, E2E_PRECISION_BF16, 1, 1, x + img * per, 1, &n1);
                assert_memory_equal(y1, y + img * n1, sizeof(float) * (size_t)n1);
                free(y1);
            }
            printf("%s, %d thread(s): chain %s, %lld outputs (%lld non-finite, %lld zero) as the "
                   "two layers run apart\n", mode ? "plain C" : "session's", threads,
                   used ? "used" : "not used (float32 convolutions)", (long long)ny,
                   (long long)nonfinite, (long long)zeros);
            free(y), free(ya), free(yb), free(yall), free(x), free(w1), free(b1), free(w2), free(b2);
            e2e_model_free(m), e2e_model_free(ma), e2e_model_free(mb);
        }
    }
    unsetenv("E2E_BF16_CONV");
}

static int64_t lone_ntap; /* ntap of the last bfloat16 direct kernel is_lone saw */

static bool is_lone(const e2e_kernel *k)
{
    const conv_priv *p = k->priv;
    if (strncmp(k->node->op_type, "Conv", 4) || !p || p->algo != CONV_BF16 || p->bwino)
        return false;
    lone_ntap = p->ntap;
    return p->lone_v || p->lone_h;
}

/* Odd channel counts: the lone channel C - 1's taps paired among themselves (row pairs, the
   last row's column pairs, the last tap alone; conv_internal.h, lone_v / lone_h), so a 3x3
   convolution of C channels takes (C - 1) / 2 * 9 + 5 pair taps. Against the double reference
   of the bfloat16-rounded operands (1e-5 of the sum of |terms|) and that of the float32
   operands (1/128: bf16 rounding), which the float32 plain graph meets within 1e-5; NaN, +Inf
   and -Inf in the lone channel only (corners, edges, inside) give the plain graph's classes;
   even channel counts keep the channel pairs. Square kernels 3, 4, 5 and 1x3, 2x3, 3x2 (column
   pairs only, row pairs only, no lone tap). Both kernels (the session's, plain C). */
static void test_lone_channel(void **state)
{
    (void)state;
    const struct {
        conv_case c;
        int kw; /* 0: K x K */
    } lc[] = {
        {{1, 8, 9, 33, 3, 1, 1, NULL, false, 2, 1}, 0},
        {{3, 12, 16, 18, 3, 2, 1, "Relu", true, 3, 2}, 0},
        {{5, 16, 14, 40, 3, 1, 1, "Relu", true, 2, 1}, 0},  /* qg's conv1, small */
        {{7, 8, 11, 19, 3, 1, 1, NULL, false, 2, 2}, 0},
        {{5, 8, 12, 20, 3, 0, 1, "LeakyRelu", false, 1, 1}, 0}, /* no padding */
        {{3, 8, 13, 15, 4, 1, 1, NULL, false, 2, 1}, 0},    /* KH even: row pairs only */
        {{5, 8, 16, 21, 5, 2, 2, "Relu", true, 2, 1}, 0},   /* 5x5, dilation 2 */
        {{6, 8, 12, 20, 3, 1, 1, "Relu", true, 2, 1}, 0},   /* even: no lone taps */
        {{3, 8, 10, 22, 1, 1, 1, NULL, false, 2, 1}, 3}, /* 1x3: column pairs only */
        {{5, 8, 12, 17, 2, 1, 1, "Relu", true, 1, 1}, 3}, /* 2x3: row pairs only */
        {{3, 8, 11, 16, 3, 1, 1, NULL, false, 2, 1}, 2}, /* 3x2: no lone single */
    };
    uint64_t seed = 29;
    for (int mode = 0; mode < 2; mode++) {
        const bool used = set_conv_mode(mode);
        for (size_t i = 0; i < sizeof lc / sizeof lc[0]; i++) {
            const conv_case *c = &lc[i].c;
            case_kw = lc[i].kw;
            const int KH = c->K, KW = kw_of(c), KK = KH * KW;
            const int nl = KH / 2 * KW + (KH & 1) * ((KW + 1) / 2);
            const int64_t per = (int64_t)c->C * c->H * c->W, nx = c->N * per,
                          nw = (int64_t)c->M * c->C * KK;
            float *x = oh_rand_buf(nx, &seed), *w = oh_rand_buf(nw, &seed),
                  *b = oh_rand_buf(c->M, &seed);
            for (int64_t j = 0; j < nw; j++)
                w[j] -= 0.5f;
            e2e_model *m = conv_model(c, w, b);
            lone_ntap = 0;
            assert_true(runs_kernel(m, c->N, c->threads, is_lone) == (used && (c->C & 1)));
            if (used)
                assert_int_equal(lone_ntap, (c->C & 1) ? (c->C - 1) / 2 * KK + nl : c->C / 2 * KK);
            int64_t n32, n16;
            float *y32 = run(m, c, E2E_PRECISION_FP32, 0, c->N, x, 0, &n32);
            float *y16 = run(m, c, E2E_PRECISION_BF16, 1, c->N, x, 0, &n16);
            assert_int_equal(n16, n32);
            if (!used) {
                assert_memory_equal(y16, y32, sizeof(float) * (size_t)n32);
            } else {
                const double r = check_against_ref(c, x, w, b, y16);
                /* the float32 plain graph is within 1e-5 of the sums of the float32 operands,
                   and bf16 within 1/128 of them */
                ref_exact = true;
                const double r32 = check_against_ref(c, x, w, b, y32);
                ref_tol = 1.0 / 128;
                const double re = check_against_ref(c, x, w, b, y16);
                ref_exact = false;
                ref_tol = 1e-5;
                double d = 0;
                for (int64_t j = 0; j < n32; j++)
                    d = fmax(d, fabs(y16[j] - y32[j]));
                printf("%s C %d K %dx%d: %lld pair taps, worst error %.3f of 1e-5 (rounded "
                       "operands), %.3f of 1/128 (float32 operands; the float32 graph: %.3f of 1e-5), max "
                       "|bf16 - fp32| %.2e\n", mode ? "plain C" : "session's", c->C, c->K, KW,
                       (long long)lone_ntap, r, re, r32, d);
                assert_true(d > 0); /* it did round */
            }
            /* NaN, +Inf, -Inf in the lone channel only: its corners, edges and inside */
            const float bad[3] = {NAN, INFINITY, -INFINITY};
            const int H = c->H, W = c->W;
            const int pos[][2] = {{0, 0}, {0, W - 1}, {H - 1, 0}, {H - 1, W - 1}, {H / 2, 0},
                                  {0, W / 2}, {H - 1, W / 3}, {H / 3, W - 1}, {H / 2, W / 2}};
            for (int img = 0; img < c->N; img++)
                for (size_t q = img; q < sizeof pos / sizeof pos[0]; q += 2)
                    x[img * per + (int64_t)(c->C - 1) * H * W + pos[q][0] * W + pos[q][1]] =
                        bad[(q + img) % 3];
            free(y32), free(y16);
            y32 = run(m, c, E2E_PRECISION_FP32, 0, c->N, x, 0, &n32);
            y16 = run(m, c, E2E_PRECISION_BF16, 1, c->N, x, 0, &n16);
            int64_t nonfinite = 0;
            for (int64_t j = 0; j < n32; j++) {
                if (fclass(y16[j]) != fclass(y32[j]))
                    fail_msg("C %d K %dx%d (%s): y[%lld] = %g, the plain graph %g", c->C, c->K, KW,
                             mode ? "plain C" : "session's", (long long)j, y16[j], y32[j]);
                nonfinite += fclass(y32[j]) != 3;
            }
            assert_true(nonfinite > 0);
            free(y32), free(y16), free(x), free(w), free(b);
            e2e_model_free(m);
            case_kw = 0;
        }
    }
    unsetenv("E2E_BF16_CONV");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_any_batch),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_wino),
        cmocka_unit_test(test_lone_channel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
