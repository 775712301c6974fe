/* ModelProto -> e2e_model. After this file the protobuf is freed; nothing else sees it. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "onnx/tensor_proto.h"
#include "core/pack_cache.h"
#include "core/ir.h"
#include "core/region.h"

/* ---- name table: open addressing over value names ---- */

typedef struct name_map {
    int cap;
    int *slot; /* value id or -1 */
} name_map;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int map_find(const name_map *m, const e2e_graph *g, const char *name)
{
    for (uint64_t i = hash_str(name) & (uint64_t)(m->cap - 1);; i = (i + 1) & (uint64_t)(m->cap - 1)) {
        int v = m->slot[i];
        if (v < 0 || !strcmp(g->values[v].name, name))
            return v;
    }
}

static void map_put(name_map *m, const e2e_graph *g, int id)
{
    uint64_t i = hash_str(g->values[id].name) & (uint64_t)(m->cap - 1);
    while (m->slot[i] >= 0)
        i = (i + 1) & (uint64_t)(m->cap - 1);
    m->slot[i] = id;
}

/* If branches nest at most this deep (inline_branch refuses deeper ones). */
#define MAX_IF_DEPTH 32

typedef struct loader {
    const char *name;      /* for messages */
    const char *base_dir;  /* external data */
    e2e_model *m;
    name_map map;
    int cap_values;
    e2e_error *err;
} loader;

/* Adds a value; fails on duplicates unless allow_existing (then returns the existing id). */
static int add_value(loader *L, const char *name, int allow_existing, e2e_status *st)
{
    e2e_graph *g = &L->m->graph;
    int id = map_find(&L->map, g, name);
    if (id >= 0) {
        if (allow_existing)
            return id;
        *st = e2e_fail(L->err, E2E_ERR_INVALID, "%s: the name \"%s\" is defined twice", L->name, name);
        return -1;
    }
    if (g->n_values == L->cap_values) {
        *st = e2e_fail(L->err, E2E_ERR_INVALID, "%s: too many values", L->name);
        return -1;
    }
    id = g->n_values++;
    e2e_value_decl *v = &g->values[id];
    memset(v, 0, sizeof *v);
    v->name = e2e_strdup(name);
    v->shape.rank = -1;
    v->initializer = -1;
    if (!v->name) {
        *st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        g->n_values--;
        return -1;
    }
    map_put(&L->map, g, id);
    return id;
}

static void read_type(const Onnx__ValueInfoProto *vi, e2e_value_decl *v)
{
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type)
        return;
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    if (tt->has_elem_type)
        v->dtype = tt->elem_type == 11 ? E2E_FLOAT : (e2e_dtype)tt->elem_type;
    if (tt->shape && tt->shape->n_dim <= E2E_MAX_RANK) {
        v->shape.rank = (int)tt->shape->n_dim;
        for (size_t i = 0; i < tt->shape->n_dim; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            v->shape.dims[i] = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                                       d->dim_value >= 0
                                   ? d->dim_value
                                   : -1;
        }
    }
}

static e2e_status convert_attr(loader *L, const char *node_name, const Onnx__AttributeProto *ap,
                               e2e_attr *a)
{
    memset(a, 0, sizeof *a);
    a->name = e2e_strdup(ap->name ? ap->name : "");
    int type = ap->has_type ? (int)ap->type : 0;
    if (!type) { /* very old files: infer from the field set */
        type = ap->n_ints ? E2E_ATTR_INTS : ap->n_floats ? E2E_ATTR_FLOATS : ap->t ? E2E_ATTR_TENSOR
             : ap->has_s ? E2E_ATTR_STRING : ap->has_f ? E2E_ATTR_FLOAT : ap->has_i ? E2E_ATTR_INT : 0;
    }
    a->type = (e2e_attr_type)type;
    switch (type) {
    case E2E_ATTR_FLOAT:
        a->f = ap->f;
        break;
    case E2E_ATTR_INT:
        a->i = ap->i;
        break;
    case E2E_ATTR_STRING:
        a->s = malloc(ap->s.len + 1);
        if (!a->s)
            return e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = 0;
        break;
    case E2E_ATTR_INTS:
        a->n = (int)ap->n_ints;
        a->ints = malloc(sizeof(int64_t) * (ap->n_ints + 1));
        if (!a->ints)
            return e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        if (ap->n_ints)
            memcpy(a->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
        break;
    case E2E_ATTR_FLOATS:
        a->n = (int)ap->n_floats;
        a->floats = malloc(sizeof(float) * (ap->n_floats + 1));
        if (!a->floats)
            return e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        if (ap->n_floats)
            memcpy(a->floats, ap->floats, sizeof(float) * ap->n_floats);
        break;
    case E2E_ATTR_TENSOR: {
        if (!ap->t)
            return e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\": attribute '%s' has no tensor",
                            L->name, node_name, a->name);
        char what[512];
        snprintf(what, sizeof what, "%s: node \"%s\": attribute '%s'", L->name, node_name, a->name);
        a->t = calloc(1, sizeof *a->t);
        if (!a->t)
            return e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        return e2e_tensor_from_proto(ap->t, L->base_dir, what, a->t, L->err);
    }
    default:
        /* graphs, strings lists, sparse tensors: kept as typed-but-empty; an operator that needs
           one reports it. */
        break;
    }
    return E2E_OK;
}

