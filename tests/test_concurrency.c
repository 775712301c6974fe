/* One model, several sessions in parallel threads: every output is bit-identical to a
   single-thread reference. 4 threads x 1,000 runs of the trained E/Gamma SimpleNet (skipped
   when ../shared/models is absent), each thread with its own session created concurrently
   from the one shared model, cycling through 8 different input batches; the same with a
   small ViT from the model builder (always available), and with sessions that use 2 compute
   threads each. Also run under ThreadSanitizer by `make tsan` (mk/fuzz.mk).
   E2E_CONCURRENCY_RUNS overrides the runs per thread (default 1000). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"
#include "models/models.h"
#include "core/pool.h"

#include "op_harness.h"

#define EG "../shared/models/eg_simplenet_trained/model.onnx"
#define N_THREADS 4
#define N_INPUTS 8

typedef struct job {
    const e2e_model *model;
    int session_threads;
    int64_t batch;
    int runs;
    float *const *inputs;    /* N_INPUTS batches */
    float *const *expected;  /* their outputs from the reference session */
    size_t in_numel, out_numel;
    int thread;
    /* results */
    int mismatches, failures, done;
    char message[256];
} job;

static int runs_per_thread(void)
{
    const char *e = getenv("E2E_CONCURRENCY_RUNS");
    int n = e ? atoi(e) : 1000;
    return n > 0 ? n : 1000;
}

static e2e_session *make_session(const e2e_model *m, int threads, int64_t batch, e2e_error *err)
{
    e2e_session_options o = e2e_session_options_default();
    o.threads = threads;
    o.default_batch = batch;
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, err))
        return NULL;
    return s;
}

static e2e_status run_once(e2e_session *s, float *x, e2e_error *err, const float **y)
{
    e2e_tensor_view in;
    e2e_session_input(s, 0, &in);
    in.name = NULL;
    in.data = x;
    e2e_status st = e2e_session_run(s, &in, 1, err);
    if (st)
        return st;
    e2e_tensor_view out;
    e2e_session_output(s, 0, &out);
    *y = out.data;
    return E2E_OK;
}

static void *worker(void *arg)
{
    job *j = arg;
    e2e_error err;
    e2e_session *s = make_session(j->model, j->session_threads, j->batch, &err);
    if (!s) {
        j->failures++;
        snprintf(j->message, sizeof j->message, "session: %.200s", err.message);
        return NULL;
    }
    for (int r = 0; r < j->runs; r++) {
        int k = (r * 5 + j->thread * 3) % N_INPUTS; /* threads visit the inputs in different orders */
        const float *y = NULL;
        if (run_once(s, j->inputs[k], &err, &y)) {
            j->failures++;
            snprintf(j->message, sizeof j->message, "run %d: %.200s", r, err.message);
            break;
        }
        if (memcmp(y, j->expected[k], j->out_numel * sizeof(float))) {
            if (!j->mismatches++)
                snprintf(j->message, sizeof j->message, "run %d (input %d) differs from the reference", r, k);
        }
        j->done++;
    }
    e2e_session_free(s);
    return NULL;
}

/* Reference outputs with one session on this thread, then N_THREADS threads in parallel. */
static void check_parallel(const e2e_model *m, int session_threads, int64_t batch, int runs)
{
    e2e_error err;
    e2e_session *ref = make_session(m, session_threads, batch, &err);
    if (!ref)
        fail_msg("reference session: %s", err.message);
    e2e_tensor_view iv, ov;
    e2e_session_input(ref, 0, &iv);
    size_t in_numel = (size_t)e2e_tensor_view_numel(&iv);
    float *inputs[N_INPUTS], *expected[N_INPUTS];
    size_t out_numel = 0;
    uint32_t rng = 12345u;
    for (int k = 0; k < N_INPUTS; k++) {
        inputs[k] = malloc(sizeof(float) * in_numel);
        for (size_t i = 0; i < in_numel; i++) {
            rng = rng * 1664525u + 1013904223u;
            /* sparse energies as in the E/Gamma frames, some inputs all zero */
            float u = (float)(rng >> 8) / 16777216.f;
            inputs[k][i] = (k == 3 || u < 0.8f) ? 0.f : 80.f * (u - 0.8f) * 5.f;
        }
        const float *y = NULL;
        if (run_once(ref, inputs[k], &err, &y))
            fail_msg("reference run: %s", err.message);
        e2e_session_output(ref, 0, &ov);
        out_numel = (size_t)e2e_tensor_view_numel(&ov);
        expected[k] = malloc(sizeof(float) * out_numel);
        memcpy(expected[k], y, sizeof(float) * out_numel);
    }
    /* the reference session itself is repeatable */
    const float *y = NULL;
    assert_int_equal(run_once(ref, inputs[0], &err, &y), E2E_OK);
    assert_memory_equal(y, expected[0], sizeof(float) * out_numel);
    e2e_session_free(ref);

    pthread_t th[N_THREADS];
    job jobs[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        jobs[t] = (job){.model = m, .session_threads = session_threads, .batch = batch,
                        .runs = runs, .inputs = inputs, .expected = expected,
                        .in_numel = in_numel, .out_numel = out_numel, .thread = t};
        assert_int_equal(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
    }
    int bad = 0;
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(th[t], NULL);
        if (jobs[t].failures || jobs[t].mismatches || jobs[t].done != runs) {
            bad++;
            print_error("thread %d: %d runs, %d mismatches, %d failures: %s\n", t, jobs[t].done,
                        jobs[t].mismatches, jobs[t].failures, jobs[t].message);
        }
    }
    for (int k = 0; k < N_INPUTS; k++) {
        free(inputs[k]);
        free(expected[k]);
    }
    printf("%d threads x %d runs (sessions of %d thread%s, batch %lld): bit-identical\n",
           N_THREADS, runs, session_threads, session_threads > 1 ? "s" : "", (long long)batch);
    assert_int_equal(bad, 0);
}

