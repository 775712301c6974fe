/* Reduce*, Softmax/LogSoftmax and Resize against naive references and hand-computed examples. */
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

#define RTOL 1e-4
#define ATOL 1e-5

static uint64_t rng = 4242;

/* op_harness.h\'s helpers on this file\'s random stream and tolerances */
#define rnd(lo, hi) oh_rand_int(lo, hi, &rng)
#define numel oh_numel
#define expect_close(got, ref, n, what) oh_expect_close(got, ref, n, RTOL, ATOL, what)

/* ------------------------------------------------------------------ Reduce* */

enum { K_SUM, K_MEAN, K_MAX, K_MIN, K_PROD, K_L1, K_L2, K_SUMSQ, K_LOGSUM, K_LSE, K_COUNT };
static const char *const kind_op[K_COUNT] = {
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
    "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"};

/* Output index (keepdims layout) of input flat index i. */
static int64_t out_index(int rank, const int64_t *d, const bool *red, int64_t i)
{
    int64_t o = 0, mul = 1;
    for (int a = rank - 1; a >= 0; a--) {
        int64_t c = i % d[a];
        i /= d[a];
        if (!red[a]) {
            o += c * mul;
            mul *= d[a];
        }
    }
    return o;
}

static void reduce_ref(int kind, int rank, const int64_t *d, const bool *red, const float *x,
                       double *y, int64_t ny)
{
    int64_t n = numel(rank, d), cnt = n / (ny ? ny : 1);
    double *m = calloc((size_t)ny + 1, sizeof *m);
    for (int64_t o = 0; o < ny; o++) {
        m[o] = -INFINITY;
        y[o] = kind == K_PROD ? 1 : kind == K_MAX ? -INFINITY : kind == K_MIN ? INFINITY : 0;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t o = out_index(rank, d, red, i);
        m[o] = fmax(m[o], x[i]);
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t o = out_index(rank, d, red, i);
        double v = x[i];
        switch (kind) {
        case K_SUM: case K_MEAN: case K_LOGSUM: y[o] += v; break;
        case K_MAX: y[o] = fmax(y[o], v); break;
        case K_MIN: y[o] = fmin(y[o], v); break;
        case K_PROD: y[o] *= v; break;
        case K_L1: y[o] += fabs(v); break;
        case K_L2: case K_SUMSQ: y[o] += v * v; break;
        case K_LSE: y[o] += exp(v - m[o]); break;
        }
    }
    for (int64_t o = 0; o < ny; o++) {
        switch (kind) {
        case K_MEAN: y[o] /= (double)cnt; break;
        case K_L2: y[o] = sqrt(y[o]); break;
        case K_LOGSUM: y[o] = log(y[o]); break;
        case K_LSE: y[o] = m[o] + log(y[o]); break;
        }
    }
    free(m);
}

/* One random case: kind, opset (axes as attribute or input), keepdims, maybe all axes. */
static void reduce_case(int kind, int opset)
{
    int rank = rnd(1, 5);
    int64_t d[8];
    for (int i = 0; i < rank; i++)
        d[i] = rnd(1, 6);
    bool red[8] = {false};
    int64_t axes[8];
    int na = 0;
    int mode = rnd(0, 4); /* 0: no axes (all), else a random subset */
    if (mode)
        for (int i = 0; i < rank; i++)
            if (rnd(0, 1)) {
                red[i] = true;
                axes[na++] = rnd(0, 1) ? i : i - rank; /* negative axes too */
            }
    if (na == 0)
        for (int i = 0; i < rank; i++)
            red[i] = true;
    /* shuffle the order of the listed axes */
    for (int i = na - 1; i > 0; i--) {
        int j = rnd(0, i);
        int64_t t = axes[i]; axes[i] = axes[j]; axes[j] = t;
    }
    int keep = rnd(0, 1);
    int64_t n = numel(rank, d);
    float *x = malloc(sizeof(float) * (size_t)n);
    bool positive = kind == K_LOGSUM || kind == K_PROD;
    oh_fill_random(x, n, positive ? 0.5f : -2.f, positive ? 1.5f : 2.f, &rng);

    bool axes_input = opset >= 18 || (kind == K_SUM && opset >= 13);
    oh_node *nd = oh_new(kind_op[kind], opset);
    oh_attr_int(nd, "keepdims", keep);
    oh_input(nd, E2E_FLOAT, rank, d, x, false);
    if (na) {
        if (axes_input)
            oh_input(nd, E2E_INT64, 1, (int64_t[]){na}, axes, true);
        else
            oh_attr_ints(nd, "axes", axes, na);
    }
    e2e_tensor_view y;
    e2e_error err;
    e2e_status st = oh_run(nd, 1, &y, &err);
    if (st)
        fail_msg("%s: %s", kind_op[kind], err.message);
    int64_t ny = 1, er = 0;
    for (int i = 0; i < rank; i++) {
        if (!red[i])
            ny *= d[i];
        if (!red[i] || keep)
            assert_int_equal(y.dims[er++], red[i] ? 1 : d[i]);
    }
    assert_int_equal(y.rank, er);
    double *ref = malloc(sizeof(double) * (size_t)ny);
    float *reff = malloc(sizeof(float) * (size_t)ny);
    reduce_ref(kind, rank, d, red, x, ref, ny);
    for (int64_t i = 0; i < ny; i++)
        reff[i] = (float)ref[i];
    char what[128];
    snprintf(what, sizeof what, "%s opset %d rank %d axes %d keep %d", kind_op[kind], opset, rank,
             na, keep);
    expect_close(&y, reff, ny, what);
    free(ref);
    free(reff);
    free(x);
    oh_free(nd);
}

