/* Counting NaN / +Inf / -Inf in float inputs, for `infer` and `run --frames`: such values
   are refused by default (the event reader refuses them too) because what a model does with
   them depends on the kernels (fused ones may drop a NaN the plain graph propagates). */
#include <math.h>
#include <stdio.h>

#include "cli/cli.h"

void e2e_cli_nonfinite_count(const float *x, size_t n, uint64_t offset, e2e_cli_nonfinite *c)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (isfinite(v))
            continue;
        if (isnan(v))
            c->nan++;
        else if (v > 0)
            c->pinf++;
        else
            c->ninf++;
        if (c->first < 0)
            c->first = (int64_t)(offset + i);
    }
}

uint64_t e2e_cli_nonfinite_total(const e2e_cli_nonfinite *c)
{
    return c->nan + c->pinf + c->ninf;
}

void e2e_cli_nonfinite_index(const e2e_cli_nonfinite *c, int rank, const int64_t *dims,
                             char *buf, size_t n)
{
    int64_t idx[E2E_MAX_RANK], f = c->first;
    for (int d = rank - 1; d >= 0; d--) {
        int64_t m = dims[d] > 0 ? dims[d] : 1;
        idx[d] = f % m;
        f /= m;
    }
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < rank && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)idx[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}
