/* The tagger pipeline (reference EGFrames/JetFrames + EG/QG/Top/TauTagger): seeds, one
   batch of frames with a slot per photon or jet, one session run per event.

   Frames: an image model (one input [N, C, H, W]) gets NCHW image frames; a graph model
   (inputs points, features, mask, optionally seed and knn_index) gets graph frames, the
   point clouds of the same crops (graph.c, docs/graph-frames.md). Which one is decided
   from the model's input names and shapes at creation.

   Sessions: the batch dimension is the number of objects in the event, so it changes from
   event to event, while re-binding a session (e2e_session_reshape) re-plans and allocates
   (~2 ms for a 5x128x128 SimpleNet). When the model's N is dynamic, the tagger holds one
   any_batch session bound at cfg.max_batch (default 16) that runs any batch up to it
   without re-planning, created with the tagger, so that no event pays for a creation;
   events with more slots run in chunks. Across events (e2e_tagger_append_seeds), the full
   chunks run as soon as their slots are cut (e2e_tagger_infer_ready) and their frames are
   dropped (fbase). A graph model with a dynamic P has one such
   session per P, created at the P's first use; a model with a fixed N, one session per
   shape. The cache holds them within max_session_bytes (default 128 MiB) and 32 sessions,
   freeing the least recently used one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/ir.h" /* e2e_aligned_alloc_uninit: the image frames' buffer */
#include "frames/frames_internal.h"

#define MAX_SESSIONS 32
#define DEFAULT_BUDGET ((size_t)128 << 20)

typedef struct cached_session {
    e2e_session *s;
    int64_t n, p;
    size_t bytes;
    uint64_t used;
} cached_session;

/* The inputs of a graph model, by name (the layout of CMSSW's ParticleNet). */
enum { GIN_POINTS, GIN_FEATURES, GIN_MASK, GIN_SEED, GIN_KNN, GIN_COUNT };
static const char *const gin_name[GIN_COUNT] = {"points", "features", "mask", "seed",
                                                "knn_index"};

/* One batch of graph frames: points [B, 2, P], features [B, C, P], mask [B, 1, P],
   seed [B, 3], knn [B, P, k]. */
typedef struct graph_batch {
    float *points, *features, *mask, *seed;
    int64_t *knn;
} graph_batch;

struct e2e_tagger {
    e2e_tagger_config cfg;
    const e2e_model *model;
    e2e_tagger_kind kind;
    e2e_session_options sopt;
    char input_name[256];
    int C, H, W;
    /* graph frames */
    int graph;                /* built (graph model, or cfg.graph.enabled) */
    int has_in[GIN_COUNT];    /* the model's graph inputs */
    int64_t fixed_n, fixed_p; /* the model's N and P, 0 when dynamic */
    int64_t bmax;             /* any_batch sessions bound at this; 0: the model fixes N */
    int knn_k;
    float scale[E2E_TAGGER_MAX_CHANNELS];
    size_t cap;               /* nodes kept per slot */
    int P;                    /* P of the event batch */
    size_t truncated, empty;
    fr_vec cand, nodes, first; /* scratch; kept nodes (2 + C floats each); per slot offset */
    fr_vec occupied;          /* per channel FR_GRID_WORDS occupancy bits of the event (and
                                 a word of padding at the end, for bits_at) */
    const uint64_t *bitp[E2E_TAGGER_MAX_CHANNELS]; /* the bits ge was built from: per channel
                                 its own or (derived) the cell source's, valid on ge's rows */
    float hbhe_cell[E2E_HCAL_ROWS * E2E_HCAL_COLS];       /* HBHE from the towers: */
    uint64_t hbhe_rows[E2E_HCAL_ROWS][FR_HROW_WORDS];    /* fr_detframes_hbhe_cells */
    fr_graph_event ge;        /* the event's node cells */
    /* clouds shared (e2e_tagger_share_graphs): the source, and what this tagger's clouds
       were built from: DetFrames, its build, per slot (row or -1, col) */
    const e2e_tagger *share;
    const e2e_detframes *built_df;
    uint64_t built_gen;
    int built;
    fr_vec built_seeds;
    /* event cells derived (e2e_tagger_share_graph_cells): the source, and what ge's cells,
       bitp and row_cols were built from (cells_known: with the occupancy bits) */
    const e2e_tagger *cells_src;
    const e2e_detframes *cells_df;
    uint64_t cells_gen;
    int cells_known;
    size_t derived, cells_built; /* builds of ge's cells: derived, all */
    uint64_t row_cols[E2E_GRID_ROWS][FR_HROW_WORDS]; /* per row the columns crops cover */
    int row_cols_set;         /* row_cols has rows set (a failure before they were cleared) */
    fr_vec gbuf, gknn;        /* the event batch */
    fr_vec rbuf, rknn;        /* a run's batch when it is not a slice of the event batch */
    /* sessions */
    cached_session cache[MAX_SESSIONS];
    int n_cached, n_created;
    size_t cached_bytes;
    uint64_t clock;
    fr_vec seeds, slots, frames;
    size_t n;
    size_t fbase;             /* frames holds the image frames of slots fbase..n - 1: the
                                 runs of e2e_tagger_infer_ready scored those before it */
    /* image frames: a sparse channel's planes are written cell by cell, a busy one's
       cropped whole. frames (frames_reserve: whole frames, every page touched) is zero
       except the cells listed in dirty (uint32 offsets, cleared by the next event's prepare)
       and the planes marked in whole (one byte per plane of frames.cap: cropped whole,
       zeroed only when next used otherwise) */
    fr_vec dirty, whole, at;
    const e2e_tagger *like;   /* e2e_tagger_prepare_like: the tagger whose frames are read */
};

e2e_status e2e_tagger_config_set_channels(e2e_tagger_config *cfg, const char *list,
                                          e2e_error *err)
{
    int n = 0;
    e2e_channel ch[E2E_TAGGER_MAX_CHANNELS];
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[32];
        if (len == 0 || len >= sizeof name)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "channel list \"%s\": empty or overlong name",
                           list);
        memcpy(name, p, len);
        name[len] = 0;
        int c = e2e_channel_from_name(name);
        if (c < 0)
            return e2e_fail(err, E2E_ERR_ARGUMENT,
                           "channel list \"%s\": unknown channel \"%s\" (known: ecal, hbhe, pt, "
                           "d0, dz, bpix1-4, tib1-4, tob1-6, tid1-3, tec1-9)", list, name);
        if (n == E2E_TAGGER_MAX_CHANNELS)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "channel list \"%s\": more than %d channels",
                           list, E2E_TAGGER_MAX_CHANNELS);
        ch[n++] = (e2e_channel)c;
        p += len;
        if (*p == ',')
            p++;
    }
    if (n == 0)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "channel list is empty");
    cfg->n_channels = n;
    memcpy(cfg->channels, ch, n * sizeof ch[0]);
    return E2E_OK;
}

e2e_status e2e_tagger_config_default(const char *name, e2e_tagger_config *cfg, e2e_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    const char *list;
    if (!strcmp(name, "eg")) {
        cfg->objects = E2E_OBJ_PHOTONS;
        list = "ecal";
        cfg->min_pt = 10.0f;
        cfg->max_eta = 1.44f;
        cfg->height = cfg->width = 32;
    } else if (!strcmp(name, "qg")) {
        cfg->objects = E2E_OBJ_AK4;
        list = "pt,d0,dz,ecal,hbhe";
        cfg->min_pt = 35.0f;
        cfg->max_eta = 2.4f;
        cfg->height = cfg->width = 128;
    } else if (!strcmp(name, "top") || !strcmp(name, "tau")) {
        cfg->objects = E2E_OBJ_AK8;
        list = "pt,d0,dz,ecal,hbhe,bpix1,bpix2,bpix3";
        cfg->min_pt = 35.0f;
        cfg->max_eta = 2.4f;
        cfg->height = cfg->width = 128;
    } else {
        return e2e_fail(err, E2E_ERR_ARGUMENT, "unknown tagger \"%s\" (eg, qg, top, tau)", name);
    }
    snprintf(cfg->name, sizeof cfg->name, "%s", name);
    cfg->graph.threshold = 1e-3f;
    cfg->graph.max_points = cfg->objects == E2E_OBJ_PHOTONS ? 64 : 128;
    cfg->graph.min_points = 32;
    cfg->graph.quantum = 16;
    return e2e_tagger_config_set_channels(cfg, list, err);
}

