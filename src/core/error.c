/* The one error helper of the library: every layer reports through e2e_fail (and prefixes
   context with e2e_error_prefix); kernels use e2e_kfail (ops/op.h), which formats the node
   and calls this. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

const char *e2e_status_name(e2e_status s)
{
    static const char *names[] = {"ok", "io", "parse", "unsupported", "invalid", "shape",
                                  "argument", "nomem", "limit", "dynamic", "device"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

e2e_status e2e_fail(e2e_error *err, e2e_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

void e2e_error_prefix(e2e_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[512];
    va_list ap;
    va_start(ap, fmt);
    int h = vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (h <= 0)
        return;
    size_t hl = (size_t)h < sizeof head ? (size_t)h : sizeof head - 1;
    size_t cap = sizeof err->message, ol = strnlen(err->message, cap - 1);
    if (hl + ol > cap - 1)
        ol = cap - 1 - hl;
    memmove(err->message + hl, err->message, ol);
    memcpy(err->message, head, hl);
    err->message[hl + ol] = 0;
}
