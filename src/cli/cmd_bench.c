/* e2e bench: time a model — latency percentiles, throughput, GFLOP/s, and with --profile
   the time of every kernel next to cblas_sgemm on the same GEMM shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "engine/profile.h"
#include "engine/session.h"
#include "util/npy.h"

#define MAX_IN 16

static void help(void)
{
    printf("usage: e2e bench MODEL [--batch N] [--threads T] [--runs R] [--warmup W] [--json]\n"
           "                 [--profile] [--sort] [--shape NAME=DIMS] [--seed S]\n"
           "                 [--save-inputs DIR] [--save-outputs DIR]\n\n"
           "Loads MODEL (a .onnx file or a folder holding model.onnx), binds the dynamic\n"
           "dimensions to batch N (default 1), fills the inputs with seeded random numbers in\n"
           "[0, 1), runs W warm-up runs (default 10) and R timed runs (default: as many as fit\n"
           "in about 2 s, between 20 and 2000), timing each run with CLOCK_MONOTONIC.\n"
           "Prints the median, p99 and p99.9 latency (ms), the throughput (N * 1000 / median,\n"
           "images/s), the achieved GFLOP/s (the kernels' FLOPs / median) and the ms spent\n"
           "loading the model and creating the session (JSON: load_ms, session_ms, and the\n"
           "process's CPU time for them, load_cpu_ms, session_cpu_ms).\n\n"
           "  --threads T     compute threads of the session (default 1)\n"
           "  --device D      cpu (default), cuda, or auto (CPU when no GPU, said on stderr)\n"
           "  --json          one JSON object instead of the text report\n"
           "  --profile       also run the session kernel by kernel and print, per node, the\n"
           "                  median ms, GFLOP/s and, for Conv/Gemm/MatMul, the share of\n"
           "                  cblas_sgemm's throughput on the same GEMM shape; then per-op totals\n"
           "  --sort          list the profiled nodes slowest first\n"
           "  --shape N=DIMS  bind input N to DIMS (e.g. x=4x1x32x32) instead of using --batch\n"
           "  --save-inputs DIR, --save-outputs DIR   write <name>.npy of the inputs / outputs\n");
}

typedef struct opts {
    const char *path, *save_in, *save_out;
    int batch, threads, runs, warmup, json, profile, sort;
    e2e_device device;
    uint64_t seed;
    int n_shapes;
    char shape_name[MAX_IN][128];
    int64_t shape_dims[MAX_IN][E2E_MAX_RANK];
    int shape_rank[MAX_IN];
} opts;

/* --shape NAME=DIMS (dst: opts *). */
static int shape_arg(const char *cmd, const char *opt, const char *v, void *dst)
{
    opts *o = dst;
    const char *eq = strchr(v, '=');
    if (!eq || o->n_shapes == MAX_IN || eq - v >= 128) {
        fprintf(stderr, "e2e %s: %s wants NAME=DIMS (e.g. modelInput=4x1x32x32), at most %d\n",
                cmd, opt, MAX_IN);
        return -1;
    }
    int n = o->n_shapes;
    snprintf(o->shape_name[n], sizeof o->shape_name[n], "%.*s", (int)(eq - v), v);
    o->shape_rank[n] = e2e_cli_parse_dims(eq + 1, o->shape_dims[n], E2E_MAX_RANK);
    if (o->shape_rank[n] < 0) {
        fprintf(stderr, "e2e %s: bad dimensions in %s %s\n", cmd, opt, v);
        return -1;
    }
    o->n_shapes++;
    return 0;
}

