/* e2e gen: write a file of toy events (src/frames/generator.c, docs/event-format.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
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

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end || s[0] == '-')
        return -1;
    *v = x;
    return 0;
}

int e2e_cmd_gen(int argc, char **argv)
{
    uint64_t n = 0;
    int have_n = 0;
    const char *out = NULL;
    e2e_gen_options o = e2e_gen_options_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (e2e_cli_is_help(a)) {
            help();
            return 0;
        } else if (!strcmp(a, "--events") && i + 1 < argc) {
            if (parse_u64(argv[++i], &n) || n > UINT32_MAX) {
                fprintf(stderr, "e2e gen: --events needs a count (0..4294967295)\n");
                return E2E_EXIT_USAGE;
            }
            have_n = 1;
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (parse_u64(argv[++i], &o.seed)) {
                fprintf(stderr, "e2e gen: --seed needs a non-negative integer\n");
                return E2E_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--pileup") && i + 1 < argc) {
            o.pileup = atof(argv[++i]);
            if (!(o.pileup >= 0 && o.pileup <= 1000)) {
                fprintf(stderr, "e2e gen: --pileup must be in 0..1000\n");
                return E2E_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--noise") && i + 1 < argc) {
            o.noise = atof(argv[++i]);
            if (!(o.noise >= 0 && o.noise <= 100)) {
                fprintf(stderr, "e2e gen: --noise must be in 0..100\n");
                return E2E_EXIT_USAGE;
            }
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, "e2e gen: unknown or incomplete argument '%s' (e2e gen --help)\n", a);
            return E2E_EXIT_USAGE;
        }
    }
    if (!have_n || !out) {
        fprintf(stderr, "e2e gen: needs --events N and -o FILE (e2e gen --help)\n");
        return E2E_EXIT_USAGE;
    }
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
    double mb = stat(out, &sb) ? 0 : sb.st_size / 1e6;
    if (e2e_cli_verbose >= 0)
        fprintf(stderr, "e2e gen: wrote %llu events to %s (%.1f MB, %.0f hits per event, %.0f ms)\n",
                (unsigned long long)n, out, mb, n ? (double)hits / n : 0.0,
                e2e_cli_now_ms() - t0);
    return 0;
}
