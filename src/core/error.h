/* Error reporting shared by every layer (ground layer: no dependency but the public API). */
#ifndef E2E_ERROR_H
#define E2E_ERROR_H

#include "e2e.h"

/* Sets err (if not NULL) and returns st. */
e2e_status e2e_fail(e2e_error *err, e2e_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes err->message (if err) with the given text (context such as the event and section). */
void e2e_error_prefix(e2e_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