/* 1: help printed; -1: usage error; 0: go */
static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->threads = 1;
    o->warmup = 10;
    o->seed = 42;
    const e2e_opt table[] = {
        E2E_OPT_I("batch", &o->batch, 1, 1000000000, "N",
                  "the dynamic dimensions' value (default 1)"),
        E2E_OPT_I("threads", &o->threads, 1, E2E_CLI_MAX_THREADS, "T",
                  "compute threads (default 1)"),
        E2E_OPT_C("device", e2e_opts_device, &o->device, "D", "cpu (default), cuda or auto"),
        E2E_OPT_I("runs", &o->runs, 1, 1000000000, "R", "timed runs (default: about 2 s worth)"),
        E2E_OPT_I("warmup", &o->warmup, 0, 1000000000, "W", "warm-up runs (default 10)"),
        E2E_OPT_U("seed", &o->seed, 0, "S", "seed of the random inputs (default 42)"),
        E2E_OPT_F("json", 0, &o->json, "one JSON object on stdout instead of the text report"),
        E2E_OPT_F("profile", 0, &o->profile, "also time every kernel"),
        E2E_OPT_F("sort", 0, &o->sort, "list the profiled nodes slowest first"),
        E2E_OPT_S("save-inputs", 0, &o->save_in, "DIR", "write DIR/<name>.npy of the inputs"),
        E2E_OPT_S("save-outputs", 0, &o->save_out, "DIR", "write DIR/<name>.npy of the outputs"),
        E2E_OPT_C("shape", shape_arg, o, "NAME=DIMS", "bind input NAME to DIMS (repeatable)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"bench", help, table};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr;
    if (npos != 1) {
        if (npos)
            fprintf(stderr, "e2e bench: one MODEL, not also '%s'\n", argv[2]);
        else
            fprintf(stderr, "e2e bench: no model given (e2e help bench)\n");
        return -1;
    }
    o->path = argv[1];
    if ((o->save_in && !strcmp(o->save_in, "-")) || (o->save_out && !strcmp(o->save_out, "-"))) {
        fprintf(stderr, "e2e bench: --save-inputs/--save-outputs name a folder of .npy files; "
                "'-' (stdout) cannot hold them\n");
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile of sorted v */
static double pct(const double *v, int n, double p)
{
    int r = (int)(p / 100.0 * n + 0.999999);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return v[r - 1];
}

static const char *act_name(e2e_act a)
{
    switch (a) {
    case E2E_ACT_RELU: return "+Relu";
    case E2E_ACT_LEAKY_RELU: return "+LeakyRelu";
    case E2E_ACT_SIGMOID: return "+Sigmoid";
    case E2E_ACT_CLIP: return "+Clip";
    case E2E_ACT_GELU: return "+Gelu";
    default: return "";
    }
}

typedef struct kprof {
    int index;
    char op[48];
    double ms, flops, gflops;
    int gemm;
    e2e_gemm_shape g;
    double sgemm_gflops, share; /* share in % of sgemm's GFLOP/s; < 0 unknown */
} kprof;

static int cmp_kprof_ms(const void *a, const void *b)
{
    double x = ((const kprof *)a)->ms, y = ((const kprof *)b)->ms;
    return (x < y) - (x > y);
}

typedef struct optotal {
    char op[48];
    int n;
    double ms, flops;
} optotal;

static int cmp_optotal(const void *a, const void *b)
{
    double x = ((const optotal *)a)->ms, y = ((const optotal *)b)->ms;
    return (x < y) - (x > y);
}

/* Runs the profile; fills *out (n_kernels entries) and the op totals. */
static int profile(e2e_session *s, const opts *o, int runs, kprof **out, optotal **tot, int *ntot,
                   e2e_error *err)
{
    int nk = s->n_kernels;
    double *acc = calloc((size_t)nk * (size_t)runs + 1, sizeof(double));
    double *one = calloc((size_t)nk + 1, sizeof(double));
    double *col = calloc((size_t)runs + 1, sizeof(double));
    kprof *kp = calloc((size_t)nk + 1, sizeof(kprof));
    optotal *ot = calloc((size_t)nk + 1, sizeof(optotal));
    int rc = -1, nt = 0;
    if (!acc || !one || !col || !kp || !ot) {
        e2e_fail(err, E2E_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int r = 0; r < runs + 2; r++) { /* two unrecorded warm-up passes */
        memset(one, 0, sizeof(double) * (size_t)nk);
        if (e2e_session_run_profiled(s, NULL, 0, one, err))
            goto done;
        if (r >= 2)
            for (int i = 0; i < nk; i++)
                acc[(size_t)i * runs + (r - 2)] = one[i];
    }
    for (int i = 0; i < nk; i++) {
        const e2e_kernel *k = &s->kernels[i];
        kprof *p = &kp[i];
        p->index = i;
        snprintf(p->op, sizeof p->op, "%s%s", k->node->op_type, act_name(k->act));
        memcpy(col, acc + (size_t)i * runs, sizeof(double) * (size_t)runs);
        p->ms = e2e_median(col, runs);
        p->flops = e2e_kernel_flops(k);
        p->gflops = p->ms > 0 ? p->flops / (p->ms * 1e6) : 0;
        p->share = -1;
        p->gemm = e2e_kernel_gemm_shape(k, &p->g);
        if (p->gemm) {
            /* reuse the yardstick of an identical shape measured before */
            for (int j = 0; j < i; j++)
                if (kp[j].gemm && kp[j].g.m == p->g.m && kp[j].g.n == p->g.n && kp[j].g.k == p->g.k &&
                    kp[j].sgemm_gflops > 0) {
                    p->sgemm_gflops = kp[j].sgemm_gflops;
                    break;
                }
            if (p->sgemm_gflops <= 0) {
                double ms = e2e_sgemm_ms(p->g.m, p->g.n, p->g.k, o->threads, 21);
                p->sgemm_gflops = ms > 0 ? 2.0 * p->g.m * p->g.n * p->g.k / (ms * 1e6) : 0;
            }
            if (p->sgemm_gflops > 0 && p->ms > 0) {
                double kflops = 2.0 * p->g.m * p->g.n * p->g.k * p->g.count;
                p->share = 100.0 * kflops / (p->ms * 1e6) / p->sgemm_gflops;
            }
        }
        int j = 0;
        while (j < nt && strcmp(ot[j].op, p->op))
            j++;
        if (j == nt)
            snprintf(ot[nt++].op, sizeof ot[0].op, "%s", p->op);
        ot[j].n++;
        ot[j].ms += p->ms;
        ot[j].flops += p->flops;
    }
    qsort(ot, (size_t)nt, sizeof *ot, cmp_optotal);
    if (o->sort)
        qsort(kp, (size_t)nk, sizeof *kp, cmp_kprof_ms);
    rc = 0;
done:
    free(acc);
    free(one);
    free(col);
    if (rc) {
        free(kp);
        free(ot);
        kp = NULL;
        ot = NULL;
    }
    *out = kp;
    *tot = ot;
    *ntot = nt;
    return rc;
}

static int save_views(const char *dir, const e2e_tensor_view *v, int n, e2e_error *err)
{
    mkdir(dir, 0777);
    for (int i = 0; i < n; i++) {
        char path[4096], name[256];
        snprintf(name, sizeof name, "%s", v[i].name ? v[i].name : "tensor");
        for (char *c = name; *c; c++)
            if (*c == '/' || *c == ':')
                *c = '_';
        snprintf(path, sizeof path, "%s/%s.npy", dir, name);
        if (e2e_npy_write(path, v[i].dtype, v[i].rank, v[i].dims, v[i].data, err))
            return -1;
    }
    return 0;
}

int e2e_cmd_bench(int argc, char **argv)
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
    e2e_session *s = NULL;
    void *in_data[MAX_IN] = {0};
    double *t = NULL;
    kprof *kp = NULL;
    optotal *ot = NULL;
    int nt = 0;
    const double t_load0 = e2e_cli_now_ms(), c_load0 = e2e_cli_cpu_ms();
    if (e2e_cli_model_load(path, &m, &err)) {
        fprintf(stderr, "e2e bench: %s\n", err.message);
        return E2E_EXIT_FAIL;
    }
    const double load_ms = e2e_cli_now_ms() - t_load0, load_cpu_ms = e2e_cli_cpu_ms() - c_load0;
    int nin = e2e_model_input_count(m);
    if (nin > MAX_IN) {
        fprintf(stderr, "e2e bench: %s: %d inputs, at most %d supported\n", path, nin, MAX_IN);
        goto done;
    }
    /* bind every input: --shape if given, else the declaration with dynamic dims -> batch
       for the first dimension (and 1 elsewhere, with a note) */
    e2e_shape_binding b[MAX_IN];
    int64_t dims[MAX_IN][E2E_MAX_RANK];
    e2e_tensor_view in[MAX_IN];
    char names[MAX_IN][256];
    for (int i = 0; i < nin; i++) {
        e2e_tensor_view d;
        if (e2e_model_input(m, i, &d)) {
            fprintf(stderr, "e2e bench: %s: cannot read input %d\n", path, i);
            goto done;
        }
        snprintf(names[i], sizeof names[i], "%s", d.name ? d.name : "");
        int given = -1;
        for (int j = 0; j < o.n_shapes; j++)
            if (!strcmp(o.shape_name[j], names[i]))
                given = j;
        int rank = given >= 0 ? o.shape_rank[given] : d.rank;
        for (int k = 0; k < rank; k++) {
            int64_t v = given >= 0 ? o.shape_dims[given][k] : d.dims[k];
            if (v < 0) {
                v = k == 0 ? o.batch : 1;
                if (k > 0 && !o.json)
                    fprintf(stderr, "e2e bench: input \"%s\" dimension %d is dynamic; using 1 "
                                    "(--shape to choose)\n", names[i], k);
            }
            dims[i][k] = v;
        }
        b[i] = (e2e_shape_binding){names[i], rank, dims[i]};
        in[i] = (e2e_tensor_view){.name = names[i], .dtype = d.dtype == E2E_UNDEFINED ? E2E_FLOAT : d.dtype,
                                  .rank = rank};
        memcpy(in[i].dims, dims[i], sizeof(int64_t) * (size_t)rank);
    }
    for (int j = 0; j < o.n_shapes; j++) {
        int found = 0;
        for (int i = 0; i < nin; i++)
            found |= !strcmp(o.shape_name[j], names[i]);
        if (!found) {
            fprintf(stderr, "e2e bench: --shape %s: the model has no input of that name\n", o.shape_name[j]);
            rc = E2E_EXIT_USAGE;
            goto done;
        }
    }
    e2e_session_options so = e2e_cli_session_options();
    so.threads = o.threads;
    so.device = o.device;
    so.shapes = b;
    so.n_shapes = nin;
    so.default_batch = o.batch;
    const double t_sess0 = e2e_cli_now_ms(), c_sess0 = e2e_cli_cpu_ms();
    if (e2e_session_create(m, &so, &s, &err)) {
        fprintf(stderr, "e2e bench: %s\n", err.message);
        goto done;
    }
    const double session_ms = e2e_cli_now_ms() - t_sess0, session_cpu_ms = e2e_cli_cpu_ms() - c_sess0;
    if (e2e_session_device_note(s)[0])
        fprintf(stderr, "e2e bench: %s\n", e2e_session_device_note(s));
    if (o.profile && e2e_session_device(s) != E2E_DEVICE_CPU) {
        fprintf(stderr, "e2e bench: --profile times the CPU kernels; use --device cpu\n");
        goto done;
    }
    /* the bound shapes (the session may have resolved more than we bound) */
    uint64_t seed = o.seed;
    for (int i = 0; i < nin; i++) {
        e2e_tensor_view bv;
        if (!e2e_session_input(s, i, &bv) && bv.rank == in[i].rank)
            memcpy(in[i].dims, bv.dims, sizeof(int64_t) * (size_t)bv.rank);
        int64_t n = e2e_tensor_view_numel(&in[i]);
        size_t es = e2e_dtype_size(in[i].dtype);
        if (n < 0 || !es) {
            fprintf(stderr, "e2e bench: input \"%s\": bad shape or type\n", names[i]);
            goto done;
        }
        in_data[i] = e2e_aligned_alloc((size_t)n * es);
        if (!in_data[i]) {
            fprintf(stderr, "e2e bench: out of memory for input \"%s\"\n", names[i]);
            goto done;
        }
        in[i].data = in_data[i];
        e2e_cli_fill_random(&in[i], &seed);
    }
    if (o.save_in && save_views(o.save_in, in, nin, &err)) {
        fprintf(stderr, "e2e bench: %s\n", err.message);
        goto done;
    }

    /* warm-up; the first run also decides the automatic run count */
    double t0 = e2e_cli_now_ms();
    for (int w = 0; w < (o.warmup > 0 ? o.warmup : 1); w++)
        if (e2e_session_run(s, in, nin, &err)) {
            fprintf(stderr, "e2e bench: %s\n", err.message);
            goto done;
        }
    double est = (e2e_cli_now_ms() - t0) / (o.warmup > 0 ? o.warmup : 1);
    int runs = o.runs;
    if (!runs) {
        runs = est > 0 ? (int)(2000.0 / est) : 2000;
        runs = runs < 20 ? 20 : runs > 2000 ? 2000 : runs;
    }
    t = malloc(sizeof(double) * (size_t)runs);
    if (!t) {
        fprintf(stderr, "e2e bench: out of memory\n");
        goto done;
    }
    for (int r = 0; r < runs; r++) {
        double a = e2e_cli_now_ms();
        e2e_status stt = e2e_session_run(s, in, nin, &err);
        t[r] = e2e_cli_now_ms() - a;
        if (stt) {
            fprintf(stderr, "e2e bench: %s\n", err.message);
            goto done;
        }
    }
    if (o.save_out) {
        int nout = e2e_session_output_count(s);
        e2e_tensor_view ov[64];
        if (nout > 64)
            nout = 64;
        for (int i = 0; i < nout; i++)
            e2e_session_output(s, i, &ov[i]);
        if (save_views(o.save_out, ov, nout, &err)) {
            fprintf(stderr, "e2e bench: %s\n", err.message);
            goto done;
        }
    }
    double mean = 0;
    for (int r = 0; r < runs; r++)
        mean += t[r];
    mean /= runs;
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    double med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    double p99 = pct(t, runs, 99), p999 = pct(t, runs, 99.9);
    double flops = 0;
    for (int i = 0; i < s->n_kernels; i++)
        flops += e2e_kernel_flops(&s->kernels[i]);
    int64_t batch = nin && in[0].rank ? in[0].dims[0] : o.batch;
    double thr = med > 0 ? (double)batch * 1000.0 / med : 0;
    double gfl = med > 0 ? flops / (med * 1e6) : 0;

    int prof_runs = runs < 200 ? runs : 200;
    if (o.profile && profile(s, &o, prof_runs, &kp, &ot, &nt, &err)) {
        fprintf(stderr, "e2e bench: profile: %s\n", err.message);
        goto done;
    }

    if (o.json) {
        printf("{\"engine\": \"e2e\", \"version\": \"%s\", \"model\": ", E2E_VERSION);
        e2e_cli_json_str(stdout, path);
        printf(", \"isa\": \"%s\"", e2e_isa_name(e2e_session_isa(s)));
        printf(", \"precision\": \"%s\"", e2e_precision_name(e2e_session_precision(s)));
        printf(", \"batch\": %lld, \"threads\": %d, \"runs\": %d, \"warmup\": %d, "
               "\"median_ms\": %.6f, \"p99_ms\": %.6f, \"p999_ms\": %.6f, \"mean_ms\": %.6f, "
               "\"min_ms\": %.6f, \"max_ms\": %.6f, \"throughput_per_s\": %.3f, \"gflops\": %.4f, "
               "\"flops_per_run\": %.0f, \"nodes\": %d, \"arena_bytes\": %zu, "
               "\"load_ms\": %.3f, \"session_ms\": %.3f, \"load_cpu_ms\": %.3f, \"session_cpu_ms\": %.3f",
               (long long)batch, o.threads, runs, o.warmup, med, p99, p999, mean, t[0], t[runs - 1],
               thr, gfl, flops, e2e_session_node_count(s), e2e_session_arena_bytes(s), load_ms,
               session_ms, load_cpu_ms, session_cpu_ms);
        printf(",\n \"provenance\": {\n");
        e2e_cli_json_provenance(stdout, "  ", o.threads, so.optimize,
                                e2e_session_device(s) == E2E_DEVICE_CUDA ? "cuda" : "cpu");
        printf("}");
        if (kp) {
            printf(",\n \"profile_runs\": %d, \"profile\": [", prof_runs);
            for (int i = 0; i < s->n_kernels; i++) {
                const kprof *p = &kp[i];
                printf("%s\n  {\"name\": ", i ? "," : "");
                e2e_cli_json_str(stdout, s->kernels[p->index].node->name);
                printf(", \"op\": ");
                e2e_cli_json_str(stdout, p->op);
                printf(", \"ms\": %.6f, \"gflops\": %.4f", p->ms, p->gflops);
                if (p->gemm)
                    printf(", \"gemm\": [%lld, %lld, %lld, %lld], \"sgemm_gflops\": %.4f, \"sgemm_share\": %.4f",
                           (long long)p->g.m, (long long)p->g.n, (long long)p->g.k, (long long)p->g.count,
                           p->sgemm_gflops, p->share / 100.0);
                printf("}");
            }
            printf("],\n \"op_totals\": [");
            for (int j = 0; j < nt; j++) {
                printf("%s\n  {\"op\": ", j ? "," : "");
                e2e_cli_json_str(stdout, ot[j].op);
                printf(", \"nodes\": %d, \"ms\": %.6f, \"gflops\": %.4f}", ot[j].n, ot[j].ms,
                       ot[j].ms > 0 ? ot[j].flops / (ot[j].ms * 1e6) : 0);
            }
            printf("]");
        }
        printf("}\n");
    } else {
        printf("model       %s\n", path);
        printf("setup       batch %lld, %d thread%s, %d timed runs after %d warm-up, %d nodes, "
               "arena %.1f KiB, %s kernels%s\n", (long long)batch, o.threads, o.threads == 1 ? "" : "s",
               runs, o.warmup, e2e_session_node_count(s), e2e_session_arena_bytes(s) / 1024.0,
               e2e_isa_name(e2e_session_isa(s)),
               e2e_session_precision(s) == E2E_PRECISION_BF16 ? ", bf16 weights" : "");
        printf("load        model %.1f ms, session %.1f ms (plan, packed weights, arena); CPU time "
               "%.1f + %.1f ms\n", load_ms, session_ms, load_cpu_ms, session_cpu_ms);
        printf("latency     median %.4f ms   p99 %.4f ms   p99.9 %.4f ms   (min %.4f, mean %.4f)\n",
               med, p99, p999, t[0], mean);
        printf("throughput  %.1f images/s\n", thr);
        printf("compute     %.4g MFLOP per run, %.2f GFLOP/s\n", flops / 1e6, gfl);
        if (kp) {
            double sum = 0;
            for (int i = 0; i < s->n_kernels; i++)
                sum += kp[i].ms;
            printf("\nprofile: %d kernel-by-kernel runs, median per node (sum %.4f ms; whole run %.4f ms)%s\n",
                   prof_runs, sum, med, o.sort ? ", slowest first" : "");
            printf("  %-4s %-28s %-16s %9s %6s %9s  %-26s %9s %7s\n", "#", "node", "op", "ms", "%",
                   "GFLOP/s", "gemm MxNxK (count)", "sgemm GF", "share");
            for (int i = 0; i < s->n_kernels; i++) {
                const kprof *p = &kp[i];
                printf("  %-4d %-28.28s %-16.16s %9.4f %5.1f%% %9.2f", p->index,
                       s->kernels[p->index].node->name, p->op, p->ms, sum > 0 ? 100 * p->ms / sum : 0,
                       p->gflops);
                if (p->gemm) {
                    char sh[64];
                    snprintf(sh, sizeof sh, "%lldx%lldx%lld (%lld)", (long long)p->g.m, (long long)p->g.n,
                             (long long)p->g.k, (long long)p->g.count);
                    printf("  %-26s %9.2f", sh, p->sgemm_gflops);
                    if (p->share >= 0)
                        printf(" %6.1f%%", p->share);
                }
                printf("\n");
            }
            printf("\nper operator type:\n  %-20s %5s %9s %6s %9s\n", "op", "nodes", "ms", "%", "GFLOP/s");
            for (int j = 0; j < nt; j++)
                printf("  %-20s %5d %9.4f %5.1f%% %9.2f\n", ot[j].op, ot[j].n, ot[j].ms,
                       sum > 0 ? 100 * ot[j].ms / sum : 0, ot[j].ms > 0 ? ot[j].flops / (ot[j].ms * 1e6) : 0);
        }
    }
    rc = E2E_EXIT_OK;
done:
    free(t);
    free(kp);
    free(ot);
    for (int i = 0; i < MAX_IN; i++)
        e2e_aligned_free(in_data[i]);
    e2e_session_free(s);
    e2e_model_free(m);
    return rc;
}
