/* e2e infer: run a model once on inputs read from .npy or .pb files; write .npy outputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "onnx/tensor_proto.h"
#include "util/npy.h"

#define MAX_IN 32

static void help(void)
{
    printf("usage: e2e infer MODEL --input NAME=FILE [--input NAME=FILE ...] [--output DIR]\n"
           "                 [--threads T] [--device cpu|cuda|auto] [--allow-nonfinite]\n\n"
           "Reads each input from a .npy or .pb (onnx.TensorProto) file, binds the session to\n"
           "their shapes, runs once, prints each output's shape and first values, and with\n"
           "--output writes DIR/<output name>.npy. NAME may be omitted (FILE alone) to match\n"
           "inputs by position.\n"
           "A float input holding NaN or +-Inf is refused (exit 1, the message names the file,\n"
           "the counts of NaN, +Inf and -Inf and the first index); --allow-nonfinite runs it\n"
           "anyway and reports the counts on stderr.\n");
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static void print_values(const e2e_tensor_view *v)
{
    int64_t n = e2e_tensor_view_numel(v), show = n < 8 ? n : 8;
    printf("  %s %s [", v->name, e2e_dtype_name(v->dtype));
    for (int i = 0; i < v->rank; i++)
        printf("%s%lld", i ? ", " : "", (long long)v->dims[i]);
    printf("]:");
    for (int64_t i = 0; i < show; i++) {
        switch (v->dtype) {
        case E2E_FLOAT: printf(" %.6g", ((const float *)v->data)[i]); break;
        case E2E_INT64: printf(" %lld", (long long)((const int64_t *)v->data)[i]); break;
        case E2E_INT32: printf(" %d", ((const int32_t *)v->data)[i]); break;
        default: printf(" %u", ((const uint8_t *)v->data)[i]); break;
        }
    }
    printf("%s\n", n > show ? " ..." : "");
}

/* Counts NaN / +-Inf of a float input and says so on stderr; returns 1 when there are any. */
static int report_nonfinite(const char *file, const char *name, const e2e_tensor *t, int allow)
{
    e2e_cli_nonfinite c = E2E_CLI_NONFINITE_INIT;
    int64_t n = 1;
    for (int d = 0; d < t->shape.rank; d++)
        n *= t->shape.dims[d];
    e2e_cli_nonfinite_count(t->data, (size_t)n, 0, &c);
    uint64_t total = e2e_cli_nonfinite_total(&c);
    if (!total)
        return 0;
    char at[256];
    e2e_cli_nonfinite_index(&c, t->shape.rank, t->shape.dims, at, sizeof at);
    fprintf(stderr, "e2e infer: %s%s (input %s): %llu non-finite value%s of %lld: %llu NaN, "
            "%llu +Inf, %llu -Inf; the first at %s%s\n", allow ? "warning: " : "", file, name,
            (unsigned long long)total, total == 1 ? "" : "s", (long long)n,
            (unsigned long long)c.nan, (unsigned long long)c.pinf, (unsigned long long)c.ninf, at,
            allow ? "; running anyway (--allow-nonfinite)"
                  : "; refused (--allow-nonfinite runs it anyway)");
    return 1;
}

