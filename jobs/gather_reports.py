#!/usr/bin/python3
"""Gather specnmf run reports (--report FILE.json) of a scaling study into one
CSV and draw its plots.

  gather_reports.py [--kind strong|weak|auto] -o PREFIX REPORT.json|DIR ...

Writes PREFIX.csv (one row per report: command, ranks, threads, exit code,
bytes reduced, every option as opt.NAME, every fact as fact.NAME, and for each
phase PHASE.min/.max/.mean/.imbalance/.calls) and, from the reports with
exit_code 0, per command (stft, nmf, ...) with the median over repeats of the
slowest rank's total time T(P):
  PREFIX_speedup.png     strong: T(P0)*P0/T(P); weak: scaled, P*T(P0)/(P0*T(P))
  PREFIX_efficiency.png  speedup / P  (weak: T(P0)/T(P))
  PREFIX_phases.png      per-phase time of the slowest rank, stacked, per P
  PREFIX_imbalance.png   per-phase max/mean over ranks, per P
P0 is the smallest rank count measured (1 if present). The kind is taken from
the file names (strong-*/weak-*, as jobs/*_scaling.sbatch write them) unless
given. Also prints the table of T(P), speedup and efficiency.
"""
import argparse
import csv
import glob
import json
import os
import re
import sys
from collections import defaultdict
from statistics import median

PHASES = ["read", "resample", "plan", "stft", "init", "nmf_w", "nmf_h", "loss", "allreduce",
          "nnls", "mel", "griffinlim", "istft", "halo", "checkpoint", "write", "plot", "total"]
STATS = ["min", "max", "mean", "imbalance", "calls"]
NAME_RE = re.compile(r"(?P<kind>strong|weak)-(?P<cmd>[a-z]+)-p(?P<p>\d+)-r(?P<rep>\d+)\.json$")


