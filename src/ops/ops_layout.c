/* Data movement by strided copies (any element type, by byte size): Transpose, Slice,
   Expand, Tile and Pad. Each is reduced at prepare to one e2e_xcopy (Pad: one for the
   interior plus a pass per padded dim), so run is a tight loop without allocation.

   e2e_xcopy: unit dims are dropped and neighbours merged when both strides agree, then one
   loop kind is chosen:
     rows   the innermost dim is contiguous on both sides: memcpy of whole rows;
     tile   the output's innermost dim reads with a stride and another dim reads with unit
            stride (any transpose that moves the last axis): 16x16 blocked transposes;
     elems  anything else (negative steps, broadcasting): an element loop per row. */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_internal.h"

enum { XC_EMPTY, XC_ROWS, XC_TILE, XC_ELEMS };

#define XC_BLOCK 16

void e2e_contig_strides(const e2e_shape *s, int64_t *strides)
{
    /* unsigned: a zero-size tensor may have huge other dims; its strides are never used */
    uint64_t m = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        strides[i] = (int64_t)m;
        m *= (uint64_t)s->dims[i];
    }
}

void e2e_xcopy_init(e2e_xcopy *x, int rank, const int64_t *dims, const int64_t *is,
                    const int64_t *os, int64_t ioff, int64_t ooff, size_t esz)
{
    memset(x, 0, sizeof *x);
    x->esz = esz;
    x->ioff = ioff;
    x->ooff = ooff;
    /* a zero dim first: the other dims of an empty copy may be huge (Tile's repeats) */
    x->n = 1;
    for (int i = 0; i < rank; i++)
        if (dims[i] == 0)
            x->n = 0;
    for (int i = 0; i < rank && x->n; i++)
        x->n *= dims[i];
    if (x->n == 0 || esz == 0) {
        x->kind = XC_EMPTY;
        x->n = 0;
        return;
    }
    /* keep non-unit dims, merging each into its inner neighbour when possible */
    int64_t d[E2E_XCOPY_MAX_RANK], a[E2E_XCOPY_MAX_RANK], b[E2E_XCOPY_MAX_RANK];
    int r = 0; /* built innermost first */
    for (int i = rank - 1; i >= 0; i--) {
        if (dims[i] == 1)
            continue;
        if (r > 0 && is[i] == a[r - 1] * d[r - 1] && os[i] == b[r - 1] * d[r - 1]) {
            d[r - 1] *= dims[i];
            continue;
        }
        d[r] = dims[i];
        a[r] = is[i];
        b[r] = os[i];
        r++;
    }
    if (r == 0) {
        d[0] = 1;
        a[0] = b[0] = 1;
        r = 1;
    }
    x->rank = r;
    for (int i = 0; i < r; i++) {
        x->dims[i] = d[r - 1 - i];
        x->is[i] = a[r - 1 - i];
        x->os[i] = b[r - 1 - i];
    }
    int L = r - 1;
    if (x->is[L] == 1 && x->os[L] == 1) {
        x->kind = XC_ROWS;
        return;
    }
    x->kind = XC_ELEMS;
    if (x->os[L] == 1 && x->dims[L] >= 4)
        for (int j = L - 1; j >= 0; j--)
            if (x->is[j] == 1 && x->dims[j] >= 4) {
                x->kind = XC_TILE;
                x->tj = j;
                break;
            }
}

/* Advances the odometer over the dims in ax[0..na) (last fastest); false when done. */
static inline bool xc_next(const e2e_xcopy *x, const int *ax, int na, int64_t *idx, int64_t *ip,
                           int64_t *op)
{
    for (int t = na - 1; t >= 0; t--) {
        int a = ax[t];
        if (++idx[a] < x->dims[a]) {
            *ip += x->is[a];
            *op += x->os[a];
            return true;
        }
        *ip -= x->is[a] * (x->dims[a] - 1);
        *op -= x->os[a] * (x->dims[a] - 1);
        idx[a] = 0;
    }
    return false;
}

#define XC_ELEM_LOOP(T)                                                                            \
    do {                                                                                           \
        const T *s_ = (const T *)src;                                                              \
        T *d_ = (T *)dst;                                                                          \
        for (int64_t e = 0; e < n; e++)                                                            \
            d_[e * ds] = s_[e * ss];                                                               \
    } while (0)

