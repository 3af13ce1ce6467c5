/* Spectrogram parameters as HDF5 attributes, typed (sn_spec_params) and as
 * they are on a plain matrix (sn_spec_attrs); the spectrogram file (see
 * sn_spec_io.h). */
#include "sn_spec_io.h"

#include "sn_comm.h"
#include "sn_run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The spectrogram file: /stft/magnitude and /stft/complex. */

int sn_spec_params_write(sn_h5 *f, const char *obj, const sn_spec_params *p, sn_err *e) {
  int rc = SN_OK;
  SN_CHECK(sn_h5_attr_set_double(f, obj, "sample_rate", p->sample_rate, e));
  SN_CHECK(sn_h5_attr_set_int(f, obj, "n_fft", p->n_fft, e));
  SN_CHECK(sn_h5_attr_set_int(f, obj, "hop_length", p->hop, e));
  SN_CHECK(sn_h5_attr_set_int(f, obj, "win_length", p->win_length, e));
  SN_CHECK(sn_h5_attr_set_str(f, obj, "window", p->window, e));
  SN_CHECK(sn_h5_attr_set_int(f, obj, "center", p->center, e));
  SN_CHECK(sn_h5_attr_set_int(f, obj, "power", p->power, e));
  SN_CHECK(sn_h5_attr_set_int(f, obj, "n_samples", p->n_samples, e));
  SN_CHECK(sn_h5_attr_set_str(f, obj, "input", p->input, e));
  if (p->channels > 0) SN_CHECK(sn_h5_attr_set_int(f, obj, "channels", p->channels, e));
  if (p->channel_rule[0]) SN_CHECK(sn_h5_attr_set_str(f, obj, "channel_rule", p->channel_rule, e));
  if (p->context > 0) SN_CHECK(sn_h5_attr_set_int(f, obj, "context", p->context, e));
cleanup:
  return rc;
}

int sn_spec_params_read(sn_h5 *f, const char *obj, sn_spec_params *p, sn_err *e) {
  int rc = SN_OK, found = 0;
  int64_t v = 0;
  memset(p, 0, sizeof *p);
  const char *missing = NULL;
  SN_CHECK(sn_h5_attr_get_double(f, obj, "sample_rate", &p->sample_rate, &found, e));
  if (!found) missing = "sample_rate";
  SN_CHECK(sn_h5_attr_get_int(f, obj, "n_fft", &v, &found, e));
  if (!found && !missing) missing = "n_fft";
  p->n_fft = (int)v;
  SN_CHECK(sn_h5_attr_get_int(f, obj, "hop_length", &v, &found, e));
  if (!found && !missing) missing = "hop_length";
  p->hop = (int)v;
  SN_CHECK(sn_h5_attr_get_str(f, obj, "window", p->window, sizeof p->window, &found, e));
  if (!found && !missing) missing = "window";
  if (missing) {
    /* Same outcome on every rank: the attributes are the same everywhere. */
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has no attribute %s (not a specnmf spectrogram?)", sn_h5_path(f), obj,
                 missing);
    goto cleanup;
  }
  v = p->n_fft;
  SN_CHECK(sn_h5_attr_get_int(f, obj, "win_length", &v, &found, e));
  p->win_length = found ? (int)v : p->n_fft;
  SN_CHECK(sn_h5_attr_get_int(f, obj, "center", &v, &found, e));
  p->center = found ? (int)v : 1;
  SN_CHECK(sn_h5_attr_get_int(f, obj, "power", &v, &found, e));
  p->power = found ? (int)v : 1;
  SN_CHECK(sn_h5_attr_get_int(f, obj, "n_samples", &v, &found, e));
  p->n_samples = found ? v : 0;
  SN_CHECK(sn_h5_attr_get_str(f, obj, "input", p->input, sizeof p->input, &found, e));
  SN_CHECK(sn_h5_attr_get_int(f, obj, "channels", &v, &found, e));
  p->channels = found ? (int)v : 0;
  SN_CHECK(sn_h5_attr_get_str(f, obj, "channel_rule", p->channel_rule, sizeof p->channel_rule, &found, e));
  if (!found) p->channel_rule[0] = '\0';
  SN_CHECK(sn_h5_attr_get_int(f, obj, "context", &v, &found, e));
  p->context = found ? (int)v : 0;
  if (!(p->sample_rate > 0 && isfinite(p->sample_rate)) || p->n_fft <= 0 || p->hop <= 0 || p->win_length <= 0 ||
      p->win_length > p->n_fft || p->n_samples < 0 || p->context < 0 || p->context > SN_CONTEXT_MAX)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has invalid spectrogram attributes", sn_h5_path(f), obj);
  else if (p->power != 1 && p->power != 2)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has power %d; specnmf reads magnitudes (1) and powers (2)", sn_h5_path(f),
                 obj, p->power);
