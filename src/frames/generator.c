/* The toy event generator behind `e2e gen`. It is NOT a detector simulation: it draws a
   handful of physics objects per event and paints plausible, simple deposits for them, in
   the idealised geometry of geometry.c, so that every stage of the chain has realistic
   work to do and every tagger finds seeds. Energies are in GeV, lengths in cm.

   Per event (all random numbers come from (seed, event index) only):
   - a primary vertex z0 ~ N(0, 3.5);
   - 1-2 EM objects (photon or electron, 50/50): pT 15 + Exp(30) GeV, 80 % in the barrel;
     10 % are soft (5-10 GeV, fail the EG pT cut), some fall in the endcap (fail |eta|);
     a narrow shower over 5 x 5 crystals (Moliere-like exp(-d/0.55) profile around the
     impact point), 2 % leaking into HCAL depth 1; an electron also gets a track, pixel
     and strip hits, bremsstrahlung clusters spread in phi and a bent impact point;
   - 2-4 quark or gluon jets: pT 30 + Exp(80); constituents Poisson(6 + pT/15) for quarks,
     1.6x as many for gluons, angular spread 3/pT + 0.02 (quarks) and 1.5x wider (gluons),
     harder fragmentation for quarks; 60 % charged (track + hits + hadron shower), 28 %
     photons (EM shower), 12 % neutral hadrons (HCAL); hadron showers put 0-50 % in ECAL
     and the rest in HCAL (depths 1/2/3 = 40/35/25 %, 30 % in the 8 neighbour towers);
   - a boosted top with probability 0.45 (pT 300-800, mass 173): three prongs (b, q, q')
     at angular distances ~ 2m/pT, b-prong tracks displaced (|d0|, |dz| ~ Exp(0.03 cm));
   - a hadronic tau with probability 0.5 (visible pT 40 + Exp(60)): one prong (70 %) or
     three, plus 0-2 neutral pions, within dR ~ 0.03, tracks with |d0| ~ Exp(0.005 cm);
   - a high-pT QCD fat jet with probability 0.3 (pT 200-600);
   - pileup: Poisson(pileup) soft particles (pT 0.3 + Exp(0.6), |eta| < 3) from vertices at
     z ~ N(0, 3.5), so their tracks mostly fail the |dz| < 0.1 cm rule;
   - noise: ~250 EB crystals (Exp(0.08 GeV)), ~80 EE cells, ~60 HBHE rechits
     (Exp(0.4 GeV)) and ~15 random hits per BPIX layer, scaled by `noise`.
   Tracks are highPurity with probability 0.92. Tracker hits are placed at the barrel
   layer radii (BPIX 2.9-16 cm, TIB 25.5-49.8, TOB 60.8-108) along the helix in a 3.8 T
   field, seen from the primary vertex (proj = 1), 97 % efficient.
   Collections: ak4 = quark/gluon jets, tau jets and the three top prongs; ak8 = the top,
   the tau, the QCD fat jet and quark/gluon jets above 150 GeV; both sorted by pT. */
#include <math.h>
#include <stdlib.h>

#include "frames/frames_internal.h"

/* ---- random numbers: splitmix64 seeding a xoshiro256** ---- */

