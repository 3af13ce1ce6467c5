/* Unit test of src/sn_bss: the FFT correlator against direct sums over time
 * (with the time axis split as ranks split it), the Hungarian path of the
 * permutation against all 10! permutations, and the grouping searches
 * (exhaustive = brute force over every grouping; greedy never better, and
 * how often equal) on synthetic projection energies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_bss.h"

#include "sn_check.h"

static uint64_t rs = 88172645463325252ull;
static double urand(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (double)(rs >> 11) * (1.0 / 9007199254740992.0);
}
static double nrand(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand()); }

/* 1. correlator: sums over [0, T) in two pieces vs direct loops. */
static void test_corr(void) {
  const int nr = 2, m = 3, L = 37, ns = nr + m;
  const int64_t T = 20000;
  sn_bss_layout l;
  sn_bss_layout_init(&l, nr, m, L);
  float *x[5];
  for (int q = 0; q < ns; q++) {
    x[q] = calloc((size_t)(T + 2 * L), sizeof(float)); /* x[q][L + t] = signal at t, zeros around */
    for (int64_t t = 0; t < T; t++) x[q][L + t] = (float)nrand();
  }
  double *sums = calloc(l.len, sizeof(double));
  sn_err e = {0};
  int64_t cut[3] = {0, 7777, T}; /* two "ranks" */
  for (int r = 0; r < 2; r++) {
    sn_bss_corr *c = NULL;
    if (sn_bss_corr_create(&l, &c, &e) != SN_OK) {
      CHECK(0, "corr_create: %s", e.msg);
      return;
    }
    int64_t seg = sn_bss_corr_seg(c);
    for (int64_t t = cut[r]; t < cut[r + 1]; t += seg) {
      int64_t len = cut[r + 1] - t < seg ? cut[r + 1] - t : seg;
      const float *p[5];
      for (int q = 0; q < ns; q++) p[q] = x[q] + L + t - (L - 1);
      sn_bss_corr_add(c, p, len);
    }
    sn_bss_corr_finish(c, sums);
    sn_bss_corr_destroy(&c);
  }
#define S(q, t) ((t) < 0 || (t) >= T ? 0.0 : (double)x[q][L + (t)])
  double err = 0, scale = 0;
  for (int i = 0; i < nr; i++)
    for (int j = i; j < nr; j++)
      for (int k = -(L - 1); k < L; k++) {
        double d = 0;
        for (int64_t t = 0; t < T; t++) d += S(i, t + k) * S(j, t);
        double got = sums[l.r_off + (size_t)sn_bss_pair(nr, i, j) * (2 * L - 1) + k + L - 1];
        err = fmax(err, fabs(got - d));
        scale = fmax(scale, fabs(d));
      }
  for (int i = 0; i < nr; i++)
    for (int k = 0; k < m; k++)
      for (int a = 0; a < L; a++) {
        double d = 0;
        for (int64_t t = 0; t < T; t++) d += S(i, t - a) * S(nr + k, t);
        err = fmax(err, fabs(sums[l.d_off + ((size_t)i * m + k) * L + a] - d));
      }
  for (int k = 0; k < m; k++)
    for (int q = 0; q < m; q++) {
      double d = 0;
      for (int64_t t = 0; t < T; t++) d += S(nr + k, t) * S(nr + q, t);
      err = fmax(err, fabs(sums[l.ee_off + (size_t)k * m + q] - d));
    }
#undef S
  CHECK(err < 1e-10 * scale, "correlator = direct sums over time (max |diff| %.2e of %.2e)", err, scale);
  for (int q = 0; q < ns; q++) free(x[q]);
  free(sums);
}

/* Synthetic channel: estimates are vectors in R^d, reference j spans a few
 * random directions; Q_j = E^T P_j E, Q_all on the union, EE = E^T E. flen 1,
 * so the sums are only EE, D (<s_j, e_k>) and R (|s_j|^2, <s_i, s_j>). */
typedef struct fake {
  sn_bss_layout l;
  double *sums, *Q;
} fake;

