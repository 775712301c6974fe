/*
 * e2e_frames.h — the front end: events -> DetFrames -> seeds -> frames -> taggers.
 *
 * It re-implements the chain of the reference framework (CMSSW RecoE2E: DetFrameProducer,
 * EGFrameProducer / JetFrameProducer, EG/QG/Top/TauTagger) with its intended behaviour
 * (see docs/event-format.md and reference/e2e-domain.md section 8 for what differs from
 * the public code).
 *
 *   e2e_error err;
 *   e2e_event_reader *rd;  e2e_event *ev;  e2e_detframes *df;  e2e_tagger *qg;
 *   e2e_event_reader_open("events.e2e", &rd, &err);
 *   e2e_event_create(&ev, &err);
 *   e2e_tagger_config cfg;  e2e_tagger_config_default("qg", &cfg, &err);
 *   e2e_tagger_create(&cfg, model, NULL, &qg, &err);   // model may be NULL: frames only
 *   e2e_detframes_options dopt = e2e_detframes_options_default();
 *   dopt.channels = e2e_tagger_channel_mask(qg);
 *   e2e_detframes_create(&dopt, &df, &err);
 *   int got;
 *   while (e2e_event_reader_next(rd, ev, &got, &err) == E2E_OK && got) {
 *       e2e_detframes_build(df, ev, &err);             // channel images of this event
 *       e2e_tagger_prepare(qg, ev, df, &err);           // seeds + NCHW batch of frames
 *                                                       // (graph frames for a graph model)
 *       e2e_tagger_infer(qg, &err);                     // one session run, scores per slot
 *       const e2e_tagger_slot *s = e2e_tagger_slots(qg, &n);  ...
 *   }
 *
 * Geometry (all images are row-major floats):
 *   - the event grid is 280 x 360 (rows = eta, 0..54 EE-, 55..224 EB, 225..279 EE+;
 *     columns = phi, EB iphi - 1); 5 x 5 cells = one HCAL tower;
 *   - the EB view is rows 55..224 of the ECAL channel (170 x 360);
 *   - HBHE towers are 56 x 72 (|ieta| 29 merged into 28, iphi shifted by +2).
 *
 * Errors: functions return e2e_status (E2E_OK = 0) and fill `err` when it is not NULL; the
 * message names the event (index in the file and run:lumi:event) and the section.
 *
 * Ownership and threads: every handle is created and freed by its own create/free pair and
 * belongs to one thread at a time; distinct handles may be used in parallel. Pointers
 * returned by accessors point into the handle and stay valid until the next call that
 * modifies it (next event read, build, prepare, infer) or its free. A tagger borrows the
 * e2e_model given at creation (models are immutable and may be shared), and owns its
 * sessions.
 */
#ifndef E2E_FRAMES_H
#define E2E_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- geometry ---- */

enum {
    E2E_GRID_ROWS = 280,   /* eta rows of the event grid */
    E2E_GRID_COLS = 360,   /* phi columns */
    E2E_EB_ROW0 = 55,      /* first EB row in the grid */
    E2E_EB_ROWS = 170,     /* EB view: 170 x 360 */
    E2E_EE_ROWS = 55,      /* rows per EE side */
    E2E_HCAL_ROWS = 56,    /* HBHE tower rows after the 29 -> 28 merge */
    E2E_HCAL_COLS = 72,
    E2E_HCAL_IETA_MAX = 29 /* HBHE rechits have |ieta| in 1..29, iphi in 1..72 */
};
#define E2E_NO_CELL 0xFFFFu /* a track outside the grid (|eta| >= 3) */

/* Idealised geometry of the spec (section 2.4), shared by the generator and the tests:
   column of a phi (any value, wrapped), row of an eta (-1 when |eta| >= 3). */
int e2e_geom_col(double phi);
int e2e_geom_row(double eta);
/* Centre (eta, phi) of a grid cell. */
double e2e_geom_row_eta(int row);
double e2e_geom_col_phi(int col);
/* HBHE tower (ieta in +-1..29, iphi in 1..72) containing (eta, phi); returns 0 and sets
   *ieta = 0 when |eta| >= 3 (outside HBHE). */
