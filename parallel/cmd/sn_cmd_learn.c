/* specnmf learn (see sn_cmd_learn.h). Stages: inputs (arguments and --list),
 * spectrogram of all inputs side by side, factorization, dictionary file. */
#include "sn_cmd_learn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn_cli.h"
#include "sn_comm.h"
#include "sn_dict.h"
#include "sn_nmf_cli.h"
#include "sn_pstft.h"
#include "sn_signal.h"

#define SN_LEARN_MAX_POS 4096
#define SN_LEARN_LIST_MAX (64 << 20) /* bytes of a --list file */

/* The inputs: positional arguments followed by the lines of --list. */
typedef struct learn_inputs {
  int n;
  const char **v;  /* n paths (pointing into argv or text) */
  char *text;      /* the --list file's bytes, split into lines */
} learn_inputs;

static void inputs_free(learn_inputs *in) {
  free(in->v);
  free(in->text);
  memset(in, 0, sizeof *in);
}

/* Collective. Rank 0 reads the --list file and broadcasts it; every rank
 * splits it into paths (one per line; blank lines and lines starting with '#'
 * are skipped; trailing spaces and CR are dropped). */
static int inputs_collect(sn_run *run, const char *list, const char **pos, int n_pos, learn_inputs *in) {
  sn_err *e = &run->err;
  memset(in, 0, sizeof *in);
  int64_t len = 0;
  int rc = SN_OK;
  if (list) {
    if (run->rank == 0) {
      FILE *fp = fopen(list, "rb");
      if (!fp) rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot open the list of inputs", list);
      else {
        in->text = malloc(SN_LEARN_LIST_MAX + 1);
        if (!in->text) rc = SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", list);
        else {
          len = (int64_t)fread(in->text, 1, SN_LEARN_LIST_MAX + 1, fp);
          if (ferror(fp)) rc = SN_FAIL(e, SN_ERR_IO, "%s: read error", list);
          else if (len > SN_LEARN_LIST_MAX) rc = SN_FAIL(e, SN_ERR_INPUT, "%s: larger than %d MiB", list, SN_LEARN_LIST_MAX >> 20);
        }
        fclose(fp);
      }
    }
    rc = sn_agree(run->comm, rc, e);
    if (rc) return rc;
    SN_MPI_CALL(MPI_Bcast(&len, 1, MPI_INT64_T, 0, run->comm));
    if (run->rank != 0 && !(in->text = malloc((size_t)len + 1)))
      rc = SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", list);
    rc = sn_agree(run->comm, rc, e);
    if (rc) return rc;
    int cnt = 0;
    rc = sn_mpi_count(len, "--list", &cnt, e);
    if (rc == SN_OK) SN_MPI_CALL(MPI_Bcast(in->text, cnt, MPI_CHAR, 0, run->comm));
    rc = sn_agree(run->comm, rc, e);
    if (rc) return rc;
    in->text[len] = '\0';
  }
  int64_t lines = 1;
  for (int64_t i = 0; i < len; i++) lines += in->text[i] == '\n';
  in->v = calloc((size_t)(n_pos + lines), sizeof *in->v);
  rc = sn_agree(run->comm, in->v ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "learn: out of memory"), e);
  if (rc) return rc;
  for (int i = 0; i < n_pos; i++) in->v[in->n++] = pos[i];
  for (char *p = in->text; p && *p;) {
    char *nl = strchr(p, '\n');
    char *next = nl ? nl + 1 : p + strlen(p);
    if (nl) *nl = '\0';
    size_t m = strlen(p);
    while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t' || p[m - 1] == '\r')) p[--m] = '\0';
    while (*p == ' ' || *p == '\t') p++;
    if (*p && *p != '#') in->v[in->n++] = p;
    p = next;
  }
  if (in->n == 0)
    rc = SN_FAIL(e, SN_ERR_USAGE, list ? "%s: the list of inputs is empty" : "learn: no inputs (give FILE... or --list FILE)",
                 list);
  if (in->n > 0x7fffffff) rc = SN_FAIL(e, SN_ERR_USAGE, "learn: too many inputs");
  return sn_agree(run->comm, rc, e);
}

/* Local. The inputs as one newline-separated string (malloc'd). */
static char *inputs_joined(const learn_inputs *in) {
  size_t n = 1;
  for (int i = 0; i < in->n; i++) n += strlen(in->v[i]) + 1;
  char *s = malloc(n), *p = s;
  for (int i = 0; s && i < in->n; i++) p += sprintf(p, "%s%s", in->v[i], i + 1 < in->n ? "\n" : "");
  if (s) *p = '\0';
  return s;
}