void e2e_tagger_free(e2e_tagger *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_cached; i++)
        e2e_session_free(t->cache[i].s);
    e2e_aligned_free(t->frames.data); /* frames_reserve's block */
    fr_vec *v[] = {&t->seeds, &t->slots, &t->cand, &t->nodes, &t->first,
                   &t->occupied, &t->ge.cells, &t->ge.fresh, &t->gbuf, &t->gknn, &t->rbuf, &t->rknn,
                   &t->built_seeds, &t->dirty, &t->whole, &t->at};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        fr_vec_free(v[i]);
    free(t);
}

/* "points float [?, 2, 64], features float [?, 5, 64]" */
static void describe_inputs(const e2e_model *m, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < e2e_model_input_count(m) && o + 1 < size; i++) {
        e2e_tensor_view d;
        if (e2e_model_input(m, i, &d))
            continue;
        o += (size_t)snprintf(buf + o, size - o, "%s%s %s [", i ? ", " : "",
                              d.name ? d.name : "?", e2e_dtype_name(d.dtype));
        for (int k = 0; k < d.rank && o + 1 < size; k++) {
            if (d.dims[k] < 0)
                o += (size_t)snprintf(buf + o, size - o, "%s?", k ? ", " : "");
            else
                o += (size_t)snprintf(buf + o, size - o, "%s%lld", k ? ", " : "",
                                      (long long)d.dims[k]);
        }
        if (o + 1 < size)
            o += (size_t)snprintf(buf + o, size - o, "]");
    }
}

/* Agrees a dim shared by several inputs (N or P): -1 dynamic; 0 on success. */
static int agree(int64_t *have, int64_t d)
{
    if (d < 0)
        return 0;
    if (*have > 0 && *have != d)
        return -1;
    *have = d;
    return 0;
}

/* Whether the model's inputs are a graph model's; on failure why (why[0] = 0 when the
   names do not even look like one). */
static int match_graph(e2e_tagger *t, const e2e_model *m, char *why, size_t nwhy)
{
    why[0] = 0;
    e2e_tensor_view d[GIN_COUNT];
    const int n_in = e2e_model_input_count(m);
    for (int i = 0; i < n_in; i++) {
        e2e_tensor_view v;
        if (e2e_model_input(m, i, &v))
            return 0;
        int g = 0;
        while (g < GIN_COUNT && !(v.name && !strcmp(v.name, gin_name[g])))
            g++;
        if (g == GIN_COUNT || t->has_in[g])
            return 0;
        t->has_in[g] = 1;
        d[g] = v;
    }
    if (!t->has_in[GIN_POINTS] || !t->has_in[GIN_FEATURES] || !t->has_in[GIN_MASK])
        return 0;
    static const int rank[GIN_COUNT] = {3, 3, 3, 2, 3};
    int64_t n = 0, p = 0;
    for (int g = 0; g < GIN_COUNT; g++) {
        if (!t->has_in[g])
            continue;
        e2e_dtype want = g == GIN_KNN ? E2E_INT64 : E2E_FLOAT;
        if (d[g].dtype != want || d[g].rank != rank[g]) {
            snprintf(why, nwhy, "%s must be %s of rank %d", gin_name[g], e2e_dtype_name(want),
                     rank[g]);
            return 0;
        }
        if (agree(&n, d[g].dims[0])) {
            snprintf(why, nwhy, "the inputs disagree on N");
            return 0;
        }
        if (g != GIN_SEED && agree(&p, d[g].dims[g == GIN_KNN ? 1 : 2])) {
            snprintf(why, nwhy, "the inputs disagree on P");
            return 0;
        }
    }
    const int64_t c_points = d[GIN_POINTS].dims[1], c_mask = d[GIN_MASK].dims[1];
    const int64_t c_feat = d[GIN_FEATURES].dims[1];
    if ((c_points >= 0 && c_points != 2) || (c_mask >= 0 && c_mask != 1)) {
        snprintf(why, nwhy, "points must be [N, 2, P] and mask [N, 1, P]");
        return 0;
    }
    if (c_feat >= 0 && c_feat != t->cfg.n_channels) {
        snprintf(why, nwhy, "features has %lld channels, the channel list has %d (set it with "
                 "--channels %s=a,b,...)", (long long)c_feat, t->cfg.n_channels, t->cfg.name);
        return 0;
    }
    if (t->has_in[GIN_SEED] && d[GIN_SEED].dims[1] >= 0 && d[GIN_SEED].dims[1] != 3) {
        snprintf(why, nwhy, "seed must be [N, 3] (pT, eta, phi)");
        return 0;
    }
    if (t->has_in[GIN_KNN]) {
        const int64_t k = d[GIN_KNN].dims[2];
        if (k < 1 || k > FR_GRAPH_MAX_K) {
            snprintf(why, nwhy, "knn_index needs a fixed k in 1..%d", FR_GRAPH_MAX_K);
            return 0;
        }
        t->knn_k = (int)k;
    }
    if (p > (int64_t)1 << 20) {
        snprintf(why, nwhy, "P = %lld is too large", (long long)p);
        return 0;
    }
    t->fixed_n = n;
    t->fixed_p = p;
    return 1;
}

static e2e_status match_image(e2e_tagger *t, const e2e_model *m, const e2e_tensor_view *d,
                              e2e_error *err)
{
    const e2e_tagger_config *cfg = &t->cfg;
    if (d->dims[1] > 0 && d->dims[1] != cfg->n_channels)
        return e2e_fail(err, E2E_ERR_ARGUMENT,
                       "tagger %s: model %s expects %lld channels, the channel list has %d "
                       "(set it with --channels %s=a,b,...)", cfg->name, e2e_model_name(m),
                       (long long)d->dims[1], cfg->n_channels, cfg->name);
    if (d->dims[2] > 0)
        t->H = (int)d->dims[2];
    if (d->dims[3] > 0)
        t->W = (int)d->dims[3];
    snprintf(t->input_name, sizeof t->input_name, "%s", d->name ? d->name : "");
    t->kind = E2E_TAGGER_IMAGE;
    return E2E_OK;
}

static e2e_status session_for(e2e_tagger *t, int64_t n, int64_t p, e2e_session **out,
                              e2e_error *err);