typedef struct rng { uint64_t s[4]; } rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_init(rng *r, uint64_t seed, uint64_t index)
{
    uint64_t x = seed * 0xD1B54A32D192ED03ull ^ (index + 0x8CB92BA72F3D8DD7ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

static double unif(rng *r) { return (next(r) >> 11) * (1.0 / 9007199254740992.0); }
static double unif2(rng *r, double a, double b) { return a + (b - a) * unif(r); }
static double expo(rng *r, double mean) { return -mean * log(1.0 - unif(r)); }
static double gauss(rng *r)
{
    double u = unif(r), v = unif(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2 * M_PI * v);
}
static int poisson(rng *r, double mean)
{
    if (mean <= 0)
        return 0;
    if (mean > 60)
        return (int)fmax(0, floor(mean + sqrt(mean) * gauss(r) + 0.5));
    double L = exp(-mean), p = 1;
    int k = 0;
    do {
        k++;
        p *= unif(r);
    } while (p > L);
    return k - 1;
}
static double wrap_phi(double p)
{
    while (p >= M_PI) p -= 2 * M_PI;
    while (p < -M_PI) p += 2 * M_PI;
    return p;
}

/* ---- the event under construction ---- */

typedef struct dep { uint32_t key; float e; } dep;

typedef struct gen {
    rng r;
    e2e_event *ev;
    double z0;
    fr_vec ecal;   /* dep: key = grid cell */
    fr_vec hcal;   /* dep: key = ((ieta + 29) * 72 + iphi - 1) * 8 + depth */
    fr_vec jets[2];
    int oom;
    e2e_error *err;
    e2e_status st;
} gen;

static void deposit_ecal_cell(gen *g, int row, int col, double e)
{
    if (e <= 0 || row < 0 || row >= E2E_GRID_ROWS)
        return;
    col = ((col % E2E_GRID_COLS) + E2E_GRID_COLS) % E2E_GRID_COLS;
    dep d = {(uint32_t)(row * E2E_GRID_COLS + col), (float)e};
    if (!fr_vec_push(&g->ecal, &d))
        g->oom = 1;
}

static void deposit_hcal(gen *g, int ieta, int iphi, int depth, double e)
{
    if (e <= 0 || ieta == 0 || ieta > 29 || ieta < -29)
        return;
    iphi = ((iphi - 1) % 72 + 72) % 72 + 1;
    int a = ieta < 0 ? -ieta : ieta;
    if (a > 20 && iphi % 2 == 0)
        iphi -= 1;
    dep d = {(uint32_t)(((ieta + 29) * 72 + iphi - 1) * 8 + depth), (float)e};
    if (!fr_vec_push(&g->hcal, &d))
        g->oom = 1;
}

/* EM shower: 5 x 5 cells around the impact point, exp(-d/0.55) lateral profile measured
   from the exact position inside the impact cell. */
static void em_shower(gen *g, double eta, double phi, double e)
{
    int row = e2e_geom_row(eta), col = e2e_geom_col(phi);
    if (row < 0 || e <= 0)
        return;
    double fu = unif(&g->r) - 0.5, fv = unif(&g->r) - 0.5;
    double w[5][5], sum = 0;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++) {
            double dr = a - 2 - fu, dc = b - 2 - fv;
            w[a][b] = exp(-sqrt(dr * dr + dc * dc) / 0.55);
            sum += w[a][b];
        }
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++) {
            double x = e * 0.98 * w[a][b] / sum;
            if (x > 0.005)
                deposit_ecal_cell(g, row + a - 2, col + b - 2, x);
        }
    int ie, ip;
    if (e2e_geom_hcal_tower(eta, phi, &ie, &ip))
        deposit_hcal(g, ie, ip, 1, 0.02 * e);
}

/* Hadron shower: a fraction in ECAL (3 x 3, broad), the rest in HCAL over depths 1-3 and
   the 8 neighbouring towers. */
static void had_shower(gen *g, double eta, double phi, double e, int charged)
{
    if (e <= 0 || !(fabs(eta) < 3.0))
        return;
    double fe = unif2(&g->r, 0.0, 0.5);
    double ee = charged ? fmin(e, 0.3) + fe * fmax(0, e - 0.3) : fe * e;
    int row = e2e_geom_row(eta), col = e2e_geom_col(phi);
    static const double w3[3][3] = {{0.05, 0.1, 0.05}, {0.1, 0.4, 0.1}, {0.05, 0.1, 0.05}};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            deposit_ecal_cell(g, row + a - 1, col + b - 1, ee * w3[a][b]);
    double eh = e - ee;
    int ie, ip;
    if (!e2e_geom_hcal_tower(eta, phi, &ie, &ip))
        return;
    static const double dw[3] = {0.40, 0.35, 0.25};
    for (int d = 0; d < 3; d++) {
        deposit_hcal(g, ie, ip, d + 1, 0.7 * eh * dw[d]);
        for (int a = -1; a <= 1; a++)
            for (int b = -1; b <= 1; b++) {
                if (!a && !b)
                    continue;
                int je = ie + a;
                if (je == 0)
                    je = ie > 0 ? -1 : 1;
                deposit_hcal(g, je, ip + b, d + 1, 0.3 / 8 * eh * dw[d]);
            }
    }
}

static const double bpix_r[4] = {2.9, 6.8, 10.9, 16.0};
static const double tib_r[4] = {25.5, 33.9, 41.9, 49.8};
static const double tob_r[6] = {60.8, 69.2, 78.0, 86.8, 96.5, 108.0};

