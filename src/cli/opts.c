/* The command-line layer shared by every command (opts.h): getopt_long over the command's
   table plus the global options, strict numbers, suggestions for unknown options. */
#include "cli/opts.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* "e2e CMD: message" (main's global options: "e2e: message"). */
static void say(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "e2e%s%s: ", *cmd ? " " : "", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static int g_quiet, g_verbose, g_help, g_version;
static double g_model_mb, g_arena_mb;
static int g_optimize = -1;

/* --precision fp32|bf16: e2e_cli_precision */
static int precision_arg(const char *cmd, const char *opt, const char *value, void *dst)
{
    if (strcmp(value, "fp32") && strcmp(value, "bf16")) {
        say(cmd, "%s: '%s' is not a precision (fp32 or bf16)\n", opt, value);
        return -1;
    }
    *(e2e_precision *)dst = strcmp(value, "bf16") ? E2E_PRECISION_FP32 : E2E_PRECISION_BF16;
    return 0;
}

static const e2e_opt globals[] = {
    E2E_OPT_F("quiet", 'q', &g_quiet, "print only results and errors"),
    E2E_OPT_F("verbose", 'v', &g_verbose, "say more on stderr"),
    E2E_OPT_I("optimize", &g_optimize, 0, 2, "N",
              "1 (default) fusions; 0 the graph as written; 2 also Winograd convolutions"),
    E2E_OPT_C("precision", precision_arg, &e2e_cli_precision, "P",
              "fp32 (default) or bf16: Gemm/MatMul/Conv weights in bfloat16 (docs/instruction-sets.md)"),
    E2E_OPT_D("max-model-mb", &g_model_mb, 1e-6, 1e9, "MB", "refuse larger model files"),
    E2E_OPT_D("max-arena-mb", &g_arena_mb, 1e-6, 1e9, "MB",
              "refuse sessions whose plan needs more memory"),
    E2E_OPT_F("help", 'h', &g_help, "this text"),
    E2E_OPT_F("version", 0, &g_version, "the version and the kernels' instruction-set level"),
    E2E_OPT_END,
};

int e2e_opts_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi,
                 long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || isspace((unsigned char)*s) || *end) {
        say(cmd, "%s: '%s' is not a whole number\n", opt, s);
        return -1;
    }
    if (errno == ERANGE || x < lo || x > hi) {
        if (hi == LLONG_MAX || hi == INT32_MAX || hi == INT64_MAX)
            say(cmd, "%s: %s is out of range (it must be %lld or more)\n", opt, s, lo);
        else
            say(cmd, "%s: %s is out of range (%lld..%lld)\n", opt, s, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long max,
                     uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || !isdigit((unsigned char)*s) || *end) {
        say(cmd, "%s: '%s' is not a whole number of 0 or more\n", opt, s);
        return -1;
    }
    if (errno == ERANGE || (max && x > max)) {
        say(cmd, "%s: %s is out of range (0..%llu)\n", opt, s,
                max ? max : (unsigned long long)UINT64_MAX);
        return -1;
    }
    *out = x;
    return 0;
}

