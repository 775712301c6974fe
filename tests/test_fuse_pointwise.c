/* The Pointwise fusion (src/engine/passes/fuse_pointwise.c, kernel src/ops/ops_pointwise.c):
   Conv 1x1 -> Relu -> Conv 1x1 on few channels becomes one PointwiseMLP kernel whose outputs
   equal optimize 0 within 1e-5 (relative to the sum of the magnitudes; sums are reordered),
   NaN and Inf where optimize 0 has them, at 1 and 2 threads, for ParT's 2 -> 16 -> 4 and a
   generic size (Conv1d, no biases, a position count that leaves a partial block); not
   applied when the pattern differs; the builder's ParT fuses its pair embedding. */
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
#include "models/models.h"
#include "onnx/onnx_build.h"
#include "engine/session.h"

#include "op_harness.h"

#define count_op oh_count_op

static float frand(uint64_t *r)
{
    *r = *r * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*r >> 40) & 0xffff) / 32768.0f - 1.0f;
}

typedef struct net {
    int rank, ci, ch, co, bias, k2;  /* k2: the second Conv's kernel size (1 fuses) */
    const char *act;                 /* "Relu" fuses */
    int shared;                      /* the Relu's output is also a graph output */
} net;

static e2e_model *build(const net *d, const int64_t *xdims)
{
    e2e_ob *b = e2e_ob_new(17, "pw");
    uint64_t r = 11;
    e2e_ob_input(b, "x", E2E_FLOAT, d->rank, xdims);
    int64_t w1d[4] = {d->ch, d->ci, 1, 1}, w2d[4] = {d->co, d->ch, d->k2, d->k2};
    /* room for the widest net of the tests: the hidden width of 65 that must not fuse */
    float w1[80 * 8], w2[16 * 80 * 9], b1[80], b2[16];
    for (int i = 0; i < d->ch * d->ci; i++)
        w1[i] = frand(&r);
    for (int i = 0; i < d->co * d->ch * d->k2 * d->k2; i++)
        w2[i] = frand(&r);
    for (int i = 0; i < d->ch; i++)
        b1[i] = 0.5f * frand(&r);
    for (int i = 0; i < d->co; i++)
        b2[i] = frand(&r);
    e2e_ob_init_f32(b, "w1", d->rank, w1d, w1);
    e2e_ob_init_f32(b, "w2", d->rank, w2d, w2);
    e2e_ob_init_f32(b, "b1", 1, (int64_t[]){d->ch}, b1);
    e2e_ob_init_f32(b, "b2", 1, (int64_t[]){d->co}, b2);
    if (d->bias)
        e2e_ob_node(b, "Conv", "c1", 3, (const char *[]){"x", "w1", "b1"}, 1, (const char *[]){"h"});
    else
        e2e_ob_node(b, "Conv", "c1", 2, (const char *[]){"x", "w1"}, 1, (const char *[]){"h"});
    e2e_ob_node(b, d->act, "act", 1, (const char *[]){"h"}, 1, (const char *[]){"a"});
    Onnx__NodeProto *n;
    if (d->bias)
        n = e2e_ob_node(b, "Conv", "c2", 3, (const char *[]){"a", "w2", "b2"}, 1, (const char *[]){"y"});
    else
        n = e2e_ob_node(b, "Conv", "c2", 2, (const char *[]){"a", "w2"}, 1, (const char *[]){"y"});
    if (d->k2 > 1)
        e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    if (d->shared)
        e2e_ob_output(b, "a", E2E_FLOAT, -1, NULL);
    e2e_model *m = oh_model_pack(b, "pw.onnx");
    e2e_ob_free(b);
    return m;
}

