/* Shape and data-movement operators against naive index-based references on random shapes.
   Data is an iota pattern (element i holds i), so every comparison is exact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

static uint64_t rng = 777;

/* op_harness.h\'s helpers on this file\'s random stream and tolerances */
#define rnd(lo, hi) oh_rand_int(lo, hi, &rng)
#define numel oh_numel

static void strides_of(int r, const int64_t *d, int64_t *s)
{
    int64_t m = 1;
    for (int i = r - 1; i >= 0; i--) {
        s[i] = m;
        m *= d[i];
    }
}

/* Linear index -> coordinates. */
static void unravel(int64_t i, int r, const int64_t *d, int64_t *c)
{
    for (int k = r - 1; k >= 0; k--) {
        c[k] = d[k] ? i % d[k] : 0;
        i = d[k] ? i / d[k] : 0;
    }
}

/* iota of the given element size (1: uint8 modulo 256, 4: int32, 8: int64) */
static void *iota(int64_t n, size_t esz)
{
    void *p = malloc((size_t)(n + 1) * esz);
    for (int64_t i = 0; i < n; i++) {
        if (esz == 1)
            ((uint8_t *)p)[i] = (uint8_t)(i * 7 + 3);
        else if (esz == 4)
            ((int32_t *)p)[i] = (int32_t)i;
        else
            ((int64_t *)p)[i] = i * 1000003;
    }
    return p;
}

