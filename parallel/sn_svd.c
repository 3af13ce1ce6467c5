/* Leading singular triplets of distributed V via ScaLAPACK, NNDSVD (see sn_svd.h). */
#include "sn_svd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include SN_BLAS_HEADER
#include "sn_comm.h"

/* ScaLAPACK / BLACS have no installed header: prototypes (Fortran symbols take
 * hidden string lengths after the arguments). */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
               const int *icsrc, const int *ictxt, const int *lld, int *info);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, double *w, double *z, const int *iz, const int *jz, const int *descz,
              double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t ljobz,
              size_t luplo);

#define SN_SVD_TILE 256

/* Local: G (F x F, lower) += V V^T over the block, in double. */
static int gram_local(const float *V, int64_t F, int64_t n, double *G, sn_err *e) {
  double *Vd = sn_calloc((size_t)F * SN_SVD_TILE * sizeof(double), "nndsvd tile", e);
  if (!Vd) return SN_ERR_NOMEM;
  for (int64_t j0 = 0; j0 < n; j0 += SN_SVD_TILE) {
    int64_t t = n - j0 < SN_SVD_TILE ? n - j0 : SN_SVD_TILE;
    for (int64_t q = 0; q < F * t; q++) Vd[q] = V[j0 * F + q];
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)F, (int)t, 1.0, Vd, (int)F, 1.0, G, (int)F);
  }
  sn_free(Vd);
  for (int64_t j = 0; j < F; j++)
    for (int64_t i = 0; i < j; i++) G[i + j * F] = G[j + i * F];
  return SN_OK;
}

/* Local: global index of local index l in a block-cyclic distribution. */
static int64_t l2g(int64_t l, int nb, int p, int np) { return ((l / nb) * np + p) * nb + l % nb; }

