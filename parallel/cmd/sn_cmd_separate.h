#pragma once
/* The commands `specnmf separate` (spectrogram, NMF, one sound per component
 * or group of components by soft mask, mixture phase or Griffin-Lim, result.h5
 * and overview.png, in one MPI job) and `specnmf griffinlim` (any stored
 * magnitude, or each column of a dictionary W, to audio by distributed fast
 * Griffin-Lim). */
#include "sn_pgriffinlim.h"
#include "sn_run.h"

/* Collective over run->comm. Return the agreed code (SN_ERR_INTERRUPTED when a
 * signal stopped the NMF after writing a checkpoint). */
int sn_cmd_separate(sn_run *run, int argc, char **argv);
int sn_cmd_griffinlim(sn_run *run, int argc, char **argv);

/* Collective. Audio from the magnitude block S (F x N frames, this rank's
 * frames of sn_block_range, ld F, power 1) by fast Griffin-Lim, written in
 * parallel to the WAV file `path` (created before the work, so that a bad path
 * fails early; under a temporary name until complete). length < 0: the stored
 * n_samples, else librosa's istft length. *sc receives the spectral
 * convergence. Returns the agreed code. */
int sn_griffinlim_write(sn_run *run, const sn_spec_params *par, int64_t N, const float *S, int64_t length,
                        const sn_gl_cfg *glc, const char *path, int force, double *sc);
