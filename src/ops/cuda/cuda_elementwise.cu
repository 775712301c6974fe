/* Elementwise operators on the GPU, with the CPU kernels' semantics (src/ops/ops_unary.c,
   src/ops/ops_binary.c):
     unary   float: Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSigmoid, HardSwish, Elu, Selu,
             Softplus, Sqrt, Exp, Log, Neg, Abs, Reciprocal, Floor, Ceil, Sin, Cos, Erf, Gelu;
             int32/int64: Neg, Abs, Relu, Clip; bool: Not
     binary  Add, Sub, Mul, Div, Min, Max, Sum, Mean (float, int32, int64; integer arithmetic
             wraps, integer x / 0 = 0), Pow (float base; float, int32 or int64 exponent),
             Equal/Less/Greater/LessOrEqual/GreaterOrEqual -> bool, And/Or/Xor, PRelu, with
             numpy broadcasting (opset < 7: broadcast=1 with axis), fused activation on
             Add/Sub/Mul/Div
     Where   any element size; Cast between float, int64, int32, int8, uint8, bool
     views   Reshape, Flatten, Squeeze, Unsqueeze, Identity: a device copy when the session
             did not alias them; Dropout (inference): copy and a mask of ones
     Shape, Size: the output is a constant computed at session creation; nothing to run. */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "ops/cuda/cuda_backend.h"

/* ---------------------------------------------------------------- unary */

enum {
    U_RELU, U_LEAKY, U_SIGMOID, U_TANH, U_CLIP, U_HSIGMOID, U_HSWISH, U_ELU, U_SELU, U_SOFTPLUS,
    U_SQRT, U_EXP, U_LOG, U_NEG, U_ABS, U_RECIP, U_FLOOR, U_CEIL, U_SIN, U_COS, U_ERF, U_NOT,
    U_GELU, U_GELU_TANH
};

struct un_params {
    int op;
    e2e_dtype dt;
    float alpha, beta, gamma;
    float lo, hi;          /* Clip bounds known at init (float) */
    int64_t ilo, ihi;      /* (integers) */
    int lo_in, hi_in;      /* >= 0: read that input on the device */
};

