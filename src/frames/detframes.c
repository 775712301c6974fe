/* DetFrames: the event's channel images on the 280 x 360 grid (reference DetFrameProducer,
   intended behaviour). Images are allocated once; each build clears only the cells the
   previous event wrote (a list of touched indices per channel) instead of memset-ing the
   whole 280 x 360 image of every channel. */
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "frames/frames_internal.h"

#define NCELL (E2E_GRID_ROWS * E2E_GRID_COLS)
#define NTOWER (E2E_HCAL_ROWS * E2E_HCAL_COLS)
#define D1_ROWS (2 * E2E_HCAL_IETA_MAX + 1)

struct e2e_detframes {
    e2e_detframes_options opt;
    float *img[E2E_CH_COUNT];   /* NCELL floats each, NULL when not built */
    void *block;                /* the images, in one mapping of block_bytes */
    size_t block_bytes;
    fr_vec touched[E2E_CH_COUNT];
    float *towers;              /* HBHE 56 x 72, depth sum */
    fr_vec towers_touched;
    float depth1[D1_ROWS * E2E_HCAL_COLS]; /* depth-1 rechit energy by (ieta + 29, iphi - 1) */
    unsigned char d1_has[D1_ROWS * E2E_HCAL_COLS]; /* 1 where the tower has a depth-1 rechit */
    fr_vec d1_touched;
    int oom;                    /* a touched list could not grow: clear everything next time */
    uint64_t generation;        /* builds so far */
};

e2e_detframes_options e2e_detframes_options_default(void)
{
    e2e_detframes_options o;
    o.channels = (E2E_CHANNEL_BIT(E2E_CH_COUNT) - 1);
    o.z0_pv_cut = 0.1f;
    o.tracker_proj = 1;
    return o;
}

void e2e_detframes_free(e2e_detframes *df)
{
    if (!df)
        return;
    for (int c = 0; c < E2E_CH_COUNT; c++) {
        fr_vec_free(&df->touched[c]);
    }
    if (df->block)
        munmap(df->block, df->block_bytes);
    free(df->towers);
    fr_vec_free(&df->towers_touched);
    fr_vec_free(&df->d1_touched);
    free(df);
}

e2e_status e2e_detframes_create(const e2e_detframes_options *opt, e2e_detframes **out,
                                e2e_error *err)
{
    *out = NULL;
    e2e_detframes_options o = opt ? *opt : e2e_detframes_options_default();
    if (o.channels >> E2E_CH_COUNT)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "DetFrames: channel mask has unknown bits");
    if (!(o.z0_pv_cut > 0))
        return e2e_fail(err, E2E_ERR_ARGUMENT, "DetFrames: z0PVCut %g must be > 0",
                       (double)o.z0_pv_cut);
    if (o.tracker_proj != 0 && o.tracker_proj != 1)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "DetFrames: tracker projection must be 0 or 1");
    e2e_detframes *df = calloc(1, sizeof *df);
    if (!df)
        return e2e_fail(err, E2E_ERR_NOMEM, "DetFrames: out of memory");
    df->opt = o;
    for (int c = 0; c < E2E_CH_COUNT; c++) {
        fr_vec_init(&df->touched[c], sizeof(uint32_t));
    }
    /* the images in one anonymous mapping, advised onto 2 MB pages where the system gives
       them: a frame's and a graph frame's scattered reads then miss the TLB far less. Written
       through here, so that the first build does not take the pages' first touches (0.9 to
       1.4 ms of its CPU time on a virtual machine, at times 10 ms when the hypervisor had
       not backed the pages yet) */
    size_t nimg = 0;
    for (int c = 0; c < E2E_CH_COUNT; c++)
        nimg += (o.channels & E2E_CHANNEL_BIT(c)) != 0;
    if (nimg) {
        /* whole 2 MB pages, and 2 MB more to start them on a 2 MB boundary (the rest is
           never touched) */
        const size_t huge = (size_t)2 << 20;
        const size_t bytes = (nimg * NCELL * sizeof(float) + huge - 1) / huge * huge + huge;
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            e2e_detframes_free(df);
            return e2e_fail(err, E2E_ERR_NOMEM, "DetFrames: out of memory");
        }
        df->block = p;
        df->block_bytes = bytes;
        float *img = (float *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
        madvise(img, bytes - huge, MADV_HUGEPAGE);
#endif
        memset(img, 0, nimg * NCELL * sizeof(float));
        size_t k = 0;
        for (int c = 0; c < E2E_CH_COUNT; c++)
            if (o.channels & E2E_CHANNEL_BIT(c))
                df->img[c] = img + k++ * NCELL;
    }
    fr_vec_init(&df->towers_touched, sizeof(uint32_t));
    fr_vec_init(&df->d1_touched, sizeof(uint32_t));
    if (o.channels & E2E_CHANNEL_BIT(E2E_CH_HBHE)) {
        df->towers = calloc(NTOWER, sizeof(float));
        if (!df->towers) {
            e2e_detframes_free(df);
            return e2e_fail(err, E2E_ERR_NOMEM, "DetFrames: out of memory");
        }
    }
    *out = df;
    return E2E_OK;
}

