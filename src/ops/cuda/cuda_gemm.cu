/* Conv, Gemm and MatMul on cuBLAS (float32, plain FP32 math: no TF32).

   cuBLAS is column-major; a row-major product Y[M x N] = A[M x K] * B[K x N] is computed as
   the column-major Y^T = B^T * A^T, i.e. cublasSgemm(N, M, K, B, A) with the row-major
   leading dimensions, so no data is ever transposed.

   Conv (1 to 3 spatial dims, groups, dilations, pads, auto_pad), geometry re-derived from the
   node and checked against the CPU's output shape:
     direct     1x1, stride 1, no padding: the input is already the column matrix; one
                strided-batched sgemm per group over all images
     depthwise  group == C, one input channel per group: one thread per output element
     im2col     the patches of a chunk of images are unfolded into the device workspace
                ([C*kernel] x [output pixels] per image; chunks keep it near 64 MB), then one
                strided-batched sgemm per group over the images of the chunk
   followed by one kernel adding the bias and applying the fused activation.
   Gemm: C (broadcast, times beta) is written into Y first, then sgemm with beta = 1.
   MatMul: numpy batching. B without batch: one sgemm with the batch folded into M; batch
   offsets that advance by a constant stride: cublasSgemmStridedBatched; any other
   broadcast: cublasSgemmBatched with pointer arrays built and uploaded at session creation. */
#include <stdint.h>
#include <string.h>

#include "ops/cuda/cuda_backend.h"

#define CONV_WS_TARGET ((int64_t)64 << 20)

__global__ void k_act(float *y, int64_t n, int act, float a, float b)
{
    CU_LOOP(t, n) y[t] = cu_act(act, a, b, y[t]);
}

static void act_launch(const e2e_kernel *k, float *y, int64_t n, cudaStream_t s)
{
    if (k->act != E2E_ACT_NONE && n > 0)
        k_act<<<cu_blocks(n), CU_THREADS, 0, s>>>(y, n, (int)k->act, k->act_alpha, k->act_beta);
}

/* ---------------------------------------------------------------- Conv */

enum { CONV_DIRECT, CONV_DEPTHWISE, CONV_IM2COL };

struct conv_geo {
    int64_t N, C, M, G, Cg, Mg;
    int64_t id[3], od[3], kd[3], st[3], dl[3], pb[3]; /* D, H, W */
    int64_t isp, osp, ksp, kdim;
};

struct conv_params {
    int algo;
    conv_geo g;
    int64_t chunk;      /* images per im2col chunk */
    bool bias;
};

__global__ void k_im2col(const float *__restrict__ x, float *__restrict__ col, conv_geo g, int64_t n0,
                         int64_t nimg)
{
    const int64_t rows = g.C * g.ksp, total = nimg * rows * g.osp;
    CU_LOOP(t, total) {
        int64_t q = t % g.osp, r = (t / g.osp) % rows, img = t / (g.osp * rows);
        int64_t c = r / g.ksp, kk = r % g.ksp;
        int64_t a = kk / (g.kd[1] * g.kd[2]), b = (kk / g.kd[2]) % g.kd[1], e = kk % g.kd[2];
        int64_t ow = q % g.od[2], oh = (q / g.od[2]) % g.od[1], od = q / (g.od[2] * g.od[1]);
        int64_t iz = od * g.st[0] - g.pb[0] + a * g.dl[0];
        int64_t iy = oh * g.st[1] - g.pb[1] + b * g.dl[1];
        int64_t ix = ow * g.st[2] - g.pb[2] + e * g.dl[2];
        float v = 0.f;
        if (iz >= 0 && iz < g.id[0] && iy >= 0 && iy < g.id[1] && ix >= 0 && ix < g.id[2])
            v = x[((n0 + img) * g.C + c) * g.isp + (iz * g.id[1] + iy) * g.id[2] + ix];
        col[t] = v;
    }
}

