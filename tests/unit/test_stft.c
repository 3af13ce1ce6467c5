/* Unit tests of src/sn_stft: windows against closed forms, frame counts
 * against brute-force counting, sn_stft_exec against a direct O(n^2) DFT in
 * double (tolerance 1e-5 of the frame's peak magnitude, peak^2 for power 2),
 * ISTFT(STFT(x)) with window-sum-square normalisation (1e-5 of max|x|), the
 * window sum-square against librosa's fill loop, and bad parameters, at every
 * kernel level this CPU has (tests/unit/sn_test_levels.h).
 *
 * With arguments, `test_stft --dump IN OUT n_fft win_length hop window power`
 * is a helper for tests/py/check_stft_librosa.py: it reads float32 samples
 * from IN, does librosa's centred STFT (pad_mode="constant") and ISTFT, and
 * writes to OUT as float32: mag (n_frames x F), cplx (n_frames x F x 2),
 * window (n_fft), wss (padded length), y (n_samples). */
#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_stft.h"
#include "sn_test_levels.h"

#include "sn_check.h"

static const double PI = 3.14159265358979323846;

/* xorshift64* uniform in [-1, 1) */
static uint64_t rng_state = 88172645463325252ull;
static float urand(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  uint64_t v = rng_state * 2685821657736338717ull;
  return (float)((double)(v >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Independent closed forms of the periodic windows (sin^2 form for hann). */
static double win_ref(sn_window_kind k, int n, int m) {
  if (m == 1) return 1.0;
  double a = PI * n / m;
  switch (k) {
    case SN_WIN_HANN: return sin(a) * sin(a);
    case SN_WIN_HAMMING: return 0.08 + 0.92 * sin(a) * sin(a);
    case SN_WIN_BLACKMAN: return 0.42 - 0.5 * cos(2 * a) + 0.08 * cos(4 * a);
    case SN_WIN_RECT: return 1.0;
  }
  return NAN;
}

static const sn_window_kind kinds[] = {SN_WIN_HANN, SN_WIN_HAMMING, SN_WIN_BLACKMAN, SN_WIN_RECT};

static void test_windows(void) {
  const int cases[][2] = {{1, 1}, {1, 4}, {2, 2}, {7, 8}, {8, 8}, {8, 11}, {200, 256}, {255, 255}, {2048, 2048}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int wl = cases[c][0], n = cases[c][1];
    float *w = malloc(sizeof(float) * n);
    for (int k = 0; k < 4; k++) {
      sn_err e = {0};
      int rc = sn_window_make(kinds[k], wl, n, w, &e);
      CHECK(rc == SN_OK, "window_make %s %d %d: %s", sn_window_name(kinds[k]), wl, n, e.msg);
      int lpad = (n - wl) / 2;
      double maxerr = 0;
      for (int i = 0; i < n; i++) {
        double ref = (i >= lpad && i < lpad + wl) ? win_ref(kinds[k], i - lpad, wl) : 0.0;
        maxerr = fmax(maxerr, fabs(ref - w[i]));
      }
      CHECK(maxerr <= 1e-7, "window %s wl=%d n_fft=%d: max error %g", sn_window_name(kinds[k]), wl, n, maxerr);
    }
    free(w);
  }
  /* names */
  const char *names[] = {"hann", "hamming", "blackman", "rectangular", "boxcar", "ones"};
  const sn_window_kind want[] = {SN_WIN_HANN, SN_WIN_HAMMING, SN_WIN_BLACKMAN, SN_WIN_RECT, SN_WIN_RECT, SN_WIN_RECT};
  for (int i = 0; i < 6; i++) {
    sn_window_kind k = SN_WIN_HANN;
    sn_err e = {0};
    CHECK(sn_window_parse(names[i], &k, &e) == SN_OK && k == want[i], "parse %s", names[i]);
  }
  for (int k = 0; k < 4; k++) {
    sn_window_kind kk;
    sn_err e = {0};
    CHECK(sn_window_parse(sn_window_name(kinds[k]), &kk, &e) == SN_OK && kk == kinds[k], "name round trip");
  }
}

/* Frames t with t*hop + n_fft <= padded length, counted one by one. */
static int64_t count_frames(int64_t n, int n_fft, int hop, int center) {
  int64_t len = center ? n + 2 * (n_fft / 2) : n, c = 0;
  for (int64_t t = 0; t * hop + n_fft <= len; t++) c++;
  return c;
}

static void test_frame_counts(void) {
  /* hand-worked values */
  CHECK(sn_stft_n_frames(10, 4, 3, 1) == 4, "centred 10/4/3");
  CHECK(sn_stft_n_frames(10, 4, 3, 0) == 3, "not centred 10/4/3");
  CHECK(sn_stft_n_frames(3, 4, 1, 0) == 0, "n < n_fft not centred");
  CHECK(sn_stft_n_frames(3, 4, 1, 1) == 4, "n < n_fft centred");
  CHECK(sn_stft_n_frames(10, 5, 2, 1) == 5, "odd n_fft centred");
  CHECK(sn_stft_n_frames(0, 5, 2, 1) == 0, "empty, odd n_fft centred");
  CHECK(sn_stft_n_frames(13230000, 2048, 512, 1) == 25840, "10 min at 22.05 kHz");
  CHECK(sn_stft_n_frames(100, 0, 2, 1) == 0 && sn_stft_n_frames(100, 8, 0, 1) == 0, "bad params give 0");
  const int nffts[] = {1, 2, 5, 8, 255, 256};
  const int hops[] = {1, 3, 7, 64, 100};
  for (int a = 0; a < 6; a++)
    for (int b = 0; b < 5; b++)
      for (int64_t n = 0; n < 600; n += 7)
        for (int c = 0; c < 2; c++) {
          int64_t got = sn_stft_n_frames(n, nffts[a], hops[b], c), want = count_frames(n, nffts[a], hops[b], c);
          if (got != want) {
            CHECK(0, "frames n=%lld n_fft=%d hop=%d center=%d: %lld != %lld", (long long)n, nffts[a], hops[b], c,
                  (long long)got, (long long)want);
            return;
          }
        }
}

struct cfg {
  int n_fft, wl, hop, batch;
};
static const struct cfg cfgs[] = {
    {255, 255, 100, 3}, {256, 200, 77, 0}, {64, 33, 64, 1}, {2048, 2048, 512, 4}, {16, 16, 5, 2}, {1, 1, 1, 2},
    {30, 30, 7, 3}, {6, 5, 2, 4},
};

static void test_forward(void) {
  for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
    const struct cfg g = cfgs[c];
    for (int k = 0; k < 4; k++) {
      sn_err e = {0};
      sn_stft_plan *p = NULL;
      int rc = sn_stft_plan_create(g.n_fft, g.wl, g.hop, kinds[k], g.batch, FFTW_ESTIMATE, &p, &e);
      CHECK(rc == SN_OK, "plan %d/%d/%d: %s", g.n_fft, g.wl, g.hop, e.msg);
      if (rc) continue;
      const int F = sn_stft_n_bins(p);
      CHECK(F == g.n_fft / 2 + 1, "n_bins");
      const int64_t T = 11; /* several full batches plus a remainder */
      const int64_t nx = (T - 1) * g.hop + g.n_fft, ldm = F + 3, ldc = F + 2;
      float *x = malloc(sizeof(float) * nx);
      for (int64_t i = 0; i < nx; i++) x[i] = urand() + (float)(0.7 * cos(0.3 * i));
      float *m1 = malloc(sizeof(float) * ldm * T), *m2 = malloc(sizeof(float) * ldm * T);
      float *cx = malloc(sizeof(float) * 2 * ldc * T);
      double *refs = malloc(sizeof(double) * 2 * F * T); /* the direct DFT of every frame */
      for (int64_t t = 0; t < T; t++) sn_stft_frame_ref(sn_stft_window(p), g.n_fft, x + t * g.hop, refs + 2 * F * t);
      for (int mode = -1; mode <= 1; mode++) { /* magnitude stores: auto, plain, non-temporal */
        sn_stft_set_stream(p, mode);
        for (int64_t i = 0; i < ldm * T; i++) m1[i] = m2[i] = -7.0f;
        for (int64_t i = 0; i < 2 * ldc * T; i++) cx[i] = -7.0f;
        CHECK(sn_stft_exec(p, x, T, 1, m1, ldm, cx, ldc, &e) == SN_OK, "exec p1: %s", e.msg);
        CHECK(sn_stft_exec(p, x, T, 2, m2, ldm, NULL, 0, &e) == SN_OK, "exec p2: %s", e.msg);
        double worst = 0, worst2 = 0, worstc = 0;
        int pad_ok = 1;
        for (int64_t t = 0; t < T; t++) {
          const double *ref = refs + 2 * F * t;
          double peak = 0;
          for (int f = 0; f < F; f++) peak = fmax(peak, hypot(ref[2 * f], ref[2 * f + 1]));
          for (int f = 0; f < F; f++) {
            double a = hypot(ref[2 * f], ref[2 * f + 1]);
            worst = fmax(worst, fabs(m1[t * ldm + f] - a) / peak);
            worst2 = fmax(worst2, fabs(m2[t * ldm + f] - a * a) / (peak * peak));
            worstc = fmax(worstc, hypot(cx[2 * (t * ldc + f)] - ref[2 * f], cx[2 * (t * ldc + f) + 1] - ref[2 * f + 1]) / peak);
          }
          for (int64_t f = F; f < ldm; f++) pad_ok &= m1[t * ldm + f] == -7.0f && m2[t * ldm + f] == -7.0f;
          for (int64_t f = 2 * F; f < 2 * ldc; f++) pad_ok &= cx[2 * t * ldc + f] == -7.0f;
      }
        CHECK(worst <= 1e-5 && worst2 <= 1e-5 && worstc <= 1e-5,
              "stft %s n_fft=%d wl=%d hop=%d batch=%d stream=%d: rel err |X| %.3g, |X|^2 %.3g, X %.3g",
              sn_window_name(kinds[k]), g.n_fft, g.wl, g.hop, sn_stft_batch(p), mode, worst, worst2, worstc);
        CHECK(pad_ok, "stft wrote into the leading-dimension padding");
      }
      free(refs);
      free(x);
      free(m1);
      free(m2);
      free(cx);
      sn_stft_plan_destroy(&p);
      CHECK(p == NULL, "destroy sets NULL");
    }
  }
}

/* librosa's __window_ss_fill on the whole padded signal. */
static void wss_ref(const float *w, int n_fft, int hop, int64_t T, double *out) {
  int64_t n = (T - 1) * hop + n_fft;
  for (int64_t i = 0; i < n; i++) out[i] = 0;
  for (int64_t t = 0; t < T; t++) {
    int64_t s = t * hop;
    for (int64_t i = 0; i < n_fft && s + i < n; i++) out[s + i] += (double)w[i] * w[i];
  }
}

/* sn_window_sumsquare against librosa's fill loop, over the whole padded signal
 * plus margins, and on every sub-range start modulo a few lengths. */
static void test_sumsquare(void) {
  const struct cfg c[] = {{16, 16, 4, 0}, {16, 11, 5, 0}, {15, 15, 15, 0}, {8, 8, 13, 0}, {2048, 2048, 512, 0}, {7, 3, 1, 0}};
  const int64_t frames[] = {0, 1, 2, 3, 10, 41};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    for (int k = 0; k < 4; k++) {
      sn_err e = {0};
      sn_stft_plan *p = NULL;
      if (sn_stft_plan_create(c[i].n_fft, c[i].wl, c[i].hop, kinds[k], 2, FFTW_ESTIMATE, &p, &e) != SN_OK) {
        CHECK(0, "plan: %s", e.msg);
        continue;
      }
      for (size_t j = 0; j < sizeof frames / sizeof frames[0]; j++) {
        const int64_t T = frames[j], ny = T > 0 ? (T - 1) * c[i].hop + c[i].n_fft : 0, M = 2 * c[i].n_fft + 3;
        double *ref = calloc(ny + 1, sizeof(double));
        float *got = malloc(sizeof(float) * (ny + 2 * M)), part[29];
        if (T > 0) wss_ref(sn_stft_window(p), c[i].n_fft, c[i].hop, T, ref);
        sn_window_sumsquare(p, T, -M, ny + 2 * M, got);
        double err = 0;
        for (int64_t s = -M; s < ny + M; s++) {
          double r = (s >= 0 && s < ny) ? ref[s] : 0.0;
          err = fmax(err, fabs(got[s + M] - r) / fmax(1.0, r));
        }
        CHECK(err <= 1e-6, "window_sumsquare %s n_fft=%d wl=%d hop=%d frames=%lld: err %g", sn_window_name(kinds[k]),
              c[i].n_fft, c[i].wl, c[i].hop, (long long)T, err);
        int same = 1;
        for (int64_t s0 = -M; s0 + 29 <= ny + M; s0 += 7) {
          sn_window_sumsquare(p, T, s0, 29, part);
          for (int q = 0; q < 29; q++) same &= part[q] == got[s0 + M + q];
        }
        CHECK(same, "window_sumsquare sub-ranges differ from the whole (%s, frames %lld)", sn_window_name(kinds[k]),
              (long long)T);
        free(ref);
        free(got);
      }
      sn_stft_plan_destroy(&p);
    }
}

static void test_roundtrip(void) {
  const struct cfg rt[] = {{256, 256, 64, 0}, {255, 255, 100, 3}, {256, 200, 77, 5}, {2048, 2048, 512, 0}, {16, 16, 5, 2}};
  for (size_t c = 0; c < sizeof rt / sizeof rt[0]; c++) {
    const struct cfg g = rt[c];
    for (int k = 0; k < 4; k++) {
      sn_err e = {0};
      sn_stft_plan *p = NULL;
      if (sn_stft_plan_create(g.n_fft, g.wl, g.hop, kinds[k], g.batch, FFTW_ESTIMATE, &p, &e) != SN_OK) {
        CHECK(0, "plan: %s", e.msg);
        continue;
      }
      const int F = sn_stft_n_bins(p), half = g.n_fft / 2;
      const int64_t L = 5000 + 13 * (int64_t)c;
      const int64_t T = sn_stft_n_frames(L, g.n_fft, g.hop, 1);
      const int64_t ny = (T - 1) * g.hop + g.n_fft;
      float *x = malloc(sizeof(float) * L), *xp = calloc(ny + g.n_fft, sizeof(float));
      for (int64_t i = 0; i < L; i++) x[i] = urand();
      memcpy(xp + half, x, sizeof(float) * L); /* pad_mode="constant": zeros both sides */
      float *cx = malloc(sizeof(float) * 2 * F * T), *y = calloc(ny, sizeof(float)), *wss = malloc(sizeof(float) * (ny + 20));
      double *wr = malloc(sizeof(double) * ny);
      CHECK(sn_stft_exec(p, xp, T, 1, NULL, F, cx, F, &e) == SN_OK, "exec: %s", e.msg);
      CHECK(sn_istft_exec(p, cx, F, T, y, &e) == SN_OK, "istft: %s", e.msg);
      /* window sum-square: whole range, with 10 samples beyond each end, vs librosa's loop */
      sn_window_sumsquare(p, T, -10, ny + 20, wss);
      wss_ref(sn_stft_window(p), g.n_fft, g.hop, T, wr);
      double wss_err = 0;
      for (int64_t i = -10; i < ny + 10; i++) {
        double ref = (i >= 0 && i < ny) ? wr[i] : 0.0;
        wss_err = fmax(wss_err, fabs(wss[i + 10] - ref) / fmax(1.0, ref));
      }
      CHECK(wss_err <= 1e-6, "window_sumsquare %s %d/%d/%d: err %g", sn_window_name(kinds[k]), g.n_fft, g.wl, g.hop, wss_err);
      /* a sub-range evaluation matches the whole one */
      float sub[37];
      sn_window_sumsquare(p, T, 123, 37, sub);
      int sub_ok = 1;
      for (int i = 0; i < 37; i++) sub_ok &= sub[i] == wss[123 + 10 + i];
      CHECK(sub_ok, "window_sumsquare sub-range");
      const float tiny = FLT_MIN;
      double err = 0;
      int64_t checked = 0;
      for (int64_t i = 0; i < L; i++) {
        float s = wss[half + i + 10];
        if (s > tiny) {
          err = fmax(err, fabs(y[half + i] / s - x[i]));
          checked++;
        }
      }
      CHECK(checked == L, "istft %s: only %lld of %lld samples covered", sn_window_name(kinds[k]), (long long)checked, (long long)L);
      CHECK(err <= 1e-5, "istft(stft(x)) %s n_fft=%d wl=%d hop=%d: max error %g", sn_window_name(kinds[k]), g.n_fft,
            g.wl, g.hop, err);
      free(x);
      free(xp);
      free(cx);
      free(y);
      free(wss);
      free(wr);
      sn_stft_plan_destroy(&p);
    }
  }
}

/* The ISTFT alone against a direct inverse DFT: irfft scaled by 1/n_fft,
 * Im(DC) and Im(Nyquist) ignored (numpy), times the window, overlap-added. */
static void test_inverse_direct(void) {
  const struct cfg g = {16, 12, 5, 2};
  sn_err e = {0};
  sn_stft_plan *p = NULL;
  if (sn_stft_plan_create(g.n_fft, g.wl, g.hop, SN_WIN_HAMMING, g.batch, FFTW_ESTIMATE, &p, &e) != SN_OK) {
    CHECK(0, "plan: %s", e.msg);
    return;
  }
  const int F = sn_stft_n_bins(p), n = g.n_fft, ldc = F + 1;
  const int64_t T = 5, ny = (T - 1) * g.hop + n;
  float *cx = malloc(sizeof(float) * 2 * ldc * T), *y = malloc(sizeof(float) * ny);
  double *yr = calloc(ny, sizeof(double));
  for (int64_t i = 0; i < 2 * ldc * T; i++) cx[i] = urand();
  for (int64_t i = 0; i < ny; i++) y[i] = 0.25f; /* accumulates into what is there */
  CHECK(sn_istft_exec(p, cx, ldc, T, y, &e) == SN_OK, "istft: %s", e.msg);
  const float *w = sn_stft_window(p);
  for (int64_t t = 0; t < T; t++) {
    const float *X = cx + 2 * t * ldc;
    for (int i = 0; i < n; i++) {
      double acc = X[0];
      for (int f = 1; f < F; f++) {
        double a = 2 * PI * (double)((f * i) % n) / n;
        double re = X[2 * f], im = X[2 * f + 1];
        if (2 * f == n) acc += re * cos(a); /* Nyquist, imaginary part ignored */
        else acc += 2 * (re * cos(a) - im * sin(a));
      }
      yr[t * g.hop + i] += w[i] * acc / n;
    }
  }
  double err = 0;
  for (int64_t i = 0; i < ny; i++) err = fmax(err, fabs(y[i] - 0.25 - yr[i]));
  CHECK(err <= 1e-5, "istft vs direct inverse DFT: max error %g", err);
  free(cx);
  free(y);
  free(yr);
  sn_stft_plan_destroy(&p);
}

static void expect_fail(int rc, sn_err *e, int code, const char *needle, const char *what) {
  CHECK(rc == code, "%s: rc %d, want %d", what, rc, code);
  CHECK(e->code == code && strstr(e->msg, needle), "%s: message '%s' lacks '%s'", what, e->msg, needle);
  if (rc) fprintf(stderr, "  ok (%s): %s\n", what, e->msg);
}

static void test_bad_params(void) {
  sn_stft_plan *p = (sn_stft_plan *)&failures; /* must be reset to NULL on failure */
  sn_err e = {0};
  expect_fail(sn_stft_plan_create(0, 1, 1, SN_WIN_HANN, 0, FFTW_ESTIMATE, &p, &e), &e, SN_ERR_USAGE, "n_fft", "n_fft 0");
  CHECK(p == NULL, "plan left NULL on failure");
  e = (sn_err){0};
  expect_fail(sn_stft_plan_create(-4, 1, 1, SN_WIN_HANN, 0, FFTW_ESTIMATE, &p, &e), &e, SN_ERR_USAGE, "n_fft", "n_fft < 0");
  e = (sn_err){0};
  expect_fail(sn_stft_plan_create(16, 16, 0, SN_WIN_HANN, 0, FFTW_ESTIMATE, &p, &e), &e, SN_ERR_USAGE, "hop", "hop 0");
  e = (sn_err){0};
  expect_fail(sn_stft_plan_create(16, 17, 4, SN_WIN_HANN, 0, FFTW_ESTIMATE, &p, &e), &e, SN_ERR_USAGE, "win_length",
              "win_length > n_fft");
  e = (sn_err){0};
  expect_fail(sn_stft_plan_create(16, 0, 4, SN_WIN_HANN, 0, FFTW_ESTIMATE, &p, &e), &e, SN_ERR_USAGE, "win_length",
              "win_length 0");
  e = (sn_err){0};
  sn_window_kind k;
  expect_fail(sn_window_parse("kaiser", &k, &e), &e, SN_ERR_USAGE, "kaiser", "unknown window");
  e = (sn_err){0};
  p = NULL;
  if (sn_stft_plan_create(16, 16, 4, SN_WIN_HANN, 0, FFTW_ESTIMATE, &p, &e) != SN_OK) {
    CHECK(0, "plan: %s", e.msg);
    return;
  }
  float x[64] = {0}, m[9 * 4], c[18 * 4];
  e = (sn_err){0};
  expect_fail(sn_stft_exec(p, x, 4, 3, m, 9, NULL, 0, &e), &e, SN_ERR_USAGE, "power", "power 3");
  e = (sn_err){0};
  expect_fail(sn_stft_exec(p, x, 4, 1, m, 8, NULL, 0, &e), &e, SN_ERR_USAGE, "leading dimension", "ldm < F");
  e = (sn_err){0};
  expect_fail(sn_stft_exec(p, x, 4, 1, NULL, 0, NULL, 0, &e), &e, SN_ERR_USAGE, "no output", "no output");
  e = (sn_err){0};
  expect_fail(sn_istft_exec(p, c, 8, 4, x, &e), &e, SN_ERR_USAGE, "leading dimension", "istft ldc < F");
  e = (sn_err){0};
  CHECK(sn_stft_exec(p, x, 0, 1, m, 9, NULL, 0, &e) == SN_OK, "zero frames is fine");
  sn_stft_plan_destroy(&p);
  sn_stft_plan_destroy(&p); /* twice is fine */
}

/* Helper mode for the Python librosa-convention check (see the file comment). */
static int dump(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: test_stft --dump IN OUT n_fft win_length hop window power\n");
    return 2;
  }
  int n_fft = atoi(argv[4]), wl = atoi(argv[5]), hop = atoi(argv[6]), power = atoi(argv[8]);
  sn_err e = {0};
  sn_window_kind k;
  sn_stft_plan *p = NULL;
  if (sn_window_parse(argv[7], &k, &e) || sn_stft_plan_create(n_fft, wl, hop, k, 0, FFTW_ESTIMATE, &p, &e)) {
    fprintf(stderr, "test_stft: %s\n", e.msg);
    return 1;
  }
  FILE *f = fopen(argv[2], "rb");
  if (!f) return 1;
  fseek(f, 0, SEEK_END);
  int64_t L = ftell(f) / 4;
  fseek(f, 0, SEEK_SET);
  const int half = n_fft / 2, F = sn_stft_n_bins(p);
  const int64_t T = sn_stft_n_frames(L, n_fft, hop, 1), ny = (T - 1) * hop + n_fft;
  float *xp = calloc(ny + n_fft, sizeof(float));
  if (fread(xp + half, 4, L, f) != (size_t)L) return 1;
  fclose(f);
  float *mag = malloc(4 * F * T), *cx = malloc(8 * F * T), *y = calloc(ny, 4), *wss = malloc(4 * ny);
  if (sn_stft_exec(p, xp, T, power, mag, F, cx, F, &e) || sn_istft_exec(p, cx, F, T, y, &e)) {
    fprintf(stderr, "test_stft: %s\n", e.msg);
    return 1;
  }
  sn_window_sumsquare(p, T, 0, ny, wss);
  for (int64_t i = 0; i < ny; i++)
    if (wss[i] > FLT_MIN) y[i] /= wss[i];
  f = fopen(argv[3], "wb");
  if (!f) return 1;
  fwrite(mag, 4, F * T, f);
  fwrite(cx, 8, F * T, f);
  fwrite(sn_stft_window(p), 4, n_fft, f);
  fwrite(wss, 4, ny, f);
  fwrite(y + half, 4, L, f);
  fclose(f);
  printf("%lld %d\n", (long long)T, F);
  free(xp);
  free(mag);
  free(cx);
  free(y);
  free(wss);
  sn_stft_plan_destroy(&p);
  return 0;
}

static int all_checks(void) {
  int before = failures;
  test_windows();
  test_frame_counts();
  test_forward();
  test_sumsquare();
  test_roundtrip();
  test_inverse_direct();
  test_bad_params();
  return failures - before;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--dump") == 0) return dump(argc, argv);
  sn_test_levels(all_checks);
  if (failures) {
    fprintf(stderr, "test_stft: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_stft: all passed\n");
  return 0;
}
