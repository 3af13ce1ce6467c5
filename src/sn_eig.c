/* Leading eigenpairs of a symmetric matrix, exactly or by subspace iteration (see sn_eig.h). */
#include "sn_eig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include SN_BLAS_HEADER

/* LAPACK (Fortran) with hidden string-length arguments. */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
                    const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
                    double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t ljobz, size_t lrange, size_t luplo);

extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work, const int *lwork,
                    int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau,
                    double *work, const int *lwork, int *info);

static int eig_check(int64_t n64, int64_t R, sn_err *e) {
  if (n64 > 46340 || R < 1 || R > n64)
    return SN_FAIL(e, SN_ERR_INPUT, "nndsvd: %lld eigenpairs of a %lld x %lld Gram matrix", (long long)R,
                   (long long)n64, (long long)n64);
  return SN_OK;
}

int sn_eig_top(int64_t n64, double *G, int64_t R, double *w, double *Z, sn_err *e) {
  if (eig_check(n64, R, e)) return SN_ERR_INPUT;
  const int n = (int)n64, il = (int)(n64 - R + 1), iu = n;
  const double vl = 0, vu = 0, abstol = 0;
  int m = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0;
  double *wall = sn_calloc((size_t)n * sizeof(double), "eigenvalues", e);
  double *zz = sn_calloc((size_t)n * (size_t)R * sizeof(double), "eigenvectors", e);
  int *isuppz = sn_calloc(2 * (size_t)R * sizeof(int), "eigenvectors", e);
  double *work = NULL;
  int *iwork = NULL;
  int rc = (wall && zz && isuppz) ? SN_OK : SN_ERR_NOMEM;
  if (rc == SN_OK) { /* the workspace query */
    dsyevr_("V", "I", "L", &n, G, &n, &vl, &vu, &il, &iu, &abstol, &m, wall, zz, &n, isuppz, &wq, &lwork, &iwq,
            &liwork, &info, 1, 1, 1);
    lwork = (int)wq + 1;
    liwork = iwq + 1;
    work = sn_calloc((size_t)lwork * sizeof(double), "eigensolver workspace", e);
    iwork = sn_calloc((size_t)liwork * sizeof(int), "eigensolver workspace", e);
    if (!work || !iwork) rc = SN_ERR_NOMEM;
  }
  if (rc == SN_OK) {
    dsyevr_("V", "I", "L", &n, G, &n, &vl, &vu, &il, &iu, &abstol, &m, wall, zz, &n, isuppz, work, &lwork, iwork,
            &liwork, &info, 1, 1, 1);
    if (info != 0 || m != R) rc = SN_FAIL(e, SN_ERR_NUMERIC, "nndsvd: dsyevr failed (info %d, %d of %lld eigenpairs)",
                                         info, m, (long long)R);
  }
  for (int64_t r = 0; rc == SN_OK && r < R; r++) { /* dsyevr's order is ascending */
    w[r] = wall[R - 1 - r];
    memcpy(Z + r * n64, zz + (R - 1 - r) * n64, (size_t)n64 * sizeof(double));
  }
  sn_free(wall);
  sn_free(zz);
  sn_free(isuppz);
  sn_free(work);
  sn_free(iwork);
  return rc;
}

/* The fixed start: entries in [-0.5, 0.5) from a hash of their index
 * (splitmix64's finalizer), so every run starts alike. */
static double start_entry(uint64_t i) {
  uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53 - 0.5;
}

/* Local. Q (n x k) := an orthonormal basis of its columns (Householder QR). */
static int orthonormalize(int n, int k, double *Q, double *tau, double *work, int lwork, sn_err *e) {
  int info = 0;
  dgeqrf_(&n, &k, Q, &n, tau, work, &lwork, &info);
  if (info == 0) dorgqr_(&n, &k, &k, Q, &n, tau, work, &lwork, &info);
  return info ? SN_FAIL(e, SN_ERR_NUMERIC, "nndsvd: QR of the subspace failed (info %d)", info) : SN_OK;
}

