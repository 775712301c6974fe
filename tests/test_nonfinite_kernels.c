/* NaN, +Inf and -Inf through the fused and SIMD kernels (issue 16): per kernel family a small
   graph that triggers the fusion, inputs with non-finite values in chosen places, run at
   optimize 0, 1 and 2, at every instruction-set level the machine has (capped by E2E_ISA), at
   1 and 2 threads, against the plain graph (optimize 0, generic level, 1 thread): the same
   output positions are NaN, the same are +Inf and -Inf, the finite values are close.
   Families: Conv with a fused activation (direct kernel), Conv on the Winograd kernel, Conv
   -> MaxPool (ConvMaxPool), PatchEmbed, MaxPool/GlobalMaxPool on their SIMD rows,
   ReduceMax/ReduceMin (plain only; EdgeGatherAdd's maximum follows them), MatMul epilogues
   (bias, Relu, GELU), the GELU fusion, the LayerNorm fusion, the Attention fusion, the
   PointwiseMLP fusion. (EdgeGatherAdd: tests/test_fuse_edge.c compares it bit for bit with
   NaN and Inf.) The semantics are written in docs/operator-notes.md ("NaN and Inf"). */
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
#include "onnx/onnx_build.h"
#include "op_harness.h"
#include "engine/session.h"

/* ---------------------------------------------------------------- helpers */

static e2e_model *load(e2e_ob *b)
{
    e2e_model *m = oh_model_pack(b, "nonfinite.onnx");
    e2e_ob_free(b);
    return m;
}

/* Kernels of a type still in the list (fused-away ones have no op). */
static int count_op(const e2e_session *s, const char *op)
{
    int n = 0;
    for (int i = 0; i < s->n_kernels; i++)
        if (s->kernels[i].op && !strcmp(s->kernels[i].node->op_type, op))
            n++;
    return n;
}

/* Kernels of a type carrying a fused activation. */
static int count_act(const e2e_session *s, const char *op)
{
    int n = 0;
    for (int i = 0; i < s->n_kernels; i++)
        if (s->kernels[i].op && !strcmp(s->kernels[i].node->op_type, op) &&
            s->kernels[i].act != E2E_ACT_NONE)
            n++;
    return n;
}

static float *random_floats(int64_t n, uint64_t seed, float lo, float hi)
{
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    oh_fill_random(x, n, lo, hi, &seed);
    return x;
}

/* Marks where the non-finite values go: every `step`-th element from `first`, cycling
   NaN, +Inf, -Inf (or only NaN when nan_only). */
static void poke(float *x, int64_t n, int64_t first, int64_t step, bool nan_only)
{
    const float v[3] = {NAN, INFINITY, -INFINITY};
    int c = 0;
    for (int64_t i = first; i < n; i += step, c++)
        x[i] = nan_only ? NAN : v[c % 3];
}

typedef struct nf_case {
    const char *name;
    const e2e_model *m;
    int n_in;
    e2e_tensor_view in[3];
    const char *fused_op; /* a kernel type optimize 1 must have at a SIMD level, or NULL */
    const char *act_op;   /* a kernel type that must carry a fused activation at optimize 1 */
    double tol;           /* finite values: |a - b| <= tol (1 + |a|) */
} nf_case;

/* Compares one output against the reference: the same NaN, +Inf and -Inf positions, finite
   values close. Returns the reference's count of non-finite values. */
static int64_t compare(const nf_case *c, const char *cfg, int o, const e2e_tensor_view *r,
                       const e2e_tensor_view *y)
{
    assert_int_equal(r->rank, y->rank);
    int64_t n = 1;
    for (int d = 0; d < r->rank; d++) {
        assert_int_equal(r->dims[d], y->dims[d]);
        n *= r->dims[d];
    }
    const float *a = r->data, *b = y->data;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        bool same = isnan(a[i]) ? isnan(b[i])
                    : isinf(a[i]) ? a[i] == b[i]
                                  : isfinite(b[i]) && fabs((double)a[i] - b[i]) <= c->tol * (1 + fabs(a[i]));
        if (!same)
            fail_msg("%s, %s, output %d [%lld]: plain graph %g, here %g", c->name, cfg, o,
                     (long long)i, a[i], b[i]);
        bad += !isfinite(a[i]);
    }
    return bad;
}

