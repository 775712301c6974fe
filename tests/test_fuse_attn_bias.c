/* The attention fusion with an additive score bias (src/engine/passes/fuse_attn_bias.c, kernel
   src/ops/mm_packed.c): MatMul(Q, K^T) -> Mul scale -> Add(., bias) -> Softmax -> MatMul(., V)
   becomes one Attention kernel whose outputs match optimize 0 (within GEMM rounding; NaN
   where the graph gives NaN: a NaN in the bias, a row masked with -inf everywhere) for a full
   [B, H, T, S] bias, a broadcast mask [B, 1, 1, S] on either side of the Add and a bias of
   rank 2, at 1 and 2 threads; not applied when the biased scores are also a graph output or
   the Add would broadcast the scores; and the builder's ParT fuses every block. */
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
#include "models/models.h"
#include "onnx/onnx_build.h"
#include "engine/session.h"

enum { B = 2, H = 3, T = 20, S = 20, D = 8 };

typedef enum variant {
    V_FULL,       /* bias [B, H, T, S] with NaN and -inf, a fully masked row: fused */
    V_MASK_LEFT,  /* Add(mask [B, 1, 1, S], scores): fused */
    V_RANK2,      /* bias [T, S]: fused */
    V_SHARED,     /* the biased scores are also a graph output: not fused */
    V_WIDENS      /* scores [B, H, T, 1] + bias [B, H, T, S]: not fused (the Add widens them) */
} variant;

static int count_op(const e2e_session *s, const char *op)
{
    int n = 0;
    for (int i = 0; i < s->n_kernels; i++)
        if (!strcmp(s->kernels[i].node->op_type, op))
            n++;
    return n;
}

static void bias_dims(variant v, int *rank, int64_t *d)
{
    if (v == V_MASK_LEFT) {
        *rank = 4;
        d[0] = B, d[1] = 1, d[2] = 1, d[3] = S;
    } else if (v == V_RANK2) {
        *rank = 2;
        d[0] = T, d[1] = S;
    } else {
        *rank = 4;
        d[0] = B, d[1] = H, d[2] = T, d[3] = S;
    }
}

static e2e_model *attn_graph(variant v)
{
    e2e_ob *b = e2e_ob_new(17, "attn_bias");
    const int64_t qd[4] = {B, H, T, D}, kd[4] = {B, H, v == V_WIDENS ? 1 : S, D}, vd[4] = {B, H, S, D};
    int br;
    int64_t bd[4];
    bias_dims(v, &br, bd);
    e2e_ob_input(b, "q", E2E_FLOAT, 4, qd);
    e2e_ob_input(b, "k", E2E_FLOAT, 4, kd);
    e2e_ob_input(b, "v", E2E_FLOAT, 4, vd);
    e2e_ob_input(b, "bias", E2E_FLOAT, br, bd);
    e2e_ob_init_f32(b, "scale", 0, NULL, (float[]){0.35355339f});
    Onnx__NodeProto *n = e2e_ob_node(b, "Transpose", "kt", 1, (const char *[]){"k"}, 1,
                                     (const char *[]){"kt"});
    e2e_ob_attr_ints(b, n, "perm", 4, (int64_t[]){0, 1, 3, 2});
    e2e_ob_node(b, "MatMul", "qk", 2, (const char *[]){"q", "kt"}, 1, (const char *[]){"qk"});
    e2e_ob_node(b, "Mul", "scaled", 2, (const char *[]){"qk", "scale"}, 1, (const char *[]){"sc"});
    if (v == V_MASK_LEFT)
        e2e_ob_node(b, "Add", "add", 2, (const char *[]){"bias", "sc"}, 1, (const char *[]){"logits"});
    else
        e2e_ob_node(b, "Add", "add", 2, (const char *[]){"sc", "bias"}, 1, (const char *[]){"logits"});
    n = e2e_ob_node(b, "Softmax", "softmax", 1, (const char *[]){"logits"}, 1, (const char *[]){"p"});
    e2e_ob_attr_int(b, n, "axis", -1);
    e2e_ob_node(b, "MatMul", "pv", 2, (const char *[]){"p", "v"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    if (v == V_SHARED)
        e2e_ob_output(b, "logits", E2E_FLOAT, -1, NULL);
    e2e_model *m = oh_model_pack(b, "attn_bias.onnx");
    e2e_ob_free(b);
    return m;
}

static e2e_session *open_session(const e2e_model *m, int optimize, int threads)
{
    e2e_session_options o = e2e_session_options_default();
    o.optimize = optimize;
    o.threads = threads;
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("optimize %d: %s", optimize, err.message);
    return s;
}

static float rnd(uint64_t *r)
{
    *r = *r * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*r >> 40) & 0xffff) / 32768.0f - 1.0f;
}

/* Runs both sessions and compares the outputs: equal within 2e-6 + 1e-5 |y|, NaN where the
   other has NaN. Returns how many NaN outputs there were. */
