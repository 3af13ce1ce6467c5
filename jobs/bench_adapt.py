#!/usr/bin/python3
"""Cost of `separate --source ... --adapt N` where the run would stream (V in
a scratch file, parallel/sn_pnmf.h reading it a chunk at a time) beside the
held-fixed streamed run and the in-memory --adapt (--block-seconds 0), on one
input, by turns, medians of --repeat: whole job (wall), the report's total,
the NMF phases and the peak RSS per rank (max over ranks).

All three run exactly --iter held-fixed H updates (--tol 0 in memory) so that
only the path differs; the adapt runs add N joint iterations.

  /usr/bin/python3 jobs/bench_adapt.py BUILD INPUT.wav DICT_A.h5 DICT_B.h5 ... [--np 2] [--iter 100]
      [--adapt 10] [--repeat 3] [--dir DIR] [--skip-memory]
Prints one line per run and a median table."""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1", OMPI_MCA_mtl="^ofi")
NMF_PHASES = ("nmf_w", "nmf_h", "allreduce", "loss")


def run(exe, np_, args, rep):
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-n", str(np_), exe]
    t0 = time.perf_counter()
    subprocess.run(cmd + [str(a) for a in args] + ["--report", rep, "-q", "--force", "--no-plot"], check=True,
                   env=ENV, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r = json.load(open(rep))
    ph = r["phases"]
    return {"wall": wall, "total": ph["total"]["max"],
            "nmf": sum(ph[p]["max"] for p in NMF_PHASES if p in ph),
            "rss": r["peak_rss_mib"]["max"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("input")
    ap.add_argument("dicts", nargs="+", help="NAME=DICT.h5 or DICT.h5 (the name is then the file's stem)")
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--iter", type=int, default=100)
    ap.add_argument("--adapt", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir")
    ap.add_argument("--skip-memory", action="store_true", help="leave out the in-memory --adapt run")
    a = ap.parse_args()
    exe = os.path.join(a.build, "specnmf") if os.path.isdir(a.build) else a.build
    d = a.dir or tempfile.mkdtemp(prefix="bench_adapt_")
    os.makedirs(d, exist_ok=True)
    srcs = []
    for x in a.dicts:
        name, path = x.split("=", 1) if "=" in x else (os.path.splitext(os.path.basename(x))[0], x)
        srcs += ["--source", "%s=%s" % (name.replace(".", "_"), path)]
    base = ["separate", a.input, "--max-iter", a.iter] + srcs
    cases = [("held fixed, streamed", base + ["--adapt", 0]),
             ("--adapt %d, V in a scratch file" % a.adapt, base + ["--adapt", a.adapt, "--scratch", d])]
    if not a.skip_memory:
        cases.append(("--adapt %d, V in memory" % a.adapt, base + ["--adapt", a.adapt, "--block-seconds", 0, "--tol", 0]))
    res = {c: [] for c, _ in cases}
    for i in range(a.repeat):
        for c, args in cases:
            r = run(exe, a.np, args + ["-o", os.path.join(d, "out")], os.path.join(d, "rep.json"))
            res[c].append(r)
            print("run %d %-34s wall %7.2f s  total %7.2f s  nmf %7.2f s  peak RSS %6.0f MiB/rank"
                  % (i + 1, c, r["wall"], r["total"], r["nmf"], r["rss"]), flush=True)
    print("\n| %d ranks, medians of %d | whole job (wall) | report total | NMF phases | peak RSS per rank |"
          % (a.np, a.repeat))
    print("| --- | --- | --- | --- | --- |")
    ref = statistics.median(r["wall"] for r in res[cases[0][0]])
    for c, _ in cases:
        m = {k: statistics.median(r[k] for r in res[c]) for k in ("wall", "total", "nmf", "rss")}
        print("| %s | %.2f s (%.2fx) | %.2f s | %.2f s | %.0f MiB |" % (c, m["wall"], m["wall"] / ref, m["total"],
                                                                       m["nmf"], m["rss"]))


if __name__ == "__main__":
    main()
