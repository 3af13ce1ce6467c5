/* Atomic output: temporary name, then rename or remove (see sn_atomic.h). */
#include "sn_atomic.h"

#include <errno.h>
#include <fcntl.h>
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

/* fsync of path (a file, or a folder opened read-only); 0 or errno. A folder
 * that cannot be synced (EINVAL: the file system has no such thing) counts as
 * done. */
static int sync_path(const char *path, int folder) {
  int fd = open(path, O_RDONLY | (folder ? O_DIRECTORY : 0));
  if (fd < 0) return errno;
  int err = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  return folder && (err == EINVAL || err == EROFS) ? 0 : err;
}

int sn_atomic_commit(sn_atomic *a) {
  if (!a->tmp[0]) return ENOENT;
  int err = sync_path(a->tmp, 0); /* the data on disk before the name points at it */
  if (err == 0 && rename(a->tmp, a->path) != 0) err = errno;
  if (err) {
    unlink(a->tmp);
  } else {
    char dir[sizeof a->path];
    strcpy(dir, a->path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else strcpy(dir, ".");
    (void)sync_path(dir, 1); /* the rename itself (best effort: the file is in place) */
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
