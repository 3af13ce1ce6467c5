#pragma once
/* Distributed NMF: ranks own contiguous blocks of time columns of V (F x N) and
 * of H (R x N); W (F x R) is replicated. Each iteration sums the W-update
 * accumulators (F x R numerator, denominator) with one MPI_Allreduce that also
 * carries the loss, the cd violation, the signal flag and error agreement; the
 * H update is local (src/sn_nmf). Also the random start (counter-based, rank-
 * count independent), checksummed atomic checkpoints and resume. */
#include <signal.h>
#include <stdint.h>
#include "sn_nmf.h"
#include "sn_run.h"

typedef struct sn_pnmf_opts {
  sn_nmf_cfg cfg;
  int64_t N, col0, n_local;  /* global columns, this rank's block (sn_block_range) */
  int64_t max_iter;
  double tol;
  int64_t checkpoint_every;  /* 0: none (a signal still writes one if checkpoint) */
  const char *checkpoint;    /* checkpoint path or NULL */
  uint64_t fingerprint;      /* hash of data + options; a checkpoint must match it */
  volatile sig_atomic_t *stop; /* set by SIGTERM/SIGUSR1 handlers, or NULL */
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

/* Collective. Iterate from (W, H) (W F x R replicated, H R x n_local block)
 * until the stopping rule, max_iter, or a signal. resumed != 0: st, W, H come
 * from a checkpoint (the check at st->iter was already done). Returns the
 * agreed code; SN_ERR_INTERRUPTED after writing a checkpoint on a signal. */
int sn_pnmf_solve(sn_run *run, const sn_pnmf_opts *o, const float *V, float *W, float *H,
                  sn_pnmf_state *st, int resumed);

/* Collective. Random start as sklearn's init='random' (avg = sqrt(mean(V)/R),
 * |avg * N(0,1)|) with each entry drawn from a counter-based generator keyed by
 * (seed, matrix, global index), so any rank count gives the same start. */
int sn_pnmf_init_random(sn_run *run, const sn_pnmf_opts *o, const float *V, uint64_t seed,
                        float *W, float *H);

/* Local. Standard normal number for (seed, stream, index), counter-based. */
double sn_pnmf_normal(uint64_t seed, uint64_t stream, uint64_t index);

/* Collective. Sum and count of V over all ranks (for means). */
int sn_pnmf_vsum(sn_run *run, const sn_pnmf_opts *o, const float *V, double *sum);

/* Collective. A rank-count independent 64-bit hash of the V block contents. */
int sn_pnmf_data_hash(sn_run *run, const sn_pnmf_opts *o, const float *V, uint64_t *h);

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
