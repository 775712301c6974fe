/* Einsum (ops_einsum.c) against a naive loop over every label's range, on random sizes, for
   the equations torch exports (attention, message passing) and the one-operand forms
   (transpose, diagonal, trace, sums); plus the refusals, which name the equation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

static uint64_t rng = 4242;

/* op_harness.h\'s helpers on this file\'s random stream and tolerances */
#define rnd(lo, hi) oh_rand_int(lo, hi, &rng)

/* The reference: `ref` is the equation in letters only, explicit output ("ab,bc->ac"). Loops
   over all assignments of the labels and accumulates the products into the output. */
static void naive(const char *ref, const int *size, int n_in, const float *const *x, float *y,
                  int64_t ny)
{
    char terms[3][16] = {{0}};
    int t = 0, j = 0;
    for (const char *c = ref; *c; c++) {
        if (*c == ',' || *c == '-') {
            terms[t++][j] = 0;
            j = 0;
            if (*c == '-')
                c++;
            continue;
        }
        terms[t][j++] = *c;
    }
    terms[t][j] = 0;
    char labels[26];
    int nl = 0;
    for (int i = 0; i <= n_in; i++)
        for (const char *c = terms[i]; *c; c++)
            if (!memchr(labels, *c, (size_t)nl))
                labels[nl++] = *c;
    memset(y, 0, sizeof(float) * (size_t)ny);
    int idx[26] = {0};
    for (;;) {
        double prod = 1.0;
        for (int i = 0; i <= n_in; i++) {
            int64_t off = 0;
            for (const char *c = terms[i]; *c; c++) {
                int l = (int)((const char *)memchr(labels, *c, (size_t)nl) - labels);
                off = off * size[*c - 'a'] + idx[l];
            }
            if (i < n_in)
                prod *= x[i][off];
            else
                y[off] += (float)prod;
        }
        int d = nl - 1;
        for (; d >= 0; d--) {
            if (++idx[d] < size[labels[d] - 'a'])
                break;
            idx[d] = 0;
        }
        if (d < 0)
            break;
    }
}

/* Shape of a term (letters) under the sizes. */
static int term_shape(const char *ref, int which, const int *size, int64_t *dims)
{
    int t = 0, r = 0;
    for (const char *c = ref; *c; c++) {
        if (*c == ',' || *c == '-') {
            t++;
            if (*c == '-')
                c++;
            continue;
        }
        if (t == which)
            dims[r++] = size[*c - 'a'];
    }
    return r;
}

typedef struct ecase {
    const char *eq;     /* what the node gets */
    const char *ref;    /* the same in letters, explicit */
    int n_in;
} ecase;

/* Runs the cases on random sizes 1..5 (trial 3: 1..9; trial 4: the letters b, h, q, k, d, i,
   j large enough that each product is split over the threads instead of the batches). */
