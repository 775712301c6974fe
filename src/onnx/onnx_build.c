/* ONNX writer: every piece is malloc'ed and hangs off the ModelProto, so one
   protobuf_c_message_free_unpacked releases the lot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_build.h"
#include "core/ir.h"

struct e2e_ob {
    Onnx__ModelProto *m;
    Onnx__GraphProto *g;
    char *dim_param;
    int oom;            /* sticky allocation failure */
};

static void *ob_alloc(e2e_ob *b, size_t n)
{
    if (b->oom)
        return NULL;
    void *p = calloc(1, n ? n : 1);
    if (!p)
        b->oom = 1;
    return p;
}

static char *ob_strdup(e2e_ob *b, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *p = ob_alloc(b, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Appends one pointer to a repeated field (grown by doubling at powers of two). */
static int ob_push(e2e_ob *b, void ***arr, size_t *n, void *item)
{
    if (b->oom || !item)
        return -1;
    size_t cnt = *n;
    if (cnt == 0 || (cnt >= 4 && (cnt & (cnt - 1)) == 0)) { /* capacity 4, 8, 16, ... */
        size_t cap = cnt ? cnt * 2 : 4;
        void **na = realloc(*arr, cap * sizeof *na);
        if (!na) {
            b->oom = 1;
            return -1;
        }
        *arr = na;
    }
    (*arr)[cnt] = item;
    *n = cnt + 1;
    return 0;
}
#define PUSH(b, arr, n, item) ob_push((b), (void ***)&(arr), &(n), (item))

e2e_ob *e2e_ob_new(int opset, const char *graph_name)
{
    e2e_ob *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->m = ob_alloc(b, sizeof *b->m);
    b->g = ob_alloc(b, sizeof *b->g);
    if (b->oom) {
        free(b->m);
        free(b->g);
        free(b);
        return NULL;
    }
    onnx__model_proto__init(b->m);
    onnx__graph_proto__init(b->g);
    b->m->graph = b->g;
    b->m->has_ir_version = 1;
    b->m->ir_version = 8;
    b->m->producer_name = ob_strdup(b, "e2e");
    b->m->producer_version = ob_strdup(b, E2E_VERSION);
    b->g->name = ob_strdup(b, graph_name ? graph_name : "e2e");
    b->dim_param = ob_strdup(b, "batch");
    e2e_ob_add_opset(b, "", opset);
    if (b->oom) {
        e2e_ob_free(b);
        return NULL;
    }
    return b;
}

void e2e_ob_free(e2e_ob *b)
{
    if (!b)
        return;
    if (b->m)
        protobuf_c_message_free_unpacked(&b->m->base, NULL);
    free(b->dim_param);
    free(b);
}

Onnx__ModelProto *e2e_ob_proto(e2e_ob *b) { return b->m; }

void e2e_ob_set_ir_version(e2e_ob *b, int64_t v)
{
    b->m->has_ir_version = 1;
    b->m->ir_version = v;
}

void e2e_ob_add_opset(e2e_ob *b, const char *domain, int64_t version)
{
    Onnx__OperatorSetIdProto *o = ob_alloc(b, sizeof *o);
    if (!o)
        return;
    onnx__operator_set_id_proto__init(o);
    o->domain = ob_strdup(b, domain);
    o->has_version = 1;
    o->version = version;
    if (PUSH(b, b->m->opset_import, b->m->n_opset_import, o))
        protobuf_c_message_free_unpacked(&o->base, NULL);
}

void e2e_ob_dim_param(e2e_ob *b, const char *name)
{
    char *s = ob_strdup(b, name);
    if (s) {
        free(b->dim_param);
        b->dim_param = s;
    }
}

static Onnx__ValueInfoProto *value_info(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                        const int64_t *dims)
{
    Onnx__ValueInfoProto *v = ob_alloc(b, sizeof *v);
    Onnx__TypeProto *tp = ob_alloc(b, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ob_alloc(b, sizeof *tt);
    if (b->oom) {
        free(v);
        free(tp);
        free(tt);
        return NULL;
    }
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    v->name = ob_strdup(b, name);
    v->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)t;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sp = ob_alloc(b, sizeof *sp);
        if (sp) {
            onnx__tensor_shape_proto__init(sp);
            tt->shape = sp;
            for (int i = 0; i < rank; i++) {
                Onnx__TensorShapeProto__Dimension *d = ob_alloc(b, sizeof *d);
                if (!d)
                    break;
                onnx__tensor_shape_proto__dimension__init(d);
                if (dims[i] < 0) {
                    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                    d->dim_param = ob_strdup(b, b->dim_param);
                    if (!d->dim_param)
                        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE__NOT_SET;
                } else {
                    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                    d->dim_value = dims[i];
                }
                if (PUSH(b, sp->dim, sp->n_dim, d))
                    protobuf_c_message_free_unpacked(&d->base, NULL);
            }
        }
    }
    return v;
}

static Onnx__ValueInfoProto *add_vi(e2e_ob *b, Onnx__ValueInfoProto ***arr, size_t *n,
                                    Onnx__ValueInfoProto *v)
{
    if (!v)
        return NULL;
    if (ob_push(b, (void ***)arr, n, v)) {
        protobuf_c_message_free_unpacked(&v->base, NULL);
        return NULL;
    }
    return v;
}

Onnx__ValueInfoProto *e2e_ob_input(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                   const int64_t *dims)
{
    return add_vi(b, &b->g->input, &b->g->n_input, value_info(b, name, t, rank, dims));
}

Onnx__ValueInfoProto *e2e_ob_output(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                    const int64_t *dims)
{
    return add_vi(b, &b->g->output, &b->g->n_output, value_info(b, name, t, rank, dims));
}

Onnx__ValueInfoProto *e2e_ob_value_info(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                        const int64_t *dims)
{
    return add_vi(b, &b->g->value_info, &b->g->n_value_info, value_info(b, name, t, rank, dims));
}

Onnx__TensorProto *e2e_ob_tensor(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                 const int64_t *dims, const void *raw, size_t nbytes)
{
    Onnx__TensorProto *tp = ob_alloc(b, sizeof *tp);
    if (!tp)
        return NULL;
    onnx__tensor_proto__init(tp);
    if (name)
        tp->name = ob_strdup(b, name);
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t;
    if (rank > 0) {
        tp->dims = ob_alloc(b, sizeof(int64_t) * (size_t)rank);
        if (tp->dims) {
            memcpy(tp->dims, dims, sizeof(int64_t) * (size_t)rank);
            tp->n_dims = (size_t)rank;
        }
    }
    tp->has_raw_data = 1;
    tp->raw_data.len = nbytes;
    tp->raw_data.data = ob_alloc(b, nbytes);
    if (tp->raw_data.data && nbytes && raw)
        memcpy(tp->raw_data.data, raw, nbytes);
    if (b->oom) {
        protobuf_c_message_free_unpacked(&tp->base, NULL);
        return NULL;
    }
    return tp;
}

static size_t numel_of(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i] > 0 ? (size_t)dims[i] : 0;
    return n;
}

