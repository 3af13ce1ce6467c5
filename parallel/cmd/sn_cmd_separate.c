/* specnmf separate (see sn_cmd_separate.h): sn_cmd_separate parses the
 * options and runs the stages - sep_check_options, sep_named_sources,
 * sep_try_stream (every column of W fixed: the streamed path), else
 * sep_spectrogram, sep_factorize, sep_write_model, sep_sources (each source:
 * sep_source), sep_overview and sep_commit - handing a sep_state along. */
#include "sn_cmd_separate.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn_audio.h"
#include "sn_cli.h"
#include "sn_cmd_griffinlim.h"
#include "sn_comm.h"
#include "sn_group.h"
#include "sn_h5.h"
#include "sn_mask.h"
#include "sn_model.h"
#include "sn_nmf_cli.h"
#include "sn_outdir.h"
#include "sn_pgriffinlim.h"
#include "sn_plot.h"
#include "sn_png.h"
#include "sn_pnmf.h"
#include "sn_pstft.h"
#include "sn_signal.h"
#include "sn_vcache.h"
#include "sn_sources.h"
#include "sn_pstream.h"
#include "sn_wav.h"

/* The loss of separate when neither --beta nor a dictionary says (measured:
 * README "Separation quality"). */
#define SN_SEPARATE_DEFAULT_BETA "fro"

/* The soft mask's power with --source or --sources when --mask-power is not
 * given (measured: README "Named sources" and "Automatic grouping"; for
 * components and --group it is 1). */
#define SN_SEPARATE_SOURCE_MASK_POWER 2.0

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

/* ------------------------------------------------------------ the state -- */

/* The options of separate as parsed, and what sep_check_options derives. */
typedef struct sep_opts {
  sn_common com;
  sn_stft_cfg scfg;
  sn_nmf_cli nc;
  sn_gl_opts gl;
  double mask_power;      /* NAN until chosen: --mask-power, else 2 with --source or --sources, 1 otherwise */
  double block_seconds;   /* < 0 not given: stream when every column is fixed */
  const char *recon_s, *group_s, *pool_s, *grouping_s;
  int store_audio, no_plot, store_spec;
  sn_strlist src_args;    /* --source NAME=DICT.h5 */
  int64_t n_free;         /* --free; INT64_MIN: not given */
  int64_t adapt;          /* --adapt: joint W, H iterations after the activations (0: none) */
  int n_sources;          /* --sources; INT_MIN: not given */
  const char *in;         /* the input recording */
  int iter_given;         /* --max-iter given (else the batch or the streamed default) */
  sn_recon_kind recon;
  int pool_mode;
  sn_group_method grouping;
  const sn_opt *const *tables; /* the option tables (the report's options) */
} sep_opts;

/* What one stage hands to the next. */
typedef struct sep_state {
  sn_outdir *od;
  sn_sources *src;        /* --source: the named dictionaries */
  sn_groups grp;          /* the sources: components of each */
  char *auto_list;        /* --sources: the grouping found, as a --group list */
  int64_t k;              /* components */
  sn_spec s;              /* V, this rank's frames (later the mask denominator, or a part's magnitude) */
  sn_pnmf_opts po;
  sn_pnmf_state nmf;
  float *W, *H;           /* W (F x k, replicated), H (k x n_local) */
  int64_t n_fixed;        /* fixed columns of W */
  float *Wfix;            /* --fix-W of all k columns (streamed) */
  int PV, PH;             /* pooled columns of V and H for overview.png */
  float *Vp, *Hp;         /* pooled V and H (rank 0 after the reduction) */
  float *Vctr;            /* with context and a scratch V: a piece's own frames, for the picture */
  int64_t Vctr_cols;      /* columns Vctr holds (the largest piece so far) */
  sn_h5 *res;             /* result.h5, open from the model to the commit */
  int nmf_done;           /* the NMF is complete (its checkpoint has served) */
  sn_vcache *cache;       /* --solver online, or --adapt of a run that would stream: V in a scratch file
                             (s.mag NULL until a reconstruction in memory needs the block as scratch) */
  int v_scratch;          /* --adapt where the run would otherwise stream: V goes to the scratch file */
  sn_frames frames;       /* the source over the cache */
  char ckpt_buf[4200], beta_buf[32];
} sep_state;

/* Local. The report's options anew (sn_cli_parse wrote them as parsed; a
 * default chosen later, such as --max-iter's, replaces them). */
static void sep_options_json(sn_run *run, const sn_opt *const *tables) {
  run->options[0] = '\0';
  sn_opts_json(tables, run->options, sizeof run->options);
}

/* Local. Source g's name: the --source name, else source-NN / component-NN. */
static void sep_source_name(const sep_opts *o, const sep_state *st, int g, char *name, size_t cap) {
  if (st->grp.name[g]) snprintf(name, cap, "%s", st->grp.name[g]);
  else snprintf(name, cap, "%s-%02d", o->group_s || st->auto_list ? "source" : "component", g);
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
  int cnt = 0, rc;
  SN_AGREE(run, sn_mpi_count(n, "plot pooling", &cnt, &run->err));
  SN_MPI_CALL(MPI_Reduce(run->rank == 0 ? MPI_IN_PLACE : a, a, cnt, MPI_FLOAT, mode == SN_POOL_MAX ? MPI_MAX : MPI_SUM,
                         0, run->comm));
  rc = SN_OK;
cleanup:
  return rc;
}

static void sn_pool_finish_mean(float *a, int64_t rows, int64_t N, int P) {
  for (int j = 0; j < P; j++) {
    int64_t c = sn_plot_pool_count(N, P, j);
    for (int64_t r = 0; r < rows; r++) a[r + j * rows] = c > 0 ? a[r + j * rows] / (float)c : 0.0f;
  }
}

/* Collective. The pooled array *out (rows_out x P, this rank's frames pooled
 * into it already; NULL on a rank that pooled none: zeros) reduced on rank 0. */
static int sep_pool_reduce(sn_run *run, const sep_opts *o, const sn_spec *s, int64_t rows_out, int P, const char *what,
                           float **out) {
  int rc;
  sn_timer_begin(&run->timer, SN_PH_PLOT);
  if (!*out) *out = sn_calloc((size_t)(rows_out * P) * sizeof(float), what, &run->err);
  SN_AGREE(run, *out ? SN_OK : SN_ERR_NOMEM);
  SN_CHECK(sn_reduce_pool(run, *out, rows_out * P, o->pool_mode));
  if (run->rank == 0 && o->pool_mode == SN_POOL_MEAN) sn_pool_finish_mean(*out, rows_out, s->N, P);
cleanup:
  sn_timer_end(&run->timer, SN_PH_PLOT);
  return rc;
}

/* Collective. Pool the block A (rows_in x this rank's frames of s) into P
 * columns for overview.png: *out (rows_out x P) on rank 0 after the
 * reduction; bins: A is a spectrogram (V), else activations (H). */
static int sep_pool(sn_run *run, const sep_opts *o, const sn_spec *s, const float *A, int64_t rows_in, int64_t rows_out,
                    int P, int bins, const char *what, float **out) {
  int rc;
  sn_timer_begin(&run->timer, SN_PH_PLOT);
  *out = sn_calloc((size_t)(rows_out * P) * sizeof(float), what, &run->err);
  SN_AGREE(run, *out ? SN_OK : SN_ERR_NOMEM);
  sn_plot_pool(A, rows_in, s->n_local, s->start, s->N, P, bins, o->pool_mode, *out);
  sn_timer_end(&run->timer, SN_PH_PLOT);
  return sep_pool_reduce(run, o, s, rows_out, P, what, out);
cleanup:
  sn_timer_end(&run->timer, SN_PH_PLOT);
  return rc;
}

int sn_write_source(sn_run *run, sn_outdir *od, const char *name, double sr, int64_t length, int force, int64_t y0,
                      int64_t ny, const float *y, int nch) {
  sn_err *e = &run->err;
  char path[4200];
  sn_wav *w = NULL;
  int rc;
  snprintf(path, sizeof path, "%s/%s.wav", od->path, name);
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  SN_CHECK(sn_wav_create_ch(run->comm, path, sr, length, nch, force, 0, &w, e));
  SN_CHECK(sn_wav_write(w, y0, ny, y, e));
  SN_CHECK(sn_wav_close(&w, 1, e));
  if (run->rank == 0) sn_outdir_file(od, path);
cleanup:
  sn_wav_close(&w, 0, e); /* after a failure: removes the temporary file (the first error is the one reported) */
  sn_timer_end(&run->timer, SN_PH_WRITE);
  return rc;
}

/* Collective. Store one part's owned samples y (frames [y0, y0 + ny) of nch
 * interleaved channels) in result.h5 as /separate/audio/NAME (interleaved,
 * with a channels attribute). */
static int sep_store_audio(sn_run *run, sn_h5 *h5, const char *name, double sr, int64_t length, int64_t y0, int64_t ny,
                           const float *y, int nch) {
  sn_err *e = &run->err;
  char ds[256];
  int rc;
  snprintf(ds, sizeof ds, "/separate/audio/%s", name);
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  SN_CHECK(sn_h5_write_1d(h5, ds, length * nch, y0 * nch, ny * nch, y, e));
  SN_CHECK(sn_h5_attr_set_double(h5, ds, "sample_rate", sr, e));
  if (nch > 1) SN_CHECK(sn_h5_attr_set_int(h5, ds, "channels", nch, e));
cleanup:
  sn_timer_end(&run->timer, SN_PH_WRITE);
  return rc;
}

