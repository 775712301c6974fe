/* Strided views through Reshape/Transpose/Gather chains, for the passes that read or write
   through such chains instead of running them (fuse_attention.c, fuse_patch_embed.c). */
#include <string.h>
#include "engine/passes/fuse_internal.h"

static void view_contig(e2e_view *v, const e2e_shape *s)
{
    memset(v, 0, sizeof *v);
    v->rank = s->rank;
    int64_t st = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
        v->dims[d] = s->dims[d];
        v->strides[d] = st;
        st *= s->dims[d];
    }
}

/* The view reshaped to ns without copying (numpy's rule), or false. */
static bool view_reshape(e2e_view *v, const e2e_shape *ns)
{
    int64_t od[E2E_MAX_RANK], os[E2E_MAX_RANK], nst[E2E_MAX_RANK];
    int on = 0;
    for (int d = 0; d < v->rank; d++) {
        if (v->dims[d] == 0)
            return false;
        if (v->dims[d] != 1) {
            od[on] = v->dims[d];
            os[on++] = v->strides[d];
        }
    }
    int nn = ns->rank;
    for (int d = 0; d < nn; d++)
        if (ns->dims[d] <= 0)
            return false;
    int oi = 0, oj = 1, ni = 0, nj = 1;
    while (ni < nn && oi < on) {
        int64_t np = ns->dims[ni], op = od[oi];
        while (np != op) {
            if (np < op) {
                if (nj >= nn)
                    return false;
                np *= ns->dims[nj++];
            } else {
                if (oj >= on)
                    return false;
                op *= od[oj++];
            }
        }
        for (int ok = oi; ok < oj - 1; ok++)
            if (os[ok] != od[ok + 1] * os[ok + 1])
                return false;
        nst[nj - 1] = os[oj - 1];
        for (int nk = nj - 1; nk > ni; nk--)
            nst[nk - 1] = nst[nk] * ns->dims[nk];
        ni = nj++;
        oi = oj++;
    }
    if (oi < on)
        return false;
    for (int nk = ni; nk < nn; nk++)
        nst[nk] = 1;
    v->rank = nn;
    for (int d = 0; d < nn; d++) {
        v->dims[d] = ns->dims[d];
        v->strides[d] = nst[d];
    }
    return true;
}

static bool transpose_perm(const e2e_kernel *k, int rank, int *perm)
{
    const e2e_attr *p = e2e_node_attr(k->node, "perm");
    if (!p) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return true;
    }
    if (p->type != E2E_ATTR_INTS || p->n != rank)
        return false;
    for (int i = 0; i < rank; i++) {
        if (p->ints[i] < 0 || p->ints[i] >= rank)
            return false;
        perm[i] = (int)p->ints[i];
    }
    return true;
}

static bool is_reshape_like(const e2e_kernel *k)
{
    return e2e_fuse_is_op(k, "Reshape") || e2e_fuse_is_op(k, "Squeeze") || e2e_fuse_is_op(k, "Unsqueeze") || e2e_fuse_is_op(k, "Flatten") ||
           e2e_fuse_is_op(k, "Identity");
}

