/* The overview picture (see sn_plot.h). */
#include "sn_plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void sn_plot_row_bins(int64_t F, int rows, int r, int64_t *lo, int64_t *hi) {
  if (F <= 2) {
    *lo = 0;
    *hi = F - 1;
    return;
  }
  double top = (double)(F - 1);
  double p0 = pow(top, (double)r / rows), p1 = pow(top, (double)(r + 1) / rows);
  int64_t a = (int64_t)floor(p0), b = (int64_t)ceil(p1) - 1;
  if (r == 0) a = 0;
  if (b < a) b = a;
  if (a > F - 1) a = F - 1;
  if (b > F - 1) b = F - 1;
  *lo = a;
  *hi = b;
}

int64_t sn_plot_pool_count(int64_t N, int P, int j) {
  /* frames g with floor(g * P / N) == j: g in [ceil(j N / P), ceil((j+1) N / P)) */
  int64_t a = ((int64_t)j * N + P - 1) / P, b = ((int64_t)(j + 1) * N + P - 1) / P;
  return b - a;
}

void sn_plot_pool(const float *A, int64_t rows_in, int64_t n, int64_t start, int64_t N, int P,
                  int bins, int mode, float *out) {
  int64_t ro = bins ? SN_PLOT_ROWS : rows_in;
  int64_t lo[SN_PLOT_ROWS], hi[SN_PLOT_ROWS];
  if (bins)
    for (int r = 0; r < SN_PLOT_ROWS; r++) sn_plot_row_bins(rows_in, SN_PLOT_ROWS, r, &lo[r], &hi[r]);
  for (int64_t t = 0; t < n; t++) {
    int64_t j = (start + t) * P / N;
    const float *a = A + t * rows_in;
    float *o = out + j * ro;
    for (int64_t r = 0; r < ro; r++) {
      float v;
      if (bins) {
        v = a[lo[r]];
        for (int64_t k = lo[r] + 1; k <= hi[r]; k++)
          if (a[k] > v) v = a[k];
      } else {
        v = a[r];
      }
      if (mode == SN_POOL_MAX) {
        if (v > o[r]) o[r] = v;
      } else {
        o[r] += v;
      }
    }
  }
}

/* ---- drawing ---- */

typedef struct {
  unsigned char *px;
  int w, h;
} sn_canvas;

static void put(sn_canvas *c, int x, int y, const unsigned char rgb[3]) {
  if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
  memcpy(c->px + ((size_t)y * c->w + x) * 3, rgb, 3);
}

static void rect(sn_canvas *c, int x0, int y0, int w, int h, const unsigned char rgb[3]) {
  for (int y = y0; y < y0 + h; y++)
    for (int x = x0; x < x0 + w; x++) put(c, x, y, rgb);
}

static void frame(sn_canvas *c, int x0, int y0, int w, int h, const unsigned char rgb[3]) {
  rect(c, x0 - 1, y0 - 1, w + 2, 1, rgb);
  rect(c, x0 - 1, y0 + h, w + 2, 1, rgb);
  rect(c, x0 - 1, y0 - 1, 1, h + 2, rgb);
  rect(c, x0 + w, y0 - 1, 1, h + 2, rgb);
}

/* inferno-like colour map: t in [0, 1] */
static void cmap(double t, unsigned char rgb[3]) {
  static const double a[][3] = {{0, 0, 4},       {31, 12, 72},   {85, 15, 109},  {136, 34, 106},
                                {186, 54, 85},   {227, 89, 51},  {249, 140, 10}, {249, 201, 50},
                                {252, 255, 164}};
  const int n = (int)(sizeof a / sizeof a[0]) - 1;
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  double s = t * n;
  int i = (int)s;
  if (i >= n) i = n - 1;
  double f = s - i;
  for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)lround(a[i][k] + f * (a[i + 1][k] - a[i][k]));
}

/* 5x7 glyphs, one byte per column, bit 0 at the top (the classic public-domain
 * LCD font); lower case is drawn as upper case. */
