/* Einsum (opset 12), float32, one or two operands.

   The equation is parsed at prepare: terms of letters (case matters) with at most one
   "..." each, explicit ("->" and an output term) or implicit output (the ellipsis dims,
   then the letters seen exactly once, in ASCII order). Spaces are ignored. A label of size
   1 broadcasts against the same label elsewhere; ellipsis dims align from the right as in
   numpy. A letter repeated within a term takes that term's diagonal.

   One operand: the output is a strided sum over the labels absent from the output
   (transpose, diagonal, trace, axis sums are all this).
   Two operands: every label is one of
     batch  in both operands and the output     M  in A and the output only
     K      in both operands, not the output    N  in B and the output only
   and a label in one operand only and not in the output is summed out of that operand
   first. A is brought to [batch, M, K] and B to [batch, K, N] (a strided copy into the
   workspace, skipped when the operand already has that layout or its transposed one: the
   attention products "bhqd,bhkd->bhqk" and "bhqk,bhkd->bhqd" read their inputs in place),
   then the products: one sgemm per batch, split over the threads, when they are large; the
   batches split over the threads (one single-threaded product or dot product each) when
   they are small. The [batch, M, N] result is then permuted into the output unless the
   output's label order is already batch, M, N.
   More than two operands are refused with E2E_ERR_UNSUPPORTED naming the equation. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "ops/blas.h"
#include "ops/op.h"
#include "ops/shape_internal.h"

/* Label ids: 'A'..'Z' are 0..25, 'a'..'z' 26..51 (id order is ASCII order); the dims of an
   ellipsis are ELL0 + E2E_MAX_RANK - e + j for its j-th of e dims (right-aligned). */
#define ELL0 52
#define N_LABELS (ELL0 + E2E_MAX_RANK)
#define MAX_LIST (2 * E2E_MAX_RANK)

typedef struct term {
    int n;                      /* dims after expanding the ellipsis */
    int lab[E2E_MAX_RANK];
} term;

/* dst[keep index] = sum over the reduced index of src[...]: both index spaces are odometers
   over dims with element strides into src; dst is contiguous in keep order. */
typedef struct ssum {
    int nk, nr;
    int64_t nkeep, nred;
    int64_t kd[MAX_LIST], ks[MAX_LIST], rd[MAX_LIST], rs[MAX_LIST];
    bool copy;                  /* nothing reduced: an e2e_xcopy does it */
    e2e_xcopy xc;
} ssum;

typedef struct ein_priv {
    int n_in;
    ssum single;                /* one operand: input -> output */
    /* two operands */
    bool zero;                  /* K is empty: the output is zeros */
    int64_t nb;                 /* batch count */
    int M, N, K;
    bool a_direct, b_direct, c_direct;
    bool ta, tb;                /* direct operand read transposed */
    ssum ga, gb;                /* operand -> [batch, M, K] / [batch, K, N] when not direct */
    ssum gc;                    /* [batch, M, N] -> output when not direct */
    size_t off_a, off_b, off_c; /* workspace offsets */
} ein_priv;

static int64_t list_numel(int n, const int64_t *d)
{
    int64_t m = 1;
    for (int i = 0; i < n; i++)
        m *= d[i];
    return m;
}

static void ssum_init(ssum *s, int nk, const int64_t *kd, const int64_t *ks, int nr,
                      const int64_t *rd, const int64_t *rs)
{
    memset(s, 0, sizeof *s);
    s->nk = nk;
    s->nr = nr;
    if (nk) { /* the lists may be NULL when empty */
        memcpy(s->kd, kd, sizeof(int64_t) * (size_t)nk);
        memcpy(s->ks, ks, sizeof(int64_t) * (size_t)nk);
    }
    if (nr) {
        memcpy(s->rd, rd, sizeof(int64_t) * (size_t)nr);
        memcpy(s->rs, rs, sizeof(int64_t) * (size_t)nr);
    }
    s->nkeep = list_numel(nk, kd);
    s->nred = list_numel(nr, rd);
    s->copy = nr == 0 || s->nred == 1;
    if (s->copy) {
        int64_t os[MAX_LIST];
        int64_t m = 1;
        for (int i = nk - 1; i >= 0; i--) {
            os[i] = m;
            m *= kd[i];
        }
        e2e_xcopy_init(&s->xc, nk, kd, ks, os, 0, 0, sizeof(float));
    }
}

