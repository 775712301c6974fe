/* Elementwise operators (ops_unary.c, ops_binary.c) against naive references: random shapes
   with numpy broadcasting up to rank 6 (zero-size dims included), every unary function,
   Cast, variadic Sum/Mean/Min/Max, Where, PRelu, an in-place/fused chain, and errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_craft.h"
#include "op_harness.h"

#define RTOL 1e-5
#define ATOL 1e-6

static uint64_t rng = 777;

/* op_harness.h\'s helpers on this file\'s random stream and tolerances */
#define rnd(lo, hi) oh_rand_int(lo, hi, &rng)
#define numel oh_numel
#define expect_close(got, ref, n, rtol, what) oh_expect_close(got, ref, n, rtol, ATOL, what)
#define expect_shape oh_expect_shape

/* ------------------------------------------------------------------ broadcasting reference */

typedef struct shp {
    int rank;
    int64_t d[8];
} shp;

/* Offset in `in` (numpy-broadcast to out) of out's flat index i. */
static int64_t bc_offset(const shp *in, const shp *out, int64_t i)
{
    int64_t off = 0, mul = 1;
    for (int a = out->rank - 1; a >= 0; a--) {
        int64_t c = i % out->d[a];
        i /= out->d[a];
        int ia = a - (out->rank - in->rank);
        if (ia < 0)
            continue;
        if (in->d[ia] != 1)
            off += c * mul;
        mul *= in->d[ia];
    }
    return off;
}

/* Random output shape (rank 0..max_rank, dims 1..4, sometimes 0) and an input shape that
   broadcasts to it: a suffix of it with some dims set to 1. */
static void rand_out(shp *o, int max_rank, bool allow_zero)
{
    o->rank = rnd(0, max_rank);
    for (int i = 0; i < o->rank; i++)
        o->d[i] = rnd(1, 4);
    if (allow_zero && o->rank && rnd(0, 9) == 0)
        o->d[rnd(0, o->rank - 1)] = 0;
}

static void rand_in(shp *in, const shp *o)
{
    in->rank = rnd(0, o->rank);
    for (int i = 0; i < in->rank; i++) {
        int64_t d = o->d[o->rank - in->rank + i];
        in->d[i] = rnd(0, 2) == 0 ? 1 : d;
    }
}

/* Makes in[0] carry the full output shape for every dim where no input does (so the output
   is exactly o). */
static void complete(shp *ins, int n, const shp *o)
{
    for (int a = 0; a < o->rank; a++) {
        bool have = false;
        for (int j = 0; j < n; j++) {
            int ia = a - (o->rank - ins[j].rank);
            if (ia >= 0 && ins[j].d[ia] == o->d[a])
                have = true;
        }
        if (have)
            continue;
        /* give input 0 this dim: extend its rank if needed */
        int ia = a - (o->rank - ins[0].rank);
        if (ia < 0) {
            int grow = -ia;
            memmove(ins[0].d + grow, ins[0].d, sizeof(int64_t) * (size_t)ins[0].rank);
            for (int k = 0; k < grow; k++)
                ins[0].d[k] = 1;
            ins[0].rank += grow;
            ia = 0;
        }
        ins[0].d[ia] = o->d[a];
    }
}

/* ------------------------------------------------------------------ binary float */

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_MIN, OP_MAX, OP_LESS, OP_GREATER, OP_EQUAL, OP_N };
static const char *const bin_name[OP_N] = {"Add", "Sub",  "Mul",  "Div",     "Pow",
                                           "Min", "Max", "Less", "Greater", "Equal"};

static float bin_ref(int op, float a, float b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_POW: return (float)pow(a, b);
    case OP_MIN: return a < b ? a : b;
    case OP_MAX: return a > b ? a : b;
    case OP_LESS: return a < b;
    case OP_GREATER: return a > b;
    default: return a == b;
    }
}

static void run_binary_case(int op, const shp *sa, const shp *sb, bool ca, bool cb)
{
    shp so = {.rank = sa->rank > sb->rank ? sa->rank : sb->rank};
    for (int i = 0; i < so.rank; i++) {
        int ia = i - (so.rank - sa->rank), ib = i - (so.rank - sb->rank);
        int64_t da = ia >= 0 ? sa->d[ia] : 1, db = ib >= 0 ? sb->d[ib] : 1;
        so.d[i] = da == 1 ? db : da;
    }
    int64_t na = numel(sa->rank, sa->d), nb = numel(sb->rank, sb->d), no = numel(so.rank, so.d);
    float *a = malloc(sizeof(float) * (size_t)(na + 1)), *b = malloc(sizeof(float) * (size_t)(nb + 1));
    float *ref = malloc(sizeof(float) * (size_t)(no + 1));
    if (op == OP_POW) {
        oh_fill_random(a, na, 0.1f, 3.f, &rng);
        oh_fill_random(b, nb, -2.f, 2.f, &rng);
    } else {
        oh_fill_random(a, na, -2.f, 2.f, &rng);
        oh_fill_random(b, nb, 0.25f, 2.f, &rng);
        for (int64_t i = 0; i < nb; i++)
            if (rnd(0, 1))
                b[i] = -b[i];
        if (op == OP_EQUAL) /* make some equal */
            for (int64_t i = 0; i < na && nb; i++)
                if (rnd(0, 1))
                    a[i] = b[i % nb];
    }
    for (int64_t i = 0; i < no; i++)
        ref[i] = bin_ref(op, a[bc_offset(sa, &so, i)], b[bc_offset(sb, &so, i)]);
    oh_node *n = oh_new(bin_name[op], 14);
    oh_input(n, E2E_FLOAT, sa->rank, sa->d, a, ca);
    oh_input(n, E2E_FLOAT, sb->rank, sb->d, b, cb);
    e2e_tensor_view out;
    e2e_error err;
    e2e_status st = oh_run(n, 1, &out, &err);
    if (st)
        fail_msg("%s: %s", bin_name[op], err.message);
    expect_shape(&out, so.rank, so.d);
    char what[64];
    snprintf(what, sizeof what, "%s rank %d", bin_name[op], so.rank);
    if (op >= OP_LESS) {
        assert_int_equal(out.dtype, E2E_BOOL);
        const uint8_t *y = out.data;
        for (int64_t i = 0; i < no; i++)
            if (y[i] != (uint8_t)ref[i])
                fail_msg("%s: element %lld is %d, expected %d", what, (long long)i, y[i], (int)ref[i]);
    } else {
        expect_close(&out, ref, no, op == OP_POW ? 1e-4 : RTOL, what);
    }
    oh_free(n);
    free(a);
    free(b);
    free(ref);
}

