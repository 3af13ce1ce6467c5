/* Exact NNLS by block principal pivoting (Kim & Park 2011): Gram form with
 * columns grouped by passive set, and a dual form for wide, banded A. */
#include "sn_isa_clone.h" /* first: per-level names (sn_isa.h) */
#include "sn_nnls.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include SN_BLAS_HEADER

/* LAPACK (Fortran) with hidden string-length arguments. */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a,
                    const int *lda, double *b, const int *ldb, int *info, size_t);
extern void dpocon_(const char *uplo, const int *n, const double *a, const int *lda,
                    const double *anorm, double *rcond, double *work, int *iwork, int *info,
                    size_t);
extern void dpbtrf_(const char *uplo, const int *n, const int *kd, double *ab, const int *ldab,
                    int *info, size_t);
extern void dpbtrs_(const char *uplo, const int *n, const int *kd, const int *nrhs,
                    const double *ab, const int *ldab, double *b, const int *ldb, int *info,
                    size_t);
extern void dgels_(const char *trans, const int *m, const int *n, const int *nrhs, double *a,
                   const int *lda, double *b, const int *ldb, double *work, const int *lwork,
                   int *info, size_t);

/* Singular problems get this shift, relative to the largest diagonal entry. */
#define SN_NNLS_SHIFT 1e-10
/* A Gram matrix whose reciprocal condition is below this counts as singular. */
#define SN_NNLS_RCOND 1e-10
/* The dual path's shift (relative to the largest row norm^2 of A): large enough
 * that z = residual / shift stays accurate, removed by proximal passes. */
#define SN_NNLS_DUAL_SHIFT 1e-7
#define SN_NNLS_DUAL_PASSES 8

void sn_nnls_opts_default(sn_nnls_opts *o) {
  memset(o, 0, sizeof *o);
  o->tol = 1e-10;
}

void sn_nnls_stats_init(sn_nnls_stats *s) { memset(s, 0, sizeof *s); }

void sn_nnls_stats_merge(sn_nnls_stats *a, const sn_nnls_stats *b) {
  a->cols += b->cols;
  a->iters += b->iters;
  if (b->max_iters > a->max_iters) a->max_iters = b->max_iters;
  a->unconverged += b->unconverged;
  a->factorizations += b->factorizations;
  a->fallbacks += b->fallbacks;
  if (b->kkt_abs > a->kkt_abs) a->kkt_abs = b->kkt_abs;
  if (b->kkt_rel > a->kkt_rel) a->kkt_rel = b->kkt_rel;
  if (b->internal_ridge > a->internal_ridge) a->internal_ridge = b->internal_ridge;
  a->obj += b->obj;
  a->bnorm2 += b->bnorm2;
}

static int max_iter_of(const sn_nnls_opts *o, int n) {
  return (o && o->max_iter > 0) ? o->max_iter : 200 + 4 * n;
}

/* KKT violation of one coordinate: gradient g at x >= 0. */
/* max(a, b) ignoring a NaN b, as fmax does for an accumulator a; inlined
 * (fmax is a libm call here: 5% of a mel inversion's time). */
static inline double dmax(double a, double b) { return b > a ? b : a; }

static inline double kkt_viol(double x, double g) {
  if (x > 0) return fabs(g);
  return g < 0 ? -g : 0.0;
}

/* The exchange rule of Kim & Park (full exchange while the infeasible count
 * drops or for 3 tries, else the backup single exchange of the largest index).
 * Returns 1 if the whole set V is to be flipped, 0 for the single one. */
static inline int bpp_full_exchange(int ninf, int *alpha, int *beta) {
  if (ninf < *beta) {
    *beta = ninf;
    *alpha = 3;
    return 1;
  }
  if (*alpha >= 1) {
    (*alpha)--;
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Gram form                                                                 */

typedef struct {
  uint64_t h;
  int64_t c;
} sn_hkey;

static int cmp_hkey(const void *pa, const void *pb) {
  const sn_hkey *a = pa, *b = pb;
  if (a->h != b->h) return a->h < b->h ? -1 : 1;
  return (a->c > b->c) - (a->c < b->c);
}

static uint64_t mask_hash(const uint64_t *m, int W) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (int w = 0; w < W; w++) {
    uint64_t z = m[w] + h + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    h = z ^ (z >> 31);
  }
  return h;
}

static inline int mbit(const uint64_t *m, int i) { return (int)((m[i >> 6] >> (i & 63)) & 1u); }
static inline void mflip(uint64_t *m, int i) { m[i >> 6] ^= (uint64_t)1 << (i & 63); }

/* Systems up to this order are factored by chol_small, larger ones by dpotrf. */
#define SN_NNLS_SMALL 256
/* Groups of at most this many columns are solved column by column. */
#define SN_NNLS_FEW 4

/* Cholesky L L^T of a small SPD matrix (k <= SN_NNLS_SMALL), for the many
 * passive systems: left-looking, four columns per update pass, every vector
 * loop starting at a multiple of 8 rows and running to kp = k rounded up to 8,
 * so nothing is scalar but the pivots (several times faster than dpotrf, whose
 * blocking machinery dominates at these sizes). a: kp x kp, ld kp, 64-byte
 * aligned; on entry column c holds the matrix in rows (c & ~7) .. k-1 and zeros
 * in rows k .. kp-1; on exit L is in the lower triangle (the entries above it
 * in those rows are scratch). Returns 0, or j + 1 when the j-th pivot is not
 * positive (as dpotrf's info). */
static int chol_small(int k, int kp, double *restrict a) {
  for (int c = 0; c < k; c++) {
    double *restrict col = a + (size_t)kp * c;
    const int r0 = c & ~7;
    int j = 0;
    for (; j + 4 <= c; j += 4) {
      const double *restrict l0 = a + (size_t)kp * j, *restrict l1 = l0 + kp;
      const double *restrict l2 = l1 + kp, *restrict l3 = l2 + kp;
      const double f0 = l0[c], f1 = l1[c], f2 = l2[c], f3 = l3[c];
      for (int i = r0; i < kp; i++) col[i] = col[i] - l0[i] * f0 - l1[i] * f1 - l2[i] * f2 - l3[i] * f3;
    }
    for (; j < c; j++) {
      const double *restrict l0 = a + (size_t)kp * j;
      const double f0 = l0[c];
      for (int i = r0; i < kp; i++) col[i] -= l0[i] * f0;
    }
    double d = col[c];
    if (!(d > 0)) return c + 1;
    d = sqrt(d);
    const double r = 1.0 / d;
    for (int i = r0; i < kp; i++) col[i] *= r;
    col[c] = d;
  }
  return 0;
}

/* Dot product of length len in 8 independent lanes (vectorizes without
 * reassociation flags). */
static inline double dot8(int len, const double *restrict u, const double *restrict v) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= len; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += u[i + l] * v[i + l];
  double s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < len; i++) s += u[i] * v[i];
  return s;
}

