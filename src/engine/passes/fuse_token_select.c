/* Token selection (pass table: passes.c, after the activation pass): a LayerNorm -> MLP ->
   LayerNorm head whose result is read at one token (a ViT's class token) runs on that token
   alone. */
#include <string.h>
#include "engine/passes/fuse_internal.h"

/* An integer attribute of k's node, or dflt. */
static int64_t attr_int(const e2e_kernel *k, const char *name, int64_t dflt)
{
    const e2e_attr *a = e2e_node_attr(k->node, name);
    return a && a->type == E2E_ATTR_INT ? a->i : dflt;
}

/* LayerNormalization over the last axis only (its rows are independent). */
static bool is_row_layernorm(const e2e_kernel *k)
{
    if (!e2e_fuse_is_op(k, "LayerNormalization") || !k->in[0] || k->in[0]->shape.rank < 1)
        return false;
    int64_t a = attr_int(k, "axis", -1), r = k->in[0]->shape.rank;
    return a == -1 || a == r - 1;
}

/* MatMul by a constant matrix (rows of A independent), with an optional bias, no residual
   unless `res` is given and matches. */
static bool is_row_matmul(const e2e_kernel *k, const e2e_value *a, const e2e_value *res)
{
    if (!e2e_fuse_is_op(k, "MatMul") || k->in[0] != a || !k->in[1] || !k->in[1]->is_const ||
        k->in[1]->shape.rank != 2 || a->shape.rank < 2)
        return false;
    const e2e_value *kr = k->n_in > 3 ? k->in[3] : NULL;
    return kr == res;
}

/* Prepares a kernel of the list again after its operands changed. A MatMul with fused bias
   and residual operands was prepared with its two inputs (fuse_bias); so it is again. */
static e2e_status reprepare(e2e_kernel *k)
{
    int n_in = k->n_in;
    if (e2e_fuse_is_op(k, "MatMul") && n_in > 2)
        k->n_in = 2;
    e2e_status st = k->op->prepare(k);
    k->n_in = n_in;
    return st;
}

/* Gives a row LayerNorm the axis -1 (a fused one says rank - 1, which moves when the rank
   shrinks): a synthetic copy of its node. */
static bool ln_axis_last(e2e_fuse_ctx *c, e2e_kernel *k)
{
    const e2e_attr *a = e2e_node_attr(k->node, "axis");
    if (!a || a->type != E2E_ATTR_INT || a->i == -1)
        return true;
    const int n = k->node->n_attrs;
    e2e_attr *at = e2e_fuse_alloc(c, sizeof(e2e_attr) * (size_t)(n + 1));
    if (!at)
        return false;
    for (int i = 0; i < n; i++) {
        at[i] = k->node->attrs[i];
        if (!strcmp(at[i].name, "axis"))
            at[i].i = -1;
    }
    const e2e_node *nd = e2e_fuse_new_node(c, k->node, k->node->op_type, k, at, n);
    if (!nd)
        return false;
    k->node = nd;
    return true;
}

/* The head of a pre-norm transformer that reads one token:

     r -> LN2 -> MatMul(+act) -> MatMul(+bias, + residual r) -> LNf -> Gather(axis t, index i)

   (a ViT's class-token classifier after its last block's MLP). The MLP and both LayerNorms
   work row by row, so they can run on token i alone:

     r -> Gather(axis t, index i) -> LN2 -> MatMul -> MatMul(+ residual, gathered) -> LNf

   which saves the last block's MLP for all other tokens (8 of its 12 E x E products per
   token: about 5% of a 12-block ViT). The same sums per row: the outputs agree to float
   rounding (the products may take another kernel path for one row). The kernels keep
   their list slots shifted by one along the chain and are prepared again; the chain's
   temporaries shrink to one token. If a prepare fails, everything is put back. */
