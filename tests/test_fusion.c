/* Pattern fusions (src/engine/passes/fuse.c) and the kernels behind them: for transformer graphs
   written in the shapes exporters produce (LayerNorm decomposed or not, the erf GELU in its
   operand orders, attention with its Reshape/Transpose/Gather views, MatMul + bias +
   residual), a session with optimize=1 must give the outputs of optimize=0 within 1e-4
   relative, with fewer nodes, at 1 and 2 threads, without allocating in run. Also the
   PyTorch export fixtures and the model builder's ViT, patterns that must not fuse, and the
   packed MatMul against a naive product. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"
#include "models/models.h"
#include "onnx/onnx_build.h"
#include "ops/blas.h"
#include "core/pack_cache.h"
#include "engine/session.h"

#include "op_harness.h"

/* ---- helpers ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

#define frand(lo, hi) oh_lcg_float(&rng, lo, hi)

#define numel oh_numel

#define count_op oh_count_op

typedef struct pair {
    e2e_model *m;
    e2e_session *s[2]; /* optimize 0, 1 */
} pair;

static void pair_open(pair *p, e2e_model *m, int threads, int rank, const int64_t *dims)
{
    p->m = m;
    e2e_shape_binding b = {"x", rank, dims};
    e2e_tensor_view decl;
    assert_int_equal(e2e_model_input(m, 0, &decl), E2E_OK);
    b.name = decl.name;
    for (int o = 0; o < 2; o++) {
        e2e_session_options opt = e2e_session_options_default();
        opt.threads = threads;
        opt.optimize = o;
        opt.shapes = &b;
        opt.n_shapes = 1;
        e2e_error err;
        if (e2e_session_create(m, &opt, &p->s[o], &err))
            fail_msg("optimize=%d: %s", o, err.message);
    }
}

static void pair_close(pair *p)
{
    e2e_session_free(p->s[0]);
    e2e_session_free(p->s[1]);
}

/* Runs both sessions on the same random input; compares every output. Returns the largest
   |a - b| / (1e-5 + 1e-4 |a|). Also checks that the optimized session does not allocate. */
static double pair_run(pair *p, float lo, float hi)
{
    e2e_tensor_view in;
    assert_int_equal(e2e_session_input(p->s[0], 0, &in), E2E_OK);
    int64_t n = e2e_tensor_view_numel(&in);
    float *x = oh_raw_malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++)
        x[i] = frand(lo, hi);
    in.data = x;
    e2e_error err;
    for (int o = 0; o < 2; o++)
        if (e2e_session_run(p->s[o], &in, 1, &err))
            fail_msg("optimize=%d: %s", o, err.message);
    oh_allocations = 0;
    oh_counting = 1;
    e2e_status st = e2e_session_run(p->s[1], &in, 1, &err);
    oh_counting = 0;
    assert_int_equal(st, E2E_OK);
#ifndef OH_NO_COUNTING
    assert_int_equal(oh_allocations, 0);
#endif
    double worst = 0;
    for (int k = 0; k < e2e_session_output_count(p->s[0]); k++) {
        e2e_tensor_view a, b;
        e2e_session_output(p->s[0], k, &a);
        e2e_session_output(p->s[1], k, &b);
        int64_t no = e2e_tensor_view_numel(&a);
        assert_int_equal(no, e2e_tensor_view_numel(&b));
        for (int64_t i = 0; i < no; i++) {
            double u = ((const float *)a.data)[i], v = ((const float *)b.data)[i];
            double r = fabs(u - v) / (1e-5 + 1e-4 * fabs(u));
            if (!(r <= worst))
                worst = r; /* NaN sticks */
        }
    }
    oh_raw_free(x);
    return worst;
}

static e2e_model *load_ob(e2e_ob *b)
{
    return oh_model_pack(b, "fusion-test");
}

/* ---- a transformer block written out node by node ---- */

typedef struct blk {
    e2e_ob *b;
    int n;              /* value name counter */
    char names[256][48];
} blk;

static const char *nm(blk *k)
{
    snprintf(k->names[k->n], sizeof k->names[0], "v%d", k->n);
    return k->names[k->n++];
}

static const char *param(blk *k, int rank, const int64_t *d, float scale)
{
    int64_t n = numel(rank, d);
    float *w = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        w[i] = frand(-scale, scale);
    const char *name = nm(k);
    e2e_ob_init_f32(k->b, name, rank, d, w);
    free(w);
    return name;
}

static const char *scalar(blk *k, float v)
{
    const char *name = nm(k);
    e2e_ob_init_f32(k->b, name, 0, NULL, &v);
    return name;
}

static const char *ints(blk *k, int n, const int64_t *v, int as_scalar)
{
    const char *name = nm(k);
    int64_t d[1] = {n};
    e2e_ob_init_i64(k->b, name, as_scalar ? 0 : 1, d, v);
    return name;
}

static Onnx__NodeProto *last;

