/* e2e — the command. Sub-commands live in cmd_<name>.c; each is declared weak here so
   that the dispatcher builds whatever subset exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "engine/session.h"
#include "ops/blas.h"

int e2e_cli_verbose = 0;
size_t e2e_cli_max_model_bytes = 0, e2e_cli_max_arena_bytes = 0;
int e2e_cli_optimize = 1;
e2e_precision e2e_cli_precision = E2E_PRECISION_FP32;

#define CMD(name) extern int e2e_cmd_##name(int, char **) __attribute__((weak));
CMD(check) CMD(info) CMD(infer) CMD(models) CMD(run) CMD(gen) CMD(frames) CMD(bench)
CMD(compare) CMD(display) CMD(merge)
#undef CMD

/* The command table: `e2e help`, `e2e help CMD`, the dispatch and README.md's table
   (tests/cli_errors.test.sh checks that README lists every command printed here). */
static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"run", e2e_cmd_run, "the main job: events -> DetFrames -> seeds -> frames -> taggers"},
    {"gen", e2e_cmd_gen, "write a toy event file"},
    {"frames", e2e_cmd_frames, "write one event's images, seeds and frames as .npy"},
    {"models", e2e_cmd_models, "write the benchmark models (5 architectures x 4 taggers)"},
    {"info", e2e_cmd_info, "describe a model: inputs, outputs, ops, parameters, FLOPs, arena"},
    {"infer", e2e_cmd_infer, "run a model on .npy/.pb inputs"},
    {"check", e2e_cmd_check, "run ONNX backend-test cases and compare outputs"},
    {"bench", e2e_cmd_bench, "time a model"},
    {"compare", e2e_cmd_compare, "compare devices on one model"},
    {"display", e2e_cmd_display, "draw an event as a PNG"},
    {"merge", e2e_cmd_merge, "put the parts of a sharded e2e run back together"},
};

static int (*lookup(const char *name))(int, char **)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].fn;
    return NULL;
}

int e2e_cli_parse_dims(const char *s, int64_t *dims, int max)
{
    int r = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || r == max)
            return -1;
        dims[r++] = v;
        s = end;
        if (*s == 'x' || *s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return r;
}

int e2e_cli_parse_device(const char *cmd, const char *value, e2e_device *out)
{
    if (!strcmp(value, "cpu"))
        *out = E2E_DEVICE_CPU;
    else if (!strcmp(value, "cuda"))
        *out = E2E_DEVICE_CUDA;
    else if (!strcmp(value, "auto"))
        *out = E2E_DEVICE_AUTO;
    else {
        fprintf(stderr, "e2e %s: --device must be cpu, cuda or auto, not '%s'\n", cmd, value);
        return -1;
    }
    return 0;
}

e2e_status e2e_cli_model_load(const char *path, e2e_model **out, e2e_error *err)
{
    e2e_model_options o = {.max_model_bytes = e2e_cli_max_model_bytes};
    e2e_status st = e2e_model_load_file_ex(path, &o, out, err);
    if (!st && (st = e2e_model_check_support(*out, err))) { /* every missing operator at once */
        e2e_model_free(*out);
        *out = NULL;
    }
    return st;
}

e2e_session_options e2e_cli_session_options(void)
{
    e2e_session_options o = e2e_session_options_default();
    o.max_arena_bytes = e2e_cli_max_arena_bytes;
    o.optimize = e2e_cli_optimize;
    o.precision = e2e_cli_precision;
    return o;
}

const char *e2e_cli_in_path(const char *arg)
{
    return arg && !strcmp(arg, "-") ? "/dev/stdin" : arg;
}

void e2e_cli_model_path(const char *arg, char *out, size_t n)
{
    struct stat st;
    if (!stat(arg, &st) && S_ISDIR(st.st_mode))
        snprintf(out, n, "%s/model.onnx", arg);
    else
        snprintf(out, n, "%s", arg);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void e2e_cli_fill_random(e2e_tensor_view *v, uint64_t *seed)
{
    int64_t n = e2e_tensor_view_numel(v);
    switch (v->dtype) {
    case E2E_FLOAT:
        for (int64_t i = 0; i < n; i++)
            ((float *)v->data)[i] = (float)(splitmix(seed) >> 40) / 16777216.0f;
        break;
    case E2E_BOOL:
    case E2E_UINT8:
    case E2E_INT8:
        for (int64_t i = 0; i < n; i++)
            ((uint8_t *)v->data)[i] = (uint8_t)(splitmix(seed) & 1);
        break;
    default:
        memset(v->data, 0, (size_t)(n > 0 ? n : 0) * e2e_dtype_size(v->dtype));
        break;
    }
}

double e2e_cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double e2e_cli_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: e2e [GLOBAL OPTIONS] COMMAND [ARGS]   (e2e help COMMAND,"
               " e2e COMMAND --help)\n"
               "\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn)
            fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    if (f == stdout)
        e2e_opts_print_globals();
    else
        fprintf(f, "\nglobal options (--quiet, --verbose, --optimize N, --max-model-mb MB,"
                   " --max-arena-mb MB)\ngo anywhere on the line; e2e --help lists them.\n");
    fprintf(f, "\nexit status: 0 success, 1 the work failed (bad model, bad input, failed check),"
               " 2 usage error\n");
}

/* "no command 'x'", with the nearest command's name when one is close. */
static void no_command(const char *name)
{
    const char *names[sizeof commands / sizeof commands[0]];
    int n = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn)
            names[n++] = commands[i].name;
    const char *best = e2e_opts_nearest(name, names, n);
    if (best)
        fprintf(stderr, "e2e: no command '%s' (did you mean %s?)\n", name, best);
    else
        fprintf(stderr, "e2e: no command '%s'\n", name);
}

int main(int argc, char **argv)
{
    e2e_blas_single_thread(); /* before the model loads: OpenBLAS's idle workers spin */
    /* the library ignores a value it does not know; the command says so */
    const char *isa = getenv("E2E_ISA");
    if (isa && *isa && strcmp(isa, "auto") && strcmp(isa, "generic") && strcmp(isa, "avx2") &&
        strcmp(isa, "avx512")) {
        fprintf(stderr, "e2e: E2E_ISA must be generic, avx2, avx512 or auto, not '%s'\n", isa);
        return E2E_EXIT_USAGE;
    }
    /* global options before the command (the command's parser takes those after it) */
    int i = e2e_opts_parse_global(argc, argv);
    if (i == -3) {
        usage(stdout);
        return 0;
    }
    if (i == -1) {
        e2e_opts_version();
        return 0;
    }
    if (i < 0)
        return E2E_EXIT_USAGE;
    if (i >= argc) {
        usage(stderr);
        return E2E_EXIT_USAGE;
    }
    const char *name = argv[i];
    if (!strcmp(name, "help")) {
        if (i + 1 >= argc) {
            usage(stdout);
            return 0;
        }
        int (*fn)(int, char **) = lookup(argv[i + 1]);
        if (!fn) {
            no_command(argv[i + 1]);
            return E2E_EXIT_USAGE;
        }
        char *hargv[] = {argv[i + 1], "--help", NULL};
        return fn(2, hargv);
    }
    int (*fn)(int, char **) = lookup(name);
    if (!fn) {
        no_command(name);
        usage(stderr);
        return E2E_EXIT_USAGE;
    }
    return fn(argc - i, argv + i);
}