__global__ void k_unary_f(const float *x, float *y, int64_t n, int op, float a, float b,
                          float g, float lo, float hi, const float *plo, const float *phi)
{
    if (op == U_CLIP) {
        if (plo)
            lo = *plo;
        if (phi)
            hi = *phi;
    }
    CU_LOOP(t, n) {
        float v = x[t], r;
        switch (op) {
        case U_RELU: r = v < 0.f ? 0.f : v; break;
        case U_LEAKY: r = v < 0.f ? a * v : v; break;
        case U_SIGMOID: r = cu_sigmoid(v); break;
        case U_TANH: r = tanhf(v); break;
        case U_CLIP: r = v < lo ? lo : v; r = r > hi ? hi : r; break;
        case U_HSIGMOID: r = a * v + b; r = r < 0.f ? 0.f : r > 1.f ? 1.f : r; break;
        case U_HSWISH: r = v * (1.f / 6.f) + 0.5f; r = r < 0.f ? 0.f : r > 1.f ? 1.f : r; r *= v; break;
        case U_ELU: r = v < 0.f ? a * expm1f(v) : v; break;
        case U_SELU: r = v > 0.f ? g * v : g * a * expm1f(v); break;
        case U_SOFTPLUS: r = v > 0.f ? v + log1pf(expf(-v)) : log1pf(expf(v)); break;
        case U_SQRT: r = sqrtf(v); break;
        case U_EXP: r = expf(v); break;
        case U_LOG: r = logf(v); break;
        case U_NEG: r = -v; break;
        case U_ABS: r = fabsf(v); break;
        case U_RECIP: r = 1.f / v; break;
        case U_FLOOR: r = floorf(v); break;
        case U_CEIL: r = ceilf(v); break;
        case U_SIN: r = sinf(v); break;
        case U_COS: r = cosf(v); break;
        case U_ERF: r = erff(v); break;
        case U_GELU: r = 0.5f * v * (1.f + erff(v * 0.70710678118654752f)); break;
        case U_GELU_TANH:
            r = 0.5f * v * (1.f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
            break;
        default: r = v; break;
        }
        y[t] = r;
    }
}

template <typename T, typename U>
__global__ void k_unary_i(const T *x, T *y, int64_t n, int op, int64_t lo64, int64_t hi64,
                          const T *plo, const T *phi)
{
    T lo = (T)lo64, hi = (T)hi64;
    if (plo)
        lo = *plo;
    if (phi)
        hi = *phi;
    CU_LOOP(t, n) {
        T v = x[t], r;
        switch (op) {
        case U_NEG: r = (T)(U(0) - (U)v); break;
        case U_ABS: r = v < 0 ? (T)(U(0) - (U)v) : v; break;
        case U_RELU: r = v < 0 ? T(0) : v; break;
        case U_CLIP: r = v < lo ? lo : v; r = r > hi ? hi : r; break;
        default: r = v; break;
        }
        y[t] = r;
    }
}

__global__ void k_not(const uint8_t *x, uint8_t *y, int64_t n)
{
    CU_LOOP(t, n) y[t] = !x[t];
}

static e2e_status unary_run(cu_state *S, cu_node *n)
{
    const un_params *p = (const un_params *)n->p;
    int64_t cnt = n->k->in[0]->numel;
    if (!cnt)
        return E2E_OK;
    const unsigned nb = cu_blocks(cnt);
    switch (p->dt) {
    case E2E_FLOAT:
        k_unary_f<<<nb, CU_THREADS, 0, S->stream>>>(
            (const float *)n->in[0], (float *)n->out[0], cnt, p->op, p->alpha, p->beta, p->gamma,
            p->lo, p->hi, p->lo_in >= 0 ? (const float *)n->in[p->lo_in] : NULL,
            p->hi_in >= 0 ? (const float *)n->in[p->hi_in] : NULL);
        break;
    case E2E_INT32:
        k_unary_i<int32_t, uint32_t><<<nb, CU_THREADS, 0, S->stream>>>(
            (const int32_t *)n->in[0], (int32_t *)n->out[0], cnt, p->op, p->ilo, p->ihi,
            p->lo_in >= 0 ? (const int32_t *)n->in[p->lo_in] : NULL,
            p->hi_in >= 0 ? (const int32_t *)n->in[p->hi_in] : NULL);
        break;
    case E2E_INT64:
        k_unary_i<int64_t, uint64_t><<<nb, CU_THREADS, 0, S->stream>>>(
            (const int64_t *)n->in[0], (int64_t *)n->out[0], cnt, p->op, p->ilo, p->ihi,
            p->lo_in >= 0 ? (const int64_t *)n->in[p->lo_in] : NULL,
            p->hi_in >= 0 ? (const int64_t *)n->in[p->hi_in] : NULL);
        break;
    default:
        k_not<<<nb, CU_THREADS, 0, S->stream>>>((const uint8_t *)n->in[0], (uint8_t *)n->out[0], cnt);
        break;
    }
    return E2E_OK;
}

static bool unary_accepts(int op, e2e_dtype dt)
{
    switch (op) {
    case U_NOT: return dt == E2E_BOOL;
    case U_NEG: case U_ABS: case U_RELU: case U_CLIP:
        return dt == E2E_FLOAT || dt == E2E_INT32 || dt == E2E_INT64;
    default: return dt == E2E_FLOAT;
    }
}

e2e_status cu_prep_unary(cu_state *S, cu_node *n)
{
    (void)S;
    static const struct {
        const char *name;
        int op;
    } names[] = {
        {"Relu", U_RELU}, {"LeakyRelu", U_LEAKY}, {"Sigmoid", U_SIGMOID}, {"Tanh", U_TANH},
        {"Clip", U_CLIP}, {"HardSigmoid", U_HSIGMOID}, {"HardSwish", U_HSWISH}, {"Elu", U_ELU},
        {"Selu", U_SELU}, {"Softplus", U_SOFTPLUS}, {"Sqrt", U_SQRT}, {"Exp", U_EXP},
        {"Log", U_LOG}, {"Neg", U_NEG}, {"Abs", U_ABS}, {"Reciprocal", U_RECIP},
        {"Floor", U_FLOOR}, {"Ceil", U_CEIL}, {"Sin", U_SIN}, {"Cos", U_COS}, {"Erf", U_ERF},
        {"Not", U_NOT}, {"Gelu", U_GELU},
    };
    e2e_kernel *k = n->k;
    int op = -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].name, k->node->op_type))
            op = names[i].op;
    if (op < 0 || k->n_in < 1 || !k->in[0] || k->n_out < 1 || !k->out[0])
        return cu_unsupported(n, "this form of %s", k->node->op_type);
    const e2e_dtype dt = k->in[0]->dtype;
    if (!unary_accepts(op, dt))
        return cu_unsupported(n, "%s on %s", k->node->op_type, e2e_dtype_name(dt));
    un_params *p = (un_params *)cu_params(n, sizeof(un_params));
    if (!p)
        return E2E_ERR_NOMEM;
    p->op = op;
    p->dt = dt;
    p->lo_in = p->hi_in = -1;
    e2e_status st = E2E_OK;
    switch (op) {
    case U_LEAKY: st = e2e_attr_float(k, "alpha", 0.01f, &p->alpha); break;
    case U_ELU: st = e2e_attr_float(k, "alpha", 1.f, &p->alpha); break;
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
        if (!(st = e2e_attr_string(k, "approximate", "none", &mode)) && !strcmp(mode, "tanh"))
            p->op = U_GELU_TANH;
        break;
    }
    case U_CLIP:
        p->lo = -INFINITY;
        p->hi = INFINITY;
        p->ilo = dt == E2E_INT32 ? INT32_MIN : INT64_MIN;
        p->ihi = dt == E2E_INT32 ? INT32_MAX : INT64_MAX;
        if (k->opset < 11) {
            if (!(st = e2e_attr_float(k, "min", -FLT_MAX, &p->lo)))
                st = e2e_attr_float(k, "max", FLT_MAX, &p->hi);
            break;
        }
        for (int i = 1; i < k->n_in && i <= 2; i++) {
            const e2e_value *b = k->in[i];
            if (!b)
                continue;
            if (b->dtype != dt || b->numel != 1)
                return cu_unsupported(n, "Clip bound %d of type %s and %lld elements", i,
                                      e2e_dtype_name(b->dtype), (long long)b->numel);
            if (!b->is_const) {
                *(i == 1 ? &p->lo_in : &p->hi_in) = i;
                continue;
            }
            float *f = i == 1 ? &p->lo : &p->hi;
            int64_t *v = i == 1 ? &p->ilo : &p->ihi;
            switch (dt) {
            case E2E_FLOAT: *f = *(const float *)b->data; break;
            case E2E_INT32: *v = *(const int32_t *)b->data; break;
            default: *v = *(const int64_t *)b->data; break;
            }
        }
        break;
    default:
        break;
    }
    if (st)
        return st;
    n->run = unary_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- binary */

