/* Test driver for io/sn_audio and io/sn_wav under MPI (used by
 * tests/py/test_audio_io.py at 1, 2 and 3 ranks):
 *   read IN OUT.wav [--channel C] [--rate R] [--normalize]
 *       every rank opens IN, reads its block share of the (mixed, resampled,
 *       normalized) signal, and all write it in parallel to OUT.wav
 *   span IN START N OUT.f32 [--channel C] [--rate R]
 *       rank 0 reads one span (may pass the ends) to raw float32
 *   wav N RATE OUT.wav [--rf64] [--force] [--pieces K] [--chunk C] [--sparse K] [--bad-span] [--abort]
 *       every rank writes its share of x[i] = ((i*7919) % 65536 - 32768) / 32768
 *       in K collective calls (each split in calls of at most C samples); --bad-span makes the last rank write outside
 *       the file (must fail on all ranks); --abort closes without commit;
 *       --sparse K: each rank writes only the last K samples of its block
 *   batch FILE
 *       runs the commands of FILE (one per line) in one MPI job
 * Exit status 0 on success, 1 on a reported error (message on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "sn_audio.h"
#include "sn_comm.h"
#include "sn_wav.h"

static int rank = 0, size = 1;

static int cmd_index = -1; /* in batch mode: the command's line number */

/* The error line goes out whole, in one write(2) (sn_eprintf): mpirun forwards
 * each rank's stderr as it reads it, so a line written in two pieces ("[I] "
 * then "specnmf: error: ...") by one rank could be split by another rank's line
 * of the next command, and neither line then matched in the test (seen at 2
 * ranks under load: "[1] [2] specnmf: error: <line 2>" + "specnmf: error: <line 1>"). */
static int finish(int rc, sn_err *e) {
  if (rc && e->msg[0]) {
    if (cmd_index >= 0)
      sn_eprintf("[%d] specnmf: error: %s\n", cmd_index, e->msg);
    else
      sn_eprintf("specnmf: error: %s\n", e->msg);
  }
  return rc;
}

