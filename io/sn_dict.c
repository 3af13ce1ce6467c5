/* Dictionaries on file (see sn_dict.h). */
#include "sn_dict.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sn_comm.h"
#include "sn_model.h"

int sn_dict_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n < 1 || n > 63) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_') return 0;
  return 1;
}

void sn_dict_free(sn_dict *d) {
  sn_free(d->W);
  d->W = NULL;
}

/* Collective. The recorded attributes of the dictionary, if any. */
static int read_attrs(sn_h5 *f, sn_dict *d, sn_err *e) {
  int found = 0, rc;
  double v = 0;
  rc = sn_h5_attr_get_double(f, d->dset, "n_fft", &v, &found, e);
  if (rc == SN_OK && found) {
    rc = sn_spec_params_read(f, d->dset, &d->par, e);
    d->has_par = rc == SN_OK;
  }
  if (rc == SN_OK) rc = sn_h5_attr_get_double(f, d->dset, "beta", &d->beta, &d->has_beta, e);
  if (rc == SN_OK && !d->has_beta && sn_h5_exists(f, SN_MODEL_GROUP) &&
      strncmp(d->dset, SN_MODEL_GROUP "/", sizeof SN_MODEL_GROUP) == 0)
    rc = sn_h5_attr_get_double(f, SN_MODEL_GROUP, "beta", &d->beta, &d->has_beta, e);
  if (rc == SN_OK) rc = sn_h5_attr_get_str(f, d->dset, "source", d->name, sizeof d->name, &found, e);
  return rc;
}

int sn_dict_read(MPI_Comm comm, const char *spec, sn_dict *d, sn_err *e) {
  memset(d, 0, sizeof *d);
  sn_h5 *f = NULL;
  int nd = 0;
  int64_t dims[2] = {0, 0};
  int rc = sn_h5_split_spec(spec, "", d->file, sizeof d->file, d->dset, sizeof d->dset, e);
  SN_CHECK(sn_agree(comm, rc, e));
  SN_CHECK(sn_h5_open(comm, d->file, &f, e));
  if (!d->dset[0]) {
    if (sn_h5_exists(f, SN_DICT_W)) snprintf(d->dset, sizeof d->dset, SN_DICT_W);
    else if (sn_h5_exists(f, SN_MODEL_W)) snprintf(d->dset, sizeof d->dset, SN_MODEL_W);
    else rc = SN_FAIL(e, SN_ERR_INPUT, "%s: no dictionary (neither /dict/W nor /nmf/W; name one as FILE.h5:/path)", d->file);
    SN_CHECK(sn_agree(comm, rc, e));
  } else if (!sn_h5_exists(f, d->dset)) {
    SN_CHECK(sn_agree(comm, SN_FAIL(e, SN_ERR_INPUT, "%s: has no dataset %s", d->file, d->dset), e));
  }
  SN_CHECK(sn_h5_shape(f, d->dset, &nd, dims, e));
  if (nd != 2 || dims[0] < 2 || dims[1] < 1)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s must be a 2-D (bins, components) array", d->file, d->dset);
  SN_CHECK(sn_agree(comm, rc, e));
  d->F = dims[0];
  d->R = dims[1];
  SN_CHECK(read_attrs(f, d, e));
  d->W = sn_calloc((size_t)(d->F * d->R) * sizeof(float), "dictionary", e);
  SN_CHECK(sn_agree(comm, d->W ? SN_OK : SN_ERR_NOMEM, e));
  SN_CHECK(sn_h5_read_cols(f, d->dset, d->F, 0, d->R, d->W, d->F, e));
  for (int64_t j = 0; j < d->R && rc == SN_OK; j++)
    for (int64_t i = 0; i < d->F; i++) {
      float v = d->W[i + j * d->F];
      if (!(v >= 0) || !isfinite(v)) {
        rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has a %s value (%g) at (%lld, %lld); a dictionary must be finite and >= 0",
                     d->file, d->dset, isfinite(v) ? "negative" : "non-finite", v, (long long)i, (long long)j);
        break;
      }
    }
  SN_CHECK(sn_agree(comm, rc, e));
