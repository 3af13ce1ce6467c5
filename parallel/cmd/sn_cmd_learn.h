#pragma once
/* The `specnmf learn` command: one source's dictionary W (F x R) from one or
 * many recordings of that source (audio files or stored spectrograms), their
 * frames side by side as one V split over ranks by global frame index, the
 * distributed NMF of V, and DICT.h5 with /dict/W and what it was learned from
 * (io/sn_dict.h). `separate --source NAME=DICT.h5` holds it fixed. */
#include "sn_run.h"

/* The defaults `learn` and `separate --source` share, chosen by measurement
 * (README "Named sources"): components per source and the loss. */
#define SN_LEARN_DEFAULT_K 32
/* frames of context each side of a column (learn --context; README "Named sources": chosen by measurement) */
#define SN_LEARN_DEFAULT_CONTEXT 2
#define SN_LEARN_DEFAULT_BETA "kl"

/* Collective over run->comm. Returns the agreed code (SN_ERR_INTERRUPTED
 * after writing a checkpoint on a signal). */
int sn_cmd_learn(sn_run *run, int argc, char **argv);