/* Orthonormalise the columns of A (d x c, column-major) in place; returns rank. */
static int gram_schmidt(double *A, int d, int c) {
  for (int j = 0; j < c; j++) {
    double *v = A + (size_t)j * d;
    for (int i = 0; i < j; i++) {
      double *u = A + (size_t)i * d, p = 0;
      for (int t = 0; t < d; t++) p += u[t] * v[t];
      for (int t = 0; t < d; t++) v[t] -= p * u[t];
    }
    double n = 0;
    for (int t = 0; t < d; t++) n += v[t] * v[t];
    n = sqrt(n);
    for (int t = 0; t < d; t++) v[t] /= n;
  }
  return c;
}

/* Q (m x m) = (U^T E)^T (U^T E) for orthonormal U (d x c). */
static void proj_energy(const double *U, int d, int c, const double *E, int m, double *Q) {
  double *W = calloc((size_t)c * m, sizeof(double));
  for (int k = 0; k < m; k++)
    for (int i = 0; i < c; i++) {
      double p = 0;
      for (int t = 0; t < d; t++) p += U[(size_t)i * d + t] * E[(size_t)k * d + t];
      W[(size_t)k * c + i] = p;
    }
  for (int k = 0; k < m; k++)
    for (int q = 0; q < m; q++) {
      double p = 0;
      for (int i = 0; i < c; i++) p += W[(size_t)k * c + i] * W[(size_t)q * c + i];
      Q[(size_t)k * m + q] = p;
    }
  free(W);
}

static void fake_make(fake *f, int n, int m, int d, int dim_ref) {
  sn_bss_layout_init(&f->l, n, m, 1);
  f->sums = calloc(f->l.len, sizeof(double));
  f->Q = calloc((size_t)(n + 1) * m * m, sizeof(double));
  double *E = calloc((size_t)d * m, sizeof(double)), *U = calloc((size_t)d * n * dim_ref, sizeof(double));
  for (size_t t = 0; t < (size_t)d * n * dim_ref; t++) U[t] = nrand();
  /* estimate k: mostly reference (k mod n)'s first direction, plus others and noise */
  for (int k = 0; k < m; k++)
    for (int t = 0; t < d; t++)
      E[(size_t)k * d + t] = 2.0 * (0.5 + urand()) * U[(size_t)((k % n) * dim_ref) * d + t] + 0.7 * nrand();
  for (int j = 0; j < n; j++) {
    double *Uj = calloc((size_t)d * dim_ref, sizeof(double));
    memcpy(Uj, U + (size_t)j * dim_ref * d, (size_t)d * dim_ref * sizeof(double));
    gram_schmidt(Uj, d, dim_ref);
    proj_energy(Uj, d, dim_ref, E, m, f->Q + (size_t)j * m * m);
    free(Uj);
  }
  double *Ua = calloc((size_t)d * n * dim_ref, sizeof(double));
  memcpy(Ua, U, (size_t)d * n * dim_ref * sizeof(double));
  gram_schmidt(Ua, d, n * dim_ref);
  proj_energy(Ua, d, n * dim_ref, E, m, f->Q + (size_t)n * m * m);
  for (int k = 0; k < m; k++)
    for (int q = 0; q < m; q++) {
      double p = 0;
      for (int t = 0; t < d; t++) p += E[(size_t)k * d + t] * E[(size_t)q * d + t];
      f->sums[f->l.ee_off + (size_t)k * m + q] = p;
    }
  for (int j = 0; j < n; j++) { /* s_j = U's first direction of j */
    const double *s = U + (size_t)j * dim_ref * d;
    for (int k = 0; k < m; k++) {
      double p = 0;
      for (int t = 0; t < d; t++) p += s[t] * E[(size_t)k * d + t];
      f->sums[f->l.d_off + (size_t)j * m + k] = p;
    }
    for (int i = 0; i <= j; i++) {
      const double *u = U + (size_t)i * dim_ref * d;
      double p = 0;
      for (int t = 0; t < d; t++) p += s[t] * u[t];
      f->sums[f->l.r_off + (size_t)sn_bss_pair(n, i, j)] = p;
    }
  }
  free(E);
  free(U);
  free(Ua);
}

