/* Safe output files of the CLI (e2e run's CSV, timing JSON and ROC PNG): the path is checked
   before any work (its folder exists and is writable, it is not a folder), the data goes to
   PATH.tmp.PID in the same folder and is renamed to PATH only when the job succeeded. When it
   did not, the data written so far is renamed to PATH.partial (NAME.partial.EXT when the
   name has an extension: p.csv -> p.partial.csv) and an earlier PATH is left as it was. Not thread-safe (one job per process). */
#ifndef E2E_CLI_OUT_FILE_H
#define E2E_CLI_OUT_FILE_H

#include <stdio.h>

typedef struct e2e_out_file {
    const char *path;      /* as given; NULL: no such output */
    char tmp[4200];        /* PATH.tmp.PID */
    char partial[4200];    /* NAME.partial.EXT, or PATH.partial without an extension */
    FILE *f;               /* open on tmp between open and commit/keep_partial/discard */
    int direct;            /* PATH is a device or FIFO (/dev/null): written as it is */
} e2e_out_file;

/* Checks PATH for an output named by option OPT of command CMD before the job starts;
   prints "e2e CMD: OPT PATH: reason" and returns -1 when it cannot be written. */
int e2e_out_check(const char *cmd, const char *opt, const char *path);
/* Sets o->path, o->tmp and o->partial (o->f NULL); no file is touched. */
void e2e_out_init(e2e_out_file *o, const char *path);
/* Opens o->tmp for writing ("w" or "wb"); prints the reason and returns NULL on error. */
FILE *e2e_out_open(e2e_out_file *o, const char *cmd, const char *mode);
/* Closes o->f and renames o->tmp to o->path (and removes a stale o->partial). Prints the
   reason and returns -1 when the close or the rename fails; o->tmp is then left for the
   caller (e2e_out_keep_partial or remove). */
int e2e_out_commit(e2e_out_file *o, const char *cmd);
/* Closes o->f and renames o->tmp to o->partial; o->path is not touched. 0 or -1. */
int e2e_out_keep_partial(e2e_out_file *o, const char *cmd);
/* Closes o->f (when open) and removes o->tmp (not a device or FIFO written directly). */
void e2e_out_discard(e2e_out_file *o);

#endif
