/* Shared internals of the front end (src/frames): the event container, growable arrays,
   little-endian helpers. Not part of the public API. */
#ifndef E2E_FRAMES_INTERNAL_H
#define E2E_FRAMES_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "e2e_frames.h"
#include "core/error.h" /* e2e_fail, e2e_error_prefix */


/* A growable array of fixed-size records. Capacity only grows (memory follows the largest
   event), count is reset per event. */
typedef struct fr_vec {
    void *data;
    size_t n, cap, elem;
} fr_vec;

void fr_vec_init(fr_vec *v, size_t elem);
void fr_vec_free(fr_vec *v);
/* Ensures room for `more` additional records; 0 on success, -1 out of memory. */
int fr_vec_reserve(fr_vec *v, size_t more);
/* Appends one record (copied); NULL on out of memory, else the stored record. */
void *fr_vec_push(fr_vec *v, const void *rec);
#define FR_AT(v, type, i) (((type *)(v).data)[i])

struct e2e_event {
    uint32_t run, lumi;
    uint64_t event;
    fr_vec eb, ee, hbhe, tracks, pixel, strip, photons, crystals, jets[2];
};

/* Validation of single records: frames/event_check.h. */

/* Little-endian access (the format is little-endian whatever the host). */
static inline uint16_t fr_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t fr_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t fr_rd64(const uint8_t *p)
{
    return (uint64_t)fr_rd32(p) | ((uint64_t)fr_rd32(p + 4) << 32);
}
static inline float fr_rdf(const uint8_t *p)
{
    uint32_t u = fr_rd32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline void fr_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void fr_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void fr_wr64(uint8_t *p, uint64_t v)
{
    fr_wr32(p, (uint32_t)v);
    fr_wr32(p + 4, (uint32_t)(v >> 32));
}
static inline void fr_wrf(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    fr_wr32(p, u);
}

/* CRC-32C (Castagnoli) of a buffer, continuing from crc (start with 0): the SSE4.2
   instruction where the CPU has it, else fr_crc32c_portable's tables (same result). */
uint32_t fr_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t fr_crc32c_portable(uint32_t crc, const void *data, size_t n);

/* Sets in bits (one per grid cell, row-major, (280 * 360 + 63) / 64 words) every cell that
   may be non-zero in the given channels this event (the cells the build wrote), in the words
   w0 .. w1 - 1 only (zeroed by the caller; the others are left as they are). -1 when that is
   not known (then any cell may be). */
#define FR_GRID_WORDS ((E2E_GRID_ROWS * E2E_GRID_COLS + 63) / 64)
int fr_detframes_occupied(const e2e_detframes *df, uint64_t channels, uint64_t *bits,
                          uint32_t w0, uint32_t w1);

/* The HBHE image's value at every cell of an HBHE tower (the 5 x 5 upsample, energy
   conserving): DetFrames writes it, the graph frames compute it from the tower array (16 KB,
   where the image is 400 KB), so both are the same float by construction. */
static inline float fr_hbhe_cell(float tower) { return tower / 25.0f; }

/* The HBHE channel as towers, for the towers written this event: cell[tower] = the value of
   each of its 25 cells (fr_hbhe_cell), and its 5 grid columns set in rows[tower row] (360
   bits and a word of padding per row, zeroed by the caller); other towers' entries are left
   alone. -1 when that is not known (then nothing is written: read the image). */
#define FR_HROW_WORDS ((E2E_GRID_COLS + 63) / 64 + 1)
int fr_detframes_hbhe_cells(const e2e_detframes *df, float *cell,
                            uint64_t (*rows)[FR_HROW_WORDS]);
/* Counts DetFrames builds: the same value means the same event's images. */
uint64_t fr_detframes_generation(const e2e_detframes *df);

/* The cells of channel c that the last build may have made non-zero: grid indices (row *
   360 + col, repeats possible), or for hbhe (blocks = 1) HCAL tower indices (row * 72 + col),
   each standing for the 5 x 5 block of grid cells it was upsampled to, all of one value.
   -1 when that is not known (a list could not grow) or the channel is not built. */
typedef struct fr_cells {
    const uint32_t *idx;
    size_t n;
    int blocks;
} fr_cells;
int fr_detframes_cells(const e2e_detframes *df, e2e_channel c, fr_cells *out);

/* Sparse cropping (crop.c). A seeded slot's crop: frame row r, column q show image row
   r0 + r, column (c0 + q) mod 360 (c0 in 0..359). */
typedef struct fr_crop_at {
    size_t slot;
    int r0, c0;
} fr_crop_at;

/* Writes one channel's frames of the slots `at` as e2e_frame_crop would, cell by cell from
   the channel's non-zero cells: img is the grid channel (280 x 360), the frames are cut
   from its rows row0 .. row0 + H - 1; slot s's h x w plane is at plane0 + s * stride.
   The planes must be zero except at the offsets (from base, below 2^32) listed in dirty;
   every cell this writes is appended there (more than once when the list repeats it).
   -1 when out of memory. */
int fr_frame_scatter(const float *img, int row0, int H, const fr_cells *cells,
                     const fr_crop_at *at, size_t n_at, int h, int w, float *plane0,
                     size_t stride, const float *base, fr_vec *dirty);

/* Graph frames (graph.c). A run of node candidates: n cells of one image row, image
   indices idx .. idx + n - 1, with the same ordering key (bit for bit). The event's list
   holds maximal runs (a cell that follows a run on its row with the same key extends it),
   so it does not depend on how it was built: most runs are an HBHE tower's cells on a row
   (5, its upsampled columns, where no other channel was written). */
typedef struct fr_graph_cand {
    float key;
    uint32_t idx;
    uint32_t n;
} fr_graph_cand;

/* fr_graph_cloud selects by the key's leading bits: bin = key bits >> 20 (the exponent and
   3 mantissa bits; keys are >= 0, so the bins order as the keys do). */
#define FR_BIN_SHIFT 20
#define FR_BINS (1u << (31 - FR_BIN_SHIFT))

/* The event's node cells for one tagger: the tagger's channel images (H x 360, EB view or
   grid), where image row 0 sits on the grid (55 for the EB view, 0 for the grid), the
   per-channel feature scale and the node threshold; cells = the cells whose sum over
   channels of |value| exceeds the threshold, in row-major order, as runs (fr_graph_cand)
   of their image index and ordering key (sum over channels of |scaled value|);
   row_first[r] = first run of image row r (H + 1 entries). */
typedef struct fr_graph_event {
    const float *const *img;
    const float *scale;
    int C, H, grid_row0;
    float threshold;
    const uint64_t (*row_cols)[FR_HROW_WORDS]; /* per image row (H) the columns some crop
                                                  covers there, as bits: cells elsewhere are
                                                  skipped (NULL: all) */
    int row_lo, row_hi; /* with row_cols: the rows that may have columns set, row_lo ..
                           row_hi - 1 (none when row_hi <= row_lo); the occupancy bits are
                           read only on these rows */
    const uint64_t *const *bits; /* the occupancy bits fr_graph_event_cells was given: a
                                    channel's value is read only where its bit is set (the
                                    image is +0 elsewhere; NULL: read everywhere) */
    /* non-NULL (with bits): channel hbhe_c is HBHE, read from DetFrames' towers rather than
       its image (fr_detframes_hbhe_cells): the cell value of each tower written this event,
       and per tower row those towers' grid columns as bits; bits[hbhe_c] is not read */
    const float *hbhe;
    const uint64_t (*hbhe_rows)[FR_HROW_WORDS];
    int hbhe_c;
    fr_vec cells;     /* fr_graph_cand: key, image index, cells in the run */
    fr_vec fresh;     /* fr_graph_event_derive's scratch (fr_graph_cand) */
    size_t row_first[E2E_GRID_ROWS + 1];
    uint32_t hist[FR_BINS]; /* fr_graph_cloud's scratch: nodes per key bin (zero between
                               calls: start with a zeroed fr_graph_event), */
    uint32_t row_top[E2E_GRID_ROWS]; /* per crop row its highest key bin; */
    double row_eta[E2E_GRID_ROWS], col_phi[E2E_GRID_COLS]; /* the grid's e2e_geom_row_eta
                                                             and _col_phi, once geom_ready */
    int geom_ready;
} fr_graph_event;

/* Fills ge->cells and row_first from the occupancy bits of fr_detframes_occupied, one set
   of grid bits per channel of ge (NULL: every cell of every channel). -1 when out of
   memory. */
int fr_graph_event_cells(fr_graph_event *ge, const uint64_t *const *bits);
/* The same list (ge->cells, row_first) derived from src's, built this event on the same
   images: src's channels are ge's first src->C, with the same scales and threshold, on the
   same view (H, grid_row0); ge's crops (row_cols, row_lo .. row_hi) lie within src's;
   ge->bits (every channel; src's bits for its channels, valid on ge's rows) and ge's HBHE
   towers (hbhe, hbhe_rows, hbhe_c: src's) set by the caller. Reads the images only at the
   cells where one of ge's other channels was written. -1 when out of memory. */
int fr_graph_event_derive(fr_graph_event *ge, const fr_graph_event *src);

/* The cloud of the h x w crop (w <= 360, h <= 4096) around (seed_row, seed_col) on the
   event's image: writes the first min(found, cap) nodes in order into out, 2 + C floats each
   (deta, dphi, scaled channels); *found = nodes in the crop, *kept = nodes written. heap is
   scratch (a vector of uint64_t). A seed with row < 0 has no nodes. -1 when out of
   memory. */
int fr_graph_cloud(fr_graph_event *ge, int seed_row, int seed_col, int h, int w,
                   size_t cap, fr_vec *heap, float *out, size_t *found, size_t *kept);
/* One slot in the ParticleNet layout: points [2, P], features [C, P], mask [P], from n_nodes
   nodes as written by fr_graph_cloud (at most P used); the rest zero. */
void fr_graph_pad(const float *nodes, size_t n_nodes, int C, int P, float *points,
                  float *features, float *mask);
/* kNN edge list of one slot [P, k] from its padded points [2, P] and real node count
   (k <= FR_GRAPH_MAX_K). */
#define FR_GRAPH_MAX_K 64
void fr_graph_knn(const float *points, int P, int n_real, int k, int64_t *out);

/* Per-layer channel of a tracker hit (-1 when the subdetector/layer has no channel). */
int fr_tracker_channel(int subdet, int layer);

#endif