enum {
    B_ADD, B_SUB, B_MUL, B_DIV, B_MIN, B_MAX, B_EQ, B_LT, B_GT, B_LE, B_GE, B_PRELU, B_AND, B_OR,
    B_XOR, B_POW, B_POW_SQRT, B_POW_ONE, B_POW_SQ, B_POW_CUBE
};

template <typename T> struct cu_unsigned { typedef T type; };
template <> struct cu_unsigned<int32_t> { typedef uint32_t type; };
template <> struct cu_unsigned<int64_t> { typedef uint64_t type; };

/* double -> int64 truncating, NaN -> 0, saturating; integer power by squaring, wrapping,
   negative exponents 0 except for bases 1 and -1 (as ops_binary.c) */
static __device__ __forceinline__ int64_t d2i(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9.2233720368547758e18)
        return INT64_MAX;
    if (v <= -9.2233720368547758e18)
        return INT64_MIN;
    return (int64_t)v;
}

static __device__ __forceinline__ int64_t ipow(int64_t a, int64_t b)
{
    if (b < 0)
        return a == 1 ? 1 : a == -1 ? (b & 1 ? -1 : 1) : 0;
    uint64_t r = 1, x = (uint64_t)a;
    while (b) {
        if (b & 1)
            r *= x;
        x *= x;
        b >>= 1;
    }
    return (int64_t)r;
}

template <int OP, typename TA, typename TB, typename TY>
static __device__ __forceinline__ TY bin_op(TA a, TB b)
{
    typedef typename cu_unsigned<TA>::type U;
    constexpr bool I = std::is_integral<TA>::value;
    if constexpr (OP == B_ADD) {
        if constexpr (I) return (TY)((U)a + (U)b); else return a + b;
    } else if constexpr (OP == B_SUB) {
        if constexpr (I) return (TY)((U)a - (U)b); else return a - b;
    } else if constexpr (OP == B_MUL) {
        if constexpr (I) return (TY)((U)a * (U)b); else return a * b;
    } else if constexpr (OP == B_DIV) {
        if constexpr (I) return b == 0 ? (TY)0 : b == -1 ? (TY)(U(0) - (U)a) : (TY)(a / b);
        else return a / b;
    } else if constexpr (OP == B_MIN) {
        return (a < b || a != a) ? a : b;
    } else if constexpr (OP == B_MAX) {
        return (a > b || a != a) ? a : b;
    } else if constexpr (OP == B_EQ) {
        if constexpr (std::is_same<TA, uint8_t>::value) return (TY)((a != 0) == (b != 0));
        else return (TY)(a == b);
    } else if constexpr (OP == B_LT) {
        return (TY)(a < b);
    } else if constexpr (OP == B_GT) {
        return (TY)(a > b);
    } else if constexpr (OP == B_LE) {
        return (TY)(a <= b);
    } else if constexpr (OP == B_GE) {
        return (TY)(a >= b);
    } else if constexpr (OP == B_PRELU) {
        if constexpr (I) return a < 0 ? (TY)((U)a * (U)b) : a; else return a < 0 ? a * b : a;
    } else if constexpr (OP == B_AND) {
        return (TY)((a != 0) & (b != 0));
    } else if constexpr (OP == B_OR) {
        return (TY)((a != 0) | (b != 0));
    } else if constexpr (OP == B_XOR) {
        return (TY)((a != 0) ^ (b != 0));
    } else if constexpr (OP == B_POW) {
        if constexpr (I && std::is_same<TB, float>::value) return (TY)(uint64_t)d2i(pow((double)a, (double)b));
        else if constexpr (I) return (TY)(uint64_t)ipow((int64_t)a, (int64_t)b);
        else if constexpr (std::is_same<TB, float>::value) return powf(a, b);
        else return (TY)pow((double)a, (double)b);
    } else if constexpr (OP == B_POW_SQRT) {
        return sqrtf(a);
    } else if constexpr (OP == B_POW_ONE) {
        return a;
    } else if constexpr (OP == B_POW_SQ) {
        return a * a;
    } else {
        return a * a * a;
    }
}

