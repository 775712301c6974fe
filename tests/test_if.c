/* If: the loader inlines both branches (outer-scope names, branch initializers, nesting);
   the session folds an If whose condition is decided by shapes (Shape -> Gather -> Equal, as
   torch exports produce) so that no If kernel remains and the other branch is never
   prepared, and runs the taken branch of an If whose condition is a run-time value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "onnx/onnx_build.h"
#include "engine/session.h"

#include "op_harness.h"

static const int64_t XD[2] = {2, 3};

/* A branch graph computing `out` from the outer x. kind 0: Relu(x); 1: Neg(x) then a Reshape
   to 7 elements (cannot be prepared for a 2x3 x); 2: x * w with w a branch initializer;
   3: Relu(x) reshaped to [6] (another shape than x). */
static e2e_ob *branch(int kind, const char *out)
{
    e2e_ob *b = e2e_ob_new(17, "branch");
    switch (kind) {
    case 0:
        e2e_ob_node(b, "Relu", NULL, 1, (const char *[]){"x"}, 1, (const char *[]){out});
        break;
    case 1:
        e2e_ob_init_i64(b, "bad_shape", 1, (int64_t[]){1}, (int64_t[]){7});
        e2e_ob_node(b, "Neg", NULL, 1, (const char *[]){"x"}, 1, (const char *[]){"t"});
        e2e_ob_node(b, "Reshape", NULL, 2, (const char *[]){"t", "bad_shape"}, 1,
                    (const char *[]){out});
        break;
    case 2:
        e2e_ob_init_f32(b, "w", 0, NULL, (float[]){3.f});
        e2e_ob_node(b, "Mul", NULL, 2, (const char *[]){"x", "w"}, 1, (const char *[]){out});
        break;
    default:
        e2e_ob_init_i64(b, "flat", 1, (int64_t[]){1}, (int64_t[]){6});
        e2e_ob_node(b, "Relu", NULL, 1, (const char *[]){"x"}, 1, (const char *[]){"t"});
        e2e_ob_node(b, "Reshape", NULL, 2, (const char *[]){"t", "flat"}, 1, (const char *[]){out});
        break;
    }
    e2e_ob_output(b, out, E2E_FLOAT, -1, NULL);
    return b;
}

static e2e_model *load(e2e_ob *b)
{
    e2e_model *m = oh_model_pack(b, "if_model");
    e2e_ob_free(b);
    return m;
}

static int count_if_kernels(const e2e_session *s)
{
    int n = 0;
    for (int i = 0; i < s->n_kernels; i++)
        if (!strcmp(s->kernels[i].op->op_type, "If"))
            n++;
    return n;
}

static void run_x(e2e_session *s, const float *x, const uint8_t *cond, const uint8_t *cond2)
{
    e2e_tensor_view in[3];
    memset(in, 0, sizeof in);
    in[0].name = "x";
    in[0].dtype = E2E_FLOAT;
    in[0].rank = 2;
    in[0].dims[0] = 2;
    in[0].dims[1] = 3;
    in[0].data = (void *)x;
    int n = 1;
    if (cond) {
        in[n].name = "cond";
        in[n].dtype = E2E_BOOL;
        in[n].rank = 0;
        in[n++].data = (void *)cond;
    }
    if (cond2) {
        in[n].name = "cond2";
        in[n].dtype = E2E_BOOL;
        in[n].rank = 0;
        in[n++].data = (void *)cond2;
    }
    e2e_error err;
    if (e2e_session_run(s, in, n, &err))
        fail_msg("%s", err.message);
}

/* cond = Equal(Gather(Shape(x), 1), 3 or 4); y = If(cond) then Relu(x) else Reshape(-x, [7]);
   z = y + 1 (so the If output is both a graph output and an intermediate). */
