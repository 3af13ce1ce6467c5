/* Grouping of NMF components into sources (see sn_group.h). */
#include "sn_group.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_eig.h"
#include "sn_mel.h"

#define SN_PI 3.14159265358979323846

static const char *const sn_group_names[] = {"timbre", "coact", "both", "tiered",
                                              "peaks",  "ncut",  "auto"}; /* by sn_group_method */
#define SN_GROUP_N_METHODS ((int)(sizeof sn_group_names / sizeof *sn_group_names))

int sn_group_method_parse(const char *s, sn_group_method *m, sn_err *e) {
  for (int i = 0; i < SN_GROUP_N_METHODS; i++)
    if (!strcmp(s, sn_group_names[i])) {
      *m = (sn_group_method)i;
      return SN_OK;
    }
  return SN_FAIL(e, SN_ERR_USAGE, "separate --grouping: '%s' is not auto, ncut, peaks, tiered, both, coact or timbre", s);
}

const char *sn_group_method_name(sn_group_method m) {
  return (unsigned)m < (unsigned)SN_GROUP_N_METHODS ? sn_group_names[m] : "?";
}

sn_group_method sn_group_resolve(sn_group_method m, int S) {
  return m != SN_GROUP_AUTO ? m : S == 2 ? SN_GROUP_NCUT : SN_GROUP_PEAKS;
}

/* ------------------------------------------------------------ H statistic -- */

int64_t sn_group_hstat_len(int64_t R) { return R * R + R; }

void sn_group_hstat(int64_t R, int64_t n, const float *H, double *stat) {
  double *G = stat, *s = stat + R * R;
  for (int64_t t = 0; t < n; t++) {
    const float *h = H + t * R;
    for (int64_t j = 0; j < R; j++) {
      const double hj = h[j];
      s[j] += hj;
      if (hj == 0) continue;
      double *g = G + j * R;
      for (int64_t i = 0; i <= j; i++) g[i] += (double)h[i] * hj;
    }
  }
}

void sn_group_hcorr(int64_t R, int64_t N, const double *stat, double *C) {
  const double *G = stat, *s = stat + R * R;
  const double invN = N > 0 ? 1.0 / (double)N : 0.0;
  for (int64_t j = 0; j < R; j++)
    for (int64_t i = 0; i <= j; i++) {
      double cov = G[i + j * R] * invN - (s[i] * invN) * (s[j] * invN);
      double vi = G[i + i * R] * invN - (s[i] * invN) * (s[i] * invN);
      double vj = G[j + j * R] * invN - (s[j] * invN) * (s[j] * invN);
      double c;
      if (i == j) c = 1.0;
      else if (vi > 0 && vj > 0) {
        c = cov / sqrt(vi * vj);
        if (c > 1) c = 1;
        if (c < -1) c = -1;
      } else
        c = 0.0;
      C[i + j * R] = C[j + i * R] = c;
    }
}

/* ----------------------------------------------------------------- timbre -- */

int sn_group_timbre(int64_t F, int64_t R, const float *W, double sr, int n_fft, double *X, sn_err *e) {
  const int B = SN_GROUP_MELS, D = SN_GROUP_CEPS - 1;
  if (F != n_fft / 2 + 1 || R < 1)
    return SN_FAIL(e, SN_ERR_INPUT, "grouping: W has %lld rows, not n_fft/2 + 1 = %d", (long long)F, n_fft / 2 + 1);
  float *M = sn_calloc((size_t)B * (size_t)F * sizeof(float), "mel filterbank", e);
  if (!M) return SN_ERR_NOMEM;
  int rc = sn_mel_filterbank(sr, n_fft, B, 0.0, 0.0, 0, 1, M, B, NULL, e);
  if (rc) {
    sn_free(M);
    return rc;
  }
  double b[SN_GROUP_MELS], L[SN_GROUP_MELS];
  for (int64_t r = 0; r < R; r++) {
    const float *w = W + r * F;
    for (int m = 0; m < B; m++) b[m] = 0;
    for (int64_t f = 0; f < F; f++) {
      const double wf = w[f];
      if (wf == 0) continue;
      const float *Mf = M + f * B;
      for (int m = 0; m < B; m++) b[m] += (double)Mf[m] * wf;
    }
    double tot = 0;
    for (int m = 0; m < B; m++) tot += b[m];
    for (int m = 0; m < B; m++) L[m] = log((tot > 0 ? b[m] / tot : 1.0 / B) + SN_GROUP_FLOOR / B);
    /* DCT-II, orthonormal, coefficients 1..D */
    for (int c = 1; c <= D; c++) {
      double acc = 0;
      for (int m = 0; m < B; m++) acc += L[m] * cos(SN_PI * c * (2.0 * m + 1.0) / (2.0 * B));
      X[r * D + (c - 1)] = acc * sqrt(2.0 / B);
    }
  }
  sn_free(M);
  return SN_OK;
}

