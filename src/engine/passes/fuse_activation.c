/* Activation epilogues (pipeline: passes.c, after the pattern passes): a Conv/Gemm/MatMul
   (any operator with E2E_OP_FUSES_ACT) whose only consumer is Relu, Sigmoid, LeakyRelu or
   exact Gelu takes the activation into its epilogue (k->act); the activation's kernel is
   removed. */
#include <string.h>

#include "engine/passes/passes.h"

static int count_consumers(const e2e_session *s, int value, int *only)
{
    int n = 0;
    for (int i = 0; i < s->n_kernels; i++) {
        const e2e_kernel *k = &s->kernels[i];
        if (!k->op)
            continue;
        for (int j = 0; j < k->n_in; j++)
            if (k->in[j] == &s->values[value]) {
                n++;
                *only = i;
            }
    }
    return n;
}

static bool is_graph_output(const e2e_session *s, int value)
{
    for (int i = 0; i < s->model->graph.n_outputs; i++)
        if (s->model->graph.outputs[i] == value)
            return true;
    return false;
}

static int value_id(const e2e_session *s, const e2e_value *v) { return (int)(v - s->values); }

e2e_status e2e_fuse_activations(e2e_session *s, e2e_error *err)
{
    for (int i = 0; i < s->n_kernels; i++) {
        e2e_kernel *k = &s->kernels[i];
        if (!k->op || !(k->op->flags & E2E_OP_FUSES_ACT) || k->act != E2E_ACT_NONE || !k->out[0])
            continue;
        int out = value_id(s, k->out[0]), c = -1;
        if (is_graph_output(s, out) || count_consumers(s, out, &c) != 1)
            continue;
        e2e_kernel *a = &s->kernels[c];
        const char *t = a->node->op_type;
        e2e_act act = E2E_ACT_NONE;
        float alpha = 0, beta = 0;
        if (!strcmp(t, "Relu"))
            act = E2E_ACT_RELU;
        else if (!strcmp(t, "Sigmoid"))
            act = E2E_ACT_SIGMOID;
        else if (!strcmp(t, "LeakyRelu")) {
            const e2e_attr *at = e2e_node_attr(a->node, "alpha");
            act = E2E_ACT_LEAKY_RELU;
            alpha = at && at->type == E2E_ATTR_FLOAT ? at->f : 0.01f;
        } else if (!strcmp(t, "Gelu")) {
            const e2e_attr *ap = e2e_node_attr(a->node, "approximate");
            if (!ap || (ap->type == E2E_ATTR_STRING && !strcmp(ap->s, "none")))
                act = E2E_ACT_GELU;
        }
        if (act == E2E_ACT_NONE || a->in[0] != k->out[0] || a->out[0]->dtype != E2E_FLOAT)
            continue;
        k->act = act;
        k->act_alpha = alpha;
        k->act_beta = beta;
        k->out[0] = a->out[0];
        e2e_kernel_remove(a);
        s->n_fused++;
    }
    return E2E_OK;
}
