#pragma once
/* A rank's frames of V (F x n, column-major, ld F), either in memory or read
 * on demand: the online solver, the NMF starts and the checks walk V through
 * this in tiles, so a V too large to hold can stay in a file
 * (io/sn_vcache.h) while only a tile or a mini-batch is in memory. Local. */
#include <stdint.h>

#include "sn_base.h"

/* Frames [j0, j0 + n) of this rank's block into buf (F x n, ld F). */
typedef int (*sn_frames_read_fn)(void *ctx, int64_t j0, int64_t n, float *buf, sn_err *e);

typedef struct sn_frames {
  int64_t F, n;            /* bins; this rank's frames */
  const float *V;          /* the whole block in memory, or NULL: then read */
  sn_frames_read_fn read;
  void *ctx;
} sn_frames;

/* Frames per tile of the walks over a source (the buffer callers give to
 * sn_frames_get holds F x SN_FRAMES_TILE floats). */
#define SN_FRAMES_TILE 256

/* Local. A source over a block in memory. */
sn_frames sn_frames_mem(const float *V, int64_t F, int64_t n);

/* Local. Frames [j0, j0 + m) (0 <= j0, j0 + m <= s->n): a pointer into the
 * block in memory, else buf (room for F x m floats) filled by read. NULL on a
 * read error (e set; the caller agrees). */
const float *sn_frames_get(const sn_frames *s, int64_t j0, int64_t m, float *buf, sn_err *e);

/* Local. fn(ctx, j0, t, v) for each tile of at most `tile` frames of s in
 * order (v: F x t, ld F), through a buffer of its own when s reads; stops at
 * the first non-zero return of fn and returns it, or the read's error
 * (SN_ERR_NOMEM when the buffer cannot be had). */
typedef int (*sn_frames_tile_fn)(void *ctx, int64_t j0, int64_t t, const float *v);
int sn_frames_walk(const sn_frames *s, int64_t tile, sn_frames_tile_fn fn, void *ctx, sn_err *e);

/* Local. A buffer for sn_frames_get of up to m frames: NULL (nothing to free)
 * for a block in memory; else F x m floats (sn_free it). *rc: SN_ERR_NOMEM
 * when the allocation fails, else SN_OK. */
float *sn_frames_buffer(const sn_frames *s, int64_t m, int *rc, sn_err *e);

/* Temporal context (learn --context C): the model's column for frame t is the
 * 2C + 1 frames t - C .. t + C of one input stacked (F (2C + 1) rows, block j
 * = frame t + j - C), a frame before the input's first or after its last
 * taken as that first or last frame. The frames [*e0, *e1) of an input of
 * n_in frames that columns [f0, f0 + n) read. Local. */
void sn_context_span(int c, int64_t n_in, int64_t f0, int64_t n, int64_t *e0, int64_t *e1);

/* The stacked columns [f0, f0 + n) (out: F (2c + 1) x n, ld F (2c + 1)) from
 * ext, the frames [e0, e1) of sn_context_span (F x (e1 - e0), ld F). Local. */
void sn_context_stack(const float *ext, int64_t F, int c, int64_t n_in, int64_t f0, int64_t n, float *out);

/* The centre frame's block of a model dictionary W (F (2c + 1) x k, ld
 * F (2c + 1)) into Wc (F x k, ld F): what a source's columns say of the frame
 * itself, the masks' dictionary. Local. */
void sn_context_center(const float *W, int64_t F, int c, int64_t k, float *Wc);
