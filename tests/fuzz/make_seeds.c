/* Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/): small ONNX models made
   with the ONNX builder and the model builder, TensorProto .pb files, .npy files, event files
   made with the event writer and the toy generator. `make fuzz-seeds` runs it; the output is
   deterministic and committed. Usage: make_seeds DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"
#include "e2e_frames.h"
#include "models/models.h"
#include "onnx/onnx_build.h"
#include "util/npy.h"

static const char *root;
static int failures;

static void check(e2e_status st, const e2e_error *err, const char *what)
{
    if (st) {
        fprintf(stderr, "make_seeds: %s: %s\n", what, err->message);
        failures++;
    }
}

static void path_of(char *out, size_t n, const char *sub, const char *file)
{
    snprintf(out, n, "%s/%s/%s", root, sub, file);
}

static void write_bytes(const char *sub, const char *file, const void *data, size_t n)
{
    char p[1024];
    path_of(p, sizeof p, sub, file);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "make_seeds: cannot write %s\n", p);
        failures++;
    }
}

/* ---------------------------------------------------------------- models */

static const char *const *L(const char *a, const char *b, const char *c)
{
    static const char *v[3][3];
    static int k;
    k = (k + 1) % 3;
    v[k][0] = a, v[k][1] = b, v[k][2] = c;
    return v[k];
}

static void save_model(e2e_ob *b, const char *file)
{
    char p[1024];
    e2e_error err;
    path_of(p, sizeof p, "model", file);
    check(e2e_ob_write_file(b, p, &err), &err, file);
    e2e_ob_free(b);
}

static float w_at(int i) { return (float)((i * 37) % 17 - 8) / 8.f; }

static void fill(float *w, int n)
{
    for (int i = 0; i < n; i++)
        w[i] = w_at(i);
}