const float *e2e_detframes_channel(const e2e_detframes *df, e2e_channel c)
{
    return (unsigned)c < E2E_CH_COUNT ? df->img[c] : NULL;
}

const float *e2e_detframes_eb(const e2e_detframes *df)
{
    return df->img[E2E_CH_ECAL] ? df->img[E2E_CH_ECAL] + E2E_EB_ROW0 * E2E_GRID_COLS : NULL;
}

const float *e2e_detframes_hbhe_towers(const e2e_detframes *df) { return df->towers; }

int fr_detframes_occupied(const e2e_detframes *df, uint64_t channels, uint64_t *bits,
                          uint32_t w0, uint32_t w1)
{
    if (df->oom)
        return -1; /* a touched list is incomplete this event */
    for (int c = 0; c < E2E_CH_COUNT; c++) {
        if (!(channels & E2E_CHANNEL_BIT(c)) || !df->img[c])
            continue;
        if (c == E2E_CH_HBHE) { /* the 5 x 5 block of each touched tower */
            const uint32_t *t = df->towers_touched.data;
            for (size_t i = 0; i < df->towers_touched.n; i++) {
                uint32_t r = t[i] / E2E_HCAL_COLS, col = t[i] % E2E_HCAL_COLS;
                for (uint32_t a = 0; a < 5; a++) { /* 5 bits of a row at once */
                    const uint32_t idx = (r * 5 + a) * E2E_GRID_COLS + col * 5, s = idx & 63;
                    const uint32_t w = idx >> 6;
                    if (w - w0 < w1 - w0)
                        bits[w] |= (uint64_t)0x1f << s;
                    if (s > 59 && w + 1 - w0 < w1 - w0) /* the row's last bits in the next word */
                        bits[w + 1] |= (uint64_t)0x1f >> (64 - s);
                }
            }
            continue;
        }
        const uint32_t *t = df->touched[c].data;
        for (size_t i = 0; i < df->touched[c].n; i++)
            if ((t[i] >> 6) - w0 < w1 - w0)
                bits[t[i] >> 6] |= (uint64_t)1 << (t[i] & 63);
    }
    return 0;
}

int fr_detframes_hbhe_cells(const e2e_detframes *df, float *cell,
                            uint64_t (*rows)[FR_HROW_WORDS])
{
    if (df->oom || !df->towers)
        return -1; /* the touched towers are not all listed (nor then upsampled) */
    const uint32_t *t = df->towers_touched.data;
    for (size_t i = 0; i < df->towers_touched.n; i++) {
        const uint32_t r = t[i] / E2E_HCAL_COLS, idx = t[i] % E2E_HCAL_COLS * 5, s = idx & 63;
        cell[t[i]] = fr_hbhe_cell(df->towers[t[i]]);
        rows[r][idx >> 6] |= (uint64_t)0x1f << s;
        if (s > 59)
            rows[r][(idx >> 6) + 1] |= (uint64_t)0x1f >> (64 - s);
    }
    return 0;
}

uint64_t fr_detframes_generation(const e2e_detframes *df) { return df->generation; }


int fr_detframes_cells(const e2e_detframes *df, e2e_channel c, fr_cells *out)
{
    if (df->oom || (unsigned)c >= E2E_CH_COUNT || !df->img[c])
        return -1;
    const fr_vec *v = c == E2E_CH_HBHE ? &df->towers_touched : &df->touched[c];
    out->idx = v->data;
    out->n = v->n;
    out->blocks = c == E2E_CH_HBHE;
    return 0;
}

float e2e_detframes_depth1(const e2e_detframes *df, int ieta, int iphi)
{
    if (ieta < -E2E_HCAL_IETA_MAX || ieta > E2E_HCAL_IETA_MAX || ieta == 0 || iphi < 1 ||
        iphi > E2E_HCAL_COLS)
        return 0;
    return df->depth1[(ieta + E2E_HCAL_IETA_MAX) * E2E_HCAL_COLS + iphi - 1];
}

