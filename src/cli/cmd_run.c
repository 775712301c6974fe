/* e2e run: the main job. events -> DetFrames -> seeds/frames -> taggers -> predictions CSV,
   with a per-stage timing table (ms per event: mean, p50, p99) like the reference study's
   module breakdown (event read, DetFrames, EGFrames/JetFrames, tagger, output).

   Memory does not grow with the number of events: events are streamed, images and batches
   are reused, the timing keeps fixed-size log histograms instead of per-event samples. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/out_file.h"
#include "util/roc.h"
#include "cli/run_shard.h"
#include "cli/run_stats.h"
#include "e2e_frames.h"
#include "frames/dataset.h"
#include "util/fmt.h"
#include "util/roc.h"

/* Provided by src/models when it is linked (e2e models); weak so that the run command
   builds without it and asks for --model instead. */
extern e2e_status e2e_models_write_all(const char *dir, uint64_t seed, int only_missing,
                                       e2e_error *err) __attribute__((weak));

#define MAX_TAGGERS 4
#define SAMPLE_EVENTS 200
#define MODEL_SEED 2024 /* = e2e models' default (E2E_MODELS_DEFAULT_SEED): one seed everywhere */

/* --arch: the default model of a tagger is DIR/<tagger>_<file>.onnx. The image models
   (simplenet, vit) and the graph models (ParticleNet-Lite "pnet", DGCNN "dgcnn", Particle
   Transformer "part": src/models E2E_ARCH_PNET/DGCNN/PART) are written, when missing, by
   e2e_models_write_all below; this table is the one place that maps the names. Whether a
   model takes image or graph frames is read from its inputs (e2e_tagger_create). */
static const struct run_arch {
    const char *name, *file;
} run_archs[] = {
    {"trained", ""}, /* the shipped trained taggers: DIR/<tagger>.onnx */
    {"simplenet", "simplenet"}, {"vit", "vit"},
    {"gnn", "pnet"}, {"pnet", "pnet"},
    {"dgcnn", "dgcnn"},
    {"transformer", "part"}, {"part", "part"},
};

static const char *arch_file(const char *name)
{
    for (size_t i = 0; i < sizeof run_archs / sizeof run_archs[0]; i++)
        if (!strcmp(run_archs[i].name, name))
            return run_archs[i].file;
    return NULL;
}

/* ---- per-tagger state ---- */

#define BY_SLOTS 17
#define RUN_BATCH_EVENTS_MAX 1024

/* An event of the batch being gathered (--batch-events): what its rows need once the
   batch is scored. */
typedef struct run_pending {
    uint32_t run, lumi;
    uint64_t event;
    double own_ms;                  /* its read, DetFrames and frames */
    size_t first[MAX_TAGGERS], count[MAX_TAGGERS]; /* its slots in the tagger's batch */
} run_pending;

typedef struct tagger_job {
    char name[16];
    char model_path[4096];
    const char *channels;   /* --channels override or NULL */
    e2e_model *model;
    e2e_tagger *t;
    stage frames, graph, infer;
    stage by_slots[BY_SLOTS]; /* infer by the event's slot count (the last: that many or more) */
    int is_graph;           /* the model takes graph frames */
    int like;               /* the earlier tagger whose slots and frames it reads
                               (e2e_tagger_prepare_like), -1: its own */
    uint64_t slots, ok;
    uint64_t clouds, truncated, empty; /* graph frames: seeded slots, clouds cut at P,
                                          clouds without nodes */
    double score_sum[8];
    uint64_t score_n[8];
    int preview;            /* rows shown so far */
    e2e_roc roc;            /* scores by truth class, for the AUC (util/roc.h) */
    e2e_tagger_slot *held;  /* a graph tagger's slots of the batch's events (scored per
                               event); image taggers append to the tagger's own batch */
    size_t n_held, cap_held;
    double ready_ms;        /* an image tagger's runs of the batch scored while gathering it
                               (e2e_tagger_infer_ready), added to the batch's infer time */
} tagger_job;

#define CSV_FORMAT "%u,%u,%llu,%s,%zu,%.4f,%.4f,%.4f,%d,%d,%.9g,%s,%s\n"

/* One predictions row into o (CSV_ROW_MAX bytes): the characters printf writes for
   CSV_FORMAT (util/fmt.h: the same digits without printf's cost, which was most of the
   output stage); its length, 0 when the names are too long for o (then use printf). */
#define CSV_ROW_MAX 1024
/* The CSV file's rows reach the file a batch of whole events at a time: once this many bytes
   are waiting, and at the last event (a write per event was most of the output stage: ~25
   us of a 35 us p50 on a virtual machine). The stream's buffer holds more, so that stdio
   never writes part of an event on its own (unless one event has more than the rest). */
#define CSV_FLUSH_BYTES ((size_t)64 << 10)
#define CSV_BUF_BYTES ((size_t)256 << 10)
static size_t csv_row(char *o, const run_pending *pe, const char *tagger, size_t slot,
                      const e2e_tagger_slot *s)
{
    const char *status = e2e_seed_status_name(s->seed.status), *truth = e2e_truth_name(s->truth);
    size_t lt = strlen(tagger), ls = strlen(status), lr = strlen(truth);
    if (lt + ls + lr > CSV_ROW_MAX - 9 * E2E_FMT_MAX) /* the numbers take at most 9 of these */
        return 0;
    size_t n = e2e_fmt_u64(o, pe->run);
    o[n++] = ',';
    n += e2e_fmt_u64(o + n, pe->lumi);
    o[n++] = ',';
    n += e2e_fmt_u64(o + n, pe->event);
    o[n++] = ',';
    memcpy(o + n, tagger, lt);
    n += lt;
    o[n++] = ',';
    n += e2e_fmt_u64(o + n, slot);
    o[n++] = ',';
    n += e2e_fmt_fixed(o + n, s->pt, 4);
    o[n++] = ',';
    n += e2e_fmt_fixed(o + n, s->eta, 4);
    o[n++] = ',';
    n += e2e_fmt_fixed(o + n, s->phi, 4);
    o[n++] = ',';
    n += e2e_fmt_i64(o + n, s->seed.row);
    o[n++] = ',';
    n += e2e_fmt_i64(o + n, s->seed.col);
    o[n++] = ',';
    n += e2e_fmt_g9(o + n, s->score);
    o[n++] = ',';
    memcpy(o + n, status, ls);
    n += ls;
    o[n++] = ',';
    memcpy(o + n, truth, lr);
    n += lr;
    o[n++] = '\n';
    return n;
}

/* The slots of a graph tagger's event kept until its batch is written. */
static int hold_slots(tagger_job *j, const e2e_tagger_slot *sl, size_t n)
{
    if (j->n_held + n > j->cap_held) {
        size_t cap = (j->n_held + n) * 2;
        e2e_tagger_slot *h = realloc(j->held, cap * sizeof *h);
        if (!h)
            return -1;
        j->held = h;
        j->cap_held = cap;
    }
    if (n)
        memcpy(j->held + j->n_held, sl, n * sizeof *sl);
    j->n_held += n;
    return 0;
}

static const char *frames_stage_name(const char *t)
{
    return !strcmp(t, "eg") ? "EGFrames" : "JetFrames";
}

static const char *tagger_stage_name(const char *t)
{
    if (!strcmp(t, "eg")) return "EGTagger";
    if (!strcmp(t, "qg")) return "QGTagger";
    if (!strcmp(t, "top")) return "TopTagger";
    if (!strcmp(t, "tau")) return "TauTagger";
    return "Tagger";
}

