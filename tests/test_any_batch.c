/* Sessions with any_batch: one session bound at batch B runs every batch b in 1..B,
   without heap allocation, with outputs bit-identical row by row to a session bound at B
   (a sample's result does not depend on the batch it runs in: what lets e2e run gather
   several events' frames into one batch), on a SimpleNet, a ViT and a ParticleNet built
   in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "models/models.h"

#include "op_harness.h"

#define B 5

static int threads = 1; /* of every session, the references' too */
/* of every session; with bf16 the reference is an any_batch session too (a plain session at
   B may take the bf16 dot tiles, which an any_batch one never does: ops_gemm.c) */
static e2e_precision precision = E2E_PRECISION_FP32;

static e2e_model *build(const e2e_model_config *c)
{
    return oh_model_build(c, 7, c->name);
}

static uint64_t rng = 99;
static float frand(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(rng >> 40) / 16777216.0f;
}

typedef struct inputs {
    int n;
    e2e_tensor_view v[8];
    float *data[8];
} inputs;

/* Inputs of batch B from the session's bound shapes (a mask gets 0/1, the rest [-1, 1)). */
static void make_inputs(const e2e_session *s, const e2e_model *m, inputs *in)
{
    in->n = e2e_model_input_count(m);
    assert_true(in->n <= 8);
    for (int i = 0; i < in->n; i++) {
        e2e_session_input(s, i, &in->v[i]);
        assert_int_equal(in->v[i].dims[0], B);
        int64_t n = e2e_tensor_view_numel(&in->v[i]);
        in->data[i] = malloc(sizeof(float) * (size_t)n);
        bool mask = !strcmp(in->v[i].name, "mask");
        for (int64_t j = 0; j < n; j++)
            in->data[i][j] = mask ? (frand() < 0.7f ? 1.f : 0.f) : 2.f * frand() - 1.f;
        in->v[i].data = in->data[i];
    }
}

/* The first b samples of in: same data (dim 0 leads), dim 0 = b. */
static void slice(const inputs *in, int64_t b, e2e_tensor_view *out)
{
    for (int i = 0; i < in->n; i++) {
        out[i] = in->v[i];
        out[i].dims[0] = b;
    }
}

/* Output 0 of a session bound at b on the first b samples (malloc'ed copy). */
static float *reference(const e2e_model *m, const inputs *in, int64_t b, int64_t *numel)
{
    e2e_tensor_view v[8];
    slice(in, b, v);
    e2e_shape_binding bind[8];
    for (int i = 0; i < in->n; i++)
        bind[i] = (e2e_shape_binding){v[i].name, v[i].rank, v[i].dims};
    e2e_session_options o = e2e_session_options_default();
    o.threads = threads;
    o.precision = precision;
    o.any_batch = precision != E2E_PRECISION_FP32;
    o.shapes = bind;
    o.n_shapes = in->n;
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err) || e2e_session_run(s, v, in->n, &err))
        fail_msg("%s", err.message);
    e2e_tensor_view y;
    assert_int_equal(e2e_session_output(s, 0, &y), E2E_OK);
    *numel = e2e_tensor_view_numel(&y);
    float *r = malloc(sizeof(float) * (size_t)*numel);
    memcpy(r, y.data, sizeof(float) * (size_t)*numel);
    e2e_session_free(s);
    return r;
}

static void check_model(const e2e_model_config *c)
{
    e2e_model *m = build(c);
    e2e_session_options o = e2e_session_options_default();
    o.threads = threads;
    o.precision = precision;
    o.default_batch = B;
    o.any_batch = 1;
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    inputs in;
    make_inputs(s, m, &in);
    int64_t ref_n;
    float *ref = reference(m, &in, B, &ref_n); /* its first b rows: batch b's output */
    assert_int_equal(ref_n % B, 0);
    /* every order: large after small and small after large must not see leftovers */
    static const int64_t order[] = {B, 1, 3, 2, B, 4, 1, 5, 2};
    e2e_tensor_view v[8];
    for (int r = 0; r < 2; r++) {
        oh_allocations = 0;
        oh_counting = r; /* the first pass warms the BLAS buffers */
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
            int64_t b = order[i];
            slice(&in, b, v);
            e2e_status st = e2e_session_run(s, v, in.n, &err);
            oh_counting = 0;
            if (st)
                fail_msg("%s: batch %lld: %s", c->name, (long long)b, err.message);
            assert_int_equal(e2e_session_batch(s), b);
            e2e_tensor_view y;
            assert_int_equal(e2e_session_output(s, 0, &y), E2E_OK);
            assert_int_equal(y.dims[0], b);
            assert_int_equal(e2e_tensor_view_numel(&y), ref_n / B * b);
            if (memcmp(y.data, ref, sizeof(float) * (size_t)(ref_n / B * b)))
                fail_msg("%s: batch %lld differs from the first %lld rows of a session bound "
                         "at %d", c->name, (long long)b, (long long)b, B);
            oh_counting = r;
        }
        oh_counting = 0;
#ifndef OH_NO_COUNTING
        assert_int_equal(oh_allocations, 0);
#endif
    }
    /* a batch above B or of 0 is refused, naming the bound shape */
    slice(&in, B + 1, v);
    assert_int_equal(e2e_session_run(s, v, in.n, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "bound"));
    free(ref);
    for (int i = 0; i < in.n; i++)
        free(in.data[i]);
    e2e_session_free(s);
    e2e_model_free(m);
}