static inline void xc_row(const char *src, char *dst, int64_t n, int64_t ss, int64_t ds, size_t esz)
{
    switch (esz) {
    case 1: XC_ELEM_LOOP(uint8_t); break;
    case 2: XC_ELEM_LOOP(uint16_t); break;
    case 4: XC_ELEM_LOOP(uint32_t); break;
    case 8: XC_ELEM_LOOP(uint64_t); break;
    default:
        for (int64_t e = 0; e < n; e++)
            memcpy(dst + (size_t)(e * ds) * esz, src + (size_t)(e * ss) * esz, esz);
    }
}

#define XC_TILE_LOOP(T)                                                                            \
    do {                                                                                           \
        const T *s_ = (const T *)src;                                                              \
        T *d_ = (T *)dst;                                                                          \
        for (int64_t a0 = 0; a0 < A; a0 += XC_BLOCK)                                               \
            for (int64_t b0 = 0; b0 < B; b0 += XC_BLOCK) {                                         \
                int64_t a1 = a0 + XC_BLOCK < A ? a0 + XC_BLOCK : A;                                \
                int64_t b1 = b0 + XC_BLOCK < B ? b0 + XC_BLOCK : B;                                \
                for (int64_t a = a0; a < a1; a++)                                                  \
                    for (int64_t b = b0; b < b1; b++)                                              \
                        d_[a * osa + b] = s_[a + b * isb];                                         \
            }                                                                                      \
    } while (0)

/* in(a, b) = src[a + b*isb] -> out(a, b) = dst[a*osa + b] */
static void xc_tile(const char *src, char *dst, int64_t A, int64_t B, int64_t isb, int64_t osa,
                    size_t esz)
{
    switch (esz) {
    case 1: XC_TILE_LOOP(uint8_t); break;
    case 2: XC_TILE_LOOP(uint16_t); break;
    case 4: XC_TILE_LOOP(uint32_t); break;
    case 8: XC_TILE_LOOP(uint64_t); break;
    default:
        for (int64_t a = 0; a < A; a++)
            xc_row(src + (size_t)a * esz, dst + (size_t)(a * osa) * esz, B, isb, 1, esz);
    }
}

void e2e_xcopy_run(const e2e_xcopy *x, const void *in, void *out)
{
    if (x->kind == XC_EMPTY)
        return;
    const size_t esz = x->esz;
    const char *ib = (const char *)in + x->ioff * (int64_t)esz;
    char *ob = (char *)out + x->ooff * (int64_t)esz;
    const int L = x->rank - 1;
    int ax[E2E_XCOPY_MAX_RANK], na = 0;
    int64_t idx[E2E_XCOPY_MAX_RANK] = {0};
    int64_t ip = 0, op = 0;
    for (int i = 0; i < L; i++)
        if (x->kind != XC_TILE || i != x->tj)
            ax[na++] = i;
    switch (x->kind) {
    case XC_ROWS: {
        size_t rb = (size_t)x->dims[L] * esz;
        do
            memcpy(ob + op * (int64_t)esz, ib + ip * (int64_t)esz, rb);
        while (xc_next(x, ax, na, idx, &ip, &op));
        break;
    }
    case XC_TILE: {
        int j = x->tj;
        do
            xc_tile(ib + ip * (int64_t)esz, ob + op * (int64_t)esz, x->dims[j], x->dims[L], x->is[L],
                    x->os[j], esz);
        while (xc_next(x, ax, na, idx, &ip, &op));
        break;
    }
    default:
        do
            xc_row(ib + ip * (int64_t)esz, ob + op * (int64_t)esz, x->dims[L], x->is[L], x->os[L], esz);
        while (xc_next(x, ax, na, idx, &ip, &op));
    }
}

static e2e_status xcopy_new(e2e_kernel *k, e2e_xcopy **out)
{
    *out = calloc(1, sizeof(e2e_xcopy));
    if (!*out)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = *out;
    return E2E_OK;
}

e2e_status e2e_xcopy_kernel_run(e2e_kernel *k)
{
    e2e_xcopy_run(k->priv, k->in[0]->data, k->out[0]->data);
    return E2E_OK;
}

const e2e_xcopy *e2e_xcopy_of(const e2e_kernel *k)
{
    return k->op && k->op->run == e2e_xcopy_kernel_run ? k->priv : NULL;
}

