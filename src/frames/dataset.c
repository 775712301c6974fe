/* Pre-made frames: .npy (streamed, header parsed here) and HDF5 (E2E_HAVE_HDF5) in the
   layouts of the public E2E datasets, read in chunks and converted to NCHW. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#ifdef E2E_HAVE_HDF5
#include <hdf5.h>
#endif

#include "frames/dataset.h"
#include "core/ir.h"
#include "util/npy.h"

typedef enum { DT_F32, DT_F64, DT_I8, DT_U8, DT_I32, DT_I64 } src_type;

struct e2e_dataset {
    char path[1024];
    e2e_dataset_info info;
    int64_t pos;
    int64_t frame_elems;      /* C * H * W */
    /* .npy */
    FILE *f;
    src_type st;
    size_t esz;
    long long data_off;
    /* HDF5 */
#ifdef E2E_HAVE_HDF5
    hid_t h5, dx, dy;
    int y_rank;
    hsize_t y_cols;
#endif
    /* one chunk in the file layout */
    void *raw;
    size_t raw_bytes;
    float *lab_tmp;           /* HDF5 /y rows of a chunk */
    size_t lab_tmp_n;
    float *labels;            /* from --labels (N floats) */
};

/* ---- .npy header ---- */

static e2e_status npy_open(e2e_dataset *d, int64_t *dims, int *rank, e2e_error *err)
{
    const char *name = d->path;
    unsigned char pre[12];
    if (fread(pre, 1, 10, d->f) != 10)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: truncated .npy header", name);
    size_t hlen, off;
    if (pre[6] == 1) {
        hlen = pre[8] | (size_t)pre[9] << 8;
        off = 10;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, d->f) != 2)
            return e2e_fail(err, E2E_ERR_PARSE, "%s: truncated .npy header", name);
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        off = 12;
    } else
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: .npy version %d not supported", name,
                        pre[6]);
    if (hlen > 65536)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: .npy header too long", name);
    char hdr[65537];
    if (fread(hdr, 1, hlen, d->f) != hlen)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: truncated .npy header", name);
    hdr[hlen] = 0;
    d->data_off = (long long)(off + hlen);
    const char *ds = strstr(hdr, "'descr'"), *fo = strstr(hdr, "'fortran_order'"),
               *sh = strstr(hdr, "'shape'");
    char descr[16] = {0};
    if (!ds || !fo || !sh)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: .npy header lacks descr/fortran_order/shape",
                        name);
    ds = strchr(ds + 7, '\'');
    if (!ds || sscanf(ds + 1, "%15[^']", descr) != 1)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: bad descr in .npy header", name);
    const char *tr = strstr(fo, "True"), *comma = strchr(fo, ',');
    if (tr && (!comma || tr < comma))
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: fortran_order arrays are not supported",
                        name);
    static const struct { const char *d; src_type t; size_t sz; } types[] = {
        {"<f4", DT_F32, 4}, {"<f8", DT_F64, 8}, {"|i1", DT_I8, 1}, {"|u1", DT_U8, 1},
        {"<i4", DT_I32, 4}, {"<i8", DT_I64, 8}};
    size_t k = 0;
    while (k < sizeof types / sizeof types[0] && strcmp(types[k].d, descr))
        k++;
    if (k == sizeof types / sizeof types[0])
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: unsupported .npy dtype '%s' (float32, "
                        "float64, int8, uint8, int32, int64)", name, descr);
    d->st = types[k].t;
    d->esz = types[k].sz;
    const char *q = strchr(sh, '('), *qe = q ? strchr(q, ')') : NULL;
    if (!q || !qe)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: bad shape in .npy header", name);
    *rank = 0;
    for (q++; q < qe;) {
        while (q < qe && (isspace((unsigned char)*q) || *q == ','))
            q++;
        if (q >= qe)
            break;
        char *end;
        long long v = strtoll(q, &end, 10);
        if (end == q || v < 0)
            return e2e_fail(err, E2E_ERR_PARSE, "%s: bad dimension in .npy shape", name);
        if (*rank == 8)
            return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: rank above 8", name);
        dims[(*rank)++] = v;
        q = end;
    }
    return E2E_OK;
}