static void check(const net *d, const int64_t *xdims, int want_fused)
{
    e2e_model *m = build(d, xdims);
    int64_t n = 1;
    for (int i = 0; i < d->rank; i++)
        n *= xdims[i];
    float *x = malloc(sizeof(float) * (size_t)n);
    uint64_t r = 5;
    for (int64_t i = 0; i < n; i++)
        x[i] = 2.0f * frand(&r);
    /* NaN and Inf only where the fusion applies: a Conv with its Relu fused in maps NaN to 0
       (the packed GEMM's epilogue), unlike the Relu kernel, not this pass's doing */
    if (want_fused) {
        x[1] = NAN;
        x[n - 1] = INFINITY;
        x[n / 2] = -INFINITY;
    }
    for (int threads = 1; threads <= 2; threads++) {
        e2e_session *s[2];
        e2e_error err;
        for (int o = 0; o < 2; o++) {
            e2e_session_options opt = e2e_session_options_default();
            opt.optimize = o;
            opt.threads = threads;
            e2e_tensor_view in = e2e_tensor_view_f32("x", x, d->rank, xdims);
            if (e2e_session_create(m, &opt, &s[o], &err) || e2e_session_run(s[o], &in, 1, &err))
                fail_msg("optimize %d: %s", o, err.message);
        }
        if (count_op(s[1], "PointwiseMLP") != want_fused)
            fail_msg("%s %d->%d->%d: %d PointwiseMLP kernels, want %d", d->act, d->ci, d->ch, d->co,
                     count_op(s[1], "PointwiseMLP"), want_fused);
        assert_int_equal(count_op(s[1], "Conv"), want_fused ? 0 : 2);
        e2e_tensor_view y0, y1;
        assert_int_equal(e2e_session_output(s[0], 0, &y0), E2E_OK);
        assert_int_equal(e2e_session_output(s[1], 0, &y1), E2E_OK);
        int64_t ny = 1;
        for (int i = 0; i < y0.rank; i++) {
            assert_int_equal(y0.dims[i], y1.dims[i]);
            ny *= y0.dims[i];
        }
        int nonfinite = 0;
        for (int64_t i = 0; i < ny; i++) {
            float a = ((const float *)y0.data)[i], b = ((const float *)y1.data)[i];
            if (!isfinite(a) || !isfinite(b)) {
                nonfinite++;
                if (!(a == b || (isnan(a) && isnan(b))))
                    fail_msg("[%lld]: optimize 0 %g, optimize 1 %g", (long long)i, a, b);
            } else if (!(fabsf(a - b) <= 1e-5f * (1.0f + fabsf(a))))
                fail_msg("[%lld]: optimize 0 %.8g, optimize 1 %.8g", (long long)i, a, b);
        }
        if (want_fused)
            assert_true(nonfinite > 0); /* the NaN and Inf inputs reached the output */
        e2e_session_free(s[0]);
        e2e_session_free(s[1]);
    }
    free(x);
    e2e_model_free(m);
}

static void test_fused(void **state)
{
    (void)state;
    const net part = {4, 2, 16, 4, 1, 1, "Relu", 0};
    check(&part, (int64_t[]){2, 2, 12, 12}, 1);
    const net odd = {3, 3, 5, 2, 0, 1, "Relu", 0}; /* 37 positions: 4 blocks and 5 alone */
    check(&odd, (int64_t[]){3, 3, 37}, 1);
}

static void test_not_fused(void **state)
{
    (void)state;
    const net conv3 = {4, 2, 16, 4, 1, 3, "Relu", 0};   /* 3x3 second Conv */
    check(&conv3, (int64_t[]){1, 2, 6, 6}, 0);
    const net sig = {4, 2, 16, 4, 1, 1, "Sigmoid", 0};  /* not a Relu */
    check(&sig, (int64_t[]){1, 2, 6, 6}, 0);
    const net wide = {4, 2, 65, 4, 1, 1, "Relu", 0};    /* hidden above the limit */
    check(&wide, (int64_t[]){1, 2, 6, 6}, 0);
    const net shared = {4, 2, 16, 4, 1, 1, "Relu", 1};  /* the Relu's output is read too */
    check(&shared, (int64_t[]){1, 2, 6, 6}, 0);
}

/* The builder's ParT: its pair embedding runs as one PointwiseMLP; scores as optimize 0. */
static void test_part(void **state)
{
    (void)state;
    enum { N = 2, CH = 3, P = 16 };
    e2e_model_config c = {.arch = E2E_ARCH_PART, .channels = CH, .embed = 16, .depth = 2,
                          .heads = 4, .mlp = 32, .name = "small", .points = P, .k = 4,
                          .fc = 16, .pair = 16};
    e2e_error err;
    e2e_model *m = oh_model_build(&c, 5, "small.onnx");
    float pts[N * 2 * P], fts[N * CH * P], mask[N * P], seed[N * 3];
    uint64_t r = 3;
    for (int i = 0; i < N * 2 * P; i++)
        pts[i] = 0.5f * frand(&r);
    for (int i = 0; i < N * CH * P; i++)
        fts[i] = i % (CH * P) < P ? 10.0f + 9.0f * frand(&r) : frand(&r);
    for (int i = 0; i < N * P; i++)
        mask[i] = (i % P) < P - 5 * (i / P) ? 1.0f : 0.0f;
    e2e_tensor_view in[4];
    oh_graph_views(in, N, CH, P, pts, fts, mask, seed);
    const int n_in = e2e_model_input_count(m);
    e2e_session *s[2];
    for (int o = 0; o < 2; o++) {
        e2e_session_options opt = e2e_session_options_default();
        opt.default_batch = N;
        opt.optimize = o;
        if (e2e_session_create(m, &opt, &s[o], &err) || e2e_session_run(s[o], in, n_in, &err))
            fail_msg("optimize %d: %s", o, err.message);
    }
    assert_int_equal(count_op(s[1], "PointwiseMLP"), 1);
    e2e_tensor_view y0, y1;
    assert_int_equal(e2e_session_output(s[0], 0, &y0), E2E_OK);
    assert_int_equal(e2e_session_output(s[1], 0, &y1), E2E_OK);
    for (int i = 0; i < N; i++) {
        float a = ((const float *)y0.data)[i], b = ((const float *)y1.data)[i];
        if (!(fabsf(a - b) <= 1e-6f))
            fail_msg("graph %d: optimize 0 %.8g, optimize 1 %.8g", i, a, b);
    }
    e2e_session_free(s[0]);
    e2e_session_free(s[1]);
    e2e_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
