/* The decoded geometry of the sliding-window operators (Conv, MaxPool, AveragePool): worked
   out once, by the CPU operator's prepare (ops_conv.c, ops_pool.c: auto_pad, pads, strides,
   dilations, ceil_mode), and read from there by other backends (src/ops/cuda) instead of
   deriving it again or reading the CPU kernel's private state. */
#ifndef E2E_OP_GEOM_H
#define E2E_OP_GEOM_H

#include <stdbool.h>

#include "ops/op.h"

typedef struct e2e_window_geom {
    int64_t N, C;       /* batch, input channels */
    int64_t M, G;       /* Conv: output channels, groups (pools: M = C, G = 1) */
    /* per spatial dim D, H, W (fewer spatial dims: the leading ones are 1, pads 0) */
    int64_t id[3], od[3], kd[3], st[3], dl[3];
    int64_t pb[3];      /* padding before */
    int64_t pe[3];      /* padding after (pools; Conv: 0, its output size carries it) */
    int64_t isp, osp, ksp; /* spatial sizes: input, output, window */
    bool include_pad;   /* AveragePool count_include_pad */
    bool col_major;     /* MaxPool storage_order = 1 (its Indices) */
} e2e_window_geom;

/* The geometry of a prepared Conv kernel (ops_conv.c); false for any other kernel. */
bool e2e_conv_geom_of(const e2e_kernel *k, e2e_window_geom *g);
/* The geometry of a prepared MaxPool or AveragePool kernel (ops_pool.c); false otherwise. */
bool e2e_pool_geom_of(const e2e_kernel *k, e2e_window_geom *g);

#endif
