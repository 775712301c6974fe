/* Single-precision GEMM with a pre-packed right operand, for the transformer products:
   MatMul by a constant weight (packed once at prepare) and the two products of fused
   attention (packed per head at run, into the workspace).

   B (K x N) is stored as panels of NR columns, k-major inside a panel (panel p holds
   B[k][p*NR + j] at P[(p*K + k)*NR + j], zero-padded past N). One register tile of
   MR x NR outputs (12 x 32 with AVX-512, 6 x 16 otherwise) accumulates over the whole K, so every output is a
   plain sequential sum over k: the result does not depend on the thread count or on how
   the work is cut. The epilogue scales, adds a per-column bias and a residual tensor and
   applies the fused activation while the tile is in cache.

   The fused attention kernel (op "Attention", made by engine/passes/fuse_attention.c; never in an ONNX
   file) computes softmax(scale * Q K^T) V for every batch/head, reading Q, K^T and V and
   writing the output through strided views of the tensors the graph materialised, so the
   Reshape/Transpose/Gather nodes around attention disappear. Nothing allocates at run.

   The register tiles, the packing and the softmax are per instruction set (e2e_mm_kernels:
   src/ops/mm_generic.c, src/ops/x86/mm_avx2.c, mm_avx512.c), chosen by the caller's
   e2e_kernel.isa at prepare; NR (and so the packed layout) belongs to the table. */
#ifndef E2E_MM_PACKED_H
#define E2E_MM_PACKED_H

#include <math.h>

#include "ops/op.h"

typedef struct e2e_mm_epi {
    float scale;            /* multiplies the product; 1 = none */
    const float *bias;      /* [N], added to every row; NULL = none */
    const float *res;       /* residual: res[i * ldr + j] is added; NULL = none */
    int64_t ldr;
    e2e_act act;            /* applied last */
    float act_alpha, act_beta;
} e2e_mm_epi;

/* An MR x NR register tile: C = epi(A (rows row.., lda) times the panel P over K), n <= NR
   columns from col. */
typedef void (*e2e_mm_tile_fn)(int K, const float *A, int64_t lda, const float *P, float *C,
                               int64_t ldc, int n, const e2e_mm_epi *e, int64_t row, int col);

/* One instruction set's kernels. */
typedef struct e2e_mm_kernels {
    int mr, nr;             /* register tile rows; panel columns (the packed layout) */
    /* packs B, element (k, n) at B[k * sk + n * sn], K x N, into P (e2e_mm_packed_floats) */
    void (*pack)(const float *B, int64_t sk, int64_t sn, int K, int N, float *P);
    const e2e_mm_tile_fn *tiles; /* tiles[m] for m = 1 .. mr rows */
    void (*softmax_row)(float *x, int n); /* in place; a row of -inf gives NaN */
    /* cuts count * n consecutive floats of src into count pieces of n, piece i to
       dst + i * ldd (the patch embedding's gather: one image row's patches into their rows) */
    void (*split_row)(const float *src, int n, int count, float *dst, int64_t ldd);
} e2e_mm_kernels;

extern const e2e_mm_kernels e2e_mm_generic, e2e_mm_avx2, e2e_mm_avx512;
/* The kernels of level isa (E2E_ISA_AUTO: the process's level). */
const e2e_mm_kernels *e2e_mm_kernels_for(e2e_isa_level isa);

/* Activations other than ReLU and GELU (which the tiles apply in registers), on a stored
   m x n tile. */
/* The smaller of two ints (the panels' and tiles' edges). */
static inline int e2e_mm_imin(int a, int b) { return a < b ? a : b; }

static inline void e2e_mm_act_rest(int m, int n, float *C, int64_t ldc, const e2e_mm_epi *e)
{
    if (e->act == E2E_ACT_NONE || e->act == E2E_ACT_RELU || e->act == E2E_ACT_GELU)
        return;
    for (int i = 0; i < m; i++)
        e2e_act_apply(e->act, e->act_alpha, e->act_beta, C + i * ldc, n);
}

/* Panel p of the packed layout in plain C (the instruction sets' packs fall back to it):
   columns [n0, n0 + nn) of B into dst, nr columns per k, zeros past nn. */
void e2e_mm_pack_panel(int nr, const float *B, int64_t sk, int64_t sn, int K, int n0, int nn,
                       float *dst);

/* softmax_row's rows that the plain Softmax makes all NaN: fully masked (maximum m = -inf:
   0/0), holding +inf (inf - inf) or a NaN (the caller passes m = NaN then; the vector
   maximum drops NaNs). */
static inline bool e2e_mm_softmax_masked(float *x, int n, float m)
{
    if (isfinite(m))
        return false;
    for (int j = 0; j < n; j++)
        x[j] = NAN;
    return true;
}

