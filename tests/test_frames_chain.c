/* The whole front-end chain on a small committed file (tests/fixtures/frames/events.e2e,
   written by `e2e gen --events 5 --seed 11`) against expected outputs computed by an
   independent numpy implementation (tests/fixtures/frames/reference.py): DetFrames
   channel statistics, every seed of the eg, qg, top, tau (128) and qg125 taggers, per-slot
   per-channel frame statistics, and every EG frame value by value. The same on
   tests/fixtures/frames/seeds/ (two hand-made events, make_events.py there): the corner
   cases the generator never writes (negative depth-1 energies next to towers without a
   rechit, duplicate records, a tie across the phi wrap, seeds at ieta +-16 with energy in
   the grid's first and last rows). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_frames.h"
#include "util/npy.h"

#define DIR "tests/fixtures/frames/"
#define SEEDS_DIR DIR "seeds/"
#define NT 5

static const char *const tnames[NT] = {"eg", "qg", "top", "tau", "qg125"};

typedef struct stats { long nz; double s, sr, sc, ss, mx; } stats;

static stats img_stats(const float *img, int h, int w)
{
    stats st = {0, 0, 0, 0, 0, 0};
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            double v = img[r * w + c];
            if (v != 0)
                st.nz++;
            st.s += v;
            st.sr += v * r;
            st.sc += v * c;
            st.ss += v * v;
            if (v > st.mx || (r == 0 && c == 0))
                st.mx = v;
        }
    return st;
}

static void close_to(double got, double want, const char *what, const char *ctx)
{
    if (fabs(got - want) > 1e-5 * fabs(want) + 1e-4)
        fail_msg("%s: %s = %.9g, expected %.9g", ctx, what, got, want);
}

static void chain(const char *dir, int n_events, long min_checks)
{
    char path[512];
    snprintf(path, sizeof path, "%sexpected.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (run the tests from the repository root)", path);
    e2e_error err;
    e2e_event_reader *rd;
    snprintf(path, sizeof path, "%sevents.e2e", dir);
    if (e2e_event_reader_open(path, &rd, &err))
        fail_msg("%s", err.message);
    e2e_tensor eg_want;
    snprintf(path, sizeof path, "%sexpected_eg.npy", dir);
    if (e2e_npy_read(path, &eg_want, &err))
        fail_msg("%s", err.message);
    e2e_event *ev;
    e2e_detframes *df;
    e2e_event_create(&ev, NULL);
    e2e_detframes_create(NULL, &df, NULL);
    e2e_tagger *tg[NT];
    for (int t = 0; t < NT; t++) {
        e2e_tagger_config c;
        e2e_tagger_config_default(t == 4 ? "qg" : tnames[t], &c, NULL);
        if (t == 4) {
            snprintf(c.name, sizeof c.name, "qg125");
            c.height = c.width = 125;
        }
        assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &tg[t], &err), E2E_OK);
    }
    char line[512], ctx[256];
    int events = 0, eg_frames = 0;
    long checks = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[16];
        if (line[0] == '#' || sscanf(line, "%15s", kind) != 1)
            continue;
        if (!strcmp(kind, "event")) {
            int k;
            unsigned run, lumi;
            unsigned long long evn;
            assert_int_equal(sscanf(line, "event %d %u %u %llu", &k, &run, &lumi, &evn), 4);
            int got;
            if (e2e_event_reader_next(rd, ev, &got, &err))
                fail_msg("%s", err.message);
            assert_int_equal(got, 1);
            e2e_event_data d;
            e2e_event_get(ev, &d);
            assert_int_equal(d.run, run);
            assert_int_equal(d.lumi, lumi);
            assert_int_equal(d.event, evn);
            assert_int_equal(e2e_detframes_build(df, ev, &err), E2E_OK);
            for (int t = 0; t < NT; t++)
                if (e2e_tagger_prepare(tg[t], ev, df, &err))
                    fail_msg("%s", err.message);
            events++;
        } else if (!strcmp(kind, "channel")) {
            char name[32];
            stats w;
            assert_int_equal(sscanf(line, "channel %31s %ld %lf %lf %lf %lf %lf", name, &w.nz, &w.s,
                                    &w.sr, &w.sc, &w.ss, &w.mx), 7);
            stats g;
            if (!strcmp(name, "hbhe_towers")) {
                g = img_stats(e2e_detframes_hbhe_towers(df), 56, 72);
            } else {
                int c = e2e_channel_from_name(name);
                assert_true(c >= 0);
                g = img_stats(e2e_detframes_channel(df, (e2e_channel)c), 280, 360);
            }
            snprintf(ctx, sizeof ctx, "event %d channel %s", events - 1, name);
            if (g.nz != w.nz)
                fail_msg("%s: %ld non-zero cells, expected %ld", ctx, g.nz, w.nz);
            close_to(g.s, w.s, "sum", ctx);
            close_to(g.sr, w.sr, "row moment", ctx);
            close_to(g.sc, w.sc, "col moment", ctx);
            close_to(g.ss, w.ss, "sum of squares", ctx);
            close_to(g.mx, w.mx, "max", ctx);
            checks++;
        } else if (!strcmp(kind, "slot")) {
            char tn[16], st[16];
            int i, row, col;
            assert_int_equal(sscanf(line, "slot %15s %d %d %d %15s", tn, &i, &row, &col, st), 5);
            int t = 0;
            while (t < NT && strcmp(tnames[t], tn))
                t++;
            assert_true(t < NT);
            size_t n;
            const e2e_tagger_slot *sl = e2e_tagger_slots(tg[t], &n);
            assert_true((size_t)i < n);
            if (sl[i].seed.row != row || sl[i].seed.col != col ||
                strcmp(e2e_seed_status_name(sl[i].seed.status), st))
                fail_msg("event %d %s slot %d: seed (%d, %d, %s), expected (%d, %d, %s)", events - 1,
                         tn, i, sl[i].seed.row, sl[i].seed.col,
                         e2e_seed_status_name(sl[i].seed.status), row, col, st);
            checks++;
        } else if (!strcmp(kind, "frame")) {
            char tn[16];
            int i, c;
            stats w;
            double centre;
            assert_int_equal(sscanf(line, "frame %15s %d %d %ld %lf %lf %lf %lf", tn, &i, &c, &w.nz,
                                    &w.s, &w.sr, &w.sc, &centre), 8);
            int t = 0;
            while (t < NT && strcmp(tnames[t], tn))
                t++;
            size_t n;
            int C, H, W;
            const float *fr = e2e_tagger_frames(tg[t], &n, &C, &H, &W);
            const float *img = fr + ((size_t)i * C + c) * H * W;
            stats g = img_stats(img, H, W);
            snprintf(ctx, sizeof ctx, "event %d %s slot %d channel %d", events - 1, tn, i, c);
            if (g.nz != w.nz)
                fail_msg("%s: %ld non-zero cells, expected %ld", ctx, g.nz, w.nz);
            close_to(g.s, w.s, "sum", ctx);
            close_to(g.sr, w.sr, "row moment", ctx);
            close_to(g.sc, w.sc, "col moment", ctx);
            int cc = e2e_frame_centre(H);
            close_to(img[cc * W + cc], centre, "centre", ctx);
            if (t == 0) { /* EG frames value by value */
                assert_true(eg_frames < eg_want.shape.dims[0]);
                const float *want = (const float *)eg_want.data + (size_t)eg_frames * 32 * 32;
                for (int q = 0; q < 32 * 32; q++)
                    if (fabsf(img[q] - want[q]) > 1e-6f * (1 + fabsf(want[q])))
                        fail_msg("%s: EG frame value %d = %.9g, expected %.9g", ctx, q, img[q], want[q]);
                eg_frames++;
            }
            checks++;
        }
    }
    fclose(f);
    /* the file has exactly the events of the expected list */
    int got;
    assert_int_equal(e2e_event_reader_next(rd, ev, &got, &err), E2E_OK);
    assert_int_equal(got, 0);
    assert_int_equal(events, n_events);
    assert_int_equal(eg_frames, eg_want.shape.dims[0]);
    assert_true(checks > min_checks);
    e2e_tensor_clear(&eg_want);
    for (int t = 0; t < NT; t++)
        e2e_tagger_free(tg[t]);
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_event_reader_close(rd);
}

static void test_chain_against_reference(void **state) { chain(DIR, 5, 400); }

static void test_chain_seed_corner_cases(void **state) { chain(SEEDS_DIR, 2, 150); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_against_reference),
        cmocka_unit_test(test_chain_seed_corner_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
