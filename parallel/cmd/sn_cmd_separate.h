#pragma once
/* The command `specnmf separate`: spectrogram, NMF, one sound per component
 * or group of components by soft mask, mixture phase or Griffin-Lim, result.h5
 * and overview.png, in one MPI job (streamed when every column of W is
 * fixed). */
#include "sn_cmd_griffinlim.h" /* griffinlim was declared here: main.c and sn_cmd_mel.c find it through this header */
#include "sn_outdir.h"
#include "sn_run.h"

/* Collective over run->comm. Return the agreed code (SN_ERR_INTERRUPTED when a
 * signal stopped the NMF after writing a checkpoint). */
int sn_cmd_separate(sn_run *run, int argc, char **argv);

/* Collective. Write this rank's owned samples y (frames [y0, y0 + ny) of nch
 * interleaved channels, of length frames in all) as od->path/NAME.wav,
 * under a temporary name until complete; rank 0 remembers the file in od.
 * Used by separate's parts and griffinlim --templates. Returns the agreed
 * code. */
int sn_write_source(sn_run *run, sn_outdir *od, const char *name, double sr, int64_t length, int force, int64_t y0,
                    int64_t ny, const float *y, int nch);
