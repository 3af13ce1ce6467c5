/* Parallel HDF5 column-block I/O (see sn_h5.h). With io/sn_audio.c (HDF5 audio input), the only files that include hdf5.h. */
#include "sn_h5.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "sn_atomic.h"
#include "sn_comm.h"

/* Values of an object's variable-length string attributes, read by a bounded
 * child process (see sn_h5_vstr_load). blob holds n pairs "name\0value\0";
 * bad names the attribute libhdf5 failed on (every read of it fails with msg);
 * rc != SN_OK with bad[0] == '\0' fails every read on the object. */
typedef struct {
  char obj[256];
  int rc;
  char bad[256];
  char msg[512];
  size_t len;
  char *blob;
} sn_h5_vstr;
#define SN_H5_VSTR_OBJS 4

struct sn_h5 {
  hid_t file;
  sn_h5_vstr vstr[SN_H5_VSTR_OBJS]; /* read-once cache, same on every rank */
  int n_vstr;
  MPI_Comm comm;
  int rank, size;
  int created;           /* opened for writing under tmp */
  int64_t reserved;      /* rank 0: bytes of tmp the file system has allocated (sn_h5_reserve) */
  char path[PATH_MAX];   /* final name */
  sn_atomic out;         /* rank 0 owns the temporary name; out.tmp is every rank's copy */
};

/* Seconds H5Fclose of a written file may take before the watchdog ends the
 * rank: after an agreed failure, and in a run that went well. */
#define SN_H5_CLOSE_WAIT_FAILED 10
#define SN_H5_CLOSE_WAIT 60

/* Bytes per column tile staged for the transposition between column-major
 * memory and row-major file layout. */
#define SN_H5_TILE_BYTES (16u << 20)
/* Target size of one dataset chunk. */
#define SN_H5_CHUNK_BYTES (4u << 20)

static void sn_h5_quiet(void) {
  static int done = 0;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = 1;
  }
}

const char *sn_h5_path(const sn_h5 *f) { return f ? f->path : "(null)"; }

MPI_Comm sn_h5_comm(const sn_h5 *f) { return f->comm; }

int sn_h5_is_hdf5(const char *path) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  unsigned char b[8];
  int ok = fread(b, 1, 8, fp) == 8 && memcmp(b, sig, 8) == 0;
  fclose(fp);
  return ok;
}

int sn_h5_split_spec(const char *spec, const char *dflt, char *file, size_t file_cap, char *dset,
                     size_t dset_cap, sn_err *e) {
  const char *sep = strstr(spec, ":/");
  size_t flen = sep ? (size_t)(sep - spec) : strlen(spec);
  const char *d = sep ? sep + 1 : dflt;
  if (flen + 1 > file_cap || strlen(d) + 1 > dset_cap)
    return SN_FAIL(e, SN_ERR_USAGE, "%s: path too long", spec);
  memcpy(file, spec, flen);
  file[flen] = '\0';
  strcpy(dset, d);
  return SN_OK;
}

static hid_t sn_h5_fapl(MPI_Comm comm) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  H5Pset_all_coll_metadata_ops(fapl, 1);
  H5Pset_coll_metadata_write(fapl, 1);
  return fapl;
}

static int sn_h5_new(MPI_Comm comm, const char *path, sn_h5 **f, sn_err *e) {
  sn_h5 *h = calloc(1, sizeof *h);
  if (!h) return SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", path);
  h->file = H5I_INVALID_HID;
  h->comm = comm;
  SN_MPI_CALL(MPI_Comm_rank(comm, &h->rank));
  SN_MPI_CALL(MPI_Comm_size(comm, &h->size));
  if (strlen(path) + 32 > sizeof h->path) {
    free(h);
    return SN_FAIL(e, SN_ERR_USAGE, "%s: path too long", path);
  }
  strcpy(h->path, path);
  *f = h;
  return SN_OK;
}

int sn_h5_create(MPI_Comm comm, const char *path, int force, sn_h5 **f, sn_err *e) {
  sn_h5_quiet();
  *f = NULL;
  sn_h5 *h = NULL;
  int rc = sn_h5_new(comm, path, &h, e);
  rc = sn_agree(comm, rc, e);
  if (rc) {
    free(h);
    return rc;
  }
  /* Rank 0 checks the name and makes the temporary name everybody uses. */
  if (h->rank == 0) {
    if (force) sn_leftovers_clean(path); /* what a killed run left under this name */
    if (sn_atomic_begin(&h->out, path, NULL) != 0) {
      rc = SN_FAIL(e, SN_ERR_USAGE, "%s: path too long", path);
    } else if (!force && access(path, F_OK) == 0) {
      rc = SN_FAIL(e, SN_ERR_IO, "%s: exists (use --force to overwrite)", path);
    } else {
      FILE *probe = fopen(h->out.tmp, "wb");
      if (!probe)
        rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
      else {
        fclose(probe);
        remove(h->out.tmp);
      }
    }
  }
  SN_MPI_CALL(MPI_Bcast(h->out.tmp, (int)sizeof h->out.tmp, MPI_CHAR, 0, comm));
  rc = sn_agree(comm, rc, e);
  if (rc) {
    if (h->rank == 0) sn_atomic_abort(&h->out);
    free(h);
    return rc;
  }
  hid_t fapl = sn_h5_fapl(comm);
  h->file = H5Fcreate(h->out.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (h->file < 0) rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot create the HDF5 file", path);
  rc = sn_agree(comm, rc, e);
  if (rc) {
    if (h->file >= 0) H5Fclose(h->file);
    if (h->rank == 0) sn_atomic_abort(&h->out);
    free(h);
    return rc;
  }
  h->created = 1;
  *f = h;
  return SN_OK;
}

int sn_h5_open(MPI_Comm comm, const char *path, sn_h5 **f, sn_err *e) {
  sn_h5_quiet();
  *f = NULL;
  sn_h5 *h = NULL;
  int rc = sn_h5_new(comm, path, &h, e);
  if (rc == SN_OK) {
    FILE *fp = fopen(path, "rb");
    if (!fp)
      rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    else {
      fclose(fp);
      if (!sn_h5_is_hdf5(path)) rc = SN_FAIL(e, SN_ERR_INPUT, "%s: not an HDF5 file", path);
    }
  }
  rc = sn_agree(comm, rc, e);
  if (rc) {
    free(h);
    return rc;
  }
  hid_t fapl = sn_h5_fapl(comm);
  h->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (h->file < 0) rc = SN_FAIL(e, SN_ERR_INPUT, "%s: cannot open as HDF5", path);
  rc = sn_agree(comm, rc, e);
  if (rc) {
    if (h->file >= 0) H5Fclose(h->file);
    free(h);
    return rc;
  }
  *f = h;
  return SN_OK;
}

int sn_h5_close(sn_h5 **fp, int commit, sn_err *e) {
  sn_h5 *f = fp ? *fp : NULL;
  if (!f) return SN_OK;
  *fp = NULL;
  int rc = SN_OK;
  if (f->created && f->file >= 0) {
    /* After a failed write (above all a full disk) H5Fclose's metadata flush
     * can fail on one rank and leave the ranks in different collectives: a
     * watchdog ends every rank with the agreed error. Writes into space that
     * sn_h5_reserve allocated do not fail, so a good run never meets it. */
    int failing = !commit || (e && e->code);
    char why[PATH_MAX + 96];
    snprintf(why, sizeof why, "%s: closing the HDF5 file did not finish within %d s (file system full or stuck?)",
             f->path, failing ? SN_H5_CLOSE_WAIT_FAILED : SN_H5_CLOSE_WAIT);
    int print = (e && e->code) ? e->msg[0] != '\0' : f->rank == 0;
    sn_watchdog_arm(failing ? SN_H5_CLOSE_WAIT_FAILED : SN_H5_CLOSE_WAIT, e, print, why);
  }
  if (f->file >= 0 && H5Fclose(f->file) < 0) rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot close the HDF5 file", f->path);
  if (f->created && f->file >= 0) sn_watchdog_disarm();
  rc = sn_agree(f->comm, rc, e);
  if (f->created && f->rank == 0) {
    if (commit && rc == SN_OK) {
      char tmp[sizeof f->out.tmp];
      strcpy(tmp, f->out.tmp);
      int err = sn_atomic_commit(&f->out);
      if (err) rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot commit it from %s (fsync, rename): %s", f->path, tmp, strerror(err));
    } else {
      sn_atomic_abort(&f->out);
    }
  }
  if (f->created) rc = sn_agree(f->comm, rc, e);
  for (int i = 0; i < f->n_vstr; i++) free(f->vstr[i].blob);
  free(f);
  return rc;
}

/* Does every component of an absolute object path exist? Local (metadata read). */
static int sn_h5_path_ok(hid_t file, const char *obj) {
  if (strcmp(obj, "/") == 0) return 1;
  char buf[1024];
  if (strlen(obj) >= sizeof buf) return 0;
  strcpy(buf, obj);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) return 0;
      if (c == '\0') break;
      *p = c;
    }
  }
  return H5Oexists_by_name(file, obj, H5P_DEFAULT) > 0;
}

