/* Unit tests of src/sn_group (grouping NMF components into sources): k-means
 * against the exhaustive reference in the same module, separable clusters
 * recovered exactly whatever the order of the points, determinism, the H
 * statistic summed by blocks against a direct Pearson correlation, timbre
 * features independent of a column's level, and whole groupings of synthetic
 * W and H by timbre and by co-activation; the peaks grouping's features
 * (log peakiness, log centroid below 1 kHz) against closed-form values; the
 * S = 2 normalized cut's affinity against its definition and its split
 * against every split.
 * Exit status 0 = all passed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_group.h"

#include "sn_check.h"

static uint64_t rng = 88172645463325252ULL;
static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}
static double nrand(void) {
  double u = urand() + 1e-300, v = urand();
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Same partition (labels equal up to renaming)? Both are canonical when they
 * come from sn_kmeans, but compare as partitions to test that too. */
static int same_partition(int n, const int *a, const int *b) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if ((a[i] == a[j]) != (b[i] == b[j])) return 0;
  return 1;
}

static int canonical(int n, const int *a) {
  int next = 0;
  for (int i = 0; i < n; i++) {
    if (a[i] > next) return 0;
    if (a[i] == next) next++;
  }
  return 1;
}

/* Separable blobs: k centres far apart, n points in a shuffled order. */
static void test_blobs(void) {
  for (int trial = 0; trial < 40; trial++) {
    int k = 2 + trial % 4, d = 1 + trial % 7, n = k + (int)(urand() * 40);
    double *X = malloc((size_t)n * d * sizeof *X), *cen = malloc((size_t)k * d * sizeof *cen);
    int *truth = malloc(n * sizeof(int)), *lab = malloc(n * sizeof(int)), *lab2 = malloc(n * sizeof(int));
    for (int c = 0; c < k; c++)
      for (int j = 0; j < d; j++) cen[c * d + j] = 100.0 * nrand();
    for (int i = 0; i < n; i++) truth[i] = i < k ? i : (int)(urand() * k); /* every cluster has a point */
    for (int i = n - 1; i > 0; i--) {                                        /* shuffle */
      int j = (int)(urand() * (i + 1)), t = truth[i];
      truth[i] = truth[j], truth[j] = t;
    }
    for (int i = 0; i < n; i++)
      for (int j = 0; j < d; j++) X[i * d + j] = cen[truth[i] * d + j] + 0.5 * nrand();
    /* unless two centres came close, the blobs are separable */
    double mind = 1e300;
    for (int a = 0; a < k; a++)
      for (int b = 0; b < a; b++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (cen[a * d + j] - cen[b * d + j]) * (cen[a * d + j] - cen[b * d + j]);
        if (s < mind) mind = s;
      }
    sn_err e = {0};
    double in = 0, in2 = 0;
    int rc = sn_kmeans(n, d, X, k, SN_GROUP_RESTARTS, 7, lab, &in, &e);
    CHECK(rc == SN_OK, "blobs: %s", e.msg);
    CHECK(canonical(n, lab), "blobs %d: labels not in order of first appearance", trial);
    if (sqrt(mind) > 20 * sqrt((double)d))
      CHECK(same_partition(n, lab, truth), "blobs %d (n %d, k %d, d %d): clusters not recovered", trial, n, k, d);
    rc = sn_kmeans(n, d, X, k, SN_GROUP_RESTARTS, 7, lab2, &in2, &e);
    CHECK(rc == SN_OK && in == in2 && !memcmp(lab, lab2, n * sizeof(int)), "blobs %d: two runs differ", trial);
    free(X), free(cen), free(truth), free(lab), free(lab2);
  }
}

/* Small random sets: k-means never beats the exhaustive optimum, and finds
 * it on nearly all of them. */
