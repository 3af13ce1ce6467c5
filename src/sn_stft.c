/* Serial STFT / ISTFT kernels with librosa 0.11 conventions on batched FFTW
 * single-precision plans. See sn_stft.h. */
#include "sn_isa_clone.h" /* first: per-level names (sn_isa.h) */
#include "sn_stft.h"

#include <fftw3.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#define SN_PI 3.14159265358979323846
/* Outputs at least this large are written with non-temporal stores (auto mode). */
#define SN_STFT_STREAM_BYTES (64.0 * 1024 * 1024)

struct sn_stft_plan {
  int n_fft, win_length, hop, batch, F;
  int stream;              /* non-temporal mag stores: -1 auto, 0 never, 1 always */
  int lo, hi;              /* window support [lo, hi) inside the n_fft frame */
  sn_window_kind kind;
  size_t idist;            /* floats per real frame slot (n_fft rounded up to 64 bytes) */
  size_t odist;            /* complex values per spectrum slot (F rounded up to 64 bytes) */
  float *w;                /* n_fft window */
  float *winv;             /* w / n_fft (the irfft scale folded into the synthesis window) */
  double *wsq;             /* w^2 in double, for the window sum-square */
  float *wss_period;       /* hop values: sum_j w[r + j*hop]^2, the interior window sum-square */
  float *rbuf;             /* batch * idist real frames */
  fftwf_complex *cbuf;     /* batch * odist spectra */
  fftwf_plan fwd_b, fwd_1; /* r2c: full batch, one frame (new-array execute on any slot) */
  fftwf_plan inv_b, inv_1; /* c2r */
};

static const struct {
  const char *name;
  sn_window_kind kind;
} win_names[] = {
    {"hann", SN_WIN_HANN},       {"hamming", SN_WIN_HAMMING}, {"blackman", SN_WIN_BLACKMAN},
    {"rectangular", SN_WIN_RECT}, {"boxcar", SN_WIN_RECT},     {"ones", SN_WIN_RECT},
    {"rect", SN_WIN_RECT},
};

int sn_window_parse(const char *name, sn_window_kind *k, sn_err *e) {
  for (size_t i = 0; name && i < sizeof win_names / sizeof win_names[0]; i++) {
    if (strcmp(name, win_names[i].name) == 0) {
      *k = win_names[i].kind;
      return SN_OK;
    }
  }
  return SN_FAIL(e, SN_ERR_USAGE,
                 "window: unknown window '%s' (expected hann, hamming, blackman or rectangular)",
                 name ? name : "(null)");
}

const char *sn_window_name(sn_window_kind k) {
  switch (k) {
    case SN_WIN_HANN: return "hann";
    case SN_WIN_HAMMING: return "hamming";
    case SN_WIN_BLACKMAN: return "blackman";
    case SN_WIN_RECT: return "rectangular";
  }
  return "?";
}

/* Periodic window value at n of length m (scipy.signal.get_window(kind, m, fftbins=True)):
 * the symmetric window of m+1 points, last dropped; generalized cosine in 2 pi n / m. */
static double win_value(sn_window_kind k, int n, int m) {
  if (m <= 1) return 1.0; /* scipy's _len_guards: ones(m) */
  double x = 2.0 * SN_PI * (double)n / (double)m;
  switch (k) {
    case SN_WIN_HANN: return 0.5 - 0.5 * cos(x);
    case SN_WIN_HAMMING: return 0.54 - 0.46 * cos(x);
    case SN_WIN_BLACKMAN: return 0.42 - 0.5 * cos(x) + 0.08 * cos(2.0 * x);
    case SN_WIN_RECT: return 1.0;
  }
  return 0.0;
}

static int check_win(sn_window_kind k, int win_length, int n_fft, sn_err *e) {
  if (n_fft <= 0) return SN_FAIL(e, SN_ERR_USAGE, "stft: n_fft must be positive (got %d)", n_fft);
  if (win_length < 1 || win_length > n_fft)
    return SN_FAIL(e, SN_ERR_USAGE, "stft: win_length must be in [1, n_fft = %d] (got %d)", n_fft,
                   win_length);
  if (k != SN_WIN_HANN && k != SN_WIN_HAMMING && k != SN_WIN_BLACKMAN && k != SN_WIN_RECT)
    return SN_FAIL(e, SN_ERR_USAGE, "stft: invalid window kind %d", (int)k);
  return SN_OK;
}

