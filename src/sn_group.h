#pragma once
/* Automatic grouping of NMF components into S sources with no dictionaries
 * (separate -k R --sources S): each component is described by the timbre of
 * its W column (cepstrum of its mel spectrum, as nussl's timbre clustering
 * and Spiertz & Gnann 2009) and/or by how its row of H moves with the other
 * rows (correlation over frames), and the R descriptions are clustered by a
 * deterministic k-means. No MPI here: the H statistic is a sum over frames
 * (sn_group_hstat) that the caller adds up over the ranks once. */
#include <stdint.h>

#include "sn_base.h"

/* What the components are grouped by. */
typedef enum {
  SN_GROUP_TIMBRE = 0, /* cepstra of the W columns */
  SN_GROUP_COACT = 1,  /* correlation of the H rows */
  SN_GROUP_BOTH = 2,   /* the spectral flatness of the W columns and the
                          correlation of the H rows */
  SN_GROUP_TIERED = 3, /* both into two groups; the less flat one split into
                          S - 1 by the log spectral centroid of W (equal to
                          both for S <= 2) */
  SN_GROUP_PEAKS = 4,  /* the components split in two by the log
                          peakiness of W (1-D k-means), the peakier
                          (harmonic) group split into S - 1 by the log
                          spectral centroid below 1 kHz (bass below piano);
                          S = 1 (or fewer peaky components than S - 1):
                          both. Best on validation mixtures for S = 3
                          (jobs/quality_grouping.py) and for drums against
                          one pitched instrument at S = 2 */
  SN_GROUP_NCUT = 5,   /* normalized cuts of the affinity of
                          sn_group_affinity (sn_group_ncut2), S > 2 by
                          repeated cuts (sn_group_ncut_split). Best for
                          drums against drums at S = 2 (kick + snare,
                          jobs/quality_grouping_kits.py) */
  SN_GROUP_AUTO = 6    /* the default: ncut for S = 2, peaks otherwise
                          (sn_group_resolve) */
} sn_group_method;

/* Local. "timbre" | "coact" | "both" | "tiered" | "peaks" | "ncut" | "auto" -> *m; SN_ERR_USAGE otherwise. */
int sn_group_method_parse(const char *s, sn_group_method *m, sn_err *e);
const char *sn_group_method_name(sn_group_method m);

/* Local. The method auto stands for with S sources (ncut for S = 2, else
 * peaks); any other method is itself. */
sn_group_method sn_group_resolve(sn_group_method m, int S);

/* Number of doubles of the H statistic for R components: R*R + R. */
int64_t sn_group_hstat_len(int64_t R);

/* Local. Add the frames of a block of H (R x n, column-major, ld R) to the H
 * statistic stat (sn_group_hstat_len(R) doubles: the Gram H H^T, R x R
 * column-major, of which only the upper triangle i <= j is formed, then the
 * R row sums), accumulated in double. The statistic
 * of all frames is the sum of the blocks' (an allreduce over ranks). */
void sn_group_hstat(int64_t R, int64_t n, const float *H, double *stat);

/* Local. Log spectral flatness of each column of W (F x R, ld F) into lf[R]:
 * mean over bins of log(w + floor) minus log of the mean of w, floor =
 * 1e-12 of the largest value of W: near 0 for a flat (noisy, drum-like)
 * column, very negative for a few harmonics. A zero column gets 0. */
void sn_group_flatness(int64_t F, int64_t R, const float *W, double *lf);

/* Local. Correlation (Pearson, over the N frames) of the rows of H from the
 * complete statistic: C (R x R, column-major). A row of zero variance
 * correlates 0 with the others and 1 with itself. */
void sn_group_hcorr(int64_t R, int64_t N, const double *stat, double *C);

/* Timbre features of a W column: mel bands, cepstral coefficients 1..n_ceps-1. */
#define SN_GROUP_MELS 40
#define SN_GROUP_CEPS 13
#define SN_GROUP_FLOOR 1e-4 /* log floor: floor / n_mels of a column's band total */

