/* Elementwise operators of one tensor (output shape = input shape).

   float: Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSigmoid, HardSwish, Elu, Selu, Softplus,
          Sqrt, Exp, Log, Reciprocal, Floor, Ceil, Sin, Cos, Atan, Erf, Round (halves to
          even), Gelu (opset 20, approximate "none" | "tanh")
   float, int32, int64: Neg, Abs, Relu, Clip, Sign
   float -> bool: IsNaN, IsInf (detect_positive, detect_negative)
   bool: Not
   any type: Identity, Dropout (inference: y = x, optional mask of ones), Cast (float, int64,
          int32, int8, uint8, bool; float -> integer truncates toward zero, NaN -> 0,
          out-of-range values saturate at the int64 range then wrap to the narrower type)

   Clip: opset < 11 reads the min/max attributes; opset >= 11 reads the optional min/max
   inputs, at prepare when constant, otherwise at every run (they must be one-element).
   Dropout: opset >= 12 has optional ratio and training_mode inputs. training_mode = true
   with ratio > 0 needs random numbers, which an inference engine does not produce: it fails
   with E2E_ERR_UNSUPPORTED (at prepare when both are constant, otherwise at run).
   Every kernel reads element i before writing element i, so all may run in place. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "ops/vmath.h"

typedef enum un_op {
    U_RELU, U_LEAKY, U_SIGMOID, U_TANH, U_CLIP, U_HSIGMOID, U_HSWISH, U_ELU, U_SELU,
    U_SOFTPLUS, U_SQRT, U_EXP, U_LOG, U_NEG, U_ABS, U_RECIP, U_FLOOR, U_CEIL, U_SIN, U_COS,
    U_ERF, U_NOT, U_GELU, U_GELU_TANH, U_ATAN, U_SIGN, U_ROUND, U_ISNAN, U_ISINF
} un_op;

typedef struct un_priv {
    un_op op;
    e2e_dtype dt;
    float alpha, beta, gamma;
    /* Clip: bounds (float or integer by dt); *_in >= 0: read that input at run */
    float lo, hi;
    int64_t ilo, ihi;
    int lo_in, hi_in;
    bool inf_pos, inf_neg; /* IsInf: which infinities count */
} un_priv;

/* Round half to even without depending on the floating-point environment's rounding mode. */
static float round_even(float x)
{
    float r = floorf(x), d = x - r;
    if (d > 0.5f || (d == 0.5f && fmodf(r, 2.f) != 0.f))
        r += 1.f;
    return r;
}

/* ---------------------------------------------------------------- float kernels */