static const char *op2(blk *k, const char *op, const char *a, const char *b)
{
    const char *y = nm(k);
    const char *in[2] = {a, b};
    last = e2e_ob_node(k->b, op, NULL, b ? 2 : 1, in, 1, &y);
    return y;
}

static const char *op1(blk *k, const char *op, const char *a) { return op2(k, op, a, NULL); }

static const char *perm(blk *k, const char *x, int r, const int64_t *p)
{
    const char *y = op1(k, "Transpose", x);
    e2e_ob_attr_ints(k->b, last, "perm", r, p);
    return y;
}

typedef struct variant {
    int ln;        /* 0 LayerNormalization, 1 decomposed with Pow, 2 with Mul(d, d), 3 Pow without beta */
    int gelu;      /* 0 x(1+erf)*0.5, 1 0.5*(x(1+erf)) with Mul 1/sqrt2, 2 (0.5x)(1+erf), 3 (0.5(1+erf))x, 4 Gelu op */
    int scale;     /* 0 Mul after QK, 1 Div after QK, 2 none (q pre-scaled) */
    int qkv;       /* 0 one qkv MatMul + Reshape/Transpose/Gather, 1 three MatMuls + Reshape/Transpose */
    int swap;      /* operand order of the bias and residual Adds */
    int64_t T, E, H, M;
} variant;

static const char *layer_norm(blk *k, const variant *v, const char *x)
{
    int64_t d[1] = {v->E};
    const char *g = param(k, 1, d, 1.5f), *be = param(k, 1, d, 0.5f);
    if (v->ln == 0) {
        const char *y = nm(k);
        const char *in[3] = {x, g, be};
        last = e2e_ob_node(k->b, "LayerNormalization", NULL, 3, in, 1, &y);
        e2e_ob_attr_int(k->b, last, "axis", -1);
        e2e_ob_attr_float(k->b, last, "epsilon", 1e-5f);
        return y;
    }
    /* axes as an attribute (opset < 18) or as an input (opset 18) */
    const int64_t ax[1] = {-1};
    const char *m = v->swap ? op2(k, "ReduceMean", x, ints(k, 1, ax, 0)) : op1(k, "ReduceMean", x);
    if (!v->swap)
        e2e_ob_attr_ints(k->b, last, "axes", 1, ax);
    const char *dd = op2(k, "Sub", x, m);
    const char *sq = v->ln == 2 ? op2(k, "Mul", dd, dd) : op2(k, "Pow", dd, scalar(k, 2.f));
    const char *var = v->swap ? op2(k, "ReduceMean", sq, ints(k, 1, ax, 0)) : op1(k, "ReduceMean", sq);
    if (!v->swap)
        e2e_ob_attr_ints(k->b, last, "axes", 1, ax);
    const char *sd = op1(k, "Sqrt", v->swap ? op2(k, "Add", scalar(k, 1e-5f), var) : op2(k, "Add", var, scalar(k, 1e-5f)));
    const char *y = op2(k, "Mul", op2(k, "Div", dd, sd), g);
    return v->ln == 3 ? y : op2(k, "Add", y, be);
}

static const char *linear(blk *k, const variant *v, const char *x, int64_t in, int64_t out)
{
    int64_t wd[2] = {in, out}, bd[1] = {out};
    const char *w = param(k, 2, wd, 1.f / sqrtf((float)in)), *b = param(k, 1, bd, 0.2f);
    const char *y = op2(k, "MatMul", x, w);
    return v->swap ? op2(k, "Add", b, y) : op2(k, "Add", y, b);
}

static const char *gelu(blk *k, const variant *v, const char *x)
{
    if (v->gelu == 4)
        return op1(k, "Gelu", x);
    const char *s = v->gelu == 1 ? op2(k, "Mul", x, scalar(k, 0.70710678f)) : op2(k, "Div", x, scalar(k, 1.41421356f));
    const char *e1 = op2(k, "Add", op1(k, "Erf", s), scalar(k, 1.f));
    switch (v->gelu) {
    case 0: return op2(k, "Mul", op2(k, "Mul", x, e1), scalar(k, 0.5f));
    case 1: return op2(k, "Mul", scalar(k, 0.5f), op2(k, "Mul", e1, x));
    case 2: return op2(k, "Mul", op2(k, "Mul", x, scalar(k, 0.5f)), e1);
    default: return op2(k, "Mul", op2(k, "Mul", e1, scalar(k, 0.5f)), x);
    }
}

