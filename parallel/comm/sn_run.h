#pragma once
/* The run context: one per command invocation, no globals. Holds the
 * communicator, this rank's place in it, verbosity, the phase timers, the
 * error record and the key/value facts that go into the JSON report
 * (io/sn_report.h). */
#include <mpi.h>
#include "sn_base.h"
#include "sn_timer.h"

typedef struct sn_run {
  MPI_Comm comm;
  int rank, size;
  int quiet;            /* --quiet: no progress lines */
  const char *cmd;      /* command name ("stft", "nmf", ...) */
  const char *report;   /* --report FILE.json or NULL */
  sn_timer timer;
  sn_err err;
  char facts[16384];    /* JSON members added with sn_run_fact_* */
  char options[8192];   /* JSON members of the parsed options */
  double bytes_reduced; /* bytes sent through allreduces (per rank) */
} sn_run;

/* Local. Progress goes to stderr from rank 0 unless --quiet. */
#define SN_PROGRESS(run, ...) sn_log((run)->rank == 0 && !(run)->quiet, __VA_ARGS__)

/* Local. Record a fact for the report (sizes, iterations, verdicts); the same
 * call on every rank, rank 0's value is written. */
void sn_run_fact_int(sn_run *run, const char *key, int64_t v);
void sn_run_fact_double(sn_run *run, const char *key, double v);
void sn_run_fact_str(sn_run *run, const char *key, const char *v);

/* Collective. Agree on this rank's local code rc over run->comm (sn_agree,
 * with run->err): the agreed code on every rank. */
int sn_run_agree(sn_run *run, int rc);

/* Collective. The one way to agree on a local step: evaluate expr (this
 * rank's code: local checks belong in a function that returns one), agree
 * over the ranks and jump to `cleanup` with rc set when any rank failed.
 * Requires `int rc` and a `cleanup` label, as SN_CHECK. */
#define SN_AGREE(run, expr) SN_CHECK(sn_run_agree((run), (expr)))

/* Collective. Sum n doubles in place over run->comm and agree on rc in the
 * same allreduce (sn_allreduce_sum_agree). The one reduction helper of the
 * distributed algorithms: it times the call (phase SN_PH_ALLREDUCE, unless
 * it runs inside another open phase, which it then counts to) and adds
 * its bytes to run->bytes_reduced, so no call site counts. */
int sn_run_allreduce_sum(sn_run *run, double *buf, size_t n, int rc);

/* Collective over the ranks with nonzero counts. The halo exchanges of the
 * distributed overlap-add, timed (phase SN_PH_HALO) and counted (the floats
 * received go to run->bytes_reduced) here, so no call site counts.
 * sn_run_alltoallv_floats: MPI_Alltoallv of floats from sbuf to rbuf (every
 * rank of run->comm calls it). sn_run_exchange_floats: regions of one buffer
 * (sn_exchange_floats; reqs has room for 2 x run->size requests).
 * Counts and displacements as MPI_Alltoallv's. An MPI failure is turned into
 * this rank's code (SN_ERR_MPI, "what: halo exchange failed" in run->err),
 * deliberately not SN_MPI_CALL: the caller agrees on it (sn_agree) with its
 * other local checks. Returns the local code. */
int sn_run_alltoallv_floats(sn_run *run, const float *sbuf, const int *scount, const int *sdispl, float *rbuf,
                            const int *rcount, const int *rdispl, const char *what);
int sn_run_exchange_floats(sn_run *run, float *buf, const int *scount, const int *sdispl, const int *rcount,
                           const int *rdispl, MPI_Request *reqs, const char *what);
