/* Large blocks carved from mappings backed by transparent huge pages.

   On the virtual machines e2e runs on, the first touch of every 4 KB page costs tens of
   microseconds (the hypervisor maps it), even after madvise(MADV_POPULATE_WRITE): copying a
   ViT's 22 MB of weights into fresh 4 KB pages took ~60 ms, into 2 MB pages ~3 ms. A huge
   page needs a 2 MB-aligned 2 MB range of one mapping, which separate ~1 MB blocks from
   malloc never give; a region is one such mapping (asking for huge pages with
   MADV_HUGEPAGE) from which many blocks are carved in order.

   A block is freed like any aligned block, with e2e_aligned_free; the mapping goes when its
   creator has released it and every block carved from it has been freed. Thread-safe. A
   block's memory is zero-filled (fresh mapping) and is never reused after its free: a region
   suits blocks that live about as long as each other (a model's weights, its packed
   weights). Under AddressSanitizer the region is one malloc'd block whose uncarved bytes are
   poisoned, so overflows past the last block and leaked regions are still reported.
   E2E_HUGEPAGES=0 turns regions off (every caller falls back to malloc): to measure, and for
   valgrind, which does not see a mapping as a heap block. */
#ifndef E2E_REGION_H
#define E2E_REGION_H

#include <stdbool.h>
#include <stddef.h>

typedef struct e2e_region e2e_region;

/* A region of at least `bytes` bytes (rounded up to 2 MB); NULL when the mapping fails or
   regions are off (callers then fall back to e2e_aligned_alloc_uninit). */
e2e_region *e2e_region_create(size_t bytes);
/* A 64-byte aligned, zero-filled block of n > 0 bytes; NULL when the region has no room left. */
void *e2e_region_alloc(e2e_region *r, size_t n);
/* The creator's reference; NULL is allowed. */
void e2e_region_release(e2e_region *r);

/* For e2e_aligned_free: when p was carved from a region, frees that block and returns true. */
bool e2e_region_free_block(void *p);

#endif
