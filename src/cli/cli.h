/* The `e2e` command: one file per sub-command, each `int e2e_cmd_<name>(int argc, char **argv)`
   returning the exit status (see docs/cli.md: 0 ok, 1 failure of the work, 2 usage error). */
#ifndef E2E_CLI_H
#define E2E_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "e2e.h"

enum { E2E_EXIT_OK = 0, E2E_EXIT_FAIL = 1, E2E_EXIT_USAGE = 2 };

extern int e2e_cli_verbose;  /* -1 quiet, 0 normal, 1 verbose */
/* The most --threads any command takes. */
#define E2E_CLI_MAX_THREADS 256

/* "1x3x32x32" -> dims; returns rank or -1. */
int e2e_cli_parse_dims(const char *s, int64_t *dims, int max);
double e2e_cli_now_ms(void);
/* CPU time of the process (all threads), ms: on a loaded machine a start-up's wall time is
   mostly waiting for a core */
double e2e_cli_cpu_ms(void);
/* --device VALUE: "cpu", "cuda" or "auto"; prints "e2e CMD: ..." and returns -1 otherwise. */
int e2e_cli_parse_device(const char *cmd, const char *value, e2e_device *out);

/* An input file named on the command line: "-" is stdin ("/dev/stdin"; read in order, so
   options that seek, like skipping events, need a pipe-less file). */
const char *e2e_cli_in_path(const char *arg);

/* MODEL as given on the command line: a folder means FOLDER/model.onnx. */
void e2e_cli_model_path(const char *arg, char *out, size_t n);
/* Fills v->data (allocated by the caller) with seeded numbers: floats uniform in [0, 1),
   bool/uint8/int8 0 or 1, other integers 0 (indices and lengths stay in range). */
void e2e_cli_fill_random(e2e_tensor_view *v, uint64_t *seed);

/* Limits set by the options --max-model-mb N and --max-arena-mb N (0 = none). main() takes
   them from anywhere on the command line, so every command accepts them. */
extern size_t e2e_cli_max_model_bytes, e2e_cli_max_arena_bytes;
/* e2e_session_options.optimize from --optimize N (default 1), taken the same way. */
extern int e2e_cli_optimize;
extern e2e_precision e2e_cli_precision; /* --precision (any command) */
/* e2e_model_load_file_ex with the --max-model-mb limit. */
e2e_status e2e_cli_model_load(const char *path, e2e_model **out, e2e_error *err);
/* e2e_session_options_default() with the --max-arena-mb limit and --optimize level. */
e2e_session_options e2e_cli_session_options(void);

/* s as a JSON string (quoted, escaped: quote, backslash, control characters); NULL as null.
   The one JSON string writer of the commands' outputs (provenance.c). */
void e2e_cli_json_str(FILE *f, const char *s);

/* Provenance of a timing result (provenance.c), for the JSONs of run, bench and compare:
   writes the members "library_version", then (threads > 0) "threads", "optimize", "precision", "device",
   then "cpu_model" (/proc/cpuinfo), "logical_cpus", "simd" (the kernels' instruction-set
   level sessions use by default) and "simd_cpu" (the best the CPU has), one per line starting
   with indent, separated by commas, no comma after the last. */
void e2e_cli_json_provenance(FILE *f, const char *indent, int threads, int optimize,
                             const char *device);
/* The instruction-set level of the kernels sessions use by default: "generic", "avx2", ... */
const char *e2e_cli_simd_level(void);

/* Non-finite values of a float input (src/cli/nonfinite.c). Start with
   E2E_CLI_NONFINITE_INIT; count adds x[0..n) whose flat indices start at offset. */
typedef struct e2e_cli_nonfinite {
    uint64_t nan, pinf, ninf;
    int64_t first;          /* flat index of the first one, -1 when none */
} e2e_cli_nonfinite;
#define E2E_CLI_NONFINITE_INIT {0, 0, 0, -1}
void e2e_cli_nonfinite_count(const float *x, size_t n, uint64_t offset, e2e_cli_nonfinite *c);
uint64_t e2e_cli_nonfinite_total(const e2e_cli_nonfinite *c);
/* The first one's index as "[i, j, ...]" for a row-major shape. */
void e2e_cli_nonfinite_index(const e2e_cli_nonfinite *c, int rank, const int64_t *dims,
                             char *buf, size_t n);

/* The shipped trained models' folder (trained_dir.c): models/trained when it exists in the
   working directory, else BIN/../models/trained or BIN/../share/e2e/trained beside the
   running e2e binary, else "models/trained". Returns buf. */
const char *e2e_cli_trained_dir(char *buf, size_t n);

/* e2e's per-user cache folder SUB ("models", "sample"), written by e2e itself on first use:
   ${XDG_CACHE_HOME:-$HOME/.cache}/e2e/SUB (XDG_CACHE_HOME only when absolute); for "models"
   $E2E_MODEL_DIR when set. Returns buf, or NULL when neither HOME nor XDG_CACHE_HOME is set.
   Creates nothing (cache_dir.c). */
const char *e2e_cli_cache_dir(const char *sub, char *buf, size_t n);

/* e2e frames --all-events (frames_dump.c). */
int e2e_cmd_frames_dump(int argc, char **argv);

#endif
