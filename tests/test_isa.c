/* The instruction-set levels (docs/instruction-sets.md): what the CPU table reports, and the
   session option e2e_session_options.isa choosing the kernels of a level. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e2e.h"
#include "op_harness.h"

static void test_levels(void **state)
{
    (void)state;
    const e2e_isa_level cpu = e2e_cpu_isa(), def = e2e_isa_default();
    assert_true(cpu >= E2E_ISA_GENERIC && cpu <= E2E_ISA_AVX512);
    assert_true(def >= E2E_ISA_GENERIC && def <= cpu);
#if !defined(__x86_64__) && !defined(__i386__)
    assert_int_equal(cpu, E2E_ISA_GENERIC);
#endif
    assert_string_equal(e2e_isa_name(E2E_ISA_GENERIC), "generic");
    assert_string_equal(e2e_isa_name(E2E_ISA_AVX2), "avx2");
    assert_string_equal(e2e_isa_name(E2E_ISA_AVX512), "avx512");
    assert_string_equal(e2e_isa_name(E2E_ISA_AUTO), "auto");
    const char *env = getenv("E2E_ISA");
    if (env && !strcmp(env, "generic"))
        assert_int_equal(def, E2E_ISA_GENERIC);
    if (env && !strcmp(env, "avx2"))
        assert_int_equal(def, cpu < E2E_ISA_AVX2 ? cpu : E2E_ISA_AVX2);
}

/* Runs `model` (one input, one float output) on x at level isa; returns the output (malloc'ed)
   and the level the session reports. */
static float *run_at(const e2e_model *m, e2e_isa_level isa, const float *x, const int64_t *dims,
                     int64_t *ny, e2e_isa_level *used)
{
    e2e_error err;
    e2e_session_options o = e2e_session_options_default();
    o.isa = isa;
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    *used = e2e_session_isa(s);
    e2e_tensor_view in = e2e_tensor_view_f32(NULL, (float *)x, 4, dims);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("%s", err.message);
    float *y = oh_output_copy(s, ny);
    e2e_session_free(s);
    return y;
}

/* Every level up to the default one gives results within float rounding of the others; a
   session asking for a level reports it (or the default one, if lower); E2E_ISA_AUTO is the
   default level, bit for bit. On the SimpleNet (Conv, ConvMaxPool, Gemm) and the ViT (packed
   GEMM, attention, LayerNorm, GELU) fixtures, batch 4. */
static void test_session_option(void **state)
{
    (void)state;
    const char *models[] = {"tests/fixtures/models/simplenet_op17_static/model.onnx",
                            "tests/fixtures/models/vit_op17_static/model.onnx"};
    uint64_t rng = 99;
    for (int mi = 0; mi < 2; mi++) {
        e2e_model *m = NULL;
        e2e_error err;
        if (e2e_model_load_file(models[mi], &m, &err))
            fail_msg("%s", err.message);
        e2e_tensor_view decl;
        assert_int_equal(e2e_model_input(m, 0, &decl), E2E_OK);
        assert_int_equal(decl.rank, 4);
        int64_t dims[4], n = 1;
        for (int i = 0; i < 4; i++)
            n *= dims[i] = decl.dims[i] > 0 ? decl.dims[i] : 4;
        float *x = malloc(sizeof(float) * (size_t)n);
        assert_non_null(x);
        oh_fill_random(x, n, 0.f, 1.f, &rng);
        int64_t ny = 0, ny2 = 0;
        e2e_isa_level used;
        float *ref = run_at(m, E2E_ISA_AUTO, x, dims, &ny, &used);
        assert_int_equal(used, e2e_isa_default());
        for (int isa = E2E_ISA_GENERIC; isa <= E2E_ISA_AVX512; isa++) {
            float *y = run_at(m, (e2e_isa_level)isa, x, dims, &ny2, &used);
            const e2e_isa_level want = isa < (int)e2e_isa_default() ? (e2e_isa_level)isa : e2e_isa_default();
            assert_int_equal(used, want);
            assert_int_equal(ny2, ny);
            double r = oh_max_err_ratio(y, ref, ny, 1e-4, 1e-5);
            if (r > 1.0)
                fail_msg("%s at %s: error ratio %g against the default level", models[mi],
                         e2e_isa_name(want), r);
            if (want == e2e_isa_default())
                assert_memory_equal(y, ref, sizeof(float) * (size_t)ny);
            free(y);
        }
        free(ref);
        free(x);
        e2e_model_free(m);
    }
}

