/* The agreement contract of parallel/comm/sn_comm.c, at whatever rank count it is
 * launched with: every rank gets the same code, exactly one rank keeps the
 * message, a second agreement on an agreed failure keeps that same reporter,
 * and the sum-with-agreement reduces correctly. Also block ownership.
 * With the argument mpi-fail: a failing MPI call under SN_MPI_CALL must end the
 * job with one "specnmf: error: FILE:LINE: CALL: reason" line per rank
 * (tests/py/test_mpi_call.py). */
#include <stdio.h>
#include <string.h>

#include "sn_comm.h"

#include "../unit/sn_check.h"

/* Number of ranks holding a message, and that every rank got `want`. */
static void expect(MPI_Comm comm, int got, int want, const sn_err *e, const char *what) {
  int size, holders = 0, has = e->msg[0] != '\0', same = got == want, all_same = 0;
  MPI_Comm_size(comm, &size);
  MPI_Allreduce(&has, &holders, 1, MPI_INT, MPI_SUM, comm);
  MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_LAND, comm);
  CHECK(all_same, "%s: code %d, expected %d", what, got, want);
  CHECK(holders == (want ? 1 : 0), "%s: %d ranks hold a message", what, holders);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm c = MPI_COMM_WORLD;
  if (argc > 1 && strcmp(argv[1], "mpi-fail") == 0) {
    MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN); /* as main.c */
    int x = 0;
    SN_MPI_CALL(MPI_Bcast(&x, -1, MPI_INT, 0, c)); /* negative count: MPI_ERR_COUNT */
    printf("SN_MPI_CALL returned\n");
    MPI_Finalize();
    return 0;
  }

  sn_err e = {0};
  expect(c, sn_agree(c, SN_OK, &e), SN_OK, &e, "nobody fails");

  /* The last rank fails. */
  memset(&e, 0, sizeof e);
  int rc = rank == size - 1 ? SN_FAIL(&e, SN_ERR_INPUT, "x: last rank") : SN_OK;
  rc = sn_agree(c, rc, &e);
  expect(c, rc, SN_ERR_INPUT, &e, "last rank fails");
  CHECK(rank != size - 1 || strcmp(e.msg, "x: last rank") == 0, "reporter keeps its message");
  /* Agreeing again (a nested step) keeps the same single reporter. */
  rc = sn_agree(c, rc, &e);
  expect(c, rc, SN_ERR_INPUT, &e, "second agreement");
  CHECK(rank != size - 1 || e.msg[0] != '\0', "the same rank still reports");

  /* Every rank fails: different codes, the largest wins. */
  memset(&e, 0, sizeof e);
  rc = SN_FAIL(&e, rank == 0 ? SN_ERR_IO : SN_ERR_USAGE, "y: rank %d", rank);
  rc = sn_agree(c, rc, &e);
  expect(c, rc, SN_ERR_IO, &e, "all fail, largest code");
  CHECK(rank != 0 || strcmp(e.msg, "y: rank 0") == 0, "rank 0 reports the largest code");

  /* Sum with agreement. */
  double v[3] = {1.0, (double)rank, 2.0};
  memset(&e, 0, sizeof e);
  rc = sn_allreduce_sum_agree(c, v, 3, SN_OK, &e);
  expect(c, rc, SN_OK, &e, "sum, nobody fails");
  CHECK(v[0] == size && v[1] == size * (size - 1) / 2.0 && v[2] == 2.0 * size, "sum values");
  memset(&e, 0, sizeof e);
  rc = rank == 0 ? SN_FAIL(&e, SN_ERR_NUMERIC, "z: rank 0") : SN_OK;
  rc = sn_allreduce_sum_agree(c, v, 3, rc, &e);
  expect(c, rc, SN_ERR_NUMERIC, &e, "sum, rank 0 fails");

  /* Ownership: blocks tile [0, n) in order, sizes differ by at most one, and
   * sn_block_owner inverts it; n < size leaves ranks empty. */
  for (int64_t n = 0; n < 20; n++)
    for (int p = 1; p <= 5; p++) {
      int64_t next = 0;
      for (int r = 0; r < p; r++) {
        int64_t st, nl;
        sn_block_range(n, p, r, &st, &nl);
        CHECK(st == next && nl >= n / p && nl <= n / p + 1, "block n=%lld p=%d r=%d", (long long)n, p, r);
        for (int64_t i = st; i < st + nl; i++) CHECK(sn_block_owner(n, p, i) == r, "owner of %lld", (long long)i);
        next = st + nl;
      }
      CHECK(next == n, "blocks cover n=%lld p=%d", (long long)n, p);
    }
  int c32;
  memset(&e, 0, sizeof e);
  CHECK(sn_mpi_count((int64_t)1 << 31, "big", &c32, &e) == SN_ERR_INPUT, "2^31 does not fit an MPI int");

  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, c);
  if (rank == 0) printf("%s (%d failed checks at %d ranks)\n", all ? "FAILED" : "passed", all, size);
  MPI_Finalize();
  return all ? 1 : 0;
}