static void models(void)
{
    float w[512];
    fill(w, 512);
    e2e_ob *b;
    Onnx__NodeProto *n;

    /* Relu on a dynamic batch */
    b = e2e_ob_new(13, "relu");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){-1, 4});
    e2e_ob_node(b, "Relu", NULL, 1, L("x", 0, 0), 1, L("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "relu.onnx");

    /* broadcasting binary ops with initializers */
    b = e2e_ob_new(13, "binary");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 4});
    e2e_ob_init_f32(b, "w", 1, (int64_t[]){4}, w);
    e2e_ob_init_f32(b, "s", 0, NULL, w + 5);
    e2e_ob_node(b, "Add", NULL, 2, L("x", "w", 0), 1, L("a", 0, 0));
    e2e_ob_node(b, "Mul", NULL, 2, L("a", "s", 0), 1, L("m", 0, 0));
    e2e_ob_node(b, "Div", NULL, 2, L("m", "w", 0), 1, L("d", 0, 0));
    e2e_ob_node(b, "Sub", NULL, 2, L("d", "x", 0), 1, L("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "binary.onnx");

    /* Conv + Relu + MaxPool, padding and strides */
    b = e2e_ob_new(13, "conv");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){-1, 1, 6, 6});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){2, 1, 3, 3}, w);
    e2e_ob_init_f32(b, "b", 1, (int64_t[]){2}, w + 20);
    n = e2e_ob_node(b, "Conv", NULL, 3, L("x", "w", "b"), 1, L("c", 0, 0));
    e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){3, 3});
    e2e_ob_node(b, "Relu", NULL, 1, L("c", 0, 0), 1, L("r", 0, 0));
    n = e2e_ob_node(b, "MaxPool", NULL, 1, L("r", 0, 0), 1, L("y", 0, 0));
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
    e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){2, 2});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "conv.onnx");

    /* grouped, strided, dilated Conv, AveragePool, GlobalAveragePool */
    b = e2e_ob_new(13, "conv_group");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 4, 7, 7});
    e2e_ob_init_f32(b, "w", 4, (int64_t[]){4, 2, 2, 2}, w);
    n = e2e_ob_node(b, "Conv", NULL, 2, L("x", "w", 0), 1, L("c", 0, 0));
    e2e_ob_attr_int(b, n, "group", 2);
    e2e_ob_attr_ints(b, n, "dilations", 2, (int64_t[]){2, 1});
    e2e_ob_attr_ints(b, n, "strides", 2, (int64_t[]){1, 2});
    e2e_ob_attr_string(b, n, "auto_pad", "SAME_UPPER");
    n = e2e_ob_node(b, "AveragePool", NULL, 1, L("c", 0, 0), 1, L("a", 0, 0));
    e2e_ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){3, 3});
    e2e_ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    e2e_ob_attr_int(b, n, "count_include_pad", 1);
    e2e_ob_node(b, "GlobalAveragePool", NULL, 1, L("a", 0, 0), 1, L("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "conv_group.onnx");

    /* Gemm (transB) + Sigmoid */
    b = e2e_ob_new(13, "gemm");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){-1, 8});
    e2e_ob_init_f32(b, "W", 2, (int64_t[]){4, 8}, w);
    e2e_ob_init_f32(b, "B", 1, (int64_t[]){4}, w + 40);
    n = e2e_ob_node(b, "Gemm", NULL, 3, L("x", "W", "B"), 1, L("g", 0, 0));
    e2e_ob_attr_int(b, n, "transB", 1);
    e2e_ob_attr_float(b, n, "alpha", 0.5f);
    e2e_ob_node(b, "Sigmoid", NULL, 1, L("g", 0, 0), 1, L("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "gemm.onnx");

    /* batched MatMul + Softmax + Transpose */
    b = e2e_ob_new(13, "matmul");
    e2e_ob_input(b, "x", E2E_FLOAT, 3, (int64_t[]){2, 3, 5});
    e2e_ob_init_f32(b, "w", 2, (int64_t[]){5, 4}, w);
    e2e_ob_node(b, "MatMul", NULL, 2, L("x", "w", 0), 1, L("m", 0, 0));
    n = e2e_ob_node(b, "Softmax", NULL, 1, L("m", 0, 0), 1, L("s", 0, 0));
    e2e_ob_attr_int(b, n, "axis", -1);
    n = e2e_ob_node(b, "Transpose", NULL, 1, L("s", 0, 0), 1, L("y", 0, 0));
    e2e_ob_attr_ints(b, n, "perm", 3, (int64_t[]){2, 0, 1});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "matmul.onnx");

    /* the flatten PyTorch exports: Shape, Gather, Unsqueeze, Concat, Reshape */
    b = e2e_ob_new(13, "flatten");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){-1, 2, 3, 3});
    e2e_ob_init_i64(b, "zero", 0, NULL, (int64_t[]){0});
    e2e_ob_init_i64(b, "minus1", 1, (int64_t[]){1}, (int64_t[]){-1});
    e2e_ob_init_i64(b, "ax0", 1, (int64_t[]){1}, (int64_t[]){0});
    e2e_ob_node(b, "Shape", NULL, 1, L("x", 0, 0), 1, L("sh", 0, 0));
    n = e2e_ob_node(b, "Gather", NULL, 2, L("sh", "zero", 0), 1, L("n", 0, 0));
    e2e_ob_attr_int(b, n, "axis", 0);
    e2e_ob_node(b, "Unsqueeze", NULL, 2, L("n", "ax0", 0), 1, L("n1", 0, 0));
    n = e2e_ob_node(b, "Concat", NULL, 2, L("n1", "minus1", 0), 1, L("shape", 0, 0));
    e2e_ob_attr_int(b, n, "axis", 0);
    e2e_ob_node(b, "Reshape", NULL, 2, L("x", "shape", 0), 1, L("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "flatten.onnx");

    /* Concat, Slice, Split, Squeeze/Unsqueeze (opset 13: axes as inputs) */
    b = e2e_ob_new(13, "layout");
    e2e_ob_input(b, "x", E2E_FLOAT, 3, (int64_t[]){1, 4, 6});
    e2e_ob_init_i64(b, "starts", 1, (int64_t[]){1}, (int64_t[]){1});
    e2e_ob_init_i64(b, "ends", 1, (int64_t[]){1}, (int64_t[]){-1});
    e2e_ob_init_i64(b, "axes", 1, (int64_t[]){1}, (int64_t[]){2});
    e2e_ob_init_i64(b, "steps", 1, (int64_t[]){1}, (int64_t[]){2});
    e2e_ob_init_i64(b, "ax0", 1, (int64_t[]){1}, (int64_t[]){0});
    e2e_ob_init_i64(b, "split", 1, (int64_t[]){2}, (int64_t[]){1, 3});
    e2e_ob_node(b, "Slice", NULL, 5, (const char *[]){"x", "starts", "ends", "axes", "steps"}, 1,
                L("sl", 0, 0));
    n = e2e_ob_node(b, "Concat", NULL, 2, L("sl", "sl", 0), 1, L("c", 0, 0));
    e2e_ob_attr_int(b, n, "axis", 2);
    n = e2e_ob_node(b, "Split", NULL, 2, L("c", "split", 0), 2, L("p", "q", 0));
    e2e_ob_attr_int(b, n, "axis", 1);
    e2e_ob_node(b, "Squeeze", NULL, 2, L("q", "ax0", 0), 1, L("sq", 0, 0));
    e2e_ob_node(b, "Unsqueeze", NULL, 2, L("sq", "ax0", 0), 1, L("y", 0, 0));
    e2e_ob_output(b, "p", E2E_FLOAT, -1, NULL);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "layout.onnx");

    /* BatchNormalization, LeakyRelu, Pad, Clip */
    b = e2e_ob_new(13, "norm");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 2, 3, 3});
    e2e_ob_init_f32(b, "scale", 1, (int64_t[]){2}, w);
    e2e_ob_init_f32(b, "bias", 1, (int64_t[]){2}, w + 2);
    e2e_ob_init_f32(b, "mean", 1, (int64_t[]){2}, w + 4);
    e2e_ob_init_f32(b, "var", 1, (int64_t[]){2}, (float[]){0.5f, 2.f});
    e2e_ob_init_i64(b, "pads", 1, (int64_t[]){8}, (int64_t[]){0, 0, 1, 0, 0, 0, 0, 2});
    e2e_ob_init_f32(b, "lo", 0, NULL, (float[]){-0.5f});
    e2e_ob_init_f32(b, "hi", 0, NULL, (float[]){0.5f});
    e2e_ob_node(b, "BatchNormalization", NULL, 5,
                (const char *[]){"x", "scale", "bias", "mean", "var"}, 1, L("bn", 0, 0));
    n = e2e_ob_node(b, "LeakyRelu", NULL, 1, L("bn", 0, 0), 1, L("lr", 0, 0));
    e2e_ob_attr_float(b, n, "alpha", 0.1f);
    n = e2e_ob_node(b, "Pad", NULL, 2, L("lr", "pads", 0), 1, L("pd", 0, 0));
    e2e_ob_attr_string(b, n, "mode", "reflect");
    e2e_ob_node(b, "Clip", NULL, 3, L("pd", "lo", "hi"), 1, L("y", 0, 0));
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "norm.onnx");

    /* constants that fold: Constant, ConstantOfShape, Range, Expand, Tile, ReduceMean */
    b = e2e_ob_new(13, "fold");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){2, 3});
    n = e2e_ob_node(b, "Constant", NULL, 0, NULL, 1, L("shp", 0, 0));
    e2e_ob_attr_tensor(b, n, "value",
                       e2e_ob_tensor(b, "shp", E2E_INT64, 1, (int64_t[]){2},
                                     (int64_t[]){2, 3}, 16));
    n = e2e_ob_node(b, "ConstantOfShape", NULL, 1, L("shp", 0, 0), 1, L("ones", 0, 0));
    e2e_ob_attr_tensor(b, n, "value",
                       e2e_ob_tensor(b, NULL, E2E_FLOAT, 1, (int64_t[]){1}, (float[]){1.f}, 4));
    e2e_ob_init_f32(b, "start", 0, NULL, (float[]){0.f});
    e2e_ob_init_f32(b, "limit", 0, NULL, (float[]){3.f});
    e2e_ob_init_f32(b, "delta", 0, NULL, (float[]){1.f});
    e2e_ob_init_i64(b, "reps", 1, (int64_t[]){2}, (int64_t[]){1, 1});
    e2e_ob_node(b, "Range", NULL, 3, L("start", "limit", "delta"), 1, L("rg", 0, 0));
    e2e_ob_node(b, "Expand", NULL, 2, L("rg", "shp", 0), 1, L("ex", 0, 0));
    e2e_ob_node(b, "Tile", NULL, 2, L("ex", "reps", 0), 1, L("tl", 0, 0));
    e2e_ob_node(b, "Add", NULL, 2, L("tl", "ones", 0), 1, L("k", 0, 0));
    e2e_ob_node(b, "Mul", NULL, 2, L("x", "k", 0), 1, L("mx", 0, 0));
    n = e2e_ob_node(b, "ReduceMean", NULL, 1, L("mx", 0, 0), 1, L("y", 0, 0));
    e2e_ob_attr_ints(b, n, "axes", 1, (int64_t[]){1});
    e2e_ob_attr_int(b, n, "keepdims", 1);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "fold.onnx");

    /* unary chain, Cast, Where, comparison */
    b = e2e_ob_new(13, "unary");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){6});
    e2e_ob_init_f32(b, "z", 0, NULL, (float[]){0.f});
    e2e_ob_node(b, "Tanh", NULL, 1, L("x", 0, 0), 1, L("t", 0, 0));
    e2e_ob_node(b, "Exp", NULL, 1, L("t", 0, 0), 1, L("e", 0, 0));
    e2e_ob_node(b, "Sqrt", NULL, 1, L("e", 0, 0), 1, L("s", 0, 0));
    e2e_ob_node(b, "Erf", NULL, 1, L("s", 0, 0), 1, L("r", 0, 0));
    e2e_ob_node(b, "Greater", NULL, 2, L("x", "z", 0), 1, L("g", 0, 0));
    e2e_ob_node(b, "Where", NULL, 3, L("g", "r", "x"), 1, L("wh", 0, 0));
    n = e2e_ob_node(b, "Cast", NULL, 1, L("wh", 0, 0), 1, L("ci", 0, 0));
    e2e_ob_attr_int(b, n, "to", E2E_INT32);
    n = e2e_ob_node(b, "Cast", NULL, 1, L("ci", 0, 0), 1, L("y", 0, 0));
    e2e_ob_attr_int(b, n, "to", E2E_FLOAT);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "unary.onnx");

    /* Resize (nearest, scales) and LayerNormalization (opset 17) */
    b = e2e_ob_new(17, "resize");
    e2e_ob_input(b, "x", E2E_FLOAT, 4, (int64_t[]){1, 1, 2, 3});
    e2e_ob_init_f32(b, "scales", 1, (int64_t[]){4}, (float[]){1, 1, 2, 1.5f});
    e2e_ob_init_f32(b, "g", 1, (int64_t[]){4}, w);
    e2e_ob_init_f32(b, "bb", 1, (int64_t[]){4}, w + 4);
    n = e2e_ob_node(b, "Resize", NULL, 3, L("x", "", "scales"), 1, L("rz", 0, 0));
    e2e_ob_attr_string(b, n, "mode", "nearest");
    n = e2e_ob_node(b, "LayerNormalization", NULL, 3, L("rz", "g", "bb"), 1, L("y", 0, 0));
    e2e_ob_attr_int(b, n, "axis", -1);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "resize_ln.onnx");

    /* two inputs, one of them int64 indices (Gather at run time) */
    b = e2e_ob_new(13, "gather");
    e2e_ob_input(b, "x", E2E_FLOAT, 2, (int64_t[]){5, 3});
    e2e_ob_input(b, "i", E2E_INT64, 1, (int64_t[]){2});
    n = e2e_ob_node(b, "Gather", NULL, 2, L("x", "i", 0), 1, L("y", 0, 0));
    e2e_ob_attr_int(b, n, "axis", 0);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    save_model(b, "gather.onnx");

    /* a tiny ViT and SimpleNet from the model builder (attention, LayerNorm, Gelu/Erf...) */
    e2e_error err;
    uint8_t *buf;
    size_t size;
    e2e_model_config vit = {.arch = E2E_ARCH_VIT, .channels = 1, .height = 4, .width = 4,
                              .patch = 2, .embed = 4, .depth = 1, .heads = 2, .mlp = 8,
                              .name = "vit_tiny"};
    check(e2e_model_build_buffer(&vit, 7, &buf, &size, &err), &err, "vit");
    if (!failures) {
        write_bytes("model", "vit_tiny.onnx", buf, size);
        free(buf);
    }
}

