/* Conv's driver (ops_conv.c) and its SIMD kernels (src/ops/x86/conv_avx2.c, conv_avx512.c):
   the state they share and the table of kernel entry points per instruction set. The driver
   chooses the algorithm and packs the weights at prepare, for the table of the session's level
   (e2e_conv_kernels_for); the kernels compute chunks of output rows. Without a table (the
   generic level, other CPUs) the direct and Winograd algorithms are not used. */
#ifndef E2E_CONV_INTERNAL_H
#define E2E_CONV_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "ops/cpu_isa.h"
#include "ops/op.h"

enum { CONV_GEMM_DIRECT, CONV_DEPTHWISE, CONV_IM2COL, CONV_DIRECT, CONV_WINOGRAD, CONV_BF16 };

/* floats per packed weight tap of the direct kernel (its output channels per group, G, are
   the table's direct_g <= DIRECT_MB) */
#define DIRECT_MB 8
/* Winograd: vectors of tiles per register tile; the product buffer holds, per xi, wino_g
   channels by WINO_TV vectors (wino_bs floats) */
#define WINO_TV 3

typedef struct conv_priv {
    int algo;
    const struct e2e_conv_kernels *ck; /* CONV_DIRECT, CONV_WINOGRAD: the ISA's kernels */
    const struct e2e_conv_bf16_kernels *bk; /* CONV_BF16: its kernels (conv_bf16.c) */
    int64_t N, C, M, G, Cg, Mg;
    int64_t id[3], od[3], kd[3], st[3], dl[3], pb[3]; /* D, H, W */
    int64_t isp, osp, ksp;  /* spatial sizes: input, output, kernel */
    int64_t kdim;           /* Cg * ksp: rows of the im2col matrix */
    int64_t panel;          /* im2col columns per panel */
    /* CONV_DIRECT */
    int64_t pw;             /* padded row length: OW + (KW-1)*dw */
    int64_t rows;           /* output rows per slab */
    int64_t cs;             /* floats per channel in a slab */
    int64_t slab;           /* floats per slab (one per thread: slots) */
    int64_t pad_l, pad_t;   /* left and top padding */
    int threads;
    int slots;              /* workspace slots: one per thread */
    float *wp;              /* packed weights [ceil(M/G)][kdim][8] (G = DIRECT_G) */
    float *bias;            /* M biases, padded to the group (zeros when absent) */
    int32_t *off;           /* per tap (c, ky, kx): offset into the slab (Winograd: per c, into V) */
    /* CONV_WINOGRAD (rows = tile rows per chunk; wp = [ceil(M/WINO_G)][nx][C][WINO_G] transformed,
       nx = 16 or 36 transformed values per filter) */
    int64_t tw, th;         /* wf x wf output tiles per row, tile rows per image */
    int64_t twp;            /* tile row stride in the flat tile list: AVX-512 8 when tw <= 8 (two
                               tile rows per vector), else tw; AVX2 tw rounded up to 8 */
    int64_t tpad;           /* tiles per chunk rounded up to 16: row stride of V */
    int64_t vxs;            /* stride of V between the nx xi: C * tpad and one cache line more,
                               so the planes do not all map to the same L1 sets */
    int64_t v_at, buf_at;   /* offsets of V and of the tile buffer in a task's workspace */
    int wf;                 /* output tile: 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)) */
    /* both */
    int64_t units;          /* work units per image: output rows, tile rows or row pairs */
    bool pool2;             /* ConvMaxPool: a 2x2 / stride 2 max pool of the activated output */
    int64_t ysp;            /* floats per stored output plane */
    /* CONV_BF16 (pw, rows, cs, slab, off, bias as CONV_DIRECT, but cs and off count 32-bit
       channel pairs; rows in work units) */
    int64_t cp;             /* input channel pairs: ceil(C / 2) */
    int64_t grp;            /* output rows per group: products and epilogue of one group of
                               rows, all channels, before the next (the buffer stays in L1) */
    int64_t ldt;            /* floats per channel of the product buffer: grp * pw rounded up */
    int64_t out_at;         /* offset (floats) of the product buffer in a slot */
    int64_t ntap;           /* pair taps per output: cp * KH * KW, less with lone taps */
    int64_t nreg;           /* slab regions of cs pairs: cp, then lone_v's and lone_h's */
    int lone_v, lone_h;     /* odd C, KH * KW > 1: the taps of the lone channel C - 1 paired
                               among themselves (qg's 5 channels: 23 pair taps, not 27): region
                               cp holds its (row y, row y + dh) pairs when lone_v (KH >= 2), for
                               the row pairs (ky, ky + 1), ky even; region cp + lone_v its
                               (column x, column x + dw) pairs when lone_h (KH odd, KW >= 2), for
                               the last row's column pairs; region cp - 1 ((C - 1, zero) pairs)
                               the last row's last column when KW is odd too */
    uint32_t *wpb;          /* weights [ceil(M/8)][ntap][8] bfloat16 pairs (channel 2c low);
                               bwino: [ceil(M/8)][16 xi][cp][8] of the transformed filters */
    bool bwino;             /* CONV_BF16 by Winograd F(2x2, 3x3), ConvMaxPool only: tw, th, twp,
                               vxs, v_at, buf_at as CONV_WINOGRAD (twp a multiple of 16), but V
                               holds one segment (E2E_CONV_BF16_WINO_SEG vectors of 16 tiles:
                               tpad = 16 * SEG per pair) in channel pairs, off[c] = c * tpad;
                               work units are tile rows (= pooled rows) */
} conv_priv;