static const char *attention(blk *k, const variant *v, const char *x)
{
    const int64_t E = v->E, H = v->H, D = E / H;
    const char *q, *kt, *vv;
    if (v->qkv == 0) {
        const char *qkv = linear(k, v, x, E, 3 * E);
        const int64_t s5[5] = {0, -1, 3, H, D};
        qkv = op2(k, "Reshape", qkv, ints(k, 5, s5, 0));
        qkv = perm(k, qkv, 5, (int64_t[]){2, 0, 3, 1, 4});
        const char *part[3];
        for (int64_t i = 0; i < 3; i++) {
            part[i] = op2(k, "Gather", qkv, ints(k, 1, &i, 1));
            e2e_ob_attr_int(k->b, last, "axis", 0);
        }
        q = part[0];
        kt = perm(k, part[1], 4, (int64_t[]){0, 1, 3, 2});
        vv = part[2];
    } else {
        const int64_t s4[4] = {0, 0, H, D};
        const char *shape = ints(k, 4, s4, 0);
        q = perm(k, op2(k, "Reshape", linear(k, v, x, E, E), shape), 4, (int64_t[]){0, 2, 1, 3});
        kt = perm(k, op2(k, "Reshape", linear(k, v, x, E, E), shape), 4, (int64_t[]){0, 2, 3, 1});
        vv = perm(k, op2(k, "Reshape", linear(k, v, x, E, E), shape), 4, (int64_t[]){0, 2, 1, 3});
    }
    const float sc = 1.f / sqrtf((float)D);
    if (v->scale == 2)
        q = op2(k, "Mul", q, scalar(k, sc));
    const char *a = op2(k, "MatMul", q, kt);
    if (v->scale == 0)
        a = op2(k, "Mul", a, scalar(k, sc));
    else if (v->scale == 1)
        a = op2(k, "Div", a, scalar(k, 1.f / sc));
    a = op1(k, "Softmax", a);
    e2e_ob_attr_int(k->b, last, "axis", -1);
    a = perm(k, op2(k, "MatMul", a, vv), 4, (int64_t[]){0, 2, 1, 3});
    const int64_t s3[3] = {0, 0, E};
    return op2(k, "Reshape", a, ints(k, 3, s3, 0));
}

/* x + proj(attn(LN(x))); then + fc2(gelu(fc1(LN(.)))): input x [B, T, E], output y. */
static e2e_model *block_model(const variant *v, int depth)
{
    blk *k = calloc(1, sizeof *k);
    k->b = e2e_ob_new(20, "block");
    int64_t xd[3] = {-1, v->T, v->E};
    e2e_ob_input(k->b, "x", E2E_FLOAT, 3, xd);
    const char *x = "x";
    for (int i = 0; i < depth; i++) {
        const char *a = linear(k, v, attention(k, v, layer_norm(k, v, x)), v->E, v->E);
        x = v->swap ? op2(k, "Add", a, x) : op2(k, "Add", x, a);
        const char *h = linear(k, v, gelu(k, v, linear(k, v, layer_norm(k, v, x), v->E, v->M)), v->M, v->E);
        x = v->swap ? op2(k, "Add", h, x) : op2(k, "Add", x, h);
    }
    e2e_ob_output(k->b, x, E2E_FLOAT, -1, NULL);
    e2e_model *m = load_ob(k->b);
    e2e_ob_free(k->b);
    free(k);
    return m;
}

static void check_block(const variant *v, int expect_nodes_per_block)
{
    e2e_model *m = block_model(v, 2);
    for (int threads = 1; threads <= 2; threads++)
        for (int64_t batch = 1; batch <= 3; batch += 2) {
            pair p;
            int64_t d[3] = {batch, v->T, v->E};
            pair_open(&p, m, threads, 3, d);
            int n0 = e2e_session_node_count(p.s[0]), n1 = e2e_session_node_count(p.s[1]);
            double r = pair_run(&p, -2.f, 2.f);
            if (!(r <= 1.0) || n1 != 2 * expect_nodes_per_block || count_op(p.s[1], "Attention") != 2)
                fail_msg("variant ln %d gelu %d scale %d qkv %d swap %d, T %lld E %lld H %lld M %lld, "
                         "%d threads, batch %lld: error ratio %g, nodes %d -> %d (want %d), %d Attention",
                         v->ln, v->gelu, v->scale, v->qkv, v->swap, (long long)v->T, (long long)v->E,
                         (long long)v->H, (long long)v->M, threads, (long long)batch, r, n0, n1,
                         2 * expect_nodes_per_block, count_op(p.s[1], "Attention"));
            assert_int_equal(count_op(p.s[1], "Erf"), 0);
            assert_int_equal(count_op(p.s[1], "ReduceMean"), 0);
            assert_int_equal(count_op(p.s[1], "Softmax"), 0);
            assert_int_equal(count_op(p.s[1], "Add"), 0);
            pair_close(&p);
        }
    e2e_model_free(m);
}

/* Every variant fuses to LN, MatMul (qkv or q/k/v), Attention, MatMul (proj + residual),
   LN, MatMul+Gelu (fc1), MatMul (fc2 + residual) per block. */
