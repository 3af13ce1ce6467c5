#pragma once
/* Distributed Griffin-Lim (librosa 0.11's "fast" variant) on the one
 * distributed overlap-add (sn_poverlap.h): each iteration inverts across
 * ranks, fetches the halo and transforms the rank's frames locally. */
#include <stdint.h>

#include "sn_poverlap.h"
#include "sn_pstft.h"
#include "sn_run.h"
#include "sn_stft.h"

/* Griffin-Lim options. */
typedef struct sn_gl_cfg {
  int n_iter;         /* 32 */
  double momentum;    /* 0.99 ("fast" Griffin-Lim; 0: plain) */
  int random_init;    /* 1: random phases (librosa init='random'); 0: zero phase (init=None) */
  uint64_t seed;      /* random phases: counter-based, rank-count independent */
} sn_gl_cfg;

#define SN_GL_CFG_DEFAULT {32, 0.99, 1, 0}

/* Local. The one check of the values: SN_ERR_USAGE "CMD ITER_OPT: must be >=
 * 0" for n_iter < 0, "CMD --momentum: must be >= 0" for a negative or
 * non-finite momentum (the command names its options). */
int sn_gl_cfg_check(const sn_gl_cfg *cfg, const char *cmd, const char *iter_opt, sn_err *e);

/* Collective. Fast Griffin-Lim of the magnitude block S (F x n_local, ld F,
 * this rank's frames of the overlap-add's layout), as librosa.griffinlim(S, n_iter,
 * momentum, init, length): each iteration inverts S * angles across ranks,
 * fetches the halo, transforms locally and updates the angles
 * (rebuilt - momentum/(1+momentum) * previous rebuilt, normalised). On return
 * the owned samples (sn_poverlap_owned_ptr) hold istft(S * angles). Returns the
 * agreed code (SN_ERR_USAGE for n_iter < 0 or momentum < 0). */
int sn_pgriffinlim_run(sn_run *run, sn_poverlap *p, const float *S, const sn_gl_cfg *cfg);

/* Collective. Spectral convergence ||(|STFT(y)| - S)||_F / ||S||_F of the
 * owned signal (after sn_pgriffinlim_run or any sn_poverlap_finish), computed across
 * ranks (one halo exchange, local STFTs, one allreduce). */
int sn_pgriffinlim_convergence(sn_run *run, sn_poverlap *p, const float *S, double *sc);
