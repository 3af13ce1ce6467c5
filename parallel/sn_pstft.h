#pragma once
/* The distributed spectrogram: frames are split over ranks in contiguous blocks
 * (sn_block_range); each rank reads only the samples its frames need (with the
 * n_fft/2 halo) and transforms them with the serial kernels of src/sn_stft.h.
 * The inverse overlap-adds across rank boundaries by exchanging frame tails.
 * FFTW plans are measured on rank 0 and shared as wisdom. */
#include "sn_opts.h"
#include "sn_run.h"
#include "sn_spec_io.h"
#include "sn_h5.h"

/* Options of the analysis, parsed by every command that computes a spectrogram. */
typedef struct sn_stft_cfg {
  int n_fft;            /* 2048 */
  int hop;              /* -1: win_length/4 */
  int win_length;       /* -1: n_fft */
  const char *window;   /* "hann" */
  int no_center;        /* 1: frames start at sample 0 */
  int power;            /* 1 (magnitude) or 2 (power) */
  double sr;            /* 0: the file's rate; else resample (soxr) */
  int channel;          /* -1: every channel (reduced by the rule); else channel K only */
  int normalize;        /* divide by the peak */
  const char *wisdom;   /* FFTW wisdom file to import and update */
  int mono;             /* 1: sample mean of the channels before the STFT (the old behaviour) */
  const char *rule;     /* NULL: SN_STFT_DEFAULT_RULE; "mag-mean" | "rms" */
  int context;          /* frames of temporal context each side (0..SN_CONTEXT_MAX): the model's V of
                           sn_pstft_compute_files stacks 2 context + 1 frames per column (sn_context_stack) */
} sn_stft_cfg;

/* A multichannel input becomes one magnitude per frame by this rule (chosen by
 * measurement: README "Stereo and multichannel input"). */
#define SN_STFT_DEFAULT_RULE "mag-mean"

#define SN_STFT_CFG_DEFAULT {2048, -1, -1, "hann", 0, 1, 0.0, -1, 0, NULL, 0, NULL, 0}

#define SN_STFT_OPTS(c)                                                                              \
  {"--n-fft", 0, SN_OPT_INT, &(c)->n_fft, "N", "FFT size (2048)"},                                   \
  {"--hop", 0, SN_OPT_INT, &(c)->hop, "N", "hop length in samples (win_length/4)"},                  \
  {"--win-length", 0, SN_OPT_INT, &(c)->win_length, "N", "window length (n_fft)"},                   \
  {"--window", 0, SN_OPT_STRING, &(c)->window, "NAME", "hann|hamming|blackman|rectangular (hann)"}, \
  {"--no-center", 0, SN_OPT_FLAG, &(c)->no_center, NULL, "do not centre frames (no n_fft/2 padding)"}, \
  {"--power", 0, SN_OPT_INT, &(c)->power, "1|2", "magnitude (1) or power (2) spectrogram (1)"},     \
  {"--sr", 0, SN_OPT_DOUBLE, &(c)->sr, "HZ", "resample to this rate with soxr (the file's rate)"},   \
  {"--channel", 0, SN_OPT_INT, &(c)->channel, "K", "use (and write) channel K (0-based) only"},      \
  {"--mono", 0, SN_OPT_FLAG, &(c)->mono, NULL,                                                       \
   "mix the channels to mono (sample mean) before the STFT; parts are mono"},                        \
  {"--channel-rule", 0, SN_OPT_STRING, &(c)->rule, "RULE",                                           \
   "multichannel: the model's magnitude per frame is mag-mean (mean of the channels' |X|; default) " \
   "or rms (root of the summed powers / C); masks apply to every channel"},                          \
  {"--normalize", 0, SN_OPT_FLAG, &(c)->normalize, NULL, "divide the signal by its peak"},          \
  {"--wisdom", 0, SN_OPT_STRING, &(c)->wisdom, "FILE", "FFTW wisdom to import and keep between jobs"}

