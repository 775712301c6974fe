/* The passes that turn a model's graph into a session's plan, in the one table that orders
   them (passes.c). build() in session.c binds the values, then runs the table. */
#ifndef E2E_PASSES_H
#define E2E_PASSES_H

#include <stdbool.h>

#include "engine/plan.h"
#include "engine/session.h"

typedef struct e2e_pass {
    const char *name;
    bool optimizing;    /* runs only at optimize >= 1 on a session with no If decided at run */
    e2e_status (*run)(e2e_session *s, e2e_error *err);
} e2e_pass;

extern const e2e_pass e2e_passes[]; /* in run order; ends with {NULL} */

/* the passes, by file */
e2e_status e2e_session_prepare_kernels(e2e_session *s, e2e_error *err); /* session.c */
e2e_status e2e_fuse_qdq_all(e2e_session *s, e2e_error *err);            /* fuse.c */
e2e_status e2e_session_fold_deferred(e2e_session *s, e2e_error *err);   /* session.c */
e2e_status e2e_fuse_patterns(e2e_session *s, e2e_error *err);           /* fuse.c */
e2e_status e2e_fuse_activations(e2e_session *s, e2e_error *err);        /* fuse_activation.c */
e2e_status e2e_fuse_token_select(e2e_session *s, e2e_error *err);       /* fuse.c */
e2e_status e2e_session_compact(e2e_session *s, e2e_error *err);         /* session.c */
/* e2e_plan_memory (plan.h) */

/* The synthetic nodes and operand arrays the pattern passes made for s (fuse.c). */
void e2e_fuse_release(e2e_session *s);

#endif
