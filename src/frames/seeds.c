/* Seeds (reference EGFrameProducer::getEGseed and JetFrameProducer::getJetseed, with the
   taggers' kinematic cuts): one seed per photon or jet, (-1, -1) when it fails. */
#include <math.h>

#include "frames/frames_internal.h"

const char *e2e_seed_status_name(e2e_seed_status s)
{
    switch (s) {
    case E2E_SEED_OK: return "ok";
    case E2E_SEED_LOW_PT: return "low-pt";
    case E2E_SEED_HIGH_ETA: return "high-eta";
    case E2E_SEED_NO_CRYSTAL: return "no-crystal";
    case E2E_SEED_NOT_HBHE: return "not-hbhe";
    case E2E_SEED_EDGE: return "edge";
    case E2E_SEED_NO_NODES: return "no-nodes";
    }
    return "?";
}

static e2e_seed failed(e2e_seed_status s)
{
    e2e_seed x = {-1, -1, s};
    return x;
}

e2e_status e2e_seeds_photons(const e2e_event *ev, const e2e_detframes *df, float min_pt,
                             float max_eta, e2e_seed *out, size_t cap, size_t *n,
                             e2e_error *err)
{
    const float *eb = e2e_detframes_eb(df);
    *n = ev->photons.n;
    if (!eb)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "photon seeds need the ecal channel in DetFrames");
    if (ev->photons.n > cap)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "photon seeds: %zu photons, room for %zu",
                       ev->photons.n, cap);
    const e2e_photon *ph = ev->photons.data;
    const e2e_crystal *xt = ev->crystals.data;
    for (size_t i = 0; i < ev->photons.n; i++) {
        if (ph[i].pt < min_pt) {
            out[i] = failed(E2E_SEED_LOW_PT);
            continue;
        }
        if (fabsf(ph[i].eta) > max_eta) {
            out[i] = failed(E2E_SEED_HIGH_ETA);
            continue;
        }
        /* the supercluster crystal with the highest energy; the first one wins a tie */
        float best = 0;
        e2e_seed s = failed(E2E_SEED_NO_CRYSTAL);
        for (unsigned k = 0; k < ph[i].n_crystals; k++) {
            const e2e_crystal *c = &xt[ph[i].first_crystal + k];
            float e = eb[c->ieta_idx * E2E_GRID_COLS + c->iphi_idx];
            if (e > best) {
                best = e;
                s.row = c->ieta_idx;
                s.col = c->iphi_idx;
                s.status = E2E_SEED_OK;
            }
        }
        out[i] = s;
    }
    return E2E_OK;
}

e2e_status e2e_seeds_jets(const e2e_event *ev, const e2e_detframes *df, e2e_jet_collection c,
                          float min_pt, float max_eta, e2e_seed *out, size_t cap, size_t *n,
                          e2e_error *err)
{
    enum { WINDOW = 7, PADDING = 12, IETA_MAX = 28 };
    if (c != E2E_AK4 && c != E2E_AK8)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "jet seeds: collection %d is not ak4 or ak8", c);
    const fr_vec *v = &ev->jets[c];
    *n = v->n;
    if (v->n > cap)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "jet seeds: %zu jets, room for %zu", v->n, cap);
    const e2e_jet *j = v->data;
    for (size_t i = 0; i < v->n; i++) {
        if (j[i].pt < min_pt) {
            out[i] = failed(E2E_SEED_LOW_PT);
            continue;
        }
        if (fabsf(j[i].eta) > max_eta) {
            out[i] = failed(E2E_SEED_HIGH_ETA);
            continue;
        }
        if (j[i].tower_ieta == 0) {
            out[i] = failed(E2E_SEED_NOT_HBHE);
            continue;
        }
        /* highest depth-1 rechit in the 7 x 7 tower window around the axis tower; the start
           value is the axis tower's own energy (0 without a rechit), a candidate must be a
           rechit (towers without one are skipped, as the reference's find() == end) and
           strictly higher; the window skips ieta 0 and |ieta| > 28, iphi wraps in 1..72. */
        int ax = j[i].tower_ieta, ay = j[i].tower_iphi;
        int sx = ax, sy = ay;
        float best;
        e2e_detframes_depth1_find(df, ax, ay, &best);
        for (int a = 0; a < WINDOW; a++) {
            int ie = ax - WINDOW / 2 + a;
            if (ie == 0 || ie > IETA_MAX || ie < -IETA_MAX)
                continue;
            for (int b = 0; b < WINDOW; b++) {
                int ip = ay - WINDOW / 2 + b;
                if (ip > E2E_HCAL_COLS)
                    ip -= E2E_HCAL_COLS;
                else if (ip < 1)
                    ip += E2E_HCAL_COLS;
                float e;
                if (e2e_detframes_depth1_find(df, ie, ip, &e) && e > best) {
                    best = e;
                    sx = ie;
                    sy = ip;
                }
            }
        }
        int sa = sx < 0 ? -sx : sx;
        if (sa > IETA_MAX)
            sa = IETA_MAX;
        if (IETA_MAX - sa < PADDING) {
            out[i] = failed(E2E_SEED_EDGE);
            continue;
        }
        out[i].row = e2e_geom_hcal_row(sx) * 5 + 2;
        out[i].col = e2e_geom_hcal_col(sy) * 5 + 2;
        out[i].status = E2E_SEED_OK;
    }
    return E2E_OK;
}