static void test_block_variants(void **state)
{
    (void)state;
    static const variant vs[] = {
        {0, 0, 0, 0, 0, 65, 64, 2, 128},  {1, 1, 1, 0, 1, 13, 40, 2, 72},
        {2, 2, 2, 1, 0, 9, 48, 3, 100},   {3, 3, 0, 1, 1, 17, 32, 4, 64},
        {0, 4, 1, 0, 1, 33, 24, 1, 40},   {1, 0, 2, 0, 0, 1, 16, 2, 16},
    };
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        check_block(&vs[i], vs[i].qkv ? 9 : 7);
}

/* ---- the few-rows product A W^T (Gemm/MatMul at batch 1) ---- */

/* W at every float offset from a 64-byte boundary, row strides that keep the rows on one
   alignment (multiples of 16) and ones that do not, K shorter and longer than the aligning
   head, 1 to 5 rows of A, N with leftovers: against a double-precision product. */
static void test_gemm_nt_rows(void **state)
{
    (void)state;
    static const int Ks[] = {3, 15, 16, 17, 40, 100, 2048};
    float *buf = e2e_aligned_alloc(sizeof(float) * (19 * 2064 + 64));
    float *A = e2e_aligned_alloc(sizeof(float) * 5 * 2064), *C = e2e_aligned_alloc(sizeof(float) * 5 * 19);
    assert_non_null(buf);
    assert_non_null(A);
    assert_non_null(C);
    for (size_t i = 0; i < 19 * 2064 + 64; i++)
        buf[i] = frand(-1.f, 1.f);
    for (size_t i = 0; i < 5 * 2064; i++)
        A[i] = frand(-1.f, 1.f);
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
        for (int off = 0; off < 16; off += (Ks[ki] > 100 ? 5 : 1))
            for (int pad = 0; pad <= 16; pad += 3) {
                const int K = Ks[ki], ldw = K + pad, N = 19;
                const float *W = buf + off;
                for (int M = 1; M <= 5; M += 2) {
                    e2e_gemm_nt_rows(E2E_ISA_AUTO, NULL, M, N, K, 1.f, A, K, W, ldw, 0.f, C, N);
                    for (int m = 0; m < M; m++)
                        for (int n = 0; n < N; n++) {
                            double want = 0, mag = 0;
                            for (int k = 0; k < K; k++) {
                                want += (double)A[m * K + k] * W[(long)n * ldw + k];
                                mag += fabs((double)A[m * K + k] * W[(long)n * ldw + k]);
                            }
                            if (fabs(C[m * N + n] - want) > 1e-6 * mag + 1e-30)
                                fail_msg("K %d offset %d ldw %d M %d: C[%d][%d] = %g, want %g", K, off, ldw, M,
                                         m, n, C[m * N + n], want);
                        }
                }
            }
    e2e_aligned_free(buf);
    e2e_aligned_free(A);
    e2e_aligned_free(C);
}

/* ---- class-token selection (select_token in fuse.c) ---- */

/* One block, then LN and Gather(axis, index): with `share` the block's output before its MLP
   is also a graph output. Returns whether the last MLP ran on one token (its fc2 output has
   the gathered rank) and checks the outputs against optimize 0. */
static bool token_case(const variant *v, int64_t axis, int64_t index, bool share)
{
    blk *k = calloc(1, sizeof *k);
    k->b = e2e_ob_new(17, "token");
    int64_t xd[3] = {-1, v->T, v->E};
    e2e_ob_input(k->b, "x", E2E_FLOAT, 3, xd);
    const char *a = linear(k, v, attention(k, v, layer_norm(k, v, "x")), v->E, v->E);
    const char *r = op2(k, "Add", "x", a);
    const char *h = linear(k, v, gelu(k, v, linear(k, v, layer_norm(k, v, r), v->E, v->M)), v->M, v->E);
    const char *y = op2(k, "Gather", layer_norm(k, v, op2(k, "Add", r, h)), ints(k, 1, &index, 1));
    e2e_ob_attr_int(k->b, last, "axis", axis);
    e2e_ob_output(k->b, y, E2E_FLOAT, -1, NULL);
    if (share)
        e2e_ob_output(k->b, r, E2E_FLOAT, -1, NULL);
    e2e_model *m = load_ob(k->b);
    e2e_ob_free(k->b);
    free(k);
    bool selected = true;
    for (int threads = 1; threads <= 2; threads++)
        for (int64_t batch = 1; batch <= 3; batch += 2) {
            pair p;
            pair_open(&p, m, threads, 3, (int64_t[]){batch, v->T, v->E});
            double err = pair_run(&p, -2.f, 2.f);
            if (!(err <= 1.0))
                fail_msg("token axis %lld index %lld share %d: error ratio %g", (long long)axis,
                         (long long)index, share, err);
            const e2e_kernel *mm = NULL;
            for (int i = 0; i < p.s[1]->n_kernels; i++)
                if (!strcmp(p.s[1]->kernels[i].node->op_type, "MatMul"))
                    mm = &p.s[1]->kernels[i];
            assert_non_null(mm);
            selected = selected && mm->out[0]->shape.rank == 2 && mm->out[0]->shape.dims[0] == batch;
            pair_close(&p);
        }
    e2e_model_free(m);
    return selected;
}

