/* DetFrames: ECAL stitching and the EB view, the HBHE rules (depth sum, 29 -> 28 merge,
   +2 iphi shift, coarse split with wrap, 5x5 upsample / 25 conserving energy), track sums
   with the |dz| < z0PVCut rule, tracker layer channels, sparse clearing between events
   (by the next build or early by e2e_detframes_clear),
   channel selection, geometry helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_frames.h"

#define NCELL (280 * 360)

static e2e_event *new_event(void)
{
    e2e_event *ev;
    e2e_error err;
    assert_int_equal(e2e_event_create(&ev, &err), E2E_OK);
    return ev;
}

static e2e_detframes *new_df(uint64_t mask)
{
    e2e_detframes_options o = e2e_detframes_options_default();
    if (mask)
        o.channels = mask;
    e2e_detframes *df;
    e2e_error err;
    assert_int_equal(e2e_detframes_create(&o, &df, &err), E2E_OK);
    return df;
}

static void hb(e2e_event *ev, int ieta, int iphi, int depth, float e)
{
    e2e_hbhe_hit h = {(int8_t)ieta, (uint8_t)iphi, (uint8_t)depth, 0, e};
    assert_int_equal(e2e_event_add_hbhe(ev, &h, NULL), E2E_OK);
}

static double sum(const float *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i];
    return s;
}

static void build(e2e_detframes *df, e2e_event *ev)
{
    e2e_error err;
    assert_int_equal(e2e_detframes_build(df, ev, &err), E2E_OK);
}

static void test_hbhe_single_tower_upsample(void **state)
{
    e2e_event *ev = new_event();
    e2e_detframes *df = new_df(0);
    hb(ev, 5, 10, 1, 25.0f);
    build(df, ev);
    const float *t = e2e_detframes_hbhe_towers(df), *img = e2e_detframes_channel(df, E2E_CH_HBHE);
    /* ieta +5 -> row 5 - 1 + 28 = 32; iphi 10 -> (10 + 2 - 1) mod 72 = 11 */
    assert_float_equal(t[32 * 72 + 11], 25.0f, 0);
    assert_float_equal(sum(t, 56 * 72), 25.0, 1e-6);
    for (int r = 0; r < 280; r++)
        for (int c = 0; c < 360; c++) {
            int in = r / 5 == 32 && c / 5 == 11;
            assert_float_equal(img[r * 360 + c], in ? 1.0f : 0.0f, 0);
        }
    assert_float_equal(sum(img, NCELL), 25.0, 1e-5);
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

