/* Adversarial inputs (issue 6), beyond tests/test_loader.c: absurd graph-input dims and
   bindings, wrong attribute types on many operators, impossible Reshape/Conv/MatMul/Concat
   shapes, missing and duplicate names, zero-size tensors through the heavy kernels, NaN/Inf
   through Conv/Gemm/Softmax/pools, the model-size and memory limits, and event files that
   are truncated, bit-flipped, or declare impossible counts. Each case expects one status and
   a message that names the culprit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_frames.h"
#include "frames/frames_internal.h" /* fr_crc32c, fr_rd32/fr_wr32: to re-seal edited records */
#include "onnx/onnx_build.h"

/* ------------------------------------------------------------------ helpers */

static void assert_contains(const char *s, const char *part)
{
    if (!strstr(s, part))
        fail_msg("message \"%s\" lacks \"%s\"", s, part);
}

static const char *const *S(const char *a, const char *b, const char *c)
{
    static const char *v[4][3];
    static int k;
    k = (k + 1) % 4;
    v[k][0] = a, v[k][1] = b, v[k][2] = c;
    return v[k];
}

/* Loads the builder's model (freeing the builder). */
static e2e_status load_ob(e2e_ob *b, e2e_model **m, e2e_error *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    *m = NULL;
    assert_int_equal(e2e_ob_pack(b, &buf, &n, err), E2E_OK);
    e2e_ob_free(b);
    e2e_status st = e2e_model_load_buffer(buf, n, "adv.onnx", m, err);
    free(buf);
    return st;
}

/* Load + session; returns the first failure. *s is NULL on failure; the model is kept in *m
   (NULL if the load failed). */
static e2e_status plan(e2e_ob *b, const e2e_session_options *o, e2e_model **m,
                       e2e_session **s, e2e_error *err)
{
    *s = NULL;
    e2e_status st = load_ob(b, m, err);
    if (st)
        return st;
    st = e2e_session_create(*m, o, s, err);
    if (st)
        assert_null(*s);
    return st;
}

/* A model whose session must fail with `want`, the message containing `part`. */
static void expect_plan_error(e2e_ob *b, e2e_status want, const char *part)
{
    e2e_model *m;
    e2e_session *s;
    e2e_error err;
    e2e_status st = plan(b, NULL, &m, &s, &err);
    if (st != want)
        fail_msg("expected %s (\"%s\"), got %s: %s", e2e_status_name(want), part ? part : "",
                 e2e_status_name(st), st ? err.message : "(ok)");
    if (part)
        assert_contains(err.message, part);
    e2e_session_free(s);
    e2e_model_free(m);
}

/* x (float, dims) -> op with attributes set by the caller -> y */
static e2e_ob *one_op(const char *op, int rank, const int64_t *dims, Onnx__NodeProto **node,
                      e2e_ob **bo)
{
    e2e_ob *b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, rank, dims);
    *node = e2e_ob_node(b, op, NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    *bo = b;
    return b;
}

/* ------------------------------------------------------------------ graph inputs, bindings */

static void test_absurd_input_dims(void **state)
{
    /* 2^40 x 2^40 elements: the product overflows the engine's element limit */
    e2e_ob *b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1LL << 40, 1LL << 40});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "\"x\"");

    /* INT64_MAX in one dim */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 3, (int64_t[]){1, INT64_MAX, 1});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "\"x\"");

    /* empty, yet its strides would overflow: the non-zero dims are bounded too (fuzz finding:
       a Pad of such a tensor computed offsets past INT64_MAX) */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 3, (int64_t[]){0, 1LL << 34, 1LL << 34});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "\"x\"");

    /* large but representable: 2^36 floats = 256 GiB; the arena limit refuses it cleanly */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1LL << 18, 1LL << 18});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_session_options o = e2e_session_options_default();
    o.max_arena_bytes = 1 << 20;
    e2e_model *m;
    e2e_session *s;
    e2e_error err;
    assert_int_equal(plan(b, &o, &m, &s, &err), E2E_ERR_LIMIT);
    assert_contains(err.message, "above the limit of 1048576");
    e2e_model_free(m);
}

static void test_rank_above_max(void **state)
{
    int64_t d[9] = {1, 1, 1, 1, 1, 1, 1, 1, 2};
    e2e_ob *b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 9, d);
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m;
    e2e_session *s;
    e2e_error err;
    /* rejected at load or at session creation, never accepted as some other shape */
    assert_int_not_equal(plan(b, NULL, &m, &s, &err), E2E_OK);
    assert_contains(err.message, "\"x\"");
    e2e_model_free(m);

    /* an initializer of rank 9 */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_init_f32(b, "w", 9, d, (float[]){1, 2});
    e2e_ob_node(b, "Add", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_UNSUPPORTED);
    assert_contains(err.message, "rank 9");
    assert_null(m);
}

static void test_negative_dim_value_is_dynamic(void **state)
{
    /* a dim_value < 0 (not a dim_param) is read as a dynamic dimension, bound like one */
    e2e_ob *b = e2e_ob_new(13, "adv");
    Onnx__ValueInfoProto *vi = e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1, 4});
    Onnx__TensorShapeProto__Dimension *d = vi->type->tensor_type->shape->dim[0];
    d->dim_value = -5;
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m;
    e2e_error err;
    assert_int_equal(load_ob(b, &m, &err), E2E_OK);
    e2e_tensor_view decl;
    assert_int_equal(e2e_model_input(m, 0, &decl), E2E_OK);
    assert_int_equal(decl.dims[0], -1);
    e2e_session_options o = e2e_session_options_default();
    o.default_batch = 3;
    e2e_session *s;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_OK);
    e2e_session_input(s, 0, &decl);
    assert_int_equal(decl.dims[0], 3);
    e2e_session_free(s);
    e2e_model_free(m);
}

static void test_bad_bindings(void **state)
{
    e2e_ob *b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){-1, 4});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m;
    e2e_error err;
    assert_int_equal(load_ob(b, &m, &err), E2E_OK);
    e2e_session_options o = e2e_session_options_default();
    e2e_session *s = NULL;

    e2e_shape_binding bind = {"x", 2, (int64_t[]){-2, 4}};
    o.shapes = &bind;
    o.n_shapes = 1;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_ERR_SHAPE);
    assert_contains(err.message, "negative");

    bind.rank = 3; /* wrong rank */
    bind.dims = (int64_t[]){1, 4, 1};
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_ERR_SHAPE);
    assert_contains(err.message, "rank");

    bind.rank = 99;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_ERR_ARGUMENT);
    assert_null(s);

    bind.rank = 2; /* an overflowing batch */
    bind.dims = (int64_t[]){INT64_MAX / 2, 4};
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_ERR_SHAPE);
    assert_contains(err.message, "\"x\"");

    /* a working session, then reshape to nonsense: the session is still usable? It must at
       least fail cleanly and be freeable. */
    o.n_shapes = 0;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_OK);
    bind.dims = (int64_t[]){-1, 4};
    assert_int_not_equal(e2e_session_reshape(s, &bind, 1, &err), E2E_OK);
    e2e_session_free(s);
    e2e_model_free(m);
}

