/* Conv (float32, NC + 1 to 3 spatial dims) on OpenBLAS sgemm.

   Geometry is normalised at prepare to three spatial dims (D, H, W; missing leading dims are 1)
   and one of three algorithms is chosen:
     CONV_GEMM_DIRECT  1x1 kernel, stride 1, no padding: Y[g] = W[g] * X[g] straight on the
                       input, one sgemm per image and group.
     CONV_DEPTHWISE    group == C and one input channel per group: a direct loop per output
                       row, accumulating one kernel tap at a time (vectorisable for stride 1).
     CONV_IM2COL       everything else: the input patches of one image are unfolded into the
                       shared workspace (Kdim x panel columns) and multiplied by W[g]; huge
                       images are processed in column panels so the workspace stays bounded.
   The bias and the fused activation (k->act) are applied to each output row right after it
   is produced, while it is still in cache. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "ops/blas.h"
#include "ops/op.h"

enum { CONV_GEMM_DIRECT, CONV_DEPTHWISE, CONV_IM2COL };

/* bytes of im2col workspace aimed for before splitting an image into column panels */
#define CONV_WS_TARGET ((int64_t)8 << 20)

typedef struct conv_priv {
    int algo;
    int64_t N, C, M, G, Cg, Mg;
    int64_t id[3], od[3], kd[3], st[3], dl[3], pb[3]; /* D, H, W */
    int64_t isp, osp, ksp;  /* spatial sizes: input, output, kernel */
    int64_t kdim;           /* Cg * ksp: rows of the im2col matrix */
    int64_t panel;          /* im2col columns per panel */
} conv_priv;

/* Pads and output size for one spatial dim; shared logic of auto_pad. */
static e2e_status conv_dim(e2e_kernel *k, const char *auto_pad, int64_t in, int64_t kern,
                           int64_t stride, int64_t dil, int64_t *pb, int64_t *pe, int64_t *out)
{
    int64_t ext = dil * (kern - 1) + 1;
    if (!strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER")) {
        int64_t o = (in + stride - 1) / stride;
        int64_t tot = (o - 1) * stride + ext - in;
        if (tot < 0)
            tot = 0;
        *pb = auto_pad[5] == 'U' ? tot / 2 : tot - tot / 2;
        *pe = tot - *pb;
        *out = o;
        return E2E_OK;
    }
    if (!strcmp(auto_pad, "VALID"))
        *pb = *pe = 0;
    else if (strcmp(auto_pad, "NOTSET"))
        return e2e_kfail(k, E2E_ERR_INVALID, "unknown auto_pad \"%s\"", auto_pad);
    int64_t span = in + *pb + *pe - ext;
    *out = span < 0 ? 0 : span / stride + 1;
    return E2E_OK;
}