/* Dependencies of node n: its inputs, then the conditions of the If branches holding it (a
   gated node runs after its condition is known). Returns the count written to dep. */
static int node_deps(const e2e_graph *g, const e2e_node *n, int *dep, int cap)
{
    int c = 0;
    for (int j = 0; j < n->n_in && c < cap; j++)
        dep[c++] = n->in[j];
    for (int gt = n->gate; gt > 0 && c < cap; gt = g->gates[gt - 1].parent)
        dep[c++] = g->gates[gt - 1].cond;
    return c;
}

/* Kahn's algorithm over node dependencies; fails on cycles naming a node involved. */
static e2e_status topo_sort(loader *L)
{
    e2e_graph *g = &L->m->graph;
    int n = g->n_nodes;
    if (!n)
        return E2E_OK;
    int *producer = malloc(sizeof(int) * (size_t)g->n_values);
    int *indeg = calloc((size_t)n, sizeof(int));
    int *order = malloc(sizeof(int) * (size_t)n);
    int *count = calloc((size_t)n + 1, sizeof(int)); /* CSR of consumers */
    e2e_status st = E2E_OK;
    if (!producer || !indeg || !order || !count) {
        st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        goto done;
    }
    for (int i = 0; i < g->n_values; i++)
        producer[i] = -1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].n_out; j++)
            if (g->nodes[i].out[j] >= 0)
                producer[g->nodes[i].out[j]] = i;
    int edges = 0, cap = 0;
    for (int i = 0; i < n; i++)
        if (g->nodes[i].n_in > cap)
            cap = g->nodes[i].n_in;
    cap += MAX_IF_DEPTH + 1; /* the conditions of nested If branches */
    int *dep = malloc(sizeof(int) * (size_t)cap);
    if (!dep) {
        st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        goto done;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0, nd = node_deps(g, &g->nodes[i], dep, cap); j < nd; j++) {
            int v = dep[j];
            if (v >= 0 && producer[v] >= 0) {
                indeg[i]++;
                count[producer[v] + 1]++;
                edges++;
            }
        }
    for (int i = 0; i < n; i++)
        count[i + 1] += count[i];
    int *adj = malloc(sizeof(int) * (size_t)(edges + 1));
    int *fill = calloc((size_t)n, sizeof(int));
    if (!adj || !fill) {
        free(adj);
        free(fill);
        free(dep);
        st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        goto done;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0, nd = node_deps(g, &g->nodes[i], dep, cap); j < nd; j++) {
            int v = dep[j];
            if (v >= 0 && producer[v] >= 0) {
                int p = producer[v];
                adj[count[p] + fill[p]++] = i;
            }
        }
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (!indeg[i])
            order[tail++] = i;
    while (head < tail) {
        int u = order[head++];
        for (int e = count[u]; e < count[u + 1]; e++)
            if (--indeg[adj[e]] == 0)
                order[tail++] = adj[e];
    }
    free(adj);
    free(fill);
    free(dep);
    if (tail < n) {
        int bad = 0;
        while (bad < n && !indeg[bad])
            bad++;
        st = e2e_fail(L->err, E2E_ERR_INVALID, "%s: the graph has a cycle through node \"%s\" (%s)",
                      L->name, g->nodes[bad].name, g->nodes[bad].op_type);
        goto done;
    }
    e2e_node *sorted = malloc(sizeof(e2e_node) * (size_t)n);
    if (!sorted) {
        st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        goto done;
    }
    for (int i = 0; i < n; i++)
        sorted[i] = g->nodes[order[i]];
    free(g->nodes);
    g->nodes = sorted;