static void test_binary_random(void **state)
{
    (void)state;
    for (int it = 0; it < 600; it++) {
        int op = it % OP_N;
        shp o, in[2];
        rand_out(&o, 6, true);
        rand_in(&in[0], &o);
        rand_in(&in[1], &o);
        complete(in, 2, &o);
        if (rnd(0, 1)) { /* either side may carry the big shape */
            shp t = in[0];
            in[0] = in[1];
            in[1] = t;
        }
        run_binary_case(op, &in[0], &in[1], rnd(0, 3) == 0, rnd(0, 3) == 0);
    }
}

/* The shapes the planner turns into one or two loops, both operand orders. */
static void test_binary_fast_paths(void **state)
{
    (void)state;
    static const shp cases[][2] = {
        {{3, {2, 3, 4}}, {3, {2, 3, 4}}},           /* equal */
        {{3, {2, 3, 4}}, {0, {0}}},                 /* scalar */
        {{3, {2, 3, 4}}, {1, {1}}},                 /* one-element */
        {{2, {5, 7}}, {1, {7}}},                    /* bias add */
        {{4, {2, 3, 4, 5}}, {3, {3, 1, 1}}},        /* channel bias, NCHW */
        {{4, {2, 3, 4, 5}}, {4, {1, 3, 4, 5}}},     /* batch broadcast */
        {{2, {3, 1}}, {2, {1, 4}}},                 /* outer product */
        {{5, {2, 1, 3, 1, 2}}, {4, {4, 1, 5, 1}}},  /* interleaved */
        {{6, {1, 2, 1, 2, 1, 3}}, {6, {2, 1, 2, 1, 3, 1}}},
        {{3, {0, 3, 4}}, {1, {4}}},                 /* zero-size */
        {{0, {0}}, {0, {0}}},                       /* scalars */
        {{2, {1000, 33}}, {1, {33}}},               /* long rows */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int op = 0; op < OP_N; op++) {
            run_binary_case(op, &cases[c][0], &cases[c][1], false, false);
            run_binary_case(op, &cases[c][1], &cases[c][0], false, op == OP_ADD);
        }
}

/* ------------------------------------------------------------------ binary integers */

static int64_t idiv_ref(int64_t a, int64_t b)
{
    int64_t q = llabs(a) / llabs(b);
    return (a < 0) != (b < 0) ? -q : q;
}

static void test_binary_ints(void **state)
{
    (void)state;
    const char *ops[] = {"Add", "Sub", "Mul", "Div", "Min", "Max", "Less", "Equal"};
    for (int it = 0; it < 160; it++) {
        int op = it % 8;
        bool i32 = it % 3 == 0;
        shp o, in[2];
        rand_out(&o, 5, true);
        rand_in(&in[0], &o);
        rand_in(&in[1], &o);
        complete(in, 2, &o);
        int64_t na = numel(in[0].rank, in[0].d), nb = numel(in[1].rank, in[1].d), no = numel(o.rank, o.d);
        int64_t *a = malloc(8 * (size_t)(na + 1)), *b = malloc(8 * (size_t)(nb + 1));
        int32_t *a32 = malloc(4 * (size_t)(na + 1)), *b32 = malloc(4 * (size_t)(nb + 1));
        for (int64_t i = 0; i < na; i++)
            a32[i] = (int32_t)(a[i] = rnd(-50, 50));
        for (int64_t i = 0; i < nb; i++) {
            b[i] = rnd(1, 9) * (rnd(0, 1) ? 1 : -1);
            b32[i] = (int32_t)b[i];
        }
        oh_node *n = oh_new(ops[op], 14);
        e2e_dtype dt = i32 ? E2E_INT32 : E2E_INT64;
        oh_input(n, dt, in[0].rank, in[0].d, i32 ? (void *)a32 : (void *)a, false);
        oh_input(n, dt, in[1].rank, in[1].d, i32 ? (void *)b32 : (void *)b, rnd(0, 1));
        e2e_tensor_view out;
        e2e_error err;
        if (oh_run(n, 1, &out, &err))
            fail_msg("%s: %s", ops[op], err.message);
        expect_shape(&out, o.rank, o.d);
        assert_int_equal(out.dtype, op >= 6 ? E2E_BOOL : dt);
        for (int64_t i = 0; i < no; i++) {
            int64_t x = a[bc_offset(&in[0], &o, i)], y = b[bc_offset(&in[1], &o, i)], want, got;
            switch (op) {
            case 0: want = x + y; break;
            case 1: want = x - y; break;
            case 2: want = x * y; break;
            case 3: want = idiv_ref(x, y); break;
            case 4: want = x < y ? x : y; break;
            case 5: want = x > y ? x : y; break;
            case 6: want = x < y; break;
            default: want = x == y; break;
            }
            got = op >= 6 ? ((uint8_t *)out.data)[i]
                  : i32   ? ((int32_t *)out.data)[i]
                          : ((int64_t *)out.data)[i];
            if (got != want)
                fail_msg("%s %s: element %lld: %lld, expected %lld", ops[op], i32 ? "int32" : "int64",
                         (long long)i, (long long)got, (long long)want);
        }
        oh_free(n);
        free(a);
        free(b);
        free(a32);
        free(b32);
    }
}

