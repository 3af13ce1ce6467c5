#pragma once
/* The leading eigenpairs of a dense symmetric matrix, on one rank: exactly
 * (LAPACK's dsyevr, only the eigenvectors asked for; its tridiagonal reduction
 * costs ~4/3 n^3 whatever R is) or by subspace iteration (~2 n^2 k per sweep,
 * k = 2R, until the residuals are below SN_EIG_SUBSPACE_TOL). The NNDSVD start
 * uses them on the F x F Gram V V^T summed over the ranks (rank 0 solves and
 * broadcasts the F x R answer: parallel/sn_svd.h). */
#include <stdint.h>

#include "sn_base.h"

/* Local. The R largest eigenvalues of G (n x n, column-major, symmetric; its
 * lower triangle is read and G is overwritten) into w (descending) and their
 * eigenvectors into Z (n x R, column r for w[r]). SN_ERR_NOMEM, or
 * SN_ERR_NUMERIC ("nndsvd: dsyevr failed (info N)"). */
int sn_eig_top(int64_t n, double *G, int64_t R, double *w, double *Z, sn_err *e);

/* Subspace iteration: relative residual ||G z - w z|| / w[0] below which an
 * eigenpair is taken as converged, and the most sweeps (then the Ritz pairs
 * reached are returned: a start, not a failure). Block size 2R (at least
 * R + 8, at most n). */
#define SN_EIG_SUBSPACE_TOL 1e-10
#define SN_EIG_SUBSPACE_MAX_SWEEPS 300

/* Local. As sn_eig_top, G unchanged, by block subspace iteration with
 * Rayleigh-Ritz from a fixed start (deterministic: the same G and BLAS give
 * the same bits); *sweeps (if not NULL) gets the number of sweeps and
 * *residual (if not NULL) the largest relative residual of the R pairs. */
int sn_eig_top_subspace(int64_t n, const double *G, int64_t R, double *w, double *Z, int *sweeps, double *residual,
                        sn_err *e);
