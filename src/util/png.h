/* A small PNG writer over libpng: 8-bit RGB, no interlace. */
#ifndef E2E_PNG_H
#define E2E_PNG_H

#include <stdint.h>

#include "e2e.h"

/* rgb: h rows of w pixels, 3 bytes each (row-major). Errors name the path. */
e2e_status e2e_png_write_rgb(const char *path, int w, int h, const uint8_t *rgb, e2e_error *err);

#endif