static void ssum_run(const ssum *s, const float *src, float *dst)
{
    if (s->copy) {
        e2e_xcopy_run(&s->xc, src, dst);
        return;
    }
    int64_t ki[MAX_LIST] = {0}, koff = 0;
    for (int64_t o = 0; o < s->nkeep; o++) {
        double acc = 0.0;
        if (s->nred) {
            int64_t ri[MAX_LIST] = {0}, roff = 0;
            const int L = s->nr - 1;
            for (;;) {
                const float *p = src + koff + roff;
                for (int64_t j = 0; j < s->rd[L]; j++)
                    acc += p[j * s->rs[L]];
                int d = L - 1;
                for (; d >= 0; d--) {
                    roff += s->rs[d];
                    if (++ri[d] < s->rd[d])
                        break;
                    roff -= s->rs[d] * s->rd[d];
                    ri[d] = 0;
                }
                if (d < 0)
                    break;
            }
        }
        dst[o] = (float)acc;
        for (int d = s->nk - 1; d >= 0; d--) {
            koff += s->ks[d];
            if (++ki[d] < s->kd[d])
                break;
            koff -= s->ks[d] * s->kd[d];
            ki[d] = 0;
        }
    }
}

/* ---------------------------------------------------------------- parsing */

static int letter_id(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + c - 'a';
    return -1;
}

/* Parses one term from s[0..len) for an operand of rank `rank` (rank < 0: the output, whose
   ellipsis has ell dims). */
static e2e_status parse_term(e2e_kernel *k, const char *eq, const char *s, size_t len, int rank,
                             int ell, term *t, int *ell_out)
{
    int letters = 0, has_ell = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            continue;
        if (s[i] == '.') {
            if (has_ell || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return e2e_kfail(k, E2E_ERR_INVALID, "equation \"%s\": malformed ellipsis", eq);
            has_ell = 1;
            i += 2;
            continue;
        }
        if (letter_id(s[i]) < 0)
            return e2e_kfail(k, E2E_ERR_INVALID, "equation \"%s\": '%c' is not a letter", eq, s[i]);
        letters++;
    }
    int e = rank < 0 ? (has_ell ? ell : 0) : rank - letters;
    if (rank >= 0 && (e < 0 || (!has_ell && e != 0)))
        return e2e_kfail(k, E2E_ERR_SHAPE, "equation \"%s\": a term has %d labels for an input "
                         "of rank %d", eq, letters, rank);
    if (letters + e > E2E_MAX_RANK)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "equation \"%s\": more than %d output dims", eq,
                         E2E_MAX_RANK);
    t->n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            continue;
        if (s[i] == '.') {
            for (int j = 0; j < e; j++)
                t->lab[t->n++] = ELL0 + E2E_MAX_RANK - e + j;
            i += 2;
            continue;
        }
        t->lab[t->n++] = letter_id(s[i]);
    }
    if (ell_out)
        *ell_out = has_ell ? e : 0;
    return E2E_OK;
}

/* Index of label l in t, or -1. */
static int term_find(const term *t, int l)
{
    for (int i = 0; i < t->n; i++)
        if (t->lab[i] == l)
            return i;
    return -1;
}

/* Element stride of label l in operand x with term t: the sum of the strides of its dims
   (a diagonal when repeated), 0 when the operand broadcasts it (size 1). */