int sn_window_make(sn_window_kind k, int win_length, int n_fft, float *w, sn_err *e) {
  int rc = check_win(k, win_length, n_fft, e);
  if (rc) return rc;
  int lpad = (n_fft - win_length) / 2; /* librosa.util.pad_center */
  for (int i = 0; i < n_fft; i++) w[i] = 0.0f;
  for (int i = 0; i < win_length; i++) w[lpad + i] = (float)win_value(k, i, win_length);
  return SN_OK;
}

int64_t sn_stft_n_frames(int64_t n_samples, int n_fft, int hop, int center) {
  if (n_fft <= 0 || hop <= 0 || n_samples < 0) return 0;
  int64_t len = center ? n_samples + 2 * (int64_t)(n_fft / 2) : n_samples;
  if (len < n_fft) return 0;
  return 1 + (len - n_fft) / hop;
}

static void plan_free(sn_stft_plan *p) {
  if (!p) return;
  if (p->fwd_b) fftwf_destroy_plan(p->fwd_b);
  if (p->fwd_1) fftwf_destroy_plan(p->fwd_1);
  if (p->inv_b) fftwf_destroy_plan(p->inv_b);
  if (p->inv_1) fftwf_destroy_plan(p->inv_1);
  sn_free(p->w);
  sn_free(p->winv);
  sn_free(p->wsq);
  sn_free(p->wss_period);
  sn_free(p->rbuf);
  sn_free(p->cbuf);
  sn_free(p);
}

int sn_stft_plan_create(int n_fft, int win_length, int hop, sn_window_kind win, int batch,
                        unsigned fftw_flags, sn_stft_plan **out, sn_err *e) {
  int rc = SN_OK;
  sn_stft_plan *p = NULL;
  *out = NULL;
  SN_CHECK(check_win(win, win_length, n_fft, e));
  if (hop <= 0) {
    rc = SN_FAIL(e, SN_ERR_USAGE, "stft: hop_length must be positive (got %d)", hop);
    goto cleanup;
  }
  if (n_fft > (1 << 28)) {
    rc = SN_FAIL(e, SN_ERR_USAGE, "stft: n_fft = %d is too large", n_fft);
    goto cleanup;
  }
  p = sn_calloc(sizeof *p, "stft plan", e);
  if (!p) {
    rc = SN_ERR_NOMEM;
    goto cleanup;
  }
  p->n_fft = n_fft;
  p->win_length = win_length;
  p->hop = hop;
  p->kind = win;
  p->stream = -1;
  p->F = n_fft / 2 + 1;
  p->lo = (n_fft - win_length) / 2;
  p->hi = p->lo + win_length;
  p->idist = ((size_t)n_fft + 15) / 16 * 16;
  p->odist = ((size_t)p->F + 7) / 8 * 8;
  if (batch <= 0) {
    size_t per = p->idist * sizeof(float) + p->odist * sizeof(fftwf_complex);
    size_t b = (size_t)256 * 1024 / per;
    batch = b < 4 ? 4 : b > 64 ? 64 : (int)b;
  }
  p->batch = batch;

  size_t nr, nc;
  if (sn_mul_size(p->idist, (size_t)batch * sizeof(float), &nr) ||
      sn_mul_size(p->odist, (size_t)batch * sizeof(fftwf_complex), &nc)) {
    rc = SN_FAIL(e, SN_ERR_USAGE, "stft: batch of %d frames of %d points is too large", batch,
                 n_fft);
    goto cleanup;
  }
  p->w = sn_calloc((size_t)n_fft * sizeof(float), "stft window", e);
  p->winv = sn_calloc((size_t)n_fft * sizeof(float), "stft window", e);
  p->wsq = sn_calloc((size_t)n_fft * sizeof(double), "stft window", e);
  p->wss_period = sn_calloc((size_t)hop * sizeof(float), "stft window", e);
  p->rbuf = sn_calloc(nr, "stft frame buffer", e);
  p->cbuf = sn_calloc(nc, "stft spectrum buffer", e);
  if (!p->w || !p->winv || !p->wsq || !p->wss_period || !p->rbuf || !p->cbuf) {
    rc = SN_ERR_NOMEM;
    goto cleanup;
  }
  SN_CHECK(sn_window_make(win, win_length, n_fft, p->w, e));
  for (int i = 0; i < n_fft; i++) {
    p->winv[i] = (float)((double)p->w[i] / n_fft);
    p->wsq[i] = (double)p->w[i] * (double)p->w[i];
  }
  for (int r = 0; r < hop; r++) { /* same summation order as the edge loop (t ascending) */
    double acc = 0.0;
    for (int64_t i = r + (int64_t)(n_fft - 1 - r) / hop * hop; r < n_fft && i >= r; i -= hop)
      acc += p->wsq[i];
    p->wss_period[r] = (float)acc;
  }

  int n = n_fft;
  int idist = (int)p->idist, odist = (int)p->odist;
  p->fwd_b = fftwf_plan_many_dft_r2c(1, &n, batch, p->rbuf, NULL, 1, idist, p->cbuf, NULL, 1,
                                     odist, fftw_flags);
  p->fwd_1 = fftwf_plan_many_dft_r2c(1, &n, 1, p->rbuf, NULL, 1, idist, p->cbuf, NULL, 1, odist,
                                     fftw_flags);
  p->inv_b = fftwf_plan_many_dft_c2r(1, &n, batch, p->cbuf, NULL, 1, odist, p->rbuf, NULL, 1,
                                     idist, fftw_flags);
  p->inv_1 = fftwf_plan_many_dft_c2r(1, &n, 1, p->cbuf, NULL, 1, odist, p->rbuf, NULL, 1, idist,
                                     fftw_flags);
  if (!p->fwd_b || !p->fwd_1 || !p->inv_b || !p->inv_1) {
    rc = SN_FAIL(e, SN_ERR_INTERNAL, "stft: FFTW could not plan %d-point transforms (batch %d)",
                 n_fft, batch);
    goto cleanup;
  }
  *out = p;
  return SN_OK;
cleanup:
  plan_free(p);
  return rc;
}