/* Runs the case at every level, optimize 0 and 1, 1 and 2 threads against the plain graph;
   the plain graph must give some non-finite outputs (else the case tests nothing). */
static void run_case(const nf_case *c)
{
    e2e_error err;
    e2e_session *ref = oh_session_open_isa(c->m, 0, E2E_ISA_GENERIC, 1);
    if (e2e_session_run(ref, c->in, c->n_in, &err))
        fail_msg("%s, plain graph: %s", c->name, err.message);
    const e2e_isa_level levels[3] = {E2E_ISA_AVX512, E2E_ISA_AVX2, E2E_ISA_GENERIC};
    int64_t nonfinite = 0;
    for (int l = 0; l < 3; l++)
        for (int opt = 0; opt <= 2; opt++)
            for (int threads = 1; threads <= 2; threads++) {
                e2e_session *s = oh_session_open_isa(c->m, opt, levels[l], threads);
                const e2e_isa_level isa = e2e_session_isa(s);
                char cfg[80];
                snprintf(cfg, sizeof cfg, "%s, optimize %d, %d thread%s", e2e_isa_name(isa), opt,
                         threads, threads > 1 ? "s" : "");
                if (opt && c->fused_op && isa != E2E_ISA_GENERIC && count_op(s, c->fused_op) == 0)
                    fail_msg("%s, %s: no %s kernel", c->name, cfg, c->fused_op);
                if (opt && c->act_op && count_act(s, c->act_op) == 0)
                    fail_msg("%s, %s: no %s with a fused activation", c->name, cfg, c->act_op);
                if (e2e_session_run(s, c->in, c->n_in, &err))
                    fail_msg("%s, %s: %s", c->name, cfg, err.message);
                for (int o = 0; o < e2e_session_output_count(ref); o++) {
                    e2e_tensor_view r, y;
                    assert_int_equal(e2e_session_output(ref, o, &r), E2E_OK);
                    assert_int_equal(e2e_session_output(s, o, &y), E2E_OK);
                    nonfinite += compare(c, cfg, o, &r, &y);
                }
                e2e_session_free(s);
            }
    e2e_session_free(ref);
    if (nonfinite == 0)
        fail_msg("%s: the plain graph gave no non-finite output", c->name);
}

/* ---------------------------------------------------------------- Conv families */

/* X [1, C, H, W] -> Conv (KxK, pad K/2, M channels, bias) [-> act] [-> MaxPool 2x2] -> y */
static e2e_model *conv_graph(int C, int M, int H, int W, int K, const char *act, bool pool)
{
    e2e_ob *b = e2e_ob_new(20, "conv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, C, H, W});
    float *w = random_floats((int64_t)M * C * K * K, 7, -0.5f, 0.5f), *bias = random_floats(M, 8, -0.2f, 0.2f);
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){M, C, K, K}, w);
    e2e_ob_init_f32(b, "b", 1, (int64_t[]){M}, bias);
    free(w);
    free(bias);
    Onnx__NodeProto *n = e2e_ob_node(b, "Conv", "conv", 3, (const char *[]){"x", "w", "b"}, 1,
                                     (const char *[]){act || pool ? "c" : "y"});
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){K, K});
    e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){K / 2, K / 2, K / 2, K / 2});
    const char *t = "c";
    if (act) {
        n = e2e_ob_node(b, act, "act", 1, (const char *[]){"c"}, 1, (const char *[]){pool ? "a" : "y"});
        if (!strcmp(act, "LeakyRelu"))
            e2e_ob_attr_float(b, n, "alpha", 0.1f);
        t = "a";
    }
    if (pool) {
        n = e2e_ob_node(b, "MaxPool", "pool", 1, (const char *[]){t}, 1, (const char *[]){"y"});
        e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
        e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){2, 2});
    }
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    return load(b);
}