/* ------------------------------------------------------------------ attributes */

static void test_wrong_attribute_types(void **state)
{
    static const int64_t x4[4] = {1, 2, 5, 5};
    e2e_ob *b;
    Onnx__NodeProto *n;

    /* Conv: kernel_shape given as one INT instead of INTS */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, x4);
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){1, 2, 3, 3}, NULL);
    n = e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_attr_int(b, n, "kernel_shape", 3);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "kernel_shape");

    /* Conv: group as a string */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, x4);
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){1, 2, 3, 3}, NULL);
    n = e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_attr_string(b, n, "group", "1");
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "group");

    /* Gemm: transB as a float */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1, 3});
    e2e_ob_init_f32(b, "w", 2, (int64_t[]){2, 3}, NULL);
    n = e2e_ob_node(b, "Gemm", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_attr_float(b, n, "transB", 1.f);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "transB");

    /* Softmax: axis as a string */
    one_op("Softmax", 2, (int64_t[]){2, 3}, &n, &b);
    e2e_ob_attr_string(b, n, "axis", "-1");
    expect_plan_error(b, E2E_ERR_INVALID, "axis");

    /* Transpose: perm as one INT */
    one_op("Transpose", 2, (int64_t[]){2, 3}, &n, &b);
    e2e_ob_attr_int(b, n, "perm", 1);
    expect_plan_error(b, E2E_ERR_INVALID, "perm");

    /* MaxPool: strides as FLOATS */
    one_op("MaxPool", 4, x4, &n, &b);
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
    e2e_ob_attr_floats(b, n, "strides", 2, (float[]){2, 2});
    expect_plan_error(b, E2E_ERR_INVALID, "strides");

    /* Cast: to as a float */
    one_op("Cast", 1, (int64_t[]){3}, &n, &b);
    e2e_ob_attr_float(b, n, "to", 1.f);
    expect_plan_error(b, E2E_ERR_INVALID, "'to'");

    /* Flatten: axis as INTS */
    one_op("Flatten", 2, (int64_t[]){2, 3}, &n, &b);
    e2e_ob_attr_ints(b, n, "axis", 1, (int64_t[]){1});
    expect_plan_error(b, E2E_ERR_INVALID, "axis");

    /* Elu: alpha as a string */
    one_op("Elu", 1, (int64_t[]){3}, &n, &b);
    e2e_ob_attr_string(b, n, "alpha", "1.0");
    expect_plan_error(b, E2E_ERR_INVALID, "alpha");

    /* Constant: value_float given as an INT */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){1});
    n = e2e_ob_node(b, "Constant", NULL, 0, NULL, 1, S("c", 0, 0));
    e2e_ob_attr_int(b, n, "value_float", 3);
    e2e_ob_node(b, "Add", NULL, 2, S("x", "c", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "value_float");
}

/* ------------------------------------------------------------------ impossible shapes */