template <int OP, typename TA, typename TB, typename TY>
__global__ void k_binary(const TA *a, const TB *b, TY *y, cu_bcast p, int act, float al, float be)
{
    CU_LOOP(t, p.n) {
        int64_t o[2];
        cu_bcast_offsets<2>(p, t, o);
        TY r = bin_op<OP, TA, TB, TY>(a[o[0]], b[o[1]]);
        if constexpr (std::is_same<TY, float>::value) {
            if (act)
                r = cu_act(act, al, be, r);
        }
        y[t] = r;
    }
}

__global__ void k_scale(float *y, int64_t n, float s)
{
    CU_LOOP(t, n) y[t] *= s;
}

typedef void (*bin_launch)(const void *a, const void *b, void *y, const cu_bcast &p, int act, float al,
                           float be, cudaStream_t s);

template <int OP, typename TA, typename TB, typename TY>
static void launch_binary(const void *a, const void *b, void *y, const cu_bcast &p, int act, float al,
                          float be, cudaStream_t s)
{
    k_binary<OP, TA, TB, TY><<<cu_blocks(p.n), CU_THREADS, 0, s>>>((const TA *)a, (const TB *)b,
                                                                   (TY *)y, p, act, al, be);
}

#define BY_TYPE(OP)                                                                                \
    (a == E2E_FLOAT   ? launch_binary<OP, float, float, float>                                     \
     : a == E2E_INT32 ? launch_binary<OP, int32_t, int32_t, int32_t>                               \
     : a == E2E_INT64 ? launch_binary<OP, int64_t, int64_t, int64_t>                               \
                      : (bin_launch)NULL)
#define CMP_TYPE(OP)                                                                               \
    (a == E2E_FLOAT   ? launch_binary<OP, float, float, uint8_t>                                   \
     : a == E2E_INT32 ? launch_binary<OP, int32_t, int32_t, uint8_t>                               \
     : a == E2E_INT64 ? launch_binary<OP, int64_t, int64_t, uint8_t>                               \
                      : (bin_launch)NULL)

static bin_launch pick_binary(int op, e2e_dtype a, e2e_dtype b)
{
    if (op == B_POW || op == B_POW_SQRT || op == B_POW_ONE || op == B_POW_SQ || op == B_POW_CUBE) {
#define POW_BY(TA)                                                                                 \
    (b == E2E_FLOAT   ? launch_binary<B_POW, TA, float, TA>                                        \
     : b == E2E_INT32 ? launch_binary<B_POW, TA, int32_t, TA>                                      \
     : b == E2E_INT64 ? launch_binary<B_POW, TA, int64_t, TA>                                      \
                      : (bin_launch)NULL)
        if (a == E2E_INT32 && op == B_POW)
            return POW_BY(int32_t);
        if (a == E2E_INT64 && op == B_POW)
            return POW_BY(int64_t);
#undef POW_BY
        if (a != E2E_FLOAT)
            return NULL;
        switch (op) {
        case B_POW_SQRT: return launch_binary<B_POW_SQRT, float, float, float>;
        case B_POW_ONE: return launch_binary<B_POW_ONE, float, float, float>;
        case B_POW_SQ: return launch_binary<B_POW_SQ, float, float, float>;
        case B_POW_CUBE: return launch_binary<B_POW_CUBE, float, float, float>;
        default: break;
        }
        return b == E2E_FLOAT   ? launch_binary<B_POW, float, float, float>
               : b == E2E_INT32 ? launch_binary<B_POW, float, int32_t, float>
               : b == E2E_INT64 ? launch_binary<B_POW, float, int64_t, float>
                                : (bin_launch)NULL;
    }
    if (a != b)
        return NULL;
    switch (op) {
    case B_ADD: return BY_TYPE(B_ADD);
    case B_SUB: return BY_TYPE(B_SUB);
    case B_MUL: return BY_TYPE(B_MUL);
    case B_DIV: return BY_TYPE(B_DIV);
    case B_MIN: return BY_TYPE(B_MIN);
    case B_MAX: return BY_TYPE(B_MAX);
    case B_PRELU: return BY_TYPE(B_PRELU);
    case B_EQ:
        return a == E2E_BOOL ? launch_binary<B_EQ, uint8_t, uint8_t, uint8_t> : CMP_TYPE(B_EQ);
    case B_LT: return CMP_TYPE(B_LT);
    case B_GT: return CMP_TYPE(B_GT);
    case B_LE: return CMP_TYPE(B_LE);
    case B_GE: return CMP_TYPE(B_GE);
    case B_AND: return a == E2E_BOOL ? launch_binary<B_AND, uint8_t, uint8_t, uint8_t> : NULL;
    case B_OR: return a == E2E_BOOL ? launch_binary<B_OR, uint8_t, uint8_t, uint8_t> : NULL;
    case B_XOR: return a == E2E_BOOL ? launch_binary<B_XOR, uint8_t, uint8_t, uint8_t> : NULL;
    default: return NULL;
    }
}

