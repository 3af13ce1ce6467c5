#pragma once
/* Leading singular triplets of the column-distributed V (F x N) through
 * ScaLAPACK, and the NNDSVD starts built on them. The F x F Gram V V^T is
 * summed over ranks (one allreduce), each rank takes its block-cyclic part for
 * pdsyevd on a process grid, the top R eigenvectors are gathered by a sum
 * allreduce, and v = V^T u / sigma is computed locally per column block.
 * V is never gathered on one rank. */
#include <stdint.h>
#include "sn_pnmf.h"

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
