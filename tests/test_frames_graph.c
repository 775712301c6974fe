/* Graph frames (docs/graph-frames.md): node selection by threshold, the per-channel scaling,
   positions relative to the seed with the phi wrap, the order and its ties, truncation and
   its count, padding and mask, an event without hits, graph models recognised by their
   inputs (and models matching no layout refused, naming the inputs), and the whole chain
   through hand-made graph models (masked sums -> Gemm -> Sigmoid) whose scores must equal a
   reference computed here from the frames: dynamic N and P, N = 1 with a dynamic P (as
   CMSSW runs ParticleNet), a fixed P, the seed input and the knn_index edge list.

   `test_frames_graph --write-models DIR` writes the hand-made models for
   tests/graph_frames.test.sh instead of running the tests. */
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
#include "frames/frames_internal.h"
#include "onnx/onnx_build.h"

#define DEG (2 * M_PI / 360)

static void assert_contains(const char *s, const char *part)
{
    if (!strstr(s, part))
        fail_msg("message \"%s\" lacks \"%s\"", s, part);
}

/* ---- events ---- */

static void add_eb(e2e_event *ev, int grid_row, int col, float e)
{
    e2e_eb_hit h = {(uint16_t)(grid_row - E2E_EB_ROW0), (uint16_t)col, e, 0};
    assert_int_equal(e2e_event_add_eb(ev, &h, NULL), E2E_OK);
}

static void add_track(e2e_event *ev, int row, int col, float pt)
{
    e2e_track t = {pt, 0, 0, 0.01f, 0.02f, 1, E2E_TRACK_HIGH_PURITY, (uint16_t)row, (uint16_t)col};
    assert_int_equal(e2e_event_add_track(ev, &t, NULL), E2E_OK);
}

/* An ak4 jet whose axis is tower (ieta, iphi); without HBHE energy around it the seed is
   that tower: grid (hcal_row * 5 + 2, hcal_col * 5 + 2). */
static void add_jet(e2e_event *ev, int ieta, int iphi, float pt)
{
    e2e_jet j = {pt, 0.2f, 0.5f, 10, (int8_t)ieta, (uint8_t)iphi, 2};
    assert_int_equal(e2e_event_add_jet(ev, E2E_AK4, &j, NULL), E2E_OK);
}

static int seed_row(int ieta) { return e2e_geom_hcal_row(ieta) * 5 + 2; }
static int seed_col(int iphi) { return e2e_geom_hcal_col(iphi) * 5 + 2; }

typedef struct fixture {
    e2e_event *ev;
    e2e_detframes *df;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || e2e_event_create(&f->ev, NULL) || e2e_detframes_create(NULL, &f->df, NULL))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    e2e_detframes_free(f->df);
    e2e_event_free(f->ev);
    free(f);
    return 0;
}

/* A frames-only qg tagger with graph frames on, the given channels and options. */
static e2e_tagger *graph_tagger(const char *channels, float threshold, int max_points)
{
    e2e_tagger_config c;
    e2e_error err;
    assert_int_equal(e2e_tagger_config_default("qg", &c, &err), E2E_OK);
    assert_int_equal(e2e_tagger_config_set_channels(&c, channels, &err), E2E_OK);
    c.graph.enabled = 1;
    if (threshold >= 0)
        c.graph.threshold = threshold;
    if (max_points)
        c.graph.max_points = max_points;
    e2e_tagger *t;
    if (e2e_tagger_create(&c, NULL, NULL, &t, &err))
        fail_msg("%s", err.message);
    assert_int_equal(e2e_tagger_get_kind(t), E2E_TAGGER_FRAMES_ONLY);
    return t;
}

static void prepare(fixture *f, e2e_tagger *t, e2e_graph_frames *g)
{
    e2e_error err;
    if (e2e_detframes_build(f->df, f->ev, &err) || e2e_tagger_prepare(t, f->ev, f->df, &err) ||
        e2e_tagger_graph_frames(t, g, &err))
        fail_msg("%s", err.message);
}

/* ---- node selection, scaling, positions, order, padding ---- */

static void test_nodes_scaling_positions(void **state)
{
    fixture *f = *state;
    e2e_event_clear(f->ev);
    add_jet(f->ev, 3, 20, 100);
    const int r0 = seed_row(3), c0 = seed_col(20);
    add_eb(f->ev, r0 - 2, c0 + 3, 20.0f);    /* key 2.0 */
    add_eb(f->ev, r0, c0, 5.0f);             /* with the track: key 0.5 + 0.3 */
    add_track(f->ev, r0, c0, 30.0f);
    add_eb(f->ev, r0 + 8, c0 - 7, 0.0005f);  /* below the default threshold 1e-3 */
    add_eb(f->ev, r0 + 70, c0, 9.0f);        /* outside the 128-row crop */
    e2e_tagger *t = graph_tagger("pt,ecal", -1, 0);
    e2e_graph_frames g;
    prepare(f, t, &g);
    size_t n;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(sl[0].seed.status, E2E_SEED_OK);
    assert_int_equal(sl[0].seed.row, r0);
    assert_int_equal(sl[0].n_nodes, 2);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.C, 2);
    assert_int_equal(g.P, 32); /* a dynamic P: at least min_points */
    assert_int_equal(g.truncated, 0);
    assert_int_equal(g.empty, 0);
    const int P = g.P;
    /* node 0: the 20 GeV crystal, node 1: the crystal with the track */
    assert_float_equal(g.features[0 * P + 0], 0.0f, 0);          /* pt */
    assert_float_equal(g.features[1 * P + 0], 2.0f, 1e-6);       /* ecal x 0.1 */
    assert_float_equal(g.features[0 * P + 1], 0.3f, 1e-6);       /* pt x 0.01 */
    assert_float_equal(g.features[1 * P + 1], 0.5f, 1e-6);
    assert_float_equal(g.points[0], -2 * 0.0174, 1e-6);          /* deta */
    assert_float_equal(g.points[P + 0], 3 * DEG, 1e-6);          /* dphi */
    assert_float_equal(g.points[1], 0, 1e-7);
    assert_float_equal(g.points[P + 1], 0, 1e-7);
    assert_float_equal(g.seed[0], 100.0f, 0);
    assert_float_equal(g.seed[1], 0.2f, 0);
    assert_float_equal(g.seed[2], 0.5f, 0);
    for (int j = 0; j < P; j++) { /* mask 1 for the nodes, padding all zero */
        assert_float_equal(g.mask[j], j < 2 ? 1.0f : 0.0f, 0);
        if (j >= 2)
            assert_true(g.points[j] == 0 && g.points[P + j] == 0 && g.features[j] == 0 &&
                        g.features[P + j] == 0);
    }
    e2e_tagger_free(t);

    /* the threshold is on the raw sum over channels: 35 (track + crystal) > 25 > 20 */
    t = graph_tagger("pt,ecal", 25.0f, 0);
    prepare(f, t, &g);
    sl = e2e_tagger_slots(t, &n);
    assert_int_equal(sl[0].n_nodes, 1);
    assert_float_equal(g.features[g.P], 0.5f, 1e-6);
    e2e_tagger_free(t);

    /* raw features */
    e2e_tagger_config c;
    e2e_tagger_config_default("qg", &c, NULL);
    e2e_tagger_config_set_channels(&c, "pt,ecal", NULL);
    c.graph.enabled = 1;
    c.graph.raw = 1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &t, NULL), E2E_OK);
    prepare(f, t, &g);
    /* the order follows the features as given: now 30 + 5 before 20 */
    assert_float_equal(g.features[0 * g.P + 0], 30.0f, 0);
    assert_float_equal(g.features[1 * g.P + 0], 5.0f, 0);
    assert_float_equal(g.features[1 * g.P + 1], 20.0f, 0);
    e2e_tagger_free(t);
}

static void test_scale_table(void **state)
{
    (void)state;
    assert_float_equal(e2e_graph_channel_scale(E2E_CH_PT), 0.01f, 0);
    assert_float_equal(e2e_graph_channel_scale(E2E_CH_D0), 0.1f, 0);
    assert_float_equal(e2e_graph_channel_scale(E2E_CH_DZ), 0.05f, 0);
    assert_float_equal(e2e_graph_channel_scale(E2E_CH_ECAL), 0.1f, 0);
    assert_float_equal(e2e_graph_channel_scale(E2E_CH_HBHE), 0.1f, 0);
    assert_float_equal(e2e_graph_channel_scale(E2E_CH_BPIX1), 1.0f, 0);
}

