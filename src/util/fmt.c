/* Exact float formatting with integer arithmetic: a finite float is m * 2^e exactly (m <
   2^24), so its value scaled by a power of ten is a ratio whose rounding (to nearest, ties
   to even, as glibc's printf rounds in the default mode) is decided by the remainder. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/fmt.h"

size_t e2e_fmt_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return n;
}

size_t e2e_fmt_i64(char *out, int64_t v)
{
    if (v >= 0)
        return e2e_fmt_u64(out, (uint64_t)v);
    out[0] = '-';
    return 1 + e2e_fmt_u64(out + 1, 0 - (uint64_t)v);
}

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

/* |v| = m * 2^e with m an integer (0 < m < 2^24). */
static void split(float v, uint32_t *m, int *e)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    const int be = (int)(b >> 23 & 0xff);
    const uint32_t frac = b & 0x7fffff;
    *m = be ? frac | 0x800000 : frac;
    *e = (be ? be : 1) - 150;
}

/* round(num / 2^k) to nearest, ties to even; k may exceed 127. */
static u128 round_shift(u128 num, int k)
{
    if (k <= 0)
        return num;
    if (k > 127) /* num < 2^127: below one half */
        return 0;
    const u128 q = num >> k, r = num & (((u128)1 << k) - 1), half = (u128)1 << (k - 1);
    return q + (r > half || (r == half && (q & 1)));
}

static const uint64_t pow10_u64[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};

static u128 pow10_u128(int s) /* 0 <= s <= 38 */
{
    return s < 20 ? pow10_u64[s] : (u128)pow10_u64[19] * pow10_u64[s - 19];
}
#endif

size_t e2e_fmt_fixed(char *out, float v, int prec)
{
#ifdef __SIZEOF_INT128__
    uint32_t m;
    int e;
    if (isfinite(v) && prec >= 0 && prec <= 9) {
        split(v, &m, &e);
        /* |v| * 10^prec = m * 10^prec * 2^e; kept below 2^64 for the digits */
        const u128 num = (u128)m * pow10_u64[prec];
        u128 q = e >= 0 ? (e <= 60 ? num << e : (u128)1 << 127) : round_shift(num, -e);
        if (q < ((u128)1 << 63)) {
            uint64_t u = (uint64_t)q;
            size_t n = 0;
            if (signbit(v))
                out[n++] = '-';
            n += e2e_fmt_u64(out + n, u / pow10_u64[prec]);
            if (prec) {
                out[n++] = '.';
                uint64_t f = u % pow10_u64[prec];
                for (int i = prec - 1; i >= 0; i--) {
                    out[n + (size_t)i] = (char)('0' + f % 10);
                    f /= 10;
                }
                n += (size_t)prec;
            }
            out[n] = 0;
            return n;
        }
    }
#endif
    return (size_t)snprintf(out, E2E_FMT_MAX, "%.*f", prec, (double)v);
}

size_t e2e_fmt_g9(char *out, float v)
{
#ifdef __SIZEOF_INT128__
    uint32_t m;
    int e;
    if (isfinite(v) && v != 0) {
        split(v, &m, &e);
        /* decimal exponent x of |v|: |v| * 10^(8 - x) in [10^8, 10^9); the estimate from
           log10 is corrected by the exact comparison below */
        int x = (int)floor(log10(fabs((double)v)));
        for (int tries = 0; tries < 3; tries++) {
            const int s = 8 - x;
            if (s < 0 || s > 38 - 8 || e > 0) /* large values, or beyond 128 bits: printf */
                break;
            /* V = m * 10^s / 2^-e; m * 10^s < 2^24 * 10^30 < 2^124 */
            const u128 num = (u128)m * pow10_u128(s);
            const int k = -e;
            const u128 fl = k > 127 ? 0 : num >> k;
            if (fl >= 1000000000u) {
                x++;
                continue;
            }
            if (fl < 100000000u) {
                x--;
                continue;
            }
            uint64_t d = (uint64_t)round_shift(num, k);
            if (d == 1000000000u) { /* rounded up to the next power of ten */
                d = 100000000u;
                x++;
            }
            char dig[9];
            for (int i = 8; i >= 0; i--) {
                dig[i] = (char)('0' + d % 10);
                d /= 10;
            }
            int last = 8; /* %g drops trailing zeros */
            while (last > 0 && dig[last] == '0')
                last--;
            size_t n = 0;
            if (signbit(v))
                out[n++] = '-';
            if (x < -4 || x >= 9) { /* d.ddde-XX */
                out[n++] = dig[0];
                if (last > 0) {
                    out[n++] = '.';
                    memcpy(out + n, dig + 1, (size_t)last);
                    n += (size_t)last;
                }
                out[n++] = 'e';
                out[n++] = x < 0 ? '-' : '+';
                const int ax = x < 0 ? -x : x;
                if (ax < 10)
                    out[n++] = '0';
                n += e2e_fmt_u64(out + n, (uint64_t)ax);
            } else if (x >= 0) { /* x + 1 integer digits */
                memcpy(out + n, dig, (size_t)x + 1);
                n += (size_t)x + 1;
                if (last > x) {
                    out[n++] = '.';
                    memcpy(out + n, dig + x + 1, (size_t)(last - x));
                    n += (size_t)(last - x);
                }
            } else { /* 0.000ddd */
                out[n++] = '0';
                out[n++] = '.';
                for (int i = 0; i < -x - 1; i++)
                    out[n++] = '0';
                memcpy(out + n, dig, (size_t)last + 1);
                n += (size_t)last + 1;
            }
            out[n] = 0;
            return n;
        }
    }
#endif
    return (size_t)snprintf(out, E2E_FMT_MAX, "%.9g", (double)v);
}
