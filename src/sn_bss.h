#pragma once
/* BSS Eval v3 as mir_eval.separation.bss_eval_sources (SDR, SIR, SAR with a
 * time-invariant distortion filter of flen = 512 taps, Vincent et al. 2006)
 * and SI-SDR (Le Roux et al. 2019), in double precision.
 *
 * Every quantity comes from sums over time, so the time axis splits over
 * ranks (the caller adds the per-rank sums): the correlations of the
 * references with each other and with the estimates at lags |k| < flen, and
 * the estimates' inner products. From those, a projection of estimate k on
 * the span of the flen shifts of reference j (or of all references) is a
 * Cholesky solve with the Gram matrix of the shifted references, and only its
 * energy is needed: for the sum e of some estimates,
 *   SDR = 10 log10(|P_j e|^2 / (|e|^2 - |P_j e|^2))
 *   SIR = 10 log10(|P_j e|^2 / (|P e|^2 - |P_j e|^2))
 *   SAR = 10 log10(|P e|^2 / (|e|^2 - |P e|^2))
 * (mir_eval's s_true + e_spat = P_j e, + e_interf = P e, e_artif = e - P e),
 * and |P_j e|^2 = sum over k, l of Q_j[k, l] with Q_j = D_j^T G_j^{-1} D_j, so
 * sums of estimates cost no new solve. Local (no MPI). */
#include <stdint.h>
#include "sn_base.h"

/* Where each sum lives in one channel's vector of sums (len doubles):
 *   R at r_off: for reference pairs i <= j (row by row), 2 flen - 1 lags each,
 *     R[p * (2 flen - 1) + k + flen - 1] = sum_t s_i[t + k] s_j[t], |k| < flen;
 *   D at d_off: D[(i * n_est + k) * flen + a] = sum_t s_i[t - a] e_k[t], a < flen;
 *   EE at ee_off: n_est x n_est, EE[k * n_est + l] = sum_t e_k[t] e_l[t].
 * Signals are zero outside [0, T). */
typedef struct sn_bss_layout {
  int n_ref, n_est, flen;
  size_t r_off, d_off, ee_off, len;
} sn_bss_layout;

/* Local. Fill l for the given counts (n_ref, n_est >= 1, flen >= 1). */
void sn_bss_layout_init(sn_bss_layout *l, int n_ref, int n_est, int flen);

/* Index of the pair (i, j), i <= j < n, in R's row-by-row order. */
static inline int sn_bss_pair(int n, int i, int j) { return i * n - i * (i - 1) / 2 + (j - i); }

/* ---- sums over time (FFT correlations of segments, overlap-save) ------------ */

typedef struct sn_bss_corr sn_bss_corr;

/* Local. A correlator for layout l (double-precision FFTW plans, FFTW_ESTIMATE).
 * Errors: SN_ERR_NOMEM; SN_ERR_INTERNAL if FFTW cannot plan. */
int sn_bss_corr_create(const sn_bss_layout *l, sn_bss_corr **c, sn_err *e);

/* Local. The most samples one sn_bss_corr_add call takes (the FFT size less
 * 2 (flen - 1)). */
int64_t sn_bss_corr_seg(const sn_bss_corr *c);

/* Local. Add the terms of t in [t0, t0 + len) to every sum: x[q] (q < n_ref:
 * the references, then the estimates) points at sample t0 - (flen - 1) of
 * signal q and holds len + 2 (flen - 1) samples (zeros outside the signal).
 * len <= sn_bss_corr_seg. Never fails. */
void sn_bss_corr_add(sn_bss_corr *c, const float *const *x, int64_t len);

/* Local. Add everything accumulated so far into sums (layout len doubles) and
 * start again from zero. Never fails. */
void sn_bss_corr_finish(sn_bss_corr *c, double *sums);

/* Local. Free; *c becomes NULL. Safe on NULL. */
void sn_bss_corr_destroy(sn_bss_corr **c);