/* NaN, +Inf, -Inf every 37th input value, or (top_only) only in the first two rows of
   channel 0 */
static void conv_case(const char *name, int C, int M, int H, int W, int K, const char *act, bool pool,
                      bool top_only, const char *fused_op)
{
    e2e_model *m = conv_graph(C, M, H, W, K, act, pool);
    const int64_t n = (int64_t)C * H * W;
    float *x = random_floats(n, 11, -1.f, 1.f);
    poke(x, top_only ? 2 * W : n, 5, top_only ? 7 : 37, false);
    nf_case c = {name, m, 1, {e2e_tensor_view_f32("x", x, 4, (int64_t[]){1, C, H, W})}, fused_op,
                 act && !pool ? "Conv" : NULL, 1e-4};
    run_case(&c);
    free(x);
    e2e_model_free(m);
}

/* Direct kernel (5x5: never Winograd) with each fusable activation; NaN, +Inf and -Inf. */
static void test_conv_act(void **state)
{
    (void)state;
    const char *acts[] = {NULL, "Relu", "LeakyRelu", "Sigmoid", "Gelu"};
    for (int a = 0; a < 5; a++) {
        char name[64];
        snprintf(name, sizeof name, "Conv 5x5 + %s", acts[a] ? acts[a] : "nothing");
        conv_case(name, 3, 8, 9, 24, 5, acts[a], false, false, NULL);
    }
}

/* Winograd F(2x2, 3x3) (16 -> 32 channels takes it at both SIMD levels; F(4x4, 3x3) at
   optimize 2 on AVX2) with Relu and Gelu: its transforms would turn an Inf input into NaN
   where the direct sum gives +-Inf, so chunks with non-finite inputs take the direct sums
   (ops_conv.c, wino_exact_chunk). The finite chunk is checked too: NaN and Inf only in the
   first rows. */
static void test_conv_winograd(void **state)
{
    (void)state;
    conv_case("Winograd Conv 3x3 + Relu", 16, 32, 8, 24, 3, "Relu", false, false, NULL);
    conv_case("Winograd Conv 3x3 + Gelu", 16, 32, 8, 24, 3, "Gelu", false, false, NULL);
    conv_case("Winograd Conv 3x3, 40 rows", 16, 32, 40, 24, 3, NULL, false, true, NULL);
}

/* ConvMaxPool: the direct kernel (1 -> 8 channels as the SimpleNet's first layer, 3 -> 8 with
   5x5) and the Winograd one (16 -> 32), with NaN and Inf, with and without an activation in
   between. */
static void test_conv_maxpool(void **state)
{
    (void)state;
    conv_case("ConvMaxPool 1->8 3x3 + Relu", 1, 8, 12, 32, 3, "Relu", true, false, "ConvMaxPool");
    conv_case("ConvMaxPool 3->8 5x5", 3, 8, 12, 32, 5, NULL, true, false, "ConvMaxPool");
    conv_case("ConvMaxPool 3->8 5x5 + LeakyRelu", 3, 8, 12, 32, 5, "LeakyRelu", true, false, "ConvMaxPool");
    conv_case("ConvMaxPool 3->8 5x5 + Sigmoid", 3, 8, 12, 32, 5, "Sigmoid", true, false, "ConvMaxPool");
    conv_case("ConvMaxPool Winograd 16->32 + Relu", 16, 32, 8, 24, 3, "Relu", true, false, "ConvMaxPool");
    conv_case("ConvMaxPool Winograd 16->32", 16, 32, 8, 24, 3, NULL, true, false, "ConvMaxPool");
    conv_case("ConvMaxPool Winograd 16->32, 40 rows", 16, 32, 40, 24, 3, "Relu", true, true, "ConvMaxPool");
}

/* PatchEmbed: Conv (kernel = stride 4) -> Reshape -> Transpose(0, 2, 1) on the packed
   product: a NaN or Inf pixel makes its patch's tokens non-finite, as the plain Conv. */