void sn_group_flatness(int64_t F, int64_t R, const float *W, double *lf) {
  double mx = 0;
  for (int64_t i = 0; i < F * R; i++)
    if (W[i] > mx) mx = W[i];
  const double fl = 1e-12 * mx + DBL_MIN;
  for (int64_t r = 0; r < R; r++) {
    double sl = 0, s = 0;
    for (int64_t f = 0; f < F; f++) {
      sl += log((double)W[f + r * F] + fl);
      s += W[f + r * F];
    }
    lf[r] = s > 0 ? sl / (double)F - log(s / (double)F) : 0.0;
  }
}

/* lc[r] = log(centroid in Hz + SN_GROUP_CENTROID_OFFSET) of W column r over
 * the bins below max_hz; log(empty) for a column with nothing there. */
static void sn_group_band_log_centroid(int64_t F, int64_t R, const float *W, double sr, int n_fft, double max_hz,
                                       double empty, double *lc) {
  const double df = sr / (double)n_fft;
  for (int64_t r = 0; r < R; r++) {
    double s = 0, sf = 0;
    for (int64_t f = 0; f < F && (double)f * df < max_hz; f++) {
      const double w = W[f + r * F];
      s += w;
      sf += w * ((double)f * df + SN_GROUP_CENTROID_OFFSET);
    }
    lc[r] = log(s > 0 ? sf / s : empty);
  }
}

void sn_group_log_centroid(int64_t F, int64_t R, const float *W, double sr, int n_fft, double *lc) {
  sn_group_band_log_centroid(F, R, W, sr, n_fft, INFINITY, SN_GROUP_CENTROID_OFFSET, lc);
}

void sn_group_log_peakiness(int64_t F, int64_t R, const float *W, double sr, int n_fft, double *lp) {
  const double df = sr / (double)n_fft;
  int64_t h = (int64_t)floor(SN_GROUP_PEAK_HZ / 2.0 / df);
  if (h < 1) h = 1;
  for (int64_t r = 0; r < R; r++) {
    const float *w = W + r * F;
    double tot = 0, mx = 0;
    for (int64_t f = 0; f < F; f++) {
      tot += w[f];
      if (w[f] > mx) mx = w[f];
    }
    double pk = 0;
    if (tot > 0) {
      const double eps = SN_GROUP_PEAK_EPS * (mx / tot), inv = 1.0 / tot, n = (double)(2 * h + 1);
      for (int64_t f = 0; f < F; f++) {
        const double p = w[f] * inv;
        if (p == 0) continue;
        double acc = 0;
        for (int64_t j = f - h; j <= f + h; j++) acc += w[j < 0 ? 0 : j >= F ? F - 1 : j];
        const double sm = acc * inv / n;
        pk += p * log((p + eps) / (sm + eps));
      }
    }
    lp[r] = log((pk > 0 ? pk : 0.0) + SN_GROUP_PEAK_FLOOR);
  }
}

void sn_group_log_low_centroid(int64_t F, int64_t R, const float *W, double sr, int n_fft, double *lc) {
  sn_group_band_log_centroid(F, R, W, sr, n_fft, SN_GROUP_LOW_CENTROID_HZ,
                             SN_GROUP_LOW_CENTROID_HZ + SN_GROUP_CENTROID_OFFSET, lc);
}

/* ---------------------------------------------------------------- k-means -- */

static uint64_t sn_splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* uniform in [0, 1) from the top 53 bits */
static double sn_unif(uint64_t *s) { return (double)(sn_splitmix(s) >> 11) * (1.0 / 9007199254740992.0); }

static double sn_d2(const double *a, const double *b, int d) {
  double acc = 0;
  for (int j = 0; j < d; j++) {
    double t = a[j] - b[j];
    acc += t * t;
  }
  return acc;
}

/* Relabel in order of first appearance. */
static void sn_canon(int64_t n, int k, int *label) {
  int map[k > 0 ? k : 1];
  for (int c = 0; c < k; c++) map[c] = -1;
  int next = 0;
  for (int64_t i = 0; i < n; i++) {
    if (map[label[i]] < 0) map[label[i]] = next++;
    label[i] = map[label[i]];
  }
}

