/* Indexing and selection operators (src/ops/ops_topk.c, ops_index.c, ops_fill.c): what the
   ONNX node cases in tests/conformance/node do not cover. TopK's order (ties: lower index
   first; NaN above +Inf; -0 == +0), k edge cases, the partial selection against a full
   sort on random data with many duplicates (1 and 4 threads), out-of-range indices
   (an error naming the node, never a crash), scatter reductions with duplicate indices,
   GatherND batch_dims, NonZero on a non-constant input (E2E_ERR_DYNAMIC); and no heap
   allocation while the PyTorch-exported kNN block (TopK, GatherElements, Gather,
   ScatterElements, ArgMax, CumSum, Trilu, OneHot) runs. */
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

static uint64_t rng = 4242;

/* op_harness.h\'s helpers on this file\'s random stream and tolerances */
#define rnd(lo, hi) oh_rand_int(lo, hi, &rng)

static void expect_dims(const e2e_tensor_view *v, int r, const int64_t *d)
{
    assert_int_equal(v->rank, r);
    for (int i = 0; i < r; i++)
        assert_int_equal(v->dims[i], d[i]);
}

static bool same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }

/* ------------------------------------------------------------------ TopK */

/* One TopK on a 1-D float row (k as a constant input, opset 11). */
static e2e_status topk_1d(const float *x, int64_t n, int64_t k, int largest, e2e_tensor_view out[2],
                          oh_node **pn, e2e_error *err)
{
    oh_node *nd = oh_new("TopK", 11);
    oh_attr_int(nd, "largest", largest);
    oh_input(nd, E2E_FLOAT, 1, (int64_t[]){n}, x, false);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){1}, &k, true);
    *pn = nd;
    return oh_run(nd, 2, out, err);
}

static void test_topk_ties(void **state)
{
    (void)state;
    const float x[] = {1, 3, 3, 2, 3, 1, 2};
    e2e_tensor_view o[2];
    e2e_error err = {0};
    oh_node *n;
    assert_int_equal(topk_1d(x, 7, 4, 1, o, &n, &err), E2E_OK);
    const int64_t want_l[] = {1, 2, 4, 3}; /* 3,3,3 in index order, then the first 2 */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(((int64_t *)o[1].data)[i], want_l[i]);
        assert_true(((float *)o[0].data)[i] == x[want_l[i]]);
    }
    oh_free(n);
    assert_int_equal(topk_1d(x, 7, 4, 0, o, &n, &err), E2E_OK);
    const int64_t want_s[] = {0, 5, 3, 6};
    for (int i = 0; i < 4; i++)
        assert_int_equal(((int64_t *)o[1].data)[i], want_s[i]);
    oh_free(n);
}

static void test_topk_nan_and_zero(void **state)
{
    (void)state;
    const float x[] = {1.f, NAN, 5.f, -NAN, -INFINITY, INFINITY, -0.f, 0.f};
    e2e_tensor_view o[2];
    e2e_error err = {0};
    oh_node *n;
    /* largest: NaNs first (index order), then +Inf, 5, 1, then -0 and +0 tie by index */
    assert_int_equal(topk_1d(x, 8, 8, 1, o, &n, &err), E2E_OK);
    const int64_t want_l[] = {1, 3, 5, 2, 0, 6, 7, 4};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(((int64_t *)o[1].data)[i], want_l[i]);
        assert_true(same_bits(((float *)o[0].data)[i], x[want_l[i]])); /* payload, sign of zero */
    }
    oh_free(n);
    /* smallest: NaNs last */
    assert_int_equal(topk_1d(x, 8, 8, 0, o, &n, &err), E2E_OK);
    const int64_t want_s[] = {4, 6, 7, 0, 2, 5, 1, 3};
    for (int i = 0; i < 8; i++)
        assert_int_equal(((int64_t *)o[1].data)[i], want_s[i]);
    oh_free(n);
    /* smallest 3 skip the NaNs */
    assert_int_equal(topk_1d(x, 8, 3, 0, o, &n, &err), E2E_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(((int64_t *)o[1].data)[i], want_s[i]);
    oh_free(n);
}

