#pragma once
/* Commands built on the mel filterbank and the exact NNLS solver:
 *   specnmf mel        the mel spectrogram (librosa.feature.melspectrogram);
 *   specnmf mel-invert the linear magnitude back from a mel spectrogram
 *                      (librosa.feature.inverse.mel_to_stft, solved exactly).
 * Each is Collective over run->comm and returns an agreed code. */
#include "sn_run.h"

int sn_cmd_mel(sn_run *run, int argc, char **argv);
int sn_cmd_mel_invert(sn_run *run, int argc, char **argv);
