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
     CONV_DIRECT       (AVX-512 or AVX2+FMA builds) 2-D, stride 1, group 1, constant weights,
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
                       With optimize >= 2 (AVX2 builds) F(4x4, 3x3) instead, where rows hold
                       enough 4-wide tiles: 36 multiplies per 16 outputs, about 20% faster on
                       the SimpleNet layers, but its transforms scale by up to 8 and round about
                       ten times more (errors up to ~3e-6 of each output's sum of |terms|).
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

#if defined(__AVX512F__)
#define CONV_VEC 16 /* direct kernel lanes: AVX-512 */
#elif defined(__AVX2__) && defined(__FMA__)
#define CONV_VEC 8  /* AVX2 + FMA */
#endif
#ifdef CONV_VEC
#include <immintrin.h>
#endif

#include "ops/blas.h"
#include "ops/op.h"
#include "ops/vmath.h"

enum { CONV_GEMM_DIRECT, CONV_DEPTHWISE, CONV_IM2COL, CONV_DIRECT, CONV_WINOGRAD };

/* direct kernel: floats per packed weight tap (DIRECT_MB), output channels per packed group
   and register tile (DIRECT_G; AVX2 uses 6 of the 8 slots), bytes of padded input aimed for
   per slab */
#define DIRECT_MB 8
#if CONV_VEC == 8
#define DIRECT_G 6
#else
#define DIRECT_G DIRECT_MB
#endif
#define DIRECT_SLAB_TARGET ((int64_t)256 << 10)

/* bytes of im2col workspace aimed for before splitting an image into column panels */
#define CONV_WS_TARGET ((int64_t)8 << 20)

typedef struct conv_priv {
    int algo;
    int64_t N, C, M, G, Cg, Mg;
    int64_t id[3], od[3], kd[3], st[3], dl[3], pb[3]; /* D, H, W */
    int64_t isp, osp, ksp;  /* spatial sizes: input, output, kernel */
    int64_t kdim;           /* Cg * ksp: rows of the im2col matrix */
    int64_t panel;          /* im2col columns per panel */
    /* CONV_DIRECT */
    int64_t pw;             /* padded row length: OW + (KW-1)*dw */
    int64_t rows;           /* output rows per slab */
    int64_t cs;             /* floats per channel in a slab */
    int64_t slab;           /* floats per slab (one per thread: slots) */
    int64_t pad_l, pad_t;   /* left and top padding */
    int threads;
    int slots;              /* workspace slots: one per thread */
    float *wp;              /* packed weights [ceil(M/G)][kdim][8] (G = DIRECT_G) */
    float *bias;            /* M biases, padded to the group (zeros when absent) */
    int32_t *off;           /* per tap (c, ky, kx): offset into the slab (Winograd: per c, into V) */
    /* CONV_WINOGRAD (rows = tile rows per chunk; wp = [ceil(M/WINO_G)][nx][C][WINO_G] transformed,
       nx = 16 or 36 transformed values per filter) */
    int64_t tw, th;         /* wf x wf output tiles per row, tile rows per image */
    int64_t twp;            /* tile row stride in the flat tile list: AVX-512 8 when tw <= 8 (two
                               tile rows per vector), else tw; AVX2 tw rounded up to 8 */
    int64_t tpad;           /* tiles per chunk rounded up to 16: row stride of V */
    int64_t vxs;            /* stride of V between the nx xi: C * tpad and one cache line more,
                               so the planes do not all map to the same L1 sets */
    int64_t v_at, buf_at;   /* offsets of V and of the tile buffer in a task's workspace */
    int wf;                 /* output tile: 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)) */
    /* both */
    int64_t units;          /* work units per image: output rows, tile rows or row pairs */
    bool pool2;             /* ConvMaxPool: a 2x2 / stride 2 max pool of the activated output */
    int64_t ysp;            /* floats per stored output plane */
} conv_priv;

static void conv_release(void *priv)
{
    conv_priv *p = priv;
    if (p) {
        free(p->wp);
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

static bool direct_fits(const e2e_kernel *k, const conv_priv *p)
{
#ifdef CONV_VEC
    if (p->G != 1 || p->id[0] != 1 || p->kd[0] != 1 || p->st[1] != 1 || p->st[2] != 1)
        return false;
    if (!k->in[1]->is_const || (k->n_in > 2 && k->in[2] && !k->in[2]->is_const))
        return false;
    int64_t OW = p->od[2], vecs = (OW + CONV_VEC - 1) / CONV_VEC;
    /* at least 60% of the vector lanes hold outputs; taps whose packed weights fit in L2 */
    return p->N > 0 && p->M > 0 && OW * 10 >= vecs * CONV_VEC * 6 && p->kdim >= 1 &&
           p->kdim <= 4096;
#else
    (void)k;
    (void)p;
    return false;
#endif
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
    p->threads = e2e_pool_threads(k->pool);
    p->slots = conv_slots(p->threads);
    /* 32 floats of slack: the last vector of a row reads up to 15 lanes past it */
    p->slab = (p->C * (r + halo) * p->pw + 32 + 15) & ~(int64_t)15;
    if (p->slab > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "padded input rows exceed the int32 range");
    k->ws_size = (size_t)(p->slab * p->slots) * sizeof(float);
    const int64_t nb = (p->M + DIRECT_G - 1) / DIRECT_G, kdim = p->kdim;
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
            p->wp[((m / DIRECT_G) * kdim + t) * DIRECT_MB + m % DIRECT_G] = W[m * kdim + t];
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
/* output channels per packed group of transformed weights (floats per channel step): AVX2
   takes 4 channels by 3 vectors of tiles per register tile, AVX-512 8 by 3 */
#if CONV_VEC == 8
#define WINO_G 4
#else
#define WINO_G DIRECT_MB
#endif
/* floats per xi in the product buffer: WINO_G channels by 3 vectors of tiles */
#define WINO_TV 3
#ifdef CONV_VEC
#define WINO_BS (WINO_G * WINO_TV * CONV_VEC)
#else
#define WINO_BS 1 /* no Winograd kernel without SIMD */
#endif
/* AVX2: fewest input channels for which the transforms pay (measured) */
#ifndef WINO_MIN_C
#define WINO_MIN_C 4
#endif

extern const e2e_op_def e2e_op_conv_maxpool; /* at the end of this file */

/* The Winograd output tile for this convolution: 0 (none: the direct kernel), 2 (F(2x2, 3x3))
   or 4 (F(4x4, 3x3): AVX2 only, with optimize >= 2, when rows hold enough 4-wide tiles to
   fill the lanes; its transforms multiply by up to 8 and round about ten times more). */
static int wino_fits(const e2e_kernel *k, const conv_priv *p)
{
    const int64_t C = p->C, M = p->M;
    if (p->kd[1] != 3 || p->kd[2] != 3 || p->dl[1] != 1 || p->dl[2] != 1 || p->od[1] < 2)
        return 0;
#if defined(__AVX512F__)
    /* Per output channel and 64 outputs the direct kernel spends ~18*C cycles; Winograd ~8*C
       on the products plus, measured, ~1.9 * (40*C/M + 30) on the transforms. Fused with the
       2x2 max pool the output transform stores a quarter of the values: the jet conv1
       (8 -> 16, 128x128) is ~10% faster with Winograd (paired runs, Sapphire Rapids-class
       Xeon), the same layer without the pool ~5% slower, 8 -> 8 with the pool ~20% slower. */
    const int64_t out_cost = k->op == &e2e_op_conv_maxpool ? 30 : 57;
    return C >= 8 && M >= 8 && p->od[2] >= 4 && 10 * C * M > 76 * C + out_cost * M ? 2 : 0;
#elif CONV_VEC == 8
    /* 8 tiles of one tile row per vector: at least 60% of the lanes hold tiles */
    if (C < WINO_MIN_C || M < 8)
        return 0;
    const int64_t t4 = (p->od[2] + 3) / 4, t2 = (p->od[2] + 1) / 2;
    if (k->optimize >= 2 && p->od[1] >= 4 && t4 * 10 >= ((t4 + 7) & ~(int64_t)7) * 6)
        return 4;
    return t2 * 10 >= ((t2 + 7) & ~(int64_t)7) * 6 ? 2 : 0;
#else
    (void)k;
    (void)C;
    (void)M;
    return 0;
#endif
}

static e2e_status wino_prepare(e2e_kernel *k, conv_priv *p, int wf)
{
    const int64_t C = p->C, OH = p->od[1], OW = p->od[2];
    const int nx = (wf + 2) * (wf + 2); /* transformed values per filter: 16 or 36 */
    p->algo = CONV_WINOGRAD;
    p->wf = wf;
    p->tw = (OW + wf - 1) / wf;
    p->th = (OH + wf - 1) / wf;
#if CONV_VEC == 8
    p->twp = (p->tw + 7) & ~(int64_t)7;
    /* the input transforms read 18 (F2) or 36 (F4) columns from each tile vector's start */
    p->pw = wf * p->twp + 4;
#else
    p->twp = p->tw <= 8 ? 8 : p->tw;
    const int64_t tv = (p->tw + 15) / 16;
    /* the input transform reads 34 columns from each tile vector's start */
    p->pw = 32 * tv + 2;
#endif
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
    p->threads = e2e_pool_threads(k->pool);
    p->slots = conv_slots(p->threads);
    /* input rows of a chunk and two more: with two tile rows per vector (AVX-512, F2), an odd
       last tile row reads (ignored) rows past it */
    int64_t slab = (C * (wf * r + 4) * p->pw + 32 + 15) & ~(int64_t)15;
    p->v_at = slab;
    p->vxs = C * p->tpad + 16;
    p->buf_at = p->v_at + nx * p->vxs + 16;
    p->slab = p->buf_at + nx * WINO_BS;
    if (p->slab > INT32_MAX || C * p->tpad > INT32_MAX)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "padded input rows exceed the int32 range");
    k->ws_size = (size_t)(p->slab * p->slots) * sizeof(float);
    const int64_t nb = (p->M + WINO_G - 1) / WINO_G;
    p->wp = calloc((size_t)(nb * nx * C * WINO_G), sizeof(float));
    p->bias = calloc((size_t)(nb * WINO_G), sizeof(float));
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
                    p->wp[(((m / WINO_G) * nx + i * n + j) * C + c) * WINO_G + m % WINO_G] = (float)u;
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

#ifdef CONV_VEC
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Copies input rows [iy0, iy0 + n) of the C planes of x, with their zero padding (rows out of
   the image, pad_l columns on the left, zeros up to pw on the right), into slab rows of pw
   floats, cs floats per channel. */
static void pad_rows(const conv_priv *p, const float *x, float *slab, int64_t iy0, int64_t n,
                     int64_t cs)
{
    const int64_t IH = p->id[1], IW = p->id[2], PW = p->pw;
    const int64_t nl = p->pad_l < PW ? p->pad_l : PW;
    const int64_t nm = IW < PW - nl ? IW : PW - nl;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t sr = 0; sr < n; sr++) {
            int64_t iy = iy0 + sr;
            float *d = slab + c * cs + sr * PW;
            if (iy < 0 || iy >= IH) {
                memset(d, 0, sizeof(float) * (size_t)PW);
                continue;
            }
#if CONV_VEC == 16
            /* Rows are short (a few hundred floats at most): each vector of the padded row is
               written once, from a masked load of the source (left padding < 16: the first
               vector expands the row's first floats into lanes nl..). Three library calls per
               row were ~10% of the jet conv1. */
            if (nl < 16) {
                const float *s = x + c * p->isp + iy * IW;
                const int64_t f = nm < 16 - nl ? nm : 16 - nl; /* source floats in vector 0 */
                const __mmask16 m0 = (__mmask16)(((1u << f) - 1) << nl);
                const __mmask16 w0 = PW >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << PW) - 1);
                _mm512_mask_storeu_ps(d, w0, _mm512_maskz_expandloadu_ps(m0, s));
                for (int64_t j = 16; j < PW; j += 16) {
                    const int64_t o = j - nl, left = nm - o, room = PW - j;
                    const __mmask16 lm = left >= 16 ? (__mmask16)0xFFFF
                                         : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
                    const __mmask16 wm = room >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << room) - 1);
                    _mm512_mask_storeu_ps(d + j, wm, _mm512_maskz_loadu_ps(lm, left > 0 ? s + o : s));
                }
                continue;
            }
#elif CONV_VEC == 8
            /* Rows are short (tens of floats): vector stores instead of three library calls.
               The zeros run up to 7 floats past the row, into the next row (written after
               this one), a gap or the slab's slack; no masked stores (slow on AMD). */
            if (PW <= 256) {
                const __m256 z = _mm256_setzero_ps();
                for (int64_t j = 0; j < PW; j += 8)
                    _mm256_storeu_ps(d + j, z);
                const float *s = x + c * p->isp + iy * IW;
                int64_t j = 0;
                for (; j + 8 <= nm; j += 8)
                    _mm256_storeu_ps(d + nl + j, _mm256_loadu_ps(s + j));
                for (; j < nm; j++)
                    d[nl + j] = s[j];
                continue;
            }
#endif
            memset(d, 0, sizeof(float) * (size_t)nl);
            memcpy(d + nl, x + c * p->isp + iy * IW, sizeof(float) * (size_t)nm);
            memset(d + nl + nm, 0, sizeof(float) * (size_t)(PW - nl - nm));
        }
}

