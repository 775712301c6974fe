/* Event files: the checksum, write/read round trip, unknown sections skipped, skipping, and bad input:
   truncation anywhere, corruption (checksum, marker, length), wrong magic / version / grid,
   out-of-range coordinates, malformed sections. Errors name the event and the section,
   the events before the bad one are delivered, nothing crashes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_frames.h"
#include "frames/frames_internal.h"

static char tmp_path[256];

/* A file of n generated events, returned in memory. */
static uint8_t *make_file(int n, size_t *size)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/e2e_test_format_%d.e2e", (int)getpid());
    e2e_event_writer *w;
    e2e_event *ev;
    e2e_error err;
    assert_int_equal(e2e_event_writer_open(tmp_path, &w, &err), E2E_OK);
    assert_int_equal(e2e_event_create(&ev, &err), E2E_OK);
    e2e_gen_options g = e2e_gen_options_default();
    for (int i = 0; i < n; i++) {
        assert_int_equal(e2e_gen_event(&g, (uint64_t)i, ev, &err), E2E_OK);
        assert_int_equal(e2e_event_writer_write(w, ev, &err), E2E_OK);
    }
    assert_int_equal(e2e_event_writer_close(w, &err), E2E_OK);
    e2e_event_free(ev);
    FILE *f = fopen(tmp_path, "rb");
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*size);
    assert_int_equal(fread(buf, 1, *size, f), *size);
    fclose(f);
    remove(tmp_path);
    return buf;
}

/* Byte offset of record k. */
static size_t record_offset(const uint8_t *b, int k)
{
    size_t off = 32;
    for (int i = 0; i < k; i++)
        off += 12 + fr_rd32(b + off + 4);
    return off;
}

/* Payload offset of a section of record k (0 if absent). */
static size_t section_offset(const uint8_t *b, int k, const char *tag, uint32_t *count)
{
    size_t rec = record_offset(b, k), body = rec + 12, p = body + 24;
    uint32_t nsec = fr_rd32(b + body + 16);
    for (uint32_t s = 0; s < nsec; s++) {
        uint32_t bytes = fr_rd32(b + p + 8);
        if (!memcmp(b + p, tag, 4)) {
            if (count)
                *count = fr_rd32(b + p + 4);
            return p + 12;
        }
        p += 12 + bytes;
    }
    return 0;
}

static void fix_crc(uint8_t *b, int k)
{
    size_t rec = record_offset(b, k);
    uint32_t len = fr_rd32(b + rec + 4);
    fr_wr32(b + rec + 8, fr_crc32c(0, b + rec + 12, len));
}

/* Reads all events; returns how many were read before the end or the first error. */
static int read_all(const uint8_t *b, size_t n, e2e_status *st, e2e_error *err)
{
    e2e_event_reader *r;
    *st = e2e_event_reader_open_buffer(b, n, "test.e2e", &r, err);
    if (*st)
        return -1;
    e2e_event *ev;
    e2e_event_create(&ev, NULL);
    int count = 0, got;
    while ((*st = e2e_event_reader_next(r, ev, &got, err)) == E2E_OK && got)
        count++;
    if (*st) { /* the error is sticky */
        e2e_error again;
        assert_int_equal(e2e_event_reader_next(r, ev, &got, &again), *st);
        assert_string_equal(again.message, err->message);
    }
    e2e_event_free(ev);
    e2e_event_reader_close(r);
    return count;
}

static void assert_contains(const char *s, const char *part)
{
    if (!strstr(s, part))
        fail_msg("message \"%s\" lacks \"%s\"", s, part);
}

static void same_event(const e2e_event *a, const e2e_event *b)
{
    e2e_event_data x, y;
    e2e_event_get(a, &x);
    e2e_event_get(b, &y);
    assert_int_equal(x.run, y.run);
    assert_int_equal(x.lumi, y.lumi);
    assert_int_equal(x.event, y.event);
#define SAME(f, n) do { assert_int_equal(x.n, y.n); if (x.n) assert_memory_equal(x.f, y.f, x.n * sizeof *x.f); } while (0)
    SAME(eb, n_eb);
    SAME(ee, n_ee);
    SAME(hbhe, n_hbhe);
    SAME(pixel, n_pixel);
    SAME(strip, n_strip);
    SAME(photons, n_photons);
    SAME(crystals, n_crystals);
    for (int c = 0; c < 2; c++) {
        assert_int_equal(x.n_jets[c], y.n_jets[c]);
        if (x.n_jets[c])
            assert_memory_equal(x.jets[c], y.jets[c], x.n_jets[c] * sizeof(e2e_jet));
    }
#undef SAME
    assert_int_equal(x.n_tracks, y.n_tracks);
    for (size_t i = 0; i < x.n_tracks; i++) {
        const e2e_track *s = &x.tracks[i], *t = &y.tracks[i];
        assert_true(s->pt == t->pt && s->eta == t->eta && s->phi == t->phi && s->d0 == t->d0 &&
                    s->dz == t->dz && s->charge == t->charge && s->quality == t->quality &&
                    s->row == t->row && s->col == t->col);
    }
}