static void help(void)
{
    printf("usage: e2e run [--events FILE] [--taggers eg,qg,top,tau]\n"
           "               [--arch trained|simplenet|vit|gnn|dgcnn|transformer]\n"
           "               [--model TAGGER=FILE] [--channels TAGGER=a,b,...] [--model-dir DIR]\n"
           "               [--max-events N] [--skip-events N] [--shard I/N] [--threads T]\n"
           "               [--device cpu|cuda|auto] [--warmup N] [--batch-events K]\n"
           "               [-o predictions.csv] [--timing-json FILE] [--roc FILE.png] [--no-progress]\n\n"
           "The main job: reads events, builds DetFrames (only the channels the taggers use),\n"
           "finds the seeds, cuts one NCHW batch of frames per tagger per event and runs each\n"
           "tagger's model once per event. Models are loaded once per job.\n\n"
           "Defaults: e2e writes nothing into the working folder on its own. Its per-user\n"
           "cache CACHE = ${XDG_CACHE_HOME:-$HOME/.cache}/e2e holds what it makes itself:\n"
           "events CACHE/sample/events.e2e (%d toy events generated on first use);\n"
           "models: --arch trained (default) the shipped trained taggers DIR/<tagger>.onnx,\n"
           "DIR = models/trained (docs/trained-models.md; looked up in the working directory,\n"
           "then beside the e2e binary: BIN/../models/trained, BIN/../share/e2e/trained);\n"
           "other --arch values the benchmark models DIR/<tagger>_<arch>.onnx (gnn =\n"
           "ParticleNet-Lite <tagger>_pnet.onnx, dgcnn = <tagger>_dgcnn.onnx, transformer =\n"
           "Particle Transformer <tagger>_part.onnx, seed 2024 as e2e models) with\n"
           "DIR = ${E2E_MODEL_DIR:-CACHE/models}, written there on first use (about 140 MB).\n"
           "--model-dir DIR reads the models from DIR and never creates or writes it: a missing\n"
           "model is an error naming the file (write them with e2e models --out DIR).\n"
           "A model whose inputs are points/features/mask gets graph frames (point clouds of\n"
           "the same crops, docs/graph-frames.md), timed as GraphFrames.\n"
           "Channels eg = ecal (EB view), qg = pt,d0,dz,ecal,hbhe,\n"
           "top/tau = pt,d0,dz,ecal,hbhe,bpix1,bpix2,bpix3; the frame size follows the model.\n\n"
           "Output: CSV, one row per seed slot:\n"
           "  run,lumi,event,tagger,slot,pt,eta,phi,seed_row,seed_col,score,status,truth\n"
           "(score printed with %%.9g, every digit of the float; -1 for a failed seed). Without -o the CSV goes to CACHE/sample/predictions.csv\n"
           "and a preview is printed; -o - writes the CSV to stdout (the summary then goes to\n"
           "stderr). Output files (-o, --timing-json, --roc) are checked before any work (the\n"
           "folder exists and is writable, the name is not a folder), written as NAME.tmp.PID\n"
           "and renamed to NAME when the job succeeds. When it fails or is interrupted (Ctrl-C,\n"
           "SIGTERM) an earlier NAME is left as it was; the rows of the events finished so far,\n"
           "complete (whole events only), are in NAME.partial.csv (p.csv -> p.partial.csv), the\n"
           "timing JSON (status failed or interrupted, recording that CSV) in NAME.partial.json,\n"
           "and the message says after which event it stopped.\n"
           "At the end: per tagger the ROC AUC from the truth (signal vs background:\n"
           "eg photon vs electron, qg quark vs gluon, top top vs QCD, tau tau vs QCD, QCD =\n"
           "quark or gluon jets; other truths not counted; 8 bytes kept per counted object),\n"
           "per-stage ms per event (mean, p50, p99, p99.9, max) and events/s, also as JSON with\n"
           "--timing-json; --roc FILE.png draws the ROC curves. A progress bar is drawn when\n"
           "stderr is a terminal. --warmup N runs each tagger's session N times on zero frames\n"
           "(batches max..1, so N >= 16 touches every batch size) before the first event, not\n"
           "timed (for trigger-like latency; each tagger holds one session created before the\n"
           "first event either way). --batch-events K (1..%d, default 1) gathers the frames\n"
           "of K events into one batch per image tagger (runs of up to 16 slots; graph\n"
           "models still run per event): the same CSV rows in the same order, written when\n"
           "the batch is scored; the tagger rows of the timing table are then a batch's time\n"
           "over its events.\n"
           "A bad event (truncated, corrupted, out-of-range) stops the job with an error naming\n"
           "the event and the section; the events before it are processed and written to the\n"
           "partial CSV (exit 1).\n"
           "--shard I/N processes the I-th of N contiguous event ranges (0 <= I < N); the\n"
           "timing JSON then records the shard, the range, the input's and models' checksums\n"
           "and whether the part finished, for e2e merge (docs/deploy.md).\n\n"
           "Pre-made frames (public E2E datasets, docs/datasets.md):\n"
           "  e2e run --frames FILE --model TAGGER=MODEL [--frames-channels 0,1]\n"
           "          [--layout nchw|nhwc|auto] [--labels LABELS.npy] [--dataset NAME]\n"
           "          [--batch N] [--max-frames N] [--threads T] [--device cpu|cuda|auto]\n"
           "          [-o scores.csv] [--roc FILE.png] [--allow-nonfinite]\n"
           "runs one model on frames read from a .npy array (N,C,H,W), (N,H,W,C) or (N,H,W), or,\n"
           "in a build with HDF5=1, an HDF5 file with /X_jets or /X (electron/photon crops\n"
           "(N,32,32,2), jet images (N,C,125,125) or channels-last; --dataset NAME reads another)\n"
           "and labels /y. auto layout: channels-last when the last dim is <= 16 and the 2nd\n"
           "is not. Frames are read --batch\n"
           "at a time (default 32; memory stays flat), converted to NCHW, channels picked by\n"
           "index (--frames-channels, default the first C the model wants). The frame size must\n"
           "equal the model's input H x W (no resize). CSV rows: index,label,score (label from\n"
           "/y or --labels, else empty; score = the last output column, printed %%.9g). Without\n"
           "-o the CSV goes to stdout and the summary to stderr; -o FILE is written as the CSV\n"
           "above (FILE.tmp.PID renamed on success; on a failure or Ctrl-C the whole batches so\n"
           "far go to NAME.partial.csv and FILE is kept). With labels the summary gives\n"
           "the exact ROC AUC of label != 0 against label 0 (ties count one half; NaN scores\n"
           "rank lowest) and the accuracy at 0.5 (score >= 0.5 says label != 0); --roc writes\n"
           "the ROC curve as a PNG (the labelled frames' scores are kept: 8 bytes each).\n"
           "A frame value that is NaN or +-Inf stops\n"
           "the job before that batch (exit 1; the earlier batches are written) with the counts\n"
           "of NaN, +Inf and -Inf in the frames read and the first one's place;\n"
           "--allow-nonfinite scores them anyway and reports the counts on stderr.\n",
           SAMPLE_EVENTS, RUN_BATCH_EVENTS_MAX);
}

/* ---- e2e run --frames: a tagger on pre-made frames ---- */


/* --layout (dst: e2e_frames_layout *). */
static int layout_arg(const char *cmd, const char *opt, const char *l, void *dst)
{
    e2e_frames_layout *layout = dst;
    if (!strcmp(l, "auto")) *layout = E2E_LAYOUT_AUTO;
    else if (!strcmp(l, "nchw")) *layout = E2E_LAYOUT_NCHW;
    else if (!strcmp(l, "nhwc")) *layout = E2E_LAYOUT_NHWC;
    else {
        fprintf(stderr, "e2e %s: %s must be nchw, nhwc or auto, not '%s'\n", cmd, opt, l);
        return -1;
    }
    return 0;
}

