/* Statistics under a large common offset (issue 19): InstanceNormalization,
   BatchNormalization (inference and training), LayerNormalization (both paths),
   Softmax/LogSoftmax and ReduceMean/ReduceSum/ReduceLogSumExp on x = offset + u,
   u uniform in [-1.7, 1.7) (std ~1), offsets 1e2, 1e3, 1e4, against float64 references
   computed here from the same float inputs; at optimize 0 and 1, 1 and 2 threads.
   Tolerances: normalised outputs (values ~1) within 2e-6 + 1e-5 |ref|, where folding the
   mean into y = x * a + b would be ulp(1e4) / 2 ~ 5e-4 off; softmax 1e-7 + 1e-5 |ref|;
   log-softmax 4e-6 + 1e-6 |ref|; reductions 1e-6 relative. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

static const double offsets[] = {1e2, 1e3, 1e4};
#define N_OFFSETS 3

static uint64_t rng = 1919;

static void fill_offset(float *x, int64_t n, double off)
{
    oh_fill_random(x, n, -1.7f, 1.7f, &rng);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(off + x[i]);
}

static void check(const e2e_tensor_view *got, const double *ref, int64_t n, double rtol,
                  double atol, const char *what, double off, int o, int t)
{
    assert_int_equal(got->dtype, E2E_FLOAT);
    assert_int_equal(e2e_tensor_view_numel(got), n);
    const float *g = got->data;
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = fabs((double)g[i] - ref[i]) / (atol + rtol * fabs(ref[i]));
        if (!(r <= worst)) {
            worst = r;
            at = i;
        }
    }
    if (!(worst <= 1.0))
        fail_msg("%s, offset %g, optimize %d, threads %d: [%lld] = %.9g, float64 %.9g "
                 "(error %.3g of the tolerance)", what, off, o, t, (long long)at, (double)g[at],
                 ref[at], worst);
}

/* One node: built afresh for each configuration (a harness node runs once). */
typedef struct spec_attr { const char *name; bool is_float; int64_t i; float f; } spec_attr;
typedef struct spec_in { e2e_dtype dt; int rank; const int64_t *dims; const void *data; bool c; } spec_in;
typedef struct node_spec {
    const char *op;
    int opset;
    int n_attr, n_in;
    spec_attr attr[4];
    spec_in in[5];
} node_spec;

static oh_node *build(const node_spec *s)
{
    oh_node *nd = oh_new(s->op, s->opset);
    for (int i = 0; i < s->n_attr; i++) {
        if (s->attr[i].is_float)
            oh_attr_float(nd, s->attr[i].name, s->attr[i].f);
        else
            oh_attr_int(nd, s->attr[i].name, s->attr[i].i);
    }
    for (int i = 0; i < s->n_in; i++)
        oh_input(nd, s->in[i].dt, s->in[i].rank, s->in[i].dims, s->in[i].data, s->in[i].c);
    return nd;
}

#define ATTR_I(sp, nm, v) ((sp)->attr[(sp)->n_attr++] = (spec_attr){nm, false, v, 0})
#define ATTR_F(sp, nm, v) ((sp)->attr[(sp)->n_attr++] = (spec_attr){nm, true, 0, v})
#define INPUT(sp, t, r, d, x, k) ((sp)->in[(sp)->n_in++] = (spec_in){t, r, d, x, k})

/* Runs the node at optimize 0/1 and threads 1/2 (n_out outputs); checks output `which`. */
static void run_all(const node_spec *sp, int n_out, int which, const double *ref, int64_t n,
                    double rtol, double atol, const char *what, double off)
{
    for (int o = 0; o <= 1; o++)
        for (int t = 1; t <= 2; t++) {
            e2e_session_options opt = e2e_session_options_default();
            opt.optimize = o;
            opt.threads = t;
            e2e_tensor_view y[3];
            e2e_error err;
            oh_node *nd = build(sp);
            if (oh_run_opt(nd, n_out, y, &opt, &err))
                fail_msg("%s: %s", what, err.message);
            check(&y[which], ref, n, rtol, atol, what, off, o, t);
            oh_free(nd);
        }
}

/* mean and 1/sqrt(var + eps) of n strided doubles-from-floats */
static void moments64(const float *x, int64_t n, int64_t stride, double eps, double *m, double *inv)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++)
        s += x[i * stride];
    *m = s / (double)n;
    for (int64_t i = 0; i < n; i++)
        s2 += ((double)x[i * stride] - *m) * ((double)x[i * stride] - *m);
    *inv = 1.0 / sqrt(s2 / (double)n + eps);
}

