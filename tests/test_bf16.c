/* bfloat16 weights (e2e_session_options.precision = E2E_PRECISION_BF16, ops/mm_bf16.h):
   rounding of the conversion; every kernel table this CPU runs (plain C, AVX2, AVX-512 widen,
   AVX512_BF16 dot) against a double reference of the same rounded operands, on shapes with
   odd K, partial panels, all tile heights and the KC blocks of a long K, with bias, residual
   and activation; NaN and Inf in weights and inputs where float32 would put them; Gemm
   (alpha, beta, C, transB), fused attention (both products on the dot tiles, K^T and V packed
   at run) and a ViT through a session; the trained E/Gamma
   SimpleNet (../shared/models) in bf16 within 1e-2 of its float32 scores. Run by
   tests/run_all.sh at every instruction-set level (E2E_ISA). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "e2e.h"
#include "op_harness.h"
#include "model_craft.h"
#include "models/models.h"
#include "onnx/onnx_build.h"
#include "onnx/tensor_proto.h"
#include "ops/cpu_isa.h"
#include "ops/mm_bf16.h"
#include "core/ir.h"

#define EG_DIR "../shared/models/eg_simplenet_trained"

static uint32_t rng = 12345u;
static float frand(void) /* [-1, 1) */
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 23) - 1.f;
}

static float bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static float round_bf16(float x) { return e2e_bf16_to_f32(e2e_bf16_from_f32(x)); }

static void test_convert(void **state)
{
    (void)state;
    assert_true(round_bf16(1.f) == 1.f);
    assert_true(round_bf16(-2.5f) == -2.5f);
    /* halfway cases go to the even neighbour; anything above half rounds up */
    assert_true(round_bf16(1.f + 0x1p-8f) == 1.f);
    assert_true(round_bf16(1.f + 3 * 0x1p-8f) == 1.f + 0x1p-6f);
    assert_true(round_bf16(1.f + 0x1p-8f + 0x1p-20f) == 1.f + 0x1p-7f);
    assert_true(isinf(round_bf16(INFINITY)) && round_bf16(-INFINITY) < 0);
    assert_true(isinf(round_bf16(3.4e38f))); /* past bf16's largest finite value */
    assert_true(isnan(round_bf16(NAN)));
    /* a NaN whose payload sits in the dropped half stays NaN (not Inf) */
    assert_true(isnan(round_bf16(bits(0x7f800001u))) && isnan(round_bf16(bits(0xff800001u))));
    assert_true(round_bf16(0.f) == 0.f && signbit(round_bf16(-0.f)));
}

/* The tables this machine can run. */
static int tables(const e2e_bf16_kernels **t)
{
    int n = 0;
    t[n++] = &e2e_bf16_generic;
#ifdef E2E_X86
    if (e2e_cpu_isa() >= E2E_ISA_AVX2)
        t[n++] = &e2e_bf16_avx2;
    if (e2e_cpu_isa() >= E2E_ISA_AVX512)
        t[n++] = &e2e_bf16_avx512;
    if (e2e_cpu_avx512_bf16())
        t[n++] = &e2e_bf16_avx512_dot;
    else
        printf("note: this CPU has no AVX512_BF16 (or E2E_BF16_DOT=0): dot tiles not tested\n");
#endif
    return n;
}

/* The epilogue's activation in double. */
static double act_ref(e2e_act act, double x)
{
    switch (act) {
    case E2E_ACT_RELU: return x > 0 ? x : 0;
    case E2E_ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case E2E_ACT_SIGMOID: return 1 / (1 + exp(-x));
    default: return x;
    }
}

/* C = act(res + (scale * A B + bias)) with the table bk on the pool (bias and res only with
   full), against double sums of the operands rounded as the path rounds them (B always, A
   when the dot tiles run: M >= 5). */
