/* Shape and data-movement operators, any element type (copied by byte size).

   Here: Reshape, Flatten, Squeeze, Unsqueeze (views: E2E_OP_ALIAS, run copies only when the
   session did not alias), Shape, Size, Constant, ConstantOfShape, Range, Concat, Split,
   Gather. In ops_layout.c: Transpose, Slice, Expand, Tile, Pad (strided copies).

   Inputs that decide an output shape (Reshape's shape, Unsqueeze/Squeeze axes, Split sizes,
   ConstantOfShape's input, Range's scalars, ...) are read at prepare and must be constant.
   Shape and Size publish their output as a constant at prepare (the shapes of a session
   are fixed), so PyTorch's Shape -> Gather -> Concat -> Reshape chains fold even when the
   tensor whose shape is taken is a graph input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/shape_internal.h"

static size_t esize(const e2e_value *v) { return e2e_dtype_size(v->dtype); }

static char *ints_str(const int64_t *v, int n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? "x" : "", (long long)v[i]);
    if (n == 0)
        snprintf(buf, size, "scalar");
    return buf;
}

/* ---------------------------------------------------------------- views */

static e2e_status view_run(e2e_kernel *k)
{
    const e2e_value *x = k->in[0];
    void *y = k->out[0]->data;
    if (y != x->data && x->numel)
        memmove(y, x->data, (size_t)x->numel * esize(x));
    return E2E_OK;
}

static e2e_status reshape_prepare(e2e_kernel *k)
{
    e2e_status st;
    const bool attr_form = k->opset < 5;
    if ((st = e2e_check_inputs(k, attr_form ? 1 : 2, attr_form ? 1 : 2)))
        return st;
    const e2e_value *x = k->in[0];
    int64_t sh[E2E_MAX_RANK];
    int n;
    if (attr_form) {
        const int64_t *v;
        if ((st = e2e_attr_ints(k, "shape", &v, &n)))
            return st;
        if (!v)
            return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'shape' is required");
        if (n > E2E_MAX_RANK)
            return e2e_kfail(k, E2E_ERR_SHAPE, "target rank %d is above %d", n, E2E_MAX_RANK);
        memcpy(sh, v, sizeof(int64_t) * (size_t)n);
    } else if ((st = e2e_input_ints(k, 1, sh, E2E_MAX_RANK, &n))) {
        return st;
    }
    int64_t allowzero = 0;
    if (k->opset >= 14 && (st = e2e_attr_int(k, "allowzero", 0, &allowzero)))
        return st;
    char a[160], b[160];
    e2e_shape os = {.rank = n};
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        int64_t v = sh[i];
        if (v == 0 && !allowzero) {
            if (i >= x->shape.rank)
                return e2e_kfail(k, E2E_ERR_SHAPE,
                                 "shape %s copies dim %d (0) but the input %s has rank %d",
                                 ints_str(sh, n, a, sizeof a), i, e2e_shape_str(&x->shape, b, sizeof b),
                                 x->shape.rank);
            v = x->shape.dims[i];
        } else if (v == -1) {
            if (infer >= 0)
                return e2e_kfail(k, E2E_ERR_SHAPE, "shape %s has more than one -1",
                                 ints_str(sh, n, a, sizeof a));
            if (allowzero)
                for (int j = 0; j < n; j++)
                    if (sh[j] == 0)
                        return e2e_kfail(k, E2E_ERR_INVALID,
                                         "shape %s has both -1 and 0 with allowzero=1",
                                         ints_str(sh, n, a, sizeof a));
            infer = i;
            continue;
        } else if (v < -1) {
            return e2e_kfail(k, E2E_ERR_SHAPE, "shape %s has an invalid entry %lld",
                             ints_str(sh, n, a, sizeof a), (long long)v);
        }
        os.dims[i] = v;
        if (v && known > ((int64_t)1 << 40) / v)
            return e2e_kfail(k, E2E_ERR_SHAPE, "shape %s is too large", ints_str(sh, n, a, sizeof a));
        known *= v;
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known)
            return e2e_kfail(k, E2E_ERR_SHAPE,
                             "cannot reshape %s (%lld elements) to %s: the -1 cannot be inferred",
                             e2e_shape_str(&x->shape, b, sizeof b), (long long)x->numel,
                             ints_str(sh, n, a, sizeof a));
        os.dims[infer] = x->numel / known;
    } else if (known != x->numel) {
        return e2e_kfail(k, E2E_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s (%lld elements)",
                         e2e_shape_str(&x->shape, b, sizeof b), (long long)x->numel,
                         e2e_shape_str(&os, a, sizeof a), (long long)known);
    }
    return e2e_out_set(k, 0, x->dtype, &os);
}

