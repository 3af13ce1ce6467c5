/* Table-driven option parsing (see sn_opts.h). */
#include "sn_opts.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const sn_opt *sn_opt_find(const sn_opt *const *tables, const char *name, size_t len,
                                 char shortname) {
  for (const sn_opt *const *t = tables; *t; t++)
    for (const sn_opt *o = *t; o->name; o++) {
      if (shortname && o->shortname == shortname) return o;
      if (!shortname && strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
    }
  return NULL;
}

static int sn_opt_set(const char *cmd, const sn_opt *o, const char *val, sn_err *e) {
  char *end = NULL;
  errno = 0;
  switch (o->type) {
    case SN_OPT_FLAG:
      *(int *)o->dst = 1;
      return SN_OK;
    case SN_OPT_INT:
    case SN_OPT_INT64: {
      long long v = strtoll(val, &end, 10);
      if (errno || end == val || *end != '\0')
        return SN_FAIL(e, SN_ERR_USAGE, "%s %s: '%s' is not an integer", cmd, o->name, val);
      if (o->type == SN_OPT_INT) {
        if (v < -2147483647LL || v > 2147483647LL)
          return SN_FAIL(e, SN_ERR_USAGE, "%s %s: %s is out of range", cmd, o->name, val);
        *(int *)o->dst = (int)v;
      } else {
        *(int64_t *)o->dst = (int64_t)v;
      }
      return SN_OK;
    }
    case SN_OPT_DOUBLE: {
      double v = strtod(val, &end);
      if (errno || end == val || *end != '\0' || !isfinite(v))
        return SN_FAIL(e, SN_ERR_USAGE, "%s %s: '%s' is not a finite number", cmd, o->name, val);
      *(double *)o->dst = v;
      return SN_OK;
    }
    case SN_OPT_STRING:
      *(const char **)o->dst = val;
      return SN_OK;
    case SN_OPT_LIST: {
      sn_strlist *l = (sn_strlist *)o->dst;
      if (l->n >= SN_OPT_LIST_MAX)
        return SN_FAIL(e, SN_ERR_USAGE, "%s %s: more than %d values", cmd, o->name, SN_OPT_LIST_MAX);
      l->v[l->n++] = val;
      return SN_OK;
    }
  }
  return SN_FAIL(e, SN_ERR_INTERNAL, "%s %s: unknown option type", cmd, o->name);
}

int sn_opts_parse(const char *cmd, const sn_opt *const *tables, int argc, char **argv,
                  const char **pos, int max_pos, int *n_pos, int *help, sn_err *e) {
  *n_pos = 0;
  *help = 0;
  int only_pos = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || a[1] == '\0') {
      if (*n_pos >= max_pos)
        return SN_FAIL(e, SN_ERR_USAGE, "%s: unexpected argument '%s' (see specnmf %s --help)",
                       cmd, a, cmd);
      pos[(*n_pos)++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_pos = 1;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = 1;
      return SN_OK;
    }
    const sn_opt *o;
    const char *val = NULL;
    if (a[1] == '-') {
      const char *eq = strchr(a, '=');
      size_t len = eq ? (size_t)(eq - a) : strlen(a);
      o = sn_opt_find(tables, a, len, 0);
      if (eq) val = eq + 1;
    } else {
      if (a[2] != '\0')
        return SN_FAIL(e, SN_ERR_USAGE, "%s: unknown option '%s' (see specnmf %s --help)", cmd, a, cmd);
      o = sn_opt_find(tables, NULL, 0, a[1]);
    }
    if (!o) return SN_FAIL(e, SN_ERR_USAGE, "%s: unknown option '%s' (see specnmf %s --help)", cmd, a, cmd);
    if (o->type == SN_OPT_FLAG) {
      if (val) return SN_FAIL(e, SN_ERR_USAGE, "%s %s: takes no value", cmd, o->name);
    } else if (!val) {
      if (i + 1 >= argc) return SN_FAIL(e, SN_ERR_USAGE, "%s %s: needs a value (%s)", cmd, o->name, o->metavar ? o->metavar : "VALUE");
      val = argv[++i];
    }
    int rc = sn_opt_set(cmd, o, val, e);
    if (rc) return rc;
    /* A list takes the following arguments up to the next option. */
    while (o->type == SN_OPT_LIST && i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] != '\0')) {
      rc = sn_opt_set(cmd, o, argv[++i], e);
      if (rc) return rc;
    }
  }
  return SN_OK;
}

void sn_opts_usage(FILE *out, const char *cmd, const char *synopsis, const char *about,
                   const sn_opt *const *tables) {
  fprintf(out, "usage: specnmf %s %s\n", cmd, synopsis);
  if (about && *about) fprintf(out, "\n%s\n", about);
  fprintf(out, "\noptions:\n");
  for (const sn_opt *const *t = tables; *t; t++)
    for (const sn_opt *o = *t; o->name; o++) {
      char lhs[96];
      if (o->shortname)
        snprintf(lhs, sizeof lhs, "-%c, %s%s%s", o->shortname, o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
      else
        snprintf(lhs, sizeof lhs, "%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
      fprintf(out, "  %-28s %s\n", lhs, o->help ? o->help : "");
    }
  fprintf(out, "  %-28s %s\n", "-h, --help", "show this help and exit");
}

void sn_json_str(char *buf, size_t cap, size_t *len, const char *s) {
  if (*len + 2 >= cap) return;
  buf[(*len)++] = '"';
  for (; s && *s && *len + 8 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      buf[(*len)++] = '\\';
      buf[(*len)++] = (char)c;
    } else if (c < 0x20) {
      *len += (size_t)snprintf(buf + *len, cap - *len, "\\u%04x", c);
    } else {
      buf[(*len)++] = (char)c;
    }
  }
  buf[(*len)++] = '"';
  buf[*len] = '\0';
}

void sn_opts_json(const sn_opt *const *tables, char *buf, size_t cap) {
  size_t len = strlen(buf);
  for (const sn_opt *const *t = tables; *t; t++)
    for (const sn_opt *o = *t; o->name; o++) {
      if (len + 64 >= cap) return;
      if (len) len += (size_t)snprintf(buf + len, cap - len, ", ");
      sn_json_str(buf, cap, &len, o->name + 2);
      len += (size_t)snprintf(buf + len, cap - len, ": ");
      switch (o->type) {
        case SN_OPT_FLAG:
        case SN_OPT_INT:
          len += (size_t)snprintf(buf + len, cap - len, "%d", *(int *)o->dst);
          break;
        case SN_OPT_INT64:
          len += (size_t)snprintf(buf + len, cap - len, "%" PRId64, *(int64_t *)o->dst);
          break;
        case SN_OPT_DOUBLE:
          len += (size_t)snprintf(buf + len, cap - len, "%.17g", *(double *)o->dst);
          break;
        case SN_OPT_LIST: {
          const sn_strlist *l = (const sn_strlist *)o->dst;
          len += (size_t)snprintf(buf + len, cap - len, "[");
          for (int k = 0; k < l->n && len + 8 < cap; k++) {
            if (k) len += (size_t)snprintf(buf + len, cap - len, ", ");
            sn_json_str(buf, cap, &len, l->v[k]);
          }
          if (len + 2 < cap) len += (size_t)snprintf(buf + len, cap - len, "]");
          break;
        }
        case SN_OPT_STRING: {
          const char *s = *(const char **)o->dst;
          if (s)
            sn_json_str(buf, cap, &len, s);
          else
            len += (size_t)snprintf(buf + len, cap - len, "null");
          break;
        }
      }
      if (len >= cap) {
        buf[cap - 1] = '\0';
        return;
      }
    }
}
