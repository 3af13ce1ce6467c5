#pragma once
/* Distributed NMF: ranks own contiguous blocks of time columns of V (F x N) and
 * of H (R x N); W (F x R) is replicated. Each iteration sums the W-update
 * accumulators (F x R numerator, denominator) with one MPI_Allreduce that also
 * carries the loss, the cd violation, the signal flag and error agreement; the
 * H update is local (src/sn_nmf). Also the random start (counter-based, rank-
 * count independent), checksummed atomic checkpoints and resume. */
#include <signal.h>
#include <stdint.h>
#include "sn_frames.h"
#include "sn_nmf.h"
#include "sn_run.h"

/* The solver's monitor, as PETSc's KSPMonitorSet: the caller installs a
 * function that hears of the progress (parallel/cmd prints it with
 * sn_pnmf_monitor_print) and, in tests, a hook that injects faults; the solver
 * neither prints progress nor reads the environment. */
enum { SN_PNMF_MON_START = 0, SN_PNMF_MON_CHECK = 1, SN_PNMF_MON_DONE = 2 };

/* What the monitor hears; the same on every rank (rank-0 timings aside). */
typedef struct sn_pnmf_progress {
  int event;           /* START: after the opening pass; CHECK: at each loss
                          check (every 10th iteration); DONE: at the end */
  int64_t iter;        /* completed iterations */
  int64_t max_iter;    /* o->max_iter */
  double loss;         /* beta-divergence of W, H at iter */
  double rel;          /* CHECK: change of the error sqrt(2 loss) since the
                          previous check over the starting error (sklearn's rule) */
  double s_per_iter;   /* CHECK: wall s/iteration since the previous check;
                          DONE: since the start (0 without iterations) */
  double cpu_per_iter; /* DONE: CPU s/iteration of this process */
  int resumed;         /* START: from a checkpoint */
  int converged;       /* DONE: the stopping rule ended the run */
} sn_pnmf_progress;

typedef struct sn_pnmf_monitor sn_pnmf_monitor;
struct sn_pnmf_monitor {
  /* Local, on every rank, once per event; must not fail. NULL: silent. */
  void (*fn)(sn_run *run, const sn_pnmf_progress *p, void *ctx);
  void *ctx;
  /* Local test hook or NULL: called on every rank after the opening pass
   * (opening = 1, iter = the starting iteration) and after each iteration's
   * pass (opening = 0, iter = the iteration it completes), before the
   * iteration's reduction. Returns a local code (agreed in that reduction);
   * *stop = 1 raises this rank's stop flag, as a signal would. */
  int (*hook)(sn_run *run, const sn_pnmf_monitor *m, int64_t iter, int opening, int *stop, sn_err *e);
  int64_t signal_iter; /* for sn_pnmf_hook_faults */
};

/* Local. The default monitor: rank 0 prints the progress lines ("nmf:
 * iteration N, loss ...", "nmf: converged after ...") unless run->quiet. */
void sn_pnmf_monitor_print(sn_run *run, const sn_pnmf_progress *p, void *ctx);

/* Local. The fault-injection hook of the tests (SPECNMF_FAULT): phase
 * "nmf_iter" fails the opening pass, "nmf_iter2" iteration 2, and
 * "nmf_signal" raises the stop flag after iteration m->signal_iter. */
int sn_pnmf_hook_faults(sn_run *run, const sn_pnmf_monitor *m, int64_t iter, int opening, int *stop, sn_err *e);

/* NNDSVD's eigensolver for the Gram's top R eigenpairs (sn_svd.h). */
typedef enum sn_pnmf_eig {
  SN_EIG_AUTO = 0,  /* dsyevr while F <= SN_SVD_EXACT_MAX, else subspace iteration */
  SN_EIG_EXACT,     /* LAPACK's dsyevr on every rank */
  SN_EIG_SUBSPACE,  /* subspace iteration on every rank (src/sn_eig.h) */
  SN_EIG_SCALAPACK  /* ScaLAPACK's pdsyevd on a process grid */
} sn_pnmf_eig;

