/* Named sources for separate (see sn_sources.h). */
#include "sn_sources.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_comm.h"
#include "sn_dict.h"

/* Local. Does name collide with another output's name (rest, result,
 * overview, component-NN, source-NN, template-NN)? */
static int reserved(const char *name) {
  static const char *const fixed[] = {"rest", "result", "overview", NULL};
  static const char *const numbered[] = {"component-", "source-", "template-", NULL};
  for (int i = 0; fixed[i]; i++)
    if (!strcmp(name, fixed[i])) return 1;
  for (int i = 0; numbered[i]; i++) {
    size_t n = strlen(numbered[i]);
    if (strncmp(name, numbered[i], n)) continue;
    const char *d = name + n;
    if (!*d) continue;
    while (isdigit((unsigned char)*d)) d++;
    if (!*d) return 1;
  }
  return 0;
}

int sn_sources_parse(const sn_strlist *l, sn_sources *s, sn_err *e) {
  memset(s, 0, sizeof *s);
  for (int i = 0; i < l->n; i++) {
    const char *arg = l->v[i], *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
      return SN_FAIL(e, SN_ERR_USAGE, "separate --source: '%s' is not NAME=DICT.h5[:/path]", arg);
    size_t n = (size_t)(eq - arg);
    if (n >= sizeof s->name[0]) return SN_FAIL(e, SN_ERR_USAGE, "separate --source: the name in '%s' is too long (63 at most)", arg);
    memcpy(s->name[i], arg, n);
    s->name[i][n] = '\0';
    if (!sn_dict_name_ok(s->name[i]))
      return SN_FAIL(e, SN_ERR_USAGE, "separate --source: '%s' is not a name (letters, digits, - and _)", s->name[i]);
    if (reserved(s->name[i]))
      return SN_FAIL(e, SN_ERR_USAGE,
                     "separate --source: '%s' is the name of another output (rest, result, overview, component-NN, source-NN)",
                     s->name[i]);
    for (int j = 0; j < i; j++)
      if (!strcmp(s->name[j], s->name[i]))
        return SN_FAIL(e, SN_ERR_USAGE, "separate --source: the name '%s' is given twice", s->name[i]);
    if (snprintf(s->file[i], sizeof s->file[i], "%s", eq + 1) >= (int)sizeof s->file[i])
      return SN_FAIL(e, SN_ERR_USAGE, "separate --source: path too long in '%s'", arg);
  }
  s->n = l->n;
  return SN_OK;
}

void sn_sources_free(sn_sources *s) {
  sn_free(s->W);
  s->W = NULL;
}

/* Local. Dictionary i against the input's parameters and the β of the
 * dictionaries before it (the first one that records a β sets it, unless
 * --beta was given). */
static int dict_check_one(const sn_dict *d, int i, const sn_spec_params *p, int beta_given, int *beta_from,
                          sn_sources *s, sn_err *e) {
  int rc = sn_dict_check(&d[i], p, e);
  const int ctx = d[i].has_par ? d[i].par.context : 0;
  if (rc == SN_OK && i > 0 && ctx != s->context)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: learned with --context %d, but %s with --context %d (learn them alike)", d[i].file,
                 ctx, d[0].file, s->context);
  if (i == 0) s->context = ctx;
  if (rc || !d[i].has_beta || beta_given) return rc;
  if (*beta_from >= 0 && d[i].beta != s->beta)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: learned with beta %g, but %s with beta %g (give --beta to choose)", d[i].file,
                   d[i].beta, d[*beta_from].file, s->beta);
  if (*beta_from < 0) {
    *beta_from = i;
    s->beta = d[i].beta;
    s->has_beta = 1;
  }
  return SN_OK;
}

int sn_sources_load(sn_run *run, const sn_spec_params *p, int beta_given, sn_sources *s) {
  sn_err *e = &run->err;
  sn_dict *d = calloc((size_t)s->n, sizeof *d);
  int rc = sn_agree(run->comm, d ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "separate --source: out of memory"), e);
  if (rc) return rc;
  int beta_from = -1;
  for (int i = 0; i < s->n; i++) {
    SN_CHECK(sn_dict_read(run->comm, s->file[i], &d[i], e));
    /* the same on every rank: every rank read the same file */
    SN_AGREE(run, dict_check_one(d, i, p, beta_given, &beta_from, s, e));
    s->first[i + 1] = s->first[i] + d[i].R;
  }
  s->F = (int64_t)(p->n_fft / 2 + 1) * (2 * s->context + 1);
  s->W = sn_calloc((size_t)(s->F * s->first[s->n]) * sizeof(float), "source dictionaries", e);
  SN_CHECK(sn_agree(run->comm, s->W ? SN_OK : SN_ERR_NOMEM, e));
  for (int i = 0; i < s->n; i++)
    memcpy(s->W + s->first[i] * s->F, d[i].W, (size_t)(s->F * d[i].R) * sizeof(float));
cleanup:
  for (int i = 0; i < s->n; i++) sn_dict_free(&d[i]);
  free(d);
  if (rc) sn_sources_free(s);
  return rc;
}
