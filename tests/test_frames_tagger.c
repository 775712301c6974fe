/* The tagger pipeline: default configurations, channel lists chosen and ordered by name,
   the NCHW batch (one slot per object, zero frames for failed seeds, buffer reuse), the
   frame size taken from the model, one session run per event with scores per slot and -1
   for failed seeds, the per-batch-size session cache with its memory budget, and cross-event
   batches scored in full runs as they fill (e2e_tagger_infer_ready) with the same bits.
   The model is a crafted GlobalAveragePool + Flatten: score = mean of the last channel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_frames.h"
#include "model_craft.h"

static void assert_contains(const char *s, const char *part)
{
    if (!strstr(s, part))
        fail_msg("message \"%s\" lacks \"%s\"", s, part);
}

static e2e_model *gap_model(int c, int h, int w)
{
    mc_model mm;
    mc_init(&mm, 13);
    mc_input(&mm, "frames", 4, (int64_t[]){-1, c, h, w});
    mc_node(&mm, "GlobalAveragePool", (const char *[]){"frames", NULL}, (const char *[]){"g", NULL});
    Onnx__NodeProto *f = mc_node(&mm, "Flatten", (const char *[]){"g", NULL}, (const char *[]){"y", NULL});
    mc_attr_int(f, "axis", 1);
    mc_output(&mm, "y");
    uint8_t *buf;
    size_t n = mc_pack(&mm, &buf);
    e2e_model *m;
    e2e_error err;
    if (e2e_model_load_buffer(buf, n, "gap.onnx", &m, &err))
        fail_msg("%s", err.message);
    free(buf);
    mc_free(&mm);
    return m;
}

static void test_default_configs(void **state)
{
    e2e_tagger_config c;
    e2e_error err;
    assert_int_equal(e2e_tagger_config_default("eg", &c, &err), E2E_OK);
    assert_int_equal(c.objects, E2E_OBJ_PHOTONS);
    assert_int_equal(c.n_channels, 1);
    assert_int_equal(c.channels[0], E2E_CH_ECAL);
    assert_int_equal(c.height, 32);
    assert_float_equal(c.min_pt, 10.0f, 0);
    assert_float_equal(c.max_eta, 1.44f, 0);
    assert_int_equal(e2e_tagger_config_default("qg", &c, &err), E2E_OK);
    assert_int_equal(c.objects, E2E_OBJ_AK4);
    const e2e_channel qg[] = {E2E_CH_PT, E2E_CH_D0, E2E_CH_DZ, E2E_CH_ECAL, E2E_CH_HBHE};
    assert_int_equal(c.n_channels, 5);
    assert_memory_equal(c.channels, qg, sizeof qg);
    assert_int_equal(c.height, 128);
    assert_float_equal(c.min_pt, 35.0f, 0);
    assert_float_equal(c.max_eta, 2.4f, 0);
    const e2e_channel top[] = {E2E_CH_PT, E2E_CH_D0, E2E_CH_DZ, E2E_CH_ECAL, E2E_CH_HBHE,
                               E2E_CH_BPIX1, E2E_CH_BPIX2, E2E_CH_BPIX3};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(e2e_tagger_config_default(k ? "tau" : "top", &c, &err), E2E_OK);
        assert_int_equal(c.objects, E2E_OBJ_AK8);
        assert_int_equal(c.n_channels, 8);
        assert_memory_equal(c.channels, top, sizeof top);
    }
    assert_int_equal(e2e_tagger_config_default("bb", &c, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "bb");
}

static void test_channel_lists(void **state)
{
    e2e_tagger_config c;
    e2e_error err;
    e2e_tagger_config_default("qg", &c, &err);
    assert_int_equal(e2e_tagger_config_set_channels(&c, "hbhe,ecal,tob6", &err), E2E_OK);
    assert_int_equal(c.n_channels, 3);
    assert_int_equal(c.channels[0], E2E_CH_HBHE);
    assert_int_equal(c.channels[1], E2E_CH_ECAL);
    assert_int_equal(c.channels[2], E2E_CH_TOB6);
    assert_int_equal(e2e_tagger_config_set_channels(&c, "pt,foo", &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "\"foo\"");
    assert_int_equal(c.n_channels, 3); /* unchanged on error */
    assert_int_equal(e2e_tagger_config_set_channels(&c, "", &err), E2E_ERR_ARGUMENT);
    assert_int_equal(e2e_tagger_config_set_channels(&c, "pt,,dz", &err), E2E_ERR_ARGUMENT);
}