/* Sum of squared distances of the points to their cluster means. */
static double sn_inertia(int64_t n, int d, const double *X, int k, const int *label, double *cen, int64_t *cnt) {
  memset(cen, 0, (size_t)k * (size_t)d * sizeof *cen);
  memset(cnt, 0, (size_t)k * sizeof *cnt);
  for (int64_t i = 0; i < n; i++) {
    cnt[label[i]]++;
    for (int j = 0; j < d; j++) cen[label[i] * d + j] += X[i * d + j];
  }
  for (int c = 0; c < k; c++)
    for (int j = 0; j < d; j++) cen[c * d + j] = cnt[c] ? cen[c * d + j] / (double)cnt[c] : 0.0;
  double in = 0;
  for (int64_t i = 0; i < n; i++) in += sn_d2(X + i * d, cen + label[i] * d, d);
  return in;
}

/* One run: k-means++ seeding from rng, then Lloyd. */
static void sn_kmeans_run(int64_t n, int d, const double *X, int k, uint64_t *rng, int *lab, double *cen,
                          int64_t *cnt, double *dist) {
  /* seeding */
  int64_t first = (int64_t)(sn_unif(rng) * (double)n);
  if (first >= n) first = n - 1;
  memcpy(cen, X + first * d, (size_t)d * sizeof *cen);
  for (int64_t i = 0; i < n; i++) dist[i] = sn_d2(X + i * d, cen, d);
  for (int c = 1; c < k; c++) {
    double tot = 0;
    for (int64_t i = 0; i < n; i++) tot += dist[i];
    int64_t pick = -1;
    if (tot > 0) {
      double u = sn_unif(rng) * tot, acc = 0;
      for (int64_t i = 0; i < n && pick < 0; i++) {
        acc += dist[i];
        if (dist[i] > 0 && u < acc) pick = i;
      }
      if (pick < 0) /* rounding at the end of the sum: the last point with weight */
        for (int64_t i = n - 1; i >= 0 && pick < 0; i--)
          if (dist[i] > 0) pick = i;
    } else { /* every point sits on a centre: take the next point by index */
      pick = c < n ? c : n - 1;
    }
    memcpy(cen + c * d, X + pick * d, (size_t)d * sizeof *cen);
    for (int64_t i = 0; i < n; i++) {
      double t = sn_d2(X + i * d, cen + c * d, d);
      if (t < dist[i]) dist[i] = t;
    }
  }
  /* Lloyd */
  for (int64_t i = 0; i < n; i++) lab[i] = -1;
  for (int it = 0; it < 300; it++) {
    int changed = 0;
    for (int64_t i = 0; i < n; i++) {
      int best = 0;
      double bd = sn_d2(X + i * d, cen, d);
      for (int c = 1; c < k; c++) {
        double t = sn_d2(X + i * d, cen + c * d, d);
        if (t < bd) bd = t, best = c;
      }
      dist[i] = bd;
      if (lab[i] != best) lab[i] = best, changed = 1;
    }
    /* an empty cluster takes the point farthest from its centre (among
     * clusters of two or more points) */
    for (int c = 0; c < k; c++) {
      int64_t m = 0;
      for (int64_t i = 0; i < n; i++) m += lab[i] == c;
      if (m) continue;
      memset(cnt, 0, (size_t)k * sizeof *cnt);
      for (int64_t i = 0; i < n; i++) cnt[lab[i]]++;
      int64_t far = -1;
      for (int64_t i = 0; i < n; i++)
        if (cnt[lab[i]] > 1 && (far < 0 || dist[i] > dist[far])) far = i;
      lab[far] = c;
      dist[far] = 0;
      changed = 1;
    }
    sn_inertia(n, d, X, k, lab, cen, cnt); /* new centres */
    if (!changed) break;
  }
}