static float conv(const void *raw, src_type t, size_t i)
{
    switch (t) {
    case DT_F32: return ((const float *)raw)[i];
    case DT_F64: return (float)((const double *)raw)[i];
    case DT_I8: return ((const int8_t *)raw)[i];
    case DT_U8: return ((const uint8_t *)raw)[i];
    case DT_I32: return (float)((const int32_t *)raw)[i];
    default: return (float)((const int64_t *)raw)[i];
    }
}

/* ---- layout ---- */

static e2e_status set_shape(e2e_dataset *d, const int64_t *dims, int rank, e2e_frames_layout lay,
                            e2e_error *err)
{
    e2e_dataset_info *in = &d->info;
    char shape[128];
    int o = 0;
    for (int i = 0; i < rank && o < 100; i++)
        o += snprintf(shape + o, sizeof shape - o, "%s%lld", i ? ", " : "", (long long)dims[i]);
    shape[o] = 0;
    if (rank == 3) {
        in->n = dims[0];
        in->c = 1;
        in->h = (int)dims[1];
        in->w = (int)dims[2];
        in->layout = E2E_LAYOUT_NCHW;
    } else if (rank == 4) {
        if (lay == E2E_LAYOUT_AUTO)
            lay = dims[3] <= 16 && dims[1] > 16 ? E2E_LAYOUT_NHWC : E2E_LAYOUT_NCHW;
        in->n = dims[0];
        in->layout = lay;
        if (lay == E2E_LAYOUT_NHWC) {
            in->h = (int)dims[1];
            in->w = (int)dims[2];
            in->c = (int)dims[3];
        } else {
            in->c = (int)dims[1];
            in->h = (int)dims[2];
            in->w = (int)dims[3];
        }
    } else
        return e2e_fail(err, E2E_ERR_SHAPE, "%s%s%s: frames must be (N,C,H,W), (N,H,W,C) or "
                        "(N,H,W); the array is (%s)", d->path, in->dataset[0] ? " " : "",
                        in->dataset, shape);
    for (int i = 1; i < rank; i++)
        if (dims[i] < 1 || dims[i] > 1 << 16)
            return e2e_fail(err, E2E_ERR_SHAPE, "%s: frame dimension out of range in (%s)",
                            d->path, shape);
    d->frame_elems = (int64_t)in->c * in->h * in->w;
    return E2E_OK;
}

/* ---- labels ---- */

static e2e_status load_labels(e2e_dataset *d, const char *lp, e2e_error *err)
{
    e2e_tensor t;
    e2e_status st = e2e_npy_read(lp, &t, err);
    if (st)
        return st;
    int64_t cols = t.shape.rank == 2 ? t.shape.dims[1] : 1;
    if (t.shape.rank < 1 || t.shape.rank > 2 || t.shape.dims[0] != d->info.n || cols < 1) {
        e2e_tensor_clear(&t);
        return e2e_fail(err, E2E_ERR_SHAPE, "%s: labels must be (N,) or (N, k) with N = %lld "
                        "frames of %s", lp, (long long)d->info.n, d->path);
    }
    d->labels = malloc((size_t)(d->info.n ? d->info.n : 1) * sizeof(float));
    if (!d->labels) {
        e2e_tensor_clear(&t);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", lp);
    }
    for (int64_t i = 0; i < d->info.n; i++) {
        /* (N, k > 1): one-hot rows, the label is the column of the largest value */
        int64_t best = 0;
        double bv = -INFINITY;
        for (int64_t k = 0; k < cols; k++) {
            size_t at = (size_t)(i * cols + k);
            double v;
            switch (t.dtype) {
            case E2E_FLOAT: v = ((float *)t.data)[at]; break;
            case E2E_INT64: v = (double)((int64_t *)t.data)[at]; break;
            case E2E_INT32: v = ((int32_t *)t.data)[at]; break;
            case E2E_INT8: v = ((int8_t *)t.data)[at]; break;
            default: v = ((uint8_t *)t.data)[at]; break;
            }
            if (cols == 1)
                bv = v;
            else if (v > bv) {
                bv = v;
                best = k;
            }
        }
        d->labels[i] = cols == 1 ? (float)bv : (float)best;
    }
    e2e_tensor_clear(&t);
    d->info.has_labels = 1;
    return E2E_OK;
}

/* ---- HDF5 ---- */

#ifdef E2E_HAVE_HDF5
static int h5_has(hid_t f, const char *name)
{
    return H5Lexists(f, name, H5P_DEFAULT) > 0;
}

