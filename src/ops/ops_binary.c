/* Elementwise operators of several tensors, with numpy multidirectional broadcasting.

   Add, Sub, Mul, Div            float, int32, int64 (integer Div truncates toward zero like C;
                                 x / 0 gives 0 instead of trapping)
   Pow                           base float, int32 or int64; exponent float, int32 or int64;
                                 output has the base's type (a constant scalar exponent of
                                 0.5, 1, 2 or 3 takes a shortcut)
   Min, Max, Sum (variadic)      float, int32, int64;  Mean (variadic) float
   Equal                         float, int32, int64, bool -> bool
   Less, Greater, LessOrEqual, GreaterOrEqual   float, int32, int64 -> bool
   And, Or, Xor                  bool
   Mod                           float, int32, int64, int8, uint8. fmod=0: the result has the
                                 divisor's sign (Python's %); fmod=1: C fmod (the dividend's
                                 sign). Integer x mod 0 gives 0 instead of trapping
   Where(cond, X, Y)             any type for X and Y
   PRelu(X, slope)               float, int32, int64; slope broadcasts to X (unidirectional);
                                 opset < 7 also accepts a [C] slope for N x C x ... inputs
   Opset < 7 Add/Sub/Mul/Div/Pow: broadcast=1 with `axis` aligns B at that axis.

   At prepare the output shape is broadcast and the iteration is planned: dimensions of size
   1 are dropped and neighbours that are contiguous in every input merge, so equal shapes,
   a scalar operand and a trailing-vector operand (bias add) become one or two loops. Each
   row (innermost dimension) is one call of a type-specialised loop whose operand strides
   are 0 or 1; rows are walked with an index counter, never recursion. Nothing is allocated
   at run. Add, Sub, Mul and Div apply a fused activation (Relu after a residual Add) to
   each row while it is in cache. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* y[i] = f(a[i*sa], b[i*sb]) for i < n, with sa and sb in {0, 1}. y may equal a or b. */
typedef void (*bin_fn)(const void *a, int64_t sa, const void *b, int64_t sb, void *y, int64_t n);
/* o[i] = c[i*sc] ? x[i*sx] : y[i*sy] */
typedef void (*where_fn)(const uint8_t *c, int64_t sc, const void *x, int64_t sx, const void *y,
                         int64_t sy, void *o, int64_t n);

#define EW2(NAME, TA, TB, TY, EXPR)                                                              \
    static void NAME(const void *pa, int64_t sa, const void *pb, int64_t sb, void *py, int64_t n) \
    {                                                                                            \
        const TA *A = pa;                                                                        \
        const TB *B = pb;                                                                        \
        TY *Y = py;                                                                              \
        if (sa && sb) {                                                                          \
            for (int64_t i = 0; i < n; i++) {                                                    \
                TA a = A[i];                                                                     \
                TB b = B[i];                                                                     \
                (void)a, (void)b;                                                                \
                Y[i] = (TY)(EXPR);                                                               \
            }                                                                                    \
        } else if (sa) {                                                                         \
            const TB b = B[0];                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                    \
                TA a = A[i];                                                                     \
                (void)a, (void)b;                                                                \
                Y[i] = (TY)(EXPR);                                                               \
            }                                                                                    \
        } else if (sb) {                                                                         \
            const TA a = A[0];                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                    \
                TB b = B[i];                                                                     \
                (void)a, (void)b;                                                                \
                Y[i] = (TY)(EXPR);                                                               \
            }                                                                                    \
        } else {                                                                                 \
            const TA a = A[0];                                                                   \
            const TB b = B[0];                                                                   \
            (void)a, (void)b;                                                                    \
            const TY v = (TY)(EXPR);                                                             \
            for (int64_t i = 0; i < n; i++)                                                      \
                Y[i] = v;                                                                        \
        }                                                                                        \
    }

/* Integer arithmetic wraps (through the unsigned type) instead of overflowing. */
#define IADD(T, U) ((T)((U)a + (U)b))
#define ISUB(T, U) ((T)((U)a - (U)b))
#define IMUL(T, U) ((T)((U)a * (U)b))
#define IDIV(T, U) (b == 0 ? (T)0 : b == -1 ? (T)(0u - (U)a) : (T)(a / b))
#define MIN_(a, b) ((a) < (b) || (a) != (a) ? (a) : (b))
#define MAX_(a, b) ((a) > (b) || (a) != (a) ? (a) : (b))

