#pragma once
/* Serial kernels of source separation on a local block of frames: the soft
 * mask (W_k H_k)^p / sum_j (W_j H_j)^p applied to a complex mixture STFT, a
 * component's magnitude with the mixture's phase, the magnitude of a group of
 * components, and the phase update of fast Griffin-Lim. No MPI here.
 * Layouts: W is F x R column-major (ld F), H is R x n column-major (ld R,
 * one frame contiguous), complex blocks are interleaved (re, im), F x n, ld F. */
#include <stdint.h>

#include "sn_base.h"

typedef enum { SN_RECON_MASK, SN_RECON_PHASE, SN_RECON_GRIFFINLIM } sn_recon_kind;

/* Local. Wp = W^p entry by entry (F x R): the dictionary the masks of power p
 * take. (W_k h)^p = W_k^p h^p for nonnegative W and h, so the power-p sums
 * below are matrix products with only h raised per frame (p == 1: a copy). */
void sn_mask_power_w(int64_t F, int64_t R, const float *W, double p, float *Wp);

/* Local. D = sum_j (W_j h_jt)^p = W^p H^p for n frames (F x n, ld F), p > 0,
 * from Wp = W^p (sn_mask_power_w; W itself when p == 1): one matrix product
 * (BLAS) per chunk of frames. */
void sn_mask_denominator(int64_t F, int64_t R, int64_t n, const float *Wp, const float *H, double p,
                         float *D);

/* Local. The spectrogram of one source (the components idx[0..m)) for nf frames:
 * kind SN_RECON_MASK: Y = M * X with M = sum_{k in idx} (W_k h_kt)^p / D
 *   (M = m/R where D <= FLT_MIN, so the masks of a partition still sum to 1);
 *   W is then Wp = W^p (sn_mask_power_w), as for sn_mask_denominator;
 * kind SN_RECON_PHASE: Y = A * X/|X| with A = (sum_{k in idx} W_k h_kt)^(1/power)
 *   (X/|X| = 1 where X == 0).
 * X, Y: complex F x nf (Y may equal X); H, D: this chunk's columns. */
void sn_mask_apply(sn_recon_kind kind, int64_t F, int64_t R, int64_t nf, const float *W,
                   const float *H, const float *D, const int *idx, int m, double p, int power,
                   const float *X, float *Y);

/* Local. One channel of a multichannel mixture, for --reconstruct phase:
 * Y = A * X / V, i.e. the source's magnitude A (as sn_mask_magnitude) spread
 * over the channels as this channel's |X| relative to V, the channels'
 * magnitudes reduced by the rule (mean |X_c| or rms), computed from the same
 * transforms as X (so |X| / V stays <= C however small both are), with this
 * channel's phase. The division is by V + 1e-4 max_f V (per frame), so bins
 * 80 dB below the frame's loudest (rounding noise in X and V) get ~0.
 * A: scratch F x nf. X, Y: complex F x nf (Y may equal X); H, V this chunk's. */
void sn_mask_phase_channel(int64_t F, int64_t R, int64_t nf, const float *W, const float *H, const float *V,
                           const int *idx, int m, int power, float *A, const float *X, float *Y);

/* Local. Magnitude of a source: A = (sum_{k in idx} W_k h_kt)^(1/power), F x nf. */
void sn_mask_magnitude(int64_t F, int64_t R, int64_t nf, const float *W, const float *H,
                       const int *idx, int m, int power, float *A);

/* Local. One fast Griffin-Lim update of n complex entries, as librosa 0.11:
 *   a = rebuilt - c * tprev   (c = momentum / (1 + momentum); no tprev when first)
 *   a /= |a| + tiny;  X = S * a;  tprev = rebuilt.
 * Z holds rebuilt on entry and X on return; T holds tprev (read unless first,
 * then overwritten with rebuilt). S has n magnitudes. */
void sn_gl_update(int64_t n, const float *S, float *Z, float *T, float c, int first);

/* Local. Starting point S * angles for F x nf frames whose first global frame
 * is t0: random = 0 gives angles 1 (librosa init=None); otherwise
 * angles = exp(2 pi i u) with u uniform in [0, 1) from a counter-based
 * generator keyed by (seed, t * F + f), so any rank count gives the same start. */
void sn_gl_init(int64_t F, int64_t nf, int64_t t0, const float *S, int random, uint64_t seed,
                float *X);