static void run_float(const un_priv *p, const float *x, float *y, int64_t n)
{
    const float a = p->alpha, b = p->beta, g = p->gamma;
    switch (p->op) {
    case U_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] < 0.f ? 0.f : x[i];
        break;
    case U_LEAKY:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] < 0.f ? a * x[i] : x[i];
        break;
    case U_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            y[i] = e2e_sigmoidf(x[i]);
        break;
    case U_TANH:
        for (int64_t i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case U_CLIP: {
        const float lo = p->lo, hi = p->hi;
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] < lo ? lo : x[i];
            y[i] = v > hi ? hi : v;
        }
        break;
    }
    case U_HSIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float v = a * x[i] + b;
            y[i] = v < 0.f ? 0.f : v > 1.f ? 1.f : v;
        }
        break;
    case U_HSWISH:
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] * (1.f / 6.f) + 0.5f;
            v = v < 0.f ? 0.f : v > 1.f ? 1.f : v;
            y[i] = x[i] * v;
        }
        break;
    case U_ELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] < 0.f ? a * expm1f(x[i]) : x[i];
        break;
    case U_SELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] > 0.f ? g * x[i] : g * a * expm1f(x[i]);
        break;
    case U_SOFTPLUS:
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v > 0.f ? v + log1pf(expf(-v)) : log1pf(expf(v));
        }
        break;
    case U_SQRT:
        for (int64_t i = 0; i < n; i++)
            y[i] = sqrtf(x[i]);
        break;
    case U_EXP:
        for (int64_t i = 0; i < n; i++)
            y[i] = expf(x[i]);
        break;
    case U_LOG:
        for (int64_t i = 0; i < n; i++)
            y[i] = logf(x[i]);
        break;
    case U_NEG:
        for (int64_t i = 0; i < n; i++)
            y[i] = -x[i];
        break;
    case U_ABS:
        for (int64_t i = 0; i < n; i++)
            y[i] = fabsf(x[i]);
        break;
    case U_RECIP:
        for (int64_t i = 0; i < n; i++)
            y[i] = 1.f / x[i];
        break;
    case U_FLOOR:
        for (int64_t i = 0; i < n; i++)
            y[i] = floorf(x[i]);
        break;
    case U_CEIL:
        for (int64_t i = 0; i < n; i++)
            y[i] = ceilf(x[i]);
        break;
    case U_SIN:
        for (int64_t i = 0; i < n; i++)
            y[i] = sinf(x[i]);
        break;
    case U_COS:
        for (int64_t i = 0; i < n; i++)
            y[i] = cosf(x[i]);
        break;
    case U_ERF:
        for (int64_t i = 0; i < n; i++)
            y[i] = erff(x[i]);
        break;
    case U_GELU: /* 0.5 x (1 + erf(x / sqrt 2)), vectorised (ops/vmath.h) */
        e2e_gelu_f32(x, y, n);
        break;
    case U_GELU_TANH:
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
        }
        break;
    case U_ATAN:
        for (int64_t i = 0; i < n; i++)
            y[i] = atanf(x[i]);
        break;
    case U_SIGN: /* NaN stays NaN */
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] > 0.f ? 1.f : x[i] < 0.f ? -1.f : x[i] == 0.f ? 0.f : x[i];
        break;
    case U_ROUND:
        for (int64_t i = 0; i < n; i++)
            y[i] = round_even(x[i]);
        break;
    case U_NOT: case U_ISNAN: case U_ISINF:
        break;
    }
}

/* Float -> bool predicates (IsNaN, IsInf). */
static void run_isx(const un_priv *p, const float *x, uint8_t *y, int64_t n)
{
    if (p->op == U_ISNAN) {
        for (int64_t i = 0; i < n; i++)
            y[i] = isnan(x[i]) != 0;
        return;
    }
    for (int64_t i = 0; i < n; i++)
        y[i] = (p->inf_pos && x[i] == INFINITY) || (p->inf_neg && x[i] == -INFINITY);
}

/* Integer kernels (wrapping arithmetic through the unsigned type). */
#define INT_KERNEL(NAME, T, U)                                                                   \
    static void NAME(const un_priv *p, const T *x, T *y, int64_t n)                              \
    {                                                                                            \
        switch (p->op) {                                                                         \
        case U_NEG:                                                                              \
            for (int64_t i = 0; i < n; i++)                                                      \
                y[i] = (T)(0u - (U)x[i]);                                                        \
            break;                                                                               \
        case U_ABS:                                                                              \
            for (int64_t i = 0; i < n; i++)                                                      \
                y[i] = x[i] < 0 ? (T)(0u - (U)x[i]) : x[i];                                      \
            break;                                                                               \
        case U_RELU:                                                                             \
            for (int64_t i = 0; i < n; i++)                                                      \
                y[i] = x[i] < 0 ? 0 : x[i];                                                      \
            break;                                                                               \
        case U_SIGN:                                                                             \
            for (int64_t i = 0; i < n; i++)                                                      \
                y[i] = (T)((x[i] > 0) - (x[i] < 0));                                             \
            break;                                                                               \
        case U_CLIP: {                                                                           \
            const T lo = (T)p->ilo, hi = (T)p->ihi;                                              \
            for (int64_t i = 0; i < n; i++) {                                                    \
                T v = x[i] < lo ? lo : x[i];                                                     \
                y[i] = v > hi ? hi : v;                                                          \
            }                                                                                    \
            break;                                                                               \
        }                                                                                        \
        default:                                                                                 \
            break;                                                                               \
        }                                                                                        \
    }
INT_KERNEL(run_i32, int32_t, uint32_t)
INT_KERNEL(run_i64, int64_t, uint64_t)

/* ---------------------------------------------------------------- prepare / run */

/* Element types each operator accepts. */
static bool op_accepts(un_op op, e2e_dtype dt)
{
    switch (op) {
    case U_NOT:
        return dt == E2E_BOOL;
    case U_NEG: case U_ABS: case U_RELU: case U_CLIP: case U_SIGN:
        return dt == E2E_FLOAT || dt == E2E_INT32 || dt == E2E_INT64;
    default:
        return dt == E2E_FLOAT;
    }
}

