"""Bad input to specnmf nmf at SN_NP ranks: each case ends (no hang: 60 s
limit) with a non-zero exit, one 'specnmf: error: ...' line naming the problem,
and no output file."""
import os
import numpy as np
import nmf_common as C

ck = C.Checker()
T = C.TMP
F, N = 33, 40
V = C.spectrogram(F, N, seed=1)
C.write_spec(f"{T}/v.h5", V)
Vn = V.copy(); Vn[5, N - 1] = -1.0
C.write_spec(f"{T}/neg.h5", Vn)
Vnan = V.copy(); Vnan[2, N // 2] = np.nan
C.write_spec(f"{T}/nan.h5", Vnan)
Vz = V.copy(); Vz[0, N - 2] = 0.0
C.write_spec(f"{T}/zero.h5", Vz)
C.write_model(f"{T}/badW.h5", np.ones((F + 1, 3)), np.ones((3, N)))
C.write_model(f"{T}/badH.h5", np.ones((F, 3)), np.ones((3, N - 1)))
C.write_model(f"{T}/dictfft.h5", np.ones((F, 2)), np.ones((2, N)), attrs=dict(C.ATTRS, n_fft=256))
C.write_model(f"{T}/negW.h5", -np.ones((F, 3)), np.ones((3, N)))

cases = [
    ("missing input file", [f"{T}/nope.h5", "-k", "3"], "nope.h5"),
    ("missing dataset", [f"{T}/v.h5", "-k", "3", "--dataset", "/stft/nothing"], "nothing"),
    ("k = 0", [f"{T}/v.h5", "-k", "0"], "components"),
    ("k < 0", [f"{T}/v.h5", "-k", "-2"], "components"),
    ("k > min(F, N)", [f"{T}/v.h5", "-k", str(N + 1)], "exceed"),
    ("F < k <= N", [f"{T}/v.h5", "-k", str(F + 2)], "exceed"),
    ("negative entry", [f"{T}/neg.h5", "-k", "3"], "negative"),
    ("NaN entry", [f"{T}/nan.h5", "-k", "3"], "non-finite"),
    ("beta <= 0 with zeros", [f"{T}/zero.h5", "-k", "3", "--beta", "is"], "zeros"),
    ("beta -1 with zeros", [f"{T}/zero.h5", "-k", "3", "--beta", "-1"], "zeros"),
    ("tol < 0", [f"{T}/v.h5", "-k", "3", "--tol", "-1e-3"], "tol"),
    ("init W of the wrong shape", [f"{T}/v.h5", "-k", "3", "--init", f"{T}/badW.h5"], "/nmf/W"),
    ("init H of the wrong shape", [f"{T}/v.h5", "-k", "3", "--init", f"{T}/badH.h5"], "/nmf/H"),
    ("init file with negative W", [f"{T}/v.h5", "-k", "3", "--init", f"{T}/negW.h5"], "negative"),
    ("cd with beta != 2", [f"{T}/v.h5", "-k", "3", "--solver", "cd", "--beta", "kl"], "Frobenius"),
    ("bad beta", [f"{T}/v.h5", "-k", "3", "--beta", "xyz"], "beta"),
    ("dictionary of another n_fft", [f"{T}/v.h5", "-k", "3", "--fix-W", f"{T}/dictfft.h5"], "n_fft"),
    ("init file of another n_fft", [f"{T}/v.h5", "-k", "2", "--init", f"{T}/dictfft.h5"], "n_fft"),
    ("dictionary wider than k", [f"{T}/v.h5", "-k", "1", "--fix-W", f"{T}/negW.h5:/nmf/W"], "columns"),
]
for what, args, key in cases:
    out = f"{T}/out.h5"
    try:
        p = C.run(args + ["-o", out], check=False, timeout=60)
        rc, err = p.returncode, p.stderr
    except Exception as ex:  # timeout = hang
        rc, err = -999, str(ex)
    lines = [l for l in err.splitlines() if l.startswith("specnmf: error:")]
    ok = rc not in (0, -999) and len(lines) == 1 and key in lines[0] and not os.path.exists(out)
    ck.check(ok, f"{what}: exit {rc}: {lines[0] if lines else err.strip()[-200:]}")

# an existing output without --force: refused before the solve, the file untouched
out = f"{T}/exists.h5"
with open(out, "wb") as fh:
    fh.write(b"precious")
p = C.run([f"{T}/v.h5", "-k", "3", "--max-iter", "100000", "--tol", "0", "-o", out], check=False, timeout=60)
lines = [l for l in p.stderr.splitlines() if l.startswith("specnmf: error:")]
ck.check(p.returncode == 4 and len(lines) == 1 and "exists" in lines[0] and "iteration" not in p.stderr
         and open(out, "rb").read() == b"precious",
         f"existing output without --force: exit {p.returncode}, refused before the solve: {lines}")
ck.done()