static void test_token_select(void **state)
{
    (void)state;
    const variant v = {0, 4, 0, 0, 0, 9, 16, 2, 40}, vd = {1, 0, 1, 0, 0, 9, 16, 2, 40};
    assert_true(token_case(&v, 1, 0, false));   /* the class token */
    assert_true(token_case(&v, 1, 8, false));   /* another token */
    assert_true(token_case(&v, -2, 3, false));  /* a negative axis */
    assert_true(token_case(&vd, 1, 0, false));  /* decomposed LayerNorm (fused: axis 2) */
    assert_false(token_case(&v, 1, 0, true));   /* the rows are needed elsewhere */
    assert_false(token_case(&v, 2, 0, false));  /* a feature, not a token: not row-wise */
}

/* ---- patterns that must not fuse (an intermediate is read elsewhere) ---- */

static void test_no_fusion_when_shared(void **state)
{
    (void)state;
    blk *k = calloc(1, sizeof *k);
    k->b = e2e_ob_new(17, "shared");
    int64_t xd[3] = {-1, 5, 16};
    e2e_ob_input(k->b, "x", E2E_FLOAT, 3, xd);
    variant v = {1, 0, 0, 0, 0, 5, 16, 2, 24};
    /* LN whose mean is also an output; GELU whose erf is also an output; a softmax whose
       probabilities are an output; a MatMul whose product (before the bias) is an output */
    const int64_t ax[1] = {-1};
    const char *m = op1(k, "ReduceMean", "x");
    e2e_ob_attr_ints(k->b, last, "axes", 1, ax);
    const char *dd = op2(k, "Sub", "x", m);
    const char *var = op1(k, "ReduceMean", op2(k, "Pow", dd, scalar(k, 2.f)));
    e2e_ob_attr_ints(k->b, last, "axes", 1, ax);
    const char *ln = op2(k, "Div", dd, op1(k, "Sqrt", op2(k, "Add", var, scalar(k, 1e-5f))));
    int64_t wd[2] = {16, 24};
    const char *w = param(k, 2, wd, 0.25f);
    const char *mm = op2(k, "MatMul", ln, w);
    const char *h = op2(k, "Add", mm, param(k, 1, (int64_t[]){24}, 0.1f));
    const char *er = op1(k, "Erf", op2(k, "Div", h, scalar(k, 1.41421356f)));
    const char *g = op2(k, "Mul", op2(k, "Mul", h, op2(k, "Add", er, scalar(k, 1.f))), scalar(k, 0.5f));
    (void)v;
    const int64_t s4[4] = {0, 0, 2, 12};
    const char *q = perm(k, op2(k, "Reshape", g, ints(k, 4, s4, 0)), 4, (int64_t[]){0, 2, 1, 3});
    const char *kt = perm(k, q, 4, (int64_t[]){0, 1, 3, 2});
    const char *sm = op1(k, "Softmax", op2(k, "MatMul", q, kt));
    e2e_ob_attr_int(k->b, last, "axis", -1);
    const char *o = op2(k, "MatMul", sm, q);
    const char *outs[] = {m, er, sm, mm, o};
    for (int i = 0; i < 5; i++)
        e2e_ob_output(k->b, outs[i], E2E_FLOAT, -1, NULL);
    e2e_model *model = load_ob(k->b);
    e2e_ob_free(k->b);
    free(k);
    for (int threads = 1; threads <= 2; threads++) {
        pair p;
        pair_open(&p, model, threads, 3, (int64_t[]){2, 5, 16});
        assert_true(pair_run(&p, -3.f, 3.f) <= 1.0);
        assert_int_equal(count_op(p.s[1], "LayerNormalization"), 0);
        assert_int_equal(count_op(p.s[1], "Gelu"), 0);
        assert_int_equal(count_op(p.s[1], "Attention"), 0);
        assert_int_equal(count_op(p.s[1], "Erf"), 1);
        assert_int_equal(count_op(p.s[1], "Softmax"), 1);
        assert_int_equal(count_op(p.s[1], "Add"), 3); /* the bias add stays: mm is an output */
        pair_close(&p);
    }
    e2e_model_free(model);
}

/* ---- MatMul with a packed constant B: shapes around the register tiles ---- */

