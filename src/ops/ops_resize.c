/* Resize (opsets 10, 11, 13, 18, 19) and the older Upsample (opsets 7 and 9).

   Everything about the geometry is decided at prepare from the constant scales/sizes (and
   roi): the output shape and, per axis, a table giving for every output index the input
   indices it reads and their weights. Each axis is independent, so:
     nearest          one input index per output index: a gather over all axes at once
                      (any element type);
     linear / cubic   float only; one pass per resized axis, last axis first, each pass a
                      weighted sum of `taps` input rows, through two workspace buffers.
   Axes whose table is the identity (size unchanged, weight 1 on the same index) are
   skipped.

   The mapping follows the ONNX reference implementation: x_original from the
   coordinate_transformation_mode; base = ceil(x_original) - 1 and ratio = x_original - base
   in (0, 1]; the coefficients for ratio (nearest: 2, one of them 1; linear: 2; cubic: 4;
   with antialias and scale < 1, a wider kernel stretched by 1/scale and normalised) apply to
   consecutive indices around base, out-of-range indices clamp to the edge
   (exclude_outside=1: get weight 0, the rest renormalised). tf_crop_and_resize returns
   extrapolation_value when x_original leaves [0, length - 1].
   Opset 10 (and Upsample): asymmetric coordinates; nearest takes floor when enlarging and
   ceil when shrinking an axis. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

enum { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC };
enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYM, CT_PYTORCH, CT_ALIGN, CT_ASYM, CT_TF_CROP };
enum { NM_SIMPLE, NM_ROUND_FLOOR, NM_ROUND_CEIL, NM_FLOOR, NM_CEIL };

typedef struct rs_axis {
    int64_t in, out;
    int taps;
    bool identity;
    int64_t *idx;       /* out * taps input indices; idx[x * taps] < 0: extrapolate */
    float *w;           /* out * taps weights (linear / cubic) */
} rs_axis;

typedef struct rs_priv {
    int mode;
    int rank;
    size_t esize;
    unsigned char extrap[8];    /* extrapolation value in the element type */
    rs_axis ax[E2E_MAX_RANK];
    int64_t istride[E2E_MAX_RANK];
    int npass;
    int pass_axis[E2E_MAX_RANK]; /* resized axes, last first */
    int64_t buf_elems;           /* per workspace buffer */
    void *mem;
} rs_priv;

static void rs_release(void *pv)
{
    rs_priv *p = pv;
    if (!p)
        return;
    free(p->mem);
    free(p);
}

typedef struct axis_params {
    int mode, ct, nm;
    float cubic_a;
    bool exclude_outside, antialias;
    float scale;        /* the given scale, or out / in (in float) with sizes */
    float roi0, roi1;
} axis_params;

static double cubic_kernel(double x, double A)
{
    x = fabs(x);
    if (x <= 1)
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2)
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
}

/* Number of taps of an axis. */
static int axis_taps(const axis_params *ap)
{
    if (ap->mode == MODE_NEAREST)
        return 1;
    double s = ap->scale < 1.0 ? ap->scale : 1.0;
    if (ap->antialias && s < 1.0) {
        int64_t start = (int64_t)floor((ap->mode == MODE_LINEAR ? -1.0 : -2.0) / s) + 1;
        return (int)(2 - 2 * start);
    }
    return ap->mode == MODE_LINEAR ? 2 : 4;
}

