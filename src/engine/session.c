/* Sessions: bind input shapes, prepare every node in order (shape inference), fold
   constant subgraphs, fuse activations, alias reshapes, plan one arena, run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "ops/blas.h"
#include "ops/cpu_isa.h"
#include "engine/backend.h"
#include "engine/passes/passes.h"
#include "engine/plan.h"
#include "engine/session.h"
#include "core/region.h"

e2e_session_options e2e_session_options_default(void)
{
    e2e_session_options o;
    memset(&o, 0, sizeof o);
    o.threads = 1;
    o.device = E2E_DEVICE_CPU;
    o.default_batch = 1;
    o.optimize = 1;
    return o;
}

size_t e2e_session_options_size(void) { return sizeof(e2e_session_options); }

/* ---- the device backend (engine/backend.h) ---- */

static void device_free(e2e_session *s)
{
#ifdef E2E_HAVE_CUDA
    e2e_cuda_free(s->cuda);
#endif
    s->cuda = NULL;
}

/* The backend mirrors the CPU plan just built (a session is CUDA only in a CUDA build). */
static e2e_status device_init(e2e_session *s, e2e_error *err)
{
    device_free(s);
#ifdef E2E_HAVE_CUDA
    const e2e_plan_view plan = {
        .model_name = s->model->name, .graph = &s->model->graph, .n_values = s->n_values,
        .values = s->values, .root = s->root, .offset = s->offset, .n_kernels = s->n_kernels,
        .kernels = s->kernels, .arena = s->arena, .arena_bytes = s->arena_bytes,
        .max_bytes = s->opt.max_arena_bytes};
    return e2e_cuda_init(&plan, &s->cuda, err);
#else
    return e2e_fail(err, E2E_ERR_DEVICE, "%s: this build has no CUDA backend", s->model->name);
#endif
}

/* ---- teardown ---- */

static void release_build(e2e_session *s)
{
    if (s->sub) {
        for (int64_t b = 1; b < s->batch; b++)
            e2e_session_free(s->sub[b - 1]);
        free(s->sub);
        s->sub = NULL;
    }
    s->last = s;
    if (s->borrowed) /* a sub of an any_batch session: the parent's arena and workspace */
        s->arena = s->ws = NULL;
    for (int i = 0; i < s->n_kernels; i++)
        if (s->kernels[i].op && s->kernels[i].op->release && s->kernels[i].priv)
            s->kernels[i].op->release(s->kernels[i].priv);
    free(s->kernels);
    free(s->ptrs);
    e2e_fuse_release(s);
    if (s->owned)
        for (int i = 0; i < s->n_values; i++)
            e2e_aligned_free(s->owned[i]);
    free(s->owned);
    free(s->deferred);
    free(s->values);
    free(s->root);
    free(s->offset);
    e2e_aligned_free(s->arena);
    e2e_aligned_free(s->ws);
    s->kernels = NULL;
    s->ptrs = NULL;
    s->owned = NULL;
    s->deferred = NULL;
    s->values = NULL;
    s->root = NULL;
    s->offset = NULL;
    s->arena = s->ws = NULL;
    s->n_kernels = 0;
    s->arena_bytes = s->ws_bytes = 0;
    s->n_folded = s->n_fused = s->n_aliased = 0;
    s->folded_bytes = 0;
}

void e2e_session_free(e2e_session *s)
{
    if (!s)
        return;
    device_free(s);
    release_build(s);
    if (!s->pool_borrowed)
        e2e_pool_free(s->pool);
    free(s->bindings);
    free(s->binding_dims);
    for (int i = 0; i < s->n_fixed; i++)
        e2e_tensor_clear(&s->fixed[i]);
    free(s->fixed);
    free(s);
}

/* ---- input binding ---- */

