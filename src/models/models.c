/* The benchmark models: the tagger table, seeded weights, and writing the eight files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "models/model_graph.h"
#include "core/ir.h"

const e2e_tagger_spec e2e_tagger_specs[4] = {
    {"eg", 1, 32, 32},
    {"qg", 5, 128, 128},
    {"top", 8, 128, 128},
    {"tau", 8, 128, 128},
};

const e2e_tagger_spec *e2e_tagger_find(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(e2e_tagger_specs[i].name, name))
            return &e2e_tagger_specs[i];
    return NULL;
}

static const char *const arch_names[E2E_ARCH_COUNT] = {"simplenet", "vit", "pnet",
                                                        "dgcnn", "part", "pnet_full"};

const char *e2e_arch_name(e2e_arch a)
{
    return (unsigned)a < E2E_ARCH_COUNT ? arch_names[a] : "unknown";
}

int e2e_arch_find(const char *name)
{
    for (int i = 0; i < E2E_ARCH_COUNT; i++)
        if (!strcmp(arch_names[i], name))
            return i;
    return -1;
}

int e2e_tagger_graph_points(const e2e_tagger_spec *t) { return t->height <= 32 ? 64 : 128; }

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
    return h;
}

mg_rng mg_rng_for(uint64_t seed, const char *model, const char *tensor)
{
    uint64_t h = fnv1a(0xCBF29CE484222325ull, model ? model : "");
    h = fnv1a(h ^ '/', tensor);
    mg_rng r = {seed ^ h};
    splitmix64(&r.s);
    return r;
}

uint64_t mg_rng_next(mg_rng *r) { return splitmix64(&r->s); }

double mg_rng_uniform(mg_rng *r) { return (double)(mg_rng_next(r) >> 11) * 0x1.0p-53; }

double mg_rng_normal(mg_rng *r)
{
    double u1 = 1.0 - mg_rng_uniform(r); /* (0, 1] */
    double u2 = mg_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

/* ---- graph helpers ---- */

const char *mg_op(mg *g, const char *op, const char *scope, int n_in, const char *const *in)
{
    char out[160];
    snprintf(out, sizeof out, "%s%s%s_%d", scope ? scope : "", scope ? "/" : "", op, g->counter++);
    const char *outs[1] = {out};
    g->last = e2e_ob_node(g->b, op, out, n_in, in, 1, outs);
    return g->last ? g->last->output[0] : "";
}

const char *mg_const_f32(mg *g, float v)
{
    Onnx__TensorProto *t = e2e_ob_tensor(g->b, NULL, E2E_FLOAT, 0, NULL, &v, sizeof v);
    const char *o = mg_op(g, "Constant", NULL, 0, NULL);
    e2e_ob_attr_tensor(g->b, g->last, "value", t);
    return o;
}

const char *mg_const_i64(mg *g, int n, const int64_t *v, int scalar)
{
    int64_t dims[1] = {n};
    Onnx__TensorProto *t = e2e_ob_tensor(g->b, NULL, E2E_INT64, scalar ? 0 : 1, dims, v,
                                         sizeof(int64_t) * (size_t)n);
    const char *o = mg_op(g, "Constant", NULL, 0, NULL);
    e2e_ob_attr_tensor(g->b, g->last, "value", t);
    return o;
}

static float *param(mg *g, const char *name, int rank, const int64_t *dims, size_t *n)
{
    Onnx__TensorProto *t = e2e_ob_init_f32(g->b, name, rank, dims, NULL);
    *n = 0;
    if (!t)
        return NULL;
    *n = t->raw_data.len / sizeof(float);
    return (float *)t->raw_data.data;
}

const char *mg_param_uniform(mg *g, const char *name, int rank, const int64_t *dims, double bound)
{
    size_t n;
    float *w = param(g, name, rank, dims, &n);
    mg_rng r = mg_rng_for(g->seed, g->model, name);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2.0 * mg_rng_uniform(&r) - 1.0) * bound);
    return name;
}

const char *mg_param_trunc_normal(mg *g, const char *name, int rank, const int64_t *dims,
                                  double std)
{
    size_t n;
    float *w = param(g, name, rank, dims, &n);
    mg_rng r = mg_rng_for(g->seed, g->model, name);
    for (size_t i = 0; i < n; i++) {
        double z;
        do
            z = mg_rng_normal(&r);
        while (z < -2.0 || z > 2.0);
        w[i] = (float)(z * std);
    }
    return name;
}

