/* util/roc: the exact AUC against known small cases and a brute-force pairwise count (ties
   and NaN included), the truth classes per tagger, and the ROC PNG (a valid PNG header of
   the expected size, not a blank image). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include "e2e_frames.h"
#include "util/roc.h"

static double auc_of(const float *s, size_t ns, const float *b, size_t nb)
{
    e2e_roc r;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < ns; i++)
        assert_int_equal(e2e_roc_add(&r, s[i], 1), 0);
    for (size_t i = 0; i < nb; i++)
        assert_int_equal(e2e_roc_add(&r, b[i], 0), 0);
    double a = e2e_roc_auc(&r);
    e2e_roc_free(&r);
    return a;
}

/* P(s > b) + P(s = b) / 2 by counting every pair; NaN below every number. */
static double brute(const float *s, size_t ns, const float *b, size_t nb)
{
    double sum = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < nb; j++) {
            int si = isnan(s[i]), bj = isnan(b[j]);
            if (si && bj)
                sum += 0.5;
            else if (si)
                ;
            else if (bj)
                sum += 1;
            else
                sum += s[i] > b[j] ? 1 : s[i] == b[j] ? 0.5 : 0;
        }
    return sum / ((double)ns * nb);
}

static void test_known(void **state)
{
    (void)state;
    const float s1[] = {0.9f, 0.8f}, b1[] = {0.1f, 0.2f, 0.3f};
    assert_true(auc_of(s1, 2, b1, 3) == 1.0);
    assert_true(auc_of(b1, 3, s1, 2) == 0.0);
    const float same[] = {0.5f, 0.5f, 0.5f};
    assert_true(auc_of(same, 3, same, 2) == 0.5);
    /* (0.5, 0.5) ties: 1/2; the other three pairs are won: 3.5 / 4 */
    const float s2[] = {0.5f, 0.7f}, b2[] = {0.5f, 0.3f};
    assert_true(auc_of(s2, 2, b2, 2) == 0.875);
    /* one NaN signal ranks lowest: loses to both backgrounds */
    const float s3[] = {NAN, 0.6f}, b3[] = {0.2f, 0.4f};
    assert_true(auc_of(s3, 2, b3, 2) == 0.5);
    assert_true(isnan(auc_of(s1, 2, NULL, 0)));
    assert_true(isnan(auc_of(NULL, 0, b1, 3)));
}

static void test_against_brute_force(void **state)
{
    (void)state;
    uint64_t x = 12345;
    for (int trial = 0; trial < 200; trial++) {
        size_t ns = 1 + trial % 37, nb = 1 + (trial * 7) % 53;
        int levels = 1 + trial % 9; /* few levels: many ties */
        float *s = malloc(ns * sizeof *s), *b = malloc(nb * sizeof *b);
        for (size_t i = 0; i < ns + nb; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            int v = (int)((x >> 33) % (levels + (trial % 5 == 0)));
            float f = v == levels ? NAN : (float)v / levels;
            if (i < ns)
                s[i] = f + (trial % 3 == 0 ? 0.1f : 0.0f); /* shift: an AUC away from 0.5 */
            else
                b[i - ns] = f;
        }
        double want = brute(s, ns, b, nb), got = auc_of(s, ns, b, nb);
        assert_true(fabs(got - want) < 1e-12);
        free(s);
        free(b);
    }
}

static void test_classes(void **state)
{
    (void)state;
    assert_int_equal(e2e_roc_class("eg", E2E_TRUTH_PHOTON), 1);
    assert_int_equal(e2e_roc_class("eg", E2E_TRUTH_ELECTRON), 0);
    assert_int_equal(e2e_roc_class("eg", E2E_TRUTH_QUARK), -1);
    assert_int_equal(e2e_roc_class("qg", E2E_TRUTH_QUARK), 1);
    assert_int_equal(e2e_roc_class("qg", E2E_TRUTH_GLUON), 0);
    assert_int_equal(e2e_roc_class("qg", E2E_TRUTH_TOP), -1);
    assert_int_equal(e2e_roc_class("top", E2E_TRUTH_TOP), 1);
    assert_int_equal(e2e_roc_class("top", E2E_TRUTH_GLUON), 0);
    assert_int_equal(e2e_roc_class("top", E2E_TRUTH_TAU), -1);
    assert_int_equal(e2e_roc_class("tau", E2E_TRUTH_TAU), 1);
    assert_int_equal(e2e_roc_class("tau", E2E_TRUTH_QUARK), 0);
    assert_int_equal(e2e_roc_class("tau", E2E_TRUTH_TOP), -1);
    assert_int_equal(e2e_roc_class("tau", E2E_TRUTH_UNKNOWN), -1);
    assert_string_equal(e2e_roc_background_name("top"), "QCD");
}

static void test_png(void **state)
{
    (void)state;
    e2e_roc r[2];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 300; i++) {
        e2e_roc_add(&r[0], (float)(i % 17) / 17.0f, i % 2);
        e2e_roc_add(&r[1], (float)i / 300.0f, i >= 150);
    }
    e2e_roc *rocs[2] = {&r[0], &r[1]};
    const char *names[2] = {"eg", "top"};
    char path[] = "/tmp/test_roc_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    e2e_error err;
    assert_int_equal(e2e_roc_png(path, rocs, names, 2, &err), E2E_OK);

    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_stdio(&img, f));
    assert_true(img.width >= 400 && img.height >= 400);
    img.format = PNG_FORMAT_RGB;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
    fclose(f);
    /* not blank: dark (text, axes) and coloured (curves) pixels */
    size_t dark = 0, red = 0, green = 0;
    for (size_t i = 0; i < (size_t)img.width * img.height; i++) {
        const uint8_t *p = px + 3 * i;
        dark += p[0] < 60 && p[1] < 60 && p[2] < 60;
        red += p[0] > 180 && p[1] < 80 && p[2] < 80;
        green += p[1] > 120 && p[0] < 80 && p[2] < 80;
    }
    assert_true(dark > 2000);
    assert_true(red > 300 && green > 300);
    free(px);
    if (getenv("TEST_ROC_KEEP"))
        printf("kept %s\n", path);
    else
        remove(path);
    /* an unwritable path fails with its name */
    assert_int_not_equal(e2e_roc_png("/nonexistent-dir/roc.png", rocs, names, 2, &err), E2E_OK);
    assert_non_null(strstr(err.message, "/nonexistent-dir/roc.png"));
    e2e_roc_free(&r[0]);
    e2e_roc_free(&r[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_against_brute_force),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_png),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
