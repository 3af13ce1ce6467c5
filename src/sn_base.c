/* specnmf base: error records, allocation, fault injection, logging. */
#define _POSIX_C_SOURCE 200809L
#include "sn_base.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sn_err_set(sn_err *e, int code, const char *file, int line, const char *fmt, ...) {
  if (!e || e->code != SN_OK) return code;
  e->code = code;
  e->file = file;
  e->line = line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return code;
}

/* Physical memory of the node (bytes), 0 if unknown. */
static size_t sn_phys_bytes(void) {
  static size_t phys = (size_t)-1;
  if (phys == (size_t)-1) {
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    phys = (pages > 0 && psz > 0) ? (size_t)pages * (size_t)psz : 0;
  }
  return phys;
}

void *sn_calloc(size_t n, const char *what, sn_err *e) {
  /* A declared size from a hostile or mistaken file must not make a rank touch
   * more memory than the node has (the kernel would kill it, or swap forever). */
  size_t phys = sn_phys_bytes();
  if (phys && n > phys) {
    SN_FAIL(e, SN_ERR_NOMEM, "%s: %zu bytes needed on one rank, more than this node's %zu bytes (use more ranks)",
            what ? what : "memory", n, phys);
    return NULL;
  }
  size_t sz = (n + 63) / 64 * 64;
  if (sz == 0) sz = 64;
  void *p = NULL;
  if (sz < n || posix_memalign(&p, 64, sz) != 0 || !p) {
    SN_FAIL(e, SN_ERR_NOMEM, "%s: cannot allocate %zu bytes", what ? what : "memory", n);
    return NULL;
  }
  memset(p, 0, sz);
  return p;
}

void sn_free(void *p) { free(p); }

int sn_mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return -1;
  *out = a * b;
  return 0;
}

int sn_fault(const char *phase, int rank, sn_err *e) {
#ifdef SN_FAULTS
  const char *spec = getenv("SPECNMF_FAULT");
  if (!spec || !*spec || !phase) return SN_OK;
  const char *colon = strchr(spec, ':');
  size_t plen = colon ? (size_t)(colon - spec) : strlen(spec);
  int r = colon ? atoi(colon + 1) : -1;
  const char *mode = colon ? strchr(colon + 1, ':') : NULL;
  if (strlen(phase) == plen && strncmp(spec, phase, plen) == 0 && (r == -1 || r == rank)) {
    if (mode && strcmp(mode + 1, "crash") == 0) {
      sn_eprintf("specnmf: injected crash in %s on rank %d\n", phase, rank);
      _exit(1);
    }
    return SN_FAIL(e, SN_ERR_FAULT, "%s: injected fault on rank %d", phase, rank);
  }
#else
  (void)phase;
  (void)rank;
  (void)e;
#endif
  return SN_OK;
}

void sn_fault_fill(const char *path, int rank) {
#ifdef SN_FAULTS
  static int count = 0;
  const char *spec = getenv("SPECNMF_FAULT_FILL");
  if (!spec || !*spec || !path) return;
  int n = atoi(spec);
  const char *colon = strchr(spec, ':');
  int r = colon ? atoi(colon + 1) : 0;
  if (++count != n || rank != r) return;
  char dir[4096], fill[4200];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    strcpy(dir, ".");
  snprintf(fill, sizeof fill, "%s/sn-fill.%ld", dir, (long)getpid());
  int fd = open(fill, O_WRONLY | O_CREAT | O_APPEND, 0666);
  if (fd < 0) return;
  static char zero[1 << 16];
  long long total = 0;
  for (size_t bs = sizeof zero; bs > 0;) {
    ssize_t w = write(fd, zero, bs);
    if (w > 0) total += w;
    else if (w < 0 && errno == EINTR) continue;
    else bs /= 2; /* ENOSPC: fill the last blocks with smaller writes */
  }
  close(fd);
  sn_eprintf("specnmf: injected: rank %d filled the file system of %s (%lld bytes in %s)", rank, path, total, fill);
#else
  (void)path;
  (void)rank;
#endif
}

static char sn_wd_line[1400];
static size_t sn_wd_len;
static char sn_tmp_paths[16][4200];
static int sn_wd_code;
static struct sigaction sn_wd_old;

static void sn_wd_handler(int sig) {
  (void)sig;
  if (sn_wd_len > 0) {
    ssize_t w = write(STDERR_FILENO, sn_wd_line, sn_wd_len);
    (void)w;
  }
  for (int i = 0; i < 16; i++)
    if (sn_tmp_paths[i][0]) unlink(sn_tmp_paths[i]);
  _exit(sn_wd_code);
}

