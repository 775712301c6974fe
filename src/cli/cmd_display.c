/* e2e display: one event drawn as a PNG with cairo. Top: a title (file, run, lumi, event) and
   the 280 x 360 DetFrames grid (phi across, eta down) with eta and phi axes and ticks, the
   chosen channels composited in distinct colours (log intensity, zero cells white), the EB/EE
   boundaries, and per tagger its seeds (crosses) and frame boxes (wrapping in phi), each box
   labelled with its tagger and slot. Below: a legend of the channel and tagger colours, then
   one strip per tagger with the frames of its slots, each captioned with its slot and score
   (--model TAGGER=FILE runs the tagger's model). The same legend, with every score in full,
   goes to stdout. */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "e2e_frames.h"

#define MAX_TAGGERS 8
#define THUMB 128      /* target thumbnail height in pixels */
#define GAP 8
#define LEFT 64        /* eta tick labels and axis title */
#define RIGHT 24
#define TOP 44         /* title */
#define AXIS 46        /* below the grid: phi tick labels and axis title */
#define CAPTION 16     /* below a thumbnail: slot and score */
#define FONT "DejaVu Sans"

typedef struct { uint8_t r, g, b; } rgb;

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

static void sort_by_priority(int *ch, int n, const e2e_channel *map)
{
    for (int a = 1; a < n; a++) /* stable insertion sort */
        for (int b = a; b > 0 && channel_priority(map ? (int)map[ch[b]] : ch[b]) <
                                     channel_priority(map ? (int)map[ch[b - 1]] : ch[b - 1]); b--) {
            int t = ch[b];
            ch[b] = ch[b - 1];
            ch[b - 1] = t;
        }
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

static const rgb GREY = {150, 150, 150}, BLACK = {0, 0, 0}, DARK = {60, 60, 60};

static void set_colour(cairo_t *cr, rgb c)
{
    cairo_set_source_rgb(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0);
}

/* ---- text ---- */

/* Width of s at size px. */
static double text_width(cairo_t *cr, double size, int bold, const char *s)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* Text with its baseline at y; align 0 left of x, 1 centred on x, 2 right of x. */
static void text(cairo_t *cr, double x, double y, double size, int bold, int align, rgb c,
                 const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void text(cairo_t *cr, double x, double y, double size, int bold, int align, rgb c,
                 const char *fmt, ...)
{
    char s[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    double w = text_width(cr, size, bold, s);
    set_colour(cr, c);
    cairo_move_to(cr, x - (align == 1 ? w / 2 : align == 2 ? w : 0), y);
    cairo_show_text(cr, s);
}

/* ---- images ---- */

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

/* An h x w RGB24 surface: white, then each image blended in its colour (in the order given). */
static cairo_surface_t *compose(const float *const *img, const rgb *col, const float *vmax, int n,
                                int h, int w)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    unsigned char *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) {
            float c[3] = {255, 255, 255};
            for (int k = 0; k < n; k++) {
                if (!img[k])
                    continue;
                float a = opacity(img[k][(size_t)r * w + q], vmax[k]);
                c[0] = c[0] * (1 - a) + col[k].r * a;
                c[1] = c[1] * (1 - a) + col[k].g * a;
                c[2] = c[2] * (1 - a) + col[k].b * a;
            }
            uint32_t v = 0xff000000u | (uint32_t)lrintf(c[0]) << 16 | (uint32_t)lrintf(c[1]) << 8 |
                         (uint32_t)lrintf(c[2]);
            memcpy(px + (size_t)r * stride + (size_t)q * 4, &v, 4);
        }
    cairo_surface_mark_dirty(s);
    return s;
}

/* Paints s at (x, y), each pixel a scale x scale block (no smoothing: cells stay cells). */
static void paint_scaled(cairo_t *cr, cairo_surface_t *s, double x, double y, double scale)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, cairo_image_surface_get_width(s), cairo_image_surface_get_height(s));
    cairo_fill(cr);
    cairo_restore(cr);
}

/* ---- axes ---- */