cleanup:
  /* Every rank found the same; agreeing keeps one rank's message only. */
  return sn_agree(sn_h5_comm(f), rc, e);
}

int sn_spec_params_check(const sn_spec_params *a, const sn_spec_params *b, const char *what, sn_err *e) {
  if (a->sample_rate != b->sample_rate || a->n_fft != b->n_fft || a->hop != b->hop ||
      a->win_length != b->win_length || strcmp(a->window, b->window) != 0)
    return SN_FAIL(e, SN_ERR_INPUT,
                   "%s: made with sample_rate %g, n_fft %d, hop %d, win_length %d, window %s; "
                   "the spectrogram has %g, %d, %d, %d, %s",
                   what, b->sample_rate, b->n_fft, b->hop, b->win_length, b->window, a->sample_rate, a->n_fft,
                   a->hop, a->win_length, a->window);
  if (sn_spec_rule_differs(a, b))
    return SN_FAIL(e, SN_ERR_INPUT, "%s: made with channel_rule %s, but the spectrogram has channel_rule %s (see --mono, --channel)",
                   what, b->channel_rule, a->channel_rule);
  return SN_OK;
}

int sn_spec_rule_differs(const sn_spec_params *a, const sn_spec_params *b) {
  if (!a->channel_rule[0] || !b->channel_rule[0]) return 0;
  if (!strncmp(a->channel_rule, "channel", 7) && !strncmp(b->channel_rule, "channel", 7)) return 0;
  return strcmp(a->channel_rule, b->channel_rule) != 0;
}

int sn_spec_out_channels(const sn_spec_params *p) {
  if (p->channels > 1 && (!strcmp(p->channel_rule, "mag-mean") || !strcmp(p->channel_rule, "rms"))) return p->channels;
  return 1;
}

void sn_spec_free(sn_spec *s) {
  sn_free(s->mag);
  sn_free(s->cplx);
  sn_free(s->model);
  s->mag = s->cplx = s->model = NULL;
}

int sn_spec_write(sn_run *run, sn_h5 *f, const sn_spec *s) {
  sn_err *e = &run->err;
  int rc = SN_OK;
  sn_spec_params plain = s->par; /* mag and cplx hold plain frames, whatever context the model stacks */
  plain.context = 0;
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  rc = sn_fault("write", run->rank, e);
  rc = sn_agree(run->comm, rc, e);
  if (rc == SN_OK && s->mag) {
    rc = sn_h5_write_cols(f, "/stft/magnitude", s->F, s->N, s->start, s->n_local, s->mag, s->F, e);
    if (rc == SN_OK) rc = sn_spec_params_write(f, "/stft/magnitude", &plain, e);
  }
  if (rc == SN_OK && s->cplx) {
    rc = sn_h5_write_cols_complex(f, "/stft/complex", s->F, s->N, s->start, s->n_local, s->cplx, s->F, e);
    if (rc == SN_OK) rc = sn_spec_params_write(f, "/stft/complex", &plain, e);
  }
  sn_timer_end(&run->timer, SN_PH_WRITE);
  return rc;
}

int sn_spec_read(sn_run *run, const char *spec, int want_complex, sn_spec *s) {
  memset(s, 0, sizeof *s);
  sn_err *e = &run->err;
  char file[4096], dset[1024];
  sn_h5 *f = NULL;
  int rc = sn_h5_split_spec(spec, want_complex ? "/stft/complex" : "/stft/magnitude", file, sizeof file, dset,
                            sizeof dset, e);
  rc = sn_agree(run->comm, rc, e);
  if (rc) return rc;
  sn_timer_begin(&run->timer, SN_PH_READ);
  SN_CHECK(sn_h5_open(run->comm, file, &f, e));
  int nd = 0;
  int64_t dims[2];
  SN_CHECK(sn_h5_shape(f, dset, &nd, dims, e));
  if (nd != 2) rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %d dimensions, expected 2 (bins, frames)", file, dset, nd);
  SN_CHECK(sn_agree(run->comm, rc, e));
  SN_CHECK(sn_spec_params_read(f, dset, &s->par, e));
  if (dims[0] != s->par.n_fft / 2 + 1)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %lld rows, but n_fft %d gives %d bins", file, dset,
                 (long long)dims[0], s->par.n_fft, s->par.n_fft / 2 + 1);
  else if (dims[1] < 1)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has no frames", file, dset);
  SN_CHECK(sn_agree(run->comm, rc, e));
  s->F = (int)dims[0];
  s->N = dims[1];
  sn_block_range(s->N, run->size, run->rank, &s->start, &s->n_local);
  size_t nel = (size_t)s->F * (size_t)s->n_local * (want_complex ? 2 : 1);
  float *blk = sn_calloc(nel * sizeof(float), "spectrogram block", e);
  SN_CHECK(sn_agree(run->comm, blk ? SN_OK : SN_ERR_NOMEM, e));
  if (want_complex) {
    s->cplx = blk;
    SN_CHECK(sn_h5_read_cols_complex(f, dset, s->F, s->start, s->n_local, s->cplx, s->F, e));
  } else {
    s->mag = blk;
    SN_CHECK(sn_h5_read_cols(f, dset, s->F, s->start, s->n_local, s->mag, s->F, e));
  }