static void test_instancenorm_offset(void **state)
{
    (void)state;
    enum { N = 2, C = 3, SP = 35 };
    int64_t d[4] = {N, C, 5, 7}, cd[1] = {C};
    float x[N * C * SP], sc[C], bi[C];
    double ref[N * C * SP];
    for (int k = 0; k < N_OFFSETS; k++) {
        fill_offset(x, N * C * SP, offsets[k]);
        oh_fill_random(sc, C, 0.5f, 2.f, &rng);
        oh_fill_random(bi, C, -1.f, 1.f, &rng);
        const float eps = 1e-5f;
        for (int nc = 0; nc < N * C; nc++) {
            double m, inv;
            moments64(x + nc * SP, SP, 1, eps, &m, &inv);
            for (int i = 0; i < SP; i++)
                ref[nc * SP + i] = ((double)x[nc * SP + i] - m) * inv * sc[nc % C] + bi[nc % C];
        }
        node_spec sp = {.op = "InstanceNormalization", .opset = 6};
        ATTR_F(&sp, "epsilon", eps);
        INPUT(&sp, E2E_FLOAT, 4, d, x, false);
        INPUT(&sp, E2E_FLOAT, 1, cd, sc, true);
        INPUT(&sp, E2E_FLOAT, 1, cd, bi, true);
        run_all(&sp, 1, 0, ref, N * C * SP, 1e-5, 2e-6, "InstanceNormalization", offsets[k]);
    }
}

static void test_batchnorm_offset(void **state)
{
    (void)state;
    enum { N = 3, C = 4, SP = 12 };
    int64_t d[4] = {N, C, 3, 4}, cd[1] = {C};
    float x[N * C * SP], sc[C], bi[C], mu[C], va[C];
    double ref[N * C * SP], rmean[C], rvar[C];
    const float eps = 1e-5f, momentum = 0.9f;
    for (int k = 0; k < N_OFFSETS; k++) {
        fill_offset(x, N * C * SP, offsets[k]);
        oh_fill_random(sc, C, 0.5f, 2.f, &rng);
        oh_fill_random(bi, C, -1.f, 1.f, &rng);
        fill_offset(mu, C, offsets[k]);
        oh_fill_random(va, C, 0.5f, 1.5f, &rng);
        /* inference: the given mean and variance (the running statistics) */
        for (int i = 0; i < N * C * SP; i++) {
            int c = i / SP % C;
            ref[i] = ((double)x[i] - mu[c]) / sqrt((double)va[c] + eps) * sc[c] + bi[c];
        }
        for (int as_const = 0; as_const <= 1; as_const++) {
            node_spec sp = {.op = "BatchNormalization", .opset = 15};
            ATTR_F(&sp, "epsilon", eps);
            INPUT(&sp, E2E_FLOAT, 4, d, x, false);
            INPUT(&sp, E2E_FLOAT, 1, cd, sc, as_const);
            INPUT(&sp, E2E_FLOAT, 1, cd, bi, as_const);
            INPUT(&sp, E2E_FLOAT, 1, cd, mu, as_const);
            INPUT(&sp, E2E_FLOAT, 1, cd, va, as_const);
            run_all(&sp, 1, 0, ref, N * C * SP, 1e-5, 2e-6,
                    as_const ? "BatchNormalization (constant statistics)"
                             : "BatchNormalization (statistics as inputs)", offsets[k]);
        }
        /* training: the batch statistics over N and the spatial dims */
        for (int c = 0; c < C; c++) {
            double s = 0, s2 = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < SP; i++)
                    s += x[(n * C + c) * SP + i];
            double m = s / (N * SP);
            for (int n = 0; n < N; n++)
                for (int i = 0; i < SP; i++)
                    s2 += ((double)x[(n * C + c) * SP + i] - m) * ((double)x[(n * C + c) * SP + i] - m);
            double var = s2 / (N * SP);
            for (int n = 0; n < N; n++)
                for (int i = 0; i < SP; i++)
                    ref[(n * C + c) * SP + i] =
                        ((double)x[(n * C + c) * SP + i] - m) / sqrt(var + eps) * sc[c] + bi[c];
            rmean[c] = mu[c] * (double)momentum + m * (1.0 - (double)momentum);
            rvar[c] = va[c] * (double)momentum + var * (1.0 - (double)momentum);
        }
        for (int which = 0; which < 3; which++) {
            node_spec sp = {.op = "BatchNormalization", .opset = 15};
            ATTR_F(&sp, "epsilon", eps);
            ATTR_F(&sp, "momentum", momentum);
            ATTR_I(&sp, "training_mode", 1);
            INPUT(&sp, E2E_FLOAT, 4, d, x, false);
            INPUT(&sp, E2E_FLOAT, 1, cd, sc, true);
            INPUT(&sp, E2E_FLOAT, 1, cd, bi, true);
            INPUT(&sp, E2E_FLOAT, 1, cd, mu, true);
            INPUT(&sp, E2E_FLOAT, 1, cd, va, true);
            if (which == 0)
                run_all(&sp, 3, 0, ref, N * C * SP, 1e-5, 2e-6, "BatchNormalization training Y",
                        offsets[k]);
            else
                run_all(&sp, 3, which, which == 1 ? rmean : rvar, C, 1e-6, 1e-7,
                        which == 1 ? "BatchNormalization running_mean"
                                   : "BatchNormalization running_var", offsets[k]);
        }
    }
}

