/* PointwiseMLP: two 1x1 convolutions with a Relu between, on few channels (made by
   engine/passes/fuse_pointwise.c from Conv 1x1 -> Relu -> Conv 1x1; ParT's pair embedding, 2 -> 16
   -> 4 channels over N P² pairs):

     y[n, o, s] = b2[o] + Σ_j w2[o, j] relu(b1[j] + Σ_i w1[j, i] x[n, i, s])

   Inputs: x [N, Ci, spatial...] float, w1 [Ch, Ci, 1...], b1 [Ch] or absent, w2 [Co, Ch, 1...],
   b2 [Co] or absent (weights and biases constant). With so few channels each Conv is a GEMM
   with K = 2 or 16 that streams its whole output through memory; here the hidden values live
   in registers, 8 positions at a time (GCC's generic vectors; 16 with AVX-512, the same
   code compiled in src/ops/x86/pointwise_avx512.c: ISO C contracts no multiply-add, so every
   level rounds alike). Relu is the
   Relu kernel's (a NaN stays NaN); sums run over i and j in order, bias first, so results
   differ from the separate Convs by rounding only. Positions are spread over the threads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu_isa.h"
#include "ops/op.h"
#include "ops/ops_pointwise.h"
#include "core/pool.h"

enum { PW_LANES = 8 };

typedef struct pw_priv {
    int64_t n, s;          /* batch, positions per image */
    int ci, ch, co;
    float *w1, *b1, *w2, *b2; /* copies: [ch][ci], [ch], [co][ch], [co] */
    e2e_pw_weights w;      /* the same, for the block kernels */
    e2e_pw_block_fn block; /* the instruction set's block of `lanes` positions */
    int lanes;
} pw_priv;

/* the plain block: 8 positions in GCC's generic vectors (pointwise_block.h) */
#define PW_LANES 8
#define PW_BLOCK_FN pw_block_plain
#define PW_BLOCK_STATIC static
#include "ops/pointwise_block.h"

static void pw_release(void *v)
{
    pw_priv *p = v;
    if (!p)
        return;
    free(p->w1);
    free(p);
}

static e2e_status pw_prepare(e2e_kernel *k)
{
    if (k->n_in != 5 || !k->in[0])
        return e2e_kfail(k, E2E_ERR_INVALID, "needs x, w1, b1, w2, b2 (biases may be absent)");
    const e2e_value *x = k->in[0], *w1 = k->in[1], *b1 = k->in[2], *w2 = k->in[3], *b2 = k->in[4];
    if (x->dtype != E2E_FLOAT || x->shape.rank < 3 || !w1 || !w2 || !w1->is_const || !w2->is_const ||
        w1->dtype != E2E_FLOAT || w2->dtype != E2E_FLOAT)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "needs float input and constant float weights");
    const int64_t ci = x->shape.dims[1], ch = w1->shape.dims[0], co = w2->shape.dims[0];
    if (ci < 1 || ci > E2E_POINTWISE_MAX_IN || ch < 1 || ch > E2E_POINTWISE_MAX_HIDDEN || co < 1 ||
        co > E2E_POINTWISE_MAX_OUT || w1->numel != ch * ci || w2->numel != co * ch ||
        (b1 && (!b1->is_const || b1->dtype != E2E_FLOAT || b1->numel != ch)) ||
        (b2 && (!b2->is_const || b2->dtype != E2E_FLOAT || b2->numel != co)))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "channel counts or operands out of its range");
    pw_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->n = x->shape.dims[0];
    p->s = 1;
    for (int d = 2; d < x->shape.rank; d++)
        p->s *= x->shape.dims[d];
    p->ci = (int)ci;
    p->ch = (int)ch;
    p->co = (int)co;
    size_t nf = (size_t)(ch * ci + ch + co * ch + co);
    if (!(p->w1 = calloc(nf, sizeof(float))))
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->b1 = p->w1 + ch * ci;
    p->w2 = p->b1 + ch;
    p->b2 = p->w2 + co * ch;
    memcpy(p->w1, w1->data, sizeof(float) * (size_t)(ch * ci));
    memcpy(p->w2, w2->data, sizeof(float) * (size_t)(co * ch));
    if (b1)
        memcpy(p->b1, b1->data, sizeof(float) * (size_t)ch);
    if (b2)
        memcpy(p->b2, b2->data, sizeof(float) * (size_t)co);
    p->w = (e2e_pw_weights){p->ci, p->ch, p->co, p->w1, p->b1, p->w2, p->b2};
    p->block = pw_block_plain;
    p->lanes = 8;
#ifdef E2E_X86
    switch (e2e_isa_select(k->ctx->isa)) {
    case E2E_ISA_AVX512: p->block = e2e_pw_block_avx512, p->lanes = 16; break;
    case E2E_ISA_AVX2: p->block = e2e_pw_block_avx2; break;
    default: break;
    }
#endif
    e2e_shape os = x->shape;
    os.dims[1] = co;
    return e2e_out_set(k, 0, E2E_FLOAT, &os);
}

/* One position (the tail of a row), the same sums in the same order. */
static void pw_one(const pw_priv *p, const float *x, float *y, int64_t s)
{
    float h[E2E_POINTWISE_MAX_HIDDEN];
    for (int j = 0; j < p->ch; j++) {
        float a = p->b1[j];
        for (int i = 0; i < p->ci; i++)
            a += p->w1[j * p->ci + i] * x[i * s];
        h[j] = a < 0.f ? 0.f : a;
    }
    for (int o = 0; o < p->co; o++) {
        float a = p->b2[o];
        for (int j = 0; j < p->ch; j++)
            a += p->w2[o * p->ch + j] * h[j];
        y[o * s] = a;
    }
}

typedef struct pw_job {
    const pw_priv *p;
    const float *x;
    float *y;
    int64_t blocks; /* per image, including a partial one */
} pw_job;

static void pw_range(const pw_job *j, int64_t b0, int64_t b1)
{
    const pw_priv *p = j->p;
    for (int64_t b = b0; b < b1; b++) {
        const int64_t n = b / j->blocks, s0 = (b % j->blocks) * p->lanes;
        const float *x = j->x + n * p->ci * p->s + s0;
        float *y = j->y + n * p->co * p->s + s0;
        if (s0 + p->lanes <= p->s)
            p->block(&p->w, x, y, p->s);
        else
            for (int64_t t = 0; s0 + t < p->s; t++)
                pw_one(p, x + t, y + t, p->s);
    }
}

static void pw_task(void *ctx, int t, int nt)
{
    const pw_job *j = ctx;
    const int64_t total = j->p->n * j->blocks;
    pw_range(j, total * t / nt, total * (t + 1) / nt);
}

static e2e_status pw_run(e2e_kernel *k)
{
    const pw_priv *p = k->priv;
    pw_job j = {p, k->in[0]->data, k->out[0]->data, (p->s + p->lanes - 1) / p->lanes};
    const int64_t total = p->n * j.blocks;
    const int threads = e2e_pool_threads(k->ctx->pool);
    int64_t tasks = total >= 512 && threads > 1 ? 4 * threads : 1;
    if (tasks > 1)
        e2e_pool_run(k->ctx->pool, pw_task, &j, (int)tasks);
    else
        pw_range(&j, 0, total);
    return E2E_OK;
}

const e2e_op_def e2e_op_pointwise_mlp = {"PointwiseMLP", pw_prepare, pw_run, pw_release, 0};