/* ---------------------------------------------------------------- Transpose */

e2e_status e2e_transpose_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)))
        return st;
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    const int64_t *perm;
    int np;
    if ((st = e2e_attr_ints(k, "perm", &perm, &np)))
        return st;
    int p[E2E_MAX_RANK];
    if (perm) {
        if (np != r)
            return e2e_kfail(k, E2E_ERR_INVALID, "perm has %d entries, the input has rank %d", np, r);
        bool seen[E2E_MAX_RANK] = {false};
        for (int i = 0; i < r; i++) {
            if (perm[i] < 0 || perm[i] >= r || seen[perm[i]])
                return e2e_kfail(k, E2E_ERR_INVALID,
                                 "perm is not a permutation of 0..%d (entry %d is %lld)", r - 1, i,
                                 (long long)perm[i]);
            seen[perm[i]] = true;
            p[i] = (int)perm[i];
        }
    } else {
        for (int i = 0; i < r; i++)
            p[i] = r - 1 - i;
    }
    e2e_shape os = {.rank = r};
    int64_t istr[E2E_MAX_RANK], ostr[E2E_MAX_RANK], is[E2E_MAX_RANK];
    e2e_contig_strides(&x->shape, istr);
    for (int i = 0; i < r; i++) {
        os.dims[i] = x->shape.dims[p[i]];
        is[i] = istr[p[i]];
    }
    e2e_contig_strides(&os, ostr);
    if ((st = e2e_out_set(k, 0, x->dtype, &os)))
        return st;
    e2e_xcopy *c;
    if ((st = xcopy_new(k, &c)))
        return st;
    e2e_xcopy_init(c, r, os.dims, is, ostr, 0, 0, e2e_dtype_size(x->dtype));
    return E2E_OK;
}

/* ---------------------------------------------------------------- Slice */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