static void test_topk_k_edges(void **state)
{
    (void)state;
    float x[5] = {4, 1, 5, 2, 3};
    e2e_tensor_view o[2];
    e2e_error err = {0};
    oh_node *n;
    /* k = N: a full sort */
    assert_int_equal(topk_1d(x, 5, 5, 1, o, &n, &err), E2E_OK);
    const int64_t want[] = {2, 0, 4, 3, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(((int64_t *)o[1].data)[i], want[i]);
    oh_free(n);
    /* k = 0: empty outputs */
    assert_int_equal(topk_1d(x, 5, 0, 1, o, &n, &err), E2E_OK);
    expect_dims(&o[0], 1, (int64_t[]){0});
    expect_dims(&o[1], 1, (int64_t[]){0});
    assert_int_equal(o[1].dtype, E2E_INT64);
    oh_free(n);
    /* k > N and k < 0: errors naming the node */
    assert_int_equal(topk_1d(x, 5, 6, 1, o, &n, &err), E2E_ERR_INVALID);
    assert_non_null(strstr(err.message, "\"n0\" (TopK)"));
    assert_non_null(strstr(err.message, "k = 6"));
    oh_free(n);
    assert_int_equal(topk_1d(x, 5, -1, 1, o, &n, &err), E2E_ERR_INVALID);
    oh_free(n);
    /* k not constant: decided at session creation, so E2E_ERR_DYNAMIC */
    n = oh_new("TopK", 11);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){5}, x, false);
    oh_input(n, E2E_INT64, 1, (int64_t[]){1}, (int64_t[]){2}, false);
    assert_int_equal(oh_run(n, 2, o, &err), E2E_ERR_DYNAMIC);
    oh_free(n);
    /* opset 1: k attribute; opset 10 has no 'largest' (always largest) */
    n = oh_new("TopK", 1);
    oh_attr_int(n, "k", 2);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){5}, x, false);
    assert_int_equal(oh_run(n, 2, o, &err), E2E_OK);
    assert_int_equal(((int64_t *)o[1].data)[0], 2);
    assert_int_equal(((int64_t *)o[1].data)[1], 0);
    oh_free(n);
}

typedef struct ref_item {
    double v;   /* NaN mapped to +huge by the caller's order */
    int nan;
    int64_t i;
} ref_item;

static int ref_largest;

