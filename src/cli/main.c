/* e2e — the command. Sub-commands live in cmd_<name>.c; each is declared weak here so
   that the dispatcher builds whatever subset exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

int e2e_cli_verbose = 0;
size_t e2e_cli_max_model_bytes = 0, e2e_cli_max_arena_bytes = 0;
int e2e_cli_optimize = 1;
e2e_precision e2e_cli_precision = E2E_PRECISION_FP32;

#define CMD(name) extern int e2e_cmd_##name(int, char **) __attribute__((weak));
CMD(check) CMD(info) CMD(infer) CMD(models) CMD(run) CMD(gen) CMD(frames) CMD(bench)
CMD(compare) CMD(display) CMD(merge)
#undef CMD

static const struct {
    const char *name;
    const char *summary;
} commands[] = {
#define ENTRY(n, s) {#n, s},
    ENTRY(run, "the main job: events -> DetFrames -> seeds -> frames -> taggers")
    ENTRY(gen, "write a toy event file")
    ENTRY(frames, "write one event's images, seeds and frames as .npy")
    ENTRY(models, "write the eight benchmark models")
    ENTRY(info, "describe a model: inputs, outputs, ops, parameters, FLOPs, arena")
    ENTRY(infer, "run a model on .npy/.pb inputs")
    ENTRY(check, "run ONNX backend-test cases and compare outputs")
    ENTRY(bench, "time a model")
    ENTRY(compare, "compare devices on one model")
    ENTRY(display, "draw an event as a PNG")
    ENTRY(merge, "put the parts of a sharded e2e run back together")
#undef ENTRY
};

static int (*lookup(const char *name))(int, char **)
{
#define L(n) if (!strcmp(name, #n)) return e2e_cmd_##n;
    L(check) L(info) L(infer) L(models) L(run) L(gen) L(frames) L(bench) L(compare)
    L(display) L(merge)
#undef L
    return NULL;
}

bool e2e_cli_is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help");
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
    return e2e_model_load_file_ex(path, &o, out, err);
}

e2e_session_options e2e_cli_session_options(void)
{
    e2e_session_options o = e2e_session_options_default();
    o.max_arena_bytes = e2e_cli_max_arena_bytes;
    o.optimize = e2e_cli_optimize;
    o.precision = e2e_cli_precision;
    return o;
}

/* Removes --max-model-mb N / --max-arena-mb N / --optimize N / --precision P from argv (any position); -1 on
   a bad value. */
static int take_globals(int *argc, char **argv)
{
    int n = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], "--optimize")) {
            const char *v = i + 1 < *argc ? argv[i + 1] : "";
            if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "2")) {
                fprintf(stderr, "e2e: --optimize needs 0, 1 or 2\n");
                return -1;
            }
            e2e_cli_optimize = v[0] - '0';
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--precision")) {
            const char *v = i + 1 < *argc ? argv[i + 1] : "";
            if (strcmp(v, "fp32") && strcmp(v, "bf16")) {
                fprintf(stderr, "e2e: --precision needs fp32 or bf16\n");
                return -1;
            }
            e2e_cli_precision = strcmp(v, "bf16") ? E2E_PRECISION_FP32 : E2E_PRECISION_BF16;
            i++;
            continue;
        }
        size_t *dst = !strcmp(argv[i], "--max-model-mb") ? &e2e_cli_max_model_bytes
                      : !strcmp(argv[i], "--max-arena-mb") ? &e2e_cli_max_arena_bytes : NULL;
        if (!dst) {
            argv[n++] = argv[i];
            continue;
        }
        char *end = NULL;
        double mb = i + 1 < *argc ? strtod(argv[i + 1], &end) : 0;
        if (!end || end == argv[i + 1] || *end || !(mb > 0) || mb > 1e9) {
            fprintf(stderr, "e2e: %s needs a size in MB greater than 0\n", argv[i]);
            return -1;
        }
        *dst = (size_t)(mb * 1048576.0);
        i++;
    }
    argv[n] = NULL;
    *argc = n;
    return 0;
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

static void usage(FILE *f)
{
    fprintf(f, "usage: e2e [--quiet|--verbose] COMMAND [ARGS]   (e2e help COMMAND)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (lookup(commands[i].name))
            fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nlimits (any command, anywhere on the line): --max-model-mb N refuses larger model"
               " files,\n  --max-arena-mb N refuses sessions whose plan needs more memory\n");
    fprintf(f, "optimisation (any command): --optimize 1 (default: fusions, results within float"
               " rounding),\n  0 (the graph as written), 2 (also faster kernels that round more:"
               " Winograd F(4x4) convolutions)\n");
    fprintf(f, "precision (any command): --precision fp32 (default) or bf16 (Gemm/MatMul weights"
               " in bfloat16,\n  AVX-512 BF16 dot products where the CPU has them; scores within"
               " ~1e-2, docs/benchmarks.md)\n");
    fprintf(f, "\nexit status: 0 success, 1 the work failed (bad model, bad input, failed check),"
               " 2 usage error\n");
}

int main(int argc, char **argv)
{
    if (take_globals(&argc, argv))
        return E2E_EXIT_USAGE;
    /* the library ignores a value it does not know; the command says so */
    const char *isa = getenv("E2E_ISA");
    if (isa && *isa && strcmp(isa, "auto") && strcmp(isa, "generic") && strcmp(isa, "avx2") &&
        strcmp(isa, "avx512")) {
        fprintf(stderr, "e2e: E2E_ISA must be generic, avx2, avx512 or auto, not '%s'\n", isa);
        return E2E_EXIT_USAGE;
    }
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
            e2e_cli_verbose = -1;
        else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
            e2e_cli_verbose = 1;
        else if (e2e_cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("e2e %s\n", E2E_VERSION);
            /* the kernels' default level (tests/run_all.sh tests it and the lower ones) */
            printf("isa %s (CPU: %s)\n", e2e_isa_name(e2e_isa_default()), e2e_isa_name(e2e_cpu_isa()));
            return 0;
        } else {
            fprintf(stderr, "e2e: unknown option %s\n", argv[i]);
            return E2E_EXIT_USAGE;
        }
    }
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
            fprintf(stderr, "e2e: no command '%s'\n", argv[i + 1]);
            return E2E_EXIT_USAGE;
        }
        char *hargv[] = {argv[i + 1], "--help", NULL};
        return fn(2, hargv);
    }
    int (*fn)(int, char **) = lookup(name);
    if (!fn) {
        fprintf(stderr, "e2e: no command '%s'\n", name);
        usage(stderr);
        return E2E_EXIT_USAGE;
    }
    return fn(argc - i, argv + i);
}