static void test_reduce_random(void **state)
{
    (void)state;
    for (int kind = 0; kind < K_COUNT; kind++)
        for (int rep = 0; rep < 30; rep++) {
            reduce_case(kind, 18);
            reduce_case(kind, 13);
            reduce_case(kind, 11);
        }
}

/* A large contiguous row and a large strided column (the two fast paths). */
static void test_reduce_large(void **state)
{
    (void)state;
    int64_t d[3] = {3, 1000, 17};
    int64_t n = numel(3, d);
    float *x = malloc(sizeof(float) * (size_t)n);
    oh_fill_random(x, n, -1.f, 1.f, &rng);
    for (int axis = 0; axis < 3; axis++)
        for (int kind = K_SUM; kind <= K_MAX; kind++) {
            oh_node *nd = oh_new(kind_op[kind], 18);
            oh_input(nd, E2E_FLOAT, 3, d, x, false);
            oh_input(nd, E2E_INT64, 1, (int64_t[]){1}, (int64_t[]){axis}, true);
            e2e_tensor_view y;
            e2e_error err;
            assert_int_equal(oh_run(nd, 1, &y, &err), E2E_OK);
            bool red[3] = {axis == 0, axis == 1, axis == 2};
            int64_t ny = n / d[axis];
            double *ref = malloc(sizeof(double) * (size_t)ny);
            float *reff = malloc(sizeof(float) * (size_t)ny);
            reduce_ref(kind, 3, d, red, x, ref, ny);
            for (int64_t i = 0; i < ny; i++)
                reff[i] = (float)ref[i];
            expect_close(&y, reff, ny, kind_op[kind]);
            free(ref);
            free(reff);
            oh_free(nd);
        }
    free(x);
}

