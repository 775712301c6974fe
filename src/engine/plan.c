/* Lifetime-based arena planning (greedy by size, first fit among blocks whose lifetimes
   overlap), after aliasing reshape-like nodes and running elementwise nodes in place. */
#include <stdlib.h>
#include <string.h>

#include "engine/plan.h"

typedef struct block {
    int root;
    int first, last;     /* kernel indices */
    size_t size, offset;
} block;

static int find_root(const e2e_session *s, int v)
{
    while (s->root[v] != v)
        v = s->root[v];
    return v;
}

static bool is_temp(const e2e_value *v) { return !v->is_const && !v->is_input; }

static bool graph_output(const e2e_session *s, int v)
{
    for (int i = 0; i < s->model->graph.n_outputs; i++)
        if (find_root(s, s->model->graph.outputs[i]) == v)
            return true;
    return false;
}

static int cmp_block(const void *a, const void *b)
{
    const block *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->first - y->first;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Last kernel reading any value of each root; n_kernels for graph outputs. */
static void compute_last_use(const e2e_session *s, int *last)
{
    for (int i = 0; i < s->n_values; i++)
        last[i] = -1;
    for (int i = 0; i < s->n_kernels; i++) {
        const e2e_kernel *k = &s->kernels[i];
        for (int j = 0; j < k->n_in; j++)
            if (k->in[j]) {
                int r = find_root(s, (int)(k->in[j] - s->values));
                if (last[r] < i)
                    last[r] = i;
            }
        for (int j = 0; j < k->n_out; j++)
            if (k->out[j]) {
                int r = find_root(s, (int)(k->out[j] - s->values));
                if (last[r] < i)
                    last[r] = i;
            }
    }
    for (int i = 0; i < s->model->graph.n_outputs; i++)
        last[find_root(s, s->model->graph.outputs[i])] = s->n_kernels;
}

e2e_status e2e_plan_memory(e2e_session *s, e2e_error *err)
{
    int nv = s->n_values;
    int *last = malloc(sizeof(int) * ((size_t)nv + 1));
    int *first = malloc(sizeof(int) * ((size_t)nv + 1));
    block *blocks = malloc(sizeof(block) * ((size_t)nv + 1));
    e2e_status st = E2E_OK;
    if (!last || !first || !blocks) {
        st = e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory while planning", s->model->name);
        goto done;
    }

    /* 1. reshape-like nodes: the output is the input's bytes; the node disappears */
    int w = 0;
    for (int i = 0; i < s->n_kernels; i++) {
        e2e_kernel *k = &s->kernels[i];
        if ((k->op->flags & E2E_OP_ALIAS) && k->in[0] && k->out[0] && is_temp(k->in[0]) &&
            k->in[0]->dtype == k->out[0]->dtype && k->in[0]->numel == k->out[0]->numel) {
            int o = (int)(k->out[0] - s->values);
            s->root[o] = find_root(s, (int)(k->in[0] - s->values));
            bool other_outputs = false;
            for (int j = 1; j < k->n_out; j++)
                other_outputs |= k->out[j] != NULL;
            if (!other_outputs) {
                e2e_kernel_remove(k); /* its output is its input's bytes */
                s->n_aliased++;
                continue;
            }
        }
        s->kernels[w++] = *k;
    }
    s->n_kernels = w;

    /* 2. in place: an elementwise node may write over an input that dies with it */
    if (s->opt.optimize) {
        compute_last_use(s, last);
        for (int i = 0; i < s->n_kernels; i++) {
            e2e_kernel *k = &s->kernels[i];
            if (!(k->op->flags & E2E_OP_INPLACE) || !k->in[0] || !k->out[0] || !is_temp(k->in[0]))
                continue;
            int r = find_root(s, (int)(k->in[0] - s->values));
            int o = (int)(k->out[0] - s->values);
            if (last[r] != i || graph_output(s, r) || s->root[o] != o ||
                k->in[0]->numel * (int64_t)e2e_dtype_size(k->in[0]->dtype) !=
                    k->out[0]->numel * (int64_t)e2e_dtype_size(k->out[0]->dtype))
                continue;
            s->root[o] = r;
            last[r] = last[o] > i ? last[o] : i;
            compute_last_use(s, last);
        }
    }

    /* 3. lifetimes of roots that need arena space */
    compute_last_use(s, last);
    for (int i = 0; i < nv; i++)
        first[i] = -1;
    for (int i = 0; i < s->n_kernels; i++) {
        const e2e_kernel *k = &s->kernels[i];
        for (int j = 0; j < k->n_out; j++)
            if (k->out[j]) {
                int r = find_root(s, (int)(k->out[j] - s->values));
                if (first[r] < 0)
                    first[r] = i;
            }
    }
    int nb = 0;
    for (int r = 0; r < nv; r++) {
        if (s->root[r] != r || first[r] < 0 || !is_temp(&s->values[r]))
            continue;
        size_t size = 0;
        for (int v = 0; v < nv; v++) /* the largest view of this block */
            if (find_root(s, v) == r && s->values[v].dtype != E2E_UNDEFINED) {
                size_t b = (size_t)s->values[v].numel * e2e_dtype_size(s->values[v].dtype);
                if (b > size)
                    size = b;
            }
        blocks[nb++] = (block){.root = r, .first = first[r], .last = last[r], .size = align64(size)};
    }

    /* 4. greedy: largest first, lowest offset that fits among overlapping live blocks */
    qsort(blocks, (size_t)nb, sizeof(block), cmp_block);
    size_t total = 0;
    for (int i = 0; i < nb; i++) {
        size_t off = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < i; j++) {
                const block *b = &blocks[j];
                if (b->last < blocks[i].first || blocks[i].last < b->first)
                    continue;
                if (off < b->offset + b->size && b->offset < off + blocks[i].size) {
                    off = b->offset + b->size;
                    moved = true;
                }
            }
        }
        blocks[i].offset = off;
        if (off + blocks[i].size > total)
            total = off + blocks[i].size;
    }
    size_t ws = 0;
    for (int i = 0; i < s->n_kernels; i++)
        if (s->kernels[i].ws_size > ws)
            ws = s->kernels[i].ws_size;
    if (s->opt.max_arena_bytes && total + ws > s->opt.max_arena_bytes) {
        st = e2e_fail(err, E2E_ERR_LIMIT,
                      "%s: the plan needs %zu bytes (arena %zu + workspace %zu), above the limit of %zu",
                      s->model->name, total + ws, total, ws, s->opt.max_arena_bytes);
        goto done;
    }
    for (int i = 0; i < nb; i++)
        s->offset[blocks[i].root] = blocks[i].offset;
    if (s->borrowed) { /* the parent binds its shared arena */
        s->arena_bytes = total;
        s->ws_bytes = ws;
        goto done;
    }
    s->arena = e2e_aligned_alloc(total);
    s->ws = ws ? e2e_aligned_alloc(ws) : NULL;
    if (!s->arena || (ws && !s->ws)) {
        st = e2e_fail(err, E2E_ERR_NOMEM, "%s: cannot allocate the arena (%zu bytes)", s->model->name,
                      total + ws);
        goto done;
    }
    s->arena_bytes = total;
    s->ws_bytes = ws;
    e2e_plan_bind_arena(s);
done:
    free(last);
    free(first);
    free(blocks);
    return st;
}

void e2e_plan_bind_arena(e2e_session *s)
{
    for (int v = 0; v < s->n_values; v++) {
        int r = find_root(s, v);
        if (is_temp(&s->values[r]) && s->offset[r] != SIZE_MAX)
            s->values[v].data = (char *)s->arena + s->offset[r];
    }
}