e2e_status e2e_fuse_select_token(e2e_fuse_ctx *c, e2e_kernel *g)
{
    if (!e2e_fuse_is_op(g, "Gather") || g->n_in != 2 || !g->in[0] || !g->in[1] || !g->in[1]->is_const ||
        g->in[1]->numel != 1 || g->in[1]->shape.rank > 1 || !e2e_fuse_float_temp(g->in[0]))
        return E2E_OK;
    e2e_value *z = g->in[0];
    const int rank = z->shape.rank;
    int64_t axis = attr_int(g, "axis", 0);
    if (axis < 0)
        axis += rank;
    if (rank < 3 || axis < 0 || axis >= rank - 1 || z->shape.dims[axis] < 2)
        return E2E_OK;
    e2e_kernel *lnf = e2e_fuse_producer(c, z);
    if (e2e_fuse_sole_consumer(c, z) != g || !is_row_layernorm(lnf) || lnf->n_out != 1)
        return E2E_OK;
    e2e_value *xo = lnf->in[0];
    e2e_kernel *mm2 = e2e_fuse_producer(c, xo);
    if (e2e_fuse_sole_consumer(c, xo) != lnf || !mm2 || !e2e_fuse_is_op(mm2, "MatMul") || mm2->n_in < 4 || !mm2->in[3] ||
        !e2e_fuse_float_temp(mm2->in[0]))
        return E2E_OK;
    e2e_value *r = mm2->in[3], *u = mm2->in[0];
    e2e_kernel *mm1 = e2e_fuse_producer(c, u);
    if (!is_row_matmul(mm2, u, r) || e2e_fuse_sole_consumer(c, u) != mm2 || !mm1 || !e2e_fuse_float_temp(mm1->in[0]))
        return E2E_OK;
    e2e_value *h = mm1->in[0];
    e2e_kernel *ln2 = e2e_fuse_producer(c, h);
    if (!is_row_matmul(mm1, h, NULL) || e2e_fuse_sole_consumer(c, h) != mm1 || !is_row_layernorm(ln2) ||
        ln2->in[0] != r || ln2->n_out != 1)
        return E2E_OK;
    int rid = e2e_fuse_value_id(c, r);
    if (!e2e_fuse_float_temp(r) || c->g.is_out[rid] || c->g.ncons[rid] != 2 || r->shape.rank != rank)
        return E2E_OK;
    /* the chain in list order, and its slots */
    e2e_kernel *chain[5] = {ln2, mm1, mm2, lnf, g};
    for (int i = 1; i < 5; i++)
        if (chain[i] <= chain[i - 1])
            return E2E_OK;
    e2e_value *out = g->out[0];
    e2e_kernel saved[5];
    e2e_value *saved_ln2_in = ln2->in[0], *saved_mm2_res = mm2->in[3];
    e2e_value *saved_g_in = g->in[0], *saved_g_out = g->out[0], *saved_lnf_out = lnf->out[0];
    for (int i = 0; i < 5; i++) {
        saved[i] = *chain[i];
        if (chain[i]->op->release && chain[i]->priv)
            chain[i]->op->release(chain[i]->priv);
        chain[i]->priv = NULL;
    }
    /* rewire: Gather(r) -> z; LN2(z) -> h; MM1(h) -> u; MM2(u, residual z) -> xo; LNf(xo) -> out */
    e2e_kernel kg = saved[4], kln2 = saved[0], kmm1 = saved[1], kmm2 = saved[2], klnf = saved[3];
    kg.in[0] = r;
    kg.out[0] = z;
    kln2.in[0] = z;
    kmm2.in[3] = z;
    klnf.out[0] = out;
    e2e_kernel *order[5] = {&kg, &kln2, &kmm1, &kmm2, &klnf};
    int ok = 0;
    if (!ln_axis_last(c, &kln2) || !ln_axis_last(c, &klnf))
        ok = -1;
    for (; ok >= 0 && ok < 5; ok++) {
        order[ok]->priv = NULL;
        if (reprepare(order[ok]))
            break;
    }
    if (ok == 5) {
        for (int i = 0; i < 5; i++)
            *chain[i] = *order[i];
        c->s->n_fused++;
        e2e_fuse_reindex(c);
        return E2E_OK;
    }
    /* put everything back as it was (the kernel whose prepare failed may hold state too) */
    for (int i = 0; i <= ok && i < 5; i++)
        if (order[i]->op->release && order[i]->priv)
            order[i]->op->release(order[i]->priv);
    ln2->in[0] = saved_ln2_in;
    mm2->in[3] = saved_mm2_res;
    g->in[0] = saved_g_in;
    g->out[0] = saved_g_out;
    lnf->out[0] = saved_lnf_out;
    c->err->message[0] = 0;
    c->err->status = E2E_OK;
    for (int i = 0; i < 5; i++) {
        *chain[i] = saved[i];
        chain[i]->priv = NULL;
    }
    for (int i = 0; i < 5; i++)
        if (reprepare(chain[i])) { /* it was prepared before: not expected */
            char why[sizeof c->err->message];
            memcpy(why, c->err->message, sizeof why);
            why[sizeof why - 1] = 0;
            return e2e_fail(c->err, E2E_ERR_INVALID, "%s: node \"%s\": prepared again after a declined "
                            "token selection, it failed: %s", c->s->model->name, chain[i]->node->name, why);
        }
    return E2E_OK;
}
