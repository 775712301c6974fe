/* Loader and session errors: every bad model gets a specific status and a message naming
   the file, the node or the value, and the reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"
#include "model_craft.h"

static e2e_status load_crafted(mc_model *mm, e2e_model **m, e2e_error *err)
{
    uint8_t *buf;
    size_t n = mc_pack(mm, &buf);
    e2e_status st = e2e_model_load_buffer(buf, n, "crafted.onnx", m, err);
    free(buf);
    return st;
}

/* x[1,4] -> Relu -> y */
static void relu_model(mc_model *mm)
{
    mc_init(mm, 13);
    mc_input(mm, "x", 2, (int64_t[]){-1, 4});
    mc_node(mm, "Relu", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    mc_output(mm, "y");
}

static void assert_contains(const char *s, const char *part)
{
    if (!strstr(s, part))
        fail_msg("message \"%s\" lacks \"%s\"", s, part);
}

static void test_not_onnx(void **state)
{
    e2e_error err;
    e2e_model *m = (e2e_model *)1;
    const char text[] = "this is not a protobuf \xff\xff\xff\xff";
    assert_int_equal(e2e_model_load_buffer(text, sizeof text, "junk.onnx", &m, &err), E2E_ERR_PARSE);
    assert_null(m);
    assert_contains(err.message, "junk.onnx");
    assert_int_equal(e2e_model_load_file("/nonexistent/model.onnx", &m, &err), E2E_ERR_IO);
    assert_contains(err.message, "/nonexistent/model.onnx");
}

static void test_truncated(void **state)
{
    mc_model mm;
    relu_model(&mm);
    uint8_t *buf;
    size_t n = mc_pack(&mm, &buf);
    int rejected = 0;
    for (size_t cut = 1; cut < n; cut++) {
        e2e_error err;
        e2e_model *m = NULL;
        e2e_status st = e2e_model_load_buffer(buf, cut, "cut.onnx", &m, &err);
        if (st != E2E_OK) {
            rejected++;
            assert_non_null(strstr(err.message, "cut.onnx"));
        }
        e2e_model_free(m);
    }
    assert_true(rejected > (int)n / 2); /* most prefixes are not valid models */
    free(buf);
    mc_free(&mm);
}

static void test_undefined_input(void **state)
{
    mc_model mm;
    mc_init(&mm, 13);
    mc_input(&mm, "x", 2, (int64_t[]){1, 4});
    mc_node(&mm, "Relu", (const char *[]){"nope", NULL}, (const char *[]){"y", NULL});
    mc_output(&mm, "y");
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "\"nope\" is not defined");
    assert_contains(err.message, "Relu_0");
    mc_free(&mm);
}

static void test_duplicate_output(void **state)
{
    mc_model mm;
    mc_init(&mm, 13);
    mc_input(&mm, "x", 2, (int64_t[]){1, 4});
    mc_node(&mm, "Relu", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    mc_node(&mm, "Relu", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    mc_output(&mm, "y");
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "\"y\" is already defined");
    mc_free(&mm);
}

static void test_cycle(void **state)
{
    mc_model mm;
    mc_init(&mm, 13);
    mc_input(&mm, "x", 2, (int64_t[]){1, 4});
    mc_node(&mm, "Add", (const char *[]){"x", "b", NULL}, (const char *[]){"a", NULL});
    mc_node(&mm, "Relu", (const char *[]){"a", NULL}, (const char *[]){"b", NULL});
    mc_output(&mm, "b");
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "cycle");
    mc_free(&mm);
}

