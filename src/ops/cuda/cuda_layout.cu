/* Data movement on the GPU: Transpose, Slice, Expand, Tile, Concat, Split, Gather.

   Transpose, Slice, Expand and Tile reuse the strided copy that the CPU kernel planned at
   prepare (e2e_xcopy_of, src/ops/shape_internal.h): out[ooff + sum idx*os] =
   in[ioff + sum idx*is], so slicing, negative steps and broadcasting follow the CPU rules
   exactly. Concat and Split build the same descriptors with e2e_xcopy_init. One thread per
   copied element, any element size of 1, 2, 4 or 8 bytes. */
#include <stdint.h>
#include <string.h>

#include "ops/cuda/cuda_backend.h"

struct cu_xc {
    int rank;
    int64_t n, ioff, ooff;
    int64_t dims[E2E_XCOPY_MAX_RANK], is[E2E_XCOPY_MAX_RANK], os[E2E_XCOPY_MAX_RANK];
};

template <typename T>
__global__ void k_xcopy(const T *__restrict__ in, T *__restrict__ out, cu_xc x)
{
    CU_LOOP(t, x.n) {
        int64_t rem = t, ip = x.ioff, op = x.ooff;
        for (int d = x.rank - 1; d >= 0; d--) {
            int64_t i = rem % x.dims[d];
            rem /= x.dims[d];
            ip += i * x.is[d];
            op += i * x.os[d];
        }
        out[op] = in[ip];
    }
}

static void xcopy_launch(const cu_xc &x, size_t esz, const void *in, void *out, cudaStream_t s)
{
    if (!x.n)
        return;
    const unsigned nb = cu_blocks(x.n);
    switch (esz) {
    case 1: k_xcopy<uint8_t><<<nb, CU_THREADS, 0, s>>>((const uint8_t *)in, (uint8_t *)out, x); break;
    case 2: k_xcopy<uint16_t><<<nb, CU_THREADS, 0, s>>>((const uint16_t *)in, (uint16_t *)out, x); break;
    case 4: k_xcopy<uint32_t><<<nb, CU_THREADS, 0, s>>>((const uint32_t *)in, (uint32_t *)out, x); break;
    default: k_xcopy<uint64_t><<<nb, CU_THREADS, 0, s>>>((const uint64_t *)in, (uint64_t *)out, x); break;
    }
}

static bool xc_from_cpu(cu_xc *d, const e2e_xcopy *x)
{
    memset(d, 0, sizeof *d);
    if (x->n == 0 || x->esz == 0)
        return true; /* empty */
    if (x->rank < 1 || x->rank > E2E_XCOPY_MAX_RANK)
        return false;
    d->rank = x->rank;
    d->n = x->n;
    d->ioff = x->ioff;
    d->ooff = x->ooff;
    int64_t prod = 1;
    for (int i = 0; i < x->rank; i++) {
        d->dims[i] = x->dims[i];
        d->is[i] = x->is[i];
        d->os[i] = x->os[i];
        prod *= x->dims[i];
    }
    return prod == x->n;
}

static bool esz_ok(size_t e) { return e == 1 || e == 2 || e == 4 || e == 8; }

/* ---------------------------------------------------------------- Transpose, Slice, Expand, Tile */

struct xc_params {
    size_t esz;
    cu_xc x;
};

static e2e_status xcopy_run(cu_state *S, cu_node *n)
{
    const xc_params *p = (const xc_params *)n->p;
    xcopy_launch(p->x, p->esz, n->in[0], n->out[0], S->stream);
    return E2E_OK;
}