static void test_reduce_ints(void **state)
{
    (void)state;
    int64_t x64[6] = {3, -7, 2, 5, 1, 4};
    int32_t x32[6] = {3, -7, 2, 5, 1, 4};
    int64_t d[2] = {2, 3};
    struct { const char *op; int64_t axis; int64_t want[3]; int nw; } cases[] = {
        {"ReduceSum", 1, {-2, 10}, 2},  {"ReduceMax", 0, {5, 1, 4}, 3},
        {"ReduceMin", 1, {-7, 1}, 2},   {"ReduceProd", 1, {-42, 20}, 2},
        {"ReduceMean", 1, {0, 3}, 2},   {"ReduceSumSquare", 0, {34, 50, 20}, 3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int w = 0; w < 2; w++) {
            oh_node *nd = oh_new(cases[c].op, 18);
            oh_attr_int(nd, "keepdims", 0);
            if (w)
                oh_input(nd, E2E_INT32, 2, d, x32, false);
            else
                oh_input(nd, E2E_INT64, 2, d, x64, false);
            oh_input(nd, E2E_INT64, 1, (int64_t[]){1}, &cases[c].axis, true);
            e2e_tensor_view y;
            e2e_error err;
            if (oh_run(nd, 1, &y, &err))
                fail_msg("%s: %s", cases[c].op, err.message);
            assert_int_equal(y.rank, 1);
            assert_int_equal(y.dims[0], cases[c].nw);
            for (int i = 0; i < cases[c].nw; i++) {
                int64_t got = w ? ((int32_t *)y.data)[i] : ((int64_t *)y.data)[i];
                if (got != cases[c].want[i])
                    fail_msg("%s %s [%d]: %lld, want %lld", cases[c].op, w ? "int32" : "int64", i,
                             (long long)got, (long long)cases[c].want[i]);
            }
            oh_free(nd);
        }
}

static void test_reduce_noop_and_errors(void **state)
{
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t d[2] = {2, 3};
    e2e_tensor_view y;
    e2e_error err;
    /* empty axes + noop_with_empty_axes: a copy */
    oh_node *nd = oh_new("ReduceSum", 13);
    oh_attr_int(nd, "noop_with_empty_axes", 1);
    oh_input(nd, E2E_FLOAT, 2, d, x, false);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){0}, NULL, true);
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_OK);
    assert_int_equal(y.rank, 2);
    assert_memory_equal(y.data, x, sizeof x);
    oh_free(nd);
    /* empty axes without noop: everything */
    nd = oh_new("ReduceMean", 18);
    oh_attr_int(nd, "keepdims", 0);
    oh_input(nd, E2E_FLOAT, 2, d, x, false);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){0}, NULL, true);
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_OK);
    assert_int_equal(y.rank, 0);
    assert_float_equal(((float *)y.data)[0], 3.5f, 1e-6);
    oh_free(nd);
    /* axes from a graph input: the output shape is unknown at session creation */
    nd = oh_new("ReduceMax", 18);
    oh_input(nd, E2E_FLOAT, 2, d, x, false);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){1}, (int64_t[]){1}, false);
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_ERR_DYNAMIC);
    assert_non_null(strstr(err.message, "\"n0\""));
    oh_free(nd);
    /* out-of-range and repeated axes */
    nd = oh_new("ReduceSum", 11);
    oh_attr_ints(nd, "axes", (int64_t[]){2}, 1);
    oh_input(nd, E2E_FLOAT, 2, d, x, false);
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_ERR_INVALID);
    oh_free(nd);
    nd = oh_new("ReduceSum", 11);
    oh_attr_ints(nd, "axes", (int64_t[]){1, -1}, 2);
    oh_input(nd, E2E_FLOAT, 2, d, x, false);
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_ERR_INVALID);
    assert_non_null(strstr(err.message, "twice"));
    oh_free(nd);
    /* reduction over an empty set gives the identity */
    nd = oh_new("ReduceMax", 18);
    oh_input(nd, E2E_FLOAT, 2, (int64_t[]){2, 0}, NULL, false);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){1}, (int64_t[]){1}, true);
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_OK);
    assert_int_equal(y.dims[0], 2);
    assert_true(isinf(((float *)y.data)[0]) && ((float *)y.data)[0] < 0);
    oh_free(nd);
}

/* ------------------------------------------------------------------ Softmax */

/* [outer, n, inner] normalisation in double. */
static void softmax_ref(const float *x, float *y, int64_t outer, int64_t n, int64_t inner, bool lg)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xs = x + o * n * inner + i;
            float *ys = y + o * n * inner + i;
            double m = -INFINITY, s = 0;
            for (int64_t r = 0; r < n; r++)
                m = fmax(m, xs[r * inner]);
            for (int64_t r = 0; r < n; r++)
                s += exp(xs[r * inner] - m);
            for (int64_t r = 0; r < n; r++)
                ys[r * inner] = lg ? (float)(xs[r * inner] - m - log(s))
                                   : (float)(exp(xs[r * inner] - m) / s);
        }
}

