/* Memory planning: alias and in-place decisions, lifetimes, one arena with offsets. */
#ifndef E2E_PLAN_H
#define E2E_PLAN_H

#include "engine/session.h"

/* Gives every non-constant value produced by a kernel its place in one arena, allocates the
   arena and the shared workspace, and sets the values' data pointers. */
e2e_status e2e_plan_memory(e2e_session *s, e2e_error *err);
/* Points the values at s->arena (offsets and sizes from e2e_plan_memory). A session with
   `borrowed` set is planned without an arena of its own: its parent gives it the shared
   arena and workspace, then calls this. */
void e2e_plan_bind_arena(e2e_session *s);

#endif