/* Local. Read channels [0, nch) of this rank's span [b0, b0 + lenb) from au
 * into mix (one after the other, ld n). */
static int sep_read_channels(sn_audio *au, int nch, int64_t b0, int64_t lenb, int64_t n, float *mix, sn_err *e) {
  if (!mix) return SN_ERR_NOMEM;
  for (int c = 0; c < nch && lenb > 0; c++) {
    sn_audio_select(au, c);
    int rc = sn_audio_read(au, b0, lenb, mix + c * n, e);
    if (rc) return rc;
  }
  return SN_OK;
}

/* Collective. Read this rank's span [b0, b0 + lenb) of the mixture for the
 * reconstruction: nch channels one after the other in *mix (lenb each). */
static int sep_read_mixture(sn_run *run, const char *in, const sn_stft_cfg *scfg, int nch, int64_t b0, int64_t lenb,
                            float **mix) {
  sn_err *e = &run->err;
  sn_audio *au = NULL;
  sn_audio_opts ao = {sn_stft_cfg_audio_channel(scfg), scfg->sr, scfg->normalize};
  sn_audio_info info;
  int rc;
  sn_timer_begin(&run->timer, SN_PH_READ);
  SN_AGREE(run, sn_audio_open(in, &ao, &au, &info, e));
  if (scfg->normalize) SN_CHECK(sn_audio_normalize(run->comm, au, NULL, e));
  const int64_t n = lenb > 0 ? lenb : 1;
  *mix = sn_calloc((size_t)(n * nch) * sizeof(float), "mixture samples", e);
  SN_AGREE(run, sep_read_channels(au, nch, b0, lenb, n, *mix, e));
cleanup:
  sn_audio_close(&au);
  sn_timer_end(&run->timer, SN_PH_READ);
  return rc;
}

/* Local. Phase, several channels: V (F x nf) = the channels' magnitudes of
 * frames [t0, t0 + nf) reduced by the rule (sn_stft_reduce_add, power 1),
 * from the same plan as the channel's transform. x: nch channels of ld
 * samples; Zc: F x nf floats of scratch. */
static int sep_channel_reduce(sn_stft_plan *plan, const float *x, int64_t ld, int nch, int rms, int64_t F, int64_t t0,
                              int64_t nf, float *Zc, float *V, sn_err *e) {
  const int hop = sn_stft_hop(plan);
  for (int c = 0; c < nch; c++) {
    int rc = sn_stft_reduce_add(plan, x + c * ld + t0 * hop, nf, rms, c, V, Zc, NULL, 0, e);
    if (rc) return rc;
  }
  sn_stft_reduce_end(V, F * nf, nch, rms, 1);
  return SN_OK;
}

/* The reconstruction of the parts (mask and phase: every channel). */
typedef struct sep_recon {
  sn_poverlap *pola;      /* the distributed overlap-add */
  int nch;                /* channels of every part (Griffin-Lim: 1) */
  int64_t y0, ny;         /* this rank's owned output samples */
  int64_t lenb;           /* this rank's span of the mixture */
  float *mix;             /* the mixture's span: nch channels of ld = max(lenb, 1) samples */
  float *Z;               /* complex STFT of one batch (F x batch) */
  float *A;               /* phase, several channels: 4 F x batch floats of scratch */
  float *Y;               /* several channels: the interleaved part (ny x nch) */
  float *Wp;              /* mask: the masks' dictionary W^mask_power (sn_mask_power_w; st->W at power 1) */
  int rms;                /* the channel rule is rms */
} sep_recon;

/* Local. A part of channel c by mask or phase: transform the channel frame
 * by frame, apply the source's mask (members idx[0..m)), overlap-add. D is
 * the mask denominator (mask) or V (phase, one channel). */
static int sep_channel_frames(sn_recon_kind recon, const sep_state *st, const sep_recon *r, const int *idx, int m,
                              double mask_power, int c, sn_err *e) {
  sn_poverlap *pola = r->pola;
  sn_stft_plan *plan = sn_poverlap_plan(pola);
  const int batch = sn_stft_batch(plan), hop = sn_stft_hop(plan);
  const int64_t F = st->s.F, k = st->k, n_local = st->s.n_local, ld = r->lenb > 0 ? r->lenb : 1;
  const float *x = r->mix + c * ld, *D = st->s.mag;
  float *S = r->A, *Z = r->Z;
  float *A = S, *Vc = S ? S + F * batch : NULL, *Zc = S ? S + 2 * F * batch : NULL;
  for (int64_t t0 = 0; t0 < n_local; t0 += batch) {
    int64_t nf = n_local - t0 < batch ? n_local - t0 : batch;
    int rc = sn_stft_exec(plan, x + t0 * hop, nf, 1, NULL, 0, Z, F, e);
    if (rc) return rc;
    if (recon == SN_RECON_PHASE && r->nch > 1) {
      rc = sep_channel_reduce(plan, r->mix, ld, r->nch, r->rms, F, t0, nf, Zc, Vc, e);
      if (rc) return rc;
      sn_mask_phase_channel(F, k, nf, st->W, st->H + t0 * k, Vc, idx, m, st->s.par.power, A, Z, Z);
    } else {
      sn_mask_apply(recon, F, k, nf, recon == SN_RECON_MASK ? r->Wp : st->W, st->H + t0 * k, D + t0 * F, idx, m,
                    mask_power, st->s.par.power, Z, Z);
    }
    rc = sn_poverlap_add(pola, t0, nf, Z, e);
    if (rc) return rc;
  }
  return SN_OK;
}

/* Collective. One source of channel c by mask or phase (sep_channel_frames),
 * finished into the pola's owned samples. */
static int sep_channel_part(sn_run *run, const sep_opts *o, const sep_state *st, const sep_recon *r, const int *idx,
                            int m, int c) {
  int rc;
  sn_timer_begin(&run->timer, SN_PH_ISTFT);
  sn_poverlap_clear(r->pola);
  rc = sn_run_agree(run, sep_channel_frames(o->recon, st, r, idx, m, o->mask_power, c, &run->err));
  sn_timer_end(&run->timer, SN_PH_ISTFT);
  return rc ? rc : sn_poverlap_finish(run, r->pola, 0);
}

/* ------------------------------------------------------------- options -- */

/* Local. The --source options before any work: the names, and what may not
 * go with them (--group, --fix-W, a negative --free, --free alone). */
static int sep_sources_check(const sn_strlist *args, int64_t n_free, int64_t adapt, const char *group_s,
                             const sn_nmf_cli *nc, sn_sources *src, sn_err *e) {
  if (n_free != INT64_MIN && n_free < 0)
    return SN_FAIL(e, SN_ERR_USAGE, "separate --free: must be >= 0 (got %lld)", (long long)n_free);
  if (adapt < 0) return SN_FAIL(e, SN_ERR_USAGE, "separate --adapt: must be >= 0 (got %lld)", (long long)adapt);
  if (adapt && nc->solver_s && !strcmp(nc->solver_s, "online"))
    return SN_FAIL(e, SN_ERR_USAGE, "separate --adapt: does not go with --solver online (its iterations need V in memory)");
  if (!args->n) {
    if (n_free != INT64_MIN) return SN_FAIL(e, SN_ERR_USAGE, "separate --free: goes with --source (without it, give -k)");
    if (adapt) return SN_FAIL(e, SN_ERR_USAGE, "separate --adapt: goes with --source (it adapts their dictionaries)");
    return SN_OK;
  }
  if (group_s) return SN_FAIL(e, SN_ERR_USAGE, "separate: --group does not go with --source (the sources are named)");
  if (nc->fix_W_s) return SN_FAIL(e, SN_ERR_USAGE, "separate: --fix-W does not go with --source (give the dictionary as a --source)");
  return sn_sources_parse(args, src, e);
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
  int rc = sn_group_method_parse(grouping_s ? grouping_s : "auto", m, e);
  if (rc == SN_OK) *m = sn_group_resolve(*m, n_sources);
  return rc;
}

/* Local (rank 0 prints). --group that leaves components out: say which. */
static void sep_group_warn(sn_run *run, const sn_groups *g, int64_t k) {
  if (g->n_idx >= k) return;
  char miss[256] = "";
  size_t used = 0;
  for (int64_t r = 0; r < k && used + 24 < sizeof miss; r++) {
    int named = 0;
    for (int i = 0; i < g->n_idx && !named; i++) named = g->idx[i] == r;
    if (!named) used += (size_t)snprintf(miss + used, sizeof miss - used, "%s%lld", used ? ", " : "", (long long)r);
  }
  SN_PROGRESS(run, "separate --group: warning: component%s %s in no source: %s sound is left out, so the "
              "sources do not add up to the mixture", k - g->n_idx > 1 ? "s" : "", miss, k - g->n_idx > 1 ? "their" : "its");
}

/* Local. Every option before any work (the --group numbers need only k), and
 * on rank 0 whether the output folder can be made. Parses --reconstruct,
 * --pool, --grouping, --group and --source into o and st. */
