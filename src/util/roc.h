/* The main job's physics metrics: the ROC AUC per tagger from the events' truth, and the ROC
   curves as a PNG (e2e run --roc). Signal and background per tagger (docs/trained-models.md):
   eg photon vs electron, qg quark vs gluon, top top vs QCD (quark or gluon jets),
   tau tau vs QCD. Not thread-safe: one e2e_roc per tagger, filled by one thread. */
#ifndef E2E_UTIL_ROC_H
#define E2E_UTIL_ROC_H

#include <stddef.h>

#include "e2e.h"

typedef struct e2e_roc {
    float *sig, *bkg;       /* scores of the signal and background objects */
    size_t ns, nb, cap_s, cap_b;
    int sorted;
} e2e_roc;

/* 1: the truth is the tagger's signal, 0: its background, -1: neither (not counted). */
int e2e_roc_class(const char *tagger, int truth);
/* "photon", "electron", "quark", "gluon", "top", "tau", "QCD" (quark or gluon); for a name
   that is not a tagger, "nonzero label" and "label 0" (labelled frames). */
const char *e2e_roc_signal_name(const char *tagger);
const char *e2e_roc_background_name(const char *tagger);

/* Adds one score (8 bytes per object are kept until e2e_roc_free); -1 when out of memory. */
int e2e_roc_add(e2e_roc *r, float score, int signal);
void e2e_roc_free(e2e_roc *r);

/* Exact ROC AUC = P(s > b) + P(s = b) / 2 over every (signal, background) pair, i.e. the
   Mann-Whitney U with mid-ranks; NaN scores rank below every number (and tie with each
   other). Sorts the scores in place. NaN when a class is empty. */
double e2e_roc_auc(e2e_roc *r);

/* The ROC curves (true positive rate against false positive rate, one curve per tagger,
   the diagonal of a random score, labelled axes with ticks, a legend with each AUC) as an
   RGB PNG. names[i] is tagger i's name (eg, qg, top, tau). Sorts the scores in place. */
e2e_status e2e_roc_png(const char *path, e2e_roc *const *rocs, const char *const *names, int n,
                       e2e_error *err);

#endif