static void test_patch_embed(void **state)
{
    (void)state;
    enum { C = 3, H = 8, W = 16, E = 20, P = 4 };
    e2e_ob *b = e2e_ob_new(17, "patch");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){2, C, H, W});
    float *w = random_floats(E * C * P * P, 41, -0.3f, 0.3f), *bias = random_floats(E, 42, -0.1f, 0.1f);
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){E, C, P, P}, w);
    e2e_ob_init_f32(b, "b", 1, (int64_t[]){E}, bias);
    free(w);
    free(bias);
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){3}, (int64_t[]){2, E, (H / P) * (W / P)});
    Onnx__NodeProto *n = e2e_ob_node(b, "Conv", "conv", 3, (const char *[]){"x", "w", "b"}, 1,
                                     (const char *[]){"c"});
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){P, P});
    e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){P, P});
    e2e_ob_node(b, "Reshape", "reshape", 2, (const char *[]){"c", "shape"}, 1, (const char *[]){"r"});
    n = e2e_ob_node(b, "Transpose", "t", 1, (const char *[]){"r"}, 1, (const char *[]){"y"});
    e2e_ob_attr_ints(b, n, "perm", 3, (int64_t[]){0, 2, 1});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = load(b);
    const int64_t nx = 2 * C * H * W;
    float *x = random_floats(nx, 43, -1.f, 1.f);
    poke(x, nx, 7, 97, false);
    nf_case c = {"PatchEmbed", m, 1, {e2e_tensor_view_f32("x", x, 4, (int64_t[]){2, C, H, W})},
                 "PatchEmbed", NULL, 1e-4};
    run_case(&c);
    free(x);
    e2e_model_free(m);
}

/* ---------------------------------------------------------------- pools */

/* MaxPool 2x2 / 2 (the SIMD rows), MaxPool 3x3 / 1 padded (the general loop), GlobalMaxPool:
   a NaN in a window gives NaN, whichever its place in the window. */
static void test_maxpool(void **state)
{
    (void)state;
    enum { C = 2, H = 6, W = 40 };
    e2e_ob *b = e2e_ob_new(17, "pool");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, C, H, W});
    Onnx__NodeProto *n = e2e_ob_node(b, "MaxPool", "p2", 1, (const char *[]){"x"}, 1, (const char *[]){"y2"});
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
    e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){2, 2});
    n = e2e_ob_node(b, "MaxPool", "p3", 1, (const char *[]){"x"}, 1, (const char *[]){"y3"});
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){3, 3});
    e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    e2e_ob_node(b, "GlobalMaxPool", "g", 1, (const char *[]){"x"}, 1, (const char *[]){"yg"});
    e2e_ob_output(b, "y2", E2E_FLOAT, -1, NULL);
    e2e_ob_output(b, "y3", E2E_FLOAT, -1, NULL);
    e2e_ob_output(b, "yg", E2E_FLOAT, -1, NULL);
    e2e_model *m = load(b);
    float *x = random_floats(C * H * W, 3, -1.f, 1.f);
    /* one NaN at each place of a 2x2 window (top left, top right, bottom left, bottom right),
       +Inf and -Inf elsewhere */
    x[0 * W + 0] = NAN;
    x[0 * W + 3] = NAN;
    x[3 * W + 4] = NAN;
    x[3 * W + 7] = NAN;
    x[1 * W + 20] = INFINITY;
    x[4 * W + 30] = -INFINITY;
    for (int i = 0; i < 4; i++) /* a window of -Inf */
        x[H * W + (i / 2) * W + 10 + i % 2] = -INFINITY;
    nf_case c = {"MaxPool", m, 1, {e2e_tensor_view_f32("x", x, 4, (int64_t[]){1, C, H, W})}, NULL, NULL, 0};
    run_case(&c);
    /* the semantics themselves, at the machine's level: NaN wins in each window */
    e2e_session *s = oh_session_open(m, 1, 1);
    e2e_error err;
    assert_int_equal(e2e_session_run(s, c.in, 1, &err), E2E_OK);
    e2e_tensor_view y2, yg;
    assert_int_equal(e2e_session_output(s, 0, &y2), E2E_OK);
    assert_int_equal(e2e_session_output(s, 2, &yg), E2E_OK);
    const float *p2 = y2.data, *pg = yg.data;
    assert_true(isnan(p2[0]) && isnan(p2[1]) && isnan(p2[W / 2 + 2]) && isnan(p2[W / 2 + 3]));
    assert_true(p2[10] == INFINITY && p2[3 * W / 2 + 5] == -INFINITY);
    assert_true(isnan(pg[0]) && pg[1] == pg[1]);
    e2e_session_free(s);
    free(x);
    e2e_model_free(m);
}

