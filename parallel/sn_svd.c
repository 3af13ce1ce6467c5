/* Leading singular triplets of distributed V from its Gram (LAPACK or subspace iteration on every rank, or
 * ScaLAPACK), NNDSVD (see sn_svd.h). */
#include "sn_svd.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include SN_BLAS_HEADER
#include "sn_comm.h"
#include "sn_eig.h"
#include "sn_run.h"

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

/* Local: Vd (F x t doubles) = frames [j0, j0 + t) of V. */
static int tile_double(const sn_frames *V, int64_t j0, int64_t t, float *fbuf, double *Vd, sn_err *e) {
  const float *v = sn_frames_get(V, j0, t, fbuf, e);
  if (!v) return SN_ERR_IO;
  for (int64_t q = 0; q < V->F * t; q++) Vd[q] = v[q];
  return SN_OK;
}

/* Local: G (F x F, lower) += V V^T over the block, in double. */
static int gram_local(const sn_frames *V, int64_t F, int64_t n, double *G, sn_err *e) {
  int rc = SN_OK;
  double *Vd = sn_calloc((size_t)F * SN_SVD_TILE * sizeof(double), "nndsvd tile", e);
  float *fbuf = sn_frames_buffer(V, SN_SVD_TILE, &rc, e);
  if (!Vd) rc = SN_ERR_NOMEM;
  for (int64_t j0 = 0; rc == SN_OK && j0 < n; j0 += SN_SVD_TILE) {
    int64_t t = n - j0 < SN_SVD_TILE ? n - j0 : SN_SVD_TILE;
    rc = tile_double(V, j0, t, fbuf, Vd, e);
    if (rc == SN_OK)
      cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)F, (int)t, 1.0, Vd, (int)F, 1.0, G, (int)F);
  }
  sn_free(Vd);
  sn_free(fbuf);
  for (int64_t j = 0; j < F; j++)
    for (int64_t i = 0; i < j; i++) G[i + j * F] = G[j + i * F];
  return rc;
}

/* Local: global index of local index l in a block-cyclic distribution. */
static int64_t l2g(int64_t l, int nb, int p, int np) { return ((l / nb) * np + p) * nb + l % nb; }

/* The eigensolver's state on this rank: the Gram matrix, the BLACS grid and
 * this rank's block-cyclic pieces (grid ranks only: myrow >= 0). */
typedef struct svd_ctx {
  int F, nb, nprow, npcol, myrow, mycol, ctxt, handle;
  int mloc, nloc, lld, lwork, liwork, desc[9];
  double *G, *A, *Z, *w, *work;
  int *iwork;
} svd_ctx;

/* Local. G = this rank's V V^T (F x F, double) and room for the eigenvalues. */
static int svd_gram(svd_ctx *c, const sn_frames *V, int64_t F64, int64_t n_local, sn_err *e) {
  if (F64 > 46340) /* F*F must fit an int for ScaLAPACK's local sizes */
    return SN_FAIL(e, SN_ERR_INPUT, "nndsvd: F = %lld bins is too large for the Gram eigensolver", (long long)F64);
  c->F = (int)F64;
  c->G = sn_calloc((size_t)c->F * (size_t)c->F * sizeof(double), "nndsvd Gram", e);
  c->w = sn_calloc((size_t)c->F * sizeof(double), "nndsvd eigenvalues", e);
  if (!c->G || !c->w) return SN_ERR_NOMEM;
  return gram_local(V, F64, n_local, c->G, e);
}

/* Collective (BLACS). The process grid nprow x npcol = size, as square as the
 * size allows, and the block size. */
static void svd_grid(svd_ctx *c, sn_run *run) {
  c->nprow = 1;
  for (int p = 1; p * p <= run->size; p++)
    if (run->size % p == 0) c->nprow = p;
  c->npcol = run->size / c->nprow;
  c->myrow = c->mycol = -1;
  c->nb = 64;
  if (c->F < c->nb * 2) c->nb = c->F / 2 > 0 ? c->F / 2 : 1;
  c->handle = Csys2blacs_handle(run->comm);
  c->ctxt = c->handle;
  Cblacs_gridinit(&c->ctxt, "Row", c->nprow, c->npcol);
  Cblacs_gridinfo(c->ctxt, &c->nprow, &c->npcol, &c->myrow, &c->mycol);
}