typedef struct sn_pnmf_opts {
  sn_nmf_cfg cfg;
  int64_t N, col0, n_local;  /* global columns, this rank's block (sn_block_range) */
  int64_t max_iter;
  double tol;
  int64_t checkpoint_every;  /* 0: none (a signal still writes one if checkpoint) */
  const char *checkpoint;    /* checkpoint path or NULL */
  uint64_t fingerprint;      /* hash of data + options; a checkpoint must match it */
  volatile sig_atomic_t *stop; /* set by SIGTERM/SIGUSR1 handlers, or NULL */
  sn_pnmf_monitor monitor;   /* progress and test hooks (all NULL: silent) */
  int eig;                   /* NNDSVD's eigensolver, an sn_pnmf_eig (tests: SPECNMF_EIGEN; see sn_svd.h) */
  int64_t read_chunk;        /* frames per chunk when V is read (0: SN_PNMF_READ_CHUNK; tests set fewer) */
} sn_pnmf_opts;

/* Everything the stopping rule needs; stored in checkpoints. */
typedef struct sn_pnmf_state {
  int64_t iter;         /* completed iterations */
  double err_init;      /* sqrt(2 * loss) at the start (MU rule) */
  double prev_err;      /* error at the previous check */
  double viol_init;     /* cd: violation of the first iteration (-1 before) */
  int converged;
  double loss;          /* beta-divergence of the final W, H */
  int64_t n_hist, cap_hist;
  double *hist;         /* loss at each check */
  int64_t *hist_iter;   /* iteration of each check */
} sn_pnmf_state;

/* Local. Allocate the loss history (a fixed 512 KiB, whatever max_iter; thinned
 * to every second entry when full). */
int sn_pnmf_state_init(sn_pnmf_state *st, int64_t max_iter, sn_err *e);
void sn_pnmf_state_free(sn_pnmf_state *st);

/* Local. Append (it, loss) to the loss history (thinned when full). */
void sn_pnmf_hist_push(sn_pnmf_state *st, int64_t it, double loss);

/* Frames per chunk when the solver reads V (sn_frames without a block in
 * memory; o->read_chunk overrides it): rounded down to a multiple of the
 * tile, at least one tile; one chunk buffer of F x that many floats is held. */
#define SN_PNMF_READ_CHUNK 4096

/* Collective. Iterate from (W, H) (W F x R replicated, H R x n_local block)
 * until the stopping rule, max_iter, or a signal. resumed != 0: st, W, H come
 * from a checkpoint (the check at st->iter was already done). V is this
 * rank's frames, in memory or read a chunk at a time (each iteration then
 * reads V once; a read error is agreed like any other failure). With every
 * column of W fixed and V read, each chunk gets all of the max_iter - iter H
 * updates while it is in memory (one read of V; no stopping rule: the
 * in-memory solve at tol 0, as the streamed path). Returns the agreed code;
 * SN_ERR_INTERRUPTED after writing a checkpoint on a signal. */
int sn_pnmf_solve(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, float *W, float *H,
                  sn_pnmf_state *st, int resumed);

/* Collective. Random start as sklearn's init='random' (avg = sqrt(mean(V)/R),
 * |avg * N(0,1)|) with each entry drawn from a counter-based generator keyed by
 * (seed, matrix, global index), so any rank count gives the same start. */
int sn_pnmf_init_random(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, uint64_t seed,
                        float *W, float *H);

/* Local. Standard normal number for (seed, stream, index), counter-based. */
double sn_pnmf_normal(uint64_t seed, uint64_t stream, uint64_t index);

/* Collective. The sum of V over all ranks (for means); V is walked in tiles
 * (a read error is agreed). */
int sn_pnmf_vsum(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, double *sum);

/* Collective. A rank-count independent 64-bit hash of the V block contents. */
int sn_pnmf_data_hash(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, uint64_t *h);

/* Collective. Write a checkpoint (W, H, state, checksum) atomically to o->checkpoint. */
int sn_pnmf_checkpoint_write(sn_run *run, const sn_pnmf_opts *o, const float *W, const float *H,
                             const sn_pnmf_state *st);

/* Collective. Read a checkpoint into W, H, st; refuses (SN_ERR_INPUT) a file
 * of other data/options (fingerprint) or whose checksum does not match. */
int sn_pnmf_checkpoint_read(sn_run *run, const sn_pnmf_opts *o, float *W, float *H,
                            sn_pnmf_state *st);

/* Local. FNV-1a 64 over bytes, continuing from h (start with SN_FNV_INIT). */
#define SN_FNV_INIT 14695981039346656037ull
uint64_t sn_fnv1a(uint64_t h, const void *p, size_t n);