static void test_pow_types(void **state)
{
    (void)state;
    int64_t d3[1] = {3};
    float fx[3] = {1.5f, 2.f, 3.f}, fy[3] = {4.f, 5.f, -1.f};
    int64_t ix[3] = {1, 2, 3}, iy[3] = {4, 5, 6};
    int32_t ix32[3] = {1, -2, 3}, iy32[3] = {4, 5, 6};
    e2e_tensor_view out;
    e2e_error err;
    /* float ^ int64 */
    oh_node *n = oh_new("Pow", 15);
    oh_input(n, E2E_FLOAT, 1, d3, fx, false);
    oh_input(n, E2E_INT64, 1, d3, iy, false);
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    float r1[3] = {5.0625f, 32.f, 729.f};
    expect_close(&out, r1, 3, RTOL, "float^int64");
    oh_free(n);
    /* int64 ^ float */
    n = oh_new("Pow", 15);
    oh_input(n, E2E_INT64, 1, d3, ix, false);
    oh_input(n, E2E_FLOAT, 1, d3, fy, false);
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    assert_int_equal(out.dtype, E2E_INT64);
    assert_int_equal(((int64_t *)out.data)[0], 1);
    assert_int_equal(((int64_t *)out.data)[1], 32);
    assert_int_equal(((int64_t *)out.data)[2], 0); /* 3^-1 truncates */
    oh_free(n);
    /* int32 ^ int32 */
    n = oh_new("Pow", 15);
    oh_input(n, E2E_INT32, 1, d3, ix32, false);
    oh_input(n, E2E_INT32, 1, d3, iy32, true);
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    assert_int_equal(out.dtype, E2E_INT32);
    assert_int_equal(((int32_t *)out.data)[1], -32);
    assert_int_equal(((int32_t *)out.data)[2], 729);
    oh_free(n);
    /* constant scalar exponents take shortcuts */
    const float exps[] = {0.5f, 1.f, 2.f, 3.f, 1.7f};
    for (int e = 0; e < 5; e++) {
        float x[6], ref[6];
        oh_fill_random(x, 6, 0.f, 3.f, &rng);
        for (int i = 0; i < 6; i++)
            ref[i] = powf(x[i], exps[e]);
        n = oh_new("Pow", 15);
        oh_input(n, E2E_FLOAT, 2, (int64_t[]){2, 3}, x, false);
        oh_input(n, E2E_FLOAT, 0, NULL, &exps[e], true);
        assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
        expect_close(&out, ref, 6, 1e-5, "pow constant exponent");
        oh_free(n);
    }
}

/* ------------------------------------------------------------------ variadic, Where, PRelu */

static void test_variadic(void **state)
{
    (void)state;
    const char *ops[] = {"Sum", "Mean", "Min", "Max"};
    for (int it = 0; it < 120; it++) {
        int op = it % 4, k = rnd(1, 5);
        shp o, in[5];
        rand_out(&o, 6, true);
        for (int j = 0; j < k; j++)
            rand_in(&in[j], &o);
        complete(in, k, &o);
        /* long rows cross the chunk size */
        if (it % 17 == 0) {
            o.rank = 2;
            o.d[0] = 3;
            o.d[1] = 700;
            for (int j = 0; j < k; j++) {
                in[j].rank = 2;
                in[j].d[0] = j == 1 ? 1 : 3;
                in[j].d[1] = 700;
            }
        }
        int64_t no = numel(o.rank, o.d);
        float *x[5], *ref = malloc(sizeof(float) * (size_t)(no + 1));
        oh_node *n = oh_new(ops[op], 13);
        for (int j = 0; j < k; j++) {
            int64_t nj = numel(in[j].rank, in[j].d);
            x[j] = malloc(sizeof(float) * (size_t)(nj + 1));
            oh_fill_random(x[j], nj, -3.f, 3.f, &rng);
            oh_input(n, E2E_FLOAT, in[j].rank, in[j].d, x[j], j > 0 && rnd(0, 2) == 0);
        }
        for (int64_t i = 0; i < no; i++) {
            double acc = x[0][bc_offset(&in[0], &o, i)];
            for (int j = 1; j < k; j++) {
                double v = x[j][bc_offset(&in[j], &o, i)];
                acc = op <= 1 ? acc + v : op == 2 ? fmin(acc, v) : fmax(acc, v);
            }
            ref[i] = (float)(op == 1 ? acc / k : acc);
        }
        e2e_tensor_view out;
        e2e_error err;
        if (oh_run(n, 1, &out, &err))
            fail_msg("%s: %s", ops[op], err.message);
        expect_shape(&out, o.rank, o.d);
        char what[64];
        snprintf(what, sizeof what, "%s of %d", ops[op], k);
        expect_close(&out, ref, no, RTOL, what);
        oh_free(n);
        for (int j = 0; j < k; j++)
            free(x[j]);
        free(ref);
    }
}