static e2e_status flatten_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)))
        return st;
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    int64_t axis;
    if ((st = e2e_attr_int(k, "axis", 1, &axis)))
        return st;
    if (axis < -r || axis > r)
        return e2e_kfail(k, E2E_ERR_INVALID, "axis %lld is out of range for rank %d", (long long)axis, r);
    if (axis < 0)
        axis += r;
    e2e_shape os = {.rank = 2, .dims = {1, 1}};
    for (int i = 0; i < r; i++)
        os.dims[i < axis ? 0 : 1] *= x->shape.dims[i];
    return e2e_out_set(k, 0, x->dtype, &os);
}

/* Axes of Squeeze/Unsqueeze: attribute before opset 13, input 1 from 13. n = -1: absent. */
static e2e_status read_axes(e2e_kernel *k, int64_t *axes, int *n)
{
    e2e_status st;
    *n = -1;
    if (k->opset < 13) {
        const int64_t *v;
        int c;
        if ((st = e2e_attr_ints(k, "axes", &v, &c)))
            return st;
        if (!v)
            return E2E_OK;
        if (c > E2E_MAX_RANK)
            return e2e_kfail(k, E2E_ERR_INVALID, "'axes' has %d values", c);
        memcpy(axes, v, sizeof(int64_t) * (size_t)c);
        *n = c;
        return E2E_OK;
    }
    if (k->n_in < 2 || !k->in[1])
        return E2E_OK;
    return e2e_input_ints(k, 1, axes, E2E_MAX_RANK, n);
}

static e2e_status squeeze_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, k->opset < 13 ? 1 : 2)))
        return st;
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    int64_t axes[E2E_MAX_RANK];
    int n;
    if ((st = read_axes(k, axes, &n)))
        return st;
    bool drop[E2E_MAX_RANK] = {false};
    char b[160];
    if (n <= 0) { /* no axes (or an empty list, as ONNX Runtime reads it): every 1 goes */
        for (int i = 0; i < r; i++)
            drop[i] = x->shape.dims[i] == 1;
    } else {
        for (int i = 0; i < n; i++) {
            int a;
            if ((st = e2e_axis(k, axes[i], r, &a)))
                return st;
            if (x->shape.dims[a] != 1)
                return e2e_kfail(k, E2E_ERR_SHAPE, "cannot squeeze axis %d of %s: its size is not 1", a,
                                 e2e_shape_str(&x->shape, b, sizeof b));
            drop[a] = true;
        }
    }
    e2e_shape os = {.rank = 0};
    for (int i = 0; i < r; i++)
        if (!drop[i])
            os.dims[os.rank++] = x->shape.dims[i];
    return e2e_out_set(k, 0, x->dtype, &os);
}

