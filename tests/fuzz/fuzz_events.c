/* libFuzzer target: an event file (docs/event-format.md) from bytes. Every event the reader
   accepts goes through the front end (DetFrames, seeds, frames of the eg, qg and top taggers
   without models), which trusts the reader's range checks.
   Each record carries a CRC-32C, so almost every mutation would stop at the checksum: the
   input is read once as given (the checksum path) and, when a record's checksum is wrong,
   once more with the checksums recomputed (the decoders). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_frames.h"
#include "frames/frames_internal.h"

#define MAX_EVENTS 64

static e2e_event *ev;
static e2e_detframes *df;
static e2e_tagger *tg[3];

static void setup(void)
{
    e2e_error err;
    if (e2e_event_create(&ev, &err))
        abort();
    e2e_detframes_options o = e2e_detframes_options_default();
    if (e2e_detframes_create(&o, &df, &err))
        abort();
    static const char *const names[3] = {"eg", "qg", "top"};
    for (int i = 0; i < 3; i++) {
        e2e_tagger_config cfg;
        if (e2e_tagger_config_default(names[i], &cfg, &err))
            abort();
        cfg.height = cfg.width = 32; /* crops work the same at any size; keep it fast */
        if (e2e_tagger_create(&cfg, NULL, NULL, &tg[i], &err))
            abort();
    }
}

static volatile float sink;

static void read_all(const uint8_t *data, size_t size)
{
    e2e_error err;
    e2e_event_reader *r = NULL;
    if (e2e_event_reader_open_buffer(data, size, "fuzz.e2e", &r, &err)) {
        if (r)
            abort();
        return;
    }
    (void)e2e_event_reader_declared_count(r);
    (void)e2e_event_reader_z0_pv_cut(r);
    for (int i = 0; i < MAX_EVENTS; i++) {
        int got = 0;
        if (e2e_event_reader_next(r, ev, &got, &err) || !got)
            break;
        if (e2e_detframes_build(df, ev, &err))
            continue;
        for (int t = 0; t < 3; t++) {
            if (e2e_tagger_prepare(tg[t], ev, df, &err))
                continue;
            size_t n;
            int c, h, w;
            const float *f = e2e_tagger_frames(tg[t], &n, &c, &h, &w);
            float acc = 0;
            for (size_t k = 0; f && k < n * (size_t)c * (size_t)h * (size_t)w; k += 97)
                acc += f[k];
            sink = acc;
            e2e_tagger_slots(tg[t], &n);
        }
    }
    /* a second pass that only skips */
    e2e_event_reader_close(r);
    if (e2e_event_reader_open_buffer(data, size, "fuzz.e2e", &r, &err) == E2E_OK) {
        uint64_t skipped;
        e2e_event_reader_skip(r, MAX_EVENTS, &skipped, &err);
        e2e_event_reader_close(r);
    }
}

/* Recomputes each record's checksum in place; returns 1 when one changed. */
static int fix_checksums(uint8_t *d, size_t size)
{
    if (size < 32)
        return 0;
    uint64_t off = fr_rd32(d + 8);
    if (off < 32 || off > 4096)
        return 0;
    int changed = 0;
    for (int i = 0; i < MAX_EVENTS && off + 12 <= size; i++) {
        uint32_t len = fr_rd32(d + off + 4);
        if (len > size - off - 12)
            break;
        uint32_t crc = fr_crc32c(0, d + off + 12, len);
        if (crc != fr_rd32(d + off + 8)) {
            fr_wr32(d + off + 8, crc);
            changed = 1;
        }
        off += 12 + (uint64_t)len;
    }
    return changed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ev)
        setup();
    read_all(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    if (fix_checksums(copy, size))
        read_all(copy, size);
    free(copy);
    return 0;
}