static void test_phi_wrap(void **state)
{
    fixture *f = *state;
    e2e_event_clear(f->ev);
    add_jet(f->ev, -5, 71, 80); /* HBHE column 0: the seed sits at grid column 2 */
    const int r0 = seed_row(-5), c0 = seed_col(71);
    assert_int_equal(c0, 2);
    add_eb(f->ev, r0 + 1, 357, 3.0f); /* 5 degrees below the seed, across the wrap */
    add_eb(f->ev, r0 - 1, 6, 4.0f);   /* 4 degrees above */
    e2e_tagger *t = graph_tagger("ecal", -1, 0);
    e2e_graph_frames g;
    prepare(f, t, &g);
    size_t n;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    assert_int_equal(sl[0].seed.col, 2);
    assert_int_equal(sl[0].n_nodes, 2);
    const int P = g.P;
    assert_float_equal(g.points[P + 0], 4 * DEG, 1e-6);
    assert_float_equal(g.points[P + 1], -5 * DEG, 1e-6);
    assert_float_equal(g.points[0], e2e_geom_row_eta(r0 - 1) - e2e_geom_row_eta(r0), 1e-6);
    assert_float_equal(g.points[1], e2e_geom_row_eta(r0 + 1) - e2e_geom_row_eta(r0), 1e-6);
    e2e_tagger_free(t);
}

/* An HBHE tower is 25 cells of equal value: ties, broken by (row, col) of the crop. */
static void test_order_ties_and_truncation(void **state)
{
    fixture *f = *state;
    e2e_event_clear(f->ev);
    add_jet(f->ev, 3, 20, 100);
    e2e_hbhe_hit h = {5, 22, 2, 0, 50.0f}; /* depth 2: not a seed candidate */
    e2e_event_add_hbhe(f->ev, &h, NULL);
    const int r0 = seed_row(3), c0 = seed_col(20);
    add_eb(f->ev, r0 + 3, c0 - 4, 1.0f); /* key 0.1 < 50 / 25 x 0.1 = 0.2 */
    e2e_tagger *t = graph_tagger("ecal,hbhe", -1, 0);
    e2e_graph_frames g;
    prepare(f, t, &g);
    size_t n;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    assert_int_equal(sl[0].n_nodes, 26);
    int P = g.P;
    assert_int_equal(P, 32);
    const int tr = e2e_geom_hcal_row(5) * 5, tc = e2e_geom_hcal_col(22) * 5;
    for (int j = 0; j < 25; j++) { /* row-major over the tower's 5 x 5 block */
        assert_float_equal(g.features[P + j], 0.2f, 1e-6);
        double deta = e2e_geom_row_eta(tr + j / 5) - e2e_geom_row_eta(r0);
        double dphi = (tc + j % 5 - c0) * DEG;
        assert_float_equal(g.points[j], deta, 1e-6);
        assert_float_equal(g.points[P + j], dphi, 1e-6);
    }
    assert_float_equal(g.features[25], 0.1f, 1e-6); /* the crystal last */
    assert_float_equal(g.mask[25], 1, 0);
    assert_float_equal(g.mask[26], 0, 0);
    assert_int_equal(g.truncated, 0);
    float first10[2][10];
    for (int j = 0; j < 10; j++) {
        first10[0][j] = g.points[j];
        first10[1][j] = g.points[P + j];
    }
    e2e_tagger_free(t);

    /* a cap of 10 keeps the first 10 in that order and counts the cloud as truncated */
    t = graph_tagger("ecal,hbhe", -1, 10);
    prepare(f, t, &g);
    sl = e2e_tagger_slots(t, &n);
    assert_int_equal(sl[0].n_nodes, 26);
    assert_int_equal(g.P, 10);
    assert_int_equal(g.truncated, 1);
    for (int j = 0; j < 10; j++) {
        assert_float_equal(g.points[j], first10[0][j], 0);
        assert_float_equal(g.points[10 + j], first10[1][j], 0);
        assert_float_equal(g.mask[j], 1, 0);
    }
    e2e_tagger_free(t);
}

/* No hits at all: the jet still seeds on its axis tower, its cloud is empty. */
static void test_empty_event(void **state)
{
    fixture *f = *state;
    e2e_event_clear(f->ev);
    add_jet(f->ev, 3, 20, 100);
    add_jet(f->ev, 3, 20, 10); /* fails the pT cut */
    e2e_tagger *t = graph_tagger("pt,d0,dz,ecal,hbhe", -1, 0);
    e2e_graph_frames g;
    prepare(f, t, &g);
    size_t n;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    assert_int_equal(n, 2);
    assert_int_equal(sl[0].seed.status, E2E_SEED_NO_NODES);
    assert_string_equal(e2e_seed_status_name(sl[0].seed.status), "no-nodes");
    assert_int_equal(sl[0].seed.row, seed_row(3)); /* the seed itself is kept */
    assert_int_equal(sl[1].seed.status, E2E_SEED_LOW_PT);
    assert_int_equal(g.empty, 1);
    for (size_t i = 0; i < 2 * (size_t)g.P; i++)
        assert_float_equal(g.mask[i], 0, 0);
    e2e_tagger_free(t);
    /* an event without objects: no slots, nothing to run */
    e2e_event_clear(f->ev);
    t = graph_tagger("ecal", -1, 0);
    prepare(f, t, &g);
    assert_int_equal(g.n, 0);
    e2e_tagger_free(t);
}

/* ---- graph models ---- */

typedef struct gm_spec {
    int C;
    int64_t n, p;   /* -1: dynamic */
    int seed;       /* a seed input */
    int knn;        /* k of a knn_index input (0: none) */
    const char *features_name;
    int features_c; /* declared channels (0: C) */
    int knn_float;  /* declare knn_index as float (a wrong layout) */
} gm_spec;

/* Weights of the reference model: w[0..C) features, then points 0, 1, mask, seed 0..2
   (times 0.01: pT is in GeV), knn. */
static float gm_w(int i, int C)
{
    float w = 0.05f * (float)((i % 5) + 1) * (i % 2 ? -1.0f : 1.0f);
    return i >= C + 3 && i < C + 6 ? w * 0.01f : w;
}
#define GM_BIAS 0.25f
#define GM_KNN_SCALE 0.001f

/* y = Sigmoid(Gemm(Concat(sum_P features*mask, sum_P points*mask, sum_P mask, [seed],
   [sum knn_index x 0.001]), w) + b) */