static void check_product_act(const e2e_bf16_kernels *bk, e2e_pool *pool, int M, int N, int K,
                              bool fixed, e2e_act act, bool full)
{
    float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
    float *bias = malloc(sizeof(float) * (size_t)N), *res = malloc(sizeof(float) * (size_t)M * N);
    float *C = malloc(sizeof(float) * (size_t)M * N);
    float *P = e2e_aligned_alloc_uninit(sizeof(float) * e2e_bf16_packed_floats(K, N));
    size_t wsb = e2e_bf16_ws_bytes(bk, M, K, N);
    void *ws = wsb ? malloc(wsb) : NULL;
    assert_true(A && B && bias && res && C && P && (!wsb || ws));
    for (int64_t i = 0; i < (int64_t)M * K; i++)
        A[i] = frand();
    for (int64_t i = 0; i < (int64_t)K * N; i++)
        B[i] = frand();
    for (int j = 0; j < N; j++)
        bias[j] = frand();
    for (int64_t i = 0; i < (int64_t)M * N; i++)
        res[i] = frand();
    e2e_bf16_pack(B, N, 1, K, N, P);
    e2e_mm_epi e = {.scale = 0.5f, .bias = full ? bias : NULL, .res = full ? res : NULL, .ldr = N,
                    .act = act};
    e2e_bf16_run(bk, pool, M, N, K, A, K, (const uint16_t *)P, C, N, &e, ws, fixed);
    const bool dot = wsb > 0 && !fixed; /* fixed: the widen_seq tiles */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double a = dot ? round_bf16(A[i * K + k]) : A[i * K + k];
                double t = a * round_bf16(B[(int64_t)k * N + j]);
                s += t;
                mag += fabs(t);
            }
            double want = act_ref(act, 0.5 * s + (full ? bias[j] + res[i * N + j] : 0));
            double got = C[i * N + j];
            if (fabs(got - want) > 1e-5 * (0.5 * mag + 2) + 1e-6)
                fail_msg("%s %dx%dx%d: C[%d][%d] = %.9g, want %.9g", bk->name, M, N, K, i, j, got,
                         want);
            /* and against the float32 product: bfloat16's 8-bit mantissa, errors averaging out */
            double s32 = 0;
            for (int k = 0; k < K; k++)
                s32 += (double)A[i * K + k] * B[(int64_t)k * N + j];
            double w32 = act_ref(act, 0.5 * s32 + (full ? bias[j] + res[i * N + j] : 0));
            if (fabs(got - w32) > 0x1p-7 * (0.5 * mag + 1))
                fail_msg("%s %dx%dx%d: C[%d][%d] = %.9g, float32 %.9g", bk->name, M, N, K, i, j,
                         got, w32);
        }
    free(A), free(B), free(bias), free(res), free(C), free(ws);
    e2e_aligned_free(P);
}

static void check_product(const e2e_bf16_kernels *bk, e2e_pool *pool, int M, int N, int K,
                          bool fixed)
{
    check_product_act(bk, pool, M, N, K, fixed, E2E_ACT_RELU, true);
}

static void test_kernels(void **state)
{
    (void)state;
    const e2e_bf16_kernels *t[4];
    int nt = tables(t);
    static const int shapes[][3] = {{1, 16, 16},  {1, 33, 17},  {2, 64, 31},  {3, 40, 64},
                                    {4, 128, 2100}, {5, 32, 16}, {13, 70, 33}, {12, 32, 192},
                                    {32, 96, 77}, {27, 48, 2300}};
    e2e_pool *pool = e2e_pool_create(2);
    for (int i = 0; i < nt; i++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            check_product(t[i], NULL, shapes[s][0], shapes[s][1], shapes[s][2], false);
            check_product(t[i], pool, shapes[s][0], shapes[s][1], shapes[s][2], false);
            check_product(t[i], NULL, shapes[s][0], shapes[s][1], shapes[s][2], true);
        }
    /* the other epilogues: GELU and ReLU in the tiles' registers, others on stored rows; no
       bias or residual; a KC-blocked K (the later blocks add through the residual) */
    static const int eshapes[][3] = {{3, 40, 64}, {13, 70, 33}, {29, 64, 2100}};
    static const e2e_act acts[] = {E2E_ACT_GELU, E2E_ACT_SIGMOID, E2E_ACT_NONE};
    for (int i = 0; i < nt; i++)
        for (size_t s = 0; s < sizeof eshapes / sizeof eshapes[0]; s++)
            for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
                check_product_act(t[i], NULL, eshapes[s][0], eshapes[s][1], eshapes[s][2], false,
                                  acts[a], a != 2);
                check_product_act(t[i], pool, eshapes[s][0], eshapes[s][1], eshapes[s][2], false,
                                  acts[a], a == 2);
            }
    e2e_pool_free(pool);
}

/* A long K on the dot tiles (K > 2048: sub-blocks of 256 k carried through float32 partial
   sums, the next sub-block prefetched): K not a multiple of the sub-block, odd K, rows in two
   chunks (36 rows each), N = 100 (a last panel of 4 columns, the half-width tile), one and two
   threads (split by panels; 64 x 40: by rows, each thread converting its own rows); every
   table, so that the other levels run the same shapes. */
static void test_long_k(void **state)
{
    (void)state;
    const e2e_bf16_kernels *t[4];
    int nt = tables(t);
    static const int shapes[][3] = {{32, 128, 4099}, {40, 100, 2600}, {5, 40, 2304},
                                    {13, 32, 2561},  {64, 40, 2304}};
    e2e_pool *pool = e2e_pool_create(2);
    for (int i = 0; i < nt; i++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            check_product(t[i], NULL, shapes[s][0], shapes[s][1], shapes[s][2], false);
            check_product(t[i], pool, shapes[s][0], shapes[s][1], shapes[s][2], false);
            check_product_act(t[i], NULL, shapes[s][0], shapes[s][1], shapes[s][2], false,
                              E2E_ACT_GELU, false);
        }
    e2e_pool_free(pool);
}

