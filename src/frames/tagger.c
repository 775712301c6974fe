/* The tagger pipeline (reference EGFrames/JetFrames + EG/QG/Top/TauTagger): seeds, one
   NCHW batch of frames with a slot per photon or jet, one session run per event.

   Sessions: the batch dimension is the number of objects in the event, so it changes from
   event to event, while a session is bound to one shape and re-binding it
   (e2e_session_reshape) re-plans and allocates (~2 ms for a 5x128x128 SimpleNet). The
   tagger therefore keeps a small cache of sessions keyed by batch size, created on first
   use; they share the immutable model and each costs its arena and workspace. When the
   cache holds more than max_session_bytes (default 128 MiB) or 32 sessions, the least
   recently used one is freed. Memory is bounded by the budget, not by the event count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "frames/frames_internal.h"

#define MAX_SESSIONS 32
#define DEFAULT_BUDGET ((size_t)128 << 20)

typedef struct cached_session {
    e2e_session *s;
    int64_t n;
    size_t bytes;
    uint64_t used;
} cached_session;

struct e2e_tagger {
    e2e_tagger_config cfg;
    const e2e_model *model;
    e2e_session_options sopt;
    char input_name[256];
    int C, H, W;
    cached_session cache[MAX_SESSIONS];
    int n_cached, n_created;
    size_t cached_bytes;
    uint64_t clock;
    fr_vec seeds, slots, frames;
    size_t n;
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
            return fr_fail(err, E2E_ERR_ARGUMENT, "channel list \"%s\": empty or overlong name",
                           list);
        memcpy(name, p, len);
        name[len] = 0;
        int c = e2e_channel_from_name(name);
        if (c < 0)
            return fr_fail(err, E2E_ERR_ARGUMENT,
                           "channel list \"%s\": unknown channel \"%s\" (known: ecal, hbhe, pt, "
                           "d0, dz, bpix1-4, tib1-4, tob1-6, tid1-3, tec1-9)", list, name);
        if (n == E2E_TAGGER_MAX_CHANNELS)
            return fr_fail(err, E2E_ERR_ARGUMENT, "channel list \"%s\": more than %d channels",
                           list, E2E_TAGGER_MAX_CHANNELS);
        ch[n++] = (e2e_channel)c;
        p += len;
        if (*p == ',')
            p++;
    }
    if (n == 0)
        return fr_fail(err, E2E_ERR_ARGUMENT, "channel list is empty");
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
        return fr_fail(err, E2E_ERR_ARGUMENT, "unknown tagger \"%s\" (eg, qg, top, tau)", name);
    }
    snprintf(cfg->name, sizeof cfg->name, "%s", name);
    return e2e_tagger_config_set_channels(cfg, list, err);
}

void e2e_tagger_free(e2e_tagger *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_cached; i++)
        e2e_session_free(t->cache[i].s);
    fr_vec_free(&t->seeds);
    fr_vec_free(&t->slots);
    fr_vec_free(&t->frames);
    free(t);
}

e2e_status e2e_tagger_create(const e2e_tagger_config *cfg, const e2e_model *model,
                             const e2e_session_options *sopt, e2e_tagger **out, e2e_error *err)
{
    *out = NULL;
    if (cfg->n_channels < 1 || cfg->n_channels > E2E_TAGGER_MAX_CHANNELS)
        return fr_fail(err, E2E_ERR_ARGUMENT, "tagger %s: %d channels (1..%d)", cfg->name,
                       cfg->n_channels, E2E_TAGGER_MAX_CHANNELS);
    for (int i = 0; i < cfg->n_channels; i++)
        if ((unsigned)cfg->channels[i] >= E2E_CH_COUNT)
            return fr_fail(err, E2E_ERR_ARGUMENT, "tagger %s: channel %d is unknown", cfg->name,
                           (int)cfg->channels[i]);
    if ((unsigned)cfg->objects > E2E_OBJ_AK8)
        return fr_fail(err, E2E_ERR_ARGUMENT, "tagger %s: unknown object kind", cfg->name);
    e2e_tagger *t = calloc(1, sizeof *t);
    if (!t)
        return fr_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory", cfg->name);
    t->cfg = *cfg;
    t->C = cfg->n_channels;
    t->H = cfg->height;
    t->W = cfg->width;
    fr_vec_init(&t->seeds, sizeof(e2e_seed));
    fr_vec_init(&t->slots, sizeof(e2e_tagger_slot));
    fr_vec_init(&t->frames, sizeof(float));
    if (model) {
        const char *mname = e2e_model_name(model);
        e2e_tensor_view d;
        if (e2e_model_input_count(model) != 1 || e2e_model_input(model, 0, &d) != E2E_OK) {
            e2e_tagger_free(t);
            return fr_fail(err, E2E_ERR_ARGUMENT, "tagger %s: model %s must have one input",
                           cfg->name, mname);
        }
        if (d.rank != 4 || d.dtype != E2E_FLOAT) {
            e2e_tagger_free(t);
            return fr_fail(err, E2E_ERR_ARGUMENT,
                           "tagger %s: model %s input \"%s\" must be float [N, C, H, W] "
                           "(rank %d, %s)", cfg->name, mname, d.name ? d.name : "",
                           d.rank, e2e_dtype_name(d.dtype));
        }
        if (d.dims[1] > 0 && d.dims[1] != cfg->n_channels) {
            e2e_tagger_free(t);
            return fr_fail(err, E2E_ERR_ARGUMENT,
                           "tagger %s: model %s expects %lld channels, the channel list has %d "
                           "(set it with --channels %s=a,b,...)", cfg->name, mname,
                           (long long)d.dims[1], cfg->n_channels, cfg->name);
        }
        if (d.dims[2] > 0)
            t->H = (int)d.dims[2];
        if (d.dims[3] > 0)
            t->W = (int)d.dims[3];
        snprintf(t->input_name, sizeof t->input_name, "%s", d.name ? d.name : "");
        t->model = model;
        t->sopt = sopt ? *sopt : e2e_session_options_default();
        t->sopt.shapes = NULL;
        t->sopt.n_shapes = 0;
    }
    if (t->H < 1 || t->W < 1 || t->H > 4096 || t->W > 4096) {
        int h = t->H, w = t->W;
        e2e_tagger_free(t);
        return fr_fail(err, E2E_ERR_ARGUMENT, "tagger %s: frame size %d x %d", cfg->name, h, w);
    }
    t->cfg.height = t->H;
    t->cfg.width = t->W;
    *out = t;
    return E2E_OK;
}

const e2e_tagger_config *e2e_tagger_get_config(const e2e_tagger *t) { return &t->cfg; }

uint64_t e2e_tagger_channel_mask(const e2e_tagger *t)
{
    uint64_t m = 0;
    for (int i = 0; i < t->cfg.n_channels; i++)
        m |= E2E_CHANNEL_BIT(t->cfg.channels[i]);
    if (t->cfg.objects == E2E_OBJ_PHOTONS)
        m |= E2E_CHANNEL_BIT(E2E_CH_ECAL); /* photon seeds read EB energies */
    return m;
}

