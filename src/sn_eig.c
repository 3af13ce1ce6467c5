/* Leading eigenpairs of a small symmetric matrix (see sn_eig.h). */
#include "sn_eig.h"

#include <stdlib.h>
#include <string.h>

/* LAPACK (Fortran) with hidden string-length arguments. */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
                    const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
                    double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t ljobz, size_t lrange, size_t luplo);

int sn_eig_top(int64_t n64, double *G, int64_t R, double *w, double *Z, sn_err *e) {
  if (n64 > 46340 || R < 1 || R > n64)
    return SN_FAIL(e, SN_ERR_INPUT, "nndsvd: %lld eigenpairs of a %lld x %lld Gram matrix", (long long)R,
                   (long long)n64, (long long)n64);
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
