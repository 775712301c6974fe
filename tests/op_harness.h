/* Test harness: run one ONNX operator through the public session API, with the model
   built directly in IR form (no protobuf). Used by the kernel tests to compare kernels
   with naive references on random shapes.

     oh_node *n = oh_new("Conv", 13);
     oh_attr_ints(n, "pads", (int64_t[]){1,1,1,1}, 4);
     oh_input(n, E2E_FLOAT, 4, xd, x, false);     // graph input
     oh_input(n, E2E_FLOAT, 4, wd, w, true);      // initializer (constant)
     e2e_tensor_view out[1];
     assert_int_equal(oh_run(n, 1, out, &err), E2E_OK);   // out[0].data valid until oh_free
     oh_free(n);
*/
#ifndef OP_HARNESS_H
#define OP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "e2e.h"

typedef struct oh_node oh_node;

oh_node *oh_new(const char *op_type, int opset);
void oh_attr_int(oh_node *n, const char *name, int64_t v);
void oh_attr_float(oh_node *n, const char *name, float v);
void oh_attr_ints(oh_node *n, const char *name, const int64_t *v, int count);
void oh_attr_floats(oh_node *n, const char *name, const float *v, int count);
void oh_attr_string(oh_node *n, const char *name, const char *v);
/* Adds the next input. data is copied. as_const: an initializer instead of a graph input. */
void oh_input(oh_node *n, e2e_dtype dt, int rank, const int64_t *dims, const void *data,
              bool as_const);
void oh_input_none(oh_node *n); /* an omitted optional input */
/* Builds the one-node model, creates a session (threads from opt, may be NULL), runs it.
   outs[i] receive the outputs; their data stays valid until oh_free. */
e2e_status oh_run_opt(oh_node *n, int n_out, e2e_tensor_view *outs,
                      const e2e_session_options *opt, e2e_error *err);
e2e_status oh_run(oh_node *n, int n_out, e2e_tensor_view *outs, e2e_error *err);
void oh_free(oh_node *n);

/* ---- the tests' shared helpers (one place; the tests keep no copies) ---- */

/* Deterministic uniform floats in [lo, hi). */
void oh_fill_random(float *x, int64_t n, float lo, float hi, uint64_t *state);
/* Largest |a-b| / (atol + rtol*|b|) over n values: <= 1 means within tolerance. */
double oh_max_err_ratio(const float *a, const float *b, int64_t n, double rtol, double atol);
/* A uniform integer in [lo, hi] (inclusive) from the same stream as oh_fill_random. */
int oh_rand_int(int lo, int hi, uint64_t *state);
/* n uniform floats in [-1, 1) in a malloc'ed buffer of n + 1 (never 0 bytes); caller frees. */
float *oh_rand_buf(int64_t n, uint64_t *state);
/* Uniform in [lo, hi) from a 64-bit LCG (the fusion tests' stream; 24 bits of the state). */
float oh_lcg_float(uint64_t *state, float lo, float hi);
int64_t oh_numel(int rank, const int64_t *dims);
/* cmocka checks: a float output of n values within rtol/atol of ref (fails naming `what`),
   and a view's shape. */
void oh_expect_close(const e2e_tensor_view *got, const float *ref, int64_t n, double rtol,
                     double atol, const char *what);
void oh_expect_shape(const e2e_tensor_view *v, int rank, const int64_t *dims);

/* Models from bytes: the builder's model (b stays the caller's), or the model builder's
   architecture c with weights from seed. Fail the test on error; free with e2e_model_free. */
struct e2e_ob;
struct e2e_model_config;
e2e_model *oh_model_pack(struct e2e_ob *b, const char *name);
e2e_model *oh_model_build(const struct e2e_model_config *c, uint64_t seed, const char *name);
/* The graph models' inputs (models/models.h) over the caller's arrays: in[0..3] = points
   [n, 2, p], features [n, c, p], mask [n, 1, p], seed [n, 3]; seed is filled with 1, 2, ... */
void oh_graph_views(e2e_tensor_view in[4], int n, int c, int p, float *points, float *features,
                    float *mask, float *seed);
/* A session at optimize / threads (other options default); fails the test on error. */
e2e_session *oh_session_open(const e2e_model *m, int optimize, int threads);
/* The same at instruction-set level isa (E2E_ISA_AUTO: the default level). */
e2e_session *oh_session_open_isa(const e2e_model *m, int optimize, e2e_isa_level isa,
                                 int threads);
/* Kernels of a session running op_type (after fusion). */
int oh_count_op(const e2e_session *s, const char *op_type);
/* A malloc'd copy of the session's float output 0 (*n its elements); fails the test on error. */
float *oh_output_copy(const e2e_session *s, int64_t *n);

/* ---- heap-allocation counting (kernels' run must not allocate) ----
   op_harness.c defines malloc and friends for every test binary: they count their calls
   while oh_counting is set and pass them on to glibc. Not under AddressSanitizer or
   ThreadSanitizer, whose allocators must own every block (and whose start-up allocates before
   the interposed malloc may run: make tsan crashed in it): there OH_NO_COUNTING is defined,
   nothing is interposed, and the tests that count say they skip. oh_raw_malloc/oh_raw_free
   are glibc's own. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OH_NO_COUNTING 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define OH_NO_COUNTING 1
#endif
#endif
extern volatile int oh_counting;
extern volatile long oh_allocations;
void *oh_raw_malloc(size_t n);
void oh_raw_free(void *p);

#endif