static e2e_status bind_inputs(e2e_session *s, e2e_error *err)
{
    const e2e_model *m = s->model;
    const e2e_graph *g = &m->graph;
    for (int i = 0; i < g->n_inputs; i++) {
        int id = g->inputs[i];
        const e2e_value_decl *d = &g->values[id];
        e2e_value *v = &s->values[id];
        v->dtype = d->dtype;
        v->shape = d->shape;
        v->is_input = true;
        const e2e_shape_binding *b = NULL;
        for (int j = 0; j < s->opt.n_shapes; j++)
            if (s->opt.shapes[j].name && !strcmp(s->opt.shapes[j].name, d->name))
                b = &s->opt.shapes[j];
        const e2e_tensor *fx = NULL;
        for (int j = 0; j < s->n_fixed; j++)
            if (!strcmp(s->fixed[j].name, d->name))
                fx = &s->fixed[j];
        const e2e_shape *want = fx ? &fx->shape : NULL;
        e2e_shape bs;
        if (b) {
            if (b->rank < 0 || b->rank > E2E_MAX_RANK)
                return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: input \"%s\": bound rank %d is invalid",
                                m->name, d->name, b->rank);
            bs.rank = b->rank;
            for (int k = 0; k < b->rank; k++)
                bs.dims[k] = b->dims[k];
            want = &bs;
        }
        if (want) {
            if (want->rank != d->shape.rank)
                return e2e_fail(err, E2E_ERR_SHAPE, "%s: input \"%s\" has rank %d, bound with rank %d",
                                m->name, d->name, d->shape.rank, want->rank);
            for (int k = 0; k < want->rank; k++) {
                if (want->dims[k] < 0)
                    return e2e_fail(err, E2E_ERR_SHAPE, "%s: input \"%s\": bound dim %d is negative",
                                    m->name, d->name, k);
                if (d->shape.dims[k] >= 0 && d->shape.dims[k] != want->dims[k])
                    return e2e_fail(err, E2E_ERR_SHAPE,
                                    "%s: input \"%s\": dim %d is fixed at %lld, bound to %lld", m->name,
                                    d->name, k, (long long)d->shape.dims[k], (long long)want->dims[k]);
            }
            v->shape = *want;
        } else {
            for (int k = 0; k < v->shape.rank; k++)
                if (v->shape.dims[k] < 0)
                    v->shape.dims[k] = s->opt.default_batch > 0 ? s->opt.default_batch : 1;
        }
        v->numel = e2e_shape_numel(&v->shape);
        if (v->numel < 0)
            return e2e_fail(err, E2E_ERR_SHAPE, "%s: input \"%s\": shape too large", m->name, d->name);
        if (fx) {
            if (fx->dtype != d->dtype)
                return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: fixed input \"%s\" is %s, the model wants %s",
                                m->name, d->name, e2e_dtype_name(fx->dtype), e2e_dtype_name(d->dtype));
            if (!e2e_shape_equal(&fx->shape, &v->shape))
                return e2e_fail(err, E2E_ERR_SHAPE, "%s: fixed input \"%s\" does not match its bound shape",
                                m->name, d->name);
            v->data = fx->data;
            v->is_const = true;
            v->is_input = false;
        }
    }
    return E2E_OK;
}

/* ---- build: prepare, fold, fuse, alias, plan ---- */

void e2e_kernel_remove(e2e_kernel *k)
{
    if (k->op && k->op->release && k->priv)
        k->op->release(k->priv);
    k->priv = NULL;
    k->op = NULL;
}

/* Whether the If branch holding a node runs: 1 always (no gate, or every condition on its
   chain is constant and chooses it), 0 never (a constant condition chooses the other
   branch), -1 decided at each run. */
static int gate_state(const e2e_session *s, int gate)
{
    const e2e_graph *g = &s->model->graph;
    int state = 1;
    for (; gate > 0; gate = g->gates[gate - 1].parent) {
        const e2e_gate *gt = &g->gates[gate - 1];
        const e2e_value *c = &s->values[gt->cond];
        if (!c->is_const || c->dtype != E2E_BOOL || c->numel != 1)
            state = -1; /* the If kernel reports a malformed condition */
        else if ((*(const uint8_t *)c->data != 0) != gt->then)
            return 0;
    }
    return state;
}

bool e2e_session_gate_open(const e2e_session *s, int gate)
{
    const e2e_gate *gt = &s->model->graph.gates[gate - 1];
    if (gt->parent && !e2e_session_gate_open(s, gt->parent))
        return false;
    return (*(const uint8_t *)s->values[gt->cond].data != 0) == gt->then;
}

/* Constant folding: runs prepared kernel k once into blocks of its own (s->owned) and marks
   its outputs constant; the caller releases k's state. */
static e2e_status fold_kernel(e2e_session *s, e2e_kernel *k)
{
    e2e_error *err = k->err;
    e2e_status st;
    /* folded constants count against the arena limit too */
    size_t fold_bytes = k->ws_size;
    for (int j = 0; j < k->n_out; j++)
        if (k->out[j])
            fold_bytes += (size_t)k->out[j]->numel * e2e_dtype_size(k->out[j]->dtype);
    s->folded_bytes += fold_bytes;
    if (s->opt.max_arena_bytes && s->folded_bytes > s->opt.max_arena_bytes)
        return e2e_kfail(k, E2E_ERR_LIMIT, "folding constants needs %zu bytes, above the limit of %zu",
                         s->folded_bytes, s->opt.max_arena_bytes);
    void *ws = k->ws_size ? e2e_aligned_alloc(k->ws_size) : NULL;
    st = E2E_OK;
    for (int j = 0; j < k->n_out && !st; j++) {
        e2e_value *o = k->out[j];
        if (!o)
            continue;
        size_t nb = (size_t)o->numel * e2e_dtype_size(o->dtype);
        int id = (int)(o - s->values);
        s->owned[id] = e2e_aligned_alloc(nb);
        if (!s->owned[id])
            st = e2e_kfail(k, E2E_ERR_NOMEM, "cannot allocate %zu bytes to fold", nb);
        o->data = s->owned[id];
    }
    if (!st && k->ws_size && !ws)
        st = e2e_kfail(k, E2E_ERR_NOMEM, "cannot allocate workspace");
    if (!st) {
        k->ws = ws;
        err->message[0] = 0;
        st = k->op->run(k);
        if (st && !err->message[0])
            e2e_kfail(k, st, "failed while folding constants");
    }
    k->ws = NULL;
    e2e_aligned_free(ws);
    if (st)
        return st;
    for (int j = 0; j < k->n_out; j++)
        if (k->out[j])
            k->out[j]->is_const = true;
    s->n_folded++;
    return E2E_OK;
}