static void test_round_trip(void **state)
{
    size_t n;
    uint8_t *b = make_file(12, &n);
    e2e_event_reader *r;
    e2e_error err;
    assert_int_equal(e2e_event_reader_open_buffer(b, n, "rt.e2e", &r, &err), E2E_OK);
    assert_int_equal(e2e_event_reader_declared_count(r), 12);
    assert_float_equal(e2e_event_reader_z0_pv_cut(r), 0.1f, 0);
    e2e_event *got_ev, *want;
    e2e_event_create(&got_ev, NULL);
    e2e_event_create(&want, NULL);
    e2e_gen_options g = e2e_gen_options_default();
    int got, k = 0;
    while (e2e_event_reader_next(r, got_ev, &got, &err) == E2E_OK && got) {
        assert_int_equal(e2e_gen_event(&g, (uint64_t)k, want, NULL), E2E_OK);
        same_event(got_ev, want);
        k++;
        assert_int_equal(e2e_event_reader_position(r), k);
    }
    assert_int_equal(k, 12);
    /* end of file stays the end */
    assert_int_equal(e2e_event_reader_next(r, got_ev, &got, &err), E2E_OK);
    assert_int_equal(got, 0);
    e2e_event_reader_close(r);
    /* skip */
    assert_int_equal(e2e_event_reader_open_buffer(b, n, "rt.e2e", &r, &err), E2E_OK);
    uint64_t sk;
    assert_int_equal(e2e_event_reader_skip(r, 5, &sk, &err), E2E_OK);
    assert_int_equal(sk, 5);
    assert_int_equal(e2e_event_reader_next(r, got_ev, &got, &err), E2E_OK);
    assert_int_equal(got, 1);
    e2e_event_data d;
    e2e_event_get(got_ev, &d);
    assert_int_equal(d.event, 6);
    assert_int_equal(e2e_event_reader_skip(r, 100, &sk, &err), E2E_OK);
    assert_int_equal(sk, 6);
    e2e_event_reader_close(r);
    e2e_event_free(got_ev);
    e2e_event_free(want);
    free(b);
}

static void test_generator_deterministic(void **state)
{
    e2e_event *a, *b;
    e2e_event_create(&a, NULL);
    e2e_event_create(&b, NULL);
    e2e_gen_options g = e2e_gen_options_default();
    assert_int_equal(e2e_gen_event(&g, 7, a, NULL), E2E_OK);
    assert_int_equal(e2e_gen_event(&g, 3, b, NULL), E2E_OK);
    assert_int_equal(e2e_gen_event(&g, 7, b, NULL), E2E_OK);
    same_event(a, b);
    g.seed = 2;
    assert_int_equal(e2e_gen_event(&g, 7, b, NULL), E2E_OK);
    e2e_event_data x, y;
    e2e_event_get(a, &x);
    e2e_event_get(b, &y);
    assert_true(x.n_eb != y.n_eb || memcmp(x.eb, y.eb, x.n_eb * sizeof *x.eb));
    e2e_event_free(a);
    e2e_event_free(b);
}

static void test_unknown_section_skipped(void **state)
{
    size_t n;
    uint8_t *b = make_file(2, &n);
    size_t rec = record_offset(b, 0);
    uint32_t len = fr_rd32(b + rec + 4);
    /* event 0 with an extra section "ZZZZ" (8 bytes) inserted before the others */
    size_t m = 32 + 12 + len + 20;
    uint8_t *c = malloc(m);
    memcpy(c, b, 32 + 12 + 24);
    memcpy(c + 32 + 12 + 24, "ZZZZ", 4);
    fr_wr32(c + 32 + 12 + 28, 2);
    fr_wr32(c + 32 + 12 + 32, 8);
    memset(c + 32 + 12 + 36, 0xAB, 8);
    memcpy(c + 32 + 12 + 44, b + rec + 12 + 24, len - 24);
    fr_wr32(c + 32 + 4, len + 20);
    fr_wr32(c + 32 + 12 + 16, fr_rd32(b + rec + 12 + 16) + 1);
    fr_wr32(c + 12, 1); /* declared count */
    fix_crc(c, 0);
    e2e_status st;
    e2e_error err;
    assert_int_equal(read_all(c, m, &st, &err), 1);
    assert_int_equal(st, E2E_OK);
    free(c);
    free(b);
}

