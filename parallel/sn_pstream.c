/* Streamed fixed-dictionary separation (see sn_pstream.h). The overlap-add,
 * its ownership of samples and its normalisation are the one distributed
 * overlap-add's, block by block (sn_poverlap_blocks_* in sn_poverlap.h). */
#include "sn_pstream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn_atomic.h"
#include "sn_audio.h"
#include "sn_comm.h"
#include "sn_frames.h"
#include "sn_h5.h"
#include "sn_nmf_check.h"
#include "sn_pnmf.h"
#include "sn_poverlap.h"
#include "sn_signal.h"
#include "sn_spec_io.h"
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
    SN_MPI_CALL(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, run->comm));
    ok = all;
  }
  sn_h5_close(&f, 0, &quiet);
  if (!ok || rc) {
    sn_free(*W);
    *W = NULL;
  }
  return rc;
}

/* Collective. The fingerprint of everything the outputs depend on. */
static uint64_t stream_fingerprint(const sn_run *run, const sn_stream_cfg *c) {
  const sn_spec_params *p = c->par;
  /* the H updates' dictionary (ncfg.F rows: with context the stacked model, whose centre is the masks' W) */
  uint64_t h = sn_fnv1a(SN_FNV_INIT, c->context ? c->W_model : c->W, (size_t)(c->ncfg.F * c->ncfg.R) * sizeof(float));
  int64_t iv[16] = {c->ncfg.F, c->ncfg.R, c->ncfg.solver, c->ncfg.tile, c->max_iter, c->block, c->recon, c->n_src,
                    p->n_samples, p->n_fft, p->hop, p->win_length, p->center, p->power, p->channels,
                    sn_spec_out_channels(p)};
  double dv[7] = {c->ncfg.beta, c->ncfg.l1_H, c->ncfg.l2_H, c->mask_power, p->sample_rate, c->scfg->sr,
                  (double)c->scfg->channel + 1e3 * c->scfg->normalize};
  h = sn_fnv1a(h, iv, sizeof iv);
  h = sn_fnv1a(h, dv, sizeof dv);
  h = sn_fnv1a(h, &run->size, sizeof run->size);
  h = sn_fnv1a(h, p->window, strlen(p->window));
  h = sn_fnv1a(h, p->channel_rule, strlen(p->channel_rule));
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
  int rc = SN_OK;
  SN_AGREE(run, all ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory"));
  SN_MPI_CALL(MPI_Allgather(&loss, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, run->comm));
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

/* Local checks of a checkpoint (the caller agrees). */
static int ckpt_found(const char *path, const double *all, sn_err *e) {
  if (access(path, R_OK) != 0) return SN_FAIL(e, SN_ERR_INPUT, "%s: no checkpoint to resume from (--resume)", path);
  if (!all) return SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory");
  return SN_OK;
}

static int ckpt_same_job(const char *path, int found, int64_t v, uint64_t fp, sn_err *e) {
  if (!found) return SN_FAIL(e, SN_ERR_INPUT, "%s: not a checkpoint of a streamed separation", path);
  if ((uint64_t)v != fp)
    return SN_FAIL(e, SN_ERR_INPUT,
                   "%s: checkpoint was made with another dictionary, input, options or rank count; refusing to resume "
                   "(remove it or rerun with the same ones)", path);
  return SN_OK;
}

static int ckpt_fits(const char *path, int found, int64_t next, int64_t n_blocks, int nd, const int64_t *dims,
                     int64_t rows, int size, sn_err *e) {
  if (!found || next < 1 || next > n_blocks || nd != 2 || dims[0] != rows || dims[1] != size)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: damaged checkpoint (its block or state does not fit this job)", path);
  return SN_OK;
}

static int ckpt_values(const char *path, int64_t n, int size, const float *state, int64_t rows, sn_err *e) {
  if (n != size) return SN_FAIL(e, SN_ERR_INPUT, "%s: damaged checkpoint (/stream/loss)", path);
  for (int64_t i = 0; i < rows; i++)
    if (!isfinite(state[i])) return SN_FAIL(e, SN_ERR_INPUT, "%s: damaged checkpoint (a non-finite sample)", path);
  return SN_OK;
}

/* Collective. Read the checkpoint into this rank's state column and loss. */
static int ckpt_read(sn_run *run, const sn_stream_cfg *c, uint64_t fp, int64_t n_blocks, int64_t rows, float *state,
                     double *loss, int64_t *next) {
  sn_err *e = &run->err;
  const char *path = c->checkpoint;
  sn_h5 *f = NULL;
  double *all = calloc((size_t)run->size, sizeof *all);
  int found = 0, nd = 0, rc = SN_OK;
  int64_t v = 0, n = 0, dims[2] = {0, 0};
  SN_AGREE(run, ckpt_found(path, all, e));
  SN_CHECK(sn_h5_open(run->comm, path, &f, e));
  SN_CHECK(sn_h5_attr_get_int(f, "/stream/loss", "fingerprint", &v, &found, e));
  SN_AGREE(run, ckpt_same_job(path, found, v, fp, e));
  SN_CHECK(sn_h5_attr_get_int(f, "/stream/loss", "next_block", next, &found, e));
  SN_CHECK(sn_h5_shape(f, "/stream/state", &nd, dims, e));
  SN_AGREE(run, ckpt_fits(path, found, *next, n_blocks, nd, dims, rows, run->size, e));
  SN_CHECK(sn_h5_read_cols(f, "/stream/state", rows, run->rank, 1, state, rows, e));
  SN_CHECK(sn_h5_read_vec(f, "/stream/loss", all, run->size, &n, e));
  SN_AGREE(run, ckpt_values(path, n, run->size, state, rows, e));
  *loss = all[run->rank];
  rc = sn_h5_close(&f, 0, e);
cleanup:
  if (f) sn_h5_close(&f, 0, e);
  free(all);
  return rc;
}

/* One streamed run: its layout, buffers and state. */
typedef struct stream {
  const sn_stream_cfg *c;
  const sn_spec_params *p;
  int64_t F, k, B, N, n_blocks, C, rows, S; /* S: this rank's first frame */
  int64_t Bx, off;             /* frames the transform buffers hold (B + 2 context); the block's first frame in
                                  them (context: the frames before it that the block's columns stack) */
  int nch, rms;                /* the parts' channels (sn_spec_out_channels); the rule is rms */
  int need_v;                  /* the block's reduced magnitude V is used (H updates, or phase of several channels) */
  uint64_t fp;
  sn_stft_plan *plan;
  sn_poverlap_blocks *ola;
  sn_audio *au;
  sn_nmf_ws *ws;
  sn_nmf_cfg ncfg;
  sn_nmf_layout L;
  sn_wav **wav;
  float *x, *V, *X, *Y, *D, *H, *A, *obuf, *ibuf; /* X: nch channels; ibuf: the interleaved output (nch > 1) */
  float *Vm;                   /* the H updates' V: V itself, or with context the block's columns stacked */
  float *Wp;                   /* the masks' dictionary W^mask_power (sn_mask_power_w; c->W when the power is 1) */
  float *state, *carry, *head; /* per source s and channel ch, j = s*nch + ch: carry + j*C, head + j*C (the
                                  checkpointed state) */
  double *nacc, loss;
  int64_t next;                /* first block to run (a resumed run: the checkpoint's) */
  int interrupted, owned;      /* owned: a failure removes the partial outputs */
} stream;

/* Local. The buffers of a block, or SN_ERR_NOMEM. */
static int stream_alloc(stream *st, sn_err *e) {
  const int64_t F = st->F, B = st->Bx, span = (B - 1) * st->p->hop + st->p->n_fft;
  const int64_t accn = B * st->p->hop + st->C;
  const int ns = st->c->n_src, nch = st->nch;
  int rc = sn_nmf_ws_create(&st->ncfg, &st->ws, e);
  if (rc) return rc;
  st->wav = calloc((size_t)(ns > 0 ? ns : 1), sizeof *st->wav);
  st->x = sn_calloc((size_t)span * sizeof(float), "stream samples", e);
  st->V = sn_calloc((size_t)(F * B) * sizeof(float), "stream spectrogram", e);
  st->X = sn_calloc((size_t)(F * B * nch) * 2 * sizeof(float), "stream STFT", e);
  st->Y = sn_calloc((size_t)(F * B) * 2 * sizeof(float), "stream source STFT", e);
  st->D = sn_calloc((size_t)(F * B) * sizeof(float), "stream mask", e);
  st->H = sn_calloc((size_t)(st->k * B) * sizeof(float), "stream activations", e);
  st->Vm = st->c->context ? sn_calloc((size_t)(st->ncfg.F * st->B) * sizeof(float), "stream stacked spectrogram", e)
                          : st->V;
  st->obuf = sn_calloc((size_t)accn * sizeof(float), "stream output", e);
  st->ibuf = nch > 1 ? sn_calloc((size_t)(accn * nch) * sizeof(float), "stream output channels", e) : st->obuf;
  st->A = nch > 1 && st->c->recon == SN_RECON_PHASE ? sn_calloc((size_t)(F * B) * sizeof(float), "stream phase", e)
                                                     : st->D;
  st->state = sn_calloc((size_t)(st->rows > 0 ? st->rows : 1) * sizeof(float), "stream carries", e);
  st->nacc = sn_calloc((size_t)st->L.len * sizeof(double), "stream accumulators", e);
  const int powered = st->c->recon == SN_RECON_MASK && st->c->mask_power != 1.0;
  st->Wp = powered ? sn_calloc((size_t)(F * st->k) * sizeof(float), "stream mask dictionary", e) : (float *)st->c->W;
  if (!st->wav || !st->x || !st->V || !st->X || !st->Y || !st->D || !st->H || !st->obuf || !st->ibuf || !st->A ||
      !st->state || !st->nacc || !st->Wp || !st->Vm)
    return SN_FAIL(e, SN_ERR_NOMEM, "separate: out of memory for the stream buffers");
  if (powered) sn_mask_power_w(F, st->k, st->c->W, st->c->mask_power, st->Wp);
  st->carry = st->state;
  st->head = st->state + (size_t)ns * nch * st->C;
  return SN_OK;
}

/* Collective. The layout (frames, blocks), the plan, the overlap-add and the
 * buffers. */
static int stream_open(sn_run *run, stream *st) {
  sn_err *e = &run->err;
  const sn_stream_cfg *c = st->c;
  const sn_spec_params *p = c->par;
  int rc = SN_OK;
  st->N = sn_stft_n_frames(p->n_samples, p->n_fft, p->hop, p->center);
  if (st->N < 1)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %lld samples are too few for n_fft %d%s", c->input, (long long)p->n_samples,
                 p->n_fft, p->center ? "" : " without centring");
  else if (c->H && c->H_frames != st->N)
    rc = SN_FAIL(e, SN_ERR_INTERNAL, "%s: the activations cover %lld frames, the stream %lld", c->input,
                 (long long)c->H_frames, (long long)st->N);
  SN_AGREE(run, rc);
  SN_CHECK(sn_pstft_plan(run, p, c->scfg->wisdom, &st->plan));
  SN_CHECK(sn_poverlap_blocks_create(run, p, st->plan, st->N, p->n_samples, st->B, &st->ola));
  st->C = sn_poverlap_blocks_carry(st->ola);
  int64_t nb0;
  sn_poverlap_blocks_frames(st->ola, 0, &st->S, &nb0);
  st->rows = (int64_t)c->n_src * st->nch * 2 * st->C; /* per source and channel: carry (C), head (<= C) */
  int64_t my_blocks = sn_poverlap_blocks_count(st->ola);
  SN_MPI_CALL(MPI_Allreduce(&my_blocks, &st->n_blocks, 1, MPI_INT64_T, MPI_MAX, run->comm));
  st->ncfg = c->ncfg;
  st->ncfg.n_fixed = st->k;
  st->Bx = st->B + 2 * (int64_t)c->context;
  sn_nmf_layout_of(&st->ncfg, 0, &st->L);
  SN_AGREE(run, stream_alloc(st, e));
  sn_nmf_set_w(st->ws, c->context ? c->W_model : c->W);
cleanup:
  return rc;
}

/* Collective. Open the input, resume from the checkpoint, create the outputs
 * (an existing final name is refused unless --force). */
static int stream_files(sn_run *run, stream *st) {
  sn_err *e = &run->err;
  const sn_stream_cfg *c = st->c;
  const sn_spec_params *p = st->p;
  sn_audio_opts ao = {sn_stft_cfg_audio_channel(c->scfg), c->scfg->sr, c->scfg->normalize};
  sn_audio_info info;
  sn_timer_begin(&run->timer, SN_PH_READ);
  int rc = sn_agree(run->comm, sn_audio_open(c->input, &ao, &st->au, &info, e), e);
  if (rc == SN_OK && c->scfg->normalize) rc = sn_audio_normalize(run->comm, st->au, NULL, e);
  if (rc == SN_OK && (info.n_samples != p->n_samples || info.channels != p->channels))
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: changed while read (%lld samples of %d channels, was %lld of %d)", c->input,
                 (long long)info.n_samples, info.channels, (long long)p->n_samples, p->channels);
  rc = sn_agree(run->comm, rc, e);
  sn_timer_end(&run->timer, SN_PH_READ);
  if (rc) return rc;
  if (c->resume) {
    rc = ckpt_read(run, c, st->fp, st->n_blocks, st->rows, st->state, &st->loss, &st->next);
    if (rc) return rc;
    SN_PROGRESS(run, "separate: resuming the stream from %s at block %lld of %lld", c->checkpoint,
                (long long)st->next, (long long)st->n_blocks);
  }
  for (int s = 0; s < c->n_src && rc == SN_OK; s++) {
    sn_timer_begin(&run->timer, SN_PH_WRITE);
    rc = sn_wav_create_at(run->comm, c->path[s], SN_ATOMIC_STREAM, c->resume, p->sample_rate, p->n_samples, st->nch,
                          c->force, &st->wav[s], e);
    sn_timer_end(&run->timer, SN_PH_WRITE);
  }
  return rc;
}

