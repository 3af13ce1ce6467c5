/* The model file schema: /nmf, checkpoints (see sn_model.h). */
#include "sn_model.h"

#include <math.h>
#include <stdio.h>

#include "sn_comm.h"

int sn_model_check_nonneg(const float *x, size_t n, const char *file, const char *dset, sn_err *e) {
  for (size_t i = 0; i < n; i++)
    if (!(x[i] >= 0) || !isfinite(x[i]))
      return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has a negative or non-finite value", file, dset);
  return SN_OK;
}

int sn_model_write(sn_h5 *f, const sn_model *m, sn_err *e) {
  const sn_model_dims *d = &m->d;
  const char *g = SN_MODEL_GROUP;
  MPI_Comm comm = sn_h5_comm(f);
  int rank = 0, rc = SN_OK;
  double *hi = NULL;
  SN_MPI_CALL(MPI_Comm_rank(comm, &rank));
  SN_CHECK(sn_h5_write_cols(f, SN_MODEL_W, d->F, d->k, 0, rank == 0 ? d->k : 0, m->W, d->F, e));
  if (m->H) SN_CHECK(sn_h5_write_cols(f, SN_MODEL_H, d->k, d->N, d->col0, d->n_local, m->H, d->k, e));
  if (m->loss) SN_CHECK(sn_h5_write_vec(f, SN_MODEL_LOSS, m->n_hist, m->loss, e));
  const double rerr = sqrt(2.0 * fmax(m->loss_final, 0.0));
  if (m->loss && m->loss_iter) {
    hi = sn_calloc((size_t)(m->n_hist + 1) * sizeof(double), "loss history", e);
    SN_CHECK(sn_agree(comm, hi ? SN_OK : SN_ERR_NOMEM, e));
    for (int64_t q = 0; q < m->n_hist; q++) hi[q] = (double)m->loss_iter[q];
    SN_CHECK(sn_h5_write_vec(f, SN_MODEL_LOSS_ITER, m->n_hist, hi, e));
    SN_CHECK(sn_h5_attr_set_double(f, SN_MODEL_LOSS, "reconstruction_err", rerr, e));
  }
  if (m->par) {
    SN_CHECK(sn_spec_params_write(f, SN_MODEL_W, m->par, e));
    if (m->H) SN_CHECK(sn_spec_params_write(f, SN_MODEL_H, m->par, e));
  }
  SN_CHECK(sn_h5_attr_set_double(f, g, "beta", m->beta, e));
  SN_CHECK(sn_h5_attr_set_str(f, g, "solver", m->solver, e));
  if (m->init) SN_CHECK(sn_h5_attr_set_str(f, g, "init", m->init, e));
  const sn_model_opts *o = m->opts;
  if (o) {
    SN_CHECK(sn_h5_attr_set_int(f, g, "seed", o->seed, e));
    SN_CHECK(sn_h5_attr_set_double(f, g, "tol", o->tol, e));
    SN_CHECK(sn_h5_attr_set_int(f, g, "max_iter", o->max_iter, e));
    if (o->regularization) SN_CHECK(sn_h5_attr_set_str(f, g, "regularization", o->regularization, e));
    SN_CHECK(sn_h5_attr_set_double(f, g, "alpha_W", o->alpha_W, e));
    SN_CHECK(sn_h5_attr_set_double(f, g, "alpha_H", o->alpha_H, e));
    SN_CHECK(sn_h5_attr_set_double(f, g, "l1_ratio", o->l1_ratio, e));
  }
  SN_CHECK(sn_h5_attr_set_int(f, g, "n_iter", m->n_iter, e));
  if (m->converged >= 0) SN_CHECK(sn_h5_attr_set_int(f, g, "converged", m->converged, e));
  SN_CHECK(sn_h5_attr_set_double(f, g, "loss", m->loss_final, e));
  if (m->with_rerr) SN_CHECK(sn_h5_attr_set_double(f, g, "reconstruction_err", rerr, e));
  SN_CHECK(sn_h5_attr_set_int(f, g, "n_fixed", m->n_fixed, e));
  if (o) SN_CHECK(sn_h5_attr_set_int(f, g, "sorted", o->sorted, e));
cleanup:
  sn_free(hi);
  return rc;
}

/* Local. A starting point's dataset must be rows x cols ("what" names them). */
static int check_start_shape(const char *file, const char *dset, int nd, const int64_t *dims, int64_t rows,
                             int64_t cols, const char *what, sn_err *e) {
  if (nd == 2 && dims[0] == rows && dims[1] == cols) return SN_OK;
  return SN_FAIL(e, SN_ERR_INPUT, "%s: %s is %lld x %lld, expected %s = (%lld, %lld)", file, dset, (long long)dims[0],
                 (long long)(nd == 2 ? dims[1] : 1), what, (long long)rows, (long long)cols);
}