/* LayerNormalization with Scale and B of one value each (the generic path) and of one value per
   element (the instruction set's row kernel, rows.h). The reference is the spec's function body
   in float64 except that Mean is rounded to float32, as stash_type 1 makes it: a float32 tensor
   (ONNX Runtime and PyTorch do the same; docs/operator-notes.md). */
static void test_layernorm_offset(void **state)
{
    (void)state;
    enum { ROWS = 6, D = 64 };
    int64_t d[2] = {ROWS, D}, one[1] = {1}, row[1] = {D};
    float x[ROWS * D], sc[D], bi[D];
    double ref[ROWS * D];
    const float eps = 1e-5f;
    for (int per_element = 0; per_element < 2; per_element++)
    for (int k = 0; k < N_OFFSETS; k++) {
        const int ns = per_element ? D : 1;
        fill_offset(x, ROWS * D, offsets[k]);
        oh_fill_random(sc, ns, 0.5f, 2.f, &rng);
        oh_fill_random(bi, ns, -1.f, 1.f, &rng);
        for (int r = 0; r < ROWS; r++) {
            double m, inv, v = 0;
            moments64(x + r * D, D, 1, eps, &m, &inv);
            const double mf = (float)m;
            for (int j = 0; j < D; j++)
                v += ((double)x[r * D + j] - mf) * ((double)x[r * D + j] - mf);
            inv = 1.0 / sqrt(v / D + (double)eps);
            for (int j = 0; j < D; j++)
                ref[r * D + j] = ((double)x[r * D + j] - mf) * inv * sc[j % ns] + bi[j % ns];
        }
        node_spec sp = {.op = "LayerNormalization", .opset = 17};
        ATTR_F(&sp, "epsilon", eps);
        INPUT(&sp, E2E_FLOAT, 2, d, x, false);
        INPUT(&sp, E2E_FLOAT, 1, per_element ? row : one, sc, true);
        INPUT(&sp, E2E_FLOAT, 1, per_element ? row : one, bi, true);
        run_all(&sp, 1, 0, ref, ROWS * D, 1e-5, 2e-6,
                per_element ? "LayerNormalization (row kernel)" : "LayerNormalization (generic path)",
                offsets[k]);
    }
}

/* Softmax / LogSoftmax over the last axis (rows) and over axis 1 of [4, 9, 5] (columns). */
static void test_softmax_offset(void **state)
{
    (void)state;
    enum { A = 4, B = 9, C = 5, NX = A * B * C };
    int64_t d[3] = {A, B, C};
    float x[NX];
    double ref[NX];
    for (int k = 0; k < N_OFFSETS; k++) {
        fill_offset(x, NX, offsets[k]);
        for (int lg = 0; lg <= 1; lg++)
            for (int axis = 1; axis <= 2; axis++) {
                int64_t n = axis == 2 ? C : B, inner = axis == 2 ? 1 : C;
                for (int a = 0; a < A * (axis == 2 ? B : 1); a++)
                    for (int64_t i = 0; i < inner; i++) {
                        const float *xr = x + a * n * inner + i;
                        double m = -INFINITY, s = 0;
                        for (int64_t j = 0; j < n; j++)
                            m = fmax(m, xr[j * inner]);
                        for (int64_t j = 0; j < n; j++)
                            s += exp((double)xr[j * inner] - m);
                        for (int64_t j = 0; j < n; j++) {
                            double v = (double)xr[j * inner] - m;
                            ref[a * n * inner + i + j * inner] = lg ? v - log(s) : exp(v) / s;
                        }
                    }
                node_spec sp = {.op = lg ? "LogSoftmax" : "Softmax", .opset = 13};
                ATTR_I(&sp, "axis", axis);
                INPUT(&sp, E2E_FLOAT, 3, d, x, false);
                char what[64];
                snprintf(what, sizeof what, "%s axis %d", lg ? "LogSoftmax" : "Softmax", axis);
                run_all(&sp, 1, 0, ref, NX, lg ? 1e-6 : 1e-5, lg ? 4e-6 : 1e-7, what, offsets[k]);
            }
    }
}