int sn_h5_exists(sn_h5 *f, const char *obj) { return sn_h5_path_ok(f->file, obj); }

/* Open a dataset and check it is numeric (want_complex 0), a complex pair
 * compound (1) or either (-1); returns the dataset id or a negative value with e set. */
static hid_t sn_h5_dopen(sn_h5 *f, const char *dset, int want_complex, int *ndims, hsize_t dims[2],
                         sn_err *e) {
  if (!sn_h5_path_ok(f->file, dset)) {
    SN_FAIL(e, SN_ERR_INPUT, "%s: no dataset %s", f->path, dset);
    return -1;
  }
  hid_t d = H5Dopen2(f->file, dset, H5P_DEFAULT);
  if (d < 0) {
    SN_FAIL(e, SN_ERR_INPUT, "%s: %s is not a dataset", f->path, dset);
    return -1;
  }
  hid_t t = H5Dget_type(d);
  H5T_class_t cls = H5Tget_class(t);
  int is_cplx = cls == H5T_COMPOUND && H5Tget_nmembers(t) == 2;
  int is_num = cls == H5T_FLOAT || cls == H5T_INTEGER;
  int ok = want_complex < 0 ? (is_cplx || is_num) : want_complex ? is_cplx : is_num;
  H5Tclose(t);
  if (!ok) {
    H5Dclose(d);
    SN_FAIL(e, SN_ERR_INPUT, "%s: %s is not a %s dataset", f->path, dset,
            want_complex ? "complex ({r, i} compound)" : "numeric");
    return -1;
  }
  hid_t s = H5Dget_space(d);
  int nd = H5Sget_simple_extent_ndims(s);
  hsize_t dd[H5S_MAX_RANK];
  if (nd < 0 || H5Sget_simple_extent_dims(s, dd, NULL) < 0) nd = -1;
  H5Sclose(s);
  if (nd < 0) {
    H5Dclose(d);
    SN_FAIL(e, SN_ERR_INPUT, "%s: %s has an unreadable shape", f->path, dset);
    return -1;
  }
  *ndims = nd;
  dims[0] = nd > 0 ? dd[0] : 1;
  dims[1] = nd > 1 ? dd[1] : 1;
  return d;
}

int sn_h5_shape(sn_h5 *f, const char *dset, int *ndims, int64_t dims[2], sn_err *e) {
  hsize_t dd[2] = {0, 0};
  int nd = 0;
  int rc = SN_OK;
  hid_t d = sn_h5_dopen(f, dset, -1, &nd, dd, e);
  if (d < 0)
    rc = SN_ERR_INPUT;
  else {
    H5Dclose(d);
    *ndims = nd;
    dims[0] = (int64_t)dd[0];
    dims[1] = (int64_t)dd[1];
    if (dd[0] > (hsize_t)INT64_MAX || dd[1] > (hsize_t)INT64_MAX)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s is too large", f->path, dset);
  }
  return sn_agree(f->comm, rc, e);
}

/* Copy between column-major memory (rows x ncols, ld) and a row-major tile
 * (rows x ncols) of elements of `es` bytes (4: float, 8: complex pair).
 * to_rowmajor selects the direction. Blocked for cache. */
static void sn_h5_transpose(int to_rowmajor, size_t es, int64_t rows, int64_t ncols, void *cm,
                            int64_t ld, void *rm) {
  const int64_t B = 32;
  for (int64_t j0 = 0; j0 < ncols; j0 += B) {
    int64_t j1 = j0 + B < ncols ? j0 + B : ncols;
    for (int64_t i0 = 0; i0 < rows; i0 += B) {
      int64_t i1 = i0 + B < rows ? i0 + B : rows;
      if (es == 4) {
        float *c = cm, *r = rm;
        for (int64_t j = j0; j < j1; j++)
          for (int64_t i = i0; i < i1; i++) {
            if (to_rowmajor)
              r[i * ncols + j] = c[j * ld + i];
            else
              c[j * ld + i] = r[i * ncols + j];
          }
      } else {
        uint64_t *c = cm, *r = rm;
        for (int64_t j = j0; j < j1; j++)
          for (int64_t i = i0; i < i1; i++) {
            if (to_rowmajor)
              r[i * ncols + j] = c[j * ld + i];
            else
              c[j * ld + i] = r[i * ncols + j];
          }
      }
    }
  }
}

static hid_t sn_h5_complex_type(void) {
  hid_t t = H5Tcreate(H5T_COMPOUND, 2 * sizeof(float));
  H5Tinsert(t, "r", 0, H5T_NATIVE_FLOAT);
  H5Tinsert(t, "i", sizeof(float), H5T_NATIVE_FLOAT);
  return t;
}

/* Collective transfer of a column block, tile by tile. Tiles are aligned to
 * the dataset's column chunks (a whole number of chunks wide), so each
 * H5Dwrite/H5Dread moves whole chunks from a row-major staging tile of the
 * same shape: HDF5 then copies contiguous runs instead of mapping elements.
 * All ranks make the same number of calls (the largest tile count), ranks
 * with fewer tiles with an empty selection. */
