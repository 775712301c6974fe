/* Sharding and part metadata of e2e run (see run_shard.h). */
#include "cli/run_shard.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "e2e_frames.h"
#include "frames/frames_internal.h"

#define ID_SPAN 65536

int e2e_run_shard_parse(const char *s, uint32_t *index, uint32_t *count)
{
    char *end;
    const char *slash = strchr(s, '/');
    unsigned long long i = 0, n = 0;
    int ok = slash && s[0] >= '0' && s[0] <= '9' && slash[1] >= '0' && slash[1] <= '9';
    if (ok) {
        i = strtoull(s, &end, 10);
        ok = end == slash;
    }
    if (ok) {
        n = strtoull(slash + 1, &end, 10);
        ok = !*end && n >= 1 && n <= 1000000;
    }
    if (!ok) {
        fprintf(stderr, "e2e run: --shard needs I/N with 0 <= I < N <= 1000000 (e.g. 0/4), not "
                "'%s'\n", s);
        return -1;
    }
    if (i >= n) {
        fprintf(stderr, "e2e run: --shard %s: the shard index must be below the number of "
                "shards (0..%llu)\n", s, n - 1);
        return -1;
    }
    *index = (uint32_t)i;
    *count = (uint32_t)n;
    return 0;
}

void e2e_run_shard_range(uint64_t total, uint32_t index, uint32_t count, uint64_t *first,
                         uint64_t *n)
{
    uint64_t base = total / count, extra = total % count;
    *first = index * base + (index < extra ? index : extra);
    *n = base + (index < extra ? 1 : 0);
}

e2e_status e2e_run_count_events(const char *path, uint64_t *count, e2e_error *err)
{
    e2e_event_reader *rd;
    e2e_status st = e2e_event_reader_open(path, &rd, err);
    if (st)
        return st;
    *count = e2e_event_reader_declared_count(rd);
    if (!*count)
        st = e2e_event_reader_skip(rd, UINT64_MAX, count, err);
    e2e_event_reader_close(rd);
    return st;
}

static e2e_status crc_span(FILE *f, const char *path, uint64_t from, uint64_t len,
                           uint32_t *crc, e2e_error *err)
{
    static unsigned char buf[ID_SPAN];
    *crc = 0;
    if (fseeko(f, (off_t)from, SEEK_SET))
        goto fail;
    while (len) {
        size_t want = len < sizeof buf ? (size_t)len : sizeof buf;
        if (fread(buf, 1, want, f) != want)
            goto fail;
        *crc = fr_crc32c(*crc, buf, want);
        len -= want;
    }
    return E2E_OK;
fail:
    snprintf(err->message, sizeof err->message, "%.900s: read error", path);
    err->status = E2E_ERR_IO;
    return E2E_ERR_IO;
}

e2e_status e2e_run_file_id_get(const char *path, int whole, e2e_run_file_id *id, e2e_error *err)
{
    memset(id, 0, sizeof *id);
    FILE *f = fopen(path, "rb");
    if (!f || fseeko(f, 0, SEEK_END)) {
        snprintf(err->message, sizeof err->message, "%.900s: cannot open: %s", path,
                 strerror(errno));
        err->status = E2E_ERR_IO;
        if (f)
            fclose(f);
        return E2E_ERR_IO;
    }
    id->bytes = (uint64_t)ftello(f);
    uint64_t span = whole || id->bytes < ID_SPAN ? id->bytes : ID_SPAN;
    e2e_status st = crc_span(f, path, 0, span, &id->head_crc, err);
    if (!st && !whole)
        st = crc_span(f, path, id->bytes - span, span, &id->tail_crc, err);
    fclose(f);
    return st;
}

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    stop_flag = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

void e2e_run_stop_install(void)
{
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
}

int e2e_run_stop_requested(void) { return stop_flag; }

e2e_status e2e_run_meta_init(e2e_run_meta *m, const char *events, e2e_error *err)
{
    m->status = "running";
    m->arch = "";
    m->events_total = E2E_RUN_NO_COUNT;
    return e2e_run_file_id_get(events, 0, &m->input, err);
}

e2e_status e2e_run_meta_add_model(e2e_run_meta *m, const char *tagger, const char *path,
                                  const char *channels, e2e_error *err)
{
    if (m->n_taggers == 8) {
        snprintf(err->message, sizeof err->message, "at most 8 taggers");
        return err->status = E2E_ERR_ARGUMENT;
    }
    int t = m->n_taggers;
    m->tagger[t] = tagger;
    m->model_path[t] = path;
    m->channels[t] = channels;
    e2e_status st = e2e_run_file_id_get(path, 1, &m->model[t], err);
    if (!st)
        m->n_taggers++;
    return st;
}