/* An event with one central ak4 jet and distinct patterns in pt, ecal and hbhe. */
static void jet_event(e2e_event *ev, int njets, float pt0)
{
    e2e_event_clear(ev);
    e2e_hbhe_hit h = {3, 20, 1, 0, 50.0f};
    e2e_event_add_hbhe(ev, &h, NULL);
    for (int k = 0; k < 40; k++) {
        e2e_eb_hit e = {(uint16_t)(95 + k % 7), (uint16_t)(100 + k), 1.0f + k, 0};
        e2e_event_add_eb(ev, &e, NULL);
        e2e_track t = {2.0f * k, 0, 0, 0.01f, 0.02f, 1, E2E_TRACK_HIGH_PURITY,
                       (uint16_t)(150 + k % 5), (uint16_t)(95 + 2 * k)};
        e2e_event_add_track(ev, &t, NULL);
    }
    for (int j = 0; j < njets; j++) {
        /* jet 1 fails the pT cut, the others seed on tower (3, 20) */
        e2e_jet jet = {j == 1 ? 20.0f : pt0 + j, 0.2f, 0, 10, 3, 20, (int16_t)(j % 2 ? 3 : 2)};
        e2e_event_add_jet(ev, E2E_AK4, &jet, NULL);
    }
}

static void check_slot_channel(const float *frame, const float *img, const e2e_seed *s, int h, int w)
{
    float *want = malloc((size_t)h * w * sizeof(float));
    e2e_frame_crop(img, 280, 360, s->row, s->col, h, w, want);
    assert_memory_equal(frame, want, (size_t)h * w * sizeof(float));
    free(want);
}

static void test_batch_layout_and_channel_order(void **state)
{
    e2e_event *ev;
    e2e_detframes *df;
    e2e_event_create(&ev, NULL);
    e2e_detframes_create(NULL, &df, NULL);
    jet_event(ev, 3, 100);
    assert_int_equal(e2e_detframes_build(df, ev, NULL), E2E_OK);
    const char *orders[] = {"pt,ecal,hbhe", "hbhe,pt,ecal", "ecal,hbhe,pt", "hbhe"};
    for (int o = 0; o < 4; o++) {
        e2e_tagger_config c;
        e2e_error err;
        e2e_tagger_config_default("qg", &c, &err);
        e2e_tagger_config_set_channels(&c, orders[o], &err);
        c.height = 33;
        c.width = 40;
        e2e_tagger *t;
        assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &t, &err), E2E_OK);
        assert_int_equal(e2e_tagger_prepare(t, ev, df, &err), E2E_OK);
        size_t n;
        int C, H, W;
        const float *fr = e2e_tagger_frames(t, &n, &C, &H, &W);
        const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
        assert_int_equal(n, 3);
        assert_int_equal(C, c.n_channels);
        assert_int_equal(H, 33);
        assert_int_equal(W, 40);
        assert_int_equal(sl[1].seed.status, E2E_SEED_LOW_PT);
        assert_int_equal(sl[0].seed.row, e2e_geom_hcal_row(3) * 5 + 2);
        assert_float_equal(sl[0].pt, 100, 0);
        assert_int_equal(sl[1].truth, 3);
        assert_float_equal(sl[0].score, -1, 0); /* no inference yet */
        for (size_t i = 0; i < n; i++)
            for (int ch = 0; ch < C; ch++) {
                const float *slot = fr + ((i * C) + ch) * (size_t)H * W; /* NCHW */
                check_slot_channel(slot, e2e_detframes_channel(df, c.channels[ch]), &sl[i].seed, H, W);
            }
        /* the channels really differ, so the order is visible */
        if (o == 0) {
            float *a = malloc((size_t)H * W * sizeof(float)), *b = malloc((size_t)H * W * sizeof(float));
            memcpy(a, fr, (size_t)H * W * sizeof(float));
            memcpy(b, fr + (size_t)H * W, (size_t)H * W * sizeof(float));
            assert_true(memcmp(a, b, (size_t)H * W * sizeof(float)) != 0);
            free(a);
            free(b);
        }
        e2e_tagger_free(t);
    }
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

