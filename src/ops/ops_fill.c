/* Outputs written by position: EyeLike, Trilu, OneHot, and the running sum CumSum.

   EyeLike, Trilu: any element type (EyeLike's dtype double gives float, as the loader
   reads double tensors as float). OneHot: indices and depth float32, int32 or int64
   (floats truncated, as ONNX Runtime casts them), values of any type; an index outside
   [-depth, depth-1] gives a row of off values (the spec), a negative one counts from the
   end. OneHot's depth decides the output shape and must be constant. Trilu's k and
   CumSum's axis may be computed at run. CumSum: float32 (summed in float, in order),
   int32 and int64 (wrapping). */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* A scalar (or one-element) integer input read now: int64/int32, or float truncated. */
static e2e_status scalar_int(e2e_kernel *k, int i, bool allow_float, int64_t *out)
{
    const e2e_value *v = k->in[i];
    if (v->numel != 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "input %d must hold one value, it has %lld", i,
                         (long long)v->numel);
    switch (v->dtype) {
    case E2E_INT64: *out = *(const int64_t *)v->data; return E2E_OK;
    case E2E_INT32: *out = *(const int32_t *)v->data; return E2E_OK;
    case E2E_FLOAT:
        if (allow_float) {
            float f = *(const float *)v->data;
            if (!(f > -9.2e18f && f < 9.2e18f))
                return e2e_kfail(k, E2E_ERR_INVALID, "input %d (%g) is not a usable integer", i, f);
            *out = (int64_t)f;
            return E2E_OK;
        }
        /* fall through */
    default:
        return e2e_kfail(k, E2E_ERR_INVALID, "input %d must be int64 or int32%s, not %s", i,
                         allow_float ? " or float" : "", e2e_dtype_name(v->dtype));
    }
}

/* ---------------------------------------------------------------- EyeLike */

static e2e_status eyelike_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)))
        return st;
    const e2e_value *x = k->in[0];
    int64_t dt, kk;
    if ((st = e2e_attr_int(k, "dtype", x->dtype, &dt)) || (st = e2e_attr_int(k, "k", 0, &kk)))
        return st;
    if (dt == 11)
        dt = E2E_FLOAT; /* double: computed as float, as the loader reads double tensors */
    if (dt <= 0 || dt > 64 || !e2e_dtype_size((e2e_dtype)dt))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "output data type %lld is not supported", (long long)dt);
    if (x->shape.rank != 2)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the input must be 2-D (it has rank %d)", x->shape.rank);
    int64_t *p = malloc(sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    *p = kk;
    k->priv = p;
    return e2e_out_set(k, 0, (e2e_dtype)dt, &x->shape);
}

/* Writes the value one of type dt into y[i]. */
static void put_one(void *y, e2e_dtype dt, int64_t i)
{
    switch (dt) {
    case E2E_FLOAT: ((float *)y)[i] = 1.f; break;
    case E2E_INT32: ((int32_t *)y)[i] = 1; break;
    case E2E_INT64: ((int64_t *)y)[i] = 1; break;
    default: ((uint8_t *)y)[i] = 1; /* uint8, int8, bool */
    }
}

static e2e_status eyelike_run(e2e_kernel *k)
{
    const e2e_value *y = k->out[0];
    const int64_t rows = y->shape.dims[0], cols = y->shape.dims[1], kk = *(const int64_t *)k->priv;
    memset(y->data, 0, (size_t)y->numel * e2e_dtype_size(y->dtype));
    for (int64_t i = 0; i < rows; i++)
        if (i + kk >= 0 && i + kk < cols)
            put_one(y->data, y->dtype, i * cols + i + kk);
    return E2E_OK;
}

/* ---------------------------------------------------------------- Trilu */

