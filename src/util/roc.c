/* ROC AUC and ROC curves of e2e run (util/roc.h). The PNG is drawn here with a built-in
   5 x 7 bitmap font (upper case, digits, a few signs), so no font library is needed. */
#include "util/roc.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_frames.h"
#include "util/png.h"

int e2e_roc_class(const char *t, int truth)
{
    if (!strcmp(t, "eg"))
        return truth == E2E_TRUTH_PHOTON ? 1 : truth == E2E_TRUTH_ELECTRON ? 0 : -1;
    if (!strcmp(t, "qg"))
        return truth == E2E_TRUTH_QUARK ? 1 : truth == E2E_TRUTH_GLUON ? 0 : -1;
    int qcd = truth == E2E_TRUTH_QUARK || truth == E2E_TRUTH_GLUON;
    if (!strcmp(t, "top"))
        return truth == E2E_TRUTH_TOP ? 1 : qcd ? 0 : -1;
    if (!strcmp(t, "tau"))
        return truth == E2E_TRUTH_TAU ? 1 : qcd ? 0 : -1;
    return -1;
}

/* Another name (e2e run --frames: labelled frames) is "label != 0" against "label 0". */
const char *e2e_roc_signal_name(const char *t)
{
    return !strcmp(t, "eg") ? "photon" : !strcmp(t, "qg") ? "quark" : !strcmp(t, "top") ? "top"
           : !strcmp(t, "tau") ? "tau" : "nonzero label";
}

const char *e2e_roc_background_name(const char *t)
{
    return !strcmp(t, "eg") ? "electron" : !strcmp(t, "qg") ? "gluon"
           : !strcmp(t, "top") || !strcmp(t, "tau") ? "QCD" : "label 0";
}

int e2e_roc_add(e2e_roc *r, float score, int signal)
{
    float **v = signal ? &r->sig : &r->bkg;
    size_t *n = signal ? &r->ns : &r->nb, *cap = signal ? &r->cap_s : &r->cap_b;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 1024;
        float *p = realloc(*v, c * sizeof *p);
        if (!p)
            return -1;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = score;
    r->sorted = 0;
    return 0;
}

void e2e_roc_free(e2e_roc *r)
{
    free(r->sig);
    free(r->bkg);
    memset(r, 0, sizeof *r);
}

/* Total order with NaN below every number. */
static int cmp_score(float a, float b)
{
    int na = isnan(a), nb = isnan(b);
    if (na || nb)
        return nb - na;
    return a < b ? -1 : a > b;
}

static int cmp_qsort(const void *a, const void *b)
{
    return cmp_score(*(const float *)a, *(const float *)b);
}

static void roc_sort(e2e_roc *r)
{
    if (r->sorted)
        return;
    qsort(r->sig, r->ns, sizeof(float), cmp_qsort);
    qsort(r->bkg, r->nb, sizeof(float), cmp_qsort);
    r->sorted = 1;
}

double e2e_roc_auc(e2e_roc *r)
{
    if (!r->ns || !r->nb)
        return NAN;
    roc_sort(r);
    /* for each signal score (ascending): 2 * (background below) + (background equal) */
    uint64_t twice = 0;
    size_t lo = 0, hi = 0;
    for (size_t i = 0; i < r->ns; i++) {
        while (lo < r->nb && cmp_score(r->bkg[lo], r->sig[i]) < 0)
            lo++;
        if (hi < lo)
            hi = lo;
        while (hi < r->nb && cmp_score(r->bkg[hi], r->sig[i]) == 0)
            hi++;
        twice += 2 * (uint64_t)lo + (hi - lo);
    }
    return (double)twice / (2.0 * (double)r->ns * (double)r->nb);
}

/* ---- drawing ---- */

typedef struct canvas { int w, h; uint8_t *px; } canvas;
typedef struct colour { uint8_t r, g, b; } colour;

static void dot(canvas *c, int x, int y, colour k)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return;
    uint8_t *p = c->px + 3 * ((size_t)y * c->w + x);
    p[0] = k.r;
    p[1] = k.g;
    p[2] = k.b;
}