static int64_t elem(const void *p, size_t esz, int64_t i)
{
    return esz == 1 ? ((const uint8_t *)p)[i] : esz == 4 ? ((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}

static e2e_dtype dtype_of(size_t esz) { return esz == 1 ? E2E_UINT8 : esz == 4 ? E2E_INT32 : E2E_INT64; }

#define expect_shape oh_expect_shape

/* ------------------------------------------------------------------ Transpose */

static void check_transpose(int r, const int64_t *d, const int *perm, size_t esz, bool default_perm)
{
    int64_t n = numel(r, d);
    void *x = iota(n, esz);
    oh_node *node = oh_new("Transpose", 13);
    if (!default_perm) {
        int64_t p64[8];
        for (int i = 0; i < r; i++)
            p64[i] = perm[i];
        oh_attr_ints(node, "perm", p64, r);
    }
    oh_input(node, dtype_of(esz), r, d, x, false);
    e2e_tensor_view y;
    e2e_error err;
    e2e_status st = oh_run(node, 1, &y, &err);
    if (st)
        fail_msg("%s", err.message);
    int64_t od[8], is[8], c[8];
    for (int i = 0; i < r; i++)
        od[i] = d[perm[i]];
    expect_shape(&y, r, od);
    strides_of(r, d, is);
    for (int64_t i = 0; i < n; i++) {
        unravel(i, r, od, c);
        int64_t src = 0;
        for (int k = 0; k < r; k++)
            src += c[k] * is[perm[k]];
        if (elem(y.data, esz, i) != elem(x, esz, src))
            fail_msg("transpose rank %d esz %zu: mismatch at %lld", r, esz, (long long)i);
    }
    oh_free(node);
    free(x);
}

static void test_transpose_random(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 4, 8};
    for (int t = 0; t < 120; t++) {
        int r = rnd(1, t < 100 ? 5 : 8);
        int64_t d[8];
        int64_t budget = r <= 2 ? 60 : r <= 4 ? 12 : 4;
        for (int i = 0; i < r; i++)
            d[i] = rnd(1, (int)budget);
        if (t % 17 == 0)
            d[rnd(0, r - 1)] = 0; /* zero-size */
        int perm[8];
        for (int i = 0; i < r; i++)
            perm[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = rnd(0, i), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        check_transpose(r, d, perm, sizes[t % 3], false);
    }
    /* the common layouts, big enough for the blocked path, and the default reverse */
    int64_t d4[4] = {2, 19, 23, 37};
    check_transpose(4, d4, (int[]){0, 2, 3, 1}, 4, false);
    check_transpose(4, d4, (int[]){0, 3, 1, 2}, 4, false);
    check_transpose(4, d4, (int[]){0, 2, 1, 3}, 8, false);
    int64_t d5[5] = {2, 3, 5, 7, 11};
    check_transpose(5, d5, (int[]){0, 2, 3, 4, 1}, 4, false);
    check_transpose(5, d5, (int[]){4, 3, 2, 1, 0}, 1, true);
    int64_t d2[2] = {67, 131};
    check_transpose(2, d2, (int[]){1, 0}, 4, false);
}

static void test_transpose_bad_perm(void **state)
{
    (void)state;
    int64_t d[3] = {2, 3, 4};
    float x[24] = {0};
    static const int64_t bad[][3] = {{0, 1, 1}, {0, 1, 3}, {-1, 0, 1}};
    for (int t = 0; t < 4; t++) {
        oh_node *n = oh_new("Transpose", 13);
        oh_attr_ints(n, "perm", t < 3 ? bad[t] : (const int64_t[]){1, 0}, t < 3 ? 3 : 2);
        oh_input(n, E2E_FLOAT, 3, d, x, false);
        e2e_tensor_view y;
        e2e_error err;
        assert_int_equal(oh_run(n, 1, &y, &err), E2E_ERR_INVALID);
        assert_non_null(strstr(err.message, "\"n0\""));
        assert_non_null(strstr(err.message, "perm"));
        oh_free(n);
    }
}

/* ------------------------------------------------------------------ Slice */

/* The ONNX spec's Slice for one axis (as ONNX Runtime; Python's slice.indices() differs in one
   place: with a negative step a start before the axis clamps to 0, not -1); returns the count. */
static int64_t spec_slice(int64_t start, int64_t stop, int64_t step, int64_t len, int64_t *first)
{
    int64_t slower = 0, elower = step < 0 ? -1 : 0, upper = step < 0 ? len - 1 : len;
    if (start < 0) {
        start = start < INT64_MIN + len ? slower : start + len;
        if (start < slower)
            start = slower;
    } else if (start > upper)
        start = upper;
    if (stop < 0) {
        stop = stop < INT64_MIN + len ? elower : stop + len;
        if (stop < elower)
            stop = elower;
    } else if (stop > upper)
        stop = upper;
    int64_t cnt = 0;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
        cnt++;
    *first = start;
    return cnt;
}

static int64_t pick(int64_t dim)
{
    switch (rnd(0, 6)) {
    case 0: return INT64_MAX;
    case 1: return INT64_MIN;
    case 2: return -dim - rnd(0, 3);
    case 3: return dim + rnd(0, 3);
    default: return rnd(-(int)dim, (int)dim);
    }
}

static void test_slice_random(void **state)
{
    (void)state;
    for (int t = 0; t < 200; t++) {
        const int r = rnd(1, 4);
        int64_t d[4];
        for (int i = 0; i < r; i++)
            d[i] = rnd(1, 7);
        const int64_t n = numel(r, d);
        const size_t esz = t % 2 ? 4 : 8;
        void *x = iota(n, esz);
        int na = rnd(1, r);
        int64_t starts[4], ends[4], axes[4], steps[4];
        int perm[4] = {0, 1, 2, 3};
        for (int i = r - 1; i > 0; i--) {
            int j = rnd(0, i), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        int64_t first[4] = {0}, cnt[4], step[4] = {1, 1, 1, 1};
        for (int i = 0; i < r; i++)
            cnt[i] = d[i];
        for (int i = 0; i < na; i++) {
            int a = perm[i];
            axes[i] = rnd(0, 1) ? a : a - r; /* negative axes too */
            starts[i] = pick(d[a]);
            ends[i] = pick(d[a]);
            steps[i] = rnd(0, 1) ? rnd(1, 3) : -rnd(1, 3);
            step[a] = steps[i];
            cnt[a] = spec_slice(starts[i], ends[i], steps[i], d[a], &first[a]);
        }
        oh_node *node = oh_new("Slice", 13);
        int64_t nd = na;
        oh_input(node, dtype_of(esz), r, d, x, false);
        oh_input(node, E2E_INT64, 1, &nd, starts, true);
        oh_input(node, E2E_INT64, 1, &nd, ends, true);
        oh_input(node, E2E_INT64, 1, &nd, axes, true);
        oh_input(node, E2E_INT64, 1, &nd, steps, true);
        e2e_tensor_view y;
        e2e_error err;
        if (oh_run(node, 1, &y, &err))
            fail_msg("%s", err.message);
        expect_shape(&y, r, cnt);
        int64_t is[4], c[4];
        strides_of(r, d, is);
        for (int64_t i = 0; i < numel(r, cnt); i++) {
            unravel(i, r, cnt, c);
            int64_t src = 0;
            for (int k = 0; k < r; k++)
                src += (first[k] + c[k] * step[k]) * is[k];
            if (elem(y.data, esz, i) != elem(x, esz, src))
                fail_msg("slice case %d: mismatch at %lld", t, (long long)i);
        }
        oh_free(node);
        free(x);
    }
}

static void test_slice_attributes(void **state)
{
    (void)state;
    /* opset 1-9: starts/ends/axes attributes, steps always 1 */
    int64_t d[2] = {3, 5};
    int32_t *x = iota(15, 4);
    oh_node *n = oh_new("Slice", 9);
    oh_attr_ints(n, "starts", (int64_t[]){1, -4}, 2);
    oh_attr_ints(n, "ends", (int64_t[]){INT64_MAX, -1}, 2);
    oh_attr_ints(n, "axes", (int64_t[]){0, 1}, 2);
    oh_input(n, E2E_INT32, 2, d, x, false);
    e2e_tensor_view y;
    e2e_error err;
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 2, (int64_t[]){2, 3});
    static const int32_t want[] = {6, 7, 8, 11, 12, 13};
    assert_memory_equal(y.data, want, sizeof want);
    oh_free(n);
    free(x);
}

/* ------------------------------------------------------------------ Concat / Split */

static void test_concat_split_roundtrip(void **state)
{
    (void)state;
    for (int t = 0; t < 60; t++) {
        const int r = rnd(1, 4);
        int64_t d[4];
        for (int i = 0; i < r; i++)
            d[i] = rnd(1, 6);
        const int axis = rnd(0, r - 1);
        d[axis] = rnd(2, 9);
        const int parts = rnd(1, 4);
        int64_t sizes[4], left = d[axis];
        for (int i = 0; i < parts - 1; i++) {
            sizes[i] = rnd(0, (int)left); /* zero-size parts too */
            left -= sizes[i];
        }
        sizes[parts - 1] = left;
        const size_t esz = t % 3 == 0 ? 1 : t % 3 == 1 ? 4 : 8;
        const int64_t n = numel(r, d);
        void *x = iota(n, esz);

        oh_node *sp = oh_new("Split", 13);
        oh_attr_int(sp, "axis", rnd(0, 1) ? axis : axis - r);
        int64_t np = parts;
        oh_input(sp, dtype_of(esz), r, d, x, false);
        oh_input(sp, E2E_INT64, 1, &np, sizes, true);
        e2e_tensor_view parts_v[4];
        e2e_error err;
        if (oh_run(sp, parts, parts_v, &err))
            fail_msg("split: %s", err.message);

        oh_node *cc = oh_new("Concat", 13);
        oh_attr_int(cc, "axis", rnd(0, 1) ? axis : axis - r);
        for (int i = 0; i < parts; i++) {
            int64_t pd[4];
            memcpy(pd, d, sizeof pd);
            pd[axis] = sizes[i];
            expect_shape(&parts_v[i], r, pd);
            oh_input(cc, dtype_of(esz), r, pd, parts_v[i].data, false);
        }
        e2e_tensor_view y;
        if (oh_run(cc, 1, &y, &err))
            fail_msg("concat: %s", err.message);
        expect_shape(&y, r, d);
        assert_memory_equal(y.data, x, (size_t)n * esz);
        oh_free(cc);
        oh_free(sp);
        free(x);
    }
}

static void test_split_forms(void **state)
{
    (void)state;
    int64_t d[1] = {7};
    int32_t *x = iota(7, 4);
    e2e_tensor_view y[4];
    e2e_error err;
    /* opset 18: num_outputs, uneven last chunk: 2 2 2 1 */
    oh_node *n = oh_new("Split", 18);
    oh_attr_int(n, "num_outputs", 4);
    oh_input(n, E2E_INT32, 1, d, x, false);
    assert_int_equal(oh_run(n, 4, y, &err), E2E_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(y[i].dims[0], i < 3 ? 2 : 1);
        assert_int_equal(((int32_t *)y[i].data)[0], 2 * i);
    }
    oh_free(n);
    /* opset 11: split attribute */
    n = oh_new("Split", 11);
    oh_attr_ints(n, "split", (int64_t[]){3, 4}, 2);
    oh_input(n, E2E_INT32, 1, d, x, false);
    assert_int_equal(oh_run(n, 2, y, &err), E2E_OK);
    assert_int_equal(y[0].dims[0], 3);
    assert_int_equal(y[1].dims[0], 4);
    assert_int_equal(((int32_t *)y[1].data)[0], 3);
    oh_free(n);
    /* equal parts that do not divide */
    n = oh_new("Split", 13);
    oh_input(n, E2E_INT32, 1, d, x, false);
    assert_int_equal(oh_run(n, 2, y, &err), E2E_ERR_SHAPE);
    oh_free(n);
    free(x);
}

/* ------------------------------------------------------------------ Pad */

static int64_t pad_src(int64_t i, int64_t n, const char *mode)
{
    if (i >= 0 && i < n)
        return i;
    if (!strcmp(mode, "edge"))
        return i < 0 ? 0 : n - 1;
    if (!strcmp(mode, "wrap"))
        return ((i % n) + n) % n;
    /* reflect: bounce between the ends without repeating them */
    while (i < 0 || i >= n) {
        if (i < 0)
            i = -i;
        if (i >= n)
            i = 2 * (n - 1) - i;
    }
    return i;
}

static void test_pad_modes_rank3(void **state)
{
    (void)state;
    static const char *modes[] = {"reflect", "edge", "constant", "wrap"};
    for (int t = 0; t < 80; t++) {
        const char *mode = modes[t % 4];
        int64_t d[3], pads[6], od[3];
        for (int i = 0; i < 3; i++)
            d[i] = rnd(2, 6);
        for (int i = 0; i < 3; i++) {
            for (int e = 0; e < 2; e++) {
                int64_t p = rnd(0, (int)d[i] - 1); /* reflect needs pad < dim */
                if (!strcmp(mode, "constant") && rnd(0, 3) == 0)
                    p = -rnd(0, 1); /* negative pads crop */
                pads[e * 3 + i] = p;
            }
            od[i] = d[i] + pads[i] + pads[3 + i];
        }
        const int64_t n = numel(3, d);
        float *x = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)i + 0.5f;
        const float cv = -3.25f;
        oh_node *node = oh_new("Pad", 13);
        oh_attr_string(node, "mode", mode);
        int64_t six = 6;
        oh_input(node, E2E_FLOAT, 3, d, x, false);
        oh_input(node, E2E_INT64, 1, &six, pads, true);
        if (!strcmp(mode, "constant"))
            oh_input(node, E2E_FLOAT, 0, NULL, &cv, false);
        if (!strcmp(mode, "wrap")) {
            oh_free(node); /* wrap is opset 19 */
            node = oh_new("Pad", 19);
            oh_attr_string(node, "mode", mode);
            oh_input(node, E2E_FLOAT, 3, d, x, false);
            oh_input(node, E2E_INT64, 1, &six, pads, true);
        }
        e2e_tensor_view y;
        e2e_error err;
        if (oh_run(node, 1, &y, &err))
            fail_msg("%s", err.message);
        expect_shape(&y, 3, od);
        int64_t c[3];
        for (int64_t i = 0; i < numel(3, od); i++) {
            unravel(i, 3, od, c);
            float want;
            bool inside = true;
            int64_t s[3];
            for (int k = 0; k < 3; k++) {
                int64_t q = c[k] - pads[k];
                inside = inside && q >= 0 && q < d[k];
                s[k] = !strcmp(mode, "constant") ? q : pad_src(q, d[k], mode);
            }
            if (!strcmp(mode, "constant") && !inside)
                want = cv;
            else
                want = x[(s[0] * d[1] + s[1]) * d[2] + s[2]];
            if (((float *)y.data)[i] != want)
                fail_msg("pad %s case %d: at %lld got %g want %g", mode, t, (long long)i,
                         (double)((float *)y.data)[i], (double)want);
        }
        oh_free(node);
        free(x);
    }
}

static void test_pad_attribute_form(void **state)
{
    (void)state;
    /* opset 2-10: pads and value attributes */
    int64_t d[2] = {1, 2};
    float x[2] = {1, 2};
    oh_node *n = oh_new("Pad", 10);
    oh_attr_ints(n, "pads", (int64_t[]){0, 1, 1, 0}, 4);
    oh_attr_float(n, "value", 9.f);
    oh_input(n, E2E_FLOAT, 2, d, x, false);
    e2e_tensor_view y;
    e2e_error err;
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 2, (int64_t[]){2, 3});
    static const float want[] = {9, 1, 2, 9, 9, 9};
    assert_memory_equal(y.data, want, sizeof want);
    oh_free(n);
}

