/* e2e frames --all-events: the frames of a whole file of events, one array per tagger, with
   the truth of each frame. This is how the training recipe (models/torch/train_taggers.py)
   gets its inputs from the project's own front end: the same DetFrames, seeds and crops as
   `e2e run`, only the seeded slots (those `e2e run` scores).

   The arrays are streamed (the frame count is not known in advance): each .npy gets a header
   of fixed length with the count written at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "e2e_frames.h"

#define DUMP_TAGGERS 4
#define NPY_HEADER 128 /* bytes, magic included; a multiple of 64 as NumPy asks */

typedef struct dump_out {
    FILE *frames, *truth;
    char frames_path[4096], truth_path[4096];
    uint64_t n;
    int c, h, w;
} dump_out;

/* A NumPy 1.0 header for a C-order array; count = dims[0]. */
static int npy_header(FILE *f, const char *descr, uint64_t count, int rank, const int *dims)
{
    char h[NPY_HEADER];
    int len = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (%llu,",
                       descr, (unsigned long long)count);
    for (int i = 0; i < rank; i++)
        len += snprintf(h + len, sizeof h - len, " %d%s", dims[i], i + 1 < rank ? "," : "");
    len += snprintf(h + len, sizeof h - len, "), }");
    if (len > NPY_HEADER - 11)
        return -1;
    memset(h + len, ' ', NPY_HEADER - 10 - 1 - len);
    h[NPY_HEADER - 10 - 1] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (NPY_HEADER - 10) & 0xff,
                             (NPY_HEADER - 10) >> 8};
    return fseek(f, 0, SEEK_SET) || fwrite(pre, 1, 10, f) != 10 ||
                   fwrite(h, 1, NPY_HEADER - 10, f) != NPY_HEADER - 10 || fseek(f, 0, SEEK_END)
               ? -1
               : 0;
}

static void help(void)
{
    printf("usage: e2e frames --all-events --events FILE -o DIR [--tagger T ...]\n"
           "                  [--channels T=a,b,...] [--skip-events N] [--max-events N]\n\n"
           "Writes, for each tagger (default eg, qg, top, tau), the frames of every seeded slot\n"
           "of the file's events (after --skip-events, at most --max-events):\n"
           "  <T>_frames.npy   float32 [N, C, H, W], the batches e2e run gives the model\n"
           "  <T>_truth.npy    int32 [N], the object's truth (0 photon, 1 electron, 2 quark,\n"
           "                   3 gluon, 4 top, 5 tau, -1 unknown)\n"
           "Slots whose seed failed (score -1 in e2e run) are left out. Used by the training\n"
           "recipe models/torch/train_taggers.py.\n");
}

