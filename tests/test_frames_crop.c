/* Frame cropping: the centre rule for even and odd sizes, phi wrap-around at both image
   edges, eta zero padding at both image edges, failed seeds, frames wider than the image;
   every case against the closed form of the spec (section 3). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "e2e_frames.h"

/* The spec's closed form, written independently of crop.c. */
static float expect_at(const float *img, int H, int W, int sr, int sc, int h, int w, int r, int q)
{
    int ch = (h % 2 == 0) ? h / 2 - 1 : (h - 1) / 2;
    int cw = (w % 2 == 0) ? w / 2 - 1 : (w - 1) / 2;
    int ir = sr - ch + r;
    if (sr < 0 || ir < 0 || ir >= H)
        return 0;
    int iq = sc - cw + q;
    iq = ((iq % W) + W) % W;
    return img[ir * W + iq];
}

static float *ramp(int H, int W)
{
    float *img = malloc((size_t)H * W * sizeof(float));
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++)
            img[r * W + c] = (float)(r * 1000 + c + 1); /* never 0: padding is visible */
    return img;
}

static void check_crop(const float *img, int H, int W, int sr, int sc, int h, int w)
{
    float *out = malloc((size_t)h * w * sizeof(float));
    memset(out, 0x7f, (size_t)h * w * sizeof(float)); /* garbage: every cell must be written */
    e2e_frame_crop(img, H, W, sr, sc, h, w, out);
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) {
            float e = expect_at(img, H, W, sr, sc, h, w, r, q), g = out[r * w + q];
            if (e != g)
                fail_msg("crop H=%d W=%d seed (%d,%d) %dx%d: [%d][%d] = %g, expected %g", H, W, sr,
                         sc, h, w, r, q, g, e);
        }
    free(out);
}

static void test_centre_rule(void **state)
{
    assert_int_equal(e2e_frame_centre(32), 15);
    assert_int_equal(e2e_frame_centre(125), 62);
    assert_int_equal(e2e_frame_centre(128), 63);
    assert_int_equal(e2e_frame_centre(33), 16);
    assert_int_equal(e2e_frame_centre(1), 0);
    assert_int_equal(e2e_frame_centre(2), 0);
    assert_int_equal(e2e_frame_centre(3), 1);
    assert_int_equal(e2e_frame_centre(4), 1);
}

static void test_seed_lands_on_centre(void **state)
{
    float *img = ramp(280, 360);
    static const int sizes[] = {32, 33, 125, 128};
    for (int s = 0; s < 4; s++) {
        int n = sizes[s], c = e2e_frame_centre(n);
        float *out = malloc((size_t)n * n * sizeof(float));
        e2e_frame_crop(img, 280, 360, 140, 180, n, n, out);
        assert_float_equal(out[c * n + c], img[140 * 360 + 180], 0);
        /* 32x32: rows seed-15 .. seed+16 */
        assert_float_equal(out[0], img[(140 - c) * 360 + 180 - c], 0);
        assert_float_equal(out[(n - 1) * n + n - 1], img[(140 - c + n - 1) * 360 + 180 - c + n - 1], 0);
        free(out);
    }
    free(img);
}

static void test_phi_wrap_both_edges(void **state)
{
    float *img = ramp(280, 360);
    /* 4x4, centre 1: seed column 0 takes column 359 first; seed 359 takes 0 and 1 last */
    float out[16];
    e2e_frame_crop(img, 280, 360, 100, 0, 4, 4, out);
    assert_float_equal(out[4 * 1 + 0], img[100 * 360 + 359], 0);
    assert_float_equal(out[4 * 1 + 1], img[100 * 360 + 0], 0);
    e2e_frame_crop(img, 280, 360, 100, 359, 4, 4, out);
    assert_float_equal(out[4 * 1 + 1], img[100 * 360 + 359], 0);
    assert_float_equal(out[4 * 1 + 2], img[100 * 360 + 0], 0);
    assert_float_equal(out[4 * 1 + 3], img[100 * 360 + 1], 0);
    static const int cols[] = {0, 1, 14, 15, 16, 17, 61, 62, 63, 64, 180, 295, 296, 297, 343,
                               344, 345, 358, 359};
    static const int sizes[] = {32, 33, 125, 128, 4, 5};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            check_crop(img, 280, 360, 140, cols[c], sizes[s], sizes[s]);
    free(img);
}

