#pragma once
/* The NMF part of the commands that factorize a spectrogram (nmf, separate):
 * the options (SN_NMF_OPTS), their checks, the checks of V, and one collective
 * call that factorizes a V block: the start (checkpoint, random, NNDSVD*, a
 * file), fixed dictionary columns, the solve with checkpoints on a signal, and
 * the optional sort by peak frequency. Messages name the calling command
 * ("nmf --beta: ...", "separate --beta: ..."). */
#include <stdint.h>

#include "sn_h5.h"
#include "sn_opts.h"
#include "sn_pnmf.h"
#include "sn_run.h"

/* The NMF options as parsed (strings and numbers), then what sn_nmf_cli_check
 * derives from them. */
typedef struct sn_nmf_cli {
  int64_t k;                 /* components R; 0 until given (required) */
  const char *beta_s;        /* "fro" */
  const char *solver_s;      /* "mu" */
  const char *init_s;        /* "nndsvda" */
  int64_t seed;              /* 0 */
  double tol;                /* 1e-4 */
  int64_t max_iter;          /* 200 */
  double alpha_W;            /* 0 */
  const char *alpha_H_s;     /* "same" */
  double l1_ratio;           /* 0 */
  const char *fix_W_s;       /* NULL or FILE.h5[:/path] */
  int sort;                  /* order components by peak frequency */
  const char *checkpoint_s;  /* NULL: the command's default path */
  int64_t checkpoint_every;  /* 0: only on a signal */
  int resume;
  int64_t tile;              /* columns per streamed tile (the command's default) */
  const float *fix_W;        /* NULL, or fixed dictionary columns already in memory (F x fix_W_cols, ld F, */
  int64_t fix_W_cols;        /* checked by the caller): separate --source; exclusive with fix_W_s */
  int64_t batch_size;        /* --solver online: frames per mini-batch; -1: min(1024, N) */
  double forget_factor;      /* 0.7 */
  int fresh_restarts;
  int64_t max_no_improvement; /* 10; 0: none */
  int64_t transform_max_iter; /* iterations of the final H pass; -1: max_iter */
  const char *transform_start_s; /* "last" (each frame's H of the last pass) or "constant" (sklearn's) */
  const char *scratch;       /* online: folder of the per-rank spectrogram scratch files; NULL: the output's */
  /* derived by sn_nmf_cli_check */
  double beta, alpha_H;
  int solver;                /* SN_NMF_MU, SN_NMF_CD or SN_NMF_ANLS */
  int online;                /* --solver online (solver is then SN_NMF_MU) */
  int init_kind;             /* SN_NMF_INIT_* */
  int transform_warm;        /* --transform-start last */
} sn_nmf_cli;

enum { SN_NMF_INIT_RANDOM = 0, SN_NMF_INIT_NNDSVD, SN_NMF_INIT_NNDSVDA, SN_NMF_INIT_NNDSVDAR, SN_NMF_INIT_FILE };

/* The defaults; tile differs per command (nmf 64, separate 256). */
#define SN_NMF_CLI_DEFAULT(tile_)                                                                    \
  {.beta_s = "fro", .solver_s = "mu", .init_s = "nndsvda", .tol = 1e-4, .max_iter = 200,            \
   .alpha_H_s = "same", .tile = (tile_), .beta = 2.0, .init_kind = SN_NMF_INIT_NNDSVDA, .batch_size = -1,    \
   .forget_factor = 0.7, .max_no_improvement = 10, .transform_max_iter = -1,   \
   .transform_start_s = "last", .transform_warm = 1}