static e2e_status conv_prepare(e2e_kernel *k)
{
    e2e_status st;
    if ((st = e2e_check_inputs(k, 2, 3)))
        return st;
    for (int i = 0; i < 3; i++)
        if ((st = e2e_check_dtype(k, i, E2E_FLOAT, E2E_UNDEFINED)))
            return st;
    const e2e_shape *xs = &k->in[0]->shape, *ws = &k->in[1]->shape;
    char s1[160], s2[160];
    int nsp = xs->rank - 2;
    if (nsp < 1 || nsp > 3)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "input %s: only 1 to 3 spatial dims are supported",
                         e2e_shape_str(xs, s1, sizeof s1));
    if (ws->rank != xs->rank)
        return e2e_kfail(k, E2E_ERR_SHAPE, "weight %s and input %s have different ranks",
                         e2e_shape_str(ws, s1, sizeof s1), e2e_shape_str(xs, s2, sizeof s2));
    int64_t group;
    const char *auto_pad;
    const int64_t *kshape, *pads, *strides, *dils;
    int nk, np, ns, nd;
    if ((st = e2e_attr_int(k, "group", 1, &group)) ||
        (st = e2e_attr_string(k, "auto_pad", "NOTSET", &auto_pad)) ||
        (st = e2e_attr_ints(k, "kernel_shape", &kshape, &nk)) ||
        (st = e2e_attr_ints(k, "pads", &pads, &np)) ||
        (st = e2e_attr_ints(k, "strides", &strides, &ns)) ||
        (st = e2e_attr_ints(k, "dilations", &dils, &nd)))
        return st;
    conv_priv p = {.N = xs->dims[0], .C = xs->dims[1], .M = ws->dims[0], .G = group};
    if (group < 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "group=%lld must be >= 1", (long long)group);
    if (p.C % group)
        return e2e_kfail(k, E2E_ERR_INVALID, "group=%lld does not divide %lld input channels",
                         (long long)group, (long long)p.C);
    if (p.M % group)
        return e2e_kfail(k, E2E_ERR_INVALID, "group=%lld does not divide %lld output channels",
                         (long long)group, (long long)p.M);
    p.Cg = p.C / group;
    p.Mg = p.M / group;
    if (ws->dims[1] != p.Cg)
        return e2e_kfail(k, E2E_ERR_SHAPE,
                         "weight %s wants %lld channels per group, input %s with group=%lld has %lld",
                         e2e_shape_str(ws, s1, sizeof s1), (long long)ws->dims[1],
                         e2e_shape_str(xs, s2, sizeof s2), (long long)group, (long long)p.Cg);
    if ((nk && nk != nsp) || (np && np != 2 * nsp) || (ns && ns != nsp) || (nd && nd != nsp))
        return e2e_kfail(k, E2E_ERR_INVALID,
                         "kernel_shape/pads/strides/dilations lengths (%d/%d/%d/%d) do not match "
                         "%d spatial dims", nk, np, ns, nd, nsp);
    if (k->n_in > 2 && k->in[2] && (k->in[2]->shape.rank != 1 || k->in[2]->shape.dims[0] != p.M))
        return e2e_kfail(k, E2E_ERR_SHAPE, "bias %s should be [%lld]",
                         e2e_shape_str(&k->in[2]->shape, s1, sizeof s1), (long long)p.M);
    e2e_shape ys = {.rank = xs->rank, .dims = {p.N, p.M}};
    int off = 3 - nsp;
    for (int i = 0; i < 3; i++) {
        p.id[i] = p.od[i] = p.kd[i] = p.st[i] = p.dl[i] = 1;
        p.pb[i] = 0;
    }
    for (int i = 0; i < nsp; i++) {
        int64_t kern = ws->dims[2 + i];
        if (nk && kshape[i] != kern)
            return e2e_kfail(k, E2E_ERR_SHAPE, "kernel_shape[%d]=%lld but the weight is %s", i,
                             (long long)kshape[i], e2e_shape_str(ws, s1, sizeof s1));
        int64_t s = ns ? strides[i] : 1, d = nd ? dils[i] : 1;
        int64_t pb = np ? pads[i] : 0, pe = np ? pads[i + nsp] : 0;
        if (s < 1 || d < 1 || pb < 0 || pe < 0 || kern < 1)
            return e2e_kfail(k, E2E_ERR_INVALID,
                             "spatial dim %d: stride %lld, dilation %lld, pads %lld/%lld, kernel %lld "
                             "are not valid", i, (long long)s, (long long)d, (long long)pb,
                             (long long)pe, (long long)kern);
        int64_t o = 0;
        if ((st = conv_dim(k, auto_pad, xs->dims[2 + i], kern, s, d, &pb, &pe, &o)))
            return st;
        if (o < 1 && xs->dims[2 + i] > 0)
            return e2e_kfail(k, E2E_ERR_SHAPE,
                             "spatial dim %d: the kernel (%lld, dilation %lld) is larger than the "
                             "padded input (%lld + %lld + %lld)", i, (long long)kern, (long long)d,
                             (long long)xs->dims[2 + i], (long long)pb, (long long)pe);
        p.id[off + i] = xs->dims[2 + i];
        p.od[off + i] = o;
        p.kd[off + i] = kern;
        p.st[off + i] = s;
        p.dl[off + i] = d;
        p.pb[off + i] = pb;
        ys.dims[2 + i] = o;
    }
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, &ys)))
        return st;
    p.isp = p.id[0] * p.id[1] * p.id[2];
    p.osp = p.od[0] * p.od[1] * p.od[2];
    p.ksp = p.kd[0] * p.kd[1] * p.kd[2];
    p.kdim = p.Cg * p.ksp;
    if (p.M > INT32_MAX || p.kdim > INT32_MAX || p.osp > INT32_MAX || p.isp > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "dimensions exceed the BLAS int range");

    bool unit = p.ksp == 1;
    for (int i = 0; i < 3; i++)
        unit = unit && p.st[i] == 1 && p.pb[i] == 0 && p.od[i] == p.id[i];
    if (p.Cg == 1 && p.G == p.C && p.G > 1)
        p.algo = CONV_DEPTHWISE;
    else if (unit)
        p.algo = CONV_GEMM_DIRECT;
    else {
        p.algo = CONV_IM2COL;
        int64_t cols = CONV_WS_TARGET / (int64_t)sizeof(float) / p.kdim;
        if (cols >= p.osp)
            cols = p.osp;
        else if (cols < 64)
            cols = p.osp < 64 ? p.osp : 64;
        p.panel = cols > 0 ? cols : 1;
        k->ws_size = (size_t)(p.kdim * p.panel) * sizeof(float);
    }
    conv_priv *pp = malloc(sizeof *pp);
    if (!pp)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    *pp = p;
    k->priv = pp;
    return E2E_OK;
}