static void test_eta_padding_both_edges(void **state)
{
    float *img = ramp(280, 360);
    float out[16];
    /* seed row 0, 4x4 (centre 1): frame row 0 is image row -1 -> zeros */
    e2e_frame_crop(img, 280, 360, 0, 100, 4, 4, out);
    for (int q = 0; q < 4; q++)
        assert_float_equal(out[q], 0, 0);
    assert_float_equal(out[4 + 1], img[100], 0);
    /* seed row 279: frame rows 2, 3 are image rows 280, 281 -> zeros */
    e2e_frame_crop(img, 280, 360, 279, 100, 4, 4, out);
    for (int q = 0; q < 4; q++) {
        assert_float_equal(out[8 + q], 0, 0);
        assert_float_equal(out[12 + q], 0, 0);
    }
    assert_float_equal(out[4 + 1], img[279 * 360 + 100], 0);
    static const int rows[] = {0, 1, 2, 14, 15, 16, 17, 61, 62, 63, 64, 65, 140, 153, 154, 155,
                               169, 215, 216, 217, 218, 262, 263, 264, 265, 278, 279};
    static const int sizes[] = {32, 33, 125, 128, 4, 5};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            check_crop(img, 280, 360, rows[r], 7, sizes[s], sizes[s]);
            if (rows[r] < 170)
                check_crop(img, 170, 360, rows[r], 352, sizes[s], sizes[s]); /* the EB view */
        }
    /* a 128-row crop of the jet seed rule's lowest row (62) needs one padded row */
    float *f = malloc(128 * 128 * sizeof(float));
    e2e_frame_crop(img, 280, 360, 62, 180, 128, 128, f);
    for (int q = 0; q < 128; q++)
        assert_float_equal(f[q], 0, 0);
    assert_float_equal(f[128], img[0 * 360 + 180 - 63], 0);
    /* ... while 125 rows fit exactly */
    e2e_frame_crop(img, 280, 360, 62, 180, 125, 125, f);
    assert_float_equal(f[0], img[0 * 360 + 180 - 62], 0);
    /* the highest row (217, ieta +16): 128 rows run to image row 281, two padded rows at the
       bottom (the centre 63 is below the middle); 125 rows end on row 279 exactly */
    e2e_frame_crop(img, 280, 360, 217, 180, 128, 128, f);
    assert_float_equal(f[125 * 128], img[279 * 360 + 180 - 63], 0);
    for (int q = 0; q < 2 * 128; q++)
        assert_float_equal(f[126 * 128 + q], 0, 0);
    assert_float_equal(f[0], img[154 * 360 + 180 - 63], 0);
    e2e_frame_crop(img, 280, 360, 217, 180, 125, 125, f);
    assert_float_equal(f[124 * 125 + 62], img[279 * 360 + 180], 0);
    free(f);
    free(img);
}

static void test_corners_and_odd_shapes(void **state)
{
    float *img = ramp(170, 360);
    static const int seeds[][2] = {{0, 0}, {0, 359}, {169, 0}, {169, 359}, {5, 3}, {165, 357}};
    for (int s = 0; s < 6; s++) {
        check_crop(img, 170, 360, seeds[s][0], seeds[s][1], 32, 32);
        check_crop(img, 170, 360, seeds[s][0], seeds[s][1], 7, 12);
        check_crop(img, 170, 360, seeds[s][0], seeds[s][1], 12, 7);
        check_crop(img, 170, 360, seeds[s][0], seeds[s][1], 1, 1);
        check_crop(img, 170, 360, seeds[s][0], seeds[s][1], 200, 400); /* larger than image */
    }
    free(img);
}

static void test_failed_seed_is_zero(void **state)
{
    float *img = ramp(280, 360);
    float out[32 * 32];
    memset(out, 0x55, sizeof out);
    e2e_frame_crop(img, 280, 360, -1, -1, 32, 32, out);
    for (int i = 0; i < 32 * 32; i++)
        assert_float_equal(out[i], 0, 0);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_centre_rule),
        cmocka_unit_test(test_seed_lands_on_centre),
        cmocka_unit_test(test_phi_wrap_both_edges),
        cmocka_unit_test(test_eta_padding_both_edges),
        cmocka_unit_test(test_corners_and_odd_shapes),
        cmocka_unit_test(test_failed_seed_is_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