/* Whether the constant DequantizeLinear k (node n) is left unfolded for the QDQ pass
   (fuse_qdq.c): its float copy of an int8 weight (four times the weight's bytes) would be
   written, packed by the Conv/Gemm/MatMul reading it and never read once the pass hands that
   operator's integers to QLinearConv/QLinearMatMul. Only when every reader in the graph is a
   Conv, Gemm or MatMul taking it as weight or bias (never as input 0, so the reader is not
   folded), in a CPU session that runs the optimizing passes; what the pass does not take is
   folded by e2e_session_fold_deferred, and its readers prepared again, as if never deferred. */
static bool defer_dq(const e2e_session *s, const e2e_node *n, const e2e_kernel *k)
{
    const e2e_graph *g = &s->model->graph;
    if (!s->opt.optimize || s->device != E2E_DEVICE_CPU || n->gate || n->domain[0] ||
        strcmp(n->op_type, "DequantizeLinear") || k->n_out != 1 || !k->out[0] ||
        k->out[0]->dtype != E2E_FLOAT)
        return false;
    int v = n->out[0], readers = 0;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v)
            return false;
    for (int i = 0; i < g->n_nodes; i++) {
        const e2e_node *r = &g->nodes[i];
        for (int j = 0; j < r->n_in; j++) {
            if (r->in[j] != v)
                continue;
            if (j == 0 || r->domain[0] || r->gate ||
                (strcmp(r->op_type, "Conv") && strcmp(r->op_type, "Gemm") && strcmp(r->op_type, "MatMul")))
                return false;
            readers++;
        }
    }
    return readers > 0;
}

/* Folds the deferred DequantizeLinear producing value v (defer_dq) and takes its kernel out. */
static e2e_status fold_deferred(e2e_session *s, int v)
{
    e2e_kernel *k = &s->kernels[s->deferred[v] - 1];
    s->deferred[v] = 0;
    e2e_status st = fold_kernel(s, k);
    e2e_kernel_remove(k);
    return st;
}

/* Prepares one kernel for node n with op over the given value ids, and folds it when its
   inputs (or, for Shape/Size, its outputs) are constant. */
static e2e_status add_kernel(e2e_session *s, const e2e_node *n, const e2e_op_def *op,
                             const int *in_ids, int n_in, const int *out_ids, int n_out, int gate,
                             e2e_value ***pp, int *nk, e2e_error *err)
{
    const e2e_model *m = s->model;
    e2e_status st;
    e2e_kernel *k = &s->kernels[*nk];
    memset(k, 0, sizeof *k);
    k->node = n;
    k->op = op;
    k->ctx = &s->kctx;
    k->opset = m->opset;
    k->err = err;
    k->gate = gate;
    k->n_in = n_in;
    k->n_out = n_out;
    k->in = *pp;
    *pp += n_in;
    k->out = *pp;
    *pp += n_out;
    bool all_const = true;
    for (int j = 0; j < n_in; j++) {
        k->in[j] = in_ids[j] >= 0 ? &s->values[in_ids[j]] : NULL;
        if (k->in[j] && !k->in[j]->is_const)
            all_const = false;
        if (k->in[j] && k->in[j]->dtype == E2E_UNDEFINED)
            return e2e_fail(err, E2E_ERR_INVALID, "%s: node \"%s\" (%s): input %d has no value",
                            m->name, n->name, n->op_type, j);
    }
    for (int j = 0; j < n_out; j++)
        k->out[j] = out_ids[j] >= 0 ? &s->values[out_ids[j]] : NULL;
    /* constant but for deferred DequantizeLinear outputs: fold those now, then this node */
    bool deferred_only = !all_const;
    for (int j = 0; j < n_in && deferred_only; j++)
        if (k->in[j] && !k->in[j]->is_const && !s->deferred[in_ids[j]])
            deferred_only = false;
    for (int j = 0; j < n_in && deferred_only; j++)
        if (k->in[j] && !k->in[j]->is_const && (st = fold_deferred(s, in_ids[j])))
            return st;
    all_const = all_const || deferred_only;
    if (!k->op)
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: node \"%s\": operator %s is not supported",
                        m->name, n->name, n->op_type);
    if (n_out < 1 || out_ids[0] < 0) /* every supported operator's first output is required */
        return e2e_kfail(k, E2E_ERR_INVALID, "its first output is missing");
    err->message[0] = 0;
    st = k->op->prepare(k);
    if (st) {
        if (!err->message[0])
            e2e_kfail(k, st, "preparation failed");
        err->status = st;
        if (k->op->release && k->priv)
            k->op->release(k->priv);
        return st;
    }
    for (int j = 0; j < n_out; j++)
        if (k->out[j] && k->out[j]->dtype == E2E_UNDEFINED) {
            if (k->op->release && k->priv)
                k->op->release(k->priv);
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "output %d was not produced", j);
        }
    /* Shape/Size publish constant outputs at prepare: fold them like constant subgraphs */
    bool outs_const = n_out > 0;
    for (int j = 0; j < n_out; j++)
        if (k->out[j] && !k->out[j]->is_const)
            outs_const = false;
    if ((all_const || outs_const) && !(all_const && defer_dq(s, n, k))) {
        st = fold_kernel(s, k);
        if (k->op->release && k->priv)
            k->op->release(k->priv);
        k->priv = NULL;
        return st;
    }
    if (all_const) /* a weight's DequantizeLinear left for the QDQ pass (defer_dq) */
        s->deferred[out_ids[0]] = *nk + 1;
    s->n_kernels = ++*nk; /* counted now so a later failure releases this kernel's priv */
    return E2E_OK;
}