static e2e_status trilu_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 2)) ||
        (st = e2e_check_dtype(k, 1, E2E_INT64, E2E_INT32, E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[0];
    int64_t upper;
    if ((st = e2e_attr_int(k, "upper", 1, &upper)))
        return st;
    if (x->shape.rank < 2)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the input must have rank 2 or more (it has %d)", x->shape.rank);
    if (k->n_in > 1 && k->in[1] && k->in[1]->numel != 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "input 1 (k) must hold one value, it has %lld",
                         (long long)k->in[1]->numel);
    if (!e2e_dtype_size(x->dtype))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "input type %s is not supported", e2e_dtype_name(x->dtype));
    int64_t *p = malloc(sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    *p = upper;
    k->priv = p;
    return e2e_out_set(k, 0, x->dtype, &x->shape);
}

static e2e_status trilu_run(e2e_kernel *k)
{
    const e2e_value *x = k->in[0];
    const bool upper = *(const int64_t *)k->priv != 0;
    int64_t kk = 0;
    e2e_status st;
    if (k->n_in > 1 && k->in[1] && (st = scalar_int(k, 1, false, &kk)))
        return st;
    const int r = x->shape.rank;
    const int64_t rows = x->shape.dims[r - 2], cols = x->shape.dims[r - 1];
    const int64_t mats = rows && cols ? x->numel / (rows * cols) : 0;
    const size_t esz = e2e_dtype_size(x->dtype), rb = (size_t)cols * esz;
    const char *src = x->data;
    char *dst = k->out[0]->data;
    /* kk beyond +-(rows + cols) keeps all or nothing: clamp so j bounds stay in int64 */
    if (kk > rows + cols)
        kk = rows + cols;
    if (kk < -(rows + cols))
        kk = -(rows + cols);
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++) {
            const char *s = src + (size_t)(m * rows + i) * rb;
            char *d = dst + (size_t)(m * rows + i) * rb;
            /* kept columns: upper j >= i + kk, lower j <= i + kk */
            int64_t lo = upper ? i + kk : 0, hi = upper ? cols : i + kk + 1;
            lo = lo < 0 ? 0 : lo > cols ? cols : lo;
            hi = hi < lo ? lo : hi > cols ? cols : hi;
            memset(d, 0, (size_t)lo * esz);
            memcpy(d + (size_t)lo * esz, s + (size_t)lo * esz, (size_t)(hi - lo) * esz);
            memset(d + (size_t)hi * esz, 0, (size_t)(cols - hi) * esz);
        }
    return E2E_OK;
}

/* ---------------------------------------------------------------- OneHot */

typedef struct onehot_priv {
    int64_t outer, depth, inner;
} onehot_priv;

static e2e_status onehot_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 3, 3)) ||
        (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT32, E2E_INT64, E2E_UNDEFINED)))
        return st;
    const e2e_value *ix = k->in[0], *dv = k->in[1], *vals = k->in[2];
    const int r = ix->shape.rank;
    int64_t axis, depth;
    if ((st = e2e_attr_int(k, "axis", -1, &axis)))
        return st;
    if (!dv->is_const)
        return e2e_kfail(k, E2E_ERR_DYNAMIC, "input 1 (depth) decides the output shape but is not "
                         "constant (fix it at session creation)");
    if ((st = scalar_int(k, 1, true, &depth)))
        return st;
    if (depth < 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "depth %lld must be positive", (long long)depth);
    if (vals->numel != 2 || vals->shape.rank != 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "input 2 (values) must be [off_value, on_value]");
    if (!e2e_dtype_size(vals->dtype))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "values of type %s are not supported",
                         e2e_dtype_name(vals->dtype));
    int a;
    if ((st = e2e_axis(k, axis, r + 1, &a)))
        return st;
    if (r + 1 > E2E_MAX_RANK)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the output would have rank %d (max %d)", r + 1, E2E_MAX_RANK);
    onehot_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->outer = p->inner = 1;
    p->depth = depth;
    e2e_shape os = {.rank = r + 1};
    for (int i = 0, j = 0; i <= r; i++) {
        if (i == a) {
            os.dims[i] = depth;
            continue;
        }
        os.dims[i] = ix->shape.dims[j++];
        if (i < a)
            p->outer *= os.dims[i];
        else
            p->inner *= os.dims[i];
    }
    return e2e_out_set(k, 0, vals->dtype, &os);
}