#endif

#if defined(__AVX512F__)

/* acc[i][j] = sum over taps t of w[t][i] * base[j][off[t] + lane]: 8 output channels by NV
   vectors of 16 pixels. */
ALWAYS_INLINE void direct_kernel(int NV, const float *const *base, const int32_t *off, int64_t taps,
                                 const float *w, __m512 acc[DIRECT_MB][3])
{
#pragma GCC unroll 8
    for (int i = 0; i < DIRECT_MB; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            acc[i][j] = _mm512_setzero_ps();
    const float *b0 = base[0], *b1 = base[NV > 1 ? 1 : 0], *b2 = base[NV > 2 ? 2 : 0];
    for (int64_t t = 0; t < taps; t++, w += DIRECT_MB) {
        const int64_t o = off[t];
        __m512 v[3];
        v[0] = _mm512_loadu_ps(b0 + o);
        if (NV > 1)
            v[1] = _mm512_loadu_ps(b1 + o);
        if (NV > 2)
            v[2] = _mm512_loadu_ps(b2 + o);
#pragma GCC unroll 8
        for (int i = 0; i < DIRECT_MB; i++) {
            const __m512 wi = _mm512_set1_ps(w[i]);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++)
                acc[i][j] = _mm512_fmadd_ps(wi, v[j], acc[i][j]);
        }
    }
}

/* The activations done in registers (the others are applied to the stored values). */
ALWAYS_INLINE __m512 act_vec(e2e_act act, __m512 r, __m512 zero, __m512 lo, __m512 hi)
{
    switch (act) {
    case E2E_ACT_RELU:
        return _mm512_max_ps(r, zero);
    case E2E_ACT_LEAKY_RELU:
        return _mm512_mask_mul_ps(r, _mm512_cmp_ps_mask(r, zero, _CMP_LT_OQ), r, lo);
    case E2E_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(r, lo), hi);
    default:
        return r;
    }
}

/* Adds the bias, applies the activation and stores the outputs of channels m0.. (< M). */
ALWAYS_INLINE void direct_store(const e2e_kernel *k, const conv_priv *p, int NV, __m512 acc[DIRECT_MB][3],
                                int64_t m0, float *y, const int64_t *pos, const __mmask16 *mask)
{
    const __m512 zero = _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(k->act_alpha), hi = _mm512_set1_ps(k->act_beta);
    const int64_t mend = p->M - m0 < DIRECT_MB ? p->M - m0 : DIRECT_MB;
    for (int64_t i = 0; i < mend; i++) {
        const __m512 b = _mm512_set1_ps(p->bias[m0 + i]);
        float *ym = y + (m0 + i) * p->ysp;
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            __m512 r = act_vec(k->act, _mm512_add_ps(acc[i][j], b), zero, lo, hi);
            _mm512_mask_storeu_ps(ym + pos[j], mask[j], r);
            if (k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU)
                e2e_act_apply(k->act, k->act_alpha, k->act_beta, ym + pos[j],
                              __builtin_popcount(mask[j]));
        }
    }
}

