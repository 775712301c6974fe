/* QDQ folding (its own pass in passes.c, run by fuse.c's e2e_fuse_qdq_all): the
   quantize-dequantize form of an int8 model, as ONNX Runtime's static quantizer writes it,

     DequantizeLinear(x_q) ─┐
     DequantizeLinear(w_q) ─┼─ Conv | MatMul | Gemm [-> Relu] -> QuantizeLinear -> y_q
     DequantizeLinear(b_q) ─┘ (int32 bias, optional)

   becomes one QLinearConv / QLinearMatMul kernel (ops/ops_quant.c) on the integers:
   sum (x_q - x_zp)(w_q - w_zp) exact in int32, plus b_q, times x_scale * w_scale / y_scale,
   rounded half to even, plus y_zp, saturated (Relu: clamped at y_zp from below, which is
   exactly what QuantizeLinear(Relu(v)) gives).

   The weights' and the bias's DequantizeLinear of constants were prepared but not folded
   (session.c, defer_dq: no float copy of the weights is made unless a reader other than a
   fused kernel needs it); the pass finds them in the model's graph (the node that produced
   the value) and takes their integer inputs, which are initializers. Conditions:
   x_q int8/uint8 with per-tensor scale and zero point (constants), w_q int8/uint8 with
   per-tensor or per-output-channel scale and zero point, the bias int32 with zero point 0
   and scale x_scale * w_scale (to 1e-6, as the quantizer writes it), y per tensor; Gemm with
   alpha = beta = 1, transA = 0 and a 2-D A; MatMul with a 2-D B. Intermediate values must have
   no other consumer.

   Also DequantizeLinear -> MaxPool 2x2 / stride 2 [-> Flatten] -> QuantizeLinear with one scale
   and zero point becomes QMaxPool2x2 on the integers (exactly the same values; the Flatten, the
   same bytes, as its attribute).

   What stays equal: the unfused graph computes the same real-valued sum in float (rounding
   errors of ~1e-7 relative) before QuantizeLinear, the folded kernel exactly; the quantized
   outputs are the same except where the exact value lies within float rounding of a
   half-step tie, where they differ by one step (one unit of y_q). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_quant.h"
#include "engine/passes/fuse_internal.h"

/* The model node that produced value id v (folded or not), or NULL. */
static const e2e_node *graph_producer(const e2e_session *s, int v)
{
    const e2e_graph *g = &s->model->graph;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_out; j++)
            if (g->nodes[i].out[j] == v)
                return &g->nodes[i];
    return NULL;
}

static bool is_q8(const e2e_value *v) { return v && (v->dtype == E2E_INT8 || v->dtype == E2E_UINT8); }

static bool const_q(const e2e_value *v)
{
    return v && v->is_const && v->data && (is_q8(v) || v->dtype == E2E_INT32);
}

static bool const_scale(const e2e_value *v)
{
    return v && v->is_const && v->data && v->dtype == E2E_FLOAT;
}

static bool per_tensor(const e2e_value *v) { return v && v->numel == 1 && v->shape.rank <= 1; }

/* A DequantizeLinear node of the model whose inputs are constants: their values in *in (the
   zero point may be NULL), with `axis`. */
static bool const_dq(const e2e_session *s, const e2e_value *out, e2e_value *in[3], int64_t *axis)
{
    const e2e_node *n = graph_producer(s, (int)(out - s->values));
    if (!n || n->domain[0] || strcmp(n->op_type, "DequantizeLinear") || n->n_in < 2 || n->gate)
        return false;
    for (int i = 0; i < 3; i++)
        in[i] = i < n->n_in && n->in[i] >= 0 ? &s->values[n->in[i]] : NULL;
    const e2e_attr *a = e2e_node_attr(n, "axis");
    *axis = a && a->type == E2E_ATTR_INT ? a->i : 1;
    return const_q(in[0]) && const_scale(in[1]) && (!in[2] || const_q(in[2]));
}

/* scale and zero point of a weight per tensor or per channel along `ch_axis` (of `rank`) */
static bool weight_params_ok(const e2e_value *w[3], int64_t axis, int ch_axis, int64_t nch)
{
    if (!is_q8(w[0]) || !w[2] || w[2]->dtype != w[0]->dtype)
        return false;
    if (per_tensor(w[1]) && per_tensor(w[2]))
        return true;
    int rank = w[0]->shape.rank;
    if (axis < 0)
        axis += rank;
    return axis == ch_axis && w[1]->numel == nch && w[2]->numel == nch && w[1]->shape.rank == 1;
}

