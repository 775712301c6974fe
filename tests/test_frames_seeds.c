/* Seeds: photon cuts (pT >= 10, |eta| <= 1.44) and the highest-energy supercluster crystal;
   jet axis outside HBHE, the 7 x 7 depth-1 window (iphi wrap, ieta 0 skipped, strict >,
   towers without a rechit skipped, tie order), the |ieta| <= 16 edge cut, tower -> grid
   (x5 + 2), the minJetPt / maxJetEta cuts and which failing check names the status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "e2e_frames.h"

typedef struct fx {
    e2e_event *ev;
    e2e_detframes *df;
} fx;

static int setup(void **state)
{
    static fx f;
    e2e_event_create(&f.ev, NULL);
    e2e_detframes_create(NULL, &f.df, NULL);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    e2e_event_free(f->ev);
    e2e_detframes_free(f->df);
    return 0;
}

static void eb(e2e_event *ev, int ie, int ip, float e)
{
    e2e_eb_hit h = {(uint16_t)ie, (uint16_t)ip, e, 0};
    assert_int_equal(e2e_event_add_eb(ev, &h, NULL), E2E_OK);
}

static void photon(e2e_event *ev, float pt, float eta, const e2e_crystal *x, size_t n)
{
    e2e_photon p = {pt, eta, 0.1f, 0, 0, 0};
    assert_int_equal(e2e_event_add_photon(ev, &p, x, n, NULL), E2E_OK);
}

static void test_photon_cuts_and_max_crystal(void **state)
{
    fx *f = *state;
    e2e_event_clear(f->ev);
    eb(f->ev, 80, 100, 5.0f);
    eb(f->ev, 80, 101, 9.0f);
    eb(f->ev, 81, 100, 9.0f);   /* tie with (80,101): the first listed crystal wins */
    eb(f->ev, 10, 10, 3.0f);
    const e2e_crystal x1[] = {{80, 100}, {80, 101}, {81, 100}, {2, 2}};
    const e2e_crystal x2[] = {{81, 100}, {80, 101}};
    const e2e_crystal x3[] = {{1, 1}, {2, 2}}; /* no energy in any crystal */
    const e2e_crystal x4[] = {{10, 10}};
    photon(f->ev, 10.0f, 1.44f, x1, 4);    /* exactly at both cuts: accepted */
    photon(f->ev, 50.0f, -0.2f, x2, 2);
    photon(f->ev, 9.99f, 0.0f, x4, 1);     /* pT below 10 */
    photon(f->ev, 50.0f, 1.4401f, x4, 1);  /* |eta| above 1.44 */
    photon(f->ev, 50.0f, -1.45f, x4, 1);
    photon(f->ev, 50.0f, 0.3f, x3, 2);
    photon(f->ev, 50.0f, 0.3f, NULL, 0);   /* empty supercluster */
    photon(f->ev, 11.0f, 0.5f, x4, 1);
    assert_int_equal(e2e_detframes_build(f->df, f->ev, NULL), E2E_OK);
    e2e_seed s[8];
    size_t n;
    assert_int_equal(e2e_seeds_photons(f->ev, f->df, 10.0f, 1.44f, s, 8, &n, NULL), E2E_OK);
    assert_int_equal(n, 8);
    const int want[8][3] = {{80, 101, E2E_SEED_OK}, {81, 100, E2E_SEED_OK},
                            {-1, -1, E2E_SEED_LOW_PT}, {-1, -1, E2E_SEED_HIGH_ETA},
                            {-1, -1, E2E_SEED_HIGH_ETA}, {-1, -1, E2E_SEED_NO_CRYSTAL},
                            {-1, -1, E2E_SEED_NO_CRYSTAL}, {10, 10, E2E_SEED_OK}};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(s[i].row, want[i][0]);
        assert_int_equal(s[i].col, want[i][1]);
        assert_int_equal(s[i].status, want[i][2]);
    }
    /* too small an output array is an error, not an overflow */
    e2e_error err;
    assert_int_equal(e2e_seeds_photons(f->ev, f->df, 10.0f, 1.44f, s, 3, &n, &err), E2E_ERR_ARGUMENT);
    assert_string_equal(e2e_seed_status_name(E2E_SEED_EDGE), "edge");
}

static void d1(e2e_event *ev, int ieta, int iphi, float e)
{
    e2e_hbhe_hit h = {(int8_t)ieta, (uint8_t)iphi, 1, 0, e};
    assert_int_equal(e2e_event_add_hbhe(ev, &h, NULL), E2E_OK);
}