/* Output rows [oy0, oy1) of one image: x is its input (C planes), y its output (M planes). */
static void direct_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                         float *slab, int64_t oy0, int64_t oy1)
{
    const int64_t OW = p->od[2], PW = p->pw;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    pad_rows(p, x, slab, oy0 - p->pad_t, oy1 - oy0 + halo, p->cs);
    const int64_t vpr = (OW + 15) / 16, nv = (oy1 - oy0) * vpr, taps = p->kdim;
    for (int64_t m0 = 0; m0 < p->M; m0 += DIRECT_MB) {
        const float *w = p->wp + (m0 / DIRECT_MB) * taps * DIRECT_MB;
        for (int64_t v = 0; v < nv; v += 3) {
            const int cnt = nv - v < 3 ? (int)(nv - v) : 3;
            const float *base[3];
            int64_t pos[3];
            __mmask16 mask[3];
            for (int j = 0; j < cnt; j++) {
                int64_t row = (v + j) / vpr, x0 = ((v + j) % vpr) * 16;
                base[j] = slab + row * PW + x0;
                pos[j] = (oy0 + row) * OW + x0;
                mask[j] = OW - x0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (OW - x0)) - 1);
            }
            __m512 acc[DIRECT_MB][3];
            if (cnt == 3) {
                direct_kernel(3, base, p->off, taps, w, acc);
                direct_store(k, p, 3, acc, m0, y, pos, mask);
            } else if (cnt == 2) {
                direct_kernel(2, base, p->off, taps, w, acc);
                direct_store(k, p, 2, acc, m0, y, pos, mask);
            } else {
                direct_kernel(1, base, p->off, taps, w, acc);
                direct_store(k, p, 1, acc, m0, y, pos, mask);
            }
        }
    }
}

/* V = B^T d B for the tiles of tile rows [0, rows) of the slab, channel by channel: tile
   (r, tx) lands at V[xi][c][r * twp + tx]. A vector holds 16 tiles of one tile row, or with
   twp = 8 tiles 0-7 of two tile rows (the second half of the columns is then read two input
   rows further down instead of 16 columns to the right). */
static void wino_input(const conv_priv *p, const float *slab, float *V, int64_t rows, int64_t cs)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t PW = p->pw, TW = p->twp, TP = p->tpad, xs = p->vxs;
    const bool pairs = p->twp == 8;
    const int64_t half = pairs ? 2 * PW : 16, rstep = pairs ? 2 : 1;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t r = 0; r < rows; r += rstep)
            for (int64_t t0 = 0; t0 < TW; t0 += 16) {
                const float *q = slab + c * cs + 2 * r * PW + 2 * t0;
                __m512 d[4][4];
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    const float *qi = q + i * PW;
                    __m512 a0 = _mm512_loadu_ps(qi), a1 = _mm512_loadu_ps(qi + half);
                    __m512 b0 = _mm512_loadu_ps(qi + 2), b1 = _mm512_loadu_ps(qi + half + 2);
                    __m512 e0 = _mm512_permutex2var_ps(a0, ev, a1), o0 = _mm512_permutex2var_ps(a0, od, a1);
                    __m512 e2 = _mm512_permutex2var_ps(b0, ev, b1), o2 = _mm512_permutex2var_ps(b0, od, b1);
                    /* d B: columns 0-2, 1+2, 2-1, 1-3 */
                    d[i][0] = _mm512_sub_ps(e0, e2);
                    d[i][1] = _mm512_add_ps(o0, e2);
                    d[i][2] = _mm512_sub_ps(e2, o0);
                    d[i][3] = _mm512_sub_ps(o0, o2);
                }
                const int64_t left = pairs ? 16 : TW - t0;
                const __mmask16 mk = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                float *v = V + c * TP + r * TW + t0;
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    /* B^T (d B): rows 0-2, 1+2, 2-1, 1-3 */
                    _mm512_mask_storeu_ps(v + (0 * 4 + j) * xs, mk, _mm512_sub_ps(d[0][j], d[2][j]));
                    _mm512_mask_storeu_ps(v + (1 * 4 + j) * xs, mk, _mm512_add_ps(d[1][j], d[2][j]));
                    _mm512_mask_storeu_ps(v + (2 * 4 + j) * xs, mk, _mm512_sub_ps(d[2][j], d[1][j]));
                    _mm512_mask_storeu_ps(v + (3 * 4 + j) * xs, mk, _mm512_sub_ps(d[1][j], d[3][j]));
                }
            }
}

/* Writes floats [2*l0, 2*l1) of the interleaved pair (e0 = tiles 0-7, e1 = tiles 8-15), at
   most n of them, to dst. */
ALWAYS_INLINE void wino_put(float *dst, __m512 e0, __m512 e1, int l0, int l1, int n)
{
    int a = 2 * l0, b = 2 * l1;
    if (b - a > n)
        b = a + n;
    if (a < 16) {
        int e = b < 16 ? b : 16;
        __mmask16 m = (__mmask16)(((1u << e) - 1) & ~((1u << a) - 1));
        __m512 v = a ? _mm512_maskz_compress_ps(m, e0) : e0;
        _mm512_mask_storeu_ps(dst, (__mmask16)((1u << (e - a)) - 1), v);
        dst += e - a;
        a = e;
    }
    if (b > 16) {
        a -= 16;
        b -= 16;
        __mmask16 m = (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1));
        __m512 v = a ? _mm512_maskz_compress_ps(m, e1) : e1;
        _mm512_mask_storeu_ps(dst, (__mmask16)((1u << (b - a)) - 1), v);
    }
}

/* Output transform of one vector of 16 flat tiles [f0, f0 + 16) for channel m from the 16
   products in buf (stride WINO_BS floats between xi): bias, activation, stores. */
ALWAYS_INLINE void wino_output(const e2e_kernel *k, const conv_priv *p, const float *buf, int64_t m,
                               float *y, int64_t ty0, int64_t f0, int64_t nt)
{
    const int64_t bs = WINO_BS, OW = p->od[2], OH = p->od[1], TW = p->twp;
    __m512 s0[4], s1[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m512 m0 = _mm512_loadu_ps(buf + (0 * 4 + j) * bs), m1 = _mm512_loadu_ps(buf + (1 * 4 + j) * bs);
        __m512 m2 = _mm512_loadu_ps(buf + (2 * 4 + j) * bs), m3 = _mm512_loadu_ps(buf + (3 * 4 + j) * bs);
        s0[j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
        s1[j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    const __m512 b = _mm512_set1_ps(p->bias[m]), zero = _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(k->act_alpha), hi = _mm512_set1_ps(k->act_beta);
    __m512 y00 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]), b);
    __m512 y01 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]), b);
    __m512 y10 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]), b);
    __m512 y11 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3]), b);
    y00 = act_vec(k->act, y00, zero, lo, hi);
    y01 = act_vec(k->act, y01, zero, lo, hi);
    y10 = act_vec(k->act, y10, zero, lo, hi);
    y11 = act_vec(k->act, y11, zero, lo, hi);
    if (p->pool2) {
        /* each tile is one pooling window: rows ty < OH/2 and columns tx < OW/2 are kept */
        if (k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU) {
            float t[4][16];
            _mm512_storeu_ps(t[0], y00);
            _mm512_storeu_ps(t[1], y01);
            _mm512_storeu_ps(t[2], y10);
            _mm512_storeu_ps(t[3], y11);
            e2e_act_apply(k->act, k->act_alpha, k->act_beta, t[0], 64);
            y00 = _mm512_loadu_ps(t[0]);
            y01 = _mm512_loadu_ps(t[1]);
            y10 = _mm512_loadu_ps(t[2]);
            y11 = _mm512_loadu_ps(t[3]);
        }
        const __m512 mx = _mm512_max_ps(_mm512_max_ps(y00, y01), _mm512_max_ps(y10, y11));
        const int64_t PWo = OW / 2, PHo = OH / 2;
        float *yp = y + m * p->ysp;
        for (int64_t l = 0; l < 16 && f0 + l < nt;) {
            int64_t f = f0 + l, ty = ty0 + f / TW, tx = f % TW;
            int64_t run = TW - tx;
            if (run > 16 - l)
                run = 16 - l;
            if (run > nt - f)
                run = nt - f;
            int64_t n = PWo - tx < run ? PWo - tx : run;
            if (n > 0 && ty < PHo) {
                __mmask16 sel = (__mmask16)(((1u << (l + n)) - 1) & ~((1u << l) - 1));
                __m512 v = l ? _mm512_maskz_compress_ps(sel, mx) : mx;
                _mm512_mask_storeu_ps(yp + ty * PWo + tx, (__mmask16)((1u << n) - 1), v);
            }
            l += run;
        }
        return;
    }
    const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ih = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    __m512 a0 = _mm512_permutex2var_ps(y00, il, y01), a1 = _mm512_permutex2var_ps(y00, ih, y01);
    __m512 b0 = _mm512_permutex2var_ps(y10, il, y11), b1 = _mm512_permutex2var_ps(y10, ih, y11);
    float *ym = y + m * p->ysp;
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    /* the tiles of the vector, tile row by tile row */
    for (int64_t l = 0; l < 16 && f0 + l < nt;) {
        int64_t f = f0 + l, ty = ty0 + f / TW, tx = f % TW;
        int64_t run = TW - tx;
        if (run > 16 - l)
            run = 16 - l;
        if (run > nt - f)
            run = nt - f;
        int n = (int)(OW - 2 * tx < 2 * run ? OW - 2 * tx : 2 * run);
        if (n <= 0 || 2 * ty >= OH) { /* tiles past the row's end (twp > tw) */
            l += run;
            continue;
        }
        float *d0 = ym + 2 * ty * OW + 2 * tx;
        wino_put(d0, a0, a1, (int)l, (int)(l + run), n);
        if (late)
            e2e_act_apply(k->act, k->act_alpha, k->act_beta, d0, n);
        if (2 * ty + 1 < OH) {
            wino_put(d0 + OW, b0, b1, (int)l, (int)(l + run), n);
            if (late)
                e2e_act_apply(k->act, k->act_alpha, k->act_beta, d0 + OW, n);
        }
        l += run;
    }
}