done:
    free(producer);
    free(indeg);
    free(order);
    free(count);
    return st;
}

/* Node fields from its proto, except the value ids of inputs and outputs (arrays allocated). */
static e2e_status node_from_proto(loader *L, const Onnx__NodeProto *np, const char *name, e2e_node *n)
{
    e2e_status st;
    n->name = e2e_strdup(name);
    n->op_type = e2e_strdup(np->op_type ? np->op_type : "");
    n->domain = e2e_strdup(np->domain ? np->domain : "");
    n->n_in = (int)np->n_input;
    n->n_out = (int)np->n_output;
    n->in = malloc(sizeof(int) * (np->n_input + 1));
    n->out = malloc(sizeof(int) * (np->n_output + 1));
    n->attrs = calloc(np->n_attribute + 1, sizeof(e2e_attr));
    if (!n->name || !n->op_type || !n->domain || !n->in || !n->out || !n->attrs)
        return e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
    if (!n->op_type[0])
        return e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" has no op_type", L->name, n->name);
    for (size_t j = 0; j < np->n_attribute; j++) {
        n->n_attrs++;
        if ((st = convert_attr(L, n->name, np->attribute[j], &n->attrs[j])))
            return st;
        for (size_t k = 0; k < j; k++)
            if (!strcmp(n->attrs[k].name, n->attrs[j].name))
                return e2e_fail(L->err, E2E_ERR_INVALID,
                                "%s: node \"%s\" (%s): attribute '%s' is given twice", L->name,
                                n->name, n->op_type, n->attrs[j].name);
    }
    return E2E_OK;
}

/* ---- If branches, inlined into the graph (e2e_gate in core/ir.h) ---- */