/* The first pass (passes.c): prepares one kernel per live node in topological order; nodes
   whose inputs are all constant are run now (folded). The nodes of an If branch that a
   constant condition rules out are dropped; an If whose condition is constant becomes one
   Identity per output on the chosen branch's value (aliased or folded later), so no If
   kernel remains. Sets s->gated when a branch is decided at run. */
e2e_status e2e_session_prepare_kernels(e2e_session *s, e2e_error *err)
{
    const e2e_graph *g = &s->model->graph;
    e2e_status st = E2E_OK;
    const e2e_op_def *identity = e2e_op_find("", "Identity");
    e2e_value **p = s->ptrs;
    int nk = 0;
    bool gated = false;
    for (int i = 0; i < g->n_nodes; i++) {
        const e2e_node *n = &g->nodes[i];
        int gs = gate_state(s, n->gate);
        if (gs == 0)
            continue;
        const e2e_op_def *op = e2e_op_find(n->domain, n->op_type);
        if (op && !strcmp(n->op_type, "If") && n->n_in == 1 + 2 * n->n_out && n->in[0] >= 0) {
            const e2e_value *c = &s->values[n->in[0]];
            if (c->is_const && c->dtype == E2E_BOOL && c->numel == 1) {
                int base = *(const uint8_t *)c->data ? 1 : 1 + n->n_out;
                gated |= gs < 0;
                for (int j = 0; j < n->n_out && !st; j++)
                    st = add_kernel(s, n, identity, &n->in[base + j], 1, &n->out[j], 1,
                                    gs < 0 ? n->gate : 0, &p, &nk, err);
                if (st)
                    return st;
                continue;
            }
        }
        if ((st = add_kernel(s, n, op, n->in, n->n_in, n->out, n->n_out, gs < 0 ? n->gate : 0,
                             &p, &nk, err)))
            return st;
        gated |= gs < 0;
    }
    s->n_kernels = nk;
    s->gated = gated;
    return E2E_OK;
}

/* After the QDQ pass (passes.c): a deferred DequantizeLinear (defer_dq) no kernel reads any
   more goes unrun, its float copy never made; one still read is folded now and its readers
   (Conv, Gemm, MatMul, untouched since their preparation) are prepared again on the constant,
   so the session is the one folding at prepare would have made. */
e2e_status e2e_session_fold_deferred(e2e_session *s, e2e_error *err)
{
    e2e_status st = E2E_OK;
    for (int i = 0; i < s->n_kernels && !st; i++) {
        e2e_kernel *k = &s->kernels[i];
        if (!k->op || k->n_out < 1 || !k->out[0] || !s->deferred[k->out[0] - s->values])
            continue;
        const e2e_value *v = k->out[0];
        bool read = false;
        for (int r = i + 1; r < s->n_kernels && !read; r++)
            for (int j = 0; j < s->kernels[r].n_in && s->kernels[r].op; j++)
                read = read || s->kernels[r].in[j] == v;
        if (!read) {
            s->deferred[v - s->values] = 0;
            e2e_kernel_remove(k);
            continue;
        }
        if ((st = fold_deferred(s, (int)(v - s->values))))
            break;
        for (int r = i + 1; r < s->n_kernels && !st; r++) {
            e2e_kernel *rk = &s->kernels[r];
            bool reads = false;
            for (int j = 0; j < rk->n_in && rk->op; j++)
                reads = reads || rk->in[j] == v;
            if (!reads)
                continue;
            if (rk->op->release && rk->priv)
                rk->op->release(rk->priv);
            rk->priv = NULL;
            rk->ws_size = 0;
            err->message[0] = 0;
            if ((st = rk->op->prepare(rk)) && !err->message[0])
                e2e_kfail(rk, st, "preparation failed");
        }
    }
    if (st)
        err->status = st;
    return st;
}

/* Drops the removed kernels (op NULL) from the list (passes.c, after the optimizing passes). */
e2e_status e2e_session_compact(e2e_session *s, e2e_error *err)
{
    int w = 0;
    for (int i = 0; i < s->n_kernels; i++) {
        if (s->kernels[i].op)
            s->kernels[w++] = s->kernels[i];
    }
    s->n_kernels = w;
    const e2e_graph *g = &s->model->graph;
    for (int i = 0; i < g->n_outputs; i++) {
        const e2e_value *v = &s->values[g->outputs[i]];
        if (v->dtype == E2E_UNDEFINED)
            return e2e_fail(err, E2E_ERR_INVALID, "%s: graph output \"%s\" is never computed",
                            s->model->name, g->values[g->outputs[i]].name);
    }
    return E2E_OK;
}

/* The session's values (initializers bound, inputs bound), the kernel array, then the
   pipeline of passes.c in its order: prepare + fold, the optimizing passes, compaction, the
   memory plan. */