static void test_unsupported_listed(void **state)
{
    mc_model mm;
    mc_init(&mm, 13);
    mc_input(&mm, "x", 2, (int64_t[]){1, 4});
    mc_node(&mm, "FooOp", (const char *[]){"x", NULL}, (const char *[]){"a", NULL});
    mc_node(&mm, "BarOp", (const char *[]){"a", NULL}, (const char *[]){"b", NULL});
    mc_node(&mm, "FooOp", (const char *[]){"b", NULL}, (const char *[]){"c", NULL});
    mc_output(&mm, "c");
    e2e_error err;
    e2e_model *m = NULL;
    /* the loader builds the IR of any operator; the engine names every missing one, at
       session creation and through e2e_model_check_support */
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_OK);
    e2e_session *sess = NULL;
    assert_int_equal(e2e_session_create(m, NULL, &sess, &err), E2E_ERR_UNSUPPORTED);
    assert_null(sess);
    assert_contains(err.message, "2 unsupported operators");
    assert_contains(err.message, "FooOp");
    assert_contains(err.message, "BarOp");
    e2e_model_free(m);
    mc_free(&mm);
}

static void test_initializer_short(void **state)
{
    mc_model mm;
    relu_model(&mm);
    float w[1] = {1};
    mc_init_raw(&mm, "w", 1, (int64_t[]){2}, w, sizeof w);
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "initializer \"w\"");
    assert_contains(err.message, "raw_data has 4 bytes, the shape needs 8");
    mc_free(&mm);
}

static void test_dims_overflow_and_negative(void **state)
{
    mc_model mm;
    relu_model(&mm);
    float w[1] = {1};
    mc_init_raw(&mm, "big", 3, (int64_t[]){1LL << 31, 1LL << 31, 1LL << 31}, w, sizeof w);
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_ERR_SHAPE);
    assert_contains(err.message, "\"big\"");
    mc_free(&mm);

    relu_model(&mm);
    mc_init_raw(&mm, "neg", 2, (int64_t[]){2, -3}, w, sizeof w);
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_ERR_SHAPE);
    assert_contains(err.message, "negative dimension");
    mc_free(&mm);
}

static void add_external(Onnx__TensorProto *t, const char *location)
{
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->n_external_data = 1;
    t->external_data = calloc(1, sizeof *t->external_data);
    Onnx__StringStringEntryProto *kv = calloc(1, sizeof *kv);
    onnx__string_string_entry_proto__init(kv);
    kv->key = strdup("location");
    kv->value = strdup(location);
    t->external_data[0] = kv;
}