static e2e_ob *graph_model_ob(const gm_spec *s)
{
    e2e_ob *b = e2e_ob_new(13, "graph_craft");
    const int64_t n = s->n, p = s->p;
    e2e_ob_input(b, "points", E2E_FLOAT, 3, (int64_t[]){n, 2, p});
    e2e_ob_input(b, s->features_name ? s->features_name : "features", E2E_FLOAT, 3,
                 (int64_t[]){n, s->features_c ? s->features_c : s->C, p});
    e2e_ob_input(b, "mask", E2E_FLOAT, 3, (int64_t[]){n, 1, p});
    if (s->seed)
        e2e_ob_input(b, "seed", E2E_FLOAT, 2, (int64_t[]){n, 3});
    if (s->knn)
        e2e_ob_input(b, "knn_index", s->knn_float ? E2E_FLOAT : E2E_INT64, 3,
                     (int64_t[]){n, p, s->knn});
    e2e_ob_init_i64(b, "ax2", 1, (int64_t[]){1}, (int64_t[]){2});
    e2e_ob_init_i64(b, "ax12", 1, (int64_t[]){2}, (int64_t[]){1, 2});
    const char *fname = s->features_name ? s->features_name : "features";
    e2e_ob_node(b, "Mul", NULL, 2, (const char *[]){fname, "mask"}, 1, (const char *[]){"fm"});
    e2e_ob_node(b, "Mul", NULL, 2, (const char *[]){"points", "mask"}, 1, (const char *[]){"pm"});
    const char *sums[][2] = {{"fm", "sf"}, {"pm", "sp"}, {"mask", "sm"}};
    for (int i = 0; i < 3; i++) {
        Onnx__NodeProto *r = e2e_ob_node(b, "ReduceSum", NULL, 2,
                                         (const char *[]){sums[i][0], "ax2"}, 1,
                                         (const char *[]){sums[i][1]});
        e2e_ob_attr_int(b, r, "keepdims", 0);
    }
    const char *cat[5] = {"sf", "sp", "sm"};
    int ncat = 3, width = s->C + 3;
    if (s->seed) {
        cat[ncat++] = "seed";
        width += 3;
    }
    if (s->knn) {
        Onnx__NodeProto *c = e2e_ob_node(b, "Cast", NULL, 1, (const char *[]){"knn_index"}, 1,
                                         (const char *[]){"kf"});
        e2e_ob_attr_int(b, c, "to", 1);
        Onnx__NodeProto *r = e2e_ob_node(b, "ReduceSum", NULL, 2, (const char *[]){"kf", "ax12"},
                                         1, (const char *[]){"ks"});
        e2e_ob_attr_int(b, r, "keepdims", 0);
        e2e_ob_init_f32(b, "c100", 0, NULL, (float[]){GM_KNN_SCALE});
        e2e_ob_node(b, "Mul", NULL, 2, (const char *[]){"ks", "c100"}, 1, (const char *[]){"kss"});
        e2e_ob_node(b, "Unsqueeze", NULL, 2, (const char *[]){"kss", "ax1"}, 1,
                    (const char *[]){"ku"});
        e2e_ob_init_i64(b, "ax1", 1, (int64_t[]){1}, (int64_t[]){1});
        cat[ncat++] = "ku";
        width += 1;
    }
    Onnx__NodeProto *c = e2e_ob_node(b, "Concat", NULL, ncat, cat, 1, (const char *[]){"cat"});
    e2e_ob_attr_int(b, c, "axis", 1);
    float w[64];
    for (int i = 0; i < width; i++)
        w[i] = gm_w(s->seed || i < s->C + 3 ? i : i + 3, s->C); /* knn after seed's places */
    e2e_ob_init_f32(b, "W", 2, (int64_t[]){width, 1}, w);
    e2e_ob_init_f32(b, "B", 1, (int64_t[]){1}, (float[]){GM_BIAS});
    e2e_ob_node(b, "Gemm", NULL, 3, (const char *[]){"cat", "W", "B"}, 1, (const char *[]){"z"});
    e2e_ob_node(b, "Sigmoid", NULL, 1, (const char *[]){"z"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, 2, (int64_t[]){n, 1});
    return b;
}

static e2e_model *graph_model(const gm_spec *s)
{
    e2e_ob *b = graph_model_ob(s);
    uint8_t *buf;
    size_t size;
    e2e_error err;
    if (e2e_ob_pack(b, &buf, &size, &err))
        fail_msg("%s", err.message);
    e2e_ob_free(b);
    e2e_model *m;
    if (e2e_model_load_buffer(buf, size, "graph_craft.onnx", &m, &err))
        fail_msg("%s", err.message);
    free(buf);
    return m;
}

/* The model's score for slot i, from the frames. */
static double reference_score(const e2e_graph_frames *g, size_t i, const gm_spec *s)
{
    const int P = g->P, C = g->C;
    double z = GM_BIAS;
    for (int c = 0; c < C; c++) {
        double sum = 0;
        for (int j = 0; j < P; j++)
            sum += (double)g->features[(i * C + c) * P + j] * g->mask[i * P + j];
        z += gm_w(c, C) * sum;
    }
    for (int a = 0; a < 2; a++) {
        double sum = 0;
        for (int j = 0; j < P; j++)
            sum += (double)g->points[(i * 2 + a) * P + j] * g->mask[i * P + j];
        z += gm_w(C + a, C) * sum;
    }
    double cnt = 0;
    for (int j = 0; j < P; j++)
        cnt += g->mask[i * P + j];
    z += gm_w(C + 2, C) * cnt;
    if (s->seed)
        for (int a = 0; a < 3; a++)
            z += gm_w(C + 3 + a, C) * g->seed[i * 3 + a];
    if (s->knn) {
        double sum = 0;
        for (size_t q = 0; q < (size_t)P * g->k; q++)
            sum += (double)g->knn[i * P * g->k + q];
        z += gm_w(C + 6, C) * sum * GM_KNN_SCALE;
    }
    return 1 / (1 + exp(-z));
}

/* Three jets with different clouds (2, 26 and 0 nodes) and one failing the pT cut. */
static void chain_event(e2e_event *ev)
{
    e2e_event_clear(ev);
    add_jet(ev, 3, 20, 100);
    add_jet(ev, -8, 50, 60);
    add_jet(ev, 3, 20, 20);  /* low pT */
    add_jet(ev, 12, 2, 40);  /* nothing around it */
    const int r0 = seed_row(3), c0 = seed_col(20);
    add_eb(ev, r0 - 2, c0 + 3, 20.0f);
    add_eb(ev, r0, c0, 5.0f);
    add_track(ev, r0, c0, 30.0f);
    e2e_hbhe_hit h = {-7, 52, 2, 0, 50.0f};
    e2e_event_add_hbhe(ev, &h, NULL);
    add_eb(ev, seed_row(-8) + 3, seed_col(50) - 4, 1.0f);
}

static void run_chain(fixture *f, const gm_spec *s, int max_points, int want_created)
{
    e2e_model *m = graph_model(s);
    e2e_tagger_config c;
    e2e_error err;
    e2e_tagger_config_default("qg", &c, NULL);
    if (max_points)
        c.graph.max_points = max_points;
    e2e_tagger *t;
    if (e2e_tagger_create(&c, m, NULL, &t, &err))
        fail_msg("%s", err.message);
    assert_int_equal(e2e_tagger_get_kind(t), E2E_TAGGER_GRAPH);
    assert_true(e2e_tagger_get_config(t)->graph.enabled);
    chain_event(f->ev);
    e2e_graph_frames g;
    prepare(f, t, &g);
    size_t n;
    int C, H, W;
    assert_null(e2e_tagger_frames(t, &n, &C, &H, &W)); /* no image frames for a graph model */
    if (e2e_tagger_infer(t, &err))
        fail_msg("%s", err.message);
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    assert_int_equal(n, 4);
    assert_int_equal(g.C, 5);
    assert_int_equal(sl[0].n_nodes, 2);
    assert_int_equal(sl[1].n_nodes, 26);
    assert_int_equal(sl[2].seed.status, E2E_SEED_LOW_PT);
    assert_int_equal(sl[3].seed.status, E2E_SEED_NO_NODES);
    if (s->p > 0)
        assert_int_equal(g.P, s->p);
    for (size_t i = 0; i < n; i++) {
        if (sl[i].seed.status != E2E_SEED_OK) {
            assert_float_equal(sl[i].score, -1, 0);
            continue;
        }
        double want = reference_score(&g, i, s);
        if (fabs(sl[i].score - want) > 1e-5)
            fail_msg("slot %zu: score %.7f, reference %.7f", i, (double)sl[i].score, want);
    }
    if (want_created)
        assert_int_equal(e2e_tagger_sessions_created(t), want_created);
    /* a second event of the same shape reuses the sessions */
    int created = e2e_tagger_sessions_created(t);
    prepare(f, t, &g);
    assert_int_equal(e2e_tagger_infer(t, &err), E2E_OK);
    assert_int_equal(e2e_tagger_sessions_created(t), created);
    e2e_tagger_free(t);
    e2e_model_free(m);
}

static void test_chain_dynamic_n_and_p(void **state)
{
    gm_spec s = {5, -1, -1, 0, 0, NULL, 0, 0};
    run_chain(*state, &s, 0, 1); /* one run per event, P = 32 */
}

static void test_chain_batch1_dynamic_p(void **state)
{
    /* as CMSSW runs ParticleNet: one slot per run, P of each slot's own cloud (2 nodes ->
       32, 26 -> 32, 0 -> 32 with min_points; with a cap of 20: 20) */
    gm_spec s = {5, 1, -1, 1, 0, NULL, 0, 0};
    run_chain(*state, &s, 0, 1);
    run_chain(*state, &s, 20, 0);
    /* quantum 16 with a small min_points: the clouds get P = 16 and 32, two sessions */
    fixture *f = *state;
    e2e_model *m = graph_model(&s);
    e2e_tagger_config c;
    e2e_tagger_config_default("qg", &c, NULL);
    c.graph.min_points = 1;
    e2e_tagger *t;
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, NULL), E2E_OK);
    chain_event(f->ev);
    e2e_graph_frames g;
    prepare(f, t, &g);
    assert_int_equal(g.P, 32); /* the event batch: the largest cloud */
    e2e_error err;
    if (e2e_tagger_infer(t, &err))
        fail_msg("%s", err.message);
    assert_int_equal(e2e_tagger_sessions_created(t), 2);
    size_t n;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    for (size_t i = 0; i < 2; i++)
        assert_float_equal(sl[i].score, reference_score(&g, i, &s), 1e-5);
    e2e_tagger_free(t);
    e2e_model_free(m);
}

