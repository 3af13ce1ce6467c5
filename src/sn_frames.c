/* A rank's frames of V, in memory or read on demand (see sn_frames.h). */
#include "sn_frames.h"

#include <string.h>

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

void sn_context_span(int c, int64_t n_in, int64_t f0, int64_t n, int64_t *e0, int64_t *e1) {
  *e0 = f0 - c > 0 ? f0 - c : 0;
  *e1 = f0 + n + c < n_in ? f0 + n + c : n_in;
  if (n <= 0) *e1 = *e0;
}

void sn_context_stack(const float *ext, int64_t F, int c, int64_t n_in, int64_t f0, int64_t n, float *out) {
  int64_t e0, e1;
  sn_context_span(c, n_in, f0, n, &e0, &e1);
  const int64_t L = 2 * (int64_t)c + 1;
  for (int64_t t = 0; t < n; t++)
    for (int64_t j = 0; j < L; j++) {
      int64_t g = f0 + t + j - c;
      g = g < 0 ? 0 : g >= n_in ? n_in - 1 : g;
      memcpy(out + (t * L + j) * F, ext + (g - e0) * F, (size_t)F * sizeof(float));
    }
}

void sn_context_center(const float *W, int64_t F, int c, int64_t k, float *Wc) {
  const int64_t rows = F * (2 * (int64_t)c + 1);
  for (int64_t r = 0; r < k; r++) memcpy(Wc + r * F, W + r * rows + (int64_t)c * F, (size_t)F * sizeof(float));
}
