/* The distributed spectrogram and its inverse (see sn_pstft.h). */
#include "sn_pstft.h"

#include <math.h>
#include <fftw3-mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn_audio.h"
#include "sn_comm.h"
#include "sn_frames.h"
#include "sn_stft.h"
#include "sn_wisdom.h"

/* Samples staged per read: bounds the audio buffer whatever the file length. */
#define SN_PSTFT_CHUNK_SAMPLES (1 << 21)
/* Frames per piece handed to a frame sink. */
#define SN_PSTFT_PIECE 512

/* Validate the analysis options and fill the parameters they define. Local. */
static int sn_stft_cfg_check(const sn_stft_cfg *c, sn_spec_params *p, sn_window_kind *wk, sn_err *e) {
  if (c->n_fft <= 0) return SN_FAIL(e, SN_ERR_USAGE, "--n-fft: must be positive (got %d)", c->n_fft);
  int wl = c->win_length == -1 ? c->n_fft : c->win_length;
  if (wl < 1 || wl > c->n_fft)
    return SN_FAIL(e, SN_ERR_USAGE, "--win-length: must be in [1, n_fft=%d] (got %d)", c->n_fft, wl);
  int hop = c->hop == -1 ? (wl / 4 > 0 ? wl / 4 : 1) : c->hop;
  if (hop < 1 || hop > c->n_fft)
    return SN_FAIL(e, SN_ERR_USAGE, "--hop: must be in [1, n_fft=%d] (got %d)", c->n_fft, hop);
  if (c->power != 1 && c->power != 2)
    return SN_FAIL(e, SN_ERR_USAGE, "--power: must be 1 or 2 (got %d)", c->power);
  if (c->sr < 0) return SN_FAIL(e, SN_ERR_USAGE, "--sr: must be positive (got %g)", c->sr);
  if (c->channel < -1) return SN_FAIL(e, SN_ERR_USAGE, "--channel: must be >= 0 (got %d)", c->channel);
  if (c->mono && c->channel >= 0) return SN_FAIL(e, SN_ERR_USAGE, "--mono does not go with --channel (give one or the other)");
  if (c->rule && strcmp(c->rule, "mag-mean") && strcmp(c->rule, "rms"))
    return SN_FAIL(e, SN_ERR_USAGE, "--channel-rule: '%s' is not mag-mean or rms", c->rule);
  if (c->rule && (c->mono || c->channel >= 0))
    return SN_FAIL(e, SN_ERR_USAGE, "--channel-rule does not go with %s (one channel: nothing to reduce)",
                   c->mono ? "--mono" : "--channel");
  if (c->context < 0 || c->context > SN_CONTEXT_MAX)
    return SN_FAIL(e, SN_ERR_USAGE, "--context: must be in [0, %d] frames (got %d)", SN_CONTEXT_MAX, c->context);
  int rc = sn_window_parse(c->window, wk, e);
  if (rc) return rc;
  p->context = c->context;
  p->n_fft = c->n_fft;
  p->win_length = wl;
  p->hop = hop;
  snprintf(p->window, sizeof p->window, "%s", sn_window_name(*wk));
  p->center = !c->no_center;
  p->power = c->power;
  return SN_OK;
}

int sn_pstft_plan(sn_run *run, const sn_spec_params *p, const char *wisdom, sn_stft_plan **plan) {
  static int mpi_inited = 0;
  if (!mpi_inited) {
    fftwf_mpi_init();
    mpi_inited = 1;
  }
  sn_window_kind wk;
  int rc = sn_window_parse(p->window, &wk, &run->err);
  /* FFTW_MEASURE times candidate algorithms, so two runs may execute
   * different ones and differ in the last bits; it saves about 0.6 us per
   * 2048-point frame. Reproducible by default; measured once with wisdom. */
  unsigned flags = wisdom ? FFTW_MEASURE : FFTW_ESTIMATE;
  sn_timer_begin(&run->timer, SN_PH_PLAN);
  if (rc == SN_OK) rc = sn_fault("plan", run->rank, &run->err);
  if (run->rank == 0 && rc == SN_OK) {
    if (wisdom) rc = sn_wisdom_import(wisdom, &run->err);
    if (rc == SN_OK)
      rc = sn_stft_plan_create(p->n_fft, p->win_length, p->hop, wk, 0, flags, plan, &run->err);
  }
  rc = sn_agree(run->comm, rc, &run->err);
  if (rc == SN_OK) {
    fftwf_mpi_broadcast_wisdom(run->comm);
    if (run->rank != 0)
      rc = sn_stft_plan_create(p->n_fft, p->win_length, p->hop, wk, 0, flags, plan, &run->err);
    rc = sn_agree(run->comm, rc, &run->err);
  }
  if (rc == SN_OK && wisdom) {
    fftwf_mpi_gather_wisdom(run->comm);
    rc = sn_agree(run->comm, run->rank == 0 ? sn_wisdom_export(wisdom, &run->err) : SN_OK, &run->err);
  }
  sn_timer_end(&run->timer, SN_PH_PLAN);
  if (rc) sn_stft_plan_destroy(plan);
  return rc;
}

