/* CUDA sessions: device discovery, init (upload constants, mirror the arena, resolve every
   kernel), run (inputs in, kernels, outputs out, one synchronisation) and free.
   See cuda_backend.h for the picture. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cuda/cuda_backend.h"

#define CU_ALIGN 256

static size_t align_up(size_t n) { return (n + CU_ALIGN - 1) & ~(size_t)(CU_ALIGN - 1); }

/* ---------------------------------------------------------------- helpers */

e2e_status cu_fail(cu_node *n, e2e_status st, const char *fmt, ...)
{
    char reason[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return e2e_kfail(n->k, st, "%s", reason);
}

e2e_status cu_fail_cuda(cu_node *n, cudaError_t e, const char *what)
{
    (void)cudaGetLastError(); /* clear a non-sticky error */
    return cu_fail(n, e == cudaErrorMemoryAllocation ? E2E_ERR_NOMEM : E2E_ERR_DEVICE,
                   "CUDA error in %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

e2e_status cu_fail_blas(cu_node *n, cublasStatus_t e, const char *what)
{
    return cu_fail(n, e == CUBLAS_STATUS_ALLOC_FAILED ? E2E_ERR_NOMEM : E2E_ERR_DEVICE,
                   "cuBLAS error in %s: %s", what, cublasGetStatusString(e));
}

e2e_status cu_unsupported(cu_node *n, const char *fmt, ...)
{
    char reason[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return cu_fail(n, E2E_ERR_UNSUPPORTED, "%s: not implemented on CUDA", reason);
}

e2e_status cu_check_launch(cu_node *n)
{
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? E2E_OK : cu_fail_cuda(n, e, "a kernel launch");
}

void *cu_params(cu_node *n, size_t bytes)
{
    free(n->p);
    n->p = calloc(1, bytes ? bytes : 1);
    if (!n->p)
        cu_fail(n, E2E_ERR_NOMEM, "out of memory");
    return n->p;
}

e2e_status cu_node_upload(cu_state *S, cu_node *n, const void *host, size_t bytes, void **dev)
{
    if (n->dev) {
        cudaFree(n->dev);
        n->dev = NULL;
    }
    cudaError_t e = cudaMalloc(&n->dev, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        n->dev = NULL;
        return cu_fail_cuda(n, e, "cudaMalloc of the node's parameters");
    }
    if (bytes && ((e = cudaMemcpyAsync(n->dev, host, bytes, cudaMemcpyHostToDevice, S->stream)) != cudaSuccess ||
                  (e = cudaStreamSynchronize(S->stream)) != cudaSuccess))
        return cu_fail_cuda(n, e, "uploading the node's parameters");
    *dev = n->dev;
    return E2E_OK;
}

e2e_status cu_copy_d2d(cu_state *S, cu_node *n, void *dst, const void *src, size_t bytes)
{
    if (dst == src || !bytes)
        return E2E_OK;
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, S->stream);
    return e == cudaSuccess ? E2E_OK : cu_fail_cuda(n, e, "cudaMemcpyAsync (device to device)");
}

/* Strides of each input against out, unit dims dropped, neighbours merged when every operand
   (and the output) is contiguous across them. */
void cu_bcast_plan(cu_bcast *b, const e2e_shape *out, const e2e_shape *const *ins, int nin)
{
    int64_t st[3][CU_MAXR];
    memset(b, 0, sizeof *b);
    b->nin = nin;
    for (int j = 0; j < nin; j++)
        e2e_broadcast_strides(ins[j], out, st[j]);
    int r = 0;
    b->n = 1;
    for (int d = 0; d < out->rank; d++) {
        int64_t n = out->dims[d];
        b->n *= n;
        if (n == 1)
            continue;
        bool merge = r > 0;
        for (int j = 0; j < nin && merge; j++)
            merge = b->st[j][r - 1] == st[j][d] * n;
        if (merge) {
            b->dims[r - 1] *= n;
            for (int j = 0; j < nin; j++)
                b->st[j][r - 1] = st[j][d];
        } else {
            b->dims[r] = n;
            for (int j = 0; j < nin; j++)
                b->st[j][r] = st[j][d];
            r++;
        }
    }
    if (r == 0) {
        b->dims[0] = 1;
        for (int j = 0; j < nin; j++)
            b->st[j][0] = 0;
        r = 1;
    }
    b->rank = r;
}

/* ---------------------------------------------------------------- devices */

/* Tells whether this build carries code the current device can run. */
__global__ void cu_probe_kernel(int *x)
{
    if (x)
        *x = 1;
}

extern "C" int e2e_cuda_count_devices(char *why, size_t n)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        /* "driver version is insufficient" is also what the runtime says when there is no
           driver at all: tell the two apart */
        void *drv = e == cudaErrorInsufficientDriver ? dlopen("libcuda.so.1", RTLD_LAZY) : (void *)1;
        if (why && n && !drv)
            snprintf(why, n, "no NVIDIA driver is installed (libcuda.so.1 cannot be loaded; "
                             "cudaGetDeviceCount: %s)", cudaGetErrorName(e));
        else if (why && n)
            snprintf(why, n, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        if (drv && drv != (void *)1)
            dlclose(drv);
        (void)cudaGetLastError();
        return 0;
    }
    if (count <= 0 && why && n)
        snprintf(why, n, "no CUDA-capable device is detected");
    return count > 0 ? count : 0;
}

/* ---------------------------------------------------------------- the op table */

static const struct {
    const char *op;
    cu_prepare_fn prepare;
} cu_ops[] = {
    {"Relu", cu_prep_unary}, {"LeakyRelu", cu_prep_unary}, {"Sigmoid", cu_prep_unary},
    {"Tanh", cu_prep_unary}, {"Clip", cu_prep_unary}, {"HardSigmoid", cu_prep_unary},
    {"HardSwish", cu_prep_unary}, {"Elu", cu_prep_unary}, {"Selu", cu_prep_unary},
    {"Softplus", cu_prep_unary}, {"Sqrt", cu_prep_unary}, {"Exp", cu_prep_unary},
    {"Log", cu_prep_unary}, {"Neg", cu_prep_unary}, {"Abs", cu_prep_unary},
    {"Reciprocal", cu_prep_unary}, {"Floor", cu_prep_unary}, {"Ceil", cu_prep_unary},
    {"Sin", cu_prep_unary}, {"Cos", cu_prep_unary}, {"Erf", cu_prep_unary},
    {"Not", cu_prep_unary}, {"Gelu", cu_prep_unary},
    {"Add", cu_prep_binary}, {"Sub", cu_prep_binary}, {"Mul", cu_prep_binary},
    {"Div", cu_prep_binary}, {"Pow", cu_prep_binary}, {"Min", cu_prep_binary},
    {"Max", cu_prep_binary}, {"Sum", cu_prep_binary}, {"Mean", cu_prep_binary},
    {"Equal", cu_prep_binary}, {"Less", cu_prep_binary}, {"Greater", cu_prep_binary},
    {"LessOrEqual", cu_prep_binary}, {"GreaterOrEqual", cu_prep_binary},
    {"And", cu_prep_binary}, {"Or", cu_prep_binary}, {"Xor", cu_prep_binary},
    {"PRelu", cu_prep_binary}, {"Where", cu_prep_where},
    {"Cast", cu_prep_cast}, {"Identity", cu_prep_view}, {"Reshape", cu_prep_view},
    {"Flatten", cu_prep_view}, {"Squeeze", cu_prep_view}, {"Unsqueeze", cu_prep_view},
    {"Dropout", cu_prep_dropout}, {"Shape", cu_prep_const_out}, {"Size", cu_prep_const_out},
    {"Transpose", cu_prep_xcopy}, {"Slice", cu_prep_xcopy}, {"Expand", cu_prep_xcopy},
    {"Tile", cu_prep_xcopy}, {"Concat", cu_prep_concat}, {"Split", cu_prep_split},
    {"Gather", cu_prep_gather},
    {"Conv", cu_prep_conv}, {"Gemm", cu_prep_gemm}, {"MatMul", cu_prep_matmul},
    {"MaxPool", cu_prep_pool}, {"AveragePool", cu_prep_pool},
    {"GlobalAveragePool", cu_prep_gpool}, {"GlobalMaxPool", cu_prep_gpool},
    {"Softmax", cu_prep_softmax}, {"LogSoftmax", cu_prep_softmax},
    {"LayerNormalization", cu_prep_layernorm}, {"InstanceNormalization", cu_prep_layernorm},
    {"BatchNormalization", cu_prep_batchnorm}, {"LRN", cu_prep_lrn},
    {"ReduceSum", cu_prep_reduce}, {"ReduceMean", cu_prep_reduce}, {"ReduceMax", cu_prep_reduce},
    {"ReduceMin", cu_prep_reduce}, {"ReduceProd", cu_prep_reduce}, {"ReduceL1", cu_prep_reduce},
    {"ReduceL2", cu_prep_reduce}, {"ReduceSumSquare", cu_prep_reduce},
    {"ReduceLogSum", cu_prep_reduce}, {"ReduceLogSumExp", cu_prep_reduce},
};

static cu_prepare_fn find_prepare(const char *op)
{
    for (size_t i = 0; i < sizeof cu_ops / sizeof cu_ops[0]; i++)
        if (!strcmp(cu_ops[i].op, op))
            return cu_ops[i].prepare;
    return NULL;
}

/* ---------------------------------------------------------------- init */

static int find_root(const e2e_plan_view *s, int v)
{
    while (s->root[v] != v)
        v = s->root[v];
    return v;
}

static int value_id(const e2e_plan_view *s, const e2e_value *v) { return (int)(v - s->values); }

static bool is_temp(const e2e_value *v) { return !v->is_const && !v->is_input; }

/* The device address of a value; NULL (with *ok false) when it has none. */
static void *dptr(cu_state *S, const e2e_value *v, bool *ok)
{
    const e2e_plan_view *s = S->s;
    int id = value_id(s, v);
    if (v->is_const) {
        if (S->const_off[id] != SIZE_MAX)
            return S->d_consts + S->const_off[id];
    } else if (v->is_input) {
        if (S->input_off[id] != SIZE_MAX)
            return S->d_inputs + S->input_off[id];
    } else {
        int r = find_root(s, id);
        if (s->offset[r] != SIZE_MAX && (S->d_arena || s->arena_bytes == 0))
            return S->d_arena + s->offset[r];
    }
    *ok = false;
    return NULL;
}

static e2e_status init_fail(e2e_error *err, const e2e_plan_view *s, e2e_status st, const char *what,
                            cudaError_t e)
{
    (void)cudaGetLastError();
    return e2e_fail(err, e == cudaErrorMemoryAllocation ? E2E_ERR_NOMEM : st,
                    "%s: device cuda: %s: %s (%s)", s->model_name, what, cudaGetErrorString(e),
                    cudaGetErrorName(e));
}

/* Uploads every constant a kernel reads, in one device block. */
static e2e_status upload_consts(cu_state *S, e2e_error *err)
{
    const e2e_plan_view *s = S->s;
    size_t total = 0;
    for (int i = 0; i < s->n_kernels; i++) {
        const e2e_kernel *k = &s->kernels[i];
        for (int j = 0; j < k->n_in; j++) {
            const e2e_value *v = k->in[j];
            if (!v || !v->is_const)
                continue;
            int id = value_id(s, v);
            if (S->const_off[id] != SIZE_MAX)
                continue;
            S->const_off[id] = total;
            total += align_up((size_t)v->numel * cu_esize(v));
        }
    }
    if (!total)
        return E2E_OK;
    cudaError_t e = cudaMalloc(&S->d_consts, total);
    if (e != cudaSuccess) {
        S->d_consts = NULL;
        return init_fail(err, s, E2E_ERR_DEVICE, "cannot allocate the weights on the GPU", e);
    }
    for (int id = 0; id < s->n_values; id++) {
        const e2e_value *v = &s->values[id];
        size_t nb = (size_t)v->numel * cu_esize(v);
        if (S->const_off[id] == SIZE_MAX || !nb)
            continue;
        e = cudaMemcpyAsync(S->d_consts + S->const_off[id], v->data, nb, cudaMemcpyHostToDevice,
                            S->stream);
        if (e != cudaSuccess)
            return init_fail(err, s, E2E_ERR_DEVICE, "cannot upload the weights", e);
    }
    if ((e = cudaStreamSynchronize(S->stream)) != cudaSuccess)
        return init_fail(err, s, E2E_ERR_DEVICE, "cannot upload the weights", e);
    return E2E_OK;
}

static e2e_status alloc_inputs(cu_state *S, e2e_error *err)
{
    const e2e_plan_view *s = S->s;
    const e2e_graph *g = s->graph;
    size_t total = 0;
    int n = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        const e2e_value *v = &s->values[g->inputs[i]];
        if (!v->is_input)
            continue;
        S->input_off[g->inputs[i]] = total;
        total += align_up((size_t)v->numel * cu_esize(v));
        n++;
    }
    S->up = (cu_state::cu_copy *)calloc((size_t)n + 1, sizeof *S->up);
    if (!S->up)
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
    if (total) {
        cudaError_t e = cudaMalloc(&S->d_inputs, total);
        if (e != cudaSuccess) {
            S->d_inputs = NULL;
            return init_fail(err, s, E2E_ERR_DEVICE, "cannot allocate the inputs on the GPU", e);
        }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int id = g->inputs[i];
        const e2e_value *v = &s->values[id];
        size_t nb = (size_t)v->numel * cu_esize(v);
        if (!v->is_input || !nb)
            continue;
        /* host pointer filled in at run (the caller's buffer) */
        S->up[S->n_up++] = {NULL, S->d_inputs + S->input_off[id], nb, id};
    }
    return E2E_OK;
}

static e2e_status plan_outputs(cu_state *S, e2e_error *err)
{
    const e2e_plan_view *s = S->s;
    const e2e_graph *g = s->graph;
    S->down = (cu_state::cu_copy *)calloc((size_t)g->n_outputs + 1, sizeof *S->down);
    if (!S->down)
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_outputs; i++) {
        const e2e_value *v = &s->values[g->outputs[i]];
        size_t nb = (size_t)v->numel * cu_esize(v);
        if (!is_temp(v) || !nb)
            continue; /* constants and pass-through inputs are already on the host */
        bool ok = true;
        void *d = dptr(S, v, &ok);
        if (!ok || !v->data)
            return e2e_fail(err, E2E_ERR_INVALID, "%s: device cuda: graph output \"%s\" has no arena slot",
                            s->model_name, g->values[g->outputs[i]].name);
        bool dup = false;
        for (int j = 0; j < S->n_down; j++)
            dup |= S->down[j].dev == d && S->down[j].bytes >= nb;
        if (!dup)
            S->down[S->n_down++] = {v->data, d, nb, g->outputs[i]};
    }
    return E2E_OK;
}

