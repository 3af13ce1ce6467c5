/* A rank's spectrogram block in an unlinked scratch file (see sn_vcache.h). */
#include "sn_vcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sn_vcache {
  int fd;
  int64_t F;
  char path[4200];
};

int sn_vcache_open(const char *dir, int64_t F, sn_vcache **c, sn_err *e) {
  *c = NULL;
  sn_vcache *v = sn_calloc(sizeof *v, "scratch file", e);
  if (!v) return SN_ERR_NOMEM;
  v->F = F;
  const char *d = dir && *dir ? dir : ".";
  snprintf(v->path, sizeof v->path, "%s/.specnmf-v.XXXXXX", d);
  v->fd = mkstemp(v->path);
  if (v->fd < 0) {
    int err = errno;
    sn_free(v);
    return SN_FAIL(e, SN_ERR_IO, "%s: cannot create a scratch file for the spectrogram (%s; see --scratch)", d,
                   strerror(err));
  }
  unlink(v->path); /* the open descriptor keeps it until close */
  *c = v;
  return SN_OK;
}

/* Local. All m * F floats at frame j0, by pwrite or pread (do_write). */
static int transfer(sn_vcache *c, int64_t j0, int64_t m, float *V, int do_write, sn_err *e) {
  size_t left = (size_t)(m * c->F) * sizeof(float);
  off_t off = (off_t)(j0 * c->F) * (off_t)sizeof(float);
  char *p = (char *)V;
  while (left > 0) {
    ssize_t k = do_write ? pwrite(c->fd, p, left, off) : pread(c->fd, p, left, off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0)
      return SN_FAIL(e, SN_ERR_IO, "%s: cannot %s the spectrogram's scratch file (%s)", c->path,
                     do_write ? "write" : "read", k < 0 ? strerror(errno) : do_write ? "no space" : "short file");
    left -= (size_t)k;
    off += k;
    p += k;
  }
  return SN_OK;
}

int sn_vcache_put(sn_vcache *c, int64_t j0, int64_t m, const float *V, sn_err *e) {
  return transfer(c, j0, m, (float *)V, 1, e);
}

static int vcache_read(void *ctx, int64_t j0, int64_t m, float *buf, sn_err *e) {
  return transfer((sn_vcache *)ctx, j0, m, buf, 0, e);
}

sn_frames sn_vcache_frames(sn_vcache *c, int64_t n) {
  sn_frames s = {c->F, n, NULL, vcache_read, c};
  return s;
}

void sn_vcache_close(sn_vcache **c) {
  if (!c || !*c) return;
  close((*c)->fd);
  sn_free(*c);
  *c = NULL;
}