__global__ void k_depthwise(const float *__restrict__ x, const float *__restrict__ w,
                            const float *__restrict__ bias, float *__restrict__ y, conv_geo g, int act,
                            float al, float be)
{
    const int64_t total = g.N * g.M * g.osp;
    CU_LOOP(t, total) {
        int64_t q = t % g.osp, m = (t / g.osp) % g.M, n = t / (g.osp * g.M);
        int64_t ow = q % g.od[2], oh = (q / g.od[2]) % g.od[1], od = q / (g.od[2] * g.od[1]);
        const float *xc = x + (n * g.C + m / g.Mg) * g.isp;
        const float *wm = w + m * g.ksp;
        float s = bias ? bias[m] : 0.f;
        for (int64_t a = 0; a < g.kd[0]; a++) {
            int64_t iz = od * g.st[0] - g.pb[0] + a * g.dl[0];
            if (iz < 0 || iz >= g.id[0])
                continue;
            for (int64_t b = 0; b < g.kd[1]; b++) {
                int64_t iy = oh * g.st[1] - g.pb[1] + b * g.dl[1];
                if (iy < 0 || iy >= g.id[1])
                    continue;
                for (int64_t e = 0; e < g.kd[2]; e++) {
                    int64_t ix = ow * g.st[2] - g.pb[2] + e * g.dl[2];
                    if (ix >= 0 && ix < g.id[2])
                        s += wm[(a * g.kd[1] + b) * g.kd[2] + e] * xc[(iz * g.id[1] + iy) * g.id[2] + ix];
                }
            }
        }
        y[t] = cu_act(act, al, be, s);
    }
}

/* y[n, m, q] = act(y + bias[m]) */
__global__ void k_bias_act(float *y, const float *__restrict__ bias, int64_t total, int64_t M,
                           int64_t osp, int act, float al, float be)
{
    CU_LOOP(t, total) {
        float v = y[t];
        if (bias)
            v += bias[(t / osp) % M];
        y[t] = cu_act(act, al, be, v);
    }
}

/* Y[img] (Mg x osp, row-major, image stride M*osp) = W (Mg x kdim) * Acol[img] (kdim x osp,
   image stride sa) for nimg images. */
static cublasStatus_t conv_gemm(cu_state *S, const conv_geo &g, const float *A, int64_t sa,
                                const float *W, float *Y, int64_t nimg)
{
    const float one = 1.f, zero = 0.f;
    const int m = (int)g.osp, nn = (int)g.Mg, kk = (int)g.kdim;
    if (nimg == 1)
        return cublasSgemm(S->blas, CUBLAS_OP_N, CUBLAS_OP_N, m, nn, kk, &one, A, m, W, kk, &zero, Y, m);
    return cublasSgemmStridedBatched(S->blas, CUBLAS_OP_N, CUBLAS_OP_N, m, nn, kk, &one, A, m,
                                     (long long)sa, W, kk, 0LL, &zero, Y, m,
                                     (long long)(g.M * g.osp), (int)nimg);
}

