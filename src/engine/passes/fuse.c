/* The frame of the pattern passes (passes.h, fuse_internal.h): the pass context (value ->
   producer/consumer index), synthetic nodes and operand arrays owned by the session, building
   and installing a fused kernel, dropping dead kernels, and the driver that tries every
   pattern pass of the table (passes.c) on every kernel. The patterns live one per file
   (fuse_<name>.c).

   A fused kernel takes the list slot of the pattern's last node, so everything it reads is
   computed before it. Each candidate kernel is prepared before the original nodes are
   dropped; if that fails the pattern is left alone. Nodes left without consumers (the
   Transpose/Gather views of q, k, v) are removed at the end. Intermediate values must have
   no consumer outside the pattern and must not be graph outputs. CUDA sessions keep the
   graph as written (their kernels are chosen by operator type). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/passes/passes.h"
#include "engine/passes/fuse_internal.h"

typedef struct fuse_state {
    void **allocs;
    int n, cap;
} fuse_state;

void *e2e_fuse_alloc(e2e_fuse_ctx *c, size_t n)
{
    fuse_state *fs = c->fs;
    if (fs->n == fs->cap) {
        int cap = fs->cap ? 2 * fs->cap : 64;
        void **a = realloc(fs->allocs, sizeof(void *) * (size_t)cap);
        if (!a)
            return NULL;
        fs->allocs = a;
        fs->cap = cap;
    }
    void *p = calloc(1, n ? n : 1);
    if (p)
        fs->allocs[fs->n++] = p;
    return p;
}

static char *fs_strdup(e2e_fuse_ctx *c, const char *str)
{
    size_t n = strlen(str) + 1;
    char *p = e2e_fuse_alloc(c, n);
    if (p)
        memcpy(p, str, n);
    return p;
}

static int vid(const e2e_session *s, const e2e_value *v) { return v ? (int)(v - s->values) : -1; }
int e2e_fuse_value_id(const e2e_fuse_ctx *c, const e2e_value *v) { return vid(c->s, v); }

void e2e_fuse_reindex(e2e_fuse_ctx *c)
{
    e2e_session *s = c->s;
    for (int i = 0; i < s->n_values; i++) {
        c->g.prod[i] = -1;
        c->g.ncons[i] = 0;
        c->g.cons[i] = -1;
        c->g.is_out[i] = false;
    }
    for (int i = 0; i < s->model->graph.n_outputs; i++)
        c->g.is_out[s->model->graph.outputs[i]] = true;
    for (int i = 0; i < s->n_kernels; i++) {
        const e2e_kernel *k = &s->kernels[i];
        if (!k->op)
            continue;
        for (int j = 0; j < k->n_out; j++)
            if (k->out[j])
                c->g.prod[vid(s, k->out[j])] = i;
        for (int j = 0; j < k->n_in; j++)
            if (k->in[j]) {
                int v = vid(s, k->in[j]);
                c->g.ncons[v]++;
                c->g.cons[v] = i;
            }
    }
}

bool e2e_fuse_is_op(const e2e_kernel *k, const char *type)
{
    return k && k->op && !k->node->domain[0] && !strcmp(k->node->op_type, type);
}

e2e_kernel *e2e_fuse_producer(e2e_fuse_ctx *c, const e2e_value *v)
{
    if (!v)
        return NULL;
    int p = c->g.prod[vid(c->s, v)];
    return p < 0 ? NULL : &c->s->kernels[p];
}

e2e_kernel *e2e_fuse_sole_consumer(e2e_fuse_ctx *c, const e2e_value *v)
{
    int id = vid(c->s, v);
    if (!v || c->g.is_out[id] || c->g.ncons[id] != 1)
        return NULL;
    return &c->s->kernels[c->g.cons[id]];
}

bool e2e_fuse_float_temp(const e2e_value *v) { return v && v->dtype == E2E_FLOAT && !v->is_const; }

bool e2e_fuse_const_scalar(const e2e_value *v, float *f)
{
    if (!v || !v->is_const || v->numel != 1 || !v->data)
        return false;
    if (v->dtype != E2E_FLOAT)
        return false;
    *f = *(const float *)v->data;
    return true;
}

bool e2e_fuse_near(float a, double b) { return fabs((double)a - b) <= 1e-6 * fabs(b); }

e2e_value *e2e_fuse_other_input(const e2e_kernel *k, const e2e_value *x)
{
    if (!k || k->n_in != 2 || !k->in[0] || !k->in[1])
        return NULL;
    if (k->in[0] == x && k->in[1] != x)
        return k->in[1];
    if (k->in[1] == x && k->in[0] != x)
        return k->in[0];
    return NULL;
}

e2e_node *e2e_fuse_new_node(e2e_fuse_ctx *c, const e2e_node *like, const char *op_type, const e2e_kernel *k,
                          const e2e_attr *attrs, int n_attrs)
{
    e2e_node *n = e2e_fuse_alloc(c, sizeof *n);
    if (!n || !(n->name = fs_strdup(c, like->name)) || !(n->op_type = fs_strdup(c, op_type)) ||
        !(n->domain = fs_strdup(c, "")))
        return NULL;
    n->n_in = k->n_in;
    n->n_out = k->n_out;
    n->in = e2e_fuse_alloc(c, sizeof(int) * (size_t)(k->n_in + 1));
    n->out = e2e_fuse_alloc(c, sizeof(int) * (size_t)(k->n_out + 1));
    if (!n->in || !n->out)
        return NULL;
    for (int i = 0; i < k->n_in; i++)
        n->in[i] = vid(c->s, k->in[i]);
    for (int i = 0; i < k->n_out; i++)
        n->out[i] = vid(c->s, k->out[i]);
    if (n_attrs) {
        n->attrs = e2e_fuse_alloc(c, sizeof(e2e_attr) * (size_t)n_attrs);
        if (!n->attrs)
            return NULL;
        for (int i = 0; i < n_attrs; i++) {
            n->attrs[i] = attrs[i];
            if (!(n->attrs[i].name = fs_strdup(c, attrs[i].name)))
                return NULL;
        }
        n->n_attrs = n_attrs;
    }
    return n;
}

bool e2e_fuse_make_kernel_attrs(e2e_fuse_ctx *c, const e2e_kernel *like, const e2e_op_def *op,
                                const char *op_type, e2e_value *const *in, int n_in,
                                e2e_value *const *out, int n_out, const e2e_attr *attrs,
                                int n_attrs, void *priv, e2e_kernel *k)
{
    memset(k, 0, sizeof *k);
    k->op = op;
    k->ctx = like->ctx; /* the session's settings, precision included */
    k->opset = like->opset;
    k->err = like->err;
    k->n_in = n_in;
    k->n_out = n_out;
    k->in = e2e_fuse_alloc(c, sizeof(e2e_value *) * (size_t)(n_in + 1));
    k->out = e2e_fuse_alloc(c, sizeof(e2e_value *) * (size_t)(n_out + 1));
    if (!op || !k->in || !k->out) {
        free(priv);
        return false;
    }
    memcpy(k->in, in, sizeof(e2e_value *) * (size_t)n_in);
    memcpy(k->out, out, sizeof(e2e_value *) * (size_t)n_out);
    if (!(k->node = e2e_fuse_new_node(c, like->node, op_type, k, attrs, n_attrs))) {
        free(priv);
        return false;
    }
    k->priv = priv;
    e2e_shape keep[4];
    for (int i = 0; i < n_out && i < 4; i++)
        keep[i] = out[i]->shape;
    e2e_status st = op->prepare(k);
    bool same = true;
    for (int i = 0; i < n_out && i < 4; i++)
        same = same && e2e_shape_equal(&keep[i], &out[i]->shape);
    if (st || !same) {
        for (int i = 0; i < n_out && i < 4; i++) {
            out[i]->shape = keep[i];
            out[i]->numel = e2e_shape_numel(&keep[i]);
        }
        if (op->release && k->priv)
            op->release(k->priv);
        k->priv = NULL;
        c->err->message[0] = 0;
        c->err->status = E2E_OK;
        return false;
    }
    return true;
}