int e2e_run_part_range(e2e_run_meta *m, const char *events, uint64_t *skip, uint64_t *max_events)
{
    e2e_error err;
    uint64_t count = 0;
    if (m->have_shard || *skip) {
        if (e2e_run_count_events(events, &count, &err)) {
            fprintf(stderr, "e2e run: %s\n", err.message);
            return -1;
        }
        m->events_total = count;
    } else {
        e2e_event_reader *rd;
        if (e2e_event_reader_open(events, &rd, &err)) {
            fprintf(stderr, "e2e run: %s\n", err.message);
            return -1;
        }
        count = e2e_event_reader_declared_count(rd);
        e2e_event_reader_close(rd);
        if (count)
            m->events_total = count;
    }
    if (m->have_shard) {
        e2e_run_shard_range(count, m->shard_index, m->shard_count, skip, max_events);
    } else if (*skip && *skip >= count) {
        fprintf(stderr, "e2e run: --skip-events %llu is at or past the end of %s, which has "
                "%llu event%s (nothing left to process)\n", (unsigned long long)*skip, events,
                (unsigned long long)count, count == 1 ? "" : "s");
        return -1;
    }
    m->first_event = *skip;
    return 0;
}

void e2e_run_meta_set_output(e2e_run_meta *m, const char *csv_path, uint64_t bytes)
{
    static char real[4096];
    m->output = realpath(csv_path, real) ? real : csv_path;
    m->output_bytes = bytes;
}

void e2e_run_part_end(e2e_run_meta *m, uint64_t n, uint64_t max_events, int *failed)
{
    if (stop_flag) {
        fprintf(stderr, "e2e run: interrupted after %llu events\n", (unsigned long long)n);
        *failed = 1;
        m->status = "interrupted";
        return;
    }
    if (!*failed && m->have_shard && n < max_events) {
        fprintf(stderr, "e2e run: shard %u/%u: the file ended after %llu of the shard's %llu "
                "events\n", m->shard_index, m->shard_count, (unsigned long long)n,
                (unsigned long long)max_events);
        *failed = 1;
    }
    if (!*failed && m->events_total == E2E_RUN_NO_COUNT && n < max_events)
        m->events_total = m->first_event + n; /* read to the end */
    m->status = *failed ? "failed" : "complete";
}

void e2e_run_meta_json(FILE *f, const e2e_run_meta *m, uint64_t events)
{
    fprintf(f, "  \"status\": \"%s\",\n  \"shard\": ", m->status);
    if (m->have_shard)
        fprintf(f, "[%u, %u]", m->shard_index, m->shard_count);
    else
        fprintf(f, "null");
    fprintf(f, ",\n  \"first_event\": %llu,\n  \"last_event\": ",
            (unsigned long long)m->first_event);
    if (events)
        fprintf(f, "%llu", (unsigned long long)(m->first_event + events - 1));
    else
        fprintf(f, "null");
    fprintf(f, ",\n  \"input\": {\"bytes\": %llu, \"events\": ", (unsigned long long)m->input.bytes);
    if (m->events_total != E2E_RUN_NO_COUNT)
        fprintf(f, "%llu", (unsigned long long)m->events_total);
    else
        fprintf(f, "null");
    fprintf(f, ", \"head_crc32c\": \"%08x\", \"tail_crc32c\": \"%08x\"},\n  \"output\": ",
            m->input.head_crc, m->input.tail_crc);
    e2e_cli_json_str(f, m->output);
    fprintf(f, ",\n  \"output_bytes\": %llu,\n  \"rows\": %llu,\n  \"arch\": ",
            (unsigned long long)m->output_bytes, (unsigned long long)m->rows);
    e2e_cli_json_str(f, m->arch);
    fprintf(f, ",\n  \"models\": [");
    for (int t = 0; t < m->n_taggers; t++) {
        fprintf(f, "%s\n    {\"tagger\": ", t ? "," : "");
        e2e_cli_json_str(f, m->tagger[t]);
        fprintf(f, ", \"path\": ");
        e2e_cli_json_str(f, m->model_path[t]);
        fprintf(f, ", \"bytes\": %llu, \"crc32c\": \"%08x\", \"channels\": ",
                (unsigned long long)m->model[t].bytes, m->model[t].head_crc);
        e2e_cli_json_str(f, m->channels[t]);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n");
}

int e2e_run_json_running(const char *path, const e2e_run_meta *m)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n");
    e2e_run_meta_json(f, m, 0);
    fprintf(f, "  \"events\": 0\n}\n");
    return fclose(f) ? -1 : 0;
}