/* NaN and Inf in weights or inputs reach the outputs that float32 would give them: a NaN
   weight makes its column NaN, an Inf weight +-Inf (or NaN where a zero input meets it), an
   Inf input its row likewise. Checked as the class (NaN, +Inf, -Inf, finite) per output. */
static int fclass(double x) { return isnan(x) ? 0 : isinf(x) ? (x > 0 ? 1 : 2) : 3; }

/* K = 24, or a long K (2100: the dot tiles' sub-blocks) with the non-finite values in later
   sub-blocks, the NaN in the last, partial one. */
static void nonfinite_case(int K)
{
    const e2e_bf16_kernels *t[4];
    int nt = tables(t);
    enum { M = 8, N = 40 };
    const bool lng = K > 24;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float C[M * N];
    float *P = e2e_aligned_alloc_uninit(sizeof(float) * e2e_bf16_packed_floats(K, N));
    const size_t wsb = e2e_bf16_ws_bytes(t[nt - 1], M, K, N);
    void *ws = malloc(wsb > 0 ? wsb : 1);
    assert_true(A && B && P && ws);
    for (int i = 0; i < M * K; i++)
        A[i] = 0.25f + 0.5f * (frand() + 1.f); /* positive: no Inf - Inf within a row */
    for (int i = 0; i < K * N; i++)
        B[i] = 0.25f + 0.5f * (frand() + 1.f);
    B[(lng ? K - 5 : 3) * N + 5] = NAN;
    B[(lng ? 1100 : 7) * N + 9] = INFINITY;
    B[(lng ? 300 : 2) * N + 33] = -INFINITY;
    A[1 * K + (lng ? 1500 : 4)] = INFINITY;
    A[6 * K + 0] = 0.f;
    B[0 * N + 20] = INFINITY; /* meets A[6][0] = 0: NaN in row 6, column 20 */
    e2e_bf16_pack(B, N, 1, K, N, P);
    for (int ti = 0; ti < nt; ti++)
        for (int m = 1; m <= M; m += M - 1) { /* 1 row (widen), 8 rows (dot where it exists) */
            const e2e_mm_epi e = {.scale = 1.f};
            e2e_bf16_run(t[ti], NULL, m, N, K, A, K, (const uint16_t *)P, C, N, &e, ws, false);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += (double)A[i * K + k] * B[k * N + j];
                    if (fclass(C[i * N + j]) != fclass(s))
                        fail_msg("%s, %d rows, K %d: C[%d][%d] = %g, float32 gives %g", t[ti]->name,
                                 m, K, i, j, C[i * N + j], s);
                }
        }
    e2e_aligned_free(P);
    free(A), free(B), free(ws);
}

static void test_nonfinite(void **state)
{
    (void)state;
    nonfinite_case(24);
    nonfinite_case(2100);
}

/* Gemm Y = alpha A op(B) + beta C with C a full matrix (the residual path) and a Gemm with a
   bias row, transB 0 and 1, through sessions in fp32 and bf16. */
static e2e_model *gemm_model(int M, int N, int K, int tb, int full_c, const float *B, const float *C)
{
    mc_model mm;
    mc_init(&mm, 13);
    int64_t xd[2] = {M, K}, bd[2] = {tb ? N : K, tb ? K : N}, cd[2] = {full_c ? M : 1, N};
    mc_input(&mm, "x", 2, xd);
    mc_output(&mm, "y");
    mc_init_raw(&mm, "B", 2, bd, B, sizeof(float) * (size_t)K * N);
    mc_init_raw(&mm, "C", full_c ? 2 : 2, cd, C, sizeof(float) * (size_t)(full_c ? M : 1) * N);
    Onnx__NodeProto *n = mc_node(&mm, "Gemm", (const char *const[]){"x", "B", "C", NULL},
                                 (const char *const[]){"y", NULL});
    mc_attr_int(n, "transB", tb);
    mc_attr_float(n, "alpha", 1.5f);
    mc_attr_float(n, "beta", full_c ? 0.75f : 1.f);
    uint8_t *buf;
    size_t len = mc_pack(&mm, &buf);
    e2e_model *m = NULL;
    e2e_error err;
    if (e2e_model_load_buffer(buf, len, "gemm_bf16", &m, &err))
        fail_msg("%s", err.message);
    free(buf);
    mc_free(&mm);
    return m;
}

/* Runs m on one input (dims) at precision p; returns the first output (malloc'ed). */
static float *run(const e2e_model *m, e2e_precision p, int threads, const char *name, int rank,
                  const int64_t *dims, const float *x, int64_t *ny)
{
    e2e_session_options o = e2e_session_options_default();
    o.precision = p;
    o.threads = threads;
    o.default_batch = dims[0];
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    assert_int_equal(e2e_session_precision(s), p);
    e2e_tensor_view in = e2e_tensor_view_f32(name, (float *)x, rank, dims);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("%s", err.message);
    float *y = oh_output_copy(s, ny);
    e2e_session_free(s);
    return y;
}