int e2e_opts_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                    double *out)
{
    char *end;
    double x = strtod(s, &end);
    if (!*s || isspace((unsigned char)*s) || *end || !isfinite(x)) {
        say(cmd, "%s: '%s' is not a number\n", opt, s);
        return -1;
    }
    if (!(x >= lo && x <= hi)) {
        if (hi >= 1e30)
            say(cmd, "%s: %s is out of range (it must be %g or more)\n", opt, s, lo);
        else
            say(cmd, "%s: %s is out of range (%g..%g)\n", opt, s, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int e2e_opts_device(const char *cmd, const char *opt, const char *value, void *dst)
{
    (void)opt;
    return e2e_cli_parse_device(cmd, value, dst);
}

/* Stores value (NULL for a flag) of option o given as "--name". */
static int store(const char *cmd, const e2e_opt *o, const char *shown, const char *value)
{
    long long i;
    double d;
    switch (o->kind) {
    case E2E_OPT_FLAG:
        *(int *)o->dst = 1;
        if (o->count)
            (*o->count)++;
        return 0;
    case E2E_OPT_INT:
        if (e2e_opts_int(cmd, shown, value, o->lo, o->hi, &i))
            return -1;
        *(int *)o->dst = (int)i;
        return 0;
    case E2E_OPT_I64:
        if (e2e_opts_int(cmd, shown, value, o->lo, o->hi, &i))
            return -1;
        memcpy(o->dst, &(int64_t){i}, sizeof(int64_t)); /* int64_t or long long */
        return 0;
    case E2E_OPT_U64:
        return parse_u64(cmd, shown, value, o->umax, o->dst);
    case E2E_OPT_DOUBLE:
        if (e2e_opts_double(cmd, shown, value, o->dlo, o->dhi, &d))
            return -1;
        *(double *)o->dst = d;
        return 0;
    case E2E_OPT_STR:
        *(const char **)o->dst = value;
        return 0;
    case E2E_OPT_LIST:
        if (*o->count >= o->max) {
            say(cmd, "%s: at most %d of them\n", shown, o->max);
            return -1;
        }
        ((const char **)o->dst)[(*o->count)++] = value;
        return 0;
    case E2E_OPT_CALL:
        return o->fn(cmd, shown, value, o->dst);
    }
    return -1;
}

static size_t edit_distance(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b), row[64];
    if (na > 62 || nb > 62)
        return 99;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

const char *e2e_opts_nearest(const char *name, const char *const *names, int n)
{
    const char *best = NULL;
    size_t len = strlen(name), best_d = len / 3 + 2;
    for (int i = 0; i < n; i++) {
        size_t d = names[i] ? edit_distance(name, len, names[i]) : 99;
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

/* The known long option nearest to name[0..n) (a prefix counts as near), or NULL. */
static const char *suggest(const e2e_opt *const tabs[2], const char *name, size_t n)
{
    const char *best = NULL;
    size_t best_d = n / 3 + 2;
    for (int t = 0; t < 2; t++)
        for (const e2e_opt *o = tabs[t]; o->name; o++) {
            size_t d = strncmp(o->name, name, n) ? edit_distance(name, n, o->name) : 1;
            if (d < best_d) {
                best_d = d;
                best = o->name;
            }
        }
    return best;
}

static void unknown(const char *cmd, const e2e_opt *const tabs[2], const char *arg)
{
    const char *name = arg + strspn(arg, "-");
    size_t n = strcspn(name, "=");
    const char *s = arg[1] == '-' ? suggest(tabs, name, n) : NULL;
    if (s)
        say(cmd, "unknown option --%.*s (did you mean --%s?)\n", (int)n,
                name, s);
    else
        say(cmd, "unknown option %.*s (--help lists them)\n",
                (int)(name - arg + n), arg);
}

static void print_table(const e2e_opt *t)
{
    for (const e2e_opt *o = t; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : "",
                 o->short_name ? o->short_name : ' ', o->short_name ? ", " : " ", o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
        printf("  %-26s %s%s\n", o->short_name ? left : left + 2, o->help ? o->help : "",
               o->kind == E2E_OPT_LIST ? " (repeatable)" : "");
    }
}

void e2e_opts_print(const e2e_cmd_spec *spec)
{
    if (spec->opts && spec->opts->name) {
        printf("\noptions of e2e %s (--key=value or --key value):\n", spec->name);
        print_table(spec->opts);
    }
    e2e_opts_print_globals();
    printf("\n'-' as a file means stdin or stdout where the command can use it. Exit status: 0"
           " success,\n1 the work failed, 2 usage error.\n");
}

void e2e_opts_print_globals(void)
{
    printf("\nglobal options (any command, anywhere on the line):\n");
    print_table(globals);
}

void e2e_opts_version(void)
{
    printf("e2e %s\n", E2E_VERSION);
    /* the kernels' default level (tests/run_all.sh tests it and the lower ones) */
    printf("isa %s (CPU: %s)\n", e2e_isa_name(e2e_isa_default()), e2e_isa_name(e2e_cpu_isa()));
}

/* Applies the global options' values once parsed. */
static void apply_globals(void)
{
    if (g_quiet)
        e2e_cli_verbose = -1;
    if (g_verbose)
        e2e_cli_verbose = 1;
    g_quiet = g_verbose = 0;
    if (g_optimize >= 0)
        e2e_cli_optimize = g_optimize;
    if (g_model_mb > 0)
        e2e_cli_max_model_bytes = (size_t)(g_model_mb * 1048576.0);
    if (g_arena_mb > 0)
        e2e_cli_max_arena_bytes = (size_t)(g_arena_mb * 1048576.0);
}

static int count(const e2e_opt *t)
{
    int n = 0;
    while (t && t[n].name)
        n++;
    return n;
}

/* The core: in_order 1 returns at the first positional (main's globals), else collects the
   positionals. Returns the number of positionals (or the index of the first one), -1 help or
   version printed, -2 usage error. */
static int parse(const e2e_cmd_spec *spec, int argc, char **argv, int stop_at_positional)
{
    const e2e_opt *const tabs[2] = {spec->opts ? spec->opts : globals + count(globals), globals};
    int nc = count(tabs[0]), ng = count(globals), n = nc + ng;
    struct option *lo = calloc((size_t)n + 1, sizeof *lo);
    char *shorts = calloc((size_t)n * 2 + 4, 1);
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int npos = 0, rc = 0;
    if (!lo || !shorts || !pos) {
        say(spec->name, "out of memory\n");
        rc = -2;
        goto done;
    }
    /* "-": positionals come back in order (no permutation, whatever POSIXLY_CORRECT says);
       "+": stop at the first one; ":": a missing value is reported as ':' */
    char *sp = shorts;
    *sp++ = stop_at_positional ? '+' : '-';
    *sp++ = ':';
    for (int i = 0; i < n; i++) {
        const e2e_opt *o = i < nc ? &tabs[0][i] : &globals[i - nc];
        lo[i] = (struct option){o->name, o->kind == E2E_OPT_FLAG ? no_argument : required_argument,
                                NULL, 256 + i};
        if (o->short_name) {
            *sp++ = o->short_name;
            if (o->kind != E2E_OPT_FLAG)
                *sp++ = ':';
        }
    }
    g_help = g_version = 0;
    opterr = 0;
    optind = 0; /* glibc and musl: start afresh */
    for (;;) {
        int li = -1;
        int c = getopt_long(argc, argv, shorts, lo, &li);
        if (c == -1)
            break;
        if (c == 1) {
            pos[npos++] = optarg;
            continue;
        }
        const char *el = argv[optind - 1];
        if (c == '?' || c == ':') {
            /* the element at fault: a missing value leaves optind past the option */
            if (c == '?' && optopt && optopt < 256) {
                say(spec->name, "unknown option -%c (--help lists them)\n", optopt);
            } else if (c == ':') {
                const e2e_opt *o = NULL;
                for (int i = 0; i < n && !o; i++) {
                    const e2e_opt *x = i < nc ? &tabs[0][i] : &globals[i - nc];
                    if (optopt == 256 + i || (optopt < 256 && x->short_name == optopt))
                        o = x;
                }
                say(spec->name, "--%s needs a value (%s)\n",
                        o ? o->name : el + strspn(el, "-"), o && o->arg ? o->arg : "");
            } else {
                /* a flag given a value, or not an option at all */
                const char *name = el + strspn(el, "-");
                size_t len = strcspn(name, "=");
                const e2e_opt *o = NULL;
                for (int i = 0; i < n && !o; i++) {
                    const e2e_opt *x = i < nc ? &tabs[0][i] : &globals[i - nc];
                    if (strlen(x->name) == len && !strncmp(x->name, name, len))
                        o = x;
                }
                if (o && name[len] == '=')
                    say(spec->name, "--%s takes no value\n", o->name);
                else
                    unknown(spec->name, tabs, el);
            }
            rc = -2;
            goto done;
        }
        const e2e_opt *o;
        if (c >= 256) {
            o = c - 256 < nc ? &tabs[0][c - 256] : &globals[c - 256 - nc];
            /* getopt_long takes abbreviations; the line must spell the option out */
            const char *given = o->kind != E2E_OPT_FLAG && optarg == argv[optind - 1] && optind >= 2
                                    ? argv[optind - 2] : el;
            size_t len = strcspn(given + 2, "=");
            if (strncmp(given, "--", 2) || len != strlen(o->name) ||
                strncmp(given + 2, o->name, len)) {
                say(spec->name, "unknown option --%.*s (did you mean --%s?)\n",
                         (int)len, given + 2, o->name);
                rc = -2;
                goto done;
            }
        } else {
            o = NULL;
            for (int i = 0; i < n && !o; i++) {
                const e2e_opt *x = i < nc ? &tabs[0][i] : &globals[i - nc];
                if (x->short_name == c)
                    o = x;
            }
            if (!o) {
                rc = -2;
                goto done;
            }
        }
        char shown[80];
        snprintf(shown, sizeof shown, "--%s", o->name);
        if (store(spec->name, o, shown, o->kind == E2E_OPT_FLAG ? NULL : optarg)) {
            rc = -2;
            goto done;
        }
        if (g_help || g_version)
            break;
    }
    apply_globals();
    if (g_help) {
        rc = -1;
    } else if (g_version) {
        rc = -3;
    } else if (stop_at_positional) {
        rc = optind;
    } else {
        /* after "--": the rest are positionals */
        for (int i = optind; i < argc; i++)
            pos[npos++] = argv[i];
        for (int i = 0; i < npos; i++)
            argv[1 + i] = pos[i];
        argv[1 + npos] = NULL;
        rc = npos;
    }
done:
    free(lo);
    free(shorts);
    free(pos);
    return rc;
}

int e2e_opts_parse(const e2e_cmd_spec *spec, int argc, char **argv, int *npos)
{
    int r = parse(spec, argc, argv, 0);
    if (r == -1) {
        if (spec->help)
            spec->help();
        e2e_opts_print(spec);
        return 1;
    }
    if (r == -3) {
        e2e_opts_version();
        return 1;
    }
    if (r < 0)
        return -1;
    *npos = r;
    return 0;
}

int e2e_opts_parse_global(int argc, char **argv)
{
    e2e_cmd_spec spec = {.name = "", .opts = NULL};
    int r = parse(&spec, argc, argv, 1);
    return r == -3 ? -1 : r == -1 ? -3 : r;
}