/* Full-sort reference order: NaN above everything, then value, ties by index. */
static int ref_cmp(const void *pa, const void *pb)
{
    const ref_item *a = pa, *b = pb;
    int s = 0;
    if (a->nan != b->nan)
        s = a->nan ? 1 : -1;
    else if (!a->nan && a->v != b->v)
        s = a->v > b->v ? 1 : -1;
    if (s)
        return ref_largest ? -s : s;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Random [B, R, N] with values from a few levels (many ties, some NaN), a random axis, k and
   direction; checks values and indices against a full sort; dt float, int32 or int64. */
static void topk_random_case(e2e_dtype dt, int threads)
{
    int64_t d[3] = {rnd(1, 4), rnd(1, 40), rnd(1, 300)};
    const int axis = rnd(0, 2);
    const int64_t n = d[axis];
    static const int64_t ks[] = {1, 2, 7, 16, 32, 33, 50};
    int64_t k = rnd(0, 7);
    k = k == 7 ? n : ks[k] > n ? n : ks[k];
    const int largest = rnd(0, 1);
    const int levels = rnd(1, 9);
    const int64_t total = d[0] * d[1] * d[2];
    float *xf = malloc(sizeof(float) * (size_t)total);
    void *x = malloc(8 * (size_t)total);
    oh_fill_random(xf, total, 0.f, 1.f, &rng);
    for (int64_t i = 0; i < total; i++) {
        int lv = (int)(xf[i] * (float)levels);
        xf[i] = (float)(lv - levels / 2);
        if (dt == E2E_FLOAT && lv == 0 && (i % 5) == 0)
            xf[i] = NAN;
        if (dt == E2E_FLOAT)
            ((float *)x)[i] = xf[i];
        else if (dt == E2E_INT32)
            ((int32_t *)x)[i] = (int32_t)xf[i] * 100003;
        else
            ((int64_t *)x)[i] = (int64_t)xf[i] * 1000000000007LL;
    }
    oh_node *nd = oh_new("TopK", 11);
    oh_attr_int(nd, "axis", axis - 3 * rnd(0, 1)); /* negative axis half of the time */
    oh_attr_int(nd, "largest", largest);
    oh_attr_int(nd, "sorted", 1);
    oh_input(nd, dt, 3, d, x, false);
    oh_input(nd, E2E_INT64, 1, (int64_t[]){1}, &k, true);
    e2e_session_options so = e2e_session_options_default();
    so.threads = threads;
    e2e_tensor_view o[2];
    e2e_error err = {0};
    assert_int_equal(oh_run_opt(nd, 2, o, &so, &err), E2E_OK);
    int64_t od[3] = {d[0], d[1], d[2]};
    od[axis] = k;
    expect_dims(&o[0], 3, od);
    expect_dims(&o[1], 3, od);
    ref_item *row = malloc(sizeof(ref_item) * (size_t)n);
    int64_t st[3] = {d[1] * d[2], d[2], 1}, ost[3] = {od[1] * od[2], od[2], 1};
    ref_largest = largest;
    const size_t esz = dt == E2E_INT64 ? 8 : 4;
    for (int64_t a = 0; a < d[0]; a++)
        for (int64_t b = 0; b < d[1]; b++)
            for (int64_t c = 0; c < d[2]; c++) {
                int64_t co[3] = {a, b, c};
                if (co[axis])
                    continue; /* one row per position with coordinate 0 on the axis */
                const int64_t base = a * st[0] + b * st[1] + c * st[2];
                const int64_t obase = a * ost[0] + b * ost[1] + c * ost[2];
                for (int64_t i = 0; i < n; i++) {
                    const int64_t e = base + i * st[axis];
                    double v = dt == E2E_FLOAT ? ((float *)x)[e] : dt == E2E_INT32 ? ((int32_t *)x)[e]
                                                                               : (double)((int64_t *)x)[e];
                    row[i] = (ref_item){isnan(v) ? 0 : v, isnan(v), i};
                }
                qsort(row, (size_t)n, sizeof *row, ref_cmp);
                for (int64_t j = 0; j < k; j++) {
                    const int64_t oe = obase + j * ost[axis];
                    const int64_t gi = ((int64_t *)o[1].data)[oe];
                    if (gi != row[j].i)
                        fail_msg("TopK %lldx%lldx%lld axis %d k %lld largest %d threads %d: row at "
                                 "(%lld,%lld,%lld) rank %lld: index %lld, expected %lld",
                                 (long long)d[0], (long long)d[1], (long long)d[2], axis, (long long)k,
                                 largest, threads, (long long)a, (long long)b, (long long)c,
                                 (long long)j, (long long)gi, (long long)row[j].i);
                    assert_memory_equal((char *)o[0].data + (size_t)oe * esz,
                                        (char *)x + (size_t)(base + row[j].i * st[axis]) * esz, esz);
                }
            }
    free(row);
    free(x);
    free(xf);
    oh_free(nd);
}

static void test_topk_random_vs_sort(void **state)
{
    (void)state;
    for (int it = 0; it < 60; it++)
        topk_random_case(E2E_FLOAT, it % 2 ? 4 : 1);
    for (int it = 0; it < 10; it++) {
        topk_random_case(E2E_INT32, 1);
        topk_random_case(E2E_INT64, 3);
    }
}

/* ------------------------------------------------------------------ ArgMax, ArgMin */

static void test_argmax_ties_nan(void **state)
{
    (void)state;
    const float x[] = {2, 7, 7, 1, 1, 0, NAN, 3, NAN};
    struct {
        const char *op;
        int last;
        int64_t want[3]; /* rows of 3 */
    } cases[] = {
        {"ArgMax", 0, {1, 0, 0}}, {"ArgMax", 1, {2, 1, 2}},
        {"ArgMin", 0, {0, 2, 1}}, {"ArgMin", 1, {0, 2, 1}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        oh_node *n = oh_new(cases[c].op, 13);
        oh_attr_int(n, "axis", -1);
        oh_attr_int(n, "keepdims", 0);
        oh_attr_int(n, "select_last_index", cases[c].last);
        oh_input(n, E2E_FLOAT, 2, (int64_t[]){3, 3}, x, false);
        e2e_tensor_view o;
        e2e_error err = {0};
        assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
        expect_dims(&o, 1, (int64_t[]){3});
        for (int i = 0; i < 3; i++)
            assert_int_equal(((int64_t *)o.data)[i], cases[c].want[i]);
        oh_free(n);
    }
}

/* ------------------------------------------------------------------ bad indices */

/* op(data [3,4], indices) with one index out of range, indices non-constant then constant. */
static void bad_index_case(const char *op, int opset, int rank_ix, const int64_t *ixd, const int64_t *ix,
                           bool with_updates, int64_t n_upd, const int64_t *ud, int ud_rank)
{
    float data[12] = {0}, upd[16] = {0};
    for (int as_const = 0; as_const < 2; as_const++) {
        oh_node *n = oh_new(op, opset);
        oh_input(n, E2E_FLOAT, 2, (int64_t[]){3, 4}, data, false);
        oh_input(n, E2E_INT64, rank_ix, ixd, ix, as_const);
        if (with_updates)
            oh_input(n, E2E_FLOAT, ud_rank, ud, upd, false);
        (void)n_upd;
        e2e_tensor_view o;
        e2e_error err = {0};
        e2e_status st = oh_run(n, 1, &o, &err);
        assert_int_equal(st, as_const ? E2E_ERR_INVALID : E2E_ERR_ARGUMENT);
        assert_non_null(strstr(err.message, "\"n0\""));
        assert_non_null(strstr(err.message, "out of range"));
        oh_free(n);
    }
}

static void test_out_of_range_indices(void **state)
{
    (void)state;
    /* GatherElements axis 0: 3 is past the end; -4 before the start */
    bad_index_case("GatherElements", 13, 2, (int64_t[]){1, 2}, (int64_t[]){0, 3}, false, 0, NULL, 0);
    bad_index_case("GatherElements", 13, 2, (int64_t[]){1, 2}, (int64_t[]){-4, 0}, false, 0, NULL, 0);
    bad_index_case("ScatterElements", 16, 2, (int64_t[]){1, 2}, (int64_t[]){2, 3}, true, 2,
                   (int64_t[]){1, 2}, 2);
    bad_index_case("GatherND", 13, 2, (int64_t[]){1, 2}, (int64_t[]){2, 4}, false, 0, NULL, 0);
    bad_index_case("GatherND", 13, 2, (int64_t[]){2, 1}, (int64_t[]){0, -5}, false, 0, NULL, 0);
    bad_index_case("ScatterND", 16, 2, (int64_t[]){1, 2}, (int64_t[]){-4, 0}, true, 1, (int64_t[]){1}, 1);
    bad_index_case("ScatterND", 16, 2, (int64_t[]){2, 1}, (int64_t[]){1, 3}, true, 8,
                   (int64_t[]){2, 4}, 2);
}

/* ------------------------------------------------------------------ gathers */

static void test_gather_elements_any_type(void **state)
{
    (void)state;
    /* int64 and bool data (8- and 1-byte elements), axis 1, negative indices */
    const int64_t d64[6] = {10, 11, 12, 20, 21, 22};
    const uint8_t db[6] = {1, 0, 0, 0, 0, 1};
    const int64_t ix[4] = {2, -3, -1, 1}; /* [2,2] */
    for (int t = 0; t < 2; t++) {
        oh_node *n = oh_new("GatherElements", 13);
        oh_attr_int(n, "axis", 1);
        oh_input(n, t ? E2E_BOOL : E2E_INT64, 2, (int64_t[]){2, 3}, t ? (const void *)db : d64, false);
        oh_input(n, E2E_INT64, 2, (int64_t[]){2, 2}, ix, false);
        e2e_tensor_view o;
        e2e_error err = {0};
        assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
        expect_dims(&o, 2, (int64_t[]){2, 2});
        const int64_t want[4] = {2, 0, 5, 4}; /* flat data positions */
        for (int i = 0; i < 4; i++) {
            if (t)
                assert_int_equal(((uint8_t *)o.data)[i], db[want[i]]);
            else
                assert_int_equal(((int64_t *)o.data)[i], d64[want[i]]);
        }
        oh_free(n);
    }
}

static void test_gather_nd_batch_dims(void **state)
{
    (void)state;
    /* data [2,3,4] = iota, batch_dims 1, indices [2,2,1]: per batch, rows of 4 */
    float data[24];
    for (int i = 0; i < 24; i++)
        data[i] = (float)i;
    const int64_t ix[4] = {2, 0, -1, 1};
    oh_node *n = oh_new("GatherND", 13);
    oh_attr_int(n, "batch_dims", 1);
    oh_input(n, E2E_FLOAT, 3, (int64_t[]){2, 3, 4}, data, false);
    oh_input(n, E2E_INT64, 3, (int64_t[]){2, 2, 1}, ix, false);
    e2e_tensor_view o;
    e2e_error err = {0};
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
    expect_dims(&o, 3, (int64_t[]){2, 2, 4});
    const int rows[4] = {0 * 3 + 2, 0 * 3 + 0, 1 * 3 + 2, 1 * 3 + 1};
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            assert_true(((float *)o.data)[r * 4 + c] == data[rows[r] * 4 + c]);
    oh_free(n);
    /* batch_dims 2, tuples of 1 into the last axis: [2,3,4] with indices [2,3,1] -> [2,3] */
    const int64_t ix2[6] = {3, 0, 1, -1, 2, 0};
    n = oh_new("GatherND", 13);
    oh_attr_int(n, "batch_dims", 2);
    oh_input(n, E2E_FLOAT, 3, (int64_t[]){2, 3, 4}, data, false);
    oh_input(n, E2E_INT64, 3, (int64_t[]){2, 3, 1}, ix2, false);
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
    expect_dims(&o, 2, (int64_t[]){2, 3});
    for (int r = 0; r < 6; r++)
        assert_true(((float *)o.data)[r] == data[r * 4 + (ix2[r] + 4) % 4]);
    oh_free(n);
    /* batch dims that differ: a shape error */
    n = oh_new("GatherND", 13);
    oh_attr_int(n, "batch_dims", 1);
    oh_input(n, E2E_FLOAT, 3, (int64_t[]){2, 3, 4}, data, false);
    oh_input(n, E2E_INT64, 2, (int64_t[]){3, 1}, ix2, false);
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_ERR_SHAPE);
    oh_free(n);
}

/* ------------------------------------------------------------------ scatter reductions */

static void test_scatter_elements_reductions(void **state)
{
    (void)state;
    /* data [1,4], indices [1,5] with position 1 three times, axis 1 */
    const float data[4] = {1, 2, 3, 4}, upd[5] = {5, -3, 7, 2, 10};
    const int64_t ix[5] = {1, -3, 3, 1, 0};
    static const char *const red[] = {"none", "add", "mul", "max", "min"};
    const float want[5][4] = {
        {10, 2, 3, 7},            /* last write wins */
        {11, 2 + 5 - 3 + 2, 3, 11},
        {10, 2 * 5 * -3 * 2, 3, 28},
        {10, 5, 3, 7},
        {1, -3, 3, 4},
    };
    for (int r = 0; r < 5; r++) {
        oh_node *n = oh_new("ScatterElements", 18);
        oh_attr_int(n, "axis", 1);
        oh_attr_string(n, "reduction", red[r]);
        oh_input(n, E2E_FLOAT, 2, (int64_t[]){1, 4}, data, false);
        oh_input(n, E2E_INT64, 2, (int64_t[]){1, 5}, ix, false);
        oh_input(n, E2E_FLOAT, 2, (int64_t[]){1, 5}, upd, false);
        e2e_tensor_view o;
        e2e_error err = {0};
        assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
        for (int i = 0; i < 4; i++)
            if (((float *)o.data)[i] != want[r][i])
                fail_msg("reduction %s: y[%d] = %g, expected %g", red[r], i, ((float *)o.data)[i],
                         want[r][i]);
        oh_free(n);
    }
    /* max needs opset 18 */
    oh_node *n = oh_new("ScatterElements", 16);
    oh_attr_int(n, "axis", 1);
    oh_attr_string(n, "reduction", "max");
    oh_input(n, E2E_FLOAT, 2, (int64_t[]){1, 4}, data, false);
    oh_input(n, E2E_INT64, 2, (int64_t[]){1, 5}, ix, false);
    oh_input(n, E2E_FLOAT, 2, (int64_t[]){1, 5}, upd, false);
    e2e_tensor_view o;
    e2e_error err = {0};
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_ERR_INVALID);
    assert_non_null(strstr(err.message, "opset 18"));
    oh_free(n);
}

