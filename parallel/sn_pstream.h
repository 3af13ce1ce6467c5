#pragma once
/* Streamed separation with a fixed dictionary (or the reconstruction of a
 * batch run with its learned W and H, cfg.H): each rank walks its frames
 * (sn_block_range) in blocks of a fixed number of frames; per block it reads
 * the samples, transforms them, runs exactly max_iter H updates per frame (no
 * loss-based stop: every frame's activations are independent once W is fixed,
 * so the result does not depend on the block size), masks, inverts and writes
 * each source's finished samples through the one distributed overlap-add,
 * block by block (sn_poverlap_blocks_* in sn_poverlap.h: the tail of a block,
 * n_fft - hop samples, is carried into the next; the tails that cross into a
 * neighbour's samples are exchanged once at the end), so memory is set by the
 * block, not by the recording. A multichannel input (sn_spec_out_channels of
 * the parameters > 1) is read and transformed channel by channel: the model's
 * V is the channels' magnitudes reduced by the channel rule
 * (sn_stft_reduce_add, as the whole-span spectrogram), each source's mask
 * (phase: sn_mask_phase_channel) applies to every channel's STFT, each channel
 * is overlap-added as a signal of its own, and the outputs are interleaved
 * C-channel WAVs. A checkpoint at block boundaries (every N
 * blocks, or every SN_STREAM_CKPT_SECONDS) lets a killed job resume at the
 * last checkpointed block, bit for bit. */
#include <stdint.h>

#include "sn_mask.h"
#include "sn_nmf.h"
#include "sn_pstft.h"
#include "sn_run.h"

/* Wall seconds between checkpoints by default: a block's checkpoint costs a
 * few collective HDF5 calls, too many for blocks of a fraction of a second. */
#define SN_STREAM_CKPT_SECONDS 10.0

typedef struct sn_stream_cfg {
  const char *input;           /* audio file (anything sn_audio_open reads) */
  const sn_stft_cfg *scfg;     /* --channel, --mono, --sr, --normalize, --wisdom */
  const sn_spec_params *par;   /* the spectrogram's parameters (sn_pstft_params) */
  const float *W;              /* F x k, ld F: every column fixed (the masks'; the H updates' without context) */
  int context;                 /* frames of context each side (learn --context): the H updates see each frame's
                                  2 context + 1 frames stacked (sn_context_stack) and use W_model */
  const float *W_model;        /* with context: F (2 context + 1) x k, ld F (2 context + 1); W is its centre
                                  block (sn_context_center) */
  sn_nmf_cfg ncfg;             /* beta, solver, regularization (scaled), tile; F (the model's rows), R = k */
  int64_t max_iter;            /* H updates per frame */
  int64_t block;               /* frames per block (>= 1) */
  sn_recon_kind recon;         /* SN_RECON_MASK or SN_RECON_PHASE */
  double mask_power;
  int n_src;                   /* sources: components idx[first[s] .. first[s+1]) */
  const int *first, *idx;
  char (*path)[4200];          /* n_src output WAV paths */
  int force;
  const char *checkpoint;      /* checkpoint file, or NULL */
  int64_t checkpoint_every;    /* > 0: a checkpoint every this many blocks; 0: after the first block that
                                  ends SN_STREAM_CKPT_SECONDS after the last checkpoint (and on a signal) */
  int resume;                  /* continue from the checkpoint */
  const float *H;              /* NULL: H from max_iter updates per frame; else the activations already learned
                                  (the batch path's reconstruction): k x n_local, ld k, this rank's frames
                                  (sn_block_range of N), used as they are: no V check, no loss, no checkpoint,
                                  and a signal does not stop it (there is nothing to resume from) */
  int64_t H_frames;            /* with H: the frames N that H was learned on (must be the stream's) */
} sn_stream_cfg;

typedef struct sn_stream_out {
  int64_t N;                   /* frames */
  int64_t n_blocks;            /* blocks of the rank with the most */
  double loss;                 /* beta-divergence D(V | W H) after the last update, summed over ranks */
} sn_stream_out;

/* Local. Frames per block for `seconds` of audio at the parameters p:
 * round(seconds * sample_rate / hop), at least 1. SN_ERR_USAGE ("CMD
 * --block-seconds: ...") when seconds is not finite and > 0, or the block is
 * shorter than n_fft samples. */
int sn_stream_block_frames(const char *cmd, double seconds, const sn_spec_params *p, int64_t *block, sn_err *e);

/* Collective. For --fix-W spec (FILE.h5[:/path], default /nmf/W): when the
 * dataset is (n_fft/2 + 1, k), made with the spectrogram parameters p, and
 * nonnegative, *W gets it (F x k, ld F; sn_free it), so that every column is
 * fixed and the run can stream; otherwise *W = NULL and SN_OK (the in-memory
 * path reads the file and reports what is wrong with it). Returns the agreed
 * code (a file that cannot be opened is left to the in-memory path too). */
int sn_stream_fixed_w(sn_run *run, const char *spec, const sn_spec_params *p, int64_t k, float **W);

/* Collective. Separate c->input into the c->n_src WAV files c->path (each the
 * input's length, float32, of sn_spec_out_channels(c->par) channels), writing
 * them under "PATH.stream" until the end.
 * With c->checkpoint, a checkpoint is written (atomically) after a block as
 * c->checkpoint_every says, and after the block in which a signal
 * (sn_signal_flag) came, which then stops the run with SN_ERR_INTERRUPTED,
 * leaving the checkpoint and the partial outputs; c->resume continues from
 * them (SN_ERR_INPUT when the checkpoint is missing, was made with another
 * dictionary, input, options or rank count (fingerprint), or a partial output
 * is missing). On success the outputs are committed and the checkpoint
 * removed; on any other failure both are removed. Returns the agreed code. */
int sn_stream_separate(sn_run *run, const sn_stream_cfg *c, sn_stream_out *out);
