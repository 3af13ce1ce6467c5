/* specnmf: separate long recordings into parts by NMF of their magnitude
 * spectrograms, as an MPI job. main() only initialises MPI, dispatches to a
 * command, reports, and exits with the code every rank agreed on. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sn_cli.h"
#include "sn_cmd_learn.h"
#include "sn_cmd_mel.h"
#include "sn_cmd_nmf.h"
#include "sn_cmd_nnls.h"
#include "sn_cmd_score.h"
#include "sn_cmd_separate.h"
#include "sn_comm.h"
#include "sn_isa.h"
#include "sn_report.h"
#include "sn_run.h"

typedef struct sn_command {
  const char *name;
  int (*run)(sn_run *run, int argc, char **argv);
  const char *summary;
} sn_command;

static const sn_command sn_commands[] = {
    {"stft", sn_cmd_stft, "magnitude (and complex) spectrogram of a recording into HDF5"},
    {"istft", sn_cmd_istft, "a stored complex spectrogram back to audio (WAV or HDF5)"},
    {"nmf", sn_cmd_nmf, "factorize a magnitude spectrogram V ~= W H (distributed NMF)"},
    {"nnls", sn_cmd_nnls, "exact nonnegative least squares X >= 0 for a basis and distributed data"},
    {"mel", sn_cmd_mel, "mel spectrogram (librosa melspectrogram) of a recording or spectrogram"},
    {"mel-invert", sn_cmd_mel_invert, "linear magnitude from a mel spectrogram (exact NNLS)"},
    {"separate", sn_cmd_separate, "spectrogram, NMF and one sound per component (WAVs, result.h5, overview.png)"},
    {"learn", sn_cmd_learn, "one source's dictionary W from recordings of it (for separate --source)"},
    {"griffinlim", sn_cmd_griffinlim, "audio from a magnitude spectrogram (distributed fast Griffin-Lim)"},
    {"score", sn_cmd_score, "BSS Eval (SDR, SIR, SAR as mir_eval) and SI-SDR of estimates against references"},
    {NULL, NULL, NULL},
};

static void sn_usage(FILE *out) {
  fprintf(out,
          "usage: specnmf COMMAND [options]   (run under mpirun/srun for several ranks)\n\n"
          "Separate long recordings into parts by nonnegative matrix factorization of\n"
          "their magnitude spectrograms, distributed over MPI ranks by time frames.\n\n"
          "commands:\n");
  for (const sn_command *c = sn_commands; c->name; c++) fprintf(out, "  %-12s %s\n", c->name, c->summary);
  fprintf(out, "\n'specnmf COMMAND --help' describes a command; --version prints the version.\n");
}

int main(int argc, char **argv) {
  /* Past a file-size limit (ulimit -f, RLIMIT_FSIZE) a write must fail with
   * EFBIG and be reported, not kill the rank with SIGXFSZ. */
  signal(SIGXFSZ, SIG_IGN);
  /* MPI_Init's default handler is MPI_ERRORS_ARE_FATAL; a code that comes
   * back anyway leaves no MPI to abort through: print and exit. MPI_Finalize's
   * code is not checked: nothing (not even MPI_Abort) may follow it. */
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
    fprintf(stderr, "specnmf: error: MPI_Init failed\n");
    return SN_ERR_MPI;
  }
  sn_run run;
  memset(&run, 0, sizeof run);
  run.comm = MPI_COMM_WORLD;
  SN_MPI_CALL(MPI_Comm_rank(run.comm, &run.rank));
  SN_MPI_CALL(MPI_Comm_size(run.comm, &run.size));
  SN_MPI_CALL(MPI_Comm_set_errhandler(run.comm, MPI_ERRORS_RETURN));

  /* Kernel level (src/sn_isa.h): SPECNMF_ISA or the best this rank's CPU has;
   * a level some rank lacks fails on all ranks. Then every rank runs the
   * lowest level any rank chose, so that a job across CPU generations computes
   * the replicated W identically on every rank. */
  int rc = sn_agree(run.comm, sn_isa_init(&run.err), &run.err);
  if (rc != SN_OK) {
    sn_err_print(&run.err);
    MPI_Finalize();
    return rc;
  }
  int level = sn_isa_level();
  if (level >= 0) {
    SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &level, 1, MPI_INT, MPI_MIN, run.comm));
    if (level != sn_isa_level()) sn_isa_set(level, NULL);
  }
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    if (run.rank == 0) sn_usage(argc < 2 ? stderr : stdout);
    rc = argc < 2 ? SN_ERR_USAGE : SN_OK;
    MPI_Finalize();
    return rc;
  }
  if (strcmp(argv[1], "--version") == 0) {
    char levels[64];
    sn_isa_list(levels, sizeof levels);
    if (run.rank == 0)
      printf("specnmf %s (BLAS: %s, kernels: %s; this CPU: %s; SPECNMF_ISA chooses)\n", SN_VERSION, SN_BLAS_NAME,
             sn_isa_name(sn_isa_level()), levels);
    MPI_Finalize();
    return 0;
  }
  const sn_command *cmd = NULL;
  for (const sn_command *c = sn_commands; c->name; c++)
    if (strcmp(argv[1], c->name) == 0) cmd = c;
  if (!cmd) {
    rc = SN_FAIL(&run.err, SN_ERR_USAGE, "%s: unknown command (see specnmf --help)", argv[1]);
    if (run.rank == 0) sn_err_print(&run.err);
    MPI_Finalize();
    return rc;
  }
  run.cmd = cmd->name;
  sn_timer_begin(&run.timer, SN_PH_TOTAL);
  rc = cmd->run(&run, argc - 2, argv + 2);
  sn_timer_end(&run.timer, SN_PH_TOTAL);
  /* The report is written for failed runs too (with their exit code). */
  if (run.options[0] != '\0') {
    int rrc = sn_report_write(&run, rc);
    if (rc == SN_OK) rc = rrc;
  }
  sn_err_print(&run.err);
  MPI_Finalize();
  return rc;
}
