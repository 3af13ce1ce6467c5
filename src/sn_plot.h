#pragma once
/* The overview picture of a separation (OUTDIR/overview.png), drawn in memory
 * as 8-bit RGB: the log-magnitude spectrogram on a log-frequency axis, the log
 * spectra of the columns of W, and the activations H, as the seed notebooks
 * plot them. Long recordings are pooled to a few thousand columns first: each
 * rank pools its own frames (sn_plot_pool), the pooled arrays are reduced on
 * rank 0, which draws. No MPI here. */
#include <stdint.h>

#include "sn_base.h"

/* Pixel rows of the spectrogram panel and widths of the pooled arrays. */
#define SN_PLOT_ROWS 360
#define SN_PLOT_VCOLS 1100
#define SN_PLOT_HCOLS 760

enum { SN_POOL_MAX = 0, SN_POOL_MEAN = 1 };

/* Local. Frequency bins [*lo, *hi] drawn by pixel row r (0 = bottom) of a
 * log-frequency axis of `rows` rows over F bins (bin 0 shares row 0). */
void sn_plot_row_bins(int64_t F, int rows, int r, int64_t *lo, int64_t *hi);

/* Local. Pool n frames [start, start + n) of a global N-frame block A (rows_in
 * x n, ld rows_in) into P columns (column j covers frames
 * [j*N/P, (j+1)*N/P)): out is rows_out x P (column-major, ld rows_out), where
 * rows_out = rows_in when bins == 0, else SN_PLOT_ROWS log-frequency rows
 * (max over the row's bins). mode SN_POOL_MAX takes the max over frames
 * (out must start at 0 = the identity for nonnegative data), SN_POOL_MEAN
 * adds the sum (divide by sn_plot_pool_count after the reduction). */
void sn_plot_pool(const float *A, int64_t rows_in, int64_t n, int64_t start, int64_t N, int P,
                  int bins, int mode, float *out);

/* Local. Number of frames in pooled column j. */
int64_t sn_plot_pool_count(int64_t N, int P, int j);

typedef struct sn_plot_in {
  int64_t F, N, R;
  double sample_rate;
  int hop;
  int PV, PH;          /* pooled columns of V and H */
  const float *V;      /* SN_PLOT_ROWS x PV (ld SN_PLOT_ROWS), pooled magnitude */
  const float *W;      /* F x R (ld F) */
  const float *H;      /* R x PH (ld R), pooled activations */
  const char *title;   /* short text for the top line (ASCII) */
  /* optional named sources: component r belongs to source src_of[r] (-1:
   * none), named src_name[s]; NULL draws component numbers only */
  const int *src_of;
  const char *const *src_name;
} sn_plot_in;

/* Local. Draw the overview into a new RGB buffer (*rgb, sn_free it) of
 * *w x *h pixels. SN_ERR_NOMEM on failure. */
int sn_plot_overview(const sn_plot_in *in, unsigned char **rgb, int *w, int *h, sn_err *e);
