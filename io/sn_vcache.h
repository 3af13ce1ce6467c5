#pragma once
/* A rank's spectrogram block spilled to a scratch file, for solvers that walk
 * V in slices (--solver online): the frames are written once, in order, as
 * they are computed or read, and read back slice by slice with pread, so only
 * a slice is in memory (the page cache may keep the rest; that is the
 * kernel's memory, given back under pressure). The file is raw float32,
 * column-major, F floats per frame. It is unlinked as soon as it is created:
 * nothing is left behind, even after a kill. Local. */
#include <stdint.h>

#include "sn_base.h"
#include "sn_frames.h"

typedef struct sn_vcache sn_vcache;

/* Local. A cache of frames of F bins in folder dir ("." when NULL or empty).
 * SN_ERR_IO "DIR: cannot create a scratch file (...)". */
int sn_vcache_open(const char *dir, int64_t F, sn_vcache **c, sn_err *e);

/* Local. Frames [j0, j0 + m) from V (F x m, ld F). SN_ERR_IO on a short write
 * (e.g. the folder's disk is full). */
int sn_vcache_put(sn_vcache *c, int64_t j0, int64_t m, const float *V, sn_err *e);

/* Local. The source of the cache's first n frames (valid while c is open). */
sn_frames sn_vcache_frames(sn_vcache *c, int64_t n);

/* Local. Close (the file is already unlinked); safe on NULL. */
void sn_vcache_close(sn_vcache **c);