/* The then_branch/else_branch graph of an If node, or NULL (not an If, or no such graph). */
static const Onnx__GraphProto *if_branch(const Onnx__NodeProto *np, const char *which)
{
    if (!np->op_type || strcmp(np->op_type, "If") ||
        (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx")))
        return NULL;
    for (size_t j = 0; j < np->n_attribute; j++) {
        const Onnx__AttributeProto *a = np->attribute[j];
        if (a->name && !strcmp(a->name, which) && a->g)
            return a->g;
    }
    return NULL;
}

/* What the If branches under gp add to the graph, recursively. */
static void count_branches(const Onnx__GraphProto *gp, int depth, size_t *nodes, size_t *values,
                           size_t *inits, size_t *gates)
{
    if (depth > MAX_IF_DEPTH)
        return;
    for (size_t i = 0; i < gp->n_node; i++)
        for (int b = 0; b < 2; b++) {
            const Onnx__GraphProto *sg = if_branch(gp->node[i], b ? "else_branch" : "then_branch");
            if (!sg)
                continue;
            (*gates)++;
            *nodes += sg->n_node;
            *inits += sg->n_initializer;
            *values += sg->n_initializer;
            for (size_t j = 0; j < sg->n_node; j++)
                *values += sg->node[j]->n_output;
            count_branches(sg, depth + 1, nodes, values, inits, gates);
        }
}

/* Names a branch defines (as written in it), innermost scope first when searching. */
typedef struct scope {
    const struct scope *up;
    const char **names;
    int *ids;
    int n;
} scope;

static int scope_find(loader *L, const scope *sc, const char *name)
{
    for (; sc; sc = sc->up)
        for (int i = sc->n - 1; i >= 0; i--)
            if (!strcmp(sc->names[i], name))
                return sc->ids[i];
    return map_find(&L->map, &L->m->graph, name);
}

/* Adds the value "<if>/<tag>/<name>" and records name -> id in sc. */
static int add_branch_value(loader *L, scope *sc, const char *ifname, const char *tag,
                            const char *name, e2e_status *st)
{
    size_t len = strlen(ifname) + strlen(tag) + strlen(name) + 3;
    char *full = malloc(len);
    if (!full) {
        *st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        return -1;
    }
    snprintf(full, len, "%s/%s/%s", ifname, tag, name);
    int id = add_value(L, full, 0, st);
    free(full);
    if (id >= 0) {
        sc->names[sc->n] = name;
        sc->ids[sc->n++] = id;
    }
    return id;
}

static e2e_status inline_if(loader *L, int if_idx, const Onnx__NodeProto *np, int parent,
                            const scope *up);

/* Inlines one branch of the If node if_idx; *outs receives the value ids of its outputs. */
static e2e_status inline_branch(loader *L, int if_idx, const Onnx__NodeProto *np, bool then,
                                int parent, const scope *up, int **outs, int *n_outs)
{
    e2e_graph *g = &L->m->graph;
    const char *which = then ? "then_branch" : "else_branch", *tag = then ? "then" : "else";
    const char *ifname = g->nodes[if_idx].name;
    const Onnx__GraphProto *sg = if_branch(np, which);
    if (!sg)
        return e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" (If): attribute '%s' is "
                        "missing or not a graph", L->name, ifname, which);
    if (sg->n_input)
        return e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" (If): %s declares %zu inputs; "
                        "If branches take none", L->name, ifname, which, sg->n_input);
    if (g->nodes[if_idx].n_in != 1 || g->nodes[if_idx].in[0] < 0)
        return e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" (If) needs exactly one input, "
                        "the condition", L->name, ifname);
    int depth = 0;
    for (int p = parent; p > 0; p = g->gates[p - 1].parent)
        depth++;
    if (depth >= MAX_IF_DEPTH)
        return e2e_fail(L->err, E2E_ERR_UNSUPPORTED, "%s: node \"%s\" (If) is nested %d deep; "
                        "at most %d levels are supported", L->name, ifname, depth + 1,
                        MAX_IF_DEPTH);
    int gate = g->n_gates++;
    g->gates[gate] = (e2e_gate){.cond = g->nodes[if_idx].in[0], .then = then, .parent = parent};
    size_t cap = sg->n_initializer + 1;
    for (size_t j = 0; j < sg->n_node; j++)
        cap += sg->node[j]->n_output;
    scope sc = {.up = up, .names = calloc(cap, sizeof(char *)), .ids = calloc(cap, sizeof(int))};
    *outs = calloc(sg->n_output + 1, sizeof(int));
    e2e_status st = E2E_OK;
    if (!sc.names || !sc.ids || !*outs) {
        st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        goto done;
    }
    for (size_t i = 0; i < sg->n_initializer; i++) {
        Onnx__TensorProto *tp = sg->initializer[i];
        if (!tp->name || !tp->name[0]) {
            st = e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" (If): an initializer of %s "
                          "has no name", L->name, ifname, which);
            goto done;
        }
        char what[512];
        snprintf(what, sizeof what, "%s: node \"%s\" (If): %s initializer \"%s\"", L->name,
                 ifname, which, tp->name);
        if ((st = e2e_tensor_take_proto(tp, L->base_dir, what, &g->inits[g->n_inits], L->err)))
            goto done;
        int id = add_branch_value(L, &sc, ifname, tag, tp->name, &st);
        if (id < 0) {
            e2e_tensor_clear(&g->inits[g->n_inits]);
            goto done;
        }
        g->values[id].initializer = g->n_inits++;
        g->values[id].dtype = g->inits[g->values[id].initializer].dtype;
        g->values[id].shape = g->inits[g->values[id].initializer].shape;
    }
    const int first = g->n_nodes;
    for (size_t i = 0; i < sg->n_node; i++) {
        const Onnx__NodeProto *sp = sg->node[i];
        e2e_node *n = &g->nodes[g->n_nodes++];
        char local[64];
        snprintf(local, sizeof local, "%s_%zu", sp->op_type ? sp->op_type : "node", i);
        const char *nm = sp->name && sp->name[0] ? sp->name : local;
        size_t len = strlen(ifname) + strlen(nm) + 8;
        char *full = malloc(len);
        if (!full) {
            st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
            goto done;
        }
        snprintf(full, len, "%s/%s/%s", ifname, tag, nm);
        st = node_from_proto(L, sp, full, n);
        free(full);
        if (st)
            goto done;
        n->gate = gate + 1;
        for (size_t j = 0; j < sp->n_output; j++) {
            n->out[j] = -1;
            if (!sp->output[j] || !sp->output[j][0])
                continue;
            for (int k = 0; k < sc.n; k++)
                if (!strcmp(sc.names[k], sp->output[j])) {
                    st = e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" (%s): output \"%s\" "
                                  "is already defined", L->name, n->name, n->op_type, sp->output[j]);
                    goto done;
                }
            if ((n->out[j] = add_branch_value(L, &sc, ifname, tag, sp->output[j], &st)) < 0)
                goto done;
        }
    }
    for (size_t i = 0; i < sg->n_node; i++) {
        const Onnx__NodeProto *sp = sg->node[i];
        e2e_node *n = &g->nodes[first + (int)i];
        for (size_t j = 0; j < sp->n_input; j++) {
            n->in[j] = sp->input[j] && sp->input[j][0] ? scope_find(L, &sc, sp->input[j]) : -1;
            if (n->in[j] < 0 && sp->input[j] && sp->input[j][0]) {
                st = e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" (%s): input \"%s\" is not "
                              "defined anywhere", L->name, n->name, n->op_type, sp->input[j]);
                goto done;
            }
        }
    }
    for (size_t i = 0; i < sg->n_output; i++) {
        const Onnx__ValueInfoProto *vi = sg->output[i];
        int id = vi->name ? scope_find(L, &sc, vi->name) : -1;
        if (id < 0) {
            st = e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" (If): %s output \"%s\" is not "
                          "produced", L->name, ifname, which, vi->name ? vi->name : "");
            goto done;
        }
        if (g->values[id].initializer < 0 && g->values[id].dtype == E2E_UNDEFINED)
            read_type(vi, &g->values[id]);
        (*outs)[(*n_outs)++] = id;
    }
    for (size_t i = 0; i < sg->n_node && !st; i++)
        if (if_branch(sg->node[i], "then_branch") || if_branch(sg->node[i], "else_branch"))
            st = inline_if(L, first + (int)i, sg->node[i], gate + 1, &sc);