/* Fills one axis table (cbuf: room for `taps` doubles). */
static void axis_fill(const axis_params *ap, rs_axis *ax, double *cbuf)
{
    int64_t in = ax->in;
    for (int64_t x = 0; x < ax->out; x++) {
        int64_t *idx = ax->idx + x * ax->taps;
        double xo;
        bool outside = false;
        /* float arithmetic, term by term as ONNX Runtime evaluates the spec's formulas, so
           that nearest's floor/ceil/round see the same value on ties such as
           (0 + 0.5) / (1/7.f) - 0.5 = 2.99999994 */
        const float xf = (float)x, sc = ap->scale, lo = (float)in, lr = (float)ax->out;
        switch (ap->ct) {
        case CT_HALF_PIXEL:
            xo = (xf + 0.5f) / sc - 0.5f;
            break;
        case CT_HALF_PIXEL_SYM: {
            const float out_w = sc * lo, adj = lr / out_w, center = lo / 2.f;
            const float offset = center * (1.f - adj);
            xo = (float)((double)offset + ((double)xf + 0.5) / (double)sc - 0.5); /* as ORT */
            break;
        }
        /* pytorch_half_pixel, align_corners and tf_crop_and_resize use length_resized, the
           integer output length (spec text, ONNX Runtime, PyTorch), not the fractional
           scale * length that onnx.reference uses: see docs/operator-notes.md. */
        case CT_PYTORCH:
            xo = ax->out > 1 ? (xf + 0.5f) / sc - 0.5f : 0.f;
            break;
        case CT_ALIGN:
            xo = ax->out > 1 ? xf * (lo - 1.f) / (lr - 1.f) : 0.f;
            break;
        case CT_TF_CROP:
            if (ax->out > 1)
                xo = ap->roi0 * (lo - 1.f) + xf * (ap->roi1 - ap->roi0) * (lo - 1.f) / (lr - 1.f);
            else
                xo = (float)(0.5 * (double)(ap->roi0 + ap->roi1) * (double)(lo - 1.f));
            outside = xo < 0 || xo > (double)(in - 1);
            break;
        default:
            xo = xf / sc;
            break;
        }
        if (outside) {
            for (int t = 0; t < ax->taps; t++) {
                idx[t] = -1;
                if (ax->w)
                    ax->w[x * ax->taps + t] = 0.f;
            }
            continue;
        }
        if (ap->mode == MODE_NEAREST) {
            int64_t i;
            if (ap->nm == NM_SIMPLE) {
                i = ap->scale < 1.0 ? (int64_t)ceil(xo) : (int64_t)xo;
            } else {
                double base = ceil(xo) - 1.0, r = xo - base; /* r in (0, 1] */
                /* round_prefer_*: a fraction within 8 float ulps (of max(|x|, 1)) of .5 is a
                   tie. The float coordinate of an exact tie lands near it (7 -> 2 columns,
                   asymmetric: 1 / (2/7.f) = 3.4999998 for 3.5; half_pixel_symmetric 5 -> 3:
                   0.50000003 for 0.5), and ONNX Runtime resolves those as ties: this rule
                   matched its indices on all of ~20,000 scale / length / mode combinations
                   tried (docs/operator-notes.md) */
                const float m = fmaxf(fabsf((float)xo), 1.f);
                const bool tie = fabs(r - 0.5) <= 8.0 * (double)(nextafterf(m, INFINITY) - m);
                bool up;
                if (r == 1.0)
                    up = true;
                else if (ap->nm == NM_ROUND_FLOOR)
                    up = r > 0.5 && !tie;
                else if (ap->nm == NM_ROUND_CEIL)
                    up = r >= 0.5 || tie;
                else
                    up = ap->nm == NM_CEIL;
                i = (int64_t)base + (up ? 1 : 0);
            }
            idx[0] = i < 0 ? 0 : i >= in ? in - 1 : i;
            continue;
        }
        double base = ceil(xo) - 1.0, r = xo - base;
        int n = ax->taps, pad = n / 2;
        double sum = 0;
        double s = ap->scale < 1.0 ? ap->scale : 1.0;
        if (ap->antialias && s < 1.0) {
            int start = 1 - n / 2;
            for (int t = 0; t < n; t++) {
                double a = s * ((double)(start + t) - r);
                cbuf[t] = ap->mode == MODE_LINEAR ? fmax(0.0, 1.0 - fabs(a))
                                                  : cubic_kernel(a, ap->cubic_a);
                sum += cbuf[t];
            }
            for (int t = 0; t < n; t++)
                cbuf[t] /= sum;
        } else if (ap->mode == MODE_LINEAR) {
            cbuf[0] = 1.0 - r;
            cbuf[1] = r;
        } else {
            double A = ap->cubic_a;
            cbuf[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
            cbuf[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
            cbuf[2] = ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1;
            cbuf[3] = ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) * ((1 - r) + 1) - 4 * A;
        }
        /* the window: n consecutive indices, kept inside the edge-padded range */
        int64_t first = (int64_t)base - pad + 1;
        if (first < -pad)
            first = -pad;
        if (first + n - 1 > in - 1 + pad)
            first = in + pad - n;
        if (ap->exclude_outside) {
            sum = 0;
            for (int t = 0; t < n; t++) {
                int64_t i = first + t;
                if (i < 0 || i >= in)
                    cbuf[t] = 0;
                sum += cbuf[t];
            }
            for (int t = 0; t < n && sum != 0; t++)
                cbuf[t] /= sum;
        }
        for (int t = 0; t < n; t++) {
            int64_t i = first + t;
            idx[t] = i < 0 ? 0 : i >= in ? in - 1 : i;
            ax->w[x * n + t] = (float)cbuf[t];
        }
    }
    /* identity: same size, every output reads its own index with total weight 1 */
    ax->identity = ax->in == ax->out;
    for (int64_t x = 0; x < ax->out && ax->identity; x++) {
        float own = 0.f;
        for (int t = 0; t < ax->taps; t++) {
            int64_t i = ax->idx[x * ax->taps + t];
            float w = ax->w ? ax->w[x * ax->taps + t] : 1.f;
            if (i == x)
                own += w;
            else if (i < 0 || w != 0.f)
                ax->identity = false;
        }
        if (own != 1.f)
            ax->identity = false;
    }
}

static e2e_status str_choice(e2e_kernel *k, const char *attr, const char *def,
                             const char *const *names, int n, int *out)
{
    const char *s;
    e2e_status st = e2e_attr_string(k, attr, def, &s);
    if (st)
        return st;
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(s, names[i])) {
            *out = i;
            return E2E_OK;
        }
    return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "%s \"%s\" is not supported", attr, s);
}

