/* Patch embedding (pass table: passes.c): Conv(kernel = stride, no padding, group 1) ->
   Reshape -> Transpose(0, 2, 1) (a ViT's patch embedding)  =>  one PatchEmbed kernel
   (ops/mm_packed.c): patches times the packed weight, written in token order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ops/mm_packed.h"
#include "engine/passes/fuse_internal.h"

/* Conv(kernel = stride, no padding) -> Reshape [B, E, Hp*Wp] -> Transpose(0, 2, 1): the patch
   embedding of a ViT, one GEMM of the patches by the weight written straight in token order. */
bool e2e_fuse_patch_embed(e2e_fuse_ctx *c, e2e_kernel *cv)
{
    if (!e2e_fuse_is_op(cv, "Conv") || cv->n_in < 2 || cv->n_out != 1 || !e2e_fuse_float_temp(cv->out[0]) ||
        cv->act != E2E_ACT_NONE)
        return false;
    e2e_value *x = cv->in[0], *w = cv->in[1], *b = cv->n_in > 2 ? cv->in[2] : NULL;
    if (!x || x->dtype != E2E_FLOAT || x->shape.rank != 4 || !w->is_const || w->dtype != E2E_FLOAT ||
        w->shape.rank != 4 || (b && (!b->is_const || b->dtype != E2E_FLOAT)))
        return false;
    const int64_t *xd = x->shape.dims, *wd = w->shape.dims, *yd = cv->out[0]->shape.dims;
    const int64_t kern[2] = {wd[2], wd[3]}, zeros[4] = {0}, ones[2] = {1, 1};
    const e2e_attr *g = e2e_node_attr(cv->node, "group"), *ap = e2e_node_attr(cv->node, "auto_pad");
    if ((g && (g->type != E2E_ATTR_INT || g->i != 1)) ||
        (ap && (ap->type != E2E_ATTR_STRING || (strcmp(ap->s, "NOTSET") && strcmp(ap->s, "VALID")))) ||
        !e2e_fuse_attr_ints_are(cv, "strides", 2, kern, 1) || !e2e_fuse_attr_ints_are(cv, "pads", 4, zeros, 0) ||
        !e2e_fuse_attr_ints_are(cv, "dilations", 2, ones, 1) ||
        (e2e_node_attr(cv->node, "kernel_shape") && !e2e_fuse_attr_ints_are(cv, "kernel_shape", 2, kern, 0)))
        return false;
    if (wd[1] != xd[1] || kern[0] < 1 || kern[1] < 1 || cv->out[0]->shape.rank != 4 || yd[0] != xd[0] ||
        yd[1] != wd[0] || yd[2] != xd[2] / kern[0] || yd[3] != xd[3] / kern[1] || (b && b->numel != wd[0]))
        return false;
    for (int i = 0; i < 4; i++)
        if (xd[i] > INT32_MAX / 4 || wd[i] > INT32_MAX / 4)
            return false;
    /* the output must end in token order [B, Hp*Wp, E] */
    e2e_value *fin;
    e2e_view v;
    e2e_kernel *chain[E2E_FUSE_MAX_CHAIN];
    int nc = e2e_fuse_trace_result(c, cv->out[0], &fin, &v, chain);
    const int64_t E = yd[1], Hp = yd[2], Wp = yd[3];
    if (nc == 0 || v.offset != 0 || (yd[0] > 1 && v.strides[0] != Hp * Wp * E) || (E > 1 && v.strides[1] != 1) ||
        (Hp > 1 && v.strides[2] != Wp * E) || (Wp > 1 && v.strides[3] != E) || fin->dtype != E2E_FLOAT)
        return false;
    e2e_patch_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return false;
    *cfg = (e2e_patch_cfg){.B = (int)xd[0], .C = (int)xd[1], .H = (int)xd[2], .W = (int)xd[3], .E = (int)E,
                           .Ph = (int)kern[0], .Pw = (int)kern[1], .Hp = (int)Hp, .Wp = (int)Wp};
    e2e_kernel *last = chain[nc - 1], k;
    e2e_value *in[3] = {x, w, b};
    if (!e2e_fuse_make_kernel_attrs(c, last, &e2e_op_patch_embed, "PatchEmbed", in, 3, &fin, 1, NULL, 0, cfg, &k))
        return false;
    e2e_kernel *drop[1 + E2E_FUSE_MAX_CHAIN] = {cv};
    for (int i = 0; i < nc; i++)
        drop[1 + i] = chain[i];
    e2e_fuse_install(c, &k, last, drop, 1 + nc);
    return true;
}