/* Local. Timbre features of the R columns of W (F x R, ld F, F = n_fft/2 + 1,
 * nonnegative) into X (R x (SN_GROUP_CEPS - 1), row-major: component r's
 * features at X + r * (SN_GROUP_CEPS - 1)): the column through the Slaney mel
 * filterbank (SN_GROUP_MELS bands, 0 to sr/2), divided by its band total
 * (the level drops out), log(b + SN_GROUP_FLOOR / SN_GROUP_MELS), DCT-II
 * (orthonormal), coefficients 1 .. SN_GROUP_CEPS - 1. A zero column gets the
 * features of a flat spectrum. SN_ERR_INPUT (bad sr, n_fft), SN_ERR_NOMEM. */
int sn_group_timbre(int64_t F, int64_t R, const float *W, double sr, int n_fft, double *X, sn_err *e);

/* Local. Deterministic k-means of n points of d coordinates (X row-major,
 * point i at X + i*d) into k clusters, 1 <= k <= n: n_restart runs of
 * k-means++ seeding (splitmix64 stream of seed and the run number; a point
 * at distance 0 from every centre is never drawn while another is left) then
 * Lloyd's iterations (nearest centre, ties to the lower cluster; an emptied
 * cluster takes the point farthest from its centre); the run of lowest
 * inertia wins (ties: the earlier run). label[n] gets 0..k-1, numbered in
 * order of first appearance (point 0 is in cluster 0), every cluster
 * non-empty; *inertia (if not NULL) the sum of squared distances.
 * SN_ERR_INPUT (k outside 1..n, n_restart < 1), SN_ERR_NOMEM. */
int sn_kmeans(int64_t n, int d, const double *X, int k, int n_restart, uint64_t seed, int *label, double *inertia,
              sn_err *e);

/* Local. The reference for sn_kmeans on small n: the partition of least
 * inertia over all k^n labellings with k non-empty clusters (ties: the first
 * in lexicographic order of canonical labels), by enumeration. n <= 16.
 * Same outputs and errors as sn_kmeans. */
int sn_kmeans_exhaustive(int64_t n, int d, const double *X, int k, int *label, double *inertia, sn_err *e);

/* Local. lc[r] = log(spectral centroid of W column r in Hz +
 * SN_GROUP_CENTROID_OFFSET) (bin f at f * sr / n_fft Hz). */
#define SN_GROUP_CENTROID_OFFSET 20.0
void sn_group_log_centroid(int64_t F, int64_t R, const float *W, double sr, int n_fft, double *lc);

/* Local. The optimal k-means of n numbers x into k clusters (contiguous runs
 * of x sorted by value, then index: exact and deterministic); label[i] in
 * 0..k-1 in increasing order of the values. SN_ERR_INPUT unless 1 <= k <= n. */
int sn_kmeans_1d(int64_t n, const double *x, int k, int *label, sn_err *e);

/* Local. Log peakiness of each column of W (F x R, ld F) into lp[R]: with p
 * the column divided by its sum and s its moving average over the 2h + 1
 * bins f - h .. f + h (indices clamped to 0 .. F - 1), h = max(1,
 * floor(SN_GROUP_PEAK_HZ / 2 / (sr / n_fft))) (4 at 2048 / 22050 Hz: 97 Hz),
 * e = SN_GROUP_PEAK_EPS * max_f p_f:
 *   lp = log(max(0, sum_f p_f log((p_f + e) / (s_f + e))) + SN_GROUP_PEAK_FLOOR),
 * a divergence of the column from its smoothed self: high for a few sharp
 * harmonics, low for a smooth (noisy, drum-like) spectrum, whatever the
 * level. A zero column gets log(SN_GROUP_PEAK_FLOOR). */
/* (on 20 validation mixtures, seeds 2001-2020, piano + bass + drums: windows
 * of 5 to 31 bins gave 4.8-5.1 dB mean SDR, and a centroid band up to 0.4 to
 * 5 kHz 4.8-5.1 dB; the full band 4.4) */
#define SN_GROUP_PEAK_HZ 100.0
#define SN_GROUP_PEAK_EPS 1e-3
#define SN_GROUP_PEAK_FLOOR 1e-3
void sn_group_log_peakiness(int64_t F, int64_t R, const float *W, double sr, int n_fft, double *lp);

/* Local. lc[r] = log(spectral centroid in Hz of W column r over the bins
 * below SN_GROUP_LOW_CENTROID_HZ (f * sr / n_fft < it) + SN_GROUP_CENTROID_OFFSET):
 * where the fundamentals and first harmonics of bass and piano lie, the noise
 * above left out. A column with nothing there gets
 * log(SN_GROUP_LOW_CENTROID_HZ + SN_GROUP_CENTROID_OFFSET). */
