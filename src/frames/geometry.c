/* Idealised detector geometry (spec section 2.4): eta/phi -> grid row/column and HBHE
   tower, and the channel names. The grid is 280 x 360: 55 EE- rows, 170 EB rows (crystal
   pitch 0.0174), 55 EE+ rows (each HCAL tower of 1.479 < |eta| < 3 split into 5 bins);
   columns are 1-degree phi bins aligned with EB iphi (phi = 0 falls in column 10). */
#include <math.h>
#include <string.h>

#include "frames/frames_internal.h"

#define EB_PITCH 0.0174
#define EB_ETA_MAX 1.479
#define ETA_MAX 3.0

/* HCAL tower eta edges from the end of EB to |eta| = 3 (the EE rows, 11 towers). */
static const double ee_tower_edges[12] = {1.479, 1.566, 1.653, 1.740, 1.830, 1.930,
                                          2.043, 2.172, 2.322, 2.500, 2.650, 3.000};
/* |eta| upper edges of HBHE towers 21..29 (towers 1..20 are 0.087 wide). */
static const double he_upper[9] = {1.830, 1.930, 2.043, 2.172, 2.322, 2.500, 2.650, 2.868, 3.000};

int e2e_geom_col(double phi)
{
    const double two_pi = 2 * M_PI;
    double x = fmod(phi + M_PI, two_pi);
    if (x < 0)
        x += two_pi;
    int b = (int)floor(x / (two_pi / 360));
    if (b > 359)
        b = 359;
    if (b < 0)
        b = 0;
    return (b + 190) % 360;
}

double e2e_geom_col_phi(int col)
{
    int b = ((col - 190) % 360 + 360) % 360;
    return -M_PI + (b + 0.5) * (2 * M_PI / 360);
}

/* EE bin 0..54 of |eta| in [1.479, 3). */
static int ee_bin(double a)
{
    int t = 0;
    while (t < 10 && a >= ee_tower_edges[t + 1])
        t++;
    double lo = ee_tower_edges[t], hi = ee_tower_edges[t + 1];
    int s = (int)floor((a - lo) / (hi - lo) * 5);
    if (s < 0) s = 0;
    if (s > 4) s = 4;
    return t * 5 + s;
}

int e2e_geom_row(double eta)
{
    if (!(fabs(eta) < ETA_MAX))
        return -1;
    if (fabs(eta) < EB_ETA_MAX) {
        int r = 140 + (int)floor(eta / EB_PITCH);
        if (r < E2E_EB_ROW0) r = E2E_EB_ROW0;
        if (r > E2E_EB_ROW0 + E2E_EB_ROWS - 1) r = E2E_EB_ROW0 + E2E_EB_ROWS - 1;
        return r;
    }
    int k = ee_bin(fabs(eta));
    return eta > 0 ? E2E_EB_ROW0 + E2E_EB_ROWS + k : E2E_EE_ROWS - 1 - k;
}

double e2e_geom_row_eta(int row)
{
    if (row >= E2E_EB_ROW0 && row < E2E_EB_ROW0 + E2E_EB_ROWS)
        return (row - 140 + 0.5) * EB_PITCH;
    int k = row < E2E_EB_ROW0 ? E2E_EE_ROWS - 1 - row : row - E2E_EB_ROW0 - E2E_EB_ROWS;
    if (k < 0) k = 0;
    if (k > 54) k = 54;
    int t = k / 5, s = k % 5;
    double lo = ee_tower_edges[t], hi = ee_tower_edges[t + 1];
    double a = lo + (s + 0.5) * (hi - lo) / 5;
    return row < E2E_EB_ROW0 ? -a : a;
}

int e2e_geom_hcal_tower(double eta, double phi, int *ieta, int *iphi)
{
    double a = fabs(eta);
    if (!(a < ETA_MAX)) {
        *ieta = 0;
        *iphi = 0;
        return 0;
    }
    int ia;
    if (a < 1.740) {
        ia = (int)floor(a / 0.087) + 1;
        if (ia > 20) ia = 20;
    } else {
        ia = 21;
        while (ia < 29 && a >= he_upper[ia - 21])
            ia++;
    }
    int tc = e2e_geom_col(phi) / 5;
    int ip = (tc - 2 + 72) % 72 + 1;
    if (ia > 20 && ip % 2 == 0)
        ip -= 1; /* coarse region: 10-degree towers at odd iphi */
    *ieta = eta < 0 ? -ia : ia;
    *iphi = ip;
    return 1;
}

int e2e_geom_hcal_row(int ieta)
{
    int a = ieta < 0 ? -ieta : ieta;
    if (a > 28)
        a = 28; /* |ieta| 29 merged into 28 */
    return ieta > 0 ? a - 1 + 28 : 28 - a;
}

int e2e_geom_hcal_col(int iphi) { return (iphi + 1) % 72; }

/* ---- channel names ---- */

static const char *const ch_names[E2E_CH_COUNT] = {
    "ecal", "hbhe", "pt", "d0", "dz", "bpix1", "bpix2", "bpix3", "bpix4",
    "tib1", "tib2", "tib3", "tib4", "tob1", "tob2", "tob3", "tob4", "tob5", "tob6",
    "tid1", "tid2", "tid3", "tec1", "tec2", "tec3", "tec4", "tec5", "tec6", "tec7",
    "tec8", "tec9"};

const char *e2e_channel_name(e2e_channel c)
{
    return (unsigned)c < E2E_CH_COUNT ? ch_names[c] : "?";
}

int e2e_channel_from_name(const char *name)
{
    for (int i = 0; i < E2E_CH_COUNT; i++)
        if (!strcmp(name, ch_names[i]))
            return i;
    return -1;
}

int fr_tracker_channel(int subdet, int layer)
{
    switch (subdet) {
    case E2E_SUBDET_BPIX: return layer >= 1 && layer <= 4 ? E2E_CH_BPIX1 + layer - 1 : -1;
    case E2E_SUBDET_TIB: return layer >= 1 && layer <= 4 ? E2E_CH_TIB1 + layer - 1 : -1;
    case E2E_SUBDET_TOB: return layer >= 1 && layer <= 6 ? E2E_CH_TOB1 + layer - 1 : -1;
    case E2E_SUBDET_TID: return layer >= 1 && layer <= 3 ? E2E_CH_TID1 + layer - 1 : -1;
    case E2E_SUBDET_TEC: return layer >= 1 && layer <= 9 ? E2E_CH_TEC1 + layer - 1 : -1;
    default: return -1; /* FPIX has no channel */
    }
}
