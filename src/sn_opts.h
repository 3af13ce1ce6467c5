#pragma once
/* Table-driven command-line options shared by every command. A command passes
 * a NULL-terminated list of tables (common, stft, nmf, ...). Every rank parses
 * the same argv, so no broadcast is needed; the caller agrees on the result.
 * Local. */
#include <stdio.h>
#include "sn_base.h"

typedef enum { SN_OPT_FLAG, SN_OPT_INT, SN_OPT_INT64, SN_OPT_DOUBLE, SN_OPT_STRING, SN_OPT_LIST } sn_opt_type;

/* Values of a list option (SN_OPT_LIST): "--ref A.wav B.wav" takes every
 * following argument up to the next one that starts with '-'; repeating the
 * option appends. At most SN_OPT_LIST_MAX values. */
#define SN_OPT_LIST_MAX 100
typedef struct sn_strlist {
  int n;
  const char *v[SN_OPT_LIST_MAX];
} sn_strlist;

typedef struct sn_opt {
  const char *name;      /* long name with dashes: "--n-fft"; NULL ends a table */
  char shortname;        /* 'o' for -o, or 0 */
  sn_opt_type type;
  void *dst;             /* int* for FLAG/INT, int64_t*, double*, const char**, sn_strlist* */
  const char *metavar;   /* "N", "FILE", NULL for flags */
  const char *help;      /* one line; may mention the default */
} sn_opt;

/* Parse argv[0..argc) (argv[0] is the first argument after the command name).
 * Options may be given as "--name value" or "--name=value"; "--" ends options.
 * Positional arguments go to pos (at most max_pos, else SN_ERR_USAGE). --help/-h
 * sets *help = 1 and stops. Errors: unknown option, missing or malformed value
 * (integers and numbers must parse completely and be finite). */
int sn_opts_parse(const char *cmd, const sn_opt *const *tables, int argc, char **argv,
                  const char **pos, int max_pos, int *n_pos, int *help, sn_err *e);

/* Print "usage: specnmf CMD SYNOPSIS" and every option with its help. */
void sn_opts_usage(FILE *out, const char *cmd, const char *synopsis, const char *about,
                   const sn_opt *const *tables);

/* Append the parsed options as JSON members ("name": value, ...) to buf (for
 * the run report). */
void sn_opts_json(const sn_opt *const *tables, char *buf, size_t cap);

/* Append s as a JSON string literal (quoted, escaped) to buf at *len, never
 * past cap. */
void sn_json_str(char *buf, size_t cap, size_t *len, const char *s);