static void test_missing_channel_is_an_error(void **state)
{
    e2e_event *ev;
    e2e_detframes *df;
    e2e_event_create(&ev, NULL);
    e2e_detframes_options o = e2e_detframes_options_default();
    o.channels = E2E_CHANNEL_BIT(E2E_CH_PT);
    e2e_detframes_create(&o, &df, NULL);
    jet_event(ev, 1, 100);
    e2e_detframes_build(df, ev, NULL);
    e2e_tagger_config c;
    e2e_tagger_config_default("qg", &c, NULL);
    e2e_tagger *t;
    e2e_error err;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &t, &err), E2E_OK);
    assert_int_equal(e2e_tagger_prepare(t, ev, df, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "d0");
    assert_int_equal(e2e_tagger_infer(t, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "no model");
    /* the mask a tagger needs */
    assert_int_equal(e2e_tagger_channel_mask(t),
                     E2E_CHANNEL_BIT(E2E_CH_PT) | E2E_CHANNEL_BIT(E2E_CH_D0) |
                     E2E_CHANNEL_BIT(E2E_CH_DZ) | E2E_CHANNEL_BIT(E2E_CH_ECAL) |
                     E2E_CHANNEL_BIT(E2E_CH_HBHE));
    e2e_tagger_free(t);
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

static void test_inference_scores_and_sessions(void **state)
{
    e2e_model *m = gap_model(2, 16, 20);
    e2e_event *ev;
    e2e_detframes *df;
    e2e_event_create(&ev, NULL);
    e2e_detframes_create(NULL, &df, NULL);
    e2e_tagger_config c;
    e2e_error err;
    e2e_tagger_config_default("qg", &c, NULL);
    /* the model's channel count must match the list */
    e2e_tagger *t;
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "expects 2 channels");
    assert_contains(err.message, "--channels qg=");
    e2e_tagger_config_set_channels(&c, "pt,ecal", NULL);
    const int sizes[] = {3, 1, 2, 3, 0, 2, 4};
    /* max_batch 0 (16): one run per event; 3: the 4-slot event runs as 3 + 1 */
    for (int mb = 0; mb <= 3; mb += 3) {
        c.max_batch = mb;
        assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_OK);
        /* one any_batch session, created with the tagger, serves every batch size */
        assert_int_equal(e2e_tagger_sessions_created(t), 1);
        assert_int_equal(e2e_tagger_get_config(t)->max_batch, mb ? mb : 16);
        assert_int_equal(e2e_tagger_get_config(t)->height, 16); /* from the model */
        assert_int_equal(e2e_tagger_get_config(t)->width, 20);
        for (int k = 0; k < 7; k++) {
            jet_event(ev, sizes[k], 50.0f + k);
            assert_int_equal(e2e_detframes_build(df, ev, NULL), E2E_OK);
            assert_int_equal(e2e_tagger_prepare(t, ev, df, &err), E2E_OK);
            if (e2e_tagger_infer(t, &err))
                fail_msg("%s", err.message);
            size_t n;
            int C, H, W;
            const float *fr = e2e_tagger_frames(t, &n, &C, &H, &W);
            const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
            assert_int_equal(n, sizes[k]);
            for (size_t i = 0; i < n; i++) {
                if (sl[i].seed.status != E2E_SEED_OK) {
                    assert_float_equal(sl[i].score, -1, 0);
                    for (int q = 0; q < C * H * W; q++) /* zero frame, even in a reused buffer */
                        assert_float_equal(fr[i * C * H * W + q], 0, 0);
                    continue;
                }
                double mean = 0; /* the model: mean of the last channel (ecal) */
                for (int q = 0; q < H * W; q++)
                    mean += fr[(i * C + 1) * H * W + q];
                mean /= H * W;
                assert_true(mean > 0);
                assert_float_equal(sl[i].score, mean, 1e-5 * (1 + mean));
            }
        }
        assert_int_equal(e2e_tagger_sessions_created(t), 1);  /* batch sizes 3, 1, 2, 4 */
        assert_int_equal(e2e_tagger_session_count(t), 1);
        e2e_tagger_free(t);
    }
    /* a tiny budget keeps one session: the any_batch one is never re-created */
    c.max_batch = 0;
    c.max_session_bytes = 1;
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_OK);
    for (int k = 0; k < 7; k++) {
        jet_event(ev, sizes[k], 50.0f);
        e2e_detframes_build(df, ev, NULL);
        e2e_tagger_prepare(t, ev, df, NULL);
        assert_int_equal(e2e_tagger_infer(t, &err), E2E_OK);
        assert_true(e2e_tagger_session_count(t) <= 1);
    }
    assert_int_equal(e2e_tagger_sessions_created(t), 1);
    e2e_tagger_free(t);
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_model_free(m);
}