/* Tile rows [ty0, ty1) of one image. */
static void wino_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y, float *ws,
                       int64_t ty0, int64_t ty1)
{
    const int64_t rows = ty1 - ty0, cs = (2 * p->rows + 4) * p->pw, C = p->C;
    float *V = ws + p->v_at, *buf = ws + p->buf_at;
    pad_rows(p, x, ws, 2 * ty0 - p->pad_t, 2 * rows + 2, cs);
    wino_input(p, ws, V, rows, cs);
    const int64_t nt = rows * p->twp, nv = (nt + 15) / 16, xs = p->vxs;
    const int64_t bs = WINO_BS;
    for (int64_t m0 = 0; m0 < p->M; m0 += DIRECT_MB) {
        const int64_t mend = p->M - m0 < DIRECT_MB ? p->M - m0 : DIRECT_MB;
        for (int64_t v = 0; v < nv; v += 3) {
            const int cnt = nv - v < 3 ? (int)(nv - v) : 3;
            for (int xi = 0; xi < 16; xi++) {
                const float *w = p->wp + ((m0 / DIRECT_MB) * 16 + xi) * C * DIRECT_MB;
                const float *base[3];
                for (int j = 0; j < cnt; j++)
                    base[j] = V + xi * xs + (v + j) * 16;
                __m512 acc[DIRECT_MB][3];
                float *bx = buf + xi * bs;
                if (cnt == 3) {
                    direct_kernel(3, base, p->off, C, w, acc);
#pragma GCC unroll 8
                    for (int i = 0; i < DIRECT_MB; i++)
#pragma GCC unroll 3
                        for (int j = 0; j < 3; j++)
                            _mm512_storeu_ps(bx + (i * 3 + j) * 16, acc[i][j]);
                } else if (cnt == 2) {
                    direct_kernel(2, base, p->off, C, w, acc);
#pragma GCC unroll 8
                    for (int i = 0; i < DIRECT_MB; i++)
#pragma GCC unroll 2
                        for (int j = 0; j < 2; j++)
                            _mm512_storeu_ps(bx + (i * 3 + j) * 16, acc[i][j]);
                } else {
                    direct_kernel(1, base, p->off, C, w, acc);
#pragma GCC unroll 8
                    for (int i = 0; i < DIRECT_MB; i++)
                        _mm512_storeu_ps(bx + i * 3 * 16, acc[i][0]);
                }
            }
            for (int64_t i = 0; i < mend; i++)
                for (int j = 0; j < cnt; j++)
                    wino_output(k, p, buf + (i * 3 + j) * 16, m0 + i, y, ty0, (v + j) * 16, nt);
        }
    }
}

/* ConvMaxPool on the direct kernel: row pairs [q0, q1) of one image (output rows 2*q0 ..),
   two vectors per step (the same 16 columns of both rows of a pair), pooled in registers. */
static void direct_chunk_pool(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                              float *slab, int64_t q0, int64_t q1)
{
    const int64_t OW = p->od[2], PW = p->pw, PWo = OW / 2;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    pad_rows(p, x, slab, 2 * q0 - p->pad_t, 2 * (q1 - q0) + halo, p->cs);
    const __m512i pe = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i po = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512 zero = _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(k->act_alpha), hi = _mm512_set1_ps(k->act_beta);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    const int64_t taps = p->kdim;
    for (int64_t m0 = 0; m0 < p->M; m0 += DIRECT_MB) {
        const float *w = p->wp + (m0 / DIRECT_MB) * taps * DIRECT_MB;
        const int64_t mend = p->M - m0 < DIRECT_MB ? p->M - m0 : DIRECT_MB;
        for (int64_t q = 0; q < q1 - q0; q++)
            for (int64_t x0 = 0; x0 < 2 * PWo; x0 += 16) {
                const float *base[3] = {slab + 2 * q * PW + x0, slab + (2 * q + 1) * PW + x0, NULL};
                __m512 acc[DIRECT_MB][3];
                direct_kernel(2, base, p->off, taps, w, acc);
                const int64_t n = PWo - x0 / 2 < 8 ? PWo - x0 / 2 : 8;
                const __mmask16 sm = (__mmask16)((1u << n) - 1);
                for (int64_t i = 0; i < mend; i++) {
                    const __m512 b = _mm512_set1_ps(p->bias[m0 + i]);
                    __m512 r0 = act_vec(k->act, _mm512_add_ps(acc[i][0], b), zero, lo, hi);
                    __m512 r1 = act_vec(k->act, _mm512_add_ps(acc[i][1], b), zero, lo, hi);
                    if (late) {
                        float t[2][16];
                        _mm512_storeu_ps(t[0], r0);
                        _mm512_storeu_ps(t[1], r1);
                        e2e_act_apply(k->act, k->act_alpha, k->act_beta, t[0], 32);
                        r0 = _mm512_loadu_ps(t[0]);
                        r1 = _mm512_loadu_ps(t[1]);
                    }
                    const __m512 v = _mm512_max_ps(r0, r1);
                    const __m512 h = _mm512_max_ps(_mm512_permutexvar_ps(pe, v), _mm512_permutexvar_ps(po, v));
                    _mm512_mask_storeu_ps(y + (m0 + i) * p->ysp + (q0 + q) * PWo + x0 / 2, sm, h);
                }
            }
    }
}

#elif CONV_VEC == 8
/* AVX2 + FMA (16 ymm registers): the register tile is TC = DIRECT_G output channels by up to
   TV vectors of 8 pixels (6 x 2: 12 accumulators, 2 input vectors, 1 broadcast). */
#define TC DIRECT_G
#define TV 2

