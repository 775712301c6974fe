/* The EdgeGather fusion (src/engine/passes/fuse_edge.c, kernel src/ops/ops_edgeconv.c): applied to
   Gather -> Reshape -> Add -> Relu | LeakyRelu [-> ReduceMax] with outputs bit-equal to
   optimize 0 (NaN, Inf, negative indices included), at 1 and 2 threads; not applied when
   the pattern differs; an index out of range fails naming the node; and the builder's
   ParticleNet and DGCNN fuse their neighbour steps and stay within 1e-6 of optimize 0. */
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

enum { R = 10, C = 9, M = 3, K = 4 };

typedef enum variant {
    V_MAX,          /* Add(gathered, a) -> Relu -> ReduceMax axis 1: fused with the maximum */
    V_LEAKY,        /* Add(a, gathered) -> LeakyRelu, no maximum: fused */
    V_MAX_NEG_AXIS, /* ReduceMax axis -2: fused with the maximum */
    V_NO_BROADCAST, /* a is [M, K, C]: not fused */
    V_SIGMOID,      /* Sigmoid instead of Relu: not fused */
    V_SHARED,       /* the Relu's output is also a graph output: fused without the maximum */
    V_GATHER_AXIS1  /* Gather on axis 1 of the transposed rows: not fused */
} variant;

static e2e_model *edge_graph(variant v)
{
    e2e_ob *b = e2e_ob_new(17, "edge");
    const int64_t rdims[2] = {R, C}, rtdims[2] = {C, R}, idims[1] = {M * K},
                  adims[3] = {M, v == V_NO_BROADCAST ? K : 1, C}, shape[3] = {M, K, C};
    e2e_ob_input(b, "rows", E2E_FLOAT, 2, v == V_GATHER_AXIS1 ? rtdims : rdims);
    e2e_ob_input(b, "idx", E2E_INT64, 1, idims);
    e2e_ob_input(b, "a", E2E_FLOAT, 3, adims);
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){3}, shape);
    Onnx__NodeProto *n;
    if (v == V_GATHER_AXIS1) {
        n = e2e_ob_node(b, "Gather", "gather", 2, (const char *[]){"rows", "idx"}, 1,
                        (const char *[]){"gt"});
        e2e_ob_attr_int(b, n, "axis", 1);
        n = e2e_ob_node(b, "Transpose", "t", 1, (const char *[]){"gt"}, 1, (const char *[]){"g"});
        e2e_ob_attr_ints(b, n, "perm", 2, (int64_t[]){1, 0});
    } else {
        n = e2e_ob_node(b, "Gather", "gather", 2, (const char *[]){"rows", "idx"}, 1,
                        (const char *[]){"g"});
        e2e_ob_attr_int(b, n, "axis", 0);
    }
    e2e_ob_node(b, "Reshape", "reshape", 2, (const char *[]){"g", "shape"}, 1, (const char *[]){"e"});
    if (v == V_LEAKY)
        e2e_ob_node(b, "Add", "add", 2, (const char *[]){"a", "e"}, 1, (const char *[]){"s"});
    else
        e2e_ob_node(b, "Add", "add", 2, (const char *[]){"e", "a"}, 1, (const char *[]){"s"});
    const char *act = v == V_LEAKY ? "LeakyRelu" : v == V_SIGMOID ? "Sigmoid" : "Relu";
    n = e2e_ob_node(b, act, "act", 1, (const char *[]){"s"}, 1, (const char *[]){"y"});
    if (v == V_LEAKY)
        e2e_ob_attr_float(b, n, "alpha", 0.2f);
    if (v == V_LEAKY) {
        e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    } else {
        n = e2e_ob_node(b, "ReduceMax", "max", 1, (const char *[]){"y"}, 1, (const char *[]){"z"});
        e2e_ob_attr_ints(b, n, "axes", 1, (int64_t[]){v == V_MAX_NEG_AXIS ? -2 : 1});
        e2e_ob_attr_int(b, n, "keepdims", 0);
        e2e_ob_output(b, "z", E2E_FLOAT, -1, NULL);
        if (v == V_SHARED)
            e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    }
    e2e_model *m = oh_model_pack(b, "edge.onnx");
    e2e_ob_free(b);
    return m;
}

#define open_session oh_session_open

/* rows with NaN, +-Inf, -0 and a row of NaNs; indices with negative ones */
static void fill(float *rows, int64_t *idx, float *a, int na, int bad_index)
{
    uint64_t r = 99;
    for (int i = 0; i < R * C; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        rows[i] = (float)((r >> 40) & 0xffff) / 32768.0f - 1.0f;
    }
    rows[3] = NAN;
    rows[C + 1] = INFINITY;
    rows[2 * C + 2] = -INFINITY;
    rows[2 * C + 3] = -0.0f;
    for (int c = 0; c < C; c++)
        rows[5 * C + c] = NAN;
    for (int i = 0; i < M * K; i++)
        idx[i] = (i * 7) % R - (i % 3 == 0 ? R : 0);
    idx[1] = 5;  /* node 0 sees the NaN row */
    idx[K] = 5 - R;
    idx[K + 1] = 5; /* node 1 only NaNs in... */
    idx[K + 2] = 5;
    idx[K + 3] = 5; /* ...every neighbour: its maximum is -Inf */
    if (bad_index)
        idx[7] = R;
    for (int i = 0; i < na; i++)
        a[i] = 0.25f * (float)((i * 5) % 7) - 0.75f;
    a[2] = INFINITY;
}

