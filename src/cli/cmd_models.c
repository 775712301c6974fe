/* e2e models: write the benchmark models (SimpleNet, ViT-Ti, ParticleNet-Lite, DGCNN and ParT
   for each tagger; full-size ParticleNet on request). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "models/models.h"

static void help(void)
{
    printf("usage: e2e models --out DIR [--seed S] [--only TAGGER_ARCH] [--arch ARCH] [--missing]\n\n"
           "Writes DIR/{eg,qg,top,tau}_{simplenet,vit,pnet,dgcnn,part}.onnx: ONNX opset 17,\n"
           "output modelOutput [batch, 1] (sigmoid score), dynamic batch, with deterministic\n"
           "random weights drawn from the seed (default %u) with PyTorch's default\n"
           "initialisation bounds. Image models (simplenet, vit) take modelInput [batch, C, H, W];\n"
           "graph models (pnet: ParticleNet-Lite, dgcnn, part: a small particle transformer,\n"
           "pnet_full: ParticleNet at full size, written only when asked for) take points\n"
           "[batch, 2, P], features [batch, C, P], mask [batch, 1, P] and (dgcnn) seed [batch, 3].\n"
           "Architectures and weight names: models/README.md.\n\n"
           "  --out DIR            folder to write to (created if missing)\n"
           "  --seed S             weight seed (unsigned 64-bit)\n"
           "  --only TAGGER_ARCH   one model, e.g. qg_vit or top_pnet_full (may be repeated)\n"
           "  --arch ARCH          this architecture for every tagger, e.g. pnet_full (may be\n"
           "                       repeated; replaces the default set)\n"
           "  --missing            skip files that already exist\n"
           "  --input CxHxW        the image models (simplenet, vit) at another input size,\n"
           "                       e.g. 3x125x125 (the public E2E jet datasets), written as\n"
           "                       DIR/<tagger>_<arch>_CxHxW.onnx; ViT's patch is the common\n"
           "                       divisor of H and W nearest the default one (16, or 4 up\n"
           "                       to 32 pixels)\n\n"
           "taggers: eg 1x32x32 / 64 points, qg 5x128x128 / 128, top and tau 8x128x128 / 128\n",
           E2E_MODELS_DEFAULT_SEED);
}

/* ViT's patch at another size: the common divisor of h and w nearest (by ratio) the
   default patch; 0 when every one leaves more than 1024 patches. */
static int vit_patch(int h, int w, int def)
{
    int best = 0;
    double best_d = 0;
    for (int p = 1; p <= h && p <= w; p++) {
        if (h % p || w % p || (int64_t)(h / p) * (w / p) > 1024)
            continue;
        double d = fabs(log((double)p / def));
        if (!best || d < best_d) {
            best = p;
            best_d = d;
        }
    }
    return best;
}

/* An image model of tagger t at input C x H x W: DIR/<tagger>_<arch>_CxHxW.onnx. */
static int write_resized(const char *dir, const e2e_tagger_spec *t, e2e_arch arch, uint64_t seed,
                         const int64_t *chw, int missing, int *written, int *skipped)
{
    char name[96], path[4096], tmp[4096 + 8];
    snprintf(name, sizeof name, "%s_%s_%lldx%lldx%lld", t->name, e2e_arch_name(arch),
             (long long)chw[0], (long long)chw[1], (long long)chw[2]);
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    struct stat st;
    if (missing && !stat(path, &st)) {
        (*skipped)++;
        return 0;
    }
    e2e_model_config c = e2e_model_config_for(t, arch);
    c.name = name;
    c.channels = (int)chw[0];
    c.height = (int)chw[1];
    c.width = (int)chw[2];
    if (arch == E2E_ARCH_VIT && !(c.patch = vit_patch(c.height, c.width, c.patch))) {
        fprintf(stderr, "e2e models: %s: no patch size divides %dx%d into at most 1024 patches "
                "(pick another size)\n", name, c.height, c.width);
        return -1;
    }
    double t1 = e2e_cli_now_ms();
    e2e_error err;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (e2e_model_config_check(&c, &err) || e2e_model_build_file(&c, seed, tmp, &err)) {
        fprintf(stderr, "e2e models: %s: %s\n", name, err.message);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path)) {
        fprintf(stderr, "e2e models: %s: cannot rename: %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    if (e2e_cli_verbose >= 0) {
        long long size = stat(path, &st) ? -1 : (long long)st.st_size;
        printf("%-32s %6.1f MB  %9lld parameters  input %dx%dx%d", path, size / 1e6,
               (long long)e2e_model_config_params(&c), c.channels, c.height, c.width);
        if (arch == E2E_ARCH_VIT)
            printf(", patch %d", c.patch);
        printf("  (%.0f ms)\n", e2e_cli_now_ms() - t1);
    }
    (*written)++;
    return 0;
}

