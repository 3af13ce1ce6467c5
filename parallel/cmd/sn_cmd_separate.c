/* specnmf separate and specnmf griffinlim (see sn_cmd_separate.h). */
#include "sn_cmd_separate.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sn_audio.h"
#include "sn_cli.h"
#include "sn_comm.h"
#include "sn_group.h"
#include "sn_h5.h"
#include "sn_mask.h"
#include "sn_nmf_cli.h"
#include "sn_pgriffinlim.h"
#include "sn_plot.h"
#include "sn_png.h"
#include "sn_pnmf.h"
#include "sn_pstft.h"
#include "sn_signal.h"
#include "sn_sources.h"
#include "sn_pstream.h"
#include "sn_wav.h"

/* The loss of separate when neither --beta nor a dictionary says (measured:
 * README "Separation quality"). */
#define SN_SEPARATE_DEFAULT_BETA "fro"

/* Seconds of audio per block of a streamed separation (measured: README
 * "Streamed separation"). */
#define SN_SEPARATE_DEFAULT_BLOCK_SECONDS 30.0

/* --max-iter of a streamed separation when not given: where the SDR stops
 * improving (measured: README "Streamed separation"). */
#define SN_SEPARATE_STREAM_DEFAULT_ITER 100

/* ---------------------------------------------------------------- groups -- */

/* Sources: members of source s are idx[first[s] .. first[s+1]); named
 * sources (--source) have names, else they are component-NN or source-NN. */
typedef struct sn_groups {
  int n_src, n_idx;
  int *first; /* n_src + 1 */
  int *idx;
  const char *name[SN_OPT_LIST_MAX + 1]; /* NULL: numbered */
  char *name_buf; /* --sources: storage of the names source-NN */
} sn_groups;

static void sn_groups_free(sn_groups *g) {
  free(g->first);
  free(g->idx);
  free(g->name_buf);
  memset(g, 0, sizeof *g);
}

/* Local. Parse "0+1,2,3+4" (syntax only; indices are checked against R later). */
static int sn_groups_parse(const char *s, sn_groups *g, sn_err *e) {
  memset(g, 0, sizeof *g);
  size_t len = strlen(s);
  g->first = calloc(len + 2, sizeof(int));
  g->idx = calloc(len + 1, sizeof(int));
  if (!g->first || !g->idx) return SN_FAIL(e, SN_ERR_NOMEM, "separate --group: out of memory");
  const char *p = s;
  g->first[0] = 0;
  for (;;) {
    /* one source: INT(+INT)* */
    for (;;) {
      if (*p < '0' || *p > '9')
        return SN_FAIL(e, SN_ERR_USAGE,
                       "separate --group: '%s' is not a list like 0+1,2,3+4 (component numbers joined by + "
                       "make one source; sources are separated by commas)", s);
      char *end = NULL;
      errno = 0;
      long v = strtol(p, &end, 10);
      if (errno || v > INT_MAX / 2)
        return SN_FAIL(e, SN_ERR_USAGE, "separate --group: component number too large in '%s'", s);
      g->idx[g->n_idx++] = (int)v;
      p = end;
      if (*p == '+') {
        p++;
        continue;
      }
      break;
    }
    g->first[++g->n_src] = g->n_idx;
    if (*p == ',') {
      p++;
      continue;
    }
    if (*p == '\0') break;
    return SN_FAIL(e, SN_ERR_USAGE,
                   "separate --group: '%s' is not a list like 0+1,2,3+4 (unexpected '%c')", s, *p);
  }
  return SN_OK;
}

/* Local. Every component number must exist and appear once. */
static int sn_groups_check(const sn_groups *g, int64_t R, sn_err *e) {
  for (int i = 0; i < g->n_idx; i++) {
    if (g->idx[i] >= R)
      return SN_FAIL(e, SN_ERR_USAGE,
                     "separate --group: component %d does not exist (there are %lld components, 0..%lld)",
                     g->idx[i], (long long)R, (long long)(R - 1));
    for (int j = 0; j < i; j++)
      if (g->idx[j] == g->idx[i])
        return SN_FAIL(e, SN_ERR_USAGE, "separate --group: component %d is named twice", g->idx[i]);
  }
  return SN_OK;
}

/* Local. One source per component. */
static int sn_groups_identity(sn_groups *g, int64_t R, sn_err *e) {
  memset(g, 0, sizeof *g);
  g->first = calloc((size_t)R + 1, sizeof(int));
  g->idx = calloc((size_t)R, sizeof(int));
  if (!g->first || !g->idx) return SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory");
  for (int k = 0; k < R; k++) {
    g->idx[k] = k;
    g->first[k + 1] = k + 1;
  }
  g->n_src = g->n_idx = (int)R;
  return SN_OK;
}

/* Local. One source per dictionary of --source (its columns, in order), and
 * "rest" for the n_free learned columns after them. */
static int sn_groups_sources(sn_groups *g, const sn_sources *src, int64_t n_free, sn_err *e) {
  memset(g, 0, sizeof *g);
  const int64_t k = src->first[src->n] + n_free;
  g->first = calloc((size_t)src->n + 2, sizeof(int));
  g->idx = calloc((size_t)k, sizeof(int));
  if (!g->first || !g->idx) return SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory");
  for (int64_t r = 0; r < k; r++) g->idx[r] = (int)r;
  for (int i = 0; i < src->n; i++) {
    g->first[i + 1] = (int)src->first[i + 1];
    g->name[i] = src->name[i];
  }
  g->n_src = src->n;
  if (n_free > 0) {
    g->first[++g->n_src] = (int)k;
    g->name[src->n] = "rest";
  }
  g->n_idx = (int)k;
  return SN_OK;
}

/* ---------------------------------------------------------- output folder -- */

#define SN_MAX_CREATED 64
typedef struct sn_outdir {
  char path[4096];
  int n_dirs;                      /* folders this run created (rank 0) */
  char dirs[SN_MAX_CREATED][4096];
  int n_files;                     /* files this run committed (rank 0) */
  char files[SN_MAX_CREATED][4200];
} sn_outdir;

static int sn_is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Local (rank 0). Can `dir` be created? Walk up to the nearest existing
 * ancestor: it (and dir, if it exists) must be a folder. Creates nothing. */
static int sn_outdir_precheck(const char *dir, sn_err *e) {
  char buf[4096];
  if (!dir[0]) return SN_FAIL(e, SN_ERR_USAGE, "separate: -o OUTDIR is empty");
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
    return SN_FAIL(e, SN_ERR_USAGE, "%s: path too long", dir);
  struct stat st;
  if (stat(buf, &st) == 0)
    return S_ISDIR(st.st_mode) ? SN_OK
                               : SN_FAIL(e, SN_ERR_IO, "%s: cannot create the output folder: it exists and is not a folder", dir);
  for (;;) {
    char *slash = strrchr(buf, '/');
    while (slash && slash > buf && slash[1] == '\0') { /* trailing slashes */
      *slash = '\0';
      slash = strrchr(buf, '/');
    }
    if (!slash) return SN_OK; /* relative, ancestor is "." */
    if (slash == buf) return SN_OK;
    *slash = '\0';
    if (stat(buf, &st) == 0) {
      if (S_ISDIR(st.st_mode)) return access(buf, W_OK | X_OK) == 0
                                          ? SN_OK
                                          : SN_FAIL(e, SN_ERR_IO, "%s: cannot create the output folder: %s is not writable", dir, buf);
      return SN_FAIL(e, SN_ERR_IO, "%s: cannot create the output folder: %s is not a folder", dir, buf);
    }
  }
}

/* Local (rank 0). mkdir -p, remembering the folders it made. */
static int sn_outdir_make(sn_outdir *o, sn_err *e) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", o->path);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char c = buf[i];
    buf[i] = '\0';
    if (!sn_is_dir(buf)) {
      if (mkdir(buf, 0777) != 0 && !(errno == EEXIST && sn_is_dir(buf)))
        return SN_FAIL(e, SN_ERR_IO, "%s: cannot create the output folder: %s", o->path, strerror(errno));
      if (o->n_dirs < SN_MAX_CREATED) snprintf(o->dirs[o->n_dirs++], sizeof o->dirs[0], "%s", buf);
    }
    buf[i] = c;
  }
  return SN_OK;
}

static void sn_outdir_file(sn_outdir *o, const char *path) {
  if (o->n_files < SN_MAX_CREATED) snprintf(o->files[o->n_files++], sizeof o->files[0], "%s", path);
}

/* Local (rank 0). After a failure: remove what this run committed and the
 * folders it created (if they are empty then). */
static void sn_outdir_undo(sn_outdir *o) {
  for (int i = 0; i < o->n_files; i++) unlink(o->files[i]);
  for (int i = o->n_dirs - 1; i >= 0; i--) rmdir(o->dirs[i]);
  o->n_files = o->n_dirs = 0;
}

/* Collective. Create the folder on rank 0 (before anything is written). */
static int sn_outdir_create(sn_run *run, sn_outdir *o) {
  int rc = run->rank == 0 ? sn_outdir_make(o, &run->err) : SN_OK;
  return sn_agree(run->comm, rc, &run->err);
}