static void test_scatter_nd_reductions(void **state)
{
    (void)state;
    /* data [3,2] int64, indices [3,1] naming row 2 twice and row 0 once */
    const int64_t data[6] = {1, 2, 3, 4, 5, 6}, upd[6] = {10, 20, -1, 7, 3, 30};
    const int64_t ix[3] = {2, 0, -1};
    static const char *const red[] = {"none", "add", "mul", "max", "min"};
    const int64_t want[5][6] = {
        {-1, 7, 3, 4, 3, 30},
        {1 - 1, 2 + 7, 3, 4, 5 + 10 + 3, 6 + 20 + 30},
        {1 * -1, 2 * 7, 3, 4, 5 * 10 * 3, 6 * 20 * 30},
        {1, 7, 3, 4, 10, 30},
        {-1, 2, 3, 4, 3, 6},
    };
    for (int r = 0; r < 5; r++) {
        oh_node *n = oh_new("ScatterND", 18);
        oh_attr_string(n, "reduction", red[r]);
        oh_input(n, E2E_INT64, 2, (int64_t[]){3, 2}, data, false);
        oh_input(n, E2E_INT64, 2, (int64_t[]){3, 1}, ix, true);
        oh_input(n, E2E_INT64, 2, (int64_t[]){3, 2}, upd, false);
        e2e_tensor_view o;
        e2e_error err = {0};
        assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
        for (int i = 0; i < 6; i++)
            if (((int64_t *)o.data)[i] != want[r][i])
                fail_msg("reduction %s: y[%d] = %lld, expected %lld", red[r], i,
                         (long long)((int64_t *)o.data)[i], (long long)want[r][i]);
        oh_free(n);
    }
}