static void test_impossible_shapes(void **state)
{
    e2e_ob *b;
    Onnx__NodeProto *n;

    /* Reshape 2x3 -> 4x2 (6 elements into 8) */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){4, 2});
    e2e_ob_node(b, "Reshape", NULL, 2, S("x", "shape", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Reshape");

    /* Reshape with two -1 */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){-1, -1});
    e2e_ob_node(b, "Reshape", NULL, 2, S("x", "shape", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "-1");

    /* Reshape with -1 that cannot divide (6 elements into 4 x ?) */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){4, -1});
    e2e_ob_node(b, "Reshape", NULL, 2, S("x", "shape", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Reshape");

    /* Reshape to a huge shape whose product overflows */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){3}, (int64_t[]){1LL << 40, 1LL << 40, 0});
    e2e_ob_node(b, "Reshape", NULL, 2, S("x", "shape", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Reshape");

    /* Reshape: shape given as float */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_f32(b, "shape", 1, (int64_t[]){2}, (float[]){3, 2});
    e2e_ob_node(b, "Reshape", NULL, 2, S("x", "shape", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "Reshape");

    /* Conv: weight channels do not match the input */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 3, 5, 5});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){2, 2, 3, 3}, NULL);
    e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Conv");

    /* Conv: kernel larger than the (unpadded) image */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 1, 2, 2});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){1, 1, 3, 3}, NULL);
    e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Conv");

    /* Conv: stride 0 */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 1, 4, 4});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){1, 1, 3, 3}, NULL);
    n = e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){0, 1});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "stride");

    /* Conv: group that does not divide the channels */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 3, 4, 4});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){2, 1, 1, 1}, NULL);
    n = e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_attr_int(b, n, "group", 2);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "group=2");

    /* MatMul: inner dimensions differ */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_f32(b, "w", 2, (int64_t[]){4, 2}, NULL);
    e2e_ob_node(b, "MatMul", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "MatMul");

    /* Gemm: bias that does not broadcast */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_f32(b, "w", 2, (int64_t[]){3, 4}, NULL);
    e2e_ob_init_f32(b, "c", 1, (int64_t[]){5}, NULL);
    e2e_ob_node(b, "Gemm", NULL, 3, S("x", "w", "c"), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Gemm");

    /* Concat: ranks differ / other dims differ / axis out of range */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_input(b, "z", E2E_FLOAT, 2, (int64_t[]){3, 3});
    n = e2e_ob_node(b, "Concat", NULL, 2, S("x", "z", 0), 1, S("y", 0, 0));
    e2e_ob_attr_int(b, n, "axis", 1);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Concat");

    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    n = e2e_ob_node(b, "Concat", NULL, 2, S("x", "x", 0), 1, S("y", 0, 0));
    e2e_ob_attr_int(b, n, "axis", 2);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "axis");

    /* Add: shapes that do not broadcast */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_f32(b, "w", 1, (int64_t[]){2}, NULL);
    e2e_ob_node(b, "Add", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Add");

    /* Gather: a constant index out of range */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    e2e_ob_init_i64(b, "i", 1, (int64_t[]){1}, (int64_t[]){7});
    e2e_ob_node(b, "Gather", NULL, 2, S("x", "i", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    {
        e2e_model *m;
        e2e_session *s;
        e2e_error err;
        e2e_status st = plan(b, NULL, &m, &s, &err);
        if (st == E2E_OK) { /* checked at run time instead */
            float x[6] = {0};
            e2e_tensor_view in = e2e_tensor_view_f32("x", x, 2, (int64_t[]){2, 3});
            st = e2e_session_run(s, &in, 1, &err);
        }
        assert_int_not_equal(st, E2E_OK);
        assert_contains(err.message, "Gather");
        e2e_session_free(s);
        e2e_model_free(m);
    }
}

static void test_gather_runtime_index_out_of_range(void **state)
{
    e2e_ob *b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){5, 3});
    e2e_ob_input(b, "i", E2E_INT64, 1, (int64_t[]){2});
    e2e_ob_node(b, "Gather", NULL, 2, S("x", "i", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m;
    e2e_session *s;
    e2e_error err;
    assert_int_equal(plan(b, NULL, &m, &s, &err), E2E_OK);
    float x[15];
    for (int i = 0; i < 15; i++)
        x[i] = (float)i;
    int64_t idx[2] = {-5, 4}; /* both legal: -5 is row 0 */
    e2e_tensor_view in[2] = {e2e_tensor_view_f32("x", x, 2, (int64_t[]){5, 3}),
                             {.name = "i", .dtype = E2E_INT64, .rank = 1, .dims = {2}, .data = idx}};
    assert_int_equal(e2e_session_run(s, in, 2, &err), E2E_OK);
    e2e_tensor_view out;
    e2e_session_output(s, 0, &out);
    assert_float_equal(((float *)out.data)[0], 0, 0);
    assert_float_equal(((float *)out.data)[3], 12, 0);
    int64_t bad[3][2] = {{5, 0}, {0, -6}, {INT64_MIN, 0}};
    for (int k = 0; k < 3; k++) {
        in[1].data = bad[k];
        assert_int_equal(e2e_session_run(s, in, 2, &err), E2E_ERR_ARGUMENT);
        assert_contains(err.message, "Gather");
    }
    e2e_session_free(s);
    e2e_model_free(m);
}

/* ------------------------------------------------------------------ names, structure */

static void test_missing_and_duplicate_names(void **state)
{
    e2e_ob *b;
    e2e_model *m;
    e2e_error err;

    /* a graph output nothing produces */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "ghost", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "\"ghost\"");

    /* two graph inputs with one name */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){3});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "\"x\"");

    /* a node writes over a graph input */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_input(b, "z", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("z", 0, 0));
    e2e_ob_output(b, "z", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "\"z\"");

    /* a node writes over an initializer */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_init_f32(b, "w", 1, (int64_t[]){2}, (float[]){1, 2});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("w", 0, 0));
    e2e_ob_output(b, "w", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "\"w\"");

    /* two initializers with one name */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_init_f32(b, "w", 1, (int64_t[]){2}, (float[]){1, 2});
    e2e_ob_init_f32(b, "w", 1, (int64_t[]){2}, (float[]){3, 4});
    e2e_ob_node(b, "Add", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "\"w\"");

    /* a node without an op_type */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_node(b, "", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_not_equal(load_ob(b, &m, &err), E2E_OK);
    assert_null(m);

    /* a required input left empty ("") */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_node(b, "Add", NULL, 2, S("x", "", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "Add");

    /* no graph at all */
    b = e2e_ob_new(13, "adv");
    Onnx__ModelProto *mp = e2e_ob_proto(b);
    Onnx__GraphProto *g = mp->graph;
    mp->graph = NULL;
    uint8_t *buf;
    size_t n;
    assert_int_equal(e2e_ob_pack(b, &buf, &n, &err), E2E_OK);
    mp->graph = g;
    e2e_ob_free(b);
    assert_int_equal(e2e_model_load_buffer(buf, n, "nograph.onnx", &m, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "nograph.onnx");
    free(buf);
}

static void test_self_loop_and_long_chain(void **state)
{
    /* a node that consumes its own output */
    e2e_ob *b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_node(b, "Add", NULL, 2, S("x", "a", 0), 1, S("a", 0, 0));
    e2e_ob_output(b, "a", E2E_FLOAT, -1, NULL);
    e2e_model *m;
    e2e_error err;
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "cycle");

    /* 20,000 nodes in one chain, listed in reverse order: no recursion anywhere */
    enum { N = 20000 };
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "v0", E2E_FLOAT, 1, (int64_t[]){4});
    Onnx__GraphProto *g = e2e_ob_proto(b)->graph;
    for (int i = N; i >= 1; i--) {
        char in[16], out[16];
        snprintf(in, sizeof in, "v%d", i - 1);
        snprintf(out, sizeof out, "v%d", i);
        e2e_ob_node(b, i % 2 ? "Relu" : "Neg", NULL, 1, S(in, 0, 0), 1, S(out, 0, 0));
    }
    assert_int_equal((int)g->n_node, N);
    char last[16];
    snprintf(last, sizeof last, "v%d", N);
    e2e_ob_output(b, last, E2E_FLOAT, -1, NULL);
    e2e_session *s;
    assert_int_equal(plan(b, NULL, &m, &s, &err), E2E_OK);
    float x[4] = {1, -2, 3, -4};
    e2e_tensor_view in = e2e_tensor_view_f32("v0", x, 1, (int64_t[]){4});
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    e2e_tensor_view out;
    e2e_session_output(s, 0, &out);
    /* Relu then Neg, 10,000 times: -relu(x) then relu(-..) = 0 */
    for (int i = 0; i < 4; i++)
        assert_float_equal(((float *)out.data)[i], 0, 0);
    e2e_session_free(s);
    e2e_model_free(m);
}

static void test_unsupported_types_and_opsets(void **state)
{
    e2e_ob *b;
    e2e_model *m;
    e2e_error err;

    /* a float16 initializer */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_init_raw(b, "h", (e2e_dtype)10, 1, (int64_t[]){2}, (uint16_t[]){0x3c00, 0x4000}, 4);
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_UNSUPPORTED);
    assert_contains(err.message, "\"h\"");

    /* an initializer with an undefined data type */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_init_raw(b, "u", (e2e_dtype)0, 1, (int64_t[]){2}, (float[]){1, 2}, 8);
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_UNSUPPORTED);

    /* initializer data longer than its shape */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_init_raw(b, "w", E2E_FLOAT, 1, (int64_t[]){2}, (float[]){1, 2, 3}, 12);
    e2e_ob_node(b, "Add", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "raw_data has 12 bytes, the shape needs 8");

    /* a huge shape with 4 bytes of data: refused before anything that size is allocated */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_init_raw(b, "w", E2E_FLOAT, 2, (int64_t[]){1LL << 19, 1LL << 19}, (float[]){1}, 4);
    e2e_ob_node(b, "Add", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "the shape needs 1099511627776");

    /* the same through float_data (typed field) */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    Onnx__TensorProto *t =
        e2e_ob_init_raw(b, "w", E2E_FLOAT, 2, (int64_t[]){1LL << 19, 1LL << 19}, NULL, 0);
    t->has_raw_data = 0;
    t->n_float_data = 1;
    t->float_data = malloc(sizeof(float));
    t->float_data[0] = 1;
    e2e_ob_node(b, "Add", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "1 values stored");

    /* a default-domain opset far in the future */
    b = e2e_ob_new(99, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_status st = load_ob(b, &m, &err);
    if (st == E2E_OK) { /* accepted: then it must still run Relu correctly */
        e2e_session *s;
        assert_int_equal(e2e_session_create(m, NULL, &s, &err), E2E_OK);
        e2e_session_free(s);
        e2e_model_free(m);
    } else {
        assert_int_equal(st, E2E_ERR_UNSUPPORTED);
        assert_contains(err.message, "99");
    }

    /* an operator in an unknown domain */
    b = e2e_ob_new(13, "adv");
    e2e_ob_add_opset(b, "com.example", 1);
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){2});
    Onnx__NodeProto *n = e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("y", 0, 0));
    e2e_ob_node_domain(b, n, "com.example");
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(load_ob(b, &m, &err), E2E_OK); /* support is checked by the engine */
    e2e_session *s = NULL;
    assert_int_equal(e2e_session_create(m, NULL, &s, &err), E2E_ERR_UNSUPPORTED);
    assert_null(s);
    assert_contains(err.message, "com.example.Relu");
    e2e_model_free(m);
}