e2e_status e2e_tagger_prepare(e2e_tagger *t, const e2e_event *ev, const e2e_detframes *df,
                              e2e_error *err)
{
    const e2e_tagger_config *cfg = &t->cfg;
    const int photons = cfg->objects == E2E_OBJ_PHOTONS;
    size_t nobj = photons ? ev->photons.n : ev->jets[cfg->objects - 1].n;
    size_t per = (size_t)t->C * t->H * t->W;
    t->n = 0;
    t->seeds.n = t->slots.n = t->frames.n = 0;
    if (nobj > SIZE_MAX / sizeof(float) / per || fr_vec_reserve(&t->seeds, nobj) ||
        fr_vec_reserve(&t->slots, nobj) || fr_vec_reserve(&t->frames, nobj * per))
        return fr_fail(err, E2E_ERR_NOMEM, "tagger %s: out of memory for %zu slots", cfg->name,
                       nobj);
    const float *img[E2E_TAGGER_MAX_CHANNELS];
    for (int c = 0; c < t->C; c++) {
        img[c] = e2e_detframes_channel(df, cfg->channels[c]);
        if (!img[c])
            return fr_fail(err, E2E_ERR_ARGUMENT, "tagger %s: DetFrames lacks the %s channel",
                           cfg->name, e2e_channel_name(cfg->channels[c]));
        if (photons)
            img[c] += E2E_EB_ROW0 * E2E_GRID_COLS; /* EB view */
    }
    e2e_seed *seeds = t->seeds.data;
    size_t n;
    e2e_status st = photons
        ? e2e_seeds_photons(ev, df, cfg->min_pt, cfg->max_eta, seeds, nobj, &n, err)
        : e2e_seeds_jets(ev, df, (e2e_jet_collection)(cfg->objects - 1), cfg->min_pt,
                         cfg->max_eta, seeds, nobj, &n, err);
    if (st) {
        fr_prefix(err, "tagger %s: ", cfg->name);
        return st;
    }
    const int H = photons ? E2E_EB_ROWS : E2E_GRID_ROWS;
    float *fr = t->frames.data;
    e2e_tagger_slot *sl = t->slots.data;
    for (size_t i = 0; i < n; i++) {
        float *slot = fr + i * per;
        if (seeds[i].status != E2E_SEED_OK)
            memset(slot, 0, per * sizeof(float));
        else
            for (int c = 0; c < t->C; c++)
                e2e_frame_crop(img[c], H, E2E_GRID_COLS, seeds[i].row, seeds[i].col, t->H, t->W,
                               slot + (size_t)c * t->H * t->W);
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
    }
    t->n = t->seeds.n = t->slots.n = n;
    t->frames.n = n * per;
    return E2E_OK;
}