static void add_hit(gen *g, int subdet, int layer, double eta, double phi)
{
    int row = e2e_geom_row(eta);
    if (row < 0)
        return;
    e2e_tracker_hit h = {(uint16_t)row, (uint16_t)e2e_geom_col(phi), (uint8_t)subdet,
                         (uint8_t)layer, 1, 0};
    if (!g->st)
        g->st = e2e_event_add_tracker_hit(g->ev, &h, g->err);
}

/* Hits along a helix from the vertex at z (absolute), seen from the primary vertex. */
static void tracker_hits(gen *g, double pt, double eta, double phi, int q, double z)
{
    double rc = pt / (0.3 * 3.8) * 100; /* curvature radius, cm */
    const double *radii[3] = {bpix_r, tib_r, tob_r};
    const int nl[3] = {4, 4, 6}, sd[3] = {E2E_SUBDET_BPIX, E2E_SUBDET_TIB, E2E_SUBDET_TOB};
    const double half[3] = {27, 70, 110};
    for (int s = 0; s < 3; s++)
        for (int l = 0; l < nl[s]; l++) {
            double r = radii[s][l];
            if (r > 2 * rc)
                return; /* the track curls up before this layer */
            double zz = z + r * sinh(eta);
            if (fabs(zz) > half[s] || unif(&g->r) > 0.97)
                continue;
            double hp = phi - q * asin(r / (2 * rc));
            double he = asinh((zz - g->z0) / r);
            add_hit(g, sd[s], l + 1, he, hp);
        }
}

/* A charged particle: track, hits, calorimeter shower at the bent impact point. */
static void charged(gen *g, double pt, double eta, double phi, int q, double d0, double dz,
                    int em)
{
    if (!(fabs(eta) < 2.5) || pt < 0.2)
        return;
    int row = e2e_geom_row(eta);
    e2e_track t;
    t.pt = (float)(pt * (1 + 0.01 * gauss(&g->r)));
    t.eta = (float)eta;
    t.phi = (float)wrap_phi(phi);
    t.d0 = (float)d0;
    t.dz = (float)dz;
    t.charge = (int8_t)q;
    t.quality = unif(&g->r) < 0.92 ? E2E_TRACK_HIGH_PURITY : 0;
    t.row = row < 0 ? E2E_NO_CELL : (uint16_t)row;
    t.col = row < 0 ? E2E_NO_CELL : (uint16_t)e2e_geom_col(phi);
    if (!g->st)
        g->st = e2e_event_add_track(g->ev, &t, g->err);
    tracker_hits(g, pt, eta, phi, q, g->z0 + dz);
    double rc = pt / (0.3 * 3.8); /* m */
    if (rc * 2 < 1.29)
        return; /* loops inside the tracker */
    double phic = phi - q * asin(1.29 / (2 * rc));
    double e = pt * cosh(eta);
    if (em)
        em_shower(g, eta, phic, e);
    else
        had_shower(g, eta, phic, e, 1);
}

static void add_jet(gen *g, int coll, double pt, double eta, double phi, double mass, int truth)
{
    e2e_jet j;
    int ie, ip;
    e2e_geom_hcal_tower(eta, phi, &ie, &ip);
    j.pt = (float)pt;
    j.eta = (float)eta;
    j.phi = (float)wrap_phi(phi);
    j.mass = (float)mass;
    j.tower_ieta = (int8_t)ie;
    j.tower_iphi = (uint8_t)ip;
    j.truth = (int16_t)truth;
    if (!fr_vec_push(&g->jets[coll], &j))
        g->oom = 1;
}

/* Fragmentation of a parton into constituents around (eta, phi). disp: mean |d0|, |dz| of
   the charged constituents (displaced b decays), 0 for prompt ones. */
