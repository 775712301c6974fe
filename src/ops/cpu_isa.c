/* The CPU feature table (cpu_isa.h): filled once from cpuid and xgetbv. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu_isa.h"

#ifdef E2E_X86
#include <cpuid.h>

/* xgetbv(0) without -mxsave: the OS-enabled register state (XCR0). */
static unsigned long long xcr0(void)
{
    unsigned lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static e2e_isa_level detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return E2E_ISA_GENERIC;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28),
               f16c = c & (1u << 29);
    if (!osxsave || !avx || !fma || !f16c)
        return E2E_ISA_GENERIC;
    const unsigned long long x = xcr0();
    if ((x & 0x6) != 0x6) /* XMM and YMM state */
        return E2E_ISA_GENERIC;
    if (__get_cpuid_max(0, NULL) < 7)
        return E2E_ISA_GENERIC;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(b & (1u << 5))) /* AVX2 */
        return E2E_ISA_GENERIC;
    /* AVX-512 F, DQ, BW, VL and the opmask, ZMM_Hi256 and Hi16_ZMM state */
    const unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
    if ((b & need) == need && (x & 0xE6) == 0xE6)
        return E2E_ISA_AVX512;
    return E2E_ISA_AVX2;
}

/* cpuid leaf 7 subleaf 1, EAX (0 when the CPU has no subleaf 1) */
static unsigned leaf7_1_eax(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (a < 1) /* no subleaf 1 */
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return a;
}

static bool detect_bf16(void) { return detect() == E2E_ISA_AVX512 && (leaf7_1_eax() & (1u << 5)); }
static bool detect_avx_vnni(void) { return detect() >= E2E_ISA_AVX2 && (leaf7_1_eax() & (1u << 4)); }
#else
static e2e_isa_level detect(void) { return E2E_ISA_GENERIC; }
static bool detect_bf16(void) { return false; }
static bool detect_avx_vnni(void) { return false; }
#endif

int e2e_isa_parse(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "auto") || !*s)
        return E2E_ISA_AUTO;
    if (!strcmp(s, "generic"))
        return E2E_ISA_GENERIC;
    if (!strcmp(s, "avx2"))
        return E2E_ISA_AVX2;
    if (!strcmp(s, "avx512"))
        return E2E_ISA_AVX512;
    return -1;
}

const char *e2e_isa_name(e2e_isa_level isa)
{
    switch (isa) {
    case E2E_ISA_GENERIC: return "generic";
    case E2E_ISA_AVX2: return "avx2";
    case E2E_ISA_AVX512: return "avx512";
    default: return "auto";
    }
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static e2e_isa_level cpu_level, process_level;
static bool cpu_bf16, cpu_avx_vnni;

static void init(void)
{
    cpu_level = detect();
    const char *dot = getenv("E2E_BF16_DOT");
    cpu_bf16 = detect_bf16() && !(dot && !strcmp(dot, "0"));
    cpu_avx_vnni = detect_avx_vnni();
    process_level = cpu_level;
    /* an unknown value caps nothing: the command line reports it (e2e_cli_check_isa) */
    int env = e2e_isa_parse(getenv("E2E_ISA"));
    if (env > E2E_ISA_AUTO && env < (int)process_level)
        process_level = (e2e_isa_level)env;
}

e2e_isa_level e2e_cpu_isa(void)
{
    pthread_once(&once, init);
    return cpu_level;
}

e2e_isa_level e2e_isa_default(void)
{
    pthread_once(&once, init);
    return process_level;
}

bool e2e_cpu_avx512_bf16(void)
{
    pthread_once(&once, init);
    return cpu_bf16;
}

bool e2e_cpu_avx_vnni(void)
{
    pthread_once(&once, init);
    const char *e = getenv("E2E_AVX_VNNI");
    return cpu_avx_vnni && !(e && !strcmp(e, "0"));
}

e2e_isa_level e2e_isa_select(e2e_isa_level want)
{
    e2e_isa_level p = e2e_isa_default();
    return want > E2E_ISA_AUTO && want < p ? want : p;
}