static int sn_h5_xfer_cols(sn_h5 *f, hid_t d, hid_t mtype, size_t es, int write, int64_t rows,
                           int64_t col0, int64_t ncols, void *a, int64_t ld, const char *dset,
                           sn_err *e) {
  int rc = SN_OK;
  size_t rbytes = es * (size_t)(rows > 0 ? rows : 1);
  int64_t tw = (int64_t)(SN_H5_TILE_BYTES / rbytes);
  hid_t dcpl = H5Dget_create_plist(d);
  hsize_t cd[2] = {0, 0};
  if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 2, cd) == 2 && cd[1] > 0) {
    int64_t cw = (int64_t)cd[1];
    tw = tw >= cw ? tw / cw * cw : cw;
  }
  if (dcpl >= 0) H5Pclose(dcpl);
  if (tw < 1) tw = 1;
  int64_t first = ncols > 0 ? col0 / tw : 0;
  int64_t my_tiles = ncols > 0 ? (col0 + ncols - 1) / tw - first + 1 : 0, max_tiles = 0;
  SN_MPI_CALL(MPI_Allreduce(&my_tiles, &max_tiles, 1, MPI_INT64_T, MPI_MAX, f->comm));
  int64_t bw = ncols < tw ? ncols : tw;
  void *buf = sn_calloc((size_t)rows * (size_t)bw * es, "HDF5 staging tile", e);
  if (!buf) rc = SN_ERR_NOMEM;
  rc = sn_agree(f->comm, rc, e);
  if (rc) {
    sn_free(buf);
    return rc;
  }
  hid_t fspace = H5Dget_space(d);
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  int local = SN_OK;
  for (int64_t t = 0; t < max_tiles; t++) {
    int64_t c0 = 0, nc = 0; /* columns [c0, c0 + nc) of this rank's block */
    if (t < my_tiles) {
      int64_t g0 = (first + t) * tw, g1 = g0 + tw;
      if (g0 < col0) g0 = col0;
      if (g1 > col0 + ncols) g1 = col0 + ncols;
      c0 = g0 - col0;
      nc = g1 - g0;
    }
    hsize_t start[2] = {0, (hsize_t)(col0 + c0)}, count[2] = {(hsize_t)rows, (hsize_t)nc};
    hsize_t mdims[2] = {(hsize_t)(rows > 0 ? rows : 1), (hsize_t)(nc > 0 ? nc : 1)};
    hid_t mspace = H5Screate_simple(2, mdims, NULL);
    int active = nc > 0 && rows > 0 && local == SN_OK;
    if (active) {
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
    } else {
      H5Sselect_none(fspace);
      H5Sselect_none(mspace);
    }
    char *ablk = (char *)a + (size_t)c0 * (size_t)ld * es;
    if (write && active) sn_h5_transpose(1, es, rows, nc, ablk, ld, buf);
    herr_t st = write ? H5Dwrite(d, mtype, mspace, fspace, dxpl, buf)
                      : H5Dread(d, mtype, mspace, fspace, dxpl, buf);
    H5Sclose(mspace);
    if (st < 0 && local == SN_OK)
      local = SN_FAIL(e, SN_ERR_IO, "%s: cannot %s %s", f->path, write ? "write" : "read", dset);
    if (!write && active && st >= 0) sn_h5_transpose(0, es, rows, nc, ablk, ld, buf);
  }
  H5Pclose(dxpl);
  H5Sclose(fspace);
  sn_free(buf);
  return sn_agree(f->comm, local, e);
}

static int sn_h5_check_block(sn_h5 *f, const char *dset, int64_t rows, int64_t cols, int64_t col0,
                             int64_t ncols, int64_t ld, sn_err *e) {
  if (rows < 0 || cols < 0 || col0 < 0 || ncols < 0 || col0 + ncols > cols || (ncols > 0 && ld < rows))
    return SN_FAIL(e, SN_ERR_INTERNAL, "%s: %s: bad block [%lld, +%lld) of (%lld, %lld)", f->path, dset,
                   (long long)col0, (long long)ncols, (long long)rows, (long long)cols);
  return SN_OK;
}

/* Create a 2-D dataset (collective), chunked by column tiles. */
static hid_t sn_h5_dcreate(sn_h5 *f, const char *dset, hid_t ftype, size_t es, int64_t rows, int64_t cols,
                           sn_err *e) {
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t space = H5Screate_simple(2, dims, NULL);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER); /* every element is written once */
  if (rows > 0 && cols > 0) {
    hsize_t crows = (hsize_t)rows;
    if (crows * es > SN_H5_CHUNK_BYTES) crows = SN_H5_CHUNK_BYTES / es;
    hsize_t ccols = SN_H5_CHUNK_BYTES / (es * crows);
    if (ccols < 1) ccols = 1;
    if (ccols > (hsize_t)cols) ccols = (hsize_t)cols;
    hsize_t chunk[2] = {crows, ccols};
    H5Pset_chunk(dcpl, 2, chunk);
  }
  hid_t d = H5Dcreate2(f->file, dset, ftype, space, lcpl, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  H5Sclose(space);
  if (d < 0) SN_FAIL(e, SN_ERR_IO, "%s: cannot create dataset %s", f->path, dset);
  return d;
}

/* Local. Is there room for `bytes` more in the file being written: under this
 * process's file-size limit (ulimit -f) and in the file system's free space?
 * Checked before a dataset is created, because a write that fails inside
 * parallel HDF5 (EFBIG, ENOSPC) can leave the ranks in different collectives
 * of H5Fclose: they would wait forever. 1 MiB + 1% of slack for metadata. */
static int sn_h5_room(sn_h5 *f, const char *dset, double bytes, sn_err *e) {
  if (!f->created) return SN_OK;
  double need = bytes * 1.01 + 1048576.0;
  struct stat st;
  double have = stat(f->out.tmp, &st) == 0 ? (double)st.st_size : 0.0;
  struct rlimit rl;
  if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && have + need > (double)rl.rlim_cur)
    return SN_FAIL(e, SN_ERR_IO, "%s: writing %s needs %.0f more bytes, past the file-size limit of %.0f bytes (ulimit -f)",
                   f->path, dset, need, (double)rl.rlim_cur);
  struct statvfs vf;
  if (statvfs(f->out.tmp, &vf) == 0 && (double)vf.f_bavail * (double)vf.f_frsize < need)
    return SN_FAIL(e, SN_ERR_IO, "%s: no space left for %s: it needs %.0f bytes, the file system has %.0f free", f->path,
                   dset, need, (double)vf.f_bavail * (double)vf.f_frsize);
  return SN_OK;
}

/* Room the metadata written after the last dataset (attributes, object
 * headers, the superblock at close) may take beyond the end of allocation. */
#define SN_H5_META_SLACK ((int64_t)1 << 20)

/* Collective (metadata reads are collective). The end address of dataset d's
 * storage: parallel HDF5 allocates every chunk when the dataset is created,
 * in order, so the last chunks end it. 0 if unknown. */
