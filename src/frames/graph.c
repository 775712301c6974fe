/* Graph frames: the point cloud of one seed, built the way the E2E group's GNNs build it
   (docs/graph-frames.md): the cells of the tagger's crop whose summed |channels| exceed a
   threshold are the nodes; a node carries its (deta, dphi) to the seed cell and its scaled
   channel values; nodes are ordered by scaled magnitude and truncated at P. Also the
   padding into the ParticleNet layout and the kNN edge list. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The order of nodes (larger key first; equal keys by crop index, row-major, ascending) as
   one integer, larger = earlier: the key's bits above the complemented index. A key is a sum
   of |values| that passed "sum > threshold", so it is >= +0 and never NaN, and its bits order
   as the floats do. The order is total (indices differ), so any correct selection and sort
   give the same nodes in the same order. */
static uint64_t order_of(float key, uint32_t idx)
{
    uint32_t b;
    memcpy(&b, &key, sizeof b);
    return (uint64_t)b << 32 | (uint32_t)~idx;
}

/* The first of the runs cells[lo .. hi) (sorted by idx, disjoint) with idx >= x (last = 0)
   or that ends after x (last = 1: idx + n > x); hi when none. Halving without a
   data-dependent branch (a conditional move), as the outcomes are unpredictable. */
static inline uint32_t lower_run(const fr_graph_cand *cells, uint32_t lo, uint32_t hi,
                                 uint32_t x, int last)
{
    uint32_t n = hi - lo;
    if (!n)
        return lo;
    const fr_graph_cand *b = cells + lo;
    x += (uint32_t)last; /* idx + n > x: idx + n - 1 >= x */
    const uint32_t d = last ? 1 : 0;
    while (n > 1) {
        const uint32_t half = n / 2;
        b = b[half].idx + (b[half].n & -d) < x ? b + half : b;
        n -= half;
    }
    return (uint32_t)(b - cells) + (b->idx + (b->n & -d) < x);
}

/* Appends n cells from image index idx with key to the runs cells[0 .. nc): extends the
   last run where they follow it on its row with the same key bits. The new count. */
static inline size_t put_run(fr_graph_cand *cells, size_t nc, float key, uint32_t idx,
                             uint32_t n)
{
    if (nc) {
        fr_graph_cand *p = cells + nc - 1;
        uint32_t a, b;
        memcpy(&a, &p->key, sizeof a);
        memcpy(&b, &key, sizeof b);
        if (p->idx + p->n == idx && a == b && idx % E2E_GRID_COLS) {
            p->n += n;
            return nc;
        }
    }
    cells[nc].key = key;
    cells[nc].idx = idx;
    cells[nc].n = n;
    return nc + 1;
}

/* Orders v[0 .. n) earliest first (larger order value first): a quicksort, median of three,
   insertion sort below 16. */