static void jet(e2e_event *ev, float pt, float eta, int tieta, int tiphi)
{
    e2e_jet j = {pt, eta, 0, 10, (int8_t)tieta, (uint8_t)tiphi, -1};
    assert_int_equal(e2e_event_add_jet(ev, E2E_AK4, &j, NULL), E2E_OK);
}

static void jet_seeds(fx *f, e2e_seed *s, size_t cap, size_t *n)
{
    e2e_error err;
    assert_int_equal(e2e_detframes_build(f->df, f->ev, &err), E2E_OK);
    if (e2e_seeds_jets(f->ev, f->df, E2E_AK4, 35.0f, 2.4f, s, cap, n, &err))
        fail_msg("%s", err.message);
}

static void expect(const e2e_seed *s, int row, int col, e2e_seed_status st)
{
    if (s->row != row || s->col != col || s->status != st)
        fail_msg("seed (%d, %d, %s), expected (%d, %d, %s)", s->row, s->col,
                 e2e_seed_status_name(s->status), row, col, e2e_seed_status_name(st));
}

static void test_jet_window_and_mapping(void **state)
{
    fx *f = *state;
    e2e_event_clear(f->ev);
    /* jet 0: axis (5, 10), hottest depth-1 tower (7, 12) inside the window */
    d1(f->ev, 5, 10, 2.0f);
    d1(f->ev, 7, 12, 6.0f);
    d1(f->ev, 9, 10, 50.0f);     /* 4 towers away in ieta: outside */
    jet(f->ev, 100, 0.4f, 5, 10);
    /* jet 1: nothing hotter than the axis -> the axis itself; equal energy does not win */
    d1(f->ev, -10, 40, 3.0f);
    d1(f->ev, -11, 41, 3.0f);
    jet(f->ev, 100, -0.9f, -10, 40);
    /* jet 2: axis without any rechit nor neighbour -> still the axis tower */
    jet(f->ev, 100, 0.0f, 1, 30);
    e2e_seed s[3];
    size_t n;
    jet_seeds(f, s, 3, &n);
    assert_int_equal(n, 3);
    expect(&s[0], e2e_geom_hcal_row(7) * 5 + 2, e2e_geom_hcal_col(12) * 5 + 2, E2E_SEED_OK);
    expect(&s[0], (7 - 1 + 28) * 5 + 2, 13 * 5 + 2, E2E_SEED_OK);
    expect(&s[1], (28 - 10) * 5 + 2, 41 * 5 + 2, E2E_SEED_OK);
    expect(&s[2], 28 * 5 + 2, 31 * 5 + 2, E2E_SEED_OK);
}

static void test_jet_window_wraps_phi_and_skips_ieta0(void **state)
{
    fx *f = *state;
    e2e_event_clear(f->ev);
    /* axis iphi 71: window 68..72, 1, 2; iphi 2 is inside, 3 is not */
    d1(f->ev, 3, 2, 5.0f);
    d1(f->ev, 3, 3, 9.0f);
    jet(f->ev, 100, 0.2f, 3, 71);
    /* axis ieta 1: window ieta -2..4 without 0; -2 is inside, -3 is not */
    d1(f->ev, -2, 20, 4.0f);
    d1(f->ev, -3, 20, 8.0f);
    jet(f->ev, 100, 0.05f, 1, 20);
    /* axis iphi 2: window 71, 72, 1..5 */
    d1(f->ev, -5, 71, 7.0f);
    d1(f->ev, -5, 70, 9.0f);
    jet(f->ev, 100, -0.4f, -5, 2);
    e2e_seed s[3];
    size_t n;
    jet_seeds(f, s, 3, &n);
    expect(&s[0], e2e_geom_hcal_row(3) * 5 + 2, e2e_geom_hcal_col(2) * 5 + 2, E2E_SEED_OK);
    expect(&s[1], e2e_geom_hcal_row(-2) * 5 + 2, e2e_geom_hcal_col(20) * 5 + 2, E2E_SEED_OK);
    expect(&s[2], e2e_geom_hcal_row(-5) * 5 + 2, e2e_geom_hcal_col(71) * 5 + 2, E2E_SEED_OK);
    assert_int_equal(s[2].col, 0 * 5 + 2);
}

/* The reference skips window towers without a depth-1 rechit (HBHERecHits find() == end);
   only the axis tower counts as 0 when it has none.  A negative axis energy therefore does
   not hand the seed to an empty tower. */