/* ------------------------------------------------------------------ zero-size tensors */

static e2e_session *zero_session(e2e_ob *b, e2e_model **m)
{
    e2e_session *s;
    e2e_error err;
    e2e_status st = plan(b, NULL, m, &s, &err);
    if (st)
        fail_msg("%s", err.message);
    return s;
}

static void run_zero(e2e_session *s, int n_in, const int64_t dims[][4], const int *ranks)
{
    e2e_tensor_view in[4];
    static float dummy[64];
    for (int i = 0; i < n_in; i++) {
        e2e_session_input(s, i, &in[i]);
        in[i].data = dummy;
        for (int k = 0; k < ranks[i]; k++)
            assert_int_equal(in[i].dims[k], dims[i][k]);
    }
    e2e_error err;
    if (e2e_session_run(s, in, n_in, &err))
        fail_msg("%s", err.message);
}

static void test_zero_size_tensors(void **state)
{
    e2e_ob *b;
    e2e_model *m;
    e2e_session *s;
    e2e_tensor_view out;
    Onnx__NodeProto *n;
    float w[64];
    for (int i = 0; i < 64; i++)
        w[i] = 1.f + (float)i;

    /* Conv + Relu + MaxPool on an empty batch */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){0, 2, 5, 5});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){3, 2, 3, 3}, w);
    e2e_ob_init_f32(b, "b", 1, (int64_t[]){3}, w);
    e2e_ob_node(b, "Conv", NULL, 3, S("x", "w", "b"), 1, S("c", 0, 0));
    e2e_ob_node(b, "Relu", NULL, 1, S("c", 0, 0), 1, S("r", 0, 0));
    n = e2e_ob_node(b, "MaxPool", NULL, 1, S("r", 0, 0), 1, S("y", 0, 0));
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    s = zero_session(b, &m);
    run_zero(s, 1, (const int64_t[][4]){{0, 2, 5, 5}}, (int[]){4});
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.rank, 4);
    assert_int_equal(out.dims[0], 0);
    assert_int_equal(out.dims[1], 3);
    assert_int_equal(out.dims[2], 2);
    e2e_session_free(s);
    e2e_model_free(m);

    /* Conv with zero output channels */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 1, 4, 4});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){0, 1, 3, 3}, w);
    e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    s = zero_session(b, &m);
    run_zero(s, 1, (const int64_t[][4]){{1, 1, 4, 4}}, (int[]){4});
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.dims[1], 0);
    assert_int_equal(e2e_tensor_view_numel(&out), 0);
    e2e_session_free(s);
    e2e_model_free(m);

    /* MatMul with an empty inner dimension: [2,0] x [0,3] = zeros [2,3] */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 0});
    e2e_ob_input(b, "z", E2E_FLOAT, 2, (int64_t[]){0, 3});
    e2e_ob_node(b, "MatMul", NULL, 2, S("x", "z", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    s = zero_session(b, &m);
    run_zero(s, 2, (const int64_t[][4]){{2, 0}, {0, 3}}, (int[]){2, 2});
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.dims[0], 2);
    assert_int_equal(out.dims[1], 3);
    for (int i = 0; i < 6; i++)
        assert_float_equal(((float *)out.data)[i], 0, 0);
    e2e_session_free(s);
    e2e_model_free(m);

    /* Gemm with an empty inner dimension and a bias: the result is the bias */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 0});
    e2e_ob_init_f32(b, "wt", 2, (int64_t[]){0, 3}, w);
    e2e_ob_init_f32(b, "c", 1, (int64_t[]){3}, (float[]){1, 2, 3});
    e2e_ob_node(b, "Gemm", NULL, 3, S("x", "wt", "c"), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    s = zero_session(b, &m);
    run_zero(s, 1, (const int64_t[][4]){{2, 0}}, (int[]){2});
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.dims[0], 2);
    assert_int_equal(out.dims[1], 3);
    for (int i = 0; i < 6; i++)
        assert_float_equal(((float *)out.data)[i], (float)(i % 3 + 1), 0);
    e2e_session_free(s);
    e2e_model_free(m);

    /* Concat with an empty operand: [2,0] ++ [2,3] on axis 1 = the second operand */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 0});
    e2e_ob_input(b, "z", E2E_FLOAT, 2, (int64_t[]){2, 3});
    n = e2e_ob_node(b, "Concat", NULL, 2, S("x", "z", 0), 1, S("y", 0, 0));
    e2e_ob_attr_int(b, n, "axis", 1);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    s = zero_session(b, &m);
    {
        float z[6] = {1, 2, 3, 4, 5, 6};
        e2e_tensor_view in[2] = {e2e_tensor_view_f32("x", w, 2, (int64_t[]){2, 0}),
                                 e2e_tensor_view_f32("z", z, 2, (int64_t[]){2, 3})};
        e2e_error err;
        assert_int_equal(e2e_session_run(s, in, 2, &err), E2E_OK);
        e2e_session_output(s, 0, &out);
        assert_int_equal(out.dims[1], 3);
        assert_memory_equal(out.data, z, sizeof z);
    }
    e2e_session_free(s);
    e2e_model_free(m);

    /* Softmax, ReduceMean, Transpose, Flatten on empty tensors */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 3, (int64_t[]){0, 4, 3});
    n = e2e_ob_node(b, "Softmax", NULL, 1, S("x", 0, 0), 1, S("sm", 0, 0));
    e2e_ob_attr_int(b, n, "axis", -1);
    n = e2e_ob_node(b, "Transpose", NULL, 1, S("sm", 0, 0), 1, S("t", 0, 0));
    e2e_ob_attr_ints(b, n, "perm", 3, (int64_t[]){2, 0, 1});
    n = e2e_ob_node(b, "ReduceMean", NULL, 1, S("t", 0, 0), 1, S("r", 0, 0));
    e2e_ob_attr_ints(b, n, "axes", 1, (int64_t[]){2});
    e2e_ob_node(b, "Flatten", NULL, 1, S("r", 0, 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    s = zero_session(b, &m);
    run_zero(s, 1, (const int64_t[][4]){{0, 4, 3}}, (int[]){3});
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.rank, 2);
    assert_int_equal(out.dims[0], 3);
    assert_int_equal(out.dims[1], 0);
    e2e_session_free(s);
    e2e_model_free(m);

    /* ReduceSum over an empty axis gives zeros; ReduceMax of nothing is an error or -inf,
       never a read out of bounds */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){3, 0});
    e2e_ob_init_i64(b, "ax", 1, (int64_t[]){1}, (int64_t[]){1});
    e2e_ob_node(b, "ReduceSum", NULL, 2, S("x", "ax", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    s = zero_session(b, &m);
    run_zero(s, 1, (const int64_t[][4]){{3, 0}}, (int[]){2});
    e2e_session_output(s, 0, &out);
    assert_int_equal(e2e_tensor_view_numel(&out), 3);
    for (int i = 0; i < 3; i++)
        assert_float_equal(((float *)out.data)[i], 0, 0);
    e2e_session_free(s);
    e2e_model_free(m);

    /* a zero-size initializer in a broadcast */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1, 3});
    e2e_ob_init_f32(b, "e", 2, (int64_t[]){0, 1}, NULL);
    e2e_ob_node(b, "Add", NULL, 2, S("x", "e", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    s = zero_session(b, &m);
    run_zero(s, 1, (const int64_t[][4]){{1, 3}}, (int[]){2});
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.dims[0], 0);
    assert_int_equal(out.dims[1], 3);
    e2e_session_free(s);
    e2e_model_free(m);
}