int e2e_geom_hcal_tower(double eta, double phi, int *ieta, int *iphi);
/* Tower <-> image: row 0..55 and column 0..71 of the HBHE image for a rechit (ieta, iphi). */
int e2e_geom_hcal_row(int ieta);
int e2e_geom_hcal_col(int iphi);

/* ---- event content (sparse hits, already in detector coordinates) ---- */

typedef struct e2e_eb_hit {      /* reducedEcalRecHitsEB */
    uint16_t ieta_idx;           /* 0..169 = (ieta > 0 ? ieta - 1 : ieta) + 85 */
    uint16_t iphi_idx;           /* 0..359 = iphi - 1 */
    float energy;                /* GeV */
    float time;                  /* ns (carried, not used) */
} e2e_eb_hit;

typedef struct e2e_ee_hit {      /* reducedEcalRecHitsEE projected onto the grid */
    uint16_t row;                /* 0..54 (EE-) or 225..279 (EE+) */
    uint16_t col;                /* 0..359 */
    float energy;                /* GeV */
} e2e_ee_hit;

typedef struct e2e_hbhe_hit {    /* reducedHcalRecHits:hbhereco */
    int8_t ieta;                 /* +-1..29 */
    uint8_t iphi;                /* 1..72 */
    uint8_t depth;               /* 1..7 */
    uint8_t flags;               /* carried, not used */
    float energy;                /* GeV */
} e2e_hbhe_hit;

enum { E2E_TRACK_HIGH_PURITY = 1 }; /* e2e_track.quality bits */

typedef struct e2e_track {       /* generalTracks */
    float pt, eta, phi;          /* GeV; momentum direction at the vertex */
    float d0, dz;                /* cm, w.r.t. the first primary vertex */
    int8_t charge;
    uint8_t quality;             /* bit 0: highPurity */
    uint16_t row, col;           /* grid cell of (eta, phi); E2E_NO_CELL when outside */
} e2e_track;

typedef enum e2e_subdet {        /* CMS tracker subdetector numbers */
    E2E_SUBDET_BPIX = 1, E2E_SUBDET_FPIX = 2, E2E_SUBDET_TIB = 3,
    E2E_SUBDET_TID = 4, E2E_SUBDET_TOB = 5, E2E_SUBDET_TEC = 6
} e2e_subdet;

typedef struct e2e_tracker_hit { /* siPixelRecHits / siStripMatchedRecHits */
    uint16_t row, col;           /* grid cell of the hit direction */
    uint8_t subdet;              /* e2e_subdet */
    uint8_t layer;               /* BPIX 1..4, FPIX 1..3, TIB 1..4, TID 1..3, TOB 1..6, TEC 1..9 */
    uint8_t proj;                /* 0: direction from the origin, 1: from the primary vertex */
    uint8_t reserved;
} e2e_tracker_hit;

typedef struct e2e_crystal {     /* an EB crystal of a supercluster */
    uint16_t ieta_idx, iphi_idx;
} e2e_crystal;

typedef struct e2e_photon {      /* gedPhotons */
    float pt, eta, phi;
    int16_t truth;               /* generator label (0 photon, 1 electron), -1 unknown */
    uint16_t n_crystals;         /* supercluster EB crystals */
    uint32_t first_crystal;      /* index into e2e_event_data.crystals (set by the event) */
} e2e_photon;

typedef enum e2e_jet_collection { E2E_AK4 = 0, E2E_AK8 = 1 } e2e_jet_collection;

typedef struct e2e_jet {         /* ak4PFJetsCHS / ak8PFJetsCHS */
    float pt, eta, phi, mass;
    int8_t tower_ieta;           /* HBHE tower of the jet axis, 0 when outside HBHE */
    uint8_t tower_iphi;          /* 1..72, 0 when outside HBHE */
    int16_t truth;               /* generator label (e2e_truth), -1 unknown */
} e2e_jet;

/* Generator labels carried in photons and jets. */
typedef enum e2e_truth {
    E2E_TRUTH_UNKNOWN = -1, E2E_TRUTH_PHOTON = 0, E2E_TRUTH_ELECTRON = 1,
    E2E_TRUTH_QUARK = 2, E2E_TRUTH_GLUON = 3, E2E_TRUTH_TOP = 4, E2E_TRUTH_TAU = 5
} e2e_truth;
const char *e2e_truth_name(int truth);