static void test_where_prelu(void **state)
{
    (void)state;
    for (int it = 0; it < 120; it++) {
        shp o, in[3];
        rand_out(&o, 6, true);
        for (int j = 0; j < 3; j++)
            rand_in(&in[j], &o);
        complete(in, 3, &o);
        int64_t no = numel(o.rank, o.d), nc = numel(in[0].rank, in[0].d);
        int64_t nx = numel(in[1].rank, in[1].d), ny = numel(in[2].rank, in[2].d);
        uint8_t *c = malloc((size_t)nc + 1);
        for (int64_t i = 0; i < nc; i++)
            c[i] = (uint8_t)rnd(0, 1);
        bool i64 = it % 2;
        int64_t *x = malloc(8 * (size_t)(nx + 1)), *y = malloc(8 * (size_t)(ny + 1));
        float *xf = malloc(4 * (size_t)(nx + 1)), *yf = malloc(4 * (size_t)(ny + 1));
        for (int64_t i = 0; i < nx; i++)
            xf[i] = (float)(x[i] = rnd(-100, 100));
        for (int64_t i = 0; i < ny; i++)
            yf[i] = (float)(y[i] = rnd(-100, 100));
        oh_node *n = oh_new("Where", 16);
        oh_input(n, E2E_BOOL, in[0].rank, in[0].d, c, false);
        oh_input(n, i64 ? E2E_INT64 : E2E_FLOAT, in[1].rank, in[1].d, i64 ? (void *)x : (void *)xf, false);
        oh_input(n, i64 ? E2E_INT64 : E2E_FLOAT, in[2].rank, in[2].d, i64 ? (void *)y : (void *)yf, rnd(0, 1));
        e2e_tensor_view out;
        e2e_error err;
        if (oh_run(n, 1, &out, &err))
            fail_msg("Where: %s", err.message);
        expect_shape(&out, o.rank, o.d);
        for (int64_t i = 0; i < no; i++) {
            int64_t want = c[bc_offset(&in[0], &o, i)] ? x[bc_offset(&in[1], &o, i)] : y[bc_offset(&in[2], &o, i)];
            int64_t got = i64 ? ((int64_t *)out.data)[i] : (int64_t)((float *)out.data)[i];
            if (got != want)
                fail_msg("Where: element %lld is %lld, expected %lld", (long long)i, (long long)got,
                         (long long)want);
        }
        oh_free(n);
        free(c);
        free(x);
        free(y);
        free(xf);
        free(yf);
    }
    /* PRelu: slope broadcast to X only */
    for (int it = 0; it < 60; it++) {
        shp o, s;
        rand_out(&o, 5, true);
        rand_in(&s, &o);
        int64_t no = numel(o.rank, o.d), ns = numel(s.rank, s.d);
        float *x = malloc(4 * (size_t)(no + 1)), *sl = malloc(4 * (size_t)(ns + 1));
        float *ref = malloc(4 * (size_t)(no + 1));
        oh_fill_random(x, no, -2.f, 2.f, &rng);
        oh_fill_random(sl, ns, 0.f, 1.f, &rng);
        for (int64_t i = 0; i < no; i++)
            ref[i] = x[i] < 0 ? x[i] * sl[bc_offset(&s, &o, i)] : x[i];
        oh_node *n = oh_new("PRelu", 16);
        oh_input(n, E2E_FLOAT, o.rank, o.d, x, false);
        oh_input(n, E2E_FLOAT, s.rank, s.d, sl, true);
        e2e_tensor_view out;
        e2e_error err;
        if (oh_run(n, 1, &out, &err))
            fail_msg("PRelu: %s", err.message);
        expect_shape(&out, o.rank, o.d);
        expect_close(&out, ref, no, RTOL, "PRelu");
        oh_free(n);
        free(x);
        free(sl);
        free(ref);
    }
}

/* ------------------------------------------------------------------ unary */

typedef struct un_case {
    const char *op;
    int opset;
    float lo, hi;
    const char *attr;   /* one float attribute, or NULL */
    float attr_v;
} un_case;