/* ------------------------------------------------------------------ NaN, Inf */

static void test_nan_inf_propagate(void **state)
{
    e2e_ob *b = e2e_ob_new(13, "adv");
    float w[18];
    for (int i = 0; i < 18; i++)
        w[i] = 0.25f * (float)(i % 5 + 1);
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){2, 2, 3, 3});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){1, 2, 3, 3}, w);
    Onnx__NodeProto *n;
    n = e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("c", 0, 0)); /* -> [2,1,1,1] */
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){2, 1});
    e2e_ob_node(b, "Reshape", NULL, 2, S("c", "shape", 0), 1, S("cf", 0, 0));
    e2e_ob_init_f32(b, "gw", 2, (int64_t[]){1, 2}, (float[]){1, -1});
    e2e_ob_node(b, "Gemm", NULL, 2, S("cf", "gw", 0), 1, S("g", 0, 0)); /* -> [2,2] */
    n = e2e_ob_node(b, "Softmax", NULL, 1, S("g", 0, 0), 1, S("sm", 0, 0));
    e2e_ob_attr_int(b, n, "axis", 1);
    n = e2e_ob_node(b, "MaxPool", NULL, 1, S("x", 0, 0), 1, S("mp", 0, 0));
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){3, 3});
    e2e_ob_node(b, "GlobalAveragePool", NULL, 1, S("x", 0, 0), 1, S("gap", 0, 0));
    e2e_ob_node(b, "Sigmoid", NULL, 1, S("x", 0, 0), 1, S("sg", 0, 0));
    e2e_ob_output(b, "g", E2E_FLOAT, -1, NULL);
    e2e_ob_output(b, "sm", E2E_FLOAT, -1, NULL);
    e2e_ob_output(b, "mp", E2E_FLOAT, -1, NULL);
    e2e_ob_output(b, "gap", E2E_FLOAT, -1, NULL);
    e2e_ob_output(b, "sg", E2E_FLOAT, -1, NULL);
    e2e_model *m;
    e2e_session *s;
    e2e_error err;
    assert_int_equal(plan(b, NULL, &m, &s, &err), E2E_OK);
    float x[36];
    for (int i = 0; i < 36; i++)
        x[i] = 0.5f;
    x[4] = NAN;          /* sample 0, channel 0, centre */
    x[18 + 9] = INFINITY; /* sample 1, channel 1, corner */
    e2e_tensor_view in = e2e_tensor_view_f32("x", x, 4, (int64_t[]){2, 2, 3, 3});
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    e2e_tensor_view o;
    e2e_session_output(s, 0, &o); /* Gemm */
    const float *g = o.data;
    assert_true(isnan(g[0]) && isnan(g[1]));            /* NaN through Conv and Gemm */
    assert_true(isinf(g[2]) && g[2] > 0 && isinf(g[3]) && g[3] < 0); /* +Inf * (1, -1) */
    e2e_session_output(s, 1, &o); /* Softmax */
    const float *sm = o.data;
    assert_true(isnan(sm[0]) && isnan(sm[1]));
    for (int i = 2; i < 4; i++) /* softmax(+inf, -inf): NaN or (1, 0), nothing else */
        assert_true(isnan(sm[i]) || sm[i] == (i == 2 ? 1.f : 0.f));
    e2e_session_output(s, 3, &o); /* GlobalAveragePool: [2,2,1,1] */
    const float *gap = o.data;
    assert_true(isnan(gap[0]));
    assert_float_equal(gap[1], 0.5f, 1e-6);
    assert_float_equal(gap[2], 0.5f, 1e-6);
    assert_true(isinf(gap[3]));
    e2e_session_output(s, 2, &o); /* MaxPool: the Inf window is +Inf */
    assert_true(isinf(((float *)o.data)[3]));
    assert_float_equal(((float *)o.data)[1], 0.5f, 0);
    e2e_session_output(s, 4, &o); /* Sigmoid */
    assert_true(isnan(((float *)o.data)[4]));
    assert_float_equal(((float *)o.data)[27], 1.f, 0);
    e2e_session_free(s);
    e2e_model_free(m);
}

/* ------------------------------------------------------------------ limits */