static void test_gemm_session(void **state)
{
    (void)state;
    enum { N = 48, K = 40 };
    float B[K * N], C[32 * N], x[32 * K];
    for (int i = 0; i < K * N; i++)
        B[i] = frand();
    for (int i = 0; i < 32 * N; i++)
        C[i] = frand();
    for (int i = 0; i < 32 * K; i++)
        x[i] = frand();
    for (int M = 1; M <= 32; M += 31)
        for (int tb = 0; tb < 2; tb++)
            for (int full = 0; full < 2; full++) {
                e2e_model *m = gemm_model(M, N, K, tb, full, B, C);
                int64_t dims[2] = {M, K}, n32, n16;
                float *y32 = run(m, E2E_PRECISION_FP32, 1, "x", 2, dims, x, &n32);
                float *y16 = run(m, E2E_PRECISION_BF16, 2, "x", 2, dims, x, &n16);
                assert_int_equal(n32, (int64_t)M * N);
                assert_int_equal(n16, n32);
                double maxd = 0;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double s = 0, mag = 0;
                        for (int k = 0; k < K; k++) {
                            float b = tb ? B[j * K + k] : B[k * N + j];
                            s += (double)x[i * K + k] * b;
                            mag += fabs((double)x[i * K + k] * b);
                        }
                        double want = 1.5 * s + (full ? 0.75 * C[i * N + j] : C[j]);
                        assert_true(fabs(y32[i * N + j] - want) < 1e-4);
                        double d = fabs(y16[i * N + j] - want);
                        if (d > 0x1p-7 * 1.5 * mag + 1e-5)
                            fail_msg("M %d transB %d C %s: y[%d][%d] = %g, want %g", M, tb,
                                     full ? "full" : "bias", i, j, y16[i * N + j], want);
                        maxd = d > maxd ? d : maxd;
                    }
                /* the bf16 session did round, where it uses bf16 (else it is float32) */
                if (e2e_bf16_worth(e2e_bf16_kernels_for(E2E_ISA_AUTO), M, K, N))
                    assert_true(maxd > 0);
                else
                    assert_true(maxd < 1e-4);
                free(y32);
                free(y16);
                e2e_model_free(m);
            }
}

/* A small ViT (MatMuls with fused bias, GELU and residual, attention). */
static void test_vit_session(void **state)
{
    (void)state;
    e2e_model_config c = {.arch = E2E_ARCH_VIT, .channels = 2, .height = 16, .width = 16,
                          .patch = 4, .embed = 32, .depth = 2, .heads = 2, .mlp = 64,
                          .name = "bf16_vit"};
    uint8_t *buf;
    size_t n;
    e2e_error err;
    if (e2e_model_build_buffer(&c, 11, &buf, &n, &err))
        fail_msg("%s", err.message);
    e2e_model *m = NULL;
    if (e2e_model_load_buffer(buf, n, "bf16_vit", &m, &err))
        fail_msg("%s", err.message);
    free(buf);
    int64_t dims[4] = {8, 2, 16, 16}, n32, n16;
    float *x = malloc(sizeof(float) * 8 * 2 * 16 * 16);
    assert_non_null(x);
    for (int i = 0; i < 8 * 2 * 16 * 16; i++)
        x[i] = 0.5f * (frand() + 1.f);
    float *y32 = run(m, E2E_PRECISION_FP32, 1, NULL, 4, dims, x, &n32);
    float *y16 = run(m, E2E_PRECISION_BF16, 1, NULL, 4, dims, x, &n16);
    assert_int_equal(n16, n32);
    double maxd = 0;
    for (int64_t i = 0; i < n32; i++) {
        double d = fabs(y16[i] - y32[i]);
        maxd = d > maxd ? d : maxd;
    }
    printf("small ViT, batch 8: max |bf16 - fp32| score %.3g\n", maxd);
    assert_true(maxd <= 1e-2);
    /* its MatMuls have 8 x 17 rows: bfloat16 with dot tiles, float32 without */
    assert_true(e2e_bf16_kernels_for(E2E_ISA_AUTO)->dot ? maxd > 0 : maxd < 1e-5);
    free(x), free(y32), free(y16);
    e2e_model_free(m);
}

/* MatMul -> Add bias (the bias pass fuses them into one MatMul kernel): the fused kernel keeps
   the session's precision (its kernel context), so bf16 changes the result at batch 1 (the
   widened tiles, every level) by the weights' rounding, and only by that. */
