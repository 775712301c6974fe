/* Matrix products by a bfloat16 weight (e2e_session_options.precision = E2E_PRECISION_BF16):
   Gemm and MatMul with a constant right operand store it in bfloat16, packed once at prepare.

   A bfloat16 is the upper half of a float32 (8-bit exponent, 7-bit mantissa); weights are
   rounded to nearest even, NaN stays NaN (quiet), Inf stays Inf. The packed layout is the
   same for every instruction set: panels of E2E_BF16_NR = 32 columns, and inside a panel the
   k pairs (2q, 2q + 1) one after the other, each pair as 32 columns of two bfloat16 (k = 2q
   in the low half of a 32-bit word, 2q + 1 in the high half), which is the operand order of
   AVX-512 BF16's VDPBF16PS:
       P[((p * Q + q) * 32 + j) * 2 + (k & 1)] = bf16(B[k][p * 32 + j]),  Q = ceil(K / 2),
   zeros past N and past K.

   Two kinds of register tile compute C = epi(A B):
   - widen (every level): A stays float32, each weight is widened to float32 (a shift by 16
     bits) and multiplied with FMA; only the weight is rounded. Used for few rows (M <= 4:
     batch-1 Linear layers, memory-bound, where reading half the bytes is the gain); on CPUs
     without AVX512_BF16 products with more rows stay float32 (e2e_bf16_worth).
   - dot (AVX-512 level on a CPU with AVX512_BF16): the rows of A are rounded to bfloat16
     into the kernel's workspace first, then VDPBF16PS multiplies pairs and adds them to
     float32 accumulators (twice the products per instruction of float32 FMA).
   Every output is a sequential sum over k in float32 (no dependence on threads or blocking
   other than the KC blocks, which are fixed). On the dot tiles a long K (over 2048) runs in
   sub-blocks of 256 k whose sums are carried through float32 partial sums (exact), so each
   output there is one sequential sum over all of K, the epilogue applied once at the end. */
#ifndef E2E_MM_BF16_H
#define E2E_MM_BF16_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ops/cpu_isa.h"
#include "ops/mm_packed.h"

#define E2E_BF16_NR 32