/* The int32 bias b_q of DequantizeLinear(b_q, x_scale * w_scale, 0), or NULL. */
static e2e_value *int_bias(const e2e_session *s, const e2e_value *b, float xs, const e2e_value *ws,
                           int64_t n)
{
    e2e_value *in[3];
    int64_t axis;
    if (!b || !const_dq(s, b, in, &axis) || in[0]->dtype != E2E_INT32 || in[0]->numel != n)
        return NULL;
    if (in[2])
        for (int64_t i = 0; i < in[2]->numel; i++)
            if (((const int32_t *)in[2]->data)[i] != 0)
                return NULL;
    const float *bs = in[1]->data, *w = ws->data;
    for (int64_t i = 0; i < n; i++) {
        double want = (double)xs * w[ws->numel == 1 ? 0 : i];
        double have = bs[in[1]->numel == 1 ? 0 : i];
        if (in[1]->numel != 1 && in[1]->numel != n)
            return NULL;
        if (fabs(have - want) > 1e-6 * fabs(want))
            return NULL;
    }
    return in[0];
}

static bool ints_are(const e2e_kernel *k, const char *name, int n, int64_t v, bool absent_ok)
{
    const e2e_attr *a = e2e_node_attr(k->node, name);
    if (!a)
        return absent_ok;
    if (a->type != E2E_ATTR_INTS || a->n != n)
        return false;
    for (int i = 0; i < n; i++)
        if (a->ints[i] != v)
            return false;
    return true;
}

/* DequantizeLinear(x_q) -> MaxPool 2x2 / 2 -> QuantizeLinear with the same scalar scale and
   zero point => QMaxPool2x2 on the integers. Exact: dequantization is increasing, so the
   maximum commutes with it, and QuantizeLinear(DequantizeLinear(v)) = v for a normal positive
   scale ((v - zp) * s / s is within 2 ulp of the integer v - zp). */
static bool fuse_maxpool(e2e_fuse_ctx *c, e2e_kernel *q, e2e_kernel *mp, e2e_kernel *flat)
{
    e2e_kernel *dq = e2e_fuse_producer(c, mp->in[0]);
    if (!e2e_fuse_is_op(dq, "DequantizeLinear") ||
        e2e_fuse_sole_consumer(c, mp->out[0]) != (flat ? flat : q) ||
        mp->n_out != 1 || dq->n_in < 3 || !dq->in[2] || !is_q8(dq->in[0]) ||
        (dq->in[1] != q->in[1] && !(const_scale(dq->in[1]) && per_tensor(dq->in[1]) &&
                                    *(const float *)dq->in[1]->data == *(const float *)q->in[1]->data)) ||
        mp->in[0]->shape.rank != 4)
        return false;
    const float s = *(const float *)q->in[1]->data;
    if (!(s >= FLT_MIN && s <= FLT_MAX) || dq->in[2]->dtype != q->in[2]->dtype ||
        !dq->in[2]->is_const || !per_tensor(dq->in[2]) ||
        memcmp(dq->in[2]->data, q->in[2]->data, 1) != 0)
        return false;
    const e2e_attr *cm = e2e_node_attr(mp->node, "ceil_mode");
    if (!ints_are(mp, "kernel_shape", 2, 2, false) || !ints_are(mp, "strides", 2, 2, false) ||
        !ints_are(mp, "pads", 4, 0, true) || !ints_are(mp, "dilations", 2, 1, true) ||
        (cm && cm->i != 0))
        return false;
    const e2e_attr *ap = e2e_node_attr(mp->node, "auto_pad");
    if (ap && ap->s && strcmp(ap->s, "NOTSET") && strcmp(ap->s, "VALID"))
        return false;
    e2e_attr fa = {.name = "flatten", .type = E2E_ATTR_INT, .i = -1};
    if (flat) {
        const e2e_attr *ax = e2e_node_attr(flat->node, "axis");
        fa.i = ax && ax->type == E2E_ATTR_INT ? ax->i : 1;
        if (fa.i < 0)
            fa.i += 4;
        if (fa.i < 0 || fa.i > 4)
            return false;
    }
    e2e_value *in[1] = {dq->in[0]};
    e2e_kernel k;
    if (!e2e_fuse_make_kernel_attrs(c, q, &e2e_op_qmaxpool2x2, "QMaxPool2x2", in, 1, q->out, 1,
                                    &fa, flat ? 1 : 0, NULL, &k))
        return false;
    e2e_kernel *drop[] = {mp, flat};
    e2e_fuse_install(c, &k, q, drop, flat ? 2 : 1);
    return true;
}