int e2e_cmd_infer(int argc, char **argv)
{
    const char *path = NULL, *outdir = NULL;
    const char *in_names[MAX_IN], *in_files[MAX_IN];
    int nin = 0, threads = 1, rc = E2E_EXIT_FAIL, allow_nonfinite = 0, nonfinite = 0;
    e2e_device device = E2E_DEVICE_CPU;
    char namebuf[MAX_IN][256];
    const char *inputs[MAX_IN];
    int ninput = 0;
    const e2e_opt opts[] = {
        E2E_OPT_LIST_("input", inputs, &ninput, MAX_IN, "[NAME=]FILE", "an input (.npy or .pb)"),
        E2E_OPT_S("output", 0, &outdir, "DIR", "write DIR/<output name>.npy"),
        E2E_OPT_I("threads", &threads, 1, E2E_CLI_MAX_THREADS, "T", "compute threads (default 1)"),
        E2E_OPT_C("device", e2e_opts_device, &device, "D", "cpu (default), cuda or auto"),
        E2E_OPT_F("allow-nonfinite", 0, &allow_nonfinite, "run inputs holding NaN or Inf"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"infer", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos > 1) {
        fprintf(stderr, "e2e infer: unexpected argument %s\n", argv[2]);
        return E2E_EXIT_USAGE;
    }
    if (outdir && !strcmp(outdir, "-")) {
        fprintf(stderr, "e2e infer: --output is a folder of .npy files; '-' (stdout) cannot hold "
                "them (the values are printed on stdout anyway)\n");
        return E2E_EXIT_USAGE;
    }
    path = npos ? argv[1] : NULL;
    for (int i = 0; i < ninput; i++) {
        const char *v = inputs[i], *eq = strchr(v, '=');
        if (eq) {
            snprintf(namebuf[nin], sizeof namebuf[nin], "%.*s", (int)(eq - v), v);
            in_names[nin] = namebuf[nin];
            in_files[nin++] = eq + 1;
        } else {
            in_names[nin] = NULL;
            in_files[nin++] = v;
        }
    }
    if (!path || !nin) {
        help();
        return E2E_EXIT_USAGE;
    }
    e2e_error err;
    e2e_model *m = NULL;
    e2e_session *s = NULL;
    e2e_tensor t[MAX_IN];
    memset(t, 0, sizeof t);
    if (e2e_cli_model_load(path, &m, &err)) {
        fprintf(stderr, "e2e infer: %s\n", err.message);
        return E2E_EXIT_FAIL;
    }
    e2e_shape_binding b[MAX_IN];
    e2e_tensor_view v[MAX_IN];
    /* a name the model does not have: said here, by name, before any file is read */
    for (int i = 0; i < nin; i++) {
        if (!in_names[i])
            continue;
        int found = 0, ni = e2e_model_input_count(m);
        for (int j = 0; j < ni && !found; j++) {
            e2e_tensor_view d;
            found = !e2e_model_input(m, j, &d) && !strcmp(d.name, in_names[i]);
        }
        if (!found) {
            fprintf(stderr, "e2e infer: --input %s=%s: the model %s has no input named '%s'; "
                    "its inputs:", in_names[i], in_files[i], path, in_names[i]);
            for (int j = 0; j < ni; j++) {
                e2e_tensor_view d;
                if (!e2e_model_input(m, j, &d))
                    fprintf(stderr, "%s %s", j ? "," : "", d.name);
            }
            fprintf(stderr, "\n");
            rc = E2E_EXIT_USAGE;
            goto done;
        }
    }
    for (int i = 0; i < nin; i++) {
        e2e_status st = ends_with(in_files[i], ".npy") ? e2e_npy_read(in_files[i], &t[i], &err)
                                                       : e2e_tensor_read_pb(in_files[i], &t[i], &err);
        if (st) {
            fprintf(stderr, "e2e infer: %s\n", err.message);
            goto done;
        }
        const char *name = in_names[i];
        if (!name) {
            e2e_tensor_view d;
            if (e2e_model_input(m, i, &d)) {
                fprintf(stderr, "e2e infer: %s: the model has only %d inputs\n", path, e2e_model_input_count(m));
                goto done;
            }
            name = d.name;
        }
        if (t[i].dtype == E2E_FLOAT && report_nonfinite(in_files[i], name, &t[i], allow_nonfinite))
            nonfinite = 1;
        b[i] = (e2e_shape_binding){name, t[i].shape.rank, t[i].shape.dims};
        v[i] = (e2e_tensor_view){.name = name, .dtype = t[i].dtype, .rank = t[i].shape.rank, .data = t[i].data};
        memcpy(v[i].dims, t[i].shape.dims, sizeof(int64_t) * (size_t)t[i].shape.rank);
    }
    if (nonfinite && !allow_nonfinite)
        goto done;
    e2e_session_options o = e2e_cli_session_options();
    o.shapes = b;
    o.n_shapes = nin;
    o.threads = threads;
    o.device = device;
    double t0 = e2e_cli_now_ms();
    e2e_status st = e2e_session_create(m, &o, &s, &err);
    if (st == E2E_ERR_DYNAMIC) {
        o.fixed_inputs = v;
        o.n_fixed_inputs = nin;
        st = e2e_session_create(m, &o, &s, &err);
    }
    if (st) {
        fprintf(stderr, "e2e infer: %s\n", err.message);
        goto done;
    }
    if (e2e_session_device_note(s)[0])
        fprintf(stderr, "e2e infer: %s\n", e2e_session_device_note(s));
    double t1 = e2e_cli_now_ms();
    if (e2e_session_run(s, v, nin, &err)) {
        fprintf(stderr, "e2e infer: %s\n", err.message);
        goto done;
    }
    double t2 = e2e_cli_now_ms();
    if (outdir && mkdir(outdir, 0755) && errno != EEXIST) {
        fprintf(stderr, "e2e infer: cannot create %s\n", outdir);
        goto done;
    }
    for (int i = 0; i < e2e_session_output_count(s); i++) {
        e2e_tensor_view out;
        e2e_session_output(s, i, &out);
        if (e2e_cli_verbose >= 0)
            print_values(&out);
        if (outdir) {
            char file[4096], clean[256];
            snprintf(clean, sizeof clean, "%s", out.name);
            for (char *c = clean; *c; c++)
                if (*c == '/' || *c == '\\' || *c == ':')
                    *c = '_';
            snprintf(file, sizeof file, "%s/%s.npy", outdir, clean);
            if (e2e_npy_write(file, out.dtype, out.rank, out.dims, out.data, &err)) {
                fprintf(stderr, "e2e infer: %s\n", err.message);
                goto done;
            }
        }
    }
    if (e2e_cli_verbose >= 0)
        printf("session %.2f ms, run %.3f ms\n", t1 - t0, t2 - t1);
    rc = 0;
done:
    e2e_session_free(s);
    for (int i = 0; i < nin; i++)
        e2e_tensor_clear(&t[i]);
    e2e_model_free(m);
    return rc;
}
