/* e2e check: run cases in the ONNX backend-test layout and compare with the expected outputs. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "onnx/tensor_proto.h"
#include "core/ir.h"

typedef struct check_opts {
    double rtol, atol;
    e2e_device device;
    int threads;
} check_opts;

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static const char *base_name(const char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    static char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)n, p);
    const char *s = strrchr(buf, '/');
    return s ? s + 1 : buf;
}

/* Reads <dir>/<prefix>_<k>.pb for k = 0.. until one is missing. */
static int read_pbs(const char *dir, const char *prefix, e2e_tensor *out, int max, e2e_error *err)
{
    int n = 0;
    for (; n < max; n++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, n);
        if (!file_exists(path))
            break;
        if (e2e_tensor_read_pb(path, &out[n], err))
            return -1;
    }
    return n;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Compares one output; returns 1 if within tolerance and writes the worst errors. */
static int compare(const e2e_tensor_view *got, const e2e_tensor *exp, const check_opts *o, double *max_abs,
                   double *max_rel, char *why, size_t nwhy)
{
    *max_abs = *max_rel = 0;
    if (got->dtype != exp->dtype) {
        snprintf(why, nwhy, "type %s, expected %s", e2e_dtype_name(got->dtype), e2e_dtype_name(exp->dtype));
        return 0;
    }
    e2e_shape gs = {.rank = got->rank};
    for (int i = 0; i < got->rank; i++)
        gs.dims[i] = got->dims[i];
    if (!e2e_shape_equal(&gs, &exp->shape)) {
        char a[160], b[160];
        snprintf(why, nwhy, "shape %s, expected %s", e2e_shape_str(&gs, a, sizeof a),
                 e2e_shape_str(&exp->shape, b, sizeof b));
        return 0;
    }
    int64_t n = e2e_shape_numel(&exp->shape);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        double g, e;
        switch (exp->dtype) {
        case E2E_FLOAT:
            g = ((const float *)got->data)[i];
            e = ((const float *)exp->data)[i];
            break;
        case E2E_INT64:
            g = (double)((const int64_t *)got->data)[i];
            e = (double)((const int64_t *)exp->data)[i];
            break;
        case E2E_INT32:
            g = ((const int32_t *)got->data)[i];
            e = ((const int32_t *)exp->data)[i];
            break;
        default:
            g = ((const uint8_t *)got->data)[i];
            e = ((const uint8_t *)exp->data)[i];
            break;
        }
        if (isnan(e) && isnan(g))
            continue;
        if (isinf(e) && g == e)
            continue;
        double d = fabs(g - e);
        if (isnan(d))
            d = INFINITY;
        double rel = e != 0 ? d / fabs(e) : (d ? INFINITY : 0);
        if (d > *max_abs)
            *max_abs = d;
        if (rel > *max_rel)
            *max_rel = rel;
        double tol = exp->dtype == E2E_FLOAT ? o->atol + o->rtol * fabs(e) : 0;
        if (!(d <= tol))
            ok = 0;
    }
    if (!ok)
        snprintf(why, nwhy, "max abs err %.3g, max rel err %.3g", *max_abs, *max_rel);
    return ok;
}

#define MAX_IO 64

/* Runs one data set; returns 1 pass, 0 fail (why filled), -1 error (err filled). */
static int run_set(const e2e_model *m, const char *set_dir, const check_opts *o, char *why, size_t nwhy,
                   int *fixed_used, e2e_error *err)
{
    e2e_tensor in[MAX_IO], exp[MAX_IO];
    memset(in, 0, sizeof in);
    memset(exp, 0, sizeof exp);
    int result = -1;
    e2e_session *s = NULL;
    int nin = read_pbs(set_dir, "input", in, MAX_IO, err);
    int nout = nin < 0 ? -1 : read_pbs(set_dir, "output", exp, MAX_IO, err);
    if (nin < 0 || nout < 0)
        goto done;
    if (nin > e2e_model_input_count(m)) {
        e2e_fail(err, E2E_ERR_ARGUMENT, "%s: %d inputs given, the model has %d", set_dir, nin,
                 e2e_model_input_count(m));
        goto done;
    }
    e2e_shape_binding b[MAX_IO];
    e2e_tensor_view views[MAX_IO];
    for (int i = 0; i < nin; i++) {
        e2e_tensor_view d;
        e2e_model_input(m, i, &d);
        b[i] = (e2e_shape_binding){.name = d.name, .rank = in[i].shape.rank, .dims = in[i].shape.dims};
        views[i] = (e2e_tensor_view){.name = d.name, .dtype = in[i].dtype, .rank = in[i].shape.rank,
                                     .data = in[i].data};
        memcpy(views[i].dims, in[i].shape.dims, sizeof(int64_t) * (size_t)in[i].shape.rank);
    }
    e2e_session_options so = e2e_cli_session_options();
    so.shapes = b;
    so.n_shapes = nin;
    so.device = o->device;
    so.threads = o->threads;
    e2e_status st = e2e_session_create(m, &so, &s, err);
    if (st == E2E_ERR_DYNAMIC) {
        /* an input decides a shape: fix every input's value for this session */
        so.fixed_inputs = views;
        so.n_fixed_inputs = nin;
        *fixed_used = 1;
        st = e2e_session_create(m, &so, &s, err);
    }
    if (st)
        goto done;
    if ((st = e2e_session_run(s, views, nin, err)))
        goto done;
    if (nout != e2e_session_output_count(s)) {
        snprintf(why, nwhy, "%d expected outputs, the model has %d", nout, e2e_session_output_count(s));
        result = 0;
        goto done;
    }
    result = 1;
    for (int i = 0; i < nout && result == 1; i++) {
        e2e_tensor_view got;
        e2e_session_output(s, i, &got);
        double ma, mr;
        char w[256];
        if (!compare(&got, &exp[i], o, &ma, &mr, w, sizeof w)) {
            snprintf(why, nwhy, "output %d (%s): %s", i, got.name, w);
            result = 0;
        }
    }
done:
    e2e_session_free(s);
    for (int i = 0; i < MAX_IO; i++) {
        e2e_tensor_clear(&in[i]);
        e2e_tensor_clear(&exp[i]);
    }
    return result;
}