/* Steps: out = op(in0, in1); then out = op(out, in_j) for j >= 2; Mean scales at the end. */
struct bin_params {
    bin_launch fn;
    int steps;
    bool mean;
    float scale;
    int64_t numel;
    cu_bcast *plan;         /* steps entries, after this header in the same block */
};

static e2e_status binary_run(cu_state *S, cu_node *n)
{
    const bin_params *p = (const bin_params *)n->p;
    if (!p->numel)
        return E2E_OK;
    const e2e_kernel *k = n->k;
    if (p->steps == 0)
        return cu_copy_d2d(S, n, n->out[0], n->in[0], (size_t)p->numel * cu_esize(k->out[0]));
    for (int j = 0; j < p->steps; j++) {
        const bool last = j == p->steps - 1 && !p->mean;
        p->fn(j ? n->out[0] : n->in[0], n->in[j + 1], n->out[0], p->plan[j], last ? (int)k->act : 0,
              k->act_alpha, k->act_beta, S->stream);
    }
    if (p->mean) {
        k_scale<<<cu_blocks(p->numel), CU_THREADS, 0, S->stream>>>((float *)n->out[0], p->numel,
                                                                   p->scale);
        if (k->act)
            return cu_unsupported(n, "a fused activation after Mean");
    }
    return E2E_OK;
}

/* Opset < 7: B aligned at `axis` of A when broadcast=1 (see ops_binary.c). */
static e2e_status legacy_b_shape(cu_node *n, const e2e_shape *a, e2e_shape *b)
{
    e2e_status st;
    int64_t bc, axis;
    if ((st = e2e_attr_int(n->k, "broadcast", 0, &bc)) ||
        (st = e2e_attr_int(n->k, "axis", a->rank - b->rank, &axis)))
        return st;
    if (!bc)
        return E2E_OK;
    if (axis < 0)
        axis += a->rank;
    if (axis < 0 || axis + b->rank > a->rank)
        return cu_fail(n, E2E_ERR_SHAPE, "B cannot be placed at axis %lld of A", (long long)axis);
    e2e_shape nb;
    nb.rank = a->rank;
    for (int i = 0; i < a->rank; i++)
        nb.dims[i] = 1;
    for (int i = 0; i < b->rank; i++)
        nb.dims[axis + i] = b->dims[i];
    *b = nb;
    return E2E_OK;
}

e2e_status cu_prep_binary(cu_state *S, cu_node *n)
{
    (void)S;
    static const struct {
        const char *name;
        int op;
        bool variadic;
    } names[] = {
        {"Add", B_ADD, false}, {"Sub", B_SUB, false}, {"Mul", B_MUL, false}, {"Div", B_DIV, false},
        {"Pow", B_POW, false}, {"Equal", B_EQ, false}, {"Less", B_LT, false},
        {"Greater", B_GT, false}, {"LessOrEqual", B_LE, false}, {"GreaterOrEqual", B_GE, false},
        {"And", B_AND, false}, {"Or", B_OR, false}, {"Xor", B_XOR, false},
        {"PRelu", B_PRELU, false}, {"Min", B_MIN, true}, {"Max", B_MAX, true},
        {"Sum", B_ADD, true}, {"Mean", B_ADD, true},
    };
    e2e_kernel *k = n->k;
    int op = -1;
    bool variadic = false, mean = !strcmp(k->node->op_type, "Mean");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].name, k->node->op_type)) {
            op = names[i].op;
            variadic = names[i].variadic;
        }
    const int nin = k->n_in;
    if (op < 0 || nin < 1 || k->n_out < 1 || !k->out[0] || (!variadic && nin != 2))
        return cu_unsupported(n, "this form of %s", k->node->op_type);
    for (int j = 0; j < nin; j++)
        if (!k->in[j])
            return cu_unsupported(n, "a missing input %d", j);
    const e2e_dtype a = k->in[0]->dtype, b = nin > 1 ? k->in[1]->dtype : a;
    if (op == B_POW && a == E2E_FLOAT && b == E2E_FLOAT && k->in[1]->is_const && k->in[1]->numel == 1) {
        float v = *(const float *)k->in[1]->data;
        op = v == 0.5f ? B_POW_SQRT : v == 1.f ? B_POW_ONE : v == 2.f ? B_POW_SQ : v == 3.f ? B_POW_CUBE : op;
    }
    bin_launch fn = pick_binary(op, a, b);
    if (!fn && nin > 1)
        return cu_unsupported(n, "%s of %s and %s", k->node->op_type, e2e_dtype_name(a),
                              e2e_dtype_name(b));
    if (mean && a != E2E_FLOAT)
        return cu_unsupported(n, "Mean of %s", e2e_dtype_name(a));
    const int steps = nin - 1;
    size_t head = (sizeof(bin_params) + 15) & ~(size_t)15;
    bin_params *p = (bin_params *)cu_params(n, head + sizeof(cu_bcast) * (size_t)(steps + 1));
    if (!p)
        return E2E_ERR_NOMEM;
    p->plan = (cu_bcast *)((char *)p + head);
    p->fn = fn;
    p->steps = steps;
    p->mean = mean && nin > 1;
    p->scale = 1.f / (float)nin;
    p->numel = k->out[0]->numel;
    const e2e_shape *os = &k->out[0]->shape;
    for (int j = 0; j < steps; j++) {
        e2e_shape as = j ? *os : k->in[0]->shape, bs = k->in[j + 1]->shape;
        e2e_status st;
        const bool legacy = !variadic && k->opset < 7 &&
                            (op == B_ADD || op == B_SUB || op == B_MUL || op == B_DIV || op >= B_POW);
        if (legacy && (st = legacy_b_shape(n, &as, &bs)))
            return st;
        if (op == B_PRELU && k->opset < 7 && bs.rank == 1 && as.rank > 2 && bs.dims[0] == as.dims[1] &&
            bs.dims[0] != 1) {
            bs.rank = as.rank - 1; /* legacy [C] slope */
            for (int i = 1; i < bs.rank; i++)
                bs.dims[i] = 1;
        }
        const e2e_shape *ins[2] = {&as, &bs};
        cu_bcast_plan(&p->plan[j], os, ins, 2);
    }
    n->run = binary_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- Where */