/* Reads a one-element bound of Clip (float or integer as dt) from input i. */
static e2e_status clip_scalar(e2e_kernel *k, int i, e2e_dtype dt, float *f, int64_t *v)
{
    const e2e_value *b = k->in[i];
    if (b->dtype != dt)
        return e2e_kfail(k, E2E_ERR_INVALID, "input %d (%s) is %s, the input is %s", i,
                         i == 1 ? "min" : "max", e2e_dtype_name(b->dtype), e2e_dtype_name(dt));
    if (b->numel != 1) {
        char s[160];
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %d (%s) must be a scalar, has shape %s", i,
                         i == 1 ? "min" : "max", e2e_shape_str(&b->shape, s, sizeof s));
    }
    if (!b->is_const)
        return E2E_OK; /* read at run */
    switch (dt) {
    case E2E_FLOAT: *f = *(const float *)b->data; break;
    case E2E_INT32: *v = *(const int32_t *)b->data; break;
    default: *v = *(const int64_t *)b->data; break;
    }
    return E2E_OK;
}

static e2e_status unary_prepare(e2e_kernel *k, un_op op)
{
    e2e_status st;
    int max_in = op == U_CLIP && k->opset >= 11 ? 3 : 1;
    if ((st = e2e_check_inputs(k, 1, max_in)))
        return st;
    const e2e_value *x = k->in[0];
    if (!op_accepts(op, x->dtype))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "input type %s is not supported",
                         e2e_dtype_name(x->dtype));
    un_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->op = op;
    p->dt = x->dtype;
    p->lo_in = p->hi_in = -1;
    switch (op) {
    case U_LEAKY:
        st = e2e_attr_float(k, "alpha", 0.01f, &p->alpha);
        break;
    case U_ELU:
        st = e2e_attr_float(k, "alpha", 1.f, &p->alpha);
        break;
    case U_SELU:
        if (!(st = e2e_attr_float(k, "alpha", 1.67326319217681884765625f, &p->alpha)))
            st = e2e_attr_float(k, "gamma", 1.05070102214813232421875f, &p->gamma);
        break;
    case U_HSIGMOID:
        if (!(st = e2e_attr_float(k, "alpha", 0.2f, &p->alpha)))
            st = e2e_attr_float(k, "beta", 0.5f, &p->beta);
        break;
    case U_GELU: {
        const char *mode;
        if ((st = e2e_attr_string(k, "approximate", "none", &mode)))
            break;
        if (!strcmp(mode, "tanh"))
            p->op = U_GELU_TANH;
        else if (strcmp(mode, "none"))
            st = e2e_kfail(k, E2E_ERR_INVALID, "approximate=\"%s\" is not one of none, tanh", mode);
        break;
    }
    case U_ISINF: {
        int64_t pos, neg;
        if (!(st = e2e_attr_int(k, "detect_positive", 1, &pos)) &&
            !(st = e2e_attr_int(k, "detect_negative", 1, &neg))) {
            p->inf_pos = pos != 0;
            p->inf_neg = neg != 0;
        }
        break;
    }
    case U_CLIP:
        p->lo = -INFINITY;
        p->hi = INFINITY;
        p->ilo = p->dt == E2E_INT32 ? INT32_MIN : INT64_MIN;
        p->ihi = p->dt == E2E_INT32 ? INT32_MAX : INT64_MAX;
        if (k->opset < 11) {
            if (p->dt != E2E_FLOAT) {
                st = e2e_kfail(k, E2E_ERR_UNSUPPORTED, "opset %d Clip is defined on float only",
                               k->opset);
                break;
            }
            if (!(st = e2e_attr_float(k, "min", -FLT_MAX, &p->lo)))
                st = e2e_attr_float(k, "max", FLT_MAX, &p->hi);
            break;
        }
        for (int i = 1; i < k->n_in && !st; i++) {
            if (!k->in[i])
                continue;
            st = i == 1 ? clip_scalar(k, i, p->dt, &p->lo, &p->ilo)
                        : clip_scalar(k, i, p->dt, &p->hi, &p->ihi);
            if (!k->in[i]->is_const)
                *(i == 1 ? &p->lo_in : &p->hi_in) = i;
        }
        break;
    default:
        break;
    }
    if (st)
        return st;
    bool pred = op == U_ISNAN || op == U_ISINF;
    return e2e_out_set(k, 0, pred ? E2E_BOOL : x->dtype, &x->shape);
}

