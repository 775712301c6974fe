/* PointwiseMLP's block (ops_pointwise.c, pointwise_block.h) at 8 positions, compiled with the
   AVX2 flags (Makefile). */
#define PW_LANES 8
#define PW_BLOCK_FN e2e_pw_block_avx2
#define PW_BLOCK_STATIC
#include "ops/pointwise_block.h"
