/* Pre-made frames (src/frames/dataset.c): .npy arrays in NCHW and NHWC (explicit and auto
   layout), float32 and float64, chunked reads, channel selection and order, labels, the
   errors; then a tiny model (Flatten) built with onnx_build run on the converted batch, so
   that the NHWC -> NCHW conversion is checked through a session numerically. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "frames/dataset.h"
#include "onnx/onnx_build.h"
#include "util/npy.h"

#include "op_harness.h"

enum { N = 5, C = 3, H = 4, W = 3 };

static char dir[64];

static float val(int i, int c, int y, int x) { return (float)(i * 1000 + c * 100 + y * 10 + x); }

static void path_of(char *buf, const char *name) { snprintf(buf, 256, "%s/%s", dir, name); }

static void write_f32(const char *name, int rank, const int64_t *dims, const float *data)
{
    char p[256];
    e2e_error err;
    path_of(p, name);
    if (e2e_npy_write(p, E2E_FLOAT, rank, dims, data, &err))
        fail_msg("%s", err.message);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/e2e_dataset_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    float nhwc[N * H * W * C], nchw[N * C * H * W];
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    nhwc[((i * H + y) * W + x) * C + c] = val(i, c, y, x);
                    nchw[((i * C + c) * H + y) * W + x] = val(i, c, y, x);
                }
    write_f32("nhwc.npy", 4, (int64_t[]){N, H, W, C}, nhwc);
    write_f32("nchw.npy", 4, (int64_t[]){N, C, H, W}, nchw);
    /* float64 NCHW, written by hand: the project writer has no float64 */
    char p[256];
    path_of(p, "nchw_f64.npy");
    FILE *f = fopen(p, "wb");
    char hdr[118];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': "
                      "(%d, %d, %d, %d), }", N, C, H, W);
    memset(hdr + hl, ' ', sizeof hdr - hl);
    hdr[sizeof hdr - 1] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned char len[2] = {sizeof hdr & 0xff, sizeof hdr >> 8};
    fwrite(len, 1, 2, f);
    fwrite(hdr, 1, sizeof hdr, f);
    for (int k = 0; k < N * C * H * W; k++) {
        double d = nchw[k];
        fwrite(&d, 8, 1, f);
    }
    fclose(f);
    int64_t lab[N] = {0, 1, 1, 0, 1};
    e2e_error err;
    path_of(p, "labels.npy");
    e2e_npy_write(p, E2E_INT64, 1, (int64_t[]){N}, lab, &err);
    path_of(p, "labels_short.npy");
    e2e_npy_write(p, E2E_INT64, 1, (int64_t[]){N - 1}, lab, &err);
    float big[2 * 20 * 18 * 2] = {0};
    write_f32("auto_nhwc.npy", 4, (int64_t[]){2, 20, 18, 2}, big);
    write_f32("auto_nchw.npy", 4, (int64_t[]){2, 2, 20, 18}, big);
    write_f32("rank2.npy", 2, (int64_t[]){4, 5}, big);
    write_f32("rank3.npy", 3, (int64_t[]){2, 20, 18}, big);
    return 0;
}

static int teardown(void **state)
{
    const char *names[] = {"nhwc.npy", "nchw.npy", "nchw_f64.npy", "labels.npy",
                           "labels_short.npy", "auto_nhwc.npy", "auto_nchw.npy", "rank2.npy",
                           "rank3.npy"};
    char p[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        path_of(p, names[i]);
        remove(p);
    }
    rmdir(dir);
    return 0;
}

static e2e_dataset *open_ok(const char *name, e2e_frames_layout lay, const char *labels)
{
    char p[256], lp[256];
    e2e_error err;
    e2e_dataset *d = NULL;
    path_of(p, name);
    if (labels)
        path_of(lp, labels);
    if (e2e_dataset_open(p, lay, labels ? lp : NULL, &d, &err))
        fail_msg("%s", err.message);
    return d;
}