void sn_stft_plan_destroy(sn_stft_plan **p) {
  if (!p || !*p) return;
  plan_free(*p);
  *p = NULL;
}

int sn_stft_n_bins(const sn_stft_plan *p) { return p->F; }
int sn_stft_hop(const sn_stft_plan *p) { return p->hop; }
int sn_stft_batch(const sn_stft_plan *p) { return p->batch; }
const float *sn_stft_window(const sn_stft_plan *p) { return p->w; }

/* Windowed copy of one frame into a buffer slot: zeros outside the window support. */
static void frame_window(const sn_stft_plan *p, const float *restrict xs, float *restrict fr) {
  const int lo = p->lo, hi = p->hi, n = p->n_fft;
  const float *restrict w = p->w;
  for (int i = 0; i < lo; i++) fr[i] = 0.0f;
  for (int i = lo; i < hi; i++) fr[i] = w[i] * xs[i];
  for (int i = hi; i < n; i++) fr[i] = 0.0f;
}

#if !defined(__AVX2__)
/* |X|^2 (vectorised by the compiler). */
static void spec_mag2(const float *restrict c, float *restrict m, int F) {
  for (int f = 0; f < F; f++) {
    float re = c[2 * f], im = c[2 * f + 1];
    m[f] = re * re + im * im;
  }
}
#endif

/* |X|^power of one frame from interleaved (re, im) c into m. With AVX2: 8 bins
 * at a time (squares, pairwise add, lane fix-up, sqrt), and with `stream`
 * non-temporal stores of the aligned body (large outputs that will not stay in
 * cache anyway; saves the read-for-ownership of the destination). Otherwise
 * the compiler-vectorised |X|^2 and an explicit SIMD sqrt (GCC does not
 * vectorise sqrtf while errno semantics are on). */
static void spec_mag(const float *restrict c, float *restrict m, int F, int power, int stream) {
  int f = 0;
#if defined(__AVX2__)
  if (stream)
    for (; f < F && ((uintptr_t)(m + f) & 31); f++) {
      float p2 = c[2 * f] * c[2 * f] + c[2 * f + 1] * c[2 * f + 1];
      m[f] = power == 1 ? sqrtf(p2) : p2;
    }
  for (; f + 8 <= F; f += 8) {
    __m256 a = _mm256_loadu_ps(c + 2 * f), b = _mm256_loadu_ps(c + 2 * f + 8);
    __m256 h = _mm256_hadd_ps(_mm256_mul_ps(a, a), _mm256_mul_ps(b, b)); /* p0 p1 p4 p5 | p2 p3 p6 p7 */
    h = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(h), 0xD8));
    if (power == 1) h = _mm256_sqrt_ps(h);
    if (stream)
      _mm256_stream_ps(m + f, h);
    else
      _mm256_storeu_ps(m + f, h);
  }
  for (; f < F; f++) {
    float p2 = c[2 * f] * c[2 * f] + c[2 * f + 1] * c[2 * f + 1];
    m[f] = power == 1 ? sqrtf(p2) : p2;
  }