static double gelu_tanh(double x)
{
    return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

static double un_ref(const un_case *c, double x)
{
    const char *o = c->op;
    double a = c->attr_v;
    if (!strcmp(o, "Relu")) return x < 0 ? 0 : x;
    if (!strcmp(o, "LeakyRelu")) return x < 0 ? (c->attr ? a : 0.01) * x : x;
    if (!strcmp(o, "Sigmoid")) return 1 / (1 + exp(-x));
    if (!strcmp(o, "Tanh")) return tanh(x);
    if (!strcmp(o, "HardSigmoid")) return fmax(0, fmin(1, (c->attr ? a : 0.2) * x + 0.5));
    if (!strcmp(o, "HardSwish")) return x * fmax(0, fmin(1, x / 6 + 0.5));
    if (!strcmp(o, "Elu")) return x < 0 ? (c->attr ? a : 1.0) * (exp(x) - 1) : x;
    if (!strcmp(o, "Selu"))
        return x > 0 ? 1.0507009873554805 * x : 1.0507009873554805 * 1.6732632423543772 * (exp(x) - 1);
    if (!strcmp(o, "Softplus")) return log(exp(x) + 1);
    if (!strcmp(o, "Sqrt")) return sqrt(x);
    if (!strcmp(o, "Exp")) return exp(x);
    if (!strcmp(o, "Log")) return log(x);
    if (!strcmp(o, "Neg")) return -x;
    if (!strcmp(o, "Abs")) return fabs(x);
    if (!strcmp(o, "Reciprocal")) return 1 / x;
    if (!strcmp(o, "Floor")) return floor(x);
    if (!strcmp(o, "Ceil")) return ceil(x);
    if (!strcmp(o, "Sin")) return sin(x);
    if (!strcmp(o, "Cos")) return cos(x);
    if (!strcmp(o, "Erf")) return erf(x);
    if (!strcmp(o, "Gelu")) return c->attr ? gelu_tanh(x) : 0.5 * x * (1 + erf(x / sqrt(2)));
    if (!strcmp(o, "Clip")) return fmin(fmax(x, -0.5), 0.75);
    if (!strcmp(o, "Identity") || !strcmp(o, "Dropout")) return x;
    return NAN;
}

static void test_unary_float(void **state)
{
    (void)state;
    static const un_case cases[] = {
        {"Relu", 14, -3, 3, NULL, 0},       {"LeakyRelu", 16, -3, 3, NULL, 0},
        {"LeakyRelu", 16, -3, 3, "alpha", 0.3f},
        {"Sigmoid", 13, -30, 30, NULL, 0},  {"Tanh", 13, -5, 5, NULL, 0},
        {"HardSigmoid", 22, -6, 6, NULL, 0}, {"HardSigmoid", 22, -6, 6, "alpha", 0.1f},
        {"HardSwish", 22, -6, 6, NULL, 0},  {"Elu", 22, -4, 4, NULL, 0},
        {"Elu", 22, -4, 4, "alpha", 2.f},   {"Selu", 22, -4, 4, NULL, 0},
        {"Softplus", 22, -20, 20, NULL, 0}, {"Sqrt", 13, 0, 9, NULL, 0},
        {"Exp", 13, -5, 5, NULL, 0},        {"Log", 13, 0.01f, 9, NULL, 0},
        {"Neg", 13, -3, 3, NULL, 0},        {"Abs", 13, -3, 3, NULL, 0},
        {"Reciprocal", 13, 0.5f, 4, NULL, 0}, {"Floor", 13, -3, 3, NULL, 0},
        {"Ceil", 13, -3, 3, NULL, 0},       {"Sin", 22, -6, 6, NULL, 0},
        {"Cos", 22, -6, 6, NULL, 0},        {"Erf", 13, -3, 3, NULL, 0},
        {"Gelu", 20, -4, 4, NULL, 0},       {"Gelu", 20, -4, 4, "tanh", 0},
        {"Clip", 6, -2, 2, NULL, 0},        {"Identity", 21, -2, 2, NULL, 0},
        {"Dropout", 13, -2, 2, NULL, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const un_case *u = &cases[c];
        for (int it = 0; it < 6; it++) {
            shp o;
            rand_out(&o, 6, true);
            int64_t no = numel(o.rank, o.d);
            float *x = malloc(4 * (size_t)(no + 1)), *ref = malloc(4 * (size_t)(no + 1));
            oh_fill_random(x, no, u->lo, u->hi, &rng);
            for (int64_t i = 0; i < no; i++)
                ref[i] = (float)un_ref(u, x[i]);
            oh_node *n = oh_new(u->op, u->opset);
            if (u->attr && !strcmp(u->attr, "tanh"))
                oh_attr_string(n, "approximate", "tanh");
            else if (u->attr)
                oh_attr_float(n, u->attr, u->attr_v);
            if (!strcmp(u->op, "Clip")) {
                oh_attr_float(n, "min", -0.5f);
                oh_attr_float(n, "max", 0.75f);
            }
            oh_input(n, E2E_FLOAT, o.rank, o.d, x, it == 5);
            e2e_tensor_view out;
            e2e_error err;
            if (oh_run(n, 1, &out, &err))
                fail_msg("%s: %s", u->op, err.message);
            expect_shape(&out, o.rank, o.d);
            expect_close(&out, ref, no, 1e-5, u->op);
            oh_free(n);
            free(x);
            free(ref);
        }
    }
}

/* Clip opset >= 11: bounds omitted, constant or computed (read at run); integer inputs. */
static void test_clip_inputs(void **state)
{
    (void)state;
    int64_t d[2] = {3, 5};
    float x[15], ref[15];
    oh_fill_random(x, 15, -2.f, 2.f, &rng);
    const float lo = -0.5f, hi = 1.f;
    for (int mode = 0; mode < 6; mode++) {
        /* mode: 0 none, 1 min const, 2 max non-const, 3 both non-const, 4 min omitted, 5 lo > hi */
        oh_node *n = oh_new("Clip", 13);
        oh_input(n, E2E_FLOAT, 2, d, x, false);
        float l = lo, h = hi;
        bool use_l = false, use_h = false;
        switch (mode) {
        case 1: oh_input(n, E2E_FLOAT, 0, NULL, &lo, true); use_l = true; break;
        case 2: oh_input_none(n); oh_input(n, E2E_FLOAT, 0, NULL, &hi, false); use_h = true; break;
        case 3:
            oh_input(n, E2E_FLOAT, 0, NULL, &lo, false);
            oh_input(n, E2E_FLOAT, 1, (int64_t[]){1}, &hi, false);
            use_l = use_h = true;
            break;
        case 4: oh_input_none(n); oh_input(n, E2E_FLOAT, 0, NULL, &hi, true); use_h = true; break;
        case 5:
            l = 0.5f, h = 0.f;
            oh_input(n, E2E_FLOAT, 0, NULL, &l, false);
            oh_input(n, E2E_FLOAT, 0, NULL, &h, true);
            use_l = use_h = true;
            break;
        default: break;
        }
        for (int i = 0; i < 15; i++) {
            float v = x[i];
            if (use_l && v < l)
                v = l;
            if (use_h && v > h)
                v = h;
            ref[i] = v;
        }
        e2e_tensor_view out;
        e2e_error err;
        if (oh_run(n, 1, &out, &err))
            fail_msg("Clip mode %d: %s", mode, err.message);
        expect_close(&out, ref, 15, 0, "Clip");
        oh_free(n);
    }
    /* int64 with a computed max */
    int64_t xi[6] = {-9, -1, 0, 3, 7, 100}, lo_i = -1, hi_i = 5;
    oh_node *n = oh_new("Clip", 13);
    oh_input(n, E2E_INT64, 1, (int64_t[]){6}, xi, false);
    oh_input(n, E2E_INT64, 0, NULL, &lo_i, true);
    oh_input(n, E2E_INT64, 0, NULL, &hi_i, false);
    e2e_tensor_view out;
    e2e_error err;
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    const int64_t want[6] = {-1, -1, 0, 3, 5, 5};
    assert_memory_equal(out.data, want, sizeof want);
    oh_free(n);
}

static void test_unary_ints_bool(void **state)
{
    (void)state;
    int64_t d[1] = {5};
    int64_t x64[5] = {-7, 0, 3, INT64_MIN + 1, 42};
    int32_t x32[5] = {-7, 0, 3, -2147483647, 42};
    e2e_tensor_view out;
    e2e_error err;
    const char *ops[] = {"Neg", "Abs", "Relu"};
    for (int o = 0; o < 3; o++) {
        for (int w = 0; w < 2; w++) {
            oh_node *n = oh_new(ops[o], 14);
            oh_input(n, w ? E2E_INT32 : E2E_INT64, 1, d, w ? (void *)x32 : (void *)x64, false);
            if (oh_run(n, 1, &out, &err))
                fail_msg("%s: %s", ops[o], err.message);
            for (int i = 0; i < 5; i++) {
                int64_t v = w ? x32[i] : x64[i];
                int64_t want = o == 0 ? -v : o == 1 ? (v < 0 ? -v : v) : (v < 0 ? 0 : v);
                int64_t got = w ? ((int32_t *)out.data)[i] : ((int64_t *)out.data)[i];
                assert_int_equal(got, want);
            }
            oh_free(n);
        }
    }
    uint8_t b[4] = {0, 1, 1, 0};
    oh_node *n = oh_new("Not", 1);
    oh_input(n, E2E_BOOL, 2, (int64_t[]){2, 2}, b, false);
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    assert_int_equal(out.dtype, E2E_BOOL);
    const uint8_t nb[4] = {1, 0, 0, 1};
    assert_memory_equal(out.data, nb, 4);
    oh_free(n);
    /* Identity copies any type */
    n = oh_new("Identity", 16);
    oh_input(n, E2E_INT64, 1, d, x64, false);
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    assert_int_equal(out.dtype, E2E_INT64);
    assert_memory_equal(out.data, x64, sizeof x64);
    oh_free(n);
}

static void test_cast(void **state)
{
    (void)state;
    int64_t d[1] = {8};
    const float xf[8] = {-2.7f, -0.5f, 0.f, 0.5f, 1.f, 2.9f, 300.f, -129.f};
    e2e_tensor_view out;
    e2e_error err;
    struct {
        int to;
        int64_t want[8];
    } fcases[] = {
        {E2E_INT64, {-2, 0, 0, 0, 1, 2, 300, -129}},
        {E2E_INT32, {-2, 0, 0, 0, 1, 2, 300, -129}},
        {E2E_BOOL, {1, 1, 0, 1, 1, 1, 1, 1}},
        {E2E_UINT8, {254, 0, 0, 0, 1, 2, 44, 127}},
        {E2E_INT8, {-2, 0, 0, 0, 1, 2, 44, 127}},
    };
    for (size_t c = 0; c < sizeof fcases / sizeof fcases[0]; c++) {
        oh_node *n = oh_new("Cast", 19);
        oh_attr_int(n, "to", fcases[c].to);
        oh_input(n, E2E_FLOAT, 1, d, xf, false);
        if (oh_run(n, 1, &out, &err))
            fail_msg("Cast: %s", err.message);
        assert_int_equal(out.dtype, fcases[c].to);
        for (int i = 0; i < 8; i++) {
            int64_t got;
            switch (out.dtype) {
            case E2E_INT64: got = ((int64_t *)out.data)[i]; break;
            case E2E_INT32: got = ((int32_t *)out.data)[i]; break;
            case E2E_INT8: got = ((int8_t *)out.data)[i]; break;
            default: got = ((uint8_t *)out.data)[i]; break;
            }
            if (got != fcases[c].want[i])
                fail_msg("Cast float -> %s: element %d is %lld, expected %lld",
                         e2e_dtype_name(out.dtype), i, (long long)got, (long long)fcases[c].want[i]);
        }
        oh_free(n);
    }
    /* integers and bool to float, int64 -> int32 -> bool, float -> float */
    const int64_t xi[8] = {-3, 0, 1, 7, 1000000, -1, 2, 5};
    oh_node *n = oh_new("Cast", 13);
    oh_attr_int(n, "to", E2E_FLOAT);
    oh_input(n, E2E_INT64, 1, d, xi, true); /* folded at creation */
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    for (int i = 0; i < 8; i++)
        assert_true(((float *)out.data)[i] == (float)xi[i]);
    oh_free(n);
    const uint8_t xb[8] = {0, 1, 0, 1, 1, 0, 0, 1};
    n = oh_new("Cast", 13);
    oh_attr_int(n, "to", E2E_INT32);
    oh_input(n, E2E_BOOL, 1, d, xb, false);
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    for (int i = 0; i < 8; i++)
        assert_int_equal(((int32_t *)out.data)[i], xb[i]);
    oh_free(n);
    n = oh_new("Cast", 13);
    oh_attr_int(n, "to", E2E_FLOAT);
    oh_input(n, E2E_FLOAT, 1, d, xf, false);
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_OK);
    assert_memory_equal(out.data, xf, sizeof xf);
    oh_free(n);
    /* unsupported target type */
    n = oh_new("Cast", 13);
    oh_attr_int(n, "to", 11); /* double */
    oh_input(n, E2E_FLOAT, 1, d, xf, false);
    assert_int_equal(oh_run(n, 1, &out, &err), E2E_ERR_UNSUPPORTED);
    oh_free(n);
}

static void test_dropout(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3};
    float x[6] = {1, -2, 3, -4, 5, -6}, ratio = 0.3f;
    uint8_t off = 0, on = 1;
    e2e_tensor_view out[2];
    e2e_error err;
    /* opset 13: ratio and training_mode=false given, mask wanted */
    oh_node *n = oh_new("Dropout", 13);
    oh_input(n, E2E_FLOAT, 2, d, x, false);
    oh_input(n, E2E_FLOAT, 0, NULL, &ratio, false);
    oh_input(n, E2E_BOOL, 0, NULL, &off, false);
    assert_int_equal(oh_run(n, 2, out, &err), E2E_OK);
    assert_memory_equal(out[0].data, x, sizeof x);
    assert_int_equal(out[1].dtype, E2E_BOOL);
    for (int i = 0; i < 6; i++)
        assert_int_equal(((uint8_t *)out[1].data)[i], 1);
    oh_free(n);
    /* training with ratio 0 is the identity */
    float zero = 0.f;
    n = oh_new("Dropout", 13);
    oh_input(n, E2E_FLOAT, 2, d, x, false);
    oh_input(n, E2E_FLOAT, 0, NULL, &zero, false);
    oh_input(n, E2E_BOOL, 0, NULL, &on, false);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_OK);
    assert_memory_equal(out[0].data, x, sizeof x);
    oh_free(n);
    /* training with a ratio: refused (at prepare when constant, at run otherwise) */
    for (int c = 0; c < 2; c++) {
        n = oh_new("Dropout", 13);
        oh_input(n, E2E_FLOAT, 2, d, x, false);
        oh_input(n, E2E_FLOAT, 0, NULL, &ratio, c == 0);
        oh_input(n, E2E_BOOL, 0, NULL, &on, c == 0);
        assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.message, "training_mode"));
        oh_free(n);
    }
}