/* float32 -> bfloat16, round to nearest even; NaN -> a quiet NaN of the same sign. */
static inline uint16_t e2e_bf16_from_f32(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float e2e_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* A tile: C[i * ldc + j] = epi(sum_k A_i,k B_k,j) for i < m (<= the table's mr), j < n
   (<= 32), over k < K, from the panel P (at its first pair), the epilogue e as mm_packed's
   tiles apply it: act(res[(row + i) * ldr + col + j] + (scale * sum + bias[col + j])).
   widen: A is float32, element (i, k) at A[i * lda + k]; dot: A is bfloat16 pairs, (i, k) at
   ((uint16_t *)A)[i * 2 * lda + k], lda counting pairs. */
typedef void (*e2e_bf16_tile_fn)(int m, int K, const void *A, int64_t lda, const uint16_t *P,
                                 float *C, int64_t ldc, int n, const e2e_mm_epi *e, int64_t row,
                                 int col);

/* Lines a dot_acc tile asks the caches for while it runs (the next sub-block's operands),
   spread over its k pairs, up to two of each kind per pair: nb lines from b; na lines of rows
   of 2^a_shift lines each, row r at a + r * lda bytes. */
typedef struct e2e_bf16_ahead {
    const char *b;
    int nb;
    const char *a;
    int64_t lda;
    int na, a_shift;
} e2e_bf16_ahead;

/* A dot tile over one k sub-block of a long product (A in pairs as the dot tile's): the sums
   start from T (row stride ldt floats, the panel's 32 columns) or, first, from zero; they are
   stored back to T when C is NULL, else C = epi(sums) as the tiles' epilogue. */
typedef void (*e2e_bf16_acc_fn)(int m, int K, const uint32_t *A, int64_t lda, const uint16_t *P,
                                float *T, int ldt, bool first, float *C, int64_t ldc, int n,
                                const e2e_mm_epi *e, int64_t row, int col,
                                const e2e_bf16_ahead *ahead);

/* The tiles' epilogue in plain C, for tiles that compute their m x n sums into t (row stride
   ldt) first: C = epi(t) as above. */
void e2e_bf16_store(int m, int n, const float *t, int ldt, float *C, int64_t ldc,
                    const e2e_mm_epi *e, int64_t row, int col);

typedef struct e2e_bf16_kernels {
    const char *name;
    int mr;                    /* widen tile rows */
    e2e_bf16_tile_fn widen;
    int dot_mr;                /* dot tile rows; 0: no dot tiles */
    e2e_bf16_tile_fn dot;
    /* rows [0, m) of A (float32, stride lda) to bfloat16 pairs at D (stride ldd pairs; zero
       past K) */
    void (*to_pairs)(int m, int K, const float *A, int64_t lda, uint32_t *D, int64_t ldd);
    /* widen with each row summed in one order whatever the tile's m (the widen tiles may split
       the k of few-row tiles over two chains); NULL: widen already does */
    e2e_bf16_tile_fn widen_seq;
    /* e2e_bf16_pack at run, fast for sk == 1 or sn == 1 (attention's K^T and V per head; the
       dot tables only, NULL elsewhere) */
    void (*pack_run)(const float *B, int64_t sk, int64_t sn, int K, int N, uint16_t *P);
    /* the dot tile of a long K in sub-blocks (set where dot is) */
    e2e_bf16_acc_fn dot_acc;
} e2e_bf16_kernels;

extern const e2e_bf16_kernels e2e_bf16_generic;
#ifdef E2E_X86
extern const e2e_bf16_kernels e2e_bf16_avx2, e2e_bf16_avx512, e2e_bf16_avx512_dot;
#endif
/* The kernels for level isa (E2E_ISA_AUTO: the process's): the dot kernels at the AVX-512
   level when the CPU has AVX512_BF16. */
const e2e_bf16_kernels *e2e_bf16_kernels_for(e2e_isa_level isa);

/* Whether an M x K by K x N product is worth bfloat16 with kernels bk: at least 16 x 16
   weights, and without dot tiles only few rows (M <= 4: reading the weight is the cost, and
   halving it pays; with more rows the widening costs more than it saves, so float32 runs). */
static inline bool e2e_bf16_worth(const e2e_bf16_kernels *bk, int64_t M, int64_t K, int64_t N)
{
    return N >= 16 && K >= 16 && M > 0 && (bk->dot || M <= 4);
}

/* Packs B (element (k, n) at B[k * sk + n * sn]) in the layout above; an e2e_pack_fn (P is
   written as bytes; e2e_bf16_packed_floats floats). */
void e2e_bf16_pack(const float *B, int64_t sk, int64_t sn, int K, int N, float *P);
size_t e2e_bf16_packed_floats(int64_t K, int64_t N);
/* The packed form of the constant operand b for kernel k: the model's shared copy when b is
   an initializer (*shared = true), else the kernel's own (free with e2e_mm_pack_release). */
uint16_t *e2e_bf16_pack_const(const e2e_kernel *k, const e2e_value *b, int64_t sk, int64_t sn,
                              int K, int N, bool *shared);

/* Workspace bytes e2e_bf16_run needs for an M x K by K x N product. */
size_t e2e_bf16_ws_bytes(const e2e_bf16_kernels *bk, int64_t M, int64_t K, int64_t N);
/* C = epi(A P) (A: M x K float32, stride lda; P from e2e_bf16_pack), cut over the pool's
   threads; ws: e2e_bf16_ws_bytes of workspace. fixed_order: a row's result independent of M
   (any_batch sessions, where M is the batch): no dot tiles, and the widen_seq tiles. */
/* C = epi(A P) on the calling thread by the dot tiles (bk->dot), A already in bfloat16 pairs:
   M rows of ceil(K / 2) pairs at stride lda (to_pairs' layout). */
void e2e_bf16_run_pairs(const e2e_bf16_kernels *bk, int M, int N, int K, const uint32_t *A,
                        int64_t lda, const uint16_t *P, float *C, int64_t ldc, const e2e_mm_epi *e);
void e2e_bf16_run(const e2e_bf16_kernels *bk, e2e_pool *pool, int M, int N, int K, const float *A,
                  int64_t lda, const uint16_t *P, float *C, int64_t ldc, const e2e_mm_epi *e,
                  void *ws, bool fixed_order);

#endif