e2e_status e2e_tagger_create(const e2e_tagger_config *cfg, const e2e_model *model,
                             const e2e_session_options *sopt, e2e_tagger **out, e2e_error *err)
{
    *out = NULL;
    if (cfg->n_channels < 1 || cfg->n_channels > E2E_TAGGER_MAX_CHANNELS)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: %d channels (1..%d)", cfg->name,
                       cfg->n_channels, E2E_TAGGER_MAX_CHANNELS);
    for (int i = 0; i < cfg->n_channels; i++)
        if ((unsigned)cfg->channels[i] >= E2E_CH_COUNT)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: channel %d is unknown", cfg->name,
                           (int)cfg->channels[i]);
    if ((unsigned)cfg->objects > E2E_OBJ_AK8)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: unknown object kind", cfg->name);
    const e2e_graph_options *go = &cfg->graph;
    if (!(go->threshold >= 0) || go->max_points < 0 || go->max_points > 1 << 20 ||
        go->min_points < 0 || go->quantum < 0 || go->quantum > 1 << 20)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: graph options: threshold %g must be "
                       ">= 0; max_points %d, min_points %d, quantum %d in 0 (default) .. 2^20",
                       cfg->name, (double)go->threshold, go->max_points, go->min_points,
                       go->quantum);
    e2e_tagger *t = calloc(1, sizeof *t);
    if (!t)
        return e2e_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory", cfg->name);
    t->cfg = *cfg;
    e2e_graph_options *g = &t->cfg.graph; /* 0: the defaults */
    if (!g->max_points)
        g->max_points = cfg->objects == E2E_OBJ_PHOTONS ? 64 : 128;
    if (!g->min_points)
        g->min_points = 32;
    if (!g->quantum)
        g->quantum = 16;
    go = g;
    t->C = cfg->n_channels;
    t->H = cfg->height;
    t->W = cfg->width;
    fr_vec_init(&t->seeds, sizeof(e2e_seed));
    fr_vec_init(&t->slots, sizeof(e2e_tagger_slot));
    fr_vec_init(&t->frames, sizeof(float));
    fr_vec_init(&t->cand, sizeof(uint64_t)); /* fr_graph_cloud's heap */
    fr_vec_init(&t->built_seeds, 2 * sizeof(int));
    fr_vec_init(&t->nodes, sizeof(float));
    fr_vec_init(&t->first, sizeof(size_t));
    fr_vec_init(&t->occupied, sizeof(uint64_t));
    fr_vec_init(&t->ge.cells, sizeof(fr_graph_cand));
    fr_vec_init(&t->ge.fresh, sizeof(fr_graph_cand));
    fr_vec_init(&t->gbuf, sizeof(float));
    fr_vec_init(&t->gknn, sizeof(int64_t));
    fr_vec_init(&t->rbuf, sizeof(float));
    fr_vec_init(&t->rknn, sizeof(int64_t));
    fr_vec_init(&t->dirty, sizeof(uint32_t));
    fr_vec_init(&t->whole, 1);
    fr_vec_init(&t->at, sizeof(fr_crop_at));
    if (model) {
        const char *mname = e2e_model_name(model);
        e2e_tensor_view d;
        char why[256];
        e2e_status st = E2E_OK;
        if (e2e_model_input_count(model) == 1 && e2e_model_input(model, 0, &d) == E2E_OK &&
            d.rank == 4 && d.dtype == E2E_FLOAT) {
            st = match_image(t, model, &d, err);
        } else if (match_graph(t, model, why, sizeof why)) {
            t->kind = E2E_TAGGER_GRAPH;
        } else {
            char ins[512];
            describe_inputs(model, ins, sizeof ins);
            st = why[0]
                ? e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: model %s: inputs %s: %s", cfg->name,
                          mname, ins, why)
                : e2e_fail(err, E2E_ERR_ARGUMENT,
                          "tagger %s: model %s: inputs %s match no frame layout (image: one "
                          "float input [N, C, H, W]; graph: float points [N, 2, P], features "
                          "[N, %d, P], mask [N, 1, P], optional seed [N, 3] and int64 "
                          "knn_index [N, P, k])", cfg->name, mname, ins, cfg->n_channels);
        }
        if (st) {
            e2e_tagger_free(t);
            return st;
        }
        t->model = model;
        t->sopt = sopt ? *sopt : e2e_session_options_default();
        t->sopt.shapes = NULL;
        t->sopt.n_shapes = 0;
        t->sopt.any_batch = 0;
        if (cfg->max_batch < 0 || cfg->max_batch > 4096) {
            e2e_tagger_free(t);
            return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: max_batch %d (0: 16, 1..4096)",
                           cfg->name, cfg->max_batch);
        }
        int dyn_n = t->kind == E2E_TAGGER_GRAPH ? !t->fixed_n : d.dims[0] <= 0;
        if (dyn_n && t->sopt.device == E2E_DEVICE_CPU) /* any_batch is CPU only */
            t->bmax = cfg->max_batch ? cfg->max_batch : 16;
        t->cfg.max_batch = (int)t->bmax;
    }
    if (t->H < 1 || t->W < 1 || t->H > 4096 || t->W > 4096) {
        int h = t->H, w = t->W;
        e2e_tagger_free(t);
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: frame size %d x %d", cfg->name, h, w);
    }
    t->cfg.height = t->H;
    t->cfg.width = t->W;
    t->graph = t->kind == E2E_TAGGER_GRAPH || (t->kind == E2E_TAGGER_FRAMES_ONLY && go->enabled);
    if (t->graph && t->W > E2E_GRID_COLS) { /* a wider crop repeats cells; a cloud cannot */
        int w = t->W;
        e2e_tagger_free(t);
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: graph frames need a crop at most %d "
                       "wide (the frame is %d)", cfg->name, E2E_GRID_COLS, w);
    }
    t->cfg.graph.enabled = t->graph;
    t->cap = t->fixed_p ? (size_t)t->fixed_p : (size_t)go->max_points;
    t->cfg.graph.max_points = (int)t->cap; /* the model's P wins */
    for (int c = 0; c < t->C; c++)
        t->scale[c] = go->raw ? 1.0f : e2e_graph_channel_scale(cfg->channels[c]);
    if (t->bmax && (t->kind == E2E_TAGGER_IMAGE || t->fixed_p)) { /* before the first event */
        e2e_session *s;
        e2e_status st = session_for(t, t->bmax, t->fixed_p, &s, err);
        if (st) {
            e2e_error_prefix(err, "tagger %s: ", cfg->name);
            e2e_tagger_free(t);
            return st;
        }
    }
    *out = t;
    return E2E_OK;
}

const e2e_tagger_config *e2e_tagger_get_config(const e2e_tagger *t) { return &t->cfg; }
e2e_tagger_kind e2e_tagger_get_kind(const e2e_tagger *t) { return t->kind; }

uint64_t e2e_tagger_channel_mask(const e2e_tagger *t)
{
    uint64_t m = 0;
    for (int i = 0; i < t->cfg.n_channels; i++)
        m |= E2E_CHANNEL_BIT(t->cfg.channels[i]);
    if (t->cfg.objects == E2E_OBJ_PHOTONS)
        m |= E2E_CHANNEL_BIT(E2E_CH_ECAL); /* photon seeds read EB energies */
    return m;
}

/* The tagger's channel images, on the image its frames are cut from (EB view or grid). */
static e2e_status channel_images(const e2e_tagger *t, const e2e_detframes *df,
                                 const float **img, e2e_error *err)
{
    for (int c = 0; c < t->C; c++) {
        img[c] = e2e_detframes_channel(df, t->cfg.channels[c]);
        if (!img[c])
            return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: DetFrames lacks the %s channel",
                           t->cfg.name, e2e_channel_name(t->cfg.channels[c]));
        if (t->cfg.objects == E2E_OBJ_PHOTONS)
            img[c] += E2E_EB_ROW0 * E2E_GRID_COLS; /* EB view */
    }
    return E2E_OK;
}

/* The image frames the tagger runs on: its own, or those of e2e_tagger_prepare_like's. */
static const float *frames_of(const e2e_tagger *t)
{
    return t->like ? t->like->frames.data : t->frames.data;
}

/* The image frames' buffer made to hold `slots` frames (at least twice the frames it held,
   when it grows): a new block, huge pages from 1 MB on (core/region.h), zero-filled and
   written through here, so that neither the crops nor the first convolution reading them
   take the first touches of its pages (each tens of microseconds on a virtual machine for 4
   KB pages: 720 for qg's 9-slot events). The old block's frames, dirty cells and whole
   planes move with it; the new planes are zero. */
static int frames_reserve(e2e_tagger *t, size_t slots)
{
    const size_t per = (size_t)t->C * t->H * t->W, had = t->frames.cap / per;
    if (slots <= had)
        return 0;
    if (slots < 2 * had)
        slots = 2 * had;
    if (slots > SIZE_MAX / sizeof(float) / per ||
        fr_vec_reserve(&t->whole, slots * (size_t)t->C - t->whole.n))
        return -1;
    float *f = e2e_aligned_alloc_uninit(slots * per * sizeof(float));
    if (!f)
        return -1;
    if (had)
        memcpy(f, t->frames.data, had * per * sizeof(float));
    memset(f + had * per, 0, (slots - had) * per * sizeof(float));
    e2e_aligned_free(t->frames.data);
    t->frames.data = f;
    t->frames.cap = slots * per;
    memset((uint8_t *)t->whole.data + t->whole.n, 0, slots * (size_t)t->C - t->whole.n);
    t->whole.n = slots * (size_t)t->C;
    return 0;
}

e2e_status e2e_tagger_reserve(e2e_tagger *t, size_t slots, e2e_error *err)
{
    if (fr_vec_reserve(&t->seeds, slots > t->seeds.n ? slots - t->seeds.n : 0) ||
        fr_vec_reserve(&t->slots, slots > t->slots.n ? slots - t->slots.n : 0) ||
        (t->kind != E2E_TAGGER_GRAPH && frames_reserve(t, slots)))
        return e2e_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory for the frames of %zu "
                       "slots", t->cfg.name, slots);
    return E2E_OK;
}

/* Zeroes the cells the previous batch scattered into the image frames. */
static void clear_frames(e2e_tagger *t)
{
    float *f = t->frames.data;
    const uint32_t *d = t->dirty.data;
    for (size_t i = 0; i < t->dirty.n; i++)
        f[d[i]] = 0;
    t->dirty.n = 0;
}

/* A plane about to be written cell by cell, or left zero: zeroed if it was cropped whole. */
static void plane_to_zero(e2e_tagger *t, size_t slot, int c)
{
    uint8_t *whole = t->whole.data;
    const size_t k = slot * t->C + c, plane = (size_t)t->H * t->W;
    if (whole[k]) {
        memset((float *)t->frames.data + k * plane, 0, plane * sizeof(float));
        whole[k] = 0;
    }
}

/* A channel's non-zero cells are scattered into the crops when they are few: a scattered
   cell costs about as much as copying 30 to 60 (measured on the toy events' jet frames,
   where only the track and pixel channels, under 100 cells, gain; ecal's ~1500 cells and
   hbhe's ~400 towers are cheaper to copy). */
static int scatter_pays(const fr_cells *c, int h, int w)
{
    const size_t cells = c->blocks ? c->n * 25 : c->n;
    return cells <= (size_t)h * w / 32;
}

