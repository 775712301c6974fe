/* e2e compare: one model, the same inputs, several devices — latency, throughput and the
   largest output differences against the first device of the list. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "runtime/profile.h"

#define MAX_IN 16
#define MAX_OUT 16
#define MAX_DEV 4

static void help(void)
{
    printf("usage: e2e compare MODEL [--devices cpu,cuda] [--batch N] [--runs R] [--warmup W]\n"
           "                   [--threads T] [--seed S] [--rtol R] [--atol A]\n\n"
           "Runs MODEL (a .onnx file or a folder holding model.onnx) on each device of the list\n"
           "with the same inputs (seeded uniform random numbers in [0, 1); dynamic dimensions:\n"
           "the first is the batch N, default 1, the others 1). Prints, per device, the median\n"
           "latency of R timed runs (default 50, after W = 5 warm-up runs; a CUDA run includes\n"
           "the input and output copies) and the throughput (N * 1000 / median, images/s), then\n"
           "for every other device the largest absolute and relative difference of each output\n"
           "against the first device, and whether every element is within\n"
           "|diff| <= atol + rtol * |reference| (defaults rtol 1e-4, atol 1e-5; docs/gpu.md).\n\n"
           "  --devices LIST  comma-separated cpu, cuda (default cpu,cuda)\n"
           "  --threads T     compute threads of the CPU session (default 1)\n\n"
           "A device that is not available is reported with the reason. Exit status 1 when a\n"
           "device named in --devices is not available or an output is outside the tolerance;\n"
           "without --devices a missing GPU is only reported.\n");
}

typedef struct opts {
    const char *path;
    int n_dev, explicit_devices;
    e2e_device dev[MAX_DEV];
    int batch, runs, warmup, threads;
    unsigned long long seed;
    double rtol, atol;
} opts;

static int int_arg(const char *opt, const char *v, int min, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || end == v || x < min || x > 100000000L) {
        fprintf(stderr, "e2e compare: %s wants an integer >= %d, got '%s'\n", opt, min, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int double_arg(const char *opt, const char *v, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (*end || end == v || !(x >= 0)) {
        fprintf(stderr, "e2e compare: %s wants a number >= 0, got '%s'\n", opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

static const char *dev_name(e2e_device d) { return d == E2E_DEVICE_CUDA ? "cuda" : "cpu"; }

static int parse_devices(const char *s, opts *o)
{
    o->n_dev = 0;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        e2e_device d;
        if (n == 3 && !strncmp(s, "cpu", 3))
            d = E2E_DEVICE_CPU;
        else if (n == 4 && !strncmp(s, "cuda", 4))
            d = E2E_DEVICE_CUDA;
        else {
            fprintf(stderr, "e2e compare: unknown device '%.*s' in --devices (cpu, cuda)\n", (int)n, s);
            return -1;
        }
        for (int i = 0; i < o->n_dev; i++)
            if (o->dev[i] == d) {
                fprintf(stderr, "e2e compare: device %s is listed twice\n", dev_name(d));
                return -1;
            }
        if (o->n_dev == MAX_DEV)
            return -1;
        o->dev[o->n_dev++] = d;
        s += n;
        if (*s == ',')
            s++;
    }
    if (!o->n_dev) {
        fprintf(stderr, "e2e compare: --devices is empty\n");
        return -1;
    }
    return 0;
}

/* 1: help printed; -1: usage error; 0: go */
static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->dev[0] = E2E_DEVICE_CPU;
    o->dev[1] = E2E_DEVICE_CUDA;
    o->n_dev = 2;
    o->batch = 1;
    o->runs = 50;
    o->warmup = 5;
    o->threads = 1;
    o->seed = 42;
    o->rtol = 1e-4;
    o->atol = 1e-5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (e2e_cli_is_help(a)) {
            help();
            return 1;
        } else if (!strcmp(a, "--devices") && has) {
            if (parse_devices(argv[++i], o))
                return -1;
            o->explicit_devices = 1;
        } else if (!strcmp(a, "--batch") && has) {
            if (int_arg(a, argv[++i], 1, &o->batch))
                return -1;
        } else if (!strcmp(a, "--runs") && has) {
            if (int_arg(a, argv[++i], 1, &o->runs))
                return -1;
        } else if (!strcmp(a, "--warmup") && has) {
            if (int_arg(a, argv[++i], 0, &o->warmup))
                return -1;
        } else if (!strcmp(a, "--threads") && has) {
            if (int_arg(a, argv[++i], 1, &o->threads))
                return -1;
        } else if (!strcmp(a, "--seed") && has) {
            o->seed = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(a, "--rtol") && has) {
            if (double_arg(a, argv[++i], &o->rtol))
                return -1;
        } else if (!strcmp(a, "--atol") && has) {
            if (double_arg(a, argv[++i], &o->atol))
                return -1;
        } else if (a[0] == '-') {
            fprintf(stderr, "e2e compare: unknown option %s (e2e help compare)\n", a);
            return -1;
        } else if (!o->path) {
            o->path = a;
        } else {
            fprintf(stderr, "e2e compare: unexpected argument %s\n", a);
            return -1;
        }
    }
    if (!o->path) {
        fprintf(stderr, "e2e compare: no model given (e2e help compare)\n");
        return -1;
    }
    return 0;
}

/* What one device produced. */
typedef struct dev_run {
    e2e_device dev;
    int available, ran;
    char why[1024];
    double median_ms;
    int n_out;
    e2e_tensor_view out[MAX_OUT]; /* data: owned copies */
} dev_run;

static void dev_run_clear(dev_run *r)
{
    for (int i = 0; i < r->n_out; i++)
        free(r->out[i].data);
    r->n_out = 0;
}

