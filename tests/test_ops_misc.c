/* Atan, Sign, Round, IsNaN, IsInf (ops_unary.c), Mod (ops_binary.c), DepthToSpace and
   SpaceToDepth (ops_layout.c): the rules that are easy to get wrong, written out by hand
   (remainder signs, ties, infinities, the two DepthToSpace orders). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "op_harness.h"

/* Runs a one-input, one-output node; out stays valid until oh_free(n). */
static void run1(oh_node *n, e2e_tensor_view *out)
{
    e2e_error err;
    if (oh_run(n, 1, out, &err))
        fail_msg("%s", err.message);
}

static void test_mod_signs(void **state)
{
    (void)state;
    const int32_t a[] = {7, -7, 7, -7, 6, -6, 5, INT32_MIN, 3};
    const int32_t b[] = {3, 3, -3, -3, 3, -3, 0, -1, 5};
    const int32_t python[] = {1, 2, -2, -1, 0, 0, 0, 0, 3};   /* divisor's sign */
    const int32_t c_fmod[] = {1, -1, 1, -1, 0, 0, 0, 0, 3};   /* dividend's sign */
    for (int fm = 0; fm <= 1; fm++) {
        oh_node *n = oh_new("Mod", 13);
        oh_attr_int(n, "fmod", fm);
        oh_input(n, E2E_INT32, 1, (int64_t[]){9}, a, false);
        oh_input(n, E2E_INT32, 1, (int64_t[]){9}, b, false);
        e2e_tensor_view out;
        run1(n, &out);
        assert_int_equal(out.dtype, E2E_INT32);
        const int32_t *y = out.data, *ref = fm ? c_fmod : python;
        for (int i = 0; i < 9; i++)
            if (y[i] != ref[i])
                fail_msg("fmod=%d: %d mod %d gave %d, expected %d", fm, a[i], b[i], y[i], ref[i]);
        oh_free(n);
    }
    /* int64 with a broadcast scalar divisor */
    const int64_t a64[] = {-10, 10, -1, 0};
    const int64_t b64 = -4, ref64[] = {-2, -2, -1, 0};
    oh_node *n = oh_new("Mod", 13);
    oh_input(n, E2E_INT64, 1, (int64_t[]){4}, a64, false);
    oh_input(n, E2E_INT64, 0, NULL, &b64, true);
    e2e_tensor_view out;
    run1(n, &out);
    for (int i = 0; i < 4; i++)
        assert_int_equal(((const int64_t *)out.data)[i], ref64[i]);
    oh_free(n);
    /* float: fmod=1 is C fmod, fmod=0 takes the divisor's sign */
    const float fa[] = {5.5f, -5.5f, 5.5f, -5.5f}, fb[] = {2.f, 2.f, -2.f, -2.f};
    const float ff[] = {1.5f, -1.5f, 1.5f, -1.5f}, fp[] = {1.5f, 0.5f, -0.5f, -1.5f};
    for (int fm = 0; fm <= 1; fm++) {
        n = oh_new("Mod", 13);
        oh_attr_int(n, "fmod", fm);
        oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, fa, false);
        oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, fb, false);
        run1(n, &out);
        for (int i = 0; i < 4; i++)
            assert_float_equal(((const float *)out.data)[i], fm ? ff[i] : fp[i], 0.f);
        oh_free(n);
    }
}

static void test_round_sign_atan(void **state)
{
    (void)state;
    const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4f, 2.6f, -2.6f, 0.f,
                       1e10f, INFINITY, -INFINITY, NAN};
    const float round_ref[] = {0.f, 2.f, 2.f, -0.f, -2.f, -2.f, 2.f, 3.f, -3.f, 0.f,
                               1e10f, INFINITY, -INFINITY, NAN};
    const int N = 14;
    oh_node *n = oh_new("Round", 11);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){N}, x, false);
    e2e_tensor_view out;
    run1(n, &out);
    const float *y = out.data;
    for (int i = 0; i < N; i++) {
        if (isnan(round_ref[i]))
            assert_true(isnan(y[i]));
        else if (y[i] != round_ref[i])
            fail_msg("Round(%g) gave %g, expected %g", (double)x[i], (double)y[i],
                     (double)round_ref[i]);
    }
    oh_free(n);

    n = oh_new("Sign", 13);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){N}, x, false);
    run1(n, &out);
    y = out.data;
    for (int i = 0; i < N - 1; i++)
        assert_float_equal(y[i], x[i] > 0 ? 1.f : x[i] < 0 ? -1.f : 0.f, 0.f);
    assert_true(isnan(y[N - 1]));
    oh_free(n);

    const int64_t xi[] = {-5, 0, 9, INT64_MIN};
    n = oh_new("Sign", 13);
    oh_input(n, E2E_INT64, 1, (int64_t[]){4}, xi, false);
    run1(n, &out);
    const int64_t si[] = {-1, 0, 1, -1};
    for (int i = 0; i < 4; i++)
        assert_int_equal(((const int64_t *)out.data)[i], si[i]);
    oh_free(n);

    n = oh_new("Atan", 7);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){N - 1}, x, false);
    run1(n, &out);
    for (int i = 0; i < N - 1; i++)
        assert_float_equal(((const float *)out.data)[i], atanf(x[i]), 1e-6f);
    oh_free(n);
}