static int sep_check_options(sn_run *run, sep_opts *o, sep_state *st) {
  sn_err *e = &run->err;
  sn_nmf_cli *nc = &o->nc;
  int rc;
  if (!st->od || !st->src) return SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory");
  if (!o->com.output) return SN_FAIL(e, SN_ERR_USAGE, "separate: -o OUTDIR is required");
  if ((rc = sep_sources_check(&o->src_args, o->n_free, o->adapt, o->group_s, nc, st->src, e))) return rc;
  if (!st->src->n) {
    if (!nc->beta_s) nc->beta_s = SN_SEPARATE_DEFAULT_BETA;
    if ((rc = sn_nmf_cli_check("separate", nc, e))) return rc;
  }
  if (!(o->mask_power > 0) || !isfinite(o->mask_power))
    return SN_FAIL(e, SN_ERR_USAGE, "separate --mask-power: must be > 0 (got %g)", o->mask_power);
  if (o->store_spec && nc->online)
    return SN_FAIL(e, SN_ERR_USAGE, "separate --store-spectrogram: --solver online does not hold V (make it with "
                   "specnmf stft)");
  if ((rc = sn_gl_opts_check("separate", &o->gl, SN_GL_SPELL_SEPARATE, e))) return rc;
  if (strcmp(o->pool_s, "max") && strcmp(o->pool_s, "mean"))
    return SN_FAIL(e, SN_ERR_USAGE, "separate --pool: '%s' is not max or mean", o->pool_s);
  if (!strcmp(o->recon_s, "mask")) o->recon = SN_RECON_MASK;
  else if (!strcmp(o->recon_s, "phase")) o->recon = SN_RECON_PHASE;
  else if (!strcmp(o->recon_s, "griffinlim")) o->recon = SN_RECON_GRIFFINLIM;
  else return SN_FAIL(e, SN_ERR_USAGE, "separate --reconstruct: '%s' is not mask, phase or griffinlim", o->recon_s);
  o->pool_mode = strcmp(o->pool_s, "max") ? SN_POOL_MEAN : SN_POOL_MAX;
  if ((rc = sep_auto_check(o->n_sources, o->grouping_s, o->group_s, &o->src_args, nc->k, &o->grouping, e))) return rc;
  if (o->group_s) {
    if ((rc = sn_groups_parse(o->group_s, &st->grp, e))) return rc;
    if ((rc = sn_groups_check(&st->grp, nc->k, e))) return rc;
    sep_group_warn(run, &st->grp, nc->k);
  }
  if (snprintf(st->od->path, sizeof st->od->path, "%s", o->com.output) >= (int)sizeof st->od->path)
    return SN_FAIL(e, SN_ERR_USAGE, "%s: path too long", o->com.output);
  return run->rank == 0 ? sn_outdir_precheck(st->od->path, e) : SN_OK;
}

/* Local. The named sources' dictionaries become the fixed columns of W: k =
 * their columns + --free (a -k that says otherwise is refused), beta =
 * --beta, else the dictionaries' (st->beta_buf holds it), else the default;
 * then the NMF options are checked. */
static int sep_sources_fix(sep_opts *o, sep_state *st, sn_err *e) {
  sn_nmf_cli *nc = &o->nc;
  const sn_sources *src = st->src;
  const int64_t n_free = o->n_free > 0 ? o->n_free : 0, k = src->first[src->n] + n_free;
  if (nc->k != 0 && nc->k != k)
    return SN_FAIL(e, SN_ERR_USAGE,
                   "separate -k: %lld contradicts the sources: their dictionaries have %lld columns and --free is %lld, "
                   "so k = %lld (leave -k out)",
                   (long long)nc->k, (long long)src->first[src->n], (long long)n_free, (long long)k);
  nc->k = k;
  nc->fix_W = src->W;
  nc->fix_W_cols = src->first[src->n];
  if (!nc->beta_s) {
    if (src->has_beta) snprintf(st->beta_buf, sizeof st->beta_buf, "%.17g", src->beta);
    else snprintf(st->beta_buf, sizeof st->beta_buf, "%s", SN_SEPARATE_DEFAULT_BETA);
    nc->beta_s = st->beta_buf;
  }
  return sn_nmf_cli_check("separate", nc, e);
}

/* Collective. --source: read the named sources' dictionaries, checked
 * against the parameters the input's spectrogram will have (before the
 * transform), fix them in W and make one source each (and rest). Then k and
 * the checkpoint's path are known. */
static int sep_named_sources(sn_run *run, sep_opts *o, sep_state *st) {
  sn_err *e = &run->err;
  int rc = SN_OK;
  if (st->src->n) {
    sn_spec_params par;
    SN_CHECK(sn_pstft_params(run, o->in, &o->scfg, &par));
    SN_CHECK(sn_sources_load(run, &par, o->nc.beta_s != NULL, st->src));
    o->scfg.context = st->src->context; /* the model's columns stack the frames' context as the dictionaries' do */
    SN_AGREE(run, sep_sources_fix(o, st, e));
    SN_AGREE(run, sn_groups_sources(&st->grp, st->src, o->n_free > 0 ? o->n_free : 0, e));
  }
  snprintf(st->ckpt_buf, sizeof st->ckpt_buf, "%s/nmf.ckpt.h5", st->od->path);
  if (!o->nc.checkpoint_s) o->nc.checkpoint_s = st->ckpt_buf;
  st->k = o->nc.k;
cleanup:
  return rc;
}

/* ------------------------------------------------------------ grouping -- */

/* Collective. The named sources in result.h5: /separate/sources/NAME/components
 * (the columns of W and rows of H of each source, and of rest) with the
 * dictionary as an attribute, and /separate source_names "a,b,rest". */
static int sep_write_sources(sn_run *run, sn_h5 *res, const sn_groups *g, const sn_sources *src) {
  sn_err *e = &run->err;
  char names[SN_OPT_LIST_MAX * 66] = "", ds[256];
  size_t len = 0;
  double *cols = malloc(((size_t)g->n_idx + 1) * sizeof *cols);
  int rc;
  /* the writes are collective: agree on the buffer first */
  SN_AGREE(run, cols ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"));
  for (int s = 0; s < g->n_src; s++) {
    int m = g->first[s + 1] - g->first[s];
    for (int j = 0; j < m; j++) cols[j] = g->idx[g->first[s] + j];
    snprintf(ds, sizeof ds, "/separate/sources/%s/components", g->name[s]);
    SN_CHECK(sn_h5_write_vec(res, ds, m, cols, e));
    snprintf(ds, sizeof ds, "/separate/sources/%s", g->name[s]);
    SN_CHECK(sn_h5_attr_set_str(res, ds, "dictionary", s < src->n ? src->file[s] : "(learned: --free)", e));
    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", s ? "," : "", g->name[s]);
  }
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "source_names", names, e));
cleanup:
  free(cols);
  return rc;
}

/* Collective. /separate/source_of_component: the source of each of the k
 * components (-1: in none). */
static int sep_write_source_of_component(sn_run *run, sn_h5 *res, const sn_groups *grp, int64_t k) {
  sn_err *e = &run->err;
  double *gv = calloc((size_t)k, sizeof *gv);
  int rc;
  /* the write is collective: agree on the buffer first */
  SN_AGREE(run, gv ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"));
  for (int64_t r = 0; r < k; r++) gv[r] = -1;
  for (int g = 0; g < grp->n_src; g++)
    for (int j = grp->first[g]; j < grp->first[g + 1]; j++) gv[grp->idx[j]] = g;
  SN_CHECK(sn_h5_write_vec(res, "/separate/source_of_component", k, gv, e));
cleanup:
  free(gv);
  return rc;
}

/* Local (rank 0). Cluster the k components into S labels (the reduced H
 * statistic, W). */
static int sep_group_labels(sn_run *run, sn_group_method m, const sn_spec *s, int64_t k, const float *W,
                            const double *stat, int S, int *lab) {
  return run->rank == 0 ? sn_group_components(m, s->F, k, W, s->par.sample_rate, s->par.n_fft, s->N, stat, S, lab, &run->err)
                        : SN_OK;
}

/* Local. The groups of the labels lab (k components into S sources named
 * source-NN), and the grouping as a --group list ("0+3,1+2") in list (cap
 * bytes), or "" if it does not fit. */
static void sep_groups_of_labels(sn_groups *g, const int *lab, int64_t k, int S, char *list, size_t cap) {
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
  const int alloc = (stat && lab && g->first && g->idx && g->name_buf) ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory");
  int rc, cnt = 0;
  if (m != SN_GROUP_TIMBRE) { /* the allocation is agreed inside the reduction */
    if (alloc == SN_OK) sn_group_hstat(k, s->n_local, H, stat);
    SN_CHECK(sn_run_allreduce_sum(run, stat, (size_t)n, alloc));
  } else {
    SN_AGREE(run, alloc);
  }
  SN_AGREE(run, sep_group_labels(run, m, s, k, W, stat, S, lab));
  SN_AGREE(run, sn_mpi_count(k, "grouping labels", &cnt, e));
  SN_MPI_CALL(MPI_Bcast(lab, cnt, MPI_INT, 0, run->comm));
  sep_groups_of_labels(g, lab, k, S, list, cap);
cleanup:
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
  int rc;
  if (rep) snprintf(rep, cap, "{\"options\": {%s}, \"facts\": {%s}}", run->options, run->facts);
  SN_AGREE(run, rep ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"));
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "report", rep, e));
cleanup:
  free(rep);
  return rc;
}