/* ------------------------------------------------------------- helpers -- */

/* Collective (every rank calls it): the compat callback of sn_nmf_cli_run, a
 * --fix-W dictionary must carry the spectrogram parameters of V (ctx). */
static int sn_sep_compat(void *ctx, sn_h5 *f, const char *obj, const char *file, sn_err *e) {
  sn_spec_params fp;
  int rc = sn_spec_params_read(f, obj, &fp, e);
  return rc ? rc : sn_spec_params_check((const sn_spec_params *)ctx, &fp, file, e);
}

/* Collective. Reduce a pooled array to rank 0 (MAX or SUM). */
static int sn_reduce_pool(sn_run *run, float *a, int64_t n, int mode) {
  int cnt = 0;
  int rc = sn_mpi_count(n, "plot pooling", &cnt, &run->err);
  rc = sn_agree(run->comm, rc, &run->err);
  if (rc) return rc;
  SN_MPI_CALL(MPI_Reduce(run->rank == 0 ? MPI_IN_PLACE : a, a, cnt, MPI_FLOAT, mode == SN_POOL_MAX ? MPI_MAX : MPI_SUM,
                         0, run->comm));
  return SN_OK;
}

static void sn_pool_finish_mean(float *a, int64_t rows, int64_t N, int P) {
  for (int j = 0; j < P; j++) {
    int64_t c = sn_plot_pool_count(N, P, j);
    for (int64_t r = 0; r < rows; r++) a[r + j * rows] = c > 0 ? a[r + j * rows] / (float)c : 0.0f;
  }
}

/* Collective. Write one source's owned samples y (frames [y0, y0 + ny) of
 * nch interleaved channels) to a WAV (and to result.h5 if h5: interleaved,
 * with a channels attribute). */