/* Local. The mask's denominator of the block's nb frames (mask mode), or
 * the channels' magnitudes (phase of several channels: V to the power 1);
 * then the fault hook. */
static int stream_block_denominator(sn_run *run, stream *st, int64_t nb) {
  sn_timer_begin(&run->timer, SN_PH_ISTFT);
  if (st->c->recon == SN_RECON_MASK) {
    sn_mask_denominator(st->F, st->k, nb, st->Wp, st->H, st->c->mask_power, st->D);
  } else if (st->nch > 1) {
    const int sq = st->p->power == 2;
    const float *V = st->V + st->off * st->F;
    for (int64_t i = 0; i < st->F * nb; i++) st->D[i] = sq ? sqrtf(V[i]) : V[i];
  }
  sn_timer_end(&run->timer, SN_PH_ISTFT);
  return sn_fault("stream", run->rank, &run->err);
}

/* Local. Block b's transforms: each channel's samples read and transformed
 * (channel ch's complex STFT at X + ch * 2 F B) and, when used, V: the
 * magnitude (to the power) reduced over the channels by the rule. */
static int stream_block_stft(sn_run *run, stream *st, int64_t t0, int64_t nb) {
  sn_err *e = &run->err;
  const sn_spec_params *p = st->p;
  const int64_t F = st->F, x0 = t0 * p->hop - (p->center ? p->n_fft / 2 : 0), len = (nb - 1) * p->hop + p->n_fft;
  int rc = SN_OK;
  for (int ch = 0; rc == SN_OK && ch < st->nch; ch++) {
    float *X = st->X + ch * 2 * F * st->Bx;
    sn_audio_select(st->au, ch);
    sn_timer_begin(&run->timer, SN_PH_READ);
    rc = sn_audio_read(st->au, x0, len, st->x, e);
    sn_timer_end(&run->timer, SN_PH_READ);
    if (rc) break;
    sn_timer_begin(&run->timer, SN_PH_STFT);
    if (!st->need_v) rc = sn_stft_exec(st->plan, st->x, nb, 1, NULL, 0, X, F, e);
    else if (st->nch == 1) rc = sn_stft_exec(st->plan, st->x, nb, p->power, st->V, F, X, F, e);
    else rc = sn_stft_reduce_add(st->plan, st->x, nb, st->rms, ch, st->V, st->D, X, F, e);
    sn_timer_end(&run->timer, SN_PH_STFT);
  }
  if (rc == SN_OK && st->need_v && st->nch > 1) sn_stft_reduce_end(st->V, F * nb, st->nch, st->rms, p->power);
  return rc;
}