ALWAYS_INLINE void direct_kernel(int NV, const float *const *base, const int32_t *off, int64_t taps,
                                 const float *w, __m256 acc[TC][TV])
{
    /* a local tile: acc escapes to the caller's loops, and GCC would store it every tap */
    __m256 c[TC][TV];
#pragma GCC unroll 8
    for (int i = 0; i < TC; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            c[i][j] = _mm256_setzero_ps();
    const float *b0 = base[0], *b1 = base[NV > 1 ? 1 : 0], *b2 = base[NV > 2 ? 2 : 0];
    for (int64_t t = 0; t < taps; t++, w += DIRECT_MB) {
        const int64_t o = off[t];
        __m256 v[3];
        v[0] = _mm256_loadu_ps(b0 + o);
        if (NV > 1)
            v[1] = _mm256_loadu_ps(b1 + o);
        if (NV > 2)
            v[2] = _mm256_loadu_ps(b2 + o);
#pragma GCC unroll 8
        for (int i = 0; i < TC; i++) {
            const __m256 wi = _mm256_broadcast_ss(w + i);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++)
                c[i][j] = _mm256_fmadd_ps(wi, v[j], c[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < TC; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            acc[i][j] = c[i][j];
}

ALWAYS_INLINE __m256 act_vec(e2e_act act, __m256 r, __m256 zero, __m256 lo, __m256 hi)
{
    switch (act) {
    case E2E_ACT_RELU:
        return _mm256_max_ps(r, zero);
    case E2E_ACT_LEAKY_RELU:
        return _mm256_blendv_ps(r, _mm256_mul_ps(r, lo), _mm256_cmp_ps(r, zero, _CMP_LT_OQ));
    case E2E_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(r, lo), hi);
    default:
        return r;
    }
}

/* Applies the activations that have no register form (sigmoid, GELU) to n <= 16 vectors,
   through the library's row function. */
ALWAYS_INLINE void act_late8(const e2e_kernel *k, __m256 *v, int n)
{
    float t[16][8];
    for (int i = 0; i < n; i++)
        _mm256_storeu_ps(t[i], v[i]);
    e2e_act_apply(k->act, k->act_alpha, k->act_beta, t[0], 8 * n);
    for (int i = 0; i < n; i++)
        v[i] = _mm256_loadu_ps(t[i]);
}

/* Bias, activation and (masked) stores of channels m0 .. m0 + TC (< M). */
ALWAYS_INLINE void direct_store(const e2e_kernel *k, const conv_priv *p, int NV, __m256 acc[TC][TV],
                                int64_t m0, float *y, const int64_t *pos, const int64_t *cnt)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    const int64_t mend = p->M - m0 < TC ? p->M - m0 : TC;
    /* unrolled with constant indices: acc stays in registers */
#pragma GCC unroll 8
    for (int i = 0; i < TC; i++) {
        if (i >= mend)
            break;
        const __m256 b = _mm256_broadcast_ss(p->bias + m0 + i);
        float *ym = y + (m0 + i) * p->ysp;
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            __m256 r = act_vec(k->act, _mm256_add_ps(acc[i][j], b), zero, lo, hi);
            if (cnt[j] >= 8)
                _mm256_storeu_ps(ym + pos[j], r);
            else
                _mm256_maskstore_ps(ym + pos[j], e2e_lane_mask8(cnt[j]), r);
            if (k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU)
                e2e_act_apply(k->act, k->act_alpha, k->act_beta, ym + pos[j], cnt[j] < 8 ? cnt[j] : 8);
        }
    }
}

/* Output rows [oy0, oy1) of one image: x is its input (C planes), y its output (M planes). */
static void direct_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                         float *slab, int64_t oy0, int64_t oy1)
{
    const int64_t OW = p->od[2], PW = p->pw;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    pad_rows(p, x, slab, oy0 - p->pad_t, oy1 - oy0 + halo, p->cs);
    const int64_t vpr = (OW + 7) / 8, nv = (oy1 - oy0) * vpr, taps = p->kdim;
    for (int64_t m0 = 0; m0 < p->M; m0 += TC) {
        const float *w = p->wp + (m0 / TC) * taps * DIRECT_MB;
        for (int64_t v = 0; v < nv; v += TV) {
            const int cnt = nv - v < TV ? (int)(nv - v) : TV;
            const float *base[3];
            int64_t pos[3], n[3];
            for (int j = 0; j < cnt; j++) {
                int64_t row = (v + j) / vpr, x0 = ((v + j) % vpr) * 8;
                base[j] = slab + row * PW + x0;
                pos[j] = (oy0 + row) * OW + x0;
                n[j] = OW - x0;
            }
            __m256 acc[TC][TV];
            if (cnt == 2) {
                direct_kernel(2, base, p->off, taps, w, acc);
                direct_store(k, p, 2, acc, m0, y, pos, n);
            } else {
                direct_kernel(1, base, p->off, taps, w, acc);
                direct_store(k, p, 1, acc, m0, y, pos, n);
            }
        }
    }
}

/* Whether pool_c1 takes this ConvMaxPool: one input channel, a 3x3 kernel without dilation,
   pooled rows of whole vectors. */
static bool pool_c1_fits(const conv_priv *p)
{
    return p->C == 1 && p->kd[1] == 3 && p->kd[2] == 3 && p->dl[1] == 1 && p->dl[2] == 1 &&
           (p->od[2] / 2) % 8 == 0;
}

/* ConvMaxPool with one input channel and a 3x3 kernel (the E/Gamma SimpleNet's first layer).
   Its sums are only 9 taps long, so the general kernel's 6-channel tile spends about as long
   in broadcasts and its epilogue as in the sums. Here one channel's 9 weights stay in
   registers and a step does two rows by 16 columns: 4 accumulators, 24 input loads and 36
   FMAs, pooled into 8 outputs by in-lane shuffles. Steps are independent, so the core
   overlaps their chains. The same sums in the same order (taps by row, then column, from
   zero), bias, activation and pooling order as direct_chunk_pool: the same bits. */
static void pool_c1(const e2e_kernel *k, const conv_priv *p, const float *slab, float *y, int64_t q0,
                    int64_t q1)
{
    const int64_t PW = p->pw, PWo = p->od[2] / 2;
    const __m256 zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    for (int64_t m = 0; m < p->M; m++) {
        const float *wm = p->wp + (m / DIRECT_G) * 9 * DIRECT_MB + m % DIRECT_G;
        __m256 w[9];
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
            w[t] = _mm256_broadcast_ss(wm + t * DIRECT_MB);
        const __m256 b = _mm256_broadcast_ss(p->bias + m);
        float *ym = y + m * p->ysp + q0 * PWo;
        for (int64_t q = 0; q < q1 - q0; q++) {
            const float *s = slab + 2 * q * PW;
            for (int64_t x0 = 0; x0 < 2 * PWo; x0 += 16) {
                __m256 a[2][2] = {{zero, zero}, {zero, zero}}; /* [row of the pair][8 columns] */
#pragma GCC unroll 4
                for (int r = 0; r < 4; r++)
#pragma GCC unroll 3
                    for (int dx = 0; dx < 3; dx++) {
                        const float *sr = s + r * PW + x0 + dx;
                        const __m256 v0 = _mm256_loadu_ps(sr), v1 = _mm256_loadu_ps(sr + 8);
                        if (r <= 2) {
                            a[0][0] = _mm256_fmadd_ps(w[r * 3 + dx], v0, a[0][0]);
                            a[0][1] = _mm256_fmadd_ps(w[r * 3 + dx], v1, a[0][1]);
                        }
                        if (r >= 1) {
                            a[1][0] = _mm256_fmadd_ps(w[(r - 1) * 3 + dx], v0, a[1][0]);
                            a[1][1] = _mm256_fmadd_ps(w[(r - 1) * 3 + dx], v1, a[1][1]);
                        }
                    }
                __m256 v[2][2];
#pragma GCC unroll 2
                for (int i = 0; i < 2; i++)
#pragma GCC unroll 2
                    for (int j = 0; j < 2; j++)
                        v[i][j] = act_vec(k->act, _mm256_add_ps(a[i][j], b), zero, lo, hi);
                if (late)
                    act_late8(k, v[0], 4);
                /* rows, then even columns against odd ones; the lanes come out as pooled
                   outputs 0 1 4 5 2 3 6 7, and one 64-bit permute puts them in order */
                const __m256 m0 = _mm256_max_ps(v[0][0], v[1][0]), m1 = _mm256_max_ps(v[0][1], v[1][1]);
                const __m256 h = _mm256_max_ps(_mm256_shuffle_ps(m0, m1, 0x88), _mm256_shuffle_ps(m0, m1, 0xDD));
                _mm256_storeu_ps(ym + q * PWo + x0 / 2,
                                 _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(h), 0xD8)));
            }
        }
    }
}