/* ------------------------------------------------------------------ NonZero, OneHot, CumSum, Trilu */

static void test_nonzero(void **state)
{
    (void)state;
    const float x[6] = {0, 1.5f, 0, NAN, 0, -2};
    /* not constant: the output size is unknown at session creation */
    oh_node *n = oh_new("NonZero", 13);
    oh_input(n, E2E_FLOAT, 2, (int64_t[]){2, 3}, x, false);
    e2e_tensor_view o;
    e2e_error err = {0};
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_ERR_DYNAMIC);
    assert_non_null(strstr(err.message, "\"n0\" (NonZero)"));
    assert_non_null(strstr(err.message, "not known at session creation"));
    oh_free(n);
    /* constant: folded at session creation; NaN counts as non-zero */
    n = oh_new("NonZero", 13);
    oh_input(n, E2E_FLOAT, 2, (int64_t[]){2, 3}, x, true);
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
    expect_dims(&o, 2, (int64_t[]){2, 3});
    const int64_t want[6] = {0, 1, 1, 1, 0, 2};
    for (int i = 0; i < 6; i++)
        assert_int_equal(((int64_t *)o.data)[i], want[i]);
    oh_free(n);
    /* all zero: [rank, 0] */
    const float z[4] = {0};
    n = oh_new("NonZero", 13);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){4}, z, true);
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
    expect_dims(&o, 2, (int64_t[]){1, 0});
    oh_free(n);
}