static e2e_status build_nodes(cu_state *S, e2e_error *err)
{
    const e2e_plan_view *s = S->s;
    size_t np = 0;
    for (int i = 0; i < s->n_kernels; i++)
        np += (size_t)s->kernels[i].n_in + (size_t)s->kernels[i].n_out;
    S->nodes = (cu_node *)calloc((size_t)s->n_kernels + 1, sizeof(cu_node));
    S->ptrs = (void **)calloc(np + 1, sizeof(void *));
    if (!S->nodes || !S->ptrs)
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
    void **p = S->ptrs;
    for (int i = 0; i < s->n_kernels; i++) {
        e2e_kernel *k = &s->kernels[i];
        cu_node *n = &S->nodes[i];
        S->n_nodes = i + 1;
        k->err = err;
        n->k = k;
        n->index = i;
        n->n_in = k->n_in;
        n->n_out = k->n_out;
        n->in = p;
        p += k->n_in;
        n->out = p;
        p += k->n_out;
        cu_prepare_fn prep = find_prepare(k->node->op_type);
        if (!prep)
            return cu_fail(n, E2E_ERR_UNSUPPORTED, "operator %s is not implemented on CUDA",
                           k->node->op_type);
        for (int j = 0; j < k->n_in; j++) {
            if (!k->in[j])
                continue;
            bool ok = true;
            n->in[j] = dptr(S, k->in[j], &ok);
            if (!ok)
                return cu_fail(n, E2E_ERR_INVALID, "input %d has no device memory", j);
        }
        for (int j = 0; j < k->n_out; j++) {
            if (!k->out[j] || k->out[j]->is_const)
                continue; /* constant outputs (Shape, Size) live on the host and upload */
            bool ok = true;
            n->out[j] = dptr(S, k->out[j], &ok);
            if (!ok)
                return cu_fail(n, E2E_ERR_INVALID, "output %d has no device memory", j);
        }
        e2e_status st = prep(S, n);
        if (st)
            return st;
        if (!n->run)
            return cu_fail(n, E2E_ERR_UNSUPPORTED, "no CUDA kernel was chosen");
        if (n->ws > S->ws_bytes)
            S->ws_bytes = n->ws;
    }
    return E2E_OK;
}