int sn_eig_top_subspace(int64_t n64, const double *G, int64_t R, double *w, double *Z, int *sweeps, double *residual,
                        sn_err *e) {
  if (eig_check(n64, R, e)) return SN_ERR_INPUT;
  const int n = (int)n64;
  int k = (int)(2 * R > R + 8 ? 2 * R : R + 8);
  if (k > n) k = n;
  const size_t nk = (size_t)n * (size_t)k;
  double *Q = sn_calloc(nk * sizeof(double), "subspace", e), *Y = sn_calloc(nk * sizeof(double), "subspace", e);
  double *X = sn_calloc(nk * sizeof(double), "subspace", e);
  double *T = sn_calloc((size_t)k * k * sizeof(double), "subspace", e);
  double *S = sn_calloc((size_t)k * k * sizeof(double), "subspace", e);
  double *theta = sn_calloc((size_t)k * sizeof(double), "subspace", e);
  double *tau = sn_calloc((size_t)k * sizeof(double), "subspace", e);
  double *work = NULL, wq = 0, res = INFINITY;
  int rc = (Q && Y && X && T && S && theta && tau) ? SN_OK : SN_ERR_NOMEM, lwork = -1, info = 0, it = 0;
  if (rc == SN_OK) { /* workspace of the QR (the larger of dgeqrf's and dorgqr's queries) */
    dgeqrf_(&n, &k, Q, &n, tau, &wq, &lwork, &info);
    double wq2 = 0;
    dorgqr_(&n, &k, &k, Q, &n, tau, &wq2, &lwork, &info);
    lwork = (int)(wq > wq2 ? wq : wq2) + k;
    work = sn_calloc((size_t)lwork * sizeof(double), "subspace", e);
    if (!work) rc = SN_ERR_NOMEM;
  }
  if (rc == SN_OK) { /* the start: G times the fixed block, made orthonormal */
    for (size_t q = 0; q < nk; q++) X[q] = start_entry(q);
    cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, n, k, 1.0, G, n, X, n, 0.0, Q, n);
    rc = orthonormalize(n, k, Q, tau, work, lwork, e);
  }
  while (rc == SN_OK && it < SN_EIG_SUBSPACE_MAX_SWEEPS) {
    it++;
    cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, n, k, 1.0, G, n, Q, n, 0.0, Y, n); /* Y = G Q */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, k, k, n, 1.0, Q, n, Y, n, 0.0, T, k);
    for (int j = 0; j < k; j++) /* Q^T G Q is symmetric: average away the rounding */
      for (int i = j + 1; i < k; i++) T[i + j * k] = T[j + i * k] = 0.5 * (T[i + j * k] + T[j + i * k]);
    rc = sn_eig_top(k, T, k, theta, S, e); /* Rayleigh-Ritz: descending Ritz values, their vectors S */
    if (rc) break;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, k, k, 1.0, Q, n, S, k, 0.0, X, n); /* Ritz vectors */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, k, k, 1.0, Y, n, S, k, 0.0, Q, n); /* G X */
    const double scale = fabs(theta[0]) > 0 ? fabs(theta[0]) : 1.0;
    res = 0;
    for (int j = 0; j < R; j++) {
      double s2 = 0;
      for (int i = 0; i < n; i++) {
        double d = Q[i + (size_t)j * n] - theta[j] * X[i + (size_t)j * n];
        s2 += d * d;
      }
      res = fmax(res, sqrt(s2) / scale);
    }
    if (res <= SN_EIG_SUBSPACE_TOL) break;
    rc = orthonormalize(n, k, Q, tau, work, lwork, e); /* the next basis: G X, orthonormal */
  }
  if (rc == SN_OK) {
    memcpy(w, theta, (size_t)R * sizeof(double));
    memcpy(Z, X, (size_t)R * (size_t)n * sizeof(double));
    if (sweeps) *sweeps = it;
    if (residual) *residual = res;
  }
  sn_free(Q);
  sn_free(Y);
  sn_free(X);
  sn_free(T);
  sn_free(S);
  sn_free(theta);
  sn_free(tau);
  sn_free(work);
  return rc;
}
