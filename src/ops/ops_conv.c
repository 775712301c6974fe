/* Conv (float32, NC + 1 to 3 spatial dims) on OpenBLAS sgemm.

   Geometry is normalised at prepare to three spatial dims (D, H, W; missing leading dims are 1)
   and one of five algorithms is chosen:
     CONV_GEMM_DIRECT  1x1 kernel, stride 1, no padding: Y[g] = W[g] * X[g] straight on the
                       input, one sgemm per image and group.
     CONV_DEPTHWISE    group == C and one input channel per group: a direct loop per output
                       row, accumulating one kernel tap at a time (vectorisable for stride 1).
     CONV_IM2COL       everything else: the input patches of one image are unfolded into the
                       shared workspace (Kdim x panel columns) and multiplied by W[g]; huge
                       images are processed in column panels so the workspace stays bounded.
     CONV_DIRECT       (AVX-512 or AVX2 level) 2-D, stride 1, group 1, constant weights,
                       rows of at least ~10 outputs: a direct kernel. Rows of the input are
                       copied with their zero padding into a per-thread slab in the workspace;
                       the weights are packed at prepare as [M/G][Cg*KH*KW][8], and each step
                       of the kernel multiplies G = 8 output channels by up to 3 vectors of 16
                       output pixels (24 accumulators; AVX2: G = 6 channels by 2 vectors of 8,
                       12 accumulators), one broadcast weight per channel and tap, so nothing
                       is unfolded and nothing leaves the registers until the sum is done.
                       Output rows (of all images) are cut into tasks that the threads claim.
     CONV_WINOGRAD     the same conditions with a 3x3 kernel, no dilation and enough channels
                       to pay for the transforms (wino_fits; AVX-512: 16 -> 32 yes, 8 -> 16 no;
                       AVX2: from 4 input channels): Winograd F(2x2, 3x3). The weights are
                       transformed at prepare (U = G g G^T, 16 values per filter); per chunk of
                       tile rows the padded input is transformed (V = B^T d B, 16 tiles per
                       vector, AVX2 8 of one tile row; tiles of all rows in one flat list), 16
                       products U_xi * V_xi over the channels run on a register tile (AVX-512:
                       the direct kernel's, 8 channels by 3 vectors; AVX2: 4 by 3), and the output
                       transform (A^T m A) adds the bias and the activation and writes each 2x2
                       tile. 16 multiplies per 4 outputs instead of 36; the transforms use only
                       +-1 and 1/2, so results stay within float rounding of the direct sum.
                       With optimize >= 2 (AVX2 level) F(4x4, 3x3) instead, where rows hold
                       enough 4-wide tiles: 36 multiplies per 16 outputs, about 20% faster on
                       the SimpleNet layers, but its transforms scale by up to 8 and round about
                       ten times more (errors up to ~3e-6 of each output's sum of |terms|).
     CONV_BF16         (precision BF16, e2e_conv_bf16_for: AVX512_BF16 at the AVX-512 level)
                       the direct conditions, any kernel size but 1x1, in place of both the
                       direct and the Winograd kernel: weights in bfloat16 channel pairs, the
                       input rounded to bfloat16 pairs in the slab, VDPBF16PS with float32 sums
                       (conv_bf16.c, x86/conv_bf16_avx512.c; conv_internal.h). On the jet
                       SimpleNets' 16 -> 32 layer it is ~1.1x the float32 Winograd kernel (2.25x
                       the multiplies at twice the rate), on the 5 -> 16 layer ~1.4x the
                       float32 direct kernel (CPU time, AMD EPYC with AVX512_BF16).
   The bias and the fused activation (k->act) are applied to each output row right after it
   is produced, while it is still in cache.

   ConvMaxPool (e2e_op_conv_maxpool, at the end) is a Conv whose activated output goes through
   a 2x2 / stride 2 max pool, made by the session's pattern fusions: the direct kernel pools
   the two rows of a pair in registers, the Winograd kernel takes each 2x2 tile as a window,
   and only the pooled tensor is written. With one input channel and a 3x3 kernel (the E/Gamma
   SimpleNet's first layer; AVX2) the direct kernel's 9-tap sums are too short for its 6-channel
   tile, and pool_c1 keeps one channel's 9 weights in registers instead (same bits). */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "ops/blas.h"