int sn_stft_cfg_audio_channel(const sn_stft_cfg *cfg) {
  return cfg->mono ? -1 : cfg->channel >= 0 ? cfg->channel : SN_AUDIO_EACH;
}

/* Local. Record in p the channel count of the input and the rule that
 * reduces its channels (see sn_spec_params.channel_rule). */
static void stft_rule(const sn_stft_cfg *cfg, int channels, sn_spec_params *p) {
  if (channels > p->channels) p->channels = channels;
  if (cfg->mono) snprintf(p->channel_rule, sizeof p->channel_rule, "mono");
  else if (cfg->channel >= 0) snprintf(p->channel_rule, sizeof p->channel_rule, "channel %d", cfg->channel);
  else snprintf(p->channel_rule, sizeof p->channel_rule, "%s", cfg->rule ? cfg->rule : SN_STFT_DEFAULT_RULE);
}

/* Local. Channels stft_frames transforms one by one for an input of
 * `channels` channels read with cfg: 1 when the file has one or the rule
 * picks or mixes before the STFT. */
static int stft_nch(const sn_stft_cfg *cfg, int channels) {
  return sn_stft_cfg_audio_channel(cfg) == SN_AUDIO_EACH ? channels : 1;
}

/* Local. The staging buffer of stft_frames for up to n frames. */
static float *stft_buffer(const sn_spec_params *p, int64_t n, sn_err *e) {
  int64_t chunk = SN_PSTFT_CHUNK_SAMPLES / p->hop;
  if (chunk < 1) chunk = 1;
  if (chunk > n) chunk = n > 0 ? n : 1;
  return sn_calloc((size_t)((chunk - 1) * (int64_t)p->hop + p->n_fft) * sizeof(float), "audio span", e);
}

/* Frames per chunk of the multichannel reduction (its scratch: F x chunk floats). */
#define SN_PSTFT_REDUCE_FLOATS ((int64_t)1 << 22)

/* Local. Frames [f0, f0 + n) of every channel of a (opened with
 * SN_AUDIO_EACH, nch channels) reduced into mag (F x n, ld F) by p's rule
 * (sn_stft_reduce_add / sn_stft_reduce_end). */
static int stft_frames_reduce(sn_run *run, sn_audio *a, sn_stft_plan *plan, const sn_spec_params *p, int64_t f0,
                              int64_t n, float *buf, float *mag, int F, int nch) {
  sn_err *e = &run->err;
  const int rms = !strcmp(p->channel_rule, "rms");
  int64_t chunk = SN_PSTFT_CHUNK_SAMPLES / p->hop, most = SN_PSTFT_REDUCE_FLOATS / F;
  if (chunk > most) chunk = most;
  if (chunk < 1) chunk = 1;
  if (chunk > n) chunk = n > 0 ? n : 1;
  int64_t pad = p->center ? p->n_fft / 2 : 0;
  float *tmp = sn_calloc((size_t)(chunk * F) * sizeof(float), "channel spectrogram", e);
  int rc = tmp ? SN_OK : SN_ERR_NOMEM;
  for (int64_t t0 = 0; rc == SN_OK && t0 < n; t0 += chunk) {
    int64_t nf = n - t0 < chunk ? n - t0 : chunk;
    int64_t first = (f0 + t0) * p->hop - pad;
    float *v = mag + (size_t)t0 * F;
    for (int c = 0; c < nch && rc == SN_OK; c++) {
      sn_audio_select(a, c);
      sn_timer_begin(&run->timer, SN_PH_READ);
      rc = sn_audio_read(a, first, (nf - 1) * p->hop + p->n_fft, buf, e);
      sn_timer_end(&run->timer, SN_PH_READ);
      if (rc) break;
      sn_timer_begin(&run->timer, SN_PH_STFT);
      rc = sn_stft_reduce_add(plan, buf, nf, rms, c, v, tmp, NULL, 0, e);
      sn_timer_end(&run->timer, SN_PH_STFT);
    }
    if (rc) break;
    sn_stft_reduce_end(v, nf * F, nch, rms, p->power);
  }
  sn_audio_select(a, 0);
  sn_free(tmp);
  return rc;
}