/* ------------------------------------------------------------------ Gather */

static void test_gather_negative_indices(void **state)
{
    (void)state;
    for (int t = 0; t < 60; t++) {
        const int r = rnd(1, 4);
        int64_t d[4];
        for (int i = 0; i < r; i++)
            d[i] = rnd(1, 5);
        const int axis = rnd(0, r - 1);
        const int ir = rnd(0, 2);
        int64_t id[2], nidx = 1;
        for (int i = 0; i < ir; i++)
            nidx *= (id[i] = rnd(1, 3));
        int64_t idx64[9];
        int32_t idx32[9];
        for (int64_t i = 0; i < nidx; i++)
            idx32[i] = (int32_t)(idx64[i] = rnd(-(int)d[axis], (int)d[axis] - 1));
        const size_t esz = t % 3 == 0 ? 1 : t % 3 == 1 ? 4 : 8;
        void *x = iota(numel(r, d), esz);
        oh_node *node = oh_new("Gather", 13);
        oh_attr_int(node, "axis", rnd(0, 1) ? axis : axis - r);
        oh_input(node, dtype_of(esz), r, d, x, false);
        bool i64 = t % 2;
        oh_input(node, i64 ? E2E_INT64 : E2E_INT32, ir, id, i64 ? (void *)idx64 : (void *)idx32, t % 4 < 2);
        e2e_tensor_view y;
        e2e_error err;
        if (oh_run(node, 1, &y, &err))
            fail_msg("%s", err.message);
        int64_t od[8];
        int orank = 0;
        for (int i = 0; i < axis; i++)
            od[orank++] = d[i];
        for (int i = 0; i < ir; i++)
            od[orank++] = id[i];
        for (int i = axis + 1; i < r; i++)
            od[orank++] = d[i];
        expect_shape(&y, orank, od);
        int64_t is[4], c[8];
        strides_of(r, d, is);
        for (int64_t i = 0; i < numel(orank, od); i++) {
            unravel(i, orank, od, c);
            int64_t src = 0, m = 0;
            for (int k = 0; k < axis; k++)
                src += c[k] * is[k];
            for (int k = 0; k < ir; k++)
                m = m * id[k] + c[axis + k];
            int64_t j = idx64[m] < 0 ? idx64[m] + d[axis] : idx64[m];
            src += j * is[axis];
            for (int k = axis + 1; k < r; k++)
                src += c[k - 1 + ir] * is[k];
            if (elem(y.data, esz, i) != elem(x, esz, src))
                fail_msg("gather case %d: mismatch at %lld", t, (long long)i);
        }
        oh_free(node);
        free(x);
    }
}