/* ---------------------------------------------------------- streamed -- */

/* Collective. result.h5 of a streamed separation: W, the /nmf attributes,
 * the sources, the facts and the report (no V unless the batch path runs,
 * no H: it would grow with the recording). */
static int sep_stream_model(sn_run *run, const sep_opts *o, const sep_state *st, const sn_spec_params *par,
                            const float *W, const sn_stream_cfg *c, const sn_stream_out *so) {
  sn_err *e = &run->err;
  const sn_nmf_cli *nc = &o->nc;
  const int64_t F = par->n_fft / 2 + 1, k = nc->k;
  char path[4200];
  sn_h5 *res = NULL;
  int rc, timing = 1;
  snprintf(path, sizeof path, "%s/result.h5", st->od->path);
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  SN_CHECK(sn_h5_create(run->comm, path, o->com.force, &res, e));
  /* the model: /nmf (W is the centre block: plain frames, whatever the model's context) */
  sn_spec_params plain = *par;
  plain.context = 0;
  const sn_model m = {{F, k, 0, 0, 0}, W, NULL, NULL, NULL, 0, &plain, nc->beta, nc->solver_s, NULL, NULL,
                      nc->max_iter, k, -1, so->loss, 0};
  SN_CHECK(sn_model_write(res, &m, e));
  /* the separation: /separate */
  SN_CHECK(sep_write_source_of_component(run, res, &st->grp, k));
  SN_CHECK(sn_h5_attr_set_int(res, "/separate", "stream_block_frames", c->block, e));
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "reconstruct", o->recon_s, e));
  SN_CHECK(sn_h5_attr_set_double(res, "/separate", "mask_power", o->mask_power, e));
  SN_CHECK(sn_h5_attr_set_int(res, "/separate", "n_sources", st->grp.n_src, e));
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "input", o->in, e));
  SN_CHECK(sn_h5_attr_set_int(res, "/separate", "channels", sn_spec_out_channels(par), e));
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "channel_rule", par->channel_rule, e));
  if (par->context) /* the model's columns stacked this many frames each side (/nmf/W: the centre block) */
    SN_CHECK(sn_h5_attr_set_int(res, "/separate", "context", par->context, e));
  if (st->src->n) SN_CHECK(sep_write_sources(run, res, &st->grp, st->src));
  sn_timer_end(&run->timer, SN_PH_WRITE);
  timing = 0;
  sn_run_fact_int(run, "F", F);
  sn_run_fact_int(run, "N", so->N);
  sn_run_fact_int(run, "k", k);
  sn_run_fact_int(run, "n_sources", st->grp.n_src);
  sn_run_fact_int(run, "n_iter", nc->max_iter);
  sn_run_fact_int(run, "stream_block_frames", c->block);
  sn_run_fact_int(run, "stream_blocks", so->n_blocks);
  sn_run_fact_double(run, "loss", so->loss);
  sn_run_fact_str(run, "reconstruct", o->recon_s);
  sn_run_fact_int(run, "output_channels", sn_spec_out_channels(par));
  sn_run_fact_str(run, "outdir", st->od->path);
  SN_CHECK(sep_store_report(run, res));
  SN_CHECK(sn_h5_close(&res, 1, e));
  if (run->rank == 0) sn_outdir_file(st->od, path);
cleanup:
  if (timing) sn_timer_end(&run->timer, SN_PH_WRITE);
  if (res) sn_h5_close(&res, 0, e); /* failure path: the error that led here is the one reported */
  return rc;
}

/* Local. The stream's configuration from the options: W (every column
 * fixed; or learned, with H its activations), the sources and their output
 * paths (paths: n_src entries, filled here); no checkpoint. With context
 * (and no H) W is the model's dictionary: the caller sets c->W to its centre
 * and c->W_model to it. */
static void sep_stream_cfg_of(const sep_opts *o, const sep_state *st, const sn_spec_params *par, const float *W,
                              const float *H, char (*paths)[4200], sn_stream_cfg *c) {
  const sn_nmf_cli *nc = &o->nc;
  const sn_groups *grp = &st->grp;
  memset(c, 0, sizeof *c);
  c->context = H ? 0 : par->context; /* with H the activations are known: no model to run */
  const int64_t F = (par->n_fft / 2 + 1) * (2 * c->context + 1), k = st->k;
  c->input = o->in, c->scfg = &o->scfg, c->par = par, c->W = W, c->H = H;
  c->ncfg.F = F, c->ncfg.R = k, c->ncfg.beta = nc->beta, c->ncfg.solver = nc->solver, c->ncfg.tile = nc->tile;
  c->ncfg.l1_H = (double)F * nc->alpha_H * nc->l1_ratio;
  c->ncfg.l2_H = (double)F * nc->alpha_H * (1.0 - nc->l1_ratio);
  c->ncfg.n_fixed = k;
  c->max_iter = nc->max_iter;
  c->recon = o->recon, c->mask_power = o->mask_power;
  c->n_src = grp->n_src, c->first = grp->first, c->idx = grp->idx, c->path = paths;
  c->force = o->com.force;
  for (int g = 0; g < grp->n_src; g++) {
    char name[64];
    sep_source_name(o, st, g, name, sizeof name);
    snprintf(paths[g], sizeof paths[g], "%s/%s.wav", st->od->path, name);
  }
}

/* Collective. The streamed separation (every column of W fixed, see
 * parallel/sn_pstream.h): the outputs, then result.h5. */
