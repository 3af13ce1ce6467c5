#pragma once
/* The commands `specnmf separate` (spectrogram, NMF, one sound per component
 * or group of components by soft mask, mixture phase or Griffin-Lim, result.h5
 * and overview.png, in one MPI job) and `specnmf griffinlim` (any stored
 * magnitude, or each column of a dictionary W, to audio by distributed fast
 * Griffin-Lim). */
#include "sn_run.h"

/* Collective over run->comm. Return the agreed code (SN_ERR_INTERRUPTED when a
 * signal stopped the NMF after writing a checkpoint). */
int sn_cmd_separate(sn_run *run, int argc, char **argv);
int sn_cmd_griffinlim(sn_run *run, int argc, char **argv);
