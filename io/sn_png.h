#pragma once
/* PNG output of 8-bit RGB pictures through libpng (CMake defines SN_HAVE_PNG
 * when it is found), written under a temporary name and renamed, so a failed
 * write leaves nothing. */
#include "sn_base.h"

/* Local. Write w x h RGB pixels (rows top to bottom, 3 bytes a pixel) to path.
 * SN_ERR_IO "PATH: cannot write: REASON"; SN_ERR_INTERNAL when built without
 * libpng. */
int sn_png_write(const char *path, int w, int h, const unsigned char *rgb, sn_err *e);