static int sep_stream(sn_run *run, const sep_opts *o, sep_state *st, const sn_spec_params *par, const float *W) {
  sn_err *e = &run->err;
  const sn_nmf_cli *nc = &o->nc;
  const sn_groups *grp = &st->grp;
  const double block_seconds = o->block_seconds < 0 ? SN_SEPARATE_DEFAULT_BLOCK_SECONDS : o->block_seconds;
  char(*paths)[4200] = calloc((size_t)grp->n_src + 1, sizeof *paths);
  float *Wc = NULL;
  int rc;
  SN_AGREE(run, paths ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"));
  sn_stream_cfg c;
  sep_stream_cfg_of(o, st, par, W, NULL, paths, &c);
  if (c.context) { /* the H updates use the model's W, the masks its centre block */
    const int64_t F = par->n_fft / 2 + 1;
    Wc = sn_calloc((size_t)(F * st->k) * sizeof(float), "mask dictionary", e);
    SN_AGREE(run, Wc ? SN_OK : SN_ERR_NOMEM);
    sn_context_center(W, F, c.context, st->k, Wc);
    c.W_model = W;
    c.W = Wc;
  }
  c.checkpoint = nc->checkpoint_s, c.resume = nc->resume;
  c.checkpoint_every = nc->checkpoint_every;
  SN_AGREE(run, sn_stream_block_frames("separate", block_seconds, par, &c.block, e));
  SN_PROGRESS(run, "separate: streamed, blocks of %lld frames (%g s), %lld H updates per frame", (long long)c.block,
              c.block * (double)par->hop / par->sample_rate, (long long)c.max_iter);
  SN_CHECK(sn_outdir_create(run, st->od));
  sn_stream_out so;
  SN_CHECK(sn_stream_separate(run, &c, &so));
  for (int g = 0; g < grp->n_src && run->rank == 0; g++) sn_outdir_file(st->od, paths[g]);
  SN_PROGRESS(run, "separate: %lld frames in %lld blocks, loss %.6g; wrote %d sources to %s", (long long)so.N,
              (long long)so.n_blocks, so.loss, grp->n_src, st->od->path);
  SN_CHECK(sep_stream_model(run, o, st, par, c.W, &c, &so));
cleanup:
  sn_free(Wc);
  free(paths);
  return rc;
}

/* Local. Why the options keep the parts from being made block by block
 * (NULL: they do not; mask and phase parts of any channel count are). */
static const char *sep_recon_why_not(const sep_opts *o) {
  return o->recon == SN_RECON_GRIFFINLIM ? "does not go with --reconstruct griffinlim"
         : o->store_audio ? "does not go with --store-audio"
         : NULL;
}

/* Local. Why the options alone keep the whole run from streaming (NULL: they
 * do not). */
static const char *sep_stream_why_not(const sep_opts *o, const sep_state *st) {
  const sn_nmf_cli *nc = &o->nc;
  const char *why = sep_recon_why_not(o);
  return !st->src->n && !nc->fix_W_s ? "needs every column fixed (--source, or --fix-W of all k columns)"
         : o->n_free > 0 ? "needs every column fixed (no --free)"
         : o->n_sources != INT_MIN ? "does not go with --sources (grouping needs all of H)"
         : why ? why
         : o->store_spec ? "does not go with --store-spectrogram"
         : nc->sort ? "does not go with --sort"
         : nc->init_kind == SN_NMF_INIT_FILE ? "does not go with --init FILE"
         : NULL;
}

/* Local. With every column fixed there is nothing for --solver online to
 * learn; --block-seconds asks for blocks that `why` refuses (the parts' too:
 * recon_why). */
static int sep_stream_check(const sep_opts *o, const sep_state *st, const char *why, const char *recon_why,
                            sn_err *e) {
  if (!why && o->nc.online && (st->src->n || st->Wfix))
    return SN_FAIL(e, SN_ERR_USAGE, "separate --solver online: every column of W is fixed, nothing to "
                   "learn (use --solver mu, or learn columns with --free)");
  if (o->block_seconds > 0 && why && recon_why)
    return SN_FAIL(e, SN_ERR_USAGE, "separate --block-seconds: streaming %s", recon_why);
  return SN_OK;
}

/* Collective. Every column of W fixed (--source without --free, --fix-W of
 * all k) and nothing that needs all of V or H: stream (sn_pstream.h) and set
 * *streamed; else leave it 0 and the batch stages run (with --block-seconds,
 * checked here, for the parts). --adapt of a run that would stream takes the
 * batch stages with V in a scratch file (st->v_scratch): each rank holds H
 * and a chunk of V, the held-fixed activations are found a chunk at a time
 * with exactly --max-iter updates (default the streamed one), each joint
 * iteration reads V once, and the parts are made block by block. */
static int sep_try_stream(sn_run *run, sep_opts *o, sep_state *st, int *streamed) {
  const char *why = sep_stream_why_not(o, st), *recon_why = sep_recon_why_not(o);
  sn_spec_params par;
  int rc = SN_OK;
  *streamed = 0;
  if (!why && o->block_seconds != 0) {
    SN_CHECK(sn_pstft_params(run, o->in, &o->scfg, &par));
    if (!st->src->n) {
      SN_CHECK(sn_stream_fixed_w(run, o->nc.fix_W_s, &par, st->k, &st->Wfix));
      if (!st->Wfix) why = "needs every column fixed (--fix-W of all k columns, made with these STFT options)";
    }
  }
  SN_AGREE(run, sep_stream_check(o, st, why, why ? recon_why : NULL, &run->err));
  if (o->block_seconds == 0 || why) return SN_OK;
  if (o->adapt > 0) {
    st->v_scratch = 1;
    if (!o->iter_given) {
      o->nc.max_iter = SN_SEPARATE_STREAM_DEFAULT_ITER;
      sep_options_json(run, o->tables);
    }
    return SN_OK;
  }
  if (!st->src->n && !o->group_s) SN_AGREE(run, sn_groups_identity(&st->grp, st->k, &run->err));
  if (!o->iter_given) {
    o->nc.max_iter = SN_SEPARATE_STREAM_DEFAULT_ITER;
    sep_options_json(run, o->tables); /* the report's options: the value used */
  }
  *streamed = 1;
  rc = sep_stream(run, o, st, &par, st->src->n ? st->src->W : st->Wfix);
cleanup:
  return rc;
}

/* ------------------------------------------------------- batch stages -- */

/* Local. The spectrogram's sizes against k and the options, the sources
 * (one per component unless grouped), and V's values. */
static int sep_check_spectrogram(const sep_opts *o, sep_state *st, sn_err *e) {
  const sn_nmf_cli *nc = &o->nc;
  const sn_spec *s = &st->s;
  const int64_t k = st->k;
  int rc;
  /* Held-fixed dictionaries may be overcomplete (k > F): only H is learned. */
  if (!(nc->fix_W && nc->fix_W_cols == k) && (rc = sn_nmf_cli_check_k("separate", k, s->rows, s->N, o->in, e))) return rc;
  if ((rc = sn_nmf_cli_check_batch("separate", nc, s->N, e))) return rc;
  if (!o->group_s && !st->src->n && o->n_sources == INT_MIN && (rc = sn_groups_identity(&st->grp, k, e))) return rc;
  if (!s->mag) return SN_OK; /* streamed: each piece was checked on its way to the scratch file */
  return sn_nmf_cli_check_v(s->mag, s->F, s->n_local, s->start, nc->beta, o->in, "the spectrogram", e);
}

/* --solver online (or --adapt of a run that would stream): the frames go to
 * the scratch file piece by piece, each
 * checked as sep_check_spectrogram checks V and pooled for overview.png. */
typedef struct sep_sink {
  const sep_opts *o;
  sep_state *st;
} sep_sink;

static int sep_put(void *ctx, int64_t j0, int64_t m, const float *V, sn_err *e) {
  const sep_opts *o = ((sep_sink *)ctx)->o;
  sep_state *st = ((sep_sink *)ctx)->st;
  const sn_spec *s = &st->s;
  int rc = sn_nmf_cli_check_v(V, s->rows, m, s->start + j0, o->nc.beta, o->in, "the spectrogram", e);
  if (rc == SN_OK && !o->no_plot) {
    const int PV = (int)(s->N < SN_PLOT_VCOLS ? s->N : SN_PLOT_VCOLS);
    if (!st->Vp) st->Vp = sn_calloc((size_t)(SN_PLOT_ROWS * PV) * sizeof(float), "pooled spectrogram", e);
    if (!st->Vp) return SN_ERR_NOMEM;
    const float *Vf = V;
    if (s->rows != s->F) { /* stacked columns: the picture shows each column's own frame */
      if (m > st->Vctr_cols) { /* pieces may differ in size: hold the largest */
        sn_free(st->Vctr);
        st->Vctr_cols = 0;
        if (!(st->Vctr = sn_calloc((size_t)s->F * (size_t)m * sizeof(float), "pooled frames", e))) return SN_ERR_NOMEM;
        st->Vctr_cols = m;
      }
      sn_context_center(V, s->F, s->par.context, m, st->Vctr);
      Vf = st->Vctr;
    }
    sn_plot_pool(Vf, s->F, m, s->start + j0, s->N, PV, 1, o->pool_mode, st->Vp);
  }
  return rc ? rc : sn_vcache_put(st->cache, j0, m, V, e);
}

/* Collective. Stage 1: V = |STFT| of the input, this rank's frames, checked;
 * with --solver online or st->v_scratch, into a scratch file beside OUTDIR
 * (or --scratch). */
static int sep_spectrogram(sn_run *run, const sep_opts *o, sep_state *st) {
  int rc;
  SN_PROGRESS(run, "separate: %s on %d rank%s, k = %lld, reconstruct %s", o->in, run->size, run->size > 1 ? "s" : "",
              (long long)st->k, o->recon_s);
  sep_sink sk = {o, st};
  const sn_frame_sink put = {sep_put, &sk};
  if (o->nc.online || st->v_scratch) {
    char dir[4200];
    sn_nmf_cli_scratch_dir(&o->nc, o->com.output, 0, dir, sizeof dir);
    SN_AGREE(run, sn_vcache_open(dir, (o->scfg.n_fft / 2 + 1) * (2 * o->scfg.context + 1), &st->cache, &run->err));
    sn_run_fact_int(run, "v_in_scratch", 1); /* V is not held: a scratch file per rank */
  }
  SN_CHECK(sn_pstft_compute(run, o->in, &o->scfg, 0, &st->s, st->cache ? &put : NULL));
  st->frames = st->cache   ? sn_vcache_frames(st->cache, st->s.n_local)
               : st->s.model ? sn_frames_mem(st->s.model, st->s.rows, st->s.n_local)
                             : sn_frames_mem(st->s.mag, st->s.F, st->s.n_local);
  SN_AGREE(run, sep_check_spectrogram(o, st, &run->err));
  SN_PROGRESS(run, "separate: V %lld x %lld at %g Hz (%.1f s)", (long long)st->s.F, (long long)st->s.N,
              st->s.par.sample_rate, st->s.par.n_samples / st->s.par.sample_rate);
cleanup:
  return rc;
}

/* Collective. --adapt N: from the activations found with the dictionaries
 * held fixed, N more iterations (no stopping rule) that update every column
 * of W too, each source's columns staying its own; the dictionaries follow
 * the mixture's notes and timbres. No checkpoint: a signal stops the run. */
static int sep_adapt(sn_run *run, const sep_opts *o, sep_state *st) {
  sn_pnmf_opts po = st->po;
  sn_pnmf_state ad;
  int rc;
  memset(&ad, 0, sizeof ad);
  po.cfg.n_fixed = 0;
  po.max_iter = o->adapt;
  po.tol = 0;
  po.checkpoint = NULL;
  po.checkpoint_every = 0;
  SN_AGREE(run, sn_pnmf_state_init(&ad, po.max_iter, &run->err));
  SN_CHECK(sn_pnmf_solve(run, &po, &st->frames, st->W, st->H, &ad, 0));
  for (int64_t i = 0; i < ad.n_hist; i++)
    if (ad.hist_iter[i] > 0) sn_pnmf_hist_push(&st->nmf, st->nmf.iter + ad.hist_iter[i], ad.hist[i]);
  st->nmf.iter += ad.iter;
  st->nmf.loss = ad.loss;
  st->n_fixed = 0;
  SN_PROGRESS(run, "separate: --adapt %lld: W and H together, loss %.6g", (long long)o->adapt, ad.loss);
cleanup:
  sn_pnmf_state_free(&ad);
  return rc;
}

/* Local. With context, after the NMF: W becomes its centre block (F x k),
 * what masks, pictures and result.h5 use, and the stacked V is let go. */
static int sep_center(sn_spec *s, sep_state *st, sn_err *e) {
  float *Wc = sn_calloc((size_t)s->F * (size_t)st->k * sizeof(float), "dictionary", e);
  if (!Wc) return SN_ERR_NOMEM;
  sn_context_center(st->W, s->F, s->par.context, st->k, Wc);
  sn_free(st->W);
  st->W = Wc;
  sn_free(s->model);
  s->model = NULL;
  return SN_OK;
}

/* Collective. Stage 2: the NMF V ~= W H (a SIGTERM/SIGUSR1 caught since the
 * start asks for a checkpoint); with --sources, the grouping of its
 * components. */
static int sep_factorize(sn_run *run, sep_opts *o, sep_state *st) {
  sn_spec *s = &st->s;
  int rc;
  const sn_nmf_block blk = {s->model ? s->model : s->mag, s->rows, s->N, s->start, s->n_local, o->in,
                            o->nc.checkpoint_s, sn_sep_compat, NULL, &s->par, &st->frames};
  SN_CHECK(sn_nmf_cli_run(run, "separate", &o->nc, &blk, &st->po, &st->W, &st->H, &st->nmf, &st->n_fixed));
  if (o->adapt > 0) SN_CHECK(sep_adapt(run, o, st));
  if (s->par.context) SN_AGREE(run, sep_center(s, st, &run->err));
  st->nmf_done = 1;
  /* the NMF is complete: its checkpoint has served (a crash from here on must
   * not leave a half-made folder behind) */
  if (run->rank == 0) unlink(o->nc.checkpoint_s);
  SN_PROGRESS(run, "separate: NMF %lld iterations, loss %.6g%s", (long long)st->nmf.iter, st->nmf.loss,
              st->nmf.converged ? " (converged)" : "");
  if (o->n_sources != INT_MIN) {
    st->auto_list = calloc(4096, 1);
    SN_AGREE(run, st->auto_list ? SN_OK : SN_FAIL(&run->err, SN_ERR_NOMEM, "separate: out of memory"));
    SN_CHECK(sep_group_auto(run, &st->grp, o->n_sources, o->grouping, s, st->k, st->W, st->H, st->auto_list, 4096));
    SN_PROGRESS(run, "separate: %d sources by %s: %s", o->n_sources, sn_group_method_name(o->grouping), st->auto_list);
  }
cleanup:
  return rc;
}

/* Collective. The model in result.h5: /nmf (W, H, the loss history and the
 * NMF's facts). */
static int sep_write_nmf(sn_run *run, const sep_opts *o, const sep_state *st, sn_h5 *res) {
  sn_err *e = &run->err;
  const sn_nmf_cli *nc = &o->nc;
  const sn_spec *s = &st->s;
  const sn_pnmf_state *nmf = &st->nmf;
  const int64_t F = s->F, N = s->N, k = st->k;
  int rc;
  sn_spec_params plain = s->par; /* W is the centre block: plain frames, whatever the model's context */
  plain.context = 0;
  const sn_model m = {{F, k, N, s->start, s->n_local}, st->W, st->H, nmf->hist, NULL, nmf->n_hist, &plain,
                      nc->beta, nc->solver_s, nc->init_s, NULL, nmf->iter, st->n_fixed, nmf->converged, nmf->loss, 1};
  SN_CHECK(sn_model_write(res, &m, e));
cleanup:
  return rc;
}

/* Collective. The separation's attributes in result.h5: /separate (the
 * source of each component, how the parts are made, the named sources). */
static int sep_write_separate(sn_run *run, const sep_opts *o, const sep_state *st, sn_h5 *res) {
  sn_err *e = &run->err;
  const int nch = o->recon == SN_RECON_GRIFFINLIM ? 1 : sn_spec_out_channels(&st->s.par); /* Griffin-Lim parts are mono */
  const char *groups = o->group_s ? o->group_s : st->auto_list ? st->auto_list : "";
  int rc;
  SN_CHECK(sep_write_source_of_component(run, res, &st->grp, st->k));
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "reconstruct", o->recon_s, e));
  SN_CHECK(sn_h5_attr_set_double(res, "/separate", "mask_power", o->mask_power, e));
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "groups", groups, e));
  if (st->auto_list) SN_CHECK(sn_h5_attr_set_str(res, "/separate", "grouping", sn_group_method_name(o->grouping), e));
  SN_CHECK(sn_h5_attr_set_int(res, "/separate", "n_sources", st->grp.n_src, e));
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "input", o->in, e));
  SN_CHECK(sn_h5_attr_set_int(res, "/separate", "channels", nch, e)); /* the channels of every part written */
  SN_CHECK(sn_h5_attr_set_str(res, "/separate", "channel_rule", st->s.par.channel_rule, e));
  if (st->s.par.context) /* the model's columns stacked this many frames each side (/nmf/W: the centre block) */
    SN_CHECK(sn_h5_attr_set_int(res, "/separate", "context", st->s.par.context, e));
  if (st->src->n) SN_CHECK(sep_write_sources(run, res, &st->grp, st->src));