/* Returns 1 pass, 0 fail/error. */
static int run_case(const char *dir, const check_opts *o)
{
    const char *name = base_name(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    e2e_error err = {0};
    e2e_model *m = NULL;
    if (e2e_cli_model_load(path, &m, &err)) {
        printf("ERROR %s: %s\n", name, err.message);
        return 0;
    }
    DIR *d = opendir(dir);
    char *sets[256];
    int ns = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) && ns < 256)
        if (!strncmp(de->d_name, "test_data_set_", 14))
            sets[ns++] = strdup(de->d_name);
    if (d)
        closedir(d);
    qsort(sets, (size_t)ns, sizeof(char *), cmp_str);
    int ok = ns > 0, fixed = 0;
    char why[512] = "no test_data_set_* folder";
    for (int i = 0; i < ns && ok; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sets[i]);
        int r = run_set(m, path, o, why, sizeof why, &fixed, &err);
        if (r < 0) {
            printf("ERROR %s: %s\n", name, err.message);
            ok = -1;
        } else if (r == 0) {
            printf("FAIL %s: %s: %s\n", name, sets[i], why);
            ok = 0;
        }
    }
    if (ns == 0)
        printf("ERROR %s: %s\n", name, why);
    else if (ok == 1 && e2e_cli_verbose >= 0)
        printf("PASS %s%s\n", name, fixed && e2e_cli_verbose > 0 ? " (inputs fixed at session creation)" : "");
    for (int i = 0; i < ns; i++)
        free(sets[i]);
    e2e_model_free(m);
    return ok == 1;
}

static void help(void)
{
    printf("usage: e2e check [--rtol R] [--atol A] [--threads T] [--device cpu|cuda|auto] [--list FILE]\n"
           "                 CASE_DIR...\n\n"
           "Runs cases in the ONNX backend-test layout (model.onnx + test_data_set_N/input_K.pb,\n"
           "output_K.pb) and compares |got - expected| <= atol + rtol*|expected|\n"
           "(defaults rtol 1e-3, atol 1e-7). Prints PASS, FAIL (with the largest errors) or ERROR\n"
           "per case and ends with 'N passed, M failed'. --list FILE reads more case folders, one\n"
           "per line, relative to the file's folder or absolute (# comments allowed; --list -\n"
           "reads stdin, relative to the working folder).\n"
           "When an input decides a shape (Reshape's shape, Range's limits) the inputs are fixed at\n"
           "session creation and folded. Exit status 0 only when every case passes.\n");
}

int e2e_cmd_check(int argc, char **argv)
{
    check_opts o = {.rtol = 1e-3, .atol = 1e-7, .device = E2E_DEVICE_CPU, .threads = 1};
    char **cases = calloc((size_t)argc + 1, sizeof(char *));
    int nc = 0, passed = 0, failed = 0;
    const char *list = NULL;
    const e2e_opt opts[] = {
        E2E_OPT_D("rtol", &o.rtol, 0, 1e30, "R", "relative tolerance (default 1e-3)"),
        E2E_OPT_D("atol", &o.atol, 0, 1e30, "A", "absolute tolerance (default 1e-7)"),
        E2E_OPT_I("threads", &o.threads, 1, E2E_CLI_MAX_THREADS, "T",
                  "compute threads (default 1)"),
        E2E_OPT_C("device", e2e_opts_device, &o.device, "D", "cpu (default), cuda or auto"),
        E2E_OPT_S("list", 0, &list, "FILE", "more case folders, one a line (- for stdin)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"check", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr) {
        free(cases);
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    }
    for (int i = 1; i <= npos; i++)
        cases[nc++] = argv[i];
    if (!nc && !list) {
        help();
        free(cases);
        return E2E_EXIT_USAGE;
    }
    for (int i = 0; i < nc; i++) {
        if (!is_dir(cases[i])) {
            printf("ERROR %s: not a folder\n", cases[i]);
            failed++;
        } else if (run_case(cases[i], &o))
            passed++;
        else
            failed++;
        fflush(stdout);
    }
    if (list) {
        int from_stdin = !strcmp(list, "-");
        FILE *f = from_stdin ? stdin : fopen(list, "r");
        if (!f) {
            fprintf(stderr, "e2e check: cannot open list %s\n", list);
            free(cases);
            return E2E_EXIT_FAIL;
        }
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", from_stdin ? "./x" : list);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            strcpy(dir, ".");
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n#")] = 0;
            char *p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            size_t n = strlen(p);
            while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                p[--n] = 0;
            if (!*p)
                continue;
            char path[8300];
            if (p[0] == '/')
                snprintf(path, sizeof path, "%s", p);
            else
                snprintf(path, sizeof path, "%s/%s", dir, p);
            if (!is_dir(path)) {
                printf("ERROR %s: not a folder\n", path);
                failed++;
            } else if (run_case(path, &o))
                passed++;
            else
                failed++;
            fflush(stdout);
        }
        if (!from_stdin)
            fclose(f);
    }
    printf("%d passed, %d failed\n", passed, failed);
    free(cases);
    return failed ? E2E_EXIT_FAIL : E2E_EXIT_OK;
}