static e2e_status unsqueeze_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, k->opset < 13 ? 1 : 2, k->opset < 13 ? 1 : 2)))
        return st;
    const e2e_value *x = k->in[0];
    int64_t axes[E2E_MAX_RANK];
    int n;
    if ((st = read_axes(k, axes, &n)))
        return st;
    if (n < 0)
        return e2e_kfail(k, E2E_ERR_INVALID, "axes are required");
    const int r = x->shape.rank + n;
    if (r > E2E_MAX_RANK)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the output would have rank %d (max %d)", r, E2E_MAX_RANK);
    bool ins[E2E_MAX_RANK] = {false};
    for (int i = 0; i < n; i++) {
        int a;
        if ((st = e2e_axis(k, axes[i], r, &a)))
            return st;
        if (ins[a])
            return e2e_kfail(k, E2E_ERR_INVALID, "axis %lld is given twice", (long long)axes[i]);
        ins[a] = true;
    }
    e2e_shape os = {.rank = r};
    for (int i = 0, j = 0; i < r; i++)
        os.dims[i] = ins[i] ? 1 : x->shape.dims[j++];
    return e2e_out_set(k, 0, x->dtype, &os);
}

/* ---------------------------------------------------------------- Shape, Size */

/* The output is known now: keep it in priv and publish it as a constant. */
static e2e_status publish_ints(e2e_kernel *k, const int64_t *v, int n, const e2e_shape *s)
{
    e2e_status st;
    if ((st = e2e_out_set(k, 0, E2E_INT64, s)))
        return st;
    int64_t *p = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    if (n)
        memcpy(p, v, sizeof(int64_t) * (size_t)n);
    k->priv = p;
    if (k->out[0]) {
        k->out[0]->data = p;
        k->out[0]->is_const = true;
    }
    return E2E_OK;
}

static e2e_status ints_run(e2e_kernel *k)
{
    if (k->out[0] && k->out[0]->data != k->priv && k->out[0]->numel)
        memcpy(k->out[0]->data, k->priv, sizeof(int64_t) * (size_t)k->out[0]->numel);
    return E2E_OK;
}

static e2e_status shape_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)))
        return st;
    const e2e_shape *xs = &k->in[0]->shape;
    const int r = xs->rank;
    int64_t start = 0, end = r;
    if (k->opset >= 15 && ((st = e2e_attr_int(k, "start", 0, &start)) ||
                           (st = e2e_attr_int(k, "end", r, &end))))
        return st;
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int n = end > start ? (int)(end - start) : 0;
    e2e_shape os = {.rank = 1, .dims = {n}};
    return publish_ints(k, xs->dims + start, n, &os);
}

static e2e_status size_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)))
        return st;
    e2e_shape os = {.rank = 0};
    return publish_ints(k, &k->in[0]->numel, 1, &os);
}

/* ---------------------------------------------------------------- Constant */

static e2e_status constant_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 0, 0)))
        return st;
    static const char *const names[] = {"value", "value_float", "value_floats", "value_int",
                                        "value_ints"};
    const e2e_attr *a = NULL;
    int which = -1;
    for (int i = 0; i < 5; i++) {
        const e2e_attr *t = e2e_node_attr(k->node, names[i]);
        if (!t)
            continue;
        if (a)
            return e2e_kfail(k, E2E_ERR_INVALID, "has both '%s' and '%s'", names[which], names[i]);
        a = t;
        which = i;
    }
    if (!a) {
        static const char *const other[] = {"sparse_value", "value_string", "value_strings"};
        for (int i = 0; i < 3; i++)
            if (e2e_node_attr(k->node, other[i]))
                return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "attribute '%s' is not supported", other[i]);
        return e2e_kfail(k, E2E_ERR_INVALID, "has no value attribute");
    }
    static const e2e_attr_type want[] = {E2E_ATTR_TENSOR, E2E_ATTR_FLOAT, E2E_ATTR_FLOATS,
                                         E2E_ATTR_INT, E2E_ATTR_INTS};
    if (a->type != want[which])
        return e2e_kfail(k, E2E_ERR_INVALID, "attribute '%s' has the wrong type", names[which]);
    e2e_shape s = {.rank = 0};
    e2e_dtype dt = E2E_FLOAT;
    const void *src = NULL;
    switch (which) {
    case 0:
        if (!a->t || !e2e_dtype_size(a->t->dtype))
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "the value tensor has an unsupported type");
        dt = a->t->dtype;
        s = a->t->shape;
        src = a->t->data;
        break;
    case 1: src = &a->f; break;
    case 2: s.rank = 1; s.dims[0] = a->n; src = a->floats; break;
    case 3: dt = E2E_INT64; src = &a->i; break;
    default: dt = E2E_INT64; s.rank = 1; s.dims[0] = a->n; src = a->ints; break;
    }
    if ((st = e2e_out_set(k, 0, dt, &s)))
        return st;
    k->priv = (void *)src; /* points into the model, which outlives the session */
    return E2E_OK;
}