const char *mg_param_fill(mg *g, const char *name, int rank, const int64_t *dims, float v)
{
    size_t n;
    float *w = param(g, name, rank, dims, &n);
    for (size_t i = 0; i < n; i++)
        w[i] = v;
    return name;
}

/* ---- configurations ---- */

e2e_model_config e2e_model_config_for(const e2e_tagger_spec *t, e2e_arch arch)
{
    e2e_model_config c = {0};
    c.arch = arch;
    c.channels = t->channels;
    c.height = t->height;
    c.width = t->width;
    if (arch == E2E_ARCH_VIT) {
        c.patch = t->height <= 32 ? 4 : 16;
        c.embed = 192;
        c.depth = 12;
        c.heads = 3;
        c.mlp = 768;
    }
    if (e2e_arch_is_graph(arch)) {
        c.height = c.width = 0;
        c.points = e2e_tagger_graph_points(t);
    }
    static const int lite[2][3] = {{32, 32, 32}, {64, 64, 64}};
    static const int full[3][3] = {{64, 64, 64}, {128, 128, 128}, {256, 256, 256}};
    switch (arch) {
    case E2E_ARCH_PNET:
        c.k = 7;
        for (int b = 0; b < 2; b++)
            for (int l = 0; l < 3; l++)
                c.edge[b][l] = lite[b][l];
        c.fc = 128;
        break;
    case E2E_ARCH_PNET_FULL:
        c.k = 16;
        for (int b = 0; b < 3; b++)
            for (int l = 0; l < 3; l++)
                c.edge[b][l] = full[b][l];
        c.fc = 256;
        break;
    case E2E_ARCH_DGCNN:
        c.k = 7;
        c.edge[0][0] = c.edge[0][1] = 64;
        c.edge[1][0] = 128;
        c.fc = 128;
        break;
    case E2E_ARCH_PART:
        c.embed = 64;
        c.depth = 3;
        c.heads = 4;
        c.mlp = 256;
        c.pair = 16;
        break;
    default:
        break;
    }
    return c;
}

static int edge_blocks(const e2e_model_config *c)
{
    int n = 0;
    while (n < 4 && c->edge[n][0] > 0)
        n++;
    return n;
}

static int edge_layers(const e2e_model_config *c, int b)
{
    int n = 0;
    while (n < 4 && c->edge[b][n] > 0)
        n++;
    return n;
}

static e2e_status graph_check(const e2e_model_config *c, e2e_error *err)
{
    const char *an = e2e_arch_name(c->arch);
    if (c->channels < 1 || c->channels > 4096 || c->points < 1 || c->points > 8192)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: %d channels x %d points: out of range", an,
                        c->channels, c->points);
    if (c->arch == E2E_ARCH_PART) {
        if (c->embed < 1 || c->heads < 1 || c->embed % c->heads)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "ParT: %d heads do not divide embedding %d",
                            c->heads, c->embed);
        if (c->depth < 0 || c->depth > 256 || c->mlp < 1 || c->pair < 1)
            return e2e_fail(err, E2E_ERR_ARGUMENT, "ParT: depth %d / MLP %d / pair %d out of range",
                            c->depth, c->mlp, c->pair);
        return E2E_OK;
    }
    int skip = c->arch != E2E_ARCH_DGCNN; /* ParticleNet drops the node itself */
    if (c->k < 1 || c->k + skip > c->points)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: k = %d neighbours%s need more than %d points",
                        an, c->k, skip ? " besides the node" : "", c->points);
    int nb = edge_blocks(c);
    if (c->arch == E2E_ARCH_DGCNN ? nb != 2 : nb < 1)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: %d EdgeConv blocks (%s)", an, nb,
                        c->arch == E2E_ARCH_DGCNN ? "2 wanted" : "1 to 4");
    for (int b = 0; b < nb; b++)
        for (int l = 0; l < 4 && c->edge[b][l]; l++)
            if (c->edge[b][l] < 0 || c->edge[b][l] > 4096)
                return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: EdgeConv width %d out of range", an,
                                c->edge[b][l]);
    if (c->fc < 1 || c->fc > 65536)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: FC width %d out of range", an, c->fc);
    return E2E_OK;
}