/* A read-only view of one event; pointers are valid until the event is next modified. */
typedef struct e2e_event_data {
    uint32_t run, lumi;
    uint64_t event;
    const e2e_eb_hit *eb;         size_t n_eb;
    const e2e_ee_hit *ee;         size_t n_ee;
    const e2e_hbhe_hit *hbhe;     size_t n_hbhe;
    const e2e_track *tracks;      size_t n_tracks;
    const e2e_tracker_hit *pixel; size_t n_pixel;   /* BPIX and FPIX */
    const e2e_tracker_hit *strip; size_t n_strip;   /* TIB, TID, TOB, TEC */
    const e2e_photon *photons;    size_t n_photons;
    const e2e_crystal *crystals;  size_t n_crystals;
    const e2e_jet *jets[2];       size_t n_jets[2]; /* [E2E_AK4], [E2E_AK8] */
} e2e_event_data;

typedef struct e2e_event e2e_event;

e2e_status e2e_event_create(e2e_event **out, e2e_error *err);
void e2e_event_free(e2e_event *ev);
/* Empties the event; keeps its buffers (memory follows the largest event, not the count). */
void e2e_event_clear(e2e_event *ev);
void e2e_event_set_id(e2e_event *ev, uint32_t run, uint32_t lumi, uint64_t event);
void e2e_event_get(const e2e_event *ev, e2e_event_data *out);

/* Adders check every coordinate and that values are finite (E2E_ERR_ARGUMENT otherwise). */
e2e_status e2e_event_add_eb(e2e_event *ev, const e2e_eb_hit *h, e2e_error *err);
e2e_status e2e_event_add_ee(e2e_event *ev, const e2e_ee_hit *h, e2e_error *err);
e2e_status e2e_event_add_hbhe(e2e_event *ev, const e2e_hbhe_hit *h, e2e_error *err);
e2e_status e2e_event_add_track(e2e_event *ev, const e2e_track *t, e2e_error *err);
/* Goes to pixel or strip by subdet. */
e2e_status e2e_event_add_tracker_hit(e2e_event *ev, const e2e_tracker_hit *h, e2e_error *err);
/* p->n_crystals and p->first_crystal are set from the list. */
e2e_status e2e_event_add_photon(e2e_event *ev, const e2e_photon *p, const e2e_crystal *xtals,
                                size_t n_xtals, e2e_error *err);
e2e_status e2e_event_add_jet(e2e_event *ev, e2e_jet_collection c, const e2e_jet *j,
                             e2e_error *err);

/* ---- event files (docs/event-format.md) ---- */

#define E2E_EVENT_FORMAT_VERSION 1

typedef struct e2e_event_reader e2e_event_reader;

e2e_status e2e_event_reader_open(const char *path, e2e_event_reader **out, e2e_error *err);
/* Reads from memory (copied); name is used in messages. */
e2e_status e2e_event_reader_open_buffer(const void *data, size_t size, const char *name,
                                        e2e_event_reader **out, e2e_error *err);
/* Reads the next event into ev. *got = 1 when an event was read, 0 at the end of the file.
   A truncated, corrupted (checksum) or invalid event is an error naming the event and the
   section; the reader then stays at that event (further calls repeat the error). */
e2e_status e2e_event_reader_next(e2e_event_reader *r, e2e_event *ev, int *got, e2e_error *err);
/* Skips up to n events (lengths only, no decoding); *skipped receives the count. */
e2e_status e2e_event_reader_skip(e2e_event_reader *r, uint64_t n, uint64_t *skipped,
                                 e2e_error *err);
uint64_t e2e_event_reader_declared_count(const e2e_event_reader *r); /* 0: unknown */
uint64_t e2e_event_reader_position(const e2e_event_reader *r);       /* index of next event */
float e2e_event_reader_z0_pv_cut(const e2e_event_reader *r);         /* header value (cm) */
void e2e_event_reader_close(e2e_event_reader *r);

typedef struct e2e_event_writer e2e_event_writer;