/* ConvMaxPool: row pairs [q0, q1) of one image, the same 8 columns of both rows of a pair per
   step, pooled in registers (4 pooled outputs per channel and step). */
static void direct_chunk_pool(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                              float *slab, int64_t q0, int64_t q1)
{
    const int64_t OW = p->od[2], PW = p->pw, PWo = OW / 2;
    const int64_t halo = (p->kd[1] - 1) * p->dl[1];
    pad_rows(p, x, slab, 2 * q0 - p->pad_t, 2 * (q1 - q0) + halo, p->cs);
    if (pool_c1_fits(p)) {
        pool_c1(k, p, slab, y, q0, q1);
        return;
    }
    const __m256i eo = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256 zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    const int64_t taps = p->kdim;
    for (int64_t m0 = 0; m0 < p->M; m0 += TC) {
        const float *w = p->wp + (m0 / TC) * taps * DIRECT_MB;
        const int64_t mend = p->M - m0 < TC ? p->M - m0 : TC;
        for (int64_t q = 0; q < q1 - q0; q++)
            for (int64_t x0 = 0; x0 < 2 * PWo; x0 += 8) {
                const float *base[3] = {slab + 2 * q * PW + x0, slab + (2 * q + 1) * PW + x0, NULL};
                __m256 acc[TC][TV];
                direct_kernel(2, base, p->off, taps, w, acc);
                const int64_t n = PWo - x0 / 2 < 4 ? PWo - x0 / 2 : 4;
                float *d0 = y + m0 * p->ysp + (q0 + q) * PWo + x0 / 2;
                /* unrolled with constant indices: acc stays in registers */
#pragma GCC unroll 8
                for (int i = 0; i < TC; i++) {
                    if (i >= mend)
                        break;
                    const __m256 b = _mm256_broadcast_ss(p->bias + m0 + i);
                    __m256 r[2] = {act_vec(k->act, _mm256_add_ps(acc[i][0], b), zero, lo, hi),
                                   act_vec(k->act, _mm256_add_ps(acc[i][1], b), zero, lo, hi)};
                    if (late)
                        act_late8(k, r, 2);
                    /* rows, then the column pairs: even lanes against odd lanes */
                    const __m256 v = _mm256_permutevar8x32_ps(_mm256_max_ps(r[0], r[1]), eo);
                    const __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
                    float *d = d0 + i * p->ysp;
                    if (n == 4)
                        _mm_storeu_ps(d, h);
                    else
                        _mm_maskstore_ps(d, _mm256_castsi256_si128(e2e_lane_mask8(n)), h);
                }
            }
    }
}

/* Winograd F(2x2, 3x3) in 8 lanes. V = B^T d B for the tiles of tile rows [0, rows) of the
   slab, 8 tiles of one tile row per vector (twp is a multiple of 8). The even/odd columns
   come from in-lane shuffles, so the tiles of a vector are in the order 0 1 4 5 2 3 6 7:
   every later step is lane-wise, and the output transform's unpack (or one permute) puts
   them back in order. */
static void wino_input(const conv_priv *p, const float *slab, float *V, int64_t rows, int64_t cs)
{
    const int64_t PW = p->pw, TW = p->twp, TP = p->tpad, xs = p->vxs;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t t0 = 0; t0 < TW; t0 += 8) {
                const float *q = slab + c * cs + 2 * r * PW + 2 * t0;
                __m256 d[4][4];
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    const float *qi = q + i * PW;
                    __m256 a0 = _mm256_loadu_ps(qi), a1 = _mm256_loadu_ps(qi + 8);
                    __m256 b0 = _mm256_loadu_ps(qi + 2), b1 = _mm256_loadu_ps(qi + 10);
                    __m256 e0 = _mm256_shuffle_ps(a0, a1, 0x88), o0 = _mm256_shuffle_ps(a0, a1, 0xDD);
                    __m256 e2 = _mm256_shuffle_ps(b0, b1, 0x88), o2 = _mm256_shuffle_ps(b0, b1, 0xDD);
                    /* d B: columns 0-2, 1+2, 2-1, 1-3 */
                    d[i][0] = _mm256_sub_ps(e0, e2);
                    d[i][1] = _mm256_add_ps(o0, e2);
                    d[i][2] = _mm256_sub_ps(e2, o0);
                    d[i][3] = _mm256_sub_ps(o0, o2);
                }
                float *v = V + c * TP + r * TW + t0;
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    /* B^T (d B): rows 0-2, 1+2, 2-1, 1-3 */
                    _mm256_storeu_ps(v + (0 * 4 + j) * xs, _mm256_sub_ps(d[0][j], d[2][j]));
                    _mm256_storeu_ps(v + (1 * 4 + j) * xs, _mm256_add_ps(d[1][j], d[2][j]));
                    _mm256_storeu_ps(v + (2 * 4 + j) * xs, _mm256_sub_ps(d[2][j], d[1][j]));
                    _mm256_storeu_ps(v + (3 * 4 + j) * xs, _mm256_sub_ps(d[1][j], d[3][j]));
                }
            }
}


/* The products of one xi: bx[i][j] = sum over the C channels c of w[c][i] * base[j][c * cstride]
   for WINO_G output channels by NV vectors of 8 tiles. */