static int64_t label_stride(const term *t, const e2e_value *x, int l)
{
    int64_t str[E2E_MAX_RANK], s = 0;
    e2e_contig_strides(&x->shape, str);
    for (int i = 0; i < t->n; i++)
        if (t->lab[i] == l && x->shape.dims[i] != 1)
            s += str[i];
    return s;
}

/* The operand's dims are exactly the labels `want` (no repeat, no broadcast) */
static bool layout_is(const term *t, const e2e_value *x, const int64_t *size, const int *want,
                      int n)
{
    if (t->n != n)
        return false;
    for (int i = 0; i < n; i++)
        if (t->lab[i] != want[i] || x->shape.dims[i] != size[want[i]])
            return false;
    return true;
}

/* Gather of operand x (term t) into contiguous `keep` order, summing labels `red`. */
static void gather_init(ssum *s, const term *t, const e2e_value *x, const int64_t *size,
                        const int *keep, int nk, const int *red, int nr)
{
    int64_t kd[MAX_LIST], ks[MAX_LIST], rd[MAX_LIST], rs[MAX_LIST];
    for (int i = 0; i < nk; i++) {
        kd[i] = size[keep[i]];
        ks[i] = label_stride(t, x, keep[i]);
    }
    for (int i = 0; i < nr; i++) {
        rd[i] = size[red[i]];
        rs[i] = label_stride(t, x, red[i]);
    }
    ssum_init(s, nk, kd, ks, nr, rd, rs);
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static e2e_status einsum_prepare(e2e_kernel *k)
{
    e2e_status st;
    const char *eq;
    if ((st = e2e_check_inputs(k, 1, k->n_in > 0 ? k->n_in : 1)) ||
        (st = e2e_attr_string(k, "equation", NULL, &eq)))
        return st;
    if (!eq)
        return e2e_kfail(k, E2E_ERR_INVALID, "attribute 'equation' is required");
    if (k->n_in > 2)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "equation \"%s\": %d operands; at most two are "
                         "supported", eq, k->n_in);
    for (int i = 0; i < k->n_in; i++) {
        if (!k->in[i])
            return e2e_kfail(k, E2E_ERR_INVALID, "input %d is missing", i);
        if (k->in[i]->dtype != E2E_FLOAT)
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "equation \"%s\": input %d is %s; only "
                             "float is supported", eq, i, e2e_dtype_name(k->in[i]->dtype));
    }
    /* split "lhs->rhs" and the lhs at commas */
    const char *arrow = strstr(eq, "->");
    const char *lhs_end = arrow ? arrow : eq + strlen(eq);
    term in[2], out;
    int n_terms = 0, ell_max = 0;
    for (const char *s = eq; s <= lhs_end;) {
        const char *c = s;
        while (c < lhs_end && *c != ',')
            c++;
        if (n_terms >= k->n_in)
            return e2e_kfail(k, E2E_ERR_INVALID, "equation \"%s\" has more terms than the %d "
                             "inputs", eq, k->n_in);
        int e;
        if ((st = parse_term(k, eq, s, (size_t)(c - s), k->in[n_terms]->shape.rank, 0,
                             &in[n_terms], &e)))
            return st;
        if (e > ell_max)
            ell_max = e;
        n_terms++;
        s = c + 1;
    }
    if (n_terms != k->n_in)
        return e2e_kfail(k, E2E_ERR_INVALID, "equation \"%s\" has %d terms for %d inputs", eq,
                         n_terms, k->n_in);
    /* label sizes (a label of size 1 broadcasts) */
    int64_t size[N_LABELS];
    int count[N_LABELS] = {0};
    for (int l = 0; l < N_LABELS; l++)
        size[l] = -1;
    for (int i = 0; i < k->n_in; i++) {
        int64_t own[N_LABELS];
        for (int l = 0; l < N_LABELS; l++)
            own[l] = -1;
        for (int d = 0; d < in[i].n; d++) {
            int l = in[i].lab[d];
            int64_t v = k->in[i]->shape.dims[d];
            if (own[l] >= 0 && own[l] != v)
                return e2e_kfail(k, E2E_ERR_SHAPE, "equation \"%s\": a diagonal of input %d "
                                 "over dims of sizes %lld and %lld", eq, i, (long long)own[l],
                                 (long long)v);
            if (own[l] < 0)
                count[l]++;
            own[l] = v;
            if (size[l] < 0 || size[l] == 1)
                size[l] = v;
            else if (v != 1 && v != size[l])
                return e2e_kfail(k, E2E_ERR_SHAPE, "equation \"%s\": a label has sizes %lld "
                                 "and %lld", eq, (long long)size[l], (long long)v);
        }
    }
    if (arrow) {
        if ((st = parse_term(k, eq, arrow + 2, strlen(arrow + 2), -1, ell_max, &out, NULL)))
            return st;
        bool seen[N_LABELS] = {false};
        for (int d = 0; d < out.n; d++) {
            int l = out.lab[d];
            if (size[l] < 0 || seen[l])
                return e2e_kfail(k, E2E_ERR_INVALID, "equation \"%s\": output label '%c' is %s",
                                 eq, l < 26 ? 'A' + l : 'a' + l - 26,
                                 seen[l] ? "repeated" : "not in any input");
            seen[l] = true;
        }
    } else {
        /* implicit: ellipsis dims, then the letters seen once, in ASCII order */
        out.n = 0;
        for (int l = ELL0; l < N_LABELS; l++)
            if (size[l] >= 0)
                out.lab[out.n++] = l;
        for (int l = 0; l < ELL0; l++) {
            int total = 0;
            for (int i = 0; i < k->n_in; i++)
                for (int d = 0; d < in[i].n; d++)
                    total += in[i].lab[d] == l;
            if (total == 1) {
                if (out.n == E2E_MAX_RANK)
                    return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "equation \"%s\": more than %d "
                                     "output dims", eq, E2E_MAX_RANK);
                out.lab[out.n++] = l;
            }
        }
    }
    e2e_shape os = {.rank = out.n};
    for (int d = 0; d < out.n; d++)
        os.dims[d] = size[out.lab[d]];
    if ((st = e2e_out_set(k, 0, E2E_FLOAT, &os)))
        return st;
    ein_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    k->priv = p;
    p->n_in = k->n_in;

    if (k->n_in == 1) {
        int red[E2E_MAX_RANK], nr = 0;
        bool done[N_LABELS] = {false};
        for (int d = 0; d < in[0].n; d++) {
            int l = in[0].lab[d];
            if (term_find(&out, l) < 0 && !done[l])
                red[nr++] = l;
            done[l] = true;
        }
        gather_init(&p->single, &in[0], k->in[0], size, out.lab, out.n, red, nr);
        return E2E_OK;
    }

    /* two operands: classify labels */
    int bl[MAX_LIST], ml[MAX_LIST], nl[MAX_LIST], kl[MAX_LIST], ra[MAX_LIST], rb[MAX_LIST];
    int nbl = 0, nml = 0, nnl = 0, nkl = 0, nra = 0, nrb = 0;
    for (int d = 0; d < out.n; d++) {
        int l = out.lab[d];
        bool ia = term_find(&in[0], l) >= 0, ib = term_find(&in[1], l) >= 0;
        if (ia && ib)
            bl[nbl++] = l;
        else if (ia)
            ml[nml++] = l;
        else
            nl[nnl++] = l;
    }
    bool done[N_LABELS] = {false};
    for (int i = 0; i < 2; i++)
        for (int d = 0; d < in[i].n; d++) {
            int l = in[i].lab[d];
            if (done[l] || term_find(&out, l) >= 0)
                continue;
            done[l] = true;
            bool other = term_find(&in[1 - i], l) >= 0;
            if (other)
                kl[nkl++] = l;
            else if (i == 0)
                ra[nra++] = l;
            else
                rb[nrb++] = l;
        }
    int64_t nb = 1, M = 1, N = 1, K = 1;
    for (int i = 0; i < nbl; i++)
        nb *= size[bl[i]];
    for (int i = 0; i < nml; i++)
        M *= size[ml[i]];
    for (int i = 0; i < nnl; i++)
        N *= size[nl[i]];
    for (int i = 0; i < nkl; i++)
        K *= size[kl[i]];
    if (M > 0x7fffffff || N > 0x7fffffff || K > 0x7fffffff)
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "equation \"%s\": a product dimension exceeds "
                         "2^31", eq);
    p->nb = nb;
    p->M = (int)M;
    p->N = (int)N;
    p->K = (int)K;
    p->zero = K == 0;
    if (list_numel(os.rank, os.dims) == 0)
        return E2E_OK;

    /* A as [batch, M, K], or [batch, K, M] read transposed; B as [batch, K, N] or [batch, N, K] */
    int want[3 * MAX_LIST], nw = 0;
    size_t ws = 0;
    memcpy(want, bl, sizeof(int) * (size_t)nbl);
    nw = nbl;
    memcpy(want + nw, ml, sizeof(int) * (size_t)nml);
    memcpy(want + nw + nml, kl, sizeof(int) * (size_t)nkl);
    if (layout_is(&in[0], k->in[0], size, want, nbl + nml + nkl)) {
        p->a_direct = true;
    } else {
        memcpy(want + nw, kl, sizeof(int) * (size_t)nkl);
        memcpy(want + nw + nkl, ml, sizeof(int) * (size_t)nml);
        if (layout_is(&in[0], k->in[0], size, want, nbl + nml + nkl)) {
            p->a_direct = p->ta = true;
        } else {
            memcpy(want + nw, ml, sizeof(int) * (size_t)nml);
            memcpy(want + nw + nml, kl, sizeof(int) * (size_t)nkl);
            gather_init(&p->ga, &in[0], k->in[0], size, want, nbl + nml + nkl, ra, nra);
            p->off_a = ws;
            ws += align64(sizeof(float) * (size_t)(nb * M * K));
        }
    }
    memcpy(want + nw, kl, sizeof(int) * (size_t)nkl);
    memcpy(want + nw + nkl, nl, sizeof(int) * (size_t)nnl);
    if (layout_is(&in[1], k->in[1], size, want, nbl + nkl + nnl)) {
        p->b_direct = true;
    } else {
        memcpy(want + nw, nl, sizeof(int) * (size_t)nnl);
        memcpy(want + nw + nnl, kl, sizeof(int) * (size_t)nkl);
        if (layout_is(&in[1], k->in[1], size, want, nbl + nkl + nnl)) {
            p->b_direct = p->tb = true;
        } else {
            memcpy(want + nw, kl, sizeof(int) * (size_t)nkl);
            memcpy(want + nw + nkl, nl, sizeof(int) * (size_t)nnl);
            gather_init(&p->gb, &in[1], k->in[1], size, want, nbl + nkl + nnl, rb, nrb);
            p->off_b = ws;
            ws += align64(sizeof(float) * (size_t)(nb * K * N));
        }
    }
    /* the output: [batch, M, N] in place when its labels come in that order */
    memcpy(want + nw, ml, sizeof(int) * (size_t)nml);
    memcpy(want + nw + nml, nl, sizeof(int) * (size_t)nnl);
    p->c_direct = !memcmp(want, out.lab, sizeof(int) * (size_t)out.n);
    if (!p->c_direct) {
        /* strides of each output label inside the [batch, M, N] buffer */
        int64_t kd[E2E_MAX_RANK], ks[E2E_MAX_RANK], cstr[3 * MAX_LIST], m = 1;
        int nc = nbl + nml + nnl;
        for (int i = nc - 1; i >= 0; i--) {
            cstr[i] = m;
            m *= size[want[i]];
        }
        for (int d = 0; d < out.n; d++) {
            int j = 0;
            while (want[j] != out.lab[d])
                j++;
            kd[d] = size[out.lab[d]];
            ks[d] = cstr[j];
        }
        ssum_init(&p->gc, out.n, kd, ks, 0, NULL, NULL);
        p->off_c = ws;
        ws += align64(sizeof(float) * (size_t)(nb * M * N));
    }
    k->ws_size = ws;
    return E2E_OK;
}