/* The image frames f0 .. f0 + n - 1 of the event's n slots (seeds given; frame = slot -
   fbase; their planes hold zero except the dirty cells and the planes marked whole). */
static e2e_status crop_slots(e2e_tagger *t, const e2e_detframes *df, const float **img,
                             size_t f0, const e2e_seed *seeds, size_t n, e2e_error *err)
{
    const int photons = t->cfg.objects == E2E_OBJ_PHOTONS;
    const int H = photons ? E2E_EB_ROWS : E2E_GRID_ROWS, row0 = photons ? E2E_EB_ROW0 : 0;
    const size_t per = (size_t)t->C * t->H * t->W, plane = (size_t)t->H * t->W;
    float *fr = t->frames.data;
    t->at.n = 0;
    if (fr_vec_reserve(&t->at, n))
        goto nomem;
    fr_crop_at *at = t->at.data;
    for (size_t i = 0; i < n; i++)
        if (seeds[i].status == E2E_SEED_OK) {
            at[t->at.n].slot = f0 + i;
            at[t->at.n].r0 = seeds[i].row - e2e_frame_centre(t->H);
            at[t->at.n].c0 = ((seeds[i].col - e2e_frame_centre(t->W)) % E2E_GRID_COLS +
                              E2E_GRID_COLS) % E2E_GRID_COLS;
            t->at.n++;
        }
    for (size_t i = 0; i < n; i++) /* failed seeds: zero frames */
        if (seeds[i].status != E2E_SEED_OK)
            for (int c = 0; c < t->C; c++)
                plane_to_zero(t, f0 + i, c);
    if (!t->at.n)
        return E2E_OK;
    const int offsets_fit = (f0 + n) * per <= UINT32_MAX;
    for (int c = 0; c < t->C; c++) {
        fr_cells cells;
        if (offsets_fit && !fr_detframes_cells(df, t->cfg.channels[c], &cells) &&
            scatter_pays(&cells, t->H, t->W)) {
            for (size_t k = 0; k < t->at.n; k++)
                plane_to_zero(t, at[k].slot, c);
            if (fr_frame_scatter(e2e_detframes_channel(df, t->cfg.channels[c]), row0, H,
                                 &cells, at, t->at.n, t->H, t->W, fr + (size_t)c * plane, per,
                                 fr, &t->dirty))
                goto nomem;
            continue;
        }
        for (size_t k = 0; k < t->at.n; k++) { /* every cell written: no clearing needed */
            const size_t i = at[k].slot - f0;
            e2e_frame_crop(img[c], H, E2E_GRID_COLS, seeds[i].row, seeds[i].col, t->H, t->W,
                           fr + at[k].slot * per + (size_t)c * plane);
            ((uint8_t *)t->whole.data)[at[k].slot * t->C + c] = 1;
        }
    }
    return E2E_OK;
nomem:
    return e2e_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory for the frames of %zu slots",
                   t->cfg.name, n);
}

/* The seeds, slots and image frames of an event after the slots already prepared (keep:
   e2e_tagger_append_seeds) or in place of them. */
static e2e_status seeds_of(e2e_tagger *t, const e2e_event *ev, const e2e_detframes *df,
                           int keep, e2e_error *err)
{
    const e2e_tagger_config *cfg = &t->cfg;
    const int photons = cfg->objects == E2E_OBJ_PHOTONS;
    const int images = t->kind != E2E_TAGGER_GRAPH;
    size_t nobj = photons ? ev->photons.n : ev->jets[cfg->objects - 1].n;
    size_t per = (size_t)t->C * t->H * t->W;
    const size_t n0 = keep ? t->n : 0; /* slots kept */
    if (!keep)
        t->fbase = 0;
    if (images && !keep)
        clear_frames(t);
    t->like = NULL;
    const size_t f0 = n0 - t->fbase; /* frames kept */
    t->n = n0;
    t->seeds.n = t->slots.n = n0;
    t->frames.n = images ? f0 * per : 0;
    t->nodes.n = t->first.n = 0;
    t->P = 0;
    t->truncated = t->empty = 0;
    if (nobj > SIZE_MAX / sizeof(float) / per - n0 || fr_vec_reserve(&t->seeds, nobj) ||
        fr_vec_reserve(&t->slots, nobj) || (images && frames_reserve(t, f0 + nobj)))
        return e2e_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory for %zu slots", cfg->name,
                       nobj);
    const float *img[E2E_TAGGER_MAX_CHANNELS];
    e2e_status st = channel_images(t, df, img, err);
    if (st)
        return st;
    /* no offset on a NULL vector (an event without objects: nothing reserved) */
    e2e_seed *seeds = t->seeds.data ? (e2e_seed *)t->seeds.data + n0 : NULL;
    size_t n;
    st = photons
        ? e2e_seeds_photons(ev, df, cfg->min_pt, cfg->max_eta, seeds, nobj, &n, err)
        : e2e_seeds_jets(ev, df, (e2e_jet_collection)(cfg->objects - 1), cfg->min_pt,
                         cfg->max_eta, seeds, nobj, &n, err);
    if (st) {
        e2e_error_prefix(err, "tagger %s: ", cfg->name);
        return st;
    }
    if (images && n && (st = crop_slots(t, df, img, f0, seeds, n, err)))
        return st;
    e2e_tagger_slot *sl = t->slots.data ? (e2e_tagger_slot *)t->slots.data + n0 : NULL;
    for (size_t i = 0; i < n; i++) {
        if (photons) {
            const e2e_photon *p = &FR_AT(ev->photons, e2e_photon, i);
            sl[i].pt = p->pt;
            sl[i].eta = p->eta;
            sl[i].phi = p->phi;
            sl[i].truth = p->truth;
        } else {
            const e2e_jet *j = &FR_AT(ev->jets[cfg->objects - 1], e2e_jet, i);
            sl[i].pt = j->pt;
            sl[i].eta = j->eta;
            sl[i].phi = j->phi;
            sl[i].truth = j->truth;
        }
        sl[i].seed = seeds[i];
        sl[i].score = -1.0f;
        sl[i].n_nodes = 0;
    }
    t->n = t->seeds.n = t->slots.n = n0 + n;
    t->frames.n = images ? (f0 + n) * per : 0;
    return E2E_OK;
}

e2e_status e2e_tagger_prepare_seeds(e2e_tagger *t, const e2e_event *ev,
                                    const e2e_detframes *df, e2e_error *err)
{
    return seeds_of(t, ev, df, 0, err);
}

int e2e_tagger_frames_equal(const e2e_tagger *a, const e2e_tagger *b)
{
    const e2e_tagger_config *x = &a->cfg, *y = &b->cfg;
    return !a->graph && !b->graph && a->kind != E2E_TAGGER_GRAPH &&
           b->kind != E2E_TAGGER_GRAPH && x->objects == y->objects &&
           x->min_pt == y->min_pt && x->max_eta == y->max_eta && a->H == b->H &&
           a->W == b->W && a->C == b->C &&
           !memcmp(x->channels, y->channels, (size_t)a->C * sizeof x->channels[0]);
}

e2e_status e2e_tagger_prepare_like(e2e_tagger *t, const e2e_tagger *src, e2e_error *err)
{
    if (src->fbase)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: cannot take the frames of tagger %s: "
                       "it has scored and dropped some (e2e_tagger_infer_ready)", t->cfg.name,
                       src->cfg.name);
    if (t == src || src->like || !e2e_tagger_frames_equal(t, src))
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: cannot take the frames of tagger "
                       "%s (%s)", t->cfg.name, src->cfg.name, t == src || src->like
                       ? "itself, or a tagger that borrows its own" : "they differ in objects, "
                       "seed cuts, channels, frame size, or build graph frames");
    t->n = t->seeds.n = t->slots.n = t->frames.n = 0;
    t->nodes.n = t->first.n = 0;
    t->P = 0;
    t->truncated = t->empty = 0;
    if (fr_vec_reserve(&t->slots, src->n) || fr_vec_reserve(&t->seeds, src->n))
        return e2e_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory for %zu slots",
                       t->cfg.name, src->n);
    e2e_tagger_slot *sl = t->slots.data;
    e2e_seed *sd = t->seeds.data;
    const e2e_tagger_slot *from = src->slots.data;
    for (size_t i = 0; i < src->n; i++) {
        sl[i] = from[i];
        sl[i].score = -1.0f;
        sl[i].n_nodes = 0;
        sd[i] = from[i].seed;
    }
    t->n = t->seeds.n = t->slots.n = src->n;
    t->like = src;
    return E2E_OK;
}

