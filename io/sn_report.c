/* The JSON run report: timers reduced over ranks, facts, options (see sn_report.h). */
#include "sn_report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sn_atomic.h"
#include "sn_comm.h"
#include "sn_isa.h"
#include "sn_opts.h"
#ifdef SN_BLAS_IS_OPENBLAS
#include SN_BLAS_HEADER /* openblas_get_num_threads */
#endif

/* BLAS threads of this rank as the library runs them (OpenBLAS reads
 * OPENBLAS_NUM_THREADS when it loads, else uses every core); the BLIS build
 * links Debian's single-threaded libblis. */
static int sn_blas_threads(void) {
#ifdef SN_BLAS_IS_OPENBLAS
  int t = openblas_get_num_threads();
  return t > 0 ? t : 1;
#else
  return 1;
#endif
}

static const char *sn_env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return (v && *v) ? v : dflt;
}

int sn_report_write(sn_run *run, int rc) {
  double loc[SN_NPHASES], mn[SN_NPHASES], mx[SN_NPHASES], sum[SN_NPHASES];
  for (int p = 0; p < SN_NPHASES; p++) loc[p] = run->timer.acc[p];
  SN_MPI_CALL(MPI_Allreduce(loc, mn, SN_NPHASES, MPI_DOUBLE, MPI_MIN, run->comm));
  SN_MPI_CALL(MPI_Allreduce(loc, mx, SN_NPHASES, MPI_DOUBLE, MPI_MAX, run->comm));
  SN_MPI_CALL(MPI_Allreduce(loc, sum, SN_NPHASES, MPI_DOUBLE, MPI_SUM, run->comm));
  double bytes = run->bytes_reduced, bytes_max = 0;
  SN_MPI_CALL(MPI_Allreduce(&bytes, &bytes_max, 1, MPI_DOUBLE, MPI_MAX, run->comm));
  struct rusage ru;
  double rss = 0, rss_max = 0, rss_min = 0;
  if (getrusage(RUSAGE_SELF, &ru) == 0) rss = (double)ru.ru_maxrss / 1024.0; /* MiB */
  SN_MPI_CALL(MPI_Allreduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, run->comm));
  SN_MPI_CALL(MPI_Allreduce(&rss, &rss_min, 1, MPI_DOUBLE, MPI_MIN, run->comm));
  int64_t calls[SN_NPHASES];
  SN_MPI_CALL(MPI_Allreduce(run->timer.calls, calls, SN_NPHASES, MPI_INT64_T, MPI_MAX, run->comm));

  int wrc = SN_OK;
  if (run->rank == 0) {
    if (!run->quiet) {
      sn_eprintf("specnmf: %-11s %9s %9s %9s %9s\n", "phase", "min s", "max s", "mean s", "max/mean");
      for (int p = 0; p < SN_NPHASES; p++) {
        if (calls[p] == 0) continue;
        double mean = sum[p] / run->size;
        sn_eprintf("specnmf: %-11s %9.4f %9.4f %9.4f %9.3f\n", sn_phase_name(p), mn[p], mx[p], mean,
                mean > 0 ? mx[p] / mean : 1.0);
      }
    }
    if (run->report) {
      sn_atomic out;
      FILE *f = sn_atomic_begin(&out, run->report, NULL) == 0 ? fopen(out.tmp, "w") : NULL;
      if (!f) {
        sn_atomic_abort(&out);
        wrc = SN_FAIL(&run->err, SN_ERR_IO, "%s: cannot write the report", run->report);
      } else {
        char ver[MPI_MAX_LIBRARY_VERSION_STRING];
        int vlen = 0;
        SN_MPI_CALL(MPI_Get_library_version(ver, &vlen));
        char *nl = strchr(ver, '\n');
        if (nl) *nl = '\0';
        fprintf(f, "{\n  \"command\": \"%s\",\n  \"version\": \"%s\",\n", run->cmd, SN_VERSION);
        fprintf(f, "  \"ranks\": %d,\n  \"threads_per_rank\": %d,\n", run->size, sn_blas_threads());
        fprintf(f, "  \"blas\": \"%s\",\n", SN_BLAS_NAME);
        fprintf(f, "  \"kernels\": \"%s\",\n", sn_isa_name(sn_isa_level()));
        size_t len = 0;
        char esc[1024] = "";
        sn_json_str(esc, sizeof esc, &len, ver);
        fprintf(f, "  \"mpi\": %s,\n", esc);
        len = 0;
        esc[0] = '\0';
        sn_json_str(esc, sizeof esc, &len, sn_env_or("SLURM_JOB_ID", ""));
        fprintf(f, "  \"slurm_job_id\": %s,\n", esc);
        fprintf(f, "  \"exit_code\": %d,\n", rc);
        fprintf(f, "  \"options\": {%s},\n", run->options);
        fprintf(f, "  \"facts\": {%s},\n", run->facts);
        fprintf(f, "  \"bytes_reduced\": %.0f,\n", bytes_max);
        fprintf(f, "  \"peak_rss_mib\": {\"min\": %.1f, \"max\": %.1f},\n", rss_min, rss_max);
        fprintf(f, "  \"phases\": {");
        int first = 1;
        for (int p = 0; p < SN_NPHASES; p++) {
          if (calls[p] == 0) continue;
          double mean = sum[p] / run->size;
          fprintf(f, "%s\n    \"%s\": {\"min\": %.6f, \"max\": %.6f, \"mean\": %.6f, \"imbalance\": %.4f, \"calls\": %" PRId64 "}",
                  first ? "" : ",", sn_phase_name(p), mn[p], mx[p], mean, mean > 0 ? mx[p] / mean : 1.0,
                  calls[p]);
          first = 0;
        }
        fprintf(f, "\n  }\n}\n");
        int bad = fclose(f) != 0;
        if (bad) sn_atomic_abort(&out);
        if (bad || sn_atomic_commit(&out) != 0) {
          wrc = SN_FAIL(&run->err, SN_ERR_IO, "%s: cannot write the report", run->report);
        }
      }
    }
  }
  return sn_agree(run->comm, wrc, &run->err);
}
