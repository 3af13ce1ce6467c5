/* Agreement across ranks and block ownership (see sn_comm.h). */
#include "sn_comm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values that travel with the failure flag in sn_allreduce_sum_agree's one call. */
#define SN_STAGE_DOUBLES 262144

/* An MPI failure cannot be agreed (not even inside the agreement): abort. */
void sn_mpi_check(int mpirc, const char *call, const char *file, int line) {
  if (mpirc == MPI_SUCCESS) return;
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  /* inside the check itself: a failed lookup prints the number, and the job ends anyway */
  if (MPI_Error_string(mpirc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "MPI error %d", mpirc);
  sn_eprintf("specnmf: error: %s:%d: %s: %s\n", file, line, call, s);
  MPI_Abort(MPI_COMM_WORLD, SN_ERR_MPI);
}

/* After the reduction: keep the message on the chosen rank only. */
static int sn_settle(MPI_Comm comm, int code, int who, int rc, sn_err *e) {
  int rank;
  SN_MPI_CALL(MPI_Comm_rank(comm, &rank));
  if (code == SN_OK) return SN_OK;
  if (e) {
    if (rank == who && rc == code && e->code == code) return code;
    e->code = code;
    e->msg[0] = '\0';
  }
  return code;
}

int sn_agree(MPI_Comm comm, int rc, sn_err *e) {
  int rank;
  SN_MPI_CALL(MPI_Comm_rank(comm, &rank));
  if (rc == SN_OK) rc = sn_fault_here(rank, e);
  if (rc != SN_OK && e && e->code == SN_OK) SN_FAIL(e, rc, "internal: failure without a message");
  /* MAXLOC picks the largest code and, among equal codes, a rank that still
   * holds a message (after an earlier agreement only the reporter does), then
   * the lowest rank. */
  int has_msg = (rc != SN_OK && e && e->msg[0] != '\0') ? 1 : 0;
  struct { int code, rank; } in = {rc * 2 + has_msg, rank}, out;
  SN_MPI_CALL(MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MAXLOC, comm));
  out.code /= 2;
  return sn_settle(comm, out.code, out.rank, rc, e);
}

int sn_allreduce_sum_agree(MPI_Comm comm, double *buf, size_t n, int rc, sn_err *e) {
  if (rc == SN_OK) {
    int rank;
    SN_MPI_CALL(MPI_Comm_rank(comm, &rank));
    rc = sn_fault_here(rank, e);
  }
  /* One extra slot carries "this rank failed" (1.0) so the usual case costs a
   * single allreduce; only when some rank failed does a second, tiny agreement
   * pick the code and the reporting rank. The flag travels with the last m
   * values in a static staging array (no allocation that could fail on one
   * rank only and leave the ranks with different counts); the values before
   * them, when there are more than fit, are summed in place first, in pieces
   * below INT_MAX. Every rank makes the same calls since n is the same. */
  static double stage[SN_STAGE_DOUBLES + 1];
  const size_t m = n < SN_STAGE_DOUBLES ? n : SN_STAGE_DOUBLES;
  for (size_t off = 0; off < n - m;) {
    size_t piece = n - m - off < (size_t)(INT_MAX / 2) ? n - m - off : (size_t)(INT_MAX / 2);
    SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)piece, MPI_DOUBLE, MPI_SUM, comm));
    off += piece;
  }
  if (m) memcpy(stage, buf + (n - m), m * sizeof *stage);
  stage[m] = rc != SN_OK ? 1.0 : 0.0;
  SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, stage, (int)(m + 1), MPI_DOUBLE, MPI_SUM, comm));
  if (m) memcpy(buf + (n - m), stage, m * sizeof *stage);
  if (stage[m] == 0.0) return SN_OK;
  return sn_agree(comm, rc, e); /* rare path: find the code and the reporting rank */
}

void sn_block_range(int64_t n, int size, int rank, int64_t *start, int64_t *n_local) {
  int64_t q = n / size, r = n % size;
  *n_local = q + (rank < r ? 1 : 0);
  *start = rank * q + (rank < r ? rank : r);
}

int sn_block_owner(int64_t n, int size, int64_t i) {
  int64_t q = n / size, r = n % size;
  if (i < r * (q + 1)) return (int)(i / (q + 1));
  return q ? (int)(r + (i - r * (q + 1)) / q) : size - 1;
}

int sn_mpi_count(int64_t n, const char *what, int *out, sn_err *e) {
  if (n < 0 || n > INT_MAX)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: count %lld exceeds the MPI limit", what, (long long)n);
  *out = (int)n;
  return SN_OK;
}

void sn_err_print(const sn_err *e) {
  if (!e || e->code == SN_OK || e->msg[0] == '\0') return;
  sn_eprintf("specnmf: error: %s\n", e->msg);
}

int sn_exchange_floats(MPI_Comm comm, float *buf, const int *scount, const int *sdispl, const int *rcount,
                       const int *rdispl, MPI_Request *reqs) {
  int size, n = 0, mrc = MPI_SUCCESS;
  SN_MPI_CALL(MPI_Comm_size(comm, &size));
  /* the MPI codes are returned, not checked: the caller agrees on them */
  for (int q = 0; q < size && mrc == MPI_SUCCESS; q++)
    if (rcount[q] > 0) mrc = MPI_Irecv(buf + rdispl[q], rcount[q], MPI_FLOAT, q, SN_TAG_HALO, comm, &reqs[n++]);
  for (int q = 0; q < size && mrc == MPI_SUCCESS; q++)
    if (scount[q] > 0) mrc = MPI_Isend(buf + sdispl[q], scount[q], MPI_FLOAT, q, SN_TAG_HALO, comm, &reqs[n++]);
  int wrc = n ? MPI_Waitall(n, reqs, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
  return mrc != MPI_SUCCESS ? mrc : wrc;
}