done:
    free(sc.names);
    free(sc.ids);
    return st;
}

/* Inlines both branches of If node if_idx (its input must be resolved) and rewrites its
   inputs to [cond, then outputs..., else outputs...]. */
static e2e_status inline_if(loader *L, int if_idx, const Onnx__NodeProto *np, int parent,
                            const scope *up)
{
    int *outs[2] = {NULL, NULL}, nouts[2] = {0, 0};
    e2e_status st = E2E_OK;
    for (int b = 0; b < 2 && !st; b++)
        st = inline_branch(L, if_idx, np, b == 0, parent, up, &outs[b], &nouts[b]);
    e2e_node *n = &L->m->graph.nodes[if_idx];
    if (!st && (nouts[0] != n->n_out || nouts[1] != n->n_out))
        st = e2e_fail(L->err, E2E_ERR_INVALID, "%s: node \"%s\" (If) has %d outputs, its "
                      "then_branch %d and its else_branch %d", L->name, n->name, n->n_out,
                      nouts[0], nouts[1]);
    if (!st) {
        int *in = malloc(sizeof(int) * (size_t)(2 * n->n_out + 2));
        if (!in) {
            st = e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
        } else {
            in[0] = n->in[0];
            for (int j = 0; j < n->n_out; j++) {
                in[1 + j] = outs[0][j];
                in[1 + n->n_out + j] = outs[1][j];
            }
            free(n->in);
            n->in = in;
            n->n_in = 1 + 2 * n->n_out;
        }
    }
    free(outs[0]);
    free(outs[1]);
    return st;
}