#define SN_NMF_OPTS(c)                                                                                                  \
  {"--components", 'k', SN_OPT_INT64, &(c)->k, "R", "number of components R, 1 <= R <= min(F, N)"},                       \
  {"--beta", 0, SN_OPT_STRING, &(c)->beta_s, "LOSS", "fro|kl|is|NUMBER: beta-divergence (default fro; learn: kl)"},     \
  {"--solver", 0, SN_OPT_STRING, &(c)->solver_s, "mu|cd|anls|online",                                                   \
   "multiplicative updates, coordinate descent (HALS), exact alternating NNLS (cd, anls: fro only) or online "         \
   "mini-batch MU as sklearn's MiniBatchNMF with X = V^T (any beta; results depend on the rank count; default mu)"},    \
  {"--batch-size", 0, SN_OPT_INT64, &(c)->batch_size, "N",                                                             \
   "online: frames per mini-batch, 1..N, a slice of every rank's frames (default 1024, or N if fewer)"},                \
  {"--forget-factor", 0, SN_OPT_DOUBLE, &(c)->forget_factor, "X",                                                      \
   "online: weight of past batches in the W statistics, 0..1, per pass (default 0.7)"},                                \
  {"--fresh-restarts", 0, SN_OPT_FLAG, &(c)->fresh_restarts, NULL,                                                     \
   "online: solve each batch's H from a constant start (30 MU iterations) instead of one update"},                      \
  {"--max-no-improvement", 0, SN_OPT_INT64, &(c)->max_no_improvement, "N",                                             \
   "online: stop after N steps without a lower smoothed batch cost (default 10; 0: never)"},                           \
  {"--transform-max-iter", 0, SN_OPT_INT64, &(c)->transform_max_iter, "N",                                             \
   "online: MU iterations of the final H pass over every frame, W fixed (default --max-iter; --tol stops it)"},         \
  {"--transform-start", 0, SN_OPT_STRING, &(c)->transform_start_s, "last|constant",                                    \
   "online: the final H pass starts from each frame's H of the last pass (default last), or from sklearn's "           \
   "transform start, sqrt(mean(V) / R) everywhere (constant)"},                                                         \
  {"--scratch", 0, SN_OPT_STRING, &(c)->scratch, "DIR",                                                                \
   "online: V is not held; each rank spills its frames to an (unlinked) scratch file in DIR, F x frames x 4 bytes, "  \
   "and reads a mini-batch at a time (default: the output's folder; a node-local disk is best)"},                      \
  {"--init", 0, SN_OPT_STRING, &(c)->init_s, "HOW", "random|nndsvd|nndsvda|nndsvdar|FILE.h5 (/nmf/W, /nmf/H) (default nndsvda)"}, \
  {"--fix-W", 0, SN_OPT_STRING, &(c)->fix_W_s, "FILE.h5[:/path]",                                                       \
   "fixed dictionary columns (default path /nmf/W); the rest are learned"},                                             \
  {"--seed", 0, SN_OPT_INT64, &(c)->seed, "N", "seed of the random starts (default 0)"},                                \
  {"--tol", 0, SN_OPT_DOUBLE, &(c)->tol, "X",                                                                        \
   "stopping tolerance, sklearn's rule (online: on W's relative change per step, and each frame-H solve's; default 1e-4)"}, \
  {"--max-iter", 0, SN_OPT_INT64, &(c)->max_iter, "N",                                                               \
   "maximum NMF iterations (online: passes over the frames; default 200; 0 keeps the start, not online)"}, \
  {"--alpha-W", 0, SN_OPT_DOUBLE, &(c)->alpha_W, "X",                                   \
   "regularization of W, scaled as sklearn (default 0; online: times the batch's frames, = MiniBatchNMF's alpha_H)"}, \
  {"--alpha-H", 0, SN_OPT_STRING, &(c)->alpha_H_s, "X",                                   \
   "regularization of H, or 'same' as alpha-W (default same; online: = MiniBatchNMF's alpha_W)"}, \
  {"--l1-ratio", 0, SN_OPT_DOUBLE, &(c)->l1_ratio, "X", "L1 share of the regularization, 0..1 (default 0)"},            \
  {"--sort", 0, SN_OPT_FLAG, &(c)->sort, NULL, "order components by peak frequency (as librosa.decompose)"},            \
  {"--checkpoint", 0, SN_OPT_STRING, &(c)->checkpoint_s, "FILE.h5",                                                     \
   "NMF checkpoint (default beside the output: OUTPUT.ckpt.h5, OUTDIR/nmf.ckpt.h5)"},                                   \
  {"--checkpoint-every", 0, SN_OPT_INT64, &(c)->checkpoint_every, "N",                                                  \
   "write a checkpoint every N iterations (default 0: only on a signal)"},                                              \
  {"--resume", 0, SN_OPT_FLAG, &(c)->resume, NULL, "continue the NMF from the checkpoint"},                             \
  {"--tile", 0, SN_OPT_INT64, &(c)->tile, "N", "columns per streamed NMF tile (default nmf 64, separate 256)"}