static void test_onehot_out_of_range(void **state)
{
    (void)state;
    const int64_t ix[4] = {0, -1, 3, -4};
    const float depth = 3.f, vals[2] = {-1.f, 9.f};
    oh_node *n = oh_new("OneHot", 11);
    oh_input(n, E2E_INT64, 1, (int64_t[]){4}, ix, false);
    oh_input(n, E2E_FLOAT, 0, NULL, &depth, true);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){2}, vals, true);
    e2e_tensor_view o;
    e2e_error err = {0};
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
    expect_dims(&o, 2, (int64_t[]){4, 3});
    const float want[12] = {9, -1, -1, -1, -1, 9, -1, -1, -1, -1, -1, -1};
    for (int i = 0; i < 12; i++)
        assert_true(((float *)o.data)[i] == want[i]);
    oh_free(n);
    /* opset 9: negative indices are out of range too */
    n = oh_new("OneHot", 9);
    oh_input(n, E2E_INT64, 1, (int64_t[]){4}, ix, false);
    oh_input(n, E2E_FLOAT, 0, NULL, &depth, true);
    oh_input(n, E2E_FLOAT, 1, (int64_t[]){2}, vals, true);
    assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
    for (int i = 0; i < 12; i++)
        assert_true(((float *)o.data)[i] == (i == 0 ? 9.f : -1.f));
    oh_free(n);
}

