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

/* Deterministic uniform floats in [lo, hi). */
void oh_fill_random(float *x, int64_t n, float lo, float hi, uint64_t *state);
/* Largest |a-b| / (atol + rtol*|b|) over n values: <= 1 means within tolerance. */
double oh_max_err_ratio(const float *a, const float *b, int64_t n, double rtol, double atol);

#endif