static int64_t sn_h5_data_end(hid_t d) {
  int64_t end = 0;
  hid_t dcpl = H5Dget_create_plist(d);
  int chunked = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED;
  if (dcpl >= 0) H5Pclose(dcpl);
  if (chunked) {
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    if (sp >= 0 && H5Dget_num_chunks(d, sp, &n) >= 0) {
      hsize_t first = n > 64 ? n - 64 : 0; /* the last ones: lookups by index walk the index */
      for (hsize_t k = first; k < n; k++) {
        haddr_t addr = HADDR_UNDEF;
        hsize_t size = 0;
        if (H5Dget_chunk_info(d, sp, k, NULL, NULL, &addr, &size) >= 0 && addr != HADDR_UNDEF &&
            (int64_t)(addr + size) > end)
          end = (int64_t)(addr + size);
      }
    }
    if (sp >= 0) H5Sclose(sp);
  } else {
    haddr_t addr = H5Dget_offset(d);
    if (addr != HADDR_UNDEF) end = (int64_t)(addr + H5Dget_storage_size(d));
  }
  return end;
}

/* Collective. Have the file system allocate the temporary file up to the end
 * of dataset d's storage plus SN_H5_META_SLACK before the collective write: a
 * disk that another job fills meanwhile then fails here, where every rank
 * agrees, and not inside parallel HDF5's collective write or H5Fclose, which
 * hang when one rank's write fails (docs/reliability.md). Rank 0 allocates. */
static int sn_h5_reserve(sn_h5 *f, hid_t d, const char *what, sn_err *e) {
  int rc = SN_OK;
  if (!f->created) return SN_OK;
  int64_t want = sn_h5_data_end(d) + SN_H5_META_SLACK;
  if (f->rank == 0 && want > f->reserved) {
    int fd = open(f->out.tmp, O_WRONLY);
    int err = fd < 0 ? errno : posix_fallocate(fd, 0, (off_t)want);
    if (fd >= 0) close(fd);
    if (err == 0 || err == EOPNOTSUPP || err == EINVAL) /* (a file system without allocation: as before) */
      f->reserved = want;
    else
      rc = SN_FAIL(e, SN_ERR_IO, "%s: no room to write %s: %s (reserving %lld bytes)", f->path, what, strerror(err),
                   (long long)want);
  }
  return sn_agree(f->comm, rc, e);
}

static int sn_h5_write_any(sn_h5 *f, const char *dset, int cplx, int64_t rows, int64_t cols, int64_t col0,
                           int64_t ncols, const float *a, int64_t ld, sn_err *e) {
  int rc = sn_h5_check_block(f, dset, rows, cols, col0, ncols, ld, e);
  if (rc == SN_OK) rc = sn_h5_room(f, dset, (double)rows * (double)cols * (cplx ? 8.0 : 4.0), e);
  rc = sn_agree(f->comm, rc, e);
  if (rc) return rc;
  size_t es = cplx ? 8 : 4;
  hid_t mtype = cplx ? sn_h5_complex_type() : H5Tcopy(H5T_NATIVE_FLOAT);
  hid_t ftype = cplx ? sn_h5_complex_type() : H5Tcopy(H5T_IEEE_F32LE);
  hid_t d = sn_h5_dcreate(f, dset, ftype, es, rows, cols, e);
  rc = sn_agree(f->comm, d < 0 ? SN_ERR_IO : SN_OK, e);
  if (rc == SN_OK) {
    sn_fault_fill(f->out.tmp, f->rank);
    rc = sn_h5_reserve(f, d, dset, e);
  }
  if (rc == SN_OK) rc = sn_h5_xfer_cols(f, d, mtype, es, 1, rows, col0, ncols, (void *)a, ld, dset, e);
  if (d >= 0) H5Dclose(d);
  H5Tclose(mtype);
  H5Tclose(ftype);
  return rc;
}

int sn_h5_write_cols(sn_h5 *f, const char *dset, int64_t rows, int64_t cols, int64_t col0, int64_t ncols,
                     const float *a, int64_t ld, sn_err *e) {
  return sn_h5_write_any(f, dset, 0, rows, cols, col0, ncols, a, ld, e);
}

int sn_h5_write_cols_complex(sn_h5 *f, const char *dset, int64_t rows, int64_t cols, int64_t col0,
                             int64_t ncols, const float *a, int64_t ld, sn_err *e) {
  return sn_h5_write_any(f, dset, 1, rows, cols, col0, ncols, a, ld, e);
}

static int sn_h5_read_any(sn_h5 *f, const char *dset, int cplx, int64_t rows, int64_t col0, int64_t ncols,
                          float *a, int64_t ld, sn_err *e) {
  int nd = 0;
  hsize_t dims[2] = {0, 0};
  int rc = SN_OK;
  hid_t d = sn_h5_dopen(f, dset, cplx, &nd, dims, e);
  if (d < 0)
    rc = SN_ERR_INPUT;
  else if (nd != 2)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %d dimensions, expected 2", f->path, dset, nd);
  else if ((int64_t)dims[0] != rows)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %llu rows, expected %lld", f->path, dset,
                 (unsigned long long)dims[0], (long long)rows);
  else
    rc = sn_h5_check_block(f, dset, rows, (int64_t)dims[1], col0, ncols, ld, e);
  rc = sn_agree(f->comm, rc, e);
  if (rc == SN_OK) {
    hid_t mtype = cplx ? sn_h5_complex_type() : H5Tcopy(H5T_NATIVE_FLOAT);
    rc = sn_h5_xfer_cols(f, d, mtype, cplx ? 8 : 4, 0, rows, col0, ncols, a, ld, dset, e);
    H5Tclose(mtype);
  }
  if (d >= 0) H5Dclose(d);
  return rc;
}

int sn_h5_read_cols(sn_h5 *f, const char *dset, int64_t rows, int64_t col0, int64_t ncols, float *a,
                    int64_t ld, sn_err *e) {
  return sn_h5_read_any(f, dset, 0, rows, col0, ncols, a, ld, e);
}

int sn_h5_read_cols_complex(sn_h5 *f, const char *dset, int64_t rows, int64_t col0, int64_t ncols, float *a,
                            int64_t ld, sn_err *e) {
  return sn_h5_read_any(f, dset, 1, rows, col0, ncols, a, ld, e);
}