/* Runs the model on one device; 0 ran, 1 device unavailable, -1 error (printed). */
static int run_device(const e2e_model *m, const opts *o, e2e_shape_binding *b, e2e_tensor_view *in,
                      int nin, dev_run *r)
{
    e2e_session_options so = e2e_cli_session_options();
    so.device = r->dev;
    so.threads = o->threads;
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
        fprintf(stderr, "e2e compare: %s: %s\n", dev_name(r->dev), err.message);
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
            fprintf(stderr, "e2e compare: %s: %s\n", dev_name(r->dev), err.message);
            goto done;
        }
    for (int i = 0; i < o->runs; i++) {
        double a = e2e_cli_now_ms();
        st = e2e_session_run(s, in, nin, &err);
        t[i] = e2e_cli_now_ms() - a;
        if (st) {
            fprintf(stderr, "e2e compare: %s: %s\n", dev_name(r->dev), err.message);
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

/* Prints the differences of r against ref; returns the number of outputs out of tolerance. */
static int report_diff(const opts *o, const dev_run *ref, const dev_run *r)
{
    int bad = 0;
    for (int i = 0; i < r->n_out && i < ref->n_out; i++) {
        const e2e_tensor_view *a = &ref->out[i], *b = &r->out[i];
        int64_t n = e2e_tensor_view_numel(a);
        const char *name = a->name ? a->name : "output";
        if (a->dtype != b->dtype || n != e2e_tensor_view_numel(b)) {
            printf("  %s: %s gives %s x %lld, %s gives %s x %lld\n", name, dev_name(ref->dev),
                   e2e_dtype_name(a->dtype), (long long)n, dev_name(r->dev), e2e_dtype_name(b->dtype),
                   (long long)e2e_tensor_view_numel(b));
            bad++;
            continue;
        }
        double max_abs = 0, max_rel = 0;
        int64_t outside = 0, worst = -1;
        for (int64_t j = 0; j < n; j++) {
            double x = elem(a, j), y = elem(b, j), d = fabs(x - y);
            if (isnan(x) != isnan(y)) {
                d = INFINITY;
            } else if (isnan(x)) {
                continue; /* both NaN */
            } else if (x == y) {
                continue; /* also equal infinities */
            }
            if (d > max_abs) {
                max_abs = d;
                worst = j;
            }
            if (x != 0 && d / fabs(x) > max_rel)
                max_rel = d / fabs(x);
            if (!(d <= o->atol + o->rtol * fabs(x)))
                outside++;
        }
        printf("  %-16s max |diff| %.3g, max rel %.3g", name, max_abs, max_rel);
        if (worst >= 0)
            printf(" (at %lld: %s %.9g, %s %.9g)", (long long)worst, dev_name(ref->dev), elem(a, worst),
                   dev_name(r->dev), elem(b, worst));
        if (outside)
            printf("; %lld of %lld outside the tolerance\n", (long long)outside, (long long)n);
        else
            printf("; within the tolerance\n");
        bad += outside > 0;
    }
    return bad;
}

int e2e_cmd_compare(int argc, char **argv)
{
    opts o;
    int pr = parse(argc, argv, &o);
    if (pr)
        return pr > 0 ? E2E_EXIT_OK : E2E_EXIT_USAGE;

    char path[4096];
    e2e_cli_model_path(o.path, path, sizeof path);

    int rc = E2E_EXIT_FAIL;
    e2e_error err;
    e2e_model *m = NULL;
    void *in_data[MAX_IN] = {0};
    dev_run runs[MAX_DEV];
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

    printf("e2e compare: %s, batch %lld, %d runs after %d warm-up; inputs uniform [0, 1), seed %llu\n",
           path, (long long)batch, o.runs, o.warmup, o.seed);
    printf("%-6s %12s %16s\n", "device", "median ms", "throughput /s");
    int missing = 0, ref = -1;
    for (int d = 0; d < o.n_dev; d++) {
        dev_run *r = &runs[d];
        r->dev = o.dev[d];
        int x = run_device(m, &o, b, in, nin, r);
        if (x < 0)
            goto done;
        if (x > 0) {
            printf("%-6s %12s %16s   not available: %s\n", dev_name(r->dev), "-", "-", r->why);
            missing++;
            continue;
        }
        double thr = r->median_ms > 0 ? (double)batch * 1000.0 / r->median_ms : 0;
        printf("%-6s %12.4f %16.1f", dev_name(r->dev), r->median_ms, thr);
        if (r->dev == E2E_DEVICE_CPU)
            printf("   %d thread%s", o.threads, o.threads == 1 ? "" : "s");
        printf("\n");
        if (ref < 0)
            ref = d;
    }
    int bad = 0, compared = 0;
    for (int d = 0; d < o.n_dev; d++) {
        if (d == ref || !runs[d].ran || ref < 0)
            continue;
        printf("%s vs %s (tolerance |diff| <= %g + %g * |%s|):\n", dev_name(runs[d].dev),
               dev_name(runs[ref].dev), o.atol, o.rtol, dev_name(runs[ref].dev));
        bad += report_diff(&o, &runs[ref], &runs[d]);
        compared++;
    }
    if (!compared)
        printf("no difference to report: %s\n",
               ref < 0 ? "no device ran" : "only one device ran");
    rc = E2E_EXIT_OK;
    if (bad)
        rc = E2E_EXIT_FAIL;
    if (missing && o.explicit_devices)
        rc = E2E_EXIT_FAIL;
    if (ref < 0)
        rc = E2E_EXIT_FAIL;
done:
    for (int d = 0; d < MAX_DEV; d++)
        dev_run_clear(&runs[d]);
    for (int i = 0; i < MAX_IN; i++)
        free(in_data[i]);
    e2e_model_free(m);
    return rc;
}
