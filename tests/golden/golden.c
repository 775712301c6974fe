/* golden: one line per model or conformance case with a 64-bit digest of its outputs' bits,
   at optimize 1 and one instruction-set level, for tests/golden.test.sh (which compares the
   lines with tests/golden/outputs-<isa>.txt) and make golden (which writes them).

     golden --isa avx2 [--threads 1] [--shared ../shared] > outputs-avx2.txt

   Cases, in this order:
     models/<tagger>_<arch>_b<batch>   the models `e2e models` writes (seed 2024, built in
                                       memory), batch 1 and 3, seeded inputs
     trained/<name>                    models/trained/<name>.onnx, batch 1 and 3, seeded inputs
     fixtures/<case>                   tests/fixtures/models/<case> with their own inputs
     node/<case>                       tests/conformance/node/test_*
     onnx-node/<case>                  <shared>/conformance/onnx-node/test_*
     differential/<case>               <shared>/conformance/differential/<case>
     graphs/<case>                     tests/differential/{cases,regressions}/<case>
   A case's line is "<name> <16 hex digits>" (FNV-1a over every output's dtype, shape and
   bytes, every test data set), or "<name> error <status>" when it does not load or run.
   Lines starting with '#' describe the configuration (level, OpenBLAS core, CPU). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "e2e.h"
#include "models/models.h"
#include "onnx/tensor_proto.h"
#include "core/ir.h"

/* OpenBLAS's own (not in every cblas.h) */
char *openblas_get_corename(void);
char *openblas_get_config(void);

#define MAX_IO 64
/* snprintf into an array; 0 when the text did not fit */
#define PATHF(buf, ...) ((size_t)snprintf(buf, sizeof buf, __VA_ARGS__) < sizeof buf)

static e2e_isa_level g_isa = E2E_ISA_AUTO;
static int g_threads = 1;

typedef struct digest {
    uint64_t h;
} digest;

static void dg_bytes(digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 0x100000001b3ull;
    }
}

static void dg_output(digest *d, const e2e_tensor_view *v)
{
    int32_t head[2] = {(int32_t)v->dtype, v->rank};
    dg_bytes(d, head, sizeof head);
    dg_bytes(d, v->dims, sizeof(int64_t) * (size_t)v->rank);
    int64_t n = e2e_tensor_view_numel(v);
    if (n > 0 && v->data)
        dg_bytes(d, v->data, (size_t)n * e2e_dtype_size(v->dtype));
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static e2e_session_options session_options(void)
{
    e2e_session_options o = e2e_session_options_default();
    o.optimize = 1;
    o.threads = g_threads;
    o.isa = g_isa;
    return o;
}

/* Creates a session (inputs fixed at creation when one of them decides a shape), runs it on
   views and adds its outputs to d. */
static e2e_status run_views(const e2e_model *m, e2e_tensor_view *views, int nin, digest *d,
                            e2e_error *err)
{
    e2e_shape_binding b[MAX_IO];
    for (int i = 0; i < nin; i++)
        b[i] = (e2e_shape_binding){.name = views[i].name, .rank = views[i].rank, .dims = views[i].dims};
    e2e_session_options so = session_options();
    so.shapes = b;
    so.n_shapes = nin;
    e2e_session *s = NULL;
    e2e_status st = e2e_session_create(m, &so, &s, err);
    if (st == E2E_ERR_DYNAMIC) {
        so.fixed_inputs = views;
        so.n_fixed_inputs = nin;
        st = e2e_session_create(m, &so, &s, err);
    }
    if (!st && g_isa != E2E_ISA_AUTO && e2e_session_isa(s) != g_isa)
        st = e2e_fail(err, E2E_ERR_ARGUMENT, "session runs at %s, not %s",
                      e2e_isa_name(e2e_session_isa(s)), e2e_isa_name(g_isa));
    if (!st)
        st = e2e_session_run(s, views, nin, err);
    for (int i = 0; !st && i < e2e_session_output_count(s); i++) {
        e2e_tensor_view out;
        e2e_session_output(s, i, &out);
        dg_output(d, &out);
    }
    e2e_session_free(s);
    return st;
}

static void print_result(const char *name, e2e_status st, const digest *d)
{
    if (st)
        printf("%s error %s\n", name, e2e_status_name(st));
    else
        printf("%s %016llx\n", name, (unsigned long long)d->h);
}

/* ---- models with seeded inputs ---- */

/* Every input's dynamic dims set to batch (dim 0) or 1; floats uniform in [-1, 1), an input
   named "mask" 1 on its first three quarters and 0 after (real nodes, then padding). */
static e2e_status run_seeded(const e2e_model *m, int64_t batch, uint64_t seed, digest *d, e2e_error *err)
{
    int nin = e2e_model_input_count(m);
    if (nin > MAX_IO)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%d inputs", nin);
    e2e_tensor_view views[MAX_IO];
    void *bufs[MAX_IO] = {0};
    e2e_status st = E2E_OK;
    for (int i = 0; i < nin && !st; i++) {
        e2e_tensor_view *v = &views[i];
        e2e_model_input(m, i, v);
        for (int k = 0; k < v->rank; k++)
            if (v->dims[k] < 0)
                v->dims[k] = k == 0 ? batch : 1;
        int64_t n = e2e_tensor_view_numel(v);
        size_t bytes = ((size_t)n * e2e_dtype_size(v->dtype) + 63) / 64 * 64;
        bufs[i] = v->data = aligned_alloc(64, bytes ? bytes : 64);
        if (v->dtype != E2E_FLOAT || !v->data) {
            st = e2e_fail(err, E2E_ERR_ARGUMENT, "input %s: not float", v->name);
            break;
        }
        float *x = v->data;
        int is_mask = v->name && !strcmp(v->name, "mask");
        int64_t inner = v->rank ? n / (v->dims[0] ? v->dims[0] : 1) : n;
        for (int64_t j = 0; j < n; j++)
            x[j] = is_mask ? (float)(j % inner < inner * 3 / 4)
                           : (float)(splitmix(&seed) >> 40) / 8388608.0f - 1.0f;
    }
    if (!st)
        st = run_views(m, views, nin, d, err);
    for (int i = 0; i < nin; i++)
        free(bufs[i]);
    return st;
}

static void run_model_batches(e2e_model *m, const char *name)
{
    static const int64_t batches[] = {1, 3};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        char line[512];
        snprintf(line, sizeof line, "%s_b%lld", name, (long long)batches[b]);
        digest d = {0xcbf29ce484222325ull};
        e2e_error err = {0};
        e2e_status st = m ? run_seeded(m, batches[b], 7 + (uint64_t)b, &d, &err) : E2E_ERR_ARGUMENT;
        if (st)
            fprintf(stderr, "golden: %s: %s\n", line, err.message);
        print_result(line, st, &d);
    }
}

