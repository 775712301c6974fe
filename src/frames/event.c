/* The event container: growable arrays of sparse hits and reco objects, reused from one
   event to the next, and the validation of every record. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "frames/event_check.h"
#include "frames/frames_internal.h"

void fr_vec_init(fr_vec *v, size_t elem)
{
    v->data = NULL;
    v->n = v->cap = 0;
    v->elem = elem;
}

void fr_vec_free(fr_vec *v)
{
    free(v->data);
    v->data = NULL;
    v->n = v->cap = 0;
}

int fr_vec_reserve(fr_vec *v, size_t more)
{
    if (more > SIZE_MAX / v->elem - v->n)
        return -1;
    size_t need = v->n + more;
    if (need <= v->cap)
        return 0;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 4 ? need : cap * 2;
    void *p = realloc(v->data, cap * v->elem);
    if (!p)
        return -1;
    v->data = p;
    v->cap = cap;
    return 0;
}

void *fr_vec_push(fr_vec *v, const void *rec)
{
    if (fr_vec_reserve(v, 1))
        return NULL;
    void *dst = (char *)v->data + v->n * v->elem;
    memcpy(dst, rec, v->elem);
    v->n++;
    return dst;
}

e2e_status e2e_event_create(e2e_event **out, e2e_error *err)
{
    *out = NULL;
    e2e_event *ev = calloc(1, sizeof *ev);
    if (!ev)
        return e2e_fail(err, E2E_ERR_NOMEM, "event: out of memory");
    fr_vec_init(&ev->eb, sizeof(e2e_eb_hit));
    fr_vec_init(&ev->ee, sizeof(e2e_ee_hit));
    fr_vec_init(&ev->hbhe, sizeof(e2e_hbhe_hit));
    fr_vec_init(&ev->tracks, sizeof(e2e_track));
    fr_vec_init(&ev->pixel, sizeof(e2e_tracker_hit));
    fr_vec_init(&ev->strip, sizeof(e2e_tracker_hit));
    fr_vec_init(&ev->photons, sizeof(e2e_photon));
    fr_vec_init(&ev->crystals, sizeof(e2e_crystal));
    fr_vec_init(&ev->jets[0], sizeof(e2e_jet));
    fr_vec_init(&ev->jets[1], sizeof(e2e_jet));
    *out = ev;
    return E2E_OK;
}

void e2e_event_free(e2e_event *ev)
{
    if (!ev)
        return;
    fr_vec_free(&ev->eb);
    fr_vec_free(&ev->ee);
    fr_vec_free(&ev->hbhe);
    fr_vec_free(&ev->tracks);
    fr_vec_free(&ev->pixel);
    fr_vec_free(&ev->strip);
    fr_vec_free(&ev->photons);
    fr_vec_free(&ev->crystals);
    fr_vec_free(&ev->jets[0]);
    fr_vec_free(&ev->jets[1]);
    free(ev);
}

void e2e_event_clear(e2e_event *ev)
{
    ev->run = ev->lumi = 0;
    ev->event = 0;
    ev->eb.n = ev->ee.n = ev->hbhe.n = ev->tracks.n = ev->pixel.n = ev->strip.n = 0;
    ev->photons.n = ev->crystals.n = ev->jets[0].n = ev->jets[1].n = 0;
}

void e2e_event_set_id(e2e_event *ev, uint32_t run, uint32_t lumi, uint64_t event)
{
    ev->run = run;
    ev->lumi = lumi;
    ev->event = event;
}

void e2e_event_get(const e2e_event *ev, e2e_event_data *o)
{
    o->run = ev->run;
    o->lumi = ev->lumi;
    o->event = ev->event;
    o->eb = ev->eb.data;            o->n_eb = ev->eb.n;
    o->ee = ev->ee.data;            o->n_ee = ev->ee.n;
    o->hbhe = ev->hbhe.data;        o->n_hbhe = ev->hbhe.n;
    o->tracks = ev->tracks.data;    o->n_tracks = ev->tracks.n;
    o->pixel = ev->pixel.data;      o->n_pixel = ev->pixel.n;
    o->strip = ev->strip.data;      o->n_strip = ev->strip.n;
    o->photons = ev->photons.data;  o->n_photons = ev->photons.n;
    o->crystals = ev->crystals.data; o->n_crystals = ev->crystals.n;
    for (int c = 0; c < 2; c++) {
        o->jets[c] = ev->jets[c].data;
        o->n_jets[c] = ev->jets[c].n;
    }
}

/* ---- adders ---- */