/* Runs both sessions, compares every output bit for bit (NaNs as NaNs; the sign of zero).
   Sigmoid: the activation fused into the Add rounds unlike the Sigmoid kernel, so within
   1e-6 there (not this pass's doing), and a NaN's sign bit may differ. */
static void run_compare(e2e_session *s0, e2e_session *s1, variant v)
{
    float rows[R * C], a[M * K * C];
    int64_t idx[M * K];
    const int na = v == V_NO_BROADCAST ? M * K * C : M * C;
    fill(rows, idx, a, na, 0);
    const int64_t rd[2] = {v == V_GATHER_AXIS1 ? C : R, v == V_GATHER_AXIS1 ? R : C}, id[1] = {M * K},
                  ad[3] = {M, v == V_NO_BROADCAST ? K : 1, C};
    if (v == V_GATHER_AXIS1) { /* idx indexes columns of the transposed rows */
        float t[R * C];
        for (int i = 0; i < R; i++)
            for (int c = 0; c < C; c++)
                t[c * R + i] = rows[i * C + c];
        memcpy(rows, t, sizeof t);
    }
    e2e_tensor_view in[3] = {e2e_tensor_view_f32("rows", rows, 2, rd),
                             {"idx", E2E_INT64, 1, {M * K}, idx}, e2e_tensor_view_f32("a", a, 3, ad)};
    (void)id;
    e2e_error err;
    if (e2e_session_run(s0, in, 3, &err) || e2e_session_run(s1, in, 3, &err))
        fail_msg("%s", err.message);
    for (int o = 0; o < e2e_session_output_count(s0); o++) {
        e2e_tensor_view y0, y1;
        assert_int_equal(e2e_session_output(s0, o, &y0), E2E_OK);
        assert_int_equal(e2e_session_output(s1, o, &y1), E2E_OK);
        assert_int_equal(y0.rank, y1.rank);
        int64_t n = 1;
        for (int d = 0; d < y0.rank; d++) {
            assert_int_equal(y0.dims[d], y1.dims[d]);
            n *= y0.dims[d];
        }
        const float *p0 = y0.data, *p1 = y1.data;
        for (int64_t i = 0; i < n; i++)
            if (v == V_SIGMOID ? !(p0[i] == p1[i] || fabsf(p0[i] - p1[i]) <= 1e-6f ||
                                   (isnan(p0[i]) && isnan(p1[i])))
                               : !(p0[i] == p1[i] || (isnan(p0[i]) && isnan(p1[i]))) ||
                                     signbit(p0[i]) != signbit(p1[i]))
                fail_msg("variant %d output %d [%lld]: optimize 0 %g, optimize 1 %g", (int)v, o,
                         (long long)i, p0[i], p1[i]);
    }
}

static void check_variant(variant v, int fused, int act_kept)
{
    e2e_model *m = edge_graph(v);
    for (int threads = 1; threads <= 2; threads++) {
        e2e_session *s0 = open_session(m, 0, threads), *s1 = open_session(m, 1, threads);
        assert_int_equal(count_op(s0, "EdgeGatherAdd"), 0);
        if (count_op(s1, "EdgeGatherAdd") != fused)
            fail_msg("variant %d: %d EdgeGatherAdd kernels, want %d", (int)v,
                     count_op(s1, "EdgeGatherAdd"), fused);
        if (fused) {
            assert_int_equal(count_op(s1, "Gather"), 0);
            assert_int_equal(count_op(s1, "Add"), 0);
        }
        assert_int_equal(count_op(s1, "ReduceMax"), v == V_SHARED || v == V_SIGMOID ||
                                                        v == V_NO_BROADCAST || v == V_GATHER_AXIS1);
        (void)act_kept;
        run_compare(s0, s1, v);
        e2e_session_free(s0);
        e2e_session_free(s1);
    }
    e2e_model_free(m);
}

static void test_fused(void **state)
{
    (void)state;
    check_variant(V_MAX, 1, 0);
    check_variant(V_MAX_NEG_AXIS, 1, 0);
    check_variant(V_LEAKY, 1, 0);
}

static void test_not_fused(void **state)
{
    (void)state;
    check_variant(V_NO_BROADCAST, 0, 1);
    check_variant(V_SIGMOID, 0, 1);
    check_variant(V_GATHER_AXIS1, 0, 1);
}

