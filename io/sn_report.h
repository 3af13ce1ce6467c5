#pragma once
/* The run report: phase timers reduced over ranks, printed as a table and
 * written as one JSON file (--report) with the run's options, facts, sizes
 * and exit code. */
#include "sn_run.h"

/* Collective. Reduce the phase timers over ranks (min, max, mean, imbalance =
 * max/mean) and, if run->report is set, write the JSON report (atomically:
 * temporary name, then rename) with command, version, ranks, threads, BLAS,
 * Slurm job id, options, facts, phases and the exit code `rc`. Also prints the
 * phase table to stderr from rank 0 when verbose. Returns the agreed code. */
int sn_report_write(sn_run *run, int rc);