#include "ops/conv_internal.h"
#include "ops/ops_conv_chain.h"
#include "ops/op_geom.h"
#include "ops/cpu_isa.h"

/* direct kernel: bytes of padded input aimed for per slab */
#define DIRECT_SLAB_TARGET ((int64_t)256 << 10)

/* bytes of im2col workspace aimed for before splitting an image into column panels */
#define CONV_WS_TARGET ((int64_t)8 << 20)

static void conv_release(void *priv)
{
    conv_priv *p = priv;
    if (p) {
        free(p->wp);
        free(p->wpb);
        free(p->bias);
        free(p->off);
    }
    free(p);
}

#define CONV_LIMIT ((int64_t)1 << 40)

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

/* ---------------------------------------------------------------- CONV_DIRECT */

/* The direct and Winograd kernels cut their rows into up to this many tasks per thread,
   claimed dynamically: a thread the OS preempts then holds back a small share, not half. */
#define CONV_TASKS_PER_THREAD 4

/* workspace slots: one per thread (a task takes its thread's, e2e_pool_thread_index), so a run
   touches threads x slab bytes, not tasks x slab: after a large Gemm has flushed L2 the
   convolution refills less (jet SimpleNet conv1 at 2 threads) */
static int conv_slots(int threads) { return threads > 1 ? threads : 1; }

/* The kernel table of the session's instruction set, NULL for plain C. */
static const e2e_conv_kernels *conv_kernels_for(e2e_isa_level isa)
{
#ifdef E2E_X86
    switch (e2e_isa_select(isa)) {
    case E2E_ISA_AVX512: return &e2e_conv_avx512;
    case E2E_ISA_AVX2: return &e2e_conv_avx2;
    default: break;
    }
#endif
    (void)isa;
    return NULL;
}

static bool floats_finite(const float *x, int64_t n);

/* The shapes the direct kernels (float32 and bfloat16) take: 2-D, group 1, stride 1, constant
   finite weights and bias, taps whose packed weights fit in L2. */
static bool direct_shape_fits(const e2e_kernel *k, const conv_priv *p)
{
    if (p->G != 1 || p->id[0] != 1 || p->kd[0] != 1 || p->st[1] != 1 || p->st[2] != 1)
        return false;
    if (!k->in[1]->is_const || (k->n_in > 2 && k->in[2] && !k->in[2]->is_const))
        return false;
    /* non-finite weights: the plain path (the non-finite check looks at the inputs only) */
    if (!floats_finite(k->in[1]->data, k->in[1]->numel) ||
        (k->n_in > 2 && k->in[2] && !floats_finite(k->in[2]->data, k->in[2]->numel)))
        return false;
    return p->N > 0 && p->M > 0 && p->kdim >= 1 && p->kdim <= 4096;
}

static bool direct_fits(const e2e_kernel *k, const conv_priv *p)
{
    if (!p->ck || !direct_shape_fits(k, p))
        return false;
    const int64_t vec = p->ck->vec, OW = p->od[2], vecs = (OW + vec - 1) / vec;
    /* at least 60% of the vector lanes hold outputs */
    return OW * 10 >= vecs * vec * 6;
}

