/* Pattern fusions (see fuse.h), on the prepared kernel list of a CPU session:

   LayerNorm    ReduceMean(x) -> Sub -> Pow 2 | Mul(d, d) -> ReduceMean -> Add eps -> Sqrt -> Div
                -> Mul gamma [-> Add beta]   =>  LayerNormalization(x, gamma, beta)
   GELU         Div(x, sqrt 2) | Mul(x, 1/sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5 (any order
                of the last two, 0.5 also applied to x or to 1 + erf first)  =>  Gelu(x),
                which the session's activation pass then folds into the producing MatMul
   Attention    MatMul(Q, K^T) [-> Mul | Div scalar] [-> Add bias (fuse_attn_bias.c)] ->
                Softmax(last axis) -> MatMul(., V), Q and K^T possibly scaled by constants first
                =>  one Attention kernel (ops/mm_packed.c) that reads Q, K^T and V through
                strided views of the tensors behind the Reshape/Transpose/Gather/Squeeze
                nodes that produced them, and writes through the Transpose/Reshape chain
                that consumed the result
   Patches      Conv(kernel = stride, no padding, group 1) -> Reshape -> Transpose(0, 2, 1) (a
                ViT's patch embedding)  =>  one PatchEmbed kernel: patches times the packed
                weight, written in token order
   ConvPool     Conv [-> Relu | LeakyRelu | Sigmoid] -> MaxPool 2x2, stride 2, no padding,
                dilation 1, floor, no Indices  =>  ConvMaxPool (ops/ops_conv.c): the pooled
                output is written straight from the convolution's registers (when the Conv
                takes the direct or Winograd kernel; otherwise the pattern is left alone)
   EdgeGather   Gather(rows [R, C], indices, axis 0) -> Reshape [M, K, C] -> Add [M, 1, C] ->
                Relu | LeakyRelu [-> ReduceMax axis 1, keepdims 0]  =>  EdgeGatherAdd
                (ops/ops_edgeconv.c; the pass is fuse_edge.c): an EdgeConv's neighbour
                step, without the gathered rows or (with the maximum) the edge tensor
   Pointwise    Conv 1x1 -> Relu -> Conv 1x1 on few channels  =>  PointwiseMLP
                (ops/ops_pointwise.c; the pass is fuse_pointwise.c)
   Bias         MatMul(A, B) -> Add const [N] [-> Add residual of the same shape]
                =>  MatMul with in[2] = bias, in[3] = residual (applied in its epilogue;
                with a constant B the product runs on the packed kernels of mm_packed.c)

   A fused kernel takes the list slot of the pattern's last node, so everything it reads is
   computed before it. Each candidate kernel is prepared before the original nodes are
   dropped; if that fails the pattern is left alone. Nodes left without consumers (the
   Transpose/Gather views of q, k, v) are removed at the end. Intermediate values must have
   no consumer outside the pattern and must not be graph outputs. CUDA sessions keep the
   graph as written (their kernels are chosen by operator type). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/mm_packed.h"
#include "runtime/fuse.h"
#include "runtime/fuse_internal.h"

extern const e2e_op_def e2e_op_conv_maxpool; /* ops/ops_conv.c */

typedef struct fuse_state {
    void **allocs;
    int n, cap;
} fuse_state;

/* value -> producing kernel, consumer count, one consumer; graph outputs */
typedef struct gidx {
    int *prod, *ncons, *cons;
    bool *is_out;
} gidx;

typedef struct fctx {
    e2e_session *s;
    fuse_state *fs;
    gidx g;
    e2e_error *err;
} fctx;

static void *fs_alloc(fctx *c, size_t n)
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

static char *fs_strdup(fctx *c, const char *str)
{
    size_t n = strlen(str) + 1;
    char *p = fs_alloc(c, n);
    if (p)
        memcpy(p, str, n);
    return p;
}

static int vid(const e2e_session *s, const e2e_value *v) { return v ? (int)(v - s->values) : -1; }

static void index_build(fctx *c)
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

static bool is_op(const e2e_kernel *k, const char *type)
{
    return k && k->op && !k->node->domain[0] && !strcmp(k->node->op_type, type);
}

/* The kernel producing v, or NULL. */
static e2e_kernel *producer(fctx *c, const e2e_value *v)
{
    if (!v)
        return NULL;
    int p = c->g.prod[vid(c->s, v)];
    return p < 0 ? NULL : &c->s->kernels[p];
}

/* The only consumer of v when v is a temporary read by exactly one kernel, else NULL. */
static e2e_kernel *sole_consumer(fctx *c, const e2e_value *v)
{
    int id = vid(c->s, v);
    if (!v || c->g.is_out[id] || c->g.ncons[id] != 1)
        return NULL;
    return &c->s->kernels[c->g.cons[id]];
}

static bool float_temp(const e2e_value *v) { return v && v->dtype == E2E_FLOAT && !v->is_const; }

static bool const_scalar(const e2e_value *v, float *f)
{
    if (!v || !v->is_const || v->numel != 1 || !v->data)
        return false;
    if (v->dtype != E2E_FLOAT)
        return false;
    *f = *(const float *)v->data;
    return true;
}

static bool near(float a, double b) { return fabs((double)a - b) <= 1e-6 * fabs(b); }

/* For a binary kernel one of whose inputs is x: the other input, or NULL. */
static e2e_value *other_input(const e2e_kernel *k, const e2e_value *x)
{
    if (!k || k->n_in != 2 || !k->in[0] || !k->in[1])
        return NULL;
    if (k->in[0] == x && k->in[1] != x)
        return k->in[1];
    if (k->in[1] == x && k->in[0] != x)
        return k->in[0];
    return NULL;
}

static void remove_kernel(e2e_kernel *k)
{
    if (k->op && k->op->release && k->priv)
        k->op->release(k->priv);
    k->priv = NULL;
    k->op = NULL;
}

