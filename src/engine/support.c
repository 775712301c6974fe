/* Whether the engine has a kernel for every node of a model. The loader only builds the IR;
   this is asked when a session is created and by the command right after loading (so info
   and check name every missing operator at once). */
#include <stdio.h>
#include <string.h>

#include "engine/session.h"

/* Lists every operator type with no kernel, once each. */
e2e_status e2e_model_check_support(const e2e_model *m, e2e_error *err)
{
    const e2e_graph *g = &m->graph;
    char list[700] = "";
    size_t len = 0;
    int missing = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const e2e_node *n = &g->nodes[i];
        if (e2e_op_find(n->domain, n->op_type))
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(g->nodes[j].op_type, n->op_type) && !strcmp(g->nodes[j].domain, n->domain) &&
                   !e2e_op_find(g->nodes[j].domain, g->nodes[j].op_type);
        if (seen)
            continue;
        missing++;
        if (len < sizeof list - 1)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s%s%s (node \"%s\")",
                                    missing > 1 ? ", " : "", n->domain[0] ? n->domain : "",
                                    n->domain[0] ? "." : "", n->op_type, n->name);
    }
    if (missing)
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: %d unsupported operator%s: %s", m->name,
                        missing, missing > 1 ? "s" : "", list);
    return E2E_OK;
}
