/* e2e merge: puts the parts of a sharded e2e run back together (docs/deploy.md).

   Each part is a predictions CSV and the timing JSON that names it. The JSONs say where a
   part comes from (input file size + CRC-32C of its head and tail, the models' size +
   CRC-32C, the tagger channels, the shard and event range) and whether it finished; merge
   refuses parts that did not finish, come from another input or other models, overlap, or
   leave events out, and names them. The CSV is the parts' rows in event order under one
   header, so it is byte for byte what one run over the whole file writes. The timing
   summary adds the parts' per-stage histograms (not their medians), so its p50/p99 are
   those of one histogram over all events. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/out_file.h"
#include "cli/json_read.h"
#include "cli/run_shard.h"
#include "cli/run_stats.h"

#define CSV_HEADER "run,lumi,event,tagger,slot,pt,eta,phi,seed_row,seed_col,score,status,truth\n"
#define MAX_STAGES 32
#define MAX_MODELS 8

typedef struct part {
    const char *csv;     /* as given */
    char csv_real[PATH_MAX];
    const char *json;    /* as given or found */
    char json_buf[PATH_MAX];
    json_value *j;
    int have_shard;
    uint32_t shard_i, shard_n;
    uint64_t first, events, rows, output_bytes;
    char label[160];     /* "a.csv (shard 1/4, events 500..999)" for messages */
} part;

static int problems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "e2e merge: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    problems++;
}