/* Local. The values of a starting point: nonnegative and finite. */
static int check_start_values(const float *W, const float *H, const sn_model_dims *d, const char *file, sn_err *e) {
  int rc = sn_model_check_nonneg(W, (size_t)(d->F * d->k), file, SN_MODEL_W, e);
  return rc ? rc : sn_model_check_nonneg(H, (size_t)(d->k * d->n_local), file, SN_MODEL_H, e);
}

/* Local. A fixed dictionary's shape: (F, c) with 1 <= c <= k. */
static int check_fixed_shape(int nd, const int64_t *dims, const sn_model_dims *d, const char *file, const char *dset,
                             const char *match, sn_err *e) {
  if (nd != 2 || dims[0] != d->F)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: %s must be (F, c) = (%lld, c) to match %s", file, dset, (long long)d->F,
                   match);
  if (dims[1] < 1 || dims[1] > d->k)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %lld columns; a fixed dictionary needs 1..k = %lld", file, dset,
                   (long long)dims[1], (long long)d->k);
  return SN_OK;
}

/* Local. A checkpoint of this run: it has a fingerprint, and it is this one. */
static int check_fingerprint(int found, uint64_t v, uint64_t want, const char *path, sn_err *e) {
  if (!found) return SN_FAIL(e, SN_ERR_INPUT, "%s: not a specnmf nmf checkpoint", path);
  if (v != want)
    return SN_FAIL(e, SN_ERR_INPUT,
                   "%s: checkpoint was made with other data or options; refusing to resume (remove it or rerun with the same input and options)",
                   path);
  return SN_OK;
}

int sn_model_read_start(sn_h5 *f, const char *file, const sn_model_dims *d, float *W, float *H, sn_err *e) {
  MPI_Comm comm = sn_h5_comm(f);
  const int64_t F = d->F, N = d->N, k = d->k;
  int nd = 0, rc = SN_OK;
  int64_t dims[2] = {0, 0};
  SN_CHECK(sn_h5_shape(f, SN_MODEL_W, &nd, dims, e));
  SN_AGREE_ON(comm, check_start_shape(file, SN_MODEL_W, nd, dims, F, k, "(F, k)", e), e);
  SN_CHECK(sn_h5_shape(f, SN_MODEL_H, &nd, dims, e));
  SN_AGREE_ON(comm, check_start_shape(file, SN_MODEL_H, nd, dims, k, N, "(k, N)", e), e);
  SN_CHECK(sn_h5_read_cols(f, SN_MODEL_W, F, 0, k, W, F, e));
  SN_CHECK(sn_h5_read_cols(f, SN_MODEL_H, k, d->col0, d->n_local, H, k, e));
  SN_AGREE_ON(comm, check_start_values(W, H, d, file, e), e);
cleanup:
  return rc;
}

int sn_model_read_fixed(sn_h5 *f, const char *file, const char *dset, const sn_model_dims *d, const char *match,
                        float **W, int64_t *c, sn_err *e) {
  MPI_Comm comm = sn_h5_comm(f);
  const int64_t F = d->F;
  int nd = 0, rc = SN_OK;
  int64_t dims[2] = {0, 0};
  *W = NULL;
  SN_CHECK(sn_h5_shape(f, dset, &nd, dims, e));
  SN_AGREE_ON(comm, check_fixed_shape(nd, dims, d, file, dset, match, e), e);
  *c = dims[1];
  *W = sn_calloc((size_t)(F * dims[1]) * sizeof(float), "fixed W", e);
  SN_CHECK(sn_agree(comm, *W ? SN_OK : SN_ERR_NOMEM, e));
  SN_CHECK(sn_h5_read_cols(f, dset, F, 0, dims[1], *W, F, e));
  SN_CHECK(sn_agree(comm, sn_model_check_nonneg(*W, (size_t)(F * dims[1]), file, dset, e), e));
cleanup:
  return rc;
}