static e2e_status direct_prepare(e2e_kernel *k, conv_priv *p)
{
    const int64_t KH = p->kd[1], KW = p->kd[2], dh = p->dl[1], dw = p->dl[2], OH = p->od[1];
    const int64_t halo = (KH - 1) * dh;
    p->algo = CONV_DIRECT;
    p->pw = p->od[2] + (KW - 1) * dw;
    p->pad_t = p->pb[1];
    p->pad_l = p->pb[2];
    int64_t r = DIRECT_SLAB_TARGET / (p->C * p->pw * (int64_t)sizeof(float)) - halo;
    if (r < 4)
        r = 4;
    if (r > OH)
        r = OH;
    p->rows = r;
    p->units = OH;
    p->ysp = p->osp;
    p->threads = e2e_pool_threads(k->ctx->pool);
    p->slots = conv_slots(p->threads);
    /* 32 floats of slack: the last vector of a row reads up to 15 lanes past it */
    p->slab = (p->C * (r + halo) * p->pw + 32 + 15) & ~(int64_t)15;
    if (p->slab > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "padded input rows exceed the int32 range");
    k->ws_size = (size_t)(p->slab * p->slots) * sizeof(float);
    const int64_t G = p->ck->direct_g, nb = (p->M + G - 1) / G, kdim = p->kdim;
    p->wp = calloc((size_t)(nb * kdim * DIRECT_MB), sizeof(float));
    p->bias = calloc((size_t)(nb * DIRECT_MB), sizeof(float));
    p->off = malloc(sizeof(int32_t) * (size_t)kdim);
    conv_priv *pp = malloc(sizeof *pp);
    if (!p->wp || !p->bias || !p->off || !pp) {
        free(pp);
        free(p->wp);
        free(p->bias);
        free(p->off);
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    }
    const float *W = k->in[1]->data;
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t t = 0; t < kdim; t++)
            p->wp[((m / G) * kdim + t) * DIRECT_MB + m % G] = W[m * kdim + t];
    if (k->n_in > 2 && k->in[2])
        memcpy(p->bias, k->in[2]->data, sizeof(float) * (size_t)p->M);
    const int64_t cs = p->cs = (r + halo) * p->pw;
    for (int64_t c = 0, t = 0; c < p->C; c++)
        for (int64_t ky = 0; ky < KH; ky++)
            for (int64_t kx = 0; kx < KW; kx++, t++)
                p->off[t] = (int32_t)(c * cs + ky * dh * p->pw + kx * dw);
    *pp = *p;
    k->priv = pp;
    return E2E_OK;
}

/* ---------------------------------------------------------------- CONV_WINOGRAD */

/* bytes of transformed input (V) aimed for per chunk */
#ifndef WINO_V_TARGET
#define WINO_V_TARGET ((int64_t)192 << 10)
#endif
extern const e2e_op_def e2e_op_conv_maxpool; /* at the end of this file */

/* The Winograd output tile for this convolution: 0 (none: the direct kernel), 2 (F(2x2, 3x3))
   or 4 (F(4x4, 3x3): AVX2 only, with optimize >= 2, when rows hold enough 4-wide tiles to
   fill the lanes; its transforms multiply by up to 8 and round about ten times more). The
   instruction set's kernels decide where the transforms pay. */
static int wino_fits(const e2e_kernel *k, const conv_priv *p)
{
    if (p->kd[1] != 3 || p->kd[2] != 3 || p->dl[1] != 1 || p->dl[2] != 1 || p->od[1] < 2)
        return 0;
    return p->ck->wino_tile(k, p, k->op == &e2e_op_conv_maxpool);
}