/* Local. Frames [f0, f0 + n) of the audio a into mag (F x n, ld F) and, when
 * cplx, the complex STFT (interleaved, ld F): reads only those frames' samples
 * (with the n_fft/2 halo), staged in buf (from stft_buffer) chunk by chunk.
 * nch > 1: the channels of a (SN_AUDIO_EACH) reduced by stft_frames_reduce. */
static int stft_frames(sn_run *run, sn_audio *a, sn_stft_plan *plan, const sn_spec_params *p, int64_t f0, int64_t n,
                       float *buf, float *mag, int F, float *cplx, int nch) {
  if (nch > 1) return stft_frames_reduce(run, a, plan, p, f0, n, buf, mag, F, nch);
  sn_err *e = &run->err;
  int64_t chunk = SN_PSTFT_CHUNK_SAMPLES / p->hop;
  if (chunk < 1) chunk = 1;
  int64_t pad = p->center ? p->n_fft / 2 : 0;
  int rc = SN_OK;
  for (int64_t t0 = 0; rc == SN_OK && t0 < n; t0 += chunk) {
    int64_t nf = n - t0 < chunk ? n - t0 : chunk;
    int64_t first = (f0 + t0) * p->hop - pad;
    sn_timer_begin(&run->timer, SN_PH_READ);
    rc = sn_audio_read(a, first, (nf - 1) * p->hop + p->n_fft, buf, e);
    sn_timer_end(&run->timer, SN_PH_READ);
    if (rc) break;
    sn_timer_begin(&run->timer, SN_PH_STFT);
    rc = sn_stft_exec(plan, buf, nf, p->power, mag + (size_t)t0 * F, F, cplx ? cplx + (size_t)t0 * 2 * F : NULL, F, e);
    sn_timer_end(&run->timer, SN_PH_STFT);
  }
  return rc;
}

/* Local. The model's columns [f0, f0 + n) of an input of n_in frames into
 * out (ld F (2C + 1), C = p->context): without context the frames
 * themselves (stft_frames); with it each column's 2C + 1 frames stacked
 * (sn_context_stack), SN_PSTFT_PIECE columns at a time, their frames
 * (sn_context_span) staged in ext (F x (SN_PSTFT_PIECE + 2C)). */
static int stft_frames_model(sn_run *run, sn_audio *a, sn_stft_plan *plan, const sn_spec_params *p, int64_t f0,
                             int64_t n, int64_t n_in, float *buf, float *out, int F, int nch, float *ext) {
  if (p->context == 0) return stft_frames(run, a, plan, p, f0, n, buf, out, F, NULL, nch);
  const int64_t rows = (int64_t)F * (2 * p->context + 1);
  int rc = SN_OK;
  for (int64_t j = 0; rc == SN_OK && j < n; j += SN_PSTFT_PIECE) {
    int64_t m = n - j < SN_PSTFT_PIECE ? n - j : SN_PSTFT_PIECE, e0, e1;
    sn_context_span(p->context, n_in, f0 + j, m, &e0, &e1);
    rc = stft_frames(run, a, plan, p, e0, e1 - e0, buf, ext, F, NULL, nch);
    if (rc == SN_OK) sn_context_stack(ext, F, p->context, n_in, f0 + j, m, out + (size_t)j * rows);
  }
  return rc;
}

/* Local. The staging buffer of stft_frames_model (NULL without context: not
 * needed; *rc = SN_ERR_NOMEM when it cannot be had). */
static float *stft_context_buffer(const sn_spec_params *p, int F, int *rc, sn_err *e) {
  if (p->context == 0) return NULL;
  float *ext = sn_calloc((size_t)F * (SN_PSTFT_PIECE + 2 * (size_t)p->context) * sizeof(float), "context frames", e);
  if (!ext) *rc = SN_ERR_NOMEM;
  return ext;
}