Onnx__TensorProto *e2e_ob_init_raw(e2e_ob *b, const char *name, e2e_dtype t, int rank,
                                   const int64_t *dims, const void *raw, size_t nbytes)
{
    Onnx__TensorProto *tp = e2e_ob_tensor(b, name, t, rank, dims, raw, nbytes);
    if (!tp)
        return NULL;
    if (PUSH(b, b->g->initializer, b->g->n_initializer, tp)) {
        protobuf_c_message_free_unpacked(&tp->base, NULL);
        return NULL;
    }
    return tp;
}

Onnx__TensorProto *e2e_ob_init_f32(e2e_ob *b, const char *name, int rank, const int64_t *dims,
                                   const float *data)
{
    return e2e_ob_init_raw(b, name, E2E_FLOAT, rank, dims, data,
                           numel_of(rank, dims) * sizeof(float));
}

Onnx__TensorProto *e2e_ob_init_i64(e2e_ob *b, const char *name, int rank, const int64_t *dims,
                                   const int64_t *data)
{
    return e2e_ob_init_raw(b, name, E2E_INT64, rank, dims, data,
                           numel_of(rank, dims) * sizeof(int64_t));
}

static char **strv(e2e_ob *b, int n, const char *const *v)
{
    if (n <= 0)
        return NULL;
    char **a = ob_alloc(b, sizeof(char *) * (size_t)n);
    if (!a)
        return NULL;
    for (int i = 0; i < n; i++)
        a[i] = ob_strdup(b, v[i]);
    return a;
}

Onnx__NodeProto *e2e_ob_node(e2e_ob *b, const char *op_type, const char *name, int n_in,
                             const char *const *in, int n_out, const char *const *out)
{
    Onnx__NodeProto *n = ob_alloc(b, sizeof *n);
    if (!n)
        return NULL;
    onnx__node_proto__init(n);
    n->op_type = ob_strdup(b, op_type);
    char auto_name[96];
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "%s_%zu", op_type, b->g->n_node);
        name = auto_name;
    }
    n->name = ob_strdup(b, name);
    n->input = strv(b, n_in, in);
    if (n->input)
        n->n_input = (size_t)n_in;
    n->output = strv(b, n_out, out);
    if (n->output)
        n->n_output = (size_t)n_out;
    if (b->oom || PUSH(b, b->g->node, b->g->n_node, n)) {
        protobuf_c_message_free_unpacked(&n->base, NULL); /* NULL strings are skipped */
        return NULL;
    }
    return n;
}

void e2e_ob_node_domain(e2e_ob *b, Onnx__NodeProto *n, const char *domain)
{
    if (!n)
        return;
    char *d = ob_strdup(b, domain);
    if (d) {
        free(n->domain);
        n->domain = d;
    }
}