static void test_chain_fixed_p_truncates(void **state)
{
    gm_spec s = {5, -1, 8, 1, 0, NULL, 0, 0};
    fixture *f = *state;
    run_chain(f, &s, 0, 1);
    e2e_model *m = graph_model(&s);
    e2e_tagger_config c;
    e2e_tagger_config_default("qg", &c, NULL);
    e2e_tagger *t;
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, NULL), E2E_OK);
    chain_event(f->ev);
    e2e_graph_frames g;
    prepare(f, t, &g);
    assert_int_equal(g.P, 8);
    assert_int_equal(g.truncated, 1); /* the 26-node cloud */
    e2e_tagger_free(t);
    e2e_model_free(m);
}

static void test_chain_fixed_batch_padding(void **state)
{
    /* N fixed at 3 for 4 slots: two runs, the second padded with all-masked slots */
    gm_spec s = {5, 3, 16, 1, 0, NULL, 0, 0};
    run_chain(*state, &s, 0, 1);
}

static void test_chain_knn(void **state)
{
    gm_spec s = {5, -1, -1, 0, 0, NULL, 0, 0};
    s.knn = 3;
    run_chain(*state, &s, 0, 1);
    /* the edge list: the 3 nearest other nodes, ties by lower index; self where fewer */
    fixture *f = *state;
    e2e_model *m = graph_model(&s);
    e2e_tagger_config c;
    e2e_tagger_config_default("qg", &c, NULL);
    e2e_tagger *t;
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, NULL), E2E_OK);
    chain_event(f->ev);
    e2e_graph_frames g;
    prepare(f, t, &g);
    assert_int_equal(g.k, 3);
    assert_non_null(g.knn);
    const int P = g.P, k = 3;
    size_t n;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    for (size_t i = 0; i < n; i++) {
        const int real = sl[i].n_nodes < P ? sl[i].n_nodes : P;
        const float *pt = g.points + i * 2 * P;
        const int64_t *kn = g.knn + i * (size_t)P * k;
        for (int a = 0; a < P; a++)
            for (int q = 0; q < k; q++) {
                int64_t want = a;
                if (a < real && q < real - 1) { /* brute force: q-th nearest other node */
                    int rank_left = q, best = -1;
                    int used[64] = {0};
                    for (int r = 0; r <= rank_left; r++) {
                        best = -1;
                        float bd = 0;
                        for (int b = 0; b < real; b++) {
                            if (b == a || used[b])
                                continue;
                            /* the same float arithmetic as the library (-std=c11: no
                               contraction), so exact ties stay ties */
                            float dx = pt[b] - pt[a], dy = pt[P + b] - pt[P + a];
                            float d = dx * dx + dy * dy;
                            if (best < 0 || d < bd) {
                                best = b;
                                bd = d;
                            }
                        }
                        used[best] = 1;
                    }
                    want = best;
                }
                if (kn[a * k + q] != want)
                    fail_msg("slot %zu node %d neighbour %d: %lld, want %lld", i, a, q,
                             (long long)kn[a * k + q], (long long)want);
            }
    }
    e2e_tagger_free(t);
    e2e_model_free(m);
}

static void test_mismatched_models_refused(void **state)
{
    (void)state;
    e2e_tagger_config c;
    e2e_tagger_config_default("qg", &c, NULL);
    e2e_tagger *t = NULL;
    e2e_error err;
    /* a misnamed input */
    gm_spec s = {5, -1, -1, 0, 0, "feats", 0, 0};
    e2e_model *m = graph_model(&s);
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_ERR_ARGUMENT);
    assert_null(t);
    assert_contains(err.message, "tagger qg");
    assert_contains(err.message, "points float [?, 2, ?]");
    assert_contains(err.message, "feats float [?, 5, ?]");
    assert_contains(err.message, "mask float [?, 1, ?]");
    assert_contains(err.message, "match no frame layout");
    e2e_model_free(m);
    /* the wrong channel count */
    gm_spec s2 = {5, -1, -1, 0, 0, NULL, 3, 0};
    m = graph_model(&s2);
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "features float [?, 3, ?]");
    assert_contains(err.message, "features has 3 channels, the channel list has 5");
    e2e_model_free(m);
    /* P fixed in one input, another in the next */
    e2e_ob *b = e2e_ob_new(13, "bad");
    e2e_ob_input(b, "points", E2E_FLOAT, 3, (int64_t[]){-1, 2, 16});
    e2e_ob_input(b, "features", E2E_FLOAT, 3, (int64_t[]){-1, 5, 32});
    e2e_ob_input(b, "mask", E2E_FLOAT, 3, (int64_t[]){-1, 1, 16});
    e2e_ob_node(b, "Identity", NULL, 1, (const char *[]){"mask"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    uint8_t *buf;
    size_t size;
    assert_int_equal(e2e_ob_pack(b, &buf, &size, &err), E2E_OK);
    e2e_ob_free(b);
    assert_int_equal(e2e_model_load_buffer(buf, size, "bad.onnx", &m, &err), E2E_OK);
    free(buf);
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "bad.onnx");
    assert_contains(err.message, "disagree on P");
    e2e_model_free(m);
    /* knn_index must be int64 */
    gm_spec s3 = {5, -1, -1, 0, 0, NULL, 0, 1};
    s3.knn = 4;
    b = graph_model_ob(&s3);
    assert_int_equal(e2e_ob_pack(b, &buf, &size, &err), E2E_OK);
    e2e_ob_free(b);
    assert_int_equal(e2e_model_load_buffer(buf, size, "knnf.onnx", &m, &err), E2E_OK);
    free(buf);
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "knn_index must be int64");
    e2e_model_free(m);
    /* an image model of rank 3 is neither */
    b = e2e_ob_new(13, "img3");
    e2e_ob_input(b, "frames", E2E_FLOAT, 3, (int64_t[]){-1, 5, 128});
    e2e_ob_node(b, "Identity", NULL, 1, (const char *[]){"frames"}, 1, (const char *[]){"y"});
    e2e_ob_output(b, "y", E2E_FLOAT, -1, NULL);
    assert_int_equal(e2e_ob_pack(b, &buf, &size, &err), E2E_OK);
    e2e_ob_free(b);
    assert_int_equal(e2e_model_load_buffer(buf, size, "img3.onnx", &m, &err), E2E_OK);
    free(buf);
    assert_int_equal(e2e_tagger_create(&c, m, NULL, &t, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "frames float [?, 5, 128]");
    assert_contains(err.message, "match no frame layout");
    e2e_model_free(m);
    /* a crop wider than the grid repeats cells: no cloud */
    c.graph.enabled = 1;
    c.width = 400;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &t, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "at most 360 wide");
    c.width = 128;
    /* graph options out of range */
    c.graph.threshold = -1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &t, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "threshold");
}

static void test_image_tagger_builds_no_graphs(void **state)
{
    fixture *f = *state;
    e2e_tagger_config c;
    e2e_tagger_config_default("qg", &c, NULL);
    e2e_tagger *t;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &t, NULL), E2E_OK);
    chain_event(f->ev);
    e2e_detframes_build(f->df, f->ev, NULL);
    assert_int_equal(e2e_tagger_prepare(t, f->ev, f->df, NULL), E2E_OK);
    e2e_graph_frames g;
    e2e_error err;
    assert_int_equal(e2e_tagger_graph_frames(t, &g, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "no graph frames");
    size_t n;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    assert_int_equal(sl[3].seed.status, E2E_SEED_OK); /* no no-nodes status without graphs */
    e2e_tagger_free(t);
}

/* The event's node cells found from DetFrames' occupancy equal those of a scan of every
   cell (the path taken when the occupancy is unknown), on generated events, for the grid and
   the EB view; so do the clouds cut from them, whose channel values are read from the image
   where the bit is set (+0 elsewhere), from every image cell, or from the HBHE towers. */