/* Below this many multiply-adds per batch, products are not worth splitting over threads. */
#define SMALL_PRODUCT (64 * 64 * 64)

typedef struct batch_ctx {
    const ein_priv *p;
    const float *A, *B;
    float *C;
} batch_ctx;

static void batch_task(void *v, int t, int n_tasks)
{
    const batch_ctx *c = v;
    const ein_priv *p = c->p;
    const int M = p->M, N = p->N, K = p->K;
    const int64_t mk = (int64_t)M * K, kn = (int64_t)K * N, mn = (int64_t)M * N;
    const int64_t b0 = p->nb * t / n_tasks, b1 = p->nb * (t + 1) / n_tasks;
    for (int64_t b = b0; b < b1; b++) {
        const float *a = c->A + b * mk, *bb = c->B + b * kn;
        float *y = c->C + b * mn;
        if (M == 1 && N == 1) /* a dot product, whatever the transposition */
            *y = cblas_sdot(K, a, 1, bb, 1);
        else
            cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans,
                        p->tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f, a, p->ta ? M : K, bb,
                        p->tb ? K : N, 0.f, y, N);
    }
}

static e2e_status einsum_run(e2e_kernel *k)
{
    const ein_priv *p = k->priv;
    float *y = k->out[0]->data;
    if (k->out[0]->numel == 0)
        return E2E_OK;
    if (p->n_in == 1) {
        ssum_run(&p->single, k->in[0]->data, y);
        return E2E_OK;
    }
    if (p->zero) {
        memset(y, 0, sizeof(float) * (size_t)k->out[0]->numel);
        return E2E_OK;
    }
    char *ws = k->ws;
    const float *A = k->in[0]->data, *B = k->in[1]->data;
    if (!p->a_direct) {
        ssum_run(&p->ga, A, (float *)(ws + p->off_a));
        A = (const float *)(ws + p->off_a);
    }
    if (!p->b_direct) {
        ssum_run(&p->gb, B, (float *)(ws + p->off_b));
        B = (const float *)(ws + p->off_b);
    }
    float *C = p->c_direct ? y : (float *)(ws + p->off_c);
    const int64_t work = (int64_t)p->M * p->N * p->K;
    if (p->nb == 1 || work >= SMALL_PRODUCT) {
        /* large products: each one split over the threads (blas.c) */
        const int64_t mk = (int64_t)p->M * p->K, kn = (int64_t)p->K * p->N;
        const int64_t mn = (int64_t)p->M * p->N;
        for (int64_t b = 0; b < p->nb; b++)
            e2e_sgemm(k->ctx->pool, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans,
                      p->M, p->N, p->K, 1.f, A + b * mk, p->ta ? p->M : p->K, B + b * kn,
                      p->tb ? p->K : p->N, 0.f, C + b * mn, p->N);
    } else {
        /* many small products (attention heads, message passing): the batches are split
           over the threads, one single-threaded product each */
        int threads = e2e_pool_threads(k->ctx->pool);
        int tasks = p->nb < (int64_t)threads * 4 ? (int)p->nb : threads * 4;
        batch_ctx c = {p, A, B, C};
        e2e_pool_run(k->ctx->pool, batch_task, &c, tasks);
    }
    if (!p->c_direct)
        ssum_run(&p->gc, C, y);
    return E2E_OK;
}

const e2e_op_def e2e_ops_einsum[] = {
    {"Einsum", einsum_prepare, einsum_run, free, 0},
    {0},
};
