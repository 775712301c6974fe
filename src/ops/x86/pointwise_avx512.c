/* PointwiseMLP's block (ops_pointwise.c, pointwise_block.h) at 16 positions, compiled with the
   AVX512 flags (Makefile). */
#define PW_LANES 16
#define PW_BLOCK_FN e2e_pw_block_avx512
#define PW_BLOCK_STATIC
#include "ops/pointwise_block.h"