static void test_packed_matmul(void **state)
{
    (void)state;
    static const int64_t shapes[][4] = {
        /* batch, M, K, N */
        {1, 1, 1, 16},   {1, 12, 7, 32},  {1, 13, 33, 33}, {2, 5, 64, 100},
        {3, 25, 17, 47}, {1, 65, 192, 96}, {4, 11, 5, 64},  {1, 130, 40, 200},
        {1, 20, 1500, 70}, {2, 13, 2100, 33}, /* K in blocks */
    };
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++)
        for (int epi = 0; epi < 3; epi++)
            for (int threads = 1; threads <= 2; threads++) {
                const int64_t Bt = shapes[c][0], M = shapes[c][1], K = shapes[c][2], N = shapes[c][3];
                e2e_ob *b = e2e_ob_new(17, "mm");
                int64_t xd[3] = {-1, M, K}, wd[2] = {K, N}, bd[1] = {N};
                e2e_ob_input(b, "x", E2E_FLOAT, 3, xd);
                float *w = malloc(sizeof(float) * (size_t)(K * N)), *bias = malloc(sizeof(float) * (size_t)N);
                for (int64_t i = 0; i < K * N; i++)
                    w[i] = frand(-1.f, 1.f);
                for (int64_t i = 0; i < N; i++)
                    bias[i] = frand(-1.f, 1.f);
                e2e_ob_init_f32(b, "w", 2, wd, w);
                e2e_ob_init_f32(b, "b", 1, bd, bias);
                e2e_ob_node(b, "MatMul", NULL, 2, (const char *[]){"x", "w"}, 1, (const char *[]){"p"});
                const char *y = "p";
                if (epi >= 1) {
                    e2e_ob_node(b, "Add", NULL, 2, (const char *[]){"b", "p"}, 1, (const char *[]){"q"});
                    e2e_ob_node(b, "Relu", NULL, 1, (const char *[]){"q"}, 1, (const char *[]){"r"});
                    y = "r";
                }
                if (epi == 2) {
                    e2e_ob_node(b, "Gelu", NULL, 1, (const char *[]){"r"}, 1, (const char *[]){"s"});
                    y = "s";
                }
                e2e_ob_output(b, y, E2E_FLOAT, -1, NULL);
                e2e_model *m = load_ob(b);
                e2e_ob_free(b);
                pair p;
                int64_t d[3] = {Bt, M, K};
                pair_open(&p, m, threads, 3, d);
                assert_int_equal(e2e_session_node_count(p.s[1]), epi == 2 ? 2 : 1);
                assert_true(pair_run(&p, -1.f, 1.f) <= 1.0);
                /* against a naive product in double */
                e2e_tensor_view in, out;
                e2e_session_input(p.s[1], 0, &in);
                int64_t nx = Bt * M * K;
                float *x = malloc(sizeof(float) * (size_t)nx);
                for (int64_t i = 0; i < nx; i++)
                    x[i] = frand(-1.f, 1.f);
                in.data = x;
                e2e_error err;
                assert_int_equal(e2e_session_run(p.s[1], &in, 1, &err), E2E_OK);
                e2e_session_output(p.s[1], 0, &out);
                const float *Y = out.data;
                for (int64_t r = 0; r < Bt * M; r++)
                    for (int64_t j = 0; j < N; j++) {
                        double acc = 0, mag = 0;
                        for (int64_t kk = 0; kk < K; kk++) {
                            acc += (double)x[r * K + kk] * w[kk * N + j];
                            mag += fabs((double)x[r * K + kk] * w[kk * N + j]);
                        }
                        if (epi >= 1) {
                            acc += bias[j];
                            acc = acc > 0 ? acc : 0;
                        }
                        if (epi == 2)
                            acc = 0.5 * acc * (1 + erf(acc / sqrt(2.0)));
                        double e = fabs(Y[r * N + j] - acc);
                        if (e > 1e-5 * (mag + 1))
                            fail_msg("%lldx%lldx%lldx%lld epi %d: y[%lld][%lld] = %g, want %g",
                                     (long long)Bt, (long long)M, (long long)K, (long long)N, epi,
                                     (long long)r, (long long)j, Y[r * N + j], acc);
                    }
                free(x);
                free(w);
                free(bias);
                pair_close(&p);
                e2e_model_free(m);
            }
}

/* ---- patch embedding: Conv(kernel = stride) -> Reshape -> Transpose(0, 2, 1) ---- */

