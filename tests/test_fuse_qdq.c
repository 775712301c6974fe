/* The QDQ folding (src/engine/passes/fuse_qdq.c, kernels src/ops/ops_quant.c): a QDQ Conv -> Relu,
   a QDQ MaxPool 2x2 (-> QMaxPool2x2 on the integers) and a QDQ Gemm (transB = 1, per-channel int8 weights, int32 biases) become QLinearConv and
   QLinearMatMul, whose outputs stay within one quantization step of optimize 0 (the graph run
   in float between DequantizeLinear and QuantizeLinear) and equal it almost everywhere; a bias
   whose scale is not x_scale * w_scale leaves the pattern alone (and its weights are folded
   after the pass). The weights' float copies are made only where a float kernel reads them. Runs at every ISA level
   (tests/run_all.sh), so the AVX512-VNNI, AVX-VNNI, plain AVX2 and generic kernels all meet
   the plain graph. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "op_harness.h"
#include "onnx/onnx_build.h"
#include "engine/session.h"

enum { C = 3, H = 16, W = 16, M = 8, F = 10, KF = M * (H / 2) * (W / 2) };

static int count_op(const e2e_session *s, const char *op)
{
    int n = 0;
    for (int i = 0; i < s->n_kernels; i++)
        if (!strcmp(s->kernels[i].node->op_type, op))
            n++;
    return n;
}

/* Folded constants the session holds (s->owned): the float copies of DequantizeLinear. */
static int n_owned(const e2e_session *s)
{
    int n = 0;
    for (int i = 0; i < s->n_values; i++)
        n += s->owned[i] != NULL;
    return n;
}

static uint64_t rs = 12345;
static int rnd(int lo, int hi)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int)((rs >> 33) % (uint64_t)(hi - lo + 1));
}

static void qdq(e2e_ob *b, const char *x, const char *name, float s, uint8_t z)
{
    char sn[64], zn[64], qn[64], dn[64];
    snprintf(sn, sizeof sn, "%s_s", name);
    snprintf(zn, sizeof zn, "%s_z", name);
    snprintf(qn, sizeof qn, "%s_q", name);
    snprintf(dn, sizeof dn, "%s_dq", name);
    e2e_ob_init_f32(b, sn, 0, NULL, &s);
    e2e_ob_init_raw(b, zn, E2E_UINT8, 0, NULL, &z, 1);
    e2e_ob_node(b, "QuantizeLinear", qn, 3, (const char *[]){x, sn, zn}, 1, (const char *[]){qn});
    e2e_ob_node(b, "DequantizeLinear", dn, 3, (const char *[]){qn, sn, zn}, 1, (const char *[]){dn});
}

/* per-channel int8 weights w [n][k] with scales ws, int32 bias (scale xs * ws, times
   bias_off) */
static void weights(e2e_ob *b, const char *name, int rank, const int64_t *dims, int n, int k,
                    float xs, float wscale, float bias_off)
{
    int8_t *w = malloc((size_t)(n * k));
    float ws[16], bs[16];
    int32_t bq[16], z32[16] = {0};
    int8_t z8[16] = {0};
    for (int i = 0; i < n * k; i++)
        w[i] = (int8_t)rnd(-127, 127);
    for (int i = 0; i < n; i++) {
        ws[i] = wscale * (float)rnd(5, 15) / 10.f;
        bs[i] = xs * ws[i] * bias_off;
        bq[i] = rnd(-2000, 2000);
    }
    char t[64], t2[64], t3[64], o[64];
    snprintf(t, sizeof t, "%s_wq", name);
    snprintf(t2, sizeof t2, "%s_ws", name);
    snprintf(t3, sizeof t3, "%s_wz", name);
    snprintf(o, sizeof o, "%s_w", name);
    e2e_ob_init_raw(b, t, E2E_INT8, rank, dims, w, (size_t)(n * k));
    e2e_ob_init_f32(b, t2, 1, (int64_t[]){n}, ws);
    e2e_ob_init_raw(b, t3, E2E_INT8, 1, (int64_t[]){n}, z8, (size_t)n);
    Onnx__NodeProto *d = e2e_ob_node(b, "DequantizeLinear", o, 3, (const char *[]){t, t2, t3}, 1,
                                     (const char *[]){o});
    e2e_ob_attr_int(b, d, "axis", 0);
    snprintf(t, sizeof t, "%s_bq", name);
    snprintf(t2, sizeof t2, "%s_bs", name);
    snprintf(t3, sizeof t3, "%s_bz", name);
    snprintf(o, sizeof o, "%s_b", name);
    e2e_ob_init_raw(b, t, E2E_INT32, 1, (int64_t[]){n}, bq, sizeof(int32_t) * (size_t)n);
    e2e_ob_init_f32(b, t2, 1, (int64_t[]){n}, bs);
    e2e_ob_init_raw(b, t3, E2E_INT32, 1, (int64_t[]){n}, z32, sizeof(int32_t) * (size_t)n);
    d = e2e_ob_node(b, "DequantizeLinear", o, 3, (const char *[]){t, t2, t3}, 1, (const char *[]){o});
    e2e_ob_attr_int(b, d, "axis", 0);
    free(w);
}