/* Reads the whole file in chunks of `chunk` with channels sel and checks every value. */
static void check_read(e2e_dataset *d, const int *sel, int nsel, size_t chunk)
{
    float fr[N * C * H * W], lab[N];
    e2e_error err;
    size_t got, total = 0;
    int calls = 0;
    for (;;) {
        assert_int_equal(e2e_dataset_read(d, sel, nsel, chunk, fr, lab, &got, &err), E2E_OK);
        if (!got)
            break;
        calls++;
        assert_true(got <= chunk);
        for (size_t i = 0; i < got; i++)
            for (int k = 0; k < nsel; k++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        assert_float_equal(fr[((i * nsel + k) * H + y) * W + x],
                                           val((int)(total + i), sel[k], y, x), 0);
        total += got;
    }
    assert_int_equal(total, N);
    assert_int_equal(calls, (N + chunk - 1) / chunk);
}

static void test_nhwc_explicit(void **state)
{
    e2e_dataset *d = open_ok("nhwc.npy", E2E_LAYOUT_NHWC, NULL);
    e2e_dataset_info in;
    e2e_dataset_get_info(d, &in);
    assert_int_equal(in.n, N);
    assert_int_equal(in.c, C);
    assert_int_equal(in.h, H);
    assert_int_equal(in.w, W);
    assert_int_equal(in.layout, E2E_LAYOUT_NHWC);
    assert_string_equal(in.format, "npy");
    assert_int_equal(in.has_labels, 0);
    check_read(d, (int[]){2, 0}, 2, 2);
    e2e_error err;
    assert_int_equal(e2e_dataset_seek(d, 0, &err), E2E_OK);
    check_read(d, (int[]){0, 1, 2}, 3, 3);
    assert_int_equal(e2e_dataset_seek(d, 0, &err), E2E_OK);
    check_read(d, (int[]){1}, 1, 32);
    e2e_dataset_close(d);
}

static void test_nchw_and_f64(void **state)
{
    e2e_dataset *d = open_ok("nchw.npy", E2E_LAYOUT_NCHW, NULL);
    check_read(d, (int[]){2, 0}, 2, 2);
    e2e_dataset_close(d);
    d = open_ok("nchw_f64.npy", E2E_LAYOUT_AUTO, NULL); /* (5,3,4,3): last dim 3, 2nd 3 */
    e2e_dataset_info in;
    e2e_dataset_get_info(d, &in);
    assert_int_equal(in.layout, E2E_LAYOUT_NCHW);
    check_read(d, (int[]){1, 2}, 2, 4);
    e2e_dataset_close(d);
}

static void test_auto_layout(void **state)
{
    e2e_dataset_info in;
    e2e_dataset *d = open_ok("auto_nhwc.npy", E2E_LAYOUT_AUTO, NULL);
    e2e_dataset_get_info(d, &in);
    assert_int_equal(in.layout, E2E_LAYOUT_NHWC);
    assert_int_equal(in.c, 2);
    assert_int_equal(in.h, 20);
    assert_int_equal(in.w, 18);
    e2e_dataset_close(d);
    d = open_ok("auto_nchw.npy", E2E_LAYOUT_AUTO, NULL);
    e2e_dataset_get_info(d, &in);
    assert_int_equal(in.layout, E2E_LAYOUT_NCHW);
    assert_int_equal(in.c, 2);
    assert_int_equal(in.h, 20);
    e2e_dataset_close(d);
    d = open_ok("rank3.npy", E2E_LAYOUT_AUTO, NULL);
    e2e_dataset_get_info(d, &in);
    assert_int_equal(in.c, 1);
    assert_int_equal(in.h, 20);
    assert_int_equal(in.w, 18);
    e2e_dataset_close(d);
}

static void test_labels(void **state)
{
    e2e_dataset *d = open_ok("nhwc.npy", E2E_LAYOUT_NHWC, "labels.npy");
    e2e_dataset_info in;
    e2e_dataset_get_info(d, &in);
    assert_int_equal(in.has_labels, 1);
    float fr[N * C * H * W], lab[N];
    size_t got;
    e2e_error err;
    assert_int_equal(e2e_dataset_read(d, (int[]){0}, 1, 3, fr, lab, &got, &err), E2E_OK);
    assert_int_equal(got, 3);
    assert_int_equal(e2e_dataset_read(d, (int[]){0}, 1, 3, fr, lab + 3, &got, &err), E2E_OK);
    assert_int_equal(got, 2);
    const float want[N] = {0, 1, 1, 0, 1};
    for (int i = 0; i < N; i++)
        assert_float_equal(lab[i], want[i], 0);
    e2e_dataset_close(d);
    /* no labels: NaN */
    d = open_ok("nchw.npy", E2E_LAYOUT_AUTO, NULL);
    assert_int_equal(e2e_dataset_read(d, (int[]){0}, 1, 2, fr, lab, &got, &err), E2E_OK);
    assert_true(isnan(lab[0]) && isnan(lab[1]));
    e2e_dataset_close(d);
}

static void test_errors(void **state)
{
    char p[256], lp[256];
    e2e_error err;
    e2e_dataset *d = NULL;
    path_of(p, "rank2.npy");
    assert_int_equal(e2e_dataset_open(p, E2E_LAYOUT_AUTO, NULL, &d, &err), E2E_ERR_SHAPE);
    assert_non_null(strstr(err.message, "(4, 5)"));
    assert_null(d);
    path_of(p, "nhwc.npy");
    path_of(lp, "labels_short.npy");
    assert_int_equal(e2e_dataset_open(p, E2E_LAYOUT_NHWC, lp, &d, &err), E2E_ERR_SHAPE);
    assert_non_null(strstr(err.message, "N = 5"));
    assert_int_equal(e2e_dataset_open("/nonexistent/x.npy", E2E_LAYOUT_AUTO, NULL, &d, &err),
                     E2E_ERR_IO);
    path_of(p, "labels.npy"); /* rank 1 */
    assert_int_equal(e2e_dataset_open(p, E2E_LAYOUT_AUTO, NULL, &d, &err), E2E_ERR_SHAPE);
    d = open_ok("nhwc.npy", E2E_LAYOUT_NHWC, NULL);
    float fr[N * C * H * W];
    size_t got;
    assert_int_equal(e2e_dataset_read(d, (int[]){3}, 1, 2, fr, NULL, &got, &err),
                     E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "channel 3 does not exist"));
    assert_int_equal(e2e_dataset_seek(d, N + 1, &err), E2E_ERR_ARGUMENT);
    e2e_dataset_close(d);
    int sel[4];
    assert_int_equal(e2e_dataset_parse_channels("2,0", sel, 4), 2);
    assert_int_equal(sel[0], 2);
    assert_int_equal(sel[1], 0);
    assert_int_equal(e2e_dataset_parse_channels("1,x", sel, 4), -1);
    assert_int_equal(e2e_dataset_parse_channels("", sel, 4), -1);
    assert_int_equal(e2e_dataset_parse_channels("0,1,2,3,4", sel, 4), -1);
}

