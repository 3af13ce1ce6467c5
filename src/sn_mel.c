/* Mel scale and filterbank, following librosa 0.11's published formulas. */
#include "sn_mel.h"

#include <math.h>

#define SN_MEL_FSP (200.0 / 3.0)  /* Hz per mel in the linear region */
#define SN_MEL_MIN_LOG_HZ 1000.0  /* start of the log region */

static double mel_logstep(void) { return log(6.4) / 27.0; }

double sn_hz_to_mel(double hz, int htk) {
  if (htk) return 2595.0 * log10(1.0 + hz / 700.0);
  const double min_log_mel = SN_MEL_MIN_LOG_HZ / SN_MEL_FSP;
  if (hz >= SN_MEL_MIN_LOG_HZ) return min_log_mel + log(hz / SN_MEL_MIN_LOG_HZ) / mel_logstep();
  return hz / SN_MEL_FSP;
}

double sn_mel_to_hz(double mel, int htk) {
  if (htk) return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
  const double min_log_mel = SN_MEL_MIN_LOG_HZ / SN_MEL_FSP;
  if (mel >= min_log_mel) return SN_MEL_MIN_LOG_HZ * exp(mel_logstep() * (mel - min_log_mel));
  return SN_MEL_FSP * mel;
}

void sn_mel_frequencies(int n_mels, double fmin, double fmax, int htk, double *f) {
  double lo = sn_hz_to_mel(fmin, htk), hi = sn_hz_to_mel(fmax, htk);
  if (n_mels == 1) {
    f[0] = sn_mel_to_hz(lo, htk);
    return;
  }
  /* numpy.linspace: start + i * step, the last point exactly the stop. */
  double step = (hi - lo) / (n_mels - 1);
  for (int i = 0; i < n_mels; i++) {
    double m = (i == n_mels - 1) ? hi : lo + i * step;
    f[i] = sn_mel_to_hz(m, htk);
  }
}

int sn_mel_filterbank(double sr, int n_fft, int n_mels, double fmin, double fmax, int htk,
                      int norm_slaney, float *M, int64_t ldm, int *n_empty, sn_err *e) {
  if (!(sr > 0) || !isfinite(sr) || n_fft < 2 || n_mels < 1 || ldm < n_mels)
    return SN_FAIL(e, SN_ERR_INPUT, "mel: bad filterbank size (sr=%g, n_fft=%d, n_mels=%d)", sr,
                   n_fft, n_mels);
  if (fmax <= 0) fmax = sr / 2;
  if (!(fmin >= 0) || !isfinite(fmin) || !isfinite(fmax) || !(fmax > fmin))
    return SN_FAIL(e, SN_ERR_INPUT, "mel: need 0 <= fmin < fmax (fmin=%g, fmax=%g)", fmin, fmax);
  const int F = n_fft / 2 + 1;
  /* Each band's three edges, computed directly from linspace(lo, hi, n_mels + 2)
   * (no allocation). */
  double lo = sn_hz_to_mel(fmin, htk), hi = sn_hz_to_mel(fmax, htk);
  double step = (hi - lo) / (n_mels + 1);
  int empty = 0;
  for (int i = 0; i < n_mels; i++) {
    double f0, f1, f2;
    /* linspace(lo, hi, n_mels + 2)[i .. i+2], the last point exactly hi */
    f0 = sn_mel_to_hz(lo + i * step, htk);
    f1 = sn_mel_to_hz(lo + (i + 1) * step, htk);
    f2 = sn_mel_to_hz(i + 2 == n_mels + 1 ? hi : lo + (i + 2) * step, htk);
    double d0 = f1 - f0, d1 = f2 - f1;
    double enorm = norm_slaney ? 2.0 / (f2 - f0) : 1.0;
    int any = 0;
    for (int k = 0; k < F; k++) {
      double fk = (double)k * (1.0 / (n_fft * (1.0 / sr))); /* numpy.fft.rfftfreq */
      double lower = (fk - f0) / d0; /* -ramps[i] / fdiff[i] */
      double upper = (f2 - fk) / d1; /* ramps[i+2] / fdiff[i+1] */
      double w = lower < upper ? lower : upper;
      if (!(w > 0)) w = 0;
      /* librosa stores the triangle in float32, then scales by enorm */
      float wf = (float)w;
      float v = (float)((double)wf * enorm);
      M[i + ldm * k] = v;
      if (v > 0) any = 1;
    }
    if (!any) empty++;
  }
  if (n_empty) *n_empty = empty;
  return SN_OK;
}
