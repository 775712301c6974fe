/* The model's shared packed weights (see pack_cache.h). A short list searched under one
   mutex: a model has a few dozen weights, and this runs at session creation only. */
#include <pthread.h>
#include <stdlib.h>

#include "core/ir.h"
#include "core/pack_cache.h"
#include "core/region.h"

typedef struct pack_entry {
    const float *src;
    int64_t sk, sn;
    int K, N;
    e2e_pack_fn fn;         /* the layout: sessions at different instruction-set levels pack
                               the same weight differently (panel widths) */
    float *packed;
} pack_entry;

struct e2e_pack_cache {
    pthread_mutex_t mu;
    pack_entry *e;
    int n, cap;
    e2e_region *chunk;  /* where the next packed weight goes (e2e_region_chunk_alloc) */
    size_t chunk_bytes;
};

/* Packed weights are carved from huge-page chunks (region.h): a ViT packs ~50 blocks of ~1 MB,
   which from malloc took one 4 KB page fault each per 4 KB. Not from the session's scope,
   which is open meanwhile: they live as long as the model. */

e2e_pack_cache *e2e_pack_cache_create(void)
{
    e2e_pack_cache *c = calloc(1, sizeof *c);
    if (c && pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return NULL;
    }
    return c;
}

void e2e_pack_cache_free(e2e_pack_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        e2e_aligned_free(c->e[i].packed);
    e2e_region_release(c->chunk);
    free(c->e);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const float *e2e_pack_cache_get(e2e_pack_cache *c, const float *src, int64_t sk, int64_t sn, int K,
                                int N, size_t floats, e2e_pack_fn fn)
{
    pthread_mutex_lock(&c->mu);
    const float *out = NULL;
    for (int i = 0; i < c->n && !out; i++) {
        const pack_entry *e = &c->e[i];
        if (e->src == src && e->sk == sk && e->sn == sn && e->K == K && e->N == N && e->fn == fn)
            out = e->packed;
    }
    if (!out && c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        pack_entry *ne = realloc(c->e, sizeof *ne * (size_t)cap);
        if (ne) {
            c->e = ne;
            c->cap = cap;
        }
    }
    if (!out && c->n < c->cap) {
        size_t bytes = sizeof(float) * floats;
        float *p = e2e_region_chunk_alloc(&c->chunk, &c->chunk_bytes, bytes);
        if (!p)
            p = e2e_aligned_alloc_uninit(bytes); /* fn writes it all */
        if (p) {
            fn(src, sk, sn, K, N, p);
            c->e[c->n++] = (pack_entry){src, sk, sn, K, N, fn, p};
            out = p;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return out;
}

int e2e_pack_cache_count(e2e_pack_cache *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}
