/* Unit tests of src/sn_eig (the NNDSVD start's top eigenpairs of a Gram
 * matrix): the subspace iteration against closed forms (G = Q diag(l) Q^T
 * with a known spectrum, Q orthogonal), against LAPACK's exact dsyevr on the
 * Gram of a random nonnegative matrix, on rank-deficient, zero and identity
 * matrices, with the block as large as the matrix; it leaves G unchanged, is
 * deterministic, refuses bad sizes, and when the spectrum does not fall below
 * R it stops after SN_EIG_SUBSPACE_MAX_SWEEPS with the residual it reached.
 * Exit status 0 = all passed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_eig.h"

#include "sn_check.h"

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

/* Q (n x n) orthogonal: modified Gram-Schmidt, twice, of a random matrix. */
static void random_orthogonal(int n, double *Q) {
  for (int q = 0; q < n * n; q++) Q[q] = urand() - 0.5;
  for (int pass = 0; pass < 2; pass++)
    for (int j = 0; j < n; j++) {
      double *c = Q + (size_t)j * n;
      for (int i = 0; i < j; i++) {
        const double *b = Q + (size_t)i * n;
        double d = 0;
        for (int r = 0; r < n; r++) d += b[r] * c[r];
        for (int r = 0; r < n; r++) c[r] -= d * b[r];
      }
      double s = 0;
      for (int r = 0; r < n; r++) s += c[r] * c[r];
      for (int r = 0; r < n; r++) c[r] /= sqrt(s);
    }
}

/* G = Q diag(l) Q^T (n x n). */
static void from_spectrum(int n, const double *Q, const double *l, double *G) {
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int m = 0; m < n; m++) s += Q[i + (size_t)m * n] * l[m] * Q[j + (size_t)m * n];
      G[i + (size_t)j * n] = s;
    }
}

static double dot(int n, const double *a, const double *b) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Largest |w[r] - l[r]| / l[0] and largest 1 - |cos(Z[:, r], Q[:, r])| over r < R. */
static void compare(int n, int R, const double *w, const double *Z, const double *l, const double *Q, double *ew,
                    double *ev) {
  *ew = *ev = 0;
  for (int r = 0; r < R; r++) {
    *ew = fmax(*ew, fabs(w[r] - l[r]) / l[0]);
    const double *z = Z + (size_t)r * n, *q = Q + (size_t)r * n;
    *ev = fmax(*ev, 1 - fabs(dot(n, z, q)) / sqrt(dot(n, z, z) * dot(n, q, q)));
  }
}

/* Largest |Z^T Z - I| entry over the R columns. */
static double orthonormality(int n, int R, const double *Z) {
  double m = 0;
  for (int a = 0; a < R; a++)
    for (int b = 0; b < R; b++) m = fmax(m, fabs(dot(n, Z + (size_t)a * n, Z + (size_t)b * n) - (a == b)));
  return m;
}