/* The names at the file's top level, comma-separated, for an error message. */
typedef struct h5_names {
    char buf[256];
    size_t len;
} h5_names;

static herr_t h5_name_cb(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)g, (void)info;
    h5_names *n = op;
    int w = snprintf(n->buf + n->len, sizeof n->buf - n->len, "%s/%s", n->len ? ", " : "", name);
    if (w < 0 || (size_t)w >= sizeof n->buf - n->len)
        return 1; /* full: stop */
    n->len += (size_t)w;
    return 0;
}

static e2e_status h5_open(e2e_dataset *d, int have_labels_file, const char *want,
                          int64_t *dims, int *rank, e2e_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    d->h5 = H5Fopen(d->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (d->h5 < 0)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: cannot open as HDF5", d->path);
    char wanted[256];
    const char *name;
    if (want) { /* a chosen dataset: "X" and "/X" are the same */
        snprintf(wanted, sizeof wanted, "%s%s", want[0] == '/' ? "" : "/", want);
        name = wanted;
    } else {
        name = h5_has(d->h5, "/X_jets") ? "/X_jets" : h5_has(d->h5, "/X") ? "/X" : NULL;
    }
    if (!name || !h5_has(d->h5, name)) {
        h5_names nm = {{0}, 0};
        H5Literate(d->h5, H5_INDEX_NAME, H5_ITER_INC, NULL, h5_name_cb, &nm);
        if (want)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: no dataset %s (the file has: %s)",
                            d->path, name, nm.len ? nm.buf : "nothing");
        return e2e_fail(err, E2E_ERR_PARSE, "%s: no dataset /X_jets or /X (the frames of the "
                        "public E2E datasets; the file has: %s; --dataset NAME picks one)",
                        d->path, nm.len ? nm.buf : "nothing");
    }
    snprintf(d->info.dataset, sizeof d->info.dataset, "%s", name);
    d->dx = H5Dopen2(d->h5, name, H5P_DEFAULT);
    if (d->dx < 0)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: cannot open dataset %s", d->path, name);
    hid_t sp = H5Dget_space(d->dx);
    int r = H5Sget_simple_extent_ndims(sp);
    hsize_t hd[8];
    if (r < 1 || r > 8) {
        H5Sclose(sp);
        return e2e_fail(err, E2E_ERR_SHAPE, "%s %s: rank %d", d->path, name, r);
    }
    H5Sget_simple_extent_dims(sp, hd, NULL);
    H5Sclose(sp);
    hid_t ty = H5Dget_type(d->dx);
    H5T_class_t cls = H5Tget_class(ty);
    H5Tclose(ty);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s %s: not a numeric dataset", d->path, name);
    *rank = r;
    for (int i = 0; i < r; i++)
        dims[i] = (int64_t)hd[i];
    if (!have_labels_file && h5_has(d->h5, "/y")) {
        d->dy = H5Dopen2(d->h5, "/y", H5P_DEFAULT);
        if (d->dy < 0)
            return e2e_fail(err, E2E_ERR_PARSE, "%s: cannot open dataset /y", d->path);
        sp = H5Dget_space(d->dy);
        d->y_rank = H5Sget_simple_extent_ndims(sp);
        hsize_t yd[2] = {0, 1};
        if (d->y_rank < 1 || d->y_rank > 2) {
            H5Sclose(sp);
            return e2e_fail(err, E2E_ERR_SHAPE, "%s /y: labels must be (N,) or (N, k)", d->path);
        }
        H5Sget_simple_extent_dims(sp, yd, NULL);
        H5Sclose(sp);
        if ((int64_t)yd[0] != dims[0] || (d->y_rank == 2 && yd[1] < 1))
            return e2e_fail(err, E2E_ERR_SHAPE, "%s /y: %llu labels for %lld frames", d->path,
                            (unsigned long long)yd[0], (long long)dims[0]);
        d->y_cols = d->y_rank == 2 ? yd[1] : 1;
        d->info.has_labels = 1;
    }
    return E2E_OK;
}

