/* e2e compare: one model, the same inputs, several configurations (a device, and for the CPU
   its threads, each with an optimize level) — latency, throughput and the largest output
   differences against the first configuration of the list; optionally as JSON with where the
   numbers came from (library version, CPU model, SIMD level). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/run_shard.h"
#include "onnx/tensor_proto.h"
#include "engine/profile.h"
#include "util/npy.h"

#define MAX_IN 16
#define MAX_OUT 16
#define MAX_CFG 8

static void help(void)
{
    printf("usage: e2e compare MODEL [--devices CONFIG,CONFIG,...] [--input [NAME=]FILE ...]\n"
           "                   [--batch N] [--runs R] [--warmup W] [--threads T] [--seed S]\n"
           "                   [--rtol R] [--atol A] [--json FILE]\n\n"
           "Runs MODEL (a .onnx file or a folder holding model.onnx) in each configuration of\n"
           "the list with the same inputs: read from --input files (.npy or .pb TensorProto;\n"
           "NAME= binds by name, else by position), the others seeded uniform random numbers\n"
           "in [0, 1) (dynamic dimensions: the first is the batch N, default 1 or the first\n"
           "input file's, the others 1). Prints, per configuration, the median latency of R\n"
           "timed runs (default 50, after W = 5 warm-up runs; a CUDA run includes the input and\n"
           "output copies) and the throughput (N * 1000 / median, images/s), then for every\n"
           "other configuration the largest absolute and relative difference of each output\n"
           "against the first, and whether every element is within\n"
           "|diff| <= atol + rtol * |reference| (defaults rtol 1e-4, atol 1e-5; docs/gpu.md).\n\n"
           "  --devices LIST  comma-separated configurations (default cpu,cuda):\n"
           "                    cpu[@THREADS][/optimize=N]   cuda[/optimize=N]\n"
           "                  e.g. cpu@1/optimize=0,cpu@2 compares the plain graph on one\n"
           "                  thread with the optimized one on two; THREADS defaults to\n"
           "                  --threads, N to the global --optimize (default 1)\n"
           "  --threads T     compute threads of a CPU configuration without @ (default 1)\n"
           "  --json FILE     also write the results as JSON (- for stdout, the text report\n"
           "                  then goes to stderr): each configuration's device, threads,\n"
           "                  optimize level, median and throughput, each output's\n"
           "                  differences, and the library version, CPU model and SIMD level\n\n"
           "A device that is not available is reported with the reason. Exit status 1 when a\n"
           "device named in --devices is not available or an output is outside the tolerance;\n"
           "without --devices a missing GPU is only reported.\n");
}

/* One configuration of the list. */
typedef struct config {
    char spec[48];         /* as printed: cpu@2/optimize=0 */
    e2e_device dev;
    int threads, optimize;
} config;

typedef struct opts {
    const char *path, *json;
    int n_cfg, explicit_devices, batch_set;
    const char *cfg_list;
    config cfg[MAX_CFG];
    int batch, runs, warmup, threads;
    uint64_t seed;
    double rtol, atol;
    int n_in;
    const char *in_name[MAX_IN], *in_file[MAX_IN]; /* in_name NULL: by position */
    char in_buf[MAX_IN][256];
} opts;

static const char *dev_name(e2e_device d) { return d == E2E_DEVICE_CUDA ? "cuda" : "cpu"; }