static void fragment(gen *g, double pt, double eta, double phi, int gluon, double disp)
{
    double mean = (6 + pt / 15) * (gluon ? 1.6 : 1.0);
    if (mean > 60)
        mean = 60;
    int n = 1 + poisson(&g->r, mean - 1);
    double sigma = (3.0 / pt + 0.02) * (gluon ? 1.5 : 1.0);
    double alpha = gluon ? 1.0 : 1.6;
    double z[128], sum = 0;
    if (n > 128)
        n = 128;
    for (int k = 0; k < n; k++) {
        z[k] = pow(expo(&g->r, 1.0), alpha);
        sum += z[k];
    }
    for (int k = 0; k < n; k++) {
        double cpt = pt * z[k] / sum;
        double ce = eta + sigma * gauss(&g->r), cp = phi + sigma * gauss(&g->r);
        double u = unif(&g->r);
        if (u < 0.60) {
            double d0 = 0.002 * gauss(&g->r), dz = 0.005 * gauss(&g->r);
            if (disp > 0) {
                d0 += (unif(&g->r) < 0.5 ? -1 : 1) * expo(&g->r, disp);
                dz += (unif(&g->r) < 0.5 ? -1 : 1) * expo(&g->r, disp);
            }
            charged(g, cpt, ce, cp, unif(&g->r) < 0.5 ? -1 : 1, d0, dz, 0);
        } else if (u < 0.88) {
            em_shower(g, ce, cp, cpt * cosh(ce));
        } else {
            had_shower(g, ce, cp, cpt * cosh(ce), 0);
        }
    }
}

static double object_eta(gen *g, double central_frac)
{
    return unif(&g->r) < central_frac ? unif2(&g->r, -1.3, 1.3) : unif2(&g->r, -2.5, 2.5);
}

typedef struct pho_rec { e2e_photon p; size_t first_dep, n_dep; } pho_rec;

static void em_object(gen *g, pho_rec *out)
{
    int electron = unif(&g->r) < 0.5;
    double pt = unif(&g->r) < 0.1 ? unif2(&g->r, 5, 10) : fmin(15 + expo(&g->r, 30), 150);
    double eta = object_eta(g, 0.8), phi = unif2(&g->r, -M_PI, M_PI);
    double e = pt * cosh(eta);
    out->first_dep = g->ecal.n;
    if (electron) {
        int q = unif(&g->r) < 0.5 ? -1 : 1;
        double fb = unif2(&g->r, 0, 0.4);
        double rc = pt * (1 - 0.5 * fb) / (0.3 * 3.8);
        double phic = phi - q * asin(fmin(1.0, 1.29 / (2 * rc)));
        e2e_track t = {(float)(pt * (1 - 0.5 * fb)), (float)eta, (float)wrap_phi(phi),
                       (float)(0.002 * gauss(&g->r)), (float)(0.004 * gauss(&g->r)), (int8_t)q,
                       E2E_TRACK_HIGH_PURITY, 0, 0};
        int row = fabs(eta) < 2.5 ? e2e_geom_row(eta) : -1;
        if (fabs(eta) < 2.5) {
            t.row = row < 0 ? E2E_NO_CELL : (uint16_t)row;
            t.col = row < 0 ? E2E_NO_CELL : (uint16_t)e2e_geom_col(phi);
            if (!g->st)
                g->st = e2e_event_add_track(g->ev, &t, g->err);
            tracker_hits(g, t.pt, eta, phi, q, g->z0 + t.dz);
        }
        em_shower(g, eta, phic, e * (1 - fb));
        int nb = 1 + (int)(unif(&g->r) * 3);
        for (int k = 0; k < nb; k++) /* brem photons between the vertex and the bent impact */
            em_shower(g, eta + 0.005 * gauss(&g->r), phi + (phic - phi) * unif(&g->r) * 1.5,
                      e * fb / nb);
    } else {
        em_shower(g, eta, phi, e);
    }
    out->n_dep = g->ecal.n - out->first_dep;
    out->p.pt = (float)(pt * (1 + 0.02 * gauss(&g->r)));
    out->p.eta = (float)eta;
    out->p.phi = (float)wrap_phi(phi);
    out->p.truth = electron ? E2E_TRUTH_ELECTRON : E2E_TRUTH_PHOTON;
}

static void qg_jet(gen *g, double pt, double eta, double phi)
{
    int gluon = unif(&g->r) < 0.5;
    fragment(g, pt, eta, phi, gluon, 0);
    double m4 = pt * unif2(&g->r, 0.04, 0.12) * (gluon ? 1.3 : 1.0);
    add_jet(g, E2E_AK4, pt * (1 + 0.05 * gauss(&g->r)), eta + 0.01 * gauss(&g->r), phi,
            m4, gluon ? E2E_TRUTH_GLUON : E2E_TRUTH_QUARK);
    if (pt > 150)
        add_jet(g, E2E_AK8, pt * (1 + 0.05 * gauss(&g->r)), eta, phi, m4 * 1.6,
                gluon ? E2E_TRUTH_GLUON : E2E_TRUTH_QUARK);
}