void e2e_fuse_install(e2e_fuse_ctx *c, e2e_kernel *k, e2e_kernel *last, e2e_kernel **drop, int n_drop)
{
    for (int i = 0; i < n_drop; i++)
        if (drop[i] && drop[i] != last)
            e2e_kernel_remove(drop[i]);
    e2e_kernel_remove(last);
    *last = *k;
    c->s->n_fused++;
    e2e_fuse_reindex(c);
}

bool e2e_fuse_make_kernel(e2e_fuse_ctx *c, const e2e_kernel *like, const e2e_op_def *op,
                          const char *op_type, e2e_value *const *in, int n_in,
                          e2e_value *const *out, int n_out, void *priv, e2e_kernel *k)
{
    return e2e_fuse_make_kernel_attrs(c, like, op, op_type, in, n_in, out, n_out, NULL, 0, priv, k);
}

bool e2e_fuse_attr_ints_are(const e2e_kernel *k, const char *name, int n, const int64_t *want, int64_t dflt)
{
    const e2e_attr *a = e2e_node_attr(k->node, name);
    if (!a)
        for (int i = 0; i < n; i++)
            if (want[i] != dflt)
                return false;
    if (!a)
        return true;
    if (a->type != E2E_ATTR_INTS || a->n != n)
        return false;
    for (int i = 0; i < n; i++)
        if (a->ints[i] != want[i])
            return false;
    return true;
}

