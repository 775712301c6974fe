/* Shared by the pattern passes (fuse_<name>.c, listed in passes.c): the pass context and its
   graph helpers (fuse.c), the strided views of fuse_view.c. A pattern pass is
   bool pass(e2e_fuse_ctx *, e2e_kernel *), tried on every kernel in list order; it returns
   true when it replaced a pattern (through e2e_fuse_install). */
#ifndef E2E_FUSE_INTERNAL_H
#define E2E_FUSE_INTERNAL_H

#include <stdbool.h>

#include "engine/session.h"
#include "ops/mm_packed.h" /* e2e_view */

/* value -> producing kernel, consumer count, one consumer; graph outputs */
typedef struct e2e_fuse_index {
    int *prod, *ncons, *cons;
    bool *is_out;
} e2e_fuse_index;

typedef struct e2e_fuse_ctx {
    e2e_session *s;
    struct fuse_state *fs;      /* the session's synthetic nodes and arrays (fuse.c) */
    e2e_fuse_index g;           /* kept current by e2e_fuse_install */
    e2e_error *err;
} e2e_fuse_ctx;

/* ---- the graph around a kernel (fuse.c) ---- */

/* k runs the standard-domain operator `type`. */
bool e2e_fuse_is_op(const e2e_kernel *k, const char *type);
/* The kernel producing v, or NULL. */
e2e_kernel *e2e_fuse_producer(e2e_fuse_ctx *c, const e2e_value *v);
/* The only consumer of v when v is a temporary read by exactly one kernel, else NULL. */
e2e_kernel *e2e_fuse_sole_consumer(e2e_fuse_ctx *c, const e2e_value *v);
/* The index of v in the session's values (-1 for NULL), for c->g. */
int e2e_fuse_value_id(const e2e_fuse_ctx *c, const e2e_value *v);
/* Rebuilds c->g after the kernel list changed outside e2e_fuse_install. */
void e2e_fuse_reindex(e2e_fuse_ctx *c);
/* A float value that is not a constant. */
bool e2e_fuse_float_temp(const e2e_value *v);
/* A constant float scalar: true and *f. */
bool e2e_fuse_const_scalar(const e2e_value *v, float *f);
/* a equals b to a relative 1e-6. */
bool e2e_fuse_near(float a, double b);
/* For a binary kernel one of whose inputs is x: the other input, or NULL. */
e2e_value *e2e_fuse_other_input(const e2e_kernel *k, const e2e_value *x);
/* An INTS attribute equal to want[0..n) (absent: every want equals dflt). */
bool e2e_fuse_attr_ints_are(const e2e_kernel *k, const char *name, int n, const int64_t *want,
                            int64_t dflt);

/* ---- building the replacement (fuse.c) ---- */

/* Zeroed memory owned by the session (freed by e2e_fuse_release); NULL when out of memory. */
void *e2e_fuse_alloc(e2e_fuse_ctx *c, size_t n);
/* A synthetic node for kernel k: name taken from `like`, attributes copied in. */
e2e_node *e2e_fuse_new_node(e2e_fuse_ctx *c, const e2e_node *like, const char *op_type,
                            const e2e_kernel *k, const e2e_attr *attrs, int n_attrs);
/* Builds and prepares a kernel of op (priv handed over: freed on failure) modelled on
   `like` (its kernel context); false leaves the session's error clear and the pattern alone. */
bool e2e_fuse_make_kernel(e2e_fuse_ctx *c, const e2e_kernel *like, const e2e_op_def *op,
                          const char *op_type, e2e_value *const *in, int n_in,
                          e2e_value *const *out, int n_out, void *priv, e2e_kernel *k);
/* The same with attributes for the synthetic node. */
bool e2e_fuse_make_kernel_attrs(e2e_fuse_ctx *c, const e2e_kernel *like, const e2e_op_def *op,
                                const char *op_type, e2e_value *const *in, int n_in,
                                e2e_value *const *out, int n_out, const e2e_attr *attrs,
                                int n_attrs, void *priv, e2e_kernel *k);
/* Puts k in the slot of `last` and removes the other kernels of the pattern (e2e_kernel_remove). */
void e2e_fuse_install(e2e_fuse_ctx *c, e2e_kernel *k, e2e_kernel *last, e2e_kernel **drop,
                      int n_drop);

/* ---- strided views through view chains (fuse_view.c) ---- */

#define E2E_FUSE_MAX_CHAIN 8
/* The operand value v as a view of the furthest tensor behind view nodes: *base, *view. */
void e2e_fuse_trace_operand(e2e_fuse_ctx *c, e2e_value *v, e2e_value **base, e2e_view *view);
/* The result value o as a view of the tensor at the end of its sole-consumer chain of
   Transpose/reshape nodes: *final, *view, and the chain's kernels (their count returned). */
int e2e_fuse_trace_result(e2e_fuse_ctx *c, e2e_value *o, e2e_value **final, e2e_view *view,
                          e2e_kernel **chain);

/* ---- the pattern passes, one file each; their order is the table in passes.c ---- */

typedef struct e2e_pattern_pass {
    const char *name;
    bool (*fuse)(e2e_fuse_ctx *c, e2e_kernel *k);
} e2e_pattern_pass;
extern const e2e_pattern_pass e2e_pattern_passes[]; /* ends with {NULL, NULL} */

bool e2e_fuse_patch_embed(e2e_fuse_ctx *c, e2e_kernel *k);   /* fuse_patch_embed.c */
bool e2e_fuse_layernorm(e2e_fuse_ctx *c, e2e_kernel *k);     /* fuse_layernorm.c */
bool e2e_fuse_gelu(e2e_fuse_ctx *c, e2e_kernel *k);          /* fuse_gelu.c */
bool e2e_fuse_attention(e2e_fuse_ctx *c, e2e_kernel *k);     /* fuse_attention.c */
bool e2e_fuse_bias(e2e_fuse_ctx *c, e2e_kernel *k);          /* fuse_bias.c */
bool e2e_fuse_conv_pool(e2e_fuse_ctx *c, e2e_kernel *k);     /* fuse_conv_pool.c */
bool e2e_fuse_conv_chain(e2e_fuse_ctx *c, e2e_kernel *k);    /* fuse_conv_chain.c */
bool e2e_fuse_edge_gather(e2e_fuse_ctx *c, e2e_kernel *k);   /* fuse_edge.c */
bool e2e_fuse_pointwise_mlp(e2e_fuse_ctx *c, e2e_kernel *k); /* fuse_pointwise.c */
bool e2e_fuse_qdq(e2e_fuse_ctx *c, e2e_kernel *k);           /* fuse_qdq.c */
/* fuse_attn_bias.c: when the Softmax sm reads Add(scores, bias) (scores from the attention's
   MatMul or its scaling, sole consumer the Add), the Add; *scores, *bias and the bias as a
   view of the scores' shape are set. NULL otherwise. A helper of the attention pass. */
e2e_kernel *e2e_fuse_attn_bias(e2e_fuse_ctx *c, const e2e_kernel *sm, e2e_value **scores,
                               e2e_value **bias, e2e_view *view);
/* the token selection runs after the activation pass (pipeline in passes.c) */
e2e_status e2e_fuse_select_token(e2e_fuse_ctx *c, e2e_kernel *k); /* fuse_token_select.c */

#endif