e2e_status e2e_tagger_append_seeds(e2e_tagger *t, const e2e_event *ev,
                                   const e2e_detframes *df, e2e_error *err)
{
    if (t->kind == E2E_TAGGER_GRAPH)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: a graph model's slots are prepared "
                       "one event at a time (e2e_tagger_prepare)", t->cfg.name);
    if (t->like) /* its slots' frames are the other tagger's */
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: its slots were taken from tagger %s "
                       "(e2e_tagger_prepare_like): take the next event's the same way",
                       t->cfg.name, t->like->cfg.name);
    return seeds_of(t, ev, df, 1, err);
}

/* Dynamic P for clouds of up to m kept nodes: at least min_points, a multiple of quantum,
   at most the cap. */
static int dynamic_p(const e2e_tagger *t, size_t m)
{
    const e2e_graph_options *go = &t->cfg.graph;
    size_t p = m < (size_t)go->min_points ? (size_t)go->min_points : m;
    p = (p + go->quantum - 1) / go->quantum * go->quantum;
    return (int)(p > t->cap ? t->cap : p);
}

static size_t kept_of(const e2e_tagger *t, size_t i)
{
    const size_t *first = t->first.data;
    return (first[i + 1] - first[i]) / (size_t)(2 + t->C);
}

static graph_batch batch_at(float *base, int64_t *knn, size_t B, int C, int P, int k)
{
    graph_batch b;
    b.points = base;
    b.features = b.points + B * 2 * P;
    b.mask = b.features + B * C * P;
    b.seed = b.mask + B * P;
    b.knn = k ? knn : NULL;
    return b;
}

static size_t batch_floats(size_t B, int C, int P) { return B * (size_t)(3 + C) * P + B * 3; }

/* Slots a .. a + cnt - 1 into a batch of B (>= cnt) slots with P points; the slots beyond
   cnt are padding (all masked). */
static void fill_batch(const e2e_tagger *t, size_t a, size_t cnt, size_t B, int P,
                       const graph_batch *b)
{
    const int C = t->C, k = t->knn_k;
    const float *nodes = t->nodes.data;
    const size_t *first = t->first.data;
    const e2e_tagger_slot *sl = t->slots.data;
    for (size_t i = 0; i < B; i++) {
        float *pts = b->points + i * 2 * P;
        size_t kept = i < cnt ? kept_of(t, a + i) : 0;
        fr_graph_pad(i < cnt ? nodes + first[a + i] : NULL, kept, C, P, pts,
                     b->features + i * (size_t)C * P, b->mask + i * (size_t)P);
        float *sd = b->seed + i * 3;
        sd[0] = i < cnt ? sl[a + i].pt : 0;
        sd[1] = i < cnt ? sl[a + i].eta : 0;
        sd[2] = i < cnt ? sl[a + i].phi : 0;
        if (b->knn)
            fr_graph_knn(pts, P, (int)kept, k, b->knn + i * (size_t)P * k);
    }
}

