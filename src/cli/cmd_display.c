/* e2e display: one event drawn as a PNG. Top: the 280 x 360 DetFrames grid (phi across,
   eta down) with the chosen channels composited in distinct colours (log intensity, zero
   cells transparent), the EB/EE boundaries, and per tagger its seeds (crosses) and frame
   boxes (wrapping in phi). Below: one strip per tagger with the frames of its slots, drawn
   with the same colours and scales. A colour legend goes to stdout. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "e2e_frames.h"
#include "util/png.h"

#define MAX_TAGGERS 8
#define MARGIN 8
#define THUMB 128   /* target thumbnail height in pixels */
#define GAP 6

typedef struct { uint8_t r, g, b; } rgb;

static const rgb WHITE = {255, 255, 255};

/* Colours per channel (the reference figures' convention: ECAL red, HCAL blue, tracks green,
   pixel layers purple-ish); the strip layers cycle through a muted palette. */
static rgb channel_colour(int c, const char **name)
{
    static const struct { rgb c; const char *n; } fixed[] = {
        {{220, 30, 30}, "red"},        /* ecal */
        {{40, 90, 230}, "blue"},       /* hbhe */
        {{0, 160, 60}, "green"},       /* pt */
        {{235, 140, 0}, "orange"},     /* d0 */
        {{0, 170, 170}, "teal"},       /* dz */
        {{140, 0, 190}, "violet"},     /* bpix1 */
        {{200, 0, 150}, "magenta"},    /* bpix2 */
        {{120, 70, 30}, "brown"},      /* bpix3 */
        {{90, 90, 90}, "grey"},        /* bpix4 */
    };
    static const struct { rgb c; const char *n; } cyc[] = {
        {{110, 110, 0}, "olive"}, {{0, 110, 140}, "petrol"}, {{150, 80, 120}, "mauve"},
        {{70, 120, 70}, "sage"}, {{160, 100, 60}, "tan"}, {{60, 60, 140}, "navy"}};
    if (c < (int)(sizeof fixed / sizeof fixed[0])) {
        *name = fixed[c].n;
        return fixed[c].c;
    }
    int k = (c - (int)(sizeof fixed / sizeof fixed[0])) % (int)(sizeof cyc / sizeof cyc[0]);
    *name = cyc[k].n;
    return cyc[k].c;
}

/* Draw order: broad HCAL first, then ECAL, impact parameters, tracker hits, track pT on top. */
static int channel_priority(int c)
{
    if (c == E2E_CH_HBHE) return 0;
    if (c == E2E_CH_ECAL) return 1;
    if (c == E2E_CH_D0 || c == E2E_CH_DZ) return 2;
    if (c == E2E_CH_PT) return 4;
    return 3;
}

static rgb tagger_colour(const char *t, const char **name)
{
    if (!strcmp(t, "eg")) { *name = "gold"; return (rgb){230, 170, 0}; }
    if (!strcmp(t, "qg")) { *name = "black"; return (rgb){0, 0, 0}; }
    if (!strcmp(t, "top")) { *name = "cyan"; return (rgb){0, 180, 255}; }
    if (!strcmp(t, "tau")) { *name = "pink"; return (rgb){255, 60, 150}; }
    *name = "dark green";
    return (rgb){0, 100, 0};
}

typedef struct canvas {
    int w, h;
    uint8_t *p;
} canvas;

static void put(canvas *cv, int x, int y, rgb c)
{
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h)
        return;
    uint8_t *q = cv->p + ((size_t)y * cv->w + x) * 3;
    q[0] = c.r, q[1] = c.g, q[2] = c.b;
}

static void blend(canvas *cv, int x, int y, rgb c, float a)
{
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h)
        return;
    uint8_t *q = cv->p + ((size_t)y * cv->w + x) * 3;
    q[0] = (uint8_t)lrintf(q[0] * (1 - a) + c.r * a);
    q[1] = (uint8_t)lrintf(q[1] * (1 - a) + c.g * a);
    q[2] = (uint8_t)lrintf(q[2] * (1 - a) + c.b * a);
}

/* Opacity of a value: transparent at 0, log-scaled over three decades below the channel's
   largest |value| (d0/dz may be negative: |value|). */
static float opacity(float v, float vmax)
{
    if (v == 0 || !(vmax > 0) || !isfinite(v))
        return 0;
    float a = log10f(1 + 1000 * fabsf(v) / vmax) / log10f(1001);
    if (a > 1)
        a = 1;
    return 0.2f + 0.8f * a;
}

