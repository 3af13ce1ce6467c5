/* Command `specnmf score` (see sn_cmd_score.h).
 *
 * Every rank opens every file and reads only its block of the time axis (plus
 * flen - 1 samples either side); the sums over time (src/sn_bss.h) of all
 * ranks are added in one allreduce per run. The projections (one Cholesky per
 * reference and one for all references, per channel) are shared out over the
 * ranks and their small results added in a second allreduce. Rank 0 chooses
 * the assignment and writes the JSON under a temporary name, then renames it. */
#include "sn_cmd_score.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sn_audio.h"
#include "sn_bss.h"
#include "sn_cli.h"
#include "sn_atomic.h"
#include "sn_comm.h"

#define SN_SCORE_FLEN 512    /* mir_eval's distortion filter length */
#define SN_SCORE_MAX_REFS 32 /* the Gram matrix of all shifted references: (32 x 512)^2 doubles = 2 GiB */
#define SN_SCORE_CHUNK (1 << 18) /* samples read per signal at a time (about) */

/* The file name without folder and extension ("a/b/piano.wav" -> "piano"). */
static void stem_of(const char *path, char *out, size_t cap) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(out, cap, "%s", b);
  char *dot = strrchr(out, '.');
  if (dot && dot != out) *dot = '\0';
}

/* Local. Refuse equal names within one list (they are the JSON keys). */
static int check_names(const char *opt, const sn_strlist *l, char (*names)[256], sn_err *e) {
  for (int i = 0; i < l->n; i++) {
    stem_of(l->v[i], names[i], sizeof names[i]);
    if (names[i][0] == '\0') return SN_FAIL(e, SN_ERR_USAGE, "%s: %s has no file name", opt, l->v[i]);
    for (int j = 0; j < i; j++)
      if (strcmp(names[i], names[j]) == 0)
        return SN_FAIL(e, SN_ERR_USAGE, "%s: %s and %s have the same name '%s' (the results are keyed by file name without extension)",
                       opt, l->v[j], l->v[i], names[i]);
  }
  return SN_OK;
}

/* Local. Open every file once (mixed to mono) to check that they agree:
 * one sample rate, one length, one channel count. */
static int check_files(const char *const *paths, int n, int *channels, int64_t *samples, double *rate, sn_err *e) {
  int rc = SN_OK;
  for (int q = 0; q < n && rc == SN_OK; q++) {
    sn_audio *a = NULL;
    sn_audio_info info;
    rc = sn_audio_open(paths[q], NULL, &a, &info, e);
    sn_audio_close(&a);
    if (rc) break;
    if (q == 0) {
      *channels = info.channels;
      *samples = info.n_in;
      *rate = info.in_rate;
    } else if (info.in_rate != *rate) {
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: sample rate %g Hz, but %s has %g Hz (score needs one sample rate)", paths[q],
                   info.in_rate, paths[0], *rate);
    } else if (info.n_in != *samples) {
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %lld samples, but %s has %lld (score needs equal lengths, as mir_eval)",
                   paths[q], (long long)info.n_in, paths[0], (long long)*samples);
    } else if (info.channels != *channels) {
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %d channel%s, but %s has %d (score needs one channel count)", paths[q],
                   info.channels, info.channels > 1 ? "s" : "", paths[0], *channels);
    }
  }
  return rc;
}

/* Local. This rank's sums over t in [t0, t1) of every channel into sums
 * (n_ch x l->len, zeroed by the caller). */
