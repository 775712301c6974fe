/* The CUDA backend. Built in every configuration:
   - everywhere: asking for device cuda without a usable GPU (or in a CPU-only build) fails
     with E2E_ERR_DEVICE and says why; device auto falls back to the CPU and says so;
   - with a GPU (make CUDA=1 on a machine that has one): the trained E/Gamma SimpleNet, the
     PyTorch-exported fixtures and a small C-built ViT run on CUDA and on the CPU and must agree
     (docs/gpu.md gives the tolerances); an operator without a CUDA kernel is refused by name.
   Without a GPU those tests print "skipped: no CUDA device (<reason>)" and are skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"
#include "model_craft.h"
#include "models/models.h"
#include "onnx/tensor_proto.h"

#define EG_DIR "../shared/models/eg_simplenet_trained"
#define FIXTURES "tests/fixtures/models"

static char cuda_why[256];
static int cuda_count = -1;

/* 1 when a GPU is usable; else prints the skip line (once) and returns 0. */
static int have_gpu(void)
{
    static int said;
    if (cuda_count < 0)
        cuda_count = e2e_cuda_device_count(cuda_why, sizeof cuda_why);
    if (cuda_count > 0)
        return 1;
    if (!said) {
        printf("skipped: no CUDA device (%s)\n", cuda_why);
        fflush(stdout);
        said = 1;
    }
    return 0;
}

#define NEED_GPU()                                                                                 \
    do {                                                                                           \
        if (!have_gpu()) {                                                                         \
            skip();                                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* The public E/Gamma SimpleNet architecture with seeded weights, in memory. */
static e2e_model *small_model(e2e_arch arch)
{
    e2e_model_config c;
    if (arch == E2E_ARCH_SIMPLENET) {
        c = e2e_model_config_for(e2e_tagger_find("eg"), E2E_ARCH_SIMPLENET);
    } else {
        memset(&c, 0, sizeof c);
        c.arch = E2E_ARCH_VIT;
        c.channels = 2;
        c.height = c.width = 16;
        c.patch = 4;
        c.embed = 48;
        c.depth = 2;
        c.heads = 3;
        c.mlp = 96;
        c.name = "cuda_test_vit";
    }
    uint8_t *buf = NULL;
    size_t size = 0;
    e2e_error err;
    e2e_status st = e2e_model_build_buffer(&c, 7, &buf, &size, &err);
    assert_int_equal(st, E2E_OK);
    e2e_model *m = NULL;
    st = e2e_model_load_buffer(buf, size, arch == E2E_ARCH_VIT ? "cuda_test_vit" : "cuda_test_simplenet",
                               &m, &err);
    free(buf);
    if (st)
        fail_msg("%s", err.message);
    return m;
}

static uint64_t rng = 12345;
static float frand(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(rng >> 40) / 16777216.0f;
}

/* Creates a session on dev bound to in's shape, runs it, copies output 0 into *out. */
static e2e_status run_on(const e2e_model *m, e2e_device dev, const e2e_tensor_view *in, float **out,
                         int64_t *n, e2e_error *err)
{
    e2e_shape_binding b = {in->name, in->rank, in->dims};
    e2e_session_options o = e2e_session_options_default();
    o.device = dev;
    o.shapes = &b;
    o.n_shapes = 1;
    e2e_session *s = NULL;
    e2e_status st = e2e_session_create(m, &o, &s, err);
    if (st)
        return st;
    assert_int_equal(e2e_session_device(s), dev);
    /* twice: the second run must not depend on leftovers of the first */
    if (!(st = e2e_session_run(s, in, 1, err)))
        st = e2e_session_run(s, in, 1, err);
    if (!st) {
        e2e_tensor_view v;
        assert_int_equal(e2e_session_output(s, 0, &v), E2E_OK);
        assert_int_equal(v.dtype, E2E_FLOAT);
        *n = e2e_tensor_view_numel(&v);
        *out = malloc(sizeof(float) * (size_t)(*n > 0 ? *n : 1));
        assert_non_null(*out);
        memcpy(*out, v.data, sizeof(float) * (size_t)*n);
    }
    e2e_session_free(s);
    return st;
}

/* Every |a - b| <= atol + rtol * |ref|; prints the largest difference. */
static void assert_close(const char *what, const float *ref, const float *got, int64_t n, double rtol,
                         double atol)
{
    double worst = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)ref[i] - (double)got[i]);
        if (isnan(ref[i]) != isnan(got[i]))
            d = INFINITY;
        if (d > worst || at < 0) {
            worst = d;
            at = i;
        }
        if (!(d <= atol + rtol * fabs(ref[i])))
            fail_msg("%s: element %lld: reference %.9g, got %.9g (|diff| %.3g > %.3g + %.3g * |ref|)", what,
                     (long long)i, ref[i], got[i], d, atol, rtol);
    }
    printf("  %s: %lld values, max |diff| %.3g\n", what, (long long)n, worst);
}