#define SN_GROUP_LOW_CENTROID_HZ 1000.0
void sn_group_log_low_centroid(int64_t F, int64_t R, const float *W, double sr, int n_fft, double *lc);

/* Local. The affinity of R components (A: R x R, column-major, symmetric,
 * diagonal 1): A_ij = ch_ij * cw_ij^SN_GROUP_NCUT_W_POWER, where cw is the
 * cosine of W columns i and j (F x R, ld F) and ch the cosine of H rows i and
 * j from the Gram in the H statistic (sn_group_hstat; uncentred). With power
 * 1 it is the cosine of the two components' spectrograms w_i h_i^T and
 * w_j h_j^T; the smaller power lets the activations lead (two drums of one
 * kit share little in time, a drum's attack and body share its hits). A zero
 * column or row gives 0 off the diagonal. SN_ERR_NOMEM. */
/* (kick + snare over 12 hydrogen kits, 24 mixtures each of song grooves and
 * plain loops, jobs/quality_grouping_kits.py: powers 0.25 and 0.5 found the
 * best grouping on 23 of 24 of each set, power 1 on 21 and 23, power 0 (the
 * activations alone) on 23 and 22; `both` on 22 and 21) */
#define SN_GROUP_NCUT_W_POWER 0.25
int sn_group_affinity(int64_t F, int64_t R, const float *W, const double *hstat, double *A, sn_err *e);

/* Local. The normalized cut of a split of R items (lab[i] 0 or 1) under the
 * affinity A (R x R, column-major): cut/vol_0 + cut/vol_1, cut the sum of
 * A_ij over the pairs split apart, vol_s the sum of the rows of A in side s;
 * HUGE_VAL when a side is empty. */
double sn_group_ncut(int64_t R, const double *A, const int *lab);

/* Local. Two groups of R items by the normalized cut (Shi & Malik 2000):
 * the items are ordered by the second eigenvector of D^-1/2 A D^-1/2 (D the
 * row sums of A; the eigenvector scaled by D^-1/2), and of the R - 1 cuts of
 * that order the one of least sn_group_ncut is taken (ties: the first).
 * src_of[R] gets 0 or 1 in order of first appearance; R = 1 gives one group.
 * A: nonnegative, symmetric, diagonal > 0. SN_ERR_NOMEM, SN_ERR_NUMERIC. */
int sn_group_ncut2(int64_t R, const double *A, int *src_of, sn_err *e);

/* Local. S groups of R items (1 <= S <= R) by repeated normalized cuts:
 * from one group, S - 1 times, every group of two or more items is cut in
 * two by sn_group_ncut2 on its part of A, and the cut of least
 * sn_group_ncut (within that group) is made (ties: the group holding the
 * lower item). src_of[R] gets 0..S-1 in order of first appearance.
 * SN_ERR_INPUT (S outside 1..R), SN_ERR_NOMEM, SN_ERR_NUMERIC. */
int sn_group_ncut_split(int64_t R, const double *A, int S, int *src_of, sn_err *e);

/* Restarts and seed of the grouping's k-means. */
#define SN_GROUP_RESTARTS 32
#define SN_GROUP_SEED 20260101u
/* both: weight of the correlations (unit mean square) beside the flatness
 * (unit variance), chosen on validation mixtures (1, 1.5, 2, 3 tried) */
#define SN_GROUP_COACT_WEIGHT 1.5

/* Local. Group R components into S sources (1 <= S <= R) (tiered, peaks,
 * ncut and auto: see sn_group_method; for them, as for both, hstat is
 * needed): features by method
 * (timbre: sn_group_timbre; coact: the rows of the correlation matrix;
 * both: the flatness scaled to unit variance beside the correlation rows
 * centred, scaled to unit mean square and weighted SN_GROUP_COACT_WEIGHT)
 * (W: F x R, ld F, replicated; hstat: the complete statistic of all N frames,
 * used by coact and both, may be NULL for timbre), then sn_kmeans. src_of[R]
 * gets each component's source, 0..S-1 in order of first appearance, every
 * source non-empty. SN_ERR_INPUT, SN_ERR_NOMEM. */
int sn_group_components(sn_group_method method, int64_t F, int64_t R, const float *W, double sr, int n_fft,
                        int64_t N, const double *hstat, int S, int *src_of, sn_err *e);