ALWAYS_INLINE void wino_gemm(int NV, const float *base, int64_t cstride, int64_t C, const float *w,
                             float *bx)
{
    __m256 c[WINO_G][WINO_TV];
#pragma GCC unroll 4
    for (int i = 0; i < WINO_G; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            c[i][j] = _mm256_setzero_ps();
    for (int64_t t = 0; t < C; t++, w += WINO_G, base += cstride) {
        __m256 v[WINO_TV];
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            v[j] = _mm256_loadu_ps(base + 8 * j);
            /* keeps v[j] in a register: GCC would fold the load into each of the WINO_G
               FMAs, and the loads, not the FMAs, would set the pace */
            __asm__("" : "+x"(v[j]));
        }
#pragma GCC unroll 4
        for (int i = 0; i < WINO_G; i++) {
            const __m256 wi = _mm256_broadcast_ss(w + i);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++)
                c[i][j] = _mm256_fmadd_ps(wi, v[j], c[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < WINO_G; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            _mm256_storeu_ps(bx + (i * WINO_TV + j) * 8, c[i][j]);
}

/* The nx products of one register tile: cnt vectors of tiles from V (xi planes xs apart,
   channels TP apart) by the WINO_G channels of the packed weights w, into buf. Not inlined:
   the 12 accumulators, 3 inputs and the broadcast take all 16 ymm registers, and inside
   wino_chunk GCC kept one accumulator on the stack (a store and a load every step). */
static __attribute__((noinline)) void wino_products(int cnt, int nx, const float *V, int64_t xs,
                                                    int64_t TP, int64_t C, const float *w, float *buf)
{
    for (int xi = 0; xi < nx; xi++, V += xs, w += C * WINO_G, buf += WINO_BS) {
        if (cnt == 3)
            wino_gemm(3, V, TP, C, w, buf);
        else if (cnt == 2)
            wino_gemm(2, V, TP, C, w, buf);
        else
            wino_gemm(1, V, TP, C, w, buf);
    }
}

/* Output transform of the 8 tiles ty, tx .. tx + 7 (tile row, first column) for channel m from
   the 16 products in buf: bias, activation, stores. */
ALWAYS_INLINE void wino_output(const e2e_kernel *k, const conv_priv *p, const float *buf, int64_t m,
                               float *y, int64_t ty, int64_t tx)
{
    const int64_t OW = p->od[2], OH = p->od[1];
    __m256 s0[4], s1[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m256 m0 = _mm256_loadu_ps(buf + (0 * 4 + j) * WINO_BS), m1 = _mm256_loadu_ps(buf + (1 * 4 + j) * WINO_BS);
        __m256 m2 = _mm256_loadu_ps(buf + (2 * 4 + j) * WINO_BS), m3 = _mm256_loadu_ps(buf + (3 * 4 + j) * WINO_BS);
        s0[j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
        s1[j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
    }
    const __m256 b = _mm256_set1_ps(p->bias[m]), zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    __m256 y00 = _mm256_add_ps(_mm256_add_ps(s0[0], s0[1]), s0[2]);
    __m256 y01 = _mm256_sub_ps(_mm256_sub_ps(s0[1], s0[2]), s0[3]);
    __m256 y10 = _mm256_add_ps(_mm256_add_ps(s1[0], s1[1]), s1[2]);
    __m256 y11 = _mm256_sub_ps(_mm256_sub_ps(s1[1], s1[2]), s1[3]);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    float *ym = y + m * p->ysp;
    if (p->pool2) {
        /* each tile is one pooling window: rows ty < OH/2 and columns tx < OW/2 are kept */
        const int64_t PWo = OW / 2, n = PWo - tx < 8 ? PWo - tx : 8;
        if (ty >= OH / 2 || n <= 0)
            return;
        __m256 mx;
        if (k->act == E2E_ACT_NONE || k->act == E2E_ACT_RELU) {
            /* x -> x + b and ReLU never reverse an order (rounding included), so the bias
               and the activation go after the maximum: the same bits for finite values */
            mx = _mm256_max_ps(_mm256_max_ps(y00, y01), _mm256_max_ps(y10, y11));
            mx = act_vec(k->act, _mm256_add_ps(mx, b), zero, lo, hi);
        } else {
            __m256 yv[4] = {y00, y01, y10, y11};
            for (int i = 0; i < 4; i++)
                yv[i] = act_vec(k->act, _mm256_add_ps(yv[i], b), zero, lo, hi);
            if (late)
                act_late8(k, yv, 4);
            mx = _mm256_max_ps(_mm256_max_ps(yv[0], yv[1]), _mm256_max_ps(yv[2], yv[3]));
        }
        /* tiles 0 1 4 5 2 3 6 7 -> 0 .. 7 */
        mx = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mx), 0xD8));
        float *d = ym + ty * PWo + tx;
        if (n == 8)
            _mm256_storeu_ps(d, mx);
        else
            _mm256_maskstore_ps(d, e2e_lane_mask8(n), mx);
        return;
    }
    if (2 * ty >= OH || 2 * tx >= OW)
        return;
    y00 = _mm256_add_ps(y00, b);
    y01 = _mm256_add_ps(y01, b);
    y10 = _mm256_add_ps(y10, b);
    y11 = _mm256_add_ps(y11, b);
    /* unpacking the column pairs also undoes the tile order: columns 0-7, then 8-15 */
    const int64_t n = OW - 2 * tx < 16 ? OW - 2 * tx : 16;
    __m256 r[2][2] = {{_mm256_unpacklo_ps(y00, y01), _mm256_unpackhi_ps(y00, y01)},
                      {_mm256_unpacklo_ps(y10, y11), _mm256_unpackhi_ps(y10, y11)}};
    for (int i = 0; i < 2 && 2 * ty + i < OH; i++) {
        float *d = ym + (2 * ty + i) * OW + 2 * tx;
        for (int h = 0; h < 2; h++) {
            const int64_t c = n - 8 * h;
            const __m256 v = act_vec(k->act, r[i][h], zero, lo, hi);
            if (c >= 8)
                _mm256_storeu_ps(d + 8 * h, v);
            else if (c > 0)
                _mm256_maskstore_ps(d + 8 * h, e2e_lane_mask8(c), v);
        }
        if (late)
            e2e_act_apply(k->act, k->act_alpha, k->act_beta, d, n);
    }
}

/* Winograd F(4x4, 3x3) in 8 lanes (wf = 4): 6x6 input tiles at a stride of 4, 36 products per
   4x4 outputs (2.25 per output instead of F(2x2)'s 4; the transforms cost about the same per
   output). B^T, G and A^T are the usual ones for the points 0, +-1, +-2 (Lavin & Gray).
   Vectors hold 8 tiles of one tile row in the order 0 2 4 6 1 3 5 7, which is what an
   in-lane 4x4 transpose of 32 consecutive floats gives, and what its inverse puts back. */

/* The 1-D input transform B^T d of 6 vectors. */
ALWAYS_INLINE void wino4_bt(const __m256 d[6], __m256 o[6])
{
    const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f);
    const __m256 a = _mm256_fnmadd_ps(four, d[2], d[4]), b = _mm256_fnmadd_ps(four, d[1], d[3]);
    const __m256 c = _mm256_sub_ps(d[4], d[2]), e = _mm256_sub_ps(d[3], d[1]);
    o[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
    o[1] = _mm256_add_ps(a, b);
    o[2] = _mm256_sub_ps(a, b);
    o[3] = _mm256_fmadd_ps(two, e, c);
    o[4] = _mm256_fnmadd_ps(two, e, c);
    o[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

/* The 1-D output transform A^T m of 6 vectors. */
ALWAYS_INLINE void wino4_at(const __m256 m[6], __m256 o[4])
{
    const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), d34, d12);
    o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), s34, s12);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), d34, d12), m[5]);
}

/* In-lane 4x4 transposes: rows r[0..3] of 8 floats -> columns. */
ALWAYS_INLINE void wino4_transpose(const __m256 r[4], __m256 o[4])
{
    const __m256 u0 = _mm256_unpacklo_ps(r[0], r[1]), u1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 u2 = _mm256_unpacklo_ps(r[2], r[3]), u3 = _mm256_unpackhi_ps(r[2], r[3]);
    o[0] = _mm256_shuffle_ps(u0, u2, 0x44);
    o[1] = _mm256_shuffle_ps(u0, u2, 0xEE);
    o[2] = _mm256_shuffle_ps(u1, u3, 0x44);
    o[3] = _mm256_shuffle_ps(u1, u3, 0xEE);
}

/* V = B^T d B for the tiles of tile rows [0, rows) of the slab. */
static void wino4_input(const conv_priv *p, const float *slab, float *V, int64_t rows, int64_t cs)
{
    const int64_t PW = p->pw, TW = p->twp, TP = p->tpad, xs = p->vxs;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t t0 = 0; t0 < TW; t0 += 8) {
                const float *q = slab + c * cs + 4 * r * PW + 4 * t0;
                __m256 e[6][6]; /* e[k][i]: column k of row i of d B */
                for (int i = 0; i < 6; i++) {
                    const float *qi = q + i * PW;
                    __m256 l[4], h[4], d[6], o[6];
#pragma GCC unroll 4
                    for (int u = 0; u < 4; u++) {
                        l[u] = _mm256_loadu_ps(qi + 8 * u);
                        h[u] = _mm256_loadu_ps(qi + 8 * u + 4);
                    }
                    wino4_transpose(l, d);
                    const __m256 u0 = _mm256_unpacklo_ps(h[0], h[1]), u2 = _mm256_unpacklo_ps(h[2], h[3]);
                    d[4] = _mm256_shuffle_ps(u0, u2, 0x44);
                    d[5] = _mm256_shuffle_ps(u0, u2, 0xEE);
                    wino4_bt(d, o);
#pragma GCC unroll 6
                    for (int k = 0; k < 6; k++)
                        e[k][i] = o[k];
                }
                float *v = V + c * TP + r * TW + t0;
                for (int k = 0; k < 6; k++) {
                    __m256 o[6];
                    wino4_bt(e[k], o);
#pragma GCC unroll 6
                    for (int i = 0; i < 6; i++)
                        _mm256_storeu_ps(v + (i * 6 + k) * xs, o[i]);
                }
            }
}

/* Output transform of the 8 tiles ty, tx .. tx + 7 for channel m from the 36 products in
   buf: bias, activation, pooling or not, stores. */