/* Sets the bits lo .. hi - 1 of a row's column bits. */
static void set_cols(uint64_t *row, int lo, int hi)
{
    for (int c = lo; c < hi;) {
        const int s = c & 63, n = hi - c < 64 - s ? hi - c : 64 - s;
        row[c >> 6] |= (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << s;
        c += n;
    }
}

/* The columns of a crop of width w around seed column col (mod 360) as row bits. */
static void crop_cols(uint64_t win[FR_HROW_WORDS], int col, int w)
{
    memset(win, 0, FR_HROW_WORDS * sizeof *win);
    const int a = ((col - e2e_frame_centre(w)) % E2E_GRID_COLS + E2E_GRID_COLS) % E2E_GRID_COLS;
    w = w < E2E_GRID_COLS ? w : E2E_GRID_COLS;
    set_cols(win, a, a + w < E2E_GRID_COLS ? a + w : E2E_GRID_COLS);
    set_cols(win, 0, a + w > E2E_GRID_COLS ? a + w - E2E_GRID_COLS : 0);
}

/* The image rows [*lo, *hi) of a crop of height h around seed row row (clipped to H). */
static void crop_rows(int row, int h, int H, int *lo, int *hi)
{
    const int r0 = row - e2e_frame_centre(h);
    *lo = r0 < 0 ? 0 : r0;
    *hi = r0 + h > H ? H : r0 + h;
}

/* Whether t's event cells can be derived from src's this event: src built its cells with
   the occupancy bits on this DetFrames build, and every cell of t's seeded slots' crops
   lies in one of the crops src built them for (e2e_tagger_share_graph_cells checked the
   rest). Per crop of t, its rows are cut where one of src's crops starts or ends; on each
   piece the columns of src's crops that span it must hold the crop's: a few word
   operations, not a pass over the rows (src's crops are read from its built seeds; with
   more than FR_MAX_SRC_CROPS of them t builds alone). */
#define FR_MAX_SRC_CROPS 64
static int cells_derivable(const e2e_tagger *t, const e2e_tagger *src, const e2e_detframes *df)
{
    if (!src->cells_known || src->cells_df != df ||
        src->cells_gen != fr_detframes_generation(df) || src->built_seeds.n > FR_MAX_SRC_CROPS)
        return 0;
    const int H = t->ge.H, *bs = src->built_seeds.data;
    const size_t ns = src->built_seeds.n;
    int slo[FR_MAX_SRC_CROPS], shi[FR_MAX_SRC_CROPS], cut[2 * FR_MAX_SRC_CROPS + 2];
    for (size_t j = 0; j < ns; j++) {
        slo[j] = shi[j] = 0;
        if (bs[2 * j] >= 0)
            crop_rows(bs[2 * j], src->H, H, &slo[j], &shi[j]);
    }
    const e2e_tagger_slot *sl = t->slots.data;
    for (size_t i = 0; i < t->n; i++) {
        if (sl[i].seed.status != E2E_SEED_OK)
            continue;
        int a, b;
        crop_rows(sl[i].seed.row, t->H, H, &a, &b);
        if (a >= b)
            continue;
        int nb = 0; /* the cuts inside (a, b), in order, then b */
        for (size_t j = 0; j < ns; j++)
            for (int e = 0; e < 2; e++) {
                const int r = e ? shi[j] : slo[j];
                if (r <= a || r >= b)
                    continue;
                int k = nb++;
                for (; k > 0 && cut[k - 1] > r; k--)
                    cut[k] = cut[k - 1];
                cut[k] = r;
            }
        cut[nb++] = b;
        uint64_t win[FR_HROW_WORDS], cw[FR_HROW_WORDS];
        crop_cols(win, sl[i].seed.col, t->W);
        for (int k = 0, p = a; k < nb; p = cut[k++]) {
            if (cut[k] == p)
                continue; /* a repeated cut */
            uint64_t have[FR_HROW_WORDS] = {0}, miss = 0;
            for (size_t j = 0; j < ns; j++)
                if (slo[j] <= p && shi[j] >= cut[k] && slo[j] < shi[j]) {
                    crop_cols(cw, bs[2 * j + 1], src->W);
                    for (int q = 0; q < FR_HROW_WORDS; q++)
                        have[q] |= cw[q];
                }
            for (int q = 0; q < FR_HROW_WORDS; q++)
                miss |= win[q] & ~have[q];
            if (miss)
                return 0;
        }
    }
    return 1;
}

/* The clouds of the slots (t->nodes, t->first, each slot's n_nodes) built from DetFrames:
   the event's node cells once, then each slot's crop of them. -1 when out of memory. */
static int build_clouds(e2e_tagger *t, const e2e_detframes *df, const float *const *img)
{
    const e2e_tagger_config *cfg = &t->cfg;
    const size_t n = t->n, per_node = (size_t)(2 + t->C);
    e2e_tagger_slot *sl = t->slots.data;
    fr_graph_event *ge = &t->ge;
    const int photons = cfg->objects == E2E_OBJ_PHOTONS;
    ge->img = img;
    ge->scale = t->scale;
    ge->C = t->C;
    ge->H = photons ? E2E_EB_ROWS : E2E_GRID_ROWS;
    ge->grid_row0 = photons ? E2E_EB_ROW0 : 0;
    ge->threshold = cfg->graph.threshold;
    if (fr_vec_reserve(&t->occupied, (size_t)t->C * FR_GRID_WORDS + 1))
        return -1;
    t->cells_known = 0;
    /* the image rows of the seeded slots' crops: only their cells are read, so only their
       bit words are cleared and set (those of other rows may hold an earlier event's) */
    int rlo = ge->H, rhi = 0;
    for (size_t i = 0; i < n; i++) {
        if (sl[i].seed.status != E2E_SEED_OK)
            continue;
        const int r0 = sl[i].seed.row - e2e_frame_centre(t->H);
        rlo = r0 < rlo ? r0 : rlo;
        rhi = r0 + t->H > rhi ? r0 + t->H : rhi;
    }
    rlo = rlo < 0 ? 0 : rlo;
    rhi = rhi > ge->H ? ge->H : rhi;
    if (rhi <= rlo)
        rlo = rhi = 0;
    ge->row_lo = rlo;
    ge->row_hi = rhi;
    /* only the cells of the seeded slots' crops: per row, the union of their columns there
       (not every covered column on every covered row: with several jets that would be up
       to the square of the crops' area) */
    if (t->row_cols_set) /* else zero: the rows set are cleared after use */
        memset(t->row_cols, 0, sizeof t->row_cols);
    t->row_cols_set = 1;
    for (size_t i = 0; i < n; i++) {
        if (sl[i].seed.status != E2E_SEED_OK)
            continue;
        int a, b;
        uint64_t win[FR_HROW_WORDS];
        crop_rows(sl[i].seed.row, t->H, ge->H, &a, &b);
        crop_cols(win, sl[i].seed.col, t->W);
        for (int r = a; r < b; r++)
            for (int k = 0; k < FR_HROW_WORDS; k++)
                t->row_cols[r][k] |= win[k];
    }
    ge->row_cols = (const uint64_t(*)[FR_HROW_WORDS])t->row_cols;
    const uint32_t w0 = (uint32_t)(rlo + ge->grid_row0) * E2E_GRID_COLS / 64;
    const uint32_t w1 = rhi > rlo ? ((uint32_t)(rhi + ge->grid_row0) * E2E_GRID_COLS + 63) / 64 : w0;
    const e2e_tagger *src = t->cells_src;
    const int derive = src && cells_derivable(t, src, df);
    int known = 1;
    ge->hbhe = NULL;
    for (int c = 0; c < t->C; c++) {
        uint64_t *b = (uint64_t *)t->occupied.data + (size_t)c * FR_GRID_WORDS;
        t->bitp[c] = b;
        if (derive && c < src->C) { /* the source's bits and towers, valid on these rows */
            t->bitp[c] = src->bitp[c];
            continue;
        }
        if (cfg->channels[c] == E2E_CH_HBHE && !ge->hbhe && !derive) {
            /* HBHE from DetFrames' towers (16 KB) rather than its upsampled image (400 KB,
               the same values) */
            memset(t->hbhe_rows, 0, sizeof t->hbhe_rows);
            if (!fr_detframes_hbhe_cells(df, t->hbhe_cell, t->hbhe_rows)) {
                ge->hbhe = t->hbhe_cell;
                ge->hbhe_rows = (const uint64_t(*)[FR_HROW_WORDS])t->hbhe_rows;
                ge->hbhe_c = c;
                continue;
            }
        }
        /* a memset of the crops' rows' bit words costs less than clearing only the words
           set (the bits are read right after, from cache) */
        memset(b + w0, 0, (w1 - w0) * sizeof *b);
        if (fr_detframes_occupied(df, E2E_CHANNEL_BIT(cfg->channels[c]), b, w0, w1))
            known = 0;
    }
    if (derive && known) {
        ge->hbhe = src->ge.hbhe;
        ge->hbhe_rows = src->ge.hbhe_rows;
        ge->hbhe_c = src->ge.hbhe_c;
        ge->bits = t->bitp;
        if (fr_graph_event_derive(ge, &src->ge))
            return -1;
        t->derived++;
    } else if (fr_graph_event_cells(ge, known ? t->bitp : NULL)) {
        return -1;
    }
    t->cells_built++;
    size_t *first = t->first.data;
    for (size_t i = 0; i < n; i++) {
        first[i] = t->nodes.n;
        if (fr_vec_reserve(&t->nodes, t->cap * per_node))
            return -1;
        size_t found, kept;
        if (fr_graph_cloud(ge, sl[i].seed.status == E2E_SEED_OK ? sl[i].seed.row : -1,
                           sl[i].seed.col, t->H, t->W, t->cap, &t->cand,
                           (float *)t->nodes.data + t->nodes.n, &found, &kept))
            return -1;
        t->nodes.n += kept * per_node;
        sl[i].n_nodes = found > INT32_MAX ? INT32_MAX : (int)found;
    }
    first[n] = t->nodes.n;
    for (size_t i = 0; i < n; i++) {
        if (sl[i].seed.status != E2E_SEED_OK)
            continue;
        int a, b;
        crop_rows(sl[i].seed.row, t->H, ge->H, &a, &b);
        for (int r = a; r < b; r++)
            memset(t->row_cols[r], 0, sizeof t->row_cols[r]);
    }
    t->row_cols_set = 0;
    t->cells_df = df;
    t->cells_gen = fr_detframes_generation(df);
    t->cells_known = known;
    return 0;
}

/* Whether src's clouds are those of t's slots on this DetFrames build: src prepared them
   for the same build and the same seeds (e2e_tagger_share_graphs checked the rest). */
static int clouds_shared(const e2e_tagger *t, const e2e_tagger *src, const e2e_detframes *df)
{
    if (!src->built || src->built_df != df || src->built_gen != fr_detframes_generation(df) ||
        src->n != t->n)
        return 0;
    const e2e_tagger_slot *sl = t->slots.data;
    const int *bs = src->built_seeds.data;
    for (size_t i = 0; i < t->n; i++)
        if (bs[2 * i] != (sl[i].seed.status == E2E_SEED_OK ? sl[i].seed.row : -1) ||
            bs[2 * i + 1] != sl[i].seed.col)
            return 0;
    return 1;
}

e2e_status e2e_tagger_share_graphs(e2e_tagger *t, const e2e_tagger *src, e2e_error *err)
{
    if (!src) {
        t->share = NULL;
        return E2E_OK;
    }
    const e2e_tagger_config *a = &t->cfg, *b = &src->cfg;
    const char *why = !t->graph || !src->graph ? "one of them builds no graph frames"
        : t == src ? "a tagger cannot share with itself"
        : (a->objects == E2E_OBJ_PHOTONS) != (b->objects == E2E_OBJ_PHOTONS)
            ? "one crops the EB view, the other the grid"
        : a->n_channels != b->n_channels ||
                memcmp(a->channels, b->channels, (size_t)a->n_channels * sizeof a->channels[0])
            ? "the channel lists differ"
        : t->H != src->H || t->W != src->W ? "the crop sizes differ"
        : memcmp(&a->graph.threshold, &b->graph.threshold, sizeof(float)) ? "the thresholds differ"
        : memcmp(t->scale, src->scale, (size_t)t->C * sizeof(float)) ? "the channel scales differ"
        : t->cap != src->cap ? "the numbers of points kept differ"
        : NULL;
    if (why)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s cannot take the graph frames' clouds "
                       "of tagger %s: %s", a->name, b->name, why);
    t->share = src;
    return E2E_OK;
}

e2e_status e2e_tagger_share_graph_cells(e2e_tagger *t, const e2e_tagger *src, e2e_error *err)
{
    if (!src) {
        t->cells_src = NULL;
        return E2E_OK;
    }
    const e2e_tagger_config *a = &t->cfg, *b = &src->cfg;
    const char *why = !t->graph || !src->graph ? "one of them builds no graph frames"
        : t == src ? "a tagger cannot derive from itself"
        : (a->objects == E2E_OBJ_PHOTONS) != (b->objects == E2E_OBJ_PHOTONS)
            ? "one crops the EB view, the other the grid"
        : b->n_channels > a->n_channels ||
                memcmp(a->channels, b->channels, (size_t)b->n_channels * sizeof a->channels[0])
            ? "the source's channels are not the first of the tagger's"
        : memcmp(&a->graph.threshold, &b->graph.threshold, sizeof(float)) ? "the thresholds differ"
        : memcmp(t->scale, src->scale, (size_t)src->C * sizeof(float)) ? "the channel scales differ"
        : NULL;
    if (why)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s cannot derive its graph frames' cells "
                       "from tagger %s: %s", a->name, b->name, why);
    t->cells_src = src;
    return E2E_OK;
}

void e2e_tagger_graph_cells_derived(const e2e_tagger *t, size_t *derived, size_t *built)
{
    *derived = t->derived;
    *built = t->cells_built;
}