static void test_gather_out_of_range(void **state)
{
    (void)state;
    int64_t d[2] = {3, 4}, id[1] = {2};
    float x[12] = {0};
    int64_t idx[2] = {1, 4};
    e2e_tensor_view y;
    e2e_error err;
    /* indices known at run time only: the run reports it */
    oh_node *n = oh_new("Gather", 13);
    oh_attr_int(n, "axis", 1);
    oh_input(n, E2E_FLOAT, 2, d, x, false);
    oh_input(n, E2E_INT64, 1, id, idx, false);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "out of range"));
    assert_non_null(strstr(err.message, "\"n0\""));
    oh_free(n);
    /* constant indices: found at session creation */
    idx[1] = -5;
    n = oh_new("Gather", 13);
    oh_attr_int(n, "axis", 1);
    oh_input(n, E2E_FLOAT, 2, d, x, false);
    oh_input(n, E2E_INT64, 1, id, idx, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_ERR_INVALID);
    assert_non_null(strstr(err.message, "out of range"));
    oh_free(n);
}

/* ------------------------------------------------------------------ Reshape family */

static void test_reshape(void **state)
{
    (void)state;
    int64_t d[3] = {2, 3, 4};
    int32_t *x = iota(24, 4);
    static const struct {
        int n;
        int64_t shape[4];
        int orank;
        int64_t out[4];
    } cases[] = {
        {2, {0, -1}, 2, {2, 12}},
        {3, {4, 0, 2}, 3, {4, 3, 2}},
        {1, {-1}, 1, {24}},
        {4, {2, 1, -1, 3}, 4, {2, 1, 4, 3}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        oh_node *n = oh_new("Reshape", 14);
        int64_t ns = cases[c].n;
        oh_input(n, E2E_INT32, 3, d, x, false);
        oh_input(n, E2E_INT64, 1, &ns, cases[c].shape, true);
        e2e_tensor_view y;
        e2e_error err;
        if (oh_run(n, 1, &y, &err))
            fail_msg("%s", err.message);
        expect_shape(&y, cases[c].orank, cases[c].out);
        assert_memory_equal(y.data, x, 24 * sizeof(int32_t));
        oh_free(n);
    }
    free(x);
}

static void test_reshape_errors(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3};
    float x[6] = {0};
    static const int64_t bad[][2] = {{4, 2}, {-1, 4}, {-1, -1}, {5, 0}};
    for (int c = 0; c < 4; c++) {
        oh_node *n = oh_new("Reshape", 14);
        int64_t two = 2;
        oh_input(n, E2E_FLOAT, 2, d, x, false);
        oh_input(n, E2E_INT64, 1, &two, bad[c], true);
        e2e_tensor_view y;
        e2e_error err;
        assert_int_equal(oh_run(n, 1, &y, &err), E2E_ERR_SHAPE);
        assert_non_null(strstr(err.message, "node \"n0\" (Reshape)"));
        oh_free(n);
    }
    /* allowzero=1 keeps the 0: 2x3 cannot become 0x6 */
    oh_node *n = oh_new("Reshape", 14);
    int64_t two = 2, z[2] = {0, 6};
    oh_attr_int(n, "allowzero", 1);
    oh_input(n, E2E_FLOAT, 2, d, x, false);
    oh_input(n, E2E_INT64, 1, &two, z, true);
    e2e_tensor_view y;
    e2e_error err;
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_ERR_SHAPE);
    oh_free(n);
}

