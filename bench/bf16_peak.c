/* The ceiling of --precision bf16 on this CPU: throughput and latency of AVX-512 VDPBF16PS
   (32 bfloat16 products summed in pairs into 16 float32 lanes) against VFMADD231PS (16
   products), zmm registers, independent accumulator chains, thread CPU time (so that other
   processes' share of the machine does not count). Not part of the build:

       cc -O2 -o /tmp/bf16_peak bench/bf16_peak.c && /tmp/bf16_peak

   Prints ns per instruction for 8, 16 and 24 chains, GFLOP/s (a product and a sum = 2 FLOP),
   one chain's latency, and then a 12 x 32 register tile like the engine's (12 rows broadcast,
   two 16-lane panels, K = 192, all in L1). Results: docs/benchmarks.md, "bf16 weights". */
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define ITERS 10000000L
#define BF16 __attribute__((target("avx512f,avx512bf16"), noinline))
#define FMA __attribute__((target("avx512f,fma"), noinline))

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* NC chains; the empty asm keeps the operands in registers and the loop from being folded */
#define CHAINS(NAME, ATTR, T, INIT, OP)                                                           \
    ATTR static float NAME(void)                                                                  \
    {                                                                                             \
        __m512 c[NC];                                                                             \
        for (int i = 0; i < NC; i++)                                                              \
            c[i] = _mm512_setzero_ps();                                                           \
        T a = INIT, b = INIT;                                                                     \
        for (long it = 0; it < ITERS; it++) {                                                     \
            _Pragma("GCC unroll 32") for (int i = 0; i < NC; i++) c[i] = OP;                      \
            __asm__ volatile("" : "+v"(a), "+v"(b));                                              \
        }                                                                                         \
        __m512 s = c[0];                                                                          \
        for (int i = 1; i < NC; i++)                                                              \
            s = _mm512_add_ps(s, c[i]);                                                           \
        return _mm512_reduce_add_ps(s);                                                           \
    }

#define BH_ONE ((__m512bh)_mm512_set1_epi32(0x3f803f80)) /* bfloat16 pairs (1, 1) */
#define NC 1
CHAINS(fma1, FMA, __m512, _mm512_set1_ps(1e-9f), _mm512_fmadd_ps(a, b, c[i]))
CHAINS(dot1, BF16, __m512bh, BH_ONE, _mm512_dpbf16_ps(c[i], a, b))
#undef NC
#define NC 8
CHAINS(fma8, FMA, __m512, _mm512_set1_ps(1e-9f), _mm512_fmadd_ps(a, b, c[i]))
CHAINS(dot8, BF16, __m512bh, BH_ONE, _mm512_dpbf16_ps(c[i], a, b))
#undef NC
#define NC 16
CHAINS(fma16, FMA, __m512, _mm512_set1_ps(1e-9f), _mm512_fmadd_ps(a, b, c[i]))
CHAINS(dot16, BF16, __m512bh, BH_ONE, _mm512_dpbf16_ps(c[i], a, b))
#undef NC
#define NC 24
CHAINS(fma24, FMA, __m512, _mm512_set1_ps(1e-9f), _mm512_fmadd_ps(a, b, c[i]))
CHAINS(dot24, BF16, __m512bh, BH_ONE, _mm512_dpbf16_ps(c[i], a, b))
#undef NC

enum { TK = 192, TQ = TK / 2, TREPS = 200000 };
static float af[12 * TK], pf[TK * 32];
static unsigned ab[12 * TQ];
static unsigned short pb[TQ * 64];

