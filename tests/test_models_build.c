/* The ONNX builder (src/onnx/onnx_build.c) and the benchmark models (src/models/): what is
   built loads back as written, the 20 default models (and the full ParticleNet) have the
   declared shapes and the parameter counts of their architectures, and they run with a
   dynamic batch; graph models ignore what padded nodes hold. */
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
#include <unistd.h>

#include "e2e.h"
#include "models/models.h"
#include "onnx/onnx_build.h"
#include "core/ir.h"

#include "op_harness.h"

/* ---- builder ---- */

static const e2e_attr *attr(const e2e_model *m, const char *node, const char *name)
{
    for (int i = 0; i < m->graph.n_nodes; i++)
        if (!strcmp(m->graph.nodes[i].name, node))
            return e2e_node_attr(&m->graph.nodes[i], name);
    return NULL;
}

/* x[N,3] -> Gemm(w, b, transB, alpha) -> Reshape(0, -1) -> + Constant 1 -> y; the Reshape gets
   attributes of every list/string kind when `extra` is set (checked through protobuf-c only,
   since no operator defines them). */
static e2e_ob *roundtrip_model(int extra)
{
    static const float w[6] = {1, 2, 3, 4, 5, 6}, bias[2] = {0.5f, -0.5f};
    e2e_ob *b = e2e_ob_new(13, "roundtrip");
    assert_non_null(b);
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){-1, 3});
    e2e_ob_init_f32(b, "w", 2, (int64_t[]){2, 3}, w);
    e2e_ob_init_f32(b, "b", 1, (int64_t[]){2}, bias);
    e2e_ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){0, -1});
    Onnx__NodeProto *n = e2e_ob_node(b, "Gemm", "gemm", 3, (const char *[]){"x", "w", "b"}, 1,
                                     (const char *[]){"h"});
    e2e_ob_attr_int(b, n, "transB", 1);
    e2e_ob_attr_float(b, n, "alpha", 0.25f);
    n = e2e_ob_node(b, "Reshape", NULL, 2, (const char *[]){"h", "shape"}, 1,
                    (const char *[]){"r"});
    if (extra) {
        e2e_ob_attr_ints(b, n, "some_ints", 3, (int64_t[]){7, -8, 9});
        e2e_ob_attr_floats(b, n, "some_floats", 2, (float[]){1.5f, -2.5f});
        e2e_ob_attr_string(b, n, "some_string", "hello");
    }
    float one = 1.0f;
    n = e2e_ob_node(b, "Constant", "c", 0, NULL, 1, (const char *[]){"one"});
    e2e_ob_attr_tensor(b, n, "value", e2e_ob_tensor(b, NULL, E2E_FLOAT, 0, NULL, &one, 4));
    e2e_ob_node(b, "Add", "add", 2, (const char *[]){"r", "one"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, 2, (int64_t[]){-1, 2});
    assert_int_equal(e2e_ob_parameter_count(b), 8);
    return b;
}