bool e2e_fuse_qdq(e2e_fuse_ctx *c, e2e_kernel *q)
{
    if (!e2e_fuse_is_op(q, "QuantizeLinear") || q->n_in < 3 || !q->in[2] || !is_q8(q->in[2]) ||
        !const_scale(q->in[1]) || !per_tensor(q->in[1]) || !q->in[2]->is_const ||
        !per_tensor(q->in[2]) || q->in[0]->dtype != E2E_FLOAT)
        return false;
    const e2e_session *s = c->s;
    e2e_kernel *op = e2e_fuse_producer(c, q->in[0]), *relu = NULL;
    if (e2e_fuse_is_op(op, "MaxPool"))
        return fuse_maxpool(c, q, op, NULL);
    if (e2e_fuse_is_op(op, "Flatten")) {
        e2e_kernel *mp = e2e_fuse_producer(c, op->in[0]);
        return e2e_fuse_is_op(mp, "MaxPool") && e2e_fuse_sole_consumer(c, op->out[0]) == q &&
               fuse_maxpool(c, q, mp, op);
    }
    if (e2e_fuse_is_op(op, "Relu") && e2e_fuse_sole_consumer(c, op->out[0]) == q) {
        relu = op;
        op = e2e_fuse_producer(c, relu->in[0]);
    }
    bool conv = e2e_fuse_is_op(op, "Conv"), gemm = e2e_fuse_is_op(op, "Gemm");
    if ((!conv && !gemm && !e2e_fuse_is_op(op, "MatMul")) || op->act != E2E_ACT_NONE ||
        e2e_fuse_sole_consumer(c, op->out[0]) != (relu ? relu : q))
        return false;
    /* the activation: DequantizeLinear(x_q) with constant per-tensor parameters */
    e2e_kernel *dqx = e2e_fuse_producer(c, op->in[0]);
    if (!e2e_fuse_is_op(dqx, "DequantizeLinear") || dqx->n_in < 3 || !is_q8(dqx->in[0]) ||
        !dqx->in[2] || !dqx->in[2]->is_const || !per_tensor(dqx->in[2]) ||
        !const_scale(dqx->in[1]) || !per_tensor(dqx->in[1]) || op->n_in < 2 || !op->in[1])
        return false;
    const float xs = *(const float *)dqx->in[1]->data;
    /* the weights: a folded DequantizeLinear of constants */
    e2e_value *w[3];
    int64_t axis;
    if (!const_dq(s, op->in[1], w, &axis))
        return false;
    bool transb = false;
    int64_t nch;
    int ch_axis;
    if (conv) {
        nch = w[0]->shape.dims[0];
        ch_axis = 0;
    } else {
        if (w[0]->shape.rank != 2 || op->in[0]->shape.rank != 2)
            return false;
        if (gemm) {
            const e2e_attr *ta = e2e_node_attr(op->node, "transA"), *tb = e2e_node_attr(op->node, "transB");
            const e2e_attr *al = e2e_node_attr(op->node, "alpha"), *be = e2e_node_attr(op->node, "beta");
            if ((ta && ta->i != 0) || (al && al->f != 1.f) || (be && be->f != 1.f))
                return false;
            transb = tb && tb->i != 0;
        } else if (op->n_in != 2) {
            return false;
        }
        ch_axis = transb ? 0 : 1;
        nch = w[0]->shape.dims[ch_axis];
    }
    if (!weight_params_ok((const e2e_value **)w, axis, ch_axis, nch))
        return false;
    e2e_value *bias = NULL;
    if (op->n_in > 2 && op->in[2] && !(bias = int_bias(s, op->in[2], xs, w[1], nch)))
        return false;
    if (gemm && bias && op->in[2]->shape.rank != 1)
        return false;
    void *priv;
    if (conv) {
        /* the Conv kernel was prepared (ops_conv.c): its priv starts with the geometry */
        priv = e2e_qlinearconv_handover((const conv_priv *)op->priv, relu != NULL);
    } else {
        priv = e2e_qlinearmatmul_handover(transb, relu != NULL);
    }
    if (!priv)
        return false;
    e2e_value *in[9] = {dqx->in[0], dqx->in[1], dqx->in[2], w[0], w[1], w[2], q->in[1], q->in[2], bias};
    e2e_kernel k;
    const char *type = conv ? "QLinearConv" : "QLinearMatMul";
    if (!e2e_fuse_make_kernel(c, q, e2e_op_find("", type), type, in, bias ? 9 : 8, q->out, 1, priv, &k))
        return false;
    e2e_kernel *drop[] = {op, relu};
    e2e_fuse_install(c, &k, q, drop, relu ? 2 : 1);
    return true;
}