e2e_status e2e_slice_prepare(e2e_kernel *k)
{
    e2e_status st;
    const e2e_value *x = k->in[0];
    int64_t starts[E2E_MAX_RANK], ends[E2E_MAX_RANK], axes[E2E_MAX_RANK], steps[E2E_MAX_RANK];
    int ns, ne, na = -1, nst = -1;
    if (k->opset < 10) {
        if ((st = e2e_check_inputs(k, 1, 1)))
            return st;
        x = k->in[0];
        const int64_t *v;
        int n;
        if ((st = e2e_attr_ints(k, "starts", &v, &ns)))
            return st;
        if (!v)
            return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'starts' is required");
        if (ns > E2E_MAX_RANK)
            return e2e_kfail(k, E2E_ERR_INVALID, "'starts' has %d values", ns);
        memcpy(starts, v, sizeof(int64_t) * (size_t)ns);
        if ((st = e2e_attr_ints(k, "ends", &v, &ne)))
            return st;
        if (!v)
            return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'ends' is required");
        if (ne > E2E_MAX_RANK)
            return e2e_kfail(k, E2E_ERR_INVALID, "'ends' has %d values", ne);
        memcpy(ends, v, sizeof(int64_t) * (size_t)ne);
        if ((st = e2e_attr_ints(k, "axes", &v, &n)))
            return st;
        if (v) {
            if (n > E2E_MAX_RANK)
                return e2e_kfail(k, E2E_ERR_INVALID, "'axes' has %d values", n);
            memcpy(axes, v, sizeof(int64_t) * (size_t)n);
            na = n;
        }
    } else {
        if ((st = e2e_check_inputs(k, 3, 5)))
            return st;
        x = k->in[0];
        if ((st = e2e_input_ints(k, 1, starts, E2E_MAX_RANK, &ns)) ||
            (st = e2e_input_ints(k, 2, ends, E2E_MAX_RANK, &ne)))
            return st;
        if (k->n_in > 3 && k->in[3] && (st = e2e_input_ints(k, 3, axes, E2E_MAX_RANK, &na)))
            return st;
        if (k->n_in > 4 && k->in[4] && (st = e2e_input_ints(k, 4, steps, E2E_MAX_RANK, &nst)))
            return st;
    }
    const int r = x->shape.rank;
    if (ns != ne)
        return e2e_kfail(k, E2E_ERR_INVALID, "starts has %d values, ends has %d", ns, ne);
    if (na >= 0 && na != ns)
        return e2e_kfail(k, E2E_ERR_INVALID, "axes has %d values, starts has %d", na, ns);
    if (nst >= 0 && nst != ns)
        return e2e_kfail(k, E2E_ERR_INVALID, "steps has %d values, starts has %d", nst, ns);
    if (na < 0) {
        if (ns > r)
            return e2e_kfail(k, E2E_ERR_INVALID, "%d starts for an input of rank %d", ns, r);
        for (int i = 0; i < ns; i++)
            axes[i] = i;
    }
    if (nst < 0)
        for (int i = 0; i < ns; i++)
            steps[i] = 1;
    int64_t start[E2E_MAX_RANK], step[E2E_MAX_RANK];
    e2e_shape os = x->shape;
    bool seen[E2E_MAX_RANK] = {false};
    for (int i = 0; i < r; i++) {
        start[i] = 0;
        step[i] = 1;
    }
    for (int i = 0; i < ns; i++) {
        int a;
        if ((st = e2e_axis(k, axes[i], r, &a)))
            return st;
        if (seen[a])
            return e2e_kfail(k, E2E_ERR_INVALID, "axis %d is sliced twice", a);
        seen[a] = true;
        const int64_t dim = x->shape.dims[a], sp = steps[i];
        if (sp == 0)
            return e2e_kfail(k, E2E_ERR_INVALID, "step of axis %d is 0", a);
        /* The spec's clamping (as ONNX Runtime): negative values count from the end; then a
           positive step clamps start and end to [0, dim], a negative step clamps start to
           [0, dim - 1] and end to [-1, dim - 1]. So a start before the axis with a negative
           step still reads element 0 (numpy, and onnx.reference, give nothing there). */
        int64_t s = starts[i], e = ends[i];
        if (s < 0)
            s = s < -dim ? -1 : s + dim; /* below -dim: clamped below (no overflow) */
        if (e < 0)
            e = e < -dim ? -1 : e + dim;
        int64_t cnt;
        if (dim == 0) {
            cnt = 0;
        } else if (sp > 0) {
            s = clamp64(s, 0, dim);
            e = clamp64(e, 0, dim);
            cnt = e > s ? (e - s + sp - 1) / sp : 0;
        } else {
            s = clamp64(s, 0, dim - 1);
            e = clamp64(e, -1, dim - 1);
            cnt = s > e ? (s - e + (-sp) - 1) / (-sp) : 0;
        }
        start[a] = cnt ? s : 0;
        step[a] = sp;
        os.dims[a] = cnt;
    }
    if ((st = e2e_out_set(k, 0, x->dtype, &os)))
        return st;
    int64_t istr[E2E_MAX_RANK], ostr[E2E_MAX_RANK], is[E2E_MAX_RANK], off = 0;
    e2e_contig_strides(&x->shape, istr);
    e2e_contig_strides(&os, ostr);
    for (int i = 0; i < r; i++) {
        is[i] = istr[i] * step[i];
        off += start[i] * istr[i];
    }
    e2e_xcopy *c;
    if ((st = xcopy_new(k, &c)))
        return st;
    e2e_xcopy_init(c, r, os.dims, is, ostr, off, 0, e2e_dtype_size(x->dtype));
    return E2E_OK;
}

/* ---------------------------------------------------------------- Expand */

e2e_status e2e_expand_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 2)))
        return st;
    const e2e_value *x = k->in[0];
    int64_t sh[E2E_MAX_RANK];
    int n;
    if ((st = e2e_input_ints(k, 1, sh, E2E_MAX_RANK, &n)))
        return st;
    e2e_shape want = {.rank = n}, os;
    for (int i = 0; i < n; i++) {
        if (sh[i] < 0)
            return e2e_kfail(k, E2E_ERR_SHAPE, "shape entry %d is negative (%lld)", i, (long long)sh[i]);
        want.dims[i] = sh[i];
    }
    if ((st = e2e_broadcast(k, &x->shape, &want, &os)))
        return st;
    if ((st = e2e_out_set(k, 0, x->dtype, &os)))
        return st;
    int64_t is[E2E_MAX_RANK], ostr[E2E_MAX_RANK];
    e2e_broadcast_strides(&x->shape, &os, is);
    e2e_contig_strides(&os, ostr);
    e2e_xcopy *c;
    if ((st = xcopy_new(k, &c)))
        return st;
    e2e_xcopy_init(c, os.rank, os.dims, is, ostr, 0, 0, e2e_dtype_size(x->dtype));
    return E2E_OK;
}

