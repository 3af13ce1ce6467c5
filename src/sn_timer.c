/* Phase timers (see sn_timer.h). */
#include "sn_timer.h"

const char *sn_phase_name(int phase) {
  static const char *names[] = {
#define SN_PH_NAME_(name, text) text,
      SN_PHASES(SN_PH_NAME_)
#undef SN_PH_NAME_
  };
  return (phase >= 0 && phase < SN_NPHASES) ? names[phase] : "?";
}

void sn_timer_begin(sn_timer *t, int phase) {
  if (!t) return;
  if (t->t0[phase] == 0.0) sn_fault_push(sn_phase_name(phase));
  t->t0[phase] = sn_wtime();
}

void sn_timer_end(sn_timer *t, int phase) {
  if (!t || t->t0[phase] == 0.0) return;
  sn_fault_pop(sn_phase_name(phase));
  t->acc[phase] += sn_wtime() - t->t0[phase];
  t->t0[phase] = 0.0;
  t->calls[phase]++;
}

int sn_timer_any_open(const sn_timer *t) {
  for (int p = 0; t && p < SN_NPHASES; p++)
    if (p != SN_PH_TOTAL && t->t0[p] != 0.0) return 1;
  return 0;
}