int sn_svd_top(sn_run *run, const sn_pnmf_opts *o, const float *V, double *U, double *S) {
  sn_err *e = &run->err;
  const int64_t F64 = o->cfg.F, R = o->cfg.R;
  double *G = NULL, *A = NULL, *Z = NULL, *w = NULL, *work = NULL;
  int *iwork = NULL;
  int lrc = SN_OK, rc = SN_OK, ctxt = -1, handle = -1;
  if (F64 > 46340) /* F*F must fit an int for ScaLAPACK's local sizes */
    lrc = SN_FAIL(e, SN_ERR_INPUT, "nndsvd: F = %lld bins is too large for the Gram eigensolver", (long long)F64);
  const int F = (int)F64;
  if (!lrc) {
    G = sn_calloc((size_t)F * (size_t)F * sizeof(double), "nndsvd Gram", e);
    w = sn_calloc((size_t)F * sizeof(double), "nndsvd eigenvalues", e);
    if (!G || !w) lrc = SN_ERR_NOMEM;
  }
  if (!lrc) lrc = gram_local(V, F64, o->n_local, G, e);
  rc = sn_agree(run->comm, lrc, e);
  if (rc) goto cleanup;
  rc = sn_run_allreduce_sum(run, G, (size_t)F * (size_t)F, SN_OK);
  if (rc) goto cleanup;

  /* process grid: nprow x npcol = size, as square as the size allows */
  int nprow = 1;
  for (int p = 1; p * p <= run->size; p++)
    if (run->size % p == 0) nprow = p;
  int npcol = run->size / nprow, myrow = -1, mycol = -1, nb = 64;
  if (F < nb * 2) nb = F / 2 > 0 ? F / 2 : 1;
  handle = Csys2blacs_handle(run->comm);
  ctxt = handle;
  Cblacs_gridinit(&ctxt, "Row", nprow, npcol);
  Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
  const int izero = 0, ione = 1;
  int mloc = 0, nloc = 0, lld = 1, info = 0, desc[9], lwork = 0, liwork = 0;
  if (myrow >= 0) {
    mloc = numroc_(&F, &nb, &myrow, &izero, &nprow);
    nloc = numroc_(&F, &nb, &mycol, &izero, &npcol);
    lld = mloc > 1 ? mloc : 1;
    descinit_(desc, &F, &F, &nb, &nb, &izero, &izero, &ctxt, &lld, &info);
    if (info != 0) lrc = SN_FAIL(e, SN_ERR_NUMERIC, "nndsvd: descinit failed (info %d)", info);
    A = sn_calloc((size_t)lld * (size_t)(nloc > 0 ? nloc : 1) * sizeof(double), "nndsvd local", e);
    Z = sn_calloc((size_t)lld * (size_t)(nloc > 0 ? nloc : 1) * sizeof(double), "nndsvd local", e);
    if (!A || !Z) lrc = SN_ERR_NOMEM;
  }
  rc = sn_agree(run->comm, lrc, e);
  if (rc) goto cleanup;
  if (myrow >= 0) {
    for (int lj = 0; lj < nloc; lj++) {
      int64_t gj = l2g(lj, nb, mycol, npcol);
      for (int li = 0; li < mloc; li++) A[li + (size_t)lj * lld] = G[l2g(li, nb, myrow, nprow) + gj * F];
    }
    double wq = 0;
    int iwq = 0;
    lwork = -1;
    liwork = -1;
    pdsyevd_("V", "L", &F, A, &ione, &ione, desc, w, Z, &ione, &ione, desc, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
    /* the reference pdsyevd underestimates the workspace PDORMTR needs on some
     * grids: give it generous room */
    lwork = 2 * (int)wq + (mloc + nloc + 2 * nb) * nb + 2 * nb * nb + 4 * F + 10000;
    liwork = 2 * (iwq > 1 ? iwq : 1) + 7 * F + 100;
    work = malloc((size_t)lwork * sizeof(double));
    iwork = malloc((size_t)liwork * sizeof(int));
    if (!work || !iwork) {
      lrc = SN_FAIL(e, SN_ERR_NOMEM, "nndsvd: cannot allocate the eigensolver workspace");
    }
  }
  /* every grid rank must enter pdsyevd together: agree before it */
  rc = sn_agree(run->comm, lrc, e);
  if (rc) goto cleanup;
  if (myrow >= 0) {
    pdsyevd_("V", "L", &F, A, &ione, &ione, desc, w, Z, &ione, &ione, desc, work, &lwork, iwork, &liwork, &info, 1, 1);
    if (info != 0) lrc = SN_FAIL(e, SN_ERR_NUMERIC, "nndsvd: pdsyevd failed (info %d)", info);
  }
  /* gather the top R eigenvectors (columns F-1, F-2, ...) by a sum */
  memset(U, 0, (size_t)(F64 * R) * sizeof(double));
  double *buf = calloc((size_t)(F64 * R + R), sizeof(double));
  /* the reduction's count must be the same everywhere: agree on buf first */
  rc = sn_agree(run->comm, buf ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "nndsvd: out of memory"), e);
  if (rc) {
    free(buf);
    goto cleanup;
  }
  if (myrow >= 0 && !lrc) {
    for (int lj = 0; lj < nloc; lj++) {
      int64_t gj = l2g(lj, nb, mycol, npcol);
      int64_t r = F64 - 1 - gj;
      if (r < 0 || r >= R) continue;
      for (int li = 0; li < mloc; li++) buf[l2g(li, nb, myrow, nprow) + r * F64] = Z[li + (size_t)lj * lld];
    }
    if (myrow == 0 && mycol == 0)
      for (int64_t r = 0; r < R; r++) buf[F64 * R + r] = w[F64 - 1 - r];
  }
  rc = sn_run_allreduce_sum(run, buf, (size_t)(F64 * R + R), lrc);
  if (rc == SN_OK) {
    memcpy(U, buf, (size_t)(F64 * R) * sizeof(double));
    for (int64_t r = 0; r < R; r++) {
      S[r] = sqrt(fmax(buf[F64 * R + r], 0.0));
      int64_t imax = 0;
      for (int64_t i = 1; i < F64; i++)
        if (fabs(U[i + r * F64]) > fabs(U[imax + r * F64])) imax = i;
      if (U[imax + r * F64] < 0)
        for (int64_t i = 0; i < F64; i++) U[i + r * F64] = -U[i + r * F64];
    }
  }
  free(buf);
cleanup:
  if (ctxt >= 0 && myrow >= 0) Cblacs_gridexit(ctxt);
  if (handle >= 0) Cfree_blacs_system_handle(handle);
  sn_free(G);
  sn_free(A);
  sn_free(Z);
  sn_free(w);
  free(work);
  free(iwork);
  return rc;
}

