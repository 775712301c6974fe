/* TensorProto decoding: raw_data, the typed fields, scalars, empty tensors, external data. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "onnx/tensor_proto.h"
#include "core/region.h"

e2e_status e2e_file_read(const char *path, size_t max_bytes, void **data, size_t *size,
                         e2e_error *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* fopen opens a folder on Linux; its "size" from ftell is LONG_MAX */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return e2e_fail(err, E2E_ERR_IO, "%s: is a directory, not a file", path);
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot seek (not a regular file?)", path);
    }
    long sz = ftell(f);
    if (sz < 0) {
        fclose(f);
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot tell size", path);
    }
    if (max_bytes && (size_t)sz > max_bytes) {
        fclose(f);
        return e2e_fail(err, E2E_ERR_LIMIT, "%s: %ld bytes exceed the limit of %zu bytes", path, sz,
                        max_bytes);
    }
    rewind(f);
    void *buf = malloc((size_t)sz + 1);
    if (!buf) {
        fclose(f);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: cannot allocate %ld bytes", path, sz);
    }
    size_t got = fread(buf, 1, (size_t)sz, f);
    fclose(f);
    if (got != (size_t)sz) {
        free(buf);
        return e2e_fail(err, E2E_ERR_IO, "%s: short read", path);
    }
    *data = buf;
    *size = got;
    return E2E_OK;
}

e2e_status e2e_file_read_aligned(const char *path, size_t max_bytes, void **data, size_t *size,
                                 e2e_error *err)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        if (fd >= 0)
            close(fd);
        return e2e_file_read(path, max_bytes, data, size, err); /* it says why, or reads a pipe */
    }
    if (max_bytes && (uint64_t)st.st_size > max_bytes) {
        close(fd);
        return e2e_fail(err, E2E_ERR_LIMIT, "%s: %lld bytes exceed the limit of %zu bytes", path,
                        (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    /* from 64 KB on in huge pages of its own (the reader frees it soon): a 600 KB model's 150
       first touches of 4 KB pages cost more than one 2 MB page */
    e2e_region *r = n >= ((size_t)64 << 10) ? e2e_region_create(n) : NULL;
    char *buf = e2e_region_alloc(r, n);
    e2e_region_release(r);
    if (!buf)
        buf = e2e_aligned_alloc_uninit(n);
    if (!buf) {
        close(fd);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n);
    }
    size_t got = 0;
    int read_errno = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            read_errno = errno;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        e2e_aligned_free(buf);
        return e2e_fail(err, E2E_ERR_IO, "%s: read %zu of %zu bytes: %s", path, got, n,
                        read_errno ? strerror(read_errno) : "the file shrank while being read");
    }
    *data = buf;
    *size = n;
    return E2E_OK;
}

static e2e_dtype map_dtype(int32_t t)
{
    switch (t) {
    case 1: return E2E_FLOAT;
    case 2: return E2E_UINT8;
    case 3: return E2E_INT8;
    case 6: return E2E_INT32;
    case 7: return E2E_INT64;
    case 9: return E2E_BOOL;
    case 11: return E2E_FLOAT; /* double: converted */
    default: return E2E_UNDEFINED;
    }
}

