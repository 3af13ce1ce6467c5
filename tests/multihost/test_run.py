"""specnmf across test hosts equals specnmf on one node (ctest multihost.run).

Three test hosts (network namespaces mh0, mh1, mh2, see hosts.sh); mpirun runs
on mh0 and starts the other hosts' orteds through agent.sh. Layouts:
  3 hosts x 1 rank, --mca btl tcp,self        (every message crosses the switch)
  2 hosts x 2 ranks, --mca btl tcp,vader,self (shared memory inside a host, TCP
                                               between hosts: a real cluster's setting)
Each command's outputs (HDF5 datasets and attributes, WAVs, PNG) must equal, bit
for bit, the same command at the same rank count on one node with the tests'
usual shared-memory launch: the parallel HDF5 writes, the halo exchanges of the
ISTFT and Griffin-Lim and the NMF's allreduces all cross the network."""
import os
import subprocess

import soundfile as sf

from mh import (SUBNET, Hosts, check, compare_dirs, finish, log, mh_env, mh_mpirun, one_mpirun, run, t)

# 3 s of the bundled example (22.05 kHz stereo): 1025 x 130 at n_fft 2048
y, sr = sf.read(os.path.join(os.environ["SN_SRC"], "examples", "example.flac"), frames=22050 * 3)
sf.write(t("in.wav"), y, sr, subtype="PCM_16")

COMMANDS = {
    "stft": ["stft", "../in.wav", "-o", "spec.h5", "--complex", "--mono", "-q"],  # the complex STFT is one channel
    "nmf": ["nmf", "../spec.h5", "-k", "6", "--beta", "kl", "--init", "random", "--seed", "3", "--max-iter", "80",
            "--tol", "0", "-o", "model.h5", "-q"],
    "separate": ["separate", "../in.wav", "-k", "4", "--store-audio", "--wisdom", "../fftw.wisdom", "-o", "out", "-q"],
    "griffinlim": ["separate", "../in.wav", "-k", "3", "--reconstruct", "griffinlim", "--gl-iter", "8",
                   "--no-plot", "--wisdom", "../fftw.wisdom", "-o", "out", "-q"],
}
LAYOUTS = [  # hosts, ranks per host, btl, commands
    (3, 1, "tcp,self", ["stft", "nmf", "separate", "griffinlim"]),
    (2, 2, "tcp,vader,self", ["nmf", "separate"]),
]


def folder(*parts):
    d = t(*parts)
    os.makedirs(d, exist_ok=True)
    return d


# the common input of nmf: a spectrogram made once on one node
rc, out, _ = run(one_mpirun(1), ["stft", t("in.wav"), "-o", t("spec.h5"), "-q"])
assert rc == 0, out

with Hosts(3) as H:
    # the launch itself: one rank per host, each on its own hostname and address
    p = subprocess.run(mh_mpirun(3, 1) + ["/bin/sh", "-c", "echo $(hostname) $(ip -4 -o addr show dev veth0 | "
                                          "awk '{print $4}')"],
                       capture_output=True, text=True, env=mh_env(), timeout=60)
    seen = sorted(line for line in p.stdout.splitlines() if line)
    check(p.returncode == 0 and seen == [f"mh{i} {SUBNET}.{i + 1}/24" for i in range(3)],
          f"mpirun over 3 hosts starts one rank per host: {seen} {p.stderr.strip()}")

    one_done = {}
    for hosts, per, btl, cmds in LAYOUTS:
        np_ = hosts * per
        for name in cmds:
            args = COMMANDS[name]
            if (name, np_) not in one_done:
                d1 = folder(f"{name}.one.np{np_}")
                rc, out, dt1 = run(one_mpirun(np_), args, cwd=d1)
                check(rc == 0, f"{name} at {np_} ranks on one node ({dt1:.1f} s)" + ("" if rc == 0 else "\n" + out))
                one_done[(name, np_)] = (d1, dt1)
            d1, dt1 = one_done[(name, np_)]
            dm = folder(f"{name}.{hosts}x{per}")
            rc, out, dtm = run(mh_mpirun(hosts, per, btl), args, cwd=dm, env=mh_env())
            what = f"{name} on {hosts} hosts x {per} rank(s), btl {btl}"
            if not check(rc == 0, f"{what} ({dtm:.1f} s, one node {dt1:.1f} s)" + ("" if rc == 0 else "\n" + out)):
                continue
            diffs = compare_dirs(dm, d1)
            files = sorted(os.path.relpath(os.path.join(r, f), dm) for r, _, fs in os.walk(dm) for f in fs)
            check(not diffs, f"{what}: {', '.join(files)} bit-identical to one node at {np_} ranks"
                  + ("" if not diffs else ": " + "; ".join(diffs[:8])))
    log("done")

finish()