/* Applies the view node k (input view -> output view). */
static bool view_forward(const e2e_kernel *k, e2e_view *v)
{
    const e2e_value *y = k->out[0];
    if (is_reshape_like(k))
        return view_reshape(v, &y->shape);
    if (e2e_fuse_is_op(k, "Transpose")) {
        int perm[E2E_MAX_RANK];
        if (!transpose_perm(k, v->rank, perm))
            return false;
        e2e_view w = *v;
        for (int i = 0; i < v->rank; i++) {
            w.dims[i] = v->dims[perm[i]];
            w.strides[i] = v->strides[perm[i]];
        }
        *v = w;
        return true;
    }
    if (e2e_fuse_is_op(k, "Gather")) {
        const e2e_value *iv = k->in[1];
        const e2e_attr *ax = e2e_node_attr(k->node, "axis");
        int64_t a = ax && ax->type == E2E_ATTR_INT ? ax->i : 0;
        if (a < 0)
            a += v->rank;
        if (!iv || !iv->is_const || iv->numel != 1 || iv->shape.rank > 1 || a < 0 || a >= v->rank ||
            (iv->dtype != E2E_INT64 && iv->dtype != E2E_INT32))
            return false;
        int64_t idx = iv->dtype == E2E_INT64 ? *(const int64_t *)iv->data : *(const int32_t *)iv->data;
        if (idx < 0)
            idx += v->dims[a];
        if (idx < 0 || idx >= v->dims[a])
            return false;
        v->offset += idx * v->strides[a];
        if (iv->shape.rank == 1) {
            v->dims[a] = 1;
        } else {
            for (int d = (int)a; d < v->rank - 1; d++) {
                v->dims[d] = v->dims[d + 1];
                v->strides[d] = v->strides[d + 1];
            }
            v->rank--;
        }
        return true;
    }
    return false;
}

/* The view node k seen backwards: the view of its input from the view of its output. */
static bool view_backward(const e2e_kernel *k, e2e_view *v)
{
    if (is_reshape_like(k))
        return view_reshape(v, &k->in[0]->shape);
    if (e2e_fuse_is_op(k, "Transpose")) {
        int perm[E2E_MAX_RANK];
        if (!transpose_perm(k, v->rank, perm))
            return false;
        e2e_view w = *v;
        for (int i = 0; i < v->rank; i++) {
            w.dims[perm[i]] = v->dims[i];
            w.strides[perm[i]] = v->strides[i];
        }
        *v = w;
        return true;
    }
    return false;
}

static bool view_node(const e2e_kernel *k)
{
    return (is_reshape_like(k) || e2e_fuse_is_op(k, "Transpose") || e2e_fuse_is_op(k, "Gather")) && k->in[0] &&
           k->out[0] && k->in[0]->dtype == E2E_FLOAT && k->n_out == 1;
}

/* The operand value v as a view of the furthest tensor behind view nodes: *base, *view. */
void e2e_fuse_trace_operand(e2e_fuse_ctx *c, e2e_value *v, e2e_value **base, e2e_view *view)
{
    const e2e_kernel *chain[E2E_FUSE_MAX_CHAIN];
    int n = 0;
    e2e_value *cur = v;
    for (const e2e_kernel *p; n < E2E_FUSE_MAX_CHAIN && (p = e2e_fuse_producer(c, cur)) && view_node(p);) {
        chain[n++] = p;
        cur = p->in[0];
    }
    for (; n >= 0; n--) { /* the longest chain whose composition is a view */
        e2e_value *b = n ? chain[n - 1]->in[0] : v;
        view_contig(view, &b->shape);
        bool ok = true;
        for (int i = n - 1; i >= 0 && ok; i--)
            ok = view_forward(chain[i], view);
        if (ok) {
            *base = b;
            return;
        }
    }
}

/* The result value o as a view of the tensor at the end of its sole-consumer chain of
   Transpose/reshape nodes: *final, *view, and the chain's kernels. */
int e2e_fuse_trace_result(e2e_fuse_ctx *c, e2e_value *o, e2e_value **final, e2e_view *view, e2e_kernel **chain)
{
    int n = 0;
    e2e_value *cur = o;
    for (e2e_kernel *q; n < E2E_FUSE_MAX_CHAIN && (q = e2e_fuse_sole_consumer(c, cur)) &&
                        (is_reshape_like(q) || e2e_fuse_is_op(q, "Transpose")) && q->in[0] == cur && view_node(q);) {
        chain[n++] = q;
        cur = q->out[0];
    }
    for (; n >= 0; n--) {
        e2e_value *f = n ? chain[n - 1]->out[0] : o;
        view_contig(view, &f->shape);
        bool ok = true;
        for (int i = n - 1; i >= 0 && ok; i--)
            ok = view_backward(chain[i], view);
        if (ok) {
            *final = f;
            return n;
        }
    }
    *final = o;
    view_contig(view, &o->shape);
    return 0;
}
