/* Graph frames: the point cloud of one seed, built the way the E2E group's GNNs build it
   (docs/graph-frames.md): the cells of the tagger's crop whose summed |channels| exceed a
   threshold are the nodes; a node carries its (deta, dphi) to the seed cell and its scaled
   channel values; nodes are ordered by scaled magnitude and truncated at P. Also the
   padding into the ParticleNet layout and the kNN edge list. */
#include <math.h>
#include <stdlib.h>

#include "frames/frames_internal.h"

/* The node-feature scaling of the E2E GNN code (GSoC 2022/23 E2E_GNN preprocessing:
   pT x 0.01, dz x 0.05, d0 x 0.1, ECAL x 0.1). HBHE is given the ECAL factor (both GeV;
   the reference names no HCAL factor); tracker channels are hit counts, left as they are. */
float e2e_graph_channel_scale(e2e_channel c)
{
    switch (c) {
    case E2E_CH_PT: return 0.01f;
    case E2E_CH_D0: return 0.1f;
    case E2E_CH_DZ: return 0.05f;
    case E2E_CH_ECAL: return 0.1f;
    case E2E_CH_HBHE: return 0.1f;
    default: return 1.0f;
    }
}

/* Order of nodes: larger key first; equal keys by crop index (row-major) ascending. */
static int before(const fr_graph_cand *a, const fr_graph_cand *b)
{
    return a->key > b->key || (a->key == b->key && a->idx < b->idx);
}

static int cmp_cand(const void *pa, const void *pb)
{
    const fr_graph_cand *a = pa, *b = pb;
    return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

static void swap_cand(fr_graph_cand *a, fr_graph_cand *b)
{
    fr_graph_cand t = *a;
    *a = *b;
    *b = t;
}

/* Moves the m first nodes in order to v[0..m) (any order among them), m < n. */
static void select_first(fr_graph_cand *v, size_t n, size_t m)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        /* median of three as pivot, placed at hi */
        size_t mid = lo + (hi - lo) / 2;
        if (before(&v[mid], &v[lo])) swap_cand(&v[mid], &v[lo]);
        if (before(&v[hi], &v[lo])) swap_cand(&v[hi], &v[lo]);
        if (before(&v[mid], &v[hi])) swap_cand(&v[mid], &v[hi]);
        fr_graph_cand piv = v[hi];
        size_t s = lo;
        for (size_t i = lo; i < hi; i++)
            if (before(&v[i], &piv))
                swap_cand(&v[i], &v[s++]);
        swap_cand(&v[s], &v[hi]);
        /* v[lo..s) before the pivot, v[s] the pivot, v(s..hi] after it */
        if (s == m || s + 1 == m)
            return;
        if (s > m)
            hi = s - 1;
        else
            lo = s + 1;
    }
}

static double wrap_phi(double d)
{
    d = fmod(d, 2 * M_PI);
    if (d > M_PI)
        d -= 2 * M_PI;
    else if (d < -M_PI)
        d += 2 * M_PI;
    return d;
}

int fr_graph_event_cells(fr_graph_event *ge, const uint64_t *const *bits)
{
    const int C = ge->C, W = E2E_GRID_COLS;
    const uint32_t lo = (uint32_t)ge->grid_row0 * W, hi = lo + (uint32_t)ge->H * W;
    ge->cells.n = 0;
    /* grid cells lo .. hi - 1 in order: those set in some channel's bits (or all); a channel
       is read only where its own bit is set, so that the images, often out of cache by now,
       are read once per written cell rather than once per channel and occupied cell */
    uint64_t cw[E2E_TAGGER_MAX_CHANNELS];
    for (uint32_t wd = lo >> 6; wd <= (hi - 1) >> 6; wd++) {
        uint64_t m = 0;
        for (int c = 0; c < C; c++) {
            cw[c] = bits ? bits[c][wd] : ~(uint64_t)0;
            m |= cw[c];
        }
        while (m) {
            const int bit = __builtin_ctzll(m);
            const uint32_t g = wd * 64 + (uint32_t)bit;
            m &= m - 1;
            if (g < lo || g >= hi)
                continue;
            const uint32_t idx = g - lo;
            if (ge->rows_on && !(ge->rows_on[idx / W] && ge->cols_on[idx % W]))
                continue; /* in no slot's crop */
            float sum = 0, key = 0;
            for (int c = 0; c < C; c++) {
                if (!(cw[c] >> bit & 1))
                    continue;
                const float v = ge->img[c][idx];
                sum += fabsf(v);
                key += fabsf(ge->scale[c] * v); /* the ordering key */
            }
            if (!(sum > ge->threshold))
                continue;
            if (fr_vec_reserve(&ge->cells, 1))
                return -1;
            fr_graph_cand *cd = &FR_AT(ge->cells, fr_graph_cand, ge->cells.n++);
            cd->key = key;
            cd->idx = idx;
        }
    }
    const fr_graph_cand *cells = ge->cells.data;
    size_t k = 0;
    for (int r = 0; r <= ge->H; r++) {
        while (k < ge->cells.n && cells[k].idx < (uint32_t)r * W)
            k++;
        ge->row_first[r] = k;
    }
    return 0;
}

