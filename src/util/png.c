/* PNG writer (libpng). libpng reports errors by longjmp; the handler below turns them into
   an e2e_error. */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

#include "core/ir.h"
#include "util/png.h"

static void png_err(png_structp p, png_const_charp msg)
{
    char *buf = png_get_error_ptr(p);
    if (buf)
        snprintf(buf, 256, "%s", msg);
    png_longjmp(p, 1);
}

static void png_warn(png_structp p, png_const_charp msg) { (void)p; (void)msg; }

e2e_status e2e_png_write_rgb(const char *path, int w, int h, const uint8_t *rgb, e2e_error *err)
{
    if (w <= 0 || h <= 0 || w > 1 << 20 || h > 1 << 20 || !rgb)
        return e2e_fail(err, E2E_ERR_ARGUMENT, "%s: bad PNG size %dx%d", path, w, h);
    FILE *volatile f = fopen(path, "wb");
    if (!f)
        return e2e_fail(err, E2E_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    char msg[256] = "libpng error";
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, msg, png_err, png_warn);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!p || !info) {
        png_destroy_write_struct(p ? &p : NULL, NULL);
        fclose(f);
        remove(path);
        return e2e_fail(err, E2E_ERR_NOMEM, "%s: cannot start the PNG writer", path);
    }
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        fclose(f);
        remove(path);
        return e2e_fail(err, E2E_ERR_IO, "%s: %s", path, msg);
    }
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (int y = 0; y < h; y++)
        png_write_row(p, (png_const_bytep)(rgb + (size_t)y * w * 3));
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    if (fclose(f))
        return e2e_fail(err, E2E_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return E2E_OK;
}
