#pragma once
/* The `specnmf nmf` command: read the magnitude spectrogram V (F x N) of an
 * stft output as column blocks, start W and H (random, NNDSVD variants, a
 * file, fixed dictionary columns), run the distributed NMF (parallel/sn_pnmf)
 * and write /nmf/W, /nmf/H, /nmf/loss with the run's attributes. */
#include "sn_run.h"

/* Collective over run->comm. Returns the agreed code (SN_ERR_INTERRUPTED when
 * a signal stopped the run after writing a checkpoint). */
int sn_cmd_nmf(sn_run *run, int argc, char **argv);