static int correlate(sn_run *run, const sn_bss_layout *l, const char *const *paths, int n_ch, int64_t t0, int64_t t1,
                     double *sums) {
  sn_err *e = &run->err;
  int ns = l->n_ref + l->n_est, h = l->flen - 1;
  sn_bss_corr *corr = NULL;
  sn_audio **au = sn_calloc((size_t)ns * sizeof *au, "score: audio handles", e);
  float **buf = sn_calloc((size_t)ns * sizeof *buf, "score: audio buffers", e);
  const float **ptr = sn_calloc((size_t)ns * sizeof *ptr, "score: audio buffers", e);
  int rc = (au && buf && ptr) ? SN_OK : SN_ERR_NOMEM;
  if (rc == SN_OK) rc = sn_bss_corr_create(l, &corr, e);
  if (rc) goto cleanup;
  int64_t seg = sn_bss_corr_seg(corr);
  int64_t chunk = seg * (SN_SCORE_CHUNK / seg > 1 ? SN_SCORE_CHUNK / seg : 1);
  for (int q = 0; q < ns; q++) {
    buf[q] = sn_calloc((size_t)(chunk + 2 * h) * sizeof(float), "score: audio buffer", e);
    if (!buf[q]) {
      rc = SN_ERR_NOMEM;
      goto cleanup;
    }
  }
  for (int c = 0; c < n_ch && rc == SN_OK; c++) {
    sn_audio_opts ao = {c, 0, 0};
    for (int q = 0; q < ns && rc == SN_OK; q++) {
      sn_audio_info info;
      rc = sn_audio_open(paths[q], &ao, &au[q], &info, e);
    }
    for (int64_t t = t0; t < t1 && rc == SN_OK; t += chunk) {
      int64_t cl = t1 - t < chunk ? t1 - t : chunk;
      sn_timer_begin(&run->timer, SN_PH_READ);
      for (int q = 0; q < ns && rc == SN_OK; q++) rc = sn_audio_read(au[q], t - h, cl + 2 * h, buf[q], e);
      sn_timer_end(&run->timer, SN_PH_READ);
      if (rc) break;
      sn_timer_begin(&run->timer, SN_PH_CORRELATE);
      for (int64_t s = 0; s < cl; s += seg) {
        for (int q = 0; q < ns; q++) ptr[q] = buf[q] + s;
        sn_bss_corr_add(corr, ptr, cl - s < seg ? cl - s : seg);
      }
      sn_timer_end(&run->timer, SN_PH_CORRELATE);
    }
    sn_bss_corr_finish(corr, sums + (size_t)c * l->len);
    for (int q = 0; q < ns; q++) sn_audio_close(&au[q]);
  }
cleanup:
  for (int q = 0; au && q < ns; q++) sn_audio_close(&au[q]);
  for (int q = 0; buf && q < ns; q++) sn_free(buf[q]);
  sn_free(au);
  sn_free(buf);
  sn_free(ptr);
  sn_bss_corr_destroy(&corr);
  return rc;
}

/* Local. Silent signals make BSS Eval undefined (mir_eval refuses them). */
static int check_silence(const sn_bss_layout *l, const double *sums, int n_ch, const char *const *paths, sn_err *e) {
  int m = l->n_est, L = l->flen;
  for (int c = 0; c < n_ch; c++) {
    const double *s = sums + (size_t)c * l->len;
    char where[64] = "";
    if (n_ch > 1) snprintf(where, sizeof where, " in channel %d", c + 1);
    for (int j = 0; j < l->n_ref; j++)
      if (s[l->r_off + (size_t)sn_bss_pair(l->n_ref, j, j) * (2 * L - 1) + L - 1] == 0)
        return SN_FAIL(e, SN_ERR_INPUT, "%s: silent (all zeros)%s; BSS Eval is undefined for a silent reference (mir_eval refuses it)",
                       paths[j], where);
    for (int k = 0; k < m; k++)
      if (s[l->ee_off + (size_t)k * m + k] == 0)
        return SN_FAIL(e, SN_ERR_INPUT, "%s: silent (all zeros)%s; BSS Eval is undefined for a silent estimate (mir_eval refuses it)",
                       paths[l->n_ref + k], where);
  }
  return SN_OK;
}

/* Collective. The projections of every channel, shared out over the ranks
 * (the all-reference ones, the largest, first), then added into Q
 * (n_ch x (n_ref + 1) x n_est^2). *n_pinv: Gram matrices that needed the
 * pseudo-inverse. */