FMA static float tile_fma(void)
{
    __m512 c0[12], c1[12];
    for (int i = 0; i < 12; i++)
        c0[i] = c1[i] = _mm512_setzero_ps();
    for (int r = 0; r < TREPS; r++) {
        const float *p = pf;
        for (int k = 0; k < TK; k++, p += 32) {
            const __m512 b0 = _mm512_loadu_ps(p), b1 = _mm512_loadu_ps(p + 16);
            _Pragma("GCC unroll 12") for (int i = 0; i < 12; i++) {
                const __m512 x = _mm512_set1_ps(af[i * TK + k]);
                c0[i] = _mm512_fmadd_ps(x, b0, c0[i]);
                c1[i] = _mm512_fmadd_ps(x, b1, c1[i]);
            }
        }
    }
    __m512 s = _mm512_setzero_ps();
    for (int i = 0; i < 12; i++)
        s = _mm512_add_ps(s, _mm512_add_ps(c0[i], c1[i]));
    return _mm512_reduce_add_ps(s);
}

BF16 static float tile_dot(void)
{
    __m512 c0[12], c1[12];
    for (int i = 0; i < 12; i++)
        c0[i] = c1[i] = _mm512_setzero_ps();
    for (int r = 0; r < TREPS; r++) {
        const unsigned short *p = pb;
        for (int q = 0; q < TQ; q++, p += 64) {
            const __m512bh b0 = (__m512bh)_mm512_loadu_si512(p);
            const __m512bh b1 = (__m512bh)_mm512_loadu_si512(p + 32);
            _Pragma("GCC unroll 12") for (int i = 0; i < 12; i++) {
                const __m512bh x = (__m512bh)_mm512_set1_epi32((int)ab[i * TQ + q]);
                c0[i] = _mm512_dpbf16_ps(c0[i], x, b0);
                c1[i] = _mm512_dpbf16_ps(c1[i], x, b1);
            }
        }
    }
    __m512 s = _mm512_setzero_ps();
    for (int i = 0; i < 12; i++)
        s = _mm512_add_ps(s, _mm512_add_ps(c0[i], c1[i]));
    return _mm512_reduce_add_ps(s);
}

typedef float (*bench_fn)(void);

static double run_s(bench_fn f, volatile float *sink)
{
    const double t = cpu_s();
    *sink = f();
    return cpu_s() - t;
}

int main(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bf16")) {
        printf("this CPU has no AVX-512 F + AVX512_BF16: nothing to measure\n");
        return 0;
    }
    volatile float sink;
    static const struct { int nc; bench_fn f, d; } set[] = {
        {8, fma8, dot8}, {16, fma16, dot16}, {24, fma24, dot24}};
    for (int i = 0; i < 12 * TK; i++)
        af[i] = 1.f;
    for (int i = 0; i < TK * 32; i++)
        pf[i] = 1e-9f;
    for (int i = 0; i < 12 * TQ; i++)
        ab[i] = 0x3f803f80u;
    for (int i = 0; i < TQ * 64; i++)
        pb[i] = 0x3000; /* a small bfloat16 */
    for (int round = 1; round <= 3; round++) {
        printf("round %d\n", round);
        for (int s = 0; s < 3; s++) {
            const double n = (double)set[s].nc * ITERS;
            const double tf = run_s(set[s].f, &sink), td = run_s(set[s].d, &sink);
            printf("  %2d chains: VFMADD231PS %.3f ns/instr (%.0f GFLOP/s), VDPBF16PS %.3f ns/instr "
                   "(%.0f GFLOP/s): %.2fx the FLOPs\n",
                   set[s].nc, 1e9 * tf / n, 32 * n / tf * 1e-9, 1e9 * td / n, 64 * n / td * 1e-9,
                   (64 * n / td) / (32 * n / tf));
        }
        const double lf = run_s(fma1, &sink), ld = run_s(dot1, &sink);
        printf("  latency (1 chain): VFMADD231PS %.2f ns, VDPBF16PS %.2f ns\n", 1e9 * lf / ITERS,
               1e9 * ld / ITERS);
        const double flop = 2.0 * 12 * 32 * TK * TREPS;
        const double tf = run_s(tile_fma, &sink), td = run_s(tile_dot, &sink);
        printf("  12x32 tile, K %d, in L1: float32 FMA %.0f GFLOP/s, VDPBF16PS %.0f GFLOP/s: %.2fx\n",
               TK, flop / tf * 1e-9, flop / td * 1e-9, tf / td);
    }
    return 0;
}
