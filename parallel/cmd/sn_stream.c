/* Streamed fixed-dictionary separation (see sn_stream.h).
 *
 * Geometry, in samples of the unpadded signal (off = n_fft/2 when centred):
 * frame t covers [t*hop - off, t*hop - off + n_fft). Rank r holds frames
 * [S, S + n) and owns the samples [a0, a1) with the frame-aligned rule of the
 * overlap-add in sn_pgriffinlim.c (sn_poverlap) (a0 = clamp(S*hop - off), a1 = the next
 * rank's a0, the last rank's a1 = length). Frames before S reach at most
 * C = n_fft - hop samples past S*hop - off: the head [a0, hend) of the owned
 * samples is the only part that other ranks add to; it is held (C floats per
 * source) until their tails arrive at the end. Every other owned sample is
 * final as soon as this rank's blocks have passed it, and is written then. */
#include "sn_stream.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn_audio.h"
#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_nmf_cli.h"
#include "sn_pnmf.h"
#include "sn_signal.h"
#include "sn_stft.h"
#include "sn_wav.h"

int sn_stream_block_frames(const char *cmd, double seconds, const sn_spec_params *p, int64_t *block, sn_err *e) {
  if (!(seconds > 0) || !isfinite(seconds) || seconds > 1e7)
    return SN_FAIL(e, SN_ERR_USAGE, "%s --block-seconds: must be > 0 (got %g; 0 turns streaming off)", cmd, seconds);
  double samples = seconds * p->sample_rate;
  if (samples < p->n_fft)
    return SN_FAIL(e, SN_ERR_USAGE,
                   "%s --block-seconds: %g s is %.0f samples, shorter than n_fft (%d); give at least %.4g s", cmd,
                   seconds, floor(samples), p->n_fft, p->n_fft / p->sample_rate);
  int64_t b = (int64_t)llround(samples / p->hop);
  *block = b < 1 ? 1 : b;
  return SN_OK;
}

int sn_stream_fixed_w(sn_run *run, const char *spec, const sn_spec_params *p, int64_t k, float **W) {
  sn_err *e = &run->err, quiet;
  char file[4096], dset[1024];
  sn_h5 *f = NULL;
  sn_spec_params fp;
  int64_t dims[2] = {0, 0};
  int nd = 0, ok = 0;
  const int64_t F = p->n_fft / 2 + 1;
  *W = NULL;
  memset(&quiet, 0, sizeof quiet);
  /* every failure here means "not streamable": the batch path reports it */
  if (sn_agree(run->comm, sn_h5_split_spec(spec, "/nmf/W", file, sizeof file, dset, sizeof dset, &quiet), &quiet) ||
      access(file, R_OK) != 0 || !sn_h5_is_hdf5(file))
    return SN_OK;
  if (sn_h5_open(run->comm, file, &f, &quiet)) return SN_OK;
  ok = sn_h5_exists(f, dset) && sn_h5_shape(f, dset, &nd, dims, &quiet) == SN_OK && nd == 2 && dims[0] == F &&
       dims[1] == k && sn_spec_params_read(f, dset, &fp, &quiet) == SN_OK &&
       sn_agree(run->comm, sn_spec_params_check(p, &fp, file, &quiet), &quiet) == SN_OK;
  int rc = SN_OK;
  if (ok) {
    *W = sn_calloc((size_t)(F * k) * sizeof(float), "fixed W", e);
    rc = sn_agree(run->comm, *W ? SN_OK : SN_ERR_NOMEM, e);
    if (rc == SN_OK && sn_h5_read_cols(f, dset, F, 0, k, *W, F, &quiet) != SN_OK) ok = 0;
    for (int64_t i = 0; ok && i < F * k; i++)
      if (!((*W)[i] >= 0) || !isfinite((*W)[i])) ok = 0;
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, run->comm);
    ok = all;
  }
  sn_h5_close(&f, 0, &quiet);
  if (!ok || rc) {
    sn_free(*W);
    *W = NULL;
  }
  return rc;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The layout of the job: every rank's frames and owned samples. */
typedef struct geom {
  int size, rank, hop, n_fft;
  int64_t N, length, off, C;
} geom;

static void frames_of(const geom *g, int q, int64_t *S, int64_t *n) { sn_block_range(g->N, g->size, q, S, n); }

