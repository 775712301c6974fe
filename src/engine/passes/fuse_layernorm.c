/* LayerNorm (pass table: passes.c): the decomposition PyTorch exports,
     ReduceMean(x) -> Sub -> Pow 2 | Mul(d, d) -> ReduceMean -> Add eps -> Sqrt -> Div
     -> Mul gamma [-> Add beta]   =>  LayerNormalization(x, gamma, beta) */
#include <string.h>
#include "engine/passes/fuse_internal.h"

/* Reduced axes of a ReduceMean as the first axis of a trailing block, or -1. */
static int reduce_trailing_axis(const e2e_kernel *k)
{
    const e2e_value *x = k->in[0];
    int r = x->shape.rank;
    const e2e_attr *kd = e2e_node_attr(k->node, "keepdims");
    if (kd && kd->type == E2E_ATTR_INT && kd->i == 0)
        return -1;
    int64_t axes[E2E_MAX_RANK];
    int na = 0;
    const e2e_attr *aa = e2e_node_attr(k->node, "axes");
    if (aa && aa->type == E2E_ATTR_INTS) {
        if (aa->n > E2E_MAX_RANK)
            return -1;
        na = aa->n;
        memcpy(axes, aa->ints, sizeof(int64_t) * (size_t)na);
    } else if (k->n_in > 1 && k->in[1]) {
        const e2e_value *a = k->in[1];
        if (!a->is_const || a->dtype != E2E_INT64 || a->numel > E2E_MAX_RANK || !a->data)
            return -1;
        na = (int)a->numel;
        memcpy(axes, a->data, sizeof(int64_t) * (size_t)na);
    }
    if (na == 0)
        return r > 0 ? 0 : -1;
    bool seen[E2E_MAX_RANK] = {0};
    int lo = r;
    for (int i = 0; i < na; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
        if (a < 0 || a >= r || seen[a])
            return -1;
        seen[a] = true;
        lo = (int)a < lo ? (int)a : lo;
    }
    return na == r - lo ? lo : -1;
}

bool e2e_fuse_layernorm(e2e_fuse_ctx *c, e2e_kernel *dv)
{
    if (!e2e_fuse_is_op(dv, "Div") || dv->n_in != 2 || !e2e_fuse_float_temp(dv->in[0]) || !e2e_fuse_float_temp(dv->in[1]))
        return false;
    e2e_kernel *sub = e2e_fuse_producer(c, dv->in[0]), *sq = e2e_fuse_producer(c, dv->in[1]);
    if (!e2e_fuse_is_op(sub, "Sub") || !e2e_fuse_is_op(sq, "Sqrt") || sub->n_in != 2)
        return false;
    e2e_value *x = sub->in[0], *d = sub->out[0];
    e2e_kernel *rm1 = e2e_fuse_producer(c, sub->in[1]);
    if (!e2e_fuse_is_op(rm1, "ReduceMean") || rm1->in[0] != x || !e2e_fuse_float_temp(x) || e2e_fuse_sole_consumer(c, rm1->out[0]) != sub)
        return false;
    int axis = reduce_trailing_axis(rm1);
    if (axis < 0)
        return false;
    e2e_kernel *ad = e2e_fuse_producer(c, sq->in[0]);
    if (!e2e_fuse_is_op(ad, "Add") || e2e_fuse_sole_consumer(c, sq->in[0]) != sq || e2e_fuse_sole_consumer(c, sq->out[0]) != dv)
        return false;
    float eps;
    e2e_value *vv = NULL;
    if (e2e_fuse_const_scalar(ad->in[1], &eps))
        vv = ad->in[0];
    else if (e2e_fuse_const_scalar(ad->in[0], &eps))
        vv = ad->in[1];
    e2e_kernel *rm2 = e2e_fuse_producer(c, vv);
    if (!vv || !e2e_fuse_is_op(rm2, "ReduceMean") || e2e_fuse_sole_consumer(c, vv) != ad || reduce_trailing_axis(rm2) != axis)
        return false;
    e2e_kernel *pw = e2e_fuse_producer(c, rm2->in[0]);
    float two;
    if (!pw || e2e_fuse_sole_consumer(c, rm2->in[0]) != rm2 || pw->n_in != 2)
        return false;
    if (e2e_fuse_is_op(pw, "Pow")) {
        if (pw->in[0] != d || !e2e_fuse_const_scalar(pw->in[1], &two) || two != 2.f)
            return false;
    } else if (!e2e_fuse_is_op(pw, "Mul") || pw->in[0] != d || pw->in[1] != d) {
        return false;
    }
    /* d feeds exactly the square and the Div */
    int did = e2e_fuse_value_id(c, d);
    if (c->g.is_out[did] || c->g.ncons[did] != (pw->in[1] == d && pw->in[0] == d ? 3 : 2))
        return false;
    e2e_kernel *mul = e2e_fuse_sole_consumer(c, dv->out[0]);
    e2e_value *gamma = e2e_fuse_other_input(mul, dv->out[0]);
    if (!e2e_fuse_is_op(mul, "Mul") || !gamma || !gamma->is_const || gamma->dtype != E2E_FLOAT)
        return false;
    e2e_kernel *last = mul, *addb = e2e_fuse_sole_consumer(c, mul->out[0]);
    e2e_value *beta = e2e_fuse_other_input(addb, mul->out[0]);
    if (e2e_fuse_is_op(addb, "Add") && beta && beta->is_const && beta->dtype == E2E_FLOAT &&
        e2e_shape_equal(&addb->out[0]->shape, &x->shape))
        last = addb;
    else
        beta = NULL;
    if (!e2e_shape_equal(&last->out[0]->shape, &x->shape))
        return false;
    e2e_attr at[2];
    memset(at, 0, sizeof at);
    at[0].name = "axis";
    at[0].type = E2E_ATTR_INT;
    at[0].i = axis;
    at[1].name = "epsilon";
    at[1].type = E2E_ATTR_FLOAT;
    at[1].f = eps;
    e2e_value *in[3] = {x, gamma, beta};
    e2e_kernel k;
    if (!e2e_fuse_make_kernel_attrs(c, last, e2e_op_find("", "LayerNormalization"), "LayerNormalization", in,
                     beta ? 3 : 2, &last->out[0], 1, at, 2, NULL, &k))
        return false;
    e2e_kernel *drop[] = {rm1, sub, pw, rm2, ad, sq, dv, mul, addb};
    e2e_fuse_install(c, &k, last, drop, last == addb ? 9 : 8);
    return true;
}