/* ---------------------------------------------------------------- Tile */

e2e_status e2e_tile_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 2)))
        return st;
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    int64_t rep[E2E_MAX_RANK];
    int n;
    if ((st = e2e_input_ints(k, 1, rep, E2E_MAX_RANK, &n)))
        return st;
    if (n != r)
        return e2e_kfail(k, E2E_ERR_INVALID, "repeats has %d values, the input has rank %d", n, r);
    e2e_shape os = {.rank = r};
    for (int i = 0; i < r; i++) {
        if (rep[i] < 0)
            return e2e_kfail(k, E2E_ERR_INVALID, "repeats[%d] is negative (%lld)", i, (long long)rep[i]);
        if (rep[i] && x->shape.dims[i] > ((int64_t)1 << 40) / rep[i])
            return e2e_kfail(k, E2E_ERR_SHAPE, "the output would be too large");
        os.dims[i] = x->shape.dims[i] * rep[i];
    }
    if ((st = e2e_out_set(k, 0, x->dtype, &os)))
        return st;
    /* output dim i of size rep*d seen as (rep, d): the input read with stride 0 along rep */
    int64_t istr[E2E_MAX_RANK], ostr[E2E_MAX_RANK];
    int64_t d[E2E_XCOPY_MAX_RANK], is[E2E_XCOPY_MAX_RANK], o[E2E_XCOPY_MAX_RANK];
    e2e_contig_strides(&x->shape, istr);
    e2e_contig_strides(&os, ostr);
    for (int i = 0; i < r; i++) {
        d[2 * i] = rep[i];
        is[2 * i] = 0;
        o[2 * i] = x->shape.dims[i] * ostr[i];
        d[2 * i + 1] = x->shape.dims[i];
        is[2 * i + 1] = istr[i];
        o[2 * i + 1] = ostr[i];
    }
    e2e_xcopy *c;
    if ((st = xcopy_new(k, &c)))
        return st;
    e2e_xcopy_init(c, 2 * r, d, is, o, 0, 0, e2e_dtype_size(x->dtype));
    return E2E_OK;
}

/* ---------------------------------------------------------------- Pad

   Negative pads crop first. The cropped input is copied into the output's interior, then
   the borders are filled one dim at a time from the innermost: the pass for dim d touches
   positions whose dims < d are interior, so every slab it writes (all dims > d) is whole
   and already complete at its source. reflect/edge/wrap copy slabs from a precomputed
   source position; constant fills them. */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct pad_priv {
    int rank, mode;
    size_t esz;
    bool value_input;           /* constant value read from input 2 at run */
    unsigned char value[8];
    e2e_xcopy interior;
    int64_t odims[E2E_MAX_RANK], ostr[E2E_MAX_RANK];
    int64_t ps[E2E_MAX_RANK], n[E2E_MAX_RANK]; /* leading pad and interior size per dim */
} pad_priv;

void e2e_pad_release(void *v)
{
    pad_priv *p = v;
    free(p);
}

static e2e_status pad_value_from_float(e2e_kernel *k, e2e_dtype dt, float f, unsigned char *out)
{
    switch (dt) {
    case E2E_FLOAT: memcpy(out, &f, 4); break;
    case E2E_INT64: { int64_t v = (int64_t)f; memcpy(out, &v, 8); break; }
    case E2E_INT32: { int32_t v = (int32_t)f; memcpy(out, &v, 4); break; }
    case E2E_INT8: { int8_t v = (int8_t)f; memcpy(out, &v, 1); break; }
    case E2E_UINT8: { uint8_t v = (uint8_t)f; memcpy(out, &v, 1); break; }
    case E2E_BOOL: { uint8_t v = f != 0.f; memcpy(out, &v, 1); break; }
    default: return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "type %s", e2e_dtype_name(dt));
    }
    return E2E_OK;
}

