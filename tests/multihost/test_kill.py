"""A host fails in the middle of a multi-host NMF; the survivors stop, and a resume
from the last checkpoint equals the uninterrupted run bit for bit (ctest
multihost.kill).

3 test hosts x 1 rank, nmf of a 257 x 1251 spectrogram (k 8, KL, 400 iterations,
--checkpoint-every 20). The uninterrupted multi-host run is the reference; it
must equal the one-node run at 3 ranks. Then, each at a seeded random point
after the first checkpoint:
  ranks    SIGKILL of the specnmf rank on mh2 (its orted lives on)
  host     SIGKILL of everything on mh1: rank and orted (a crashed node)
  network  mh2's cable pulled: its switch port goes down, no FIN or RST ever
           comes; found by the out-of-band keepalive (5 s idle, 3 probes 2 s
           apart), the settings docs/cluster.md recommends
Each time mpirun must exit non-zero within 60 s naming the failed host, with no
specnmf process left on any host, no output under the final name and a
checkpoint at a multiple of 20; the resume (on the 3 hosts, or on one node for
"host", as a job requeued elsewhere would) must equal the reference."""
import os
import random
import signal
import subprocess
import time

import h5py
import numpy as np
import soundfile as sf

from mh import (SPECNMF, Hosts, check, comm, finish, log, mh_env, mh_mpirun, one_mpirun, run, t)

# What mpirun says when a node's daemon is gone: it notices either the closed
# out-of-band connection or the exit of the daemon's ssh (here agent.sh) first.
LOST = ["lost communication with a remote daemon", "unable to reliably start one or more daemons"]
RNG = random.Random(int(os.environ.get("SN_SEED", "11")))
LIMIT = 60  # seconds from the failure to mpirun's exit
KEEPALIVE = ["--mca", "oob_tcp_keepalive_time", "5", "--mca", "oob_tcp_keepalive_intvl", "2",
             "--mca", "oob_tcp_keepalive_probes", "3"]