/* ---------------------------------------------------------------- .pb tensors */

static void pb(const char *file, Onnx__TensorProto *t)
{
    size_t n = onnx__tensor_proto__get_packed_size(t);
    uint8_t *buf = malloc(n + 1);
    onnx__tensor_proto__pack(t, buf);
    write_bytes("tensor_pb", file, buf, n);
    free(buf);
}

static void tensors(void)
{
    float f[6] = {1.5f, -2.f, 0.f, 3.25f, -0.f, 7.f};
    int64_t dims[2] = {2, 3}, d1[1] = {3}, d0[1] = {0};
    Onnx__TensorProto t;

    onnx__tensor_proto__init(&t); /* float, raw_data */
    t.name = "x";
    t.has_data_type = 1, t.data_type = 1;
    t.n_dims = 2, t.dims = dims;
    t.has_raw_data = 1, t.raw_data.len = sizeof f, t.raw_data.data = (uint8_t *)f;
    pb("f32_raw.pb", &t);

    onnx__tensor_proto__init(&t); /* float, float_data */
    t.has_data_type = 1, t.data_type = 1;
    t.n_dims = 1, t.dims = d1;
    t.n_float_data = 3, t.float_data = f;
    pb("f32_typed.pb", &t);

    int64_t i64[3] = {-1, 0, 1LL << 40};
    onnx__tensor_proto__init(&t); /* int64, int64_data */
    t.has_data_type = 1, t.data_type = 7;
    t.n_dims = 1, t.dims = d1;
    t.n_int64_data = 3, t.int64_data = i64;
    pb("i64_typed.pb", &t);

    int32_t i32[3] = {1, 0, 1};
    onnx__tensor_proto__init(&t); /* bool, int32_data */
    t.has_data_type = 1, t.data_type = 9;
    t.n_dims = 1, t.dims = d1;
    t.n_int32_data = 3, t.int32_data = i32;
    pb("bool_typed.pb", &t);

    double d[3] = {0.5, -1e300, 3};
    onnx__tensor_proto__init(&t); /* double, double_data */
    t.has_data_type = 1, t.data_type = 11;
    t.n_dims = 1, t.dims = d1;
    t.n_double_data = 3, t.double_data = d;
    pb("f64_typed.pb", &t);

    onnx__tensor_proto__init(&t); /* double, raw */
    t.has_data_type = 1, t.data_type = 11;
    t.n_dims = 1, t.dims = d1;
    t.has_raw_data = 1, t.raw_data.len = sizeof d, t.raw_data.data = (uint8_t *)d;
    pb("f64_raw.pb", &t);

    uint8_t u8[3] = {0, 255, 7};
    onnx__tensor_proto__init(&t); /* uint8 raw scalar-ish */
    t.has_data_type = 1, t.data_type = 2;
    t.n_dims = 1, t.dims = d1;
    t.has_raw_data = 1, t.raw_data.len = 3, t.raw_data.data = u8;
    pb("u8_raw.pb", &t);

    onnx__tensor_proto__init(&t); /* float scalar */
    t.has_data_type = 1, t.data_type = 1;
    t.has_raw_data = 1, t.raw_data.len = 4, t.raw_data.data = (uint8_t *)f;
    pb("f32_scalar.pb", &t);

    onnx__tensor_proto__init(&t); /* empty */
    t.has_data_type = 1, t.data_type = 1;
    t.n_dims = 1, t.dims = d0;
    t.has_raw_data = 1;
    pb("f32_empty.pb", &t);

    /* external data: refused from a buffer */
    Onnx__StringStringEntryProto kv, *kvs[1] = {&kv};
    onnx__string_string_entry_proto__init(&kv);
    kv.key = "location", kv.value = "w.bin";
    onnx__tensor_proto__init(&t);
    t.has_data_type = 1, t.data_type = 1;
    t.n_dims = 1, t.dims = d1;
    t.has_data_location = 1, t.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t.n_external_data = 1, t.external_data = kvs;
    pb("f32_external.pb", &t);
}