#else
  (void)stream;
  spec_mag2(c, m, F);
  if (power == 2) return;
#if defined(__AVX__)
  for (; f + 8 <= F; f += 8) _mm256_storeu_ps(m + f, _mm256_sqrt_ps(_mm256_loadu_ps(m + f)));
#elif defined(__SSE2__)
  for (; f + 4 <= F; f += 4) _mm_storeu_ps(m + f, _mm_sqrt_ps(_mm_loadu_ps(m + f)));
#endif
  for (; f < F; f++) m[f] = sqrtf(m[f]);
#endif
}

void sn_stft_set_stream(sn_stft_plan *p, int mode) { p->stream = mode < 0 ? -1 : mode > 0; }

int sn_stft_exec(sn_stft_plan *p, const float *x, int64_t n_frames, int power, float *mag,
                 int64_t ldm, float *cplx, int64_t ldc, sn_err *e) {
  const int F = p->F, B = p->batch;
  if (n_frames < 0) return SN_FAIL(e, SN_ERR_USAGE, "stft: negative frame count %lld", (long long)n_frames);
  if (power != 1 && power != 2)
    return SN_FAIL(e, SN_ERR_USAGE, "stft: power must be 1 or 2 (got %d)", power);
  if (!mag && !cplx) return SN_FAIL(e, SN_ERR_USAGE, "stft: no output requested");
  if (mag && ldm < F)
    return SN_FAIL(e, SN_ERR_USAGE, "stft: leading dimension %lld < %d bins", (long long)ldm, F);
  if (cplx && ldc < F)
    return SN_FAIL(e, SN_ERR_USAGE, "stft: complex leading dimension %lld < %d bins",
                   (long long)ldc, F);
  const size_t idist = p->idist, odist = p->odist;
  const int stream = mag && (p->stream > 0 || (p->stream < 0 && (double)n_frames * ldm * sizeof(float) >=
                                                                    SN_STFT_STREAM_BYTES));
  for (int64_t t0 = 0; t0 < n_frames; t0 += B) {
    int nb = n_frames - t0 < B ? (int)(n_frames - t0) : B;
    for (int k = 0; k < nb; k++)
      frame_window(p, x + (t0 + k) * (int64_t)p->hop, p->rbuf + k * idist);
    if (nb == B) {
      fftwf_execute(p->fwd_b);
    } else {
      for (int k = 0; k < nb; k++)
        fftwf_execute_dft_r2c(p->fwd_1, p->rbuf + k * idist, p->cbuf + k * odist);
    }
    for (int k = 0; k < nb; k++) {
      const float *c = (const float *)(p->cbuf + k * odist);
      if (mag) {
        float *m = mag + (t0 + k) * ldm;
        spec_mag(c, m, F, power, stream);
      }
      if (cplx) memcpy(cplx + 2 * (t0 + k) * ldc, c, (size_t)F * 2 * sizeof(float));
    }
  }
#if defined(__AVX2__)
  if (stream) _mm_sfence(); /* order the non-temporal stores before anything later */
#endif
  return SN_OK;
}

int sn_stft_reduce_add(sn_stft_plan *p, const float *x, int64_t nf, int rms, int c, float *v, float *tmp,
                       float *cplx, int64_t ldc, sn_err *e) {
  const int64_t F = p->F;
  int rc = sn_stft_exec(p, x, nf, rms ? 2 : 1, c ? tmp : v, F, cplx, ldc, e);
  if (rc == SN_OK && c)
    for (int64_t i = 0; i < nf * F; i++) v[i] += tmp[i];
  return rc;
}

void sn_stft_reduce_end(float *v, int64_t n, int nch, int rms, int power) {
  const float inv = 1.0f / (float)nch;
  for (int64_t i = 0; i < n; i++) {
    float m = v[i] * inv; /* mag-mean: mean |X|; rms: mean |X|^2 */
    v[i] = rms ? (power == 2 ? m : sqrtf(m)) : (power == 2 ? m * m : m);
  }
}