static int parse_only(const char *s, const e2e_tagger_spec **t, e2e_arch *a)
{
    const char *us = strchr(s, '_');
    if (!us || us - s >= 16)
        return -1;
    char tag[16];
    memcpy(tag, s, (size_t)(us - s));
    tag[us - s] = 0;
    *t = e2e_tagger_find(tag);
    if (!*t)
        return -1;
    int arch = e2e_arch_find(us + 1);
    if (arch < 0)
        return -1;
    *a = (e2e_arch)arch;
    return 0;
}

typedef struct models_sel {
    int want[4][E2E_ARCH_COUNT];
    int n_only;
} models_sel;

static int only_arg(const char *cmd, const char *opt, const char *v, void *dst)
{
    models_sel *m = dst;
    const e2e_tagger_spec *t;
    e2e_arch arch;
    if (parse_only(v, &t, &arch)) {
        fprintf(stderr, "e2e %s: %s wants TAGGER_ARCH with TAGGER in eg, qg, top, tau and ARCH"
                " in simplenet, vit, pnet, dgcnn, part, pnet_full (e.g. qg_vit), got '%s'\n",
                cmd, opt, v);
        return -1;
    }
    m->want[t - e2e_tagger_specs][arch] = 1;
    m->n_only++;
    return 0;
}

static int arch_arg(const char *cmd, const char *opt, const char *v, void *dst)
{
    models_sel *m = dst;
    int arch = e2e_arch_find(v);
    if (arch < 0) {
        fprintf(stderr, "e2e %s: %s wants simplenet, vit, pnet, dgcnn, part or pnet_full, got"
                " '%s'\n", cmd, opt, v);
        return -1;
    }
    for (int t = 0; t < 4; t++)
        m->want[t][arch] = 1;
    m->n_only++;
    return 0;
}

static int input_arg(const char *cmd, const char *opt, const char *v, void *dst)
{
    int64_t *chw = dst;
    if (e2e_cli_parse_dims(v, chw, 3) != 3 || chw[0] < 1 || chw[1] < 1 || chw[2] < 1 ||
        chw[0] > 64 || chw[1] > 4096 || chw[2] > 4096) {
        fprintf(stderr, "e2e %s: %s wants CxHxW (C 1..64, H and W 1..4096), e.g. 3x125x125, got"
                " '%s'\n", cmd, opt, v);
        return -1;
    }
    return 0;
}

