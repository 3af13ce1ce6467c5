#pragma once
/* Checkpoint requests by signal. A command that can checkpoint (nmf,
 * separate) catches SIGTERM and SIGUSR1 (Slurm's --signal) from its start to
 * its end: the handler only sets a flag, which the solver carries in its
 * per-iteration allreduce so that all ranks stop at the same iteration. A
 * signal that comes before the iterations is honoured at the first one; one
 * that comes after them lets the run finish. Local (one flag per process). */
#include <signal.h>

/* Local. Start catching SIGTERM and SIGUSR1 (clears the flag). */
void sn_signal_catch(void);

/* Local. Restore the previous handlers (the flag keeps its value). */
void sn_signal_release(void);

/* Local. The flag the handlers set (1 once a signal came). */
volatile sig_atomic_t *sn_signal_flag(void);