/* y[0..n) += b, then the activation, in one pass over the row when possible. */
static void bias_act(const e2e_kernel *k, float *y, int64_t n, float b)
{
    if (k->act == E2E_ACT_RELU) {
        for (int64_t i = 0; i < n; i++) {
            float v = y[i] + b;
            y[i] = v > 0.f ? v : 0.f;
        }
        return;
    }
    if (b != 0.f)
        for (int64_t i = 0; i < n; i++)
            y[i] += b;
    e2e_act_apply(k->act, k->act_alpha, k->act_beta, y, n);
}

/* Unfolds columns [c0, c0 + nc) of the im2col matrix of one image group into col (kdim x nc). */
static void im2col(const conv_priv *p, const float *x, float *col, int64_t c0, int64_t nc)
{
    const int64_t ID = p->id[0], IH = p->id[1], IW = p->id[2];
    const int64_t OH = p->od[1], OW = p->od[2];
    int64_t row = 0;
    for (int64_t c = 0; c < p->Cg; c++)
        for (int64_t a = 0; a < p->kd[0]; a++)
            for (int64_t b = 0; b < p->kd[1]; b++)
                for (int64_t e = 0; e < p->kd[2]; e++, row++) {
                    float *dst = col + row * nc;
                    const float *xc = x + c * p->isp;
                    int64_t offd = a * p->dl[0] - p->pb[0], offh = b * p->dl[1] - p->pb[1];
                    int64_t offw = e * p->dl[2] - p->pb[2];
                    /* output position of column c0 */
                    int64_t q = c0;
                    int64_t ow = q % OW, oh = (q / OW) % OH, od = q / (OW * OH);
                    int64_t j = 0;
                    while (j < nc) {
                        int64_t len = OW - ow; /* rest of this output row */
                        if (len > nc - j)
                            len = nc - j;
                        int64_t iz = od * p->st[0] + offd, iy = oh * p->st[1] + offh;
                        if (iz < 0 || iz >= ID || iy < 0 || iy >= IH) {
                            memset(dst + j, 0, sizeof(float) * (size_t)len);
                        } else {
                            const float *src = xc + (iz * IH + iy) * IW;
                            int64_t sw = p->st[2], ix = ow * sw + offw;
                            if (sw == 1 && ix >= 0 && ix + len <= IW) {
                                memcpy(dst + j, src + ix, sizeof(float) * (size_t)len);
                            } else {
                                for (int64_t t = 0; t < len; t++, ix += sw)
                                    dst[j + t] = ix >= 0 && ix < IW ? src[ix] : 0.f;
                            }
                        }
                        j += len;
                        ow = 0;
                        if (++oh == OH) {
                            oh = 0;
                            od++;
                        }
                    }
                }
}