static void test_exhaustive(void) {
  int found = 0, total = 0;
  for (int trial = 0; trial < 60; trial++) {
    int n = 4 + trial % 9, k = 1 + trial % 4, d = 1 + trial % 3;
    if (k > n) k = n;
    double X[16 * 3];
    for (int i = 0; i < n * d; i++) X[i] = nrand();
    int a[16], b[16];
    double ia = 0, ib = 0;
    sn_err e = {0};
    CHECK(sn_kmeans(n, d, X, k, SN_GROUP_RESTARTS, 1, a, &ia, &e) == SN_OK, "%s", e.msg);
    CHECK(sn_kmeans_exhaustive(n, d, X, k, b, &ib, &e) == SN_OK, "%s", e.msg);
    CHECK(canonical(n, b), "exhaustive: labels not canonical");
    int used[16] = {0}, nu = 0;
    for (int i = 0; i < n; i++) nu += !used[a[i]]++;
    CHECK(nu == k, "random %d: %d of %d clusters used", trial, nu, k);
    CHECK(ia >= ib * (1 - 1e-12) - 1e-12, "random %d: k-means %.17g below the exhaustive optimum %.17g", trial, ia, ib);
    found += ia <= ib * (1 + 1e-12) + 1e-12;
    total++;
  }
  CHECK(found >= total - 2, "k-means found the optimum on %d of %d small sets", found, total);
  /* hand-made: three pairs on a line */
  double X[6] = {0, 0.1, 10, 10.1, 20, 20.1};
  int lab[6], want[6] = {0, 0, 1, 1, 2, 2};
  sn_err e = {0};
  CHECK(sn_kmeans_exhaustive(6, 1, X, 3, lab, NULL, &e) == SN_OK && !memcmp(lab, want, sizeof want), "exhaustive: pairs");
  CHECK(sn_kmeans(6, 1, X, 3, 4, 0, lab, NULL, &e) == SN_OK && !memcmp(lab, want, sizeof want), "k-means: pairs");
}

/* Degenerate inputs: identical points, k = n, k = 1, bad k. */
static void test_degenerate(void) {
  double X[10] = {0};
  int lab[10];
  sn_err e = {0};
  CHECK(sn_kmeans(10, 1, X, 3, 5, 0, lab, NULL, &e) == SN_OK, "identical points: %s", e.msg);
  int used[3] = {0};
  for (int i = 0; i < 10; i++) used[lab[i]] = 1;
  CHECK(used[0] && used[1] && used[2], "identical points: a cluster is empty");
  for (int i = 0; i < 10; i++) X[i] = i * i;
  CHECK(sn_kmeans(10, 1, X, 10, 3, 0, lab, NULL, &e) == SN_OK, "k = n: %s", e.msg);
  for (int i = 0; i < 10; i++) CHECK(lab[i] == i, "k = n: point %d in cluster %d", i, lab[i]);
  CHECK(sn_kmeans(10, 1, X, 1, 3, 0, lab, NULL, &e) == SN_OK, "k = 1: %s", e.msg);
  for (int i = 0; i < 10; i++) CHECK(lab[i] == 0, "k = 1: point %d in cluster %d", i, lab[i]);
  sn_err e2 = {0};
  CHECK(sn_kmeans(10, 1, X, 11, 3, 0, lab, NULL, &e2) == SN_ERR_INPUT, "k > n accepted");
  sn_err e3 = {0};
  CHECK(sn_kmeans(10, 1, X, 0, 3, 0, lab, NULL, &e3) == SN_ERR_INPUT, "k = 0 accepted");
}

/* The H statistic by blocks equals one pass; the correlation equals a
 * direct two-pass Pearson coefficient. */
static void test_hcorr(void) {
  const int R = 5, N = 37;
  float H[5 * 37];
  for (int t = 0; t < N; t++)
    for (int r = 0; r < R; r++) H[r + t * R] = (float)(r == 4 ? 2.0 : (urand() < 0.3 ? 0.0 : urand() * (r + 1)));
  double one[30] = {0}, blocks[30] = {0}, part[30];
  sn_group_hstat(R, N, H, one);
  for (int t0 = 0; t0 < N; t0 += 10) {
    memset(part, 0, sizeof part);
    sn_group_hstat(R, N - t0 < 10 ? N - t0 : 10, H + t0 * R, part);
    for (int i = 0; i < 30; i++) blocks[i] += part[i];
  }
  double C[25];
  sn_group_hcorr(R, N, blocks, C);
  double worst = 0;
  for (int i = 0; i < R; i++)
    for (int j = 0; j < R; j++) {
      double mi = 0, mj = 0, sij = 0, sii = 0, sjj = 0;
      for (int t = 0; t < N; t++) mi += H[i + t * R] / (double)N, mj += H[j + t * R] / (double)N;
      for (int t = 0; t < N; t++) {
        double a = H[i + t * R] - mi, b = H[j + t * R] - mj;
        sij += a * b, sii += a * a, sjj += b * b;
      }
      double want = i == j ? 1.0 : (sii > 0 && sjj > 0 ? sij / sqrt(sii * sjj) : 0.0);
      double d = fabs(C[i + j * R] - want);
      if (d > worst) worst = d;
    }
  CHECK(worst < 1e-12, "H correlation off by %g", worst);
  /* the statistic from blocks adds up to the one-pass statistic (upper triangle and sums) */
  double dev = 0;
  for (int j = 0; j < R; j++)
    for (int i = 0; i <= j; i++) dev = fmax(dev, fabs(one[i + j * R] - blocks[i + j * R]));
  for (int i = 0; i < R; i++) dev = fmax(dev, fabs(one[R * R + i] - blocks[R * R + i]));
  CHECK(dev < 1e-9, "H statistic by blocks differs by %g", dev);
}