/* An external-data location must stay inside the model's folder. */
static int safe_location(const char *loc)
{
    if (!loc[0] || loc[0] == '/' || loc[0] == '\\' || strchr(loc, ':'))
        return 0;
    for (const char *p = loc; *p;) {
        const char *e = p;
        while (*e && *e != '/' && *e != '\\')
            e++;
        if (e - p == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p = *e ? e + 1 : e;
    }
    return 1;
}

static e2e_status read_external(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                size_t need, void *dst, e2e_error *err)
{
    const char *loc = NULL;
    long long off = 0, len = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = tp->external_data[i];
        if (!kv->key || !kv->value)
            continue;
        if (!strcmp(kv->key, "location"))
            loc = kv->value;
        else if (!strcmp(kv->key, "offset"))
            off = strtoll(kv->value, NULL, 10);
        else if (!strcmp(kv->key, "length"))
            len = strtoll(kv->value, NULL, 10);
    }
    if (!loc)
        return e2e_fail(err, E2E_ERR_INVALID, "%s: external data without a location", what);
    if (!base_dir)
        return e2e_fail(err, E2E_ERR_INVALID,
                        "%s: external data \"%s\" but the model was loaded from memory", what, loc);
    if (!safe_location(loc))
        return e2e_fail(err, E2E_ERR_INVALID,
                        "%s: external data path \"%s\" leaves the model's folder", what, loc);
    if (off < 0 || (len >= 0 && (size_t)len != need))
        return e2e_fail(err, E2E_ERR_INVALID,
                        "%s: external data offset %lld / length %lld do not match %zu bytes", what,
                        off, len, need);
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", base_dir, loc) >= (int)sizeof path)
        return e2e_fail(err, E2E_ERR_INVALID, "%s: external data path too long", what);
    FILE *f = fopen(path, "rb");
    if (!f)
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot open external data %s", what, path);
    /* the file must hold the bytes: checked (dst == NULL) before the tensor is allocated */
    long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    int ok = end >= 0 && (unsigned long long)off <= (unsigned long long)end &&
             (unsigned long long)end - (unsigned long long)off >= need;
    if (ok && !dst) {
        fclose(f);
        return E2E_OK;
    }
    ok = ok && fseek(f, (long)off, SEEK_SET) == 0 && fread(dst, 1, need, f) == need;
    fclose(f);
    if (!ok)
        return e2e_fail(err, E2E_ERR_IO, "%s: external data %s is shorter than %zu bytes at offset %lld",
                        what, path, need, off);
    return E2E_OK;
}

/* raw_data blocks at least this large are taken over by e2e_tensor_take_proto: the loader's
   allocator makes exactly those 64-byte aligned (onnx_load.c, pb_alloc) */
#define TAKE_MIN ((size_t)4 << 10)

e2e_status e2e_tensor_take_proto(Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                 e2e_tensor *out, e2e_error *err)
{
    /* protobuf-c allocates each bytes field on its own with the loader's allocator, whose
       blocks are released with e2e_aligned_free like tensor data: a large float/int block
       moves into the tensor instead of being copied, and the message no longer frees it. The
       allocator (onnx_load.c, pb_alloc) makes such blocks 64-byte aligned, so that kernels
       whose summation order follows a row's alignment give the same bits in every process. */
    e2e_dtype dt = map_dtype(tp->data_type);
    int external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (!tp->has_raw_data || external || tp->data_type == 11 || dt == E2E_UNDEFINED ||
        tp->raw_data.len < TAKE_MIN || tp->n_dims > E2E_MAX_RANK)
        return e2e_tensor_from_proto(tp, base_dir, what, out, err);
    e2e_tensor t = {.dtype = dt, .shape.rank = (int)tp->n_dims};
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return e2e_tensor_from_proto(tp, base_dir, what, out, err); /* it says why */
        t.shape.dims[i] = tp->dims[i];
    }
    int64_t n = e2e_shape_numel(&t.shape);
    if (n < 0 || (size_t)n * e2e_dtype_size(dt) != tp->raw_data.len)
        return e2e_tensor_from_proto(tp, base_dir, what, out, err);
    t.name = e2e_strdup(tp->name ? tp->name : "");
    if (!t.name)
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", what);
    t.nbytes = tp->raw_data.len;
    t.data = tp->raw_data.data;
    tp->raw_data.data = NULL;
    tp->raw_data.len = 0;
    tp->has_raw_data = 0;
    *out = t;
    return E2E_OK;
}