static void test_fused_matmul_keeps_precision(void **state)
{
    (void)state;
    enum { K = 48, N = 32 };
    float W[K * N], bias[N], x[K];
    for (int i = 0; i < K * N; i++)
        W[i] = frand();
    for (int i = 0; i < N; i++)
        bias[i] = frand();
    for (int i = 0; i < K; i++)
        x[i] = frand();
    e2e_ob *b = e2e_ob_new(17, "fused_bf16");
    assert_non_null(b);
    const int64_t xd[2] = {1, K}, wd[2] = {K, N}, bd[1] = {N}, yd[2] = {1, N};
    e2e_ob_input(b, "x", E2E_FLOAT, 2, xd);
    e2e_ob_init_f32(b, "W", 2, wd, W);
    e2e_ob_init_f32(b, "bias", 1, bd, bias);
    e2e_ob_node(b, "MatMul", NULL, 2, (const char *[]){"x", "W"}, 1, (const char *[]){"t"});
    e2e_ob_node(b, "Add", NULL, 2, (const char *[]){"t", "bias"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, 2, yd);
    e2e_model *m = oh_model_pack(b, "fused_bf16");
    e2e_ob_free(b);
    int64_t ny;
    float *y32 = run(m, E2E_PRECISION_FP32, 1, "x", 2, xd, x, &ny);
    float *y16 = run(m, E2E_PRECISION_BF16, 1, "x", 2, xd, x, &ny);
    double maxd = 0, maxr = 0;
    for (int j = 0; j < N; j++) {
        double want = bias[j]; /* float64 with the weights rounded as bf16 stores them */
        for (int k = 0; k < K; k++)
            want += (double)x[k] * round_bf16(W[k * N + j]);
        maxd = fmax(maxd, fabs(y16[j] - y32[j]));
        maxr = fmax(maxr, fabs(y16[j] - want));
    }
    assert_true(maxd > 0);   /* bf16 weights were used */
    assert_true(maxr < 1e-4); /* and nothing else changed */
    free(y32), free(y16);
    e2e_model_free(m);
}

/* The fused patch embedding (PatchEmbed: Conv(kernel = stride) -> Reshape -> Transpose) in
   bf16: on the dot tiles (A and W rounded to bfloat16) where the CPU has them, checked against
   double sums of the rounded operands; else float32, bit for bit. 1 and 2 threads. */
static void test_patch_embed(void **state)
{
    (void)state;
    enum { B = 6, C = 3, H = 16, W = 20, E = 40, P = 4, K = C * P * P, T = (H / P) * (W / P) };
    static float w[E * K], bias[E], x[B * C * H * W];
    for (int i = 0; i < E * K; i++)
        w[i] = frand();
    for (int i = 0; i < E; i++)
        bias[i] = frand();
    for (int i = 0; i < B * C * H * W; i++)
        x[i] = frand();
    e2e_ob *b = e2e_ob_new(17, "patch_bf16");
    assert_non_null(b);
    const int64_t xd[4] = {B, C, H, W}, wd[4] = {E, C, P, P}, bd[1] = {E}, sd[1] = {3},
                  shape[3] = {0, E, -1}, yd[3] = {B, T, E};
    e2e_ob_input(b, "x", E2E_FLOAT, 4, xd);
    e2e_ob_init_f32(b, "w", 4, wd, w);
    e2e_ob_init_f32(b, "bias", 1, bd, bias);
    e2e_ob_init_i64(b, "shape", 1, sd, shape);
    Onnx__NodeProto *n = e2e_ob_node(b, "Conv", NULL, 3, (const char *[]){"x", "w", "bias"}, 1,
                                     (const char *[]){"c"});
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (const int64_t[]){P, P});
    e2e_ob_attr_ints(b, n, "strides", 2, (const int64_t[]){P, P});
    e2e_ob_node(b, "Reshape", NULL, 2, (const char *[]){"c", "shape"}, 1, (const char *[]){"r"});
    n = e2e_ob_node(b, "Transpose", NULL, 1, (const char *[]){"r"}, 1, (const char *[]){"y"});
    e2e_ob_attr_ints(b, n, "perm", 3, (const int64_t[]){0, 2, 1});
    e2e_ob_output(b, "y", E2E_FLOAT, 3, yd);
    e2e_model *m = oh_model_pack(b, "patch_bf16");
    e2e_ob_free(b);
    const bool dot = e2e_bf16_kernels_for(E2E_ISA_AUTO)->dot != NULL;
    for (int threads = 1; threads <= 2; threads++) {
        int64_t n32, n16;
        float *y32 = run(m, E2E_PRECISION_FP32, threads, "x", 4, xd, x, &n32);
        float *y16 = run(m, E2E_PRECISION_BF16, threads, "x", 4, xd, x, &n16);
        assert_int_equal(n32, (int64_t)B * T * E);
        assert_int_equal(n16, n32);
        for (int bi = 0; bi < B; bi++)
            for (int t = 0; t < T; t++)
                for (int e = 0; e < E; e++) {
                    const int py = t / (W / P), px = t % (W / P);
                    double s = bias[e], mag = fabs(bias[e]);
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < P; i++)
                            for (int j = 0; j < P; j++) {
                                const float xv = x[((bi * C + c) * H + py * P + i) * W + px * P + j];
                                const float wv = w[((e * C + c) * P + i) * P + j];
                                const double v = (double)round_bf16(xv) * round_bf16(wv);
                                s += v;
                                mag += fabs(v);
                            }
                    const size_t o = ((size_t)bi * T + t) * E + e;
                    if (dot ? fabs(y16[o] - s) > 1e-5 * (mag + 1) : y16[o] != y32[o])
                        fail_msg("patch %d threads: y[%d][%d][%d] = %.9g, want %.9g (fp32 %.9g)",
                                 threads, bi, t, e, y16[o], s, y32[o]);
                }
        if (dot) { /* and the rounding was there */
            double maxd = 0;
            for (int64_t i = 0; i < n32; i++)
                maxd = fmax(maxd, fabs(y16[i] - y32[i]));
            assert_true(maxd > 0);
        }
        free(y32), free(y16);
    }
    e2e_model_free(m);
}