int sn_cmd_learn(sn_run *run, int argc, char **argv) {
  sn_err *e = &run->err;
  sn_common com = {0};
  sn_stft_cfg scfg = SN_STFT_CFG_DEFAULT;
  sn_nmf_cli nc = SN_NMF_CLI_DEFAULT(256);
  nc.k = SN_LEARN_DEFAULT_K;
  nc.beta_s = SN_LEARN_DEFAULT_BETA;
  const char *name = NULL, *list = NULL;
  const sn_opt t_main[] = {
      SN_COMMON_OPTS(&com),
      {"--name", 0, SN_OPT_STRING, &name, "NAME", "the source's name (letters, digits, - and _; required)"},
      {"--list", 0, SN_OPT_STRING, &list, "FILE", "read further inputs from FILE, one path per line"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t_nmf[] = {SN_NMF_OPTS(&nc), {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t_stft[] = {SN_STFT_OPTS(&scfg), {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t_main, t_nmf, t_stft, NULL};
  const char **pos = calloc(SN_LEARN_MAX_POS, sizeof *pos);
  int n_pos = 0, done = 0;
  int rc = sn_agree(run->comm, pos ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "learn: out of memory"), e);
  if (rc) return rc;
  rc = sn_cli_parse(run, &com, "FILE... [--list FILE] --name NAME [-k R] -o DICT.h5 [options]",
                    "Learn one source's dictionary W (F x R, default R = 8, KL divergence) from recordings of that\n"
                    "source: the frames of all inputs (audio files or stored spectrograms) side by side as one V,\n"
                    "split over ranks by frame, factorized V ~= W H. Writes /dict/W with the STFT parameters, the\n"
                    "beta, the source name and the inputs as attributes, for 'separate --source NAME=DICT.h5'.",
                    tables, argc, argv, pos, 0, SN_LEARN_MAX_POS, &n_pos, &done);
  if (rc || done) {
    free(pos);
    return rc;
  }
  learn_inputs in;
  memset(&in, 0, sizeof in);
  sn_spec s;
  memset(&s, 0, sizeof s);
  sn_spec_files fl;
  memset(&fl, 0, sizeof fl);
  sn_pnmf_opts o;
  sn_pnmf_state st;
  memset(&st, 0, sizeof st);
  sn_h5 *out = NULL;
  float *W = NULL, *H = NULL;
  char *files = NULL, ckpt[4200];
  int64_t n_fixed = 0;
  sn_signal_catch();

  /* ---- options and inputs ---- */
  int lrc = SN_OK;
  if (!com.output) lrc = SN_FAIL(e, SN_ERR_USAGE, "learn: -o DICT.h5 is required");
  else if (!name) lrc = SN_FAIL(e, SN_ERR_USAGE, "learn: --name NAME is required (the source the recordings hold)");
  else if (!sn_dict_name_ok(name))
    lrc = SN_FAIL(e, SN_ERR_USAGE, "learn --name: '%s' is not a name (1-63 letters, digits, - and _)", name);
  else lrc = sn_nmf_cli_check("learn", &nc, e);
  snprintf(ckpt, sizeof ckpt, "%s.ckpt.h5", com.output ? com.output : "learn");
  if (!nc.checkpoint_s) nc.checkpoint_s = ckpt;
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_CHECK(inputs_collect(run, list, pos, n_pos, &in));

  /* ---- the output first (temporary name): a bad -o fails before the work ---- */
  SN_CHECK(sn_h5_create(run->comm, com.output, com.force, &out, e));

  /* ---- spectrogram: every input's frames side by side ---- */
  SN_PROGRESS(run, "learn: %s from %d input%s on %d rank%s, k = %lld, beta = %g", name, in.n, in.n > 1 ? "s" : "",
              run->size, run->size > 1 ? "s" : "", (long long)nc.k, nc.beta);
  SN_CHECK(sn_pstft_compute_files(run, in.v, in.n, &scfg, &s, &fl));
  lrc = sn_nmf_cli_check_k("learn", nc.k, s.F, s.N, "the inputs", e);
  if (lrc == SN_OK) lrc = sn_nmf_cli_check_batch("learn", &nc, s.N, e);
  if (lrc == SN_OK) lrc = sn_nmf_cli_check_v(s.mag, s.F, s.n_local, s.start, nc.beta, in.v[0], "the spectrogram", e);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_PROGRESS(run, "learn: V %d x %lld (%.1f s of audio)", s.F, (long long)s.N, fl.seconds);

  /* ---- factorize ---- */
  const sn_nmf_block blk = {s.mag, s.F, s.N, s.start, s.n_local, in.v[0], nc.checkpoint_s, NULL, NULL, NULL};
  SN_CHECK(sn_nmf_cli_run(run, "learn", &nc, &blk, &o, &W, &H, &st, &n_fixed));
  SN_PROGRESS(run, "learn: NMF %lld iterations, loss %.6g%s", (long long)st.iter, st.loss,
              st.converged ? " (converged)" : "");

  /* ---- the dictionary ---- */
  files = inputs_joined(&in);
  SN_CHECK(sn_agree(run->comm, files ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "learn: out of memory"), e));
  sn_dict_meta m = {name, nc.beta, nc.solver_s, nc.init_s, st.iter, st.converged, st.loss, fl.seconds,
                    in.n, s.N, files, run->options};
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  rc = sn_dict_write(out, "/dict/W", s.F, nc.k, W, &s.par, &m, e);
  if (rc == SN_OK) rc = sn_h5_write_vec(out, "/dict/loss", st.n_hist, st.hist, e);
  if (rc == SN_OK) rc = sn_h5_close(&out, 1, e);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  if (rc) goto cleanup;
  if (run->rank == 0) unlink(nc.checkpoint_s);
  SN_PROGRESS(run, "learn: wrote %s (/dict/W %d x %lld, source %s)", com.output, s.F, (long long)nc.k, name);
  sn_run_fact_int(run, "F", s.F);
  sn_run_fact_int(run, "N", s.N);
  sn_run_fact_int(run, "k", nc.k);
  sn_run_fact_int(run, "n_iter", st.iter);
  sn_run_fact_double(run, "loss", st.loss);

cleanup:
  sn_signal_release();
  if (out) sn_h5_close(&out, 0, e);
  sn_pnmf_state_free(&st);
  sn_spec_free(&s);
  sn_spec_files_free(&fl);
  inputs_free(&in);
  sn_free(W), sn_free(H);
  free(files);
  free(pos);
  return rc;
}