static int project(sn_run *run, const sn_bss_layout *l, const double *sums, int n_ch, double *Q, int *n_pinv) {
  sn_err *e = &run->err;
  int nr = l->n_ref, per = nr + 1;
  size_t mm = (size_t)l->n_est * l->n_est, nq = (size_t)n_ch * per * mm;
  int ntask = n_ch * per, rc = SN_OK;
  /* Q, then one pseudo-inverse flag per task, in one reduction. */
  for (int t = 0; t < ntask && rc == SN_OK; t++) {
    if (t % run->size != run->rank) continue;
    int c = t < n_ch ? t : (t - n_ch) / nr;
    int j = t < n_ch ? -1 : (t - n_ch) % nr;
    int slot = j < 0 ? nr : j, pinv = 0;
    rc = sn_bss_project(l, sums + (size_t)c * l->len, j, Q + ((size_t)c * per + slot) * mm, &pinv, e);
    Q[nq + (size_t)c * per + slot] = pinv;
  }
  rc = sn_run_allreduce_sum(run, Q, nq + (size_t)ntask, rc);
  *n_pinv = 0;
  for (int t = 0; rc == SN_OK && t < ntask; t++) *n_pinv += Q[nq + t] > 0.5;
  return rc;
}

/* ---- JSON ---------------------------------------------------------------------- */

static void json_num(FILE *f, double v) {
  if (isfinite(v))
    fprintf(f, "%.8f", v);
  else
    fprintf(f, "null");
}

static void json_str(FILE *f, const char *s) {
  char buf[2048];
  size_t len = 0;
  buf[0] = '\0';
  sn_json_str(buf, sizeof buf, &len, s);
  fputs(buf, f);
}

/* {"ref": value, ...} of one metric. */
static void json_metric(FILE *f, const char *key, char (*ref_names)[256], int n, const sn_bss_metrics *mt, int which,
                        const char *indent) {
  fprintf(f, "%s\"%s\": {", indent, key);
  for (int j = 0; j < n; j++) {
    const double v[4] = {mt[j].sdr, mt[j].sir, mt[j].sar, mt[j].si_sdr};
    fprintf(f, "%s", j ? ", " : "");
    json_str(f, ref_names[j]);
    fprintf(f, ": ");
    json_num(f, v[which]);
  }
  fprintf(f, "}");
}

/* The metrics and estimates of one assignment (group[k] = reference of k). */
static void json_assignment(FILE *f, char (*ref_names)[256], char (*est_names)[256], int n, int m, const int *group,
                            const sn_bss_metrics *mt, const char *method, const char *indent) {
  static const char *keys[4] = {"sdr", "sir", "sar", "si_sdr"};
  double mean = 0;
  for (int j = 0; j < n; j++) mean += mt[j].sdr / n;
  for (int w = 0; w < 4; w++) {
    json_metric(f, keys[w], ref_names, n, mt, w, indent);
    fprintf(f, ",\n");
  }
  fprintf(f, "%s\"mean_sdr\": ", indent);
  json_num(f, mean);
  fprintf(f, ",\n%s\"assignment\": {\"method\": \"%s\", \"estimates\": {", indent, method);
  for (int j = 0; j < n; j++) {
    fprintf(f, "%s", j ? ", " : "");
    json_str(f, ref_names[j]);
    fprintf(f, ": [");
    int first = 1;
    for (int k = 0; k < m; k++)
      if (group[k] == j) {
        fprintf(f, "%s", first ? "" : ", ");
        json_str(f, est_names[k]);
        first = 0;
      }
    fprintf(f, "]");
  }
  fprintf(f, "}}");
}