static void test_einsum_random(void **state)
{
    (void)state;
    static const ecase cases[] = {
        {"bij,bjk->bik", "bij,bjk->bik", 2},
        {"bhqd,bhkd->bhqk", "bhqd,bhkd->bhqk", 2},
        {"bhqk,bhkd->bhqd", "bhqk,bhkd->bhqd", 2},
        {"ij,jk", "ij,jk->ik", 2},
        {"bi,bi->b", "bi,bi->b", 2},
        {"bnc,bnkc->bnk", "bnc,bnkc->bnk", 2},
        {"bnk,bnkc->bnc", "bnk,bnkc->bnc", 2},
        {"ij,kj->ik", "ij,kj->ik", 2},
        {"ji,jk->ki", "ji,jk->ki", 2},
        {"i,j->ij", "i,j->ij", 2},
        {"ij,ij->", "ij,ij->", 2},
        {"bij,bkj->bjik", "bij,bkj->bjik", 2},
        {"ijk,jl->il", "ijk,jl->il", 2},            /* k summed out of A alone */
        {"iij,jk->ik", "iij,jk->ik", 2},            /* a diagonal of A */
        {"...ij,...jk->...ik", "xyij,yjk->xyik", 2},
        {"bij->bji", "bij->bji", 1},
        {"ii->i", "ii->i", 1},
        {"ii", "ii->", 1},
        {"ij->", "ij->", 1},
        {"ij->i", "ij->i", 1},
        {"ij", "ij->ij", 1},
        {"ji", "ji->ij", 1},
        {"...ii->...i", "xyii->xyi", 1},
        {" b i j , b j k -> b i k ", "bij,bjk->bik", 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int trial = 0; trial < 5; trial++) {
            int size[26];
            for (int l = 0; l < 26; l++)
                size[l] = rnd(1, trial == 3 ? 9 : 5);
            const ecase *e = &cases[c];
            if (trial == 4) {
                if (strcmp(e->ref, "bhqd,bhkd->bhqk") && strcmp(e->ref, "bhqk,bhkd->bhqd") &&
                    strcmp(e->ref, "ij,jk->ik"))
                    continue;
                size['b' - 'a'] = 2;
                size['h' - 'a'] = 2;
                size['q' - 'a'] = size['k' - 'a'] = size['d' - 'a'] = 67;
                size['i' - 'a'] = size['j' - 'a'] = 70;
            }
            oh_node *n = oh_new("Einsum", 12);
            oh_attr_string(n, "equation", e->eq);
            float *x[2] = {NULL, NULL};
            for (int i = 0; i < e->n_in; i++) {
                int64_t dims[8];
                int r = term_shape(e->ref, i, size, dims);
                int64_t m = 1;
                for (int d = 0; d < r; d++)
                    m *= dims[d];
                x[i] = malloc(sizeof(float) * (size_t)m);
                oh_fill_random(x[i], m, -1.f, 1.f, &rng);
                oh_input(n, E2E_FLOAT, r, dims, x[i], trial == 2 && i == 1);
            }
            int64_t od[8];
            int orank = term_shape(e->ref, e->n_in, size, od);
            int64_t ny = 1;
            for (int d = 0; d < orank; d++)
                ny *= od[d];
            float *ref = malloc(sizeof(float) * (size_t)ny);
            naive(e->ref, size, e->n_in, (const float *const *)x, ref, ny);
            e2e_tensor_view out;
            e2e_error err;
            e2e_session_options opt = e2e_session_options_default();
            opt.threads = trial % 2 ? 3 : 1;
            if (oh_run_opt(n, 1, &out, &opt, &err))
                fail_msg("%s: %s", e->eq, err.message);
            if (out.rank != orank)
                fail_msg("%s: output rank %d, expected %d", e->eq, out.rank, orank);
            for (int d = 0; d < orank; d++)
                if (out.dims[d] != od[d])
                    fail_msg("%s: output dim %d is %lld, expected %lld", e->eq, d,
                             (long long)out.dims[d], (long long)od[d]);
            double r = oh_max_err_ratio(out.data, ref, ny, 1e-5, 1e-5);
            if (r > 1.0)
                fail_msg("%s (trial %d): error ratio %g", e->eq, trial, r);
            oh_free(n);
            free(ref);
            free(x[0]);
            free(x[1]);
        }
}

static void expect_refused(const char *eq, int n_in, e2e_status want)
{
    oh_node *n = oh_new("Einsum", 12);
    oh_attr_string(n, "equation", eq);
    float x[4] = {1, 2, 3, 4};
    for (int i = 0; i < n_in; i++)
        oh_input(n, E2E_FLOAT, 2, (int64_t[]){2, 2}, x, false);
    e2e_tensor_view out;
    e2e_error err;
    assert_int_equal(oh_run(n, 1, &out, &err), want);
    if (!strstr(err.message, eq))
        fail_msg("message does not name the equation \"%s\": %s", eq, err.message);
    oh_free(n);
}

static void test_einsum_refused(void **state)
{
    (void)state;
    expect_refused("ij,jk,kl->il", 3, E2E_ERR_UNSUPPORTED); /* three operands */
    expect_refused("ijk,jk->ik", 2, E2E_ERR_SHAPE);         /* three labels for rank 2 */
    expect_refused("ij,jk->iz", 2, E2E_ERR_INVALID);        /* output label in no input */
    expect_refused("i1,jk->ik", 2, E2E_ERR_INVALID);        /* not a letter */
    expect_refused("ij,jk->ii", 2, E2E_ERR_INVALID);        /* repeated output label */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_einsum_random),
        cmocka_unit_test(test_einsum_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