static void test_cumsum_axis_middle(void **state)
{
    (void)state;
    /* [2,3,2] along axis 1, every combination of exclusive and reverse; int32 and float */
    int32_t xi[12];
    float xf[12];
    for (int i = 0; i < 12; i++) {
        xi[i] = i * i - 5;
        xf[i] = (float)xi[i];
    }
    for (int mode = 0; mode < 8; mode++) {
        const int ex = mode & 1, rev = (mode >> 1) & 1, flt = mode >> 2;
        oh_node *n = oh_new("CumSum", 14);
        oh_attr_int(n, "exclusive", ex);
        oh_attr_int(n, "reverse", rev);
        oh_input(n, flt ? E2E_FLOAT : E2E_INT32, 3, (int64_t[]){2, 3, 2}, flt ? (void *)xf : (void *)xi, false);
        oh_input(n, E2E_INT32, 0, NULL, (int32_t[]){-2}, false); /* axis computed at run */
        e2e_tensor_view o;
        e2e_error err = {0};
        assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
        for (int a = 0; a < 2; a++)
            for (int c = 0; c < 2; c++)
                for (int b = 0; b < 3; b++) {
                    int64_t s = 0;
                    for (int j = 0; j < 3; j++) {
                        bool in = rev ? (ex ? j > b : j >= b) : (ex ? j < b : j <= b);
                        if (in)
                            s += xi[a * 6 + j * 2 + c];
                    }
                    const int e = a * 6 + b * 2 + c;
                    double got = flt ? ((float *)o.data)[e] : ((int32_t *)o.data)[e];
                    if (got != (double)s)
                        fail_msg("CumSum exclusive %d reverse %d: y[%d] = %g, expected %lld", ex, rev, e,
                                 got, (long long)s);
                }
        oh_free(n);
    }
}