static void test_model_size_limit(void **state)
{
    char dir[] = "/tmp/e2e_adv_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    e2e_ob *b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){256});
    e2e_ob_init_f32(b, "w", 1, (int64_t[]){256}, NULL);
    e2e_ob_node(b, "Add", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_error err;
    assert_int_equal(e2e_ob_write_file(b, path, &err), E2E_OK);
    e2e_ob_free(b);
    e2e_model_options mo = {.max_model_bytes = 512};
    e2e_model *m = (e2e_model *)1;
    assert_int_equal(e2e_model_load_file_ex(path, &mo, &m, &err), E2E_ERR_LIMIT);
    assert_null(m);
    assert_contains(err.message, "m.onnx");
    assert_contains(err.message, "512");
    mo.max_model_bytes = 1 << 20;
    assert_int_equal(e2e_model_load_file_ex(path, &mo, &m, &err), E2E_OK);
    e2e_model_free(m);
    mo.max_model_bytes = 0; /* no limit */
    assert_int_equal(e2e_model_load_file_ex(path, &mo, &m, &err), E2E_OK);
    e2e_model_free(m);
    unlink(path);
    rmdir(dir);
}

static void test_fold_limit(void **state)
{
    /* ConstantOfShape folds to 256 MiB: the arena limit covers folded constants too, so the
       session fails cleanly instead of allocating them */
    e2e_ob *b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){1});
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){1 << 13, 1 << 13});
    e2e_ob_node(b, "ConstantOfShape", NULL, 1, S("shape", 0, 0), 1, S("big", 0, 0));
    e2e_ob_node(b, "Add", NULL, 2, S("x", "big", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_session_options o = e2e_session_options_default();
    o.max_arena_bytes = 64 << 20;
    e2e_model *m;
    e2e_session *s;
    e2e_error err;
    assert_int_equal(plan(b, &o, &m, &s, &err), E2E_ERR_LIMIT);
    assert_contains(err.message, "ConstantOfShape");
    assert_contains(err.message, "limit");
    e2e_model_free(m);

    /* Tile of a small constant to 2^27 elements */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1, 1});
    e2e_ob_init_f32(b, "c", 2, (int64_t[]){1, 1}, (float[]){1});
    e2e_ob_init_i64(b, "reps", 1, (int64_t[]){2}, (int64_t[]){1 << 13, 1 << 14});
    e2e_ob_node(b, "Tile", NULL, 2, S("c", "reps", 0), 1, S("t", 0, 0));
    e2e_ob_node(b, "Add", NULL, 2, S("x", "t", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(plan(b, &o, &m, &s, &err), E2E_ERR_LIMIT);
    assert_contains(err.message, "Tile");
    e2e_model_free(m);
}

/* ------------------------------------------------------------------ fuzzer findings */

/* Models reduced from what tests/fuzz/fuzz_model found (see the closing note of issue 6). */
static void test_fuzz_regressions(void **state)
{
    e2e_ob *b;
    Onnx__NodeProto *n;
    e2e_model *m;
    e2e_session *s;
    e2e_error err;
    e2e_status st;
    e2e_session_options o = e2e_session_options_default();
    o.max_arena_bytes = 1 << 20;

    /* Pad by 2^62 on both sides: the output size must not overflow */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1, 2});
    e2e_ob_init_i64(b, "pads", 1, (int64_t[]){4}, (int64_t[]){0, 1LL << 62, 0, 1LL << 62});
    e2e_ob_node(b, "Pad", NULL, 2, S("x", "pads", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "Pad");

    /* Split sizes whose sum overflows int64 (fuzz finding): refused, not summed */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1, 4});
    e2e_ob_init_i64(b, "split", 1, (int64_t[]){2}, (int64_t[]){7958535001752993793LL, 7309449296462441573LL});
    n = e2e_ob_node(b, "Split", NULL, 2, S("x", "split", 0), 2, S("y0", "y1", 0));
    e2e_ob_attr_int(b, n, "axis", 1);
    e2e_ob_output(b, "y0", E2E_FLOAT, -1, NULL);
    e2e_ob_output(b, "y1", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "split sizes exceed axis 1");

    /* reflect-Pad to 2^39 elements under a 1 MB limit: refused before any table is built */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1, 3});
    e2e_ob_init_i64(b, "pads", 1, (int64_t[]){4}, (int64_t[]){0, 0, 0, 1LL << 39});
    n = e2e_ob_node(b, "Pad", NULL, 2, S("x", "pads", 0), 1, S("y", 0, 0));
    e2e_ob_attr_string(b, n, "mode", "reflect");
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(plan(b, &o, &m, &s, &err), E2E_ERR_LIMIT);
    assert_contains(err.message, "Pad");
    assert_contains(err.message, "above the limit of 1048576");
    e2e_model_free(m);

    /* Resize of an empty tensor to an empty one with a huge other dim: no tables needed */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 1, 0, 3});
    e2e_ob_init_i64(b, "sizes", 1, (int64_t[]){4}, (int64_t[]){1, 1, 0, 1LL << 39});
    n = e2e_ob_node(b, "Resize", NULL, 4, (const char *[]){"x", "", "", "sizes"}, 1, S("y", 0, 0));
    e2e_ob_attr_string(b, n, "mode", "linear");
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(plan(b, &o, &m, &s, &err), E2E_OK);
    float dummy[1];
    e2e_tensor_view in = e2e_tensor_view_f32("x", dummy, 4, (int64_t[]){1, 1, 0, 3});
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    e2e_tensor_view out;
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.dims[3], 1LL << 39);
    assert_int_equal(e2e_tensor_view_numel(&out), 0);
    e2e_session_free(s);
    e2e_model_free(m);

    /* Tile of an empty tensor by 2^40 x 2^40: the copy plan must not multiply the repeats */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){1, 0});
    e2e_ob_init_i64(b, "reps", 1, (int64_t[]){2}, (int64_t[]){1LL << 40, 1LL << 40});
    e2e_ob_node(b, "Tile", NULL, 2, S("x", "reps", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(plan(b, &o, &m, &s, &err), E2E_OK);
    in = e2e_tensor_view_f32("x", dummy, 2, (int64_t[]){1, 0});
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.dims[0], 1LL << 40);
    assert_int_equal(out.dims[1], 0);
    e2e_session_free(s);
    e2e_model_free(m);

    /* an empty tensor whose other dims multiply far beyond 2^40: allowed (it is empty); its
       strides must not overflow anywhere (UBSan in make sanitize) */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){0, 1LL << 40, 1LL << 40, 1LL << 40});
    e2e_ob_init_i64(b, "perm_pads", 1, (int64_t[]){8}, (int64_t[]){0, 0, 0, 1, 0, 0, 0, 1});
    e2e_ob_node(b, "Relu", NULL, 1, S("x", 0, 0), 1, S("r", 0, 0));
    n = e2e_ob_node(b, "Transpose", NULL, 1, S("r", 0, 0), 1, S("t", 0, 0));
    e2e_ob_attr_ints(b, n, "perm", 4, (int64_t[]){3, 1, 2, 0});
    e2e_ob_node(b, "Pad", NULL, 2, S("t", "perm_pads", 0), 1, S("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    st = plan(b, &o, &m, &s, &err);
    if (st == E2E_OK) {
        in = e2e_tensor_view_f32("x", dummy, 4, (int64_t[]){0, 1LL << 40, 1LL << 40, 1LL << 40});
        assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
        e2e_session_output(s, 0, &out);
        assert_int_equal(e2e_tensor_view_numel(&out), 0);
        assert_int_equal(out.dims[3], 0);
    } else { /* or refused as a shape error, never anything else */
        assert_int_equal(st, E2E_ERR_SHAPE);
    }
    e2e_session_free(s);
    e2e_model_free(m);

    /* Conv with a dilation of 2^62, MaxPool with a kernel of 2^62: no overflow, a clean error */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 1, 4, 4});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){1, 1, 3, 3}, NULL);
    n = e2e_ob_node(b, "Conv", NULL, 2, S("x", "w", 0), 1, S("y", 0, 0));
    e2e_ob_attr_ints(b, n, "dilations", 2, (int64_t[]){1LL << 62, 1});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    expect_plan_error(b, E2E_ERR_SHAPE, "out of range");

    /* MaxPool with its first output omitted and only the indices wanted */
    b = e2e_ob_new(13, "adv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 1, 4, 4});
    n = e2e_ob_node(b, "MaxPool", NULL, 1, S("x", 0, 0), 2, S("", "idx", 0));
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
    e2e_ob_output(b, "idx", E2E_INT64, -1, NULL);
    expect_plan_error(b, E2E_ERR_INVALID, "missing");

    one_op("MaxPool", 4, (int64_t[]){1, 1, 4, 4}, &n, &b);
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){1LL << 62, 1});
    e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){1LL << 62, 0, 1LL << 62, 0});
    expect_plan_error(b, E2E_ERR_SHAPE, "out of range");
}

