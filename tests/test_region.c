/* Huge-page regions (src/core/region.h): carved blocks are 64-byte aligned, zero-filled,
   disjoint and freed through e2e_aligned_free in any order, before or after the creator's
   release; a full region says so; heap blocks freed beside them stay heap blocks; a thread's
   scope sends e2e_aligned_alloc's blocks to regions; threads carve and free one region at
   once. Leaks and overflows are make sanitize's to find (under
   AddressSanitizer a region is a malloc'd block with its uncarved bytes poisoned). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ir.h"
#include "core/region.h"

#define MB ((size_t)1 << 20)

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Regions are off with E2E_HUGEPAGES=0 (the fallback paths of the loader and the pack cache
   are then what runs); these tests need them on. */
static void need_regions(void)
{
    const char *e = getenv("E2E_HUGEPAGES");
    if (e && !strcmp(e, "0")) {
        printf("skipped: E2E_HUGEPAGES=0 turns regions off in this process\n");
        skip();
    }
}

static void test_blocks(void **state)
{
    (void)state;
    need_regions();
    e2e_region *r = e2e_region_create(3 * MB);
    assert_non_null(r);
    const size_t sizes[] = {100, MB, 4096, 1, 3 * 64 + 5};
    unsigned char *b[5];
    for (int i = 0; i < 5; i++) {
        b[i] = e2e_region_alloc(r, sizes[i]);
        assert_non_null(b[i]);
        assert_int_equal((uintptr_t)b[i] % 64, 0);
        assert_true(all_zero(b[i], sizes[i]));
        memset(b[i], 0xA0 + i, sizes[i]);
    }
    for (int i = 0; i < 5; i++) /* disjoint: nobody overwrote anybody */
        for (size_t k = 0; k < sizes[i]; k++)
            if (b[i][k] != 0xA0 + i)
                fail_msg("block %d byte %zu changed", i, k);
    /* the creator lets go first: the blocks stay valid until each is freed */
    e2e_region_release(r);
    e2e_aligned_free(b[1]);
    b[3][0] = 7;
    assert_int_equal(b[4][0], 0xA4);
    e2e_aligned_free(b[0]);
    e2e_aligned_free(b[4]);
    e2e_aligned_free(b[3]);
    e2e_aligned_free(b[2]);
    e2e_region_release(NULL);
    assert_false(e2e_region_free_block(NULL));
}

static void test_full(void **state)
{
    (void)state;
    need_regions();
    e2e_region *r = e2e_region_create(1); /* rounded up to 2 MB */
    assert_non_null(r);
    assert_null(e2e_region_alloc(r, 0));
    void *a = e2e_region_alloc(r, 2 * MB - 128);
    assert_non_null(a);
    void *b = e2e_region_alloc(r, 128);
    assert_non_null(b);
    assert_null(e2e_region_alloc(r, 1)); /* no room: the caller goes to the heap */
    assert_null(e2e_region_alloc(NULL, 64));
    assert_null(e2e_region_create(0));
    assert_null(e2e_region_create(SIZE_MAX - 10));
    e2e_aligned_free(b);
    e2e_aligned_free(a);
    e2e_region_release(r);
}

/* e2e_aligned_alloc's large blocks come from regions of their own; small ones from the heap;
   both zero-filled, both freed by e2e_aligned_free while other regions are alive. */
static void test_aligned_alloc(void **state)
{
    (void)state;
    e2e_region *r = e2e_region_create(MB); /* NULL with E2E_HUGEPAGES=0: the heap alone */
    void *held = e2e_region_alloc(r, 4096);
    void *heap = malloc(64);
    assert_false(e2e_region_free_block(heap)); /* not a region's: left alone */
    free(heap);
    const size_t sizes[] = {10, 300 << 10, MB, 5 * MB + 3};
    for (int i = 0; i < 4; i++) {
        unsigned char *p = e2e_aligned_alloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        assert_true(all_zero(p, sizes[i]));
        memset(p, 1, sizes[i]);
        e2e_aligned_free(p);
        p = e2e_aligned_alloc_uninit(sizes[i]);
        assert_non_null(p);
        memset(p, 2, sizes[i]);
        e2e_aligned_free(p);
    }
    e2e_region_release(r);
    e2e_aligned_free(held);
}

/* A scope: e2e_aligned_alloc's blocks carved in order from `first`, then from chunks it
   makes when `first` is full; a nested open shares it; the blocks outlive the scope. */
static void test_scope(void **state)
{
    (void)state;
    need_regions();
    e2e_region *first = e2e_region_create(1); /* 2 MB */
    assert_non_null(first);
    e2e_region_scope_open(first);
    e2e_region_release(first); /* the scope holds it */
    unsigned char *a = e2e_aligned_alloc(100), *b = e2e_aligned_alloc_uninit(10);
    unsigned char *e = e2e_aligned_alloc(10);
    e2e_region_scope_open(NULL); /* nested: the same scope */
    unsigned char *c = e2e_aligned_alloc(1000);
    e2e_region_scope_close();
    assert_ptr_equal(b, a + 112); /* a: 100 bytes; b (small) at the next 16-byte boundary */
    assert_ptr_equal(e, b + 16);
    assert_ptr_equal(c, a + 192); /* 64 bytes and more: the next 64-byte boundary */
    assert_true(all_zero(a, 100) && all_zero(c, 1000));
    unsigned char *big = e2e_aligned_alloc(3 * MB); /* first has no room: a new chunk */
    assert_non_null(big);
    assert_true(big < a || big >= a + 2 * MB);
    assert_true(all_zero(big, 3 * MB));
    unsigned char *d = e2e_aligned_alloc(64); /* after big, in its chunk */
    assert_ptr_equal(d, big + 3 * MB);
    e2e_region_scope_close();
    unsigned char *heap = e2e_aligned_alloc(64); /* no scope: the heap */
    assert_false(e2e_region_free_block(heap));
    free(heap);
    memset(a, 1, 100); /* still valid after the scope */
    memset(big, 2, 3 * MB);
    e2e_aligned_free(big);
    e2e_aligned_free(a);
    e2e_aligned_free(b);
    e2e_aligned_free(c);
    e2e_aligned_free(d);
    e2e_aligned_free(e);
    e2e_region_scope_close(); /* closing with none open does nothing */
}

#define THREADS 4
#define ROUNDS 200

static void *carve(void *arg)
{
    e2e_region *r = arg;
    void *mine[ROUNDS];
    int n = 0;
    for (int i = 0; i < ROUNDS; i++) {
        unsigned char *p = e2e_region_alloc(r, 1000 + (size_t)i);
        if (p) {
            memset(p, i & 0xff, 1000 + (size_t)i);
            mine[n++] = p;
        }
        void *q = e2e_aligned_alloc(64 + (size_t)i); /* the heap, freed beside the region's */
        e2e_aligned_free(q);
    }
    for (int i = 0; i < n; i++)
        e2e_aligned_free(mine[i]);
    return (void *)(intptr_t)n;
}

static void test_threads(void **state)
{
    (void)state;
    need_regions();
    e2e_region *r = e2e_region_create(THREADS * ROUNDS * 1300);
    assert_non_null(r);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, carve, r), 0);
    intptr_t total = 0;
    for (int i = 0; i < THREADS; i++) {
        void *n;
        pthread_join(t[i], &n);
        total += (intptr_t)n;
    }
    assert_int_equal(total, THREADS * ROUNDS); /* the region was big enough for every block */
    e2e_region_release(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_aligned_alloc),
        cmocka_unit_test(test_scope),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