/* ---------------------------------------------------------------- everywhere */

static void test_device_selection(void **state)
{
    (void)state;
    char why[256] = "";
    int count = e2e_cuda_device_count(why, sizeof why);
    assert_true(count >= 0);
    e2e_model *m = small_model(E2E_ARCH_SIMPLENET);
    int64_t dims[4] = {2, 1, 32, 32};
    float *x = malloc(sizeof(float) * 2 * 32 * 32);
    assert_non_null(x);
    for (int i = 0; i < 2 * 32 * 32; i++)
        x[i] = frand();
    e2e_tensor_view in = e2e_tensor_view_f32("modelInput", x, 4, dims);
    e2e_shape_binding b = {"modelInput", 4, dims};
    e2e_session_options o = e2e_session_options_default();
    o.shapes = &b;
    o.n_shapes = 1;
    e2e_error err;
    e2e_session *s = NULL;

    o.device = E2E_DEVICE_CUDA;
    e2e_status st = e2e_session_create(m, &o, &s, &err);
    if (count == 0) {
        assert_int_equal(st, E2E_ERR_DEVICE);
        assert_null(s);
        assert_int_equal(err.status, E2E_ERR_DEVICE);
        assert_non_null(strstr(err.message, "cuda"));
        assert_true(why[0] != 0);
        assert_non_null(strstr(err.message, why)); /* the reason is passed on */
    } else {
        if (st)
            fail_msg("%s", err.message);
        assert_int_equal(e2e_session_device(s), E2E_DEVICE_CUDA);
        assert_string_equal(e2e_session_device_note(s), "");
        e2e_session_free(s);
        s = NULL;
    }

    float *ref = NULL, *got = NULL;
    int64_t n1 = 0, n2 = 0;
    assert_int_equal(run_on(m, E2E_DEVICE_CPU, &in, &ref, &n1, &err), E2E_OK);
    o.device = E2E_DEVICE_AUTO;
    st = e2e_session_create(m, &o, &s, &err);
    if (st)
        fail_msg("%s", err.message);
    if (count == 0) {
        assert_int_equal(e2e_session_device(s), E2E_DEVICE_CPU);
        const char *note = e2e_session_device_note(s);
        assert_non_null(strstr(note, "running on the CPU"));
        assert_non_null(strstr(note, why));
        printf("  %s\n", note);
    } else {
        assert_int_equal(e2e_session_device(s), E2E_DEVICE_CUDA);
    }
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    e2e_tensor_view v;
    assert_int_equal(e2e_session_output(s, 0, &v), E2E_OK);
    n2 = e2e_tensor_view_numel(&v);
    assert_int_equal(n1, n2);
    got = v.data;
    if (count == 0)
        assert_memory_equal(ref, got, sizeof(float) * (size_t)n1); /* the same CPU code */
    else
        assert_close("auto vs cpu", ref, got, n1, 1e-4, 1e-5);
    e2e_session_free(s);
    free(ref);
    free(x);
    e2e_model_free(m);
}

