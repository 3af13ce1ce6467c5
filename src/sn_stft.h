#pragma once
/* Serial STFT / ISTFT kernels on a local span of samples, with librosa 0.11's
 * conventions (periodic scipy windows zero-padded centred to n_fft, unscaled
 * rfft, irfft scaled by 1/n_fft, window-sum-square normalisation), computed
 * with batched single-precision FFTW plans. No MPI here: parallel/sn_pstft.c
 * assigns frames to ranks, supplies the halo samples and does the overlap-add
 * exchange. Plans are not thread-safe; use one per thread. */
#include <stdint.h>

#include "sn_base.h"

typedef enum { SN_WIN_HANN, SN_WIN_HAMMING, SN_WIN_BLACKMAN, SN_WIN_RECT } sn_window_kind;

/* Parse a window name: "hann", "hamming", "blackman", "rectangular" (also
 * "boxcar", "ones", "rect"); case-sensitive like scipy. Local.
 * Returns SN_ERR_USAGE ("window: unknown window 'x' ...") on an unknown name. */
int sn_window_parse(const char *name, sn_window_kind *k, sn_err *e);

/* Canonical name of a window kind ("hann", ..., "rectangular"); "?" if invalid. Local. */
const char *sn_window_name(sn_window_kind k);

/* librosa.filters.get_window(kind, win_length, fftbins=True), i.e. the periodic
 * scipy.signal.get_window window (computed in double, stored as float), zero-
 * padded centred to n_fft as librosa.util.pad_center (left pad (n_fft-win_length)/2).
 * w has n_fft floats. Local. Returns SN_ERR_USAGE if win_length is not in [1, n_fft]
 * or the kind is invalid. */
int sn_window_make(sn_window_kind k, int win_length, int n_fft, float *w, sn_err *e);

/* librosa's frame count. Centred: 1 + (n_samples + 2*(n_fft/2) - n_fft)/hop;
 * not centred: 1 + (n_samples - n_fft)/hop. 0 when the (padded) signal is
 * shorter than n_fft, or when n_fft <= 0 or hop <= 0. Local. */
int64_t sn_stft_n_frames(int64_t n_samples, int n_fft, int hop, int center);

typedef struct sn_stft_plan sn_stft_plan;

/* Plan batched r2c and c2r FFTs of n_fft points for up to `batch` frames at a
 * time (batch <= 0 picks a default: frames filling about 256 KiB of buffers, clamped to
 * [4, 64]; 15 for n_fft 2048),
 * with FFTW flags (FFTW_MEASURE or FFTW_ESTIMATE; wisdom is the caller's business).
 * Local (FFTW's planner is not thread-safe). On success *p holds the plan.
 * Returns SN_ERR_USAGE for n_fft <= 0, hop <= 0, win_length not in [1, n_fft]
 * or an invalid window; SN_ERR_NOMEM; SN_ERR_INTERNAL if FFTW cannot plan.
 * On error *p is NULL. */
int sn_stft_plan_create(int n_fft, int win_length, int hop, sn_window_kind win, int batch,
                        unsigned fftw_flags, sn_stft_plan **p, sn_err *e);

/* Free a plan and set *p = NULL (NULL or *p == NULL is fine). Local. */
void sn_stft_plan_destroy(sn_stft_plan **p);

/* F = n_fft/2 + 1. Local. */
int sn_stft_n_bins(const sn_stft_plan *p);
/* hop and the batch size the plan was made with. Local. */
int sn_stft_hop(const sn_stft_plan *p);
int sn_stft_batch(const sn_stft_plan *p);

/* The plan's n_fft window (see sn_window_make), owned by the plan. Local. */
const float *sn_stft_window(const sn_stft_plan *p);