/* The features of `peaks` against closed forms: a lone spike away from the
 * edges (p = 1 there, s = 1/(2h+1) over 2h + 1 bins), two equal spikes, a
 * constant column (s = p: peakiness 0), a zero column; h from the bin width;
 * the level drops out. The centroid below 1 kHz of a column with energy
 * above it too. */
static void test_peak_features(void) {
  enum { F = 1025, R = 5 };
  const double sr = 22050;
  static float W[F * R];
  memset(W, 0, sizeof W);
  W[300 + 0 * F] = 2.0f;                          /* one spike */
  W[60 + 1 * F] = 1.0f, W[400 + 1 * F] = 1.0f;     /* two spikes, 340 bins apart */
  for (int f = 0; f < F; f++) W[f + 2 * F] = 0.25f; /* constant */
  /* column 3 stays zero; column 4: bins 10 and 50 (108 and 538 Hz) and bin 500 (5.4 kHz) */
  W[10 + 4 * F] = 1.0f, W[50 + 4 * F] = 3.0f, W[500 + 4 * F] = 100.0f;
  double lp[R], lp5[R], lc[R];
  const int h = 4; /* floor(100 / 2 / (22050 / 2048)) = floor(4.64) */
  sn_group_log_peakiness(F, R, W, sr, 2048, lp);
  const double e1 = SN_GROUP_PEAK_EPS, fl = SN_GROUP_PEAK_FLOOR;
  double want0 = log(log((1 + e1) / (1.0 / (2 * h + 1) + e1)) + fl);
  double e2 = SN_GROUP_PEAK_EPS * 0.5;
  double want1 = log(log((0.5 + e2) / (0.5 / (2 * h + 1) + e2)) + fl);
  CHECK(fabs(lp[0] - want0) < 1e-12, "peakiness of a spike %.17g, want %.17g", lp[0], want0);
  CHECK(fabs(lp[1] - want1) < 1e-12, "peakiness of two spikes %.17g, want %.17g", lp[1], want1);
  CHECK(fabs(lp[2] - log(fl)) < 1e-9, "peakiness of a constant column %.17g, want %.17g", lp[2], log(fl));
  CHECK(lp[3] == log(fl), "peakiness of a zero column %.17g", lp[3]);
  /* n_fft 4096: bins of 5.38 Hz, h = floor(9.29) = 9 */
  {
    static float W2[2049];
    memset(W2, 0, sizeof W2);
    W2[700] = 1.0f;
    double l2;
    sn_group_log_peakiness(2049, 1, W2, sr, 4096, &l2);
    double want = log(log((1 + e1) / (1.0 / 19 + e1)) + fl);
    CHECK(fabs(l2 - want) < 1e-12, "peakiness at n_fft 4096 %.17g, want %.17g", l2, want);
  }
  static float W5[F * R];
  for (int i = 0; i < F * R; i++) W5[i] = 5 * W[i];
  sn_group_log_peakiness(F, R, W5, sr, 2048, lp5);
  double dev = 0;
  for (int r = 0; r < R; r++) dev = fmax(dev, fabs(lp[r] - lp5[r]));
  CHECK(dev < 1e-12, "peakiness depends on the level (%g)", dev);
  sn_group_log_low_centroid(F, R, W, sr, 2048, lc);
  const double df = sr / 2048;
  double wantc = log((1.0 * (10 * df + 20) + 3.0 * (50 * df + 20)) / 4.0);
  CHECK(fabs(lc[4] - wantc) < 1e-12, "centroid below 1 kHz %.17g, want %.17g", lc[4], wantc);
  CHECK(fabs(lc[0] - log(SN_GROUP_LOW_CENTROID_HZ + 20)) < 1e-12, "nothing below 1 kHz: %.17g", lc[0]);
  CHECK(fabs(lc[1] - log(60 * df + 20)) < 1e-12, "centroid below 1 kHz of spikes at bins 60 and 400: %.17g", lc[1]);
  CHECK(fabs(lc[2] - log(((92 * 93 / 2) * df) / 93 + 20)) < 1e-12, "centroid below 1 kHz of a constant: %.17g", lc[2]);
  CHECK(fabs(lc[3] - log(SN_GROUP_LOW_CENTROID_HZ + 20)) < 1e-12, "zero column: %.17g", lc[3]);
}