static void test_jet_window_skips_towers_without_rechit(void **state)
{
    fx *f = *state;
    e2e_event_clear(f->ev);
    /* jet 0: axis (5, 10) at -1.5, a neighbour at -3: nothing beats the axis */
    d1(f->ev, 5, 10, -1.5f);
    d1(f->ev, 6, 11, -3.0f);
    jet(f->ev, 100, 0.4f, 5, 10);
    /* jet 1: axis (-8, 40) at -2, neighbour (-7, 42) at -0.5 is a rechit and higher: it wins */
    d1(f->ev, -8, 40, -2.0f);
    d1(f->ev, -7, 42, -0.5f);
    jet(f->ev, 100, -0.6f, -8, 40);
    /* jet 2: axis (3, 60) without a rechit (counts 0), a negative neighbour: the axis stays */
    d1(f->ev, 4, 61, -0.7f);
    jet(f->ev, 100, 0.25f, 3, 60);
    /* jet 3: axis (10, 1) summed to -1 (two records), neighbours across the phi wrap are
       negative or absent: the axis stays */
    d1(f->ev, 10, 1, 0.5f);
    d1(f->ev, 10, 1, -1.5f);
    d1(f->ev, 11, 71, -0.2f);
    d1(f->ev, 11, 72, -1.2f);
    jet(f->ev, 100, 0.85f, 10, 1);
    e2e_seed s[4];
    size_t n;
    jet_seeds(f, s, 4, &n);
    assert_int_equal(n, 4);
    expect(&s[0], e2e_geom_hcal_row(5) * 5 + 2, e2e_geom_hcal_col(10) * 5 + 2, E2E_SEED_OK);
    expect(&s[1], e2e_geom_hcal_row(-7) * 5 + 2, e2e_geom_hcal_col(42) * 5 + 2, E2E_SEED_OK);
    expect(&s[2], e2e_geom_hcal_row(3) * 5 + 2, e2e_geom_hcal_col(60) * 5 + 2, E2E_SEED_OK);
    /* -0.2 at (11, 71) is above the axis's -1: a rechit, so it wins */
    expect(&s[3], e2e_geom_hcal_row(11) * 5 + 2, e2e_geom_hcal_col(71) * 5 + 2, E2E_SEED_OK);
    float e;
    assert_int_equal(e2e_detframes_depth1_find(f->df, 10, 1, &e), 1);
    assert_float_equal(e, -1.0f, 0);
    assert_int_equal(e2e_detframes_depth1_find(f->df, 3, 60, &e), 0);
    assert_float_equal(e, 0.0f, 0);
    assert_int_equal(e2e_detframes_depth1_find(f->df, 0, 60, &e), 0);
}

/* Ties follow the scan order (ieta ascending, then the iphi offsets -3..+3 wrapped), so
   across the phi wrap iphi 72 comes before 3; the first failing check names the status. */
static void test_jet_tie_order_and_status_precedence(void **state)
{
    fx *f = *state;
    e2e_event_clear(f->ev);
    d1(f->ev, 6, 3, 4.0f);
    d1(f->ev, 6, 72, 4.0f);
    jet(f->ev, 100, 0.5f, 6, 2);       /* scan 71, 72, 1, 2, 3, 4, 5: 72 wins the tie */
    d1(f->ev, -12, 70, 2.5f);
    d1(f->ev, -13, 1, 2.5f);
    jet(f->ev, 100, -1.1f, -12, 72);   /* ieta -13 is scanned before -12 */
    jet(f->ev, 20, 2.9f, 0, 0);        /* low pT, beyond |eta|, outside HBHE: low-pt */
    jet(f->ev, 100, 2.9f, 0, 0);       /* beyond |eta| and outside HBHE: high-eta */
    e2e_seed s[4];
    size_t n;
    jet_seeds(f, s, 4, &n);
    assert_int_equal(n, 4);
    expect(&s[0], e2e_geom_hcal_row(6) * 5 + 2, e2e_geom_hcal_col(72) * 5 + 2, E2E_SEED_OK);
    expect(&s[1], e2e_geom_hcal_row(-13) * 5 + 2, e2e_geom_hcal_col(1) * 5 + 2, E2E_SEED_OK);
    expect(&s[2], -1, -1, E2E_SEED_LOW_PT);
    expect(&s[3], -1, -1, E2E_SEED_HIGH_ETA);
}

