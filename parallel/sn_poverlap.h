#pragma once
/* The distributed overlap-add: the one inverse STFT across ranks, used by
 * istft, separate, Griffin-Lim and the streamed separation. Frames are split
 * over ranks in contiguous blocks (sn_block_range). Output samples are owned
 * frame-aligned (sn_poverlap_own): rank r owns [own(r), own(r+1)), where
 * own(r) is where its first frame starts (clamped to [0, length)). Each owned
 * sample is normalised by the window sum-square of all N frames, as
 * librosa.istft (multiplied by the reciprocal, 0 where the sum is ~0).
 * Two ways to run it:
 * - whole span (sn_poverlap_*): a rank inverts all its frames into a buffer,
 *   sends the parts other ranks own to them (MPI_Alltoallv), normalises, and
 *   (for an STFT that follows) gets back the samples of its frames that
 *   neighbours own: a second halo exchange;
 * - block by block (sn_poverlap_blocks_*): a rank adds a block of frames at a
 *   time and gets the samples that are final; the head of its owned samples
 *   (that earlier ranks' frames reach) and its last frames' tail are carried
 *   to the end and exchanged once, so memory is set by the block. */
#include <stdint.h>

#include "sn_pstft.h"
#include "sn_run.h"
#include "sn_stft.h"

/* Local. First owned output sample of rank r (r <= 0: 0; r >= size: length)
 * when N frames of par make a signal of `length` samples over size ranks. */
int64_t sn_poverlap_own(const sn_spec_params *par, int64_t N, int64_t length, int size, int r);

/* Local. Normalise n accumulated samples acc starting at output sample y0 by
 * the window sum-square of N frames: out[i] = acc[i] * (1 / wss) (0 where wss
 * <= FLT_MIN). wss: n floats of scratch. out may be acc. */
void sn_poverlap_normalise(const sn_stft_plan *plan, const sn_spec_params *par, int64_t N, int64_t y0, int64_t n,
                           const float *acc, float *wss, float *out);

/* ---- the whole span ---- */

/* Geometry, plan and buffers of a distributed overlap-add. Opaque. */
typedef struct sn_poverlap sn_poverlap;

/* Collective. Plan (sn_pstft_plan, without wisdom: reproducible bits) and
 * lay out the overlap-add of N frames (this rank's block of sn_block_range)
 * into a signal of `length` samples (librosa.istft(..., length=length)).
 * Returns the agreed code; *p is NULL on error. */
int sn_poverlap_create(sn_run *run, const sn_spec_params *par, int64_t N, int64_t length, sn_poverlap **p);

/* Local. Free; *p becomes NULL. Safe on NULL. */
void sn_poverlap_destroy(sn_poverlap **p);

/* Local. The plan (for local STFTs of the rank's frames) and the parameters. */
sn_stft_plan *sn_poverlap_plan(sn_poverlap *p);
const sn_spec_params *sn_poverlap_params(const sn_poverlap *p);

/* Local. This rank's frames [*start, *start + *n_local), and its owned output
 * samples [*y0, *y0 + *ny). */
void sn_poverlap_frames(const sn_poverlap *p, int64_t *start, int64_t *n_local);
void sn_poverlap_owned(const sn_poverlap *p, int64_t *y0, int64_t *ny);

/* Local. Zero the accumulation buffer (start of an inverse). */
void sn_poverlap_clear(sn_poverlap *p);

/* Local. Overlap-add nf local frames starting at local frame t0 (0-based in the
 * rank's block) of complex STFT X (interleaved (re, im), F x nf, ld F). */
int sn_poverlap_add(sn_poverlap *p, int64_t t0, int64_t nf, const float *X, sn_err *e);

/* Collective. Finish the inverse: tails to their owners (MPI_Alltoallv), sum,
 * normalise (as sn_poverlap_normalise). With halo != 0 also fetch the samples of
 * this rank's frames owned by others (second exchange, sn_poverlap_halo), so
 * that the signal covers every sample the rank's frames need (zeros outside
 * [0, length)). The finished buffer becomes the "signal" buffer and the old
 * signal buffer the next accumulation buffer (double buffering: Griffin-Lim's
 * next inverse accumulates while the current signal is still transformed).
 * Returns the agreed code. */
int sn_poverlap_finish(sn_run *run, sn_poverlap *p, int halo);

/* Collective. Fetch again the samples of this rank's frames that other ranks
 * own into the signal buffer (after a finish without halo). Returns the
 * agreed code. */
