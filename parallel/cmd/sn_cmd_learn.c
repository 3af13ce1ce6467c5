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
#include "sn_vcache.h"

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

/* Local (rank 0). Read the --list file into *text (malloc'd, room for a
 * final NUL), *len bytes. */
static int list_read(const char *list, char **text, int64_t *len, sn_err *e) {
  FILE *fp = fopen(list, "rb");
  if (!fp) return SN_FAIL(e, SN_ERR_IO, "%s: cannot open the list of inputs", list);
  int rc = SN_OK;
  *text = malloc(SN_LEARN_LIST_MAX + 1);
  if (!*text) rc = SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", list);
  else {
    *len = (int64_t)fread(*text, 1, SN_LEARN_LIST_MAX + 1, fp);
    if (ferror(fp)) rc = SN_FAIL(e, SN_ERR_IO, "%s: read error", list);
    else if (*len > SN_LEARN_LIST_MAX) rc = SN_FAIL(e, SN_ERR_INPUT, "%s: larger than %d MiB", list, SN_LEARN_LIST_MAX >> 20);
  }
  fclose(fp);
  return rc;
}

/* Collective, local code. Rank 0's *len to every rank, and a buffer for the
 * text on the others. */
static int list_bcast_len(sn_run *run, const char *list, int64_t *len, char **text, sn_err *e) {
  if (MPI_Bcast(len, 1, MPI_INT64_T, 0, run->comm) != MPI_SUCCESS)
    return SN_FAIL(e, SN_ERR_MPI, "%s: broadcast failed", list);
  if (run->rank != 0 && !(*text = malloc((size_t)*len + 1))) return SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", list);
  return SN_OK;
}

/* Collective, local code. Rank 0's text to every rank. */
static int list_bcast_text(sn_run *run, const char *list, int64_t len, char *text, sn_err *e) {
  int cnt = 0;
  int rc = sn_mpi_count(len, "--list", &cnt, e);
  if (rc == SN_OK && MPI_Bcast(text, cnt, MPI_CHAR, 0, run->comm) != MPI_SUCCESS)
    rc = SN_FAIL(e, SN_ERR_MPI, "%s: broadcast failed", list);
  return rc;
}

/* Local. At least one input. */
static int check_count(const learn_inputs *in, const char *list, sn_err *e) {
  if (in->n == 0)
    return SN_FAIL(e, SN_ERR_USAGE, list ? "%s: the list of inputs is empty" : "learn: no inputs (give FILE... or --list FILE)",
                   list);
  if (in->n > 0x7fffffff) return SN_FAIL(e, SN_ERR_USAGE, "learn: too many inputs");
  return SN_OK;
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
    SN_AGREE(run, run->rank == 0 ? list_read(list, &in->text, &len, e) : SN_OK);
    SN_AGREE(run, list_bcast_len(run, list, &len, &in->text, e));
    SN_AGREE(run, list_bcast_text(run, list, len, in->text, e));
    in->text[len] = '\0';
  }
  int64_t lines = 1;
  for (int64_t i = 0; i < len; i++) lines += in->text[i] == '\n';
  in->v = calloc((size_t)(n_pos + lines), sizeof *in->v);
  SN_AGREE(run, in->v ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "learn: out of memory"));
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
  SN_AGREE(run, check_count(in, list, e));
cleanup:
  return rc;
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

/* Local. learn's options; points nc->checkpoint_s at ckpt (DICT.h5.ckpt.h5)
 * unless --checkpoint names one. */
static int check_opts(const sn_common *com, const char *name, sn_nmf_cli *nc, char *ckpt, size_t cap, sn_err *e) {
  int rc;
  if (!com->output) rc = SN_FAIL(e, SN_ERR_USAGE, "learn: -o DICT.h5 is required");
  else if (!name) rc = SN_FAIL(e, SN_ERR_USAGE, "learn: --name NAME is required (the source the recordings hold)");
  else if (!sn_dict_name_ok(name))
    rc = SN_FAIL(e, SN_ERR_USAGE, "learn --name: '%s' is not a name (1-63 letters, digits, - and _)", name);
  else rc = sn_nmf_cli_check("learn", nc, e);
  snprintf(ckpt, cap, "%s.ckpt.h5", com->output ? com->output : "learn");
  if (!nc->checkpoint_s) nc->checkpoint_s = ckpt;
  return rc;
}

