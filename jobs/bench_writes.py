#!/usr/bin/python3
"""The write phase against dd: how fast separate puts its parts on disk.

  /usr/bin/python3 jobs/bench_writes.py --specnmf BUILD/specnmf --work DIR
      [--material DIR] [--hours 1] [--np 2] [--runs 3]

A streamed separation (three 32-column KL dictionaries, as jobs/bench_stream.py,
--max-iter 1 so that compute is small) of the first test mixture looped to
--hours, mono, 22.05 kHz: its report's write phase (max over ranks: the
collective writes of every block, and the close, which syncs the files to disk
and renames them; the checkpoints, every 10 s, sync the partial parts: their
phase is reported beside it) against `dd if=/dev/zero bs=4M conv=fdatasync` writing the
same number of bytes into the same folder, run by turns, --runs times each.
Then the same for HDF5: `specnmf stft` of the same recording (V, F x N
float32, written collectively in column chunks into a file synced and renamed
at the close) against dd of the file's size.
Prints medians, MB/s and the ratio write / dd.
"""
import os
import statistics
import subprocess
import sys
import json
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_stream import bench_parser, bench_start, dictionaries, long_audio, mpirun, separate  # noqa: E402


def dd(path, nbytes):
    count = -(-nbytes // (4 << 20))
    t0 = time.time()
    subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=4M", f"count={count}", "conv=fdatasync"],
                   check=True, capture_output=True)
    t = time.time() - t0
    os.remove(path)
    return t, count * (4 << 20)


def table(title, what, writes, dds, nbytes):
    """Print the write phase and dd (seconds of each run, medians, MB/s);
    return the medians."""
    w, d = statistics.median(writes), statistics.median(dds)
    print(f"\n{title}\n\n| | seconds (runs) | MB/s |\n|---|---|---|")
    for name, med, runs in ((what, w, writes), ("dd bs=4M conv=fdatasync, same bytes, same folder", d, dds)):
        print(f"| {name} | {med:.2f} ({', '.join(f'{x:.2f}' for x in runs)}) | {nbytes / 1e6 / med:.0f} |")
    return w, d


def main():
    ap = bench_parser(__doc__)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    mat = bench_start(a)
    srcs = dictionaries(a, mat)
    inp = long_audio(a, mat, a.hours * 3600, f"{a.hours:g}h")
    out = os.path.join(a.work, "out-writes")
    writes, ckpts, dds, nbytes = [], [], [], 0
    for _ in range(a.runs):
        _, rep = separate(a, inp, out, srcs, ["--max-iter", 1])
        writes.append(rep["phases"]["write"]["max"])
        ckpts.append(rep["phases"].get("checkpoint", {}).get("max", 0.0))
        nbytes = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out) if f.endswith(".wav"))
        t, _ = dd(os.path.join(a.work, "dd.bin"), nbytes)
        dds.append(t)
    w, d = table(f"{a.np} ranks, {a.hours:g} h, {nbytes / 1e6:.0f} MB of parts, medians of {a.runs}",
                 "separate write phase (sync + rename included)", writes, dds, nbytes)
    c = statistics.median([x + y for x, y in zip(writes, ckpts)])
    print(f"| write + checkpoint phases (the checkpoints sync the partial parts) | {c:.2f} | {nbytes / 1e6 / c:.0f} |")
    print(f"\nwrite / dd = {w / d:.2f}, (write + checkpoint) / dd = {c / d:.2f} (goal <= 1.5)")
    spec, rep_path = os.path.join(a.work, "spec-writes.h5"), os.path.join(a.work, "spec-writes.json")
    writes, dds = [], []
    for _ in range(a.runs):
        subprocess.run(mpirun(a.np) + [a.specnmf, "stft", inp, "-o", spec, "--force", "-q", "--report", rep_path],
                       check=True, capture_output=True)
        with open(rep_path) as f:
            writes.append(json.load(f)["phases"]["write"]["max"])
        nbytes = os.path.getsize(spec)
        t, _ = dd(os.path.join(a.work, "dd.bin"), nbytes)
        dds.append(t)
    w, d = table(f"HDF5: specnmf stft, {nbytes / 1e6:.0f} MB file, medians of {a.runs}",
                 "stft write phase (V, sync + rename included)", writes, dds, nbytes)
    print(f"\nHDF5 write / dd = {w / d:.2f} (goal <= 1.5)")
    os.remove(spec)
    os.remove(inp)


if __name__ == "__main__":
    main()