e2e_status e2e_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir,
                                 const char *what, e2e_tensor *out, e2e_error *err)
{
    memset(out, 0, sizeof *out);
    e2e_dtype dt = map_dtype(tp->data_type);
    if (dt == E2E_UNDEFINED)
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: data type %d is not supported", what,
                        (int)tp->data_type);
    if (tp->n_dims > E2E_MAX_RANK)
        return e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: rank %zu above %d", what, tp->n_dims,
                        E2E_MAX_RANK);
    out->dtype = dt;
    out->shape.rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return e2e_fail(err, E2E_ERR_SHAPE, "%s: negative dimension %lld", what,
                            (long long)tp->dims[i]);
        out->shape.dims[i] = tp->dims[i];
    }
    int64_t n = e2e_shape_numel(&out->shape);
    if (n < 0)
        return e2e_fail(err, E2E_ERR_SHAPE, "%s: dimensions overflow", what);
    size_t es = e2e_dtype_size(dt);
    size_t need = (size_t)n * es;
    int is_double = tp->data_type == 11;
    size_t src_es = is_double ? 8 : es;
    int external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    /* check the stored size before allocating what the shape claims */
    if (external && !base_dir)
        return e2e_fail(err, E2E_ERR_INVALID, "%s: external data but the model was loaded from memory",
                        what);
    if (!external && tp->has_raw_data && tp->raw_data.len != (size_t)n * src_es)
        return e2e_fail(err, E2E_ERR_INVALID, "%s: raw_data has %zu bytes, the shape needs %zu", what,
                        tp->raw_data.len, (size_t)n * src_es);
    if (!external && !tp->has_raw_data) {
        size_t have = dt == E2E_FLOAT ? (is_double ? tp->n_double_data : tp->n_float_data)
                    : dt == E2E_INT64 ? tp->n_int64_data : tp->n_int32_data;
        if (have != (size_t)n)
            return e2e_fail(err, E2E_ERR_INVALID, "%s: %zu values stored, the shape needs %lld", what,
                            have, (long long)n);
    }
    if (external && !is_double) { /* the file must hold the bytes before they are allocated */
        e2e_status st = read_external(tp, base_dir, what, need, NULL, err);
        if (st)
            return st;
    }
    out->name = e2e_strdup(tp->name ? tp->name : "");
    e2e_status st = e2e_tensor_alloc(out, err);
    if (st) {
        e2e_tensor_clear(out);
        return st;
    }

    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (is_double)
            st = e2e_fail(err, E2E_ERR_UNSUPPORTED, "%s: external double data", what);
        else
            st = read_external(tp, base_dir, what, need, out->data, err);
    } else if (tp->has_raw_data) {
        if (tp->raw_data.len != (size_t)n * src_es)
            st = e2e_fail(err, E2E_ERR_INVALID, "%s: raw_data has %zu bytes, the shape needs %zu",
                          what, tp->raw_data.len, (size_t)n * src_es);
        else if (is_double)
            for (int64_t i = 0; i < n; i++) {
                double v;
                memcpy(&v, tp->raw_data.data + 8 * i, 8);
                ((float *)out->data)[i] = (float)v;
            }
        else if (need)
            memcpy(out->data, tp->raw_data.data, need);
    } else {
        size_t have;
        switch (dt) {
        case E2E_FLOAT:
            have = is_double ? tp->n_double_data : tp->n_float_data;
            break;
        case E2E_INT64:
            have = tp->n_int64_data;
            break;
        default:
            have = tp->n_int32_data;
            break;
        }
        if (have != (size_t)n)
            st = e2e_fail(err, E2E_ERR_INVALID, "%s: %zu values stored, the shape needs %lld", what,
                          have, (long long)n);
        else if (!need)
            ; /* empty tensor: the typed fields may be NULL */
        else if (dt == E2E_FLOAT && is_double)
            for (int64_t i = 0; i < n; i++)
                ((float *)out->data)[i] = (float)tp->double_data[i];
        else if (dt == E2E_FLOAT)
            memcpy(out->data, tp->float_data, need);
        else if (dt == E2E_INT64)
            memcpy(out->data, tp->int64_data, need);
        else if (dt == E2E_INT32)
            memcpy(out->data, tp->int32_data, need);
        else
            for (int64_t i = 0; i < n; i++)
                ((uint8_t *)out->data)[i] = (uint8_t)tp->int32_data[i];
    }
    if (st)
        e2e_tensor_clear(out);
    return st;
}

e2e_status e2e_tensor_read_pb_buffer(const void *buf, size_t size, const char *name,
                                     e2e_tensor *out, e2e_error *err)
{
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, buf);
    if (!tp)
        return e2e_fail(err, E2E_ERR_PARSE, "%s: not a serialized onnx.TensorProto", name);
    e2e_status st = e2e_tensor_from_proto(tp, NULL, name, out, err);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return st;
}

e2e_status e2e_tensor_read_pb(const char *path, e2e_tensor *out, e2e_error *err)
{
    void *buf;
    size_t size;
    e2e_status st = e2e_file_read(path, 0, &buf, &size, err);
    if (st)
        return st;
    st = e2e_tensor_read_pb_buffer(buf, size, path, out, err);
    free(buf);
    return st;
}
