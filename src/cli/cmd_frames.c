/* e2e frames: one event's DetFrames channels, seeds, image frames and graph frames as .npy
   files with a JSON index, so that each stage can be checked on its own (no model, no
   engine). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "e2e_frames.h"
#include "util/npy.h"

#define MAX_TAGGERS 8

static void help(void)
{
    printf("usage: e2e frames --events FILE --event K [--tagger T ...] [--channels T=a,b,...]\n"
           "                  [--size T=HxW] [--points T=P] [--node-threshold X] [--no-graph]\n"
           "                  [--all-channels] -o DIR\n\n"
           "Reads event K (0-based) of FILE and writes into DIR:\n"
           "  channel_<name>.npy   float32 [280, 360] DetFrames channel (those the taggers use,\n"
           "                       or all with --all-channels)\n"
           "  eb.npy               float32 [170, 360] the EB view (rows 55..224 of ecal)\n"
           "  hbhe_towers.npy      float32 [56, 72] HBHE towers before the 5x5 upsample\n"
           "  <T>_seeds.npy        int32 [N, 2] seed (row, col) per slot, -1 when failed\n"
           "  <T>_frames.npy       float32 [N, C, H, W] the tagger's batch\n"
           "  <T>_points.npy       float32 [N, 2, P] graph frames (docs/graph-frames.md): per\n"
           "                       node (deta, dphi) to the seed cell,\n"
           "  <T>_features.npy     float32 [N, C, P] its scaled channel values,\n"
           "  <T>_mask.npy         float32 [N, 1, P] 1 for a node, 0 for padding,\n"
           "  <T>_seed.npy         float32 [N, 3] the object's pT, eta, phi,\n"
           "  <T>_nodes.npy        int32 [N] nodes in the crop before truncation at P\n"
           "  index.json           event id, channel files, and per tagger its channels, frame\n"
           "                       size and slots (object pt/eta/phi, truth, seed, status)\n"
           "Taggers default to eg, qg, top, tau with their default channels and sizes\n"
           "(eg 32x32 on the EB view, jets 128x128); --size qg=125x125 changes a frame size.\n"
           "Graph frames take P = the largest cloud of the event (at least 32, a multiple of\n"
           "16, at most 128 for jets and 64 for eg); --points T=P fixes P (truncating larger\n"
           "clouds); --node-threshold X sets the node threshold (default 0.001); --no-graph\n"
           "skips them (as does a frame wider than the 360 columns).\n"
           "e2e frames --all-events: every event's frames and truth (e2e frames --all-events -h).\n");
}

static int write_npy(const char *dir, const char *name, e2e_dtype dt, int rank,
                     const int64_t *dims, const void *data)
{
    char path[4096];
    e2e_error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (e2e_npy_write(path, dt, rank, dims, data, &err)) {
        fprintf(stderr, "e2e frames: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* A tagger's graph frames: <T>_points/features/mask/seed/nodes.npy and their JSON entry. */