static e2e_status wino_prepare(e2e_kernel *k, conv_priv *p, int wf)
{
    const int64_t C = p->C, OH = p->od[1], OW = p->od[2];
    const int nx = (wf + 2) * (wf + 2); /* transformed values per filter: 16 or 36 */
    p->algo = CONV_WINOGRAD;
    p->wf = wf;
    p->tw = (OW + wf - 1) / wf;
    p->th = (OH + wf - 1) / wf;
    if (p->ck->vec == 8) {
        p->twp = (p->tw + 7) & ~(int64_t)7;
        /* the input transforms read 18 (F2) or 36 (F4) columns from each tile vector's start */
        p->pw = wf * p->twp + 4;
    } else {
        p->twp = p->tw <= 8 ? 8 : p->tw;
        const int64_t tv = (p->tw + 15) / 16;
        /* the input transform reads 34 columns from each tile vector's start */
        p->pw = 32 * tv + 2;
    }
    p->pad_t = p->pb[1];
    p->pad_l = p->pb[2];
    int64_t r = WINO_V_TARGET / (nx * C * p->twp * (int64_t)sizeof(float));
    if (r < 1)
        r = 1;
    if (r > p->th)
        r = p->th;
    p->rows = r;
    p->units = p->th;
    p->ysp = p->osp;
    p->tpad = (r * p->twp + 15) & ~(int64_t)15;
    p->threads = e2e_pool_threads(k->ctx->pool);
    p->slots = conv_slots(p->threads);
    /* input rows of a chunk and two more: with two tile rows per vector (AVX-512, F2), an odd
       last tile row reads (ignored) rows past it */
    int64_t slab = (C * (wf * r + 4) * p->pw + 32 + 15) & ~(int64_t)15;
    p->v_at = slab;
    p->vxs = C * p->tpad + 16;
    p->buf_at = p->v_at + nx * p->vxs + 16;
    const int64_t wg = p->ck->wino_g;
    p->slab = p->buf_at + nx * wg * WINO_TV * p->ck->vec;
    if (p->slab > INT32_MAX || C * p->tpad > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "padded input rows exceed the int32 range");
    k->ws_size = (size_t)(p->slab * p->slots) * sizeof(float);
    const int64_t nb = (p->M + wg - 1) / wg;
    p->wp = calloc((size_t)(nb * nx * C * wg), sizeof(float));
    p->bias = calloc((size_t)(nb * wg), sizeof(float));
    p->off = malloc(sizeof(int32_t) * (size_t)C);
    conv_priv *pp = malloc(sizeof *pp);
    if (!p->wp || !p->bias || !p->off || !pp) {
        free(pp);
        free(p->wp);
        free(p->bias);
        free(p->off);
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    }
    /* U = G g G^T, in double: F2 G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]; F4 the 6 x 3 G
       of the points 0, +-1, +-2 */
    static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    static const double G4[6][3] = {{0.25, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    const int n = wf + 2;
    const float *W = k->in[1]->data;
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = W + (m * C + c) * 9;
            double t[6][3];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < 3; j++) {
                    const double *Gi = wf == 4 ? G4[i] : G2[i];
                    t[i][j] = Gi[0] * g[j] + Gi[1] * g[3 + j] + Gi[2] * g[6 + j];
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    const double *Gj = wf == 4 ? G4[j] : G2[j];
                    double u = t[i][0] * Gj[0] + t[i][1] * Gj[1] + t[i][2] * Gj[2];
                    p->wp[(((m / wg) * nx + i * n + j) * C + c) * wg + m % wg] = (float)u;
                }
        }
    if (k->n_in > 2 && k->in[2])
        memcpy(p->bias, k->in[2]->data, sizeof(float) * (size_t)p->M);
    for (int64_t c = 0; c < C; c++)
        p->off[c] = (int32_t)(c * p->tpad);
    *pp = *p;
    k->priv = pp;
    return E2E_OK;
}

/* Conv's attributes and shapes (input in[xi], weight in[wi], bias in[bi] or none when bi < 0):
   fills the geometry of *out (N, C, M, G, Cg, Mg, the D/H/W sizes, isp/osp/ksp/kdim) and the
   output shape. Shared with ConvInteger and QLinearConv (ops_quant.c). */