e2e_status e2e_tagger_prepare_graphs(e2e_tagger *t, const e2e_detframes *df, e2e_error *err)
{
    if (!t->graph)
        return E2E_OK;
    const e2e_tagger_config *cfg = &t->cfg;
    const float *img[E2E_TAGGER_MAX_CHANNELS];
    e2e_status st = channel_images(t, df, img, err);
    if (st)
        return st;
    const size_t n = t->n;
    e2e_tagger_slot *sl = t->slots.data;
    t->nodes.n = t->first.n = 0;
    t->truncated = t->empty = 0;
    t->built = 0;
    t->built_seeds.n = 0;
    if (fr_vec_reserve(&t->first, n + 1) || fr_vec_reserve(&t->built_seeds, n))
        goto nomem;
    const e2e_tagger *src = t->share;
    if (src && clouds_shared(t, src, df)) { /* the same clouds: a copy */
        if (fr_vec_reserve(&t->nodes, src->nodes.n))
            goto nomem;
        if (src->nodes.n) /* no copy from a NULL vector (no nodes yet) */
            memcpy(t->nodes.data, src->nodes.data, src->nodes.n * sizeof(float));
        t->nodes.n = src->nodes.n;
        memcpy(t->first.data, src->first.data, (n + 1) * sizeof(size_t));
        const e2e_tagger_slot *ss = src->slots.data;
        for (size_t i = 0; i < n; i++)
            sl[i].n_nodes = ss[i].n_nodes;
    } else if (build_clouds(t, df, img)) {
        goto nomem;
    }
    t->first.n = n + 1;
    size_t max_kept = 0;
    int *bs = t->built_seeds.data;
    for (size_t i = 0; i < n; i++) {
        /* what the cloud was made from, for a tagger that shares it */
        bs[2 * i] = sl[i].seed.status == E2E_SEED_OK ? sl[i].seed.row : -1;
        bs[2 * i + 1] = sl[i].seed.col;
        const size_t kept = kept_of(t, i), found = (size_t)sl[i].n_nodes;
        if (found > kept)
            t->truncated++;
        if (sl[i].seed.status == E2E_SEED_OK && found == 0) {
            sl[i].seed.status = E2E_SEED_NO_NODES;
            t->empty++;
        }
        if (kept > max_kept)
            max_kept = kept;
    }
    t->built_seeds.n = n;
    t->P = t->fixed_p ? (int)t->fixed_p : dynamic_p(t, max_kept);
    const size_t fl = batch_floats(n, t->C, t->P), kn = n * (size_t)t->P * t->knn_k;
    t->gbuf.n = t->gknn.n = 0;
    if (fr_vec_reserve(&t->gbuf, fl) || fr_vec_reserve(&t->gknn, kn))
        goto nomem;
    t->gbuf.n = fl;
    t->gknn.n = kn;
    graph_batch b = batch_at(t->gbuf.data, t->gknn.data, n, t->C, t->P, t->knn_k);
    fill_batch(t, 0, n, n, t->P, &b);
    t->built_df = df;
    t->built_gen = fr_detframes_generation(df);
    t->built = 1;
    return E2E_OK;
nomem:
    return e2e_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory for the graph frames of %zu "
                   "slots", cfg->name, n);
}

e2e_status e2e_tagger_prepare(e2e_tagger *t, const e2e_event *ev, const e2e_detframes *df,
                              e2e_error *err)
{
    e2e_status st = e2e_tagger_prepare_seeds(t, ev, df, err);
    return st ? st : e2e_tagger_prepare_graphs(t, df, err);
}

static void evict(e2e_tagger *t, int i)
{
    e2e_session_free(t->cache[i].s);
    t->cached_bytes -= t->cache[i].bytes;
    t->cache[i] = t->cache[--t->n_cached];
}

/* The session for batch n (and P = p for a graph model): with bmax, the any_batch session
   bound at bmax (n <= bmax). */
static e2e_status session_for(e2e_tagger *t, int64_t n, int64_t p, e2e_session **out,
                              e2e_error *err)
{
    if (t->bmax)
        n = t->bmax;
    t->clock++;
    for (int i = 0; i < t->n_cached; i++)
        if (t->cache[i].n == n && t->cache[i].p == p) {
            t->cache[i].used = t->clock;
            *out = t->cache[i].s;
            return E2E_OK;
        }
    e2e_shape_binding b[GIN_COUNT];
    int nb = 0;
    int64_t dims[GIN_COUNT][4];
    size_t in_bytes;
    if (t->kind == E2E_TAGGER_GRAPH) {
        const int64_t shape[GIN_COUNT][3] = {{n, 2, p}, {n, t->C, p}, {n, 1, p}, {n, 3, 0},
                                             {n, p, t->knn_k}};
        for (int g = 0; g < GIN_COUNT; g++) {
            if (!t->has_in[g])
                continue;
            memcpy(dims[nb], shape[g], sizeof shape[g]);
            b[nb].name = gin_name[g];
            b[nb].rank = g == GIN_SEED ? 2 : 3;
            b[nb].dims = dims[nb];
            nb++;
        }
        in_bytes = batch_floats((size_t)n, t->C, (int)p) * sizeof(float) +
                   (size_t)n * p * t->knn_k * sizeof(int64_t);
    } else {
        const int64_t d[4] = {n, t->C, t->H, t->W};
        memcpy(dims[0], d, sizeof d);
        b[0].name = t->input_name;
        b[0].rank = 4;
        b[0].dims = dims[0];
        nb = 1;
        in_bytes = (size_t)n * t->C * t->H * t->W * sizeof(float);
    }
    e2e_session_options o = t->sopt;
    o.shapes = b;
    o.n_shapes = nb;
    o.any_batch = t->bmax > 1;
    e2e_session *s;
    e2e_status st = e2e_session_create(t->model, &o, &s, err);
    if (st)
        return st;
    t->n_created++;
    size_t bytes = e2e_session_arena_bytes(s) + e2e_session_workspace_bytes(s) + in_bytes;
    size_t budget = t->cfg.max_session_bytes ? t->cfg.max_session_bytes : DEFAULT_BUDGET;
    while (t->n_cached && (t->n_cached == MAX_SESSIONS || t->cached_bytes + bytes > budget)) {
        int lru = 0;
        for (int i = 1; i < t->n_cached; i++)
            if (t->cache[i].used < t->cache[lru].used)
                lru = i;
        evict(t, lru);
    }
    cached_session c = {s, n, p, bytes, t->clock};
    t->cache[t->n_cached++] = c;
    t->cached_bytes += bytes;
    *out = s;
    return E2E_OK;
}

/* Scores of slots a .. a + cnt - 1 from the output of a run over B slots. */
static e2e_status take_scores(e2e_tagger *t, e2e_session *s, size_t a, size_t cnt, size_t B,
                              e2e_error *err)
{
    e2e_tensor_view o;
    e2e_status st = e2e_session_output(s, 0, &o);
    int64_t numel = st ? -1 : e2e_tensor_view_numel(&o);
    if (st || o.dtype != E2E_FLOAT || numel < (int64_t)B || numel % (int64_t)B)
        return e2e_fail(err, E2E_ERR_SHAPE,
                       "model output must be float [N, k] with N = %zu slots", B);
    int64_t k = numel / (int64_t)B;
    const float *y = o.data;
    e2e_tagger_slot *sl = t->slots.data;
    for (size_t i = 0; i < cnt; i++)
        sl[a + i].score = sl[a + i].seed.status == E2E_SEED_OK ? y[i * k + k - 1] : -1.0f;
    return E2E_OK;
}

/* One run of a graph batch of B slots with P points; *out: the session that ran it. */
static e2e_status graph_session_run(e2e_tagger *t, size_t B, int P, const graph_batch *b,
                                    e2e_session **out, e2e_error *err)
{
    e2e_session *s;
    e2e_status st = session_for(t, (int64_t)B, P, &s, err);
    if (st)
        return st;
    const int64_t nb = (int64_t)B;
    int64_t shape[GIN_COUNT][3] = {{nb, 2, P}, {nb, t->C, P}, {nb, 1, P}, {nb, 3, 0},
                                   {nb, P, t->knn_k}};
    void *data[GIN_COUNT] = {b->points, b->features, b->mask, b->seed, b->knn};
    e2e_tensor_view in[GIN_COUNT];
    int ni = 0;
    for (int g = 0; g < GIN_COUNT; g++) {
        if (!t->has_in[g])
            continue;
        in[ni] = e2e_tensor_view_f32(gin_name[g], data[g], g == GIN_SEED ? 2 : 3, shape[g]);
        if (g == GIN_KNN)
            in[ni].dtype = E2E_INT64;
        ni++;
    }
    *out = s;
    return e2e_session_run(s, in, ni, err);
}

static e2e_status run_graph(e2e_tagger *t, size_t a, size_t cnt, size_t B, int P,
                            const graph_batch *b, e2e_error *err)
{
    e2e_session *s;
    e2e_status st = graph_session_run(t, B, P, b, &s, err);
    return st ? st : take_scores(t, s, a, cnt, B, err);
}

/* A graph model: one run over the event batch when N is dynamic; else runs of N slots,
   each with the model's P or, when P is dynamic, the P of its own slots. */