static void test_external_data(void **state)
{
    char dir[] = "/tmp/e2e_ext_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], wpath[256];
    float w[3] = {1.5f, -2.f, 3.25f};
    snprintf(wpath, sizeof wpath, "%s/weights.bin", dir);
    assert_int_equal(mc_write(wpath, w, sizeof w), 0);

    const char *bad[] = {"../../etc/passwd", "/etc/passwd", "sub/../../x"};
    for (int i = 0; i < 3; i++) {
        mc_model mm;
        relu_model(&mm);
        add_external(mc_init_raw(&mm, "w", 1, (int64_t[]){3}, NULL, 0), bad[i]);
        uint8_t *buf;
        size_t n = mc_pack(&mm, &buf);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        assert_int_equal(mc_write(path, buf, n), 0);
        e2e_error err;
        e2e_model *m = NULL;
        assert_int_equal(e2e_model_load_file(path, &m, &err), E2E_ERR_INVALID);
        assert_contains(err.message, "leaves the model's folder");
        free(buf);
        mc_free(&mm);
    }
    /* a good one: data read from the file beside the model */
    mc_model mm;
    mc_init(&mm, 13);
    mc_input(&mm, "x", 1, (int64_t[]){3});
    mc_node(&mm, "Add", (const char *[]){"x", "w", NULL}, (const char *[]){"y", NULL});
    mc_output(&mm, "y");
    add_external(mc_init_raw(&mm, "w", 1, (int64_t[]){3}, NULL, 0), "weights.bin");
    uint8_t *buf;
    size_t n = mc_pack(&mm, &buf);
    assert_int_equal(mc_write(path, buf, n), 0);
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(e2e_model_load_file(path, &m, &err), E2E_OK);
    assert_int_equal(e2e_model_parameter_count(m), 3);
    e2e_session *s = NULL;
    if (e2e_session_create(m, NULL, &s, &err) == E2E_OK) { /* needs Add */
        float x[3] = {1, 1, 1};
        e2e_tensor_view in = e2e_tensor_view_f32("x", x, 1, (int64_t[]){3});
        assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
        e2e_tensor_view out;
        e2e_session_output(s, 0, &out);
        assert_float_equal(((float *)out.data)[0], 2.5f, 0);
        assert_float_equal(((float *)out.data)[2], 4.25f, 0);
    } else
        fail_msg("session: %s", err.message);
    e2e_session_free(s);
    e2e_model_free(m);
    free(buf);
    mc_free(&mm);
    /* from memory, external data is refused: there is no folder */
    relu_model(&mm);
    add_external(mc_init_raw(&mm, "w", 1, (int64_t[]){3}, NULL, 0), "weights.bin");
    n = mc_pack(&mm, &buf);
    assert_int_equal(e2e_model_load_buffer(buf, n, NULL, &m, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "loaded from memory");
    free(buf);
    mc_free(&mm);
    unlink(wpath);
    unlink(path);
    rmdir(dir);
}

/* The loader copies the weights out of the file (read into memory, never mapped): a model
   file rewritten or truncated after the load changes nothing in the model or its sessions. A
   weight above 1 MB takes the huge-page region path of the loader. */
static void test_file_changed_after_load(void **state)
{
    enum { N = 300000 };
    char dir[] = "/tmp/e2e_chg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    float *w = malloc(sizeof(float) * N), *x = malloc(sizeof(float) * N);
    assert_non_null(w);
    assert_non_null(x);
    for (int i = 0; i < N; i++) {
        w[i] = (float)(i % 1000) * 0.25f;
        x[i] = 1.0f;
    }
    mc_model mm;
    mc_init(&mm, 13);
    mc_input(&mm, "x", 1, (int64_t[]){N});
    mc_node(&mm, "Add", (const char *[]){"x", "w", NULL}, (const char *[]){"y", NULL});
    mc_output(&mm, "y");
    mc_init_raw(&mm, "w", 1, (int64_t[]){N}, w, sizeof(float) * N);
    uint8_t *buf;
    size_t n = mc_pack(&mm, &buf);
    assert_int_equal(mc_write(path, buf, n), 0);
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(e2e_model_load_file(path, &m, &err), E2E_OK);
    e2e_session *s1 = NULL, *s2 = NULL;
    assert_int_equal(e2e_session_create(m, NULL, &s1, &err), E2E_OK);
    /* rewrite the file with other weights, then cut it short */
    memset(buf + n / 2, 0x7f, n - n / 2);
    assert_int_equal(mc_write(path, buf, n), 0);
    assert_int_equal(truncate(path, 10), 0);
    e2e_tensor_view in = e2e_tensor_view_f32("x", x, 1, (int64_t[]){N});
    assert_int_equal(e2e_session_create(m, NULL, &s2, &err), E2E_OK);
    e2e_session *ss[2] = {s1, s2};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(e2e_session_run(ss[k], &in, 1, &err), E2E_OK);
        e2e_tensor_view out;
        e2e_session_output(ss[k], 0, &out);
        const float *y = out.data;
        for (int i = 0; i < N; i++)
            if (y[i] != w[i] + 1.0f)
                fail_msg("session %d: y[%d] = %g, want %g", k + 1, i, (double)y[i], (double)(w[i] + 1.0f));
    }
    e2e_model *m2 = NULL; /* the truncated file itself is refused with a message */
    assert_int_not_equal(e2e_model_load_file(path, &m2, &err), E2E_OK);
    assert_null(m2);
    assert_contains(err.message, path);
    e2e_session_free(s1);
    e2e_session_free(s2);
    e2e_model_free(m);
    free(buf);
    mc_free(&mm);
    free(w);
    free(x);
    unlink(path);
    rmdir(dir);
}