e2e_status cu_prep_xcopy(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    const e2e_xcopy *x = e2e_xcopy_of(k); /* the CPU operator's decoded copy (shape_internal.h) */
    if (!x || !k->in[0] || k->n_out < 1 || !k->out[0])
        return cu_unsupported(n, "this form of %s", k->node->op_type);
    size_t esz = cu_esize(k->out[0]);
    xc_params *p = (xc_params *)cu_params(n, sizeof(xc_params));
    if (!p)
        return E2E_ERR_NOMEM;
    p->esz = esz;
    if (!esz_ok(esz) || !xc_from_cpu(&p->x, x) || (p->x.n && (x->esz != esz || p->x.n != k->out[0]->numel)))
        return cu_unsupported(n, "the CPU copy plan of this %s (element size %zu)", k->node->op_type, esz);
    n->run = xcopy_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- Concat, Split */

struct multi_params {
    size_t esz;
    int n;
    cu_xc x[1]; /* n entries */
};

static multi_params *multi_new(cu_node *n, int count)
{
    size_t bytes = sizeof(multi_params) + sizeof(cu_xc) * (size_t)(count > 1 ? count - 1 : 0);
    multi_params *p = (multi_params *)cu_params(n, bytes);
    if (p)
        p->n = count;
    return p;
}

static e2e_status concat_run(cu_state *S, cu_node *n)
{
    const multi_params *p = (const multi_params *)n->p;
    for (int i = 0; i < p->n; i++)
        xcopy_launch(p->x[i], p->esz, n->in[i], n->out[0], S->stream);
    return E2E_OK;
}

static e2e_status split_run(cu_state *S, cu_node *n)
{
    const multi_params *p = (const multi_params *)n->p;
    for (int i = 0; i < p->n; i++)
        if (n->out[i])
            xcopy_launch(p->x[i], p->esz, n->in[0], n->out[i], S->stream);
    return E2E_OK;
}

static e2e_status plan_axis(cu_node *n, const e2e_shape *s, const char *attr, int64_t def, int *a)
{
    int64_t axis;
    e2e_status st = e2e_attr_int(n->k, attr, def, &axis);
    if (st)
        return st;
    return e2e_axis(n->k, axis, s->rank, a);
}

e2e_status cu_prep_concat(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in < 1 || !k->out[0])
        return cu_unsupported(n, "this form of Concat");
    const e2e_shape *os = &k->out[0]->shape;
    const size_t esz = cu_esize(k->out[0]);
    if (!esz_ok(esz) || os->rank < 1)
        return cu_unsupported(n, "Concat of %s", e2e_dtype_name(k->out[0]->dtype));
    int a;
    e2e_status st;
    if ((st = plan_axis(n, os, "axis", 1, &a)))
        return st;
    multi_params *p = multi_new(n, k->n_in);
    if (!p)
        return E2E_ERR_NOMEM;
    p->esz = esz;
    int64_t ostr[E2E_MAX_RANK], istr[E2E_MAX_RANK], off = 0;
    e2e_contig_strides(os, ostr);
    for (int i = 0; i < k->n_in; i++) {
        const e2e_value *x = k->in[i];
        if (!x)
            return cu_unsupported(n, "a missing input %d", i);
        e2e_xcopy c;
        e2e_contig_strides(&x->shape, istr);
        e2e_xcopy_init(&c, x->shape.rank, x->shape.dims, istr, ostr, 0, off * ostr[a], esz);
        if (!xc_from_cpu(&p->x[i], &c))
            return cu_unsupported(n, "the copy plan of input %d", i);
        off += x->shape.dims[a];
    }
    if (off != os->dims[a])
        return cu_fail(n, E2E_ERR_SHAPE, "the inputs do not add up to the output along axis %d", a);
    n->run = concat_run;
    return E2E_OK;
}

e2e_status cu_prep_split(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in < 1 || !k->in[0] || k->n_out < 1)
        return cu_unsupported(n, "this form of Split");
    const e2e_value *x = k->in[0];
    const size_t esz = cu_esize(x);
    if (!esz_ok(esz) || x->shape.rank < 1)
        return cu_unsupported(n, "Split of %s", e2e_dtype_name(x->dtype));
    int a;
    e2e_status st;
    if ((st = plan_axis(n, &x->shape, "axis", 0, &a)))
        return st;
    multi_params *p = multi_new(n, k->n_out);
    if (!p)
        return E2E_ERR_NOMEM;
    p->esz = esz;
    int64_t istr[E2E_MAX_RANK], ostr[E2E_MAX_RANK], off = 0;
    e2e_contig_strides(&x->shape, istr);
    for (int i = 0; i < k->n_out; i++) {
        const e2e_value *o = k->out[i];
        if (!o) {
            /* an omitted output still occupies its (unknown here) slice: not supported */
            return cu_unsupported(n, "an omitted output %d", i);
        }
        e2e_xcopy c;
        e2e_contig_strides(&o->shape, ostr);
        e2e_xcopy_init(&c, o->shape.rank, o->shape.dims, istr, ostr, off * istr[a], 0, esz);
        if (!xc_from_cpu(&p->x[i], &c))
            return cu_unsupported(n, "the copy plan of output %d", i);
        off += o->shape.dims[a];
    }
    if (off != x->shape.dims[a])
        return cu_fail(n, E2E_ERR_SHAPE, "the outputs do not add up to the input along axis %d", a);
    n->run = split_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- Gather */