static void test_squeeze_unsqueeze_flatten(void **state)
{
    (void)state;
    int64_t d[4] = {1, 3, 1, 2};
    int64_t *x = iota(6, 8);
    e2e_tensor_view y;
    e2e_error err;
    /* Squeeze 13 without axes: all 1s */
    oh_node *n = oh_new("Squeeze", 13);
    oh_input(n, E2E_INT64, 4, d, x, false);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 2, (int64_t[]){3, 2});
    assert_memory_equal(y.data, x, 48);
    oh_free(n);
    /* Squeeze 11: attribute axes, negative */
    n = oh_new("Squeeze", 11);
    oh_attr_ints(n, "axes", (int64_t[]){-2}, 1);
    oh_input(n, E2E_INT64, 4, d, x, false);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 3, (int64_t[]){1, 3, 2});
    oh_free(n);
    /* squeezing a dim that is not 1 */
    n = oh_new("Squeeze", 13);
    oh_input(n, E2E_INT64, 4, d, x, false);
    oh_input(n, E2E_INT64, 1, (int64_t[]){1}, (int64_t[]){1}, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_ERR_SHAPE);
    oh_free(n);
    /* Unsqueeze 13: input axes, unsorted and negative */
    n = oh_new("Unsqueeze", 13);
    oh_input(n, E2E_INT64, 4, d, x, false);
    oh_input(n, E2E_INT64, 1, (int64_t[]){2}, (int64_t[]){-1, 0}, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 6, (int64_t[]){1, 1, 3, 1, 2, 1});
    assert_memory_equal(y.data, x, 48);
    oh_free(n);
    /* Unsqueeze 11: attribute */
    n = oh_new("Unsqueeze", 11);
    oh_attr_ints(n, "axes", (int64_t[]){1}, 1);
    oh_input(n, E2E_INT64, 4, d, x, false);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 5, (int64_t[]){1, 1, 3, 1, 2});
    oh_free(n);
    /* Flatten with a negative axis */
    n = oh_new("Flatten", 13);
    oh_attr_int(n, "axis", -1);
    oh_input(n, E2E_INT64, 4, d, x, false);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 2, (int64_t[]){3, 2});
    assert_memory_equal(y.data, x, 48);
    oh_free(n);
    free(x);
}