/* A synthetic node for a fused kernel: name taken from `like`, attributes copied in. */
static e2e_node *new_node(fctx *c, const e2e_node *like, const char *op_type, const e2e_kernel *k,
                          const e2e_attr *attrs, int n_attrs)
{
    e2e_node *n = fs_alloc(c, sizeof *n);
    if (!n || !(n->name = fs_strdup(c, like->name)) || !(n->op_type = fs_strdup(c, op_type)) ||
        !(n->domain = fs_strdup(c, "")))
        return NULL;
    n->n_in = k->n_in;
    n->n_out = k->n_out;
    n->in = fs_alloc(c, sizeof(int) * (size_t)(k->n_in + 1));
    n->out = fs_alloc(c, sizeof(int) * (size_t)(k->n_out + 1));
    if (!n->in || !n->out)
        return NULL;
    for (int i = 0; i < k->n_in; i++)
        n->in[i] = vid(c->s, k->in[i]);
    for (int i = 0; i < k->n_out; i++)
        n->out[i] = vid(c->s, k->out[i]);
    if (n_attrs) {
        n->attrs = fs_alloc(c, sizeof(e2e_attr) * (size_t)n_attrs);
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

/* Builds and prepares a kernel for op with the given inputs/outputs, modelled on `like`
   (threads, pool, names). On success *out holds it (not yet in the list); on a failed
   prepare returns false and leaves the session's error clear: the pattern is skipped. */
static bool make_kernel(fctx *c, const e2e_kernel *like, const e2e_op_def *op, const char *op_type,
                        e2e_value *const *in, int n_in, e2e_value *const *out, int n_out,
                        const e2e_attr *attrs, int n_attrs, void *priv, e2e_kernel *k)
{
    memset(k, 0, sizeof *k);
    k->op = op;
    k->model_name = like->model_name;
    k->opset = like->opset;
    k->threads = like->threads;
    k->pool = like->pool;
    k->packs = like->packs;
    k->optimize = like->optimize;
    k->isa = like->isa;
    k->max_bytes = like->max_bytes;
    k->err = like->err;
    k->n_in = n_in;
    k->n_out = n_out;
    k->in = fs_alloc(c, sizeof(e2e_value *) * (size_t)(n_in + 1));
    k->out = fs_alloc(c, sizeof(e2e_value *) * (size_t)(n_out + 1));
    if (!op || !k->in || !k->out) {
        free(priv);
        return false;
    }
    memcpy(k->in, in, sizeof(e2e_value *) * (size_t)n_in);
    memcpy(k->out, out, sizeof(e2e_value *) * (size_t)n_out);
    if (!(k->node = new_node(c, like->node, op_type, k, attrs, n_attrs))) {
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

/* Installs k in the slot of `last` and drops the pattern's other kernels. */
static void install(fctx *c, e2e_kernel *k, e2e_kernel *last, e2e_kernel **drop, int n_drop)
{
    for (int i = 0; i < n_drop; i++)
        if (drop[i] && drop[i] != last)
            remove_kernel(drop[i]);
    remove_kernel(last);
    *last = *k;
    c->s->n_fused++;
    index_build(c);
}

/* the helpers above for the passes in their own files (fuse_internal.h) */
bool e2e_fuse_is_op(const e2e_kernel *k, const char *type) { return is_op(k, type); }
e2e_kernel *e2e_fuse_producer(fctx *c, const e2e_value *v) { return producer(c, v); }
e2e_kernel *e2e_fuse_sole_consumer(fctx *c, const e2e_value *v) { return sole_consumer(c, v); }

bool e2e_fuse_make_kernel(fctx *c, const e2e_kernel *like, const e2e_op_def *op, const char *op_type,
                          e2e_value *const *in, int n_in, e2e_value *const *out, int n_out,
                          void *priv, e2e_kernel *k)
{
    return make_kernel(c, like, op, op_type, in, n_in, out, n_out, NULL, 0, priv, k);
}

void e2e_fuse_install(fctx *c, e2e_kernel *k, e2e_kernel *last, e2e_kernel **drop, int n_drop)
{
    install(c, k, last, drop, n_drop);
}

/* ---------------------------------------------------------------- LayerNorm */

/* Reduced axes of a ReduceMean as the first axis of a trailing block, or -1. */
static int reduce_trailing_axis(const e2e_kernel *k)
{
    const e2e_value *x = k->in[0];
    int r = x->shape.rank;
    const e2e_attr *kd = e2e_node_attr(k->node, "keepdims");
    if (kd && kd->type == E2E_ATTR_INT && kd->i == 0)
        return -1;
    int64_t axes[E2E_MAX_RANK];
    int na = 0;
    const e2e_attr *aa = e2e_node_attr(k->node, "axes");
    if (aa && aa->type == E2E_ATTR_INTS) {
        if (aa->n > E2E_MAX_RANK)
            return -1;
        na = aa->n;
        memcpy(axes, aa->ints, sizeof(int64_t) * (size_t)na);
    } else if (k->n_in > 1 && k->in[1]) {
        const e2e_value *a = k->in[1];
        if (!a->is_const || a->dtype != E2E_INT64 || a->numel > E2E_MAX_RANK || !a->data)
            return -1;
        na = (int)a->numel;
        memcpy(axes, a->data, sizeof(int64_t) * (size_t)na);
    }
    if (na == 0)
        return r > 0 ? 0 : -1;
    bool seen[E2E_MAX_RANK] = {0};
    int lo = r;
    for (int i = 0; i < na; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
        if (a < 0 || a >= r || seen[a])
            return -1;
        seen[a] = true;
        lo = (int)a < lo ? (int)a : lo;
    }
    return na == r - lo ? lo : -1;
}

static bool fuse_layernorm(fctx *c, e2e_kernel *dv)
{
    if (!is_op(dv, "Div") || dv->n_in != 2 || !float_temp(dv->in[0]) || !float_temp(dv->in[1]))
        return false;
    e2e_kernel *sub = producer(c, dv->in[0]), *sq = producer(c, dv->in[1]);
    if (!is_op(sub, "Sub") || !is_op(sq, "Sqrt") || sub->n_in != 2)
        return false;
    e2e_value *x = sub->in[0], *d = sub->out[0];
    e2e_kernel *rm1 = producer(c, sub->in[1]);
    if (!is_op(rm1, "ReduceMean") || rm1->in[0] != x || !float_temp(x) || sole_consumer(c, rm1->out[0]) != sub)
        return false;
    int axis = reduce_trailing_axis(rm1);
    if (axis < 0)
        return false;
    e2e_kernel *ad = producer(c, sq->in[0]);
    if (!is_op(ad, "Add") || sole_consumer(c, sq->in[0]) != sq || sole_consumer(c, sq->out[0]) != dv)
        return false;
    float eps;
    e2e_value *vv = NULL;
    if (const_scalar(ad->in[1], &eps))
        vv = ad->in[0];
    else if (const_scalar(ad->in[0], &eps))
        vv = ad->in[1];
    e2e_kernel *rm2 = producer(c, vv);
    if (!vv || !is_op(rm2, "ReduceMean") || sole_consumer(c, vv) != ad || reduce_trailing_axis(rm2) != axis)
        return false;
    e2e_kernel *pw = producer(c, rm2->in[0]);
    float two;
    if (!pw || sole_consumer(c, rm2->in[0]) != rm2 || pw->n_in != 2)
        return false;
    if (is_op(pw, "Pow")) {
        if (pw->in[0] != d || !const_scalar(pw->in[1], &two) || two != 2.f)
            return false;
    } else if (!is_op(pw, "Mul") || pw->in[0] != d || pw->in[1] != d) {
        return false;
    }
    /* d feeds exactly the square and the Div */
    int did = vid(c->s, d);
    if (c->g.is_out[did] || c->g.ncons[did] != (pw->in[1] == d && pw->in[0] == d ? 3 : 2))
        return false;
    e2e_kernel *mul = sole_consumer(c, dv->out[0]);
    e2e_value *gamma = other_input(mul, dv->out[0]);
    if (!is_op(mul, "Mul") || !gamma || !gamma->is_const || gamma->dtype != E2E_FLOAT)
        return false;
    e2e_kernel *last = mul, *addb = sole_consumer(c, mul->out[0]);
    e2e_value *beta = other_input(addb, mul->out[0]);
    if (is_op(addb, "Add") && beta && beta->is_const && beta->dtype == E2E_FLOAT &&
        e2e_shape_equal(&addb->out[0]->shape, &x->shape))
        last = addb;
    else
        beta = NULL;
    if (!e2e_shape_equal(&last->out[0]->shape, &x->shape))
        return false;
    e2e_attr at[2];
    memset(at, 0, sizeof at);
    at[0].name = "axis";
    at[0].type = E2E_ATTR_INT;
    at[0].i = axis;
    at[1].name = "epsilon";
    at[1].type = E2E_ATTR_FLOAT;
    at[1].f = eps;
    e2e_value *in[3] = {x, gamma, beta};
    e2e_kernel k;
    if (!make_kernel(c, last, e2e_op_find("", "LayerNormalization"), "LayerNormalization", in,
                     beta ? 3 : 2, &last->out[0], 1, at, 2, NULL, &k))
        return false;
    e2e_kernel *drop[] = {rm1, sub, pw, rm2, ad, sq, dv, mul, addb};
    install(c, &k, last, drop, last == addb ? 9 : 8);
    return true;
}

/* ---------------------------------------------------------------- GELU */

static bool mul_by(const e2e_kernel *k, const e2e_value *v, double want)
{
    float f;
    return is_op(k, "Mul") && const_scalar(other_input(k, v), &f) && near(f, want);
}

static bool fuse_gelu(fctx *c, e2e_kernel *erf)
{
    if (!is_op(erf, "Erf") || !float_temp(erf->in[0]))
        return false;
    e2e_kernel *sc = producer(c, erf->in[0]);
    if (!sc || sole_consumer(c, erf->in[0]) != erf || sc->n_in != 2)
        return false;
    e2e_value *x = NULL;
    float f;
    if (is_op(sc, "Div") && const_scalar(sc->in[1], &f) && near(f, 1.4142135623730951))
        x = sc->in[0];
    else if (is_op(sc, "Mul") && const_scalar(sc->in[1], &f) && near(f, 0.7071067811865476))
        x = sc->in[0];
    else if (is_op(sc, "Mul") && const_scalar(sc->in[0], &f) && near(f, 0.7071067811865476))
        x = sc->in[1];
    if (!float_temp(x))
        return false;
    e2e_kernel *add = sole_consumer(c, erf->out[0]);
    if (!is_op(add, "Add") || !const_scalar(other_input(add, erf->out[0]), &f) || f != 1.f)
        return false;
    e2e_value *av = add->out[0];
    e2e_kernel *m1 = sole_consumer(c, av), *m2 = NULL, *half = NULL;
    if (!is_op(m1, "Mul"))
        return false;
    e2e_value *o = other_input(m1, av);
    e2e_kernel *last;
    if (o == x) { /* x (1 + erf) then * 0.5 */
        m2 = sole_consumer(c, m1->out[0]);
        if (!mul_by(m2, m1->out[0], 0.5))
            return false;
        last = m2;
    } else if (o && const_scalar(o, &f) && near(f, 0.5)) { /* 0.5 (1 + erf) then * x */
        m2 = sole_consumer(c, m1->out[0]);
        if (!is_op(m2, "Mul") || other_input(m2, m1->out[0]) != x)
            return false;
        last = m2;
    } else if (o && (half = producer(c, o)) && mul_by(half, x, 0.5) && other_input(half, x) &&
               sole_consumer(c, o) == m1) { /* (0.5 x) (1 + erf) */
        last = m1;
    } else {
        return false;
    }
    if (!e2e_shape_equal(&last->out[0]->shape, &x->shape) || last->out[0]->dtype != E2E_FLOAT)
        return false;
    e2e_kernel k;
    if (!make_kernel(c, last, e2e_op_find("", "Gelu"), "Gelu", &x, 1, &last->out[0], 1, NULL, 0, NULL, &k))
        return false;
    e2e_kernel *drop[] = {sc, erf, add, m1, m2, half};
    install(c, &k, last, drop, 6);
    return true;
}

/* ---------------------------------------------------------------- views */

static void view_contig(e2e_view *v, const e2e_shape *s)
{
    memset(v, 0, sizeof *v);
    v->rank = s->rank;
    int64_t st = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
        v->dims[d] = s->dims[d];
        v->strides[d] = st;
        st *= s->dims[d];
    }
}

/* The view reshaped to ns without copying (numpy's rule), or false. */
static bool view_reshape(e2e_view *v, const e2e_shape *ns)
{
    int64_t od[E2E_MAX_RANK], os[E2E_MAX_RANK], nst[E2E_MAX_RANK];
    int on = 0;
    for (int d = 0; d < v->rank; d++) {
        if (v->dims[d] == 0)
            return false;
        if (v->dims[d] != 1) {
            od[on] = v->dims[d];
            os[on++] = v->strides[d];
        }
    }
    int nn = ns->rank;
    for (int d = 0; d < nn; d++)
        if (ns->dims[d] <= 0)
            return false;
    int oi = 0, oj = 1, ni = 0, nj = 1;
    while (ni < nn && oi < on) {
        int64_t np = ns->dims[ni], op = od[oi];
        while (np != op) {
            if (np < op) {
                if (nj >= nn)
                    return false;
                np *= ns->dims[nj++];
            } else {
                if (oj >= on)
                    return false;
                op *= od[oj++];
            }
        }
        for (int ok = oi; ok < oj - 1; ok++)
            if (os[ok] != od[ok + 1] * os[ok + 1])
                return false;
        nst[nj - 1] = os[oj - 1];
        for (int nk = nj - 1; nk > ni; nk--)
            nst[nk - 1] = nst[nk] * ns->dims[nk];
        ni = nj++;
        oi = oj++;
    }
    if (oi < on)
        return false;
    for (int nk = ni; nk < nn; nk++)
        nst[nk] = 1;
    v->rank = nn;
    for (int d = 0; d < nn; d++) {
        v->dims[d] = ns->dims[d];
        v->strides[d] = nst[d];
    }
    return true;
}

static bool transpose_perm(const e2e_kernel *k, int rank, int *perm)
{
    const e2e_attr *p = e2e_node_attr(k->node, "perm");
    if (!p) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return true;
    }
    if (p->type != E2E_ATTR_INTS || p->n != rank)
        return false;
    for (int i = 0; i < rank; i++) {
        if (p->ints[i] < 0 || p->ints[i] >= rank)
            return false;
        perm[i] = (int)p->ints[i];
    }
    return true;
}

static bool is_reshape_like(const e2e_kernel *k)
{
    return is_op(k, "Reshape") || is_op(k, "Squeeze") || is_op(k, "Unsqueeze") || is_op(k, "Flatten") ||
           is_op(k, "Identity");
}

/* Applies the view node k (input view -> output view). */
static bool view_forward(const e2e_kernel *k, e2e_view *v)
{
    const e2e_value *y = k->out[0];
    if (is_reshape_like(k))
        return view_reshape(v, &y->shape);
    if (is_op(k, "Transpose")) {
        int perm[E2E_MAX_RANK];
        if (!transpose_perm(k, v->rank, perm))
            return false;
        e2e_view w = *v;
        for (int i = 0; i < v->rank; i++) {
            w.dims[i] = v->dims[perm[i]];
            w.strides[i] = v->strides[perm[i]];
        }
        *v = w;
        return true;
    }
    if (is_op(k, "Gather")) {
        const e2e_value *iv = k->in[1];
        const e2e_attr *ax = e2e_node_attr(k->node, "axis");
        int64_t a = ax && ax->type == E2E_ATTR_INT ? ax->i : 0;
        if (a < 0)
            a += v->rank;
        if (!iv || !iv->is_const || iv->numel != 1 || iv->shape.rank > 1 || a < 0 || a >= v->rank ||
            (iv->dtype != E2E_INT64 && iv->dtype != E2E_INT32))
            return false;
        int64_t idx = iv->dtype == E2E_INT64 ? *(const int64_t *)iv->data : *(const int32_t *)iv->data;
        if (idx < 0)
            idx += v->dims[a];
        if (idx < 0 || idx >= v->dims[a])
            return false;
        v->offset += idx * v->strides[a];
        if (iv->shape.rank == 1) {
            v->dims[a] = 1;
        } else {
            for (int d = (int)a; d < v->rank - 1; d++) {
                v->dims[d] = v->dims[d + 1];
                v->strides[d] = v->strides[d + 1];
            }
            v->rank--;
        }
        return true;
    }
    return false;
}

/* The view node k seen backwards: the view of its input from the view of its output. */
static bool view_backward(const e2e_kernel *k, e2e_view *v)
{
    if (is_reshape_like(k))
        return view_reshape(v, &k->in[0]->shape);
    if (is_op(k, "Transpose")) {
        int perm[E2E_MAX_RANK];
        if (!transpose_perm(k, v->rank, perm))
            return false;
        e2e_view w = *v;
        for (int i = 0; i < v->rank; i++) {
            w.dims[perm[i]] = v->dims[i];
            w.strides[perm[i]] = v->strides[i];
        }
        *v = w;
        return true;
    }
    return false;
}

static bool view_node(const e2e_kernel *k)
{
    return (is_reshape_like(k) || is_op(k, "Transpose") || is_op(k, "Gather")) && k->in[0] &&
           k->out[0] && k->in[0]->dtype == E2E_FLOAT && k->n_out == 1;
}

#define MAX_CHAIN 8

/* The operand value v as a view of the furthest tensor behind view nodes: *base, *view. */
static void trace_operand(fctx *c, e2e_value *v, e2e_value **base, e2e_view *view)
{
    const e2e_kernel *chain[MAX_CHAIN];
    int n = 0;
    e2e_value *cur = v;
    for (const e2e_kernel *p; n < MAX_CHAIN && (p = producer(c, cur)) && view_node(p);) {
        chain[n++] = p;
        cur = p->in[0];
    }
    for (; n >= 0; n--) { /* the longest chain whose composition is a view */
        e2e_value *b = n ? chain[n - 1]->in[0] : v;
        view_contig(view, &b->shape);
        bool ok = true;
        for (int i = n - 1; i >= 0 && ok; i--)
            ok = view_forward(chain[i], view);
        if (ok) {
            *base = b;
            return;
        }
    }
}

/* The result value o as a view of the tensor at the end of its sole-consumer chain of
   Transpose/reshape nodes: *final, *view, and the chain's kernels. */
static int trace_result(fctx *c, e2e_value *o, e2e_value **final, e2e_view *view, e2e_kernel **chain)
{
    int n = 0;
    e2e_value *cur = o;
    for (e2e_kernel *q; n < MAX_CHAIN && (q = sole_consumer(c, cur)) &&
                        (is_reshape_like(q) || is_op(q, "Transpose")) && q->in[0] == cur && view_node(q);) {
        chain[n++] = q;
        cur = q->out[0];
    }
    for (; n >= 0; n--) {
        e2e_value *f = n ? chain[n - 1]->out[0] : o;
        view_contig(view, &f->shape);
        bool ok = true;
        for (int i = n - 1; i >= 0 && ok; i--)
            ok = view_backward(chain[i], view);
        if (ok) {
            *final = f;
            return n;
        }
    }
    *final = o;
    view_contig(view, &o->shape);
    return 0;
}

/* ---------------------------------------------------------------- attention */

/* An operand scaled by a constant just for the product (exports of scaled_dot_product_attention
   scale q, or q and k): the tensor before the scaling; the factor goes into *scale. */
static e2e_value *unscale(fctx *c, e2e_value *v, const e2e_kernel *mm1, float *scale, e2e_kernel **k)
{
    e2e_kernel *p = producer(c, v);
    float f;
    e2e_value *t;
    *k = NULL;
    if (!p || p->n_in != 2 || sole_consumer(c, v) != mm1 || !(is_op(p, "Mul") || is_op(p, "Div")))
        return v;
    if (const_scalar(p->in[1], &f)) {
        t = p->in[0];
        f = is_op(p, "Div") ? 1.f / f : f;
    } else if (is_op(p, "Mul") && const_scalar(p->in[0], &f)) {
        t = p->in[1];
    } else {
        return v;
    }
    if (!isfinite(f) || !t || t->dtype != E2E_FLOAT || !e2e_shape_equal(&t->shape, &v->shape))
        return v;
    *scale *= f;
    *k = p;
    return t;
}

static bool fuse_attention(fctx *c, e2e_kernel *sm)
{
    if (!is_op(sm, "Softmax") || !float_temp(sm->in[0]))
        return false;
    const e2e_value *sv = sm->in[0];
    int r = sv->shape.rank;
    const e2e_attr *ax = e2e_node_attr(sm->node, "axis");
    int64_t a = ax && ax->type == E2E_ATTR_INT ? ax->i : (sm->opset < 13 ? 1 : -1);
    if (a < 0)
        a += r;
    if (r < 2 || a != r - 1)
        return false;
    e2e_kernel *mm2 = sole_consumer(c, sm->out[0]);
    if (!is_op(mm2, "MatMul") || mm2->n_in != 2 || mm2->in[0] != sm->out[0] || !float_temp(mm2->out[0]))
        return false;
    float scale = 1.f;
    e2e_value *bias = NULL, *scores;
    e2e_view bview;
    e2e_kernel *bk = e2e_fuse_attn_bias(c, sm, &scores, &bias, &bview); /* Add(scores, bias) */
    if (bk)
        sv = scores;
    e2e_kernel *sk = producer(c, sv), *mm1 = sk;
    if (sole_consumer(c, sv) != (bk ? bk : sm))
        return false;
    if (is_op(sk, "Mul") || is_op(sk, "Div")) {
        e2e_value *t = sk->in[0];
        float f;
        if (const_scalar(sk->in[1], &f)) {
            scale = is_op(sk, "Div") ? 1.f / f : f;
        } else if (is_op(sk, "Mul") && const_scalar(sk->in[0], &f)) {
            scale = f;
            t = sk->in[1];
        } else {
            return false;
        }
        if (!isfinite(scale) || sole_consumer(c, t) != sk || !e2e_shape_equal(&t->shape, &sv->shape))
            return false;
        mm1 = producer(c, t);
    } else {
        sk = NULL;
    }
    if (!is_op(mm1, "MatMul") || mm1->n_in != 2)
        return false;
    e2e_kernel *qs, *ks;
    e2e_value *qv = unscale(c, mm1->in[0], mm1, &scale, &qs), *ktv = unscale(c, mm1->in[1], mm1, &scale, &ks);
    e2e_value *vv = mm2->in[1];
    if (!qv || !ktv || !vv || qv->dtype != E2E_FLOAT || ktv->dtype != E2E_FLOAT || vv->dtype != E2E_FLOAT ||
        qv->shape.rank != r || ktv->shape.rank != r || vv->shape.rank != r || mm2->out[0]->shape.rank != r)
        return false;
    for (int d = 0; d < r - 2; d++)
        if (ktv->shape.dims[d] != qv->shape.dims[d] || vv->shape.dims[d] != qv->shape.dims[d])
            return false;
    e2e_attn_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return false;
    cfg->scale = scale;
    cfg->has_bias = bias != NULL;
    if (bias)
        cfg->bias = bview;
    e2e_value *qb, *kb, *vb, *ob;
    trace_operand(c, qv, &qb, &cfg->q);
    trace_operand(c, ktv, &kb, &cfg->kt);
    trace_operand(c, vv, &vb, &cfg->v);
    e2e_kernel *chain[MAX_CHAIN];
    int nc = trace_result(c, mm2->out[0], &ob, &cfg->o, chain);
    if (ob->dtype != E2E_FLOAT || ob->is_const || ob->is_input) {
        free(cfg);
        return false;
    }
    e2e_kernel *last = nc ? chain[nc - 1] : mm2;
    e2e_value *in[4] = {qb, kb, vb, bias};
    e2e_kernel k;
    if (!make_kernel(c, last, &e2e_op_attention, "Attention", in, bias ? 4 : 3, &ob, 1, NULL, 0, cfg, &k))
        return false;
    e2e_kernel *drop[7 + MAX_CHAIN] = {mm1, sk, sm, mm2, qs, ks, bk};
    for (int i = 0; i < nc; i++)
        drop[7 + i] = chain[i];
    install(c, &k, last, drop, 7 + nc);
    return true;
}

/* ---------------------------------------------------------------- MatMul + bias (+ residual) */

static bool fuse_bias(fctx *c, e2e_kernel *mm)
{
    if (!is_op(mm, "MatMul") || mm->n_in != 2 || mm->act != E2E_ACT_NONE || !float_temp(mm->out[0]) ||
        !mm->in[1] || mm->in[1]->shape.rank < 2) /* a 1-D B drops the last axis */
        return false;
    const e2e_value *y = mm->out[0];
    int r = y->shape.rank;
    if (r < 1)
        return false;
    int64_t N = y->shape.dims[r - 1];
    e2e_kernel *add = sole_consumer(c, y);
    e2e_value *bias = other_input(add, y);
    if (!is_op(add, "Add") || !bias || !bias->is_const || bias->dtype != E2E_FLOAT || bias->numel != N ||
        bias->shape.rank > r || !e2e_shape_equal(&add->out[0]->shape, &y->shape))
        return false;
    for (int d = 0; d < bias->shape.rank - 1; d++)
        if (bias->shape.dims[d] != 1)
            return false;
    e2e_kernel *last = add, *radd = sole_consumer(c, add->out[0]);
    e2e_value *res = other_input(radd, add->out[0]);
    if (is_op(radd, "Add") && float_temp(res) && e2e_shape_equal(&res->shape, &y->shape) &&
        e2e_shape_equal(&radd->out[0]->shape, &y->shape))
        last = radd;
    else
        res = NULL;
    /* the MatMul keeps its prepared state; only its operands and output change */
    e2e_value **in = fs_alloc(c, sizeof(e2e_value *) * 4);
    if (!in)
        return false;
    in[0] = mm->in[0];
    in[1] = mm->in[1];
    in[2] = bias;
    in[3] = res;
    e2e_kernel k = *mm;
    k.in = in;
    k.n_in = 4;
    k.out[0] = last->out[0];
    mm->op = NULL; /* moved, not released */
    mm->priv = NULL;
    e2e_kernel *drop[] = {add, radd};
    install(c, &k, last, drop, last == radd ? 2 : 1);
    return true;
}

/* ---------------------------------------------------------------- patch embedding */

static bool attr_ints_are(const e2e_kernel *k, const char *name, int n, const int64_t *want, int64_t dflt)
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

/* Conv(kernel = stride, no padding) -> Reshape [B, E, Hp*Wp] -> Transpose(0, 2, 1): the patch
   embedding of a ViT, one GEMM of the patches by the weight written straight in token order. */
static bool fuse_patch_embed(fctx *c, e2e_kernel *cv)
{
    if (!is_op(cv, "Conv") || cv->n_in < 2 || cv->n_out != 1 || !float_temp(cv->out[0]) ||
        cv->act != E2E_ACT_NONE)
        return false;
    e2e_value *x = cv->in[0], *w = cv->in[1], *b = cv->n_in > 2 ? cv->in[2] : NULL;
    if (!x || x->dtype != E2E_FLOAT || x->shape.rank != 4 || !w->is_const || w->dtype != E2E_FLOAT ||
        w->shape.rank != 4 || (b && (!b->is_const || b->dtype != E2E_FLOAT)))
        return false;
    const int64_t *xd = x->shape.dims, *wd = w->shape.dims, *yd = cv->out[0]->shape.dims;
    const int64_t kern[2] = {wd[2], wd[3]}, zeros[4] = {0}, ones[2] = {1, 1};
    const e2e_attr *g = e2e_node_attr(cv->node, "group"), *ap = e2e_node_attr(cv->node, "auto_pad");
    if ((g && (g->type != E2E_ATTR_INT || g->i != 1)) ||
        (ap && (ap->type != E2E_ATTR_STRING || (strcmp(ap->s, "NOTSET") && strcmp(ap->s, "VALID")))) ||
        !attr_ints_are(cv, "strides", 2, kern, 1) || !attr_ints_are(cv, "pads", 4, zeros, 0) ||
        !attr_ints_are(cv, "dilations", 2, ones, 1) ||
        (e2e_node_attr(cv->node, "kernel_shape") && !attr_ints_are(cv, "kernel_shape", 2, kern, 0)))
        return false;
    if (wd[1] != xd[1] || kern[0] < 1 || kern[1] < 1 || cv->out[0]->shape.rank != 4 || yd[0] != xd[0] ||
        yd[1] != wd[0] || yd[2] != xd[2] / kern[0] || yd[3] != xd[3] / kern[1] || (b && b->numel != wd[0]))
        return false;
    for (int i = 0; i < 4; i++)
        if (xd[i] > INT32_MAX / 4 || wd[i] > INT32_MAX / 4)
            return false;
    /* the output must end in token order [B, Hp*Wp, E] */
    e2e_value *fin;
    e2e_view v;
    e2e_kernel *chain[MAX_CHAIN];
    int nc = trace_result(c, cv->out[0], &fin, &v, chain);
    const int64_t E = yd[1], Hp = yd[2], Wp = yd[3];
    if (nc == 0 || v.offset != 0 || (yd[0] > 1 && v.strides[0] != Hp * Wp * E) || (E > 1 && v.strides[1] != 1) ||
        (Hp > 1 && v.strides[2] != Wp * E) || (Wp > 1 && v.strides[3] != E) || fin->dtype != E2E_FLOAT)
        return false;
    e2e_patch_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return false;
    *cfg = (e2e_patch_cfg){.B = (int)xd[0], .C = (int)xd[1], .H = (int)xd[2], .W = (int)xd[3], .E = (int)E,
                           .Ph = (int)kern[0], .Pw = (int)kern[1], .Hp = (int)Hp, .Wp = (int)Wp};
    e2e_kernel *last = chain[nc - 1], k;
    e2e_value *in[3] = {x, w, b};
    if (!make_kernel(c, last, &e2e_op_patch_embed, "PatchEmbed", in, 3, &fin, 1, NULL, 0, cfg, &k))
        return false;
    e2e_kernel *drop[1 + MAX_CHAIN] = {cv};
    for (int i = 0; i < nc; i++)
        drop[1 + i] = chain[i];
    install(c, &k, last, drop, 1 + nc);
    return true;
}

/* ---------------------------------------------------------------- Conv + MaxPool */

/* MaxPool over 2-D images with a 2x2 window, stride 2, no padding, floor rounding, no Indices. */
static bool is_pool2x2(const e2e_kernel *k)
{
    static const int64_t two[2] = {2, 2}, one[2] = {1, 1}, zero[4] = {0, 0, 0, 0};
    if (!is_op(k, "MaxPool") || k->in[0]->shape.rank != 4 || (k->n_out > 1 && k->out[1]))
        return false;
    const e2e_attr *cm = e2e_node_attr(k->node, "ceil_mode"), *ap = e2e_node_attr(k->node, "auto_pad");
    if (!e2e_node_attr(k->node, "kernel_shape") || !attr_ints_are(k, "kernel_shape", 2, two, 0) ||
        !attr_ints_are(k, "strides", 2, two, 1) || !attr_ints_are(k, "pads", 4, zero, 0) ||
        !attr_ints_are(k, "dilations", 2, one, 1))
        return false;
    if (cm && (cm->type != E2E_ATTR_INT || cm->i != 0))
        return false;
    return !ap || (ap->type == E2E_ATTR_STRING && (!strcmp(ap->s, "NOTSET") || !strcmp(ap->s, "VALID")));
}

static bool fuse_conv_pool(fctx *c, e2e_kernel *conv)
{
    if (!is_op(conv, "Conv") || conv->act != E2E_ACT_NONE || !float_temp(conv->out[0]))
        return false;
    e2e_kernel *a = sole_consumer(c, conv->out[0]), *pool = a;
    e2e_act act = E2E_ACT_NONE;
    float alpha = 0.f;
    if (is_op(a, "Relu"))
        act = E2E_ACT_RELU;
    else if (is_op(a, "Sigmoid"))
        act = E2E_ACT_SIGMOID;
    else if (is_op(a, "LeakyRelu")) {
        const e2e_attr *at = e2e_node_attr(a->node, "alpha");
        act = E2E_ACT_LEAKY_RELU;
        alpha = at && at->type == E2E_ATTR_FLOAT ? at->f : 0.01f;
    }
    if (act != E2E_ACT_NONE) {
        if (a->in[0] != conv->out[0] || !float_temp(a->out[0]))
            return false;
        pool = sole_consumer(c, a->out[0]);
    }
    if (!is_pool2x2(pool) || pool->in[0] != (act != E2E_ACT_NONE ? a->out[0] : conv->out[0]))
        return false;
    e2e_kernel k;
    if (!make_kernel(c, conv, &e2e_op_conv_maxpool, "ConvMaxPool", conv->in, conv->n_in, pool->out, 1,
                     conv->node->attrs, conv->node->n_attrs, NULL, &k))
        return false;
    k.act = act;
    k.act_alpha = alpha;
    e2e_kernel *drop[] = {conv, a};
    install(c, &k, pool, drop, act != E2E_ACT_NONE ? 2 : 1);
    return true;
}

/* ---------------------------------------------------------------- token selection */

/* An integer attribute of k's node, or dflt. */
static int64_t attr_int(const e2e_kernel *k, const char *name, int64_t dflt)
{
    const e2e_attr *a = e2e_node_attr(k->node, name);
    return a && a->type == E2E_ATTR_INT ? a->i : dflt;
}

/* LayerNormalization over the last axis only (its rows are independent). */
static bool is_row_layernorm(const e2e_kernel *k)
{
    if (!is_op(k, "LayerNormalization") || !k->in[0] || k->in[0]->shape.rank < 1)
        return false;
    int64_t a = attr_int(k, "axis", -1), r = k->in[0]->shape.rank;
    return a == -1 || a == r - 1;
}

/* MatMul by a constant matrix (rows of A independent), with an optional bias, no residual
   unless `res` is given and matches. */
static bool is_row_matmul(const e2e_kernel *k, const e2e_value *a, const e2e_value *res)
{
    if (!is_op(k, "MatMul") || k->in[0] != a || !k->in[1] || !k->in[1]->is_const ||
        k->in[1]->shape.rank != 2 || a->shape.rank < 2)
        return false;
    const e2e_value *kr = k->n_in > 3 ? k->in[3] : NULL;
    return kr == res;
}

/* Prepares a kernel of the list again after its operands changed. A MatMul with fused bias
   and residual operands was prepared with its two inputs (fuse_bias); so it is again. */
static e2e_status reprepare(e2e_kernel *k)
{
    int n_in = k->n_in;
    if (is_op(k, "MatMul") && n_in > 2)
        k->n_in = 2;
    e2e_status st = k->op->prepare(k);
    k->n_in = n_in;
    return st;
}

/* Gives a row LayerNorm the axis -1 (a fused one says rank - 1, which moves when the rank
   shrinks): a synthetic copy of its node. */
static bool ln_axis_last(fctx *c, e2e_kernel *k)
{
    const e2e_attr *a = e2e_node_attr(k->node, "axis");
    if (!a || a->type != E2E_ATTR_INT || a->i == -1)
        return true;
    const int n = k->node->n_attrs;
    e2e_attr *at = fs_alloc(c, sizeof(e2e_attr) * (size_t)(n + 1));
    if (!at)
        return false;
    for (int i = 0; i < n; i++) {
        at[i] = k->node->attrs[i];
        if (!strcmp(at[i].name, "axis"))
            at[i].i = -1;
    }
    const e2e_node *nd = new_node(c, k->node, k->node->op_type, k, at, n);
    if (!nd)
        return false;
    k->node = nd;
    return true;
}

/* The head of a pre-norm transformer that reads one token:

     r -> LN2 -> MatMul(+act) -> MatMul(+bias, + residual r) -> LNf -> Gather(axis t, index i)

   (a ViT's class-token classifier after its last block's MLP). The MLP and both LayerNorms
   work row by row, so they can run on token i alone:

     r -> Gather(axis t, index i) -> LN2 -> MatMul -> MatMul(+ residual, gathered) -> LNf

   which saves the last block's MLP for all other tokens (8 of its 12 E x E products per
   token: about 5% of a 12-block ViT). The same sums per row: the outputs agree to float
   rounding (the products may take another kernel path for one row). The kernels keep
   their list slots shifted by one along the chain and are prepared again; the chain's
   temporaries shrink to one token. If a prepare fails, everything is put back. */
static e2e_status select_token(fctx *c, e2e_kernel *g)
{
    if (!is_op(g, "Gather") || g->n_in != 2 || !g->in[0] || !g->in[1] || !g->in[1]->is_const ||
        g->in[1]->numel != 1 || g->in[1]->shape.rank > 1 || !float_temp(g->in[0]))
        return E2E_OK;
    e2e_value *z = g->in[0];
    const int rank = z->shape.rank;
    int64_t axis = attr_int(g, "axis", 0);
    if (axis < 0)
        axis += rank;
    if (rank < 3 || axis < 0 || axis >= rank - 1 || z->shape.dims[axis] < 2)
        return E2E_OK;
    e2e_kernel *lnf = producer(c, z);
    if (sole_consumer(c, z) != g || !is_row_layernorm(lnf) || lnf->n_out != 1)
        return E2E_OK;
    e2e_value *xo = lnf->in[0];
    e2e_kernel *mm2 = producer(c, xo);
    if (sole_consumer(c, xo) != lnf || !mm2 || !is_op(mm2, "MatMul") || mm2->n_in < 4 || !mm2->in[3] ||
        !float_temp(mm2->in[0]))
        return E2E_OK;
    e2e_value *r = mm2->in[3], *u = mm2->in[0];
    e2e_kernel *mm1 = producer(c, u);
    if (!is_row_matmul(mm2, u, r) || sole_consumer(c, u) != mm2 || !mm1 || !float_temp(mm1->in[0]))
        return E2E_OK;
    e2e_value *h = mm1->in[0];
    e2e_kernel *ln2 = producer(c, h);
    if (!is_row_matmul(mm1, h, NULL) || sole_consumer(c, h) != mm1 || !is_row_layernorm(ln2) ||
        ln2->in[0] != r || ln2->n_out != 1)
        return E2E_OK;
    int rid = vid(c->s, r);
    if (!float_temp(r) || c->g.is_out[rid] || c->g.ncons[rid] != 2 || r->shape.rank != rank)
        return E2E_OK;
    /* the chain in list order, and its slots */
    e2e_kernel *chain[5] = {ln2, mm1, mm2, lnf, g};
    for (int i = 1; i < 5; i++)
        if (chain[i] <= chain[i - 1])
            return E2E_OK;
    e2e_value *out = g->out[0];
    e2e_kernel saved[5];
    e2e_value *saved_ln2_in = ln2->in[0], *saved_mm2_res = mm2->in[3];
    e2e_value *saved_g_in = g->in[0], *saved_g_out = g->out[0], *saved_lnf_out = lnf->out[0];
    for (int i = 0; i < 5; i++) {
        saved[i] = *chain[i];
        if (chain[i]->op->release && chain[i]->priv)
            chain[i]->op->release(chain[i]->priv);
        chain[i]->priv = NULL;
    }
    /* rewire: Gather(r) -> z; LN2(z) -> h; MM1(h) -> u; MM2(u, residual z) -> xo; LNf(xo) -> out */
    e2e_kernel kg = saved[4], kln2 = saved[0], kmm1 = saved[1], kmm2 = saved[2], klnf = saved[3];
    kg.in[0] = r;
    kg.out[0] = z;
    kln2.in[0] = z;
    kmm2.in[3] = z;
    klnf.out[0] = out;
    e2e_kernel *order[5] = {&kg, &kln2, &kmm1, &kmm2, &klnf};
    int ok = 0;
    if (!ln_axis_last(c, &kln2) || !ln_axis_last(c, &klnf))
        ok = -1;
    for (; ok >= 0 && ok < 5; ok++) {
        order[ok]->priv = NULL;
        if (reprepare(order[ok]))
            break;
    }
    if (ok == 5) {
        for (int i = 0; i < 5; i++)
            *chain[i] = *order[i];
        c->s->n_fused++;
        index_build(c);
        return E2E_OK;
    }
    /* put everything back as it was (the kernel whose prepare failed may hold state too) */
    for (int i = 0; i <= ok && i < 5; i++)
        if (order[i]->op->release && order[i]->priv)
            order[i]->op->release(order[i]->priv);
    ln2->in[0] = saved_ln2_in;
    mm2->in[3] = saved_mm2_res;
    g->in[0] = saved_g_in;
    g->out[0] = saved_g_out;
    lnf->out[0] = saved_lnf_out;
    c->err->message[0] = 0;
    c->err->status = E2E_OK;
    for (int i = 0; i < 5; i++) {
        *chain[i] = saved[i];
        chain[i]->priv = NULL;
    }
    for (int i = 0; i < 5; i++)
        if (reprepare(chain[i])) { /* it was prepared before: not expected */
            char why[sizeof c->err->message];
            memcpy(why, c->err->message, sizeof why);
            why[sizeof why - 1] = 0;
            return e2e_fail(c->err, E2E_ERR_INVALID, "%s: node \"%s\": prepared again after a declined "
                            "token selection, it failed: %s", c->s->model->name, chain[i]->node->name, why);
        }
    return E2E_OK;
}

/* ---------------------------------------------------------------- driver */

/* Removes kernels none of whose outputs is read or is a graph output. */
static void remove_dead(fctx *c)
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
                remove_kernel(k);
                index_build(c);
                changed = true;
            }
        }
    }
}