template <typename T>
__global__ void k_where(const uint8_t *c, const T *x, const T *y, T *o, cu_bcast p)
{
    CU_LOOP(t, p.n) {
        int64_t off[3];
        cu_bcast_offsets<3>(p, t, off);
        o[t] = c[off[0]] ? x[off[1]] : y[off[2]];
    }
}

struct where_params {
    size_t es;
    cu_bcast plan;
};

static e2e_status where_run(cu_state *S, cu_node *n)
{
    const where_params *p = (const where_params *)n->p;
    if (!p->plan.n)
        return E2E_OK;
    const unsigned nb = cu_blocks(p->plan.n);
    const uint8_t *c = (const uint8_t *)n->in[0];
    switch (p->es) {
    case 1:
        k_where<uint8_t><<<nb, CU_THREADS, 0, S->stream>>>(c, (const uint8_t *)n->in[1],
                                                          (const uint8_t *)n->in[2], (uint8_t *)n->out[0], p->plan);
        break;
    case 2:
        k_where<uint16_t><<<nb, CU_THREADS, 0, S->stream>>>(c, (const uint16_t *)n->in[1],
                                                           (const uint16_t *)n->in[2], (uint16_t *)n->out[0], p->plan);
        break;
    case 4:
        k_where<uint32_t><<<nb, CU_THREADS, 0, S->stream>>>(c, (const uint32_t *)n->in[1],
                                                           (const uint32_t *)n->in[2], (uint32_t *)n->out[0], p->plan);
        break;
    default:
        k_where<uint64_t><<<nb, CU_THREADS, 0, S->stream>>>(c, (const uint64_t *)n->in[1],
                                                           (const uint64_t *)n->in[2], (uint64_t *)n->out[0], p->plan);
        break;
    }
    return E2E_OK;
}

e2e_status cu_prep_where(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in != 3 || !k->in[0] || !k->in[1] || !k->in[2] || !k->out[0] || k->in[0]->dtype != E2E_BOOL)
        return cu_unsupported(n, "this form of Where");
    size_t es = cu_esize(k->in[1]);
    if (es != 1 && es != 2 && es != 4 && es != 8)
        return cu_unsupported(n, "Where on %s", e2e_dtype_name(k->in[1]->dtype));
    where_params *p = (where_params *)cu_params(n, sizeof(where_params));
    if (!p)
        return E2E_ERR_NOMEM;
    p->es = es;
    const e2e_shape *ins[3] = {&k->in[0]->shape, &k->in[1]->shape, &k->in[2]->shape};
    cu_bcast_plan(&p->plan, &k->out[0]->shape, ins, 3);
    n->run = where_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- Cast */

/* float -> int64 truncating toward zero; NaN -> 0; saturating (as the CPU's f2i). */
static __device__ __forceinline__ int64_t f2i(float v)
{
    if (!(v == v))
        return 0;
    if (v >= 9.2233720368547758e18f)
        return INT64_MAX;
    if (v <= -9.2233720368547758e18f)
        return INT64_MIN;
    return (int64_t)v;
}