static void test_hbhe_rows_merge_and_shift(void **state)
{
    e2e_event *ev = new_event();
    e2e_detframes *df = new_df(0);
    hb(ev, -1, 1, 1, 1.0f);   /* row 27, col 2 */
    hb(ev, 1, 72, 1, 2.0f);   /* row 28, col (72 + 1) mod 72 = 1 */
    hb(ev, 17, 71, 1, 4.0f);  /* row 44, col 0 */
    hb(ev, -20, 5, 1, 8.0f);  /* row 8, col 6 */
    build(df, ev);
    const float *t = e2e_detframes_hbhe_towers(df);
    assert_float_equal(t[27 * 72 + 2], 1.0f, 0);
    assert_float_equal(t[28 * 72 + 1], 2.0f, 0);
    assert_float_equal(t[44 * 72 + 0], 4.0f, 0);
    assert_float_equal(t[8 * 72 + 6], 8.0f, 0);
    assert_float_equal(sum(t, 56 * 72), 15.0, 1e-6);
    e2e_event_clear(ev);
    /* 29 merged into 28 (and the coarse split), both signs */
    hb(ev, 29, 3, 1, 10.0f);
    hb(ev, 28, 3, 2, 6.0f);
    hb(ev, -29, 3, 1, 20.0f);
    build(df, ev);
    assert_float_equal(t[55 * 72 + 4], 8.0f, 0);  /* (10 + 6) / 2 */
    assert_float_equal(t[55 * 72 + 5], 8.0f, 0);
    assert_float_equal(t[0 * 72 + 4], 10.0f, 0);
    assert_float_equal(t[0 * 72 + 5], 10.0f, 0);
    assert_float_equal(sum(t, 56 * 72), 36.0, 1e-6);
    assert_int_equal(e2e_geom_hcal_row(29), 55);
    assert_int_equal(e2e_geom_hcal_row(-29), 0);
    assert_int_equal(e2e_geom_hcal_row(1), 28);
    assert_int_equal(e2e_geom_hcal_row(-1), 27);
    assert_int_equal(e2e_geom_hcal_col(1), 2);
    assert_int_equal(e2e_geom_hcal_col(71), 0);
    assert_int_equal(e2e_geom_hcal_col(72), 1);
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

static void test_hbhe_coarse_split_and_depth_sum(void **state)
{
    e2e_event *ev = new_event();
    e2e_detframes *df = new_df(0);
    hb(ev, 20, 11, 1, 3.0f);  /* fine: |ieta| 20 not split */
    hb(ev, 20, 11, 2, 1.0f);  /* depths summed */
    hb(ev, 21, 11, 1, 4.0f);  /* coarse: cols 12 and 13 */
    hb(ev, -25, 70, 3, 6.0f); /* coarse at the edge: cols 71 and 0 (wrap) */
    hb(ev, 5, 5, 1, -2.0f);   /* E <= 0: not in the image */
    hb(ev, 5, 6, 1, 0.0f);
    build(df, ev);
    const float *t = e2e_detframes_hbhe_towers(df);
    int r20 = e2e_geom_hcal_row(20), r21 = e2e_geom_hcal_row(21), rm25 = e2e_geom_hcal_row(-25);
    assert_float_equal(t[r20 * 72 + 12], 4.0f, 0);
    assert_float_equal(t[r20 * 72 + 13], 0.0f, 0);
    assert_float_equal(t[r21 * 72 + 12], 2.0f, 0);
    assert_float_equal(t[r21 * 72 + 13], 2.0f, 0);
    assert_float_equal(t[rm25 * 72 + 71], 3.0f, 0);
    assert_float_equal(t[rm25 * 72 + 0], 3.0f, 0);
    assert_float_equal(sum(t, 56 * 72), 14.0, 1e-6);
    assert_float_equal(sum(e2e_detframes_channel(df, E2E_CH_HBHE), NCELL), 14.0, 1e-5);
    /* depth-1 map keeps raw depth-1 rechits (no split, no merge) */
    assert_float_equal(e2e_detframes_depth1(df, 20, 11), 3.0f, 0);
    assert_float_equal(e2e_detframes_depth1(df, 21, 11), 4.0f, 0);
    assert_float_equal(e2e_detframes_depth1(df, -25, 70), 0.0f, 0);
    assert_float_equal(e2e_detframes_depth1(df, 5, 5), -2.0f, 0);
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

static void test_hbhe_energy_conservation_random(void **state)
{
    e2e_event *ev = new_event();
    e2e_detframes *df = new_df(0);
    srand(7);
    for (int round = 0; round < 5; round++) {
        e2e_event_clear(ev);
        double total = 0;
        for (int i = 0; i < 3000; i++) {
            int a = 1 + rand() % 29, ieta = rand() % 2 ? a : -a;
            float e = (float)(rand() % 10000) / 100.0f - 5.0f;
            hb(ev, ieta, 1 + rand() % 72, 1 + rand() % 7, e);
            if (e > 0)
                total += e;
        }
        build(df, ev);
        double st = sum(e2e_detframes_hbhe_towers(df), 56 * 72);
        double si = sum(e2e_detframes_channel(df, E2E_CH_HBHE), NCELL);
        assert_true(fabs(st - total) <= 1e-5 * total);
        assert_true(fabs(si - total) <= 1e-5 * total);
        /* every 5x5 block is uniform and equals its tower / 25 */
        const float *t = e2e_detframes_hbhe_towers(df), *img = e2e_detframes_channel(df, E2E_CH_HBHE);
        for (int r = 0; r < 280; r++)
            for (int c = 0; c < 360; c++)
                assert_float_equal(img[r * 360 + c], t[(r / 5) * 72 + c / 5] / 25.0f,
                                   1e-6 * (1 + t[(r / 5) * 72 + c / 5]));
    }
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

static void test_ecal_stitching_and_eb_view(void **state)
{
    e2e_event *ev = new_event();
    e2e_detframes *df = new_df(0);
    e2e_eb_hit a = {0, 0, 5.0f, 0}, b = {169, 359, 7.0f, 0}, c = {84, 10, -1.0f, 0};
    assert_int_equal(e2e_event_add_eb(ev, &a, NULL), E2E_OK);
    assert_int_equal(e2e_event_add_eb(ev, &b, NULL), E2E_OK);
    assert_int_equal(e2e_event_add_eb(ev, &c, NULL), E2E_OK);
    e2e_ee_hit e1 = {3, 100, 2.0f}, e2 = {3, 100, 1.5f}, e3 = {279, 359, 4.0f};
    assert_int_equal(e2e_event_add_ee(ev, &e1, NULL), E2E_OK);
    assert_int_equal(e2e_event_add_ee(ev, &e2, NULL), E2E_OK);
    assert_int_equal(e2e_event_add_ee(ev, &e3, NULL), E2E_OK);
    build(df, ev);
    const float *img = e2e_detframes_channel(df, E2E_CH_ECAL), *eb = e2e_detframes_eb(df);
    assert_ptr_equal(eb, img + 55 * 360);
    assert_float_equal(img[55 * 360 + 0], 5.0f, 0);
    assert_float_equal(img[224 * 360 + 359], 7.0f, 0);
    assert_float_equal(eb[169 * 360 + 359], 7.0f, 0);
    assert_float_equal(img[(84 + 55) * 360 + 10], 0.0f, 0); /* E <= 0 suppressed */
    assert_float_equal(img[3 * 360 + 100], 3.5f, 0);        /* EE cells sum */
    assert_float_equal(img[279 * 360 + 359], 4.0f, 0);
    assert_float_equal(sum(img, NCELL), 19.5, 1e-6);
    /* EE rows inside the EB band are refused */
    e2e_ee_hit bad = {100, 0, 1.0f};
    e2e_error err;
    assert_int_equal(e2e_event_add_ee(ev, &bad, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "row 100"));
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

static void trk(e2e_event *ev, float pt, float d0, float dz, int hp, int row, int col)
{
    e2e_track t = {pt, 0, 0, d0, dz, 1, (uint8_t)(hp ? E2E_TRACK_HIGH_PURITY : 0),
                   (uint16_t)row, (uint16_t)col};
    assert_int_equal(e2e_event_add_track(ev, &t, NULL), E2E_OK);
}

static void test_tracks_dz_rule(void **state)
{
    e2e_event *ev = new_event();
    e2e_detframes *df = new_df(0);
    trk(ev, 10, 0.01f, 0.05f, 1, 100, 100);     /* all three channels */
    trk(ev, 5, 0.02f, -0.0999f, 1, 100, 100);   /* |dz| < 0.1: counted */
    trk(ev, 7, 0.5f, 0.1f, 1, 100, 100);        /* |dz| = 0.1: pT only */
    trk(ev, 3, 0.5f, -2.0f, 1, 100, 100);       /* pileup-like: pT only */
    trk(ev, 100, 0.01f, 0.01f, 0, 100, 100);    /* not highPurity: nothing */
    trk(ev, 50, 0.01f, 0.01f, 1, E2E_NO_CELL, E2E_NO_CELL); /* outside the grid */
    trk(ev, 2, -0.03f, 0.02f, 1, 0, 359);
    build(df, ev);
    const float *pt = e2e_detframes_channel(df, E2E_CH_PT), *d0 = e2e_detframes_channel(df, E2E_CH_D0),
                *dz = e2e_detframes_channel(df, E2E_CH_DZ);
    assert_float_equal(pt[100 * 360 + 100], 25.0f, 1e-6);
    assert_float_equal(d0[100 * 360 + 100], 0.03f, 1e-7);
    assert_float_equal(dz[100 * 360 + 100], 0.05f - 0.0999f, 1e-7);
    assert_float_equal(pt[359], 2.0f, 0);
    assert_float_equal(d0[359], -0.03f, 0);
    assert_float_equal(sum(pt, NCELL), 27.0, 1e-5);
    e2e_detframes_free(df);
    /* a wider cut takes the |dz| = 0.1 track too */
    e2e_detframes_options o = e2e_detframes_options_default();
    o.z0_pv_cut = 0.5f;
    e2e_error err;
    assert_int_equal(e2e_detframes_create(&o, &df, &err), E2E_OK);
    build(df, ev);
    assert_float_equal(e2e_detframes_channel(df, E2E_CH_D0)[100 * 360 + 100], 0.53f, 1e-6);
    e2e_detframes_free(df);
    o.z0_pv_cut = 0;
    assert_int_equal(e2e_detframes_create(&o, &df, &err), E2E_ERR_ARGUMENT);
    e2e_event_free(ev);
}

static void tkh(e2e_event *ev, int subdet, int layer, int proj, int row, int col)
{
    e2e_tracker_hit h = {(uint16_t)row, (uint16_t)col, (uint8_t)subdet, (uint8_t)layer,
                         (uint8_t)proj, 0};
    e2e_error err;
    if (e2e_event_add_tracker_hit(ev, &h, &err))
        fail_msg("%s", err.message);
}

static void test_tracker_layers(void **state)
{
    e2e_event *ev = new_event();
    e2e_detframes *df = new_df(0);
    for (int l = 1; l <= 4; l++)
        for (int k = 0; k < l; k++)
            tkh(ev, E2E_SUBDET_BPIX, l, 1, 10 * l, 20);
    tkh(ev, E2E_SUBDET_BPIX, 1, 0, 10, 20);  /* projection from the origin: not counted */
    tkh(ev, E2E_SUBDET_FPIX, 2, 1, 10, 20);  /* FPIX: no channel */
    tkh(ev, E2E_SUBDET_TIB, 2, 1, 5, 6);
    tkh(ev, E2E_SUBDET_TOB, 6, 1, 7, 8);
    tkh(ev, E2E_SUBDET_TEC, 9, 1, 1, 2);
    build(df, ev);
    for (int l = 1; l <= 4; l++) {
        const float *img = e2e_detframes_channel(df, (e2e_channel)(E2E_CH_BPIX1 + l - 1));
        assert_float_equal(img[10 * l * 360 + 20], (float)l, 0);   /* layer k in channel k */
        assert_float_equal(sum(img, NCELL), l, 0);
    }
    assert_float_equal(e2e_detframes_channel(df, E2E_CH_TIB2)[5 * 360 + 6], 1, 0);
    assert_float_equal(e2e_detframes_channel(df, E2E_CH_TOB6)[7 * 360 + 8], 1, 0);
    assert_float_equal(e2e_detframes_channel(df, E2E_CH_TEC9)[1 * 360 + 2], 1, 0);
    assert_float_equal(sum(e2e_detframes_channel(df, E2E_CH_TIB1), NCELL), 0, 0);
    e2e_detframes_free(df);
    /* the origin projection on request */
    e2e_detframes_options o = e2e_detframes_options_default();
    o.tracker_proj = 0;
    assert_int_equal(e2e_detframes_create(&o, &df, NULL), E2E_OK);
    build(df, ev);
    assert_float_equal(sum(e2e_detframes_channel(df, E2E_CH_BPIX1), NCELL), 1, 0);
    e2e_detframes_free(df);
    /* bad layers are refused */
    e2e_tracker_hit bad = {0, 0, E2E_SUBDET_BPIX, 5, 1, 0};
    e2e_error err;
    assert_int_equal(e2e_event_add_tracker_hit(ev, &bad, &err), E2E_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "layer 5"));
    e2e_event_free(ev);
}

/* Building B after A must equal building B on fresh images (sparse clearing). */
static void test_sparse_clearing(void **state)
{
    e2e_gen_options g = e2e_gen_options_default();
    e2e_event *a = new_event(), *b = new_event();
    e2e_detframes *reused = new_df(0), *fresh;
    e2e_error err;
    for (uint64_t i = 0; i < 4; i++) {
        assert_int_equal(e2e_gen_event(&g, i, a, &err), E2E_OK);
        assert_int_equal(e2e_gen_event(&g, i + 100, b, &err), E2E_OK);
        build(reused, a);
        if (i % 2) { /* cleared early (e2e_detframes_clear): all zero, then built as usual */
            e2e_detframes_clear(reused);
            float *zero = calloc(NCELL, sizeof(float));
            for (int c = 0; c < E2E_CH_COUNT; c++)
                assert_memory_equal(e2e_detframes_channel(reused, (e2e_channel)c), zero,
                                    NCELL * sizeof(float));
            assert_memory_equal(e2e_detframes_hbhe_towers(reused), zero, 56 * 72 * sizeof(float));
            for (int ie = -29; ie <= 29; ie++)
                for (int ip = 1; ip <= 72; ip++) {
                    float e;
                    assert_int_equal(e2e_detframes_depth1_find(reused, ie, ip, &e), 0);
                    assert_float_equal(e, 0, 0);
                }
            free(zero);
        }
        build(reused, b);
        fresh = new_df(0);
        build(fresh, b);
        for (int c = 0; c < E2E_CH_COUNT; c++)
            assert_memory_equal(e2e_detframes_channel(reused, (e2e_channel)c),
                                e2e_detframes_channel(fresh, (e2e_channel)c), NCELL * sizeof(float));
        assert_memory_equal(e2e_detframes_hbhe_towers(reused), e2e_detframes_hbhe_towers(fresh),
                            56 * 72 * sizeof(float));
        for (int ie = -29; ie <= 29; ie++)
            for (int ip = 1; ip <= 72; ip++) {
                float er, ef;
                /* which towers have a depth-1 rechit is cleared with the energies */
                assert_int_equal(e2e_detframes_depth1_find(reused, ie, ip, &er),
                                 e2e_detframes_depth1_find(fresh, ie, ip, &ef));
                assert_float_equal(er, ef, 0);
            }
        e2e_detframes_free(fresh);
    }
    /* and an empty event clears everything */
    e2e_event_clear(a);
    build(reused, a);
    for (int c = 0; c < E2E_CH_COUNT; c++)
        assert_float_equal(sum(e2e_detframes_channel(reused, (e2e_channel)c), NCELL), 0, 0);
    for (int ie = -29; ie <= 29; ie++)
        for (int ip = 1; ip <= 72; ip++) {
            float e;
            assert_int_equal(e2e_detframes_depth1_find(reused, ie, ip, &e), 0);
        }
    e2e_detframes_free(reused);
    e2e_event_free(a);
    e2e_event_free(b);
}

static void test_channel_selection(void **state)
{
    e2e_detframes *df = new_df(E2E_CHANNEL_BIT(E2E_CH_PT) | E2E_CHANNEL_BIT(E2E_CH_BPIX2));
    assert_non_null(e2e_detframes_channel(df, E2E_CH_PT));
    assert_non_null(e2e_detframes_channel(df, E2E_CH_BPIX2));
    assert_null(e2e_detframes_channel(df, E2E_CH_ECAL));
    assert_null(e2e_detframes_channel(df, E2E_CH_HBHE));
    assert_null(e2e_detframes_eb(df));
    assert_null(e2e_detframes_hbhe_towers(df));
    e2e_event *ev = new_event();
    e2e_gen_options g = e2e_gen_options_default();
    assert_int_equal(e2e_gen_event(&g, 3, ev, NULL), E2E_OK);
    build(df, ev);
    assert_true(sum(e2e_detframes_channel(df, E2E_CH_PT), NCELL) > 0);
    e2e_detframes_free(df);
    e2e_event_free(ev);
    for (int c = 0; c < E2E_CH_COUNT; c++)
        assert_int_equal(e2e_channel_from_name(e2e_channel_name((e2e_channel)c)), c);
    assert_int_equal(e2e_channel_from_name("bpix5"), -1);
    assert_string_equal(e2e_channel_name(E2E_CH_BPIX3), "bpix3");
}

static void test_geometry(void **state)
{
    /* EB: row = 140 + floor(eta / 0.0174); phi = 0 falls in column 10 */
    assert_int_equal(e2e_geom_row(0.001), 140);
    assert_int_equal(e2e_geom_row(-0.001), 139);
    assert_int_equal(e2e_geom_row(1.478), 224);
    assert_int_equal(e2e_geom_row(-1.478), 55);
    assert_int_equal(e2e_geom_row(1.48), 225);   /* first EE+ row */
    assert_int_equal(e2e_geom_row(-1.48), 54);   /* first EE- row */
    assert_int_equal(e2e_geom_row(2.99), 279);
    assert_int_equal(e2e_geom_row(-2.99), 0);
    assert_int_equal(e2e_geom_row(3.0), -1);
    assert_int_equal(e2e_geom_col(0.0), 10);
    assert_int_equal(e2e_geom_col(-10.5 * M_PI / 180), 359);
    assert_int_equal(e2e_geom_col(-9.5 * M_PI / 180), 0);
    assert_int_equal(e2e_geom_col(2 * M_PI), 10);
    for (int r = 0; r < 280; r++)
        assert_int_equal(e2e_geom_row(e2e_geom_row_eta(r)), r);
    for (int c = 0; c < 360; c++)
        assert_int_equal(e2e_geom_col(e2e_geom_col_phi(c)), c);
    /* HCAL towers line up with 5 x 5 grid blocks */
    for (int r = 0; r < 280; r++)
        for (int c = 2; c < 360; c += 5) {
            int ie, ip;
            assert_int_equal(e2e_geom_hcal_tower(e2e_geom_row_eta(r), e2e_geom_col_phi(c), &ie, &ip), 1);
            assert_int_equal(e2e_geom_hcal_row(ie), r / 5);
            int a = ie < 0 ? -ie : ie;
            int col = e2e_geom_hcal_col(ip);
            if (a > 20)
                assert_true(col == c / 5 || (col + 1) % 72 == c / 5);
            else
                assert_int_equal(col, c / 5);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hbhe_single_tower_upsample),
        cmocka_unit_test(test_hbhe_rows_merge_and_shift),
        cmocka_unit_test(test_hbhe_coarse_split_and_depth_sum),
        cmocka_unit_test(test_hbhe_energy_conservation_random),
        cmocka_unit_test(test_ecal_stitching_and_eb_view),
        cmocka_unit_test(test_tracks_dz_rule),
        cmocka_unit_test(test_tracker_layers),
        cmocka_unit_test(test_sparse_clearing),
        cmocka_unit_test(test_channel_selection),
        cmocka_unit_test(test_geometry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