/* Cross-event batches: e2e_tagger_infer_ready after each event scores the full runs of
   max_batch slots at once and keeps only the frames still to score, and the scores are bit
   for bit those of one e2e_tagger_infer over the gathered batch. */
static void test_infer_ready_runs_full_batches(void **state)
{
    e2e_model *m = gap_model(2, 16, 20);
    e2e_event *ev;
    e2e_detframes *df;
    e2e_event_create(&ev, NULL);
    e2e_detframes_create(NULL, &df, NULL);
    e2e_tagger_config c;
    e2e_error err;
    e2e_tagger_config_default("qg", &c, NULL);
    e2e_tagger_config_set_channels(&c, "pt,ecal", NULL);
    c.max_batch = 3;
    const int sizes[] = {3, 1, 2, 3, 0, 2, 4, 5};
    enum { EVENTS = 8, SLOTS = 20 };
    float want[SLOTS];
    e2e_tagger *t;
    for (int ready = 0; ready <= 1; ready++) {
        assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_OK);
        size_t total = 0, scored = 0;
        for (int k = 0; k < EVENTS; k++) {
            jet_event(ev, sizes[k], 50.0f + k);
            e2e_eb_hit h = {96, 104, 5.0f * (float)(k + 1), 0}; /* each event its own frames */
            e2e_event_add_eb(ev, &h, NULL);
            assert_int_equal(e2e_detframes_build(df, ev, NULL), E2E_OK);
            assert_int_equal((k ? e2e_tagger_append_seeds : e2e_tagger_prepare_seeds)(t, ev, df, &err),
                             E2E_OK);
            total += (size_t)sizes[k];
            if (!ready)
                continue;
            if (e2e_tagger_infer_ready(t, &err))
                fail_msg("%s", err.message);
            size_t n, nf;
            int C, H, W;
            const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
            e2e_tagger_frames(t, &nf, &C, &H, &W);
            assert_int_equal(n, total);
            assert_true(nf < 3);                       /* fewer than one run kept */
            assert_int_equal((n - nf) % 3, 0);         /* whole runs scored */
            assert_true(n - nf >= scored);
            scored = n - nf;
            for (size_t i = 0; i < n; i++)             /* scored slots have their score */
                if (sl[i].seed.status == E2E_SEED_OK)
                    assert_true((i < scored) == (sl[i].score != -1.0f));
        }
        assert_int_equal(total, SLOTS);
        if (e2e_tagger_infer(t, &err))
            fail_msg("%s", err.message);
        size_t n;
        const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
        assert_int_equal(n, SLOTS);
        int ok = 0;
        for (size_t i = 0; i < n; i++) {
            if (!ready)
                want[i] = sl[i].score;
            else if (memcmp(&want[i], &sl[i].score, sizeof want[i]))
                fail_msg("slot %zu: %.9g after infer_ready, %.9g in one batch", i,
                         (double)sl[i].score, (double)want[i]);
            ok += sl[i].score != -1.0f;
        }
        assert_true(ok >= 10);
        assert_true(want[0] != want[n - 1]);
        e2e_tagger_free(t);
    }
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_model_free(m);
}