static void softmax_case(bool lg, int opset, int rank, const int64_t *d, int axis, bool has_axis)
{
    int64_t n = numel(rank, d);
    float *x = malloc(sizeof(float) * (size_t)n), *ref = malloc(sizeof(float) * (size_t)n);
    oh_fill_random(x, n, -8.f, 8.f, &rng);
    oh_node *nd = oh_new(lg ? "LogSoftmax" : "Softmax", opset);
    if (has_axis)
        oh_attr_int(nd, "axis", axis);
    oh_input(nd, E2E_FLOAT, rank, d, x, false);
    e2e_tensor_view y;
    e2e_error err;
    if (oh_run(nd, 1, &y, &err))
        fail_msg("%s", err.message);
    int a = has_axis ? (axis < 0 ? axis + rank : axis) : (opset < 13 ? 1 : rank - 1);
    int64_t outer = 1, mid = 1, inner = 1;
    for (int i = 0; i < rank; i++) {
        if (i < a)
            outer *= d[i];
        else if (i == a || opset < 13)
            mid *= d[i];
        else
            inner *= d[i];
    }
    softmax_ref(x, ref, outer, mid, inner, lg);
    char what[128];
    snprintf(what, sizeof what, "%s opset %d rank %d axis %d", lg ? "LogSoftmax" : "Softmax", opset,
             rank, a);
    expect_close(&y, ref, n, what);
    free(x);
    free(ref);
    oh_free(nd);
}

static void test_softmax_random(void **state)
{
    (void)state;
    for (int rep = 0; rep < 40; rep++) {
        int rank = rnd(1, 4);
        int64_t d[4];
        for (int i = 0; i < rank; i++)
            d[i] = rnd(1, 7);
        int axis = rnd(-rank, rank - 1);
        bool has_axis = rank >= 2 ? rnd(0, 3) != 0 : true;
        for (int lg = 0; lg < 2; lg++) {
            softmax_case(lg, 13, rank, d, axis, has_axis);
            softmax_case(lg, 11, rank, d, axis, has_axis);
            softmax_case(lg, 1, rank, d, axis, has_axis);
        }
    }
    /* ViT attention: [batch, heads, tokens, tokens], last axis */
    int64_t att[4] = {2, 3, 65, 65};
    softmax_case(false, 13, 4, att, -1, false);
    softmax_case(true, 13, 4, att, 3, true);
}

static void test_softmax_opset_semantics(void **state)
{
    (void)state;
    /* the same [2, 2, 2] input, axis 1: opset 11 normalises the trailing 4 values together,
       opset 13 only the 2 values along axis 1 */
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t d[3] = {2, 2, 2};
    for (int opset = 11; opset <= 13; opset += 2) {
        oh_node *nd = oh_new("Softmax", opset);
        oh_attr_int(nd, "axis", 1);
        oh_input(nd, E2E_FLOAT, 3, d, x, false);
        e2e_tensor_view y;
        e2e_error err;
        assert_int_equal(oh_run(nd, 1, &y, &err), E2E_OK);
        const float *v = y.data;
        float s = v[0] + v[1] + v[2] + v[3];
        if (opset == 11)
            assert_float_equal(s, 1.0f, 1e-5);
        else {
            assert_float_equal(v[0] + v[2], 1.0f, 1e-5);
            assert_float_equal(v[1] + v[3], 1.0f, 1e-5);
            assert_float_equal(s, 2.0f, 1e-5);
        }
        oh_free(nd);
    }
    /* large values stay finite */
    float big[4] = {10000, 10001, 10002, 10003};
    oh_node *nd = oh_new("Softmax", 13);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){4}, big, false);
    e2e_tensor_view y;
    e2e_error err;
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_OK);
    assert_float_equal(((float *)y.data)[3], 0.6439143f, 1e-5);
    oh_free(nd);
}

/* ------------------------------------------------------------------ Resize */

