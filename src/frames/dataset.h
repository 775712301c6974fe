/* Pre-made frames (public E2E datasets): .npy arrays and, in an HDF5=1 build, HDF5 files,
 * read in chunks and converted to NCHW with a channel selection (docs/datasets.md).
 *
 *   e2e_dataset *ds;
 *   e2e_dataset_open("photons.h5", E2E_LAYOUT_AUTO, NULL, &ds, &err);
 *   e2e_dataset_info info; e2e_dataset_get_info(ds, &info);   // n, c, h, w, layout, labels
 *   int sel[2] = {0, 1};
 *   while (e2e_dataset_read(ds, sel, 2, 32, frames, labels, &got, &err) == E2E_OK && got) ...
 *   e2e_dataset_close(ds);
 *
 * Accepted arrays: rank 4 (N,C,H,W) or (N,H,W,C), rank 3 (N,H,W) = one channel; any of
 * float32/float64/int8/uint8/int32/int64 in .npy (converted to float). HDF5: the dataset
 * /X_jets, else /X (electron/photon crops, jet images), or one chosen by name
 * (e2e_dataset_open_named); labels /y when present.
 * Memory: one chunk of the file layout (max x C x H x W) plus the caller's buffers.
 */
#ifndef E2E_FRAMES_DATASET_H
#define E2E_FRAMES_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"

typedef enum e2e_frames_layout {
    E2E_LAYOUT_AUTO = 0, /* channels-last when the last dim is <= 16 and the 2nd is not */
    E2E_LAYOUT_NCHW = 1,
    E2E_LAYOUT_NHWC = 2
} e2e_frames_layout;

typedef struct e2e_dataset_info {
    int64_t n;                 /* frames in the file */
    int c, h, w;               /* per frame, after the layout is resolved */
    e2e_frames_layout layout;  /* NCHW or NHWC (never AUTO) */
    int has_labels;            /* /y, or the labels file */
    char format[8];            /* "npy" or "hdf5" */
    char dataset[256];         /* HDF5 dataset name ("/X", "/X_jets"), "" for .npy */
} e2e_dataset_info;

typedef struct e2e_dataset e2e_dataset;

/* Formats by content (the .npy magic, the HDF5 signature). labels_path (may be NULL): a
   .npy of shape (N,) or (N, 1) giving the label of each frame (overrides /y). */
e2e_status e2e_dataset_open(const char *path, e2e_frames_layout layout, const char *labels_path,
                            e2e_dataset **out, e2e_error *err);
/* The same with the HDF5 dataset to read chosen by name ("X" or "/X"; NULL: /X_jets, else
   /X). A name the file lacks fails with E2E_ERR_ARGUMENT listing the file's top-level names;
   a name with a .npy file is an E2E_ERR_ARGUMENT too. */
e2e_status e2e_dataset_open_named(const char *path, const char *dataset, e2e_frames_layout layout,
                                  const char *labels_path, e2e_dataset **out, e2e_error *err);
void e2e_dataset_get_info(const e2e_dataset *d, e2e_dataset_info *out);
/* Reads up to max frames from the current position: frames receives got x nsel x H x W
   floats (NCHW, channel k = file channel sel[k]); labels (may be NULL) got floats, NaN when
   the file has none. *got = 0 at the end. sel indices must be in 0..C-1. */
e2e_status e2e_dataset_read(e2e_dataset *d, const int *sel, int nsel, size_t max, float *frames,
                            float *labels, size_t *got, e2e_error *err);
/* Moves to frame `index` (0..n). */
e2e_status e2e_dataset_seek(e2e_dataset *d, int64_t index, e2e_error *err);
void e2e_dataset_close(e2e_dataset *d);

/* "0,1,3" -> sel (at most max entries); returns the count or -1. */
int e2e_dataset_parse_channels(const char *s, int *sel, int max);

#endif
