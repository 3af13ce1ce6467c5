#pragma once
/* Commands built on the exact NNLS solver and the mel filterbank:
 *   specnmf nnls       X >= 0 minimising ||A X - B||_F for a stored basis A and a
 *                      distributed B (each rank solves its own column block);
 *   specnmf mel        the mel spectrogram (librosa.feature.melspectrogram);
 *   specnmf mel-invert the linear magnitude back from a mel spectrogram
 *                      (librosa.feature.inverse.mel_to_stft, solved exactly).
 * Each is Collective over run->comm and returns an agreed code; ranks talk
 * only to agree on errors, to sum the statistics, and in the HDF5 I/O. */
#include "sn_run.h"

int sn_cmd_nnls(sn_run *run, int argc, char **argv);
int sn_cmd_mel(sn_run *run, int argc, char **argv);
int sn_cmd_mel_invert(sn_run *run, int argc, char **argv);