/* The packed form of a constant operand b (element (k, n) at data[k * sk + n * sn]) for
   kernel k, made by fn (the k->isa kernels' pack or an equivalent): the model's shared copy when b is
   one of its initializers (*shared = true: never free it), else the kernel's own. NULL when
   out of memory. */
float *e2e_mm_pack_const(const e2e_kernel *k, const e2e_value *b, int64_t sk, int64_t sn, int K,
                         int N, void (*fn)(const float *, int64_t, int64_t, int, int, float *),
                         bool *shared);
/* Frees what e2e_mm_pack_const returned, unless it is shared. */
void e2e_mm_pack_release(float *packed, bool shared);

/* Floats needed by the packed form of a K x N operand for kernels mk. */
size_t e2e_mm_packed_floats(const e2e_mm_kernels *mk, int64_t K, int64_t N);
/* C[i * ldc + j] = epi(sum_k A[i * lda + k] B[k][j]) for i < M, j < N, on the calling thread;
   P packed by mk->pack. */
void e2e_mm_run(const e2e_mm_kernels *mk, int M, int N, int K, const float *A, int64_t lda,
                const float *P, float *C, int64_t ldc, const e2e_mm_epi *e);
/* The same, cut over the pool's threads (rows or panels, whichever operand is larger). */
void e2e_mm_run_pool(const e2e_mm_kernels *mk, e2e_pool *pool, int M, int N, int K,
                     const float *A, int64_t lda, const float *P, float *C, int64_t ldc,
                     const e2e_mm_epi *e);
/* Applies the epilogue (bias, residual, activation; scale 1) to a computed M x N block. */
void e2e_mm_epilogue(int M, int N, float *C, int64_t ldc, const e2e_mm_epi *e);

/* A strided view of a value's data: element (i_0, .., i_{rank-1}) at
   data + offset + sum i_d * strides[d] (in elements). */
typedef struct e2e_view {
    int64_t offset;
    int rank;
    int64_t dims[E2E_MAX_RANK];
    int64_t strides[E2E_MAX_RANK];
} e2e_view;

/* Configuration of a fused attention kernel: set as k->priv (malloc'ed; the op frees it)
   before prepare. in[0], in[1], in[2] hold Q, K^T, V; out[0] the result. Views:
   q [batch.., T, D], kt [batch.., D, S], v [batch.., S, Dv], o [batch.., T, Dv], with equal
   batch dims. With has_bias, in[3] holds an additive bias of the scores (a pair bias, a
   mask of 0 / -inf or -1e9) read through the view bias [batch.., T, S] (stride 0 on the
   dims it broadcasts over): softmax(scale * Q K^T + bias) V, the sum in that order. */
typedef struct e2e_attn_cfg {
    e2e_view q, kt, v, o;
    float scale;
    bool has_bias;
    e2e_view bias;
    /* filled by prepare */
    const struct e2e_mm_kernels *mk;
    int64_t batch;          /* product of the batch dims */
    int qchunks;            /* query-row chunks per (batch, head) unit */
    size_t slot_floats;     /* workspace per thread */
    /* precision BF16 with AVX512_BF16 dot tiles (not any_batch): both products on them, Q, K,
       V and the softmax's probabilities rounded to bfloat16 (ops/mm_bf16.h); NULL: float32 */
    const struct e2e_bf16_kernels *bk;
} e2e_attn_cfg;

extern const e2e_op_def e2e_op_attention;

/* Configuration of a fused patch embedding (op "PatchEmbed", made by engine/passes/fuse_patch_embed.c from a
   ViT's Conv(kernel = stride, no padding) -> Reshape -> Transpose(0, 2, 1)): in[0] = X
   [B, C, H, W], in[1] = the constant weight [E, C, Ph, Pw], in[2] = the bias [E] or NULL;
   out[0] = tokens [B, Hp * Wp, E]. Rows of patches are gathered into the workspace a chunk
   at a time and multiplied by the packed weight. Set as k->priv (malloc'ed) before prepare;
   the op owns it from then on. */
typedef struct e2e_patch_cfg {
    int B, C, H, W, E, Ph, Pw, Hp, Wp;
    /* filled by prepare */
    const struct e2e_mm_kernels *mk;
    int K;                  /* C * Ph * Pw */
    int chunk;              /* patch rows gathered per task step */
    float *packed;          /* the weight as K x E, packed */
    bool shared;            /* packed (or bf) belongs to the model's pack cache */
    /* precision BF16 with AVX512_BF16 dot tiles (not any_batch): the weight packed in
       bfloat16 instead of packed (ops/mm_bf16.h), the products on its kernels */
    uint16_t *bf;
    const struct e2e_bf16_kernels *bk;
} e2e_patch_cfg;

extern const e2e_op_def e2e_op_patch_embed;

#endif