static bool present(const e2e_kernel *k, int i)
{
    return i < k->n_in && k->in[i] && k->in[i]->numel > 0;
}

static e2e_status resize_prepare_common(e2e_kernel *k, bool upsample)
{
    e2e_status st;
    bool legacy = upsample || k->opset < 11; /* Upsample, Resize-10: X, scales */
    if ((st = e2e_check_inputs(k, upsample ? 1 : legacy ? 2 : 1, legacy ? 2 : 4)))
        return st;
    const float *scales_attr = NULL; /* Upsample-7: scales is an attribute */
    int n_scales_attr = 0;
    if (upsample && k->n_in == 1 &&
        (st = e2e_attr_floats(k, "scales", &scales_attr, &n_scales_attr)))
        return st;
    const e2e_value *xv = k->in[0];
    const e2e_shape *xs = &xv->shape;
    int r = xs->rank;
    if (r < 1)
        return e2e_kfail(k, E2E_ERR_INVALID, "input must have rank >= 1");

    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const cts[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                      "align_corners", "asymmetric", "tf_crop_and_resize"};
    static const char *const nms[] = {NULL, "round_prefer_floor", "round_prefer_ceil", "floor",
                                      "ceil"};
    static const char *const kars[] = {"stretch", "not_larger", "not_smaller"};
    int mode = MODE_NEAREST, ct = CT_ASYM, nm = NM_SIMPLE, kar = 0;
    int64_t excl = 0, antialias = 0;
    float cubic_a = -0.75f, extrap = 0.f;
    const int64_t *axes_attr = NULL;
    int n_axes = 0;
    if ((st = str_choice(k, "mode", "nearest", modes, 3, &mode)))
        return st;
    if (legacy && mode == MODE_CUBIC)
        return e2e_kfail(k, E2E_ERR_INVALID, "mode \"cubic\" needs opset 11 or later");
    if (!legacy) {
        if ((st = str_choice(k, "coordinate_transformation_mode", "half_pixel", cts, 6, &ct)) ||
            (st = str_choice(k, "nearest_mode", "round_prefer_floor", nms, 5, &nm)) ||
            (st = str_choice(k, "keep_aspect_ratio_policy", "stretch", kars, 3, &kar)) ||
            (st = e2e_attr_float(k, "cubic_coeff_a", -0.75f, &cubic_a)) ||
            (st = e2e_attr_int(k, "exclude_outside", 0, &excl)) ||
            (st = e2e_attr_float(k, "extrapolation_value", 0.f, &extrap)) ||
            (st = e2e_attr_int(k, "antialias", 0, &antialias)) ||
            (st = e2e_attr_ints(k, "axes", &axes_attr, &n_axes)))
            return st;
    }
    if (mode == MODE_NEAREST) {
        if ((st = e2e_check_dtype(k, 0, E2E_FLOAT, E2E_INT64, E2E_INT32, E2E_INT8, E2E_UINT8,
                                  E2E_BOOL, E2E_UNDEFINED)))
            return st;
    } else if (xv->dtype != E2E_FLOAT) {
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "mode \"%s\" supports float input only, not %s",
                         modes[mode], e2e_dtype_name(xv->dtype));
    }

    /* the axes that scales / sizes / roi describe */
    int axes[E2E_MAX_RANK], na = r;
    if (n_axes) {
        if (n_axes > r)
            return e2e_kfail(k, E2E_ERR_INVALID, "%d axes for rank %d", n_axes, r);
        bool seen[E2E_MAX_RANK] = {false};
        for (int i = 0; i < n_axes; i++) {
            if ((st = e2e_axis(k, axes_attr[i], r, &axes[i])))
                return st;
            if (seen[axes[i]])
                return e2e_kfail(k, E2E_ERR_INVALID, "axis %lld is listed twice",
                                 (long long)axes_attr[i]);
            seen[axes[i]] = true;
        }
        na = n_axes;
    } else {
        for (int i = 0; i < r; i++)
            axes[i] = i;
    }

    int i_roi = legacy ? -1 : 1, i_scales = legacy ? 1 : 2, i_sizes = legacy ? -1 : 3;
    bool has_scales = present(k, i_scales) || n_scales_attr > 0, has_sizes = i_sizes >= 0 && present(k, i_sizes);
    if (has_scales && has_sizes)
        return e2e_kfail(k, E2E_ERR_INVALID, "only one of scales and sizes may be given");
    if (!has_scales && !has_sizes)
        return e2e_kfail(k, E2E_ERR_INVALID, "one of scales and sizes must be given");

    float roi[2 * E2E_MAX_RANK];
    for (int i = 0; i < r; i++) {
        roi[i] = 0.f;
        roi[r + i] = 1.f;
    }
    if (ct == CT_TF_CROP && present(k, i_roi)) {
        float rbuf[2 * E2E_MAX_RANK];
        int nroi;
        if ((st = e2e_input_floats(k, i_roi, rbuf, 2 * E2E_MAX_RANK, &nroi)))
            return st;
        if (nroi != 2 * na)
            return e2e_kfail(k, E2E_ERR_INVALID, "roi has %d values, expected %d", nroi, 2 * na);
        for (int i = 0; i < na; i++) {
            roi[axes[i]] = rbuf[i];
            roi[r + axes[i]] = rbuf[na + i];
        }
    }

    axis_params ap[E2E_MAX_RANK];
    e2e_shape ys = *xs;
    for (int i = 0; i < r; i++) {
        ap[i] = (axis_params){.mode = mode, .ct = ct, .nm = nm, .cubic_a = cubic_a,
                              .exclude_outside = excl != 0, .antialias = antialias != 0,
                              .scale = 1.f,
                              .roi0 = roi[i], .roi1 = roi[r + i]};
    }
    if (has_scales) {
        float sc[E2E_MAX_RANK];
        int ns = n_scales_attr;
        if (ns > E2E_MAX_RANK)
            return e2e_kfail(k, E2E_ERR_INVALID, "scales has %d values, expected %d", ns, na);
        if (ns)
            memcpy(sc, scales_attr, (size_t)ns * sizeof *sc);
        else if ((st = e2e_input_floats(k, i_scales, sc, E2E_MAX_RANK, &ns)))
            return st;
        if (ns != na)
            return e2e_kfail(k, E2E_ERR_INVALID, "scales has %d values, expected %d", ns, na);
        for (int i = 0; i < na; i++) {
            int a = axes[i];
            if (!(sc[i] > 0.f) || !isfinite(sc[i]))
                return e2e_kfail(k, E2E_ERR_INVALID, "scale %g for axis %d is not positive",
                                 (double)sc[i], a);
            /* floor(length * scale) with the product in float, as ONNX Runtime: 10 * 0.7f is
               7 (PyTorch's scale_factor=0.7 gives 7 too), where the exact product 6.99999988
               floors to 6. Also for tf_crop_and_resize: the spec text multiplies by
               (roi_end - roi_start) too, but ONNX's shape inference, onnx.reference and ONNX
               Runtime do not (docs/operator-notes.md) */
            double o = floor((double)((float)xs->dims[a] * sc[i]));
            if (o > 1e12)
                return e2e_kfail(k, E2E_ERR_SHAPE, "scale %g makes axis %d too large",
                                 (double)sc[i], a);
            ys.dims[a] = (int64_t)o;
            ap[a].scale = sc[i];
        }
    } else {
        int64_t sz[E2E_MAX_RANK];
        int ns;
        if ((st = e2e_input_ints(k, i_sizes, sz, E2E_MAX_RANK, &ns)))
            return st;
        if (ns != na)
            return e2e_kfail(k, E2E_ERR_INVALID, "sizes has %d values, expected %d", ns, na);
        for (int i = 0; i < na; i++) {
            if (sz[i] < 0 || sz[i] > ((int64_t)1 << 40))
                return e2e_kfail(k, E2E_ERR_INVALID, "size %lld for axis %d is not valid",
                                 (long long)sz[i], axes[i]);
            if (xs->dims[axes[i]] == 0 && sz[i] != 0)
                return e2e_kfail(k, E2E_ERR_SHAPE, "axis %d has length 0 and cannot be resized",
                                 axes[i]);
        }
        if (kar == 0) {
            for (int i = 0; i < na; i++) {
                int a = axes[i];
                ys.dims[a] = sz[i];
                ap[a].scale = xs->dims[a] ? (float)sz[i] / (float)xs->dims[a] : 1.f;
            }
        } else {
            double s = kar == 1 ? INFINITY : 0.0;
            for (int i = 0; i < na; i++) {
                double si = (double)sz[i] / (double)xs->dims[axes[i]];
                s = kar == 1 ? fmin(s, si) : fmax(s, si);
            }
            for (int i = 0; i < na; i++) {
                int a = axes[i];
                ys.dims[a] = (int64_t)(s * (double)xs->dims[a] + 0.5);
                ap[a].scale = (float)s;
            }
        }
    }
    for (int a = 0; a < r; a++)
        if (ys.dims[a] > 0 && xs->dims[a] == 0)
            return e2e_kfail(k, E2E_ERR_SHAPE, "axis %d has length 0 and cannot be resized", a);
    if ((st = e2e_out_set(k, 0, xv->dtype, &ys)))
        return st;

    /* tables */
    rs_priv *p = calloc(1, sizeof *p);
    if (!p)
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory");
    p->mode = mode;
    p->rank = r;
    p->esize = e2e_dtype_size(xv->dtype);
    switch (xv->dtype) {
    case E2E_FLOAT: memcpy(p->extrap, &extrap, 4); break;
    case E2E_INT64: { int64_t v = (int64_t)extrap; memcpy(p->extrap, &v, 8); break; }
    case E2E_INT32: { int32_t v = (int32_t)extrap; memcpy(p->extrap, &v, 4); break; }
    case E2E_INT8: { int8_t v = (int8_t)extrap; memcpy(p->extrap, &v, 1); break; }
    case E2E_UINT8: { uint8_t v = (uint8_t)extrap; memcpy(p->extrap, &v, 1); break; }
    default: p->extrap[0] = extrap != 0.f; break;
    }
    if (k->out[0]->numel == 0) { /* nothing to compute: no tables (run returns at once) */
        k->priv = p;
        return E2E_OK;
    }
    size_t total = 0;
    int maxtaps = 1;
    for (int a = 0; a < r; a++) {
        p->ax[a].in = xs->dims[a];
        p->ax[a].out = ys.dims[a];
        int t = axis_taps(&ap[a]);
        if (t > 4096) {
            rs_release(p);
            return e2e_kfail(k, E2E_ERR_UNSUPPORTED,
                             "antialias kernel for axis %d would have %d taps", a, t);
        }
        p->ax[a].taps = t;
        maxtaps = t > maxtaps ? t : maxtaps;
        total += (size_t)ys.dims[a] * (size_t)t * (sizeof(int64_t) + (mode ? sizeof(float) : 0));
    }
    p->mem = malloc(total + (size_t)maxtaps * sizeof(double) + 16);
    if (!p->mem) {
        rs_release(p);
        return e2e_kfail(k, E2E_ERR_NOMEM, "out of memory for resize tables");
    }
    char *m = p->mem;
    for (int a = 0; a < r; a++) {
        size_t n = (size_t)ys.dims[a] * (size_t)p->ax[a].taps;
        p->ax[a].idx = (int64_t *)m;
        m += n * sizeof(int64_t);
    }
    for (int a = 0; a < r && mode; a++) {
        size_t n = (size_t)ys.dims[a] * (size_t)p->ax[a].taps;
        p->ax[a].w = (float *)m;
        m += n * sizeof(float);
    }
    double *cbuf = (double *)(((uintptr_t)m + 7) & ~(uintptr_t)7);
    for (int a = 0; a < r; a++)
        axis_fill(&ap[a], &p->ax[a], cbuf);

    int64_t s = 1;
    for (int a = r - 1; a >= 0; a--) {
        p->istride[a] = s;
        s *= xs->dims[a];
    }
    if (mode != MODE_NEAREST) {
        /* separable passes, last axis first; intermediates live in two ws buffers */
        for (int a = r - 1; a >= 0; a--)
            if (!p->ax[a].identity)
                p->pass_axis[p->npass++] = a;
        e2e_shape cur = *xs;
        for (int i = 0; i + 1 < p->npass; i++) {
            cur.dims[p->pass_axis[i]] = ys.dims[p->pass_axis[i]];
            int64_t n = e2e_shape_numel(&cur);
            p->buf_elems = n > p->buf_elems ? n : p->buf_elems;
        }
        p->buf_elems = (p->buf_elems + 15) & ~(int64_t)15;
        k->ws_size = (size_t)(p->npass > 2 ? 2 : p->npass > 1 ? 1 : 0) * (size_t)p->buf_elems *
                     sizeof(float);
    }
    k->priv = p;
    return E2E_OK;
}