/* x -> QDQ -> Conv 3x3 pad 1 (QDQ weights, bias) -> Relu -> QDQ -> MaxPool 2x2 -> QDQ ->
   Flatten -> QDQ ->
   Gemm transB=1 (QDQ weights, bias) -> QDQ -> y; pool_qdq false: no QDQ between the MaxPool
   and the Flatten (as in the taggers: MaxPool -> Flatten -> QDQ folds with the Flatten) */
static e2e_model *build(float bias_off, bool pool_qdq)
{
    const float s0 = 1.f / 255.f, s1 = 0.05f, s3 = 0.5f;
    e2e_ob *b = e2e_ob_new(13, "qdq");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, C, H, W});
    qdq(b, "x", "x", s0, 0);
    weights(b, "conv", 4, (int64_t[]){M, C, 3, 3}, M, C * 9, s0, 0.004f, bias_off);
    Onnx__NodeProto *n = e2e_ob_node(b, "Conv", "conv", 3, (const char *[]){"x_dq", "conv_w", "conv_b"},
                                     1, (const char *[]){"c"});
    e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    e2e_ob_node(b, "Relu", "relu", 1, (const char *[]){"c"}, 1, (const char *[]){"r"});
    qdq(b, "r", "r", s1, 0);
    n = e2e_ob_node(b, "MaxPool", "pool", 1, (const char *[]){"r_dq"}, 1, (const char *[]){"p"});
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
    e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){2, 2});
    if (pool_qdq)
        qdq(b, "p", "p", s1, 0);
    e2e_ob_node(b, "Flatten", "flat", 1, (const char *[]){pool_qdq ? "p_dq" : "p"}, 1, (const char *[]){"f"});
    qdq(b, "f", "f", s1, 0);
    weights(b, "fc", 2, (int64_t[]){F, KF}, F, KF, s1, 0.0005f, 1.f);
    n = e2e_ob_node(b, "Gemm", "fc", 3, (const char *[]){"f_dq", "fc_w", "fc_b"}, 1, (const char *[]){"g"});
    e2e_ob_attr_int(b, n, "transB", 1);
    qdq(b, "g", "y", s3, 128);
    e2e_ob_output(b, "y_dq", E2E_FLOAT, 2, (int64_t[]){1, F});
    e2e_model *m = oh_model_pack(b, "qdq.onnx");
    e2e_ob_free(b);
    return m;
}

static void run(const e2e_model *m, int optimize, const float *x, float *y, e2e_session **keep)
{
    e2e_session_options o = e2e_session_options_default();
    o.optimize = optimize;
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("optimize %d: %s", optimize, err.message);
    e2e_tensor_view in = e2e_tensor_view_f32("x", (float *)x, 4, (int64_t[]){1, C, H, W});
    e2e_tensor_view out;
    if (e2e_session_run(s, &in, 1, &err) || e2e_session_output(s, 0, &out))
        fail_msg("optimize %d: %s", optimize, err.message);
    memcpy(y, out.data, sizeof(float) * F);
    *keep = s;
}