e2e_status e2e_conv_geometry(e2e_kernel *k, int xi, int wi, int bi, conv_priv *out, e2e_shape *ys)
{
    e2e_status st;
    const e2e_shape *xs = &k->in[xi]->shape, *ws = &k->in[wi]->shape;
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
    if (bi >= 0 && k->n_in > bi && k->in[bi] &&
        (k->in[bi]->shape.rank != 1 || k->in[bi]->shape.dims[0] != p.M))
        return e2e_kfail(k, E2E_ERR_SHAPE, "bias %s should be [%lld]",
                         e2e_shape_str(&k->in[bi]->shape, s1, sizeof s1), (long long)p.M);
    *ys = (e2e_shape){.rank = xs->rank, .dims = {p.N, p.M}};
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
        /* beyond 2^40 these are certainly corrupt; within it the arithmetic cannot overflow */
        if (s > CONV_LIMIT || d > CONV_LIMIT || pb > CONV_LIMIT || pe > CONV_LIMIT ||
            kern - 1 > CONV_LIMIT / d)
            return e2e_kfail(k, E2E_ERR_SHAPE,
                             "spatial dim %d: stride %lld, dilation %lld, pads %lld/%lld, kernel %lld "
                             "are out of range", i, (long long)s, (long long)d, (long long)pb,
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
        ys->dims[2 + i] = o;
    }
    p.isp = p.id[0] * p.id[1] * p.id[2];
    p.osp = p.od[0] * p.od[1] * p.od[2];
    p.ksp = p.kd[0] * p.kd[1] * p.kd[2];
    p.kdim = p.Cg * p.ksp;
    if (p.M > INT32_MAX || p.kdim > INT32_MAX || p.osp > INT32_MAX || p.isp > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "dimensions exceed the BLAS int range");
    *out = p;
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
    conv_priv p;
    e2e_shape ys;
    if ((st = e2e_conv_geometry(k, 0, 1, 2, &p, &ys)) || (st = e2e_out_set(k, 0, E2E_FLOAT, &ys)))
        return st;
    p.ck = conv_kernels_for(k->ctx->isa);
    if (k->ctx->precision == E2E_PRECISION_BF16) {
        const e2e_conv_bf16_kernels *bk = e2e_conv_bf16_for(k->ctx->isa);
        if (bk && p.ksp > 1 && direct_shape_fits(k, &p))
            return e2e_conv_bf16_prepare(k, &p, bk, k->op == &e2e_op_conv_maxpool);
    }

    bool unit = p.ksp == 1;
    for (int i = 0; i < 3; i++)
        unit = unit && p.st[i] == 1 && p.pb[i] == 0 && p.od[i] == p.id[i];
    if (p.Cg == 1 && p.G == p.C && p.G > 1)
        p.algo = CONV_DEPTHWISE;
    else if (unit)
        p.algo = CONV_GEMM_DIRECT;
    else if (direct_fits(k, &p)) {
        const int wf = wino_fits(k, &p);
        return wf ? wino_prepare(k, &p, wf) : direct_prepare(k, &p);
    }
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
            y[i] = v < 0.f ? 0.f : v; /* the Relu kernel's form: a NaN stays NaN */
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


/* Non-finite inputs. The Winograd transforms mix a tile's inputs with +-1 before the
   products, so an Inf input gives Inf - Inf = NaN where the direct sum is +-Inf (after Relu:
   NaN where the plain graph has 0); and the pooled kernels take vmaxps, which drops a NaN in
   one of its operands (MaxPool lets a NaN win). Rather than paying for NaN-aware maxima in
   every register tile, a chunk whose input rows hold a NaN or Inf (one vector pass over
   them, the instruction set's ck->finite) is computed by exact_chunk, plain direct sums and e2e_fmax_nan:
   the plain graph's non-finite outputs (docs/operator-notes.md, "NaN and Inf"). The weights
   and biases of these kernels are finite (direct_fits). */
static bool floats_finite(const float *x, int64_t n)
{
    /* x - x is 0, or NaN for Inf and NaN; 16 independent sums (vectorised at -O2). For the
       weights at prepare; chunks of inputs go through the vector form (ck->finite). */
    float a[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++)
            a[l] += x[i + l] - x[i + l];
    for (; i < n; i++)
        a[0] += x[i] - x[i];
    float t = 0.f;
    for (int l = 0; l < 16; l++)
        t += a[l];
    return t == 0.f;
}

/* Output rows [*oy0, *oy1) behind work units [u0, u1) (output rows, row pairs or tile rows). */
static void unit_rows(const conv_priv *p, int64_t u0, int64_t u1, int64_t *oy0, int64_t *oy1)
{
    const int64_t step = p->algo == CONV_WINOGRAD ? p->wf : p->pool2 ? 2 : 1;
    *oy0 = u0 * step;
    *oy1 = u1 * step < p->od[1] ? u1 * step : p->od[1];
}

static bool rows_finite(const conv_priv *p, const float *x, int64_t u0, int64_t u1)
{
    int64_t oy0, oy1;
    unit_rows(p, u0, u1, &oy0, &oy1);
    int64_t iy0 = oy0 * p->st[1] - p->pb[1], iy1 = (oy1 - 1) * p->st[1] + (p->kd[1] - 1) * p->dl[1] + 1 - p->pb[1];
    iy0 = iy0 < 0 ? 0 : iy0;
    iy1 = iy1 > p->id[1] ? p->id[1] : iy1;
    for (int64_t c = 0; c < p->C && iy0 < iy1; c++)
        if (!(p->ck ? p->ck->finite : floats_finite)(x + c * p->isp + iy0 * p->id[2], (iy1 - iy0) * p->id[2]))
            return false;
    return true;
}

/* Output (oy, ox) of channel m, activated: the direct sum (group 1, 2-D). */
static float conv_at(const e2e_kernel *k, const conv_priv *p, const float *x, int64_t m, int64_t oy,
                     int64_t ox)
{
    const float *w = (const float *)k->in[1]->data + m * p->kdim;
    const int64_t KH = p->kd[1], KW = p->kd[2], IH = p->id[1], IW = p->id[2];
    float s = 0.f;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t ky = 0; ky < KH; ky++) {
            const int64_t iy = oy * p->st[1] + ky * p->dl[1] - p->pb[1];
            if (iy < 0 || iy >= IH)
                continue;
            for (int64_t kx = 0; kx < KW; kx++) {
                const int64_t ix = ox * p->st[2] + kx * p->dl[2] - p->pb[2];
                if (ix >= 0 && ix < IW)
                    s += w[(c * KH + ky) * KW + kx] * x[c * p->isp + iy * IW + ix];
            }
        }
    s += p->bias[m];
    e2e_act_apply(k->act, k->act_alpha, k->act_beta, &s, 1);
    return s;
}