cleanup:
  return rc;
}

/* Collective. Stage 3: result.h5 with V, the model (/nmf) and the
 * separation's attributes (/separate); it stays open (st->res) for the
 * parts' audio and the report. */
static int sep_write_model(sn_run *run, const sep_opts *o, sep_state *st) {
  char path[4200];
  int rc;
  snprintf(path, sizeof path, "%s/result.h5", st->od->path);
  SN_CHECK(sn_h5_create(run->comm, path, o->com.force, &st->res, &run->err));
  if (st->s.mag) SN_CHECK(sn_spec_write(run, st->res, &st->s)); /* --solver online holds no V to store */
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  rc = sep_write_nmf(run, o, st, st->res);
  if (rc == SN_OK) rc = sep_write_separate(run, o, st, st->res);
  sn_timer_end(&run->timer, SN_PH_WRITE);
cleanup:
  return rc;
}

/* Local. The reconstruction's scratch: the complex STFT of one batch, and
 * for several channels the interleaved part (and phase's channel scratch). */
static int sep_recon_alloc(const sep_opts *o, const sep_state *st, sep_recon *r, sn_err *e) {
  const int64_t F = st->s.F;
  const int batch = sn_stft_batch(sn_poverlap_plan(r->pola));
  r->Z = sn_calloc((size_t)F * batch * 2 * sizeof(float), "STFT chunk", e);
  if (r->nch > 1) {
    if (o->recon == SN_RECON_PHASE) r->A = sn_calloc((size_t)F * batch * 4 * sizeof(float), "channel scratch", e);
    r->Y = sn_calloc((size_t)((r->ny > 0 ? r->ny : 1) * r->nch) * sizeof(float), "interleaved channels", e);
  }
  return r->Z && (r->nch == 1 || (r->Y && (o->recon != SN_RECON_PHASE || r->A))) ? SN_OK : SN_ERR_NOMEM;
}

/* Collective. The distributed overlap-add of the parts; for mask and phase
 * this rank's samples of the mixture, kept instead of its complex STFT (a
 * quarter of the size at hop n_fft/4): frames are transformed again per
 * source. The mask's denominator replaces V (no longer needed). */
static int sep_recon_setup(sn_run *run, const sep_opts *o, sep_state *st, sep_recon *r) {
  sn_spec *s = &st->s;
  int rc;
  r->nch = o->recon == SN_RECON_GRIFFINLIM ? 1 : sn_spec_out_channels(&s->par);
  r->rms = !strcmp(s->par.channel_rule, "rms");
  SN_CHECK(sn_poverlap_create(run, &s->par, s->N, s->par.n_samples, &r->pola));
  sn_poverlap_owned(r->pola, &r->y0, &r->ny);
  if (o->recon == SN_RECON_GRIFFINLIM) return SN_OK;
  int64_t b0;
  sn_poverlap_span(r->pola, &b0, &r->lenb);
  SN_CHECK(sep_read_mixture(run, o->in, &o->scfg, r->nch, b0, r->lenb, &r->mix));
  SN_AGREE(run, sep_recon_alloc(o, st, r, &run->err));
  if (o->recon == SN_RECON_MASK) {
    r->Wp = o->mask_power == 1.0 ? st->W : sn_calloc((size_t)(s->F * st->k) * sizeof(float), "mask dictionary", &run->err);
    SN_AGREE(run, r->Wp ? SN_OK : SN_ERR_NOMEM);
    sn_timer_begin(&run->timer, SN_PH_ISTFT);
    if (r->Wp != st->W) sn_mask_power_w(s->F, st->k, st->W, o->mask_power, r->Wp);
    sn_mask_denominator(s->F, st->k, s->n_local, r->Wp, st->H, o->mask_power, s->mag);
    sn_timer_end(&run->timer, SN_PH_ISTFT);
  }
cleanup:
  return rc;
}

/* Collective. Source g's part into r (Griffin-Lim from W_g H_g alone, adding
 * its spectral convergence to *sc_sum; else every channel by mask or phase),
 * written to OUTDIR/NAME.wav (and to result.h5 with --store-audio). */
