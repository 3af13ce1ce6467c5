#!/usr/bin/python3
"""nmf --solver online holds no V: at SN_NP ranks, on a stored spectrogram of
about 192 MiB per rank (random, chunked as specnmf stft writes), the run's
peak resident memory per rank (getrusage, max over ranks, from the report)
stays under half of the V block, while the batch solver (mu) holds V whole
(its peak is above the block: the check can fail). The loss written by the
online run is that of W H over every frame (the final transform pass reads
the scratch file again), finite and positive, and the scratch folder is left
empty. In a sanitizer build (SN_SANITIZED=1) the runs and their outputs are
checked but not their memory."""
import json
import os

import h5py
import numpy as np

from sn_testlib import NP, check, finish, run, tmp

F, N = 1025, 49152 * NP
rng = np.random.default_rng(5)
spec = tmp("big.h5")
with h5py.File(spec, "w") as h:
    d = h.create_dataset("/stft/magnitude", shape=(F, N), dtype="f4", chunks=(F, 256))
    for j in range(0, N, 8192):
        d[:, j:j + 8192] = rng.random((F, min(8192, N - j)), dtype=np.float32)
    for k, v in dict(sample_rate=22050.0, n_fft=2048, hop_length=512, win_length=2048, window="hann",
                     center=1, power=1).items():
        d.attrs[k] = v
scratch = tmp("scratch")
os.makedirs(scratch, exist_ok=True)
common = ["-k", "8", "--beta", "kl", "--init", "random", "--max-iter", "1", "--force", "-q"]
facts = {}
for solver in ("online", "mu"):
    extra = ["--batch-size", "2048", "--transform-max-iter", "2", "--scratch", scratch] if solver == "online" else []
    rep = tmp(f"rep_{solver}.json")
    run(["nmf", spec, "-o", tmp(f"m_{solver}.h5"), "--solver", solver, "--report", rep] + common + extra,
        timeout=300)
    facts[solver] = json.load(open(rep))["facts"]
    print(f"{solver}: peak RSS {facts[solver]['peak_rss_mib_max']:.1f} MiB per rank, "
          f"V block {facts[solver]['v_block_mib_max']:.1f} MiB")
v = facts["online"]["v_block_mib_max"]
check(v > 180, f"V block per rank {v:.1f} MiB > 180 MiB")
if os.environ.get("SN_SANITIZED") == "1":
    print("sanitizer build: AddressSanitizer's shadow memory and quarantine inflate RSS (seen: online 361 MiB, "
          "mu 592 MiB at 2 ranks), so the memory checks are left to the release build")
else:
    check(facts["online"]["peak_rss_mib_max"] < 0.5 * v,
          f"online: peak RSS {facts['online']['peak_rss_mib_max']:.1f} MiB < half the V block ({0.5 * v:.1f} MiB)")
    check(facts["mu"]["peak_rss_mib_max"] > v,
          f"mu (holds V): peak RSS {facts['mu']['peak_rss_mib_max']:.1f} MiB > the V block {v:.1f} MiB")
loss = h5py.File(tmp("m_online.h5"))["/nmf"].attrs.get("loss", float("nan"))
check(np.isfinite(loss) and loss > 0, f"online loss {loss} finite and positive")
check(os.listdir(scratch) == [], f"the scratch folder is left empty ({os.listdir(scratch)})")
finish()