static void test_occupancy_equals_full_scan(void **state)
{
    fixture *f = *state;
    e2e_gen_options go = e2e_gen_options_default();
    const e2e_channel chans[] = {E2E_CH_PT, E2E_CH_D0, E2E_CH_DZ, E2E_CH_ECAL, E2E_CH_HBHE,
                                 E2E_CH_BPIX1, E2E_CH_BPIX2, E2E_CH_BPIX3};
    const float scale[8] = {0.01f, 0.1f, 0.05f, 0.1f, 0.1f, 1, 1, 1};
    uint64_t *bits = malloc(8 * FR_GRID_WORDS * sizeof(uint64_t));
    assert_non_null(bits);
    const uint64_t *chbits[8];
    size_t nonzero_values = 0;
    for (uint64_t k = 0; k < 4; k++) {
        assert_int_equal(e2e_gen_event(&go, k, f->ev, NULL), E2E_OK);
        assert_int_equal(e2e_detframes_build(f->df, f->ev, NULL), E2E_OK);
        for (int eb = 0; eb < 2; eb++) {
            const float *img[8];
            const int C = eb ? 1 : 8;
            memset(bits, 0, 8 * FR_GRID_WORDS * sizeof(uint64_t));
            for (int c = 0; c < C; c++) {
                const e2e_channel ch = eb ? E2E_CH_ECAL : chans[c];
                img[c] = e2e_detframes_channel(f->df, ch) + (eb ? E2E_EB_ROW0 * E2E_GRID_COLS : 0);
                chbits[c] = bits + (size_t)c * FR_GRID_WORDS;
                assert_int_equal(fr_detframes_occupied(f->df, E2E_CHANNEL_BIT(ch),
                                                       bits + (size_t)c * FR_GRID_WORDS, 0,
                                                       FR_GRID_WORDS), 0);
            }
            fr_graph_event a, b, tw;
            memset(&a, 0, sizeof a);
            a.img = img;
            a.scale = eb ? scale + 3 : scale;
            a.C = C;
            a.H = eb ? E2E_EB_ROWS : E2E_GRID_ROWS;
            a.grid_row0 = eb ? E2E_EB_ROW0 : 0;
            a.threshold = 1e-3f;
            b = tw = a;
            /* the HBHE channel (grid: channel 4) from the towers instead of the image */
            static float hcell[E2E_HCAL_ROWS * E2E_HCAL_COLS];
            static uint64_t hrows[E2E_HCAL_ROWS][FR_HROW_WORDS];
            memset(hrows, 0, sizeof hrows);
            assert_int_equal(fr_detframes_hbhe_cells(f->df, hcell, hrows), 0);
            if (!eb) {
                tw.hbhe = hcell;
                tw.hbhe_rows = (const uint64_t(*)[FR_HROW_WORDS])hrows;
                tw.hbhe_c = 4;
            }
            fr_vec_init(&a.cells, sizeof(fr_graph_cand));
            fr_vec_init(&b.cells, sizeof(fr_graph_cand));
            fr_vec_init(&tw.cells, sizeof(fr_graph_cand));
            assert_int_equal(fr_graph_event_cells(&a, chbits), 0);
            assert_int_equal(fr_graph_event_cells(&b, NULL), 0);
            assert_int_equal(fr_graph_event_cells(&tw, chbits), 0);
            assert_true(a.cells.n > 100);
            assert_int_equal(a.cells.n, b.cells.n);
            assert_memory_equal(a.cells.data, b.cells.data, a.cells.n * sizeof(fr_graph_cand));
            assert_memory_equal(a.row_first, b.row_first, (a.H + 1) * sizeof(size_t));
            assert_int_equal(a.cells.n, tw.cells.n);
            assert_memory_equal(a.cells.data, tw.cells.data, a.cells.n * sizeof(fr_graph_cand));
            assert_memory_equal(a.row_first, tw.row_first, (a.H + 1) * sizeof(size_t));
            /* and the clouds, whose channel values the three read differently (the image
               where the bit is set, every image cell, the towers): crops that wrap in phi,
               caps that cut */
            const int seeds[][4] = {{17, 5, 40, 50}, {a.H / 2, 350, 128, 128}, {a.H - 3, 180, 33, 7},
                                    {a.H / 3, 90, 64, 360}};
            for (int s = 0; s < 4; s++) {
                const int h = seeds[s][2] < a.H ? seeds[s][2] : a.H;
                const size_t cap = (size_t)seeds[s][3], per = (size_t)(2 + C) * cap;
                float *oa = calloc(per, sizeof(float)), *ob = calloc(per, sizeof(float));
                float *ot = calloc(per, sizeof(float));
                assert_true(oa && ob && ot);
                fr_vec heap;
                fr_vec_init(&heap, sizeof(uint64_t));
                size_t fa, ka, fb, kb, ft, kt;
                assert_int_equal(fr_graph_cloud(&a, seeds[s][0], seeds[s][1], h, 128, cap, &heap,
                                                oa, &fa, &ka), 0);
                assert_int_equal(fr_graph_cloud(&b, seeds[s][0], seeds[s][1], h, 128, cap, &heap,
                                                ob, &fb, &kb), 0);
                assert_int_equal(fr_graph_cloud(&tw, seeds[s][0], seeds[s][1], h, 128, cap, &heap,
                                                ot, &ft, &kt), 0);
                assert_int_equal(fa, fb);
                assert_int_equal(fa, ft);
                assert_int_equal(ka, kb);
                assert_int_equal(ka, kt);
                assert_memory_equal(oa, ob, per * sizeof(float));
                assert_memory_equal(oa, ot, per * sizeof(float));
                nonzero_values += ka;
                fr_vec_free(&heap);
                free(oa);
                free(ob);
                free(ot);
            }
            fr_vec_free(&a.cells);
            fr_vec_free(&b.cells);
            fr_vec_free(&tw.cells);
        }
    }
    assert_true(nonzero_values > 400); /* the clouds compared were not empty */
    free(bits);
}

/* fr_graph_event_derive: the 8-channel cell list taken from a 5-channel one (qg's channels,
   top's first five) equals the one built from all channels: on the whole grid exactly, and
   on the cells of a few crops (where the derived list may hold the source's cells
   elsewhere); at two thresholds (at 0.5 an extra channel's hit counts make nodes of cells
   the source left out), HBHE from the towers or the image, and on the EB view (ecal, then
   pt and bpix1). Both ways a cell with an extra channel is summed (from the source's key,
   and over every channel) are exercised. */
