#pragma once
/* Audio input: WAV/FLAC/OGG/AIFF/... through libsndfile, or HDF5 (a 1-D float
 * dataset /audio with a numeric attribute sample_rate), mixed to mono (channel
 * mean, as librosa's to_mono), one channel, or each channel in turn
 * (SN_AUDIO_EACH with sn_audio_select), optionally resampled with soxr
 * (SOXR_HQ, as librosa's res_type="soxr_hq") and scaled. Each rank opens the
 * file on its own and reads only the span of samples it needs by seeking. */
#include <mpi.h>
#include <stdint.h>
#include "sn_base.h"

typedef struct sn_audio sn_audio;

/* What sn_audio_read returns: sizes are AFTER mixing and resampling. */
typedef struct sn_audio_info {
  int64_t n_samples;   /* mono samples (at sample_rate) */
  double sample_rate;  /* out_rate if resampling, else the file's rate (Hz) */
  int channels;        /* channels in the file (before mixing) */
  char format[64];     /* "WAV float32", "FLAC pcm16", "HDF5 float32", ... */
  int64_t n_in;        /* samples per channel in the file */
  double in_rate;      /* the file's sample rate (Hz) */
} sn_audio_info;

/* sn_audio_opts.channel: every channel, one at a time (sn_audio_select). */
#define SN_AUDIO_EACH (-2)

typedef struct sn_audio_opts {
  int channel;      /* -1: mean of all channels; SN_AUDIO_EACH: the channel
                       sn_audio_select chose (0 at first); else the 0-based channel */
  double out_rate;  /* 0: native rate; else resample to this rate (Hz) */
  int normalize;    /* informational: the caller finds the peak (sn_audio_peak
                       or sn_audio_normalize) and sets the scale */
} sn_audio_opts;

/* Local. Open path (sniffed: HDF5 by its signature, else libsndfile) and
 * validate it: channels in [1, 1024], sample rate finite in (0, 1e7], at least
 * one sample, channel index in range, out_rate finite in [0, 1e7] (resampling
 * needs integer rates). o may be NULL (mean, native rate). Errors:
 * SN_ERR_IO "PATH: cannot open: REASON" (missing, unreadable, a directory);
 * SN_ERR_INPUT "PATH: not a supported audio file (...)", "PATH: no audio
 * samples", "PATH: ..." for any bad header value. *a is NULL on error. */
int sn_audio_open(const char *path, const sn_audio_opts *o, sn_audio **a,
                  sn_audio_info *info, sn_err *e);

/* Local. Samples [start, start + n) of the mono (mixed or selected channel),
 * resampled, scaled signal into out[0..n) (float32). Indices outside
 * [0, n_samples) give 0; start may be negative. Memory use is bounded
 * (blocks of 64 Ki frames) whatever n is. Resampling: reading the whole
 * signal in one call is bit-identical to one soxr_oneshot (SOXR_HQ, float32,
 * as python-soxr under librosa's res_type="soxr_hq"); any span agrees with it
 * to float rounding (< 5e-6 of the peak, tested; ~4e-7 measured). Only where
 * soxr emits fewer than ceil() samples does librosa zero-pad the last one or
 * two, while this returns the filtered value there.
 * Errors: SN_ERR_INPUT "PATH: non-finite sample at index I" (I = frame index
 * in the file), SN_ERR_IO "PATH: read failed at sample I: ..." (truncated
 * data), SN_ERR_NOMEM. */
int sn_audio_read(sn_audio *a, int64_t start, int64_t n, float *out, sn_err *e);

/* Local. Peak |x| over samples [start, start + n) of the unscaled (mixed,
 * resampled) signal: each rank scans its own share, the caller takes the MAX
 * over ranks. Errors as sn_audio_read. */
int sn_audio_peak(sn_audio *a, int64_t start, int64_t n, double *peak, sn_err *e);

/* Local. With SN_AUDIO_EACH: make reads return channel c (0-based, in
 * [0, channels)); ignored otherwise. The peak (sn_audio_peak, normalize) of
 * an SN_AUDIO_EACH handle is the largest over all channels. */
void sn_audio_select(sn_audio *a, int c);

/* Local. Multiply every sample that sn_audio_read returns by scale (default 1).
 * To normalize: scale = 1 / global peak (when the peak is > 0). */
void sn_audio_set_scale(sn_audio *a, double scale);

/* Collective over comm. Normalize as librosa's util.normalize(norm=inf):
 * each rank scans its block share of [0, n_samples) with sn_audio_peak, MAX
 * over ranks, then set_scale(1/peak) (scale 1 if the signal is all zeros).
 * *peak (may be NULL) gets the global peak. Returns the agreed code. */
int sn_audio_normalize(MPI_Comm comm, sn_audio *a, double *peak, sn_err *e);

/* Local. Close and free; *a becomes NULL. Safe on NULL. */
void sn_audio_close(sn_audio **a);

/* Local. Output length of resampling n_in samples from in_rate to out_rate
 * as librosa/soxr: ceil(n_in * out_rate / in_rate) (exact integer arithmetic
 * for integer rates). */
int64_t sn_audio_resampled_length(int64_t n_in, double in_rate, double out_rate);
