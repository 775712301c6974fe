/* Minimal ONNX writer for tests; everything allocated here is freed by mc_free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_craft.h"

void mc_init(mc_model *mm, int opset)
{
    memset(mm, 0, sizeof *mm);
    onnx__model_proto__init(&mm->m);
    onnx__graph_proto__init(&mm->g);
    onnx__operator_set_id_proto__init(&mm->opset);
    mm->opset.domain = "";
    mm->opset.has_version = 1;
    mm->opset.version = opset;
    mm->opsets[0] = &mm->opset;
    mm->m.has_ir_version = 1;
    mm->m.ir_version = 8;
    mm->m.n_opset_import = 1;
    mm->m.opset_import = mm->opsets;
    mm->m.graph = &mm->g;
    mm->g.name = "craft";
    mm->g.node = mm->nodes;
    mm->g.input = mm->inputs;
    mm->g.output = mm->outputs;
    mm->g.initializer = mm->inits;
}

static Onnx__ValueInfoProto *value_info(const char *name, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = calloc(1, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = strdup(name);
    Onnx__TypeProto *tp = calloc(1, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = calloc(1, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = 1;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sp = calloc(1, sizeof *sp);
        onnx__tensor_shape_proto__init(sp);
        sp->n_dim = (size_t)rank;
        sp->dim = calloc((size_t)rank + 1, sizeof *sp->dim);
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = calloc(1, sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (dims[i] < 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = strdup("batch");
            } else {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            }
            sp->dim[i] = d;
        }
        tt->shape = sp;
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    v->type = tp;
    return v;
}

void mc_input(mc_model *mm, const char *name, int rank, const int64_t *dims)
{
    mm->inputs[mm->g.n_input++] = value_info(name, rank, dims);
}

void mc_output(mc_model *mm, const char *name) { mm->outputs[mm->g.n_output++] = value_info(name, -1, NULL); }

Onnx__NodeProto *mc_node(mc_model *mm, const char *op, const char *const *in, const char *const *out)
{
    Onnx__NodeProto *n = calloc(1, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = strdup(op);
    char name[64];
    snprintf(name, sizeof name, "%s_%zu", op, mm->g.n_node);
    n->name = strdup(name);
    n->input = calloc(5, sizeof(char *));
    n->output = calloc(5, sizeof(char *));
    n->attribute = calloc(8, sizeof(Onnx__AttributeProto *));
    for (; in && in[n->n_input]; n->n_input++)
        n->input[n->n_input] = strdup(in[n->n_input]);
    for (; out && out[n->n_output]; n->n_output++)
        n->output[n->n_output] = strdup(out[n->n_output]);
    mm->nodes[mm->g.n_node++] = n;
    return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name)
{
    Onnx__AttributeProto *a = calloc(1, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = strdup(name);
    a->has_type = 1;
    n->attribute[n->n_attribute++] = a;
    return a;
}

void mc_attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
}

void mc_attr_float(Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(n, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = v;
}

Onnx__TensorProto *mc_init_raw(mc_model *mm, const char *name, int rank, const int64_t *dims,
                               const void *raw, size_t nbytes)
{
    Onnx__TensorProto *t = calloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = strdup(name);
    t->has_data_type = 1;
    t->data_type = 1;
    t->n_dims = (size_t)rank;
    t->dims = calloc((size_t)rank + 1, sizeof(int64_t));
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    if (raw) {
        t->has_raw_data = 1;
        t->raw_data.len = nbytes;
        t->raw_data.data = malloc(nbytes + 1);
        memcpy(t->raw_data.data, raw, nbytes);
    }
    mm->inits[mm->g.n_initializer++] = t;
    return t;
}

size_t mc_pack(mc_model *mm, uint8_t **buf)
{
    size_t n = onnx__model_proto__get_packed_size(&mm->m);
    *buf = malloc(n + 1);
    onnx__model_proto__pack(&mm->m, *buf);
    return n;
}

static void free_vi(Onnx__ValueInfoProto *v)
{
    Onnx__TypeProto__Tensor *tt = v->type->tensor_type;
    if (tt->shape) {
        for (size_t i = 0; i < tt->shape->n_dim; i++) {
            if (tt->shape->dim[i]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
                free(tt->shape->dim[i]->dim_param);
            free(tt->shape->dim[i]);
        }
        free(tt->shape->dim);
        free(tt->shape);
    }
    free(tt);
    free(v->type);
    free(v->name);
    free(v);
}

void mc_free(mc_model *mm)
{
    for (size_t i = 0; i < mm->g.n_node; i++) {
        Onnx__NodeProto *n = mm->nodes[i];
        for (size_t j = 0; j < n->n_input; j++)
            free(n->input[j]);
        for (size_t j = 0; j < n->n_output; j++)
            free(n->output[j]);
        for (size_t j = 0; j < n->n_attribute; j++) {
            free(n->attribute[j]->name);
            free(n->attribute[j]);
        }
        free(n->input);
        free(n->output);
        free(n->attribute);
        free(n->op_type);
        free(n->name);
        free(n);
    }
    for (size_t i = 0; i < mm->g.n_input; i++)
        free_vi(mm->inputs[i]);
    for (size_t i = 0; i < mm->g.n_output; i++)
        free_vi(mm->outputs[i]);
    for (size_t i = 0; i < mm->g.n_initializer; i++) {
        Onnx__TensorProto *t = mm->inits[i];
        for (size_t j = 0; j < t->n_external_data; j++) {
            free(t->external_data[j]->key);
            free(t->external_data[j]->value);
            free(t->external_data[j]);
        }
        free(t->external_data);
        free(t->raw_data.data);
        free(t->dims);
        free(t->name);
        free(t);
    }
}

int mc_write(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(buf, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}
