#pragma once
/* The model file schema, read and written in one place: the group /nmf (W,
 * H, the loss history and the attribute block of the run), the dictionary
 * dataset /dict/W (io/sn_dict.h reads and writes it with these names) and
 * NMF checkpoints (/nmf/W, /nmf/H and the solver state under
 * /checkpoint/loss). Shapes on file are row-major: W (F, k), H (k, N); in
 * memory W is F x k column-major (ld F, every rank the whole W) and H is this
 * rank's columns [col0, col0 + n_local) (ld k). Collective functions are
 * called by every rank of the file's communicator and return the agreed code;
 * they write into / read from an open sn_h5 (the caller creates and commits it)
 * except the checkpoint pair, which makes its own file. */
#include <stdint.h>

#include "sn_h5.h"
#include "sn_spec_io.h"

#define SN_MODEL_GROUP "/nmf"
#define SN_MODEL_W "/nmf/W"
#define SN_MODEL_H "/nmf/H"
#define SN_MODEL_LOSS "/nmf/loss"
#define SN_MODEL_LOSS_ITER "/nmf/loss_iter"
#define SN_DICT_W "/dict/W"
#define SN_CKPT_LOSS "/checkpoint/loss"
#define SN_CKPT_LOSS_ITER "/checkpoint/loss_iter"

/* Sizes and this rank's columns of H. */
typedef struct sn_model_dims {
  int64_t F, k, N;       /* W is F x k, H is k x N */
  int64_t col0, n_local; /* this rank's columns of H */
} sn_model_dims;

/* The options `nmf` records on /nmf (other writers pass NULL). */
typedef struct sn_model_opts {
  int64_t seed, max_iter;
  double tol, alpha_W, alpha_H, l1_ratio;
  const char *regularization; /* the effective penalties, as text */
  int sorted;
} sn_model_opts;

/* One model to write. Pointers left NULL are not written. */
typedef struct sn_model {
  sn_model_dims d;
  const float *W;             /* rank 0's copy is written */
  const float *H;             /* NULL: no /nmf/H (the streamed separation) */
  const double *loss;         /* /nmf/loss: n_hist values */
  const int64_t *loss_iter;   /* /nmf/loss_iter, and reconstruction_err on /nmf/loss */
  int64_t n_hist;
  const sn_spec_params *par;  /* spectrogram attributes on /nmf/W (and /nmf/H) */
  /* the attribute block of /nmf */
  double beta;
  const char *solver;
  const char *init;           /* NULL: not written */
  const sn_model_opts *opts;  /* NULL: not written */
  int64_t n_iter, n_fixed;
  int converged;              /* < 0: not written */
  double loss_final;          /* attribute "loss" */
  int with_rerr;              /* attribute reconstruction_err = sqrt(2 max(loss, 0)) */
} sn_model;

/* Collective. Write m into f: /nmf/W, /nmf/H, /nmf/loss, /nmf/loss_iter (as
 * given), the spectrogram attributes and the attribute block of /nmf (beta,
 * solver, init, seed, tol, max_iter, regularization, alpha_W, alpha_H,
 * l1_ratio, n_iter, converged, loss, reconstruction_err, n_fixed, sorted; the
 * ones m carries). Returns the agreed code (SN_ERR_IO / SN_ERR_NOMEM). */
int sn_model_write(sn_h5 *f, const sn_model *m, sn_err *e);

/* Collective. A starting point (--init FILE.h5): /nmf/W must be (F, k) and
 * /nmf/H (k, N) of d; reads W and this rank's columns of H and refuses
 * (SN_ERR_INPUT "FILE: /nmf/W is A x B, expected (F, k) = ...", "FILE: DSET
 * has a negative or non-finite value") a wrong shape or value. file names
 * the file in messages. */
int sn_model_read_start(sn_h5 *f, const char *file, const sn_model_dims *d, float *W, float *H, sn_err *e);

/* Collective. A fixed dictionary (--fix-W FILE.h5[:/path]): dataset dset must
 * be (F, c) with 1 <= c <= d->k (F named after `match`, the input it must
 * fit); *W gets it (allocated, sn_free it) and *c its column count. SN_ERR_INPUT
 * for a wrong shape or a negative or non-finite value. */
int sn_model_read_fixed(sn_h5 *f, const char *file, const char *dset, const sn_model_dims *d, const char *match,
                        float **W, int64_t *c, sn_err *e);

/* Local. SN_ERR_INPUT "FILE: DSET has a negative or non-finite value" unless
 * the n values of x are finite and >= 0. */
int sn_model_check_nonneg(const float *x, size_t n, const char *file, const char *dset, sn_err *e);

/* The solver state a checkpoint keeps beside W and H. */
typedef struct sn_model_ckpt {
  int64_t iter;
  double err_init, prev_err, viol_init;
  int64_t n_hist, cap_hist;   /* read: the capacity of hist / hist_iter */
  double *hist;
  int64_t *hist_iter;
  uint64_t fingerprint;       /* write: stored; read: the one the file must carry */
  uint64_t checksum;          /* write: stored; read: the stored one (the caller compares) */
} sn_model_ckpt;

/* Collective over comm. Write a checkpoint to path atomically (sn_h5_create
 * with force: an older checkpoint is replaced only by a complete one). */
int sn_model_ckpt_write(MPI_Comm comm, const char *path, const sn_model_dims *d, const float *W, const float *H,
                        const sn_model_ckpt *c, sn_err *e);

/* Collective over comm. Read a checkpoint into W, H (this rank's columns) and
 * c (iter, err_init, prev_err, viol_init, the history, checksum). Refuses
 * (SN_ERR_INPUT) a file that is not a specnmf checkpoint, one made with
 * another fingerprint than c->fingerprint, wrong shapes or a history that
 * does not match. */
int sn_model_ckpt_read(MPI_Comm comm, const char *path, const sn_model_dims *d, float *W, float *H,
                       sn_model_ckpt *c, sn_err *e);
