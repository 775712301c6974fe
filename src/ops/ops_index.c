/* Index-driven data movement: GatherElements, GatherND, ScatterElements (and its opset 9-10
   name Scatter), ScatterND, NonZero.

   Data of any element type moves by its byte size; the scatter reductions (add, mul, max,
   min) need float32, int32 or int64 data. Indices are int64 or int32, negative ones count
   from the end of their axis. An index out of range is an error naming the node: at
   session creation when the indices are constant (E2E_ERR_INVALID), at run otherwise
   (E2E_ERR_ARGUMENT: the caller's data); nothing is read or written out of bounds.

   Scatter with duplicate indices and reduction none: the last update wins (ONNX leaves it
   undefined). NonZero's output size depends on its input's values: it is computed at
   session creation when the input is constant (the node is then folded), otherwise the
   session fails with E2E_ERR_DYNAMIC. */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* Index m of an int64 or int32 tensor. */
static inline int64_t index_at(const e2e_value *ix, int64_t m)
{
    return ix->dtype == E2E_INT64 ? ((const int64_t *)ix->data)[m] : ((const int32_t *)ix->data)[m];
}

/* Normalises index m of ix into [0, n); fails naming the node (status by constness). */
static inline e2e_status index_get(e2e_kernel *k, const e2e_value *ix, int64_t m, int64_t n, int axis,
                                   int64_t *out)
{
    int64_t v = index_at(ix, m), i = v < 0 ? v + n : v;
    if (i >= 0 && i < n) {
        *out = i;
        return E2E_OK;
    }
    return e2e_kfail(k, ix->is_const ? E2E_ERR_INVALID : E2E_ERR_ARGUMENT,
                     "index %lld (at position %lld of the indices) is out of range [%lld, %lld] for "
                     "axis %d", (long long)v, (long long)m, (long long)-n, (long long)n - 1, axis);
}

static inline void copy_elem(char *dst, int64_t di, const char *src, int64_t si, size_t esz)
{
    switch (esz) {
    case 1: dst[di] = src[si]; break;
    case 4: memcpy(dst + di * 4, src + si * 4, 4); break;
    case 8: memcpy(dst + di * 8, src + si * 8, 8); break;
    default: memcpy(dst + (size_t)di * esz, src + (size_t)si * esz, esz);
    }
}

static void strides_of(const e2e_shape *s, int64_t *st)
{
    int64_t m = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        st[i] = m;
        m *= s->dims[i];
    }
}

/* Next coordinate of c in dims (row-major). */
static inline void coord_next(int64_t *c, const int64_t *dims, int r)
{
    for (int d = r - 1; d >= 0; d--) {
        if (++c[d] < dims[d])
            return;
        c[d] = 0;
    }
}

/* Runs the constant-index check at prepare: run() with no output, so nothing is written. */
static e2e_status check_const_indices(e2e_kernel *k, int ix_input, e2e_status (*walk)(e2e_kernel *, bool))
{
    if (k->in[ix_input]->is_const && k->in[ix_input]->numel)
        return walk(k, false);
    return E2E_OK;
}

/* ---------------------------------------------------------------- reductions */

typedef enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN } red_kind;

static e2e_status read_reduction(e2e_kernel *k, red_kind *out)
{
    e2e_status st;
    const char *s;
    *out = RED_NONE;
    if (k->opset < 16) /* no 'reduction' attribute before opset 16 */
        return E2E_OK;
    if ((st = e2e_attr_string(k, "reduction", "none", &s)))
        return st;
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const int n = k->opset >= 18 ? 5 : 3; /* max and min from opset 18 */
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = (red_kind)i;
            if (*out != RED_NONE && k->in[0]->dtype != E2E_FLOAT && k->in[0]->dtype != E2E_INT32 &&
                k->in[0]->dtype != E2E_INT64)
                return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "reduction '%s' on %s data is not supported",
                                 s, e2e_dtype_name(k->in[0]->dtype));
            return E2E_OK;
        }
    return e2e_kfail(k, E2E_ERR_INVALID, "reduction '%s' is not one of none, add, mul%s", s,
                     k->opset >= 18 ? ", max, min" : " (max and min need opset 18)");
}