static void check_patch(int64_t C, int64_t H, int64_t W, int64_t E, int64_t Ph, int64_t Pw, int bias, int pad)
{
    blk *k = calloc(1, sizeof *k);
    k->b = e2e_ob_new(17, "patch");
    int64_t xd[4] = {-1, C, H, W}, wd[4] = {E, C, Ph, Pw};
    e2e_ob_input(k->b, "x", E2E_FLOAT, 4, xd);
    const char *w = param(k, 4, wd, 0.3f), *b = bias ? param(k, 1, &E, 0.3f) : NULL;
    const char *y = nm(k);
    const char *in[3] = {"x", w, b};
    last = e2e_ob_node(k->b, "Conv", NULL, bias ? 3 : 2, in, 1, &y);
    e2e_ob_attr_ints(k->b, last, "kernel_shape", 2, (int64_t[]){Ph, Pw});
    e2e_ob_attr_ints(k->b, last, "strides", 2, (int64_t[]){Ph, Pw});
    if (pad)
        e2e_ob_attr_ints(k->b, last, "pads", 4, (int64_t[]){0, 1, 0, 1});
    const int64_t s3[3] = {0, E, -1};
    const char *t = perm(k, op2(k, "Reshape", y, ints(k, 3, s3, 0)), 3, (int64_t[]){0, 2, 1});
    e2e_ob_output(k->b, t, E2E_FLOAT, -1, NULL);
    e2e_model *m = load_ob(k->b);
    e2e_ob_free(k->b);
    free(k);
    for (int threads = 1; threads <= 2; threads++)
        for (int64_t batch = 1; batch <= 3; batch += 2) {
            pair p;
            int64_t d[4] = {batch, C, H, W};
            pair_open(&p, m, threads, 4, d);
            double r = pair_run(&p, -1.f, 1.f);
            if (!(r <= 1.0) || count_op(p.s[1], "PatchEmbed") != !pad)
                fail_msg("patch %lldx%lld, C %lld, %lldx%lld, E %lld, bias %d, pad %d, %d threads, batch %lld: "
                         "error ratio %g, %d PatchEmbed", (long long)Ph, (long long)Pw, (long long)C,
                         (long long)H, (long long)W, (long long)E, bias, pad, threads, (long long)batch, r,
                         count_op(p.s[1], "PatchEmbed"));
            assert_int_equal(e2e_session_node_count(p.s[1]), pad ? 2 : 1); /* Conv + Transpose */
            pair_close(&p);
        }
    e2e_model_free(m);
}

static void test_patch_embed(void **state)
{
    (void)state;
    check_patch(3, 16, 16, 32, 4, 4, 1, 0);
    check_patch(8, 64, 48, 40, 16, 16, 1, 0);
    check_patch(2, 13, 11, 24, 2, 3, 0, 0); /* rows and columns left over, no bias */
    check_patch(2, 8, 45, 24, 2, 20, 1, 0);  /* patch rows of 16 + 4 (8 + 8 + 4) floats: split_row's tails */
    check_patch(3, 18, 27, 16, 3, 9, 1, 0);
    check_patch(1, 32, 32, 16, 4, 4, 1, 0);
    check_patch(3, 16, 16, 32, 4, 4, 1, 1); /* padded: an ordinary Conv */
}

/* ---- GELU kernel accuracy (the MatMul epilogue and the Gelu operator share it; see
   src/ops/vmath.h) ---- */

static void test_gelu_accuracy(void **state)
{
    (void)state;
    e2e_ob *b = e2e_ob_new(20, "gelu");
    e2e_ob_input(b, "x", E2E_FLOAT, 1, (int64_t[]){-1});
    e2e_ob_node(b, "Gelu", NULL, 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_model *m = load_ob(b);
    e2e_ob_free(b);
    const int64_t n = 40001;
    e2e_session_options o = e2e_session_options_default();
    e2e_shape_binding sb = {"x", 1, &n};
    o.shapes = &sb;
    o.n_shapes = 1;
    e2e_session *s;
    e2e_error err;
    assert_int_equal(e2e_session_create(m, &o, &s, &err), E2E_OK);
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = -10.f + 20.f * (float)i / (float)(n - 1);
    e2e_tensor_view in = e2e_tensor_view_f32("x", x, 1, &n), out;
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK);
    e2e_session_output(s, 0, &out);
    for (int64_t i = 0; i < n; i++) {
        double r = 0.5 * x[i] * erfc(-x[i] / sqrt(2.0)), y = ((const float *)out.data)[i];
        /* absolute accuracy ~2e-7 |x|, like the unfused graph whose 1 + erf rounds to 1.2e-7 */
        if (fabs(y - r) > 3e-7 * fabs(x[i]) + 2e-7 * fabs(r) + 1e-30)
            fail_msg("gelu(%g) = %.9g, want %.9g", x[i], y, r);
    }
    free(x);
    e2e_session_free(s);
    e2e_model_free(m);
}

/* ---- PyTorch exports and the model builder's ViT ---- */

static void check_file_model(e2e_model *m, int rank, const int64_t *dims, int want_attention, int want_ln)
{
    for (int threads = 1; threads <= 2; threads++) {
        pair p;
        pair_open(&p, m, threads, rank, dims);
        int n0 = e2e_session_node_count(p.s[0]), n1 = e2e_session_node_count(p.s[1]);
        double r = pair_run(&p, 0.f, 1.f);
        if (!(r <= 1.0) || n1 >= n0)
            fail_msg("%s, %d threads: error ratio %g, nodes %d -> %d", e2e_model_name(m), threads, r, n0, n1);
        assert_int_equal(count_op(p.s[1], "Attention"), want_attention);
        assert_int_equal(count_op(p.s[1], "LayerNormalization"), want_ln);
        assert_int_equal(count_op(p.s[1], "Erf"), 0);
        assert_int_equal(count_op(p.s[1], "Softmax"), 0);
        assert_int_equal(count_op(p.s[1], "ReduceMean"), 0);
        assert_int_equal(count_op(p.s[1], "Conv"), 0);
        assert_int_equal(count_op(p.s[1], "PatchEmbed"), 1);
        /* class-token selection (select_token): the last MLP runs on one token per image */
        const e2e_kernel *last_mm = NULL;
        for (int i = 0; i < p.s[1]->n_kernels; i++)
            if (!strcmp(p.s[1]->kernels[i].node->op_type, "MatMul"))
                last_mm = &p.s[1]->kernels[i];
        assert_non_null(last_mm);
        const e2e_shape *ys = &last_mm->out[0]->shape;
        assert_int_equal(ys->rank, 2);
        assert_int_equal(ys->dims[0], dims[0]);
        pair_close(&p);
    }
}