static e2e_status conv_run(cu_state *S, cu_node *n)
{
    const conv_params *p = (const conv_params *)n->p;
    const conv_geo &g = p->g;
    const e2e_kernel *k = n->k;
    const float *X = (const float *)n->in[0], *W = (const float *)n->in[1];
    const float *B = p->bias ? (const float *)n->in[2] : NULL;
    float *Y = (float *)n->out[0];
    const int64_t total = g.N * g.M * g.osp;
    if (!total)
        return E2E_OK;
    if (p->algo == CONV_DEPTHWISE) {
        k_depthwise<<<cu_blocks(total), CU_THREADS, 0, S->stream>>>(X, W, B, Y, g, (int)k->act,
                                                                    k->act_alpha, k->act_beta);
        return E2E_OK;
    }
    if (g.kdim == 0) {
        cudaError_t e = cudaMemsetAsync(Y, 0, sizeof(float) * (size_t)total, S->stream);
        if (e != cudaSuccess)
            return cu_fail_cuda(n, e, "cudaMemsetAsync");
    } else if (p->algo == CONV_DIRECT) {
        for (int64_t gi = 0; gi < g.G; gi++) {
            cublasStatus_t bs = conv_gemm(S, g, X + gi * g.Cg * g.isp, g.C * g.isp, W + gi * g.Mg * g.kdim,
                                          Y + gi * g.Mg * g.osp, g.N);
            if (bs != CUBLAS_STATUS_SUCCESS)
                return cu_fail_blas(n, bs, "the convolution's sgemm");
        }
    } else {
        float *col = (float *)S->d_ws;
        const int64_t rows = g.C * g.ksp;
        for (int64_t n0 = 0; n0 < g.N; n0 += p->chunk) {
            int64_t nimg = g.N - n0 < p->chunk ? g.N - n0 : p->chunk;
            k_im2col<<<cu_blocks(nimg * rows * g.osp), CU_THREADS, 0, S->stream>>>(X, col, g, n0, nimg);
            for (int64_t gi = 0; gi < g.G; gi++) {
                cublasStatus_t bs = conv_gemm(S, g, col + gi * g.kdim * g.osp, rows * g.osp,
                                              W + gi * g.Mg * g.kdim, Y + (n0 * g.M + gi * g.Mg) * g.osp, nimg);
                if (bs != CUBLAS_STATUS_SUCCESS)
                    return cu_fail_blas(n, bs, "the convolution's sgemm");
            }
        }
    }
    if (B || k->act != E2E_ACT_NONE)
        k_bias_act<<<cu_blocks(total), CU_THREADS, 0, S->stream>>>(Y, B, total, g.M, g.osp, (int)k->act,
                                                                   k->act_alpha, k->act_beta);
    return E2E_OK;
}

e2e_status cu_prep_conv(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in < 2 || k->n_in > 3 || !k->in[0] || !k->in[1] || !k->out[0] ||
        k->in[0]->dtype != E2E_FLOAT || k->in[1]->dtype != E2E_FLOAT)
        return cu_unsupported(n, "this form of Conv");
    const e2e_shape *xs = &k->in[0]->shape, *ws = &k->in[1]->shape, *ys = &k->out[0]->shape;
    const int nsp = xs->rank - 2;
    if (nsp < 1 || nsp > 3 || ws->rank != xs->rank || ys->rank != xs->rank)
        return cu_unsupported(n, "Conv with %d spatial dims", nsp);
    e2e_window_geom wg; /* decoded once by the CPU operator's prepare (ops/op_geom.h) */
    if (!e2e_conv_geom_of(k, &wg))
        return cu_unsupported(n, "a Conv without its decoded geometry");
    conv_params *p = (conv_params *)cu_params(n, sizeof(conv_params));
    if (!p)
        return E2E_ERR_NOMEM;
    conv_geo &g = p->g;
    g.N = wg.N;
    g.C = wg.C;
    g.M = wg.M;
    g.G = wg.G;
    g.Cg = g.C / g.G;
    g.Mg = g.M / g.G;
    for (int i = 0; i < 3; i++) {
        g.id[i] = wg.id[i];
        g.od[i] = wg.od[i];
        g.kd[i] = wg.kd[i];
        g.st[i] = wg.st[i];
        g.dl[i] = wg.dl[i];
        g.pb[i] = wg.pb[i];
    }
    g.isp = wg.isp;
    g.osp = wg.osp;
    g.ksp = wg.ksp;
    g.kdim = g.Cg * g.ksp;
    if (ys->dims[0] != g.N || ys->dims[1] != g.M || ws->dims[1] != g.Cg)
        return cu_fail(n, E2E_ERR_SHAPE, "the weight and output shapes do not match the input");
    if (g.osp > INT32_MAX || g.Mg > INT32_MAX || g.kdim > INT32_MAX)
        return cu_unsupported(n, "dimensions beyond the cuBLAS int range");
    p->bias = k->n_in > 2 && k->in[2];
    if (p->bias && (k->in[2]->dtype != E2E_FLOAT || k->in[2]->numel != g.M))
        return cu_fail(n, E2E_ERR_SHAPE, "the bias should have %lld floats", (long long)g.M);
    bool unit = g.ksp == 1;
    for (int i = 0; i < 3; i++)
        unit = unit && g.st[i] == 1 && g.pb[i] == 0 && g.od[i] == g.id[i];
    if (g.Cg == 1 && g.G == g.C && g.G > 1)
        p->algo = CONV_DEPTHWISE;
    else if (unit)
        p->algo = CONV_DIRECT;
    else {
        p->algo = CONV_IM2COL;
        const int64_t per_image = g.C * g.ksp * g.osp * (int64_t)sizeof(float);
        int64_t chunk = per_image > 0 ? CONV_WS_TARGET / per_image : g.N;
        if (chunk < 1)
            chunk = 1;
        if (chunk > g.N)
            chunk = g.N > 0 ? g.N : 1;
        p->chunk = chunk;
        n->ws = (size_t)(chunk * per_image);
    }
    n->run = conv_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- Gemm */