def load(paths):
    """The reports as flat dicts (key order: fixed columns, options, facts, phases)."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(glob.glob(os.path.join(p, "*.json")))
        else:
            files.append(p)
    rows = []
    for f in files:
        try:
            with open(f) as fh:
                r = json.load(fh)
        except (OSError, ValueError) as e:
            print(f"gather_reports.py: warning: {f}: {e}; skipped", file=sys.stderr)
            continue
        if not isinstance(r, dict) or "phases" not in r or "ranks" not in r:
            print(f"gather_reports.py: warning: {f}: not a specnmf report; skipped", file=sys.stderr)
            continue
        m = NAME_RE.search(os.path.basename(f))
        row = {"file": f, "kind": m["kind"] if m else "", "repeat": int(m["rep"]) if m else 1,
               "command": r.get("command", ""), "ranks": int(r["ranks"]),
               "threads_per_rank": r.get("threads_per_rank", ""), "blas": r.get("blas", ""),
               "version": r.get("version", ""), "slurm_job_id": r.get("slurm_job_id", ""),
               "exit_code": r.get("exit_code", ""), "bytes_reduced": r.get("bytes_reduced", "")}
        for k, v in (r.get("options") or {}).items():
            row["opt." + k] = v
        for k, v in (r.get("facts") or {}).items():
            row["fact." + k] = v
        for ph, st in (r.get("phases") or {}).items():
            for s in STATS:
                if s in st:
                    row[f"{ph}.{s}"] = st[s]
        rows.append(row)
    return rows


def columns(rows):
    fixed = ["file", "kind", "command", "ranks", "repeat", "threads_per_rank", "blas", "version",
             "slurm_job_id", "exit_code", "bytes_reduced"]
    extra = sorted({k for r in rows for k in r if k.startswith(("opt.", "fact."))})
    phases = [p for p in PHASES if any(f"{p}.max" in r for r in rows)]
    phases += sorted({k.split(".")[0] for r in rows for k in r if k.endswith(".max")} - set(phases))
    return fixed + extra + [f"{p}.{s}" for p in phases for s in STATS], phases


def summarize(rows, kind):
    """{command: [(P, T, speedup, efficiency, {phase: max}, {phase: imbalance}, n)]}."""
    by = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if str(r.get("exit_code")) != "0" or "total.max" not in r:
            continue
        by[r["command"]][r["ranks"]].append(r)
    out = {}
    for cmd, per_p in by.items():
        ps = sorted(per_p)
        t = {p: median(float(x["total.max"]) for x in per_p[p]) for p in ps}
        p0 = ps[0]
        lines = []
        for p in ps:
            if kind == "weak":
                eff = t[p0] / t[p]
                sp = eff * p / p0
            else:
                sp = t[p0] * p0 / t[p]
                eff = sp / p
            phases = {}
            imb = {}
            for ph in PHASES[:-1]:
                vals = [float(x[f"{ph}.max"]) for x in per_p[p] if f"{ph}.max" in x]
                if vals:
                    phases[ph] = median(vals)
                    imb[ph] = median(float(x.get(f"{ph}.imbalance", 1.0)) for x in per_p[p] if f"{ph}.max" in x)
            lines.append((p, t[p], sp, eff, phases, imb, len(per_p[p])))
        out[cmd] = lines
    return out


def plot(summary, kind, prefix):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cmds = sorted(summary)
    made = []
    n = len(cmds)

    def fig_axes():
        fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.2), squeeze=False)
        return fig, axes[0]

    # speedup
    fig, axes = fig_axes()
    for ax, c in zip(axes, cmds):
        ps = [x[0] for x in summary[c]]
        ax.plot(ps, [x[2] for x in summary[c]], "o-", label="measured")
        ax.plot(ps, ps, "k--", lw=1, label="ideal")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xlabel("ranks P")
        ax.set_ylabel("scaled speedup" if kind == "weak" else "speedup")
        ax.set_title(f"{c}: {kind} scaling")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(prefix + "_speedup.png", dpi=110)
    made.append(prefix + "_speedup.png")
    plt.close(fig)

    # efficiency
    fig, axes = fig_axes()
    for ax, c in zip(axes, cmds):
        ps = [x[0] for x in summary[c]]
        ax.plot(ps, [x[3] for x in summary[c]], "o-")
        ax.axhline(1.0, color="k", ls="--", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_ylim(0, max(1.1, max(x[3] for x in summary[c]) * 1.05))
        ax.set_xlabel("ranks P")
        ax.set_ylabel("parallel efficiency")
        ax.set_title(f"{c}: {kind} scaling efficiency")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(prefix + "_efficiency.png", dpi=110)
    made.append(prefix + "_efficiency.png")
    plt.close(fig)

    # per-phase breakdown (slowest rank per phase), stacked
    fig, axes = fig_axes()
    for ax, c in zip(axes, cmds):
        ps = [x[0] for x in summary[c]]
        phs = [ph for ph in PHASES[:-1] if any(ph in x[4] for x in summary[c])]
        bottom = [0.0] * len(ps)
        xs = range(len(ps))
        for ph in phs:
            v = [x[4].get(ph, 0.0) for x in summary[c]]
            ax.bar(xs, v, bottom=bottom, label=ph)
            bottom = [b + y for b, y in zip(bottom, v)]
        ax.plot(xs, [x[1] for x in summary[c]], "k_", ms=18, mew=2, label="total")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([str(p) for p in ps])
        ax.set_xlabel("ranks P")
        ax.set_ylabel("seconds (slowest rank per phase)")
        ax.set_title(f"{c}: time per phase")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(prefix + "_phases.png", dpi=110)
    made.append(prefix + "_phases.png")
    plt.close(fig)

    # imbalance
    fig, axes = fig_axes()
    for ax, c in zip(axes, cmds):
        ps = [x[0] for x in summary[c]]
        phs = [ph for ph in PHASES[:-1] if any(ph in x[5] for x in summary[c])]
        for ph in phs:
            ax.plot(ps, [x[5].get(ph, float("nan")) for x in summary[c]], "o-", label=ph)
        ax.axhline(1.0, color="k", ls="--", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ranks P")
        ax.set_ylabel("imbalance (max / mean over ranks)")
        ax.set_title(f"{c}: load imbalance")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(prefix + "_imbalance.png", dpi=110)
    made.append(prefix + "_imbalance.png")
    plt.close(fig)
    return made


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", help="report JSON files or folders of them")
    ap.add_argument("-o", "--output", required=True, help="output prefix (PREFIX.csv, PREFIX_*.png)")
    ap.add_argument("--kind", choices=["strong", "weak", "auto"], default="auto")
    ap.add_argument("--no-plots", action="store_true", help="only the CSV and the table")
    a = ap.parse_args(argv)
    rows = load(a.reports)
    if not rows:
        sys.exit("gather_reports.py: error: no reports found in " + " ".join(a.reports))
    kind = a.kind
    if kind == "auto":
        kinds = {r["kind"] for r in rows if r["kind"]}
        kind = kinds.pop() if len(kinds) == 1 else "strong"
    cols, _ = columns(rows)
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    with open(a.output + ".csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in sorted(rows, key=lambda r: (r["command"], r["ranks"], r["repeat"], r["file"])):
            w.writerow(r)
    bad = [r["file"] for r in rows if str(r.get("exit_code")) != "0"]
    if bad:
        print(f"gather_reports.py: {len(bad)} report(s) with a nonzero exit code left out of the plots: "
              + ", ".join(os.path.basename(b) for b in bad), file=sys.stderr)
    summary = summarize(rows, kind)
    print(f"{'command':8s} {'P':>5s} {'T(P) s':>10s} {'speedup':>8s} {'effic.':>7s} {'runs':>4s}")
    for c in sorted(summary):
        for p, t, sp, eff, _, _, nrun in summary[c]:
            print(f"{c:8s} {p:5d} {t:10.3f} {sp:8.2f} {eff:7.2f} {nrun:4d}")
    made = [a.output + ".csv"]
    if summary and not a.no_plots:
        made += plot(summary, kind, a.output)
    print("wrote " + " ".join(made), file=sys.stderr)


if __name__ == "__main__":
    main()