int fr_graph_cloud(const fr_graph_event *ge, int seed_row, int seed_col, int h, int w,
                   size_t cap, fr_vec *cand, float *out, size_t *found, size_t *kept)
{
    *found = *kept = 0;
    cand->n = 0;
    if (seed_row < 0 || seed_col < 0)
        return 0;
    const int C = ge->C, W = E2E_GRID_COLS;
    const int r0 = seed_row - e2e_frame_centre(h);
    const int c0 = ((seed_col - e2e_frame_centre(w)) % W + W) % W;
    const fr_graph_cand *cells = ge->cells.data;
    /* the event's node cells inside the crop: rows r0 .. r0 + h - 1, columns c0 .. c0 + w - 1
       (mod 360) */
    const int ra = r0 < 0 ? 0 : r0, rb = r0 + h > ge->H ? ge->H : r0 + h;
    for (int ir = ra; ir < rb; ir++) {
        const size_t e0 = ge->row_first[ir], e1 = ge->row_first[ir + 1];
        if (e0 == e1)
            continue;
        if (fr_vec_reserve(cand, e1 - e0))
            return -1;
        fr_graph_cand *v = cand->data;
        const uint32_t rowbase = (uint32_t)ir * W, crow = (uint32_t)(ir - r0) * (uint32_t)w;
        for (size_t e = e0; e < e1; e++) {
            int q = (int)(cells[e].idx - rowbase) - c0;
            if (q < 0)
                q += W;
            if (q >= w)
                continue;
            v[cand->n].idx = crow + (uint32_t)q; /* the tie order: (row, col) of the crop */
            v[cand->n].key = cells[e].key;
            cand->n++;
        }
    }
    fr_graph_cand *v = cand->data;
    const size_t n = cand->n;
    const size_t m = n < cap ? n : cap;
    if (m < n)
        select_first(v, n, m);
    if (m > 1) /* v is NULL when the crop had no candidate */
        qsort(v, m, sizeof *v, cmp_cand);
    const double eta0 = e2e_geom_row_eta(seed_row + ge->grid_row0);
    const double phi0 = e2e_geom_col_phi(seed_col);
    for (size_t j = 0; j < m; j++) {
        const int r = (int)(v[j].idx / (uint32_t)w), q = (int)(v[j].idx % (uint32_t)w);
        const int ir = r0 + r, ic = (c0 + q) % W;
        float *o = out + j * (size_t)(2 + C);
        o[0] = (float)(e2e_geom_row_eta(ir + ge->grid_row0) - eta0);
        o[1] = (float)wrap_phi(e2e_geom_col_phi(ic) - phi0);
        const size_t off = (size_t)ir * W + (size_t)ic;
        for (int c = 0; c < C; c++)
            o[2 + c] = ge->scale[c] * ge->img[c][off];
    }
    *found = n;
    *kept = m;
    return 0;
}

void fr_graph_pad(const float *nodes, size_t n_nodes, int C, int P, float *points,
                  float *features, float *mask)
{
    const size_t m = n_nodes < (size_t)P ? n_nodes : (size_t)P;
    for (size_t j = 0; j < m; j++) {
        const float *o = nodes + j * (size_t)(2 + C);
        points[j] = o[0];
        points[P + j] = o[1];
        for (int c = 0; c < C; c++)
            features[(size_t)c * P + j] = o[2 + c];
        mask[j] = 1.0f;
    }
    const size_t pad = (size_t)P - m;
    if (!pad)
        return;
    memset(points + m, 0, pad * sizeof(float));
    memset(points + P + m, 0, pad * sizeof(float));
    for (int c = 0; c < C; c++)
        memset(features + (size_t)c * P + m, 0, pad * sizeof(float));
    memset(mask + m, 0, pad * sizeof(float));
}

void fr_graph_knn(const float *points, int P, int n_real, int k, int64_t *out)
{
    /* for each real node, the k nearest other real nodes by squared (deta, dphi) distance,
       nearest first, equal distances by lower index; places left over (fewer than k other
       nodes) and the rows of padding hold the node's own index */
    for (int i = 0; i < P; i++) {
        int64_t *row = out + (size_t)i * k;
        for (int j = 0; j < k; j++)
            row[j] = i;
        if (i >= n_real)
            continue;
        float bd[FR_GRAPH_MAX_K];
        int bi[FR_GRAPH_MAX_K], nb = 0;
        const float xi = points[i], yi = points[P + i];
        for (int j = 0; j < n_real; j++) {
            if (j == i)
                continue;
            const float dx = points[j] - xi, dy = points[P + j] - yi, d = dx * dx + dy * dy;
            if (nb == k && !(d < bd[k - 1]))
                continue; /* not nearer than the k-th (a tie keeps the lower index) */
            int s = nb < k ? nb++ : k - 1;
            while (s > 0 && d < bd[s - 1]) {
                bd[s] = bd[s - 1];
                bi[s] = bi[s - 1];
                s--;
            }
            bd[s] = d;
            bi[s] = j;
        }
        for (int j = 0; j < nb; j++)
            row[j] = bi[j];
    }
}