static void test_truncation(void **state)
{
    size_t n;
    uint8_t *b = make_file(3, &n);
    e2e_status st;
    e2e_error err;
    /* inside the file header */
    assert_int_equal(read_all(b, 0, &st, &err), -1);
    assert_int_equal(st, E2E_ERR_PARSE);
    assert_contains(err.message, "test.e2e");
    assert_int_equal(read_all(b, 20, &st, &err), -1);
    assert_contains(err.message, "header truncated");
    /* exactly between events: fewer than declared */
    size_t r2 = record_offset(b, 2);
    assert_int_equal(read_all(b, r2, &st, &err), 2);
    assert_int_equal(st, E2E_ERR_PARSE);
    assert_contains(err.message, "after 2 of 3 declared events");
    /* in the middle of event 2's body and head */
    assert_int_equal(read_all(b, r2 + 500, &st, &err), 2);
    assert_contains(err.message, "event 2");
    assert_contains(err.message, "truncated");
    assert_int_equal(read_all(b, r2 + 7, &st, &err), 2);
    assert_contains(err.message, "event 2");
    /* skipping over a truncated event notices it too */
    e2e_event_reader *r;
    uint64_t sk;
    assert_int_equal(e2e_event_reader_open_buffer(b, r2 + 500, "test.e2e", &r, &err), E2E_OK);
    assert_int_equal(e2e_event_reader_skip(r, 5, &sk, &err), E2E_ERR_PARSE);
    assert_int_equal(sk, 2);
    assert_contains(err.message, "event 2");
    e2e_event_reader_close(r);
    /* everywhere (sampled): never a crash, the complete events before the cut are read */
    for (size_t cut = 32; cut < n; cut += 61) {
        int k = 0;
        while (k < 3 && record_offset(b, k + 1) <= cut)
            k++;
        int got = read_all(b, cut, &st, &err);
        assert_int_equal(got, k);
        assert_int_not_equal(st, E2E_OK);
    }
    assert_int_equal(read_all(b, n, &st, &err), 3);
    assert_int_equal(st, E2E_OK);
    free(b);
}

static void test_corruption(void **state)
{
    size_t n;
    uint8_t *b = make_file(3, &n);
    e2e_status st;
    e2e_error err;
    size_t r1 = record_offset(b, 1);
    /* a flipped bit in event 1's body */
    b[r1 + 12 + 300] ^= 0x10;
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "event 1");
    assert_contains(err.message, "checksum mismatch");
    b[r1 + 12 + 300] ^= 0x10;
    /* a damaged marker */
    b[r1] = 'X';
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "no event marker");
    b[r1] = 'E';
    /* an absurd length */
    uint32_t len = fr_rd32(b + r1 + 4);
    fr_wr32(b + r1 + 4, 0xFFFFFFF0u);
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "event length");
    fr_wr32(b + r1 + 4, len + 4); /* plausible but wrong: runs into the next record */
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "event 1");
    fr_wr32(b + r1 + 4, len);
    assert_int_equal(read_all(b, n, &st, &err), 3);
    assert_int_equal(st, E2E_OK);
    free(b);
}

static void test_magic_version_grid(void **state)
{
    size_t n;
    uint8_t *b = make_file(1, &n);
    e2e_status st;
    e2e_error err;
    b[0] = 'X';
    assert_int_equal(read_all(b, n, &st, &err), -1);
    assert_int_equal(st, E2E_ERR_PARSE);
    assert_contains(err.message, "wrong magic");
    b[0] = 'E';
    b[7] = 2;
    assert_int_equal(read_all(b, n, &st, &err), -1);
    assert_int_equal(st, E2E_ERR_UNSUPPORTED);
    assert_contains(err.message, "version 2");
    b[7] = 1;
    fr_wr16(b + 18, 720);
    assert_int_equal(read_all(b, n, &st, &err), -1);
    assert_contains(err.message, "grid columns = 720");
    fr_wr16(b + 18, 360);
    assert_int_equal(e2e_event_reader_open("/nonexistent/x.e2e", &(e2e_event_reader *){0}, &err),
                     E2E_ERR_IO);
    assert_contains(err.message, "/nonexistent/x.e2e");
    free(b);
}

