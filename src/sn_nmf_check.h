#pragma once
/* Local checks on the matrix an NMF factorizes (MPI-free: the callers agree). */
#include <stdint.h>

#include "sn_base.h"

/* Local. V block (F x n, ld F, global columns col0..col0+n) must be finite and
 * nonnegative, and without zeros when beta <= 0 (as sklearn). SN_ERR_INPUT
 * "PATH: WHAT has ... at (bin, frame)" on the first bad entry. */
int sn_nmf_check_v(const float *V, int64_t F, int64_t n, int64_t col0, double beta, const char *path,
                   const char *what, sn_err *e);
