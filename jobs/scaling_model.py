#!/usr/bin/python3
"""Fit specnmf's scaling model (docs/scaling.md) to measured run reports and
predict the NMF time out to many ranks and a very long recording.

  scaling_model.py [options] -o PREFIX STUDY.csv|REPORT.json|DIR ...

Input: CSVs written by jobs/gather_reports.py, or report JSONs / folders of
them. Rows of command "nmf" with exit_code 0 are used (sizes from the facts
F, N, k, n_iter -- or n_bins, n_frames, opt.components, iterations).

Model, per NMF run at P ranks (V is F x N float32, R components, I iterations):
  T(P) = I * [ c_par * F*N*R/P + c_rep * F*R^2 + a * T_ar(m, P) ]
       + c_init * F*N*R/P                      (start: nndsvda / random)
       + (4*F*N + 4*R*(F+N)) / min(P * b_rank, B_fs)   (read V, write W, H)
  T_ar(m, P) = 2*ceil(log2 P)*alpha + 2*(P-1)/P * m / B     (Rabenseifner)
with a allreduces of m bytes per iteration (measured: allreduce calls and
bytes_reduced per iteration; else a = 2, m = 8*F*R). c_par, c_rep, c_init are
fitted (nonnegative least squares) on the slowest rank's nmf_w + nmf_h + loss
time per iteration and on init; b_rank on the read time. The network
constants alpha, B and the file system's B_fs are ASSUMPTIONS (options),
because a one-node study measures shared memory, not the network.

Writes PREFIX_model.json (constants, assumptions, fit quality),
PREFIX_prediction.csv (P, parts of T, speedup, efficiency, memory per rank)
and PREFIX_prediction.png, and prints a summary.
"""
import argparse
import csv
import glob
import json
import math
import os
import sys

import numpy as np


def _num(row, *keys, default=None):
    for k in keys:
        v = row.get(k)
        if v not in (None, ""):
            try:
                return float(v)
            except ValueError:
                pass
    return default


def load_rows(paths):
    rows = []
    for p in paths:
        files = sorted(glob.glob(os.path.join(p, "*.json")) + glob.glob(os.path.join(p, "*.csv"))) \
            if os.path.isdir(p) else [p]
        for f in files:
            if f.endswith(".csv"):
                with open(f, newline="") as fh:
                    rows += list(csv.DictReader(fh))
            else:
                sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
                from gather_reports import load
                rows += load([f])
    return rows


def measurements(rows):
    """One dict per usable nmf run."""
    out = []
    for r in rows:
        if r.get("command") != "nmf" or str(r.get("exit_code")) != "0":
            continue
        P = _num(r, "ranks")
        F = _num(r, "fact.F", "fact.n_bins", "fact.n_freq")
        N = _num(r, "fact.N", "fact.n_frames")
        R = _num(r, "fact.k", "opt.components", "opt.k", "fact.R")
        it = _num(r, "fact.n_iter", "fact.iterations")
        if None in (P, F, N, R, it) or it <= 0:
            print(f"scaling_model.py: warning: {r.get('file', '?')}: missing sizes (F, N, k, n_iter); skipped",
                  file=sys.stderr)
            continue
        comp = sum(_num(r, f"{ph}.max", default=0.0) for ph in ("nmf_w", "nmf_h", "loss"))
        calls = _num(r, "allreduce.calls", default=0.0)
        out.append(dict(P=P, F=F, N=N, R=R, I=it, comp=comp,
                        init=_num(r, "init.max", default=0.0),
                        read=_num(r, "read.max", default=0.0),
                        write=_num(r, "write.max", default=0.0),
                        ar=_num(r, "allreduce.max", default=0.0),
                        ar_calls=calls,
                        bytes=_num(r, "bytes_reduced", default=0.0),
                        total=_num(r, "total.max", default=0.0)))
    return out


def nnls(A, b):
    try:
        from scipy.optimize import nnls as _nnls
        return _nnls(A, b)[0]
    except ImportError:  # plain least squares, clipped
        return np.clip(np.linalg.lstsq(A, b, rcond=None)[0], 0, None)


def t_allreduce(m, P, alpha, B):
    P = np.asarray(P, dtype=float)
    lg = np.ceil(np.log2(np.maximum(P, 1)))
    return np.where(P > 1, 2 * lg * alpha + 2 * (P - 1) / P * m / B, 0.0)


def share(P, cores):
    """Ranks per core on the measuring node: ranks beyond its cores share them."""
    return max(1.0, P / cores) if cores else 1.0