/* y of an eta on the grid panel (row centres interpolated; the outer edges are +-3). */
static double eta_y(double eta, double gy, int S)
{
    double r;
    if (eta <= e2e_geom_row_eta(0))
        r = (eta + 3) / (e2e_geom_row_eta(0) + 3) * 0.5;
    else if (eta >= e2e_geom_row_eta(E2E_GRID_ROWS - 1))
        r = E2E_GRID_ROWS - 0.5 + (eta - e2e_geom_row_eta(E2E_GRID_ROWS - 1)) /
                                      (3 - e2e_geom_row_eta(E2E_GRID_ROWS - 1)) * 0.5;
    else {
        int k = 0;
        while (k + 1 < E2E_GRID_ROWS - 1 && e2e_geom_row_eta(k + 1) <= eta)
            k++;
        double a = e2e_geom_row_eta(k), b = e2e_geom_row_eta(k + 1);
        r = k + 0.5 + (eta - a) / (b - a);
    }
    return gy + r * S;
}

/* x of a phi on the grid panel (columns are uniform in phi; wrapped into the panel). */
static double phi_x(double phi, double gx, int S)
{
    double p0 = e2e_geom_col_phi(0), dp = e2e_geom_col_phi(1) - p0;
    double c = fmod((phi - p0) / dp + 0.5, E2E_GRID_COLS);
    if (c < 0)
        c += E2E_GRID_COLS;
    return gx + c * S;
}

static void axes(cairo_t *cr, double gx, double gy, int S)
{
    double GW = E2E_GRID_COLS * S, GH = E2E_GRID_ROWS * S;
    cairo_set_line_width(cr, 1);
    set_colour(cr, BLACK);
    cairo_rectangle(cr, gx - 0.5, gy - 0.5, GW + 1, GH + 1);
    cairo_stroke(cr);
    /* eta: a labelled tick per unit, a short one per half unit */
    for (int k = -6; k <= 6; k++) {
        double eta = k * 0.5, y = eta_y(eta, gy, S);
        int major = k % 2 == 0;
        set_colour(cr, BLACK);
        cairo_move_to(cr, gx - (major ? 6 : 3), y);
        cairo_line_to(cr, gx, y);
        cairo_stroke(cr);
        if (major)
            text(cr, gx - 9, y + 4, 11, 0, 2, BLACK, "%g", eta);
    }
    cairo_save(cr);
    cairo_translate(cr, 16, gy + GH / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, 13, 0, 1, BLACK, "\xce\xb7 (row %d..%d, EB rows %d..%d)", 0,
         E2E_GRID_ROWS - 1, E2E_EB_ROW0, E2E_EB_ROW0 + E2E_EB_ROWS - 1);
    cairo_restore(cr);
    /* phi: a labelled tick per radian from -2 to 2 and at +-pi (where the columns wrap
       the panel is not cut: column 0 is phi just above 0), a short one per half radian */
    for (int k = -6; k <= 7; k++) {
        double phi = k == 7 ? M_PI : k * 0.5, x = phi_x(phi, gx, S);
        int major = k % 2 == 0 && k != 6 && k != -6;
        set_colour(cr, BLACK);
        cairo_move_to(cr, x, gy + GH);
        cairo_line_to(cr, x, gy + GH + (major || k == 7 ? 6 : 3));
        cairo_stroke(cr);
        if (major)
            text(cr, x, gy + GH + 18, 11, 0, 1, BLACK, "%d", k / 2);
        else if (k == 7)
            text(cr, x, gy + GH + 18, 11, 0, 1, BLACK, "\xc2\xb1\xcf\x80");
    }
    text(cr, gx + GW / 2, gy + GH + 36, 13, 0, 1, BLACK, "\xcf\x86 (rad; %d columns)",
         E2E_GRID_COLS);
    /* EB/EE boundaries */
    double dash = 4;
    cairo_set_dash(cr, &dash, 1, 0);
    set_colour(cr, GREY);
    for (int i = 0; i < 2; i++) {
        double y = gy + (i ? E2E_EB_ROW0 + E2E_EB_ROWS : E2E_EB_ROW0) * S;
        cairo_move_to(cr, gx, y);
        cairo_line_to(cr, gx + GW, y);
        cairo_stroke(cr);
    }
    cairo_set_dash(cr, NULL, 0, 0);
}

/* ---- legend: swatches in a flow that wraps at the panel's width ---- */

typedef struct flow {
    cairo_t *cr;
    int draw;              /* 0: only measure */
    double x0, x1, x, y;   /* y: baseline of the current line */
} flow;

