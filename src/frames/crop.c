/* Frame cropping (reference e2e::getFrame): h x w around a seed with the centre rule,
   phi (columns) wrapping around, eta (rows) zero-padded. */
#include "frames/frames_internal.h"

int e2e_frame_centre(int n) { return n % 2 ? (n - 1) / 2 : n / 2 - 1; }

void e2e_frame_crop(const float *img, int H, int W, int seed_row, int seed_col, int h, int w,
                    float *out)
{
    if (seed_row < 0 || seed_col < 0 || W <= 0) {
        memset(out, 0, (size_t)h * w * sizeof(float));
        return;
    }
    int r0 = seed_row - e2e_frame_centre(h);
    int c0 = ((seed_col - e2e_frame_centre(w)) % W + W) % W;
    for (int r = 0; r < h; r++) {
        float *o = out + (size_t)r * w;
        int ir = r0 + r;
        if (ir < 0 || ir >= H) {
            memset(o, 0, (size_t)w * sizeof(float));
            continue;
        }
        const float *src = img + (size_t)ir * W;
        int q = 0, c = c0;
        while (q < w) {
            int run = W - c < w - q ? W - c : w - q;
            memcpy(o + q, src + c, (size_t)run * sizeof(float));
            q += run;
            c = 0;
        }
    }
}

/* Sets a cell to v and lists it in dirty (room reserved by the caller). The cell is not
   read first: the frame buffer is out of cache, and a store waits for its line less than
   a load would; a cell listed twice is cleared twice. */
static inline void put(float *p, float v, const float *base, fr_vec *dirty)
{
    ((uint32_t *)dirty->data)[dirty->n++] = (uint32_t)(p - base);
    *p = v;
}

static inline int nonzero(float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    return b != 0;
}

int fr_frame_scatter(const float *img, int row0, int H, const fr_cells *cells,
                     const fr_crop_at *at, size_t n_at, int h, int w, float *plane0,
                     size_t stride, const float *base, fr_vec *dirty)
{
    const int W = E2E_GRID_COLS;
    /* entries: per slot and listed cell, one per column copy (a block: one per row, or per
       cell at the crop's edges) */
    const size_t copies = ((size_t)w + W - 1) / W * (cells->blocks ? 25 : 1);
    if (n_at && fr_vec_reserve(dirty, n_at * cells->n * copies))
        return -1;
    if (!cells->blocks) {
        for (size_t k = 0; k < cells->n; k++) {
            const uint32_t g = cells->idx[k];
            const float v = img[g];
            if (!nonzero(v))
                continue;
            const int ir = (int)(g / W) - row0, ic = (int)(g % W);
            if ((unsigned)ir >= (unsigned)H)
                continue;
            for (size_t s = 0; s < n_at; s++) {
                const int r = ir - at[s].r0;
                if ((unsigned)r >= (unsigned)h)
                    continue;
                int q = ic - at[s].c0;
                if (q < 0)
                    q += W;
                float *row = plane0 + at[s].slot * stride + (size_t)r * w;
                for (; q < w; q += W) /* a crop wider than the grid repeats columns */
                    put(row + q, v, base, dirty);
            }
        }
        return 0;
    }
    /* towers: a 5 x 5 block of one value each */
    for (size_t k = 0; k < cells->n; k++) {
        const int tr = (int)(cells->idx[k] / E2E_HCAL_COLS), tc = (int)(cells->idx[k] % E2E_HCAL_COLS);
        const int gr = tr * 5, gc = tc * 5;
        const float v = img[(size_t)gr * W + gc];
        if (!nonzero(v))
            continue;
        for (size_t s = 0; s < n_at; s++) {
            int q0 = gc - at[s].c0;
            if (q0 < 0)
                q0 += W;
            for (int a = 0; a < 5; a++) {
                const int ir = gr + a - row0, r = ir - at[s].r0;
                if ((unsigned)ir >= (unsigned)H || (unsigned)r >= (unsigned)h)
                    continue;
                float *row = plane0 + at[s].slot * stride + (size_t)r * w;
                for (int b = 0; b < 5; b++) {
                    int q = q0 + b;
                    if (q >= W)
                        q -= W;
                    for (; q < w; q += W)
                        put(row + q, v, base, dirty);
                }
            }
        }
    }
    return 0;
}