e2e_status e2e_pad_prepare(e2e_kernel *k)
{
    e2e_status st;
    const bool attr_form = k->opset < 11;
    if ((st = e2e_check_inputs(k, attr_form ? 1 : 2, attr_form ? 1 : 4)))
        return st;
    const e2e_value *x = k->in[0];
    const int r = x->shape.rank;
    const char *mode;
    if ((st = e2e_attr_string(k, "mode", "constant", &mode)))
        return st;
    int m;
    if (!strcmp(mode, "constant"))
        m = PAD_CONSTANT;
    else if (!strcmp(mode, "reflect"))
        m = PAD_REFLECT;
    else if (!strcmp(mode, "edge"))
        m = PAD_EDGE;
    else if (!strcmp(mode, "wrap"))
        m = PAD_WRAP;
    else
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "mode '%s' (expected constant, reflect, edge or wrap)",
                         mode);
    int64_t pads[2 * E2E_MAX_RANK], axes[E2E_MAX_RANK];
    int np, na = -1;
    if (attr_form) {
        const int64_t *v;
        if ((st = e2e_attr_ints(k, "pads", &v, &np)))
            return st;
        if (!v && (st = e2e_attr_ints(k, "paddings", &v, &np))) /* opset 1 */
            return st;
        if (!v)
            return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'pads' is required");
        if (np > 2 * E2E_MAX_RANK)
            return e2e_kfail(k, E2E_ERR_INVALID, "'pads' has %d values", np);
        memcpy(pads, v, sizeof(int64_t) * (size_t)np);
    } else {
        if ((st = e2e_input_ints(k, 1, pads, 2 * E2E_MAX_RANK, &np)))
            return st;
        if (k->n_in > 3 && k->in[3] && (st = e2e_input_ints(k, 3, axes, E2E_MAX_RANK, &na)))
            return st;
    }
    int64_t pb[E2E_MAX_RANK] = {0}, pe[E2E_MAX_RANK] = {0};
    if (na >= 0) {
        if (np != 2 * na)
            return e2e_kfail(k, E2E_ERR_INVALID, "pads has %d values for %d axes", np, na);
        bool seen[E2E_MAX_RANK] = {false};
        for (int i = 0; i < na; i++) {
            int a;
            if ((st = e2e_axis(k, axes[i], r, &a)))
                return st;
            if (seen[a])
                return e2e_kfail(k, E2E_ERR_INVALID, "axis %d is given twice", a);
            seen[a] = true;
            pb[a] = pads[i];
            pe[a] = pads[na + i];
        }
    } else {
        if (np != 2 * r)
            return e2e_kfail(k, E2E_ERR_INVALID, "pads has %d values, the input has rank %d (needs %d)",
                             np, r, 2 * r);
        for (int i = 0; i < r; i++) {
            pb[i] = pads[i];
            pe[i] = pads[r + i];
        }
    }
    pad_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->rank = r;
    p->mode = m;
    p->esz = e2e_dtype_size(x->dtype);
    e2e_shape os = {.rank = r};
    int64_t crop = 0, istr[E2E_MAX_RANK];
    e2e_contig_strides(&x->shape, istr);
    char sb[160];
    for (int i = 0; i < r; i++) {
        int64_t d = x->shape.dims[i];
        const int64_t big = (int64_t)1 << 40; /* beyond any tensor we accept */
        if (pb[i] > big || pb[i] < -big || pe[i] > big || pe[i] < -big)
            return e2e_kfail(k, E2E_ERR_SHAPE, "pads %lld, %lld of dim %d are out of range",
                             (long long)pb[i], (long long)pe[i], i);
        p->n[i] = d + (pb[i] < 0 ? pb[i] : 0) + (pe[i] < 0 ? pe[i] : 0);
        if (p->n[i] < 0)
            return e2e_kfail(k, E2E_ERR_SHAPE, "pads %lld, %lld crop more than dim %d of %s",
                             (long long)pb[i], (long long)pe[i], i,
                             e2e_shape_str(&x->shape, sb, sizeof sb));
        p->ps[i] = pb[i] > 0 ? pb[i] : 0;
        os.dims[i] = p->n[i] + p->ps[i] + (pe[i] > 0 ? pe[i] : 0);
        if (pb[i] < 0)
            crop += -pb[i] * istr[i];
        if (m != PAD_CONSTANT && p->n[i] == 0 && os.dims[i] > 0)
            return e2e_kfail(k, E2E_ERR_SHAPE, "mode '%s' cannot pad dim %d: it is empty", mode, i);
    }
    if ((st = e2e_out_set(k, 0, x->dtype, &os)))
        return st;
    e2e_contig_strides(&os, p->ostr);
    memcpy(p->odims, os.dims, sizeof os.dims);
    int64_t ooff = 0;
    for (int i = 0; i < r && e2e_shape_numel(&os) > 0; i++) /* empty output: nothing is copied */
        ooff += p->ps[i] * p->ostr[i];
    e2e_xcopy_init(&p->interior, r, p->n, istr, p->ostr, crop, ooff, p->esz);

    if (m == PAD_CONSTANT) {
        if (attr_form) {
            float v;
            if ((st = e2e_attr_float(k, "value", 0.f, &v)) ||
                (st = pad_value_from_float(k, x->dtype, v, p->value)))
                return st;
        } else if (k->n_in > 2 && k->in[2]) {
            if (k->in[2]->dtype != x->dtype)
                return e2e_kfail(k, E2E_ERR_INVALID, "constant_value is %s, the data is %s",
                                 e2e_dtype_name(k->in[2]->dtype), e2e_dtype_name(x->dtype));
            if (k->in[2]->numel > 1)
                return e2e_kfail(k, E2E_ERR_INVALID, "constant_value has %lld values, expected one",
                                 (long long)k->in[2]->numel);
            p->value_input = k->in[2]->numel == 1;
        }
        return E2E_OK;
    }
    return E2E_OK;
}