static int sep_source(sn_run *run, const sep_opts *o, sep_state *st, sep_recon *r, int g, double *sc_sum) {
  sn_spec *s = &st->s;
  const int *idx = st->grp.idx + st->grp.first[g];
  const int m = st->grp.first[g + 1] - st->grp.first[g];
  char name[64];
  int rc;
  sep_source_name(o, st, g, name, sizeof name);
  if (o->recon == SN_RECON_GRIFFINLIM) {
    sn_mask_magnitude(s->F, st->k, s->n_local, st->W, st->H, idx, m, s->par.power, s->mag);
    const sn_gl_cfg glc = sn_gl_opts_cfg(&o->gl, (uint64_t)o->nc.seed + 7919u * (uint64_t)g);
    SN_CHECK(sn_pgriffinlim_run(run, r->pola, s->mag, &glc));
    double sc = 0;
    SN_CHECK(sn_pgriffinlim_convergence(run, r->pola, s->mag, &sc));
    *sc_sum += sc;
  } else {
    for (int c = 0; c < r->nch; c++) {
      SN_CHECK(sep_channel_part(run, o, st, r, idx, m, c));
      if (r->nch > 1) sn_wav_interleave(sn_poverlap_owned_ptr(r->pola), r->ny, c, r->nch, r->Y);
    }
  }
  const float *y = r->nch > 1 ? r->Y : sn_poverlap_owned_ptr(r->pola);
  const double sr = s->par.sample_rate;
  SN_CHECK(sn_write_source(run, st->od, name, sr, s->par.n_samples, o->com.force, r->y0, r->ny, y, r->nch));
  if (o->store_audio) SN_CHECK(sep_store_audio(run, st->res, name, sr, s->par.n_samples, r->y0, r->ny, y, r->nch));
  SN_PROGRESS(run, "separate: wrote %s/%s.wav", st->od->path, name);
cleanup:
  return rc;
}

/* Collective. Stage 4 for parts made by mask or phase (every channel of the
 * input, as sep_source), with nothing kept in result.h5: the learned W and H
 * through the streamed pipeline
 * (parallel/sn_pstream.h with cfg.H), which reads the input again block by
 * block, so that this stage holds H and a block instead of V, the mixture and
 * the span's overlap-add. V is freed first (its picture is pooled). */
