/* GELU (pass table: passes.c): Div(x, sqrt 2) | Mul(x, 1/sqrt 2) -> Erf -> Add 1 -> Mul x
   -> Mul 0.5 (any order of the last two, 0.5 also applied to x or to 1 + erf first)
   =>  Gelu(x), which the activation pass (fuse_activation.c) then folds into the producing
   MatMul. */
#include "engine/passes/fuse_internal.h"

static bool mul_by(const e2e_kernel *k, const e2e_value *v, double want)
{
    float f;
    return e2e_fuse_is_op(k, "Mul") && e2e_fuse_const_scalar(e2e_fuse_other_input(k, v), &f) && e2e_fuse_near(f, want);
}

bool e2e_fuse_gelu(e2e_fuse_ctx *c, e2e_kernel *erf)
{
    if (!e2e_fuse_is_op(erf, "Erf") || !e2e_fuse_float_temp(erf->in[0]))
        return false;
    e2e_kernel *sc = e2e_fuse_producer(c, erf->in[0]);
    if (!sc || e2e_fuse_sole_consumer(c, erf->in[0]) != erf || sc->n_in != 2)
        return false;
    e2e_value *x = NULL;
    float f;
    if (e2e_fuse_is_op(sc, "Div") && e2e_fuse_const_scalar(sc->in[1], &f) && e2e_fuse_near(f, 1.4142135623730951))
        x = sc->in[0];
    else if (e2e_fuse_is_op(sc, "Mul") && e2e_fuse_const_scalar(sc->in[1], &f) && e2e_fuse_near(f, 0.7071067811865476))
        x = sc->in[0];
    else if (e2e_fuse_is_op(sc, "Mul") && e2e_fuse_const_scalar(sc->in[0], &f) && e2e_fuse_near(f, 0.7071067811865476))
        x = sc->in[1];
    if (!e2e_fuse_float_temp(x))
        return false;
    e2e_kernel *add = e2e_fuse_sole_consumer(c, erf->out[0]);
    if (!e2e_fuse_is_op(add, "Add") || !e2e_fuse_const_scalar(e2e_fuse_other_input(add, erf->out[0]), &f) || f != 1.f)
        return false;
    e2e_value *av = add->out[0];
    e2e_kernel *m1 = e2e_fuse_sole_consumer(c, av), *m2 = NULL, *half = NULL;
    if (!e2e_fuse_is_op(m1, "Mul"))
        return false;
    e2e_value *o = e2e_fuse_other_input(m1, av);
    e2e_kernel *last;
    if (o == x) { /* x (1 + erf) then * 0.5 */
        m2 = e2e_fuse_sole_consumer(c, m1->out[0]);
        if (!mul_by(m2, m1->out[0], 0.5))
            return false;
        last = m2;
    } else if (o && e2e_fuse_const_scalar(o, &f) && e2e_fuse_near(f, 0.5)) { /* 0.5 (1 + erf) then * x */
        m2 = e2e_fuse_sole_consumer(c, m1->out[0]);
        if (!e2e_fuse_is_op(m2, "Mul") || e2e_fuse_other_input(m2, m1->out[0]) != x)
            return false;
        last = m2;
    } else if (o && (half = e2e_fuse_producer(c, o)) && mul_by(half, x, 0.5) && e2e_fuse_other_input(half, x) &&
               e2e_fuse_sole_consumer(c, o) == m1) { /* (0.5 x) (1 + erf) */
        last = m1;
    } else {
        return false;
    }
    if (!e2e_shape_equal(&last->out[0]->shape, &x->shape) || last->out[0]->dtype != E2E_FLOAT)
        return false;
    e2e_kernel k;
    if (!e2e_fuse_make_kernel_attrs(c, last, e2e_op_find("", "Gelu"), "Gelu", &x, 1, &last->out[0], 1, NULL, 0, NULL, &k))
        return false;
    e2e_kernel *drop[] = {sc, erf, add, m1, m2, half};
    e2e_fuse_install(c, &k, last, drop, 6);
    return true;
}