e2e_status e2e_event_writer_open(const char *path, e2e_event_writer **out, e2e_error *err);
e2e_status e2e_event_writer_write(e2e_event_writer *w, const e2e_event *ev, e2e_error *err);
/* Writes the event count into the header, closes and frees (also on error). */
e2e_status e2e_event_writer_close(e2e_event_writer *w, e2e_error *err);

/* ---- the toy generator (not a detector simulation; see docs/event-format.md) ---- */

typedef struct e2e_gen_options {
    uint64_t seed;          /* event i depends only on (seed, i) */
    double pileup;          /* mean number of soft pileup particles (default 40) */
    double noise;           /* scale of the calorimeter noise (default 1) */
    uint32_t run;           /* run number (default 1); lumi = 1 + i / 100, event = i + 1 */
} e2e_gen_options;

e2e_gen_options e2e_gen_options_default(void);
/* Fills ev with event number `index` of the sample defined by opt. */
e2e_status e2e_gen_event(const e2e_gen_options *opt, uint64_t index, e2e_event *ev,
                         e2e_error *err);

/* ---- DetFrames: channel images on the 280 x 360 grid ---- */

typedef enum e2e_channel {
    E2E_CH_ECAL = 0,    /* ECAL stitched: EB crystals + EE projection, GeV */
    E2E_CH_HBHE,        /* HBHE, depths summed, 5x5 upsampled / 25, GeV */
    E2E_CH_PT,          /* sum of highPurity track pT, GeV */
    E2E_CH_D0,          /* sum of d0 of highPurity tracks with |dz| < z0PVCut, cm */
    E2E_CH_DZ,          /* sum of dz of the same tracks, cm */
    E2E_CH_BPIX1, E2E_CH_BPIX2, E2E_CH_BPIX3, E2E_CH_BPIX4,      /* hit counts */
    E2E_CH_TIB1, E2E_CH_TIB2, E2E_CH_TIB3, E2E_CH_TIB4,
    E2E_CH_TOB1, E2E_CH_TOB2, E2E_CH_TOB3, E2E_CH_TOB4, E2E_CH_TOB5, E2E_CH_TOB6,
    E2E_CH_TID1, E2E_CH_TID2, E2E_CH_TID3,
    E2E_CH_TEC1, E2E_CH_TEC2, E2E_CH_TEC3, E2E_CH_TEC4, E2E_CH_TEC5, E2E_CH_TEC6,
    E2E_CH_TEC7, E2E_CH_TEC8, E2E_CH_TEC9,
    E2E_CH_COUNT
} e2e_channel;

/* "ecal", "hbhe", "pt", "d0", "dz", "bpix1".."bpix4", "tib1".., "tob1".., "tid1".., "tec1"..;
   e2e_channel_from_name returns -1 for an unknown name. */
const char *e2e_channel_name(e2e_channel c);
int e2e_channel_from_name(const char *name);
#define E2E_CHANNEL_BIT(c) ((uint64_t)1 << (c))

typedef struct e2e_detframes_options {
    uint64_t channels;   /* E2E_CHANNEL_BIT mask of the channels to build (default: all) */
    float z0_pv_cut;     /* cm, the |dz| rule of the d0/dz channels (default 0.1) */
    int tracker_proj;    /* tracker hits counted: 0 from the origin, 1 from the PV (default 1) */
} e2e_detframes_options;

e2e_detframes_options e2e_detframes_options_default(void);

typedef struct e2e_detframes e2e_detframes;

e2e_status e2e_detframes_create(const e2e_detframes_options *opt, e2e_detframes **out,
                                e2e_error *err);
void e2e_detframes_free(e2e_detframes *df);
/* Builds this event's images; clears only the cells the previous event touched. */
e2e_status e2e_detframes_build(e2e_detframes *df, const e2e_event *ev, e2e_error *err);
/* Zeroes the images (and towers, depth-1 energies) of the last build now, as the next
   build would: called once the event's frames are cut, while those cells are still in
   cache, it leaves the next build nothing to clear. */