/* First owned sample of rank q (q = size: length). */
static int64_t own0(const geom *g, int q) {
  if (q <= 0) return 0;
  if (q >= g->size) return g->length;
  int64_t S, n;
  frames_of(g, q, &S, &n);
  return clamp64(S * g->hop - g->off, 0, g->length);
}

/* Rank q's head: the owned samples [a0, hend) that earlier ranks' frames reach. */
static void head_of(const geom *g, int q, int64_t *a0, int64_t *hend) {
  int64_t S, n;
  frames_of(g, q, &S, &n);
  *a0 = own0(g, q);
  int64_t a1 = own0(g, q + 1);
  *hend = S == 0 ? *a0 : clamp64(S * g->hop - g->off + g->C, *a0, a1);
}

/* Rank q's final tail: samples [x_end, x_end + C) past its last frame's hop
 * (empty when q has no frames). */
static void tail_of(const geom *g, int q, int64_t *x, int64_t *len) {
  int64_t S, n;
  frames_of(g, q, &S, &n);
  *x = (S + n) * g->hop - g->off;
  *len = n > 0 ? g->C : 0;
}

/* Collective. The fingerprint of everything the outputs depend on. */
static uint64_t stream_fingerprint(const sn_run *run, const sn_stream_cfg *c) {
  const sn_spec_params *p = c->par;
  uint64_t h = sn_fnv1a(SN_FNV_INIT, c->W, (size_t)(c->ncfg.F * c->ncfg.R) * sizeof(float));
  int64_t iv[14] = {c->ncfg.F, c->ncfg.R, c->ncfg.solver, c->ncfg.tile, c->max_iter, c->block, c->recon, c->n_src,
                    p->n_samples, p->n_fft, p->hop, p->win_length, p->center, p->power};
  double dv[7] = {c->ncfg.beta, c->ncfg.l1_H, c->ncfg.l2_H, c->mask_power, p->sample_rate, c->scfg->sr,
                  (double)c->scfg->channel + 1e3 * c->scfg->normalize};
  h = sn_fnv1a(h, iv, sizeof iv);
  h = sn_fnv1a(h, dv, sizeof dv);
  h = sn_fnv1a(h, &run->size, sizeof run->size);
  h = sn_fnv1a(h, p->window, strlen(p->window));
  h = sn_fnv1a(h, c->input, strlen(c->input));
  h = sn_fnv1a(h, c->first, (size_t)(c->n_src + 1) * sizeof(int));
  h = sn_fnv1a(h, c->idx, (size_t)c->first[c->n_src] * sizeof(int));
  for (int s = 0; s < c->n_src; s++) h = sn_fnv1a(h, c->path[s], strlen(c->path[s]));
  return h & 0x7fffffffffffffffull; /* stored as an int64 attribute */
}

/* Collective. Write the checkpoint: next block, the fingerprint, every rank's
 * state column (carries and heads of every source) and loss. */