/* ------------------------------------------------------------------ generators */

static void test_expand_tile(void **state)
{
    (void)state;
    int64_t d[2] = {3, 1};
    int32_t x[3] = {10, 20, 30};
    e2e_tensor_view y;
    e2e_error err;
    /* Expand: 3x1 with shape 2x1x4 -> 2x3x4 */
    oh_node *n = oh_new("Expand", 13);
    oh_input(n, E2E_INT32, 2, d, x, false);
    oh_input(n, E2E_INT64, 1, (int64_t[]){3}, (int64_t[]){2, 1, 4}, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 3, (int64_t[]){2, 3, 4});
    for (int i = 0; i < 24; i++)
        assert_int_equal(((int32_t *)y.data)[i], x[(i / 4) % 3]);
    oh_free(n);
    /* Tile: 3x1 repeated 2x3 -> 6x3 */
    n = oh_new("Tile", 13);
    oh_input(n, E2E_INT32, 2, d, x, false);
    oh_input(n, E2E_INT64, 1, (int64_t[]){2}, (int64_t[]){2, 3}, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 2, (int64_t[]){6, 3});
    for (int i = 0; i < 18; i++)
        assert_int_equal(((int32_t *)y.data)[i], x[(i / 3) % 3]);
    oh_free(n);
    /* Tile of a 2x3 by 2x2 */
    int64_t d2[2] = {2, 3};
    int32_t x2[6] = {0, 1, 2, 3, 4, 5};
    n = oh_new("Tile", 13);
    oh_input(n, E2E_INT32, 2, d2, x2, false);
    oh_input(n, E2E_INT64, 1, (int64_t[]){2}, (int64_t[]){2, 2}, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 2, (int64_t[]){4, 6});
    for (int i = 0; i < 24; i++)
        assert_int_equal(((int32_t *)y.data)[i], x2[(i / 6 % 2) * 3 + i % 3]);
    oh_free(n);
}

