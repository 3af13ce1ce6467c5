/* specnmf nmf: distributed NMF of a stored magnitude spectrogram (see sn_cmd_nmf.h). */
#include "sn_cmd_nmf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sn_cli.h"
#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_model.h"
#include "sn_nmf_cli.h"
#include "sn_pnmf.h"
#include "sn_signal.h"
#include "sn_vcache.h"


/* The compat callback of sn_nmf_cli_run: the attributes of obj against those of V. */
typedef struct {
  const sn_spec_attrs *in;
  const char *path;
} nmf_compat_ctx;

static int nmf_compat(void *ctx, sn_h5 *f, const char *obj, const char *file, sn_err *e) {
  const nmf_compat_ctx *c = ctx;
  sn_spec_attrs other;
  int rc = sn_spec_attrs_read(f, obj, &other, e);
  if (rc) return rc;
  return sn_spec_attrs_check(c->in, &other, file, c->path, e);
}

/* The input of nmf: this rank's block of V and the input's attributes. */
typedef struct nmf_input {
  float *V;              /* F x n_local, ld F; NULL when streamed (cache) */
  int64_t F, N, col0, n_local;
  size_t nv;             /* F * n_local */
  sn_spec_attrs at;      /* the attributes of the input dataset */
  sn_vcache *cache;      /* --solver online: the block in a scratch file instead of V */
  sn_frames frames;      /* the source over the cache */
} nmf_input;

/* Columns per collective read when V goes to the scratch file. */
#define NMF_STREAM_COLS 1024

/* Local. The options every rank parsed alike; points nc->checkpoint_s at
 * ckpt (MODEL.h5.ckpt.h5) unless --checkpoint names one. */
static int check_opts(const sn_common *com, sn_nmf_cli *nc, char *ckpt, size_t cap, sn_err *e) {
  int rc;
  if (!com->output) rc = SN_FAIL(e, SN_ERR_USAGE, "nmf: -o MODEL.h5 is required");
  else rc = sn_nmf_cli_check("nmf", nc, e);
  snprintf(ckpt, cap, "%s.ckpt.h5", com->output ? com->output : "nmf");
  if (!nc->checkpoint_s) nc->checkpoint_s = ckpt;
  return rc;
}

/* Local. V must be a 2-D (F, N) array that fits k components (and the
 * online solver's batch). */
static int check_shape(const sn_nmf_cli *nc, int nd, const int64_t *dims, const char *in, const char *dset,
                       sn_err *e) {
  char what[2048];
  snprintf(what, sizeof what, "%s %s", in, dset);
  if (nd != 2 || dims[0] < 1 || dims[1] < 1)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: %s must be a 2-D (F, N) array with F, N >= 1", in, dset);
  int rc = sn_nmf_cli_check_k("nmf", nc->k, dims[0], dims[1], what, e);
  if (rc == SN_OK) rc = sn_nmf_cli_check_batch("nmf", nc, dims[1], e);
  return rc;
}

/* Local. Allocate this rank's block of V. */
static int alloc_block(nmf_input *d, const char *in, sn_err *e) {
  if (sn_mul_size((size_t)d->F, (size_t)d->n_local, &d->nv)) return SN_FAIL(e, SN_ERR_NOMEM, "%s: block too large", in);
  d->V = sn_calloc(d->nv * sizeof(float), "spectrogram block", e);
  return d->V ? SN_OK : SN_ERR_NOMEM;
}

/* Collective. This rank's columns of dset, NMF_STREAM_COLS at a time (every
 * rank takes part in as many reads as the rank with the most columns), each
 * checked and appended to the scratch file in dir: only one piece of V is in
 * memory. */
static int nmf_read_stream(sn_run *run, sn_h5 *f, const char *in, const char *dset, const sn_nmf_cli *nc,
                           const char *dir, nmf_input *d) {
  sn_err *e = &run->err;
  const int64_t F = d->F, most = (d->N + run->size - 1) / run->size;
  float *buf = NULL;
  int rc = sn_vcache_open(dir, F, &d->cache, e);
  if (rc == SN_OK) {
    buf = sn_calloc((size_t)(F * NMF_STREAM_COLS) * sizeof(float), "spectrogram piece", e);
    if (!buf) rc = SN_ERR_NOMEM;
  }
  SN_AGREE(run, rc);
  for (int64_t j0 = 0; j0 < most; j0 += NMF_STREAM_COLS) {
    int64_t m = d->n_local - j0 < NMF_STREAM_COLS ? d->n_local - j0 : NMF_STREAM_COLS;
    if (m < 0) m = 0;
    SN_CHECK(sn_h5_read_cols(f, dset, F, d->col0 + (m > 0 ? j0 : 0), m, buf, F, e));
    rc = sn_nmf_cli_check_v(buf, F, m, d->col0 + j0, nc->beta, in, dset, e);
    if (rc == SN_OK && m > 0) rc = sn_vcache_put(d->cache, j0, m, buf, e);
    SN_AGREE(run, rc);
  }
  d->frames = sn_vcache_frames(d->cache, d->n_local);
cleanup:
  sn_free(buf);
  return rc;
}