static void test_photon_tagger_on_eb_view(void **state)
{
    e2e_model *m = gap_model(1, 32, 32);
    e2e_event *ev;
    e2e_detframes *df;
    e2e_event_create(&ev, NULL);
    e2e_detframes_create(NULL, &df, NULL);
    /* a photon at the lower EB edge: the EB view pads with zeros, EE rows are not used */
    e2e_eb_hit h = {0, 5, 30.0f, 0};
    e2e_event_add_eb(ev, &h, NULL);
    e2e_ee_hit e = {54, 5, 100.0f};
    e2e_event_add_ee(ev, &e, NULL);
    e2e_crystal x = {0, 5};
    e2e_photon p = {40, -1.4f, 0, 0, 0, 0};
    e2e_event_add_photon(ev, &p, &x, 1, NULL);
    e2e_detframes_build(df, ev, NULL);
    e2e_tagger_config c;
    e2e_tagger_config_default("eg", &c, NULL);
    e2e_tagger *t;
    e2e_error err;
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_OK);
    assert_int_equal(e2e_tagger_prepare(t, ev, df, &err), E2E_OK);
    assert_int_equal(e2e_tagger_infer(t, &err), E2E_OK);
    size_t n;
    int C, H, W;
    const float *fr = e2e_tagger_frames(t, &n, &C, &H, &W);
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(sl[0].seed.row, 0);
    assert_int_equal(sl[0].seed.col, 5);
    assert_float_equal(fr[15 * 32 + 15], 30.0f, 0);
    double s = 0;
    for (int q = 0; q < 32 * 32; q++)
        s += fr[q];
    assert_float_equal(s, 30.0, 1e-6);
    assert_float_equal(sl[0].score, 30.0 / 1024, 1e-6);
    e2e_tagger_free(t);
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_model_free(m);
}


/* Every slot and channel of the batch from slot `from` on equals e2e_frame_crop of its
   DetFrames channel (on the EB view for photons). */
static void check_against_crops(const e2e_tagger *t, const e2e_detframes *df, size_t from)
{
    size_t n;
    int C, H, W;
    const float *fr = e2e_tagger_frames(t, &n, &C, &H, &W);
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    const e2e_tagger_config *c = e2e_tagger_get_config(t);
    const int photons = c->objects == E2E_OBJ_PHOTONS;
    float *want = malloc((size_t)H * W * sizeof(float));
    for (size_t i = from; i < n; i++)
        for (int ch = 0; ch < C; ch++) {
            const float *img = e2e_detframes_channel(df, c->channels[ch]);
            e2e_frame_crop(photons ? img + 55 * 360 : img, photons ? 170 : 280, 360,
                           sl[i].seed.status == E2E_SEED_OK ? sl[i].seed.row : -1,
                           sl[i].seed.col, H, W, want);
            if (memcmp(fr + (i * C + ch) * (size_t)H * W, want, (size_t)H * W * sizeof(float)))
                fail_msg("tagger %s %dx%d: slot %zu channel %d differs from its crop", c->name,
                         H, W, i, ch);
        }
    free(want);
}

/* The frames are written cell by cell from the channels' non-zero cells (each event
   clearing what the one before wrote) or, for busy channels, cropped whole: either way
   they equal the crops, event after event, for jets, photons on the EB view, frames wider
   than the grid (columns repeat) and cross-event batches, on quiet and busy events. */
static void test_sparse_frames_equal_crops(void **state)
{
    static const struct { const char *tagger; int h, w; } cases[] = {
        {"qg", 128, 128}, {"top", 128, 128}, {"eg", 32, 32}, {"qg", 33, 40},
        {"qg", 280, 400}, {"eg", 170, 361},
    };
    static const double pileup[] = {0, 40, 150}, noise[] = {0.1, 1, 4};
    e2e_event *ev;
    e2e_detframes *df;
    e2e_error err;
    e2e_event_create(&ev, NULL);
    e2e_detframes_create(NULL, &df, NULL);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        e2e_tagger_config c;
        e2e_tagger_config_default(cases[k].tagger, &c, NULL);
        c.height = cases[k].h;
        c.width = cases[k].w;
        e2e_tagger *t, *b;
        assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &t, &err), E2E_OK);
        assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &b, &err), E2E_OK);
        size_t seeded = 0, batch = 0;
        float *kept = NULL; /* the batch's frames so far: appends leave them alone */
        for (int e = 0; e < 12; e++) {
            e2e_gen_options g = e2e_gen_options_default();
            g.seed = 11 + (uint64_t)k;
            g.pileup = pileup[e % 3];
            g.noise = noise[e % 3];
            assert_int_equal(e2e_gen_event(&g, (uint64_t)e, ev, &err), E2E_OK);
            assert_int_equal(e2e_detframes_build(df, ev, &err), E2E_OK);
            assert_int_equal(e2e_tagger_prepare_seeds(t, ev, df, &err), E2E_OK);
            check_against_crops(t, df, 0);
            size_t n, n0 = batch, nb;
            const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
            for (size_t i = 0; i < n; i++)
                seeded += sl[i].seed.status == E2E_SEED_OK;
            /* batches of 4 events */
            assert_int_equal((e % 4 ? e2e_tagger_append_seeds : e2e_tagger_prepare_seeds)(
                                 b, ev, df, &err), E2E_OK);
            if (e % 4 == 0)
                n0 = 0;
            int C, H, W;
            const float *fr = e2e_tagger_frames(b, &nb, &C, &H, &W);
            assert_int_equal(nb, n0 + n);
            const size_t per = (size_t)C * H * W;
            if (n0)
                assert_memory_equal(fr, kept, n0 * per * sizeof(float));
            check_against_crops(b, df, n0);
            batch = nb;
            kept = realloc(kept, (nb ? nb : 1) * per * sizeof(float));
            memcpy(kept, fr, nb * per * sizeof(float));
        }
        assert_true(seeded > 0); /* some frames were cut */
        free(kept);
        e2e_tagger_free(t);
        e2e_tagger_free(b);
    }
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

