#pragma once
/* Leading singular triplets of the column-distributed V (F x N) and the
 * NNDSVD starts built on them. The F x F Gram V V^T is summed over ranks (one
 * allreduce); its top R eigenpairs come from LAPACK on every rank (F <=
 * SN_SVD_LOCAL_MAX) or from ScaLAPACK's pdsyevd on a process grid (each rank
 * its block-cyclic part, the eigenvectors gathered by a sum allreduce); then
 * v = V^T u / sigma is computed locally per column block. V is never gathered
 * on one rank. */
#include <stdint.h>
#include "sn_pnmf.h"

/* Up to this F (n_fft 8192), every rank solves the allreduced Gram's top R
 * eigenpairs itself (LAPACK dsyevr, src/sn_eig.h: the same input gives the
 * same bits on every rank, and no grid, no messages: ScaLAPACK's pdsyevd on a
 * small matrix spent its time in communication, 7.5 s at 2 ranks against
 * 1.9 s at 1 for F 1025 on a loaded machine); above it (or with
 * o->eig_distributed) ScaLAPACK's pdsyevd on a process grid, whose memory per
 * rank is F^2 / P. */
#define SN_SVD_LOCAL_MAX 4097

/* Collective. U (F x R, column-major, replicated) and S (R, descending) of the
 * leading R singular triplets of V (block of o->n_local columns, walked in
 * tiles: in memory or read from a file). Signs
 * follow sklearn's svd_flip on U (largest |U[:, r]| entry positive). */
int sn_svd_top(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, double *U, double *S);

/* Collective. sklearn's NNDSVD start: variant 0 'nndsvd', 1 'nndsvda' (zeros
 * filled with mean(V)), 2 'nndsvdar' (zeros filled with |mean(V) N(0,1)| / 100
 * from the counter-based generator keyed by seed). W F x R, H R x n_local. */
int sn_svd_nndsvd(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, int variant, uint64_t seed,
                  float *W, float *H);