typedef struct e2e_conv_kernels {
    int vec;                /* lanes per vector */
    int direct_g;           /* output channels per direct register tile (<= DIRECT_MB) */
    int wino_g;             /* output channels per Winograd register tile */
    /* The Winograd output tile for this 2-D 3x3 convolution: 0 (the direct kernel), 2 or 4;
       pooled: a ConvMaxPool */
    int (*wino_tile)(const e2e_kernel *k, const conv_priv *p, bool pooled);
    /* output rows [oy0, oy1) of one image (x: its C planes, y: its M planes), slab: the
       thread's workspace */
    void (*direct_chunk)(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                         float *slab, int64_t oy0, int64_t oy1);
    /* ConvMaxPool: row pairs [q0, q1) */
    void (*direct_chunk_pool)(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                              float *slab, int64_t q0, int64_t q1);
    /* tile rows [ty0, ty1) */
    void (*wino_chunk)(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                       float *ws, int64_t ty0, int64_t ty1);
    /* whether x[0..n) holds no NaN or Inf (ops_conv.c: chunks with them take direct sums) */
    bool (*finite)(const float *x, int64_t n);
} e2e_conv_kernels;

extern const e2e_conv_kernels e2e_conv_avx2, e2e_conv_avx512;

/* Conv's attributes and shapes, for every convolution operator (ops_conv.c): input in[xi],
   weight in[wi], bias in[bi] (bi < 0: none). Fills the geometry fields of *p (the others
   zero) and the output shape *ys; fails with the node's name and the reason. */
e2e_status e2e_conv_geometry(e2e_kernel *k, int xi, int wi, int bi, conv_priv *p, e2e_shape *ys);

/* Convolutions with bfloat16 weights (precision BF16; conv_bf16.c): the direct kernel's flow
   with the input channels taken in pairs. A slot's slab holds the padded input rows as 32-bit
   pairs (bf16 of channel 2c in the low half, 2c + 1 in the high half, zero past C); the
   products run over flat positions f = row * pw + column of the chunk (the columns past OW are
   computed and dropped), in tiles of E2E_CONV_BF16_MR output channels by E2E_CONV_BF16_NT
   positions, each a float32 sum over the pair taps in order: s += w(2c+1) x(2c+1), then
   s += w(2c) x(2c) (VDPBF16PS's order; lone taps: the high, then the low half of the pair),
   into the slot's product buffer, for one group of rows
   (grp) at a time; the epilogue adds the bias, applies the activation and (ConvMaxPool) pools. Every output's sum is the same whatever
   the batch, the chunking or the threads. */
#define E2E_CONV_BF16_MR 8
#define E2E_CONV_BF16_NT 48

/* What a task reads and writes after this chunk, as byte ranges: n streams of len bytes,
   stride apart, for the input rows and for the output rows (the next chunk of this
   convolution, or the first of the next one in a ConvChain). The AVX-512 kernel prefetches
   them while this chunk's tiles run, so the next slab fill reads from cache instead of waiting
   on DRAM. */
typedef struct e2e_conv_bf16_next {
    const char *base[2];          /* [0] input, [1] output */
    int64_t n[2], stride[2], len[2];
} e2e_conv_bf16_next;

/* The ranges of work units [u0, u1) of convolution p on the image at x, y. */
e2e_conv_bf16_next e2e_conv_bf16_next_of(const conv_priv *p, const float *x, float *y,
                                         int64_t u0, int64_t u1);