/* Output position q of a dim with leading pad ps and interior n: the output position (in the
   same dim) it copies from, for edge, wrap and reflect. Computed per slab at run time: a
   table would be as long as the output dims, which can be huge even for a small output. */
static int64_t pad_src(int mode, int64_t q, int64_t ps, int64_t n)
{
    int64_t i = q - ps;
    if (i < 0 || i >= n) {
        if (mode == PAD_EDGE)
            i = i < 0 ? 0 : n - 1;
        else if (mode == PAD_WRAP)
            i = ((i % n) + n) % n;
        else if (n == 1)
            i = 0;
        else {
            int64_t period = 2 * (n - 1);
            i = ((i % period) + period) % period;
            if (i >= n)
                i = period - i;
        }
    }
    return ps + i;
}

void e2e_fill_elems(void *dstv, const unsigned char *val, size_t esz, int64_t n)
{
    char *dst = dstv;
    switch (esz) {
    case 1: memset(dst, val[0], (size_t)n); break;
    case 4: {
        uint32_t v;
        memcpy(&v, val, 4);
        uint32_t *d = (uint32_t *)dst;
        for (int64_t i = 0; i < n; i++)
            d[i] = v;
        break;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, val, 8);
        uint64_t *d = (uint64_t *)dst;
        for (int64_t i = 0; i < n; i++)
            d[i] = v;
        break;
    }
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + (size_t)i * esz, val, esz);
    }
}