int sn_h5_write_vec(sn_h5 *f, const char *dset, int64_t n, const double *x, sn_err *e) {
  hsize_t dims[1] = {(hsize_t)n};
  hid_t space = H5Screate_simple(1, dims, NULL);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t d = H5Dcreate2(f->file, dset, H5T_IEEE_F64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  int rc = sn_agree(f->comm, d < 0 ? SN_FAIL(e, SN_ERR_IO, "%s: cannot create dataset %s", f->path, dset) : SN_OK, e);
  if (rc == SN_OK) {
    sn_fault_fill(f->out.tmp, f->rank);
    rc = sn_h5_reserve(f, d, dset, e);
  }
  if (rc == SN_OK) {
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    hid_t mspace = H5Screate_simple(1, n > 0 ? dims : (hsize_t[]){1}, NULL);
    if (f->rank != 0 || n == 0) {
      H5Sselect_none(mspace);
      H5Sselect_none(space);
    }
    herr_t st = H5Dwrite(d, H5T_NATIVE_DOUBLE, mspace, space, dxpl, x);
    H5Sclose(mspace);
    H5Pclose(dxpl);
    rc = sn_agree(f->comm, st < 0 ? SN_FAIL(e, SN_ERR_IO, "%s: cannot write %s", f->path, dset) : SN_OK, e);
  }
  if (d >= 0) H5Dclose(d);
  H5Sclose(space);
  return rc;
}

int sn_h5_read_vec(sn_h5 *f, const char *dset, double *x, int64_t cap, int64_t *n, sn_err *e) {
  int nd = 0;
  hsize_t dims[2];
  int rc = SN_OK;
  hid_t d = sn_h5_dopen(f, dset, 0, &nd, dims, e);
  if (d < 0)
    rc = SN_ERR_INPUT;
  else if (nd != 1)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %d dimensions, expected 1", f->path, dset, nd);
  else if ((int64_t)dims[0] > cap)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %llu values, at most %lld expected", f->path, dset,
                 (unsigned long long)dims[0], (long long)cap);
  else if (dims[0] > 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0)
    rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot read %s", f->path, dset);
  if (rc == SN_OK) *n = (int64_t)dims[0];
  if (d >= 0) H5Dclose(d);
  return sn_agree(f->comm, rc, e);
}

int sn_h5_write_1d(sn_h5 *f, const char *dset, int64_t n_total, int64_t start, int64_t n, const float *x,
                   sn_err *e) {
  int rc = SN_OK;
  if (n_total < 0 || start < 0 || n < 0 || start + n > n_total)
    rc = SN_FAIL(e, SN_ERR_INTERNAL, "%s: %s: bad span [%lld, +%lld) of %lld", f->path, dset, (long long)start,
                 (long long)n, (long long)n_total);
  if (rc == SN_OK) rc = sn_h5_room(f, dset, 4.0 * (double)n_total, e);
  rc = sn_agree(f->comm, rc, e);
  if (rc) return rc;
  hsize_t dims[1] = {(hsize_t)n_total};
  hid_t space = H5Screate_simple(1, dims, NULL);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  if (n_total > 0) {
    hsize_t chunk[1] = {n_total < (1 << 20) ? (hsize_t)n_total : (hsize_t)(1 << 20)};
    H5Pset_chunk(dcpl, 1, chunk);
  }
  hid_t d = H5Dcreate2(f->file, dset, H5T_IEEE_F32LE, space, lcpl, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  rc = sn_agree(f->comm, d < 0 ? SN_FAIL(e, SN_ERR_IO, "%s: cannot create dataset %s", f->path, dset) : SN_OK, e);
  if (rc == SN_OK) {
    sn_fault_fill(f->out.tmp, f->rank);
    rc = sn_h5_reserve(f, d, dset, e);
  }
  if (rc == SN_OK) {
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    hsize_t st[1] = {(hsize_t)start}, ct[1] = {(hsize_t)n};
    hid_t mspace = H5Screate_simple(1, n > 0 ? ct : (hsize_t[]){1}, NULL);
    if (n > 0) {
      H5Sselect_hyperslab(space, H5S_SELECT_SET, st, NULL, ct, NULL);
    } else {
      H5Sselect_none(space);
      H5Sselect_none(mspace);
    }
    herr_t w = H5Dwrite(d, H5T_NATIVE_FLOAT, mspace, space, dxpl, x);
    H5Sclose(mspace);
    H5Pclose(dxpl);
    rc = sn_agree(f->comm, w < 0 ? SN_FAIL(e, SN_ERR_IO, "%s: cannot write %s", f->path, dset) : SN_OK, e);
  }
  if (d >= 0) H5Dclose(d);
  H5Sclose(space);
  return rc;
}

/* ---- attributes ---------------------------------------------------------- */

static int sn_h5_attr_write(sn_h5 *f, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                            const void *v, sn_err *e) {
  int rc = SN_OK;
  if (!sn_h5_path_ok(f->file, obj)) rc = SN_FAIL(e, SN_ERR_INTERNAL, "%s: no object %s", f->path, obj);
  rc = sn_agree(f->comm, rc, e);
  if (rc) return rc;
  if (H5Aexists_by_name(f->file, obj, name, H5P_DEFAULT) > 0) H5Adelete_by_name(f->file, obj, name, H5P_DEFAULT);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate_by_name(f->file, obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0 || H5Awrite(a, mtype, v) < 0)
    rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot write attribute %s of %s", f->path, name, obj);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  return sn_agree(f->comm, rc, e);
}

int sn_h5_attr_set_double(sn_h5 *f, const char *obj, const char *name, double v, sn_err *e) {
  return sn_h5_attr_write(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v, e);
}

int sn_h5_attr_set_int(sn_h5 *f, const char *obj, const char *name, int64_t v, sn_err *e) {
  return sn_h5_attr_write(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v, e);
}

int sn_h5_attr_set_str(sn_h5 *f, const char *obj, const char *name, const char *v, sn_err *e) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  const char *p = v ? v : "";
  int rc = sn_h5_attr_write(f, obj, name, t, t, &p, e);
  H5Tclose(t);
  return rc;
}

/* Open an attribute for reading: returns id, or -1 with *found = 0 when absent. */
static hid_t sn_h5_attr_open(sn_h5 *f, const char *obj, const char *name, int *found) {
  *found = 0;
  if (!sn_h5_path_ok(f->file, obj)) return -1;
  if (H5Aexists_by_name(f->file, obj, name, H5P_DEFAULT) <= 0) return -1;
  hid_t a = H5Aopen_by_name(f->file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) {
    hid_t s = H5Aget_space(a);
    if (H5Sget_simple_extent_npoints(s) != 1) {
      H5Sclose(s);
      H5Aclose(a);
      return -1;
    }
    H5Sclose(s);
    *found = 1;
  }
  return a;
}

static int sn_h5_attr_get_num(sn_h5 *f, const char *obj, const char *name, hid_t mtype, void *v,
                              int *found, sn_err *e) {
  int rc = SN_OK;
  hid_t a = sn_h5_attr_open(f, obj, name, found);
  if (a >= 0) {
    hid_t t = H5Aget_type(a);
    H5T_class_t c = H5Tget_class(t);
    H5Tclose(t);
    if (c != H5T_FLOAT && c != H5T_INTEGER)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: attribute %s of %s is not a number", f->path, name, obj);
    else if (H5Aread(a, mtype, v) < 0)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: cannot read attribute %s of %s", f->path, name, obj);
    H5Aclose(a);
  }
  return sn_agree(f->comm, rc, e);
}

int sn_h5_attr_get_double(sn_h5 *f, const char *obj, const char *name, double *v, int *found, sn_err *e) {
  return sn_h5_attr_get_num(f, obj, name, H5T_NATIVE_DOUBLE, v, found, e);
}