/* The dot tables' pack at run (attention's K^T and V per head) against the plain C pack, byte
   for byte (no subnormals here), both orientations, odd K, partial panels, over garbage. */
static void test_pack_run(void **state)
{
    (void)state;
    const e2e_bf16_kernels *t[4];
    const int nt = tables(t);
    static const int shapes[][2] = {{1, 1}, {16, 17}, {33, 40}, {64, 65}, {31, 32}, {65, 64}, {2, 97}};
    enum { MAXF = 100 * 100 };
    static float B[MAXF], want[MAXF], got[MAXF];
    for (int i = 0; i < MAXF; i++)
        B[i] = frand();
    B[5] = NAN, B[7] = INFINITY, B[8] = -INFINITY;
    int tested = 0;
    for (int ti = 0; ti < nt; ti++) {
        if (!t[ti]->pack_run)
            continue;
        tested++;
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (int tr = 0; tr < 2; tr++) {
                const int K = shapes[si][0], N = shapes[si][1];
                const int64_t sk = tr ? 1 : N, sn = tr ? K : 1; /* tr: columns along k (K^T) */
                const size_t bytes = sizeof(float) * e2e_bf16_packed_floats(K, N);
                memset(got, 0xff, bytes);
                e2e_bf16_pack(B, sk, sn, K, N, want);
                t[ti]->pack_run(B, sk, sn, K, N, (uint16_t *)got);
                if (memcmp(want, got, bytes))
                    fail_msg("%s pack_run K %d N %d %s differs from e2e_bf16_pack", t[ti]->name, K,
                             N, tr ? "(sk 1)" : "(sn 1)");
            }
    }
    if (!tested)
        printf("note: no table here packs at run (no AVX512_BF16): pack_run not tested\n");
}

/* Runs m (inputs in[0..n)) at precision p; returns output 0 (malloc'ed) and the number of
   Attention kernels of the session in *attn. */
static float *run_views(const e2e_model *m, e2e_precision p, int threads, int n,
                        const e2e_tensor_view *in, int64_t *ny, int *attn)
{
    e2e_session_options o = e2e_session_options_default();
    o.precision = p;
    o.threads = threads;
    o.default_batch = in[0].dims[0];
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err) || e2e_session_run(s, in, n, &err))
        fail_msg("%s", err.message);
    *attn = oh_count_op(s, "Attention");
    float *y = oh_output_copy(s, ny);
    e2e_session_free(s);
    return y;
}

/* Fused attention softmax(scale Q K^T) V in bf16: with dot tiles both products run on them (Q,
   K, V and the probabilities rounded to bfloat16), checked against double sums of those
   rounded operands (the probabilities' rounding of a value within float32 error of a tie may
   go either way: the tolerance allows one bfloat16 step on every term); without dot tiles
   float32, bit for bit. K^T both as a Transpose of K (the ViTs' view: each key's d
   contiguous) and as a tensor of its own; odd D and S, partial panels, 1 and 2 threads; a
   sample's result independent of the batch; NaN and Inf where float32 puts them. */