int sn_pstft_params(sn_run *run, const char *input, const sn_stft_cfg *cfg, sn_spec_params *p) {
  sn_window_kind wk;
  sn_audio *a = NULL;
  sn_audio_info info;
  memset(p, 0, sizeof *p);
  int rc = sn_agree(run->comm, sn_stft_cfg_check(cfg, p, &wk, &run->err), &run->err);
  if (rc) return rc;
  sn_audio_opts ao = {sn_stft_cfg_audio_channel(cfg), cfg->sr, cfg->normalize};
  rc = sn_agree(run->comm, sn_audio_open(input, &ao, &a, &info, &run->err), &run->err);
  sn_audio_close(&a);
  if (rc) return rc;
  stft_rule(cfg, info.channels, p);
  p->sample_rate = info.sample_rate;
  p->n_samples = info.n_samples;
  snprintf(p->input, sizeof p->input, "%s", input);
  return SN_OK;
}

/* Local. The model's columns [f0, f0 + n) of a (an input of n_in frames,
 * stft_frames_model) into the sink, SN_PSTFT_PIECE at a time (staged in
 * piece; local frame indices from j0). */
static int stft_frames_sink(sn_run *run, sn_audio *a, sn_stft_plan *plan, const sn_spec_params *p, int64_t f0,
                            int64_t n, int64_t n_in, int64_t j0, float *buf, float *piece, int F, int nch, float *ext,
                            const sn_frame_sink *sink) {
  int rc = SN_OK;
  for (int64_t j = 0; rc == SN_OK && j < n; j += SN_PSTFT_PIECE) {
    int64_t m = n - j < SN_PSTFT_PIECE ? n - j : SN_PSTFT_PIECE;
    rc = stft_frames_model(run, a, plan, p, f0 + j, m, n_in, buf, piece, F, nch, ext);
    if (rc == SN_OK) rc = sink->put(sink->ctx, j0 + j, m, piece, &run->err);
  }
  return rc;
}

int sn_pstft_compute(sn_run *run, const char *input, const sn_stft_cfg *cfg, int want_complex, sn_spec *s,
                     const sn_frame_sink *sink) {
  memset(s, 0, sizeof *s);
  sn_err *e = &run->err;
  sn_window_kind wk;
  sn_audio *a = NULL;
  sn_stft_plan *plan = NULL;
  float *buf = NULL, *piece = NULL, *ext = NULL;
  sn_audio_info info;
  memset(&info, 0, sizeof info);

  int rc = sn_stft_cfg_check(cfg, &s->par, &wk, e);
  rc = sn_agree(run->comm, rc, e);
  if (rc) return rc;

  sn_timer_begin(&run->timer, SN_PH_READ);
  sn_audio_opts ao = {sn_stft_cfg_audio_channel(cfg), cfg->sr, cfg->normalize};
  rc = sn_audio_open(input, &ao, &a, &info, e);
  sn_timer_end(&run->timer, SN_PH_READ);
  const int nch = rc == SN_OK ? stft_nch(cfg, info.channels) : 1;
  if (rc == SN_OK && want_complex && nch > 1)
    rc = SN_FAIL(e, SN_ERR_USAGE, "%s: %d channels: the complex STFT is stored for one channel (give --mono or --channel K)",
                 input, info.channels);
  rc = sn_agree(run->comm, rc, e);
  if (rc) goto cleanup;
  stft_rule(cfg, info.channels, &s->par);
  if (cfg->normalize) {
    double peak = 0;
    sn_timer_begin(&run->timer, SN_PH_READ);
    rc = sn_audio_normalize(run->comm, a, &peak, e);
    sn_timer_end(&run->timer, SN_PH_READ);
    if (rc) goto cleanup;
  }

  sn_spec_params *p = &s->par;
  p->sample_rate = info.sample_rate;
  p->n_samples = info.n_samples;
  snprintf(p->input, sizeof p->input, "%s", input);
  s->F = p->n_fft / 2 + 1;
  s->N = sn_stft_n_frames(info.n_samples, p->n_fft, p->hop, p->center);
  if (s->N <= 0) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %lld samples are too few for n_fft %d%s", input, (long long)info.n_samples,
                 p->n_fft, p->center ? "" : " without centring");
  }
  rc = sn_agree(run->comm, rc, e);
  if (rc) goto cleanup;
  sn_block_range(s->N, run->size, run->rank, &s->start, &s->n_local);

  rc = sn_pstft_plan(run, p, cfg->wisdom, &plan);
  if (rc) goto cleanup;

  /* Buffers: the block, and one staged span of audio (with context: a piece
   * and its 2C frames beyond at a time). */
  s->rows = s->F * (2 * p->context + 1);
  size_t nel = (size_t)s->F * (size_t)s->n_local;
  const int64_t ctx_frames = (s->n_local < SN_PSTFT_PIECE ? s->n_local : SN_PSTFT_PIECE) + 2 * p->context;
  if (sink) { /* only a piece in memory (never the complex STFT: callers with a sink do not want it) */
    piece = sn_calloc((size_t)s->rows * SN_PSTFT_PIECE * sizeof(float), "spectrogram piece", e);
    buf = stft_buffer(p, ctx_frames, e);
    rc = (!piece || !buf) ? SN_ERR_NOMEM : SN_OK;
  } else {
    s->mag = sn_calloc(nel * sizeof(float), "spectrogram block", e);
    if (want_complex && s->mag) s->cplx = sn_calloc(nel * 2 * sizeof(float), "complex spectrogram block", e);
    if (p->context && s->mag) s->model = sn_calloc(nel * (2 * p->context + 1) * sizeof(float), "model spectrogram", e);
    buf = stft_buffer(p, s->n_local > ctx_frames ? s->n_local : ctx_frames, e);
    rc = (!s->mag || (want_complex && !s->cplx) || (p->context && !s->model) || !buf) ? SN_ERR_NOMEM : SN_OK;
  }
  if (rc == SN_OK) ext = stft_context_buffer(p, s->F, &rc, e);
  if (rc == SN_OK) rc = sn_fault("read", run->rank, e);
  if (rc == SN_OK && sink)
    rc = stft_frames_sink(run, a, plan, p, s->start, s->n_local, s->N, 0, buf, piece, s->F, nch, ext, sink);
  else if (rc == SN_OK)
    rc = stft_frames(run, a, plan, p, s->start, s->n_local, buf, s->mag, s->F, s->cplx, nch);
  if (rc == SN_OK && s->model) /* the frames again, with their context (a second transform: C/piece frames more) */
    rc = stft_frames_model(run, a, plan, p, s->start, s->n_local, s->N, buf, s->model, s->F, nch, ext);
  if (rc == SN_OK) rc = sn_fault("stft", run->rank, e);
  rc = sn_agree(run->comm, rc, e);
  if (rc == SN_OK) {
    sn_run_fact_int(run, "n_samples", p->n_samples);
    sn_run_fact_double(run, "sample_rate", p->sample_rate);
    sn_run_fact_int(run, "n_bins", s->F);
    sn_run_fact_int(run, "n_frames", s->N);
    sn_run_fact_str(run, "input_format", info.format);
    sn_run_fact_int(run, "channels", info.channels);
    sn_run_fact_str(run, "channel_rule", p->channel_rule);
  }