static e2e_status constant_run(e2e_kernel *k)
{
    const e2e_value *y = k->out[0];
    if (y->numel)
        memcpy(y->data, k->priv, (size_t)y->numel * esize(y));
    return E2E_OK;
}

/* ---------------------------------------------------------------- ConstantOfShape */

typedef struct fill_priv {
    size_t esz;
    unsigned char value[8];
} fill_priv;

static e2e_status cos_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)))
        return st;
    int64_t sh[E2E_MAX_RANK];
    int n;
    if (k->in[0]->shape.rank != 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "the shape input must be 1-D (it has rank %d)",
                         k->in[0]->shape.rank);
    if ((st = e2e_input_ints(k, 0, sh, E2E_MAX_RANK, &n)))
        return st;
    e2e_shape os = {.rank = n};
    for (int i = 0; i < n; i++) {
        if (sh[i] < 0)
            return e2e_kfail(k, E2E_ERR_SHAPE, "shape entry %d is negative (%lld)", i, (long long)sh[i]);
        os.dims[i] = sh[i];
    }
    const e2e_tensor *t;
    if ((st = e2e_attr_tensor(k, "value", &t)))
        return st;
    fill_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    e2e_dtype dt = E2E_FLOAT;
    p->esz = 4;
    if (t) {
        if (e2e_shape_numel(&t->shape) != 1)
            return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'value' must hold one element");
        dt = t->dtype;
        p->esz = e2e_dtype_size(dt);
        if (!p->esz || p->esz > sizeof p->value)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "attribute 'value' has an unsupported type");
        memcpy(p->value, t->data, p->esz);
    }
    return e2e_out_set(k, 0, dt, &os);
}

static e2e_status fill_run(e2e_kernel *k)
{
    const fill_priv *p = k->priv;
    e2e_fill_elems(k->out[0]->data, p->value, p->esz, k->out[0]->numel);
    return E2E_OK;
}

/* ---------------------------------------------------------------- Range */

static e2e_status range_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 3, 3)))
        return st;
    const e2e_dtype dt = k->in[0]->dtype;
    for (int i = 0; i < 3; i++) {
        if ((st = e2e_check_dtype(k, i, E2E_FLOAT, E2E_INT64, E2E_INT32, E2E_UNDEFINED)))
            return st;
        if (k->in[i]->dtype != dt)
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d is %s, input 0 is %s", i,
                             e2e_dtype_name(k->in[i]->dtype), e2e_dtype_name(dt));
        if (k->in[i]->numel != 1)
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d must be a scalar", i);
    }
    int64_t count;
    if (dt == E2E_FLOAT) {
        float v[3];
        int c;
        for (int i = 0; i < 3; i++)
            if ((st = e2e_input_floats(k, i, &v[i], 1, &c)))
                return st;
        if (v[2] == 0.f)
            return e2e_kfail(k, E2E_ERR_INVALID, "delta is 0");
        float q = ceilf((v[1] - v[0]) / v[2]);
        if (!(q < (float)((int64_t)1 << 40)))
            return e2e_kfail(k, E2E_ERR_SHAPE, "the range %g..%g step %g is too long", v[0], v[1], v[2]);
        count = q > 0 ? (int64_t)q : 0;
    } else {
        int64_t v[3];
        int c;
        for (int i = 0; i < 3; i++)
            if ((st = e2e_input_ints(k, i, &v[i], 1, &c)))
                return st;
        if (v[2] == 0)
            return e2e_kfail(k, E2E_ERR_INVALID, "delta is 0");
        /* unsigned: spans between int64 extremes do not overflow */
        const bool up = v[2] > 0;
        uint64_t span = up ? (uint64_t)v[1] - (uint64_t)v[0] : (uint64_t)v[0] - (uint64_t)v[1];
        uint64_t step = up ? (uint64_t)v[2] : -(uint64_t)v[2];
        uint64_t cnt = (up ? v[1] > v[0] : v[1] < v[0]) ? span / step + (span % step != 0) : 0;
        if (cnt > ((uint64_t)1 << 40))
            return e2e_kfail(k, E2E_ERR_SHAPE, "the range %lld..%lld step %lld is too long",
                             (long long)v[0], (long long)v[1], (long long)v[2]);
        count = (int64_t)cnt;
    }
    e2e_shape os = {.rank = 1, .dims = {count}};
    return e2e_out_set(k, 0, dt, &os);
}

