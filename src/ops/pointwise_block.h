/* One block of PointwiseMLP (ops_pointwise.c): PW_LANES positions in GCC's generic vectors,
   compiled once per instruction set. The includer defines PW_LANES, PW_BLOCK_FN (the name
   of the e2e_pw_block_fn made here) and PW_BLOCK_STATIC (static or empty). No header guard:
   meant to be included once per file. */
#include <stdint.h>
#include <string.h>

#include "ops/ops_pointwise.h"

typedef float pw_vec __attribute__((vector_size(PW_LANES * sizeof(float))));
typedef int32_t pw_ivec __attribute__((vector_size(PW_LANES * sizeof(float))));

/* PW_LANES positions starting at x (channel stride s) into y; the output sums accumulate as
   each hidden channel is made, so only Ci + Co vectors stay live. */
static inline __attribute__((always_inline)) void
pw_block_n(const e2e_pw_weights *p, const float *x, float *y, int64_t s, int ci, int ch, int co)
{
    const pw_vec zero = {0};
    pw_vec xv[E2E_POINTWISE_MAX_IN], acc[E2E_POINTWISE_MAX_OUT];
    for (int i = 0; i < ci; i++)
        memcpy(&xv[i], x + i * s, sizeof(pw_vec));
    for (int o = 0; o < co; o++)
        acc[o] = zero + p->b2[o];
    for (int j = 0; j < ch; j++) {
        pw_vec a = zero + p->b1[j];
        for (int i = 0; i < ci; i++)
            a += p->w1[j * ci + i] * xv[i];
        /* Relu as the Relu kernel: zero where a < 0, a NaN kept */
        a = (pw_vec)((pw_ivec)a & ~(pw_ivec)(a < zero));
        for (int o = 0; o < co; o++)
            acc[o] += p->w2[o * ch + j] * a;
    }
    for (int o = 0; o < co; o++)
        memcpy(y + o * s, &acc[o], sizeof(pw_vec));
}

/* ParT's 2 -> 16 -> 4 with constant counts (the accumulators then stay in registers) */
PW_BLOCK_STATIC void PW_BLOCK_FN(const e2e_pw_weights *p, const float *x, float *y, int64_t s)
{
    if (p->ci == 2 && p->ch == 16 && p->co == 4)
        pw_block_n(p, x, y, s, 2, 16, 4);
    else
        pw_block_n(p, x, y, s, p->ci, p->ch, p->co);
}
