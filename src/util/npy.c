/* .npy reader and writer. The header is a Python dict literal; we accept the subset NumPy
   writes: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/npy.h"

static e2e_status parse_descr(const char *d, e2e_dtype *dt, int *f64, const char *name,
                              e2e_error *err)
{
    *f64 = 0;
    if (!strcmp(d, "<f4")) *dt = E2E_FLOAT;
    else if (!strcmp(d, "<f8")) { *dt = E2E_FLOAT; *f64 = 1; }
    else if (!strcmp(d, "<i8")) *dt = E2E_INT64;
    else if (!strcmp(d, "<i4")) *dt = E2E_INT32;
    else if (!strcmp(d, "|b1")) *dt = E2E_BOOL;
    else if (!strcmp(d, "|u1")) *dt = E2E_UINT8;
    else if (!strcmp(d, "|i1")) *dt = E2E_INT8;
    else
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: unsupported .npy dtype '%s'", name, d);
    return E2E_OK;
}

e2e_status e2e_npy_read_buffer(const void *buf, size_t size, const char *name, e2e_tensor *out,
                               e2e_error *err)
{
    const unsigned char *p = buf;
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(p, "\x93NUMPY", 6) != 0)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: not a .npy file (bad magic)", name);
    int major = p[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = p[8] | (size_t)p[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12)
            return e2e_fail(err, E2E_ERR_PARSE, "%s: truncated .npy header", name);
        hlen = p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
        off = 12;
    } else
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: .npy version %d not supported", name, major);
    if (hlen > size - off || hlen > 65536)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: truncated .npy header", name);
    char hdr[65537];
    memcpy(hdr, p + off, hlen);
    hdr[hlen] = 0;

    char descr[16] = {0};
    const char *d = strstr(hdr, "'descr'");
    const char *fo = strstr(hdr, "'fortran_order'");
    const char *sh = strstr(hdr, "'shape'");
    if (!d || !fo || !sh)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: .npy header lacks descr/fortran_order/shape", name);
    d = strchr(d + 7, '\'');
    if (!d || sscanf(d + 1, "%15[^']", descr) != 1)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: bad descr in .npy header", name);
    if (strstr(fo, "True") && strstr(fo, "True") < strstr(fo, ","))
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: fortran_order arrays are not supported", name);
    e2e_dtype dt = E2E_UNDEFINED;
    int f64 = 0;
    e2e_status st = parse_descr(descr, &dt, &f64, name, err);
    if (st)
        return st;
    const char *q = strchr(sh, '(');
    const char *qe = q ? strchr(q, ')') : NULL;
    if (!q || !qe)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: bad shape in .npy header", name);
    e2e_shape s = {0};
    for (q++; q < qe;) {
        while (q < qe && (isspace((unsigned char)*q) || *q == ','))
            q++;
        if (q >= qe)
            break;
        char *end;
        long long v = strtoll(q, &end, 10);
        if (end == q || v < 0)
            return e2e_fail(err, E2E_ERR_PARSE, "%s: bad dimension in .npy shape", name);
        if (s.rank == E2E_MAX_RANK)
            return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: rank above %d", name, E2E_MAX_RANK);
        s.dims[s.rank++] = v;
        q = end;
    }
    int64_t n = e2e_shape_numel(&s);
    if (n < 0)
        return e2e_fail(err, E2E_ERR_SHAPE, "%s: shape too large", name);
    size_t esz = f64 ? 8 : e2e_dtype_size(dt);
    size_t need = (size_t)n * esz, data_off = off + hlen;
    if (size - data_off < need)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: data truncated (%zu of %zu bytes)", name,
                        size - data_off, need);
    out->dtype = dt;
    out->shape = s;
    if ((st = e2e_tensor_alloc(out, err)))
        return st;
    if (f64) {
        float *f = out->data;
        for (int64_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, p + data_off + 8 * (size_t)i, 8);
            f[i] = (float)v;
        }
    } else
        memcpy(out->data, p + data_off, need);
    return E2E_OK;
}

e2e_status e2e_npy_read(const char *path, e2e_tensor *out, e2e_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(sz > 0 ? (size_t)sz : 1);
    if (!buf) {
        fclose(f);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, (size_t)sz, f);
    fclose(f);
    e2e_status st = e2e_npy_read_buffer(buf, got, path, out, err);
    free(buf);
    return st;
}

e2e_status e2e_npy_write(const char *path, e2e_dtype dt, int rank, const int64_t *dims,
                         const void *data, e2e_error *err)
{
    const char *descr = dt == E2E_FLOAT ? "<f4" : dt == E2E_INT64 ? "<i8" : dt == E2E_INT32 ? "<i4"
                      : dt == E2E_BOOL ? "|b1" : dt == E2E_UINT8 ? "|u1" : dt == E2E_INT8 ? "|i1" : NULL;
    if (!descr)
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: cannot write dtype %s", path, e2e_dtype_name(dt));
    char shape[256] = "";
    size_t len = 0;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        len += (size_t)snprintf(shape + len, sizeof shape - len, "%lld,%s", (long long)dims[i],
                                i + 1 < rank ? " " : "");
        n *= dims[i];
    }
    if (rank > 1)
        shape[len - 1] = 0; /* (2, 3) not (2, 3,) */
    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                      descr, shape);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot create", path);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)((hl + pad + 1) & 0xff), (unsigned char)((hl + pad + 1) >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(hdr, 1, (size_t)hl, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    size_t nb = (size_t)n * e2e_dtype_size(dt);
    int ok = fwrite(data, 1, nb, f) == nb;
    ok &= fclose(f) == 0;
    return ok ? E2E_OK : e2e_fail(err, E2E_ERR_IO, "%s: write failed", path);
}