int sn_kmeans(int64_t n, int d, const double *X, int k, int n_restart, uint64_t seed, int *label, double *inertia,
              sn_err *e) {
  if (k < 1 || k > n) return SN_FAIL(e, SN_ERR_INPUT, "k-means: %d clusters of %lld points", k, (long long)n);
  if (n_restart < 1) return SN_FAIL(e, SN_ERR_INPUT, "k-means: %d restarts", n_restart);
  size_t dd = (size_t)(d > 0 ? d : 1);
  double *cen = malloc((size_t)k * dd * sizeof *cen), *dist = malloc((size_t)n * sizeof *dist);
  int64_t *cnt = malloc((size_t)k * sizeof *cnt);
  int *lab = malloc((size_t)n * sizeof *lab);
  if (!cen || !dist || !cnt || !lab) {
    free(cen), free(dist), free(cnt), free(lab);
    return SN_FAIL(e, SN_ERR_NOMEM, "k-means: out of memory");
  }
  double best = DBL_MAX;
  for (int run = 0; run < n_restart; run++) {
    uint64_t rng = seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(run + 1));
    sn_kmeans_run(n, d, X, k, &rng, lab, cen, cnt, dist);
    double in = sn_inertia(n, d, X, k, lab, cen, cnt);
    if (in < best) {
      best = in;
      memcpy(label, lab, (size_t)n * sizeof *lab);
    }
  }
  sn_canon(n, k, label);
  if (inertia) *inertia = best;
  free(cen), free(dist), free(cnt), free(lab);
  return SN_OK;
}

int sn_kmeans_exhaustive(int64_t n, int d, const double *X, int k, int *label, double *inertia, sn_err *e) {
  if (k < 1 || k > n || n > 16) return SN_FAIL(e, SN_ERR_INPUT, "k-means (exhaustive): %d clusters of %lld points", k, (long long)n);
  size_t dd = (size_t)(d > 0 ? d : 1);
  double *cen = malloc((size_t)k * dd * sizeof *cen);
  int64_t *cnt = malloc((size_t)k * sizeof *cnt);
  int lab[16], used[16];
  if (!cen || !cnt) {
    free(cen), free(cnt);
    return SN_FAIL(e, SN_ERR_NOMEM, "k-means: out of memory");
  }
  /* canonical labellings only (restricted growth strings): lab[0] = 0,
   * lab[i] <= 1 + max(lab[0..i-1]); enumerated in lexicographic order */
  double best = DBL_MAX;
  for (int64_t i = 0; i < n; i++) lab[i] = 0;
  for (;;) {
    int m = 0;
    for (int64_t i = 0; i < n; i++) {
      used[i] = m; /* max label before i, plus one */
      if (lab[i] + 1 > m) m = lab[i] + 1;
    }
    if (m == k) {
      double in = sn_inertia(n, d, X, k, lab, cen, cnt);
      if (in < best) {
        best = in;
        memcpy(label, lab, (size_t)n * sizeof *lab);
      }
    }
    /* next restricted growth string with labels < k */
    int64_t i = n - 1;
    while (i > 0 && (lab[i] >= used[i] || lab[i] >= k - 1)) lab[i--] = 0;
    if (i <= 0) break;
    lab[i]++;
  }
  if (inertia) *inertia = best;
  free(cen), free(cnt);
  return SN_OK;
}

/* Optimal 1-D k-means of x[0..n-1] into k clusters (contiguous runs of the
 * values sorted by (value, index); dynamic programming over the split
 * points, exact and deterministic). label[i] = rank of i's run. */
int sn_kmeans_1d(int64_t n, const double *x, int k, int *label, sn_err *e) {
  if (k < 1 || k > n) return SN_FAIL(e, SN_ERR_INPUT, "k-means (1-D): %d clusters of %lld points", k, (long long)n);
  int64_t *ord = malloc((size_t)n * sizeof *ord), *arg = malloc((size_t)n * (size_t)k * sizeof *arg);
  double *ps = malloc((size_t)(n + 1) * sizeof *ps), *ps2 = malloc((size_t)(n + 1) * sizeof *ps2),
         *D = malloc((size_t)n * (size_t)k * sizeof *D);
  if (!ord || !arg || !ps || !ps2 || !D) {
    free(ord), free(arg), free(ps), free(ps2), free(D);
    return SN_FAIL(e, SN_ERR_NOMEM, "k-means (1-D): out of memory");
  }
  for (int64_t i = 0; i < n; i++) { /* insertion sort by (value, index): n is small */
    int64_t j = i;
    while (j > 0 && x[ord[j - 1]] > x[i]) ord[j] = ord[j - 1], j--;
    ord[j] = i;
  }
  ps[0] = ps2[0] = 0;
  for (int64_t i = 0; i < n; i++) ps[i + 1] = ps[i] + x[ord[i]], ps2[i + 1] = ps2[i] + x[ord[i]] * x[ord[i]];
#define SN_SSE(a, b) (ps2[b] - ps2[a] - (ps[b] - ps[a]) * (ps[b] - ps[a]) / (double)((b) - (a)))
  /* D[i*k + c]: least cost of sorted points 0..i in c + 1 runs; arg: start of the last run */
  for (int64_t i = 0; i < n; i++) {
    D[i * k] = SN_SSE(0, i + 1);
    arg[i * k] = 0;
    for (int c = 1; c < k; c++) {
      D[i * k + c] = DBL_MAX;
      arg[i * k + c] = -1;
      for (int64_t j = c; j <= i; j++) { /* last run j..i */
        double v = D[(j - 1) * k + c - 1] + SN_SSE(j, i + 1);
        if (D[(j - 1) * k + c - 1] < DBL_MAX && v < D[i * k + c]) D[i * k + c] = v, arg[i * k + c] = j;
      }
    }
  }
#undef SN_SSE
  int64_t end = n - 1;
  for (int c = k - 1; c >= 0; c--) {
    int64_t j = arg[end * k + c];
    for (int64_t i = j; i <= end; i++) label[ord[i]] = c;
    end = j - 1;
  }
  free(ord), free(arg), free(ps), free(ps2), free(D);
  return SN_OK;
}

