/* Run context: the report facts (see sn_run.h; the report itself: io/sn_report.c). */
#include "sn_run.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sn_comm.h"
#include "sn_opts.h"

static void sn_fact_key(sn_run *run, const char *key, size_t *len) {
  *len = strlen(run->facts);
  if (*len) *len += (size_t)snprintf(run->facts + *len, sizeof run->facts - *len, ", ");
  sn_json_str(run->facts, sizeof run->facts, len, key);
  if (*len < sizeof run->facts) *len += (size_t)snprintf(run->facts + *len, sizeof run->facts - *len, ": ");
}

void sn_run_fact_int(sn_run *run, const char *key, int64_t v) {
  size_t len;
  sn_fact_key(run, key, &len);
  if (len < sizeof run->facts) snprintf(run->facts + len, sizeof run->facts - len, "%" PRId64, v);
}

void sn_run_fact_double(sn_run *run, const char *key, double v) {
  size_t len;
  sn_fact_key(run, key, &len);
  if (len >= sizeof run->facts) return;
  if (v != v || v > 1e308 || v < -1e308)
    snprintf(run->facts + len, sizeof run->facts - len, "null");
  else
    snprintf(run->facts + len, sizeof run->facts - len, "%.10g", v);
}

void sn_run_fact_str(sn_run *run, const char *key, const char *v) {
  size_t len;
  sn_fact_key(run, key, &len);
  if (len < sizeof run->facts) sn_json_str(run->facts, sizeof run->facts, &len, v ? v : "");
}

int sn_run_agree(sn_run *run, int rc) { return sn_agree(run->comm, rc, &run->err); }

int sn_run_allreduce_sum(sn_run *run, double *buf, size_t n, int rc) {
  const int own_phase = !sn_timer_any_open(&run->timer); /* nested: counts to the open phase */
  if (own_phase) sn_timer_begin(&run->timer, SN_PH_ALLREDUCE);
  rc = sn_allreduce_sum_agree(run->comm, buf, n, rc, &run->err);
  if (own_phase) sn_timer_end(&run->timer, SN_PH_ALLREDUCE);
  run->bytes_reduced += (double)(n + 1) * sizeof(double); /* + the agreement slot */
  return rc;
}

static int sn_halo_done(sn_run *run, int mrc, const int *rcount, const char *what) {
  sn_timer_end(&run->timer, SN_PH_HALO);
  double n = 0;
  for (int q = 0; q < run->size; q++) n += rcount[q];
  run->bytes_reduced += n * sizeof(float);
  return mrc == MPI_SUCCESS ? SN_OK : SN_FAIL(&run->err, SN_ERR_MPI, "%s: halo exchange failed", what);
}

int sn_run_alltoallv_floats(sn_run *run, const float *sbuf, const int *scount, const int *sdispl, float *rbuf,
                            const int *rcount, const int *rdispl, const char *what) {
  sn_timer_begin(&run->timer, SN_PH_HALO);
  /* the code is turned into this rank's error, agreed by the caller (see sn_run.h) */
  int mrc = MPI_Alltoallv(sbuf, scount, sdispl, MPI_FLOAT, rbuf, rcount, rdispl, MPI_FLOAT, run->comm);
  return sn_halo_done(run, mrc, rcount, what);
}

int sn_run_exchange_floats(sn_run *run, float *buf, const int *scount, const int *sdispl, const int *rcount,
                           const int *rdispl, MPI_Request *reqs, const char *what) {
  sn_timer_begin(&run->timer, SN_PH_HALO);
  int mrc = sn_exchange_floats(run->comm, buf, scount, sdispl, rcount, rdispl, reqs);
  return sn_halo_done(run, mrc, rcount, what);
}
