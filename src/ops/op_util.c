/* Helpers shared by the kernels: attributes, input checks, shapes, broadcasting. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/op.h"
#include "ops/vmath.h"

static const char *attr_type_name(e2e_attr_type t)
{
    static const char *names[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR",
                                  "GRAPH", "FLOATS", "INTS", "STRINGS"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

e2e_status e2e_kfail(e2e_kernel *k, e2e_status st, const char *fmt, ...)
{
    if (!k->err)
        return st;
    char reason[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return e2e_fail(k->err, st, "%s: node \"%s\" (%s): %s", k->ctx->model_name ? k->ctx->model_name : "model",
                    k->node->name, k->node->op_type, reason);
}

static const e2e_attr *typed_attr(e2e_kernel *k, const char *name, e2e_attr_type want,
                                  e2e_status *st)
{
    const e2e_attr *a = e2e_node_attr(k->node, name);
    *st = E2E_OK;
    if (a && a->type != want) {
        *st = e2e_kfail(k, E2E_ERR_INVALID, "attribute '%s' has type %s, expected %s", name,
                        attr_type_name(a->type), attr_type_name(want));
        return NULL;
    }
    return a;
}

e2e_status e2e_attr_int(e2e_kernel *k, const char *name, int64_t def, int64_t *out)
{
    e2e_status st;
    const e2e_attr *a = typed_attr(k, name, E2E_ATTR_INT, &st);
    *out = a ? a->i : def;
    return st;
}

e2e_status e2e_attr_float(e2e_kernel *k, const char *name, float def, float *out)
{
    e2e_status st;
    const e2e_attr *a = typed_attr(k, name, E2E_ATTR_FLOAT, &st);
    *out = a ? a->f : def;
    return st;
}

e2e_status e2e_attr_ints(e2e_kernel *k, const char *name, const int64_t **vals, int *n)
{
    e2e_status st;
    const e2e_attr *a = typed_attr(k, name, E2E_ATTR_INTS, &st);
    *vals = a ? a->ints : NULL;
    *n = a ? a->n : 0;
    return st;
}

e2e_status e2e_attr_floats(e2e_kernel *k, const char *name, const float **vals, int *n)
{
    e2e_status st;
    const e2e_attr *a = typed_attr(k, name, E2E_ATTR_FLOATS, &st);
    *vals = a ? a->floats : NULL;
    *n = a ? a->n : 0;
    return st;
}

e2e_status e2e_attr_string(e2e_kernel *k, const char *name, const char *def, const char **out)
{
    e2e_status st;
    const e2e_attr *a = typed_attr(k, name, E2E_ATTR_STRING, &st);
    *out = a ? a->s : def;
    return st;
}

e2e_status e2e_attr_tensor(e2e_kernel *k, const char *name, const e2e_tensor **out)
{
    e2e_status st;
    const e2e_attr *a = typed_attr(k, name, E2E_ATTR_TENSOR, &st);
    *out = a ? a->t : NULL;
    return st;
}

e2e_status e2e_check_inputs(e2e_kernel *k, int min, int max)
{
    if (k->n_in < min || k->n_in > max)
        return e2e_kfail(k, E2E_ERR_INVALID, "has %d inputs, expected %d to %d", k->n_in, min, max);
    for (int i = 0; i < min; i++)
        if (!k->in[i])
            return e2e_kfail(k, E2E_ERR_INVALID, "required input %d is missing", i);
    return E2E_OK;
}

e2e_status e2e_check_dtype(e2e_kernel *k, int i, ...)
{
    if (i >= k->n_in || !k->in[i])
        return E2E_OK;
    e2e_dtype have = k->in[i]->dtype;
    va_list ap;
    va_start(ap, i);
    for (;;) {
        int t = va_arg(ap, int);
        if (t == E2E_UNDEFINED)
            break;
        if (t == (int)have) {
            va_end(ap);
            return E2E_OK;
        }
    }
    va_end(ap);
    return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "input %d has unsupported type %s", i,
                     e2e_dtype_name(have));
}

e2e_status e2e_input_ints(e2e_kernel *k, int i, int64_t *buf, int max, int *n)
{
    const e2e_value *v = i < k->n_in ? k->in[i] : NULL;
    if (!v)
        return e2e_kfail(k, E2E_ERR_INVALID, "input %d is missing", i);
    if (!v->is_const)
        return e2e_kfail(k, E2E_ERR_DYNAMIC,
                         "input %d decides an output shape but is not constant "
                         "(fix it at session creation)", i);
    if (v->dtype != E2E_INT64 && v->dtype != E2E_INT32)
        return e2e_kfail(k, E2E_ERR_INVALID, "input %d must be int64 or int32, not %s", i,
                         e2e_dtype_name(v->dtype));
    if (v->numel > max)
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %d has %lld values, at most %d allowed", i,
                         (long long)v->numel, max);
    for (int64_t j = 0; j < v->numel; j++)
        buf[j] = v->dtype == E2E_INT64 ? ((const int64_t *)v->data)[j]
                                       : ((const int32_t *)v->data)[j];
    *n = (int)v->numel;
    return E2E_OK;
}

e2e_status e2e_input_floats(e2e_kernel *k, int i, float *buf, int max, int *n)
{
    const e2e_value *v = i < k->n_in ? k->in[i] : NULL;
    if (!v)
        return e2e_kfail(k, E2E_ERR_INVALID, "input %d is missing", i);
    if (!v->is_const)
        return e2e_kfail(k, E2E_ERR_DYNAMIC,
                         "input %d decides an output shape but is not constant "
                         "(fix it at session creation)", i);
    if (v->dtype != E2E_FLOAT)
        return e2e_kfail(k, E2E_ERR_INVALID, "input %d must be float, not %s", i,
                         e2e_dtype_name(v->dtype));
    if (v->numel > max)
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %d has %lld values, at most %d allowed", i,
                         (long long)v->numel, max);
    memcpy(buf, v->data, (size_t)v->numel * sizeof(float));
    *n = (int)v->numel;
    return E2E_OK;
}

e2e_status e2e_out_set(e2e_kernel *k, int i, e2e_dtype dt, const e2e_shape *s)
{
    if (i >= k->n_out || !k->out[i])
        return E2E_OK; /* optional output not wanted */
    if (s->rank < 0 || s->rank > E2E_MAX_RANK)
        return e2e_kfail(k, E2E_ERR_SHAPE, "output %d would have rank %d (max %d)", i, s->rank,
                         E2E_MAX_RANK);
    int64_t n = e2e_shape_numel(s);
    if (n < 0) {
        char b[160];
        return e2e_kfail(k, E2E_ERR_SHAPE, "output %d has an invalid shape %s", i,
                         e2e_shape_str(s, b, sizeof b));
    }
    size_t nb = (size_t)n * e2e_dtype_size(dt);
    if (k->ctx->max_bytes && nb > k->ctx->max_bytes)
        return e2e_kfail(k, E2E_ERR_LIMIT, "output %d needs %zu bytes, above the limit of %zu", i, nb,
                         k->ctx->max_bytes);
    k->out[i]->dtype = dt;
    k->out[i]->shape = *s;
    k->out[i]->numel = n;
    return E2E_OK;
}

