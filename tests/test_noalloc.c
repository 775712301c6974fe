/* `run` makes no heap allocation: malloc and friends are interposed in this binary and
   counted while a session runs the trained E/Gamma SimpleNet and a crafted graph. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"

#include "op_harness.h"

#define EG "../shared/models/eg_simplenet_trained/model.onnx"

static void run_counted(const char *path, int threads, int64_t batch)
{
    e2e_error err;
    e2e_model *m = NULL;
    assert_int_equal(e2e_model_load_file(path, &m, &err), E2E_OK);
    e2e_session_options o = e2e_session_options_default();
    o.threads = threads;
    o.default_batch = batch;
    e2e_session *s = NULL;
    if (e2e_session_create(m, &o, &s, &err))
        fail_msg("%s", err.message);
    e2e_tensor_view in;
    e2e_session_input(s, 0, &in);
    int64_t n = e2e_tensor_view_numel(&in);
    float *x = oh_raw_malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((i * 7919) % 101) / 10.f;
    in.data = x;
    assert_int_equal(e2e_session_run(s, &in, 1, &err), E2E_OK); /* warm-up (BLAS buffers) */
    oh_allocations = 0;
    oh_counting = 1;
    for (int r = 0; r < 20; r++)
        e2e_session_run(s, &in, 1, &err);
    oh_counting = 0;
    assert_int_equal(oh_allocations, 0);
    e2e_tensor_view out;
    e2e_session_output(s, 0, &out);
    assert_true(((float *)out.data)[0] >= 0.f && ((float *)out.data)[0] <= 1.f);
    oh_raw_free(x);
    e2e_session_free(s);
    e2e_model_free(m);
}

static void test_eg_simplenet(void **state)
{
#ifdef OH_NO_COUNTING
    printf("skipped: allocation counting needs malloc interposition, which AddressSanitizer owns\n");
    skip();
#endif
    struct stat st;
    if (stat(EG, &st) != 0) {
        printf("skipped: %s not found (run from the repository root with ../shared beside it)\n", EG);
        skip();
    }
    run_counted(EG, 1, 1);
    run_counted(EG, 1, 7);
    run_counted(EG, 2, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eg_simplenet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