static void test_eg_simplenet_4_threads(void **state)
{
    struct stat st;
    if (stat(EG, &st) != 0) {
        printf("skipped: %s not found (run from the repository root with ../shared beside it)\n", EG);
        skip();
    }
    e2e_error err;
    e2e_model *m = NULL;
    if (e2e_model_load_file(EG, &m, &err))
        fail_msg("%s", err.message);
    check_parallel(m, 1, 4, runs_per_thread());
    e2e_model_free(m);
}

static e2e_model *small_vit(void)
{
    e2e_model_config c = {.arch = E2E_ARCH_VIT, .channels = 2, .height = 16, .width = 16,
                              .patch = 4, .embed = 32, .depth = 2, .heads = 2, .mlp = 64,
                              .name = "conc_vit"};
    return oh_model_build(&c, 11, "conc_vit");
}

static void test_vit_4_threads(void **state)
{
    e2e_model *m = small_vit();
    int runs = runs_per_thread() / 4;
    check_parallel(m, 1, 3, runs > 0 ? runs : 1);
    e2e_model_free(m);
}

/* Sessions with their own compute pools (2 threads each), 4 of them at once: 12 threads. */
static void test_pooled_sessions_4_threads(void **state)
{
    e2e_model *m = small_vit();
    int runs = runs_per_thread() / 10;
    check_parallel(m, 2, 8, runs > 0 ? runs : 1);
    e2e_model_free(m);
}

/* e2e_pool_thread_index: the caller is 0, each worker a distinct index below the pool's
   thread count, stable over jobs (kernels pick per-thread scratch with it). */
typedef struct index_job {
    int seen[256];
    _Atomic int calls;
} index_job;

static void record_index(void *ctx, int t, int n)
{
    index_job *j = ctx;
    j->seen[t] = e2e_pool_thread_index();
    atomic_fetch_add(&j->calls, 1);
    for (volatile int spin = 0; spin < 20000; spin++) /* long enough for the workers to join */
        ;
    (void)n;
}

typedef struct nested_job {
    e2e_pool *inner;
    _Atomic int arrived;
    int threads;
    int inner_caller[8], before[8], after[8];
} nested_job;

static void first_index(void *ctx, int t, int n)
{
    if (t == 0)
        *(int *)ctx = e2e_pool_thread_index();
    (void)n;
}

/* One task per thread of the outer pool: each waits until all have started, so each runs
   on its own thread (a waiting thread cannot take a second task), workers included. */
static void nested_task(void *ctx, int t, int n)
{
    nested_job *j = ctx;
    j->before[t] = e2e_pool_thread_index();
    atomic_fetch_add(&j->arrived, 1);
    while (atomic_load(&j->arrived) < j->threads)
        ;
    e2e_pool_run(j->inner, first_index, &j->inner_caller[t], 1); /* one task: run by the caller */
    j->after[t] = e2e_pool_thread_index();
    (void)n;
}

static void test_pool_thread_index(void **state)
{
    (void)state;
    assert_int_equal(e2e_pool_thread_index(), 0);
    e2e_pool *pool = e2e_pool_create(3);
    assert_non_null(pool);
    int threads = e2e_pool_threads(pool);
    int used[8] = {0};
    for (int round = 0; round < 20; round++) {
        index_job j = {.calls = 0};
        e2e_pool_run(pool, record_index, &j, 256);
        assert_int_equal(atomic_load(&j.calls), 256);
        for (int t = 0; t < 256; t++) {
            assert_in_range(j.seen[t], 0, threads - 1);
            used[j.seen[t]]++;
        }
    }
    assert_int_equal(e2e_pool_thread_index(), 0); /* the caller's own index after the jobs */
    /* a pool run from inside a task of another pool: its caller is thread 0 there, and gets
       its own index back afterwards */
    e2e_pool *inner = e2e_pool_create(2);
    nested_job nj = {.inner = inner, .threads = threads};
    e2e_pool_run(pool, nested_task, &nj, threads);
    bool seen_worker = false;
    for (int t = 0; t < threads; t++) {
        assert_int_equal(nj.inner_caller[t], 0);
        assert_int_equal(nj.after[t], nj.before[t]);
        seen_worker = seen_worker || nj.before[t] > 0;
    }
    assert_true(threads < 2 || seen_worker);
    e2e_pool_free(inner);
    assert_true(used[0] > 0);                      /* the caller takes part */
    /* and so do the workers, under their own indices (20 jobs of ~5 ms: they wake) */
    int by_workers = 0;
    for (int i = 1; i < threads; i++)
        by_workers += used[i];
    assert_true(threads < 2 || by_workers > 0);
    e2e_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eg_simplenet_4_threads),
        cmocka_unit_test(test_vit_4_threads),
        cmocka_unit_test(test_pooled_sessions_4_threads),
        cmocka_unit_test(test_pool_thread_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
