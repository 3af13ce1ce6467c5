#pragma once
/* The mel filterbank of librosa 0.11 (librosa.filters.mel) and its unit
 * conversions (librosa.hz_to_mel, mel_to_hz, mel_frequencies), in C: the
 * Slaney mel scale (linear below 1 kHz, logarithmic above) by default, HTK
 * optionally; "slaney" area normalisation or none. Serial, no allocation. */
#include <stdint.h>
#include "sn_base.h"

/* Local. Hz -> mel. Slaney (htk = 0): f / (200/3) below 1000 Hz, else
 * 15 + ln(f / 1000) / (ln(6.4) / 27). HTK: 2595 log10(1 + f / 700). */
double sn_hz_to_mel(double hz, int htk);

/* Local. mel -> Hz, the inverse of sn_hz_to_mel. */
double sn_mel_to_hz(double mel, int htk);

/* Local. n_mels frequencies (Hz) evenly spaced on the mel scale from fmin to
 * fmax inclusive (numpy.linspace in mel, then back to Hz), into f[n_mels]. */
void sn_mel_frequencies(int n_mels, double fmin, double fmax, int htk, double *f);

/* Local. The mel filterbank M (n_mels x F, F = n_fft/2 + 1), column-major with
 * leading dimension ldm >= n_mels, float32, as librosa.filters.mel(sr=sr,
 * n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=...):
 * bin k has frequency k sr / n_fft; band i is the triangle rising from
 * mel_f[i] to a peak of 1 at mel_f[i+1] and falling to 0 at mel_f[i+2], where
 * mel_f = sn_mel_frequencies(n_mels + 2, fmin, fmax); with norm_slaney each
 * band is scaled by 2 / (mel_f[i+2] - mel_f[i]) (constant area). fmax <= 0
 * means sr / 2. Then M @ |S|^power is librosa's mel spectrogram of |S|.
 * Errors: SN_ERR_INPUT (sr <= 0, n_fft < 2, n_mels < 1, fmin < 0,
 * fmax <= fmin, non-finite values). *n_empty (if not NULL) gets the number
 * of bands with no nonzero weight (librosa warns about them). */
int sn_mel_filterbank(double sr, int n_fft, int n_mels, double fmin, double fmax, int htk,
                      int norm_slaney, float *M, int64_t ldm, int *n_empty, sn_err *e);