/* ---------------------------------------------------------------- with a GPU */

static void test_cuda_trained_simplenet(void **state)
{
    (void)state;
    NEED_GPU();
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
    for (int set = 0; set < 3; set++) {
        char pin[512], pout[512], what[64];
        snprintf(pin, sizeof pin, EG_DIR "/test_data_set_%d/input_0.pb", set);
        snprintf(pout, sizeof pout, EG_DIR "/test_data_set_%d/output_0.pb", set);
        e2e_tensor x = {0}, y = {0};
        if (e2e_tensor_read_pb(pin, &x, &err) || e2e_tensor_read_pb(pout, &y, &err))
            fail_msg("%s", err.message);
        e2e_tensor_view in = e2e_tensor_view_f32("modelInput", x.data, x.shape.rank, x.shape.dims);
        float *cpu = NULL, *gpu = NULL;
        int64_t nc = 0, ng = 0;
        if (run_on(m, E2E_DEVICE_CPU, &in, &cpu, &nc, &err) || run_on(m, E2E_DEVICE_CUDA, &in, &gpu, &ng, &err))
            fail_msg("%s", err.message);
        assert_int_equal(nc, ng);
        assert_int_equal(ng, e2e_shape_numel(&y.shape));
        snprintf(what, sizeof what, "set %d: cuda vs ONNX Runtime", set);
        assert_close(what, y.data, gpu, ng, 1e-4, 1e-5);
        snprintf(what, sizeof what, "set %d: cuda vs cpu", set);
        assert_close(what, cpu, gpu, ng, 1e-4, 1e-5);
        free(cpu);
        free(gpu);
        e2e_tensor_clear(&x);
        e2e_tensor_clear(&y);
    }
    e2e_model_free(m);
}

static void test_cuda_fixtures(void **state)
{
    (void)state;
    NEED_GPU();
    DIR *d = opendir(FIXTURES);
    if (!d) {
        printf("skipped: %s not found\n", FIXTURES);
        skip();
        return;
    }
    struct dirent *e;
    int cases = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024], pin[1024];
        struct stat st;
        snprintf(path, sizeof path, FIXTURES "/%s/model.onnx", e->d_name);
        snprintf(pin, sizeof pin, FIXTURES "/%s/test_data_set_0/input_0.pb", e->d_name);
        if (stat(path, &st) || stat(pin, &st))
            continue;
        e2e_error err;
        e2e_model *m = NULL;
        e2e_tensor x = {0};
        if (e2e_model_load_file(path, &m, &err) || e2e_tensor_read_pb(pin, &x, &err))
            fail_msg("%s", err.message);
        e2e_tensor_view decl;
        assert_int_equal(e2e_model_input(m, 0, &decl), E2E_OK);
        e2e_tensor_view in = e2e_tensor_view_f32(decl.name, x.data, x.shape.rank, x.shape.dims);
        float *cpu = NULL, *gpu = NULL;
        int64_t nc = 0, ng = 0;
        if (run_on(m, E2E_DEVICE_CPU, &in, &cpu, &nc, &err) || run_on(m, E2E_DEVICE_CUDA, &in, &gpu, &ng, &err))
            fail_msg("%s: %s", e->d_name, err.message);
        assert_int_equal(nc, ng);
        /* docs/gpu.md: SimpleNet within 1e-4/1e-5, transformer blocks within 1e-3/1e-4 */
        const int cnn = !strncmp(e->d_name, "simplenet", 9);
        assert_close(e->d_name, cpu, gpu, ng, cnn ? 1e-4 : 1e-3, cnn ? 1e-5 : 1e-4);
        free(cpu);
        free(gpu);
        e2e_tensor_clear(&x);
        e2e_model_free(m);
        cases++;
    }
    closedir(d);
    assert_true(cases > 0);
}