static void test_simplenet(void **state)
{
    e2e_model_config c = e2e_model_config_for(e2e_tagger_find("eg"), E2E_ARCH_SIMPLENET);
    c.name = "any_batch_simplenet";
    check_model(&c);
}

/* the plans share the session's thread pool */
static void test_simplenet_two_threads(void **state)
{
    e2e_model_config c = e2e_model_config_for(e2e_tagger_find("qg"), E2E_ARCH_SIMPLENET);
    c.height = c.width = 32;
    c.name = "any_batch_simplenet_t2";
    threads = 2;
    check_model(&c);
    threads = 1;
}

static void test_vit(void **state)
{
    e2e_model_config c = {.arch = E2E_ARCH_VIT, .channels = 2, .height = 16, .width = 16,
                          .patch = 4, .embed = 48, .depth = 2, .heads = 3, .mlp = 96,
                          .name = "any_batch_vit"};
    check_model(&c);
}

/* bfloat16 weights: the Linear layers' method may not depend on the batch either */
static void test_bf16(void **state)
{
    precision = E2E_PRECISION_BF16;
    e2e_model_config c = e2e_model_config_for(e2e_tagger_find("eg"), E2E_ARCH_SIMPLENET);
    c.name = "any_batch_simplenet_bf16";
    check_model(&c);
    e2e_model_config v = {.arch = E2E_ARCH_VIT, .channels = 2, .height = 16, .width = 16,
                          .patch = 4, .embed = 48, .depth = 2, .heads = 3, .mlp = 96,
                          .name = "any_batch_vit_bf16"};
    check_model(&v);
    precision = E2E_PRECISION_FP32;
}

static void test_pnet(void **state)
{
    e2e_model_config c = {.arch = E2E_ARCH_PNET, .channels = 3, .name = "any_batch_pnet",
                          .points = 16, .k = 4, .edge = {{8, 8}, {16}}, .fc = 16};
    check_model(&c);
}

/* Reshape re-plans every batch: bound at 3, batches 1..3 give the first rows of a session
   bound at B, 4 is refused. */
static void test_reshape(void **state)
{
    e2e_model_config c = e2e_model_config_for(e2e_tagger_find("eg"), E2E_ARCH_SIMPLENET);
    c.name = "any_batch_reshape";
    e2e_model *m = build(&c);
    e2e_session_options o = e2e_session_options_default();
    o.default_batch = B;
    o.any_batch = 1;
    e2e_session *s = NULL;
    e2e_error err;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_OK);
    inputs in;
    make_inputs(s, m, &in);
    e2e_tensor_view v[8];
    slice(&in, 3, v);
    e2e_shape_binding bind = {v[0].name, v[0].rank, v[0].dims};
    if (e2e_session_reshape(s, &bind, 1, &err))
        fail_msg("%s", err.message);
    int64_t n;
    float *r = reference(m, &in, B, &n);
    for (int64_t b = 3; b >= 1; b--) {
        slice(&in, b, v);
        assert_int_equal(e2e_session_run(s, v, 1, &err), E2E_OK);
        e2e_tensor_view y;
        e2e_session_output(s, 0, &y);
        assert_int_equal(y.dims[0], b);
        assert_memory_equal(y.data, r, sizeof(float) * (size_t)(n / B * b));
    }
    free(r);
    slice(&in, 4, v);
    assert_int_equal(e2e_session_run(s, v, 1, &err), E2E_ERR_ARGUMENT);
    for (int i = 0; i < in.n; i++)
        free(in.data[i]);
    e2e_session_free(s);
    e2e_model_free(m);
}

/* A session without any_batch still refuses another batch; any_batch with B = 1 is a plain
   session. */
static void test_plain_refuses(void **state)
{
    e2e_model_config c = e2e_model_config_for(e2e_tagger_find("eg"), E2E_ARCH_SIMPLENET);
    c.name = "any_batch_plain";
    e2e_model *m = build(&c);
    e2e_session_options o = e2e_session_options_default();
    o.default_batch = 3;
    e2e_session *s = NULL;
    e2e_error err;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_OK);
    e2e_tensor_view x;
    e2e_session_input(s, 0, &x);
    int64_t n = e2e_tensor_view_numel(&x);
    float *d = calloc((size_t)n, sizeof(float));
    x.data = d;
    x.dims[0] = 2;
    assert_int_equal(e2e_session_run(s, &x, 1, &err), E2E_ERR_ARGUMENT);
    x.dims[0] = 3;
    assert_int_equal(e2e_session_run(s, &x, 1, &err), E2E_OK);
    assert_int_equal(e2e_session_batch(s), 3);
    free(d);
    e2e_session_free(s);
    e2e_model_free(m);
}

/* every test starts at float32 (a failed bf16 test leaves the setting behind) */
static int fp32(void **state)
{
    (void)state;
    precision = E2E_PRECISION_FP32;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_simplenet, fp32),
        cmocka_unit_test_setup(test_simplenet_two_threads, fp32),
        cmocka_unit_test_setup(test_vit, fp32),
        cmocka_unit_test_setup(test_bf16, fp32),
        cmocka_unit_test_setup(test_pnet, fp32),
        cmocka_unit_test_setup(test_reshape, fp32),
        cmocka_unit_test_setup(test_plain_refuses, fp32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