int sn_h5_attr_get_int(sn_h5 *f, const char *obj, const char *name, int64_t *v, int *found, sn_err *e) {
  return sn_h5_attr_get_num(f, obj, name, H5T_NATIVE_INT64, v, found, e);
}

/* ---- variable-length strings: read in a bounded child process --------------
 * libhdf5 1.10.8 converts a variable-length string by following its global-heap
 * reference, and a corrupted file makes that crash (H5HG_read), allocate what
 * a bogus length says (17 GB) or loop forever (H5C_protect): see
 * tests/fuzz/regress/fuzz_h5/ and docs/reliability.md. Such values are never
 * read in a rank: rank 0 forks a child that opens the file again with the
 * POSIX (sec2) driver - no MPI in the child -, reads every scalar
 * variable-length string attribute of the object under limits, and writes
 * them through a pipe; rank 0 broadcasts what came back, and every rank keeps
 * it for the later reads of that object (one child per object and file). */

#define SN_H5_VSTR_MAX_ATTRS 64        /* attributes read per object */
#define SN_H5_VSTR_MAX_VALUE 4095      /* bytes kept of a value */
/* Under valgrind (memcheck runs the child too, 20-50 times slower, in an
 * address space of its own making) the time limits grow and the address-space
 * limit is left out. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SN_H5_VALGRIND() (RUNNING_ON_VALGRIND)
#endif
#endif
#ifndef SN_H5_VALGRIND
#define SN_H5_VALGRIND() 0
#endif
#define SN_H5_VSTR_SLOW 60             /* factor of the time limits under valgrind */
#define SN_H5_VSTR_MEM_MB 256          /* address space (MiB) the child may add */
#define SN_H5_VSTR_MEM ((rlim_t)SN_H5_VSTR_MEM_MB << 20)
#define SN_H5_STR_(x) #x
#define SN_H5_STR(x) SN_H5_STR_(x)
#define SN_H5_VSTR_CPU 1               /* CPU seconds of the child (a good read takes a few ms) */
#define SN_H5_VSTR_WALL 5              /* seconds before the child is killed */

/* Child side: one record is a tag byte, a 32-bit length and that many bytes.
 * 'B' name: about to read it; 'V' value of the last 'B'; 'F' name: libhdf5
 * refused it; 'X' text: the file or object could not be opened; 'E': done. */
static int sn_h5_vstr_put(int fd, char tag, const char *p, size_t n) {
  unsigned char h[5] = {(unsigned char)tag, (unsigned char)(n & 0xff), (unsigned char)((n >> 8) & 0xff),
                        (unsigned char)((n >> 16) & 0xff), (unsigned char)((n >> 24) & 0xff)};
  struct { const void *p; size_t n; } part[2] = {{h, 5}, {p, n}};
  for (int k = 0; k < 2; k++) {
    const char *q = part[k].p;
    size_t left = part[k].n;
    while (left > 0) {
      ssize_t w = write(fd, q, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return -1;
      q += w;
      left -= (size_t)w;
    }
  }
  return 0;
}

typedef struct {
  int fd, count;
} sn_h5_vstr_it;

static herr_t sn_h5_vstr_one(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
  (void)info;
  sn_h5_vstr_it *it = data;
  if (it->count >= SN_H5_VSTR_MAX_ATTRS) return 1;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  if (a < 0) return 0;
  hid_t t = H5Aget_type(a), s = H5Aget_space(a);
  int want = t >= 0 && s >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0 &&
             H5Sget_simple_extent_npoints(s) == 1;
  if (want) {
    it->count++;
    size_t nl = strlen(name);
    if (sn_h5_vstr_put(it->fd, 'B', name, nl)) _exit(3);
    hid_t mt = H5Tcopy(t);
    char *p = NULL;
    if (H5Aread(a, mt, &p) < 0 || !p) {
      if (sn_h5_vstr_put(it->fd, 'F', name, nl)) _exit(3);
    } else {
      size_t n = strlen(p);
      if (sn_h5_vstr_put(it->fd, 'V', p, n > SN_H5_VSTR_MAX_VALUE ? SN_H5_VSTR_MAX_VALUE : n)) _exit(3);
      H5free_memory(p);
    }
    H5Tclose(mt);
  }
  if (s >= 0) H5Sclose(s);
  if (t >= 0) H5Tclose(t);
  H5Aclose(a);
  return 0;
}

/* Under a sanitizer with libFuzzer, a crash in the child would run the fuzzer's
 * death callback (and write a crash file) there: the parent judges instead. */
extern void __sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));

/* In the child: limits, then the reads. Never returns. */
static void sn_h5_vstr_child(int fd, const char *path, const char *obj) {
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(NULL);
  /* default actions: no MPI stack-trace handler, no checkpoint-on-signal flag */
  int sigs[] = {SIGALRM, SIGXCPU, SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGPIPE,
                SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t k = 0; k < sizeof sigs / sizeof *sigs; k++) signal(sigs[k], SIG_DFL);
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl); /* a crash here leaves no core file */
  const int slow = SN_H5_VALGRIND() ? SN_H5_VSTR_SLOW : 1;
  rl.rlim_cur = (rlim_t)(SN_H5_VSTR_CPU * slow);
  rl.rlim_max = rl.rlim_cur + 1;
  setrlimit(RLIMIT_CPU, &rl);
  /* The child inherits the rank's whole address space (MPI, libraries, data):
   * it may grow by SN_H5_VSTR_MEM beyond what it has now. */
  unsigned long pages = 0;
  FILE *sf = fopen("/proc/self/statm", "r");
  if (sf) {
    if (fscanf(sf, "%lu", &pages) != 1) pages = 0;
    fclose(sf);
  }
  if (pages > 0 && slow == 1) {
    rlim_t now = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
    struct rlimit cur;
    if (getrlimit(RLIMIT_AS, &cur) == 0 && (cur.rlim_cur == RLIM_INFINITY || cur.rlim_cur > now + SN_H5_VSTR_MEM)) {
      rl.rlim_cur = rl.rlim_max = now + SN_H5_VSTR_MEM;
      setrlimit(RLIMIT_AS, &rl);
    }
  }
  alarm((unsigned)(SN_H5_VSTR_WALL * slow));
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_sec2(fapl);
  H5Pset_file_locking(fapl, 0, 1);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (file < 0) {
    static const char m[] = "cannot open the file again to read its strings";
    sn_h5_vstr_put(fd, 'X', m, sizeof m - 1);
    _exit(2);
  }
  sn_h5_vstr_it it = {fd, 0};
  hsize_t idx = 0;
  if (H5Aiterate_by_name(file, obj, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, sn_h5_vstr_one, &it, H5P_DEFAULT) < 0) {
    static const char m[] = "cannot list the attributes";
    sn_h5_vstr_put(fd, 'X', m, sizeof m - 1);
    _exit(2);
  }
  sn_h5_vstr_put(fd, 'E', "", 0);
  _exit(0); /* nothing of the rank's (HDF5 close, MPI, atexit) runs here */
}

static double sn_h5_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Failures seen by this process (rank 0): the same file (device, inode, size,
 * modification time) and object fail again at once instead of waiting for
 * another child to loop or crash (a command, or the fuzz driver, may open the
 * file several times). */