static e2e_status convert(loader *L, const Onnx__ModelProto *mp)
{
    e2e_model *m = L->m;
    e2e_graph *g = &m->graph;
    const Onnx__GraphProto *gp = mp->graph;
    e2e_status st = E2E_OK;
    if (!gp)
        return e2e_fail(L->err, E2E_ERR_PARSE, "%s: the model has no graph", L->name);
    m->ir_version = mp->ir_version;
    m->producer = e2e_strdup(mp->producer_name ? mp->producer_name : "");
    m->opset = mp->n_opset_import ? 0 : 1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx"))
            m->opset = (int)o->version;
    }
    if (m->opset <= 0)
        return e2e_fail(L->err, E2E_ERR_INVALID, "%s: no default-domain opset import", L->name);

    size_t nv = gp->n_input + gp->n_initializer + 1;
    for (size_t i = 0; i < gp->n_node; i++)
        nv += gp->node[i]->n_output;
    size_t x_nodes = 0, x_inits = 0, x_gates = 0;
    count_branches(gp, 0, &x_nodes, &nv, &x_inits, &x_gates);
    if (nv > (1u << 24))
        return e2e_fail(L->err, E2E_ERR_LIMIT, "%s: too many values (%zu)", L->name, nv);
    L->cap_values = (int)nv;
    L->map.cap = 16;
    while (L->map.cap < 2 * L->cap_values)
        L->map.cap *= 2;
    L->map.slot = malloc(sizeof(int) * (size_t)L->map.cap);
    g->values = calloc(nv, sizeof(e2e_value_decl));
    g->inits = calloc(gp->n_initializer + x_inits + 1, sizeof(e2e_tensor));
    g->nodes = calloc(gp->n_node + x_nodes + 1, sizeof(e2e_node));
    g->gates = calloc(x_gates + 1, sizeof(e2e_gate));
    g->inputs = calloc(gp->n_input + 1, sizeof(int));
    g->outputs = calloc(gp->n_output + 1, sizeof(int));
    if (!L->map.slot || !g->values || !g->inits || !g->nodes || !g->inputs || !g->outputs ||
        !g->gates)
        return e2e_fail(L->err, E2E_ERR_NOMEM, "%s: out of memory", L->name);
    for (int i = 0; i < L->map.cap; i++)
        L->map.slot[i] = -1;

    /* initializers first, so graph inputs that repeat them (IR < 4) are recognised */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !tp->name[0])
            return e2e_fail(L->err, E2E_ERR_INVALID, "%s: initializer %zu has no name", L->name, i);
        char what[512];
        snprintf(what, sizeof what, "%s: initializer \"%s\"", L->name, tp->name);
        if ((st = e2e_tensor_take_proto(tp, L->base_dir, what, &g->inits[g->n_inits], L->err)))
            return st;
        int id = add_value(L, tp->name, 0, &st);
        if (id < 0) {
            e2e_tensor_clear(&g->inits[g->n_inits]); /* not counted in n_inits yet */
            return st;
        }
        g->values[id].initializer = g->n_inits++;
        g->values[id].dtype = g->inits[g->values[id].initializer].dtype;
        g->values[id].shape = g->inits[g->values[id].initializer].shape;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0])
            return e2e_fail(L->err, E2E_ERR_INVALID, "%s: graph input %zu has no name", L->name, i);
        int id = map_find(&L->map, g, vi->name);
        if (id >= 0 && g->values[id].initializer >= 0)
            continue; /* an initializer listed as input: a constant with a default */
        if (id >= 0)
            return e2e_fail(L->err, E2E_ERR_INVALID, "%s: graph input \"%s\" is listed twice", L->name,
                            vi->name);
        id = add_value(L, vi->name, 0, &st);
        if (id < 0)
            return st;
        read_type(vi, &g->values[id]);
        if (g->values[id].dtype == E2E_UNDEFINED || e2e_dtype_size(g->values[id].dtype) == 0)
            return e2e_fail(L->err, E2E_ERR_UNSUPPORTED, "%s: graph input \"%s\" has an unsupported type",
                            L->name, vi->name);
        if (g->values[id].shape.rank < 0)
            return e2e_fail(L->err, E2E_ERR_INVALID, "%s: graph input \"%s\" has no shape", L->name,
                            vi->name);
        g->inputs[g->n_inputs++] = id;
    }
    /* nodes: outputs become values; inputs are resolved after all outputs are known */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        e2e_node *n = &g->nodes[g->n_nodes++];
        char defname[64];
        snprintf(defname, sizeof defname, "%s_%zu", np->op_type ? np->op_type : "node", i);
        if ((st = node_from_proto(L, np, np->name && np->name[0] ? np->name : defname, n)))
            return st;
        for (size_t j = 0; j < np->n_output; j++) {
            if (!np->output[j] || !np->output[j][0]) {
                n->out[j] = -1; /* optional output not wanted */
                continue;
            }
            int id = map_find(&L->map, g, np->output[j]);
            if (id >= 0)
                return e2e_fail(L->err, E2E_ERR_INVALID,
                                "%s: node \"%s\" (%s): output \"%s\" is already defined", L->name,
                                n->name, n->op_type, np->output[j]);
            id = add_value(L, np->output[j], 0, &st);
            if (id < 0)
                return st;
            n->out[j] = id;
        }
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        e2e_node *n = &g->nodes[i];
        for (size_t j = 0; j < np->n_input; j++) {
            if (!np->input[j] || !np->input[j][0]) {
                n->in[j] = -1;
                continue;
            }
            int id = map_find(&L->map, g, np->input[j]);
            if (id < 0)
                return e2e_fail(L->err, E2E_ERR_INVALID,
                                "%s: node \"%s\" (%s): input \"%s\" is not defined anywhere", L->name,
                                n->name, n->op_type, np->input[j]);
            n->in[j] = id;
        }
    }
    for (size_t i = 0; i < gp->n_node; i++)
        if (if_branch(gp->node[i], "then_branch") || if_branch(gp->node[i], "else_branch"))
            if ((st = inline_if(L, (int)i, gp->node[i], 0, NULL)))
                return st;
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int id = vi->name ? map_find(&L->map, g, vi->name) : -1;
        if (id >= 0 && g->values[id].initializer < 0)
            read_type(vi, &g->values[id]);
    }
    if (!gp->n_output)
        return e2e_fail(L->err, E2E_ERR_INVALID, "%s: the graph has no outputs", L->name);
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int id = vi->name ? map_find(&L->map, g, vi->name) : -1;
        if (id < 0)
            return e2e_fail(L->err, E2E_ERR_INVALID, "%s: graph output \"%s\" is not produced", L->name,
                            vi->name ? vi->name : "");
        if (g->values[id].initializer < 0)
            read_type(vi, &g->values[id]);
        g->outputs[g->n_outputs++] = id;
    }
    /* whether every node has a kernel is the engine's question (e2e_model_check_support) */
    return topo_sort(L);
}

