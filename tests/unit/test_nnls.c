/* Unit tests of src/sn_nnls (block principal pivoting) against the plain
 * Lawson-Hanson reference in the same file, and of src/sn_mel against known
 * values of the mel scale, at every kernel level this CPU has
 * (tests/unit/sn_test_levels.h; the reference is the baseline build's).
 * Exit status 0 = all passed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_mel.h"
#include "sn_nnls.h"
#include "sn_test_levels.h"

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

/* 0.5-free objective ||A x - b||^2 + ridge ||x||^2 in double. */
static double objective(int m, int n, const double *A, const double *b, const double *x,
                        double ridge) {
  double s = 0;
  for (int i = 0; i < m; i++) {
    double r = -b[i];
    for (int j = 0; j < n; j++) r += A[i + (size_t)m * j] * x[j];
    s += r * r;
  }
  for (int j = 0; j < n; j++) s += ridge * x[j] * x[j];
  return s;
}

/* Solve a float problem with sn_nnls_solve and compare every column's
 * objective with the Lawson-Hanson reference (ridge by augmentation). */
static void compare_problem(const char *name, int m, int n, int ncols, const float *A,
                            const float *B, double ridge, int method, int64_t tile,
                            double rtol) {
  sn_err e = {0};
  sn_nnls_opts o;
  sn_nnls_opts_default(&o);
  o.ridge = ridge;
  o.method = method;
  o.tile = tile;
  sn_nnls_stats st;
  sn_nnls_stats_init(&st);
  float *X = calloc((size_t)n * ncols, sizeof(float));
  int rc = sn_nnls_solve(m, n, A, m, ncols, B, m, X, n, &o, &st, name, &e);
  CHECK(rc == SN_OK, "%s: solve failed: %s", name, e.msg);
  CHECK(st.cols == ncols, "%s: %lld columns counted", name, (long long)st.cols);
  CHECK(st.unconverged == 0, "%s: %lld columns unconverged", name, (long long)st.unconverged);
  CHECK(st.kkt_rel < 1e-6, "%s: KKT violation %g", name, st.kkt_rel);
  int ma = m + n;
  double *Aa = calloc((size_t)ma * n, sizeof(double)), *ba = calloc(ma, sizeof(double));
  double *Ad = calloc((size_t)m * n, sizeof(double));
  double *xr = calloc(n, sizeof(double)), *xs = calloc(n, sizeof(double));
  for (int j = 0; j < n; j++) {
    for (int i = 0; i < m; i++) Aa[i + (size_t)ma * j] = Ad[i + (size_t)m * j] = A[i + (size_t)m * j];
    Aa[m + j + (size_t)ma * j] = sqrt(ridge);
  }
  double worst = 0, objs = 0, objr = 0;
  for (int c = 0; c < ncols; c++) {
    for (int i = 0; i < m; i++) ba[i] = B[i + (size_t)m * c];
    for (int i = m; i < ma; i++) ba[i] = 0;
    sn_nnls_ref_lh(ma, n, Aa, ma, ba, xr, &e);
    for (int j = 0; j < n; j++) xs[j] = X[j + (size_t)n * c];
    for (int j = 0; j < n; j++) CHECK(xs[j] >= 0, "%s: negative x", name);
    double fs = objective(m, n, Ad, ba, xs, ridge), fr = objective(m, n, Ad, ba, xr, ridge);
    double bn = 0;
    for (int i = 0; i < m; i++) bn += ba[i] * ba[i];
    double rel = (fs - fr) / (fr + 1e-9 * bn + 1e-300);
    if (rel > worst) worst = rel;
    objs += fs;
    objr += fr;
  }
  CHECK(worst <= rtol, "%s: objective above the reference by %g (relative)", name, worst);
  printf("%-28s m=%4d n=%4d cols=%3d obj %.6e ref %.6e worst rel %+.2e kkt %.1e iters %lld shift %.1e\n",
         name, m, n, ncols, objs, objr, worst, st.kkt_rel, (long long)st.iters, st.internal_ridge);
  free(X);
  free(Aa);
  free(ba);
  free(Ad);
  free(xr);
  free(xs);
}