/* ------------------------------------------------------------ the grouping -- */

/* Center the columns of an n x d block (row-major, stride ld) and scale it to
 * a mean squared norm of 1 per point (nothing if it is constant). */
static void sn_unit_scale(int64_t n, int d, double *X, int ld) {
  double tot = 0;
  for (int j = 0; j < d; j++) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m += X[i * ld + j];
    m /= (double)n;
    for (int64_t i = 0; i < n; i++) {
      X[i * ld + j] -= m;
      tot += X[i * ld + j] * X[i * ld + j];
    }
  }
  double s = tot > 0 ? sqrt((double)n / tot) : 1.0;
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < d; j++) X[i * ld + j] *= s;
}

static int sn_group_flat_coact(sn_group_method method, int64_t F, int64_t R, const float *W, double sr, int n_fft,
                               int64_t N, const double *hstat, int S, int *src_of, sn_err *e);

/* The second stage of tiered and peaks: the components r with in[r] == run
 * split into S - 1 sources by the optimal 1-D k-means of feat[r], every other
 * component source S - 1, relabelled canonically (in may be src_of). *few = 1
 * and src_of untouched when fewer than S - 1 are in the run. */
static int sn_group_split_run(int64_t R, const int *in, int run, const double *feat, int S, int *src_of, int *few,
                              sn_err *e) {
  double *x = calloc((size_t)R, sizeof *x);
  int64_t *idx = calloc((size_t)R, sizeof *idx);
  int *sub = malloc((size_t)R * sizeof *sub);
  int rc = (!x || !idx || !sub) ? SN_FAIL(e, SN_ERR_NOMEM, "grouping: out of memory") : SN_OK;
  int64_t n = 0;
  for (int64_t r = 0; rc == SN_OK && r < R; r++)
    if (in[r] == run) idx[n] = r, x[n++] = feat[r];
  *few = rc == SN_OK && n < S - 1;
  if (rc == SN_OK && !*few && (rc = sn_kmeans_1d(n, x, S - 1, sub, e)) == SN_OK) {
    for (int64_t r = 0; r < R; r++) src_of[r] = S - 1;
    for (int64_t i = 0; i < n; i++) src_of[idx[i]] = sub[i];
    sn_canon(R, S, src_of);
  }
  free(x), free(idx), free(sub);
  return rc;
}

/* tiered: split the components in two by `both` (flatness and co-activation);
 * the flatter half is one source (the last before relabelling), the other
 * half is split into S - 1 sources by the optimal 1-D k-means of its
 * columns' log spectral centroids. S <= 2, or fewer tonal components than
 * S - 1: `both` with S. */
