/* Weights packed for the GEMM kernels (mm_packed.h's layout), shared by all the sessions of
   one model. A kernel whose right operand is one of the model's initializers asks for its
   packed form; the first session that asks packs it, the others get the same copy, so a
   model's sessions (one per batch size in `e2e run`, one per thread in a host) hold the
   packed weights once. The cache belongs to the model (created with it, freed with it) and
   is thread-safe: sessions of one model may be created from several threads at once. */
#ifndef E2E_PACK_CACHE_H
#define E2E_PACK_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct e2e_pack_cache e2e_pack_cache;

/* Packs B (element (k, n) at src[k * sk + n * sn]) into dst. */
typedef void (*e2e_pack_fn)(const float *src, int64_t sk, int64_t sn, int K, int N, float *dst);

e2e_pack_cache *e2e_pack_cache_create(void);
void e2e_pack_cache_free(e2e_pack_cache *c);
/* The packed form of (src, sk, sn, K, N) made by fn (the key includes fn: each instruction
   set's kernels have their own layout), `floats` floats, made on first request. Owned by the
   cache (never freed by the caller); NULL when out of memory. */
const float *e2e_pack_cache_get(e2e_pack_cache *c, const float *src, int64_t sk, int64_t sn, int K,
                                int N, size_t floats, e2e_pack_fn fn);

/* Number of packed weights held (for tests). */
int e2e_pack_cache_count(e2e_pack_cache *c);

#endif
