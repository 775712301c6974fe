/* Which instruction set the SIMD kernels use (docs/instruction-sets.md).

   The CPU's level is read once (cpuid, and xgetbv for the operating system's support of the
   AVX and AVX-512 register state) and capped by the environment variable E2E_ISA (generic,
   avx2 or avx512); a session may cap it further (e2e_session_options.isa), and its kernels
   take their entry points for that level at prepare (e2e_kernel.isa), so run() pays nothing
   for the choice. Kernels for each level live in src/ops/x86 (files named _avx2.c and _avx512.c), each
   compiled with its own -m flags; everything else is plain C for any x86-64 (or other CPU). */
#ifndef E2E_CPU_ISA_H
#define E2E_CPU_ISA_H

#include <stdbool.h>

#include "e2e.h"

#if defined(__x86_64__) || defined(__i386__)
#define E2E_X86 1 /* the src/ops/x86 kernels are built */
#endif

/* The level for a session that asks for `want` (E2E_ISA_AUTO: no cap of its own). */
e2e_isa_level e2e_isa_select(e2e_isa_level want);
/* Whether the CPU has AVX512_BF16 (cpuid leaf 7 subleaf 1, EAX bit 5) on top of the AVX-512
   level: the bfloat16 dot-product kernels (ops/mm_bf16.h) run at the AVX-512 level when it
   does. The environment variable E2E_BF16_DOT=0 turns them off (tests, comparisons). */
bool e2e_cpu_avx512_bf16(void);
/* Whether the CPU has AVX-VNNI (cpuid leaf 7 subleaf 1, EAX bit 4: vpdpbusd on 256-bit
   vectors) on top of the AVX2 level: the AVX2 integer kernels use it (ops/qgemm.h). The
   environment variable E2E_AVX_VNNI=0 turns it off; unlike E2E_BF16_DOT it is read at each
   call, so a test can run both kernel sets in one process. */
bool e2e_cpu_avx_vnni(void);
/* Parses "generic", "avx2", "avx512" (and "auto"); -1 when unknown. */
int e2e_isa_parse(const char *s);

#endif