static void test_qdq_folded(void **state)
{
    (void)state;
    static float x[C * H * W];
    int diff = 0;
    for (int t = 0; t < 8; t++) {
        e2e_model *m = build(1.f, t % 2 == 0);
        for (int i = 0; i < C * H * W; i++)
            x[i] = (float)rnd(0, 1000) / 1000.f;
        float y0[F], y1[F];
        e2e_session *s0, *s1;
        run(m, 0, x, y0, &s0);
        run(m, 1, x, y1, &s1);
        assert_int_equal(count_op(s1, "QLinearConv"), 1);
        assert_int_equal(count_op(s1, "QLinearMatMul"), 1);
        assert_int_equal(count_op(s1, "QMaxPool2x2"), 1);
        assert_int_equal(count_op(s1, "Conv") + count_op(s1, "Gemm") + count_op(s1, "MaxPool"), 0);
        if (t % 2) { /* MaxPool -> Flatten -> QDQ: one QMaxPool2x2; only y's DequantizeLinear left */
            assert_int_equal(count_op(s1, "Flatten"), 0);
            assert_int_equal(count_op(s1, "DequantizeLinear"), 1);
        }
        assert_int_equal(count_op(s0, "Conv"), 1);
        /* the weights' and biases' DequantizeLinear: folded into float copies at optimize 0,
           never run (no float copy made) when the QLinear kernels take their integers */
        assert_int_equal(n_owned(s0), 4);
        assert_int_equal(s1->n_folded, 0);
        assert_int_equal(n_owned(s1), 0);
        for (int i = 0; i < F; i++) {
            if (fabsf(y0[i] - y1[i]) > 0.5f + 1e-6f) /* one step of y (scale 0.5) */
                fail_msg("run %d: output %d is %g folded, %g plain: more than one step", t, i, y1[i], y0[i]);
            diff += y0[i] != y1[i];
        }
        e2e_session_free(s0);
        e2e_session_free(s1);
        e2e_model_free(m);
    }
    print_message("%d of %d outputs differ by one step\n", diff, 8 * F);
    /* ties within float rounding are rare: nearly every output is the same */
    assert_true(diff <= 8);
}

static void test_qdq_bias_scale_mismatch(void **state)
{
    (void)state;
    e2e_model *m = build(2.f, true); /* conv bias scale 2 * x_scale * w_scale */
    static float x[C * H * W];
    for (int i = 0; i < C * H * W; i++)
        x[i] = (float)rnd(0, 1000) / 1000.f;
    float y0[F], y1[F];
    e2e_session *s0, *s1;
    run(m, 0, x, y0, &s0);
    run(m, 1, x, y1, &s1);
    assert_int_equal(count_op(s1, "Conv"), 1);
    assert_int_equal(count_op(s1, "QLinearConv"), 0);
    assert_int_equal(count_op(s1, "QLinearMatMul"), 1);
    /* the Conv left alone reads its weights and bias folded after the QDQ pass (session.c,
       e2e_session_fold_deferred); the Gemm's were never folded */
    assert_int_equal(n_owned(s1), 2);
    for (int i = 0; i < F; i++)
        assert_true(fabsf(y0[i] - y1[i]) <= 0.5f + 1e-6f);
    e2e_session_free(s0);
    e2e_session_free(s1);
    e2e_model_free(m);
}

/* the same with AVX-VNNI turned off (E2E_AVX_VNNI=0): at the AVX2 level on a CPU that has it,
   the plain AVX2 integer kernels meet the plain graph too */
static void test_qdq_folded_no_avx_vnni(void **state)
{
    setenv("E2E_AVX_VNNI", "0", 1);
    test_qdq_folded(state);
    unsetenv("E2E_AVX_VNNI");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qdq_folded),
        cmocka_unit_test(test_qdq_folded_no_avx_vnni),
        cmocka_unit_test(test_qdq_bias_scale_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