int sn_istft_exec(sn_stft_plan *p, const float *cplx, int64_t ldc, int64_t n_frames, float *y,
                  sn_err *e) {
  const int F = p->F, B = p->batch, n = p->n_fft;
  if (n_frames < 0) return SN_FAIL(e, SN_ERR_USAGE, "istft: negative frame count %lld", (long long)n_frames);
  if (ldc < F)
    return SN_FAIL(e, SN_ERR_USAGE, "istft: complex leading dimension %lld < %d bins",
                   (long long)ldc, F);
  const size_t idist = p->idist, odist = p->odist;
  const int lo = p->lo, hi = p->hi;
  for (int64_t t0 = 0; t0 < n_frames; t0 += B) {
    int nb = n_frames - t0 < B ? (int)(n_frames - t0) : B;
    for (int k = 0; k < nb; k++) {
      float *c = (float *)(p->cbuf + k * odist);
      memcpy(c, cplx + 2 * (t0 + k) * ldc, (size_t)F * 2 * sizeof(float));
      c[1] = 0.0f;                           /* numpy's irfft ignores Im(DC) */
      if (n % 2 == 0) c[2 * (F - 1) + 1] = 0.0f; /* and Im(Nyquist) */
    }
    if (nb == B) {
      fftwf_execute(p->inv_b);
    } else {
      for (int k = 0; k < nb; k++)
        fftwf_execute_dft_c2r(p->inv_1, p->cbuf + k * odist, p->rbuf + k * idist);
    }
    for (int k = 0; k < nb; k++) {
      float *restrict ys = y + (t0 + k) * (int64_t)p->hop;
      const float *restrict fr = p->rbuf + k * idist;
      const float *restrict wi = p->winv;
      for (int i = lo; i < hi; i++) ys[i] += wi[i] * fr[i];
    }
  }
  return SN_OK;
}

void sn_window_sumsquare(const sn_stft_plan *p, int64_t n_frames, int64_t s0, int64_t len,
                         float *out) {
  const int64_t n = p->n_fft, hop = p->hop;
  const int64_t total = n_frames > 0 ? (n_frames - 1) * hop + n : 0;
  int64_t k = 0;
  while (k < len) {
    int64_t s = s0 + k;
    if (s < 0 || s >= total) {
      out[k++] = 0.0f;
      continue;
    }
    /* frames t with 0 <= s - t*hop < n, before clipping to [0, n_frames) */
    int64_t d = s - n + 1;
    int64_t t_lo = d <= 0 ? -((-d) / hop) : (d + hop - 1) / hop; /* ceil(d / hop) */
    int64_t t_hi = s / hop;
    if (t_lo >= 0 && t_hi <= n_frames - 1) {
      /* interior: every frame covering s exists, the sum is periodic in s with
       * period hop; copy the run of samples until the coverage changes. */
      int64_t end = n_frames * hop; /* first s with floor(s/hop) > n_frames - 1 */
      if (end > s0 + len) end = s0 + len;
      int64_t r = s % hop;
      while (s < end) {
        int64_t m = hop - r < end - s ? hop - r : end - s;
        memcpy(out + k, p->wss_period + r, (size_t)m * sizeof(float));
        k += m;
        s += m;
        r = 0;
      }
      continue;
    }
    if (t_lo < 0) t_lo = 0;
    if (t_hi > n_frames - 1) t_hi = n_frames - 1;
    double acc = 0.0;
    for (int64_t t = t_lo; t <= t_hi; t++) acc += p->wsq[s - t * hop];
    out[k++] = (float)acc;
  }
}

void sn_stft_frame_ref(const float *w, int n_fft, const float *x, double *out) {
  const int F = n_fft / 2 + 1;
  for (int f = 0; f < F; f++) {
    double re = 0.0, im = 0.0;
    for (int i = 0; i < n_fft; i++) {
      double v = (double)w[i] * (double)x[i];
      long long r = ((long long)f * i) % n_fft;
      double a = -2.0 * SN_PI * (double)r / (double)n_fft;
      re += v * cos(a);
      im += v * sin(a);
    }
    out[2 * f] = re;
    out[2 * f + 1] = im;
  }
}