#define ARITH(T, U, SFX)                                                                         \
    EW2(add_##SFX, T, T, T, IADD(T, U))                                                          \
    EW2(sub_##SFX, T, T, T, ISUB(T, U))                                                          \
    EW2(mul_##SFX, T, T, T, IMUL(T, U))                                                          \
    EW2(div_##SFX, T, T, T, IDIV(T, U))
ARITH(int32_t, uint32_t, i32)
ARITH(int64_t, uint64_t, i64)

EW2(add_f32, float, float, float, a + b)
EW2(sub_f32, float, float, float, a - b)
EW2(mul_f32, float, float, float, a * b)
EW2(div_f32, float, float, float, a / b)

#define COMMON(T, SFX)                                                                           \
    EW2(min_##SFX, T, T, T, MIN_(a, b))                                                          \
    EW2(max_##SFX, T, T, T, MAX_(a, b))                                                          \
    EW2(eq_##SFX, T, T, uint8_t, a == b)                                                         \
    EW2(lt_##SFX, T, T, uint8_t, a < b)                                                          \
    EW2(gt_##SFX, T, T, uint8_t, a > b)                                                          \
    EW2(le_##SFX, T, T, uint8_t, a <= b)                                                         \
    EW2(ge_##SFX, T, T, uint8_t, a >= b)                                                         \
    EW2(prelu_##SFX, T, T, T, a < 0 ? a * b : a)
COMMON(float, f32)
COMMON(int32_t, i32)
COMMON(int64_t, i64)

EW2(eq_b, uint8_t, uint8_t, uint8_t, (a != 0) == (b != 0))
EW2(and_b, uint8_t, uint8_t, uint8_t, (a != 0) & (b != 0))
EW2(or_b, uint8_t, uint8_t, uint8_t, (a != 0) | (b != 0))
EW2(xor_b, uint8_t, uint8_t, uint8_t, (a != 0) ^ (b != 0))

/* ---- Mod ---- */

/* fmod=0: the remainder takes the divisor's sign. b == -1 is handled apart because
   INT_MIN % -1 traps. */
#define IMOD(T) (b == 0 || b == -1 ? (T)0 : (T)(a % b != 0 && ((a % b < 0) != (b < 0)) ? a % b + b : a % b))
#define IFMOD(T) (b == 0 || b == -1 ? (T)0 : (T)(a % b))
#define UMOD(T) (b == 0 ? (T)0 : (T)(a % b))

static float fmod_floor(float a, float b)
{
    float r = fmodf(a, b);
    if (r != 0.f && (r < 0.f) != (b < 0.f))
        r += b;
    else if (r == 0.f)
        r = copysignf(0.f, b);
    return r;
}

EW2(mod_i32, int32_t, int32_t, int32_t, IMOD(int32_t))
EW2(mod_i64, int64_t, int64_t, int64_t, IMOD(int64_t))
EW2(mod_i8, int8_t, int8_t, int8_t, IMOD(int8_t))
EW2(mod_u8, uint8_t, uint8_t, uint8_t, UMOD(uint8_t))
EW2(fmod_i32, int32_t, int32_t, int32_t, IFMOD(int32_t))
EW2(fmod_i64, int64_t, int64_t, int64_t, IFMOD(int64_t))
EW2(fmod_i8, int8_t, int8_t, int8_t, IFMOD(int8_t))
EW2(mod_f32, float, float, float, fmod_floor(a, b))
EW2(fmod_f32, float, float, float, fmodf(a, b))

/* ---- Pow ---- */

/* double -> int64 truncating, NaN -> 0, saturating. */
static int64_t d2i(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9.2233720368547758e18)
        return INT64_MAX;
    if (v <= -9.2233720368547758e18)
        return INT64_MIN;
    return (int64_t)v;
}

/* Integer power by squaring, wrapping; negative exponents give 0 except for bases 1 and -1. */
static int64_t ipow(int64_t a, int64_t b)
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

EW2(pow_ff, float, float, float, powf(a, b))
EW2(pow_fi32, float, int32_t, float, pow((double)a, (double)b))
EW2(pow_fi64, float, int64_t, float, pow((double)a, (double)b))
EW2(pow_i32f, int32_t, float, int32_t, (uint64_t)d2i(pow((double)a, (double)b)))
EW2(pow_i64f, int64_t, float, int64_t, d2i(pow((double)a, (double)b)))
EW2(pow_i32i32, int32_t, int32_t, int32_t, (uint64_t)ipow(a, b))
EW2(pow_i32i64, int32_t, int64_t, int32_t, (uint64_t)ipow(a, b))
EW2(pow_i64i32, int64_t, int32_t, int64_t, ipow(a, b))
EW2(pow_i64i64, int64_t, int64_t, int64_t, ipow(a, b))
/* constant scalar exponents */
EW2(pow_sqrt, float, float, float, sqrtf(a))
EW2(pow_one, float, float, float, a)
EW2(pow_sq, float, float, float, a * a)
EW2(pow_cube, float, float, float, a * a * a)

/* ---- Where ---- */

#define WHERE(NAME, T)                                                                           \
    static void NAME(const uint8_t *c, int64_t sc, const void *px, int64_t sx, const void *py,   \
                     int64_t sy, void *po, int64_t n)                                            \
    {                                                                                            \
        const T *x = px, *y = py;                                                                \
        T *o = po;                                                                               \
        for (int64_t i = 0; i < n; i++)                                                          \
            o[i] = c[i * sc] ? x[i * sx] : y[i * sy];                                            \
    }
WHERE(where_1, uint8_t)
WHERE(where_4, uint32_t)
WHERE(where_8, uint64_t)

/* ---------------------------------------------------------------- plan */

typedef enum bin_kind { K_PAIR, K_VARIADIC, K_WHERE } bin_kind;

typedef struct bin_priv {
    bin_kind kind;
    bin_fn fn;
    where_fn wfn;
    bool mean;              /* Mean: scale by 1 / n_in */
    float scale;
    int n_in;
    size_t es[3];           /* element sizes of inputs 0, 1, and 2.. */
    size_t oes;
    int rank;               /* collapsed, >= 1 */
    int64_t dims[E2E_MAX_RANK];
    /* scratch for run (the session runs a kernel from one thread at a time) */
    const char **ptr;
    int64_t *off;
    int64_t *istr;          /* inner (last-dim) stride of each input: 0 or 1 */
    int64_t str[][E2E_MAX_RANK];
} bin_priv;

static size_t in_es(const bin_priv *p, int j) { return p->es[j < 3 ? j : 2]; }

static void bin_release(void *v) { free(v); }

static bin_priv *priv_new(e2e_kernel *k, int n_in)
{
    size_t head = sizeof(bin_priv) + sizeof(int64_t[E2E_MAX_RANK]) * (size_t)n_in;
    head = (head + 15) & ~(size_t)15;
    size_t extra = (sizeof(char *) + 2 * sizeof(int64_t)) * (size_t)n_in;
    bin_priv *p = calloc(1, head + extra);
    if (!p)
        return NULL;
    char *x = (char *)p + head;
    p->ptr = (const char **)x;
    p->off = (int64_t *)(x + sizeof(char *) * (size_t)n_in);
    p->istr = p->off + n_in;
    p->n_in = n_in;
    k->priv = p;
    return p;
}

/* Strides of every input against out; drops size-1 dims and merges contiguous neighbours. */
static void plan_build(bin_priv *p, const e2e_shape *out, const e2e_shape *const *ins)
{
    for (int j = 0; j < p->n_in; j++)
        e2e_broadcast_strides(ins[j], out, p->str[j]);
    int r = 0;
    for (int d = 0; d < out->rank; d++) {
        int64_t n = out->dims[d];
        if (n == 1)
            continue;
        bool merge = r > 0;
        for (int j = 0; j < p->n_in && merge; j++)
            merge = p->str[j][r - 1] == p->str[j][d] * n;
        if (merge) {
            p->dims[r - 1] *= n;
            for (int j = 0; j < p->n_in; j++)
                p->str[j][r - 1] = p->str[j][d];
        } else {
            p->dims[r] = n;
            for (int j = 0; j < p->n_in; j++)
                p->str[j][r] = p->str[j][d];
            r++;
        }
    }
    if (r == 0) {
        p->dims[0] = 1;
        for (int j = 0; j < p->n_in; j++)
            p->str[j][0] = 0;
        r = 1;
    }
    p->rank = r;
    for (int j = 0; j < p->n_in; j++)
        p->istr[j] = p->str[j][r - 1];
}

/* ---------------------------------------------------------------- run */

#define CHUNK 256

static void row_pair(const bin_priv *p, const e2e_kernel *k, char *y, int64_t n)
{
    p->fn(p->ptr[0], p->istr[0], p->ptr[1], p->istr[1], y, n);
    if (k->act != E2E_ACT_NONE)
        e2e_act_apply(k->act, k->act_alpha, k->act_beta, (float *)y, n);
}

static void row_where(const bin_priv *p, const e2e_kernel *k, char *y, int64_t n)
{
    p->wfn((const uint8_t *)p->ptr[0], p->istr[0], p->ptr[1], p->istr[1], p->ptr[2], p->istr[2],
           y, n);
}

/* Folds all inputs chunk by chunk in a stack buffer, so every input element of a chunk is
   read before the chunk of the output (which may be input 0's memory) is written. */
static void row_variadic(const bin_priv *p, const e2e_kernel *k, char *y, int64_t n)
{
    int64_t tmp[CHUNK];
    const size_t es = p->oes;
    for (int64_t c0 = 0; c0 < n; c0 += CHUNK) {
        int64_t c = n - c0 < CHUNK ? n - c0 : CHUNK;
        p->fn(p->ptr[0] + c0 * p->istr[0] * (int64_t)es, p->istr[0],
              p->ptr[1] + c0 * p->istr[1] * (int64_t)es, p->istr[1], tmp, c);
        for (int j = 2; j < p->n_in; j++)
            p->fn(tmp, 1, p->ptr[j] + c0 * p->istr[j] * (int64_t)es, p->istr[j], tmp, c);
        if (p->mean) {
            float *f = (float *)tmp;
            for (int64_t i = 0; i < c; i++)
                f[i] *= p->scale;
        }
        memcpy(y + c0 * (int64_t)es, tmp, (size_t)c * es);
    }
}

static e2e_status bin_run(e2e_kernel *k)
{
    bin_priv *p = k->priv;
    const e2e_value *o = k->out[0];
    if (o->numel == 0)
        return E2E_OK;
    if (p->kind == K_VARIADIC && p->n_in == 1) {
        if (o->data != k->in[0]->data)
            memmove(o->data, k->in[0]->data, (size_t)o->numel * p->oes);
        return E2E_OK;
    }
    void (*row)(const bin_priv *, const e2e_kernel *, char *, int64_t) =
        p->kind == K_PAIR ? row_pair : p->kind == K_WHERE ? row_where : row_variadic;
    /* rows are walked two dimensions at a time: the last two (inner, mid) directly, the
       others with an index counter */
    const int r = p->rank, nin = p->n_in;
    const int64_t inner = p->dims[r - 1], mid = r >= 2 ? p->dims[r - 2] : 1;
    const int64_t outer = o->numel / (inner * mid);
    int64_t idx[E2E_MAX_RANK] = {0};
    for (int j = 0; j < nin; j++)
        p->off[j] = 0;
    char *y = o->data;
    const int64_t ystep = inner * (int64_t)p->oes;
    for (int64_t i = 0; i < outer; i++) {
        for (int j = 0; j < nin; j++)
            p->ptr[j] = (const char *)k->in[j]->data + p->off[j] * (int64_t)in_es(p, j);
        for (int64_t m = 0; m < mid; m++, y += ystep) {
            row(p, k, y, inner);
            if (r >= 2)
                for (int j = 0; j < nin; j++)
                    p->ptr[j] += p->str[j][r - 2] * (int64_t)in_es(p, j);
        }
        for (int d = r - 3; d >= 0; d--) {
            if (++idx[d] < p->dims[d]) {
                for (int j = 0; j < nin; j++)
                    p->off[j] += p->str[j][d];
                break;
            }
            idx[d] = 0;
            for (int j = 0; j < nin; j++)
                p->off[j] -= p->str[j][d] * (p->dims[d] - 1);
        }
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- prepare */

typedef enum bin_op {
    B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MIN, B_MAX, B_SUM, B_MEAN, B_EQ, B_LT, B_GT, B_LE, B_GE,
    B_AND, B_OR, B_XOR, B_PRELU, B_MOD
} bin_op;

/* Function for op on element type dt (both operands dt); NULL when unsupported. */
static bin_fn pick(bin_op op, e2e_dtype dt)
{
#define BY_TYPE(F, I32, I64) return dt == E2E_FLOAT ? F : dt == E2E_INT32 ? I32 : dt == E2E_INT64 ? I64 : NULL
    switch (op) {
    case B_ADD: case B_SUM: BY_TYPE(add_f32, add_i32, add_i64);
    case B_SUB: BY_TYPE(sub_f32, sub_i32, sub_i64);
    case B_MUL: BY_TYPE(mul_f32, mul_i32, mul_i64);
    case B_DIV: BY_TYPE(div_f32, div_i32, div_i64);
    case B_MIN: BY_TYPE(min_f32, min_i32, min_i64);
    case B_MAX: BY_TYPE(max_f32, max_i32, max_i64);
    case B_MEAN: return dt == E2E_FLOAT ? add_f32 : NULL;
    case B_EQ: return dt == E2E_BOOL ? eq_b : dt == E2E_FLOAT ? eq_f32 : dt == E2E_INT32 ? eq_i32
                    : dt == E2E_INT64 ? eq_i64 : NULL;
    case B_LT: BY_TYPE(lt_f32, lt_i32, lt_i64);
    case B_GT: BY_TYPE(gt_f32, gt_i32, gt_i64);
    case B_LE: BY_TYPE(le_f32, le_i32, le_i64);
    case B_GE: BY_TYPE(ge_f32, ge_i32, ge_i64);
    case B_AND: return dt == E2E_BOOL ? and_b : NULL;
    case B_OR: return dt == E2E_BOOL ? or_b : NULL;
    case B_XOR: return dt == E2E_BOOL ? xor_b : NULL;
    case B_PRELU: BY_TYPE(prelu_f32, prelu_i32, prelu_i64);
    case B_POW: case B_MOD: return NULL;
    }
#undef BY_TYPE
    return NULL;
}

static bin_fn pick_pow(e2e_kernel *k)
{
    e2e_dtype a = k->in[0]->dtype, b = k->in[1]->dtype;
    const e2e_value *e = k->in[1];
    if (a == E2E_FLOAT && b == E2E_FLOAT && e->is_const && e->numel == 1) {
        float v = *(const float *)e->data;
        if (v == 0.5f)
            return pow_sqrt;
        if (v == 1.f)
            return pow_one;
        if (v == 2.f)
            return pow_sq;
        if (v == 3.f)
            return pow_cube;
    }
    switch (a) {
    case E2E_FLOAT:
        return b == E2E_FLOAT ? pow_ff : b == E2E_INT32 ? pow_fi32 : b == E2E_INT64 ? pow_fi64 : NULL;
    case E2E_INT32:
        return b == E2E_FLOAT ? pow_i32f : b == E2E_INT32 ? pow_i32i32 : b == E2E_INT64 ? pow_i32i64 : NULL;
    case E2E_INT64:
        return b == E2E_FLOAT ? pow_i64f : b == E2E_INT32 ? pow_i64i32 : b == E2E_INT64 ? pow_i64i64 : NULL;
    default:
        return NULL;
    }
}

static bin_fn pick_mod(e2e_kernel *k, bool *bad_attr)
{
    int64_t fmod;
    *bad_attr = e2e_attr_int(k, "fmod", 0, &fmod) != E2E_OK;
    if (*bad_attr)
        return NULL;
    switch (k->in[0]->dtype) {
    case E2E_FLOAT: return fmod ? fmod_f32 : mod_f32;
    case E2E_INT32: return fmod ? fmod_i32 : mod_i32;
    case E2E_INT64: return fmod ? fmod_i64 : mod_i64;
    case E2E_INT8: return fmod ? fmod_i8 : mod_i8;
    case E2E_UINT8: return mod_u8; /* both rules agree on unsigned values */
    default: return NULL;
    }
}

static bool is_compare(bin_op op)
{
    return op == B_EQ || op == B_LT || op == B_GT || op == B_LE || op == B_GE;
}

/* Opset < 7: B is aligned at `axis` of A when broadcast=1 (legacy broadcasting). */
static e2e_status legacy_b_shape(e2e_kernel *k, const e2e_shape *a, e2e_shape *b)
{
    e2e_status st;
    int64_t bc, axis;
    if ((st = e2e_attr_int(k, "broadcast", 0, &bc)) ||
        (st = e2e_attr_int(k, "axis", a->rank - b->rank, &axis)))
        return st;
    char s1[160], s2[160];
    if (!bc) {
        if (!e2e_shape_equal(a, b))
            return e2e_kfail(k, E2E_ERR_SHAPE, "shapes %s and %s differ and broadcast=0",
                             e2e_shape_str(a, s1, sizeof s1), e2e_shape_str(b, s2, sizeof s2));
        return E2E_OK;
    }
    if (axis < 0)
        axis += a->rank;
    if (axis < 0 || axis + b->rank > a->rank)
        return e2e_kfail(k, E2E_ERR_SHAPE, "B %s cannot be placed at axis %lld of A %s",
                         e2e_shape_str(b, s2, sizeof s2), (long long)axis,
                         e2e_shape_str(a, s1, sizeof s1));
    e2e_shape nb = {.rank = a->rank};
    for (int i = 0; i < a->rank; i++)
        nb.dims[i] = 1;
    for (int i = 0; i < b->rank; i++)
        nb.dims[axis + i] = b->dims[i];
    *b = nb;
    return E2E_OK;
}

static e2e_status pair_prepare(e2e_kernel *k, bin_op op)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 2)))
        return st;
    const e2e_value *a = k->in[0], *b = k->in[1];
    bin_fn fn;
    if (op == B_POW) {
        fn = pick_pow(k);
        if (!fn)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "Pow of %s by %s is not supported",
                             e2e_dtype_name(a->dtype), e2e_dtype_name(b->dtype));
    } else {
        if (a->dtype != b->dtype)
            return e2e_kfail(k, E2E_ERR_INVALID, "inputs have different types: %s and %s",
                             e2e_dtype_name(a->dtype), e2e_dtype_name(b->dtype));
        bool bad_attr = false;
        fn = op == B_MOD ? pick_mod(k, &bad_attr) : pick(op, a->dtype);
        if (bad_attr)
            return E2E_ERR_INVALID;
        if (!fn)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "input type %s is not supported",
                             e2e_dtype_name(a->dtype));
    }
    e2e_shape as = a->shape, bs = b->shape, os;
    if (op == B_PRELU) {
        if (k->opset < 7 && bs.rank == 1 && as.rank > 2 && bs.dims[0] == as.dims[1] &&
            bs.dims[0] != 1) {
            /* legacy: a [C] slope for N x C x ... */
            bs.rank = as.rank - 1;
            for (int i = 1; i < bs.rank; i++)
                bs.dims[i] = 1;
        }
        if ((st = e2e_broadcast(k, &as, &bs, &os)))
            return st;
        if (!e2e_shape_equal(&os, &as)) {
            char s1[160], s2[160];
            return e2e_kfail(k, E2E_ERR_SHAPE, "slope %s does not broadcast to X %s",
                             e2e_shape_str(&b->shape, s2, sizeof s2), e2e_shape_str(&as, s1, sizeof s1));
        }
    } else {
        if (k->opset < 7 && op <= B_POW && (st = legacy_b_shape(k, &as, &bs)))
            return st;
        if ((st = e2e_broadcast(k, &as, &bs, &os)))
            return st;
    }
    e2e_dtype odt = is_compare(op) ? E2E_BOOL : a->dtype;
    if ((st = e2e_out_set(k, 0, odt, &os)))
        return st;
    bin_priv *p = priv_new(k, 2);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->kind = K_PAIR;
    p->fn = fn;
    p->es[0] = e2e_dtype_size(a->dtype);
    p->es[1] = p->es[2] = e2e_dtype_size(b->dtype);
    p->oes = e2e_dtype_size(odt);
    const e2e_shape *ins[2] = {&as, &bs};
    plan_build(p, &os, ins);
    return E2E_OK;
}

static e2e_status variadic_prepare(e2e_kernel *k, bin_op op)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, k->n_in > 0 ? k->n_in : 1)))
        return st;
    const int n = k->n_in;
    const e2e_dtype dt = k->in[0]->dtype;
    e2e_shape os = k->in[0]->shape;
    const e2e_shape *ins[64];
    if (n > 64)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "%d inputs, at most 64 are supported", n);
    for (int j = 0; j < n; j++) {
        if (!k->in[j])
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d is missing", j);
        if (k->in[j]->dtype != dt)
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d is %s, input 0 is %s", j,
                             e2e_dtype_name(k->in[j]->dtype), e2e_dtype_name(dt));
        if (j && (st = e2e_broadcast(k, &os, &k->in[j]->shape, &os)))
            return st;
        ins[j] = &k->in[j]->shape;
    }
    bin_fn fn = pick(op, dt);
    if (!fn)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "input type %s is not supported",
                         e2e_dtype_name(dt));
    if ((st = e2e_out_set(k, 0, dt, &os)))
        return st;
    bin_priv *p = priv_new(k, n);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->kind = n == 2 && op != B_MEAN ? K_PAIR : K_VARIADIC;
    p->fn = fn;
    p->mean = op == B_MEAN;
    p->scale = 1.f / (float)n;
    p->es[0] = p->es[1] = p->es[2] = p->oes = e2e_dtype_size(dt);
    plan_build(p, &os, ins);
    return E2E_OK;
}