struct gemm_params {
    int M, N, K;
    bool ta, tb;
    float alpha, beta;
    bool has_c;
    int64_t c_sm, c_sn;
};

__global__ void k_gemm_c(float *y, const float *__restrict__ c, int64_t M, int64_t N, int64_t sm,
                         int64_t sn, float beta)
{
    CU_LOOP(t, M * N) {
        int64_t i = t / N, j = t % N;
        y[t] = beta * c[i * sm + j * sn];
    }
}

static e2e_status gemm_run(cu_state *S, cu_node *n)
{
    const gemm_params *p = (const gemm_params *)n->p;
    const int64_t mn = (int64_t)p->M * p->N;
    if (!mn)
        return E2E_OK;
    float *Y = (float *)n->out[0];
    float beta = 0.f;
    if (p->has_c) {
        k_gemm_c<<<cu_blocks(mn), CU_THREADS, 0, S->stream>>>(Y, (const float *)n->in[2], p->M, p->N,
                                                              p->c_sm, p->c_sn, p->beta);
        beta = 1.f;
    }
    if (p->K > 0) {
        cublasStatus_t bs = cublasSgemm(S->blas, p->tb ? CUBLAS_OP_T : CUBLAS_OP_N, p->ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                        p->N, p->M, p->K, &p->alpha, (const float *)n->in[1], p->tb ? p->K : p->N,
                                        (const float *)n->in[0], p->ta ? p->M : p->K, &beta, Y, p->N);
        if (bs != CUBLAS_STATUS_SUCCESS)
            return cu_fail_blas(n, bs, "cublasSgemm");
    } else if (!p->has_c) {
        cudaError_t e = cudaMemsetAsync(Y, 0, sizeof(float) * (size_t)mn, S->stream);
        if (e != cudaSuccess)
            return cu_fail_cuda(n, e, "cudaMemsetAsync");
    }
    act_launch(n->k, Y, mn, S->stream);
    return E2E_OK;
}

e2e_status cu_prep_gemm(cu_state *S, cu_node *n)
{
    (void)S;
    e2e_kernel *k = n->k;
    if (k->n_in < 2 || k->n_in > 3 || !k->in[0] || !k->in[1] || !k->out[0] ||
        k->in[0]->dtype != E2E_FLOAT || k->in[1]->dtype != E2E_FLOAT || k->in[0]->shape.rank != 2 ||
        k->in[1]->shape.rank != 2)
        return cu_unsupported(n, "this form of Gemm");
    int64_t ta, tb;
    gemm_params *p = (gemm_params *)cu_params(n, sizeof(gemm_params));
    if (!p)
        return E2E_ERR_NOMEM;
    e2e_status st;
    if ((st = e2e_attr_int(k, "transA", 0, &ta)) || (st = e2e_attr_int(k, "transB", 0, &tb)) ||
        (st = e2e_attr_float(k, "alpha", 1.f, &p->alpha)) || (st = e2e_attr_float(k, "beta", 1.f, &p->beta)))
        return st;
    const e2e_shape *a = &k->in[0]->shape, *b = &k->in[1]->shape;
    p->ta = ta != 0;
    p->tb = tb != 0;
    int64_t M = p->ta ? a->dims[1] : a->dims[0], K = p->ta ? a->dims[0] : a->dims[1];
    int64_t N = p->tb ? b->dims[0] : b->dims[1];
    if (k->out[0]->shape.rank != 2 || k->out[0]->shape.dims[0] != M || k->out[0]->shape.dims[1] != N)
        return cu_fail(n, E2E_ERR_SHAPE, "the output shape does not match A and B");
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
        return cu_unsupported(n, "dimensions beyond the cuBLAS int range");
    p->M = (int)M;
    p->N = (int)N;
    p->K = (int)K;
    const e2e_value *c = k->n_in > 2 ? k->in[2] : NULL;
    if (c && p->beta != 0.f) {
        if (c->dtype != E2E_FLOAT)
            return cu_unsupported(n, "C of type %s", e2e_dtype_name(c->dtype));
        int64_t str[2];
        e2e_broadcast_strides(&c->shape, &k->out[0]->shape, str);
        p->has_c = true;
        p->c_sm = str[0];
        p->c_sn = str[1];
    }
    n->run = gemm_run;
    return E2E_OK;
}

