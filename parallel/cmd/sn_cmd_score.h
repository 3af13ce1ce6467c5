#pragma once
/* The command `specnmf score`: BSS Eval v3 as mir_eval's bss_eval_sources
 * (SDR, SIR, SAR, 512-tap distortion filter) and SI-SDR of estimated sources
 * against reference sources, with the assignment of estimates to references,
 * into one JSON file. Ranks share the time axis of every (estimate, reference)
 * correlation and the projection solves. */
#include "sn_run.h"

/* Collective over run->comm. Returns the agreed code; on any failure no
 * output file is left. */
int sn_cmd_score(sn_run *run, int argc, char **argv);