/* ------------------------------------------------------------------ event files */

#define HEADER 32

/* Writes n events (hits in every section) to a temporary file and reads it back. */
static uint8_t *event_bytes(int n, size_t *size)
{
    char path[] = "/tmp/e2e_adv_ev_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    e2e_error err;
    e2e_event_writer *w;
    e2e_event *ev;
    assert_int_equal(e2e_event_writer_open(path, &w, &err), E2E_OK);
    assert_int_equal(e2e_event_create(&ev, &err), E2E_OK);
    for (int i = 0; i < n; i++) {
        e2e_event_clear(ev);
        e2e_event_set_id(ev, 1, 2, (uint64_t)i + 10);
        e2e_eb_hit eb = {85, (uint16_t)i, 20.f, 0.f};
        assert_int_equal(e2e_event_add_eb(ev, &eb, &err), E2E_OK);
        e2e_ee_hit ee = {3, 4, 1.f};
        assert_int_equal(e2e_event_add_ee(ev, &ee, &err), E2E_OK);
        e2e_hbhe_hit hb = {-3, 5, 1, 0, 2.f};
        assert_int_equal(e2e_event_add_hbhe(ev, &hb, &err), E2E_OK);
        e2e_track tr = {10.f, 0.f, 0.f, 0.f, 0.f, 1, 1, 140, 0};
        assert_int_equal(e2e_event_add_track(ev, &tr, &err), E2E_OK);
        e2e_tracker_hit th = {140, 1, E2E_SUBDET_BPIX, 1, 1, 0};
        assert_int_equal(e2e_event_add_tracker_hit(ev, &th, &err), E2E_OK);
        e2e_photon ph = {25.f, 0.f, 0.f, 0, 0, 0};
        e2e_crystal xt[2] = {{85, 0}, {86, 0}};
        assert_int_equal(e2e_event_add_photon(ev, &ph, xt, 2, &err), E2E_OK);
        e2e_jet j = {50.f, 0.f, 0.f, 5.f, 1, 1, 2};
        assert_int_equal(e2e_event_add_jet(ev, E2E_AK4, &j, &err), E2E_OK);
        assert_int_equal(e2e_event_writer_write(w, ev, &err), E2E_OK);
    }
    assert_int_equal(e2e_event_writer_close(w, &err), E2E_OK);
    e2e_event_free(ev);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    uint8_t *buf = malloc(*size);
    assert_int_equal(fread(buf, 1, *size, f), *size);
    fclose(f);
    unlink(path);
    return buf;
}

/* Reads every event; returns the status of the first failure (E2E_OK at a clean end) and
   the number of events read before it. */
static e2e_status read_events(const uint8_t *buf, size_t size, int *n, e2e_error *err)
{
    e2e_event_reader *r;
    *n = 0;
    e2e_status st = e2e_event_reader_open_buffer(buf, size, "adv.e2e", &r, err);
    if (st)
        return st;
    e2e_event *ev;
    assert_int_equal(e2e_event_create(&ev, err), E2E_OK);
    int got;
    while ((st = e2e_event_reader_next(r, ev, &got, err)) == E2E_OK && got)
        (*n)++;
    if (st) { /* the error is sticky */
        e2e_error again;
        assert_int_equal(e2e_event_reader_next(r, ev, &got, &again), st);
        assert_int_equal(got, 0);
        assert_string_equal(again.message, err->message);
    }
    e2e_event_free(ev);
    e2e_event_reader_close(r);
    return st;
}

/* Offset of record k (0-based) and its body length. */
static size_t record_at(const uint8_t *buf, int k, uint32_t *len)
{
    size_t off = fr_rd32(buf + 8);
    for (int i = 0; i < k; i++)
        off += 12 + fr_rd32(buf + off + 4);
    *len = fr_rd32(buf + off + 4);
    return off;
}

static void reseal(uint8_t *buf, size_t rec)
{
    uint32_t len = fr_rd32(buf + rec + 4);
    fr_wr32(buf + rec + 8, fr_crc32c(0, buf + rec + 12, len));
}

/* Offset of a section's head inside record rec (tag as 4 chars). */
static size_t section_at(const uint8_t *buf, size_t rec, const char *tag)
{
    size_t body = rec + 12, off = body + 24;
    uint32_t nsec = fr_rd32(buf + body + 16);
    for (uint32_t s = 0; s < nsec; s++) {
        if (!memcmp(buf + off, tag, 4))
            return off;
        off += 12 + fr_rd32(buf + off + 8);
    }
    fail_msg("section %s not found", tag);
    return 0;
}

static void test_events_truncated(void **state)
{
    size_t size;
    uint8_t *buf = event_bytes(3, &size);
    e2e_error err;
    int n;
    assert_int_equal(read_events(buf, size, &n, &err), E2E_OK);
    assert_int_equal(n, 3);
    uint32_t len;
    size_t r1 = record_at(buf, 1, &len);
    /* every cut: a clean error naming the file, with only the whole events before it read */
    for (size_t cut = 0; cut < size; cut++) {
        e2e_status st = read_events(buf, cut, &n, &err);
        if (st == E2E_OK)
            fail_msg("a file cut at %zu of %zu bytes was accepted (%d events)", cut, size, n);
        assert_true(st == E2E_ERR_PARSE);
        assert_contains(err.message, "adv.e2e");
        if (cut >= HEADER)
            assert_true(n <= (int)((cut - HEADER) / (len + 12)));
    }
    /* cut inside the second record: the first event is read, the second is named */
    assert_int_equal(read_events(buf, r1 + 20, &n, &err), E2E_ERR_PARSE);
    assert_int_equal(n, 1);
    assert_contains(err.message, "event 1");
    assert_contains(err.message, "truncated");
    /* cut exactly between records: the declared count tells */
    assert_int_equal(read_events(buf, r1, &n, &err), E2E_ERR_PARSE);
    assert_int_equal(n, 1);
    assert_contains(err.message, "1 of 3 declared events");
    free(buf);
}