static void test_derived_cells_equal_own(void **state)
{
    fixture *f = *state;
    e2e_gen_options go = e2e_gen_options_default();
    const e2e_channel chans[] = {E2E_CH_PT, E2E_CH_D0, E2E_CH_DZ, E2E_CH_ECAL, E2E_CH_HBHE,
                                 E2E_CH_BPIX1, E2E_CH_BPIX2, E2E_CH_BPIX3};
    const float scale[8] = {0.01f, 0.1f, 0.05f, 0.1f, 0.1f, 1, 1, 1};
    const int NC = E2E_GRID_ROWS * E2E_GRID_COLS;
    uint64_t *bits = calloc(8 * FR_GRID_WORDS + 1, sizeof(uint64_t));
    float *kown = malloc(NC * sizeof(float)), *kder = malloc(NC * sizeof(float));
    static uint64_t cols[E2E_GRID_ROWS][FR_HROW_WORDS];
    static float hcell[E2E_HCAL_ROWS * E2E_HCAL_COLS];
    static uint64_t hrows[E2E_HCAL_ROWS][FR_HROW_WORDS];
    assert_non_null(bits);
    assert_non_null(kown);
    assert_non_null(kder);
    const uint64_t *chbits[8];
    const float *img[8];
    size_t from_key = 0, summed = 0, compared = 0, eb_extra = 0;
    for (uint64_t k = 0; k < 6; k++) {
        assert_int_equal(e2e_gen_event(&go, 40 + k, f->ev, NULL), E2E_OK);
        assert_int_equal(e2e_detframes_build(f->df, f->ev, NULL), E2E_OK);
        for (int c = 0; c < 8; c++) {
            img[c] = e2e_detframes_channel(f->df, chans[c]);
            chbits[c] = bits + (size_t)c * FR_GRID_WORDS;
            memset(bits + (size_t)c * FR_GRID_WORDS, 0, FR_GRID_WORDS * sizeof(uint64_t));
            assert_int_equal(fr_detframes_occupied(f->df, E2E_CHANNEL_BIT(chans[c]),
                                                   bits + (size_t)c * FR_GRID_WORDS, 0,
                                                   FR_GRID_WORDS), 0);
        }
        memset(hrows, 0, sizeof hrows);
        assert_int_equal(fr_detframes_hbhe_cells(f->df, hcell, hrows), 0);
        /* the EB view: ecal, then pt and bpix1 */
        const int eb_of[3] = {3, 0, 5};
        const float eb_scale[3] = {0.1f, 0.01f, 1};
        const float *eb_img[3];
        const uint64_t *eb_bits[3];
        for (int c = 0; c < 3; c++) {
            eb_img[c] = img[eb_of[c]] + E2E_EB_ROW0 * E2E_GRID_COLS;
            eb_bits[c] = chbits[eb_of[c]];
        }
        for (int v = 0; v < 10; v++) {
            const int eb = v >= 8, towers = !eb && (v & 1), crops = v >> 1 & 1;
            const float threshold = v >> 2 == 1 ? 0.5f : 1e-3f;
            const int r0 = eb ? 10 : 40, r1 = eb ? 150 : 200; /* the crops' rows */
            fr_graph_event src, own, der;
            memset(&src, 0, sizeof src);
            src.img = eb ? eb_img : img;
            src.scale = eb ? eb_scale : scale;
            src.C = eb ? 1 : 5;
            src.H = eb ? E2E_EB_ROWS : E2E_GRID_ROWS;
            src.grid_row0 = eb ? E2E_EB_ROW0 : 0;
            src.threshold = threshold;
            src.row_lo = 0;
            src.row_hi = src.H;
            if (towers) {
                src.hbhe = hcell;
                src.hbhe_rows = (const uint64_t(*)[FR_HROW_WORDS])hrows;
                src.hbhe_c = 4;
            }
            own = der = src;
            own.C = der.C = eb ? 3 : 8;
            if (crops) { /* two 90-column windows (one across phi = 0) on rows r0 .. r1 - 1 */
                memset(cols, 0, sizeof cols);
                for (int r = r0; r < r1; r++)
                    for (int q = 0; q < 90; q++) {
                        const int cs[2] = {(300 + q) % 360, 100 + q + (r > r0 + 80 ? 40 : 0)};
                        for (int i = 0; i < 2; i++)
                            cols[r][cs[i] >> 6] |= (uint64_t)1 << (cs[i] & 63);
                    }
                own.row_cols = der.row_cols = (const uint64_t(*)[FR_HROW_WORDS])cols;
                own.row_lo = der.row_lo = r0;
                own.row_hi = der.row_hi = r1;
            }
            fr_vec_init(&src.cells, sizeof(fr_graph_cand));
            fr_vec_init(&own.cells, sizeof(fr_graph_cand));
            fr_vec_init(&der.cells, sizeof(fr_graph_cand));
            fr_vec_init(&der.fresh, sizeof(fr_graph_cand));
            assert_int_equal(fr_graph_event_cells(&src, eb ? eb_bits : chbits), 0);
            assert_int_equal(fr_graph_event_cells(&own, eb ? eb_bits : chbits), 0);
            der.bits = eb ? eb_bits : chbits;
            assert_int_equal(fr_graph_event_derive(&der, &src), 0);
            assert_true(own.cells.n > 20);
            eb_extra += eb ? der.fresh.n : 0;
            if (!crops) {
                assert_int_equal(der.cells.n, own.cells.n);
                assert_memory_equal(der.cells.data, own.cells.data,
                                    own.cells.n * sizeof(fr_graph_cand));
                assert_memory_equal(der.row_first, own.row_first,
                                    (own.H + 1) * sizeof(size_t));
            } else { /* the keys of the crops' cells (-1: not a node) */
                for (int i = 0; i < NC; i++)
                    kown[i] = kder[i] = -1;
                const fr_graph_cand *a = own.cells.data, *b = der.cells.data;
                for (size_t i = 0; i < own.cells.n; i++)
                    for (uint32_t x = 0; x < a[i].n; x++)
                        kown[a[i].idx + x] = a[i].key;
                for (size_t i = 0; i < der.cells.n; i++) {
                    if (i)
                        assert_true(b[i].idx >= b[i - 1].idx + b[i - 1].n); /* ordered */
                    for (uint32_t x = 0; x < b[i].n; x++)
                        kder[b[i].idx + x] = b[i].key;
                }
                for (int r = 0; r < der.H; r++)
                    for (int q = 0; q < E2E_GRID_COLS; q++) {
                        if (!(cols[r][q >> 6] >> (q & 63) & 1))
                            continue;
                        const int i = r * E2E_GRID_COLS + q;
                        if (memcmp(&kown[i], &kder[i], sizeof(float)))
                            fail_msg("cell (%d, %d): key %.9g, derived %.9g", r, q, kown[i], kder[i]);
                        compared += kown[i] >= 0;
                    }
                for (int r = 0; r < der.H; r++) /* the rows' first runs */
                    for (size_t i = der.row_first[r]; i < der.row_first[r + 1]; i++)
                        assert_int_equal(b[i].idx / E2E_GRID_COLS, r);
            }
            /* the extra channels' cells: in the source's list (key carried on) or not */
            const fr_graph_cand *fs = der.fresh.data, *sc = src.cells.data;
            for (size_t i = 0, j = 0; i < der.fresh.n; i++) {
                while (j < src.cells.n && sc[j].idx + sc[j].n <= fs[i].idx)
                    j++;
                if (j < src.cells.n && sc[j].idx <= fs[i].idx)
                    from_key++;
                else
                    summed++;
            }
            fr_vec_free(&src.cells);
            fr_vec_free(&own.cells);
            fr_vec_free(&der.cells);
            fr_vec_free(&der.fresh);
        }
    }
    assert_true(compared > 1000);
    assert_true(from_key > 50);
    assert_true(summed > 50);
    assert_true(eb_extra > 20);
    free(bits);
    free(kown);
    free(kder);
}

/* ---- the builder against the plain algorithm ---- */

typedef struct ref_node {
    float key;
    int idx; /* crop index, row-major */
} ref_node;