static e2e_model *attention_model(int T, int S, int D, int Dv, bool transpose, float scale)
{
    const int B = -1; /* the batch: dynamic */
    e2e_ob *b = e2e_ob_new(17, "attn_bf16");
    assert_non_null(b);
    e2e_ob_input(b, "q", E2E_FLOAT, 3, (int64_t[]){B, T, D});
    e2e_ob_input(b, "k", E2E_FLOAT, 3, transpose ? (int64_t[]){B, S, D} : (int64_t[]){B, D, S});
    e2e_ob_input(b, "v", E2E_FLOAT, 3, (int64_t[]){B, S, Dv});
    e2e_ob_init_f32(b, "scale", 0, NULL, (float[]){scale});
    const char *kt = "k";
    if (transpose) {
        Onnx__NodeProto *n = e2e_ob_node(b, "Transpose", "tr", 1, (const char *[]){"k"}, 1,
                                         (const char *[]){"kt"});
        e2e_ob_attr_ints(b, n, "perm", 3, (const int64_t[]){0, 2, 1});
        kt = "kt";
    }
    e2e_ob_node(b, "MatMul", "qk", 2, (const char *[]){"q", kt}, 1, (const char *[]){"s"});
    e2e_ob_node(b, "Mul", "sc", 2, (const char *[]){"s", "scale"}, 1, (const char *[]){"ss"});
    Onnx__NodeProto *n = e2e_ob_node(b, "Softmax", "sm", 1, (const char *[]){"ss"}, 1,
                                     (const char *[]){"p"});
    e2e_ob_attr_int(b, n, "axis", -1);
    e2e_ob_node(b, "MatMul", "pv", 2, (const char *[]){"p", "v"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = oh_model_pack(b, "attn_bf16");
    e2e_ob_free(b);
    return m;
}

static void test_attention(void **state)
{
    (void)state;
    enum { B = 3, T = 29, S = 37, D = 33, Dv = 40 };
    const float scale = 0.25f;
    static float q[B * T * D], k[B * S * D], v[B * S * Dv], kr[B * S * D];
    const bool dot = e2e_bf16_kernels_for(E2E_ISA_AUTO)->dot != NULL;
    for (int tr = 0; tr < 2; tr++) {
        e2e_model *m = attention_model(T, S, D, Dv, tr, scale);
        for (int i = 0; i < B * T * D; i++)
            q[i] = 2.f * frand();
        for (int i = 0; i < B * S * D; i++)
            k[i] = 2.f * frand();
        for (int i = 0; i < B * S * Dv; i++)
            v[i] = frand();
        /* K(b, s, d) whatever the layout */
        for (int bi = 0; bi < B; bi++)
            for (int s = 0; s < S; s++)
                for (int d = 0; d < D; d++)
                    kr[(bi * S + s) * D + d] = tr ? k[(bi * S + s) * D + d] : k[(bi * D + d) * S + s];
        const e2e_tensor_view in[3] = {
            e2e_tensor_view_f32("q", q, 3, (int64_t[]){B, T, D}),
            e2e_tensor_view_f32("k", k, 3, tr ? (int64_t[]){B, S, D} : (int64_t[]){B, D, S}),
            e2e_tensor_view_f32("v", v, 3, (int64_t[]){B, S, Dv})};
        for (int threads = 1; threads <= 2; threads++) {
            int64_t n32, n16;
            int a32, a16;
            float *y32 = run_views(m, E2E_PRECISION_FP32, threads, 3, in, &n32, &a32);
            float *y16 = run_views(m, E2E_PRECISION_BF16, threads, 3, in, &n16, &a16);
            assert_int_equal(a32, 1);
            assert_int_equal(a16, 1);
            assert_int_equal(n32, (int64_t)B * T * Dv);
            assert_int_equal(n16, n32);
            double maxd = 0;
            for (int bi = 0; bi < B; bi++)
                for (int t = 0; t < T; t++) {
                    double sc[S], mx = -INFINITY, sum = 0;
                    for (int s = 0; s < S; s++) {
                        double a = 0;
                        for (int d = 0; d < D; d++)
                            a += (double)round_bf16(q[(bi * T + t) * D + d]) *
                                 round_bf16(kr[(bi * S + s) * D + d]);
                        sc[s] = scale * a;
                        mx = fmax(mx, sc[s]);
                    }
                    for (int s = 0; s < S; s++)
                        sum += (sc[s] = exp(sc[s] - mx));
                    for (int e = 0; e < Dv; e++) {
                        double y = 0, mag = 0;
                        for (int s = 0; s < S; s++) {
                            const double pv = (double)round_bf16((float)(sc[s] / sum)) *
                                              round_bf16(v[(bi * S + s) * Dv + e]);
                            y += pv;
                            mag += fabs(pv);
                        }
                        const size_t o = ((size_t)bi * T + t) * Dv + e;
                        if (dot ? fabs(y16[o] - y) > 0x1p-8 * mag + 1e-5 : y16[o] != y32[o])
                            fail_msg("attention %s, %d threads: y[%d][%d][%d] = %.9g, want %.9g "
                                     "(fp32 %.9g)", tr ? "K^T by Transpose" : "K^T input",
                                     threads, bi, t, e, y16[o], y, y32[o]);
                        maxd = fmax(maxd, fabs(y16[o] - y32[o]));
                    }
                }
            if (dot) /* and the rounding was there */
                assert_true(maxd > 0);
            /* sample 1 alone: the same bits as in the batch */
            const e2e_tensor_view in1[3] = {
                e2e_tensor_view_f32("q", q + T * D, 3, (int64_t[]){1, T, D}),
                e2e_tensor_view_f32("k", k + S * D, 3, tr ? (int64_t[]){1, S, D} : (int64_t[]){1, D, S}),
                e2e_tensor_view_f32("v", v + S * Dv, 3, (int64_t[]){1, S, Dv})};
            float *y1 = run_views(m, E2E_PRECISION_BF16, threads, 3, in1, &n16, &a16);
            assert_int_equal(n16, (int64_t)T * Dv);
            assert_memory_equal(y1, y16 + T * Dv, sizeof(float) * T * Dv);
            free(y1), free(y32), free(y16);
        }
        /* non-finite values: NaN and Inf where float32 has them */
        q[1 * D + 4] = NAN;                 /* batch 0, query 1: a NaN row */
        q[3 * D + 0] = INFINITY;            /* query 3: scores +-Inf */
        k[S * D + 2 * S + 5] = -INFINITY;   /* batch 1: a key's component */
        v[S * Dv + 6 * Dv + 9] = INFINITY;  /* batch 1, value 6 */
        v[2 * Dv + 1] = NAN;                /* batch 0, value 2: column 1 NaN */
        int64_t n32, n16;
        int a32, a16;
        float *y32 = run_views(m, E2E_PRECISION_FP32, 1, 3, in, &n32, &a32);
        float *y16 = run_views(m, E2E_PRECISION_BF16, 1, 3, in, &n16, &a16);
        int nonfinite = 0;
        for (int64_t i = 0; i < n32; i++) {
            if (fclass(y16[i]) != fclass(y32[i]) && (isfinite(y16[i]) || isfinite(y32[i]) ||
                                                     isnan(y16[i]) != isnan(y32[i])))
                fail_msg("attention %s, non-finite inputs: y[%lld] = %g, float32 %g",
                         tr ? "K^T by Transpose" : "K^T input", (long long)i, y16[i], y32[i]);
            nonfinite += !isfinite(y32[i]);
        }
        assert_true(nonfinite > Dv); /* the NaN row at least */
        free(y32), free(y16);
        e2e_model_free(m);
    }
}

static void test_options(void **state)
{
    (void)state;
    assert_string_equal(e2e_precision_name(E2E_PRECISION_FP32), "fp32");
    assert_string_equal(e2e_precision_name(E2E_PRECISION_BF16), "bf16");
    assert_int_equal(e2e_session_options_default().precision, E2E_PRECISION_FP32);
    float B[16 * 16] = {0}, C[16] = {0};
    e2e_model *m = gemm_model(1, 16, 16, 0, 0, B, C);
    e2e_session_options o = e2e_session_options_default();
    o.precision = (e2e_precision)7;
    e2e_session *s = NULL;
    e2e_error err;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "precision"));
    e2e_model_free(m);
}