/* ------------------------------------------------------------------ chain: in place, fused */

/* y = Sigmoid(Sum(d, x, d)), d = Mul(c, c), c = Relu(Add(Neg(x), bias)): the session runs
   Add, Mul, Sum and Sigmoid over their first input's memory and fuses Relu into Add. */
static void test_chain_in_place(void **state)
{
    (void)state;
    mc_model mm;
    mc_init(&mm, 13);
    int64_t xd[3] = {2, 3, 4}, bd[1] = {4};
    float bias[4] = {0.5f, -0.25f, 1.f, -1.f};
    mc_input(&mm, "x", 3, xd);
    mc_init_raw(&mm, "bias", 1, bd, bias, sizeof bias);
    mc_node(&mm, "Neg", (const char *[]){"x", NULL}, (const char *[]){"a", NULL});
    mc_node(&mm, "Add", (const char *[]){"a", "bias", NULL}, (const char *[]){"b", NULL});
    mc_node(&mm, "Relu", (const char *[]){"b", NULL}, (const char *[]){"c", NULL});
    mc_node(&mm, "Mul", (const char *[]){"c", "c", NULL}, (const char *[]){"d", NULL});
    mc_node(&mm, "Sum", (const char *[]){"d", "x", "d", NULL}, (const char *[]){"e", NULL});
    mc_node(&mm, "Sigmoid", (const char *[]){"e", NULL}, (const char *[]){"y", NULL});
    mc_output(&mm, "y");
    uint8_t *buf = NULL;
    size_t nbuf = mc_pack(&mm, &buf);
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(e2e_model_load_buffer(buf, nbuf, "chain.onnx", &m, &err), E2E_OK);
    free(buf);
    mc_free(&mm);
    e2e_session *s = NULL;
    if (e2e_session_create(m, NULL, &s, &err))
        fail_msg("%s", err.message);
    /* Relu fused into Add; a, b, d, e and y share one 96-byte block */
    assert_int_equal(e2e_session_node_count(s), 5);
    assert_true(e2e_session_arena_bytes(s) <= 128);
    float x[24], ref[24];
    oh_fill_random(x, 24, -2.f, 2.f, &rng);
    for (int i = 0; i < 24; i++) {
        double c = fmax(0, -x[i] + bias[i % 4]);
        ref[i] = (float)(1 / (1 + exp(-(2 * c * c + x[i]))));
    }
    e2e_tensor_view in = e2e_tensor_view_f32("x", x, 3, xd), out;
    for (int rep = 0; rep < 2; rep++) {
        assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
        e2e_session_output(s, 0, &out);
        expect_close(&out, ref, 24, RTOL, "chain");
    }
    e2e_session_free(s);
    e2e_model_free(m);
}