static void test_random_tall(void) {
  int m = 60, n = 15, nc = 40;
  float *A = malloc(sizeof(float) * m * n), *B = malloc(sizeof(float) * m * nc);
  for (int q = 0; q < m * n; q++) A[q] = (float)urand();
  for (int q = 0; q < m * nc; q++) B[q] = (float)urand();
  compare_problem("tall random", m, n, nc, A, B, 0, 0, 0, 1e-9);
  compare_problem("tall random, tile 7", m, n, nc, A, B, 0, 0, 7, 1e-9);
  compare_problem("tall random, dual path", m, n, nc, A, B, 0, 2, 0, 1e-7);
  compare_problem("tall random, ridge 0.5", m, n, nc, A, B, 0.5, 0, 0, 1e-9);
  /* signed data: many zero solutions */
  for (int q = 0; q < m * nc; q++) B[q] = (float)nrand();
  compare_problem("tall signed data", m, n, nc, A, B, 0, 0, 0, 1e-9);
  free(A);
  free(B);
}

static void test_rank_deficient(void) {
  int m = 50, n = 16, nc = 30, r = 6;
  float *A = malloc(sizeof(float) * m * n), *B = malloc(sizeof(float) * m * nc);
  double *U = malloc(sizeof(double) * m * r), *V = malloc(sizeof(double) * r * n);
  for (int q = 0; q < m * r; q++) U[q] = urand();
  for (int q = 0; q < r * n; q++) V[q] = urand();
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) {
      double s = 0;
      for (int k = 0; k < r; k++) s += U[i + m * k] * V[k + r * j];
      A[i + m * j] = (float)s;
    }
  for (int q = 0; q < m * nc; q++) B[q] = (float)urand();
  compare_problem("rank-deficient (rank 6)", m, n, nc, A, B, 0, 0, 0, 1e-6);
  /* consistent data in the cone: exact fit possible */
  for (int c = 0; c < nc; c++)
    for (int i = 0; i < m; i++) {
      double s = 0;
      for (int j = 0; j < n; j++) s += A[i + m * j] * (urand() < 0.5 ? urand() : 0);
      B[i + m * c] = (float)s;
    }
  compare_problem("rank-deficient, consistent", m, n, nc, A, B, 0, 0, 0, 1e-6);
  free(A);
  free(B);
  free(U);
  free(V);
}

static void test_wide(void) {
  int m = 12, n = 40, nc = 25;
  float *A = malloc(sizeof(float) * m * n), *B = malloc(sizeof(float) * m * nc);
  for (int q = 0; q < m * n; q++) A[q] = (float)urand();
  for (int q = 0; q < m * nc; q++) B[q] = (float)urand();
  compare_problem("wide dense", m, n, nc, A, B, 0, 0, 0, 1e-6);
  compare_problem("wide dense, gram path", m, n, nc, A, B, 0, 1, 0, 1e-6);
  compare_problem("wide dense, ridge 0.1", m, n, nc, A, B, 0.1, 0, 0, 1e-9);
  free(A);
  free(B);
}

/* The mel case: 32 x 257 mel basis, data = mel of a nonnegative power
 * spectrum (consistent), and random data (inconsistent). */
static void test_mel_wide(void) {
  int nm = 32, nfft = 512, F = nfft / 2 + 1, nc = 20;
  sn_err e = {0};
  float *M = malloc(sizeof(float) * nm * F), *B = malloc(sizeof(float) * nm * nc);
  int rc = sn_mel_filterbank(16000, nfft, nm, 0, 0, 0, 1, M, nm, NULL, &e);
  CHECK(rc == SN_OK, "mel filterbank: %s", e.msg);
  for (int c = 0; c < nc; c++)
    for (int i = 0; i < nm; i++) {
      double s = 0;
      for (int k = 0; k < F; k++) {
        double p = exp(-k / 40.0) * (1 + urand()) * (1 + 5 * (k % 17 == 3));
        s += M[i + nm * k] * p;
      }
      B[i + nm * c] = (float)s;
    }
  compare_problem("mel 32x257 consistent", nm, F, nc, M, B, 0, 0, 0, 1e-6);
  for (int q = 0; q < nm * nc; q++) B[q] = (float)urand();
  compare_problem("mel 32x257 random data", nm, F, nc, M, B, 0, 0, 0, 1e-6);
  free(M);
  free(B);
}