void e2e_detframes_clear(e2e_detframes *df);
/* 280 x 360 image of a channel; NULL when the channel is not built. */
const float *e2e_detframes_channel(const e2e_detframes *df, e2e_channel c);
/* EB view: 170 x 360 (rows 55..224 of the ECAL channel); NULL without the ECAL channel. */
const float *e2e_detframes_eb(const e2e_detframes *df);
/* Native HBHE towers 56 x 72 (depth sum, before the upsample); NULL without HBHE. */
const float *e2e_detframes_hbhe_towers(const e2e_detframes *df);
/* Depth-1 HBHE energy of rechit tower (ieta +-1..29, iphi 1..72), as used by the jet seeds. */
float e2e_detframes_depth1(const e2e_detframes *df, int ieta, int iphi);
/* The same, telling a tower without a depth-1 rechit (returns 0, *energy = 0) from one with
   rechits (returns 1, *energy = their sum, which may be <= 0). */
int e2e_detframes_depth1_find(const e2e_detframes *df, int ieta, int iphi, float *energy);

/* ---- seeds ---- */

typedef enum e2e_seed_status {
    E2E_SEED_OK = 0,
    E2E_SEED_LOW_PT,       /* below the pT cut */
    E2E_SEED_HIGH_ETA,     /* beyond the |eta| cut */
    E2E_SEED_NO_CRYSTAL,   /* photon: no supercluster EB crystal with energy > 0 */
    E2E_SEED_NOT_HBHE,     /* jet: axis outside HB/HE */
    E2E_SEED_EDGE,         /* jet: seed tower |ieta| > 16 (frame would leave the image) */
    E2E_SEED_NO_NODES      /* graph frames: seeded, but no cell of the crop is a node (the
                              cloud is all padding, mask 0; score -1 as for failed seeds) */
} e2e_seed_status;
const char *e2e_seed_status_name(e2e_seed_status s);

typedef struct e2e_seed {
    int row, col;          /* on the image the tagger crops (EB view or grid); -1 when failed */
    e2e_seed_status status;
} e2e_seed;

/* Photon seeds on the EB view: pT >= min_pt, |eta| <= max_eta (reference 10 GeV, 1.44),
   the supercluster EB crystal with the highest energy. One seed per photon. */
e2e_status e2e_seeds_photons(const e2e_event *ev, const e2e_detframes *df, float min_pt,
                             float max_eta, e2e_seed *out, size_t cap, size_t *n,
                             e2e_error *err);
/* Jet seeds on the grid: highest depth-1 HBHE tower in the 7 x 7 window around the axis
   tower, |ieta| <= 16, seed = tower * 5 + 2; then pT >= min_pt and |eta| <= max_eta. */
e2e_status e2e_seeds_jets(const e2e_event *ev, const e2e_detframes *df, e2e_jet_collection c,
                          float min_pt, float max_eta, e2e_seed *out, size_t cap, size_t *n,
                          e2e_error *err);

/* ---- frames ---- */

/* Centre index of a frame dimension: n/2 - 1 for even n, (n-1)/2 for odd n. */
int e2e_frame_centre(int n);
/* Crops h x w around (seed_row, seed_col) from an H x W image: phi (columns) wraps, eta
   (rows) is zero-padded. A seed with row < 0 gives a zero frame. */
void e2e_frame_crop(const float *img, int H, int W, int seed_row, int seed_col, int h, int w,
                    float *out);

/* ---- graph frames (point clouds; docs/graph-frames.md) ---- */

/* Per seed, the cells of the tagger's crop (the same crop and channels as its image frame)
   whose sum over channels of |value| exceeds a threshold become nodes. Per node: its
   position relative to the seed cell, (eta(row) - eta(seed), phi(col) - phi(seed) wrapped
   into [-pi, pi]), and its channel values times e2e_graph_channel_scale. Nodes are ordered
   by the sum over channels of |scaled value|, descending, ties by (row, col) of the crop
   ascending; the first P are kept (a longer cloud is counted as truncated) and the rest of
   the P places are zero with mask 0. The layout is CMSSW ParticleNet's: points [N, 2, P],
   features [N, C, P], mask [N, 1, P], channels first. */