/* Local. Block b's model: its transforms (stream_block_stft; with context
 * also the frames its columns stack, and those columns made), check V, run
 * exactly max_iter H updates per frame, the loss, and the mask denominators. */
static int stream_block_model(sn_run *run, stream *st, int64_t t0, int64_t nb) {
  sn_err *e = &run->err;
  const sn_stream_cfg *c = st->c;
  const int64_t F = st->ncfg.F, k = st->k;
  int64_t e0, e1;
  sn_context_span(c->context, st->N, t0, nb, &e0, &e1);
  st->off = t0 - e0;
  int rc = stream_block_stft(run, st, e0, e1 - e0);
  if (rc == SN_OK && c->H) { /* the activations already learned: this block's columns */
    memcpy(st->H, c->H + (t0 - st->S) * k, (size_t)(nb * k) * sizeof(float));
    return stream_block_denominator(run, st, nb);
  }
  if (rc == SN_OK)
    rc = sn_nmf_check_v(st->V + st->off * st->F, st->F, nb, t0, st->ncfg.beta, c->input, "the spectrogram", e);
  if (rc) return rc;
  if (c->context) sn_context_stack(st->V, st->F, c->context, st->N, t0, nb, st->Vm);
  /* every frame starts from sqrt(mean(v_t) / k): sklearn's constant start,
   * per frame, so that no block sees another's data */
  sn_timer_begin(&run->timer, SN_PH_NMF_H);
  const float *V = st->Vm;
  float *H = st->H;
  for (int64_t t = 0; t < nb; t++) {
    double sum = 0;
    for (int64_t f = 0; f < F; f++) sum += V[f + t * F];
    float h0 = (float)sqrt(sum / (double)F / (double)k);
    for (int64_t r = 0; r < k; r++) H[r + t * k] = h0;
  }
  sn_nmf_pass_h(st->ws, V, nb, H, c->max_iter, st->nacc);
  memset(st->nacc, 0, (size_t)st->L.len * sizeof(double));
  sn_nmf_pass(st->ws, V, nb, H, 0, 0, 1, st->nacc);
  st->loss += st->nacc[st->L.loss];
  rc = sn_nmf_ws_status(st->ws, e);
  sn_timer_end(&run->timer, SN_PH_NMF_H);
  return rc ? rc : stream_block_denominator(run, st, nb);
}