/* Range of output indices o in [0, no) with 0 <= o*s + off < ni. */
static void valid_range(int64_t no, int64_t s, int64_t off, int64_t ni, int64_t *lo, int64_t *hi)
{
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = ni - off <= 0 ? 0 : (ni - off - 1) / s + 1;
    if (h > no)
        h = no;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

static void conv_depthwise(const e2e_kernel *k, const conv_priv *p, const float *X, const float *W,
                           const float *B, float *Y)
{
    const int64_t mult = p->Mg; /* output channels per input channel */
    const int64_t ID = p->id[0], IH = p->id[1], IW = p->id[2];
    const int64_t OD = p->od[0], OH = p->od[1], OW = p->od[2];
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t m = 0; m < p->M; m++) {
            const float *x = X + (n * p->C + m / mult) * p->isp;
            const float *w = W + m * p->ksp;
            float *y = Y + (n * p->M + m) * p->osp;
            float b = B ? B[m] : 0.f;
            for (int64_t od = 0; od < OD; od++)
                for (int64_t oh = 0; oh < OH; oh++) {
                    float *yr = y + (od * OH + oh) * OW;
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] = b;
                    for (int64_t a = 0; a < p->kd[0]; a++) {
                        int64_t iz = od * p->st[0] - p->pb[0] + a * p->dl[0];
                        if (iz < 0 || iz >= ID)
                            continue;
                        for (int64_t bb = 0; bb < p->kd[1]; bb++) {
                            int64_t iy = oh * p->st[1] - p->pb[1] + bb * p->dl[1];
                            if (iy < 0 || iy >= IH)
                                continue;
                            const float *xr = x + (iz * IH + iy) * IW;
                            const float *wr = w + (a * p->kd[1] + bb) * p->kd[2];
                            for (int64_t e = 0; e < p->kd[2]; e++) {
                                int64_t off = e * p->dl[2] - p->pb[2], lo, hi;
                                valid_range(OW, p->st[2], off, IW, &lo, &hi);
                                const float wv = wr[e];
                                if (p->st[2] == 1) {
                                    for (int64_t ow = lo; ow < hi; ow++)
                                        yr[ow] += wv * xr[ow + off];
                                } else {
                                    for (int64_t ow = lo; ow < hi; ow++)
                                        yr[ow] += wv * xr[ow * p->st[2] + off];
                                }
                            }
                        }
                    }
                    bias_act(k, yr, OW, 0.f);
                }
        }
}

static e2e_status conv_run(e2e_kernel *k)
{
    const conv_priv *p = k->priv;
    const float *X = k->in[0]->data, *W = k->in[1]->data;
    const float *B = k->n_in > 2 && k->in[2] ? k->in[2]->data : NULL;
    float *Y = k->out[0]->data;
    if (p->N == 0 || p->M == 0 || p->osp == 0)
        return E2E_OK;
    if (p->algo == CONV_DEPTHWISE) {
        conv_depthwise(k, p, X, W, B, Y);
        return E2E_OK;
    }
    const int Mg = (int)p->Mg, kdim = (int)p->kdim, osp = (int)p->osp;
    for (int64_t n = 0; n < p->N; n++) {
        for (int64_t g = 0; g < p->G; g++) {
            const float *x = X + (n * p->C + g * p->Cg) * p->isp;
            const float *w = W + g * p->Mg * p->kdim;
            float *y = Y + (n * p->M + g * p->Mg) * p->osp;
            if (p->algo == CONV_GEMM_DIRECT) {
                if (kdim == 0)
                    memset(y, 0, sizeof(float) * (size_t)(p->Mg * p->osp));
                else
                    e2e_sgemm(k->pool, CblasNoTrans, CblasNoTrans, Mg, osp, kdim, 1.f, w,
                                kdim, x, osp, 0.f, y, osp);
                for (int64_t m = 0; m < p->Mg; m++)
                    bias_act(k, y + m * p->osp, p->osp, B ? B[g * p->Mg + m] : 0.f);
                continue;
            }
            float *col = k->ws;
            for (int64_t c0 = 0; c0 < p->osp; c0 += p->panel) {
                int64_t nc = p->osp - c0 < p->panel ? p->osp - c0 : p->panel;
                if (kdim == 0) {
                    for (int64_t m = 0; m < p->Mg; m++)
                        memset(y + m * p->osp + c0, 0, sizeof(float) * (size_t)nc);
                } else {
                    im2col(p, x, col, c0, nc);
                    e2e_sgemm(k->pool, CblasNoTrans, CblasNoTrans, Mg, (int)nc, kdim, 1.f,
                                w, kdim, col, (int)nc, 0.f, y + c0, osp);
                }
                for (int64_t m = 0; m < p->Mg; m++)
                    bias_act(k, y + m * p->osp + c0, nc, B ? B[g * p->Mg + m] : 0.f);
            }
        }
    }
    return E2E_OK;
}

const e2e_op_def e2e_ops_conv[] = {
    {"Conv", conv_prepare, conv_run, free, E2E_OP_FUSES_ACT},
    {0},
};