static void test_isnan_isinf(void **state)
{
    (void)state;
    const float x[] = {1.f, NAN, INFINITY, -INFINITY, -0.f, 3e38f};
    const uint8_t nan_ref[] = {0, 1, 0, 0, 0, 0};
    const uint8_t inf_ref[3][6] = {{0, 0, 1, 1, 0, 0}, {0, 0, 1, 0, 0, 0}, {0, 0, 0, 1, 0, 0}};
    oh_node *n = oh_new("IsNaN", 13);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){6}, x, false);
    e2e_tensor_view out;
    run1(n, &out);
    assert_int_equal(out.dtype, E2E_BOOL);
    assert_memory_equal(out.data, nan_ref, 6);
    oh_free(n);
    for (int m = 0; m < 3; m++) {
        n = oh_new("IsInf", 10);
        if (m == 1)
            oh_attr_int(n, "detect_negative", 0);
        if (m == 2)
            oh_attr_int(n, "detect_positive", 0);
        oh_input(n, E2E_FLOAT, 1, (int64_t[]){6}, x, false);
        run1(n, &out);
        assert_int_equal(out.dtype, E2E_BOOL);
        assert_memory_equal(out.data, inf_ref[m], 6);
        oh_free(n);
    }
}

/* DepthToSpace of a 1 x 8 x 2 x 3 ramp against the ONNX definition written as index maps,
   then SpaceToDepth undoes the DCR form. */
static void test_depth_space(void **state)
{
    (void)state;
    enum { C = 8, H = 2, W = 3, B = 2, C2 = C / (B * B) };
    float x[C * H * W];
    for (int i = 0; i < C * H * W; i++)
        x[i] = (float)i;
    for (int crd = 0; crd <= 1; crd++) {
        oh_node *n = oh_new("DepthToSpace", 13);
        oh_attr_int(n, "blocksize", B);
        oh_attr_string(n, "mode", crd ? "CRD" : "DCR");
        oh_input(n, E2E_FLOAT, 4, (int64_t[]){1, C, H, W}, x, false);
        e2e_tensor_view out;
        run1(n, &out);
        assert_int_equal(out.rank, 4);
        assert_int_equal(out.dims[1], C2);
        assert_int_equal(out.dims[2], H * B);
        assert_int_equal(out.dims[3], W * B);
        const float *y = out.data;
        for (int c = 0; c < C2; c++)
            for (int h = 0; h < H * B; h++)
                for (int w = 0; w < W * B; w++) {
                    int bh = h % B, bw = w % B;
                    int ic = crd ? c * B * B + bh * B + bw : (bh * B + bw) * C2 + c;
                    float want = x[(ic * H + h / B) * W + w / B];
                    assert_float_equal(y[(c * H * B + h) * W * B + w], want, 0.f);
                }
        if (!crd) {
            oh_node *m = oh_new("SpaceToDepth", 13);
            oh_attr_int(m, "blocksize", B);
            oh_input(m, E2E_FLOAT, 4, (int64_t[]){1, C2, H * B, W * B}, y, false);
            e2e_tensor_view back;
            run1(m, &back);
            assert_int_equal(back.dims[1], C);
            assert_memory_equal(back.data, x, sizeof x);
            oh_free(m);
        }
        oh_free(n);
    }
    /* channels not a multiple of blocksize^2 */
    oh_node *n = oh_new("DepthToSpace", 13);
    oh_attr_int(n, "blocksize", 3);
    oh_input(n, E2E_FLOAT, 4, (int64_t[]){1, C, H, W}, x, false);
    e2e_tensor_view out;
    e2e_error err;
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_ERR_SHAPE);
    assert_non_null(strstr(err.message, "blocksize"));
    oh_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mod_signs),
        cmocka_unit_test(test_round_sign_atan),
        cmocka_unit_test(test_isnan_isinf),
        cmocka_unit_test(test_depth_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
