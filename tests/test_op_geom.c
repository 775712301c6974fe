/* The window geometry the CPU Conv and pool operators decode at prepare and share with other
   backends (src/ops/op_geom.h; the CUDA backend reads it instead of deriving it again):
   auto_pad, strides, ceil_mode and the pooling flags come out as the ONNX spec says, and
   kernels of other operators have none. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ops/op.h"
#include "ops/op_geom.h"

/* One prepared kernel of op_type over x (and a constant weight for Conv). */
typedef struct one_kernel {
    e2e_value v[3];
    e2e_value *in[2], *out[1];
    e2e_node node;
    e2e_kernel k;
    e2e_error err;
    float x[1 * 3 * 9 * 9], w[4 * 3 * 3 * 3];
} one_kernel;

static void prepare(one_kernel *o, const char *op_type, const int64_t *xd, const int64_t *wd,
                    e2e_attr *attrs, int n_attrs)
{
    memset(o, 0, sizeof *o);
    o->v[0] = (e2e_value){.dtype = E2E_FLOAT, .shape = {4, {xd[0], xd[1], xd[2], xd[3]}},
                          .numel = xd[0] * xd[1] * xd[2] * xd[3], .data = o->x, .is_input = true};
    int n_in = 1;
    if (wd) {
        o->v[1] = (e2e_value){.dtype = E2E_FLOAT, .shape = {4, {wd[0], wd[1], wd[2], wd[3]}},
                              .numel = wd[0] * wd[1] * wd[2] * wd[3], .data = o->w, .is_const = true};
        n_in = 2;
    }
    o->in[0] = &o->v[0];
    o->in[1] = &o->v[1];
    o->out[0] = &o->v[2];
    o->node = (e2e_node){.name = "n", .op_type = (char *)op_type, .domain = "", .n_in = n_in,
                         .n_out = 1, .n_attrs = n_attrs, .attrs = attrs};
    static const e2e_kernel_ctx ctx = {.model_name = "geom", .threads = 1, .isa = E2E_ISA_GENERIC};
    o->k = (e2e_kernel){.node = &o->node, .op = e2e_op_find("", op_type), .ctx = &ctx,
                        .opset = 13, .n_in = n_in, .n_out = 1, .in = o->in, .out = o->out,
                        .err = &o->err};
    assert_non_null(o->k.op);
    assert_int_equal(o->k.op->prepare(&o->k), E2E_OK);
}

static void release(one_kernel *o)
{
    if (o->k.op->release && o->k.priv)
        o->k.op->release(o->k.priv);
}

static e2e_attr ints(const char *name, int64_t *v, int n)
{
    return (e2e_attr){.name = (char *)name, .type = E2E_ATTR_INTS, .ints = v, .n = n};
}

static void test_conv_same_upper(void **state)
{
    (void)state;
    int64_t strides[2] = {2, 2};
    e2e_attr at[2] = {{.name = "auto_pad", .type = E2E_ATTR_STRING, .s = "SAME_UPPER"},
                      ints("strides", strides, 2)};
    one_kernel o;
    prepare(&o, "Conv", (int64_t[]){1, 3, 7, 9}, (int64_t[]){4, 3, 3, 3}, at, 2);
    e2e_window_geom g;
    assert_true(e2e_conv_geom_of(&o.k, &g));
    assert_int_equal(g.N, 1);
    assert_int_equal(g.C, 3);
    assert_int_equal(g.M, 4);
    assert_int_equal(g.G, 1);
    /* D absent; H: ceil(7/2) = 4, total pad (4-1)*2 + 3 - 7 = 2, 1 before; W: 5 and 1 */
    assert_int_equal(g.id[0], 1);
    assert_int_equal(g.od[0], 1);
    assert_int_equal(g.od[1], 4);
    assert_int_equal(g.od[2], 5);
    assert_int_equal(g.pb[1], 1);
    assert_int_equal(g.pb[2], 1);
    assert_int_equal(g.st[1], 2);
    assert_int_equal(g.kd[2], 3);
    assert_int_equal(g.osp, 20);
    assert_int_equal(g.ksp, 9);
    assert_int_equal(o.v[2].shape.dims[2], 4); /* the output shape agrees */
    assert_false(e2e_pool_geom_of(&o.k, &g));
    release(&o);
}

static void test_pool_ceil_and_flags(void **state)
{
    (void)state;
    int64_t kern[2] = {2, 2}, strides[2] = {2, 2};
    e2e_attr at[3] = {ints("kernel_shape", kern, 2), ints("strides", strides, 2),
                      {.name = "ceil_mode", .type = E2E_ATTR_INT, .i = 1}};
    one_kernel o;
    prepare(&o, "MaxPool", (int64_t[]){2, 3, 5, 5}, NULL, at, 3);
    e2e_window_geom g;
    assert_true(e2e_pool_geom_of(&o.k, &g));
    assert_int_equal(g.N, 2);
    assert_int_equal(g.C, 3);
    assert_int_equal(g.od[1], 3); /* ceil((5 - 2) / 2) + 1 */
    assert_int_equal(g.od[2], 3);
    assert_int_equal(g.pe[1], 0);
    assert_false(g.include_pad);
    assert_false(g.col_major);
    assert_false(e2e_conv_geom_of(&o.k, &g));
    release(&o);

    int64_t pads[4] = {1, 0, 1, 0};
    e2e_attr at2[3] = {ints("kernel_shape", kern, 2), ints("pads", pads, 4),
                       {.name = "count_include_pad", .type = E2E_ATTR_INT, .i = 1}};
    prepare(&o, "AveragePool", (int64_t[]){1, 3, 4, 4}, NULL, at2, 3);
    assert_true(e2e_pool_geom_of(&o.k, &g));
    assert_true(g.include_pad);
    assert_int_equal(g.pb[1], 1);
    assert_int_equal(g.pe[1], 1);
    assert_int_equal(g.od[1], 5); /* (4 + 1 + 1 - 2) / 1 + 1 */
    release(&o);
}

static void test_other_kernels_have_none(void **state)
{
    (void)state;
    one_kernel o;
    prepare(&o, "Relu", (int64_t[]){1, 3, 4, 4}, NULL, NULL, 0);
    e2e_window_geom g;
    assert_false(e2e_conv_geom_of(&o.k, &g));
    assert_false(e2e_pool_geom_of(&o.k, &g));
    release(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_same_upper),
        cmocka_unit_test(test_pool_ceil_and_flags),
        cmocka_unit_test(test_other_kernels_have_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