/* Draws an h x w image at (x0, y0) with s x s pixels per cell. */
static void draw_image(canvas *cv, int x0, int y0, int s, const float *img, int h, int w, rgb c,
                       float vmax)
{
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) {
            float a = opacity(img[(size_t)r * w + q], vmax);
            if (a > 0)
                for (int dy = 0; dy < s; dy++)
                    for (int dx = 0; dx < s; dx++)
                        blend(cv, x0 + q * s + dx, y0 + r * s + dy, c, a);
        }
}

static void rect(canvas *cv, int x0, int y0, int x1, int y1, rgb c, int thick)
{
    for (int t = 0; t < thick; t++) {
        for (int x = x0; x <= x1; x++) {
            put(cv, x, y0 + t, c);
            put(cv, x, y1 - t, c);
        }
        for (int y = y0; y <= y1; y++) {
            put(cv, x0 + t, y, c);
            put(cv, x1 - t, y, c);
        }
    }
}

/* Frame box on the grid panel: rows r0..r0+h-1 (clipped to the grid: beyond it the frame is
   zero padding), columns c0..c0+w-1 wrapped in phi. Two pixels wide, inside the box, inset by
   `inset` pixels so that taggers sharing seeds (top and tau) stay visible. */
static void grid_box(canvas *cv, int gx, int gy, int s, int r0, int c0, int h, int w, rgb col,
                     int inset)
{
    int r1 = r0 + h - 1;
    int top_in = r0 >= 0, bot_in = r1 < E2E_GRID_ROWS;
    if (r0 < 0) r0 = 0;
    if (r1 >= E2E_GRID_ROWS) r1 = E2E_GRID_ROWS - 1;
    int ya = gy + r0 * s + (top_in ? inset : 0), yb = gy + (r1 + 1) * s - 1 - (bot_in ? inset : 0);
    for (int k = 0; k < w; k++) {
        int c = ((c0 + k) % E2E_GRID_COLS + E2E_GRID_COLS) % E2E_GRID_COLS;
        for (int dx = 0; dx < s; dx++)
            for (int t = 0; t < 2; t++) {
                if ((k == 0 && dx < inset) || (k == w - 1 && dx >= s - inset))
                    continue;
                if (top_in) put(cv, gx + c * s + dx, ya + t, col);
                if (bot_in) put(cv, gx + c * s + dx, yb - t, col);
            }
    }
    int cl = ((c0 % E2E_GRID_COLS) + E2E_GRID_COLS) % E2E_GRID_COLS;
    int cr = (((c0 + w - 1) % E2E_GRID_COLS) + E2E_GRID_COLS) % E2E_GRID_COLS;
    for (int y = ya; y <= yb; y++)
        for (int t = 0; t < 2; t++) {
            put(cv, gx + cl * s + t + inset, y, col);
            put(cv, gx + (cr + 1) * s - 1 - t - inset, y, col);
        }
}

static void cross(canvas *cv, int x, int y, int arm, rgb c)
{
    for (int k = -arm; k <= arm; k++)
        for (int t = -1; t <= 1; t++) {
            put(cv, x + k, y + t, c);
            put(cv, x + t, y + k, c);
        }
}

static void help(void)
{
    printf("usage: e2e display --events FILE --event K -o OUT.png [--channels a,b,...]\n"
           "                   [--tagger T ...] [--scale S]\n\n"
           "Draws event K (0-based) of FILE into one PNG:\n"
           "  top     the 280 x 360 DetFrames grid (phi across, eta down; S pixels per cell,\n"
           "          default 2), the chosen channels composited in distinct colours (default\n"
           "          ecal,hbhe,pt,bpix1,bpix2,bpix3,bpix4): opacity grows with log10 of the\n"
           "          value over three decades below the channel's maximum, zero cells are\n"
           "          transparent (white). Thin grey lines mark the EB/EE boundaries (rows 55,\n"
           "          225). Each tagger's seeds are crosses and its frame boxes rectangles in\n"
           "          the tagger's colour (boxes wrap around in phi; photon seeds on the EB\n"
           "          view are shifted to the grid).\n"
           "  below   one strip per tagger (default eg, qg, top, tau; --tagger picks) with the\n"
           "          frames of its slots left to right in slot order, all of the tagger's\n"
           "          channels composited the same way, scaled to about %d pixels; the border\n"
           "          is the tagger's colour, grey for a failed seed (zero frame).\n"
           "The legend (channel and tagger colours, value ranges, slots) is printed to stdout.\n"
           "An event index past the end of the file is an error (exit 1).\n", THUMB);
}

