/* Integer matrix products of the quantized operators (ops_quant.c) and of the folded QDQ
   patterns (engine/passes/fuse_qdq.c).

   e2e_qgemm_s16 is the exact generic product: operands already have their zero points
   subtracted (int16, |v| <= 255), int32 accumulation. The sums are exact as long as they fit in
   int32 (K < 33000 for any values); ONNX Runtime accumulates in int32 too. */
#ifndef E2E_QGEMM_H
#define E2E_QGEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "e2e.h"

/* C[m][n] = sum_k A[m][k] * B[k][n], row-major with leading dimensions lda, ldb, ldc. */
void e2e_qgemm_s16(int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda,
                   const int16_t *B, int64_t ldb, int32_t *C, int64_t ldc);

/* ---- SIMD integer kernels (x86/qgemm_avx512.c, x86/qgemm_avx2.c): u8 x s8 -> s32 ----
   Operands in blocks of 4 along k (K4 = ceil(K / 4), zero padded): the packing functions
   below (SSE2, in qgemm_avx2.c) serve every level. The products come in three sets with the
   same layouts and bit-identical results (exact int32 sums, then the same requantization):
     avx512-vnni  AVX-512 level with AVX512-VNNI (vpdpbusd on 16 lanes)
     avx-vnni     AVX2 level (or AVX-512 without AVX512-VNNI) with AVX-VNNI (8 lanes)
     avx2         plain AVX2: bytes widened to int16, vpmaddwd (exact; no vpmaddubsw)
   A kernel takes its set at prepare (e2e_qgemm_kernels_for) and calls through it. */
typedef struct e2e_qgemm_kernels {
    const char *name;
    /* acc[M4][P64] (rows ldacc apart) = w[M4][4*K4] (s8) x packed columns (u8); M4 a
       multiple of 4, P64 of 64 */
    void (*conv)(int64_t M4, int64_t P64, int64_t K4, const int8_t *w, const uint8_t *colq,
                 int32_t *acc, int64_t ldacc);
    /* direct stride-1 2-D convolution on channel quads (OW % 16 == 0), pixel blocks [pb0, pb1)
       of 16, a multiple of 4 of them; taps kq at byte offsets offq[kq] of xq; see
       qgemm_avx512.c */
    void (*conv_direct)(int64_t M4, int64_t pb0, int64_t pb1, int64_t nblk, int64_t K4,
                        const int8_t *w, const int32_t *offq, const uint8_t *xq, int64_t OW,
                        int64_t PW, int32_t *acc, int64_t ldacc);
    /* c[m][0..N16) = a[m][0..4*K4) (u8, rows lda apart) x bq (s8 [N16/16][K4][16][4]) */
    void (*rows)(int64_t M, int64_t N16, int64_t K4, const uint8_t *a, int64_t lda,
                 const int8_t *bq, int32_t *c, int64_t ldc);
    /* dst[i] = saturate(round((acc[i] + corr[i*cs]) * mult[i*ms]) + zp) into [lo, hi], int8
       (s8) or uint8 */
    void (*requant)(int64_t n, const int32_t *acc, const int32_t *corr, int cs, const float *mult,
                    int ms, int32_t zp, int32_t lo, int32_t hi, bool s8, void *dst);
    /* QuantizeLinear / DequantizeLinear of n values with one scale and zero point, the same
       results as the plain loops */
    void (*quant)(int64_t n, const float *x, float s, int32_t zp, bool s8, void *y);
    void (*dequant)(int64_t n, const void *x, bool s8, int32_t zp, float s, float *y);
    /* one output row of a 2x2 / stride 2 max pooling: y[x] = max(a[2x], a[2x+1], b[2x],
       b[2x+1]) for x < OW, int8 (s8) or uint8 (QMaxPool2x2) */
    void (*maxpool_row)(int64_t OW, const uint8_t *a, const uint8_t *b, bool s8, uint8_t *y);
} e2e_qgemm_kernels;

/* The set for a session at level isa (see above), NULL at the generic level (or off x86).
   E2E_AVX_VNNI=0 in the environment (read at each call) passes over avx-vnni, so that a test
   can run the plain AVX2 set on a CPU that has AVX-VNNI. */
const e2e_qgemm_kernels *e2e_qgemm_kernels_for(e2e_isa_level isa);
extern const e2e_qgemm_kernels e2e_qgemm_avx512vnni, e2e_qgemm_avxvnni, e2e_qgemm_avx2;

/* rows: 4*K4 rows of P64 bytes (P64 a multiple of 64) -> colq [P64/16][K4][16 pixels][4 k] */
void e2e_qgemm_vnni_pack_cols(int64_t K4, int64_t P64, const uint8_t *rows, uint8_t *colq);
/* unfold + pack of pixel blocks [pb0, pb1) (16 pixels each) of a stride-1 2-D convolution
   with OW % 16 == 0 from the zero-point-padded image xp [C][PH][PW]; off[k]: offset of tap k
   in xp (-1: past kdim); block pb goes to colq + (pb - pb0) * K4 * 64 */
void e2e_qgemm_vnni_pack_conv(int64_t K4, int64_t pb0, int64_t pb1, int64_t osp, int64_t OW,
                              int64_t PW, const int32_t *off, const uint8_t *xp, uint8_t *colq);
/* the zero-point-padded image [C][PH][PW] (PHW = PH PW bytes a channel) as channel quads
   [ceil(C/4)][PH][PW][4], channels past C the zero point */
void e2e_qgemm_vnni_quads(int64_t C, int64_t PHW, const uint8_t *xp, uint8_t zp, uint8_t *xq);
/* the maxpool_row of every set (AVX2) */
void e2e_qmaxpool_row_avx2(int64_t OW, const uint8_t *a, const uint8_t *b, bool s8, uint8_t *y);

/* ---- AVX-512 (x86/quant_avx512.c): QuantizeLinear / DequantizeLinear of n values with one
   scale and zero point (the quant and dequant of e2e_qgemm_avx512vnni) ---- */
void e2e_quant_f32_avx512(int64_t n, const float *x, float s, int32_t zp, bool s8, void *y);
void e2e_dequant_avx512(int64_t n, const void *x, bool s8, int32_t zp, float s, float *y);

#endif