static int sn_group_tiered(int64_t F, int64_t R, const float *W, double sr, int n_fft, int64_t N, const double *hstat,
                           int S, int *src_of, sn_err *e) {
  int rc = sn_group_flat_coact(SN_GROUP_BOTH, F, R, W, sr, n_fft, N, hstat, S <= 2 ? S : 2, src_of, e);
  if (rc || S <= 2) return rc;
  double *lf = malloc((size_t)R * sizeof *lf), *lc = malloc((size_t)R * sizeof *lc);
  int few = 0;
  rc = (!lf || !lc) ? SN_FAIL(e, SN_ERR_NOMEM, "grouping: out of memory") : SN_OK;
  if (rc == SN_OK) {
    sn_group_flatness(F, R, W, lf);
    double m[2] = {0, 0};
    int64_t c[2] = {0, 0};
    for (int64_t r = 0; r < R; r++) m[src_of[r]] += lf[r], c[src_of[r]]++;
    const int tonal = (c[1] > 0 && m[1] / (double)c[1] < m[0] / (double)(c[0] ? c[0] : 1)) ? 1 : 0;
    sn_group_log_centroid(F, R, W, sr, n_fft, lc);
    rc = sn_group_split_run(R, src_of, tonal, lc, S, src_of, &few, e);
  }
  if (rc == SN_OK && few) rc = sn_group_flat_coact(SN_GROUP_BOTH, F, R, W, sr, n_fft, N, hstat, S, src_of, e);
  free(lf), free(lc);
  return rc;
}

int sn_group_affinity(int64_t F, int64_t R, const float *W, const double *hstat, double *A, sn_err *e) {
  double *nw = malloc((size_t)R * sizeof *nw);
  if (!nw) return SN_FAIL(e, SN_ERR_NOMEM, "grouping: out of memory");
  for (int64_t r = 0; r < R; r++) {
    double t = 0;
    for (int64_t f = 0; f < F; f++) t += (double)W[f + r * F] * W[f + r * F];
    nw[r] = sqrt(t);
  }
  const double *G = hstat;
  for (int64_t j = 0; j < R; j++)
    for (int64_t i = 0; i <= j; i++) {
      double a = 1.0;
      if (i != j) {
        double cw = 0, gh = G[i + i * R] * G[j + j * R];
        if (nw[i] > 0 && nw[j] > 0) {
          for (int64_t f = 0; f < F; f++) cw += (double)W[f + i * F] * W[f + j * F];
          cw /= nw[i] * nw[j];
        }
        const double ch = gh > 0 ? G[i + j * R] / sqrt(gh) : 0.0;
        a = (ch > 0 ? (ch < 1 ? ch : 1) : 0) * pow(cw > 0 ? (cw < 1 ? cw : 1) : 0, SN_GROUP_NCUT_W_POWER);
      }
      A[i + j * R] = A[j + i * R] = a;
    }
  free(nw);
  return SN_OK;
}

double sn_group_ncut(int64_t R, const double *A, const int *lab) {
  double cut = 0, v[2] = {0, 0};
  for (int64_t j = 0; j < R; j++)
    for (int64_t i = 0; i < R; i++) {
      v[lab[i] != 0] += A[i + j * R];
      if ((lab[i] != 0) != (lab[j] != 0)) cut += A[i + j * R];
    }
  cut *= 0.5; /* each cut pair was counted twice */
  if (v[0] <= 0 || v[1] <= 0) return HUGE_VAL;
  return cut / v[0] + cut / v[1];
}

typedef struct {
  double f;
  int64_t i;
} sn_keyed;

