/* Event files (docs/event-format.md): a 32-byte header, then one record per event
   (marker, length, CRC-32C, body of tagged sections). Streaming: one event's bytes are in
   memory at a time, in a buffer that grows to the largest event. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "frames/event_check.h"
#include "frames/frames_internal.h"

#define MAGIC "E2EEVT"          /* 7 bytes with the NUL */
#define HEADER_BYTES 32
#define EVENT_MARKER 0x544E5645u /* "EVNT" little-endian */
#define RECORD_HEAD 12
#define BODY_HEAD 24
#define SECTION_HEAD 12
#define MAX_EVENT_BYTES (256u << 20)

#define TAG(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define TAG_EBRH TAG('E', 'B', 'R', 'H')
#define TAG_EEPJ TAG('E', 'E', 'P', 'J')
#define TAG_HBHE TAG('H', 'B', 'H', 'E')
#define TAG_TRKS TAG('T', 'R', 'K', 'S')
#define TAG_PIXL TAG('P', 'I', 'X', 'L')
#define TAG_STRP TAG('S', 'T', 'R', 'P')
#define TAG_PHOT TAG('P', 'H', 'O', 'T')
#define TAG_JAK4 TAG('J', 'A', 'K', '4')
#define TAG_JAK8 TAG('J', 'A', 'K', '8')

enum { SZ_EB = 12, SZ_EE = 8, SZ_HBHE = 8, SZ_TRK = 28, SZ_TKH = 8, SZ_PHO = 16, SZ_XTAL = 4,
       SZ_JET = 20 };

static void tag_str(uint32_t tag, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(tag >> (8 * i));
        out[i] = (c >= 32 && c < 127) ? c : '?';
    }
    out[4] = 0;
}

/* ================================ reader ================================ */

struct e2e_event_reader {
    FILE *f;
    char *name;
    void *mem;              /* copy for open_buffer */
    uint64_t declared, index;
    uint64_t offset;        /* byte offset of the next record */
    uint64_t size;          /* file size when known (regular file or buffer), else 0 */
    float z0;
    fr_vec body;
    e2e_status sticky;      /* a failed event: repeat the error */
    char sticky_msg[sizeof(((e2e_error *)0)->message)];
};