def fit(ms, a):
    A = np.array([[m["F"] * m["N"] * m["R"] / m["P"] * share(m["P"], a.cores), m["F"] * m["R"] ** 2] for m in ms])
    b = np.array([m["comp"] / m["I"] for m in ms])
    c_par, c_rep = nnls(A, b)
    Ai = np.array([[m["F"] * m["N"] * m["R"] / m["P"] * share(m["P"], a.cores)] for m in ms])
    c_init = float(nnls(Ai, np.array([m["init"] for m in ms]))[0])
    # allreduces per iteration and bytes per call, from the runs with P > 1
    multi = [m for m in ms if m["P"] > 1 and m["ar_calls"] > 0]
    if multi:
        ar_per_iter = float(np.median([m["ar_calls"] / m["I"] for m in multi]))
        bytes_per_FR = float(np.median([m["bytes"] / m["ar_calls"] / (m["F"] * m["R"]) for m in multi]))
        ar_meas = [(m["P"], m["ar"] / m["ar_calls"], m["bytes"] / m["ar_calls"]) for m in multi]
    else:
        ar_per_iter, bytes_per_FR, ar_meas = 2.0, 8.0, []
    # read bandwidth per rank (V is read once; float32)
    bw = [4 * m["F"] * m["N"] / m["P"] / m["read"] for m in ms if m["read"] > 0]
    b_rank = float(np.median(bw)) if bw else a.rank_io_bandwidth
    if a.rank_io_bandwidth:
        b_rank = a.rank_io_bandwidth
    return dict(c_par=float(c_par), c_rep=float(c_rep), c_init=c_init, ar_per_iter=ar_per_iter,
                bytes_per_FR=bytes_per_FR, b_rank=b_rank, allreduce_measured=ar_meas)