/* ReduceMax / ReduceMin over the last axis (rows), the first (columns) and both of a
   transposed pair (the general loop): a NaN anywhere in the reduced values gives NaN, as the
   elementwise Max/Min and numpy's max (and so EdgeGatherAdd's maximum: test_fuse_edge.c). */
static void test_reduce_max(void **state)
{
    (void)state;
    enum { A = 4, B = 6, C = 5 };
    e2e_ob *b = e2e_ob_new(17, "reduce");
    e2e_ob_input(b, "x", E2E_FLOAT, 3, (int64_t[]){A, B, C});
    const char *ops[2] = {"ReduceMax", "ReduceMin"};
    const int64_t axes[3][2] = {{2, 0}, {0, 0}, {0, 2}};
    const int nax[3] = {1, 1, 2};
    char outs[6][8];
    for (int o = 0; o < 2; o++)
        for (int a = 0; a < 3; a++) {
            snprintf(outs[o * 3 + a], sizeof outs[0], "y%d%d", o, a);
            Onnx__NodeProto *n = e2e_ob_node(b, ops[o], NULL, 1, (const char *[]){"x"}, 1,
                                             (const char *[]){outs[o * 3 + a]});
            e2e_ob_attr_ints(b, n, "axes", nax[a], axes[a]);
            e2e_ob_attr_int(b, n, "keepdims", 0);
            e2e_ob_output(b, outs[o * 3 + a], E2E_FLOAT, -1, NULL);
        }
    e2e_model *m = load(b);
    float *x = random_floats(A * B * C, 13, -1.f, 1.f);
    x[(1 * B + 2) * C + 0] = NAN; /* first of its row */
    x[(2 * B + 3) * C + 4] = NAN; /* last of its row */
    x[(3 * B + 1) * C + 2] = INFINITY;
    x[(0 * B + 5) * C + 1] = -INFINITY;
    nf_case c = {"ReduceMax/ReduceMin", m, 1, {e2e_tensor_view_f32("x", x, 3, (int64_t[]){A, B, C})},
                 NULL, NULL, 0};
    run_case(&c);
    e2e_session *s = oh_session_open(m, 1, 1);
    e2e_error err;
    assert_int_equal(e2e_session_run(s, c.in, 1, &err), E2E_OK);
    for (int o = 0; o < 2; o++) {
        e2e_tensor_view rows, cols, gen;
        assert_int_equal(e2e_session_output(s, o * 3, &rows), E2E_OK);
        assert_int_equal(e2e_session_output(s, o * 3 + 1, &cols), E2E_OK);
        assert_int_equal(e2e_session_output(s, o * 3 + 2, &gen), E2E_OK);
        const float *r = rows.data, *cl = cols.data, *g = gen.data;
        assert_true(isnan(r[1 * B + 2]) && isnan(r[2 * B + 3]) && !isnan(r[0]));
        assert_true(isnan(cl[2 * C + 0]) && isnan(cl[3 * C + 4]) && !isnan(cl[0]));
        assert_true(isnan(g[2]) && isnan(g[3]) && !isnan(g[0]));
    }
    e2e_session_free(s);
    free(x);
    e2e_model_free(m);
}

/* ---------------------------------------------------------------- MatMul epilogues, GELU */

