/* Benchmark of the serial STFT kernel (src/sn_stft) against a plain loop of
 * batched FFTW r2c calls over the same frames (no window, no magnitude: the
 * frames are read in place from the signal with idist = hop into one reused
 * output buffer), on one core. Prints medians of `runs` interleaved runs.
 *
 * usage: bench_stft [seconds=600] [sr=22050] [n_fft=2048] [hop=512] [batch=0]
 *                   [measure=1] [runs=5] [xfile]
 * With xfile, the unpadded float32 samples are written there (for the scipy
 * timing in jobs/bench_stft.sh). Output: one "key=value" line per result. */
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_stft.h"

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 600.0;
  int sr = argc > 2 ? atoi(argv[2]) : 22050;
  int n_fft = argc > 3 ? atoi(argv[3]) : 2048;
  int hop = argc > 4 ? atoi(argv[4]) : 512;
  int batch = argc > 5 ? atoi(argv[5]) : 0;
  int measure = argc > 6 ? atoi(argv[6]) : 1;
  int runs = argc > 7 ? atoi(argv[7]) : 5;
  const char *xfile = argc > 8 ? argv[8] : NULL;
  if (runs < 1 || runs > 100) runs = 5;
  unsigned flags = measure ? FFTW_MEASURE : FFTW_ESTIMATE;

  int64_t L = (int64_t)(seconds * sr);
  int64_t T = sn_stft_n_frames(L, n_fft, hop, 1);
  int half = n_fft / 2;
  int64_t nx = (T - 1) * hop + n_fft;
  sn_err e = {0};
  float *x = sn_calloc((size_t)(nx > L + 2 * half ? nx : L + 2 * half) * sizeof(float), "x", &e);
  if (!x) return 1;
  uint64_t s = 12345;
  for (int64_t i = 0; i < L; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x[half + i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
  }
  if (xfile) {
    FILE *f = fopen(xfile, "wb");
    if (!f || fwrite(x + half, sizeof(float), (size_t)L, f) != (size_t)L) return 1;
    fclose(f);
  }

  double t0 = sn_wtime();
  sn_stft_plan *p = NULL;
  if (sn_stft_plan_create(n_fft, n_fft, hop, SN_WIN_HANN, batch, flags, &p, &e)) {
    fprintf(stderr, "bench_stft: %s\n", e.msg);
    return 1;
  }
  double t_plan = sn_wtime() - t0;
  batch = sn_stft_batch(p);
  const int F = sn_stft_n_bins(p);
  float *mag = sn_calloc((size_t)F * T * sizeof(float), "mag", &e);
  if (!mag) return 1;

  /* the peer: batched r2c straight from the signal (overlapping frames, idist = hop) */
  fftwf_complex *out = fftwf_alloc_complex((size_t)F * batch);
  float *scratch = fftwf_alloc_real((size_t)(batch - 1) * hop + n_fft);
  t0 = sn_wtime();
  fftwf_plan pb = fftwf_plan_many_dft_r2c(1, &n_fft, batch, scratch, NULL, 1, hop, out, NULL, 1, F, flags);
  fftwf_plan p1 = fftwf_plan_many_dft_r2c(1, &n_fft, 1, scratch, NULL, 1, hop, out, NULL, 1, F, flags);
  double t_plan_peer = sn_wtime() - t0;
  if (!pb || !p1 || fftwf_alignment_of(scratch) != fftwf_alignment_of(x) ||
      fftwf_alignment_of(x + hop) != fftwf_alignment_of(x)) {
    fprintf(stderr, "bench_stft: peer plan failed or hop breaks the alignment\n");
    return 1;
  }

  double *ts = malloc(sizeof(double) * runs), *tp = malloc(sizeof(double) * runs),
         *ts2 = malloc(sizeof(double) * runs);
  double sink = 0;
  for (int r = 0; r < runs; r++) {
    t0 = sn_wtime();
    for (int64_t f0 = 0; f0 < T; f0 += batch) {
      if (T - f0 >= batch) {
        fftwf_execute_dft_r2c(pb, x + f0 * hop, out);
      } else {
        for (int64_t f = f0; f < T; f++) fftwf_execute_dft_r2c(p1, x + f * hop, out);
      }
      sink += out[0][0];
    }
    tp[r] = sn_wtime() - t0;
    t0 = sn_wtime();
    if (sn_stft_exec(p, x, T, 1, mag, F, NULL, 0, &e)) return 1;
    ts[r] = sn_wtime() - t0;
    t0 = sn_wtime();
    if (sn_stft_exec(p, x, T, 2, mag, F, NULL, 0, &e)) return 1;
    ts2[r] = sn_wtime() - t0;
  }
  double ms = median(ts, runs), mp = median(tp, runs), ms2 = median(ts2, runs);

  /* ISTFT side: complex STFT, overlap-add ISTFT, window sum-square, and the
   * peer: a plain loop of batched c2r calls into one reused buffer. */
  sn_free(mag);
  mag = NULL;
  float *cx = sn_calloc((size_t)F * T * 2 * sizeof(float), "cplx", &e);
  float *y = sn_calloc((size_t)nx * sizeof(float), "y", &e);
  float *wss = sn_calloc((size_t)nx * sizeof(float), "wss", &e);
  fftwf_complex *cin = fftwf_alloc_complex((size_t)F * batch);
  float *rout = fftwf_alloc_real((size_t)n_fft * batch);
  fftwf_plan qb = fftwf_plan_many_dft_c2r(1, &n_fft, batch, cin, NULL, 1, F, rout, NULL, 1, n_fft, flags);
  if (!cx || !y || !wss || !qb) return 1;
  double *tc = malloc(sizeof(double) * runs), *ti = malloc(sizeof(double) * runs),
         *tw = malloc(sizeof(double) * runs), *tq = malloc(sizeof(double) * runs);
  for (int r = 0; r < runs; r++) {
    t0 = sn_wtime();
    if (sn_stft_exec(p, x, T, 1, NULL, 0, cx, F, &e)) return 1;
    tc[r] = sn_wtime() - t0;
    memset(y, 0, (size_t)nx * sizeof(float));
    t0 = sn_wtime();
    if (sn_istft_exec(p, cx, F, T, y, &e)) return 1;
    ti[r] = sn_wtime() - t0;
    t0 = sn_wtime();
    sn_window_sumsquare(p, T, 0, nx, wss);
    tw[r] = sn_wtime() - t0;
    t0 = sn_wtime();
    for (int64_t f0 = 0; f0 + batch <= T; f0 += batch) {
      memcpy(cin, cx + 2 * f0 * F, sizeof(fftwf_complex) * F * batch); /* c2r destroys its input */
      fftwf_execute(qb);
      sink += rout[0];
    }
    tq[r] = sn_wtime() - t0;
  }
  double mc = median(tc, runs), mi = median(ti, runs), mw = median(tw, runs), mq = median(tq, runs);
  printf("frames=%lld n_fft=%d hop=%d batch=%d flags=%s runs=%d\n", (long long)T, n_fft, hop, batch,
         measure ? "MEASURE" : "ESTIMATE", runs);
  printf("plan_s=%.4f peer_plan_s=%.4f\n", t_plan, t_plan_peer);
  printf("sn_stft_exec_power1_s=%.4f\n", ms);
  printf("sn_stft_exec_power2_s=%.4f\n", ms2);
  printf("fftw_batched_loop_s=%.4f\n", mp);
  printf("ratio_power1_vs_fftw=%.3f\n", ms / mp);
  printf("ratio_power2_vs_fftw=%.3f\n", ms2 / mp);
  printf("sn_stft_exec_complex_s=%.4f\n", mc);
  printf("sn_istft_exec_s=%.4f\n", mi);
  printf("fftw_batched_c2r_loop_s=%.4f\n", mq);
  printf("ratio_istft_vs_fftw=%.3f\n", mi / mq);
  printf("sn_window_sumsquare_s=%.4f\n", mw);
  if (sink == 12345.678) printf("\n");
  fftwf_destroy_plan(qb);
  fftwf_free(cin);
  fftwf_free(rout);
  sn_free(cx);
  sn_free(y);
  sn_free(wss);
  free(tc);
  free(ti);
  free(tw);
  free(tq);
  fftwf_destroy_plan(pb);
  fftwf_destroy_plan(p1);
  fftwf_free(out);
  fftwf_free(scratch);
  sn_stft_plan_destroy(&p);
  sn_free(mag);
  sn_free(x);
  free(ts);
  free(tp);
  free(ts2);
  return 0;
}
