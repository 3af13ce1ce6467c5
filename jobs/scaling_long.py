#!/usr/bin/python3
"""The scaling model for very long recordings (docs/scaling.md, "Any length"):
streamed fixed-dictionary separation and online NMF, fitted on run reports
and extrapolated to many nodes.

  scaling_long.py --stream REPORT.json [...] --online REPORT.json [...]
      [--stream-hours 1000] [--stream-nodes 16] [--online-hours 100]
      [--online-nodes 4] [--ranks-per-node 32] [--rate 44100] [--n-fft 2048]
      [--hop 512] [--latency 2e-6] [--bandwidth 10e9] [--fs-bandwidth 20e9]
      [--rank-io-bandwidth 0] [--cores 0] [--json OUT.json]

Streamed separation (separate --source ..., every column fixed), per rank,
N frames over P ranks, K dictionary columns, S sources, I H updates per frame:
  T = c_h * I*F*K*N/P                 H updates (nmf_h; no reduction per block)
    + c_fwd * N/P + c_inv * S*N/P     STFT of the block, masks and inverse STFTs
    + (in_bytes + S*out_bytes)/P / min(b_rank, B_fs/P)     read and write
    + one halo exchange at the end (2 messages of (n_fft-hop)*S floats)
  memory per rank: the block's (the peak RSS measured; it does not grow with N)
Online NMF (--solver online, R components, batch B frames, E passes, then
the final H pass over every frame, counted as one more pass: fitted so):
  T = (E + 1) * c_on*F*N*R/P + E*(N/B) * (c_w*F*R + T_ar(8*(2*F*R+5), P))
    + 4*F*N/P / min(b_rank, B_fs/P)                 the input, read once
    + (1 + walks) * 4*F*N/P / (B_scratch / ranks per node)   the scratch file
  T_ar(m, P) = 2*ceil(log2 P)*alpha + 2*(P-1)/P*m/B  (as scaling_model.py)
  V is not held: each rank writes its frames once to a node-local scratch file
  and walks it E times (one slice per step), once for the V sums and the random
  start, and ceil(T_tr/10) + 1 times for the final H pass of T_tr updates and
  the loss (parallel/sn_ponline.c). The scratch term is the worst case, a disk
  at B_scratch per node; when the node's share (4*F*N/nodes) fits the page
  cache it is about 0, and both totals are printed.
  memory per rank: H (4*R*N/P) + two slices and tiles (8*F*max(B/P, 256)) + the
  base measured by tests/py/test_online_memory.py (46 MiB).
The constants (c_h, c_fwd, c_inv, b_rank from streamed reports; c_on, c_w
from online reports; the same options for the prediction, e.g. the batch) are fitted on the slowest rank's phase times; the
network (alpha, B) and the file system (B_fs) are assumptions, as in
scaling_model.py. --cores: ranks beyond the measuring node's cores share them
(the fit counts P/cores per core).
"""
import argparse
import json
import math
import statistics
import sys


def load(paths):
    out = []
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        if r.get("exit_code", 0) != 0:
            continue
        r["_file"] = p
        out.append(r)
    return out


def ph(r, name):
    v = r.get("phases", {}).get(name)
    return float(v["max"]) if isinstance(v, dict) else 0.0


def share(P, cores):
    return max(1.0, P / cores) if cores else 1.0


def fit_stream(reps, a):
    rows = []
    for r in reps:
        f, o = r["facts"], r.get("options", {})
        P = float(r["ranks"])
        F, N, K, I = float(f["F"]), float(f["N"]), float(f["k"]), float(f["n_iter"])
        S = float(f.get("n_sources", 1))
        sh = share(P, a.cores)
        n_fft = float(o.get("n-fft") or 2 * (F - 1))
        hop = float(o["hop"]) if float(o.get("hop") or -1) > 0 else n_fft // 4  # -1: n_fft/4, as librosa
        samples = N * hop
        rows.append(dict(file=r["_file"], P=P, N=N, F=F, K=K, I=I, S=S,
                         c_h=ph(r, "nmf_h") / (I * F * K * N / P * sh),
                         c_fwd=ph(r, "stft") / (N / P * sh),
                         c_inv=ph(r, "istft") / (S * N / P * sh),
                         b_read=(4 * samples / P) / max(ph(r, "read"), 1e-9),
                         b_write=(4 * S * samples / P) / max(ph(r, "write"), 1e-9),
                         total=ph(r, "total"), rss=float(r.get("peak_rss_mib", {}).get("max", 0.0))))
    k = {c: statistics.median(x[c] for x in rows) for c in ("c_h", "c_fwd", "c_inv", "b_read", "b_write")}
    k["rss_mib"] = max(x["rss"] for x in rows)
    return k, rows