/* Local. Source s of block b, channel by channel: mask (phase of several
 * channels: sn_mask_phase_channel), overlap-add (the channel's carry and
 * head), the nout final samples into st->ibuf (interleaved); then the istft
 * fault hook. */
static int stream_block_source(sn_run *run, stream *st, int64_t b, int64_t nb, int s, int64_t nout) {
  const sn_stream_cfg *c = st->c;
  const int *idx = c->idx + c->first[s];
  const int m = c->first[s + 1] - c->first[s], nch = st->nch;
  for (int ch = 0; ch < nch; ch++) {
    const float *X = st->X + ch * 2 * st->F * st->Bx + st->off * 2 * st->F;
    const int64_t j = (int64_t)s * nch + ch;
    if (c->recon == SN_RECON_PHASE && nch > 1)
      sn_mask_phase_channel(st->F, st->k, nb, c->W, st->H, st->D, idx, m, st->p->power, st->A, X, st->Y);
    else
      sn_mask_apply(c->recon, st->F, st->k, nb, c->recon == SN_RECON_MASK ? st->Wp : c->W, st->H, st->D, idx, m,
                    c->mask_power, st->p->power, X, st->Y);
    int rc = sn_poverlap_blocks_add(st->ola, b, st->Y, st->carry + j * st->C, st->head + j * st->C, st->obuf,
                                    &run->err);
    if (rc) return rc;
    if (nch > 1) sn_wav_interleave(st->obuf, nout, ch, nch, st->ibuf);
  }
  return sn_fault("istft", run->rank, &run->err);
}