/* Synthetic W of F = 1025 bins: low components (energy below 300 Hz) and
 * high ones (above 3 kHz), at different levels; H with two groups of rows
 * that rise and fall together. */
static void test_groupings(void) {
  enum { F = 1025, R = 8, N = 400 };
  const double sr = 22050;
  static float W[F * R], H[R * N];
  int group_w[R] = {1, 0, 1, 0, 0, 1, 1, 0}; /* timbre: 0 high, 1 low */
  for (int r = 0; r < R; r++) {
    double peak = group_w[r] ? 60 + 120 * urand() : 3000 + 4000 * urand(), level = pow(10, 3 * urand());
    for (int f = 0; f < F; f++) {
      double hz = f * sr / 2048.0, x = log(hz + 1) - log(peak);
      W[f + r * F] = (float)(level * (exp(-x * x * 8) + 1e-4 * urand()));
    }
  }
  double Xt[R * (SN_GROUP_CEPS - 1)], Xs[R * (SN_GROUP_CEPS - 1)];
  sn_err e = {0};
  CHECK(sn_group_timbre(F, R, W, sr, 2048, Xt, &e) == SN_OK, "timbre: %s", e.msg);
  static float W5[F * R];
  for (int i = 0; i < F * R; i++) W5[i] = 5 * W[i];
  CHECK(sn_group_timbre(F, R, W5, sr, 2048, Xs, &e) == SN_OK, "timbre: %s", e.msg);
  double dev = 0;
  for (int i = 0; i < R * (SN_GROUP_CEPS - 1); i++) dev = fmax(dev, fabs(Xt[i] - Xs[i]));
  CHECK(dev < 1e-5, "timbre features depend on the level (%g)", dev);
  static float Z[F];
  double Xz[SN_GROUP_CEPS - 1];
  CHECK(sn_group_timbre(F, 1, Z, sr, 2048, Xz, &e) == SN_OK, "timbre of a zero column: %s", e.msg);
  for (int j = 0; j < SN_GROUP_CEPS - 1; j++) CHECK(isfinite(Xz[j]) && fabs(Xz[j]) < 1e-9, "zero column: feature %d = %g", j, Xz[j]);
  int lab[R];
  CHECK(sn_group_components(SN_GROUP_TIMBRE, F, R, W, sr, 2048, 0, NULL, 2, lab, &e) == SN_OK, "timbre: %s", e.msg);
  CHECK(same_partition(R, lab, group_w), "timbre: low and high components not separated");
  CHECK(lab[0] == 0, "timbre: component 0 not in source 0");

  /* co-activation: rows 0,2,4,6 follow one envelope, 1,3,5,7 another */
  int group_h[R] = {0, 1, 0, 1, 0, 1, 0, 1};
  double *stat = calloc((size_t)sn_group_hstat_len(R), sizeof(double));
  for (int t = 0; t < N; t++) {
    double a = urand() < 0.2 ? 1 + urand() : 0.01 * urand(), b = urand() < 0.2 ? 1 + urand() : 0.01 * urand();
    for (int r = 0; r < R; r++) H[r + t * R] = (float)((group_h[r] ? b : a) * (0.5 + r) * (0.8 + 0.4 * urand()));
  }
  for (int t0 = 0; t0 < N; t0 += 64) sn_group_hstat(R, N - t0 < 64 ? N - t0 : 64, H + t0 * R, stat);
  CHECK(sn_group_components(SN_GROUP_COACT, F, R, W, sr, 2048, N, stat, 2, lab, &e) == SN_OK, "coact: %s", e.msg);
  CHECK(same_partition(R, lab, group_h), "coact: co-active rows not grouped");
  /* both, with W and H agreeing on one partition */
  for (int t = 0; t < N; t++) {
    double a = urand() < 0.2 ? 1 + urand() : 0.01 * urand(), b = urand() < 0.2 ? 1 + urand() : 0.01 * urand();
    for (int r = 0; r < R; r++) H[r + t * R] = (float)((group_w[r] ? b : a) * (0.8 + 0.4 * urand()));
  }
  memset(stat, 0, (size_t)sn_group_hstat_len(R) * sizeof(double));
  sn_group_hstat(R, N, H, stat);
  CHECK(sn_group_components(SN_GROUP_BOTH, F, R, W, sr, 2048, N, stat, 2, lab, &e) == SN_OK, "both: %s", e.msg);
  CHECK(same_partition(R, lab, group_w), "both: not grouped");
  for (int S = 1; S <= R; S++) {
    CHECK(sn_group_components(SN_GROUP_BOTH, F, R, W, sr, 2048, N, stat, S, lab, &e) == SN_OK, "both S=%d: %s", S, e.msg);
    int used[R] = {0}, nu = 0;
    for (int r = 0; r < R; r++) nu += !used[lab[r]]++;
    CHECK(nu == S && canonical(R, lab), "both S=%d: %d sources used", S, nu);
  }
  /* tiered: S <= 2 is both; every S uses S sources, numbered in order of first appearance */
  for (int S = 1; S <= R; S++) {
    int lb[R];
    CHECK(sn_group_components(SN_GROUP_TIERED, F, R, W, sr, 2048, N, stat, S, lab, &e) == SN_OK, "tiered S=%d: %s", S, e.msg);
    int used[R] = {0}, nu = 0;
    for (int r = 0; r < R; r++) nu += !used[lab[r]]++;
    CHECK(nu == S && canonical(R, lab), "tiered S=%d: %d sources used", S, nu);
    if (S <= 2) {
      CHECK(sn_group_components(SN_GROUP_BOTH, F, R, W, sr, 2048, N, stat, S, lb, &e) == SN_OK, "both S=%d: %s", S, e.msg);
      CHECK(!memcmp(lb, lab, sizeof lb), "tiered S=%d differs from both", S);
    }
  }
  /* tiered, S = 3: a flat (noise) group and two tonal groups, one low and one high */
  {
    enum { R3 = 6 };
    static float W3[F * R3], H3[R3 * N];
    const int want[R3] = {0, 1, 2, 0, 1, 2}; /* 0 low tones, 1 noise, 2 high tones */
    for (int r = 0; r < R3; r++)
      for (int f = 0; f < F; f++) {
        double v = 0.01 * urand();
        if (want[r] == 1) v = 0.5 + urand();
        else {
          int f0 = want[r] == 0 ? 5 + r : 120 + 7 * r; /* 54-97 Hz vs 1.3-1.7 kHz at 2048 / 22050 */
          for (int h = 1; h <= 4; h++) if (f == h * f0) v += 1.0 / h;
        }
        W3[f + r * F] = (float)v;
      }
    for (int t = 0; t < N; t++) {
      double a[3];
      for (int g = 0; g < 3; g++) a[g] = urand() < 0.2 ? 1 + urand() : 0.01 * urand();
      for (int r = 0; r < R3; r++) H3[r + t * R3] = (float)(a[want[r]] * (0.8 + 0.4 * urand()));
    }
    double *st3 = calloc((size_t)sn_group_hstat_len(R3), sizeof(double));
    sn_group_hstat(R3, N, H3, st3);
    int l3[R3];
    CHECK(sn_group_components(SN_GROUP_TIERED, F, R3, W3, sr, 2048, N, st3, 3, l3, &e) == SN_OK, "tiered 3: %s", e.msg);
    CHECK(same_partition(R3, l3, want), "tiered: noise, low and high tones not separated: %d %d %d %d %d %d", l3[0], l3[1],
          l3[2], l3[3], l3[4], l3[5]);
    free(st3);
  }
  /* peaks: S = 1 is both; auto is ncut for S = 2, peaks otherwise; every S uses S sources */
  for (int S = 1; S <= R; S++) {
    int lb[R];
    CHECK(sn_group_components(SN_GROUP_PEAKS, F, R, W, sr, 2048, N, stat, S, lab, &e) == SN_OK, "peaks S=%d: %s", S, e.msg);
    int used[R] = {0}, nu = 0;
    for (int r = 0; r < R; r++) nu += !used[lab[r]]++;
    CHECK(nu == S && canonical(R, lab), "peaks S=%d: %d sources used", S, nu);
    if (S == 1) {
      CHECK(sn_group_components(SN_GROUP_BOTH, F, R, W, sr, 2048, N, stat, S, lb, &e) == SN_OK, "both S=%d: %s", S, e.msg);
      CHECK(!memcmp(lb, lab, sizeof lb), "peaks S=%d differs from both", S);
    }
    int la[R];
    CHECK(sn_group_components(SN_GROUP_AUTO, F, R, W, sr, 2048, N, stat, S, la, &e) == SN_OK, "auto S=%d: %s", S, e.msg);
    CHECK(sn_group_components(sn_group_resolve(SN_GROUP_AUTO, S), F, R, W, sr, 2048, N, stat, S, lb, &e) == SN_OK &&
              !memcmp(lb, la, sizeof lb), "auto S=%d is not what it resolves to", S);
    CHECK(sn_group_resolve(SN_GROUP_AUTO, S) == (S == 2 ? SN_GROUP_NCUT : SN_GROUP_PEAKS), "auto S=%d resolves wrong", S);
    CHECK(sn_group_components(SN_GROUP_NCUT, F, R, W, sr, 2048, N, stat, S, lb, &e) == SN_OK, "ncut S=%d: %s", S, e.msg);
    int used2[R] = {0}, nu2 = 0;
    for (int r = 0; r < R; r++) nu2 += !used2[lb[r]]++;
    CHECK(nu2 == S && canonical(R, lb), "ncut S=%d: %d sources used", S, nu2);
    if (S == 2) {
      double A[R * R];
      CHECK(sn_group_affinity(F, R, W, stat, A, &e) == SN_OK, "affinity: %s", e.msg);
      CHECK(sn_group_ncut2(R, A, la, &e) == SN_OK && !memcmp(lb, la, sizeof lb), "ncut S=2 is not sn_group_ncut2");
      CHECK(same_partition(R, lb, group_w), "ncut S=2: W and H agree on a partition, not found");
      CHECK(same_partition(R, lab, group_w), "peaks S=2: low and high W agree with H, not found");
    }
  }
  CHECK(sn_group_resolve(SN_GROUP_BOTH, 2) == SN_GROUP_BOTH, "both resolves to another method");
  /* peaks, S = 3: smooth spectra (white noise, and a steep low-pass "kick"
   * that is far from flat) against harmonic tones, low (f0 54-75 Hz) and
   * middle (f0 320-430 Hz); H carries no information (one envelope) */
  {
    enum { R4 = 7 };
    static float W4[F * R4], H4[R4 * N];
    const int want[R4] = {0, 1, 2, 0, 1, 2, 2}; /* 0 low tones, 1 smooth, 2 middle tones */
    for (int r = 0; r < R4; r++)
      for (int f = 0; f < F; f++) {
        double v = 1e-4 * urand();
        if (want[r] == 1) v += r == 1 ? 0.5 + 0.1 * urand() : exp(-f / 15.0) * (1 + 0.1 * urand());
        else {
          int f0 = want[r] == 0 ? 5 + r / 3 : 30 + 2 * r; /* bins */
          for (int k = 1; k <= 6; k++) if (f == k * f0) v += 1.0 / k;
        }
        W4[f + r * F] = (float)v;
      }
    for (int t = 0; t < N; t++) {
      double a = urand();
      for (int r = 0; r < R4; r++) H4[r + t * R4] = (float)a;
    }
    double *st4 = calloc((size_t)sn_group_hstat_len(R4), sizeof(double));
    sn_group_hstat(R4, N, H4, st4);
    int l4[R4];
    CHECK(sn_group_components(SN_GROUP_PEAKS, F, R4, W4, sr, 2048, N, st4, 3, l4, &e) == SN_OK, "peaks 3: %s", e.msg);
    CHECK(same_partition(R4, l4, want), "peaks: smooth, low and middle tones not separated: %d %d %d %d %d %d %d", l4[0],
          l4[1], l4[2], l4[3], l4[4], l4[5], l4[6]);
    /* S = 2: the smooth columns against every tone, though H says nothing */
    const int want2[R4] = {0, 1, 0, 0, 1, 0, 0};
    CHECK(sn_group_components(SN_GROUP_PEAKS, F, R4, W4, sr, 2048, N, st4, 2, l4, &e) == SN_OK, "peaks 2: %s", e.msg);
    CHECK(same_partition(R4, l4, want2), "peaks S=2: smooth and tonal not separated: %d %d %d %d %d %d %d", l4[0], l4[1],
          l4[2], l4[3], l4[4], l4[5], l4[6]);
    free(st4);
  }
  /* the 1-D k-means is the optimum: 1 2 3 | 10 11 | 30 */
  {
    const double x[6] = {11, 1, 30, 3, 10, 2};
    int l1[6];
    CHECK(sn_kmeans_1d(6, x, 3, l1, &e) == SN_OK, "kmeans_1d: %s", e.msg);
    CHECK(l1[1] == 0 && l1[3] == 0 && l1[5] == 0 && l1[0] == 1 && l1[4] == 1 && l1[2] == 2, "kmeans_1d: %d %d %d %d %d %d",
          l1[0], l1[1], l1[2], l1[3], l1[4], l1[5]);
    CHECK(sn_kmeans_1d(6, x, 7, l1, &e) == SN_ERR_INPUT, "kmeans_1d: 7 clusters of 6 accepted");
  }
  sn_err e2 = {0};
  CHECK(sn_group_components(SN_GROUP_TIMBRE, F, R, W, sr, 2048, N, stat, R + 1, lab, &e2) == SN_ERR_INPUT, "S > R accepted");
  sn_group_method m;
  sn_err e3 = {0};
  CHECK(sn_group_method_parse("both", &m, &e3) == SN_OK && m == SN_GROUP_BOTH, "parse both");
  CHECK(sn_group_method_parse("tiered", &m, &e3) == SN_OK && m == SN_GROUP_TIERED, "parse tiered");
  CHECK(sn_group_method_parse("peaks", &m, &e3) == SN_OK && m == SN_GROUP_PEAKS, "parse peaks");
  CHECK(!strcmp(sn_group_method_name(SN_GROUP_PEAKS), "peaks"), "name of peaks");
  CHECK(sn_group_method_parse("ncut", &m, &e3) == SN_OK && m == SN_GROUP_NCUT, "parse ncut");
  CHECK(sn_group_method_parse("auto", &m, &e3) == SN_OK && m == SN_GROUP_AUTO, "parse auto");
  CHECK(sn_group_method_parse("mfcc", &m, &e3) == SN_ERR_USAGE, "parse mfcc accepted");
  free(stat);
}

