/* A session's compute threads. The caller of e2e_pool_run takes part; workers spin briefly
   between jobs (a run is a burst of many short kernels) and then sleep. Nothing here
   allocates after creation. One pool per session: a pool is used by one thread at a time. */
#ifndef E2E_POOL_H
#define E2E_POOL_H

typedef struct e2e_pool e2e_pool;

typedef void (*e2e_pool_fn)(void *ctx, int task, int n_tasks);

/* threads <= 1 gives NULL, which every function below accepts (runs inline). */
e2e_pool *e2e_pool_create(int threads);
void e2e_pool_free(e2e_pool *p);
int e2e_pool_threads(const e2e_pool *p);
/* fn(ctx, t, n_tasks) for t in [0, n_tasks), spread over the threads; returns when all ran.
   Task t always runs the same work, so results do not depend on scheduling. */
void e2e_pool_run(e2e_pool *p, e2e_pool_fn fn, void *ctx, int n_tasks);
/* Index of the calling thread in the pool whose task it runs: 0 for the caller of
   e2e_pool_run (and for any thread outside a pool), 1 .. threads-1 for the workers. A task
   may use it to pick per-thread scratch memory: fewer bytes touched per run than scratch
   per task, so more of it is still in cache (it is a scheduling detail: results must not
   depend on it). */
int e2e_pool_thread_index(void);

#endif
