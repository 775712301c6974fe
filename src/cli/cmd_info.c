/* e2e info: what a model is and what a session of it costs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "engine/session.h"

static void help(void)
{
    printf("usage: e2e info MODEL [--shape NAME=D0xD1x...]... [--batch N]\n\n"
           "Prints the inputs and outputs (dynamic dims as ?), the opsets, an operator histogram,\n"
           "the parameter count, and for a session bound to the given shapes (dynamic dims = batch,\n"
           "default 1): FLOPs per run, nodes left after folding and fusion, arena and workspace bytes.\n");
}

static void print_decl(const char *what, const e2e_tensor_view *v)
{
    printf("  %s %-20s %-6s [", what, v->name, e2e_dtype_name(v->dtype));
    for (int i = 0; i < v->rank; i++)
        printf(v->dims[i] < 0 ? "%s?" : "%s%lld", i ? ", " : "", (long long)v->dims[i]);
    printf("]\n");
}

int e2e_cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    e2e_shape_binding b[16];
    int64_t dims[16][E2E_MAX_RANK];
    char names[16][256];
    int nb = 0;
    int64_t batch = 1;
    const char *shapes[16];
    int nshape = 0;
    const e2e_opt opts[] = {
        E2E_OPT_LIST_("shape", shapes, &nshape, 16, "NAME=D0xD1x...",
                      "bind input NAME to these dimensions"),
        E2E_OPT_L("batch", &batch, 1, INT32_MAX, "N", "the dynamic dimensions' value (default 1)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"info", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos > 1) {
        fprintf(stderr, "e2e info: one MODEL, not also '%s'\n", argv[2]);
        return E2E_EXIT_USAGE;
    }
    path = npos ? argv[1] : NULL;
    for (int i = 0; i < nshape; i++) {
        const char *a = shapes[i], *eq = strchr(a, '=');
        if (!eq || eq == a) {
            fprintf(stderr, "e2e info: --shape wants NAME=D0xD1x..., got %s\n", a);
            return E2E_EXIT_USAGE;
        }
        snprintf(names[nb], sizeof names[nb], "%.*s", (int)(eq - a), a);
        int r = e2e_cli_parse_dims(eq + 1, dims[nb], E2E_MAX_RANK);
        if (r < 0) {
            fprintf(stderr, "e2e info: bad dimensions in %s\n", a);
            return E2E_EXIT_USAGE;
        }
        b[nb] = (e2e_shape_binding){names[nb], r, dims[nb]};
        nb++;
    }
    if (!path) {
        help();
        return E2E_EXIT_USAGE;
    }
    e2e_error err;
    e2e_model *m = NULL;
    double t0 = e2e_cli_now_ms();
    if (e2e_cli_model_load(path, &m, &err)) {
        fprintf(stderr, "e2e info: %s\n", err.message);
        return E2E_EXIT_FAIL;
    }
    double t_load = e2e_cli_now_ms() - t0;
    printf("model     %s\n", path);
    printf("producer  %s, IR version %lld, opset %d\n", m->producer, (long long)m->ir_version, m->opset);
    for (int i = 0; i < e2e_model_input_count(m); i++) {
        e2e_tensor_view v;
        e2e_model_input(m, i, &v);
        print_decl("input ", &v);
    }
    for (int i = 0; i < e2e_model_output_count(m); i++) {
        e2e_tensor_view v;
        e2e_model_output(m, i, &v);
        print_decl("output", &v);
    }
    printf("nodes     %d\n", m->graph.n_nodes);
    /* operator histogram, in order of first appearance */
    const e2e_graph *g = &m->graph;
    for (int i = 0; i < g->n_nodes; i++) {
        int seen = 0, count = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(g->nodes[j].op_type, g->nodes[i].op_type);
        if (seen)
            continue;
        for (int j = i; j < g->n_nodes; j++)
            count += !strcmp(g->nodes[j].op_type, g->nodes[i].op_type);
        printf("  %-22s %d\n", g->nodes[i].op_type, count);
    }
    printf("parameters %lld (%.2f MB)\n", (long long)e2e_model_parameter_count(m),
           e2e_model_parameter_count(m) * 4.0 / 1e6);
    printf("load      %.2f ms\n", t_load);
    e2e_session_options o = e2e_cli_session_options();
    o.shapes = b;
    o.n_shapes = nb;
    o.default_batch = batch;
    e2e_session *s = NULL;
    t0 = e2e_cli_now_ms();
    if (e2e_session_create(m, &o, &s, &err)) {
        fprintf(stderr, "e2e info: %s\n", err.message);
        e2e_model_free(m);
        return E2E_EXIT_FAIL;
    }
    double t_sess = e2e_cli_now_ms() - t0;
    double flops = 0;
    for (int i = 0; i < s->n_kernels; i++)
        flops += e2e_kernel_flops(&s->kernels[i]);
    printf("session   bound to");
    for (int i = 0; i < e2e_session_input_count(s); i++) {
        e2e_tensor_view v;
        e2e_session_input(s, i, &v);
        printf(" %s[", v.name);
        for (int k = 0; k < v.rank; k++)
            printf("%s%lld", k ? "x" : "", (long long)v.dims[k]);
        printf("]");
    }
    printf(", created in %.2f ms\n", t_sess);
    printf("FLOPs     %.4g per run (%.3f GFLOP)\n", flops, flops / 1e9);
    printf("kernels   %d to run (%d nodes folded, %d activations fused, %d reshapes aliased)\n",
           s->n_kernels, s->n_folded, s->n_fused, s->n_aliased);
    printf("isa       %s (CPU: %s; E2E_ISA caps it)\n", e2e_isa_name(e2e_session_isa(s)),
           e2e_isa_name(e2e_cpu_isa()));
    printf("arena     %zu bytes (%.2f MB), workspace %zu bytes\n", s->arena_bytes, s->arena_bytes / 1e6,
           s->ws_bytes);
    e2e_session_free(s);
    e2e_model_free(m);
    return 0;
}
