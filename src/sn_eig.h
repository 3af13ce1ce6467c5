#pragma once
/* The leading eigenpairs of a small dense symmetric matrix, on one rank
 * (LAPACK's dsyevr, only the eigenvectors asked for). The NNDSVD start uses it
 * on the F x F Gram V V^T that every rank holds after one allreduce: each rank
 * solves the same problem, so the start needs no further communication. */
#include <stdint.h>

#include "sn_base.h"

/* Local. The R largest eigenvalues of G (n x n, column-major, symmetric; its
 * lower triangle is read and G is overwritten) into w (descending) and their
 * eigenvectors into Z (n x R, column r for w[r]). SN_ERR_NOMEM, or
 * SN_ERR_NUMERIC ("nndsvd: dsyevr failed (info N)"). */
int sn_eig_top(int64_t n, double *G, int64_t R, double *w, double *Z, sn_err *e);