e2e_status e2e_axis(e2e_kernel *k, int64_t axis, int rank, int *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank > 0 ? rank : 1))
        return e2e_kfail(k, E2E_ERR_INVALID, "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
    *out = (int)a;
    return E2E_OK;
}

e2e_status e2e_matmul_shape_of(e2e_kernel *k, const e2e_shape *as, const e2e_shape *bs,
                               e2e_matmul_shape *out)
{
    char s1[160], s2[160];
    if (as->rank < 1 || bs->rank < 1)
        return e2e_kfail(k, E2E_ERR_SHAPE, "operands must have rank >= 1 (A is %s, B is %s)",
                         e2e_shape_str(as, s1, sizeof s1), e2e_shape_str(bs, s2, sizeof s2));
    e2e_shape a = *as, b = *bs; /* promoted shapes */
    const bool a1 = a.rank == 1, b1 = b.rank == 1;
    if (a1) {
        a.rank = 2;
        a.dims[1] = a.dims[0];
        a.dims[0] = 1;
    }
    if (b1) {
        b.rank = 2;
        b.dims[1] = 1;
    }
    out->M = a.dims[a.rank - 2];
    out->K = a.dims[a.rank - 1];
    out->N = b.dims[b.rank - 1];
    const int64_t KB = b.dims[b.rank - 2];
    if (out->K != KB)
        return e2e_kfail(k, E2E_ERR_SHAPE, "inner dimensions differ: A is %s, B is %s (%lld != %lld)",
                         e2e_shape_str(as, s1, sizeof s1), e2e_shape_str(bs, s2, sizeof s2),
                         (long long)out->K, (long long)KB);
    out->ab = (e2e_shape){.rank = a.rank - 2};
    out->bb = (e2e_shape){.rank = b.rank - 2};
    memcpy(out->ab.dims, a.dims, sizeof(int64_t) * (size_t)out->ab.rank);
    memcpy(out->bb.dims, b.dims, sizeof(int64_t) * (size_t)out->bb.rank);
    e2e_status st = e2e_broadcast(k, &out->ab, &out->bb, &out->ob);
    if (st)
        return st;
    if (out->ob.rank + 2 > E2E_MAX_RANK)
        return e2e_kfail(k, E2E_ERR_SHAPE, "output rank %d exceeds %d", out->ob.rank + 2,
                         E2E_MAX_RANK);
    out->ys = out->ob;
    if (!a1)
        out->ys.dims[out->ys.rank++] = out->M;
    if (!b1)
        out->ys.dims[out->ys.rank++] = out->N;
    return E2E_OK;
}

e2e_status e2e_broadcast(e2e_kernel *k, const e2e_shape *a, const e2e_shape *b, e2e_shape *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    e2e_shape o = {.rank = r};
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1)
            o.dims[i] = da;
        else if (da == 1)
            o.dims[i] = db;
        else {
            char sa[160], sb[160];
            return e2e_kfail(k, E2E_ERR_SHAPE, "shapes %s and %s do not broadcast",
                             e2e_shape_str(a, sa, sizeof sa), e2e_shape_str(b, sb, sizeof sb));
        }
    }
    *out = o;
    return E2E_OK;
}

void e2e_broadcast_strides(const e2e_shape *in, const e2e_shape *out, int64_t *strides)
{
    int64_t s = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
        int ii = i - (out->rank - in->rank);
        if (ii < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = in->dims[ii] == 1 && out->dims[i] != 1 ? 0 : s;
        s *= in->dims[ii];
    }
}

void e2e_act_apply(e2e_act act, float alpha, float beta, float *x, int64_t n)
{
    switch (act) {
    case E2E_ACT_NONE:
        break;
    case E2E_ACT_RELU: /* as the Relu kernel (ops_unary.c): a NaN stays NaN */
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] < 0.f ? 0.f : x[i];
        break;
    case E2E_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] >= 0.f ? x[i] : alpha * x[i];
        break;
    case E2E_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            x[i] = e2e_sigmoidf(x[i]);
        break;
    case E2E_ACT_CLIP:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] < alpha ? alpha : x[i] > beta ? beta : x[i];
        break;
    case E2E_ACT_GELU: /* the same formula as the Gelu kernel and the fused MatMul epilogue */
        e2e_gelu_f32(x, x, n);
        break;
    }
}