static int run_frames(int argc, char **argv)
{
    const char *frames = NULL, *model_arg = NULL, *chans = NULL, *labels_path = NULL;
    const char *out = NULL, *dataset = NULL, *roc_png = NULL;
    e2e_frames_layout layout = E2E_LAYOUT_AUTO;
    uint64_t batch = 32, max_frames = UINT64_MAX;
    int threads = 1, allow_nonfinite = 0;
    e2e_device device = E2E_DEVICE_CPU;
    const char *models[2];
    int nmodels = 0, no_progress = 0;
    const e2e_opt opts[] = {
        E2E_OPT_S("frames", 0, &frames, "FILE", "frames to score (.npy or HDF5; this job)"),
        E2E_OPT_LIST_("model", models, &nmodels, 1, "TAGGER=MODEL", "the model (one)"),
        E2E_OPT_S("frames-channels", 0, &chans, "0,1,...", "the channels given to the model"),
        E2E_OPT_S("labels", 0, &labels_path, "FILE", "the frames' labels (.npy)"),
        E2E_OPT_S("dataset", 0, &dataset, "NAME", "the HDF5 dataset of the frames"),
        E2E_OPT_S("roc", 0, &roc_png, "OUT.png", "draw the ROC curve of the labelled frames"),
        E2E_OPT_C("layout", layout_arg, &layout, "L", "nchw, nhwc or auto (default)"),
        E2E_OPT_U("batch", &batch, 65536, "N", "frames per model run (1..65536, default 32)"),
        E2E_OPT_U("max-frames", &max_frames, 0, "N", "at most N frames"),
        E2E_OPT_U("max-events", &max_frames, 0, "N", "the same as --max-frames"),
        E2E_OPT_I("threads", &threads, 1, E2E_CLI_MAX_THREADS, "T", "compute threads (default 1)"),
        E2E_OPT_C("device", e2e_opts_device, &device, "D", "cpu (default), cuda or auto"),
        E2E_OPT_S("output", 'o', &out, "FILE", "the scores' CSV (default and - : stdout)"),
        E2E_OPT_F("allow-nonfinite", 0, &allow_nonfinite, "score frames holding NaN or Inf"),
        E2E_OPT_F("no-progress", 0, &no_progress, "(accepted; --frames prints no progress)"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"run", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos) {
        fprintf(stderr, "e2e run: unexpected argument '%s' (e2e run --help)\n", argv[1]);
        return E2E_EXIT_USAGE;
    }
    if (batch < 1) {
        fprintf(stderr, "e2e run: --batch must be in 1..65536\n");
        return E2E_EXIT_USAGE;
    }
    if (roc_png && !strcmp(roc_png, "-")) {
        fprintf(stderr, "e2e run: --roc names a PNG file; '-' (stdout) carries the CSV\n");
        return E2E_EXIT_USAGE;
    }
    if ((frames && !strcmp(frames, "-")) || (labels_path && !strcmp(labels_path, "-"))) {
        fprintf(stderr, "e2e run: --frames and --labels need files (the frames are read by"
                " offset); '-' (stdin) cannot be used\n");
        return E2E_EXIT_USAGE;
    }
    model_arg = nmodels ? models[0] : NULL;
    const char *eq = model_arg ? strchr(model_arg, '=') : NULL;
    if (!frames || !eq || eq == model_arg || !eq[1]) {
        fprintf(stderr, "e2e run: --frames FILE needs --model TAGGER=MODEL\n");
        return E2E_EXIT_USAGE;
    }
    char tname[16];
    snprintf(tname, sizeof tname, "%.*s", (int)(eq - model_arg < 15 ? eq - model_arg : 15),
             model_arg);
    const char *model_path = eq + 1;
    int sel[E2E_TAGGER_MAX_CHANNELS], nsel = -1;
    if (chans && (nsel = e2e_dataset_parse_channels(chans, sel, E2E_TAGGER_MAX_CHANNELS)) < 1) {
        fprintf(stderr, "e2e run: --frames-channels needs channel indices like 0,1 (at most %d)\n",
                E2E_TAGGER_MAX_CHANNELS);
        return E2E_EXIT_USAGE;
    }

    int rc = E2E_EXIT_FAIL;
    e2e_error err;
    err.message[0] = 0;
    e2e_model *model = NULL;
    e2e_session *sess = NULL;
    e2e_dataset *ds = NULL;
    e2e_roc roc = {0};      /* scores of the labelled frames: label != 0 is the signal */
    uint64_t correct = 0;   /* labelled frames with (score >= 0.5) == (label != 0) */
    float *buf = NULL, *lab = NULL;
    FILE *csv = NULL;
    int csv_stdout = !out || !strcmp(out, "-");
    FILE *info = csv_stdout ? stderr : stdout;
    e2e_out_file csv_out; /* OUT.tmp.PID -> OUT on success, else NAME.partial.csv */
    e2e_out_init(&csv_out, csv_stdout ? NULL : out);
    if (!csv_stdout && e2e_out_check("run", "-o", out))
        return E2E_EXIT_USAGE;

    if (e2e_cli_model_load(model_path, &model, &err)) {
        fprintf(stderr, "e2e run: tagger %s: %s\n", tname, err.message);
        goto done;
    }
    e2e_tensor_view decl;
    if (e2e_model_input_count(model) < 1 || e2e_model_input(model, 0, &decl) || decl.rank != 4 ||
        decl.dims[1] < 1) {
        fprintf(stderr, "e2e run: tagger %s: %s: the first input must be [N, C, H, W] with a "
                "fixed C\n", tname, model_path);
        goto done;
    }
    if (e2e_dataset_open_named(frames, dataset, layout, labels_path, &ds, &err)) {
        fprintf(stderr, "e2e run: %s\n", err.message);
        goto done;
    }
    e2e_dataset_info di;
    e2e_dataset_get_info(ds, &di);
    int C = (int)decl.dims[1];
    int H = decl.dims[2] > 0 ? (int)decl.dims[2] : di.h;
    int W = decl.dims[3] > 0 ? (int)decl.dims[3] : di.w;
    const char *lay = di.layout == E2E_LAYOUT_NHWC ? "NHWC" : "NCHW";
    if (di.h != H || di.w != W) {
        fprintf(stderr, "e2e run: %s%s%s: frames are %d x %d (%s, %d channel%s) but model %s "
                "wants %d x %d; frames are not resized (crop or resample them first%s)\n", frames,
                di.dataset[0] ? " " : "", di.dataset, di.h, di.w, lay, di.c, di.c == 1 ? "" : "s",
                model_path, H, W, layout == E2E_LAYOUT_AUTO ? ", or check --layout" : "");
        goto done;
    }
    if (nsel < 0) {
        if (di.c < C) {
            fprintf(stderr, "e2e run: %s: the frames have %d channel%s, model %s wants %d\n",
                    frames, di.c, di.c == 1 ? "" : "s", model_path, C);
            goto done;
        }
        nsel = C;
        for (int k = 0; k < C; k++)
            sel[k] = k;
    } else if (nsel != C) {
        fprintf(stderr, "e2e run: --frames-channels picks %d channel%s, model %s wants %d\n",
                nsel, nsel == 1 ? "" : "s", model_path, C);
        rc = E2E_EXIT_USAGE;
        goto done;
    }
    for (int k = 0; k < nsel; k++)
        if (sel[k] >= di.c) {
            fprintf(stderr, "e2e run: --frames-channels: channel %d does not exist (%s has %d "
                    "channel%s, 0..%d)\n", sel[k], frames, di.c, di.c == 1 ? "" : "s", di.c - 1);
            rc = E2E_EXIT_USAGE;
            goto done;
        }
    if (decl.dims[0] > 0)
        batch = (uint64_t)decl.dims[0]; /* a fixed batch in the model wins */
    int64_t dims[4] = {(int64_t)batch, C, H, W};
    e2e_shape_binding b = {decl.name, 4, dims};
    e2e_session_options so = e2e_cli_session_options();
    so.threads = threads;
    so.device = device;
    so.shapes = &b;
    so.n_shapes = 1;
    if (e2e_session_create(model, &so, &sess, &err)) {
        fprintf(stderr, "e2e run: tagger %s: %s\n", tname, err.message);
        goto done;
    }
    size_t fe = (size_t)C * H * W;
    buf = malloc(batch * fe * sizeof(float));
    lab = malloc(batch * sizeof(float));
    if (!buf || !lab) {
        fprintf(stderr, "e2e run: out of memory for a batch of %llu frames\n",
                (unsigned long long)batch);
        goto done;
    }
    if (csv_stdout) {
        csv = stdout;
        out = "<stdout>";
    } else if (!(csv = e2e_out_open(&csv_out, "run", "w"))) {
        goto done;
    }
    fprintf(csv, "index,label,score\n");
    double t0 = e2e_cli_now_ms(), sum[3] = {0}, infer_ms = 0;
    uint64_t n = 0, cnt[3] = {0};
    int failed = 0, refused = 0;
    e2e_cli_nonfinite nf = E2E_CLI_NONFINITE_INIT;
    e2e_run_stop_install(); /* Ctrl-C: stop after the batch, keep its rows (NAME.partial.csv) */
    while (n < max_frames && !e2e_run_stop_requested()) {
        size_t want = max_frames - n < batch ? (size_t)(max_frames - n) : (size_t)batch, got;
        if (e2e_dataset_read(ds, sel, nsel, want, buf, lab, &got, &err)) {
            fprintf(stderr, "e2e run: %s\n", err.message);
            failed = 1;
            break;
        }
        if (!got)
            break;
        /* NaN / +-Inf: refused by default (what the kernels make of them differs between
           the plain and the fused graph); once refused, the rest is only read and counted */
        e2e_cli_nonfinite_count(buf, got * fe, n * fe, &nf);
        if (nf.first >= 0 && !allow_nonfinite)
            refused = 1;
        if (refused) {
            n += got;
            continue;
        }
        if (got < batch) /* the last chunk: pad the bound batch with zero frames */
            memset(buf + got * fe, 0, (batch - got) * fe * sizeof(float));
        e2e_tensor_view in = e2e_tensor_view_f32(decl.name, buf, 4, dims);
        e2e_tensor_view o;
        double a = e2e_cli_now_ms();
        if (e2e_session_run(sess, &in, 1, &err) || e2e_session_output(sess, 0, &o)) {
            fprintf(stderr, "e2e run: tagger %s: %s\n", tname, err.message);
            failed = 1;
            break;
        }
        infer_ms += e2e_cli_now_ms() - a;
        int64_t numel = e2e_tensor_view_numel(&o);
        if (o.dtype != E2E_FLOAT || numel < (int64_t)batch || numel % (int64_t)batch) {
            fprintf(stderr, "e2e run: tagger %s: output 0 is not one float row per frame\n",
                    tname);
            failed = 1;
            break;
        }
        int64_t k = numel / (int64_t)batch;
        const float *sc = o.data;
        for (size_t i = 0; i < got; i++) {
            float s = sc[(int64_t)i * k + k - 1];
            /* %.9g: every float score round-trips (1e-30 stays 1e-30, not 0.000000) */
            if (isnan(lab[i]))
                fprintf(csv, "%llu,,%.9g\n", (unsigned long long)(n + i), (double)s);
            else
                fprintf(csv, "%llu,%g,%.9g\n", (unsigned long long)(n + i), (double)lab[i],
                        (double)s);
            int g = isnan(lab[i]) ? 2 : lab[i] == 0 ? 0 : 1;
            sum[g] += s;
            cnt[g]++;
            if (g < 2) {
                correct += (s >= 0.5f) == (g == 1);
                if (e2e_roc_add(&roc, s, g)) {
                    fprintf(stderr, "e2e run: out of memory for the scores of the AUC\n");
                    failed = 1;
                    break;
                }
            }
        }
        n += got;
        if (failed) /* out of memory for the AUC's scores */
            break;
        if (fflush(csv) || ferror(csv)) { /* whole batches on disk */
            fprintf(stderr, "e2e run: %s: write failed\n", out);
            failed = 1;
            break;
        }
    }
    if (fflush(csv)) {
        fprintf(stderr, "e2e run: %s: write failed\n", out);
        failed = 1;
    }
    if (e2e_run_stop_requested()) {
        fprintf(stderr, "e2e run: interrupted after %llu frames\n", (unsigned long long)n);
        failed = 1;
    }
    if (nf.first >= 0) {
        uint64_t total = e2e_cli_nonfinite_total(&nf), f = (uint64_t)nf.first;
        uint64_t fr = f / fe, in = f % fe, hw = (uint64_t)H * W;
        fprintf(stderr, "e2e run: %s%s: %llu non-finite frame value%s in frames 0..%llu: "
                "%llu NaN, %llu +Inf, %llu -Inf; the first in frame %llu, channel %d, row %llu, "
                "column %llu%s\n", refused ? "" : "warning: ", frames,
                (unsigned long long)total, total == 1 ? "" : "s",
                (unsigned long long)(n ? n - 1 : 0), (unsigned long long)nf.nan,
                (unsigned long long)nf.pinf, (unsigned long long)nf.ninf,
                (unsigned long long)fr, sel[in / hw], (unsigned long long)(in % hw / W),
                (unsigned long long)(in % W),
                refused ? "; refused from that frame's batch on (--allow-nonfinite scores them)"
                        : "; scored anyway (--allow-nonfinite)");
        if (refused) {
            n = fr - fr % batch; /* the frames scored and written */
            failed = 1;
        }
    }
    if (!csv_stdout) {
        csv = NULL;
        if (!failed && e2e_out_commit(&csv_out, "run"))
            failed = 1;
        if (failed && !e2e_out_keep_partial(&csv_out, "run")) {
            out = csv_out.partial;
            fprintf(stderr, "e2e run: stopped after %llu frames; their rows are in %s, %s was "
                    "left as it was\n", (unsigned long long)n, csv_out.partial, csv_out.path);
        }
    }
    double wall = e2e_cli_now_ms() - t0;
    if (e2e_cli_verbose >= 0) {
        fprintf(info, "%s: %llu of %lld frames (%s%s%s, %s %d x %d x %d, channels", frames,
                (unsigned long long)n, (long long)di.n, di.format, di.dataset[0] ? " " : "",
                di.dataset, lay, di.c, di.h, di.w);
        for (int k = 0; k < nsel; k++)
            fprintf(info, "%s%d", k ? "," : " ", sel[k]);
        fprintf(info, ") -> tagger %s (%s), batch %llu -> %s\n", tname, model_path,
                (unsigned long long)batch, out);
        static const char *const gn[3] = {"label 0", "label != 0", "no label"};
        fprintf(info, "  mean score:");
        for (int g = 0; g < 3; g++)
            if (cnt[g])
                fprintf(info, " %s %.4f (%llu)", gn[g], sum[g] / cnt[g],
                        (unsigned long long)cnt[g]);
        fprintf(info, "\n");
        uint64_t nl = cnt[0] + cnt[1];
        if (nl) {
            double auc = e2e_roc_auc(&roc);
            fprintf(info, "  ROC AUC (label != 0 vs label 0): ");
            if (isnan(auc))
                fprintf(info, "n/a (no %s)", cnt[0] ? "label != 0" : "label 0");
            else
                fprintf(info, "%.6f", auc);
            fprintf(info, " (%llu vs %llu frames); accuracy at 0.5 (score >= 0.5 is label != 0): "
                    "%.6f (%llu of %llu)\n", (unsigned long long)cnt[1],
                    (unsigned long long)cnt[0], (double)correct / nl,
                    (unsigned long long)correct, (unsigned long long)nl);
        }
        fprintf(info, "  %.1f frames/s (inference %.3f ms per frame)\n",
                wall > 0 ? n / (wall / 1e3) : 0.0, n ? infer_ms / n : 0.0);
    }
    if (roc_png) {
        e2e_roc *rocs[1] = {&roc};
        /* not the tagger's name: the curve is of the file's labels, whose meaning the
           file defines (the public eg dataset: 0 photon, 1 electron) */
        const char *names[1] = {"y"};
        if (!cnt[0] && !cnt[1]) {
            fprintf(stderr, "e2e run: --roc %s: the frames have no labels (/y or --labels)\n",
                    roc_png);
            failed = 1;
        } else if (e2e_roc_png(roc_png, rocs, names, 1, &err)) {
            fprintf(stderr, "e2e run: --roc: %s\n", err.message);
            failed = 1;
        } else if (e2e_cli_verbose >= 0) {
            fprintf(info, "ROC curve -> %s\n", roc_png);
        }
    }
    rc = failed ? E2E_EXIT_FAIL : 0;
done:
    if (csv && csv != stdout)
        e2e_out_discard(&csv_out); /* stopped before the first frame: nothing to keep */
    free(buf);
    free(lab);
    e2e_dataset_close(ds);
    e2e_roc_free(&roc);
    e2e_session_free(sess);
    e2e_model_free(model);
    return rc;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0777) && errno != EEXIST ? -1 : 0;
}

