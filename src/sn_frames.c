/* A rank's frames of V, in memory or read on demand (see sn_frames.h). */
#include "sn_frames.h"

sn_frames sn_frames_mem(const float *V, int64_t F, int64_t n) {
  sn_frames s = {F, n, V, NULL, NULL};
  return s;
}

const float *sn_frames_get(const sn_frames *s, int64_t j0, int64_t m, float *buf, sn_err *e) {
  if (s->V) return s->V + j0 * s->F;
  if (m <= 0) return buf;
  return s->read(s->ctx, j0, m, buf, e) == SN_OK ? buf : NULL;
}

float *sn_frames_buffer(const sn_frames *s, int64_t m, int *rc, sn_err *e) {
  *rc = SN_OK;
  if (s->V) return NULL;
  float *b = sn_calloc((size_t)(s->F * (m > 0 ? m : 1)) * sizeof(float), "frame buffer", e);
  if (!b) *rc = SN_ERR_NOMEM;
  return b;
}

int sn_frames_walk(const sn_frames *s, int64_t tile, sn_frames_tile_fn fn, void *ctx, sn_err *e) {
  int rc = SN_OK;
  float *buf = sn_frames_buffer(s, tile, &rc, e);
  for (int64_t j0 = 0; rc == SN_OK && j0 < s->n; j0 += tile) {
    int64_t t = s->n - j0 < tile ? s->n - j0 : tile;
    const float *v = sn_frames_get(s, j0, t, buf, e);
    rc = v ? fn(ctx, j0, t, v) : SN_ERR_IO;
  }
  sn_free(buf);
  return rc;
}