static int ckpt_write(sn_run *run, const sn_stream_cfg *c, uint64_t fp, int64_t next, int64_t rows, const float *state,
                      double loss) {
  sn_err *e = &run->err;
  sn_timer_begin(&run->timer, SN_PH_CHECKPOINT);
  sn_h5 *f = NULL;
  double *all = calloc((size_t)run->size, sizeof *all);
  int rc = sn_agree(run->comm, all ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"), e);
  if (rc == SN_OK && MPI_Allgather(&loss, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, run->comm) != MPI_SUCCESS)
    rc = SN_FAIL(e, SN_ERR_MPI, "separate: checkpoint gather failed");
  SN_CHECK(sn_agree(run->comm, rc, e));
  SN_CHECK(sn_h5_create(run->comm, c->checkpoint, 1, &f, e));
  SN_CHECK(sn_h5_write_cols(f, "/stream/state", rows, run->size, run->rank, 1, state, rows, e));
  SN_CHECK(sn_h5_write_vec(f, "/stream/loss", run->size, all, e));
  SN_CHECK(sn_h5_attr_set_int(f, "/stream/loss", "next_block", next, e));
  SN_CHECK(sn_h5_attr_set_int(f, "/stream/loss", "fingerprint", (int64_t)fp, e));
  rc = sn_h5_close(&f, 1, e);
cleanup:
  if (f) sn_h5_close(&f, 0, e);
  free(all);
  sn_timer_end(&run->timer, SN_PH_CHECKPOINT);
  return rc;
}

/* Collective. Read the checkpoint into this rank's state column and loss. */
static int ckpt_read(sn_run *run, const sn_stream_cfg *c, uint64_t fp, int64_t n_blocks, int64_t rows, float *state,
                     double *loss, int64_t *next) {
  sn_err *e = &run->err;
  const char *path = c->checkpoint;
  sn_h5 *f = NULL;
  double *all = calloc((size_t)run->size, sizeof *all);
  int found = 0, lrc = access(path, R_OK) == 0 ? SN_OK
                                                : SN_FAIL(e, SN_ERR_INPUT, "%s: no checkpoint to resume from (--resume)", path);
  int64_t v = 0, n = 0, dims[2] = {0, 0};
  int nd = 0;
  if (!all && lrc == SN_OK) lrc = SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory");
  int rc = sn_agree(run->comm, lrc, e);
  if (rc) goto cleanup;
  SN_CHECK(sn_h5_open(run->comm, path, &f, e));
  SN_CHECK(sn_h5_attr_get_int(f, "/stream/loss", "fingerprint", &v, &found, e));
  if (!found)
    lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: not a checkpoint of a streamed separation", path);
  else if ((uint64_t)v != fp)
    lrc = SN_FAIL(e, SN_ERR_INPUT,
                  "%s: checkpoint was made with another dictionary, input, options or rank count; refusing to resume "
                  "(remove it or rerun with the same ones)", path);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_CHECK(sn_h5_attr_get_int(f, "/stream/loss", "next_block", next, &found, e));
  SN_CHECK(sn_h5_shape(f, "/stream/state", &nd, dims, e));
  if (!found || *next < 1 || *next > n_blocks || nd != 2 || dims[0] != rows || dims[1] != run->size)
    lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: damaged checkpoint (its block or state does not fit this job)", path);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_CHECK(sn_h5_read_cols(f, "/stream/state", rows, run->rank, 1, state, rows, e));
  SN_CHECK(sn_h5_read_vec(f, "/stream/loss", all, run->size, &n, e));
  if (n != run->size) lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: damaged checkpoint (/stream/loss)", path);
  for (int64_t i = 0; lrc == SN_OK && i < rows; i++)
    if (!isfinite(state[i])) lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: damaged checkpoint (a non-finite sample)", path);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  *loss = all[run->rank];
  rc = sn_h5_close(&f, 0, e);
cleanup:
  if (f) sn_h5_close(&f, 0, e);
  free(all);
  return rc;
}

/* Local. Normalise n accumulated samples starting at unpadded sample y0 by the
 * window sum-square of all N frames (as the overlap-add of sn_pgriffinlim.c). */
static void normalise(const sn_stft_plan *plan, const geom *g, int64_t y0, int64_t n, const float *acc, float *wss,
                      float *out) {
  if (n <= 0) return;
  sn_window_sumsquare(plan, g->N, y0 + g->off, n, wss);
  for (int64_t i = 0; i < n; i++) out[i] = wss[i] > FLT_MIN ? acc[i] / wss[i] : 0.0f;
}

int sn_stream_separate(sn_run *run, const sn_stream_cfg *c, sn_stream_out *out) {
  sn_err *e = &run->err;
  const sn_spec_params *p = c->par;
  const int64_t F = c->ncfg.F, k = c->ncfg.R, B = c->block;
  geom g = {run->size, run->rank, p->hop, p->n_fft, 0, p->n_samples, p->center ? p->n_fft / 2 : 0,
            p->n_fft > p->hop ? p->n_fft - p->hop : 0};
  g.N = sn_stft_n_frames(p->n_samples, p->n_fft, p->hop, p->center);
  memset(out, 0, sizeof *out);
  int64_t S, n, a0, hend, a1 = own0(&g, run->rank + 1);
  frames_of(&g, run->rank, &S, &n);
  head_of(&g, run->rank, &a0, &hend);
  const int64_t hlen = hend - a0, C = g.C, hop = p->hop;
  const int64_t my_blocks = (n + B - 1) / B;
  int64_t n_blocks = 0;
  MPI_Allreduce(&my_blocks, &n_blocks, 1, MPI_INT64_T, MPI_MAX, run->comm);
  const int ns = c->n_src;
  const int64_t rows = (int64_t)ns * 2 * C; /* per source: carry (C), head (<= C) */
  const int64_t span = (B - 1) * hop + p->n_fft, accn = B * hop + C;
  const uint64_t fp = stream_fingerprint(run, c);

  sn_stft_plan *plan = NULL;
  sn_audio *au = NULL;
  sn_nmf_ws *ws = NULL;
  sn_wav **wav = calloc((size_t)(ns > 0 ? ns : 1), sizeof *wav);
  float *x = NULL, *V = NULL, *X = NULL, *Y = NULL, *D = NULL, *H = NULL, *acc = NULL, *obuf = NULL, *wss = NULL;
  float *state = NULL, *sbuf = NULL, *rbuf = NULL;
  double *nacc = NULL, loss = 0;
  int *cnt = NULL;
  int64_t next = 0;
  int rc = SN_OK, lrc = SN_OK, interrupted = 0, owned = 0; /* owned: a failure removes the partial outputs */
  volatile sig_atomic_t *stop = sn_signal_flag();

  if (g.N < 1)
    lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: %lld samples are too few for n_fft %d%s", c->input, (long long)p->n_samples,
                  p->n_fft, p->center ? "" : " without centring");
  SN_CHECK(sn_agree(run->comm, lrc, e));
  out->N = g.N;
  out->n_blocks = n_blocks;

  /* ---- plan, buffers, workspace ---- */
  SN_CHECK(sn_pstft_plan(run, p, c->scfg->wisdom, &plan));
  sn_nmf_layout L;
  sn_nmf_cfg ncfg = c->ncfg;
  ncfg.n_fixed = k;
  sn_nmf_layout_of(&ncfg, 0, &L);
  lrc = sn_nmf_ws_create(&ncfg, &ws, e);
  if (lrc == SN_OK) {
    x = sn_calloc((size_t)span * sizeof(float), "stream samples", e);
    V = sn_calloc((size_t)(F * B) * sizeof(float), "stream spectrogram", e);
    X = sn_calloc((size_t)(F * B) * 2 * sizeof(float), "stream STFT", e);
    Y = sn_calloc((size_t)(F * B) * 2 * sizeof(float), "stream source STFT", e);
    D = sn_calloc((size_t)(F * B) * sizeof(float), "stream mask", e);
    H = sn_calloc((size_t)(k * B) * sizeof(float), "stream activations", e);
    acc = sn_calloc((size_t)accn * sizeof(float), "stream overlap-add", e);
    obuf = sn_calloc((size_t)accn * sizeof(float), "stream output", e);
    wss = sn_calloc((size_t)accn * sizeof(float), "stream window sum-square", e);
    state = sn_calloc((size_t)(rows > 0 ? rows : 1) * sizeof(float), "stream carries", e);
    nacc = sn_calloc((size_t)L.len * sizeof(double), "stream accumulators", e);
    cnt = calloc(4 * (size_t)run->size, sizeof(int));
    if (!wav || !x || !V || !X || !Y || !D || !H || !acc || !obuf || !wss || !state || !nacc || !cnt)
      lrc = SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory for the stream buffers");
  }
  SN_CHECK(sn_agree(run->comm, lrc, e));
  sn_nmf_set_w(ws, c->W);
  float *carry = state, *head = state + (size_t)ns * C; /* source s: carry + s*C, head + s*C */

  /* ---- input ---- */
  {
    sn_audio_opts ao = {c->scfg->channel, c->scfg->sr, c->scfg->normalize};
    sn_audio_info info;
    sn_timer_begin(&run->timer, SN_PH_READ);
    rc = sn_agree(run->comm, sn_audio_open(c->input, &ao, &au, &info, e), e);
    if (rc == SN_OK && c->scfg->normalize) rc = sn_audio_normalize(run->comm, au, NULL, e);
    if (rc == SN_OK && info.n_samples != p->n_samples)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: changed while read (%lld samples, was %lld)", c->input,
                   (long long)info.n_samples, (long long)p->n_samples);
    rc = sn_agree(run->comm, rc, e);
    sn_timer_end(&run->timer, SN_PH_READ);
    if (rc) goto cleanup;
  }

  /* ---- resume ---- */
  if (c->resume) {
    SN_CHECK(ckpt_read(run, c, fp, n_blocks, rows, state, &loss, &next));
    SN_PROGRESS(run, "separate: resuming the stream from %s at block %lld of %lld", c->checkpoint, (long long)next,
                (long long)n_blocks);
  }

  /* ---- outputs (an existing final name is refused unless --force) ---- */
  for (int s = 0; s < ns; s++) {
    sn_timer_begin(&run->timer, SN_PH_WRITE);
    rc = sn_wav_create_at(run->comm, c->path[s], SN_ATOMIC_STREAM, c->resume, p->sample_rate, p->n_samples, c->force, &wav[s], e);
    sn_timer_end(&run->timer, SN_PH_WRITE);
    if (rc) goto cleanup;
  }

  owned = 1;

  /* ---- the blocks: all ranks step together (the writes are collective) ---- */
  int64_t wcur = hend; /* first owned body sample not yet written */
  double t_ckpt = MPI_Wtime();
  for (int64_t b = 0; b < n_blocks; b++) {
    const int64_t t0 = S + b * B, nb = b < my_blocks ? (n - b * B < B ? n - b * B : B) : 0;
    const int64_t x0 = t0 * hop - g.off;
    const int64_t lo = nb ? (x0 > wcur ? x0 : wcur) : 0, hi = nb ? (x0 + nb * hop < a1 ? x0 + nb * hop : a1) : 0;
    if (b < next) { /* done before the checkpoint */
      if (hi > lo) wcur = hi;
      continue;
    }
    lrc = SN_OK;
    if (nb > 0) {
      sn_timer_begin(&run->timer, SN_PH_READ);
      lrc = sn_audio_read(au, x0, (nb - 1) * hop + p->n_fft, x, e);
      sn_timer_end(&run->timer, SN_PH_READ);
      sn_timer_begin(&run->timer, SN_PH_STFT);
      if (lrc == SN_OK) lrc = sn_stft_exec(plan, x, nb, p->power, V, F, X, F, e);
      sn_timer_end(&run->timer, SN_PH_STFT);
      if (lrc == SN_OK) lrc = sn_nmf_cli_check_v(V, F, nb, t0, ncfg.beta, c->input, "the spectrogram", e);
      if (lrc == SN_OK) {
        /* every frame starts from sqrt(mean(v_t) / k): sklearn's constant
         * start, per frame, so that no block sees another's data */
        sn_timer_begin(&run->timer, SN_PH_NMF_H);
        for (int64_t t = 0; t < nb; t++) {
          double sum = 0;
          for (int64_t f = 0; f < F; f++) sum += V[f + t * F];
          float h0 = (float)sqrt(sum / (double)F / (double)k);
          for (int64_t r = 0; r < k; r++) H[r + t * k] = h0;
        }
        for (int64_t it = 0; it < c->max_iter; it++) sn_nmf_pass(ws, V, nb, H, 1, 0, 0, nacc);
        memset(nacc, 0, (size_t)L.len * sizeof(double));
        sn_nmf_pass(ws, V, nb, H, 0, 0, 1, nacc);
        loss += nacc[L.loss];
        lrc = sn_nmf_ws_status(ws, e);
        sn_timer_end(&run->timer, SN_PH_NMF_H);
      }
      if (lrc == SN_OK && c->recon == SN_RECON_MASK) {
        sn_timer_begin(&run->timer, SN_PH_ISTFT);
        sn_mask_denominator(F, k, nb, c->W, H, c->mask_power, D);
        sn_timer_end(&run->timer, SN_PH_ISTFT);
      }
      if (lrc == SN_OK) lrc = sn_fault("stream", run->rank, e);
    }
    SN_CHECK(sn_agree(run->comm, lrc, e));
    for (int s = 0; s < ns; s++) {
      lrc = SN_OK;
      if (nb > 0) {
        sn_timer_begin(&run->timer, SN_PH_ISTFT);
        const int *idx = c->idx + c->first[s];
        int m = c->first[s + 1] - c->first[s];
        sn_mask_apply(c->recon, F, k, nb, c->W, H, D, idx, m, c->mask_power, p->power, X, Y);
        memset(acc, 0, (size_t)accn * sizeof(float));
        memcpy(acc, carry + s * C, (size_t)C * sizeof(float));
        lrc = sn_istft_exec(plan, Y, F, nb, acc, e);
        /* finished here: [x0, x0 + nb*hop); the head is held, the body normalised */
        for (int64_t i = (a0 > x0 ? a0 : x0); lrc == SN_OK && i < hend && i < x0 + nb * hop; i++)
          head[s * C + (i - a0)] = acc[i - x0];
        if (lrc == SN_OK) normalise(plan, &g, lo, hi - lo, acc + (lo - x0), wss, obuf);
        memcpy(carry + s * C, acc + nb * hop, (size_t)C * sizeof(float));
        sn_timer_end(&run->timer, SN_PH_ISTFT);
      }
      SN_CHECK(sn_agree(run->comm, lrc, e));
      sn_timer_begin(&run->timer, SN_PH_WRITE);
      rc = sn_wav_write(wav[s], hi > lo ? lo : 0, hi > lo ? hi - lo : 0, obuf, e);
      sn_timer_end(&run->timer, SN_PH_WRITE);
      if (rc) goto cleanup;
    }
    if (hi > lo) wcur = hi;
    /* ---- checkpoint (every checkpoint_every blocks, else when rank 0 has
     * seen SN_STREAM_CKPT_SECONDS pass since the last), then honour a signal ---- */
    int flag = stop && *stop ? 1 : 0, any = 0;
    if (c->checkpoint_every > 0 ? (b + 1) % c->checkpoint_every == 0
                                : run->rank == 0 && MPI_Wtime() - t_ckpt >= SN_STREAM_CKPT_SECONDS)
      flag |= 2;
    MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_BOR, run->comm);
    if (c->checkpoint && any && b + 1 < n_blocks) {
      SN_CHECK(ckpt_write(run, c, fp, b + 1, rows, state, loss));
      t_ckpt = MPI_Wtime();
    }
    if ((any & 1) && b + 1 < n_blocks) {
      interrupted = 1;
      rc = SN_FAIL(e, SN_ERR_INTERRUPTED, "separate: interrupted by a signal after block %lld of %lld%s%s",
                   (long long)(b + 1), (long long)n_blocks, c->checkpoint ? "; checkpoint written to " : "",
                   c->checkpoint ? c->checkpoint : "");
      if (run->rank != 0) e->msg[0] = '\0'; /* every rank knows it: only rank 0 prints */
      goto cleanup;
    }
    if (b + 1 < n_blocks && b % 16 == 15)
      SN_PROGRESS(run, "separate: block %lld of %lld", (long long)(b + 1), (long long)n_blocks);
  }

  /* ---- the end: the rest of the body (the last rank's own tail, zeros past
   * the frames), then the tails that reach other ranks' heads ---- */
  {
    int64_t xe, tl;
    tail_of(&g, run->rank, &xe, &tl);
    sbuf = sn_calloc((size_t)(C > 0 ? C : 1) * sizeof(float), "stream tails", e);
    rbuf = sn_calloc((size_t)(C > 0 ? C : 1) * (size_t)run->size * sizeof(float), "stream tails", e);
    float *obig = sn_calloc((size_t)((a1 - wcur > 0 ? a1 - wcur : 0) + hlen + 1) * sizeof(float), "stream end", e);
    lrc = (sbuf && rbuf && obig) ? SN_OK : SN_ERR_NOMEM;
    int *sc = cnt, *sd = cnt + run->size, *rcn = cnt + 2 * run->size, *rd = cnt + 3 * run->size;
    int64_t rtot = 0;
    for (int q = 0; lrc == SN_OK && q < run->size; q++) {
      int64_t qa0, qh, qx, ql;
      head_of(&g, q, &qa0, &qh);
      int64_t l = xe > qa0 ? xe : qa0, h = xe + tl < qh ? xe + tl : qh;
      sc[q] = q != run->rank && h > l ? (int)(h - l) : 0;
      sd[q] = sc[q] ? (int)(l - xe) : 0;
      tail_of(&g, q, &qx, &ql);
      l = qx > a0 ? qx : a0, h = qx + ql < hend ? qx + ql : hend;
      rcn[q] = q != run->rank && h > l ? (int)(h - l) : 0;
      rd[q] = (int)rtot;
      rtot += rcn[q];
    }
    for (int s = 0; rc == SN_OK && s < ns; s++) {
      rc = sn_agree(run->comm, lrc, e);
      if (rc) break;
      float *cs = carry + s * C, *hs = head + s * C;
      /* body rest [wcur, a1): this rank's own tail where it reaches, else 0 */
      int64_t nr = a1 > wcur ? a1 - wcur : 0;
      for (int64_t i = 0; i < nr; i++) {
        int64_t y = wcur + i;
        obig[i] = (y >= xe && y < xe + tl) ? cs[y - xe] : 0.0f;
      }
      sn_timer_begin(&run->timer, SN_PH_HALO);
      for (int64_t i = 0; i < C; i++) sbuf[i] = cs[i];
      int mrc = MPI_Alltoallv(sbuf, sc, sd, MPI_FLOAT, rbuf, rcn, rd, MPI_FLOAT, run->comm);
      sn_timer_end(&run->timer, SN_PH_HALO);
      rc = sn_agree(run->comm, mrc == MPI_SUCCESS ? SN_OK : SN_FAIL(e, SN_ERR_MPI, "separate: tail exchange failed"), e);
      if (rc) break;
      for (int q = 0; q < run->size; q++) {
        int64_t qx, ql;
        tail_of(&g, q, &qx, &ql);
        int64_t l = qx > a0 ? qx : a0;
        for (int i = 0; i < rcn[q]; i++) hs[l - a0 + i] += rbuf[rd[q] + i];
      }
      /* this rank's own tail where it reaches its head (a rank of few frames) */
      for (int64_t y = (xe > a0 ? xe : a0); y < xe + tl && y < hend; y++) hs[y - a0] += cs[y - xe];
      sn_timer_begin(&run->timer, SN_PH_ISTFT);
      float *ob = obig, *oh = obig + nr;
      if (nr > 0) {
        /* normalise in pieces of the wss buffer */
        for (int64_t i0 = 0; i0 < nr; i0 += accn) {
          int64_t m = nr - i0 < accn ? nr - i0 : accn;
          normalise(plan, &g, wcur + i0, m, ob + i0, wss, ob + i0);
        }
      }
      normalise(plan, &g, a0, hlen, hs, wss, oh);
      sn_timer_end(&run->timer, SN_PH_ISTFT);
      sn_timer_begin(&run->timer, SN_PH_WRITE);
      rc = sn_wav_write(wav[s], nr ? wcur : 0, nr, ob, e);
      if (rc == SN_OK) rc = sn_wav_write(wav[s], hlen ? a0 : 0, hlen, oh, e);
      sn_timer_end(&run->timer, SN_PH_WRITE);
    }
    sn_free(obig);
    if (rc == SN_OK) rc = sn_agree(run->comm, lrc, e);
    if (rc) goto cleanup;
  }

  /* ---- commit ---- */
  {
    double tot = loss;
    SN_CHECK(sn_run_allreduce_sum(run, &tot, 1, SN_OK));
    out->loss = tot;
  }
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  for (int s = 0; s < ns && rc == SN_OK; s++) rc = sn_wav_close(&wav[s], 1, e);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  if (rc) goto cleanup;
  if (c->checkpoint && run->rank == 0) unlink(c->checkpoint);

cleanup:
  /* a refused resume keeps what it refused; an interrupted run keeps what it resumes from */
  for (int s = 0; wav && s < ns; s++)
    if (wav[s]) sn_wav_close(&wav[s], (interrupted || (!owned && c->resume)) ? SN_WAV_KEEP : 0, e);
  if (rc && owned && !interrupted && c->checkpoint && run->rank == 0) unlink(c->checkpoint);
  sn_audio_close(&au);
  sn_nmf_ws_destroy(&ws);
  sn_stft_plan_destroy(&plan);
  free(wav);
  free(cnt);
  sn_free(x), sn_free(V), sn_free(X), sn_free(Y), sn_free(D), sn_free(H), sn_free(acc), sn_free(obuf);
  sn_free(wss), sn_free(state), sn_free(sbuf), sn_free(rbuf), sn_free(nacc);
  return rc;
}