static void resize_run_check(oh_node *nd, int rank, const int64_t *want_dims, const float *want,
                             const char *what)
{
    e2e_tensor_view y;
    e2e_error err;
    if (oh_run(nd, 1, &y, &err))
        fail_msg("%s: %s", what, err.message);
    assert_int_equal(y.rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(y.dims[i], want_dims[i]);
    expect_close(&y, want, numel(rank, want_dims), what);
    oh_free(nd);
}

static void test_resize_known(void **state)
{
    (void)state;
    float x22[4] = {1, 2, 3, 4};
    int64_t d22[4] = {1, 1, 2, 2};

    /* nearest, half_pixel, round_prefer_floor, scales 2 x 3:
       rows y=0..3 -> (y+.5)/2-.5 = -.25 .25 .75 1.25 -> 0 0 1 1
       cols x=0..5 -> (x+.5)/3-.5 = -.33 0 .33 .67 1 1.33 -> 0 0 0 1 1 1 */
    oh_node *nd = oh_new("Resize", 19);
    oh_attr_string(nd, "mode", "nearest");
    oh_input(nd, E2E_FLOAT, 4, d22, x22, false);
    oh_input_none(nd);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){4}, (float[]){1, 1, 2, 3}, true);
    float w1[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
    resize_run_check(nd, 4, (int64_t[]){1, 1, 4, 6}, w1, "nearest 2x3");

    /* linear, half_pixel, scales 2: coordinates -.25 .25 .75 1.25 clamp at the edges:
       weights per axis {1}, {.75 .25}, {.25 .75}, {1} */
    nd = oh_new("Resize", 13);
    oh_attr_string(nd, "mode", "linear");
    oh_input(nd, E2E_FLOAT, 4, d22, x22, false);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){0}, NULL, true); /* empty roi */
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){4}, (float[]){1, 1, 2, 2}, true);
    float w2[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                    2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
    resize_run_check(nd, 4, (int64_t[]){1, 1, 4, 4}, w2, "linear half_pixel");

    /* linear, align_corners, sizes 3 x 3 on axes (2, 3): x * (2-1)/(3-1) = 0 .5 1 */
    nd = oh_new("Resize", 18);
    oh_attr_string(nd, "mode", "linear");
    oh_attr_string(nd, "coordinate_transformation_mode", "align_corners");
    oh_attr_ints(nd, "axes", (int64_t[]){2, 3}, 2);
    oh_input(nd, E2E_FLOAT, 4, d22, x22, false);
    oh_input_none(nd);
    oh_input_none(nd);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){2}, (int64_t[]){3, 3}, true);
    float w3[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    resize_run_check(nd, 4, (int64_t[]){1, 1, 3, 3}, w3, "linear align_corners");

    /* opset 10: X, scales; asymmetric; nearest shrinks with ceil:
       cols x / 0.6 = 0, 1.67 -> 0, 2; rows 0.6 * 2 = 1 row -> 0 */
    float x24[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    nd = oh_new("Resize", 10);
    oh_input(nd, E2E_FLOAT, 4, (int64_t[]){1, 1, 2, 4}, x24, false);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){4}, (float[]){1, 1, 0.6f, 0.6f}, true);
    resize_run_check(nd, 4, (int64_t[]){1, 1, 1, 2}, (float[]){1, 3}, "opset 10 nearest");

    /* tf_crop_and_resize, linear, outside the roi -> extrapolation_value:
       roi [0, 1.5] on a length-2 axis, 3 outputs: x * 1.5 * 1 / 2 = 0 .75 1.5 (outside) */
    nd = oh_new("Resize", 13);
    oh_attr_string(nd, "mode", "linear");
    oh_attr_string(nd, "coordinate_transformation_mode", "tf_crop_and_resize");
    oh_attr_float(nd, "extrapolation_value", -9.f);
    oh_input(nd, E2E_FLOAT, 2, (int64_t[]){1, 2}, (float[]){10, 20}, false);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){4}, (float[]){0, 0, 1, 1.5f}, true);
    oh_input_none(nd);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){2}, (int64_t[]){1, 3}, true);
    resize_run_check(nd, 2, (int64_t[]){1, 3}, (float[]){10, 17.5f, -9}, "tf_crop_and_resize");

    /* nearest on int64 data */
    int64_t xi[4] = {10, 20, 30, 40};
    nd = oh_new("Resize", 13);
    oh_attr_string(nd, "mode", "nearest");
    oh_attr_string(nd, "coordinate_transformation_mode", "asymmetric");
    oh_attr_string(nd, "nearest_mode", "floor");
    oh_input(nd, E2E_INT64, 2, (int64_t[]){2, 2}, xi, false);
    oh_input_none(nd);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){2}, (float[]){1, 2}, true);
    e2e_tensor_view y;
    e2e_error err;
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_OK);
    assert_int_equal(y.dtype, E2E_INT64);
    int64_t wi[8] = {10, 10, 20, 20, 30, 30, 40, 40};
    assert_memory_equal(y.data, wi, sizeof wi);
    oh_free(nd);
}

/* Trilinear (half_pixel) on random shapes against a direct 3-D formula: exercises three
   separable passes through both workspace buffers. */
