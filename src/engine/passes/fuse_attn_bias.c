/* The additive bias of an attention's scores (used by fuse.c's attention pass): in
   MatMul(Q, K^T) [-> Mul | Div scalar] -> Add(., bias) -> Softmax(last axis) the Add becomes
   the fused Attention kernel's fourth input (ParT's pair interaction plus its padding mask,
   a causal or padding mask of -inf / -1e9). The scores must have the Add's output shape (the
   bias broadcasts to them, never the other way round) and no other consumer; the bias is
   any float value (constant, input or computed before), read through a view with stride 0
   on the dimensions it broadcasts over. The kernel adds it after the scaling, as the graph
   does, so NaN and -inf in the bias give what the unfused Add and Softmax give. */
#include <string.h>

#include "ops/mm_packed.h"
#include "engine/passes/fuse_internal.h"

/* The bias broadcast (numpy's rule) to `to` as a view, or false when it does not broadcast. */
static bool broadcast_view(const e2e_value *b, const e2e_shape *to, e2e_view *v)
{
    const int r = to->rank, rb = b->shape.rank;
    if (rb > r)
        return false;
    memset(v, 0, sizeof *v);
    v->rank = r;
    int64_t st = 1;
    for (int d = r - 1; d >= 0; d--) {
        int db = d - (r - rb);
        int64_t n = db >= 0 ? b->shape.dims[db] : 1;
        if (n != 1 && n != to->dims[d])
            return false;
        v->dims[d] = to->dims[d];
        v->strides[d] = n == 1 ? 0 : st;
        st *= n;
    }
    return true;
}

e2e_kernel *e2e_fuse_attn_bias(e2e_fuse_ctx *c, const e2e_kernel *sm, e2e_value **scores,
                               e2e_value **bias, e2e_view *view)
{
    const e2e_value *sv = sm->in[0];
    e2e_kernel *add = e2e_fuse_producer(c, sv);
    if (!e2e_fuse_is_op(add, "Add") || add->n_in != 2 || add->act != E2E_ACT_NONE ||
        e2e_fuse_sole_consumer(c, sv) != sm)
        return NULL;
    for (int i = 0; i < 2; i++) {
        e2e_value *s = add->in[i], *b = add->in[1 - i];
        e2e_kernel *p = s ? e2e_fuse_producer(c, s) : NULL;
        if (!s || !b || b == s || b->dtype != E2E_FLOAT || s->dtype != E2E_FLOAT ||
            !e2e_shape_equal(&s->shape, &sv->shape) || e2e_fuse_sole_consumer(c, s) != add ||
            !(e2e_fuse_is_op(p, "MatMul") || e2e_fuse_is_op(p, "Mul") || e2e_fuse_is_op(p, "Div")))
            continue;
        if (!broadcast_view(b, &sv->shape, view))
            return NULL;
        *scores = s;
        *bias = b;
        return add;
    }
    return NULL;
}