static const char sn_glyph_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ .,:-()/=+_%";
static const unsigned char sn_glyphs[][5] = {
    {0x3E, 0x51, 0x49, 0x45, 0x3E}, {0x00, 0x42, 0x7F, 0x40, 0x00}, {0x42, 0x61, 0x51, 0x49, 0x46},
    {0x21, 0x41, 0x45, 0x4B, 0x31}, {0x18, 0x14, 0x12, 0x7F, 0x10}, {0x27, 0x45, 0x45, 0x45, 0x39},
    {0x3C, 0x4A, 0x49, 0x49, 0x30}, {0x01, 0x71, 0x09, 0x05, 0x03}, {0x36, 0x49, 0x49, 0x49, 0x36},
    {0x06, 0x49, 0x49, 0x29, 0x1E}, {0x7E, 0x11, 0x11, 0x11, 0x7E}, {0x7F, 0x49, 0x49, 0x49, 0x36},
    {0x3E, 0x41, 0x41, 0x41, 0x22}, {0x7F, 0x41, 0x41, 0x22, 0x1C}, {0x7F, 0x49, 0x49, 0x49, 0x41},
    {0x7F, 0x09, 0x09, 0x09, 0x01}, {0x3E, 0x41, 0x49, 0x49, 0x7A}, {0x7F, 0x08, 0x08, 0x08, 0x7F},
    {0x00, 0x41, 0x7F, 0x41, 0x00}, {0x20, 0x40, 0x41, 0x3F, 0x01}, {0x7F, 0x08, 0x14, 0x22, 0x41},
    {0x7F, 0x40, 0x40, 0x40, 0x40}, {0x7F, 0x02, 0x0C, 0x02, 0x7F}, {0x7F, 0x04, 0x08, 0x10, 0x7F},
    {0x3E, 0x41, 0x41, 0x41, 0x3E}, {0x7F, 0x09, 0x09, 0x09, 0x06}, {0x3E, 0x41, 0x51, 0x21, 0x5E},
    {0x7F, 0x09, 0x19, 0x29, 0x46}, {0x46, 0x49, 0x49, 0x49, 0x31}, {0x01, 0x01, 0x7F, 0x01, 0x01},
    {0x3F, 0x40, 0x40, 0x40, 0x3F}, {0x1F, 0x20, 0x40, 0x20, 0x1F}, {0x3F, 0x40, 0x38, 0x40, 0x3F},
    {0x63, 0x14, 0x08, 0x14, 0x63}, {0x07, 0x08, 0x70, 0x08, 0x07}, {0x61, 0x51, 0x49, 0x45, 0x43},
    {0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x60, 0x60, 0x00, 0x00}, {0x00, 0x50, 0x30, 0x00, 0x00},
    {0x00, 0x36, 0x36, 0x00, 0x00}, {0x08, 0x08, 0x08, 0x08, 0x08}, {0x00, 0x1C, 0x22, 0x41, 0x00},
    {0x00, 0x41, 0x22, 0x1C, 0x00}, {0x20, 0x10, 0x08, 0x04, 0x02}, {0x14, 0x14, 0x14, 0x14, 0x14},
    {0x08, 0x08, 0x3E, 0x08, 0x08}, {0x40, 0x40, 0x40, 0x40, 0x40}, {0x23, 0x13, 0x08, 0x64, 0x62}};

static const unsigned char sn_black[3] = {0, 0, 0}, sn_white[3] = {255, 255, 255},
                           sn_grey[3] = {110, 110, 110};

/* Draw text with its top-left corner at (x, y), glyphs scaled by s. Returns the width. */
static int text(sn_canvas *c, int x, int y, int s, const char *str, const unsigned char rgb[3]) {
  int x0 = x;
  for (const char *p = str; *p; p++) {
    char ch = *p;
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
    const char *q = strchr(sn_glyph_chars, ch);
    if (q && ch) {
      const unsigned char *g = sn_glyphs[q - sn_glyph_chars];
      for (int col = 0; col < 5; col++)
        for (int row = 0; row < 7; row++)
          if (g[col] >> row & 1) rect(c, x + col * s, y + row * s, s, s, rgb);
    }
    x += 6 * s;
  }
  return x - x0;
}

static int text_width(int s, const char *str) { return (int)strlen(str) * 6 * s; }

static double db(double v, double ref) {
  if (!(ref > 0)) return 0.0;
  double d = 20.0 * log10((v > 1e-30 ? v : 1e-30) / ref);
  return 1.0 + (d < -80.0 ? -80.0 : d) / 80.0;
}