/* Local (rank 0). Metrics of each reference's group under group[]. */
static int eval_groups(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, const int *group, sn_bss_metrics *mt,
                       sn_err *e) {
  int *mem = sn_calloc((size_t)l->n_est * sizeof(int), "score: groups", e);
  if (!mem) return SN_ERR_NOMEM;
  for (int j = 0; j < l->n_ref; j++) {
    int nm = 0;
    for (int k = 0; k < l->n_est; k++)
      if (group[k] == j) mem[nm++] = k;
    sn_bss_eval(l, ch, n_ch, mem, nm, j, &mt[j]);
  }
  sn_free(mem);
  return SN_OK;
}

typedef struct score_out {
  const sn_strlist *refs, *ests;
  char (*ref_names)[256], (*est_names)[256];
  int n_ch, n_pinv;
  int64_t samples;
  double rate;
} score_out;

/* Local (rank 0). Choose the assignment(s) and write the JSON to tmp (the
 * caller renames it to path once every rank agrees). */
static int write_json(sn_run *run, const char *path, const char *tmp, const sn_bss_layout *l, const sn_bss_chan *ch,
                      int search, const score_out *so, double *mean_sdr, const char **method_out) {
  sn_err *e = &run->err;
  int n = l->n_ref, m = l->n_est, rc = SN_OK;
  int *group = sn_calloc((size_t)m * sizeof(int), "score: assignment", e);
  int *group2 = sn_calloc((size_t)m * sizeof(int), "score: assignment", e);
  int *est_of = sn_calloc((size_t)n * sizeof(int), "score: assignment", e);
  sn_bss_metrics *mt = sn_calloc((size_t)n * sizeof *mt, "score: metrics", e);
  sn_bss_metrics *mt2 = sn_calloc((size_t)n * sizeof *mt2, "score: metrics", e);
  FILE *f = NULL;
  if (!group || !group2 || !est_of || !mt || !mt2) {
    rc = SN_ERR_NOMEM;
    goto cleanup;
  }
  const char *method;
  if (m == n) {
    method = "mir_eval_permutation";
    SN_CHECK(sn_bss_permutation(l, ch, so->n_ch, 0, est_of, e));
    for (int j = 0; j < n; j++) group[est_of[j]] = j;
    SN_CHECK(sn_bss_permutation(l, ch, so->n_ch, 1, est_of, e));
    for (int j = 0; j < n; j++) group2[est_of[j]] = j;
    SN_CHECK(eval_groups(l, ch, so->n_ch, group2, mt2, e));
  } else {
    int used = 0;
    SN_CHECK(sn_bss_grouping(l, ch, so->n_ch, search, group, &used, e));
    method = used == SN_BSS_SEARCH_EXHAUSTIVE ? "exhaustive" : "greedy_local_search";
  }
  SN_CHECK(eval_groups(l, ch, so->n_ch, group, mt, e));
  *mean_sdr = 0;
  for (int j = 0; j < n; j++) *mean_sdr += mt[j].sdr / n;
  *method_out = method;

  f = fopen(tmp, "w");
  if (!f) {
    rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    goto cleanup;
  }
  fprintf(f, "{\n");
  json_assignment(f, so->ref_names, so->est_names, n, m, group, mt, method, "  ");
  fprintf(f, ",\n");
  if (m == n) {
    fprintf(f, "  \"best_sdr_permutation\": {\n");
    json_assignment(f, so->ref_names, so->est_names, n, m, group2, mt2, "max_mean_sdr", "    ");
    fprintf(f, "\n  },\n");
  }
  fprintf(f, "  \"references\": [");
  for (int j = 0; j < n; j++) {
    fprintf(f, "%s", j ? ", " : "");
    json_str(f, so->refs->v[j]);
  }
  fprintf(f, "],\n  \"estimates\": [");
  for (int k = 0; k < m; k++) {
    fprintf(f, "%s", k ? ", " : "");
    json_str(f, so->ests->v[k]);
  }
  fprintf(f, "],\n  \"channels\": %d,\n  \"samples\": %lld,\n  \"sample_rate\": %.17g,\n", so->n_ch,
          (long long)so->samples, so->rate);
  fprintf(f, "  \"filter_length\": %d,\n  \"pseudo_inverse\": %d\n}\n", l->flen, so->n_pinv);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    f = NULL;
    rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
    remove(tmp);
    goto cleanup;
  }
  f = NULL;