cleanup:
  sn_free(buf);
  sn_free(piece);
  sn_free(ext);
  sn_stft_plan_destroy(&plan);
  sn_audio_close(&a);
  if (rc) sn_spec_free(s);
  return rc;
}

void sn_spec_files_free(sn_spec_files *fl) {
  free(fl->first);
  memset(fl, 0, sizeof *fl);
}

/* Collective. Is input a stored spectrogram (HDF5 with /stft/magnitude)? Then
 * *is_spec = 1, with its parameters and frame count. Same answer on all ranks. */
static int probe_spec(sn_run *run, const char *input, sn_spec_params *q, int64_t *N, int *is_spec) {
  sn_err *e = &run->err;
  *is_spec = 0;
  int hdf = run->rank == 0 ? sn_h5_is_hdf5(input) : 0;
  SN_MPI_CALL(MPI_Bcast(&hdf, 1, MPI_INT, 0, run->comm));
  if (!hdf) return SN_OK;
  sn_h5 *f = NULL;
  int rc = sn_h5_open(run->comm, input, &f, e);
  if (rc) return rc;
  if (sn_h5_exists(f, "/stft/magnitude")) {
    int nd = 0;
    int64_t dims[2] = {0, 0};
    *is_spec = 1;
    rc = sn_h5_shape(f, "/stft/magnitude", &nd, dims, e);
    if (rc == SN_OK) rc = sn_spec_params_read(f, "/stft/magnitude", q, e);
    if (rc == SN_OK && (nd != 2 || dims[0] != q->n_fft / 2 + 1 || dims[1] < 1))
      rc = sn_agree(run->comm, SN_FAIL(e, SN_ERR_INPUT, "%s: /stft/magnitude must be (n_fft/2 + 1, frames)", input), e);
    *N = dims[1];
  }
  int crc = sn_h5_close(&f, 0, e);
  return rc ? rc : crc;
}