typedef struct e2e_conv_bf16_kernels {
    const char *name;
    /* work units [u0, u1) (output rows, or row pairs when pooled) of one image; next: the
       task's next chunk, or NULL (a hint: results do not depend on it) */
    void (*chunk)(const e2e_kernel *k, const conv_priv *p, const float *x, float *y, float *ws,
                  int64_t u0, int64_t u1, const e2e_conv_bf16_next *next);
    /* the same for bwino (tile rows [u0, u1)); NULL: no bfloat16 Winograd kernel. false,
       with nothing written to y: the chunk's input rows hold NaN or Inf (the driver then
       takes the direct float32 sums) */
    bool (*wino_chunk)(const e2e_kernel *k, const conv_priv *p, const float *x, float *y,
                       float *ws, int64_t u0, int64_t u1, const e2e_conv_bf16_next *next);
} e2e_conv_bf16_kernels;

/* bwino: vectors of 16 tiles per segment (input transform, products and output transform of
   one segment before the next: its V, 16 KB at 16 channels, the product buffer, 16 KB, and
   one block of U, 4 KB, stay in L1), and floats of the product buffer per xi (8 channels by
   a segment) */
#define E2E_CONV_BF16_WINO_SEG 2
#define E2E_CONV_BF16_WINO_BS (E2E_CONV_BF16_MR * E2E_CONV_BF16_WINO_SEG * 16)

extern const e2e_conv_bf16_kernels e2e_conv_bf16_generic;
#ifdef E2E_X86
extern const e2e_conv_bf16_kernels e2e_conv_bf16_avx512;
#endif
/* The bfloat16 kernels for a session at level isa, or NULL (the float32 kernels run): the
   AVX-512 ones at the AVX-512 level on a CPU with AVX512_BF16 (e2e_cpu_avx512_bf16, so
   E2E_BF16_DOT=0 turns them off). E2E_BF16_CONV in the environment, read at each prepare:
   0 = never, c = the plain C kernels at every level (the reference; slow). */
const e2e_conv_bf16_kernels *e2e_conv_bf16_for(e2e_isa_level isa);
/* Sets up CONV_BF16 in *p (2-D, group 1, stride 1, constant finite weights: the caller checks)
   and moves it to k->priv. pooled: a ConvMaxPool, where a 3x3 convolution of at least 16 input
   channels takes Winograd F(2x2, 3x3) on the bfloat16 products (bwino) when bk has it and
   E2E_BF16_WINO is not 0 in the environment (read at each prepare). */
e2e_status e2e_conv_bf16_prepare(e2e_kernel *k, conv_priv *p, const e2e_conv_bf16_kernels *bk,
                                 bool pooled);

/* Runs the prepared direct, Winograd or bfloat16 convolution k (its conv_priv) on n images of
   X into Y (the kernel's image layout), through k->ws; n may be less than the bound batch.
   after: what follows the last chunk (a prefetch hint for the bfloat16 kernels), or NULL. */
void e2e_conv_run_images(const e2e_kernel *k, const float *X, float *Y, int64_t n,
                         const e2e_conv_bf16_next *after);

#define CONV_INLINE static inline __attribute__((always_inline))

/* Copies input rows [iy0, iy0 + n) of the C planes of x, with their zero padding (rows out of
   the image, pad_l columns on the left, zeros up to pw on the right), into slab rows of pw
   floats, cs floats per channel. row(d, s, nl, nm, pw) may copy one row of the image (nl
   zeros, nm floats of s, zeros to pw) with vector code and return true; the rest take three
   library calls. Inlined into each kernel file with its own row function. */
CONV_INLINE void conv_pad_rows(const conv_priv *p, const float *x, float *slab, int64_t iy0,
                               int64_t n, int64_t cs,
                               bool (*row)(float *, const float *, int64_t, int64_t, int64_t))
{
    const int64_t IH = p->id[1], IW = p->id[2], PW = p->pw;
    const int64_t nl = p->pad_l < PW ? p->pad_l : PW;
    const int64_t nm = IW < PW - nl ? IW : PW - nl;
    for (int64_t c = 0; c < p->C; c++)
        for (int64_t sr = 0; sr < n; sr++) {
            int64_t iy = iy0 + sr;
            float *d = slab + c * cs + sr * PW;
            if (iy < 0 || iy >= IH) {
                memset(d, 0, sizeof(float) * (size_t)PW);
                continue;
            }
            const float *s = x + c * p->isp + iy * IW;
            if (row(d, s, nl, nm, PW))
                continue;
            memset(d, 0, sizeof(float) * (size_t)nl);
            memcpy(d + nl, s, sizeof(float) * (size_t)nm);
            memset(d + nl + nm, 0, sizeof(float) * (size_t)(PW - nl - nm));
        }
}

#endif