cleanup:
  if (f) {
    fclose(f);
    remove(tmp);
  }
  sn_free(group);
  sn_free(group2);
  sn_free(est_of);
  sn_free(mt);
  sn_free(mt2);
  return rc;
}

/* ---- stages of the command --------------------------------------------------- */

/* Local. The options, the names of the files (the JSON keys) and, on rank
 * 0, the output: an existing -o without --force or a folder we cannot write
 * fails before the work. */
static int check_opts(sn_run *run, const sn_common *c, const sn_strlist *refs, const sn_strlist *ests,
                      const char *search_s, int *search, char (*ref_names)[256], char (*est_names)[256]) {
  sn_err *e = &run->err;
  int rc = SN_OK;
  *search = SN_BSS_SEARCH_AUTO;
  if (!c->output) rc = SN_FAIL(e, SN_ERR_USAGE, "score: -o SCORE.json is required");
  else if (refs->n < 1) rc = SN_FAIL(e, SN_ERR_USAGE, "score: --ref FILE... is required");
  else if (ests->n < 1) rc = SN_FAIL(e, SN_ERR_USAGE, "score: --est FILE... is required");
  else if (ests->n < refs->n)
    rc = SN_FAIL(e, SN_ERR_USAGE, "score: %d estimate%s for %d references (needs at least as many estimates as references)",
                 ests->n, ests->n > 1 ? "s" : "", refs->n);
  else if (refs->n > SN_SCORE_MAX_REFS)
    rc = SN_FAIL(e, SN_ERR_USAGE, "score: %d references (at most %d)", refs->n, SN_SCORE_MAX_REFS);
  else if (strcmp(search_s, "auto") == 0) *search = SN_BSS_SEARCH_AUTO;
  else if (strcmp(search_s, "exhaustive") == 0) *search = SN_BSS_SEARCH_EXHAUSTIVE;
  else if (strcmp(search_s, "greedy") == 0) *search = SN_BSS_SEARCH_GREEDY;
  else rc = SN_FAIL(e, SN_ERR_USAGE, "--search: '%s' is not auto, exhaustive or greedy", search_s);
  if (rc == SN_OK) rc = check_names("--ref", refs, ref_names, e);
  if (rc == SN_OK) rc = check_names("--est", ests, est_names, e);
  if (rc == SN_OK && run->rank == 0) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", c->output);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    if (!c->force && access(c->output, F_OK) == 0)
      rc = SN_FAIL(e, SN_ERR_IO, "%s: exists (use --force to overwrite)", c->output);
    else if (access(dir, W_OK | X_OK) != 0)
      rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot write: %s", c->output, strerror(errno));
  }
  return rc;
}

/* Local. This rank's block of segments of the time axis [0, T), correlated
 * into sums (the caller adds them over the ranks). */
static int correlate_block(sn_run *run, const sn_bss_layout *l, const char *const *paths, int n_ch, int64_t T,
                           double *sums) {
  sn_err *e = &run->err;
  sn_bss_corr *probe = NULL;
  int64_t seg = 0, s0 = 0, nseg = 0;
  int rc = sn_bss_corr_create(l, &probe, e);
  if (rc == SN_OK) seg = sn_bss_corr_seg(probe);
  sn_bss_corr_destroy(&probe);
  if (rc == SN_OK) {
    sn_block_range((T + seg - 1) / seg, run->size, run->rank, &s0, &nseg);
    int64_t t0 = s0 * seg, t1 = (s0 + nseg) * seg < T ? (s0 + nseg) * seg : T;
    if (nseg > 0) rc = correlate(run, l, paths, n_ch, t0, t1, sums);
  }
  if (rc == SN_OK) rc = sn_fault("score", run->rank, e);
  return rc;
}