int sn_poverlap_halo(sn_run *run, sn_poverlap *p);

/* Local. The owned samples (ny floats) of the signal after sn_poverlap_finish. */
float *sn_poverlap_owned_ptr(sn_poverlap *p);

/* Local. Pointer to the (padded) signal sample at which local frame 0 starts:
 * frame t covers [ptr + t*hop, ptr + t*hop + n_fft). Complete after
 * sn_poverlap_finish(halo=1). For a mixture held by the caller, the span is
 * sn_poverlap_span (first padded-signal index, count). */
float *sn_poverlap_signal(sn_poverlap *p);
void sn_poverlap_span(const sn_poverlap *p, int64_t *b0, int64_t *lenb);

/* Collective. Inverse STFT of the complex blocks s->cplx (the istft command):
 * the signal of `length` samples (librosa.istft(..., length=length)); this
 * rank gets its owned samples [*y0, *y0 + *ny) in *y (allocated, sn_free it).
 * Returns the agreed code (*y NULL on error). */
int sn_poverlap_istft(sn_run *run, const sn_spec *s, int64_t length, int64_t *y0, int64_t *ny, float **y);

/* ---- block by block ---- */

/* Geometry of a streamed overlap-add and its end buffers. Opaque. */
typedef struct sn_poverlap_blocks sn_poverlap_blocks;

/* Collective. Lay out the overlap-add of N frames of par into `length`
 * samples, walked by every rank in blocks of `block` frames of its own
 * (sn_block_range), inverted with plan (kept by the caller). Returns the
 * agreed code; *pb NULL on error. */
int sn_poverlap_blocks_create(sn_run *run, const sn_spec_params *par, sn_stft_plan *plan, int64_t N,
                              int64_t length, int64_t block, sn_poverlap_blocks **pb);

/* Local. Free; *pb becomes NULL. Safe on NULL. */
void sn_poverlap_blocks_destroy(sn_poverlap_blocks **pb);

/* Local. C = n_fft - hop: the floats a signal carries from block to block
 * (its tail) and holds to the end (its head, <= C): the caller keeps both per
 * signal (C floats each), e.g. in a checkpoint. */
int64_t sn_poverlap_blocks_carry(const sn_poverlap_blocks *pb);

/* Local. The blocks of this rank (ceil(n_local / block)), and block b's first
 * global frame *t0 and frame count *nb (0 for b past this rank's blocks). */
int64_t sn_poverlap_blocks_count(const sn_poverlap_blocks *pb);
void sn_poverlap_blocks_frames(const sn_poverlap_blocks *pb, int64_t b, int64_t *t0, int64_t *nb);

/* Local. The owned samples [*lo, *hi) that become final with block b (empty:
 * lo == hi), given the blocks before b have passed (sn_poverlap_blocks_pass). */
void sn_poverlap_blocks_final(const sn_poverlap_blocks *pb, int64_t b, int64_t *lo, int64_t *hi);

/* Local. Block b has passed for every signal (or was done before a resumed
 * checkpoint): the next block's final samples start after its own. */
void sn_poverlap_blocks_pass(sn_poverlap_blocks *pb, int64_t b);

/* Local. Overlap-add block b (Y: its nb complex frames, F x nb interleaved,
 * ld F) of one signal whose carry and head (C floats each) it updates; out
 * gets the normalised final samples [lo, hi) of sn_poverlap_blocks_final.
 * Returns SN_OK or the failure of sn_istft_exec. */
int sn_poverlap_blocks_add(sn_poverlap_blocks *pb, int64_t b, const float *Y, float *carry, float *head, float *out,
                           sn_err *e);

/* Collective. Prepare the end (after every block has passed): the end
 * buffers and the counts of the tail exchange. Returns the agreed code. */
int sn_poverlap_blocks_end_prepare(sn_run *run, sn_poverlap_blocks *pb);

/* Collective. The end of one signal: its tail goes to the ranks whose heads
 * it reaches (MPI_Alltoallv), and this rank's last owned samples are final:
 * *body: [*yb, *yb + *nbody) (the rest after the last block: this rank's own
 * tail where it reaches, else 0), *head: [*yh, *yh + *nhead). Both point into
 * pb's end buffers, valid until the next call. Returns the agreed code. */
int sn_poverlap_blocks_end(sn_run *run, sn_poverlap_blocks *pb, const float *carry, float *head, const float **body,
                           int64_t *yb, int64_t *nbody, const float **headout, int64_t *yh, int64_t *nhead);