static e2e_status range_run(e2e_kernel *k)
{
    const int64_t n = k->out[0]->numel;
    switch (k->in[0]->dtype) {
    case E2E_FLOAT: {
        float s = *(const float *)k->in[0]->data, d = *(const float *)k->in[2]->data;
        float *y = k->out[0]->data;
        for (int64_t i = 0; i < n; i++)
            y[i] = s + (float)i * d;
        break;
    }
    case E2E_INT64: {
        int64_t s = *(const int64_t *)k->in[0]->data, d = *(const int64_t *)k->in[2]->data;
        int64_t *y = k->out[0]->data;
        for (int64_t i = 0; i < n; i++)
            y[i] = (int64_t)((uint64_t)s + (uint64_t)i * (uint64_t)d);
        break;
    }
    default: {
        int32_t s = *(const int32_t *)k->in[0]->data, d = *(const int32_t *)k->in[2]->data;
        int32_t *y = k->out[0]->data;
        for (int64_t i = 0; i < n; i++)
            y[i] = (int32_t)(s + i * d);
    }
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- Concat, Split */

/* One strided copy per input (Concat) or output (Split). */
typedef struct multi_priv {
    int n;
    e2e_xcopy x[];
} multi_priv;

static e2e_status multi_new(e2e_kernel *k, int n, multi_priv **out)
{
    multi_priv *p = calloc(1, sizeof *p + sizeof(e2e_xcopy) * (size_t)(n + 1));
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->n = n;
    k->priv = p;
    *out = p;
    return E2E_OK;
}

static e2e_status concat_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1 << 20)))
        return st;
    for (int i = 0; i < k->n_in; i++)
        if (!k->in[i])
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d is missing", i);
    const e2e_value *x0 = k->in[0];
    const int r = x0->shape.rank;
    int64_t axis;
    if (!e2e_node_attr(k->node, "axis") && k->opset >= 4)
        return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'axis' is required");
    if ((st = e2e_attr_int(k, "axis", 1, &axis)))
        return st;
    if (r == 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "cannot concatenate scalars");
    int a;
    if ((st = e2e_axis(k, axis, r, &a)))
        return st;
    e2e_shape os = x0->shape;
    os.dims[a] = 0;
    char s1[160], s2[160];
    for (int i = 0; i < k->n_in; i++) {
        const e2e_value *x = k->in[i];
        if (x->dtype != x0->dtype)
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d is %s, input 0 is %s", i,
                             e2e_dtype_name(x->dtype), e2e_dtype_name(x0->dtype));
        bool ok = x->shape.rank == r;
        for (int j = 0; ok && j < r; j++)
            ok = j == a || x->shape.dims[j] == x0->shape.dims[j];
        if (!ok)
            return e2e_kfail(k, E2E_ERR_SHAPE, "input %d (%s) does not match input 0 (%s) outside axis %d",
                             i, e2e_shape_str(&x->shape, s1, sizeof s1),
                             e2e_shape_str(&x0->shape, s2, sizeof s2), a);
        os.dims[a] += x->shape.dims[a];
    }
    if ((st = e2e_out_set(k, 0, x0->dtype, &os)))
        return st;
    multi_priv *p = NULL;
    if ((st = multi_new(k, k->n_in, &p)))
        return st;
    int64_t ostr[E2E_MAX_RANK], istr[E2E_MAX_RANK], off = 0;
    e2e_contig_strides(&os, ostr);
    for (int i = 0; i < k->n_in; i++) {
        const e2e_value *x = k->in[i];
        e2e_contig_strides(&x->shape, istr);
        e2e_xcopy_init(&p->x[i], r, x->shape.dims, istr, ostr, 0, off * ostr[a], esize(x));
        off += x->shape.dims[a];
    }
    return E2E_OK;
}

