/* e2e run's sharding and part metadata: --shard I/N ranges, the identity of the input and
   model files, the stop flag of Ctrl-C / SIGTERM, and the fields of the timing JSON that
   e2e merge reads to check that parts fit together (same input, same models, every event
   exactly once, every part finished). Not thread-safe (one job per process). */
#ifndef E2E_CLI_RUN_SHARD_H
#define E2E_CLI_RUN_SHARD_H

#include <stdint.h>
#include <stdio.h>

#include "e2e.h"

#define E2E_RUN_NO_COUNT UINT64_MAX

/* "I/N" with 0 <= I < N <= 1000000; prints "e2e run: --shard ..." and returns -1 otherwise. */
int e2e_run_shard_parse(const char *s, uint32_t *index, uint32_t *count);
/* The I-th of N contiguous ranges of total events: [first, first + n); sizes differ by at
   most one, the earlier shards take the remainder, a range may be empty (N > total). */
void e2e_run_shard_range(uint64_t total, uint32_t index, uint32_t count, uint64_t *first,
                         uint64_t *n);
/* Number of events in an event file: the header's count, else the records counted by
   seeking over them (fails on a truncated record). */
e2e_status e2e_run_count_events(const char *path, uint64_t *count, e2e_error *err);

/* A file's identity without reading all of it: size, CRC-32C of the first and the last
   64 KiB (whole = 1: of the whole file, for models). */
typedef struct e2e_run_file_id {
    uint64_t bytes;
    uint32_t head_crc, tail_crc;
} e2e_run_file_id;
e2e_status e2e_run_file_id_get(const char *path, int whole, e2e_run_file_id *id, e2e_error *err);

/* SIGINT/SIGTERM set a flag instead of killing the job, so that the timing JSON can say
   "interrupted" (a second signal kills as usual). */
void e2e_run_stop_install(void);
int e2e_run_stop_requested(void);

/* What a part's timing JSON says about where it comes from. */
typedef struct e2e_run_meta {
    const char *status;           /* "running", "complete", "failed", "interrupted" */
    const char *arch;
    int have_shard;
    uint32_t shard_index, shard_count;
    uint64_t first_event;         /* index in the file of the first event of the range */
    uint64_t events_total;        /* events in the file, E2E_RUN_NO_COUNT when unknown */
    e2e_run_file_id input;
    const char *output;           /* the CSV path, NULL for stdout */
    uint64_t output_bytes, rows;
    int n_taggers;
    const char *tagger[8], *model_path[8], *channels[8]; /* channels: NULL = default */
    e2e_run_file_id model[8];
} e2e_run_meta;

/* Fills m->input from the events file, status "running", the count unknown; the shard
   fields set by the option parser are kept. */
e2e_status e2e_run_meta_init(e2e_run_meta *m, const char *events, e2e_error *err);
/* Adds a tagger and checksums its model file (the strings are kept, not copied). */
e2e_status e2e_run_meta_add_model(e2e_run_meta *m, const char *tagger, const char *path,
                                  const char *channels, e2e_error *err);
/* The event range of the job (before processing): counts the events when --shard or
   --skip-events needs the count (else takes the header's), turns --shard into skip and
   max_events, and refuses a --skip-events at or past the end, naming the file's count.
   Prints "e2e run: ..." and returns -1 on an error. */
int e2e_run_part_range(e2e_run_meta *m, const char *events, uint64_t *skip, uint64_t *max_events);
/* After the last event: the status (complete, failed, interrupted) and the file's count
   when the job read to its end; a shard that got fewer events than its range fails. Prints
   the reason and sets *failed when the part did not finish. */
void e2e_run_part_end(e2e_run_meta *m, uint64_t n, uint64_t max_events, int *failed);
/* The CSV the part wrote, as it exists after the job (the final name, or NAME.partial when
   the job did not finish), and its size. */
void e2e_run_meta_set_output(e2e_run_meta *m, const char *csv_path, uint64_t bytes);
/* Writes the metadata as JSON members (each line starts with two spaces and ends with
   ",\n"), for inside the timing JSON's top-level object; events = events processed. */
void e2e_run_meta_json(FILE *f, const e2e_run_meta *m, uint64_t events);
/* A timing JSON that only says "running": written when the job starts, so that a killed
   job's part is recognised as unfinished. 0 or -1 (errno). */
int e2e_run_json_running(const char *path, const e2e_run_meta *m);

#endif