static int generate_sample(const char *path, uint64_t n, e2e_error *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%.4000s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        if (mkdirs(dir)) {
            snprintf(err->message, sizeof err->message, "%.900s: cannot create: %s", dir,
                     strerror(errno));
            return -1;
        }
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%.4000s.tmp%d", path, (int)getpid());
    e2e_event *ev = NULL;
    e2e_event_writer *w = NULL;
    e2e_gen_options o = e2e_gen_options_default();
    if (e2e_event_create(&ev, err) || e2e_event_writer_open(tmp, &w, err)) {
        e2e_event_free(ev);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++)
        if (e2e_gen_event(&o, i, ev, err) || e2e_event_writer_write(w, ev, err)) {
            e2e_event_writer_close(w, NULL);
            e2e_event_free(ev);
            remove(tmp);
            return -1;
        }
    e2e_event_free(ev);
    if (e2e_event_writer_close(w, err) || rename(tmp, path)) {
        remove(tmp);
        return -1;
    }
    return 0;
}

static void progress(uint64_t done, uint64_t total, double t0)
{
    double s = (e2e_cli_now_ms() - t0) / 1e3, rate = s > 0 ? done / s : 0;
    if (total) {
        int w = 30, fill = (int)(w * (double)done / total);
        char bar[32];
        for (int i = 0; i < w; i++)
            bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        bar[w] = 0;
        fprintf(stderr, "\r  [%s] %llu/%llu events  %.0f ev/s ", bar, (unsigned long long)done,
                (unsigned long long)total, rate);
    } else {
        fprintf(stderr, "\r  %llu events  %.0f ev/s ", (unsigned long long)done, rate);
    }
    fflush(stderr);
}

/* Tail latency at a fixed batch: p99/p50 of the inference of events with the same slot
   count, the worst over the counts seen in at least 20 events. */
static void by_slots_line(FILE *f, const tagger_job *j)
{
    double worst = 0;
    int at = -1;
    for (int k = 1; k < BY_SLOTS; k++) {
        const stage *s = &j->by_slots[k];
        double p50 = stage_pct(s, 0.5);
        if (s->n >= 20 && p50 > 0 && stage_pct(s, 0.99) / p50 > worst) {
            worst = stage_pct(s, 0.99) / p50;
            at = k;
        }
    }
    if (at > 0)
        fprintf(f, "  %-4s inference p99/p50 at a fixed slot count: at most %.2f (%d%s slots, "
                "%llu events)\n", j->name, worst, at, at == BY_SLOTS - 1 ? "+" : "",
                (unsigned long long)j->by_slots[at].n);
}

static void print_table(FILE *f, stage *const *st, int n, uint64_t events, double wall_ms,
                        tagger_job *tj, int nt)
{
    fprintf(f, "\nper-stage time, ms per event (%llu events)\n", (unsigned long long)events);
    stage_table(f, st, n);
    double rate = wall_ms > 0 ? events / (wall_ms / 1e3) : 0;
    fprintf(f, "  events/s (whole job, %d tagger%s): %.1f\n", nt, nt == 1 ? "" : "s", rate);
    for (int t = 0; t < nt; t++) {
        double ms = stage_mean(&tj[t].frames) + stage_mean(&tj[t].graph) +
                    stage_mean(&tj[t].infer);
        fprintf(f, "  %-4s frames + inference: %.3f ms/event = %.1f events/s, %llu slots "
                "(%llu seeded), sessions %d held / %d created\n", tj[t].name, ms,
                ms > 0 ? 1e3 / ms : 0, (unsigned long long)tj[t].slots,
                (unsigned long long)tj[t].ok, e2e_tagger_session_count(tj[t].t),
                e2e_tagger_sessions_created(tj[t].t));
        by_slots_line(f, &tj[t]);
        if (tj[t].is_graph) {
            double gm = stage_mean(&tj[t].graph), im = stage_mean(&tj[t].infer);
            fprintf(f, "  %-4s graph frames: %.3f ms/event = %.1f%% of the tagger's inference "
                    "(%.3f ms)\n", tj[t].name, gm, im > 0 ? 100 * gm / im : 0.0, im);
        }
    }
}

static int write_json(const char *path, stage *const *st, int n, uint64_t events, double wall_ms,
                      tagger_job *tj, int nt, const char *events_file, const e2e_run_meta *meta,
                      int threads, e2e_device device)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"isa\": \"%s\",\n", e2e_isa_name(e2e_isa_default()));
    e2e_run_meta_json(f, meta, events);
    fprintf(f, "  \"events\": %llu,\n  \"events_file\": ", (unsigned long long)events);
    e2e_cli_json_str(f, events_file);
    fprintf(f, ",\n  \"wall_s\": %.6f,\n  \"events_per_s\": %.3f,\n  \"stages\": [",
            wall_ms / 1e3, wall_ms > 0 ? events / (wall_ms / 1e3) : 0.0);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s\n    ", i ? "," : "");
        stage_json(f, st[i]);
    }
    fprintf(f, "\n  ],\n  \"taggers\": [");
    for (int t = 0; t < nt; t++) {
        double ms = stage_mean(&tj[t].frames) + stage_mean(&tj[t].graph) +
                    stage_mean(&tj[t].infer);
        const e2e_tagger_config *c = e2e_tagger_get_config(tj[t].t);
        fprintf(f, "%s\n    {\"name\": \"%s\", \"model\": ", t ? "," : "", tj[t].name);
        e2e_cli_json_str(f, tj[t].model_path);
        fprintf(f, ", \"frame\": [%d, %d, %d], "
                "\"slots\": %llu, \"seeded\": %llu, \"sessions_created\": %d, "
                "\"frames_inference_ms\": %.6f, \"frames_inference_events_per_s\": %.3f",
                c->n_channels, c->height, c->width,
                (unsigned long long)tj[t].slots, (unsigned long long)tj[t].ok,
                e2e_tagger_sessions_created(tj[t].t), ms, ms > 0 ? 1e3 / ms : 0.0);
        if (tj[t].is_graph)
            fprintf(f, ", \"graph\": {\"clouds\": %llu, \"truncated\": %llu, \"empty\": %llu, "
                    "\"max_points\": %d, \"graph_frames_ms\": %.6f, \"inference_ms\": %.6f}",
                    (unsigned long long)tj[t].clouds, (unsigned long long)tj[t].truncated,
                    (unsigned long long)tj[t].empty, c->graph.max_points,
                    stage_mean(&tj[t].graph), stage_mean(&tj[t].infer));
        fprintf(f, ", \"inference_by_slots\": [");
        for (int k = 1, w = 0; k < BY_SLOTS; k++)
            if (tj[t].by_slots[k].n)
                fprintf(f, "%s{\"slots\": %d, \"n\": %llu, \"p50_ms\": %.6f, \"p99_ms\": %.6f, "
                        "\"max_ms\": %.6f}", w++ ? ", " : "", k,
                        (unsigned long long)tj[t].by_slots[k].n, stage_pct(&tj[t].by_slots[k], 0.5),
                        stage_pct(&tj[t].by_slots[k], 0.99), tj[t].by_slots[k].max_ms);
        fprintf(f, "]");
        double auc = e2e_roc_auc(&tj[t].roc);
        fprintf(f, ", \"signal\": \"%s\", \"background\": \"%s\", \"n_signal\": %zu, "
                "\"n_background\": %zu, \"auc\": ", e2e_roc_signal_name(tj[t].name),
                e2e_roc_background_name(tj[t].name), tj[t].roc.ns, tj[t].roc.nb);
        if (isnan(auc))
            fprintf(f, "null}");
        else
            fprintf(f, "%.6f}", auc);
    }
    /* the device asked for: auto falls back to the CPU without a GPU (said on stderr) */
    fprintf(f, "\n  ],\n  \"provenance\": {\n");
    e2e_cli_json_provenance(f, "    ", threads, e2e_cli_optimize,
                            device == E2E_DEVICE_CUDA ? "cuda" : device == E2E_DEVICE_AUTO ? "auto"
                                                                                          : "cpu");
    fprintf(f, "}\n}\n");
    return fclose(f) ? -1 : 0;
}