/* Collective. Block b (all ranks step together: the writes are collective). */
static int stream_block(sn_run *run, stream *st, int64_t b) {
  sn_err *e = &run->err;
  int64_t t0, nb, lo, hi;
  sn_poverlap_blocks_frames(st->ola, b, &t0, &nb);
  sn_poverlap_blocks_final(st->ola, b, &lo, &hi);
  int rc = SN_OK;
  SN_AGREE(run, nb > 0 ? stream_block_model(run, st, t0, nb) : SN_OK);
  for (int s = 0; s < st->c->n_src; s++) {
    sn_timer_begin(&run->timer, SN_PH_ISTFT);
    int src = nb > 0 ? stream_block_source(run, st, b, nb, s, hi > lo ? hi - lo : 0) : SN_OK;
    sn_timer_end(&run->timer, SN_PH_ISTFT);
    SN_AGREE(run, src);
    sn_timer_begin(&run->timer, SN_PH_WRITE);
    rc = sn_wav_write(st->wav[s], hi > lo ? lo : 0, hi > lo ? hi - lo : 0, st->ibuf, e);
    sn_timer_end(&run->timer, SN_PH_WRITE);
    if (rc) goto cleanup;
  }
  sn_poverlap_blocks_pass(st->ola, b);
cleanup:
  return rc;
}