static e2e_status resize_prepare(e2e_kernel *k) { return resize_prepare_common(k, false); }
static e2e_status upsample_prepare(e2e_kernel *k) { return resize_prepare_common(k, true); }

/* Nearest: out[y] = in[sum_a idx_a[y_a] * stride_a], any element size. */
static void run_nearest(const rs_priv *p, const unsigned char *x, unsigned char *y)
{
    int r = p->rank;
    const rs_axis *last = &p->ax[r - 1];
    int64_t W = last->out, lstride = p->istride[r - 1];
    size_t es = p->esize;
    int64_t rows = 1;
    for (int a = 0; a < r - 1; a++)
        rows *= p->ax[a].out;
    if (W == 0)
        return;
    int64_t pos[E2E_MAX_RANK] = {0};
    for (int64_t row = 0; row < rows; row++) {
        int64_t base = 0;
        bool ext = false;
        for (int a = 0; a < r - 1; a++) {
            int64_t i = p->ax[a].idx[pos[a]];
            if (i < 0)
                ext = true;
            base += i * p->istride[a];
        }
        unsigned char *yr = y + (size_t)(row * W) * es;
        if (ext) {
            for (int64_t j = 0; j < W; j++)
                memcpy(yr + j * es, p->extrap, es);
        } else if (es == 4) {
            const uint32_t *xb = (const uint32_t *)x + base;
            uint32_t *yo = (uint32_t *)yr, e;
            memcpy(&e, p->extrap, 4);
            for (int64_t j = 0; j < W; j++) {
                int64_t i = last->idx[j];
                yo[j] = i < 0 ? e : xb[i * lstride];
            }
        } else {
            for (int64_t j = 0; j < W; j++) {
                int64_t i = last->idx[j];
                memcpy(yr + j * es, i < 0 ? p->extrap : x + (size_t)(base + i * lstride) * es, es);
            }
        }
        for (int a = r - 2; a >= 0; a--) {
            if (++pos[a] < p->ax[a].out)
                break;
            pos[a] = 0;
        }
    }
}