/* ------------------------------------------------------------------ errors */

static void test_errors(void **state)
{
    (void)state;
    float x[12] = {0};
    e2e_tensor_view out[2];
    e2e_error err;
    /* non-broadcastable shapes */
    oh_node *n = oh_new("Add", 14);
    oh_input(n, E2E_FLOAT, 2, (int64_t[]){3, 4}, x, false);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){3}, x, true);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_SHAPE);
    assert_non_null(strstr(err.message, "\"n0\""));
    assert_non_null(strstr(err.message, "3x4"));
    oh_free(n);
    /* variadic, third input breaks */
    n = oh_new("Max", 13);
    oh_input(n, E2E_FLOAT, 2, (int64_t[]){3, 4}, x, false);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    oh_input(n, E2E_FLOAT, 2, (int64_t[]){2, 1}, x, false);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_SHAPE);
    assert_non_null(strstr(err.message, "\"n0\""));
    oh_free(n);
    /* PRelu slope bigger than X */
    n = oh_new("PRelu", 16);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    oh_input(n, E2E_FLOAT, 2, (int64_t[]){3, 4}, x, true);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_SHAPE);
    assert_non_null(strstr(err.message, "\"n0\""));
    oh_free(n);
    /* attribute of the wrong type */
    n = oh_new("LeakyRelu", 16);
    oh_attr_int(n, "alpha", 2);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_INVALID);
    assert_non_null(strstr(err.message, "alpha"));
    assert_non_null(strstr(err.message, "\"n0\""));
    oh_free(n);
    n = oh_new("Gelu", 20);
    oh_attr_string(n, "approximate", "fast");
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_INVALID);
    oh_free(n);
    /* mixed types */
    int64_t xi[4] = {0};
    n = oh_new("Mul", 14);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    oh_input(n, E2E_INT64, 1, (int64_t[]){4}, xi, false);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_INVALID);
    oh_free(n);
    /* unsupported types */
    n = oh_new("Sqrt", 13);
    oh_input(n, E2E_INT64, 1, (int64_t[]){4}, xi, false);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_UNSUPPORTED);
    oh_free(n);
    n = oh_new("Where", 16);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_UNSUPPORTED);
    oh_free(n);
    /* Clip bound that is not a scalar */
    n = oh_new("Clip", 13);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, x, false);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){2}, x, true);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_ERR_SHAPE);
    oh_free(n);
    /* Integer division by zero does not trap */
    int64_t a[2] = {5, INT64_MIN}, b[2] = {0, -1};
    n = oh_new("Div", 14);
    oh_input(n, E2E_INT64, 1, (int64_t[]){2}, a, false);
    oh_input(n, E2E_INT64, 1, (int64_t[]){2}, b, false);
    assert_int_equal(oh_run(n, 1, out, &err), E2E_OK);
    assert_int_equal(((int64_t *)out[0].data)[0], 0);
    oh_free(n);
}