/* Collective. After block b: a checkpoint (every checkpoint_every blocks,
 * else when rank 0 has seen SN_STREAM_CKPT_SECONDS pass since the last),
 * then honour a signal (SN_ERR_INTERRUPTED). */
static int stream_checkpoint(sn_run *run, stream *st, int64_t b, double *t_ckpt) {
  const sn_stream_cfg *c = st->c;
  volatile sig_atomic_t *stop = sn_signal_flag();
  /* a batch run's parts (c->H) have no checkpoint to stop at: they finish */
  int flag = stop && *stop && !c->H ? 1 : 0, any = 0, rc = SN_OK;
  if (c->checkpoint_every > 0 ? (b + 1) % c->checkpoint_every == 0
                              : run->rank == 0 && MPI_Wtime() - *t_ckpt >= SN_STREAM_CKPT_SECONDS)
    flag |= 2;
  SN_MPI_CALL(MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_BOR, run->comm));
  if (c->checkpoint && any && b + 1 < st->n_blocks) {
    sn_timer_begin(&run->timer, SN_PH_CHECKPOINT);
    /* the samples on disk before the checkpoint that refers to them */
    for (int s = 0; s < c->n_src && rc == SN_OK; s++) rc = sn_wav_sync(st->wav[s], &run->err);
    sn_timer_end(&run->timer, SN_PH_CHECKPOINT);
    if (rc) return rc;
    rc = ckpt_write(run, c, st->fp, b + 1, st->rows, st->state, st->loss);
    if (rc) return rc;
    *t_ckpt = MPI_Wtime();
  }
  if ((any & 1) && b + 1 < st->n_blocks) {
    st->interrupted = 1;
    rc = SN_FAIL(&run->err, SN_ERR_INTERRUPTED, "separate: interrupted by a signal after block %lld of %lld%s%s",
                 (long long)(b + 1), (long long)st->n_blocks, c->checkpoint ? "; checkpoint written to " : "",
                 c->checkpoint ? c->checkpoint : "");
    if (run->rank != 0) run->err.msg[0] = '\0'; /* every rank knows it: only rank 0 prints */
  }
  return rc;
}

/* Collective. The end: the rest of each source's body (the last rank's own
 * tail, zeros past the frames), then the tails that reach other ranks' heads;
 * channel by channel, written interleaved. */
static int stream_end(sn_run *run, stream *st) {
  const int nch = st->nch;
  float *ib = NULL; /* nch > 1: the body, then the head, interleaved */
  int rc = sn_poverlap_blocks_end_prepare(run, st->ola);
  for (int s = 0; rc == SN_OK && s < st->c->n_src; s++) {
    const float *body = NULL, *hd = NULL;
    int64_t yb = 0, nbody = 0, yh = 0, nhead = 0;
    for (int ch = 0; rc == SN_OK && ch < nch; ch++) {
      const int64_t j = (int64_t)s * nch + ch;
      rc = sn_poverlap_blocks_end(run, st->ola, st->carry + j * st->C, st->head + j * st->C, &body, &yb, &nbody, &hd,
                                  &yh, &nhead);
      if (rc == SN_OK && nch > 1 && !ib) {
        ib = sn_calloc((size_t)((nbody + nhead) * nch + 1) * sizeof(float), "stream end channels", &run->err);
        rc = sn_agree(run->comm, ib ? SN_OK : SN_ERR_NOMEM, &run->err);
      }
      if (rc == SN_OK && nch > 1) {
        sn_wav_interleave(body, nbody, ch, nch, ib);
        sn_wav_interleave(hd, nhead, ch, nch, ib + nbody * nch);
      }
    }
    if (rc) break;
    if (nch > 1) body = ib, hd = ib + nbody * nch;
    sn_timer_begin(&run->timer, SN_PH_WRITE);
    rc = sn_wav_write(st->wav[s], yb, nbody, body, &run->err);
    if (rc == SN_OK) rc = sn_wav_write(st->wav[s], yh, nhead, hd, &run->err);
    sn_timer_end(&run->timer, SN_PH_WRITE);
  }
  sn_free(ib);
  return rc;
}