int e2e_cmd_frames_dump(int argc, char **argv)
{
    const char *events = NULL, *outdir = NULL, *tnames[DUMP_TAGGERS], *chans[DUMP_TAGGERS];
    int nt = 0, nchan = 0, all_events = 0;
    uint64_t skip = 0, max_events = UINT64_MAX;
    const e2e_opt opts[] = {
        E2E_OPT_F("all-events", 0, &all_events, "this job: every event's frames"),
        E2E_OPT_S("events", 0, &events, "FILE", "the event file (- for stdin)"),
        E2E_OPT_S("output", 'o', &outdir, "DIR", "the folder to write"),
        E2E_OPT_LIST_("tagger", tnames, &nt, DUMP_TAGGERS, "T",
                      "a tagger (default eg, qg, top, tau)"),
        E2E_OPT_LIST_("channels", chans, &nchan, DUMP_TAGGERS, "T=a,b,...", "T's channels"),
        E2E_OPT_U("skip-events", &skip, 0, "N", "skip the file's first N events"),
        E2E_OPT_U("max-events", &max_events, 0, "N", "at most N events"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"frames", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos) {
        fprintf(stderr, "e2e frames: unexpected argument '%s' (e2e frames --all-events --help)\n",
                argv[1]);
        return E2E_EXIT_USAGE;
    }
    if (!strcmp(outdir ? outdir : "", "-")) {
        fprintf(stderr, "e2e frames: -o names a folder of .npy files; '-' (stdout) cannot hold "
                "them\n");
        return E2E_EXIT_USAGE;
    }
    if (!events || !outdir) {
        fprintf(stderr, "e2e frames: --all-events needs --events FILE and -o DIR\n");
        return E2E_EXIT_USAGE;
    }
    if (!nt) {
        static const char *const def[DUMP_TAGGERS] = {"eg", "qg", "top", "tau"};
        for (; nt < DUMP_TAGGERS; nt++)
            tnames[nt] = def[nt];
    }
    e2e_error err;
    err.message[0] = 0;
    e2e_tagger_config cfg[DUMP_TAGGERS];
    for (int t = 0; t < nt; t++)
        if (e2e_tagger_config_default(tnames[t], &cfg[t], &err)) {
            fprintf(stderr, "e2e frames: %s\n", err.message);
            return E2E_EXIT_USAGE;
        }
    for (int o = 0; o < nchan; o++) {
        const char *eq = strchr(chans[o], '=');
        int t = 0;
        while (t < nt && !(eq && strlen(tnames[t]) == (size_t)(eq - chans[o]) &&
                           !strncmp(tnames[t], chans[o], eq - chans[o])))
            t++;
        if (t == nt || e2e_tagger_config_set_channels(&cfg[t], eq + 1, &err)) {
            fprintf(stderr, "e2e frames: --channels %s: %s\n", chans[o],
                    t == nt ? "does not name a selected tagger (T=...)" : err.message);
            return E2E_EXIT_USAGE;
        }
    }

    int rc = E2E_EXIT_FAIL;
    e2e_event_reader *rd = NULL;
    e2e_event *ev = NULL;
    e2e_detframes *df = NULL;
    e2e_tagger *tg[DUMP_TAGGERS] = {0};
    dump_out out[DUMP_TAGGERS];
    memset(out, 0, sizeof out);
    uint64_t skipped, n = 0, mask = 0;
    if (e2e_event_reader_open(e2e_cli_in_path(events), &rd, &err) || e2e_event_create(&ev, &err) ||
        e2e_event_reader_skip(rd, skip, &skipped, &err))
        goto fail;
    for (int t = 0; t < nt; t++) {
        if (e2e_tagger_create(&cfg[t], NULL, NULL, &tg[t], &err))
            goto fail;
        mask |= e2e_tagger_channel_mask(tg[t]);
    }
    e2e_detframes_options dopt = e2e_detframes_options_default();
    dopt.channels = mask;
    dopt.z0_pv_cut = e2e_event_reader_z0_pv_cut(rd);
    if (e2e_detframes_create(&dopt, &df, &err))
        goto fail;
    if (mkdir(outdir, 0777) && errno != EEXIST) {
        snprintf(err.message, sizeof err.message, "%.900s: cannot create: %s", outdir,
                 strerror(errno));
        goto fail;
    }
    for (int t = 0; t < nt; t++) {
        dump_out *o = &out[t];
        snprintf(o->frames_path, sizeof o->frames_path, "%.3000s/%s_frames.npy", outdir,
                 cfg[t].name);
        snprintf(o->truth_path, sizeof o->truth_path, "%.3000s/%s_truth.npy", outdir,
                 cfg[t].name);
        o->c = cfg[t].n_channels;
        o->h = cfg[t].height;
        o->w = cfg[t].width;
        const char *bad = !(o->frames = fopen(o->frames_path, "wb")) ? o->frames_path
                          : !(o->truth = fopen(o->truth_path, "wb")) ? o->truth_path : NULL;
        int d3[3] = {o->c, o->h, o->w};
        if (bad || npy_header(o->frames, "<f4", 0, 3, d3) ||
            npy_header(o->truth, "<i4", 0, 0, NULL)) {
            snprintf(err.message, sizeof err.message, "%.900s: cannot create: %s",
                     bad ? bad : o->frames_path, strerror(errno));
            goto fail;
        }
    }
    while (n < max_events) {
        int got;
        if (e2e_event_reader_next(rd, ev, &got, &err))
            goto fail;
        if (!got)
            break;
        if (e2e_detframes_build(df, ev, &err))
            goto fail;
        for (int t = 0; t < nt; t++) {
            size_t ns;
            int C, H, W;
            if (e2e_tagger_prepare(tg[t], ev, df, &err))
                goto fail;
            const float *fr = e2e_tagger_frames(tg[t], &ns, &C, &H, &W);
            const e2e_tagger_slot *sl = e2e_tagger_slots(tg[t], &ns);
            size_t fe = (size_t)C * H * W;
            for (size_t i = 0; i < ns; i++) {
                if (sl[i].seed.status != E2E_SEED_OK)
                    continue;
                int32_t truth = sl[i].truth;
                if (fwrite(fr + i * fe, sizeof(float), fe, out[t].frames) != fe ||
                    fwrite(&truth, sizeof truth, 1, out[t].truth) != 1) {
                    snprintf(err.message, sizeof err.message, "%.900s: write failed",
                             out[t].frames_path);
                    goto fail;
                }
                out[t].n++;
            }
        }
        n++;
    }
    for (int t = 0; t < nt; t++) {
        dump_out *o = &out[t];
        int d3[3] = {o->c, o->h, o->w};
        int bad = npy_header(o->frames, "<f4", o->n, 3, d3) ||
                  npy_header(o->truth, "<i4", o->n, 0, NULL);
        bad |= fclose(o->frames) != 0;
        bad |= fclose(o->truth) != 0;
        o->frames = o->truth = NULL;
        if (bad) {
            snprintf(err.message, sizeof err.message, "%.900s: write failed", o->frames_path);
            goto fail;
        }
        if (e2e_cli_verbose >= 0)
            printf("%-4s %8llu frames %d x %d x %d -> %s\n", cfg[t].name,
                   (unsigned long long)o->n, o->c, o->h, o->w, o->frames_path);
    }
    if (e2e_cli_verbose >= 0)
        printf("%llu events of %s\n", (unsigned long long)n, events);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "e2e frames: %s\n", err.message);
done:
    for (int t = 0; t < nt; t++) {
        if (out[t].frames)
            fclose(out[t].frames);
        if (out[t].truth)
            fclose(out[t].truth);
        e2e_tagger_free(tg[t]);
    }
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_event_reader_close(rd);
    return rc;
}
