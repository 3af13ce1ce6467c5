#pragma once
/* Leading singular triplets of the column-distributed V (F x N) and the
 * NNDSVD starts built on them. The F x F Gram V V^T is summed over ranks (one
 * allreduce); rank 0 finds its top R eigenpairs (src/sn_eig.h), exactly
 * (LAPACK's dsyevr) or by subspace iteration, and broadcasts them (F R
 * doubles: the same start on every rank even where nodes' CPUs, and so their
 * BLAS kernels, differ; no grid); or, on
 * request (SPECNMF_EIGEN=scalapack), ScaLAPACK's pdsyevd on a process grid
 * (each rank its block-cyclic part, the eigenvectors gathered by a sum
 * allreduce); then v = V^T u / sigma is computed locally per column block. V
 * is never gathered on one rank. */
#include <stdint.h>
#include "sn_pnmf.h"

/* Up to this F (n_fft 4096 with plain frames) the Gram's eigenpairs are
 * exact (dsyevr); above it (context columns: F (2C + 1) rows; n_fft 8192) by
 * subspace iteration, whose cost grows as F^2 instead of F^3. Measured (2
 * minutes of piano, R 32, start only, 1 rank, medians of 3): F 1025 0.24 s
 * exact against 0.27 s; F 2049 1.10 against 0.63; F 3075 3.69 against 1.88;
 * F 4097 6.99 against 1.62; F 5125 15.8 against 5.2 (ScaLAPACK's pdsyevd, the
 * default above 4097 before: 32.9 s, peak 969 MiB against 371 MiB). On white
 * noise, whose eigenvalues barely fall, the iteration needs ~100 sweeps (F
 * 2049: 2.85 s against 0.99), so the exact solver keeps the small F. */
#define SN_SVD_EXACT_MAX 2049

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