/* ---------------------------------------------------------------- .npy */

static void npy_w(const char *file, e2e_dtype dt, int rank, const int64_t *dims, const void *data)
{
    char p[1024];
    e2e_error err;
    path_of(p, sizeof p, "npy", file);
    check(e2e_npy_write(p, dt, rank, dims, data, &err), &err, file);
}

static void npys(void)
{
    float f[6] = {1.5f, -2.f, 0.f, 3.25f, -0.f, 7.f};
    int64_t i64[3] = {-1, 0, 5};
    int32_t i32[3] = {-1, 0, 5};
    uint8_t u8[3] = {0, 1, 255};
    npy_w("f4_2x3.npy", E2E_FLOAT, 2, (int64_t[]){2, 3}, f);
    npy_w("f4_scalar.npy", E2E_FLOAT, 0, NULL, f);
    npy_w("f4_empty.npy", E2E_FLOAT, 2, (int64_t[]){0, 3}, f);
    npy_w("i8_3.npy", E2E_INT64, 1, (int64_t[]){3}, i64);
    npy_w("i4_3.npy", E2E_INT32, 1, (int64_t[]){3}, i32);
    npy_w("b1_3.npy", E2E_BOOL, 1, (int64_t[]){3}, (uint8_t[]){1, 0, 1});
    npy_w("u1_3.npy", E2E_UINT8, 1, (int64_t[]){3}, u8);
    npy_w("i1_1x1x3.npy", E2E_INT8, 3, (int64_t[]){1, 1, 3}, u8);

    /* float64 (converted on read) and a version-2.0 header, written by hand */
    char hdr[128];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }");
    uint8_t buf[256];
    size_t total = 10 + (size_t)hl + 1, pad = (64 - total % 64) % 64, hlen = (size_t)hl + pad + 1;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)hlen, buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + 10, hdr, (size_t)hl);
    memset(buf + 10 + hl, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    double d[2] = {0.25, -3};
    memcpy(buf + 10 + hlen, d, sizeof d);
    write_bytes("npy", "f8_2.npy", buf, 10 + hlen + sizeof d);

    hl = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }");
    total = 12 + (size_t)hl + 1, pad = (64 - total % 64) % 64, hlen = (size_t)hl + pad + 1;
    memcpy(buf, "\x93NUMPY\x02\x00", 8);
    buf[8] = (uint8_t)hlen, buf[9] = (uint8_t)(hlen >> 8), buf[10] = buf[11] = 0;
    memcpy(buf + 12, hdr, (size_t)hl);
    memset(buf + 12 + hl, ' ', pad);
    buf[12 + hlen - 1] = '\n';
    memcpy(buf + 12 + hlen, f, 8);
    write_bytes("npy", "f4_v2.npy", buf, 12 + hlen + 8);
}