/* x [2, 5, 40] -> MatMul const [40, 33] -> Add bias -> (Relu | the decomposed GELU) -> y */
static e2e_model *matmul_graph(bool gelu)
{
    e2e_ob *b = e2e_ob_new(17, "mm");
    e2e_ob_input(b, "x", E2E_FLOAT, 3, (int64_t[]){2, 5, 40});
    float *w = random_floats(40 * 33, 5, -0.3f, 0.3f), *bias = random_floats(33, 6, -0.1f, 0.1f);
    e2e_ob_init_f32(b, "w", 2, (int64_t[]){40, 33}, w);
    e2e_ob_init_f32(b, "bias", 1, (int64_t[]){33}, bias);
    free(w);
    free(bias);
    e2e_ob_init_f32(b, "sqrt2", 0, NULL, (float[]){1.41421356f});
    e2e_ob_init_f32(b, "one", 0, NULL, (float[]){1.f});
    e2e_ob_init_f32(b, "half", 0, NULL, (float[]){0.5f});
    e2e_ob_node(b, "MatMul", "mm", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"p"});
    e2e_ob_node(b, "Add", "addb", 2, (const char *[]){"p", "bias"}, 1, (const char *[]){"h"});
    if (gelu) {
        e2e_ob_node(b, "Div", "div", 2, (const char *[]){"h", "sqrt2"}, 1, (const char *[]){"d"});
        e2e_ob_node(b, "Erf", "erf", 1, (const char *[]){"d"}, 1, (const char *[]){"e"});
        e2e_ob_node(b, "Add", "add1", 2, (const char *[]){"e", "one"}, 1, (const char *[]){"e1"});
        e2e_ob_node(b, "Mul", "mulx", 2, (const char *[]){"h", "e1"}, 1, (const char *[]){"g"});
        e2e_ob_node(b, "Mul", "mulh", 2, (const char *[]){"g", "half"}, 1, (const char *[]){"y"});
    } else {
        e2e_ob_node(b, "Relu", "relu", 1, (const char *[]){"h"}, 1, (const char *[]){"y"});
    }
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    return load(b);
}

static void test_matmul_epilogue(void **state)
{
    (void)state;
    for (int gelu = 0; gelu <= 1; gelu++) {
        e2e_model *m = matmul_graph(gelu);
        float *x = random_floats(2 * 5 * 40, 9, -1.f, 1.f);
        poke(x, 2 * 5 * 40, 3, 41, false); /* one per row of A: rows of NaN, +-Inf outputs */
        nf_case c = {gelu ? "MatMul + bias + GELU" : "MatMul + bias + Relu", m, 1,
                     {e2e_tensor_view_f32("x", x, 3, (int64_t[]){2, 5, 40})}, NULL, "MatMul", 1e-4};
        run_case(&c);
        free(x);
        e2e_model_free(m);
    }
}

/* The decomposed GELU alone (fused into one Gelu kernel): GELU(-Inf) is NaN as -Inf * 0 in
   the plain graph, GELU(+Inf) = +Inf, NaN stays NaN; large finite values 0 or x. */