/* Solve L L^T x = b in place (x holds b), L from chol_small (ld kp). */
static void chol_small_solve(int k, int kp, const double *restrict L, double *restrict x) {
  for (int j = 0; j < k; j++) {
    const double *restrict c = L + (size_t)kp * j;
    const double v = x[j] / c[j];
    x[j] = v;
    for (int i = j + 1; i < k; i++) x[i] -= c[i] * v;
  }
  for (int j = k - 1; j >= 0; j--) {
    const double *restrict c = L + (size_t)kp * j;
    x[j] = (x[j] - dot8(k - 1 - j, c + j + 1, x + j + 1)) / c[j];
  }
}

/* Factor Q_FF, the rows and columns Fi[0..k) of Q (n x n), into Qff: the
 * lower Cholesky factor, padded to *kp = k rounded up to 8 rows when k is
 * small (chol_small), else LAPACK's dpotrf (*kp = k). When it is not positive
 * definite in floating point, one retry with SN_NNLS_SHIFT * maxdiag on the
 * diagonal. Counts factorizations and fallbacks in st; SN_ERR_NUMERIC when the
 * retry fails too. */
static int factor_passive(const double *Q, int n, const int *Fi, int k, double maxdiag, double *Qff, int *kp_out,
                          sn_nnls_stats *st, sn_err *e) {
  const int small = k <= SN_NNLS_SMALL;
  const int kp = small ? (k + 7) & ~7 : k;
  double fb = 0;
  int info = 0;
  for (int tries = 0; tries < 2; tries++) {
    for (int b = 0; b < k; b++) {
      double *qc = Qff + (size_t)kp * b;
      const double *qs = Q + (size_t)n * Fi[b];
      for (int a = small ? b & ~7 : b; a < k; a++) qc[a] = qs[Fi[a]];
      for (int a = k; a < kp; a++) qc[a] = 0;
      qc[b] += fb;
    }
    if (small)
      info = chol_small(k, kp, Qff);
    else
      dpotrf_("L", &k, Qff, &k, &info, 1);
    st->factorizations++;
    if (info == 0) break;
    fb = SN_NNLS_SHIFT * (maxdiag > 0 ? maxdiag : 1.0);
    st->fallbacks++;
  }
  *kp_out = kp;
  return info ? SN_FAIL(e, SN_ERR_NUMERIC, "nnls: passive system of size %d cannot be factored", k) : SN_OK;
}

/* Workspace of the column-by-column pivoting (bpp_column). */
typedef struct {
  int n, maxit;
  const double *Q; /* AtA + ridge (+ shift), n x n */
  double maxdiag, tol;
  double *Qff;     /* (n + 8)^2 */
  double *yfull;   /* n: gradient */
  double *x;       /* n: passive solution */
  int *Fi, *Gi;    /* n each */
} sn_bppcol;

/* Local. Block principal pivoting for one column q = A^T b (n), starting from
 * the passive set inF (n bytes, 0/1; returns the final set). Writes x (n,
 * clipped at 0) to xo, adds the iterations to *it and an estimate of the
 * floating-point work (k^3/6 + n k per step) to *work; *unconv = 1 if it
 * stopped at maxit. SN_ERR_NUMERIC if a shifted passive system cannot be
 * factored. */
static int bpp_column(sn_bppcol *w, const double *q, double cs, unsigned char *inF, double *xo,
                      int *it, double *work, int *unconv, sn_nnls_stats *local, sn_err *e) {
  const int n = w->n;
  const double *Q = w->Q;
  double *x = w->x, *yfull = w->yfull, *Qff = w->Qff;
  int *Fi = w->Fi, *Gi = w->Gi;
  int alpha = 3, beta = n + 1, iters = 0;
  for (;;) {
    int k = 0, ng = 0;
    for (int i = 0; i < n; i++) {
      if (inF[i])
        Fi[k++] = i;
      else
        Gi[ng++] = i;
    }
    if (k > 0) {
      int kp, info = 0;
      int rc = factor_passive(Q, n, Fi, k, w->maxdiag, Qff, &kp, local, e);
      if (rc) return rc;
      for (int a = 0; a < k; a++) x[a] = q[Fi[a]];
      if (k <= SN_NNLS_SMALL) {
        chol_small_solve(k, kp, Qff, x);
      } else {
        int one = 1;
        dpotrs_("L", &k, &one, Qff, &k, x, &k, &info, 1);
      }
    }
    /* Gradient Q x - q as whole-column updates (all n rows). */
    for (int i = 0; i < n; i++) yfull[i] = -q[i];
    int a = 0;
    for (; a + 4 <= k; a += 4) {
      const double *restrict q0 = Q + (size_t)n * Fi[a], *restrict q1 = Q + (size_t)n * Fi[a + 1];
      const double *restrict q2 = Q + (size_t)n * Fi[a + 2], *restrict q3 = Q + (size_t)n * Fi[a + 3];
      const double x0 = x[a], x1 = x[a + 1], x2 = x[a + 2], x3 = x[a + 3];
      for (int i = 0; i < n; i++) yfull[i] = yfull[i] + q0[i] * x0 + q1[i] * x1 + q2[i] * x2 + q3[i] * x3;
    }
    for (; a < k; a++) {
      const double *restrict qa = Q + (size_t)n * Fi[a];
      const double xa = x[a];
      for (int i = 0; i < n; i++) yfull[i] += qa[i] * xa;
    }
    *work += (double)k * k * k / 6 + (double)n * k;
    /* Sign tests and the exchange. */
    double xmax = 0;
    for (a = 0; a < k; a++) xmax = dmax(xmax, fabs(x[a]));
    const double tx = w->tol * xmax, ty = w->tol * cs;
    int ninf = 0, last = -1;
    for (a = 0; a < k; a++)
      if (x[a] < -tx) {
        ninf++;
        if (Fi[a] > last) last = Fi[a];
      }
    for (a = 0; a < ng; a++)
      if (yfull[Gi[a]] < -ty) {
        ninf++;
        if (Gi[a] > last) last = Gi[a];
      }
    iters++;
    if (ninf == 0 || iters >= w->maxit) {
      for (int i = 0; i < n; i++) xo[i] = 0;
      for (a = 0; a < k; a++) xo[Fi[a]] = x[a] > 0 ? x[a] : 0;
      for (int i = 0; i < n; i++) inF[i] = xo[i] > 0;
      *it += iters;
      *unconv = ninf > 0;
      return SN_OK;
    }
    if (bpp_full_exchange(ninf, &alpha, &beta)) {
      for (a = 0; a < k; a++)
        if (x[a] < -tx) inF[Fi[a]] = 0;
      for (a = 0; a < ng; a++)
        if (yfull[Gi[a]] < -ty) inF[Gi[a]] = 1;
    } else {
      inF[last] ^= 1;
    }
  }
}