/* What the kernel writes for work units [u0, u1), by direct sums. */
static void exact_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                        int64_t u0, int64_t u1)
{
    const int64_t OW = p->od[2];
    int64_t oy0, oy1;
    unit_rows(p, u0, u1, &oy0, &oy1);
    if (p->pool2) {
        const int64_t PWo = OW / 2, py1 = oy1 / 2 < p->od[1] / 2 ? oy1 / 2 : p->od[1] / 2;
        for (int64_t m = 0; m < p->M; m++)
            for (int64_t py = oy0 / 2; py < py1; py++)
                for (int64_t px = 0; px < PWo; px++) {
                    const float a = conv_at(k, p, x, m, 2 * py, 2 * px),
                                b = conv_at(k, p, x, m, 2 * py, 2 * px + 1),
                                c = conv_at(k, p, x, m, 2 * py + 1, 2 * px),
                                d = conv_at(k, p, x, m, 2 * py + 1, 2 * px + 1);
                    y[m * p->ysp + py * PWo + px] = e2e_fmax_nan(e2e_fmax_nan(a, b), e2e_fmax_nan(c, d));
                }
        return;
    }
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t oy = oy0; oy < oy1; oy++)
            for (int64_t ox = 0; ox < OW; ox++)
                y[m * p->ysp + oy * OW + ox] = conv_at(k, p, x, m, oy, ox);
}

typedef struct direct_job {
    const e2e_kernel *k;
    const float *X;
    float *Y;
    int64_t N;
    const e2e_conv_bf16_next *after; /* CONV_BF16: what follows the last chunk, or NULL */
} direct_job;

/* Task t of n: its share of the N * OH output rows (Winograd: N * TH tile rows), through
   slot t of the workspace. */
