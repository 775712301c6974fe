/* Fused activations give the plain graph's bits: a producer (Gemm, Conv, MatMul, Add) whose
   only consumer is Sigmoid, Relu or LeakyRelu carries the activation in its epilogue
   (engine/passes/fuse_activation.c, e2e_act_apply and the SIMD tiles); its output must equal,
   bit for bit, the producer alone followed by the activation's own kernel, at every
   instruction-set level the machine has and at 1 and 2 threads. The pre-activations span
   [-100, 100] (Sigmoid's small results for x < 0 are where two formulas part), with NaN, +Inf
   and -Inf among them. */
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
#include "engine/session.h"

#include "op_harness.h"

enum { ROWS = 6, K = 12, N = 37 };

static const char *const acts[] = {"Sigmoid", "Relu", "LeakyRelu"};
static const char *const producers[] = {"Gemm", "MatMul", "Add", "Conv"};

/* b's graph ending with act (NULL: none) from "h" to the output "y" (without act, "y" is
   already there), packed as a model; b is freed. */
static e2e_model *with_act(e2e_ob *b, const char *act, const char *name)
{
    if (act) {
        Onnx__NodeProto *n = e2e_ob_node(b, act, "a", 1, (const char *[]){"h"}, 1,
                                         (const char *[]){"y"});
        if (!strcmp(act, "LeakyRelu"))
            e2e_ob_attr_float(b, n, "alpha", 0.07f);
    }
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = oh_model_pack(b, name);
    e2e_ob_free(b);
    return m;
}

/* x: [ROWS, K] (Conv: [1, K, ROWS, 1], 1x1 kernel); y = act(producer(x)) when act, else the
   producer's output. Weights scaled so that the pre-activations reach about +-100. */
static e2e_model *build(const char *prod, const char *act)
{
    e2e_ob *b = e2e_ob_new(17, "fa");
    uint64_t r = 5;
    float w[K * N], bias[N];
    oh_fill_random(w, K * N, -8.f, 8.f, &r);
    oh_fill_random(bias, N, -4.f, 4.f, &r);
    const char *pre = act ? "h" : "y";
    if (!strcmp(prod, "Conv")) {
        e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, K, ROWS, 1});
        e2e_ob_init_f32(b, "w", 4, (int64_t[]){N, K, 1, 1}, w);
        e2e_ob_init_f32(b, "bias", 1, (int64_t[]){N}, bias);
        e2e_ob_node(b, "Conv", "p", 3, (const char *[]){"x", "w", "bias"}, 1, &pre);
    } else if (!strcmp(prod, "Add")) {
        e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){ROWS, K});
        e2e_ob_init_f32(b, "bias", 1, (int64_t[]){K}, bias);
        e2e_ob_node(b, "Add", "p", 2, (const char *[]){"x", "bias"}, 1, &pre);
    } else {
        e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){ROWS, K});
        e2e_ob_init_f32(b, "w", 2, (int64_t[]){K, N}, w);
        if (!strcmp(prod, "Gemm")) {
            e2e_ob_init_f32(b, "bias", 1, (int64_t[]){N}, bias);
            e2e_ob_node(b, "Gemm", "p", 3, (const char *[]){"x", "w", "bias"}, 1, &pre);
        } else {
            e2e_ob_node(b, "MatMul", "p", 2, (const char *[]){"x", "w"}, 1, &pre);
        }
    }
    return with_act(b, act, "fused_act.onnx");
}

/* The activation alone on [n] */
static e2e_model *act_alone(const char *act, int64_t n)
{
    e2e_ob *b = e2e_ob_new(17, "act");
    e2e_ob_input(b, "h", E2E_FLOAT, 1, (int64_t[]){n});
    return with_act(b, act, "act.onnx");
}

static float *run_copy(e2e_session *s, const float *x, int rank, const int64_t *dims, int64_t *n)
{
    e2e_error err;
    e2e_tensor_view in = e2e_tensor_view_f32("x", (float *)x, rank, dims);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("run: %s", err.message);
    return oh_output_copy(s, n);
}

static void test_fused_equals_plain(void **state)
{
    (void)state;
    float x[ROWS * K];
    uint64_t r = 17;
    oh_fill_random(x, ROWS * K, -1.f, 1.f, &r);
    x[3] = NAN;
    x[K + 5] = INFINITY;
    x[2 * K + 1] = -INFINITY;
    const e2e_isa_level levels[3] = {E2E_ISA_AVX512, E2E_ISA_AVX2, E2E_ISA_GENERIC};
    int checked = 0;
    for (size_t p = 0; p < sizeof producers / sizeof producers[0]; p++) {
        const bool conv = !strcmp(producers[p], "Conv");
        const int64_t cdims[4] = {1, K, ROWS, 1}, mdims[2] = {ROWS, K};
        const int rank = conv ? 4 : 2;
        const int64_t *dims = conv ? cdims : mdims;
        e2e_model *alone = build(producers[p], NULL);
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
            e2e_model *fused = build(producers[p], acts[a]);
            for (int l = 0; l < 3; l++) {
                if (levels[l] > e2e_cpu_isa())
                    continue;
                for (int threads = 1; threads <= 2; threads++) {
                    e2e_session *sf = oh_session_open_isa(fused, 1, levels[l], threads);
                    e2e_session *sp = oh_session_open_isa(alone, 1, levels[l], threads);
                    if (e2e_session_isa(sf) != levels[l]) { /* capped by E2E_ISA */
                        e2e_session_free(sf);
                        e2e_session_free(sp);
                        continue;
                    }
                    /* the activation went into the producer */
                    assert_int_equal(oh_count_op(sf, acts[a]), 0);
                    int64_t nf = 0, np = 0, nh = 0;
                    float *yf = run_copy(sf, x, rank, dims, &nf);
                    float *h = run_copy(sp, x, rank, dims, &np);
                    assert_int_equal(nf, np);
                    e2e_model *am = act_alone(acts[a], np);
                    e2e_session *sa = oh_session_open_isa(am, 0, E2E_ISA_GENERIC, 1);
                    e2e_tensor_view hv = e2e_tensor_view_f32("h", h, 1, (int64_t[]){np});
                    e2e_error err;
                    if (e2e_session_run(sa, &hv, 1, &err))
                        fail_msg("run: %s", err.message);
                    float *yp = oh_output_copy(sa, &nh);
                    assert_int_equal(nh, nf);
                    int nonfinite = 0, small = 0;
                    for (int64_t i = 0; i < nf; i++) {
                        if (memcmp(&yf[i], &yp[i], sizeof(float)))
                            fail_msg("%s + %s, %s, %d thread(s): y[%lld] fused %a, plain %a "
                                     "(pre-activation %a)", producers[p], acts[a],
                                     e2e_isa_name(levels[l]), threads, (long long)i,
                                     (double)yf[i], (double)yp[i], (double)h[i]);
                        nonfinite += !isfinite(h[i]);
                        small += h[i] < -20.f;
                    }
                    /* the inputs reach the cases the test is about */
                    assert_true(nonfinite > 0);
                    assert_true(small > 0);
                    checked++;
                    free(yf);
                    free(h);
                    free(yp);
                    e2e_session_free(sa);
                    e2e_model_free(am);
                    e2e_session_free(sf);
                    e2e_session_free(sp);
                }
            }
            e2e_model_free(fused);
        }
        e2e_model_free(alone);
    }
    assert_true(checked >= 12); /* at least the generic level, every pair */
    printf("fused activations: %d configurations bit for bit equal to the plain kernels\n",
           checked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_equals_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