# 20 s at 8 kHz of switched tones, n_fft 512: 257 x 1251
sr = 8000
n = np.arange(sr * 20)
y = sum(0.2 * np.sin(2 * np.pi * f * n / sr) * (((n // (sr // 2 + k * 977)) % 2) == 0)
        for k, f in enumerate([220, 330, 440, 660, 880, 1200]))
y = y + 0.01 * np.random.default_rng(3).standard_normal(len(n))
sf.write(t("long.wav"), y.astype(np.float32), sr, subtype="FLOAT")
rc, out, _ = run(one_mpirun(1), ["stft", t("long.wav"), "-o", t("spec.h5"), "--n-fft", "512", "--hop", "128", "-q"])
assert rc == 0, out

ITER, EVERY = 400, 20
BASE = ["nmf", t("spec.h5"), "-k", "8", "--max-iter", str(ITER), "--tol", "0", "--init", "random", "--seed", "5",
        "--beta", "kl", "--checkpoint-every", str(EVERY), "-q"]


def load(path):
    with h5py.File(path, "r") as f:
        return f["/nmf/W"][...], f["/nmf/H"][...], f["/nmf/loss"][...], int(f["/nmf"].attrs["n_iter"])


def same(a, b):
    return all(x.shape == y.shape and x.tobytes() == y.tobytes() for x, y in zip(a[:3], b[:3])) and a[3] == b[3]


def ranks_left(hosts):
    return {h: [p for p in H.pids(h) if comm(p) == "specnmf"] for h in hosts}


with Hosts(3) as H:
    launch = mh_mpirun(3, 1, extra=KEEPALIVE)
    rc, out, t_ref = run(launch, BASE + ["-o", t("ref.h5"), "--checkpoint", t("ref.ckpt.h5")], env=mh_env())
    check(rc == 0, f"uninterrupted run on 3 hosts ({t_ref:.1f} s)" + ("" if rc == 0 else "\n" + out))
    if rc:
        finish()
    REF = load(t("ref.h5"))
    rc, out, t_one = run(one_mpirun(3), BASE + ["-o", t("one.h5"), "--checkpoint", t("one.ckpt.h5")])
    check(rc == 0 and same(load(t("one.h5")), REF),
          f"the 3-host run equals the one-node run at 3 ranks bit for bit ({t_one:.1f} s on one node)")

    def wait_no_ranks():
        """The specnmf ranks still alive on any host, after giving the survivors'
        orteds 5 s to reap theirs."""
        left = {}
        for _ in range(50):
            left = {h: p for h, p in ranks_left(range(3)).items() if p}
            if not left:
                break
            time.sleep(0.1)
        return left

    def fail_case(label, victim, how, expect, resume_on):
        out_h5, ckpt = t(f"{label}.h5"), t(f"{label}.ckpt.h5")
        args = BASE + ["-o", out_h5, "--checkpoint", ckpt]
        scale = 0.3
        for attempt in range(4):
            for x in (out_h5, ckpt):
                if os.path.exists(x):
                    os.remove(x)
            p = subprocess.Popen(launch + [SPECNMF] + args, env=mh_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True)
            t0 = time.time()
            while not os.path.exists(ckpt) and p.poll() is None and time.time() - t0 < 90:
                time.sleep(0.02)
            delay = RNG.uniform(0.05, scale) * t_ref
            time.sleep(delay)
            victims = []
            t_fail = time.time()
            if how == "ranks":
                victims = ranks_left([victim])[victim]
            elif how == "host":
                victims = H.pids(victim)
            elif how == "network":
                H.link(victim, False)
            for q in victims:
                os.kill(q, signal.SIGKILL)
            try:
                text, _ = p.communicate(timeout=LIMIT + 30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                text, _ = p.communicate()
            dt = time.time() - t_fail
            if os.path.exists(out_h5):
                # the run wrote its result before the failure hit it (a loaded machine runs
                # unevenly); a kill during mpirun's teardown still makes mpirun exit non-zero
                if not same(load(out_h5), REF):
                    check(False, f"{label}: a result under the final name after a failure at "
                          f"+{delay:.1f} s (mpirun exit {p.returncode}) that differs from the reference")
                    return
                log(f"{label}: the run ended (mpirun exit {p.returncode}) before the failure at "
                    f"+{delay:.1f} s; again, sooner")
                if how == "network":
                    H.link(victim, True)
                wait_no_ranks()
                scale /= 2
                continue
            break
        else:
            check(False, f"{label}: a run still going {delay:.1f} s after its first checkpoint")
            return
        what = f"{label}: {how} of mh{victim} failed +{delay:.1f} s after the first checkpoint"
        log(f"{what}: mpirun exited {p.returncode} after {dt:.1f} s; its output:\n" +
            "\n".join("  | " + l for l in text.splitlines() if l.strip() and not l.startswith("-----")))
        lines = [l.strip() for l in text.splitlines()]
        said = [l for l in lines if any(x in l for x in expect) or f"mh{victim}" in l]
        check(p.returncode != 0 and dt <= LIMIT,
              f"{what}: mpirun exits {p.returncode} after {dt:.1f} s (limit {LIMIT} s)")
        check(any(x in l for l in lines for x in expect) and any(f"mh{victim}" in l for l in lines),
              f"{what}: the error says what failed and names the host: {said[:3]}")
        left = wait_no_ranks()
        check(not left, f"{what}: no rank left on any host {left}")
        check(not os.path.exists(out_h5), f"{what}: no output under the final name")
        it = -1
        if os.path.exists(ckpt):
            with h5py.File(ckpt, "r") as f:
                it = int(f["/checkpoint/loss"].attrs["iter"])
        check(it > 0 and it % EVERY == 0 and it < ITER, f"{what}: checkpoint at iteration {it}")
        if how == "network":
            H.link(victim, True)
        for name in os.listdir(os.environ["SN_TMP"]):
            if name.startswith(f"{label}.h5.tmp-"):
                os.remove(t(name))  # the killed writer's temporary file
        where = "3 hosts" if resume_on == "hosts" else "one node, 3 ranks"
        relaunch = launch if resume_on == "hosts" else one_mpirun(3)
        rc, text, dt = run(relaunch, args + ["--resume"], env=mh_env() if resume_on == "hosts" else None)
        check(rc == 0, f"{label}: resume from iteration {it} on {where} finishes ({dt:.1f} s)"
              + ("" if rc == 0 else "\n" + text))
        if rc == 0:
            check(same(load(out_h5), REF), f"{label}: W, H, loss history and n_iter bit-identical to the "
                  "uninterrupted run")
            check(not os.path.exists(ckpt), f"{label}: the finished run removed its checkpoint")

    cases = os.environ.get("SN_MH_CASES", "ranks,host,network").split(",")
    if "ranks" in cases:
        fail_case("ranks", 2, "ranks", ["exited on signal 9"], "hosts")
    if "host" in cases:
        fail_case("host", 1, "host", LOST, "one")
    if "network" in cases:
        fail_case("network", 2, "network", LOST, "hosts")

finish()
