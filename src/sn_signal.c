/* Checkpoint requests by signal (see sn_signal.h). */
#include "sn_signal.h"

#include <string.h>

static volatile sig_atomic_t sn_signal_stop = 0;
static struct sigaction sn_old_term, sn_old_usr1;
static int sn_caught = 0;

static void sn_signal_on(int sig) {
  (void)sig;
  sn_signal_stop = 1;
}

void sn_signal_catch(void) {
  if (sn_caught) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sn_signal_on;
  sigemptyset(&sa.sa_mask);
  sn_signal_stop = 0;
  sigaction(SIGTERM, &sa, &sn_old_term);
  sigaction(SIGUSR1, &sa, &sn_old_usr1);
  sn_caught = 1;
}

void sn_signal_release(void) {
  if (!sn_caught) return;
  sigaction(SIGTERM, &sn_old_term, NULL);
  sigaction(SIGUSR1, &sn_old_usr1, NULL);
  sn_caught = 0;
}

volatile sig_atomic_t *sn_signal_flag(void) { return &sn_signal_stop; }
