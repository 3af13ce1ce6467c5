/* PNG writer (see sn_png.h). */
#include "sn_png.h"
#include "sn_atomic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef SN_HAVE_PNG
#include <png.h>

int sn_png_write(const char *path, int w, int h, const unsigned char *rgb, sn_err *e) {
  sn_atomic out;
  if (sn_atomic_begin(&out, path, NULL) != 0) return SN_FAIL(e, SN_ERR_IO, "%s: cannot write: %s", path, strerror(ENAMETOOLONG));
  FILE *fp = fopen(out.tmp, "wb");
  if (!fp) {
    int err = errno;
    sn_atomic_abort(&out);
    return SN_FAIL(e, SN_ERR_IO, "%s: cannot write: %s", path, strerror(err));
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    fclose(fp);
    sn_atomic_abort(&out);
    return SN_FAIL(e, SN_ERR_NOMEM, "%s: libpng: out of memory", path);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fclose(fp);
    sn_atomic_abort(&out);
    return SN_FAIL(e, SN_ERR_IO, "%s: cannot write the PNG", path);
  }
  png_init_io(png, fp);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * (size_t)w * 3));
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  int bad = ferror(fp);
  if (fclose(fp) != 0 || bad) {
    int err = errno;
    sn_atomic_abort(&out);
    return SN_FAIL(e, SN_ERR_IO, "%s: cannot write: %s", path, strerror(err));
  }
  int err = sn_atomic_commit(&out);
  if (err) return SN_FAIL(e, SN_ERR_IO, "%s: cannot write: %s", path, strerror(err));
  return SN_OK;
}
#else
int sn_png_write(const char *path, int w, int h, const unsigned char *rgb, sn_err *e) {
  (void)w, (void)h, (void)rgb;
  return SN_FAIL(e, SN_ERR_INTERNAL, "%s: specnmf was built without libpng", path);
}
#endif