/* The trained E/Gamma SimpleNet on its three data sets: bf16 within 1e-2 of fp32. */
static void test_trained(void **state)
{
    (void)state;
    struct stat st;
    if (stat(EG_DIR "/model.onnx", &st) != 0) {
        printf("skipped: %s not found (run from the repository root with ../shared beside it)\n", EG_DIR);
        skip();
        return;
    }
    e2e_error err;
    e2e_model *m = NULL;
    if (e2e_model_load_file(EG_DIR "/model.onnx", &m, &err))
        fail_msg("%s", err.message);
    double maxd = 0;
    for (int set = 0; set < 3; set++) {
        char pin[512];
        snprintf(pin, sizeof pin, EG_DIR "/test_data_set_%d/input_0.pb", set);
        e2e_tensor x = {0};
        if (e2e_tensor_read_pb(pin, &x, &err))
            fail_msg("%s", err.message);
        int64_t n32, n16;
        float *y32 = run(m, E2E_PRECISION_FP32, 1, "modelInput", x.shape.rank, x.shape.dims, x.data, &n32);
        float *y16 = run(m, E2E_PRECISION_BF16, 1, "modelInput", x.shape.rank, x.shape.dims, x.data, &n16);
        assert_int_equal(n16, n32);
        for (int64_t i = 0; i < n32; i++) {
            double d = fabs(y16[i] - y32[i]);
            maxd = d > maxd ? d : maxd;
        }
        free(y32), free(y16);
        e2e_tensor_clear(&x);
    }
    printf("trained E/Gamma SimpleNet: max |bf16 - fp32| score %.3g over its 3 data sets\n", maxd);
    assert_true(maxd <= 1e-2);
    e2e_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert),     cmocka_unit_test(test_kernels),
        cmocka_unit_test(test_nonfinite),   cmocka_unit_test(test_gemm_session),
        cmocka_unit_test(test_vit_session), cmocka_unit_test(test_fused_matmul_keeps_precision),
        cmocka_unit_test(test_options),     cmocka_unit_test(test_patch_embed),
        cmocka_unit_test(test_trained),     cmocka_unit_test(test_pack_run),
        cmocka_unit_test(test_attention),   cmocka_unit_test(test_long_k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