/* "cpu@2/optimize=0" -> c; -1 (printed) when malformed. */
static int parse_config(const char *s, size_t n, const opts *o, config *c)
{
    char buf[64];
    if (n >= sizeof buf) {
        fprintf(stderr, "e2e compare: configuration '%.*s' is too long\n", (int)n, s);
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    c->threads = o->threads;
    c->optimize = e2e_cli_optimize;
    char *slash = strchr(buf, '/'), *at = strchr(buf, '@');
    if (slash) {
        *slash = 0;
        char *end;
        long v = -1;
        if (!strncmp(slash + 1, "optimize=", 9))
            v = strtol(slash + 1 + 9, &end, 10);
        if (v < 0 || v > 2 || *end || end == slash + 1 + 9) {
            fprintf(stderr, "e2e compare: configuration '%.*s': after / comes optimize=0, 1 or 2\n",
                    (int)n, s);
            return -1;
        }
        c->optimize = (int)v;
    }
    if (at) {
        *at = 0;
        char *end;
        long v = strtol(at + 1, &end, 10);
        if (v < 1 || v > 1024 || *end || end == at + 1) {
            fprintf(stderr, "e2e compare: configuration '%.*s': @ takes a thread count 1..1024\n",
                    (int)n, s);
            return -1;
        }
        c->threads = (int)v;
    }
    if (!strcmp(buf, "cpu"))
        c->dev = E2E_DEVICE_CPU;
    else if (!strcmp(buf, "cuda") && !at)
        c->dev = E2E_DEVICE_CUDA;
    else {
        fprintf(stderr, "e2e compare: unknown configuration '%.*s' in --devices "
                "(cpu[@THREADS][/optimize=N], cuda[/optimize=N])\n", (int)n, s);
        return -1;
    }
    if (c->dev == E2E_DEVICE_CPU)
        snprintf(c->spec, sizeof c->spec, "cpu@%d/optimize=%d", c->threads, c->optimize);
    else
        snprintf(c->spec, sizeof c->spec, "cuda/optimize=%d", c->optimize);
    return 0;
}

static int parse_devices(const char *s, opts *o)
{
    o->n_cfg = 0;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        if (o->n_cfg == MAX_CFG) {
            fprintf(stderr, "e2e compare: at most %d configurations\n", MAX_CFG);
            return -1;
        }
        config *cf = &o->cfg[o->n_cfg];
        if (parse_config(s, n, o, cf))
            return -1;
        for (int i = 0; i < o->n_cfg; i++)
            if (!strcmp(o->cfg[i].spec, cf->spec)) {
                fprintf(stderr, "e2e compare: configuration %s is listed twice\n", cf->spec);
                return -1;
            }
        o->n_cfg++;
        s += n;
        if (*s == ',')
            s++;
    }
    if (!o->n_cfg) {
        fprintf(stderr, "e2e compare: --devices is empty\n");
        return -1;
    }
    return 0;
}

