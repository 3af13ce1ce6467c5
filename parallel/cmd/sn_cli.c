/* Command-line plumbing (see sn_cli.h). */
#include "sn_cli.h"

#include <stdio.h>
#include <string.h>

#include "sn_comm.h"

int sn_cli_parse(sn_run *run, const sn_common *c, const char *synopsis, const char *about,
                 const sn_opt *const *tables, int argc, char **argv, const char **pos, int min_pos,
                 int max_pos, int *n_pos, int *done) {
  int help = 0;
  *done = 0;
  int rc = sn_opts_parse(run->cmd, tables, argc, argv, pos, max_pos, n_pos, &help, &run->err);
  if (rc == SN_OK && help) {
    if (run->rank == 0) sn_opts_usage(stdout, run->cmd, synopsis, about, tables);
    *done = 1;
  } else if (rc == SN_OK && *n_pos < min_pos) {
    rc = SN_FAIL(&run->err, SN_ERR_USAGE, "%s: missing argument (usage: specnmf %s %s)", run->cmd, run->cmd,
                 synopsis);
  }
  if (rc == SN_OK && !help) {
    run->quiet = c->quiet;
    run->report = c->report;
    sn_opts_json(tables, run->options, sizeof run->options);
  }
  return sn_agree(run->comm, rc, &run->err);
}