static int run_compare(e2e_session *s0, e2e_session *s1, variant v)
{
    static float q[B * H * T * D], k[B * H * S * D], vv[B * H * S * D], bias[B * H * T * S];
    uint64_t r = 7;
    for (int i = 0; i < B * H * T * D; i++)
        q[i] = 2.f * rnd(&r);
    for (int i = 0; i < B * H * S * D; i++) {
        k[i] = 2.f * rnd(&r);
        vv[i] = rnd(&r);
    }
    int br;
    int64_t bd[4], nb = 1;
    bias_dims(v, &br, bd);
    for (int d = 0; d < br; d++)
        nb *= bd[d];
    for (int64_t i = 0; i < nb; i++)
        bias[i] = v == V_MASK_LEFT ? (i % 5 == 3 ? -INFINITY : (i % 7 == 2 ? -1e9f : 0.f)) : rnd(&r);
    if (v == V_FULL || v == V_SHARED) {
        bias[5] = NAN;                        /* row 0 of head 0: NaN */
        for (int s = 0; s < S; s++)
            bias[(int64_t)(1 * H + 2) * T * S + 4 * S + s] = -INFINITY; /* batch 1, head 2, row 4 */
        bias[3 * S + 1] = -INFINITY;          /* one masked score */
        bias[7 * S + 2] = INFINITY;           /* +inf: inf - inf = NaN in the row */
    }
    if (v == V_RANK2)
        bias[2 * S + 3] = -INFINITY;
    const int64_t qd[4] = {B, H, T, D}, kd[4] = {B, H, v == V_WIDENS ? 1 : S, D}, vd[4] = {B, H, S, D};
    e2e_tensor_view in[4] = {e2e_tensor_view_f32("q", q, 4, qd), e2e_tensor_view_f32("k", k, 4, kd),
                             e2e_tensor_view_f32("v", vv, 4, vd), e2e_tensor_view_f32("bias", bias, br, bd)};
    e2e_error err;
    if (e2e_session_run(s0, in, 4, &err) || e2e_session_run(s1, in, 4, &err))
        fail_msg("%s", err.message);
    int nans = 0;
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
        for (int64_t i = 0; i < n; i++) {
            nans += isnan(p0[i]);
            if (isnan(p0[i]) != isnan(p1[i]) ||
                (!isnan(p0[i]) && !(p0[i] == p1[i] || fabsf(p0[i] - p1[i]) <= 2e-6f + 1e-5f * fabsf(p0[i]))))
                fail_msg("variant %d output %d [%lld]: optimize 0 %g, optimize 1 %g", (int)v, o,
                         (long long)i, p0[i], p1[i]);
        }
    }
    return nans;
}

static void check_variant(variant v, int fused, int want_nans)
{
    e2e_model *m = attn_graph(v);
    for (int threads = 1; threads <= 2; threads++) {
        e2e_session *s0 = open_session(m, 0, threads), *s1 = open_session(m, 1, threads);
        assert_int_equal(count_op(s0, "Attention"), 0);
        if (count_op(s1, "Attention") != fused)
            fail_msg("variant %d: %d Attention kernels, want %d", (int)v, count_op(s1, "Attention"), fused);
        if (fused) {
            assert_int_equal(count_op(s1, "Add"), 0);
            assert_int_equal(count_op(s1, "Softmax"), 0);
        }
        int nans = run_compare(s0, s1, v);
        if (want_nans >= 0 && nans != want_nans)
            fail_msg("variant %d: %d NaN outputs, want %d", (int)v, nans, want_nans);
        e2e_session_free(s0);
        e2e_session_free(s1);
    }
    e2e_model_free(m);
}

static void test_fused(void **state)
{
    (void)state;
    /* NaN rows: the NaN bias (row 0), the fully masked row, the +inf row: D outputs each */
    check_variant(V_FULL, 1, 3 * D);
    check_variant(V_MASK_LEFT, 1, 0);
    check_variant(V_RANK2, 1, 0);
}

static void test_not_fused(void **state)
{
    (void)state;
    check_variant(V_SHARED, 0, -1);
    check_variant(V_WIDENS, 0, -1);
}

/* The builder's ParT: every block's attention (pair bias + padding mask) fuses. (Its outputs
   against PyTorch's: the ParT fixture's test.) */
static void test_part(void **state)
{
    (void)state;
    e2e_model_config cfg = e2e_model_config_for(e2e_tagger_find("eg"), E2E_ARCH_PART);
    uint8_t *buf;
    size_t size;
    e2e_error err;
    if (e2e_model_build_buffer(&cfg, 5, &buf, &size, &err))
        fail_msg("%s", err.message);
    e2e_model *m = NULL;
    if (e2e_model_load_buffer(buf, size, "part.onnx", &m, &err))
        fail_msg("%s", err.message);
    free(buf);
    e2e_session *s0 = open_session(m, 0, 1), *s1 = open_session(m, 1, 1);
    assert_int_equal(count_op(s1, "Attention"), cfg.depth);
    assert_int_equal(count_op(s1, "Softmax"), 0);
    e2e_session_free(s0);
    e2e_session_free(s1);
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