/* Collective. STFT/ISTFT plans for p on every rank: rank 0 plans, the wisdom
 * is broadcast so every rank executes the same algorithm, and gathered back
 * into `wisdom`. Without a wisdom file the plans are FFTW_ESTIMATE: chosen
 * without timing, so identical runs give identical bits. With one, rank 0
 * imports it (if the file exists) and plans with FFTW_MEASURE: the first run
 * times the algorithms and stores the choice, and every run with that file
 * then executes the same plans (bit-identical again). The one FFTW planner of
 * the program: stft, istft, separate and griffinlim plan through it. */
/* sn_spec (a rank's block of a spectrogram) and its file: io/sn_spec_io.h. */
struct sn_stft_plan;
int sn_pstft_plan(sn_run *run, const sn_spec_params *p, const char *wisdom, struct sn_stft_plan **plan);

/* Local. The audio options (sn_audio_opts.channel) that cfg reads with: -1
 * (sample mean) for --mono, K for --channel K, else SN_AUDIO_EACH. */
int sn_stft_cfg_audio_channel(const sn_stft_cfg *cfg);

/* Collective. The parameters the spectrogram of the audio `input` will have
 * with cfg (sample rate after --sr, n_fft, hop, window, ...; n_samples), from
 * the options and the file's header only: for checks before any work. */
int sn_pstft_params(sn_run *run, const char *input, const sn_stft_cfg *cfg, sn_spec_params *p);


/* Where each input's frames sit in a spectrogram made of several inputs side
 * by side (sn_pstft_compute_files). */
typedef struct sn_spec_files {
  int n;                /* inputs */
  int64_t *first;       /* n + 1 global frame offsets: input i is [first[i], first[i+1]) */
  double seconds;       /* audio summed over the inputs (from stored spectrograms: their n_samples) */
} sn_spec_files;

/* Where the frames go when the block is not held (--solver online): pieces
 * of this rank's frames (local frame j0, m frames, F x m, ld F), each frame
 * once. Local; an error stops the computation (the caller's code is agreed). */
typedef struct sn_frame_sink {
  int (*put)(void *ctx, int64_t j0, int64_t m, const float *V, sn_err *e);
  void *ctx;
} sn_frame_sink;

/* Collective. Compute this rank's block of the spectrogram of `input` (audio
 * file or HDF5 /audio). want_complex also keeps the complex STFT. With a sink
 * (and want_complex 0), s->mag stays NULL and the frames go to the sink a
 * piece at a time. With cfg->context = C > 0 the model's V is also made:
 * s->model (s->rows = F (2C + 1) rows, each column its frame's context
 * stacked, sn_context_stack; the rank also reads the samples of the C frames
 * beyond each end of its block), and a sink receives those stacked columns
 * instead of the frames. */
int sn_pstft_compute(sn_run *run, const char *input, const sn_stft_cfg *cfg, int want_complex, sn_spec *s,
                     const sn_frame_sink *sink);

/* Collective. This rank's block (sn_block_range over the total frame count)
 * of the frames of n inputs side by side, in the order given: audio files
 * (anything sn_pstft_compute reads) and stored magnitude spectrograms
 * (FILE.h5 with /stft/magnitude, made with the same STFT options). A rank
 * reads only the samples of its own frames and their STFT halo; a file may
 * span ranks and a rank may hold parts of several files. Every input must
 * have the same sample rate (after --sr) and at least one frame. Errors name
 * the input. s->par.n_samples is 0 and s->par.input the first input; *fl gets
 * the layout (sn_spec_files_free it). With cfg->context = C > 0 each column
 * is the 2C + 1 frames around its frame in its own input, stacked
 * (sn_context_stack: s->F = (n_fft/2 + 1)(2C + 1)); a rank then also reads
 * the samples (or stored columns) of the C frames beyond each end of its
 * block. With a sink, s->mag stays NULL and the
 * frames go to the sink a piece at a time (only a piece is in memory). */
int sn_pstft_compute_files(sn_run *run, const char *const *inputs, int n, const sn_stft_cfg *cfg, sn_spec *s,
                           sn_spec_files *fl, const sn_frame_sink *sink);

/* Local. Free the layout; safe on a zeroed struct. */
void sn_spec_files_free(sn_spec_files *fl);