static double mean_sdr(const fake *f, const int *group) {
  sn_bss_chan ch = {f->sums, f->Q};
  int mem[64];
  double s = 0;
  for (int j = 0; j < f->l.n_ref; j++) {
    int nm = 0;
    for (int k = 0; k < f->l.n_est; k++)
      if (group[k] == j) mem[nm++] = k;
    sn_bss_metrics mt;
    sn_bss_eval(&f->l, &ch, 1, mem, nm, j, &mt);
    s += mt.sdr;
  }
  return s / f->l.n_ref;
}

/* 2. n = 10 > SN_BSS_PERM_EXHAUSTIVE: Hungarian = the best of all 10! */
static void test_perm(void) {
  const int n = 10;
  fake f;
  fake_make(&f, n, n, 60, 3);
  sn_bss_chan ch = {f.sums, f.Q};
  double S[10][10]; /* SIR[ref][est] */
  for (int j = 0; j < n; j++)
    for (int k = 0; k < n; k++) {
      sn_bss_metrics mt;
      sn_bss_eval(&f.l, &ch, 1, &k, 1, j, &mt);
      S[j][k] = mt.sir;
    }
  int est_of[10], p[10];
  sn_err e = {0};
  int rc = sn_bss_permutation(&f.l, &ch, 1, 0, est_of, &e);
  for (int j = 0; j < n; j++) p[j] = j;
  double best = -HUGE_VAL, got = 0;
  for (int j = 0; j < n; j++) got += S[j][est_of[j]];
  /* Heap's algorithm over all permutations */
  int cnt[10] = {0};
  for (int i = 0;;) {
    double s = 0;
    for (int j = 0; j < n; j++) s += S[j][p[j]];
    if (s > best) best = s;
    while (i < n && cnt[i] >= i) cnt[i++] = 0;
    if (i >= n) break;
    int a = (i % 2) ? cnt[i] : 0, t = p[a];
    p[a] = p[i];
    p[i] = t;
    cnt[i]++;
    i = 1;
  }
  CHECK(rc == SN_OK && fabs(got - best) < 1e-9, "10 references: Hungarian sum of SIR %.6f = best of 10! %.6f", got, best);
  free(f.sums);
  free(f.Q);
}

/* 3. groupings: exhaustive = brute force; greedy never above it. */
static void test_grouping(void) {
  int equal = 0, trials = 20, worse = 0, bad = 0;
  for (int trial = 0; trial < trials; trial++) {
    int n = 2 + trial % 3, m = n + 2 + trial % 4; /* up to 4^9 groupings */
    fake f;
    fake_make(&f, n, m, 40, 2);
    sn_bss_chan ch = {f.sums, f.Q};
    int g[16], gg[16], method = 0, method2 = 0;
    sn_err e = {0};
    int rc = sn_bss_grouping(&f.l, &ch, 1, SN_BSS_SEARCH_AUTO, g, &method, &e);
    rc |= sn_bss_grouping(&f.l, &ch, 1, SN_BSS_SEARCH_GREEDY, gg, &method2, &e);
    double best = -HUGE_VAL;
    int c[16] = {0};
    for (;;) {
      int cntj[8] = {0}, onto = 1;
      for (int k = 0; k < m; k++) cntj[c[k]]++;
      for (int j = 0; j < n; j++) onto &= cntj[j] > 0;
      if (onto) best = fmax(best, mean_sdr(&f, c));
      int k = 0;
      while (k < m && ++c[k] == n) c[k++] = 0;
      if (k == m) break;
    }
    double ex = mean_sdr(&f, g), gr = mean_sdr(&f, gg);
    if (rc || method != SN_BSS_SEARCH_EXHAUSTIVE || method2 != SN_BSS_SEARCH_GREEDY || fabs(ex - best) > 1e-9) bad++;
    if (gr > ex + 1e-9) worse++;
    if (fabs(gr - ex) < 1e-9) equal++;
    free(f.sums);
    free(f.Q);
  }
  CHECK(bad == 0, "exhaustive grouping = brute force in %d of %d random cases", trials - bad, trials);
  CHECK(worse == 0, "greedy never above exhaustive; equal in %d of %d", equal, trials);
  CHECK(equal >= trials / 2, "greedy finds the optimum in most small cases (%d of %d)", equal, trials);
}

int main(void) {
  test_corr();
  test_perm();
  test_grouping();
  printf(failures ? "%d failed checks\n" : "all checks passed\n", failures);
  return failures ? 1 : 0;
}