/* ---------------------------------------------------------------- events */

static void hand_event(e2e_event *ev, uint64_t id)
{
    e2e_error err;
    e2e_event_clear(ev);
    e2e_event_set_id(ev, 1, 1, id);
    e2e_eb_hit eb[3] = {{85, 10, 25.f, 0.1f}, {86, 10, 5.f, 0.f}, {0, 359, 0.5f, -1.f}};
    for (int i = 0; i < 3; i++)
        check(e2e_event_add_eb(ev, &eb[i], &err), &err, "eb");
    e2e_ee_hit ee[2] = {{0, 0, 1.f}, {279, 100, 2.f}};
    for (int i = 0; i < 2; i++)
        check(e2e_event_add_ee(ev, &ee[i], &err), &err, "ee");
    e2e_hbhe_hit hb[2] = {{1, 3, 1, 0, 4.f}, {-29, 72, 7, 1, 1.f}};
    for (int i = 0; i < 2; i++)
        check(e2e_event_add_hbhe(ev, &hb[i], &err), &err, "hbhe");
    e2e_track tr = {40.f, 0.1f, 0.2f, 0.01f, 0.02f, 1, E2E_TRACK_HIGH_PURITY, 0, 0};
    tr.row = (uint16_t)e2e_geom_row(tr.eta);
    tr.col = (uint16_t)e2e_geom_col(tr.phi);
    check(e2e_event_add_track(ev, &tr, &err), &err, "track");
    e2e_track far = {1.f, 3.5f, -1.f, 0.f, 0.f, -1, 0, E2E_NO_CELL, E2E_NO_CELL};
    check(e2e_event_add_track(ev, &far, &err), &err, "track");
    e2e_tracker_hit th[3] = {{140, 20, E2E_SUBDET_BPIX, 1, 1, 0},
                             {141, 20, E2E_SUBDET_FPIX, 3, 0, 0},
                             {150, 30, E2E_SUBDET_TEC, 9, 1, 0}};
    for (int i = 0; i < 3; i++)
        check(e2e_event_add_tracker_hit(ev, &th[i], &err), &err, "tracker hit");
    e2e_photon ph = {30.f, 0.f, 0.2f, E2E_TRUTH_PHOTON, 0, 0};
    e2e_crystal xt[2] = {{85, 10}, {86, 10}};
    check(e2e_event_add_photon(ev, &ph, xt, 2, &err), &err, "photon");
    e2e_photon ph2 = {5.f, 2.f, 0.f, E2E_TRUTH_UNKNOWN, 0, 0};
    check(e2e_event_add_photon(ev, &ph2, NULL, 0, &err), &err, "photon");
    e2e_jet j4 = {50.f, 0.3f, 1.f, 10.f, 0, 0, E2E_TRUTH_QUARK};
    int ie, ip;
    e2e_geom_hcal_tower(j4.eta, j4.phi, &ie, &ip);
    j4.tower_ieta = (int8_t)ie, j4.tower_iphi = (uint8_t)ip;
    check(e2e_event_add_jet(ev, E2E_AK4, &j4, &err), &err, "jet");
    e2e_jet j8 = {400.f, -1.f, -2.f, 170.f, 0, 0, E2E_TRUTH_TOP};
    e2e_geom_hcal_tower(j8.eta, j8.phi, &ie, &ip);
    j8.tower_ieta = (int8_t)ie, j8.tower_iphi = (uint8_t)ip;
    check(e2e_event_add_jet(ev, E2E_AK8, &j8, &err), &err, "jet");
}

