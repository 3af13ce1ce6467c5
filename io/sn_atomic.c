/* Atomic output: temporary name, then rename or remove (see sn_atomic.h). */
#include "sn_atomic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sn_base.h"

int sn_atomic_name(char *buf, size_t cap, const char *path, const char *suffix) {
  int n = suffix ? snprintf(buf, cap, "%s%s", path, suffix)
                 : snprintf(buf, cap, "%s" SN_TMP_TAG "%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= cap) {
    if (cap) buf[0] = '\0';
    return ENAMETOOLONG;
  }
  return 0;
}

int sn_atomic_begin(sn_atomic *a, const char *path, const char *suffix) {
  a->tmp[0] = '\0';
  a->watched = 0;
  if (strlen(path) >= sizeof a->path) {
    a->path[0] = '\0';
    return ENAMETOOLONG;
  }
  strcpy(a->path, path);
  int err = sn_atomic_name(a->tmp, sizeof a->tmp, path, suffix);
  if (err) return err;
  if (!suffix) {
    sn_tmp_add(a->tmp);
    a->watched = 1;
  }
  return 0;
}

static void sn_atomic_forget(sn_atomic *a) {
  if (a->watched) sn_tmp_remove(a->tmp);
  a->watched = 0;
  a->tmp[0] = '\0';
}

int sn_atomic_commit(sn_atomic *a) {
  if (!a->tmp[0]) return ENOENT;
  int err = 0;
  if (rename(a->tmp, a->path) != 0) {
    err = errno;
    unlink(a->tmp);
  }
  sn_atomic_forget(a);
  return err;
}

void sn_atomic_abort(sn_atomic *a) {
  if (!a || !a->tmp[0]) return;
  unlink(a->tmp);
  sn_atomic_forget(a);
}

void sn_atomic_keep(sn_atomic *a) {
  if (a) sn_atomic_forget(a);
}