static e2e_status concat_run(e2e_kernel *k)
{
    const multi_priv *p = k->priv;
    for (int i = 0; i < p->n; i++)
        e2e_xcopy_run(&p->x[i], k->in[i]->data, k->out[0]->data);
    return E2E_OK;
}

static e2e_status split_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, k->opset >= 13 || k->opset < 2 ? 2 : 1)))
        return st;
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    const int n = k->n_out;
    int64_t axis, num = 0;
    if ((st = e2e_attr_int(k, "axis", 0, &axis)))
        return st;
    if (k->opset >= 18 && (st = e2e_attr_int(k, "num_outputs", 0, &num)))
        return st;
    int a;
    if ((st = e2e_axis(k, axis, r, &a)))
        return st;
    if (n < 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "has no outputs");
    int64_t *sz = calloc((size_t)n + 1, sizeof(int64_t));
    if (!sz)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    const int64_t dim = x->shape.dims[a];
    char sb[160];
    int ns = -1;
    if (k->opset < 13 && k->opset >= 2) {
        const int64_t *v;
        if ((st = e2e_attr_ints(k, "split", &v, &ns)))
            goto fail;
        if (!v)
            ns = -1;
        else if (ns == n)
            memcpy(sz, v, sizeof(int64_t) * (size_t)n);
    } else if (k->n_in > 1 && k->in[1]) {
        if (k->in[1]->numel != n) {
            ns = (int)k->in[1]->numel;
        } else if ((st = e2e_input_ints(k, 1, sz, n, &ns))) {
            goto fail;
        }
    }
    if (ns >= 0 && num)
        st = e2e_kfail(k, E2E_ERR_INVALID, "has both 'split' and 'num_outputs'");
    else if (ns >= 0 && ns != n)
        st = e2e_kfail(k, E2E_ERR_INVALID, "split has %d sizes for %d outputs", ns, n);
    else if (num && num != n)
        st = e2e_kfail(k, E2E_ERR_INVALID, "num_outputs is %lld but the node has %d outputs",
                       (long long)num, n);
    if (st)
        goto fail;
    if (ns >= 0) {
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            if (sz[i] < 0) {
                st = e2e_kfail(k, E2E_ERR_INVALID, "split size %d is negative (%lld)", i, (long long)sz[i]);
                goto fail;
            }
            if (sz[i] > dim - sum) { /* also keeps the sum from overflowing */
                st = e2e_kfail(k, E2E_ERR_SHAPE, "split sizes exceed axis %d of %s (%lld)", a,
                               e2e_shape_str(&x->shape, sb, sizeof sb), (long long)dim);
                goto fail;
            }
            sum += sz[i];
        }
        if (sum != dim) {
            st = e2e_kfail(k, E2E_ERR_SHAPE, "split sizes add up to %lld, axis %d of %s has %lld",
                           (long long)sum, a, e2e_shape_str(&x->shape, sb, sizeof sb), (long long)dim);
            goto fail;
        }
    } else if (num) {
        /* chunks of ceil(dim / n); the last one smaller */
        int64_t c = (dim + n - 1) / n;
        for (int i = 0; i < n; i++) {
            int64_t left = dim - c * i;
            sz[i] = left < 0 ? 0 : left < c ? left : c;
        }
        if (n > 1 && dim - c * (n - 1) <= 0 && dim > 0) {
            st = e2e_kfail(k, E2E_ERR_SHAPE, "axis %d of %s (%lld) cannot be split into %d non-empty parts",
                           a, e2e_shape_str(&x->shape, sb, sizeof sb), (long long)dim, n);
            goto fail;
        }
    } else {
        if (dim % n) {
            st = e2e_kfail(k, E2E_ERR_SHAPE, "axis %d of %s (%lld) does not split into %d equal parts", a,
                           e2e_shape_str(&x->shape, sb, sizeof sb), (long long)dim, n);
            goto fail;
        }
        for (int i = 0; i < n; i++)
            sz[i] = dim / n;
    }
    multi_priv *p = NULL;
    if ((st = multi_new(k, n, &p)))
        goto fail;
    int64_t istr[E2E_MAX_RANK], ostr[E2E_MAX_RANK], off = 0;
    e2e_contig_strides(&x->shape, istr);
    for (int i = 0; i < n; i++) {
        e2e_shape os = x->shape;
        os.dims[a] = sz[i];
        if ((st = e2e_out_set(k, i, x->dtype, &os)))
            goto fail;
        e2e_contig_strides(&os, ostr);
        if (k->out[i])
            e2e_xcopy_init(&p->x[i], r, os.dims, istr, ostr, off * istr[a], 0, esize(x));
        off += sz[i];
    }