static int ref_cmp(const void *pa, const void *pb)
{
    const ref_node *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* One tagger's graph frames checked bit for bit against the plain algorithm of
   docs/graph-frames.md run on its image frames (the same crops): every cell of the crop with
   sum_c |v| > threshold, all of them sorted by (key descending, crop index ascending) with
   qsort, the first cap kept, positions from the geometry, the rest zero. Returns the slots
   whose cloud was truncated; adds to *in_run those where the cut fell inside a run of the
   engine's cell list (the last kept node and the first left out: adjacent cells of a crop
   row with the same key, as a tower's cells where HBHE alone was written). */
static size_t check_against_reference(e2e_tagger *t, int photons, float threshold, int cap,
                                      ref_node *buf, size_t *in_run)
{
    e2e_graph_frames g;
    e2e_error err;
    assert_int_equal(e2e_tagger_graph_frames(t, &g, &err), E2E_OK);
    size_t n, nf;
    int C, h, w;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    const float *img = e2e_tagger_frames(t, &nf, &C, &h, &w);
    assert_int_equal(nf, n);
    assert_int_equal(g.n, n);
    assert_int_equal(g.C, C);
    const e2e_tagger_config cfg = *e2e_tagger_get_config(t);
    const int P = g.P, row0 = photons ? E2E_EB_ROW0 : 0;
    size_t truncated = 0, max_kept = 0;
    for (size_t i = 0; i < n; i++) {
        const float *fr = img + i * (size_t)C * h * w;
        size_t cnt = 0;
        const int seeded = sl[i].seed.status == E2E_SEED_OK ||
                           sl[i].seed.status == E2E_SEED_NO_NODES;
        for (int idx = 0; seeded && idx < h * w; idx++) {
            float sum = 0, key = 0;
            for (int c = 0; c < C; c++) {
                const float v = fr[(size_t)c * h * w + idx];
                sum += fabsf(v);
                key += fabsf(e2e_graph_channel_scale(cfg.channels[c]) * v);
            }
            if (sum > threshold)
                buf[cnt++] = (ref_node){key, idx};
        }
        qsort(buf, cnt, sizeof *buf, ref_cmp);
        const size_t kept = cnt < (size_t)cap ? cnt : (size_t)cap;
        assert_int_equal(sl[i].n_nodes, (int)cnt);
        if (seeded)
            assert_int_equal(sl[i].seed.status, cnt ? E2E_SEED_OK : E2E_SEED_NO_NODES);
        truncated += cnt > kept;
        if (cnt > kept && kept && !memcmp(&buf[kept].key, &buf[kept - 1].key, sizeof(float)) &&
            buf[kept].idx == buf[kept - 1].idx + 1 && buf[kept].idx % w)
            ++*in_run;
        max_kept = kept > max_kept ? kept : max_kept;
        const float *pts = g.points + i * 2 * (size_t)P, *ft = g.features + i * (size_t)C * P;
        const float *mk = g.mask + i * (size_t)P;
        const int r0 = sl[i].seed.row - e2e_frame_centre(h);
        const int c0 = sl[i].seed.col - e2e_frame_centre(w);
        for (size_t j = 0; j < (size_t)P; j++) {
            float x[2] = {0, 0}, m = 0;
            float f[E2E_TAGGER_MAX_CHANNELS] = {0};
            if (j < kept) {
                const int r = buf[j].idx / w, q = buf[j].idx % w;
                double dphi = e2e_geom_col_phi(((c0 + q) % 360 + 360) % 360) -
                              e2e_geom_col_phi(sl[i].seed.col);
                dphi = fmod(dphi, 2 * M_PI);
                dphi = dphi > M_PI ? dphi - 2 * M_PI : dphi < -M_PI ? dphi + 2 * M_PI : dphi;
                x[0] = (float)(e2e_geom_row_eta(r0 + r + row0) -
                               e2e_geom_row_eta(sl[i].seed.row + row0));
                x[1] = (float)dphi;
                m = 1;
                for (int c = 0; c < C; c++)
                    f[c] = e2e_graph_channel_scale(cfg.channels[c]) *
                           fr[(size_t)c * h * w + buf[j].idx];
            }
            if (memcmp(&pts[j], &x[0], sizeof(float)) || memcmp(&pts[P + j], &x[1], sizeof(float)) ||
                memcmp(&mk[j], &m, sizeof(float)))
                fail_msg("tagger %s slot %zu node %zu: points (%.9g, %.9g) mask %g, expected "
                         "(%.9g, %.9g) %g", cfg.name, i, j, pts[j], pts[P + j], mk[j], x[0], x[1], m);
            for (int c = 0; c < C; c++)
                if (memcmp(&ft[(size_t)c * P + j], &f[c], sizeof(float)))
                    fail_msg("tagger %s slot %zu node %zu channel %d: %.9g, expected %.9g",
                             cfg.name, i, j, c, ft[(size_t)c * P + j], f[c]);
        }
    }
    assert_int_equal(g.truncated, truncated);
    assert_true(max_kept <= (size_t)P);
    return truncated;
}

/* Toy events (many jets and photons per event, HCAL 5 x 5 blocks of equal values: many equal
   keys) through the four taggers' channel lists, at caps that cut inside groups of equal keys
   and caps above the cloud sizes, two thresholds and several crop sizes (odd, and wider than
   half the phi ring, so that crops wrap and overlap): the clouds must be those of the plain
   algorithm, bit for bit. */
static void test_clouds_equal_plain_algorithm(void **state)
{
    fixture *f = *state;
    e2e_gen_options go = e2e_gen_options_default();
    static const struct {
        const char *tagger, *channels;
        int h, w, cap;
        float threshold;
    } cases[] = {
        {"eg", NULL, 0, 0, 0, -1},
        {"eg", NULL, 15, 21, 7, 0.05f},
        {"eg", NULL, 171, 360, 50, -1}, /* all of the EB view, its first and last rows */
        {"eg", "hbhe,ecal", 45, 333, 60, -1}, /* HBHE towers on the EB view, wrapping */
        {"qg", NULL, 0, 0, 0, -1},
        {"qg", NULL, 33, 47, 25, -1},
        {"top", NULL, 0, 0, 3, -1},
        {"top", NULL, 64, 200, 1000, 0.5f},
        {"tau", "hbhe", 21, 250, 40, -1},
        {"tau", "ecal,pt", 128, 128, 2000, -1},
        /* HBHE taken per tower run: caps that cut inside runs, windows that cut runs at
           odd columns, a crop of the whole phi ring (the window's seam inside a run) */
        {"top", NULL, 128, 360, 37, -1},
        {"tau", "hbhe,ecal", 23, 97, 13, -1},
        {"qg", "ecal,hbhe", 77, 359, 61, 0.2f},
    };
    ref_node *buf = malloc(280 * 360 * sizeof *buf);
    assert_non_null(buf);
    size_t truncated = 0, clouds = 0, in_run = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        e2e_tagger_config c;
        e2e_error err;
        assert_int_equal(e2e_tagger_config_default(cases[k].tagger, &c, &err), E2E_OK);
        if (cases[k].channels)
            assert_int_equal(e2e_tagger_config_set_channels(&c, cases[k].channels, &err), E2E_OK);
        if (cases[k].h) {
            c.height = cases[k].h;
            c.width = cases[k].w;
        }
        c.graph.enabled = 1;
        if (cases[k].cap)
            c.graph.max_points = cases[k].cap;
        if (cases[k].threshold >= 0)
            c.graph.threshold = cases[k].threshold;
        e2e_tagger *t;
        if (e2e_tagger_create(&c, NULL, NULL, &t, &err))
            fail_msg("%s", err.message);
        c = *e2e_tagger_get_config(t);
        for (uint64_t ev = 0; ev < 6; ev++) {
            assert_int_equal(e2e_gen_event(&go, 100 + ev * 7 + k, f->ev, NULL), E2E_OK);
            if (e2e_detframes_build(f->df, f->ev, &err) || e2e_tagger_prepare(t, f->ev, f->df, &err))
                fail_msg("%s", err.message);
            truncated += check_against_reference(t, c.objects == E2E_OBJ_PHOTONS,
                                                 c.graph.threshold, c.graph.max_points, buf,
                                                 &in_run);
            size_t n;
            e2e_tagger_slots(t, &n);
            clouds += n;
        }
        e2e_tagger_free(t);
    }
    free(buf);
    assert_true(clouds > 100);
    assert_true(truncated > 20); /* the cut inside the clouds was exercised */
    assert_true(in_run > 5);     /* and inside a run of equal keys */
}

/* The graph frames of two taggers equal, slot for slot, bit for bit. */
static void assert_same_graphs(const e2e_tagger *x, const e2e_tagger *y)
{
    e2e_graph_frames a, b;
    e2e_error err;
    assert_int_equal(e2e_tagger_graph_frames(x, &a, &err), E2E_OK);
    assert_int_equal(e2e_tagger_graph_frames(y, &b, &err), E2E_OK);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.P, b.P);
    assert_int_equal(a.truncated, b.truncated);
    assert_int_equal(a.empty, b.empty);
    assert_memory_equal(a.points, b.points, a.n * 2 * (size_t)a.P * sizeof(float));
    assert_memory_equal(a.features, b.features, a.n * (size_t)a.C * a.P * sizeof(float));
    assert_memory_equal(a.mask, b.mask, a.n * (size_t)a.P * sizeof(float));
    size_t n1, n2;
    const e2e_tagger_slot *s1 = e2e_tagger_slots(x, &n1), *s2 = e2e_tagger_slots(y, &n2);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++) {
        assert_int_equal(s1[i].n_nodes, s2[i].n_nodes);
        assert_int_equal(s1[i].seed.status, s2[i].seed.status);
    }
}

/* A tagger that takes another's clouds (e2e_tagger_share_graphs: top and tau) gets the
   graph frames it builds alone, also with another P (a fixed-P model), when the source has
   not prepared this event (it builds its own) and when the seeds differ; taggers whose
   clouds can differ are refused, saying why. */