struct cu_bool {}; /* tag: uint8 storage, read as (v != 0) */

template <typename T> struct cu_store { typedef T type; };
template <> struct cu_store<cu_bool> { typedef uint8_t type; };

template <typename TF, typename TT>
static __device__ __forceinline__ typename cu_store<TT>::type cast_one(typename cu_store<TF>::type v)
{
    typedef typename cu_store<TT>::type DT;
    if constexpr (std::is_same<TT, cu_bool>::value) {
        return (DT)(v != 0);
    } else if constexpr (std::is_same<TF, float>::value) {
        if constexpr (std::is_same<TT, float>::value) return v;
        else if constexpr (std::is_same<TT, int64_t>::value) return f2i(v);
        else return (DT)(uint64_t)f2i(v); /* narrowing wraps */
    } else {
        /* integers and bool (normalised to 0/1) */
        typedef typename cu_store<TF>::type ST;
        ST s = v;
        if constexpr (std::is_same<TF, cu_bool>::value)
            s = (ST)(v != 0);
        if constexpr (std::is_same<TT, float>::value) return (float)s;
        else if constexpr (std::is_same<TT, int64_t>::value) return (int64_t)s;
        else return (DT)(uint64_t)(int64_t)s;
    }
}

template <typename TF, typename TT>
__global__ void k_cast(const typename cu_store<TF>::type *x, typename cu_store<TT>::type *y, int64_t n)
{
    CU_LOOP(t, n) y[t] = cast_one<TF, TT>(x[t]);
}

typedef void (*cast_launch)(const void *x, void *y, int64_t n, cudaStream_t s);

template <typename TF, typename TT>
static void launch_cast(const void *x, void *y, int64_t n, cudaStream_t s)
{
    k_cast<TF, TT><<<cu_blocks(n), CU_THREADS, 0, s>>>((const typename cu_store<TF>::type *)x,
                                                       (typename cu_store<TT>::type *)y, n);
}

template <typename TF>
static cast_launch pick_cast_to(e2e_dtype to)
{
    switch (to) {
    case E2E_FLOAT: return launch_cast<TF, float>;
    case E2E_INT64: return launch_cast<TF, int64_t>;
    case E2E_INT32: return launch_cast<TF, int32_t>;
    case E2E_INT8: return launch_cast<TF, int8_t>;
    case E2E_UINT8: return launch_cast<TF, uint8_t>;
    case E2E_BOOL: return launch_cast<TF, cu_bool>;
    default: return NULL;
    }
}

static cast_launch pick_cast(e2e_dtype from, e2e_dtype to)
{
    switch (from) {
    case E2E_FLOAT: return pick_cast_to<float>(to);
    case E2E_INT64: return pick_cast_to<int64_t>(to);
    case E2E_INT32: return pick_cast_to<int32_t>(to);
    case E2E_INT8: return pick_cast_to<int8_t>(to);
    case E2E_UINT8: return pick_cast_to<uint8_t>(to);
    case E2E_BOOL: return pick_cast_to<cu_bool>(to);
    default: return NULL;
    }
}

struct cast_params {
    cast_launch fn;     /* NULL: same type, a copy */
};

static e2e_status cast_run(cu_state *S, cu_node *n)
{
    const cast_params *p = (const cast_params *)n->p;
    const e2e_value *x = n->k->in[0];
    if (!x->numel)
        return E2E_OK;
    if (!p->fn)
        return cu_copy_d2d(S, n, n->out[0], n->in[0], (size_t)x->numel * cu_esize(x));
    p->fn(n->in[0], n->out[0], x->numel, S->stream);
    return E2E_OK;
}

e2e_status cu_prep_cast(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in != 1 || !k->in[0] || !k->out[0])
        return cu_unsupported(n, "this form of Cast");
    e2e_dtype from = k->in[0]->dtype, to = k->out[0]->dtype;
    cast_params *p = (cast_params *)cu_params(n, sizeof(cast_params));
    if (!p)
        return E2E_ERR_NOMEM;
    if (from != to && !(p->fn = pick_cast(from, to)))
        return cu_unsupported(n, "Cast from %s to %s", e2e_dtype_name(from), e2e_dtype_name(to));
    n->run = cast_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- views, Dropout, Shape */

static e2e_status view_run(cu_state *S, cu_node *n)
{
    const e2e_value *x = n->k->in[0];
    return cu_copy_d2d(S, n, n->out[0], n->in[0], (size_t)x->numel * cu_esize(x));
}

e2e_status cu_prep_view(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in < 1 || !k->in[0] || k->n_out < 1 || !k->out[0] ||
        k->in[0]->numel * (int64_t)cu_esize(k->in[0]) != k->out[0]->numel * (int64_t)cu_esize(k->out[0]))
        return cu_unsupported(n, "this form of %s", k->node->op_type);
    n->run = view_run;
    return E2E_OK;
}

