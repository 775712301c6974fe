/* The register-tile entry points of one instruction set's packed GEMM (mm_packed.h), included
   by its file after its tile(m, nv, K, A, lda, P, C, ldc, n, e, row, col) and MR: tile_1 ..
   tile_MR for m rows (a panel with at most 16 columns takes the half tile nv = 1), and their
   table. */
#define TILE(M_)                                                                                 \
    static void tile_##M_(int K, const float *A, int64_t lda, const float *P, float *C, int64_t ldc, \
                          int n, const e2e_mm_epi *e, int64_t row, int col)                        \
    {                                                                                            \
        if (n > 16)                                                                              \
            tile(M_, 2, K, A, lda, P, C, ldc, n, e, row, col);                                   \
        else                                                                                     \
            tile(M_, 1, K, A, lda, P, C, ldc, n, e, row, col);                                   \
    }
TILE(1)
TILE(2)
TILE(3)
TILE(4)
TILE(5)
TILE(6)
#if MR > 6
TILE(7)
TILE(8)
TILE(9)
TILE(10)
TILE(11)
TILE(12)
static const e2e_mm_tile_fn tiles[MR + 1] = {NULL,   tile_1, tile_2, tile_3,  tile_4,  tile_5, tile_6,
                                             tile_7, tile_8, tile_9, tile_10, tile_11, tile_12};
#else
static const e2e_mm_tile_fn tiles[MR + 1] = {NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6};
#endif
#undef TILE