static int sn_keyed_cmp(const void *a, const void *b) {
  const sn_keyed *x = a, *y = b;
  if (x->f != y->f) return x->f < y->f ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

int sn_group_ncut2(int64_t R, const double *A, int *src_of, sn_err *e) {
  if (R < 2) {
    for (int64_t r = 0; r < R; r++) src_of[r] = 0;
    return SN_OK;
  }
  double *L = malloc((size_t)(R * R) * sizeof *L), *Z = malloc((size_t)(2 * R) * sizeof *Z), w[2],
         *dm = malloc((size_t)R * sizeof *dm);
  sn_keyed *k = malloc((size_t)R * sizeof *k);
  int *lab = malloc((size_t)R * sizeof *lab);
  int rc = (!L || !Z || !dm || !k || !lab) ? SN_FAIL(e, SN_ERR_NOMEM, "grouping: out of memory") : SN_OK;
  if (rc == SN_OK) {
    for (int64_t i = 0; i < R; i++) {
      double d = 0;
      for (int64_t j = 0; j < R; j++) d += A[i + j * R];
      dm[i] = 1.0 / sqrt(d); /* d >= A_ii = 1 */
    }
    for (int64_t j = 0; j < R; j++)
      for (int64_t i = 0; i < R; i++) L[i + j * R] = dm[i] * A[i + j * R] * dm[j];
    if ((rc = sn_eig_top(R, L, 2, w, Z, e)) != SN_OK) { /* its message names the NNDSVD start: say what failed */
      char why[sizeof e->msg];
      snprintf(why, sizeof why, "%s", e->msg);
      rc = SN_FAIL(e, rc, "grouping: the normalized cut's eigenvectors (%s)", why);
    }
  }
  if (rc == SN_OK) {
    /* the Fiedler direction, signed so that component 0 is on its low side: the
     * cuts swept below are the same for either sign, the order of ties is not */
    const double sg = Z[R] * dm[0] > 0 ? -1.0 : 1.0;
    for (int64_t i = 0; i < R; i++) k[i].f = sg * Z[R + i] * dm[i], k[i].i = i;
    qsort(k, (size_t)R, sizeof *k, sn_keyed_cmp);
    double best = HUGE_VAL;
    int64_t at = 1;
    for (int64_t c = 1; c < R; c++) {
      for (int64_t i = 0; i < R; i++) lab[k[i].i] = i >= c;
      const double v = sn_group_ncut(R, A, lab);
      if (v < best) best = v, at = c;
    }
    for (int64_t i = 0; i < R; i++) src_of[k[i].i] = i >= at;
    sn_canon(R, 2, src_of);
  }
  free(L), free(Z), free(dm), free(k), free(lab);
  return rc;
}

int sn_group_ncut_split(int64_t R, const double *A, int S, int *src_of, sn_err *e) {
  if (S < 1 || S > R) return SN_FAIL(e, SN_ERR_INPUT, "grouping: %d groups of %lld items", S, (long long)R);
  int64_t *idx = malloc((size_t)R * sizeof *idx), *keep = malloc((size_t)R * sizeof *keep);
  double *sub = malloc((size_t)(R * R) * sizeof *sub);
  int *lab = malloc((size_t)R * sizeof *lab), *best_lab = malloc((size_t)R * sizeof *best_lab);
  int rc = (!idx || !keep || !sub || !lab || !best_lab) ? SN_FAIL(e, SN_ERR_NOMEM, "grouping: out of memory") : SN_OK;
  for (int64_t r = 0; r < R; r++) src_of[r] = 0;
  for (int g = 1; rc == SN_OK && g < S; g++) { /* g groups now; make g + 1 */
    double best = HUGE_VAL;
    int best_grp = -1;
    int64_t best_n = 0;
    for (int grp = 0; rc == SN_OK && grp < g; grp++) {
      int64_t n = 0;
      for (int64_t r = 0; r < R; r++)
        if (src_of[r] == grp) idx[n++] = r;
      if (n < 2) continue;
      for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < n; i++) sub[i + j * n] = A[idx[i] + idx[j] * R];
      if ((rc = sn_group_ncut2(n, sub, lab, e)) != SN_OK) break;
      const double v = sn_group_ncut(n, sub, lab);
      if (v < best || best_grp < 0) {
        best = v, best_grp = grp, best_n = n;
        for (int64_t i = 0; i < n; i++) best_lab[i] = lab[i], keep[i] = idx[i];
      }
    }
    if (rc != SN_OK) break;
    if (best_grp < 0) { /* cannot happen for S <= R: some group has two items */
      rc = SN_FAIL(e, SN_ERR_INTERNAL, "grouping: no group to cut");
      break;
    }
    for (int64_t i = 0; i < best_n; i++)
      if (best_lab[i]) src_of[keep[i]] = g;
  }
  if (rc == SN_OK) sn_canon(R, S, src_of);
  free(idx), free(keep), free(sub), free(lab), free(best_lab);
  return rc;
}

static int sn_group_ncut_method(int64_t F, int64_t R, const float *W, const double *hstat, int S, int *src_of,
                                sn_err *e) {
  double *A = malloc((size_t)(R * R) * sizeof *A);
  if (!A) return SN_FAIL(e, SN_ERR_NOMEM, "grouping: out of memory");
  int rc = sn_group_affinity(F, R, W, hstat, A, e);
  if (rc == SN_OK) rc = sn_group_ncut_split(R, A, S, src_of, e);
  free(A);
  return rc;
}

/* peaks: the optimal 1-D 2-means of the columns' log peakiness; the peakier
 * run is split into S - 1 sources by the optimal 1-D k-means of its columns'
 * log spectral centroids below 1 kHz (S = 2: it is one source), the other run
 * is one source (the last before relabelling). S = 1, or fewer peaky
 * components than S - 1: `both` with S. */