/* Q = AtA + ridge I and its Cholesky factor L (n x n). When Q is not
 * safely positive definite (dpocon's estimate below SN_NNLS_RCOND), Q is
 * shifted by *shift = SN_NNLS_SHIFT * max diag and factored again. work
 * (3n doubles) and iwork (n ints) are scratch. */
static int gram_factor(int n, const double *AtA, double ridge, double *Q, double *L, double *work, int *iwork,
                       double *maxdiag_out, double *shift_out, sn_nnls_stats *local, sn_err *e) {
  size_t nn = (size_t)n * n;
  double maxdiag = 0;
  memcpy(Q, AtA, nn * sizeof(double));
  for (int i = 0; i < n; i++) {
    Q[i + (size_t)i * n] += ridge;
    if (Q[i + (size_t)i * n] > maxdiag) maxdiag = Q[i + (size_t)i * n];
  }
  double shift = 0;
  int info = 0;
  memcpy(L, Q, nn * sizeof(double));
  dpotrf_("L", &n, L, &n, &info, 1);
  local->factorizations++;
  if (info == 0) {
    double anorm = 0, rcond = 0;
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int i = 0; i < n; i++) s += fabs(Q[i + (size_t)j * n]);
      if (s > anorm) anorm = s;
    }
    dpocon_("L", &n, L, &n, &anorm, &rcond, work, iwork, &info, 1);
    if (info != 0 || !(rcond >= SN_NNLS_RCOND)) info = 1;
  }
  if (info != 0) {
    shift = maxdiag > 0 ? SN_NNLS_SHIFT * maxdiag : 1.0;
    for (int i = 0; i < n; i++) Q[i + (size_t)i * n] += shift;
    memcpy(L, Q, nn * sizeof(double));
    dpotrf_("L", &n, L, &n, &info, 1);
    local->factorizations++;
    if (info != 0) return SN_FAIL(e, SN_ERR_NUMERIC, "nnls: shifted Gram matrix is not positive definite");
  }
  *maxdiag_out = maxdiag;
  *shift_out = shift;
  return SN_OK;
}

/* Certificate: KKT of min ||AX-B||^2 + ridge ||X||^2 (without the internal
 * shift) at the returned X, from a fresh gradient, 256 columns at a time
 * (Y: n x 256 scratch; Q is overwritten with AtA + ridge I). */
static void kkt_certificate(int n, const double *AtA, double ridge, int64_t ncols, const double *AtB, int64_t ldb,
                            const double *X, int64_t ldx, const double *cscale, double *Q, double *Y,
                            sn_nnls_stats *local) {
  memcpy(Q, AtA, (size_t)n * n * sizeof(double));
  for (int i = 0; i < n; i++) Q[i + (size_t)i * n] += ridge;
  int64_t cb = 256;
  for (int64_t j0 = 0; j0 < ncols; j0 += cb) {
    int nb = (int)((ncols - j0) < cb ? (ncols - j0) : cb);
    for (int c = 0; c < nb; c++)
      for (int i = 0; i < n; i++) Y[i + (size_t)n * c] = -AtB[i + (j0 + c) * ldb];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, nb, n, 1.0, Q, n, X + j0 * ldx, (int)ldx, 1.0, Y, n);
    for (int c = 0; c < nb; c++) {
      double v = 0;
      for (int i = 0; i < n; i++) v = dmax(v, kkt_viol(X[i + (j0 + c) * ldx], Y[i + (size_t)n * c]));
      local->kkt_abs = dmax(local->kkt_abs, v);
      local->kkt_rel = dmax(local->kkt_rel, v / dmax(cscale[j0 + c], DBL_MIN));
    }
  }
}

/* sn_nnls_solve_gram stays one function of about 300 lines after its
 * prologue (gram_factor) and certificate (kkt_certificate) moved out: what
 * is left is the grouped block-principal-pivoting loop, the hot path. Its
 * passive solve, gradient and exchange steps run once per group of columns
 * with equal passive sets and share a dozen work arrays (Q, Qff, Qgf, R, Y,
 * the masks, alpha/beta/iters per column, Fi/Gi) and the group's bounds
 * [s, t) in the sorted keys; as functions they would each take most of them,
 * and the order of the steps (which the benchmarks were tuned on) would be
 * spread over four places. Read it as: factor, first passive sets (cold:
 * column by column with bpp_column; warm: from X), then while columns are
 * active: group equal passive sets, solve, gradient, sign test and
 * exchange; then certify. */