/* Local. Check the parsed options and derive beta, alpha_H, solver and
 * init_kind. SN_ERR_USAGE with "CMD --option: reason" (cmd: the command's
 * name) on the first bad one. Every rank parses the same argv: the caller
 * agrees on the result. */
int sn_nmf_cli_check(const char *cmd, sn_nmf_cli *c, sn_err *e);

/* Local. SN_ERR_USAGE ("CMD -k: ... exceed min(F, N) ...") unless
 * 1 <= k <= min(F, N); `what` names V in the message ("a.h5 /stft/magnitude"). */
int sn_nmf_cli_check_k(const char *cmd, int64_t k, int64_t F, int64_t N, const char *what, sn_err *e);

/* Local. The folder of the scratch files of V into buf: --scratch, else the
 * folder of `output` (a file or a folder: outdir 1), or while that does not
 * exist yet its nearest existing ancestor (".", "/" at the end). */
void sn_nmf_cli_scratch_dir(const sn_nmf_cli *c, const char *output, int outdir, char *buf, size_t cap);

/* Local. SN_ERR_USAGE ("CMD --batch-size: ...") when --solver online's
 * --batch-size exceeds the N frames of V. */
int sn_nmf_cli_check_batch(const char *cmd, const sn_nmf_cli *c, int64_t N, sn_err *e);

/* Local. V block (F x n, ld F, global columns col0..col0+n) must be finite and
 * nonnegative, and without zeros when beta <= 0 (as sklearn). SN_ERR_INPUT
 * "PATH: WHAT has ... at (bin, frame)" on the first bad entry. */
int sn_nmf_cli_check_v(const float *V, int64_t F, int64_t n, int64_t col0, double beta, const char *path,
                       const char *what, sn_err *e);

/* Collective (every rank calls it with the same arguments). Refuse
 * (SN_ERR_INPUT, "FILE: ...") the dataset obj of the open file f when it was
 * made with other spectrogram parameters than V. */
typedef int (*sn_nmf_compat_fn)(void *ctx, sn_h5 *f, const char *obj, const char *file, sn_err *e);

/* This rank's block of V and where it came from. */
typedef struct sn_nmf_block {
  const float *V;             /* F x n_local, column-major (ld F) */
  int64_t F, N, col0, n_local; /* columns [col0, col0 + n_local) of N (sn_block_range) */
  const char *path;           /* V's file (messages) */
  const char *checkpoint;     /* checkpoint path (--checkpoint or the command's default) */
  sn_nmf_compat_fn compat;    /* check of a --fix-W dictionary (NULL: none) */
  sn_nmf_compat_fn compat_init; /* check of an --init FILE's /nmf/W (NULL: none) */
  void *compat_ctx;
  const sn_frames *frames;    /* NULL: V above; else V is not in memory (V NULL) and the starts and
                                 --solver online walk it through this source (io/sn_vcache.h) */
} sn_nmf_block;

/* Collective. Factorize V ~= W H with the options c (checked by
 * sn_nmf_cli_check): configure *o (sklearn's regularization scaling, the
 * checkpoint, the fingerprint of data + options, the stop flag of
 * sn_signal_flag(): the caller catches signals from its start with
 * sn_signal_catch), read a --fix-W dictionary, start from the checkpoint
 * (--resume), random, NNDSVD* or a file, solve (parallel/sn_pnmf) and sort by
 * peak frequency (--sort). *W (F x k, replicated, ld F) and *H (k x n_local,
 * ld k) are allocated here (sn_free them, also on error); *n_fixed is the
 * number of fixed columns. Returns the agreed code: SN_ERR_INPUT for a bad
 * dictionary, start file or checkpoint, SN_ERR_INTERRUPTED after writing a
 * checkpoint on a signal. With every column fixed (c->fix_W or --fix-W of k
 * columns), H starts from sklearn's constant sqrt(mean(V) / k) unless --init
 * names a file, and only H is updated. */
int sn_nmf_cli_run(sn_run *run, const char *cmd, const sn_nmf_cli *c, const sn_nmf_block *b, sn_pnmf_opts *o,
                   float **W, float **H, sn_pnmf_state *st, int64_t *n_fixed);

