#pragma once
/* Distributed overlap-add (sn_poverlap_*) and Griffin-Lim (sn_pgriffinlim_*).
 * Frames are split over ranks in
 * contiguous blocks (sn_block_range); each rank inverts its frames into a local
 * buffer of the samples they cover, sends the parts that belong to other ranks
 * to their owners (frame-aligned ownership, as sn_pistft), normalises its own
 * samples by the window sum-square, and (for an STFT that follows) gets back
 * the samples of its frames that neighbours own: a second halo exchange.
 * Griffin-Lim (librosa 0.11's "fast" variant) iterates these steps. */
#include <stdint.h>

#include "sn_pstft.h"
#include "sn_run.h"
#include "sn_stft.h"

/* Geometry, plan and buffers of a distributed overlap-add. Opaque. */
typedef struct sn_poverlap sn_poverlap;

/* Collective. Plan (sn_pstft_plan, without wisdom: reproducible bits) and
 * lay out the overlap-add of N frames (this rank's block of sn_block_range)
 * into a signal of `length` samples (librosa.istft(..., length=length)).
 * Returns the agreed code; *p is NULL on error. */
int sn_poverlap_create(sn_run *run, const sn_spec_params *par, int64_t N, int64_t length, sn_poverlap **p);

/* Local. Free; *p becomes NULL. Safe on NULL. */
void sn_poverlap_destroy(sn_poverlap **p);

/* Local. The plan (for local STFTs of the rank's frames). */
sn_stft_plan *sn_poverlap_plan(sn_poverlap *p);

/* Local. This rank's frames [*start, *start + *n_local), and its owned output
 * samples [*y0, *y0 + *ny). */
void sn_poverlap_frames(const sn_poverlap *p, int64_t *start, int64_t *n_local);
void sn_poverlap_owned(const sn_poverlap *p, int64_t *y0, int64_t *ny);

/* Local. Zero the accumulation buffer (start of an inverse). */
void sn_poverlap_clear(sn_poverlap *p);

/* Local. Overlap-add nf local frames starting at local frame t0 (0-based in the
 * rank's block) of complex STFT X (interleaved (re, im), F x nf, ld F). */
int sn_poverlap_add(sn_poverlap *p, int64_t t0, int64_t nf, const float *X, sn_err *e);

/* Collective. Finish the inverse: tails to their owners (MPI_Alltoallv), sum,
 * divide by the window sum-square. With halo != 0 also fetch the samples of
 * this rank's frames owned by others (second MPI_Alltoallv), so that the
 * signal covers every sample the rank's frames need (zeros outside
 * [0, length)). The finished buffer becomes the "signal" buffer and the old
 * signal buffer the next accumulation buffer (double buffering: Griffin-Lim's
 * next inverse accumulates while the current signal is still transformed).
 * Returns the agreed code. */
int sn_poverlap_finish(sn_run *run, sn_poverlap *p, int halo);

/* Local. The owned samples (ny floats) of the signal after sn_poverlap_finish. */
float *sn_poverlap_owned_ptr(sn_poverlap *p);

/* Local. Pointer to the (padded) signal sample at which local frame 0 starts:
 * frame t covers [ptr + t*hop, ptr + t*hop + n_fft). Complete after
 * sn_poverlap_finish(halo=1). For a mixture held by the caller, the span is
 * sn_poverlap_span (first padded-signal index, count). */
float *sn_poverlap_signal(sn_poverlap *p);
void sn_poverlap_span(const sn_poverlap *p, int64_t *b0, int64_t *lenb);

/* Griffin-Lim options. */
typedef struct sn_gl_cfg {
  int n_iter;         /* 32 */
  double momentum;    /* 0.99 ("fast" Griffin-Lim; 0: plain) */
  int random_init;    /* 1: random phases (librosa init='random'); 0: zero phase (init=None) */
  uint64_t seed;      /* random phases: counter-based, rank-count independent */
} sn_gl_cfg;

#define SN_GL_CFG_DEFAULT {32, 0.99, 1, 0}

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