/* Local. This grid rank's pieces of G (A) and of the eigenvectors (Z). */
static int svd_local_blocks(svd_ctx *c, sn_err *e) {
  if (c->myrow < 0) return SN_OK;
  const int izero = 0;
  int info = 0;
  c->mloc = numroc_(&c->F, &c->nb, &c->myrow, &izero, &c->nprow);
  c->nloc = numroc_(&c->F, &c->nb, &c->mycol, &izero, &c->npcol);
  c->lld = c->mloc > 1 ? c->mloc : 1;
  descinit_(c->desc, &c->F, &c->F, &c->nb, &c->nb, &izero, &izero, &c->ctxt, &c->lld, &info);
  if (info != 0) return SN_FAIL(e, SN_ERR_NUMERIC, "nndsvd: descinit failed (info %d)", info);
  size_t nel = (size_t)c->lld * (size_t)(c->nloc > 0 ? c->nloc : 1);
  c->A = sn_calloc(nel * sizeof(double), "nndsvd local", e);
  c->Z = sn_calloc(nel * sizeof(double), "nndsvd local", e);
  if (!c->A || !c->Z) return SN_ERR_NOMEM;
  for (int lj = 0; lj < c->nloc; lj++) {
    int64_t gj = l2g(lj, c->nb, c->mycol, c->npcol);
    for (int li = 0; li < c->mloc; li++) c->A[li + (size_t)lj * c->lld] = c->G[l2g(li, c->nb, c->myrow, c->nprow) + gj * c->F];
  }
  return SN_OK;
}

/* Collective over the grid (the workspace query). pdsyevd's workspace. */
static int svd_workspace(svd_ctx *c, sn_err *e) {
  if (c->myrow < 0) return SN_OK;
  const int ione = 1;
  double wq = 0;
  int iwq = 0, info = 0, lwork = -1, liwork = -1;
  pdsyevd_("V", "L", &c->F, c->A, &ione, &ione, c->desc, c->w, c->Z, &ione, &ione, c->desc, &wq, &lwork, &iwq, &liwork,
           &info, 1, 1);
  /* the reference pdsyevd underestimates the workspace PDORMTR needs on some
   * grids: give it generous room */
  c->lwork = 2 * (int)wq + (c->mloc + c->nloc + 2 * c->nb) * c->nb + 2 * c->nb * c->nb + 4 * c->F + 10000;
  c->liwork = 2 * (iwq > 1 ? iwq : 1) + 7 * c->F + 100;
  c->work = malloc((size_t)c->lwork * sizeof(double));
  c->iwork = malloc((size_t)c->liwork * sizeof(int));
  if (!c->work || !c->iwork) return SN_FAIL(e, SN_ERR_NOMEM, "nndsvd: cannot allocate the eigensolver workspace");
  return SN_OK;
}

/* Collective over the grid. The eigen-decomposition of G; then this rank's
 * share of the top R eigenvectors (columns F-1, F-2, ...) and, on grid rank
 * (0, 0), their eigenvalues into buf (F x R, then R), for a sum over ranks.
 * Returns this rank's code. */
static int svd_solve(svd_ctx *c, int64_t R, double *buf, sn_err *e) {
  if (c->myrow < 0) return SN_OK;
  const int ione = 1;
  const int64_t F64 = c->F;
  int info = 0;
  pdsyevd_("V", "L", &c->F, c->A, &ione, &ione, c->desc, c->w, c->Z, &ione, &ione, c->desc, c->work, &c->lwork,
           c->iwork, &c->liwork, &info, 1, 1);
  if (info != 0) return SN_FAIL(e, SN_ERR_NUMERIC, "nndsvd: pdsyevd failed (info %d)", info);
  for (int lj = 0; lj < c->nloc; lj++) {
    int64_t r = F64 - 1 - l2g(lj, c->nb, c->mycol, c->npcol);
    if (r < 0 || r >= R) continue;
    for (int li = 0; li < c->mloc; li++) buf[l2g(li, c->nb, c->myrow, c->nprow) + r * F64] = c->Z[li + (size_t)lj * c->lld];
  }
  if (c->myrow == 0 && c->mycol == 0)
    for (int64_t r = 0; r < R; r++) buf[F64 * R + r] = c->w[F64 - 1 - r];
  return SN_OK;
}

/* Local. U, S from the summed buf; each singular vector's sign is chosen so its
 * largest-magnitude entry is positive. */
