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
   weights). Under AddressSanitizer a region's uncarved bytes are poisoned (an overflow past
   the last block is reported), and a region is listed where LeakSanitizer does not look (a
   lost block keeps its region's record unreachable: reported as a leak).
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
/* A zero-filled block of n > 0 bytes, 64-byte aligned (16-byte below 64 bytes, like malloc);
   NULL when the region has no room left. */
void *e2e_region_alloc(e2e_region *r, size_t n);
/* The creator's reference; NULL is allowed. */
void e2e_region_release(e2e_region *r);

/* For e2e_aligned_free: when p was carved from a region, frees that block and returns true. */
bool e2e_region_free_block(void *p);

/* A block of n bytes from *chunk, else from a new region (each twice the last, from 2 MB up
   to 64 MB, or n) that replaces *chunk (the old one's blocks keep it); NULL when no region
   can be made. For an owner of a growing set of blocks (the pack cache, a scope), which
   releases *chunk when done. */
void *e2e_region_chunk_alloc(e2e_region **chunk, size_t *chunk_bytes, size_t n);

/* The calling thread's allocation scope. While one is open, e2e_aligned_alloc and
   e2e_aligned_alloc_uninit carve their blocks from the scope's regions: `first` (NULL
   allowed; the scope holds its own reference) while it has room, then chunks it makes, each
   twice the last. Session creation opens one (its arena, workspace, folded constants and
   private packed weights: a few 2 MB pages instead of one 4 KB first touch per 4 KB), and so
   does the loader around the IR build (the small initializers join the weights' region). The
   blocks live until each is freed, whatever the scope; what is freed is not reused, so a scope
   suits blocks that mostly live as long as each other. A nested open shares the outer scope
   (its `first` is not used). */
void e2e_region_scope_open(e2e_region *first);
void e2e_region_scope_close(void);
/* A block of the open scope (zero-filled, aligned like e2e_region_alloc), or NULL when none
   is open or no region can be made (for ir.c). */
void *e2e_region_scope_alloc(size_t n);

#endif