/* Patches one field of record `rec` of section `tag` in event 1 and expects an error that
   names event 1, the section and the record. */
static void expect_bad_field(uint8_t *b, size_t n, const char *tag, uint32_t rec, size_t field,
                             int width, uint32_t value, const char *reason)
{
    uint32_t count;
    size_t p = section_offset(b, 1, tag, &count);
    if (!p || rec >= count)
        fail_msg("event 1 has no record %u in section %s", rec, tag);
    size_t rs = !strcmp(tag, "EBRH") ? 12 : !strcmp(tag, "TRKS") ? 28 : !strcmp(tag, "PHOT") ? 16
              : !strncmp(tag, "JAK", 3) ? 20 : 8;
    uint8_t *f = b + p + rec * rs + field;
    uint8_t save[4];
    memcpy(save, f, 4);
    if (width == 1) f[0] = (uint8_t)value;
    else if (width == 2) fr_wr16(f, (uint16_t)value);
    else fr_wr32(f, value);
    fix_crc(b, 1);
    e2e_status st;
    e2e_error err;
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_int_equal(st, E2E_ERR_PARSE);
    char where[64];
    snprintf(where, sizeof where, "section %s, record %u", tag, rec);
    assert_contains(err.message, "event 1 (run 1, lumi 1, event 2)");
    assert_contains(err.message, where);
    assert_contains(err.message, reason);
    memcpy(f, save, 4);
    fix_crc(b, 1);
}

static void test_out_of_range(void **state)
{
    size_t n;
    uint8_t *b = make_file(3, &n);
    expect_bad_field(b, n, "EBRH", 0, 0, 2, 200, "ieta_idx 200");
    expect_bad_field(b, n, "EBRH", 3, 2, 2, 360, "iphi_idx 360");
    expect_bad_field(b, n, "EBRH", 1, 4, 4, 0x7FC00000u, "not finite"); /* NaN energy */
    expect_bad_field(b, n, "EEPJ", 0, 0, 2, 100, "row 100");
    expect_bad_field(b, n, "HBHE", 2, 0, 1, 30, "ieta 30");
    expect_bad_field(b, n, "HBHE", 2, 1, 1, 73, "iphi 73");
    expect_bad_field(b, n, "HBHE", 2, 2, 1, 0, "depth 0");
    expect_bad_field(b, n, "TRKS", 0, 22, 2, 300, "outside the 280 x 360 grid");
    expect_bad_field(b, n, "PIXL", 0, 5, 1, 9, "layer 9");
    expect_bad_field(b, n, "PIXL", 0, 4, 1, 5, "subdetector 5 in the pixel section");
    expect_bad_field(b, n, "JAK4", 0, 17, 1, 73, "iphi 73");
    expect_bad_field(b, n, "JAK4", 1, 16, 1, 40, "ieta 40");
    /* a supercluster crystal outside EB */
    uint32_t np;
    size_t p = section_offset(b, 1, "PHOT", &np);
    assert_true(np >= 1);
    size_t x = p + 16 * np;
    uint16_t save = fr_rd16(b + x);
    fr_wr16(b + x, 170);
    fix_crc(b, 1);
    e2e_status st;
    e2e_error err;
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "section PHOT");
    assert_contains(err.message, "crystal 0");
    fr_wr16(b + x, save);
    fix_crc(b, 1);
    assert_int_equal(read_all(b, n, &st, &err), 3);
    free(b);
}

static void test_malformed_sections(void **state)
{
    size_t n;
    uint8_t *b = make_file(2, &n);
    e2e_status st;
    e2e_error err;
    uint32_t count;
    size_t p = section_offset(b, 1, "HBHE", &count);
    /* record count disagrees with the payload size */
    fr_wr32(b + p - 8, count + 1);
    fix_crc(b, 1);
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "section HBHE");
    assert_contains(err.message, "do not match");
    fr_wr32(b + p - 8, count);
    /* a payload running past the event */
    fr_wr32(b + p - 4, 0x10000000u);
    fix_crc(b, 1);
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "runs past the end");
    fr_wr32(b + p - 4, count * 8);
    /* the same section twice: rename HBHE (after EEPJ, same record size) to EEPJ */
    memcpy(b + p - 12, "EEPJ", 4);
    fix_crc(b, 1);
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "appears twice");
    memcpy(b + p - 12, "HBHE", 4);
    /* more sections announced than present */
    size_t body = record_offset(b, 1) + 12;
    fr_wr32(b + body + 16, fr_rd32(b + body + 16) + 1);
    fix_crc(b, 1);
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "past the end of the event");
    fr_wr32(b + body + 16, fr_rd32(b + body + 16) - 2); /* fewer: trailing bytes */
    fix_crc(b, 1);
    assert_int_equal(read_all(b, n, &st, &err), 1);
    assert_contains(err.message, "bytes after the last");
    free(b);
}