#define RED_APPLY(T)                                                                               \
    do {                                                                                           \
        T *d_ = (T *)dst + di;                                                                     \
        const T *u_ = (const T *)upd + ui;                                                         \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T a = d_[i], b = u_[i];                                                                \
            d_[i] = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (a > b ? a : b) \
                                                                                  : (a < b ? a : b); \
        }                                                                                          \
    } while (0)

/* dst[di + i] = reduce(dst[di + i], upd[ui + i]) for i < n. Integer add/mul wrap (unsigned). */
static void reduce_into(void *dst, int64_t di, const void *upd, int64_t ui, int64_t n, red_kind red,
                        e2e_dtype dt)
{
    if (red == RED_NONE) {
        size_t esz = e2e_dtype_size(dt);
        memcpy((char *)dst + (size_t)di * esz, (const char *)upd + (size_t)ui * esz, (size_t)n * esz);
    } else if (dt == E2E_FLOAT) {
        RED_APPLY(float);
    } else if (dt == E2E_INT32 && (red == RED_ADD || red == RED_MUL)) {
        RED_APPLY(uint32_t);
    } else if (dt == E2E_INT32) {
        RED_APPLY(int32_t);
    } else if (red == RED_ADD || red == RED_MUL) {
        RED_APPLY(uint64_t);
    } else {
        RED_APPLY(int64_t);
    }
}

/* ---------------------------------------------------------------- GatherElements */

typedef struct elems_priv {
    int axis;
    red_kind red;
} elems_priv;

/* Checks GatherElements/ScatterElements shapes: data and indices of one rank, indices no
   larger than data outside the axis (and updates shaped as the indices for scatter). */
