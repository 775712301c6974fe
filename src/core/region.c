/* Huge-page regions (see region.h). The live regions are listed in one table under one mutex:
   a process holds a few dozen at most (a model's weights, its packed-weight chunks, the large
   arenas), and blocks are carved and freed at load and session creation only. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/region.h"

#if defined(__SANITIZE_ADDRESS__)
#define REGION_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REGION_ASAN 1
#endif
#endif
#ifdef REGION_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define HUGE_PAGE ((size_t)2 << 20)
#define CHUNK_MIN HUGE_PAGE
#define CHUNK_MAX ((size_t)64 << 20)

struct e2e_region {
    char *base;
    size_t size, used;
    size_t refs; /* the creator's + one per live block */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* The live regions, stored as ~pointer: a table of plain pointers would keep every region
   reachable, and LeakSanitizer would never report one whose blocks were lost. */
static uintptr_t *table;
static int n_table, cap_table;
static atomic_int n_live; /* lets e2e_aligned_free skip the lock while no region exists */

static char *map_block(size_t size)
{
    /* reserve one huge page more, then trim to a 2 MB-aligned start */
    char *p = mmap(NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + size < p + size + HUGE_PAGE)
        munmap(a + size, (size_t)(p + size + HUGE_PAGE - (a + size)));
#ifdef MADV_HUGEPAGE
    (void)madvise(a, size, MADV_HUGEPAGE); /* best effort: without THP it stays 4 KB pages */
#endif
    return a;
}

static void unmap_block(char *p, size_t size)
{
    UNPOISON(p, size); /* a later mapping at these addresses starts clean */
    munmap(p, size);
}

/* E2E_HUGEPAGES=0: no regions, every caller falls back to malloc (to measure, and for
   valgrind, which does not track mappings as heap blocks) */
static bool regions_on(void)
{
    static atomic_int on = -1;
    int v = atomic_load(&on);
    if (v < 0) {
        const char *e = getenv("E2E_HUGEPAGES");
        v = !(e && !strcmp(e, "0"));
        atomic_store(&on, v);
    }
    return v;
}

e2e_region *e2e_region_create(size_t bytes)
{
    if (!bytes || bytes > SIZE_MAX - 2 * HUGE_PAGE || !regions_on())
        return NULL;
    size_t size = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    e2e_region *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->base = map_block(size);
    if (!r->base) {
        free(r);
        return NULL;
    }
    POISON(r->base, size);
    r->size = size;
    r->refs = 1;
    pthread_mutex_lock(&mu);
    if (n_table == cap_table) {
        int cap = cap_table ? 2 * cap_table : 16;
        uintptr_t *t = realloc(table, sizeof *t * (size_t)cap);
        if (t) {
            table = t;
            cap_table = cap;
        }
    }
    int ok = n_table < cap_table;
    if (ok) {
        table[n_table++] = ~(uintptr_t)r;
        atomic_fetch_add(&n_live, 1);
    }
    pthread_mutex_unlock(&mu);
    if (!ok) {
        unmap_block(r->base, size);
        free(r);
        return NULL;
    }
    return r;
}

/* Under mu: drops one reference; the last one unlists and unmaps r. */
static void unref_locked(e2e_region *r)
{
    if (--r->refs)
        return;
    for (int i = 0; i < n_table; i++)
        if (table[i] == ~(uintptr_t)r) {
            table[i] = table[--n_table];
            break;
        }
    atomic_fetch_sub(&n_live, 1);
    if (!n_table) { /* the table goes with the last region: nothing is left at exit */
        free(table);
        table = NULL;
        cap_table = 0;
    }
    unmap_block(r->base, r->size);
    free(r);
}

void *e2e_region_alloc(e2e_region *r, size_t n)
{
    if (!r || !n)
        return NULL;
    void *p = NULL;
    pthread_mutex_lock(&mu);
    const size_t align = n >= 64 ? 64 : 16;
    size_t off = (r->used + align - 1) & ~(align - 1);
    if (off <= r->size && n <= r->size - off) {
        p = r->base + off;
        r->used = off + n;
        r->refs++;
        UNPOISON(p, n);
    }
    pthread_mutex_unlock(&mu);
    return p;
}

void e2e_region_release(e2e_region *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&mu);
    unref_locked(r);
    pthread_mutex_unlock(&mu);
}

bool e2e_region_free_block(void *p)
{
    if (!p || !atomic_load(&n_live))
        return false;
    bool found = false;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_table && !found; i++) {
        e2e_region *r = (e2e_region *)~table[i];
        if ((char *)p >= r->base && (char *)p < r->base + r->size) {
            found = true;
            unref_locked(r);
        }
    }
    pthread_mutex_unlock(&mu);
    return found;
}

void *e2e_region_chunk_alloc(e2e_region **chunk, size_t *chunk_bytes, size_t n)
{
    void *p = e2e_region_alloc(*chunk, n);
    if (p || !n)
        return p;
    size_t sz = *chunk_bytes ? 2 * *chunk_bytes : CHUNK_MIN;
    if (sz > CHUNK_MAX)
        sz = CHUNK_MAX;
    if (sz < n)
        sz = n;
    e2e_region *r = e2e_region_create(sz);
    if (!r)
        return NULL;
    e2e_region_release(*chunk); /* its blocks keep it */
    *chunk = r;
    *chunk_bytes = sz;
    return e2e_region_alloc(r, n);
}

/* ---- the thread's scope ---- */

static _Thread_local struct {
    int depth;
    e2e_region *chunk;
    size_t chunk_bytes; /* the size of the last chunk made (0: none yet) */
} scope;

void e2e_region_scope_open(e2e_region *first)
{
    if (scope.depth++)
        return;
    if (first) {
        pthread_mutex_lock(&mu);
        first->refs++;
        pthread_mutex_unlock(&mu);
    }
    scope.chunk = first;
    scope.chunk_bytes = 0;
}

void e2e_region_scope_close(void)
{
    if (!scope.depth || --scope.depth)
        return;
    e2e_region_release(scope.chunk);
    scope.chunk = NULL;
}

void *e2e_region_scope_alloc(size_t n)
{
    return scope.depth ? e2e_region_chunk_alloc(&scope.chunk, &scope.chunk_bytes, n) : NULL;
}