fail:
    free(sz);
    return st;
}

static e2e_status split_run(e2e_kernel *k)
{
    const multi_priv *p = k->priv;
    for (int i = 0; i < p->n; i++)
        if (k->out[i])
            e2e_xcopy_run(&p->x[i], k->in[0]->data, k->out[i]->data);
    return E2E_OK;
}

/* ---------------------------------------------------------------- Gather */

typedef struct gather_priv {
    int64_t outer, N, inner, M;
    size_t esz;
} gather_priv;

/* Index m of the indices tensor, or INT64_MIN when out of range. */
static inline int64_t gather_index(const e2e_value *ix, int64_t m, int64_t N)
{
    int64_t i = ix->dtype == E2E_INT64 ? ((const int64_t *)ix->data)[m] : ((const int32_t *)ix->data)[m];
    if (i < 0)
        i += N;
    return i >= 0 && i < N ? i : INT64_MIN;
}

static e2e_status gather_check(e2e_kernel *k, const gather_priv *p, e2e_status st)
{
    const e2e_value *ix = k->in[1];
    for (int64_t m = 0; m < p->M; m++)
        if (gather_index(ix, m, p->N) == INT64_MIN) {
            int64_t v = ix->dtype == E2E_INT64 ? ((const int64_t *)ix->data)[m]
                                               : ((const int32_t *)ix->data)[m];
            return e2e_kfail(k, st, "index %lld (at position %lld) is out of range [-%lld, %lld]",
                             (long long)v, (long long)m, (long long)p->N, (long long)p->N - 1);
        }
    return E2E_OK;
}