int sn_nnls_solve_gram(int n, const double *AtA, int64_t ncols, const double *AtB,
                       int64_t ldb, double *X, int64_t ldx, const sn_nnls_opts *opts,
                       sn_nnls_stats *st, sn_err *e) {
  sn_nnls_opts defo;
  if (!opts) {
    sn_nnls_opts_default(&defo);
    opts = &defo;
  }
  sn_nnls_stats local;
  sn_nnls_stats_init(&local);
  if (n < 1 || ncols < 0 || ldb < n || ldx < n || opts->ridge < 0 || !isfinite(opts->ridge))
    return SN_FAIL(e, SN_ERR_INPUT, "nnls: bad sizes (n=%d, ncols=%lld) or ridge", n,
                   (long long)ncols);
  if (ncols == 0) return SN_OK;
  const double tol = opts->tol > 0 ? opts->tol : 1e-10;
  const int maxit = max_iter_of(opts, n);
  const int W = (n + 63) / 64;
  int rc = SN_OK;
  size_t nn = (size_t)n * n;
  double *Q = NULL, *L = NULL, *Qff = NULL, *Qgf = NULL, *R = NULL, *Y = NULL, *cscale = NULL;
  double *yfull = NULL;
  unsigned char *sets = NULL;
  uint64_t *mask = NULL;
  sn_hkey *keys = NULL;
  int *alpha = NULL, *beta = NULL, *iters = NULL, *Fi = NULL, *Gi = NULL;
  unsigned char *done = NULL;

  for (size_t i = 0; i < nn; i++)
    if (!isfinite(AtA[i])) return SN_FAIL(e, SN_ERR_INPUT, "nnls: A^T A has a non-finite entry");
  for (int64_t j = 0; j < ncols; j++)
    for (int i = 0; i < n; i++)
      if (!isfinite(AtB[i + j * ldb]))
        return SN_FAIL(e, SN_ERR_INPUT, "nnls: A^T B has a non-finite entry (column %lld)",
                       (long long)j);

  Q = sn_calloc(nn * sizeof(double), "nnls: gram", e);
  L = sn_calloc(nn * sizeof(double), "nnls: factor", e);
  Qff = sn_calloc((size_t)(n + 8) * (n + 8) * sizeof(double), "nnls: passive block", e);
  Qgf = sn_calloc(nn * sizeof(double), "nnls: active block", e);
  R = sn_calloc((size_t)n * ncols * sizeof(double), "nnls: passive solutions", e);
  /* gradients: all columns' for the grouped (warm) path, 256 for the certificate */
  Y = sn_calloc((size_t)n * (opts->warm || ncols < 256 ? ncols : 256) * sizeof(double),
                "nnls: gradients", e);
  cscale = sn_calloc(ncols * sizeof(double), "nnls: scales", e);
  mask = sn_calloc((size_t)W * ncols * sizeof(uint64_t), "nnls: passive sets", e);
  keys = sn_calloc(ncols * sizeof(sn_hkey), "nnls: keys", e);
  alpha = sn_calloc(ncols * sizeof(int), "nnls: state", e);
  beta = sn_calloc(ncols * sizeof(int), "nnls: state", e);
  iters = sn_calloc(ncols * sizeof(int), "nnls: state", e);
  done = sn_calloc(ncols, "nnls: state", e);
  Fi = sn_calloc(n * sizeof(int), "nnls: index", e);
  Gi = sn_calloc(n * sizeof(int), "nnls: index", e);
  yfull = sn_calloc(n * sizeof(double), "nnls: gradient", e);
  sets = sn_calloc(2 * (size_t)n, "nnls: sets", e);
  if (!sets || !yfull || !Q || !L || !Qff || !Qgf || !R || !Y || !cscale || !mask || !keys || !alpha || !beta ||
      !iters || !done || !Fi || !Gi) {
    rc = SN_ERR_NOMEM;
    goto cleanup;
  }

  /* Q = AtA + ridge I; decide whether an internal shift is needed. */
  double maxdiag = 0, shift = 0;
  rc = gram_factor(n, AtA, opts->ridge, Q, L, Qff, Fi, &maxdiag, &shift, &local, e);
  if (rc) goto cleanup;
  local.internal_ridge = shift;

  /* Column scales and first passive sets. */
  for (int64_t j = 0; j < ncols; j++) {
    double s = 0;
    for (int i = 0; i < n; i++) s = dmax(s, fabs(AtB[i + j * ldb]));
    cscale[j] = s;
    beta[j] = n + 1;
    alpha[j] = 3;
  }
  if (opts->warm) {
    for (int64_t j = 0; j < ncols; j++)
      for (int i = 0; i < n; i++)
        if (X[i + j * ldx] > 0) mflip(mask + (size_t)W * j, i);
  } else {
    /* Sign pattern of the unconstrained solution Q^{-1} AtB. */
    for (int64_t j = 0; j < ncols; j++) memcpy(R + (size_t)n * j, AtB + j * ldb, n * sizeof(double));
    int info = 0, nrhs;
    for (int64_t j0 = 0; j0 < ncols; j0 += 1 << 20) {
      nrhs = (int)((ncols - j0) < (1 << 20) ? (ncols - j0) : (1 << 20));
      dpotrs_("L", &n, &nrhs, L, &n, R + (size_t)n * j0, &n, &info, 1);
    }
    for (int64_t j = 0; j < ncols; j++)
      for (int i = 0; i < n; i++)
        if (R[i + (size_t)n * j] > 0) mflip(mask + (size_t)W * j, i);
  }

  int64_t nactive = ncols;
  if (!opts->warm) {
    /* Cold start, column by column in order. Each column starts from the
     * sign pattern of its unconstrained solution, or from that intersected
     * with the previous column's final passive set, whichever has been
     * cheaper lately (neighbouring spectrogram frames share much of their
     * support: about 35% less work; for unrelated columns the plain start
     * wins and is kept). Every 16th column tries the other start. The chain
     * only when the solution is unique (no internal shift): otherwise which
     * minimizer is returned would depend on the column's neighbour and so on
     * how the columns are split into blocks and ranks. */
    const int chain = shift == 0;
    sn_bppcol w = {n, maxit, Q, maxdiag, tol, Qff, yfull, Qgf, Fi, Gi};
    unsigned char *inF = sets, *prevF = sets + n;
    double ema[2] = {-1, -1};
    for (int64_t j = 0; j < ncols; j++) {
      const double *u = R + (size_t)n * j;
      int arm = 0;
      if (j > 0 && chain) {
        arm = ema[1] < 0 || ema[1] <= ema[0];
        if (j % 16 == 0) arm = !arm;
      }
      for (int i = 0; i < n; i++) inF[i] = u[i] > 0 && (arm == 0 || prevF[i]);
      int unconv = 0;
      double wk = 0;
      rc = bpp_column(&w, AtB + j * ldb, cscale[j], inF, X + j * ldx, &iters[j], &wk, &unconv,
                      &local, e);
      if (rc) goto cleanup;
      local.unconverged += unconv;
      ema[arm] = ema[arm] < 0 ? wk : 0.875 * ema[arm] + 0.125 * wk;
      memcpy(prevF, inF, n);
    }
    nactive = 0;
  }
  while (nactive > 0) {
    int64_t na = 0;
    for (int64_t j = 0; j < ncols; j++)
      if (!done[j]) {
        keys[na].h = mask_hash(mask + (size_t)W * j, W);
        keys[na].c = j;
        na++;
      }
    qsort(keys, na, sizeof *keys, cmp_hkey);
    int64_t s = 0;
    while (s < na) {
      const uint64_t *m0 = mask + (size_t)W * keys[s].c;
      int64_t t = s + 1;
      while (t < na && keys[t].h == keys[s].h &&
             memcmp(mask + (size_t)W * keys[t].c, m0, W * sizeof(uint64_t)) == 0)
        t++;
      int g = (int)(t - s);
      int k = 0, ng = 0;
      for (int i = 0; i < n; i++) {
        if (mbit(m0, i))
          Fi[k++] = i;
        else
          Gi[ng++] = i;
      }
      /* Passive solve: Q_FF X_F = AtB_F for the group's columns. */
      if (k > 0) {
        const int small = k <= SN_NNLS_SMALL;
        int kp, info = 0;
        rc = factor_passive(Q, n, Fi, k, maxdiag, Qff, &kp, &local, e);
        if (rc) goto cleanup;
        for (int c = 0; c < g; c++) {
          const double *cb = AtB + keys[s + c].c * ldb;
          double *r = R + (size_t)k * c;
          for (int a = 0; a < k; a++) r[a] = cb[Fi[a]];
        }
        if (small && g <= SN_NNLS_FEW)
          for (int c = 0; c < g; c++) chol_small_solve(k, kp, Qff, R + (size_t)k * c);
        else
          dpotrs_("L", &k, &g, Qff, &kp, R, &k, &info, 1);
      }
      /* Gradient on the active set: Y_G = Q_GF X_F - AtB_G; for a few
       * columns as whole-column updates of Q (no gather of Q_GF). */
      if (ng > 0 && g <= SN_NNLS_FEW) {
        for (int c = 0; c < g; c++) {
          const double *cb = AtB + keys[s + c].c * ldb;
          const double *x = R + (size_t)k * c;
          for (int i = 0; i < n; i++) yfull[i] = -cb[i];
          int a = 0;
          for (; a + 4 <= k; a += 4) {
            const double *restrict q0 = Q + (size_t)n * Fi[a], *restrict q1 = Q + (size_t)n * Fi[a + 1];
            const double *restrict q2 = Q + (size_t)n * Fi[a + 2], *restrict q3 = Q + (size_t)n * Fi[a + 3];
            const double x0 = x[a], x1 = x[a + 1], x2 = x[a + 2], x3 = x[a + 3];
            for (int i = 0; i < n; i++) yfull[i] = yfull[i] + q0[i] * x0 + q1[i] * x1 + q2[i] * x2 + q3[i] * x3;
          }
          for (; a < k; a++) {
            const double *restrict qa = Q + (size_t)n * Fi[a];
            const double xa = x[a];
            for (int i = 0; i < n; i++) yfull[i] += qa[i] * xa;
          }
          double *y = Y + (size_t)ng * c;
          for (int a = 0; a < ng; a++) y[a] = yfull[Gi[a]];
        }
      } else if (ng > 0) {
        for (int c = 0; c < g; c++) {
          const double *cb = AtB + keys[s + c].c * ldb;
          double *y = Y + (size_t)ng * c;
          for (int a = 0; a < ng; a++) y[a] = -cb[Gi[a]];
        }
        if (k > 0) {
          for (int b = 0; b < k; b++)
            for (int a = 0; a < ng; a++) Qgf[a + (size_t)ng * b] = Q[Gi[a] + (size_t)n * Fi[b]];
          if (g == 1)
            cblas_dgemv(CblasColMajor, CblasNoTrans, ng, k, 1.0, Qgf, ng, R, 1, 1.0, Y, 1);
          else
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, ng, g, k, 1.0, Qgf, ng, R, k,
                        1.0, Y, ng);
        }
      }
      /* Sign tests and exchanges, column by column. */
      for (int c = 0; c < g; c++) {
        int64_t j = keys[s + c].c;
        uint64_t *mj = mask + (size_t)W * j;
        const double *x = R + (size_t)k * c;
        const double *y = Y + (size_t)ng * c;
        double xmax = 0;
        for (int a = 0; a < k; a++) xmax = dmax(xmax, fabs(x[a]));
        double tx = tol * xmax, ty = tol * cscale[j];
        int ninf = 0, last = -1;
        for (int a = 0; a < k; a++)
          if (x[a] < -tx) {
            ninf++;
            if (Fi[a] > last) last = Fi[a];
          }
        for (int a = 0; a < ng; a++)
          if (y[a] < -ty) {
            ninf++;
            if (Gi[a] > last) last = Gi[a];
          }
        iters[j]++;
        if (ninf == 0 || iters[j] >= maxit) {
          double *xo = X + j * ldx;
          for (int i = 0; i < n; i++) xo[i] = 0;
          for (int a = 0; a < k; a++) xo[Fi[a]] = x[a] > 0 ? x[a] : 0;
          done[j] = 1;
          nactive--;
          if (ninf > 0) local.unconverged++;
          continue;
        }
        if (bpp_full_exchange(ninf, &alpha[j], &beta[j])) {
          for (int a = 0; a < k; a++)
            if (x[a] < -tx) mflip(mj, Fi[a]);
          for (int a = 0; a < ng; a++)
            if (y[a] < -ty) mflip(mj, Gi[a]);
        } else {
          mflip(mj, last);
        }
      }
      s = t;
    }
  }

  kkt_certificate(n, AtA, opts->ridge, ncols, AtB, ldb, X, ldx, cscale, Q, Y, &local);
  local.cols = ncols;
  for (int64_t j = 0; j < ncols; j++) {
    local.iters += iters[j];
    if (iters[j] > local.max_iters) local.max_iters = iters[j];
  }
  if (st) sn_nnls_stats_merge(st, &local);