/* ---------------------------------------------------------------- MatMul */

enum { MM_SINGLE, MM_STRIDED, MM_POINTERS };

struct matmul_params {
    int mode;
    int M, N, K;
    int64_t batch;
    int64_t sa, sb;         /* STRIDED: element strides between batch entries */
    const float **ptrs;     /* POINTERS: device arrays A[batch], B[batch], Y[batch] */
};

static e2e_status matmul_run(cu_state *S, cu_node *n)
{
    const matmul_params *p = (const matmul_params *)n->p;
    const int64_t mn = (int64_t)p->M * p->N * p->batch;
    if (!mn)
        return E2E_OK;
    const float *A = (const float *)n->in[0], *B = (const float *)n->in[1];
    float *Y = (float *)n->out[0];
    const float one = 1.f, zero = 0.f;
    cublasStatus_t bs = CUBLAS_STATUS_SUCCESS;
    if (p->K == 0) {
        cudaError_t e = cudaMemsetAsync(Y, 0, sizeof(float) * (size_t)mn, S->stream);
        if (e != cudaSuccess)
            return cu_fail_cuda(n, e, "cudaMemsetAsync");
    } else if (p->mode == MM_SINGLE) {
        bs = cublasSgemm(S->blas, CUBLAS_OP_N, CUBLAS_OP_N, p->N, p->M, p->K, &one, B, p->N, A, p->K,
                         &zero, Y, p->N);
    } else if (p->mode == MM_STRIDED) {
        bs = cublasSgemmStridedBatched(S->blas, CUBLAS_OP_N, CUBLAS_OP_N, p->N, p->M, p->K, &one, B, p->N,
                                       (long long)p->sb, A, p->K, (long long)p->sa, &zero, Y, p->N,
                                       (long long)p->M * p->N, (int)p->batch);
    } else {
        const float *const *pa = p->ptrs, *const *pb = p->ptrs + p->batch;
        float *const *py = (float *const *)(p->ptrs + 2 * p->batch);
        bs = cublasSgemmBatched(S->blas, CUBLAS_OP_N, CUBLAS_OP_N, p->N, p->M, p->K, &one, pb, p->N, pa,
                                p->K, &zero, py, p->N, (int)p->batch);
    }
    if (bs != CUBLAS_STATUS_SUCCESS)
        return cu_fail_blas(n, bs, "the MatMul's sgemm");
    act_launch(n->k, Y, mn, S->stream);
    return E2E_OK;
}