static void evict(e2e_tagger *t, int i)
{
    e2e_session_free(t->cache[i].s);
    t->cached_bytes -= t->cache[i].bytes;
    t->cache[i] = t->cache[--t->n_cached];
}

static e2e_status session_for(e2e_tagger *t, int64_t n, e2e_session **out, e2e_error *err)
{
    t->clock++;
    for (int i = 0; i < t->n_cached; i++)
        if (t->cache[i].n == n) {
            t->cache[i].used = t->clock;
            *out = t->cache[i].s;
            return E2E_OK;
        }
    int64_t dims[4] = {n, t->C, t->H, t->W};
    e2e_shape_binding b = {t->input_name, 4, dims};
    e2e_session_options o = t->sopt;
    o.shapes = &b;
    o.n_shapes = 1;
    e2e_session *s;
    e2e_status st = e2e_session_create(t->model, &o, &s, err);
    if (st)
        return st;
    t->n_created++;
    size_t bytes = e2e_session_arena_bytes(s) + e2e_session_workspace_bytes(s) +
                   (size_t)n * t->C * t->H * t->W * sizeof(float);
    size_t budget = t->cfg.max_session_bytes ? t->cfg.max_session_bytes : DEFAULT_BUDGET;
    while (t->n_cached && (t->n_cached == MAX_SESSIONS || t->cached_bytes + bytes > budget)) {
        int lru = 0;
        for (int i = 1; i < t->n_cached; i++)
            if (t->cache[i].used < t->cache[lru].used)
                lru = i;
        evict(t, lru);
    }
    cached_session c = {s, n, bytes, t->clock};
    t->cache[t->n_cached++] = c;
    t->cached_bytes += bytes;
    *out = s;
    return E2E_OK;
}

e2e_status e2e_tagger_infer(e2e_tagger *t, e2e_error *err)
{
    if (!t->model)
        return fr_fail(err, E2E_ERR_ARGUMENT, "tagger %s: no model", t->cfg.name);
    if (t->n == 0)
        return E2E_OK;
    e2e_session *s;
    e2e_status st = session_for(t, (int64_t)t->n, &s, err);
    if (st) {
        fr_prefix(err, "tagger %s: ", t->cfg.name);
        return st;
    }
    int64_t dims[4] = {(int64_t)t->n, t->C, t->H, t->W};
    e2e_tensor_view in = e2e_tensor_view_f32(t->input_name, t->frames.data, 4, dims);
    st = e2e_session_run(s, &in, 1, err);
    if (st) {
        fr_prefix(err, "tagger %s: ", t->cfg.name);
        return st;
    }
    e2e_tensor_view o;
    st = e2e_session_output(s, 0, &o);
    int64_t numel = st ? -1 : e2e_tensor_view_numel(&o);
    if (st || o.dtype != E2E_FLOAT || numel < (int64_t)t->n || numel % (int64_t)t->n)
        return fr_fail(err, E2E_ERR_SHAPE,
                       "tagger %s: model output must be float [N, k] with N = %zu slots",
                       t->cfg.name, t->n);
    int64_t k = numel / (int64_t)t->n;
    const float *y = o.data;
    e2e_tagger_slot *sl = t->slots.data;
    for (size_t i = 0; i < t->n; i++)
        sl[i].score = sl[i].seed.status == E2E_SEED_OK ? y[i * k + k - 1] : -1.0f;
    return E2E_OK;
}

const e2e_tagger_slot *e2e_tagger_slots(const e2e_tagger *t, size_t *n)
{
    *n = t->n;
    return t->slots.data;
}

const float *e2e_tagger_frames(const e2e_tagger *t, size_t *n, int *c, int *h, int *w)
{
    *n = t->n;
    *c = t->C;
    *h = t->H;
    *w = t->W;
    return t->frames.data;
}

int e2e_tagger_session_count(const e2e_tagger *t) { return t->n_cached; }
int e2e_tagger_sessions_created(const e2e_tagger *t) { return t->n_created; }