/* Opset < 7 Add with broadcast=1, axis=1: B [3] aligned at axis 1 of A [2, 3, 4]. */
static void test_legacy_broadcast(void **state)
{
    (void)state;
    float a[24], b[3] = {1, 10, 100}, ref[24];
    oh_fill_random(a, 24, -1.f, 1.f, &rng);
    for (int i = 0; i < 24; i++)
        ref[i] = a[i] + b[(i / 4) % 3];
    oh_node *n = oh_new("Add", 6);
    oh_attr_int(n, "broadcast", 1);
    oh_attr_int(n, "axis", 1);
    oh_input(n, E2E_FLOAT, 3, (int64_t[]){2, 3, 4}, a, false);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){3}, b, true);
    e2e_tensor_view out;
    e2e_error err;
    if (oh_run(n, 1, &out, &err))
        fail_msg("%s", err.message);
    expect_close(&out, ref, 24, RTOL, "legacy Add");
    oh_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_random),
        cmocka_unit_test(test_binary_fast_paths),
        cmocka_unit_test(test_binary_ints),
        cmocka_unit_test(test_pow_types),
        cmocka_unit_test(test_variadic),
        cmocka_unit_test(test_where_prelu),
        cmocka_unit_test(test_unary_float),
        cmocka_unit_test(test_clip_inputs),
        cmocka_unit_test(test_unary_ints_bool),
        cmocka_unit_test(test_cast),
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_chain_in_place),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_legacy_broadcast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