static void test_if_folded(void **state)
{
    (void)state;
    for (int take_then = 1; take_then >= 0; take_then--) {
        e2e_ob *b = e2e_ob_new(17, "if_folded");
        e2e_ob_input(b, "x", E2E_FLOAT, 2, XD);
        e2e_ob_init_i64(b, "three", 0, NULL, (int64_t[]){take_then ? 3 : 4});
        e2e_ob_init_i64(b, "axis1", 0, NULL, (int64_t[]){1});
        e2e_ob_init_f32(b, "one", 0, NULL, (float[]){1.f});
        e2e_ob_node(b, "Shape", NULL, 1, (const char *[]){"x"}, 1, (const char *[]){"s"});
        e2e_ob_node(b, "Gather", NULL, 2, (const char *[]){"s", "axis1"}, 1, (const char *[]){"n"});
        e2e_ob_node(b, "Equal", NULL, 2, (const char *[]){"n", "three"}, 1, (const char *[]){"c"});
        Onnx__NodeProto *nd = e2e_ob_node(b, "If", "the_if", 1, (const char *[]){"c"}, 1,
                                          (const char *[]){"y"});
        /* when the else branch is taken, it must be a valid one: Mul by a branch initializer */
        e2e_ob_attr_graph(b, nd, "then_branch", branch(0, "r"));
        e2e_ob_attr_graph(b, nd, "else_branch", branch(take_then ? 1 : 2, "r"));
        e2e_ob_node(b, "Add", NULL, 2, (const char *[]){"y", "one"}, 1, (const char *[]){"z"});
        e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
        e2e_ob_output(b, "z", E2E_FLOAT, -1, NULL);
        e2e_model *m = load(b);
        e2e_session *s = NULL;
        e2e_error err;
        if (e2e_session_create(m, NULL, &s, &err))
            fail_msg("%s", err.message);
        assert_int_equal(count_if_kernels(s), 0);
        const float x[6] = {-1.f, 2.f, -3.f, 4.f, 0.5f, -0.25f};
        run_x(s, x, NULL, NULL);
        e2e_tensor_view y, z;
        assert_int_equal(e2e_session_output(s, 0, &y), E2E_OK);
        assert_int_equal(e2e_session_output(s, 1, &z), E2E_OK);
        assert_int_equal(y.rank, 2);
        for (int i = 0; i < 6; i++) {
            float want = take_then ? (x[i] > 0 ? x[i] : 0.f) : 3.f * x[i];
            assert_float_equal(((const float *)y.data)[i], want, 0.f);
            assert_float_equal(((const float *)z.data)[i], want + 1.f, 0.f);
        }
        e2e_session_free(s);
        e2e_model_free(m);
    }
}

/* y = If(cond) then Relu(x) else If(cond2) then x * 3 else Relu(x) reshaped... (nested, both
   conditions graph inputs) */
static void test_if_runtime(void **state)
{
    (void)state;
    e2e_ob *b = e2e_ob_new(17, "if_runtime");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, XD);
    e2e_ob_input(b, "cond", E2E_BOOL, 0, NULL);
    e2e_ob_input(b, "cond2", E2E_BOOL, 0, NULL);
    Onnx__NodeProto *nd = e2e_ob_node(b, "If", "outer", 1, (const char *[]){"cond"}, 1,
                                      (const char *[]){"y"});
    e2e_ob_attr_graph(b, nd, "then_branch", branch(0, "r"));
    /* else: a nested If on cond2 whose branches read x from two scopes up */
    e2e_ob *eb = e2e_ob_new(17, "else");
    Onnx__NodeProto *inner = e2e_ob_node(eb, "If", "inner", 1, (const char *[]){"cond2"}, 1,
                                         (const char *[]){"r"});
    e2e_ob_attr_graph(eb, inner, "then_branch", branch(2, "q"));
    e2e_ob *neg = e2e_ob_new(17, "neg");
    e2e_ob_node(neg, "Neg", NULL, 1, (const char *[]){"x"}, 1, (const char *[]){"q"});
    e2e_ob_output(neg, "q", E2E_FLOAT, -1, NULL);
    e2e_ob_attr_graph(eb, inner, "else_branch", neg);
    e2e_ob_output(eb, "r", E2E_FLOAT, -1, NULL);
    e2e_ob_attr_graph(b, nd, "else_branch", eb);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = load(b);
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, NULL, &s, &err))
        fail_msg("%s", err.message);
    assert_int_equal(count_if_kernels(s), 2);
    const float x[6] = {-1.f, 2.f, -3.f, 4.f, 0.5f, -0.25f};
    for (int c = 0; c < 4; c++) {
        uint8_t c1 = c & 1, c2 = (c >> 1) & 1;
        run_x(s, x, &c1, &c2);
        e2e_tensor_view y;
        assert_int_equal(e2e_session_output(s, 0, &y), E2E_OK);
        for (int i = 0; i < 6; i++) {
            float want = c1 ? (x[i] > 0 ? x[i] : 0.f) : c2 ? 3.f * x[i] : -x[i];
            if (((const float *)y.data)[i] != want)
                fail_msg("cond=%d cond2=%d: y[%d] = %g, expected %g", c1, c2, i,
                         (double)((const float *)y.data)[i], (double)want);
        }
    }
    e2e_session_free(s);
    e2e_model_free(m);
}

/* A run-time condition with branches of different shapes cannot be planned. */
static void test_if_runtime_shapes_differ(void **state)
{
    (void)state;
    e2e_ob *b = e2e_ob_new(17, "if_shapes");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, XD);
    e2e_ob_input(b, "cond", E2E_BOOL, 0, NULL);
    Onnx__NodeProto *nd = e2e_ob_node(b, "If", "the_if", 1, (const char *[]){"cond"}, 1,
                                      (const char *[]){"y"});
    e2e_ob_attr_graph(b, nd, "then_branch", branch(0, "r"));
    e2e_ob_attr_graph(b, nd, "else_branch", branch(3, "r"));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = load(b);
    e2e_session *s = NULL;
    e2e_error err;
    assert_int_equal(e2e_session_create(m, NULL, &s, &err), E2E_ERR_DYNAMIC);
    assert_non_null(strstr(err.message, "the_if"));
    assert_non_null(strstr(err.message, "condition not constant"));
    e2e_model_free(m);
}