static void test_wrong_attr_type(void **state)
{
    mc_model mm;
    mc_init(&mm, 13);
    mc_input(&mm, "x", 2, (int64_t[]){1, 4});
    Onnx__NodeProto *n = mc_node(&mm, "LeakyRelu", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    mc_attr_int(n, "alpha", 2);
    mc_output(&mm, "y");
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_OK);
    e2e_session *s = NULL;
    assert_int_equal(e2e_session_create(m, NULL, &s, &err), E2E_ERR_INVALID);
    assert_contains(err.message, "crafted.onnx: node \"LeakyRelu_0\" (LeakyRelu)");
    assert_contains(err.message, "alpha");
    e2e_model_free(m);
    mc_free(&mm);
}

static void test_run_input_errors_and_rebind(void **state)
{
    mc_model mm;
    relu_model(&mm);
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_OK);
    e2e_tensor_view decl;
    assert_int_equal(e2e_model_input(m, 0, &decl), E2E_OK);
    assert_int_equal(decl.dims[0], -1);
    e2e_session *s = NULL;
    assert_int_equal(e2e_session_create(m, NULL, &s, &err), E2E_OK);
    float x[12] = {-1, 2, -3, 4, NAN, INFINITY, -INFINITY, 0, 5, -5, 6, -6};
    e2e_tensor_view in = e2e_tensor_view_f32("x", x, 2, (int64_t[]){1, 5});
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "has shape 1x5, the session is bound to 1x4");
    in = e2e_tensor_view_f32("x", x, 2, (int64_t[]){1, 4});
    in.dtype = E2E_INT64;
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "is int64, the model wants float");
    in.dtype = E2E_FLOAT;
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    /* re-bind the batch to 3: NaN and Inf go through without a crash */
    e2e_shape_binding b = {"x", 2, (int64_t[]){3, 4}};
    assert_int_equal(e2e_session_reshape(s, &b, 1, &err), E2E_OK);
    in = e2e_tensor_view_f32("x", x, 2, (int64_t[]){3, 4});
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    e2e_tensor_view out;
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.dims[0], 3);
    const float *y = out.data;
    assert_float_equal(y[0], 0, 0);
    assert_float_equal(y[1], 2, 0);
    assert_true(isinf(y[5]));
    assert_float_equal(y[6], 0, 0);
    /* zero-size batch */
    b.dims = (int64_t[]){0, 4};
    assert_int_equal(e2e_session_reshape(s, &b, 1, &err), E2E_OK);
    in = e2e_tensor_view_f32("x", x, 2, (int64_t[]){0, 4});
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    e2e_session_output(s, 0, &out);
    assert_int_equal(out.dims[0], 0);
    /* a dim fixed by the model cannot be re-bound */
    b.dims = (int64_t[]){2, 5};
    assert_int_equal(e2e_session_reshape(s, &b, 1, &err), E2E_ERR_SHAPE);
    assert_contains(err.message, "fixed at 4");
    e2e_session_free(s);
    e2e_model_free(m);
    mc_free(&mm);
}

static void test_arena_limit(void **state)
{
    mc_model mm;
    relu_model(&mm);
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(load_crafted(&mm, &m, &err), E2E_OK);
    e2e_session_options o = e2e_session_options_default();
    o.default_batch = 1000;
    o.max_arena_bytes = 1024;
    e2e_session *s = NULL;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_ERR_LIMIT);
    assert_contains(err.message, "above the limit of 1024");
    assert_null(s);
    e2e_model_free(m);
    mc_free(&mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_onnx),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_undefined_input),
        cmocka_unit_test(test_duplicate_output),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_unsupported_listed),
        cmocka_unit_test(test_initializer_short),
        cmocka_unit_test(test_dims_overflow_and_negative),
        cmocka_unit_test(test_external_data),
        cmocka_unit_test(test_file_changed_after_load),
        cmocka_unit_test(test_wrong_attr_type),
        cmocka_unit_test(test_run_input_errors_and_rebind),
        cmocka_unit_test(test_arena_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
