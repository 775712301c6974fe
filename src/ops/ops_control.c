/* If whose condition is known only at run time. The loader inlined both branches into the
   graph (core/ir.h, e2e_gate): the node's inputs are [cond, then outputs..., else
   outputs...], the session prepares both branches and runs only the taken one's kernels, and
   this kernel copies the taken branch's outputs: out[j] = cond ? in[1 + j] : in[1 + n + j].
   Each output must have one type and shape in both branches (the arena is planned at session
   creation); otherwise E2E_ERR_DYNAMIC. An If whose condition is constant at session
   creation never reaches this kernel: the session replaces it by the chosen branch. */
#include <string.h>

#include "ops/op.h"

static e2e_status if_prepare(e2e_kernel *k)
{
    const int n = k->n_out;
    if (k->n_in != 1 + 2 * n || !k->in[0])
        return e2e_kfail(k, E2E_ERR_INVALID, "needs a condition and both branches (got %d inputs "
                         "for %d outputs after inlining)", k->n_in, n);
    const e2e_value *c = k->in[0];
    if (c->dtype != E2E_BOOL || c->numel != 1) {
        char s[160];
        return e2e_kfail(k, E2E_ERR_INVALID, "the condition must be one bool, is %s %s",
                         e2e_dtype_name(c->dtype), e2e_shape_str(&c->shape, s, sizeof s));
    }
    e2e_status st;
    for (int j = 0; j < n; j++) {
        const e2e_value *t = k->in[1 + j], *e = k->in[1 + n + j];
        if (!t || !e)
            return e2e_kfail(k, E2E_ERR_INVALID, "output %d has no value in a branch", j);
        if (t->dtype != e->dtype || !e2e_shape_equal(&t->shape, &e->shape)) {
            char a[160], b[160];
            return e2e_kfail(k, E2E_ERR_DYNAMIC, "condition not constant at session creation, and "
                             "output %d is %s %s in then_branch but %s %s in else_branch", j,
                             e2e_dtype_name(t->dtype), e2e_shape_str(&t->shape, a, sizeof a),
                             e2e_dtype_name(e->dtype), e2e_shape_str(&e->shape, b, sizeof b));
        }
        if (k->out[j] && (st = e2e_out_set(k, j, t->dtype, &t->shape)))
            return st;
    }
    return E2E_OK;
}

static e2e_status if_run(e2e_kernel *k)
{
    const int n = k->n_out;
    const int base = *(const uint8_t *)k->in[0]->data ? 1 : 1 + n;
    for (int j = 0; j < n; j++) {
        const e2e_value *src = k->in[base + j];
        e2e_value *o = k->out[j];
        if (o && o->numel && o->data != src->data)
            memcpy(o->data, src->data, (size_t)o->numel * e2e_dtype_size(o->dtype));
    }
    return E2E_OK;
}

const e2e_op_def e2e_ops_control[] = {
    {"If", if_prepare, if_run, NULL, 0},
    {0},
};
