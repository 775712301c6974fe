/* e2e gen: write a file of toy events (src/frames/generator.c, docs/event-format.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "e2e_frames.h"

static void help(void)
{
    printf("usage: e2e gen --events N [--seed S] [--pileup MEAN] [--noise SCALE] -o FILE\n\n"
           "Writes N toy events (docs/event-format.md) to FILE: photons and electrons, quark\n"
           "and gluon jets, boosted tops, hadronic taus, pileup and noise, already in detector\n"
           "coordinates. A toy, not a detector simulation (see the generator notes in the\n"
           "docs). Event i depends only on (S, i): the same seed gives the same file, and a\n"
           "shorter file is a prefix of a longer one. Defaults: --seed 1, --pileup 40,\n"
           "--noise 1.\n");
}

int e2e_cmd_gen(int argc, char **argv)
{
    uint64_t n = UINT64_MAX;
    const char *out = NULL;
    e2e_gen_options o = e2e_gen_options_default();
    const e2e_opt opts[] = {
        E2E_OPT_U("events", &n, UINT32_MAX, "N", "how many events (required)"),
        E2E_OPT_U("seed", &o.seed, 0, "S", "the sample's seed (default 1)"),
        E2E_OPT_D("pileup", &o.pileup, 0, 1000, "MEAN", "mean pileup particles (default 40)"),
        E2E_OPT_D("noise", &o.noise, 0, 100, "SCALE", "calorimeter noise scale (default 1)"),
        E2E_OPT_S("output", 'o', &out, "FILE", "the event file (required; - for stdout)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"gen", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos) {
        fprintf(stderr, "e2e gen: unexpected argument '%s' (e2e gen --help)\n", argv[1]);
        return E2E_EXIT_USAGE;
    }
    int have_n = n != UINT64_MAX;
    if (!have_n || !out) {
        fprintf(stderr, "e2e gen: needs --events N and -o FILE (e2e gen --help)\n");
        return E2E_EXIT_USAGE;
    }
    /* "-": the event file goes to stdout (its header's event count stays 0, "unknown", when
       stdout cannot seek back; readers then read to the end) */
    int to_stdout = !strcmp(out, "-");
    if (to_stdout)
        out = "/dev/stdout";
    e2e_error err;
    e2e_event *ev = NULL;
    e2e_event_writer *w = NULL;
    if (e2e_event_create(&ev, &err) || e2e_event_writer_open(out, &w, &err)) {
        fprintf(stderr, "e2e gen: %s\n", err.message);
        e2e_event_free(ev);
        return E2E_EXIT_FAIL;
    }
    double t0 = e2e_cli_now_ms();
    uint64_t hits = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (e2e_gen_event(&o, i, ev, &err) || e2e_event_writer_write(w, ev, &err)) {
            fprintf(stderr, "e2e gen: %s\n", err.message);
            e2e_event_writer_close(w, NULL);
            e2e_event_free(ev);
            return E2E_EXIT_FAIL;
        }
        e2e_event_data d;
        e2e_event_get(ev, &d);
        hits += d.n_eb + d.n_ee + d.n_hbhe + d.n_tracks + d.n_pixel + d.n_strip;
    }
    e2e_event_free(ev);
    if (e2e_event_writer_close(w, &err)) {
        fprintf(stderr, "e2e gen: %s\n", err.message);
        return E2E_EXIT_FAIL;
    }
    struct stat sb;
    double mb = to_stdout || stat(out, &sb) ? 0 : sb.st_size / 1e6;
    if (e2e_cli_verbose >= 0)
        fprintf(stderr, "e2e gen: wrote %llu events to %s (%.1f MB, %.0f hits per event, %.0f ms)\n",
                (unsigned long long)n, to_stdout ? "stdout" : out, mb, n ? (double)hits / n : 0.0,
                e2e_cli_now_ms() - t0);
    return 0;
}