def model_parts(k, F, N, R, I, P, a):
    P = np.asarray(P, dtype=float)
    comp = I * (k["c_par"] * F * N * R / P + k["c_rep"] * F * R * R)
    ar = I * k["ar_per_iter"] * t_allreduce(k["bytes_per_FR"] * F * R, P, a.latency, a.bandwidth)
    init = k["c_init"] * F * N * R / P
    io = (4 * F * N + 4 * R * (F + N)) / np.minimum(P * k["b_rank"], a.fs_bandwidth)
    return comp, ar, init, io


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="gather_reports.py CSVs, report JSONs or folders")
    ap.add_argument("-o", "--output", required=True, help="output prefix")
    ap.add_argument("--latency", type=float, default=2e-6, help="network latency alpha, s [2e-6]")
    ap.add_argument("--bandwidth", type=float, default=10e9, help="network bandwidth B per rank, bytes/s [10e9]")
    ap.add_argument("--fs-bandwidth", type=float, default=20e9,
                    help="parallel file system aggregate bandwidth B_fs, bytes/s [20e9]")
    ap.add_argument("--rank-io-bandwidth", type=float, default=0.0,
                    help="per-rank I/O bandwidth b_rank, bytes/s [fitted from read times; 1e9 if none]")
    ap.add_argument("--cores", type=int, default=0,
                    help="cores of the measuring node: runs with more ranks share them and are fitted so "
                         "(ranks/cores per core); 0: one core per rank [0]")
    ap.add_argument("--max-ranks", type=int, default=1024, help="predict up to this many ranks [1024]")
    ap.add_argument("--hours", type=float, default=100.0, help="recording length to predict, hours [100]")
    ap.add_argument("--rate", type=float, default=44100.0, help="sample rate, Hz [44100]")
    ap.add_argument("--n-fft", type=int, default=2048, help="FFT size [2048] (F = n_fft/2 + 1)")
    ap.add_argument("--hop", type=int, default=512, help="hop length [512]")
    ap.add_argument("-k", "--components", type=int, default=16, help="components R [16]")
    ap.add_argument("--iters", type=int, default=200, help="NMF iterations [200]")
    ap.add_argument("--weak-hours-per-rank", type=float, default=1.0,
                    help="weak-scaling prediction: recording hours per rank [1]")
    ap.add_argument("--no-plot", action="store_true")
    a = ap.parse_args(argv)
    if not a.rank_io_bandwidth:
        a.rank_io_bandwidth = 0.0

    ms = measurements(load_rows(a.inputs))
    if not ms:
        sys.exit("scaling_model.py: error: no usable nmf reports (command nmf, exit_code 0, facts F N k n_iter)")
    k = fit(ms, a)
    if not k["b_rank"]:
        k["b_rank"] = 1e9

    # fit quality on the measured points: compute part and total
    print(f"fitted: c_par = {k['c_par']:.4g} s per (F*N*R/P) per iteration, c_rep = {k['c_rep']:.4g} s per F*R^2, "
          f"c_init = {k['c_init']:.4g}, {k['ar_per_iter']:.3g} allreduce(s)/iteration of "
          f"{k['bytes_per_FR']:.3g} bytes per F*R, b_rank = {k['b_rank'] / 1e9:.3g} GB/s")
    print(f"{'P':>5s} {'F':>6s} {'N':>9s} {'R':>4s} {'I':>5s} {'comp meas':>10s} {'comp model':>10s} "
          f"{'allred/call meas':>16s}")
    errs = []
    for m in ms:
        cm = m["I"] * (k["c_par"] * m["F"] * m["N"] * m["R"] / m["P"] * share(m["P"], a.cores)
                       + k["c_rep"] * m["F"] * m["R"] ** 2)
        errs.append(abs(cm - m["comp"]) / max(m["comp"], 1e-12))
        per = m["ar"] / m["ar_calls"] if m["ar_calls"] else float("nan")
        print(f"{int(m['P']):5d} {int(m['F']):6d} {int(m['N']):9d} {int(m['R']):4d} {int(m['I']):5d} "
              f"{m['comp']:10.4f} {cm:10.4f} {per * 1e6:13.1f} us")
    print(f"compute fit: median relative error {np.median(errs):.3f}, max {np.max(errs):.3f}")

    # the prediction
    samples = a.hours * 3600 * a.rate
    F = a.n_fft // 2 + 1
    N = 1 + math.floor(samples / a.hop)          # centred frames, as librosa
    R, I = a.components, a.iters
    Ps = [1 << i for i in range(0, int(math.log2(a.max_ranks)) + 1)]
    if Ps[-1] != a.max_ranks:
        Ps.append(a.max_ranks)
    comp, ar, init, io = model_parts(k, F, N, R, I, Ps, a)
    total = comp + ar + init + io
    mem = (4 * F * N / np.array(Ps, dtype=float) + 4 * R * N / np.array(Ps, dtype=float)
           + 4 * F * R * 4 + 8 * F * R * 2)
    rows = []
    for i, P in enumerate(Ps):
        rows.append(dict(P=P, compute_s=comp[i], allreduce_s=ar[i], init_s=init[i], io_s=io[i], total_s=total[i],
                         speedup=total[0] / total[i], efficiency=total[0] / total[i] / P,
                         mem_per_rank_GB=mem[i] / 1e9))
    with open(a.output + "_prediction.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({kk: (f"{v:.6g}" if isinstance(v, float) else v) for kk, v in r.items()})
    # weak scaling: the recording grows with P (weak_hours_per_rank each)
    Nw = [1 + math.floor(a.weak_hours_per_rank * 3600 * a.rate * P / a.hop) for P in Ps]
    weak = []
    for P, n_w in zip(Ps, Nw):
        c, r_, i_, o_ = (float(x[0]) for x in model_parts(k, F, n_w, R, I, [P], a))
        weak.append(dict(P=P, N=n_w, total_s=c + r_ + i_ + o_, compute_s=c, allreduce_s=r_))
    for w_ in weak:
        w_["efficiency"] = weak[0]["total_s"] / w_["total_s"]
    # ranks where the allreduce time overtakes the compute time
    cross = next((r["P"] for r in rows if r["allreduce_s"] >= r["compute_s"]), None)
    summary = dict(
        model="T(P) = I*[c_par*F*N*R/P + c_rep*F*R^2 + a*T_ar(m,P)] + c_init*F*N*R/P + bytes/min(P*b_rank, B_fs); "
              "T_ar = 2*ceil(log2 P)*alpha + 2*(P-1)/P*m/B",
        fitted={kk: v for kk, v in k.items() if kk != "allreduce_measured"},
        allreduce_measured=[dict(P=p, seconds_per_call=t, bytes=b) for p, t, b in k["allreduce_measured"]],
        assumptions=dict(latency_s=a.latency, bandwidth_Bps=a.bandwidth, fs_bandwidth_Bps=a.fs_bandwidth),
        problem=dict(hours=a.hours, rate=a.rate, n_fft=a.n_fft, hop=a.hop, F=F, N=N, R=R, iterations=I,
                     V_bytes=4 * F * N),
        weak_prediction=weak,
        measured_points=len(ms), compute_fit_median_rel_err=float(np.median(errs)),
        allreduce_exceeds_compute_at_P=cross,
        prediction=rows)
    with open(a.output + "_model.json", "w") as fh:
        json.dump(summary, fh, indent=2)
    print(f"\nprediction: {a.hours:g} h at {a.rate:g} Hz -> F={F}, N={N}, V = {4 * F * N / 1e9:.1f} GB, R={R}, "
          f"{I} iterations; network alpha={a.latency * 1e6:g} us, B={a.bandwidth / 1e9:g} GB/s, "
          f"B_fs={a.fs_bandwidth / 1e9:g} GB/s")
    print(f"{'P':>5s} {'compute s':>10s} {'allred s':>9s} {'init s':>8s} {'io s':>8s} {'total s':>10s} "
          f"{'speedup':>8s} {'effic':>6s} {'GB/rank':>8s}")
    for r in rows:
        print(f"{r['P']:5d} {r['compute_s']:10.1f} {r['allreduce_s']:9.2f} {r['init_s']:8.1f} {r['io_s']:8.1f} "
              f"{r['total_s']:10.1f} {r['speedup']:8.1f} {r['efficiency']:6.2f} {r['mem_per_rank_GB']:8.2f}")
    if cross:
        print(f"the allreduces take longer than the compute from P = {cross}")
    print(f"\nweak scaling: {a.weak_hours_per_rank:g} h per rank, R={R}, {I} iterations")
    print(f"{'P':>5s} {'N':>11s} {'total s':>10s} {'effic':>6s}")
    for w_ in weak:
        print(f"{w_['P']:5d} {w_['N']:11d} {w_['total_s']:10.1f} {w_['efficiency']:6.2f}")
    made = [a.output + "_prediction.csv", a.output + "_model.json"]
    if not a.no_plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ((ax0, ax1), (ax3, ax2)) = plt.subplots(2, 2, figsize=(12, 8.4))
        # measured points against the fitted model at the same sizes: seconds per
        # iteration of the slowest rank (compute + allreduce), one series per (N, R)
        series = {}
        for m in ms:
            series.setdefault((int(m["F"]), int(m["N"]), int(m["R"])), []).append(m)
        ar_call = np.median([t for _, t, _ in k["allreduce_measured"]]) if k["allreduce_measured"] else 0.0
        for (Fm, Nm, Rm), pts in sorted(series.items()):
            pts.sort(key=lambda m: m["P"])
            Pm = np.array([m["P"] for m in pts])
            meas = np.array([(m["comp"] + m["ar"]) / m["I"] for m in pts])
            line = ax0.plot(Pm, meas, "o", label=f"measured F={Fm} N={Nm} R={Rm}")[0]
            Pl = np.arange(1, max(Pm.max(), 3) + 1)
            mod = (k["c_par"] * Fm * Nm * Rm / Pl * np.array([share(q, a.cores) for q in Pl]) + k["c_rep"] * Fm * Rm ** 2
                   + np.where(Pl > 1, k["ar_per_iter"] * ar_call, 0.0))
            ax0.plot(Pl, mod, "-", color=line.get_color(), alpha=0.7)
        ax0.set_xlabel("ranks P (one node" + (f", {a.cores} cores; more ranks share them)" if a.cores else ")"))
        ax0.set_ylabel("seconds per iteration, slowest rank")
        ax0.set_title("measured (dots) vs fitted model (lines)")
        ax0.grid(True, alpha=0.3)
        ax0.legend(fontsize=7)
        def loglog(ax, title):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("ranks P")
            ax.set_ylabel("seconds")
            ax.set_title(title)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)

        for y, lab in ((comp, "compute"), (ar, "allreduce"), (init, "init"), (io, "I/O"), (total, "total")):
            ax1.plot(Ps, y, "o-" if lab == "total" else ".-", label=lab)
        loglog(ax1, f"strong scaling, predicted: {a.hours:g} h @ {a.rate / 1000:g} kHz, R={R}, {I} it.")
        for key, lab in (("total_s", "total"), ("compute_s", "compute"), ("allreduce_s", "allreduce")):
            ax3.plot(Ps, [w_[key] for w_ in weak], "o-" if lab == "total" else ".-", label=lab)
        loglog(ax3, f"weak scaling, predicted: {a.weak_hours_per_rank:g} h per rank, R={R}, {I} it.")
        ax2.plot(Ps, [r["efficiency"] for r in rows], "o-", label=f"strong ({a.hours:g} h)")
        ax2.plot(Ps, [w_["efficiency"] for w_ in weak], "s-", label=f"weak ({a.weak_hours_per_rank:g} h/rank)")
        ax2.set_xscale("log", base=2)
        ax2.set_ylim(0, 1.05)
        ax2.set_xlabel("ranks P")
        ax2.set_ylabel("parallel efficiency")
        ax2.set_title(f"assumed: alpha={a.latency * 1e6:g} us, B={a.bandwidth / 1e9:g} GB/s, "
                      f"B_fs={a.fs_bandwidth / 1e9:g} GB/s")
        ax2.grid(True, alpha=0.3)
        ax2.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.output + "_prediction.png", dpi=110)
        made.append(a.output + "_prediction.png")
    print("wrote " + " ".join(made), file=sys.stderr)


if __name__ == "__main__":
    main()