typedef struct {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  char obj[256], bad[256], msg[512];
} sn_h5_vstr_fail;
static sn_h5_vstr_fail sn_h5_vstr_fails[8];
static int sn_h5_vstr_nfail = 0;

static int sn_h5_vstr_same(const sn_h5_vstr_fail *m, const struct stat *st, const char *obj) {
  return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
         m->mtime.tv_sec == st->st_mtim.tv_sec && m->mtime.tv_nsec == st->st_mtim.tv_nsec && strcmp(m->obj, obj) == 0;
}

static void sn_h5_vstr_run(sn_h5 *f, const char *obj, sn_h5_vstr *c);

/* Local (rank 0). Fill c for `obj`: from the failure memo, else by a child. */
static void sn_h5_vstr_load(sn_h5 *f, const char *obj, sn_h5_vstr *c) {
  struct stat st;
  int have = stat(f->path, &st) == 0;
  for (int i = 0; have && i < sn_h5_vstr_nfail && i < 8; i++) {
    const sn_h5_vstr_fail *m = &sn_h5_vstr_fails[i];
    if (sn_h5_vstr_same(m, &st, obj)) {
      c->rc = SN_ERR_INPUT;
      snprintf(c->bad, sizeof c->bad, "%s", m->bad);
      snprintf(c->msg, sizeof c->msg, "%s", m->msg);
      c->blob = NULL;
      c->len = 0;
      return;
    }
  }
  sn_h5_vstr_run(f, obj, c);
  if (c->rc != SN_OK && c->bad[0] == '\0' && have) { /* a crash or a time limit (slow to find again) */
    sn_h5_vstr_fail *m = &sn_h5_vstr_fails[sn_h5_vstr_nfail++ % 8];
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->size = st.st_size;
    m->mtime = st.st_mtim;
    snprintf(m->obj, sizeof m->obj, "%s", obj);
    snprintf(m->bad, sizeof m->bad, "%s", c->bad);
    snprintf(m->msg, sizeof m->msg, "%s", c->msg);
  }
}

/* Local (rank 0). Read the child's records from fd until end of file or the
 * deadline (then, or when they outgrow 4 MiB or memory, the child is killed),
 * close fd and reap the child: *buf (malloc'd, NULL when out of memory) holds
 * *n bytes; *st is its wait status when *waited. */
static void sn_h5_vstr_collect(int fd, pid_t pid, unsigned char **bufp, size_t *np, int *timed_outp, int *too_bigp,
                               int *stp, int *waitedp) {
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  int timed_out = 0, too_big = 0;
  double deadline = sn_h5_now() + SN_H5_VSTR_WALL * (SN_H5_VALGRIND() ? SN_H5_VSTR_SLOW : 1) + 1;
  for (;;) {
    double left = deadline - sn_h5_now();
    if (left <= 0) {
      timed_out = 1;
      break;
    }
    struct pollfd pf = {fd, POLLIN, 0};
    int pr = poll(&pf, 1, (int)(left * 1000) + 1);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) continue;
    if (pr < 0) break;
    if (n == cap) {
      unsigned char *nb = cap < (4u << 20) ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        too_big = 1;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf ? buf + n : NULL, buf ? cap - n : 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  int st = 0, waited = 0;
  if (timed_out || too_big || !buf) kill(pid, SIGKILL);
  for (;;) {
    pid_t w = waitpid(pid, &st, 0);
    if (w == pid) {
      waited = 1;
      break;
    }
    if (w < 0 && errno == EINTR) continue;
    break; /* ECHILD: SIGCHLD ignored by someone; the records still tell */
  }
  *bufp = buf, *np = n, *timed_outp = timed_out, *too_bigp = too_big, *stp = st, *waitedp = waited;
}

/* Local (rank 0). Run the child for `obj` and fill c from its records. */
static void sn_h5_vstr_run(sn_h5 *f, const char *obj, sn_h5_vstr *c) {
  int pfd[2];
  c->rc = SN_OK;
  if (pipe(pfd) != 0) {
    c->rc = SN_ERR_IO;
    snprintf(c->msg, sizeof c->msg, "cannot make a pipe to read string attributes: %s", strerror(errno));
    return;
  }
  fflush(NULL); /* nothing buffered is written twice (the child never flushes: _exit) */
  pid_t pid = fork();
  if (pid == 0) {
    close(pfd[0]);
    sn_h5_vstr_child(pfd[1], f->path, obj);
  }
  close(pfd[1]);
  if (pid < 0) {
    close(pfd[0]);
    c->rc = SN_ERR_IO;
    snprintf(c->msg, sizeof c->msg, "cannot start a process to read string attributes: %s", strerror(errno));
    return;
  }
  /* Read everything until end of file or the deadline, then reap the child. */
  size_t n = 0;
  unsigned char *buf = NULL;
  int timed_out = 0, too_big = 0, st = 0, waited = 0;
  sn_h5_vstr_collect(pfd[0], pid, &buf, &n, &timed_out, &too_big, &st, &waited);
  /* Parse. */
  size_t cap_blob = 64, nb = 0;
  char *blob = malloc(cap_blob);
  const char *last = NULL;
  size_t last_n = 0;
  int ended = 0, open_fail = 0;
  char xmsg[200] = "";
  size_t pos = 0;
  while (buf && blob && pos + 5 <= n) {
    char tag = (char)buf[pos];
    size_t len = (size_t)buf[pos + 1] | (size_t)buf[pos + 2] << 8 | (size_t)buf[pos + 3] << 16 | (size_t)buf[pos + 4] << 24;
    if (len > n - pos - 5) break;
    const char *p = (const char *)buf + pos + 5;
    pos += 5 + len;
    if (tag == 'B') {
      last = p;
      last_n = len;
    } else if (tag == 'V' || tag == 'F') {
      if (!last) break;
      if (tag == 'F') {
        if (c->bad[0] == '\0') {
          char bad[256];
          snprintf(bad, sizeof bad, "%.*s", (int)(last_n < 255 ? last_n : 255), last);
          memcpy(c->bad, bad, sizeof bad);
          snprintf(c->msg, sizeof c->msg,
                   "attribute %s of %s: libhdf5 cannot read it within " SN_H5_STR(SN_H5_VSTR_MEM_MB) " MiB (corrupted file?)",
                   bad, obj);
          c->rc = SN_ERR_INPUT;
        }
      } else {
        size_t need = nb + last_n + len + 2;
        if (need > cap_blob) {
          size_t nc = cap_blob;
          while (nc < need) nc *= 2;
          char *q = realloc(blob, nc);
          if (!q) break;
          blob = q;
          cap_blob = nc;
        }
        memcpy(blob + nb, last, last_n);
        blob[nb + last_n] = '\0';
        memcpy(blob + nb + last_n + 1, p, len);
        blob[nb + last_n + 1 + len] = '\0';
        /* a value with a NUL inside ends there, as the in-process read did */
        nb += last_n + len + 2;
      }
      last = NULL;
    } else if (tag == 'X') {
      open_fail = 1;
      snprintf(xmsg, sizeof xmsg, "%.*s", (int)(len < 199 ? len : 199), p);
    } else if (tag == 'E') {
      ended = 1;
      break;
    }
  }
  c->blob = blob;
  c->len = blob ? nb : 0;
  if (ended && (!waited || (WIFEXITED(st) && WEXITSTATUS(st) == 0))) {
    free(buf);
    return;
  }
  /* The child did not finish: name the attribute it was reading. */
  char what[400];
  if (last)
    snprintf(what, sizeof what, "attribute %.*s of %s", (int)(last_n < 255 ? last_n : 255), last, obj);
  else
    snprintf(what, sizeof what, "the string attributes of %s", obj);
  const char *why;
  char sig[80] = "";
  if (!buf || !blob)
    why = "out of memory";
  else if (open_fail)
    why = xmsg;
  else if (timed_out)
    why = "reading it did not finish within " SN_H5_STR(SN_H5_VSTR_WALL) " s (libhdf5 loops on a corrupted file)";
  else if (too_big)
    why = "too many attribute bytes";
  else if (waited && WIFSIGNALED(st)) {
    int sg = WTERMSIG(st);
    snprintf(sig, sizeof sig, "%s",
             sg == SIGXCPU || sg == SIGALRM || sg == SIGKILL
                 ? "reading it took more than the time limit (libhdf5 loops on a corrupted file)"
                 : "libhdf5 crashed reading it (corrupted file)");
    why = sig;
  } else if (last && waited && WIFEXITED(st)) {
    snprintf(sig, sizeof sig, "libhdf5 failed reading it (status %d; corrupted file)", WEXITSTATUS(st));
    why = sig;
  }
  else
    why = "the reading process failed";
  c->rc = SN_ERR_INPUT;
  c->bad[0] = '\0';
  snprintf(c->msg, sizeof c->msg, "%s: %s", what, why);
  free(buf);
}

/* Collective. The cache entry of obj, made on first use: rank 0 runs the child,
 * every rank gets its result. */
static sn_h5_vstr *sn_h5_vstr_get(sn_h5 *f, const char *obj) {
  for (int i = 0; i < f->n_vstr; i++)
    if (strcmp(f->vstr[i].obj, obj) == 0) return &f->vstr[i];
  int slot = f->n_vstr < SN_H5_VSTR_OBJS ? f->n_vstr++ : SN_H5_VSTR_OBJS - 1;
  sn_h5_vstr *c = &f->vstr[slot];
  free(c->blob);
  memset(c, 0, sizeof *c);
  snprintf(c->obj, sizeof c->obj, "%s", obj);
  if (f->rank == 0) sn_h5_vstr_load(f, obj, c);
  long long hdr[2] = {c->rc, (long long)c->len};
  if (f->size > 1) {
    SN_MPI_CALL(MPI_Bcast(hdr, 2, MPI_LONG_LONG, 0, f->comm));
    SN_MPI_CALL(MPI_Bcast(c->bad, (int)sizeof c->bad, MPI_CHAR, 0, f->comm));
    SN_MPI_CALL(MPI_Bcast(c->msg, (int)sizeof c->msg, MPI_CHAR, 0, f->comm));
    if (f->rank != 0) {
      c->rc = (int)hdr[0];
      c->len = (size_t)hdr[1];
      c->blob = malloc(c->len + 1);
      if (!c->blob) c->len = 0; /* still receive: every rank takes part */
    }
    /* the blob is at most a few hundred KiB (64 values of 4 KiB) */
    if (hdr[1] > 0) {
      /* every rank must have a buffer before the broadcast, or none takes part */
      int ok = c->blob != NULL || f->rank == 0, all = 0;
      SN_MPI_CALL(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, f->comm));
      if (all) SN_MPI_CALL(MPI_Bcast(c->blob, (int)hdr[1], MPI_CHAR, 0, f->comm));
      else {
        c->rc = SN_ERR_NOMEM;
        snprintf(c->msg, sizeof c->msg, "out of memory for the string attributes of %s", obj);
      }
    }
  }
  return c;
}

