/* The packed GEMM's AVX-512 kernels as the library builds them (x86/mm_avx512.c with the
   Makefile's ISA flags) against the same file compiled with other flags (bench/mm_flags.sh:
   -march=native by default, the pre-dispatch build's flags), on the ViT-Ti products at batch
   32, alternating in one process and timed in thread CPU time, so that the other jobs of a
   shared machine weigh on both alike. Checks that both give the same bits. Not part of the
   library or of make check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/mm_packed.h"

extern const e2e_mm_kernels e2e_mm_avx512_other; /* mm_avx512.c under the other flags */

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float urand(void) { return (float)rand() / (float)RAND_MAX - 0.5f; }

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? atoi(argv[1]) : 100;
    if (reps < 1)
        return 2;
    enum { M = 2080, SHAPES = 4 }; /* 32 x 65 tokens of qg_vit */
    static const struct { const char *name; int N, K; e2e_act act; int res; } sh[SHAPES] = {
        {"qkv", 576, 192, E2E_ACT_NONE, 0},
        {"proj+res", 192, 192, E2E_ACT_NONE, 1},
        {"fc1+gelu", 768, 192, E2E_ACT_GELU, 0},
        {"fc2+res", 192, 768, E2E_ACT_NONE, 1},
    };
    const e2e_mm_kernels *mk[2] = {&e2e_mm_avx512, &e2e_mm_avx512_other};
    float *A = malloc(sizeof(float) * M * 768), *R = malloc(sizeof(float) * M * 768);
    float *C[2] = {malloc(sizeof(float) * M * 768), malloc(sizeof(float) * M * 768)};
    float *bias = malloc(sizeof(float) * 768), *P[SHAPES];
    double *t = malloc(sizeof(double) * (size_t)reps * SHAPES * 2);
    if (!A || !R || !C[0] || !C[1] || !bias || !t)
        return 1;
    for (int i = 0; i < M * 768; i++) {
        A[i] = urand();
        R[i] = urand();
    }
    for (int i = 0; i < 768; i++)
        bias[i] = urand();
    for (int s = 0; s < SHAPES; s++) {
        float *B = malloc(sizeof(float) * (size_t)sh[s].N * sh[s].K);
        P[s] = malloc(sizeof(float) * e2e_mm_packed_floats(mk[0], sh[s].K, sh[s].N));
        if (!B || !P[s])
            return 1;
        for (int i = 0; i < sh[s].N * sh[s].K; i++)
            B[i] = urand();
        mk[0]->pack(B, sh[s].N, 1, sh[s].K, sh[s].N, P[s]);
        free(B);
    }
    int differ = 0;
    for (int r = 0; r < reps; r++)
        for (int s = 0; s < SHAPES; s++)
            for (int q = 0; q < 2; q++) {
                const int w = (q + r) & 1; /* the order swapped every round */
                e2e_mm_epi e = {.scale = 1.f, .bias = bias, .res = sh[s].res ? R : NULL,
                                .ldr = sh[s].N, .act = sh[s].act};
                double t0 = cpu_ms();
                e2e_mm_run(mk[w], M, sh[s].N, sh[s].K, A, sh[s].K, P[s], C[w], sh[s].N, &e);
                t[((size_t)s * 2 + w) * reps + r] = cpu_ms() - t0;
                if (q == 1 && memcmp(C[0], C[1], sizeof(float) * M * (size_t)sh[s].N))
                    differ = 1;
            }
    printf("# M %d, %d alternating repetitions, thread CPU ms (medians); ratio = other / library\n", M, reps);
    double sum[2] = {0, 0};
    for (int s = 0; s < SHAPES; s++) {
        double med[2];
        for (int w = 0; w < 2; w++) {
            double *x = t + ((size_t)s * 2 + w) * reps;
            qsort(x, (size_t)reps, sizeof *x, cmp_double);
            med[w] = reps % 2 ? x[reps / 2] : 0.5 * (x[reps / 2 - 1] + x[reps / 2]);
            sum[w] += med[w];
        }
        printf("%-9s %dx%dx%d  library %.4f  other %.4f  ratio %.3f\n", sh[s].name, M, sh[s].N,
               sh[s].K, med[0], med[1], med[1] / med[0]);
    }
    printf("all       library %.4f  other %.4f  ratio %.3f\n", sum[0], sum[1], sum[1] / sum[0]);
    printf("outputs %s\n", differ ? "DIFFER" : "bit-identical");
    return differ;
}
