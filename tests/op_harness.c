/* One-operator models built directly in IR form, run through the public session API. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "op_harness.h"
#include "core/ir.h"
#include "engine/session.h"
#include "models/models.h"
#include "onnx/onnx_build.h"

#define OH_MAX 16

struct oh_node {
    e2e_model model;
    e2e_node node;
    e2e_attr attrs[OH_MAX];
    int n_in;
    int in_ids[OH_MAX], out_ids[OH_MAX];
    e2e_value_decl values[2 * OH_MAX];
    e2e_tensor inits[OH_MAX];
    int inputs[OH_MAX], outputs[OH_MAX];
    e2e_session *session;
};

oh_node *oh_new(const char *op_type, int opset)
{
    oh_node *n = calloc(1, sizeof *n);
    n->model.name = "harness";
    n->model.opset = opset;
    n->node.name = "n0";
    n->node.op_type = (char *)op_type;
    n->node.domain = "";
    n->node.attrs = n->attrs;
    n->node.in = n->in_ids;
    n->node.out = n->out_ids;
    return n;
}

static e2e_attr *new_attr(oh_node *n, const char *name, e2e_attr_type t)
{
    e2e_attr *a = &n->attrs[n->node.n_attrs++];
    a->name = (char *)name;
    a->type = t;
    return a;
}

void oh_attr_int(oh_node *n, const char *name, int64_t v) { new_attr(n, name, E2E_ATTR_INT)->i = v; }
void oh_attr_float(oh_node *n, const char *name, float v) { new_attr(n, name, E2E_ATTR_FLOAT)->f = v; }
void oh_attr_string(oh_node *n, const char *name, const char *v)
{
    new_attr(n, name, E2E_ATTR_STRING)->s = (char *)v;
}

void oh_attr_ints(oh_node *n, const char *name, const int64_t *v, int count)
{
    e2e_attr *a = new_attr(n, name, E2E_ATTR_INTS);
    a->ints = malloc(sizeof(int64_t) * (size_t)(count + 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
    a->n = count;
}

void oh_attr_floats(oh_node *n, const char *name, const float *v, int count)
{
    e2e_attr *a = new_attr(n, name, E2E_ATTR_FLOATS);
    a->floats = malloc(sizeof(float) * (size_t)(count + 1));
    memcpy(a->floats, v, sizeof(float) * (size_t)count);
    a->n = count;
}

static char *value_name(char prefix, int i)
{
    char *s = malloc(16);
    s[0] = prefix;
    s[1] = (char)('0' + i / 10);
    s[2] = (char)('0' + i % 10);
    s[3] = 0;
    return s;
}

void oh_input(oh_node *n, e2e_dtype dt, int rank, const int64_t *dims, const void *data, bool as_const)
{
    int id = n->model.graph.n_values++;
    e2e_value_decl *v = &n->values[id];
    v->name = value_name('x', n->n_in);
    v->dtype = dt;
    v->shape.rank = rank;
    for (int i = 0; i < rank; i++)
        v->shape.dims[i] = dims[i];
    v->initializer = -1;
    if (as_const) {
        e2e_tensor *t = &n->inits[n->model.graph.n_inits];
        t->dtype = dt;
        t->shape = v->shape;
        e2e_tensor_alloc(t, NULL);
        if (t->nbytes)
            memcpy(t->data, data, t->nbytes);
        v->initializer = n->model.graph.n_inits++;
    } else {
        n->inputs[n->model.graph.n_inputs++] = id;
        /* keep the data for the run */
        e2e_tensor *t = &n->inits[OH_MAX - 1 - n->n_in];
        t->dtype = dt;
        t->shape = v->shape;
        e2e_tensor_alloc(t, NULL);
        if (t->nbytes)
            memcpy(t->data, data, t->nbytes);
    }
    n->in_ids[n->node.n_in++] = id;
    n->n_in++;
}

void oh_input_none(oh_node *n)
{
    n->in_ids[n->node.n_in++] = -1;
    n->n_in++;
}