void e2e_model_free(e2e_model *m)
{
    if (!m)
        return;
    e2e_graph_clear(&m->graph);
    e2e_pack_cache_free(m->packs);
    free(m->name);
    free(m->producer);
    free(m);
}

/* protobuf-c's allocator for the model. Blocks of 4 KB and more (the weights' raw_data, which
   e2e_tensor_take_proto takes over) are 64-byte aligned, carved from the load's weight region
   while it has room, else from e2e_aligned_alloc_uninit; smaller ones (the messages, names,
   dims), freed with the message right after the load, from a scratch region, else malloc.
   All are freed with e2e_aligned_free. Both regions are huge pages (core/region.h): a ViT's
   messages alone took ~120 first touches of 4 KB heap pages. With malloc's 16-byte alignment
   a weight's address mod 64 followed the heap's history, and the few-row product, which
   starts its rows on a cache line, summed in another order: the same model gave other output
   bits in a process that had written it first. */
typedef struct pb_regions {
    e2e_region *weights, *scratch;
} pb_regions;

static void *pb_alloc(void *ctx, size_t size)
{
    pb_regions *r = ctx;
    void *p = e2e_region_alloc(size < 4096 ? r->scratch : r->weights, size);
    if (p)
        return p;
    return size < 4096 ? malloc(size) : e2e_aligned_alloc_uninit(size);
}

static void pb_free(void *ctx, void *p)
{
    (void)ctx;
    e2e_aligned_free(p);
}

/* The scratch region for the messages is address space: only the 2 MB pages it touches cost
   (one for a trained tagger's). */
#define SCRATCH_BYTES ((size_t)16 << 20)