static void test_builder_protobuf(void **state)
{
    e2e_ob *b = roundtrip_model(1);
    uint8_t *buf;
    size_t size;
    e2e_error err;
    assert_int_equal(e2e_ob_pack(b, &buf, &size, &err), E2E_OK);
    assert_int_equal(size, e2e_ob_packed_size(b));
    e2e_ob_free(b);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, buf);
    free(buf);
    assert_non_null(m);
    assert_int_equal(m->ir_version, 8);
    assert_string_equal(m->producer_name, "e2e");
    assert_int_equal(m->n_opset_import, 1);
    assert_string_equal(m->opset_import[0]->domain, "");
    assert_int_equal(m->opset_import[0]->version, 13);
    Onnx__GraphProto *g = m->graph;
    assert_string_equal(g->name, "roundtrip");
    assert_int_equal(g->n_node, 4);
    assert_int_equal(g->n_initializer, 3);
    assert_int_equal(g->initializer[2]->data_type, E2E_INT64);
    assert_int_equal(g->initializer[0]->raw_data.len, 24);
    Onnx__TensorShapeProto *sp = g->input[0]->type->tensor_type->shape;
    assert_int_equal(sp->n_dim, 2);
    assert_string_equal(sp->dim[0]->dim_param, "batch");
    assert_int_equal(sp->dim[1]->dim_value, 3);
    Onnx__NodeProto *n = g->node[1];
    assert_string_equal(n->name, "Reshape_1");
    assert_int_equal(n->n_input, 2);
    assert_string_equal(n->input[1], "shape");
    assert_int_equal(n->n_attribute, 3);
    assert_int_equal(n->attribute[0]->type, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    assert_int_equal(n->attribute[0]->n_ints, 3);
    assert_int_equal(n->attribute[0]->ints[1], -8);
    assert_int_equal(n->attribute[1]->n_floats, 2);
    assert_true(n->attribute[1]->floats[1] == -2.5f);
    assert_int_equal(n->attribute[2]->s.len, 5);
    assert_memory_equal(n->attribute[2]->s.data, "hello", 5);
    n = g->node[0];
    assert_string_equal(n->attribute[0]->name, "transB");
    assert_int_equal(n->attribute[0]->i, 1);
    assert_true(n->attribute[1]->f == 0.25f);
    n = g->node[2];
    assert_int_equal(n->n_input, 0);
    assert_int_equal(n->attribute[0]->type, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    assert_int_equal(n->attribute[0]->t->n_dims, 0);
    onnx__model_proto__free_unpacked(m, NULL);

    /* many nodes and attributes: the repeated fields grow */
    b = e2e_ob_new(17, "many");
    for (int i = 0; i < 1000; i++) {
        char in[16], out[16];
        snprintf(in, sizeof in, "v%d", i);
        snprintf(out, sizeof out, "v%d", i + 1);
        n = e2e_ob_node(b, "Relu", NULL, 1, (const char *[]){in}, 1, (const char *[]){out});
        for (int k = 0; k < 5; k++)
            e2e_ob_attr_int(b, n, "k", k);
    }
    assert_int_equal(e2e_ob_pack(b, &buf, &size, &err), E2E_OK);
    e2e_ob_free(b);
    m = onnx__model_proto__unpack(NULL, size, buf);
    free(buf);
    assert_non_null(m);
    assert_int_equal(m->graph->n_node, 1000);
    assert_string_equal(m->graph->node[999]->output[0], "v1000");
    assert_int_equal(m->graph->node[999]->attribute[4]->i, 4);
    onnx__model_proto__free_unpacked(m, NULL);
}

static void test_builder_load(void **state)
{
    e2e_ob *b = roundtrip_model(0);
    e2e_error err;
    e2e_model *m = oh_model_pack(b, "roundtrip.onnx");
    e2e_ob_free(b);
    assert_int_equal(e2e_model_opset(m), 13);
    assert_int_equal(m->ir_version, 8);
    assert_string_equal(m->producer, "e2e");
    assert_int_equal(e2e_model_parameter_count(m), 8);
    e2e_tensor_view v;
    assert_int_equal(e2e_model_input(m, 0, &v), E2E_OK);
    assert_string_equal(v.name, "x");
    assert_int_equal(v.rank, 2);
    assert_int_equal(v.dims[0], -1);
    assert_int_equal(v.dims[1], 3);
    const e2e_attr *a = attr(m, "gemm", "alpha");
    assert_non_null(a);
    assert_int_equal(a->type, E2E_ATTR_FLOAT);
    assert_true(a->f == 0.25f);
    /* y = 0.25 * x wT + b + 1 */
    e2e_session_options o = e2e_session_options_default();
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    float x[3] = {1, -1, 2};
    int64_t dims[2] = {1, 3};
    e2e_tensor_view in = e2e_tensor_view_f32("x", x, 2, dims);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("%s", err.message);
    e2e_tensor_view out;
    assert_int_equal(e2e_session_output(s, 0, &out), E2E_OK);
    const float *y = out.data;
    assert_float_equal(y[0], 0.25f * (1 - 2 + 6) + 0.5f + 1, 1e-6);
    assert_float_equal(y[1], 0.25f * (4 - 5 + 12) - 0.5f + 1, 1e-6);
    e2e_session_free(s);
    e2e_model_free(m);
}

static void test_builder_file(void **state)
{
    char dir[] = "/tmp/e2e_ob_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/relu.onnx", dir);
    e2e_ob *b = e2e_ob_new(17, "relu");
    e2e_ob_dim_param(b, "N");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){-1, 4});
    e2e_ob_node(b, "Relu", NULL, 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_error err;
    assert_int_equal(e2e_ob_write_file(b, path, &err), E2E_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, e2e_ob_packed_size(b));
    e2e_ob_free(b);
    e2e_model *m = NULL;
    if (e2e_model_load_file(path, &m, &err))
        fail_msg("%s", err.message);
    assert_int_equal(e2e_model_opset(m), 17);
    e2e_model_free(m);
    /* an unwritable path is an I/O error naming the file */
    b = e2e_ob_new(17, "x");
    assert_int_equal(e2e_ob_write_file(b, "/nonexistent/dir/m.onnx", &err), E2E_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/dir/m.onnx"));
    e2e_ob_free(b);
    unlink(path);
    rmdir(dir);
}

/* ---- model configurations ---- */

/* Parameter counts written out from the architectures (models/README.md), independently of
   e2e_model_config_params. */
static int64_t simplenet_params(int64_t c, int64_t h, int64_t w)
{
    int64_t conv1 = 16 * c * 3 * 3 + 16, conv2 = 32 * 16 * 3 * 3 + 32;
    int64_t flat = 32 * (h / 4) * (w / 4);
    int64_t fc1 = flat * 128 + 128, fc2 = 128 * 64 + 64, fc3 = 64 * 1 + 1;
    return conv1 + conv2 + fc1 + fc2 + fc3;
}

static int64_t vit_params(int64_t c, int64_t h, int64_t w, int64_t p, int64_t e, int64_t depth,
                          int64_t mlp)
{
    int64_t patch = e * c * p * p + e, cls = e, pos = ((h / p) * (w / p) + 1) * e;
    int64_t ln = 2 * e, qkv = e * 3 * e + 3 * e, proj = e * e + e;
    int64_t fc1 = e * mlp + mlp, fc2 = mlp * e + e;
    int64_t block = ln + qkv + proj + ln + fc1 + fc2;
    return patch + cls + pos + depth * block + ln + (e + 1);
}

static void test_params(void **state)
{
    /* the numbers quoted in the docs */
    assert_int_equal(simplenet_params(1, 32, 32), 275393);      /* the public E/Gamma model */
    assert_int_equal(simplenet_params(8, 128, 128), 4208561);   /* flatten 32*32*32 = 32768 */
    for (int i = 0; i < 4; i++) {
        const e2e_tagger_spec *t = &e2e_tagger_specs[i];
        e2e_model_config s = e2e_model_config_for(t, E2E_ARCH_SIMPLENET);
        e2e_model_config v = e2e_model_config_for(t, E2E_ARCH_VIT);
        assert_int_equal(e2e_model_config_params(&s),
                         simplenet_params(t->channels, t->height, t->width));
        assert_int_equal(v.embed, 192);
        assert_int_equal(v.depth, 12);
        assert_int_equal(v.heads, 3);
        assert_int_equal(v.mlp, 768);
        assert_int_equal(v.patch, t->height == 32 ? 4 : 16);
        assert_int_equal(e2e_model_config_params(&v),
                         vit_params(t->channels, t->height, t->width, v.patch, 192, 12, 768));
    }
}

/* Graph models: PyTorch's state_dict sizes (models/torch/gnn.py, running statistics
   included, num_batches_tracked left out), per tagger eg, qg, top, tau. */
static void test_graph_params(void **state)
{
    static const int64_t want[4][4] = {
        /* pnet, dgcnn, part, pnet_full */
        {47461, 71681, 154677, 574661},
        {47861, 72193, 154933, 575445},
        {48161, 72577, 155125, 576033},
        {48161, 72577, 155125, 576033},
    };
    static const e2e_arch archs[4] = {E2E_ARCH_PNET, E2E_ARCH_DGCNN, E2E_ARCH_PART,
                                      E2E_ARCH_PNET_FULL};
    for (int i = 0; i < 4; i++)
        for (int a = 0; a < 4; a++) {
            e2e_model_config c = e2e_model_config_for(&e2e_tagger_specs[i], archs[a]);
            assert_int_equal(c.points, i == 0 ? 64 : 128);
            assert_int_equal(e2e_model_config_params(&c), want[i][a]);
        }
    e2e_model_config c = e2e_model_config_for(&e2e_tagger_specs[2], E2E_ARCH_PNET);
    assert_int_equal(c.k, 7);
    assert_int_equal(c.edge[0][2], 32);
    assert_int_equal(c.edge[1][2], 64);
    assert_int_equal(c.edge[2][0], 0);
    assert_int_equal(c.fc, 128);
    c = e2e_model_config_for(&e2e_tagger_specs[2], E2E_ARCH_PNET_FULL);
    assert_int_equal(c.k, 16);
    assert_int_equal(c.edge[2][0], 256);
    assert_int_equal(c.fc, 256);
    for (int a = 0; a < E2E_ARCH_COUNT; a++)
        assert_int_equal(e2e_arch_find(e2e_arch_name((e2e_arch)a)), a);
    assert_int_equal(e2e_arch_find("gnn"), -1);
}

static void test_config_errors(void **state)
{
    e2e_error err;
    e2e_model_config c = {.arch = E2E_ARCH_VIT, .channels = 3, .height = 30, .width = 30,
                              .patch = 4, .embed = 32, .depth = 2, .heads = 2, .mlp = 64,
                              .name = NULL};
    uint8_t *buf = (uint8_t *)1;
    size_t size = 1;
    assert_int_equal(e2e_model_build_buffer(&c, 1, &buf, &size, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "patch 4"));
    assert_null(buf);
    c.height = c.width = 32;
    c.heads = 3;
    assert_int_equal(e2e_model_build_buffer(&c, 1, &buf, &size, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "heads"));
    e2e_model_config s = {.arch = E2E_ARCH_SIMPLENET, .channels = 1, .height = 2, .width = 2,
                              .patch = 0, .embed = 0, .depth = 0, .heads = 0, .mlp = 0,
                              .name = NULL};
    assert_int_equal(e2e_model_build_buffer(&s, 1, &buf, &size, &err), E2E_ERR_ARGUMENT);
    assert_int_equal(e2e_model_write("/tmp", "xx", E2E_ARCH_VIT, 1, &err), E2E_ERR_ARGUMENT);

    /* graph models */
    e2e_model_config gc = e2e_model_config_for(&e2e_tagger_specs[0], E2E_ARCH_PNET);
    gc.points = 7; /* k = 7 neighbours besides the node need 8 points */
    assert_int_equal(e2e_model_build_buffer(&gc, 1, &buf, &size, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "k = 7"));
    gc = e2e_model_config_for(&e2e_tagger_specs[0], E2E_ARCH_DGCNN);
    gc.points = 7; /* DGCNN counts the node itself: 7 points are enough */
    assert_int_equal(e2e_model_config_check(&gc, &err), E2E_OK);
    gc.edge[1][0] = 0;
    assert_int_equal(e2e_model_build_buffer(&gc, 1, &buf, &size, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "EdgeConv blocks"));
    gc = e2e_model_config_for(&e2e_tagger_specs[0], E2E_ARCH_PART);
    gc.heads = 5;
    assert_int_equal(e2e_model_build_buffer(&gc, 1, &buf, &size, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "heads"));
    gc = e2e_model_config_for(&e2e_tagger_specs[0], E2E_ARCH_PART);
    gc.points = 0;
    assert_int_equal(e2e_model_build_buffer(&gc, 1, &buf, &size, &err), E2E_ERR_ARGUMENT);
    gc.arch = (e2e_arch)99;
    assert_int_equal(e2e_model_build_buffer(&gc, 1, &buf, &size, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "unknown architecture"));
}

static void test_deterministic(void **state)
{
    e2e_model_config c = {.arch = E2E_ARCH_VIT, .channels = 2, .height = 16, .width = 16,
                              .patch = 4, .embed = 32, .depth = 2, .heads = 2, .mlp = 64,
                              .name = "small_vit"};
    uint8_t *a, *b, *d;
    size_t na, nb, nd;
    e2e_error err;
    assert_int_equal(e2e_model_build_buffer(&c, 42, &a, &na, &err), E2E_OK);
    assert_int_equal(e2e_model_build_buffer(&c, 42, &b, &nb, &err), E2E_OK);
    assert_int_equal(e2e_model_build_buffer(&c, 43, &d, &nd, &err), E2E_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    assert_true(na != nd || memcmp(a, d, na) != 0);
    free(a);
    free(b);
    free(d);
}

/* ---- the eight models ---- */

static void check_weights(const e2e_model *m, const char *what)
{
    /* PyTorch-default-like ranges: no weight beyond 1 (the largest bound is 1/sqrt(9) for conv1
       with one channel, biases of the 64->1 layer 1/8); LayerNorm weights exactly 1. */
    for (int i = 0; i < m->graph.n_inits; i++) {
        const e2e_tensor *t = &m->graph.inits[i];
        if (t->dtype != E2E_FLOAT)
            continue;
        int64_t n = e2e_shape_numel(&t->shape);
        const float *v = t->data;
        float mx = 0;
        for (int64_t k = 0; k < n; k++)
            mx = fmaxf(mx, fabsf(v[k]));
        if (!(mx <= 1.0f))
            fail_msg("%s: %s: |w| up to %g", what, t->name, mx);
        if (strstr(t->name, "norm") && strstr(t->name, ".weight"))
            assert_true(v[0] == 1.0f && v[n - 1] == 1.0f);
    }
}

static void run_model(const e2e_model *m, const e2e_tagger_spec *t, const char *what)
{
    e2e_error err;
    e2e_session_options o = e2e_session_options_default();
    o.default_batch = 2;
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s: %s", what, err.message);
    int64_t per = (int64_t)t->channels * t->height * t->width;
    float *x = malloc(sizeof(float) * (size_t)per * 2);
    uint64_t r = 12345;
    for (int64_t i = 0; i < 2 * per; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (r >> 40) % 7 == 0 ? (float)((r >> 20) & 0xffff) / 4096.0f : 0.0f;
    }
    int64_t dims[4] = {2, t->channels, t->height, t->width};
    e2e_tensor_view in = e2e_tensor_view_f32("modelInput", x, 4, dims);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("%s: %s", what, err.message);
    e2e_tensor_view out;
    assert_int_equal(e2e_session_output(s, 0, &out), E2E_OK);
    assert_int_equal(out.rank, 2);
    assert_int_equal(out.dims[0], 2);
    assert_int_equal(out.dims[1], 1);
    float y[2];
    memcpy(y, out.data, sizeof y);
    for (int i = 0; i < 2; i++)
        if (!(y[i] > 0.0f && y[i] < 1.0f))
            fail_msg("%s: output %d = %g, not in (0, 1)", what, i, y[i]);
    /* the dynamic batch: frame 1 alone gives the same score */
    int64_t d1[4] = {1, t->channels, t->height, t->width};
    e2e_shape_binding b1 = {"modelInput", 4, d1};
    if (e2e_session_reshape(s, &b1, 1, &err))
        fail_msg("%s: reshape to batch 1: %s", what, err.message);
    in = e2e_tensor_view_f32("modelInput", x + per, 4, d1);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("%s: batch 1: %s", what, err.message);
    assert_int_equal(e2e_session_output(s, 0, &out), E2E_OK);
    assert_int_equal(out.dims[0], 1);
    float y1 = ((const float *)out.data)[0];
    if (fabsf(y1 - y[1]) > 1e-5f)
        fail_msg("%s: frame 1 gives %.7g in a batch of 2, %.7g alone", what, y[1], y1);
    e2e_session_free(s);
    free(x);
}

/* Graph inputs for n graphs of P nodes and C channels: graph 0 has 3P/4 real nodes, graph 1
   none, graph 2 four (fewer than k + 1), graph 3 and up P - 1; padded nodes hold `pad`. */
typedef struct graph_batch {
    float *points, *features, *mask, *seed;
} graph_batch;

static graph_batch graph_batch_make(int64_t n, int64_t c, int64_t p, float pad)
{
    graph_batch g = {calloc((size_t)(n * 2 * p), 4), calloc((size_t)(n * c * p), 4),
                     calloc((size_t)(n * p), 4), calloc((size_t)(n * 3), 4)};
    uint64_t r = 777;
#define RND() (r = r * 6364136223846793005ull + 1442695040888963407ull, (float)((r >> 40) & 0xffff) / 65536.0f)
    for (int64_t b = 0; b < n; b++) {
        int64_t real = b == 0 ? 3 * p / 4 : b == 1 ? 0 : b == 2 ? 4 : p - 1;
        for (int64_t j = 0; j < p; j++) {
            int on = j < real;
            g.mask[b * p + j] = (float)on;
            for (int d = 0; d < 2; d++)
                g.points[(b * 2 + d) * p + j] = on ? 0.8f * RND() - 0.4f : pad;
            for (int64_t ch = 0; ch < c; ch++)
                g.features[(b * c + ch) * p + j] = on ? (ch ? 2 * RND() - 1 : 30 * RND()) : pad;
        }
        g.seed[b * 3] = 35 + 500 * RND();
        g.seed[b * 3 + 1] = 4.8f * RND() - 2.4f;
        g.seed[b * 3 + 2] = 6.2f * RND() - 3.1f;
    }
#undef RND
    return g;
}

static void graph_batch_free(graph_batch *g)
{
    free(g->points);
    free(g->features);
    free(g->mask);
    free(g->seed);
}

/* Runs graphs [first, first + n) of `gb` (which holds `total` graphs); n_in: 3 or 4 (seed). */
static void graph_run(e2e_session *s, const graph_batch *gb, int64_t first, int64_t n, int64_t c,
                      int64_t p, int n_in, float *y, const char *what)
{
    e2e_error err;
    int64_t dp[3] = {n, 2, p}, df[3] = {n, c, p}, dm[3] = {n, 1, p}, ds[2] = {n, 3};
    e2e_shape_binding sb[4] = {{"points", 3, dp}, {"features", 3, df}, {"mask", 3, dm},
                               {"seed", 2, ds}};
    if (e2e_session_reshape(s, sb, n_in, &err))
        fail_msg("%s: reshape to %lld graphs: %s", what, (long long)n, err.message);
    e2e_tensor_view in[4] = {
        e2e_tensor_view_f32("points", gb->points + first * 2 * p, 3, dp),
        e2e_tensor_view_f32("features", gb->features + first * c * p, 3, df),
        e2e_tensor_view_f32("mask", gb->mask + first * p, 3, dm),
        e2e_tensor_view_f32("seed", gb->seed + first * 3, 2, ds),
    };
    if (e2e_session_run(s, in, n_in, &err))
        fail_msg("%s: %s", what, err.message);
    e2e_tensor_view out;
    assert_int_equal(e2e_session_output(s, 0, &out), E2E_OK);
    assert_int_equal(out.rank, 2);
    assert_int_equal(out.dims[0], n);
    assert_int_equal(out.dims[1], 1);
    memcpy(y, out.data, sizeof(float) * (size_t)n);
}

/* A graph model: inputs and output declared as documented; scores in (0, 1); what padded
   nodes hold does not matter; a graph alone scores as in a batch. */
static void run_graph_model(const e2e_model *m, int64_t c, int64_t p, const char *what)
{
    int n_in = e2e_model_input_count(m);
    assert_true(n_in == 3 || n_in == 4);
    static const char *const names[4] = {"points", "features", "mask", "seed"};
    const int64_t widths[4] = {2, c, 1, 3};
    for (int i = 0; i < n_in; i++) {
        e2e_tensor_view v;
        assert_int_equal(e2e_model_input(m, i, &v), E2E_OK);
        assert_string_equal(v.name, names[i]);
        assert_int_equal(v.rank, i == 3 ? 2 : 3);
        assert_int_equal(v.dims[0], -1);
        assert_int_equal(v.dims[1], widths[i]);
        if (i < 3)
            assert_int_equal(v.dims[2], p);
    }
    e2e_tensor_view v;
    assert_int_equal(e2e_model_output(m, 0, &v), E2E_OK);
    assert_string_equal(v.name, "modelOutput");
    e2e_error err;
    e2e_session_options o = e2e_session_options_default();
    o.default_batch = 4;
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s: %s", what, err.message);
    enum { N = 4 };
    graph_batch a = graph_batch_make(N, c, p, 0.0f), b = graph_batch_make(N, c, p, 3.5f);
    float ya[N], yb[N], y1;
    graph_run(s, &a, 0, N, c, p, n_in, ya, what);
    graph_run(s, &b, 0, N, c, p, n_in, yb, what);
    for (int i = 0; i < N; i++) {
        if (!(ya[i] > 0.0f && ya[i] < 1.0f))
            fail_msg("%s: output %d = %g, not in (0, 1)", what, i, ya[i]);
        if (ya[i] != yb[i])
            fail_msg("%s: graph %d scores %.8g with padding 0, %.8g with padding 3.5", what, i,
                     ya[i], yb[i]);
    }
    if (ya[0] == ya[3])
        fail_msg("%s: graphs 0 and 3 score the same (%g)", what, ya[0]);
    for (int64_t g = 0; g < N; g++) {
        graph_run(s, &b, g, 1, c, p, n_in, &y1, what);
        if (fabsf(y1 - ya[g]) > 1e-5f)
            fail_msg("%s: graph %lld gives %.7g in a batch of %d, %.7g alone", what, (long long)g,
                     ya[g], N, y1);
    }
    graph_batch_free(&a);
    graph_batch_free(&b);
    e2e_session_free(s);
}

/* Small graph models of each architecture, built in memory. */
static void test_graph_models_small(void **state)
{
    static const e2e_arch archs[3] = {E2E_ARCH_PNET, E2E_ARCH_DGCNN, E2E_ARCH_PART};
    static const int64_t want[3] = {6421, 1169, 4887}; /* gnn.py's state_dict sizes */
    for (int a = 0; a < 3; a++) {
        e2e_model_config c = {.arch = archs[a], .channels = 3, .embed = 16, .depth = 2,
                              .heads = 2, .mlp = 32, .name = "small", .points = 16, .k = 4,
                              .edge = {{8, 8}, {archs[a] == E2E_ARCH_DGCNN ? 12 : 16}},
                              .fc = 16, .pair = 4};
        assert_int_equal(e2e_model_config_params(&c), want[a]);
        e2e_model *m = oh_model_build(&c, 5, "small.onnx");
        assert_int_equal(e2e_model_parameter_count(m), want[a]);
        check_weights(m, e2e_arch_name(archs[a]));
        run_graph_model(m, 3, 16, e2e_arch_name(archs[a]));
        e2e_model_free(m);
    }
}

/* The full-size ParticleNet of the top tagger (k 16, 64/128/256, P 128) loads and runs. */
static void test_pnet_full(void **state)
{
    e2e_model_config c = e2e_model_config_for(&e2e_tagger_specs[2], E2E_ARCH_PNET_FULL);
    c.name = "top_pnet_full";
    e2e_model *m = oh_model_build(&c, E2E_MODELS_DEFAULT_SEED, "top_pnet_full.onnx");
    assert_int_equal(e2e_model_parameter_count(m), 576033);
    run_graph_model(m, 8, 128, "top_pnet_full");
    e2e_model_free(m);
}

static void test_eight_models(void **state)
{
    char dir[] = "/tmp/e2e_models_XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    e2e_error err;
    if (e2e_models_write_all(dir, E2E_MODELS_DEFAULT_SEED, 0, &err))
        fail_msg("%s", err.message);
    /* only_missing keeps an existing file and writes a missing one */
    snprintf(path, sizeof path, "%s/eg_vit.onnx", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputc('x', f);
    fclose(f);
    snprintf(path, sizeof path, "%s/qg_vit.onnx", dir);
    unlink(path);
    assert_int_equal(e2e_models_write_all(dir, E2E_MODELS_DEFAULT_SEED, 1, &err), E2E_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/eg_vit.onnx", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 1);
    assert_int_equal(e2e_model_write(dir, "eg", E2E_ARCH_VIT, E2E_MODELS_DEFAULT_SEED, &err), E2E_OK);
    for (int i = 0; i < 4; i++)
        for (int a = 0; a < E2E_ARCH_COUNT; a++) {
            const e2e_tagger_spec *t = &e2e_tagger_specs[i];
            snprintf(path, sizeof path, "%s/%s_%s.onnx", dir, t->name, e2e_arch_name((e2e_arch)a));
            e2e_model *m = NULL;
            if (a >= E2E_ARCH_DEFAULT_COUNT) { /* pnet_full: only on request */
                struct stat sst;
                assert_int_equal(stat(path, &sst), -1);
                continue;
            }
            if (e2e_model_load_file(path, &m, &err))
                fail_msg("%s", err.message);
            assert_int_equal(e2e_model_opset(m), 17);
            if (e2e_arch_is_graph((e2e_arch)a)) {
                e2e_model_config c = e2e_model_config_for(t, (e2e_arch)a);
                assert_int_equal(e2e_model_parameter_count(m), e2e_model_config_params(&c));
                check_weights(m, path);
                run_graph_model(m, t->channels, c.points, path);
                e2e_model_free(m);
                unlink(path);
                continue;
            }
            assert_int_equal(e2e_model_input_count(m), 1);
            assert_int_equal(e2e_model_output_count(m), 1);
            e2e_tensor_view v;
            assert_int_equal(e2e_model_input(m, 0, &v), E2E_OK);
            assert_string_equal(v.name, "modelInput");
            assert_int_equal(v.rank, 4);
            assert_int_equal(v.dims[0], -1);
            assert_int_equal(v.dims[1], t->channels);
            assert_int_equal(v.dims[2], t->height);
            assert_int_equal(v.dims[3], t->width);
            assert_int_equal(e2e_model_output(m, 0, &v), E2E_OK);
            assert_string_equal(v.name, "modelOutput");
            assert_int_equal(v.rank, 2);
            assert_int_equal(v.dims[0], -1);
            assert_int_equal(v.dims[1], 1);
            int64_t want = a ? vit_params(t->channels, t->height, t->width, t->height == 32 ? 4 : 16,
                                          192, 12, 768)
                             : simplenet_params(t->channels, t->height, t->width);
            assert_int_equal(e2e_model_parameter_count(m), want);
            check_weights(m, path);
            run_model(m, t, path);
            e2e_model_free(m);
            unlink(path);
        }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_protobuf),
        cmocka_unit_test(test_builder_load),
        cmocka_unit_test(test_builder_file),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_graph_params),
        cmocka_unit_test(test_graph_models_small),
        cmocka_unit_test(test_pnet_full),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_eight_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