static void test_shared_clouds(void **state)
{
    fixture *f = *state;
    e2e_gen_options go = e2e_gen_options_default();
    e2e_tagger_config c;
    e2e_error err;
    e2e_tagger *top, *tau, *alone, *qg;
    assert_int_equal(e2e_tagger_config_default("top", &c, &err), E2E_OK);
    c.graph.enabled = 1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &top, &err), E2E_OK);
    assert_int_equal(e2e_tagger_config_default("tau", &c, &err), E2E_OK);
    c.graph.enabled = 1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &tau, &err), E2E_OK);
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &alone, &err), E2E_OK);
    assert_int_equal(e2e_tagger_share_graphs(tau, top, &err), E2E_OK);
    size_t slots = 0;
    for (uint64_t k = 0; k < 10; k++) {
        if (k == 8) { /* other seeds (a higher pT cut): tau builds its own */
            e2e_tagger_free(tau);
            e2e_tagger_free(alone);
            c.min_pt = 60;
            assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &tau, &err), E2E_OK);
            assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &alone, &err), E2E_OK);
            assert_int_equal(e2e_tagger_share_graphs(tau, top, &err), E2E_OK);
        }
        assert_int_equal(e2e_gen_event(&go, 300 + k, f->ev, NULL), E2E_OK);
        assert_int_equal(e2e_detframes_build(f->df, f->ev, &err), E2E_OK);
        /* event 3: tau before top (top's clouds are the previous event's) */
        if (k != 3)
            assert_int_equal(e2e_tagger_prepare(top, f->ev, f->df, &err), E2E_OK);
        assert_int_equal(e2e_tagger_prepare(tau, f->ev, f->df, &err), E2E_OK);
        if (k == 3)
            assert_int_equal(e2e_tagger_prepare(top, f->ev, f->df, &err), E2E_OK);
        assert_int_equal(e2e_tagger_prepare(alone, f->ev, f->df, &err), E2E_OK);
        assert_same_graphs(tau, alone);
        size_t n;
        e2e_tagger_slots(tau, &n);
        slots += n;
    }
    assert_true(slots > 10);
    /* refused: other channels, another view */
    assert_int_equal(e2e_tagger_config_default("qg", &c, &err), E2E_OK);
    c.graph.enabled = 1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &qg, &err), E2E_OK);
    assert_int_equal(e2e_tagger_share_graphs(qg, top, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "the channel lists differ");
    assert_int_equal(e2e_tagger_share_graphs(tau, tau, &err), E2E_ERR_ARGUMENT);
    assert_int_equal(e2e_tagger_share_graphs(tau, NULL, &err), E2E_OK);
    e2e_tagger_free(qg);
    e2e_tagger_free(alone);
    e2e_tagger_free(tau);
    e2e_tagger_free(top);
}

/* The models of tests/graph_frames.test.sh. */
static int write_models(const char *dir)
{
    struct {
        const char *file;
        gm_spec s;
    } list[] = {
        {"graph_qg.onnx", {5, -1, -1, 1, 0, NULL, 0, 0}},
        {"graph_eg_b1.onnx", {1, 1, -1, 0, 0, NULL, 0, 0}},
        {"graph_top_p64.onnx", {8, -1, 64, 0, 0, NULL, 0, 0}},
        {"graph_qg_bad.onnx", {5, -1, -1, 0, 0, "feats", 0, 0}},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, list[i].file);
        e2e_ob *b = graph_model_ob(&list[i].s);
        e2e_error err;
        if (e2e_ob_write_file(b, path, &err)) {
            fprintf(stderr, "%s\n", err.message);
            e2e_ob_free(b);
            return 1;
        }
        e2e_ob_free(b);
    }
    return 0;
}

/* A tagger that derives its event cells from another's (e2e_tagger_share_graph_cells: top
   from qg, whose channels are top's first five) gets the graph frames it builds alone; it
   derives them only where it may: not when the source has not prepared this event, nor
   when the source's crops do not hold its own (a source with fewer seeds), nor from a
   source that copied its clouds; taggers whose cells can differ are refused, saying why. */
static void test_derived_cells(void **state)
{
    fixture *f = *state;
    e2e_gen_options go = e2e_gen_options_default();
    e2e_tagger_config c;
    e2e_error err;
    e2e_tagger *qg, *top, *alone, *eg, *tau;
    assert_int_equal(e2e_tagger_config_default("qg", &c, &err), E2E_OK);
    c.graph.enabled = 1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &qg, &err), E2E_OK);
    assert_int_equal(e2e_tagger_config_default("top", &c, &err), E2E_OK);
    c.graph.enabled = 1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &top, &err), E2E_OK);
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &alone, &err), E2E_OK);
    assert_int_equal(e2e_tagger_config_default("tau", &c, &err), E2E_OK);
    c.graph.enabled = 1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &tau, &err), E2E_OK);
    assert_int_equal(e2e_tagger_share_graph_cells(top, qg, &err), E2E_OK);
    /* tau copies top's clouds; top derives nothing from tau, which built none */
    assert_int_equal(e2e_tagger_share_graphs(tau, top, &err), E2E_OK);
    size_t derived = 0, built = 0, d, b, slots = 0, partial[2] = {0, 0};
    for (uint64_t k = 0; k < 22; k++) {
        if (k == 9 || k == 19) { /* qg with a higher pT cut (k 9-18: its crops hold top's in
                                    some events; then none), top builds alone elsewhere */
            e2e_tagger_free(qg);
            assert_int_equal(e2e_tagger_config_default("qg", &c, &err), E2E_OK);
            c.graph.enabled = 1;
            c.min_pt = k == 9 ? 100 : 1000;
            assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &qg, &err), E2E_OK);
            assert_int_equal(e2e_tagger_share_graph_cells(top, qg, &err), E2E_OK);
        }
        if (k == 21) /* from tau, which copied top's clouds last event: not derived */
            assert_int_equal(e2e_tagger_share_graph_cells(top, tau, &err), E2E_OK);
        assert_int_equal(e2e_gen_event(&go, 500 + k, f->ev, NULL), E2E_OK);
        assert_int_equal(e2e_detframes_build(f->df, f->ev, &err), E2E_OK);
        /* event 3: top before qg (qg's cells are the previous event's) */
        if (k != 3)
            assert_int_equal(e2e_tagger_prepare(qg, f->ev, f->df, &err), E2E_OK);
        assert_int_equal(e2e_tagger_prepare(top, f->ev, f->df, &err), E2E_OK);
        if (k == 3)
            assert_int_equal(e2e_tagger_prepare(qg, f->ev, f->df, &err), E2E_OK);
        assert_int_equal(e2e_tagger_prepare(tau, f->ev, f->df, &err), E2E_OK);
        assert_int_equal(e2e_tagger_prepare(alone, f->ev, f->df, &err), E2E_OK);
        e2e_tagger_graph_cells_derived(top, &d, &b);
        assert_int_equal(b, built + 1);
        /* derived on the generator's events (top's jets are qg's too), but event 3 */
        if (k >= 9 && k < 19)
            partial[d > derived]++;
        else
            assert_int_equal(d, derived + (k != 3 && k < 9));
        derived = d;
        built = b;
        assert_same_graphs(top, alone);
        assert_same_graphs(tau, alone);
        e2e_tagger_slots(top, &d);
        slots += d;
    }
    assert_true(slots > 10);
    assert_true(partial[0] > 0 && partial[1] > 0); /* the crops' check both ways */
    /* refused: another view, other first channels, another threshold */
    assert_int_equal(e2e_tagger_config_default("eg", &c, &err), E2E_OK);
    c.graph.enabled = 1;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &eg, &err), E2E_OK);
    assert_int_equal(e2e_tagger_share_graph_cells(top, eg, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "one crops the EB view, the other the grid");
    assert_int_equal(e2e_tagger_share_graph_cells(qg, top, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "the source's channels are not the first of the tagger's");
    assert_int_equal(e2e_tagger_share_graph_cells(top, top, &err), E2E_ERR_ARGUMENT);
    e2e_tagger_free(alone);
    assert_int_equal(e2e_tagger_config_default("top", &c, &err), E2E_OK);
    c.graph.enabled = 1;
    c.graph.threshold = 0.01f;
    assert_int_equal(e2e_tagger_create(&c, NULL, NULL, &alone, &err), E2E_OK);
    assert_int_equal(e2e_tagger_share_graph_cells(alone, qg, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "the thresholds differ");
    assert_int_equal(e2e_tagger_share_graph_cells(top, NULL, &err), E2E_OK);
    e2e_tagger_free(eg);
    e2e_tagger_free(alone);
    e2e_tagger_free(tau);
    e2e_tagger_free(top);
    e2e_tagger_free(qg);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-models"))
        return write_models(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nodes_scaling_positions, setup, teardown),
        cmocka_unit_test(test_scale_table),
        cmocka_unit_test_setup_teardown(test_phi_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_ties_and_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_dynamic_n_and_p, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_batch1_dynamic_p, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_fixed_p_truncates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_fixed_batch_padding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_knn, setup, teardown),
        cmocka_unit_test(test_mismatched_models_refused),
        cmocka_unit_test_setup_teardown(test_image_tagger_builds_no_graphs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_occupancy_equals_full_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derived_cells_equal_own, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clouds_equal_plain_algorithm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_clouds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derived_cells, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