static e2e_status h5_read(e2e_dataset *d, hid_t ds, int rank, const hsize_t *start,
                          const hsize_t *count, float *out, const char *what, e2e_error *err)
{
    hid_t fs = H5Dget_space(ds);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0)
        rc = H5Dread(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0)
        return e2e_fail(err, E2E_ERR_IO, "%s %s: read failed at frame %llu", d->path, what,
                        (unsigned long long)start[0]);
    return E2E_OK;
}
#endif

/* ---- public ---- */

e2e_status e2e_dataset_open(const char *path, e2e_frames_layout layout, const char *labels_path,
                            e2e_dataset **out, e2e_error *err)
{
    return e2e_dataset_open_named(path, NULL, layout, labels_path, out, err);
}

e2e_status e2e_dataset_open_named(const char *path, const char *dataset, e2e_frames_layout layout,
                                  const char *labels_path, e2e_dataset **out, e2e_error *err)
{
    *out = NULL;
    e2e_dataset *d = calloc(1, sizeof *d);
    if (!d)
        return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
#ifdef E2E_HAVE_HDF5
    d->h5 = d->dx = d->dy = -1;
#endif
    snprintf(d->path, sizeof d->path, "%s", path);
    e2e_status st;
    int64_t dims[8];
    int rank = 0;
    unsigned char sig[8] = {0};
    d->f = fopen(path, "rb");
    if (!d->f) {
        st = e2e_fail(err, E2E_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    size_t got = fread(sig, 1, 8, d->f);
    if (got >= 6 && !memcmp(sig, "\x93NUMPY", 6)) {
        snprintf(d->info.format, sizeof d->info.format, "npy");
        rewind(d->f);
        if (dataset) {
            st = e2e_fail(err, E2E_ERR_ARGUMENT, "%s: a .npy file holds one array; a dataset "
                          "name (%s) is for HDF5 files", path, dataset);
            goto fail;
        }
        if ((st = npy_open(d, dims, &rank, err)))
            goto fail;
    } else if (got == 8 && !memcmp(sig, "\x89HDF\r\n\x1a\n", 8)) {
        snprintf(d->info.format, sizeof d->info.format, "hdf5");
        fclose(d->f);
        d->f = NULL;
#ifdef E2E_HAVE_HDF5
        if ((st = h5_open(d, labels_path != NULL, dataset, dims, &rank, err)))
            goto fail;
#else
        st = e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: an HDF5 file, and this build has no HDF5 "
                      "support (rebuild with make HDF5=1, needs libhdf5-dev; or convert the "
                      "frames to .npy)", path);
        goto fail;
#endif
    } else {
        st = e2e_fail(err, E2E_ERR_PARSE, "%s: neither a .npy nor an HDF5 file", path);
        goto fail;
    }
    if ((st = set_shape(d, dims, rank, layout, err)))
        goto fail;
    if (d->f) {
        /* the data must all be there */
        if (fseeko(d->f, 0, SEEK_END) == 0) {
            long long size = (long long)ftello(d->f);
            long long need = d->data_off + (long long)d->info.n * d->frame_elems * (long long)d->esz;
            if (size < need) {
                st = e2e_fail(err, E2E_ERR_PARSE, "%s: data truncated (%lld of %lld bytes)", path,
                              size - d->data_off, need - d->data_off);
                goto fail;
            }
        }
    }
    if (labels_path && (st = load_labels(d, labels_path, err)))
        goto fail;
    *out = d;
    return E2E_OK;
fail:
    e2e_dataset_close(d);
    return st;
}

void e2e_dataset_get_info(const e2e_dataset *d, e2e_dataset_info *out)
{
    *out = d->info;
}

e2e_status e2e_dataset_seek(e2e_dataset *d, int64_t index, e2e_error *err)
{
    if (index < 0 || index > d->info.n)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: no frame %lld (the file has %lld)", d->path,
                        (long long)index, (long long)d->info.n);
    d->pos = index;
    return E2E_OK;
}

int e2e_dataset_parse_channels(const char *s, int *sel, int max)
{
    int n = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 4096 || n == max)
            return -1;
        sel[n++] = (int)v;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return n;
}