static Onnx__AttributeProto *attr_new(e2e_ob *b, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    if (!n)
        return NULL;
    Onnx__AttributeProto *a = ob_alloc(b, sizeof *a);
    if (!a)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = ob_strdup(b, name);
    a->has_type = 1;
    a->type = type;
    if (b->oom || PUSH(b, n->attribute, n->n_attribute, a)) {
        protobuf_c_message_free_unpacked(&a->base, NULL);
        return NULL;
    }
    return a;
}

void e2e_ob_attr_int(e2e_ob *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr_new(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = 1;
        a->i = v;
    }
}

void e2e_ob_attr_float(e2e_ob *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr_new(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = 1;
        a->f = v;
    }
}

void e2e_ob_attr_string(e2e_ob *b, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr_new(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    if (!a)
        return;
    size_t len = strlen(v);
    a->s.data = ob_alloc(b, len);
    if (a->s.data) {
        memcpy(a->s.data, v, len);
        a->s.len = len;
        a->has_s = 1;
    }
}

void e2e_ob_attr_ints(e2e_ob *b, Onnx__NodeProto *n, const char *name, int count,
                      const int64_t *v)
{
    Onnx__AttributeProto *a = attr_new(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (!a || count <= 0)
        return;
    a->ints = ob_alloc(b, sizeof(int64_t) * (size_t)count);
    if (a->ints) {
        memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
        a->n_ints = (size_t)count;
    }
}

void e2e_ob_attr_floats(e2e_ob *b, Onnx__NodeProto *n, const char *name, int count,
                        const float *v)
{
    Onnx__AttributeProto *a = attr_new(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    if (!a || count <= 0)
        return;
    a->floats = ob_alloc(b, sizeof(float) * (size_t)count);
    if (a->floats) {
        memcpy(a->floats, v, sizeof(float) * (size_t)count);
        a->n_floats = (size_t)count;
    }
}

void e2e_ob_attr_tensor(e2e_ob *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    if (!t)
        return;
    Onnx__AttributeProto *a = attr_new(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    if (!a) {
        protobuf_c_message_free_unpacked(&t->base, NULL);
        return;
    }
    a->t = t;
}

void e2e_ob_attr_graph(e2e_ob *b, Onnx__NodeProto *n, const char *name, e2e_ob *body)
{
    if (!body)
        return;
    if (body->oom)
        b->oom = 1;
    Onnx__AttributeProto *a = body->oom ? NULL
                                        : attr_new(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    if (a) {
        a->g = body->g; /* taken over: detached from the body's model before it is freed */
        body->m->graph = NULL;
        body->g = NULL;
    }
    e2e_ob_free(body);
}

size_t e2e_ob_packed_size(e2e_ob *b)
{
    return b->oom ? 0 : protobuf_c_message_get_packed_size(&b->m->base);
}

e2e_status e2e_ob_pack(e2e_ob *b, uint8_t **buf, size_t *size, e2e_error *err)
{
    *buf = NULL;
    *size = 0;
    if (b->oom)
        return e2e_fail(err, E2E_ERR_NOMEM, "model builder: out of memory");
    size_t n = protobuf_c_message_get_packed_size(&b->m->base);
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return e2e_fail(err, E2E_ERR_NOMEM, "model builder: out of memory (%zu bytes)", n);
    size_t w = protobuf_c_message_pack(&b->m->base, p);
    if (w != n) {
        free(p);
        return e2e_fail(err, E2E_ERR_INVALID, "model builder: packed %zu of %zu bytes", w, n);
    }
    *buf = p;
    *size = n;
    return E2E_OK;
}

/* Streams the serialisation into the file through a small buffer. */
typedef struct file_sink {
    ProtobufCBuffer base;
    FILE *f;
    int failed;
} file_sink;

static void file_sink_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    file_sink *s = (file_sink *)buffer;
    if (!s->failed && len && fwrite(data, 1, len, s->f) != len)
        s->failed = 1;
}

e2e_status e2e_ob_write_file(e2e_ob *b, const char *path, e2e_error *err)
{
    if (b->oom)
        return e2e_fail(err, E2E_ERR_NOMEM, "model builder: out of memory");
    FILE *f = fopen(path, "wb");
    if (!f)
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    file_sink s = {{file_sink_append}, f, 0};
    protobuf_c_message_pack_to_buffer(&b->m->base, &s.base);
    int close_failed = fclose(f) != 0;
    if (s.failed || close_failed) {
        remove(path);
        return e2e_fail(err, E2E_ERR_IO, "%s: write failed", path);
    }
    return E2E_OK;
}

int64_t e2e_ob_parameter_count(const e2e_ob *b)
{
    int64_t n = 0;
    for (size_t i = 0; i < b->g->n_initializer; i++) {
        const Onnx__TensorProto *t = b->g->initializer[i];
        if (t->data_type != E2E_FLOAT)
            continue;
        int64_t k = 1;
        for (size_t d = 0; d < t->n_dims; d++)
            k *= t->dims[d];
        n += k;
    }
    return n;
}
