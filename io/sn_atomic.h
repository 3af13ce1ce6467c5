#pragma once
/* One way to write a file so that it appears whole or not at all: the bytes go
 * to a temporary name beside the final path, then commit renames it into place
 * or abort removes it. Every writer of io/ (HDF5, WAV, PNG, the JSON report,
 * FFTW wisdom, score's JSON) names its temporary file here: "PATH" SN_TMP_TAG
 * "PID" (src/sn_base.h), the one style sn_leftovers_clean recognizes after a
 * killed run. The streamed separation keeps a fixed name "PATH" SN_ATOMIC_STREAM
 * instead, because a resumed run reopens it (a named variant, never removed by
 * --force cleaning nor by the watchdog). All functions are Local: a collective
 * writer lets one rank (rank 0) own the name and agrees the outcome itself. */
#include <limits.h>
#include <stddef.h>

/* The suffix of the streamed outputs kept across runs for --resume. */
#define SN_ATOMIC_STREAM ".stream"

typedef struct sn_atomic {
  char path[PATH_MAX];    /* the final name */
  char tmp[PATH_MAX + 32]; /* the temporary name ("" when none is pending) */
  int watched;            /* registered with sn_tmp_add (the watchdog removes it) */
} sn_atomic;

/* Local. The temporary name for `path` into buf (capacity cap): "PATH.tmp-PID"
 * when suffix is NULL, else "PATH" suffix (e.g. SN_ATOMIC_STREAM). Returns 0,
 * or ENAMETOOLONG (buf then holds ""). */
int sn_atomic_name(char *buf, size_t cap, const char *path, const char *suffix);

/* Local. Start an atomic write of `path`: fills a (path, temporary name as
 * sn_atomic_name with suffix) without creating any file. A per-process name
 * (suffix NULL) is registered with sn_tmp_add, so the watchdog removes it.
 * Returns 0, or ENAMETOOLONG (nothing pending then). */
int sn_atomic_begin(sn_atomic *a, const char *path, const char *suffix);

/* Local. fsync the temporary file, rename it to the final path and fsync
 * the folder (the data on disk before the name, so that a finished file
 * survives a crash of the node). On failure (of the fsync: an I/O error, or
 * a full disk found late; or of the rename) the temporary file is removed and
 * errno's value is returned; 0 on success.
 * Either way nothing is pending afterwards. */
int sn_atomic_commit(sn_atomic *a);

/* Local. Remove the temporary file (when one is pending); safe to call twice
 * and on a zeroed struct. */
void sn_atomic_abort(sn_atomic *a);

/* Local. Leave the temporary file where it is (a streamed output kept for
 * --resume) and forget it. */
void sn_atomic_keep(sn_atomic *a);