static e2e_status build(e2e_session *s, e2e_error *err)
{
    const e2e_model *m = s->model;
    const e2e_graph *g = &m->graph;
    e2e_status st;
    s->kctx = (e2e_kernel_ctx){.model_name = m->name,
                               .threads = s->opt.threads,
                               .pool = s->pool,
                               .max_bytes = s->opt.max_arena_bytes,
                               .packs = m->packs,
                               .optimize = s->opt.optimize,
                               .isa = e2e_isa_select(s->opt.isa),
                               .any_batch = s->opt.any_batch || s->borrowed,
                               .precision = s->opt.precision};
    s->n_values = g->n_values;
    s->values = calloc((size_t)g->n_values + 1, sizeof(e2e_value));
    s->owned = calloc((size_t)g->n_values + 1, sizeof(void *));
    s->deferred = calloc((size_t)g->n_values + 1, sizeof(int));
    s->root = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    s->offset = malloc(sizeof(size_t) * ((size_t)g->n_values + 1));
    size_t nptr = 0, n_if_out = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        nptr += (size_t)g->nodes[i].n_in + (size_t)g->nodes[i].n_out;
        if (!strcmp(g->nodes[i].op_type, "If"))
            n_if_out += (size_t)g->nodes[i].n_out; /* one Identity each when folded */
    }
    s->kernels = calloc((size_t)g->n_nodes + n_if_out + 1, sizeof(e2e_kernel));
    s->ptrs = calloc(nptr + 1, sizeof(e2e_value *));
    if (!s->values || !s->owned || !s->deferred || !s->root || !s->offset || !s->kernels || !s->ptrs)
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", m->name);
    for (int i = 0; i < g->n_values; i++) {
        const e2e_value_decl *d = &g->values[i];
        s->root[i] = i;
        s->offset[i] = SIZE_MAX;
        if (d->initializer >= 0) {
            const e2e_tensor *t = &g->inits[d->initializer];
            s->values[i].dtype = t->dtype;
            s->values[i].shape = t->shape;
            s->values[i].numel = e2e_shape_numel(&t->shape);
            s->values[i].data = t->data;
            s->values[i].is_const = true;
            s->values[i].is_model = true;
        }
    }
    if ((st = bind_inputs(s, err)))
        return st;
    for (const e2e_pass *p = e2e_passes; p->name; p++) {
        if (p->optimizing && (!s->opt.optimize || s->gated))
            continue; /* the optimizing passes do not know gates: such sessions keep the plain kernels */
        if ((st = p->run(s, err)))
            return st;
    }
    return E2E_OK;
}

static e2e_status copy_options(e2e_session *s, const e2e_session_options *o, e2e_error *err)
{
    s->opt = *o;
    if (s->opt.threads <= 0)
        s->opt.threads = 1;
    size_t nd = 0;
    for (int i = 0; i < o->n_shapes; i++) {
        if (o->shapes[i].rank < 0 || o->shapes[i].rank > E2E_MAX_RANK)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "shape binding %d has rank %d", i, o->shapes[i].rank);
        nd += (size_t)o->shapes[i].rank;
    }
    s->bindings = calloc((size_t)o->n_shapes + 1, sizeof *s->bindings);
    s->binding_dims = calloc(nd + 1, sizeof(int64_t));
    s->fixed = calloc((size_t)o->n_fixed_inputs + 1, sizeof(e2e_tensor));
    if (!s->bindings || !s->binding_dims || !s->fixed)
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
    int64_t *d = s->binding_dims;
    for (int i = 0; i < o->n_shapes; i++) {
        s->bindings[i] = o->shapes[i];
        memcpy(d, o->shapes[i].dims, sizeof(int64_t) * (size_t)o->shapes[i].rank);
        s->bindings[i].dims = d;
        d += o->shapes[i].rank;
    }
    s->opt.shapes = s->bindings;
    for (int i = 0; i < o->n_fixed_inputs; i++) {
        const e2e_tensor_view *v = &o->fixed_inputs[i];
        e2e_tensor *t = &s->fixed[s->n_fixed++];
        t->name = e2e_strdup(v->name ? v->name : "");
        t->dtype = v->dtype;
        t->shape.rank = v->rank;
        for (int k = 0; k < v->rank && k < E2E_MAX_RANK; k++)
            t->shape.dims[k] = v->dims[k];
        e2e_status st = e2e_tensor_alloc(t, err);
        if (st)
            return st;
        if (t->nbytes)
            memcpy(t->data, v->data, t->nbytes);
    }
    s->opt.fixed_inputs = NULL;
    s->opt.n_fixed_inputs = 0;
    return E2E_OK;
}

static e2e_status session_new(const e2e_model *m, const e2e_session_options *opt,
                              const e2e_session *parent, e2e_session **out, e2e_error *err);

e2e_status e2e_session_create(const e2e_model *m, const e2e_session_options *opt, e2e_session **out,
                              e2e_error *err)
{
    return session_new(m, opt, NULL, out, err);
}

/* The bound batch B (dim 0 of the first input of rank >= 1) and, when any_batch is set and
   B > 1, one plan per b < B bound with dim 0 = b wherever the inputs have B; then one arena
   and one workspace, the largest of all plans', replace each plan's own. */