/* One separable pass over axis a: [outer, in_a, inner] -> [outer, out_a, inner]. */
static void run_pass(const rs_axis *ax, int64_t outer, int64_t inner, float extrap,
                     const float *src, float *dst)
{
    int n = ax->taps;
    for (int64_t o = 0; o < outer; o++) {
        const float *so = src + o * ax->in * inner;
        float *d = dst + o * ax->out * inner;
        for (int64_t x = 0; x < ax->out; x++, d += inner) {
            const int64_t *idx = ax->idx + x * n;
            const float *w = ax->w + x * n;
            if (idx[0] < 0) {
                for (int64_t i = 0; i < inner; i++)
                    d[i] = extrap;
                continue;
            }
            if (inner == 1) {
                float acc = 0.f;
                for (int t = 0; t < n; t++)
                    acc += w[t] * so[idx[t]];
                d[0] = acc;
                continue;
            }
            const float *s0 = so + idx[0] * inner;
            float w0 = w[0];
            for (int64_t i = 0; i < inner; i++)
                d[i] = w0 * s0[i];
            for (int t = 1; t < n; t++) {
                float wt = w[t];
                if (wt == 0.f)
                    continue;
                const float *st = so + idx[t] * inner;
                for (int64_t i = 0; i < inner; i++)
                    d[i] += wt * st[i];
            }
        }
    }
}