/* ---- projections ----------------------------------------------------------- */

/* Local. Q (n_est x n_est, row k column l at Q[k * n_est + l]) = the inner
 * products <P e_k, P e_l> of the estimates' projections on the span of the
 * flen shifts of reference j (0 <= j < n_ref), or of all references (j = -1),
 * from one channel's complete sums. Cholesky (LAPACK dpotrf) of the Gram
 * matrix of the shifted references, one triangular solve, Q = W^T W (so Q is
 * positive semidefinite by construction). If the Gram matrix is not
 * numerically positive definite (references linearly dependent), the
 * pseudo-inverse drops eigenvalues below eps times the largest, as the
 * least-squares fallback of mir_eval (numpy lstsq), and *pinv is set to 1
 * (else 0). Errors: SN_ERR_NOMEM; SN_ERR_NUMERIC if the eigensolver fails. */
int sn_bss_project(const sn_bss_layout *l, const double *sums, int j, double *Q, int *pinv, sn_err *e);

/* ---- metrics and assignments --------------------------------------------------- */

/* One channel's complete sums and projections: Q holds n_ref + 1 blocks of
 * n_est x n_est, reference j's at Q + j n_est^2, all references' last. */
typedef struct sn_bss_chan {
  const double *sums;
  const double *Q;
} sn_bss_chan;

typedef struct sn_bss_metrics {
  double sdr, sir, sar, si_sdr; /* dB, averaged over channels */
} sn_bss_metrics;

/* Local. The metrics of the sum of estimates members[0..n_members) against
 * reference j, per channel then averaged (dB). A ratio whose numerator or
 * denominator is below the double rounding of its energies saturates at
 * +-10 log10(1 / DBL_EPSILON) = +-156.5 dB (mir_eval gives inf or a number
 * made of rounding there). SI-SDR: a = <e, s_j> / |s_j|^2,
 * 10 log10(|a s_j|^2 / |e - a s_j|^2), without removing the mean. */
void sn_bss_eval(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, const int *members,
                 int n_members, int j, sn_bss_metrics *m);

/* Local. n_est == n_ref: est_of[j] = the estimate for reference j in the
 * permutation with the highest mean SIR (by_sdr = 0: mir_eval's choice, the
 * first in lexicographic order among equals) or SDR (by_sdr = 1). Exhaustive
 * up to SN_BSS_PERM_EXHAUSTIVE references, else the Hungarian algorithm (the
 * same optimum). Errors: SN_ERR_NOMEM. */
#define SN_BSS_PERM_EXHAUSTIVE 9
int sn_bss_permutation(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, int by_sdr, int *est_of,
                       sn_err *e);

/* How sn_bss_grouping searched. */
enum { SN_BSS_SEARCH_AUTO = 0, SN_BSS_SEARCH_EXHAUSTIVE = 1, SN_BSS_SEARCH_GREEDY = 2 };
/* Exhaustive search while n_ref^n_est is at most this. */
#define SN_BSS_EXHAUSTIVE_MAX (1 << 20)

/* Local. n_est > n_ref: group[k] = the reference of estimate k, every
 * reference at least one estimate, the estimates of one reference summed,
 * maximising the mean SDR over references. search: SN_BSS_SEARCH_AUTO
 * (exhaustive when n_ref^n_est <= SN_BSS_EXHAUSTIVE_MAX, else greedy),
 * _EXHAUSTIVE (refused above that bound: SN_ERR_USAGE) or _GREEDY (one
 * estimate per reference by the Hungarian algorithm on the pairs' SDR, the
 * others one by one where the mean SDR gains most, then moves and swaps of
 * single estimates while any improves it). *method gets the search used.
 * Errors: SN_ERR_NOMEM, SN_ERR_USAGE. */
int sn_bss_grouping(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, int search, int *group,
                    int *method, sn_err *e);
