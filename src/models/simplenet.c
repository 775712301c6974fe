/* SimpleNet, the layout of the public E/Gamma model (reference/e2e-domain.md §4.1):
   Conv3x3(C->16, pad 1) Relu MaxPool2  Conv3x3(16->32, pad 1) Relu MaxPool2  Flatten
   Gemm(->128) Relu  Gemm(128->64) Relu  Gemm(64->1) Sigmoid.
   Initializers carry the PyTorch names conv1/conv2/fc1/fc2/fc3 .weight/.bias in PyTorch's
   layouts (Gemm with transB=1 takes Linear's [out, in] as is). Init: PyTorch's defaults,
   U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases. */
#include <math.h>
#include <stdio.h>

#include "models/model_graph.h"

static const char *conv_relu_pool(mg *g, const char *x, const char *layer, int64_t cin,
                                  int64_t cout)
{
    char w[64], bname[64];
    snprintf(w, sizeof w, "%s.weight", layer);
    snprintf(bname, sizeof bname, "%s.bias", layer);
    double bound = 1.0 / sqrt((double)(cin * 9));
    int64_t wd[4] = {cout, cin, 3, 3}, bd[1] = {cout};
    mg_param_uniform(g, w, 4, wd, bound);
    mg_param_uniform(g, bname, 1, bd, bound);
    const char *y = MG_OP(g, "Conv", layer, x, w, bname);
    e2e_ob_attr_ints(g->b, g->last, "kernel_shape", 2, (int64_t[]){3, 3});
    e2e_ob_attr_ints(g->b, g->last, "pads", 4, (int64_t[]){1, 1, 1, 1});
    e2e_ob_attr_ints(g->b, g->last, "strides", 2, (int64_t[]){1, 1});
    y = MG_OP(g, "Relu", layer, y);
    y = MG_OP(g, "MaxPool", layer, y);
    e2e_ob_attr_ints(g->b, g->last, "kernel_shape", 2, (int64_t[]){2, 2});
    e2e_ob_attr_ints(g->b, g->last, "strides", 2, (int64_t[]){2, 2});
    return y;
}

static const char *linear(mg *g, const char *x, const char *layer, int64_t in, int64_t out)
{
    char w[64], bname[64];
    snprintf(w, sizeof w, "%s.weight", layer);
    snprintf(bname, sizeof bname, "%s.bias", layer);
    double bound = 1.0 / sqrt((double)in);
    int64_t wd[2] = {out, in}, bd[1] = {out};
    mg_param_uniform(g, w, 2, wd, bound);
    mg_param_uniform(g, bname, 1, bd, bound);
    const char *y = MG_OP(g, "Gemm", layer, x, w, bname);
    e2e_ob_attr_float(g->b, g->last, "alpha", 1.0f);
    e2e_ob_attr_float(g->b, g->last, "beta", 1.0f);
    e2e_ob_attr_int(g->b, g->last, "transB", 1);
    return y;
}

void e2e_simplenet_graph(mg *g, const e2e_model_config *c, const char *input, const char *output)
{
    int64_t flat = 32 * (int64_t)(c->height / 4) * (c->width / 4);
    const char *x = conv_relu_pool(g, input, "conv1", c->channels, 16);
    x = conv_relu_pool(g, x, "conv2", 16, 32);
    x = MG_OP(g, "Flatten", "flatten", x);
    e2e_ob_attr_int(g->b, g->last, "axis", 1);
    x = MG_OP(g, "Relu", "fc1", linear(g, x, "fc1", flat, 128));
    x = MG_OP(g, "Relu", "fc2", linear(g, x, "fc2", 128, 64));
    x = linear(g, x, "fc3", 64, 1);
    const char *outs[1] = {output};
    g->last = e2e_ob_node(g->b, "Sigmoid", "sigmoid", 1, &x, 1, outs);
}