cleanup:
  sn_free(Q);
  sn_free(L);
  sn_free(Qff);
  sn_free(Qgf);
  sn_free(R);
  sn_free(Y);
  sn_free(cscale);
  sn_free(mask);
  sn_free(keys);
  sn_free(alpha);
  sn_free(beta);
  sn_free(iters);
  sn_free(done);
  sn_free(Fi);
  sn_free(Gi);
  sn_free(yfull);
  sn_free(sets);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Dual form for wide A: x_F = A_F^T z, (A_F A_F^T + d I) z = b.             */

typedef struct {
  int m, n, kd, ldab;
  const double *A; /* m x n, ld m */
  int *lo, *hi;    /* nonzero row range of each column (lo > hi: empty) */
  double delta;    /* total shift: ridge + internal */
  double ridge;    /* the user's ridge (for the certificate) */
  double *AB, *z, *w, *b, *x0, *x, *r;
  double *ABs, *zs; /* the band system and right side before factoring, kept
                       between pivots and updated by the columns that moved */
  int *flip;        /* the columns that moved in the last exchange */
  unsigned char *inF;
} sn_dual;

/* Add (sgn = 1) or remove (sgn = -1) column j's part a_j a_j^T of the band
 * system and its part -a_j c_j of the right side. */
static inline void dual_column_add(sn_dual *d, int j, double sgn) {
  const double *a = d->A + (size_t)d->m * j;
  const double c = sgn * d->x0[j];
  for (int r0 = d->lo[j]; r0 <= d->hi[j]; r0++) {
    const double ar = sgn * a[r0];
    double *col = d->ABs + (size_t)d->ldab * r0 - r0;
    for (int s = r0; s <= d->hi[j]; s++) col[s] += ar * a[s];
    d->zs[r0] -= a[r0] * c;
  }
}