/* e2e_tagger_reserve: the buffers of that many slots are made before the first event (the
   frames stay where they are while events fit) and a reserve in the middle of a batch keeps
   the batch's frames; the frames equal the crops either way. */
static void test_reserve_keeps_frames(void **state)
{
    e2e_tagger_config c;
    e2e_tagger *r, *b;
    e2e_error err;
    e2e_tagger_config_default("qg", &c, NULL);
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &r, &err), E2E_OK);
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &b, &err), E2E_OK);
    assert_int_equal(e2e_tagger_reserve(r, 16, &err), E2E_OK);
    size_t n;
    int C, H, W;
    const float *at = e2e_tagger_frames(r, &n, &C, &H, &W);
    assert_non_null(at);
    assert_int_equal(n, 0);
    e2e_event *ev;
    e2e_detframes *df;
    e2e_event_create(&ev, NULL);
    e2e_detframes_create(NULL, &df, NULL);
    e2e_gen_options g = e2e_gen_options_default();
    float *kept = NULL;
    size_t most = 0;
    for (int e = 0; e < 8; e++) {
        g.pileup = e % 2 ? 150 : 0;
        assert_int_equal(e2e_gen_event(&g, (uint64_t)e, ev, &err), E2E_OK);
        assert_int_equal(e2e_detframes_build(df, ev, &err), E2E_OK);
        assert_int_equal(e2e_tagger_prepare_seeds(r, ev, df, &err), E2E_OK);
        assert_ptr_equal(e2e_tagger_frames(r, &n, &C, &H, &W), at);
        most = n > most ? n : most;
        check_against_crops(r, df, 0);
        /* b: a batch of all the events, reserved anew after the third */
        size_t n0;
        e2e_tagger_frames(b, &n0, &C, &H, &W);
        if (e == 3) {
            const size_t per = (size_t)C * H * W;
            kept = malloc((n0 ? n0 : 1) * per * sizeof(float));
            memcpy(kept, e2e_tagger_frames(b, &n0, &C, &H, &W), n0 * per * sizeof(float));
            assert_int_equal(e2e_tagger_reserve(b, 4 * n0 + 64, &err), E2E_OK);
            assert_memory_equal(e2e_tagger_frames(b, &n, &C, &H, &W), kept,
                                n0 * per * sizeof(float));
            assert_int_equal(n, n0);
        }
        assert_int_equal((e ? e2e_tagger_append_seeds : e2e_tagger_prepare_seeds)(b, ev, df,
                                                                               &err), E2E_OK);
        check_against_crops(b, df, e ? n0 : 0);
    }
    assert_true(most > 0 && most <= 16);
    free(kept);
    e2e_tagger_free(r);
    e2e_tagger_free(b);
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

/* Taggers with the same frames (the default top and tau) share them: the second copies
   the first's slots and reads its frames; any difference in objects, cuts, channels or
   size is refused. */