/* Local. Refuse a stored spectrogram made with other STFT options than p
 * (naming the input and the first parameter that differs). */
static int spec_matches(const char *input, const sn_spec_params *q, const sn_spec_params *p, int sr_known, sn_err *e) {
  const char *what = NULL;
  if (q->n_fft != p->n_fft) what = "n_fft";
  else if (q->hop != p->hop) what = "hop_length";
  else if (q->win_length != p->win_length) what = "win_length";
  else if (strcmp(q->window, p->window)) what = "window";
  else if (q->center != p->center) what = "center";
  else if (q->power != p->power) what = "power";
  else if (sr_known && q->sample_rate != p->sample_rate) what = "sample_rate";
  if (!what && sn_spec_rule_differs(q, p))
    return SN_FAIL(e, SN_ERR_INPUT, "%s: a stored spectrogram made with channel_rule %s; asked for %s (see --mono, --channel)",
                   input, q->channel_rule, p->channel_rule);
  if (!what) return SN_OK;
  return SN_FAIL(e, SN_ERR_INPUT,
                 "%s: a stored spectrogram made with other STFT options (%s differs: it has n_fft %d, hop %d, "
                 "win_length %d, window %s, center %d, power %d at %g Hz; asked for %d, %d, %d, %s, %d, %d%s)",
                 input, what, q->n_fft, q->hop, q->win_length, q->window, q->center, q->power, q->sample_rate,
                 p->n_fft, p->hop, p->win_length, p->window, p->center, p->power, sr_known ? " at the other inputs' rate" : "");
}

/* Local. The STFT of this rank's frames of every audio input it overlaps
 * (stored spectrograms were read before): each file opened, read around the
 * rank's frames, closed. Returns this rank's code, for the caller to agree. */
static int stft_audio_local(sn_run *run, const char *const *inputs, int n, const sn_stft_cfg *cfg,
                            const sn_spec_files *fl, const char *kind, const double *peak, sn_stft_plan *plan,
                            float *buf, sn_spec *s, const sn_frame_sink *sink, float *piece, float *ext) {
  sn_err *e = &run->err;
  const sn_spec_params *p = &s->par;
  const int64_t end = s->start + s->n_local;
  const int bins = p->n_fft / 2 + 1;
  int rc = sn_fault("read", run->rank, e);
  for (int i = 0; i < n && rc == SN_OK; i++) {
    int64_t lo = fl->first[i] > s->start ? fl->first[i] : s->start, hi = fl->first[i + 1] < end ? fl->first[i + 1] : end;
    if (kind[i] || hi <= lo) continue;
    sn_audio_opts ao = {sn_stft_cfg_audio_channel(cfg), cfg->sr, cfg->normalize};
    sn_audio_info info;
    sn_audio *a = NULL;
    rc = sn_audio_open(inputs[i], &ao, &a, &info, e);
    if (rc == SN_OK && cfg->normalize && peak[i] > 0) sn_audio_set_scale(a, 1.0 / peak[i]);
    const int64_t n_in = fl->first[i + 1] - fl->first[i];
    if (rc == SN_OK && !sink)
      rc = stft_frames_model(run, a, plan, p, lo - fl->first[i], hi - lo, n_in, buf,
                             s->mag + (size_t)(lo - s->start) * s->F, bins, stft_nch(cfg, info.channels), ext);
    if (rc == SN_OK && sink)
      rc = stft_frames_sink(run, a, plan, p, lo - fl->first[i], hi - lo, n_in, lo - s->start, buf, piece, bins,
                            stft_nch(cfg, info.channels), ext, sink);
    sn_audio_close(&a);
  }
  return rc == SN_OK ? sn_fault("stft", run->rank, e) : rc;
}

/* Local. The frames [*lo, *hi) of input i that the block [start, start + n)
 * holds (*hi == *lo when none). */
static void file_overlap(const sn_spec_files *fl, int i, int64_t start, int64_t n, int64_t *lo, int64_t *hi) {
  const int64_t end = start + n;
  *lo = fl->first[i] > start ? fl->first[i] : start;
  *hi = fl->first[i + 1] < end ? fl->first[i + 1] : end;
  if (*hi < *lo) *hi = *lo;
}

/* Collective. The stored spectrogram input i into this rank's block: one
 * collective read, or with a sink or context SN_PSTFT_PIECE columns at a time
 * (every rank takes part in as many reads as the rank that overlaps the file
 * most). With context each piece's columns read their frames beyond it too
 * (sn_context_span, staged in ext) and are stacked. */