static int sn_write_source(sn_run *run, sn_outdir *od, const char *name, double sr, int64_t length, int force,
                           int64_t y0, int64_t ny, const float *y, int nch, sn_h5 *h5) {
  sn_err *e = &run->err;
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.wav", od->path, name);
  sn_wav *w = NULL;
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  int rc = sn_wav_create_ch(run->comm, path, sr, length, nch, force, 0, &w, e);
  if (rc == SN_OK) rc = sn_wav_write(w, y0, ny, y, e);
  int crc = sn_wav_close(&w, rc == SN_OK, e);
  if (rc == SN_OK) rc = crc;
  if (rc == SN_OK && run->rank == 0) sn_outdir_file(od, path);
  if (rc == SN_OK && h5) {
    char ds[256];
    snprintf(ds, sizeof ds, "/separate/audio/%s", name);
    rc = sn_h5_write_1d(h5, ds, length * nch, y0 * nch, ny * nch, y, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(h5, ds, "sample_rate", sr, e);
    if (rc == SN_OK && nch > 1) rc = sn_h5_attr_set_int(h5, ds, "channels", nch, e);
  }
  sn_timer_end(&run->timer, SN_PH_WRITE);
  return rc;
}

/* Collective. As sn_write_source, from the owned samples of a finished pola. */
static int sn_write_source_pola(sn_run *run, sn_outdir *od, const char *name, double sr, int64_t length, int force,
                                sn_poverlap *p, sn_h5 *h5) {
  int64_t y0, ny;
  sn_poverlap_owned(p, &y0, &ny);
  return sn_write_source(run, od, name, sr, length, force, y0, ny, sn_poverlap_owned_ptr(p), 1, h5);
}

/* Collective. Read this rank's span [b0, b0 + lenb) of the mixture for the
 * reconstruction: nch channels one after the other in *mix (lenb each). */
static int sep_read_mixture(sn_run *run, const char *in, const sn_stft_cfg *scfg, int nch, int64_t b0, int64_t lenb,
                            float **mix) {
  sn_err *e = &run->err;
  sn_audio *au = NULL;
  sn_audio_opts ao = {sn_stft_cfg_audio_channel(scfg), scfg->sr, scfg->normalize};
  sn_audio_info info;
  sn_timer_begin(&run->timer, SN_PH_READ);
  int rc = sn_agree(run->comm, sn_audio_open(in, &ao, &au, &info, e), e);
  if (rc == SN_OK && scfg->normalize) rc = sn_audio_normalize(run->comm, au, NULL, e);
  if (rc == SN_OK) {
    int64_t n = lenb > 0 ? lenb : 1;
    *mix = sn_calloc((size_t)(n * nch) * sizeof(float), "mixture samples", e);
    int lrc = *mix ? SN_OK : SN_ERR_NOMEM;
    for (int c = 0; c < nch && lrc == SN_OK && lenb > 0; c++) {
      sn_audio_select(au, c);
      lrc = sn_audio_read(au, b0, lenb, *mix + c * n, e);
    }
    rc = sn_agree(run->comm, lrc, e);
  }
  sn_audio_close(&au);
  sn_timer_end(&run->timer, SN_PH_READ);
  return rc;
}

/* Local. Channel c of nch into the interleaved frames Y (ny frames). */
static void sep_interleave(const float *y, int64_t ny, int c, int nch, float *Y) {
  for (int64_t i = 0; i < ny; i++) Y[i * nch + c] = y[i];
}

/* Local. Phase, several channels: V (F x nf) = the channels' magnitudes of
 * frames [t0, t0 + nf) reduced by the rule (mean |X_c|, or rms), from the
 * same plan as the channel's transform. x: nch channels of ld samples. */
static int sep_channel_reduce(sn_stft_plan *plan, const float *x, int64_t ld, int nch, int rms, int64_t F, int64_t t0,
                              int64_t nf, float *Zc, float *V, sn_err *e) {
  const int hop = sn_stft_hop(plan);
  memset(V, 0, (size_t)(F * nf) * sizeof(float));
  for (int c = 0; c < nch; c++) {
    int rc = sn_stft_exec(plan, x + c * ld + t0 * hop, nf, 1, NULL, 0, Zc, F, e);
    if (rc) return rc;
    for (int64_t i = 0; i < F * nf; i++) {
      float p = Zc[2 * i] * Zc[2 * i] + Zc[2 * i + 1] * Zc[2 * i + 1];
      V[i] += rms ? p : sqrtf(p);
    }
  }
  for (int64_t i = 0; i < F * nf; i++) V[i] = rms ? sqrtf(V[i] / (float)nch) : V[i] / (float)nch;
  return SN_OK;
}

/* Collective. One source of channel c (of nch, one after the other in mix, ld
 * samples each: this rank's span) by mask or phase: transform the channel
 * frame by frame (Z: complex scratch of one batch), apply the source's mask,
 * overlap-add and finish into the pola's owned samples. D is the mask
 * denominator (mask) or V (phase, one channel). Phase with several channels
 * uses S (4 F x batch floats of scratch) and the rule (rms). */
static int sep_channel_part(sn_run *run, sn_poverlap *pola, sn_recon_kind recon, int64_t F, int64_t k, int64_t n_local,
                            const float *W, const float *H, const float *D, const int *idx, int m, double mask_power,
                            int power, const float *mix, int64_t ld, int nch, int c, int rms, float *Z, float *S) {
  sn_err *e = &run->err;
  sn_stft_plan *plan = sn_poverlap_plan(pola);
  const int batch = sn_stft_batch(plan), hop = sn_stft_hop(plan);
  const float *x = mix + c * ld;
  float *A = S, *Vc = S ? S + F * batch : NULL, *Zc = S ? S + 2 * F * batch : NULL;
  sn_timer_begin(&run->timer, SN_PH_ISTFT);
  sn_poverlap_clear(pola);
  int lrc = SN_OK;
  for (int64_t t0 = 0; t0 < n_local && lrc == SN_OK; t0 += batch) {
    int64_t nf = n_local - t0 < batch ? n_local - t0 : batch;
    lrc = sn_stft_exec(plan, x + t0 * hop, nf, 1, NULL, 0, Z, F, e);
    if (lrc) break;
    if (recon == SN_RECON_PHASE && nch > 1) {
      lrc = sep_channel_reduce(plan, mix, ld, nch, rms, F, t0, nf, Zc, Vc, e);
      if (lrc) break;
      sn_mask_phase_channel(F, k, nf, W, H + t0 * k, Vc, idx, m, power, A, Z, Z);
    } else {
      sn_mask_apply(recon, F, k, nf, W, H + t0 * k, D + t0 * F, idx, m, mask_power, power, Z, Z);
    }
    lrc = sn_poverlap_add(pola, t0, nf, Z, e);
  }
  int rc = sn_agree(run->comm, lrc, e);
  sn_timer_end(&run->timer, SN_PH_ISTFT);
  return rc ? rc : sn_poverlap_finish(run, pola, 0);
}

/* Local. The --source options before any work: the names, and what may not
 * go with them (--group, --fix-W, a negative --free, --free alone). */
static int sep_sources_check(const sn_strlist *args, int64_t n_free, const char *group_s, const sn_nmf_cli *nc,
                             sn_sources *src, sn_err *e) {
  if (n_free != INT64_MIN && n_free < 0)
    return SN_FAIL(e, SN_ERR_USAGE, "separate --free: must be >= 0 (got %lld)", (long long)n_free);
  if (!args->n) {
    if (n_free != INT64_MIN) return SN_FAIL(e, SN_ERR_USAGE, "separate --free: goes with --source (without it, give -k)");
    return SN_OK;
  }
  if (group_s) return SN_FAIL(e, SN_ERR_USAGE, "separate: --group does not go with --source (the sources are named)");
  if (nc->fix_W_s) return SN_FAIL(e, SN_ERR_USAGE, "separate: --fix-W does not go with --source (give the dictionary as a --source)");
  return sn_sources_parse(args, src, e);
}

/* Collective. Read the dictionaries of the named sources, checked against the
 * parameters the input's spectrogram will have (before the transform), and
 * make them the fixed columns of W: k = their columns + n_free (a -k that
 * says otherwise is refused), beta = --beta, else the dictionaries' (beta_buf
 * holds it), else the default. */
static int sep_sources_setup(sn_run *run, const char *in, const sn_stft_cfg *scfg, int64_t n_free, sn_nmf_cli *nc,
                             sn_sources *src, char *beta_buf, size_t cap) {
  sn_err *e = &run->err;
  sn_spec_params par;
  int rc = sn_pstft_params(run, in, scfg, &par);
  if (rc == SN_OK) rc = sn_sources_load(run, &par, nc->beta_s != NULL, src);
  if (rc) return rc;
  const int64_t k = src->first[src->n] + (n_free > 0 ? n_free : 0);
  int lrc = SN_OK;
  if (nc->k != 0 && nc->k != k)
    lrc = SN_FAIL(e, SN_ERR_USAGE,
                  "separate -k: %lld contradicts the sources: their dictionaries have %lld columns and --free is %lld, "
                  "so k = %lld (leave -k out)",
                  (long long)nc->k, (long long)src->first[src->n], (long long)(n_free > 0 ? n_free : 0), (long long)k);
  nc->k = k;
  nc->fix_W = src->W;
  nc->fix_W_cols = src->first[src->n];
  if (!nc->beta_s) {
    if (src->has_beta) snprintf(beta_buf, cap, "%.17g", src->beta);
    else snprintf(beta_buf, cap, "%s", SN_SEPARATE_DEFAULT_BETA);
    nc->beta_s = beta_buf;
  }
  if (lrc == SN_OK) lrc = sn_nmf_cli_check("separate", nc, e);
  return sn_agree(run->comm, lrc, e);
}

/* Collective. The named sources in result.h5: /separate/sources/NAME/components
 * (the columns of W and rows of H of each source, and of rest) with the
 * dictionary as an attribute, and /separate source_names "a,b,rest". */
static int sep_write_sources(sn_h5 *res, const sn_groups *g, const sn_sources *src, sn_err *e) {
  char names[SN_OPT_LIST_MAX * 66] = "", ds[256];
  size_t len = 0;
  double *cols = malloc(((size_t)g->n_idx + 1) * sizeof *cols);
  /* the writes are collective: agree on the buffer first */
  int rc = sn_agree(sn_h5_comm(res), cols ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"), e);
  for (int s = 0; s < g->n_src && rc == SN_OK; s++) {
    int m = g->first[s + 1] - g->first[s];
    for (int j = 0; j < m; j++) cols[j] = g->idx[g->first[s] + j];
    snprintf(ds, sizeof ds, "/separate/sources/%s/components", g->name[s]);
    rc = sn_h5_write_vec(res, ds, m, cols, e);
    snprintf(ds, sizeof ds, "/separate/sources/%s", g->name[s]);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, ds, "dictionary", s < src->n ? src->file[s] : "(learned: --free)", e);
    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", s ? "," : "", g->name[s]);
  }
  if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/separate", "source_names", names, e);
  free(cols);
  return rc;
}

/* Local. The --sources options before any work: what may not go with them
 * (--group, --source), S in 1..R, --grouping named. n_sources is INT_MIN
 * when not given. */
static int sep_auto_check(int n_sources, const char *grouping_s, const char *group_s, const sn_strlist *src_args,
                          int64_t k, sn_group_method *m, sn_err *e) {
  if (n_sources == INT_MIN)
    return grouping_s ? SN_FAIL(e, SN_ERR_USAGE, "separate --grouping: goes with --sources S") : SN_OK;
  if (group_s) return SN_FAIL(e, SN_ERR_USAGE, "separate: --sources does not go with --group (give one or the other)");
  if (src_args->n)
    return SN_FAIL(e, SN_ERR_USAGE, "separate: --sources does not go with --source (named dictionaries are grouped already)");
  if (n_sources < 1) return SN_FAIL(e, SN_ERR_USAGE, "separate --sources: must be >= 1 (got %d)", n_sources);
  if (n_sources > k)
    return SN_FAIL(e, SN_ERR_USAGE, "separate --sources: %d sources of %lld components (S must be <= -k)", n_sources,
                   (long long)k);
  return sn_group_method_parse(grouping_s ? grouping_s : "both", m, e);
}

/* Collective. --sources S: group the k components (W replicated, this rank's
 * frames of H) into S sources named source-NN by sn_group_components: the H
 * statistic (H H^T and row sums, k*k + k doubles) is reduced once, rank 0
 * clusters and broadcasts the labels. list (cap bytes) gets the grouping as
 * a --group list ("0+3,1+2"), or "" if it does not fit. */
static int sep_group_auto(sn_run *run, sn_groups *g, int S, sn_group_method m, const sn_spec *s, int64_t k,
                          const float *W, const float *H, char *list, size_t cap) {
  sn_err *e = &run->err;
  const int64_t n = sn_group_hstat_len(k);
  double *stat = calloc((size_t)n, sizeof *stat);
  int *lab = calloc((size_t)k, sizeof *lab);
  memset(g, 0, sizeof *g);
  g->first = calloc((size_t)S + 1, sizeof(int));
  g->idx = calloc((size_t)k, sizeof(int));
  g->name_buf = calloc((size_t)S, 24);
  int lrc = (stat && lab && g->first && g->idx && g->name_buf) ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory");
  if (lrc == SN_OK && m != SN_GROUP_TIMBRE) sn_group_hstat(k, s->n_local, H, stat);
  int rc = m != SN_GROUP_TIMBRE ? sn_run_allreduce_sum(run, stat, (size_t)n, lrc) : sn_agree(run->comm, lrc, e);
  if (rc == SN_OK) {
    lrc = run->rank == 0 ? sn_group_components(m, s->F, k, W, s->par.sample_rate, s->par.n_fft, s->N, stat, S, lab, e)
                         : SN_OK;
    rc = sn_agree(run->comm, lrc, e);
  }
  int cnt = 0;
  if (rc == SN_OK) rc = sn_agree(run->comm, sn_mpi_count(k, "grouping labels", &cnt, e), e);
  if (rc == SN_OK) SN_MPI_CALL(MPI_Bcast(lab, cnt, MPI_INT, 0, run->comm));
  rc = sn_agree(run->comm, rc, e);
  if (rc == SN_OK) {
    size_t used = 0;
    list[0] = '\0';
    for (int src = 0; src < S; src++) {
      g->first[src] = g->n_idx;
      for (int64_t r = 0; r < k; r++)
        if (lab[r] == src) {
          g->idx[g->n_idx++] = (int)r;
          if (used < cap)
            used += (size_t)snprintf(list + used, cap - used, "%s%lld", g->first[src] == g->n_idx - 1 ? (src ? "," : "") : "+",
                                     (long long)r);
        }
      snprintf(g->name_buf + 24 * src, 24, "source-%02d", src);
      if (src <= SN_OPT_LIST_MAX) g->name[src] = g->name_buf + 24 * src;
    }
    if (used >= cap) list[0] = '\0';
    g->first[S] = g->n_idx;
    g->n_src = S;
  }
  free(stat);
  free(lab);
  return rc;
}

/* Collective. The run's options and facts as the "report" attribute of
 * /separate in result.h5 (both the streamed and the in-memory path). */
static int sep_store_report(sn_run *run, sn_h5 *res) {
  sn_err *e = &run->err;
  size_t cap = sizeof run->options + sizeof run->facts + 64;
  char *rep = malloc(cap);
  if (rep) snprintf(rep, cap, "{\"options\": {%s}, \"facts\": {%s}}", run->options, run->facts);
  int rc = sn_agree(run->comm, rep ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"), e);
  if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/separate", "report", rep, e);
  free(rep);
  return rc;
}

/* ---------------------------------------------------------- streamed -- */

/* Collective. The streamed separation (every column of W fixed, see
 * parallel/sn_stream.h): the outputs, then result.h5 with W and the report
 * (no V unless the batch path runs, no H: it would grow with the recording). */
static int sep_stream(sn_run *run, const char *in, const sn_stft_cfg *scfg, const sn_spec_params *par,
                      const sn_nmf_cli *nc, const float *W, const sn_groups *grp, const sn_sources *src,
                      double block_seconds, sn_recon_kind recon, const char *recon_s, double mask_power,
                      const sn_common *com, const char *numbered, sn_outdir *od) {
  sn_err *e = &run->err;
  const int64_t F = par->n_fft / 2 + 1, k = nc->k;
  sn_h5 *res = NULL;
  char (*paths)[4200] = calloc((size_t)grp->n_src + 1, sizeof *paths);
  int rc = sn_agree(run->comm, paths ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"), e);
  if (rc) return rc;
  sn_stream_cfg c;
  memset(&c, 0, sizeof c);
  c.input = in, c.scfg = scfg, c.par = par, c.W = W;
  c.ncfg.F = F, c.ncfg.R = k, c.ncfg.beta = nc->beta, c.ncfg.solver = nc->solver, c.ncfg.tile = nc->tile;
  c.ncfg.l1_H = (double)F * nc->alpha_H * nc->l1_ratio;
  c.ncfg.l2_H = (double)F * nc->alpha_H * (1.0 - nc->l1_ratio);
  c.ncfg.n_fixed = k;
  c.max_iter = nc->max_iter;
  c.recon = recon, c.mask_power = mask_power;
  c.n_src = grp->n_src, c.first = grp->first, c.idx = grp->idx, c.path = paths;
  c.force = com->force, c.checkpoint = nc->checkpoint_s, c.resume = nc->resume;
  c.checkpoint_every = nc->checkpoint_every;
  SN_CHECK(sn_agree(run->comm, sn_stream_block_frames("separate", block_seconds, par, &c.block, e), e));
  for (int g = 0; g < grp->n_src; g++) {
    if (grp->name[g]) snprintf(paths[g], sizeof paths[g], "%s/%s.wav", od->path, grp->name[g]);
    else snprintf(paths[g], sizeof paths[g], "%s/%s-%02d.wav", od->path, numbered, g);
  }
  SN_PROGRESS(run, "separate: streamed, blocks of %lld frames (%g s), %lld H updates per frame", (long long)c.block,
              c.block * (double)par->hop / par->sample_rate, (long long)c.max_iter);
  SN_CHECK(sn_outdir_create(run, od));
  sn_stream_out so;
  SN_CHECK(sn_stream_separate(run, &c, &so));
  for (int g = 0; g < grp->n_src && run->rank == 0; g++) sn_outdir_file(od, paths[g]);
  SN_PROGRESS(run, "separate: %lld frames in %lld blocks, loss %.6g; wrote %d sources to %s", (long long)so.N,
              (long long)so.n_blocks, so.loss, grp->n_src, od->path);
  {
    char path[4200];
    snprintf(path, sizeof path, "%s/result.h5", od->path);
    sn_timer_begin(&run->timer, SN_PH_WRITE);
    rc = sn_h5_create(run->comm, path, com->force, &res, e);
    if (rc == SN_OK) rc = sn_h5_write_cols(res, "/nmf/W", F, k, 0, run->rank == 0 ? k : 0, W, F, e);
    if (rc == SN_OK) rc = sn_spec_params_write(res, "/nmf/W", par, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(res, "/nmf", "beta", nc->beta, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/nmf", "solver", nc->solver_s, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_int(res, "/nmf", "n_iter", nc->max_iter, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_int(res, "/nmf", "n_fixed", k, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(res, "/nmf", "loss", so.loss, e);
    if (rc == SN_OK) {
      double *gv = calloc((size_t)k, sizeof *gv);
      /* the write is collective: agree on the buffer first */
      rc = sn_agree(run->comm, gv ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"), e);
      for (int64_t r = 0; gv && r < k; r++) gv[r] = -1;
      for (int g = 0; gv && g < grp->n_src; g++)
        for (int j = grp->first[g]; j < grp->first[g + 1]; j++) gv[grp->idx[j]] = g;
      if (rc == SN_OK) rc = sn_h5_write_vec(res, "/separate/source_of_component", k, gv, e);
      free(gv);
    }
    if (rc == SN_OK) rc = sn_h5_attr_set_int(res, "/separate", "stream_block_frames", c.block, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/separate", "reconstruct", recon_s, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(res, "/separate", "mask_power", mask_power, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_int(res, "/separate", "n_sources", grp->n_src, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/separate", "input", in, e);
    if (rc == SN_OK && src->n) rc = sep_write_sources(res, grp, src, e);
    sn_timer_end(&run->timer, SN_PH_WRITE);
    if (rc) goto cleanup;
    sn_run_fact_int(run, "F", F);
    sn_run_fact_int(run, "N", so.N);
    sn_run_fact_int(run, "k", k);
    sn_run_fact_int(run, "n_sources", grp->n_src);
    sn_run_fact_int(run, "n_iter", nc->max_iter);
    sn_run_fact_int(run, "stream_block_frames", c.block);
    sn_run_fact_int(run, "stream_blocks", so.n_blocks);
    sn_run_fact_double(run, "loss", so.loss);
    sn_run_fact_str(run, "reconstruct", recon_s);
    sn_run_fact_str(run, "outdir", od->path);
    if ((rc = sep_store_report(run, res))) goto cleanup;
    rc = sn_h5_close(&res, 1, e);
    if (rc == SN_OK && run->rank == 0) sn_outdir_file(od, path);
  }
cleanup:
  if (res) sn_h5_close(&res, 0, e);
  free(paths);
  return rc;
}

/* -------------------------------------------------------------- separate -- */

int sn_cmd_separate(sn_run *run, int argc, char **argv) {
  sn_err *e = &run->err;
  sn_common com = {0};
  sn_stft_cfg scfg = SN_STFT_CFG_DEFAULT;
  sn_nmf_cli nc = SN_NMF_CLI_DEFAULT(256);
  double mask_power = 1.0, momentum = 0.99;
  const char *recon_s = "mask", *group_s = NULL, *gl_init_s = "random", *pool_s = "max";
  int store_audio = 0, gl_iter = 32, no_plot = 0, store_spec = 0;
  double block_seconds = -1; /* not given: stream when every column is fixed */
  sn_strlist src_args = {0};
  int64_t n_free = INT64_MIN; /* not given */
  int n_sources = INT_MIN;    /* not given */
  const char *grouping_s = NULL;
  sn_group_method grouping = SN_GROUP_BOTH;
  char *auto_list = NULL;
  nc.beta_s = NULL; /* --source: the dictionaries' beta, else the command's default */
  nc.max_iter = INT64_MIN; /* not given: the batch or the streamed default */
  const sn_opt t_main[] = {
      SN_COMMON_OPTS(&com),
      {"--source", 0, SN_OPT_LIST, &src_args, "NAME=DICT.h5[:/path]",
       "a named source: its dictionary (from learn: /dict/W, else /nmf/W) held fixed; repeat per source; writes NAME.wav"},
      {"--free", 0, SN_OPT_INT64, &n_free, "R",
       "with --source: R more learned columns for what the dictionaries miss (writes rest.wav; default 0)"},
      {"--reconstruct", 0, SN_OPT_STRING, &recon_s, "HOW",
       "mask (soft mask on each channel's STFT; parts add up to the mixture per channel) | phase (W_k H_k with each "
       "channel's phase, spread over the channels as |X_c| / V) | griffinlim (from W_k H_k alone: mono parts) (default mask)"},
      {"--mask-power", 0, SN_OPT_DOUBLE, &mask_power, "P", "soft mask (W_k H_k)^P / sum_j (W_j H_j)^P (default 1)"},
      {"--group", 0, SN_OPT_STRING, &group_s, "LIST", "sum components into sources: 0+1,2,3+4 (writes source-NN.wav)"},
      {"--sources", 0, SN_OPT_INT, &n_sources, "S",
       "group the -k R components into S sources automatically, with no dictionaries (writes source-NN.wav)"},
      {"--grouping", 0, SN_OPT_STRING, &grouping_s, "HOW",
       "with --sources: both (spectral flatness of W and co-activation in H; default) | coact (H only) | timbre (cepstra of W)"},
      {"--store-audio", 0, SN_OPT_FLAG, &store_audio, NULL, "also store each part's audio in result.h5 (/separate/audio)"},
      {"--block-seconds", 0, SN_OPT_DOUBLE, &block_seconds, "S",
       "with every column fixed (--source without --free, or --fix-W of all k): stream the input in blocks of S "
       "seconds of audio, memory set by the block (default 30; 0: hold the whole span); exactly --max-iter H updates "
       "per frame (default 100 when streamed), no V or H in result.h5, no overview.png; a checkpoint every 10 s of wall time at a block's end, "
       "or every N blocks with --checkpoint-every N"},
      {"--store-spectrogram", 0, SN_OPT_FLAG, &store_spec, NULL,
       "store V in result.h5 also when every column is fixed (the run is then not streamed)"},
      {"--gl-iter", 0, SN_OPT_INT, &gl_iter, "N", "Griffin-Lim iterations (default 32)"},
      {"--momentum", 0, SN_OPT_DOUBLE, &momentum, "X", "Griffin-Lim momentum (default 0.99)"},
      {"--gl-init", 0, SN_OPT_STRING, &gl_init_s, "random|zero", "Griffin-Lim start phases (default random)"},
      {"--pool", 0, SN_OPT_STRING, &pool_s, "max|mean", "pooling of long spectrograms for overview.png (default max)"},
      {"--no-plot", 0, SN_OPT_FLAG, &no_plot, NULL, "do not draw overview.png"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t_nmf[] = {SN_NMF_OPTS(&nc), {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t_stft[] = {SN_STFT_OPTS(&scfg), {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t_main, t_nmf, t_stft, NULL};
  const char *pos[1] = {NULL};
  int n_pos = 0, done = 0;
  int rc = sn_cli_parse(run, &com, "IN (-k R | --source NAME=DICT.h5 ... [--free R]) -o OUTDIR [options]",
                        "Separate a recording into R parts: spectrogram, distributed NMF V ~= W H, one sound per\n"
                        "component (or per source with --group or --sources) as OUTDIR/component-NN.wav, OUTDIR/result.h5 (V, W, H,\n"
                        "the report) and the picture OUTDIR/overview.png. With --source, the dictionaries of named\n"
                        "sources (from 'specnmf learn') are held fixed and only their activations are learned: one\n"
                        "OUTDIR/NAME.wav per source (and rest.wav from --free columns); beta defaults to the one the\n"
                        "dictionaries were learned with. A multichannel input is modelled by one magnitude per frame\n"
                        "(--channel-rule) and every part keeps the input's channels; --mono mixes them first, as before.",
                        tables, argc, argv, pos, 1, 1, &n_pos, &done);
  if (rc || done) return rc;
  const int iter_given = nc.max_iter != INT64_MIN;
  if (!iter_given) nc.max_iter = 200;
  if (!iter_given) sn_opts_json(tables, run->options, sizeof run->options); /* the report's options: the value used */

  const char *in = pos[0];
  sn_outdir *od = calloc(1, sizeof *od);
  sn_groups grp;
  memset(&grp, 0, sizeof grp);
  sn_spec s;
  memset(&s, 0, sizeof s);
  sn_pnmf_opts o;
  memset(&o, 0, sizeof o);
  sn_pnmf_state st;
  memset(&st, 0, sizeof st);
  float *W = NULL, *H = NULL, *Vp = NULL, *Hp = NULL, *mix = NULL, *Z = NULL, *A = NULL, *Y = NULL, *Wfix = NULL;
  sn_sources *src = calloc(1, sizeof *src);
  int64_t n_fixed = 0;
  unsigned char *rgb = NULL;
  sn_poverlap *pola = NULL;
  sn_h5 *res = NULL;
  sn_audio *au = NULL;
  int pool_mode = SN_POOL_MAX, lrc = SN_OK, nmf_done = 0;
  sn_recon_kind recon = SN_RECON_MASK;
  char ckpt_buf[4200], beta_buf[32];
  sn_signal_catch(); /* from here to the end: a signal asks for a checkpoint */

  /* ---- options ---- */
  if (!od || !src) lrc = SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory");
  else if (!com.output) lrc = SN_FAIL(e, SN_ERR_USAGE, "separate: -o OUTDIR is required");
  else lrc = sep_sources_check(&src_args, n_free, group_s, &nc, src, e);
  if (lrc == SN_OK && !src->n) {
    if (!nc.beta_s) nc.beta_s = SN_SEPARATE_DEFAULT_BETA;
    lrc = sn_nmf_cli_check("separate", &nc, e);
  }
  if (lrc == SN_OK) {
    if (!(mask_power > 0) || !isfinite(mask_power))
      lrc = SN_FAIL(e, SN_ERR_USAGE, "separate --mask-power: must be > 0 (got %g)", mask_power);
    else if (gl_iter < 0) lrc = SN_FAIL(e, SN_ERR_USAGE, "separate --gl-iter: must be >= 0 (got %d)", gl_iter);
    else if (!(momentum >= 0) || !isfinite(momentum))
      lrc = SN_FAIL(e, SN_ERR_USAGE, "separate --momentum: must be >= 0 (got %g)", momentum);
    else if (strcmp(gl_init_s, "random") && strcmp(gl_init_s, "zero"))
      lrc = SN_FAIL(e, SN_ERR_USAGE, "separate --gl-init: '%s' is not random or zero", gl_init_s);
    else if (strcmp(pool_s, "max") && strcmp(pool_s, "mean"))
      lrc = SN_FAIL(e, SN_ERR_USAGE, "separate --pool: '%s' is not max or mean", pool_s);
  }
  if (lrc == SN_OK) {
    if (!strcmp(recon_s, "mask")) recon = SN_RECON_MASK;
    else if (!strcmp(recon_s, "phase")) recon = SN_RECON_PHASE;
    else if (!strcmp(recon_s, "griffinlim")) recon = SN_RECON_GRIFFINLIM;
    else lrc = SN_FAIL(e, SN_ERR_USAGE, "separate --reconstruct: '%s' is not mask, phase or griffinlim", recon_s);
  }
  if (lrc == SN_OK) pool_mode = strcmp(pool_s, "max") ? SN_POOL_MEAN : SN_POOL_MAX;
  if (lrc == SN_OK) lrc = sep_auto_check(n_sources, grouping_s, group_s, &src_args, nc.k, &grouping, e);
  if (lrc == SN_OK && group_s) lrc = sn_groups_parse(group_s, &grp, e);
  /* the component numbers need only k: check them before the transform */
  if (lrc == SN_OK && group_s) lrc = sn_groups_check(&grp, nc.k, e);
  if (lrc == SN_OK && group_s && grp.n_idx < nc.k) {
    char miss[256] = "";
    size_t used = 0;
    for (int64_t r = 0; r < nc.k && used + 24 < sizeof miss; r++) {
      int named = 0;
      for (int i = 0; i < grp.n_idx && !named; i++) named = grp.idx[i] == r;
      if (!named) used += (size_t)snprintf(miss + used, sizeof miss - used, "%s%lld", used ? ", " : "", (long long)r);
    }
    SN_PROGRESS(run, "separate --group: warning: component%s %s in no source: %s sound is left out, so the "
                "sources do not add up to the mixture", nc.k - grp.n_idx > 1 ? "s" : "", miss,
                nc.k - grp.n_idx > 1 ? "their" : "its");
  }
  if (lrc == SN_OK && snprintf(od->path, sizeof od->path, "%s", com.output) >= (int)sizeof od->path)
    lrc = SN_FAIL(e, SN_ERR_USAGE, "%s: path too long", com.output);
  if (lrc == SN_OK && run->rank == 0) lrc = sn_outdir_precheck(od->path, e);
  rc = sn_agree(run->comm, lrc, e);
  if (rc) goto cleanup;
  if (src->n) {
    SN_CHECK(sep_sources_setup(run, in, &scfg, n_free, &nc, src, beta_buf, sizeof beta_buf));
    SN_CHECK(sn_agree(run->comm, sn_groups_sources(&grp, src, n_free > 0 ? n_free : 0, e), e));
  }
  snprintf(ckpt_buf, sizeof ckpt_buf, "%s/nmf.ckpt.h5", od->path);
  if (!nc.checkpoint_s) nc.checkpoint_s = ckpt_buf;
  const int64_t k = nc.k;

  /* ---- every column fixed: stream (parallel/sn_stream.h) ---- */
  {
    const char *why = !src->n && !nc.fix_W_s ? "needs every column fixed (--source, or --fix-W of all k columns)"
                      : n_free > 0 ? "needs every column fixed (no --free)"
                      : n_sources != INT_MIN ? "does not go with --sources (grouping needs all of H)"
                      : recon == SN_RECON_GRIFFINLIM ? "does not go with --reconstruct griffinlim"
                      : store_spec ? "does not go with --store-spectrogram"
                      : store_audio ? "does not go with --store-audio"
                      : nc.sort ? "does not go with --sort"
                      : nc.init_kind == SN_NMF_INIT_FILE ? "does not go with --init FILE"
                      : NULL;
    sn_spec_params par;
    if (!why && block_seconds != 0) {
      SN_CHECK(sn_pstft_params(run, in, &scfg, &par));
      if (sn_spec_out_channels(&par) > 1) why = "keeps one channel (use --mono or --channel K for a multichannel input)";
      if (!why && !src->n) {
        SN_CHECK(sn_stream_fixed_w(run, nc.fix_W_s, &par, k, &Wfix));
        if (!Wfix) why = "needs every column fixed (--fix-W of all k columns, made with these STFT options)";
      }
    }
    if (!why && nc.online && (src->n || Wfix)) /* every column fixed: nothing for online to learn */
      SN_CHECK(sn_agree(run->comm,
                        SN_FAIL(e, SN_ERR_USAGE, "separate --solver online: every column of W is fixed, nothing to "
                                "learn (use --solver mu, or learn columns with --free)"), e));
    if (block_seconds > 0 && why)
      SN_CHECK(sn_agree(run->comm, SN_FAIL(e, SN_ERR_USAGE, "separate --block-seconds: streaming %s", why), e));
    if (block_seconds != 0 && !why) {
      if (!src->n && !group_s) SN_CHECK(sn_agree(run->comm, sn_groups_identity(&grp, k, e), e));
      if (!iter_given) nc.max_iter = SN_SEPARATE_STREAM_DEFAULT_ITER;
      if (!iter_given) sn_opts_json(tables, run->options, sizeof run->options);
      rc = sep_stream(run, in, &scfg, &par, &nc, src->n ? src->W : Wfix, &grp, src,
                      block_seconds < 0 ? SN_SEPARATE_DEFAULT_BLOCK_SECONDS : block_seconds, recon, recon_s, mask_power,
                      &com, group_s ? "source" : "component", od);
      goto cleanup;
    }
  }

  /* ---- spectrogram ---- */
  SN_PROGRESS(run, "separate: %s on %d rank%s, k = %lld, reconstruct %s", in, run->size, run->size > 1 ? "s" : "",
              (long long)k, recon_s);
  SN_CHECK(sn_pstft_compute(run, in, &scfg, 0, &s));
  const int64_t F = s.F, N = s.N;
  /* Held-fixed dictionaries may be overcomplete (k > F): only H is learned. */
  lrc = nc.fix_W && nc.fix_W_cols == k ? SN_OK : sn_nmf_cli_check_k("separate", k, F, N, in, e);
  if (lrc == SN_OK) lrc = sn_nmf_cli_check_batch("separate", &nc, N, e);
  if (lrc == SN_OK && !group_s && !src->n && n_sources == INT_MIN) lrc = sn_groups_identity(&grp, k, e);
  if (lrc == SN_OK) lrc = sn_nmf_cli_check_v(s.mag, F, s.n_local, s.start, nc.beta, in, "the spectrogram", e);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_PROGRESS(run, "separate: V %lld x %lld at %g Hz (%.1f s)", (long long)F, (long long)N, s.par.sample_rate,
              s.par.n_samples / s.par.sample_rate);

  /* ---- the output folder: only now that the input and the options are good ---- */
  SN_CHECK(sn_outdir_create(run, od));
  if (com.force && run->rank == 0) sn_leftovers_clean_dir(od->path); /* a killed run's temporary files */

  /* ---- pooled V for the picture (before V is reused) ---- */
  const int PV = (int)(N < SN_PLOT_VCOLS ? N : SN_PLOT_VCOLS), PH = (int)(N < SN_PLOT_HCOLS ? N : SN_PLOT_HCOLS);
  if (!no_plot) {
    sn_timer_begin(&run->timer, SN_PH_PLOT);
    Vp = sn_calloc((size_t)SN_PLOT_ROWS * PV * sizeof(float), "pooled spectrogram", e);
    lrc = Vp ? SN_OK : SN_ERR_NOMEM;
    if (lrc == SN_OK) sn_plot_pool(s.mag, F, s.n_local, s.start, N, PV, 1, pool_mode, Vp);
    rc = sn_agree(run->comm, lrc, e);
    if (rc == SN_OK) rc = sn_reduce_pool(run, Vp, (int64_t)SN_PLOT_ROWS * PV, pool_mode);
    if (rc == SN_OK && run->rank == 0 && pool_mode == SN_POOL_MEAN) sn_pool_finish_mean(Vp, SN_PLOT_ROWS, N, PV);
    sn_timer_end(&run->timer, SN_PH_PLOT);
    if (rc) goto cleanup;
  }

  /* ---- NMF (a SIGTERM/SIGUSR1 caught since the start asks for a checkpoint) ---- */
  const sn_nmf_block blk = {s.mag, F, N, s.start, s.n_local, in, nc.checkpoint_s, sn_sep_compat, NULL, &s.par};
  SN_CHECK(sn_nmf_cli_run(run, "separate", &nc, &blk, &o, &W, &H, &st, &n_fixed));
  nmf_done = 1;
  /* the NMF is complete: its checkpoint has served (a crash from here on must
   * not leave a half-made folder behind) */
  if (run->rank == 0) unlink(nc.checkpoint_s);
  SN_PROGRESS(run, "separate: NMF %lld iterations, loss %.6g%s", (long long)st.iter, st.loss,
              st.converged ? " (converged)" : "");
  if (n_sources != INT_MIN) {
    auto_list = calloc(4096, 1);
    SN_CHECK(sn_agree(run->comm, auto_list ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"), e));
    SN_CHECK(sep_group_auto(run, &grp, n_sources, grouping, &s, k, W, H, auto_list, 4096));
    SN_PROGRESS(run, "separate: %d sources by %s: %s", n_sources, sn_group_method_name(grouping), auto_list);
  }

  /* ---- result.h5: V, W, H, the NMF's facts ---- */
  {
    char path[4200];
    snprintf(path, sizeof path, "%s/result.h5", od->path);
    SN_CHECK(sn_h5_create(run->comm, path, com.force, &res, e));
    SN_CHECK(sn_spec_write(run, res, &s));
    sn_timer_begin(&run->timer, SN_PH_WRITE);
    rc = sn_h5_write_cols(res, "/nmf/W", F, k, 0, run->rank == 0 ? k : 0, W, F, e);
    if (rc == SN_OK) rc = sn_h5_write_cols(res, "/nmf/H", k, N, s.start, s.n_local, H, k, e);
    if (rc == SN_OK) rc = sn_h5_write_vec(res, "/nmf/loss", st.n_hist, st.hist, e);
    if (rc == SN_OK) rc = sn_spec_params_write(res, "/nmf/W", &s.par, e);
    if (rc == SN_OK) rc = sn_spec_params_write(res, "/nmf/H", &s.par, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(res, "/nmf", "beta", nc.beta, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/nmf", "solver", nc.solver_s, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/nmf", "init", nc.init_s, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_int(res, "/nmf", "n_iter", st.iter, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_int(res, "/nmf", "n_fixed", n_fixed, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_int(res, "/nmf", "converged", st.converged, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(res, "/nmf", "loss", st.loss, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(res, "/nmf", "reconstruction_err", sqrt(2.0 * fmax(st.loss, 0.0)), e);
    if (rc == SN_OK) {
      double *gv = calloc((size_t)k, sizeof *gv);
      /* the write is collective: agree on the buffer first */
      rc = sn_agree(run->comm, gv ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"), e);
      for (int64_t r = 0; gv && r < k; r++) gv[r] = -1;
      for (int g = 0; gv && g < grp.n_src; g++)
        for (int j = grp.first[g]; j < grp.first[g + 1]; j++) gv[grp.idx[j]] = g;
      if (rc == SN_OK) rc = sn_h5_write_vec(res, "/separate/source_of_component", k, gv, e);
      free(gv);
    }
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/separate", "reconstruct", recon_s, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(res, "/separate", "mask_power", mask_power, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/separate", "groups", group_s ? group_s : auto_list ? auto_list : "", e);
    if (rc == SN_OK && auto_list) rc = sn_h5_attr_set_str(res, "/separate", "grouping", sn_group_method_name(grouping), e);
    if (rc == SN_OK) rc = sn_h5_attr_set_int(res, "/separate", "n_sources", grp.n_src, e);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/separate", "input", in, e);
    if (rc == SN_OK) /* the channels of every part written (Griffin-Lim parts are mono) */
      rc = sn_h5_attr_set_int(res, "/separate", "channels", recon == SN_RECON_GRIFFINLIM ? 1 : sn_spec_out_channels(&s.par), e);
    if (rc == SN_OK) rc = sn_h5_attr_set_str(res, "/separate", "channel_rule", s.par.channel_rule, e);
    if (rc == SN_OK && src->n) rc = sep_write_sources(res, &grp, src, e);
    sn_timer_end(&run->timer, SN_PH_WRITE);
    if (rc) goto cleanup;
  }

  /* ---- pooled H for the picture ---- */
  if (!no_plot) {
    sn_timer_begin(&run->timer, SN_PH_PLOT);
    Hp = sn_calloc((size_t)(k * PH) * sizeof(float), "pooled activations", e);
    lrc = Hp ? SN_OK : SN_ERR_NOMEM;
    if (lrc == SN_OK) sn_plot_pool(H, k, s.n_local, s.start, N, PH, 0, pool_mode, Hp);
    rc = sn_agree(run->comm, lrc, e);
    if (rc == SN_OK) rc = sn_reduce_pool(run, Hp, k * PH, pool_mode);
    if (rc == SN_OK && run->rank == 0 && pool_mode == SN_POOL_MEAN) sn_pool_finish_mean(Hp, k, N, PH);
    sn_timer_end(&run->timer, SN_PH_PLOT);
    if (rc) goto cleanup;
  }

  /* ---- reconstruction, one source at a time (mask and phase: every channel) ---- */
  const int64_t length = s.par.n_samples;
  const int nch = recon == SN_RECON_GRIFFINLIM ? 1 : sn_spec_out_channels(&s.par);
  SN_CHECK(sn_poverlap_create(run, &s.par, N, length, &pola));
  int64_t y0 = 0, ny = 0, lenb = 0;
  sn_poverlap_owned(pola, &y0, &ny);
  if (recon != SN_RECON_GRIFFINLIM) {
    /* the mixture: this rank's samples, kept instead of its complex STFT (a
     * quarter of the size at hop n_fft/4); frames are transformed again per source */
    int64_t b0;
    sn_poverlap_span(pola, &b0, &lenb);
    SN_CHECK(sep_read_mixture(run, in, &scfg, nch, b0, lenb, &mix));
    const int batch = sn_stft_batch(sn_poverlap_plan(pola));
    Z = sn_calloc((size_t)F * batch * 2 * sizeof(float), "STFT chunk", e);
    if (nch > 1) {
      if (recon == SN_RECON_PHASE) A = sn_calloc((size_t)F * batch * 4 * sizeof(float), "channel scratch", e);
      Y = sn_calloc((size_t)((ny > 0 ? ny : 1) * nch) * sizeof(float), "interleaved channels", e);
    }
    lrc = Z && (nch == 1 || (Y && (recon != SN_RECON_PHASE || A))) ? SN_OK : SN_ERR_NOMEM;
    SN_CHECK(sn_agree(run->comm, lrc, e));
    /* the mask's denominator replaces V (no longer needed) */
    if (recon == SN_RECON_MASK) {
      sn_timer_begin(&run->timer, SN_PH_ISTFT);
      sn_mask_denominator(F, k, s.n_local, W, H, mask_power, s.mag);
      sn_timer_end(&run->timer, SN_PH_ISTFT);
    }
  }
  sn_gl_cfg glc = {gl_iter, momentum, strcmp(gl_init_s, "random") == 0, (uint64_t)nc.seed};
  double sc_sum = 0;
  for (int g = 0; g < grp.n_src; g++) {
    const int *idx = grp.idx + grp.first[g];
    int m = grp.first[g + 1] - grp.first[g];
    char name[64];
    if (grp.name[g]) snprintf(name, sizeof name, "%s", grp.name[g]);
    else snprintf(name, sizeof name, "%s-%02d", group_s || auto_list ? "source" : "component", g);
    if (recon == SN_RECON_GRIFFINLIM) {
      sn_mask_magnitude(F, k, s.n_local, W, H, idx, m, s.par.power, s.mag);
      glc.seed = (uint64_t)nc.seed + 7919u * (uint64_t)g;
      SN_CHECK(sn_pgriffinlim_run(run, pola, s.mag, &glc));
      double sc = 0;
      SN_CHECK(sn_pgriffinlim_convergence(run, pola, s.mag, &sc));
      sc_sum += sc;
    } else {
      const int64_t ld = lenb > 0 ? lenb : 1;
      for (int c = 0; c < nch; c++) {
        SN_CHECK(sep_channel_part(run, pola, recon, F, k, s.n_local, W, H, s.mag, idx, m, mask_power, s.par.power, mix,
                                  ld, nch, c, !strcmp(s.par.channel_rule, "rms"), Z, A));
        if (nch > 1) sep_interleave(sn_poverlap_owned_ptr(pola), ny, c, nch, Y);
      }
    }
    if (nch > 1)
      SN_CHECK(sn_write_source(run, od, name, s.par.sample_rate, length, com.force, y0, ny, Y, nch,
                               store_audio ? res : NULL));
    else
      SN_CHECK(sn_write_source_pola(run, od, name, s.par.sample_rate, length, com.force, pola, store_audio ? res : NULL));
    SN_PROGRESS(run, "separate: wrote %s/%s.wav", od->path, name);
  }
  if (recon == SN_RECON_GRIFFINLIM && grp.n_src > 0)
    sn_run_fact_double(run, "griffinlim_spectral_convergence", sc_sum / grp.n_src);

  /* ---- the picture (rank 0 draws the pooled data) ---- */
  if (!no_plot) {
    char path[4200];
    snprintf(path, sizeof path, "%s/overview.png", od->path);
    sn_timer_begin(&run->timer, SN_PH_PLOT);
    lrc = SN_OK;
    if (run->rank == 0) {
      char title[200];
      const char *base = strrchr(in, '/');
      snprintf(title, sizeof title, "%s: R=%lld, %.1f S, %s", base ? base + 1 : in, (long long)k,
               s.par.n_samples / s.par.sample_rate, recon_s);
      sn_plot_in pin = {F, N, k, s.par.sample_rate, s.par.hop, PV, PH, Vp, W, Hp, title, NULL, NULL};
      int src_of[4097];
      if ((src->n || (auto_list && grp.n_src <= SN_OPT_LIST_MAX + 1)) && k <= 4097) { /* label the named sources (and rest) */
        for (int64_t r = 0; r < k; r++) src_of[r] = -1;
        for (int g = 0; g < grp.n_src; g++)
          for (int j = grp.first[g]; j < grp.first[g + 1]; j++) src_of[grp.idx[j]] = g;
        pin.src_of = src_of;
        pin.src_name = grp.name;
      }
      int w = 0, h = 0;
      lrc = sn_plot_overview(&pin, &rgb, &w, &h, e);
      if (lrc == SN_OK && (lrc = sn_fault("plot", run->rank, e)) == SN_OK) {
        if (!com.force && access(path, F_OK) == 0)
          lrc = SN_FAIL(e, SN_ERR_IO, "%s: exists (use --force to overwrite)", path);
        else
          lrc = sn_png_write(path, w, h, rgb, e);
      }
      if (lrc == SN_OK) sn_outdir_file(od, path);
    }
    rc = sn_agree(run->comm, lrc, e);
    sn_timer_end(&run->timer, SN_PH_PLOT);
    if (rc) goto cleanup;
  }

  /* ---- facts, the report inside result.h5, commit ---- */
  sn_run_fact_int(run, "F", F);
  sn_run_fact_int(run, "N", N);
  sn_run_fact_int(run, "k", k);
  sn_run_fact_int(run, "n_sources", grp.n_src);
  if (auto_list) sn_run_fact_str(run, "grouping", sn_group_method_name(grouping));
  sn_run_fact_int(run, "n_iter", st.iter);
  sn_run_fact_int(run, "converged", st.converged);
  sn_run_fact_double(run, "loss", st.loss);
  sn_run_fact_double(run, "reconstruction_err", sqrt(2.0 * fmax(st.loss, 0.0)));
  sn_run_fact_str(run, "reconstruct", recon_s);
  sn_run_fact_int(run, "output_channels", recon == SN_RECON_GRIFFINLIM ? 1 : sn_spec_out_channels(&s.par));
  sn_run_fact_str(run, "outdir", od->path);
  if ((rc = sep_store_report(run, res))) goto cleanup;
  {
    char path[4200];
    snprintf(path, sizeof path, "%s/result.h5", od->path);
    rc = sn_h5_close(&res, 1, e);
    if (rc) goto cleanup;
    if (run->rank == 0) sn_outdir_file(od, path);
  }
  if (run->rank == 0) unlink(nc.checkpoint_s); /* complete: the checkpoint is no longer needed */

cleanup:
  sn_signal_release();
  if (res) sn_h5_close(&res, 0, e);
  sn_audio_close(&au);
  if (rc != SN_OK && od && run->rank == 0) {
    /* a checkpoint of an unfinished NMF stays (with its folder) to resume from */
    if (nmf_done && nc.checkpoint_s) unlink(nc.checkpoint_s);
    if (nmf_done || access(nc.checkpoint_s ? nc.checkpoint_s : "", F_OK) != 0) sn_outdir_undo(od);
    else
      for (int i = 0; i < od->n_files; i++) unlink(od->files[i]);
  }
  sn_poverlap_destroy(&pola);
  sn_pnmf_state_free(&st);
  sn_spec_free(&s);
  sn_groups_free(&grp);
  free(auto_list);
  if (src) sn_sources_free(src);
  free(src);
  sn_free(W), sn_free(H), sn_free(Vp), sn_free(Hp), sn_free(mix), sn_free(Z), sn_free(A), sn_free(Y), sn_free(rgb);
  sn_free(Wfix);
  free(od);
  return rc;
}

/* ------------------------------------------------------------ griffinlim -- */

int sn_griffinlim_write(sn_run *run, const sn_spec_params *par, int64_t N, const float *S, int64_t length,
                        const sn_gl_cfg *glc, const char *path, int force, double *sc) {
  sn_err *e = &run->err;
  if (length < 0) {
    length = par->n_samples > 0 ? par->n_samples
                                : par->n_fft + (int64_t)par->hop * (N - 1) - (par->center ? 2 * (par->n_fft / 2) : 0);
    if (length < 0) length = 0;
  }
  SN_PROGRESS(run, "griffinlim: %d bins x %lld frames -> %lld samples, %d iterations on %d rank(s)",
              par->n_fft / 2 + 1, (long long)N, (long long)length, glc->n_iter, run->size);
  sn_poverlap *pola = NULL;
  int rc = sn_poverlap_create(run, par, N, length, &pola);
  if (rc) return rc;
  /* the output before the work, so that a bad path fails early */
  sn_wav *w = NULL;
  rc = sn_wav_create(run->comm, path, par->sample_rate, length, force, &w, e);
  if (rc == SN_OK) rc = sn_pgriffinlim_run(run, pola, S, glc);
  if (rc == SN_OK) rc = sn_pgriffinlim_convergence(run, pola, S, sc);
  if (rc == SN_OK) {
    int64_t y0, ny;
    sn_poverlap_owned(pola, &y0, &ny);
    sn_timer_begin(&run->timer, SN_PH_WRITE);
    rc = sn_wav_write(w, y0, ny, sn_poverlap_owned_ptr(pola), e);
    sn_timer_end(&run->timer, SN_PH_WRITE);
  }
  if (w) {
    int crc = sn_wav_close(&w, rc == SN_OK, e);
    if (rc == SN_OK) rc = crc;
  }
  sn_poverlap_destroy(&pola);
  if (rc) return rc;
  SN_PROGRESS(run, "griffinlim: spectral convergence %.4f", *sc);
  sn_run_fact_double(run, "spectral_convergence", *sc);
  sn_run_fact_int(run, "n_samples", length);
  return SN_OK;
}

int sn_cmd_griffinlim(sn_run *run, int argc, char **argv) {
  sn_err *e = &run->err;
  sn_common com = {0};
  int n_iter = 32, templates = 0;
  double momentum = 0.99, tsec = 1.0;
  int64_t seed = 0, length = -1;
  const char *init_s = "random";
  const sn_opt t_main[] = {
      SN_COMMON_OPTS(&com),
      {"--n-iter", 0, SN_OPT_INT, &n_iter, "N", "iterations (default 32)"},
      {"--momentum", 0, SN_OPT_DOUBLE, &momentum, "X", "momentum of fast Griffin-Lim (default 0.99; 0: plain)"},
      {"--init", 0, SN_OPT_STRING, &init_s, "random|zero", "start phases (default random, as librosa)"},
      {"--seed", 0, SN_OPT_INT64, &seed, "N", "seed of the random start (default 0)"},
      {"--length", 0, SN_OPT_INT64, &length, "N", "output samples (default: the stored n_samples, else librosa's)"},
      {"--templates", 0, SN_OPT_FLAG, &templates, NULL,
       "render each column of a dictionary (default path /nmf/W) as a short sound: -o names a folder, "
       "files template-NN.wav"},
      {"--template-seconds", 0, SN_OPT_DOUBLE, &tsec, "S", "length of each template sound (default 1)"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t_main, NULL};
  const char *pos[1] = {NULL};
  int n_pos = 0, done = 0;
  int rc = sn_cli_parse(run, &com, "SPEC.h5[:/path] -o OUT.wav [options]",
                        "Audio from a magnitude spectrogram (F, N) by distributed fast Griffin-Lim (librosa.griffinlim):\n"
                        "V from 'specnmf stft', a mel inversion, a part; --templates renders each column of W.",
                        tables, argc, argv, pos, 1, 1, &n_pos, &done);
  if (rc || done) return rc;
  int lrc = SN_OK;
  if (!com.output) lrc = SN_FAIL(e, SN_ERR_USAGE, "griffinlim: -o %s is required", templates ? "OUTDIR" : "OUT.wav");
  else if (n_iter < 0) lrc = SN_FAIL(e, SN_ERR_USAGE, "griffinlim --n-iter: must be >= 0 (got %d)", n_iter);
  else if (!(momentum >= 0) || !isfinite(momentum))
    lrc = SN_FAIL(e, SN_ERR_USAGE, "griffinlim --momentum: must be >= 0 (got %g)", momentum);
  else if (strcmp(init_s, "random") && strcmp(init_s, "zero"))
    lrc = SN_FAIL(e, SN_ERR_USAGE, "griffinlim --init: '%s' is not random or zero", init_s);
  else if (!(tsec > 0) || !isfinite(tsec) || tsec > 3600)
    lrc = SN_FAIL(e, SN_ERR_USAGE, "griffinlim --template-seconds: must be in (0, 3600] (got %g)", tsec);
  rc = sn_agree(run->comm, lrc, e);
  if (rc) return rc;
  sn_gl_cfg glc = {n_iter, momentum, strcmp(init_s, "random") == 0, (uint64_t)seed};
  sn_spec s;
  memset(&s, 0, sizeof s);
  sn_poverlap *pola = NULL;
  sn_h5 *f = NULL;
  float *Wt = NULL;
  sn_outdir *od = calloc(1, sizeof *od);
  rc = sn_agree(run->comm, od ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "griffinlim: out of memory"), e);
  if (rc) return rc;
  snprintf(od->path, sizeof od->path, "%s", com.output);

  if (!templates) {
    SN_CHECK(sn_spec_read(run, pos[0], 0, &s));
    lrc = SN_OK;
    for (int64_t i = 0; i < (int64_t)s.F * s.n_local && lrc == SN_OK; i++)
      if (!(s.mag[i] >= 0) || !isfinite(s.mag[i]))
        lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: a magnitude must be finite and >= 0 (found %g)", pos[0], s.mag[i]);
    if (s.par.power == 2)
      for (int64_t i = 0; i < (int64_t)s.F * s.n_local; i++) s.mag[i] = sqrtf(s.mag[i]);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    double sc = 0;
    SN_CHECK(sn_griffinlim_write(run, &s.par, s.N, s.mag, length, &glc, com.output, com.force, &sc));
    sn_run_fact_int(run, "n_frames", s.N);
  } else {
    /* each column of W repeated over the frames of tsec seconds */
    char file[4096], dset[1024];
    sn_spec_params par;
    memset(&par, 0, sizeof par);
    int nd = 0;
    int64_t dims[2] = {0, 0};
    SN_CHECK(sn_agree(run->comm, sn_h5_split_spec(pos[0], "/nmf/W", file, sizeof file, dset, sizeof dset, e), e));
    SN_CHECK(sn_h5_open(run->comm, file, &f, e));
    SN_CHECK(sn_h5_shape(f, dset, &nd, dims, e));
    SN_CHECK(sn_spec_params_read(f, dset, &par, e));
    lrc = SN_OK;
    if (nd != 2 || dims[0] != par.n_fft / 2 + 1 || dims[1] < 1)
      lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s must be (F, R) with F = n_fft/2 + 1 = %d", file, dset, par.n_fft / 2 + 1);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    const int64_t F = dims[0], R = dims[1];
    Wt = sn_calloc((size_t)(F * R) * sizeof(float), "dictionary", e);
    SN_CHECK(sn_agree(run->comm, Wt ? SN_OK : SN_ERR_NOMEM, e));
    SN_CHECK(sn_h5_read_cols(f, dset, F, 0, R, Wt, F, e));
    SN_CHECK(sn_h5_close(&f, 0, e));
    lrc = SN_OK;
    for (int64_t i = 0; i < F * R && lrc == SN_OK; i++)
      if (!(Wt[i] >= 0) || !isfinite(Wt[i])) lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has a negative or non-finite value", file, dset);
    if (lrc == SN_OK && par.power == 2)
      for (int64_t i = 0; i < F * R; i++) Wt[i] = sqrtf(Wt[i]);
    if (lrc == SN_OK && run->rank == 0) lrc = sn_outdir_precheck(od->path, e);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    int64_t len = (int64_t)llround(tsec * par.sample_rate);
    int64_t T = sn_stft_n_frames(len, par.n_fft, par.hop, par.center);
    if (T < 1) lrc = SN_FAIL(e, SN_ERR_USAGE, "griffinlim --template-seconds: %g s is shorter than one frame", tsec);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    SN_CHECK(sn_outdir_create(run, od));
    if (com.force && run->rank == 0) sn_leftovers_clean_dir(od->path); /* a killed run's temporary files */
    SN_CHECK(sn_poverlap_create(run, &par, T, len, &pola));
    int64_t t0, nl;
    sn_poverlap_frames(pola, &t0, &nl);
    s.F = (int)F;
    s.mag = sn_calloc((size_t)(F * (nl > 0 ? nl : 1)) * sizeof(float), "template block", e);
    SN_CHECK(sn_agree(run->comm, s.mag ? SN_OK : SN_ERR_NOMEM, e));
    for (int64_t r = 0; r < R; r++) {
      for (int64_t t = 0; t < nl; t++) memcpy(s.mag + t * F, Wt + r * F, (size_t)F * sizeof(float));
      glc.seed = (uint64_t)seed + 7919u * (uint64_t)r;
      SN_CHECK(sn_pgriffinlim_run(run, pola, s.mag, &glc));
      char name[64];
      snprintf(name, sizeof name, "template-%02lld", (long long)r);
      SN_CHECK(sn_write_source_pola(run, od, name, par.sample_rate, len, com.force, pola, NULL));
    }
    SN_PROGRESS(run, "griffinlim: %lld templates of %g s in %s", (long long)R, tsec, od->path);
    sn_run_fact_int(run, "n_templates", R);
  }

cleanup:
  if (f) sn_h5_close(&f, 0, e);
  if (rc != SN_OK && run->rank == 0) sn_outdir_undo(od);
  sn_poverlap_destroy(&pola);
  sn_spec_free(&s);
  sn_free(Wt);
  free(od);
  return rc;
}