/* A model Flatten(frames) with input [N, 2, H, W]: its output is the batch it was given. */
static void test_model_on_frames(void **state)
{
    e2e_ob *b = e2e_ob_new(13, "flat");
    e2e_ob_input(b, "frames", E2E_FLOAT, 4, (int64_t[]){-1, 2, H, W});
    Onnx__NodeProto *n = e2e_ob_node(b, "Flatten", NULL, 1, (const char *[]){"frames"}, 1,
                                     (const char *[]){"y"});
    e2e_ob_attr_int(b, n, "axis", 1);
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    e2e_error err;
    e2e_model *m = oh_model_pack(b, "flat.onnx");
    e2e_ob_free(b);
    const int B = 2;
    int64_t dims[4] = {B, 2, H, W};
    e2e_shape_binding sb = {"frames", 4, dims};
    e2e_session_options so = e2e_session_options_default();
    so.shapes = &sb;
    so.n_shapes = 1;
    e2e_session *s;
    if (e2e_session_create(m, &so, &s, &err))
        fail_msg("%s", err.message);
    e2e_dataset *d = open_ok("nhwc.npy", E2E_LAYOUT_NHWC, NULL);
    const int sel[2] = {2, 1};
    float fr[B * 2 * H * W];
    size_t got, done = 0;
    while (e2e_dataset_read(d, sel, 2, B, fr, NULL, &got, &err) == E2E_OK && got) {
        if (got < (size_t)B)
            memset(fr + got * 2 * H * W, 0, (B - got) * 2 * H * W * sizeof(float));
        e2e_tensor_view in = e2e_tensor_view_f32("frames", fr, 4, dims), out;
        if (e2e_session_run(s, &in, 1, &err))
            fail_msg("%s", err.message);
        assert_int_equal(e2e_session_output(s, 0, &out), E2E_OK);
        assert_int_equal(out.rank, 2);
        assert_int_equal(out.dims[1], 2 * H * W);
        const float *o = out.data;
        for (size_t i = 0; i < got; i++)
            for (int k = 0; k < 2; k++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        assert_float_equal(o[i * 2 * H * W + (k * H + y) * W + x],
                                           val((int)(done + i), sel[k], y, x), 0);
        done += got;
    }
    assert_int_equal(done, N);
    e2e_dataset_close(d);
    e2e_session_free(s);
    e2e_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nhwc_explicit),  cmocka_unit_test(test_nchw_and_f64),
        cmocka_unit_test(test_auto_layout),    cmocka_unit_test(test_labels),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_model_on_frames),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