static e2e_status build_subs(e2e_session *s, e2e_error *err)
{
    const e2e_graph *g = &s->model->graph;
    s->batch = 0;
    s->last = s;
    if (!s->opt.any_batch)
        return E2E_OK;
    if (s->device != E2E_DEVICE_CPU)
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: any_batch sessions run on the CPU only",
                        s->model->name);
    for (int i = 0; i < g->n_inputs && !s->batch; i++) {
        const e2e_value *v = &s->values[g->inputs[i]];
        if (v->is_input && v->shape.rank >= 1)
            s->batch = v->shape.dims[0];
    }
    if (s->batch <= 1)
        return E2E_OK;
    const int64_t B = s->batch;
    s->sub = calloc((size_t)B, sizeof *s->sub);
    e2e_shape_binding *bind = calloc((size_t)g->n_inputs + 1, sizeof *bind);
    int64_t *dims = calloc((size_t)g->n_inputs * E2E_MAX_RANK + 1, sizeof *dims);
    e2e_tensor_view *fx = calloc((size_t)s->n_fixed + 1, sizeof *fx);
    e2e_status st = E2E_OK;
    if (!s->sub || !bind || !dims || !fx)
        st = e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", s->model->name);
    for (int i = 0; i < s->n_fixed && !st; i++) {
        const e2e_tensor *t = &s->fixed[i];
        fx[i].name = t->name;
        fx[i].dtype = t->dtype;
        fx[i].rank = t->shape.rank;
        for (int k = 0; k < t->shape.rank; k++)
            fx[i].dims[k] = t->shape.dims[k];
        fx[i].data = t->data;
    }
    size_t arena = s->arena_bytes, ws = s->ws_bytes;
    for (int64_t b = 1; b < B && !st; b++) {
        int nb = 0;
        for (int i = 0; i < g->n_inputs; i++) {
            const e2e_value *v = &s->values[g->inputs[i]];
            if (!v->is_input)
                continue;
            int64_t *d = dims + (size_t)nb * E2E_MAX_RANK;
            for (int k = 0; k < v->shape.rank; k++)
                d[k] = v->shape.dims[k];
            if (v->shape.rank >= 1 && d[0] == B)
                d[0] = b;
            bind[nb++] = (e2e_shape_binding){g->values[g->inputs[i]].name, v->shape.rank, d};
        }
        e2e_session_options o = s->opt;
        o.any_batch = 0;
        o.shapes = bind;
        o.n_shapes = nb;
        o.fixed_inputs = fx;
        o.n_fixed_inputs = s->n_fixed;
        st = session_new(s->model, &o, s, &s->sub[b - 1], err);
        if (!st) {
            if (s->sub[b - 1]->arena_bytes > arena)
                arena = s->sub[b - 1]->arena_bytes;
            if (s->sub[b - 1]->ws_bytes > ws)
                ws = s->sub[b - 1]->ws_bytes;
        }
    }
    free(bind);
    free(dims);
    free(fx);
    if (st)
        return st;
    if (s->opt.max_arena_bytes && arena + ws > s->opt.max_arena_bytes)
        return e2e_fail(err, E2E_ERR_LIMIT, "%s: the plans for batches 1..%lld need %zu bytes, above "
                        "the limit of %zu", s->model->name, (long long)B, arena + ws,
                        s->opt.max_arena_bytes);
    if (arena > s->arena_bytes || ws > s->ws_bytes) { /* this plan's arena is not the largest */
        void *na = e2e_aligned_alloc(arena), *nw = ws ? e2e_aligned_alloc(ws) : NULL;
        if (!na || (ws && !nw)) {
            e2e_aligned_free(na);
            e2e_aligned_free(nw);
            return e2e_fail(err, E2E_ERR_NOMEM, "%s: cannot allocate the arena (%zu bytes)",
                            s->model->name, arena + ws);
        }
        e2e_aligned_free(s->arena);
        e2e_aligned_free(s->ws);
        s->arena = na;
        s->ws = nw;
        s->arena_bytes = arena;
        s->ws_bytes = ws;
        e2e_plan_bind_arena(s);
    }
    for (int64_t b = 1; b < B; b++) { /* the subs were planned without an arena */
        s->sub[b - 1]->arena = s->arena;
        s->sub[b - 1]->ws = s->ws;
        e2e_plan_bind_arena(s->sub[b - 1]);
    }
    return E2E_OK;
}

/* parent: a sub of an any_batch session, which borrows the parent's pool, arena and
   workspace (planned without an arena of its own). */