/* Pivots between two full assemblies of the band system (bounds the rounding
 * that adding and removing columns accumulates). */
#define SN_DUAL_REASSEMBLE 32

/* KKT certificate of x for min ||Ax-b||^2 + ridge ||x||^2 (gradient units,
 * without the factor 2) from a fresh residual; adds ||Ax-b||^2 to *obj. */
static double dual_kkt(sn_dual *d, const double *x, double *obj) {
  const int m = d->m, n = d->n;
  const double *A = d->A;
  for (int i = 0; i < m; i++) d->r[i] = -d->b[i];
  for (int j = 0; j < n; j++) {
    double xj = x[j];
    if (xj == 0) continue;
    for (int i = d->lo[j]; i <= d->hi[j]; i++) d->r[i] += A[i + (size_t)m * j] * xj;
  }
  double o = 0, v = 0;
  for (int i = 0; i < m; i++) o += d->r[i] * d->r[i];
  for (int j = 0; j < n; j++) {
    double g = d->ridge * x[j];
    for (int i = d->lo[j]; i <= d->hi[j]; i++) g += A[i + (size_t)m * j] * d->r[i];
    v = dmax(v, kkt_viol(x[j], g));
  }
  if (obj) *obj = o;
  return v;
}

/* One column: b (m) -> x (n). inF holds the start and returns the final set.
 * Proximal refinement: each pass solves min ||Ax-b||^2 + ridge||x||^2 +
 * shift ||x - xp||^2 (xp = the previous pass, 0 at first; delta = ridge +
 * shift) by pivoting, with c = (shift/delta) xp (d->x0 holds c),
 * x_F = c_F + A_F^T z, (A_F A_F^T + delta I) z = b - A_F c_F; passes stop
 * when the KKT certificate of the real problem is below 10 tol. */
static int dual_column(sn_dual *d, const sn_nnls_opts *opts, sn_nnls_stats *st, sn_err *e) {
  const int m = d->m, n = d->n, kd = d->kd, ldab = d->ldab;
  const double *A = d->A;
  const double tol = opts->tol > 0 ? opts->tol : 1e-10;
  const int maxit = max_iter_of(opts, n);
  int it = 0, ninf = 0;
  double cscale = 0, bn = 0;
  for (int i = 0; i < m; i++) bn += d->b[i] * d->b[i];
  for (int j = 0; j < n; j++) {
    double s = 0;
    for (int i = d->lo[j]; i <= d->hi[j]; i++) s += A[i + (size_t)m * j] * d->b[i];
    cscale = dmax(cscale, fabs(s));
    d->x0[j] = 0;
  }
  double kkt = 0, obj = 0;
  for (int pass = 0; pass < SN_NNLS_DUAL_PASSES; pass++) {
    int alpha = 3, beta = n + 1, pit = 0, nflip = -1, since = 0;
    for (;;) {
      if (nflip < 0 || since >= SN_DUAL_REASSEMBLE) {
        /* the whole system: at the start of a pass, and now and then */
        memset(d->ABs, 0, (size_t)ldab * m * sizeof(double));
        for (int i = 0; i < m; i++) d->ABs[(size_t)ldab * i] = d->delta;
        memcpy(d->zs, d->b, m * sizeof(double));
        for (int j = 0; j < n; j++)
          if (d->inF[j]) dual_column_add(d, j, 1.0);
        since = 0;
      } else {
        /* only the columns the last exchange moved (inF holds their new side) */
        for (int q = 0; q < nflip; q++) dual_column_add(d, d->flip[q], d->inF[d->flip[q]] ? 1.0 : -1.0);
        since++;
      }
      memcpy(d->AB, d->ABs, (size_t)ldab * m * sizeof(double));
      memcpy(d->z, d->zs, m * sizeof(double));
      int info = 0, one = 1;
      dpbtrf_("L", &m, &kd, d->AB, &ldab, &info, 1);
      st->factorizations++;
      if (info != 0) {
        st->fallbacks++;
        return SN_FAIL(e, SN_ERR_NUMERIC, "nnls: dual system of size %d cannot be factored", m);
      }
      dpbtrs_("L", &m, &kd, &one, d->AB, &ldab, d->z, &m, &info, 1);
      double xmax = 0;
      for (int j = 0; j < n; j++) {
        double s = d->x0[j];
        for (int i = d->lo[j]; i <= d->hi[j]; i++) s += A[i + (size_t)m * j] * d->z[i];
        d->w[j] = s;
        if (d->inF[j]) xmax = dmax(xmax, fabs(s));
      }
      it++;
      pit++;
      double tx = tol * xmax;
      int last = -1;
      ninf = 0;
      for (int j = 0; j < n; j++) {
        int bad = d->inF[j] ? (d->w[j] < -tx) : (d->w[j] > tx);
        if (bad) {
          ninf++;
          last = j;
        }
      }
      if (ninf == 0 || pit >= maxit) break;
      nflip = 0;
      if (bpp_full_exchange(ninf, &alpha, &beta)) {
        for (int j = 0; j < n; j++) {
          int bad = d->inF[j] ? (d->w[j] < -tx) : (d->w[j] > tx);
          if (bad) {
            d->inF[j] ^= 1;
            d->flip[nflip++] = j;
          }
        }
      } else {
        d->inF[last] ^= 1;
        d->flip[nflip++] = last;
      }
    }
    for (int j = 0; j < n; j++) d->x[j] = (d->inF[j] && d->w[j] > 0) ? d->w[j] : 0;
    kkt = dual_kkt(d, d->x, &obj);
    if (kkt <= 10 * tol * dmax(cscale, DBL_MIN) || d->delta == d->ridge) break;
    /* ridge||x||^2 + shift||x - x||^2 = delta||x - c||^2 + const with
     * c = (shift/delta) x: the next pass's centre (c = x when ridge = 0) */
    const double f = (d->delta - d->ridge) / d->delta;
    for (int j = 0; j < n; j++) d->x0[j] = f * d->x[j];
  }
  st->obj += obj;
  st->bnorm2 += bn;
  st->kkt_abs = dmax(st->kkt_abs, kkt);
  st->kkt_rel = dmax(st->kkt_rel, kkt / dmax(cscale, DBL_MIN));
  st->cols++;
  st->iters += it;
  if (it > st->max_iters) st->max_iters = it;
  if (ninf > 0) st->unconverged++;
  return SN_OK;
}