static e2e_status push(fr_vec *v, const void *rec, const char *what, e2e_error *err)
{
    if (!fr_vec_push(v, rec))
        return e2e_fail(err, E2E_ERR_NOMEM, "event: out of memory adding %s", what);
    return E2E_OK;
}

#define CHECKED_ADD(fn, type, vec, check, what)                                         \
    e2e_status fn(e2e_event *ev, const type *h, e2e_error *err)                         \
    {                                                                                   \
        char msg[200];                                                                  \
        if (check(h, msg, sizeof msg))                                                  \
            return e2e_fail(err, E2E_ERR_ARGUMENT, "event: %s: %s", what, msg);          \
        return push(&ev->vec, h, what, err);                                            \
    }

CHECKED_ADD(e2e_event_add_eb, e2e_eb_hit, eb, fr_check_eb, "EB rechit")
CHECKED_ADD(e2e_event_add_ee, e2e_ee_hit, ee, fr_check_ee, "EE rechit")
CHECKED_ADD(e2e_event_add_hbhe, e2e_hbhe_hit, hbhe, fr_check_hbhe, "HBHE rechit")
CHECKED_ADD(e2e_event_add_track, e2e_track, tracks, fr_check_track, "track")

e2e_status e2e_event_add_tracker_hit(e2e_event *ev, const e2e_tracker_hit *h, e2e_error *err)
{
    char msg[200];
    if (fr_check_tracker_hit(h, -1, msg, sizeof msg))
        return e2e_fail(err, E2E_ERR_ARGUMENT, "event: tracker hit: %s", msg);
    return push(h->subdet <= 2 ? &ev->pixel : &ev->strip, h, "tracker hit", err);
}

e2e_status e2e_event_add_photon(e2e_event *ev, const e2e_photon *p, const e2e_crystal *xtals,
                                size_t n_xtals, e2e_error *err)
{
    char msg[200];
    if (fr_check_photon(p, msg, sizeof msg))
        return e2e_fail(err, E2E_ERR_ARGUMENT, "event: photon: %s", msg);
    if (n_xtals > UINT16_MAX)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "event: photon: %zu crystals (at most 65535)",
                       n_xtals);
    for (size_t i = 0; i < n_xtals; i++)
        if (fr_check_crystal(&xtals[i], msg, sizeof msg))
            return e2e_fail(err, E2E_ERR_ARGUMENT, "event: photon crystal %zu: %s", i, msg);
    if (fr_vec_reserve(&ev->crystals, n_xtals) || fr_vec_reserve(&ev->photons, 1))
        return e2e_fail(err, E2E_ERR_NOMEM, "event: out of memory adding a photon");
    e2e_photon q = *p;
    q.first_crystal = (uint32_t)ev->crystals.n;
    q.n_crystals = (uint16_t)n_xtals;
    if (n_xtals)
        memcpy((e2e_crystal *)ev->crystals.data + ev->crystals.n, xtals, n_xtals * sizeof *xtals);
    ev->crystals.n += n_xtals;
    fr_vec_push(&ev->photons, &q);
    return E2E_OK;
}

e2e_status e2e_event_add_jet(e2e_event *ev, e2e_jet_collection c, const e2e_jet *j,
                             e2e_error *err)
{
    char msg[200];
    if (c != E2E_AK4 && c != E2E_AK8)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "event: jet collection %d is not ak4 or ak8", c);
    if (fr_check_jet(j, msg, sizeof msg))
        return e2e_fail(err, E2E_ERR_ARGUMENT, "event: %s jet: %s", c ? "ak8" : "ak4", msg);
    return push(&ev->jets[c], j, "jet", err);
}

const char *e2e_truth_name(int truth)
{
    switch (truth) {
    case E2E_TRUTH_PHOTON: return "photon";
    case E2E_TRUTH_ELECTRON: return "electron";
    case E2E_TRUTH_QUARK: return "quark";
    case E2E_TRUTH_GLUON: return "gluon";
    case E2E_TRUTH_TOP: return "top";
    case E2E_TRUTH_TAU: return "tau";
    default: return "unknown";
    }
}