static e2e_status session_new(const e2e_model *m, const e2e_session_options *opt,
                              const e2e_session *parent, e2e_session **out, e2e_error *err)
{
    e2e_error local;
    if (!err)
        err = &local;
    err->message[0] = 0;
    err->status = E2E_OK;
    if (!m || !out)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "e2e_session_create: NULL argument");
    *out = NULL;
    e2e_status st0 = parent ? E2E_OK : e2e_model_check_support(m, err);
    if (st0)
        return st0;
    e2e_session_options def = e2e_session_options_default();
    if (!opt)
        opt = &def;
    /* an unknown level is refused, not clamped: a caller whose options struct lacks the field
       (a binding built against an older header) would otherwise run at whatever level the
       bytes past its struct happened to name, different from session to session */
    if ((int)opt->isa < E2E_ISA_AUTO || (int)opt->isa > E2E_ISA_AVX512)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: e2e_session_options.isa is %d, not an e2e_isa_level",
                        m->name, (int)opt->isa);
    if ((int)opt->precision != E2E_PRECISION_FP32 && (int)opt->precision != E2E_PRECISION_BF16)
        return e2e_fail(err, E2E_ERR_ARGUMENT,
                        "%s: e2e_session_options.precision is %d, not an e2e_precision", m->name,
                        (int)opt->precision);
    e2e_device dev = E2E_DEVICE_CPU;
    char why[200] = "";
    if (opt->device == E2E_DEVICE_CUDA || opt->device == E2E_DEVICE_AUTO) {
        if (e2e_cuda_device_count(why, sizeof why) > 0)
            dev = E2E_DEVICE_CUDA;
        else if (opt->device == E2E_DEVICE_CUDA)
            return e2e_fail(err, E2E_ERR_DEVICE, "%s: device cuda: %s", m->name, why);
    }
    e2e_blas_single_thread(); /* OpenBLAS's idle workers spin otherwise */
    e2e_session *s = calloc(1, sizeof *s);
    if (!s)
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
    s->model = m;
    s->device = dev;
    if (opt->device == E2E_DEVICE_AUTO && dev == E2E_DEVICE_CPU)
        snprintf(s->device_note, sizeof s->device_note, "device auto: %s; running on the CPU", why);
    s->last = s;
    s->pool_borrowed = s->borrowed = parent != NULL;
    s->pool = parent ? parent->pool : NULL;
    e2e_status st = copy_options(s, opt, err);
    if (!st && !parent && s->opt.threads > 1 && !(s->pool = e2e_pool_create(s->opt.threads)))
        st = e2e_fail(err, E2E_ERR_NOMEM, "%s: cannot start %d threads", m->name, s->opt.threads);
    e2e_region_scope_open(NULL); /* arena, workspace, folded constants: huge pages */
    if (!st)
        st = build(s, err);
    if (!st && s->device == E2E_DEVICE_CUDA)
        st = device_init(s, err);
    if (!st)
        st = build_subs(s, err);
    e2e_region_scope_close();
    if (st) {
        e2e_session_free(s);
        return st;
    }
    *out = s;
    return E2E_OK;
}

e2e_status e2e_session_reshape(e2e_session *s, const e2e_shape_binding *shapes, int n, e2e_error *err)
{
    e2e_error local;
    if (!err)
        err = &local;
    size_t nd = 0;
    for (int i = 0; i < n; i++) {
        if (shapes[i].rank < 0 || shapes[i].rank > E2E_MAX_RANK)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "shape binding %d has rank %d", i, shapes[i].rank);
        nd += (size_t)shapes[i].rank;
    }
    e2e_shape_binding *b = calloc((size_t)n + 1, sizeof *b);
    int64_t *dims = calloc(nd + 1, sizeof(int64_t));
    if (!b || !dims) {
        free(b);
        free(dims);
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
    }
    int64_t *d = dims;
    for (int i = 0; i < n; i++) {
        b[i] = shapes[i];
        memcpy(d, shapes[i].dims, sizeof(int64_t) * (size_t)shapes[i].rank);
        b[i].dims = d;
        d += shapes[i].rank;
    }
    free(s->bindings);
    free(s->binding_dims);
    s->bindings = b;
    s->binding_dims = dims;
    s->opt.shapes = b;
    s->opt.n_shapes = n;
    device_free(s);
    release_build(s);
    e2e_region_scope_open(NULL);
    e2e_status st = build(s, err);
    if (!st && s->device == E2E_DEVICE_CUDA)
        st = device_init(s, err);
    if (!st)
        st = build_subs(s, err);
    e2e_region_scope_close();
    return st;
}

/* ---- run ---- */

/* The view given for graph input id: by name, else the next unnamed one (*pos). */
static const e2e_tensor_view *match_input(const e2e_session *s, int id,
                                          const e2e_tensor_view *inputs, int n_inputs, int *pos)
{
    const char *name = s->model->graph.values[id].name;
    for (int j = 0; j < n_inputs; j++)
        if (inputs[j].name && !strcmp(inputs[j].name, name))
            return &inputs[j];
    while (*pos < n_inputs && inputs[*pos].name)
        (*pos)++;
    return *pos < n_inputs ? &inputs[(*pos)++] : NULL;
}

static e2e_status run_plan(e2e_session *s, const e2e_tensor_view *inputs, int n_inputs,
                           e2e_error *err);

e2e_status e2e_session_run(e2e_session *s, const e2e_tensor_view *inputs, int n_inputs, e2e_error *err)
{
    e2e_error local;
    if (!err)
        err = &local;
    if (!s || (n_inputs && !inputs))
        return e2e_fail(err, E2E_ERR_ARGUMENT, "e2e_session_run: NULL argument");
    e2e_session *x = s;
    if (s->sub) { /* any_batch: the plan for dim 0 of the first batch-carrying input */
        const e2e_graph *g = &s->model->graph;
        int pos = 0;
        for (int i = 0; i < g->n_inputs; i++) {
            const e2e_value *v = &s->values[g->inputs[i]];
            if (!v->is_input)
                continue;
            const e2e_tensor_view *in = match_input(s, g->inputs[i], inputs, n_inputs, &pos);
            if (in && v->shape.rank >= 1 && v->shape.dims[0] == s->batch && in->rank >= 1) {
                if (in->dims[0] >= 1 && in->dims[0] < s->batch)
                    x = s->sub[in->dims[0] - 1];
                break;
            }
        }
    }
    s->last = x;
    return run_plan(x, inputs, n_inputs, err);
}