int sn_nnls_check_basis(int m, int n, const float *A, int64_t lda, const char *what, sn_err *e) {
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) {
      float v = A[i + (size_t)lda * j];
      if (!isfinite(v))
        return SN_FAIL(e, SN_ERR_INPUT, "%s: basis entry (%d, %d) is not finite", what, i, j);
      if (v < 0)
        return SN_FAIL(e, SN_ERR_INPUT, "%s: basis entry (%d, %d) = %g is negative", what, i, j,
                       (double)v);
    }
  return SN_OK;
}

int sn_nnls_solve(int m, int n, const float *A, int64_t lda, int64_t ncols, const float *B,
                  int64_t ldb, float *X, int64_t ldx, const sn_nnls_opts *opts,
                  sn_nnls_stats *st, const char *what, sn_err *e) {
  sn_nnls_opts defo;
  if (!opts) {
    sn_nnls_opts_default(&defo);
    opts = &defo;
  }
  if (!what) what = "nnls";
  if (m < 1 || n < 1 || ncols < 0 || lda < m || ldb < m || ldx < n)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: bad sizes (m=%d, n=%d, ncols=%lld)", what, m, n,
                   (long long)ncols);
  if (opts->ridge < 0 || !isfinite(opts->ridge))
    return SN_FAIL(e, SN_ERR_INPUT, "%s: the l2 penalty must be finite and >= 0", what);
  int rc = sn_nnls_check_basis(m, n, A, lda, what, e);
  if (rc) return rc;
  for (int64_t j = 0; j < ncols; j++) {
    /* b - b is 0 for finite b and NaN otherwise; 16 lanes so it vectorizes. */
    const float *b = B + j * ldb;
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= m; i += 16)
      for (int l = 0; l < 16; l++) acc[l] += b[i + l] - b[i + l];
    for (; i < m; i++) acc[0] += b[i] - b[i];
    float t = 0;
    for (int l = 0; l < 16; l++) t += acc[l];
    if (t == 0) continue;
    for (i = 0; i < m; i++)
      if (!isfinite(b[i]))
        return SN_FAIL(e, SN_ERR_INPUT, "%s: data entry (%d, %lld) is not finite", what, i,
                       (long long)j);
  }
  sn_nnls_stats local;
  sn_nnls_stats_init(&local);
  int wide = opts->method == 2 || (opts->method == 0 && m < n);
  double *Ad = sn_calloc((size_t)m * n * sizeof(double), "nnls: basis", e);
  if (!Ad) return SN_ERR_NOMEM;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) Ad[i + (size_t)m * j] = A[i + (size_t)lda * j];

  if (wide) {
    sn_dual d = {0};
    d.m = m;
    d.n = n;
    d.A = Ad;
    d.ridge = opts->ridge;
    d.lo = sn_calloc(n * sizeof(int), "nnls: structure", e);
    d.hi = sn_calloc(n * sizeof(int), "nnls: structure", e);
    if (!d.lo || !d.hi) {
      rc = SN_ERR_NOMEM;
      goto wide_done;
    }
    int kd = 0;
    double maxdiag = 0;
    for (int j = 0; j < n; j++) {
      int lo = m, hi = -1;
      for (int i = 0; i < m; i++)
        if (Ad[i + (size_t)m * j] != 0) {
          if (lo == m) lo = i;
          hi = i;
        }
      d.lo[j] = lo;
      d.hi[j] = hi;
      if (hi - lo > kd) kd = hi - lo;
    }
    for (int i = 0; i < m; i++) {
      double s = 0;
      for (int j = 0; j < n; j++) s += Ad[i + (size_t)m * j] * Ad[i + (size_t)m * j];
      maxdiag = dmax(maxdiag, s);
    }
    d.kd = kd;
    d.ldab = kd + 1;
    double internal = SN_NNLS_DUAL_SHIFT * (maxdiag > 0 ? maxdiag : 1.0);
    d.delta = opts->ridge >= internal ? opts->ridge : opts->ridge + internal;
    local.internal_ridge = d.delta - opts->ridge;
    d.AB = sn_calloc((size_t)d.ldab * m * sizeof(double), "nnls: band", e);
    d.z = sn_calloc(m * sizeof(double), "nnls: z", e);
    d.b = sn_calloc(m * sizeof(double), "nnls: b", e);
    d.r = sn_calloc(m * sizeof(double), "nnls: r", e);
    d.w = sn_calloc(n * sizeof(double), "nnls: w", e);
    d.x0 = sn_calloc(n * sizeof(double), "nnls: x0", e);
    d.x = sn_calloc(n * sizeof(double), "nnls: x", e);
    d.inF = sn_calloc(n, "nnls: set", e);
    d.ABs = sn_calloc((size_t)d.ldab * m * sizeof(double), "nnls: band", e);
    d.zs = sn_calloc(m * sizeof(double), "nnls: z", e);
    d.flip = sn_calloc(n * sizeof(int), "nnls: moves", e);
    if (!d.AB || !d.z || !d.b || !d.r || !d.w || !d.x0 || !d.x || !d.inF || !d.ABs || !d.zs || !d.flip) {
      rc = SN_ERR_NOMEM;
      goto wide_done;
    }
    memset(d.inF, 1, n); /* first column: everything passive (min-norm start) */
    for (int64_t j = 0; j < ncols; j++) {
      for (int i = 0; i < m; i++) d.b[i] = B[i + j * ldb];
      /* Next column starts from this one's passive set. */
      rc = dual_column(&d, opts, &local, e);
      if (rc) goto wide_done;
      for (int i = 0; i < n; i++) X[i + j * ldx] = (float)d.x[i];
    }
  wide_done:
    sn_free(d.lo);
    sn_free(d.hi);
    sn_free(d.AB);
    sn_free(d.z);
    sn_free(d.b);
    sn_free(d.r);
    sn_free(d.w);
    sn_free(d.x0);
    sn_free(d.x);
    sn_free(d.inF);
    sn_free(d.ABs);
    sn_free(d.zs);
    sn_free(d.flip);
    sn_free(Ad);
    if (rc == SN_OK && st) sn_nnls_stats_merge(st, &local);
    return rc;
  }

  /* Gram path: AtA once, AtB and the solve one tile of columns at a time. */
  int64_t tile = opts->tile > 0 ? opts->tile : 1024;
  if (tile > ncols) tile = ncols > 0 ? ncols : 1;
  double *AtA = sn_calloc((size_t)n * n * sizeof(double), "nnls: gram", e);
  double *Bd = sn_calloc((size_t)m * tile * sizeof(double), "nnls: data tile", e);
  double *C = sn_calloc((size_t)n * tile * sizeof(double), "nnls: A^T B tile", e);
  double *Xd = sn_calloc((size_t)n * tile * sizeof(double), "nnls: solution tile", e);
  double *Qx = sn_calloc((size_t)n * tile * sizeof(double), "nnls: A^T A X tile", e);
  if (!AtA || !Bd || !C || !Xd || !Qx) {
    rc = SN_ERR_NOMEM;
    goto gram_done;
  }
  cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, n, m, 1.0, Ad, m, 0.0, AtA, n);
  for (int j = 0; j < n; j++)
    for (int i = 0; i < j; i++) AtA[i + (size_t)n * j] = AtA[j + (size_t)n * i];
  sn_nnls_opts o2 = *opts;
  o2.warm = 0;
  for (int64_t j0 = 0; j0 < ncols; j0 += tile) {
    int nb = (int)((ncols - j0) < tile ? (ncols - j0) : tile);
    for (int c = 0; c < nb; c++)
      for (int i = 0; i < m; i++) Bd[i + (size_t)m * c] = B[i + (j0 + c) * ldb];
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, nb, m, 1.0, Ad, m, Bd, m, 0.0, C, n);
    rc = sn_nnls_solve_gram(n, AtA, nb, C, n, Xd, n, &o2, &local, e);
    if (rc) goto gram_done;
    for (int c = 0; c < nb; c++)
      for (int i = 0; i < n; i++) X[i + (j0 + c) * ldx] = (float)Xd[i + (size_t)n * c];
    /* Objective of the returned (float) X: ||b||^2 - 2 x^T A^T b + x^T A^T A x
     * per column, recomputed from the residual b - A x where that would lose
     * digits (residual below 1e-6 ||b||^2). */
    for (int c = 0; c < nb; c++)
      for (int i = 0; i < n; i++) Xd[i + (size_t)n * c] = X[i + (j0 + c) * ldx];
    cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, n, nb, 1.0, AtA, n, Xd, n, 0.0, Qx, n);
    for (int c = 0; c < nb; c++) {
      const double *x = Xd + (size_t)n * c, *q = Qx + (size_t)n * c, *cb = C + (size_t)n * c;
      double *bcol = Bd + (size_t)m * c;
      double bb = dot8(m, bcol, bcol), xq = 0, xc = 0;
      for (int i = 0; i < n; i++) {
        xq += x[i] * q[i];
        xc += x[i] * cb[i];
      }
      double f = bb - 2 * xc + xq;
      if (!(f > 1e-6 * bb)) {
        cblas_dgemv(CblasColMajor, CblasNoTrans, m, n, -1.0, Ad, m, x, 1, 1.0, bcol, 1);
        f = 0;
        for (int i = 0; i < m; i++) f += bcol[i] * bcol[i];
      }
      local.bnorm2 += bb;
      local.obj += f;
    }
  }