extern "C" e2e_status e2e_cuda_init(const e2e_plan_view *plan, void **state, e2e_error *err)
{
    *state = NULL;
    cu_state *S = (cu_state *)calloc(1, sizeof *S);
    if (!S)
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
    *state = S; /* from here on, a failure is cleaned up by e2e_cuda_free */
    S->plan = *plan;
    S->s = &S->plan;
    const e2e_plan_view *s = S->s;
    S->const_off = (size_t *)malloc(sizeof(size_t) * ((size_t)s->n_values + 1));
    S->input_off = (size_t *)malloc(sizeof(size_t) * ((size_t)s->n_values + 1));
    if (!S->const_off || !S->input_off)
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
    for (int i = 0; i <= s->n_values; i++)
        S->const_off[i] = S->input_off[i] = SIZE_MAX;

    cudaError_t e;
    if ((e = cudaGetDevice(&S->device)) != cudaSuccess || (e = cudaSetDevice(S->device)) != cudaSuccess)
        return init_fail(err, s, E2E_ERR_DEVICE, "cannot select the GPU", e);
    cudaFuncAttributes fa;
    if ((e = cudaFuncGetAttributes(&fa, cu_probe_kernel)) != cudaSuccess) {
        cudaDeviceProp prop;
        int major = 0, minor = 0;
        if (cudaGetDeviceProperties(&prop, S->device) == cudaSuccess) {
            major = prop.major;
            minor = prop.minor;
        }
        (void)cudaGetLastError();
        return e2e_fail(err, E2E_ERR_DEVICE,
                        "%s: device cuda: this build has no code for the GPU (compute capability "
                        "%d.%d): %s; rebuild the CUDA backend for it with nvcc -arch",
                        s->model_name, major, minor, cudaGetErrorString(e));
    }
    if ((e = cudaStreamCreateWithFlags(&S->stream, cudaStreamNonBlocking)) != cudaSuccess) {
        S->stream = NULL;
        return init_fail(err, s, E2E_ERR_DEVICE, "cannot create a stream", e);
    }
    cublasStatus_t bs = cublasCreate(&S->blas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        S->blas = NULL;
        return e2e_fail(err, bs == CUBLAS_STATUS_ALLOC_FAILED ? E2E_ERR_NOMEM : E2E_ERR_DEVICE,
                        "%s: device cuda: cannot create a cuBLAS handle: %s", s->model_name,
                        cublasGetStatusString(bs));
    }
    /* plain FP32 products (no TF32), so the CPU comparison stays meaningful */
    if ((bs = cublasSetStream(S->blas, S->stream)) != CUBLAS_STATUS_SUCCESS ||
        (bs = cublasSetMathMode(S->blas, CUBLAS_DEFAULT_MATH)) != CUBLAS_STATUS_SUCCESS ||
        (bs = cublasSetPointerMode(S->blas, CUBLAS_POINTER_MODE_HOST)) != CUBLAS_STATUS_SUCCESS)
        return e2e_fail(err, E2E_ERR_DEVICE, "%s: device cuda: cuBLAS setup failed: %s",
                        s->model_name, cublasGetStatusString(bs));

    e2e_status st;
    if ((st = upload_consts(S, err)) || (st = alloc_inputs(S, err)))
        return st;
    if (s->arena_bytes) {
        if ((e = cudaMalloc(&S->d_arena, s->arena_bytes)) != cudaSuccess) {
            S->d_arena = NULL;
            return init_fail(err, s, E2E_ERR_DEVICE, "cannot allocate the arena on the GPU", e);
        }
    }
    if ((st = build_nodes(S, err)))
        return st;
    if (s->max_bytes && s->arena_bytes + S->ws_bytes > s->max_bytes)
        return e2e_fail(err, E2E_ERR_LIMIT,
                        "%s: device cuda: the plan needs %zu bytes (arena %zu + GPU workspace %zu), "
                        "above the limit of %zu", s->model_name, s->arena_bytes + S->ws_bytes,
                        s->arena_bytes, S->ws_bytes, s->max_bytes);
    if (S->ws_bytes && (e = cudaMalloc(&S->d_ws, S->ws_bytes)) != cudaSuccess) {
        S->d_ws = NULL;
        return init_fail(err, s, E2E_ERR_DEVICE, "cannot allocate the GPU workspace", e);
    }
    if (S->flag_used) {
        if ((e = cudaMalloc(&S->d_flag, sizeof(int))) != cudaSuccess) {
            S->d_flag = NULL;
            return init_fail(err, s, E2E_ERR_DEVICE, "cannot allocate the error word", e);
        }
        if ((e = cudaMallocHost(&S->h_flag, sizeof(int))) != cudaSuccess) {
            S->h_flag = NULL;
            return init_fail(err, s, E2E_ERR_DEVICE, "cannot allocate the error word", e);
        }
        *S->h_flag = 0;
    }
    if ((st = plan_outputs(S, err)))
        return st;
    /* page-lock the host arena so the output copies are true DMA (best effort) */
    if (s->arena && s->arena_bytes && S->n_down) {
        if (cudaHostRegister(s->arena, s->arena_bytes, cudaHostRegisterDefault) == cudaSuccess)
            S->host_registered = true;
        else
            (void)cudaGetLastError();
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- run */

extern "C" e2e_status e2e_cuda_run(void *state, e2e_error *err)
{
    cu_state *S = (cu_state *)state;
    if (!S)
        return e2e_fail(err, E2E_ERR_DEVICE, "device cuda: the session has no GPU state");
    const e2e_plan_view *s = S->s;
    cudaError_t e;
    if ((e = cudaSetDevice(S->device)) != cudaSuccess)
        return init_fail(err, s, E2E_ERR_DEVICE, "cannot select the GPU", e);
    for (int i = 0; i < S->n_up; i++) {
        int id = S->up[i].value;
        const e2e_value *v = &s->values[id];
        e = cudaMemcpyAsync(S->up[i].dev, v->data, S->up[i].bytes, cudaMemcpyHostToDevice, S->stream);
        if (e != cudaSuccess)
            return e2e_fail(err, E2E_ERR_DEVICE, "%s: device cuda: copying input \"%s\" to the GPU: %s",
                            s->model_name, s->graph->values[id].name, cudaGetErrorString(e));
    }
    if (S->flag_used && (e = cudaMemsetAsync(S->d_flag, 0, sizeof(int), S->stream)) != cudaSuccess)
        return init_fail(err, s, E2E_ERR_DEVICE, "cannot reset the error word", e);
    for (int i = 0; i < S->n_nodes; i++) {
        cu_node *n = &S->nodes[i];
        n->k->err = err;
        e2e_status st = n->run(S, n);
        if (!st)
            st = cu_check_launch(n);
        if (st) {
            cudaStreamSynchronize(S->stream); /* leave nothing in flight on failure */
            (void)cudaGetLastError();
            return st;
        }
    }
    for (int i = 0; i < S->n_down; i++) {
        e = cudaMemcpyAsync(S->down[i].host, S->down[i].dev, S->down[i].bytes, cudaMemcpyDeviceToHost,
                            S->stream);
        if (e != cudaSuccess)
            return init_fail(err, s, E2E_ERR_DEVICE, "copying the outputs from the GPU", e);
    }
    if (S->flag_used &&
        (e = cudaMemcpyAsync(S->h_flag, S->d_flag, sizeof(int), cudaMemcpyDeviceToHost, S->stream)) !=
            cudaSuccess)
        return init_fail(err, s, E2E_ERR_DEVICE, "reading the error word", e);
    if ((e = cudaStreamSynchronize(S->stream)) != cudaSuccess)
        return e2e_fail(err, E2E_ERR_DEVICE,
                        "%s: device cuda: a kernel failed during the run: %s (%s); run with "
                        "CUDA_LAUNCH_BLOCKING=1 to find the node", s->model_name,
                        cudaGetErrorString(e), cudaGetErrorName(e));
    if (S->flag_used && *S->h_flag > 0 && *S->h_flag <= S->n_nodes) {
        cu_node *n = &S->nodes[*S->h_flag - 1];
        return cu_fail(n, n->flag_status ? n->flag_status : E2E_ERR_ARGUMENT, "%s",
                       n->flag_reason ? n->flag_reason : "a value computed at run time is out of range");
    }
    return E2E_OK;
}

/* ---------------------------------------------------------------- free */

extern "C" void e2e_cuda_free(void *state)
{
    cu_state *S = (cu_state *)state;
    if (!S)
        return;
    const e2e_plan_view *s = S->s;
    cudaSetDevice(S->device);
    if (S->stream)
        cudaStreamSynchronize(S->stream);
    for (int i = 0; i < S->n_nodes; i++) {
        free(S->nodes[i].p);
        if (S->nodes[i].dev)
            cudaFree(S->nodes[i].dev);
    }
    free(S->nodes);
    free(S->ptrs);
    free(S->up);
    free(S->down);
    free(S->const_off);
    free(S->input_off);
    if (S->host_registered)
        cudaHostUnregister(s->arena);
    cudaFree(S->d_arena);
    cudaFree(S->d_ws);
    cudaFree(S->d_consts);
    cudaFree(S->d_inputs);
    cudaFree(S->d_flag);
    if (S->h_flag)
        cudaFreeHost(S->h_flag);
    if (S->blas)
        cublasDestroy(S->blas);
    if (S->stream)
        cudaStreamDestroy(S->stream);
    (void)cudaGetLastError();
    free(S);
}
