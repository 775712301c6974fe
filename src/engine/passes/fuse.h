/* Pattern fusions on a prepared session (before activation fusion and memory planning):
   the decomposed LayerNorm and erf-GELU patterns PyTorch exports, attention (Q K^T, scale,
   Softmax, V) as one kernel, MatMul + bias (+ residual) epilogues; list in fuse.c.
   Replaced kernels are removed (op = NULL); new kernels use session-owned synthetic nodes
   and operand arrays kept in s->fuse_state and freed by e2e_fuse_release. */
#ifndef E2E_FUSE_H
#define E2E_FUSE_H

#include "engine/session.h"

e2e_status e2e_fuse_patterns(e2e_session *s, e2e_error *err);
/* After the activation fusion: a LayerNorm -> MLP -> LayerNorm head whose result is read at one
   token (a ViT's class token) runs on that token alone (select_token in fuse.c). */
e2e_status e2e_fuse_token_select(e2e_session *s, e2e_error *err);
void e2e_fuse_release(e2e_session *s);

#endif