/* Collective (phase read). This rank's columns of dataset dset of file in,
 * checked (shape, k, finite and nonnegative), and the input's attributes;
 * with --solver online, into a scratch file in dir (d->V stays NULL). */
static int nmf_read(sn_run *run, const char *in, const char *dset, const sn_nmf_cli *nc, const char *dir,
                    nmf_input *d) {
  sn_err *e = &run->err;
  sn_h5 *f = NULL;
  int64_t dims[2] = {0, 0};
  int nd = 0, rc;
  sn_timer_begin(&run->timer, SN_PH_READ);
  SN_CHECK(sn_h5_open(run->comm, in, &f, e));
  SN_CHECK(sn_h5_shape(f, dset, &nd, dims, e));
  SN_AGREE(run, check_shape(nc, nd, dims, in, dset, e));
  d->F = dims[0];
  d->N = dims[1];
  sn_block_range(d->N, run->size, run->rank, &d->col0, &d->n_local);
  if (nc->online) {
    SN_CHECK(nmf_read_stream(run, f, in, dset, nc, dir, d));
  } else {
    SN_AGREE(run, alloc_block(d, in, e));
    SN_CHECK(sn_h5_read_cols(f, dset, d->F, d->col0, d->n_local, d->V, d->F, e));
  }
  SN_CHECK(sn_spec_attrs_read(f, dset, &d->at, e));
  SN_CHECK(sn_h5_close(&f, 0, e));
  if (!nc->online) SN_AGREE(run, sn_nmf_cli_check_v(d->V, d->F, d->n_local, d->col0, nc->beta, in, dset, e));
  sn_timer_end(&run->timer, SN_PH_READ);
cleanup:
  if (f) sn_h5_close(&f, 0, e);
  return rc;
}

/* Collective (phase write). The model: /nmf/W, /nmf/H, the loss history and
 * the /nmf attributes, then the output under its final name (*out = NULL). */
static int nmf_write(sn_run *run, sn_h5 **outp, const sn_nmf_cli *nc, const sn_pnmf_opts *o, const sn_pnmf_state *st,
                     const nmf_input *d, const float *W, const float *H, int64_t n_fixed) {
  sn_err *e = &run->err;
  sn_h5 *out = *outp;
  const int64_t F = d->F, N = d->N, k = nc->k;
  const sn_spec_attrs *at_in = &d->at;
  int rc;
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  {
    char reg[256];
    snprintf(reg, sizeof reg, "alpha_W=%g alpha_H=%g l1_ratio=%g (l1_W=%g l2_W=%g l1_H=%g l2_H=%g)", nc->alpha_W,
             nc->alpha_H, nc->l1_ratio, o->cfg.l1_W, o->cfg.l2_W, o->cfg.l1_H, o->cfg.l2_H);
    const sn_model_opts mo = {nc->seed, nc->max_iter, nc->tol, nc->alpha_W, nc->alpha_H, nc->l1_ratio, reg, nc->sort};
    const sn_model m = {{F, k, N, d->col0, d->n_local}, W, H, st->hist, st->hist_iter, st->n_hist, NULL,
                        nc->beta, nc->solver_s, nc->init_s, &mo, st->iter, n_fixed, st->converged, st->loss, 1};
    SN_CHECK(sn_model_write(out, &m, e));
  }
  SN_CHECK(sn_spec_attrs_write(out, "/nmf/W", at_in, e));
  SN_CHECK(sn_spec_attrs_write(out, "/nmf/H", at_in, e));
  SN_CHECK(sn_spec_attrs_write(out, "/nmf", at_in, e));
  SN_CHECK(sn_h5_close(outp, 1, e));
cleanup:
  sn_timer_end(&run->timer, SN_PH_WRITE); /* a no-op once closed */
  return rc;
}

/* Collective. The run's facts for the report, and the peak resident memory
 * per rank (max over ranks) against the V block. */