static void help(void)
{
    printf("usage: e2e merge -o all.csv [--timing-json all.json] PART.csv... [PART.json...]\n\n"
           "Puts the parts of a sharded job (e2e run --shard I/N -o PART.csv --timing-json\n"
           "PART.json) back together. Each CSV needs the timing JSON its run wrote: given on\n"
           "the command line (matched by the CSV path it records, or its file name), or found\n"
           "beside the CSV with .json in place of .csv. The parts must come from the same\n"
           "input file and the same models, have finished, and cover every event of the file\n"
           "exactly once; missing, duplicate, unfinished or mismatched parts are an error\n"
           "naming them (exit 1), and nothing is written. The CSV is then identical to one run\n"
           "over the whole file; --timing-json writes the combined timing (per-stage\n"
           "histograms added, so p50/p99 are over all events; wall_s is the parts' sum,\n"
           "wall_s_max the slowest part).\n");
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static double num(const json_value *o, const char *key, int *ok)
{
    const json_value *v = json_get(o, key);
    if (!v || v->type != JSON_NUMBER || !(v->number >= 0 && v->number < 9e18)) {
        *ok = 0;
        return 0;
    }
    return v->number;
}

static const char *str(const json_value *o, const char *key)
{
    const json_value *v = json_get(o, key);
    return v && v->type == JSON_STRING ? v->string : NULL;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* reads what merge needs from a part's JSON; 0 or -1 (reported) */
static int part_load(part *p)
{
    char msg[1200];
    if (!(p->j = json_read_file(p->json, msg, sizeof msg))) {
        problem("%s (timing JSON of %s): %s", p->json, p->csv, msg + strlen(p->json) + 2);
        return -1;
    }
    int ok = 1;
    const json_value *sh = json_get(p->j, "shard");
    p->first = (uint64_t)num(p->j, "first_event", &ok);
    p->events = (uint64_t)num(p->j, "events", &ok);
    p->rows = (uint64_t)num(p->j, "rows", &ok);
    p->output_bytes = (uint64_t)num(p->j, "output_bytes", &ok);
    if (!str(p->j, "status") || !json_get(p->j, "input") || !json_get(p->j, "models") || !sh ||
        !ok) {
        problem("%s: not a timing JSON of e2e run --timing-json with part metadata (status, "
                "shard, first_event, input, models)", p->json);
        return -1;
    }
    if (sh->type == JSON_ARRAY && sh->n == 2) {
        p->have_shard = 1;
        p->shard_i = (uint32_t)sh->items[0].number;
        p->shard_n = (uint32_t)sh->items[1].number;
    }
    char range[64];
    if (p->events)
        snprintf(range, sizeof range, "events %llu..%llu", (unsigned long long)p->first,
                 (unsigned long long)(p->first + p->events - 1));
    else
        snprintf(range, sizeof range, "no events");
    if (p->have_shard)
        snprintf(p->label, sizeof p->label, "%.80s (shard %u/%u, %s)", p->csv, p->shard_i,
                 p->shard_n, range);
    else
        snprintf(p->label, sizeof p->label, "%.80s (%s)", p->csv, range);
    return 0;
}

/* same input and models as the reference part */
static void part_compare(const part *p, const part *ref)
{
    const json_value *a = json_get(p->j, "input"), *b = json_get(ref->j, "input");
    int ok = 1, ok2 = 1;
    const json_value *ea = json_get(a, "events"), *eb = json_get(b, "events");
    if (num(a, "bytes", &ok) != num(b, "bytes", &ok2) ||
        !same_str(str(a, "head_crc32c"), str(b, "head_crc32c")) ||
        !same_str(str(a, "tail_crc32c"), str(b, "tail_crc32c")) ||
        (ea && eb && ea->type == JSON_NUMBER && eb->type == JSON_NUMBER &&
         ea->number != eb->number))
        problem("%s: another input than %s: events file %s, %.0f bytes, CRC-32C %s/%s vs "
                "%s, %.0f bytes, %s/%s", p->label, ref->csv, str(p->j, "events_file"),
                num(a, "bytes", &ok), str(a, "head_crc32c"), str(a, "tail_crc32c"),
                str(ref->j, "events_file"), num(b, "bytes", &ok2), str(b, "head_crc32c"),
                str(b, "tail_crc32c"));
    if (!same_str(str(p->j, "arch"), str(ref->j, "arch")))
        problem("%s: arch %s, but %s has %s", p->label, str(p->j, "arch"), ref->csv,
                str(ref->j, "arch"));
    const json_value *ma = json_get(p->j, "models"), *mb = json_get(ref->j, "models");
    if (!ma || !mb || ma->type != JSON_ARRAY || mb->type != JSON_ARRAY || ma->n != mb->n) {
        problem("%s: another set of taggers than %s", p->label, ref->csv);
        return;
    }
    for (size_t t = 0; t < ma->n; t++) {
        const json_value *x = &ma->items[t], *y = &mb->items[t];
        if (!same_str(str(x, "tagger"), str(y, "tagger")))
            problem("%s: tagger %zu is %s, but %s's is %s", p->label, t, str(x, "tagger"),
                    ref->csv, str(y, "tagger"));
        else if (num(x, "bytes", &ok) != num(y, "bytes", &ok2) ||
                 !same_str(str(x, "crc32c"), str(y, "crc32c")) || !num(x, "bytes", &ok))
            problem("%s: tagger %s: another model than %s (%s, %.0f bytes, CRC-32C %s vs %s, "
                    "%.0f bytes, %s)", p->label, str(x, "tagger"), ref->csv, str(x, "path"),
                    num(x, "bytes", &ok), str(x, "crc32c"), str(y, "path"),
                    num(y, "bytes", &ok2), str(y, "crc32c"));
        else if (!same_str(str(x, "channels"), str(y, "channels")))
            problem("%s: tagger %s: channels %s, but %s's are %s", p->label, str(x, "tagger"),
                    str(x, "channels") ? str(x, "channels") : "(default)", ref->csv,
                    str(y, "channels") ? str(y, "channels") : "(default)");
    }
}

static int by_first(const void *a, const void *b)
{
    const part *x = *(part *const *)a, *y = *(part *const *)b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->events < y->events ? -1 : x->events > y->events;
}

/* every event of [0, total) exactly once; shards I/N each once when all parts have the same N */
static void check_coverage(part **sorted, int np, uint64_t total)
{
    uint64_t pos = 0;
    const part *prev = NULL;
    for (int i = 0; i < np; i++) {
        const part *p = sorted[i];
        if (!p->events)
            continue;
        if (p->first > pos)
            problem("events %llu..%llu of the input are in no part (missing part%s%s)",
                    (unsigned long long)pos, (unsigned long long)(p->first - 1),
                    prev ? " after " : "", prev ? prev->label : "");
        else if (p->first < pos)
            problem("%s overlaps %s: events %llu..%llu would be written twice", p->label,
                    prev->label, (unsigned long long)p->first,
                    (unsigned long long)((pos < p->first + p->events ? pos
                                                                     : p->first + p->events) - 1));
        if (p->first + p->events > pos)
            pos = p->first + p->events;
        prev = p;
    }
    if (pos < total)
        problem("events %llu..%llu of the input (%llu events) are in no part (missing part%s%s)",
                (unsigned long long)pos, (unsigned long long)(total - 1),
                (unsigned long long)total, prev ? " after " : "", prev ? prev->label : "");
    if (pos > total)
        problem("the parts cover events up to %llu but the input has %llu",
                (unsigned long long)(pos - 1), (unsigned long long)total);

    uint32_t n = np && sorted[0]->have_shard ? sorted[0]->shard_n : 0;
    for (int i = 0; i < np; i++)
        if (!sorted[i]->have_shard || sorted[i]->shard_n != n)
            n = 0;
    if (!n || n > 1000000)
        return;
    const part **seen = calloc(n, sizeof *seen);
    if (!seen)
        return;
    for (int i = 0; i < np; i++) {
        const part *p = sorted[i];
        if (p->shard_i >= n)
            continue;
        if (seen[p->shard_i])
            problem("shard %u/%u is given twice: %s and %s", p->shard_i, n, seen[p->shard_i]->csv,
                    p->csv);
        else
            seen[p->shard_i] = p;
    }
    int missing = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!seen[i] && missing++ < 20)
            problem("shard %u/%u is missing", i, n);
    if (missing > 20)
        problem("... %d shards missing in all", missing);
    free(seen);
}

/* the CSV's size is the one its run recorded; the header is e2e run's */
static void check_csv(const part *p)
{
    FILE *f = fopen(p->csv, "rb");
    if (!f) {
        problem("%s: cannot open: %s", p->label, strerror(errno));
        return;
    }
    char head[sizeof CSV_HEADER + 8];
    size_t got = fread(head, 1, sizeof CSV_HEADER - 1, f);
    head[got] = 0;
    fseeko(f, 0, SEEK_END);
    uint64_t size = (uint64_t)ftello(f);
    fclose(f);
    if (strcmp(head, CSV_HEADER))
        problem("%s: not a predictions CSV of e2e run (header)", p->label);
    else if (size != p->output_bytes)
        problem("%s: %llu bytes, but its run wrote %llu (changed or truncated since)", p->label,
                (unsigned long long)size, (unsigned long long)p->output_bytes);
}

/* PART.csv and its JSON: by the recorded output path, else by file name */
static part *match_json(part *parts, int np, const char *json, const char *out_real)
{
    if (!out_real)
        return NULL;
    for (int i = 0; i < np; i++)
        if (parts[i].csv_real[0] && !strcmp(parts[i].csv_real, out_real))
            return &parts[i];
    part *hit = NULL;
    for (int i = 0; i < np; i++)
        if (!strcmp(base_name(parts[i].csv), base_name(out_real))) {
            if (hit) {
                problem("%s: names %s, and both %s and %s have that file name", json, out_real,
                        hit->csv, parts[i].csv);
                return NULL;
            }
            hit = &parts[i];
        }
    return hit;
}

static int copy_rows(FILE *out, const part *p, uint64_t *rows)
{
    FILE *f = fopen(p->csv, "rb");
    if (!f) {
        problem("%s: cannot open: %s", p->label, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t n = 0;
    int first = 1;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (first) {
            first = 0;
            continue;
        }
        fwrite(line, 1, (size_t)len, out);
        n++;
    }
    free(line);
    fclose(f);
    if (n != p->rows) {
        problem("%s: %llu rows, but its run wrote %llu", p->label, (unsigned long long)n,
                (unsigned long long)p->rows);
        return -1;
    }
    *rows += n;
    return 0;
}

/* adds the parts' stages; the stage names (and order) must agree */
static int merge_stages(part **sorted, int np, stage *st, char names[][48], int *nst)
{
    const json_value *ref = json_get(sorted[0]->j, "stages");
    if (!ref || ref->type != JSON_ARRAY || ref->n > MAX_STAGES) {
        problem("%s: no stages in its timing JSON", sorted[0]->json);
        return -1;
    }
    *nst = (int)ref->n;
    memset(st, 0, sizeof(stage) * MAX_STAGES);
    for (int i = 0; i < np; i++) {
        const json_value *a = json_get(sorted[i]->j, "stages");
        if (!a || a->type != JSON_ARRAY || a->n != ref->n) {
            problem("%s: other timing stages than %s", sorted[i]->json, sorted[0]->json);
            return -1;
        }
        for (size_t k = 0; k < a->n; k++) {
            const json_value *s = &a->items[k], *h = json_get(s, "hist");
            const char *name = str(s, "stage");
            int ok = 1;
            uint64_t n = (uint64_t)num(s, "n", &ok);
            double sum = num(s, "sum_ms", &ok), mx = num(s, "max_ms", &ok);
            if (!name || !same_str(name, str(&ref->items[k], "stage")) || !ok || !h ||
                h->type != JSON_ARRAY) {
                problem("%s: stage %zu (%s) is not the one of %s or has no histogram",
                        sorted[i]->json, k, name ? name : "?", sorted[0]->json);
                return -1;
            }
            uint64_t in_bins = 0;
            for (size_t b = 0; b < h->n; b++) {
                const json_value *e = &h->items[b];
                int pair = e->type == JSON_ARRAY && e->n == 2 &&
                           e->items[0].type == JSON_NUMBER && e->items[1].type == JSON_NUMBER;
                double bin = pair ? e->items[0].number : -1;
                if (!(bin >= 0 && bin <= HB_BINS) || bin != (int)bin ||
                    !(e->items[1].number >= 0 && e->items[1].number < 4294967296.0)) {
                    problem("%s: stage %s: bad histogram entry", sorted[i]->json, name);
                    return -1;
                }
                st[k].bins[(int)bin] += (uint32_t)e->items[1].number;
                in_bins += (uint64_t)e->items[1].number;
            }
            if (in_bins != n) {
                problem("%s: stage %s: the histogram holds %llu times, n is %llu",
                        sorted[i]->json, name, (unsigned long long)in_bins,
                        (unsigned long long)n);
                return -1;
            }
            snprintf(names[k], 48, "%s", name);
            st[k].name = names[k];
            st[k].n += n;
            st[k].sum_ms += sum;
            if (mx > st[k].max_ms)
                st[k].max_ms = mx;
        }
    }
    return 0;
}

/* a CRC-32C as JSON has it ("89abcdef"); 0 when absent */
static uint32_t hex(const char *s)
{
    return s ? (uint32_t)strtoul(s, NULL, 16) : 0;
}

static int write_summary(const char *path, part **sorted, int np, uint64_t total,
                         const char *out_real, uint64_t out_bytes, uint64_t rows,
                         const stage *st, int nst, double wall_sum, double wall_max)
{
    const part *r = sorted[0];
    const json_value *in = json_get(r->j, "input"), *models = json_get(r->j, "models");
    int ok = 1;
    e2e_run_meta m;
    memset(&m, 0, sizeof m);
    m.status = "complete";
    m.arch = str(r->j, "arch") ? str(r->j, "arch") : "";
    m.events_total = total;
    m.input.bytes = (uint64_t)num(in, "bytes", &ok);
    m.input.head_crc = hex(str(in, "head_crc32c"));
    m.input.tail_crc = hex(str(in, "tail_crc32c"));
    m.output = out_real;
    m.output_bytes = out_bytes;
    m.rows = rows;
    for (size_t t = 0; models->type == JSON_ARRAY && t < models->n && t < MAX_MODELS; t++) {
        const json_value *x = &models->items[t];
        m.tagger[t] = str(x, "tagger");
        m.model_path[t] = str(x, "path");
        m.channels[t] = str(x, "channels");
        m.model[t].bytes = (uint64_t)num(x, "bytes", &ok);
        m.model[t].head_crc = hex(str(x, "crc32c"));
        m.n_taggers++;
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n");
    e2e_run_meta_json(f, &m, total);
    fprintf(f, "  \"events\": %llu,\n  \"events_file\": ", (unsigned long long)total);
    e2e_cli_json_str(f, str(r->j, "events_file"));
    fprintf(f, ",\n  \"parts\": %d,\n  \"wall_s\": %.6f,\n  \"wall_s_max\": %.6f,\n"
            "  \"events_per_s\": %.3f,\n  \"stages\": [", np, wall_sum, wall_max,
            wall_sum > 0 ? total / wall_sum : 0.0);
    for (int k = 0; k < nst; k++) {
        fprintf(f, "%s\n    ", k ? "," : "");
        stage_json(f, &st[k]);
    }
    fprintf(f, "\n  ],\n  \"taggers\": [");
    const json_value *tg = json_get(r->j, "taggers");
    for (size_t t = 0; tg && tg->type == JSON_ARRAY && t < tg->n; t++) {
        double slots = 0, seeded = 0, fi = 0;
        for (int i = 0; i < np; i++) {
            const json_value *a = json_get(sorted[i]->j, "taggers");
            const json_value *x = a && a->type == JSON_ARRAY && t < a->n ? &a->items[t] : NULL;
            slots += num(x, "slots", &ok);
            seeded += num(x, "seeded", &ok);
            fi += num(x, "frames_inference_ms", &ok) * (double)sorted[i]->events;
        }
        fi = total ? fi / total : 0; /* means combine exactly, weighted by the events */
        const json_value *x = &tg->items[t], *fr = json_get(x, "frame");
        fprintf(f, "%s\n    {\"name\": ", t ? "," : "");
        e2e_cli_json_str(f, str(x, "name"));
        fprintf(f, ", \"model\": ");
        e2e_cli_json_str(f, str(x, "model"));
        if (fr && fr->type == JSON_ARRAY && fr->n == 3)
            fprintf(f, ", \"frame\": [%.0f, %.0f, %.0f]", fr->items[0].number,
                    fr->items[1].number, fr->items[2].number);
        fprintf(f, ", \"slots\": %.0f, \"seeded\": %.0f, \"frames_inference_ms\": %.6f, "
                "\"frames_inference_events_per_s\": %.3f}", slots, seeded, fi,
                fi > 0 ? 1e3 / fi : 0.0);
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) ? -1 : 0;
}

int e2e_cmd_merge(int argc, char **argv)
{
    const char *out = NULL, *timing = NULL;
    int ncsv = 0, njson = 0;
    const char **jsons = calloc((size_t)argc, sizeof *jsons);
    part *parts = calloc((size_t)argc, sizeof *parts);
    part **sorted = calloc((size_t)argc, sizeof *sorted);
    int rc = E2E_EXIT_FAIL;
    FILE *o = NULL;
    char tmp[PATH_MAX + 32] = "";
    problems = 0;
    if (!jsons || !parts || !sorted) {
        fprintf(stderr, "e2e merge: out of memory\n");
        goto done;
    }
    const e2e_opt opts[] = {
        E2E_OPT_S("output", 'o', &out, "OUT.csv", "the merged CSV (- for stdout)"),
        E2E_OPT_S("timing-json", 0, &timing, "FILE", "the combined timing JSON (- for stdout)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"merge", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr) {
        rc = pr > 0 ? 0 : E2E_EXIT_USAGE;
        goto done;
    }
    for (int i = 1; i <= npos; i++) {
        if (ends_with(argv[i], ".json"))
            jsons[njson++] = argv[i];
        else
            parts[ncsv++].csv = argv[i];
    }
    if (!out || !ncsv) {
        fprintf(stderr, "e2e merge: needs -o OUT.csv and at least one part CSV (e2e merge "
                "--help)\n");
        rc = E2E_EXIT_USAGE;
        goto done;
    }
    /* "-": stdout (written at the end, all or nothing as with a file; the report then goes
       to stderr) */
    int csv_stdout = !strcmp(out, "-"), json_stdout = timing && !strcmp(timing, "-");
    if (csv_stdout && json_stdout) {
        fprintf(stderr, "e2e merge: -o - and --timing-json - cannot both go to stdout\n");
        rc = E2E_EXIT_USAGE;
        goto done;
    }
    FILE *report = csv_stdout || json_stdout ? stderr : stdout;
    /* the outputs are checked before the parts are read (out_file.h) */
    if ((!csv_stdout && e2e_out_check("merge", "-o", out)) ||
        (timing && !json_stdout && e2e_out_check("merge", "--timing-json", timing))) {
        rc = E2E_EXIT_USAGE;
        goto done;
    }
    for (int i = 0; i < ncsv; i++) {
        part *p = &parts[i];
        if (!realpath(p->csv, p->csv_real)) {
            problem("%s: cannot open: %s", p->csv, strerror(errno));
            p->csv_real[0] = 0;
            continue;
        }
        for (int k = 0; k < i; k++)
            if (!strcmp(parts[k].csv_real, p->csv_real))
                problem("%s is given twice (as %s and %s)", p->csv_real, parts[k].csv, p->csv);
    }
    if (problems)
        goto done;

    /* each CSV with its timing JSON */
    for (int k = 0; k < njson; k++) {
        char msg[1200];
        json_value *j = json_read_file(jsons[k], msg, sizeof msg);
        if (!j) {
            problem("%s", msg);
            continue;
        }
        part *p = match_json(parts, ncsv, jsons[k], str(j, "output"));
        if (!p) {
            problem("%s: the part it describes (%s) is not among the CSV files given",
                    jsons[k], str(j, "output") ? str(j, "output") : "written to stdout");
        } else if (p->json) {
            problem("%s: %s and %s both describe it", p->csv, p->json, jsons[k]);
        } else {
            p->json = jsons[k];
        }
        json_free(j);
    }
    for (int i = 0; i < ncsv; i++) {
        part *p = &parts[i];
        if (p->json || njson)
            continue;
        size_t len = strlen(p->csv);
        snprintf(p->json_buf, sizeof p->json_buf, "%.*s.json",
                 (int)(ends_with(p->csv, ".csv") ? len - 4 : len), p->csv);
        if (!access(p->json_buf, R_OK))
            p->json = p->json_buf;
    }
    for (int i = 0; i < ncsv; i++)
        if (!parts[i].json)
            problem("%s: no timing JSON describes it (run each part with --timing-json and "
                    "give those files, or put PART.json beside PART.csv)", parts[i].csv);
    if (problems)
        goto done;
    for (int i = 0; i < ncsv; i++)
        part_load(&parts[i]);
    if (problems)
        goto done;

    /* finished, same input and models, CSV intact */
    uint64_t total = E2E_RUN_NO_COUNT;
    for (int i = 0; i < ncsv; i++) {
        part *p = &parts[i];
        const char *status = str(p->j, "status");
        if (strcmp(status, "complete"))
            problem("%s: did not finish (status %s%s)", p->label, status,
                    !strcmp(status, "running") ? ": killed, or still running" : "");
        if (i)
            part_compare(p, &parts[0]);
        const json_value *ev = json_get(json_get(p->j, "input"), "events");
        if (ev && ev->type == JSON_NUMBER)
            total = (uint64_t)ev->number;
        if (!str(p->j, "output"))
            problem("%s: its CSV went to stdout", p->label);
        else
            check_csv(p);
        sorted[i] = p;
    }
    if (problems)
        goto done;
    if (total == E2E_RUN_NO_COUNT) {
        problem("no part knows the number of events in the input (run the parts with --shard, "
                "which counts them)");
        goto done;
    }
    qsort(sorted, (size_t)ncsv, sizeof *sorted, by_first);
    check_coverage(sorted, ncsv, total);
    stage st[MAX_STAGES];
    char names[MAX_STAGES][48];
    int nst = 0;
    if (timing)
        merge_stages(sorted, ncsv, st, names, &nst);
    if (problems)
        goto done;

    /* the CSV: one header, the parts' rows in event order; written whole or not at all */
    if (csv_stdout)
        o = stdout;
    else
        snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
    if (!csv_stdout && !(o = fopen(tmp, "wb"))) {
        fprintf(stderr, "e2e merge: %s: cannot create: %s\n", tmp, strerror(errno));
        tmp[0] = 0;
        goto done;
    }
    fputs(CSV_HEADER, o);
    uint64_t rows = 0;
    double wall_sum = 0, wall_max = 0;
    for (int i = 0; i < ncsv; i++) {
        if (copy_rows(o, sorted[i], &rows))
            goto done;
        int ok = 1;
        double w = num(sorted[i]->j, "wall_s", &ok);
        wall_sum += w;
        if (w > wall_max)
            wall_max = w;
    }
    off_t bytes = ftello(o);
    if (bytes < 0) /* a pipe */
        bytes = 0;
    int werr = ferror(o);
    if ((csv_stdout ? fflush(o) : fclose(o)) || werr) {
        o = NULL;
        fprintf(stderr, "e2e merge: %s: write failed\n", csv_stdout ? "stdout" : tmp);
        goto done;
    }
    o = NULL;
    if (!csv_stdout && rename(tmp, out)) {
        fprintf(stderr, "e2e merge: %s: cannot rename to %s: %s\n", tmp, out, strerror(errno));
        goto done;
    }
    tmp[0] = 0;
    char out_real[PATH_MAX];
    if (!realpath(out, out_real))
        snprintf(out_real, sizeof out_real, "%s", out);
    if (json_stdout) {
        if (write_summary("/dev/stdout", sorted, ncsv, total, out_real, (uint64_t)bytes, rows,
                          st, nst, wall_sum, wall_max)) {
            fprintf(stderr, "e2e merge: stdout: cannot write: %s\n", strerror(errno));
            goto done;
        }
    } else if (timing) { /* TIMING.tmp.PID renamed, like the CSV */
        e2e_out_file jo;
        e2e_out_init(&jo, timing);
        if (write_summary(jo.tmp, sorted, ncsv, total, csv_stdout ? NULL : out_real,
                          (uint64_t)bytes, rows, st,
                          nst, wall_sum, wall_max)) {
            fprintf(stderr, "e2e merge: %s: cannot write: %s\n", jo.tmp, strerror(errno));
            e2e_out_discard(&jo);
            goto done;
        }
        if (e2e_out_commit(&jo, "merge")) {
            e2e_out_discard(&jo); /* a merge writes all or nothing */
            goto done;
        }
    }
    if (e2e_cli_verbose >= 0) {
        fprintf(report, "merged %d part%s: %llu events, %llu rows -> %s\n", ncsv,
                ncsv == 1 ? "" : "s", (unsigned long long)total, (unsigned long long)rows,
                csv_stdout ? "stdout" : out);
        if (timing) {
            fprintf(report, "per-stage time, ms per event (all parts)\n  %-22s %10s %10s %10s\n",
                    "stage", "mean", "p50", "p99");
            for (int k = 0; k < nst; k++)
                fprintf(report, "  %-22s %10.3f %10.3f %10.3f\n", st[k].name,
                        stage_mean(&st[k]), stage_pct(&st[k], 0.5), stage_pct(&st[k], 0.99));
            fprintf(report, "  parts' wall time: %.3f s in all, %.3f s the slowest -> %s\n",
                    wall_sum, wall_max, json_stdout ? "stdout" : timing);
        }
    }
    rc = 0;
done:
    if (problems)
        fprintf(stderr, "e2e merge: %d problem%s; nothing written\n", problems,
                problems == 1 ? "" : "s");
    if (o && o != stdout)
        fclose(o);
    if (tmp[0])
        remove(tmp);
    for (int i = 0; parts && i < ncsv; i++)
        json_free(parts[i].j);
    free(parts);
    free(sorted);
    free(jsons);
    return rc;
}