static void test_gelu(void **state)
{
    (void)state;
    e2e_ob *b = e2e_ob_new(17, "gelu");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){3, 20});
    e2e_ob_init_f32(b, "isqrt2", 0, NULL, (float[]){0.70710678f});
    e2e_ob_init_f32(b, "one", 0, NULL, (float[]){1.f});
    e2e_ob_init_f32(b, "half", 0, NULL, (float[]){0.5f});
    e2e_ob_node(b, "Mul", "mul", 2, (const char *[]){"x", "isqrt2"}, 1, (const char *[]){"d"});
    e2e_ob_node(b, "Erf", "erf", 1, (const char *[]){"d"}, 1, (const char *[]){"e"});
    e2e_ob_node(b, "Add", "add1", 2, (const char *[]){"one", "e"}, 1, (const char *[]){"e1"});
    e2e_ob_node(b, "Mul", "mulh", 2, (const char *[]){"x", "half"}, 1, (const char *[]){"hx"});
    e2e_ob_node(b, "Mul", "mulx", 2, (const char *[]){"hx", "e1"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = load(b);
    float *x = random_floats(60, 4, -6.f, 6.f);
    poke(x, 60, 1, 4, false); /* NaN, +Inf, -Inf in every lane of the 16- and 8-wide vectors */
    x[0] = -1e30f;
    x[2] = 1e30f;
    nf_case c = {"GELU", m, 1, {e2e_tensor_view_f32("x", x, 2, (int64_t[]){3, 20})}, "Gelu", NULL, 1e-5};
    run_case(&c);
    free(x);
    e2e_model_free(m);
}

/* ---------------------------------------------------------------- LayerNorm, Attention */

/* ReduceMean -> Sub -> Pow 2 -> ReduceMean -> Add eps -> Sqrt -> Div -> Mul gamma -> Add beta
   over rows of 24: a NaN, a +Inf, a -Inf row each turn their whole row NaN. */
static void test_layernorm(void **state)
{
    (void)state;
    enum { N = 5, D = 24 };
    e2e_ob *b = e2e_ob_new(17, "ln");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){N, D});
    float *g = random_floats(D, 1, 0.5f, 1.5f), *be = random_floats(D, 2, -0.5f, 0.5f);
    e2e_ob_init_f32(b, "gamma", 1, (int64_t[]){D}, g);
    e2e_ob_init_f32(b, "beta", 1, (int64_t[]){D}, be);
    free(g);
    free(be);
    e2e_ob_init_f32(b, "two", 0, NULL, (float[]){2.f});
    e2e_ob_init_f32(b, "eps", 0, NULL, (float[]){1e-5f});
    Onnx__NodeProto *n = e2e_ob_node(b, "ReduceMean", "m1", 1, (const char *[]){"x"}, 1, (const char *[]){"mu"});
    e2e_ob_attr_ints(b, n, "axes", 1, (int64_t[]){-1});
    e2e_ob_node(b, "Sub", "sub", 2, (const char *[]){"x", "mu"}, 1, (const char *[]){"d"});
    e2e_ob_node(b, "Pow", "pow", 2, (const char *[]){"d", "two"}, 1, (const char *[]){"d2"});
    n = e2e_ob_node(b, "ReduceMean", "m2", 1, (const char *[]){"d2"}, 1, (const char *[]){"var"});
    e2e_ob_attr_ints(b, n, "axes", 1, (int64_t[]){-1});
    e2e_ob_node(b, "Add", "adde", 2, (const char *[]){"var", "eps"}, 1, (const char *[]){"ve"});
    e2e_ob_node(b, "Sqrt", "sqrt", 1, (const char *[]){"ve"}, 1, (const char *[]){"sd"});
    e2e_ob_node(b, "Div", "div", 2, (const char *[]){"d", "sd"}, 1, (const char *[]){"z"});
    e2e_ob_node(b, "Mul", "mulg", 2, (const char *[]){"z", "gamma"}, 1, (const char *[]){"zg"});
    e2e_ob_node(b, "Add", "addb", 2, (const char *[]){"zg", "beta"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = load(b);
    float *x = random_floats(N * D, 12, -2.f, 2.f);
    x[1 * D + 17] = NAN;
    x[2 * D + 3] = INFINITY;
    x[3 * D + 23] = -INFINITY;
    nf_case c = {"LayerNorm", m, 1, {e2e_tensor_view_f32("x", x, 2, (int64_t[]){N, D})},
                 "LayerNormalization", NULL, 1e-4};
    run_case(&c);
    free(x);
    e2e_model_free(m);
}

/* MatMul(Q, K^T) -> Mul scale -> Softmax -> MatMul V: a NaN or Inf in Q, K or V. */
static void test_attention(void **state)
{
    (void)state;
    enum { B = 2, T = 7, D = 16 };
    e2e_ob *b = e2e_ob_new(17, "attn");
    e2e_ob_input(b, "q", E2E_FLOAT, 3, (int64_t[]){B, T, D});
    e2e_ob_input(b, "kt", E2E_FLOAT, 3, (int64_t[]){B, D, T});
    e2e_ob_input(b, "v", E2E_FLOAT, 3, (int64_t[]){B, T, D});
    e2e_ob_init_f32(b, "scale", 0, NULL, (float[]){0.25f});
    e2e_ob_node(b, "MatMul", "qk", 2, (const char *[]){"q", "kt"}, 1, (const char *[]){"s"});
    e2e_ob_node(b, "Mul", "sc", 2, (const char *[]){"s", "scale"}, 1, (const char *[]){"ss"});
    e2e_ob_node(b, "Softmax", "sm", 1, (const char *[]){"ss"}, 1, (const char *[]){"p"});
    e2e_ob_node(b, "MatMul", "pv", 2, (const char *[]){"p", "v"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = load(b);
    float *q = random_floats(B * T * D, 21, -1.f, 1.f), *kt = random_floats(B * T * D, 22, -1.f, 1.f),
          *v = random_floats(B * T * D, 23, -1.f, 1.f);
    q[1 * D + 4] = NAN;             /* batch 0, query 1: a NaN row */
    q[3 * D + 0] = INFINITY;        /* query 3: scores +-Inf -> NaN (Inf - Inf) */
    kt[T * D + 2 * T + 5] = -INFINITY; /* batch 1, key 5: scores +-Inf */
    v[T * D + 6 * D + 9] = INFINITY; /* batch 1, value 6 */
    v[2 * D + 1] = NAN;             /* batch 0, value 2: column 1 NaN */
    const int64_t qd[3] = {B, T, D}, kd[3] = {B, D, T};
    nf_case c = {"Attention", m, 3,
                 {e2e_tensor_view_f32("q", q, 3, qd), e2e_tensor_view_f32("kt", kt, 3, kd),
                  e2e_tensor_view_f32("v", v, 3, qd)},
                 "Attention", NULL, 1e-4};
    run_case(&c);
    free(q);
    free(kt);
    free(v);
    e2e_model_free(m);
}

/* ---------------------------------------------------------------- PointwiseMLP */

/* Conv 1x1 (4 -> 16) -> Relu -> Conv 1x1 (16 -> 3) */
static void test_pointwise(void **state)
{
    (void)state;
    enum { C = 4, HID = 16, O = 3, H = 5, W = 9 };
    e2e_ob *b = e2e_ob_new(17, "pw");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, C, H, W});
    float *w1 = random_floats(HID * C, 31, -1.f, 1.f), *b1 = random_floats(HID, 32, -0.5f, 0.5f),
          *w2 = random_floats(O * HID, 33, -1.f, 1.f), *b2 = random_floats(O, 34, -0.5f, 0.5f);
    e2e_ob_init_f32(b, "w1", 4, (int64_t[]){HID, C, 1, 1}, w1);
    e2e_ob_init_f32(b, "b1", 1, (int64_t[]){HID}, b1);
    e2e_ob_init_f32(b, "w2", 4, (int64_t[]){O, HID, 1, 1}, w2);
    e2e_ob_init_f32(b, "b2", 1, (int64_t[]){O}, b2);
    free(w1);
    free(b1);
    free(w2);
    free(b2);
    e2e_ob_node(b, "Conv", "c1", 3, (const char *[]){"x", "w1", "b1"}, 1, (const char *[]){"h"});
    e2e_ob_node(b, "Relu", "r", 1, (const char *[]){"h"}, 1, (const char *[]){"hr"});
    e2e_ob_node(b, "Conv", "c2", 3, (const char *[]){"hr", "w2", "b2"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = load(b);
    float *x = random_floats(C * H * W, 35, -1.f, 1.f);
    poke(x, C * H * W, 2, 13, false);
    nf_case c = {"PointwiseMLP", m, 1, {e2e_tensor_view_f32("x", x, 4, (int64_t[]){1, C, H, W})},
                 "PointwiseMLP", NULL, 1e-4};
    run_case(&c);
    free(x);
    e2e_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_act),      cmocka_unit_test(test_conv_winograd),
        cmocka_unit_test(test_conv_maxpool),  cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_reduce_max),    cmocka_unit_test(test_patch_embed),
        cmocka_unit_test(test_matmul_epilogue), cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_layernorm),     cmocka_unit_test(test_attention),
        cmocka_unit_test(test_pointwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