static void nmf_report(sn_run *run, const nmf_input *d, int64_t k, const sn_pnmf_state *st) {
  sn_run_fact_int(run, "F", d->F);
  sn_run_fact_int(run, "N", d->N);
  sn_run_fact_int(run, "k", k);
  sn_run_fact_int(run, "n_iter", st->iter);
  sn_run_fact_int(run, "converged", st->converged);
  sn_run_fact_double(run, "loss", st->loss);
  sn_run_fact_double(run, "reconstruction_err", sqrt(2.0 * fmax(st->loss, 0.0)));
  sn_run_fact_double(run, "bytes_reduced", run->bytes_reduced);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double mem[2] = {(double)ru.ru_maxrss / 1024.0, (double)d->F * (double)d->n_local * 4.0 / 1048576.0};
  SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, mem, 2, MPI_DOUBLE, MPI_MAX, run->comm));
  sn_run_fact_double(run, "peak_rss_mib_max", mem[0]);
  sn_run_fact_double(run, "v_block_mib_max", mem[1]);
  SN_PROGRESS(run, "nmf: peak memory per rank %.1f MiB (largest V block %.1f MiB%s), %.0f bytes reduced per rank",
              mem[0], mem[1], d->cache ? ", streamed from a scratch file" : "", run->bytes_reduced);
  run->timer.bytes_reduced = run->bytes_reduced;
}

int sn_cmd_nmf(sn_run *run, int argc, char **argv) {
  sn_err *e = &run->err;
  sn_common com = {0};
  sn_nmf_cli nc = SN_NMF_CLI_DEFAULT(64);
  const char *dset = "/stft/magnitude";
  const sn_opt t_main[] = {
      SN_COMMON_OPTS(&com),
      SN_NMF_OPTS(&nc),
      {"--dataset", 0, SN_OPT_STRING, &dset, "PATH", "input dataset (default /stft/magnitude)"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t_main, NULL};
  const char *pos[1] = {NULL};
  int n_pos = 0, done = 0;
  int rc = sn_cli_parse(run, &com, "SPEC.h5 -k R -o MODEL.h5 [options]",
                        "Factorize the magnitude spectrogram V (F x N) of SPEC.h5 as V ~= W H (sklearn NMF semantics), "
                        "distributed over ranks by time frames.",
                        tables, argc, argv, pos, 1, 1, &n_pos, &done);
  if (rc || done) return rc;

  const char *in = pos[0];
  sn_pnmf_opts o;
  memset(&o, 0, sizeof o);
  sn_pnmf_state st;
  memset(&st, 0, sizeof st);
  nmf_input d;
  memset(&d, 0, sizeof d);
  sn_h5 *out = NULL;
  float *W = NULL, *H = NULL;
  char ckpt_buf[4096];
  int64_t n_fixed = 0;
  sn_signal_catch(); /* from here to the end: a signal asks for a checkpoint */

  SN_AGREE(run, check_opts(&com, &nc, ckpt_buf, sizeof ckpt_buf, e));
  /* the output first (under its temporary name): an existing -o without
   * --force or an unwritable path must fail now, not after hours of solving */
  SN_CHECK(sn_h5_create(run->comm, com.output, com.force, &out, e));
  char scratch[4096];
  sn_nmf_cli_scratch_dir(&nc, com.output, 0, scratch, sizeof scratch);
  SN_CHECK(nmf_read(run, in, dset, &nc, scratch, &d));

  /* start, solve (a SIGTERM/SIGUSR1 caught since the start asks for a checkpoint), sort */
  SN_PROGRESS(run, "nmf: V %lld x %lld on %d rank(s), k = %lld, beta = %g, solver %s, init %s%s", (long long)d.F,
              (long long)d.N, run->size, (long long)nc.k, nc.beta, nc.solver_s, nc.init_s, nc.fix_W_s ? ", fixed dictionary" : "");
  nmf_compat_ctx cctx = {&d.at, in};
  const sn_nmf_block blk = {d.V, d.F, d.N, d.col0, d.n_local, in, nc.checkpoint_s, nmf_compat, nmf_compat, &cctx,
                            d.cache ? &d.frames : NULL};
  SN_CHECK(sn_nmf_cli_run(run, "nmf", &nc, &blk, &o, &W, &H, &st, &n_fixed));

  SN_CHECK(nmf_write(run, &out, &nc, &o, &st, &d, W, H, n_fixed));
  /* the run is complete: its checkpoint is no longer needed */
  if (run->rank == 0) unlink(nc.checkpoint_s);
  nmf_report(run, &d, nc.k, &st);

cleanup:
  sn_signal_release();
  if (out) sn_h5_close(&out, 0, e);
  sn_pnmf_state_free(&st);
  sn_free(d.V);
  sn_vcache_close(&d.cache);
  sn_free(W);
  sn_free(H);
  return rc;
}