static e2e_status gather_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 2)) ||
        (st = e2e_check_dtype(k, 1, E2E_INT64, E2E_INT32, E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[0], *ix = k->in[1];
    const int r = x->shape.rank;
    int64_t axis;
    if ((st = e2e_attr_int(k, "axis", 0, &axis)))
        return st;
    if (r == 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "cannot gather from a scalar");
    int a;
    if ((st = e2e_axis(k, axis, r, &a)))
        return st;
    const int orank = r - 1 + ix->shape.rank;
    if (orank > E2E_MAX_RANK)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the output would have rank %d (max %d)", orank, E2E_MAX_RANK);
    e2e_shape os = {.rank = orank};
    int o = 0;
    gather_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->outer = p->inner = 1;
    for (int i = 0; i < a; i++) {
        os.dims[o++] = x->shape.dims[i];
        p->outer *= x->shape.dims[i];
    }
    for (int i = 0; i < ix->shape.rank; i++)
        os.dims[o++] = ix->shape.dims[i];
    for (int i = a + 1; i < r; i++) {
        os.dims[o++] = x->shape.dims[i];
        p->inner *= x->shape.dims[i];
    }
    p->N = x->shape.dims[a];
    p->M = ix->numel;
    p->esz = esize(x);
    if ((st = e2e_out_set(k, 0, x->dtype, &os)))
        return st;
    if (ix->is_const && (st = gather_check(k, p, E2E_ERR_INVALID)))
        return st;
    return E2E_OK;
}

#define GATHER_LOOP(T)                                                                             \
    do {                                                                                           \
        const T *s_ = (const T *)src;                                                              \
        T *d_ = (T *)dst;                                                                          \
        for (int64_t o = 0; o < p->outer; o++)                                                     \
            for (int64_t m = 0; m < M; m++)                                                        \
                d_[o * M + m] = s_[o * N + gather_index(ix, m, N)];                                \
    } while (0)

static e2e_status gather_run(e2e_kernel *k)
{
    const gather_priv *p = k->priv;
    const e2e_value *ix = k->in[1];
    e2e_status st;
    /* indices computed at run time: a bad one is the caller's data */
    if (!ix->is_const && (st = gather_check(k, p, E2E_ERR_ARGUMENT)))
        return st;
    const char *src = k->in[0]->data;
    char *dst = k->out[0]->data;
    const int64_t M = p->M, N = p->N;
    const size_t rb = (size_t)p->inner * p->esz;
    if (!rb || !M || !p->outer)
        return E2E_OK;
    if (rb == 4)
        GATHER_LOOP(uint32_t);
    else if (rb == 8)
        GATHER_LOOP(uint64_t);
    else
        for (int64_t o = 0; o < p->outer; o++)
            for (int64_t m = 0; m < M; m++)
                memcpy(dst + (size_t)(o * M + m) * rb, src + (size_t)(o * N + gather_index(ix, m, N)) * rb,
                       rb);
    return E2E_OK;
}

/* ---------------------------------------------------------------- table */

const e2e_op_def e2e_ops_shape[] = {
    {"Reshape", reshape_prepare, view_run, NULL, E2E_OP_ALIAS},
    {"Flatten", flatten_prepare, view_run, NULL, E2E_OP_ALIAS},
    {"Squeeze", squeeze_prepare, view_run, NULL, E2E_OP_ALIAS},
    {"Unsqueeze", unsqueeze_prepare, view_run, NULL, E2E_OP_ALIAS},
    {"Shape", shape_prepare, ints_run, free, 0},
    {"Size", size_prepare, ints_run, free, 0},
    {"Constant", constant_prepare, constant_run, NULL, 0},
    {"ConstantOfShape", cos_prepare, fill_run, free, 0},
    {"Range", range_prepare, range_run, NULL, 0},
    {"Concat", concat_prepare, concat_run, free, 0},
    {"Split", split_prepare, split_run, free, 0},
    {"Gather", gather_prepare, gather_run, free, 0},
    {"Transpose", e2e_transpose_prepare, e2e_xcopy_kernel_run, free, 0},
    {"Slice", e2e_slice_prepare, e2e_xcopy_kernel_run, free, 0},
    {"Expand", e2e_expand_prepare, e2e_xcopy_kernel_run, free, 0},
    {"Tile", e2e_tile_prepare, e2e_xcopy_kernel_run, free, 0},
    {"Pad", e2e_pad_prepare, e2e_pad_run, e2e_pad_release, 0},
    {"DepthToSpace", e2e_depth_to_space_prepare, e2e_xcopy_kernel_run, free, 0},
    {"SpaceToDepth", e2e_space_to_depth_prepare, e2e_xcopy_kernel_run, free, 0},
    {0},
};