cleanup:
  if (f) {
    int crc = sn_h5_close(&f, 0, e);
    if (rc == SN_OK) rc = crc;
  }
  if (rc) sn_dict_free(d);
  return rc;
}

int sn_dict_check(const sn_dict *d, const sn_spec_params *p, sn_err *e) {
  const sn_spec_params *q = &d->par;
  char a[64] = "", b[64] = "";
  const char *what = NULL;
  if (q->sample_rate != p->sample_rate) what = "sample_rate", snprintf(a, sizeof a, "%g", q->sample_rate), snprintf(b, sizeof b, "%g", p->sample_rate);
  else if (q->n_fft != p->n_fft) what = "n_fft", snprintf(a, sizeof a, "%d", q->n_fft), snprintf(b, sizeof b, "%d", p->n_fft);
  else if (q->hop != p->hop) what = "hop_length", snprintf(a, sizeof a, "%d", q->hop), snprintf(b, sizeof b, "%d", p->hop);
  else if (q->win_length != p->win_length) what = "win_length", snprintf(a, sizeof a, "%d", q->win_length), snprintf(b, sizeof b, "%d", p->win_length);
  else if (strcmp(q->window, p->window)) what = "window", snprintf(a, sizeof a, "%s", q->window), snprintf(b, sizeof b, "%s", p->window);
  else if (q->center != p->center) what = "center", snprintf(a, sizeof a, "%d", q->center), snprintf(b, sizeof b, "%d", p->center);
  else if (q->power != p->power) what = "power", snprintf(a, sizeof a, "%d", q->power), snprintf(b, sizeof b, "%d", p->power);
  else if (sn_spec_rule_differs(q, p)) what = "channel_rule", snprintf(a, sizeof a, "%s", q->channel_rule), snprintf(b, sizeof b, "%s", p->channel_rule);
  if (!d->has_par) what = NULL; /* a bare W: the command line describes it */
  if (what)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: %s was made with %s=%s, but the input has %s=%s", d->file, d->dset, what, a,
                   what, b);
  const int ctx = d->has_par ? q->context : 0;
  if (d->F != (int64_t)(p->n_fft / 2 + 1) * (2 * ctx + 1))
    return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %lld rows, but the input's n_fft=%d gives %d bins%s", d->file, d->dset,
                   (long long)d->F, p->n_fft, p->n_fft / 2 + 1,
                   ctx ? " times the 2 context + 1 frames it records" : "");
  return SN_OK;
}

int sn_dict_write(sn_h5 *f, const char *dset, int64_t F, int64_t R, const float *W, const sn_spec_params *p,
                  const sn_dict_meta *m, sn_err *e) {
  int rank = 0, rc;
  SN_MPI_CALL(MPI_Comm_rank(sn_h5_comm(f), &rank));
  SN_CHECK(sn_h5_write_cols(f, dset, F, R, 0, rank == 0 ? R : 0, W, F, e));
  SN_CHECK(sn_spec_params_write(f, dset, p, e));
  SN_CHECK(sn_h5_attr_set_str(f, dset, "source", m->name, e));
  SN_CHECK(sn_h5_attr_set_double(f, dset, "beta", m->beta, e));
  SN_CHECK(sn_h5_attr_set_str(f, dset, "solver", m->solver, e));
  SN_CHECK(sn_h5_attr_set_str(f, dset, "init", m->init, e));
  SN_CHECK(sn_h5_attr_set_int(f, dset, "n_iter", m->n_iter, e));
  SN_CHECK(sn_h5_attr_set_int(f, dset, "converged", m->converged, e));
  SN_CHECK(sn_h5_attr_set_double(f, dset, "loss", m->loss, e));
  SN_CHECK(sn_h5_attr_set_double(f, dset, "seconds", m->seconds, e));
  SN_CHECK(sn_h5_attr_set_int(f, dset, "n_files", m->n_files, e));
  SN_CHECK(sn_h5_attr_set_int(f, dset, "n_frames", m->n_frames, e));
  SN_CHECK(sn_h5_attr_set_str(f, dset, "files", m->files, e));
  SN_CHECK(sn_h5_attr_set_str(f, dset, "options", m->options, e));
cleanup:
  return rc;
}
