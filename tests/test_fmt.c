/* The CSV number formatting (src/util/fmt.c) against printf itself: "%.9g" and "%.Nf" of
   floats, on halfway cases (ties to even), powers of ten and their neighbours, zeros,
   denormals, NaN and Inf, integers, and 300 000 pseudo-random bit patterns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/fmt.h"

/* %.9g and %.4f (the CSV's), and with all_prec every %.Nf, N = 0..9 */
static void check_prec(float v, int all_prec)
{
    char want[E2E_FMT_MAX], got[E2E_FMT_MAX];
    int n = snprintf(want, sizeof want, "%.9g", (double)v);
    size_t m = e2e_fmt_g9(got, v);
    if ((size_t)n != m || strcmp(want, got))
        fail_msg("%%.9g of %a: printf \"%s\", e2e_fmt_g9 \"%s\" (%zu)", (double)v, want, got, m);
    for (int p = all_prec ? 0 : 4; p <= (all_prec ? 9 : 4); p++) {
        n = snprintf(want, sizeof want, "%.*f", p, (double)v);
        if (n >= E2E_FMT_MAX) /* huge values: printf's own length */
            continue;
        m = e2e_fmt_fixed(got, v, p);
        if ((size_t)n != m || strcmp(want, got))
            fail_msg("%%.%df of %a: printf \"%s\", e2e_fmt_fixed \"%s\"", p, (double)v, want, got);
    }
}

static void check_float(float v) { check_prec(v, 1); }

static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static void test_special_values(void **state)
{
    const float v[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 0.03125f, 0.00005f, 0.00015f,
                       1.001953125f, 2.5f, 0.125f, 1e-5f, 1e-4f, 9.9999999e-5f, 0.0001f,
                       99999.99f, 999999999.0f, 1e9f, 123456789.0f, 16777216.0f, 8388608.5f,
                       0.99999999f, 0.999999940f, 9.99999905f, 3.40282347e38f, 1.17549435e-38f,
                       1.4e-45f, 1e-22f, 1e-23f, 0.1f, 0.2f, 0.3f, 65.4321f, 659.48f, -2.302f,
                       (float)NAN, -(float)NAN, (float)INFINITY, -(float)INFINITY};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        check_float(v[i]);
        check_float(-v[i]);
    }
    /* powers of ten and their neighbours, and halves of odd multiples of 2^-k (ties) */
    for (int x = -30; x <= 30; x++) {
        float p = (float)pow(10, x);
        check_float(p);
        check_float(nextafterf(p, 0));
        check_float(nextafterf(p, INFINITY));
    }
    for (int k = 1; k <= 30; k++)
        for (int j = 1; j < 64; j += 2) {
            check_float((float)ldexp(j, -k));
            check_float(1.0f + (float)ldexp(j, -k));
            check_float((float)(1000 + ldexp(j, -k)));
        }
}

static void test_random_floats(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t b = (uint32_t)(x >> 16);
        if (i & 1) /* half of them in the scores' range (0, 1) */
            b = (b & 0x807fffff) | ((uint32_t)(100 + (x >> 48) % 27) << 23);
        check_prec(from_bits(b), i % 16 == 0);
    }
}

static void test_integers(void **state)
{
    const uint64_t u[] = {0, 1, 9, 10, 99, 100, 4294967295ull, 18446744073709551615ull};
    char want[E2E_FMT_MAX], got[E2E_FMT_MAX];
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        snprintf(want, sizeof want, "%llu", (unsigned long long)u[i]);
        assert_int_equal(e2e_fmt_u64(got, u[i]), strlen(want));
        assert_string_equal(got, want);
    }
    const int64_t s[] = {0, -1, 1, -147, 147, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        snprintf(want, sizeof want, "%lld", (long long)s[i]);
        assert_int_equal(e2e_fmt_i64(got, s[i]), strlen(want));
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_random_floats),
        cmocka_unit_test(test_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