static e2e_status elems_prepare(e2e_kernel *k, bool scatter)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, scatter ? 3 : 2, scatter ? 3 : 2)) ||
        (st = e2e_check_dtype(k, 1, E2E_INT64, E2E_INT32, E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[0], *ix = k->in[1];
    const int r = x->shape.rank;
    int64_t axis;
    char b1[160], b2[160];
    if ((st = e2e_attr_int(k, "axis", 0, &axis)))
        return st;
    if (r == 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the data is a scalar; an axis is needed");
    elems_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    if ((st = e2e_axis(k, axis, r, &p->axis)))
        return st;
    if (ix->shape.rank != r)
        return e2e_kfail(k, E2E_ERR_SHAPE, "indices %s and data %s must have the same rank",
                         e2e_shape_str(&ix->shape, b1, sizeof b1), e2e_shape_str(&x->shape, b2, sizeof b2));
    for (int d = 0; d < r; d++)
        if (d != p->axis && ix->shape.dims[d] > x->shape.dims[d])
            return e2e_kfail(k, E2E_ERR_SHAPE, "indices %s are larger than data %s in dimension %d",
                             e2e_shape_str(&ix->shape, b1, sizeof b1),
                             e2e_shape_str(&x->shape, b2, sizeof b2), d);
    if (scatter) {
        const e2e_value *u = k->in[2];
        bool same = u->shape.rank == r;
        for (int d = 0; same && d < r; d++)
            same = u->shape.dims[d] == ix->shape.dims[d];
        if (!same)
            return e2e_kfail(k, E2E_ERR_SHAPE, "updates %s and indices %s must have the same shape",
                             e2e_shape_str(&u->shape, b1, sizeof b1), e2e_shape_str(&ix->shape, b2, sizeof b2));
        if (u->dtype != x->dtype)
            return e2e_kfail(k, E2E_ERR_INVALID, "updates are %s, data is %s", e2e_dtype_name(u->dtype),
                             e2e_dtype_name(x->dtype));
        if ((st = read_reduction(k, &p->red)))
            return st;
    }
    return e2e_out_set(k, 0, x->dtype, scatter ? &x->shape : &ix->shape);
}

/* Walks the indices: for each, the data offset it names. write = false only checks. */
static e2e_status gather_elements_walk(e2e_kernel *k, bool write)
{
    const elems_priv *p = k->priv;
    const e2e_value *x = k->in[0], *ix = k->in[1];
    const int r = x->shape.rank, a = p->axis;
    const size_t esz = e2e_dtype_size(x->dtype);
    int64_t xs[E2E_MAX_RANK], c[E2E_MAX_RANK] = {0};
    strides_of(&x->shape, xs);
    const int64_t n = x->shape.dims[a];
    char *y = write ? k->out[0]->data : NULL;
    for (int64_t m = 0; m < ix->numel; m++, coord_next(c, ix->shape.dims, r)) {
        int64_t i = 0, off = 0;
        e2e_status st = index_get(k, ix, m, n, a, &i);
        if (st)
            return st;
        for (int d = 0; d < r; d++)
            off += (d == a ? i : c[d]) * xs[d];
        if (y)
            copy_elem(y, m, x->data, off, esz);
    }
    return E2E_OK;
}

static e2e_status gather_elements_prepare(e2e_kernel *k)
{
    e2e_status st = elems_prepare(k, false);
    return st ? st : check_const_indices(k, 1, gather_elements_walk);
}

static e2e_status gather_elements_run(e2e_kernel *k) { return gather_elements_walk(k, true); }

/* ---------------------------------------------------------------- ScatterElements */

static e2e_status scatter_elements_walk(e2e_kernel *k, bool write)
{
    const elems_priv *p = k->priv;
    const e2e_value *x = k->in[0], *ix = k->in[1], *u = k->in[2];
    const int r = x->shape.rank, a = p->axis;
    int64_t xs[E2E_MAX_RANK], c[E2E_MAX_RANK] = {0};
    strides_of(&x->shape, xs);
    const int64_t n = x->shape.dims[a];
    void *y = write ? k->out[0]->data : NULL;
    if (y && y != x->data && x->numel)
        memcpy(y, x->data, (size_t)x->numel * e2e_dtype_size(x->dtype));
    for (int64_t m = 0; m < ix->numel; m++, coord_next(c, ix->shape.dims, r)) {
        int64_t i = 0, off = 0;
        e2e_status st = index_get(k, ix, m, n, a, &i);
        if (st)
            return st;
        for (int d = 0; d < r; d++)
            off += (d == a ? i : c[d]) * xs[d];
        if (y)
            reduce_into(y, off, u->data, m, 1, p->red, x->dtype);
    }
    return E2E_OK;
}

static e2e_status scatter_elements_prepare(e2e_kernel *k)
{
    e2e_status st = elems_prepare(k, true);
    return st ? st : check_const_indices(k, 1, scatter_elements_walk);
}

static e2e_status scatter_elements_run(e2e_kernel *k) { return scatter_elements_walk(k, true); }

/* ---------------------------------------------------------------- GatherND, ScatterND */

typedef struct nd_priv {
    int b, m;              /* batch_dims, index tuple length */
    int64_t batches;       /* product of the batch dims */
    int64_t tuples;        /* index tuples per batch */
    int64_t slice;         /* elements per tuple */
    int64_t batch_stride;  /* data elements per batch */
    int64_t xs[E2E_MAX_RANK];
    red_kind red;
} nd_priv;

static e2e_status nd_prepare(e2e_kernel *k, bool scatter)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, scatter ? 3 : 2, scatter ? 3 : 2)) ||
        (st = e2e_check_dtype(k, 1, E2E_INT64, E2E_INT32, E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[0], *ix = k->in[1];
    const int r = x->shape.rank, q = ix->shape.rank;
    int64_t b = 0;
    char b1[160], b2[160];
    if (!scatter && k->opset >= 12 && (st = e2e_attr_int(k, "batch_dims", 0, &b)))
        return st;
    if (r < 1 || q < 1)
        return e2e_kfail(k, E2E_ERR_SHAPE, "data %s and indices %s must have rank 1 or more",
                         e2e_shape_str(&x->shape, b1, sizeof b1), e2e_shape_str(&ix->shape, b2, sizeof b2));
    if (b < 0 || b >= q || b >= r)
        return e2e_kfail(k, E2E_ERR_INVALID, "batch_dims %lld must be below both ranks (%d, %d)",
                         (long long)b, r, q);
    const int64_t m = ix->shape.dims[q - 1];
    if (m < 1 || b + m > r)
        return e2e_kfail(k, E2E_ERR_SHAPE, "index tuples of %lld (last dim of indices %s) do not fit "
                         "data %s after %lld batch dims", (long long)m,
                         e2e_shape_str(&ix->shape, b1, sizeof b1), e2e_shape_str(&x->shape, b2, sizeof b2),
                         (long long)b);
    for (int d = 0; d < b; d++)
        if (ix->shape.dims[d] != x->shape.dims[d])
            return e2e_kfail(k, E2E_ERR_SHAPE, "batch dim %d differs: indices %s, data %s", d,
                             e2e_shape_str(&ix->shape, b1, sizeof b1), e2e_shape_str(&x->shape, b2, sizeof b2));
    nd_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->b = (int)b;
    p->m = (int)m;
    p->batches = p->tuples = p->slice = 1;
    for (int d = 0; d < b; d++)
        p->batches *= x->shape.dims[d];
    for (int d = (int)b; d < q - 1; d++)
        p->tuples *= ix->shape.dims[d];
    for (int d = (int)(b + m); d < r; d++)
        p->slice *= x->shape.dims[d];
    strides_of(&x->shape, p->xs);
    p->batch_stride = b ? p->xs[b - 1] : x->numel;
    /* gathered shape: indices' dims but the last, then the data's dims after the tuple */
    e2e_shape os = {.rank = q - 1 + r - (int)(b + m)};
    if (os.rank > E2E_MAX_RANK)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the output would have rank %d (max %d)", os.rank, E2E_MAX_RANK);
    for (int d = 0; d < q - 1; d++)
        os.dims[d] = ix->shape.dims[d];
    for (int d = (int)(b + m); d < r; d++)
        os.dims[q - 1 + d - (int)(b + m)] = x->shape.dims[d];
    if (scatter) {
        const e2e_value *u = k->in[2];
        bool same = u->shape.rank == os.rank;
        for (int d = 0; same && d < os.rank; d++)
            same = u->shape.dims[d] == os.dims[d];
        if (!same)
            return e2e_kfail(k, E2E_ERR_SHAPE, "updates %s must have shape %s (indices' dims but the last, "
                             "then data's after the index tuple)", e2e_shape_str(&u->shape, b1, sizeof b1),
                             e2e_shape_str(&os, b2, sizeof b2));
        if (u->dtype != x->dtype)
            return e2e_kfail(k, E2E_ERR_INVALID, "updates are %s, data is %s", e2e_dtype_name(u->dtype),
                             e2e_dtype_name(x->dtype));
        if ((st = read_reduction(k, &p->red)))
            return st;
        return e2e_out_set(k, 0, x->dtype, &x->shape);
    }
    return e2e_out_set(k, 0, x->dtype, &os);
}

/* Walks the index tuples; for each, the data offset of its slice. write = false only checks. */
static e2e_status nd_walk(e2e_kernel *k, bool write, bool scatter)
{
    const nd_priv *p = k->priv;
    const e2e_value *x = k->in[0], *ix = k->in[1];
    const size_t esz = e2e_dtype_size(x->dtype);
    char *y = write ? k->out[0]->data : NULL;
    if (y && scatter && y != (char *)x->data && x->numel)
        memcpy(y, x->data, (size_t)x->numel * esz);
    for (int64_t bt = 0; bt < p->batches; bt++)
        for (int64_t t = 0; t < p->tuples; t++) {
            const int64_t g = bt * p->tuples + t; /* tuple number over all batches */
            int64_t off = bt * p->batch_stride;
            for (int j = 0; j < p->m; j++) {
                int64_t i = 0;
                e2e_status st = index_get(k, ix, g * p->m + j, x->shape.dims[p->b + j], p->b + j, &i);
                if (st)
                    return st;
                off += i * p->xs[p->b + j];
            }
            if (!y)
                continue;
            if (scatter)
                reduce_into(y, off, k->in[2]->data, g * p->slice, p->slice, p->red, x->dtype);
            else
                memcpy(y + (size_t)(g * p->slice) * esz, (const char *)x->data + (size_t)off * esz,
                       (size_t)p->slice * esz);
        }
    return E2E_OK;
}

static e2e_status gather_nd_walk(e2e_kernel *k, bool write) { return nd_walk(k, write, false); }
static e2e_status scatter_nd_walk(e2e_kernel *k, bool write) { return nd_walk(k, write, true); }

static e2e_status gather_nd_prepare(e2e_kernel *k)
{
    e2e_status st = nd_prepare(k, false);
    return st ? st : check_const_indices(k, 1, gather_nd_walk);
}

static e2e_status scatter_nd_prepare(e2e_kernel *k)
{
    e2e_status st = nd_prepare(k, true);
    return st ? st : check_const_indices(k, 1, scatter_nd_walk);
}

static e2e_status gather_nd_run(e2e_kernel *k) { return nd_walk(k, true, false); }
static e2e_status scatter_nd_run(e2e_kernel *k) { return nd_walk(k, true, true); }

/* ---------------------------------------------------------------- NonZero */

static bool is_nonzero(const void *x, e2e_dtype dt, int64_t i)
{
    switch (dt) {
    case E2E_FLOAT: return ((const float *)x)[i] != 0.f; /* NaN counts */
    case E2E_INT32: return ((const int32_t *)x)[i] != 0;
    case E2E_INT64: return ((const int64_t *)x)[i] != 0;
    default: return ((const uint8_t *)x)[i] != 0; /* uint8, int8, bool */
    }
}

static e2e_status nonzero_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)) ||
        (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT32, E2E_INT64, E2E_UINT8, E2E_INT8, E2E_BOOL,
                              E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[0];
    if (!x->is_const)
        return e2e_kfail(k, E2E_ERR_DYNAMIC,
                         "its output size (rank x number of non-zero elements) depends on the values "
                         "of its input, which are not known at session creation; NonZero runs only "
                         "on constant inputs (or inputs fixed at session creation)");
    int64_t nnz = 0;
    for (int64_t i = 0; i < x->numel; i++)
        nnz += is_nonzero(x->data, x->dtype, i);
    /* a scalar reads as a 1-D tensor of one element (numpy, ONNX Runtime) */
    e2e_shape os = {.rank = 2, .dims = {x->shape.rank ? x->shape.rank : 1, nnz}};
    return e2e_out_set(k, 0, E2E_INT64, &os);
}

