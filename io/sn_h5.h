#pragma once
/* HDF5 files through parallel HDF5. Only io/ includes hdf5.h (here and the
 * audio reader's HDF5 input in io/sn_audio.c); no other layer has its path.
 * Arrays in memory are column-major (a column = one frame, contiguous, leading
 * dimension ld); datasets on file are row-major (rows, cols), so a spectrogram
 * V of F bins x N frames is the dataset (F, N) and numpy users get V = W @ H.
 * Each rank reads or writes its own column block [col0, col0 + ncols).
 * Every function marked Collective must be called by all ranks of the file's
 * communicator with the same names and shapes; it returns the same code on all
 * ranks (failures are agreed inside, see parallel/comm/sn_comm.h). Files created for
 * writing live under a temporary name until sn_h5_close(..., commit=1). */
#include <mpi.h>
#include <stdint.h>
#include "sn_base.h"

typedef struct sn_h5 sn_h5;

/* Collective. Create `path` for writing (a temporary name beside it until
 * commit). Fails with SN_ERR_IO if path exists and !force, or cannot be made. */
int sn_h5_create(MPI_Comm comm, const char *path, int force, sn_h5 **f, sn_err *e);

/* Collective. Open an existing file read-only (SN_ERR_IO if missing, SN_ERR_INPUT
 * if not HDF5). */
int sn_h5_open(MPI_Comm comm, const char *path, sn_h5 **f, sn_err *e);

/* Collective. Close. For a created file: commit != 0 renames the temporary file
 * to its final name, commit == 0 removes it. *f becomes NULL. Safe on NULL. */
int sn_h5_close(sn_h5 **f, int commit, sn_err *e);

/* Local. The path this handle was opened or created for. */
const char *sn_h5_path(const sn_h5 *f);

/* Local. The communicator the file was opened on. */
MPI_Comm sn_h5_comm(const sn_h5 *f);

/* Collective. 1 if the object (dataset or group) exists, else 0. */
int sn_h5_exists(sn_h5 *f, const char *obj);

/* Collective. Rank (number of dimensions, at most 2 reported) and dims of a
 * numeric dataset. SN_ERR_INPUT if missing or not a float/integer dataset. */
int sn_h5_shape(sn_h5 *f, const char *dset, int *ndims, int64_t dims[2], sn_err *e);

/* Collective. Create dataset (rows, cols) of float32 (creating parent groups),
 * chunked in column tiles, and write this rank's block of ncols columns starting
 * at col0 from column-major a (leading dimension ld >= rows). ncols may be 0. */
int sn_h5_write_cols(sn_h5 *f, const char *dset, int64_t rows, int64_t cols, int64_t col0,
                     int64_t ncols, const float *a, int64_t ld, sn_err *e);

/* Collective. As sn_h5_write_cols for complex data: a holds interleaved (re, im)
 * float pairs, column-major with ld complex elements; the file type is the
 * compound {r: float32, i: float32} that h5py reads as complex64. */
int sn_h5_write_cols_complex(sn_h5 *f, const char *dset, int64_t rows, int64_t cols,
                             int64_t col0, int64_t ncols, const float *a, int64_t ld, sn_err *e);

/* Collective. Read this rank's column block of a 2-D dataset (any float/int type,
 * converted to float32) into column-major a (ld >= rows). SN_ERR_INPUT if the
 * dataset is missing, not 2-D, has `rows` != its first dimension or too few columns. */
int sn_h5_read_cols(sn_h5 *f, const char *dset, int64_t rows, int64_t col0, int64_t ncols,
                    float *a, int64_t ld, sn_err *e);

/* Collective. Read a complex ({r,i} compound) column block into interleaved pairs. */
int sn_h5_read_cols_complex(sn_h5 *f, const char *dset, int64_t rows, int64_t col0,
                            int64_t ncols, float *a, int64_t ld, sn_err *e);

/* Collective. Write / read a 1-D float64 dataset of n values (every rank passes
 * the same values; rank 0's go to the file). read_vec reads into x of capacity
 * cap and sets *n (SN_ERR_INPUT if larger than cap or not 1-D). */
int sn_h5_write_vec(sn_h5 *f, const char *dset, int64_t n, const double *x, sn_err *e);
int sn_h5_read_vec(sn_h5 *f, const char *dset, double *x, int64_t cap, int64_t *n, sn_err *e);

/* Collective. Create a 1-D float32 dataset of n_total values (creating parent
 * groups) and write this rank's values [start, start+n) (n may be 0). */
int sn_h5_write_1d(sn_h5 *f, const char *dset, int64_t n_total, int64_t start, int64_t n,
                   const float *x, sn_err *e);

/* Collective. Attributes on an existing object (dataset or group, "/" for the
 * file). Setting replaces an existing attribute. Getting: *found = 0 (and SN_OK)
 * when the attribute does not exist. Strings are written variable-length UTF-8.
 * A variable-length string of a file opened for reading is never converted in
 * a rank (libhdf5 1.10.8 crashes, allocates 17 GB or loops on corrupted ones):
 * rank 0 forks a child (256 MiB more address space, 1 s CPU, 5 s) that reads
 * all of the object's string attributes (up to 64, 4095 bytes each) and sends
 * them back through a pipe; rank 0 broadcasts them and every rank keeps them
 * for later reads of that object (one child per object and open file, about
 * 30 ms). A child that crashes, runs out of its limits or fails makes the read
 * fail with SN_ERR_INPUT naming the attribute, on every rank. */
int sn_h5_attr_set_double(sn_h5 *f, const char *obj, const char *name, double v, sn_err *e);
int sn_h5_attr_set_int(sn_h5 *f, const char *obj, const char *name, int64_t v, sn_err *e);
int sn_h5_attr_set_str(sn_h5 *f, const char *obj, const char *name, const char *v, sn_err *e);
int sn_h5_attr_get_double(sn_h5 *f, const char *obj, const char *name, double *v, int *found, sn_err *e);
int sn_h5_attr_get_int(sn_h5 *f, const char *obj, const char *name, int64_t *v, int *found, sn_err *e);
int sn_h5_attr_get_str(sn_h5 *f, const char *obj, const char *name, char *buf, size_t cap,
                       int *found, sn_err *e);

/* Local. Split "FILE.h5:/path" into file and dataset; without ":/", the dataset
 * is dflt. Fails (SN_ERR_USAGE) if a part does not fit its buffer. */
int sn_h5_split_spec(const char *spec, const char *dflt, char *file, size_t file_cap,
                     char *dset, size_t dset_cap, sn_err *e);

/* Local. 1 if the file at path starts with the HDF5 signature. */
int sn_h5_is_hdf5(const char *path);
