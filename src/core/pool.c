/* Thread pool: a generation counter publishes a job; tasks are claimed with an atomic
   counter; the caller waits for the done count. Short spin, then a condition variable.
   Generations are even while a job is open and odd while the caller replaces it: a worker
   counts itself in `busy` before it reads the job, then checks the generation again; the
   caller closes the old job and waits for busy == 0 before it writes the next one, so a
   late worker never reads a half-written job or claims a task of the wrong one. */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/pool.h"

#define SPIN_ITERS 20000 /* ~ tens of microseconds: covers the gap between two kernels */

struct e2e_pool {
    int threads;                /* including the caller */
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint generation;     /* even: a job is open; odd: the caller is replacing it */
    atomic_int busy;            /* workers between claiming a generation and leaving it */
    atomic_int next_task, done_tasks;
    atomic_int stop;
    atomic_int ids;             /* worker indices handed out (e2e_pool_thread_index) */
    e2e_pool_fn fn;
    void *ctx;
    int n_tasks;
};

static _Thread_local int thread_index; /* 0: not a worker */

int e2e_pool_thread_index(void) { return thread_index; }

static void take_tasks(e2e_pool *p)
{
    for (;;) {
        int t = atomic_fetch_add_explicit(&p->next_task, 1, memory_order_acq_rel);
        if (t >= p->n_tasks)
            break;
        p->fn(p->ctx, t, p->n_tasks);
        atomic_fetch_add_explicit(&p->done_tasks, 1, memory_order_acq_rel);
    }
}

static bool job_open(e2e_pool *p, unsigned seen, unsigned *g)
{
    *g = atomic_load_explicit(&p->generation, memory_order_acquire);
    return *g != seen && !(*g & 1);
}

static void *worker(void *arg)
{
    e2e_pool *p = arg;
    thread_index = atomic_fetch_add(&p->ids, 1) + 1;
    unsigned seen = atomic_load(&p->generation);
    for (;;) {
        unsigned g;
        int spins = 0;
        while (!job_open(p, seen, &g) && !atomic_load(&p->stop)) {
            if (++spins < SPIN_ITERS) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (!job_open(p, seen, &g) && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        atomic_fetch_add(&p->busy, 1);           /* seq_cst: pairs with the caller's close */
        if (atomic_load(&p->generation) == g) {  /* still open: the job description is stable */
            seen = g;
            take_tasks(p);
        }
        atomic_fetch_sub_explicit(&p->busy, 1, memory_order_release);
    }
}

e2e_pool *e2e_pool_create(int threads)
{
    if (threads <= 1)
        return NULL;
    e2e_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = threads;
    p->workers = calloc((size_t)threads, sizeof(pthread_t));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    int started = 0;
    for (int i = 0; p->workers && i < threads - 1; i++)
        if (pthread_create(&p->workers[i], NULL, worker, p) == 0)
            started++;
    p->threads = started + 1;
    return p;
}

void e2e_pool_free(e2e_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->threads - 1; i++)
        pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p->workers);
    free(p);
}

int e2e_pool_threads(const e2e_pool *p) { return p ? p->threads : 1; }

void e2e_pool_run(e2e_pool *p, e2e_pool_fn fn, void *ctx, int n_tasks)
{
    if (n_tasks <= 0)
        return;
    /* the caller is thread 0 of this pool, even if it is a worker of another one */
    const int outer = thread_index;
    thread_index = 0;
    if (!p || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, n_tasks);
        thread_index = outer;
        return;
    }
    /* close the previous job; wait until no worker is still inside it */
    atomic_fetch_add(&p->generation, 1);         /* odd; seq_cst: pairs with the workers' busy */
    while (atomic_load(&p->busy)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store(&p->done_tasks, 0);
    atomic_store(&p->next_task, 0);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release); /* even: open */
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    take_tasks(p);
    while (atomic_load_explicit(&p->done_tasks, memory_order_acquire) < n_tasks) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    thread_index = outer;
}