static void top_jet(gen *g)
{
    double pt = unif2(&g->r, 300, 800), eta = object_eta(g, 0.8), phi = unif2(&g->r, -M_PI, M_PI);
    double zb = unif2(&g->r, 0.25, 0.45), zw = 1 - zb;
    double th = unif2(&g->r, 0, 2 * M_PI);
    double d = 2 * 173.0 / pt * unif2(&g->r, 0.5, 0.9);     /* b - W separation */
    double be = eta + zw * d * cos(th), bp = phi + zw * d * sin(th);
    double we = eta - zb * d * cos(th), wp = phi - zb * d * sin(th);
    double z1 = unif2(&g->r, 0.3, 0.7), th2 = unif2(&g->r, 0, 2 * M_PI);
    double dq = 2 * 80.4 / (zw * pt) * unif2(&g->r, 0.6, 1.0);
    double q1e = we + (1 - z1) * dq * cos(th2), q1p = wp + (1 - z1) * dq * sin(th2);
    double q2e = we - z1 * dq * cos(th2), q2p = wp - z1 * dq * sin(th2);
    fragment(g, zb * pt, be, bp, 0, 0.03);
    fragment(g, z1 * zw * pt, q1e, q1p, 0, 0);
    fragment(g, (1 - z1) * zw * pt, q2e, q2p, 0, 0);
    add_jet(g, E2E_AK8, pt * (1 + 0.05 * gauss(&g->r)), eta, phi, 173 + 12 * gauss(&g->r),
            E2E_TRUTH_TOP);
    add_jet(g, E2E_AK4, zb * pt, be, bp, 5 + gauss(&g->r), E2E_TRUTH_TOP);
    add_jet(g, E2E_AK4, z1 * zw * pt, q1e, q1p, 8 + 2 * gauss(&g->r), E2E_TRUTH_TOP);
    add_jet(g, E2E_AK4, (1 - z1) * zw * pt, q2e, q2p, 8 + 2 * gauss(&g->r), E2E_TRUTH_TOP);
}

static void tau_jet(gen *g)
{
    double pt = 40 + expo(&g->r, 60), eta = object_eta(g, 0.8), phi = unif2(&g->r, -M_PI, M_PI);
    int nprong = unif(&g->r) < 0.7 ? 1 : 3;
    int npi0 = (int)(unif(&g->r) * 3);
    double z[6], sum = 0;
    for (int k = 0; k < nprong + npi0; k++) {
        z[k] = unif2(&g->r, 0.2, 1.0);
        sum += z[k];
    }
    int q = unif(&g->r) < 0.5 ? -1 : 1;
    for (int k = 0; k < nprong + npi0; k++) {
        double cpt = pt * z[k] / sum;
        double ce = eta + 0.03 * gauss(&g->r), cp = phi + 0.03 * gauss(&g->r);
        if (k < nprong) {
            int qk = nprong == 1 ? q : (k < 2 ? q : -q);
            double s0 = unif(&g->r) < 0.5 ? -1 : 1, s1 = unif(&g->r) < 0.5 ? -1 : 1;
            charged(g, cpt, ce, cp, qk, s0 * expo(&g->r, 0.005), s1 * expo(&g->r, 0.005), 0);
        } else {
            em_shower(g, ce, cp, cpt * cosh(ce));
        }
    }
    add_jet(g, E2E_AK4, pt * (1 + 0.05 * gauss(&g->r)), eta, phi, unif2(&g->r, 0.5, 1.7),
            E2E_TRUTH_TAU);
    add_jet(g, E2E_AK8, pt * (1 + 0.05 * gauss(&g->r)), eta, phi, unif2(&g->r, 0.5, 2.5),
            E2E_TRUTH_TAU);
}

static void pileup(gen *g, double mean)
{
    int n = poisson(&g->r, mean);
    for (int k = 0; k < n; k++) {
        double pt = 0.3 + expo(&g->r, 0.6), eta = unif2(&g->r, -3, 3),
               phi = unif2(&g->r, -M_PI, M_PI);
        double zpu = 3.5 * gauss(&g->r);
        if (unif(&g->r) < 0.65)
            charged(g, pt, eta, phi, unif(&g->r) < 0.5 ? -1 : 1, 0.003 * gauss(&g->r),
                    zpu - g->z0, 0);
        else
            em_shower(g, eta, phi, pt * cosh(eta));
    }
}