static e2e_status nonzero_run(e2e_kernel *k)
{
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    const int64_t nnz = k->out[0]->shape.dims[1];
    int64_t *y = k->out[0]->data, c[E2E_MAX_RANK] = {0}, j = 0;
    for (int64_t i = 0; i < x->numel; i++, coord_next(c, x->shape.dims, r)) {
        if (!is_nonzero(x->data, x->dtype, i))
            continue;
        if (j >= nnz) /* the input changed since prepare: impossible for a constant */
            return e2e_kfail(k, E2E_ERR_DYNAMIC, "the input has more non-zero elements than at prepare");
        for (int d = 0; d < r; d++)
            y[d * nnz + j] = c[d];
        if (r == 0)
            y[j] = 0;
        j++;
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- table */

const e2e_op_def e2e_ops_index[] = {
    {"GatherElements", gather_elements_prepare, gather_elements_run, free, 0},
    {"ScatterElements", scatter_elements_prepare, scatter_elements_run, free, 0},
    {"Scatter", scatter_elements_prepare, scatter_elements_run, free, 0},
    {"GatherND", gather_nd_prepare, gather_nd_run, free, 0},
    {"ScatterND", scatter_nd_prepare, scatter_nd_run, free, 0},
    {"NonZero", nonzero_prepare, nonzero_run, NULL, 0},
    {0},
};