static e2e_status reader_fail(e2e_event_reader *r, e2e_error *err, e2e_status st,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static e2e_status reader_fail(e2e_event_reader *r, e2e_error *err, e2e_status st,
                              const char *fmt, ...)
{
    char msg[sizeof r->sticky_msg - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->sticky_msg, sizeof r->sticky_msg, "%s: %s", r->name, msg);
    r->sticky = st;
    return e2e_fail(err, st, "%s", r->sticky_msg);
}

static e2e_status read_header(e2e_event_reader *r, e2e_error *err)
{
    uint8_t h[HEADER_BYTES];
    size_t got = fread(h, 1, HEADER_BYTES, r->f);
    if (got < 8 || memcmp(h, MAGIC, 7))
        return reader_fail(r, err, E2E_ERR_PARSE,
                           "not an e2e event file (wrong magic; expected \"E2EEVT\")");
    if (h[7] != E2E_EVENT_FORMAT_VERSION)
        return reader_fail(r, err, E2E_ERR_UNSUPPORTED,
                           "event format version %u is not supported (this build reads "
                           "version %d)", h[7], E2E_EVENT_FORMAT_VERSION);
    if (got < HEADER_BYTES)
        return reader_fail(r, err, E2E_ERR_PARSE, "file header truncated (%zu of %d bytes)",
                           got, HEADER_BYTES);
    uint32_t hb = fr_rd32(h + 8);
    if (hb < HEADER_BYTES || hb > 4096)
        return reader_fail(r, err, E2E_ERR_PARSE, "file header length %" PRIu32
                           " out of range 32..4096", hb);
    static const uint16_t want[6] = {E2E_GRID_ROWS, E2E_GRID_COLS, E2E_HCAL_ROWS,
                                     E2E_HCAL_COLS, E2E_EB_ROW0, E2E_EB_ROWS};
    static const char *const what[6] = {"grid rows", "grid columns", "HCAL rows",
                                        "HCAL columns", "first EB row", "EB rows"};
    for (int i = 0; i < 6; i++)
        if (fr_rd16(h + 16 + 2 * i) != want[i])
            return reader_fail(r, err, E2E_ERR_UNSUPPORTED,
                               "file header: %s = %u, this build uses %u", what[i],
                               fr_rd16(h + 16 + 2 * i), want[i]);
    r->declared = fr_rd32(h + 12);
    r->z0 = fr_rdf(h + 28);
    if (!(r->z0 > 0 && r->z0 < 1e3))
        return reader_fail(r, err, E2E_ERR_PARSE, "file header: z0PVCut %g out of range",
                           (double)r->z0);
    for (uint32_t i = HEADER_BYTES; i < hb; i++)
        if (fgetc(r->f) == EOF)
            return reader_fail(r, err, E2E_ERR_PARSE, "file header truncated");
    r->offset = hb;
    return E2E_OK;
}

static e2e_status reader_init(e2e_event_reader *r, const char *name, e2e_event_reader **out,
                              e2e_error *err)
{
    r->name = malloc(strlen(name) + 1);
    if (!r->name) {
        if (r->f) fclose(r->f);
        free(r->mem);
        free(r);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", name);
    }
    strcpy(r->name, name);
    fr_vec_init(&r->body, 1);
    struct stat sb;
    if (!r->mem && fstat(fileno(r->f), &sb) == 0 && S_ISREG(sb.st_mode))
        r->size = (uint64_t)sb.st_size;
    setvbuf(r->f, NULL, _IOFBF, 1 << 20);
    e2e_status st = read_header(r, err);
    if (st) {
        e2e_event_reader_close(r);
        return st;
    }
    r->sticky = E2E_OK;
    *out = r;
    return E2E_OK;
}

e2e_status e2e_event_reader_open(const char *path, e2e_event_reader **out, e2e_error *err)
{
    *out = NULL;
    e2e_event_reader *r = calloc(1, sizeof *r);
    if (!r)
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", path);
    r->f = fopen(path, "rb");
    if (!r->f) {
        int e = errno;
        free(r);
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    return reader_init(r, path, out, err);
}

e2e_status e2e_event_reader_open_buffer(const void *data, size_t size, const char *name,
                                        e2e_event_reader **out, e2e_error *err)
{
    *out = NULL;
    if (!name)
        name = "<buffer>";
    e2e_event_reader *r = calloc(1, sizeof *r);
    if (!r)
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", name);
    r->mem = malloc(size ? size : 1);
    if (!r->mem) {
        free(r);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", name);
    }
    if (size)
        memcpy(r->mem, data, size);
    r->size = size;
    r->f = size ? fmemopen(r->mem, size, "rb") : fopen("/dev/null", "rb");
    if (!r->f) {
        free(r->mem);
        free(r);
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot open the buffer", name);
    }
    return reader_init(r, name, out, err);
}

void e2e_event_reader_close(e2e_event_reader *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    free(r->mem);
    free(r->name);
    fr_vec_free(&r->body);
    free(r);
}

uint64_t e2e_event_reader_declared_count(const e2e_event_reader *r) { return r->declared; }
uint64_t e2e_event_reader_position(const e2e_event_reader *r) { return r->index; }
float e2e_event_reader_z0_pv_cut(const e2e_event_reader *r) { return r->z0; }

/* Reads the 12-byte record head. *got = 0 at a clean end. */
static e2e_status read_head(e2e_event_reader *r, uint32_t *len, uint32_t *crc, int *got,
                            e2e_error *err)
{
    uint8_t h[RECORD_HEAD];
    size_t n = fread(h, 1, RECORD_HEAD, r->f);
    *got = 0;
    if (n == 0) {
        if (ferror(r->f))
            return reader_fail(r, err, E2E_ERR_IO, "event %" PRIu64 ": read error", r->index);
        if (r->declared && r->index < r->declared)
            return reader_fail(r, err, E2E_ERR_PARSE,
                               "file ends after %" PRIu64 " of %" PRIu64
                               " declared events (truncated)", r->index, r->declared);
        return E2E_OK;
    }
    if (n < RECORD_HEAD)
        return reader_fail(r, err, E2E_ERR_PARSE,
                           "event %" PRIu64 " (byte offset %" PRIu64 "): truncated record "
                           "head (%zu of %d bytes)", r->index, r->offset, n, RECORD_HEAD);
    if (fr_rd32(h) != EVENT_MARKER)
        return reader_fail(r, err, E2E_ERR_PARSE,
                           "event %" PRIu64 " (byte offset %" PRIu64 "): no event marker "
                           "\"EVNT\" (corrupted or misaligned file)", r->index, r->offset);
    *len = fr_rd32(h + 4);
    *crc = fr_rd32(h + 8);
    if (*len < BODY_HEAD || *len > MAX_EVENT_BYTES || *len % 4)
        return reader_fail(r, err, E2E_ERR_PARSE,
                           "event %" PRIu64 " (byte offset %" PRIu64 "): event length %" PRIu32
                           " is invalid (multiple of 4 in 24..%u expected)", r->index,
                           r->offset, *len, MAX_EVENT_BYTES);
    *got = 1;
    return E2E_OK;
}

/* A pipe (e2e gen -o - | e2e frames --events -) cannot seek: the bytes are read instead. */
static int skip_by_reading(FILE *f, uint32_t len)
{
    char buf[4096];
    if (errno != ESPIPE)
        return -1;
    while (len) {
        size_t k = len < sizeof buf ? len : sizeof buf;
        if (fread(buf, 1, k, f) != k)
            return -1;
        len -= (uint32_t)k;
    }
    return 0;
}

e2e_status e2e_event_reader_skip(e2e_event_reader *r, uint64_t n, uint64_t *skipped,
                                 e2e_error *err)
{
    *skipped = 0;
    if (r->sticky)
        return e2e_fail(err, r->sticky, "%s", r->sticky_msg);
    while (*skipped < n) {
        uint32_t len, crc;
        int got;
        e2e_status st = read_head(r, &len, &crc, &got, err);
        if (st || !got)
            return st;
        if (r->size && r->offset + RECORD_HEAD + len > r->size)
            return reader_fail(r, err, E2E_ERR_PARSE,
                               "event %" PRIu64 " (byte offset %" PRIu64 "): truncated: the "
                               "record has %" PRIu32 " bytes, the file ends after %" PRIu64,
                               r->index, r->offset, len, r->size - r->offset - RECORD_HEAD);
        if (fseek(r->f, len, SEEK_CUR) && skip_by_reading(r->f, len))
            return reader_fail(r, err, E2E_ERR_IO, "event %" PRIu64 ": cannot skip", r->index);
        r->offset += RECORD_HEAD + (uint64_t)len;
        r->index++;
        (*skipped)++;
    }
    return E2E_OK;
}

/* ---- section decoders: p points at the payload, count records ---- */

typedef struct dec_ctx {
    e2e_event_reader *r;
    e2e_error *err;
    char where[160];         /* "event 3 (run 1, lumi 1, event 4)" */
} dec_ctx;

static e2e_status bad_record(dec_ctx *c, const char *sec, size_t i, const char *msg)
{
    return reader_fail(c->r, c->err, E2E_ERR_PARSE, "%s: section %s, record %zu: %s",
                       c->where, sec, i, msg);
}

static e2e_status nomem(dec_ctx *c, const char *sec)
{
    return reader_fail(c->r, c->err, E2E_ERR_NOMEM, "%s: section %s: out of memory", c->where,
                       sec);
}

static e2e_status dec_eb(dec_ctx *c, e2e_event *ev, const uint8_t *p, uint32_t n)
{
    char msg[200];
    if (fr_vec_reserve(&ev->eb, n))
        return nomem(c, "EBRH");
    e2e_eb_hit *o = (e2e_eb_hit *)ev->eb.data;
    for (uint32_t i = 0; i < n; i++, p += SZ_EB) {
        e2e_eb_hit h = {fr_rd16(p), fr_rd16(p + 2), fr_rdf(p + 4), fr_rdf(p + 8)};
        if (fr_check_eb(&h, msg, sizeof msg))
            return bad_record(c, "EBRH", i, msg);
        o[ev->eb.n++] = h;
    }
    return E2E_OK;
}

static e2e_status dec_ee(dec_ctx *c, e2e_event *ev, const uint8_t *p, uint32_t n)
{
    char msg[200];
    if (fr_vec_reserve(&ev->ee, n))
        return nomem(c, "EEPJ");
    e2e_ee_hit *o = (e2e_ee_hit *)ev->ee.data;
    for (uint32_t i = 0; i < n; i++, p += SZ_EE) {
        e2e_ee_hit h = {fr_rd16(p), fr_rd16(p + 2), fr_rdf(p + 4)};
        if (fr_check_ee(&h, msg, sizeof msg))
            return bad_record(c, "EEPJ", i, msg);
        o[ev->ee.n++] = h;
    }
    return E2E_OK;
}

static e2e_status dec_hbhe(dec_ctx *c, e2e_event *ev, const uint8_t *p, uint32_t n)
{
    char msg[200];
    if (fr_vec_reserve(&ev->hbhe, n))
        return nomem(c, "HBHE");
    e2e_hbhe_hit *o = (e2e_hbhe_hit *)ev->hbhe.data;
    for (uint32_t i = 0; i < n; i++, p += SZ_HBHE) {
        e2e_hbhe_hit h = {(int8_t)p[0], p[1], p[2], p[3], fr_rdf(p + 4)};
        if (fr_check_hbhe(&h, msg, sizeof msg))
            return bad_record(c, "HBHE", i, msg);
        o[ev->hbhe.n++] = h;
    }
    return E2E_OK;
}

static e2e_status dec_trk(dec_ctx *c, e2e_event *ev, const uint8_t *p, uint32_t n)
{
    char msg[200];
    if (fr_vec_reserve(&ev->tracks, n))
        return nomem(c, "TRKS");
    e2e_track *o = (e2e_track *)ev->tracks.data;
    for (uint32_t i = 0; i < n; i++, p += SZ_TRK) {
        e2e_track t;
        t.pt = fr_rdf(p);
        t.eta = fr_rdf(p + 4);
        t.phi = fr_rdf(p + 8);
        t.d0 = fr_rdf(p + 12);
        t.dz = fr_rdf(p + 16);
        t.charge = (int8_t)p[20];
        t.quality = p[21];
        t.row = fr_rd16(p + 22);
        t.col = fr_rd16(p + 24);
        if (fr_check_track(&t, msg, sizeof msg))
            return bad_record(c, "TRKS", i, msg);
        o[ev->tracks.n++] = t;
    }
    return E2E_OK;
}

static e2e_status dec_tkh(dec_ctx *c, fr_vec *v, int pixel, const uint8_t *p, uint32_t n)
{
    char msg[200];
    const char *sec = pixel ? "PIXL" : "STRP";
    if (fr_vec_reserve(v, n))
        return nomem(c, sec);
    e2e_tracker_hit *o = (e2e_tracker_hit *)v->data;
    for (uint32_t i = 0; i < n; i++, p += SZ_TKH) {
        e2e_tracker_hit h = {fr_rd16(p), fr_rd16(p + 2), p[4], p[5], p[6], p[7]};
        if (fr_check_tracker_hit(&h, pixel, msg, sizeof msg))
            return bad_record(c, sec, i, msg);
        o[v->n++] = h;
    }
    return E2E_OK;
}

static e2e_status dec_phot(dec_ctx *c, e2e_event *ev, const uint8_t *p, uint32_t n,
                           uint32_t bytes)
{
    char msg[200];
    if ((uint64_t)n * SZ_PHO > bytes)
        return reader_fail(c->r, c->err, E2E_ERR_PARSE,
                           "%s: section PHOT: %" PRIu32 " photons need %" PRIu64
                           " bytes, the section has %" PRIu32, c->where, n,
                           (uint64_t)n * SZ_PHO, bytes);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += fr_rd16(p + i * SZ_PHO + 12);
    uint64_t need = (uint64_t)n * SZ_PHO + total * SZ_XTAL;
    need = (need + 3) & ~(uint64_t)3;
    if (need != bytes)
        return reader_fail(c->r, c->err, E2E_ERR_PARSE,
                           "%s: section PHOT: %" PRIu32 " photons with %" PRIu64
                           " crystals need %" PRIu64 " bytes, the section has %" PRIu32,
                           c->where, n, total, need, bytes);
    if (fr_vec_reserve(&ev->photons, n) || fr_vec_reserve(&ev->crystals, total))
        return nomem(c, "PHOT");
    const uint8_t *x = p + (size_t)n * SZ_PHO;
    for (uint32_t i = 0; i < n; i++, p += SZ_PHO) {
        e2e_photon ph;
        ph.pt = fr_rdf(p);
        ph.eta = fr_rdf(p + 4);
        ph.phi = fr_rdf(p + 8);
        ph.n_crystals = fr_rd16(p + 12);
        ph.truth = (int16_t)fr_rd16(p + 14);
        ph.first_crystal = (uint32_t)ev->crystals.n;
        if (fr_check_photon(&ph, msg, sizeof msg))
            return bad_record(c, "PHOT", i, msg);
        e2e_crystal *o = (e2e_crystal *)ev->crystals.data;
        for (unsigned k = 0; k < ph.n_crystals; k++, x += SZ_XTAL) {
            e2e_crystal xt = {fr_rd16(x), fr_rd16(x + 2)};
            if (fr_check_crystal(&xt, msg, sizeof msg)) {
                char m2[260];
                snprintf(m2, sizeof m2, "crystal %u: %s", k, msg);
                return bad_record(c, "PHOT", i, m2);
            }
            o[ev->crystals.n++] = xt;
        }
        ((e2e_photon *)ev->photons.data)[ev->photons.n++] = ph;
    }
    return E2E_OK;
}

static e2e_status dec_jets(dec_ctx *c, fr_vec *v, const char *sec, const uint8_t *p, uint32_t n)
{
    char msg[200];
    if (fr_vec_reserve(v, n))
        return nomem(c, sec);
    e2e_jet *o = (e2e_jet *)v->data;
    for (uint32_t i = 0; i < n; i++, p += SZ_JET) {
        e2e_jet j;
        j.pt = fr_rdf(p);
        j.eta = fr_rdf(p + 4);
        j.phi = fr_rdf(p + 8);
        j.mass = fr_rdf(p + 12);
        j.tower_ieta = (int8_t)p[16];
        j.tower_iphi = p[17];
        j.truth = (int16_t)fr_rd16(p + 18);
        if (fr_check_jet(&j, msg, sizeof msg))
            return bad_record(c, sec, i, msg);
        o[v->n++] = j;
    }
    return E2E_OK;
}

static int record_size(uint32_t tag)
{
    switch (tag) {
    case TAG_EBRH: return SZ_EB;
    case TAG_EEPJ: return SZ_EE;
    case TAG_HBHE: return SZ_HBHE;
    case TAG_TRKS: return SZ_TRK;
    case TAG_PIXL: case TAG_STRP: return SZ_TKH;
    case TAG_JAK4: case TAG_JAK8: return SZ_JET;
    default: return 0; /* PHOT (variable) and unknown tags */
    }
}

static e2e_status decode_body(e2e_event_reader *r, e2e_event *ev, const uint8_t *b,
                              uint32_t len, e2e_error *err)
{
    dec_ctx c = {r, err, ""};
    e2e_event_clear(ev);
    ev->run = fr_rd32(b);
    ev->lumi = fr_rd32(b + 4);
    ev->event = fr_rd64(b + 8);
    uint32_t nsec = fr_rd32(b + 16);
    snprintf(c.where, sizeof c.where, "event %" PRIu64 " (run %" PRIu32 ", lumi %" PRIu32
             ", event %" PRIu64 ")", r->index, ev->run, ev->lumi, ev->event);
    uint32_t off = BODY_HEAD, seen = 0;
    for (uint32_t s = 0; s < nsec; s++) {
        if (len - off < SECTION_HEAD)
            return reader_fail(r, err, E2E_ERR_PARSE,
                               "%s: section %" PRIu32 " of %" PRIu32 ": header runs past the "
                               "end of the event", c.where, s + 1, nsec);
        uint32_t tag = fr_rd32(b + off), count = fr_rd32(b + off + 4),
                 bytes = fr_rd32(b + off + 8);
        char ts[5];
        tag_str(tag, ts);
        off += SECTION_HEAD;
        if (bytes > len - off || bytes % 4)
            return reader_fail(r, err, E2E_ERR_PARSE,
                               "%s: section %s: payload of %" PRIu32 " bytes %s", c.where, ts,
                               bytes, bytes % 4 ? "is not a multiple of 4"
                                                : "runs past the end of the event");
        const uint8_t *p = b + off;
        off += bytes;
        int rs = record_size(tag);
        if (rs) {
            uint64_t need = ((uint64_t)count * rs + 3) & ~(uint64_t)3;
            if (need != bytes)
                return reader_fail(r, err, E2E_ERR_PARSE,
                                   "%s: section %s: %" PRIu32 " records of %d bytes do not "
                                   "match the payload of %" PRIu32 " bytes", c.where, ts,
                                   count, rs, bytes);
        }
        int bit;
        e2e_status st = E2E_OK;
        switch (tag) {
        case TAG_EBRH: bit = 0; break;
        case TAG_EEPJ: bit = 1; break;
        case TAG_HBHE: bit = 2; break;
        case TAG_TRKS: bit = 3; break;
        case TAG_PIXL: bit = 4; break;
        case TAG_STRP: bit = 5; break;
        case TAG_PHOT: bit = 6; break;
        case TAG_JAK4: bit = 7; break;
        case TAG_JAK8: bit = 8; break;
        default: continue; /* unknown section: skipped */
        }
        if (seen & (1u << bit))
            return reader_fail(r, err, E2E_ERR_PARSE, "%s: section %s appears twice",
                               c.where, ts);
        seen |= 1u << bit;
        switch (tag) {
        case TAG_EBRH: st = dec_eb(&c, ev, p, count); break;
        case TAG_EEPJ: st = dec_ee(&c, ev, p, count); break;
        case TAG_HBHE: st = dec_hbhe(&c, ev, p, count); break;
        case TAG_TRKS: st = dec_trk(&c, ev, p, count); break;
        case TAG_PIXL: st = dec_tkh(&c, &ev->pixel, 1, p, count); break;
        case TAG_STRP: st = dec_tkh(&c, &ev->strip, 0, p, count); break;
        case TAG_PHOT: st = dec_phot(&c, ev, p, count, bytes); break;
        case TAG_JAK4: st = dec_jets(&c, &ev->jets[0], "JAK4", p, count); break;
        case TAG_JAK8: st = dec_jets(&c, &ev->jets[1], "JAK8", p, count); break;
        }
        if (st)
            return st;
    }
    if (off != len)
        return reader_fail(r, err, E2E_ERR_PARSE,
                           "%s: %" PRIu32 " bytes after the last of %" PRIu32 " sections",
                           c.where, len - off, nsec);
    return E2E_OK;
}

e2e_status e2e_event_reader_next(e2e_event_reader *r, e2e_event *ev, int *got, e2e_error *err)
{
    *got = 0;
    if (r->sticky)
        return e2e_fail(err, r->sticky, "%s", r->sticky_msg);
    uint32_t len, crc;
    int have;
    e2e_status st = read_head(r, &len, &crc, &have, err);
    if (st || !have)
        return st;
    r->body.n = 0;
    if (fr_vec_reserve(&r->body, len))
        return reader_fail(r, err, E2E_ERR_NOMEM, "event %" PRIu64 ": out of memory for %"
                           PRIu32 " bytes", r->index, len);
    size_t n = fread(r->body.data, 1, len, r->f);
    if (n < len)
        return reader_fail(r, err, E2E_ERR_PARSE,
                           "event %" PRIu64 " (byte offset %" PRIu64 "): truncated: the "
                           "record has %" PRIu32 " bytes, the file ends after %zu", r->index,
                           r->offset, len, n);
    uint32_t have_crc = fr_crc32c(0, r->body.data, len);
    if (have_crc != crc)
        return reader_fail(r, err, E2E_ERR_PARSE,
                           "event %" PRIu64 " (byte offset %" PRIu64 "): checksum mismatch "
                           "(stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 "): the event is "
                           "corrupted", r->index, r->offset, crc, have_crc);
    st = decode_body(r, ev, r->body.data, len, err);
    if (st) {
        e2e_event_clear(ev);
        return st;
    }
    r->offset += RECORD_HEAD + (uint64_t)len;
    r->index++;
    *got = 1;
    return E2E_OK;
}

/* ================================ writer ================================ */

struct e2e_event_writer {
    FILE *f;
    char *path;
    uint64_t count;
    fr_vec buf;
    e2e_status failed;
};

e2e_status e2e_event_writer_open(const char *path, e2e_event_writer **out, e2e_error *err)
{
    *out = NULL;
    e2e_event_writer *w = calloc(1, sizeof *w);
    if (!w)
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", path);
    w->path = malloc(strlen(path) + 1);
    if (!w->path) {
        free(w);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", path);
    }
    strcpy(w->path, path);
    fr_vec_init(&w->buf, 1);
    w->f = fopen(path, "wb");
    if (!w->f) {
        int e = errno;
        free(w->path);
        free(w);
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    setvbuf(w->f, NULL, _IOFBF, 1 << 20);
    uint8_t h[HEADER_BYTES] = {0};
    memcpy(h, MAGIC, 7);
    h[7] = E2E_EVENT_FORMAT_VERSION;
    fr_wr32(h + 8, HEADER_BYTES);
    fr_wr32(h + 12, 0);
    static const uint16_t g[6] = {E2E_GRID_ROWS, E2E_GRID_COLS, E2E_HCAL_ROWS, E2E_HCAL_COLS,
                                  E2E_EB_ROW0, E2E_EB_ROWS};
    for (int i = 0; i < 6; i++)
        fr_wr16(h + 16 + 2 * i, g[i]);
    fr_wrf(h + 28, 0.1f);
    if (fwrite(h, 1, HEADER_BYTES, w->f) != HEADER_BYTES) {
        int e = errno;
        fclose(w->f);
        free(w->path);
        free(w);
        return e2e_fail(err, E2E_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    *out = w;
    return E2E_OK;
}

static uint8_t *section(uint8_t *p, uint32_t tag, size_t count, size_t bytes)
{
    fr_wr32(p, tag);
    fr_wr32(p + 4, (uint32_t)count);
    fr_wr32(p + 8, (uint32_t)((bytes + 3) & ~(size_t)3));
    return p + SECTION_HEAD;
}

e2e_status e2e_event_writer_write(e2e_event_writer *w, const e2e_event *ev, e2e_error *err)
{
    if (w->failed)
        return e2e_fail(err, w->failed, "%s: an earlier write failed", w->path);
    const size_t n_eb = ev->eb.n, n_ee = ev->ee.n, n_hb = ev->hbhe.n, n_tr = ev->tracks.n,
                 n_px = ev->pixel.n, n_st = ev->strip.n, n_ph = ev->photons.n,
                 n_j4 = ev->jets[0].n, n_j8 = ev->jets[1].n;
    size_t n_x = 0;
    for (size_t i = 0; i < n_ph; i++)
        n_x += FR_AT(ev->photons, e2e_photon, i).n_crystals;
    size_t pho_bytes = (n_ph * SZ_PHO + n_x * SZ_XTAL + 3) & ~(size_t)3;
    size_t len = BODY_HEAD + 9 * SECTION_HEAD + n_eb * SZ_EB + n_ee * SZ_EE + n_hb * SZ_HBHE +
                 n_tr * SZ_TRK + (n_px + n_st) * SZ_TKH + pho_bytes + (n_j4 + n_j8) * SZ_JET;
    if (len > MAX_EVENT_BYTES)
        return e2e_fail(err, E2E_ERR_LIMIT, "%s: event %" PRIu64 " needs %zu bytes (limit %u)",
                       w->path, ev->event, len, MAX_EVENT_BYTES);
    w->buf.n = 0;
    if (fr_vec_reserve(&w->buf, RECORD_HEAD + len))
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: out of memory", w->path);
    uint8_t *base = w->buf.data, *b = base + RECORD_HEAD, *p = b;
    memset(b, 0, len);
    fr_wr32(p, ev->run);
    fr_wr32(p + 4, ev->lumi);
    fr_wr64(p + 8, ev->event);
    fr_wr32(p + 16, 9);
    p += BODY_HEAD;

    p = section(p, TAG_EBRH, n_eb, n_eb * SZ_EB);
    for (size_t i = 0; i < n_eb; i++, p += SZ_EB) {
        const e2e_eb_hit *h = &FR_AT(ev->eb, e2e_eb_hit, i);
        fr_wr16(p, h->ieta_idx);
        fr_wr16(p + 2, h->iphi_idx);
        fr_wrf(p + 4, h->energy);
        fr_wrf(p + 8, h->time);
    }
    p = section(p, TAG_EEPJ, n_ee, n_ee * SZ_EE);
    for (size_t i = 0; i < n_ee; i++, p += SZ_EE) {
        const e2e_ee_hit *h = &FR_AT(ev->ee, e2e_ee_hit, i);
        fr_wr16(p, h->row);
        fr_wr16(p + 2, h->col);
        fr_wrf(p + 4, h->energy);
    }
    p = section(p, TAG_HBHE, n_hb, n_hb * SZ_HBHE);
    for (size_t i = 0; i < n_hb; i++, p += SZ_HBHE) {
        const e2e_hbhe_hit *h = &FR_AT(ev->hbhe, e2e_hbhe_hit, i);
        p[0] = (uint8_t)h->ieta;
        p[1] = h->iphi;
        p[2] = h->depth;
        p[3] = h->flags;
        fr_wrf(p + 4, h->energy);
    }
    p = section(p, TAG_TRKS, n_tr, n_tr * SZ_TRK);
    for (size_t i = 0; i < n_tr; i++, p += SZ_TRK) {
        const e2e_track *t = &FR_AT(ev->tracks, e2e_track, i);
        fr_wrf(p, t->pt);
        fr_wrf(p + 4, t->eta);
        fr_wrf(p + 8, t->phi);
        fr_wrf(p + 12, t->d0);
        fr_wrf(p + 16, t->dz);
        p[20] = (uint8_t)t->charge;
        p[21] = t->quality;
        fr_wr16(p + 22, t->row);
        fr_wr16(p + 24, t->col);
    }
    for (int s = 0; s < 2; s++) {
        const fr_vec *v = s ? &ev->strip : &ev->pixel;
        p = section(p, s ? TAG_STRP : TAG_PIXL, v->n, v->n * SZ_TKH);
        for (size_t i = 0; i < v->n; i++, p += SZ_TKH) {
            const e2e_tracker_hit *h = &FR_AT(*v, e2e_tracker_hit, i);
            fr_wr16(p, h->row);
            fr_wr16(p + 2, h->col);
            p[4] = h->subdet;
            p[5] = h->layer;
            p[6] = h->proj;
            p[7] = h->reserved;
        }
    }
    p = section(p, TAG_PHOT, n_ph, pho_bytes);
    uint8_t *pho = p, *x = p + n_ph * SZ_PHO;
    for (size_t i = 0; i < n_ph; i++, p += SZ_PHO) {
        const e2e_photon *ph = &FR_AT(ev->photons, e2e_photon, i);
        fr_wrf(p, ph->pt);
        fr_wrf(p + 4, ph->eta);
        fr_wrf(p + 8, ph->phi);
        fr_wr16(p + 12, ph->n_crystals);
        fr_wr16(p + 14, (uint16_t)ph->truth);
        for (unsigned k = 0; k < ph->n_crystals; k++, x += SZ_XTAL) {
            const e2e_crystal *c = &FR_AT(ev->crystals, e2e_crystal, ph->first_crystal + k);
            fr_wr16(x, c->ieta_idx);
            fr_wr16(x + 2, c->iphi_idx);
        }
    }
    p = pho + pho_bytes;
    for (int c = 0; c < 2; c++) {
        size_t nj = ev->jets[c].n;
        p = section(p, c ? TAG_JAK8 : TAG_JAK4, nj, nj * SZ_JET);
        for (size_t i = 0; i < nj; i++, p += SZ_JET) {
            const e2e_jet *j = &FR_AT(ev->jets[c], e2e_jet, i);
            fr_wrf(p, j->pt);
            fr_wrf(p + 4, j->eta);
            fr_wrf(p + 8, j->phi);
            fr_wrf(p + 12, j->mass);
            p[16] = (uint8_t)j->tower_ieta;
            p[17] = j->tower_iphi;
            fr_wr16(p + 18, (uint16_t)j->truth);
        }
    }
    if ((size_t)(p - b) != len)
        return e2e_fail(err, E2E_ERR_INVALID, "%s: internal error: encoded %zu of %zu bytes",
                       w->path, (size_t)(p - b), len);
    fr_wr32(base, EVENT_MARKER);
    fr_wr32(base + 4, (uint32_t)len);
    fr_wr32(base + 8, fr_crc32c(0, b, len));
    if (fwrite(base, 1, RECORD_HEAD + len, w->f) != RECORD_HEAD + len) {
        int e = errno;
        w->failed = E2E_ERR_IO;
        return e2e_fail(err, E2E_ERR_IO, "%s: write failed: %s", w->path, strerror(e));
    }
    w->count++;
    return E2E_OK;
}

e2e_status e2e_event_writer_close(e2e_event_writer *w, e2e_error *err)
{
    if (!w)
        return E2E_OK;
    e2e_status st = w->failed;
    if (!st && w->count <= UINT32_MAX && fseek(w->f, 12, SEEK_SET) == 0) {
        uint8_t c[4];
        fr_wr32(c, (uint32_t)w->count);
        if (fwrite(c, 1, 4, w->f) != 4)
            st = E2E_ERR_IO;
    }
    if (fclose(w->f) && !st)
        st = E2E_ERR_IO;
    if (st)
        e2e_fail(err, st, "%s: write failed", w->path);
    free(w->path);
    fr_vec_free(&w->buf);
    free(w);
    return st;
}