int e2e_detframes_depth1_find(const e2e_detframes *df, int ieta, int iphi, float *energy)
{
    *energy = 0;
    if (ieta < -E2E_HCAL_IETA_MAX || ieta > E2E_HCAL_IETA_MAX || ieta == 0 || iphi < 1 ||
        iphi > E2E_HCAL_COLS)
        return 0;
    size_t idx = (size_t)(ieta + E2E_HCAL_IETA_MAX) * E2E_HCAL_COLS + (size_t)iphi - 1;
    *energy = df->depth1[idx];
    return df->d1_has[idx];
}

/* Remembers a written index; on allocation failure the next build clears everything. */
static inline void touch(e2e_detframes *df, fr_vec *v, uint32_t idx)
{
    if (v->n < v->cap || !fr_vec_reserve(v, 1))
        ((uint32_t *)v->data)[v->n++] = idx;
    else
        df->oom = 1;
}

/* A cell is listed when an add finds it zero, so every cell non-zero after the build is
   listed, mostly once (repeats only after a sum came back to zero). */
static inline void add(e2e_detframes *df, int c, uint32_t idx, float v)
{
    float *p = &df->img[c][idx];
    if (*p == 0)
        touch(df, &df->touched[c], idx);
    *p += v;
}

static void clear_previous(e2e_detframes *df)
{
    if (df->oom) {
        for (int c = 0; c < E2E_CH_COUNT; c++)
            if (df->img[c])
                memset(df->img[c], 0, NCELL * sizeof(float));
        if (df->towers)
            memset(df->towers, 0, NTOWER * sizeof(float));
        memset(df->depth1, 0, sizeof df->depth1);
        memset(df->d1_has, 0, sizeof df->d1_has);
        df->oom = 0;
    } else {
        for (int c = 0; c < E2E_CH_COUNT; c++) {
            if (!df->img[c] || c == E2E_CH_HBHE)
                continue;
            const uint32_t *t = df->touched[c].data;
            for (size_t i = 0; i < df->touched[c].n; i++)
                df->img[c][t[i]] = 0;
        }
        if (df->towers) {
            const uint32_t *t = df->towers_touched.data;
            float *h = df->img[E2E_CH_HBHE];
            for (size_t i = 0; i < df->towers_touched.n; i++) {
                uint32_t r = t[i] / E2E_HCAL_COLS, c = t[i] % E2E_HCAL_COLS;
                df->towers[t[i]] = 0;
                for (int a = 0; a < 5; a++)
                    memset(h + (r * 5 + a) * E2E_GRID_COLS + c * 5, 0, 5 * sizeof(float));
            }
        }
        const uint32_t *t = df->d1_touched.data;
        for (size_t i = 0; i < df->d1_touched.n; i++) {
            df->depth1[t[i]] = 0;
            df->d1_has[t[i]] = 0;
        }
    }
    for (int c = 0; c < E2E_CH_COUNT; c++)
        df->touched[c].n = 0;
    df->towers_touched.n = 0;
    df->d1_touched.n = 0;
}

void e2e_detframes_clear(e2e_detframes *df) { clear_previous(df); }

static void fill_ecal(e2e_detframes *df, const e2e_event *ev)
{
    const e2e_eb_hit *eb = ev->eb.data;
    for (size_t i = 0; i < ev->eb.n; i++)
        if (eb[i].energy > 0)
            add(df, E2E_CH_ECAL,
                (uint32_t)(eb[i].ieta_idx + E2E_EB_ROW0) * E2E_GRID_COLS + eb[i].iphi_idx,
                eb[i].energy);
    const e2e_ee_hit *ee = ev->ee.data;
    for (size_t i = 0; i < ev->ee.n; i++)
        if (ee[i].energy > 0)
            add(df, E2E_CH_ECAL, (uint32_t)ee[i].row * E2E_GRID_COLS + ee[i].col, ee[i].energy);
}