typedef struct e2e_graph_options {
    int enabled;       /* build graph frames; a graph model turns this on, set it to get them
                          without one (e2e frames) (default 0) */
    float threshold;   /* node: sum_c |value_c| > threshold, raw units (default 1e-3) */
    /* 0 in the three below means the default */
    int max_points;    /* P when the model leaves P dynamic: the cap (default 128 for jet
                          taggers, 64 for eg); a P fixed by the model wins (and
                          is what e2e_tagger_get_config reports) */
    int min_points;    /* smallest dynamic P (default 32: kNN models take the k + 1 nearest
                          points, k <= 16 in ParticleNet) */
    int quantum;       /* a dynamic P is rounded up to a multiple of this, so that a few
                          session shapes serve all events (default 16; 1 = exact) */
    int raw;           /* 1: features are the raw channel values; 0 (default): scaled */
} e2e_graph_options;

/* The factor applied to a channel's values in node features (the E2E GNN code's scaling:
   pt 0.01, d0 0.1, dz 0.05, ecal 0.1; hbhe 0.1; hit counts 1). One table, graph.c. */
float e2e_graph_channel_scale(e2e_channel c);

/* ---- taggers ---- */

#define E2E_TAGGER_MAX_CHANNELS 16

typedef enum e2e_tagger_objects { E2E_OBJ_PHOTONS = 0, E2E_OBJ_AK4 = 1, E2E_OBJ_AK8 = 2 }
    e2e_tagger_objects;

typedef struct e2e_tagger_config {
    char name[16];                 /* "eg", "qg", "top", "tau" or any label */
    e2e_tagger_objects objects;
    int n_channels;
    e2e_channel channels[E2E_TAGGER_MAX_CHANNELS]; /* NCHW channel order */
    float min_pt, max_eta;         /* seed cuts */
    int height, width;             /* frame size when no model is given; a model's input
                                      shape overrides them */
    size_t max_session_bytes;      /* budget of the session cache (0: 128 MiB; least
                                      recently used sessions are freed) */
    int max_batch;                 /* slots per session run when the model's N is dynamic
                                      (0: 16): one session (any_batch, e2e.h) runs every
                                      batch 1..max_batch, created with the tagger (a graph
                                      model with a dynamic P: one per P, at its first use);
                                      events with more slots run in chunks of max_batch */
    e2e_graph_options graph;       /* graph frames (used with a graph model, or enabled) */
} e2e_tagger_config;

/* Defaults (docs/event-format.md, "Taggers"): eg = photons, ecal on the EB view, 32 x 32,
   pT >= 10, |eta| <= 1.44; qg = ak4, pt,d0,dz,ecal,hbhe, 128 x 128, 35 GeV, 2.4;
   top and tau = ak8, pt,d0,dz,ecal,hbhe,bpix1,bpix2,bpix3, 128 x 128, 35 GeV, 2.4. */
e2e_status e2e_tagger_config_default(const char *name, e2e_tagger_config *cfg, e2e_error *err);
/* "pt,d0,dz" -> channels; error names the unknown channel. */
e2e_status e2e_tagger_config_set_channels(e2e_tagger_config *cfg, const char *list,
                                          e2e_error *err);

typedef struct e2e_tagger e2e_tagger;

/* model may be NULL (frames only; e2e_tagger_infer then fails). A model's inputs decide
   which frames the tagger builds:
   - image model: one float input [N, C, H, W] with C = cfg->n_channels; H and W set the
     frame size;
   - graph model: float inputs named points [N, 2, P], features [N, C, P] (C =
     cfg->n_channels, the image frame's channels in the same order) and mask [N, 1, P], and
     optionally seed [N, 3] (the object's pT, eta, phi) and knn_index [N, P, k] (int64, the
     k nearest other nodes in (deta, dphi)). N and P may be dynamic; a fixed P is the
     truncation length, a fixed N the number of slots per run. The crop is cfg's
     height x width.
   A model matching neither is refused with a message naming its inputs.
   sopt (may be NULL) gives the session options (threads, device). */
e2e_status e2e_tagger_create(const e2e_tagger_config *cfg, const e2e_model *model,
                             const e2e_session_options *sopt, e2e_tagger **out, e2e_error *err);
void e2e_tagger_free(e2e_tagger *t);
const e2e_tagger_config *e2e_tagger_get_config(const e2e_tagger *t);
uint64_t e2e_tagger_channel_mask(const e2e_tagger *t);