static e2e_status resize_run(e2e_kernel *k)
{
    const rs_priv *p = k->priv;
    const e2e_value *xv = k->in[0];
    e2e_value *yv = k->out[0];
    if (yv->numel == 0)
        return E2E_OK;
    if (p->mode == MODE_NEAREST) {
        run_nearest(p, xv->data, yv->data);
        return E2E_OK;
    }
    if (p->npass == 0) {
        memcpy(yv->data, xv->data, (size_t)xv->numel * sizeof(float));
        return E2E_OK;
    }
    float extrap;
    memcpy(&extrap, p->extrap, 4);
    int64_t cur[E2E_MAX_RANK];
    for (int a = 0; a < p->rank; a++)
        cur[a] = p->ax[a].in;
    const float *src = xv->data;
    float *bufs[2] = {k->ws, p->npass > 2 ? (float *)k->ws + p->buf_elems : NULL};
    for (int i = 0; i < p->npass; i++) {
        int a = p->pass_axis[i];
        int64_t outer = 1, inner = 1;
        for (int b = 0; b < a; b++)
            outer *= cur[b];
        for (int b = a + 1; b < p->rank; b++)
            inner *= cur[b];
        float *dst = i + 1 == p->npass ? (float *)yv->data : bufs[i & 1];
        run_pass(&p->ax[a], outer, inner, extrap, src, dst);
        cur[a] = p->ax[a].out;
        src = dst;
    }
    return E2E_OK;
}

const e2e_op_def e2e_ops_resize[] = {
    {"Resize", resize_prepare, resize_run, rs_release, 0},
    {"Upsample", upsample_prepare, resize_run, rs_release, 0},
    {0},
};
