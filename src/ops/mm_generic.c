/* The packed GEMM's register tiles, B packing and the attention softmax in plain C
   (mm_packed.h), for CPUs without AVX2 and other architectures: 6 x 16 tiles in the
   compiler's generic vectors (SSE or scalar code), panels of 16 columns. */
#include <math.h>
#include <string.h>

#include "ops/mm_packed.h"
#include "ops/vmath.h"

#define MR 6
#define NR 16


static void pack(const float *B, int64_t sk, int64_t sn, int K, int N, float *P)
{
    int np = (N + NR - 1) / NR;
    for (int p = 0; p < np; p++) {
        int n0 = p * NR, nn = e2e_mm_imin(N - n0, NR);
        float *dst = P + (size_t)p * (size_t)K * NR;
        e2e_mm_pack_panel(NR, B, sk, sn, K, n0, nn, dst);
    }
}

/* m x 16 (m <= 6) in the compiler's generic vectors: a plain sequential sum over k per
   output, then the epilogue. */
typedef float mm_v8 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) void tile(const int m, const int nv, int K, const float *A,
                                                       int64_t lda, const float *P, float *C, int64_t ldc,
                                                       int n, const e2e_mm_epi *e, int64_t row, int col)
{
    (void)nv;
    mm_v8 c[MR][NR / 8];
    const float *a[MR];
    memset(c, 0, sizeof c);
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) a[i] = A + (i < m ? i : 0) * lda;
    for (int k = 0; k < K; k++) {
        mm_v8 b[NR / 8];
        memcpy(b, P, sizeof b);
        P += NR;
        _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)
        {
            if (i < m) {
                const float av = a[i][k];
                const mm_v8 ai = {av, av, av, av, av, av, av, av};
                _Pragma("GCC unroll 4") for (int v = 0; v < NR / 8; v++) c[i][v] += ai * b[v];
            }
        }
    }
    for (int i = 0; i < m; i++) {
        float t[NR];
        memcpy(t, c[i], sizeof t);
        float *y = C + i * ldc;
        const float *r = e->res ? e->res + (row + i) * e->ldr + col : NULL;
        for (int j = 0; j < n; j++) {
            float x = t[j];
            if (e->scale != 1.f)
                x *= e->scale;
            if (e->bias)
                x += e->bias[col + j];
            if (r)
                x = r[j] + x;
            if (e->act == E2E_ACT_RELU)
                x = x < 0.f ? 0.f : x; /* the Relu kernel's form: a NaN stays NaN */
            y[j] = x;
        }
        if (e->act == E2E_ACT_GELU)
            e2e_gelu_f32(y, y, n);
    }
    e2e_mm_act_rest(m, n, C, ldc, e);
}

#include "ops/mm_tiles.h"

/* Row softmax in place over n values. */
static void softmax_row(float *x, int n)
{
    float m = -INFINITY;
    int j = 0;
    for (; j < n; j++)
        m = x[j] > m ? x[j] : m;
    if (e2e_mm_softmax_masked(x, n, m))
        return;
    float sum;
    sum = 0.f;
    for (j = 0; j < n; j++) {
        x[j] = expf(x[j] - m);
        sum += x[j];
    }
    float inv = 1.f / sum;
    for (j = 0; j < n; j++)
        x[j] *= inv;
}

/* count pieces of n floats, piece i from src + i * n to dst + i * ldd */
static void split_row(const float *src, int n, int count, float *dst, int64_t ldd)
{
    for (int i = 0; i < count; i++, src += n, dst += ldd)
        for (int j = 0; j < n; j++) /* short pieces: no memcpy call each */
            dst[j] = src[j];
}

const e2e_mm_kernels e2e_mm_generic = {MR, NR, pack, tiles, softmax_row, split_row};