int e2e_cmd_models(int argc, char **argv)
{
    const char *out = NULL;
    uint64_t seed = E2E_MODELS_DEFAULT_SEED;
    int missing = 0, n_only = 0;
    int64_t chw[3] = {0, 0, 0}; /* --input: C, H, W (0: the taggers' sizes) */
    models_sel sel;
    memset(&sel, 0, sizeof sel);
    const e2e_opt opts[] = {
        E2E_OPT_S("out", 0, &out, "DIR", "the folder to write (required)"),
        E2E_OPT_U("seed", &seed, 0, "S", "the weights' seed"),
        E2E_OPT_C("only", only_arg, &sel, "TAGGER_ARCH", "only this model (repeatable)"),
        E2E_OPT_C("arch", arch_arg, &sel, "ARCH", "only this architecture (repeatable)"),
        E2E_OPT_C("input", input_arg, chw, "CxHxW", "the image models' input size"),
        E2E_OPT_F("missing", 0, &missing, "write only the models not there yet"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"models", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos) {
        fprintf(stderr, "e2e models: unexpected argument '%s' (e2e models --help)\n", argv[1]);
        return E2E_EXIT_USAGE;
    }
    n_only = sel.n_only;
    int (*want)[E2E_ARCH_COUNT] = sel.want;
    if (out && !strcmp(out, "-")) {
        fprintf(stderr, "e2e models: --out names a folder of .onnx models; '-' (stdout) cannot"
                " hold them\n");
        return E2E_EXIT_USAGE;
    }
    if (!out) {
        fprintf(stderr, "e2e models: --out DIR is required (e2e models --help)\n");
        return E2E_EXIT_USAGE;
    }
    if (mkdir(out, 0777) && errno != EEXIST) {
        fprintf(stderr, "e2e models: %s: cannot create: %s\n", out, strerror(errno));
        return E2E_EXIT_FAIL;
    }
    double t0 = e2e_cli_now_ms();
    int written = 0, skipped = 0;
    for (int t = 0; t < 4; t++)
        for (int a = 0; a < E2E_ARCH_COUNT; a++) {
            if (n_only ? !want[t][a] : a >= E2E_ARCH_DEFAULT_COUNT)
                continue;
            const e2e_tagger_spec *spec = &e2e_tagger_specs[t];
            if (chw[0]) { /* --input: the image models only */
                if (e2e_arch_is_graph((e2e_arch)a)) {
                    if (!n_only)
                        continue;
                    fprintf(stderr, "e2e models: --input sets an image size; %s_%s is a graph "
                            "model\n", spec->name, e2e_arch_name((e2e_arch)a));
                    return E2E_EXIT_USAGE;
                }
                if (write_resized(out, spec, (e2e_arch)a, seed, chw, missing, &written, &skipped))
                    return E2E_EXIT_FAIL;
                continue;
            }
            char path[4096];
            snprintf(path, sizeof path, "%s/%s_%s.onnx", out, spec->name, e2e_arch_name((e2e_arch)a));
            struct stat st;
            if (missing && !stat(path, &st)) {
                skipped++;
                continue;
            }
            double t1 = e2e_cli_now_ms();
            e2e_error err;
            if (e2e_model_write(out, spec->name, (e2e_arch)a, seed, &err)) {
                fprintf(stderr, "e2e models: %s\n", err.message);
                return E2E_EXIT_FAIL;
            }
            e2e_model_config c = e2e_model_config_for(spec, (e2e_arch)a);
            long long size = stat(path, &st) ? -1 : (long long)st.st_size;
            if (e2e_cli_verbose >= 0 && e2e_arch_is_graph((e2e_arch)a))
                printf("%-32s %6.1f MB  %9lld parameters  input %d x %d points  (%.0f ms)\n",
                       path, size / 1e6, (long long)e2e_model_config_params(&c), spec->channels,
                       c.points, e2e_cli_now_ms() - t1);
            else if (e2e_cli_verbose >= 0)
                printf("%-32s %6.1f MB  %9lld parameters  input %dx%dx%d  (%.0f ms)\n", path,
                       size / 1e6, (long long)e2e_model_config_params(&c), spec->channels,
                       spec->height, spec->width, e2e_cli_now_ms() - t1);
            written++;
        }
    if (e2e_cli_verbose >= 0)
        printf("%d model%s written%s, seed %llu, %.1f s\n", written, written == 1 ? "" : "s",
               skipped ? " (existing ones kept)" : "", (unsigned long long)seed,
               (e2e_cli_now_ms() - t0) / 1e3);
    return E2E_EXIT_OK;
}