/* A branch that reads a name defined nowhere is refused at load, naming it. */
static void test_if_undefined_name(void **state)
{
    (void)state;
    e2e_ob *b = e2e_ob_new(17, "if_bad");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, XD);
    e2e_ob_input(b, "cond", E2E_BOOL, 0, NULL);
    Onnx__NodeProto *nd = e2e_ob_node(b, "If", "the_if", 1, (const char *[]){"cond"}, 1,
                                      (const char *[]){"y"});
    e2e_ob *t = e2e_ob_new(17, "then");
    e2e_ob_node(t, "Relu", NULL, 1, (const char *[]){"nowhere"}, 1, (const char *[]){"r"});
    e2e_ob_output(t, "r", E2E_FLOAT, -1, NULL);
    e2e_ob_attr_graph(b, nd, "then_branch", t);
    e2e_ob_attr_graph(b, nd, "else_branch", branch(0, "r"));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    uint8_t *buf;
    size_t n;
    e2e_error err;
    assert_int_equal(e2e_ob_pack(b, &buf, &n, &err), E2E_OK);
    e2e_ob_free(b);
    e2e_model *m = NULL;
    assert_int_equal(e2e_model_load_buffer(buf, n, "if_bad", &m, &err), E2E_ERR_INVALID);
    assert_non_null(strstr(err.message, "\"nowhere\""));
    free(buf);
}

/* then_branch of depth d: an If on cond nested d levels deep, Relu(x) at the bottom. */
static e2e_ob *nested(int d, const char *out)
{
    if (d == 0)
        return branch(0, out);
    e2e_ob *b = e2e_ob_new(17, "nested");
    Onnx__NodeProto *nd = e2e_ob_node(b, "If", NULL, 1, (const char *[]){"cond"}, 1,
                                      (const char *[]){out});
    e2e_ob_attr_graph(b, nd, "then_branch", nested(d - 1, "r"));
    e2e_ob_attr_graph(b, nd, "else_branch", branch(2, "r"));
    e2e_ob_output(b, out, E2E_FLOAT, -1, NULL);
    return b;
}

/* Nesting: 8 levels load and run (x * 3 unless cond); 40 levels are refused at load. */
static void test_if_nesting(void **state)
{
    (void)state;
    for (int depth = 8; depth <= 40; depth += 32) {
        e2e_ob *b = e2e_ob_new(17, "if_nested");
        e2e_ob_input(b, "x", E2E_FLOAT, 2, XD);
        e2e_ob_input(b, "cond", E2E_BOOL, 0, NULL);
        Onnx__NodeProto *nd = e2e_ob_node(b, "If", "top", 1, (const char *[]){"cond"}, 1,
                                          (const char *[]){"y"});
        e2e_ob_attr_graph(b, nd, "then_branch", nested(depth - 1, "r"));
        e2e_ob_attr_graph(b, nd, "else_branch", branch(2, "r"));
        e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
        uint8_t *buf;
        size_t n;
        e2e_error err;
        assert_int_equal(e2e_ob_pack(b, &buf, &n, &err), E2E_OK);
        e2e_ob_free(b);
        e2e_model *m = NULL;
        e2e_status st = e2e_model_load_buffer(buf, n, "if_nested", &m, &err);
        free(buf);
        if (depth > 32) {
            assert_int_equal(st, E2E_ERR_UNSUPPORTED);
            assert_non_null(strstr(err.message, "nested"));
            continue;
        }
        if (st)
            fail_msg("%s", err.message);
        e2e_session *s = NULL;
        if (e2e_session_create(m, NULL, &s, &err))
            fail_msg("%s", err.message);
        const float x[6] = {-1.f, 2.f, -3.f, 4.f, 0.5f, -0.25f};
        for (uint8_t c = 0; c <= 1; c++) {
            run_x(s, x, &c, NULL);
            e2e_tensor_view y;
            assert_int_equal(e2e_session_output(s, 0, &y), E2E_OK);
            for (int i = 0; i < 6; i++)
                assert_float_equal(((const float *)y.data)[i],
                                   c ? (x[i] > 0 ? x[i] : 0.f) : 3.f * x[i], 0.f);
        }
        e2e_session_free(s);
        e2e_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_if_folded),
        cmocka_unit_test(test_if_runtime),
        cmocka_unit_test(test_if_runtime_shapes_differ),
        cmocka_unit_test(test_if_undefined_name),
        cmocka_unit_test(test_if_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