cleanup:
  sn_timer_end(&run->timer, SN_PH_READ);
  int crc = sn_h5_close(&f, 0, e);
  if (rc == SN_OK) rc = crc;
  if (rc) sn_spec_free(s);
  return rc;
}

/* ---- the attributes of a plain matrix, as they are (sn_spec_attrs) ---- */

const char *const sn_spec_keys[SN_SPEC_NKEYS] = {"sample_rate", "n_fft", "hop_length", "win_length",
                                                 "window", "center", "power", "channel_rule"};

/* Collective. An attribute that is neither a string nor a number fails with
 * the string reader's message (e.g. a corrupted variable-length string that
 * libhdf5 cannot read: see sn_h5_attr_get_str). */
int sn_spec_attrs_read(sn_h5 *f, const char *obj, sn_spec_attrs *a, sn_err *e) {
  memset(a, 0, sizeof *a);
  for (int k = 0; k < SN_SPEC_NKEYS; k++) {
    /* s and s2 hold the two attempts' messages: a string attribute fails the
     * number reader and a number the string reader, so a single failure is
     * the expected case, not an error; only when both fail is s reported. */
    sn_err s = {0};
    int found = 0;
    int src = sn_h5_attr_get_str(f, obj, sn_spec_keys[k], a->str[k], sizeof a->str[k], &found, &s);
    if (src == SN_OK) {
      if (found) a->kind[k] = 2;
      continue;
    }
    sn_err s2 = {0};
    found = 0;
    if (sn_h5_attr_get_double(f, obj, sn_spec_keys[k], &a->num[k], &found, &s2) == SN_OK) {
      if (found) a->kind[k] = 1;
      continue;
    }
    /* agreed codes: every rank gets here together; the rank holding s's message prints it */
    if (s.msg[0]) SN_FAIL(e, src, "%s", s.msg);
    return sn_agree(sn_h5_comm(f), src, e);
  }
  return SN_OK;
}

int sn_spec_attrs_write(sn_h5 *f, const char *obj, const sn_spec_attrs *a, sn_err *e) {
  int rc = SN_OK;
  for (int k = 0; k < SN_SPEC_NKEYS && rc == SN_OK; k++) {
    if (a->kind[k] == 2) {
      rc = sn_h5_attr_set_str(f, obj, sn_spec_keys[k], a->str[k], e);
    } else if (a->kind[k] == 1) {
      double v = a->num[k];
      if (strcmp(sn_spec_keys[k], "power") != 0 && v == floor(v) && fabs(v) < 9e15)
        rc = sn_h5_attr_set_int(f, obj, sn_spec_keys[k], (int64_t)v, e);
      else
        rc = sn_h5_attr_set_double(f, obj, sn_spec_keys[k], v, e);
    }
  }
  return rc;
}

/* Local: SN_ERR_INPUT if b (from file `what`) disagrees with the input's a. */
int sn_spec_attrs_check(const sn_spec_attrs *a, const sn_spec_attrs *b, const char *what,
                        const char *input, sn_err *e) {
  for (int k = 0; k < SN_SPEC_NKEYS; k++) {
    if (!a->kind[k] || !b->kind[k]) continue;
    if (strcmp(sn_spec_keys[k], "power") == 0 || strcmp(sn_spec_keys[k], "center") == 0 ||
        strcmp(sn_spec_keys[k], "win_length") == 0) {
      /* compared too: a different spectrogram definition */
    }
    int same = a->kind[k] == b->kind[k] &&
               (a->kind[k] == 1 ? a->num[k] == b->num[k] : strcmp(a->str[k], b->str[k]) == 0);
    if (!same) {
      char va[80], vb[80];
      if (a->kind[k] == 1) snprintf(va, sizeof va, "%g", a->num[k]); else snprintf(va, sizeof va, "%s", a->str[k]);
      if (b->kind[k] == 1) snprintf(vb, sizeof vb, "%g", b->num[k]); else snprintf(vb, sizeof vb, "%s", b->str[k]);
      return SN_FAIL(e, SN_ERR_INPUT, "%s: made with %s=%s but %s has %s=%s; refusing to mix spectrograms", what,
                     sn_spec_keys[k], vb, input, sn_spec_keys[k], va);
    }
  }
  return SN_OK;
}