static void run_generated_models(void)
{
    for (int t = 0; t < 4; t++) {
        const e2e_tagger_spec *spec = &e2e_tagger_specs[t];
        for (int a = 0; a < E2E_ARCH_DEFAULT_COUNT; a++) {
            e2e_model_config c = e2e_model_config_for(spec, (e2e_arch)a);
            char name[256];
            snprintf(name, sizeof name, "models/%s_%s", spec->name, e2e_arch_name((e2e_arch)a));
            uint8_t *buf = NULL;
            size_t size = 0;
            e2e_error err = {0};
            e2e_model *m = NULL;
            if (e2e_model_build_buffer(&c, E2E_MODELS_DEFAULT_SEED, &buf, &size, &err) ||
                e2e_model_load_buffer(buf, size, NULL, &m, &err))
                fprintf(stderr, "golden: %s: %s\n", name, err.message);
            free(buf);
            run_model_batches(m, name);
            e2e_model_free(m);
        }
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted entries of dir whose names start with prefix (and end with suffix); caller frees. */
static int list_dir(const char *dir, const char *prefix, const char *suffix, char ***out)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name), ls = strlen(suffix);
        if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)) || l < ls ||
            strcmp(de->d_name + l - ls, suffix))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            v = realloc(v, sizeof(char *) * (size_t)cap);
        }
        v[n++] = strdup(de->d_name);
    }
    if (d)
        closedir(d);
    if (n)
        qsort(v, (size_t)n, sizeof(char *), cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void run_trained(const char *dir)
{
    char **files;
    int n = list_dir(dir, "", ".onnx", &files);
    for (int i = 0; i < n; i++) {
        char path[4096], name[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        snprintf(name, sizeof name, "trained/%.*s", (int)(strlen(files[i]) - 5), files[i]);
        e2e_error err = {0};
        e2e_model *m = NULL;
        if (e2e_model_load_file(path, &m, &err))
            fprintf(stderr, "golden: %s: %s\n", path, err.message);
        run_model_batches(m, name);
        e2e_model_free(m);
    }
    free_list(files, n);
}

/* ---- cases in the backend-test layout, with their own inputs ---- */

static e2e_status run_set(const e2e_model *m, const char *set_dir, digest *d, e2e_error *err)
{
    e2e_tensor in[MAX_IO];
    e2e_tensor_view views[MAX_IO];
    memset(in, 0, sizeof in);
    e2e_status st = E2E_OK;
    int nin = 0;
    for (; nin < MAX_IO && !st; nin++) {
        char path[4096];
        struct stat sb;
        if (!PATHF(path, "%s/input_%d.pb", set_dir, nin) || stat(path, &sb))
            break;
        st = e2e_tensor_read_pb(path, &in[nin], err);
    }
    if (!st && nin > e2e_model_input_count(m))
        st = e2e_fail(err, E2E_ERR_ARGUMENT, "%d inputs given, the model has %d", nin,
                      e2e_model_input_count(m));
    for (int i = 0; !st && i < nin; i++) {
        e2e_tensor_view decl;
        e2e_model_input(m, i, &decl);
        views[i] = (e2e_tensor_view){.name = decl.name, .dtype = in[i].dtype,
                                     .rank = in[i].shape.rank, .data = in[i].data};
        memcpy(views[i].dims, in[i].shape.dims, sizeof(int64_t) * (size_t)in[i].shape.rank);
    }
    if (!st)
        st = run_views(m, views, nin, d, err);
    for (int i = 0; i < MAX_IO; i++)
        e2e_tensor_clear(&in[i]);
    return st;
}

static void run_case(const char *dir, const char *name)
{
    char path[4096];
    digest d = {0xcbf29ce484222325ull};
    e2e_error err = {0};
    e2e_model *m = NULL;
    e2e_status st = PATHF(path, "%s/model.onnx", dir) ? e2e_model_load_file(path, &m, &err)
                                                      : e2e_fail(&err, E2E_ERR_ARGUMENT, "path too long");
    char **sets = NULL;
    int ns = st ? 0 : list_dir(dir, "test_data_set_", "", &sets);
    if (!st && !ns)
        st = e2e_fail(&err, E2E_ERR_ARGUMENT, "no test_data_set_* folder");
    for (int i = 0; i < ns && !st; i++) {
        st = PATHF(path, "%s/%s", dir, sets[i]) ? run_set(m, path, &d, &err)
                                                 : e2e_fail(&err, E2E_ERR_ARGUMENT, "path too long");
    }
    print_result(name, st, &d);
    free_list(sets, ns);
    e2e_model_free(m);
}

static void run_cases(const char *dir, const char *prefix, const char *group)
{
    char **v;
    int n = list_dir(dir, prefix, "", &v);
    for (int i = 0; i < n; i++) {
        char path[4096], name[512], model[4200];
        struct stat sb;
        if (!PATHF(path, "%s/%s", dir, v[i]) || !PATHF(model, "%s/model.onnx", path) ||
            stat(model, &sb) || !PATHF(name, "%s/%s", group, v[i]))
            continue;
        run_case(path, name);
    }
    free_list(v, n);
}

int main(int argc, char **argv)
{
    const char *shared = "../shared";
    for (int i = 1; i < argc; i++) {
        int has = i + 1 < argc;
        if (!strcmp(argv[i], "--isa") && has) {
            const char *l = argv[++i];
            g_isa = !strcmp(l, "avx512") ? E2E_ISA_AVX512
                  : !strcmp(l, "avx2")   ? E2E_ISA_AVX2
                  : !strcmp(l, "generic") ? E2E_ISA_GENERIC
                                          : E2E_ISA_AUTO;
            if (g_isa == E2E_ISA_AUTO) {
                fprintf(stderr, "golden: --isa %s: not avx512, avx2 or generic\n", l);
                return 2;
            }
        } else if (!strcmp(argv[i], "--threads") && has) {
            g_threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--shared") && has) {
            shared = argv[++i];
        } else {
            fprintf(stderr, "usage: golden --isa avx512|avx2|generic [--threads N] [--shared DIR]\n"
                            "Prints a digest of every model's and conformance case's outputs at\n"
                            "optimize 1 (run from the repository root; tests/golden.test.sh).\n");
            return 2;
        }
    }
    if (g_isa > e2e_cpu_isa()) {
        fprintf(stderr, "golden: this CPU has no %s (it has %s)\n", e2e_isa_name(g_isa),
                e2e_isa_name(e2e_cpu_isa()));
        return 77;
    }
    printf("# isa %s, optimize 1, threads %d\n", e2e_isa_name(g_isa), g_threads);
    printf("# OpenBLAS core %s (%s)\n", openblas_get_corename(), openblas_get_config());
    fflush(stdout);

    char dir[4096];
    run_generated_models();
    run_trained("models/trained");
    run_cases("tests/fixtures/models", "", "fixtures");
    run_cases("tests/conformance/node", "test_", "node");
    snprintf(dir, sizeof dir, "%s/conformance/onnx-node", shared);
    run_cases(dir, "test_", "onnx-node");
    snprintf(dir, sizeof dir, "%s/conformance/differential", shared);
    run_cases(dir, "", "differential");
    run_cases("tests/differential/cases", "", "graphs");
    run_cases("tests/differential/regressions", "", "graphs");
    return 0;
}