static void test_range_constantofshape_shape(void **state)
{
    (void)state;
    e2e_tensor_view y;
    e2e_error err;
    /* Range int64 negative delta: 10, 7, 4, 1 */
    oh_node *n = oh_new("Range", 11);
    int64_t a = 10, b = -1, c = -3;
    oh_input(n, E2E_INT64, 0, NULL, &a, true);
    oh_input(n, E2E_INT64, 0, NULL, &b, true);
    oh_input(n, E2E_INT64, 0, NULL, &c, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 1, (int64_t[]){4});
    assert_memory_equal(y.data, ((int64_t[]){10, 7, 4, 1}), 32);
    oh_free(n);
    /* Range float, empty */
    n = oh_new("Range", 11);
    float fa = 1.f, fb = 0.f, fc = 0.5f;
    oh_input(n, E2E_FLOAT, 0, NULL, &fa, true);
    oh_input(n, E2E_FLOAT, 0, NULL, &fb, true);
    oh_input(n, E2E_FLOAT, 0, NULL, &fc, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 1, (int64_t[]){0});
    oh_free(n);
    /* ConstantOfShape default: float zeros */
    n = oh_new("ConstantOfShape", 9);
    oh_input(n, E2E_INT64, 1, (int64_t[]){2}, (int64_t[]){2, 3}, true);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    assert_int_equal(y.dtype, E2E_FLOAT);
    expect_shape(&y, 2, (int64_t[]){2, 3});
    for (int i = 0; i < 6; i++)
        assert_true(((float *)y.data)[i] == 0.f);
    oh_free(n);
    /* Shape 15 with start/end of a graph input; Size */
    int64_t d[4] = {2, 3, 4, 5};
    float *x = calloc(120, sizeof(float));
    n = oh_new("Shape", 15);
    oh_attr_int(n, "start", 1);
    oh_attr_int(n, "end", -1);
    oh_input(n, E2E_FLOAT, 4, d, x, false);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    expect_shape(&y, 1, (int64_t[]){2});
    assert_memory_equal(y.data, ((int64_t[]){3, 4}), 16);
    oh_free(n);
    n = oh_new("Size", 13);
    oh_input(n, E2E_FLOAT, 4, d, x, false);
    assert_int_equal(oh_run(n, 1, &y, &err), E2E_OK);
    assert_int_equal(y.rank, 0);
    assert_int_equal(*(int64_t *)y.data, 120);
    oh_free(n);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_random),
        cmocka_unit_test(test_transpose_bad_perm),
        cmocka_unit_test(test_slice_random),
        cmocka_unit_test(test_slice_attributes),
        cmocka_unit_test(test_concat_split_roundtrip),
        cmocka_unit_test(test_split_forms),
        cmocka_unit_test(test_pad_modes_rank3),
        cmocka_unit_test(test_pad_attribute_form),
        cmocka_unit_test(test_gather_negative_indices),
        cmocka_unit_test(test_gather_out_of_range),
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_reshape_errors),
        cmocka_unit_test(test_squeeze_unsqueeze_flatten),
        cmocka_unit_test(test_expand_tile),
        cmocka_unit_test(test_range_constantofshape_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