e2e_status e2e_model_config_check(const e2e_model_config *c, e2e_error *err)
{
    if ((unsigned)c->arch >= E2E_ARCH_COUNT)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "unknown architecture %d", (int)c->arch);
    if (e2e_arch_is_graph(c->arch))
        return graph_check(c, err);
    if (c->channels < 1 || c->height < 1 || c->width < 1 || c->channels > 4096 ||
        c->height > 8192 || c->width > 8192)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "model input %dx%dx%d: out of range", c->channels,
                        c->height, c->width);
    if (c->arch == E2E_ARCH_SIMPLENET) {
        if (c->height < 4 || c->width < 4)
            return e2e_fail(err, E2E_ERR_ARGUMENT,
                            "SimpleNet needs an input of at least 4x4 (two 2x2 poolings), got %dx%d",
                            c->height, c->width);
        return E2E_OK;
    }
    if (c->arch != E2E_ARCH_VIT)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "unknown architecture %d", (int)c->arch);
    if (c->patch < 1 || c->height % c->patch || c->width % c->patch)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "ViT patch %d does not divide the image %dx%d",
                        c->patch, c->height, c->width);
    if (c->embed < 1 || c->heads < 1 || c->embed % c->heads)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "ViT: %d heads do not divide embedding %d",
                        c->heads, c->embed);
    if (c->depth < 0 || c->depth > 256 || c->mlp < 1)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "ViT: depth %d / MLP %d out of range", c->depth,
                        c->mlp);
    return E2E_OK;
}

static int64_t graph_params(const e2e_model_config *c)
{
    int64_t C = c->channels;
    if (c->arch == E2E_ARCH_PART) {
        int64_t E = c->embed, M = c->mlp, Q = c->pair, H = c->heads;
        int64_t embed = ((2 + C) * E + E) + (E * E + E), pair = (2 * Q + Q) + (Q * H + H);
        int64_t block = 2 * E + (E * 3 * E + 3 * E) + (E * E + E) + 2 * E + (E * M + M) + (M * E + E);
        return embed + pair + c->depth * block + 2 * E + (E + 1);
    }
    /* BatchNorm: weight, bias, running mean and variance */
    int64_t n = 0, in = c->arch == E2E_ARCH_DGCNN ? 2 + C : C, cat = 0;
    if (c->arch != E2E_ARCH_DGCNN)
        n += 4 * C; /* bn_fts */
    for (int b = 0; b < edge_blocks(c); b++) {
        int64_t w = 2 * in;
        for (int l = 0; l < edge_layers(c, b); l++) {
            n += w * c->edge[b][l] + 4 * c->edge[b][l];
            w = c->edge[b][l];
        }
        if (c->arch != E2E_ARCH_DGCNN && w != in)
            n += in * w + 4 * w; /* shortcut */
        in = w;
        cat += w;
    }
    int64_t head_in = 2 * cat + 3;
    if (c->arch != E2E_ARCH_DGCNN) {
        head_in = e2e_pnet_fusion_width(c);
        n += cat * head_in + 4 * head_in;
    }
    return n + (head_in * c->fc + c->fc) + (c->fc + 1);
}

int64_t e2e_model_config_params(const e2e_model_config *c)
{
    if (e2e_arch_is_graph(c->arch))
        return graph_params(c);
    int64_t C = c->channels, H = c->height, W = c->width;
    if (c->arch == E2E_ARCH_SIMPLENET) {
        int64_t flat = 32 * (H / 2 / 2) * (W / 2 / 2);
        return (16 * C * 9 + 16) + (32 * 16 * 9 + 32) + (flat * 128 + 128) + (128 * 64 + 64) +
               (64 + 1);
    }
    int64_t E = c->embed, P = c->patch, M = c->mlp;
    int64_t tokens = (H / P) * (W / P) + 1;
    int64_t block = 2 * E + (E * 3 * E + 3 * E) + (E * E + E) + 2 * E + (E * M + M) + (M * E + E);
    return (E * C * P * P + E) + E + tokens * E + c->depth * block + 2 * E + (E + 1);
}

