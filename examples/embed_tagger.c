/*
 * embed_tagger.c — embed the E/Gamma tagger the way a trigger path would.
 *
 * The pattern:
 *   start-up (once):  read the model file into memory, load it, create a session bound to
 *                     a fixed batch size, allocate the input frames.
 *   per event:        fill the caller-owned input buffer, run, read the scores.
 *                     No file access, no allocation, no shape work happens here.
 *   shut-down:        free the session, then the model.
 *
 * Usage: embed_tagger [model.onnx]
 * Default model: $SHARED/models/eg_simplenet_trained/model.onnx (SHARED defaults to
 * ../shared). If the file is missing the example prints "skipped: ..." and exits 0.
 *
 * Build:  cc embed_tagger.c $(pkg-config --cflags --libs e2e) -lm -o embed_tagger
 */
#include <e2e.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 4, H = 32, W = 32, EVENTS = 3 };

/* Read a whole file into a malloc'ed buffer. Only used at start-up. */
static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = buf ? (size_t)n : 0;
    return buf;
}

/* A tiny deterministic random generator, so every run prints the same numbers. */
static float uniform(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 16777216.0f;
}

/* A synthetic electromagnetic shower: `energy` GeV spread over the crystals around
   (row, col) with a Gaussian lateral profile (~0.9 crystal wide), plus a little noise.
   Writes one 1x32x32 frame in place. */
static void fill_shower(float *frame, float energy, int row, int col, unsigned *rng)
{
    float sum = 0.0f;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            float d2 = (float)((r - row) * (r - row) + (c - col) * (c - col));
            frame[r * W + c] = expf(-d2 / (2.0f * 0.9f * 0.9f));
            sum += frame[r * W + c];
        }
    for (int i = 0; i < H * W; i++) {
        frame[i] *= energy / sum;
        if (frame[i] < 0.01f) /* zero-suppression, as in the detector readout */
            frame[i] = 0.0f;
        frame[i] += frame[i] > 0.0f ? 0.02f * uniform(rng) : 0.0f;
    }
}

int main(int argc, char **argv)
{
    /* ---------------- start-up: the only place that touches files ---------------- */
    char path[4096];
    if (argc > 1)
        snprintf(path, sizeof path, "%s", argv[1]);
    else
        snprintf(path, sizeof path, "%s/models/eg_simplenet_trained/model.onnx",
                 getenv("SHARED") ? getenv("SHARED") : "../shared");

    size_t size;
    void *bytes = read_file(path, &size);
    if (!bytes) {
        if (errno == ENOENT) {
            printf("skipped: %s not found\n", path);
            return 0;
        }
        fprintf(stderr, "embed_tagger: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }

    /* Load from memory. The bytes stay ours: the model copies what it needs, so the
       buffer can be freed right away. `path` only names the model in error messages. */
    e2e_error err;
    e2e_model *model = NULL;
    if (e2e_model_load_buffer(bytes, size, path, &model, &err) != E2E_OK) {
        fprintf(stderr, "embed_tagger: %s\n", err.message);
        free(bytes);
        return 1;
    }
    free(bytes);

    /* The input's name comes from the model ("modelInput" for this one). */
    e2e_tensor_view decl;
    e2e_model_input(model, 0, &decl);
    printf("model %s: input \"%s\", %lld parameters, opset %d\n", path, decl.name,
           (long long)e2e_model_parameter_count(model), e2e_model_opset(model));

    /* One session per thread, bound to the batch size it will always run with.
       Shape inference, constant folding and the memory plan happen here, once. */
    int64_t dims[4] = {BATCH, 1, H, W};
    e2e_shape_binding bind = {decl.name, 4, dims};
    e2e_session_options opt = e2e_session_options_default();
    opt.shapes = &bind;
    opt.n_shapes = 1;
    opt.threads = 1;
    e2e_session *session = NULL;
    if (e2e_session_create(model, &opt, &session, &err) != E2E_OK) {
        fprintf(stderr, "embed_tagger: %s\n", err.message);
        e2e_model_free(model);
        return 1;
    }
    printf("session: batch %d, arena %zu bytes, %d nodes to run\n", BATCH,
           e2e_session_arena_bytes(session), e2e_session_node_count(session));

    /* The input buffer belongs to us and is reused for every event. */
    static float frames[BATCH * 1 * H * W];
    e2e_tensor_view input = e2e_tensor_view_f32(decl.name, frames, 4, dims);
    unsigned rng = 12345u;
    int status = 0;

    /* ---------------- per event: fill, run, read ---------------- */
    for (int ev = 0; ev < EVENTS; ev++) {
        /* A real path would crop frames around its photon seeds; we make 1..BATCH showers.
           Unused slots of the fixed-size batch are zeroed and their scores ignored. */
        static const int seeds_per_event[EVENTS] = {1, 3, BATCH};
        int n_seeds = seeds_per_event[ev];
        float energy[BATCH];
        memset(frames, 0, sizeof frames);
        for (int k = 0; k < n_seeds; k++) {
            energy[k] = 10.0f + 70.0f * uniform(&rng); /* 10..80 GeV */
            fill_shower(frames + k * H * W, energy[k], 15 + k % 2, 16 - k % 2, &rng);
        }

        if (e2e_session_run(session, &input, 1, &err) != E2E_OK) {
            fprintf(stderr, "embed_tagger: event %d: %s\n", ev, err.message);
            status = 1;
            break;
        }

        /* The output view points into the session: read it before the next run. */
        e2e_tensor_view out;
        e2e_session_output(session, 0, &out);
        /* [BATCH, 1] sigmoid scores. This public model scores compact showers in GeV near 0
           (ONNX Runtime agrees: test_data_set_0 in ../shared/models), hence %g. */
        const float *score = out.data;
        for (int k = 0; k < n_seeds; k++)
            printf("event %d seed %d: E = %5.1f GeV  score = %.4g\n", ev, k, energy[k],
                   score[k]);
    }

    /* ---------------- shut-down: sessions first, then the model ---------------- */
    e2e_session_free(session);
    e2e_model_free(model);
    return status;
}