/* ReduceSum / ReduceMean / ReduceLogSumExp over the last axis (rows), the middle axis
   (columns) and axes {0, 2} (the general loop) of [6, 7, 40]. */
static void test_reduce_offset(void **state)
{
    (void)state;
    enum { A = 6, B = 7, C = 40, NX = A * B * C };
    int64_t d[3] = {A, B, C};
    static float x[NX];
    static double ref[NX];
    static const char *const ops[] = {"ReduceSum", "ReduceMean", "ReduceLogSumExp"};
    static const int64_t axsets[3][2] = {{2, -1}, {1, -1}, {0, 2}};
    for (int k = 0; k < N_OFFSETS; k++) {
        fill_offset(x, NX, offsets[k]);
        for (int op = 0; op < 3; op++)
            for (int as = 0; as < 3; as++) {
                bool red[3] = {false, false, false};
                int na = axsets[as][1] < 0 ? 1 : 2;
                for (int i = 0; i < na; i++)
                    red[axsets[as][i]] = true;
                int64_t od[3], ny = 1;
                for (int i = 0; i < 3; i++) {
                    od[i] = red[i] ? 1 : d[i];
                    ny *= od[i];
                }
                /* per output: max, then the sums (of x, or of exp(x - max)) in double */
                for (int64_t o = 0; o < ny; o++) {
                    int64_t oc[3] = {o / (od[1] * od[2]), o / od[2] % od[1], o % od[2]};
                    double m = -INFINITY, s = 0, cnt = 0;
                    for (int pass = 0; pass < 2; pass++)
                        for (int64_t i = 0; i < NX; i++) {
                            int64_t ic[3] = {i / (B * C), i / C % B, i % C};
                            bool mine = true;
                            for (int a = 0; a < 3; a++)
                                mine = mine && (red[a] || ic[a] == oc[a]);
                            if (!mine)
                                continue;
                            if (pass == 0) {
                                m = fmax(m, x[i]);
                                cnt++;
                            } else {
                                s += op == 2 ? exp((double)x[i] - m) : (double)x[i];
                            }
                        }
                    ref[o] = op == 0 ? s : op == 1 ? s / cnt : m + log(s);
                }
                node_spec sp = {.op = ops[op], .opset = 18};
                INPUT(&sp, E2E_FLOAT, 3, d, x, false);
                INPUT(&sp, E2E_INT64, 1, (int64_t[]){na}, axsets[as], true);
                char what[64];
                snprintf(what, sizeof what, "%s axes %s", ops[op],
                         as == 0 ? "{2}" : as == 1 ? "{1}" : "{0, 2}");
                run_all(&sp, 1, 0, ref, ny, 1e-6, 0, what, offsets[k]);
            }
    }
}

/* noop_with_empty_axes=1 without axes: each output reduces its own element (ONNX Runtime,
   onnx.reference), so the element function still applies. */
static void test_reduce_noop_element_function(void **state)
{
    (void)state;
    float x[6] = {-1.5f, 2.f, -3.f, 0.25f, 5.f, -0.5f};
    int64_t d[2] = {2, 3};
    static const char *const ops[] = {"ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceSum",
                                      "ReduceMax"};
    for (int op = 0; op < 5; op++) {
        node_spec sp = {.op = ops[op], .opset = 18};
        ATTR_I(&sp, "noop_with_empty_axes", 1);
        INPUT(&sp, E2E_FLOAT, 2, d, x, false);
        e2e_tensor_view y;
        e2e_error err;
        oh_node *nd = build(&sp);
        if (oh_run(nd, 1, &y, &err))
            fail_msg("%s: %s", ops[op], err.message);
        assert_int_equal(y.rank, 2);
        for (int i = 0; i < 6; i++) {
            float want = op <= 1 ? fabsf(x[i]) : op == 2 ? x[i] * x[i] : x[i];
            if (((float *)y.data)[i] != want)
                fail_msg("%s [%d]: %g, want %g", ops[op], i, (double)((float *)y.data)[i],
                         (double)want);
        }
        oh_free(nd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instancenorm_offset),
        cmocka_unit_test(test_batchnorm_offset),
        cmocka_unit_test(test_layernorm_offset),
        cmocka_unit_test(test_softmax_offset),
        cmocka_unit_test(test_reduce_offset),
        cmocka_unit_test(test_reduce_noop_element_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