static int sep_sources_streamed(sn_run *run, const sep_opts *o, sep_state *st) {
  sn_err *e = &run->err;
  const sn_groups *grp = &st->grp;
  char(*paths)[4200] = calloc((size_t)grp->n_src + 1, sizeof *paths);
  int rc;
  SN_AGREE(run, paths ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"));
  sn_free(st->s.mag);
  st->s.mag = NULL;
  sn_stream_cfg c;
  sep_stream_cfg_of(o, st, &st->s.par, st->W, st->H, paths, &c);
  c.H_frames = st->s.N;
  const double block_seconds = o->block_seconds < 0 ? SN_SEPARATE_DEFAULT_BLOCK_SECONDS : o->block_seconds;
  SN_AGREE(run, sn_stream_block_frames("separate", block_seconds, &st->s.par, &c.block, e));
  sn_stream_out so;
  SN_CHECK(sn_stream_separate(run, &c, &so));
  for (int g = 0; g < grp->n_src && run->rank == 0; g++) sn_outdir_file(st->od, paths[g]);
  sn_run_fact_int(run, "parts_block_frames", c.block); /* the parts were made block by block */
  SN_PROGRESS(run, "separate: wrote %d parts to %s, in blocks of %lld frames", grp->n_src, st->od->path,
              (long long)c.block);
cleanup:
  free(paths);
  return rc;
}

/* Collective. Stage 4: each source in turn (mask and phase parts without
 * --store-audio, unless --block-seconds 0: sep_sources_streamed). */
static int sep_sources(sn_run *run, const sep_opts *o, sep_state *st) {
  if (o->block_seconds != 0 && !sep_recon_why_not(o)) return sep_sources_streamed(run, o, st);
  sep_recon r;
  memset(&r, 0, sizeof r);
  double sc_sum = 0;
  int rc;
  if (!st->s.mag) { /* --solver online held no V: the parts in memory use the block as scratch */
    st->s.mag = sn_calloc((size_t)(st->s.F * (st->s.n_local > 0 ? st->s.n_local : 1)) * sizeof(float), "part scratch",
                          &run->err);
    SN_AGREE(run, st->s.mag ? SN_OK : SN_ERR_NOMEM);
  }
  SN_CHECK(sep_recon_setup(run, o, st, &r));
  for (int g = 0; g < st->grp.n_src; g++) SN_CHECK(sep_source(run, o, st, &r, g, &sc_sum));
  if (o->recon == SN_RECON_GRIFFINLIM && st->grp.n_src > 0)
    sn_run_fact_double(run, "griffinlim_spectral_convergence", sc_sum / st->grp.n_src);
cleanup:
  sn_poverlap_destroy(&r.pola);
  sn_free(r.mix), sn_free(r.Z), sn_free(r.A), sn_free(r.Y);
  if (r.Wp != st->W) sn_free(r.Wp);
  return rc;
}

/* Local (rank 0). Draw the pooled data and write it to path (not over an
 * existing file without --force). */
static int sep_draw(sn_run *run, const sep_opts *o, const sep_state *st, const char *path, unsigned char **rgb) {
  sn_err *e = &run->err;
  const sn_spec *s = &st->s;
  const int64_t k = st->k;
  const sn_groups *grp = &st->grp;
  char title[200];
  const char *base = strrchr(o->in, '/');
  snprintf(title, sizeof title, "%s: R=%lld, %.1f S, %s", base ? base + 1 : o->in, (long long)k,
           s->par.n_samples / s->par.sample_rate, o->recon_s);
  sn_plot_in pin = {s->F, s->N, k, s->par.sample_rate, s->par.hop, st->PV, st->PH, st->Vp, st->W, st->Hp, title, NULL, NULL};
  int src_of[4097];
  if ((st->src->n || (st->auto_list && grp->n_src <= SN_OPT_LIST_MAX + 1)) && k <= 4097) { /* label the named sources (and rest) */
    for (int64_t r = 0; r < k; r++) src_of[r] = -1;
    for (int g = 0; g < grp->n_src; g++)
      for (int j = grp->first[g]; j < grp->first[g + 1]; j++) src_of[grp->idx[j]] = g;
    pin.src_of = src_of;
    pin.src_name = grp->name;
  }
  int w = 0, h = 0, rc;
  if ((rc = sn_plot_overview(&pin, rgb, &w, &h, e))) return rc;
  if ((rc = sn_fault("plot", run->rank, e))) return rc;
  if (!o->com.force && access(path, F_OK) == 0) return SN_FAIL(e, SN_ERR_IO, "%s: exists (use --force to overwrite)", path);
  return sn_png_write(path, w, h, *rgb, e);
}

/* Collective. Stage 5: overview.png (rank 0 draws the pooled V, W and H). */
static int sep_overview(sn_run *run, const sep_opts *o, sep_state *st) {
  char path[4200];
  unsigned char *rgb = NULL;
  int rc;
  snprintf(path, sizeof path, "%s/overview.png", st->od->path);
  sn_timer_begin(&run->timer, SN_PH_PLOT);
  SN_AGREE(run, run->rank == 0 ? sep_draw(run, o, st, path, &rgb) : SN_OK);
  if (run->rank == 0) sn_outdir_file(st->od, path);
cleanup:
  sn_timer_end(&run->timer, SN_PH_PLOT);
  sn_free(rgb);
  return rc;
}

/* Collective. The facts, the report inside result.h5, and the commit. */
static int sep_commit(sn_run *run, const sep_opts *o, sep_state *st) {
  const sn_pnmf_state *nmf = &st->nmf;
  char path[4200];
  int rc;
  sn_run_fact_int(run, "F", st->s.F);
  sn_run_fact_int(run, "N", st->s.N);
  sn_run_fact_int(run, "k", st->k);
  sn_run_fact_int(run, "n_sources", st->grp.n_src);
  if (st->auto_list) sn_run_fact_str(run, "grouping", sn_group_method_name(o->grouping));
  sn_run_fact_int(run, "n_iter", nmf->iter);
  sn_run_fact_int(run, "converged", nmf->converged);
  sn_run_fact_double(run, "loss", nmf->loss);
  sn_run_fact_double(run, "reconstruction_err", sqrt(2.0 * fmax(nmf->loss, 0.0)));
  sn_run_fact_str(run, "reconstruct", o->recon_s);
  sn_run_fact_int(run, "output_channels", o->recon == SN_RECON_GRIFFINLIM ? 1 : sn_spec_out_channels(&st->s.par));
  sn_run_fact_str(run, "outdir", st->od->path);
  SN_CHECK(sep_store_report(run, st->res));
  snprintf(path, sizeof path, "%s/result.h5", st->od->path);
  SN_CHECK(sn_h5_close(&st->res, 1, &run->err));
  if (run->rank == 0) sn_outdir_file(st->od, path);
  if (run->rank == 0) unlink(o->nc.checkpoint_s); /* complete: the checkpoint is no longer needed */
cleanup:
  return rc;
}

/* Local (rank 0). After a failure: a checkpoint of an unfinished NMF stays
 * (with its folder) to resume from; else the folder is undone. */
static void sep_undo(const sep_opts *o, sep_state *st) {
  const char *ckpt = o->nc.checkpoint_s;
  if (st->nmf_done && ckpt) unlink(ckpt);
  if (st->nmf_done || access(ckpt ? ckpt : "", F_OK) != 0) sn_outdir_undo(st->od);
  else
    for (int i = 0; i < st->od->n_files; i++) unlink(st->od->files[i]);
}

/* Local. Free the state; safe on a zeroed one. */
static void sep_state_free(sep_state *st) {
  sn_pnmf_state_free(&st->nmf);
  sn_spec_free(&st->s);
  sn_groups_free(&st->grp);
  free(st->auto_list);
  if (st->src) sn_sources_free(st->src);
  free(st->src);
  sn_free(st->W), sn_free(st->H), sn_free(st->Vp), sn_free(st->Hp), sn_free(st->Wfix), sn_free(st->Vctr);
  sn_vcache_close(&st->cache);
  free(st->od);
}

/* -------------------------------------------------------------- separate -- */

int sn_cmd_separate(sn_run *run, int argc, char **argv) {
  sep_opts o;
  memset(&o, 0, sizeof o);
  o.scfg = (sn_stft_cfg)SN_STFT_CFG_DEFAULT;
  o.nc = (sn_nmf_cli)SN_NMF_CLI_DEFAULT(256);
  o.nc.beta_s = NULL;         /* --source: the dictionaries' beta, else the command's default */
  o.nc.max_iter = INT64_MIN;  /* not given: the batch or the streamed default */
  o.gl = (sn_gl_opts)SN_GL_OPTS_DEFAULT;
  o.mask_power = NAN, o.block_seconds = -1, o.n_free = INT64_MIN, o.n_sources = INT_MIN;
  o.recon_s = "mask", o.pool_s = "max";
  const sn_opt t_main[] = {
      SN_COMMON_OPTS(&o.com),
      {"--source", 0, SN_OPT_LIST, &o.src_args, "NAME=DICT.h5[:/path]",
       "a named source: its dictionary (from learn: /dict/W, else /nmf/W) held fixed; repeat per source; writes NAME.wav"},
      {"--free", 0, SN_OPT_INT64, &o.n_free, "R",
       "with --source: R more learned columns for what the dictionaries miss (writes rest.wav; default 0)"},
      {"--reconstruct", 0, SN_OPT_STRING, &o.recon_s, "HOW",
       "mask (soft mask on each channel's STFT; parts add up to the mixture per channel) | phase (W_k H_k with each "
       "channel's phase, spread over the channels as |X_c| / V) | griffinlim (from W_k H_k alone: mono parts) (default mask)"},
      {"--mask-power", 0, SN_OPT_DOUBLE, &o.mask_power, "P", "soft mask (W_k H_k)^P / sum_j (W_j H_j)^P (default 2 with --source or --sources, else 1)"},
      {"--adapt", 0, SN_OPT_INT64, &o.adapt, "N",
       "with --source: after the activations, N iterations that also update the dictionaries' columns, each "
       "source's staying its own (default 0: held fixed). Where the run would stream, V goes to a scratch file "
       "(beside OUTDIR, or --scratch) and each iteration reads it once: memory holds H and a chunk of V"},
      {"--group", 0, SN_OPT_STRING, &o.group_s, "LIST", "sum components into sources: 0+1,2,3+4 (writes source-NN.wav)"},
      {"--sources", 0, SN_OPT_INT, &o.n_sources, "S",
       "group the -k R components into S sources automatically, with no dictionaries (writes source-NN.wav)"},
      {"--grouping", 0, SN_OPT_STRING, &o.grouping_s, "HOW",
       "with --sources: auto (default: ncut for S = 2, peaks otherwise) | ncut (normalized cut of the components' "
       "similarity: the cosine of their H rows times the 4th root of the cosine of their W columns; S > 2 by repeated "
       "cuts; best for drums against drums, e.g. kick and snare) | peaks (split in two by the log peakiness of W's "
       "columns, the peakier part split into S - 1 by the log spectral centroid of W below 1 kHz, bass below piano; "
       "at S = 2 best for drums against pitched instruments) | tiered (both into two, the less flat "
       "part split into S - 1 by the log spectral centroid of W) | both (spectral flatness of W and co-activation in H) | coact (H only) | timbre (cepstra of W)"},
      {"--store-audio", 0, SN_OPT_FLAG, &o.store_audio, NULL, "also store each part's audio in result.h5 (/separate/audio)"},
      {"--block-seconds", 0, SN_OPT_DOUBLE, &o.block_seconds, "S",
       "with every column fixed (--source without --free, or --fix-W of all k): stream the input in blocks of S "
       "seconds of audio, memory set by the block (default 30; 0: hold the whole span); exactly --max-iter H updates "
       "per frame (default 100 when streamed), no V or H in result.h5, no overview.png; a checkpoint every 10 s of wall time at a block's end, "
       "or every N blocks with --checkpoint-every N. With learned columns the NMF holds V, and the mask or phase "
       "parts (every channel of the input) are made in blocks of S seconds, the input read again (0: from the whole "
       "span in memory)"},
      {"--store-spectrogram", 0, SN_OPT_FLAG, &o.store_spec, NULL,
       "store V in result.h5 also when every column is fixed (the run is then not streamed)"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  sn_opt t_gl[SN_GL_OPT_ROWS];
  sn_gl_opts_table(&o.gl, SN_GL_SPELL_SEPARATE, t_gl);
  const sn_opt t_plot[] = {
      {"--pool", 0, SN_OPT_STRING, &o.pool_s, "max|mean", "pooling of long spectrograms for overview.png (default max)"},
      {"--no-plot", 0, SN_OPT_FLAG, &o.no_plot, NULL, "do not draw overview.png"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t_nmf[] = {SN_NMF_OPTS(&o.nc), {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t_stft[] = {SN_STFT_OPTS(&o.scfg), {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t_main, t_gl, t_plot, t_nmf, t_stft, NULL};
  const char *pos[1] = {NULL};
  int n_pos = 0, done = 0;
  int rc = sn_cli_parse(run, &o.com, "IN (-k R | --source NAME=DICT.h5 ... [--free R]) -o OUTDIR [options]",
                        "Separate a recording into R parts: spectrogram, distributed NMF V ~= W H, one sound per\n"
                        "component (or per source with --group or --sources) as OUTDIR/component-NN.wav, OUTDIR/result.h5 (V, W, H,\n"
                        "the report) and the picture OUTDIR/overview.png. With --source, the dictionaries of named\n"
                        "sources (from 'specnmf learn') are held fixed and only their activations are learned: one\n"
                        "OUTDIR/NAME.wav per source (and rest.wav from --free columns); beta defaults to the one the\n"
                        "dictionaries were learned with. A multichannel input is modelled by one magnitude per frame\n"
                        "(--channel-rule) and every part keeps the input's channels; --mono mixes them first, as before.",
                        tables, argc, argv, pos, 1, 1, &n_pos, &done);
  if (rc || done) return rc;
  o.in = pos[0];
  o.tables = tables;
  o.iter_given = o.nc.max_iter != INT64_MIN;
  if (!o.iter_given) o.nc.max_iter = 200;
  const int mask_given = !isnan(o.mask_power);
  if (!mask_given) o.mask_power = (o.src_args.n || o.n_sources != INT_MIN) ? SN_SEPARATE_SOURCE_MASK_POWER : 1.0;
  if (!o.iter_given || !mask_given) sep_options_json(run, tables); /* the report's options: the values used */

  sep_state st;
  memset(&st, 0, sizeof st);
  st.od = calloc(1, sizeof *st.od);
  st.src = calloc(1, sizeof *st.src);
  int streamed = 0;
  sn_signal_catch(); /* from here to the end: a signal asks for a checkpoint */
  SN_AGREE(run, sep_check_options(run, &o, &st));
  SN_CHECK(sep_named_sources(run, &o, &st));
  SN_CHECK(sep_try_stream(run, &o, &st, &streamed));
  if (streamed) goto cleanup;

  SN_CHECK(sep_spectrogram(run, &o, &st));
  /* the output folder: only now that the input and the options are good */
  SN_CHECK(sn_outdir_create(run, st.od));
  if (o.com.force && run->rank == 0) sn_leftovers_clean_dir(st.od->path); /* a killed run's temporary files */
  st.PV = (int)(st.s.N < SN_PLOT_VCOLS ? st.s.N : SN_PLOT_VCOLS);
  st.PH = (int)(st.s.N < SN_PLOT_HCOLS ? st.s.N : SN_PLOT_HCOLS);
  /* V pooled for the picture before V is reused */
  if (!o.no_plot && st.cache) SN_CHECK(sep_pool_reduce(run, &o, &st.s, SN_PLOT_ROWS, st.PV, "pooled spectrogram", &st.Vp));
  else if (!o.no_plot) SN_CHECK(sep_pool(run, &o, &st.s, st.s.mag, st.s.F, SN_PLOT_ROWS, st.PV, 1, "pooled spectrogram", &st.Vp));
  SN_CHECK(sep_factorize(run, &o, &st));
  SN_CHECK(sep_write_model(run, &o, &st));
  if (!o.no_plot) SN_CHECK(sep_pool(run, &o, &st.s, st.H, st.k, st.k, st.PH, 0, "pooled activations", &st.Hp));
  SN_CHECK(sep_sources(run, &o, &st));
  if (!o.no_plot) SN_CHECK(sep_overview(run, &o, &st));
  SN_CHECK(sep_commit(run, &o, &st));

cleanup:
  sn_signal_release();
  if (st.res) sn_h5_close(&st.res, 0, &run->err); /* failure path: the error that led here is the one reported */
  if (rc != SN_OK && st.od && run->rank == 0) sep_undo(&o, &st);
  sep_state_free(&st);
  return rc;
}