static double lin_coord(int64_t x, int64_t in, int64_t out, int64_t *i0, int64_t *i1)
{
    double xo = ((double)x + 0.5) * (double)in / (double)out - 0.5;
    if (xo < 0)
        xo = 0;
    if (xo > (double)(in - 1))
        xo = (double)(in - 1);
    *i0 = (int64_t)floor(xo);
    *i1 = *i0 + 1 < in ? *i0 + 1 : *i0;
    return xo - (double)*i0;
}

static void test_resize_trilinear_random(void **state)
{
    (void)state;
    for (int rep = 0; rep < 12; rep++) {
        int64_t in[4] = {rnd(1, 3), rnd(1, 6), rnd(1, 6), rnd(1, 6)};
        int64_t out[4] = {in[0], rnd(1, 9), rnd(1, 9), rnd(1, 9)};
        int64_t n = numel(4, in), no = numel(4, out);
        float *x = malloc(sizeof(float) * (size_t)n), *ref = malloc(sizeof(float) * (size_t)no);
        oh_fill_random(x, n, -1.f, 1.f, &rng);
        for (int64_t b = 0; b < out[0]; b++)
            for (int64_t z = 0; z < out[1]; z++)
                for (int64_t yy = 0; yy < out[2]; yy++)
                    for (int64_t xx = 0; xx < out[3]; xx++) {
                        int64_t z0, z1, y0, y1, x0, x1;
                        double fz = lin_coord(z, in[1], out[1], &z0, &z1);
                        double fy = lin_coord(yy, in[2], out[2], &y0, &y1);
                        double fx = lin_coord(xx, in[3], out[3], &x0, &x1);
                        double s = 0;
                        for (int c = 0; c < 8; c++) {
                            int64_t zi = c & 4 ? z1 : z0, yi = c & 2 ? y1 : y0, xi = c & 1 ? x1 : x0;
                            double w = (c & 4 ? fz : 1 - fz) * (c & 2 ? fy : 1 - fy) *
                                       (c & 1 ? fx : 1 - fx);
                            s += w * x[((b * in[1] + zi) * in[2] + yi) * in[3] + xi];
                        }
                        ref[((b * out[1] + z) * out[2] + yy) * out[3] + xx] = (float)s;
                    }
        oh_node *nd = oh_new("Resize", 19);
        oh_attr_string(nd, "mode", "linear");
        oh_input(nd, E2E_FLOAT, 4, in, x, false);
        oh_input_none(nd);
        oh_input_none(nd);
        oh_input(nd, E2E_INT64, 1, (int64_t[]){4}, out, true);
        resize_run_check(nd, 4, out, ref, "trilinear");
        free(x);
        free(ref);
    }
}

static void test_resize_dynamic_scales(void **state)
{
    (void)state;
    float x22[4] = {1, 2, 3, 4};
    oh_node *nd = oh_new("Resize", 13);
    oh_input(nd, E2E_FLOAT, 4, (int64_t[]){1, 1, 2, 2}, x22, false);
    oh_input_none(nd);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){4}, (float[]){1, 1, 2, 2}, false); /* graph input */
    e2e_tensor_view y;
    e2e_error err;
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_ERR_DYNAMIC);
    assert_non_null(strstr(err.message, "\"n0\""));
    assert_non_null(strstr(err.message, "Resize"));
    oh_free(nd);
    /* both scales and sizes */
    nd = oh_new("Resize", 13);
    oh_input(nd, E2E_FLOAT, 4, (int64_t[]){1, 1, 2, 2}, x22, false);
    oh_input_none(nd);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){4}, (float[]){1, 1, 2, 2}, true);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){4}, (int64_t[]){1, 1, 4, 4}, true);
    assert_int_equal(oh_run(nd, 1, &y, &err), E2E_ERR_INVALID);
    oh_free(nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_random),
        cmocka_unit_test(test_reduce_large),
        cmocka_unit_test(test_reduce_ints),
        cmocka_unit_test(test_reduce_noop_and_errors),
        cmocka_unit_test(test_softmax_random),
        cmocka_unit_test(test_softmax_opset_semantics),
        cmocka_unit_test(test_resize_known),
        cmocka_unit_test(test_resize_trilinear_random),
        cmocka_unit_test(test_resize_dynamic_scales),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
