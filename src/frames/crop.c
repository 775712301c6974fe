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