static const char *opt(int argc, char **argv, const char *name) {
  for (int i = 0; i < argc - 1; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return NULL;
}
static int flag(int argc, char **argv, const char *name) {
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

static float pattern(int64_t i) { return (float)((i * 7919) % 65536 - 32768) / 32768.0f; }

static int run_cmd(int argc, char **argv) {
  sn_err e = {0};
  int rc = SN_OK;
  if (argc < 2) {
    fprintf(stderr, "usage: %s read|span|wav ...\n", argv[0]);
    return finish(SN_ERR_USAGE, &e);
  }
  sn_audio_opts o = {-1, 0, 0};
  if (opt(argc, argv, "--channel")) o.channel = atoi(opt(argc, argv, "--channel"));
  if (opt(argc, argv, "--rate")) o.out_rate = atof(opt(argc, argv, "--rate"));
  o.normalize = flag(argc, argv, "--normalize");

  if (strcmp(argv[1], "read") == 0 && argc >= 4) {
    sn_audio *a = NULL;
    sn_audio_info info;
    sn_wav *w = NULL;
    float *x = NULL;
    int64_t start = 0, n = 0;
    rc = sn_audio_open(argv[2], &o, &a, &info, &e);
    rc = sn_agree(MPI_COMM_WORLD, rc, &e);
    if (rc) return finish(rc, &e);
    if (o.normalize) {
      double peak = 0;
      rc = sn_audio_normalize(MPI_COMM_WORLD, a, &peak, &e);
      if (rc) goto read_done;
    }
    sn_block_range(info.n_samples, size, rank, &start, &n);
    x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    rc = x ? sn_audio_read(a, start, n, x, &e) : SN_FAIL(&e, SN_ERR_NOMEM, "out of memory");
    rc = sn_agree(MPI_COMM_WORLD, rc, &e);
    if (rc) goto read_done;
    rc = sn_wav_create(MPI_COMM_WORLD, argv[3], info.sample_rate, info.n_samples, 1, &w, &e);
    if (rc) goto read_done;
    rc = sn_wav_write(w, start, n, x, &e);
    int rc2 = sn_wav_close(&w, rc == SN_OK, &e);
    if (!rc) rc = rc2;
    if (rank == 0)
      printf("read %s: %lld samples at %g Hz, %d channels, %s\n", argv[2], (long long)info.n_samples,
             info.sample_rate, info.channels, info.format);
  read_done:
    free(x);
    sn_audio_close(&a);
    return finish(rc, &e);
  }

  if (strcmp(argv[1], "span") == 0 && argc >= 6) {
    if (rank == 0) {
      sn_audio *a = NULL;
      sn_audio_info info;
      int64_t start = atoll(argv[3]), n = atoll(argv[4]);
      float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
      rc = sn_audio_open(argv[2], &o, &a, &info, &e);
      if (!rc) rc = sn_audio_read(a, start, n, x, &e);
      if (!rc) {
        FILE *f = fopen(argv[5], "wb");
        if (!f || fwrite(x, sizeof(float), (size_t)n, f) != (size_t)n) rc = SN_FAIL(&e, SN_ERR_IO, "%s: cannot write", argv[5]);
        if (f) fclose(f);
      }
      free(x);
      sn_audio_close(&a);
    }
    rc = sn_agree(MPI_COMM_WORLD, rc, &e);
    return finish(rc, &e);
  }

  if (strcmp(argv[1], "wav") == 0 && argc >= 5) {
    int64_t N = atoll(argv[2]);
    double rate = atof(argv[3]);
    const char *out = argv[4];
    int pieces = opt(argc, argv, "--pieces") ? atoi(opt(argc, argv, "--pieces")) : 1;
    sn_wav *w = NULL;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    /* --channels C: C interleaved channels; sample i of the file is pattern(i) */
    int C = opt(argc, argv, "--channels") ? atoi(opt(argc, argv, "--channels")) : 1;
    rc = sn_wav_create_ch(MPI_COMM_WORLD, out, rate, N, C, flag(argc, argv, "--force"), flag(argc, argv, "--rf64"), &w, &e);
    if (rc) return finish(rc, &e);
    if (opt(argc, argv, "--chunk")) sn_wav_set_chunk(w, atoll(opt(argc, argv, "--chunk")));
    int64_t start = 0, n = 0;
    sn_block_range(N, size, rank, &start, &n);
    if (opt(argc, argv, "--sparse")) {
      /* write only the last K samples of this rank's block: a huge, sparse file */
      int64_t K = atoll(opt(argc, argv, "--sparse"));
      if (n > K) {
        start += n - K;
        n = K;
      }
    }
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n * C : 1));
    for (int64_t i = 0; i < n * C; i++) x[i] = pattern(start * C + i);
    if (flag(argc, argv, "--bad-span") && rank == size - 1) start = N; /* n > 0 here: outside */
    if (flag(argc, argv, "--bad-span") && rank == size - 1 && n == 0) n = 1;
    for (int p = 0; p < pieces && !rc; p++) {
      int64_t a0 = n * p / pieces, a1 = n * (p + 1) / pieces;
      rc = sn_wav_write(w, start + a0, a1 - a0, x + a0 * C, &e);
    }
    int commit = rc == SN_OK && !flag(argc, argv, "--abort");
    int rc2 = sn_wav_close(&w, commit, &e);
    if (!rc) rc = rc2;
    if (!rc && rank == 0) printf("wav: %lld samples written by %d ranks in %.3f s\n", (long long)N, size, MPI_Wtime() - t0);
    free(x);
    return finish(rc, &e);
  }
  if (strcmp(argv[1], "bench") == 0 && argc >= 3) {
    /* read the whole file as K spans of one rank (as K ranks would, each with
     * an n_fft/2 = 1024 halo), REPS times; print the median time */
    int K = opt(argc, argv, "--spans") ? atoi(opt(argc, argv, "--spans")) : 1;
    int reps = opt(argc, argv, "--reps") ? atoi(opt(argc, argv, "--reps")) : 5;
    double t[64];
    int64_t total = 0;
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps && !rc; r++) {
      double t0 = MPI_Wtime();
      sn_audio *a = NULL;
      sn_audio_info info;
      rc = sn_audio_open(argv[2], &o, &a, &info, &e);
      for (int k = 0; k < K && !rc; k++) {
        int64_t s0 = 0, n = 0;
        sn_block_range(info.n_samples, K, k, &s0, &n);
        float *x = malloc(sizeof(float) * (size_t)(n + 2048));
        rc = sn_audio_read(a, s0 - 1024, n + 2048, x, &e);
        free(x);
      }
      total = rc ? 0 : info.n_samples;
      sn_audio_close(&a);
      t[r] = MPI_Wtime() - t0;
    }
    for (int i = 1; i < reps; i++)
      for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
        double u = t[j];
        t[j] = t[j - 1];
        t[j - 1] = u;
      }
    if (!rc && rank == 0)
      printf("bench %s: %lld output samples, %d spans, median of %d: %.3f s\n", argv[2], (long long)total, K, reps,
             t[reps / 2]);
    return finish(rc, &e);
  }
  if (rank == 0) fprintf(stderr, "bad arguments\n");
  return finish(SN_ERR_USAGE, &e);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int rc = SN_OK;
  if (argc >= 3 && strcmp(argv[1], "batch") == 0) {
    /* one command per line (words split on blanks); rank 0 prints
     * "result I RC" for line I (from 0), errors are prefixed with "[I] " */
    FILE *f = fopen(argv[2], "r");
    char line[4096];
    int i = 0;
    while (f && fgets(line, sizeof line, f)) {
      char *toks[64];
      int nt = 0;
      toks[nt++] = argv[0];
      for (char *t = strtok(line, " \t\r\n"); t && nt < 63; t = strtok(NULL, " \t\r\n")) toks[nt++] = t;
      toks[nt] = NULL;
      if (nt < 2) continue;
      cmd_index = i;
      int r = run_cmd(nt, toks);
      if (rank == 0) {
        printf("result %d %d\n", i, r);
        fflush(stdout);
      }
      if (r) rc = r;
      i++;
    }
    if (f) fclose(f);
    else rc = SN_ERR_IO;
  } else {
    rc = run_cmd(argc, argv);
  }
  MPI_Finalize();
  return rc ? 1 : 0;
}