/* The part's identity for the timing JSON (input, models) and the event range. */
static int run_part_begin(e2e_run_meta *m, const char *events, const char *arch, tagger_job *tj,
                          int nt, uint64_t *skip, uint64_t *max_events)
{
    e2e_error err;
    err.message[0] = 0;
    e2e_run_stop_install(); /* from here on, Ctrl-C ends the job with an "interrupted" part */
    int bad = e2e_run_meta_init(m, events, &err) != E2E_OK;
    m->arch = arch;
    for (int t = 0; t < nt && !bad; t++)
        bad = e2e_run_meta_add_model(m, tj[t].name, tj[t].model_path, tj[t].channels, &err);
    if (bad) {
        fprintf(stderr, "e2e run: %s\n", err.message);
        return -1;
    }
    return e2e_run_part_range(m, events, skip, max_events);
}

/* --arch (dst: const char **). */
static int arch_arg(const char *cmd, const char *opt, const char *v, void *dst)
{
    if (!arch_file(v)) {
        fprintf(stderr, "e2e %s: %s must be trained, simplenet, vit, gnn (pnet), dgcnn or "
                "transformer (part), not '%s'\n", cmd, opt, v);
        return -1;
    }
    *(const char **)dst = v;
    return 0;
}

/* --shard I/N (dst: e2e_run_meta *). */
static int shard_arg(const char *cmd, const char *opt, const char *v, void *dst)
{
    (void)cmd;
    (void)opt;
    e2e_run_meta *m = dst;
    if (e2e_run_shard_parse(v, &m->shard_index, &m->shard_count))
        return -1;
    m->have_shard = 1;
    return 0;
}

int e2e_cmd_run(int argc, char **argv)
{
    const char *events = NULL, *out = NULL, *timing_json = NULL, *model_dir = NULL, *roc = NULL;
    const char *taggers = "eg,qg,top,tau", *arch = "trained";
    char trained_dir[4096];
    const char *model_over[16], *chan_over[16];
    int nmodel = 0, nchan = 0, threads = 1, show_progress = 1;
    uint64_t max_events = UINT64_MAX, skip = 0, warmup = 0, batch_events = 1;
    e2e_device device = E2E_DEVICE_CPU;
    e2e_run_meta meta;
    memset(&meta, 0, sizeof meta);
    /* --frames FILE is another job with its own options (run_frames) */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--frames") || !strncmp(argv[i], "--frames=", 9))
            return run_frames(argc, argv);
    int no_progress = 0;
    const e2e_opt opts[] = {
        E2E_OPT_S("events", 0, &events, "FILE", "the event file (default: the cached sample)"),
        E2E_OPT_S("taggers", 0, &taggers, "LIST", "taggers to run (default eg,qg,top,tau)"),
        E2E_OPT_C("arch", arch_arg, &arch, "ARCH",
                  "trained (default), simplenet, vit, gnn (pnet), dgcnn or transformer (part)"),
        E2E_OPT_LIST_("model", model_over, &nmodel, 16, "TAGGER=FILE", "TAGGER's model"),
        E2E_OPT_LIST_("channels", chan_over, &nchan, 16, "TAGGER=a,b,...", "TAGGER's channels"),
        E2E_OPT_S("model-dir", 0, &model_dir, "DIR", "where the models are"),
        E2E_OPT_U("max-events", &max_events, 0, "N", "at most N events"),
        E2E_OPT_U("skip-events", &skip, 0, "N", "skip the file's first N events"),
        E2E_OPT_C("shard", shard_arg, &meta, "I/N", "the I-th of N parts of the file"),
        E2E_OPT_I("threads", &threads, 1, E2E_CLI_MAX_THREADS, "T", "compute threads (default 1)"),
        E2E_OPT_C("device", e2e_opts_device, &device, "D", "cpu (default), cuda or auto"),
        E2E_OPT_S("output", 'o', &out, "FILE", "the scores' CSV (- for stdout)"),
        E2E_OPT_S("timing-json", 0, &timing_json, "FILE", "timing and provenance JSON"),
        E2E_OPT_S("roc", 0, &roc, "OUT.png", "draw the taggers' ROC curves"),
        E2E_OPT_U("warmup", &warmup, 100000, "N", "untimed runs first (default 0)"),
        E2E_OPT_U("batch-events", &batch_events, RUN_BATCH_EVENTS_MAX, "K",
                  "score the frames of K events in one batch per image tagger (default 1)"),
        E2E_OPT_F("no-progress", 0, &no_progress, "no progress line on stderr"),
        E2E_OPT_END,
    };
    const e2e_cmd_spec spec = {"run", help, opts};
    int npos, pr = e2e_opts_parse(&spec, argc, argv, &npos);
    if (pr)
        return pr > 0 ? 0 : E2E_EXIT_USAGE;
    if (npos) {
        fprintf(stderr, "e2e run: unexpected argument '%s' (e2e run --help)\n", argv[1]);
        return E2E_EXIT_USAGE;
    }
    show_progress = !no_progress;
    if (batch_events < 1) {
        fprintf(stderr, "e2e run: --batch-events: 0 is out of range (1..%d)\n", RUN_BATCH_EVENTS_MAX);
        return E2E_EXIT_USAGE;
    }
    if (events && !strcmp(events, "-")) {
        fprintf(stderr, "e2e run: --events - (stdin) cannot be used: run reads the file's first"
                " and last bytes for its provenance and needs a file it can seek in\n");
        return E2E_EXIT_USAGE;
    }
    if ((timing_json && !strcmp(timing_json, "-")) || (roc && !strcmp(roc, "-"))) {
        fprintf(stderr, "e2e run: --timing-json and --roc need a file (the JSON is rewritten as"
                " the job goes; the PNG is binary); '-' (stdout) is only for -o\n");
        return E2E_EXIT_USAGE;
    }
    int trained = !strcmp(arch, "trained");
    /* --model-dir DIR is the user's folder: read only. Without it the benchmark models live
       in e2e's own cache and are written there on first use. */
    int cache_models = !model_dir && !trained;
    char cache_dir[4096], sample_dir[4096], events_buf[4200], out_buf[4200];
    if (!model_dir && trained)
        model_dir = e2e_cli_trained_dir(trained_dir, sizeof trained_dir);
    if (cache_models && !(model_dir = e2e_cli_cache_dir("models", cache_dir, sizeof cache_dir))) {
        fprintf(stderr, "e2e run: neither E2E_MODEL_DIR, XDG_CACHE_HOME nor HOME is set: no "
                "folder for the benchmark models (pass --model-dir DIR, made by e2e models "
                "--out DIR)\n");
        return E2E_EXIT_USAGE;
    }
    if (meta.have_shard && (skip || max_events != UINT64_MAX)) {
        fprintf(stderr, "e2e run: --shard chooses the events itself; it cannot be combined "
                "with --skip-events or --max-events\n");
        return E2E_EXIT_USAGE;
    }

    /* taggers */
    tagger_job tj[MAX_TAGGERS];
    memset(tj, 0, sizeof tj);
    int nt = 0;
    for (const char *p = taggers; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof tj[0].name) {
            fprintf(stderr, "e2e run: bad --taggers list '%s'\n", taggers);
            return E2E_EXIT_USAGE;
        }
        if (nt == MAX_TAGGERS) {
            fprintf(stderr, "e2e run: at most %d taggers\n", MAX_TAGGERS);
            return E2E_EXIT_USAGE;
        }
        memcpy(tj[nt].name, p, len);
        tj[nt].name[len] = 0;
        if (strcmp(tj[nt].name, "eg") && strcmp(tj[nt].name, "qg") && strcmp(tj[nt].name, "top") &&
            strcmp(tj[nt].name, "tau")) {
            fprintf(stderr, "e2e run: unknown tagger '%s' (eg, qg, top, tau)\n", tj[nt].name);
            return E2E_EXIT_USAGE;
        }
        for (int k = 0; k < nt; k++)
            if (!strcmp(tj[k].name, tj[nt].name)) {
                fprintf(stderr, "e2e run: tagger '%s' listed twice\n", tj[nt].name);
                return E2E_EXIT_USAGE;
            }
        char nm[sizeof tj[nt].name];
        memcpy(nm, tj[nt].name, sizeof nm);
        snprintf(tj[nt].model_path, sizeof tj[nt].model_path, "%.3000s/%.15s%s%.15s.onnx",
                 model_dir, nm, trained ? "" : "_", trained ? "" : arch_file(arch));
        nt++;
        p += len;
        if (*p == ',')
            p++;
    }
    for (int o = 0; o < nmodel + nchan; o++) {
        const char *s = o < nmodel ? model_over[o] : chan_over[o - nmodel];
        const char *eq = strchr(s, '=');
        int t = 0;
        while (t < nt && !(eq && strlen(tj[t].name) == (size_t)(eq - s) &&
                           !strncmp(tj[t].name, s, eq - s)))
            t++;
        if (t == nt) {
            fprintf(stderr, "e2e run: '%s' must be TAGGER=... for a selected tagger (%s)\n", s,
                    taggers);
            return E2E_EXIT_USAGE;
        }
        if (o < nmodel)
            snprintf(tj[t].model_path, sizeof tj[t].model_path, "%.4000s", eq + 1);
        else
            tj[t].channels = eq + 1;
    }