/* ---------------------------------------------------------------- driver */

/* Removes kernels none of whose outputs is read or is a graph output. */
static void remove_dead(e2e_fuse_ctx *c)
{
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = c->s->n_kernels - 1; i >= 0; i--) {
            e2e_kernel *k = &c->s->kernels[i];
            if (!k->op)
                continue;
            bool used = false;
            for (int j = 0; j < k->n_out && !used; j++)
                if (k->out[j]) {
                    int v = vid(c->s, k->out[j]);
                    used = c->g.is_out[v] || c->g.ncons[v] > 0;
                }
            if (!used) {
                e2e_kernel_remove(k);
                e2e_fuse_reindex(c);
                changed = true;
            }
        }
    }
}

/* The pass context of a CPU session with kernels (index built); false with err set when out
   of memory, or with c->s NULL when there is nothing to do. */
static bool fctx_open(e2e_fuse_ctx *c, e2e_session *s, e2e_error *err)
{
    *c = (e2e_fuse_ctx){NULL, NULL, {NULL, NULL, NULL, NULL}, err};
    if (s->device != E2E_DEVICE_CPU || s->n_kernels == 0)
        return true;
    if (!s->fuse_state && !(s->fuse_state = calloc(1, sizeof(fuse_state)))) {
        e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", s->model->name);
        return false;
    }
    size_t nv = (size_t)s->n_values + 1;
    *c = (e2e_fuse_ctx){s, s->fuse_state, {malloc(sizeof(int) * nv), malloc(sizeof(int) * nv),
                                   malloc(sizeof(int) * nv), malloc(sizeof(bool) * nv)}, err};
    if (!c->g.prod || !c->g.ncons || !c->g.cons || !c->g.is_out) {
        e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", s->model->name);
        return false;
    }
    e2e_fuse_reindex(c);
    return true;
}

static void fctx_close(e2e_fuse_ctx *c)
{
    free(c->g.prod);
    free(c->g.ncons);
    free(c->g.cons);
    free(c->g.is_out);
}

/* The QDQ pattern (fuse_qdq.c) on every kernel, before the other patterns (they run on its
   QLinearConv/QLinearMatMul) and before e2e_session_fold_deferred (session.c), which folds the
   weights' DequantizeLinear it did not take. Dead kernels stay for e2e_fuse_patterns. */
e2e_status e2e_fuse_qdq_all(e2e_session *s, e2e_error *err)
{
    e2e_fuse_ctx c;
    if (!fctx_open(&c, s, err)) {
        fctx_close(&c);
        return err->status;
    }
    if (c.s)
        for (int i = 0; i < s->n_kernels; i++)
            if (s->kernels[i].op)
                e2e_fuse_qdq(&c, &s->kernels[i]);
    fctx_close(&c);
    return E2E_OK;
}

e2e_status e2e_fuse_patterns(e2e_session *s, e2e_error *err)
{
    e2e_fuse_ctx c;
    if (!fctx_open(&c, s, err)) {
        fctx_close(&c);
        return err->status;
    }
    if (c.s) {
        for (const e2e_pattern_pass *p = e2e_pattern_passes; p->name; p++)
            for (int i = 0; i < s->n_kernels; i++)
                if (s->kernels[i].op)
                    p->fuse(&c, &s->kernels[i]);
        remove_dead(&c);
    }
    fctx_close(&c);
    return E2E_OK;
}

e2e_status e2e_fuse_token_select(e2e_session *s, e2e_error *err)
{
    e2e_fuse_ctx c;
    e2e_status st = E2E_OK;
    if (!fctx_open(&c, s, err))
        st = err->status;
    else if (c.s)
        for (int i = 0; i < s->n_kernels; i++)
            if (s->kernels[i].op && (st = e2e_fuse_select_token(&c, &s->kernels[i])))
                break;
    fctx_close(&c);
    return st;
}

void e2e_fuse_release(e2e_session *s)
{
    fuse_state *fs = s->fuse_state;
    if (!fs)
        return;
    for (int i = 0; i < fs->n; i++)
        free(fs->allocs[i]);
    free(fs->allocs);
    free(fs);
    s->fuse_state = NULL;
}