static void wino4_output(const e2e_kernel *k, const conv_priv *p, const float *buf, int64_t m,
                         float *y, int64_t ty, int64_t tx)
{
    const int64_t OW = p->od[2], OH = p->od[1];
    __m256 u[4][6]; /* u[c][a] = (m A)[a][c] */
    for (int a = 0; a < 6; a++) {
        __m256 r[6], o[4];
#pragma GCC unroll 6
        for (int b = 0; b < 6; b++)
            r[b] = _mm256_loadu_ps(buf + (a * 6 + b) * WINO_BS);
        wino4_at(r, o);
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
            u[c][a] = o[c];
    }
    const __m256 bias = _mm256_set1_ps(p->bias[m]), zero = _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(k->act_alpha), hi = _mm256_set1_ps(k->act_beta);
    const bool late = k->act == E2E_ACT_SIGMOID || k->act == E2E_ACT_GELU;
    __m256 yv[4][4]; /* yv[row][col] */
    for (int c = 0; c < 4; c++) {
        __m256 o[4];
        wino4_at(u[c], o);
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            yv[r][c] = act_vec(k->act, _mm256_add_ps(o[r], bias), zero, lo, hi);
    }
    float *ym = y + m * p->ysp;
    if (p->pool2) {
        const int64_t PWo = OW / 2, PHo = OH / 2, n = PWo - 2 * tx < 16 ? PWo - 2 * tx : 16;
        if (n <= 0)
            return;
        if (late)
            act_late8(k, yv[0], 16);
        for (int r = 0; r < 2 && 2 * ty + r < PHo; r++) {
            const __m256 p0 = _mm256_max_ps(_mm256_max_ps(yv[2 * r][0], yv[2 * r][1]),
                                            _mm256_max_ps(yv[2 * r + 1][0], yv[2 * r + 1][1]));
            const __m256 p1 = _mm256_max_ps(_mm256_max_ps(yv[2 * r][2], yv[2 * r][3]),
                                            _mm256_max_ps(yv[2 * r + 1][2], yv[2 * r + 1][3]));
            /* pairs of pooled columns per tile, tiles 0 2 1 3 and 4 6 5 7 -> in order */
            const __m256 a = _mm256_castpd_ps(
                _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_unpacklo_ps(p0, p1)), 0xD8));
            const __m256 b = _mm256_castpd_ps(
                _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_unpackhi_ps(p0, p1)), 0xD8));
            float *d = ym + (2 * ty + r) * PWo + 2 * tx;
            if (n == 16) {
                _mm256_storeu_ps(d, a);
                _mm256_storeu_ps(d + 8, b);
            } else {
                _mm256_maskstore_ps(d, e2e_lane_mask8(n), a);
                if (n > 8)
                    _mm256_maskstore_ps(d + 8, e2e_lane_mask8(n - 8), b);
            }
        }
        return;
    }
    const int64_t n = OW - 4 * tx < 32 ? OW - 4 * tx : 32;
    if (n <= 0)
        return;
    for (int r = 0; r < 4 && 4 * ty + r < OH; r++) {
        __m256 z[4];
        wino4_transpose(yv[r], z);
        float *d = ym + (4 * ty + r) * OW + 4 * tx;
#pragma GCC unroll 4
        for (int h = 0; h < 4; h++) {
            const int64_t cnt = n - 8 * h;
            if (cnt >= 8)
                _mm256_storeu_ps(d + 8 * h, z[h]);
            else if (cnt > 0)
                _mm256_maskstore_ps(d + 8 * h, e2e_lane_mask8(cnt), z[h]);
        }
        if (late)
            e2e_act_apply(k->act, k->act_alpha, k->act_beta, d, n);
    }
}

/* Tile rows [ty0, ty1) of one image, F(2x2) or F(4x4) (p->wf): input transform into V, then
   per WINO_G output channels and WINO_TV vectors of tiles the 16 or 36 products over the
   channels, then the output transform. */
static void wino_chunk(const e2e_kernel *k, const conv_priv *p, const float *x, float *y, float *ws,
                       int64_t ty0, int64_t ty1)
{
    const int wf = p->wf, nx = (wf + 2) * (wf + 2);
    const int64_t rows = ty1 - ty0, cs = (wf * p->rows + 4) * p->pw, C = p->C;
    float *V = ws + p->v_at, *buf = ws + p->buf_at;
    pad_rows(p, x, ws, wf * ty0 - p->pad_t, wf * rows + 2, cs);
    if (wf == 4)
        wino4_input(p, ws, V, rows, cs);
    else
        wino_input(p, ws, V, rows, cs);
    const int64_t nv = rows * p->twp / 8, xs = p->vxs, TP = p->tpad;
    for (int64_t m0 = 0; m0 < p->M; m0 += WINO_G) {
        const int64_t mend = p->M - m0 < WINO_G ? p->M - m0 : WINO_G;
        for (int64_t v = 0; v < nv; v += WINO_TV) {
            const int cnt = nv - v < WINO_TV ? (int)(nv - v) : WINO_TV;
            wino_products(cnt, nx, V + v * 8, xs, TP, C, p->wp + (m0 / WINO_G) * nx * C * WINO_G, buf);
            /* tile row and column of each vector's first tile: one division per vector, not
               per channel (a 64-bit division takes tens of cycles) */
            int64_t ty[WINO_TV], tx[WINO_TV];
            for (int j = 0; j < cnt; j++) {
                ty[j] = ty0 + (v + j) * 8 / p->twp;
                tx[j] = (v + j) * 8 % p->twp;
            }
            for (int64_t i = 0; i < mend; i++)
                for (int j = 0; j < cnt; j++) {
                    const float *b = buf + (i * WINO_TV + j) * 8;
                    if (wf == 4)
                        wino4_output(k, p, b, m0 + i, y, ty[j], tx[j]);
                    else
                        wino_output(k, p, b, m0 + i, y, ty[j], tx[j]);
                }
        }
    }
}
#undef TC
#undef TV
#endif

#ifdef CONV_VEC
typedef struct direct_job {
    const e2e_kernel *k;
    const float *X;
    float *Y;
} direct_job;

/* Task t of n: its share of the N * OH output rows (Winograd: N * TH tile rows), through
   slot t of the workspace. */
static void direct_task(void *ctx, int t, int n)
{
    const direct_job *j = ctx;
    const conv_priv *p = j->k->priv;
    const bool wino = p->algo == CONV_WINOGRAD;
    const int64_t OH = p->units, total = p->N * OH;
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
        if (wino)
            wino_chunk(j->k, p, x, y, slab, oy0, oy1);
        else if (p->pool2)
            direct_chunk_pool(j->k, p, x, y, slab, oy0, oy1);
        else
            direct_chunk(j->k, p, x, y, slab, oy0, oy1);
        r += oy1 - oy0;
    }
}

static void conv_direct(const e2e_kernel *k, const conv_priv *p, const float *X, float *Y)
{
    direct_job j = {k, X, Y};
    int64_t total = p->N * p->units;
    /* one task per thread, or more of at least 4 rows (tile rows, row pairs) each */
    int64_t n = total / 4 > p->threads ? total / 4 : p->threads;
    if (n > CONV_TASKS_PER_THREAD * (int64_t)p->threads)
        n = CONV_TASKS_PER_THREAD * (int64_t)p->threads;
    if (n > total)
        n = total;
    /* below ~1 MFLOP a second thread costs more than it saves */
    if (2.0 * (double)p->M * (double)p->osp * (double)p->kdim * (double)p->N < 1e6)
        n = 1;
    e2e_pool_run(k->pool, direct_task, &j, (int)n);
}
#endif

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
#ifdef CONV_VEC
    if (p->algo == CONV_DIRECT || p->algo == CONV_WINOGRAD) {
        conv_direct(k, p, X, Y);
        return E2E_OK;
    }
#endif
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

/* ---------------------------------------------------------------- ConvMaxPool */

/* Conv (attributes and inputs of the Conv node) whose activated output goes through a MaxPool
   with a 2x2 window, stride 2, no padding, dilation 1 and floor rounding: out[0] is the pooled
   tensor [N, M, OH/2, OW/2]; the full-size convolution is never stored. Made by the session's
   pattern fusions (runtime/fuse.c) for 2-D convolutions that take the direct or Winograd
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
    if ((p->algo != CONV_DIRECT && p->algo != CONV_WINOGRAD) || p->od[1] < 2 || p->od[2] < 2) {
        conv_release(p);
        k->priv = NULL;
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED,
                         "fused pooling needs the direct or Winograd kernel and a 2x2 output");
    }
    p->pool2 = true;
    /* row pairs, or tile rows, that give pooled rows (F4: two pooled rows per tile row) */
    p->units = p->algo == CONV_WINOGRAD && p->wf == 4 ? (p->od[1] / 2 + 1) / 2 : p->od[1] / 2;
    if (p->algo == CONV_DIRECT)
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
