"""specnmf score on bad input: each case gives exactly one line
`specnmf: error: ...` naming the problem, a non-zero exit, and no output
file (nor a temporary one) at every rank count."""
import os

import numpy as np
import soundfile as sf

from sn_testlib import check, error_lines, finish, run, tmp

SR = 8000
rng = np.random.default_rng(3)


def write(name, x, sr=SR, subtype="FLOAT"):
    path = tmp(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, np.asarray(x, np.float32), sr, subtype=subtype)
    return path


T = SR  # 1 s
a = write("a.wav", rng.standard_normal(T))
b = write("b.wav", rng.standard_normal(T))
x = write("x.wav", rng.standard_normal(T))
y = write("y.wav", rng.standard_normal(T))
short = write("short.wav", rng.standard_normal(T - 10))
rate = write("rate.wav", rng.standard_normal(T), sr=16000)
stereo = write("stereo.wav", rng.standard_normal((T, 2)))
silent = write("silent.wav", np.zeros(T))
a_dup = write("other/a.flac", rng.standard_normal(T) * 0.1, subtype="PCM_16")
text = tmp("text.wav")
with open(text, "w") as f:
    f.write("not audio\n")
exists = tmp("exists.json")
with open(exists, "w") as f:
    f.write("{}\n")

cases = [
    ("fewer estimates than references", ["--ref", a, b, "--est", x], "1 estimate for 2 references"),
    ("equal reference names", ["--ref", a, a_dup, "--est", x, y], "same name 'a'"),
    ("equal estimate names", ["--ref", a, "--est", x, x], "same name 'x'"),
    ("missing file", ["--ref", a, "--est", tmp("nope.wav")], "nope.wav: cannot open"),
    ("unreadable file", ["--ref", a, "--est", text], "text.wav: not a supported audio file"),
    ("length mismatch", ["--ref", a, b, "--est", x, short], "score needs equal lengths"),
    ("sample-rate mismatch", ["--ref", a, "--est", rate], "score needs one sample rate"),
    ("channel-count mismatch", ["--ref", a, "--est", stereo], "score needs one channel count"),
    ("silent reference", ["--ref", silent, "--est", x], "silent (all zeros)"),
    ("silent estimate", ["--ref", a, "--est", silent], "silent estimate"),
    ("no --ref", ["--est", x], "--ref FILE... is required"),
    ("bad --search", ["--ref", a, "--est", x, y, "--search", "best"], "--search"),
]
for i, (what, args, needle) in enumerate(cases):
    out = tmp(f"out{i}.json")
    p = run(["score", *args, "-o", out], check=False)
    errs = error_lines(p.stderr)
    check(p.returncode != 0, f"{what}: non-zero exit ({p.returncode})")
    check(len(errs) == 1 and needle in errs[0], f"{what}: one error line with '{needle}' ({errs})")
    check(not os.path.exists(out), f"{what}: no output file")

# an existing output is kept without --force, replaced with it
p = run(["score", "--ref", a, "--est", x, "-o", exists], check=False)
errs = error_lines(p.stderr)
check(p.returncode != 0 and len(errs) == 1 and "exists" in errs[0], f"existing output refused ({errs})")
check(open(exists).read() == "{}\n", "existing output untouched")
p = run(["score", "-q", "--ref", a, "--est", x, "-o", exists, "--force"])
check(p.returncode == 0 and '"sdr"' in open(exists).read(), "--force replaces it")
# an unwritable output: one error, nothing left behind
out = tmp("no/such/dir/out.json")
p = run(["score", "--ref", a, "--est", x, "-o", out], check=False)
errs = error_lines(p.stderr)
check(p.returncode != 0 and len(errs) == 1 and "cannot write" in errs[0], f"unwritable output ({errs})")
left = [f for f in os.listdir(tmp("")) if ".tmp-" in f]
check(not left, f"no temporary files left ({left})")
finish()