static void test_prepare_like_shares_frames(void **state)
{
    e2e_tagger_config c;
    e2e_tagger *top, *tau, *qg, *small;
    e2e_error err;
    e2e_tagger_config_default("top", &c, NULL);
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &top, &err), E2E_OK);
    c.height = 64;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &small, &err), E2E_OK);
    e2e_tagger_config_default("tau", &c, NULL);
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &tau, &err), E2E_OK);
    e2e_tagger_config_default("qg", &c, NULL);
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &qg, &err), E2E_OK);
    assert_true(e2e_tagger_frames_equal(top, tau));
    assert_false(e2e_tagger_frames_equal(top, qg));
    assert_false(e2e_tagger_frames_equal(top, small));
    e2e_tagger_config_default("tau", &c, NULL);
    c.min_pt = 50;
    e2e_tagger *cut;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &cut, &err), E2E_OK);
    assert_false(e2e_tagger_frames_equal(top, cut));

    e2e_event *ev;
    e2e_detframes *df;
    e2e_event_create(&ev, NULL);
    e2e_detframes_create(NULL, &df, NULL);
    e2e_gen_options g = e2e_gen_options_default();
    size_t total = 0;
    for (int e = 0; e < 6; e++) {
        assert_int_equal(e2e_gen_event(&g, (uint64_t)e, ev, &err), E2E_OK);
        assert_int_equal(e2e_detframes_build(df, ev, &err), E2E_OK);
        assert_int_equal((e ? e2e_tagger_append_seeds : e2e_tagger_prepare_seeds)(top, ev, df,
                                                                               &err), E2E_OK);
        assert_int_equal(e2e_tagger_prepare_like(tau, top, &err), E2E_OK);
        size_t n1, n2;
        int C, H, W;
        const e2e_tagger_slot *a = e2e_tagger_slots(top, &n1), *b = e2e_tagger_slots(tau, &n2);
        assert_int_equal(n1, n2);
        total = n1;
        for (size_t i = 0; i < n1; i++) {
            assert_memory_equal(&a[i].seed, &b[i].seed, sizeof a[i].seed);
            assert_float_equal(a[i].pt, b[i].pt, 0);
            assert_int_equal(a[i].truth, b[i].truth);
            assert_float_equal(b[i].score, -1, 0);
        }
        const float *fa = e2e_tagger_frames(top, &n1, &C, &H, &W);
        assert_ptr_equal(e2e_tagger_frames(tau, &n2, &C, &H, &W), fa);
    }
    assert_true(total > 0);
    /* its slots' frames are top's: appending its own to them is refused */
    assert_int_equal(e2e_tagger_append_seeds(tau, ev, df, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "e2e_tagger_prepare_like");
    /* its own prepare ends the sharing */
    assert_int_equal(e2e_tagger_prepare_seeds(tau, ev, df, &err), E2E_OK);
    size_t n;
    int C, H, W;
    assert_ptr_not_equal(e2e_tagger_frames(tau, &n, &C, &H, &W),
                         e2e_tagger_frames(top, &n, &C, &H, &W));
    check_against_crops(tau, df, 0);
    assert_int_equal(e2e_tagger_prepare_like(qg, top, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "tagger qg");
    assert_int_equal(e2e_tagger_prepare_like(small, top, &err), E2E_ERR_ARGUMENT);
    assert_int_equal(e2e_tagger_prepare_like(top, top, &err), E2E_ERR_ARGUMENT);
    assert_int_equal(e2e_tagger_prepare_like(cut, top, &err), E2E_ERR_ARGUMENT);
    e2e_tagger_free(top);
    e2e_tagger_free(tau);
    e2e_tagger_free(qg);
    e2e_tagger_free(small);
    e2e_tagger_free(cut);
    e2e_detframes_free(df);
    e2e_event_free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_configs),
        cmocka_unit_test(test_channel_lists),
        cmocka_unit_test(test_batch_layout_and_channel_order),
        cmocka_unit_test(test_missing_channel_is_an_error),
        cmocka_unit_test(test_inference_scores_and_sessions),
        cmocka_unit_test(test_infer_ready_runs_full_batches),
        cmocka_unit_test(test_photon_tagger_on_eb_view),
        cmocka_unit_test(test_sparse_frames_equal_crops),
        cmocka_unit_test(test_prepare_like_shares_frames),
        cmocka_unit_test(test_reserve_keeps_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