int sn_model_ckpt_write(MPI_Comm comm, const char *path, const sn_model_dims *d, const float *W, const float *H,
                        const sn_model_ckpt *c, sn_err *e) {
  const char *L = SN_CKPT_LOSS;
  sn_h5 *f = NULL;
  double *hi = NULL;
  int rank = 0;
  SN_MPI_CALL(MPI_Comm_rank(comm, &rank));
  int rc = sn_h5_create(comm, path, 1, &f, e);
  if (rc) goto cleanup;
  SN_CHECK(sn_h5_write_cols(f, SN_MODEL_W, d->F, d->k, 0, rank == 0 ? d->k : 0, W, d->F, e));
  SN_CHECK(sn_h5_write_cols(f, SN_MODEL_H, d->k, d->N, d->col0, d->n_local, H, d->k, e));
  int64_t nh = c->n_hist > 0 ? c->n_hist : 1;
  hi = sn_calloc((size_t)nh * sizeof(double), "checkpoint", e);
  rc = sn_agree(comm, hi ? SN_OK : SN_ERR_NOMEM, e);
  if (rc) goto cleanup;
  for (int64_t q = 0; q < c->n_hist; q++) hi[q] = (double)c->hist_iter[q];
  SN_CHECK(sn_h5_write_vec(f, L, c->n_hist, c->hist, e));
  SN_CHECK(sn_h5_write_vec(f, SN_CKPT_LOSS_ITER, c->n_hist, hi, e));
  SN_CHECK(sn_h5_attr_set_int(f, L, "iter", c->iter, e));
  SN_CHECK(sn_h5_attr_set_double(f, L, "err_init", c->err_init, e));
  SN_CHECK(sn_h5_attr_set_double(f, L, "prev_err", c->prev_err, e));
  SN_CHECK(sn_h5_attr_set_double(f, L, "viol_init", c->viol_init, e));
  SN_CHECK(sn_h5_attr_set_int(f, L, "fingerprint", (int64_t)c->fingerprint, e));
  SN_CHECK(sn_h5_attr_set_int(f, L, "checksum", (int64_t)c->checksum, e));
  rc = sn_h5_close(&f, 1, e);
cleanup:
  if (f) sn_h5_close(&f, 0, e);
  sn_free(hi);
  return rc;
}

int sn_model_ckpt_read(MPI_Comm comm, const char *path, const sn_model_dims *d, float *W, float *H,
                       sn_model_ckpt *c, sn_err *e) {
  const char *L = SN_CKPT_LOSS;
  const int64_t F = d->F, R = d->k;
  sn_h5 *f = NULL;
  double *hi = NULL;
  int found = 0;
  int64_t v = 0, dims[2];
  int nd = 0;
  int rc = sn_h5_open(comm, path, &f, e);
  if (rc) return rc;
  SN_CHECK(sn_h5_attr_get_int(f, L, "fingerprint", &v, &found, e));
  SN_AGREE_ON(comm, check_fingerprint(found, (uint64_t)v, c->fingerprint, path, e), e);
  SN_CHECK(sn_h5_shape(f, SN_MODEL_W, &nd, dims, e));
  SN_AGREE_ON(comm,
              (nd != 2 || dims[0] != F || dims[1] != R) ? SN_FAIL(e, SN_ERR_INPUT, "%s: /nmf/W has the wrong shape", path)
                                                         : SN_OK,
              e);
  SN_CHECK(sn_h5_shape(f, SN_MODEL_H, &nd, dims, e));
  SN_AGREE_ON(comm,
              (nd != 2 || dims[0] != R || dims[1] != d->N)
                  ? SN_FAIL(e, SN_ERR_INPUT, "%s: /nmf/H has the wrong shape", path)
                  : SN_OK,
              e);
  SN_CHECK(sn_h5_read_cols(f, SN_MODEL_W, F, 0, R, W, F, e));
  SN_CHECK(sn_h5_read_cols(f, SN_MODEL_H, R, d->col0, d->n_local, H, R, e));
  SN_CHECK(sn_h5_attr_get_int(f, L, "iter", &c->iter, &found, e));
  SN_CHECK(sn_h5_attr_get_double(f, L, "err_init", &c->err_init, &found, e));
  SN_CHECK(sn_h5_attr_get_double(f, L, "prev_err", &c->prev_err, &found, e));
  SN_CHECK(sn_h5_attr_get_double(f, L, "viol_init", &c->viol_init, &found, e));
  SN_CHECK(sn_h5_attr_get_int(f, L, "checksum", &v, &found, e));
  c->checksum = (uint64_t)v;
  hi = sn_calloc((size_t)c->cap_hist * sizeof(double), "checkpoint", e);
  SN_CHECK(sn_agree(comm, hi ? SN_OK : SN_ERR_NOMEM, e));
  int64_t n = 0;
  SN_CHECK(sn_h5_read_vec(f, L, c->hist, c->cap_hist, &n, e));
  SN_CHECK(sn_h5_read_vec(f, SN_CKPT_LOSS_ITER, hi, c->cap_hist, &c->n_hist, e));
  for (int64_t q = 0; q < c->n_hist; q++) c->hist_iter[q] = (int64_t)hi[q];
  SN_AGREE_ON(comm, n != c->n_hist ? SN_FAIL(e, SN_ERR_INPUT, "%s: corrupted checkpoint (loss history)", path) : SN_OK,
              e);
cleanup:
  sn_free(hi);
  sn_h5_close(&f, 0, e);
  return rc;
}
