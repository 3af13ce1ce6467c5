/* Variable-length string attributes are read by a bounded child process on
 * rank 0 and broadcast (io/sn_h5.c): the values come back right on every rank
 * (long ones cut at 4095 bytes, as a caller's buffer cuts them), an attribute
 * of another type or a missing one behaves as before, and the three libhdf5
 * findings kept in tests/fuzz (crash, 17 GB allocation, endless loop) are
 * refused with the same code on every rank and one message. Prints the cost
 * of one read (open + string read + close, minus open + number read + close).
 * argv[1]: the source tree (for tests/fuzz). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sn_comm.h"
#include "sn_h5.h"

#include "../unit/sn_check.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* All ranks got code want; exactly one holds a message when want != 0. */
static void expect(MPI_Comm comm, int got, int want, const sn_err *e, const char *what) {
  int has = e->msg[0] != '\0', holders = 0, same = got == want, all = 0;
  MPI_Allreduce(&has, &holders, 1, MPI_INT, MPI_SUM, comm);
  MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, comm);
  CHECK(all, "%s: code %d, expected %d", what, got, want);
  CHECK(holders == (want ? 1 : 0), "%s: %d ranks hold a message", what, holders);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm comm = MPI_COMM_WORLD;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const char *src = argc > 1 ? argv[1] : ".";
  const char *tmpdir = getenv("SN_TMP") ? getenv("SN_TMP") : "/tmp";
  char path[4096];
  snprintf(path, sizeof path, "%s/vstr.h5", tmpdir);
  static char longv[6000];
  memset(longv, 'x', sizeof longv - 1);

  /* A file with string attributes (specnmf writes variable-length UTF-8). */
  sn_err e = {0};
  sn_h5 *f = NULL;
  int rc = sn_h5_create(comm, path, 1, &f, &e);
  float col[4] = {1, 2, 3, 4};
  if (!rc) rc = sn_h5_write_cols(f, "/stft/magnitude", 4, 1, 0, rank == 0 ? 1 : 0, col, 4, &e);
  if (!rc) rc = sn_h5_attr_set_str(f, "/stft/magnitude", "window", "hann", &e);
  if (!rc) rc = sn_h5_attr_set_str(f, "/stft/magnitude", "input", "some/äöü path.wav", &e);
  if (!rc) rc = sn_h5_attr_set_str(f, "/stft/magnitude", "long", longv, &e);
  if (!rc) rc = sn_h5_attr_set_double(f, "/stft/magnitude", "sample_rate", 8000, &e);
  {
    char b[16];
    int found = 0;
    sn_err le = {0};
    int lrc = rc ? rc : sn_h5_attr_get_str(f, "/stft/magnitude", "window", b, sizeof b, &found, &le);
    CHECK(lrc == 0 && found && strcmp(b, "hann") == 0, "read back in the writing run");
  }
  sn_err ce = {0};
  int crc = sn_h5_close(&f, rc == 0, &ce);
  CHECK(rc == 0 && crc == 0, "writing %s: %s %s", path, e.msg, ce.msg);

  /* Read back through the child. */
  rc = sn_h5_open(comm, path, &f, &e);
  CHECK(rc == 0, "open: %s", e.msg);
  if (rc == 0) {
    char b[8192];
    int found = 0;
    sn_err le = {0};
    rc = sn_h5_attr_get_str(f, "/stft/magnitude", "window", b, sizeof b, &found, &le);
    CHECK(rc == 0 && found && strcmp(b, "hann") == 0, "window: rc %d found %d '%s' %s", rc, found, b, le.msg);
    rc = sn_h5_attr_get_str(f, "/stft/magnitude", "input", b, sizeof b, &found, &le);
    CHECK(rc == 0 && found && strcmp(b, "some/äöü path.wav") == 0, "input: '%s'", b);
    rc = sn_h5_attr_get_str(f, "/stft/magnitude", "long", b, sizeof b, &found, &le);
    CHECK(rc == 0 && found && strlen(b) == 4095, "long: %zu bytes", strlen(b));
    rc = sn_h5_attr_get_str(f, "/stft/magnitude", "window", b, 3, &found, &le);
    CHECK(rc == 0 && strcmp(b, "ha") == 0, "window cut to the buffer: '%s'", b);
    rc = sn_h5_attr_get_str(f, "/stft/magnitude", "none", b, sizeof b, &found, &le);
    CHECK(rc == 0 && !found, "missing attribute: rc %d found %d", rc, found);
    rc = sn_h5_attr_get_str(f, "/stft/magnitude", "sample_rate", b, sizeof b, &found, &le);
    expect(comm, rc, SN_ERR_INPUT, &le, "a number read as a string");
    sn_h5_close(&f, 0, &ce);
  }

  /* The libhdf5 findings: refused, every rank the same code, one message. */
  const char *bad[][2] = {{"regress/fuzz_h5/libhdf5-H5HG_read-vlen-string-overread.h5", "/stft/magnitude"},
                          {"regress/fuzz_h5/vlen-string-attr-17GB-length.h5", "/stft/magnitude"},
                          {"regress/fuzz_h5/libhdf5-H5HG_protect-vlen-string-hang.h5", "/stft/complex"}};
  for (int i = 0; i < 3; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/tests/fuzz/%s", src, bad[i][0]);
    sn_err be = {0};
    sn_h5 *g = NULL;
    double t0 = now();
    int orc = sn_h5_open(comm, p, &g, &be);
    CHECK(orc == 0, "%s: open: %s", p, be.msg);
    if (orc) continue;
    char b[64];
    int found = 0;
    int brc = sn_h5_attr_get_str(g, bad[i][1], "window", b, sizeof b, &found, &be);
    expect(comm, brc, SN_ERR_INPUT, &be, bad[i][0]);
    if (be.msg[0]) printf("refused in %.2f s: %s\n", now() - t0, be.msg);
    sn_h5_close(&g, 0, &ce);
  }

  /* Cost of one string read (a child per object and file) against a number read. */
  enum { R = 21 };
  double ts[R], tn[R];
  for (int r = 0; r < R; r++) {
    for (int kind = 0; kind < 2; kind++) {
      char b[64];
      double v = 0;
      int found = 0;
      sn_err le = {0};
      MPI_Barrier(comm);
      double t0 = now();
      sn_h5_open(comm, path, &f, &le);
      if (kind == 0)
        sn_h5_attr_get_str(f, "/stft/magnitude", "window", b, sizeof b, &found, &le);
      else
        sn_h5_attr_get_double(f, "/stft/magnitude", "sample_rate", &v, &found, &le);
      sn_h5_close(&f, 0, &le);
      double dt = now() - t0;
      MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, comm);
      (kind == 0 ? ts : tn)[r] = dt;
    }
  }
  qsort(ts, R, sizeof *ts, cmp);
  qsort(tn, R, sizeof *tn, cmp);
  if (rank == 0)
    printf("string read (child) %.2f ms, number read %.2f ms: %.2f ms more per object and file (medians of %d)\n",
           1e3 * ts[R / 2], 1e3 * tn[R / 2], 1e3 * (ts[R / 2] - tn[R / 2]), R);

  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, comm);
  if (rank == 0) printf("%s\n", all ? "FAILED" : "all passed");
  MPI_Finalize();
  return all != 0;
}