static int write_graph(FILE *js, const char *dir, const e2e_tagger *t, e2e_error *err)
{
    e2e_graph_frames g;
    if (e2e_tagger_graph_frames(t, &g, err))
        return -1;
    const e2e_tagger_config *tc = e2e_tagger_get_config(t);
    size_t n;
    const e2e_tagger_slot *sl = e2e_tagger_slots(t, &n);
    int32_t *nodes = malloc((n ? n : 1) * sizeof(int32_t));
    /* an event without slots has no batch: write empty arrays from a dummy buffer */
    float *empty = calloc(1, sizeof(float));
    if (!nodes || !empty) {
        free(nodes);
        free(empty);
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        nodes[i] = sl[i].n_nodes;
    static const char *const what[5] = {"points", "features", "mask", "seed", "nodes"};
    const float *data[4] = {g.points, g.features, g.mask, g.seed};
    const int64_t dims[5][3] = {{(int64_t)n, 2, g.P}, {(int64_t)n, g.C, g.P},
                                {(int64_t)n, 1, g.P}, {(int64_t)n, 3, 0}, {(int64_t)n, 0, 0}};
    char names[5][64];
    int bad = 0;
    for (int k = 0; k < 5 && !bad; k++) {
        snprintf(names[k], sizeof names[k], "%s_%s.npy", tc->name, what[k]);
        bad = k < 4 ? write_npy(dir, names[k], E2E_FLOAT, k == 3 ? 2 : 3, dims[k],
                                data[k] ? (const void *)data[k] : empty)
                    : write_npy(dir, names[k], E2E_INT32, 1, dims[k], nodes);
    }
    free(nodes);
    free(empty);
    if (bad) {
        snprintf(err->message, sizeof err->message, "%.900s: cannot write the graph frames",
                 dir);
        return -1;
    }
    fprintf(js, "     \"graph\": {\"P\": %d, \"threshold\": %g, \"max_points\": %d, "
            "\"truncated\": %zu, \"empty\": %zu, \"scale\": [", g.P,
            (double)tc->graph.threshold, tc->graph.max_points, g.truncated, g.empty);
    for (int c = 0; c < tc->n_channels; c++)
        fprintf(js, "%s%g", c ? ", " : "",
                tc->graph.raw ? 1.0 : (double)e2e_graph_channel_scale(tc->channels[c]));
    fprintf(js, "],\n       \"points_file\": \"%s\", \"features_file\": \"%s\", "
            "\"mask_file\": \"%s\", \"seed_file\": \"%s\", \"nodes_file\": \"%s\"},\n",
            names[0], names[1], names[2], names[3], names[4]);
    return 0;
}

int e2e_cmd_frames(int argc, char **argv)
{
    const char *events = NULL, *outdir = NULL;
    long long k = -1;
    int all = 0, nt = 0;
    const char *tnames[MAX_TAGGERS];
    const char *chan_over[MAX_TAGGERS * 2], *size_over[MAX_TAGGERS * 2];
    const char *pts_over[MAX_TAGGERS * 2];
    int nchan = 0, nsize = 0, npts = 0, graph = 1;
    double threshold = -1;
    int no_graph = 0;
    /* --all-events is another job with its own options (frames_dump.c) */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--all-events"))
            return e2e_cmd_frames_dump(argc, argv);
    int all_events = 0;
    const e2e_opt opts[] = {
        E2E_OPT_S("events", 0, &events, "FILE", "the event file (- for stdin)"),
        E2E_OPT_L("event", &k, 0, INT64_MAX, "K", "the event's index, 0-based"),
        E2E_OPT_S("output", 'o', &outdir, "DIR", "the folder to write"),
        E2E_OPT_LIST_("tagger", tnames, &nt, MAX_TAGGERS, "T",
                      "a tagger (default eg, qg, top, tau)"),
        E2E_OPT_LIST_("channels", chan_over, &nchan, MAX_TAGGERS * 2, "T=a,b,...", "T's channels"),
        E2E_OPT_LIST_("size", size_over, &nsize, MAX_TAGGERS * 2, "T=HxW", "T's frame size"),
        E2E_OPT_LIST_("points", pts_over, &npts, MAX_TAGGERS * 2, "T=P", "T's graph nodes"),
        E2E_OPT_D("node-threshold", &threshold, 0, 1e30, "X", "graph nodes' threshold"),
        E2E_OPT_F("no-graph", 0, &no_graph, "no graph frames"),
        E2E_OPT_F("all-channels", 0, &all, "write every DetFrames channel"),
        E2E_OPT_F("all-events", 0, &all_events,
                  "every event's frames (e2e frames --all-events --help)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"frames", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos) {
        fprintf(stderr, "e2e frames: unexpected argument '%s' (e2e frames --help)\n", argv[1]);
        return E2E_EXIT_USAGE;
    }
    graph = !no_graph;
    if (!strcmp(outdir ? outdir : "", "-")) {
        fprintf(stderr, "e2e frames: -o names a folder of .npy files; '-' (stdout) cannot hold "
                "them\n");
        return E2E_EXIT_USAGE;
    }
    if (!events || k < 0 || !outdir) {
        fprintf(stderr, "e2e frames: needs --events FILE, --event K and -o DIR\n");
        return E2E_EXIT_USAGE;
    }
    if (!nt) {
        static const char *const def[4] = {"eg", "qg", "top", "tau"};
        for (; nt < 4; nt++)
            tnames[nt] = def[nt];
    }
    e2e_error err;
    e2e_tagger_config cfg[MAX_TAGGERS];
    for (int t = 0; t < nt; t++)
        if (e2e_tagger_config_default(tnames[t], &cfg[t], &err)) {
            fprintf(stderr, "e2e frames: %s\n", err.message);
            return E2E_EXIT_USAGE;
        }
    for (int t = 0; t < nt; t++) {
        cfg[t].graph.enabled = graph;
        if (threshold >= 0)
            cfg[t].graph.threshold = (float)threshold;
    }
    for (int o = 0; o < nchan + nsize + npts; o++) {
        const char *s = o < nchan ? chan_over[o]
                      : o < nchan + nsize ? size_over[o - nchan] : pts_over[o - nchan - nsize];
        const char *eq = strchr(s, '=');
        int t = 0;
        while (t < nt && !(eq && strlen(tnames[t]) == (size_t)(eq - s) &&
                           !strncmp(tnames[t], s, eq - s)))
            t++;
        if (t == nt) {
            fprintf(stderr, "e2e frames: '%s' does not name a selected tagger (T=...)\n", s);
            return E2E_EXIT_USAGE;
        }
        if (o < nchan) {
            if (e2e_tagger_config_set_channels(&cfg[t], eq + 1, &err)) {
                fprintf(stderr, "e2e frames: %s\n", err.message);
                return E2E_EXIT_USAGE;
            }
        } else if (o >= nchan + nsize) { /* a fixed P: min = max, no rounding */
            char *end;
            long p = strtol(eq + 1, &end, 10);
            if (*end || p < 1 || p > 65536) {
                fprintf(stderr, "e2e frames: --points %s: expected T=P with P in 1..65536\n", s);
                return E2E_EXIT_USAGE;
            }
            cfg[t].graph.max_points = cfg[t].graph.min_points = (int)p;
            cfg[t].graph.quantum = 1;
        } else {
            int64_t d[2];
            int r = e2e_cli_parse_dims(eq + 1, d, 2);
            if (r < 1 || d[0] < 1 || d[0] > 1024 || (r == 2 && (d[1] < 1 || d[1] > 1024))) {
                fprintf(stderr, "e2e frames: --size %s: expected T=HxW\n", s);
                return E2E_EXIT_USAGE;
            }
            cfg[t].height = (int)d[0];
            cfg[t].width = (int)(r == 2 ? d[1] : d[0]);
        }
    }

    int rc = E2E_EXIT_FAIL;
    e2e_event_reader *rd = NULL;
    e2e_event *ev = NULL;
    e2e_detframes *df = NULL;
    e2e_tagger *tg[MAX_TAGGERS] = {0};
    FILE *js = NULL;
    uint64_t skipped;
    int got = 0;
    if (e2e_event_reader_open(e2e_cli_in_path(events), &rd, &err) || e2e_event_create(&ev, &err) ||
        e2e_event_reader_skip(rd, (uint64_t)k, &skipped, &err))
        goto fail;
    if (skipped == (uint64_t)k && e2e_event_reader_next(rd, ev, &got, &err))
        goto fail;
    if (!got) {
        snprintf(err.message, sizeof err.message, "%s: no event %lld (the file has %llu)",
                 events, k, (unsigned long long)e2e_event_reader_position(rd));
        goto fail;
    }
    uint64_t mask = 0;
    for (int t = 0; t < nt; t++) {
        if (cfg[t].width > E2E_GRID_COLS) /* wider than the grid: images only */
            cfg[t].graph.enabled = 0;
        if (e2e_tagger_create(&cfg[t], NULL, NULL, &tg[t], &err))
            goto fail;
        mask |= e2e_tagger_channel_mask(tg[t]);
    }
    e2e_detframes_options dopt = e2e_detframes_options_default();
    dopt.z0_pv_cut = e2e_event_reader_z0_pv_cut(rd);
    if (e2e_detframes_create(&dopt, &df, &err) || e2e_detframes_build(df, ev, &err))
        goto fail;
    for (int t = 0; t < nt; t++)
        if (e2e_tagger_prepare(tg[t], ev, df, &err))
            goto fail;
    if (mkdir(outdir, 0777) && errno != EEXIST) {
        snprintf(err.message, sizeof err.message, "%.900s: cannot create: %s", outdir, strerror(errno));
        goto fail;
    }

    char path[4096];
    snprintf(path, sizeof path, "%s/index.json", outdir);
    js = fopen(path, "w");
    if (!js) {
        snprintf(err.message, sizeof err.message, "%.900s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    e2e_event_data d;
    e2e_event_get(ev, &d);
    fprintf(js, "{\n  \"file\": ");
    e2e_cli_json_str(js, events);
    fprintf(js, ",\n  \"event_index\": %lld, \"run\": %u, \"lumi\": %u, \"event\": %llu,\n", k,
            d.run, d.lumi, (unsigned long long)d.event);
    fprintf(js, "  \"z0_pv_cut\": %g,\n  \"channels\": [", (double)dopt.z0_pv_cut);
    int first = 1;
    const int64_t gdims[2] = {E2E_GRID_ROWS, E2E_GRID_COLS};
    for (int c = 0; c < E2E_CH_COUNT; c++) {
        if (!all && !(mask & E2E_CHANNEL_BIT(c)))
            continue;
        const float *img = e2e_detframes_channel(df, (e2e_channel)c);
        char name[64];
        snprintf(name, sizeof name, "channel_%s.npy", e2e_channel_name((e2e_channel)c));
        if (write_npy(outdir, name, E2E_FLOAT, 2, gdims, img))
            goto quiet_fail;
        double sum = 0;
        for (int i = 0; i < E2E_GRID_ROWS * E2E_GRID_COLS; i++)
            sum += img[i];
        fprintf(js, "%s\n    {\"name\": \"%s\", \"file\": \"%s\", \"shape\": [280, 360], "
                "\"sum\": %.9g}", first ? "" : ",", e2e_channel_name((e2e_channel)c), name, sum);
        first = 0;
    }
    fprintf(js, "\n  ],\n");
    const int64_t ebd[2] = {E2E_EB_ROWS, E2E_GRID_COLS}, hd[2] = {E2E_HCAL_ROWS, E2E_HCAL_COLS};
    if (write_npy(outdir, "eb.npy", E2E_FLOAT, 2, ebd, e2e_detframes_eb(df)) ||
        write_npy(outdir, "hbhe_towers.npy", E2E_FLOAT, 2, hd, e2e_detframes_hbhe_towers(df)))
        goto quiet_fail;
    fprintf(js, "  \"eb\": {\"file\": \"eb.npy\", \"shape\": [170, 360]},\n"
                "  \"hbhe_towers\": {\"file\": \"hbhe_towers.npy\", \"shape\": [56, 72]},\n"
                "  \"taggers\": [");
    for (int t = 0; t < nt; t++) {
        size_t n;
        int C, H, W;
        const float *fr = e2e_tagger_frames(tg[t], &n, &C, &H, &W);
        const e2e_tagger_slot *sl = e2e_tagger_slots(tg[t], &n);
        const e2e_tagger_config *tc = e2e_tagger_get_config(tg[t]);
        int32_t *seeds = malloc((n ? n : 1) * 2 * sizeof(int32_t));
        if (!seeds) {
            snprintf(err.message, sizeof err.message, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            seeds[2 * i] = sl[i].seed.row;
            seeds[2 * i + 1] = sl[i].seed.col;
        }
        char sname[64], fname[64];
        snprintf(sname, sizeof sname, "%s_seeds.npy", tc->name);
        snprintf(fname, sizeof fname, "%s_frames.npy", tc->name);
        const int64_t sd[2] = {(int64_t)n, 2}, fd[4] = {(int64_t)n, C, H, W};
        int bad = write_npy(outdir, sname, E2E_INT32, 2, sd, seeds) ||
                  write_npy(outdir, fname, E2E_FLOAT, 4, fd, fr);
        free(seeds);
        if (bad)
            goto quiet_fail;
        static const char *const objs[3] = {"photons", "ak4", "ak8"};
        fprintf(js, "%s\n    {\"name\": \"%s\", \"objects\": \"%s\", \"image\": \"%s\", "
                "\"channels\": [", t ? "," : "", tc->name, objs[tc->objects],
                tc->objects == E2E_OBJ_PHOTONS ? "eb" : "grid");
        for (int c = 0; c < C; c++)
            fprintf(js, "%s\"%s\"", c ? ", " : "", e2e_channel_name(tc->channels[c]));
        fprintf(js, "],\n     \"frame\": [%d, %d], \"min_pt\": %g, \"max_eta\": %g, "
                "\"seeds_file\": \"%s\", \"frames_file\": \"%s\",\n",
                H, W, (double)tc->min_pt, (double)tc->max_eta, sname, fname);
        if (tc->graph.enabled && write_graph(js, outdir, tg[t], &err))
            goto fail;
        fprintf(js, "     \"slots\": [");
        for (size_t i = 0; i < n; i++)
            fprintf(js, "%s\n       {\"pt\": %.6g, \"eta\": %.6g, \"phi\": %.6g, \"truth\": "
                    "\"%s\", \"row\": %d, \"col\": %d, \"status\": \"%s\", \"nodes\": %d}",
                    i ? "," : "", (double)sl[i].pt, (double)sl[i].eta, (double)sl[i].phi,
                    e2e_truth_name(sl[i].truth), sl[i].seed.row, sl[i].seed.col,
                    e2e_seed_status_name(sl[i].seed.status), sl[i].n_nodes);
        fprintf(js, "]}");
    }
    fprintf(js, "\n  ]\n}\n");
    if (fclose(js)) {
        js = NULL;
        snprintf(err.message, sizeof err.message, "%.900s: write failed", path);
        goto fail;
    }
    js = NULL;
    if (e2e_cli_verbose >= 0)
        printf("event %lld (run %u, lumi %u, event %llu) -> %s/index.json\n", k, d.run, d.lumi,
               (unsigned long long)d.event, outdir);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "e2e frames: %s\n", err.message);
quiet_fail:
    rc = E2E_EXIT_FAIL;
done:
    if (js)
        fclose(js);
    for (int t = 0; t < nt; t++)
        e2e_tagger_free(tg[t]);
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_event_reader_close(rd);
    return rc;
}