static void test_closed_form(int n, int R) {
  double *Q = malloc(sizeof(double) * n * n), *G = malloc(sizeof(double) * n * n), *G0 = malloc(sizeof(double) * n * n);
  double *l = malloc(sizeof(double) * n), *w = malloc(sizeof(double) * R), *Z = malloc(sizeof(double) * n * R);
  random_orthogonal(n, Q);
  for (int i = 0; i < n; i++) l[i] = 3.0 * pow(0.8, i); /* descending, gaps of 20 % */
  from_spectrum(n, Q, l, G);
  memcpy(G0, G, sizeof(double) * n * n);
  sn_err e = {0};
  int sweeps = 0;
  double res = 1, ew, ev;
  int rc = sn_eig_top_subspace(n, G, R, w, Z, &sweeps, &res, &e);
  compare(n, R, w, Z, l, Q, &ew, &ev);
  CHECK(rc == 0 && res <= SN_EIG_SUBSPACE_TOL, "n %d R %d: rc %d, residual %.1e after %d sweeps", n, R, rc, res, sweeps);
  CHECK(ew < 1e-12 && ev < 1e-12, "n %d R %d: eigenvalues off by %.1e (of l0), vectors 1 - |cos| %.1e (< 1e-12)", n, R,
        ew, ev);
  CHECK(orthonormality(n, R, Z) < 1e-12, "n %d R %d: Z^T Z - I %.1e", n, R, orthonormality(n, R, Z));
  CHECK(!memcmp(G, G0, sizeof(double) * n * n), "n %d R %d: G changed", n, R);
  double *w2 = malloc(sizeof(double) * R), *Z2 = malloc(sizeof(double) * n * R);
  rc = sn_eig_top_subspace(n, G, R, w2, Z2, NULL, NULL, &e);
  CHECK(rc == 0 && !memcmp(w, w2, sizeof(double) * R) && !memcmp(Z, Z2, sizeof(double) * n * R),
        "n %d R %d: a second call gives other bits", n, R);
  free(Q), free(G), free(G0), free(l), free(w), free(Z), free(w2), free(Z2);
}

/* The Gram of a random nonnegative n x N matrix (a spectrogram's shape: one
 * large mean eigenvalue, then a slow fall), subspace against dsyevr. */
static void test_against_exact(int n, int N, int R) {
  double *V = malloc(sizeof(double) * n * N), *G = malloc(sizeof(double) * n * n), *Ge = malloc(sizeof(double) * n * n);
  double *w = malloc(sizeof(double) * R), *Z = malloc(sizeof(double) * n * R);
  double *we = malloc(sizeof(double) * R), *Ze = malloc(sizeof(double) * n * R);
  for (int j = 0; j < N; j++) /* a few smooth spectral shapes with random gains, plus noise */
    for (int i = 0; i < n; i++) {
      double g1 = urand(), g2 = urand() * (j % 3 == 0), g3 = urand() * (j % 7 < 2);
      V[i + (size_t)j * n] = g1 * exp(-i / 20.0) + g2 * exp(-pow((i - n / 2.0) / 8.0, 2)) +
                             g3 * (1 + cos(i / 3.0)) + 0.05 * urand();
    }
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) {
      double s = 0;
      for (int j = 0; j < N; j++) s += V[a + (size_t)j * n] * V[b + (size_t)j * n];
      G[a + (size_t)b * n] = s;
    }
  memcpy(Ge, G, sizeof(double) * n * n);
  sn_err e = {0};
  int sweeps = 0;
  double res = 1;
  int rc = sn_eig_top_subspace(n, G, R, w, Z, &sweeps, &res, &e);
  int rce = sn_eig_top(n, Ge, R, we, Ze, &e);
  double ew = 0, ev = 0;
  for (int r = 0; r < R; r++) {
    ew = fmax(ew, fabs(w[r] - we[r]) / we[0]);
    ev = fmax(ev, 1 - fabs(dot(n, Z + (size_t)r * n, Ze + (size_t)r * n)));
  }
  CHECK(rc == 0 && rce == 0 && res <= SN_EIG_SUBSPACE_TOL, "Gram %dx%d R %d: rc %d/%d, residual %.1e, %d sweeps", n, n,
        R, rc, rce, res, sweeps);
  CHECK(ew < 1e-12 && ev < 1e-9, "Gram %dx%d R %d: against dsyevr eigenvalues %.1e (of w0), vectors 1 - |cos| %.1e "
        "(< 1e-12, 1e-9)", n, n, R, ew, ev);
  free(V), free(G), free(Ge), free(w), free(Z), free(we), free(Ze);
}

