#pragma once
/* An output folder (separate's OUTDIR, griffinlim --templates): checked
 * before any work, created (mkdir -p) once the inputs are good, and after a
 * failure undone: the files this run committed and the folders it created
 * are removed, nothing older. Rank 0 does the file-system work. */
#include "sn_run.h"

#define SN_OUTDIR_MAX_CREATED 64

typedef struct sn_outdir {
  char path[4096];
  int n_dirs;                               /* folders this run created (rank 0) */
  char dirs[SN_OUTDIR_MAX_CREATED][4096];
  int n_files;                              /* files this run committed (rank 0) */
  char files[SN_OUTDIR_MAX_CREATED][4200];
} sn_outdir;

/* Local (rank 0). Can `dir` be created? Walk up to the nearest existing
 * ancestor: it (and dir, if it exists) must be a folder (writable, for the
 * ancestor). Creates nothing. SN_ERR_USAGE (empty, too long) or SN_ERR_IO. */
int sn_outdir_precheck(const char *dir, sn_err *e);

/* Collective. Create o->path on rank 0 (mkdir -p, remembering the folders it
 * made), before anything is written. Returns the agreed code. */
int sn_outdir_create(sn_run *run, sn_outdir *o);

/* Local (rank 0). Remember a file committed into the folder (at most
 * SN_OUTDIR_MAX_CREATED; more are not undone). */
void sn_outdir_file(sn_outdir *o, const char *path);

/* Local (rank 0). After a failure: remove what this run committed and the
 * folders it created (if they are empty then). */
void sn_outdir_undo(sn_outdir *o);
