/* Validation of single records (the event file's decoder and the e2e_event_add_* calls):
   on failure the reason goes into msg and the result is -1. Inline, so that decoding ~3,000
   records per event does not pay a call per record (the failures' snprintf is the cold
   path). */
#ifndef E2E_FRAMES_EVENT_CHECK_H
#define E2E_FRAMES_EVENT_CHECK_H

#include <math.h>
#include <stdio.h>

#include "frames/frames_internal.h"

#define FR_BAD(...) (snprintf(msg, n, __VA_ARGS__), -1)

static inline int fr_check_eb(const e2e_eb_hit *h, char *msg, size_t n)
{
    if (h->ieta_idx >= E2E_EB_ROWS)
        return FR_BAD("ieta_idx %u out of range 0..169", h->ieta_idx);
    if (h->iphi_idx >= E2E_GRID_COLS)
        return FR_BAD("iphi_idx %u out of range 0..359", h->iphi_idx);
    if (!isfinite(h->energy) || !isfinite(h->time))
        return FR_BAD("energy or time is not finite");
    return 0;
}

static inline int fr_check_ee(const e2e_ee_hit *h, char *msg, size_t n)
{
    if (!(h->row < E2E_EB_ROW0 || (h->row >= E2E_EB_ROW0 + E2E_EB_ROWS && h->row < E2E_GRID_ROWS)))
        return FR_BAD("row %u is not an EE row (0..54 or 225..279)", h->row);
    if (h->col >= E2E_GRID_COLS)
        return FR_BAD("col %u out of range 0..359", h->col);
    if (!isfinite(h->energy))
        return FR_BAD("energy is not finite");
    return 0;
}

static inline int fr_check_hbhe(const e2e_hbhe_hit *h, char *msg, size_t n)
{
    int a = h->ieta < 0 ? -h->ieta : h->ieta;
    if (a < 1 || a > E2E_HCAL_IETA_MAX)
        return FR_BAD("ieta %d out of range +-1..29", h->ieta);
    if (h->iphi < 1 || h->iphi > E2E_HCAL_COLS)
        return FR_BAD("iphi %u out of range 1..72", h->iphi);
    if (h->depth < 1 || h->depth > 7)
        return FR_BAD("depth %u out of range 1..7", h->depth);
    if (!isfinite(h->energy))
        return FR_BAD("energy is not finite");
    return 0;
}

static inline int fr_check_track(const e2e_track *t, char *msg, size_t n)
{
    if (!isfinite(t->pt) || !isfinite(t->eta) || !isfinite(t->phi) || !isfinite(t->d0) ||
        !isfinite(t->dz))
        return FR_BAD("pt, eta, phi, d0 or dz is not finite");
    if (t->row == E2E_NO_CELL && t->col == E2E_NO_CELL)
        return 0;
    if (t->row >= E2E_GRID_ROWS || t->col >= E2E_GRID_COLS)
        return FR_BAD("cell (%u, %u) outside the 280 x 360 grid", t->row, t->col);
    return 0;
}

static inline int fr_check_tracker_hit(const e2e_tracker_hit *h, int pixel, char *msg, size_t n)
{
    static const int layers[7] = {0, 4, 3, 4, 3, 6, 9};
    if (h->subdet < 1 || h->subdet > 6)
        return FR_BAD("subdetector %u out of range 1..6", h->subdet);
    if (pixel >= 0 && (h->subdet <= 2) != (pixel != 0))
        return FR_BAD("subdetector %u in the %s section", h->subdet, pixel ? "pixel" : "strip");
    if (h->layer < 1 || h->layer > layers[h->subdet])
        return FR_BAD("layer %u out of range 1..%d for subdetector %u", h->layer,
                   layers[h->subdet], h->subdet);
    if (h->proj > 1)
        return FR_BAD("projection %u is not 0 or 1", h->proj);
    if (h->row >= E2E_GRID_ROWS || h->col >= E2E_GRID_COLS)
        return FR_BAD("cell (%u, %u) outside the 280 x 360 grid", h->row, h->col);
    return 0;
}

static inline int fr_check_photon(const e2e_photon *p, char *msg, size_t n)
{
    if (!isfinite(p->pt) || !isfinite(p->eta) || !isfinite(p->phi))
        return FR_BAD("pt, eta or phi is not finite");
    return 0;
}

static inline int fr_check_crystal(const e2e_crystal *c, char *msg, size_t n)
{
    if (c->ieta_idx >= E2E_EB_ROWS || c->iphi_idx >= E2E_GRID_COLS)
        return FR_BAD("crystal (%u, %u) outside EB 170 x 360", c->ieta_idx, c->iphi_idx);
    return 0;
}

static inline int fr_check_jet(const e2e_jet *j, char *msg, size_t n)
{
    if (!isfinite(j->pt) || !isfinite(j->eta) || !isfinite(j->phi) || !isfinite(j->mass))
        return FR_BAD("pt, eta, phi or mass is not finite");
    int a = j->tower_ieta < 0 ? -j->tower_ieta : j->tower_ieta;
    if (a > E2E_HCAL_IETA_MAX)
        return FR_BAD("axis tower ieta %d out of range +-1..29 (0: outside HBHE)", j->tower_ieta);
    if (a == 0 && j->tower_iphi != 0)
        return FR_BAD("axis tower iphi %u with ieta 0 (outside HBHE needs iphi 0)", j->tower_iphi);
    if (a != 0 && (j->tower_iphi < 1 || j->tower_iphi > E2E_HCAL_COLS))
        return FR_BAD("axis tower iphi %u out of range 1..72", j->tower_iphi);
    return 0;
}

#endif