static void noise(gen *g, double scale)
{
    int n = poisson(&g->r, 250 * scale);
    for (int k = 0; k < n; k++)
        deposit_ecal_cell(g, E2E_EB_ROW0 + (int)(unif(&g->r) * E2E_EB_ROWS),
                          (int)(unif(&g->r) * E2E_GRID_COLS), expo(&g->r, 0.08));
    n = poisson(&g->r, 80 * scale);
    for (int k = 0; k < n; k++) {
        int r = (int)(unif(&g->r) * 2 * E2E_EE_ROWS);
        if (r >= E2E_EE_ROWS)
            r += E2E_EB_ROWS;
        deposit_ecal_cell(g, r, (int)(unif(&g->r) * E2E_GRID_COLS), expo(&g->r, 0.15));
    }
    n = poisson(&g->r, 60 * scale);
    for (int k = 0; k < n; k++) {
        int a = 1 + (int)(unif(&g->r) * 29);
        deposit_hcal(g, unif(&g->r) < 0.5 ? -a : a, 1 + (int)(unif(&g->r) * 72),
                     1 + (int)(unif(&g->r) * 3), expo(&g->r, 0.4));
    }
    for (int l = 1; l <= 4; l++) {
        n = poisson(&g->r, 15 * scale);
        for (int k = 0; k < n; k++)
            add_hit(g, E2E_SUBDET_BPIX, l, unif2(&g->r, -2.5, 2.5), unif2(&g->r, -M_PI, M_PI));
    }
}

static int cmp_dep(const void *a, const void *b)
{
    uint32_t x = ((const dep *)a)->key, y = ((const dep *)b)->key;
    return x < y ? -1 : x > y;
}

static int cmp_jet(const void *a, const void *b)
{
    float x = ((const e2e_jet *)a)->pt, y = ((const e2e_jet *)b)->pt;
    return x > y ? -1 : x < y;
}

static int cmp_pho(const void *a, const void *b)
{
    float x = ((const pho_rec *)a)->p.pt, y = ((const pho_rec *)b)->p.pt;
    return x > y ? -1 : x < y;
}

/* Sorts and merges deposits by key (stable result whatever the order they came in). */
static size_t merge(fr_vec *v)
{
    dep *d = v->data;
    if (v->n < 2)
        return v->n;
    qsort(d, v->n, sizeof *d, cmp_dep);
    size_t m = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (m && d[m - 1].key == d[i].key)
            d[m - 1].e += d[i].e;
        else
            d[m++] = d[i];
    }
    return v->n = m;
}

e2e_gen_options e2e_gen_options_default(void)
{
    e2e_gen_options o = {1, 40.0, 1.0, 1};
    return o;
}

