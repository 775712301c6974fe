/* Fast, exact number formatting for the predictions CSV: the same characters as printf's
   "%.Nf" and "%.9g" of a float (promoted to double), without printf's cost per number
   (its multi-precision path and format parsing dominate e2e run's output stage). Values the
   fast path does not cover (NaN, Inf, magnitudes beyond the 128-bit arithmetic) go through
   snprintf, so every float prints as printf would. Thread-safe (no state). */
#ifndef E2E_UTIL_FMT_H
#define E2E_UTIL_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Longest output of the functions below, with the terminating 0. */
#define E2E_FMT_MAX 64

/* printf("%.*f", prec, (double)v) for prec 0..9; returns the length written to out (at
   least E2E_FMT_MAX bytes), 0-terminated. */
size_t e2e_fmt_fixed(char *out, float v, int prec);
/* printf("%.9g", (double)v): every digit a float needs to round-trip. */
size_t e2e_fmt_g9(char *out, float v);
/* printf("%llu") and printf("%lld"). */
size_t e2e_fmt_u64(char *out, uint64_t v);
size_t e2e_fmt_i64(char *out, int64_t v);

#endif
