/* Shared by the fusion passes that live in their own files (fuse_<name>.c): the pass
   context of fuse.c and its graph helpers. A pass is bool pass(e2e_fuse_ctx *, e2e_kernel *)
   tried on every kernel; it returns true when it replaced a pattern. */
#ifndef E2E_FUSE_INTERNAL_H
#define E2E_FUSE_INTERNAL_H

#include <stdbool.h>

#include "runtime/session.h"

typedef struct fctx e2e_fuse_ctx;

/* k runs the standard-domain operator `type`. */
bool e2e_fuse_is_op(const e2e_kernel *k, const char *type);
/* The kernel producing v, or NULL. */
e2e_kernel *e2e_fuse_producer(e2e_fuse_ctx *c, const e2e_value *v);
/* The only consumer of v when v is a temporary read by exactly one kernel, else NULL. */
e2e_kernel *e2e_fuse_sole_consumer(e2e_fuse_ctx *c, const e2e_value *v);
/* Builds and prepares a kernel of op (priv handed over: freed on failure) modelled on
   `like`; false leaves the session's error clear and the pattern alone. */
bool e2e_fuse_make_kernel(e2e_fuse_ctx *c, const e2e_kernel *like, const e2e_op_def *op,
                          const char *op_type, e2e_value *const *in, int n_in,
                          e2e_value *const *out, int n_out, void *priv, e2e_kernel *k);
/* Puts k in the slot of `last` and drops the other kernels of the pattern. */
void e2e_fuse_install(e2e_fuse_ctx *c, e2e_kernel *k, e2e_kernel *last, e2e_kernel **drop,
                      int n_drop);

/* passes in their own files */
bool e2e_fuse_edge_gather(e2e_fuse_ctx *c, e2e_kernel *k);   /* fuse_edge.c */
bool e2e_fuse_pointwise_mlp(e2e_fuse_ctx *c, e2e_kernel *k); /* fuse_pointwise.c */
/* fuse_attn_bias.c: when the Softmax sm reads Add(scores, bias) (scores from the attention's
   MatMul or its scaling, sole consumer the Add), the Add; *scores, *bias and the bias as a
   view of the scores' shape are set. NULL otherwise. */
struct e2e_view;
e2e_kernel *e2e_fuse_attn_bias(e2e_fuse_ctx *c, const e2e_kernel *sm, e2e_value **scores,
                               e2e_value **bias, struct e2e_view *view);

#endif