void sn_tmp_add(const char *path) {
  if (!path || !*path || strlen(path) >= sizeof sn_tmp_paths[0]) return;
  for (int i = 0; i < 16; i++)
    if (!sn_tmp_paths[i][0]) {
      strcpy(sn_tmp_paths[i], path);
      return;
    }
}

void sn_tmp_remove(const char *path) {
  for (int i = 0; path && i < 16; i++)
    if (strcmp(sn_tmp_paths[i], path) == 0) sn_tmp_paths[i][0] = '\0';
}

void sn_watchdog_arm(int seconds, const sn_err *e, int print, const char *fallback) {
  const char *msg = e && e->code && e->msg[0] ? e->msg : fallback;
  sn_wd_len = 0;
  if (print && msg && *msg) {
    int n = snprintf(sn_wd_line, sizeof sn_wd_line, "specnmf: error: %s\n", msg);
    sn_wd_len = n < 0 ? 0 : ((size_t)n < sizeof sn_wd_line ? (size_t)n : sizeof sn_wd_line - 1);
  }
  sn_wd_code = e && e->code ? e->code : SN_ERR_IO;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sn_wd_handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, &sn_wd_old);
  alarm((unsigned)seconds);
}

void sn_watchdog_disarm(void) {
  alarm(0);
  sigaction(SIGALRM, &sn_wd_old, NULL);
}

/* The PID of a leftover name "BASE.tmp-PID" (SN_TMP_TAG; name starts with
 * base when base is not NULL), or 0 when name is not one. */
static long sn_leftover_pid(const char *name, const char *base) {
  size_t bl = base ? strlen(base) : 0;
  if (base && strncmp(name, base, bl) != 0) return 0;
  const char *tag = SN_TMP_TAG;
  const size_t tl = strlen(tag);
  const char *p = base ? name + bl : strstr(name, tag);
  while (p) {
    if (strncmp(p, tag, tl) == 0 && p[tl] >= '0' && p[tl] <= '9') {
      const char *q = p + tl;
      while (*q >= '0' && *q <= '9') q++;
      if (*q == '\0') return strtol(p + tl, NULL, 10);
    }
    p = base ? NULL : strstr(p + 1, tag);
  }
  return 0;
}

static int sn_leftovers_scan(const char *dir, const char *base) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *de;
  char full[8400];
  while ((de = readdir(d))) {
    long pid = sn_leftover_pid(de->d_name, base);
    if (pid <= 0 || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* that run is alive */
    snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
    if (unlink(full) == 0) n++;
  }
  closedir(d);
  return n;
}

int sn_leftovers_clean(const char *path) {
  if (!path || !*path) return 0;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : path;
  if (slash == dir)
    strcpy(dir, "/");
  else if (slash)
    *slash = '\0';
  else
    strcpy(dir, ".");
  if (!*base) return 0;
  return sn_leftovers_scan(dir, base);
}

int sn_leftovers_clean_dir(const char *dir) { return dir && *dir ? sn_leftovers_scan(dir, NULL) : 0; }

/* The phases this rank is in (innermost last); only used for fault injection. */
static const char *sn_fault_stack[16];
static int sn_fault_depth = 0;

void sn_fault_push(const char *phase) {
  if (sn_fault_depth < 16) sn_fault_stack[sn_fault_depth] = phase;
  sn_fault_depth++;
}

void sn_fault_pop(const char *phase) {
  (void)phase;
  if (sn_fault_depth > 0) sn_fault_depth--;
}

int sn_fault_here(int rank, sn_err *e) {
  if (sn_fault_depth <= 0 || sn_fault_depth > 16) return SN_OK;
  return sn_fault(sn_fault_stack[sn_fault_depth - 1], rank, e);
}

/* One whole line with one write(2): stderr is unbuffered and ranks share the
   launcher's stream, so a line written in pieces can be split by another
   rank's line (seen: "specnmf: specnmf: error: ..."). */
void sn_eprintf(const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  if (len > 0 && line[len - 1] != '\n') {
    if (len == sizeof line - 1) len--;
    line[len++] = '\n';
  }
  fflush(stderr);
  for (size_t off = 0; off < len;) {
    ssize_t w = write(STDERR_FILENO, line + off, len - off);
    if (w <= 0) break;
    off += (size_t)w;
  }
}

void sn_log(int enabled, const char *fmt, ...) {
  if (!enabled) return;
  char msg[1900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sn_eprintf("specnmf: %s\n", msg);
}

double sn_wtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
