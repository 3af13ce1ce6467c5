#pragma once
/* Distributed online (mini-batch) NMF, as scikit-learn 1.2's MiniBatchNMF
 * with X = V^T. A global mini-batch is a contiguous slice of every rank's
 * frames (each rank's slice ~ its share of --batch-size): each rank updates
 * its slice's H columns locally, and the W statistics of the step are summed
 * with one MPI_Allreduce (F x R numerator + denominator + a few scalars,
 * whatever N). Deterministic for a given rank count; the slices, so the
 * results, depend on it (one rank: sklearn's batches). The written H is a
 * final pass over every frame with W fixed (sklearn's transform). */
#include <stdint.h>
#include "sn_pnmf.h"

/* The online solver's monitor (as sn_pnmf_monitor): what it hears, the same
 * on every rank. */
enum { SN_PONLINE_MON_START = 0, SN_PONLINE_MON_PASS, SN_PONLINE_MON_TOL, SN_PONLINE_MON_STALL, SN_PONLINE_MON_DONE };

typedef struct sn_ponline_progress {
  int event;                /* START: before the first step; PASS: at the end of each
                               pass (and the last step); TOL, STALL: the early stops
                               (W's change <= tol; no improvement); DONE: after the
                               final transform */
  int64_t step, pass;       /* steps done; the pass (PASS), passes started (DONE) */
  double cost, smoothed;    /* PASS: the step's mean batch cost, its smoothed value */
  double change;            /* TOL: W's relative change */
  int64_t no_improvement;   /* STALL: steps without a lower smoothed cost */
  int64_t batch, steps_per_pass; /* START: frames per mini-batch, positions per pass */
  double forget_factor, rho;     /* START */
  int fresh_restarts;            /* START */
  double loss;              /* DONE: beta-divergence of V and the final W H */
  int converged;            /* DONE: an early stop */
} sn_ponline_progress;

typedef struct sn_ponline_monitor {
  /* Local, on every rank, once per event; must not fail. NULL: silent. */
  void (*fn)(sn_run *run, const sn_ponline_progress *p, void *ctx);
  void *ctx;
} sn_ponline_monitor;

/* Local. The default monitor: rank 0 prints the progress lines ("nmf: online
 * pass N, ...") unless run->quiet. */
void sn_ponline_monitor_print(sn_run *run, const sn_ponline_progress *p, void *ctx);

typedef struct sn_ponline_opts {
  int64_t batch;               /* global frames per mini-batch, 1..N */
  double forget_factor;        /* 0..1 */
  int fresh_restarts;          /* solve each batch's H from a constant start */
  int64_t fresh_max_iter;      /* MU iterations of such a solve (sklearn 30) */
  int64_t max_no_improvement;  /* steps without a better EWA cost; 0: no such stop */
  int64_t transform_max_iter;  /* MU iterations of the final H pass (stopped by tol) */
  int transform_warm;          /* the final pass starts from each frame's H of the last pass (1) or
                                  from sklearn's constant transform start (0) */
  double alpha_W, l1_ratio;    /* W's regularization, scaled per batch (frames) */
  sn_ponline_monitor monitor;  /* progress (NULL fn: silent) */
} sn_ponline_opts;

/* Collective. Learn W (F x R replicated, from its start in W; the first
 * cfg.n_fixed columns stay) by at most o->max_iter passes of mini-batch steps
 * from (W, H) (H: R x n_local, this rank's columns), then overwrite H with the
 * transform of every frame. st: iter = passes started, converged = an early
 * stop (tol on W's relative change, or max_no_improvement), hist = the mean
 * batch cost at each step, loss = the beta-divergence of V and the final W H.
 * V: this rank's frames, in memory or read slice by slice (then only a
 * mini-batch slice or a tile of V is in memory: one walk for the V sums, one
 * read per step, one walk per transform iteration and one for the loss).
 * Returns the agreed code (SN_ERR_INTERRUPTED on a signal: no checkpoint). */
int sn_ponline_solve(sn_run *run, const sn_pnmf_opts *o, const sn_ponline_opts *oo, const sn_frames *V,
                     float *W, float *H, sn_pnmf_state *st);