static void test_trilu_large_k(void **state)
{
    (void)state;
    /* k far outside the matrix (non-constant): all kept or all zeroed, no overflow */
    float x[6] = {1, 2, 3, 4, 5, 6};
    const int64_t ks[2] = {INT64_MAX, INT64_MIN};
    for (int up = 0; up < 2; up++)
        for (int t = 0; t < 2; t++) {
            oh_node *n = oh_new("Trilu", 14);
            oh_attr_int(n, "upper", up);
            oh_input(n, E2E_FLOAT, 2, (int64_t[]){2, 3}, x, false);
            oh_input(n, E2E_INT64, 0, NULL, &ks[t], false);
            e2e_tensor_view o;
            e2e_error err = {0};
            assert_int_equal(oh_run(n, 1, &o, &err), E2E_OK);
            const bool keep = up ? t == 1 : t == 0;
            for (int i = 0; i < 6; i++)
                assert_true(((float *)o.data)[i] == (keep ? x[i] : 0.f));
            oh_free(n);
        }
}

/* ------------------------------------------------------------------ no allocation in run */

#define KNN "tests/fixtures/models/knn_edgeconv_op16/model.onnx"

static void test_knn_block_no_alloc(void **state)
{
    (void)state;
#ifdef OH_NO_COUNTING
    printf("skipped: allocation counting needs malloc interposition, which AddressSanitizer owns\n");
    skip();
#endif
    e2e_error err;
    e2e_model *m = NULL;
    if (e2e_model_load_file(KNN, &m, &err))
        fail_msg("%s (run from the repository root)", err.message);
    e2e_session_options o = e2e_session_options_default();
    o.threads = 2;
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    assert_int_equal(e2e_session_input_count(s), 2);
    e2e_tensor_view in[2];
    float *buf[2];
    for (int i = 0; i < 2; i++) {
        e2e_session_input(s, i, &in[i]);
        int64_t n = e2e_tensor_view_numel(&in[i]);
        buf[i] = oh_raw_malloc(sizeof(float) * (size_t)n);
        oh_fill_random(buf[i], n, -1.f, 1.f, &rng);
        in[i].data = buf[i];
    }
    assert_int_equal(e2e_session_run(s, in, 2, &err), E2E_OK);
    oh_allocations = 0;
    oh_counting = 1;
    for (int r = 0; r < 10; r++)
        e2e_session_run(s, in, 2, &err);
    oh_counting = 0;
    assert_int_equal(oh_allocations, 0);
    for (int i = 0; i < 2; i++)
        oh_raw_free(buf[i]);
    e2e_session_free(s);
    e2e_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk_ties),
        cmocka_unit_test(test_topk_nan_and_zero),
        cmocka_unit_test(test_topk_k_edges),
        cmocka_unit_test(test_topk_random_vs_sort),
        cmocka_unit_test(test_argmax_ties_nan),
        cmocka_unit_test(test_out_of_range_indices),
        cmocka_unit_test(test_gather_elements_any_type),
        cmocka_unit_test(test_gather_nd_batch_dims),
        cmocka_unit_test(test_scatter_elements_reductions),
        cmocka_unit_test(test_scatter_nd_reductions),
        cmocka_unit_test(test_nonzero),
        cmocka_unit_test(test_onehot_out_of_range),
        cmocka_unit_test(test_cumsum_axis_middle),
        cmocka_unit_test(test_trilu_large_k),
        cmocka_unit_test(test_knn_block_no_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