static int stored_read(sn_run *run, const char *input, int i, const sn_spec_files *fl, sn_spec *s,
                       const sn_frame_sink *sink, float *piece, float *ext) {
  sn_err *e = &run->err;
  const int ctx = s->par.context, bins = s->par.n_fft / 2 + 1, piecewise = sink || ctx;
  const int64_t n_in = fl->first[i + 1] - fl->first[i];
  int64_t lo, hi, pieces = 1;
  file_overlap(fl, i, s->start, s->n_local, &lo, &hi);
  if (piecewise) {
    pieces = 0;
    for (int q = 0; q < run->size; q++) {
      int64_t qs, qn, ql, qh;
      sn_block_range(s->N, run->size, q, &qs, &qn);
      file_overlap(fl, i, qs, qn, &ql, &qh);
      if ((qh - ql + SN_PSTFT_PIECE - 1) / SN_PSTFT_PIECE > pieces) pieces = (qh - ql + SN_PSTFT_PIECE - 1) / SN_PSTFT_PIECE;
    }
  }
  sn_h5 *f = NULL;
  int rc = sn_h5_open(run->comm, input, &f, e);
  for (int64_t k = 0; rc == SN_OK && k < pieces; k++) {
    int64_t j = piecewise ? lo + k * SN_PSTFT_PIECE : lo, m = piecewise ? hi - j : hi - lo;
    if (m > SN_PSTFT_PIECE && piecewise) m = SN_PSTFT_PIECE;
    if (m < 0) m = 0;
    float *dst = sink ? piece : s->mag + (size_t)(m > 0 ? j - s->start : 0) * s->F;
    if (!ctx) {
      rc = sn_h5_read_cols(f, "/stft/magnitude", bins, m > 0 ? j - fl->first[i] : 0, m, dst, bins, e);
    } else {
      int64_t e0 = 0, e1 = 0;
      if (m > 0) sn_context_span(ctx, n_in, j - fl->first[i], m, &e0, &e1);
      rc = sn_h5_read_cols(f, "/stft/magnitude", bins, e0, e1 - e0, ext, bins, e);
      if (rc == SN_OK && m > 0) sn_context_stack(ext, bins, ctx, n_in, j - fl->first[i], m, dst);
    }
    if (rc == SN_OK && sink) rc = sn_agree(run->comm, m > 0 ? sink->put(sink->ctx, j - s->start, m, piece, e) : SN_OK, e);
  }
  if (f) {
    int crc = sn_h5_close(&f, 0, e);
    if (rc == SN_OK) rc = crc;
  }
  return rc;
}