#ifdef __GLIBC__
    /* Session arenas are large and, when the session cache evicts, freed and re-allocated.
       A fixed mmap threshold keeps them out of the heap (glibc would otherwise raise the
       threshold after the first free and let freed arenas fragment the heap), so that the
       resident size follows the live sessions and does not creep with the events. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
    int rc = E2E_EXIT_FAIL;
    e2e_error err;
    err.message[0] = 0;
    e2e_event_reader *rd = NULL;
    e2e_event *ev = NULL;
    e2e_detframes *df = NULL;
    FILE *csv = NULL;
    char *csv_buf = NULL;   /* csv's stdio buffer (a file's), freed once csv is closed */
    size_t csv_waiting = 0; /* bytes of rows not flushed yet */
    int csv_stdout = out && !strcmp(out, "-");
    FILE *info = csv_stdout ? stderr : stdout;
    char csv_path[4300];
    int running_json = 0; /* NAME.partial.json says "running": removed if no event is reached */
    e2e_out_file csv_out, json_out, roc_out;
    e2e_out_init(&csv_out, NULL);
    e2e_out_init(&json_out, timing_json);
    e2e_out_init(&roc_out, roc);

    /* the sample events and the default CSV live in e2e's cache, not in the working folder */
    if (!events || !out) {
        if (!e2e_cli_cache_dir("sample", sample_dir, sizeof sample_dir)) {
            fprintf(stderr, "e2e run: neither XDG_CACHE_HOME nor HOME is set: no folder for "
                    "the sample events and predictions (pass --events FILE and -o FILE)\n");
            return E2E_EXIT_USAGE;
        }
        if (mkdirs(sample_dir)) {
            fprintf(stderr, "e2e run: %s: cannot create: %s\n", sample_dir, strerror(errno));
            return E2E_EXIT_FAIL;
        }
        snprintf(events_buf, sizeof events_buf, "%.4000s/events.e2e", sample_dir);
        snprintf(out_buf, sizeof out_buf, "%.4000s/predictions.csv", sample_dir);
    }
    if (!out)
        out = out_buf;
    /* every output is checked before any work, so that a bad path does not cost a job */
    if ((!csv_stdout && e2e_out_check("run", "-o", out)) ||
        (timing_json && e2e_out_check("run", "--timing-json", timing_json)) ||
        (roc && e2e_out_check("run", "--roc", roc)))
        return E2E_EXIT_USAGE;
    if (!csv_stdout)
        e2e_out_init(&csv_out, out);

    /* events: the default sample is generated on first use */
    if (!events) {
        events = events_buf;
        if (!file_exists(events)) {
            if (e2e_cli_verbose >= 0)
                fprintf(stderr, "e2e run: generating %d toy events in %s\n", SAMPLE_EVENTS, events);
            if (generate_sample(events, SAMPLE_EVENTS, &err)) {
                fprintf(stderr, "e2e run: %s\n", err.message);
                return E2E_EXIT_FAIL;
            }
        }
    }

    /* models: loaded once per job; the benchmark models are written on first use */
    for (int t = 0; t < nt; t++) {
        if (!file_exists(tj[t].model_path)) {
            int is_default = strncmp(tj[t].model_path, model_dir, strlen(model_dir)) == 0;
            if (is_default && cache_models && e2e_models_write_all) {
                if (e2e_cli_verbose >= 0)
                    fprintf(stderr, "e2e run: writing the benchmark models into e2e's cache "
                            "%s (once)\n", model_dir);
                if (mkdirs(model_dir)) {
                    fprintf(stderr, "e2e run: %s: cannot create: %s\n", model_dir,
                            strerror(errno));
                    goto done;
                }
                if (e2e_models_write_all(model_dir, MODEL_SEED, 1, &err) != E2E_OK) {
                    fprintf(stderr, "e2e run: %s\n", err.message[0] ? err.message
                                                                    : "cannot write the models");
                    goto done;
                }
            }
            if (!file_exists(tj[t].model_path)) {
                const char *why = trained ? " (the shipped trained models, see "
                    "docs/trained-models.md; --arch simplenet runs the benchmark models)"
                    : !is_default ? ""
                    : !cache_models ? " (--model-dir is only read, never written; write the "
                      "benchmark models there first with: e2e models --out "
                    : e2e_models_write_all ? " (the model builder of this build does not "
                      "write it; pass --model TAGGER=FILE)"
                    : " (this build cannot write the benchmark models; pass --model "
                      "TAGGER=FILE)";
                int name_cmd = !trained && is_default && !cache_models;
                fprintf(stderr, "e2e run: tagger %s: model %s not found%s%s%s\n", tj[t].name,
                        tj[t].model_path, why, name_cmd ? model_dir : "", name_cmd ? ")" : "");
                goto done;
            }
        }
        if (e2e_cli_model_load(tj[t].model_path, &tj[t].model, &err)) {
            fprintf(stderr, "e2e run: tagger %s: %s\n", tj[t].name, err.message);
            goto done;
        }
        e2e_tagger_config cfg;
        e2e_tagger_config_default(tj[t].name, &cfg, NULL);
        if (tj[t].channels && e2e_tagger_config_set_channels(&cfg, tj[t].channels, &err)) {
            fprintf(stderr, "e2e run: tagger %s: %s\n", tj[t].name, err.message);
            rc = E2E_EXIT_USAGE;
            goto done;
        }
        e2e_session_options so = e2e_cli_session_options();
        so.threads = threads;
        so.device = device;
        if (e2e_tagger_create(&cfg, tj[t].model, &so, &tj[t].t, &err) ||
            e2e_tagger_warmup(tj[t].t, (int)warmup, &err)) {
            fprintf(stderr, "e2e run: %s\n", err.message);
            goto done;
        }
        tj[t].frames.name = frames_stage_name(tj[t].name);
        tj[t].graph.name = "GraphFrames";
        tj[t].infer.name = tagger_stage_name(tj[t].name);
        tj[t].is_graph = e2e_tagger_get_kind(tj[t].t) == E2E_TAGGER_GRAPH;
        /* a graph tagger whose clouds an earlier one builds (top and tau by default)
           copies them */
        for (int s = 0; s < t && tj[t].is_graph; s++)
            if (tj[s].is_graph && e2e_tagger_share_graphs(tj[t].t, tj[s].t, NULL) == E2E_OK)
                break;
        /* and where it builds them, takes the event's node cells from the first earlier one
           whose channels are its first (top from qg) */
        for (int s = 0; s < t && tj[t].is_graph; s++)
            if (tj[s].is_graph && e2e_tagger_share_graph_cells(tj[t].t, tj[s].t, NULL) == E2E_OK)
                break;
    }
    /* a tagger with the same frames as an earlier one (top and tau by default) reads
       that one's instead of cutting them again; per event only: with --batch-events the
       earlier one scores and drops its full runs as they fill (e2e_tagger_infer_ready) */
    for (int t = 0; t < nt; t++) {
        tj[t].like = -1;
        for (int s = 0; s < t && !tj[t].is_graph && batch_events == 1; s++)
            if (!tj[s].is_graph && tj[s].like < 0 && e2e_tagger_frames_equal(tj[s].t, tj[t].t)) {
                tj[t].like = s;
                if (e2e_cli_verbose > 0)
                    fprintf(stderr, "e2e run: tagger %s reads the frames of %s (same objects, "
                            "seed cuts, channels and frame size)\n", tj[t].name, tj[s].name);
                break;
            }
    }
    /* the frames of max_batch slots (cross-event batches: a run's and an event's) allocated
       and touched now, not by the first events with that many slots */
    for (int t = 0; t < nt; t++) {
        int mb = e2e_tagger_get_config(tj[t].t)->max_batch;
        size_t slots = (size_t)(mb > 0 ? mb : 16) * (batch_events > 1 ? 2 : 1);
        if (tj[t].like < 0 && !tj[t].is_graph && e2e_tagger_reserve(tj[t].t, slots, &err)) {
            fprintf(stderr, "e2e run: %s\n", err.message);
            goto done;
        }
    }
    if (run_part_begin(&meta, events, arch, tj, nt, &skip, &max_events))
        goto done;

    if (e2e_event_reader_open(events, &rd, &err) || e2e_event_create(&ev, &err)) {
        fprintf(stderr, "e2e run: %s\n", err.message);
        goto done;
    }
    e2e_detframes_options dopt = e2e_detframes_options_default();
    dopt.channels = 0;
    for (int t = 0; t < nt; t++)
        dopt.channels |= e2e_tagger_channel_mask(tj[t].t);
    dopt.z0_pv_cut = e2e_event_reader_z0_pv_cut(rd);
    if (e2e_detframes_create(&dopt, &df, &err)) {
        fprintf(stderr, "e2e run: %s\n", err.message);
        goto done;
    }

    if (csv_stdout) {
        csv = stdout;
        snprintf(csv_path, sizeof csv_path, "<stdout>");
    } else {
        /* rows go to OUT.tmp.PID, -> OUT when the job succeeds, else NAME.partial.csv */
        snprintf(csv_path, sizeof csv_path, "%s", out);
        if (!(csv = e2e_out_open(&csv_out, "run", "w")))
            goto done;
        /* written through now: its pages' first touches are not the first events' */
        if ((csv_buf = malloc(CSV_BUF_BYTES))) {
            memset(csv_buf, 0, CSV_BUF_BYTES);
            setvbuf(csv, csv_buf, _IOFBF, CSV_BUF_BYTES);
        }
    }
    fprintf(csv, "run,lumi,event,tagger,slot,pt,eta,phi,seed_row,seed_col,score,status,truth\n");

    /* a killed job leaves NAME.partial.json saying "running"; an earlier TIMING is kept */
    if (timing_json && e2e_run_json_running(json_out.partial, &meta)) {
        fprintf(stderr, "e2e run: %s: cannot write: %s\n", json_out.partial, strerror(errno));
        goto done;
    }
    running_json = timing_json != NULL;
    if (skip) {
        uint64_t s;
        if (e2e_event_reader_skip(rd, skip, &s, &err)) {
            fprintf(stderr, "e2e run: %s\n", err.message);
            goto done;
        }
    }

    stage st_read = {.name = "event read"}, st_det = {.name = "DetFrames"},
          st_out = {.name = "output"}, st_total = {.name = "total"};
    uint64_t declared = e2e_event_reader_declared_count(rd), total = 0; /* 0: unknown */
    if (declared)
        total = declared > skip ? declared - skip : 0;
    if (max_events != UINT64_MAX && (!declared || max_events < total))
        total = max_events;
    int tty = show_progress && e2e_cli_verbose >= 0 && isatty(2);
    double t_job = e2e_cli_now_ms(), t_prog = 0;
    uint64_t n = 0;
    int failed = 0;
    uint64_t last_event = 0; /* the event number of the last event written */
    int preview = csv_stdout ? 0 : 3; /* rows per tagger shown on the terminal */
    if (preview && e2e_cli_verbose >= 0)
        fprintf(info, "%-4s %8s %4s %8s %7s %7s %9s %9s %-10s %s\n", "tag", "event", "slot",
                "pt", "eta", "phi", "seed", "score", "status", "truth");
    /* Events are gathered into batches of --batch-events (default 1): the image taggers
       append each event's slots and score the batch with one e2e_tagger_infer (runs of up
       to max_batch slots), the graph taggers score each event and their slots are held;
       the rows are written per event, in order, once the batch is scored, so the CSV is
       the same for every batch size. A bad event, a failed tagger or a stop ends the job
       after the events before it are scored and written (whole events only). */
    run_pending *pend = calloc(batch_events, sizeof *pend);
    if (!pend) {
        fprintf(stderr, "e2e run: out of memory\n");
        goto done;
    }
    size_t np = 0;          /* events in the batch */
    double ready_batch = 0; /* ms of the batch's runs scored while gathering it */
    for (;;) {
        int end = n + np >= max_events || e2e_run_stop_requested();
        int got = 0, stop_after = 0; /* stop_after: an error, the batch so far is written */
        double t0 = e2e_cli_now_ms();
        if (!end) {
            if (e2e_event_reader_next(rd, ev, &got, &err)) {
                if (tty)
                    fputc('\n', stderr);
                fprintf(stderr, "e2e run: %s\n", err.message);
                fprintf(stderr, "e2e run: stopped; the %llu events before it were processed and "
                        "written\n", (unsigned long long)(n + np));
                stop_after = 1;
            } else if (!got) {
                end = 1;
            }
        }
        if (got) {
            double t1 = e2e_cli_now_ms();
            stage_add(&st_read, t1 - t0);
            if (e2e_detframes_build(df, ev, &err))
                stop_after = 1;
            double t2 = e2e_cli_now_ms();
            const int built = !stop_after;
            run_pending *pe = &pend[np];
            double ready_ev = 0; /* runs scored after this event's frames: the batch's time */
            for (int t = 0; t < nt && !stop_after; t++) {
                double a = e2e_cli_now_ms();
                size_t n0 = 0, n1;
                if (tj[t].is_graph) {
                    if (np == 0)
                        tj[t].n_held = 0;
                    n0 = tj[t].n_held;
                    if (e2e_tagger_prepare_seeds(tj[t].t, ev, df, &err)) {
                        stop_after = 1;
                        break;
                    }
                } else {
                    if (np)
                        e2e_tagger_slots(tj[t].t, &n0);
                    if (tj[t].like >= 0 ? e2e_tagger_prepare_like(tj[t].t, tj[tj[t].like].t, &err)
                        : (np ? e2e_tagger_append_seeds : e2e_tagger_prepare_seeds)(tj[t].t, ev, df,
                                                                                    &err)) {
                        stop_after = 1;
                        break;
                    }
                }
                double g = e2e_cli_now_ms();
                stage_add(&tj[t].frames, g - a);
                if (!tj[t].is_graph && batch_events > 1) {
                    /* full runs now, on frames still in cache; the batch's end scores the rest */
                    if (np == 0)
                        tj[t].ready_ms = 0;
                    if (e2e_tagger_infer_ready(tj[t].t, &err)) {
                        stop_after = 1;
                        break;
                    }
                    double r = e2e_cli_now_ms() - g;
                    tj[t].ready_ms += r;
                    ready_ev += r;
                    g += r;
                }
                e2e_tagger_slots(tj[t].t, &n1);
                if (tj[t].is_graph) {
                    /* every graph tagger's clouds before any inference: the DetFrames cells
                       they read are still in cache (a tagger's inference evicts them) */
                    if (e2e_tagger_prepare_graphs(tj[t].t, df, &err)) {
                        stop_after = 1;
                        break;
                    }
                    stage_add(&tj[t].graph, e2e_cli_now_ms() - g);
                    double b = e2e_cli_now_ms();
                    if (e2e_tagger_infer(tj[t].t, &err)) {
                        stop_after = 1;
                        break;
                    }
                    double c = e2e_cli_now_ms();
                    e2e_graph_frames gf;
                    if (e2e_tagger_graph_frames(tj[t].t, &gf, NULL) == E2E_OK) {
                        tj[t].truncated += gf.truncated;
                        tj[t].empty += gf.empty;
                    }
                    const e2e_tagger_slot *sl = e2e_tagger_slots(tj[t].t, &n1);
                    stage_add(&tj[t].infer, c - b);
                    stage_add(&tj[t].by_slots[n1 < BY_SLOTS ? n1 : BY_SLOTS - 1], c - b);
                    if (hold_slots(&tj[t], sl, n1)) {
                        snprintf(err.message, sizeof err.message, "out of memory");
                        stop_after = 1;
                        break;
                    }
                }
                pe->first[t] = n0;
                pe->count[t] = tj[t].is_graph ? n1 : n1 - n0; /* graph: the event's slots */
            }
            if (built) {
                /* the images are cleared now, while the cells just written are in cache,
                   not by the next build after the inference has evicted them */
                double c0 = e2e_cli_now_ms();
                e2e_detframes_clear(df);
                stage_add(&st_det, t2 - t1 + e2e_cli_now_ms() - c0);
            }
            ready_batch += ready_ev;
            if (!stop_after) {
                e2e_event_data d;
                e2e_event_get(ev, &d);
                pe->run = d.run;
                pe->lumi = d.lumi;
                pe->event = d.event;
                pe->own_ms = e2e_cli_now_ms() - t0 - ready_ev;
                np++;
            } else if (err.message[0]) {
                if (tty)
                    fputc('\n', stderr);
                fprintf(stderr, "e2e run: %s\n", err.message);
            }
        }
        if (stop_after) {
            failed = 1;
            end = 1;
        }
        if (np && (np == batch_events || end)) {
            /* score the batch: the image taggers' runs over the gathered slots */
            double tb = e2e_cli_now_ms();
            int bad = 0;
            for (int t = 0; t < nt && !bad; t++) {
                if (tj[t].is_graph)
                    continue;
                double b = e2e_cli_now_ms();
                if (e2e_tagger_infer(tj[t].t, &err)) {
                    if (tty)
                        fputc('\n', stderr);
                    fprintf(stderr, "e2e run: %s\n", err.message);
                    bad = 1;
                    break;
                }
                double c = e2e_cli_now_ms() + tj[t].ready_ms;
                tj[t].ready_ms = 0;
                for (size_t e = 0; e < np; e++)
                    stage_add(&tj[t].infer, (c - b) / (double)np);
                if (np == 1) /* per event: its time at its slot count */
                    stage_add(&tj[t].by_slots[pend[0].count[t] < BY_SLOTS ? pend[0].count[t]
                                                                           : BY_SLOTS - 1],
                              c - b);
            }
            if (bad) { /* the batch's rows are not written: the events before it are */
                failed = 1;
                break;
            }
            double t3 = e2e_cli_now_ms();
            for (size_t e = 0; e < np; e++) {
                const run_pending *pe = &pend[e];
                for (int t = 0; t < nt; t++) {
                    size_t ns;
                    const e2e_tagger_slot *sl = tj[t].is_graph ? tj[t].held
                                                               : e2e_tagger_slots(tj[t].t, &ns);
                    sl += pe->first[t];
                    ns = pe->count[t];
                    for (size_t i = 0; i < ns; i++) {
                        char row[CSV_ROW_MAX];
                        size_t len = csv_row(row, pe, tj[t].name, i, &sl[i]);
                        if (len)
                            csv_waiting += fwrite(row, 1, len, csv);
                        else
                            csv_waiting += (size_t)fprintf(csv, CSV_FORMAT, pe->run, pe->lumi,
                                    (unsigned long long)pe->event, tj[t].name, i,
                                    (double)sl[i].pt, (double)sl[i].eta, (double)sl[i].phi,
                                    sl[i].seed.row, sl[i].seed.col, (double)sl[i].score,
                                    e2e_seed_status_name(sl[i].seed.status),
                                    e2e_truth_name(sl[i].truth));
                        tj[t].slots++;
                        if (tj[t].is_graph && (sl[i].seed.status == E2E_SEED_OK ||
                                               sl[i].seed.status == E2E_SEED_NO_NODES))
                            tj[t].clouds++;
                        if (sl[i].seed.status == E2E_SEED_OK) {
                            tj[t].ok++;
                            int cls = e2e_roc_class(tj[t].name, sl[i].truth);
                            if (cls >= 0 && e2e_roc_add(&tj[t].roc, sl[i].score, cls)) {
                                fprintf(stderr, "e2e run: out of memory for the AUC\n");
                                failed = 1;
                            }
                            int k = sl[i].truth >= 0 && sl[i].truth < 7 ? sl[i].truth : 7;
                            tj[t].score_sum[k] += sl[i].score;
                            tj[t].score_n[k]++;
                        }
                        if (preview && tj[t].preview < preview && e2e_cli_verbose >= 0) {
                            char seed[24];
                            snprintf(seed, sizeof seed, "%d,%d", sl[i].seed.row, sl[i].seed.col);
                            fprintf(info, "%-4s %8llu %4zu %8.2f %7.3f %7.3f %9s %9.5f %-10s %s\n",
                                    tj[t].name, (unsigned long long)pe->event, i, (double)sl[i].pt,
                                    (double)sl[i].eta, (double)sl[i].phi, seed,
                                    (double)sl[i].score, e2e_seed_status_name(sl[i].seed.status),
                                    e2e_truth_name(sl[i].truth));
                            tj[t].preview++;
                        }
                    }
                }
                /* whole events only: what a stop (or kill) leaves on disk ends with a
                   complete row; stdout (a pipe, a terminal) gets every event at once */
                const int flush = csv_stdout || csv_waiting >= CSV_FLUSH_BYTES ||
                                  (total && n + 1 >= total);
                if ((flush && fflush(csv)) || ferror(csv)) {
                    fprintf(stderr, "e2e run: %s: write failed\n", csv_path);
                    failed = 1;
                    break;
                }
                if (flush)
                    csv_waiting = 0;
                last_event = pe->event;
                n++;
            }
            double t4 = e2e_cli_now_ms();
            for (size_t e = 0; e < np; e++) {
                stage_add(&st_out, (t4 - t3) / (double)np);
                stage_add(&st_total, pend[e].own_ms + (t4 - tb + ready_batch) / (double)np);
            }
            np = 0;
            ready_batch = 0;
            if (failed)
                break;
            if (tty && t4 - t_prog > 100) {
                progress(n, total, t_job);
                t_prog = t4;
            }
        }
        if (end)
            break;
    }
    free(pend);
    double wall = e2e_cli_now_ms() - t_job;
    if (tty) {
        progress(n, total, t_job);
        fputc('\n', stderr);
    }
    if (csv && fflush(csv)) {
        fprintf(stderr, "e2e run: %s: write failed\n", csv_path);
        failed = 1;
    }
    for (int t = 0; t < nt; t++)
        meta.rows += tj[t].slots;
    e2e_run_part_end(&meta, n, max_events, &failed);
    running_json = 0; /* from here on the timing JSON is written, whatever happens */
    if (!csv_stdout) {
        /* the CSV the timing JSON records is the file that exists: OUT or NAME.partial.csv */
        off_t bytes = ftello(csv);
        csv = NULL;
        if (!failed && e2e_out_commit(&csv_out, "run"))
            failed = 1;
        if (failed && !e2e_out_keep_partial(&csv_out, "run"))
            snprintf(csv_path, sizeof csv_path, "%s", csv_out.partial);
        else if (failed)
            snprintf(csv_path, sizeof csv_path, "%s", csv_out.tmp);
        e2e_run_meta_set_output(&meta, csv_path, bytes > 0 ? (uint64_t)bytes : 0);
    }
    if (failed) {
        char where[160];
        if (n)
            snprintf(where, sizeof where, "after %llu event%s (the last: event %llu, number %llu "
                     "in the file)", (unsigned long long)n, n == 1 ? "" : "s",
                     (unsigned long long)last_event, (unsigned long long)(meta.first_event + n));
        else
            snprintf(where, sizeof where, "before the first event");
        if (csv_stdout)
            fprintf(stderr, "e2e run: %s: stopped %s; the rows of those events were written\n",
                    meta.status, where);
        else
            fprintf(stderr, "e2e run: %s: stopped %s; %s %s, %s was left as it was\n",
                    meta.status, where, n ? "their complete rows are in" : "the header only in",
                    csv_path, out);
    }

    stage *rows[4 + 3 * MAX_TAGGERS];
    int nr = 0;
    rows[nr++] = &st_read;
    rows[nr++] = &st_det;
    for (int t = 0; t < nt; t++)
        rows[nr++] = &tj[t].frames;
    for (int t = 0; t < nt; t++)
        if (tj[t].is_graph)
            rows[nr++] = &tj[t].graph;
    for (int t = 0; t < nt; t++)
        rows[nr++] = &tj[t].infer;
    rows[nr++] = &st_out;
    rows[nr++] = &st_total;
    /* distinguish the JetFrames rows by tagger */
    char fnames[MAX_TAGGERS][48], gnames[MAX_TAGGERS][48];
    for (int t = 0; t < nt; t++) {
        snprintf(fnames[t], sizeof fnames[t], "%.12s (%.15s)", tj[t].frames.name, tj[t].name);
        tj[t].frames.name = fnames[t];
        snprintf(gnames[t], sizeof gnames[t], "GraphFrames (%.15s)", tj[t].name);
        tj[t].graph.name = gnames[t];
    }
    if (e2e_cli_verbose >= 0) {
        fprintf(info, "\npredictions: %llu events -> %s%s\n", (unsigned long long)n, csv_path,
                failed ? " (the job did not finish: see above)" : "");
        for (int t = 0; t < nt; t++) {
            fprintf(info, "  %-4s %6llu slots, %6llu seeded; mean score:", tj[t].name,
                    (unsigned long long)tj[t].slots, (unsigned long long)tj[t].ok);
            for (int k = 0; k < 8; k++)
                if (tj[t].score_n[k])
                    fprintf(info, " %s %.4f (%llu)", k < 7 ? e2e_truth_name(k) : "unknown",
                            tj[t].score_sum[k] / tj[t].score_n[k],
                            (unsigned long long)tj[t].score_n[k]);
            fprintf(info, "\n");
            if (tj[t].is_graph) {
                const e2e_tagger_config *c = e2e_tagger_get_config(tj[t].t);
                fprintf(info, "       graph frames: %llu clouds, %llu truncated (more than P "
                        "nodes; P cap %d), %llu without nodes\n",
                        (unsigned long long)tj[t].clouds, (unsigned long long)tj[t].truncated,
                        c->graph.max_points, (unsigned long long)tj[t].empty);
            }
        }
        for (int t = 0; t < nt; t++) {
            double auc = e2e_roc_auc(&tj[t].roc);
            fprintf(info, "  %-4s ROC AUC %s vs %s: ", tj[t].name,
                    e2e_roc_signal_name(tj[t].name), e2e_roc_background_name(tj[t].name));
            if (isnan(auc))
                fprintf(info, "n/a");
            else
                fprintf(info, "%.4f", auc);
            fprintf(info, " (%zu signal, %zu background)\n", tj[t].roc.ns, tj[t].roc.nb);
        }
        print_table(info, rows, nr, n, wall, tj, nt);
    }
    if (roc) {
        e2e_roc *rocs[MAX_TAGGERS];
        const char *names[MAX_TAGGERS];
        for (int t = 0; t < nt; t++) {
            rocs[t] = &tj[t].roc;
            names[t] = tj[t].name;
        }
        /* drawn to ROC.tmp.PID (the PNG writer opens it), renamed like the CSV */
        if (e2e_roc_png(roc_out.tmp, rocs, names, nt, &err)) {
            fprintf(stderr, "e2e run: --roc: %s\n", err.message);
            failed = 1;
            e2e_out_discard(&roc_out);
        } else if (failed ? e2e_out_keep_partial(&roc_out, "run")
                          : e2e_out_commit(&roc_out, "run")) {
            failed = 1;
            e2e_out_discard(&roc_out);
        } else if (e2e_cli_verbose >= 0) {
            fprintf(info, "ROC curves -> %s\n", failed ? roc_out.partial : roc);
        }
    }
    if (timing_json) {
        /* TIMING when complete (the "running" partial removed), else NAME.partial.json */
        if (failed && !strcmp(meta.status, "complete"))
            meta.status = "failed"; /* a late failure (the ROC, the rename) */
        int bad = write_json(json_out.tmp, rows, nr, n, wall, tj, nt, events, &meta, threads,
                             device);
        if (bad)
            fprintf(stderr, "e2e run: %s: cannot write: %s\n", json_out.tmp, strerror(errno));
        else if (failed)
            bad = e2e_out_keep_partial(&json_out, "run");
        else
            bad = e2e_out_commit(&json_out, "run");
        if (bad) {
            e2e_out_discard(&json_out);
            failed = 1;
        }
    }
    rc = failed ? E2E_EXIT_FAIL : 0;
done:
    if (csv && csv != stdout)
        e2e_out_discard(&csv_out); /* a failure before the first event: nothing to keep */
    free(csv_buf); /* (the stream is closed: committed, kept as partial or discarded) */
    if (csv && running_json && !json_out.direct)
        remove(json_out.partial);
    for (int t = 0; t < nt; t++) {
        e2e_tagger_free(tj[t].t);
        e2e_model_free(tj[t].model);
        e2e_roc_free(&tj[t].roc);
        free(tj[t].held);
    }
    e2e_detframes_free(df);
    e2e_event_free(ev);
    e2e_event_reader_close(rd);
    return rc;
}
