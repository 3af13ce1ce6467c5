#pragma once
/* Phase timers: a fixed table of phases; begin/end accumulate wall time on this
 * rank. io/sn_report reduces them over ranks (min, max, mean, imbalance)
 * and writes the JSON report. Local. */
#include "sn_base.h"

#define SN_PHASES(X) \
  X(SN_PH_READ, "read")           \
  X(SN_PH_RESAMPLE, "resample")   \
  X(SN_PH_PLAN, "plan")           \
  X(SN_PH_STFT, "stft")           \
  X(SN_PH_INIT, "init")           \
  X(SN_PH_NMF_W, "nmf_w")         \
  X(SN_PH_NMF_H, "nmf_h")         \
  X(SN_PH_LOSS, "loss")           \
  X(SN_PH_ALLREDUCE, "allreduce") \
  X(SN_PH_NNLS, "nnls")           \
  X(SN_PH_MEL, "mel")             \
  X(SN_PH_GRIFFINLIM, "griffinlim") \
  X(SN_PH_ISTFT, "istft")         \
  X(SN_PH_HALO, "halo")           \
  X(SN_PH_CHECKPOINT, "checkpoint") \
  X(SN_PH_WRITE, "write")         \
  X(SN_PH_PLOT, "plot")           \
  X(SN_PH_CORRELATE, "correlate") \
  X(SN_PH_PROJECT, "project")     \
  X(SN_PH_TOTAL, "total")

enum sn_phase {
#define SN_PH_ENUM_(name, text) name,
  SN_PHASES(SN_PH_ENUM_)
#undef SN_PH_ENUM_
  SN_NPHASES
};

typedef struct sn_timer {
  double acc[SN_NPHASES];   /* accumulated seconds */
  double t0[SN_NPHASES];    /* start of the open interval, 0 if closed */
  int64_t calls[SN_NPHASES];
  double bytes_reduced;     /* bytes moved through collectives (summed by callers) */
} sn_timer;

const char *sn_phase_name(int phase);
void sn_timer_begin(sn_timer *t, int phase);
void sn_timer_end(sn_timer *t, int phase);
/* Local. 1 while some phase other than SN_PH_TOTAL is open (a step nested
 * in it counts to it). */
int sn_timer_any_open(const sn_timer *t);