struct gather_params {
    int64_t outer, N, inner, M;
    size_t esz;
    bool i64;           /* index type int64 (else int32) */
    bool check;         /* indices computed at run: report a bad one through the error word */
};

template <typename T, typename TI>
__global__ void k_gather(const T *__restrict__ x, const TI *__restrict__ ix, T *__restrict__ y,
                         int64_t outer, int64_t N, int64_t inner, int64_t M, int *flag, int node)
{
    const int64_t total = outer * M * inner;
    CU_LOOP(t, total) {
        int64_t i = t % inner, m = (t / inner) % M, o = t / (inner * M);
        int64_t j = (int64_t)ix[m];
        if (j < 0)
            j += N;
        if (j < 0 || j >= N) {
            if (flag)
                atomicCAS(flag, 0, node + 1);
            y[t] = T(0);
            continue;
        }
        y[t] = x[(o * N + j) * inner + i];
    }
}

template <typename T>
static void gather_launch(const gather_params *p, const void *x, const void *ix, void *y, int *flag,
                          int node, cudaStream_t s)
{
    const unsigned nb = cu_blocks(p->outer * p->M * p->inner);
    if (p->i64)
        k_gather<T, int64_t><<<nb, CU_THREADS, 0, s>>>((const T *)x, (const int64_t *)ix, (T *)y,
                                                       p->outer, p->N, p->inner, p->M, flag, node);
    else
        k_gather<T, int32_t><<<nb, CU_THREADS, 0, s>>>((const T *)x, (const int32_t *)ix, (T *)y,
                                                       p->outer, p->N, p->inner, p->M, flag, node);
}

static e2e_status gather_run(cu_state *S, cu_node *n)
{
    const gather_params *p = (const gather_params *)n->p;
    if (!p->outer || !p->M || !p->inner)
        return E2E_OK;
    int *flag = p->check ? S->d_flag : NULL;
    switch (p->esz) {
    case 1: gather_launch<uint8_t>(p, n->in[0], n->in[1], n->out[0], flag, n->index, S->stream); break;
    case 2: gather_launch<uint16_t>(p, n->in[0], n->in[1], n->out[0], flag, n->index, S->stream); break;
    case 4: gather_launch<uint32_t>(p, n->in[0], n->in[1], n->out[0], flag, n->index, S->stream); break;
    default: gather_launch<uint64_t>(p, n->in[0], n->in[1], n->out[0], flag, n->index, S->stream); break;
    }
    return E2E_OK;
}

e2e_status cu_prep_gather(cu_state *S, cu_node *n)
{
    e2e_kernel *k = n->k;
    if (k->n_in != 2 || !k->in[0] || !k->in[1] || !k->out[0])
        return cu_unsupported(n, "this form of Gather");
    const e2e_value *x = k->in[0], *ix = k->in[1];
    if (ix->dtype != E2E_INT64 && ix->dtype != E2E_INT32)
        return cu_unsupported(n, "indices of type %s", e2e_dtype_name(ix->dtype));
    const size_t esz = cu_esize(x);
    if (!esz_ok(esz) || x->shape.rank < 1)
        return cu_unsupported(n, "Gather of %s", e2e_dtype_name(x->dtype));
    int a;
    e2e_status st;
    if ((st = plan_axis(n, &x->shape, "axis", 0, &a)))
        return st;
    gather_params *p = (gather_params *)cu_params(n, sizeof(gather_params));
    if (!p)
        return E2E_ERR_NOMEM;
    p->outer = p->inner = 1;
    for (int i = 0; i < a; i++)
        p->outer *= x->shape.dims[i];
    for (int i = a + 1; i < x->shape.rank; i++)
        p->inner *= x->shape.dims[i];
    p->N = x->shape.dims[a];
    p->M = ix->numel;
    p->esz = esz;
    p->i64 = ix->dtype == E2E_INT64;
    p->check = !ix->is_const; /* constant indices were checked at session creation */
    if (p->outer * p->M * p->inner != k->out[0]->numel)
        return cu_fail(n, E2E_ERR_SHAPE, "the output size does not match the gather");
    if (p->check) {
        S->flag_used = true;
        n->flag_status = E2E_ERR_ARGUMENT;
        n->flag_reason = "an index computed at run time is out of range";
    }
    n->run = gather_run;
    return E2E_OK;
}