/* The affinity against its definition (cosines of W columns and H rows,
 * computed directly), a normalized cut by hand, and sn_group_ncut2 against
 * every split: exact on planted two-group affinities (any order of the
 * items), never below the optimum, and at it on most random ones. */
static void test_ncut(void) {
  enum { F = 37, R = 7, N = 90 };
  static float W[F * R], H[R * N];
  for (int i = 0; i < F * R; i++) W[i] = (float)(urand() < 0.3 ? 0 : urand());
  for (int i = 0; i < R * N; i++) H[i] = (float)(urand() < 0.5 ? 0 : urand());
  for (int f = 0; f < F; f++) W[f + 3 * F] = 0; /* a zero column */
  double *stat = calloc((size_t)sn_group_hstat_len(R), sizeof(double)), A[R * R];
  sn_group_hstat(R, 50, H, stat);
  sn_group_hstat(R, N - 50, H + 50 * R, stat);
  sn_err ea = {0};
  CHECK(sn_group_affinity(F, R, W, stat, A, &ea) == SN_OK, "affinity: %s", ea.msg);
  double worst = 0;
  for (int i = 0; i < R; i++)
    for (int j = 0; j < R; j++) {
      double ww = 0, wi = 0, wj = 0, hh = 0, hi = 0, hj = 0;
      for (int f = 0; f < F; f++) ww += (double)W[f + i * F] * W[f + j * F], wi += (double)W[f + i * F] * W[f + i * F],
                                 wj += (double)W[f + j * F] * W[f + j * F];
      for (int t = 0; t < N; t++) hh += (double)H[i + t * R] * H[j + t * R], hi += (double)H[i + t * R] * H[i + t * R],
                                 hj += (double)H[j + t * R] * H[j + t * R];
      double want = i == j ? 1 : (wi > 0 && wj > 0 ? pow(ww / sqrt(wi * wj), SN_GROUP_NCUT_W_POWER) : 0) * hh / sqrt(hi * hj);
      worst = fmax(worst, fabs(A[i + j * R] - want));
    }
  CHECK(worst < 1e-12, "affinity off its definition by %g", worst);
  free(stat);
  /* by hand: 4 items split {0,1} | {2,3}: cut 0.1 + 0.2, volumes the row sums of each side */
  {
    const double B[16] = {1, .9, .1, 0, .9, 1, 0, .2, .1, 0, 1, .8, 0, .2, .8, 1};
    const int l[4] = {0, 0, 1, 1};
    const double v0 = 1 + .9 + .1 + .9 + 1 + .2, v1 = .1 + 1 + .8 + .2 + .8 + 1, want = 0.3 / v0 + 0.3 / v1;
    CHECK(fabs(sn_group_ncut(4, B, l) - want) < 1e-15, "ncut by hand %.17g, want %.17g", sn_group_ncut(4, B, l), want);
    const int one[4] = {0, 0, 0, 0};
    CHECK(sn_group_ncut(4, B, one) == HUGE_VAL, "ncut of an empty side");
  }
  int found = 0, total = 0;
  for (int trial = 0; trial < 60; trial++) {
    const int n = 3 + trial % 10, planted = trial < 30;
    double *M = malloc((size_t)(n * n) * sizeof *M);
    int *truth = malloc((size_t)n * sizeof *truth), *lab = malloc((size_t)n * sizeof *lab), *l = malloc((size_t)n * sizeof *l);
    for (int i = 0; i < n; i++) truth[i] = urand() < 0.5;
    truth[0] = 0, truth[n - 1] = 1;
    for (int j = 0; j < n; j++)
      for (int i = 0; i <= j; i++) {
        double v = i == j ? 1 : planted ? (truth[i] == truth[j] ? 0.5 + 0.5 * urand() : 0.2 * urand()) : urand();
        M[i + j * n] = M[j + i * n] = v;
      }
    sn_err e = {0};
    CHECK(sn_group_ncut2(n, M, lab, &e) == SN_OK, "ncut2: %s", e.msg);
    CHECK(canonical(n, lab), "ncut2 %d: labels not canonical", trial);
    double best = HUGE_VAL;
    for (int m = 1; m < 1 << (n - 1); m++) {
      for (int i = 0; i < n; i++) l[i] = (m >> i) & 1;
      best = fmin(best, sn_group_ncut(n, M, l));
    }
    const double got = sn_group_ncut(n, M, lab);
    CHECK(got >= best * (1 - 1e-12), "ncut2 %d: %.17g below the optimum %.17g", trial, got, best);
    if (planted) {
      CHECK(same_partition(n, lab, truth), "ncut2 %d (n %d): planted groups not found", trial, n);
      CHECK(fabs(got - best) <= 1e-12 * best, "ncut2 %d: planted, not the optimum", trial);
    } else {
      total++;
      found += got <= best * (1 + 1e-12);
    }
    free(M), free(truth), free(lab), free(l);
  }
  CHECK(found >= total * 3 / 4, "ncut2 reached the optimum on %d of %d random affinities", found, total);
  /* repeated cuts: three planted groups (any order), S = 1 and S = R, S out of range refused */
  for (int trial = 0; trial < 20; trial++) {
    const int n = 5 + trial % 8;
    double *M = malloc((size_t)(n * n) * sizeof *M);
    int *truth = malloc((size_t)n * sizeof *truth), *lab = malloc((size_t)n * sizeof *lab);
    for (int i = 0; i < n; i++) truth[i] = i < 3 ? i : (int)(urand() * 3);
    for (int i = n - 1; i > 0; i--) { /* shuffle */
      int j = (int)(urand() * (i + 1)), t = truth[i];
      truth[i] = truth[j], truth[j] = t;
    }
    for (int j = 0; j < n; j++)
      for (int i = 0; i <= j; i++)
        M[i + j * n] = M[j + i * n] = i == j ? 1 : truth[i] == truth[j] ? 0.5 + 0.5 * urand() : 0.1 * urand();
    sn_err e = {0};
    CHECK(sn_group_ncut_split(n, M, 3, lab, &e) == SN_OK, "ncut_split: %s", e.msg);
    CHECK(same_partition(n, lab, truth) && canonical(n, lab), "ncut_split %d (n %d): three planted groups not found", trial, n);
    CHECK(sn_group_ncut_split(n, M, 1, lab, &e) == SN_OK, "ncut_split S=1: %s", e.msg);
    for (int i = 0; i < n; i++) CHECK(lab[i] == 0, "ncut_split S=1: item %d in group %d", i, lab[i]);
    CHECK(sn_group_ncut_split(n, M, n, lab, &e) == SN_OK, "ncut_split S=n: %s", e.msg);
    for (int i = 0; i < n; i++) CHECK(lab[i] == i, "ncut_split S=n: item %d in group %d", i, lab[i]);
    sn_err e2 = {0}, e3 = {0};
    CHECK(sn_group_ncut_split(n, M, n + 1, lab, &e2) == SN_ERR_INPUT, "ncut_split: S > n accepted");
    CHECK(sn_group_ncut_split(n, M, 0, lab, &e3) == SN_ERR_INPUT, "ncut_split: S = 0 accepted");
    free(M), free(truth), free(lab);
  }
  int one[1];
  double A1 = 1;
  sn_err e = {0};
  CHECK(sn_group_ncut2(1, &A1, one, &e) == SN_OK && one[0] == 0, "ncut2 of one item");
}

int main(void) {
  test_ncut();
  test_blobs();
  test_exhaustive();
  test_degenerate();
  test_hcorr();
  test_peak_features();
  test_groupings();
  printf("test_group: %d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