#define FLOW_LINE 18

static void flow_item(flow *f, rgb c, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void flow_item(flow *f, rgb c, int line, const char *fmt, ...)
{
    char s[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    double w = 16 + text_width(f->cr, 11, 0, s) + 14;
    if (f->x > f->x0 && f->x + w > f->x1) {
        f->x = f->x0;
        f->y += FLOW_LINE;
    }
    if (f->draw) {
        set_colour(f->cr, c);
        if (line) {
            cairo_set_line_width(f->cr, 3);
            cairo_move_to(f->cr, f->x, f->y - 4);
            cairo_line_to(f->cr, f->x + 12, f->y - 4);
            cairo_stroke(f->cr);
        } else {
            cairo_rectangle(f->cr, f->x, f->y - 10, 12, 12);
            cairo_fill(f->cr);
        }
        text(f->cr, f->x + 16, f->y, 11, 0, 0, BLACK, "%s", s);
    }
    f->x += w;
}

static void flow_head(flow *f, const char *s)
{
    if (f->x > f->x0) {
        f->x = f->x0;
        f->y += FLOW_LINE;
    }
    double w = text_width(f->cr, 11, 1, s) + 10;
    if (f->draw)
        text(f->cr, f->x, f->y, 11, 1, 0, BLACK, "%s", s);
    f->x += w;
}

/* ---- the event ---- */

typedef struct disp {
    int nt, nd, S;
    const char *const *tnames;
    const int *draw;       /* grid channels in draw order */
    e2e_tagger **tg;
    int has_model[MAX_TAGGERS];
    const char *model_path[MAX_TAGGERS];
    const e2e_detframes *df;
    const float *vmax;
} disp;

/* The legend; returns the y below it. */
static double legend(cairo_t *cr, int draw, const disp *d, double x0, double x1, double y)
{
    flow f = {cr, draw, x0, x1, x0, y + 12};
    flow_head(&f, "channels");
    for (int c = 0; c < E2E_CH_COUNT; c++) {
        int used = 0;
        for (int j = 0; j < d->nd; j++)
            used |= d->draw[j] == c;
        for (int t = 0; t < d->nt; t++)
            used |= (e2e_tagger_channel_mask(d->tg[t]) & E2E_CHANNEL_BIT(c)) != 0;
        if (!used)
            continue;
        const char *cn;
        rgb col = channel_colour(c, &cn);
        flow_item(&f, col, 0, "%s (max %.3g)", e2e_channel_name((e2e_channel)c),
                  (double)d->vmax[c]);
    }
    flow_head(&f, "taggers");
    for (int t = 0; t < d->nt; t++) {
        const char *cn;
        rgb col = tagger_colour(d->tnames[t], &cn);
        size_t n;
        e2e_tagger_slots(d->tg[t], &n);
        flow_item(&f, col, 1, "%s: %zu slot%s", d->tnames[t], n, n == 1 ? "" : "s");
    }
    flow_item(&f, GREY, 1, "failed seed");
    return f.y + 10;
}

/* Seeds (crosses) and frame boxes (wrapping in phi), labelled "tagger#slot". */
static void grid_objects(cairo_t *cr, const disp *d, double gx, double gy)
{
    int S = d->S;
    double GW = E2E_GRID_COLS * S, GH = E2E_GRID_ROWS * S;
    cairo_save(cr);
    cairo_rectangle(cr, gx, gy, GW, GH);
    cairo_clip(cr);
    for (int t = 0; t < d->nt; t++) {
        const char *cn;
        rgb col = tagger_colour(d->tnames[t], &cn);
        const e2e_tagger_config *tc = e2e_tagger_get_config(d->tg[t]);
        int h = tc->height, w = tc->width;
        size_t n;
        const e2e_tagger_slot *sl = e2e_tagger_slots(d->tg[t], &n);
        int eb = tc->objects == E2E_OBJ_PHOTONS;
        for (size_t i = 0; i < n; i++) {
            if (sl[i].seed.status != E2E_SEED_OK || sl[i].seed.row < 0)
                continue;
            int r = sl[i].seed.row + (eb ? E2E_EB_ROW0 : 0), c = sl[i].seed.col;
            double inset = 2.0 * t + 1;
            double x = gx + (c - e2e_frame_centre(w)) * S + inset;
            double y = gy + (r - e2e_frame_centre(h)) * S + inset;
            double bw = w * S - 2 * inset, bh = h * S - 2 * inset;
            /* labels: one line per tagger, side by side for slots sharing a seed */
            int same = 0;
            for (size_t j = 0; j < i; j++)
                same += sl[j].seed.status == E2E_SEED_OK && sl[j].seed.row == sl[i].seed.row &&
                        sl[j].seed.col == c;
            set_colour(cr, col);
            cairo_set_line_width(cr, 2);
            for (int k = -1; k <= 1; k++) { /* the box and its copies one turn in phi away */
                cairo_rectangle(cr, x + k * GW, y, bw, bh);
                cairo_stroke(cr);
                text(cr, x + k * GW + 3 + 40 * same, y + 12 + 11 * t, 10, 1, 0, col, "%s#%zu",
                     d->tnames[t], i);
            }
            double cx = gx + (c + 0.5) * S, cy = gy + (r + 0.5) * S, arm = 3 * S + 2;
            cairo_set_line_width(cr, 2);
            set_colour(cr, col);
            cairo_move_to(cr, cx - arm, cy);
            cairo_line_to(cr, cx + arm, cy);
            cairo_move_to(cr, cx, cy - arm);
            cairo_line_to(cr, cx, cy + arm);
            cairo_stroke(cr);
        }
    }
    cairo_restore(cr);
}

/* Thumbnail geometry of tagger t's strip. */
static void strip_geom(const disp *d, int t, double W, int *fs, int *tw, int *th, int *per_row,
                       int *rows)
{
    const e2e_tagger_config *tc = e2e_tagger_get_config(d->tg[t]);
    size_t n;
    e2e_tagger_slots(d->tg[t], &n);
    *fs = tc->height < THUMB ? THUMB / tc->height : 1;
    *tw = tc->width * *fs + 4;
    *th = tc->height * *fs + 4;
    *per_row = (int)((W - LEFT - RIGHT - 8 + GAP) / (*tw + GAP));
    if (*per_row < 1)
        *per_row = 1;
    *rows = n ? (int)((n + (size_t)*per_row - 1) / (size_t)*per_row) : 0;
}

#define STRIP_HEAD 22

static double strip_height(const disp *d, int t, double W)
{
    int fs, tw, th, per_row, rows;
    strip_geom(d, t, W, &fs, &tw, &th, &per_row, &rows);
    return STRIP_HEAD + (rows ? rows * (th + CAPTION + GAP) : 16) + GAP;
}

static void strip(cairo_t *cr, const disp *d, int t, double W, double y)
{
    const char *cn;
    rgb col = tagger_colour(d->tnames[t], &cn);
    const e2e_tagger_config *tc = e2e_tagger_get_config(d->tg[t]);
    size_t n;
    int C, h, w;
    const float *fr = e2e_tagger_frames(d->tg[t], &n, &C, &h, &w);
    const e2e_tagger_slot *sl = e2e_tagger_slots(d->tg[t], &n);
    int fs, tw, th, per_row, rows;
    strip_geom(d, t, W, &fs, &tw, &th, &per_row, &rows);
    char chans[256] = "";
    for (int c = 0; c < tc->n_channels; c++)
        snprintf(chans + strlen(chans), sizeof chans - strlen(chans), "%s%s", c ? "," : "",
                 e2e_channel_name(tc->channels[c]));
    text(cr, LEFT, y + 14, 12, 1, 0, BLACK, "%s", d->tnames[t]);
    double hx = LEFT + text_width(cr, 12, 1, d->tnames[t]) + 8;
    /* the header, shortened (model file name only, then no channel list) to fit the width */
    const char *mp = d->model_path[t] ? d->model_path[t] : "";
    const char *mbase = strrchr(mp, '/') ? strrchr(mp, '/') + 1 : mp;
    char head[3][768];
    for (int v = 0; v < 3; v++) {
        const char *ch = v < 2 ? chans : "";
        if (d->has_model[t])
            snprintf(head[v], sizeof head[v], "%zu slot%s, frames %d x %d x %d%s%s%s, scores of %s",
                     n, n == 1 ? "" : "s", tc->n_channels, tc->height, tc->width,
                     *ch ? " (" : "", ch, *ch ? ")" : "", v ? mbase : mp);
        else
            snprintf(head[v], sizeof head[v], "%zu slot%s, frames %d x %d x %d%s%s%s, no model%s",
                     n, n == 1 ? "" : "s", tc->n_channels, tc->height, tc->width,
                     *ch ? " (" : "", ch, *ch ? ")" : "",
                     v ? "" : " (--model TAGGER=FILE gives the scores)");
    }
    int v = 0;
    while (v < 2 && hx + text_width(cr, 11, 0, head[v]) > W - RIGHT)
        v++;
    text(cr, hx, y + 14, 11, 0, 0, DARK, "%s", head[v]);
    double y0 = y + STRIP_HEAD;
    set_colour(cr, col);
    cairo_rectangle(cr, LEFT - 12, y0, 5, rows ? rows * (th + CAPTION + GAP) - GAP : 12);
    cairo_fill(cr);
    if (!n) {
        text(cr, LEFT, y0 + 11, 11, 0, 0, DARK, "no %s in this event",
             tc->objects == E2E_OBJ_PHOTONS ? "photon" : "jet");
        return;
    }
    int order[E2E_TAGGER_MAX_CHANNELS];
    for (int c = 0; c < C; c++)
        order[c] = c;
    sort_by_priority(order, C, tc->channels);
    for (size_t i = 0; i < n; i++) {
        double x = LEFT + (double)(i % (size_t)per_row) * (tw + GAP);
        double yy = y0 + (double)(i / (size_t)per_row) * (th + CAPTION + GAP);
        int ok = sl[i].seed.status == E2E_SEED_OK;
        if (fr) {
            const float *img[E2E_TAGGER_MAX_CHANNELS];
            rgb cc[E2E_TAGGER_MAX_CHANNELS];
            float vm[E2E_TAGGER_MAX_CHANNELS];
            for (int j = 0; j < C; j++) {
                int c = order[j];
                const char *chn;
                img[j] = fr + ((size_t)i * C + c) * h * w;
                cc[j] = channel_colour(tc->channels[c], &chn);
                vm[j] = d->vmax[tc->channels[c]];
            }
            cairo_surface_t *s = compose(img, cc, vm, C, h, w);
            if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS)
                paint_scaled(cr, s, x + 2, yy + 2, fs);
            cairo_surface_destroy(s);
        }
        set_colour(cr, ok ? col : GREY);
        cairo_set_line_width(cr, 2);
        cairo_rectangle(cr, x + 1, yy + 1, tw - 2, th - 2);
        cairo_stroke(cr);
        char sc[64];
        if (!ok)
            snprintf(sc, sizeof sc, "%s", e2e_seed_status_name(sl[i].seed.status));
        else if (!d->has_model[t])
            snprintf(sc, sizeof sc, "no score");
        else
            snprintf(sc, sizeof sc, "score %.4g", (double)sl[i].score);
        text(cr, x + 1, yy + th + 12, 10, 0, 0, BLACK, "%s#%zu %s", d->tnames[t], i, sc);
    }
}

static void help(void)
{
    printf("usage: e2e display --events FILE --event K -o OUT.png [--channels a,b,...]\n"
           "                   [--tagger T ...] [--model TAGGER=FILE ...] [--no-scores]\n"
           "                   [--scale S]\n\n"
           "Draws event K (0-based) of FILE into one PNG (cairo):\n"
           "  title   the file, run, lumi and event number\n"
           "  top     the 280 x 360 DetFrames grid (phi across, eta down; S pixels per cell,\n"
           "          default 2) with eta and phi axes and ticks, the chosen channels\n"
           "          composited in distinct colours (default ecal,hbhe,pt,bpix1,bpix2,bpix3,\n"
           "          bpix4): opacity grows with log10 of the value over three decades below\n"
           "          the channel's maximum, zero cells are white. Dashed grey lines mark the\n"
           "          EB/EE boundaries (rows 55, 225). Each tagger's seeds are crosses and its\n"
           "          frame boxes rectangles in the tagger's colour labelled TAGGER#SLOT (boxes\n"
           "          wrap around in phi; photon seeds on the EB view are shifted to the grid).\n"
           "  legend  the channel colours (with each channel's maximum) and tagger colours\n"
           "  below   one strip per tagger (default eg, qg, top, tau; --tagger picks) with the\n"
           "          frames of its slots left to right in slot order, all of the tagger's\n"
           "          channels composited the same way, scaled to about %d pixels, each\n"
           "          captioned TAGGER#SLOT and its score; the border is the tagger's colour,\n"
           "          grey for a failed seed (zero frame, the caption says why).\n"
           "Scores: --model TAGGER=FILE runs that tagger's model (an image model; its input\n"
           "sets the frame size) on the event; a tagger without --model runs the shipped\n"
           "trained model models/trained/TAGGER.onnx when there is one (looked up as e2e run\n"
           "does), else its strip says \"no score\"; --no-scores runs no model.\n"
           "The legend (channel and tagger colours, value ranges, slots, scores in full) is\n"
           "also printed to stdout.\n"
           "An event index past the end of the file is an error (exit 1).\n", THUMB);
}

int e2e_cmd_display(int argc, char **argv)
{
    const char *events = NULL, *out = NULL, *chans = "ecal,hbhe,pt,bpix1,bpix2,bpix3,bpix4";
    const char *tnames[MAX_TAGGERS], *models[MAX_TAGGERS];
    long long k = -1;
    int nt = 0, nm = 0, S = 2, no_scores = 0;
    const e2e_opt opts[] = {
        E2E_OPT_S("events", 0, &events, "FILE", "the event file (- for stdin)"),
        E2E_OPT_L("event", &k, 0, INT64_MAX, "K", "the event's index, 0-based"),
        E2E_OPT_S("output", 'o', &out, "OUT.png", "the PNG to write"),
        E2E_OPT_S("channels", 0, &chans, "a,b,...", "the channels drawn on the grid"),
        E2E_OPT_LIST_("tagger", tnames, &nt, MAX_TAGGERS, "T",
                      "a tagger's strip (eg, qg, top, tau)"),
        E2E_OPT_LIST_("model", models, &nm, MAX_TAGGERS, "TAGGER=FILE", "the model scoring TAGGER"),
        E2E_OPT_F("no-scores", 0, &no_scores, "run no model"),
        E2E_OPT_I("scale", &S, 1, 8, "S", "pixels per grid cell (default 2)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"display", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos) {
        fprintf(stderr, "e2e display: unexpected argument '%s' (e2e display --help)\n", argv[1]);
        return E2E_EXIT_USAGE;
    }
    for (int i = 0; i < nm; i++) {
        const char *eq = strchr(models[i], '=');
        if (!eq || eq == models[i] || !eq[1]) {
            fprintf(stderr, "e2e display: --model needs TAGGER=FILE\n");
            return E2E_EXIT_USAGE;
        }
    }
    if (out && !strcmp(out, "-")) {
        fprintf(stderr, "e2e display: -o names the PNG file; '-' (stdout) carries the legend "
                "text, so the PNG cannot go there\n");
        return E2E_EXIT_USAGE;
    }
    if (no_scores && nm) {
        fprintf(stderr, "e2e display: --no-scores and --model exclude each other\n");
        return E2E_EXIT_USAGE;
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
    /* each --model names one of the taggers drawn */
    const char *mpath[MAX_TAGGERS] = {0};
    char trained[MAX_TAGGERS][4096];
    for (int j = 0; j < nm; j++) {
        const char *eq = strchr(models[j], '=');
        int t = 0;
        while (t < nt && (strlen(tnames[t]) != (size_t)(eq - models[j]) ||
                          strncmp(tnames[t], models[j], (size_t)(eq - models[j]))))
            t++;
        if (t == nt) {
            fprintf(stderr, "e2e display: --model %s: %.*s is not one of the taggers drawn\n",
                    models[j], (int)(eq - models[j]), models[j]);
            return E2E_EXIT_USAGE;
        }
        mpath[t] = eq + 1;
    }
    /* the others: the shipped trained model of the tagger when there is one */
    if (!no_scores) {
        char dir[3000];
        e2e_cli_trained_dir(dir, sizeof dir);
        for (int t = 0; t < nt; t++) {
            struct stat sb;
            snprintf(trained[t], sizeof trained[t], "%s/%.64s.onnx", dir, tnames[t]);
            if (!mpath[t] && !stat(trained[t], &sb) && S_ISREG(sb.st_mode))
                mpath[t] = trained[t];
        }
    }
    /* channels to draw, in draw order */
    int draw[E2E_CH_COUNT], nd = 0;
    for (const char *p = chans; *p;) {
        size_t len = strcspn(p, ",");
        char nmb[32];
        snprintf(nmb, sizeof nmb, "%.*s", (int)(len < 31 ? len : 31), p);
        int c = e2e_channel_from_name(nmb);
        if (c < 0) {
            fprintf(stderr, "e2e display: unknown channel '%s' (ecal, hbhe, pt, d0, dz, bpix1..4, "
                    "tib1..4, tob1..6, tid1..3, tec1..9)\n", nmb);
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
    sort_by_priority(draw, nd, NULL);

    int rc = E2E_EXIT_FAIL;
    e2e_error err;
    err.message[0] = 0;
    e2e_event_reader *rd = NULL;
    e2e_event *ev = NULL;
    e2e_detframes *df = NULL;
    e2e_tagger *tg[MAX_TAGGERS] = {0};
    e2e_model *model[MAX_TAGGERS] = {0};
    cairo_surface_t *surf = NULL;
    cairo_t *cr = NULL;
    uint64_t skipped;
    int got = 0;
    e2e_tagger_config cfg;
    e2e_session_options so = e2e_cli_session_options();
    for (int t = 0; t < nt; t++) {
        if (e2e_tagger_config_default(tnames[t], &cfg, &err)) {
            fprintf(stderr, "e2e display: %s\n", err.message);
            rc = E2E_EXIT_USAGE;
            goto done;
        }
        if (mpath[t] && e2e_cli_model_load(mpath[t], &model[t], &err)) {
            fprintf(stderr, "e2e display: tagger %s: %s\n", tnames[t], err.message);
            goto done;
        }
        if (e2e_tagger_create(&cfg, model[t], &so, &tg[t], &err)) {
            fprintf(stderr, "e2e display: tagger %s: %s\n", tnames[t], err.message);
            goto done;
        }
        if (model[t] && e2e_tagger_get_kind(tg[t]) != E2E_TAGGER_IMAGE) {
            fprintf(stderr, "e2e display: tagger %s: %s takes graph frames; display draws "
                    "image frames (pass an image model)\n", tnames[t], mpath[t]);
            rc = E2E_EXIT_USAGE;
            goto done;
        }
    }
    if (e2e_event_reader_open(e2e_cli_in_path(events), &rd, &err) || e2e_event_create(&ev, &err) ||
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
    for (int t = 0; t < nt; t++) {
        if (e2e_tagger_prepare(tg[t], ev, df, &err))
            goto fail;
        size_t n;
        e2e_tagger_slots(tg[t], &n);
        if (model[t] && n && e2e_tagger_infer(tg[t], &err)) {
            fprintf(stderr, "e2e display: tagger %s: %s\n", tnames[t], err.message);
            goto done; /* rc: E2E_EXIT_FAIL */
        }
    }

    /* per-channel maximum |value| on the grid: one scale for the grid and the frames */
    float vmax[E2E_CH_COUNT] = {0};
    for (int c = 0; c < E2E_CH_COUNT; c++) {
        const float *img = e2e_detframes_channel(df, (e2e_channel)c);
        if (img)
            for (int i = 0; i < E2E_GRID_ROWS * E2E_GRID_COLS; i++)
                if (fabsf(img[i]) > vmax[c])
                    vmax[c] = fabsf(img[i]);
    }
    disp d = {nt, nd, S, tnames, draw, tg, {0}, {0}, df, vmax};
    for (int t = 0; t < nt; t++) {
        d.has_model[t] = model[t] != NULL;
        d.model_path[t] = mpath[t];
    }

    /* layout: measured on a scratch surface, then drawn */
    int GW = E2E_GRID_COLS * S, GH = E2E_GRID_ROWS * S;
    int W = LEFT + GW + RIGHT;
    double gx = LEFT, gy = TOP, ly = gy + GH + AXIS;
    surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cr = cairo_create(surf);
    double y = legend(cr, 0, &d, LEFT, W - RIGHT, ly);
    for (int t = 0; t < nt; t++)
        y += strip_height(&d, t, W);
    int H = (int)ceil(y) + GAP;
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cr = cairo_create(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        snprintf(err.message, sizeof err.message, "cannot make a %d x %d image: %s", W, H,
                 cairo_status_to_string(cairo_status(cr)));
        goto fail;
    }
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);

    e2e_event_data ed;
    e2e_event_get(ev, &ed);
    const char *base = strrchr(events, '/') ? strrchr(events, '/') + 1 : events;
    text(cr, LEFT, 20, 15, 1, 0, BLACK, "run %u, lumi %u, event %llu", ed.run, ed.lumi,
         (unsigned long long)ed.event);
    text(cr, LEFT, 36, 11, 0, 0, DARK, "%s, event index %lld; DetFrames grid %d x %d", base, k,
         E2E_GRID_ROWS, E2E_GRID_COLS);

    const float *gimg[E2E_CH_COUNT];
    rgb gcol[E2E_CH_COUNT];
    float gmax[E2E_CH_COUNT];
    for (int j = 0; j < nd; j++) {
        const char *cn;
        gimg[j] = e2e_detframes_channel(df, (e2e_channel)draw[j]);
        gcol[j] = channel_colour(draw[j], &cn);
        gmax[j] = vmax[draw[j]];
    }
    cairo_surface_t *grid = compose(gimg, gcol, gmax, nd, E2E_GRID_ROWS, E2E_GRID_COLS);
    if (cairo_surface_status(grid) == CAIRO_STATUS_SUCCESS)
        paint_scaled(cr, grid, gx, gy, S);
    cairo_surface_destroy(grid);
    axes(cr, gx, gy, S);
    grid_objects(cr, &d, gx, gy);
    y = legend(cr, 1, &d, LEFT, W - RIGHT, ly);
    for (int t = 0; t < nt; t++) {
        strip(cr, &d, t, W, y);
        y += strip_height(&d, t, W);
    }
    cairo_surface_flush(surf);
    cairo_status_t cs = cairo_status(cr);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_write_to_png(surf, out);
    if (cs != CAIRO_STATUS_SUCCESS) {
        snprintf(err.message, sizeof err.message, "%.900s: cannot write the PNG: %s%s%s", out,
                 cairo_status_to_string(cs), errno ? ": " : "", errno ? strerror(errno) : "");
        goto fail;
    }

    if (e2e_cli_verbose >= 0) {
        printf("event %lld (run %u, lumi %u, event %llu) -> %s (%d x %d)\n", k, ed.run, ed.lumi,
               (unsigned long long)ed.event, out, W, H);
        printf("grid: 280 x 360 cells at %d px (phi across, eta down; dashed lines: EB/EE)\n", S);
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
            const e2e_tagger_config *tc = e2e_tagger_get_config(tg[t]);
            size_t n;
            const e2e_tagger_slot *sl = e2e_tagger_slots(tg[t], &n);
            printf("  %-4s %-10s #%02x%02x%02x  %zu slot%s, frames %d x %d x %d, %s%s\n",
                   tnames[t], cn, col.r, col.g, col.b, n, n == 1 ? "" : "s", tc->n_channels,
                   tc->height, tc->width, model[t] ? "model " : "no model",
                   model[t] ? mpath[t] : "");
            for (size_t i = 0; i < n; i++) {
                printf("       slot %zu: pt %.1f eta %.3f phi %.3f seed (%d, %d) %s, truth %s",
                       i, (double)sl[i].pt, (double)sl[i].eta, (double)sl[i].phi,
                       sl[i].seed.row, sl[i].seed.col, e2e_seed_status_name(sl[i].seed.status),
                       e2e_truth_name(sl[i].truth));
                if (model[t] && sl[i].seed.status == E2E_SEED_OK)
                    printf(", score %.9g", (double)sl[i].score);
                printf("\n");
            }
        }
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "e2e display: %s\n", err.message);
    rc = E2E_EXIT_FAIL;
done:
    if (cr)
        cairo_destroy(cr);
    if (surf)
        cairo_surface_destroy(surf);
    /* cairo's font caches, then fontconfig's: freed, so that a leak checker (make sanitize)
       sees only this command's own memory */
    cairo_debug_reset_static_data();
    FcFini();
    for (int t = 0; t < nt; t++) {
        e2e_tagger_free(tg[t]);
        e2e_model_free(model[t]);
    }
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_event_reader_close(rd);
    return rc;
}