static e2e_status unary_run(e2e_kernel *k)
{
    un_priv *p = k->priv;
    const e2e_value *x = k->in[0];
    void *y = k->out[0]->data;
    int64_t n = x->numel;
    if (p->lo_in >= 0 || p->hi_in >= 0) {
        /* Clip with bounds computed by the graph: read them now (kernel-local copy) */
        un_priv q = *p;
        for (int i = 1; i <= 2; i++) {
            int in = i == 1 ? p->lo_in : p->hi_in;
            if (in < 0)
                continue;
            const void *d = k->in[in]->data;
            float *f = i == 1 ? &q.lo : &q.hi;
            int64_t *v = i == 1 ? &q.ilo : &q.ihi;
            switch (p->dt) {
            case E2E_FLOAT: *f = *(const float *)d; break;
            case E2E_INT32: *v = *(const int32_t *)d; break;
            default: *v = *(const int64_t *)d; break;
            }
        }
        p = &q;
        switch (p->dt) {
        case E2E_FLOAT: run_float(p, x->data, y, n); break;
        case E2E_INT32: run_i32(p, x->data, y, n); break;
        default: run_i64(p, x->data, y, n); break;
        }
        return E2E_OK;
    }
    switch (p->dt) {
    case E2E_FLOAT:
        if (p->op == U_ISNAN || p->op == U_ISINF)
            run_isx(p, x->data, y, n);
        else
            run_float(p, x->data, y, n);
        break;
    case E2E_INT32:
        run_i32(p, x->data, y, n);
        break;
    case E2E_INT64:
        run_i64(p, x->data, y, n);
        break;
    case E2E_BOOL: {
        const uint8_t *a = x->data;
        uint8_t *b = y;
        for (int64_t i = 0; i < n; i++)
            b[i] = !a[i];
        break;
    }
    default:
        break;
    }
    return E2E_OK;
}

#define UNARY(NAME, OP)                                                                          \
    static e2e_status NAME##_prepare(e2e_kernel *k) { return unary_prepare(k, OP); }
UNARY(relu, U_RELU)
UNARY(leaky, U_LEAKY)
UNARY(sigmoid, U_SIGMOID)
UNARY(tanh, U_TANH)
UNARY(clip, U_CLIP)
UNARY(hsigmoid, U_HSIGMOID)
UNARY(hswish, U_HSWISH)
UNARY(elu, U_ELU)
UNARY(selu, U_SELU)
UNARY(softplus, U_SOFTPLUS)
UNARY(sqrt, U_SQRT)
UNARY(exp, U_EXP)
UNARY(log, U_LOG)
UNARY(neg, U_NEG)
UNARY(abs, U_ABS)
UNARY(recip, U_RECIP)
UNARY(floor, U_FLOOR)
UNARY(ceil, U_CEIL)
UNARY(sin, U_SIN)
UNARY(cos, U_COS)
UNARY(erf, U_ERF)
UNARY(not, U_NOT)
UNARY(gelu, U_GELU)
UNARY(atan, U_ATAN)
UNARY(sign, U_SIGN)
UNARY(round, U_ROUND)
UNARY(isnan, U_ISNAN)
UNARY(isinf, U_ISINF)

/* ---------------------------------------------------------------- Identity */

static e2e_status copy_run(e2e_kernel *k)
{
    const e2e_value *x = k->in[0];
    void *y = k->out[0]->data;
    if (y != x->data && x->numel)
        memmove(y, x->data, (size_t)x->numel * e2e_dtype_size(x->dtype));
    return E2E_OK;
}

static e2e_status identity_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)))
        return st;
    return e2e_out_set(k, 0, k->in[0]->dtype, &k->in[0]->shape);
}

/* ---------------------------------------------------------------- Dropout */

typedef struct drop_priv {
    float ratio;
    int ratio_in;       /* >= 0: read the ratio input at run */
    int train_in;       /* >= 0: read training_mode at run */
    bool train;         /* training_mode known true at prepare */
    bool has_seed;      /* training with a seed attribute is reproducible: see mt_uniform */
    int64_t seed;
} drop_priv;