static void test_special(void) {
  enum { n = 40, R = 6 };
  static double Q[n * n], G[n * n], l[n], w[R], Z[n * R];
  sn_err e = {0};
  int sweeps = 0;
  double res = 1, ew, ev;
  random_orthogonal(n, Q);
  /* rank 3 < R: the three are found, the rest are zero */
  for (int i = 0; i < n; i++) l[i] = i < 3 ? 2.0 - 0.5 * i : 0.0;
  from_spectrum(n, Q, l, G);
  int rc = sn_eig_top_subspace(n, G, R, w, Z, &sweeps, &res, &e);
  compare(n, 3, w, Z, l, Q, &ew, &ev);
  CHECK(rc == 0 && ew < 1e-12 && ev < 1e-12 && fabs(w[3]) < 1e-12 && fabs(w[R - 1]) < 1e-12 &&
            orthonormality(n, R, Z) < 1e-12,
        "rank 3, R 6: rc %d, top 3 off by %.1e / %.1e, w[3] %.1e, Z^T Z - I %.1e", rc, ew, ev, w[3],
        orthonormality(n, R, Z));
  /* the zero matrix: zero eigenvalues, orthonormal vectors, no failure */
  memset(G, 0, sizeof G);
  rc = sn_eig_top_subspace(n, G, R, w, Z, &sweeps, &res, &e);
  CHECK(rc == 0 && w[0] == 0 && orthonormality(n, R, Z) < 1e-12 && sweeps == 1, "zero matrix: rc %d, w0 %g, %d sweeps",
        rc, w[0], sweeps);
  /* the identity: every basis is one of eigenvectors, residual 0 at once */
  for (int i = 0; i < n; i++) G[i + i * n] = 1.0;
  rc = sn_eig_top_subspace(n, G, R, w, Z, &sweeps, &res, &e);
  CHECK(rc == 0 && fabs(w[0] - 1) < 1e-14 && fabs(w[R - 1] - 1) < 1e-14 && sweeps == 1 && res < 1e-14,
        "identity: rc %d, w %.15g..%.15g, %d sweeps, residual %.1e", rc, w[0], w[R - 1], sweeps, res);
  /* no fall below R: the eigenvalues beyond the 4th differ by 1e-7 at most,
   * so the 5th and 6th cannot settle; it stops at the cap and says how far */
  for (int i = 0; i < n; i++) l[i] = i < 4 ? 2.0 - 0.25 * i : 1.0 - 1e-7 * i / n;
  from_spectrum(n, Q, l, G);
  rc = sn_eig_top_subspace(n, G, R, w, Z, &sweeps, &res, &e);
  compare(n, 4, w, Z, l, Q, &ew, &ev);
  CHECK(rc == 0 && sweeps == SN_EIG_SUBSPACE_MAX_SWEEPS && res > SN_EIG_SUBSPACE_TOL && res < 1e-6 && ew < 1e-12 &&
            ev < 1e-12 && orthonormality(n, R, Z) < 1e-12,
        "flat tail: rc %d, %d sweeps (cap %d), residual %.1e, top 4 off by %.1e / %.1e", rc, sweeps,
        SN_EIG_SUBSPACE_MAX_SWEEPS, res, ew, ev);
  /* bad sizes are refused with a message */
  CHECK(sn_eig_top_subspace(n, G, n + 1, w, Z, NULL, NULL, &e) == SN_ERR_INPUT && strstr(e.msg, "eigenpairs"),
        "R > n refused: %s", e.msg);
  CHECK(sn_eig_top_subspace(n, G, 0, w, Z, NULL, NULL, &e) == SN_ERR_INPUT, "R = 0 refused");
}

int main(void) {
  test_closed_form(200, 10);  /* block 20 of 200 */
  test_closed_form(12, 6);    /* block 12: the whole space */
  test_closed_form(60, 1);    /* block R + 8 */
  test_against_exact(300, 900, 32);
  test_against_exact(150, 100, 16); /* fewer columns than rows: rank 100 */
  test_special();
  printf("test_eig: %d checks, %d failures\n", checks, failures);
  return failures != 0;
}
