#pragma once
/* specnmf base: error records, aligned allocation, fault injection, 64-bit sizes.
 * Every function in specnmf returns an int code (SN_OK = 0) and, on failure,
 * fills an sn_err with "PATH: reason" plus file:line. The first failure wins:
 * later calls to sn_err_set on an already failed record do not overwrite it.
 * Not collective: agreement across ranks lives in parallel/comm/sn_comm.h. */
#include <stddef.h>
#include <stdint.h>

/* X-macro list of error codes: name, process exit status, short text. */
#define SN_ERRORS(X)                                    \
  X(SN_OK, 0, "ok")                                     \
  X(SN_ERR_USAGE, 2, "bad usage")                       \
  X(SN_ERR_INPUT, 3, "bad input")                       \
  X(SN_ERR_IO, 4, "input/output error")                 \
  X(SN_ERR_NOMEM, 5, "out of memory")                   \
  X(SN_ERR_NUMERIC, 6, "numerical failure")             \
  X(SN_ERR_MPI, 7, "MPI failure")                       \
  X(SN_ERR_INTERNAL, 8, "internal error")               \
  X(SN_ERR_FAULT, 9, "injected fault")                  \
  X(SN_ERR_INTERRUPTED, 10, "interrupted by a signal")

enum sn_code {
#define SN_ENUM_(name, value, text) name = value,
  SN_ERRORS(SN_ENUM_)
#undef SN_ENUM_
};

typedef struct sn_err {
  int code;          /* SN_OK or one of enum sn_code */
  const char *file;  /* source file where it was raised */
  int line;
  char msg[1024];    /* "PATH: what is wrong" */
} sn_err;

/* Record a failure (printf-style message, conventionally "PATH: reason").
 * Returns code, so `return SN_FAIL(e, SN_ERR_INPUT, "%s: ...", path);` works.
 * If e already holds a failure it is kept. e may be NULL. Local. */
int sn_err_set(sn_err *e, int code, const char *file, int line,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define SN_FAIL(e, code, ...) sn_err_set((e), (code), __FILE__, __LINE__, __VA_ARGS__)

/* Call an expression returning an int code; on failure jump to `cleanup`
 * with rc set. Requires `int rc` in scope. */
#define SN_CHECK(expr)        \
  do {                        \
    rc = (expr);              \
    if (rc != SN_OK) goto cleanup; \
  } while (0)

/* 64-byte aligned, zero-initialised allocation of n bytes (n may be 0).
 * On failure sets e (SN_ERR_NOMEM, naming `what`) and returns NULL. Local. */
void *sn_calloc(size_t n, const char *what, sn_err *e);
void sn_free(void *p);

/* Overflow-checked size arithmetic: returns 0 and sets *out, or -1 on overflow. */
int sn_mul_size(size_t a, size_t b, size_t *out);

/* Fault injection for tests (compiled in when SN_FAULTS is defined, else a no-op
 * returning SN_OK). The environment variable SPECNMF_FAULT="phase:rank" makes
 * sn_fault("phase", rank, e) fail with SN_ERR_FAULT on that rank. rank -1 in
 * the variable means every rank. Local (the caller agrees afterwards). */
int sn_fault(const char *phase, int rank, sn_err *e);

/* Fault injection at agreement points: sn_timer_begin/end keep a stack of the
 * phases this rank is in, and every agreement (parallel/comm/sn_comm.c) calls
 * sn_fault_here(rank, e), which fails as sn_fault does when SPECNMF_FAULT names
 * the innermost open phase. "phase:rank:crash" makes that rank _exit(1) on the
 * spot instead (a rank dying mid-run: mpirun must end the others). */
void sn_fault_push(const char *phase);
void sn_fault_pop(const char *phase);
int sn_fault_here(int rank, sn_err *e);

/* Fault injection for the disk-full tests (compiled in with SN_FAULTS):
 * SPECNMF_FAULT_FILL=N[:rank] makes that rank (default 0) fill the file system
 * holding `path` (a file "DIR/sn-fill.PID" written until ENOSPC) right before
 * the Nth collective data write of this process - another job filling the
 * disk at the worst moment. Writers call it after their free-space check.
 * Local; a no-op otherwise. */
void sn_fault_fill(const char *path, int rank);

/* Watchdog for a step that may hang inside a library after an I/O failure
 * (parallel HDF5's H5Fclose when the disk is full): if sn_watchdog_disarm is
 * not called within `seconds`, SIGALRM prints "specnmf: error: MSG" (when
 * print != 0; MSG is e's message, else `fallback`), removes every temporary
 * file registered with sn_tmp_add and _exits with e's code (SN_ERR_IO when e
 * holds none). Every rank arms its own: the ranks stuck in the step all end,
 * mpirun ends the job. One at a time; async-signal-safe work only in the
 * handler. Local. */
void sn_watchdog_arm(int seconds, const sn_err *e, int print, const char *fallback);
void sn_watchdog_disarm(void);

/* The temporary files this process is writing (at most 16 at a time), removed
 * by the watchdog. Local. */
void sn_tmp_add(const char *path);
void sn_tmp_remove(const char *path);

/* The tag of every temporary output name, "NAME" SN_TMP_TAG "PID" (made by
 * io/sn_atomic.h for all writers). */
#define SN_TMP_TAG ".tmp-"

/* What a run killed mid-write leaves (nobody was left to remove it): the
 * temporary files "NAME.tmp-PID" of any writer (io/sn_atomic.h). With
 * --force, a writer removes those of its output name (sn_leftovers_clean) or,
 * for an output folder, every one in it (sn_leftovers_clean_dir) - only when
 * no process PID runs on this node, so a live run's file is kept. Returns the
 * number removed. Local (rank 0 calls it). */
int sn_leftovers_clean(const char *path);
int sn_leftovers_clean_dir(const char *dir);

/* Progress/log line to stderr, printed only when `enabled` (rank 0 and not --quiet). */
void sn_log(int enabled, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print one line (a newline is added if missing) to stderr with a single write(2). Local. */
void sn_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wall-clock seconds (monotonic). */
double sn_wtime(void);