e2e_status e2e_dataset_read(e2e_dataset *d, const int *sel, int nsel, size_t max, float *frames,
                            float *labels, size_t *got, e2e_error *err)
{
    *got = 0;
    const e2e_dataset_info *in = &d->info;
    for (int k = 0; k < nsel; k++)
        if (sel[k] < 0 || sel[k] >= in->c)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: channel %d does not exist (the frames "
                            "have %d channel%s, 0..%d)", d->path, sel[k], in->c,
                            in->c == 1 ? "" : "s", in->c - 1);
    int64_t left = in->n - d->pos;
    size_t n = left < (int64_t)max ? (size_t)left : max;
    if (n == 0)
        return E2E_OK;
    size_t esz = d->f ? d->esz : sizeof(float);
    size_t need = n * (size_t)d->frame_elems * esz;
    if (need > d->raw_bytes) {
        void *r = realloc(d->raw, need);
        if (!r)
            return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory for a chunk of %zu frames",
                            d->path, n);
        d->raw = r;
        d->raw_bytes = need;
    }
    src_type st = d->f ? d->st : DT_F32;
    if (d->f) {
        long long off = d->data_off + d->pos * d->frame_elems * (long long)d->esz;
        if (fseeko(d->f, (off_t)off, SEEK_SET) || fread(d->raw, 1, need, d->f) != need)
            return e2e_fail(err, E2E_ERR_IO, "%s: read failed at frame %lld", d->path,
                            (long long)d->pos);
    }
#ifdef E2E_HAVE_HDF5
    else {
        int rank = 4;
        hsize_t start[4] = {(hsize_t)d->pos, 0, 0, 0}, count[4] = {n, 0, 0, 0};
        hid_t sp = H5Dget_space(d->dx);
        rank = H5Sget_simple_extent_ndims(sp);
        H5Sget_simple_extent_dims(sp, count, NULL);
        H5Sclose(sp);
        count[0] = n;
        e2e_status s = h5_read(d, d->dx, rank, start, count, d->raw, in->dataset, err);
        if (s)
            return s;
    }
#endif
    /* file layout -> NCHW with the selected channels */
    const size_t H = (size_t)in->h, W = (size_t)in->w, C = (size_t)in->c, HW = H * W;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < nsel; k++) {
            float *o = frames + (i * nsel + k) * HW;
            size_t c = (size_t)sel[k];
            if (in->layout == E2E_LAYOUT_NHWC) {
                size_t base = i * HW * C + c;
                for (size_t p = 0; p < HW; p++)
                    o[p] = conv(d->raw, st, base + p * C);
            } else {
                size_t base = (i * C + c) * HW;
                if (st == DT_F32)
                    memcpy(o, (const float *)d->raw + base, HW * sizeof(float));
                else
                    for (size_t p = 0; p < HW; p++)
                        o[p] = conv(d->raw, st, base + p);
            }
        }
    if (labels) {
        if (d->labels) {
            for (size_t i = 0; i < n; i++)
                labels[i] = d->labels[d->pos + (int64_t)i];
        }
#ifdef E2E_HAVE_HDF5
        else if (d->dy >= 0) {
            size_t cols = (size_t)d->y_cols;
            if (n * cols > d->lab_tmp_n) {
                float *r = realloc(d->lab_tmp, n * cols * sizeof(float));
                if (!r)
                    return e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
                d->lab_tmp = r;
                d->lab_tmp_n = n * cols;
            }
            hsize_t start[2] = {(hsize_t)d->pos, 0}, count[2] = {n, cols};
            e2e_status s = h5_read(d, d->dy, d->y_rank, start, count, d->lab_tmp, "/y", err);
            if (s)
                return s;
            for (size_t i = 0; i < n; i++) {
                size_t best = 0;
                for (size_t k = 1; k < cols; k++)
                    if (d->lab_tmp[i * cols + k] > d->lab_tmp[i * cols + best])
                        best = k;
                labels[i] = cols == 1 ? d->lab_tmp[i] : (float)best;
            }
        }
#endif
        else
            for (size_t i = 0; i < n; i++)
                labels[i] = NAN;
    }
    d->pos += (int64_t)n;
    *got = n;
    return E2E_OK;
}

void e2e_dataset_close(e2e_dataset *d)
{
    if (!d)
        return;
    if (d->f)
        fclose(d->f);
#ifdef E2E_HAVE_HDF5
    if (d->dy >= 0)
        H5Dclose(d->dy);
    if (d->dx >= 0)
        H5Dclose(d->dx);
    if (d->h5 >= 0)
        H5Fclose(d->h5);
#endif
    free(d->raw);
    free(d->lab_tmp);
    free(d->labels);
    free(d);
}