static e2e_status where_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 3, 3)) || (st = e2e_check_dtype(k, 0, E2E_BOOL, E2E_UNDEFINED)))
        return st;
    const e2e_value *x = k->in[1], *y = k->in[2];
    if (x->dtype != y->dtype)
        return e2e_kfail(k, E2E_ERR_INVALID, "X is %s and Y is %s; they must have one type",
                         e2e_dtype_name(x->dtype), e2e_dtype_name(y->dtype));
    size_t es = e2e_dtype_size(x->dtype);
    where_fn wfn = es == 1 ? where_1 : es == 4 ? where_4 : es == 8 ? where_8 : NULL;
    if (!wfn)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "type %s is not supported", e2e_dtype_name(x->dtype));
    e2e_shape os;
    if ((st = e2e_broadcast(k, &k->in[0]->shape, &x->shape, &os)) ||
        (st = e2e_broadcast(k, &os, &y->shape, &os)) || (st = e2e_out_set(k, 0, x->dtype, &os)))
        return st;
    bin_priv *p = priv_new(k, 3);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->kind = K_WHERE;
    p->wfn = wfn;
    p->es[0] = 1;
    p->es[1] = p->es[2] = p->oes = es;
    const e2e_shape *ins[3] = {&k->in[0]->shape, &x->shape, &y->shape};
    plan_build(p, &os, ins);
    return E2E_OK;
}