static void test_jet_edge_and_kinematic_cuts(void **state)
{
    fx *f = *state;
    e2e_event_clear(f->ev);
    jet(f->ev, 100, 1.35f, 16, 5);     /* |ieta| 16: the last accepted row */
    jet(f->ev, 100, -1.35f, -16, 5);
    jet(f->ev, 100, 1.45f, 17, 5);     /* 17: edge */
    d1(f->ev, 19, 30, 40.0f);          /* axis 16, hottest tower at 19 -> edge */
    jet(f->ev, 100, 1.35f, 16, 30);
    d1(f->ev, 14, 50, 40.0f);          /* axis 17, hottest tower at 14 -> accepted */
    jet(f->ev, 100, 1.45f, 17, 50);
    jet(f->ev, 100, 2.3f, 0, 0);       /* axis outside HBHE (as the file says) */
    jet(f->ev, 34.99f, 0.0f, 1, 1);    /* below minJetPt */
    jet(f->ev, 35.0f, 0.0f, 1, 1);     /* at minJetPt */
    jet(f->ev, 100, 2.41f, 27, 1);     /* beyond maxJetEta */
    jet(f->ev, 100, -2.4f, -29, 1);    /* at maxJetEta, but |ieta| 29 -> edge */
    e2e_seed s[10];
    size_t n;
    jet_seeds(f, s, 10, &n);
    assert_int_equal(n, 10);
    expect(&s[0], (16 - 1 + 28) * 5 + 2, 6 * 5 + 2, E2E_SEED_OK);
    assert_int_equal(s[0].row, 217);
    expect(&s[1], (28 - 16) * 5 + 2, 6 * 5 + 2, E2E_SEED_OK);
    assert_int_equal(s[1].row, 62);
    expect(&s[2], -1, -1, E2E_SEED_EDGE);
    expect(&s[3], -1, -1, E2E_SEED_EDGE);
    expect(&s[4], (14 - 1 + 28) * 5 + 2, 51 * 5 + 2, E2E_SEED_OK);
    expect(&s[5], -1, -1, E2E_SEED_NOT_HBHE);
    expect(&s[6], -1, -1, E2E_SEED_LOW_PT);
    expect(&s[7], (1 - 1 + 28) * 5 + 2, 2 * 5 + 2, E2E_SEED_OK);
    expect(&s[8], -1, -1, E2E_SEED_HIGH_ETA);
    expect(&s[9], -1, -1, E2E_SEED_EDGE);
    /* the cuts are parameters */
    e2e_seed t[10];
    assert_int_equal(e2e_seeds_jets(f->ev, f->df, E2E_AK4, 400.0f, 1.37f, t, 10, &n, NULL), E2E_OK);
    for (int i = 0; i < 10; i++)
        assert_int_not_equal(t[i].status, E2E_SEED_OK);
    /* the other collection is empty */
    assert_int_equal(e2e_seeds_jets(f->ev, f->df, E2E_AK8, 35.0f, 2.4f, t, 10, &n, NULL), E2E_OK);
    assert_int_equal(n, 0);
}

static void test_generated_events_have_seeds(void **state)
{
    fx *f = *state;
    e2e_gen_options g = e2e_gen_options_default();
    int ok[3] = {0, 0, 0}, fail[3] = {0, 0, 0}, events_with[3] = {0, 0, 0};
    const int N = 100;
    for (int i = 0; i < N; i++) {
        assert_int_equal(e2e_gen_event(&g, (uint64_t)i, f->ev, NULL), E2E_OK);
        assert_int_equal(e2e_detframes_build(f->df, f->ev, NULL), E2E_OK);
        e2e_seed s[64];
        size_t n;
        for (int k = 0; k < 3; k++) {
            if (k == 0)
                assert_int_equal(e2e_seeds_photons(f->ev, f->df, 10, 1.44f, s, 64, &n, NULL), 0);
            else
                assert_int_equal(e2e_seeds_jets(f->ev, f->df, (e2e_jet_collection)(k - 1), 35,
                                                2.4f, s, 64, &n, NULL), 0);
            int any = 0;
            for (size_t i2 = 0; i2 < n; i2++) {
                if (s[i2].status == E2E_SEED_OK) {
                    ok[k]++;
                    any = 1;
                } else {
                    fail[k]++;
                }
            }
            events_with[k] += any;
        }
    }
    /* the toy sample is meant to give real seeds in most events and some failures */
    for (int k = 0; k < 3; k++) {
        assert_true(events_with[k] >= N * 6 / 10);
        assert_true(fail[k] > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_photon_cuts_and_max_crystal),
        cmocka_unit_test(test_jet_window_and_mapping),
        cmocka_unit_test(test_jet_window_wraps_phi_and_skips_ieta0),
        cmocka_unit_test(test_jet_window_skips_towers_without_rechit),
        cmocka_unit_test(test_jet_tie_order_and_status_precedence),
        cmocka_unit_test(test_jet_edge_and_kinematic_cuts),
        cmocka_unit_test(test_generated_events_have_seeds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