/* Forward STFT of a local sample span. Local.
 * x: the (already padded) samples; frame t starts at x[t*hop], t = 0..n_frames-1,
 *    so x has (n_frames-1)*hop + n_fft samples.
 * mag: F x n_frames, column-major, leading dimension ldm >= F: |X|^power
 *    (power 1 or 2). May be NULL if cplx is not.
 * cplx: if not NULL, the complex STFT as interleaved (re, im) floats, F x n_frames
 *    with leading dimension ldc >= F complex elements.
 * X_t[f] = sum_i w[i] x[t*hop + i] exp(-2 pi j f i / n_fft), unscaled
 * (like librosa / np.fft.rfft). n_frames = 0 does nothing.
 * Returns SN_ERR_USAGE for n_frames < 0, power not 1 or 2, ldm < F, ldc < F,
 * or both outputs NULL. */
int sn_stft_exec(sn_stft_plan *p, const float *x, int64_t n_frames, int power, float *mag,
                 int64_t ldm, float *cplx, int64_t ldc, sn_err *e);

/* The multichannel reduction of a channel rule (sn_spec_params.channel_rule):
 * mag-mean v = mean_c |X_c|, rms v = sqrt(mean_c |X_c|^2), then v^power; the
 * one rule of stft, learn and separate (whole span or block by block). Local.
 * sn_stft_reduce_add: channel c (0-based) of nf frames of x (as sn_stft_exec)
 *   adds |X_c| (rms: |X_c|^2) into v (F x nf, ld F; c == 0 sets it) through
 *   tmp (F x nf floats, used for c > 0); cplx (or NULL) gets the channel's
 *   complex STFT (ld ldc). Returns sn_stft_exec's code.
 * sn_stft_reduce_end: the n entries of v summed over nch channels become the
 *   rule's value to the power (1 or 2). */
int sn_stft_reduce_add(sn_stft_plan *p, const float *x, int64_t nf, int rms, int c, float *v, float *tmp,
                       float *cplx, int64_t ldc, sn_err *e);
void sn_stft_reduce_end(float *v, int64_t n, int nch, int rms, int power);

/* Magnitude stores of sn_stft_exec: mode -1 (default) uses non-temporal
 * (cache-bypassing) stores when one call writes >= 64 MiB of magnitudes, which
 * would not stay in cache anyway; 0 never; 1 always (tests). Only with AVX2. Local. */
void sn_stft_set_stream(sn_stft_plan *p, int mode);

/* Inverse STFT, local part (no window normalisation). Local.
 * For frames t = 0..n_frames-1 of the complex STFT cplx (interleaved, leading
 * dimension ldc >= F complex elements):
 *   y[t*hop + i] += w[i] * irfft(X_t, n_fft)[i],  i < n_fft,
 * with irfft normalised by 1/n_fft like numpy (imaginary parts of the DC and,
 * for even n_fft, Nyquist bins are ignored, as numpy does). y has
 * (n_frames-1)*hop + n_fft samples; the caller zeroes it (or accumulates into it).
 * Returns SN_ERR_USAGE for n_frames < 0 or ldc < F. */
int sn_istft_exec(sn_stft_plan *p, const float *cplx, int64_t ldc, int64_t n_frames, float *y,
                  sn_err *e);

/* Window sum-square, librosa.filters.window_sumsquare(norm=None) of n_frames
 * frames at the plan's hop: out[k] = sum_t w[s - t*hop]^2 over frames t with
 * 0 <= s - t*hop < n_fft, for padded-signal sample indices s = s0 .. s0+len-1
 * (index 0 = first sample of frame 0; indices outside the signal give 0).
 * Closed form per sample, O(len * n_fft/hop), summed in double. Local. */
void sn_window_sumsquare(const sn_stft_plan *p, int64_t n_frames, int64_t s0, int64_t len,
                         float *out);

/* Plain reference kernel kept as the oracle for tests: the same as sn_stft_exec
 * for one frame but by a direct O(n_fft^2) DFT in double, writing F complex
 * values (re, im) as doubles into out. Local. */
void sn_stft_frame_ref(const float *w, int n_fft, const float *x, double *out);