e2e_status oh_run_opt(oh_node *n, int n_out, e2e_tensor_view *outs, const e2e_session_options *opt,
                      e2e_error *err)
{
    e2e_graph *g = &n->model.graph;
    for (int i = 0; i < n_out; i++) {
        int id = g->n_values++;
        n->values[id].name = value_name('y', i);
        n->values[id].shape.rank = -1;
        n->values[id].initializer = -1;
        n->out_ids[n->node.n_out++] = id;
        n->outputs[g->n_outputs++] = id;
    }
    g->values = n->values;
    g->nodes = &n->node;
    g->n_nodes = 1;
    g->inits = n->inits;
    g->inputs = n->inputs;
    g->outputs = n->outputs;
    e2e_shape_binding b[OH_MAX];
    e2e_tensor_view in[OH_MAX];
    int k = 0;
    for (int i = 0; i < n->n_in; i++) {
        int id = n->in_ids[i];
        if (id < 0 || n->values[id].initializer >= 0)
            continue;
        const e2e_tensor *t = &n->inits[OH_MAX - 1 - i];
        b[k] = (e2e_shape_binding){n->values[id].name, t->shape.rank, t->shape.dims};
        in[k] = (e2e_tensor_view){.name = n->values[id].name, .dtype = t->dtype, .rank = t->shape.rank,
                                  .data = t->data};
        memcpy(in[k].dims, t->shape.dims, sizeof(int64_t) * (size_t)t->shape.rank);
        k++;
    }
    e2e_session_options o = opt ? *opt : e2e_session_options_default();
    o.shapes = b;
    o.n_shapes = k;
    e2e_status st = e2e_session_create(&n->model, &o, &n->session, err);
    if (st)
        return st;
    if ((st = e2e_session_run(n->session, in, k, err)))
        return st;
    for (int i = 0; i < n_out; i++)
        e2e_session_output(n->session, i, &outs[i]);
    return E2E_OK;
}

e2e_status oh_run(oh_node *n, int n_out, e2e_tensor_view *outs, e2e_error *err)
{
    return oh_run_opt(n, n_out, outs, NULL, err);
}

void oh_free(oh_node *n)
{
    if (!n)
        return;
    e2e_session_free(n->session);
    for (int i = 0; i < n->node.n_attrs; i++) {
        free(n->attrs[i].ints);
        free(n->attrs[i].floats);
    }
    for (int i = 0; i < n->model.graph.n_values; i++)
        free(n->values[i].name);
    for (int i = 0; i < OH_MAX; i++)
        e2e_aligned_free(n->inits[i].data);
    free(n);
}

void oh_fill_random(float *x, int64_t n, float lo, float hi, uint64_t *state)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x[i] = lo + (hi - lo) * (float)((z >> 40) * (1.0 / 16777216.0));
    }
}

double oh_max_err_ratio(const float *a, const float *b, int64_t n, double rtol, double atol)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(a[i]) != isnan(b[i]))
            return INFINITY;
        if (isnan(a[i]))
            continue;
        double r = d / (atol + rtol * fabs((double)b[i]));
        if (r > worst)
            worst = r;
    }
    return worst;
}

int oh_rand_int(int lo, int hi, uint64_t *state)
{
    float f;
    oh_fill_random(&f, 1, 0.f, 1.f, state);
    int v = lo + (int)(f * (float)(hi - lo + 1));
    return v > hi ? hi : v;
}

float *oh_rand_buf(int64_t n, uint64_t *state)
{
    float *x = malloc(sizeof(float) * (size_t)(n + 1));
    oh_fill_random(x, n, -1.f, 1.f, state);
    return x;
}

float oh_lcg_float(uint64_t *state, float lo, float hi)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((*state >> 40) / 16777216.0);
}

int64_t oh_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

void oh_expect_close(const e2e_tensor_view *got, const float *ref, int64_t n, double rtol,
                     double atol, const char *what)
{
    assert_int_equal(got->dtype, E2E_FLOAT);
    assert_int_equal(e2e_tensor_view_numel(got), n);
    double r = oh_max_err_ratio(got->data, ref, n, rtol, atol);
    if (r > 1.0)
        fail_msg("%s: error ratio %g", what, r);
}