e2e_status e2e_gen_event(const e2e_gen_options *opt, uint64_t index, e2e_event *ev,
                         e2e_error *err)
{
    e2e_gen_options o = opt ? *opt : e2e_gen_options_default();
    gen g;
    memset(&g, 0, sizeof g);
    rng_init(&g.r, o.seed, index);
    g.ev = ev;
    g.err = err;
    fr_vec_init(&g.ecal, sizeof(dep));
    fr_vec_init(&g.hcal, sizeof(dep));
    fr_vec_init(&g.jets[0], sizeof(e2e_jet));
    fr_vec_init(&g.jets[1], sizeof(e2e_jet));
    e2e_event_clear(ev);
    e2e_event_set_id(ev, o.run, (uint32_t)(1 + index / 100), index + 1);
    g.z0 = 3.5 * gauss(&g.r);

    pho_rec pho[2];
    int npho = 1 + (unif(&g.r) < 0.35);
    for (int k = 0; k < npho; k++)
        em_object(&g, &pho[k]);
    int nqg = 2 + (int)(unif(&g.r) * 3);
    for (int k = 0; k < nqg; k++)
        qg_jet(&g, 30 + expo(&g.r, 80), object_eta(&g, 0.75), unif2(&g.r, -M_PI, M_PI));
    if (unif(&g.r) < 0.45)
        top_jet(&g);
    if (unif(&g.r) < 0.5)
        tau_jet(&g);
    if (unif(&g.r) < 0.3)
        qg_jet(&g, unif2(&g.r, 200, 600), object_eta(&g, 0.8), unif2(&g.r, -M_PI, M_PI));
    pileup(&g, o.pileup);
    noise(&g, o.noise);

    /* supercluster crystals: the EB cells of each EM object's own deposits above 50 MeV */
    e2e_crystal *xt[2] = {NULL, NULL};
    size_t nxt[2] = {0, 0};
    for (int k = 0; k < npho && !g.oom; k++) {
        xt[k] = malloc((pho[k].n_dep + 1) * sizeof(e2e_crystal));
        if (!xt[k]) {
            g.oom = 1;
            break;
        }
        const dep *d = (const dep *)g.ecal.data + pho[k].first_dep;
        for (size_t i = 0; i < pho[k].n_dep; i++) {
            int row = (int)(d[i].key / E2E_GRID_COLS), col = (int)(d[i].key % E2E_GRID_COLS);
            if (row < E2E_EB_ROW0 || row >= E2E_EB_ROW0 + E2E_EB_ROWS || d[i].e < 0.05f)
                continue;
            e2e_crystal c = {(uint16_t)(row - E2E_EB_ROW0), (uint16_t)col};
            size_t j = 0;
            while (j < nxt[k] && (xt[k][j].ieta_idx != c.ieta_idx || xt[k][j].iphi_idx != c.iphi_idx))
                j++;
            if (j == nxt[k])
                xt[k][nxt[k]++] = c;
        }
    }
    if (npho == 2 && cmp_pho(&pho[0], &pho[1]) > 0) {
        pho_rec tp = pho[0]; pho[0] = pho[1]; pho[1] = tp;
        e2e_crystal *tx = xt[0]; xt[0] = xt[1]; xt[1] = tx;
        size_t tn = nxt[0]; nxt[0] = nxt[1]; nxt[1] = tn;
    }
    for (int k = 0; k < npho && !g.oom && !g.st; k++)
        g.st = e2e_event_add_photon(ev, &pho[k].p, xt[k], nxt[k], err);
    free(xt[0]);
    free(xt[1]);

    merge(&g.ecal);
    const dep *d = g.ecal.data;
    for (size_t i = 0; i < g.ecal.n && !g.st; i++) {
        int row = (int)(d[i].key / E2E_GRID_COLS), col = (int)(d[i].key % E2E_GRID_COLS);
        if (row >= E2E_EB_ROW0 && row < E2E_EB_ROW0 + E2E_EB_ROWS) {
            e2e_eb_hit h = {(uint16_t)(row - E2E_EB_ROW0), (uint16_t)col, d[i].e,
                            (float)(0.5 * gauss(&g.r))};
            g.st = e2e_event_add_eb(ev, &h, err);
        } else {
            e2e_ee_hit h = {(uint16_t)row, (uint16_t)col, d[i].e};
            g.st = e2e_event_add_ee(ev, &h, err);
        }
    }
    merge(&g.hcal);
    d = g.hcal.data;
    for (size_t i = 0; i < g.hcal.n && !g.st; i++) {
        int depth = (int)(d[i].key % 8), t = (int)(d[i].key / 8);
        e2e_hbhe_hit h = {(int8_t)(t / 72 - 29), (uint8_t)(t % 72 + 1), (uint8_t)depth, 0, d[i].e};
        g.st = e2e_event_add_hbhe(ev, &h, err);
    }
    for (int c = 0; c < 2 && !g.st; c++) {
        if (g.jets[c].n > 1)
            qsort(g.jets[c].data, g.jets[c].n, sizeof(e2e_jet), cmp_jet);
        for (size_t i = 0; i < g.jets[c].n && !g.st; i++)
            g.st = e2e_event_add_jet(ev, (e2e_jet_collection)c, &FR_AT(g.jets[c], e2e_jet, i), err);
    }
    fr_vec_free(&g.ecal);
    fr_vec_free(&g.hcal);
    fr_vec_free(&g.jets[0]);
    fr_vec_free(&g.jets[1]);
    if (g.oom)
        return e2e_fail(err, E2E_ERR_NOMEM, "generator: out of memory");
    if (g.st)
        e2e_error_prefix(err, "generator, event %llu: ", (unsigned long long)index);
    return g.st;
}