static void test_fixtures(void **state)
{
    (void)state;
    static const char *dirs[] = {"vit_op13_static", "vit_op13_dynamic", "vit_op17_static", "vit_op17_dynamic"};
    for (size_t i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fixtures/models/%s/model.onnx", dirs[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            printf("skipped: %s not found (run from the repository root)\n", path);
            skip();
        }
        e2e_model *m;
        e2e_error err;
        if (e2e_model_load_file(path, &m, &err))
            fail_msg("%s", err.message);
        /* input 3x16x16, depth 2: 2 attention, 2 x 2 + 1 LayerNorm */
        int64_t d[4] = {strstr(dirs[i], "static") ? 2 : 3, 3, 16, 16};
        check_file_model(m, 4, d, 2, 5);
        e2e_model_free(m);
    }
}

/* Sessions of one model share its packed weights: the second session (another batch size)
   packs nothing new, and its outputs are bit-identical to a session that packed its own. */
static void run_once(e2e_model *m, int64_t batch, float *out, int64_t *n_out)
{
    int64_t d[4] = {batch, 2, 24, 24};
    e2e_tensor_view decl;
    assert_int_equal(e2e_model_input(m, 0, &decl), E2E_OK);
    e2e_shape_binding b = {decl.name, 4, d};
    e2e_session_options o = e2e_session_options_default();
    o.shapes = &b;
    o.n_shapes = 1;
    e2e_session *s;
    e2e_error err;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    int64_t n = batch * 2 * 24 * 24;
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = frand(0.f, 1.f);
    e2e_tensor_view in = e2e_tensor_view_f32(decl.name, x, 4, d);
    if (e2e_session_run(s, &in, 1, &err))
        fail_msg("%s", err.message);
    e2e_tensor_view y;
    assert_int_equal(e2e_session_output(s, 0, &y), E2E_OK);
    *n_out = e2e_tensor_view_numel(&y);
    memcpy(out, y.data, sizeof(float) * (size_t)*n_out);
    free(x);
    e2e_session_free(s);
}

/* A small ViT from the model builder (2 x 24 x 24 input, 3 blocks), loaded from bytes. */
static e2e_model *small_vit(const char *name, uint64_t seed)
{
    e2e_model_config c = {.arch = E2E_ARCH_VIT, .channels = 2, .height = 24, .width = 24,
                              .patch = 4, .embed = 48, .depth = 3, .heads = 3, .mlp = 96,
                              .name = name};
    return oh_model_build(&c, seed, name);
}

static void test_shared_packs(void **state)
{
    (void)state;
    e2e_model *m = small_vit("packs_vit", 11);
    assert_non_null(m->packs);
    float a[64], b[64];
    int64_t na, nb;
    rng = 5;
    run_once(m, 1, a, &na);
    const int held = e2e_pack_cache_count(m->packs);
    assert_true(held >= 3 * 4); /* qkv, proj, fc1, fc2 of each of the 3 blocks, at least */
    run_once(m, 4, b, &nb);
    assert_int_equal(e2e_pack_cache_count(m->packs), held); /* nothing packed again */
    /* the same input through a session that packs its own weights */
    e2e_pack_cache *keep = m->packs;
    m->packs = NULL;
    rng = 5;
    run_once(m, 1, b, &nb);
    m->packs = keep;
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, sizeof(float) * (size_t)na);
    e2e_model_free(m);
}

static void test_builder_vit(void **state)
{
    (void)state;
    e2e_model *m = small_vit("fusion_vit", 7);
    for (int64_t batch = 1; batch <= 4; batch += 3) {
        int64_t d[4] = {batch, 2, 24, 24};
        check_file_model(m, 4, d, 3, 7);
    }
    e2e_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_variants),   cmocka_unit_test(test_no_fusion_when_shared),
        cmocka_unit_test(test_packed_matmul),    cmocka_unit_test(test_patch_embed),
        cmocka_unit_test(test_gelu_accuracy),
        cmocka_unit_test(test_fixtures),         cmocka_unit_test(test_builder_vit),
        cmocka_unit_test(test_shared_packs),     cmocka_unit_test(test_token_select),
        cmocka_unit_test(test_gemm_nt_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