static e2e_status run_plan(e2e_session *s, const e2e_tensor_view *inputs, int n_inputs,
                           e2e_error *err)
{
    const e2e_graph *g = &s->model->graph;
    int pos = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        int id = g->inputs[i];
        e2e_value *v = &s->values[id];
        if (!v->is_input)
            continue; /* fixed at creation */
        const char *name = g->values[id].name;
        const e2e_tensor_view *in = match_input(s, id, inputs, n_inputs, &pos);
        if (!in)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: input \"%s\" was not given", s->model->name, name);
        if (in->dtype != v->dtype)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: input \"%s\" is %s, the model wants %s",
                            s->model->name, name, e2e_dtype_name(in->dtype), e2e_dtype_name(v->dtype));
        bool same = in->rank == v->shape.rank;
        for (int k = 0; same && k < in->rank; k++)
            same = in->dims[k] == v->shape.dims[k];
        if (!same) {
            char a[160], b[160];
            e2e_shape got = {.rank = in->rank < 0 || in->rank > E2E_MAX_RANK ? 0 : in->rank};
            for (int k = 0; k < got.rank; k++)
                got.dims[k] = in->dims[k];
            return e2e_fail(err, E2E_ERR_ARGUMENT,
                            "%s: input \"%s\" has shape %s, the session is bound to %s (reshape first)",
                            s->model->name, name, e2e_shape_str(&got, a, sizeof a),
                            e2e_shape_str(&v->shape, b, sizeof b));
        }
        if (!in->data && v->numel)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: input \"%s\" has no data", s->model->name, name);
        v->data = in->data;
    }
#ifdef E2E_HAVE_CUDA
    if (s->device == E2E_DEVICE_CUDA)
        return e2e_cuda_run(s->cuda, err);
#endif
    /* OpenBLAS stays single-threaded: the session's pool splits the products (blas.c) */
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
    for (int i = 0; i < s->n_kernels; i++) {
        e2e_kernel *k = &s->kernels[i];
        if (k->gate && !e2e_session_gate_open(s, k->gate))
            continue; /* in the If branch not taken this run */
        k->ws = s->ws;
        k->err = err;
        e2e_status st = k->op->run(k);
        if (st) {
            if (err->status != st)
                e2e_kfail(k, st, "failed at run time");
            return st;
        }
    }
    return E2E_OK;
}

/* ---- queries ---- */

int e2e_session_input_count(const e2e_session *s) { return s->model->graph.n_inputs; }
int e2e_session_output_count(const e2e_session *s) { return s->model->graph.n_outputs; }
size_t e2e_session_arena_bytes(const e2e_session *s) { return s->arena_bytes; }
size_t e2e_session_workspace_bytes(const e2e_session *s) { return s->ws_bytes; }
int e2e_session_node_count(const e2e_session *s) { return s->n_kernels; }
e2e_device e2e_session_device(const e2e_session *s) { return s->device; }
const char *e2e_session_device_note(const e2e_session *s) { return s->device_note; }

int e2e_cuda_device_count(char *why, size_t n)
{
#ifdef E2E_HAVE_CUDA
    return e2e_cuda_count_devices(why, n);
#else
    if (why && n)
        snprintf(why, n, "this build has no CUDA backend (build with make CUDA=1)");
    return 0;
#endif
}

static void value_view(const e2e_session *s, int id, e2e_tensor_view *v)
{
    const e2e_value *x = &s->values[id];
    memset(v, 0, sizeof *v);
    v->name = s->model->graph.values[id].name;
    v->dtype = x->dtype;
    v->rank = x->shape.rank;
    for (int i = 0; i < x->shape.rank; i++)
        v->dims[i] = x->shape.dims[i];
    v->data = x->data;
}

e2e_status e2e_session_input(const e2e_session *s, int i, e2e_tensor_view *v)
{
    if (i < 0 || i >= s->model->graph.n_inputs)
        return E2E_ERR_ARGUMENT;
    value_view(s, s->model->graph.inputs[i], v);
    v->data = NULL;
    return E2E_OK;
}

e2e_status e2e_session_output(const e2e_session *s, int i, e2e_tensor_view *v)
{
    if (i < 0 || i >= s->model->graph.n_outputs)
        return E2E_ERR_ARGUMENT;
    value_view(s->last ? s->last : s, s->model->graph.outputs[i], v);
    return E2E_OK;
}

e2e_isa_level e2e_session_isa(const e2e_session *s) { return e2e_isa_select(s->opt.isa); }

e2e_precision e2e_session_precision(const e2e_session *s) { return s->opt.precision; }

const char *e2e_precision_name(e2e_precision p) { return p == E2E_PRECISION_BF16 ? "bf16" : "fp32"; }

int64_t e2e_session_batch(const e2e_session *s)
{
    const e2e_session *x = s->last ? s->last : s;
    const e2e_graph *g = &s->model->graph;
    for (int i = 0; i < g->n_inputs; i++) {
        const e2e_value *v = &x->values[g->inputs[i]];
        if (v->is_input && v->shape.rank >= 1)
            return v->shape.dims[0];
    }
    return 1;
}