template <typename T>
__global__ void k_fill(T *y, T v, int64_t n)
{
    CU_LOOP(t, n) y[t] = v;
}

/* Dropout (inference). A training_mode computed by the graph is checked on the device:
   true with a non-zero ratio is refused through the error word, as the CPU refuses it. */
struct dropout_params {
    bool check;
    float ratio;            /* when the ratio input is absent or constant */
};

__global__ void k_dropout_check(const uint8_t *train, const float *ratio, float r0, int *flag, int node)
{
    if (threadIdx.x == 0 && blockIdx.x == 0 && *train && (ratio ? *ratio : r0) != 0.f)
        atomicCAS(flag, 0, node + 1);
}

static e2e_status dropout_run(cu_state *S, cu_node *n)
{
    const e2e_kernel *k = n->k;
    const dropout_params *p = (const dropout_params *)n->p;
    if (p->check)
        k_dropout_check<<<1, 1, 0, S->stream>>>((const uint8_t *)n->in[2],
                                                k->n_in > 1 && k->in[1] ? (const float *)n->in[1] : NULL, p->ratio,
                                                S->d_flag, n->index);
    const e2e_value *x = k->in[0];
    e2e_status st = cu_copy_d2d(S, n, n->out[0], n->in[0], (size_t)x->numel * cu_esize(x));
    if (st || k->n_out < 2 || !k->out[1] || !k->out[1]->numel)
        return st;
    const e2e_value *m = k->out[1];
    const unsigned nb = cu_blocks(m->numel);
    switch (m->dtype) {
    case E2E_FLOAT: k_fill<float><<<nb, CU_THREADS, 0, S->stream>>>((float *)n->out[1], 1.f, m->numel); break;
    case E2E_INT32: k_fill<int32_t><<<nb, CU_THREADS, 0, S->stream>>>((int32_t *)n->out[1], 1, m->numel); break;
    case E2E_INT64: k_fill<int64_t><<<nb, CU_THREADS, 0, S->stream>>>((int64_t *)n->out[1], 1, m->numel); break;
    default: k_fill<uint8_t><<<nb, CU_THREADS, 0, S->stream>>>((uint8_t *)n->out[1], 1, m->numel); break;
    }
    return E2E_OK;
}

e2e_status cu_prep_dropout(cu_state *S, cu_node *n)
{
    e2e_kernel *k = n->k;
    if (k->n_in < 1 || !k->in[0] || !k->out[0])
        return cu_unsupported(n, "this form of Dropout");
    if (k->n_out > 1 && k->out[1] && cu_esize(k->out[1]) != 1 && k->out[1]->dtype != E2E_FLOAT &&
        k->out[1]->dtype != E2E_INT32 && k->out[1]->dtype != E2E_INT64)
        return cu_unsupported(n, "a mask of type %s", e2e_dtype_name(k->out[1]->dtype));
    dropout_params *p = (dropout_params *)cu_params(n, sizeof(dropout_params));
    if (!p)
        return E2E_ERR_NOMEM;
    p->ratio = 0.5f;
    const e2e_value *ratio = k->n_in > 1 ? k->in[1] : NULL, *train = k->n_in > 2 ? k->in[2] : NULL;
    if (ratio && (ratio->dtype != E2E_FLOAT || ratio->numel != 1))
        return cu_unsupported(n, "this ratio input");
    if (ratio && ratio->is_const)
        p->ratio = *(const float *)ratio->data;
    if (train && (train->dtype != E2E_BOOL || train->numel != 1))
        return cu_unsupported(n, "this training_mode input");
    /* a constant training_mode = false needs nothing. Training with a seed (the CPU draws
       the mask from MT19937 like numpy) has no GPU kernel; without a seed the CPU refuses a
       non-zero ratio, and so does the device check below. */
    p->check = train && !(train->is_const && !*(const uint8_t *)train->data);
    const bool ratio_zero = ratio ? ratio->is_const && p->ratio == 0.f : false;
    if (p->check && e2e_node_attr(k->node, "seed") && !ratio_zero)
        return cu_unsupported(n, "Dropout in training mode (the seeded random mask)");
    if (p->check) {
        S->flag_used = true;
        n->flag_status = E2E_ERR_UNSUPPORTED;
        n->flag_reason = "training_mode=true with a non-zero ratio drops random elements; this engine "
                         "only runs inference (set training_mode to false)";
    }
    n->run = dropout_run;
    return E2E_OK;
}

static e2e_status noop_run(cu_state *S, cu_node *n)
{
    (void)S;
    (void)n;
    return E2E_OK;
}

e2e_status cu_prep_const_out(cu_state *S, cu_node *n)
{
    (void)S;
    for (int j = 0; j < n->k->n_out; j++)
        if (n->k->out[j] && !n->k->out[j]->is_const)
            return cu_unsupported(n, "a %s output that is not known at session creation",
                                  n->k->node->op_type);
    n->run = noop_run;
    return E2E_OK;
}