int sn_h5_attr_get_str(sn_h5 *f, const char *obj, const char *name, char *buf, size_t cap, int *found,
                       sn_err *e) {
  int rc = SN_OK, vlen = 0;
  if (cap) buf[0] = '\0';
  hid_t a = sn_h5_attr_open(f, obj, name, found);
  if (a >= 0) {
    hid_t t = H5Aget_type(a);
    if (H5Tget_class(t) != H5T_STRING) {
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: attribute %s of %s is not a string", f->path, name, obj);
    } else if (H5Tis_variable_str(t) > 0) {
      vlen = 1;
      if (f->created) { /* written by this run: trusted, and not on disk yet for another process */
        hid_t mt = H5Tcopy(t);
        char *p = NULL;
        if (H5Aread(a, mt, &p) < 0 || !p)
          rc = SN_FAIL(e, SN_ERR_INPUT, "%s: cannot read attribute %s of %s", f->path, name, obj);
        else {
          snprintf(buf, cap, "%s", p);
          H5free_memory(p);
        }
        H5Tclose(mt);
        vlen = 0;
      }
    } else {
      size_t sz = H5Tget_size(t);
      char *tmp = sz <= (1u << 20) ? calloc(sz + 1, 1) : NULL;
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, sz + 1);
      if (sz > (1u << 20))
        rc = SN_FAIL(e, SN_ERR_INPUT, "%s: attribute %s of %s is a string of %zu bytes (corrupted file?)", f->path,
                     name, obj, sz);
      else if (!tmp || H5Aread(a, mt, tmp) < 0)
        rc = SN_FAIL(e, SN_ERR_INPUT, "%s: cannot read attribute %s of %s", f->path, name, obj);
      else
        snprintf(buf, cap, "%s", tmp);
      free(tmp);
      H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
  }
  /* One allreduce agrees on the outcome so far and on whether a child is needed
   * (the same on every rank: the metadata was read collectively). */
  int v[2] = {rc, vlen};
  SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_INT, MPI_MAX, f->comm));
  if (v[0] != SN_OK) return sn_agree(f->comm, rc ? rc : v[0], e);
  if (v[1]) {
    sn_h5_vstr *c = sn_h5_vstr_get(f, obj);
    const char *val = NULL;
    for (size_t p = 0; c->blob && p < c->len;) {
      const char *nm = c->blob + p;
      const char *vv = nm + strlen(nm) + 1;
      if (strcmp(nm, name) == 0) {
        val = vv;
        break;
      }
      p = (size_t)(vv + strlen(vv) + 1 - c->blob);
    }
    if (c->rc != SN_OK && (c->bad[0] == '\0' || strcmp(c->bad, name) == 0))
      rc = SN_FAIL(e, c->rc, "%s: %s", f->path, c->msg);
    else if (!val)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: attribute %s of %s was not read (more than %d string attributes?)", f->path,
                   name, obj, SN_H5_VSTR_MAX_ATTRS);
    else
      snprintf(buf, cap, "%s", val);
  }
  return sn_agree(f->comm, rc, e);
}