static void sort_desc(uint64_t *v, size_t n)
{
    while (n > 16) {
        uint64_t a = v[0], b = v[n / 2], c = v[n - 1];
        const uint64_t piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare partition: v[0 .. i) >= piv, v(j .. n) <= piv */
            while (v[i] > piv)
                i++;
            while (v[j] < piv)
                j--;
            if (i >= j)
                break;
            const uint64_t t = v[i];
            v[i++] = v[j];
            v[j--] = t;
        }
        /* the smaller side by recursion, the larger by the loop */
        if (j + 1 < n - j - 1) {
            sort_desc(v, j + 1);
            v += j + 1;
            n -= j + 1;
        } else {
            sort_desc(v + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        const uint64_t x = v[i];
        size_t k = i;
        for (; k > 0 && v[k - 1] < x; k--)
            v[k] = v[k - 1];
        v[k] = x;
    }
}

/* Moves the m earliest of v[0 .. n) to v[0 .. m) (any order among them), m < n. */
static void select_desc(uint64_t *v, size_t n, size_t m)
{
    size_t lo = 0, hi = n; /* the m-th boundary lies in v[lo .. hi) */
    while (hi - lo > 1) {
        uint64_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        const uint64_t piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        /* three-way: [lo, p) > piv, [p, q) == piv, [q, hi) < piv */
        size_t p = lo, i = lo, q = hi;
        while (i < q) {
            const uint64_t x = v[i];
            if (x > piv) {
                v[i++] = v[p];
                v[p++] = x;
            } else if (x < piv) {
                v[i] = v[--q];
                v[q] = x;
            } else
                i++;
        }
        if (m < p)
            hi = p;
        else if (m > q)
            lo = q;
        else
            return;
    }
}

static double wrap_phi(double d)
{
    if (!(fabs(d) < 2 * M_PI)) /* fmod returns any smaller d itself, exactly */
        d = fmod(d, 2 * M_PI);
    if (d > M_PI)
        d -= 2 * M_PI;
    else if (d < -M_PI)
        d += 2 * M_PI;
    return d;
}

/* len (1 .. 64) bits of the bit array b from bit pos, as the low bits of a word (b has a
   word of padding). */
static uint64_t bits_at(const uint64_t *b, uint32_t pos, uint32_t len)
{
    const uint32_t w = pos >> 6, s = pos & 63;
    uint64_t v = b[w] >> s;
    if (s)
        v |= b[w + 1] << (64 - s);
    return len == 64 ? v : v & (((uint64_t)1 << len) - 1);
}

/* The cells gc .. gc + len - 1 of grid row gr that are in ge's image and some crop, as the
   low bits of a word. */
static uint64_t covered(const fr_graph_event *ge, uint32_t gr, uint32_t gc, uint32_t len)
{
    const int r = (int)gr - ge->grid_row0;
    if (r < 0 || r >= ge->H)
        return 0;
    if (!ge->row_cols)
        return len == 64 ? ~(uint64_t)0 : ((uint64_t)1 << len) - 1;
    return bits_at(ge->row_cols[r], gc, len);
}

/* HBHE at bit of a word of grid cells that starts at column gc of a row whose tower row is
   tw0 and holds len of the word's cells, the rest on the next row (tower row tw1). */
static inline float hbhe_at(const float *tw0, const float *tw1, uint32_t gc, uint32_t len,
                            int bit)
{
    const uint32_t b = (uint32_t)bit;
    return b < len ? tw0[(gc + b) / 5] : tw1[(b - len) / 5];
}

int fr_graph_event_cells(fr_graph_event *ge, const uint64_t *const *bits)
{
    const int C = ge->C, W = E2E_GRID_COLS;
    const uint32_t lo = (uint32_t)ge->grid_row0 * W, hi = lo + (uint32_t)ge->H * W;
    /* the words of the rows that some crop covers, [wlo, whi) */
    uint32_t wlo = lo >> 6, whi = ((hi - 1) >> 6) + 1;
    if (ge->row_cols) {
        const uint32_t a = lo + (uint32_t)ge->row_lo * W, b = lo + (uint32_t)ge->row_hi * W;
        wlo = a >> 6;
        whi = ge->row_hi > ge->row_lo ? ((b - 1) >> 6) + 1 : wlo;
    }
    /* locals: the compiler cannot tell that the stores into cells leave these alone */
    const float *img[E2E_TAGGER_MAX_CHANNELS];
    float scale[E2E_TAGGER_MAX_CHANNELS];
    for (int c = 0; c < C; c++) {
        img[c] = ge->img[c];
        scale[c] = ge->scale[c];
    }
    const float threshold = ge->threshold;
    /* HBHE from the towers (only with the occupancy bits) */
    const float *hbhe = bits ? ge->hbhe : NULL;
    const int hbhe_c = hbhe ? ge->hbhe_c : -1;
    ge->cells.n = 0;
    ge->bits = bits;
    size_t nc = 0; /* runs so far (ge->cells.n at the end) */
    /* grid cells lo .. hi - 1 in order: those set in some channel's bits (or all); a channel
       is read only where its own bit is set, so that the images, often out of cache by now,
       are read once per written cell rather than once per channel and occupied cell. One
       64-cell word at a time, one channel at a time: each channel's set cells add into the
       word's sums, in channel order per cell as a loop over the channels per cell would (the
       same float sums), without a branch per cell and channel on whether it is set. */
    float wsum[64] = {0}, wkey[64] = {0};
    uint64_t cw[E2E_TAGGER_MAX_CHANNELS];
    for (uint32_t wd = wlo; wd < whi; wd++) {
        /* the word's cells inside the image and some slot's crop: a word spans at most two
           grid rows (64 < 360 columns) */
        const uint32_t g0 = wd * 64, gr = g0 / W, gc = g0 % W;
        const uint32_t len = W - gc < 64 ? W - gc : 64;
        uint64_t keep = covered(ge, gr, gc, len);
        if (len < 64)
            keep |= covered(ge, gr + 1, 0, 64 - len) << len;
        if (!keep)
            continue;
        uint64_t m = 0;
        for (int c = 0; c < C; c++) {
            if (c == hbhe_c) { /* the written towers' columns in the word's rows */
                cw[c] = bits_at(ge->hbhe_rows[gr / 5], gc, len);
                if (len < 64 && gr + 1 < E2E_GRID_ROWS)
                    cw[c] |= bits_at(ge->hbhe_rows[(gr + 1) / 5], 0, 64 - len) << len;
            } else
                cw[c] = bits ? bits[c][wd] : ~(uint64_t)0;
            m |= cw[c];
        }
        keep &= m;
        if (!keep)
            continue;
        /* the word's cell bit is image index base + bit (base < 0 in the first word of the
           EB view; such cells are not in keep) */
        const int64_t base = (int64_t)wd * 64 - lo;
        /* room for the word's cells at once (not one reserve per cell) */
        ge->cells.n = nc;
        if (fr_vec_reserve(&ge->cells, (size_t)__builtin_popcountll(keep)))
            return -1;
        fr_graph_cand *out = ge->cells.data;
        /* mix: the cells whose channels add up; with HBHE from the towers, those where
           another channel was written. The others (keep & ~mix) hold HBHE alone: sum |v|
           and key |scale v| (0 + x, as the sums over the channels give), from the tower,
           taken as runs of a tower's adjacent cells on a row (5 at most) */
        uint64_t mix = keep;
        const float *tw0 = NULL, *tw1 = NULL;
        float hsc = 0;
        if (hbhe_c >= 0) {
            mix = 0;
            for (int c = 0; c < C; c++)
                mix |= c == hbhe_c ? 0 : cw[c];
            mix &= keep;
            tw0 = hbhe + gr / 5 * E2E_HCAL_COLS;
            tw1 = gr + 1 < E2E_GRID_ROWS ? hbhe + (gr + 1) / 5 * E2E_HCAL_COLS : tw0;
            hsc = scale[hbhe_c];
        }
        for (int c = 0; c < C && mix; c++) {
            const float *im = img[c], sc = scale[c];
            if (c == hbhe_c) {
                for (uint64_t t = cw[c] & mix; t; t &= t - 1) {
                    const int bit = __builtin_ctzll(t);
                    const float v = hbhe_at(tw0, tw1, gc, len, bit);
                    wsum[bit] += fabsf(v);
                    wkey[bit] += fabsf(sc * v);
                }
                continue;
            }
            for (uint64_t t = cw[c] & mix; t; t &= t - 1) {
                const int bit = __builtin_ctzll(t);
                const float v = im[base + bit];
                wsum[bit] += fabsf(v);
                wkey[bit] += fabsf(sc * v); /* the ordering key */
            }
        }
        const uint64_t alone = keep & ~mix;
        for (uint64_t t = keep; t;) {
            const uint32_t bit = (uint32_t)__builtin_ctzll(t);
            if (mix >> bit & 1) {
                t &= t - 1;
                const float sum = wsum[bit], key = wkey[bit];
                wsum[bit] = wkey[bit] = 0;
                if (sum > threshold)
                    nc = put_run(out, nc, key, (uint32_t)(base + bit), 1);
                continue;
            }
            /* HBHE alone from bit to the first cell that is not, or the tower's end (the
               bit after its last column in the word; W is 72 towers) */
            uint32_t end = bit < len ? (gc + bit) / 5 * 5 + 5 - gc : len + (bit - len) / 5 * 5 + 5;
            if (bit < len && end > len)
                end = len;
            if (end > 64)
                end = 64;
            const uint64_t ones = ~(alone >> bit); /* the cells alone from bit: its low zeros */
            const uint32_t stop = ones ? bit + (uint32_t)__builtin_ctzll(ones) : 64;
            const uint32_t last = stop < end ? stop : end;
            t = last == 64 ? 0 : t & ~(uint64_t)0 << last;
            const float v = hbhe_at(tw0, tw1, gc, len, (int)bit);
            if (fabsf(v) > threshold)
                nc = put_run(out, nc, fabsf(hsc * v), (uint32_t)(base + bit), last - bit);
        }
    }
    ge->cells.n = nc;
    const fr_graph_cand *cells = ge->cells.data;
    size_t k = 0;
    for (int r = 0; r <= ge->H; r++) {
        while (k < ge->cells.n && cells[k].idx < (uint32_t)r * W)
            k++;
        ge->row_first[r] = k;
    }
    return 0;
}

/* The value of channel c at grid cell g (image index off) for a derived list's own cells:
   read only where the channel was written (HBHE from the towers where ge takes them), +0
   elsewhere, as the image holds. */
static inline float cell_value(const fr_graph_event *ge, int c, uint32_t g, int64_t off)
{
    if (ge->hbhe && c == ge->hbhe_c) {
        const uint32_t gr = g / E2E_GRID_COLS, gc = g % E2E_GRID_COLS;
        return ge->hbhe_rows[gr / 5][gc >> 6] >> (gc & 63) & 1
                   ? ge->hbhe[gr / 5 * E2E_HCAL_COLS + gc / 5] : 0.0f;
    }
    return ge->bits[c][g >> 6] >> (g & 63) & 1 ? ge->img[c][off] : 0.0f;
}

/* Appends src's runs k .. j - 1 to out[0 .. nc), the first from its cell pos on (put_run:
   it may join what precedes), the others as they are (src's maximal runs do not join each
   other, nor a run's tail the next). The new count. */
static size_t copy_runs(fr_graph_cand *out, size_t nc, const fr_graph_cand *s, size_t k,
                        size_t j, uint32_t pos)
{
    if (k >= j)
        return nc;
    nc = put_run(out, nc, s[k].key, pos, s[k].idx + s[k].n - pos);
    memcpy(out + nc, s + k + 1, (j - k - 1) * sizeof *s);
    return nc + (j - k - 1);
}

int fr_graph_event_derive(fr_graph_event *ge, const fr_graph_event *src)
{
    const int C = ge->C, C0 = src->C, W = E2E_GRID_COLS;
    const uint32_t lo = (uint32_t)ge->grid_row0 * W;
    const uint32_t a = lo + (uint32_t)ge->row_lo * W, b = lo + (uint32_t)ge->row_hi * W;
    const uint32_t wlo = a >> 6, whi = ge->row_hi > ge->row_lo ? ((b - 1) >> 6) + 1 : wlo;
    /* 1. the crops' cells where one of the extra channels (C0 ..) was written, in order */
    ge->fresh.n = 0;
    for (uint32_t wd = wlo; wd < whi && C0 < C; wd++) {
        uint64_t e = 0;
        for (int c = C0; c < C; c++)
            e |= ge->bits[c][wd];
        if (!e)
            continue;
        const uint32_t g0 = wd * 64, gr = g0 / W, gc = g0 % W;
        const uint32_t len = W - gc < 64 ? W - gc : 64;
        uint64_t keep = covered(ge, gr, gc, len);
        if (len < 64)
            keep |= covered(ge, gr + 1, 0, 64 - len) << len;
        e &= keep;
        if (!e)
            continue;
        if (fr_vec_reserve(&ge->fresh, (size_t)__builtin_popcountll(e)))
            return -1;
        fr_graph_cand *fo = ge->fresh.data;
        for (; e; e &= e - 1)
            fo[ge->fresh.n++].idx = (uint32_t)((int64_t)g0 + __builtin_ctzll(e) - lo);
    }
    /* 2. src's runs on ge's rows as they are, but at those cells: there the sum and key go
       on from src's (a cell of src's list: its key is the sum of the first C0 channels'
       |scaled value|, and its sum passed the threshold, so the larger one does) or are
       summed over every channel (not in src's list), in channel order as
       fr_graph_event_cells sums them. Elsewhere an extra channel adds +0: src's key and
       sum. src's cells outside ge's crops stay (its clouds never look there). */
    const fr_graph_cand *s = src->cells.data, *fr = ge->fresh.data;
    const size_t *rf = src->row_first;
    const size_t nf = ge->fresh.n, kend = rf[ge->row_hi];
    size_t k = rf[ge->row_lo], nc = 0;
    uint32_t pos = k < kend ? s[k].idx : 0; /* the first cell of run k not yet out */
    ge->cells.n = 0;
    if (fr_vec_reserve(&ge->cells, kend - k + 2 * nf))
        return -1;
    fr_graph_cand *out = ge->cells.data;
    for (size_t f = 0; f < nf; f++) {
        const uint32_t x = fr[f].idx, r = x / W;
        const size_t k0 = k > rf[r] ? k : rf[r];
        const size_t j = lower_run(s, (uint32_t)k0, (uint32_t)rf[r + 1], x, 1);
        nc = copy_runs(out, nc, s, k, j, pos);
        if (j > k) {
            k = j;
            pos = k < kend ? s[k].idx : 0;
        }
        const uint32_t g = x + lo;
        float sum = 0, key = 0;
        const int in_src = k < kend && s[k].idx <= x;
        if (in_src) { /* x is in run k: its cells pos .. x - 1 first */
            if (pos < x)
                nc = put_run(out, nc, s[k].key, pos, x - pos);
            key = s[k].key;
            for (int c = C0; c < C; c++) {
                const float v = cell_value(ge, c, g, x);
                sum += fabsf(v);
                key += fabsf(ge->scale[c] * v);
            }
            if (!isnan(sum)) /* src's sum plus these: above the threshold unless NaN */
                nc = put_run(out, nc, key, x, 1);
            pos = x + 1;
            if (pos == s[k].idx + s[k].n && ++k < kend)
                pos = s[k].idx;
        } else {
            for (int c = 0; c < C; c++) {
                const float v = cell_value(ge, c, g, x);
                sum += fabsf(v);
                key += fabsf(ge->scale[c] * v);
            }
            if (sum > ge->threshold)
                nc = put_run(out, nc, key, x, 1);
        }
    }
    nc = copy_runs(out, nc, s, k, kend, pos);
    ge->cells.n = nc;
    size_t q = 0;
    for (int r = 0; r <= ge->H; r++) {
        while (q < nc && out[q].idx < (uint32_t)r * W)
            q++;
        ge->row_first[r] = q;
    }
    return 0;
}

int fr_graph_cloud(fr_graph_event *ge, int seed_row, int seed_col, int h, int w,
                   size_t cap, fr_vec *heap, float *out, size_t *found, size_t *kept)
{
    *found = *kept = 0;
    if (seed_row < 0 || seed_col < 0)
        return 0;
    const int C = ge->C, W = E2E_GRID_COLS;
    const int r0 = seed_row - e2e_frame_centre(h);
    const int c0 = ((seed_col - e2e_frame_centre(w)) % W + W) % W;
    const fr_graph_cand *cells = ge->cells.data;
    /* the event's node cells inside the crop: rows r0 .. r0 + h - 1, columns c0 .. c0 + w - 1
       (mod 360). Two passes: the first counts them per key bin, which gives the bin B of the
       cap-th node (every node above B kept, those in B decided by their order); the second
       collects the kept ones as order values, then a sort (and, within B, a selection). */
    uint32_t *hist = ge->hist; /* zero outside the call: the bins used are cleared at the end */
    size_t n = 0;
    uint32_t top = 0, bot = FR_BINS - 1;
    const int ra = r0 < 0 ? 0 : r0, rb = r0 + h > ge->H ? ge->H : r0 + h;
    /* a row's cells of the crop: columns wa .. wb - 1, and 0 .. wrap - 1 where the window
       wraps around phi (columns c0 .. 359 and 0 .. c0 + w - 361). Every run of the row is
       cut to both without a branch (a run outside them counts 0): no search of the row's
       runs for the window's ends, whose outcomes and lengths a branch cannot predict. */
    const int32_t wa = c0, wb = c0 + w > W ? W : c0 + w, wrap = c0 + w > W ? c0 + w - W : 0;
    uint32_t *row_top = ge->row_top;
    /* the scratch lines this call reads, likely out of cache after the previous event's
       inference, asked for at once rather than missed one after the other: the bins of keys
       2^-16 .. 2^16, the rows' highest bins, the crop's geometry, the kept nodes' order values */
    for (uint32_t b = 0x37800000u >> FR_BIN_SHIFT; b < 0x47800000u >> FR_BIN_SHIFT; b += 16)
        __builtin_prefetch(hist + b, 1);
    for (int ir = ra; ir < rb; ir += 16)
        __builtin_prefetch(row_top + (ir - ra), 1);
    for (int ir = ra; ir < rb; ir += 8)
        __builtin_prefetch(ge->row_eta + ge->grid_row0 + ir, 0);
    for (int q = 0; q < w; q += 8)
        __builtin_prefetch(ge->col_phi + (c0 + q) % W, 0);
    for (size_t j = 0; heap->data && j < cap && j < heap->cap; j += 8)
        __builtin_prefetch((uint64_t *)heap->data + j, 1);
    for (int ir = ra; ir < rb; ir++) {
        const size_t e0 = ge->row_first[ir], e1 = ge->row_first[ir + 1];
        const int32_t rowbase = ir * W;
        uint32_t rtop = 0;
        for (size_t e = e0; e < e1; e++) {
            const int32_t c = (int32_t)cells[e].idx - rowbase, z = c + (int32_t)cells[e].n;
            const int32_t a0 = c > wa ? c : wa, z0 = z < wb ? z : wb, z1 = z < wrap ? z : wrap;
            const uint32_t k = (uint32_t)(z0 > a0 ? z0 - a0 : 0) + (uint32_t)(z1 > c ? z1 - c : 0);
            uint32_t kb;
            memcpy(&kb, &cells[e].key, sizeof kb);
            kb >>= FR_BIN_SHIFT;
            /* a run that counts 0 adds 0 to bin 0 and leaves top, bot and rtop alone */
            const uint32_t kt = k ? kb : 0, kl = k ? kb : FR_BINS - 1;
            hist[kt] += k;
            top = kt > top ? kt : top;
            bot = kl < bot ? kl : bot;
            rtop = kt > rtop ? kt : rtop;
            n += k;
        }
        row_top[ir - ra] = rtop;
    }
    const size_t m = n < cap ? n : cap;
    /* B: all of bins above B hold fewer than m nodes, with B at least m */
    int64_t bin_b = -1;
    size_t above = 0;
    if (m < n) {
        for (int64_t b = top; b >= 0; b--) {
            if (above + hist[b] >= m) {
                bin_b = b;
                break;
            }
            above += hist[b];
        }
    }
    const size_t in_b = bin_b >= 0 ? hist[bin_b] : 0;
    /* the nodes above B are collected by bin, highest first (a counting sort: hist[b]
       becomes bin b's place in kv), so that only each bin's few nodes need sorting */
    const uint32_t kept_lo = bin_b >= 0 ? (uint32_t)bin_b + 1 : bot;
    uint32_t at = 0;
    for (uint32_t b = top + 1; n && b-- > kept_lo;) {
        const uint32_t c = hist[b];
        hist[b] = at;
        at += c;
    }
    heap->n = 0;
    if (fr_vec_reserve(heap, m + in_b))
        return -1;
    uint64_t *kv = heap->data, *tv = kv + m; /* kept above B; those in B */
    size_t nk = at, nt = 0;
    for (int ir = ra; ir < rb && n; ir++) {
        if ((int64_t)row_top[ir - ra] < bin_b) /* none of the row's cells is kept */
            continue;
        /* the crop cell (r, q) as r << 9 | q (w <= 360): ordered as (r, q), i.e. as the crop
           index r * w + q, and taken apart without a division */
        const size_t e0 = ge->row_first[ir], e1 = ge->row_first[ir + 1];
        const int32_t rowbase = ir * W;
        const uint32_t crow = (uint32_t)(ir - r0) << 9;
        for (size_t e = e0; e < e1; e++) {
            uint32_t kb;
            memcpy(&kb, &cells[e].key, sizeof kb);
            const int64_t b = kb >> FR_BIN_SHIFT;
            if (b < bin_b)
                continue;
            const int32_t c = (int32_t)cells[e].idx - rowbase, z = c + (int32_t)cells[e].n;
            const int32_t a0 = c > wa ? c : wa, z0 = z < wb ? z : wb, z1 = z < wrap ? z : wrap;
            const int32_t k0 = z0 > a0 ? z0 - a0 : 0, k1 = z1 > c ? z1 - c : 0;
            if (!(k0 + k1))
                continue;
            /* the tie order: (row, col) of the crop */
            uint64_t *dst;
            if (b > bin_b) {
                dst = kv + hist[b];
                hist[b] += (uint32_t)(k0 + k1);
            } else {
                dst = tv + nt;
                nt += (size_t)(k0 + k1);
            }
            /* the crop column of image column x is x - c0, and x + W - c0 in the wrapped part */
            for (int32_t x = a0; x < a0 + k0; x++)
                *dst++ = order_of(cells[e].key, crow | (uint32_t)(x - c0));
            for (int32_t x = c; x < c + k1; x++)
                *dst++ = order_of(cells[e].key, crow | (uint32_t)(x + W - c0));
        }
    }
    for (uint32_t b = top + 1, from = 0; n && b-- > kept_lo;) { /* each bin's nodes */
        sort_desc(kv + from, hist[b] - from);
        from = hist[b];
    }
    if (n)
        memset(hist + bot, 0, (top - bot + 1) * sizeof *hist);
    if (nk < m) { /* the earliest m - nk of bin B, after those above */
        if (nt > m - nk)
            select_desc(tv, nt, m - nk);
        sort_desc(tv, m - nk);
        memmove(kv + nk, tv, (m - nk) * sizeof *kv);
    }
    const uint64_t *hp = kv;
    if (!ge->geom_ready) { /* the geometry's values, looked up per node */
        for (int r = 0; r < E2E_GRID_ROWS; r++)
            ge->row_eta[r] = e2e_geom_row_eta(r);
        for (int c = 0; c < E2E_GRID_COLS; c++)
            ge->col_phi[c] = e2e_geom_col_phi(c);
        ge->geom_ready = 1;
    }
    const double *row_eta = ge->row_eta + ge->grid_row0, *col_phi = ge->col_phi;
    const double eta0 = e2e_geom_row_eta(seed_row + ge->grid_row0);
    const double phi0 = e2e_geom_col_phi(seed_col);
    /* where a node's channel c is read: the image, or with the occupancy bits only where c's
       bit is set; elsewhere the image holds +0, taken from `zero` instead, so that the cell's
       line, likely out of cache, is not read; the address is chosen by a mask rather than a
       branch per node and channel on the bit (set about a third of the time, so the branch
       mispredicts). Locals: the stores into out could alias ge's fields. */
    const float zero = 0.0f;
    const float *img[E2E_TAGGER_MAX_CHANNELS], *const hbhe = ge->bits ? ge->hbhe : NULL;
    const uint64_t *bit[E2E_TAGGER_MAX_CHANNELS];
    float scale[E2E_TAGGER_MAX_CHANNELS];
    const int hbhe_c = hbhe ? ge->hbhe_c : -1;
    const uint64_t(*hbhe_rows)[FR_HROW_WORDS] = ge->hbhe_rows;
    for (int c = 0; c < C; c++) {
        img[c] = ge->img[c];
        bit[c] = ge->bits ? ge->bits[c] : NULL;
        scale[c] = ge->scale[c];
    }
    const uint32_t g0 = (uint32_t)ge->grid_row0 * W;
    for (size_t j = 0; j < m; j++) {
        const uint32_t ci = ~(uint32_t)hp[j];
        const int r = (int)(ci >> 9), q = (int)(ci & 511);
        const int ir = r0 + r, ic = (c0 + q) % W;
        float *o = out + j * (size_t)(2 + C);
        o[0] = (float)(row_eta[ir] - eta0);
        o[1] = (float)wrap_phi(col_phi[ic] - phi0);
        const uint32_t off = (uint32_t)ir * W + (uint32_t)ic, g = off + g0;
        const uint32_t tr = (uint32_t)(ir + ge->grid_row0) / 5; /* HBHE: the tower row */
        for (int c = 0; c < C; c++) {
            uintptr_t p, set;
            if (c == hbhe_c) { /* from the towers */
                p = (uintptr_t)(hbhe + tr * E2E_HCAL_COLS + (uint32_t)ic / 5);
                set = hbhe_rows[tr][(uint32_t)ic >> 6] >> (ic & 63) & 1;
            } else {
                p = (uintptr_t)(img[c] + off);
                set = bit[c] ? bit[c][g >> 6] >> (g & 63) & 1 : 1;
            }
            set = -set;
            __asm__("" : "+r"(set)); /* a select, not a branch the compiler makes of it */
            o[2 + c] = scale[c] * *(const float *)((p & set) | ((uintptr_t)&zero & ~set));
        }
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