static void test_events_bit_flips(void **state)
{
    size_t size;
    uint8_t *buf = event_bytes(2, &size);
    uint32_t len;
    size_t r0 = record_at(buf, 0, &len);
    e2e_error err;
    int n;
    /* one flipped bit anywhere in the first event's body: the checksum catches it */
    for (size_t i = r0 + 12; i < r0 + 12 + len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            buf[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
            assert_int_equal(n, 0);
            assert_contains(err.message, "checksum mismatch");
            assert_contains(err.message, "event 0");
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* a flipped bit in the stored checksum itself */
    buf[r0 + 9] ^= 0x10;
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "checksum mismatch");
    buf[r0 + 9] ^= 0x10;
    /* in the marker */
    buf[r0] ^= 1;
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "EVNT");
    buf[r0] ^= 1;
    /* in the magic, the version */
    buf[2] ^= 4;
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "not an e2e event file");
    buf[2] ^= 4;
    buf[7] = 2;
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_UNSUPPORTED);
    assert_contains(err.message, "version 2");
    buf[7] = E2E_EVENT_FORMAT_VERSION;
    assert_int_equal(read_events(buf, size, &n, &err), E2E_OK);
    assert_int_equal(n, 2);
    free(buf);
}

static void test_events_impossible_counts(void **state)
{
    size_t size;
    uint8_t *orig = event_bytes(2, &size);
    uint8_t *buf = malloc(size);
    e2e_error err;
    int n;
    uint32_t len;
    size_t r0 = record_at(orig, 0, &len);

    /* a record count of 2^32 - 1 hits in a section of 12 bytes (checksum re-sealed) */
    static const char *const tags[] = {"EBRH", "EEPJ", "HBHE", "TRKS", "PIXL", "JAK4"};
    for (int t = 0; t < 6; t++) {
        memcpy(buf, orig, size);
        size_t sec = section_at(buf, r0, tags[t]);
        fr_wr32(buf + sec + 4, 0xFFFFFFFFu);
        reseal(buf, r0);
        assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
        assert_contains(err.message, tags[t]);
        assert_contains(err.message, "4294967295");
    }
    /* photons: a crystal count beyond the section */
    memcpy(buf, orig, size);
    size_t ph = section_at(buf, r0, "PHOT");
    buf[ph + 12 + 12] = 0xFF; /* n_crystals of photon 0 */
    buf[ph + 12 + 13] = 0xFF;
    reseal(buf, r0);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "PHOT");
    /* a section payload larger than the event */
    memcpy(buf, orig, size);
    size_t sec = section_at(buf, r0, "HBHE");
    fr_wr32(buf + sec + 8, 0x7FFFFFF0u);
    reseal(buf, r0);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "runs past the end");
    /* more sections than the event holds */
    memcpy(buf, orig, size);
    fr_wr32(buf + r0 + 12 + 16, 1000000);
    reseal(buf, r0);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "section");
    /* one section twice: rename JAK8 to JAK4 */
    memcpy(buf, orig, size);
    memcpy(buf + section_at(buf, r0, "JAK8"), "JAK4", 4);
    reseal(buf, r0);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "appears twice");
    /* an event length of 4 GiB - 4, and one not a multiple of 4 */
    memcpy(buf, orig, size);
    fr_wr32(buf + r0 + 4, 0xFFFFFFFCu);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "event length");
    fr_wr32(buf + r0 + 4, len + 1);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "event length");
    /* a declared count far beyond the file: the reader stops at the real end with an error */
    memcpy(buf, orig, size);
    fr_wr32(buf + 12, 0xFFFFFFFFu);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_int_equal(n, 2);
    assert_contains(err.message, "2 of 4294967295 declared");
    /* a header length beyond the file */
    memcpy(buf, orig, size);
    fr_wr32(buf + 8, 4096);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    /* an out-of-range hit and a NaN energy (re-sealed, so only the range checks remain) */
    memcpy(buf, orig, size);
    sec = section_at(buf, r0, "EBRH");
    buf[sec + 12] = 170; /* ieta_idx 170 */
    reseal(buf, r0);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "EBRH");
    assert_contains(err.message, "ieta_idx 170");
    memcpy(buf, orig, size);
    sec = section_at(buf, r0, "HBHE");
    fr_wrf(buf + sec + 12 + 4, NAN);
    reseal(buf, r0);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "not finite");
    /* garbage after the last section */
    memcpy(buf, orig, size);
    fr_wr32(buf + r0 + 12 + 16, fr_rd32(buf + r0 + 12 + 16) - 1); /* drop JAK8 from the count */
    reseal(buf, r0);
    assert_int_equal(read_events(buf, size, &n, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "after the last");
    /* skip over a good event, then a damaged one */
    memcpy(buf, orig, size);
    uint32_t len1;
    size_t r1 = record_at(buf, 1, &len1);
    buf[r1 + 40] ^= 0xFF;
    e2e_event_reader *r;
    assert_int_equal(e2e_event_reader_open_buffer(buf, size, "adv.e2e", &r, &err), E2E_OK);
    uint64_t skipped;
    assert_int_equal(e2e_event_reader_skip(r, 1, &skipped, &err), E2E_OK);
    assert_int_equal(skipped, 1);
    e2e_event *ev;
    assert_int_equal(e2e_event_create(&ev, &err), E2E_OK);
    int got;
    assert_int_equal(e2e_event_reader_next(r, ev, &got, &err), E2E_ERR_PARSE);
    assert_contains(err.message, "event 1");
    e2e_event_free(ev);
    e2e_event_reader_close(r);
    free(buf);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absurd_input_dims),
        cmocka_unit_test(test_rank_above_max),
        cmocka_unit_test(test_negative_dim_value_is_dynamic),
        cmocka_unit_test(test_bad_bindings),
        cmocka_unit_test(test_wrong_attribute_types),
        cmocka_unit_test(test_impossible_shapes),
        cmocka_unit_test(test_gather_runtime_index_out_of_range),
        cmocka_unit_test(test_missing_and_duplicate_names),
        cmocka_unit_test(test_self_loop_and_long_chain),
        cmocka_unit_test(test_unsupported_types_and_opsets),
        cmocka_unit_test(test_zero_size_tensors),
        cmocka_unit_test(test_nan_inf_propagate),
        cmocka_unit_test(test_model_size_limit),
        cmocka_unit_test(test_fold_limit),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_events_truncated),
        cmocka_unit_test(test_events_bit_flips),
        cmocka_unit_test(test_events_impossible_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