/* 1: help printed; -1: usage error; 0: go */
static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->runs = 50;
    o->warmup = 5;
    o->threads = 1;
    o->seed = 42;
    o->rtol = 1e-4;
    o->atol = 1e-5;
    const char *inputs[MAX_IN];
    const e2e_opt table[] = {
        E2E_OPT_S("devices", 0, &o->cfg_list, "LIST",
                  "configurations, e.g. cpu@1/optimize=0,cpu@2"),
        E2E_OPT_LIST_("input", inputs, &o->n_in, MAX_IN, "[NAME=]FILE", "an input (.npy or .pb)"),
        E2E_OPT_S("json", 0, &o->json, "FILE", "also write JSON (- for stdout)"),
        E2E_OPT_I("batch", &o->batch, 1, 100000000, "N", "the batch dimension (default 1)"),
        E2E_OPT_I("runs", &o->runs, 1, 100000000, "R", "timed runs (default 50)"),
        E2E_OPT_I("warmup", &o->warmup, 0, 100000000, "W", "warm-up runs (default 5)"),
        E2E_OPT_I("threads", &o->threads, 1, E2E_CLI_MAX_THREADS, "T",
                  "threads of a CPU configuration without @ (default 1)"),
        E2E_OPT_U("seed", &o->seed, 0, "S", "seed of the random inputs (default 42)"),
        E2E_OPT_D("rtol", &o->rtol, 0, 1e30, "R", "relative tolerance (default 1e-4)"),
        E2E_OPT_D("atol", &o->atol, 0, 1e30, "A", "absolute tolerance (default 1e-5)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"compare", help, table};
    o->batch = 0;
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr;
    o->batch_set = o->batch > 0;
    if (!o->batch)
        o->batch = 1;
    o->explicit_devices = o->cfg_list != NULL;
    for (int i = 0; i < o->n_in; i++) {
        const char *v = inputs[i], *eq = strchr(v, '=');
        o->in_name[i] = NULL;
        o->in_file[i] = v;
        if (eq) {
            snprintf(o->in_buf[i], sizeof o->in_buf[i], "%.*s", (int)(eq - v), v);
            o->in_name[i] = o->in_buf[i];
            o->in_file[i] = eq + 1;
        }
    }
    if (npos > 1) {
        fprintf(stderr, "e2e compare: unexpected argument %s\n", argv[2]);
        return -1;
    }
    if (!npos) {
        fprintf(stderr, "e2e compare: no model given (e2e help compare)\n");
        return -1;
    }
    o->path = argv[1];
    /* after the loop: --threads and --optimize may come after --devices */
    if (parse_devices(o->cfg_list ? o->cfg_list : "cpu,cuda", o))
        return -1;
    return 0;
}

/* The differences of one output against the reference configuration. */
typedef struct out_diff {
    char name[128];
    int mismatch;          /* other dtype or size: nothing compared */
    double max_abs, max_rel, ref_val, val;
    int64_t n, outside, worst;
} out_diff;

/* What one configuration produced. */
typedef struct cfg_run {
    const config *cfg;
    int available, ran;
    char why[1024];
    double median_ms;
    int n_out;
    e2e_tensor_view out[MAX_OUT]; /* data: owned copies */
    int n_diff;                   /* against the reference, when compared */
    out_diff diff[MAX_OUT];
} cfg_run;

static void cfg_run_clear(cfg_run *r)
{
    for (int i = 0; i < r->n_out; i++)
        free(r->out[i].data);
    r->n_out = 0;
}

/* Runs the model in one configuration; 0 ran, 1 device unavailable, -1 error (printed). */
static int run_config(const e2e_model *m, const opts *o, e2e_shape_binding *b, e2e_tensor_view *in,
                      int nin, cfg_run *r)
{
    e2e_session_options so = e2e_cli_session_options();
    so.device = r->cfg->dev;
    so.threads = r->cfg->threads;
    so.optimize = r->cfg->optimize;
    so.shapes = b;
    so.n_shapes = nin;
    so.default_batch = o->batch;
    e2e_error err;
    e2e_session *s = NULL;
    e2e_status st = e2e_session_create(m, &so, &s, &err);
    if (st == E2E_ERR_DEVICE) {
        snprintf(r->why, sizeof r->why, "%s", err.message);
        return 1;
    }
    if (st) {
        fprintf(stderr, "e2e compare: %s: %s\n", r->cfg->spec, err.message);
        return -1;
    }
    r->available = 1;
    double *t = malloc(sizeof(double) * (size_t)o->runs);
    int rc = -1;
    if (!t) {
        fprintf(stderr, "e2e compare: out of memory\n");
        goto done;
    }
    for (int w = 0; w < o->warmup; w++)
        if (e2e_session_run(s, in, nin, &err)) {
            fprintf(stderr, "e2e compare: %s: %s\n", r->cfg->spec, err.message);
            goto done;
        }
    for (int i = 0; i < o->runs; i++) {
        double a = e2e_cli_now_ms();
        st = e2e_session_run(s, in, nin, &err);
        t[i] = e2e_cli_now_ms() - a;
        if (st) {
            fprintf(stderr, "e2e compare: %s: %s\n", r->cfg->spec, err.message);
            goto done;
        }
    }
    r->median_ms = e2e_median(t, o->runs);
    r->n_out = e2e_session_output_count(s);
    if (r->n_out > MAX_OUT)
        r->n_out = MAX_OUT;
    for (int i = 0; i < r->n_out; i++) {
        e2e_tensor_view v;
        e2e_session_output(s, i, &v);
        int64_t n = e2e_tensor_view_numel(&v);
        size_t bytes = (size_t)(n > 0 ? n : 0) * e2e_dtype_size(v.dtype);
        r->out[i] = v;
        r->out[i].data = malloc(bytes ? bytes : 1);
        if (!r->out[i].data) {
            r->n_out = i;
            fprintf(stderr, "e2e compare: out of memory\n");
            goto done;
        }
        if (bytes)
            memcpy(r->out[i].data, v.data, bytes);
    }
    r->ran = 1;
    rc = 0;
done:
    free(t);
    e2e_session_free(s);
    return rc;
}

static double elem(const e2e_tensor_view *v, int64_t i)
{
    switch (v->dtype) {
    case E2E_FLOAT: return ((const float *)v->data)[i];
    case E2E_INT64: return (double)((const int64_t *)v->data)[i];
    case E2E_INT32: return ((const int32_t *)v->data)[i];
    case E2E_INT8: return ((const int8_t *)v->data)[i];
    default: return ((const uint8_t *)v->data)[i];
    }
}

/* Fills r->diff against ref and prints it (to txt); returns the outputs out of tolerance. */
static int report_diff(FILE *txt, const opts *o, const cfg_run *ref, cfg_run *r)
{
    int bad = 0;
    r->n_diff = 0;
    for (int i = 0; i < r->n_out && i < ref->n_out; i++) {
        const e2e_tensor_view *a = &ref->out[i], *b = &r->out[i];
        out_diff *df = &r->diff[r->n_diff++];
        memset(df, 0, sizeof *df);
        int64_t n = e2e_tensor_view_numel(a);
        snprintf(df->name, sizeof df->name, "%s", a->name ? a->name : "output");
        df->n = n;
        df->worst = -1;
        if (a->dtype != b->dtype || n != e2e_tensor_view_numel(b)) {
            fprintf(txt, "  %s: %s gives %s x %lld, %s gives %s x %lld\n", df->name,
                    ref->cfg->spec, e2e_dtype_name(a->dtype), (long long)n, r->cfg->spec,
                    e2e_dtype_name(b->dtype), (long long)e2e_tensor_view_numel(b));
            df->mismatch = 1;
            bad++;
            continue;
        }
        for (int64_t j = 0; j < n; j++) {
            double x = elem(a, j), y = elem(b, j), d = fabs(x - y);
            if (isnan(x) != isnan(y)) {
                d = INFINITY;
            } else if (isnan(x)) {
                continue; /* both NaN */
            } else if (x == y) {
                continue; /* also equal infinities */
            }
            if (d > df->max_abs) {
                df->max_abs = d;
                df->worst = j;
            }
            if (x != 0 && d / fabs(x) > df->max_rel)
                df->max_rel = d / fabs(x);
            if (!(d <= o->atol + o->rtol * fabs(x)))
                df->outside++;
        }
        fprintf(txt, "  %-16s max |diff| %.3g, max rel %.3g", df->name, df->max_abs, df->max_rel);
        if (df->worst >= 0) {
            df->ref_val = elem(a, df->worst);
            df->val = elem(b, df->worst);
            fprintf(txt, " (at %lld: %.9g vs %.9g)", (long long)df->worst, df->ref_val, df->val);
        }
        if (df->outside)
            fprintf(txt, "; %lld of %lld outside the tolerance\n", (long long)df->outside,
                    (long long)n);
        else
            fprintf(txt, "; within the tolerance\n");
        bad += df->outside > 0;
    }
    return bad;
}

/* JSON numbers: finite as %.9g, else null (JSON has no NaN or Infinity). */
static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fprintf(f, "null");
}