/* The Relu's output is a graph output: Gather, Add and Relu fuse (the kernel writes that
   output), the maximum stays a ReduceMax. */
static void test_shared_output(void **state)
{
    (void)state;
    e2e_model *m = edge_graph(V_SHARED);
    e2e_session *s0 = open_session(m, 0, 1), *s1 = open_session(m, 1, 1);
    assert_int_equal(count_op(s1, "EdgeGatherAdd"), 1);
    assert_int_equal(count_op(s1, "ReduceMax"), 1);
    assert_int_equal(count_op(s1, "Relu"), 0);
    run_compare(s0, s1, V_SHARED);
    e2e_session_free(s0);
    e2e_session_free(s1);
    e2e_model_free(m);
}

static void test_index_out_of_range(void **state)
{
    (void)state;
    e2e_model *m = edge_graph(V_MAX);
    e2e_session *s = open_session(m, 1, 1);
    assert_int_equal(count_op(s, "EdgeGatherAdd"), 1);
    float rows[R * C], a[M * C];
    int64_t idx[M * K];
    fill(rows, idx, a, M * C, 1);
    const int64_t rd[2] = {R, C}, ad[3] = {M, 1, C};
    e2e_tensor_view in[3] = {e2e_tensor_view_f32("rows", rows, 2, rd),
                             {"idx", E2E_INT64, 1, {M * K}, idx}, e2e_tensor_view_f32("a", a, 3, ad)};
    e2e_error err;
    assert_int_equal(e2e_session_run(s, in, 3, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "out of range"));
    assert_non_null(strstr(err.message, "max")); /* the fused kernel carries the last node's name */
    e2e_session_free(s);
    e2e_model_free(m);
}

/* The builder's ParticleNet and DGCNN (small): neighbour steps fused, scores as optimize 0. */
static void test_models(void **state)
{
    (void)state;
    static const e2e_arch archs[2] = {E2E_ARCH_PNET, E2E_ARCH_DGCNN};
    enum { N = 3, CH = 3, P = 16 };
    for (int ai = 0; ai < 2; ai++) {
        e2e_model_config c = {.arch = archs[ai], .channels = CH, .name = "small", .points = P,
                              .k = 4, .edge = {{8, 8}, {12}}, .fc = 16};
        e2e_error err;
        e2e_model *m = oh_model_build(&c, 5, "small.onnx");
        float pts[N * 2 * P], fts[N * CH * P], mask[N * P], seed[N * 3];
        uint64_t r = 7;
        for (int i = 0; i < N * 2 * P; i++)
            pts[i] = (float)(((r = r * 6364136223846793005ull + 1442695040888963407ull) >> 40) & 0xffff) / 65536.0f - 0.5f;
        for (int i = 0; i < N * CH * P; i++)
            fts[i] = (float)(((r = r * 6364136223846793005ull + 1442695040888963407ull) >> 40) & 0xffff) / 32768.0f - 1.0f;
        for (int i = 0; i < N * P; i++)
            mask[i] = (i % P) < P - 3 * (i / P) ? 1.0f : 0.0f;
        e2e_tensor_view in[4];
        oh_graph_views(in, N, CH, P, pts, fts, mask, seed);
        const int n_in = e2e_model_input_count(m);
        for (int threads = 1; threads <= 2; threads++) {
            e2e_session_options o = e2e_session_options_default();
            o.default_batch = N;
            o.threads = threads;
            e2e_session *s[2];
            for (int opt = 0; opt < 2; opt++) {
                o.optimize = opt;
                if (e2e_session_create(m, &o, &s[opt], &err) || e2e_session_run(s[opt], in, n_in, &err))
                    fail_msg("%s optimize %d: %s", e2e_arch_name(archs[ai]), opt, err.message);
            }
            /* every EdgeConv block's first layer; DGCNN's one-layer block with its maximum */
            assert_int_equal(count_op(s[1], "EdgeGatherAdd"), 2);
            /* DGCNN: conv1's (after its second layer) and the readout's remain */
            if (archs[ai] == E2E_ARCH_DGCNN)
                assert_int_equal(count_op(s[1], "ReduceMax"), count_op(s[0], "ReduceMax") - 1);
            e2e_tensor_view y0, y1;
            assert_int_equal(e2e_session_output(s[0], 0, &y0), E2E_OK);
            assert_int_equal(e2e_session_output(s[1], 0, &y1), E2E_OK);
            for (int i = 0; i < N; i++) {
                float a = ((const float *)y0.data)[i], b = ((const float *)y1.data)[i];
                if (!(fabsf(a - b) <= 1e-6f))
                    fail_msg("%s graph %d: optimize 0 %.8g, optimize 1 %.8g", e2e_arch_name(archs[ai]),
                             i, a, b);
            }
            e2e_session_free(s[0]);
            e2e_session_free(s[1]);
        }
        e2e_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused),           cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_shared_output),   cmocka_unit_test(test_index_out_of_range),
        cmocka_unit_test(test_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