static void event_file(const char *file, e2e_event *ev, int n_hand, int n_gen)
{
    char p[1024];
    e2e_error err;
    path_of(p, sizeof p, "events", file);
    e2e_event_writer *w;
    check(e2e_event_writer_open(p, &w, &err), &err, file);
    if (!w)
        return;
    for (int i = 0; i < n_hand; i++) {
        hand_event(ev, (uint64_t)i + 1);
        check(e2e_event_writer_write(w, ev, &err), &err, file);
    }
    e2e_gen_options o = e2e_gen_options_default();
    o.pileup = 0;
    o.noise = 0;
    for (int i = 0; i < n_gen; i++) {
        check(e2e_gen_event(&o, (uint64_t)i, ev, &err), &err, "gen");
        check(e2e_event_writer_write(w, ev, &err), &err, file);
    }
    check(e2e_event_writer_close(w, &err), &err, file);
}

static void events(void)
{
    e2e_error err;
    e2e_event *ev;
    check(e2e_event_create(&ev, &err), &err, "event");
    if (!ev)
        return;
    event_file("empty.e2e", ev, 0, 0);
    e2e_event_clear(ev);
    event_file("one_empty_event.e2e", ev, 0, 0);
    {   /* one event with nothing in it */
        char p[1024];
        path_of(p, sizeof p, "events", "one_empty_event.e2e");
        e2e_event_writer *w;
        if (e2e_event_writer_open(p, &w, &err) == E2E_OK) {
            e2e_event_clear(ev);
            e2e_event_set_id(ev, 7, 8, 9);
            check(e2e_event_writer_write(w, ev, &err), &err, "empty event");
            check(e2e_event_writer_close(w, &err), &err, "empty event");
        }
    }
    event_file("hand_2.e2e", ev, 2, 0);
    event_file("toy_1.e2e", ev, 0, 1);
    e2e_event_free(ev);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR (writes DIR/{model,tensor_pb,npy,events}/)\n");
        return 2;
    }
    root = argv[1];
    static const char *const subs[4] = {"model", "tensor_pb", "npy", "events"};
    char p[1024];
    mkdir(root, 0777);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", root, subs[i]);
        if (mkdir(p, 0777) && errno != EEXIST) {
            fprintf(stderr, "make_seeds: cannot create %s\n", p);
            return 1;
        }
    }
    models();
    tensors();
    npys();
    events();
    if (failures)
        fprintf(stderr, "make_seeds: %d failures\n", failures);
    return failures ? 1 : 0;
}
