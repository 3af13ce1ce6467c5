#pragma once
/* Exact nonnegative least squares for many right-hand sides:
 *   min_X ||A X - B||_F^2 + ridge ||X||_F^2   subject to X >= 0,
 * solved column by column by block principal pivoting (Kim & Park 2011), with
 * columns that share a passive set solved together (one Cholesky, many RHS).
 * Two formulations: the Gram one (AtA, AtB: tall A, NMF's ANLS) and the dual
 * one for wide A (m < n, e.g. the 128 x 1025 mel basis) that factors the small
 * m x m matrix A_F A_F^T (banded when A is, as the mel basis is). All serial. */
#include <stdint.h>
#include "sn_base.h"

typedef struct sn_nnls_opts {
  double ridge;   /* l2 penalty lambda >= 0 (added to AtA's diagonal); default 0 */
  double tol;     /* relative tolerance of the pivoting sign tests; default 1e-10 */
  int max_iter;   /* pivoting iterations per column; 0 = 200 + 4 n */
  int warm;       /* gram solve: 1 = X holds a start (its positive entries form the
                     first passive set); 0 = start from the unconstrained solution's
                     sign pattern (or the empty set when that solve is singular) */
  int64_t tile;   /* sn_nnls_solve: columns per block (bounds memory); 0 = 1024 */
  int method;     /* sn_nnls_solve: 0 auto (wide dual path when m < n), 1 gram, 2 dual */
} sn_nnls_opts;

/* Local. Fill the defaults above. */
void sn_nnls_opts_default(sn_nnls_opts *o);

/* Counters and the certificate of a solve. The solvers ADD to these (sums and
 * maxima), so one record can follow a whole blocked or distributed solve; zero
 * it (sn_nnls_stats_init) before the first call. */
typedef struct sn_nnls_stats {
  int64_t cols;          /* columns solved */
  int64_t iters;         /* pivoting iterations summed over columns */
  int64_t max_iters;     /* most iterations one column needed */
  int64_t unconverged;   /* columns stopped at max_iter (X feasible; see kkt) */
  int64_t factorizations;/* Cholesky factorizations done */
  int64_t fallbacks;     /* passive systems that needed an extra shift to factor */
  double kkt_abs;        /* largest KKT violation of the returned X, gradient units */
  double kkt_rel;        /* largest violation / max_i |(A^T b_j)_i| of its column */
  double internal_ridge; /* shift added internally because the problem is singular
                            (rank-deficient or wide A); 0 when none was needed */
  double obj;            /* sum of ||A x_j - b_j||^2 (sn_nnls_solve only) */
  double bnorm2;         /* sum of ||b_j||^2 (sn_nnls_solve only) */
} sn_nnls_stats;

/* Local. Zero a stats record. */
void sn_nnls_stats_init(sn_nnls_stats *s);

/* Local. Merge b into a (sums and maxima). */
void sn_nnls_stats_merge(sn_nnls_stats *a, const sn_nnls_stats *b);

/* Local. Gram form: X >= 0 minimising 0.5 x^T (AtA + ridge I) x - AtB_j^T x for
 * every column j, i.e. min ||A X - B||^2 + ridge ||X||^2 given AtA = A^T A and
 * AtB = A^T B. AtA: n x n column-major (ld n), symmetric positive semidefinite,
 * not modified. AtB: n x ncols (leading dimension ldb). X: n x ncols (ldx),
 * output; input too when opts->warm. If AtA + ridge I is singular or worse than
 * 1e-10 conditioned, a shift of 1e-10 max diag is added internally (recorded in
 * st->internal_ridge; the KKT certificate is still for the problem asked).
 * Pivoting stops when no sign is violated beyond opts->tol (relative). Returns
 * SN_OK (non-convergence is counted in st, not an error), SN_ERR_INPUT for bad
 * sizes or non-finite AtA/AtB, SN_ERR_NOMEM. opts/st may be NULL. */
int sn_nnls_solve_gram(int n, const double *AtA, int64_t ncols, const double *AtB,
                       int64_t ldb, double *X, int64_t ldx, const sn_nnls_opts *opts,
                       sn_nnls_stats *st, sn_err *e);

/* Local. The whole problem from float data: A m x n (lda), B m x ncols (ldb),
 * X n x ncols (ldx) output, all column-major float; arithmetic in double.
 * Forms A^T A once and A^T B one column tile at a time (memory O(n (m + tile))),
 * or, for wide A (m < n, auto), runs the dual path column by column. Fills
 * st->obj/bnorm2 and the KKT certificate. `what` names the data in messages.
 * Errors: SN_ERR_INPUT (sizes, negative/NaN/Inf in A, NaN/Inf in B),
 * SN_ERR_NOMEM. */
int sn_nnls_solve(int m, int n, const float *A, int64_t lda, int64_t ncols, const float *B,
                  int64_t ldb, float *X, int64_t ldx, const sn_nnls_opts *opts,
                  sn_nnls_stats *st, const char *what, sn_err *e);

/* Local. Check that A (m x n, lda) is finite and nonnegative; SN_ERR_INPUT
 * naming `what` and the first bad entry otherwise. */
int sn_nnls_check_basis(int m, int n, const float *A, int64_t lda, const char *what, sn_err *e);

/* Local. Plain reference (the oracle for tests): Lawson-Hanson active set for
 * one column, least squares by LAPACK dgels, in double; slow (n up to a few
 * hundred). A m x n (lda), b m, x n out. SN_ERR_NOMEM only. */
int sn_nnls_ref_lh(int m, int n, const double *A, int64_t lda, const double *b, double *x,
                   sn_err *e);