/* Random byte changes inside event bodies, with the checksum fixed so that the decoder sees
   them: every outcome is either a valid event or an error, never a crash (run under
   `make sanitize` for memory errors). */
static void test_random_corruption(void **state)
{
    size_t n;
    uint8_t *b = make_file(2, &n);
    uint8_t *c = malloc(n);
    srand(12345);
    int errors = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(c, b, n);
        int k = rand() % 2;
        size_t rec = record_offset(c, k), len = fr_rd32(c + rec + 4);
        int nflip = 1 + rand() % 4;
        for (int f = 0; f < nflip; f++) {
            size_t at = rec + 12 + (it % 3 == 0 ? (size_t)(rand() % 64) : (size_t)rand() % len);
            c[at] = it % 2 ? (uint8_t)rand() : (uint8_t)(c[at] ^ (1u << (rand() % 8)));
        }
        fix_crc(c, k);
        e2e_status st;
        e2e_error err;
        int got = read_all(c, n, &st, &err);
        assert_true(got >= k && got <= 2);
        if (st) {
            errors++;
            assert_contains(err.message, "test.e2e: event");
        }
    }
    assert_true(errors > 100);
    free(c);
    free(b);
}

static void test_adders_validate(void **state)
{
    e2e_event *ev;
    e2e_event_create(&ev, NULL);
    e2e_error err;
    e2e_eb_hit eb = {10, 360, 1.0f, 0};
    assert_int_equal(e2e_event_add_eb(ev, &eb, &err), E2E_ERR_ARGUMENT);
    assert_contains(err.message, "iphi_idx 360");
    eb.iphi_idx = 5;
    eb.energy = NAN;
    assert_int_equal(e2e_event_add_eb(ev, &eb, &err), E2E_ERR_ARGUMENT);
    e2e_hbhe_hit h = {0, 5, 1, 0, 1.0f};
    assert_int_equal(e2e_event_add_hbhe(ev, &h, &err), E2E_ERR_ARGUMENT);
    e2e_jet j = {50, 0, 0, 5, 0, 7, -1};
    assert_int_equal(e2e_event_add_jet(ev, E2E_AK4, &j, &err), E2E_ERR_ARGUMENT);
    j.tower_iphi = 0;
    assert_int_equal(e2e_event_add_jet(ev, E2E_AK4, &j, &err), E2E_OK);
    assert_int_equal(e2e_event_add_jet(ev, (e2e_jet_collection)5, &j, &err), E2E_ERR_ARGUMENT);
    e2e_track t = {1, 0, 0, 0, 0, 1, 1, 280, 0};
    assert_int_equal(e2e_event_add_track(ev, &t, &err), E2E_ERR_ARGUMENT);
    t.row = t.col = E2E_NO_CELL;
    assert_int_equal(e2e_event_add_track(ev, &t, &err), E2E_OK);
    e2e_photon p = {20, 0, 0, 0, 0, 0};
    e2e_crystal x = {170, 0};
    assert_int_equal(e2e_event_add_photon(ev, &p, &x, 1, &err), E2E_ERR_ARGUMENT);
    e2e_event_data d;
    e2e_event_get(ev, &d);
    assert_int_equal(d.n_photons, 0);
    assert_int_equal(d.n_crystals, 0);
    e2e_event_free(ev);
}

/* The checksum: the standard check value, and the SSE4.2 path (where the CPU has it) equal
   to the tables at every alignment, length and starting value. */
static void test_crc32c(void **state)
{
    assert_int_equal(fr_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(fr_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    uint8_t buf[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += 1 + n / 8) {
            const uint32_t seed = (uint32_t)(off * 2654435761u + n);
            assert_int_equal(fr_crc32c(seed, buf + off, n), fr_crc32c_portable(seed, buf + off, n));
        }
    /* continuing a checksum over two pieces gives the whole one */
    assert_int_equal(fr_crc32c(fr_crc32c(0, buf, 100), buf + 100, 200), fr_crc32c(0, buf, 300));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_generator_deterministic),
        cmocka_unit_test(test_unknown_section_skipped),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_magic_version_grid),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_malformed_sections),
        cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_adders_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