int sn_svd_nndsvd(sn_run *run, const sn_pnmf_opts *o, const float *V, int variant, uint64_t seed,
                  float *W, float *H) {
  sn_err *e = &run->err;
  const int64_t F = o->cfg.F, R = o->cfg.R, n = o->n_local;
  double *U = sn_calloc((size_t)(F * R) * sizeof(double), "nndsvd U", e);
  double *S = sn_calloc((size_t)R * sizeof(double), "nndsvd S", e);
  double *Y = sn_calloc((size_t)(R * (n > 0 ? n : 1)) * sizeof(double), "nndsvd V^T U", e);
  double *Vd = sn_calloc((size_t)F * SN_SVD_TILE * sizeof(double), "nndsvd tile", e);
  double *nrm = sn_calloc((size_t)(2 * R + 1) * sizeof(double), "nndsvd norms", e);
  int rc = sn_agree(run->comm, (U && S && Y && Vd && nrm) ? SN_OK : SN_ERR_NOMEM, e);
  if (rc) goto cleanup;
  rc = sn_svd_top(run, o, V, U, S);
  if (rc) goto cleanup;
  /* right vectors of the local columns: y_r = V^T u_r / s_r */
  for (int64_t j0 = 0; j0 < n; j0 += SN_SVD_TILE) {
    int64_t t = n - j0 < SN_SVD_TILE ? n - j0 : SN_SVD_TILE;
    for (int64_t q = 0; q < F * t; q++) Vd[q] = V[j0 * F + q];
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)R, (int)t, (int)F, 1.0, U, (int)F, Vd, (int)F, 0.0,
                Y + j0 * R, (int)R);
  }
  for (int64_t j = 0; j < n; j++)
    for (int64_t r = 0; r < R; r++) Y[r + j * R] = S[r] > 0 ? Y[r + j * R] / S[r] : 0.0;
  /* norms of the positive / negative parts of each right vector, over all columns */
  for (int64_t j = 0; j < n; j++)
    for (int64_t r = 0; r < R; r++) {
      double y = Y[r + j * R];
      if (y > 0) nrm[r] += y * y; else nrm[R + r] += y * y;
    }
  double vsum = 0;
  for (size_t q = 0; q < (size_t)(F * n); q++) vsum += V[q];
  nrm[2 * R] = vsum;
  rc = sn_run_allreduce_sum(run, nrm, (size_t)(2 * R + 1), SN_OK);
  if (rc) goto cleanup;
  const double avg = nrm[2 * R] / ((double)F * (double)o->N);
  const double eps = 1e-6;
  for (int64_t r = 0; r < R; r++) {
    double *u = U + r * F;
    double wscale, hscale;
    int neg = 0; /* 0: positive parts, 1: negative parts, 2: |.| (first triplet) */
    if (r == 0) {
      neg = 2;
      wscale = hscale = sqrt(S[0]);
    } else {
      double xp = 0, xn = 0;
      for (int64_t i = 0; i < F; i++) {
        if (u[i] > 0) xp += u[i] * u[i]; else xn += u[i] * u[i];
      }
      xp = sqrt(xp);
      xn = sqrt(xn);
      double yp = sqrt(nrm[r]), yn = sqrt(nrm[R + r]);
      double mp = xp * yp, mn = xn * yn;
      double sigma, xd, yd;
      if (mp > mn) { neg = 0; sigma = mp; xd = xp; yd = yp; }
      else { neg = 1; sigma = mn; xd = xn; yd = yn; }
      double lbd = sqrt(S[r] * sigma);
      wscale = xd > 0 ? lbd / xd : 0.0;
      hscale = yd > 0 ? lbd / yd : 0.0;
    }
    for (int64_t i = 0; i < F; i++) {
      double x = neg == 2 ? fabs(u[i]) : neg == 0 ? fmax(u[i], 0.0) : fabs(fmin(u[i], 0.0));
      double v = wscale * x;
      W[i + r * F] = (float)(v < eps ? 0.0 : v);
    }
    for (int64_t j = 0; j < n; j++) {
      double y = Y[r + j * R];
      double x = neg == 2 ? fabs(y) : neg == 0 ? fmax(y, 0.0) : fabs(fmin(y, 0.0));
      double v = hscale * x;
      H[r + j * R] = (float)(v < eps ? 0.0 : v);
    }
  }
  if (variant == 1) {
    for (int64_t q = 0; q < F * R; q++) if (W[q] == 0) W[q] = (float)avg;
    for (int64_t q = 0; q < R * n; q++) if (H[q] == 0) H[q] = (float)avg;
  } else if (variant == 2) {
    for (int64_t r = 0; r < R; r++)
      for (int64_t i = 0; i < F; i++)
        if (W[i + r * F] == 0) W[i + r * F] = (float)fabs(avg * sn_pnmf_normal(seed, 3, (uint64_t)(i * R + r)) / 100.0);
    for (int64_t j = 0; j < n; j++)
      for (int64_t r = 0; r < R; r++)
        if (H[r + j * R] == 0)
          H[r + j * R] = (float)fabs(avg * sn_pnmf_normal(seed, 4, (uint64_t)((o->col0 + j) * R + r)) / 100.0);
  }
cleanup:
  sn_free(U);
  sn_free(S);
  sn_free(Y);
  sn_free(Vd);
  sn_free(nrm);
  return rc;
}