static void direct_task(void *ctx, int t, int n)
{
    const direct_job *j = ctx;
    const conv_priv *p = j->k->priv;
    const bool wino = p->algo == CONV_WINOGRAD;
    const int64_t OH = p->units, total = j->N * OH;
    const int64_t lo = total * t / n, hi = total * (t + 1) / n;
    const int slot = e2e_pool_thread_index();
    float *slab = (float *)j->k->ws + (int64_t)(slot < p->slots ? slot : 0) * p->slab;
    for (int64_t r = lo; r < hi;) {
        int64_t img = r / OH, oy0 = r % OH, oy1 = oy0 + p->rows;
        if (oy1 > OH)
            oy1 = OH;
        if (oy1 - oy0 > hi - r)
            oy1 = oy0 + (hi - r);
        const float *x = j->X + img * p->C * p->isp;
        float *y = j->Y + img * p->M * p->ysp;
        /* the bfloat16 direct kernels' sums and pooling keep NaN and Inf themselves; Winograd's
           transforms would mix them into neighbouring outputs (the bfloat16 Winograd kernel
           checks the rows it copies itself and says so) */
        if ((wino || p->pool2) && p->algo != CONV_BF16 && !rows_finite(p, x, oy0, oy1))
            exact_chunk(j->k, p, x, y, oy0, oy1);
        else if (p->algo == CONV_BF16) {
            /* the task's next chunk, as the loop below will cut it */
            e2e_conv_bf16_next nx;
            const e2e_conv_bf16_next *np = t == n - 1 ? j->after : NULL;
            const int64_t rn = r + (oy1 - oy0);
            if (rn < hi) {
                const int64_t in = rn / OH, u = rn % OH;
                int64_t u1 = u + p->rows < OH ? u + p->rows : OH;
                if (u1 - u > hi - rn)
                    u1 = u + (hi - rn);
                nx = e2e_conv_bf16_next_of(p, j->X + in * p->C * p->isp,
                                           j->Y + in * p->M * p->ysp, u, u1);
                np = &nx;
            }
            if (!p->bwino)
                p->bk->chunk(j->k, p, x, y, slab, oy0, oy1, np);
            else if (!p->bk->wino_chunk(j->k, p, x, y, slab, oy0, oy1, np))
                exact_chunk(j->k, p, x, y, oy0, oy1);
        }
        else if (wino)
            p->ck->wino_chunk(j->k, p, x, y, slab, oy0, oy1);
        else if (p->pool2)
            p->ck->direct_chunk_pool(j->k, p, x, y, slab, oy0, oy1);
        else
            p->ck->direct_chunk(j->k, p, x, y, slab, oy0, oy1);
        r += oy1 - oy0;
    }
}

static void conv_direct(const e2e_kernel *k, const conv_priv *p, const float *X, float *Y,
                        int64_t N, const e2e_conv_bf16_next *after)
{
    direct_job j = {k, X, Y, N, after};
    int64_t total = N * p->units;
    /* one task per thread, or more of at least 4 rows (tile rows, row pairs) each */
    int64_t n = total / 4 > p->threads ? total / 4 : p->threads;
    if (n > CONV_TASKS_PER_THREAD * (int64_t)p->threads)
        n = CONV_TASKS_PER_THREAD * (int64_t)p->threads;
    if (n > total)
        n = total;
    /* below ~1 MFLOP a second thread costs more than it saves */
    if (2.0 * (double)p->M * (double)p->osp * (double)p->kdim * (double)N < 1e6)
        n = 1;
    e2e_pool_run(k->ctx->pool, direct_task, &j, (int)n);
}

void e2e_conv_run_images(const e2e_kernel *k, const float *X, float *Y, int64_t n,
                         const e2e_conv_bf16_next *after)
{
    const conv_priv *p = k->priv;
    if (n > 0 && p->M > 0 && p->osp > 0)
        conv_direct(k, p, X, Y, n, after);
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
    if (p->algo == CONV_DIRECT || p->algo == CONV_WINOGRAD || p->algo == CONV_BF16) {
        conv_direct(k, p, X, Y, p->N, NULL);
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
                    e2e_sgemm(k->ctx->pool, CblasNoTrans, CblasNoTrans, Mg, osp, kdim, 1.f, w,
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
                    e2e_sgemm(k->ctx->pool, CblasNoTrans, CblasNoTrans, Mg, (int)nc, kdim, 1.f,
                                w, kdim, col, (int)nc, 0.f, y + c0, osp);
                }
                for (int64_t m = 0; m < p->Mg; m++)
                    bias_act(k, y + m * p->osp + c0, nc, B ? B[g * p->Mg + m] : 0.f);
            }
        }
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- ConvMaxPool */