/* Local. V must fit k components (and the online solver's batch), and be
 * finite and nonnegative (when streamed, each piece was checked on its way
 * to the scratch file). */
static int check_v(const sn_nmf_cli *nc, const sn_spec *s, const char *first, sn_err *e) {
  int rc = sn_nmf_cli_check_k("learn", nc->k, s->F, s->N, "the inputs", e);
  if (rc == SN_OK) rc = sn_nmf_cli_check_batch("learn", nc, s->N, e);
  if (rc == SN_OK && s->mag)
    rc = sn_nmf_cli_check_v(s->mag, s->F, s->n_local, s->start, nc->beta, first, "the spectrogram", e);
  return rc;
}

/* --solver online: the spectrogram goes to a scratch file piece by piece,
 * each piece checked as check_v checks V. */
typedef struct learn_sink {
  sn_vcache *cache;
  const sn_spec *s;
  double beta;
  const char *first;
} learn_sink;

static int learn_put(void *ctx, int64_t j0, int64_t m, const float *V, sn_err *e) {
  const learn_sink *k = ctx;
  int rc = sn_nmf_cli_check_v(V, k->s->F, m, k->s->start + j0, k->beta, k->first, "the spectrogram", e);
  return rc ? rc : sn_vcache_put(k->cache, j0, m, V, e);
}

/* Local. The inputs joined for the dictionary's attribute (NULL: out of memory, recorded in e). */
static int join_inputs(const learn_inputs *in, char **files, sn_err *e) {
  *files = inputs_joined(in);
  return *files ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "learn: out of memory");
}

/* Collective (phase write). /dict/W with its attributes and the loss
 * history, then the output under its final name (*outp = NULL). */
static int learn_write(sn_run *run, sn_h5 **outp, const char *name, const sn_nmf_cli *nc, const sn_pnmf_state *st,
                       const sn_spec *s, const sn_spec_files *fl, const learn_inputs *in, const float *W) {
  sn_err *e = &run->err;
  char *files = NULL;
  int rc = sn_run_agree(run, join_inputs(in, &files, e));
  if (rc) return rc;
  sn_dict_meta m = {name, nc->beta, nc->solver_s, nc->init_s, st->iter, st->converged, st->loss, fl->seconds,
                    in->n, s->N, files, run->options};
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  rc = sn_dict_write(*outp, "/dict/W", s->F, nc->k, W, &s->par, &m, e);
  if (rc == SN_OK) rc = sn_h5_write_vec(*outp, "/dict/loss", st->n_hist, st->hist, e);
  if (rc == SN_OK) rc = sn_h5_close(outp, 1, e);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  free(files);
  return rc;
}