e2e_status cu_prep_matmul(cu_state *S, cu_node *n)
{
    e2e_kernel *k = n->k;
    if (k->n_in != 2 || !k->in[0] || !k->in[1] || !k->out[0] || k->in[0]->dtype != E2E_FLOAT ||
        k->in[1]->dtype != E2E_FLOAT || k->in[0]->shape.rank < 1 || k->in[1]->shape.rank < 1)
        return cu_unsupported(n, "this form of MatMul");
    e2e_shape a = k->in[0]->shape, b = k->in[1]->shape;
    if (a.rank == 1) {
        a.rank = 2;
        a.dims[1] = a.dims[0];
        a.dims[0] = 1;
    }
    if (b.rank == 1) {
        b.rank = 2;
        b.dims[1] = 1;
    }
    const int64_t M = a.dims[a.rank - 2], K = a.dims[a.rank - 1], N = b.dims[b.rank - 1];
    if (b.dims[b.rank - 2] != K)
        return cu_fail(n, E2E_ERR_SHAPE, "inner dimensions differ");
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
        return cu_unsupported(n, "dimensions beyond the cuBLAS int range");
    e2e_shape ab, bb, ob;
    ab.rank = a.rank - 2;
    bb.rank = b.rank - 2;
    memcpy(ab.dims, a.dims, sizeof(int64_t) * (size_t)ab.rank);
    memcpy(bb.dims, b.dims, sizeof(int64_t) * (size_t)bb.rank);
    e2e_status st;
    if ((st = e2e_broadcast(k, &ab, &bb, &ob)))
        return st;
    const int64_t na = e2e_shape_numel(&ab), nbb = e2e_shape_numel(&bb), no = e2e_shape_numel(&ob);
    if (no * M * N != k->out[0]->numel)
        return cu_fail(n, E2E_ERR_SHAPE, "the output size does not match A and B");
    matmul_params *p = (matmul_params *)cu_params(n, sizeof(matmul_params));
    if (!p)
        return E2E_ERR_NOMEM;
    p->M = (int)M;
    p->N = (int)N;
    p->K = (int)K;
    if (nbb == 1 && na == no && M * na <= INT32_MAX) {
        p->mode = MM_SINGLE;
        p->M = (int)(M * na);
        p->batch = 1;
        n->run = matmul_run;
        return E2E_OK;
    }
    p->batch = no;
    if (no > INT32_MAX)
        return cu_unsupported(n, "a batch of %lld products", (long long)no);
    /* matrix offsets of every batch entry (odometer over the broadcast batch dims) */
    int64_t sa[E2E_MAX_RANK], sb[E2E_MAX_RANK], idx[E2E_MAX_RANK] = {0};
    e2e_broadcast_strides(&ab, &ob, sa);
    e2e_broadcast_strides(&bb, &ob, sb);
    int64_t *oa = (int64_t *)malloc(sizeof(int64_t) * (size_t)(2 * no + 2));
    if (!oa)
        return cu_fail(n, E2E_ERR_NOMEM, "out of memory");
    int64_t *obo = oa + no + 1, ca = 0, cb = 0;
    for (int64_t t = 0; t < no; t++) {
        oa[t] = ca;
        obo[t] = cb;
        for (int d = ob.rank - 1; d >= 0; d--) {
            if (++idx[d] < ob.dims[d]) {
                ca += sa[d];
                cb += sb[d];
                break;
            }
            ca -= sa[d] * (ob.dims[d] - 1);
            cb -= sb[d] * (ob.dims[d] - 1);
            idx[d] = 0;
        }
    }
    const int64_t da = no > 1 ? oa[1] - oa[0] : 0, db = no > 1 ? obo[1] - obo[0] : 0;
    bool linear = true;
    for (int64_t t = 0; t < no && linear; t++)
        linear = oa[t] == t * da && obo[t] == t * db;
    if (linear) {
        p->mode = MM_STRIDED;
        p->sa = da * M * K;
        p->sb = db * K * N;
    } else {
        p->mode = MM_POINTERS;
        const float **host = (const float **)malloc(sizeof(float *) * (size_t)(3 * no));
        if (!host) {
            free(oa);
            return cu_fail(n, E2E_ERR_NOMEM, "out of memory");
        }
        const float *A = (const float *)n->in[0], *B = (const float *)n->in[1];
        const float *Y = (const float *)n->out[0];
        for (int64_t t = 0; t < no; t++) {
            host[t] = A + oa[t] * M * K;
            host[no + t] = B + obo[t] * K * N;
            host[2 * no + t] = Y + t * M * N;
        }
        void *dev = NULL;
        st = cu_node_upload(S, n, host, sizeof(float *) * (size_t)(3 * no), &dev);
        free(host);
        if (st) {
            free(oa);
            return st;
        }
        p->ptrs = (const float **)dev;
    }
    free(oa);
    n->run = matmul_run;
    return E2E_OK;
}