/* Training-mode Dropout with a `seed` draws its mask as NumPy's legacy generator does
   (np.random.seed(seed); np.random.uniform(0, 1, shape) >= ratio), which is what the ONNX
   reference and its test data use: MT19937 seeded with init_genrand, 53-bit doubles. */
typedef struct mt19937 {
    uint32_t s[624];
    int i;
} mt19937;

static void mt_seed(mt19937 *m, uint32_t seed)
{
    m->s[0] = seed;
    for (int i = 1; i < 624; i++)
        m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
    m->i = 624;
}

static uint32_t mt_next(mt19937 *m)
{
    if (m->i >= 624) {
        for (int i = 0; i < 624; i++) {
            uint32_t y = (m->s[i] & 0x80000000u) | (m->s[(i + 1) % 624] & 0x7fffffffu);
            m->s[i] = m->s[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 ? 0x9908b0dfu : 0);
        }
        m->i = 0;
    }
    uint32_t y = m->s[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

static double mt_uniform(mt19937 *m)
{
    uint32_t a = mt_next(m) >> 5, b = mt_next(m) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

static e2e_status drop_scalar(e2e_kernel *k, int i, e2e_dtype want)
{
    const e2e_value *v = k->in[i];
    if (v->dtype != want)
        return e2e_kfail(k, E2E_ERR_INVALID, "input %d (%s) must be %s, not %s", i,
                         i == 1 ? "ratio" : "training_mode", e2e_dtype_name(want),
                         e2e_dtype_name(v->dtype));
    if (v->numel != 1) {
        char s[160];
        return e2e_kfail(k, E2E_ERR_SHAPE, "input %d (%s) must be a scalar, has shape %s", i,
                         i == 1 ? "ratio" : "training_mode", e2e_shape_str(&v->shape, s, sizeof s));
    }
    return E2E_OK;
}

static e2e_status training_unsupported(e2e_kernel *k, float ratio)
{
    return e2e_kfail(k, E2E_ERR_UNSUPPORTED,
                     "training_mode=true with ratio %g drops random elements; this engine only "
                     "runs inference (set training_mode to false)", (double)ratio);
}

static e2e_status dropout_prepare(e2e_kernel *k)
{
    e2e_status st;
    const bool inputs_form = k->opset >= 12;
    if ((st = e2e_check_inputs(k, 1, inputs_form ? 3 : 1)))
        return st;
    drop_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->ratio = 0.5f;
    p->ratio_in = p->train_in = -1;
    const e2e_attr *seed = e2e_node_attr(k->node, "seed");
    if (seed && seed->type != E2E_ATTR_INT)
        return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'seed' must be an INT");
    p->has_seed = seed != NULL;
    p->seed = seed ? seed->i : 0;
    if (!inputs_form) {
        if ((st = e2e_attr_float(k, "ratio", 0.5f, &p->ratio)))
            return st;
    } else {
        bool train = false, train_known = true;
        if (k->n_in > 1 && k->in[1]) {
            if ((st = drop_scalar(k, 1, E2E_FLOAT)))
                return st;
            if (k->in[1]->is_const)
                p->ratio = *(const float *)k->in[1]->data;
            else
                p->ratio_in = 1;
        }
        if (k->n_in > 2 && k->in[2]) {
            if ((st = drop_scalar(k, 2, E2E_BOOL)))
                return st;
            if (k->in[2]->is_const)
                train = *(const uint8_t *)k->in[2]->data != 0;
            else {
                p->train_in = 2;
                train_known = false;
            }
        }
        if (train_known && !train)
            p->ratio_in = -1; /* inference: the ratio does not matter */
        p->train = train;
        if (train && p->ratio_in < 0 && p->ratio != 0.f && !p->has_seed)
            return training_unsupported(k, p->ratio);
        if ((train || !train_known) && p->has_seed && k->in[0]->dtype != E2E_FLOAT)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "training_mode needs a float input");
    }
    const e2e_value *x = k->in[0];
    if ((st = e2e_out_set(k, 0, x->dtype, &x->shape)))
        return st;
    /* the mask is bool from opset 10 on, the input's type before */
    return e2e_out_set(k, 1, k->opset >= 10 ? E2E_BOOL : x->dtype, &x->shape);
}

static e2e_status dropout_run(e2e_kernel *k)
{
    const drop_priv *p = k->priv;
    bool train = p->train_in >= 0 ? *(const uint8_t *)k->in[p->train_in]->data != 0 : p->train;
    float ratio = p->ratio_in >= 0 ? *(const float *)k->in[p->ratio_in]->data : p->ratio;
    if (train && ratio != 0.f) {
        if (!p->has_seed)
            return training_unsupported(k, ratio);
        mt19937 mt;
        mt_seed(&mt, (uint32_t)p->seed);
        const float *x = k->in[0]->data;
        float *y = k->out[0]->data, scale = 1.f / (1.f - ratio);
        uint8_t *mask = k->n_out > 1 && k->out[1] ? k->out[1]->data : NULL;
        for (int64_t i = 0; i < k->out[0]->numel; i++) {
            bool keep = mt_uniform(&mt) >= (double)ratio;
            y[i] = keep ? x[i] * scale : 0.f;
            if (mask)
                mask[i] = keep;
        }
        return E2E_OK;
    }
    copy_run(k);
    if (k->n_out > 1 && k->out[1]) {
        const e2e_value *m = k->out[1];
        size_t es = e2e_dtype_size(m->dtype);
        switch (m->dtype) {
        case E2E_FLOAT:
            for (int64_t i = 0; i < m->numel; i++)
                ((float *)m->data)[i] = 1.f;
            break;
        case E2E_INT32:
            for (int64_t i = 0; i < m->numel; i++)
                ((int32_t *)m->data)[i] = 1;
            break;
        case E2E_INT64:
            for (int64_t i = 0; i < m->numel; i++)
                ((int64_t *)m->data)[i] = 1;
            break;
        default:
            memset(m->data, 1, (size_t)m->numel * es);
            break;
        }
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- Cast */

typedef struct cast_priv {
    e2e_dtype from, to;
} cast_priv;

static bool cast_type_ok(int64_t t)
{
    return t == E2E_FLOAT || t == E2E_UINT8 || t == E2E_INT8 || t == E2E_INT32 || t == E2E_INT64 ||
           t == E2E_BOOL;
}

/* float -> int64 truncating toward zero; NaN -> 0, saturating at the int64 range. */
static int64_t f2i(float v)
{
    if (!(v == v))
        return 0;
    if (v >= 9.2233720368547758e18f)
        return INT64_MAX;
    if (v <= -9.2233720368547758e18f)
        return INT64_MIN;
    return (int64_t)v;
}

/* Narrowing integer conversions wrap (two's complement), as numpy's astype does. */
#define WRAP(TD, v) ((TD)(uint64_t)(v))

#define CAST_FROM_INT(TS, NORM)                                                                  \
    do {                                                                                         \
        const TS *s = src;                                                                       \
        switch (to) {                                                                            \
        case E2E_FLOAT:                                                                          \
            for (int64_t i = 0; i < n; i++)                                                      \
                ((float *)dst)[i] = (float)NORM(s[i]);                                           \
            break;                                                                               \
        case E2E_INT64:                                                                          \
            for (int64_t i = 0; i < n; i++)                                                      \
                ((int64_t *)dst)[i] = (int64_t)NORM(s[i]);                                       \
            break;                                                                               \
        case E2E_INT32:                                                                          \
            for (int64_t i = 0; i < n; i++)                                                      \
                ((int32_t *)dst)[i] = WRAP(int32_t, NORM(s[i]));                                 \
            break;                                                                               \
        case E2E_INT8:                                                                           \
            for (int64_t i = 0; i < n; i++)                                                      \
                ((int8_t *)dst)[i] = WRAP(int8_t, NORM(s[i]));                                   \
            break;                                                                               \
        case E2E_UINT8:                                                                          \
            for (int64_t i = 0; i < n; i++)                                                      \
                ((uint8_t *)dst)[i] = WRAP(uint8_t, NORM(s[i]));                                 \
            break;                                                                               \
        case E2E_BOOL:                                                                           \
            for (int64_t i = 0; i < n; i++)                                                      \
                ((uint8_t *)dst)[i] = s[i] != 0;                                                 \
            break;                                                                               \
        default:                                                                                 \
            break;                                                                               \
        }                                                                                        \
    } while (0)

#define AS_IS(v) (v)
#define AS_BOOL(v) ((v) != 0)

static void cast_any(const void *src, e2e_dtype from, void *dst, e2e_dtype to, int64_t n)
{
    switch (from) {
    case E2E_FLOAT: {
        const float *s = src;
        switch (to) {
        case E2E_INT64:
            for (int64_t i = 0; i < n; i++)
                ((int64_t *)dst)[i] = f2i(s[i]);
            break;
        case E2E_INT32:
            for (int64_t i = 0; i < n; i++)
                ((int32_t *)dst)[i] = WRAP(int32_t, f2i(s[i]));
            break;
        case E2E_INT8:
            for (int64_t i = 0; i < n; i++)
                ((int8_t *)dst)[i] = WRAP(int8_t, f2i(s[i]));
            break;
        case E2E_UINT8:
            for (int64_t i = 0; i < n; i++)
                ((uint8_t *)dst)[i] = WRAP(uint8_t, f2i(s[i]));
            break;
        case E2E_BOOL:
            for (int64_t i = 0; i < n; i++)
                ((uint8_t *)dst)[i] = s[i] != 0.f;
            break;
        default:
            break;
        }
        break;
    }
    case E2E_INT64: CAST_FROM_INT(int64_t, AS_IS); break;
    case E2E_INT32: CAST_FROM_INT(int32_t, AS_IS); break;
    case E2E_INT8: CAST_FROM_INT(int8_t, AS_IS); break;
    case E2E_UINT8: CAST_FROM_INT(uint8_t, AS_IS); break;
    case E2E_BOOL: CAST_FROM_INT(uint8_t, AS_BOOL); break;
    default: break;
    }
}

static e2e_status cast_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)))
        return st;
    int64_t to;
    if ((st = e2e_attr_int(k, "to", -1, &to)))
        return st;
    if (to < 0)
        return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'to' is required");
    if (!cast_type_ok(to))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED,
                         "cast to ONNX data type %lld is not supported (float, uint8, int8, int32, "
                         "int64, bool are)", (long long)to);
    const e2e_value *x = k->in[0];
    if (!cast_type_ok(x->dtype))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "cast from %s is not supported",
                         e2e_dtype_name(x->dtype));
    cast_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->from = x->dtype;
    p->to = (e2e_dtype)to;
    return e2e_out_set(k, 0, p->to, &x->shape);
}