static int write_json(const opts *o, const char *path, int64_t batch, const e2e_tensor_view *in,
                      int nin, const int *from_file, const cfg_run *runs, int ref, int rc)
{
    FILE *f = strcmp(o->json, "-") ? fopen(o->json, "w") : stdout;
    if (!f)
        return -1;
    fprintf(f, "{\n  \"command\": \"compare\",\n  \"model\": ");
    e2e_cli_json_str(f, path);
    fprintf(f, ",\n  \"batch\": %lld,\n  \"runs\": %d,\n  \"warmup\": %d,\n  \"seed\": %llu,\n"
            "  \"rtol\": %g,\n  \"atol\": %g,\n", (long long)batch, o->runs, o->warmup,
            (unsigned long long)o->seed,
            o->rtol, o->atol);
    fprintf(f, "  \"provenance\": {\n");
    e2e_cli_json_provenance(f, "    ", 0, 0, NULL);
    fprintf(f, "},\n  \"inputs\": [");
    for (int i = 0; i < nin; i++) {
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        e2e_cli_json_str(f, in[i].name);
        fprintf(f, ", \"dtype\": \"%s\", \"shape\": [", e2e_dtype_name(in[i].dtype));
        for (int k = 0; k < in[i].rank; k++)
            fprintf(f, "%s%lld", k ? ", " : "", (long long)in[i].dims[k]);
        fprintf(f, "], \"source\": ");
        e2e_cli_json_str(f, from_file[i] >= 0 ? o->in_file[from_file[i]] : "random");
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"configs\": [");
    for (int d = 0; d < o->n_cfg; d++) {
        const cfg_run *r = &runs[d];
        fprintf(f, "%s\n    {\"config\": \"%s\", \"device\": \"%s\", \"threads\": %d, "
                "\"optimize\": %d, \"available\": %s, \"ran\": %s", d ? "," : "", r->cfg->spec,
                dev_name(r->cfg->dev), r->cfg->threads, r->cfg->optimize,
                r->available ? "true" : "false", r->ran ? "true" : "false");
        if (!r->available && r->why[0]) {
            fprintf(f, ", \"why\": ");
            e2e_cli_json_str(f, r->why);
        }
        if (r->ran) {
            fprintf(f, ", \"median_ms\": ");
            json_num(f, r->median_ms);
            fprintf(f, ", \"throughput_per_s\": ");
            json_num(f, r->median_ms > 0 ? (double)batch * 1000.0 / r->median_ms : 0);
        }
        if (d == ref)
            fprintf(f, ", \"reference\": true");
        else if (r->ran && ref >= 0) {
            fprintf(f, ", \"against\": \"%s\", \"outputs\": [", runs[ref].cfg->spec);
            for (int i = 0; i < r->n_diff; i++) {
                const out_diff *df = &r->diff[i];
                fprintf(f, "%s\n      {\"name\": ", i ? "," : "");
                e2e_cli_json_str(f, df->name);
                fprintf(f, ", \"elements\": %lld", (long long)df->n);
                if (df->mismatch)
                    fprintf(f, ", \"mismatch\": true, \"within_tolerance\": false}");
                else {
                    fprintf(f, ", \"max_abs_diff\": ");
                    json_num(f, df->max_abs);
                    fprintf(f, ", \"max_rel_diff\": ");
                    json_num(f, df->max_rel);
                    fprintf(f, ", \"outside\": %lld, \"within_tolerance\": %s}",
                            (long long)df->outside, df->outside ? "false" : "true");
                }
            }
            fprintf(f, "\n    ]");
        }
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"pass\": %s\n}\n", rc == E2E_EXIT_OK ? "true" : "false");
    if (f == stdout)
        return fflush(f) ? -1 : 0;
    return fclose(f) ? -1 : 0;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

int e2e_cmd_compare(int argc, char **argv)
{
    opts o;
    int pr = parse(argc, argv, &o);
    if (pr)
        return pr > 0 ? E2E_EXIT_OK : E2E_EXIT_USAGE;

    char path[4096];
    e2e_cli_model_path(o.path, path, sizeof path);
    FILE *txt = o.json && !strcmp(o.json, "-") ? stderr : stdout;

    int rc = E2E_EXIT_FAIL;
    e2e_error err;
    e2e_model *m = NULL;
    void *in_data[MAX_IN] = {0};
    e2e_tensor file_t[MAX_IN];
    memset(file_t, 0, sizeof file_t);
    cfg_run runs[MAX_CFG];
    memset(runs, 0, sizeof runs);
    if (e2e_cli_model_load(path, &m, &err)) {
        fprintf(stderr, "e2e compare: %s\n", err.message);
        return E2E_EXIT_FAIL;
    }
    int nin = e2e_model_input_count(m);
    if (nin > MAX_IN) {
        fprintf(stderr, "e2e compare: %s: %d inputs, at most %d supported\n", path, nin, MAX_IN);
        goto done;
    }
    /* --input files: which model input each one feeds (by name, else by position) */
    int from_file[MAX_IN];
    for (int i = 0; i < MAX_IN; i++)
        from_file[i] = -1;
    for (int j = 0; j < o.n_in; j++) {
        int at = -1;
        if (o.in_name[j]) {
            for (int i = 0; i < nin && at < 0; i++) {
                e2e_tensor_view d;
                if (!e2e_model_input(m, i, &d) && d.name && !strcmp(d.name, o.in_name[j]))
                    at = i;
            }
            if (at < 0) {
                fprintf(stderr, "e2e compare: --input %s=%s: the model %s has no input named "
                        "'%s'; its inputs:", o.in_name[j], o.in_file[j], path, o.in_name[j]);
                for (int i = 0; i < nin; i++) {
                    e2e_tensor_view d;
                    if (!e2e_model_input(m, i, &d))
                        fprintf(stderr, "%s %s", i ? "," : "", d.name);
                }
                fprintf(stderr, "\n");
                rc = E2E_EXIT_USAGE;
                goto done;
            }
        } else if ((at = j) >= nin) {
            fprintf(stderr, "e2e compare: --input %s: the model %s has only %d input%s\n",
                    o.in_file[j], path, nin, nin == 1 ? "" : "s");
            rc = E2E_EXIT_USAGE;
            goto done;
        }
        if (from_file[at] >= 0) {
            fprintf(stderr, "e2e compare: input %d is given twice (--input %s and %s)\n", at,
                    o.in_file[from_file[at]], o.in_file[j]);
            rc = E2E_EXIT_USAGE;
            goto done;
        }
        from_file[at] = j;
        if (ends_with(o.in_file[j], ".npy") ? e2e_npy_read(o.in_file[j], &file_t[at], &err)
                                            : e2e_tensor_read_pb(o.in_file[j], &file_t[at], &err)) {
            fprintf(stderr, "e2e compare: %s\n", err.message);
            goto done;
        }
        if (!o.batch_set && j == 0 && file_t[at].shape.rank > 0)
            o.batch = (int)file_t[at].shape.dims[0]; /* the random inputs follow the file */
    }
    e2e_shape_binding b[MAX_IN];
    int64_t dims[MAX_IN][E2E_MAX_RANK];
    e2e_tensor_view in[MAX_IN];
    char names[MAX_IN][256];
    uint64_t seed = o.seed;
    for (int i = 0; i < nin; i++) {
        e2e_tensor_view d;
        if (e2e_model_input(m, i, &d)) {
            fprintf(stderr, "e2e compare: %s: cannot read input %d\n", path, i);
            goto done;
        }
        snprintf(names[i], sizeof names[i], "%s", d.name ? d.name : "");
        if (from_file[i] >= 0) {
            const e2e_tensor *t = &file_t[i];
            if (d.dtype != E2E_UNDEFINED && t->dtype != d.dtype) {
                fprintf(stderr, "e2e compare: %s: input \"%s\" is %s, the file holds %s\n",
                        o.in_file[from_file[i]], names[i], e2e_dtype_name(d.dtype),
                        e2e_dtype_name(t->dtype));
                rc = E2E_EXIT_USAGE;
                goto done;
            }
            memcpy(dims[i], t->shape.dims, sizeof(int64_t) * (size_t)t->shape.rank);
            b[i] = (e2e_shape_binding){names[i], t->shape.rank, dims[i]};
            in[i] = (e2e_tensor_view){.name = names[i], .dtype = t->dtype, .rank = t->shape.rank,
                                      .data = t->data};
            memcpy(in[i].dims, dims[i], sizeof(int64_t) * (size_t)t->shape.rank);
            continue;
        }
        for (int k = 0; k < d.rank; k++)
            dims[i][k] = d.dims[k] >= 0 ? d.dims[k] : k == 0 ? o.batch : 1;
        b[i] = (e2e_shape_binding){names[i], d.rank, dims[i]};
        in[i] = (e2e_tensor_view){.name = names[i], .dtype = d.dtype == E2E_UNDEFINED ? E2E_FLOAT : d.dtype,
                                  .rank = d.rank};
        memcpy(in[i].dims, dims[i], sizeof(int64_t) * (size_t)d.rank);
        int64_t n = e2e_tensor_view_numel(&in[i]);
        size_t es = e2e_dtype_size(in[i].dtype);
        if (n < 0 || !es) {
            fprintf(stderr, "e2e compare: input \"%s\": bad shape or type\n", names[i]);
            goto done;
        }
        in_data[i] = malloc((size_t)n * es + 1);
        if (!in_data[i]) {
            fprintf(stderr, "e2e compare: out of memory for input \"%s\"\n", names[i]);
            goto done;
        }
        in[i].data = in_data[i];
        e2e_cli_fill_random(&in[i], &seed);
    }
    int64_t batch = nin && in[0].rank ? in[0].dims[0] : o.batch;

    fprintf(txt, "e2e compare: %s, batch %lld, %d runs after %d warm-up; inputs %s, seed %llu\n",
            path, (long long)batch, o.runs, o.warmup,
            o.n_in == nin ? "from files" : o.n_in ? "from files and uniform [0, 1)"
                                                   : "uniform [0, 1)", (unsigned long long)o.seed);
    fprintf(txt, "%-22s %12s %16s\n", "config", "median ms", "throughput /s");
    int missing = 0, ref = -1;
    for (int d = 0; d < o.n_cfg; d++) {
        cfg_run *r = &runs[d];
        r->cfg = &o.cfg[d];
        int x = run_config(m, &o, b, in, nin, r);
        if (x < 0)
            goto done;
        if (x > 0) {
            fprintf(txt, "%-22s %12s %16s   not available: %s\n", r->cfg->spec, "-", "-", r->why);
            missing++;
            continue;
        }
        double thr = r->median_ms > 0 ? (double)batch * 1000.0 / r->median_ms : 0;
        fprintf(txt, "%-22s %12.4f %16.1f\n", r->cfg->spec, r->median_ms, thr);
        if (ref < 0)
            ref = d;
    }
    int bad = 0, compared = 0;
    for (int d = 0; d < o.n_cfg; d++) {
        if (d == ref || !runs[d].ran || ref < 0)
            continue;
        fprintf(txt, "%s vs %s (tolerance |diff| <= %g + %g * |reference|):\n", runs[d].cfg->spec,
                runs[ref].cfg->spec, o.atol, o.rtol);
        bad += report_diff(txt, &o, &runs[ref], &runs[d]);
        compared++;
    }
    if (!compared)
        fprintf(txt, "no difference to report: %s\n",
                ref < 0 ? "no configuration ran" : "only one configuration ran");
    rc = E2E_EXIT_OK;
    if (bad)
        rc = E2E_EXIT_FAIL;
    if (missing && o.explicit_devices)
        rc = E2E_EXIT_FAIL;
    if (ref < 0)
        rc = E2E_EXIT_FAIL;
    if (o.json && write_json(&o, path, batch, in, nin, from_file, runs, ref, rc)) {
        fprintf(stderr, "e2e compare: %s: cannot write: %s\n", o.json, strerror(errno));
        rc = E2E_EXIT_FAIL;
    }
done:
    for (int d = 0; d < MAX_CFG; d++)
        cfg_run_clear(&runs[d]);
    for (int i = 0; i < MAX_IN; i++) {
        free(in_data[i]);
        e2e_tensor_clear(&file_t[i]);
    }
    e2e_model_free(m);
    return rc;
}
