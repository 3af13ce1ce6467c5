#pragma once
/* The command `specnmf nnls`: X >= 0 minimising ||A X - B||_F for a stored
 * basis A and a distributed B (each rank solves its own column block), and the
 * solve helpers that the mel commands (sn_cmd_mel.h) share. Collective over
 * run->comm, returns an agreed code; ranks talk only to agree on errors, to
 * sum the statistics, and in the HDF5 I/O. */
#include <stdint.h>

#include "sn_h5.h"
#include "sn_nnls.h"
#include "sn_run.h"

/* Columns of B read and solved at a time on each rank (bounds memory). */
#define SN_NNLS_BLOCK_DEFAULT 4096

int sn_cmd_nnls(sn_run *run, int argc, char **argv);

/* Collective. Solve this rank's columns [col0, col0 + n_local) of dataset
 * `dset` (m x N) of the open file f against the basis A (m x n), block by
 * block (every rank makes the same number of collective reads), into X
 * (n x n_local, ld n). Statistics are this rank's (reduce them after). */
int sn_cmd_nnls_solve_blocks(sn_run *run, sn_h5 *f, const char *dset, int m, int n, const float *A,
                             int64_t N, int64_t col0, int64_t n_local, int64_t block, float *X,
                             const sn_nnls_opts *o, sn_nnls_stats *st, const char *what);

/* Collective. Sum/max the statistics of every rank's solve into all ranks,
 * agreeing on rc in the same reduction. */
int sn_cmd_nnls_reduce(sn_run *run, int rc, sn_nnls_stats *st);

/* Local (rank 0 prints). Warn when columns stopped at the iteration limit. */
void sn_cmd_nnls_warn(sn_run *run, const char *cmd, const sn_nnls_stats *st);

/* Local. Record the solve's statistics as report facts. */
void sn_cmd_nnls_facts(sn_run *run, const sn_nnls_stats *st);

/* Collective. The solve's certificate (KKT violation, residual, l2,
 * unconverged columns) as attributes of obj. */
int sn_cmd_nnls_attrs(sn_h5 *f, const char *obj, const sn_nnls_stats *st, double l2, sn_err *e);