/* Collective. The total loss, the outputs committed, the checkpoint removed. */
static int stream_commit(sn_run *run, stream *st, sn_stream_out *out) {
  double tot = st->loss;
  int rc = sn_run_allreduce_sum(run, &tot, 1, SN_OK);
  if (rc) return rc;
  out->loss = tot;
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  for (int s = 0; s < st->c->n_src && rc == SN_OK; s++) rc = sn_wav_close(&st->wav[s], 1, &run->err);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  if (rc == SN_OK && st->c->checkpoint && run->rank == 0) unlink(st->c->checkpoint);
  return rc;
}

/* Collective (the outputs' close). Free; on failure remove what the run made:
 * a refused resume keeps what it refused; an interrupted run keeps what it
 * resumes from. */
static void stream_close(sn_run *run, stream *st, int rc) {
  const sn_stream_cfg *c = st->c;
  for (int s = 0; st->wav && s < c->n_src; s++)
    if (st->wav[s])
      sn_wav_close(&st->wav[s], (st->interrupted || (!st->owned && c->resume)) ? SN_WAV_KEEP : 0, &run->err);
  if (rc && st->owned && !st->interrupted && c->checkpoint && run->rank == 0) unlink(c->checkpoint);
  sn_audio_close(&st->au);
  sn_nmf_ws_destroy(&st->ws);
  sn_poverlap_blocks_destroy(&st->ola);
  sn_stft_plan_destroy(&st->plan);
  free(st->wav);
  if (st->ibuf != st->obuf) sn_free(st->ibuf);
  if (st->A != st->D) sn_free(st->A);
  if (st->Wp != st->c->W) sn_free(st->Wp);
  if (st->Vm != st->V) sn_free(st->Vm);
  sn_free(st->x), sn_free(st->V), sn_free(st->X), sn_free(st->Y), sn_free(st->D), sn_free(st->H);
  sn_free(st->obuf), sn_free(st->state), sn_free(st->nacc);
}

int sn_stream_separate(sn_run *run, const sn_stream_cfg *c, sn_stream_out *out) {
  stream st;
  memset(&st, 0, sizeof st);
  memset(out, 0, sizeof *out);
  st.c = c;
  st.p = c->par;
  st.F = c->par->n_fft / 2 + 1, st.k = c->ncfg.R, st.B = c->block; /* F: bins (ncfg.F: the model's rows) */
  st.nch = sn_spec_out_channels(c->par);
  st.rms = !strcmp(c->par->channel_rule, "rms");
  st.need_v = !c->H || (c->recon == SN_RECON_PHASE && st.nch > 1);
  st.fp = stream_fingerprint(run, c);
  int rc = SN_OK;
  SN_CHECK(stream_open(run, &st));
  out->N = st.N;
  out->n_blocks = st.n_blocks;
  SN_CHECK(stream_files(run, &st));
  st.owned = 1;
  double t_ckpt = MPI_Wtime();
  for (int64_t b = 0; b < st.n_blocks; b++) {
    if (b < st.next) { /* done before the checkpoint */
      sn_poverlap_blocks_pass(st.ola, b);
      continue;
    }
    SN_CHECK(stream_block(run, &st, b));
    SN_CHECK(stream_checkpoint(run, &st, b, &t_ckpt));
    if (b + 1 < st.n_blocks && b % 16 == 15)
      SN_PROGRESS(run, "separate: block %lld of %lld", (long long)(b + 1), (long long)st.n_blocks);
  }
  SN_CHECK(stream_end(run, &st));
  rc = stream_commit(run, &st, out);
cleanup:
  stream_close(run, &st, rc);
  return rc;
}