/* Two sessions of one model alive together (so their arenas, workspaces and per-session
   packed weights lie at different addresses), at each level, with the second input copied to
   an address 4 bytes off the first: the outputs are the same bits ("same input, same thread
   count, same output bits"). On the trained E/Gamma SimpleNet and the SimpleNet and ViT
   fixtures, batch 4, one and two threads. */
static void test_two_sessions(void **state)
{
    (void)state;
    const char *models[] = {"models/trained/eg.onnx",
                            "tests/fixtures/models/simplenet_op17_static/model.onnx",
                            "tests/fixtures/models/vit_op17_static/model.onnx"};
    uint64_t rng = 7;
    for (int mi = 0; mi < 3; mi++) {
        e2e_model *m = NULL;
        e2e_error err;
        if (e2e_model_load_file(models[mi], &m, &err))
            fail_msg("%s", err.message);
        e2e_tensor_view decl;
        assert_int_equal(e2e_model_input(m, 0, &decl), E2E_OK);
        assert_int_equal(decl.rank, 4);
        int64_t dims[4], n = 1;
        for (int i = 0; i < 4; i++)
            n *= dims[i] = decl.dims[i] > 0 ? decl.dims[i] : 4;
        float *x = malloc(sizeof(float) * (size_t)(n + 1));
        assert_non_null(x);
        oh_fill_random(x, n, 0.f, 1.f, &rng);
        float *x2 = malloc(sizeof(float) * (size_t)(n + 1));
        assert_non_null(x2);
        memcpy(x2 + 1, x, sizeof(float) * (size_t)n);
        for (int isa = E2E_ISA_GENERIC; isa <= (int)e2e_isa_default(); isa++)
            for (int threads = 1; threads <= 2; threads++) {
                e2e_session_options o = e2e_session_options_default();
                o.isa = (e2e_isa_level)isa;
                o.threads = threads;
                o.shapes = &(e2e_shape_binding){decl.name, 4, dims};
                o.n_shapes = 1;
                e2e_session *s[2] = {NULL, NULL};
                for (int i = 0; i < 2; i++) {
                    if (e2e_session_create(m, &o, &s[i], &err))
                        fail_msg("%s", err.message);
                    assert_int_equal(e2e_session_isa(s[i]), isa);
                }
                e2e_tensor_view in[2] = {e2e_tensor_view_f32(NULL, x, 4, dims),
                                         e2e_tensor_view_f32(NULL, x2 + 1, 4, dims)},
                                out[2];
                for (int i = 0; i < 2; i++) {
                    if (e2e_session_run(s[i], &in[i], 1, &err))
                        fail_msg("%s", err.message);
                    assert_int_equal(e2e_session_output(s[i], 0, &out[i]), E2E_OK);
                }
                const int64_t ny = e2e_tensor_view_numel(&out[0]);
                assert_int_equal(e2e_tensor_view_numel(&out[1]), ny);
                if (memcmp(out[0].data, out[1].data, sizeof(float) * (size_t)ny))
                    fail_msg("%s at %s, %d thread(s): two sessions' outputs differ", models[mi],
                             e2e_isa_name((e2e_isa_level)isa), threads);
                e2e_session_free(s[0]);
                e2e_session_free(s[1]);
            }
        free(x2);
        free(x);
        e2e_model_free(m);
    }
}

/* A level that is not an e2e_isa_level is refused with a message naming it, not clamped (an
   options struct without the field, e.g. an out-of-date binding, would otherwise pick a level
   from whatever bytes follow it: the Python binding did, until it learnt the field). */
static void test_bad_level(void **state)
{
    (void)state;
    e2e_model *m = NULL;
    e2e_error err;
    if (e2e_model_load_file("tests/fixtures/models/simplenet_op17_static/model.onnx", &m, &err))
        fail_msg("%s", err.message);
    const int bad[] = {-1, 4, 0x7f7f7f7f};
    for (int i = 0; i < 3; i++) {
        e2e_session_options o = e2e_session_options_default();
        o.isa = (e2e_isa_level)bad[i];
        e2e_session *s = NULL;
        assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_ERR_ARGUMENT);
        assert_null(s);
        assert_non_null(strstr(err.message, "isa"));
    }
    e2e_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_session_option),
        cmocka_unit_test(test_two_sessions),
        cmocka_unit_test(test_bad_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