/* "nice" tick step of about (range / n) */
static double nice_step(double range, int n) {
  double raw = range / n, p = pow(10.0, floor(log10(raw)));
  double m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void time_ticks(sn_canvas *c, int x0, int y0, int w, double seconds) {
  if (!(seconds > 0)) return;
  double st = nice_step(seconds, 8);
  for (double t = 0; t <= seconds + 1e-9; t += st) {
    int x = x0 + (int)lround(t / seconds * (w - 1));
    rect(c, x, y0, 1, 5, sn_black);
    char b[32];
    if (st >= 1) snprintf(b, sizeof b, "%.0f", t);
    else snprintf(b, sizeof b, "%.*f", st >= 0.1 ? 1 : 2, t);
    text(c, x - text_width(1, b) / 2, y0 + 8, 1, b, sn_black);
  }
}

/* log-frequency ticks at 1, 2, 5 x 10^k Hz */
static void freq_ticks(sn_canvas *c, int x0, int y0, int h, int64_t F, double sr) {
  if (F <= 2 || !(sr > 0)) return;
  double nfft = 2.0 * (F - 1), top = (double)(F - 1);
  for (double dec = 10; dec <= sr; dec *= 10)
    for (int m = 1; m <= 5; m += (m == 1 ? 1 : 3)) {
      double f = dec * m, pos = f * nfft / sr; /* bin position */
      if (pos < 1.0 || pos > top) continue;
      double r = log(pos) / log(top) * SN_PLOT_ROWS; /* row from the bottom */
      int y = y0 + h - 1 - (int)lround(r * h / SN_PLOT_ROWS);
      rect(c, x0 - 5, y, 5, 1, sn_black);
      char b[32];
      if (f >= 1000) snprintf(b, sizeof b, "%gK", f / 1000);
      else snprintf(b, sizeof b, "%g", f);
      text(c, x0 - 8 - text_width(1, b), y - 3, 1, b, sn_black);
    }
}

int sn_plot_overview(const sn_plot_in *in, unsigned char **rgb, int *w_out, int *h_out, sn_err *e) {
  const int W = in->src_name ? 1400 : 1240, Hh = 920; /* room for source names right of H */
  *rgb = NULL;
  sn_canvas c = {sn_calloc((size_t)W * Hh * 3, "overview picture", e), W, Hh};
  if (!c.px) return SN_ERR_NOMEM;
  memset(c.px, 255, (size_t)W * Hh * 3);
  const int64_t R = in->R;
  double seconds = in->sample_rate > 0 ? (double)in->N * in->hop / in->sample_rate : (double)in->N;
  unsigned char col[3];
  if (in->title) text(&c, 20, 10, 2, in->title, sn_black);

  /* panel A: spectrogram */
  const int ax = 90, ay = 64, aw = SN_PLOT_VCOLS, ah = SN_PLOT_ROWS;
  text(&c, ax, ay - 16, 1, "LOG-MAGNITUDE SPECTROGRAM (DB, 80 DB RANGE), LOG FREQUENCY (HZ) / TIME (S)", sn_black);
  double vmax = 0;
  for (int64_t i = 0; i < (int64_t)SN_PLOT_ROWS * in->PV; i++)
    if (in->V[i] > vmax) vmax = in->V[i];
  for (int x = 0; x < aw; x++) {
    int j = (int)((int64_t)x * in->PV / aw);
    for (int y = 0; y < ah; y++) {
      int r = ah - 1 - y; /* row from the bottom */
      cmap(db(in->V[(int64_t)j * SN_PLOT_ROWS + r], vmax), col);
      put(&c, ax + x, ay + y, col);
    }
  }
  frame(&c, ax, ay, aw, ah, sn_black);
  freq_ticks(&c, ax, ay, ah, in->F, in->sample_rate);
  time_ticks(&c, ax, ay + ah + 1, aw, seconds);

  /* panel B: W, log spectra, one column band per component */
  const int bx = 90, by = 530, bw = 300, bh = SN_PLOT_ROWS;
  text(&c, bx, by - 16, 1, "W: COMPONENT SPECTRA (DB)", sn_black);
  for (int64_t k = 0; k < R; k++) {
    const float *wk = in->W + k * in->F;
    double ref = 0;
    for (int64_t i = 0; i < in->F; i++)
      if (wk[i] > ref) ref = wk[i];
    int x0 = bx + (int)(k * bw / R), x1 = bx + (int)((k + 1) * bw / R);
    for (int y = 0; y < bh; y++) {
      int64_t lo, hi;
      sn_plot_row_bins(in->F, SN_PLOT_ROWS, bh - 1 - y, &lo, &hi);
      double v = wk[lo];
      for (int64_t i = lo + 1; i <= hi; i++)
        if (wk[i] > v) v = wk[i];
      cmap(db(v, ref), col);
      for (int x = x0; x < x1; x++) put(&c, x, by + y, col);
    }
    if (R > 1 && k > 0) rect(&c, x0, by, 1, bh, sn_grey);
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)k);
    if (R <= 40 || k % 5 == 0) text(&c, (x0 + x1) / 2 - text_width(1, b) / 2, by + bh + 6, 1, b, sn_black);
  }
  frame(&c, bx, by, bw, bh, sn_black);
  freq_ticks(&c, bx, by, bh, in->F, in->sample_rate);
  if (in->src_of && in->src_name) {
    /* each named source: a bracket under its run of columns, and its name */
    for (int64_t k0 = 0; k0 < R;) {
      int64_t k1 = k0 + 1;
      while (k1 < R && in->src_of[k1] == in->src_of[k0]) k1++;
      int x0 = bx + (int)(k0 * bw / R), x1 = bx + (int)(k1 * bw / R);
      if (k0 > 0) rect(&c, x0, by, 2, bh, sn_black);
      if (in->src_of[k0] >= 0) {
        const char *nm = in->src_name[in->src_of[k0]];
        rect(&c, x0 + 1, by + bh + 16, x1 - x0 - 2, 1, sn_black);
        text(&c, (x0 + x1) / 2 - text_width(1, nm) / 2, by + bh + 20, 1, nm, sn_black);
      }
      k0 = k1;
    }
  } else {
    text(&c, bx + bw / 2 - text_width(1, "COMPONENT") / 2, by + bh + 18, 1, "COMPONENT", sn_black);
  }

  /* panel C: H, one row band per component (each scaled to its max) */
  const int cx = 440, cy = 530, cw = SN_PLOT_HCOLS, ch = SN_PLOT_ROWS;
  text(&c, cx, cy - 16, 1, "H: ACTIVATIONS (EACH ROW SCALED TO ITS MAX) / TIME (S)", sn_black);
  for (int64_t k = 0; k < R; k++) {
    double ref = 0;
    for (int j = 0; j < in->PH; j++)
      if (in->H[k + (int64_t)j * R] > ref) ref = in->H[k + (int64_t)j * R];
    int y0 = cy + (int)(k * ch / R), y1 = cy + (int)((k + 1) * ch / R);
    for (int x = 0; x < cw; x++) {
      int j = (int)((int64_t)x * in->PH / cw);
      double v = ref > 0 ? in->H[k + (int64_t)j * R] / ref : 0;
      cmap(v, col);
      for (int y = y0; y < y1; y++) put(&c, cx + x, y, col);
    }
    if (R > 1 && k > 0) rect(&c, cx, y0, cw, 1, sn_grey);
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)k);
    if (R <= 40 || k % 5 == 0) text(&c, cx - 6 - text_width(1, b), (y0 + y1) / 2 - 3, 1, b, sn_black);
  }
  frame(&c, cx, cy, cw, ch, sn_black);
  time_ticks(&c, cx, cy + ch + 1, cw, seconds);
  for (int64_t k0 = 0; in->src_of && in->src_name && k0 < R;) {
    /* each named source's band of rows: a bar and its name to the right */
    int64_t k1 = k0 + 1;
    while (k1 < R && in->src_of[k1] == in->src_of[k0]) k1++;
    int y0 = cy + (int)(k0 * ch / R), y1 = cy + (int)(k1 * ch / R);
    if (k0 > 0) rect(&c, cx, y0 - 1, cw, 2, sn_black);
    if (in->src_of[k0] >= 0) {
      rect(&c, cx + cw + 4, y0 + 1, 2, y1 - y0 - 2, sn_black);
      text(&c, cx + cw + 10, (y0 + y1) / 2 - 3, 1, in->src_name[in->src_of[k0]], sn_black);
    }
    k0 = k1;
  }

  /* colour bar */
  for (int x = 0; x < 200; x++) {
    cmap(x / 199.0, col);
    rect(&c, ax + aw - 200 + x, ay - 30, 1, 8, col);
  }
  text(&c, ax + aw - 200 - text_width(1, "-80 DB") - 4, ay - 30, 1, "-80 DB", sn_black);
  text(&c, ax + aw + 4, ay - 30, 1, "0", sn_black);
  (void)sn_white;
  *rgb = c.px;
  *w_out = W;
  *h_out = Hh;
  return SN_OK;
}