int e2e_cmd_display(int argc, char **argv)
{
    const char *events = NULL, *out = NULL, *chans = "ecal,hbhe,pt,bpix1,bpix2,bpix3,bpix4";
    const char *tnames[MAX_TAGGERS];
    long long k = -1;
    int nt = 0, S = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (e2e_cli_is_help(a)) {
            help();
            return 0;
        } else if (!strcmp(a, "--events") && i + 1 < argc) {
            events = argv[++i];
        } else if (!strcmp(a, "--event") && i + 1 < argc) {
            char *end;
            k = strtoll(argv[++i], &end, 10);
            if (*end || k < 0 || end == argv[i]) {
                fprintf(stderr, "e2e display: --event needs an index >= 0\n");
                return E2E_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--channels") && i + 1 < argc) {
            chans = argv[++i];
        } else if (!strcmp(a, "--tagger") && i + 1 < argc && nt < MAX_TAGGERS) {
            tnames[nt++] = argv[++i];
        } else if (!strcmp(a, "--scale") && i + 1 < argc) {
            S = atoi(argv[++i]);
            if (S < 1 || S > 8) {
                fprintf(stderr, "e2e display: --scale must be in 1..8\n");
                return E2E_EXIT_USAGE;
            }
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, "e2e display: unknown or incomplete argument '%s' (e2e display "
                    "--help)\n", a);
            return E2E_EXIT_USAGE;
        }
    }
    if (!events || k < 0 || !out) {
        fprintf(stderr, "e2e display: needs --events FILE, --event K and -o OUT.png\n");
        return E2E_EXIT_USAGE;
    }
    if (!nt) {
        static const char *const def[4] = {"eg", "qg", "top", "tau"};
        for (; nt < 4; nt++)
            tnames[nt] = def[nt];
    }
    /* channels to draw, in draw order */
    int draw[E2E_CH_COUNT], nd = 0;
    for (const char *p = chans; *p;) {
        size_t len = strcspn(p, ",");
        char nm[32];
        snprintf(nm, sizeof nm, "%.*s", (int)(len < 31 ? len : 31), p);
        int c = e2e_channel_from_name(nm);
        if (c < 0) {
            fprintf(stderr, "e2e display: unknown channel '%s' (ecal, hbhe, pt, d0, dz, bpix1..4, "
                    "tib1..4, tob1..6, tid1..3, tec1..9)\n", nm);
            return E2E_EXIT_USAGE;
        }
        int dup = 0;
        for (int j = 0; j < nd; j++)
            dup |= draw[j] == c;
        if (!dup)
            draw[nd++] = c;
        p += len;
        if (*p == ',')
            p++;
    }
    for (int a = 1; a < nd; a++) /* stable insertion sort by priority */
        for (int b = a; b > 0 && channel_priority(draw[b]) < channel_priority(draw[b - 1]); b--) {
            int t = draw[b];
            draw[b] = draw[b - 1];
            draw[b - 1] = t;
        }

    int rc = E2E_EXIT_FAIL;
    e2e_error err;
    e2e_event_reader *rd = NULL;
    e2e_event *ev = NULL;
    e2e_detframes *df = NULL;
    e2e_tagger *tg[MAX_TAGGERS] = {0};
    canvas cv = {0, 0, NULL};
    uint64_t skipped;
    int got = 0;
    e2e_tagger_config cfg;
    for (int t = 0; t < nt; t++) {
        if (e2e_tagger_config_default(tnames[t], &cfg, &err)) {
            fprintf(stderr, "e2e display: %s\n", err.message);
            rc = E2E_EXIT_USAGE;
            goto done;
        }
        if (e2e_tagger_create(&cfg, NULL, NULL, &tg[t], &err))
            goto fail;
    }
    if (e2e_event_reader_open(events, &rd, &err) || e2e_event_create(&ev, &err) ||
        e2e_event_reader_skip(rd, (uint64_t)k, &skipped, &err))
        goto fail;
    if (skipped == (uint64_t)k && e2e_event_reader_next(rd, ev, &got, &err))
        goto fail;
    if (!got) {
        snprintf(err.message, sizeof err.message, "%.900s: no event %lld (the file has %llu)",
                 events, k, (unsigned long long)e2e_event_reader_position(rd));
        goto fail;
    }
    e2e_detframes_options dopt = e2e_detframes_options_default();
    dopt.z0_pv_cut = e2e_event_reader_z0_pv_cut(rd);
    dopt.channels = 0;
    for (int j = 0; j < nd; j++)
        dopt.channels |= E2E_CHANNEL_BIT(draw[j]);
    for (int t = 0; t < nt; t++)
        dopt.channels |= e2e_tagger_channel_mask(tg[t]);
    if (e2e_detframes_create(&dopt, &df, &err) || e2e_detframes_build(df, ev, &err))
        goto fail;
    for (int t = 0; t < nt; t++)
        if (e2e_tagger_prepare(tg[t], ev, df, &err))
            goto fail;

    /* per-channel maximum |value| on the grid: one scale for the grid and the frames */
    float vmax[E2E_CH_COUNT] = {0};
    for (int c = 0; c < E2E_CH_COUNT; c++) {
        const float *img = e2e_detframes_channel(df, (e2e_channel)c);
        if (img)
            for (int i = 0; i < E2E_GRID_ROWS * E2E_GRID_COLS; i++)
                if (fabsf(img[i]) > vmax[c])
                    vmax[c] = fabsf(img[i]);
    }

    /* layout */
    int GW = E2E_GRID_COLS * S, GH = E2E_GRID_ROWS * S;
    int W = GW + 2 * MARGIN, y = MARGIN + GH + 2 * MARGIN;
    int strip_y[MAX_TAGGERS], fscale[MAX_TAGGERS];
    for (int t = 0; t < nt; t++) {
        size_t n;
        int C, h, w;
        e2e_tagger_frames(tg[t], &n, &C, &h, &w);
        fscale[t] = h < THUMB ? THUMB / h : 1;
        strip_y[t] = y;
        if (n) {
            int tw = w * fscale[t] + 4, th = h * fscale[t] + 4;
            int per_row = (W - 2 * MARGIN - 8) / (tw + GAP);
            if (per_row < 1)
                per_row = 1;
            int rows = (int)((n + per_row - 1) / per_row);
            y += rows * (th + GAP) + MARGIN;
        }
    }
    cv.w = W;
    cv.h = y;
    cv.p = malloc((size_t)cv.w * cv.h * 3);
    if (!cv.p) {
        snprintf(err.message, sizeof err.message, "out of memory for a %dx%d image", cv.w, cv.h);
        goto fail;
    }
    for (size_t i = 0; i < (size_t)cv.w * cv.h; i++)
        put(&cv, (int)(i % cv.w), (int)(i / cv.w), WHITE);

    /* grid panel */
    int gx = MARGIN, gy = MARGIN;
    const rgb frame_grey = {170, 170, 170}, line_grey = {215, 215, 215};
    rect(&cv, gx - 1, gy - 1, gx + GW, gy + GH, frame_grey, 1);
    for (int x = 0; x < GW; x += 2) {
        put(&cv, gx + x, gy + E2E_EB_ROW0 * S, line_grey);
        put(&cv, gx + x, gy + (E2E_EB_ROW0 + E2E_EB_ROWS) * S, line_grey);
    }
    for (int j = 0; j < nd; j++) {
        const char *cn;
        rgb col = channel_colour(draw[j], &cn);
        draw_image(&cv, gx, gy, S, e2e_detframes_channel(df, (e2e_channel)draw[j]),
                   E2E_GRID_ROWS, E2E_GRID_COLS, col, vmax[draw[j]]);
    }
    for (int t = 0; t < nt; t++) {
        const char *cn;
        rgb col = tagger_colour(tnames[t], &cn);
        size_t n;
        int C, h, w;
        e2e_tagger_frames(tg[t], &n, &C, &h, &w);
        const e2e_tagger_slot *sl = e2e_tagger_slots(tg[t], &n);
        int eb = e2e_tagger_get_config(tg[t])->objects == E2E_OBJ_PHOTONS;
        for (size_t i = 0; i < n; i++) {
            if (sl[i].seed.status != E2E_SEED_OK || sl[i].seed.row < 0)
                continue;
            int r = sl[i].seed.row + (eb ? E2E_EB_ROW0 : 0), c = sl[i].seed.col;
            grid_box(&cv, gx, gy, S, r - e2e_frame_centre(h), c - e2e_frame_centre(w), h, w, col,
                     2 * t);
            cross(&cv, gx + c * S + S / 2, gy + r * S + S / 2, 3 * S, col);
        }
    }

    /* frame strips */
    for (int t = 0; t < nt; t++) {
        const char *cn;
        rgb col = tagger_colour(tnames[t], &cn);
        size_t n;
        int C, h, w;
        const float *fr = e2e_tagger_frames(tg[t], &n, &C, &h, &w);
        const e2e_tagger_slot *sl = e2e_tagger_slots(tg[t], &n);
        const e2e_tagger_config *tc = e2e_tagger_get_config(tg[t]);
        if (!n)
            continue;
        int fs = fscale[t], tw = w * fs + 4, th = h * fs + 4;
        int per_row = (W - 2 * MARGIN - 8) / (tw + GAP);
        if (per_row < 1)
            per_row = 1;
        int rows = (int)((n + per_row - 1) / per_row);
        for (int yy = strip_y[t]; yy < strip_y[t] + rows * (th + GAP) - GAP; yy++)
            for (int xx = MARGIN; xx < MARGIN + 4; xx++)
                put(&cv, xx, yy, col);
        for (size_t i = 0; i < n; i++) {
            int x0 = MARGIN + 8 + (int)(i % per_row) * (tw + GAP);
            int y0 = strip_y[t] + (int)(i / per_row) * (th + GAP);
            int ok = sl[i].seed.status == E2E_SEED_OK;
            rect(&cv, x0, y0, x0 + tw - 1, y0 + th - 1, ok ? col : frame_grey, 2);
            int order[E2E_TAGGER_MAX_CHANNELS];
            for (int c = 0; c < C; c++)
                order[c] = c;
            for (int a = 1; a < C; a++)
                for (int b = a; b > 0 && channel_priority(tc->channels[order[b]]) <
                                             channel_priority(tc->channels[order[b - 1]]); b--) {
                    int tmp = order[b];
                    order[b] = order[b - 1];
                    order[b - 1] = tmp;
                }
            for (int j = 0; j < C; j++) {
                int c = order[j];
                const char *chn;
                rgb ccol = channel_colour(tc->channels[c], &chn);
                draw_image(&cv, x0 + 2, y0 + 2, fs, fr + ((size_t)i * C + c) * h * w, h, w, ccol,
                           vmax[tc->channels[c]]);
            }
        }
    }

    if (e2e_png_write_rgb(out, cv.w, cv.h, cv.p, &err))
        goto fail;

    if (e2e_cli_verbose >= 0) {
        e2e_event_data d;
        e2e_event_get(ev, &d);
        printf("event %lld (run %u, lumi %u, event %llu) -> %s (%d x %d)\n", k, d.run, d.lumi,
               (unsigned long long)d.event, out, cv.w, cv.h);
        printf("grid: 280 x 360 cells at %d px (phi across, eta down; grey lines: EB/EE)\n", S);
        printf("channels (opacity ~ log10 value over 3 decades below the max):\n");
        for (int c = 0; c < E2E_CH_COUNT; c++) {
            int drawn = 0;
            for (int j = 0; j < nd; j++)
                drawn |= draw[j] == c;
            int in_frames = 0;
            for (int t = 0; t < nt; t++)
                in_frames |= (e2e_tagger_channel_mask(tg[t]) & E2E_CHANNEL_BIT(c)) != 0;
            if (!drawn && !in_frames)
                continue;
            const char *cn;
            rgb col = channel_colour(c, &cn);
            printf("  %-6s %-8s #%02x%02x%02x  max %-10.4g %s\n", e2e_channel_name((e2e_channel)c),
                   cn, col.r, col.g, col.b, (double)vmax[c],
                   drawn ? (in_frames ? "grid + frames" : "grid") : "frames only");
        }
        printf("taggers (crosses = seeds, rectangles = frames; strips below in this order):\n");
        for (int t = 0; t < nt; t++) {
            const char *cn;
            rgb col = tagger_colour(tnames[t], &cn);
            size_t n;
            int C, h, w;
            e2e_tagger_frames(tg[t], &n, &C, &h, &w);
            const e2e_tagger_slot *sl = e2e_tagger_slots(tg[t], &n);
            printf("  %-4s %-10s #%02x%02x%02x  %zu slot%s, frames %d x %d x %d\n", tnames[t], cn,
                   col.r, col.g, col.b, n, n == 1 ? "" : "s", C, h, w);
            for (size_t i = 0; i < n; i++)
                printf("       slot %zu: pt %.1f eta %.3f phi %.3f seed (%d, %d) %s, truth %s\n",
                       i, (double)sl[i].pt, (double)sl[i].eta, (double)sl[i].phi,
                       sl[i].seed.row, sl[i].seed.col, e2e_seed_status_name(sl[i].seed.status),
                       e2e_truth_name(sl[i].truth));
        }
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "e2e display: %s\n", err.message);
    rc = E2E_EXIT_FAIL;
done:
    free(cv.p);
    for (int t = 0; t < nt; t++)
        e2e_tagger_free(tg[t]);
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_event_reader_close(rd);
    return rc;
}