int sn_pstft_compute_files(sn_run *run, const char *const *inputs, int n, const sn_stft_cfg *cfg, sn_spec *s,
                           sn_spec_files *fl, const sn_frame_sink *sink) {
  memset(s, 0, sizeof *s);
  memset(fl, 0, sizeof *fl);
  sn_err *e = &run->err;
  sn_window_kind wk;
  sn_stft_plan *plan = NULL;
  sn_audio *a = NULL;
  float *buf = NULL, *piece = NULL, *ext = NULL;
  double *peak = NULL;
  char *kind = NULL; /* 1: stored spectrogram */
  sn_spec_params *p = &s->par;
  int rc = n >= 1 ? sn_stft_cfg_check(cfg, p, &wk, e) : SN_FAIL(e, SN_ERR_USAGE, "no inputs");
  SN_CHECK(sn_agree(run->comm, rc, e));
  stft_rule(cfg, 0, p);
  fl->n = n;
  fl->first = calloc((size_t)n + 1, sizeof *fl->first);
  peak = calloc((size_t)n, sizeof *peak);
  kind = calloc((size_t)n, 1);
  SN_CHECK(sn_agree(run->comm, (fl->first && peak && kind) ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "inputs: out of memory"), e));

  /* ---- every input's length (headers only) and rate; peaks for --normalize ---- */
  sn_timer_begin(&run->timer, SN_PH_READ);
  int sr_known = 0;
  for (int i = 0; i < n && rc == SN_OK; i++) {
    sn_spec_params q;
    int64_t Ni = 0;
    int is_spec = 0;
    memset(&q, 0, sizeof q);
    rc = probe_spec(run, inputs[i], &q, &Ni, &is_spec);
    if (rc) break;
    double rate = 0;
    if (is_spec) {
      kind[i] = 1;
      rc = sn_agree(run->comm, spec_matches(inputs[i], &q, p, sr_known, e), e);
      rate = q.sample_rate;
      fl->seconds += q.n_samples > 0 ? q.n_samples / q.sample_rate : 0;
    } else {
      sn_audio_opts ao = {sn_stft_cfg_audio_channel(cfg), cfg->sr, cfg->normalize};
      sn_audio_info info;
      memset(&info, 0, sizeof info);
      rc = sn_agree(run->comm, sn_audio_open(inputs[i], &ao, &a, &info, e), e);
      if (rc == SN_OK) stft_rule(cfg, info.channels, p);
      if (rc == SN_OK && cfg->normalize) rc = sn_audio_normalize(run->comm, a, &peak[i], e);
      sn_audio_close(&a);
      if (rc) break;
      rate = info.sample_rate;
      Ni = sn_stft_n_frames(info.n_samples, p->n_fft, p->hop, p->center);
      fl->seconds += info.n_samples / info.sample_rate;
      if (Ni <= 0)
        rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %lld samples are too few for n_fft %d%s", inputs[i],
                     (long long)info.n_samples, p->n_fft, p->center ? "" : " without centring");
      rc = sn_agree(run->comm, rc, e);
    }
    if (rc) break;
    if (sr_known && rate != p->sample_rate)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: sample rate %g Hz, but %s has %g Hz (resample all with --sr)", inputs[i], rate,
                   inputs[0], p->sample_rate);
    rc = sn_agree(run->comm, rc, e); /* the same on every rank */
    p->sample_rate = rate;
    sr_known = 1;
    fl->first[i + 1] = fl->first[i] + Ni;
  }
  sn_timer_end(&run->timer, SN_PH_READ);
  if (rc) goto cleanup;
  snprintf(p->input, sizeof p->input, "%s", inputs[0]);
  p->n_samples = 0;
  s->F = s->rows = (p->n_fft / 2 + 1) * (2 * p->context + 1);
  s->N = fl->first[n];
  sn_block_range(s->N, run->size, run->rank, &s->start, &s->n_local);
  SN_CHECK(sn_pstft_plan(run, p, cfg->wisdom, &plan));
  ext = stft_context_buffer(p, p->n_fft / 2 + 1, &rc, e);
  SN_AGREE(run, rc);
  if (sink) piece = sn_calloc((size_t)s->F * SN_PSTFT_PIECE * sizeof(float), "spectrogram piece", e);
  else s->mag = sn_calloc((size_t)s->F * (size_t)s->n_local * sizeof(float), "spectrogram block", e);
  /* a call reads at most a piece (or the block), and with context its 2C frames beyond */
  buf = stft_buffer(p, (sink || p->context) && s->n_local > SN_PSTFT_PIECE ? SN_PSTFT_PIECE + 2 * p->context
                                                                            : s->n_local + 2 * p->context, e);
  SN_CHECK(sn_agree(run->comm, ((s->mag || piece) && buf) ? SN_OK : SN_ERR_NOMEM, e));

  /* ---- stored spectrograms: collective reads (a rank outside reads 0 columns) ---- */
  sn_timer_begin(&run->timer, SN_PH_READ);
  for (int i = 0; i < n && rc == SN_OK; i++)
    if (kind[i]) rc = stored_read(run, inputs[i], i, fl, s, sink, piece, ext);
  sn_timer_end(&run->timer, SN_PH_READ);
  if (rc) goto cleanup;

  /* ---- audio: each rank its own frames of each file it overlaps (local) ---- */
  SN_AGREE(run, stft_audio_local(run, inputs, n, cfg, fl, kind, peak, plan, buf, s, sink, piece, ext));
  sn_run_fact_int(run, "n_inputs", n);
  sn_run_fact_int(run, "channels", p->channels);
  sn_run_fact_str(run, "channel_rule", p->channel_rule);
  sn_run_fact_double(run, "seconds", fl->seconds);
  sn_run_fact_double(run, "sample_rate", p->sample_rate);
  sn_run_fact_int(run, "n_bins", s->F);
  sn_run_fact_int(run, "n_frames", s->N);
  if (p->context) sn_run_fact_int(run, "context", p->context);

cleanup:
  sn_free(buf);
  sn_free(piece);
  sn_free(ext);
  sn_stft_plan_destroy(&plan);
  sn_audio_close(&a);
  free(peak);
  free(kind);
  if (rc) {
    sn_spec_free(s);
    sn_spec_files_free(fl);
  }
  return rc;
}

