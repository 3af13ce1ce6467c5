#pragma once
/* The FFTW wisdom file of --wisdom (single precision, fftwf): read before
 * planning, written after it. Sharing the wisdom between ranks
 * (fftwf_mpi_broadcast/gather_wisdom) stays with the planner,
 * sn_pstft_plan in parallel/sn_pstft.c. */
#include "sn_base.h"

/* Local (rank 0). Add the wisdom of `path` to this process's FFTW wisdom. A
 * file that does not exist (or cannot be read) is no error: the first run
 * makes it. SN_ERR_INPUT "PATH: not an FFTW wisdom file" when it exists but
 * does not parse. */
int sn_wisdom_import(const char *path, sn_err *e);

/* Local (rank 0). Write this process's FFTW wisdom to `path` atomically
 * (io/sn_atomic.h). SN_ERR_IO "PATH: cannot write FFTW wisdom" on failure,
 * with no file left behind. */
int sn_wisdom_export(const char *path, sn_err *e);