/* A line of width `thick` pixels (Bresenham, a square brush); dash > 0 draws dash on, dash off. */
static void line(canvas *c, int x0, int y0, int x1, int y1, colour k, int thick, int dash)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy, step = 0;
    for (;;) {
        if (!dash || (step / dash) % 2 == 0)
            for (int a = 0; a < thick; a++)
                for (int b = 0; b < thick; b++)
                    dot(c, x0 + a - thick / 2, y0 + b - thick / 2, k);
        step++;
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

/* 5 x 7 glyphs, one byte per row, bit 4 = leftmost column. */
static const struct { char ch; uint8_t row[7]; } FONT[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}}, {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
    {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}}, {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}}, {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
    {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
};

#define FS 2                /* font scale: 10 x 14 pixel glyphs */
#define ADV (6 * FS)        /* advance per character */

/* Text from (x, y) (top left); vertical: read bottom to top, the glyphs turned 90 degrees
   counter-clockwise, (x, y) then the bottom left. Lower case is drawn as upper case. */
static void text(canvas *c, int x, int y, const char *s, colour k, int vertical)
{
    for (int i = 0; s[i]; i++) {
        char ch = (char)toupper((unsigned char)s[i]);
        const uint8_t *row = NULL;
        for (size_t g = 0; g < sizeof FONT / sizeof FONT[0]; g++)
            if (FONT[g].ch == ch)
                row = FONT[g].row;
        for (int ry = 0; row && ry < 7; ry++)
            for (int rx = 0; rx < 5; rx++) {
                if (!(row[ry] >> (4 - rx) & 1))
                    continue;
                for (int a = 0; a < FS; a++)
                    for (int b = 0; b < FS; b++) {
                        int gx = rx * FS + a, gy = ry * FS + b;
                        if (vertical)
                            dot(c, x + gy, y - i * ADV - gx, k);
                        else
                            dot(c, x + i * ADV + gx, y + gy, k);
                    }
            }
    }
}

/* one colour per tagger, the same in every plot */
static int tagger_colour(const char *t)
{
    return !strcmp(t, "eg") ? 0 : !strcmp(t, "qg") ? 1 : !strcmp(t, "top") ? 2 : 3;
}

#define PW 640
#define PH 660
#define X0 90    /* plot area: left, top, side */
#define Y0 40
#define SIDE 440

static void to_px(double fpr, double tpr, int *x, int *y)
{
    *x = X0 + (int)lround(fpr * SIDE);
    *y = Y0 + SIDE - (int)lround(tpr * SIDE);
}

e2e_status e2e_roc_png(const char *path, e2e_roc *const *rocs, const char *const *names, int n,
                       e2e_error *err)
{
    static const colour pal[4] = {{214, 39, 40}, {31, 119, 180}, {44, 160, 44}, {255, 127, 14}};
    const colour black = {0, 0, 0}, grey = {150, 150, 150}, light = {225, 225, 225};
    canvas c = {PW, PH, malloc((size_t)PW * PH * 3)};
    if (!c.px) {
        snprintf(err->message, sizeof err->message, "%.900s: out of memory for the ROC plot",
                 path);
        return E2E_ERR_NOMEM;
    }
    memset(c.px, 255, (size_t)PW * PH * 3);
    text(&c, X0, 12, "ROC curves (e2e run)", black, 0);
    for (int k = 0; k <= 5; k++) { /* grid, ticks and tick labels every 0.2 */
        int p = k * SIDE / 5;
        char lab[8];
        snprintf(lab, sizeof lab, "%.1f", k / 5.0);
        line(&c, X0 + p, Y0, X0 + p, Y0 + SIDE, light, 1, 0);
        line(&c, X0, Y0 + p, X0 + SIDE, Y0 + p, light, 1, 0);
        line(&c, X0 + p, Y0 + SIDE, X0 + p, Y0 + SIDE + 6, black, 2, 0);
        line(&c, X0 - 6, Y0 + SIDE - p, X0, Y0 + SIDE - p, black, 2, 0);
        text(&c, X0 + p - 3 * ADV / 2, Y0 + SIDE + 12, lab, black, 0);
        text(&c, X0 - 12 - 3 * ADV, Y0 + SIDE - p - 7, lab, black, 0);
    }
    line(&c, X0, Y0, X0, Y0 + SIDE, black, 2, 0); /* axes box, under the curves */
    line(&c, X0, Y0 + SIDE, X0 + SIDE, Y0 + SIDE, black, 2, 0);
    line(&c, X0 + SIDE, Y0, X0 + SIDE, Y0 + SIDE, black, 1, 0);
    line(&c, X0, Y0, X0 + SIDE, Y0, black, 1, 0);
    line(&c, X0, Y0 + SIDE, X0 + SIDE, Y0, grey, 1, 6); /* a random score */
    for (int t = 0; t < n; t++) {
        e2e_roc *r = rocs[t];
        if (!r->ns || !r->nb)
            continue;
        roc_sort(r);
        /* thresholds from the top: every distinct score moves the point; ties move it
           diagonally (the trapezoid that the tie-corrected AUC measures) */
        size_t i = r->ns, j = r->nb;
        int px, py;
        to_px(0, 0, &px, &py);
        while (i > 0 || j > 0) {
            float s = i > 0 && (j == 0 || cmp_score(r->sig[i - 1], r->bkg[j - 1]) >= 0)
                          ? r->sig[i - 1]
                          : r->bkg[j - 1];
            while (i > 0 && cmp_score(r->sig[i - 1], s) == 0)
                i--;
            while (j > 0 && cmp_score(r->bkg[j - 1], s) == 0)
                j--;
            int qx, qy;
            to_px((double)(r->nb - j) / r->nb, (double)(r->ns - i) / r->ns, &qx, &qy);
            line(&c, px, py, qx, qy, pal[tagger_colour(names[t])], 3, 0);
            px = qx;
            py = qy;
        }
    }
    text(&c, X0 + 10, Y0 + SIDE + 36, "false positive rate (background eff.)", black, 0);
    text(&c, 14, Y0 + SIDE - 40, "true positive rate (signal eff.)", black, 1);
    for (int t = 0; t < n; t++) { /* legend */
        int y = Y0 + SIDE + 72 + t * 24;
        char lab[96];
        double a = e2e_roc_auc(rocs[t]);
        snprintf(lab, sizeof lab, "%.4s: %s vs %s, AUC %.4f (%zu/%zu)", names[t],
                 e2e_roc_signal_name(names[t]), e2e_roc_background_name(names[t]), a,
                 rocs[t]->ns, rocs[t]->nb);
        if (isnan(a))
            snprintf(lab, sizeof lab, "%.4s: no %s or no %s", names[t],
                     e2e_roc_signal_name(names[t]), e2e_roc_background_name(names[t]));
        line(&c, 20, y + 7, 50, y + 7, pal[tagger_colour(names[t])], 3, 0);
        text(&c, 60, y, lab, black, 0);
    }
    e2e_status st = e2e_png_write_rgb(path, PW, PH, c.px, err);
    free(c.px);
    return st;
}