e2e_status e2e_pad_run(e2e_kernel *k)
{
    const pad_priv *p = k->priv;
    char *out = k->out[0]->data;
    if (k->out[0]->numel == 0)
        return E2E_OK;
    e2e_xcopy_run(&p->interior, k->in[0]->data, out);
    unsigned char val[8];
    memcpy(val, p->value, sizeof val);
    if (p->value_input)
        memcpy(val, k->in[2]->data, p->esz);
    const size_t esz = p->esz;
    for (int d = p->rank - 1; d >= 0; d--) {
        const int64_t ps = p->ps[d], n = p->n[d], od = p->odims[d], slab = p->ostr[d];
        if (ps == 0 && ps + n == od)
            continue;
        int64_t idx[E2E_MAX_RANK] = {0}, base = 0;
        bool empty = false;
        for (int i = 0; i < d; i++) {
            base += p->ps[i] * p->ostr[i];
            empty |= p->n[i] == 0;
        }
        if (empty)
            continue;
        for (;;) {
            for (int64_t q = 0; q < od; q++) {
                if (q == ps && n > 0) {
                    q = ps + n - 1;
                    continue;
                }
                char *dst = out + (size_t)(base + q * slab) * esz;
                if (p->mode == PAD_CONSTANT)
                    e2e_fill_elems(dst, val, esz, slab);
                else
                    memcpy(dst, out + (size_t)(base + pad_src(p->mode, q, ps, n) * slab) * esz,
                           (size_t)slab * esz);
            }
            int i = d - 1;
            for (; i >= 0; i--) {
                if (++idx[i] < p->n[i]) {
                    base += p->ostr[i];
                    break;
                }
                base -= p->ostr[i] * (p->n[i] - 1);
                idx[i] = 0;
            }
            if (i < 0)
                break;
        }
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- DepthToSpace, SpaceToDepth */

/* Both are a reshape to rank 6, a transpose and a reshape back (the ONNX definitions), done
   as one strided copy: in6 is the rank-6 view of the input, perm the transpose. */
static e2e_status d2s_copy(e2e_kernel *k, const int64_t *in6, const int *perm, const e2e_shape *os)
{
    e2e_status st;
    const e2e_value *x = k->in[0];
    if ((st = e2e_out_set(k, 0, x->dtype, os)))
        return st;
    e2e_shape s6 = {.rank = 6}, o6 = {.rank = 6};
    int64_t istr[6], is[6], ostr[6];
    for (int i = 0; i < 6; i++)
        s6.dims[i] = in6[i];
    e2e_contig_strides(&s6, istr);
    for (int i = 0; i < 6; i++) {
        o6.dims[i] = in6[perm[i]];
        is[i] = istr[perm[i]];
    }
    e2e_contig_strides(&o6, ostr);
    e2e_xcopy *c;
    if ((st = xcopy_new(k, &c)))
        return st;
    e2e_xcopy_init(c, 6, o6.dims, is, ostr, 0, 0, e2e_dtype_size(x->dtype));
    return E2E_OK;
}

static e2e_status d2s_block(e2e_kernel *k, int64_t *b)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 1, 1)) || (st = e2e_attr_int(k, "blocksize", 0, b)))
        return st;
    if (*b <= 0)
        return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'blocksize' must be positive (is %lld)",
                         (long long)*b);
    if (k->in[0]->shape.rank != 4) {
        char s[160];
        return e2e_kfail(k, E2E_ERR_SHAPE, "input must have rank 4 (N, C, H, W), has shape %s",
                         e2e_shape_str(&k->in[0]->shape, s, sizeof s));
    }
    return E2E_OK;
}

e2e_status e2e_depth_to_space_prepare(e2e_kernel *k)
{
    e2e_status st;
    int64_t b;
    if ((st = d2s_block(k, &b)))
        return st;
    const int64_t *d = k->in[0]->shape.dims;
    const char *mode;
    if ((st = e2e_attr_string(k, "mode", "DCR", &mode)))
        return st;
    bool crd = !strcmp(mode, "CRD");
    if (!crd && strcmp(mode, "DCR"))
        return e2e_kfail(k, E2E_ERR_INVALID, "mode \"%s\" is not DCR or CRD", mode);
    if (d[1] % (b * b))
        return e2e_kfail(k, E2E_ERR_SHAPE, "channels (%lld) are not a multiple of blocksize^2 (%lld)",
                         (long long)d[1], (long long)(b * b));
    const int64_t c = d[1] / (b * b);
    e2e_shape os = {.rank = 4, .dims = {d[0], c, d[2] * b, d[3] * b}};
    if (crd) {
        const int64_t in6[6] = {d[0], c, b, b, d[2], d[3]};
        static const int perm[6] = {0, 1, 4, 2, 5, 3};
        return d2s_copy(k, in6, perm, &os);
    }
    const int64_t in6[6] = {d[0], b, b, c, d[2], d[3]};
    static const int perm[6] = {0, 3, 4, 1, 5, 2};
    return d2s_copy(k, in6, perm, &os);
}

e2e_status e2e_space_to_depth_prepare(e2e_kernel *k)
{
    e2e_status st;
    int64_t b;
    if ((st = d2s_block(k, &b)))
        return st;
    const int64_t *d = k->in[0]->shape.dims;
    if (d[2] % b || d[3] % b)
        return e2e_kfail(k, E2E_ERR_SHAPE, "height %lld and width %lld must be multiples of "
                         "blocksize %lld", (long long)d[2], (long long)d[3], (long long)b);
    e2e_shape os = {.rank = 4, .dims = {d[0], d[1] * b * b, d[2] / b, d[3] / b}};
    const int64_t in6[6] = {d[0], d[1], d[2] / b, b, d[3] / b, b};
    static const int perm[6] = {0, 3, 5, 1, 2, 4};
    return d2s_copy(k, in6, perm, &os);
}