void oh_expect_shape(const e2e_tensor_view *v, int rank, const int64_t *dims)
{
    assert_int_equal(v->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(v->dims[i], dims[i]);
}

static e2e_model *load_bytes(uint8_t *buf, size_t size, const char *name)
{
    e2e_error err;
    e2e_model *m = NULL;
    e2e_status st = e2e_model_load_buffer(buf, size, name, &m, &err);
    free(buf);
    if (st)
        fail_msg("%s: %s", name, err.message);
    return m;
}

e2e_model *oh_model_pack(struct e2e_ob *b, const char *name)
{
    uint8_t *buf;
    size_t size;
    e2e_error err;
    if (e2e_ob_pack(b, &buf, &size, &err))
        fail_msg("%s: %s", name, err.message);
    return load_bytes(buf, size, name);
}

e2e_model *oh_model_build(const struct e2e_model_config *c, uint64_t seed, const char *name)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    e2e_error err;
    if (e2e_model_build_buffer(c, seed, &buf, &size, &err))
        fail_msg("%s: %s", name, err.message);
    return load_bytes(buf, size, name);
}

void oh_graph_views(e2e_tensor_view in[4], int n, int c, int p, float *points, float *features,
                    float *mask, float *seed)
{
    for (int i = 0; i < n * 3; i++)
        seed[i] = 1.0f + (float)i;
    in[0] = e2e_tensor_view_f32("points", points, 3, (int64_t[]){n, 2, p});
    in[1] = e2e_tensor_view_f32("features", features, 3, (int64_t[]){n, c, p});
    in[2] = e2e_tensor_view_f32("mask", mask, 3, (int64_t[]){n, 1, p});
    in[3] = e2e_tensor_view_f32("seed", seed, 2, (int64_t[]){n, 3});
}

e2e_session *oh_session_open_isa(const e2e_model *m, int optimize, e2e_isa_level isa,
                                 int threads)
{
    e2e_session_options o = e2e_session_options_default();
    o.optimize = optimize;
    o.threads = threads;
    o.isa = isa;
    e2e_session *s = NULL;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("optimize %d, isa %s, %d threads: %s", optimize, e2e_isa_name(isa), threads,
                 err.message);
    return s;
}

e2e_session *oh_session_open(const e2e_model *m, int optimize, int threads)
{
    return oh_session_open_isa(m, optimize, E2E_ISA_AUTO, threads);
}

int oh_count_op(const e2e_session *s, const char *op_type)
{
    int n = 0;
    for (int i = 0; i < s->n_kernels; i++)
        if (!strcmp(s->kernels[i].node->op_type, op_type))
            n++;
    return n;
}

float *oh_output_copy(const e2e_session *s, int64_t *n)
{
    e2e_tensor_view out;
    assert_int_equal(e2e_session_output(s, 0, &out), E2E_OK);
    *n = e2e_tensor_view_numel(&out);
    float *y = malloc(sizeof(float) * (size_t)*n);
    assert_non_null(y);
    memcpy(y, out.data, sizeof(float) * (size_t)*n);
    return y;
}

/* ---- allocation counting (op_harness.h) ---- */

volatile int oh_counting;
volatile long oh_allocations;

#ifdef OH_NO_COUNTING
void *oh_raw_malloc(size_t n) { return malloc(n); }
void oh_raw_free(void *p) { free(p); }
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *oh_raw_malloc(size_t n) { return __libc_malloc(n); }
void oh_raw_free(void *p) { __libc_free(p); }

void *malloc(size_t n)
{
    if (oh_counting)
        oh_allocations++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (oh_counting)
        oh_allocations++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (oh_counting)
        oh_allocations++;
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t al, size_t n)
{
    if (oh_counting)
        oh_allocations++;
    return __libc_memalign(al, n);
}
void *memalign(size_t al, size_t n)
{
    if (oh_counting)
        oh_allocations++;
    return __libc_memalign(al, n);
}
int posix_memalign(void **p, size_t al, size_t n)
{
    if (oh_counting)
        oh_allocations++;
    *p = __libc_memalign(al, n);
    return *p ? 0 : 12;
}
void free(void *p) { __libc_free(p); }
#endif