static e2e_ob *build(const e2e_model_config *c, uint64_t seed, e2e_error *err)
{
    if (e2e_model_config_check(c, err))
        return NULL;
    char gname[64];
    snprintf(gname, sizeof gname, "%s", c->name ? c->name : e2e_arch_name(c->arch));
    e2e_ob *b = e2e_ob_new(17, gname);
    if (!b) {
        e2e_fail(err, E2E_ERR_NOMEM, "model builder: out of memory");
        return NULL;
    }
    mg g = {b, gname, seed, 0, NULL};
    int64_t in_dims[4] = {-1, c->channels, c->height, c->width}, out_dims[2] = {-1, 1};
    if (e2e_arch_is_graph(c->arch)) {
        int64_t P = c->points;
        e2e_ob_input(b, "points", E2E_FLOAT, 3, (int64_t[]){-1, 2, P});
        e2e_ob_input(b, "features", E2E_FLOAT, 3, (int64_t[]){-1, c->channels, P});
        e2e_ob_input(b, "mask", E2E_FLOAT, 3, (int64_t[]){-1, 1, P});
        if (c->arch == E2E_ARCH_DGCNN)
            e2e_ob_input(b, "seed", E2E_FLOAT, 2, (int64_t[]){-1, 3});
    } else {
        e2e_ob_input(b, "modelInput", E2E_FLOAT, 4, in_dims);
    }
    switch (c->arch) {
    case E2E_ARCH_VIT:
        e2e_vit_graph(&g, c, "modelInput", "modelOutput");
        break;
    case E2E_ARCH_PNET:
    case E2E_ARCH_PNET_FULL:
        e2e_pnet_graph(&g, c, "modelOutput");
        break;
    case E2E_ARCH_DGCNN:
        e2e_dgcnn_graph(&g, c, "modelOutput");
        break;
    case E2E_ARCH_PART:
        e2e_part_graph(&g, c, "modelOutput");
        break;
    default:
        e2e_simplenet_graph(&g, c, "modelInput", "modelOutput");
        break;
    }
    e2e_ob_output(b, "modelOutput", E2E_FLOAT, 2, out_dims);
    return b;
}

e2e_status e2e_model_build_file(const e2e_model_config *c, uint64_t seed, const char *path,
                                e2e_error *err)
{
    e2e_ob *b = build(c, seed, err);
    if (!b)
        return err ? err->status : E2E_ERR_ARGUMENT;
    e2e_status st = e2e_ob_write_file(b, path, err);
    e2e_ob_free(b);
    return st;
}

e2e_status e2e_model_build_buffer(const e2e_model_config *c, uint64_t seed, uint8_t **buf,
                                  size_t *size, e2e_error *err)
{
    *buf = NULL;
    *size = 0;
    e2e_ob *b = build(c, seed, err);
    if (!b)
        return err ? err->status : E2E_ERR_ARGUMENT;
    e2e_status st = e2e_ob_pack(b, buf, size, err);
    e2e_ob_free(b);
    return st;
}

/* ---- the benchmark files ---- */

e2e_status e2e_model_write(const char *dir, const char *tagger, e2e_arch arch, uint64_t seed,
                           e2e_error *err)
{
    const e2e_tagger_spec *t = e2e_tagger_find(tagger);
    if (!t)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "unknown tagger '%s' (eg, qg, top, tau)", tagger);
    char name[32], path[4096];
    snprintf(name, sizeof name, "%s_%s", t->name, e2e_arch_name(arch));
    if ((size_t)snprintf(path, sizeof path, "%s/%s.onnx", dir, name) >= sizeof path)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: path too long", dir);
    e2e_model_config c = e2e_model_config_for(t, arch);
    c.name = name;
    /* write to a temporary name and rename, so that a half-written file never looks done;
       the name is per process and per call (pid, clock, counter), so that many processes
       starting at once in an empty folder (array jobs) never share one */
    static _Atomic unsigned calls;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char tmp[4096 + 64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lx.%u", path, (long)getpid(),
             (unsigned long)ts.tv_nsec ^ (unsigned long)ts.tv_sec, calls++);
    e2e_status st = e2e_model_build_file(&c, seed, tmp, err);
    if (st) {
        remove(tmp);
        return st;
    }
    /* rename replaces atomically: a concurrent writer's file (same seed, same bytes) is
       complete whenever it exists, so either rename wins */
    if (rename(tmp, path)) {
        int e = errno;
        remove(tmp);
        struct stat sb;
        if (!stat(path, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0)
            return E2E_OK; /* another process finished it */
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot rename: %s", path, strerror(e));
    }
    return E2E_OK;
}

e2e_status e2e_models_write_all(const char *dir, uint64_t seed, int only_missing, e2e_error *err)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    for (int i = 0; i < 4; i++)
        for (int a = 0; a < E2E_ARCH_DEFAULT_COUNT; a++) {
            if (only_missing) {
                char path[4096];
                struct stat st;
                snprintf(path, sizeof path, "%s/%s_%s.onnx", dir, e2e_tagger_specs[i].name,
                         e2e_arch_name((e2e_arch)a));
                if (!stat(path, &st))
                    continue;
            }
            e2e_status s = e2e_model_write(dir, e2e_tagger_specs[i].name, (e2e_arch)a, seed, err);
            if (s)
                return s;
        }
    return E2E_OK;
}