static e2e_status cast_run(e2e_kernel *k)
{
    const cast_priv *p = k->priv;
    if (p->from == p->to)
        return copy_run(k);
    cast_any(k->in[0]->data, p->from, k->out[0]->data, p->to, k->in[0]->numel);
    return E2E_OK;
}

/* ---------------------------------------------------------------- table */

const e2e_op_def e2e_ops_unary[] = {
    {"Relu", relu_prepare, unary_run, free, E2E_OP_INPLACE},
    {"LeakyRelu", leaky_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Sigmoid", sigmoid_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Tanh", tanh_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Clip", clip_prepare, unary_run, free, E2E_OP_INPLACE},
    {"HardSigmoid", hsigmoid_prepare, unary_run, free, E2E_OP_INPLACE},
    {"HardSwish", hswish_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Elu", elu_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Selu", selu_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Softplus", softplus_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Sqrt", sqrt_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Exp", exp_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Log", log_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Neg", neg_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Abs", abs_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Reciprocal", recip_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Floor", floor_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Ceil", ceil_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Sin", sin_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Cos", cos_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Erf", erf_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Not", not_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Gelu", gelu_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Atan", atan_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Sign", sign_prepare, unary_run, free, E2E_OP_INPLACE},
    {"Round", round_prepare, unary_run, free, E2E_OP_INPLACE},
    /* bool output: not in place (a different element size) */
    {"IsNaN", isnan_prepare, unary_run, free, 0},
    {"IsInf", isinf_prepare, unary_run, free, 0},
    {"Identity", identity_prepare, copy_run, NULL, E2E_OP_ALIAS},
    /* not E2E_OP_ALIAS: run must see a training_mode computed by the graph */
    {"Dropout", dropout_prepare, dropout_run, free, E2E_OP_INPLACE},
    {"Cast", cast_prepare, cast_run, free, E2E_OP_INPLACE},
    {0},
};