int sn_cmd_learn(sn_run *run, int argc, char **argv) {
  sn_err *e = &run->err;
  sn_common com = {0};
  sn_stft_cfg scfg = SN_STFT_CFG_DEFAULT;
  sn_nmf_cli nc = SN_NMF_CLI_DEFAULT(256);
  nc.k = SN_LEARN_DEFAULT_K;
  nc.beta_s = SN_LEARN_DEFAULT_BETA;
  scfg.context = SN_LEARN_DEFAULT_CONTEXT;
  const char *name = NULL, *list = NULL;
  const sn_opt t_main[] = {
      SN_COMMON_OPTS(&com),
      {"--name", 0, SN_OPT_STRING, &name, "NAME", "the source's name (letters, digits, - and _; required)"},
      {"--list", 0, SN_OPT_STRING, &list, "FILE", "read further inputs from FILE, one path per line"},
      {"--context", 0, SN_OPT_INT, &scfg.context, "C",
       "temporal context: each column of V and W is 2C + 1 frames stacked, C each side of its frame (default 2; "
       "0: plain frames, as nmf)"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t_nmf[] = {SN_NMF_OPTS(&nc), {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t_stft[] = {SN_STFT_OPTS(&scfg), {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t_main, t_nmf, t_stft, NULL};
  const char **pos = calloc(SN_LEARN_MAX_POS, sizeof *pos);
  int n_pos = 0, done = 0;
  int rc = sn_run_agree(run, pos ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "learn: out of memory"));
  if (rc) return rc;
  rc = sn_cli_parse(run, &com, "FILE... [--list FILE] --name NAME [-k R] -o DICT.h5 [options]",
                    "Learn one source's dictionary W (F (2C + 1) x R, default R = 32, context C = 2, KL divergence)\n"
                    "from recordings of that source: the frames of all inputs (audio files or stored spectrograms)\n"
                    "side by side as one V, each column a frame and its C neighbours each side stacked, split over\n"
                    "ranks by frame, factorized V ~= W H. Writes /dict/W with the STFT parameters, the context, the\n"
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
  char ckpt[4200];
  int64_t n_fixed = 0;
  learn_sink sink = {0};
  sn_signal_catch();

  /* ---- options and inputs ---- */
  SN_AGREE(run, check_opts(&com, name, &nc, ckpt, sizeof ckpt, e));
  SN_CHECK(inputs_collect(run, list, pos, n_pos, &in));

  /* ---- the output first (temporary name): a bad -o fails before the work ---- */
  SN_CHECK(sn_h5_create(run->comm, com.output, com.force, &out, e));

  /* ---- spectrogram: every input's frames side by side ---- */
  SN_PROGRESS(run, "learn: %s from %d input%s on %d rank%s, k = %lld, beta = %g", name, in.n, in.n > 1 ? "s" : "",
              run->size, run->size > 1 ? "s" : "", (long long)nc.k, nc.beta);
  if (nc.online) {
    char dir[4096];
    sn_nmf_cli_scratch_dir(&nc, com.output, 0, dir, sizeof dir);
    SN_AGREE(run, sn_vcache_open(dir, (scfg.n_fft / 2 + 1) * (2 * (scfg.context > 0 ? scfg.context : 0) + 1),
                                 &sink.cache, e));
  }
  sink.s = &s;
  sink.beta = nc.beta;
  sink.first = in.v[0];
  const sn_frame_sink put = {learn_put, &sink};
  SN_CHECK(sn_pstft_compute_files(run, in.v, in.n, &scfg, &s, &fl, sink.cache ? &put : NULL));
  SN_AGREE(run, check_v(&nc, &s, in.v[0], e));
  sn_frames frames = sink.cache ? sn_vcache_frames(sink.cache, s.n_local) : sn_frames_mem(s.mag, s.F, s.n_local);
  SN_PROGRESS(run, "learn: V %d x %lld (%.1f s of audio%s)", s.F, (long long)s.N, fl.seconds,
              s.par.context ? ", frames stacked with their context" : "");

  /* ---- factorize ---- */
  const sn_nmf_block blk = {s.mag, s.F, s.N, s.start, s.n_local, in.v[0], nc.checkpoint_s, NULL, NULL, NULL, &frames};
  SN_CHECK(sn_nmf_cli_run(run, "learn", &nc, &blk, &o, &W, &H, &st, &n_fixed));
  SN_PROGRESS(run, "learn: NMF %lld iterations, loss %.6g%s", (long long)st.iter, st.loss,
              st.converged ? " (converged)" : "");

  /* ---- the dictionary ---- */
  SN_CHECK(learn_write(run, &out, name, &nc, &st, &s, &fl, &in, W));
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
  sn_vcache_close(&sink.cache);
  inputs_free(&in);
  sn_free(W), sn_free(H);
  free(pos);
  return rc;
}