static int sn_group_peaks(int64_t F, int64_t R, const float *W, double sr, int n_fft, int64_t N, const double *hstat,
                          int S, int *src_of, sn_err *e) {
  if (S <= 1) return sn_group_flat_coact(SN_GROUP_BOTH, F, R, W, sr, n_fft, N, hstat, S, src_of, e);
  double *lp = malloc((size_t)R * sizeof *lp), *ll = malloc((size_t)R * sizeof *ll);
  int *two = malloc((size_t)R * sizeof *two);
  int few = 0;
  int rc = (!lp || !ll || !two) ? SN_FAIL(e, SN_ERR_NOMEM, "grouping: out of memory") : SN_OK;
  if (rc == SN_OK) {
    sn_group_log_peakiness(F, R, W, sr, n_fft, lp);
    sn_group_log_low_centroid(F, R, W, sr, n_fft, ll);
    rc = sn_kmeans_1d(R, lp, 2, two, e); /* 1: the peakier run */
  }
  if (rc == SN_OK) rc = sn_group_split_run(R, two, 1, ll, S, src_of, &few, e);
  if (rc == SN_OK && few) rc = sn_group_flat_coact(SN_GROUP_BOTH, F, R, W, sr, n_fft, N, hstat, S, src_of, e);
  free(lp), free(ll), free(two);
  return rc;
}

int sn_group_components(sn_group_method method, int64_t F, int64_t R, const float *W, double sr, int n_fft,
                        int64_t N, const double *hstat, int S, int *src_of, sn_err *e) {
  if (S < 1 || S > R) return SN_FAIL(e, SN_ERR_INPUT, "grouping: %d sources of %lld components", S, (long long)R);
  if (!hstat && method != SN_GROUP_TIMBRE) return SN_FAIL(e, SN_ERR_INTERNAL, "grouping: no H statistic");
  if (method == SN_GROUP_TIERED) return sn_group_tiered(F, R, W, sr, n_fft, N, hstat, S, src_of, e);
  method = sn_group_resolve(method, S);
  if (method == SN_GROUP_PEAKS) return sn_group_peaks(F, R, W, sr, n_fft, N, hstat, S, src_of, e);
  if (method == SN_GROUP_NCUT) return sn_group_ncut_method(F, R, W, hstat, S, src_of, e);
  return sn_group_flat_coact(method, F, R, W, sr, n_fft, N, hstat, S, src_of, e);
}

static int sn_group_flat_coact(sn_group_method method, int64_t F, int64_t R, const float *W, double sr, int n_fft,
                               int64_t N, const double *hstat, int S, int *src_of, sn_err *e) {
  /* columns: timbre SN_GROUP_CEPS - 1 cepstra; coact R correlations; both 1 flatness + R correlations */
  const int Dw = method == SN_GROUP_TIMBRE ? SN_GROUP_CEPS - 1 : method == SN_GROUP_BOTH ? 1 : 0;
  const int64_t Dc = method == SN_GROUP_TIMBRE ? 0 : R;
  const int d = (int)(Dw + Dc);
  double *X = malloc((size_t)R * (size_t)d * sizeof *X), *T = malloc((size_t)R * (size_t)(Dw ? Dw : 1) * sizeof *T),
         *C = NULL;
  if (Dc) C = malloc((size_t)R * (size_t)R * sizeof *C);
  int rc = (!X || !T || (Dc && !C)) ? SN_FAIL(e, SN_ERR_NOMEM, "grouping: out of memory") : SN_OK;
  if (rc == SN_OK && method == SN_GROUP_TIMBRE) rc = sn_group_timbre(F, R, W, sr, n_fft, T, e);
  if (rc == SN_OK && method == SN_GROUP_BOTH) sn_group_flatness(F, R, W, T);
  if (rc == SN_OK) {
    for (int64_t r = 0; r < R; r++)
      for (int j = 0; j < Dw; j++) X[r * d + j] = T[r * Dw + j];
    if (Dc) {
      sn_group_hcorr(R, N, hstat, C);
      for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < R; j++) X[r * d + Dw + j] = C[r + j * R];
    }
    if (method == SN_GROUP_BOTH) {
      sn_unit_scale(R, Dw, X, d);
      sn_unit_scale(R, (int)Dc, X + Dw, d);
      for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < Dc; j++) X[r * d + Dw + j] *= SN_GROUP_COACT_WEIGHT;
    }
    rc = sn_kmeans(R, d, X, S, SN_GROUP_RESTARTS, SN_GROUP_SEED, src_of, NULL, e);
  }
  free(X), free(T), free(C);
  return rc;
}