static void test_cuda_vit_and_reshape(void **state)
{
    (void)state;
    NEED_GPU();
    e2e_model *m = small_model(E2E_ARCH_VIT);
    int64_t dims[4] = {3, 2, 16, 16};
    const int64_t n = 3 * 2 * 16 * 16;
    float *x = malloc(sizeof(float) * (size_t)n);
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = frand() < 0.8f ? 0.f : 10.f * frand();
    e2e_tensor_view in = e2e_tensor_view_f32("modelInput", x, 4, dims);
    e2e_error err;
    float *cpu = NULL, *gpu = NULL;
    int64_t nc = 0, ng = 0;
    if (run_on(m, E2E_DEVICE_CPU, &in, &cpu, &nc, &err) || run_on(m, E2E_DEVICE_CUDA, &in, &gpu, &ng, &err))
        fail_msg("%s", err.message);
    assert_int_equal(nc, ng);
    assert_close("vit: cuda vs cpu", cpu, gpu, ng, 1e-3, 1e-4);
    free(gpu);

    /* a CUDA session rebound from batch 1 to batch 3 gives the same answer */
    int64_t d1[4] = {1, 2, 16, 16};
    e2e_shape_binding b = {"modelInput", 4, d1};
    e2e_session_options o = e2e_session_options_default();
    o.device = E2E_DEVICE_CUDA;
    o.shapes = &b;
    o.n_shapes = 1;
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    e2e_tensor_view one = e2e_tensor_view_f32("modelInput", x, 4, d1);
    assert_int_equal(e2e_session_run(s, &one, 1, &err), E2E_OK);
    e2e_shape_binding b3 = {"modelInput", 4, dims};
    if (e2e_session_reshape(s, &b3, 1, &err))
        fail_msg("%s", err.message);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("%s", err.message);
    e2e_tensor_view v;
    assert_int_equal(e2e_session_output(s, 0, &v), E2E_OK);
    assert_int_equal(e2e_tensor_view_numel(&v), nc);
    assert_close("vit after reshape: cuda vs cpu", cpu, v.data, nc, 1e-3, 1e-4);
    e2e_session_free(s);
    free(cpu);
    free(x);
    e2e_model_free(m);
}

/* An operator without a CUDA kernel (Pad) is refused by name at session creation. */
static void test_cuda_unsupported_op(void **state)
{
    (void)state;
    NEED_GPU();
    mc_model mm;
    mc_init(&mm, 13);
    int64_t dims[4] = {1, 3, 4, 4}, pdims[1] = {8};
    const int64_t pads[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    mc_input(&mm, "x", 4, dims);
    mc_output(&mm, "y");
    Onnx__TensorProto *t = mc_init_raw(&mm, "pads", 1, pdims, pads, sizeof pads);
    t->data_type = 7; /* int64 */
    const char *in[] = {"x", "pads", NULL}, *out[] = {"y", NULL};
    mc_node(&mm, "Pad", in, out);
    uint8_t *buf = NULL;
    size_t size = mc_pack(&mm, &buf);
    e2e_error err;
    e2e_model *m = NULL;
    if (e2e_model_load_buffer(buf, size, "pad.onnx", &m, &err))
        fail_msg("%s", err.message);
    e2e_session_options o = e2e_session_options_default();
    e2e_session *s = NULL;
    /* the CPU runs it */
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    e2e_session_free(s);
    s = NULL;
    o.device = E2E_DEVICE_CUDA;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_ERR_UNSUPPORTED);
    assert_null(s);
    printf("  %s\n", err.message);
    assert_non_null(strstr(err.message, "\"Pad_0\" (Pad)"));
    assert_non_null(strstr(err.message, "not implemented on CUDA"));
    e2e_model_free(m);
    free(buf);
    mc_free(&mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_selection),
        cmocka_unit_test(test_cuda_trained_simplenet),
        cmocka_unit_test(test_cuda_fixtures),
        cmocka_unit_test(test_cuda_vit_and_reshape),
        cmocka_unit_test(test_cuda_unsupported_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
