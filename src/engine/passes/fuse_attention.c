/* Attention (pass table: passes.c): MatMul(Q, K^T) [-> Mul | Div scalar] [-> Add bias
   (fuse_attn_bias.c)] -> Softmax(last axis) -> MatMul(., V), Q and K^T possibly scaled by constants first  =>  one Attention
   kernel (ops/mm_packed.c) that reads Q, K^T and V through strided views of the tensors
   behind the Reshape/Transpose/Gather/Squeeze nodes that produced them, and writes through
   the Transpose/Reshape chain that consumed the result (fuse_view.c). */
#include <math.h>
#include <stdlib.h>
#include "ops/mm_packed.h"
#include "engine/passes/fuse_internal.h"

/* An operand scaled by a constant just for the product (exports of scaled_dot_product_attention
   scale q, or q and k): the tensor before the scaling; the factor goes into *scale. */
static e2e_value *unscale(e2e_fuse_ctx *c, e2e_value *v, const e2e_kernel *mm1, float *scale, e2e_kernel **k)
{
    e2e_kernel *p = e2e_fuse_producer(c, v);
    float f;
    e2e_value *t;
    *k = NULL;
    if (!p || p->n_in != 2 || e2e_fuse_sole_consumer(c, v) != mm1 || !(e2e_fuse_is_op(p, "Mul") || e2e_fuse_is_op(p, "Div")))
        return v;
    if (e2e_fuse_const_scalar(p->in[1], &f)) {
        t = p->in[0];
        f = e2e_fuse_is_op(p, "Div") ? 1.f / f : f;
    } else if (e2e_fuse_is_op(p, "Mul") && e2e_fuse_const_scalar(p->in[0], &f)) {
        t = p->in[1];
    } else {
        return v;
    }
    if (!isfinite(f) || !t || t->dtype != E2E_FLOAT || !e2e_shape_equal(&t->shape, &v->shape))
        return v;
    *scale *= f;
    *k = p;
    return t;
}

bool e2e_fuse_attention(e2e_fuse_ctx *c, e2e_kernel *sm)
{
    if (!e2e_fuse_is_op(sm, "Softmax") || !e2e_fuse_float_temp(sm->in[0]))
        return false;
    const e2e_value *sv = sm->in[0];
    int r = sv->shape.rank;
    const e2e_attr *ax = e2e_node_attr(sm->node, "axis");
    int64_t a = ax && ax->type == E2E_ATTR_INT ? ax->i : (sm->opset < 13 ? 1 : -1);
    if (a < 0)
        a += r;
    if (r < 2 || a != r - 1)
        return false;
    e2e_kernel *mm2 = e2e_fuse_sole_consumer(c, sm->out[0]);
    if (!e2e_fuse_is_op(mm2, "MatMul") || mm2->n_in != 2 || mm2->in[0] != sm->out[0] || !e2e_fuse_float_temp(mm2->out[0]))
        return false;
    float scale = 1.f;
    e2e_value *bias = NULL, *scores;
    e2e_view bview;
    e2e_kernel *bk = e2e_fuse_attn_bias(c, sm, &scores, &bias, &bview); /* Add(scores, bias) */
    if (bk)
        sv = scores;
    e2e_kernel *sk = e2e_fuse_producer(c, sv), *mm1 = sk;
    if (e2e_fuse_sole_consumer(c, sv) != (bk ? bk : sm))
        return false;
    if (e2e_fuse_is_op(sk, "Mul") || e2e_fuse_is_op(sk, "Div")) {
        e2e_value *t = sk->in[0];
        float f;
        if (e2e_fuse_const_scalar(sk->in[1], &f)) {
            scale = e2e_fuse_is_op(sk, "Div") ? 1.f / f : f;
        } else if (e2e_fuse_is_op(sk, "Mul") && e2e_fuse_const_scalar(sk->in[0], &f)) {
            scale = f;
            t = sk->in[1];
        } else {
            return false;
        }
        if (!isfinite(scale) || e2e_fuse_sole_consumer(c, t) != sk || !e2e_shape_equal(&t->shape, &sv->shape))
            return false;
        mm1 = e2e_fuse_producer(c, t);
    } else {
        sk = NULL;
    }
    if (!e2e_fuse_is_op(mm1, "MatMul") || mm1->n_in != 2)
        return false;
    e2e_kernel *qs, *ks;
    e2e_value *qv = unscale(c, mm1->in[0], mm1, &scale, &qs), *ktv = unscale(c, mm1->in[1], mm1, &scale, &ks);
    e2e_value *vv = mm2->in[1];
    if (!qv || !ktv || !vv || qv->dtype != E2E_FLOAT || ktv->dtype != E2E_FLOAT || vv->dtype != E2E_FLOAT ||
        qv->shape.rank != r || ktv->shape.rank != r || vv->shape.rank != r || mm2->out[0]->shape.rank != r)
        return false;
    for (int d = 0; d < r - 2; d++)
        if (ktv->shape.dims[d] != qv->shape.dims[d] || vv->shape.dims[d] != qv->shape.dims[d])
            return false;
    e2e_attn_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return false;
    cfg->scale = scale;
    cfg->has_bias = bias != NULL;
    if (bias)
        cfg->bias = bview;
    e2e_value *qb, *kb, *vb, *ob;
    e2e_fuse_trace_operand(c, qv, &qb, &cfg->q);
    e2e_fuse_trace_operand(c, ktv, &kb, &cfg->kt);
    e2e_fuse_trace_operand(c, vv, &vb, &cfg->v);
    e2e_kernel *chain[E2E_FUSE_MAX_CHAIN];
    int nc = e2e_fuse_trace_result(c, mm2->out[0], &ob, &cfg->o, chain);
    if (ob->dtype != E2E_FLOAT || ob->is_const || ob->is_input) {
        free(cfg);
        return false;
    }
    e2e_kernel *last = nc ? chain[nc - 1] : mm2;
    e2e_value *in[4] = {qb, kb, vb, bias};
    e2e_kernel k;
    if (!e2e_fuse_make_kernel_attrs(c, last, &e2e_op_attention, "Attention", in, bias ? 4 : 3, &ob, 1, NULL,
                                    0, cfg, &k))
        return false;
    e2e_kernel *drop[7 + E2E_FUSE_MAX_CHAIN] = {mm1, sk, sm, mm2, qs, ks, bk};
    for (int i = 0; i < nc; i++)
        drop[7 + i] = chain[i];
    e2e_fuse_install(c, &k, last, drop, 7 + nc);
    return true;
}