/* The pass context of a CPU session with kernels (index built); false with err set when out
   of memory, or with c->s NULL when there is nothing to do. */
static bool fctx_open(fctx *c, e2e_session *s, e2e_error *err)
{
    *c = (fctx){NULL, NULL, {NULL, NULL, NULL, NULL}, err};
    if (s->device != E2E_DEVICE_CPU || s->n_kernels == 0)
        return true;
    if (!s->fuse_state && !(s->fuse_state = calloc(1, sizeof(fuse_state)))) {
        e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", s->model->name);
        return false;
    }
    size_t nv = (size_t)s->n_values + 1;
    *c = (fctx){s, s->fuse_state, {malloc(sizeof(int) * nv), malloc(sizeof(int) * nv),
                                   malloc(sizeof(int) * nv), malloc(sizeof(bool) * nv)}, err};
    if (!c->g.prod || !c->g.ncons || !c->g.cons || !c->g.is_out) {
        e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", s->model->name);
        return false;
    }
    index_build(c);
    return true;
}

static void fctx_close(fctx *c)
{
    free(c->g.prod);
    free(c->g.ncons);
    free(c->g.cons);
    free(c->g.is_out);
}

e2e_status e2e_fuse_patterns(e2e_session *s, e2e_error *err)
{
    fctx c;
    if (!fctx_open(&c, s, err)) {
        fctx_close(&c);
        return err->status;
    }
    if (c.s) {
        bool (*const passes[])(fctx *, e2e_kernel *) = {fuse_patch_embed, fuse_layernorm, fuse_gelu,
                                                         fuse_attention, fuse_bias, fuse_conv_pool,
                                                         e2e_fuse_edge_gather, e2e_fuse_pointwise_mlp};
        for (size_t p = 0; p < sizeof passes / sizeof passes[0]; p++)
            for (int i = 0; i < s->n_kernels; i++)
                if (s->kernels[i].op)
                    passes[p](&c, &s->kernels[i]);
        remove_dead(&c);
    }
    fctx_close(&c);
    return E2E_OK;
}

e2e_status e2e_fuse_token_select(e2e_session *s, e2e_error *err)
{
    fctx c;
    e2e_status st = E2E_OK;
    if (!fctx_open(&c, s, err))
        st = err->status;
    else if (c.s)
        for (int i = 0; i < s->n_kernels; i++)
            if (s->kernels[i].op && (st = select_token(&c, &s->kernels[i])))
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