typedef enum e2e_tagger_kind {
    E2E_TAGGER_FRAMES_ONLY = 0, /* no model */
    E2E_TAGGER_IMAGE = 1,       /* the model takes image frames */
    E2E_TAGGER_GRAPH = 2        /* the model takes graph frames */
} e2e_tagger_kind;
e2e_tagger_kind e2e_tagger_get_kind(const e2e_tagger *t);

/* Seeds and frames of one event = e2e_tagger_prepare_seeds + e2e_tagger_prepare_graphs. */
e2e_status e2e_tagger_prepare(e2e_tagger *t, const e2e_event *ev, const e2e_detframes *df,
                              e2e_error *err);
/* Seeds, slots and (unless the model is a graph model) the NCHW batch of image frames
   (EGFrames / JetFrames). */
e2e_status e2e_tagger_prepare_seeds(e2e_tagger *t, const e2e_event *ev,
                                    const e2e_detframes *df, e2e_error *err);
/* Cross-event batches: the seeds, slots and image frames of another event after those
   already prepared (slots n0.. of e2e_tagger_slots, n0 = the count before the call), so
   that one e2e_tagger_infer scores several events' slots in batches of up to max_batch.
   A slot's score does not depend on the batch it runs in. Image models only
   (E2E_ERR_ARGUMENT for a graph model); e2e_tagger_prepare_seeds starts a new batch. */
e2e_status e2e_tagger_append_seeds(e2e_tagger *t, const e2e_event *ev,
                                   const e2e_detframes *df, e2e_error *err);
/* 1 when a and b take the same slots and image frames from every event: neither builds
   graph frames, and they have the same objects, seed cuts, channels (in order) and frame
   size (e.g. the default top and tau). */
int e2e_tagger_frames_equal(const e2e_tagger *a, const e2e_tagger *b);
/* The slots (scores -1) and image frames of src's last e2e_tagger_prepare_seeds or
   e2e_tagger_append_seeds, for a tagger t with the same frames (e2e_tagger_frames_equal,
   else E2E_ERR_ARGUMENT): t copies src's slots and reads src's frames instead of cutting
   them again, until t's own next prepare. Call it after src's prepare of the event (or
   append: t then has all of src's slots of the batch) and keep src's frames (no prepare,
   append, warm-up or free of src) until t has run e2e_tagger_infer. src must not itself
   borrow frames. */
e2e_status e2e_tagger_prepare_like(e2e_tagger *t, const e2e_tagger *src, e2e_error *err);
/* Graph frames of the slots just prepared (GraphFrames); nothing when the tagger builds
   none. Seeded slots without a node get status E2E_SEED_NO_NODES. */
e2e_status e2e_tagger_prepare_graphs(e2e_tagger *t, const e2e_detframes *df, e2e_error *err);
/* Lets t copy the point clouds of src (docs/graph-frames.md section 7) instead of building
   them, at each event where src prepared its graph frames on the same DetFrames build and
   the same seeds as t's (else t builds its own): both build graph frames, on the same view
   with the same channel list, crop size, threshold, scales and number of points kept (their
   models' P and knn may differ); E2E_ERR_ARGUMENT, saying which differs, otherwise. The
   frames are the same as without sharing. src NULL undoes it. src is read by t's
   e2e_tagger_prepare_graphs: it must outlive the link and be used from the same thread. */
e2e_status e2e_tagger_share_graphs(e2e_tagger *t, const e2e_tagger *src, e2e_error *err);
/* Lets t, where it builds its clouds, take the event's node cells (docs/graph-frames.md
   section 7) from src's instead of reading every channel's images: src's channels are the
   first of t's, on the same view, with the same threshold and scales (E2E_ERR_ARGUMENT,
   saying which differs, otherwise); t then reads the images only where one of its other
   channels was written. Used at each event where src built its cells (not copied its
   clouds) with DetFrames' occupancy on the same build, and t's crops lie within src's;
   else t builds its own. The frames are the same as without it (qg's channels are top's
   first five). src NULL undoes it. src must outlive the link, be prepared before t each
   event and be used from the same thread. */