#define PAIR(NAME, OP)                                                                           \
    static e2e_status NAME##_prepare(e2e_kernel *k) { return pair_prepare(k, OP); }
#define VARIADIC(NAME, OP)                                                                       \
    static e2e_status NAME##_prepare(e2e_kernel *k) { return variadic_prepare(k, OP); }
PAIR(add, B_ADD)
PAIR(sub, B_SUB)
PAIR(mul, B_MUL)
PAIR(div, B_DIV)
PAIR(pow, B_POW)
PAIR(eq, B_EQ)
PAIR(lt, B_LT)
PAIR(gt, B_GT)
PAIR(le, B_LE)
PAIR(ge, B_GE)
PAIR(and, B_AND)
PAIR(or, B_OR)
PAIR(xor, B_XOR)
PAIR(prelu, B_PRELU)
PAIR(mod, B_MOD)
VARIADIC(min, B_MIN)
VARIADIC(max, B_MAX)
VARIADIC(sum, B_SUM)
VARIADIC(mean, B_MEAN)

/* E2E_OP_INPLACE only where the output has input 0's type: the session checks byte sizes,
   and equal sizes then mean equal shapes. */
const e2e_op_def e2e_ops_binary[] = {
    {"Add", add_prepare, bin_run, bin_release, E2E_OP_INPLACE | E2E_OP_FUSES_ACT},
    {"Sub", sub_prepare, bin_run, bin_release, E2E_OP_INPLACE | E2E_OP_FUSES_ACT},
    {"Mul", mul_prepare, bin_run, bin_release, E2E_OP_INPLACE | E2E_OP_FUSES_ACT},
    {"Div", div_prepare, bin_run, bin_release, E2E_OP_INPLACE | E2E_OP_FUSES_ACT},
    {"Pow", pow_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"Min", min_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"Max", max_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"Sum", sum_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"Mean", mean_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"Equal", eq_prepare, bin_run, bin_release, 0},
    {"Less", lt_prepare, bin_run, bin_release, 0},
    {"Greater", gt_prepare, bin_run, bin_release, 0},
    {"LessOrEqual", le_prepare, bin_run, bin_release, 0},
    {"GreaterOrEqual", ge_prepare, bin_run, bin_release, 0},
    {"And", and_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"Or", or_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"Xor", xor_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"Where", where_prepare, bin_run, bin_release, 0},
    {"Mod", mod_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {"PRelu", prelu_prepare, bin_run, bin_release, E2E_OP_INPLACE},
    {0},
};
