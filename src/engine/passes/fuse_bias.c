/* MatMul + bias (+ residual) (pass table: passes.c): MatMul(A, B) -> Add const [N] [-> Add
   residual of the same shape]  =>  MatMul with in[2] = bias, in[3] = residual, applied in its
   epilogue (with a constant B the product runs on the packed kernels of mm_packed.c). */
#include "engine/passes/fuse_internal.h"

bool e2e_fuse_bias(e2e_fuse_ctx *c, e2e_kernel *mm)
{
    if (!e2e_fuse_is_op(mm, "MatMul") || mm->n_in != 2 || mm->act != E2E_ACT_NONE || !e2e_fuse_float_temp(mm->out[0]) ||
        !mm->in[1] || mm->in[1]->shape.rank < 2) /* a 1-D B drops the last axis */
        return false;
    const e2e_value *y = mm->out[0];
    int r = y->shape.rank;
    if (r < 1)
        return false;
    int64_t N = y->shape.dims[r - 1];
    e2e_kernel *add = e2e_fuse_sole_consumer(c, y);
    e2e_value *bias = e2e_fuse_other_input(add, y);
    if (!e2e_fuse_is_op(add, "Add") || !bias || !bias->is_const || bias->dtype != E2E_FLOAT || bias->numel != N ||
        bias->shape.rank > r || !e2e_shape_equal(&add->out[0]->shape, &y->shape))
        return false;
    for (int d = 0; d < bias->shape.rank - 1; d++)
        if (bias->shape.dims[d] != 1)
            return false;
    e2e_kernel *last = add, *radd = e2e_fuse_sole_consumer(c, add->out[0]);
    e2e_value *res = e2e_fuse_other_input(radd, add->out[0]);
    if (e2e_fuse_is_op(radd, "Add") && e2e_fuse_float_temp(res) && e2e_shape_equal(&res->shape, &y->shape) &&
        e2e_shape_equal(&radd->out[0]->shape, &y->shape))
        last = radd;
    else
        res = NULL;
    /* the MatMul keeps its prepared state; only its operands and output change */
    e2e_value **in = e2e_fuse_alloc(c, sizeof(e2e_value *) * 4);
    if (!in)
        return false;
    in[0] = mm->in[0];
    in[1] = mm->in[1];
    in[2] = bias;
    in[3] = res;
    e2e_kernel k = *mm;
    k.in = in;
    k.n_in = 4;
    k.out[0] = last->out[0];
    mm->priv = NULL; /* moved into k: removing the MatMul's slot must not release it */
    e2e_kernel_remove(mm);
    e2e_kernel *drop[] = {add, radd};
    e2e_fuse_install(c, &k, last, drop, last == radd ? 2 : 1);
    return true;
}