static void fill_hbhe(e2e_detframes *df, const e2e_event *ev)
{
    const e2e_hbhe_hit *h = ev->hbhe.data;
    float *tw = df->towers;
    for (size_t i = 0; i < ev->hbhe.n; i++) {
        float e = h[i].energy;
        if (!(e > 0))
            continue;
        int a = h[i].ieta < 0 ? -h[i].ieta : h[i].ieta;
        uint32_t r = (uint32_t)e2e_geom_hcal_row(h[i].ieta), c = (uint32_t)e2e_geom_hcal_col(h[i].iphi);
        /* a tower is listed when first filled (as add() does for cells): each block is
           upsampled and cleared once, not once per rechit */
        const uint32_t t1 = r * E2E_HCAL_COLS + c;
        if (a > 20) { /* coarse 10-degree towers: half into each 5-degree column */
            const uint32_t t2 = r * E2E_HCAL_COLS + (c + 1) % E2E_HCAL_COLS;
            if (tw[t1] == 0)
                touch(df, &df->towers_touched, t1);
            tw[t1] += 0.5f * e;
            if (tw[t2] == 0)
                touch(df, &df->towers_touched, t2);
            tw[t2] += 0.5f * e;
        } else {
            if (tw[t1] == 0)
                touch(df, &df->towers_touched, t1);
            tw[t1] += e;
        }
    }
    /* 5 x 5 upsample, energy conserving (/25); rewriting a block is idempotent, so a tower
       listed twice is harmless. */
    float *img = df->img[E2E_CH_HBHE];
    const uint32_t *t = df->towers_touched.data;
    for (size_t i = 0; i < df->towers_touched.n; i++) {
        uint32_t r = t[i] / E2E_HCAL_COLS, c = t[i] % E2E_HCAL_COLS;
        float v = fr_hbhe_cell(tw[t[i]]);
        for (int a = 0; a < 5; a++) {
            float *row = img + (r * 5 + a) * E2E_GRID_COLS + c * 5;
            row[0] = row[1] = row[2] = row[3] = row[4] = v;
        }
    }
}

static void fill_depth1(e2e_detframes *df, const e2e_event *ev)
{
    const e2e_hbhe_hit *h = ev->hbhe.data;
    for (size_t i = 0; i < ev->hbhe.n; i++) {
        if (h[i].depth != 1)
            continue;
        uint32_t idx = (uint32_t)(h[i].ieta + E2E_HCAL_IETA_MAX) * E2E_HCAL_COLS + h[i].iphi - 1;
        df->depth1[idx] += h[i].energy;
        df->d1_has[idx] = 1;
        touch(df, &df->d1_touched, idx);
    }
}

static void fill_tracks(e2e_detframes *df, const e2e_event *ev)
{
    const e2e_track *t = ev->tracks.data;
    const int do_pt = df->img[E2E_CH_PT] != NULL, do_d0 = df->img[E2E_CH_D0] != NULL,
              do_dz = df->img[E2E_CH_DZ] != NULL;
    const float cut = df->opt.z0_pv_cut;
    for (size_t i = 0; i < ev->tracks.n; i++) {
        if (!(t[i].quality & E2E_TRACK_HIGH_PURITY) || t[i].row == E2E_NO_CELL)
            continue;
        uint32_t idx = (uint32_t)t[i].row * E2E_GRID_COLS + t[i].col;
        if (do_pt)
            add(df, E2E_CH_PT, idx, t[i].pt);
        if (fabsf(t[i].dz) < cut) {
            if (do_d0)
                add(df, E2E_CH_D0, idx, t[i].d0);
            if (do_dz)
                add(df, E2E_CH_DZ, idx, t[i].dz);
        }
    }
}

static void fill_tracker(e2e_detframes *df, const fr_vec *v)
{
    const e2e_tracker_hit *h = v->data;
    for (size_t i = 0; i < v->n; i++) {
        if (h[i].proj != df->opt.tracker_proj)
            continue;
        int c = fr_tracker_channel(h[i].subdet, h[i].layer);
        if (c < 0 || !df->img[c])
            continue;
        add(df, c, (uint32_t)h[i].row * E2E_GRID_COLS + h[i].col, 1.0f);
    }
}

e2e_status e2e_detframes_build(e2e_detframes *df, const e2e_event *ev, e2e_error *err)
{
    clear_previous(df);
    df->generation++;
    const uint64_t m = df->opt.channels;
    if (m & E2E_CHANNEL_BIT(E2E_CH_ECAL))
        fill_ecal(df, ev);
    if (m & E2E_CHANNEL_BIT(E2E_CH_HBHE))
        fill_hbhe(df, ev);
    fill_depth1(df, ev);
    if (m & (E2E_CHANNEL_BIT(E2E_CH_PT) | E2E_CHANNEL_BIT(E2E_CH_D0) | E2E_CHANNEL_BIT(E2E_CH_DZ)))
        fill_tracks(df, ev);
    /* the pixel section holds only pixel hits and the strip section only strip hits
       (event.c), so a section none of whose layers is built is not read */
    if (m & (E2E_CHANNEL_BIT(E2E_CH_TIB1) - E2E_CHANNEL_BIT(E2E_CH_BPIX1)))
        fill_tracker(df, &ev->pixel);
    if (m >> E2E_CH_TIB1)
        fill_tracker(df, &ev->strip);
    return E2E_OK;
}
