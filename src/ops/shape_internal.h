/* Private to the shape/data-movement family (ops_shape.c, ops_layout.c): the strided copy
   engine and the kernels defined in ops_layout.c, listed in the one table e2e_ops_shape. */
#ifndef E2E_SHAPE_INTERNAL_H
#define E2E_SHAPE_INTERNAL_H

#include "ops/op.h"

/* Tile views a rank-r tensor as rank 2r. */
#define E2E_XCOPY_MAX_RANK (2 * E2E_MAX_RANK)

/* out[ooff + sum idx[i]*os[i]] = in[ioff + sum idx[i]*is[i]] for every idx < dims; strides
   and offsets in elements of esz bytes (input strides may be 0 or negative). Built once at
   prepare: unit dims dropped, mergeable neighbours merged, the loop kind chosen. */
typedef struct e2e_xcopy {
    int rank;
    int kind;            /* XC_* in ops_layout.c */
    int tj;              /* transposed kind: the dim with input stride 1 */
    size_t esz;
    int64_t n;           /* elements copied */
    int64_t ioff, ooff;
    int64_t dims[E2E_XCOPY_MAX_RANK];
    int64_t is[E2E_XCOPY_MAX_RANK], os[E2E_XCOPY_MAX_RANK];
} e2e_xcopy;

void e2e_xcopy_init(e2e_xcopy *x, int rank, const int64_t *dims, const int64_t *is,
                    const int64_t *os, int64_t ioff, int64_t ooff, size_t esz);
void e2e_xcopy_run(const e2e_xcopy *x, const void *in, void *out);
/* Writes n copies of the esz-byte value val. */
void e2e_fill_elems(void *dst, const unsigned char *val, size_t esz, int64_t n);
/* Contiguous element strides of a shape. */
void e2e_contig_strides(const e2e_shape *s, int64_t *strides);

e2e_status e2e_transpose_prepare(e2e_kernel *k);
e2e_status e2e_slice_prepare(e2e_kernel *k);
e2e_status e2e_expand_prepare(e2e_kernel *k);
e2e_status e2e_tile_prepare(e2e_kernel *k);
e2e_status e2e_depth_to_space_prepare(e2e_kernel *k);
e2e_status e2e_space_to_depth_prepare(e2e_kernel *k);
/* Transpose, Slice, Expand, Tile, DepthToSpace, SpaceToDepth: one e2e_xcopy in priv. */
e2e_status e2e_xcopy_kernel_run(e2e_kernel *k);
/* The decoded copy of a prepared kernel of those operators, shared with other backends
   (src/ops/cuda) so they need not re-derive it nor read priv; NULL for any other kernel. */
const e2e_xcopy *e2e_xcopy_of(const e2e_kernel *k);

e2e_status e2e_pad_prepare(e2e_kernel *k);
e2e_status e2e_pad_run(e2e_kernel *k);
void e2e_pad_release(void *priv);

#endif