static e2e_status infer_graph(e2e_tagger *t, e2e_error *err)
{
    const size_t n = t->n;
    const size_t B = t->fixed_n ? (size_t)t->fixed_n : n < (size_t)t->bmax ? n : (size_t)t->bmax;
    const int C = t->C, k = t->knn_k;
    for (size_t a = 0; a < n; a += B) {
        const size_t cnt = n - a < B ? n - a : B;
        const size_t R = t->fixed_n ? B : cnt; /* the run's batch: a fixed N is padded */
        int P = t->P;
        if (t->fixed_n && !t->fixed_p) {
            size_t m = 0;
            for (size_t i = a; i < a + cnt; i++)
                if (kept_of(t, i) > m)
                    m = kept_of(t, i);
            P = dynamic_p(t, m);
        }
        graph_batch b;
        if (P == t->P && cnt == R) { /* a slice of the event batch */
            graph_batch e = batch_at(t->gbuf.data, t->gknn.data, n, C, P, k);
            b.points = e.points + a * 2 * P;
            b.features = e.features + a * (size_t)C * P;
            b.mask = e.mask + a * (size_t)P;
            b.seed = e.seed + a * 3;
            b.knn = k ? e.knn + a * (size_t)P * k : NULL;
        } else {
            t->rbuf.n = t->rknn.n = 0;
            if (fr_vec_reserve(&t->rbuf, batch_floats(R, C, P)) ||
                fr_vec_reserve(&t->rknn, R * (size_t)P * k))
                return e2e_fail(err, E2E_ERR_NOMEM, "out of memory for a batch of %zu", R);
            b = batch_at(t->rbuf.data, t->rknn.data, R, C, P, k);
            fill_batch(t, a, cnt, R, P, &b);
        }
        e2e_status st = run_graph(t, a, cnt, R, P, &b, err);
        if (st)
            return st;
    }
    return E2E_OK;
}

/* Runs of B slots (the last one shorter) over the first cnt stored image frames (slots
   fbase..fbase + cnt - 1). */
static e2e_status run_images(e2e_tagger *t, size_t B, size_t cnt, e2e_error *err)
{
    const size_t per = (size_t)t->C * t->H * t->W;
    e2e_status st = E2E_OK;
    for (size_t a = 0; a < cnt && !st; a += B) {
        const size_t r = cnt - a < B ? cnt - a : B;
        e2e_session *s;
        st = session_for(t, (int64_t)r, 0, &s, err);
        if (!st) {
            int64_t dims[4] = {(int64_t)r, t->C, t->H, t->W};
            e2e_tensor_view in = e2e_tensor_view_f32(t->input_name,
                                                     (float *)frames_of(t) + a * per, 4, dims);
            st = e2e_session_run(s, &in, 1, err);
            if (!st)
                st = take_scores(t, s, t->fbase + a, r, r, err);
        }
    }
    return st;
}

e2e_status e2e_tagger_infer(e2e_tagger *t, e2e_error *err)
{
    if (!t->model)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: no model", t->cfg.name);
    if (t->n == 0)
        return E2E_OK;
    e2e_status st;
    if (t->kind == E2E_TAGGER_GRAPH) {
        if (t->first.n != t->n + 1)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s: graph frames not prepared "
                           "(e2e_tagger_prepare_graphs)", t->cfg.name);
        st = infer_graph(t, err);
    } else {
        /* runs of at most bmax slots (all of them when the model fixes N) */
        const size_t left = t->n - t->fbase;
        st = run_images(t, t->bmax && left > (size_t)t->bmax ? (size_t)t->bmax : left, left, err);
    }
    if (st)
        e2e_error_prefix(err, "tagger %s: ", t->cfg.name);
    return st;
}

e2e_status e2e_tagger_infer_ready(e2e_tagger *t, e2e_error *err)
{
    /* a tagger reading another's frames (e2e_tagger_prepare_like) scores them at the end */
    if (!t->model || t->kind != E2E_TAGGER_IMAGE || !t->bmax || t->like)
        return E2E_OK;
    const size_t B = (size_t)t->bmax, left = t->n - t->fbase, full = left - left % B;
    if (full == 0)
        return E2E_OK;
    e2e_status st = run_images(t, B, full, err);
    if (st) {
        e2e_error_prefix(err, "tagger %s: ", t->cfg.name);
        return st;
    }
    /* drop the scored slots' frames: the frames still to score move to the front (fewer than
       one run's worth, still in cache), so the buffer stays near max_batch frames */
    const size_t per = (size_t)t->C * t->H * t->W;
    float *f = t->frames.data;
    memmove(f, f + full * per, (left - full) * per * sizeof(float));
    t->fbase += full;
    t->frames.n = (left - full) * per;
    /* the planes up to the old end hold data now (moved or stale): each is marked as cropped
       whole, so that it is zeroed before cells are scattered into it, and the dirty offsets,
       which no longer name the moved cells, are forgotten */
    memset(t->whole.data, 1, left * (size_t)t->C);
    t->dirty.n = 0;
    return E2E_OK;
}

e2e_status e2e_tagger_warmup(e2e_tagger *t, int runs, e2e_error *err)
{
    if (!t->model || runs <= 0)
        return E2E_OK;
    const size_t B = t->bmax ? (size_t)t->bmax : t->fixed_n ? (size_t)t->fixed_n : 1;
    const int C = t->C, k = t->knn_k;
    const int P = t->fixed_p ? (int)t->fixed_p : (int)t->cap;
    const size_t per = (size_t)C * t->H * t->W;
    e2e_status st = E2E_OK;
    if (t->kind == E2E_TAGGER_GRAPH) {
        t->rbuf.n = t->rknn.n = 0;
        if (fr_vec_reserve(&t->rbuf, batch_floats(B, C, P)) ||
            fr_vec_reserve(&t->rknn, B * (size_t)P * k))
            return e2e_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory for warm-up",
                           t->cfg.name);
        memset(t->rbuf.data, 0, batch_floats(B, C, P) * sizeof(float));
        if (k)
            memset(t->rknn.data, 0, B * (size_t)P * k * sizeof(int64_t));
    } else {
        t->frames.n = 0;
        if (frames_reserve(t, B))
            return e2e_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory for warm-up",
                           t->cfg.name);
        memset(t->frames.data, 0, B * per * sizeof(float));
        /* (dirty entries below B * per now name zero cells: harmless) */
        memset(t->whole.data, 0, B * (size_t)C);
    }
    for (int r = 0; r < runs && !st; r++) {
        const size_t nb = t->bmax ? B - (size_t)r % B : B;
        e2e_session *s;
        if (t->kind == E2E_TAGGER_GRAPH) {
            /* the first nb slots of a zero batch laid out for B: zeros all the same */
            graph_batch b = batch_at(t->rbuf.data, t->rknn.data, B, C, P, k);
            st = graph_session_run(t, nb, P, &b, &s, err);
        } else if (!(st = session_for(t, (int64_t)nb, 0, &s, err))) {
            int64_t dims[4] = {(int64_t)nb, C, t->H, t->W};
            e2e_tensor_view in = e2e_tensor_view_f32(t->input_name, t->frames.data, 4, dims);
            st = e2e_session_run(s, &in, 1, err);
        }
    }
    if (st)
        e2e_error_prefix(err, "tagger %s: warm-up: ", t->cfg.name);
    return st;
}

const e2e_tagger_slot *e2e_tagger_slots(const e2e_tagger *t, size_t *n)
{
    *n = t->n;
    return t->slots.data;
}

const float *e2e_tagger_frames(const e2e_tagger *t, size_t *n, int *c, int *h, int *w)
{
    *n = t->n - t->fbase;
    *c = t->C;
    *h = t->H;
    *w = t->W;
    return t->kind == E2E_TAGGER_GRAPH ? NULL : frames_of(t);
}

e2e_status e2e_tagger_graph_frames(const e2e_tagger *t, e2e_graph_frames *out, e2e_error *err)
{
    memset(out, 0, sizeof *out);
    if (!t->graph)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "tagger %s builds no graph frames (an image "
                       "model, or graph.enabled is 0)", t->cfg.name);
    out->n = t->n;
    out->C = t->C;
    out->P = t->P;
    out->k = t->knn_k;
    if (t->first.n == t->n + 1 && t->n) {
        graph_batch b = batch_at(t->gbuf.data, t->gknn.data, t->n, t->C, t->P, t->knn_k);
        out->points = b.points;
        out->features = b.features;
        out->mask = b.mask;
        out->seed = b.seed;
        out->knn = b.knn;
    }
    out->truncated = t->truncated;
    out->empty = t->empty;
    return E2E_OK;
}

int e2e_tagger_session_count(const e2e_tagger *t) { return t->n_cached; }
int e2e_tagger_sessions_created(const e2e_tagger *t) { return t->n_created; }