/* Local (rank 0). Rename tmp to path (*renamed = 1), or remove tmp. */
/* Local (rank 0). Start the temporary file and write the JSON into it. */
static int json_begin(sn_run *run, sn_atomic *out, const char *path, const sn_bss_layout *l, const sn_bss_chan *ch,
                      int search, const score_out *so, double *mean_sdr, const char **method) {
  if (sn_atomic_begin(out, path, NULL) != 0)
    return SN_FAIL(&run->err, SN_ERR_IO, "%s: cannot write: %s", path, strerror(ENAMETOOLONG));
  return write_json(run, path, out->tmp, l, ch, search, so, mean_sdr, method);
}

/* Local (rank 0). Rename the temporary file into place. */
static int json_commit(sn_atomic *out, const char *path, int *renamed, sn_err *e) {
  int err = sn_atomic_commit(out);
  if (err) return SN_FAIL(e, SN_ERR_IO, "%s: cannot write: %s", path, strerror(err));
  *renamed = 1;
  return SN_OK;
}

/* Collective (phase write). Rank 0 chooses the assignment and writes the
 * JSON under a temporary name; the final name only once every rank has
 * succeeded; if the last agreement fails after the rename, the output goes
 * again (no output on failure). */
static int score_write(sn_run *run, const char *path, const sn_bss_layout *l, const sn_bss_chan *ch, int search,
                       const score_out *so, double *mean_sdr, const char **method) {
  sn_atomic out = {.tmp = ""};
  int renamed = 0;
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  int rc = sn_run_agree(run, run->rank == 0 ? json_begin(run, &out, path, l, ch, search, so, mean_sdr, method) : SN_OK);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  if (rc == SN_OK) rc = sn_run_agree(run, run->rank == 0 ? json_commit(&out, path, &renamed, &run->err) : SN_OK);
  if (run->rank == 0) sn_atomic_abort(&out); /* nothing pending after a commit: a no-op then */
  if (rc && renamed) remove(path);
  return rc;
}