static void test_gram_warm(void) {
  int m = 40, n = 10, nc = 12;
  double *A = malloc(sizeof(double) * m * n), *AtA = calloc(n * n, sizeof(double));
  double *AtB = calloc(n * nc, sizeof(double)), *B = malloc(sizeof(double) * m * nc);
  double *X1 = calloc(n * nc, sizeof(double)), *X2 = calloc(n * nc, sizeof(double));
  for (int q = 0; q < m * n; q++) A[q] = nrand();
  for (int q = 0; q < m * nc; q++) B[q] = nrand();
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++)
      for (int i = 0; i < m; i++) AtA[a + n * b] += A[i + m * a] * A[i + m * b];
  for (int a = 0; a < n; a++)
    for (int c = 0; c < nc; c++)
      for (int i = 0; i < m; i++) AtB[a + n * c] += A[i + m * a] * B[i + m * c];
  sn_err e = {0};
  sn_nnls_opts o;
  sn_nnls_opts_default(&o);
  sn_nnls_stats st;
  sn_nnls_stats_init(&st);
  CHECK(sn_nnls_solve_gram(n, AtA, nc, AtB, n, X1, n, &o, &st, &e) == SN_OK, "gram: %s", e.msg);
  /* warm start from a perturbed answer and from garbage */
  for (int q = 0; q < n * nc; q++) X2[q] = (q % 3 == 0) ? 1.0 : 0.0;
  o.warm = 1;
  CHECK(sn_nnls_solve_gram(n, AtA, nc, AtB, n, X2, n, &o, &st, &e) == SN_OK, "gram warm: %s", e.msg);
  double d = 0;
  for (int q = 0; q < n * nc; q++) d = fmax(d, fabs(X1[q] - X2[q]));
  CHECK(d < 1e-10, "warm start changed the answer by %g", d);
  double *x = calloc(n, sizeof(double));
  double dr = 0;
  for (int c = 0; c < nc; c++) {
    sn_nnls_ref_lh(m, n, A, m, B + m * c, x, &e);
    for (int j = 0; j < n; j++) dr = fmax(dr, fabs(x[j] - X1[j + n * c]));
  }
  CHECK(dr < 1e-9, "gram answer differs from Lawson-Hanson by %g", dr);
  CHECK(st.kkt_rel < 1e-10, "gram KKT %g", st.kkt_rel);
  /* all-zero Gram matrix (zero basis): X = 0, no failure */
  memset(AtA, 0, sizeof(double) * n * n);
  o.warm = 0;
  CHECK(sn_nnls_solve_gram(n, AtA, nc, AtB, n, X1, n, &o, NULL, &e) == SN_OK, "zero gram: %s",
        e.msg);
  printf("gram warm start: max diff %.2e, vs reference %.2e, kkt %.1e\n", d, dr, st.kkt_rel);
  free(A);
  free(AtA);
  free(AtB);
  free(B);
  free(X1);
  free(X2);
  free(x);
}