/* Conv (attributes and inputs of the Conv node) whose activated output goes through a MaxPool
   with a 2x2 window, stride 2, no padding, dilation 1 and floor rounding: out[0] is the pooled
   tensor [N, M, OH/2, OW/2]; the full-size convolution is never stored. Made by the session's
   pattern fusions (engine/passes/fuse_conv_pool.c) for 2-D convolutions that take the direct or Winograd
   kernel (prepare fails otherwise and the graph is left as written). k->act is applied to each
   element before the maximum, so any activation gives the unfused result. */
static e2e_status convpool_prepare(e2e_kernel *k)
{
    e2e_status st;
    if (k->n_in < 1 || !k->in[0] || k->in[0]->shape.rank != 4)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "fused pooling needs a 2-D convolution");
    if ((st = conv_prepare(k)))
        return st;
    conv_priv *p = k->priv;
    if ((p->algo != CONV_DIRECT && p->algo != CONV_WINOGRAD && p->algo != CONV_BF16) || p->od[1] < 2 || p->od[2] < 2) {
        conv_release(p);
        k->priv = NULL;
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED,
                         "fused pooling needs the direct or Winograd kernel and a 2x2 output");
    }
    p->pool2 = true;
    /* row pairs, or tile rows, that give pooled rows (F4: two pooled rows per tile row) */
    p->units = p->algo == CONV_WINOGRAD && p->wf == 4 ? (p->od[1] / 2 + 1) / 2 : p->od[1] / 2;
    if (p->algo == CONV_DIRECT || (p->algo == CONV_BF16 && !p->bwino))
        p->rows = p->rows / 2 > 0 ? p->rows / 2 : 1;
    e2e_shape ys = k->out[0]->shape;
    ys.dims[2] = p->od[1] / 2;
    ys.dims[3] = p->od[2] / 2;
    p->ysp = ys.dims[2] * ys.dims[3];
    return e2e_out_set(k, 0, E2E_FLOAT, &ys);
}

const e2e_op_def e2e_op_conv_maxpool = {"ConvMaxPool", convpool_prepare, conv_run, conv_release, 0};

const e2e_op_def e2e_ops_conv[] = {
    {"Conv", conv_prepare, conv_run, conv_release, E2E_OP_FUSES_ACT},
    {0},
};

bool e2e_conv_geom_of(const e2e_kernel *k, e2e_window_geom *g)
{
    const conv_priv *p = k->priv;
    if (!k->op || k->op->prepare != conv_prepare || !p)
        return false;
    *g = (e2e_window_geom){.N = p->N, .C = p->C, .M = p->M, .G = p->G, .isp = p->isp, .osp = p->osp,
                           .ksp = p->ksp};
    for (int i = 0; i < 3; i++) {
        g->id[i] = p->id[i];
        g->od[i] = p->od[i];
        g->kd[i] = p->kd[i];
        g->st[i] = p->st[i];
        g->dl[i] = p->dl[i];
        g->pb[i] = p->pb[i];
    }
    return true;
}

bool e2e_conv_chain_fits(const e2e_kernel *a, const e2e_kernel *b)
{
    const conv_priv *p = a->priv, *q = b->priv;
    return a->op == &e2e_op_conv_maxpool && b->op == &e2e_op_conv_maxpool && p && q &&
           p->algo == CONV_BF16 && q->algo == CONV_BF16 && p->pool2 && q->pool2 &&
           b->in[0] == a->out[0] && p->N == q->N && q->C == p->M && q->isp == p->ysp;
}
