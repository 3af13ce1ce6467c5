#pragma once
/* Command-line plumbing shared by every command: the common options (-o,
 * --force, --quiet, --report), parsing with agreement, --help from one rank.
 * Each command is `int sn_cmd_NAME(sn_run *run, int argc, char **argv)`,
 * Collective over run->comm, returning an agreed code. */
#include "sn_opts.h"
#include "sn_run.h"

typedef struct sn_common {
  const char *output;   /* -o PATH */
  int force;            /* --force: overwrite an existing output */
  int quiet;            /* --quiet */
  const char *report;   /* --report FILE.json */
} sn_common;

#define SN_COMMON_OPTS(c)                                                                    \
  {"--output", 'o', SN_OPT_STRING, &(c)->output, "PATH", "output file (required)"},          \
  {"--force", 0, SN_OPT_FLAG, &(c)->force, NULL, "overwrite an existing output"},            \
  {"--quiet", 'q', SN_OPT_FLAG, &(c)->quiet, NULL, "no progress or timing lines on stderr"}, \
  {"--report", 0, SN_OPT_STRING, &(c)->report, "FILE.json", "write the run report (phases, sizes, options)"}

/* Collective. Parse argv with the given tables (the command's first table
 * should include SN_COMMON_OPTS), require between min_pos and max_pos
 * positional arguments, print usage on --help (rank 0; *done = 1), copy
 * quiet/report into run and the options into the report. Agreed code. */
int sn_cli_parse(sn_run *run, const sn_common *c, const char *synopsis, const char *about,
                 const sn_opt *const *tables, int argc, char **argv, const char **pos,
                 int min_pos, int max_pos, int *n_pos, int *done);

/* Commands (one per file in parallel/cmd/sn_cmd_*.c). */
int sn_cmd_stft(sn_run *run, int argc, char **argv);
int sn_cmd_istft(sn_run *run, int argc, char **argv);