static void test_bad_input(void) {
  int m = 5, n = 3;
  float A[15], B[10], X[6];
  for (int q = 0; q < 15; q++) A[q] = 1.0f + q;
  for (int q = 0; q < 10; q++) B[q] = 1.0f;
  sn_err e = {0};
  A[4] = -1.0f;
  CHECK(sn_nnls_solve(m, n, A, m, 2, B, m, X, n, NULL, NULL, "basis.h5", &e) == SN_ERR_INPUT,
        "negative basis accepted");
  CHECK(strstr(e.msg, "basis.h5: ") == e.msg && strstr(e.msg, "negative"), "message: %s", e.msg);
  memset(&e, 0, sizeof e);
  A[4] = NAN;
  CHECK(sn_nnls_solve(m, n, A, m, 2, B, m, X, n, NULL, NULL, "basis.h5", &e) == SN_ERR_INPUT,
        "NaN basis accepted");
  memset(&e, 0, sizeof e);
  A[4] = 1.0f;
  B[3] = INFINITY;
  CHECK(sn_nnls_solve(m, n, A, m, 2, B, m, X, n, NULL, NULL, "spec.h5", &e) == SN_ERR_INPUT,
        "Inf data accepted");
  memset(&e, 0, sizeof e);
  B[3] = 1.0f;
  sn_nnls_opts o;
  sn_nnls_opts_default(&o);
  o.ridge = -1;
  CHECK(sn_nnls_solve(m, n, A, m, 2, B, m, X, n, &o, NULL, "x", &e) == SN_ERR_INPUT,
        "negative ridge accepted");
  memset(&e, 0, sizeof e);
  CHECK(sn_nnls_solve(m, n, A, m, 0, B, m, X, n, NULL, NULL, "x", &e) == SN_OK, "0 columns");
}

static void test_mel_scale(void) {
  CHECK(fabs(sn_hz_to_mel(1000, 0) - 15.0) < 1e-12, "slaney 1000 Hz");
  CHECK(fabs(sn_hz_to_mel(500, 0) - 7.5) < 1e-12, "slaney 500 Hz");
  CHECK(fabs(sn_hz_to_mel(6400, 0) - 42.0) < 1e-10, "slaney 6400 Hz = 15 + 27");
  CHECK(fabs(sn_hz_to_mel(700, 1) - 2595 * log10(2.0)) < 1e-9, "htk 700 Hz");
  for (double f = 0; f < 20000; f += 137.3) {
    CHECK(fabs(sn_mel_to_hz(sn_hz_to_mel(f, 0), 0) - f) < 1e-8, "slaney round trip %g", f);
    CHECK(fabs(sn_mel_to_hz(sn_hz_to_mel(f, 1), 1) - f) < 1e-8, "htk round trip %g", f);
  }
  /* filterbank: each band peaks at its centre; with no normalisation the
   * peak is <= 1 and overlapping triangles sum to 1 between centres. */
  int nm = 40, nfft = 2048, F = nfft / 2 + 1;
  float *M = malloc(sizeof(float) * nm * F);
  sn_err e = {0};
  int empty = -1;
  CHECK(sn_mel_filterbank(22050, nfft, nm, 0, 0, 0, 0, M, nm, &empty, &e) == SN_OK, "%s", e.msg);
  CHECK(empty == 0, "empty bands %d", empty);
  double fc[42];
  sn_mel_frequencies(nm + 2, 0, 11025, 0, fc);
  for (int k = 0; k < F; k++) {
    double f = k * 22050.0 / nfft, s = 0;
    for (int i = 0; i < nm; i++) {
      CHECK(M[i + nm * k] >= 0 && M[i + nm * k] <= 1.0f + 1e-6f, "range");
      s += M[i + nm * k];
    }
    if (f >= fc[1] && f <= fc[nm]) CHECK(fabs(s - 1) < 1e-6, "partition of unity at %g Hz: %g", f, s);
  }
  CHECK(sn_mel_filterbank(22050, nfft, nm, 5000, 4000, 0, 1, M, nm, NULL, &e) == SN_ERR_INPUT,
        "fmax < fmin accepted");
  free(M);
}

static int all_checks(void) {
  int before = failures, checks0 = checks;
  rng = 88172645463325252ULL; /* the same problems at every level */
  test_random_tall();
  test_rank_deficient();
  test_wide();
  test_mel_wide();
  test_gram_warm();
  test_bad_input();
  test_mel_scale();
  printf("%d checks, %d failed\n", checks - checks0, failures - before);
  return failures - before;
}

int main(void) { return sn_test_levels(all_checks) != 0; }