static e2e_status load(const void *data, size_t size, const char *name, const char *base_dir,
                       e2e_model **out, e2e_error *err)
{
    *out = NULL;
    if (!data && size)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: no data", name);
    /* The bytes fields of 4 KB and more fit in the file's size plus their alignment (each
       holds at most its bytes in the file, and there are at most size / 4096 of them); a
       region that is too small (packed int64 fields) only sends the rest to the heap. Pages
       of it nobody touches cost nothing. NULL (no mapping, or E2E_HUGEPAGES=0): the heap. */
    pb_regions reg = {size >= 4096 ? e2e_region_create(size + size / 64 + 64) : NULL,
                      e2e_region_create(SCRATCH_BYTES)};
    ProtobufCAllocator pa = {.alloc = pb_alloc, .free = pb_free, .allocator_data = &reg};
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&pa, size, data);
    e2e_region_release(reg.scratch); /* the message's blocks keep it until it is freed */
    if (!mp) {
        e2e_region_release(reg.weights);
        return e2e_fail(err, E2E_ERR_PARSE,
                        "%s: not an ONNX model (protobuf decoding failed: truncated or not ONNX)", name);
    }
    e2e_model *m = calloc(1, sizeof *m);
    if (!m) {
        onnx__model_proto__free_unpacked(mp, &pa);
        e2e_region_release(reg.weights);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", name);
    }
    m->name = e2e_strdup(name);
    m->packs = e2e_pack_cache_create(); /* NULL is allowed: sessions then pack on their own */
    loader L = {.name = name, .base_dir = base_dir, .m = m, .err = err};
    e2e_region_scope_open(reg.weights); /* the small initializers beside the large ones */
    e2e_status st = convert(&L, mp);
    e2e_region_scope_close();
    free(L.map.slot);
    onnx__model_proto__free_unpacked(mp, &pa);
    e2e_region_release(reg.weights); /* the weights taken from it keep it */
    if (st) {
        e2e_model_free(m);
        return st;
    }
    *out = m;
    return E2E_OK;
}

e2e_status e2e_model_load_buffer(const void *data, size_t size, const char *name, e2e_model **out,
                                 e2e_error *err)
{
    if (!out)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "e2e_model_load_buffer: out is NULL");
    char dir[PATH_MAX];
    const char *base = NULL;
    if (name) {
        snprintf(dir, sizeof dir, "%s", name);
        base = dirname(dir);
    }
    return load(data, size, name ? name : "<memory>", base, out, err);
}

e2e_status e2e_model_load_file_ex(const char *path, const e2e_model_options *opt, e2e_model **out,
                                  e2e_error *err)
{
    if (!out || !path)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "e2e_model_load_file: NULL argument");
    *out = NULL;
    void *buf;
    size_t size;
    e2e_status st = e2e_file_read_aligned(path, opt ? opt->max_model_bytes : 0, &buf, &size, err);
    if (st)
        return st;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    st = load(buf, size, path, dirname(dir), out, err);
    e2e_aligned_free(buf);
    return st;
}

e2e_status e2e_model_load_file(const char *path, e2e_model **out, e2e_error *err)
{
    return e2e_model_load_file_ex(path, NULL, out, err);
}

/* ---- model queries ---- */

const char *e2e_model_name(const e2e_model *m) { return m->name; }
int e2e_model_input_count(const e2e_model *m) { return m->graph.n_inputs; }
int e2e_model_output_count(const e2e_model *m) { return m->graph.n_outputs; }
int e2e_model_opset(const e2e_model *m) { return m->opset; }

static void decl_view(const e2e_value_decl *d, e2e_tensor_view *v)
{
    memset(v, 0, sizeof *v);
    v->name = d->name;
    v->dtype = d->dtype;
    v->rank = d->shape.rank;
    for (int i = 0; i < d->shape.rank; i++)
        v->dims[i] = d->shape.dims[i];
}

e2e_status e2e_model_input(const e2e_model *m, int i, e2e_tensor_view *v)
{
    if (i < 0 || i >= m->graph.n_inputs)
        return E2E_ERR_ARGUMENT;
    decl_view(&m->graph.values[m->graph.inputs[i]], v);
    return E2E_OK;
}

e2e_status e2e_model_output(const e2e_model *m, int i, e2e_tensor_view *v)
{
    if (i < 0 || i >= m->graph.n_outputs)
        return E2E_ERR_ARGUMENT;
    decl_view(&m->graph.values[m->graph.outputs[i]], v);
    return E2E_OK;
}

int64_t e2e_model_parameter_count(const e2e_model *m)
{
    int64_t n = 0;
    for (int i = 0; i < m->graph.n_inits; i++)
        if (m->graph.inits[i].dtype == E2E_FLOAT)
            n += e2e_shape_numel(&m->graph.inits[i].shape);
    return n;
}
