/* Output folders (see sn_outdir.h). */
#include "sn_outdir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int sn_is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int sn_outdir_precheck(const char *dir, sn_err *e) {
  char buf[4096];
  if (!dir[0]) return SN_FAIL(e, SN_ERR_USAGE, "separate: -o OUTDIR is empty");
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
    return SN_FAIL(e, SN_ERR_USAGE, "%s: path too long", dir);
  struct stat st;
  if (stat(buf, &st) == 0)
    return S_ISDIR(st.st_mode) ? SN_OK
                               : SN_FAIL(e, SN_ERR_IO, "%s: cannot create the output folder: it exists and is not a folder", dir);
  for (;;) {
    char *slash = strrchr(buf, '/');
    while (slash && slash > buf && slash[1] == '\0') { /* trailing slashes */
      *slash = '\0';
      slash = strrchr(buf, '/');
    }
    if (!slash) return SN_OK; /* relative, ancestor is "." */
    if (slash == buf) return SN_OK;
    *slash = '\0';
    if (stat(buf, &st) == 0) {
      if (S_ISDIR(st.st_mode)) return access(buf, W_OK | X_OK) == 0
                                          ? SN_OK
                                          : SN_FAIL(e, SN_ERR_IO, "%s: cannot create the output folder: %s is not writable", dir, buf);
      return SN_FAIL(e, SN_ERR_IO, "%s: cannot create the output folder: %s is not a folder", dir, buf);
    }
  }
}

/* Local (rank 0). mkdir -p, remembering the folders it made. */
static int sn_outdir_make(sn_outdir *o, sn_err *e) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", o->path);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char c = buf[i];
    buf[i] = '\0';
    if (!sn_is_dir(buf)) {
      if (mkdir(buf, 0777) != 0 && !(errno == EEXIST && sn_is_dir(buf)))
        return SN_FAIL(e, SN_ERR_IO, "%s: cannot create the output folder: %s", o->path, strerror(errno));
      if (o->n_dirs < SN_OUTDIR_MAX_CREATED) snprintf(o->dirs[o->n_dirs++], sizeof o->dirs[0], "%s", buf);
    }
    buf[i] = c;
  }
  return SN_OK;
}

void sn_outdir_file(sn_outdir *o, const char *path) {
  if (o->n_files < SN_OUTDIR_MAX_CREATED) snprintf(o->files[o->n_files++], sizeof o->files[0], "%s", path);
}

void sn_outdir_undo(sn_outdir *o) {
  for (int i = 0; i < o->n_files; i++) unlink(o->files[i]);
  for (int i = o->n_dirs - 1; i >= 0; i--) rmdir(o->dirs[i]);
  o->n_files = o->n_dirs = 0;
}

int sn_outdir_create(sn_run *run, sn_outdir *o) {
  return sn_run_agree(run, run->rank == 0 ? sn_outdir_make(o, &run->err) : SN_OK);
}
