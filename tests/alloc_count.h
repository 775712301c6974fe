/* Heap-allocation counting for the tests that check that `run` allocates nothing
   (test_noalloc, test_fusion). Include it in exactly one file of a test binary: it defines
   malloc and friends, which count their calls while `counting` is set and pass them on to
   glibc. Not under AddressSanitizer, whose allocator must own every block: there
   NO_COUNTING is defined, nothing is interposed, and the tests say they skip. */
#ifndef E2E_TESTS_ALLOC_COUNT_H
#define E2E_TESTS_ALLOC_COUNT_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define NO_COUNTING 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_COUNTING 1
#endif
#endif

static volatile int counting;
static volatile long allocations;

#ifdef NO_COUNTING
#define __libc_malloc malloc
#define __libc_free free
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
    if (counting)
        allocations++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (counting)
        allocations++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (counting)
        allocations++;
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t al, size_t n)
{
    if (counting)
        allocations++;
    return __libc_memalign(al, n);
}
void *memalign(size_t al, size_t n)
{
    if (counting)
        allocations++;
    return __libc_memalign(al, n);
}
int posix_memalign(void **p, size_t al, size_t n)
{
    if (counting)
        allocations++;
    *p = __libc_memalign(al, n);
    return *p ? 0 : 12;
}
void free(void *p) { __libc_free(p); }
#endif

#endif
