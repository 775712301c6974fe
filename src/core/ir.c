/* Small helpers over the IR: dtypes, shapes, tensors, lookup. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "core/ir.h"
#include "core/region.h"

const char *e2e_dtype_name(e2e_dtype t)
{
    switch (t) {
    case E2E_FLOAT: return "float";
    case E2E_UINT8: return "uint8";
    case E2E_INT8: return "int8";
    case E2E_INT32: return "int32";
    case E2E_INT64: return "int64";
    case E2E_BOOL: return "bool";
    default: return "undefined";
    }
}

size_t e2e_dtype_size(e2e_dtype t)
{
    switch (t) {
    case E2E_FLOAT: case E2E_INT32: return 4;
    case E2E_INT64: return 8;
    case E2E_UINT8: case E2E_INT8: case E2E_BOOL: return 1;
    default: return 0;
    }
}

/* Largest element count we accept: 2^40 elements (4 TiB of floats) — beyond it a shape is
   certainly corrupt, and products stay far from int64 overflow. */
#define NUMEL_MAX ((int64_t)1 << 40)

int64_t e2e_shape_numel(const e2e_shape *s)
{
    if (s->rank < 0 || s->rank > E2E_MAX_RANK)
        return -1;
    /* The product of the non-zero dims is bounded too: an empty tensor [0, 2^40, 2^40] would
       still give strides (and offsets computed from them) that overflow. */
    int64_t n = 1;
    bool empty = false;
    for (int i = 0; i < s->rank; i++) {
        int64_t d = s->dims[i];
        if (d < 0)
            return -1;
        if (d == 0)
            empty = true;
        else if (n > NUMEL_MAX / d)
            return -1;
        else
            n *= d;
    }
    return empty ? 0 : n;
}

int64_t e2e_tensor_view_numel(const e2e_tensor_view *v)
{
    e2e_shape s = {.rank = v->rank};
    if (v->rank < 0 || v->rank > E2E_MAX_RANK)
        return -1;
    memcpy(s.dims, v->dims, sizeof(int64_t) * (size_t)v->rank);
    return e2e_shape_numel(&s);
}

e2e_tensor_view e2e_tensor_view_f32(const char *name, float *data, int rank, const int64_t *dims)
{
    e2e_tensor_view v = {.name = name, .dtype = E2E_FLOAT, .rank = rank, .data = data};
    for (int i = 0; i < rank && i < E2E_MAX_RANK; i++)
        v.dims[i] = dims[i];
    return v;
}

bool e2e_shape_equal(const e2e_shape *a, const e2e_shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

char *e2e_shape_str(const e2e_shape *s, char *buf, size_t n)
{
    if (s->rank == 0) {
        snprintf(buf, n, "scalar");
        return buf;
    }
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < s->rank && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, i ? "x%lld" : "%lld", (long long)s->dims[i]);
    return buf;
}

/* Heap blocks from this size on are faulted in by one madvise each: a page fault costs
   microseconds on a virtual machine, and a 16 MB weight copy took 4000 of them
   (E2E_PREFAULT=0 turns it off, to measure). Blocks of OWN_REGION_MIN and more, and the
   loader's and the pack cache's regions, are huge pages instead (region.h). */
#define PREFAULT_MIN ((size_t)256 << 10)

static void prefault(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("E2E_PREFAULT");
        on = !(e && !strcmp(e, "0"));
    }
    /* (MADV_HUGEPAGE as well measured no better: most weights are below 2 MB) */
    const uintptr_t pg = 4096, a = ((uintptr_t)p + pg - 1) & ~(pg - 1),
                    b = ((uintptr_t)p + n) & ~(pg - 1);
    if (on && b > a)
        (void)madvise((void *)a, b - a, MADV_POPULATE_WRITE); /* best effort: old kernels say no */
#else
    (void)p;
    (void)n;
#endif
}

/* Blocks from this size on get a huge-page region of their own (region.h; rounded up to
   2 MB: a 1 MB arena then takes one page fault instead of 256). */
#define OWN_REGION_MIN ((size_t)1 << 20)

/* A block of the thread's open scope, else of its own region (zero-filled), or NULL. */
static void *region_block(size_t nbytes)
{
    void *s = e2e_region_scope_alloc(nbytes ? nbytes : 1);
    if (s || nbytes < OWN_REGION_MIN)
        return s;
    e2e_region *r = e2e_region_create(nbytes);
    void *p = e2e_region_alloc(r, nbytes);
    e2e_region_release(r); /* the block keeps it */
    return p;
}

static void *heap_block(size_t nbytes)
{
    size_t sz = (nbytes + 63) & ~(size_t)63;
    if (sz < nbytes)
        return NULL;
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (p && sz >= PREFAULT_MIN)
        prefault(p, sz);
    return p;
}

void *e2e_aligned_alloc_uninit(size_t nbytes)
{
    void *p = region_block(nbytes);
    return p ? p : heap_block(nbytes);
}

void *e2e_aligned_alloc(size_t nbytes)
{
    void *p = region_block(nbytes); /* a fresh mapping reads as zeros */
    if (p)
        return p;
    p = heap_block(nbytes);
    if (p)
        memset(p, 0, nbytes ? nbytes : 1);
    return p;
}

void e2e_aligned_free(void *p)
{
    if (!e2e_region_free_block(p))
        free(p);
}

char *e2e_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void e2e_tensor_clear(e2e_tensor *t)
{
    free(t->name);
    e2e_aligned_free(t->data);
    memset(t, 0, sizeof *t);
}

e2e_status e2e_tensor_alloc(e2e_tensor *t, e2e_error *err)
{
    int64_t n = e2e_shape_numel(&t->shape);
    size_t es = e2e_dtype_size(t->dtype);
    if (n < 0) {
        char b[160];
        return e2e_fail(err, E2E_ERR_SHAPE, "tensor \"%s\": invalid shape %s", t->name ? t->name : "",
                        e2e_shape_str(&t->shape, b, sizeof b));
    }
    if (!es)
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "tensor \"%s\": unsupported data type",
                        t->name ? t->name : "");
    t->nbytes = (size_t)n * es;
    t->data = e2e_aligned_alloc(t->nbytes);
    if (!t->data)
        return e2e_fail(err, E2E_ERR_NOMEM, "tensor \"%s\": cannot allocate %zu bytes",
                        t->name ? t->name : "", t->nbytes);
    return E2E_OK;
}

const e2e_attr *e2e_node_attr(const e2e_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name))
            return &n->attrs[i];
    return NULL;
}

int e2e_graph_find_value(const e2e_graph *g, const char *name)
{
    for (int i = 0; i < g->n_values; i++)
        if (!strcmp(g->values[i].name, name))
            return i;
    return -1;
}

static void attr_clear(e2e_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    if (a->t) {
        e2e_tensor_clear(a->t);
        free(a->t);
    }
}

void e2e_graph_clear(e2e_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        e2e_node *n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->domain);
        free(n->in);
        free(n->out);
        for (int j = 0; j < n->n_attrs; j++)
            attr_clear(&n->attrs[j]);
        free(n->attrs);
    }
    free(g->nodes);
    for (int i = 0; i < g->n_values; i++)
        free(g->values[i].name);
    free(g->values);
    for (int i = 0; i < g->n_inits; i++)
        e2e_tensor_clear(&g->inits[i]);
    free(g->inits);
    free(g->inputs);
    free(g->outputs);
    free(g->gates);
    memset(g, 0, sizeof *g);
}
