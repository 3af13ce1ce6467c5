"""Kernel levels (src/sn_isa.h) at SN_NP ranks: `specnmf --version` names the
level in use and the levels this CPU has; SPECNMF_ISA=L for each of those
levels runs at L (--version and the report's "kernels" of a small stft run say
so, every rank gets the variable through the launcher, and the magnitudes agree
with the best level's within 1e-5 of their peak); an unknown level fails on all
ranks with exit 2 and one error line naming SPECNMF_ISA, and leaves no output.
Independent of the CPU: the levels come from --version."""
import json
import os
import re

import h5py
import numpy as np
import soundfile as sf

import sn_testlib as T


def run_at(level, args, check=True):
    old = os.environ.get("SPECNMF_ISA")
    os.environ["SPECNMF_ISA"] = level
    try:
        return T.run(args, check=check)
    finally:
        if old is None:
            del os.environ["SPECNMF_ISA"]
        else:
            os.environ["SPECNMF_ISA"] = old


v = run_at("", ["--version"]).stdout
m = re.search(r"kernels: (\w+); this CPU: ([\w ]+);", v)
T.check(m is not None, "--version names the kernel level and the CPU's levels: %s" % v.strip())
best, levels = (m.group(1), m.group(2).split()) if m else ("?", [])
T.check(best in levels and best == levels[-1], "the default level %s is the best of %s" % (best, levels))

wav = T.tmp("in.wav")
sf.write(wav, np.random.default_rng(3).uniform(-0.5, 0.5, 20011).astype(np.float32), 16000)
mags = {}
for level in levels:
    v = run_at(level, ["--version"]).stdout
    T.check("kernels: %s;" % level in v, "SPECNMF_ISA=%s: --version says %s" % (level, v.strip()))
    out, rep = T.tmp("s_%s.h5" % level), T.tmp("r_%s.json" % level)
    run_at(level, ["stft", wav, "-o", out, "--force", "-q", "--n-fft", 512, "--report", rep])
    with open(rep) as f:
        k = json.load(f).get("kernels")
    T.check(k == level, "SPECNMF_ISA=%s: report kernels = %s at %d ranks" % (level, k, T.NP))
    with h5py.File(out, "r") as f:
        mags[level] = f["/stft/magnitude"][:].astype(float)
for level in levels:
    d = np.abs(mags[level] - mags[best]).max() / np.abs(mags[best]).max()
    T.check(d <= 1e-5, "stft magnitude at %s vs %s: max difference %.1e of the peak" % (level, best, d))

bad = T.tmp("bad.h5")
p = run_at("avx9000", ["stft", wav, "-o", bad], check=False)
errs = T.error_lines(p.stderr)
T.check(p.returncode == 2 and len(errs) == 1 and "SPECNMF_ISA=avx9000" in errs[0] and not os.path.exists(bad),
        "SPECNMF_ISA=avx9000: exit %d, %d error line(s) %s, no output" % (p.returncode, len(errs), errs))
T.finish()