e2e_status e2e_tagger_share_graph_cells(e2e_tagger *t, const e2e_tagger *src, e2e_error *err);
/* Of the events t built its own clouds at (built), those whose cells it derived. */
void e2e_tagger_graph_cells_derived(const e2e_tagger *t, size_t *derived, size_t *built);
/* One session run on the prepared batch (skipped when there are no slots); scores of
   failed seeds are -1. */
e2e_status e2e_tagger_infer(e2e_tagger *t, e2e_error *err);
/* Cross-event batches: scores the complete runs of max_batch slots among those not scored
   yet (an image model with a dynamic N; nothing otherwise) and drops their image frames, so
   that the frames of K events need not all be held and each run reads frames cut moments
   before, still in cache. Call it after e2e_tagger_append_seeds / prepare_seeds; the
   e2e_tagger_infer that ends the batch scores the rest. The scores are those one
   e2e_tagger_infer gives (a slot's score does not depend on its batch). */
e2e_status e2e_tagger_infer_ready(e2e_tagger *t, e2e_error *err);
/* Allocates the slots and image frames of `slots` slots and touches every page of them now,
   so that the events with up to that many slots (for cross-event batches, slots not yet
   scored) neither grow the buffers nor take first-touch page faults (creation-time work, as
   a trigger job does before its first event; optional: the buffers grow as needed anyway).
   Not worth it for a tagger that reads another's frames (e2e_tagger_prepare_like). */
e2e_status e2e_tagger_reserve(e2e_tagger *t, size_t slots, e2e_error *err);
/* Runs the tagger's session `runs` times on zero frames before the first event (caches,
   page faults, the BLAS buffers), with batches max_batch, max_batch - 1, ..., 1, max_batch,
   ... so that runs >= max_batch touches every batch's plan; a graph model with a dynamic P
   warms the session of its largest P. Leaves the prepared event, if any, untouched except
   its image frames: call it before e2e_tagger_prepare. */
e2e_status e2e_tagger_warmup(e2e_tagger *t, int runs, e2e_error *err);

typedef struct e2e_tagger_slot {
    float pt, eta, phi;      /* the photon or jet */
    int16_t truth;
    e2e_seed seed;
    float score;             /* model output, -1 for a failed seed (or before infer) */
    int n_nodes;             /* graph frames: nodes of the crop before truncation (0 without) */
} e2e_tagger_slot;

const e2e_tagger_slot *e2e_tagger_slots(const e2e_tagger *t, size_t *n);
/* The prepared batch: n x C x H x W floats (NULL for a graph model's tagger; another
   tagger's after e2e_tagger_prepare_like); after e2e_tagger_infer_ready, the frames of the
   slots it has not scored (the last n slots). */
const float *e2e_tagger_frames(const e2e_tagger *t, size_t *n, int *c, int *h, int *w);

/* The prepared graph frames, one slot per e2e_tagger_slots entry. P is the model's fixed P,
   else the largest kept cloud of the event rounded as e2e_graph_options says (a model with
   a fixed N and a dynamic P gets, per run, the P of its own slots). */
typedef struct e2e_graph_frames {
    size_t n;                /* slots */
    int C, P;                /* features per node, points per slot */
    int k;                   /* neighbours in knn (0: none built) */
    const float *points;     /* [n, 2, P]: deta, dphi */
    const float *features;   /* [n, C, P]: scaled channel values, the tagger's channel order */
    const float *mask;       /* [n, 1, P]: 1 real node, 0 padding */
    const float *seed;       /* [n, 3]: pT, eta, phi of the slot's photon or jet */
    const int64_t *knn;      /* [n, P, k] or NULL */
    size_t truncated;        /* slots whose cloud had more nodes than kept */
    size_t empty;            /* seeded slots without a node (E2E_SEED_NO_NODES) */
} e2e_graph_frames;
/* E2E_ERR_ARGUMENT when the tagger builds no graph frames. */
e2e_status e2e_tagger_graph_frames(const e2e_tagger *t, e2e_graph_frames *out, e2e_error *err);
/* Sessions held now (one per recent batch size) and created so far (see tagger.c). */
int e2e_tagger_session_count(const e2e_tagger *t);
int e2e_tagger_sessions_created(const e2e_tagger *t);

#ifdef __cplusplus
}
#endif
#endif