int sn_cmd_score(sn_run *run, int argc, char **argv) {
  sn_common c = {0};
  sn_strlist refs = {0}, ests = {0};
  const char *search_s = "auto";
  const sn_opt common[] = {
      SN_COMMON_OPTS(&c),
      {"--ref", 0, SN_OPT_LIST, &refs, "FILE...", "reference sources (one or more audio files)"},
      {"--est", 0, SN_OPT_LIST, &ests, "FILE...", "estimated sources (at least as many as references)"},
      {"--search", 0, SN_OPT_STRING, &search_s, "HOW",
       "auto|exhaustive|greedy: grouping search for more estimates than references (auto)"},
      {NULL}};
  const sn_opt *const tables[] = {common, NULL};
  const char *pos[1];
  int npos = 0, done = 0;
  int rc = sn_cli_parse(
      run, &c, "--ref A.wav [B.wav ...] --est X.wav [Y.wav ...] -o SCORE.json [options]",
      "BSS Eval v3 exactly as mir_eval.separation.bss_eval_sources (SDR, SIR, SAR with\n"
      "a 512-tap distortion filter; equal lengths required) and SI-SDR, in dB, keyed by\n"
      "reference file name without extension. As many estimates as references: the\n"
      "permutation mir_eval chooses (highest mean SIR); the one with the highest mean\n"
      "SDR is reported too. More estimates: each goes to one reference, those of one\n"
      "reference are summed, and the grouping with the highest mean SDR is chosen\n"
      "(exhaustive up to 2^20 groupings, else greedy plus local search). Multichannel\n"
      "files are scored per channel and the dB values averaged.",
      tables, argc, argv, pos, 0, 0, &npos, &done);
  if (rc || done) return rc;
  sn_err *e = &run->err;
  char ref_names[SN_OPT_LIST_MAX][256], est_names[SN_OPT_LIST_MAX][256];
  const char *paths[2 * SN_OPT_LIST_MAX];
  int search = SN_BSS_SEARCH_AUTO, n_ch = 0, n_pinv = 0;
  int64_t T = 0;
  double rate = 0, *sums = NULL, *Q = NULL;
  sn_bss_chan *ch = NULL;
  SN_AGREE(run, check_opts(run, &c, &refs, &ests, search_s, &search, ref_names, est_names));

  /* ---- the files: one rate, length and channel count ---- */
  int ns = refs.n + ests.n;
  for (int j = 0; j < refs.n; j++) paths[j] = refs.v[j];
  for (int k = 0; k < ests.n; k++) paths[refs.n + k] = ests.v[k];
  sn_timer_begin(&run->timer, SN_PH_READ);
  rc = sn_run_agree(run, check_files(paths, ns, &n_ch, &T, &rate, e));
  sn_timer_end(&run->timer, SN_PH_READ);
  if (rc) goto cleanup;
  SN_PROGRESS(run, "score: %d reference%s, %d estimate%s, %d channel%s, %lld samples at %g Hz on %d rank%s", refs.n,
              refs.n > 1 ? "s" : "", ests.n, ests.n > 1 ? "s" : "", n_ch, n_ch > 1 ? "s" : "", (long long)T, rate,
              run->size, run->size > 1 ? "s" : "");

  /* ---- the sums over time, added over the ranks ---- */
  sn_bss_layout l;
  sn_bss_layout_init(&l, refs.n, ests.n, SN_SCORE_FLEN);
  size_t mm = (size_t)ests.n * ests.n, nq = (size_t)n_ch * (refs.n + 1) * mm + (size_t)n_ch * (refs.n + 1);
  sums = sn_calloc((size_t)n_ch * l.len * sizeof(double), "score: sums", e);
  Q = sn_calloc(nq * sizeof(double), "score: projections", e);
  ch = sn_calloc((size_t)n_ch * sizeof *ch, "score: channels", e);
  SN_AGREE(run, (sums && Q && ch) ? SN_OK : SN_ERR_NOMEM);
  SN_CHECK(sn_run_allreduce_sum(run, sums, (size_t)n_ch * l.len, correlate_block(run, &l, paths, n_ch, T, sums)));
  SN_AGREE(run, check_silence(&l, sums, n_ch, paths, e));

  /* ---- the projections ---- */
  sn_timer_begin(&run->timer, SN_PH_PROJECT);
  rc = project(run, &l, sums, n_ch, Q, &n_pinv);
  sn_timer_end(&run->timer, SN_PH_PROJECT);
  if (rc) goto cleanup;
  if (n_pinv)
    SN_PROGRESS(run, "score: warning: the references (or their shifts) are linearly dependent in %d Gram matri%s; "
                "used the pseudo-inverse, as mir_eval's least-squares fallback", n_pinv, n_pinv > 1 ? "ces" : "x");
  for (int k = 0; k < n_ch; k++) {
    ch[k].sums = sums + (size_t)k * l.len;
    ch[k].Q = Q + (size_t)k * (refs.n + 1) * mm;
  }

  /* ---- the assignment and the JSON ---- */
  double mean_sdr = 0;
  const char *method = "";
  score_out so = {&refs, &ests, ref_names, est_names, n_ch, n_pinv, T, rate};
  SN_CHECK(score_write(run, c.output, &l, ch, search, &so, &mean_sdr, &method));
  SN_PROGRESS(run, "score: mean SDR %.2f dB (%s) -> %s", mean_sdr, method, c.output);
  sn_run_fact_int(run, "references", refs.n);
  sn_run_fact_int(run, "estimates", ests.n);
  sn_run_fact_int(run, "channels", n_ch);
  sn_run_fact_int(run, "samples", T);
  sn_run_fact_int(run, "pseudo_inverse", n_pinv);
  if (run->rank == 0) {
    sn_run_fact_double(run, "mean_sdr", mean_sdr);
    sn_run_fact_str(run, "assignment_method", method);
  }
cleanup:
  sn_free(sums);
  sn_free(Q);
  sn_free(ch);
  return rc;
}