def fit_online(reps, a):
    rows = []
    for r in reps:
        f, o = r["facts"], r.get("options", {})
        P = float(r["ranks"])
        F, N, R = float(f["F"]), float(f["N"]), float(f["k"])
        E = float(f.get("n_iter") or o.get("max-iter"))
        B = float(o.get("batch-size") or 1024)
        sh = share(P, a.cores)
        steps = E * math.ceil(N / B)
        rows.append(dict(file=r["_file"], P=P, F=F, N=N, R=R, E=E, B=B,
                         c_on=ph(r, "nmf_h") / ((E + 1) * F * N * R / P * sh),
                         c_w=ph(r, "nmf_w") / (steps * F * R * sh),
                         ar_call=ph(r, "allreduce") / max(1.0, steps),
                         b_read=4 * F * N / P / max(ph(r, "read"), 1e-9),
                         rss=float(r.get("peak_rss_mib", {}).get("max", 0.0))))
    k = {c: statistics.median(x[c] for x in rows) for c in ("c_on", "c_w", "ar_call", "b_read")}
    return k, rows


def t_ar(m, P, alpha, B):
    return 0.0 if P <= 1 else 2 * math.ceil(math.log2(P)) * alpha + 2 * (P - 1) / P * m / B


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stream", nargs="*", default=[], help="run reports of streamed separate")
    ap.add_argument("--online", nargs="*", default=[], help="run reports of nmf/learn --solver online")
    ap.add_argument("--stream-hours", type=float, default=1000.0)
    ap.add_argument("--stream-nodes", type=int, default=16)
    ap.add_argument("--stream-k", type=int, default=96, help="dictionary columns [96: three 32-column sources]")
    ap.add_argument("--stream-sources", type=int, default=3)
    ap.add_argument("--stream-iters", type=int, default=100)
    ap.add_argument("--online-hours", type=float, default=100.0)
    ap.add_argument("--online-nodes", type=int, default=4)
    ap.add_argument("--online-k", type=int, default=16)
    ap.add_argument("--online-passes", type=int, default=20)
    ap.add_argument("--online-batch", type=int, default=4096)
    ap.add_argument("--online-transform", type=int, default=30, help="MU updates of the final H pass [30]")
    ap.add_argument("--scratch-bandwidth", type=float, default=2e9,
                    help="ASSUMED node-local scratch disk bandwidth per node, B/s [2e9: one NVMe]")
    ap.add_argument("--base-mib", type=float, default=46.0, help="MEASURED base memory per rank, MiB [46]")
    ap.add_argument("--ranks-per-node", type=int, default=32, help="ASSUMED cores (ranks) per node [32]")
    ap.add_argument("--rate", type=float, default=44100.0)
    ap.add_argument("--n-fft", type=int, default=2048)
    ap.add_argument("--hop", type=int, default=512)
    ap.add_argument("--latency", type=float, default=2e-6)
    ap.add_argument("--bandwidth", type=float, default=10e9)
    ap.add_argument("--fs-bandwidth", type=float, default=20e9)
    ap.add_argument("--rank-io-bandwidth", type=float, default=0.0,
                    help="per-rank I/O bandwidth [the fitted read/write bandwidths]")
    ap.add_argument("--cores", type=int, default=0)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    if not a.stream and not a.online:
        sys.exit("scaling_long.py: error: give --stream and/or --online run reports")
    F = a.n_fft // 2 + 1
    out = {"assumptions": dict(ranks_per_node=a.ranks_per_node, latency_s=a.latency, bandwidth_Bps=a.bandwidth,
                               fs_bandwidth_Bps=a.fs_bandwidth, rate=a.rate, n_fft=a.n_fft, hop=a.hop)}
    if a.stream:
        k, rows = fit_stream(load(a.stream), a)
        for x in rows:
            print(f"stream fit: {x['file']}: P={x['P']:.0f} N={x['N']:.0f} K={x['K']:.0f} I={x['I']:.0f}: "
                  f"c_h={x['c_h']:.3g} c_fwd={x['c_fwd']:.3g} c_inv={x['c_inv']:.3g} "
                  f"read {x['b_read'] / 1e6:.0f} MB/s write {x['b_write'] / 1e6:.0f} MB/s per rank, "
                  f"peak RSS {x['rss']:.0f} MiB")
        N = 1 + math.floor(a.stream_hours * 3600 * a.rate / a.hop)
        K, S, I = a.stream_k, a.stream_sources, a.stream_iters
        print(f"\nstreamed separation of {a.stream_hours:g} h at {a.rate:g} Hz (N = {N}), K = {K}, S = {S}, "
              f"{I} H updates per frame")
        print(f"{'nodes':>5s} {'ranks':>6s} {'H upd s':>9s} {'FFT s':>8s} {'I/O s':>8s} {'total s':>9s} "
              f"{'x real time':>11s} {'MiB/rank':>8s}")
        pred = []
        for nodes in sorted({1, 2, 4, 8, a.stream_nodes, 2 * a.stream_nodes}):
            P = nodes * a.ranks_per_node
            comp = k["c_h"] * I * F * K * N / P
            fft = k["c_fwd"] * N / P + k["c_inv"] * S * N / P
            samples = a.stream_hours * 3600 * a.rate
            br = a.rank_io_bandwidth or k["b_read"]
            bw = a.rank_io_bandwidth or k["b_write"]
            io = 4 * samples / min(P * br, a.fs_bandwidth) + 4 * S * samples / min(P * bw, a.fs_bandwidth)
            tot = comp + fft + io
            rt = a.stream_hours * 3600 / tot
            pred.append(dict(nodes=nodes, ranks=P, h_updates_s=comp, fft_s=fft, io_s=io, total_s=tot,
                             x_real_time=rt, mib_per_rank=k["rss_mib"]))
            mark = " <-" if nodes == a.stream_nodes else ""
            print(f"{nodes:5d} {P:6d} {comp:9.1f} {fft:8.1f} {io:8.1f} {tot:9.1f} {rt:11.0f} "
                  f"{k['rss_mib']:8.0f}{mark}")
        out["stream"] = dict(fitted=k, measured=rows, hours=a.stream_hours, N=N, K=K, S=S, iters=I, prediction=pred)
    if a.online:
        k, rows = fit_online(load(a.online), a)
        for x in rows:
            print(f"online fit: {x['file']}: P={x['P']:.0f} N={x['N']:.0f} R={x['R']:.0f} passes={x['E']:.0f} "
                  f"batch={x['B']:.0f}: c_on={x['c_on']:.3g} c_w={x['c_w']:.3g} "
                  f"allreduce {x['ar_call'] * 1e6:.0f} us/step (one node)")
        N = 1 + math.floor(a.online_hours * 3600 * a.rate / a.hop)
        R, E, B = a.online_k, a.online_passes, a.online_batch
        steps = E * math.ceil(N / B)
        m = 8 * (2 * F * R + 5)
        print(f"\nonline NMF of {a.online_hours:g} h at {a.rate:g} Hz (N = {N}, V = {4 * F * N / 1e9:.0f} GB), "
              f"R = {R}, {E} passes of batch {B} ({steps} steps), then the final H pass")
        walks = E + 1 + math.ceil(a.online_transform / 10) + 1
        print(f"{'nodes':>5s} {'ranks':>6s} {'steps s':>9s} {'W upd s':>8s} {'allred s':>9s} {'transform s':>11s} "
              f"{'read s':>7s} {'scratch s':>9s} {'total s':>9s} {'cached s':>9s} {'MiB/rank':>8s} {'scratch GB/rank':>15s}")
        pred = []
        for nodes in sorted({1, 2, a.online_nodes, 2 * a.online_nodes, 4 * a.online_nodes}):
            P = nodes * a.ranks_per_node
            comp = k["c_on"] * E * F * N * R / P
            wupd = k["c_w"] * steps * F * R
            ar = steps * t_ar(m, P, a.latency, a.bandwidth)
            tr = k["c_on"] * F * N * R / P  # the final H pass over every frame, counted as one more pass
            rd = 4 * F * N / min(P * (a.rank_io_bandwidth or k["b_read"]), a.fs_bandwidth)
            sc = (1 + walks) * 4 * F * N / nodes / a.scratch_bandwidth
            tot = comp + wupd + ar + tr + rd + sc
            mib = (4 * R * N / P + 8 * F * max(B / P, 256)) / 2**20 + a.base_mib
            pred.append(dict(nodes=nodes, ranks=P, steps_s=comp, w_update_s=wupd, allreduce_s=ar, transform_s=tr,
                             read_s=rd, scratch_s=sc, total_s=tot, total_cached_s=tot - sc, mib_per_rank=mib,
                             scratch_gb_per_rank=4 * F * N / P / 1e9))
            mark = " <-" if nodes == a.online_nodes else ""
            print(f"{nodes:5d} {P:6d} {comp:9.1f} {wupd:8.1f} {ar:9.2f} {tr:11.1f} {rd:7.1f} {sc:9.1f} {tot:9.1f} "
                  f"{tot - sc:9.1f} {mib:8.0f} {4 * F * N / P / 1e9:15.2f}{mark}")
        out["online"] = dict(fitted=k, measured=rows, hours=a.online_hours, N=N, R=R, passes=E, batch=B,
                             transform=a.online_transform, walks=walks, scratch_bandwidth=a.scratch_bandwidth,
                             prediction=pred)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