static void svd_finish(const double *buf, int64_t F64, int64_t R, double *U, double *S) {
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

int sn_svd_top(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, double *U, double *S) {
  sn_err *e = &run->err;
  const int64_t F64 = o->cfg.F, R = o->cfg.R;
  svd_ctx c = {.ctxt = -1, .handle = -1, .myrow = -1};
  double *buf = NULL;
  int rc;
  SN_AGREE(run, svd_gram(&c, V, F64, o->n_local, e));
  SN_CHECK(sn_run_allreduce_sum(run, c.G, (size_t)c.F * (size_t)c.F, SN_OK));
  const int how = o->eig != SN_EIG_AUTO ? o->eig : F64 <= SN_SVD_EXACT_MAX ? SN_EIG_EXACT : SN_EIG_SUBSPACE;
  if (how != SN_EIG_SCALAPACK) { /* rank 0 solves; every rank takes its answer (the same start whatever the CPU) */
    buf = calloc((size_t)(F64 * R + R), sizeof(double));
    SN_AGREE(run, buf ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "nndsvd: out of memory"));
    SN_AGREE(run, F64 * R + R <= INT_MAX ? SN_OK : SN_FAIL(e, SN_ERR_INPUT, "nndsvd: F x R too large"));
    int sweeps = 0, local = SN_OK;
    double res = 0;
    if (run->rank == 0)
      local = how == SN_EIG_EXACT ? sn_eig_top(F64, c.G, R, buf + F64 * R, buf, e)
                                  : sn_eig_top_subspace(F64, c.G, R, buf + F64 * R, buf, &sweeps, &res, e);
    SN_AGREE(run, local);
    SN_MPI_CALL(MPI_Bcast(buf, (int)(F64 * R + R), MPI_DOUBLE, 0, run->comm));
    if (how == SN_EIG_SUBSPACE) { /* rank 0's figures: the report and the progress line are rank 0's */
      sn_run_fact_int(run, "nndsvd_sweeps", sweeps);
      SN_PROGRESS(run, "nndsvd: top %lld eigenpairs of the %lld x %lld Gram by subspace iteration, %d sweeps, "
                  "relative residual %.1e%s", (long long)R, (long long)F64, (long long)F64, sweeps, res,
                  res > SN_EIG_SUBSPACE_TOL ? " (not converged: the start is approximate)" : "");
    }
    svd_finish(buf, F64, R, U, S);
    goto cleanup;
  }
  svd_grid(&c, run);
  SN_AGREE(run, svd_local_blocks(&c, e));
  /* every grid rank must enter pdsyevd together: agree before it */
  SN_AGREE(run, svd_workspace(&c, e));
  /* the reduction's count must be the same everywhere: agree on buf first */
  buf = calloc((size_t)(F64 * R + R), sizeof(double));
  SN_AGREE(run, buf ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "nndsvd: out of memory"));
  memset(U, 0, (size_t)(F64 * R) * sizeof(double));
  SN_CHECK(sn_run_allreduce_sum(run, buf, (size_t)(F64 * R + R), svd_solve(&c, R, buf, e)));
  svd_finish(buf, F64, R, U, S);
cleanup:
  free(buf);
  if (c.ctxt >= 0 && c.myrow >= 0) Cblacs_gridexit(c.ctxt);
  if (c.handle >= 0) Cfree_blacs_system_handle(c.handle);
  sn_free(c.G);
  sn_free(c.A);
  sn_free(c.Z);
  sn_free(c.w);
  free(c.work);
  free(c.iwork);
  return rc;
}

int sn_svd_nndsvd(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, int variant, uint64_t seed,
                  float *W, float *H) {
  sn_err *e = &run->err;
  const int64_t F = o->cfg.F, R = o->cfg.R, n = o->n_local;
  double *U = sn_calloc((size_t)(F * R) * sizeof(double), "nndsvd U", e);
  double *S = sn_calloc((size_t)R * sizeof(double), "nndsvd S", e);
  double *Y = sn_calloc((size_t)(R * (n > 0 ? n : 1)) * sizeof(double), "nndsvd V^T U", e);
  double *Vd = sn_calloc((size_t)F * SN_SVD_TILE * sizeof(double), "nndsvd tile", e);
  double *nrm = sn_calloc((size_t)(2 * R + 1) * sizeof(double), "nndsvd norms", e);
  float *fbuf = NULL;
  int rc = (U && S && Y && Vd && nrm) ? SN_OK : SN_ERR_NOMEM;
  if (rc == SN_OK) fbuf = sn_frames_buffer(V, SN_SVD_TILE, &rc, e);
  rc = sn_agree(run->comm, rc, e);
  if (rc) goto cleanup;
  rc = sn_svd_top(run, o, V, U, S);
  if (rc) goto cleanup;
  /* right vectors of the local columns: y_r = V^T u_r / s_r; and the V sum */
  double vsum = 0;
  for (int64_t j0 = 0; rc == SN_OK && j0 < n; j0 += SN_SVD_TILE) {
    int64_t t = n - j0 < SN_SVD_TILE ? n - j0 : SN_SVD_TILE;
    rc = tile_double(V, j0, t, fbuf, Vd, e);
    if (rc) break;
    for (int64_t q = 0; q < F * t; q++) vsum += Vd[q];
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)R, (int)t, (int)F, 1.0, U, (int)F, Vd, (int)F, 0.0,
                Y + j0 * R, (int)R);
  }
  for (int64_t j = 0; rc == SN_OK && j < n; j++)
    for (int64_t r = 0; r < R; r++) Y[r + j * R] = S[r] > 0 ? Y[r + j * R] / S[r] : 0.0;
  /* norms of the positive / negative parts of each right vector, over all columns */
  for (int64_t j = 0; rc == SN_OK && j < n; j++)
    for (int64_t r = 0; r < R; r++) {
      double y = Y[r + j * R];
      if (y > 0) nrm[r] += y * y; else nrm[R + r] += y * y;
    }
  nrm[2 * R] = vsum;
  rc = sn_run_allreduce_sum(run, nrm, (size_t)(2 * R + 1), rc);
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
  sn_free(fbuf);
  sn_free(nrm);
  return rc;
}