static e2e_status onehot_run(e2e_kernel *k)
{
    const onehot_priv *p = k->priv;
    const e2e_value *ix = k->in[0];
    const size_t esz = e2e_dtype_size(k->in[2]->dtype);
    const char *off = k->in[2]->data, *on = off + esz;
    char *y = k->out[0]->data;
    const int64_t d = p->depth, inner = p->inner;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const int64_t m = o * inner + in;
            int64_t v;
            if (ix->dtype == E2E_FLOAT) {
                float f = ((const float *)ix->data)[m];
                v = f > -9.2e18f && f < 9.2e18f ? (int64_t)f : INT64_MIN; /* NaN, huge: off */
            } else {
                v = ix->dtype == E2E_INT64 ? ((const int64_t *)ix->data)[m] : ((const int32_t *)ix->data)[m];
            }
            if (v < 0 && v >= -d)
                v += d;
            for (int64_t j = 0; j < d; j++)
                memcpy(y + (size_t)((o * d + j) * inner + in) * esz, j == v ? on : off, esz);
        }
    return E2E_OK;
}

/* ---------------------------------------------------------------- CumSum */

static e2e_status cumsum_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 2)) ||
        (st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT32, E2E_INT64, E2E_UNDEFINED)) ||
        (st = e2e_check_dtype(k, 1, E2E_INT64, E2E_INT32, E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[0];
    int64_t ex, rev;
    if ((st = e2e_attr_int(k, "exclusive", 0, &ex)) || (st = e2e_attr_int(k, "reverse", 0, &rev)))
        return st;
    if (x->shape.rank == 0)
        return e2e_kfail(k, E2E_ERR_SHAPE, "the input is a scalar; an axis is needed");
    if (k->in[1]->numel != 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "input 1 (axis) must hold one value, it has %lld",
                         (long long)k->in[1]->numel);
    if (k->in[1]->is_const) { /* a bad constant axis fails now */
        int64_t axis;
        int a;
        if ((st = scalar_int(k, 1, false, &axis)) || (st = e2e_axis(k, axis, x->shape.rank, &a)))
            return st;
    }
    int64_t *p = malloc(2 * sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p[0] = ex;
    p[1] = rev;
    k->priv = p;
    return e2e_out_set(k, 0, x->dtype, &x->shape);
}

#define CUMSUM_LOOP(T, ACC)                                                                        \
    do {                                                                                           \
        const T *x_ = x;                                                                           \
        T *y_ = y;                                                                                 \
        for (int64_t o = 0; o < outer; o++)                                                        \
            for (int64_t in = 0; in < inner; in++) {                                               \
                ACC s = 0;                                                                         \
                for (int64_t t = 0; t < n; t++) {                                                  \
                    const int64_t i = o * n * inner + (rev ? n - 1 - t : t) * inner + in;          \
                    const ACC v = (ACC)x_[i];                                                      \
                    if (ex) {                                                                      \
                        y_[i] = (T)s;                                                              \
                        s += v;                                                                    \
                    } else {                                                                       \
                        s += v;                                                                    \
                        y_[i] = (T)s;                                                              \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
    } while (0)

static e2e_status cumsum_run(e2e_kernel *k)
{
    const int64_t *p = k->priv;
    const bool ex = p[0] != 0, rev = p[1] != 0;
    const e2e_value *xv = k->in[0];
    int64_t axis;
    int a;
    e2e_status st;
    if ((st = scalar_int(k, 1, false, &axis)) || (st = e2e_axis(k, axis, xv->shape.rank, &a)))
        return st;
    int64_t outer = 1, inner = 1;
    const int64_t n = xv->shape.dims[a];
    for (int i = 0; i < a; i++)
        outer *= xv->shape.dims[i];
    for (int i = a + 1; i < xv->shape.rank; i++)
        inner *= xv->shape.dims[i];
    const void *x = xv->data;
    void *y = k->out[0]->data;
    if (xv->dtype == E2E_FLOAT)
        CUMSUM_LOOP(float, float);
    else if (xv->dtype == E2E_INT32)
        CUMSUM_LOOP(int32_t, uint32_t);
    else
        CUMSUM_LOOP(int64_t, uint64_t);
    return E2E_OK;
}

/* ---------------------------------------------------------------- table */

const e2e_op_def e2e_ops_fill[] = {
    {"EyeLike", eyelike_prepare, eyelike_run, free, 0},
    {"Trilu", trilu_prepare, trilu_run, free, 0},
    {"OneHot", onehot_prepare, onehot_run, free, 0},
    {"CumSum", cumsum_prepare, cumsum_run, free, 0},
    {0},
};