gram_done:
  sn_free(AtA);
  sn_free(Bd);
  sn_free(C);
  sn_free(Xd);
  sn_free(Qx);
  sn_free(Ad);
  if (rc == SN_OK && st) sn_nnls_stats_merge(st, &local);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Reference: Lawson-Hanson active set, least squares by dgels.              */

int sn_nnls_ref_lh(int m, int n, const double *A, int64_t lda, const double *b, double *x,
                   sn_err *e) {
  int rc = SN_OK;
  double *w = sn_calloc(n * sizeof(double), "nnls ref", e);
  double *sv = sn_calloc(n * sizeof(double), "nnls ref", e);
  double *Ap = sn_calloc((size_t)m * n * sizeof(double), "nnls ref", e);
  int mb = m > n ? m : n;
  double *rhs = sn_calloc(mb * sizeof(double), "nnls ref", e);
  double *res = sn_calloc(m * sizeof(double), "nnls ref", e);
  int *P = sn_calloc(n * sizeof(int), "nnls ref", e);
  int *idx = sn_calloc(n * sizeof(int), "nnls ref", e);
  int lwork = 64 * (m + n) + 64;
  double *work = sn_calloc(lwork * sizeof(double), "nnls ref", e);
  if (!w || !sv || !Ap || !rhs || !res || !P || !idx || !work) {
    rc = SN_ERR_NOMEM;
    goto done;
  }
  double anorm = 0;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) anorm = dmax(anorm, fabs(A[i + lda * j]));
  const double tol = 10 * DBL_EPSILON * anorm * (m > n ? m : n);
  for (int j = 0; j < n; j++) x[j] = 0;
  int outer = 0;
  for (;;) {
    for (int i = 0; i < m; i++) {
      double s = b[i];
      for (int j = 0; j < n; j++) s -= A[i + lda * j] * x[j];
      res[i] = s;
    }
    int jmax = -1;
    double wmax = tol;
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int i = 0; i < m; i++) s += A[i + lda * j] * res[i];
      w[j] = s;
      if (!P[j] && s > wmax) {
        wmax = s;
        jmax = j;
      }
    }
    if (jmax < 0 || ++outer > 3 * n + 10) break;
    P[jmax] = 1;
    for (int inner = 0; inner < 3 * n + 10; inner++) {
      int k = 0;
      for (int j = 0; j < n; j++)
        if (P[j]) idx[k++] = j;
      for (int c = 0; c < k; c++)
        for (int i = 0; i < m; i++) Ap[i + (size_t)m * c] = A[i + lda * idx[c]];
      for (int i = 0; i < m; i++) rhs[i] = b[i];
      int info = 0, one = 1;
      dgels_("N", &m, &k, &one, Ap, &m, rhs, &mb, work, &lwork, &info, 1);
      for (int j = 0; j < n; j++) sv[j] = 0;
      for (int c = 0; c < k; c++) sv[idx[c]] = rhs[c];
      int allpos = 1;
      for (int c = 0; c < k; c++)
        if (sv[idx[c]] <= 0) allpos = 0;
      if (allpos) {
        memcpy(x, sv, n * sizeof(double));
        break;
      }
      double al = 2;
      for (int c = 0; c < k; c++) {
        int j = idx[c];
        if (sv[j] <= 0) {
          double t = x[j] / (x[j] - sv[j]);
          if (t < al) al = t;
        }
      }
      for (int j = 0; j < n; j++) x[j] += al * (sv[j] - x[j]);
      for (int c = 0; c < k; c++)
        if (x[idx[c]] <= tol) {
          P[idx[c]] = 0;
          x[idx[c]] = 0;
        }
    }
  }
done:
  sn_free(w);
  sn_free(sv);
  sn_free(Ap);
  sn_free(rhs);
  sn_free(res);
  sn_free(P);
  sn_free(idx);
  sn_free(work);
  return rc;
}
